"""Rules about the manifest row: who sent it, when, with what title and description."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator

from milsetctl.ingest.values import canonical_province, parse_grade, region_of
from milsetctl.models import Entry, PhotoInfo
from milsetctl.rules import rule
from milsetctl.rules.languages import guess_foreign
from milsetctl.settings import Settings
from milsetctl.timefmt import contest_time


@rule("missing-file", "reject", "entry")
def missing_file(entry: Entry, photo: PhotoInfo | None, settings: Settings) -> Iterator[str]:
    """A manifest row names no existing file.

    Without the photo there is nothing to judge; the message names the path as written, so a typo or a
    file left out of the upload is easy to spot.
    """
    if not entry.listed or any(f.rule == "path-outside" for f in entry.ingest_findings):
        return  # a path leading out of the folder has its own finding
    if not entry.file:
        yield f"{entry.origin}: the row names no photo file"
    elif photo is None:
        yield f"{entry.origin}: file not found below the submissions folder: {entry.file}"


@rule("unlisted-file", "review", "entry")
def unlisted_file(entry: Entry, photo: PhotoInfo | None, settings: Settings) -> Iterator[str]:
    """An image file below the folder is in no manifest row.

    Usually a contestant whose row was forgotten, or a stray file; either way someone should look
    before the photo is silently left out.
    """
    if not entry.listed:
        yield f"{entry.file} is not named in any manifest row or sidecar"


def _text_length(text: str) -> int:
    """Length in characters as a person counts them (NFC: 'é' is one character, however it was typed)."""
    return len(unicodedata.normalize("NFC", text))


@rule("title-missing", "reject", "entry")
def title_missing(entry: Entry, photo: PhotoInfo | None, settings: Settings) -> Iterator[str]:
    """No title. The call for entries requires an English title for every photo."""
    if entry.listed and not (entry.title or "").strip():
        yield "no title"


@rule("title-length", "reject", "entry", uses=("text.title_max",))
def title_length(entry: Entry, photo: PhotoInfo | None, settings: Settings) -> Iterator[str]:
    """The title is longer than the limit (60 characters), counted in characters, not bytes."""
    limit = int(settings.text["title_max"])
    n = _text_length((entry.title or "").strip())
    if n > limit:
        yield f"title has {n} characters, over the {limit} limit"


@rule("description-missing", "reject", "entry")
def description_missing(entry: Entry, photo: PhotoInfo | None, settings: Settings) -> Iterator[str]:
    """No description. The call for entries requires a short description in plain English."""
    if entry.listed and not (entry.description or "").strip():
        yield "no description"


@rule("description-length", "reject", "entry", uses=("text.description_max",))
def description_length(entry: Entry, photo: PhotoInfo | None, settings: Settings) -> Iterator[str]:
    """The description is longer than the limit (300 characters), counted in characters, not bytes."""
    limit = int(settings.text["description_max"])
    n = _text_length((entry.description or "").strip())
    if n > limit:
        yield f"description has {n} characters, over the {limit} limit"


# a lone Greek letter is a star's Bayer designation (α Centauri): English usage in astronomy
_BAYER_LETTER = re.compile(r"(?<![^\W\d_])[\u0370-\u03ff](?![^\W\d_])")


def non_english_reason(text: str) -> str | None:
    """Why a text does not look like English, or None. Script first (dependable), then the words of the
    whole text scored per language (`milsetctl.rules.languages`)."""
    # NFKC: full-width Latin typed by a Chinese IME (Ｍｉｌｋｙ Ｗａｙ) is plain Latin
    text = _BAYER_LETTER.sub(" ", unicodedata.normalize("NFKC", text))
    scripts: dict[str, list[str]] = {}
    for ch in text:
        if ch.isalpha() and not ("a" <= ch.lower() <= "z"):
            name = unicodedata.name(ch, "")
            if name.startswith("LATIN"):
                continue  # accented Latin letters: names like García are fine in English text
            script = name.split(" ")[0] if name else "unknown"
            script = {"CJK": "Chinese", "HIRAGANA": "Japanese", "KATAKANA": "Japanese", "HANGUL": "Korean"}.get(
                script, script.title()
            )
            scripts.setdefault(script, []).append(ch)
    if scripts:
        parts = [f"{s} ({''.join(chars[:8])})" for s, chars in scripts.items()]
        return "contains non-Latin script: " + ", ".join(parts)
    guess = guess_foreign(text)
    if guess is None:
        return None
    return f"looks like {guess.language} ({', '.join(guess.evidence[:6])})"


@rule("language", "review", "entry", version=2, uses=("text.require_english",))
def language(entry: Entry, photo: PhotoInfo | None, settings: Settings) -> Iterator[str]:
    """The title or description is not in English.

    The call asks for English text. Script is checked first (Chinese characters in a title are certain).
    A Latin-script text of three words or more is scored word by word against a dozen languages (function
    words and the vocabulary of sky and nature titles); it is flagged when one language clearly outweighs
    English, so a Spanish title with one English-looking word is caught and an English title naming a
    foreign place ('Sunset at Playa del Carmen') is not. Review only: short titles fool every detector.

    Version 2: evidence per language over the whole text (version 1 let one English word pass any text).
    """
    if not settings.text.get("require_english", True):
        return
    for field_name, text in (("title", entry.title), ("description", entry.description)):
        if text:
            reason = non_english_reason(text)
            if reason:
                yield f"{field_name} {reason}"


@rule("late", "reject", "entry", version=2, uses=("contest.deadline", "contest.timezone"))
def late(entry: Entry, photo: PhotoInfo | None, settings: Settings) -> Iterator[str]:
    """Submitted after the deadline: the end of the deadline day in the contest time zone, or the instant a
    date-time deadline names; on or before it is on time.

    A time written without a zone is taken in the contest's zone (Asia/Shanghai by default), as the
    coordinator's spreadsheet means it. `fees refund` judges its deadline by the same rule (milsetctl.dates).
    """
    if entry.submitted_at is None:
        return
    deadline = settings.deadline
    if deadline.is_late(entry.submitted_at):
        # to the second when it has seconds: 00:00:30 after a midnight deadline is late, "00:00" would not say so
        yield f"submitted {contest_time(entry.submitted_at, settings.tz, exact=True)}, after the deadline " \
              f"{deadline.shown()}"


@rule("grade", "reject", "entry", version=2, uses=("entrants.middle", "entrants.high", "entrants.grade_aliases"))
def grade(entry: Entry, photo: PhotoInfo | None, settings: Settings) -> Iterator[str]:
    """Grade missing or outside 7–12.

    Contestants are students of grades 7–9 (category middle) or 10–12 (category high); the grade decides
    the category the entry is ranked in. School years are read as written in mainland China (初二, 初中二年级,
    八年级), Hong Kong (中二, Form 2, S2), Taiwan (國二) and English-speaking schools (Grade 8, G8, 8th grade;
    England's Year 9 = grade 8); contest.toml's [entrants.grade_aliases] adds more.
    """
    if not entry.listed:
        return
    if not entry.grade:
        yield "no grade given"
        return
    value = parse_grade(entry.grade, _grade_aliases(settings))
    if value is None:
        yield f"grade {entry.grade!r} cannot be read as a school grade"
    elif settings.category_for_grade(value) is None:
        low = settings.raw["entrants"]["middle"][0]
        high = settings.raw["entrants"]["high"][1]
        written = "" if entry.grade.strip() == str(value) else f" (written {entry.grade!r})"
        yield f"grade {value} is outside {low}–{high}{written}"


def _grade_aliases(settings: Settings) -> dict[str, int]:
    return dict(settings.section("entrants").get("grade_aliases") or {})


def _province_aliases(settings: Settings) -> dict[str, str]:
    return dict(settings.section("entrants").get("province_aliases") or {})


def category_of(entry: Entry, settings: Settings) -> str | None:
    value = parse_grade(entry.grade, _grade_aliases(settings))
    return settings.category_for_grade(value) if value is not None else None


_CHINA = {"china", "cn", "chn", "中国", "中华人民共和国", "prc", "people's republic of china", "中國"}


@rule("region-unknown", "review", "entry", version=2, uses=("regions", "entrants.province_aliases"))
def region_unknown(entry: Entry, photo: PhotoInfo | None, settings: Settings) -> Iterator[str]:
    """The province maps to no regional round.

    The call lists no region for some provinces (Henan); such an entry is not lost, it is reported so
    the coordinator can place it. Entries from other countries have no Chinese region and are left alone,
    and so is every entry at the global stage: the regional rounds are national, already behind a nominee.
    """
    if not entry.listed or settings.stage == "global":
        return
    if entry.country and entry.country.strip().casefold() not in _CHINA:
        return
    if not entry.province:
        yield "no province given: the entry cannot be placed in a regional round"
        return
    aliases = _province_aliases(settings)
    if region_of(entry.province, settings.regions, aliases) is None:
        yield f"province {entry.province!r} ({canonical_province(entry.province, aliases)}) is in no regional round"


@rule("missing-field", "reject", "entry")
def missing_field(entry: Entry, photo: PhotoInfo | None, settings: Settings) -> Iterator[str]:
    """The contestant ID is missing.

    Every later step (one photo per contestant, certificates, refunds) hangs on the contestant ID.
    """
    if any(f.rule == "sidecar-invalid" for f in entry.ingest_findings):
        return  # ingest already said why (a broken sidecar): one problem, one finding
    if entry.listed and not (entry.contestant_id or "").strip():
        yield f"{entry.origin}: no contestant_id"
