"""The one JPEG marker walker and the one PNG chunk walker, below both the probe and the blind package.

Why one: the probe (header size, scan layout), the C2PA pre-check, the metadata stripper and the verify scan
each walked the same structures by hand, each with its own idea of fill bytes, restart markers and a length
that runs past the end. Two modes cover what they need: `strict` raises (`JPEGError`, `PNGError`) on anything
it cannot follow, for code that rewrites the file and must account for every byte (anonymise); lenient stops
there instead, and reads on past junk between JPEG segments the way libjpeg does (jdmarker.c `next_marker`),
for code that only looks (probe). Standard library only.

Sources: JPEG, ITU-T T.81 annex B (B.1.1.2 fill bytes, B.1.1.5 entropy-coded segments and 0xFF00 byte
stuffing, B.2.4 restart markers, table B.1 the marker codes); PNG, the PNG specification (third edition)
section 5 (signature, chunk layout, IEND last).
"""

from __future__ import annotations

import re
import struct
from collections.abc import Iterator
from typing import NamedTuple

# --- JPEG ------------------------------------------------------------------------------------------------------
SOI, EOI, SOS = 0xD8, 0xD9, 0xDA
SCAN = -1  # pseudo-marker: the entropy-coded data after an SOS header (its RSTn markers and stuffed 0xFF00 included)
TRAILER = -2  # pseudo-marker: bytes after EOI
JUNK = -3  # pseudo-marker (lenient mode only): bytes where a marker should be, skipped up to the next 0xFF
STANDALONE = frozenset({0x01, *range(0xD0, 0xD8)})  # TEM, RST0-7: markers without a length (T.81 B.1.1.3)
# SOFn (T.81 table B.1): 0xC0-0xCF except DHT (C4), JPG (C8) and DAC (CC)
SOF = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}
PROGRESSIVE_SOF = frozenset({0xC2, 0xC6, 0xCA, 0xCE})


# a NamedTuple built without its generated __new__ (a Python call): ~3x cheaper, and a PNG may hold 5,000 chunks
_new = tuple.__new__


class JPEGError(ValueError):
    """The marker structure cannot be followed (not a JPEG, or a segment runs past the end)."""


class Segment(NamedTuple):
    """One piece of a JPEG: `data[start:end]` is its raw bytes (fill bytes before the marker, marker, length and
    payload). `marker` is the second marker byte, or SCAN / TRAILER / JUNK. `body` is where the payload begins
    (after marker and length); == end for a standalone marker, == start for the pseudo-markers."""

    marker: int
    start: int
    end: int
    body: int

    def payload(self, data: bytes) -> bytes:
        """The segment's bytes after marker and length (the whole piece for SCAN, TRAILER and JUNK)."""
        return data[self.body : self.end]


# the 0xFF that ends entropy-coded data: one followed by a marker code other than RSTn; not 0xFF00 (a stuffed
# byte), not a fill byte 0xFF (the marker it precedes ends the scan)
_SCAN_END = re.compile(rb"\xff[^\x00\xd0-\xd7\xff]")


def jpeg_scan_end(data: bytes, pos: int) -> int:
    """Where the entropy-coded data starting at `pos` ends: at the first 0xFF that begins a marker other than
    RSTn. Stuffed 0xFF00 and RST0-7 belong to the scan (T.81 B.1.1.5, B.2.4); a fill byte 0xFF before a marker
    stays in the scan too. The end of the data when no marker follows (a truncated file). One regex pass in C:
    a 12 MP photo's scan holds some 20,000 stuffed bytes."""
    found = _SCAN_END.search(data, pos)
    return len(data) if found is None else found.start()


def jpeg_segments(data: bytes, strict: bool = True) -> Iterator[Segment]:
    """Each piece of a JPEG in file order: SOI, the marker segments, a SCAN piece after each SOS header, EOI, and a
    TRAILER piece for bytes after EOI. Strict, the pieces concatenate to `data`.

    A file that ends inside the scan data (truncated) ends with that SCAN piece, in both modes. A marker code that
    is neither standalone nor EOI (SOI too, when repeated) is read with a length, as T.81 B.1.1.4 gives every
    other marker one.

    Strict (anonymise: it rewrites the file and must account for every byte): raises JPEGError without SOI at
    byte 0, on a byte that is not a marker where one is due, on a file ending inside a marker or its length, and
    on a length below 2 or running past the end.

    Lenient (probe: it only looks): yields nothing without SOI. Where a marker is due, a non-0xFF byte starts a
    JUNK piece up to the next 0xFF, and 0xFF00 (no marker code) or a marker with a length below 2 is a JUNK piece
    of its own; the walk goes on after it. A segment whose length runs past the end is yielded cut at the end of
    the data (`end` == len(data)); that, or a file ending inside a marker, ends the walk.
    """
    n = len(data)
    if data[:2] != b"\xff\xd8":
        if strict:
            raise JPEGError("not a JPEG (no SOI marker)")
        return
    yield _new(Segment, (SOI, 0, 2, 2))
    pos = 2
    while pos < n:
        start = pos
        if data[pos] != 0xFF:
            if strict:
                raise JPEGError(f"expected a marker at byte {pos}, found 0x{data[pos]:02X}")
            nxt = data.find(b"\xff", pos)
            pos = n if nxt < 0 else nxt
            yield _new(Segment, (JUNK, start, pos, start))
            continue
        while pos + 1 < n and data[pos + 1] == 0xFF:  # fill bytes (T.81 B.1.1.2)
            pos += 1
        if pos + 1 >= n:
            if strict:
                raise JPEGError("file ends inside a marker")
            return
        marker = data[pos + 1]
        pos += 2
        if marker == EOI:
            yield _new(Segment, (EOI, start, pos, pos))
            if pos < n:
                yield _new(Segment, (TRAILER, pos, n, pos))
            return
        if marker in STANDALONE:
            yield _new(Segment, (marker, start, pos, pos))
            continue
        if marker == 0x00 and not strict:  # 0xFF00 outside a scan: not a marker (libjpeg discards it)
            yield _new(Segment, (JUNK, start, pos, start))
            continue
        if pos + 2 > n:
            if strict:
                raise JPEGError(f"segment 0x{marker:02X} at byte {start} is cut short")
            return
        end = pos + ((data[pos] << 8) | data[pos + 1])
        if end < pos + 2 or end > n:
            if strict:
                raise JPEGError(f"segment 0x{marker:02X} at byte {start} runs past the end of the file")
            if end < pos + 2:  # a length below 2 cannot be followed: the marker is junk, read on after it
                yield _new(Segment, (JUNK, start, pos, start))
                continue
            yield _new(Segment, (marker, start, n, pos + 2))
            return
        yield _new(Segment, (marker, start, end, pos + 2))
        pos = end
        if marker == SOS:
            scan_end = jpeg_scan_end(data, pos)
            yield _new(Segment, (SCAN, pos, scan_end, pos))
            pos = scan_end


# --- PNG -------------------------------------------------------------------------------------------------------
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_PNG_HEAD = struct.Struct(">I4s").unpack_from  # a chunk's length and type
PNG_TRAILER = b"<trailer>"  # the type given to the bytes after the last chunk (after IEND, normally)


class PNGError(ValueError):
    """The chunk structure cannot be followed."""


class Chunk(NamedTuple):
    """One PNG chunk: `data[start:end]` is its raw bytes (length, type, data, CRC), `length` its data field's
    declared length. Type PNG_TRAILER for the bytes after the last chunk (`length` is then their count)."""

    type: bytes
    start: int
    end: int
    length: int

    @property
    def data_start(self) -> int:
        """Offset of the chunk's data field (of the trailer's first byte)."""
        return self.start if self.type == PNG_TRAILER else self.start + 8

    def body(self, data: bytes) -> bytes:
        """The chunk's data field (the whole piece for the trailer); shorter than `length` when cut short."""
        first = self.data_start
        return data[first : first + self.length]


def png_chunks(data: bytes, strict: bool = True) -> Iterator[Chunk]:
    """Each chunk of a PNG in file order, up to and including IEND, then a PNG_TRAILER piece for any bytes left
    (after IEND, or a tail too short to be a chunk). The chunk data is not read (nor its CRC checked).

    Strict: raises PNGError without the signature or when a chunk's length runs past the end; a chunk needs its
    whole 12-byte frame. Lenient: yields nothing without the signature; a chunk whose 8-byte header is there but
    whose data or CRC runs past the end is yielded cut at the end of the data (`end` == len(data), `length` as
    declared) and the walk stops.
    """
    if not data.startswith(PNG_SIGNATURE):
        if strict:
            raise PNGError("not a PNG (no signature)")
        return
    n = len(data)
    pos = len(PNG_SIGNATURE)
    frame = 12 if strict else 8
    while pos + frame <= n:
        length, kind = _PNG_HEAD(data, pos)
        end = pos + 12 + length
        if end > n:
            if strict:
                raise PNGError(f"chunk {kind!r} at byte {pos} runs past the end of the file")
            yield _new(Chunk, (kind, pos, n, length))
            return
        yield _new(Chunk, (kind, pos, end, length))
        pos = end
        if kind == b"IEND":
            break
    if pos < n:
        yield Chunk(PNG_TRAILER, pos, n, n - pos)
