"""Entry rules (the manifest row) and the one-per-contestant contest rule, on Entry objects built directly."""

from __future__ import annotations

import unicodedata
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from conftest import settings_with

from milsetctl.models import Entry, PhotoInfo
from milsetctl.rules import REGISTRY, ContestItem, load_rules
from milsetctl.rules.metadata import category_of
from milsetctl.settings import Settings, defaults

load_rules()

SHANGHAI = ZoneInfo("Asia/Shanghai")
PHOTO = PhotoInfo(sha256="0" * 64, size=1234, format="JPEG", width=2400, height=1600)


def entry(**fields: Any) -> Entry:
    """A complete, valid row; tests override what they are about."""
    values: dict[str, Any] = {
        "key": "file:a.jpg", "file": "a.jpg", "contestant_id": "C001", "name": "张伟", "school": "北京四中",
        "grade": "8", "province": "北京市", "country": "中国", "title": "The Milky Way over the Great Wall",
        "description": "Taken at midnight from a hill near my school.",
        "submitted_at": datetime(2022, 7, 5, 9, 30, tzinfo=SHANGHAI), "origin": "entries.csv row 2",
    }
    values.update(fields)
    return Entry(**values)


def messages(rule_id: str, e: Entry, photo: PhotoInfo | None = PHOTO, settings: Settings | None = None) -> list[str]:
    rule = REGISTRY[rule_id]
    assert rule.scope == "entry"
    return [m if isinstance(m, str) else m[0] for m in rule.check(e, photo, settings or defaults())]


ENTRY_RULES = ("missing-file", "unlisted-file", "title-missing", "title-length", "description-missing",
               "description-length", "language", "late", "grade", "region-unknown", "missing-field")


def fired(e: Entry, photo: PhotoInfo | None = PHOTO, settings: Settings | None = None) -> dict[str, list[str]]:
    found = {rule_id: messages(rule_id, e, photo, settings) for rule_id in ENTRY_RULES}
    return {k: v for k, v in found.items() if v}


def test_a_complete_row_passes_every_entry_rule() -> None:
    assert fired(entry()) == {}


# --- missing-file, unlisted-file, missing-field --------------------------------------------------------------------


def test_missing_file() -> None:
    assert messages("missing-file", entry()) == []
    (message,) = messages("missing-file", entry(file="photos/zz.jpg"), photo=None)
    assert "photos/zz.jpg" in message and "entries.csv row 2" in message
    (message,) = messages("missing-file", entry(file=None, key="row:2"), photo=None)
    assert "names no photo file" in message


def test_unlisted_file() -> None:
    stray = Entry(key="file:extra/b.jpg", file="extra/b.jpg", origin="folder scan", listed=False)
    assert messages("unlisted-file", stray) == ["extra/b.jpg is not named in any manifest row or sidecar"]
    # a photo nobody listed is not also blamed for the row it does not have
    assert fired(stray) == {"unlisted-file": ["extra/b.jpg is not named in any manifest row or sidecar"]}
    assert messages("unlisted-file", entry()) == []


@pytest.mark.parametrize("cid", [None, "", "   "])
def test_missing_contestant_id(cid: str | None) -> None:
    (message,) = messages("missing-field", entry(contestant_id=cid))
    assert "contestant_id" in message and "entries.csv row 2" in message


# --- title and description -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("title", [None, "", "   "])
def test_title_missing(title: str | None) -> None:
    assert messages("title-missing", entry(title=title)) == ["no title"]
    assert messages("title-length", entry(title=title)) == []


@pytest.mark.parametrize("description", [None, "", " \n "])
def test_description_missing(description: str | None) -> None:
    assert messages("description-missing", entry(description=description)) == ["no description"]


@pytest.mark.parametrize(("rule_id", "field", "limit"), [("title-length", "title", 60),
                                                          ("description-length", "description", 300)])
@pytest.mark.parametrize("char", ["星", "é", "a"])
def test_length_limit_counts_characters(rule_id: str, field: str, limit: int, char: str) -> None:
    at_limit = char * limit
    assert len(at_limit.encode("utf-8")) >= limit  # bytes would overcount the Chinese and accented texts
    assert messages(rule_id, entry(**{field: at_limit})) == []
    assert messages(rule_id, entry(**{field: f"  {at_limit}  "})) == []  # surrounding spaces do not count
    (message,) = messages(rule_id, entry(**{field: at_limit + char}))
    assert f"{limit + 1} characters" in message
    assert f"{limit} limit" in message


@pytest.mark.parametrize(("rule_id", "field", "limit"), [("title-length", "title", 60),
                                                          ("description-length", "description", 300)])
def test_length_of_decomposed_text_counts_as_composed(rule_id: str, field: str, limit: int) -> None:
    nfd = unicodedata.normalize("NFD", "é" * limit)
    assert len(nfd) == 2 * limit  # 'e' + combining accent, as macOS and some IMEs write it
    assert messages(rule_id, entry(**{field: nfd})) == []
    (message,) = messages(rule_id, entry(**{field: nfd + unicodedata.normalize("NFD", "é")}))
    assert f"{limit + 1} characters" in message


def test_length_limits_follow_settings() -> None:
    settings = settings_with(text={"title_max": 10})
    assert messages("title-length", entry(title="Orion Belt!"), settings=settings) == [
        "title has 11 characters, over the 10 limit"
    ]


# --- language ------------------------------------------------------------------------------------------------------


def test_chinese_title_fires() -> None:
    (message,) = messages("language", entry(title="银河与长城"))
    assert message.startswith("title ")
    assert "Chinese" in message and "银河" in message


def test_spanish_title_fires() -> None:
    (message,) = messages("language", entry(title="La noche de las estrellas"))
    assert message.startswith("title ")
    assert "Spanish" in message


@pytest.mark.parametrize(
    "title",
    ["The Milky Way over María's farm", "Milky Way", "Orion’s belt over Lake Tahoe", "Star trails at Mauna Kea",
     "Núñez and the Moon", "M31", "2022", "Noche"],
)
def test_english_titles_pass(title: str) -> None:
    assert messages("language", entry(title=title)) == []


# short foreign titles that one English-looking word ("a", "in", "total") let through in version 1
FOREIGN_TITLES = [
    "La luna in cielo sopra la città", "Una noche a la luz de la luna", "Der Mond in der Nacht",
    "Estrellas sobre el mar", "Notte stellata in montagna", "Il sole e la luna", "Sterne über den Bergen",
    "Die Milchstraße über dem See", "Une nuit sous les étoiles", "Aurore boréale en Norvège", "A lua sobre o mar",
    "Pôr do sol na praia", "De maan boven de zee", "Noorderlicht boven Noorwegen", "Bulan purnama di atas laut",
    "Gerhana bulan total", "Ay ve yıldızlar", "Księżyc w nocy", "Stjärnor över sjön", "Bầu trời đêm đầy sao",
    "Wo de xing kong", "Saturno e i suoi anelli",
]
# English titles naming foreign places, or with a foreign word or two
ENGLISH_TITLES = [
    "Aurora over Tromsø", "Total eclipse in La Serena", "Sunset at Playa del Carmen",
    "The Moon over Mont Saint-Michel", "Moonrise over Lago di Como", "Star trails over San Pedro de Atacama",
    "Full Moon over Rio de Janeiro", "The Moon above Notre-Dame de Paris", "Nightfall at Piazza San Marco",
    "Night at the Observatorio del Teide", "Comet over Kraków", "Venus over Ölüdeniz", "Moonrise over Hạ Long Bay",
    "Stars over Åre", "Sunset at Île de Ré", "Moon and Mars over Den Helder",
]


@pytest.mark.parametrize("title", FOREIGN_TITLES)
def test_short_foreign_titles_fire(title: str) -> None:
    (message,) = messages("language", entry(title=title))
    assert message.startswith("title looks like ")


@pytest.mark.parametrize("title", ENGLISH_TITLES)
def test_english_titles_with_foreign_place_names_pass(title: str) -> None:
    assert messages("language", entry(title=title)) == []


@pytest.mark.parametrize(("title", "language"), [
    ("Estrellas sobre el mar", "Spanish"), ("La luna in cielo sopra la città", "Italian"),
    ("Der Mond in der Nacht", "German"), ("Une nuit sous les étoiles", "French"), ("A lua sobre o mar", "Portuguese"),
    ("De maan boven de zee", "Dutch"), ("Bintang di langit malam", "Indonesian/Malay"),
])
def test_the_language_is_named_with_its_words(title: str, language: str) -> None:
    (message,) = messages("language", entry(title=title))
    assert f"looks like {language} (" in message


def test_english_description_with_a_foreign_quote_passes() -> None:
    text = "The full Moon rising behind the Torre del Mangia in Siena, shot from the Piazza del Campo."
    assert messages("language", entry(description=text)) == []
    assert len(messages("language", entry(description="La luna llena detrás de la torre, vista desde la plaza."))) == 1


def test_language_rule_was_versioned_for_the_new_scorer() -> None:
    assert REGISTRY["language"].version >= 2


def test_description_is_checked_too() -> None:
    (message,) = messages("language", entry(description="这是我在学校附近的山上拍的银河。"))
    assert message.startswith("description ")


def test_both_fields_reported() -> None:
    found = messages("language", entry(title="Le ciel de la nuit", description="Ночное небо над горами"))
    assert len(found) == 2
    assert "French" in found[0]
    assert "Cyrillic" in found[1]


def test_greek_star_designations_are_english() -> None:
    """Bayer designations (α Centauri, ω Centauri) are how English names stars: a SPACE contest is full of them."""
    assert messages("language", entry(title="α Centauri rising over the hills")) == []
    assert messages("language", entry(description="The globular cluster ω Centauri, low in the south.")) == []
    assert len(messages("language", entry(title="Ο νυχτερινός ουρανός"))) == 1  # Greek text is still Greek


def test_fullwidth_latin_is_english() -> None:
    """A Chinese IME in full-width mode types Ｍｉｌｋｙ Ｗａｙ: still English words."""
    assert messages("language", entry(title="Ｔｈｅ Ｍｉｌｋｙ Ｗａｙ")) == []


def test_language_can_be_switched_off() -> None:
    settings = settings_with(text={"require_english": False})
    assert messages("language", entry(title="银河"), settings=settings) == []


# --- late ----------------------------------------------------------------------------------------------------------


def test_last_minute_of_the_deadline_day_is_on_time() -> None:
    assert messages("late", entry(submitted_at=datetime(2022, 7, 11, 23, 59, tzinfo=SHANGHAI))) == []
    assert messages("late", entry(submitted_at=datetime(2022, 7, 11, 23, 59, 59, 999999, tzinfo=SHANGHAI))) == []


def test_midnight_after_the_deadline_is_late() -> None:
    (message,) = messages("late", entry(submitted_at=datetime(2022, 7, 12, 0, 0, tzinfo=SHANGHAI)))
    assert "2022-07-12 00:00" in message
    assert "Asia/Shanghai" in message
    assert "2022-07-11" in message


def test_late_compares_instants_not_wall_clocks() -> None:
    # 20:00 UTC on the 11th is 04:00 on the 12th in Shanghai
    (message,) = messages("late", entry(submitted_at=datetime(2022, 7, 11, 20, 0, tzinfo=UTC)))
    assert "2022-07-12 04:00" in message
    # and 15:59 UTC is 23:59 Shanghai: on time
    assert messages("late", entry(submitted_at=datetime(2022, 7, 11, 15, 59, tzinfo=UTC))) == []
    new_york = ZoneInfo("America/New_York")
    assert messages("late", entry(submitted_at=datetime(2022, 7, 11, 11, 59, tzinfo=new_york))) == []
    assert len(messages("late", entry(submitted_at=datetime(2022, 7, 11, 12, 0, tzinfo=new_york)))) == 1


def test_no_submission_time_is_not_late() -> None:
    assert messages("late", entry(submitted_at=None)) == []


def test_deadline_and_zone_from_settings() -> None:
    from datetime import date

    settings = settings_with(contest={"deadline": date(2022, 7, 20), "timezone": "Europe/Paris"})
    assert messages("late", entry(submitted_at=datetime(2022, 7, 20, 23, 30, tzinfo=ZoneInfo("Europe/Paris"))),
                    settings=settings) == []
    # 05:30 in Shanghai is 23:30 the day before in Paris: on time; 06:00 is Paris midnight: late
    assert messages("late", entry(submitted_at=datetime(2022, 7, 21, 5, 30, tzinfo=SHANGHAI)), settings=settings) == []
    (message,) = messages("late", entry(submitted_at=datetime(2022, 7, 21, 6, 0, tzinfo=SHANGHAI)), settings=settings)
    assert "2022-07-21 00:00" in message and "Europe/Paris" in message and "2022-07-20" in message


# --- grade ---------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("grade", "category"), [("7", "middle"), ("8", "middle"), ("9", "middle"), ("初二", "middle"),
                                                 ("八年级", "middle"), ("Grade 9", "middle"), ("10", "high"),
                                                 ("高一", "high"), ("12", "high"), ("高三", "high")])
def test_grade_in_range(grade: str, category: str) -> None:
    e = entry(grade=grade)
    assert messages("grade", e) == []
    assert category_of(e, defaults()) == category


@pytest.mark.parametrize(("grade", "expected"), [("6", "grade 6 is outside 7–12"), ("13", "grade 13 is outside 7–12"),
                                                 ("", "no grade given"), (None, "no grade given"),
                                                 ("senior", "cannot be read")])
def test_grade_out_of_range_or_missing(grade: str | None, expected: str) -> None:
    e = entry(grade=grade)
    (message,) = messages("grade", e)
    assert expected in message
    assert category_of(e, defaults()) is None


def test_grade_ranges_from_settings() -> None:
    settings = settings_with(entrants={"middle": [6, 8], "high": [9, 12]})
    assert messages("grade", entry(grade="6"), settings=settings) == []
    assert category_of(entry(grade="9"), settings) == "high"


# --- region-unknown ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("province", ["河南省", "Henan", "henan province"])
def test_province_in_no_region(province: str) -> None:
    (message,) = messages("region-unknown", entry(province=province))
    assert province in message
    assert "Henan" in message


@pytest.mark.parametrize("province", ["广东省", "Guangdong", "北京市", "广西壮族自治区", "内蒙古", "香港特别行政区",
                                      "Hong Kong", "macau"])
def test_province_with_a_region(province: str) -> None:
    assert messages("region-unknown", entry(province=province)) == []


@pytest.mark.parametrize("country", [None, "", "China", "CN", "中国", "PRC"])
def test_chinese_or_unstated_country_is_checked(country: str | None) -> None:
    assert len(messages("region-unknown", entry(province="河南省", country=country))) == 1


def test_other_countries_are_skipped() -> None:
    assert messages("region-unknown", entry(province="Île-de-France", country="France")) == []
    assert messages("region-unknown", entry(province=None, country="France")) == []


def test_no_province() -> None:
    (message,) = messages("region-unknown", entry(province=None))
    assert "no province" in message
    assert messages("region-unknown", entry(province="   ", country="China")) != []


def test_regions_from_settings() -> None:
    regions = dict(defaults().regions)
    regions["Central"] = regions["Central"] + ["Henan"]
    assert messages("region-unknown", entry(province="河南省"), settings=settings_with(regions=regions)) == []


# --- one-per-contestant --------------------------------------------------------------------------------------------


def _item(key: str, cid: str | None, when: datetime | None, listed: bool = True) -> ContestItem:
    e = Entry(key=f"file:{key}", file=key, contestant_id=cid, submitted_at=when, listed=listed,
              origin=f"entries.csv row {key}")
    e.entry_id = f"E-{key.split('.')[0]}"
    return ContestItem(e, PHOTO)


def one_per_contestant(items: list[ContestItem], settings: Settings | None = None) -> dict[str, list[str]]:
    rule = REGISTRY["one-per-contestant"]
    assert rule.scope == "contest"
    out: dict[str, list[str]] = {}
    for key, emit in rule.check(items, settings or defaults()):
        out.setdefault(key, []).append(emit if isinstance(emit, str) else emit[0])
    return out


def test_latest_submission_is_kept() -> None:
    day = datetime(2022, 7, 5, 9, 0, tzinfo=SHANGHAI)
    items = [
        _item("a.jpg", "C1", day),
        _item("b.jpg", "C1", day + timedelta(days=2)),  # the latest: kept
        _item("c.jpg", "C1", day + timedelta(days=1)),
        _item("d.jpg", "C2", day),
    ]
    found = one_per_contestant(items)
    assert set(found) == {"file:a.jpg", "file:c.jpg"}
    for key in ("file:a.jpg", "file:c.jpg"):
        (message,) = found[key]
        assert "E-b" in message and "b.jpg" in message
        assert "3 entries" in message
        assert "2022-07-07 09:00" in message


def test_latest_is_judged_across_time_zones() -> None:
    items = [
        _item("a.jpg", "C1", datetime(2022, 7, 6, 7, 0, tzinfo=SHANGHAI)),  # 2022-07-05 23:00 UTC
        _item("b.jpg", "C1", datetime(2022, 7, 6, 0, 0, tzinfo=UTC)),  # one hour later
    ]
    assert set(one_per_contestant(items)) == {"file:a.jpg"}


def test_contestant_ids_compare_ignoring_case_and_spaces() -> None:
    day = datetime(2022, 7, 5, tzinfo=SHANGHAI)
    items = [_item("a.jpg", "abc-1", day), _item("b.jpg", " ABC-1 ", day + timedelta(hours=1))]
    assert set(one_per_contestant(items)) == {"file:a.jpg"}


def test_rows_without_a_time_count_as_earliest_and_later_rows_win_ties() -> None:
    day = datetime(2022, 7, 5, tzinfo=SHANGHAI)
    items = [_item("a.jpg", "C1", day), _item("b.jpg", "C1", None)]
    assert set(one_per_contestant(items)) == {"file:b.jpg"}
    items = [_item("a.jpg", "C1", day), _item("b.jpg", "C1", day)]
    assert set(one_per_contestant(items)) == {"file:a.jpg"}
    items = [_item("a.jpg", "C1", None), _item("b.jpg", "C1", None)]
    found = one_per_contestant(items)
    assert set(found) == {"file:a.jpg"}
    assert "submitted ?" in found["file:a.jpg"][0]


def test_unlisted_and_anonymous_entries_are_not_grouped() -> None:
    day = datetime(2022, 7, 5, tzinfo=SHANGHAI)
    items = [_item("a.jpg", None, day), _item("b.jpg", None, day), _item("c.jpg", "", day),
             _item("d.jpg", "C1", day), _item("e.jpg", "C1", day, listed=False)]
    assert one_per_contestant(items) == {}


def test_one_per_contestant_can_be_switched_off() -> None:
    day = datetime(2022, 7, 5, tzinfo=SHANGHAI)
    items = [_item("a.jpg", "C1", day), _item("b.jpg", "C1", day)]
    assert one_per_contestant(items, settings_with(entrants={"one_per_contestant": False})) == {}


# --- the registry's view of these rules ----------------------------------------------------------------------------


def test_entry_rules_are_registered_with_spec_severities() -> None:
    expected = {"missing-file": "reject", "unlisted-file": "review", "title-missing": "reject",
                "title-length": "reject", "description-missing": "reject", "description-length": "reject",
                "language": "review", "late": "reject", "grade": "reject", "region-unknown": "review",
                "missing-field": "reject"}
    for rule_id, severity in expected.items():
        assert REGISTRY[rule_id].scope == "entry"
        assert REGISTRY[rule_id].severity == severity
    assert REGISTRY["one-per-contestant"].severity == "reject"


def test_no_regional_round_at_the_global_stage() -> None:
    """A Henan nominee accepted nationally is not sent back to review at the global stage."""
    global_stage = settings_with(contest={"stage": "global"})
    assert messages("region-unknown", entry(province="河南省"), settings=global_stage) == []
    assert len(messages("region-unknown", entry(province="河南省"))) == 1
