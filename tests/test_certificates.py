"""Certificates (issue 8): PDFs read back with pypdf, codes checked by `verify`, names in every script."""

from __future__ import annotations

import json
import re
import tempfile
from dataclasses import replace
from pathlib import Path

import pytest
from jury_fixtures import PEOPLE, jury_workspace
from PIL import Image
from pypdf import PdfReader
from typer.testing import CliRunner

import milsetctl.certificates as certificates_mod
import milsetctl.certificates.issue as issue_mod
import milsetctl.fsutil as fsutil_mod
from milsetctl.certificates import (
    PARTS_DIR,
    Certificate,
    CertificateError,
    _render_pdf,
    format_code,
    issue_certificates,
    normalise_code,
    render_html,
    safe_file_name,
    text_direction,
)
from milsetctl.certificates.fonts import first_missing_char
from milsetctl.cli import app

runner = CliRunner()


def pdf_text(path: Path) -> str:
    return "\n".join(page.extract_text() or "" for page in PdfReader(str(path)).pages)


def pdf_fonts(path: Path) -> set[str]:
    """Names of the fonts whose program is embedded in the PDF (FontFile/FontFile2/FontFile3)."""
    return set(embedded_font_sizes(path))


def embedded_font_sizes(path: Path) -> dict[str, int]:
    """Embedded font name -> size in bytes of its (decoded) font program."""
    sizes: dict[str, int] = {}
    for page in PdfReader(str(path)).pages:
        fonts = page["/Resources"].get_object().get("/Font", {})
        for ref in fonts.values():
            font = ref.get_object()
            for f in [font, *(d.get_object() for d in font.get("/DescendantFonts", []))]:
                desc = f.get("/FontDescriptor")
                for key in ("/FontFile", "/FontFile2", "/FontFile3"):
                    if desc is not None and key in desc.get_object():
                        sizes[str(font["/BaseFont"])] = len(desc.get_object()[key].get_object().get_data())
    return sizes


@pytest.fixture(scope="module")
def printed(tmp_path_factory: pytest.TempPathFactory):
    tmp = tmp_path_factory.mktemp("certs")
    ws = jury_workspace(tmp)
    temp = tmp / "tmp"  # the workers' temporary files (WeasyPrint's @font-face copies), to see they are removed
    temp.mkdir()
    saved, tempfile.tempdir = tempfile.tempdir, str(temp)
    try:
        batch = issue_certificates(ws, "participation", workers=2)  # the process pool: 2 chunks of 4
    finally:
        tempfile.tempdir = saved
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
        assert issued.file.stat().st_size < 300_000  # issue 8's ceiling per PDF
    combined = PdfReader(str(batch.combined))
    assert len(combined.pages) == 8 and batch.combined.name == "participation-all.pdf"
    assert [format_code(i.code) in (combined.pages[n].extract_text() or "") for n, i in enumerate(batch.issued)] \
        == [True] * 8  # in the batch's order, one page each
    # the combined file is made of the chunk documents (fonts once per chunk), not of the single PDFs
    assert batch.combined.stat().st_size < sum(i.file.stat().st_size for i in batch.issued)
    assert len(list((ws.root / "cache" / PARTS_DIR / "participation").glob("*.pdf"))) == 2  # 2 chunks: 2 parts
    assert not list((ws.root.parent / "tmp").iterdir())  # the pool workers removed their temporary font folders
    assert not list((ws.root / "cache").glob("certificate-fonts-*"))  # so did the batch
    liu = batch.issued[2]
    assert "䶮" in pdf_text(liu.file)
    fonts = embedded_font_sizes(liu.file)
    cjk = {name: size for name, size in fonts.items() if "CJK" in name}
    assert cjk, fonts  # the CJK font is embedded ...
    assert max(cjk.values()) < 40_000, cjk  # ... as a subset: the whole Noto CJK face is 20-27 MB
    assert len({i.code for i in batch.issued}) == 8
    # the photo's thumbnail: shrunk once, cached by content hash, drawn on the certificate
    thumbs = list((ws.root / "cache" / "certificate-thumbs").glob("*.jpg"))
    assert len(thumbs) == 8
    assert max(Image.open(thumbs[0]).size) == 640
    sizes = sorted(im.image.size for im in PdfReader(str(liu.file)).pages[0].images)
    assert sizes[-1][0] == 640 and len(sizes) == 2  # the thumbnail, and the QR code: one pixel per module
    assert sizes[0][0] == sizes[0][1] < 60
    assert liu.file.stat().st_size < 300_000


def test_each_pdf_is_its_page_of_the_chunk_with_its_own_title_bookmark_and_glyphs(tmp_path: Path) -> None:
    """Each recipient's PDF is cut from its chunk's document, written once (pdfsplit.py): it keeps its own title
    and bookmark, only its own photo (the test above), and fonts cut to the glyphs of its page, not of the chunk's
    eight names and schools (five of them Chinese)."""
    with jury_workspace(tmp_path, png_every=0) as ws:
        batch = issue_certificates(ws, "participation", workers=1)  # one process: one chunk of 8
        (part,) = (ws.root / "cache" / PARTS_DIR / "participation").glob("*.pdf")
        assert PdfReader(str(part)).metadata.title == "Certificates"
        in_part = embedded_font_sizes(part)
        cut = 0
        for issued in batch.issued:  # 张伟, Maria García, 刘䶮, Olga Ivanova, 王芳, Ahmed Khan, 赵磊, 陈静
            reader = PdfReader(str(issued.file))
            assert reader.metadata.title == f"Certificate of Participation · {issued.recipient}"
            assert [item.title for item in reader.outline] == ["Certificate of Participation"]
            assert issued.recipient in pdf_text(issued.file)
            own = embedded_font_sizes(issued.file)
            assert set(own) <= set(in_part) and all(size <= in_part[name] for name, size in own.items())
            cut += any(size < in_part[name] for name, size in own.items() if "CJK" in name)
            # every CJK glyph from the batch's cut faces (sheet.page_texts): no whole system face embedded
            assert not [name for name in own if "Noto" in name], own
        assert cut == len(batch.issued) == 8  # a Chinese face holds the glyphs of one page, not of the chunk


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
        # the award, then what it was given in on a line of its own (issue 19)
        assert "Qualifier Award\nMiddle School category" in text and "张伟" in text and "Night sky 1" in text
        assert "Chair of the Jury" in text and "MILSET Secretariat" in text
        with pytest.raises(CertificateError, match=r"needs the member roster \(members\), which is not made yet: run "
                           r"`milsetctl members import ROSTER.xlsx` first"):
            issue_certificates(ws, "member")
        res = runner.invoke(app, ["certificates", "member", "-w", str(ws.root)])
        assert res.exit_code == 1 and "needs the member roster (members), which is not made yet" in res.stderr
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
        assert "national jury" in text and "international" not in text  # the workspace's stage is national
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
    # issued when: the day the code signs, as the certificate prints it (issue 17: not the ledger's unsigned time)
    assert re.search(r"issued \d{4}-\d\d-\d\d$", " ".join(res.stdout.split()))
    assert "+00:00" not in res.stdout
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
        ws.ledger.save_jurors([{"key": "a@x.org", "name": "Ana Lima", "affiliation": "USP", "country": "Brazil",
                                "email": "a@x.org", "school": None}])
        jurors = issue_certificates(ws, "juror", workers=1)
        assert "international jury" in pdf_text(jurors.issued[0].file)  # the global stage's jury


def test_reprint_with_a_changed_name_gets_a_new_code_and_the_old_one_is_superseded(tmp_path: Path) -> None:
    with jury_workspace(tmp_path, people=PEOPLE[:2], png_every=0) as ws:
        first = issue_certificates(ws, "participation", workers=1)
        old, kept = first.issued
        ws.ledger.db.execute("UPDATE entries SET name=? WHERE entry_id='E0001'", ("张伟华",))  # a corrected name
        ws.ledger.db.commit()
        second = issue_certificates(ws, "participation", workers=1)
        new = second.issued[0]
        assert new.code != old.code and not new.skipped and "张伟华" in pdf_text(new.file)
        assert new.replaces == old.code and second.issued[1].replaces is None
        assert second.issued[1].skipped and second.issued[1].code == kept.code  # unchanged: same code, not redone
        assert not old.file.exists() and new.file.name == "E0001-张伟华.pdf"  # only the valid one stays
        assert ws.ledger.issued_certificates("participation")["E0001"]["code"] == new.code

        res = runner.invoke(app, ["verify", format_code(old.code), "-w", str(ws.root), "--json"])
        assert res.exit_code == 1
        got = json.loads(res.stdout)
        assert got["valid"] is False and set(got) == {"valid", "superseded"}
        assert got["superseded"]["by"] == format_code(new.code)
        assert got["superseded"]["reason"] == "reprinted with a changed name" and got["superseded"]["at"]
        res = runner.invoke(app, ["verify", format_code(old.code), "-w", str(ws.root)])
        assert res.exit_code == 1 and "replaced" in res.stdout and format_code(new.code) in res.stdout
        res = runner.invoke(app, ["verify", format_code(new.code), "-w", str(ws.root), "--json"])
        assert res.exit_code == 0 and json.loads(res.stdout)["recipient"] == "张伟华"
        # the name set back: the first code is current again, the second one superseded by it
        ws.ledger.db.execute("UPDATE entries SET name=? WHERE entry_id='E0001'", ("张伟",))
        ws.ledger.db.commit()
        third = issue_certificates(ws, "participation", workers=1)
        assert third.issued[0].code == old.code
        assert certificates_mod.verify_code(ws, old.code)["valid"] is True
        assert certificates_mod.verify_code(ws, new.code)["superseded"]["by"] == format_code(old.code)
        assert len(PdfReader(str(third.combined)).pages) == 2


def test_a_killed_run_leaves_no_half_pdf_and_the_next_run_finishes(tmp_path: Path, monkeypatch) -> None:
    with jury_workspace(tmp_path, people=PEOPLE[:4], png_every=0) as ws:
        monkeypatch.setattr(issue_mod, "CHUNK", 2)
        real_replace, calls = fsutil_mod.os.replace, []

        def replace_then_die(src, dst):  # the run is killed while writing the third certificate
            if str(dst).endswith(".pdf"):
                calls.append((Path(src), Path(dst)))
                if len(calls) == 4:  # E0001, E0002, the first chunk's part, then E0003
                    raise KeyboardInterrupt
            real_replace(src, dst)

        monkeypatch.setattr(fsutil_mod.os, "replace", replace_then_die)
        with pytest.raises(KeyboardInterrupt):
            issue_certificates(ws, "participation", workers=1)
        for src, dst in calls:  # every file is written under a hidden temporary name in its own folder
            assert src.parent == dst.parent and src.name.startswith(f".{dst.name}.") and src.suffix == ".tmp"
        folder = ws.root / "certificates" / "participation"
        assert sorted(f.name for f in folder.iterdir()) == ["E0001-张伟.pdf", "E0002-Maria García.pdf"]
        assert all(len(PdfReader(str(f)).pages) == 1 for f in folder.iterdir())
        monkeypatch.setattr(fsutil_mod.os, "replace", real_replace)
        (folder / ".E0003-刘䶮.pdf.99999.tmp").write_bytes(b"%PDF-1.7 half")  # what a SIGKILL leaves
        again = issue_certificates(ws, "participation", workers=1)
        assert [i.skipped for i in again.issued] == [True, True, False, False]
        assert not list(folder.glob(".*"))
        assert len(PdfReader(str(again.combined)).pages) == 4
        combined_at = again.combined.stat().st_mtime_ns
        issue_certificates(ws, "participation", workers=1)  # nothing changed: nothing written, not even the combined
        assert again.combined.stat().st_mtime_ns == combined_at


def test_only_prints_a_selection_file_and_leaves_the_batch_file(printed) -> None:
    ws, batch = printed
    all_pdf = batch.combined
    before = all_pdf.stat().st_mtime_ns
    res = runner.invoke(app, ["certificates", "participation", "-w", str(ws.root), "--only", "E0002,E0005", "--json"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert Path(data["combined"]).name == "participation-selection.pdf"
    assert len(PdfReader(data["combined"]).pages) == 2
    assert all_pdf.stat().st_mtime_ns == before and len(PdfReader(str(all_pdf)).pages) == 8


def test_without_harfbuzz_subsetting_the_system_fonts_print_the_same(tmp_path: Path, monkeypatch) -> None:
    import milsetctl.certificates.subset as subset

    monkeypatch.setattr(subset, "_harfbuzz", lambda: None)
    with jury_workspace(tmp_path, people=[PEOPLE[2]], png_every=0) as ws:
        batch = issue_certificates(ws, "participation", workers=1)
        text = pdf_text(batch.issued[0].file)
        assert "刘䶮" in text and "广州市第六中学" in text
        assert any("Noto" in name for name in pdf_fonts(batch.issued[0].file))


def test_long_arabic_name_and_long_title_stay_on_one_page(tmp_path: Path) -> None:
    arabic = "عبد الرحمن بن عبد العزيز بن عبد الله بن محمد آل سعود القحطاني"
    cert = Certificate(kind="participation", key="E0001", entry_id="E0001", name=arabic,
                       school="مدرسة الملك عبد العزيز الثانوية", award="Certificate of Participation",
                       title="Clouds gathering over the old harbour of Cádiz at dawn " * 3,
                       contest="MILSET Photo Contest 2022", year="2022")
    assert text_direction(arabic) == "rtl" and text_direction("Ана") == "ltr" and text_direction("«123»") == "ltr"
    html = render_html(cert, "ABCDEFGHIJKLMNOP", None, "2022-08-01")
    assert 'dir="rtl"' in html and "name longer" in html and "photo-title long" in html
    path = tmp_path / "x.pdf"
    _render_pdf((html, str(path)))
    assert len(PdfReader(str(path)).pages) == 1


def test_bench_names_all_print_and_the_reportlab_yardstick_draws(tmp_path: Path, monkeypatch, printed) -> None:
    """Keeps bench/bench_certificates.py from rotting: its names print, its ReportLab drawing makes a page."""
    pytest.importorskip("reportlab")
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
    import bench_certificates as bench

    names = [bench.person(i) for i in range(200)]
    assert {"𠮷" in n or "䶮" in n for n, _, _ in names} == {True, False}
    assert all(first_missing_char(f"{n}{s}{t}") is None for n, s, t in names)
    ws, batch = printed
    monkeypatch.setattr(bench, "OUT", tmp_path)
    certs = certificates_mod.recipients(ws, "participation")[:2]
    chars = {ch for c in certs for text in (c.name, c.school, c.title, c.contest) for ch in text + text.upper()}
    cjk = bench.reportlab_cjk_fonts(chars | set("“” 0123456789"))
    items = [(c, i.code, "2022-08-01", str(tmp_path / f"{c.key}.pdf"))
             for c, i in zip(certs, batch.issued[:2], strict=True)]
    bench._reportlab_chunk((items, str(tmp_path / "thumbs"), cjk, str(tmp_path / "part.pdf")))
    assert len(PdfReader(str(tmp_path / "part.pdf")).pages) == 2
    text = pdf_text(tmp_path / "E0001.pdf")
    assert "张伟" in text and format_code(batch.issued[0].code) in text


# --- issue 17: verify says only what the code signs ------------------------------------------------------------
@pytest.fixture(scope="module")
def two_printed(tmp_path_factory: pytest.TempPathFactory):
    with jury_workspace(tmp_path_factory.mktemp("signed"), people=PEOPLE[:2], png_every=0) as ws:
        batch = issue_certificates(ws, "participation", workers=1)
    return ws.root, batch


def _verify(root: Path, text: str) -> tuple[int, dict, str]:
    res = runner.invoke(app, ["verify", text, "-w", str(root), "--json"])
    plain = runner.invoke(app, ["verify", text, "-w", str(root)], terminal_width=200)
    return res.exit_code, json.loads(res.stdout), plain.stdout


def test_issue17_a_name_changed_in_the_ledger_alone_is_not_genuine(two_printed) -> None:
    """Issue 17: `verify` printed the ledger row's recipient, entry and kind, which the HMAC does not cover: an
    edited ledger made a genuine code verify for "Mallory Example". Now what it prints comes from the signed
    content, and a row that disagrees with it is "not genuine"."""
    import sqlite3

    root, batch = two_printed
    code = format_code(batch.issued[0].code)
    status, got, _ = _verify(root, code)
    assert status == 0 and got["recipient"] == "张伟" and got["entry_id"] == "E0001"
    for change in ("recipient='Mallory Example'", "entry_id='E0002'", "kind='global'",
                   "issued_at='2019-01-01T00:00:00+00:00'"):
        with sqlite3.connect(root / "ledger.sqlite") as db:
            saved = db.execute("SELECT * FROM issued_certificates WHERE code=?", (batch.issued[0].code,)).fetchone()
            db.execute(f"UPDATE issued_certificates SET {change} WHERE code=?", (batch.issued[0].code,))
        try:
            status, got, plain = _verify(root, code)
            assert status == 1 and got == {"valid": False}, change
            assert "not genuine" in plain and "genuine:" not in plain.replace("not genuine:", ""), change
            assert "the paper certificate may be genuine" in plain.lower(), change  # the workspace's record was changed
            field = {"recipient": "recipient 'Mallory Example', the code signs '张伟'",
                     "entry_id": "entry 'E0002', the code signs 'E0001'", "kind": "kind 'global', the code signs",
                     "issued_at": "issued at '2019-01-01T00:00:00+00:00', the code signs the issue day"}
            assert "the ledger says " + field[change.split("=")[0]] in plain, (change, plain)
        finally:
            with sqlite3.connect(root / "ledger.sqlite") as db:
                db.execute("DELETE FROM issued_certificates WHERE code=?", (batch.issued[0].code,))
                db.execute("INSERT INTO issued_certificates VALUES (?, ?, ?, ?, ?, ?, ?, ?)", saved)
    assert _verify(root, code)[0] == 0


def test_issue17_the_contest_year_and_the_issue_day_are_signed(two_printed) -> None:
    import sqlite3

    root, batch = two_printed
    status, got, plain = _verify(root, format_code(batch.issued[1].code))
    with sqlite3.connect(root / "ledger.sqlite") as db:
        content = json.loads(db.execute("SELECT content FROM issued_certificates WHERE code=?",
                                        (batch.issued[1].code,)).fetchone()[0])
    assert content["year"] == "2022" and re.fullmatch(r"\d{4}-\d\d-\d\d", content["issued_on"])
    assert status == 0 and got["year"] == "2022" and got["issued_at"] == content["issued_on"]
    assert "2022" in plain and content["issued_on"] in plain
    # another year in the stored content: the code no longer matches it
    with sqlite3.connect(root / "ledger.sqlite") as db:
        db.execute("UPDATE issued_certificates SET content=? WHERE code=?",
                   (json.dumps({**content, "year": "2023"}, ensure_ascii=False, sort_keys=True),
                    batch.issued[1].code))
    try:
        assert _verify(root, format_code(batch.issued[1].code))[:2] == (1, {"valid": False})
    finally:
        with sqlite3.connect(root / "ledger.sqlite") as db:
            db.execute("UPDATE issued_certificates SET content=? WHERE code=?",
                       (json.dumps(content, ensure_ascii=False, sort_keys=True), batch.issued[1].code))


def test_verify_reads_what_a_scanner_reads_from_the_qr_code(two_printed) -> None:
    """SPEC: TEXT may be the code as printed, or exactly what a scanner reads from the QR code (a prefix or a URL
    around the code)."""
    root, batch = two_printed
    code = format_code(batch.issued[0].code)
    for text in (f"MILSET-CERT:{code}", f"https://milset.example/verify?code={code}",
                 f"https://milset.example/verify/{batch.issued[0].code.lower()}", f"  {code}\n"):
        status, got, _ = _verify(root, text)
        assert status == 0 and got["entry_id"] == "E0001", text
    for text in ("MILSET-CERT:", "https://milset.example/verify?code=AAAA-AAAA-AAAA-AAAA", f"{code}X"):
        assert _verify(root, text)[:2] == (1, {"valid": False}), text


def test_codes_printed_before_the_year_was_signed_still_verify_and_are_kept(tmp_path: Path) -> None:
    """A certificate printed before issue 17 signed no year or issue day: its code still verifies (saying only what
    it signs), and a re-run keeps it rather than superseding every certificate already handed out."""
    import sqlite3

    from milsetctl.certificates.codes import make_code, workspace_secret

    with jury_workspace(tmp_path, people=PEOPLE[:2], png_every=0) as ws:
        first = issue_certificates(ws, "participation", workers=1)
        secret = workspace_secret(ws)
        legacy = {}
        with sqlite3.connect(ws.root / "ledger.sqlite") as db:
            for old in first.issued:
                content = json.loads(db.execute("SELECT content FROM issued_certificates WHERE code=?",
                                                (old.code,)).fetchone()[0])
                content.pop("year"), content.pop("issued_on")
                code = make_code(secret, content)
                legacy[old.entry_id] = code
                db.execute("UPDATE issued_certificates SET code=?, content=? WHERE code=?",
                           (code, json.dumps(content, ensure_ascii=False, sort_keys=True), old.code))
        status, got, plain = _verify(ws.root, legacy["E0001"])
        assert status == 0 and got["recipient"] == "张伟" and got["year"] is None and got["issued_at"] is None
        assert "not signed" in plain
        again = issue_certificates(ws, "participation", workers=1)
        assert [i.code for i in again.issued] == [legacy["E0001"], legacy["E0002"]]
        assert all(i.skipped and i.replaces is None for i in again.issued)
        assert not ws.ledger.db.execute("SELECT * FROM superseded_certificates").fetchall()
