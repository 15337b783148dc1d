"""The notices' message catalogues kept in step with the text: every message of the letter template (`_()`) and
of the sentences built in Python (`Msg(...)`, notices/wording.py) extracted with Babel, and each language's .po
updated with them (new messages added untranslated, gone ones marked obsolete, translations kept).

    python -m milsetctl.notices.catalogue          # update locale/*/LC_MESSAGES/milsetctl.po, say what is missing

tests/test_notices_i18n.py checks every message has a translation."""

from __future__ import annotations

import sys
from pathlib import Path

from milsetctl.notices.i18n import DOMAIN, LANGUAGES, catalogue_path
from milsetctl.resources import templates_dir

PYTHON_SOURCES = ("wording.py",)
TEMPLATES = ("notice-letter.html", "notice.html")
KEYWORDS = {"Msg": None, "_": None, "gettext": None}


def extract() -> dict[str, list[tuple[str, int]]]:
    """msgid -> where it is used ([(file, line)]), from the Python sentences and the templates."""
    from babel.messages.extract import extract as babel_extract

    found: dict[str, list[tuple[str, int]]] = {}
    sources = [(Path(__file__).resolve().parent / name, "python") for name in PYTHON_SOURCES]
    sources += [(templates_dir() / name, "jinja2.ext:babel_extract") for name in TEMPLATES]
    for path, method in sources:
        with path.open("rb") as fh:
            for line, message, _comments, _context in babel_extract(
                    method, fh, keywords=KEYWORDS, options={"extensions": "jinja2.ext.i18n"}):
                if isinstance(message, str):
                    found.setdefault(message, []).append((path.name, line))
    return found


def update(lang: str) -> list[str]:
    """Bring `lang`'s catalogue up to date with the text; returns the messages it has no translation for."""
    from babel.messages.catalog import Catalog
    from babel.messages.pofile import read_po, write_po

    from milsetctl.fsutil import atomic_write

    template = Catalog(domain=DOMAIN)
    for msgid, where in extract().items():
        template.add(msgid, locations=where, flags=("python-format",) if "%(" in msgid else ())
    path = catalogue_path(lang)
    if path.is_file():
        with path.open("rb") as fh:
            catalog = read_po(fh, locale=LANGUAGES[lang][0], domain=DOMAIN)
    else:
        catalog = Catalog(locale=LANGUAGES[lang][0], domain=DOMAIN)
    created = catalog.creation_date
    catalog.update(template, no_fuzzy_matching=True)
    catalog.creation_date = created  # stable: a run that changes no message changes no line
    catalog.fuzzy = False
    catalog.project, catalog.version, catalog.copyright_holder = "milsetctl", "", "the milsetctl authors"
    catalog.language_team = catalog.last_translator = "the milsetctl authors"
    catalog.header_comment = (f"# {LANGUAGES[lang][1]} text of milsetctl's result notices (milsetctl/notices).\n"
                              "# Update the messages with: python -m milsetctl.notices.catalogue")
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(path, "wb") as fh:
        write_po(fh, catalog, width=116, sort_output=False, ignore_obsolete=True)
    return [str(m.id) for m in catalog if m.id and not m.string]


def main() -> int:
    missing_any = False
    for lang in LANGUAGES:
        if lang == "en":
            continue
        missing = update(lang)
        print(f"{catalogue_path(lang)}: {len(missing)} message(s) without a translation")
        for msgid in missing:
            print(f"  {msgid}")
        missing_any = missing_any or bool(missing)
    return 1 if missing_any else 0


if __name__ == "__main__":
    sys.exit(main())
