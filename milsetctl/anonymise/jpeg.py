"""Lossless JPEG metadata stripping: rewrite the marker segments, never touch the compressed picture.

The entropy-coded data and the tables that decode it (DQT, DHT, SOFn, DRI, SOS, DNL) are copied byte for
byte, so the packaged photo decodes to exactly the original's pixels (issue 6: "no re-encoding"). What a camera
or editor adds around them (EXIF, XMP, IPTC, comments, MPF, maker blocks, data after EOI) is dropped, except
the orientation (kept as a one-tag EXIF so the photo still shows the right way up) and the ICC profile (kept
with its text scrubbed). Marker layout: ITU-T T.81 annex B; EXIF: CIPA DC-008; ICC in JPEG: ICC.1 annex B.4.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

from milsetctl.anonymise.icc import ICCError, scrub_icc
from milsetctl.imageformat import EOI, SCAN, SOI, SOS, STANDALONE, TRAILER, JPEGError, jpeg_segments

COM = 0xFE
APP0, APP1, APP2, APP13, APP14 = 0xE0, 0xE1, 0xE2, 0xED, 0xEE
EXIF_HEADER = b"Exif\x00\x00"
ICC_HEADER = b"ICC_PROFILE\x00"
XMP_HEADERS = (b"http://ns.adobe.com/xap/1.0/\x00", b"http://ns.adobe.com/xmp/extension/\x00")
ICC_CHUNK = 65535 - 2 - len(ICC_HEADER) - 2  # payload bytes per APP2 segment
ORIENTATION = 0x0112
# the segments a decoder needs (T.81 table B.1): SOFn (not C4 DHT, C8 JPG, CC DAC, which are listed apart), DHT,
# DAC, DQT, DRI, DNL, DHP, EXP, SOS, EOI and the restart markers. Everything else (APPn, COM, JPGn, reserved or
# corrupted marker codes) is metadata or noise and is dropped.
DECODING = {*range(0xC0, 0xD0), 0xDB, 0xDD, 0xDC, 0xDE, 0xDF, SOS, EOI, SCAN, *STANDALONE} - {0xC8}


def segment_name(marker: int, payload: bytes) -> str:
    """A reader's name for a block, e.g. "APP1 EXIF", "APP1 XMP", "APP2 ICC", "COM", "DQT"."""
    if marker == SCAN:
        return "scan data"
    if marker == TRAILER:
        return "data after EOI"
    if marker == COM:
        return "COM"
    if 0xE0 <= marker <= 0xEF:
        base = f"APP{marker - 0xE0}"
        if marker == APP1 and payload.startswith(EXIF_HEADER):
            return base + " EXIF"
        if marker == APP1 and payload.startswith(XMP_HEADERS):
            return base + " XMP"
        if marker == APP2 and payload.startswith(ICC_HEADER):
            return base + " ICC"
        if marker == APP2 and payload.startswith(b"MPF\x00"):
            return base + " MPF"
        if marker == APP13:
            return base + " IPTC/Photoshop"
        if marker == APP0 and payload.startswith(b"JFIF\x00"):
            return base + " JFIF"
        if marker == APP14 and payload.startswith(b"Adobe"):
            return base + " Adobe"
        return base
    names = {SOI: "SOI", EOI: "EOI", SOS: "SOS", 0xDB: "DQT", 0xC4: "DHT", 0xDD: "DRI", 0xDC: "DNL", 0xCC: "DAC"}
    if marker in names:
        return names[marker]
    if 0xC0 <= marker <= 0xCF:
        return f"SOF{marker - 0xC0}"
    return f"marker 0x{marker:02X}"


# --- EXIF (TIFF) structure -------------------------------------------------------------------------------------
def tiff_tags(tiff: bytes) -> list[tuple[str, int, int, bytes]]:
    """Every tag of a TIFF/EXIF block as (IFD name, tag, type, raw 4-byte value field); IFD0, Exif, GPS,
    Interop and IFD1. Follows pointers defensively: a loop or an offset out of range ends that IFD."""
    if tiff[:4] not in (b"II*\x00", b"MM\x00*"):
        return []
    order = "<" if tiff[:2] == b"II" else ">"
    found: list[tuple[str, int, int, bytes]] = []
    seen: set[int] = set()
    todo: list[tuple[str, int]] = [("IFD0", struct.unpack(order + "I", tiff[4:8])[0])]
    subs = {0x8769: "Exif", 0x8825: "GPS", 0xA005: "Interop"}
    while todo:
        name, offset = todo.pop(0)
        if offset in seen or offset < 8 or offset + 2 > len(tiff):
            continue
        seen.add(offset)
        count = struct.unpack(order + "H", tiff[offset:offset + 2])[0]
        for i in range(min(count, 1000)):
            entry = offset + 2 + 12 * i
            if entry + 12 > len(tiff):
                break
            tag, kind = struct.unpack(order + "HH", tiff[entry:entry + 4])
            value = tiff[entry + 8:entry + 12]
            found.append((name, tag, kind, value))
            if tag in subs:
                todo.append((subs[tag], struct.unpack(order + "I", value)[0]))
        after = offset + 2 + 12 * count
        if name == "IFD0" and after + 4 <= len(tiff):
            nxt = struct.unpack(order + "I", tiff[after:after + 4])[0]
            if nxt:
                todo.append(("IFD1", nxt))
    return found


def exif_orientation(tiff: bytes) -> int:
    """The Orientation tag (1-8) of IFD0, 1 when absent or out of range."""
    order = "<" if tiff[:2] == b"II" else ">"
    for ifd, tag, kind, value in tiff_tags(tiff):
        if ifd == "IFD0" and tag == ORIENTATION and kind == 3:
            orientation = struct.unpack(order + "H", value[:2])[0]
            return orientation if 1 <= orientation <= 8 else 1
    return 1


def minimal_exif(orientation: int) -> bytes:
    """An APP1 EXIF payload holding one tag, Orientation (SHORT), in IFD0; nothing else."""
    ifd = struct.pack(">H", 1) + struct.pack(">HHIHH", ORIENTATION, 3, 1, orientation, 0) + struct.pack(">I", 0)
    return EXIF_HEADER + b"MM\x00*" + struct.pack(">I", 8) + ifd


def well_formed(marker: int, payload: bytes) -> bool:
    """Whether a decoding segment's payload has exactly the layout T.81 annex B gives it. A kept segment is
    copied as is, so a corrupted length that swallowed a neighbouring comment must not pass for a table."""
    n = len(payload)
    if marker in (0xDD, 0xDC):  # DRI, DNL
        return n == 2
    if marker == 0xDF:  # EXP
        return n == 1
    if marker == 0xCC:  # DAC
        return n % 2 == 0
    if marker == SOS:
        return n >= 1 and n == 4 + 2 * payload[0]
    if marker == 0xDB:  # DQT: (precision/table byte, 64 or 128 bytes)...
        pos = 0
        while pos < n:
            pos += 1 + (128 if payload[pos] >> 4 else 64)
        return pos == n and n > 0
    if marker == 0xC4:  # DHT: (class/table byte, 16 counts, the values)...
        pos = 0
        while pos < n:
            if pos + 17 > n:
                return False
            pos += 17 + sum(payload[pos + 1:pos + 17])
        return pos == n and n > 0
    if 0xC0 <= marker <= 0xCF or marker == 0xDE:  # SOFn, DHP
        return n >= 6 and n == 6 + 3 * payload[5]
    return True


def _segment(marker: int, payload: bytes) -> bytes:
    return bytes([0xFF, marker]) + struct.pack(">H", len(payload) + 2) + payload


def icc_segments(profile: bytes) -> bytes:
    """A profile cut into APP2 ICC_PROFILE segments (sequence numbers from 1)."""
    chunks = [profile[i:i + ICC_CHUNK] for i in range(0, len(profile), ICC_CHUNK)] or [b""]
    return b"".join(_segment(APP2, ICC_HEADER + bytes([i + 1, len(chunks)]) + chunk) for i, chunk in enumerate(chunks))


def reassemble_icc(chunks: list[bytes]) -> bytes | None:
    """The profile from APP2 ICC_PROFILE payloads (any order); None when chunks are missing or repeated."""
    numbered = {}
    total = None
    for payload in chunks:
        if len(payload) < len(ICC_HEADER) + 2:
            return None
        seq, count = payload[len(ICC_HEADER)], payload[len(ICC_HEADER) + 1]
        if seq in numbered or (total is not None and count != total):
            return None
        total = count
        numbered[seq] = payload[len(ICC_HEADER) + 2:]
    if not numbered or sorted(numbered) != list(range(1, (total or 0) + 1)):
        return None
    return b"".join(numbered[i] for i in sorted(numbered))


@dataclass
class Stripped:
    """The rewritten file and what happened: `dropped` names the removed blocks, `notes` anything the
    coordinator should know (a profile that could not be kept, a missing EOI)."""

    data: bytes
    orientation: int = 1
    dropped: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def strip_jpeg(data: bytes) -> Stripped:
    """A JPEG with every metadata block removed and the picture data untouched.

    Kept: SOI; APP0 JFIF (its embedded thumbnail removed); a minimal EXIF with the Orientation when it is not 1;
    the ICC profile, scrubbed (icc.scrub_icc) and re-chunked; APP14 Adobe (colour transform flag, needed to
    decode CMYK/YCCK); every table and frame segment and the scan data byte for byte, through EOI.
    Dropped: every other APPn (EXIF, XMP and extended XMP, IPTC, MPF, FlashPix, maker blocks), COM, JPGn
    extension markers, reserved or corrupted marker codes, and anything after EOI. Raises JPEGError when the
    structure cannot be followed or a kept segment is malformed (the caller then re-encodes from the pixels).
    """
    pieces = list(jpeg_segments(data))  # strict: the whole structure is followed before anything is kept
    result = Stripped(b"")
    jfif: bytes | None = None
    adobe: bytes | None = None
    icc_chunks: list[bytes] = []
    head: list[bytes] = []  # kept non-APP segments before the first SOS, in order
    body: list[bytes | memoryview] = []  # from the first SOS on, verbatim except APPn/COM
    in_body = False
    has_eoi = False
    view = memoryview(data)
    for seg in pieces:
        marker = seg.marker
        if marker == SOI:
            continue
        if marker == TRAILER:  # never sliced: a phone's trailer (a depth map) may be megabytes
            result.dropped.append(segment_name(marker, b""))
            continue
        if marker == SCAN:  # the entropy-coded data, ~all of the file: copied once, into the result
            body.append(view[seg.start:seg.end])
            continue
        raw = data[seg.start:seg.end]
        payload = seg.payload(data)
        if marker == EOI:
            has_eoi = True
        if marker == SOS:
            in_body = True
        if marker not in DECODING:
            name = segment_name(marker, payload)
            if not in_body and marker == APP0 and payload.startswith(b"JFIF\x00") and jfif is None \
                    and len(payload) >= 14:
                jfif = payload[:12] + b"\x00\x00"  # version, units, density; thumbnail 0x0 (dropped)
                continue
            if not in_body and marker == APP1 and payload.startswith(EXIF_HEADER) and result.orientation == 1:
                result.orientation = exif_orientation(payload[len(EXIF_HEADER):])
            elif not in_body and marker == APP2 and payload.startswith(ICC_HEADER):
                icc_chunks.append(payload)
                continue
            elif not in_body and marker == APP14 and payload.startswith(b"Adobe") and adobe is None \
                    and len(payload) >= 12:
                adobe = payload[:12]
                continue
            result.dropped.append(name)
            continue
        if not well_formed(marker, payload):
            raise JPEGError(f"{segment_name(marker, payload)} segment at byte {seg.start} is malformed")
        (body if in_body else head).append(raw)

    if not has_eoi:  # truncated, or its EOI damaged: whatever followed it (a trailer) would pass for scan data
        raise JPEGError("no end-of-image marker: the file is truncated or damaged")
    out = bytearray(b"\xff\xd8")
    if jfif is not None:
        out += _segment(APP0, jfif)
    if result.orientation != 1:
        out += _segment(APP1, minimal_exif(result.orientation))
    if icc_chunks:
        profile = reassemble_icc(icc_chunks)
        try:
            if profile is None:
                raise ICCError("its APP2 chunks are incomplete or repeated")
            out += icc_segments(scrub_icc(profile))
        except ICCError as exc:
            result.dropped.append("APP2 ICC")
            result.notes.append(f"colour profile dropped ({exc}); the photo shows as sRGB")
    if adobe is not None:
        out += _segment(APP14, adobe)
    for raw in head:
        out += raw
    result.data = b"".join([out, *body])  # one copy of the scan data (a 12 MP photo's 4 MB), not three
    return result
