"""What the jurors' files scanner looks for and how it reads the structures a photo carries: the needles in bytes
and text (match.py), EXIF, XMP, IPTC, ICC profiles, every JPEG segment and PNG chunk; and the leaks it collects.
verify.py walks the files and reads each by its content; pdfscan.py and sheetscan.py read PDFs and workbooks.
"""

from __future__ import annotations

import zlib
from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass

from PIL import ExifTags

from milsetctl.anonymise import icc as icc_mod
from milsetctl.anonymise import jpeg as jpeg_mod
from milsetctl.anonymise import png as png_mod
from milsetctl.anonymise.match import EMAIL_RE, ByteIndex, Matcher, Needle
from milsetctl.imageformat import PNG_SIGNATURE, PNG_TRAILER, TRAILER, JPEGError, PNGError, jpeg_segments, png_chunks

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


# characters the matcher reads at once: it keeps ~40 bytes per character (the folded text, the map back, the
# windows), and the contact sheet's page holds every card's text: ~1.4 million characters at 2,000 entries, +38 MB
# at once (issue 18: memory flat in the number of entries)
TEXT_BATCH = 1 << 16
TEXT_OVERLAP = 2048  # a needle cut by a batch's end lies whole in the next batch (a name spans far fewer)
_SPACES = (" ", "\n", "\t", "\r")


def _last_space(text: str, lo: int, hi: int) -> int:
    """Index of the last space, tab or line end in text[lo:hi], or -1."""
    return max(text.rfind(space, lo, hi) for space in _SPACES)


def text_batches(text: str, size: int = TEXT_BATCH, overlap: int = TEXT_OVERLAP) -> Iterator[str]:
    """`text` in overlapping pieces of at most `size` characters, cut at spaces and line ends: what a needle
    matches in the whole text (at most `overlap` characters long) lies whole in one piece, and no piece begins or
    ends inside a word (where the matcher would see a word's edge the whole text does not have). A text with no
    space for `size` characters is cut where it must."""
    for start, end in batch_spans(len(text), text, size, overlap):
        yield text[start:end]


def batch_spans(length: int, text: str, size: int, overlap: int) -> Iterator[tuple[int, int]]:
    """(start, end) of each piece `text_batches` yields."""
    start = 0
    while length - start > size:
        cut = _last_space(text, start + 2 * overlap, start + size)
        end = cut if cut >= 0 else start + size
        yield start, end
        back = _last_space(text, start + 1, end - overlap)
        start = back + 1 if back >= 0 else end - overlap
    yield start, length


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


class TraceScanner(ABC):
    """Scans bytes and text against the needles; collects Leaks (each (file, block, what) once).

    A file found inside another (a PDF's attachment, a workbook's part) goes to `data`: verify.py's Scanner reads
    it by its content, like any file of the package (pdfscan.py and sheetscan.py call it, and verify.py calls
    them: the recursion runs through this method, not through an import)."""

    def __init__(self, needles: list[Needle]) -> None:
        self.needles = needles
        self.leaks: list[Leak] = []
        self._seen: set[tuple[str, str, str]] = set()
        self._bytes = ByteIndex([(raw, i, tag) for i, n in enumerate(needles) if not n.short
                                 for tag, raw in n.encoded])
        self.matcher = Matcher(needles)

    @abstractmethod
    def data(self, file: str, data: bytes, where: str = "") -> None:
        """Scan a file found inside another, by its content."""

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
        address when `emails` (a score sheet's instructions give the chair's, to send it back to). A long text
        is matched in overlapping pieces (`text_batches`)."""
        for piece in text_batches(text):
            for span in self.matcher.spans(piece, short):
                if span.needle is not None:
                    self.add(file, block, span.needle.what)
                elif emails:
                    self.add(file, block, "an e-mail address")

    def short_words(self, file: str, block: str, text: str) -> None:
        """Only what the ambiguous needles find (short IDs as whole words, pinyin), in the contestants' own text:
        its other needles are scanned with the rest of the page."""
        for piece in text_batches(text):
            for span in self.matcher.spans(piece, short=True):
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
            pieces = list(jpeg_segments(data))  # strict: a structure that breaks anywhere is scanned whole
        except JPEGError as exc:
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
            elif seg.marker == TRAILER:
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
            pieces = list(png_chunks(data))  # strict: a structure that breaks anywhere is scanned whole
        except PNGError as exc:
            self.add(file, where + "file", f"unreadable PNG structure ({exc}); scanned whole")
            self.bytes_(file, where + "file", data)
            return
        for chunk in pieces:
            if chunk.type in NUMERIC_PNG:
                continue
            name = chunk.type.decode("latin-1")
            block = where + ("data after IEND" if chunk.type == PNG_TRAILER else name)
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
            elif chunk.type == PNG_TRAILER:
                self.add(file, block, f"{chunk.end - chunk.start} bytes after the end of the image")

    def image(self, file: str, data: bytes, where: str = "") -> bool:
        if data[:2] == b"\xff\xd8":
            self.jpeg(file, data, where)
            return True
        if data.startswith(PNG_SIGNATURE):
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
