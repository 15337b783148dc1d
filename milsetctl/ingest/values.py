"""Turn the text a coordinator's spreadsheet holds into values: dates, grades, provinces, paths."""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo


def nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def norm_path(text: str) -> str:
    """A manifest's file cell as a '/'-separated relative path in NFC (macOS writes NFD names)."""
    path = nfc(text.strip().strip('"').replace("\\", "/"))
    while path.startswith("./"):
        path = path[2:]
    return path.lstrip("/")


_EXCEL_EPOCH = datetime(1899, 12, 30)
_DATE_PATTERNS = [
    # 2022-07-05 09:30[:00], 2022/7/5 9:30, 2022.7.5, 2022年7月5日 9时30分
    re.compile(
        r"^(?P<y>\d{4})\s*[-/.年]\s*(?P<m>\d{1,2})\s*[-/.月]\s*(?P<d>\d{1,2})\s*日?"
        r"(?:[T\s]+(?P<H>\d{1,2})\s*[:时]\s*(?P<M>\d{1,2})(?:\s*[:分]\s*(?P<S>\d{1,2})(?:\.\d+)?)?\s*[分秒]?)?"
        r"\s*(?P<ampm>[AaPp][Mm])?\s*(?P<tz>Z|[+-]\d{2}:?\d{2})?$"
    ),
    # 5/7/2022 is ambiguous; we only accept day-first with a 4-digit year when the day is > 12, else month-first
    re.compile(
        r"^(?P<a>\d{1,2})/(?P<b>\d{1,2})/(?P<y>\d{4})(?:\s+(?P<H>\d{1,2}):(?P<M>\d{2})(?::(?P<S>\d{2}))?)?"
        r"\s*(?P<ampm>[AaPp][Mm])?$"
    ),
]


def parse_datetime(value: Any, tz: ZoneInfo) -> datetime:
    """Read a submission time as spreadsheets write it; a time without a zone is in the contest's zone.

    Raises ValueError with a message a coordinator understands.
    """
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=tz)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=tz)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return _from_serial(float(value), tz)
    text = nfc(str(value)).strip()
    if re.fullmatch(r"\d{5}(\.\d+)?", text):  # an Excel serial that reached a CSV
        return _from_serial(float(text), tz)
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=tz)
    except ValueError:
        pass
    for pattern in _DATE_PATTERNS:
        m = pattern.match(text)
        if not m:
            continue
        parts = m.groupdict()
        if "a" in parts and parts.get("a"):
            a, b = int(parts["a"]), int(parts["b"])
            month, day = (b, a) if a > 12 else (a, b)
        else:
            month, day = int(parts["m"]), int(parts["d"])
        hour = int(parts.get("H") or 0)
        if parts.get("ampm"):
            hour = hour % 12 + (12 if parts["ampm"].lower() == "pm" else 0)
        try:
            result = datetime(
                int(parts["y"]), month, day, hour, int(parts.get("M") or 0), int(parts.get("S") or 0)
            )
        except ValueError as exc:
            raise ValueError(f"{text!r} is not a real date ({exc})") from exc
        if parts.get("tz"):
            return datetime.fromisoformat(result.isoformat() + _iso_tz(parts["tz"]))
        return result.replace(tzinfo=tz)
    raise ValueError(f"{text!r} is not a date and time we can read (write it as 2022-07-05 09:30)")


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


_CN_DIGITS = {"一": 1, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9, "十": 10}
_CN_STAGE = {"初": 6, "高": 9}  # 初一 = grade 7, 高一 = grade 10


def parse_grade(text: str | None) -> int | None:
    """Grade 7..12 from '8', 'Grade 8', 'G8', '8th', '八年级', '初二', '高一', 'Year 9'. None if unreadable."""
    if not text:
        return None
    t = nfc(text).strip()
    m = re.search(r"\d+", t)
    if m and not re.search(r"[初高]", t):
        return int(m.group())
    m = re.match(r"^\s*([初高])\s*([一二三123])", t)
    if m:
        n = _CN_DIGITS.get(m.group(2)) or int(m.group(2))
        return _CN_STAGE[m.group(1)] + n
    m = re.match(r"^\s*(十[一二]|[一二三四五六七八九十])\s*年级", t)
    if m:
        word = m.group(1)
        return 10 + _CN_DIGITS[word[1]] if len(word) == 2 else _CN_DIGITS[word]
    return None


# Province names as coordinators write them, in Chinese and English, to the canonical English name.
PROVINCES_ZH = {
    "北京": "Beijing", "天津": "Tianjin", "黑龙江": "Heilongjiang", "吉林": "Jilin", "辽宁": "Liaoning",
    "河北": "Hebei", "内蒙古": "Inner Mongolia", "山西": "Shanxi", "山东": "Shandong", "上海": "Shanghai",
    "浙江": "Zhejiang", "江苏": "Jiangsu", "湖南": "Hunan", "湖北": "Hubei", "安徽": "Anhui", "江西": "Jiangxi",
    "广东": "Guangdong", "广西": "Guangxi", "福建": "Fujian", "海南": "Hainan", "香港": "Hong Kong",
    "澳门": "Macao", "澳門": "Macao", "台湾": "Taiwan", "臺灣": "Taiwan", "重庆": "Chongqing", "四川": "Sichuan",
    "云南": "Yunnan", "贵州": "Guizhou", "陕西": "Shaanxi", "甘肃": "Gansu", "青海": "Qinghai", "西藏": "Tibet",
    "宁夏": "Ningxia", "新疆": "Xinjiang", "河南": "Henan",
}
_PROVINCE_SUFFIX = re.compile(
    r"(省|市|特别行政区|壮族自治区|回族自治区|维吾尔自治区|自治区|"
    r"\s+(province|municipality|city|sar|special administrative region|autonomous region))$",
    re.IGNORECASE,
)
_ALIASES_EN = {"macau": "Macao", "xizang": "Tibet", "nei mongol": "Inner Mongolia", "hongkong": "Hong Kong"}


def canonical_province(text: str | None) -> str | None:
    if not text:
        return None
    t = nfc(text).strip()
    t = _PROVINCE_SUFFIX.sub("", t).strip()
    for zh, en in PROVINCES_ZH.items():
        if t.startswith(zh):
            return en
    key = re.sub(r"\s+", " ", t.lower().replace("-", " "))
    if key in _ALIASES_EN:
        return _ALIASES_EN[key]
    return " ".join(w.capitalize() for w in key.split()) if key else None


def region_of(province: str | None, regions: dict[str, list[str]]) -> str | None:
    canon = canonical_province(province)
    if canon is None:
        return None
    for region, members in regions.items():
        if canon.lower() in (m.lower() for m in members):
            return region
    return None
