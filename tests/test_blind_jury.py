"""Issue 15, part 2: a blind jury that holds.

Every test builds real files (Pillow photos with real ICC profiles, WeasyPrint PDFs, openpyxl workbooks) and
reads them back as a juror would: pypdf for the PDF's text, openpyxl for the sheets, LittleCMS for the profiles.

- contestant IDs of every common shape (`C000` made of hex digits, `2022001`, `BJ-0001`, `A1`): no false leak,
  and every real one found;
- one blind view: a title redacted on the contact sheet is redacted on every juror's score sheet, and
  `anonymise --verify` scans the sheets;
- redaction that survives respelling (spaces, 刘 䶮, pinyin, full-width letters) and does not fire on look-alikes;
- the ICC header's device maker, model, creator and date zeroed, the colour kept;
- entries waiting for a decision are named.
"""

from __future__ import annotations

import csv
import html as html_mod
import io
import json
import re
import struct
from dataclasses import replace
from pathlib import Path

import pypdf
import pytest
from jury_fixtures import PEOPLE, identifying_jpeg, jury_workspace
from openpyxl import load_workbook
from PIL import Image, ImageCms
from typer.testing import CliRunner

from milsetctl.anonymise import build_package, scrub_icc, strip_jpeg, strip_png, verify_package
from milsetctl.anonymise.blind import BlindView
from milsetctl.anonymise.icc import header_traces
from milsetctl.anonymise.match import Matcher, fold, make_needles, redact
from milsetctl.anonymise.verify import Scanner, scan_data
from milsetctl.cli import app
from milsetctl.jury import make_sheets
from milsetctl.workspace import open_workspace

runner = CliRunner()
SHAPES = {
    "hex": ["C000", "C001", "C002", "C003"],
    "year-serial": ["2022001", "2022002", "2022003", "2022004"],
    "region-serial": ["BJ-0001", "BJ-0002", "SH-0001", "GD-0001"],
    "short": ["A1", "A2", "B1", "B2"],
}


def _jurors(path: Path, names: list[str]) -> Path:
    with open(path, "w", newline="", encoding="utf-8-sig") as fh:
        writer = csv.writer(fh)
        writer.writerow(["name", "affiliation", "country", "email", "school"])
        writer.writerows([name, "MILSET", "China", f"juror{i}@jury.example.org", ""] for i, name in enumerate(names))
    return path


def _sheet_rows(path: Path) -> dict[str, tuple[str, str]]:
    """anon_id -> (title, description) as the juror's workbook shows them."""
    book = load_workbook(path, read_only=True)
    rows = book["Scores"].iter_rows(values_only=True)
    header = [str(h) for h in next(rows)]
    at = {h: i for i, h in enumerate(header)}
    out = {str(r[0]): (str(r[at["title"]] or ""), str(r[at["description"]] or "")) for r in rows if r[0]}
    book.close()
    return out


def _html_text(path: Path) -> str:
    """The page as a reader sees it: entities decoded, the thumbnails' base64 left out."""
    return html_mod.unescape(re.sub(r"data:image/[^\"]+", "", path.read_text(encoding="utf-8")))


def _pdf_text(path: Path) -> str:
    return "\n".join(page.extract_text() or "" for page in pypdf.PdfReader(str(path)).pages)


# --- contestant IDs of every shape --------------------------------------------------------------------------------
@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_every_id_shape_packages_clean_and_real_leaks_are_found(tmp_path: Path, shape: str) -> None:
    """With IDs C000..C003 the scan used to match the PDF's glyph hex strings and block the round. Now the whole
    round (package, contact sheet HTML and PDF, score sheets) scans clean, an ID typed into a title is redacted
    everywhere, and an ID planted where a juror can read it is found."""
    ids = SHAPES[shape]
    people = [replace(p, contestant_id=cid) for p, cid in zip(PEOPLE[:4], ids, strict=True)]
    ws = jury_workspace(tmp_path, people=people, png_every=0)
    with ws:
        ws.ledger.db.execute("UPDATE entries SET title=? WHERE entry_id='E0002'", (f"Team {ids[0]} at night",))
        ws.ledger.db.commit()
        result = build_package(ws)
        assert result.leaks == [] and result.problems == [], result.leaks
        make_sheets(ws, _jurors(tmp_path / "jurors.csv", ["Juror One", "Juror Two"]))
        leaks = verify_package(ws)
        assert leaks == [] and leaks.files == 4 + 2 + 2  # photos, HTML, PDF, two sheets
        package, root = result.package, ws.root
        anon = {e.entry_id: e.anon_id for e in result.entries}

    html = _html_text(package / "contact-sheet.html")
    pdf_text = _pdf_text(package / "contact-sheet.pdf")
    assert "Team [removed] at night" in html and "Team [removed] at night" in pdf_text
    for sheet in (root / "jury" / "sheets").glob("*.xlsx"):
        assert _sheet_rows(sheet)[anon["E0002"]][0] == "Team [removed] at night"
    for cid in ids:  # as a word: a random anonymous ID or round token (R-79B2BDF8) may hold "B2" by chance
        word = re.compile(rf"(?<![0-9A-Za-z]){re.escape(cid)}(?![0-9A-Za-z])")
        assert not word.search(html) and not word.search(pdf_text), cid

    # real leaks, planted where a juror reads: a JPEG comment, a score-sheet title, the PDF's text and metadata
    photo = package / result.entries[0].file
    clean = photo.read_bytes()
    comment = f"entrant {ids[1]}".encode()
    photo.write_bytes(clean[:2] + b"\xff\xfe" + struct.pack(">H", 2 + len(comment)) + comment + clean[2:])
    sheet = sorted((root / "jury" / "sheets").glob("*.xlsx"))[0]
    book = load_workbook(sheet)
    book["Scores"]["H2"] = f"Shot by {ids[2]}"
    book.save(sheet)
    from weasyprint import HTML

    writer = pypdf.PdfWriter(clone_from=io.BytesIO(HTML(string=f"<p>Entry of {ids[3]}</p>").write_pdf()))
    writer.add_metadata({"/Author": ids[1]})
    with open(package / "contact-sheet.pdf", "wb") as fh:
        writer.write(fh)
    with open_workspace(root) as ws2:
        found = {(x.file, x.block, x.what) for x in verify_package(ws2)}
    assert (f"jury/sheets/{sheet.name}", "Scores!H2", "contestant ID of E0003") in found
    assert (result.entries[0].file, "COM", "JPEG comment segment") in found  # a comment is a trace in itself
    if shape == "short":  # under 4 bytes an ID is looked for only as a word of the contestants' own text (the
        return  # contact sheet's cards, the sheets' title/description/comment): "A2" is everywhere else
    assert (result.entries[0].file, "COM", "contestant ID of E0002 (UTF-8)") in found
    assert ("contact-sheet.pdf", "document information", "contestant ID of E0002") in found
    assert ("contact-sheet.pdf", "page 1 text", "contestant ID of E0004") in found


def test_numbers_that_spell_an_id_are_no_leak() -> None:
    """A quantisation table, a palette or an ICC colour tag holding the bytes 'C000' is numbers, not text; the
    same bytes in a comment are a leak."""
    scanner = Scanner(make_needles([{"entry_id": "E0001", "contestant_id": "C000"}]))
    table = [0x43, 0x30, 0x30, 0x30] * 16
    buf = io.BytesIO()
    Image.new("RGB", (64, 64), (90, 120, 200)).save(buf, "JPEG", qtables=[table, table])
    assert b"C000" in buf.getvalue()
    scan_data(scanner, "photos/a.jpg", buf.getvalue())
    palette = Image.new("P", (16, 16))
    palette.putpalette(list(b"C000" * 192))
    png = io.BytesIO()
    palette.save(png, "PNG")
    assert b"C000" in png.getvalue()
    scan_data(scanner, "photos/b.png", png.getvalue())
    profile = bytearray(ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes())
    count = struct.unpack(">I", profile[128:132])[0]
    for i in range(count):
        sig, offset, _size = struct.unpack(">4sII", profile[132 + 12 * i:144 + 12 * i])
        if sig == b"rXYZ":
            profile[offset + 8:offset + 12] = b"C000"  # a colorant's X value
    scanner.icc("photos/c.jpg", "APP2 ICC", scrub_icc(bytes(profile)))
    assert scanner.leaks == []
    scan_data(scanner, "photos/d.jpg", buf.getvalue()[:2] + b"\xff\xfe\x00\x06C000" + buf.getvalue()[2:])
    assert [(x.block, x.what) for x in scanner.leaks] == [("COM", "contestant ID of E0001 (UTF-8)"),
                                                          ("COM", "JPEG comment segment")]


# --- one blind view: contact sheet and score sheets ------------------------------------------------------------
def test_score_sheets_show_the_contact_sheets_redacted_title_and_verify_scans_them(tmp_path: Path) -> None:
    """The issue's case: "Milky Way by 张伟, 北京市第四中学" was redacted on the contact sheet but shown as typed in
    every juror's XLSX. A juror who shares a name with a contestant (张伟) and the chair's return address on the
    instructions are no leak."""
    typed = f"Milky Way by {PEOPLE[0].name}, {PEOPLE[0].school}"
    ws = jury_workspace(tmp_path, people=PEOPLE[:4], png_every=0)
    with ws:
        ws.ledger.db.execute("UPDATE entries SET title=?, description=? WHERE entry_id='E0003'",
                             (typed, "Taken with Zhang Wei's camera"))
        ws.ledger.db.commit()
        toml = ws.root / "contest.toml"
        toml.write_text(toml.read_text(encoding="utf-8").replace('sheets_return_to = ""',
                                                                 'sheets_return_to = "chair@milset.example"'),
                        encoding="utf-8")
        root = ws.root
    with open_workspace(root) as ws:
        result = build_package(ws)
        assert result.leaks == []
        assert any(n.startswith("E0003: identifying text in the title and description") for n in result.notes)
        sheets = make_sheets(ws, _jurors(tmp_path / "jurors.csv", [PEOPLE[0].name, "Juror Two", "Juror Three"]))
        assert verify_package(ws) == []
        anon = {e.entry_id: e.anon_id for e in result.entries}
    shown = ("Milky Way by [removed], [removed]", "Taken with [removed]'s camera")
    html = _html_text(result.package / "contact-sheet.html")
    assert all(text in html for text in shown) and PEOPLE[0].school not in html
    assert len(sheets.sheets) == 3
    for row in sheets.sheets:
        rows = _sheet_rows(root / row.file)
        assert rows[anon["E0003"]] == shown
        assert rows[anon["E0001"]] == ("Night sky 1", "Stars over the hills, photo 1.")

    # a sheet as the old writer made it (the title as typed): verify names the sheet and the cell, the CLI exits 1
    path = root / sheets.sheets[1].file
    book = load_workbook(path)
    cells = [c for c in book["Scores"]["H"] if c.value == shown[0]]
    cells[0].value = typed
    book.save(path)
    res = runner.invoke(app, ["anonymise", "--verify", "-w", str(root), "--json"])
    assert res.exit_code == 1
    found = {(x["file"], x["block"], x["found"]) for x in json.loads(res.stdout)["leaks"]}
    where = f"Scores!{cells[0].coordinate}"
    assert found == {(f"jury/sheets/{path.name}", where, "contestant name of E0001"),
                     (f"jury/sheets/{path.name}", where, "school of E0001")}
    assert "jury sheets again" in res.output
    # `jury sheets` re-issues a sheet that shows other text than the blind view: clean again
    with open_workspace(root) as ws:
        make_sheets(ws, _jurors(tmp_path / "jurors.csv", [PEOPLE[0].name, "Juror Two", "Juror Three"]))
        assert verify_package(ws) == []
    assert _sheet_rows(path)[anon["E0003"]] == shown


# --- respelling ----------------------------------------------------------------------------------------------
PEOPLE_NEEDLES = [
    {"entry_id": "E0001", "name": "张伟", "contestant_id": "C000", "school": "北京市第四中学"},
    {"entry_id": "E0002", "name": "刘䶮", "contestant_id": "BJ-0001"},
    {"entry_id": "E0003", "name": "Maria García", "contestant_id": "A1", "email": "maria.garcia@example.es"},
    {"entry_id": "E0004", "name": "Li Na", "contestant_id": "0711"},
    {"entry_id": "E0005", "name": "吕小明", "contestant_id": "2022001"},
]


@pytest.mark.parametrize(("typed", "shown"), [
    ("Milky Way by 张伟, 北京市第四中学", "Milky Way by [removed], [removed]"),
    ("by 刘 䶮 and by 刘  䶮", "by [removed] and by [removed]"),
    ("Zhang Wei's sky; WEI ZHANG; ZhangWei; zhang-wei", "[removed]'s sky; [removed]; [removed]; [removed]"),
    ("Ｚｈａｎｇ　Ｗｅｉ，北京市第四中学", "[removed]，[removed]"),
    ("Liu Yan and Yan Liu", "[removed] and [removed]"),
    ("Maria  Garcia, MariaGarcía, GARCÍA Maria", "[removed], [removed], [removed]"),
    ("Lü Xiaoming, Lyu Xiaoming, Xiaoming Lv", "[removed], [removed], [removed]"),
    ("entrant ＢＪ－０００１ or BJ 0001", "entrant [removed] or [removed]"),
    ("team A1, team Ａ１", "team [removed], team [removed]"),
    ("write to maria.garcia@example.es", "write to [removed]"),
])
def test_redaction_survives_respelling(typed: str, shown: str) -> None:
    assert redact(typed, Matcher(make_needles(PEOPLE_NEEDLES))) == (shown, True)


@pytest.mark.parametrize("text", [
    "Bali Nature at dusk",  # Li Na inside words
    "North Carolina sky",
    "generated 2022-07-11 09:30",  # 0711 across a date's hyphen
    "round R-3C0007FF, entry C0001 and AC000",  # C000 inside other tokens
    "2022001234 stars",
    "A10 and BA1 and a 1 second exposure",  # A1
    "Zhangjiajie mountains",  # zhang... but not Zhang Wei
])
def test_look_alikes_are_left_alone(text: str) -> None:
    assert redact(text, Matcher(make_needles(PEOPLE_NEEDLES))) == (text, False)


def test_fold_maps_back_to_the_typed_text() -> None:
    folded = fold("Ｚｈａｎｇ  Wéi-2022-07")
    assert folded.text == "zhangwei 2022 07"
    assert "Ｚｈａｎｇ  Wéi-2022-07"[folded.where[0]:folded.where[7] + 1] == "Ｚｈａｎｇ  Wéi"


def test_blind_view_and_pinyin_in_binary_metadata(tmp_path: Path) -> None:
    """The blind view is what the contact sheet and the sheets show; a camera's Artist field in pinyin is found."""
    view = BlindView(Matcher(make_needles(PEOPLE_NEEDLES)))
    blind = view.of("K7QX2M", "middle", "Moon over 北京市第四中学", "by Zhang Wei")
    assert (blind.title, blind.description, blind.redacted) == ("Moon over [removed]", "by [removed]",
                                                                ("title", "description"))
    assert view.of("K7QX2M", "high", "Moon", "Quiet").redacted == ()
    person = replace(PEOPLE[0], name="张伟")
    original = identifying_jpeg(tmp_path / "a.jpg", person, size=(320, 240))
    im = Image.open(original)
    exif = im.getexif()
    exif[0x013B] = "ZHANG Wei"
    buf = io.BytesIO()
    im.save(buf, "JPEG", exif=exif.tobytes())
    scanner = Scanner(make_needles(PEOPLE_NEEDLES))
    scan_data(scanner, "a.jpg", buf.getvalue())
    assert ("APP1 EXIF", "contestant name of E0001 (pinyin, UTF-8)") in {(x.block, x.what) for x in scanner.leaks}


def test_respelled_names_are_redacted_on_every_jurors_file_and_found_in_a_planted_pdf(tmp_path: Path) -> None:
    ws = jury_workspace(tmp_path, people=PEOPLE[:3], png_every=0)
    with ws:
        ws.ledger.db.execute("UPDATE entries SET title=?, description=? WHERE entry_id='E0002'",
                             ("Dawn by Liu Yan", "刘 䶮 and ＺＨＡＮＧ ＷＥＩ, MariaGarcia"))
        ws.ledger.db.commit()
        result = build_package(ws)
        assert result.leaks == []
        sheets = make_sheets(ws, _jurors(tmp_path / "jurors.csv", ["Juror One"]))
        anon = {e.entry_id: e.anon_id for e in result.entries}
        root = ws.root
    shown = ("Dawn by [removed]", "[removed] and [removed], [removed]")
    assert _sheet_rows(root / sheets.sheets[0].file)[anon["E0002"]] == shown
    html = _html_text(result.package / "contact-sheet.html")
    assert shown[0] in html and shown[1] in html
    assert "Dawn by [removed]" in _pdf_text(result.package / "contact-sheet.pdf")
    from weasyprint import HTML

    HTML(string="<p>Photo by MARIA  GARCIA</p>").write_pdf(result.package / "contact-sheet.pdf")
    page = result.package / "contact-sheet.html"  # pinyin counts in the contestants' own words: a card's title
    page.write_text(page.read_text(encoding="utf-8").replace("Dawn by [removed]", "Dawn by Zhang  Wei", 1),
                    encoding="utf-8")
    with open_workspace(root) as ws2:
        found = {(x.file, x.what) for x in verify_package(ws2)}
    assert found == {("contact-sheet.pdf", "contestant name of E0002"),
                     ("contact-sheet.html", "contestant name of E0001")}


def test_pinyin_that_spells_a_place_does_not_block_the_round(tmp_path: Path) -> None:
    """胡楠 is "Hu Nan" and 贝静 "Bei Jing": the contest's own name on every page and sheet ("... Hunan, Beijing")
    is no leak. In a contestant's title the pinyin is still redacted (the blind view errs on the safe side)."""
    people = [replace(PEOPLE[0], name="胡楠"), replace(PEOPLE[2], name="贝静"), PEOPLE[1]]
    ws = jury_workspace(tmp_path, people=people, png_every=0)
    with ws:
        toml = ws.root / "contest.toml"
        toml.write_text(toml.read_text(encoding="utf-8").replace('name = "MILSET STEAM Photo Contest 2022"',
                                                                 'name = "MILSET Hunan and Beijing 2022"', 1),
                        encoding="utf-8")
        ws.ledger.db.execute("UPDATE entries SET title='Dawn by Hu Nan' WHERE entry_id='E0003'")
        ws.ledger.db.commit()
        root = ws.root
    with open_workspace(root) as ws:
        result = build_package(ws)
        make_sheets(ws, _jurors(tmp_path / "jurors.csv", ["Juror One"]))
        assert result.leaks == [] and verify_package(ws) == []
    assert "MILSET Hunan and Beijing 2022" in _pdf_text(result.package / "contact-sheet.pdf")
    assert "Dawn by [removed]" in _html_text(result.package / "contact-sheet.html")


# --- the ICC header ----------------------------------------------------------------------------------------------
def _nikon_profile() -> bytes:
    """sRGB as LittleCMS writes it, with the header a Nikon D750 writes: maker NIKO, model D750, creator NIKO,
    created 2022-07-05 09:30:00."""
    raw = bytearray(ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes())
    raw[24:36] = struct.pack(">6H", 2022, 7, 5, 9, 30, 0)
    raw[48:52], raw[52:56], raw[80:84] = b"NIKO", b"D750", b"NIKO"
    raw[84:100] = b"\x00" * 16
    return bytes(raw)


def _tag_data(profile: bytes) -> dict[bytes, bytes]:
    count = struct.unpack(">I", profile[128:132])[0]
    out = {}
    for i in range(count):
        sig, offset, size = struct.unpack(">4sII", profile[132 + 12 * i:144 + 12 * i])
        out[sig] = profile[offset:offset + size]
    return out


@pytest.mark.parametrize("kind", ["JPEG", "PNG"])
def test_icc_header_names_no_device_nor_date_and_the_colour_stays(kind: str) -> None:
    profile = _nikon_profile()
    assert header_traces(profile) == ["date 2022-07-05 09:30:00", "device maker 'NIKO'", "device model 'D750'",
                                      "creator 'NIKO'"]
    picture = Image.new("RGB", (96, 64), (200, 60, 30))
    buf = io.BytesIO()
    picture.save(buf, kind, icc_profile=profile)
    original = buf.getvalue()
    scanner = Scanner(make_needles([]))
    scan_data(scanner, "original", original)
    block = "APP2 ICC" if kind == "JPEG" else "iCCP profile"
    assert [(x.block, x.what) for x in scanner.leaks] == [
        (block, "ICC profile header names the device or a date: date 2022-07-05 09:30:00, device maker 'NIKO', "
                "device model 'D750', creator 'NIKO'")]

    stripped = (strip_jpeg if kind == "JPEG" else strip_png)(original).data
    with Image.open(io.BytesIO(stripped)) as im:
        kept = im.info["icc_profile"]
        assert im.tobytes() == Image.open(io.BytesIO(original)).tobytes()
    assert header_traces(kept) == [] and b"NIKO" not in stripped and b"D750" not in stripped
    assert kept[36:40] == b"acsp" and kept[12:24] == profile[12:24] and kept[64:80] == profile[64:80]
    colour = {sig: data for sig, data in _tag_data(profile).items() if sig not in (b"desc", b"cprt", b"dmnd",
                                                                                   b"dmdd")}
    assert {sig: _tag_data(kept)[sig] for sig in colour} == colour
    srgb = ImageCms.createProfile("sRGB")  # LittleCMS reads it and converts exactly as with the original
    before = ImageCms.profileToProfile(picture, ImageCms.ImageCmsProfile(io.BytesIO(profile)), srgb)
    after = ImageCms.profileToProfile(picture, ImageCms.ImageCmsProfile(io.BytesIO(kept)), srgb)
    assert before is not None and after is not None and before.tobytes() == after.tobytes()
    clean = Scanner(make_needles([]))
    scan_data(clean, "packaged", stripped)
    assert clean.leaks == []


# --- entries waiting for a decision ----------------------------------------------------------------------------
def test_anonymise_names_the_entries_waiting_for_a_decision(tmp_path: Path) -> None:
    statuses = {PEOPLE[2].contestant_id: "review", PEOPLE[3].contestant_id: "review"}
    ws = jury_workspace(tmp_path, people=PEOPLE[:4], png_every=0, statuses=statuses)
    with ws:
        ws.ledger.db.executemany("INSERT INTO findings VALUES (?, ?, ?, ?, ?)", [
            ("E0003", "face", "review", "a face at (10, 10, 80, 80)", None),
            ("E0004", "camera-origin", "review", "no camera make or model", None),
            ("E0004", "language", "review", "the title is not English", None),
            ("E0004", "edited", "info", "Lightroom", None)])
        ws.ledger.db.commit()
        root = ws.root
    res = runner.invoke(app, ["anonymise", "-w", str(root)], env={"COLUMNS": "200"})
    assert res.exit_code == 0, res.output
    assert ("waiting for a decision (2 entries, not in the package: no juror will see them): E0003 (face), E0004 "
            "(camera-origin, language)") in res.output
    assert "milsetctl decide ENTRY accept|reject" in res.output
    res = runner.invoke(app, ["anonymise", "-w", str(root), "--json"], env={"COLUMNS": "200"})
    assert res.exit_code == 0 and "E0003 (face)" in res.stderr and "E0003" not in res.stdout
    with open_workspace(root) as ws:  # nothing eligible: the error names them too
        ws.ledger.db.execute("UPDATE entries SET status='review' WHERE entry_id IN ('E0001', 'E0002')")
        ws.ledger.db.commit()
    res = runner.invoke(app, ["anonymise", "-w", str(root)], env={"COLUMNS": "200"})
    assert res.exit_code == 1
    assert "waiting for a decision: E0001 (review), E0002 (review), E0003 (face)" in " ".join(res.output.split())


def test_sheet_properties_comments_and_hidden_sheets_are_scanned(tmp_path: Path) -> None:
    """Outside the cells: the workbook's properties, a cell comment, a hidden sheet, a header; the juror's own name
    and the chair's address are no trace there."""
    from openpyxl import Workbook
    from openpyxl.comments import Comment

    book = Workbook()
    scores = book.active
    scores.title = "Scores"
    scores.append(["anon_id", "originality", "comment", "title", "description"])
    scores.append(["K7QX2M", 7, "fine", "Moon", "Quiet"])
    scores["A2"].comment = Comment("ask Maria García", "chair")
    scores.oddHeader.center.text = "Liu Yan"  # pinyin outside the contestants' words: not looked for
    book.properties.creator = "CN2022-101"
    hidden = book.create_sheet("milsetctl")
    hidden.append(["juror", "张伟"])
    hidden.append(["return_to", "chair@milset.example"])
    hidden.sheet_state = "hidden"
    buf = io.BytesIO()
    book.save(buf)
    scanner = Scanner(make_needles([{"entry_id": "E0001", "name": "张伟", "contestant_id": "CN2022-101"},
                                    {"entry_id": "E0002", "name": "Maria García"},
                                    {"entry_id": "E0003", "name": "刘䶮"}]))
    scan_data(scanner, "jury/sheets/J01 张伟.xlsx", buf.getvalue())
    assert {(x.block, x.what) for x in scanner.leaks} == {("docProps/core.xml", "contestant ID of E0001"),
                                                          ("xl/comments/comment1.xml", "contestant name of E0002")}
