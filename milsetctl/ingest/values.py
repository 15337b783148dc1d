"""Turn the text a coordinator's spreadsheet holds into values: dates, grades, provinces, paths, IDs.

The tables of school-year and province spellings live in `milsetctl/ingest/data/*.toml`; a contest extends them
in contest.toml (`[entrants.grade_aliases]`, `[entrants.province_aliases]`).
"""

from __future__ import annotations

import re
import tomllib
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import cache, lru_cache
from importlib import resources
from typing import Any
from urllib.parse import unquote, unquote_plus, urlsplit
from zoneinfo import ZoneInfo


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


# --- dates ---------------------------------------------------------------------------------------------------------

DATE_ORDERS = ("auto", "dmy", "mdy", "ymd")
_EXCEL_EPOCH = datetime(1899, 12, 30)
_TIME = (
    r"(?:(?:\s*[T\s,]\s*|(?<=日)\s*)(?P<H>\d{1,2})\s*[:时點点]\s*(?P<M>\d{1,2})?(?:\s*[:分]\s*(?P<S>\d{1,2})"
    r"(?:\.\d+)?)?\s*[分秒]?)?\s*(?P<tz>Z|[+-]\d{2}:?\d{2})?"
)
# 2022-07-05 09:30[:00], 2022/7/5 9:30, 2022.7.5, 2022年7月5日 9时30分
_YEAR_FIRST = re.compile(
    r"^(?P<y>\d{4})\s*[-/.年]\s*(?P<m>\d{1,2})\s*[-/.月]\s*(?P<d>\d{1,2})\s*日?" + _TIME + "$"
)
# 11/07/2022, 11.07.2022, 11-07-2022 23:10:05, 7/5/22: day and month in an order the column decides
_YEAR_LAST = re.compile(r"^(?P<a>\d{1,2})\s*[-/.]\s*(?P<b>\d{1,2})\s*[-/.]\s*(?P<y>\d{4}|\d{2})" + _TIME + "$")
# 12-hour clocks: 下午 11:30, 上午9:05, 11:30 PM, 11:30 p.m.
_CLOCK_ZH = re.compile(r"(上午|早上|早晨|凌晨|中午|下午|晚上|傍晚|夜里|夜間|夜间)")
_CLOCK_EN = re.compile(r"(?i)(?<![a-z])([ap])\.?\s?m\.?(?![a-z])")
_PM_ZH = {"中午", "下午", "晚上", "傍晚", "夜里", "夜間", "夜间"}
_MONTH_WORD = re.compile(r"(?i)\b(jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?\b")


@dataclass(frozen=True)
class DateOrder:
    """How a column's year-last dates (11/07/2022) are read: `order` is "dmy" or "mdy"; `evidence` says why
    (a cell with a day over 12, or the contest's setting); `proven` is False when nothing decided it."""

    order: str
    evidence: str
    proven: bool


def _fields(text: str) -> tuple[int, int] | None:
    """The first two numbers of a year-last date, or None if the text is not one."""
    m = _YEAR_LAST.match(_clean_clock(nfc_text(text))[0])
    return (int(m.group("a")), int(m.group("b"))) if m else None


def nfc_text(value: Any) -> str:
    return unicodedata.normalize("NFKC", str(value)).strip()


def infer_date_order(texts: Iterable[str], setting: str = "auto") -> DateOrder:
    """The day/month order of a column of dates: the contest's `[dates] order` when it names one, else what the
    column's unambiguous cells show (a first number over 12 is a day: day-first; a second one over 12: month-first).
    With no evidence, or evidence both ways, month-first is used (Excel's US default) and `proven` is False."""
    setting = (setting or "auto").lower()
    if setting in ("dmy", "mdy"):
        return DateOrder(setting, f"[dates] order = {setting!r}", True)
    day_first = month_first = None
    for text in texts:
        pair = _fields(text) if text else None
        if pair is None:
            continue
        a, b = pair
        if a > 12 >= b and day_first is None:
            day_first = text
        elif b > 12 >= a and month_first is None:
            month_first = text
    if day_first and not month_first:
        return DateOrder("dmy", f"the column also holds {day_first!r}, which can only be day-first", True)
    if month_first and not day_first:
        return DateOrder("mdy", f"the column also holds {month_first!r}, which can only be month-first", True)
    if day_first and month_first:
        return DateOrder("mdy", f"the column mixes day-first ({day_first!r}) and month-first ({month_first!r})",
                         False)
    return DateOrder("mdy", "no cell in the column shows the order", False)


def is_ambiguous_date(text: str | None) -> bool:
    """A year-last date whose day and month could be swapped (05/07/2022), so the reading rests on the column."""
    pair = _fields(text) if text else None
    return pair is not None and pair[0] <= 12 and pair[1] <= 12 and pair[0] != pair[1]


def _clean_clock(text: str) -> tuple[str, str | None]:
    """Take a 12-hour marker out of the text: ('2022/7/5 11:30', 'pm') from '2022/7/5 下午 11:30'."""
    ampm = None
    m = _CLOCK_ZH.search(text)
    if m:
        ampm = "pm" if m.group(1) in _PM_ZH else "am"
        text = (text[: m.start()] + " " + text[m.end():]).strip()
    m = _CLOCK_EN.search(text)
    if m and re.search(r"\d", text[: m.start()]):
        ampm = "pm" if m.group(1).lower() == "p" else "am"
        text = (text[: m.start()] + " " + text[m.end():]).strip()
    return re.sub(r"\s+", " ", text), ampm


def parse_datetime(value: Any, tz: ZoneInfo, order: str = "auto") -> datetime:
    """Read a submission time as spreadsheets write it; a time without a zone is in the contest's zone.

    `order` reads year-last dates (11/07/2022): "dmy" or "mdy"; "ymd" also reads two-digit year-first dates
    (22/07/11); "auto" takes a first number over 12 as a day and is month-first otherwise (use
    `infer_date_order` on the column to decide). Handles ISO 8601, 2022/7/5, 2022年7月5日 9时30分, 12-hour clocks
    (下午 11:30, 9:30 PM), month names (11 July 2022, Jul 11, 2022) and Excel serial numbers.
    Raises ValueError with a message a coordinator understands.
    """
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=tz)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=tz)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return _from_serial(float(value), tz)
    original = nfc(str(value)).strip()
    text = nfc_text(original)
    if re.fullmatch(r"\d{5}(\.\d+)?", text):  # an Excel serial that reached a CSV
        return _from_serial(float(text), tz)
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=tz)
    except ValueError:
        pass
    text, ampm = _clean_clock(text)
    if order == "ymd":
        m = re.match(r"^(?P<y>\d{2})\s*[-/.]\s*(?P<m>\d{1,2})\s*[-/.]\s*(?P<d>\d{1,2})" + _TIME + "$", text)
        if m:
            return _build(original, 2000 + int(m["y"]), int(m["m"]), int(m["d"]), m, ampm, tz)
    m = _YEAR_FIRST.match(text)
    if m:
        return _build(original, int(m["y"]), int(m["m"]), int(m["d"]), m, ampm, tz)
    m = _YEAR_LAST.match(text)
    if m:
        a, b = int(m["a"]), int(m["b"])
        if order == "dmy":
            day, month = (a, b) if b <= 12 or a > 12 else (b, a)
        else:  # mdy, auto (a first number over 12 can only be a day), ymd's year-last dates
            day, month = (a, b) if a > 12 else (b, a)
        year = int(m["y"]) + (2000 if len(m["y"]) == 2 else 0)
        return _build(original, year, month, day, m, ampm, tz)
    if _MONTH_WORD.search(text):
        return _month_name_date(original, text, ampm, order, tz)
    raise ValueError(f"{original!r} is not a date and time we can read (write it as 2022-07-05 09:30)")


def _build(original: str, year: int, month: int, day: int, m: re.Match[str], ampm: str | None,
           tz: ZoneInfo) -> datetime:
    hour = int(m["H"] or 0)
    if ampm:
        if hour > 12:
            raise ValueError(f"{original!r} is not a real time (hour {hour} with a 12-hour clock)")
        hour = hour % 12 + (12 if ampm == "pm" else 0)
    try:
        result = datetime(year, month, day, hour, int(m["M"] or 0), int(m["S"] or 0))
    except ValueError as exc:
        raise ValueError(f"{original!r} is not a real date ({exc})") from exc
    if m["tz"]:
        return datetime.fromisoformat(result.isoformat() + _iso_tz(m["tz"]))
    return result.replace(tzinfo=tz)


def _month_name_date(original: str, text: str, ampm: str | None, order: str, tz: ZoneInfo) -> datetime:
    """11 July 2022, Jul 11, 2022 10:30, 11-Jul-2022 23:10 through dateutil; the date must be complete (a
    weekday alone, or a month without a year, is refused rather than filled in from today)."""
    from dateutil import parser

    kwargs = {"dayfirst": order == "dmy", "yearfirst": order == "ymd"}
    try:
        one = parser.parse(text, default=datetime(2000, 1, 1), **kwargs)
        two = parser.parse(text, default=datetime(2001, 2, 2), **kwargs)
    except (ValueError, OverflowError) as exc:
        raise ValueError(f"{original!r} is not a date and time we can read (write it as 2022-07-05 09:30)") from exc
    if (one.year, one.month, one.day) != (two.year, two.month, two.day):
        raise ValueError(f"{original!r} is not a complete date (the year, month or day is missing)")
    if ampm and one.hour <= 12:
        one = one.replace(hour=one.hour % 12 + (12 if ampm == "pm" else 0))
    return one if one.tzinfo else one.replace(tzinfo=tz)


def _iso_tz(tz: str) -> str:
    if tz == "Z":
        return "+00:00"
    return tz if ":" in tz else f"{tz[:3]}:{tz[3:]}"


def _from_serial(serial: float, tz: ZoneInfo) -> datetime:
    if not 1 <= serial < 2958466:
        raise ValueError(f"{serial} is not an Excel date")
    # to the nearest second, as Excel displays it: 44747.395833 is 09:30:00, not 09:29:59.97
    moment = _EXCEL_EPOCH + timedelta(seconds=round(serial * 86400))
    return moment.replace(tzinfo=tz)


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
    """key -> canonical English name, from pycountry's ISO 3166-2:CN names (romanised and Chinese) and the alias
    table in data/provinces.toml."""
    import gettext

    import pycountry

    data = _data("provinces.toml")
    zh: Callable[[str], str]
    try:
        zh = gettext.translation("iso3166-2", pycountry.LOCALES_DIR, languages=["zh_CN"]).gettext
    except OSError:
        zh = str
    table: dict[str, str] = {}
    for sub in pycountry.subdivisions.get(country_code="CN") or []:
        plain = _strip_place(sub.name)
        canonical = data["canonical"].get(sub.code) or " ".join(w.capitalize() for w in plain.split())
        for name in [sub.name, zh(sub.name), sub.code, *data["aliases"].get(sub.code, [])]:
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
