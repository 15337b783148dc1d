"""The field's title and text rules (issue 21): title-generic over the file names real cameras and phones write and
the real titles it must leave alone, title-duplicate, plain-language; each through the registry and through
`milsetctl validate --json` on a small generated contest."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import make_jpeg, settings_with, write_manifest
from typer.testing import CliRunner

from milsetctl.cli import app
from milsetctl.models import Entry
from milsetctl.rules import REGISTRY, ContestItem, Scope, load_rules
from milsetctl.rules.field import generic_title, longest_sentence, reading_grade
from milsetctl.settings import SettingsError, check_settings, defaults, load
from milsetctl.workspace import init_workspace

runner = CliRunner()

# (title as a contestant's form sent it, who writes such a name): every one must be found
CAMERA_AND_PHONE_NAMES = [
    ("IMG_1234", "Canon"), ("IMG_0001.JPG", "Canon"), ("_MG_4821", "Canon in Adobe RGB"), ("MVI_0042", "Canon video"),
    ("DSC_0001", "Nikon"), ("_DSC0457", "Nikon / Sony Adobe RGB"), ("DSCN0001", "Nikon Coolpix"),
    ("DSC00001", "Sony"), ("DSC01234.JPG", "Sony"), ("DSCF0001", "Fujifilm"), ("_DSF2345", "Fujifilm Adobe RGB"),
    ("P1010034", "Olympus / Panasonic"), ("PA010034", "Olympus, October"), ("P7120001.jpg", "Olympus"),
    ("IMGP1234", "Pentax"), ("SAM_0001", "Samsung camera"), ("100_1234", "Kodak"), ("R0012345", "Ricoh"),
    ("L1000123", "Leica"), ("SDIM1234", "Sigma"), ("GOPR0001", "GoPro"), ("GH010123", "GoPro HERO"),
    ("GX010045", "GoPro"), ("DJI_0001", "DJI"), ("DJI_20220701123456_0001_D", "DJI"),
    ("IMG_E1234", "iPhone edited copy"), ("IMG_1234 2", "iPhone duplicate"), ("IMG_1234 (1).jpg", "a second download"),
    ("IMG_1234 copy", "macOS copy"), ("DSC_0001-Edit", "Lightroom"), ("DSC_0001-Enhanced-NR", "Lightroom"),
    ("PXL_20220701_123456789", "Pixel"), ("PXL_20220701_123456789.PORTRAIT", "Pixel portrait"),
    ("PXL_20220701_123456789.MP.jpg", "Pixel motion photo"), ("20220701_123456", "Samsung phone"),
    ("20220701_123456(0)", "Samsung burst"), ("IMG_20220701_123456", "Huawei"), ("IMG_20220701_123456_HDR", "Xiaomi"),
    ("IMG20220701123456", "OPPO / Xiaomi"), ("VID_20220701_123456", "Android video"),
    ("mmexport1656651234567", "WeChat saved"), ("wx_camera_1656651234567", "WeChat camera"),
    ("微信图片_20220701123456", "WeChat PC"), ("QQ图片20220701123456", "QQ"), ("IMG-20220701-WA0001", "WhatsApp"),
    ("WhatsApp Image 2022-07-01 at 12.34.56", "WhatsApp desktop"), ("Screenshot_20220701-123456", "Android"),
    ("Screenshot 2022-07-01 at 12.34.56", "macOS"), ("Screen Shot 2022-07-01 at 12.34.56 PM", "old macOS"),
    ("屏幕截图 2022-07-01 123456", "Windows, Chinese"), ("Screenshot", "a screenshot"), ("FB_IMG_1656651234567",
                                                                                           "Facebook"),
    ("FullSizeRender", "iOS"), ("3F2504E0-4F89-11D3-9A0C-0305E82C3301", "iOS share"),
    ("2022-07-01 12.34.56", "Dropbox camera upload"), ("ＩＭＧ＿１２３４", "full-width, typed by a Chinese IME"),
]
PLACEHOLDERS = ["Untitled", "untitled", "UNTITLED", "Untitled-1", "Untitled (2)", "No title", "无题", "無題",
                "《无题》", "无题1", "无题（一）", "未命名", "未标题-1", "无标题", "photo", "Photo 1", "image",
                "image0", "IMG", "图片", "照片", "作品", "Sans titre", "Sin título", "N/A", "test", "title"]
COUNTERS = ["1234", "123", "12345", "00012", "0001", "1656651234567", "7", "2022-07-01"]
NOT_TITLES = ["aaaa", "...", "—", "???", "x", "1111", "哈哈哈"]
# real titles (from sample_data and contest galleries) that must never be called generic
REAL_TITLES = [
    "Moon over Hangzhou", "1984", "Life", "365", "42", "2001: A Space Odyssey", "无题的远方", "Untitled Dreams",
    "No Name Lake", "M42", "NGC 7000", "IC 434", "Apollo 11", "P1", "DSC", "R2D2", "C/2020 F3 NEOWISE",
    "Pixel Dreams", "Image of the Moon", "Photo Finish", "Picture Perfect", "Test of Time", "Screenshot of Jupiter",
    "星星", "月", "星空下的城市", "Full Moon over the Western Hills", "Diamond Ring", "Orion Rising", "7:00 AM",
    "UFO?", "Title Fight", "Moonrise",
]


@pytest.mark.parametrize(("title", "who"), CAMERA_AND_PHONE_NAMES)
def test_camera_and_phone_file_names_are_no_titles(title: str, who: str) -> None:
    reason = generic_title(title)
    assert reason is not None, f"{title!r} ({who}) passed as a title"
    assert "file name" in reason and repr(" ".join(title.split())) in reason


@pytest.mark.parametrize("title", PLACEHOLDERS)
def test_placeholders_say_there_is_no_title(title: str) -> None:
    reason = generic_title(title)
    assert reason is not None and "no title" in reason


@pytest.mark.parametrize("title", COUNTERS + NOT_TITLES)
def test_counters_and_repeated_characters_are_no_titles(title: str) -> None:
    assert generic_title(title) is not None


@pytest.mark.parametrize("title", REAL_TITLES)
def test_real_titles_are_left_alone(title: str) -> None:
    assert generic_title(title) is None


def test_the_photos_own_file_name_counts_only_when_it_looks_like_one() -> None:
    assert "own file name" in (generic_title("moon_over_hangzhou", "photos/moon_over_hangzhou.jpg") or "")
    assert "own file name" in (generic_title("C0012", "2022/C0012.jpg") or "")
    # a photo saved under its title may carry it
    assert generic_title("Moon over Hangzhou", "photos/Moon over Hangzhou.jpg") is None
    assert generic_title("Moonrise", "moonrise.jpg") is None
    # a title ending in a file extension is a file name whatever the photo is called
    assert "ends in '.jpeg'" in (generic_title("moonrise.jpeg", "other.jpg") or "")
    assert "contestant's ID" in (generic_title("CN2022-017", None, "CN2022-017") or "")


def _entry(title: str | None, description: str = "The moon.", **kw: object) -> Entry:
    fields: dict = {"key": f"file:{title}.jpg", "file": "photos/p.jpg", "contestant_id": "C1", "grade": "8"}
    fields.update(kw)
    return Entry(title=title, description=description, **fields)


def _run(rule_id: str, entry: Entry, settings=None) -> list[tuple[str, dict]]:
    rule_ = load_rules()[rule_id]
    assert rule_.scope == Scope.ENTRY
    return [e if isinstance(e, tuple) else (e, {}) for e in rule_.check(entry, None, settings or defaults())]


def test_registry_declares_the_specs_ids_and_severities() -> None:
    load_rules()
    assert {(i, str(REGISTRY[i].severity), str(REGISTRY[i].scope)) for i in
            ("title-generic", "title-duplicate", "plain-language", "consent-missing", "extra-personal-data")} == {
        ("title-generic", "review", "entry"), ("title-duplicate", "info", "contest"),
        ("plain-language", "info", "entry"), ("consent-missing", "review", "entry"),
        ("extra-personal-data", "info", "ingest")}
    assert "PSA" in REGISTRY["title-generic"].why and "无题的远方" in REGISTRY["title-generic"].why
    assert "language" in REGISTRY["plain-language"].why  # says non-English text is left to the language rule


def test_title_generic_through_the_registry() -> None:
    found = _run("title-generic", _entry("DSC_0001"))
    assert len(found) == 1 and "Nikon" in found[0][0]
    assert _run("title-generic", _entry("Moon over Hangzhou")) == []
    assert _run("title-generic", _entry(None)) == []  # title-missing's business
    assert _run("title-generic", Entry(key="file:x", file="IMG_1234.jpg", title="IMG_1234", listed=False)) == []


def _items(*titles: str) -> list[ContestItem]:
    return [ContestItem(Entry(key=f"file:p{i}.jpg", file=f"p{i}.jpg", title=t, entry_id=f"E{i + 1:04d}",
                              contestant_id=f"C{i}"), None) for i, t in enumerate(titles)]


def test_title_duplicate_ignores_case_width_and_spaces_and_names_the_others() -> None:
    rule_ = load_rules()["title-duplicate"]
    items = _items("Moon Rise", "moon  rise", "ＭＯＯＮ ＲＩＳＥ", "Moonrise", "Sunset", "Untitled", "untitled",
                   "IMG_1234", "IMG_1234", "")
    found = {key: emit for key, emit in rule_.check(items, defaults())}
    assert set(found) == {"file:p0.jpg", "file:p1.jpg", "file:p2.jpg", "file:p3.jpg"}
    message, data = found["file:p0.jpg"]
    assert "E0002 (p1.jpg)" in message and "E0003 (p2.jpg)" in message and "E0004" in message
    assert data == {"others": ["E0002", "E0003", "E0004"]}
    # generic titles are title-generic's: not reported twice
    assert not any(k in found for k in ("file:p5.jpg", "file:p6.jpg", "file:p7.jpg", "file:p8.jpg"))


HARD = ("This photograph illustrates the multifaceted interplay between atmospheric refraction phenomena and the "
        "photographic representation of celestial luminosity. I took it at night.")
PLAIN = "The full moon rising over the hills west of Beijing, shot from a hillside with a telephoto lens."


def test_plain_language_names_the_grade_and_the_longest_sentence() -> None:
    found = _run("plain-language", _entry("Moon", HARD))
    assert len(found) == 1
    message, data = found[0]
    assert data["grade"] > 10 and f"grade {data['grade']:.1f}" in message and "above the 10" in message
    assert data["longest_sentence"].startswith("This photograph illustrates") and "(17 words)" in message
    assert _run("plain-language", _entry("Moon", PLAIN)) == []
    assert reading_grade(PLAIN) < 10 < reading_grade(HARD)


def test_plain_language_skips_short_and_non_english_descriptions() -> None:
    assert _run("plain-language", _entry("Moon", "Lunar eclipse, photographed telescopically.")) == []
    chinese = "这张照片展示了大气折射现象与天体亮度之间错综复杂的相互作用关系，拍摄于夜晚的山顶之上，历时三个小时。"
    assert _run("plain-language", _entry("Moon", chinese)) == []
    spanish = ("La fotografía ilustra la interacción multifacética entre los fenómenos de refracción atmosférica y "
               "la representación fotográfica de la luminosidad celeste durante la noche.")
    assert _run("plain-language", _entry("Moon", spanish)) == []


def test_plain_language_max_grade_comes_from_its_own_table() -> None:
    lenient = settings_with(rules={"plain-language": {"max_grade": 25}})
    assert _run("plain-language", _entry("Moon", HARD), lenient) == []
    strict = settings_with(rules={"plain-language": {"max_grade": 2}})
    assert "above the 2 " in _run("plain-language", _entry("Moon", PLAIN), strict)[0][0]


def test_longest_sentence_is_the_one_with_most_words() -> None:
    assert longest_sentence("Short one. This sentence has the most words of all! End?") == \
        "This sentence has the most words of all!"


def test_rule_options_tables_in_contest_toml(tmp_path: Path) -> None:
    path = tmp_path / "contest.toml"
    path.write_text('[rules]\ncamera-origin = "info"\n[rules.plain-language]\nmax_grade = 12\nseverity = "review"\n',
                    encoding="utf-8")
    settings = load(path)
    assert settings.rule_options("plain-language") == {"max_grade": 12, "severity": "review"}
    assert settings.rule_severity("plain-language", "info") == "review"
    assert settings.rule_severity("camera-origin", "review") == "info"
    assert defaults().rule_options("plain-language") == {"max_grade": 10}
    base = defaults().raw
    with pytest.raises(SettingsError, match=r"\[rules.plain-language\] max_grde = 12: no such option"):
        check_settings({"rules": {"plain-language": {"max_grde": 12}}}, base)
    with pytest.raises(SettingsError, match="must be a number"):
        check_settings({"rules": {"plain-language": {"max_grade": "ten"}}}, base)
    with pytest.raises(SettingsError, match="severity must be"):
        check_settings({"rules": {"plain-language": {"severity": "warn"}}}, base)
    with pytest.raises(SettingsError, match="only a rule with options takes a table"):
        check_settings({"rules": {"late": {"severity": "off"}}}, base)
    check_settings({"rules": {"plain-language": "off"}}, base)  # the plain form still works


# --- through the CLI -----------------------------------------------------------------------------------------------
def _workspace(tmp_path: Path, rows: list[dict], extra_toml: str = "") -> tuple[Path, Path]:
    """A small generated contest: one photo per row, the manifest, and a workspace whose detectors are off (these
    tests are about the manifest's rules; the photos are 900 px wide, so min-width rejects them all alike)."""
    src = tmp_path / "src"
    for i, row in enumerate(rows):
        make_jpeg(src / row["file"], size=(900, 600), exif={"make": "Canon", "model": "EOS"}, seed=i + 1)
    write_manifest(src, rows, headers=list(dict.fromkeys(k for row in rows for k in row)))
    ws = tmp_path / "ws"
    init_workspace(ws, src).close()
    with open(ws / "contest.toml", "a", encoding="utf-8") as f:
        f.write('face = "off"\ntext-watermark = "off"\n' + extra_toml)
    return src, ws


def _validate(src: Path, ws: Path) -> dict[str, dict]:
    result = runner.invoke(app, ["validate", str(src), "-w", str(ws), "--json", "--jobs", "1"])
    assert result.exit_code == 0, result.output
    return {e["file"]: e for e in json.loads(result.stdout)["entries"]}


def _row(i: int, title: str, description: str = PLAIN, **kw: str) -> dict[str, str]:
    return {"contestant_id": f"C{i}", "name": f"N{i}", "grade": "10", "province": "Hebei", "country": "China",
            "file": f"photos/p{i}.jpg", "title": title, "description": description, "submitted_at": "2022-07-01",
            **kw}


def test_validate_json_reports_the_field_rules(tmp_path: Path) -> None:
    rows = [_row(0, "IMG_1234"), _row(1, "Moon Rise"), _row(2, "moon rise"), _row(3, "Orion", HARD),
            _row(4, "Untitled"), _row(5, "Untitled")]
    src, ws = _workspace(tmp_path, rows, "min-width = \"off\"\n")
    got = _validate(src, ws)

    def rules(file: str) -> dict[str, tuple[str, str]]:
        return {f["rule"]: (f["severity"], f["message"]) for f in got[file]["findings"]}

    assert rules("photos/p0.jpg")["title-generic"][0] == "review" and got["photos/p0.jpg"]["status"] == "review"
    assert rules("photos/p1.jpg")["title-duplicate"] == ("info", "title 'Moon Rise' is also the title of "
                                                                 f"{got['photos/p2.jpg']['entry_id']} (photos/p2.jpg)")
    assert got["photos/p1.jpg"]["status"] == "eligible"  # info only
    severity, message = rules("photos/p3.jpg")["plain-language"]
    assert severity == "info" and "Flesch-Kincaid" in message and "This photograph illustrates" in message
    assert got["photos/p3.jpg"]["status"] == "eligible"
    for file in ("photos/p4.jpg", "photos/p5.jpg"):  # two "Untitled": generic, not also duplicates
        assert "title-generic" in rules(file) and "title-duplicate" not in rules(file)
    assert not any(r in rules("photos/p2.jpg") for r in ("title-generic", "plain-language"))


def test_validate_follows_the_rule_options_and_severities(tmp_path: Path) -> None:
    rows = [_row(0, "DSC_0001"), _row(1, "Orion", HARD)]
    src, ws = _workspace(tmp_path, rows, 'min-width = "off"\ntitle-generic = "reject"\n'
                                         '[rules.plain-language]\nmax_grade = 30\n')
    got = _validate(src, ws)
    assert got["photos/p0.jpg"]["status"] == "rejected"
    assert [f["severity"] for f in got["photos/p0.jpg"]["findings"] if f["rule"] == "title-generic"] == ["reject"]
    assert not any(f["rule"] == "plain-language" for f in got["photos/p1.jpg"]["findings"])


def test_rules_command_explains_each_new_rule() -> None:
    for rule_id, words in (("title-generic", "PSA"), ("title-duplicate", "unique title"),
                           ("plain-language", "Flesch-Kincaid"), ("consent-missing", "PIPL"),
                           ("extra-personal-data", "minimisation")):
        result = runner.invoke(app, ["rules", rule_id])
        assert result.exit_code == 0 and words in " ".join(result.output.split()), (rule_id, result.output)


def test_the_pronunciation_dictionary_is_let_go_and_grading_still_works() -> None:
    """Issue 18: validate's parent lets go of textstat's CMUdict (~72 MB) before the text check's second pass; a
    later grading loads it again and gives the same grade as before."""
    import gc
    import sys

    from milsetctl.rules.field import reading_grade, release_reading_memory

    hard = "Photosynthesis transforms luminous energy into chemical potential within chloroplasts, extraordinarily."
    first = reading_grade("The Moon rises over the quiet hills, and the stars come out one by one.")
    loader = sys.modules["textstat.backend.utils._get_cmudict"].get_cmudict
    assert loader.cache_info().currsize == 1  # the dictionary is held
    release_reading_memory()
    gc.collect()
    assert loader.cache_info().currsize == 0
    assert not [o for o in gc.get_objects() if isinstance(o, dict) and len(o) > 100_000]  # gone, not only uncached
    assert reading_grade(hard) > 20 and first < 8
    assert loader.cache_info().currsize == 1
