"""The blind jury package: real photos full of identifying metadata in, a package that holds none of it out.

Every check reads the written files: raw bytes searched for each person's name, school, contestant ID and
e-mail in every encoding a camera or editor uses; the JPEG scan data compared byte for byte with the original's;
pixels decoded and compared; the kept ICC profile opened with LittleCMS; the PDF read back with pypdf.
"""

from __future__ import annotations

import io
import json
import re
import shutil
import struct
from pathlib import Path

import numpy as np
import pytest
from jury_fixtures import PEOPLE, identifying_jpeg, identifying_png, jury_workspace
from PIL import Image, ImageCms, ImageOps
from typer.testing import CliRunner

from milsetctl.anonymise import build_package, strip_jpeg, strip_png, verify_package
from milsetctl.anonymise.icc import scrub_icc
from milsetctl.anonymise.jpeg import JPEGError
from milsetctl.anonymise.package import ALPHABET
from milsetctl.cli import app
from milsetctl.decisions import record_decision
from milsetctl.workspace import open_workspace

runner = CliRunner()
ANON_RE = re.compile(f"^[{ALPHABET}]{{6}}$")
SERIALS = ["SN-0042-7781", "LENS-SN-0042-7781"]


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory):
    """One workspace of the 8 fixture people, packaged once; tests here only read it."""
    tmp = tmp_path_factory.mktemp("built")
    ws = jury_workspace(tmp)
    result = build_package(ws)
    yield ws, result
    ws.close()


def _encodings(text: str) -> list[bytes]:
    out = set()
    for variant in (text, text.lower(), text.upper()):
        for enc in ("utf-8", "utf-16-le", "utf-16-be", "gb18030"):
            out.add(variant.encode(enc))
    return sorted(out)


def _scan_range(data: bytes) -> tuple[int, int]:
    """(first SOS marker, end of EOI): walked by segment lengths, independently of the package's parser."""
    pos = 2
    while data[pos + 1] != 0xDA:
        assert data[pos] == 0xFF
        pos += 2 + struct.unpack(">H", data[pos + 2:pos + 4])[0]
    return pos, data.rindex(b"\xff\xd9") + 2


def _png_chunks(data: bytes, kind: bytes) -> bytes:
    """The raw bytes of every chunk of one type, concatenated (walked by length, independently)."""
    pos, out = 8, b""
    while pos < len(data):
        length = struct.unpack(">I", data[pos:pos + 4])[0]
        if data[pos + 4:pos + 8] == kind:
            out += data[pos:pos + 12 + length]
        pos += 12 + length
        if data[pos - 8 - length:pos - 4 - length] == b"IEND":
            break
    return out


def _original(ws, entry_id: str) -> Path:
    return Path(ws.settings.source) / ws.ledger.entry(entry_id)["file"]


def _by_entry(result) -> dict[str, object]:
    return {e.entry_id: e for e in result.entries}


# --- the package holds no identifying trace ------------------------------------------------------------------
def test_package_holds_no_name_school_id_email_serial_in_any_encoding(built):
    ws, result = built
    assert len(result.entries) == 8 and result.problems == []
    assert result.leaks == [] and result.files_scanned == 10  # 8 photos, HTML, PDF
    leaks = verify_package(ws)
    assert leaks == [] and leaks.files == 10
    needles = SERIALS + [v for p in PEOPLE for v in (p.name, p.school, p.email, p.contestant_id)]
    files = sorted(p for p in result.package.rglob("*") if p.is_file())
    assert {p.name for p in files} >= {"contact-sheet.html", "contact-sheet.pdf"}
    for path in files:
        data = path.read_bytes()
        for needle in needles:
            for raw in _encodings(needle):
                assert data.find(raw) < 0, f"{path.name} holds {needle!r} as {raw!r}"
        assert b"xmpmeta" not in data and b"8BIM" not in data and b"Photoshop" not in data
        for person in PEOPLE:  # original file names, and no name in any package file name
            assert person.name not in path.name


def test_photos_keep_no_exif_but_orientation_and_no_gps(built):
    ws, result = built
    for entry in result.entries:
        with Image.open(result.package / entry.file) as im:
            exif = im.getexif()
            assert set(exif) <= {0x0112}, f"{entry.file} keeps EXIF tags {sorted(exif)}"
            assert not exif.get_ifd(0x8825) and not exif.get_ifd(0x8769)
            assert "comment" not in im.info and "xmp" not in im.info
            if entry.file.endswith(".png"):
                assert set(im.info) <= {"icc_profile", "dpi", "gamma", "srgb", "chromaticity", "transparency"}
        assert entry.file == f"photos/{entry.anon_id}{Path(entry.file).suffix}"
        assert ANON_RE.match(entry.anon_id)


def test_jpeg_scan_data_byte_identical_and_pixels_identical(built):
    ws, result = built
    jpegs = [e for e in result.entries if e.file.endswith(".jpg")]
    assert len(jpegs) == 6
    for entry in jpegs:
        original = _original(ws, entry.entry_id).read_bytes()
        packaged = (result.package / entry.file).read_bytes()
        a, b = _scan_range(original), _scan_range(packaged)
        assert original[a[0]:a[1]] == packaged[b[0]:b[1]]
        assert len(packaged) < len(original)
        with Image.open(io.BytesIO(original)) as x, Image.open(io.BytesIO(packaged)) as y:
            assert np.array_equal(np.asarray(x), np.asarray(y))


def test_png_pixels_and_idat_identical(built):
    ws, result = built
    pngs = [e for e in result.entries if e.file.endswith(".png")]
    assert len(pngs) == 2
    for entry in pngs:
        original = _original(ws, entry.entry_id).read_bytes()
        packaged = (result.package / entry.file).read_bytes()
        assert _png_chunks(original, b"IDAT") == _png_chunks(packaged, b"IDAT") != b""
        assert _png_chunks(packaged, b"tEXt") == _png_chunks(packaged, b"zTXt") == _png_chunks(packaged, b"iTXt") \
            == _png_chunks(packaged, b"eXIf") == b""
        with Image.open(io.BytesIO(original)) as x, Image.open(io.BytesIO(packaged)) as y:
            assert np.array_equal(np.asarray(x), np.asarray(y))


def test_rotated_jpeg_shows_upright(built):
    ws, result = built
    entry = _by_entry(result)["E0002"]  # stored 1800x2400 with EXIF Orientation 6
    with Image.open(result.package / entry.file) as im:
        assert im.size == (1800, 2400) and im.getexif()[0x0112] == 6
        shown = ImageOps.exif_transpose(im)
        assert shown.size == (2400, 1800)
        with Image.open(_original(ws, "E0002")) as orig:
            assert np.array_equal(np.asarray(shown), np.asarray(ImageOps.exif_transpose(orig)))


def _tag_table(profile: bytes) -> list[tuple[bytes, bytes]]:
    count = struct.unpack(">I", profile[128:132])[0]
    out = []
    for i in range(count):
        sig, off, size = struct.unpack(">4sII", profile[132 + 12 * i:144 + 12 * i])
        out.append((sig, profile[off:off + size]))
    return out


@pytest.mark.parametrize("entry_id", ["E0001", "E0004"])  # a JPEG and a PNG
def test_icc_profile_kept_with_colour_data_and_no_text(built, entry_id):
    ws, result = built
    with Image.open(_original(ws, entry_id)) as im:
        before = im.info["icc_profile"]
    with Image.open(result.package / _by_entry(result)[entry_id].file) as im:
        after = im.info["icc_profile"]
        profile = ImageCms.ImageCmsProfile(io.BytesIO(after))
        assert ImageCms.getProfileDescription(profile).strip() == "ICC profile"
        converted = ImageCms.profileToProfile(im.convert("RGB"), profile, ImageCms.createProfile("sRGB"))
        assert converted.size == im.size
    old, new = _tag_table(before), _tag_table(after)
    assert [s for s, _ in old] == [s for s, _ in new]  # same tags, same order
    for (sig, a), (_, b) in zip(old, new, strict=True):
        if sig in (b"desc", b"cprt", b"dmnd", b"dmdd"):
            assert a != b
            assert "ICC profile".encode("utf-16-be") in b or b"ICC profile" in b
        else:
            assert a == b, f"colour tag {sig!r} changed"
    assert after[84:100] == b"\x00" * 16
    if entry_id == "E0004":
        assert re.search(rb"iCCP" + re.escape(b"ICC profile\x00"), (result.package / _by_entry(result)[
            entry_id].file).read_bytes())


@pytest.mark.skipif(shutil.which("exiftool") is None, reason="exiftool not installed")
def test_exiftool_finds_no_identifying_tag(built):
    """A second, independent reader (ExifTool, which knows thousands of maker tags) lists every tag it finds in
    the package files: only picture structure, colour profile and, for the rotated photo, Orientation remain."""
    import subprocess

    ws, result = built
    files = sorted(str(p) for p in result.package.rglob("*") if p.is_file())
    run = subprocess.run(["exiftool", "-j", "-a", "-G1", "-u", *files], capture_output=True, text=True, check=True)
    assert len(json.loads(run.stdout)) == 10
    allowed_groups = {"ExifTool", "System", "File", "JFIF", "PNG", "ICC-header", "ICC_Profile", "ICC-chrm",
                      "Composite", "PDF", "IFD0", "HTML"}
    needles = SERIALS + [v for p in PEOPLE for v in (p.name, p.school, p.email, p.contestant_id)]
    for record in json.loads(run.stdout):
        name = Path(record["SourceFile"]).name
        groups = {key.split(":", 1)[0] for key in record if ":" in key}
        assert groups <= allowed_groups, (name, groups - allowed_groups)
        assert {k for k in record if k.startswith("IFD0:")} <= {"IFD0:Orientation"}, name
        text = json.dumps(record, ensure_ascii=False).lower()
        for needle in needles:
            assert needle.lower() not in text, (name, needle)
        if record.get("File:FileType") in ("JPEG", "PNG"):
            assert record["ICC_Profile:ProfileDescription"] == "ICC profile"
            assert "PNG:ProfileName" not in record or record["PNG:ProfileName"] == "ICC profile"


# --- the contact sheet -----------------------------------------------------------------------------------------
def test_contact_sheet_html_and_pdf(built):
    ws, result = built
    html = result.contact_html.read_text(encoding="utf-8")
    assert "Noto Sans CJK SC" in html and "WenQuanYi Micro Hei" in html and "sans-serif" in html
    assert html.count('src="data:image/jpeg;base64,') == 8 and "photos/" not in html  # self-contained
    ids = re.findall(r'<span class="id">([A-Z0-9]{6})</span>', html)
    by_anon = {e.anon_id: e for e in result.entries}
    assert sorted(ids) == sorted(by_anon)
    keys = [({"middle": 0, "high": 1}[by_anon[i].category], i) for i in ids]
    assert keys == sorted(keys)  # by category, then by (random) anon ID
    for entry in result.entries:
        assert entry.title in html and entry.description in html
    import pypdf

    reader = pypdf.PdfReader(str(result.contact_pdf))
    text = " ".join(page.extract_text() for page in reader.pages)
    assert all(anon in text for anon in by_anon)
    assert "Night sky 3" in text
    # thumbnails cached outside the package, keyed by the packaged file's hash: a re-run decodes only new photos
    cached = {p.stem for p in (ws.root / "cache" / "jury-thumbs").glob("*.jpg")}
    assert cached == {row["sha256"] for row in ws.ledger.anon_rows()}
    box = reader.pages[0].mediabox
    assert abs(float(box.width) - 595.3) < 1 and abs(float(box.height) - 841.9) < 1  # A4



def test_contact_sheet_in_parts_is_one_numbered_pdf_that_verify_reads(tmp_path, monkeypatch):
    """Issue 18: a large round's PDF is rendered in parts (per category, at most PART_CARDS cards each) by worker
    processes and joined with pypdf. The juror still gets one PDF: every card once, in the HTML's order, the
    title block once, each category's later parts marked "continued", every page numbered "page N of M", its
    bookmarks; no part is left behind. The closing scan reads the joined PDF, and finds a name on a later part."""
    import pypdf

    from milsetctl.anonymise import contact

    monkeypatch.setattr(contact, "PART_CARDS", 3)  # 8 entries, 4 per category: four parts
    with jury_workspace(tmp_path) as ws:
        result = build_package(ws)
        assert result.leaks == [] and result.files_scanned == 10
        assert not (ws.root / "cache" / contact.PARTS_DIR).exists()
        reader = pypdf.PdfReader(str(result.contact_pdf))
        pages = [page.extract_text() for page in reader.pages]
        total = len(pages)
        assert total >= 4
        for number, text in enumerate(pages, 1):
            assert text.rstrip().endswith(f"page {number} of {total}"), text[-80:]
        text = " ".join(pages)
        html = result.contact_html.read_text(encoding="utf-8")
        order = re.findall(r'<span class="id">([A-Z0-9]{6})</span>', html)
        assert len(order) == 8 and all(text.count(anon) == 1 for anon in order)
        assert sorted(order, key=text.index) == order  # every card once, in the HTML's order
        assert text.count("Jury contact sheet") == 1 and text.count("(continued)") == 2
        titles = [item.title for item in reader.outline if not isinstance(item, list)]
        assert "Middle school (grades 7–9) · 4 entries (continued)" in titles
        # the closing scan (anonymise --verify) reads the joined PDF: a name on the last part is found there
        real = contact.write_html

        def with_a_name(path, ws_, groups, count, header=True, page_numbers=True):  # type: ignore[no-untyped-def]
            real(path, ws_, groups, count, header, page_numbers)
            if groups[-1]["title"].startswith("High") and groups[-1]["continued"] and not page_numbers:  # last part
                page = path.read_text(encoding="utf-8")
                path.write_text(page.replace("</main>", f"<p>Photo by {PEOPLE[1].name}</p></main>"), encoding="utf-8")

        monkeypatch.setattr(contact, "write_html", with_a_name)
        again = build_package(ws)
        last = len(pypdf.PdfReader(str(again.contact_pdf)).pages)
        assert {(leak.file, leak.block, leak.what) for leak in again.leaks} == {
            ("contact-sheet.pdf", f"page {last} text", "contestant name of E0002")}
        root = ws.root
    res = runner.invoke(app, ["anonymise", "-w", str(root), "--verify"])
    assert res.exit_code == 1 and "contact-sheet.pdf" in res.output


def test_contact_thumbnails_from_validates_previews(tmp_path):
    """A 12 MP photo costs ~50 ms to decode even at 1/8 scale; validate already keeps an upright 480 px preview of
    it (cache/thumbs, named by the validated hash), whose pixels the stripped photo shares. The contact sheet
    shrinks that instead: the card shows the same picture, the right way up and the right size, with no byte
    of the preview's file (validate's previews may carry the original's comment) but its pixels."""
    import base64
    import hashlib

    from milsetctl.probe import probe_file, write_thumbnail

    with jury_workspace(tmp_path) as ws:
        for entry in ws.ledger.entries():  # what validate leaves: the hash, and the preview named by it
            path = _original(ws, entry["entry_id"])
            sha = hashlib.sha256(path.read_bytes()).hexdigest()
            ws.ledger.db.execute("UPDATE entries SET sha256=? WHERE entry_id=?", (sha, entry["entry_id"]))
            if entry["entry_id"] in ("E0001", "E0002"):
                write_thumbnail(probe_file(path, entry["file"], 100_000_000), ws.thumbs)
        ws.ledger.db.commit()
        sha3 = ws.ledger.entry("E0003")["sha256"]
        Image.new("RGB", (480, 320), (0, 255, 0)).save(ws.thumbs / f"{sha3[:32]}.jpg", "JPEG")  # a marked preview
        result = build_package(ws)
        assert result.leaks == []
        html = result.contact_html.read_text(encoding="utf-8")
        cards = dict(re.findall(r'src="data:image/jpeg;base64,([^"]+)" alt="([A-Z0-9]{6})"', html))
        thumbs = {anon: base64.b64decode(b64) for b64, anon in cards.items()}
        by_entry = _by_entry(result)
        for entry_id in ("E0001", "E0002"):
            data = thumbs[by_entry[entry_id].anon_id]
            assert b"\xff\xfe" not in data[:data.index(b"\xff\xda")] and b"Exif" not in data  # no COM, no EXIF
            with Image.open(io.BytesIO(data)) as got, Image.open(result.package / by_entry[entry_id].file) as photo:
                reference = ImageOps.exif_transpose(photo).convert("RGB")
                reference.thumbnail((400, 400), Image.Resampling.LANCZOS)
                assert got.size == reference.size == ((400, 300) if entry_id == "E0002" else (400, 267))
                diff = np.abs(np.asarray(got.convert("RGB"), dtype=int) - np.asarray(reference, dtype=int))
                assert diff.mean() < 4, (entry_id, diff.mean())
        with Image.open(io.BytesIO(thumbs[by_entry["E0003"].anon_id])) as marked:
            assert marked.convert("RGB").getpixel((10, 10))[1] > 200  # the preview's pixels, not the photo's

def test_contact_sheet_escapes_and_redacts_titles(tmp_path):
    ws = jury_workspace(tmp_path, people=PEOPLE[:2], png_every=0)
    with ws:
        ws.ledger.db.execute("UPDATE entries SET title=?, description=? WHERE entry_id='E0001'",
                             ("<script>alert('x')</script> moon",
                              f"Taken at {PEOPLE[1].school.upper()} by {PEOPLE[0].name}, with Maria Garcia"))
        ws.ledger.db.commit()
        result = build_package(ws)
        html = result.contact_html.read_text(encoding="utf-8")
        assert "<script>" not in html and "&lt;script&gt;" in html
        assert PEOPLE[1].school.upper() not in html and PEOPLE[0].name not in html and "Garcia" not in html
        assert "Taken at [removed] by [removed], with [removed]" in html
        assert any("E0001" in note and "description" in note for note in result.notes)
        assert result.leaks == []


# --- verify catches what it must -------------------------------------------------------------------------------
def test_verify_catches_a_planted_leak(tmp_path):
    ws = jury_workspace(tmp_path, people=PEOPLE[:2], png_every=0)
    with ws:
        result = build_package(ws)
        assert result.leaks == []
        package = result.package
    res = runner.invoke(app, ["anonymise", "-w", str(tmp_path / "ws"), "--verify"])
    assert res.exit_code == 0 and "no identifying trace" in res.output.lower()
    # a clean JPEG plus one comment segment naming a contestant, under an innocent file name
    clean = (package / result.entries[0].file).read_bytes()
    comment = f"Photo by {PEOPLE[0].name}".encode()
    planted = clean[:2] + b"\xff\xfe" + struct.pack(">H", 2 + len(comment)) + comment + clean[2:]
    (package / "photos" / "ZZZZZZ.jpg").write_bytes(planted)
    res = runner.invoke(app, ["anonymise", "-w", str(tmp_path / "ws"), "--verify"])
    assert res.exit_code == 1
    assert "photos/ZZZZZZ.jpg" in res.output and "COM" in res.output and "E0001" in res.output
    # a name typed into the HTML, and the PDF text
    (package / "photos" / "ZZZZZZ.jpg").unlink()
    html = package / "contact-sheet.html"
    html.write_text(html.read_text(encoding="utf-8").replace("</main>", f"<p>{PEOPLE[0].name}</p></main>"),
                    encoding="utf-8")
    from weasyprint import HTML

    # (Latin: this machine may have no CJK font, and a glyph that is not drawn is no text in the PDF)
    HTML(string=f"<p>Photo by {PEOPLE[1].name} of {PEOPLE[1].school}</p>").write_pdf(package / "contact-sheet.pdf")
    with open_workspace(tmp_path / "ws") as ws2:
        leaks = verify_package(ws2)
    found = {(leak.file, leak.block, leak.what) for leak in leaks}
    assert ("contact-sheet.html", "contact-sheet.html", "contestant name of E0001") in found
    assert ("contact-sheet.pdf", "page 1 text", "contestant name of E0002") in found
    assert ("contact-sheet.pdf", "page 1 text", "school of E0002") in found


def test_verify_flags_every_trace_in_the_originals(tmp_path):
    """Run over the SOURCE folder itself: every kind of trace the fixture planted is named."""
    ws = jury_workspace(tmp_path, people=PEOPLE[:4])
    with ws:
        leaks = verify_package(Path(ws.settings.source) / "photos", ws.ledger)
    assert leaks.files == 4
    kinds = {(leak.file.rsplit(".", 1)[-1], leak.block, leak.what) for leak in leaks}
    jpg = {(b, w) for ext, b, w in kinds if ext == "jpg"}
    png = {(b, w) for ext, b, w in kinds if ext == "png"}
    for needed in [("COM", "JPEG comment segment"), ("APP1 XMP", "XMP packet"),
                   ("APP1 EXIF", "GPS position (EXIF GPS IFD)"), ("APP1 EXIF", "camera body serial number "
                                                                  "(EXIF BodySerialNumber)"),
                   ("APP1 EXIF", "maker note (EXIF MakerNote, holds serials)"), ("APP1 EXIF", "author (EXIF Artist)"),
                   ("APP13 IPTC/Photoshop", "IPTC/Photoshop segment"), ("APP2 ICC", "contestant name of E0001 "
                                                                          "(UTF-16BE)"),
                   ("COM", "contestant name of E0003 (UTF-16LE)"), ("data after EOI", "contestant ID of E0002 (UTF-8)"),
                   ("APP1 EXIF", "e-mail address of E0002 (UTF-16BE)")]:
        assert needed in jpg, needed
    for needed in [("tEXt", "PNG text chunk"), ("zTXt", "school of E0004 (UTF-8)"), ("iTXt", "an e-mail address"),
                   ("eXIf", "GPS tags"), ("iCCP profile", "contestant name of E0004 (UTF-16BE)")]:
        assert needed in png, needed
    assert any(b == "file name" and w == "original file name of E0001" for _, b, w in kinds)


def test_short_needles_match_only_whole_words(tmp_path):
    from milsetctl.anonymise.verify import Scanner, make_needles

    scanner = Scanner(make_needles([{"entry_id": "E0009", "contestant_id": "17", "name": "Li"}]))
    scanner.bytes_("a.jpg", "APP2 ICC", b"\x00\x1117\x00Li\x00")  # binary: short needles ignored
    scanner.text("sheet.html", "sheet.html", "Photo 170 of Lily")
    assert scanner.leaks == []
    scanner.text("sheet.html", "sheet.html", "Entrant 17, by Li.")
    assert {leak.what for leak in scanner.leaks} == {"contestant ID of E0009", "contestant name of E0009"}
    # in the contact sheet, only the contestants' own text counts: the page's "17 entries" is not a leak
    from milsetctl.anonymise.verify import scan_html

    page = ('<h1>17 entries, 2026-11-17</h1><div class="title">Moon</div><div class="desc">Seen from '
            'lab&#39;17</div>')
    html_scanner = Scanner(make_needles([{"entry_id": "E0009", "contestant_id": "17"}]))
    scan_html(html_scanner, "contact-sheet.html", page)
    assert [leak.what for leak in html_scanner.leaks] == ["contestant ID of E0009"]
    html_scanner = Scanner(make_needles([{"entry_id": "E0009", "contestant_id": "17"}]))
    scan_html(html_scanner, "contact-sheet.html", page.replace("lab&#39;17", "the lab"))
    assert html_scanner.leaks == []
    # markup is not text: a school called "Main" is not found in <main>, but is in a comment or an attribute
    html_scanner = Scanner(make_needles([{"entry_id": "E0009", "school": "Main"}]))
    scan_html(html_scanner, "contact-sheet.html", "<style>main { margin: 0 }</style><main><p>Moon</p></main>")
    assert html_scanner.leaks == []
    scan_html(html_scanner, "contact-sheet.html", '<main><img alt="Main"><!-- main --></main>')
    assert [leak.what for leak in html_scanner.leaks] == ["school of E0009"]


def test_needles_match_unaccented_and_decomposed_spellings():
    from milsetctl.anonymise.verify import Scanner, make_needles

    scanner = Scanner(make_needles([{"entry_id": "E0002", "name": "Maria García"}]))
    scanner.bytes_("a.jpg", "APP1 EXIF", b"Artist\x00MARIA GARCIA\x00")  # an ASCII-only field
    scanner.text("contact-sheet.html", "contact-sheet.html", "by Maria Garci\u0301a")  # NFD, as macOS writes
    assert {leak.block for leak in scanner.leaks} == {"APP1 EXIF", "contact-sheet.html"}


def test_needles_include_the_national_id_kept_at_the_global_stage():
    from milsetctl.anonymise.verify import Scanner, make_needles

    row = {"entry_id": "E0004", "contestant_id": "brazil:BR-0042", "name": "Ana Souza",
           "extra": json.dumps({"national_contestant_id": "BR-0042"})}
    scanner = Scanner(make_needles([row]))
    scanner.bytes_("p.jpg", "APP2 ICC", b"\x00BR-0042\x00")
    assert [leak.what for leak in scanner.leaks] == ["contestant ID of E0004 (UTF-8)"]


# --- re-runs, late decisions, withdrawals, kills --------------------------------------------------------------
def test_rerun_keeps_ids_adds_late_accept_and_withdraws(tmp_path):
    ws = jury_workspace(tmp_path, people=PEOPLE[:4], statuses={"CN2022-103": "review"})
    with ws:
        first = build_package(ws, contact_sheet=False)
        ids = {e.entry_id: e.anon_id for e in first.entries}
        assert set(ids) == {"E0001", "E0002", "E0004"} and all(e.state == "new" for e in first.entries)
        again = build_package(ws, contact_sheet=False)
        assert {e.entry_id: e.anon_id for e in again.entries} == ids
        assert all(e.state == "unchanged" for e in again.entries)

        record_decision(ws.ledger, "E0003", "accept", "reviewed: no face after all")
        ws.ledger.set_status("E0001", "rejected")
        third = build_package(ws)
        now = {e.entry_id: e.anon_id for e in third.entries}
        assert set(now) == {"E0002", "E0003", "E0004"}
        assert now["E0002"] == ids["E0002"] and now["E0004"] == ids["E0004"]
        assert [e.entry_id for e in third.new] == ["E0003"] and ANON_RE.match(now["E0003"])
        assert third.withdrawn == [(ids["E0001"], "E0001")]
        assert not list((third.package / "photos").glob(ids["E0001"] + ".*"))
        assert ids["E0001"] not in third.contact_html.read_text(encoding="utf-8")
        assert ws.ledger.anon_map()[ids["E0001"]] == "E0001"  # the key keeps the withdrawn ID, never reused
        assert ids["E0001"] not in ws.ledger.anon_map(include_withdrawn=False)

        ws.ledger.set_status("E0001", "eligible")  # re-admitted: gets its old ID back
        fourth = build_package(ws, contact_sheet=False)
        assert {e.entry_id: e.anon_id for e in fourth.entries}["E0001"] == ids["E0001"]


def test_anon_ids_are_random_not_derived(tmp_path):
    first = jury_workspace(tmp_path / "a", people=PEOPLE[:4])
    second = jury_workspace(tmp_path / "b", people=PEOPLE[:4])
    with first, second:
        a = {e.entry_id: e.anon_id for e in build_package(first, contact_sheet=False).entries}
        b = {e.entry_id: e.anon_id for e in build_package(second, contact_sheet=False).entries}
    assert a.keys() == b.keys() and set(a.values()).isdisjoint(b.values())
    assert all(ANON_RE.match(x) for x in [*a.values(), *b.values()])


def test_killed_run_resumes_with_the_same_ids(tmp_path):
    ws = jury_workspace(tmp_path, people=PEOPLE[:5])

    class Killed(RuntimeError):
        pass

    def progress(done: int, total: int, current: str) -> None:
        if done == 2:
            raise Killed

    with ws:
        with pytest.raises(Killed):
            build_package(ws, progress)
        done_before = dict(ws.ledger.anon_map())
        assert len(done_before) == 2
        files = {p.name for p in (ws.root / "jury" / "package" / "photos").iterdir()}
        assert files == {Path(row["file"]).name for row in ws.ledger.anon_rows()}
        result = build_package(ws)
        after = {e.anon_id: e.entry_id for e in result.entries}
        assert len(after) == 5 and all(after[a] == e for a, e in done_before.items())
        assert result.leaks == []


def test_stray_file_in_photos_is_removed_by_a_build(tmp_path):
    ws = jury_workspace(tmp_path, people=PEOPLE[:2], png_every=0)
    with ws:
        first = build_package(ws, contact_sheet=False)
        stray = first.package / "photos" / "AAAAAA.jpg"
        shutil.copy(_original(ws, "E0001"), stray)
        second = build_package(ws, contact_sheet=False)
        assert not stray.exists() and second.removed_strays == ["photos/AAAAAA.jpg"] and second.leaks == []


def test_changed_source_is_repackaged_under_the_same_id(tmp_path):
    ws = jury_workspace(tmp_path, people=PEOPLE[:2], png_every=0)
    with ws:
        first = {e.entry_id: e for e in build_package(ws, contact_sheet=False).entries}
        identifying_jpeg(_original(ws, "E0001"), PEOPLE[0], seed=99)
        second = {e.entry_id: e for e in build_package(ws, contact_sheet=False).entries}
        assert second["E0001"].anon_id == first["E0001"].anon_id and second["E0001"].state == "updated"
        assert second["E0002"].state == "unchanged"


def test_unreadable_source_keeps_the_earlier_package_and_exits_1(tmp_path):
    ws = jury_workspace(tmp_path, people=PEOPLE[:2], png_every=0)
    with ws:
        first = {e.entry_id: e for e in build_package(ws).entries}
        _original(ws, "E0002").unlink()  # the submissions disk is gone
    res = runner.invoke(app, ["anonymise", "-w", str(tmp_path / "ws")])
    assert res.exit_code == 1 and "E0002" in res.output and "photo not found" in res.output
    package = tmp_path / "ws" / "jury" / "package"
    assert (package / first["E0002"].file).is_file()  # still in the package and on the contact sheet
    assert first["E0002"].anon_id in (package / "contact-sheet.html").read_text(encoding="utf-8")


def test_other_format_accepted_by_decision_is_reencoded_to_png(tmp_path):
    ws = jury_workspace(tmp_path, people=PEOPLE[:1], png_every=0)
    with ws:
        src = _original(ws, "E0001")
        tiff = src.with_suffix(".tif")
        exif = Image.Exif()
        exif[0x0112] = 6
        exif[0x013B] = PEOPLE[0].contestant_id
        Image.new("RGB", (40, 20), (10, 200, 30)).save(tiff, "TIFF", exif=exif)
        ws.ledger.db.execute("UPDATE entries SET file=? WHERE entry_id='E0001'",
                             (str(tiff.relative_to(ws.settings.source)),))
        ws.ledger.db.commit()
        result = build_package(ws)
        entry = result.entries[0]
        assert entry.file.endswith(".png") and any("re-encoded to PNG" in n for n in result.notes)
        with Image.open(result.package / entry.file) as im:
            assert im.format == "PNG" and im.size == (20, 40) and not im.getexif()
        assert result.leaks == []


# --- the lossless strippers on their own -----------------------------------------------------------------------
def test_progressive_jpeg_with_multi_chunk_icc():
    profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    count = struct.unpack(">I", profile[128:132])[0]
    big = bytearray(profile) + b"\x00" * 150_000  # a large profile: needs 3 APP2 chunks
    struct.pack_into(">I", big, 0, len(big))
    buf = io.BytesIO()
    Image.new("RGB", (64, 48), (30, 60, 90)).save(buf, "JPEG", progressive=True, icc_profile=bytes(big))
    data = buf.getvalue()
    assert data.count(b"ICC_PROFILE\x00") == 3
    out = strip_jpeg(data)
    assert out.data.count(b"ICC_PROFILE\x00") == 1  # padding beyond the tags is not tag data: gone
    a, b = _scan_range(data), _scan_range(out.data)
    assert data[a[0]:a[1]] == out.data[b[0]:b[1]] and data.count(b"\xff\xda") > 1
    kept = Image.open(io.BytesIO(out.data)).info["icc_profile"]
    assert _tag_table(kept)[0][0] == _tag_table(profile)[0][0] and len(_tag_table(kept)) == count


def test_multi_chunk_icc_is_rechunked():
    base = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    count = struct.unpack(">I", base[128:132])[0]
    # a large colour tag ('zzzz', not text): 200 kB of data the scrubber must keep and spread over 4 chunks
    big = bytearray(base[:128]) + struct.pack(">I", count + 1) + base[132:132 + 12 * count]
    big += struct.pack(">4sII", b"zzzz", 0, 0) + base[132 + 12 * count:]
    shift = 12
    for i in range(count):  # tag data moved down by the new table entry
        off = struct.unpack(">I", big[132 + 12 * i + 4:132 + 12 * i + 8])[0]
        struct.pack_into(">I", big, 132 + 12 * i + 4, off + shift)
    while len(big) % 4:
        big += b"\x00"
    payload = b"data" + bytes(4) + bytes(range(256)) * 800
    struct.pack_into(">4sII", big, 132 + 12 * count, b"zzzz", len(big), len(payload))
    big += payload
    struct.pack_into(">I", big, 0, len(big))
    scrubbed = scrub_icc(bytes(big))
    assert dict(_tag_table(scrubbed))[b"zzzz"] == payload
    buf = io.BytesIO()
    Image.new("RGB", (32, 32)).save(buf, "JPEG", icc_profile=bytes(big))
    out = strip_jpeg(buf.getvalue()).data
    assert out.count(b"ICC_PROFILE\x00") == 4
    assert Image.open(io.BytesIO(out)).info["icc_profile"] == scrubbed


@pytest.mark.parametrize("mode", ["CMYK", "L"])
def test_cmyk_and_grey_jpegs_keep_their_colour(mode):
    """A CMYK JPEG needs its APP14 Adobe segment (the colour transform flag) to decode to the same pixels."""
    buf = io.BytesIO()
    Image.effect_noise((64, 48), 40).convert(mode).save(buf, "JPEG", comment=PEOPLE[3].name.encode())
    out = strip_jpeg(buf.getvalue())
    assert out.dropped == ["COM"] and PEOPLE[3].name.encode() not in out.data
    assert (b"Adobe" in out.data) == (b"Adobe" in buf.getvalue())
    with Image.open(buf) as a, Image.open(io.BytesIO(out.data)) as b:
        assert a.mode == b.mode == mode and np.array_equal(np.asarray(a), np.asarray(b))


def test_truncated_jpeg_and_png_trailer():
    buf = io.BytesIO()
    Image.new("RGB", (32, 32), (1, 2, 3)).save(buf, "JPEG")
    with pytest.raises(JPEGError, match="no end-of-image"):  # its trailer could pass for scan data
        strip_jpeg(buf.getvalue()[:-2] + b"by " + PEOPLE[0].email.encode())
    buf = io.BytesIO()
    Image.new("RGB", (8, 8)).save(buf, "PNG")
    out = strip_png(buf.getvalue() + b"trailing secret")
    assert b"secret" not in out.data and "data after IEND" in out.dropped


# --- the command line ------------------------------------------------------------------------------------------
def test_cli_json_shape(tmp_path):
    jury_workspace(tmp_path, people=PEOPLE[:3]).close()
    res = runner.invoke(app, ["anonymise", "-w", str(tmp_path / "ws"), "--json"])
    assert res.exit_code == 0, res.output
    payload = json.loads(res.stdout)
    assert set(payload) == {"package", "entries"}
    package = Path(payload["package"])
    assert package == (tmp_path / "ws" / "jury" / "package").resolve()
    assert [e["entry_id"] for e in payload["entries"]] == ["E0001", "E0002", "E0003"]
    for e in payload["entries"]:
        assert set(e) == {"entry_id", "anon_id", "file"} and ANON_RE.match(e["anon_id"])
        assert e["file"] == f"photos/{e['anon_id']}.jpg" and (package / e["file"]).is_file()
    res = runner.invoke(app, ["anonymise", "-w", str(tmp_path / "ws")])
    assert res.exit_code == 0 and "packaged 3" in res.output and "contact-sheet.pdf" in res.output


def test_cli_build_fails_on_a_leak_and_verify_json(tmp_path):
    jury_workspace(tmp_path, people=PEOPLE[:2], png_every=0).close()
    package = tmp_path / "ws" / "jury" / "package"
    package.mkdir(parents=True)
    (package / "notes.txt").write_text(f"E0002 is {PEOPLE[1].name}, {PEOPLE[1].email}\n", encoding="utf-8")
    res = runner.invoke(app, ["anonymise", "-w", str(tmp_path / "ws")])
    assert res.exit_code == 1 and "notes.txt" in res.output and "NOT safe" in res.output
    res = runner.invoke(app, ["anonymise", "-w", str(tmp_path / "ws"), "--verify", "--json"])
    assert res.exit_code == 1
    payload = json.loads(res.stdout)
    assert payload["files"] == 5
    found = {(x["file"], x["found"]) for x in payload["leaks"]}
    assert ("notes.txt", "contestant name of E0002") in found and ("notes.txt", "an e-mail address") in found
    (package / "notes.txt").unlink()
    res = runner.invoke(app, ["anonymise", "-w", str(tmp_path / "ws"), "--verify"])
    assert res.exit_code == 0 and "No identifying trace found in 4 files" in res.output


def test_cli_no_eligible_entries_and_no_package(tmp_path):
    statuses = {p.contestant_id: "review" for p in PEOPLE[:2]}
    jury_workspace(tmp_path, people=PEOPLE[:2], png_every=0, statuses=statuses).close()
    res = runner.invoke(app, ["anonymise", "-w", str(tmp_path / "ws"), "--verify"])
    assert res.exit_code == 1 and "no jury package" in res.output
    res = runner.invoke(app, ["anonymise", "-w", str(tmp_path / "ws")])
    assert res.exit_code == 1 and "no eligible entries" in res.output and "2 review" in res.output
    assert "Traceback" not in res.output


# --- real camera files (the shared corpus, when it is beside the checkout) ------------------------------------
CORPUS = (Path(__file__).resolve().parents[1].parent / "shared" / "corpus").resolve()


@pytest.mark.skipif(not (CORPUS / "MANIFEST.csv").exists(), reason="../shared/corpus not present")
def test_real_camera_files_strip_losslessly():
    """Every camera JPEG/PNG of the corpus: picture data byte-identical, same displayed size, colour profile kept,
    and none of the identifying structures left (the scanner with no names still flags GPS, serials, XMP...)."""
    from milsetctl.anonymise.package import anonymise_photo
    from milsetctl.anonymise.verify import Scanner

    files = sorted(p for p in CORPUS.glob("camera_*/*") if p.suffix.lower() in (".jpg", ".jpeg", ".png"))
    assert len(files) > 20
    for path in files:
        data = path.read_bytes()
        out, ext, notes = anonymise_photo(data)
        assert notes == [], (path.name, notes)
        scanner = Scanner([])
        scanner.image(path.name, out)
        assert scanner.leaks == [], (path.name, scanner.leaks)
        with Image.open(io.BytesIO(data)) as a, Image.open(io.BytesIO(out)) as b:
            assert (a.format, a.size, a.mode) == (b.format, b.size, b.mode)
            assert a.getexif().get(0x0112, 1) == b.getexif().get(0x0112, 1), path.name
            assert bool(a.info.get("icc_profile")) == bool(b.info.get("icc_profile")), path.name
        if ext == ".jpg":
            x, y = _scan_range(data), _scan_range(out)
            assert data[x[0]:x[1]].startswith(out[y[0]:y[1]]), path.name  # the scan; an MPF image after it goes
        else:
            assert _png_chunks(data, b"IDAT") == _png_chunks(out, b"IDAT"), path.name


def test_corrupted_files_never_leak():
    """Random byte changes and cuts in a JPEG and a PNG full of identifying metadata: each is either packaged
    with no trace the scanner can find (stripped, or re-encoded from its pixels) or refused with PhotoError."""
    import random
    import tempfile

    from milsetctl.anonymise.package import PhotoError, anonymise_photo
    from milsetctl.anonymise.verify import Scanner, make_needles

    person = PEOPLE[1]
    needles = make_needles([{"entry_id": "E0002", "name": person.name, "school": person.school,
                             "email": person.email, "contestant_id": person.contestant_id}])
    rng = random.Random(4)
    with tempfile.TemporaryDirectory() as folder:
        originals = [identifying_jpeg(Path(folder) / "a.jpg", person, size=(64, 48)).read_bytes(),
                     identifying_png(Path(folder) / "a.png", person, size=(64, 48)).read_bytes()]
    outcomes = {"packaged": 0, "refused": 0}
    for original in originals:
        for _ in range(400):
            data = bytearray(original)
            for _ in range(rng.randint(1, 5)):
                data[rng.randrange(len(data))] = rng.randrange(256)
            if rng.random() < 0.3:
                data = data[:rng.randrange(len(data))]
            try:
                out, _ext, _notes = anonymise_photo(bytes(data))
            except PhotoError:
                outcomes["refused"] += 1
                continue
            outcomes["packaged"] += 1
            scanner = Scanner(needles)
            scanner.image("x", out)
            assert scanner.leaks == []
    assert outcomes["packaged"] > 500 and outcomes["refused"] > 0


def test_verify_flags_an_unstripped_photo_and_a_file_not_packaged(tmp_path):
    """A camera original copied into the package by hand, even one whose EXIF names nobody (Make, Model, a date),
    was not stripped: verify says so, and that the ledger does not know the file."""
    ws = jury_workspace(tmp_path, people=PEOPLE[:2], png_every=0)
    with ws:
        result = build_package(ws)
        package = result.package
    plain = Image.Exif()
    plain[0x010F], plain[0x0110], plain[0x0132] = "Canon", "Canon EOS 90D", "2022:07:05 09:30:00"
    buf = io.BytesIO()
    Image.new("RGB", (64, 48), (20, 20, 40)).save(buf, "JPEG", exif=plain.tobytes())
    (package / "photos" / "QQQQQQ.jpg").write_bytes(buf.getvalue())
    res = runner.invoke(app, ["anonymise", "-w", str(tmp_path / "ws"), "--verify"])
    assert res.exit_code == 1
    assert "EXIF beyond the orientation tag" in res.output and "Make" in res.output
    assert "ledger does not know" in res.output
    # anonymise repairs it: the stray file goes, the package verifies clean
    res = runner.invoke(app, ["anonymise", "-w", str(tmp_path / "ws")])
    assert res.exit_code == 0, res.output
    assert not (package / "photos" / "QQQQQQ.jpg").exists()
