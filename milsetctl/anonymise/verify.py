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
import html as html_mod
import re
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from PIL import ExifTags

from milsetctl.anonymise import icc as icc_mod
from milsetctl.anonymise import jpeg as jpeg_mod
from milsetctl.anonymise import png as png_mod
from milsetctl.anonymise.match import (  # noqa: F401 - spellings, SHORT: the scanner's public vocabulary
    EMAIL_RE,
    SHORT,
    ByteIndex,
    Matcher,
    Needle,
    make_needles,
    spellings,
)

EXIF_FLAGS = {
    0x8825: "GPS position (EXIF GPS IFD)",
    0xA430: "camera owner name (EXIF OwnerName)",
    0xA431: "camera body serial number (EXIF BodySerialNumber)",
    0xA435: "lens serial number (EXIF LensSerialNumber)",
    0x927C: "maker note (EXIF MakerNote, holds serials)",
    0x013B: "author (EXIF Artist)",
    0x8298: "copyright holder (EXIF Copyright)",
    0x9286: "user comment (EXIF UserComment)",
    0xC62F: "camera serial number (DNG CameraSerialNumber)",
    0xA420: "image unique ID (EXIF ImageUniqueID)",
}
# the only EXIF anonymise writes: the orientation (and the pointers a TIFF structure may need)
KEPT_EXIF_TAGS = {0x0112, 0x8769, 0xA005}
XMP_MARKS = (b"<x:xmpmeta", b"<?xpacket", b"http://ns.adobe.com/xap/1.0/")
# PNG chunks that hold only numbers (picture, palette, colour): not scanned as text
NUMERIC_PNG = png_mod.KEEP | set(png_mod.FIXED_SIZE) | {b"acTL", b"fcTL", b"fdAT", b"bKGD", b"hIST", b"sPLT"}
SHEETS = Path("jury") / "sheets"  # the jurors' score sheets (jury/run.py writes them there)


@dataclass(frozen=True)
class Leak:
    """One identifying trace: the file (path inside the package, or jury/sheets/NAME for a score sheet), the
    block it sits in, and what it is (the kind and whose, e.g. "contestant name of E0003 (UTF-16LE)"; the value
    itself is not repeated)."""

    file: str
    block: str
    what: str

    def __str__(self) -> str:
        return f"{self.file} [{self.block}]: {self.what}"


class Scanner:
    """Scans bytes and text against the needles; collects Leaks (each (file, block, what) once)."""

    def __init__(self, needles: list[Needle]) -> None:
        self.needles = needles
        self.leaks: list[Leak] = []
        self._seen: set[tuple[str, str, str]] = set()
        self._bytes = ByteIndex([(raw, i, tag) for i, n in enumerate(needles) if not n.short
                                 for tag, raw in n.encoded])
        self.matcher = Matcher(needles)

    def add(self, file: str, block: str, what: str) -> None:
        key = (file, block, what)
        if key not in self._seen:
            self._seen.add(key)
            self.leaks.append(Leak(file, block, what))

    def bytes_(self, file: str, block: str, data: bytes) -> None:
        """Binary metadata: every long needle in every encoding, and e-mail addresses (also in UTF-16)."""
        if not data:
            return
        for i, tag in self._bytes.find(data.lower()):
            self.add(file, block, f"{self.needles[i].what} ({tag})")
        for hay in (data, data.replace(b"\x00", b"")):
            if EMAIL_RE.search(hay):
                self.add(file, block, "an e-mail address")
                break

    def text(self, file: str, block: str, text: str, short: bool = True, emails: bool = True) -> None:
        """Text a reader sees: long needles in any spelling (match.py), short ones as whole words when `short`
        (only in text contestants wrote: the tool's own page numbers and dates would match "17"), and any e-mail
        address when `emails` (a score sheet's instructions give the chair's, to send it back to)."""
        for span in self.matcher.spans(text, short):
            if span.needle is not None:
                self.add(file, block, span.needle.what)
            elif emails:
                self.add(file, block, "an e-mail address")

    def short_words(self, file: str, block: str, text: str) -> None:
        """Only what the ambiguous needles find (short IDs as whole words, pinyin), in the contestants' own text:
        its other needles are scanned with the rest of the page."""
        for span in self.matcher.spans(text, short=True):
            if span.needle is not None and span.loose:
                self.add(file, block, span.needle.what)

    def in_text(self, text: str, short: bool = True) -> list[Needle]:
        """The needles found in `text`."""
        return self.matcher.found(text, short)

    # --- structures ---------------------------------------------------------------------------------------
    def exif(self, file: str, block: str, tiff: bytes) -> None:
        others: list[str] = []
        for ifd, tag, _kind, _value in jpeg_mod.tiff_tags(tiff):
            if tag in EXIF_FLAGS:
                self.add(file, block, EXIF_FLAGS[tag])
            elif ifd == "GPS":
                self.add(file, block, "GPS tags")
            elif tag not in KEPT_EXIF_TAGS:
                others.append(ExifTags.TAGS.get(tag, f"tag 0x{tag:04X}"))
        if others:  # anonymise keeps only the orientation: anything else means the file was not stripped
            shown = ", ".join(sorted(set(others))[:6]) + (", ..." if len(set(others)) > 6 else "")
            self.add(file, block, f"EXIF beyond the orientation tag ({shown}): not stripped by anonymise")

    def marks(self, file: str, block: str, data: bytes) -> None:
        """Structures that are identifying wherever they appear."""
        if any(mark in data for mark in XMP_MARKS):
            self.add(file, block, "XMP packet")
        if b"8BIM" in data or data.startswith(b"Photoshop 3.0"):
            self.add(file, block, "IPTC/Photoshop resource block")

    def icc(self, file: str, block: str, profile: bytes) -> None:
        """A colour profile: the header's device maker, model, creator and date; the text tags (and tags of a type
        no colour tag has) as bytes; not the colour data. A profile that cannot be followed is scanned whole."""
        try:
            tags = icc_mod.tags(profile)
        except icc_mod.ICCError as exc:
            self.add(file, block, f"unreadable ICC profile ({exc}); scanned whole")
            self.bytes_(file, block, profile)
            return
        traces = icc_mod.header_traces(profile)
        if traces:
            self.add(file, block, "ICC profile header names the device or a date: " + ", ".join(traces))
        for sig, data in tags:
            if icc_mod.is_text_tag(sig, data) or data[:4] not in icc_mod.COLOUR_TYPES:
                self.bytes_(file, block, data)

    def jpeg(self, file: str, data: bytes, where: str = "") -> None:
        """Every metadata segment (not the decoder's tables nor the scan data); falls back to the whole file when
        the structure breaks."""
        try:
            pieces = jpeg_mod.segments(data)
        except jpeg_mod.JPEGError as exc:
            self.add(file, where + "file", f"unreadable JPEG structure ({exc}); scanned whole")
            self.bytes_(file, where + "file", data)
            return
        icc_chunks: list[bytes] = []
        for seg in pieces:
            if seg.marker in jpeg_mod.DECODING:
                continue
            payload = seg.payload(data)
            block = where + jpeg_mod.segment_name(seg.marker, payload)
            if seg.marker == jpeg_mod.APP2 and payload.startswith(jpeg_mod.ICC_HEADER):
                icc_chunks.append(payload)
                continue
            self.bytes_(file, block, payload)
            self.marks(file, block, payload)
            if seg.marker == jpeg_mod.COM:
                self.add(file, block, "JPEG comment segment")
            elif seg.marker == jpeg_mod.TRAILER:
                self.add(file, block, f"{seg.end - seg.start} bytes after the end of the image")
            elif seg.marker == jpeg_mod.APP13:
                self.add(file, block, "IPTC/Photoshop segment")
            elif seg.marker == jpeg_mod.APP1 and payload.startswith(jpeg_mod.EXIF_HEADER):
                self.exif(file, block, payload[len(jpeg_mod.EXIF_HEADER):])
        if icc_chunks:
            block = where + "APP2 ICC"
            profile = jpeg_mod.reassemble_icc(icc_chunks)
            if profile is None:
                self.add(file, block, "ICC profile in incomplete or repeated chunks; scanned whole")
                for chunk in icc_chunks:
                    self.bytes_(file, block, chunk)
            else:
                self.icc(file, block, profile)

    def png(self, file: str, data: bytes, where: str = "") -> None:
        """Every chunk but the picture and colour numbers (NUMERIC_PNG); text chunks inflated, iCCP as a profile."""
        try:
            pieces = png_mod.chunks(data)
        except png_mod.PNGError as exc:
            self.add(file, where + "file", f"unreadable PNG structure ({exc}); scanned whole")
            self.bytes_(file, where + "file", data)
            return
        for chunk in pieces:
            if chunk.type in NUMERIC_PNG:
                continue
            name = chunk.type.decode("latin-1")
            block = where + ("data after IEND" if name == "<trailer>" else name)
            body = chunk.body(data)
            self.marks(file, block, body)
            if chunk.type == b"iCCP":
                try:
                    name_, profile = png_mod.iccp_profile(body)
                except (ValueError, zlib.error):
                    self.bytes_(file, block, body)
                    continue
                self.bytes_(file, block, name_)
                self.icc(file, block + " profile", profile)
                continue
            self.bytes_(file, block, body)
            if chunk.type in png_mod.TEXT_CHUNKS:
                self.add(file, block, "PNG text chunk")
                for inflated in _inflate_all(body):
                    self.bytes_(file, block, inflated)
            elif chunk.type == b"eXIf":
                self.exif(file, block, body)
            elif name == "<trailer>":
                self.add(file, block, f"{chunk.end - chunk.start} bytes after the end of the image")

    def image(self, file: str, data: bytes, where: str = "") -> bool:
        if data[:2] == b"\xff\xd8":
            self.jpeg(file, data, where)
            return True
        if data.startswith(png_mod.SIGNATURE):
            self.png(file, data, where)
            return True
        return False


def _inflate_all(body: bytes) -> Iterator[bytes]:
    """Whatever zlib streams start inside a text chunk (zTXt and compressed iTXt)."""
    for start in range(len(body) - 1):
        if body[start] == 0x78 and (body[start] << 8 | body[start + 1]) % 31 == 0:
            try:
                yield zlib.decompressobj().decompress(body[start:], 1 << 20)
                return
            except zlib.error:
                continue


DATA_URI_RE = re.compile(r"data:image/(?:jpeg|png);base64,([A-Za-z0-9+/=\s]+)")
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
    images = DATA_URI_RE.findall(text)
    name = file.rsplit("/", 1)[-1]
    stripped = DATA_URI_RE.sub("data:", text)
    reader = _HTMLText()
    reader.feed(stripped)
    reader.close()
    scanner.text(file, name, "\n".join(reader.parts), short=False)
    for card_text in CARD_TEXT_RE.findall(stripped):
        scanner.short_words(file, name, html_mod.unescape(card_text))
    for i, payload in enumerate(images, 1):
        try:
            raw = base64.b64decode("".join(payload.split()))
        except ValueError:
            continue
        scanner.image(file, raw, f"thumbnail {i} ")


def scan_data(scanner: Scanner, file: str, data: bytes, where: str = "") -> None:
    """One file's bytes, by their content (not the name): a photo, a PDF, a zip/XLSX, text, or else bytes."""
    if scanner.image(file, data, where):
        return
    if data.startswith(b"%PDF"):
        from milsetctl.anonymise.pdfscan import scan_pdf

        scan_pdf(scanner, file, data)
        return
    if data.startswith(b"PK\x03\x04"):
        from milsetctl.anonymise.sheetscan import scan_zip

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
    """One package file: its name, then its content."""
    data = path.read_bytes()
    scanner.text(rel, "file name", rel)
    scan_data(scanner, rel, data)


def scan_sheet(scanner: Scanner, path: Path, rel: str) -> None:
    """One juror's file in jury/sheets/: its content, then its name less the juror's own name (the sheet is
    named after its juror, who may share a name with a contestant)."""
    from milsetctl.anonymise.sheetscan import scan_zip
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
