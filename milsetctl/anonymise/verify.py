"""The package scanner: prove the blind package holds no trace of who made the photos.

Every file in the package is read byte by byte, block by block: a JPEG's every segment except the entropy-coded
scan data (which is the picture, and would raise random-byte false alarms), plus anything after EOI; a PNG's every
chunk except IDAT (compressed text and the iCCP profile inflated first); the contact sheet's HTML text (its
embedded thumbnails decoded and scanned as images); the PDF's page text, metadata, non-image streams and
embedded JPEGs. It looks for

- every entry's name, contestant ID, school, e-mail and original file name, from the WHOLE ledger (rejected and
  withdrawn entries too), in UTF-8, UTF-16LE, UTF-16BE and, for non-ASCII text, GB18030; Latin letters
  case-insensitively; needles under 4 bytes only as whole words of the titles and descriptions (the PDF shows
  the same text as the HTML; its page numbers would match a contestant ID such as "17");
- any e-mail address;
- identifying structures whatever they hold: EXIF GPS IFD or GPS tags, owner/serial tags, maker notes, Artist,
  Copyright, UserComment; XMP packets; IPTC / Photoshop resources; JPEG comments; PNG text chunks.

SPEC "Never": the jury package holds no contestant name, school, ID, e-mail, GPS position or camera serial.
"""

from __future__ import annotations

import base64
import html as html_mod
import io
import json
import re
import unicodedata
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np
from PIL import ExifTags

from milsetctl.anonymise import jpeg as jpeg_mod
from milsetctl.anonymise import png as png_mod

SHORT = 4  # needles shorter than this many UTF-8 bytes are matched as whole words of text only
EMAIL_RE = re.compile(rb"[A-Za-z0-9._%+\-]{1,64}@[A-Za-z0-9\-]{1,63}(?:\.[A-Za-z0-9\-]{1,63})*\.[A-Za-z]{2,24}")
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
FIELDS = (("name", "contestant name"), ("contestant_id", "contestant ID"), ("school", "school"),
          ("email", "e-mail address"))


@dataclass(frozen=True)
class Leak:
    """One identifying trace: the file (path inside the package), the block it sits in, and what it is
    (the kind and whose, e.g. "contestant name of E0003 (UTF-16LE)"; the value itself is not repeated)."""

    file: str
    block: str
    what: str

    def __str__(self) -> str:
        return f"{self.file} [{self.block}]: {self.what}"


@dataclass(frozen=True)
class Needle:
    text: str
    what: str  # e.g. "contestant name of E0003"
    encoded: tuple[tuple[str, bytes], ...]  # (encoding label, lower-cased bytes)
    short: bool


def spellings(text: str) -> set[str]:
    """The spellings a name takes in metadata: as typed, NFC and NFD (macOS writes decomposed names), without
    accents (an ASCII-only EXIF field holds "Maria Garcia"), each in lower, upper and case-folded form."""
    forms = {text, unicodedata.normalize("NFC", text), unicodedata.normalize("NFD", text)}
    plain = "".join(c for c in unicodedata.normalize("NFD", text) if not unicodedata.combining(c))
    if plain.strip():
        forms.add(plain)
    return {v for form in forms for v in (form, form.lower(), form.upper(), form.casefold())}


def make_needles(entries: Iterable[Any]) -> list[Needle]:
    """Needles from ledger entry rows (mappings with entry_id, name, contestant_id, school, email, file)."""
    needles: list[Needle] = []
    seen: set[tuple[str, str]] = set()
    for row in entries:
        row = dict(row)
        values = [(row.get(field), label) for field, label in FIELDS]
        if row.get("file"):
            values.append((PurePosixPath(str(row["file"]).replace("\\", "/")).name, "original file name"))
        try:  # the global stage qualifies a clashing ID ("brazil:001") and keeps the national one in `extra`
            extra = json.loads(row.get("extra") or "{}")
        except (TypeError, ValueError):
            extra = {}
        if isinstance(extra, dict) and extra.get("national_contestant_id"):
            values.append((extra["national_contestant_id"], "contestant ID"))
        for value, label in values:
            text = " ".join(str(value or "").split())
            if not text or (text.lower(), label) in seen:
                continue
            seen.add((text.lower(), label))
            encoded: dict[bytes, str] = {}
            for variant in spellings(text):
                for enc, tag in (("utf-8", "UTF-8"), ("utf-16-le", "UTF-16LE"), ("utf-16-be", "UTF-16BE"),
                                 ("gb18030", "GB18030")):
                    if enc == "gb18030" and variant.isascii():
                        continue
                    try:
                        raw = variant.encode(enc).lower()
                    except UnicodeEncodeError:
                        continue
                    encoded.setdefault(raw, tag)
            short = len(text.encode("utf-8")) < SHORT
            needles.append(Needle(text, f"{label} of {row.get('entry_id', '?')}",
                                  tuple((tag, raw) for raw, tag in encoded.items()), short))
    return needles


class _Index:
    """Many byte needles against one haystack in one vectorised pass: every 4-byte window of the haystack is
    looked up among the needles' first 4 bytes (numpy), and only those candidates are compared. A contest of
    5,000 entries gives ~200,000 needle encodings; testing each with `in` on every block would take minutes."""

    def __init__(self, items: list[tuple[bytes, int, str]]) -> None:
        self.small = [item for item in items if len(item[0]) < 4]
        self.by_prefix: dict[int, list[tuple[bytes, int, str]]] = {}
        for item in items:
            if len(item[0]) >= 4:
                self.by_prefix.setdefault(int.from_bytes(item[0][:4], "big"), []).append(item)
        self.keys = np.array(sorted(self.by_prefix), dtype=np.uint32)

    def find(self, low: bytes) -> list[tuple[int, str]]:
        """(needle index, encoding label) for every needle found in `low` (already lower-cased)."""
        found = [(i, tag) for raw, i, tag in self.small if raw and raw in low]
        if len(low) < 4 or not len(self.keys):
            return found
        a = np.frombuffer(low, dtype=np.uint8).astype(np.uint32)
        windows = (a[:-3] << 24) | (a[1:-2] << 16) | (a[2:-1] << 8) | a[3:]
        for pos in np.flatnonzero(np.isin(windows, self.keys)):
            for raw, i, tag in self.by_prefix[int(windows[pos])]:
                if low.startswith(raw, int(pos)):
                    found.append((i, tag))
        return found


class Scanner:
    """Scans bytes and text against the needles; collects Leaks (each (file, block, what) once)."""

    def __init__(self, needles: list[Needle]) -> None:
        self.needles = needles
        self.leaks: list[Leak] = []
        self._seen: set[tuple[str, str, str]] = set()
        long_ = [(i, n) for i, n in enumerate(needles) if not n.short]
        self._bytes = _Index([(raw, i, tag) for i, n in long_ for tag, raw in n.encoded])
        self._text = _Index([(v.casefold().encode("utf-8"), i, "") for i, n in long_ for v in spellings(n.text)])
        shorts = sorted({n.text.casefold() for n in needles if n.short}, key=len, reverse=True)
        self._short_re = re.compile(r"(?<![0-9A-Za-z])(" + "|".join(map(re.escape, shorts)) + r")(?![0-9A-Za-z])",
                                    re.I) if shorts else None
        self._short: dict[str, list[Needle]] = {}
        for n in needles:
            if n.short:
                self._short.setdefault(n.text.casefold(), []).append(n)

    def add(self, file: str, block: str, what: str) -> None:
        key = (file, block, what)
        if key not in self._seen:
            self._seen.add(key)
            self.leaks.append(Leak(file, block, what))

    def bytes_(self, file: str, block: str, data: bytes) -> None:
        """A binary block: every long needle in every encoding, and e-mail addresses (also in UTF-16)."""
        if not data:
            return
        for i, tag in self._bytes.find(data.lower()):
            self.add(file, block, f"{self.needles[i].what} ({tag})")
        for hay in (data, data.replace(b"\x00", b"")):
            if EMAIL_RE.search(hay):
                self.add(file, block, "an e-mail address")
                break

    def text(self, file: str, block: str, text: str, short: bool = True) -> None:
        """Text (HTML, PDF page text): long needles as substrings (case-insensitive), short ones as whole words
        when `short` (only in text contestants wrote: the tool's own page numbers and dates would match "17")."""
        for needle in self.in_text(text, short):
            self.add(file, block, needle.what)
        if EMAIL_RE.search(text.encode("utf-8", "replace")):
            self.add(file, block, "an e-mail address")

    def short_words(self, file: str, block: str, text: str) -> None:
        for needle in self.in_text(text, short=True, long=False):
            self.add(file, block, needle.what)

    def in_text(self, text: str, short: bool = True, long: bool = True) -> list[Needle]:
        """The needles found in `text` (long ones case-insensitively anywhere, short ones as whole words)."""
        found: dict[int, Needle] = {}
        if long:
            for i, _tag in self._text.find(text.casefold().encode("utf-8")):
                found[i] = self.needles[i]
        if short and self._short_re is not None:
            for match in self._short_re.finditer(text):
                for needle in self._short.get(match.group(1).casefold(), []):
                    found[id(needle)] = needle
        return list(found.values())

    def short_pattern(self) -> re.Pattern[str] | None:
        """One whole-word pattern for every short needle (None when there is none)."""
        return self._short_re

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

    def jpeg(self, file: str, data: bytes, where: str = "") -> None:
        """Every segment but the scan data; falls back to the whole file when the structure breaks."""
        try:
            pieces = jpeg_mod.segments(data)
        except jpeg_mod.JPEGError as exc:
            self.add(file, where + "file", f"unreadable JPEG structure ({exc}); scanned whole")
            self.bytes_(file, where + "file", data)
            return
        for seg in pieces:
            if seg.marker == jpeg_mod.SCAN:
                continue
            payload = seg.payload(data)
            block = where + jpeg_mod.segment_name(seg.marker, payload)
            self.bytes_(file, block, data[seg.start:seg.end])
            self.marks(file, block, payload)
            if seg.marker == jpeg_mod.COM:
                self.add(file, block, "JPEG comment segment")
            elif seg.marker == jpeg_mod.TRAILER:
                self.add(file, block, f"{seg.end - seg.start} bytes after the end of the image")
            elif seg.marker == jpeg_mod.APP13:
                self.add(file, block, "IPTC/Photoshop segment")
            elif seg.marker == jpeg_mod.APP1 and payload.startswith(jpeg_mod.EXIF_HEADER):
                self.exif(file, block, payload[len(jpeg_mod.EXIF_HEADER):])

    def png(self, file: str, data: bytes, where: str = "") -> None:
        try:
            pieces = png_mod.chunks(data)
        except png_mod.PNGError as exc:
            self.add(file, where + "file", f"unreadable PNG structure ({exc}); scanned whole")
            self.bytes_(file, where + "file", data)
            return
        for chunk in pieces:
            if chunk.type == b"IDAT":
                continue
            name = chunk.type.decode("latin-1")
            block = where + ("data after IEND" if name == "<trailer>" else name)
            body = chunk.body(data)
            self.bytes_(file, block, data[chunk.start:chunk.end])
            self.marks(file, block, body)
            if chunk.type in png_mod.TEXT_CHUNKS:
                self.add(file, block, "PNG text chunk")
                for inflated in _inflate_all(body):
                    self.bytes_(file, block, inflated)
            elif chunk.type == b"eXIf":
                self.exif(file, block, body)
            elif chunk.type == b"iCCP":
                try:
                    name_, profile = png_mod.iccp_profile(body)
                except (ValueError, zlib.error):
                    continue
                self.bytes_(file, block + " profile", profile)
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


STREAM_RE = re.compile(rb"<<((?:[^<>]|<<(?:[^<>]|<<[^<>]*>>)*>>|<[0-9A-Fa-f\s]*>)*)>>\s*stream\r?\n", re.S)


def scan_pdf(scanner: Scanner, file: str, data: bytes) -> None:
    """Page text and document metadata through pypdf; every stream: embedded JPEGs scanned as JPEGs, other
    streams inflated (FlateDecode) and scanned as bytes; the bytes outside streams (object dictionaries) too."""
    try:
        import pypdf

        reader = pypdf.PdfReader(io.BytesIO(data))
        for number, page in enumerate(reader.pages, 1):
            scanner.text(file, f"page {number} text", page.extract_text() or "", short=False)
        meta: dict[Any, Any] = reader.metadata or {}
        scanner.text(file, "document information", " ".join(str(v) for v in meta.values()), short=False)
    except ImportError:
        scanner.add(file, "page text", "not scanned: pypdf is not installed")
    except Exception as exc:  # a PDF pypdf cannot parse is itself suspicious: report it
        scanner.add(file, "page text", f"unreadable PDF ({type(exc).__name__}: {exc})")
    outside = bytearray()
    pos = 0
    for match in STREAM_RE.finditer(data):
        head = match.group(1)
        start = match.end()
        end = data.find(b"endstream", start)
        if end < 0:
            break
        outside += data[pos:match.start()] + b"<<" + head + b">>"
        pos = end + len(b"endstream")
        body = data[start:end].rstrip(b"\r\n")
        if b"/DCTDecode" in head:
            scanner.jpeg(file, body, "embedded image ")
            continue
        if b"/Image" in head:  # inflated pixels: random bytes to a needle, and the picture is the photo itself
            continue
        if b"/FlateDecode" in head:
            try:
                body = zlib.decompressobj().decompress(body, 64 << 20)
            except zlib.error:
                continue
        scanner.bytes_(file, "stream", body)
    outside += data[pos:]
    scanner.bytes_(file, "objects", bytes(outside))


def scan_file(scanner: Scanner, path: Path, rel: str) -> None:
    """One package file, by its content (not its extension)."""
    data = path.read_bytes()
    scanner.text(rel, "file name", rel)
    if scanner.image(rel, data):
        return
    if data.startswith(b"%PDF"):
        scan_pdf(scanner, rel, data)
        return
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        scanner.add(rel, "file", "a file that is neither a photo, the contact sheet nor text")
        scanner.bytes_(rel, "file", data)
        return
    if rel.lower().endswith((".html", ".htm")) or "<html" in text[:2000].lower():
        scan_html(scanner, rel, text)
    else:
        scanner.text(rel, "file", text)


class Leaks(list[Leak]):
    """The leaks found (a list, possibly empty) and how many files were scanned (`files`)."""

    files: int = 0


def verify_package(ws_or_dir: Any, ledger: Any = None) -> Leaks:
    """Scan every file below the package folder; returns the leaks (a list; `.files` = files scanned).

    `ws_or_dir`: a Workspace (its `jury/package`, its ledger) or a package folder (then `ledger` is required).
    Needles come from every entry in the ledger, present or not, eligible or not. Raises FileNotFoundError when
    the folder does not exist.
    """
    if isinstance(ws_or_dir, Path | str):
        root = Path(ws_or_dir)
    else:
        root = package_dir(ws_or_dir)
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
    leaks = Leaks(scanner.leaks)
    leaks.files = len(files)
    return leaks


def package_dir(ws: Any) -> Path:
    """The blind package's folder in a workspace (brief: jury/package/)."""
    return Path(ws.root) / "jury" / "package"
