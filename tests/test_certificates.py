"""Certificates (issue 8): PDFs read back with pypdf, codes checked by `verify`, names in every script."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
from jury_fixtures import PEOPLE, jury_workspace
from PIL import Image
from pypdf import PdfReader
from typer.testing import CliRunner

from milsetctl.certificates import (
    Certificate,
    CertificateError,
    _render_pdf,
    format_code,
    issue_certificates,
    normalise_code,
    render_html,
    safe_file_name,
)
from milsetctl.cli import app

runner = CliRunner()


def pdf_text(path: Path) -> str:
    return "\n".join(page.extract_text() or "" for page in PdfReader(str(path)).pages)


def pdf_fonts(path: Path) -> set[str]:
    """Names of the fonts whose program is embedded in the PDF (FontFile/FontFile2/FontFile3)."""
    names = set()
    for page in PdfReader(str(path)).pages:
        fonts = page["/Resources"].get_object().get("/Font", {})
        for ref in fonts.values():
            font = ref.get_object()
            for f in [font, *(d.get_object() for d in font.get("/DescendantFonts", []))]:
                desc = f.get("/FontDescriptor")
                if desc is not None and any(k in desc.get_object() for k in ("/FontFile", "/FontFile2", "/FontFile3")):
                    names.add(str(font["/BaseFont"]))
    return names


@pytest.fixture(scope="module")
def printed(tmp_path_factory: pytest.TempPathFactory):
    tmp = tmp_path_factory.mktemp("certs")
    ws = jury_workspace(tmp)
    batch = issue_certificates(ws, "participation")
    yield ws, batch
    ws.close()


def test_participation_one_pdf_per_entrant_with_name_and_code(printed) -> None:
    ws, batch = printed
    assert not batch.refused
    assert [i.entry_id for i in batch.issued] == [f"E{n:04d}" for n in range(1, 9)]
    for issued, person in zip(batch.issued, PEOPLE, strict=True):
        assert issued.file.parent == ws.root / "certificates" / "participation"
        assert len(PdfReader(str(issued.file)).pages) == 1
        text = pdf_text(issued.file)
        assert person.name in text, text  # 刘䶮 included: a rare CJK character, extracted back
        assert person.school in text
        assert format_code(issued.code) in text
        assert "Certificate of Participation" in text
    assert len(PdfReader(str(batch.combined)).pages) == 8
    liu = batch.issued[2]
    assert "䶮" in pdf_text(liu.file)
    assert any("CJK" in f for f in pdf_fonts(liu.file)), pdf_fonts(liu.file)
    assert len({i.code for i in batch.issued}) == 8
    # the photo's thumbnail: shrunk once, cached by content hash, drawn on the certificate
    thumbs = list((ws.root / "cache" / "certificate-thumbs").glob("*.jpg"))
    assert len(thumbs) == 8
    assert max(Image.open(thumbs[0]).size) == 640
    assert len(PdfReader(str(liu.file)).pages[0].images) == 1
    assert liu.file.stat().st_size < 300_000


def test_json_and_verify_through_the_cli(printed) -> None:
    ws, batch = printed
    res = runner.invoke(app, ["certificates", "participation", "-w", str(ws.root), "--only", "E0003", "--json"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert data["certificates"][0]["recipient"] == "刘䶮"
    assert data["certificates"][0]["entry_id"] == "E0003"
    assert Path(data["combined"]).is_file()
    code = data["certificates"][0]["code"]
    assert code == format_code(batch.issued[2].code)  # a reprint keeps its code

    for typed in (code, code.replace("-", "").lower(), " ".join(code.split("-"))):
        res = runner.invoke(app, ["verify", typed, "-w", str(ws.root), "--json"])
        assert res.exit_code == 0, res.output
        got = json.loads(res.stdout)
        assert got["valid"] is True and got["kind"] == "participation"
        assert got["recipient"] == "刘䶮" and got["entry_id"] == "E0003" and got["issued_at"]

    altered = code[:-1] + ("A" if code[-1] != "A" else "B")
    res = runner.invoke(app, ["verify", altered, "-w", str(ws.root), "--json"])
    assert res.exit_code == 1
    assert json.loads(res.stdout) == {"valid": False}
    res = runner.invoke(app, ["verify", "not a code", "-w", str(ws.root), "--json"])
    assert res.exit_code == 1 and json.loads(res.stdout) == {"valid": False}


def test_rerun_does_not_redo_printed_certificates(printed) -> None:
    ws, batch = printed
    before = {i.file: i.file.stat().st_mtime_ns for i in batch.issued}
    again = issue_certificates(ws, "participation")
    assert all(i.skipped for i in again.issued)
    assert {i.file: i.file.stat().st_mtime_ns for i in again.issued} == before
    # an interrupted run: one file missing is printed again, with the same code
    batch.issued[4].file.unlink()
    third = issue_certificates(ws, "participation")
    assert [i.skipped for i in third.issued] == [True] * 4 + [False] + [True] * 3
    assert third.issued[4].code == batch.issued[4].code and third.issued[4].file.is_file()


def test_name_with_a_character_no_font_has_is_refused_rest_printed(tmp_path: Path) -> None:
    bad = replace(PEOPLE[0], contestant_id="CN2022-900", name="Li \U0010fffd")
    with jury_workspace(tmp_path, people=[bad, PEOPLE[2]], png_every=0) as ws:
        batch = issue_certificates(ws, "participation", workers=1)
        assert [r.key for r in batch.refused] == ["E0001"]
        assert "U+10FFFD" in batch.refused[0].reason and "Li" in batch.refused[0].reason
        assert [i.entry_id for i in batch.issued] == ["E0002"]
        assert not list(batch.folder.glob("E0001*"))
        res = runner.invoke(app, ["certificates", "participation", "-w", str(ws.root), "--json"])
        assert res.exit_code == 1
        assert "U+10FFFD" in res.stderr
        assert [c["entry_id"] for c in json.loads(res.stdout)["certificates"]] == ["E0002"]


def test_script_title_prints_as_text(tmp_path: Path) -> None:
    cert = Certificate(kind="participation", key="E0001", entry_id="E0001", name="<b>Ана</b> & محمد",
                       school="Школа №1", award="Certificate of Participation",
                       title="<script>alert(1)</script>", contest="MILSET Photo Contest 2022", year="2022")
    html = render_html(cert, "ABCDEFGHIJKLMNOP", None, "2022-08-01")
    assert "<script>alert" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    path = tmp_path / "x.pdf"
    _render_pdf((html, str(path)))
    text = pdf_text(path)
    assert "<script>alert(1)</script>" in text
    assert "Школа №1" in text


def test_qualifier_certificates_from_awards_and_member_has_no_roster(tmp_path: Path) -> None:
    with jury_workspace(tmp_path) as ws:
        ws.ledger.save_awards([
            {"entry_id": "E0001", "anon_id": "A1", "category": "middle", "score": 90.0, "rank": 1,
             "award": "qualifier"},
            {"entry_id": "E0002", "anon_id": "A2", "category": "high", "score": 80.0, "rank": 1, "award": None},
        ], "national")
        batch = issue_certificates(ws, "qualifier", workers=1)
        assert [i.entry_id for i in batch.issued] == ["E0001"]
        text = pdf_text(batch.issued[0].file)
        assert "Qualifier Award" in text and "张伟" in text and "Night sky 1" in text
        with pytest.raises(CertificateError, match="no member roster yet"):
            issue_certificates(ws, "member")
        res = runner.invoke(app, ["certificates", "member", "-w", str(ws.root)])
        assert res.exit_code == 1 and "no member roster" in res.stderr
        res = runner.invoke(app, ["certificates", "bogus", "-w", str(ws.root)])
        assert res.exit_code == 2


def test_file_names_are_windows_safe_and_codes_normalise() -> None:
    name = safe_file_name("E0001", 'a<b>:"c/d\\e|f?g*. ')
    assert not set('<>:"/\\|?*') & set(name) and name.startswith("E0001-") and not name[:-4].endswith((".", " "))
    assert safe_file_name("J01", "CON") == "J01-CON.pdf"
    assert normalise_code(" abcd-efgh ijkl_mnop ") == "ABCDEFGHIJKLMNOP"


def test_proof_list_xlsx_and_pdf_keep_text_as_printed(tmp_path: Path) -> None:
    from openpyxl import load_workbook

    odd = replace(PEOPLE[1], contestant_id="CN2022-901", name="=HYPERLINK(\"x\")", school="@school + -1")
    bad = replace(PEOPLE[3], contestant_id="CN2022-902", name="Olga \U0010fffd")
    with jury_workspace(tmp_path, people=[PEOPLE[2], odd, bad], png_every=0) as ws:
        res = runner.invoke(app, ["certificates", "participation", "--proof", "-w", str(ws.root), "--json"])
        assert res.exit_code == 0, res.output
        data = json.loads(res.stdout)["proof"]
        assert data["rows"] == 3 and data["unprintable"] == 1
        sheet = load_workbook(data["xlsx"]).active
        rows = list(sheet.iter_rows(min_row=2, values_only=True))
        assert rows[0][:4] == ("E0001", "刘䶮", "广州市第六中学", "Night sky 1")
        assert rows[1][1] == '=HYPERLINK("x")' and sheet["B3"].data_type == "s"
        assert rows[1][2] == "@school + -1" and sheet["C3"].data_type == "s"
        assert rows[2][5].startswith("NO: U+10FFFD")
        text = pdf_text(Path(data["pdf"]))
        assert "刘䶮" in text and '=HYPERLINK("x")' in text and "Olga [U+10FFFD]" in text
        assert not list((ws.root / "certificates" / "participation").glob("E0*.pdf"))  # a proof prints nothing


def test_juror_certificates_for_active_jurors_in_every_script(tmp_path: Path) -> None:
    with jury_workspace(tmp_path, people=[PEOPLE[0]], png_every=0) as ws:
        ws.ledger.save_jurors([
            {"key": "a@x.org", "name": "Ольга Иванова", "affiliation": "Université Cheikh Anta Diop",
             "country": "Senegal", "email": "a@x.org", "school": None},
            {"key": "b@x.org", "name": "𠮷田 花子", "affiliation": "東京大学", "country": "Japan",
             "email": "b@x.org", "school": None},
        ])
        batch = issue_certificates(ws, "juror", workers=1)
        assert not batch.refused
        assert [i.entry_id for i in batch.issued] == [None, None]
        assert [i.file.name for i in batch.issued] == ["J01-Ольга Иванова.pdf", "J02-𠮷田 花子.pdf"]
        text = pdf_text(batch.issued[1].file)
        assert "𠮷田 花子" in text and "Certificate of Appreciation" in text and "東京大学" in text
        res = runner.invoke(app, ["verify", format_code(batch.issued[0].code), "-w", str(ws.root), "--json"])
        got = json.loads(res.stdout)
        assert res.exit_code == 0 and got["kind"] == "juror" and got["recipient"] == "Ольга Иванова"
        assert got["entry_id"] is None


def test_only_names_unknown_entries_and_verify_speaks_plainly(printed) -> None:
    ws, batch = printed
    res = runner.invoke(app, ["certificates", "participation", "-w", str(ws.root), "--only", "E0001,E0999"])
    assert res.exit_code == 1 and "E0999" in res.stderr
    res = runner.invoke(app, ["verify", format_code(batch.issued[0].code).lower(), "-w", str(ws.root)])
    assert res.exit_code == 0 and "genuine" in res.stdout and "张伟" in res.stdout and "E0001" in res.stdout
    res = runner.invoke(app, ["verify", "AAAA-AAAA-AAAA-AAAA", "-w", str(ws.root)])
    assert res.exit_code == 1 and "not genuine" in res.stdout


def test_global_places_and_gallery_get_their_wording(tmp_path: Path) -> None:
    with jury_workspace(tmp_path, people=PEOPLE[:3], png_every=0, stage="global") as ws:
        ws.ledger.save_awards([
            {"entry_id": "E0002", "anon_id": "A2", "category": None, "score": 95.0, "rank": 1, "award": "global-1"},
            {"entry_id": "E0001", "anon_id": "A1", "category": None, "score": 90.0, "rank": 2, "award": "global-2"},
            {"entry_id": "E0003", "anon_id": "A3", "category": None, "score": 80.0, "rank": 4, "award": "gallery"},
        ], "global")
        top = issue_certificates(ws, "global", workers=1)
        assert {i.entry_id: i.recipient for i in top.issued} == {"E0001": "张伟", "E0002": "Maria García"}
        texts = {i.entry_id: pdf_text(i.file) for i in top.issued}
        assert "First Place" in texts["E0002"] and "Second Place" in texts["E0001"]
        gallery = issue_certificates(ws, "gallery", workers=1)
        assert [i.entry_id for i in gallery.issued] == ["E0003"]
        assert "Virtual Gallery Selection" in pdf_text(gallery.issued[0].file)
