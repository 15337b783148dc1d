"""Lossless PNG metadata stripping: keep the picture and colour chunks, drop every other ancillary chunk.

IDAT chunks are copied byte for byte. Text (tEXt, zTXt, iTXt), EXIF (eXIf), time stamps (tIME) and any private
or unknown chunk go; the embedded ICC profile stays with its free-text name replaced and its text tags
scrubbed. Chunk layout: PNG specification (third edition) section 5; iCCP: section 11.3.3.3.
"""

from __future__ import annotations

import struct
import zlib

from milsetctl.anonymise.icc import ICCError, scrub_icc
from milsetctl.anonymise.jpeg import Stripped
from milsetctl.imageformat import PNG_SIGNATURE, PNG_TRAILER, PNGError, png_chunks

# chunks that carry only picture or colour data (numbers, no free text)
KEEP = {b"IHDR", b"PLTE", b"IDAT", b"IEND", b"tRNS", b"gAMA", b"cHRM", b"sRGB", b"sBIT", b"pHYs"}
# newer colour chunks with fixed numeric layouts (PNG third edition): kept only at their exact size
FIXED_SIZE = {b"cICP": 4, b"mDCv": 24, b"cLLi": 8}
SIZES = {b"IHDR": 13, b"gAMA": 4, b"cHRM": 32, b"sRGB": 1, b"pHYs": 9, b"IEND": 0}
TEXT_CHUNKS = {b"tEXt", b"zTXt", b"iTXt"}
ICC_NAME = b"ICC profile"
MAX_ICC = 16 << 20  # a decompressed profile larger than this is not a colour profile


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)


def iccp_profile(body: bytes) -> tuple[bytes, bytes]:
    """(name, decompressed profile) of an iCCP chunk's data. Raises ValueError when it cannot be read."""
    name, sep, rest = body.partition(b"\x00")
    if not sep or not rest or rest[0] != 0:
        raise ValueError("iCCP chunk without a name or with an unknown compression method")
    inflater = zlib.decompressobj()
    profile = inflater.decompress(rest[1:], MAX_ICC)
    if inflater.unconsumed_tail:
        raise ValueError("iCCP profile larger than 16 MB")
    return name, profile


def strip_png(data: bytes) -> Stripped:
    """A PNG holding only IHDR, PLTE, IDAT, IEND and the colour chunks (tRNS, gAMA, cHRM, sRGB, sBIT, pHYs,
    cICP/mDCv/cLLi, iCCP renamed "ICC profile" with the profile scrubbed); IDAT bytes unchanged.

    Dropped: tEXt/zTXt/iTXt, eXIf, tIME, every other ancillary chunk, anything after IEND. Raises PNGError
    when the structure cannot be followed, IHDR/IDAT are missing, or a kept chunk fails its CRC or size check
    (the caller then re-encodes from the pixels).
    """
    pieces = list(png_chunks(data))  # strict: the whole structure is followed before anything is kept
    kinds = [c.type for c in pieces]
    if not kinds or kinds[0] != b"IHDR" or b"IDAT" not in kinds:
        raise PNGError("PNG without IHDR or IDAT")
    result = Stripped(b"")
    out = bytearray(PNG_SIGNATURE)
    for c in pieces:
        if c.type in KEEP or FIXED_SIZE.get(c.type) == c.end - c.start - 12:
            raw = data[c.start:c.end]
            if zlib.crc32(raw[4:-4]) & 0xFFFFFFFF != struct.unpack(">I", raw[-4:])[0]:
                # a damaged length could make this chunk swallow a text chunk: copy nothing we cannot vouch for
                raise PNGError(f"chunk {c.type.decode('latin-1')} at byte {c.start} fails its CRC check")
            if SIZES.get(c.type, len(raw) - 12) != len(raw) - 12:
                raise PNGError(f"chunk {c.type.decode('latin-1')} at byte {c.start} has the wrong size")
            out += raw
        elif c.type == b"iCCP":
            try:
                _name, profile = iccp_profile(c.body(data))
                scrubbed = scrub_icc(profile)
                out += _chunk(b"iCCP", ICC_NAME + b"\x00\x00" + zlib.compress(scrubbed, 9))
            except (ValueError, ICCError, zlib.error) as exc:
                result.dropped.append("iCCP")
                result.notes.append(f"colour profile dropped ({exc}); the photo shows as sRGB")
        else:
            result.dropped.append("data after IEND" if c.type == PNG_TRAILER else c.type.decode("latin-1"))
    if b"IEND" not in kinds:
        out += _chunk(b"IEND", b"")
        result.notes.append("the file had no IEND chunk; one was added")
    result.data = bytes(out)
    return result
