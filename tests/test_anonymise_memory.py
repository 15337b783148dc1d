"""Issue 18: `anonymise` with memory flat in the number of entries. The contact sheet's thumbnails stay in their
cache files until the page is written, its PDF parts are joined one at a time (pdfjoin.py), and the closing scan
reads the page, the PDF and long texts in pieces. Each piece-wise reader must report exactly what the whole-file
reader reports: these tests cut real files into tiny pieces and compare."""

from __future__ import annotations

import base64
import io
import re
import struct
from pathlib import Path

import pypdf
import pytest
from jury_fixtures import PEOPLE, jury_workspace
from PIL import Image

from milsetctl.anonymise import build_package, contact, pdfscan, verify
from milsetctl.anonymise.match import make_needles
from milsetctl.anonymise.pdfjoin import join_pdfs
from milsetctl.anonymise.scanner import TEXT_BATCH, TEXT_OVERLAP, batch_spans, text_batches

ROWS = [{"entry_id": f"E000{i + 1}", "name": p.name, "contestant_id": p.contestant_id, "school": p.school,
         "email": p.email, "file": f"photos/IMG_{i}.jpg"} for i, p in enumerate(PEOPLE)]


def _jpeg(comment: str = "") -> bytes:
    """A small JPEG, with a comment segment (COM) when `comment` is given."""
    buf = io.BytesIO()
    Image.new("RGB", (40, 30), (90, 120, 200)).save(buf, "JPEG", quality=80)
    data = buf.getvalue()
    if comment:
        body = comment.encode()
        data = data[:2] + b"\xff\xfe" + struct.pack(">H", 2 + len(body)) + body + data[2:]
    return data


def _page() -> str:
    """An HTML page like the contact sheet: cards with data URIs (one thumbnail carries a name in a comment
    segment, one URI wrapped over lines), a name in a card's text, a name in a comment."""
    uri = "data:image/jpeg;base64,"
    clean = base64.b64encode(_jpeg()).decode()
    marked = base64.b64encode(_jpeg(f"by {PEOPLE[0].name}")).decode()
    wrapped = "\n".join(clean[i:i + 60] for i in range(0, len(clean), 60))
    cards = [
        f'<div class="card"><img src="{uri}{clean}" alt="AAAAAA"><div class="title">Moon</div></div>',
        f'<div class="card"><img src="{uri}{marked}" alt="BBBBBB"><div class="title">Stars</div>'
        f'<div class="desc">Taken with {PEOPLE[1].name}</div></div>',
        f'<div class="card"><img src="{uri}{wrapped}" alt="CCCCCC"><div class="title">Trails</div></div>',
    ]
    return ("<!DOCTYPE html><html><head><style>.card { color: red }</style></head><body>"
            + "".join(cards * 3) + f"<!-- {PEOPLE[2].school} --></body></html>")


@pytest.mark.parametrize("chunk", [1, 7, 23, 24, 64, 1 << 20])
def test_the_page_read_in_chunks_reports_what_the_whole_page_does(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                   chunk: int) -> None:
    """Chunks of 1 to 64 characters cut every data URI, its prefix and the text around it somewhere: the same
    leaks come out, in the same order (the text first, then thumbnail by thumbnail)."""
    page = _page()
    path = tmp_path / "contact-sheet.html"
    path.write_text(page, encoding="utf-8")
    whole = verify.Scanner(make_needles(ROWS))
    verify.scan_html(whole, "contact-sheet.html", page)
    assert {(leak.block, leak.what) for leak in whole.leaks} >= {
        ("contact-sheet.html", "contestant name of E0002"), ("contact-sheet.html", "school of E0003"),
        ("thumbnail 8 COM", "contestant name of E0001 (UTF-8)")}
    monkeypatch.setattr(verify, "STREAM_CHUNK", chunk)
    pieces = verify.Scanner(make_needles(ROWS))
    verify.scan_html_file(pieces, "contact-sheet.html", path)
    assert pieces.leaks == whole.leaks
    pieces_read = list(verify._html_pieces(path))
    assert [p for _, p in pieces_read if p is not None] == re.findall(verify.DATA_URI_RE, page)
    assert "".join(text + ("data:" if p is not None else "") for text, p in pieces_read) == \
        verify.DATA_URI_RE.sub("data:", page)


def test_a_page_that_is_not_utf8_is_scanned_whole_as_before(tmp_path: Path) -> None:
    path = tmp_path / "contact-sheet.html"
    path.write_bytes(b"<html>\xff\xfe " + PEOPLE[0].name.encode("utf-16-le") + b"</html>")
    scanner = verify.Scanner(make_needles(ROWS))
    verify.scan_file(scanner, path, "contact-sheet.html")
    assert [leak.what for leak in scanner.leaks if "of E0001" in leak.what]  # found in the raw bytes (UTF-16LE)
    assert any("neither a photo" in leak.what for leak in scanner.leaks)


def test_long_text_is_matched_in_overlapping_pieces() -> None:
    """A name anywhere in a text of 300,000 characters (line ends, spaces), near every cut too, is found; no piece
    begins or ends inside a word."""
    line = "The light of the city is reflected in the water under the sky."
    text = "\n".join([line] * 5000)
    pieces = list(text_batches(text))
    spans = list(batch_spans(len(text), text, TEXT_BATCH, TEXT_OVERLAP))
    assert len(pieces) == len(spans) > 3 and pieces == [text[a:b] for a, b in spans]
    assert all(len(p) <= TEXT_BATCH for p in pieces)
    assert all((a == 0 or text[a - 1].isspace()) and (b == len(text) or text[b].isspace()) for a, b in spans)
    for at in [0, len(text) // 2, len(text) - 10] + [b for _a, b in spans[:3]] + [a + 3 for a, _b in spans[1:4]]:
        planted = text[:at] + f" {PEOPLE[0].name} " + text[at:]
        scanner = verify.Scanner(make_needles(ROWS))
        scanner.text("f", "page", planted, short=False)
        assert [leak.what for leak in scanner.leaks] == ["contestant name of E0001"], at


def test_the_pdf_read_from_its_file_reports_what_its_bytes_do(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The contact sheet's PDF scanned from its file, parsed objects dropped every 3: the same leaks as from its
    bytes (a name in the page text, one in the document information, one in an embedded JPEG's comment)."""
    writer = pypdf.PdfWriter()
    page = writer.add_blank_page(200, 200)
    writer.add_metadata({"/Author": PEOPLE[1].name})
    image = writer._add_object(pypdf.generic.DecodedStreamObject())
    stream = image.get_object()
    stream.set_data(_jpeg(f"by {PEOPLE[0].name}"))
    stream.update({pypdf.generic.NameObject("/Type"): pypdf.generic.NameObject("/XObject"),
                   pypdf.generic.NameObject("/Subtype"): pypdf.generic.NameObject("/Image"),
                   pypdf.generic.NameObject("/Filter"): pypdf.generic.NameObject("/DCTDecode"),
                   pypdf.generic.NameObject("/Width"): pypdf.generic.NumberObject(40),
                   pypdf.generic.NameObject("/Height"): pypdf.generic.NumberObject(30)})
    page[pypdf.generic.NameObject("/Resources")] = pypdf.generic.DictionaryObject({
        pypdf.generic.NameObject("/XObject"): pypdf.generic.DictionaryObject(
            {pypdf.generic.NameObject("/Im0"): image})})
    path = tmp_path / "contact-sheet.pdf"
    with open(path, "wb") as fh:
        writer.write(fh)
    whole = verify.Scanner(make_needles(ROWS))
    pdfscan.scan_pdf(whole, "contact-sheet.pdf", path.read_bytes())
    assert {leak.what.split(" (")[0] for leak in whole.leaks} >= {"contestant name of E0001",
                                                                  "contestant name of E0002"}
    monkeypatch.setattr(pdfscan, "KEEP_OBJECTS", 3)
    from_file = verify.Scanner(make_needles(ROWS))
    verify.scan_file(from_file, path, "contact-sheet.pdf")
    assert [leak for leak in from_file.leaks if leak.block != "file name"] == whole.leaks


def test_joined_parts_keep_pages_bookmarks_and_numbers(tmp_path: Path) -> None:
    """join_pdfs: every page of every part in order, each part's bookmarks (nested ones too) pointing at their
    pages, "page N of M" on every page, the title; the result reads back in pypdf."""
    from weasyprint import HTML

    parts = []
    for i, (title, n) in enumerate([("First", 2), ("Second", 1), ("Third", 3)]):
        body = f"<h1>{title}</h1>" + "".join(f"<h2>{title} {k}</h2><p style='break-after: page'>{title} page {k}</p>"
                                             for k in range(n))
        parts.append(tmp_path / f"part-{i}.pdf")
        HTML(string=f"<html lang='en'><body>{body}</body></html>").write_pdf(parts[-1])
    pages = join_pdfs(parts, tmp_path / "joined.pdf", "Jury contact sheet · Test")
    reader = pypdf.PdfReader(str(tmp_path / "joined.pdf"))
    assert pages == len(reader.pages) == sum(len(pypdf.PdfReader(str(p)).pages) for p in parts)
    texts = [page.extract_text() for page in reader.pages]
    for number, text in enumerate(texts, 1):
        assert text.rstrip().endswith(f"page {number} of {pages}"), text
    assert [t.split("\n")[0] for t in texts][:1] == ["First"]
    assert "Third page 2" in texts[-1]
    top = [item for item in reader.outline if not isinstance(item, list)]
    assert [item.title for item in top] == ["First", "Second", "Third"]
    nested = reader.outline[1]
    assert isinstance(nested, list) and [item.title for item in nested] == ["First 0", "First 1"]
    assert [reader.get_destination_page_number(item) for item in top] == [0, 2, 3]
    assert reader.metadata is not None and reader.metadata.title == "Jury contact sheet · Test"
    assert reader.trailer["/Root"]["/Lang"] == "en"


def test_the_page_writes_each_thumbnail_from_its_cache_file(tmp_path: Path) -> None:
    """The cards hold only the thumbnail's cache file (`Thumb`), not its data URI; the page written from them
    carries every thumbnail, byte for byte the cached JPEG."""
    with jury_workspace(tmp_path) as ws:
        result = build_package(ws)
        groups, _notes = contact.sheet_cards(ws, result.entries, result.package)
        cards = [card for group in groups for card in group["cards"]]
        assert cards and all(isinstance(card["src"], contact.Thumb) and card["src"].data is None for card in cards)
        html = result.contact_html.read_text(encoding="utf-8")
        for card in cards:
            uri = "data:image/jpeg;base64," + base64.b64encode(card["src"].path.read_bytes()).decode()
            assert f'src="{uri}" alt="{card["anon_id"]}"' in html
