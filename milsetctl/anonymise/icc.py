"""Scrub an ICC profile: keep every colour tag byte for byte, replace every free-text tag by neutral text, and zero
the header fields that name a device or a moment (issue 15: a Nikon's profile said `NIKO`/`D750`/2022-07-05).

Editors let the user type a profile's description and copyright, so a profile can carry a person's name
('desc' "Profile of Maria García"). The profile is rebuilt rather than patched in place: the header, then the
tag table in its original order, then each tag's data. Only referenced tag data is copied, so text left in
unreferenced gaps (an editor that appended a new 'desc' and left the old one behind) is gone too.
Source of the layout: ICC.1:2010 (profile v4.3) section 7 and ICC.1:2001-04 (v2) for 'desc'/'text'.
"""

from __future__ import annotations

import struct

NEUTRAL = "ICC profile"
# tags whose content is text whatever their type; any other tag whose data is of a text type is scrubbed too
TEXT_SIGNATURES = {b"desc", b"cprt", b"dmnd", b"dmdd", b"vued", b"scrd", b"targ", b"meta"}
TEXT_TYPES = {b"text", b"desc", b"mluc", b"dict", b"utf8", b"utf6", b"zut8", b"zxml", b"utf1"}
HEADER = 128
# header fields that say whose device made the profile, and when (ICC.1:2010 section 7.2): zero means "not given".
# The rest of the header (size, CMM, version, class, colour spaces, rendering intent, illuminant) is colour data.
IDENTIFYING_HEADER = (("date", 24, 36), ("device maker", 48, 52), ("device model", 52, 56), ("creator", 80, 84))
# the numeric tag types of ICC.1:2010 section 10 (and v2's), plus private types common in real profiles (Apple
# 'vcgt' video card gamma, 'mmod', 'ndin'). A colour tag of any other type is no tag this module can vouch for
# (or a corrupted offset pointing into text): the profile is refused rather than copied.
COLOUR_TYPES = {
    b"XYZ ", b"curv", b"para", b"mft1", b"mft2", b"mAB ", b"mBA ", b"sf32", b"chrm", b"sig ", b"meas", b"view",
    b"dtim", b"ui08", b"ui16", b"ui32", b"ui64", b"uf32", b"clro", b"clrt", b"ncl2", b"pseq", b"psid", b"rcs2",
    b"mpet", b"crdi", b"bfd ", b"scrn", b"devs", b"data", b"cicp", b"vcgt", b"mmod", b"ndin", b"gbd ", b"ncol",
}


class ICCError(ValueError):
    """The bytes are not an ICC profile this module can rebuild."""


def _mluc(text: str) -> bytes:
    encoded = text.encode("utf-16-be")
    return b"mluc" + b"\x00" * 4 + struct.pack(">II", 1, 12) + b"enUS" + struct.pack(">II", len(encoded), 28) + encoded


def _text(text: str) -> bytes:
    return b"text" + b"\x00" * 4 + text.encode("ascii") + b"\x00"


def _desc(text: str) -> bytes:
    """v2 textDescriptionType: ASCII part, empty Unicode part, empty 67-byte ScriptCode part."""
    ascii_part = text.encode("ascii") + b"\x00"
    return (b"desc" + b"\x00" * 4 + struct.pack(">I", len(ascii_part)) + ascii_part
            + struct.pack(">II", 0, 0) + struct.pack(">HB", 0, 0) + b"\x00" * 67)


def _dict() -> bytes:
    return b"dict" + b"\x00" * 4 + struct.pack(">II", 0, 16)


def _neutral(sig: bytes, data: bytes, version: int) -> bytes:
    kind = data[:4]
    if kind == b"mluc":
        return _mluc(NEUTRAL)
    if kind == b"desc":
        return _desc(NEUTRAL)
    if kind == b"text":
        return _text(NEUTRAL)
    if kind == b"dict":
        return _dict()
    if version >= 4:  # v4 profiles write every text tag as mluc
        return _mluc(NEUTRAL)
    return _desc(NEUTRAL) if sig in (b"desc", b"dmnd", b"dmdd", b"vued", b"scrd") else _text(NEUTRAL)


PARA_PARAMS = {0: 1, 1: 3, 2: 4, 3: 5, 4: 7}


def _size_fits(data: bytes) -> bool:
    """For the common fixed-layout types, whether the declared size is the one the content implies (a corrupted
    size would otherwise copy the neighbouring bytes, a description perhaps, as colour data)."""
    kind, size = data[:4], len(data)
    if kind == b"XYZ ":
        return size >= 20 and (size - 8) % 12 == 0
    if kind == b"curv":
        return size >= 12 and size - (12 + 2 * struct.unpack(">I", data[8:12])[0]) in (0, 2)
    if kind == b"para":
        params = PARA_PARAMS.get(struct.unpack(">H", data[8:10])[0]) if size >= 12 else None
        return params is not None and size - (12 + 4 * params) in (0, 2)
    if kind == b"sf32":
        return size >= 8 and (size - 8) % 4 == 0
    if kind == b"chrm":
        return size >= 12 and size == 12 + 8 * struct.unpack(">H", data[8:10])[0]
    if kind == b"sig ":
        return size == 12
    return True


def is_text_tag(sig: bytes, data: bytes) -> bool:
    """True when the tag can hold free text (by signature or by the type of its data)."""
    return sig in TEXT_SIGNATURES or data[:4] in TEXT_TYPES


def header_traces(profile: bytes) -> list[str]:
    """What the header still says about the device and the date, e.g. ["device maker 'NIKO'", "date 2022-07-05
    09:30:00"]; empty for a scrubbed profile."""
    found = []
    for label, start, end in IDENTIFYING_HEADER:
        field = profile[start:end]
        if len(field) < end - start or not any(field):
            continue
        if label == "date":
            y, mo, d, h, mi, sec = struct.unpack(">6H", field)
            found.append(f"date {y:04d}-{mo:02d}-{d:02d} {h:02d}:{mi:02d}:{sec:02d}")
        else:
            shown = field.decode("latin-1") if all(32 <= b < 127 for b in field) else field.hex()
            found.append(f"{label} {shown!r}")
    return found


def _table(profile: bytes) -> list[tuple[bytes, int, int]]:
    """(signature, offset, size) of every tag in table order. Raises ICCError when the header or table is
    inconsistent."""
    if len(profile) < HEADER + 4:
        raise ICCError("profile shorter than its header")
    declared = struct.unpack(">I", profile[:4])[0]
    if declared > len(profile) or declared < HEADER + 4 or profile[36:40] != b"acsp":
        raise ICCError("not an ICC profile (size or 'acsp' signature wrong)")
    count = struct.unpack(">I", profile[HEADER:HEADER + 4])[0]
    table_end = HEADER + 4 + 12 * count
    if count > 1000 or table_end > declared:
        raise ICCError(f"tag table of {count} tags does not fit in the profile")
    table = [struct.unpack(">4sII", profile[HEADER + 4 + 12 * i:HEADER + 16 + 12 * i]) for i in range(count)]
    for sig, offset, size in table:
        if offset + size > declared or offset < table_end and size:
            raise ICCError(f"tag {sig!r} points outside the profile")
    return table


def tags(profile: bytes) -> list[tuple[bytes, bytes]]:
    """(signature, data) of every tag in table order. Raises ICCError (see _table)."""
    return [(sig, profile[offset:offset + size]) for sig, offset, size in _table(profile)]


def scrub_icc(profile: bytes) -> bytes:
    """The profile with every free-text tag replaced by "ICC profile", the profile ID and the identifying header
    fields (IDENTIFYING_HEADER) zeroed.

    Colour tags (TRC, matrix, LUTs, white point...) keep their bytes; the tag table keeps its signatures and
    order; offsets change because the data is laid out anew (4-byte aligned, as the spec requires).
    Raises ICCError when the header or tag table is inconsistent (the caller drops such a profile).
    """
    entries = _table(profile)
    version = profile[8]
    count = len(entries)
    table_end = HEADER + 4 + 12 * count

    body = bytearray(profile[:HEADER])
    body += struct.pack(">I", count) + b"\x00" * (12 * count)
    placed: dict[tuple[int, int], tuple[int, int]] = {}  # (old offset, size) -> (new offset, size): shared data
    table = bytearray()
    for sig, offset, size in entries:
        data = profile[offset:offset + size]
        if is_text_tag(sig, data):
            new = _neutral(sig, data, version)
            while len(body) % 4:
                body += b"\x00"
            new_offset = len(body)
            body += new
            table += struct.pack(">4sII", sig, new_offset, len(new))
            continue
        if data[:4] not in COLOUR_TYPES:
            raise ICCError(f"tag {sig.decode('latin-1')!r} has an unknown type {data[:4]!r}")
        if not _size_fits(data):
            raise ICCError(f"tag {sig.decode('latin-1')!r} has a size its type does not allow")
        key = (offset, size)
        if key not in placed:
            while len(body) % 4:
                body += b"\x00"
            placed[key] = (len(body), size)
            body += data
        new_offset, new_size = placed[key]
        table += struct.pack(">4sII", sig, new_offset, new_size)
    while len(body) % 4:
        body += b"\x00"
    body[HEADER + 4:table_end] = table
    struct.pack_into(">I", body, 0, len(body))
    body[84:100] = b"\x00" * 16  # profile ID (MD5) no longer matches; zero means "not computed" (ICC 7.2.18)
    for _label, start, end in IDENTIFYING_HEADER:
        body[start:end] = b"\x00" * (end - start)
    return bytes(body)
