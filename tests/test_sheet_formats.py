"""Every sheet a juror (or a secretariat) really sends back: the formats, encodings, copies, tabs and cells that
spreadsheet programs produce (issue 15 part 1). Each fixture is written here the way the named program writes it;
each test checks what was read (scores, names) or what the chair is told (sheet, row, cell, words)."""

from __future__ import annotations

import csv
import io
import re
import warnings
import zipfile
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from openpyxl import Workbook
from test_scoring_read import CRITERIA, GOOD, IDS, errors, read, table, write_csv, write_xlsx
from typer.testing import CliRunner

from milsetctl.ingest.sheetfile import Uncalculated, identify, read_workbook, sniff_delimiter
from milsetctl.ingest.tables import read_table
from milsetctl.jury.jurors import read_jurors
from milsetctl.scoring.read import file_juror_name, sheet_paths

HEAD = ["anon_id", *CRITERIA, "comment"]


def rows_of(juror_rows: Sequence[Sequence[Any]] = GOOD) -> list[list[Any]]:
    return [list(HEAD)] + [list(r) + [None] * (6 - len(r)) for r in juror_rows]


def reference(tmp_path: Path, juror: str = "Ann") -> dict[tuple[str, str, str], float]:
    """What the plain UTF-8 CSV of the same scores reads as (the yardstick for every other format)."""
    return table(read([write_csv(tmp_path / "ref" / f"{juror}.csv", HEAD, GOOD)]))


def notes_of(result: Any, sheet: str) -> list[str]:
    return [p.problem for p in result.notes if p.sheet == sheet]


# --- formats by content ------------------------------------------------------------------------------------------
def test_xls_as_wps_and_excel_97_save_it_is_read(tmp_path: Path) -> None:
    xlwt = pytest.importorskip("xlwt")
    book = xlwt.Workbook(encoding="utf-8")
    sheet = book.add_sheet("Scores")
    for i, r in enumerate(rows_of()):
        for j, v in enumerate(r):
            if v not in (None, ""):
                sheet.write(i, j, v)
    path = tmp_path / "Ann.xls"
    book.save(str(path))
    assert identify(path) == "xls"
    result = read([path])
    assert errors(result) == [] and table(result) == reference(tmp_path)


def test_ods_as_libreoffice_saves_it_is_read(tmp_path: Path) -> None:
    path = tmp_path / "Ann.ods"
    frame = pd.DataFrame(rows_of()[1:], columns=HEAD)
    with pd.ExcelWriter(path, engine="odf") as writer:
        pd.DataFrame([["Score each photo 1-10"]]).to_excel(writer, sheet_name="说明", header=False, index=False)
        frame.to_excel(writer, sheet_name="评分表", index=False)
    assert identify(path) == "ods"
    result = read([path])
    assert errors(result) == [] and table(result) == reference(tmp_path)


def test_excel_unicode_text_txt_is_read(tmp_path: Path) -> None:
    """Excel's 'Unicode Text (*.txt)': UTF-16 LE with a BOM, tab-separated, CRLF."""
    text = "\r\n".join("\t".join("" if v is None else str(v) for v in r) for r in rows_of()) + "\r\n"
    path = tmp_path / "Ann.txt"
    path.write_bytes(b"\xff\xfe" + text.encode("utf-16-le"))
    result = read(sheet_paths([tmp_path]))
    assert errors(result) == [] and table(result) == reference(tmp_path)


@pytest.mark.parametrize("name", ["Ann.xlsx", "Ann.xls"])
def test_delimited_text_under_a_workbook_name_is_read_as_text(tmp_path: Path, name: str) -> None:
    path = write_csv(tmp_path / name, HEAD, GOOD)
    assert identify(path) == "text"
    result = read([path])
    assert errors(result) == [] and table(result) == reference(tmp_path)


def test_html_table_saved_as_xls_is_read(tmp_path: Path) -> None:
    cells = "".join("<tr>" + "".join(f"<td>{'' if v is None else v}</td>" for v in r) + "</tr>" for r in rows_of())
    path = tmp_path / "Ann.xls"
    path.write_text(f"<html><head><meta charset='utf-8'></head><body><table>{cells}</table></body></html>",
                    encoding="utf-8")
    assert identify(path) == "html"
    result = read([path])
    assert errors(result) == [] and table(result) == reference(tmp_path)


_TO_STRICT = ((b"http://schemas.openxmlformats.org/spreadsheetml/2006/main",
               b"http://purl.oclc.org/ooxml/spreadsheetml/main"),
              (b"http://schemas.openxmlformats.org/officeDocument/2006/relationships",
               b"http://purl.oclc.org/ooxml/officeDocument/relationships"))


def test_strict_open_xml_is_read(tmp_path: Path) -> None:
    """Excel's 'Strict Open XML Spreadsheet': the same parts under ISO/IEC 29500 Strict namespaces (openpyxl alone
    reads no cell of it)."""
    plain = write_xlsx(tmp_path / "plain.xlsx", "Ann", GOOD)
    path = tmp_path / "Ann.xlsx"
    with zipfile.ZipFile(plain) as src, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info)
            for a, b in _TO_STRICT:
                data = data.replace(a, b)
            dst.writestr(info, data)
    assert identify(path) == "xlsx-strict"
    result = read([path])
    assert errors(result) == []
    assert table(result) == table(read([plain]))


def test_password_protected_workbook_is_named_as_such(tmp_path: Path) -> None:
    from msoffcrypto.format.ooxml import OOXMLFile

    plain = write_xlsx(tmp_path / "plain.xlsx", "Ann", GOOD)
    path = tmp_path / "J02 Bo.xlsx"
    with plain.open("rb") as f, path.open("wb") as out:
        OOXMLFile(f).encrypt("secret", out)
    result = read([path, write_xlsx(tmp_path / "J01 Cy.xlsx", "Cy", GOOD)])
    [problem] = errors(result)
    assert problem.sheet == "J02 Bo.xlsx" and "password-protected" in problem.problem
    assert "without a password" in problem.problem and result.jurors == ["Cy"]


def test_numbers_file_is_named_with_what_to_do(tmp_path: Path) -> None:
    path = tmp_path / "J03 Di.numbers"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("Index/Document.iwa", b"\x00\x01snappy")
        z.writestr("Metadata/Properties.plist", b"<plist/>")
    [problem] = errors(read([path]))
    assert problem.sheet == "J03 Di.numbers" and "Apple Numbers" in problem.problem
    assert "Export To > Excel" in problem.problem


def test_no_file_in_the_folder_is_passed_over_without_a_word(tmp_path: Path) -> None:
    folder = tmp_path / "returned"
    write_csv(folder / "J01 Ann.csv", HEAD, GOOD)
    (folder / "scan of my sheet.pdf").write_bytes(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n")
    (folder / "photo.jpg").write_bytes(b"\xff\xd8\xff\xe0\x00\x10JFIF")
    (folder / "J05 Eve.csv").write_bytes(b"")
    result = read(sheet_paths([folder]))
    said = {p.sheet: (p.severity, p.problem) for p in result.problems}
    assert said["scan of my sheet.pdf"][0] == "note" and "a PDF document" in said["scan of my sheet.pdf"][1]
    assert said["photo.jpg"][0] == "note" and "an image" in said["photo.jpg"][1]
    assert said["J05 Eve.csv"][0] == "error" and "empty" in said["J05 Eve.csv"][1]
    assert result.jurors == ["J01 Ann"]


# --- CSV as each program writes it --------------------------------------------------------------------------------
def test_european_excel_semicolons_with_apostrophes_in_comments(tmp_path: Path) -> None:
    """csv.Sniffer takes the apostrophes for quotes and ',' for the delimiter (cpython#119123)."""
    notes = ["uses 'leading lines', 'rule of thirds', 'golden hour'", "nice 'Moon', 'Venus'", "", "'blue hour' ok"]
    lines = [";".join(HEAD)] + [";".join(str(v) for v in r[:5]) + ";" + notes[i] for i, r in enumerate(GOOD)]
    path = tmp_path / "Ann.csv"
    path.write_bytes(b"\xef\xbb\xbf" + "\r\n".join(lines).encode("utf-8") + b"\r\n")
    assert sniff_delimiter(path.read_text(encoding="utf-8-sig")) == ";"
    result = read([path])
    assert errors(result) == [] and table(result) == reference(tmp_path)
    assert result.pairs.set_index("anon_id").loc["K7QX2M", "comment"] == notes[0]


def test_decimal_comma_scores_in_a_semicolon_file(tmp_path: Path) -> None:
    lines = [";".join(HEAD), "K7QX2M;7,0;8;6;9;gut", "P3HT9B;5;5;4;6,5;"]
    path = tmp_path / "Ann.csv"
    path.write_text("\r\n".join(lines), encoding="utf-8")
    result = read([path])
    assert table(result)[("Ann", "K7QX2M", "originality")] == 7.0
    [problem] = errors(result)
    assert problem.cell == "row 3, column impact" and "not a whole number: '6,5'" in problem.problem


def test_excel_for_mac_cr_lines_and_mac_roman(tmp_path: Path) -> None:
    comments = ["très réussi", "Schärfe gut", "", "ciel étoilé"]
    rows = [HEAD] + [[*r[:5], comments[i]] for i, r in enumerate(GOOD)]
    text = "\r".join(",".join(str(v) for v in r) for r in rows) + "\r"
    path = tmp_path / "Ann.csv"
    path.write_bytes(text.encode("mac_roman"))
    result = read([path])
    assert errors(result) == [] and table(result) == reference(tmp_path)
    by_id = result.pairs.set_index("anon_id")["comment"]
    assert by_id["K7QX2M"] == "très réussi" and by_id["P3HT9B"] == "Schärfe gut"  # not mojibake


def test_utf16_tab_separated_without_bom(tmp_path: Path) -> None:
    text = "\n".join("\t".join("" if v is None else str(v) for v in r) for r in rows_of())
    path = tmp_path / "Ann.tsv"
    path.write_bytes(text.encode("utf-16-le"))
    result = read([path])
    assert errors(result) == [] and table(result) == reference(tmp_path)


def test_manifest_with_semicolons_a_title_row_and_blank_lines_above_its_header(tmp_path: Path) -> None:
    """One sniffer for the project: the manifest reader finds ';' under a title row (was read as one column)."""
    path = tmp_path / "entries.csv"
    path.write_text("Concours photo 2022 – liste des participants\r\n\r\n\r\n"
                    "contestant_id;name;school;grade;file;title\r\nC001;Zoë;Lycée;8;a.jpg;Ciel, étoiles\r\n"
                    "C002;Jürgen;Gymnasium;9;b.jpg;Mond\r\n", encoding="utf-8")
    table_read = read_table(path)
    from milsetctl.ingest.tables import locate_header

    located = locate_header(table_read, lambda h: "contestant_id" in h and "file" in h)
    assert located is not None and located.header_row == 4
    assert [r[1][:2] for r in located.rows] == [["C001", "Zoë"], ["C002", "Jürgen"]]
    assert located.rows[0][1][5] == "Ciel, étoiles"


# --- the same juror twice ------------------------------------------------------------------------------------------
def test_byte_identical_download_twice_is_one_sheet_with_a_note(tmp_path: Path) -> None:
    a = write_csv(tmp_path / "J02 Wang Fang.csv", HEAD, GOOD)
    b = tmp_path / "J02 Wang Fang (1).csv"
    b.write_bytes(a.read_bytes())
    result = read(sheet_paths([tmp_path]))
    assert errors(result) == [] and result.jurors == ["J02 Wang Fang"]
    assert notes_of(result, b.name) == ["the same file as J02 Wang Fang.csv (byte for byte: saved or copied "
                                        "twice); read once, as that sheet"]
    assert table(result) == reference(tmp_path, "J02 Wang Fang")


@pytest.mark.parametrize("copy", ["J02 Wang Fang (1).csv", "Copy of J02 Wang Fang.csv", "J02 Wang Fang - 副本.csv",
                                  "J02 WANG  FANG.csv", "Ｊ02 Wang Fang.csv", "Copy of J02.csv"])
def test_differing_copies_are_a_juror_twice_naming_both_files(tmp_path: Path, copy: str) -> None:
    write_csv(tmp_path / "J02 Wang Fang.csv", HEAD, GOOD)
    changed = [list(r) for r in GOOD]
    changed[0][1] = 3
    write_csv(tmp_path / copy, HEAD, changed)
    write_csv(tmp_path / "J01 Li Wei.csv", HEAD, GOOD)
    result = read(sheet_paths([tmp_path]))
    twice = [p for p in errors(result) if "a juror twice" in p.problem]
    assert {p.sheet for p in twice} == {"J02 Wang Fang.csv", copy}
    assert all(("J02 Wang Fang.csv" if p.sheet == copy else copy) in p.problem for p in twice)
    assert result.jurors == ["J01 Li Wei"]  # neither copy's scores are used


@pytest.mark.parametrize(("stem", "juror"), [("J02 Wang Fang (1)", "J02 Wang Fang"), ("Copy of J03", "J03"),
                                             ("J03 - Copy (2)", "J03"), ("J03 copy 2", "J03"),
                                             ("J03 张敏 - 副本", "J03 张敏"), ("J03 张敏的副本", "J03 张敏"),
                                             ("Li Ming", "Li Ming"), ("Photo (2022)", "Photo")])
def test_file_names_lose_their_copy_marks(stem: str, juror: str) -> None:
    assert file_juror_name(stem) == juror


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A workspace with eight entries and their anonymous IDs, built once (photos are slow to make)."""
    from jury_fixtures import jury_workspace

    base = tmp_path_factory.mktemp("formats")
    with jury_workspace(base) as ws:
        for k, anon in enumerate(ROUND_IDS):
            ws.ledger.add_anon_id(anon, f"E{k + 1:04d}")
        ws.ledger.round_id()
    return base / "ws"


ROUND_IDS = ["MA2222", "HB3333", "MC4444", "HD5555", "ME6666", "HF7777", "MG8888", "HH9999"]


@pytest.fixture
def ws_root(template: Path, tmp_path: Path) -> Path:
    import shutil

    shutil.copytree(template, tmp_path / "ws")
    return tmp_path / "ws"


def test_a_juror_resending_under_another_spelling_replaces_the_stored_scores(ws_root: Path, tmp_path: Path) -> None:
    """Across runs: 'LI  MING' after 'Li Ming' is the same juror; the ledger keeps one set of scores."""
    from milsetctl.cli import app
    from milsetctl.workspace import open_workspace

    runner = CliRunner()
    first = tmp_path / "first"
    _wide_csv(first / "Li Ming.csv", ROUND_IDS, 7)
    _wide_csv(first / "Wang Fang.csv", ROUND_IDS, 6)
    r1 = runner.invoke(app, ["score", str(first), "-w", str(ws_root), "--json"])
    assert r1.exit_code == 0, r1.output
    second = tmp_path / "second"
    _wide_csv(second / "LI  MING.csv", ROUND_IDS, 9)
    r2 = runner.invoke(app, ["score", str(second), "-w", str(ws_root), "--json"])
    assert r2.exit_code == 0, r2.output
    with open_workspace(ws_root) as ws:
        rows = ws.ledger.score_rows()
    assert {r[0] for r in rows} == {"LI MING", "Wang Fang"}  # one Li Ming, under the spelling sent last
    assert len(rows) == 16 and all('"originality": 9' in r[2] for r in rows if r[0] == "LI MING")
    doc = __import__("json").loads(r2.stdout)
    assert sorted(j["juror"] for j in doc["jurors"]) == ["LI MING", "Wang Fang"]


def _wide_csv(path: Path, anon: Sequence[str], score: int) -> Path:
    return write_csv(path, HEAD, [[a, score, score, score, score, ""] for a in anon])


# --- which tab, which header -------------------------------------------------------------------------------------
def test_the_tab_whose_header_names_anon_id_and_the_criteria_wherever_it_is(tmp_path: Path) -> None:
    book = Workbook()
    book.active.title = "说明"
    book.active["A1"] = "请在“评分表”中为每件作品打分（1-10分的整数）。"
    book.create_sheet("Chart data").append(["anon_id", "note"])  # names anon_id but no criterion
    sheet = book.create_sheet("评分表")
    for r in rows_of():
        sheet.append(r)
    path = tmp_path / "J03 张敏.xlsx"
    book.save(path)
    result = read([path])
    assert errors(result) == [] and table(result) == reference(tmp_path, "J03 张敏")
    assert any("'评分表'" in n for n in notes_of(result, path.name))


def test_a_bilingual_two_row_header_is_one_header(tmp_path: Path) -> None:
    rows = [["匿名编号", "原创性", "信息性", "技术", "影响力", "评语"], *rows_of()]
    path = write_csv(tmp_path / "Ann.csv", rows[0], rows[1:])
    result = read([path])
    assert errors(result) == [] and table(result) == reference(tmp_path)
    assert notes_of(result, "Ann.csv") == ["rows 1 and 2 are read as one two-row header"]


def test_a_group_row_over_the_criteria_is_part_of_the_header(tmp_path: Path) -> None:
    rows = [["anon_id", "Scores (1-10)", None, None, None, "comment"], [None, *CRITERIA, None],
            *[list(r) for r in GOOD]]
    book = Workbook()
    for r in rows:
        book.active.append(r)
    book.active.merge_cells("B1:E1")
    path = tmp_path / "Ann.xlsx"
    book.save(path)
    result = read([path])
    assert errors(result) == [] and table(result) == reference(tmp_path)


def test_title_rows_above_the_header_in_a_score_sheet(tmp_path: Path) -> None:
    book = Workbook()
    book.active.append(["2022 MILSET 全国青少年科技摄影大赛 评分表"])
    book.active.append([])
    book.active.append(["评委: Ann"])
    for r in rows_of():
        book.active.append(r)
    path = tmp_path / "Ann.xlsx"
    book.save(path)
    result = read([path])
    assert errors(result) == [] and table(result) == reference(tmp_path)
    assert set(result.pairs["row"]) == {5, 6, 7, 8}


def test_title_rows_above_the_header_in_the_juror_file(tmp_path: Path) -> None:
    book = Workbook()
    book.active.title = "评委名单"
    book.active.append(["2022年MILSET全国青少年科技摄影大赛 评委名单"])
    book.active.merge_cells("A1:E1")
    book.active.append([])
    book.active.append(["姓名", "单位", "国家", "邮箱", "学校"])
    book.active.append(["Li Wei", "Beijing Normal University", "China", "li.wei@example.cn", ""])
    book.active.append(["Zoë Lefèvre", "Réseau Jeunesse Sciences", "France", "zoe@example.fr", ""])
    path = tmp_path / "jurors.xlsx"
    book.save(path)
    jurors = read_jurors(path)
    assert [(j.name, j.row) for j in jurors] == [("Li Wei", 4), ("Zoë Lefèvre", 5)]


def test_juror_names_in_a_mac_roman_juror_file(tmp_path: Path) -> None:
    path = tmp_path / "jurors.csv"
    text = "name,affiliation,country,email\rZoë Lefèvre,Réseau Jeunesse Sciences,France,zoe@example.fr\r" \
           "Jürgen Groß,Jugend forscht,Germany,jg@example.de\r"
    path.write_bytes(text.encode("mac_roman"))
    assert [j.name for j in read_jurors(path)] == ["Zoë Lefèvre", "Jürgen Groß"]


# --- cells ---------------------------------------------------------------------------------------------------------
def _raw_sheet_xlsx(path: Path, sheet_xml: str, styles: bool = True) -> Path:
    """A one-sheet workbook written part by part, as scripts and web tools write them."""
    ns = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
    rel = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    pkg = "http://schemas.openxmlformats.org/package/2006/relationships"
    ct = "application/vnd.openxmlformats-officedocument.spreadsheetml"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/'
                   'package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats'
                   '-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>'
                   f'<Override PartName="/xl/workbook.xml" ContentType="{ct}.sheet.main+xml"/>'
                   f'<Override PartName="/xl/worksheets/sheet1.xml" ContentType="{ct}.worksheet+xml"/>'
                   + (f'<Override PartName="/xl/styles.xml" ContentType="{ct}.styles+xml"/>' if styles else "")
                   + "</Types>")
        z.writestr("_rels/.rels", f'<?xml version="1.0"?><Relationships xmlns="{pkg}"><Relationship Id="rId1" '
                   f'Type="{rel}/officeDocument" Target="xl/workbook.xml"/></Relationships>')
        z.writestr("xl/workbook.xml", f'<?xml version="1.0"?><workbook xmlns="{ns}" xmlns:r="{rel}"><sheets>'
                   '<sheet name="Scores" sheetId="1" r:id="rId1"/></sheets></workbook>')
        z.writestr("xl/_rels/workbook.xml.rels", f'<?xml version="1.0"?><Relationships xmlns="{pkg}">'
                   f'<Relationship Id="rId1" Type="{rel}/worksheet" Target="worksheets/sheet1.xml"/>'
                   + (f'<Relationship Id="rId2" Type="{rel}/styles" Target="styles.xml"/>' if styles else "")
                   + "</Relationships>")
        if styles:
            z.writestr("xl/styles.xml", f'<?xml version="1.0"?><styleSheet xmlns="{ns}"><cellXfs count="2">'
                       '<xf numFmtId="0"/><xf numFmtId="14" applyNumberFormat="1"/></cellXfs></styleSheet>')
        z.writestr("xl/worksheets/sheet1.xml", f'<?xml version="1.0"?><worksheet xmlns="{ns}"><sheetData>{sheet_xml}'
                   "</sheetData></worksheet>")
    return path


def _row(number: int, cells: Sequence[str], hidden: bool = False) -> str:
    out = []
    for k, c in enumerate(cells):
        ref = f"{'ABCDEF'[k]}{number}"
        if c.startswith("="):
            out.append(f'<c r="{ref}"><f>{c[1:]}</f></c>')
        elif c.startswith("#date:"):
            out.append(f'<c r="{ref}" s="1"><v>{c[6:]}</v></c>')
        elif c.startswith("#num:"):
            out.append(f'<c r="{ref}"><v>{c[5:]}</v></c>')
        elif c:
            out.append(f'<c r="{ref}" t="inlineStr"><is><t>{c}</t></is></c>')
    hide = ' hidden="1"' if hidden else ""
    return f'<row r="{number}"{hide}>{"".join(out)}</row>'


def test_cells_formulas_dates_float_noise_and_hidden_rows(tmp_path: Path) -> None:
    xml = (_row(1, HEAD)
           + _row(2, ["K7QX2M", "=7", "=ROUND(7.4,0)", "=Notes!B2", "#num:9"])
           + _row(3, ["P3HT9B", "#num:3.0000000000000004", "#num:5", "#num:4", "#num:6"])
           + _row(4, ["W4ZC8N", "#date:44814", "#num:9", "#num:9", "#num:10"], hidden=True)
           + _row(5, ["A2BD6F", "#num:1", "#num:2", "#num:3", "#num:2"], hidden=True)
           + "".join(f'<row r="{n}" s="2" customFormat="1"/>' for n in range(6, 2001)))
    path = _raw_sheet_xlsx(tmp_path / "Ann.xlsx", xml)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = read([path])
    said = {p.cell: p.problem for p in errors(result)}
    assert set(said) == {"B2", "C2", "D2", "B4"}
    assert said["C2"].startswith("K7QX2M information: a formula with no stored value (=ROUND(7.4,0))")
    assert "open the sheet in a spreadsheet program and save it" in said["C2"]
    assert "blank" not in said["B2"] and "=7" in said["B2"]
    assert said["B4"].startswith("W4ZC8N originality: a date (2022-09-10), not a score")
    assert table(result)[("Ann", "P3HT9B", "originality")] == 3.0  # =0.3*10, as Excel shows it
    assert notes_of(result, "Ann.xlsx") == ["2 row(s) hidden in the sheet (4, 5) were read and counted like the "
                                            "others"]
    assert table(result)[("Ann", "A2BD6F", "technique")] == 3.0


def test_formatted_empty_rows_to_the_last_row_are_not_iterated(tmp_path: Path) -> None:
    from openpyxl import load_workbook

    from milsetctl.ingest import sheetfile

    xml = _row(1, HEAD) + _row(2, ["K7QX2M", "#num:7", "#num:8", "#num:6", "#num:9"]) + "".join(
        f'<row r="{n}" s="2" customFormat="1"/>' for n in range(3, 1_048_577))
    path = _raw_sheet_xlsx(tmp_path / "Ann.xlsx", xml)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        book = load_workbook(path, read_only=True)
    facts = sheetfile._scan_sheet_xml(book, book.worksheets[0])
    book.close()
    assert facts.last_row == 2  # openpyxl is asked for two rows, not 1,048,576
    [sheet] = read_workbook(path)
    assert [n for n, _ in sheet.rows] == [1, 2]
    result = read([path], known=["K7QX2M"])
    assert errors(result) == [] and len(table(result)) == 4


def test_a_workbook_without_styles_warns_nothing(tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    """openpyxl's 'Workbook contains no default style, apply openpyxl's default' never reaches the chair."""
    xml = _row(1, HEAD) + "".join(_row(i + 2, [r[0], *(f"#num:{v}" for v in r[1:5])]) for i, r in enumerate(GOOD))
    path = _raw_sheet_xlsx(tmp_path / "Ann.xlsx", xml, styles=False)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = read([path])
    assert [str(w.message) for w in caught] == []
    assert errors(result) == [] and table(result) == reference(tmp_path)


def test_uncalculated_is_a_value_pandas_can_hash() -> None:
    assert len({Uncalculated("=1"), Uncalculated("=1")}) == 1
    assert str(Uncalculated("=A1")) == "=A1"


def test_every_kind_reads_the_same_ranking_through_the_cli(ws_root: Path, tmp_path: Path) -> None:
    """The whole round through `score` as a chair runs it: jurors' sheets in four formats and a copy, one folder."""
    from milsetctl.cli import app

    ws_path, anon = ws_root, ROUND_IDS
    folder = tmp_path / "returned"
    _wide_csv(folder / "J01 Ann.csv", anon, 7)
    lines = [";".join(HEAD)] + [f"{a};8;8;8;8;'ok', 'fine'" for a in anon]
    (folder / "J02 Bo.csv").write_bytes(b"\xef\xbb\xbf" + "\r\n".join(lines).encode())
    frame = pd.DataFrame([[a, 6, 6, 6, 6, ""] for a in anon], columns=HEAD)
    with pd.ExcelWriter(folder / "J03 Cy.ods", engine="odf") as writer:
        frame.to_excel(writer, sheet_name="Scores", index=False)
    text = "\r".join(",".join(map(str, [a, 5, 5, 5, 5, "très"])) for a in anon)
    (folder / "J04 Di.csv").write_bytes((",".join(HEAD) + "\r" + text + "\r").encode("mac_roman"))
    (folder / "J04 Di (1).csv").write_bytes((folder / "J04 Di.csv").read_bytes())
    result = CliRunner().invoke(app, ["score", str(folder), "-w", str(ws_path), "--json"])
    doc = __import__("json").loads(result.stdout[result.stdout.index("{"):])
    assert doc["problems"] == [], doc["problems"]
    assert sorted(j["juror"] for j in doc["jurors"]) == ["J01 Ann", "J02 Bo", "J03 Cy", "J04 Di"]
    assert [e["score"] for e in doc["entries"]] == [pytest.approx((7 + 8 + 6 + 5) / 4 * 10)] * len(anon)
    assert any(n["sheet"] == "J04 Di (1).csv" for n in doc["notes"])
    assert not re.search(r"(?i)warning|traceback", result.output.replace(result.stdout, ""))


def test_sniffer_cases() -> None:
    assert sniff_delimiter("a,b,c\n1,'x;y',3\n4,5,6\n") == ","
    assert sniff_delimiter("Title of the list\n\n\nid;name;grade\n1;Zoë;8\n2;Li;9\n") == ";"
    assert sniff_delimiter("id\tname\n1\tA, B\n") == "\t"
    assert sniff_delimiter("") == ","
    buf = io.StringIO()
    csv.writer(buf, delimiter="|").writerows([["a", "b"], ["1", "2,5"]])
    assert sniff_delimiter(buf.getvalue()) == "|"


def test_dates_shown_as_the_program_shows_them() -> None:
    from milsetctl.scoring.read import _parse_score

    assert "a date (2022-09-10)" in str(_parse_score(datetime(2022, 9, 10), True, 1, 10)[1])
    assert _parse_score(3.0000000000000004, True, 1, 10) == (3.0, None)
    assert IDS  # the fixtures' IDs are what `read` checks against


def test_every_problem_has_a_registered_code(tmp_path: Path) -> None:
    """Whatever is wrong, the chair gets a stable code with it (`milsetctl rules CODE`)."""
    from milsetctl.problem_codes import CODES

    bad = [list(r) for r in GOOD]
    bad[0][1], bad[1][2], bad[2][3], bad[3][4] = "", "x", 11, 7.5
    write_csv(tmp_path / "J01 Ann.csv", HEAD, bad + [["ZZZZZZ", 1, 1, 1, 1, ""], [None, 5, 5, 5, 5, ""]])
    write_csv(tmp_path / "J02 Bo.csv", HEAD, GOOD)
    write_csv(tmp_path / "J02 Bo (1).csv", HEAD, GOOD[:2])
    (tmp_path / "J03 Cy.xlsx").write_bytes(b"PK\x03\x04broken")
    (tmp_path / "notes.txt").write_text("remember", encoding="utf-8")
    write_csv(tmp_path / "J04 Di.csv", ["anon_id", "originality", "comment"], [["K7QX2M", 7, ""]])
    result = read(sheet_paths([tmp_path]))
    codes = {p.code for p in result.problems}
    assert all(p.code in CODES for p in result.problems), [p for p in result.problems if p.code not in CODES]
    assert {"score-blank", "score-not-number", "score-out-of-range", "score-not-whole", "anon-id-unknown",
            "anon-id-missing", "juror-twice", "sheet-unreadable", "not-a-sheet",
            "criterion-column-missing"} <= codes


def test_forget_drops_a_juror_stored_under_a_wrong_name(ws_root: Path, tmp_path: Path) -> None:
    """A sheet stored once under a wrong name (no juror file yet) stays counted until the chair drops it."""
    from milsetctl.cli import app
    from milsetctl.workspace import open_workspace

    runner = CliRunner()
    first = tmp_path / "first"
    _wide_csv(first / "Li Ming.csv", ROUND_IDS, 7)
    _wide_csv(first / "Dubois scores.csv", ROUND_IDS, 5)
    assert runner.invoke(app, ["score", str(first), "-w", str(ws_root)]).exit_code == 0
    second = tmp_path / "second"
    _wide_csv(second / "Jean-Pierre Dubois.csv", ROUND_IDS, 5)
    unknown = runner.invoke(app, ["score", str(second), "-w", str(ws_root), "--forget", "Nobody"])
    assert unknown.exit_code == 2 and "no scores of that juror are stored" in unknown.output
    done = runner.invoke(app, ["score", str(second), "-w", str(ws_root), "--forget", "DUBOIS SCORES", "--json"])
    assert done.exit_code == 0, done.output
    with open_workspace(ws_root) as ws:
        assert {r[0] for r in ws.ledger.score_rows()} == {"Li Ming", "Jean-Pierre Dubois"}
