"""Conflicts of interest: a juror never scores an entry from their own school (national stage) or their own
country (global stage), as the issue asks.

Schools and countries are typed by hand in two spreadsheets (the manifest and the juror file), so they are
compared after normalising: case, width (full-width Ｓｃｈｏｏｌ), spaces and punctuation for schools; for countries
the ISO 3166 code, found from English names, codes and the Chinese names pycountry ships ("China", "CN", "CHN",
"中国" and "中華人民共和國" are one country).
"""

from __future__ import annotations

import functools
import re
import unicodedata

_PUNCT = re.compile(r"[\W_]+", re.UNICODE)

# everyday names ISO 3166 spells otherwise (its names: "Russian Federation", "Korea, Republic of"...)
_COUNTRY_EXTRA = {
    "russia": "RU", "uk": "GB", "great britain": "GB", "britain": "GB", "england": "GB", "scotland": "GB",
    "wales": "GB", "usa": "US", "us": "US", "america": "US", "united states": "US", "united states of america": "US",
    "south korea": "KR", "korea": "KR", "republic of korea": "KR", "north korea": "KP", "iran": "IR",
    "vietnam": "VN", "turkey": "TR", "turkiye": "TR", "taiwan": "TW", "macau": "MO", "macao": "MO", "laos": "LA",
    "syria": "SY", "bolivia": "BO", "venezuela": "VE", "tanzania": "TZ", "moldova": "MD", "czech republic": "CZ",
    "prc": "CN", "pr china": "CN", "p r china": "CN", "mainland china": "CN", "china mainland": "CN",
    "people s republic of china": "CN", "中国": "CN", "中國": "CN", "中华人民共和国": "CN", "中華人民共和國": "CN",
    "中国大陆": "CN", "美国": "US", "英国": "GB", "俄罗斯": "RU", "韩国": "KR", "日本": "JP", "香港": "HK",
    "中国香港": "HK", "澳门": "MO", "中国澳门": "MO", "台湾": "TW", "中国台湾": "TW", "新加坡": "SG",
}


def _text_key(text: str) -> str:
    """Case-, width-, space- and punctuation-blind form of a name."""
    return _PUNCT.sub(" ", unicodedata.normalize("NFKC", text).casefold()).strip()


def school_key(school: str | None) -> str:
    """Comparable form of a school's name ("Lyceum No. 130" == "lyceum no.130"; "" when unknown).

    Spaces are dropped entirely: Chinese names are written with and without them (北京 四中 / 北京四中).
    """
    return _text_key(school or "").replace(" ", "")


def countries_from_pycountry() -> dict[str, dict[str, str]]:
    """The country table as pycountry makes it: "keys", every English and Chinese (zh_CN, zh_TW, zh_HK) name and
    code of a country in `_text_key` form -> its ISO 3166 alpha-2 code; "names", each code -> the name shown
    (pycountry's common name, else its ISO name). data/countries.json is this, copied: loading pycountry and its
    translations cost ~35 ms of every `status` (issue 18). tests/test_cli_imports.py compares the two; after a
    pycountry release that renames a country, write the file again from this function."""
    import gettext

    import pycountry

    translations = [gettext.translation("iso3166-1", pycountry.LOCALES_DIR, languages=[lang], fallback=True)
                    for lang in ("zh_CN", "zh_TW", "zh_HK")]
    table: dict[str, str] = {}
    names: dict[str, str] = {}
    for country in pycountry.countries:
        names[country.alpha_2] = getattr(country, "common_name", None) or country.name
        for attr in ("alpha_2", "alpha_3", "name", "official_name", "common_name"):
            value = getattr(country, attr, None)
            if not value:
                continue
            table.setdefault(_text_key(value), country.alpha_2)
            if attr in ("name", "official_name", "common_name"):
                for t in translations:
                    table.setdefault(_text_key(t.gettext(value)), country.alpha_2)
    return {"keys": table, "names": names}


@functools.cache
def _countries() -> dict[str, dict[str, str]]:
    """data/countries.json (package data of milsetctl.ingest, beside the province table)."""
    import json
    from importlib import resources

    text = resources.files("milsetctl.ingest").joinpath("data", "countries.json").read_text(encoding="utf-8")
    data: dict[str, dict[str, str]] = json.loads(text)
    return data


@functools.cache
def _country_table() -> dict[str, str]:
    table = dict(_countries()["keys"])
    for name, code in _COUNTRY_EXTRA.items():
        table[_text_key(name)] = code
    return table


def country_key(country: str | None) -> str:
    """The ISO 3166 alpha-2 code of a country name or code in English or Chinese; else its normalised text
    (two unknown spellings of one place still match when they differ only in case, width or spacing).
    "" when unknown."""
    key = _text_key(country or "")
    if not key:
        return ""
    return _country_table().get(key, key)


# pycountry names to show where its common name is still the formal one
_COUNTRY_SHOWN = {"RU": "Russia"}


def country_name(country: str | None) -> str:
    """The country as a page or table shows it: one name for every spelling of one country ("中国", "CN",
    "china" -> "China"; pycountry's common name, else its ISO 3166 name), the text as written (stripped) when
    no country matches, "" when unknown."""
    written = (country or "").strip()
    code = country_key(written)
    if not (len(code) == 2 and code.isascii() and code.isupper()):
        return written
    found = _countries()["names"].get(code)
    if found is None:
        return written
    return _COUNTRY_SHOWN.get(code) or found


def contest_country(text: str) -> str:
    """`[contest] country` as `init` writes it: one English name for any spelling of a country pycountry knows
    ("China", "CN", "CHN", "中国" -> "China"), as `country_name` shows it (nominate compares by ISO code, so any
    spelling would do; one name reads the same in contest.toml, the nomination and the gallery). Raises
    ValueError for a text no country has, naming the closest names (a typo is refused, not written)."""
    import difflib

    written = (text or "").strip()
    code = country_key(written)
    if len(code) == 2 and code.isascii() and code.isupper():
        return country_name(code)
    table = _country_table()
    near = difflib.get_close_matches(_text_key(written), [k for k in table if len(k) > 3], n=3, cutoff=0.6)
    names = list(dict.fromkeys(country_name(table[k]) for k in near))
    raise ValueError(f"no country is called {written!r}" + (f"; did you mean {' or '.join(names)}?" if names else
                     " (an English or Chinese name, or the ISO code: China, CN, 中国)"))


def conflict_key(stage: str, school: str | None, country: str | None) -> str:
    """What two people must share to be in conflict at this stage: the school's key (national) or the country's
    (global); "" when unknown (an unknown school or country is no conflict: nothing says there is one)."""
    return country_key(country) if stage == "global" else school_key(school)


def conflict_reason(stage: str) -> str:
    return "same country" if stage == "global" else "same school"


def conflict(stage: str, juror_school: str | None, juror_country: str | None,
             entry_school: str | None, entry_country: str | None) -> str | None:
    """Why this juror must not score this entry ("same school" / "same country"), or None.

    National stage: same school; global stage: same country (issue 6's rule).
    """
    a = conflict_key(stage, juror_school, juror_country)
    return conflict_reason(stage) if a and a == conflict_key(stage, entry_school, entry_country) else None
