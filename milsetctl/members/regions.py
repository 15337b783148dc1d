"""China's regional rounds: the regions and provinces of [regions], and the entries counted per region.

Province names are compared as `milsetctl.ingest.values.canonical_province` reads them (广东, 广东省, Guangdong,
Guangdong Province are one province; the contest adds spellings in [entrants.province_aliases]). An entry from a
province no region lists (Henan in the 2022 call) is counted under NO_REGION and named, never dropped; an entry
from abroad (the global stage) is counted under its country, as the contest report does.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from milsetctl.settings import Settings

NO_REGION = "(no region)"
NO_PROVINCE = "(no province)"


@cache
def chinese_names() -> dict[str, str]:
    """Canonical province name -> its Chinese name without 省/市/自治区 (Guangdong -> 广东), from pycountry's
    ISO 3166-2:CN names and their zh_CN translation, else the first Chinese spelling in ingest's province table."""
    import gettext

    import pycountry

    from milsetctl.ingest.values import canonical_province

    try:
        zh = gettext.translation("iso3166-2", pycountry.LOCALES_DIR, languages=["zh_CN"]).gettext
    except OSError:
        return {}
    from milsetctl.ingest.values import _data

    written = _data("provinces.toml").get("aliases", {})  # pycountry has no zh name for some (Ningxia)
    out: dict[str, str] = {}
    for sub in pycountry.subdivisions.get(country_code="CN") or []:
        name = zh(sub.name)
        if name == sub.name:
            name = next((a for a in written.get(sub.code, []) if re.match(r"[\u4e00-\u9fff]", a)), name)
        canon = canonical_province(sub.name)
        if canon and name != sub.name:
            for suffix in ("特别行政区", "壮族自治区", "回族自治区", "维吾尔自治区", "自治区", "省", "市"):
                if name.endswith(suffix) and len(name) > len(suffix) + 1:
                    name = name[: -len(suffix)]
                    break
            out.setdefault(canon, name)
    return out


def all_provinces() -> list[str]:
    """Every province-level division of China (ISO 3166-2:CN), by canonical name."""
    import pycountry

    from milsetctl.ingest.values import canonical_province

    names = {canonical_province(s.name) for s in pycountry.subdivisions.get(country_code="CN") or []}
    return sorted(n for n in names if n)


def _aliases(settings: Settings) -> dict[str, str]:
    return {str(k): str(v) for k, v in (settings.section("entrants").get("province_aliases") or {}).items()}


def entry_region(province: str | None, country: str | None, settings: Settings) -> tuple[str, str]:
    """(region, province) an entry is counted under: its region, its country when abroad, else NO_REGION; the
    province by its canonical name, or NO_PROVINCE."""
    from milsetctl.ingest.values import canonical_province, region_of
    from milsetctl.jury.conflicts import country_key, country_name

    aliases = _aliases(settings)
    canon = canonical_province(province, aliases)
    region = region_of(province, settings.regions, aliases) if canon else None
    if region is None and country and country_key(country) != "CN":
        region = country_name(country)  # one spelling per country (中国 = China), as the gallery shows it
    return region or NO_REGION, canon or NO_PROVINCE


@dataclass
class RegionInfo:
    name: str
    provinces: list[tuple[str, str, str]]  # (as written in [regions], canonical name, Chinese name or "")
    entries: int = 0


@dataclass
class RegionReport:
    """`milsetctl regions`: the regions with their provinces and entries; the provinces no region lists; the
    entries placed in no region (by province: their entry IDs)."""

    regions: list[RegionInfo]
    unlisted: list[str]  # provinces of China no region lists (Henan)
    aliases: dict[str, str]
    entries: int = 0
    other: dict[str, int] = field(default_factory=dict)  # abroad: country -> entries
    unplaced: dict[str, list[str]] = field(default_factory=dict)  # province (or NO_PROVINCE) -> entry IDs

    def as_json(self) -> dict[str, Any]:
        return {
            "regions": [{"region": r.name, "entries": r.entries,
                         "provinces": [{"name": c, "written": w, "zh": z or None} for w, c, z in r.provinces]}
                        for r in self.regions],
            "provinces_in_no_region": self.unlisted, "province_aliases": self.aliases, "entries": self.entries,
            "abroad": self.other,
            "entries_in_no_region": [{"province": p, "entries": ids} for p, ids in self.unplaced.items()],
        }


def region_counts(entries: list[Any], settings: Settings) -> Counter[str]:
    """Entries per region (NO_REGION for those placed in none), from ledger entry rows."""
    return Counter(entry_region(e["province"], e["country"], settings)[0] for e in entries)


def region_report(settings: Settings, entries: list[Any] | None = None) -> RegionReport:
    """The regions of the settings and, given the ledger's entries, how many come from each."""
    from milsetctl.ingest.values import canonical_province

    aliases = _aliases(settings)
    zh = chinese_names()
    regions = []
    listed: set[str] = set()
    for name, members in settings.regions.items():
        provinces = []
        for written in members:
            canon = canonical_province(written, aliases) or written
            listed.add(canon)
            provinces.append((written, canon, zh.get(canon, "")))
        regions.append(RegionInfo(name, provinces))
    report = RegionReport(regions, [p for p in all_provinces() if p not in listed], aliases)
    if entries is None:
        return report
    by_name = {r.name: r for r in regions}
    for e in entries:
        report.entries += 1
        region, province = entry_region(e["province"], e["country"], settings)
        if region in by_name:
            by_name[region].entries += 1
        elif region == NO_REGION:
            report.unplaced.setdefault(province, []).append(e["entry_id"])
        else:
            report.other[region] = report.other.get(region, 0) + 1
    return report
