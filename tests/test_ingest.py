"""Ingest: manifests as coordinators really save them, and the photos they name.

Every test writes a real folder (photos and a manifest in a given encoding) and reads it back through
`read_submissions`, the same entry point `validate` uses.
"""

from __future__ import annotations

import io
import json
import unicodedata
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from conftest import make_jpeg, make_png, settings_with, write_manifest

from milsetctl.ingest import ManifestError, Submissions, read_submissions
from milsetctl.ingest.values import canonical_province, parse_datetime, parse_grade
from milsetctl.models import Entry, Severity
from milsetctl.settings import defaults

SHANGHAI = ZoneInfo("Asia/Shanghai")
SMALL = (64, 48)  # ingest never decodes photos: tiny files keep these tests fast


def ingest(folder: Path, settings=None, manifest: Path | None = None) -> Submissions:
    return read_submissions(folder, settings or defaults(), manifest=manifest)


def listed(subs: Submissions) -> list[Entry]:
    return [e for e in subs.entries if e.listed]


def by_id(subs: Submissions) -> dict[str | None, Entry]:
    return {e.contestant_id: e for e in listed(subs)}


def two_photos(folder: Path) -> None:
    make_jpeg(folder / "a.jpg", size=SMALL)
    make_jpeg(folder / "b.jpg", size=SMALL, seed=1)


CHINESE_ROWS = [
    {"contestant_id": "C001", "name": "张伟", "school": "北京市第四中学", "grade": "初二", "province": "北京市",
     "file": "a.jpg", "title": "Milky Way", "description": "Taken on a hill.", "submitted_at": "2022-07-05 09:30"},
    {"contestant_id": "C002", "name": "刘䶮", "school": "广州市第六中学", "grade": "高一", "province": "广东省",
     "file": "b.jpg", "title": "Moon", "description": "The moon rising.", "submitted_at": "2022-07-06 10:00"},
]


# --- encodings -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("encoding", "delimiter", "expected"),
    [
        ("utf-8", ",", "utf-8"),
        ("utf-8-sig", ",", "utf-8-sig"),
        ("gb18030", ",", "gb18030"),
        ("utf-16", "\t", "utf-16"),  # Excel "Unicode text": UTF-16 LE with BOM, tab-delimited
        ("utf-8-sig", ";", "utf-8-sig"),  # European Excel writes semicolons
    ],
)
def test_manifest_encodings_and_delimiters(tmp_path: Path, encoding: str, delimiter: str, expected: str) -> None:
    two_photos(tmp_path)
    write_manifest(tmp_path, CHINESE_ROWS, encoding=encoding, delimiter=delimiter)
    subs = ingest(tmp_path)
    assert subs.layout == "A"
    assert subs.encoding == expected
    entries = by_id(subs)
    assert set(entries) == {"C001", "C002"}
    assert entries["C001"].name == "张伟"
    assert entries["C002"].name == "刘䶮"  # 䶮 (U+4DAE) exists in GB18030 only, not in GBK
    assert entries["C001"].school == "北京市第四中学"
    assert entries["C001"].file == "a.jpg"
    assert entries["C002"].file == "b.jpg"
    assert entries["C001"].submitted_at == datetime(2022, 7, 5, 9, 30, tzinfo=SHANGHAI)
    assert entries["C001"].origin == "entries.csv row 2"
    assert entries["C002"].origin == "entries.csv row 3"
    assert all(e.listed for e in subs.entries)  # both photos named: nothing unlisted


def test_gbk_manifest_read_as_gb18030(tmp_path: Path) -> None:
    """WPS and Chinese Excel save 'CSV' in GBK: a superset decoder reads it unchanged."""
    two_photos(tmp_path)
    rows = [dict(r, name="张伟") for r in CHINESE_ROWS]
    write_manifest(tmp_path, rows, encoding="gbk")
    with pytest.raises(UnicodeEncodeError):
        "刘䶮".encode("gbk")  # the reason GB18030 matters
    subs = ingest(tmp_path)
    assert subs.encoding == "gb18030"
    assert [e.name for e in listed(subs)] == ["张伟", "张伟"]
    assert listed(subs)[0].province == "北京市"


def test_utf16_without_bom(tmp_path: Path) -> None:
    two_photos(tmp_path)
    write_manifest(tmp_path, CHINESE_ROWS, encoding="utf-16-le", delimiter="\t")
    subs = ingest(tmp_path)
    assert subs.encoding == "utf-16-le"
    assert by_id(subs)["C002"].name == "刘䶮"


def test_undecodable_byte_names_the_line(tmp_path: Path) -> None:
    two_photos(tmp_path)
    path = write_manifest(tmp_path, CHINESE_ROWS, encoding="utf-8")
    lines = path.read_bytes().split(b"\r\n")
    lines[2] = lines[2].replace(b"Moon", b"Mo\xffon")  # line 3 of the file
    path.write_bytes(b"\r\n".join(lines))
    with pytest.raises(ManifestError) as caught:
        ingest(tmp_path)
    message = str(caught.value)
    assert "entries.csv" in message
    assert "line 3" in message


def test_undecodable_byte_in_utf8_with_chinese_names_its_own_line(tmp_path: Path) -> None:
    """A UTF-8 manifest full of Chinese with one stray byte further down: the message must point at that
    byte's line, not at the first line a GB18030 attempt happens to trip over."""
    make_jpeg(tmp_path / "a.jpg", size=SMALL)
    rows = [
        {"contestant_id": f"C{i}", "name": "张伟", "title": "星空下的我", "file": "a.jpg"} for i in range(1, 6)
    ]
    path = write_manifest(tmp_path, rows, encoding="utf-8")
    lines = path.read_bytes().split(b"\r\n")
    lines[4] = lines[4].replace(b"C4", b"C\xff4")  # line 5
    path.write_bytes(b"\r\n".join(lines))
    with pytest.raises(ManifestError) as caught:
        ingest(tmp_path)
    assert "line 5" in str(caught.value)


def test_undecodable_byte_in_gbk_names_its_own_line(tmp_path: Path) -> None:
    make_jpeg(tmp_path / "a.jpg", size=SMALL)
    rows = [{"contestant_id": f"C{i}", "name": "张伟", "school": "北京四中", "file": "a.jpg"} for i in range(1, 6)]
    path = write_manifest(tmp_path, rows, encoding="gbk")
    lines = path.read_bytes().split(b"\r\n")
    lines[3] = lines[3].replace(b"C3", b"C\xff3")  # line 4
    path.write_bytes(b"\r\n".join(lines))
    with pytest.raises(ManifestError) as caught:
        ingest(tmp_path)
    assert "line 4" in str(caught.value)


@pytest.mark.parametrize(("encoding", "stray", "line"), [
    ("utf-8", b"Caf\xe9t", 3),  # Latin-1 'e acute'; \xe9 't' is also a valid GB18030 pair
    ("utf-8", b"Orion\x92s belt", 3),  # Windows-1252 right quote
    ("utf-8-sig", b"Caf\xe9t", 3),  # 'CSV UTF-8' with its BOM
    ("utf-8", b"\xa0Moon", 4),  # a no-break space from a Western keyboard, on another row
])
def test_utf8_with_a_stray_byte_stops_naming_its_line(tmp_path: Path, encoding: str, stray: bytes, line: int) -> None:
    """One byte pasted into a UTF-8 manifest of Chinese names: read in a legacy encoding, every name would
    turn into mojibake silently. It stops with one message naming the file and the line, and what to do."""
    make_jpeg(tmp_path / "a.jpg", size=SMALL)
    rows = [{"contestant_id": "C1", "name": "张伟", "title": "Milky Way", "file": "a.jpg"},
            {"contestant_id": "C2", "name": "王芳", "title": "Moon", "file": "a.jpg"},
            {"contestant_id": "C3", "name": "刘䶮", "title": "Mars", "file": "a.jpg"}]
    path = write_manifest(tmp_path, rows, encoding=encoding)
    target = b"Moon" if line == 3 else b"Mars"
    path.write_bytes(path.read_bytes().replace(target, stray, 1))
    with pytest.raises(ManifestError) as caught:
        ingest(tmp_path)
    message = str(caught.value)
    assert message.startswith("entries.csv: ")
    assert f"line {line}:" in message
    assert "CSV UTF-8" in message


def test_empty_manifest(tmp_path: Path) -> None:
    (tmp_path / "entries.csv").write_bytes(b"\xef\xbb\xbf\r\n")
    with pytest.raises(ManifestError, match="empty"):
        ingest(tmp_path)


# --- XLSX ----------------------------------------------------------------------------------------------------------


def test_xlsx_with_date_cell_and_excel_serial(tmp_path: Path) -> None:
    from openpyxl import Workbook

    two_photos(tmp_path)
    make_jpeg(tmp_path / "c.jpg", size=SMALL, seed=2)
    book = Workbook()
    sheet = book.active
    sheet.append(["编号", "姓名", "年级", "省份", "文件", "标题", "提交时间"])
    sheet.append([1001, "张伟", 8, "北京", "a.jpg", "Milky Way", datetime(2022, 7, 5, 9, 30)])
    sheet.append([1002, "刘䶮", "高一", "广东省", "b.jpg", "Moon", 44747 + 9.5 / 24])  # a bare serial number
    sheet.append([1003.0, "王芳", 9, "上海", "c.jpg", "Orion", "2022/7/12 0:05"])
    sheet["G2"].number_format = "yyyy-mm-dd hh:mm"
    book.save(tmp_path / "entries.xlsx")

    subs = ingest(tmp_path)
    assert subs.encoding == "xlsx"
    entries = by_id(subs)
    assert set(entries) == {"1001", "1002", "1003"}  # numbers without a trailing .0
    assert entries["1001"].name == "张伟"
    assert entries["1001"].grade == "8"
    assert entries["1001"].submitted_at == datetime(2022, 7, 5, 9, 30, tzinfo=SHANGHAI)
    assert entries["1002"].submitted_at == datetime(2022, 7, 5, 9, 30, tzinfo=SHANGHAI)
    assert entries["1003"].submitted_at == datetime(2022, 7, 12, 0, 5, tzinfo=SHANGHAI)
    assert entries["1001"].origin == "entries.xlsx row 2"
    assert all(not e.ingest_findings for e in subs.entries)


def test_xlsx_unreadable_date_names_the_cell(tmp_path: Path) -> None:
    from openpyxl import Workbook

    make_jpeg(tmp_path / "a.jpg", size=SMALL)
    book = Workbook()
    sheet = book.active
    sheet.append(["contestant_id", "file", "submitted_at"])
    sheet.append(["C1", "a.jpg", "last Tuesday"])
    book.save(tmp_path / "entries.xlsx")
    (entry,) = listed(ingest(tmp_path))
    (finding,) = entry.ingest_findings
    assert finding.rule == "unreadable-date"
    assert "row 2" in finding.message
    assert "C2" in finding.message  # the cell: column C, row 2
    assert "last Tuesday" in finding.message
    assert entry.submitted_at is None
    assert entry.submitted_at_raw == "last Tuesday"


def _set_xlsx_dimension(path: Path, ref: str) -> None:
    """Rewrite the sheet's stored dimension, as exporters that always write "A1" do."""
    import re
    import zipfile

    original = path.read_bytes()
    path.unlink()
    with zipfile.ZipFile(io.BytesIO(original)) as zin, zipfile.ZipFile(path, "w") as zout:
        for item in zin.infolist():
            data = zin.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                data, count = re.subn(rb'<dimension ref="[^"]*"\s*/>', f'<dimension ref="{ref}"/>'.encode(), data)
                assert count == 1
            zout.writestr(item, data)


def test_xlsx_with_a_wrong_stored_dimension(tmp_path: Path) -> None:
    from openpyxl import Workbook

    two_photos(tmp_path)
    book = Workbook()
    sheet = book.active
    sheet.append(["contestant_id", "file", "title"])
    sheet.append(["C1", "a.jpg", "Milky Way"])
    sheet.append([])
    sheet.append(["C2", "b.jpg", "Moon"])
    path = tmp_path / "entries.xlsx"
    book.save(path)
    _set_xlsx_dimension(path, "A1")
    subs = ingest(tmp_path)
    assert [(e.contestant_id, e.file, e.title, e.origin) for e in listed(subs)] == [
        ("C1", "a.jpg", "Milky Way", "entries.xlsx row 2"), ("C2", "b.jpg", "Moon", "entries.xlsx row 4"),
    ]


def test_not_a_workbook(tmp_path: Path) -> None:
    (tmp_path / "entries.xlsx").write_bytes(b"this is not a zip file")
    with pytest.raises(ManifestError, match="entries.xlsx"):
        ingest(tmp_path)


# --- headers -------------------------------------------------------------------------------------------------------


def test_chinese_headers(tmp_path: Path) -> None:
    two_photos(tmp_path)
    headers = ["姓名", "学校", "年级", "省份", "标题", "描述", "文件", "编号", "提交时间"]
    rows = [["张伟", "北京四中", "初二", "北京", "Milky Way", "Taken on a hill.", "a.jpg", "C001", "2022-07-05 09:30"]]
    write_manifest(tmp_path, rows, headers=headers, encoding="gb18030")
    (entry,) = listed(ingest(tmp_path))
    assert entry.contestant_id == "C001"
    assert entry.name == "张伟"
    assert entry.school == "北京四中"
    assert entry.grade == "初二"
    assert entry.province == "北京"
    assert entry.title == "Milky Way"
    assert entry.description == "Taken on a hill."
    assert entry.file == "a.jpg"
    assert entry.submitted_at == datetime(2022, 7, 5, 9, 30, tzinfo=SHANGHAI)


def test_messy_english_headers_and_unknown_columns(tmp_path: Path) -> None:
    two_photos(tmp_path)
    headers = [" Contestant ID ", "File Name", "TITLE", "Teacher"]
    write_manifest(tmp_path, [["C001", "a.jpg", "Milky Way", "Ms Li"]], headers=headers)
    (entry,) = listed(ingest(tmp_path))
    assert entry.contestant_id == "C001"
    assert entry.file == "a.jpg"
    assert entry.title == "Milky Way"
    assert entry.extra == {"Teacher": "Ms Li"}  # kept, not lost


def test_a_second_column_of_the_same_name_does_not_overwrite_the_first(tmp_path: Path) -> None:
    two_photos(tmp_path)
    headers = ["contestant_id", "file", "title", "file", "title"]
    write_manifest(tmp_path, [["C1", "a.jpg", "Milky Way", "", "old title"]], headers=headers)
    subs = ingest(tmp_path)
    (entry,) = listed(subs)
    assert entry.file == "a.jpg"
    assert entry.title == "Milky Way"


def test_header_aliases_from_settings(tmp_path: Path) -> None:
    two_photos(tmp_path)
    headers = ["Registration No.", "Picture", "Headline"]
    write_manifest(tmp_path, [["R-7", "b.jpg", "Orion"]], headers=headers)
    with pytest.raises(ManifestError):
        ingest(tmp_path)  # without the aliases, the required columns are not there
    settings = settings_with(manifest={"aliases": {"contestant_id": ["registration no."], "file": ["picture"],
                                                   "title": "Headline"}})
    (entry,) = listed(ingest(tmp_path, settings))
    assert (entry.contestant_id, entry.file, entry.title) == ("R-7", "b.jpg", "Orion")


def test_missing_required_column_is_one_clear_error(tmp_path: Path) -> None:
    two_photos(tmp_path)
    write_manifest(tmp_path, [["张伟", "a.jpg", "Milky Way"]], headers=["姓名", "文件", "标题"])
    with pytest.raises(ManifestError) as caught:
        ingest(tmp_path)
    message = str(caught.value)
    assert "contestant_id" in message
    assert "entries.csv" in message
    assert "'file'" not in message and "file," not in message  # only the missing column is named as missing
    assert "姓名" in message  # the headers that were found, to compare against


def test_header_after_blank_lines_keeps_spreadsheet_row_numbers(tmp_path: Path) -> None:
    two_photos(tmp_path)
    path = tmp_path / "entries.csv"
    path.write_text("\r\n\r\ncontestant_id,file\r\nC1,a.jpg\r\n\r\nC2,b.jpg\r\n", encoding="utf-8")
    entries = listed(ingest(tmp_path))
    assert [(e.contestant_id, e.origin) for e in entries] == [
        ("C1", "entries.csv row 4"), ("C2", "entries.csv row 6"),
    ]


# --- submitted_at --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2022-07-05T09:30:00", datetime(2022, 7, 5, 9, 30, tzinfo=SHANGHAI)),
        ("2022-07-05 09:30", datetime(2022, 7, 5, 9, 30, tzinfo=SHANGHAI)),
        ("2022/7/5 9:30", datetime(2022, 7, 5, 9, 30, tzinfo=SHANGHAI)),
        ("2022年7月5日", datetime(2022, 7, 5, tzinfo=SHANGHAI)),
        ("2022年7月5日 9时30分", datetime(2022, 7, 5, 9, 30, tzinfo=SHANGHAI)),
        ("2022-07-05T01:30:00Z", datetime(2022, 7, 5, 9, 30, tzinfo=SHANGHAI)),
        ("2022-07-05 09:30+02:00", datetime(2022, 7, 5, 7, 30, tzinfo=UTC)),
        ("2022/7/5 9:30 +0800", datetime(2022, 7, 5, 9, 30, tzinfo=SHANGHAI)),
        ("7/15/2022 9:30 PM", datetime(2022, 7, 15, 21, 30, tzinfo=SHANGHAI)),
        ("44747.395833", datetime(2022, 7, 5, 9, 30, tzinfo=SHANGHAI)),  # Excel serial, 6 decimals, as CSV keeps it
    ],
)
def test_parse_datetime(text: str, expected: datetime) -> None:
    parsed = parse_datetime(text, SHANGHAI)
    assert parsed == expected
    assert parsed.tzinfo is not None


# 7/5/2022 alone could be 7 May or 5 July: refused, never guessed (issue 17; a column or [dates] order settles it)
@pytest.mark.parametrize("text", ["last Tuesday", "2022-02-30", "2022/13/01 10:00", "soon", "7/5/2022 9:30 PM"])
def test_parse_datetime_rejects(text: str) -> None:
    with pytest.raises(ValueError) as caught:
        parse_datetime(text, SHANGHAI)
    assert text in str(caught.value)


def test_submitted_at_forms_in_a_manifest(tmp_path: Path) -> None:
    names = [f"p{i}.jpg" for i in range(5)]
    for i, name in enumerate(names):
        make_jpeg(tmp_path / name, size=SMALL, seed=i)
    stamps = ["2022-07-05T09:30:00", "2022/7/5 9:30", "2022年7月5日", "2022-07-05T09:30:00+08:00", "next week"]
    pairs = enumerate(zip(names, stamps, strict=True))
    rows = [{"contestant_id": f"C{i}", "file": n, "submitted_at": s} for i, (n, s) in pairs]
    write_manifest(tmp_path, rows)
    entries = by_id(ingest(tmp_path))
    at_930 = datetime(2022, 7, 5, 9, 30, tzinfo=SHANGHAI)
    assert entries["C0"].submitted_at == at_930
    assert entries["C1"].submitted_at == at_930
    assert entries["C2"].submitted_at == datetime(2022, 7, 5, tzinfo=SHANGHAI)
    assert entries["C3"].submitted_at == at_930
    assert entries["C3"].submitted_at.utcoffset() == timedelta(hours=8)
    assert all(not entries[f"C{i}"].ingest_findings for i in range(4))
    bad = entries["C4"]
    assert bad.submitted_at is None
    (finding,) = bad.ingest_findings
    assert finding.rule == "unreadable-date"
    assert finding.severity == Severity.REVIEW
    assert "entries.csv row 6" in finding.message
    assert "'submitted_at'" in finding.message
    assert "K6" in finding.message  # submitted_at is the 11th column
    assert "next week" in finding.message


# --- file names ----------------------------------------------------------------------------------------------------


def test_file_names_with_spaces_chinese_and_subfolders(tmp_path: Path) -> None:
    make_jpeg(tmp_path / "张伟" / "星空 照片 01.jpg", size=SMALL)
    make_jpeg(tmp_path / "photos" / "b.jpg", size=SMALL, seed=1)
    rows = [{"contestant_id": "C1", "file": "张伟/星空 照片 01.jpg"},
            {"contestant_id": "C2", "file": ".\\photos\\b.jpg"}]  # Windows separators
    write_manifest(tmp_path, rows, encoding="gb18030")
    subs = ingest(tmp_path)
    entries = by_id(subs)
    assert entries["C1"].file == "张伟/星空 照片 01.jpg"
    assert entries["C2"].file == "photos/b.jpg"
    assert subs.files[entries["C1"].file].is_file()
    assert all(e.listed for e in subs.entries)


def test_windows_absolute_path_matched_by_base_name(tmp_path: Path) -> None:
    """Coordinators paste the path from their own disk; the unique base name still finds the photo."""
    make_jpeg(tmp_path / "张伟" / "星空.jpg", size=SMALL)
    path = tmp_path / "entries.csv"
    path.write_bytes("contestant_id,file\rC1,C:\\Users\\张伟\\Desktop\\星空.jpg\r".encode())  # old-Mac CR endings
    (entry,) = ingest(tmp_path).entries
    assert entry.listed
    assert entry.file == "张伟/星空.jpg"


def test_nfd_file_name_matches_nfc_manifest(tmp_path: Path) -> None:
    """macOS writes decomposed names; the spreadsheet holds composed ones."""
    nfd_name = unicodedata.normalize("NFD", "café.jpg")
    nfc_name = unicodedata.normalize("NFC", "café.jpg")
    assert nfd_name != nfc_name
    make_jpeg(tmp_path / nfd_name, size=SMALL)
    write_manifest(tmp_path, [{"contestant_id": "C1", "file": nfc_name}])
    subs = ingest(tmp_path)
    assert len(subs.entries) == 1
    (entry,) = subs.entries
    assert entry.listed
    assert entry.file == nfc_name
    real = subs.files[entry.file]
    assert real.exists()
    assert real.read_bytes()[:3] == b"\xff\xd8\xff"


def test_nfc_file_name_matches_nfd_manifest(tmp_path: Path) -> None:
    make_jpeg(tmp_path / "café.jpg", size=SMALL)
    write_manifest(tmp_path, [{"contestant_id": "C1", "file": unicodedata.normalize("NFD", "café.jpg")}])
    subs = ingest(tmp_path)
    (entry,) = subs.entries
    assert entry.listed and entry.file == "café.jpg"


def test_file_match_ignores_case(tmp_path: Path) -> None:
    make_jpeg(tmp_path / "Photos" / "IMG_0001.JPG", size=SMALL)
    write_manifest(tmp_path, [{"contestant_id": "C1", "file": "photos/img_0001.jpg"}])
    subs = ingest(tmp_path)
    (entry,) = subs.entries
    assert entry.listed
    assert entry.file == "Photos/IMG_0001.JPG"
    assert subs.files[entry.file].exists()


def test_file_matched_by_unique_base_name(tmp_path: Path) -> None:
    make_jpeg(tmp_path / "uploads" / "2022" / "a.jpg", size=SMALL)
    write_manifest(tmp_path, [{"contestant_id": "C1", "file": "a.jpg"}])
    (entry,) = ingest(tmp_path).entries
    assert entry.file == "uploads/2022/a.jpg"


def test_missing_file_keeps_the_path_as_written(tmp_path: Path) -> None:
    make_jpeg(tmp_path / "a.jpg", size=SMALL)
    write_manifest(tmp_path, [{"contestant_id": "C1", "file": "a.jpg"}, {"contestant_id": "C2", "file": "zz.jpg"},
                              {"contestant_id": "C3", "file": ""}])
    subs = ingest(tmp_path)
    entries = by_id(subs)
    assert entries["C2"].file == "zz.jpg"
    assert "zz.jpg" not in subs.files
    assert entries["C3"].file is None
    assert entries["C3"].key == "row:4"


def test_a_named_file_that_is_no_image_is_found_not_missing(tmp_path: Path) -> None:
    """A contestant sent a PDF or a video: the row's file exists, so the photo rules (format) get to name it."""
    (tmp_path / "poster.pdf").write_bytes(b"%PDF-1.4\n% not a photo\n")
    (tmp_path / "clips").mkdir()
    (tmp_path / "clips" / "night.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 100)
    (tmp_path.parent / "outside.jpg").write_bytes(b"\xff\xd8\xff")
    write_manifest(tmp_path, [{"contestant_id": "C1", "file": "poster.pdf"},
                              {"contestant_id": "C2", "file": "clips/night.mp4"},
                              {"contestant_id": "C3", "file": "../outside.jpg"}])
    subs = ingest(tmp_path)
    entries = by_id(subs)
    assert subs.files["poster.pdf"] == tmp_path / "poster.pdf"
    assert subs.files["clips/night.mp4"].read_bytes()[4:8] == b"ftyp"
    assert entries["C3"].file == "../outside.jpg"
    assert "../outside.jpg" not in subs.files  # never reach outside the submissions folder
    assert all(e.listed for e in subs.entries)


def test_unlisted_files_become_entries(tmp_path: Path) -> None:
    make_jpeg(tmp_path / "a.jpg", size=SMALL)
    make_png(tmp_path / "extra" / "stray.png", size=SMALL)
    make_jpeg(tmp_path / ".hidden.jpg", size=SMALL)
    (tmp_path / "notes.txt").write_text("not a photo")
    (tmp_path / "Thumbs.db").write_bytes(b"\x00" * 10)
    write_manifest(tmp_path, [{"contestant_id": "C1", "file": "a.jpg"}])
    subs = ingest(tmp_path)
    unlisted = [e for e in subs.entries if not e.listed]
    assert [(e.file, e.key, e.contestant_id) for e in unlisted] == [("extra/stray.png", "file:extra/stray.png", None)]
    assert set(subs.files) == {"a.jpg", "extra/stray.png"}


def test_two_rows_naming_one_file_are_two_entries(tmp_path: Path) -> None:
    make_jpeg(tmp_path / "a.jpg", size=SMALL)
    write_manifest(tmp_path, [{"contestant_id": "C1", "file": "a.jpg"}, {"contestant_id": "C2", "file": "a.jpg"}])
    subs = ingest(tmp_path)
    assert [e.key for e in subs.entries] == ["file:a.jpg", "file:a.jpg#2"]
    assert [e.file for e in subs.entries] == ["a.jpg", "a.jpg"]


def test_manifest_named_explicitly(tmp_path: Path) -> None:
    make_jpeg(tmp_path / "photos" / "a.jpg", size=SMALL)
    path = write_manifest(tmp_path / "meta", [{"contestant_id": "C1", "file": "a.jpg"}], name="list.csv")
    subs = ingest(tmp_path / "photos", manifest=path)
    assert subs.manifest == path
    (entry,) = subs.entries
    assert entry.listed and entry.file == "a.jpg"
    with pytest.raises(ManifestError, match="no such manifest"):
        ingest(tmp_path / "photos", manifest=tmp_path / "nope.csv")


def test_source_is_never_written(tmp_path: Path) -> None:
    two_photos(tmp_path)
    write_manifest(tmp_path, CHINESE_ROWS, encoding="gb18030")
    before = {p: (p.stat().st_mtime_ns, p.read_bytes()) for p in tmp_path.rglob("*")}
    ingest(tmp_path)
    after = {p: (p.stat().st_mtime_ns, p.read_bytes()) for p in tmp_path.rglob("*")}
    assert before == after


# --- layout B: sidecars --------------------------------------------------------------------------------------------


def test_sidecars(tmp_path: Path) -> None:
    make_jpeg(tmp_path / "zhang" / "photo.jpg", size=SMALL)
    (tmp_path / "zhang" / "photo.json").write_text(
        json.dumps({"Contestant ID": "C1", "姓名": "张伟", "grade": 8, "title": "Milky Way",
                    "submitted_at": "2022/7/5 9:30", "camera": "Canon"}, ensure_ascii=False),
        encoding="utf-8",
    )
    make_jpeg(tmp_path / "liu" / "moon.jpg", size=SMALL, seed=1)
    (tmp_path / "liu" / "moon.jpg.json").write_text(
        json.dumps({"contestant_id": "C2", "name": "刘䶮", "file": "somewhere/else.jpg"}, ensure_ascii=False),
        encoding="utf-8-sig",
    )
    make_jpeg(tmp_path / "orphan.jpg", size=SMALL, seed=2)
    subs = ingest(tmp_path)
    assert subs.layout == "B"
    assert subs.manifest is None
    entries = by_id(subs)
    zhang = entries["C1"]
    assert zhang.file == "zhang/photo.jpg"
    assert zhang.name == "张伟"
    assert zhang.grade == "8"
    assert zhang.title == "Milky Way"
    assert zhang.submitted_at == datetime(2022, 7, 5, 9, 30, tzinfo=SHANGHAI)
    assert zhang.extra == {"camera": "Canon"}
    assert zhang.origin == "zhang/photo.json"
    assert entries["C2"].file == "liu/moon.jpg"  # a sidecar belongs to the photo beside it
    assert entries["C2"].name == "刘䶮"
    unlisted = [e.file for e in subs.entries if not e.listed]
    assert unlisted == ["orphan.jpg"]


def test_sidecar_with_two_keys_for_one_field(tmp_path: Path) -> None:
    make_jpeg(tmp_path / "a.jpg", size=SMALL)
    (tmp_path / "a.json").write_text(json.dumps({"contestant_id": "C1", "Title": "Milky Way", "title": ""}))
    (entry,) = ingest(tmp_path).entries
    assert entry.title == "Milky Way"


@pytest.mark.parametrize("content", [b"{not json", b"[1, 2, 3]", b"", b"\xff\xfe\x00"])
def test_broken_sidecar_is_reported_not_fatal(tmp_path: Path, content: bytes) -> None:
    make_jpeg(tmp_path / "good.jpg", size=SMALL)
    (tmp_path / "good.json").write_text(json.dumps({"contestant_id": "C1"}), encoding="utf-8")
    make_jpeg(tmp_path / "bad.jpg", size=SMALL, seed=1)
    (tmp_path / "bad.json").write_bytes(content)
    subs = ingest(tmp_path)
    entries = {e.file: e for e in subs.entries}
    assert entries["good.jpg"].contestant_id == "C1"
    bad = entries["bad.jpg"]
    assert bad.listed
    assert len(bad.ingest_findings) == 1
    finding = bad.ingest_findings[0]
    assert finding.rule == "sidecar-invalid"
    assert finding.severity == Severity.REJECT
    assert "bad.json" in finding.message


def test_empty_folder(tmp_path: Path) -> None:
    subs = ingest(tmp_path)
    assert subs.entries == []
    assert subs.notes


def test_source_not_a_folder(tmp_path: Path) -> None:
    with pytest.raises(ManifestError, match="not a folder"):
        ingest(tmp_path / "missing")


# --- values --------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "grade"),
    [("8", 8), ("Grade 8", 8), ("G10", 10), ("8th", 8), ("八年级", 8), ("初一", 7), ("初二", 8), ("初三", 9),
     ("高一", 10), ("高三", 12), ("十二年级", 12), ("Year 9", 8), ("", None), ("senior", None)],
)
def test_parse_grade(text: str, grade: int | None) -> None:
    assert parse_grade(text) == grade


@pytest.mark.parametrize(
    ("text", "canonical"),
    [("北京市", "Beijing"), ("北京", "Beijing"), ("广东省", "Guangdong"), ("广西壮族自治区", "Guangxi"),
     ("内蒙古自治区", "Inner Mongolia"), ("香港特别行政区", "Hong Kong"), ("河南省", "Henan"),
     ("Guangdong Province", "Guangdong"), ("inner mongolia", "Inner Mongolia"), ("Macau", "Macao"),
     ("  shanghai  ", "Shanghai"), ("", None)],
)
def test_canonical_province(text: str, canonical: str | None) -> None:
    assert canonical_province(text) == canonical


def test_apostrophes_at_cell_starts_are_text_not_a_quote_character(tmp_path: Path) -> None:
    """A cell kept as text with a leading apostrophe ('=1+2, as the tool's own CSVs write formula-like text) or a
    title like 'Twas must not make the delimiter sniffer take ' for the quote character and merge cells."""
    from milsetctl.ingest.tables import read_csv

    path = tmp_path / "entries.csv"
    path.write_text("file,name,title\n'a.jpg,Li,x\nb.jpg,'=1+2,'Twas night, he said\nc.jpg,Bo,'hello'\n",
                    encoding="utf-8")
    table = read_csv(path)
    assert [cells for _, cells in table.rows] == [
        ["'a.jpg", "Li", "x"], ["b.jpg", "'=1+2", "'Twas night", " he said"], ["c.jpg", "Bo", "'hello'"]]
