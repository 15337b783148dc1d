"""The notices' languages: gettext message catalogues (Babel .po files in milsetctl/notices/locale/), compiled to
.mo in memory when first used, so the wheel ships only the text a translator edits and nothing can go stale.

English is the language the messages are written in (the message IDs): it needs no catalogue. `[notices]
languages` in contest.toml picks the languages of the contest's notices, in order; a notice in two languages is
the same letter twice. Jinja2's i18n extension (`jinja2.ext.i18n`, new-style gettext) reads the same translations
in the templates; `translate` reads them for the sentences built in Python (wording.Msg)."""

from __future__ import annotations

import gettext
import io
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any

from milsetctl.notices.wording import Msg

LOCALE_DIR = Path(__file__).resolve().parent / "locale"
DOMAIN = "milsetctl"
# language code in the settings -> the Babel locale its dates and numbers are written in, and its name
LANGUAGES = {"en": ("en_GB", "English"), "zh": ("zh_Hans_CN", "简体中文")}
DEFAULT_LANGUAGES = ("en",)


class LanguageError(ValueError):
    """A language the settings ask for has no catalogue."""


def catalogue_path(lang: str) -> Path:
    return LOCALE_DIR / lang / "LC_MESSAGES" / f"{DOMAIN}.po"


@cache
def translations(lang: str) -> gettext.NullTranslations:
    """The gettext translations of `lang` ("en": none, the message IDs are English), compiled from its .po file
    with Babel. Raises LanguageError for a language with no catalogue."""
    if lang not in LANGUAGES:
        raise LanguageError(f"no notices in {lang!r}: the languages are {', '.join(LANGUAGES)}")
    if lang == "en":
        return gettext.NullTranslations()
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    with catalogue_path(lang).open("rb") as fh:
        catalog = read_po(fh, locale=LANGUAGES[lang][0], domain=DOMAIN)
    buffer = io.BytesIO()
    write_mo(buffer, catalog, use_fuzzy=False)  # a fuzzy (unchecked) translation is left out: English shows instead
    buffer.seek(0)
    return gettext.GNUTranslations(buffer)


def languages_setting(settings: Any) -> list[str]:
    """`[notices] languages` as a list of known codes (default English). Raises LanguageError naming the setting
    for an unknown code or a value that is no list of codes."""
    value = (settings.raw.get("notices") or {}).get("languages", list(DEFAULT_LANGUAGES))
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        raise LanguageError(f'[notices] languages = {value!r}: must be a list of language codes, e.g. ["en"] or '
                            '["en", "zh"]')
    unknown = [v for v in value if v not in LANGUAGES]
    if unknown:
        raise LanguageError(f"[notices] languages: no catalogue for {', '.join(map(repr, unknown))}; the languages "
                            f"are {', '.join(f'{k} ({v[1]})' for k, v in LANGUAGES.items())}")
    return list(dict.fromkeys(value))


def format_day(day: date, lang: str) -> str:
    """A day as the language writes it in a letter: 11 July 2022 (British order: the contest is international,
    and the day first reads the same in most of its countries), 2022年7月11日."""
    from babel.dates import format_date

    return str(format_date(day, format="long", locale=LANGUAGES[lang][0]))


def translate(text: Msg | str, lang: str) -> str:
    """`text` in `lang`: a Msg's message translated and its parameters filled in (each translated or written in
    the language itself first); a plain string as it is (a name, a title, the organisers' own words)."""
    if not isinstance(text, Msg):
        return str(text)
    message = translations(lang).gettext(text.msgid)
    if not text.params:
        return message
    return message % {k: _param(v, lang) for k, v in text.params.items()}


def _param(value: Any, lang: str) -> str:
    if isinstance(value, Msg):
        return translate(value, lang)
    if isinstance(value, date):
        return format_day(value, lang)
    if isinstance(value, int) and not isinstance(value, bool):
        from babel.numbers import format_decimal

        return str(format_decimal(value, locale=LANGUAGES[lang][0]))
    return str(value)
