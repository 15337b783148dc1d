"""Ingest against files as they come from the field: Excel's preamble, legacy encodings, day-first dates and
12-hour clocks, regional school years and official province names, IDs Excel mangled, file cells as forms
export them. Every fixture is made here (CSV bytes in each encoding, openpyxl workbooks, tiny JPEGs)."""

from __future__ import annotations

import unicodedata
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from conftest import make_jpeg, settings_with, write_manifest

from milsetctl.ingest import ManifestError, Submissions, read_submissions
from milsetctl.ingest.tables import decode_csv_bytes
from milsetctl.ingest.values import (
    canonical_province,
    infer_date_order,
    is_mangled_id,
    parse_datetime,
    parse_grade,
    path_candidates,
    region_of,
)
from milsetctl.models import Entry
from milsetctl.rules import REGISTRY, ContestItem, load_rules
from milsetctl.settings import Settings, defaults

SHANGHAI = ZoneInfo("Asia/Shanghai")
SMALL = (64, 48)
HEADER = "contestant_id,name,grade,province,file,title,submitted_at"


def ingest(folder: Path, settings: Settings | None = None) -> Submissions:
    return read_submissions(folder, settings or defaults())


def listed(subs: Submissions) -> list[Entry]:
    return [e for e in subs.entries if e.listed]


def photos(folder: Path, *names: str) -> None:
    for seed, name in enumerate(names):
        make_jpeg(folder / name, size=SMALL, seed=seed)


def write_lines(folder: Path, lines: list[str], encoding: str = "utf-8", name: str = "entries.csv") -> Path:
    path = folder / name
    path.write_bytes("\r\n".join(lines).encode(encoding) + b"\r\n")
    return path


# --- preamble: Excel's sep= line, blank lines and title rows above the header -----------------------------------


@pytest.mark.parametrize(
    ("hint", "delimiter"),
    [("sep=,", ","), ("sep=;", ";"), ('"sep=;"', ";"), ("SEP=|", "|"), ("sep=;;;;;;", ";"), ("sep=\t", "\t")],
)
def test_excel_delimiter_hint_names_the_delimiter_and_is_no_row(tmp_path: Path, hint: str, delimiter: str) -> None:
    photos(tmp_path, "a.jpg", "b.jpg")
    rows = [HEADER, "C1,Li Wei,8,Beijing,a.jpg,Night sky,2022-07-01 10:00",
            "C2,José García,9,Beijing,b.jpg,Moon,2022-07-02 10:00"]
    write_lines(tmp_path, [hint] + [r.replace(",", delimiter) for r in rows], "utf-8-sig")
    subs = ingest(tmp_path)
    entries = listed(subs)
    assert [(e.contestant_id, e.file, e.name) for e in entries] == [
        ("C1", "a.jpg", "Li Wei"), ("C2", "b.jpg", "José García")]
    # Excel hides the hint line: rows are numbered as Excel shows them
    assert [e.origin for e in entries] == ["entries.csv row 2", "entries.csv row 3"]
    assert any("delimiter hint" in note for note in subs.notes)


def test_title_rows_and_blank_lines_above_the_header_in_a_csv(tmp_path: Path) -> None:
    photos(tmp_path, "a.jpg")
    write_lines(tmp_path, ["MILSET STEAM Photo Contest 2022,,,", "Regional round: South,,,", ",,,",
                           "编号,姓名,文件,提交时间", "C1,张伟,a.jpg,2022-07-05 09:30"], "gb18030")
    subs = ingest(tmp_path)
    (entry,) = listed(subs)
    assert (entry.contestant_id, entry.name, entry.file) == ("C1", "张伟", "a.jpg")
    assert entry.origin == "entries.csv row 5"
    note = next(n for n in subs.notes if "header" in n)
    assert "row 4" in note and "MILSET STEAM Photo Contest 2022" in note


def test_merged_title_row_above_the_header_in_a_workbook(tmp_path: Path) -> None:
    from openpyxl import Workbook

    photos(tmp_path, "a.jpg", "b.jpg")
    book = Workbook()
    sheet = book.active
    sheet["A1"] = "2022 STEAM 摄影比赛 报名表"
    sheet.merge_cells("A1:E1")
    sheet["A2"] = "填表日期: 2022-07-12"
    sheet.append([])
    sheet.append(["参赛编号", "学生姓名", "年级", "作品文件", "作品标题"])
    sheet.append(["C1", "张伟", "初二", "a.jpg", "Milky Way"])
    sheet.append(["C2", "王芳", "高一", "b.jpg", "Moon"])
    book.save(tmp_path / "entries.xlsx")
    subs = ingest(tmp_path)
    entries = listed(subs)
    assert [(e.contestant_id, e.file, e.origin) for e in entries] == [
        ("C1", "a.jpg", "entries.xlsx row 5"), ("C2", "b.jpg", "entries.xlsx row 6")]
    assert any("row 4" in n and "报名表" in n for n in subs.notes)


def test_a_workbook_whose_first_sheet_is_a_cover(tmp_path: Path) -> None:
    from openpyxl import Workbook

    photos(tmp_path, "a.jpg")
    book = Workbook()
    cover = book.active
    cover.title = "说明"
    cover.append(["请在“报名表”中填写每位学生的信息。"])
    cover.append(["文件: 照片的文件名"])
    data = book.create_sheet("报名表")
    data.append(["编号", "文件", "标题"])
    data.append(["C1", "a.jpg", "Milky Way"])
    book.save(tmp_path / "entries.xlsx")
    subs = ingest(tmp_path)
    assert [(e.contestant_id, e.file, e.origin) for e in listed(subs)] == [("C1", "a.jpg", "entries.xlsx row 2")]
    assert any("sheet '报名表'" in n for n in subs.notes)


def test_a_second_header_row_in_english_is_skipped(tmp_path: Path) -> None:
    photos(tmp_path, "a.jpg")
    write_lines(tmp_path, ["编号,姓名,文件", "contestant_id,name,file", "C1,张伟,a.jpg"])
    subs = ingest(tmp_path)
    assert [(e.contestant_id, e.origin) for e in listed(subs)] == [("C1", "entries.csv row 3")]
    assert any("row 2 repeats the header" in n for n in subs.notes)


def test_missing_column_names_the_header_row_and_the_sheets_language(tmp_path: Path) -> None:
    photos(tmp_path, "a.jpg")
    write_lines(tmp_path, ["报名表,,", "姓名,文件名,标题", "张伟,a.jpg,Milky Way"])
    with pytest.raises(ManifestError) as caught:
        ingest(tmp_path)
    message = str(caught.value)
    assert "编号 (contestant_id)" in message  # the column named as a Chinese sheet would have it
    assert "row 2" in message  # the row that came closest to a header
    assert "'文件名'" in message


def test_unreadable_cell_names_the_column_as_the_sheet_has_it(tmp_path: Path) -> None:
    photos(tmp_path, "a.jpg")
    write_lines(tmp_path, ["编号,文件,提交时间", "C1,a.jpg,下周"])
    (entry,) = listed(ingest(tmp_path))
    (finding,) = entry.ingest_findings
    assert "entries.csv row 2, column '提交时间' (submitted_at), cell C2:" in finding.message
    assert "下周" in finding.message


# --- legacy encodings ----------------------------------------------------------------------------------------------

WESTERN = [("C1", "José García", "Colegio San Martín"), ("C2", "João Conceição", "Escola São Paulo"),
           ("C3", "Zoë Müller", "Gymnasium Köln"), ("C4", "Renée Ångström", "Lycée Français")]


@pytest.mark.parametrize("encoding", ["cp1252", "latin-1"])
def test_western_excel_csv_is_not_read_as_gb18030(tmp_path: Path, encoding: str) -> None:
    photos(tmp_path, "a.jpg")
    rows = [{"contestant_id": c, "name": n, "school": s, "file": "a.jpg", "title": "Night sky"}
            for c, n, s in WESTERN]
    write_manifest(tmp_path, rows, encoding=encoding)
    subs = ingest(tmp_path)
    assert subs.encoding in ("cp1252", "latin_1")
    assert [(e.name, e.school) for e in listed(subs)] == [(n, s) for _, n, s in WESTERN]
    assert any("Windows-1252" in n or "Latin-1" in n for n in subs.notes)


def test_cp1252_only_characters(tmp_path: Path) -> None:
    """Curly quotes, the euro sign and an em dash live in 0x80-0x9F, where Windows-1252 and Latin-1 differ."""
    raw = f"{HEADER}\r\nC1,Conceição,8,Beijing,a.jpg,“Moon” — €5 tour,2022-07-01\r\n".encode("cp1252")
    text, encoding, _ = decode_csv_bytes(raw, Path("entries.csv"))
    assert encoding == "cp1252"
    assert "“Moon” — €5 tour" in text


@pytest.mark.parametrize(
    ("encoding", "names"),
    [("gb18030", ["张伟", "刘䶮", "欧阳娜娜"]), ("gbk", ["张伟", "王芳", "李娜"]),
     ("big5", ["陳大文", "林小明", "黃志強"]), ("shift_jis", ["山田太郎", "鈴木花子", "佐藤健"])],
)
def test_east_asian_excel_encodings(encoding: str, names: list[str]) -> None:
    lines = ["编号,姓名,学校" if encoding.startswith("gb") else "id,name,school"]
    schools = {"gb18030": "北京市第四中学", "gbk": "广州市第六中学", "big5": "臺北市立建國高級中學",
               "shift_jis": "東京都立高校"}
    lines += [f"C{i},{n},{schools[encoding]}" for i, n in enumerate(names)]
    raw = "\r\n".join(lines).encode(encoding)
    text, detected, _ = decode_csv_bytes(raw, Path("entries.csv"))
    assert all(n in text for n in names)
    assert detected == ("gb18030" if encoding == "gbk" else encoding)


def test_an_ambiguous_encoding_is_said_not_guessed_silently() -> None:
    """Two Chinese characters are valid both in GBK and in Big5: the note names the choice and the other reading."""
    raw = "id,name\r\nC1,张伟\r\n".encode("gbk")
    text, encoding, notes = decode_csv_bytes(raw, Path("entries.csv"))
    assert encoding == "gb18030" and "张伟" in text
    (note,) = notes
    assert "ambiguous" in note and "GB18030" in note and "Big5" in note and "'张伟'" in note


def test_a_clear_encoding_is_not_called_ambiguous() -> None:
    raw = "id,name,school\r\n" + "".join(f"C{i},{n},{s}\r\n" for i, n, s in WESTERN)
    _, encoding, notes = decode_csv_bytes(raw.encode("cp1252"), Path("entries.csv"))
    assert encoding == "cp1252"
    assert notes and not any("ambiguous" in n for n in notes)
    # GBK bytes also decode as Shift-JIS half-width katakana: valid, but nobody's names
    raw = "".join(f"C{i},张伟,北京四中,圣保罗\r\n" for i in range(200)).encode("gbk")
    _, encoding, notes = decode_csv_bytes(raw, Path("entries.csv"))
    assert encoding == "gb18030"
    assert not any("ambiguous" in n for n in notes)


def test_utf8_and_utf16_take_no_detour() -> None:
    for encoding in ("utf-8", "utf-8-sig", "utf-16"):
        raw = "id,name\r\nC1,José 张伟\r\n".encode(encoding)
        text, _, notes = decode_csv_bytes(raw, Path("entries.csv"))
        assert "José 张伟" in text and notes == []


# --- dates ---------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "order", "expected"),
    [
        ("11/07/2022 23:10:05", "dmy", datetime(2022, 7, 11, 23, 10, 5)),
        ("11.07.2022", "dmy", datetime(2022, 7, 11)),
        ("11-07-2022 23:10:05", "dmy", datetime(2022, 7, 11, 23, 10, 5)),
        ("13/07/2022 09:00:00", "auto", datetime(2022, 7, 13, 9)),  # a day over 12 reads one way only
        ("07/11/2022 23:10", "mdy", datetime(2022, 7, 11, 23, 10)),
        ("7/11/22", "mdy", datetime(2022, 7, 11)),
        ("22/07/11", "ymd", datetime(2022, 7, 11)),
        ("2022/7/11 下午 11:30", "auto", datetime(2022, 7, 11, 23, 30)),
        ("2022/7/11 上午9:05", "auto", datetime(2022, 7, 11, 9, 5)),
        ("2022年7月11日 晚上10:15", "auto", datetime(2022, 7, 11, 22, 15)),
        ("2022年7月11日下午3点", "auto", datetime(2022, 7, 11, 15)),
        ("2022/7/11 中午12:30", "auto", datetime(2022, 7, 11, 12, 30)),
        ("2022/7/11 12:10 AM", "auto", datetime(2022, 7, 11, 0, 10)),
        ("11/07/2022 11:30 p.m.", "dmy", datetime(2022, 7, 11, 23, 30)),
        ("11 July 2022", "auto", datetime(2022, 7, 11)),
        ("Jul 11, 2022", "auto", datetime(2022, 7, 11)),
        ("July 11th, 2022 10:30 PM", "auto", datetime(2022, 7, 11, 22, 30)),
        ("11-Jul-2022 23:10", "auto", datetime(2022, 7, 11, 23, 10)),
        ("１１/０７/２０２２ ２３：１０", "dmy", datetime(2022, 7, 11, 23, 10)),  # full-width digits
        ("2022-07-11 09:30", "dmy", datetime(2022, 7, 11, 9, 30)),  # year-first stays year-first
    ],
)
def test_dates_as_people_write_them(text: str, order: str, expected: datetime) -> None:
    assert parse_datetime(text, SHANGHAI, order) == expected.replace(tzinfo=SHANGHAI)


@pytest.mark.parametrize("text", ["July 2022", "Tuesday", "31/02/2022", "2022/7/11 下午 13:30", "13/13/2022"])
def test_incomplete_or_impossible_dates_are_refused(text: str) -> None:
    with pytest.raises(ValueError) as caught:
        parse_datetime(text, SHANGHAI, "auto")
    assert text in str(caught.value)


@pytest.mark.parametrize(
    ("cells", "setting", "order", "proven"),
    [
        (["11/07/2022 23:10:05", "13/07/2022 09:00:00"], "auto", "dmy", True),
        (["07/11/2022", "07/13/2022"], "auto", "mdy", True),
        (["05/07/2022", "06/07/2022"], "auto", "auto", False),  # nothing settles it: an ambiguous cell is refused
        (["13/07/2022", "07/13/2022"], "auto", "auto", False),
        (["05/07/2022"], "dmy", "dmy", True),
        (["2022-07-05", "11 July 2022"], "auto", "auto", False),
    ],
)
def test_column_date_order(cells: list[str], setting: str, order: str, proven: bool) -> None:
    found = infer_date_order(cells, setting)
    assert (found.order, found.proven) == (order, proven)


def test_a_day_first_column_is_read_day_first(tmp_path: Path) -> None:
    photos(tmp_path, "a.jpg", "b.jpg", "c.jpg")
    write_lines(tmp_path, ["contestant_id,file,submitted_at", "C1,a.jpg,11/07/2022 23:10:05",
                           "C2,b.jpg,13/07/2022 09:00:00", "C3,c.jpg,05.07.2022"])
    entries = {e.contestant_id: e for e in listed(ingest(tmp_path))}
    assert entries["C1"].submitted_at == datetime(2022, 7, 11, 23, 10, 5, tzinfo=SHANGHAI)
    assert entries["C2"].submitted_at == datetime(2022, 7, 13, 9, tzinfo=SHANGHAI)
    assert entries["C3"].submitted_at == datetime(2022, 7, 5, tzinfo=SHANGHAI)


def test_sidecar_dates_are_one_column(tmp_path: Path) -> None:
    import json

    photos(tmp_path, "a.jpg", "b.jpg")
    for name, when in (("a", "11/07/2022 23:10"), ("b", "13/07/2022 09:00")):
        (tmp_path / f"{name}.json").write_text(json.dumps({"contestant_id": name, "submitted_at": when}),
                                               encoding="utf-8")
    entries = {e.contestant_id: e for e in listed(ingest(tmp_path))}
    assert entries["a"].submitted_at == datetime(2022, 7, 11, 23, 10, tzinfo=SHANGHAI)
    assert entries["b"].submitted_at == datetime(2022, 7, 13, 9, tzinfo=SHANGHAI)


def test_the_dates_order_setting_decides(tmp_path: Path) -> None:
    photos(tmp_path, "a.jpg")
    write_lines(tmp_path, ["contestant_id,file,submitted_at", "C1,a.jpg,05/07/2022 10:00"])
    (entry,) = listed(ingest(tmp_path, settings_with(dates={"order": "dmy"})))
    assert entry.submitted_at == datetime(2022, 7, 5, 10, tzinfo=SHANGHAI)
    (entry,) = listed(ingest(tmp_path, settings_with(dates={"order": "mdy"})))
    assert entry.submitted_at == datetime(2022, 5, 7, 10, tzinfo=SHANGHAI)


def _contest_findings(rule_id: str, entries: list[Entry], settings: Settings | None = None) -> dict[str, str]:
    load_rules()
    items = [ContestItem(e, None) for e in entries]
    return {key: emit if isinstance(emit, str) else emit[0]
            for key, emit in REGISTRY[rule_id].check(items, settings or defaults())}


def _ambiguous(entries: list[Entry]) -> dict[str, str]:
    return {e.key: f.message for e in entries for f in e.ingest_findings if f.rule == "date-ambiguous"}


def test_an_ambiguous_date_is_reported_with_both_readings_and_not_guessed(tmp_path: Path) -> None:
    photos(tmp_path, "a.jpg", "b.jpg")
    write_lines(tmp_path, ["contestant_id,file,submitted_at", "C1,a.jpg,05/07/2022 10:00",
                           "C2,b.jpg,2022-07-06 10:00"])
    entries = listed(ingest(tmp_path))
    found = _ambiguous(entries)
    assert list(found) == ["file:a.jpg"]
    message = found["file:a.jpg"]
    assert "entries.csv row 2, column 'submitted_at', cell C2" in message and "'05/07/2022 10:00'" in message
    assert "2022-07-05 (day first) or 2022-05-07 (month first)" in message
    assert entries[0].submitted_at is None and entries[0].submitted_at_raw == "05/07/2022 10:00"
    load_rules()
    assert REGISTRY["date-ambiguous"].severity == "review"
    # a cell that proves the order settles the column: nothing left to report
    write_lines(tmp_path, ["contestant_id,file,submitted_at", "C1,a.jpg,05/07/2022 10:00",
                           "C2,b.jpg,13/07/2022 10:00"])
    assert _ambiguous(listed(ingest(tmp_path))) == {}
    # and so does the setting
    write_lines(tmp_path, ["contestant_id,file,submitted_at", "C1,a.jpg,05/07/2022 10:00"])
    assert _ambiguous(listed(ingest(tmp_path, settings_with(dates={"order": "dmy"})))) == {}


# --- grades --------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "grade"),
    [
        # mainland China
        ("初一", 7), ("初二", 8), ("初三", 9), ("高一", 10), ("高三", 12), ("初中二年级", 8), ("初中三年級", 9),
        ("高中一年级", 10), ("七年级", 7), ("八年级", 8), ("十二年级", 12), ("高一(3)班", 10), ("初二3班", 8),
        ("初二三班", 8), ("高二下", 11),
        # Hong Kong / Macao
        ("中一", 7), ("中四", 10), ("中六", 12), ("Form 1", 7), ("Form 2", 8), ("Form 6", 12), ("F.3", 9),
        ("S1", 7), ("S6", 12), ("Secondary 2", 8),
        # Taiwan
        ("國一", 7), ("國二", 8), ("國三", 9), ("國中二年級", 8), ("高二", 11),
        # English
        ("Year 9", 8), ("Year 13", 12), ("Y10", 9), ("G10", 10), ("Grade 10", 10), ("grade10", 10), ("Gr. 9", 9),
        ("10th grade", 10), ("8th", 8), ("8", 8), ("８", 8), ("Ｇｒａｄｅ　８", 8), ("eighth grade", 8),
        ("Grade Eight", 8), ("Form Two", 8), ("Junior 2", 8), ("Senior 1", 10), ("Senior High 3", 12),
        # not a grade
        ("初中", None), ("senior", None), ("", None), ("Grade", None), ("Form 2B", None),
    ],
)
def test_school_years_as_written(text: str, grade: int | None) -> None:
    assert parse_grade(text) == grade


def test_grade_aliases_from_the_settings_win() -> None:
    aliases = {"Year 9": 9, "预备班": 6}
    assert parse_grade("year 9", aliases) == 9
    assert parse_grade("预备班", aliases) == 6
    assert parse_grade("Year 10", aliases) == 9  # the built-in reading for forms not listed


def test_grade_rule_and_category_use_the_regional_forms() -> None:
    from milsetctl.rules.metadata import category_of

    load_rules()
    settings = defaults()
    for written, category in [("初中二年级", "middle"), ("Form 2", "middle"), ("中四", "high"), ("國三", "middle")]:
        entry = Entry(key="k", file="a.jpg", grade=written)
        assert category_of(entry, settings) == category
        assert list(REGISTRY["grade"].check(entry, None, settings)) == []
    entry = Entry(key="k", file="a.jpg", grade="Year 9")
    assert category_of(entry, settings_with(entrants={"grade_aliases": {"Year 9": 10}})) == "high"
    (message,) = REGISTRY["grade"].check(Entry(key="k", file="a.jpg", grade="小学六年级"), None, settings)
    assert "grade 6" in message and "小学六年级" in message


# --- provinces -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        ("Guangxi Zhuang Autonomous Region", "Guangxi"), ("广西壮族自治区", "Guangxi"), ("廣西", "Guangxi"),
        ("Guangxi Zhuangzu Zizhiqu", "Guangxi"), ("广东省", "Guangdong"), ("Guangdong Sheng", "Guangdong"),
        ("Guangdong Province", "Guangdong"), ("广东省广州市", "Guangdong"), ("China, Guangdong", "Guangdong"),
        ("中国香港", "Hong Kong"), ("香港特别行政区", "Hong Kong"), ("Hong Kong SAR", "Hong Kong"),
        ("HongKong", "Hong Kong"), ("HK", "Hong Kong"), ("Beijing Municipality", "Beijing"), ("Beijing Shi", "Beijing"),
        ("北京市", "Beijing"), ("Inner Mongolia", "Inner Mongolia"), ("Nei Mongol", "Inner Mongolia"),
        ("Nei Mongol Zizhiqu", "Inner Mongolia"), ("内蒙古自治区", "Inner Mongolia"), ("Xizang", "Tibet"),
        ("Tibet Autonomous Region", "Tibet"), ("西藏自治区", "Tibet"), ("Ningxia Hui Autonomous Region", "Ningxia"),
        ("宁夏回族自治区", "Ningxia"), ("Xinjiang Uygur Zizhiqu", "Xinjiang"), ("Macau SAR", "Macao"),
        ("澳門", "Macao"), ("臺灣", "Taiwan"), ("陕西省", "Shaanxi"), ("山西省", "Shanxi"), ("Anhui", "Anhui"),
        ("Anhui Sheng", "Anhui"), ("California", "California"), ("", None),
    ],
)
def test_province_names_official_and_romanised(text: str, canonical: str | None) -> None:
    assert canonical_province(text) == canonical


def test_region_lookup_uses_canonical_names_on_both_sides() -> None:
    regions = {"South": ["Guangdong", "Guangxi", "Hong Kong"], "West": ["Xizang", "新疆"]}
    assert region_of("Guangxi Zhuang Autonomous Region", regions) == "South"
    assert region_of("广东省", regions) == "South"
    assert region_of("中国香港", regions) == "South"
    assert region_of("Tibet", regions) == "West"
    assert region_of("Xinjiang Uygur Autonomous Region", regions) == "West"
    assert region_of("河南省", regions) is None
    assert region_of("Canton", regions) == "South"  # built-in alias
    assert region_of("Lingnan", regions, {"Lingnan": "Guangdong"}) == "South"


def test_region_rule_reads_official_names_and_settings_aliases() -> None:
    load_rules()
    check = REGISTRY["region-unknown"].check
    for written in ("Guangxi Zhuang Autonomous Region", "广东省", "Beijing Municipality", "Nei Mongol"):
        assert list(check(Entry(key="k", file="a.jpg", province=written, country="China"), None, defaults())) == []
    entry = Entry(key="k", file="a.jpg", province="Lingnan", country="China")
    assert list(check(entry, None, defaults()))
    assert list(check(entry, None, settings_with(entrants={"province_aliases": {"Lingnan": "Guangdong"}}))) == []


# --- file cells ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "cell",
    [
        "Milky%20Way%20over%20Tibet.jpg", "Milky Way over Tibet.jpg", "./Milky Way over Tibet.jpg",
        ".\\Milky Way over Tibet.jpg", "file:///C:/Users/li/Desktop/Milky%20Way%20over%20Tibet.jpg",
        "file:///home/li/Milky%20Way%20over%20Tibet.jpg", "https://forms.example.com/u/Milky%20Way%20over%20Tibet.jpg",
        "C:\\Users\\li\\Desktop\\Milky Way over Tibet.jpg", "milky way over tibet.JPG",
        "Milky+Way+over+Tibet%2Ejpg", ' "Milky Way over Tibet.jpg" ',
    ],
)
def test_file_cells_as_forms_export_them(tmp_path: Path, cell: str) -> None:
    photos(tmp_path, "Milky Way over Tibet.jpg")
    write_manifest(tmp_path, [{"contestant_id": "C1", "file": cell}])
    subs = ingest(tmp_path)
    assert [(e.file, e.listed) for e in subs.entries] == [("Milky Way over Tibet.jpg", True)]


def test_file_cells_in_subfolders_and_other_normalisation(tmp_path: Path) -> None:
    nfd = unicodedata.normalize("NFD", "Conceição/céu%20noturno.jpg")
    make_jpeg(tmp_path / "2022" / "Conceição" / "céu noturno.jpg", size=SMALL)
    make_jpeg(tmp_path / "2022" / "photos" / "a b.jpg", size=SMALL, seed=1)
    write_manifest(tmp_path, [{"contestant_id": "C1", "file": nfd},
                              {"contestant_id": "C2", "file": "photos\\a%20b.jpg"}])
    entries = {e.contestant_id: e.file for e in listed(ingest(tmp_path))}
    assert entries == {"C1": "2022/Conceição/céu noturno.jpg", "C2": "2022/photos/a b.jpg"}


def test_a_literal_percent_name_wins_over_its_decoding(tmp_path: Path) -> None:
    photos(tmp_path, "a%20b.jpg", "a b.jpg")
    write_manifest(tmp_path, [{"contestant_id": "C1", "file": "a%20b.jpg"},
                              {"contestant_id": "C2", "file": "a b.jpg"}])
    assert {e.contestant_id: e.file for e in listed(ingest(tmp_path))} == {"C1": "a%20b.jpg", "C2": "a b.jpg"}


def test_a_cell_meaning_two_files_is_matched_to_neither(tmp_path: Path) -> None:
    photos(tmp_path, "x/moon.jpg", "y/moon.jpg", "Sun.jpg", "sun.jpg")
    write_manifest(tmp_path, [{"contestant_id": "C1", "file": "moon.jpg"},
                              {"contestant_id": "C2", "file": "SUN.JPG"}])
    subs = ingest(tmp_path)
    entries = {e.contestant_id: e.file for e in listed(subs)}
    assert entries == {"C1": "moon.jpg", "C2": "SUN.JPG"}  # as written: missing-file will name it
    assert {e.file for e in subs.entries if not e.listed} == {"x/moon.jpg", "y/moon.jpg", "Sun.jpg", "sun.jpg"}


def test_path_candidates_order() -> None:
    assert path_candidates("a%20b.jpg") == ["a%20b.jpg", "a b.jpg"]
    assert path_candidates("file:///C:/x/a%20b.jpg")[-1] == "x/a b.jpg"
    assert path_candidates("  ") == []


# --- identifiers Excel mangled ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "mangled"),
    [("2.02207E+11", True), ("2.02207e+11", True), ("1.10101E+17", True), ("2E+11", True), ("2,02207E+11", True),
     ("202207123456", False), ("C2022E11", False), ("E+11", False), ("", False), (None, False)],
)
def test_is_mangled_id(text: str | None, mangled: bool) -> None:
    assert is_mangled_id(text) is mangled


def test_mangled_ids_never_merge_two_students(tmp_path: Path) -> None:
    photos(tmp_path, "a.jpg", "b.jpg", "c.jpg", "d.jpg")
    write_lines(tmp_path, ["contestant_id,name,file,submitted_at", "2.02207E+11,Wang Fang,a.jpg,2022-07-02 10:00",
                           "2.02207E+11,Zhao Lei,b.jpg,2022-07-03 11:00", "C9,Li Na,c.jpg,2022-07-01",
                           "C9,Li Na,d.jpg,2022-07-04"])
    entries = listed(ingest(tmp_path))
    mangled = _contest_findings("mangled-id", entries)
    assert set(mangled) == {"file:a.jpg", "file:b.jpg"}
    assert all("2.02207E+11" in m and "2 entries" in m for m in mangled.values())
    assert "entries.csv row 2" in mangled["file:a.jpg"]
    assert REGISTRY["mangled-id"].severity == "review"
    # one-per-contestant still merges a real ID, never the mangled one
    assert set(_contest_findings("one-per-contestant", entries)) == {"file:c.jpg"}


def test_a_long_number_cell_in_a_workbook_is_recognised_as_mangled(tmp_path: Path) -> None:
    from openpyxl import Workbook

    photos(tmp_path, "a.jpg", "b.jpg")
    book = Workbook()
    sheet = book.active
    sheet.append(["contestant_id", "file"])
    sheet.append([110101200501011234, "a.jpg"])  # an 18-digit ID typed into a number cell: stored as a float
    sheet.append([202207123456, "b.jpg"])  # 12 digits: exact
    book.save(tmp_path / "entries.xlsx")
    ids = [e.contestant_id for e in listed(ingest(tmp_path))]
    assert is_mangled_id(ids[0]) and ids[0].startswith("1.101012005")
    assert ids[1] == "202207123456"


# --- the notes reach the coordinator ------------------------------------------------------------------------------


def test_validate_prints_how_the_manifest_was_read(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from milsetctl.cli import app

    source = tmp_path / "submissions"
    photos(source, "a.jpg")
    write_lines(source, ["sep=;", "报名表;;", "编号;文件;标题", "C1;a.jpg;Night sky"], "gb18030")
    result = CliRunner().invoke(app, ["validate", str(source), "-w", str(tmp_path / "ws"), "--json", "--jobs", "1"])
    assert result.exit_code == 0, result.output
    assert "delimiter hint" in result.stderr
    assert "the header is row 2" in result.stderr
    assert "GB18030" in result.stderr
    assert '"contestant_id": "C1"' in result.stdout


@pytest.mark.parametrize(
    ("toml", "named"),
    [('[dates]\norder = "dym"\n', "[dates] order"),
     ('[entrants.grade_aliases]\n"Year 9" = "nine"\n', "[entrants.grade_aliases]"),
     ('[entrants.province_aliases]\n"Canton" = 44\n', "[entrants.province_aliases]")],
)
def test_the_new_settings_are_checked_on_load(tmp_path: Path, toml: str, named: str) -> None:
    from milsetctl.settings import SettingsError, load

    path = tmp_path / "contest.toml"
    path.write_text(toml, encoding="utf-8")
    with pytest.raises(SettingsError) as caught:
        load(path)
    assert named in str(caught.value) and "contest.toml" in str(caught.value)
    path.write_text('[dates]\norder = "dmy"\n[entrants.grade_aliases]\n"Year 9" = 9\n'
                    '[entrants.province_aliases]\n"Canton" = "Guangdong"\n', encoding="utf-8")
    settings = load(path)
    assert parse_grade("Year 9", settings.section("entrants")["grade_aliases"]) == 9
