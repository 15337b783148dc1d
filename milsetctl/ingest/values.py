"""Turn the text a coordinator's spreadsheet holds into values: grades, provinces, paths, IDs (dates are read by
milsetctl/dates.py, the project's one date reader, whose names are re-exported here).

The tables of school-year and province spellings live in `milsetctl/ingest/data/*.toml`; a contest extends them
in contest.toml (`[entrants.grade_aliases]`, `[entrants.province_aliases]`).
"""

from __future__ import annotations

import re
import tomllib
import unicodedata
from collections.abc import Mapping
from functools import cache, lru_cache
from importlib import resources
from typing import Any
from urllib.parse import unquote, unquote_plus, urlsplit

# dates are read by the project's one date reader (milsetctl/dates.py, issue 17); the names stay importable from here
from milsetctl.dates import DATE_ORDERS as DATE_ORDERS
from milsetctl.dates import AmbiguousDateError as AmbiguousDateError
from milsetctl.dates import DateError as DateError
from milsetctl.dates import DateOrder as DateOrder
from milsetctl.dates import infer_date_order as infer_date_order
from milsetctl.dates import is_ambiguous_date as is_ambiguous_date
from milsetctl.dates import parse_datetime as parse_datetime
from milsetctl.dates import read_column as read_column
from milsetctl.dates import read_moment as read_moment


def nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


@cache
def _data(name: str) -> dict[str, Any]:
    """A table shipped in milsetctl/ingest/data (package data)."""
    return tomllib.loads(resources.files("milsetctl.ingest").joinpath("data", name).read_text(encoding="utf-8"))


# --- file cells ----------------------------------------------------------------------------------------------------


def norm_path(text: str) -> str:
    """A manifest's file cell as a '/'-separated relative path in NFC (macOS writes NFD names)."""
    path = nfc(text.strip().strip('"').strip("'").strip().replace("\\", "/"))
    while path.startswith("./"):
        path = path[2:]
    return path.lstrip("/")


def path_candidates(text: str) -> list[str]:
    """The paths a file cell may mean, most literal first: as written (separators, `./` and NFC normalised), then
    percent-decoded (`Milky%20Way.jpg`), then a `file://` or web URL's path, then '+' read as a space.

    Matching tries each in turn, so a file really named `a%20b.jpg` is still found by its literal name.
    """
    raw = text.strip().strip('"').strip("'").strip()
    found: list[str] = []

    def add(path: str) -> None:
        path = norm_path(path)
        if path and path not in found:
            found.append(path)

    add(raw)
    if re.match(r"(?i)^(file|https?)://", raw):
        parts = urlsplit(raw)
        path = unquote(parts.path)
        if parts.scheme.lower() == "file" and parts.netloc and parts.netloc.lower() != "localhost":
            path = f"{parts.netloc}/{path}"  # file://server/share/a.jpg: a network path
        add(re.sub(r"^/?[A-Za-z]:/", "", path))  # file:///C:/Users/... loses its drive
        return found
    if "%" in raw:
        add(unquote(raw))
        if "+" in raw:
            add(unquote_plus(raw))  # form encoding writes a space as '+'
    return found


# --- contestant IDs ------------------------------------------------------------------------------------------------

_SCIENTIFIC = re.compile(r"^[+-]?\d+(?:[.,]\d+)?\s*[eE]\s*\+?\d+$")


def is_mangled_id(text: str | None) -> bool:
    """True for an ID Excel turned into scientific notation (`2.02207E+11`): the digits it dropped are gone, so
    two students' IDs can become the same text."""
    return bool(text) and bool(_SCIENTIFIC.match(unicodedata.normalize("NFKC", text or "").strip()))


def number_id_text(value: float) -> str:
    """A numeric ID cell as text. Integers up to 15 digits are exact; a bigger float (an 18-digit ID number typed
    into a number cell) has lost its last digits, and is written as Excel displays it (`1.10101200501011E+17`) so
    that it is recognised as mangled rather than trusted."""
    if abs(value) < 1e15:
        return str(int(value))
    mantissa, exponent = f"{value:.14E}".split("E")
    return f"{mantissa.rstrip('0').rstrip('.')}E+{int(exponent):02d}"


# --- grades --------------------------------------------------------------------------------------------------------

_CN_DIGITS = {"一": 1, "二": 2, "两": 2, "兩": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}


_EN_NUMBERS = {w: i for i, words in enumerate(
    [(), ("one", "first", "1st"), ("two", "second", "2nd"), ("three", "third", "3rd"), ("four", "fourth"),
     ("five", "fifth"), ("six", "sixth"), ("seven", "seventh"), ("eight", "eighth"), ("nine", "ninth"),
     ("ten", "tenth"), ("eleven", "eleventh"), ("twelve", "twelfth")]) for w in words}
_EN_NUMBER = re.compile(r"\b(" + "|".join(sorted(_EN_NUMBERS, key=len, reverse=True)) + r")\b")


def _cn_numerals(text: str) -> str:
    """Chinese numerals up to 十二 as digits: 十二年级 -> 12年级, 初二 -> 初2."""
    def one(m: re.Match[str]) -> str:
        word = m.group()
        if word.startswith("十"):
            return str(10 + (_CN_DIGITS[word[1]] if len(word) > 1 else 0))
        return str(_CN_DIGITS[word])

    return re.sub(r"十[一二两兩]?|[一二两兩三四五六七八九]", one, text)


_CLASS = re.compile(r"(.*?[\d一二三四五六七八九十级級])\s*[(（]?(?:\d{1,2}|[一二三四五六七八九十]{1,3})[)）]?\s*班")


def _grade_key(text: str) -> str:
    return re.sub(r"\s+", " ", unicodedata.normalize("NFKC", text).strip().casefold())


def parse_grade(text: str | None, aliases: Mapping[str, Any] | None = None) -> int | None:
    """The grade (1..12, grade 7 = first year of junior secondary) a school year is written as, or None.

    Reads 8, Grade 8, G10, 10th grade, ８ (full width), 八年级, 初二, 初中二年级, 高一, 高中一年级 (mainland),
    中四, Form 2, S3 (Hong Kong), 國二 (Taiwan), Year 9 (England: grade 8), a class after it (高一(3)班).
    `aliases` (contest.toml [entrants.grade_aliases]: written form -> grade) win over the built-in table
    (milsetctl/ingest/data/grades.toml).
    """
    if not text:
        return None
    key = _grade_key(text)
    for written, value in (aliases or {}).items():
        if _grade_key(str(written)) == key:
            return int(value)
    return _builtin_grade(key)


@cache
def _grade_words() -> tuple[dict[str, int], frozenset[str]]:
    table = _data("grades.toml")
    prefixes = {_grade_key(k): int(v) for k, v in table["prefixes"].items()}
    return prefixes, frozenset(_grade_key(s).replace(" ", "") for s in table["suffixes"]["words"])


@lru_cache(maxsize=4096)
def _builtin_grade(key: str) -> int | None:
    prefixes, suffixes = _grade_words()
    # 高一(3)班, 初二3班, 初二三班: the class, not the year (taken off before 二三 could read as 23)
    m = _CLASS.fullmatch(key)
    t = m.group(1) if m else key
    t = _EN_NUMBER.sub(lambda w: str(_EN_NUMBERS[w.group()]), _cn_numerals(t))  # Form Two, eighth grade
    t = re.sub(r"[()（）.:#№]", " ", t)
    m = re.fullmatch(r"\s*(?P<prefix>[^\d]*?)\s*(?P<n>\d{1,2})\s*(?P<suffix>[^\d]*?)\s*", t)
    if not m:
        return None
    prefix = m["prefix"].strip()
    suffix = m["suffix"].replace(" ", "")
    if prefix not in prefixes and prefix.replace(" ", "") in prefixes:
        prefix = prefix.replace(" ", "")
    if prefix not in prefixes or suffix not in suffixes:
        return None
    value = int(m["n"]) + prefixes[prefix]
    return value if 0 <= value <= 13 else None


# --- provinces -----------------------------------------------------------------------------------------------------

_SUFFIX_WORDS = re.compile(
    r"(?:^|\s)(?:province|sheng|municipality|shi|city|autonomous region|zizhiqu|special administrative region|sar|"
    r"region|zhuangzu|zhuang|huizu|hui|uygur|uyghur|uighur)$"
)
_SUFFIX_ZH = re.compile(r"(?:省|市|特别行政区|特別行政區|自治区|自治區|壮族|壯族|回族|维吾尔|維吾爾)$")
_COUNTRY_PREFIX = re.compile(
    r"^(?:中华人民共和国|中華人民共和國|中国|中國|people's republic of china|china|prc)[\s,，、]*"
)
_COUNTRY_SUFFIX = re.compile(r"[\s,，、]*(?:中华人民共和国|中華人民共和國|中国|中國|china|prc)$")


def _place_key(text: str) -> str:
    """Compare place names ignoring case, width, spaces and punctuation: 'Hong Kong' = 'hongkong'."""
    return re.sub(r"[\W_]+", "", unicodedata.normalize("NFKC", text).casefold())


def _strip_place(text: str) -> str:
    """'Guangxi Zhuang Autonomous Region' -> 'guangxi', '广西壮族自治区' -> '广西', on casefolded NFKC text."""
    t = unicodedata.normalize("NFKC", text).casefold().strip()
    t = _COUNTRY_SUFFIX.sub("", _COUNTRY_PREFIX.sub("", t)).strip()
    while True:
        stripped = _SUFFIX_ZH.sub("", _SUFFIX_WORDS.sub("", t.strip(" ,-"))).strip(" ,-")
        if stripped == t or not stripped:
            return t
        t = stripped


@cache
def _province_table() -> dict[str, str]:
    """key -> canonical English name, from the ISO 3166-2:CN names (romanised and Chinese, pycountry's, copied into
    data/provinces.toml [iso]) and the alias table there. Built once per process, from the shipped table alone:
    pycountry's subdivisions are the whole world's, and loading them cost every `status` ~40 ms."""
    data = _data("provinces.toml")
    table: dict[str, str] = {}
    for code, iso_names in data["iso"].items():
        plain = _strip_place(iso_names[0])
        canonical = data["canonical"].get(code) or " ".join(w.capitalize() for w in plain.split())
        for name in [*iso_names, code, *data["aliases"].get(code, [])]:
            for key in (_place_key(name), _place_key(_strip_place(name))):
                if key:
                    table.setdefault(key, canonical)
        table[_place_key(canonical)] = canonical
    return table


def canonical_province(text: str | None, aliases: Mapping[str, str] | None = None) -> str | None:
    """The common English name of a Chinese province however it is written ('广西壮族自治区', 'Guangxi Zhuang
    Autonomous Region', 'Guangdong Sheng', '中国香港', 'Nei Mongol' -> 'Guangxi', ..., 'Hong Kong', 'Inner
    Mongolia'); a place the tables do not know comes back title-cased as written. None for an empty cell.

    `aliases` (contest.toml [entrants.province_aliases]: written form -> canonical name) come first.
    """
    if not text or not text.strip():
        return None
    for written, canonical in (aliases or {}).items():
        if _place_key(str(written)) == _place_key(text):
            return str(canonical)
    return _builtin_province(text)


@lru_cache(maxsize=4096)
def _builtin_province(text: str) -> str | None:
    table = _province_table()
    stripped = _strip_place(text)
    for key in (_place_key(text), _place_key(stripped)):
        if key in table:
            return table[key]
    # 广东省广州市, 广东广州: a province followed by its city
    key = _place_key(stripped)
    if re.match(r"[\u4e00-\u9fff]", key):
        heads = [k for k in table if len(k) >= 2 and key.startswith(k)]
        if heads:
            return table[max(heads, key=len)]
    words = re.sub(r"\s+", " ", nfc(text).strip().replace("-", " "))
    return " ".join(w[:1].upper() + w[1:].lower() for w in words.split(" ")) if words else None


def region_of(province: str | None, regions: dict[str, list[str]],
              aliases: Mapping[str, str] | None = None) -> str | None:
    """The regional round a province belongs to, comparing canonical names (so [regions] may list 'Xizang' or
    'Tibet', '广东' or 'Guangdong'); None when no region lists it."""
    canon = canonical_province(province, aliases)
    if canon is None:
        return None
    frozen_regions = tuple((r, tuple(str(m) for m in ms)) for r, ms in regions.items())
    return _region_keys(frozen_regions, tuple((aliases or {}).items())).get(_place_key(canon))


@lru_cache(maxsize=16)
def _region_keys(regions: tuple[tuple[str, tuple[str, ...]], ...],
                 aliases: tuple[tuple[str, str], ...]) -> dict[str, str]:
    """canonical place key -> region, the first region listing a province winning."""
    keys: dict[str, str] = {}
    for region, members in regions:
        for member in members:
            keys.setdefault(_place_key(canonical_province(member, dict(aliases)) or ""), region)
    return keys
