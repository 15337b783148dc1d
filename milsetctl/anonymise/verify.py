"""The jurors' files scanner: prove that nothing a juror receives holds a trace of who made the photos.

It scans the blind package (`jury/package/`) and the score sheets (`jury/sheets/*.xlsx`), each file by its
content, reading what a juror can see and the raw bytes only where they are text or free metadata:

- a JPEG's metadata segments (APPn, COM, anything after EOI), not the tables a decoder needs (DQT, DHT, SOF...)
  nor the scan data: those are numbers, and a contestant ID made of hex digits (`C000`) turns up in numbers;
- a PNG's chunks except the picture and colour chunks (compressed text inflated first);
- an ICC profile's text tags and the header fields that name a device and a date (`NIKO`, `D750`, 2022-07-05),
  not its colour tags;
- the contact sheet's HTML text, attribute values and comments (its embedded thumbnails scanned as images);
- the PDF as pypdf reads it (pdfscan.py): page text decoded, document information, XMP, every string of every
  object, embedded images and files; not the glyph codes of its text nor its fonts;
- a score sheet's cells, sheet names, properties and every other text part of the workbook (sheetscan.py).

It looks for every entry's name (any spelling: match.py; in pinyin in the contestants' own words and in binary
metadata), contestant ID, school, e-mail and original file name, from the WHOLE ledger (rejected and withdrawn
entries too); in binary metadata in UTF-8,
UTF-16LE, UTF-16BE and GB18030; any e-mail address; and identifying structures whatever they hold: EXIF GPS,
owner/serial tags, maker notes, Artist, Copyright, UserComment; XMP packets; IPTC / Photoshop resources; JPEG
comments; PNG text chunks.

SPEC "Never": the jury package holds no contestant name, school, ID, e-mail, GPS position or camera serial.
"""

from __future__ import annotations

import base64
import codecs
import html as html_mod
import re
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from milsetctl.anonymise.match import (  # noqa: F401 - spellings, SHORT: the scanner's public vocabulary
    SHORT,
    make_needles,
    spellings,
)
from milsetctl.anonymise.pdfscan import scan_pdf, scan_pdf_file
from milsetctl.anonymise.scanner import Leak, TraceScanner
from milsetctl.anonymise.sheetscan import scan_zip
from milsetctl.imageformat import PNG_SIGNATURE

SHEETS = Path("jury") / "sheets"  # the jurors' score sheets (jury/run.py writes them there)


class Scanner(TraceScanner):
    """The scanner of the jurors' files: a file inside another is read by its content (`scan_data`), like any file
    of the package."""

    def data(self, file: str, data: bytes, where: str = "") -> None:
        scan_data(self, file, data, where)


DATA_URI_RE = re.compile(r"data:image/(?:jpeg|png);base64,([A-Za-z0-9+/=\s]+)")
DATA_URI_PREFIX = len("data:image/jpeg;base64,")  # the longest text that may begin a data URI at a chunk's end
STREAM_CHUNK = 1 << 20  # characters of an HTML page read at a time (scan_html_file)
# the text contestants wrote, as templates/contact-sheet.html marks it
CARD_TEXT_RE = re.compile(r'<div class="(?:title|desc)">(.*?)</div>', re.S)


class _HTMLText(HTMLParser):
    """What a page says: text, attribute values and comments, entities decoded; not the tag and attribute names
    nor the template's own style sheet (a school named "Main" must not match `<main>`)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._style = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._style += tag == "style"
        self.parts.extend(v for _k, v in attrs if v and not v.startswith("data:"))

    def handle_endtag(self, tag: str) -> None:
        if tag == "style" and self._style:
            self._style -= 1

    def handle_data(self, data: str) -> None:
        if not self._style:
            self.parts.append(data)

    def handle_comment(self, data: str) -> None:
        self.parts.append(data)


def scan_html(scanner: Scanner, file: str, text: str) -> None:
    """The page's text, attribute values and comments, then each embedded image as a JPEG/PNG. Short needles
    are looked for only in the titles and descriptions (the page's own counts and dates hold small numbers
    that would match a contestant ID such as "17")."""
    _scan_html_text(scanner, file, DATA_URI_RE.sub("data:", text))
    for i, payload in enumerate(DATA_URI_RE.findall(text), 1):
        _scan_thumbnail(scanner, file, payload, i)


def _scan_html_text(scanner: Scanner, file: str, stripped: str) -> None:
    """The page's text (data URIs cut down to "data:"), attribute values, comments; short needles in the cards."""
    name = file.rsplit("/", 1)[-1]
    reader = _HTMLText()
    reader.feed(stripped)
    reader.close()
    scanner.text(file, name, "\n".join(reader.parts), short=False)
    for card_text in CARD_TEXT_RE.findall(stripped):
        scanner.short_words(file, name, html_mod.unescape(card_text))


def _scan_thumbnail(scanner: Scanner, file: str, payload: str, i: int) -> None:
    try:
        raw = base64.b64decode("".join(payload.split()))
    except ValueError:
        return
    scanner.image(file, raw, f"thumbnail {i} ")


def _html_pieces(path: Path) -> Iterator[tuple[str, str | None]]:
    """The file's text in order, cut around each data URI: (text before it, the URI's base64 payload), or (text,
    None) for text with no data URI after it (yet). What `DATA_URI_RE` finds in the whole text, read STREAM_CHUNK
    bytes at a time: a match that reaches the end of what is read so far, or a piece that may begin one, waits
    for the next chunk. Raises UnicodeDecodeError when the file is not UTF-8."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    buf = ""
    with open(path, "rb") as fh:
        while True:
            raw = fh.read(STREAM_CHUNK)
            buf += decoder.decode(raw, final=not raw)
            pos = 0
            broken = None
            for m in DATA_URI_RE.finditer(buf):
                if raw and m.end() == len(buf):  # the payload may go on in the next chunk
                    broken = m.start()
                    break
                yield buf[pos:m.start()], m.group(1)
                pos = m.end()
            if not raw:
                yield buf[pos:], None
                return
            keep = broken if broken is not None else max(pos, len(buf) - DATA_URI_PREFIX)
            if keep > pos:
                yield buf[pos:keep], None
            buf = buf[keep:]


def scan_html_file(scanner: Scanner, file: str, path: Path) -> None:
    """`scan_html` of the page at `path`, read in chunks: the contact sheet of 2,000 cards is ~50 MB of data URIs
    (of 20,000, ten times that), and memory holds one chunk, one thumbnail and the page's text without them. Two
    reads, so that leaks come in scan_html's order (the text, then each thumbnail). Raises UnicodeDecodeError
    (before anything is reported) when the file is not UTF-8."""
    pieces: list[str] = []
    for text, payload in _html_pieces(path):
        pieces.append(text)
        if payload is not None:
            pieces.append("data:")
    _scan_html_text(scanner, file, "".join(pieces))
    del pieces
    i = 0
    for _text, payload in _html_pieces(path):
        if payload is not None:
            i += 1
            _scan_thumbnail(scanner, file, payload, i)


def scan_data(scanner: Scanner, file: str, data: bytes, where: str = "") -> None:
    """One file's bytes, by their content (not the name): a photo, a PDF, a zip/XLSX, text, or else bytes."""
    if scanner.image(file, data, where):
        return
    if data.startswith(b"%PDF"):
        scan_pdf(scanner, file, data)
        return
    if data.startswith(b"PK\x03\x04"):
        scan_zip(scanner, file, data, where)
        return
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        scanner.add(file, where + "file", "a file that is neither a photo, the contact sheet, a sheet nor text")
        scanner.bytes_(file, where + "file", data)
        return
    if file.lower().endswith((".html", ".htm")) or "<html" in text[:2000].lower():
        scan_html(scanner, file, text)
    else:
        scanner.text(file, where + "file", text)


def scan_file(scanner: Scanner, path: Path, rel: str) -> None:
    """One package file: its name, then its content. A PDF, and an HTML page that is no picture, are read from
    the file as the scan goes (the contact sheet: memory flat in the number of cards); the rest whole."""
    scanner.text(rel, "file name", rel)
    with open(path, "rb") as fh:
        head = fh.read(8)
    if head.startswith(b"%PDF"):
        scan_pdf_file(scanner, rel, path)
        return
    picture_or_zip = head.startswith((b"\xff\xd8", PNG_SIGNATURE, b"PK\x03\x04"))
    if rel.lower().endswith((".html", ".htm")) and not picture_or_zip:
        try:
            scan_html_file(scanner, rel, path)
            return
        except UnicodeDecodeError:
            pass  # not text: read whole, as any other file
    scan_data(scanner, rel, path.read_bytes())


def scan_sheet(scanner: Scanner, path: Path, rel: str) -> None:
    """One juror's file in jury/sheets/: its content, then its name less the juror's own name (the sheet is
    named after its juror, who may share a name with a contestant)."""
    from milsetctl.jury.sheets import safe_file_name  # how the sheet's file name spells its juror

    data = path.read_bytes()
    juror = None
    if data.startswith(b"PK\x03\x04"):
        juror = scan_zip(scanner, rel, data)
    else:
        scan_data(scanner, rel, data)
    name = path.name
    if juror:
        name = name.replace(safe_file_name(juror), " ").replace(juror, " ")
    scanner.text(rel, "file name", name, short=False)


class Leaks(list[Leak]):
    """The leaks found (a list, possibly empty) and how many files were scanned (`files`)."""

    files: int = 0


def verify_package(ws_or_dir: Any, ledger: Any = None) -> Leaks:
    """Scan every file the jurors get; returns the leaks (a list; `.files` = files scanned).

    `ws_or_dir`: a Workspace (its `jury/package/` and the score sheets `jury/sheets/*.xlsx`, its ledger) or a
    folder (then `ledger` is required; only that folder is scanned). The sheets' `withdrawn/` and `previous/`
    copies are the chair's records, never sent again: not scanned. Needles come from every entry in the ledger,
    present or not, eligible or not. Raises FileNotFoundError when the package folder does not exist.
    """
    sheets: Path | None = None
    if isinstance(ws_or_dir, Path | str):
        root = Path(ws_or_dir)
    else:
        root = package_dir(ws_or_dir)
        sheets = Path(ws_or_dir.root) / SHEETS
        ledger = ledger or ws_or_dir.ledger
    if ledger is None:
        raise ValueError("verify_package needs the ledger (the names to look for)")
    if not root.is_dir():
        raise FileNotFoundError(f"no jury package at {root}: run milsetctl anonymise first")
    scanner = Scanner(make_needles(ledger.entries(present_only=False)))
    files = sorted(p for p in root.rglob("*") if p.is_file())
    packaged = {str(r["file"]) for r in ledger.anon_rows() if r["file"]}
    for path in files:
        rel = path.relative_to(root).as_posix()
        scan_file(scanner, path, rel)
        if rel.startswith("photos/") and packaged and rel not in packaged:
            scanner.add(rel, "file", "a photo the ledger does not know: not packaged by anonymise")
    count = len(files)
    if sheets is not None and sheets.is_dir():
        for path in sorted(p for p in sheets.iterdir() if p.is_file() and not p.name.startswith(".")):
            scan_sheet(scanner, path, (SHEETS / path.name).as_posix())
            count += 1
    leaks = Leaks(scanner.leaks)
    leaks.files = count
    return leaks


def package_dir(ws: Any) -> Path:
    """The blind package's folder in a workspace (brief: jury/package/)."""
    return Path(ws.root) / "jury" / "package"
