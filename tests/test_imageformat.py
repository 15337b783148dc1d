"""The one JPEG marker walker and PNG chunk walker (milsetctl/imageformat.py), on bytes built here.

Each structure T.81 annex B and the PNG specification allow, or a broken file carries, is built byte by byte (or by
Pillow, for real scans): fill bytes before a marker, restart markers and 0xFF00 stuffing inside the entropy-coded
data, a truncated file, bytes after EOI or IEND, a progressive JPEG with many scans; and how the strict and the
lenient walks answer each.
"""

from __future__ import annotations

import io
import struct
import zlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from milsetctl.imageformat import (
    EOI,
    JUNK,
    PNG_SIGNATURE,
    PNG_TRAILER,
    SCAN,
    SOF,
    SOI,
    SOS,
    TRAILER,
    Chunk,
    JPEGError,
    PNGError,
    Segment,
    jpeg_scan_end,
    jpeg_segments,
    png_chunks,
)

DQT, DHT, SOF0, SOF2, APP0, APP1, COM = 0xDB, 0xC4, 0xC0, 0xC2, 0xE0, 0xE1, 0xFE


def seg(marker: int, payload: bytes) -> bytes:
    """A marker segment: 0xFF, the code, the length (counting itself), the payload."""
    return bytes([0xFF, marker]) + struct.pack(">H", len(payload) + 2) + payload


def sof(width: int, height: int, marker: int = SOF0) -> bytes:
    return seg(marker, bytes([8]) + struct.pack(">HH", height, width) + b"\x01\x01\x11\x00")


SOS_HEADER = seg(SOS, b"\x01\x01\x00\x00\x3f\x00")  # one component, Ss 0, Se 63, Ah/Al 0


def chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def pillow(fmt: str, size: tuple[int, int] = (96, 64), **options: object) -> bytes:
    gradient = Image.linear_gradient("L").resize(size)
    picture = Image.merge("RGB", (gradient, gradient.transpose(Image.Transpose.FLIP_LEFT_RIGHT), gradient))
    out = io.BytesIO()
    picture.save(out, fmt, **options)
    return out.getvalue()


def markers(pieces: list[Segment]) -> list[int]:
    return [p.marker for p in pieces]


def assert_tiles(pieces: list[Segment] | list[Chunk], data: bytes) -> None:
    """The pieces follow each other without gap or overlap and cover the whole file."""
    assert pieces[0].start == (0 if isinstance(pieces[0], Segment) else len(PNG_SIGNATURE))
    for before, after in zip(pieces, pieces[1:], strict=False):
        assert before.end == after.start
    assert pieces[-1].end == len(data)


# --- JPEG ------------------------------------------------------------------------------------------------------
def test_fill_bytes_belong_to_the_segment_they_precede() -> None:
    data = b"\xff\xd8" + b"\xff\xff\xff" + seg(APP0, b"JFIF\x00") + sof(4, 2) + SOS_HEADER + b"\x12\x34" + b"\xff\xd9"
    pieces = list(jpeg_segments(data))
    assert markers(pieces) == [SOI, APP0, SOF0, SOS, SCAN, EOI]
    app0 = pieces[1]
    assert (app0.start, data[app0.start : app0.start + 5]) == (2, b"\xff\xff\xff\xff\xe0")  # 3 fill bytes + marker
    assert app0.payload(data) == b"JFIF\x00"
    assert_tiles(pieces, data)
    assert markers(list(jpeg_segments(data, strict=False))) == markers(pieces)


def test_stuffed_ff00_and_restart_markers_stay_in_the_scan() -> None:
    scan = b"\x12\xff\x00\x34" + b"\xff\xd0" + b"\x56\xff\x00" + b"\xff\xd7" + b"\x78"
    data = b"\xff\xd8" + sof(4, 2) + SOS_HEADER + scan + b"\xff\xd9"
    pieces = list(jpeg_segments(data))
    assert markers(pieces) == [SOI, SOF0, SOS, SCAN, EOI]
    assert pieces[3].payload(data) == scan
    assert jpeg_scan_end(data, pieces[3].start) == pieces[4].start


def test_a_fill_byte_before_the_marker_that_ends_a_scan() -> None:
    """0xFF 0xFF 0xD9 after the scan: the fill byte stays with the scan data, the marker starts the next piece."""
    data = b"\xff\xd8" + sof(4, 2) + SOS_HEADER + b"\x12\x34\xff\xff\xd9"
    pieces = list(jpeg_segments(data))
    assert markers(pieces)[-2:] == [SCAN, EOI]
    assert pieces[-2].payload(data) == b"\x12\x34\xff"
    assert data[pieces[-1].start :] == b"\xff\xd9"


def _scan_end_bytewise(data: bytes, pos: int) -> int:
    """T.81 B.1.1.5 read literally, one 0xFF at a time (what the walkers did before the regex)."""
    while True:
        ff = data.find(b"\xff", pos)
        if ff < 0 or ff + 1 >= len(data):
            return len(data)
        follower = data[ff + 1]
        if follower == 0x00 or 0xD0 <= follower <= 0xD7:
            pos = ff + 2
        elif follower == 0xFF:
            pos = ff + 1
        else:
            return ff


@settings(max_examples=500, deadline=None)
@given(st.lists(st.sampled_from([0x00, 0x12, 0xFF, 0xD0, 0xD7, 0xD8, 0xD9, 0xC4, 0xDA]), max_size=40))
def test_scan_end_is_the_bytewise_rule(codes: list[int]) -> None:
    data = bytes(codes)
    for pos in range(len(data) + 1):
        assert jpeg_scan_end(data, pos) == _scan_end_bytewise(data, pos)


def test_restart_markers_in_a_real_scan() -> None:
    data = pillow("JPEG", (128, 64), quality=80, restart_marker_blocks=1)
    pieces = list(jpeg_segments(data))
    scans = [p for p in pieces if p.marker == SCAN]
    assert len(scans) == 1 and markers(pieces)[-1] == EOI
    body = scans[0].payload(data)
    assert all(bytes([0xFF, rst]) in body for rst in range(0xD0, 0xD8))  # RST0-7 all inside the one scan
    assert_tiles(pieces, data)


def test_progressive_jpeg_has_one_scan_piece_after_each_sos() -> None:
    data = pillow("JPEG", quality=80, progressive=True)
    pieces = list(jpeg_segments(data))
    kinds = markers(pieces)
    assert SOF2 in kinds and kinds[-1] == EOI
    assert kinds.count(SOS) == kinds.count(SCAN) >= 5  # libjpeg's default progression has ~10 scans
    for i, marker in enumerate(kinds):
        if marker == SOS:
            assert kinds[i + 1] == SCAN
    assert DHT in kinds[kinds.index(SOS) :]  # tables between the scans are segments again, not scan data
    assert_tiles(pieces, data)
    assert list(jpeg_segments(data, strict=False)) == pieces


def test_sof_gives_the_size_pillow_reads() -> None:
    data = pillow("JPEG", (123, 45), quality=80)
    frame = next(p for p in jpeg_segments(data) if p.marker in SOF)
    payload = frame.payload(data)
    assert struct.unpack(">HH", payload[3:5] + payload[1:3]) == Image.open(io.BytesIO(data)).size


def test_trailer_after_eoi() -> None:
    data = pillow("JPEG", quality=80) + b"hidden message"
    pieces = list(jpeg_segments(data))
    assert markers(pieces)[-2:] == [EOI, TRAILER]
    assert pieces[-1].payload(data) == b"hidden message"
    assert_tiles(pieces, data)


def test_truncated_inside_the_scan_ends_with_the_scan_in_both_modes() -> None:
    whole = pillow("JPEG", quality=80)
    data = whole[: len(whole) - 40]
    for strict in (True, False):
        pieces = list(jpeg_segments(data, strict=strict))
        assert pieces[-1].marker == SCAN and pieces[-1].end == len(data)
        assert EOI not in markers(pieces)


def test_truncated_inside_a_header_segment() -> None:
    data = b"\xff\xd8" + seg(APP1, b"Exif\x00\x00" + b"x" * 100)[:50]
    with pytest.raises(JPEGError, match="runs past the end"):
        list(jpeg_segments(data))
    pieces = list(jpeg_segments(data, strict=False))
    assert markers(pieces) == [SOI, APP1]
    assert pieces[-1].end == len(data)  # cut at the end of the data, and the walk stops
    with pytest.raises(JPEGError, match="ends inside a marker"):
        list(jpeg_segments(b"\xff\xd8\xff"))
    assert markers(list(jpeg_segments(b"\xff\xd8\xff", strict=False))) == [SOI]
    with pytest.raises(JPEGError, match="cut short"):
        list(jpeg_segments(b"\xff\xd8\xff\xe0\x00"))


def test_junk_between_segments() -> None:
    """Strict raises where a marker is due; lenient names the junk and reads on, as libjpeg does."""
    data = b"\xff\xd8" + seg(COM, b"hello") + b"\x00\x01junk" + sof(4, 2) + b"\xff\x00" + SOS_HEADER + b"\x12\xff\xd9"
    with pytest.raises(JPEGError, match="expected a marker"):
        list(jpeg_segments(data))
    pieces = list(jpeg_segments(data, strict=False))
    assert markers(pieces) == [SOI, COM, JUNK, SOF0, JUNK, SOS, SCAN, EOI]
    assert pieces[2].payload(data) == b"\x00\x01junk"
    assert pieces[4].payload(data) == b"\xff\x00"
    assert_tiles(pieces, data)


def test_a_length_below_two() -> None:
    data = b"\xff\xd8" + b"\xff\xe0\x00\x01" + sof(4, 2) + SOS_HEADER + b"\xff\xd9"
    with pytest.raises(JPEGError, match="runs past the end"):
        list(jpeg_segments(data))
    kinds = markers(list(jpeg_segments(data, strict=False)))
    assert kinds[:3] == [SOI, JUNK, JUNK] and kinds[3:] == [SOF0, SOS, SCAN, EOI]


def test_ff00_where_a_marker_is_due() -> None:
    """Strict reads it as a marker with a length (anonymise always did: a length that does not fit raises);
    lenient skips it as junk, as libjpeg does."""
    data = b"\xff\xd8" + b"\xff\x00\x00\x04ab" + sof(4, 2) + SOS_HEADER + b"\xff\xd9"
    assert markers(list(jpeg_segments(data)))[:3] == [SOI, 0x00, SOF0]
    assert markers(list(jpeg_segments(data, strict=False)))[:4] == [SOI, JUNK, JUNK, SOF0]  # 0xFF00, then its "length"


def test_standalone_markers_have_no_length() -> None:
    data = b"\xff\xd8\xff\x01" + sof(4, 2) + b"\xff\xd3" + SOS_HEADER + b"\x12\xff\xd9"
    pieces = list(jpeg_segments(data))
    assert markers(pieces) == [SOI, 0x01, SOF0, 0xD3, SOS, SCAN, EOI]
    assert pieces[1].end - pieces[1].start == 2 and pieces[1].body == pieces[1].end


def test_not_a_jpeg() -> None:
    with pytest.raises(JPEGError, match="no SOI"):
        list(jpeg_segments(b"GIF89a"))
    assert list(jpeg_segments(b"GIF89a", strict=False)) == []
    assert list(jpeg_segments(b"", strict=False)) == []


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_any_bytes_after_soi(tail: bytes) -> None:
    """Strict either raises JPEGError or tiles the file; lenient never raises, and tiles a prefix of it (the whole
    file, unless it stopped at a length it could not follow)."""
    data = b"\xff\xd8" + tail
    try:
        pieces = list(jpeg_segments(data))
    except JPEGError:
        pieces = []
    else:
        assert_tiles(pieces, data)
    loose = list(jpeg_segments(data, strict=False))
    assert loose[0].start == 0 and loose[-1].end <= len(data)
    for before, after in zip(loose, loose[1:], strict=False):
        assert before.start <= before.body <= before.end == after.start
    if pieces and 0x00 not in markers(pieces):
        assert loose == pieces  # strict reads 0xFF00 with a length (as anonymise always did), lenient as junk


# --- PNG -------------------------------------------------------------------------------------------------------
def kinds(pieces: list[Chunk]) -> list[bytes]:
    return [c.type for c in pieces]


def test_png_chunks_and_bodies() -> None:
    data = pillow("PNG", (16, 8))
    pieces = list(png_chunks(data))
    assert kinds(pieces)[0] == b"IHDR" and kinds(pieces)[-1] == b"IEND" and b"IDAT" in kinds(pieces)
    assert struct.unpack(">II", pieces[0].body(data)[:8]) == (16, 8)
    assert all(c.end - c.start == 12 + c.length for c in pieces)
    assert_tiles(pieces, data)
    assert list(png_chunks(data, strict=False)) == pieces


def test_a_chunk_after_iend_is_the_trailer() -> None:
    after = chunk(b"tEXt", b"Author\x00someone")
    data = pillow("PNG", (16, 8)) + after
    for strict in (True, False):
        pieces = list(png_chunks(data, strict=strict))
        assert kinds(pieces)[-2:] == [b"IEND", PNG_TRAILER]
        assert pieces[-1].body(data) == after and pieces[-1].length == len(after)
        assert b"tEXt" not in kinds(pieces)


def test_truncated_png() -> None:
    whole = pillow("PNG", (16, 8))
    data = whole[:-20]  # cut inside the IDAT chunk (IEND is the last 12 bytes)
    with pytest.raises(PNGError, match="runs past the end"):
        list(png_chunks(data))
    pieces = list(png_chunks(data, strict=False))
    last = pieces[-1]
    assert last.type == b"IDAT" and last.end == len(data) and len(last.body(data)) < last.length
    # a tail too short for a chunk's frame: strict calls it the trailer, lenient reads its header when it can
    short = PNG_SIGNATURE + chunk(b"IHDR", bytes(13)) + b"\x00\x00\x00\x05IDAT"
    assert kinds(list(png_chunks(short))) == [b"IHDR", PNG_TRAILER]
    assert kinds(list(png_chunks(short, strict=False))) == [b"IHDR", b"IDAT"]


def test_not_a_png() -> None:
    with pytest.raises(PNGError, match="no signature"):
        list(png_chunks(b"\xff\xd8\xff"))
    assert list(png_chunks(b"\xff\xd8\xff", strict=False)) == []
