"""The one date reader (issue 17): a manifest's submitted_at, a roster's dues, a withdrawals file, every date option
on the command line and the deadlines in contest.toml are all read here, so each is read the same way.

- The day/month order of a year-last date (11/07/2022) is decided for a whole column (`infer_date_order`): by
  `[dates] order` when it names one, else by a cell that can only be read one way (13/07/2022). A date that could
  be read both ways and that nothing settles is refused (`AmbiguousDateError`, rule `date-ambiguous`) with both
  readings, never guessed: a wrong guess moves an entry or a withdrawal across a deadline. The date options of one
  command are one such column (`read_options`): they are typed by one person at one time.
- Dotted dates (11.07.2022) are day-first whatever the setting: that is how Europe and Russia write them (DIN 5008,
  GOST R 7.0.97), and no one writes a month first between dots.
- 12-hour clocks, Chinese and English: 下午3点, 3点半, 9:30 PM, 11pm, 12 AM (00:00), 12 PM, noon and 中午12点 (12:00);
  晚上12点 / 夜里12点 / 半夜12点 (the midnight that ends the named day, as 截止到7月11日晚上12点 means: 24:00, the next
  day's 00:00); 凌晨 is the small hours of the named day. 晚上/夜里 1-5点 could belong to either night, and English
  "midnight" to either end of the day: both are refused with the forms to write instead.
- Excel serial numbers in the workbook's own date system, 1900 or 1904 (`openpyxl.utils.datetime.from_excel`,
  which also knows Excel's phantom 29 February 1900); a CSV cannot say, and is read in the 1900 system that
  Windows and current Mac Excel use.
- A deadline (`deadline`) is the end of the named day in the contest's time zone unless a time is given, and then
  that instant; on or before it is on time. validate's `late` rule and fees both use `Deadline.is_late`.

It imports only the standard library, dateutil and openpyxl.utils: settings, ingest and every stage sit above it.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Any

DATE_ORDERS = ("auto", "dmy", "mdy", "ymd")
SETTLE = 'or set [dates] order = "dmy" (day first) or "mdy" (month first) in contest.toml'
WRITE_AS = "write it as 2022-07-05 09:30"


class DateError(ValueError):
    """A date that cannot be used; the message says what was written and how to write it instead. `rule` is the
    finding a manifest cell gets for it."""

    rule = "unreadable-date"

    def at(self, where: str) -> DateError:
        """The same refusal, its message led by the cell or option it came from."""
        other = type(self).__new__(type(self))
        other.__dict__.update(self.__dict__)
        other.args = (f"{where}: {self}",)
        return other


class AmbiguousDateError(DateError):
    """A year-last date that reads as two different days (05/07/2022) and nothing settles which."""

    rule = "date-ambiguous"

    def __init__(self, written: str, day_first: datetime, month_first: datetime, why: str) -> None:
        self.written, self.day_first, self.month_first = written, day_first, month_first
        one, two = day_first.date().isoformat(), month_first.date().isoformat()
        super().__init__(f"{written!r} could be {one} (day first) or {two} (month first), and {why}: write the date "
                         f"year first ({one} or {two}), {SETTLE}")


@dataclass(frozen=True)
class Moment:
    """A date or a date and time as written, with its zone (the contest's when none was written). `has_time`
    False: a day alone, which means the whole of that day."""

    at: datetime
    has_time: bool

    @property
    def day(self) -> date:
        return self.at.date()

    def in_zone(self, tz: tzinfo) -> Moment:
        return Moment(self.at.astimezone(tz), self.has_time)

    def shown(self) -> str:
        """As timefmt writes every moment (no zone: the caller says it once): 2022-07-11, 2022-07-11 23:59, or
        2022-07-11 23:59:30 when seconds were given (a withdrawal a few seconds after a deadline is late)."""
        from milsetctl.timefmt import clock

        return clock(self.at, exact=True) if self.has_time else self.day.isoformat()


@dataclass(frozen=True)
class DateOrder:
    """How a column's year-last dates (11/07/2022) are read: `order` is "dmy" or "mdy" when `[dates] order` or a
    cell of the column settles it (`proven`), else "auto", and an ambiguous cell is refused. `evidence` says why.
    `short_year_first`: `[dates] order = "ymd"`, where 22/07/11 is 11 July 2022. `declared`: the order is
    `[dates] order`'s, so a date it cannot read is refused rather than read the other way, and a two-digit year
    is where the setting says (under "auto" 22/05/10 is refused: 2022-05-10 or 2010-05-22?)."""

    order: str
    evidence: str
    proven: bool
    short_year_first: bool = False
    declared: bool = False

    @classmethod
    def of(cls, setting: str | DateOrder | None) -> DateOrder:
        """The order a setting alone gives (no column to look at)."""
        if isinstance(setting, DateOrder):
            return setting
        setting = (setting or "auto").lower()
        if setting in ("dmy", "mdy"):
            return cls(setting, f"[dates] order = {setting!r}", True, declared=True)
        return cls("auto", "nothing settles which", False, setting == "ymd", declared=setting == "ymd")


# --- the forms people write ----------------------------------------------------------------------------------------

_TIME = (
    r"(?:(?:\s*[T\s,]\s*|(?<=日)\s*)(?P<H>\d{1,2})(?:\s*(?P<sep>[:时時點点])\s*(?P<M>\d{1,2})?(?:\s*[:分]\s*"
    r"(?P<S>\d{1,2})(?:\.\d+)?)?\s*[分秒]?)?)?\s*(?P<tz>Z|[+-]\d{2}:?\d{2})?"
)
# 2022-07-05 09:30[:00], 2022/7/5 9:30, 2022.7.5, 2022年7月5日 9时30分
_YEAR_FIRST = re.compile(r"^(?P<y>\d{4})\s*[-/.年]\s*(?P<m>\d{1,2})\s*[-/.月]\s*(?P<d>\d{1,2})\s*日?" + _TIME + "$")
# 22/07/11 with [dates] order = "ymd"
_SHORT_YEAR_FIRST = re.compile(r"^(?P<y>\d{2})\s*[-/.]\s*(?P<m>\d{1,2})\s*[-/.]\s*(?P<d>\d{1,2})" + _TIME + "$")
# 11/07/2022, 11.07.2022, 11-07-2022 23:10:05, 7/5/22: day and month in the column's order (dots: day first)
_YEAR_LAST = re.compile(r"^(?P<a>\d{1,2})\s*(?P<s1>[-/.])\s*(?P<b>\d{1,2})\s*(?P<s2>[-/.])\s*(?P<y>\d{4}|\d{2})"
                        + _TIME + "$")
# 12-hour clocks: 下午 11:30, 上午9:05, 晚上12点, 11:30 PM, 11 p.m.
_CLOCK_ZH = re.compile(r"(上午|早上|早晨|凌晨|中午|正午|下午|傍晚|晚上|夜里|夜裡|夜間|夜间|半夜|午夜)")
_ZH_KIND = {"上午": "am", "早上": "am", "早晨": "am", "凌晨": "am", "中午": "pm", "正午": "pm", "下午": "pm",
            "傍晚": "pm", "晚上": "night", "夜里": "night", "夜裡": "night", "夜間": "night", "夜间": "night",
            "半夜": "night", "午夜": "night"}
_CLOCK_EN = re.compile(r"(?i)(?<![a-z])([ap])\.?\s?m\.?(?![a-z])")
_NOON = re.compile(r"(?i)(?<![a-z])(?:12\s*)?noon(?![a-z])")
_MIDNIGHT = re.compile(r"(?i)(?<![a-z])(?:12\s*)?midnight(?![a-z])")
_HALF = re.compile(r"(\d)\s*([点點时時])\s*半")  # 3点半: half past three
_MONTH_WORD = re.compile(r"(?i)\b(jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?\b")
_SERIAL = re.compile(r"\d{5}(?:\.\d+)?")


def _text(value: Any) -> str:
    """A cell as the reader compares it: NFKC (full-width digits and colons as ASCII), stripped."""
    return unicodedata.normalize("NFKC", str(value)).strip()


def _clean_clock(text: str) -> tuple[str, str | None]:
    """Take a 12-hour marker out of the text: ('2022/7/5 11:30', 'pm') from '2022/7/5 下午 11:30'. The kind is
    "am", "pm" or "night" (晚上, 夜里: evening hours, and 12 the midnight that ends the day)."""
    clock = None
    text = _HALF.sub(r"\1\g<2>30分", text)
    m = _CLOCK_ZH.search(text)
    if m:
        clock = _ZH_KIND[m.group(1)]
        text = text[: m.start()] + " " + text[m.end():]
    m = _CLOCK_EN.search(text)
    if m and re.search(r"\d", text[: m.start()]):
        clock = "pm" if m.group(1).lower() == "p" else "am"
        text = text[: m.start()] + " " + text[m.end():]
    if clock is None and _NOON.search(text):
        text = _NOON.sub(" 12:00 ", text)
    return re.sub(r"\s+", " ", text).strip(), clock


def _clock_hour(hour: int, clock: str | None, written: str) -> tuple[int, int]:
    """(hour on a 24-hour clock, days to add) for an hour written with a 12-hour marker."""
    if clock is None:
        return hour, 0
    if hour > 12:
        raise DateError(f"{written!r} is not a real time (hour {hour} with a 12-hour clock)")
    if clock == "am":
        return hour % 12, 0
    if clock == "pm":
        return hour % 12 + 12, 0
    if hour in (0, 12):  # 晚上12点: the midnight at the end of the named day
        return 0, 1
    if hour >= 6:
        return hour + 12, 0
    raise DateError(f"{written!r}: {hour} o'clock in the night could be the small hours before or after that day; "
                    f"write the day it falls on and the time (2022-07-12 0{hour}:00), or 凌晨{hour}点")


def _year_last(text: str, short_year_first: bool) -> tuple[int, int, bool, str] | None:
    """(first number, second number, dotted, year as written) of a year-last date, or None if the text is not
    one."""
    m = _YEAR_LAST.match(_clean_clock(_text(text))[0])
    if m is None or (short_year_first and len(m["y"]) == 2):
        return None
    return int(m["a"]), int(m["b"]), m["s1"] == m["s2"] == ".", m["y"]


def _year_first_too(a: int, b: int, dotted: bool, year: str) -> bool:
    """A slashed or dashed date with a two-digit year whose first number could be the year (22/05/10: 2022-05-10
    as well as 2010-05-22). Dotted dates are day-first, their year last (DIN 5008, GOST)."""
    if len(year) != 2 or dotted:
        return False
    try:
        date(2000 + a, b, int(year))
    except ValueError:
        return False
    return True


def is_ambiguous_date(text: str | None, short_year_first: bool = False) -> bool:
    """A year-last date whose day and month could be swapped (05/07/2022), so its reading rests on the column.
    A dotted date (05.07.2022) is not: it is day-first."""
    found = _year_last(text, short_year_first) if text else None
    return found is not None and not found[2] and found[0] <= 12 and found[1] <= 12 and found[0] != found[1]


def infer_date_order(texts: Iterable[str], setting: str | DateOrder = "auto", scope: str = "the column", *,
                     dotted_settles: bool = False) -> DateOrder:
    """The day/month order of a column of dates: `[dates] order` when it names one ("dmy", "mdy"), else what the
    column's cells show (a first number over 12 is a day: day-first; a second one over 12: month-first). With no
    evidence, or evidence both ways, the order is "auto" and an ambiguous cell is refused. The evidence named is
    the smallest such cell, so the answer does not depend on the order of the rows. `dotted_settles`: a dotted
    date (11.07.2022, day-first by convention) is day-first evidence too, as for the date options of one command,
    typed by one person. A date whose two-digit year could come first (22/05/10) settles nothing."""
    base = DateOrder.of(setting)
    if base.proven:
        return base
    day_first: list[str] = []
    month_first: list[str] = []
    for text in texts:
        found = _year_last(text, base.short_year_first) if text else None
        if found is None:
            continue
        a, b, dotted, year = found
        if _year_first_too(a, b, dotted, year):
            continue  # refused itself under "auto" (2022-05-10 or 2010-05-22?): no evidence of anything
        if (dotted and dotted_settles) or a > 12 >= b:
            day_first.append(text)
        elif b > 12 >= a:
            month_first.append(text)
    short = base.short_year_first
    if day_first and not month_first:
        return DateOrder("dmy", f"{min(day_first)!r} in {scope} can only be day-first", True, short)
    if month_first and not day_first:
        return DateOrder("mdy", f"{min(month_first)!r} in {scope} can only be month-first", True, short)
    if day_first and month_first:
        return DateOrder("auto", f"{scope} holds both {min(day_first)!r} (only day-first) and {min(month_first)!r} "
                         "(only month-first)", False, short)
    return DateOrder("auto", f"nothing in {scope} settles which", False, short)


# --- one value -----------------------------------------------------------------------------------------------------


def read_moment(value: Any, tz: tzinfo, order: str | DateOrder = "auto", *, date1904: bool = False) -> Moment:
    """Read one date, or date and time, as spreadsheets and people write it; a time without a zone is in `tz`.

    `order` is `[dates] order` or the column's `DateOrder`; with "auto" an ambiguous year-last date raises
    AmbiguousDateError (use `read_column` to let the column settle it). Reads datetime and date cells, Excel serial
    numbers (`date1904`: the workbook's 1904 date system), ISO 8601, 2022/7/5, 2022年7月5日 9时30分, 12-hour clocks,
    month names (11 July 2022, Jul 11, 2022 10:30 PM). Raises DateError saying how to write it instead.
    """
    how = DateOrder.of(order)
    if isinstance(value, datetime):
        has_time = value.time() != time(0) or value.tzinfo is not None
        return Moment(value if value.tzinfo else value.replace(tzinfo=tz), has_time)
    if isinstance(value, date):
        return Moment(datetime(value.year, value.month, value.day, tzinfo=tz), False)
    if isinstance(value, bool) or value is None or isinstance(value, time):
        raise DateError(f"{value!r} is not a date ({WRITE_AS})")
    if isinstance(value, int | float):
        return _from_serial(float(value), tz, date1904)
    written = unicodedata.normalize("NFC", str(value)).strip()
    text = _text(written)
    if not text:
        raise DateError("no date given")
    if _SERIAL.fullmatch(text):  # an Excel serial that reached a CSV
        return _from_serial(float(text), tz, date1904)
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        pass
    else:
        return Moment(parsed if parsed.tzinfo else parsed.replace(tzinfo=tz), bool(re.search(r"\d[T ]\d", text)))
    if _MIDNIGHT.search(text):
        raise DateError(f"{written!r}: midnight could be the start or the end of that day; write 00:00 (the start) or "
                        "23:59 (the end)")
    text, clock = _clean_clock(text)
    m = _SHORT_YEAR_FIRST.match(text) if how.short_year_first else None
    if m:
        return _build(written, 2000 + int(m["y"]), int(m["m"]), int(m["d"]), m, clock, tz)
    m = _YEAR_FIRST.match(text)
    if m:
        return _build(written, int(m["y"]), int(m["m"]), int(m["d"]), m, clock, tz)
    m = _YEAR_LAST.match(text)
    if m:
        return _read_year_last(written, m, clock, how, tz)
    if _MONTH_WORD.search(text):
        return _month_name_date(written, text, clock, how, tz)
    raise DateError(f"{written!r} is not a date and time we can read ({WRITE_AS})")


def parse_datetime(value: Any, tz: tzinfo, order: str | DateOrder = "auto", *, date1904: bool = False) -> datetime:
    """`read_moment`'s instant alone (a day alone is its 00:00)."""
    return read_moment(value, tz, order, date1904=date1904).at


def _read_year_last(written: str, m: re.Match[str], clock: str | None, how: DateOrder, tz: tzinfo) -> Moment:
    a, b = int(m["a"]), int(m["b"])
    year = int(m["y"]) + (2000 if len(m["y"]) == 2 else 0)
    dotted = m["s1"] == m["s2"] == "."
    if not how.declared and _year_first_too(a, b, dotted, m["y"]):
        _refuse_short_year(written, m, clock, how, tz, a, b, year)
    if how.declared and not dotted and how.order in ("dmy", "mdy"):  # the setting's order, or an error: no swap
        month = b if how.order == "dmy" else a
        if month > 12:
            other = _readings(written, m, clock, tz, [(year, a, b)] if how.order == "dmy" else [(year, b, a)])
            shape = "day/month/year" if how.order == "dmy" else "month/day/year"
            instead = f"write it year first ({other[0][0]}), or " if other else "write it year first, or "
            raise DateError(f"{written!r} cannot be {shape} as [dates] order = \"{how.order}\" says ({month} is "
                            f"not a month): {instead}correct [dates] order in contest.toml")
    if a > 12 or b > 12 or a == b or dotted:  # one reading only (13/07, 07/13, 07/07), or day-first by convention
        day, month = (b, a) if b > 12 >= a else (a, b)
        return _build(written, year, month, day, m, clock, tz)
    if how.order == "dmy":
        return _build(written, year, b, a, m, clock, tz)
    if how.order == "mdy":
        return _build(written, year, a, b, m, clock, tz)
    day_first = _build(written, year, b, a, m, clock, tz)
    month_first = _build(written, year, a, b, m, clock, tz)
    raise AmbiguousDateError(written, day_first.at, month_first.at, how.evidence)


class ShortYearError(DateError):
    """A date with a two-digit year that could be the first number or the last (22/05/10), under "auto"."""

    rule = "date-ambiguous"


def _readings(written: str, m: re.Match[str], clock: str | None, tz: tzinfo,
              candidates: list[tuple[int, int, int]]) -> list[tuple[str, Moment]]:
    """(ISO day, Moment) of each (year, month, day) that is a real date, in order, without repeats."""
    out: list[tuple[str, Moment]] = []
    for year, month, day in candidates:
        try:
            moment = _build(written, year, month, day, m, clock, tz)
        except DateError:
            continue
        if all(moment.at != seen.at for _, seen in out):
            out.append((moment.day.isoformat(), moment))
    return out


def _refuse_short_year(written: str, m: re.Match[str], clock: str | None, how: DateOrder, tz: tzinfo, a: int,
                       b: int, year: int) -> None:
    """Raise ShortYearError when 22/05/10 reads as more than one day: year first, or year last in the orders the
    column allows. Returns when every reading is the same day."""
    last = [(year, b, a)] if how.order == "dmy" else [(year, a, b)] if how.order == "mdy" else [(year, b, a),
                                                                                                  (year, a, b)]
    found = _readings(written, m, clock, tz, [(2000 + a, b, int(m["y"])), *last])
    if len(found) > 1:
        days = [day for day, _ in found]
        listed = ", ".join(days[:-1]) + f" or {days[-1]}"
        raise ShortYearError(f"{written!r} could be {listed}: a two-digit year could be the first number or the last; "
                             f"write the date with its four-digit year first ({listed}), or set [dates] order = "
                             '"ymd" (year first), "dmy" or "mdy" (year last) in contest.toml')


def _build(written: str, year: int, month: int, day: int, m: re.Match[str], clock: str | None,
           tz: tzinfo) -> Moment:
    if m["H"] is None:
        if clock is not None:
            raise DateError(f"{written!r} names a part of the day but no hour ({WRITE_AS})")
        hour = 0
    else:
        if m["sep"] is None and clock is None:
            raise DateError(f"{written!r}: {m['H']} is not a time ({WRITE_AS})")
        hour = int(m["H"])
    hour, days = _clock_hour(hour, clock, written)
    try:
        result = datetime(year, month, day, hour, int(m["M"] or 0), int(m["S"] or 0)) + timedelta(days=days)
    except ValueError as exc:
        raise DateError(f"{written!r} is not a real date ({exc})") from exc
    if m["tz"]:
        zone = m["tz"] if m["tz"] == "Z" or ":" in m["tz"] else f"{m['tz'][:3]}:{m['tz'][3:]}"
        return Moment(datetime.fromisoformat(result.isoformat() + zone.replace("Z", "+00:00")), True)
    return Moment(result.replace(tzinfo=tz), m["H"] is not None)


def _month_name_date(written: str, text: str, clock: str | None, how: DateOrder, tz: tzinfo) -> Moment:
    """11 July 2022, Jul 11, 2022 10:30, 11-Jul-2022 23:10 through dateutil; the date must be complete (a weekday
    alone, or a month without a year, is refused rather than filled in from today)."""
    from dateutil import parser

    # an hour left alone by its marker (11pm -> 11) or written the Chinese way (3点) as dateutil reads it
    text = re.sub(r"(\d{1,2})\s*[点點时時]\s*(?:(\d{1,2})\s*分?)?", lambda h: f"{h[1]}:{h[2] or '00'}", text)
    if clock:
        text = re.sub(r"(?<![\d:])(\d{1,2})$", r"\1:00", text)
    kwargs = {"dayfirst": how.order == "dmy", "yearfirst": how.short_year_first}
    try:
        one = parser.parse(text, default=datetime(2000, 1, 1, 0, 0), **kwargs)
        two = parser.parse(text, default=datetime(2001, 2, 2, 1, 0), **kwargs)
    except (ValueError, OverflowError) as exc:
        raise DateError(f"{written!r} is not a date and time we can read ({WRITE_AS})") from exc
    if (one.year, one.month, one.day) != (two.year, two.month, two.day):
        raise DateError(f"{written!r} is not a complete date (the year, month or day is missing)")
    has_time = one.hour == two.hour
    if clock is not None:
        if not has_time:
            raise DateError(f"{written!r} names a part of the day but no hour ({WRITE_AS})")
        hour, days = _clock_hour(one.hour, clock, written)
        one = one.replace(hour=hour) + timedelta(days=days)
    return Moment(one if one.tzinfo else one.replace(tzinfo=tz), has_time)


def _from_serial(serial: float, tz: tzinfo, date1904: bool) -> Moment:
    """An Excel serial date in the workbook's system, to the nearest second as Excel displays it (44747.395833 is
    09:30:00, not 09:29:59.97)."""
    from openpyxl.utils.datetime import CALENDAR_MAC_1904, CALENDAR_WINDOWS_1900, from_excel

    if not (0 if date1904 else 1) <= serial < 2958466:
        raise DateError(f"{serial:g} is not an Excel date")
    moment = from_excel(serial, CALENDAR_MAC_1904 if date1904 else CALENDAR_WINDOWS_1900)
    if not isinstance(moment, datetime):
        raise DateError(f"{serial:g} is not an Excel date")
    moment = (moment + timedelta(microseconds=500_000)).replace(microsecond=0)
    return Moment(moment.replace(tzinfo=tz), moment.time() != time(0))


# --- columns and command-line options ------------------------------------------------------------------------------


def read_column(values: Sequence[Any], tz: tzinfo, setting: str = "auto", *, date1904: bool = False,
                scope: str = "the column", dotted_settles: bool = False
                ) -> tuple[DateOrder, list[Moment | DateError | None]]:
    """Every cell of one column, read in the order the column settles (`infer_date_order`): per cell a Moment, the
    DateError that refuses it (the caller names the cell with `DateError.at`), or None for a blank cell."""
    texts = [str(v) for v in values if isinstance(v, str)]
    order = infer_date_order(texts, setting, scope, dotted_settles=dotted_settles)
    out: list[Moment | DateError | None] = []
    for value in values:
        if value is None or (isinstance(value, str) and not value.strip()):
            out.append(None)
            continue
        try:
            out.append(read_moment(value, tz, order, date1904=date1904))
        except DateError as exc:
            out.append(exc)
    return order, out


def read_options(options: Mapping[str, Any], tz: tzinfo, setting: str = "auto") -> dict[str, Moment]:
    """The date options of one command (`{"--withdrawn-on": "11/07/2022", ...}`; None: not given), read as one
    column: `[dates] order` or one option that can only be read one way (13/05/2022, or a dotted 11.07.2022,
    day-first by convention) settles the others. Raises DateError
    naming the option; an option nothing settles is refused (both readings named), never guessed."""
    given = {name: value for name, value in options.items() if value is not None}
    order, read = read_column(list(given.values()), tz, setting, scope="the dates given", dotted_settles=True)
    found: dict[str, Moment] = {}
    ambiguous: dict[str, AmbiguousDateError] = {}
    for name, result in zip(given, read, strict=True):
        if result is None:
            raise DateError(f"{name}: no date given")
        if isinstance(result, AmbiguousDateError):
            ambiguous[name] = result
        elif isinstance(result, DateError):
            raise result.at(name)
        else:
            found[name] = result
    if len(ambiguous) == 1:
        name, error = next(iter(ambiguous.items()))
        raise error.at(name)
    if ambiguous:  # one line for all of them: the same setting settles every one
        names = " and ".join(f"{name} {e.written!r}" for name, e in ambiguous.items())
        days = [(e.day_first.date().isoformat(), e.month_first.date().isoformat()) for e in ambiguous.values()]
        refusal = DateError(f"{names} could each be read day first ({', '.join(d for d, _ in days)}) or month "
                            f"first ({', '.join(m for _, m in days)}), and {order.evidence}: write the dates year "
                            f"first, {SETTLE}")
        refusal.rule = AmbiguousDateError.rule
        raise refusal
    return found


# --- deadlines -----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Deadline:
    """A deadline as the contest means it: `last` is the last instant on time (23:59:59.999999 of the named day in
    the contest time zone, or the time given); `whole_day` when only a day was named."""

    last: datetime
    whole_day: bool
    tz: tzinfo

    def is_late(self, at: datetime) -> bool:
        """After the deadline: on or before it is on time."""
        return at > self.last

    @property
    def first_late(self) -> datetime:
        """The first instant that is late (midnight after the named day)."""
        return self.last + timedelta(microseconds=1)

    @property
    def day(self) -> date:
        return self.last.astimezone(self.tz).date()

    def label(self) -> str:
        """2022-07-11, or 2022-07-11 18:00 when a time was given (in the contest time zone)."""
        if self.whole_day:
            return self.day.isoformat()
        from milsetctl.timefmt import clock

        return clock(self.last.astimezone(self.tz), exact=True)

    def shown(self) -> str:
        """The label with what it means: '2022-07-11 (end of day, Asia/Shanghai)'."""
        zone = getattr(self.tz, "key", None) or str(self.tz)
        return f"{self.label()} ({'end of day, ' if self.whole_day else ''}{zone})"


def deadline(value: Any, tz: tzinfo) -> Deadline:
    """What a deadline in contest.toml means: a TOML date (or ISO text) is the end of that day in `tz`; a date-time
    is that instant (in `tz` when it has no offset). Raises DateError for anything else."""
    if isinstance(value, datetime):
        return Deadline(value if value.tzinfo else value.replace(tzinfo=tz), False, tz)
    if isinstance(value, date):
        return Deadline(datetime.combine(value, time.max, tzinfo=tz), True, tz)
    if isinstance(value, str) and value.strip():
        text = value.strip()
        try:
            return deadline(date.fromisoformat(text), tz)
        except ValueError:
            pass
        try:
            return deadline(datetime.fromisoformat(text.replace("Z", "+00:00")), tz)
        except ValueError:
            pass
    raise DateError(f"{value!r} is not a deadline: write a date (2022-07-11: the whole day counts) or a date and "
                    "time (2022-07-11T18:00:00)")
