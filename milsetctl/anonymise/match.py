"""Finding the people of a contest in text however it is spelled: the needles, and the matcher that redaction and
the verify scan share (so what the contact sheet and score sheets show, verify accepts).

Text is compared folded: compatibility forms undone (full-width `Ｚｈａｎｇ` is `Zhang`), accents and case dropped,
and the separators people put inside a name or leave out of it (spaces, hyphens, middle dots, apostrophes)
ignored between two letters, so `Maria  García`, `MariaGarcia`, `刘 䶮` and `ZHANG-Wei` are the names they are.
Between digits a separator stays a separator: `BJ-0001` matches `BJ 0001`, but the date `2022-07-11` is no
contestant `0711`. A Chinese name is also looked for in pinyin, surname first or last (`Zhang Wei`, `Wei Zhang`),
through pypinyin's dictionary. A needle that begins or ends with a Latin letter or digit matches only as a whole
word (`Li Na` is not in `Bali Nature`, `C001` not in the round token `R-3C0017F`); Chinese has no spaces between
words, so a Han name matches anywhere.

Two kinds of needle are ambiguous, and are looked for only where the caller says the text is the contestants' own
(titles, descriptions: what the blind view redacts) and in binary metadata: needles under SHORT bytes (`A1`,
`17`, `Li`), as whole words, which the tool's own page numbers would match; and pinyin, which spells places as
well as people (胡楠 is `Hu Nan`, 贝静 `Bei Jing`): a contest named "... Beijing 2022" must not block its own
round.
"""

from __future__ import annotations

import itertools
import json
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

import numpy as np

SHORT = 4  # needles shorter than this many UTF-8 bytes are matched as whole words of the contestants' text only
EMAIL_RE = re.compile(rb"[A-Za-z0-9._%+\-]{1,64}@[A-Za-z0-9\-]{1,63}(?:\.[A-Za-z0-9\-]{1,63})*\.[A-Za-z]{2,24}")
EMAIL_TEXT_RE = re.compile(EMAIL_RE.pattern.decode("ascii"))
FIELDS = (("name", "contestant name"), ("contestant_id", "contestant ID"), ("school", "school"),
          ("email", "e-mail address"))
# ignored between two letters, one separator between anything else (after NFKD: U+3000 and U+00A0 are spaces)
SEPARATORS = frozenset("-_'\u2010\u2011\u2012\u2013\u2014\u2015\u2019\u00b7\u30fb\uff65")
# two-character surnames, so that the western order (`Yang Ouyang` is wrong, `Nana Ouyang` right) is spelled too
COMPOUND_SURNAMES = frozenset(("欧阳", "司马", "上官", "诸葛", "东方", "皇甫", "尉迟", "公孙", "慕容", "长孙", "宇文",
                               "司徒", "夏侯", "轩辕", "令狐", "钟离", "端木", "独孤", "南宫", "西门", "百里", "呼延",
                               "万俟", "澹台", "公冶", "太史", "申屠", "闻人", "赫连", "拓跋"))
MAX_PINYIN = 16  # spellings per name: readings of heteronyms (曾 ceng/zeng, 单 dan/shan) multiply


@dataclass(frozen=True)
class Folded:
    """Text as the matcher sees it, and for each of its characters the index of the original one it came from."""

    text: str
    where: tuple[int, ...]


def _fold_char(ch: str) -> str:
    if ch.isascii():
        return ch.lower()
    return "".join(c for c in unicodedata.normalize("NFKD", ch) if not unicodedata.combining(c)).casefold()


def fold(text: str) -> Folded:
    """`text` folded for matching (see the module docstring), with the map back to `text`'s characters."""
    out: list[str] = []
    where: list[int] = []
    pending = -1  # index of the first separator since the last kept character
    for i, ch in enumerate(text):
        for c in _fold_char(ch):
            if c.isspace() or c in SEPARATORS:
                if pending < 0:
                    pending = i
                continue
            if pending >= 0:
                if out and not (out[-1].isalpha() and c.isalpha()):
                    out.append(" ")
                    where.append(pending)
                pending = -1
            out.append(c)
            where.append(i)
    return Folded("".join(out), tuple(where))


def _han(text: str) -> bool:
    return any("CJK" in unicodedata.name(c, "") and "IDEOGRAPH" in unicodedata.name(c, "") for c in text)


def word_char(ch: str) -> bool:
    """Whether `ch` continues a Latin/Cyrillic/Greek word (a Han character, punctuation or space does not)."""
    base = unicodedata.normalize("NFKD", ch)[:1]
    return base.isalnum() and ord(base) < 0x2E80


def pinyin_forms(name: str) -> set[str]:
    """The pinyin of a Chinese name, folded: surname then given name, and given name then surname (as a Western
    form writes it); every reading of a heteronym, `ü` as u, v and yu. Empty for a name that is not all Han."""
    han = "".join(name.split()).replace("·", "")
    if not han or not all("CJK" in unicodedata.name(c, "") for c in han) or not 2 <= len(han) <= 6:
        return set()
    from pypinyin import Style, pinyin

    readings = pinyin(han, style=Style.NORMAL, heteronym=True, errors="ignore")
    if len(readings) != len(han) or any(not r for r in readings):
        return set()  # a character pypinyin does not know: no spelling rather than a wrong one
    options = [sorted({v for r in syllables for v in _u_variants(r)}) for syllables in readings]
    cut = 2 if han[:2] in COMPOUND_SURNAMES and len(han) > 2 else 1
    forms: set[str] = set()
    for combo in itertools.islice(itertools.product(*options), MAX_PINYIN):
        surname, given = "".join(combo[:cut]), "".join(combo[cut:])
        forms |= {surname + given, given + surname}
    return forms


def _u_variants(syllable: str) -> set[str]:
    """pypinyin writes ü as v (lv, nve); passports write lyu, people lu."""
    return {syllable, syllable.replace("v", "u"), syllable.replace("v", "yu")} if "v" in syllable else {syllable}


def spellings(text: str) -> set[str]:
    """The spellings a name takes in metadata: as typed, NFC and NFD (macOS writes decomposed names), without
    accents (an ASCII-only EXIF field holds "Maria Garcia"), each in lower, upper and case-folded form."""
    forms = {text, unicodedata.normalize("NFC", text), unicodedata.normalize("NFD", text)}
    plain = "".join(c for c in unicodedata.normalize("NFD", text) if not unicodedata.combining(c))
    if plain.strip():
        forms.add(plain)
    return {v for form in forms for v in (form, form.lower(), form.upper(), form.casefold())}


@dataclass(frozen=True)
class Needle:
    text: str
    what: str  # e.g. "contestant name of E0003"
    encoded: tuple[tuple[str, bytes], ...]  # (encoding label, lower-cased bytes): for binary metadata
    short: bool
    forms: tuple[str, ...] = ()  # folded spellings, for text
    loose: tuple[str, ...] = ()  # folded pinyin spellings: for the contestants' own text only (module docstring)


ENCODINGS = (("utf-8", "UTF-8"), ("utf-16-le", "UTF-16LE"), ("utf-16-be", "UTF-16BE"), ("gb18030", "GB18030"))


def make_needle(text: str, what: str) -> Needle:
    """One value to look for: its byte encodings (every spelling, in each encoding a camera or editor writes;
    a Chinese name's pinyin in ASCII, tagged so) and its folded forms for text (a two- or three-word Latin name
    also surname first: `GARCÍA Maria`)."""
    is_name = what.startswith("contestant name")
    pinyin = pinyin_forms(text) if is_name else set()
    folded = fold(text).text
    forms = {folded} if folded else set()
    words = text.split()
    if is_name and 2 <= len(words) <= 3 and not _han(text):
        forms.add(fold(" ".join(words[-1:] + words[:-1])).text)
    typed = spellings(text) | ({folded} if folded else set())
    romanised = (pinyin | _pinyin_spaced(text)) - typed if pinyin else set()
    encoded: dict[bytes, str] = {}
    for variant in sorted(typed | romanised):
        for enc, tag in ENCODINGS:
            if enc == "gb18030" and variant.isascii():
                continue
            try:
                raw = variant.encode(enc).lower()
            except UnicodeEncodeError:
                continue
            encoded.setdefault(raw, f"pinyin, {tag}" if variant in romanised else tag)
    short = len(text.encode("utf-8")) < SHORT
    return Needle(text, what, tuple((tag, raw) for raw, tag in encoded.items()), short,
                  tuple(sorted(f for f in forms if len(f) >= 2)), tuple(sorted(pinyin - forms)))


def _pinyin_spaced(name: str) -> set[str]:
    """`zhang wei` and `wei zhang` (lower case; the byte scan lower-cases what it reads) for the first reading."""
    from pypinyin import Style, lazy_pinyin

    han = "".join(name.split()).replace("·", "")
    syllables = lazy_pinyin(han, style=Style.NORMAL, errors="ignore")
    if len(syllables) != len(han):
        return set()
    cut = 2 if han[:2] in COMPOUND_SURNAMES and len(han) > 2 else 1
    surname, given = "".join(syllables[:cut]), "".join(syllables[cut:])
    return {f"{surname} {given}", f"{given} {surname}"}


def make_needles(entries: Iterable[Any]) -> list[Needle]:
    """Needles from ledger entry rows (mappings with entry_id, name, contestant_id, school, email, file)."""
    needles: list[Needle] = []
    seen: set[tuple[str, str]] = set()
    for row in entries:
        row = dict(row)
        values = [(row.get(field), label) for field, label in FIELDS]
        if row.get("file"):
            values.append((PurePosixPath(str(row["file"]).replace("\\", "/")).name, "original file name"))
        try:  # the global stage qualifies a clashing ID ("brazil:001") and keeps the national one in `extra`
            extra = json.loads(row.get("extra") or "{}")
        except (TypeError, ValueError):
            extra = {}
        if isinstance(extra, dict) and extra.get("national_contestant_id"):
            values.append((extra["national_contestant_id"], "contestant ID"))
        for value, label in values:
            text = " ".join(str(value or "").split())
            if not text or (text.lower(), label) in seen:
                continue
            seen.add((text.lower(), label))
            needles.append(make_needle(text, f"{label} of {row.get('entry_id', '?')}"))
    return needles


class ByteIndex:
    """Many byte needles against one haystack in one vectorised pass: every 4-byte window of the haystack is
    looked up among the needles' first 4 bytes (numpy), and only those candidates are compared. A contest of
    5,000 entries gives ~200,000 needle encodings; testing each with `in` on every block would take minutes."""

    def __init__(self, items: list[tuple[bytes, int, str]]) -> None:
        self.small = [item for item in items if len(item[0]) < 4]
        self.by_prefix: dict[int, list[tuple[bytes, int, str]]] = {}
        for item in items:
            if len(item[0]) >= 4:
                self.by_prefix.setdefault(int.from_bytes(item[0][:4], "big"), []).append(item)
        self.keys = np.array(sorted(self.by_prefix), dtype=np.uint32)

    def find(self, low: bytes) -> list[tuple[int, str]]:
        """(needle index, encoding label) for every needle found in `low` (already lower-cased)."""
        found = [(i, tag) for raw, i, tag in self.small if raw and raw in low]
        if len(low) < 4 or not len(self.keys):
            return found
        a = np.frombuffer(low, dtype=np.uint8).astype(np.uint32)
        windows = (a[:-3] << 24) | (a[1:-2] << 16) | (a[2:-1] << 8) | a[3:]
        for pos in np.flatnonzero(np.isin(windows, self.keys)):
            for raw, i, tag in self.by_prefix[int(windows[pos])]:
                if low.startswith(raw, int(pos)):
                    found.append((i, tag))
        return found


@dataclass(frozen=True)
class Span:
    """Where a needle (or an e-mail address: needle None) stands in the original text: text[start:end]."""

    start: int
    end: int
    needle: Needle | None
    loose: bool = False  # found through an ambiguous needle (short, or pinyin): counts in contestants' text only


def _key(chars: str) -> int:
    """Two or three characters as one number (21 bits each: every code point fits)."""
    key = 0
    for c in chars:
        key = (key << 21) | ord(c)
    return key


def _wide(ch: str) -> str:
    """`ch` and its full-width form, as a regular-expression class (`A1` is also `Ａ１`)."""
    if "!" <= ch <= "~":
        return "[" + re.escape(ch) + re.escape(chr(ord(ch) + 0xFEE0)) + "]"
    return re.escape(ch)


class Matcher:
    """The needles of a contest, found in text: long ones folded (module docstring), short ones as whole words.
    Long forms are looked up by their first three characters (two for a two-character Han name), every window
    of the folded text at once (numpy); results are kept per distinct text (a title is on every juror's sheet:
    it is folded once)."""

    def __init__(self, needles: list[Needle]) -> None:
        self.needles = needles
        self.by_prefix: dict[tuple[int, int], list[tuple[str, Needle, bool]]] = {}
        for n in needles:
            if n.short:
                continue
            for form, loose in [(f, False) for f in n.forms] + [(f, True) for f in n.loose]:
                width = 3 if len(form) >= 3 else 2
                self.by_prefix.setdefault((width, _key(form[:width])), []).append((form, n, loose))
        self.keys = {w: np.array(sorted(k for width, k in self.by_prefix if width == w), dtype=np.int64)
                     for w in (2, 3)}
        shorts = sorted({n.text for n in needles if n.short}, key=len, reverse=True)
        edge = "0-9A-Za-z\uff10-\uff19\uff21-\uff3a\uff41-\uff5a"
        self.short_re = re.compile(f"(?<![{edge}])(" + "|".join("".join(_wide(c) for c in s) for s in shorts)
                                   + f")(?![{edge}])", re.I) if shorts else None
        self.short: dict[str, list[Needle]] = {}
        for n in needles:
            if n.short:
                self.short.setdefault(unicodedata.normalize("NFKC", n.text).casefold(), []).append(n)
        self._cache: dict[tuple[str, bool], list[Span]] = {}

    def spans(self, text: str, short: bool = True) -> list[Span]:
        """Every needle and e-mail address in `text`, in order of their start (they may overlap). `short`: the
        text is the contestants' own, so the ambiguous needles count too (short ones, pinyin)."""
        key = (text, short)
        hit = self._cache.get(key)
        if hit is None:
            hit = self._spans(text, short)
            if len(text) < 4096:
                if len(self._cache) > 200_000:
                    self._cache.clear()
                self._cache[key] = hit
        return hit

    def _spans(self, text: str, short: bool) -> list[Span]:
        out: list[Span] = []
        if len(self.keys) and len(text) >= 2:
            folded = fold(text)
            out += self._long(text, folded, short)
        if short and self.short_re is not None:
            for m in self.short_re.finditer(text):
                for needle in self.short.get(unicodedata.normalize("NFKC", m.group(1)).casefold(), []):
                    out.append(Span(m.start(), m.end(), needle, True))
        out += [Span(m.start(), m.end(), None) for m in EMAIL_TEXT_RE.finditer(text)]
        return sorted(out, key=lambda s: (s.start, s.end))

    def _long(self, text: str, folded: Folded, loose: bool) -> list[Span]:
        f = folded.text
        if len(f) < 2:
            return []
        cps = np.frombuffer(f.encode("utf-32-le"), dtype=np.uint32).astype(np.int64)
        out: list[Span] = []
        for width in (2, 3):
            keys = self.keys[width]
            if len(cps) < width or not len(keys):
                continue
            windows = cps[:len(cps) - width + 1].copy()
            for k in range(1, width):
                windows = (windows << 21) | cps[k:len(cps) - width + 1 + k]
            for pos in np.flatnonzero(np.isin(windows, keys)):
                p = int(pos)
                for form, needle, is_loose in self.by_prefix[(width, int(windows[p]))]:
                    if (loose or not is_loose) and f.startswith(form, p):
                        span = self._bounded(text, folded, p, form, needle, is_loose)
                        if span is not None:
                            out.append(span)
        return out

    @staticmethod
    def _bounded(text: str, folded: Folded, p: int, form: str, needle: Needle, loose: bool) -> Span | None:
        """The span in `text` of a form found at folded position `p`, unless a Latin form runs on into a word."""
        start, end = folded.where[p], folded.where[p + len(form) - 1] + 1
        if form[0].isascii() and form[0].isalnum() and start > 0 and word_char(text[start - 1]):
            return None
        if form[-1].isascii() and form[-1].isalnum() and end < len(text) and word_char(text[end]):
            return None
        return Span(start, end, needle, loose)

    def found(self, text: str, short: bool = True) -> list[Needle]:
        """The needles in `text`, each once."""
        seen: dict[int, Needle] = {}
        for span in self.spans(text, short):
            if span.needle is not None:
                seen.setdefault(id(span.needle), span.needle)
        return list(seen.values())

    def has_email(self, text: str) -> bool:
        return any(span.needle is None for span in self.spans(text, short=False))


REDACTED = "[removed]"


def redact(text: str, matcher: Matcher) -> tuple[str, bool]:
    """`text` with every needle (any entry's name in any spelling, school, contestant ID, e-mail, file name) and
    any e-mail address replaced by REDACTED; whether anything was. What is left, verify accepts: if the result
    still holds a needle (it cannot, but a redaction that misses is a leak to every juror), all of it goes."""
    spans = matcher.spans(text, short=True)
    if not spans:
        return text, False
    merged: list[list[int]] = []
    for span in spans:
        if merged and span.start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], span.end)
        else:
            merged.append([span.start, span.end])
    parts, pos = [], 0
    for start, end in merged:
        parts += [text[pos:start], REDACTED]
        pos = end
    parts.append(text[pos:])
    result = "".join(parts)
    if matcher.spans(result, short=True):
        return REDACTED, True
    return result, True
