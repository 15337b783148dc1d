"""Read a photo once and keep everything the rules need: the probe.

`probe_bytes` is a pure function of a file's bytes (plus the limits in the settings): content hash,
format sniffed from the bytes, header dimensions, EXIF (parsed once, by Pillow's reader), XMP, text
chunks, and one reduced decode (JPEG DCT scaling) that every pixel rule shares. It never raises for a bad
file: what is wrong with the file is recorded in `info.error`; what the decoder noticed without losing any
of the picture goes to `notes`. A failure of the machine rather than the file (out of memory) is kept
apart in `transient`, so that it is never remembered as a verdict about the file.

No process-wide state is changed: Pillow's pixel and text-chunk limits stay as they are (oversized
metadata chunks are read here and hidden from Pillow; the contest's own pixel limit is applied from the
header), and its warnings are silenced only around each call.
"""

from __future__ import annotations

import hashlib
import html
import io
import logging
import re
import warnings
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import ExifTags, Image, ImageFile, PngImagePlugin, UnidentifiedImageError

from milsetctl.fsutil import atomic_path
from milsetctl.hashing import dhash_hex, phash_hex
from milsetctl.imageformat import JUNK, PROGRESSIVE_SOF, SOF, SOS, jpeg_segments, png_chunks
from milsetctl.models import PhotoInfo

# bump when the probe computes something differently: cached PhotoInfo is keyed by it
PROBE_VERSION = 4  # 4: damage anywhere in a scan is unreadable (issue 18)
# the shared reduced decode keeps its long side between ANALYSIS_MIN and 2x that; detectors work at ~1000 px
ANALYSIS_MIN = 800
THUMB_SIZE = 480
# the certificates' photo (certificates.render.THUMB_PX, 640 px at JPEG quality 85): made here, from the decode validate
# already holds, for ~5 ms; a certificate batch would otherwise decode the camera file again (~45 ms of a 12 MP JPEG
# even at 1/4 scale: ~7 minutes of a 20,000-entry round on 2 cores, issue 18)
PRINT_SIZE, PRINT_QUALITY = 640, 85

logging.getLogger("exifread").setLevel(logging.CRITICAL)

# (offset, magic, name): the formats a contestant might send, sniffed from the first bytes
_MAGIC: list[tuple[int, bytes, str]] = [
    (0, b"\xff\xd8\xff", "JPEG"),
    (0, b"\x89PNG\r\n\x1a\n", "PNG"),
    (0, b"GIF87a", "GIF"),
    (0, b"GIF89a", "GIF"),
    (0, b"II*\x00", "TIFF"),
    (0, b"MM\x00*", "TIFF"),
    (0, b"BM", "BMP"),
    (0, b"\xff\x0a", "JXL"),
    (0, b"\x00\x00\x00\x0cJXL \r\n\x87\n", "JXL"),
    (0, b"%PDF", "PDF"),
    (0, b"PK\x03\x04", "ZIP"),
    (0, b"8BPS", "PSD"),
]
_HEIF_BRANDS = {b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1"}
_AVIF_BRANDS = {b"avif", b"avis"}


def sniff_format(head: bytes) -> str | None:
    """Name the container from its first bytes (no decoder needed, so HEIC is named without pillow-heif)."""
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "WEBP"
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand in _AVIF_BRANDS:
            return "AVIF"
        if brand in _HEIF_BRANDS:
            return "HEIC"
        return "MP4" if brand.startswith((b"iso", b"mp4", b"M4V", b"qt")) else "HEIF"
    for offset, magic, name in _MAGIC:
        if head[offset : offset + len(magic)] == magic:
            return name
    if head.lstrip()[:1] in (b"<", b"{") or (head and all(32 <= b < 127 or b in (9, 10, 13) for b in head[:64])):
        return "TEXT"
    return None


@dataclass
class Probe:
    """Everything read from one photo file, shared by every rule that needs it."""

    path: Path
    rel: str
    info: PhotoInfo
    data: bytes = field(repr=False, default=b"")
    exif: dict[str, str] = field(default_factory=dict)  # "Image Make", "EXIF DateTimeOriginal", "GPS ..."
    exif_data: Image.Exif | None = field(default=None, repr=False)  # the parsed EXIF, for tags kept as bytes
    exif_source: str | None = None  # where the EXIF was found: "APP1", "eXIf chunk", "zTXt 'Raw profile type exif'"
    xmp: str | None = None  # the raw XMP packet, if any
    text_chunks: dict[str, str] = field(default_factory=dict)  # PNG tEXt/zTXt/iTXt, JPEG COM as "comment"
    pil_info: dict[str, Any] = field(default_factory=dict, repr=False)
    image: Image.Image | None = field(default=None, repr=False)  # reduced RGB decode, orientation applied
    scale: float = 1.0  # displayed pixels per reduced pixel
    notes: list[str] = field(default_factory=list)  # what the decoder noticed that costs none of the picture
    transient: str | None = None  # the machine failed (out of memory), not the file: never cache as a verdict
    memo: dict[str, Any] = field(default_factory=dict, repr=False)  # rules share derived arrays here

    @property
    def readable(self) -> bool:
        return self.info.error is None and self.image is not None

    @property
    def creator_tools(self) -> list[str]:
        """XMP CreatorTool and history softwareAgent values, in document order (parsed once, memoised)."""
        if "creator_tools" not in self.memo:
            self.memo["creator_tools"] = xmp_tools(self.xmp or "")
        return self.memo["creator_tools"]


_XMP_RE = re.compile(rb"<x:xmpmeta.*?</x:xmpmeta>", re.S)
_XMP_WINDOW = 1 << 20
_XMP_TOOLS = re.compile(r"(?:CreatorTool|softwareAgent)\s*(?:=\s*[\"']([^\"']*)[\"']|>([^<]+)<)")


def xmp_tools(xmp: str) -> list[str]:
    """The software an XMP packet names (xmp:CreatorTool, stEvt:softwareAgent), as attribute or element."""
    found = []
    for match in _XMP_TOOLS.finditer(xmp):
        tool = html.unescape(next((g for g in match.groups() if g), "")).strip()
        if tool:
            found.append(tool)
    return list(dict.fromkeys(found))


@contextmanager
def _quiet() -> Iterator[None]:
    """Pillow's warnings (bomb size, broken MPO header...) are ours to judge: silence them for one call.

    Pillow is also made strict about truncated data for that call only: a library may have switched
    `ImageFile.LOAD_TRUNCATED_IMAGES` on for the whole process (WeasyPrint does, on import), which would
    turn a cut PNG into a picture with a black bottom instead of an error. The flag is put back after; it is
    touched only when it is on, so that validate's threads (pipeline.analyse_stream), in a worker where nothing
    switches it on, never race on it.
    """
    tolerant = ImageFile.LOAD_TRUNCATED_IMAGES
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if tolerant:
            ImageFile.LOAD_TRUNCATED_IMAGES = False
        try:
            yield
        finally:
            if tolerant:
                ImageFile.LOAD_TRUNCATED_IMAGES = tolerant


def _clean(value: Any) -> str:
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    return str(value).split("\x00", 1)[0].strip()


# ---------------------------------------------------------------------------------------------------------------
# EXIF: one parser (Pillow's), whatever container the bytes came from
# ---------------------------------------------------------------------------------------------------------------

_IFDS = (("EXIF", ExifTags.IFD.Exif, ExifTags.TAGS), ("GPS", ExifTags.IFD.GPSInfo, ExifTags.GPSTAGS))


def parse_exif(raw: bytes) -> Image.Exif | None:
    """Parse a TIFF-structured EXIF block (with or without the "Exif\\0\\0" header); None when it is not one."""
    body = raw
    while (start := body.find(b"Exif\x00\x00", 0, 16)) >= 0:  # ImageMagick's raw profiles may double it
        body = body[start + 6 :]
    if body[:4] not in (b"II*\x00", b"MM\x00*"):
        return None
    exif = Image.Exif()
    try:
        exif.load(body)
    except Exception:  # corrupt offsets, makernotes pointing nowhere: metadata is a hint, never fatal
        return None
    return exif


def _exif_names(exif: Image.Exif) -> dict[str, str]:
    """Text values by exifread-style name ("Image Make", "EXIF DateTimeOriginal"); bytes blobs left out."""
    names: dict[str, str] = {}
    for tag, value in exif.items():
        if not isinstance(value, bytes) and tag in ExifTags.TAGS and tag not in (ExifTags.IFD.Exif,):
            names[f"Image {ExifTags.TAGS[tag]}"] = _clean(value)
    for prefix, ifd, table in _IFDS:
        try:
            sub = exif.get_ifd(ifd)
        except Exception:
            continue
        for tag, value in sub.items():
            if tag in table and not isinstance(value, bytes | dict):
                names[f"{prefix} {table[tag]}"] = _clean(value)
    return names


def _use_exif(probe: Probe, exif: Image.Exif | None, source: str) -> None:
    if exif is None or not len(exif) or probe.exif_data is not None:
        return
    probe.exif_data, probe.exif_source = exif, source
    probe.exif = _exif_names(exif)
    try:
        orientation = int(exif.get(ExifTags.Base.Orientation, 1))
    except (TypeError, ValueError):
        orientation = 1
    probe.info.orientation = orientation if orientation in range(1, 9) else 1
    _camera_fields(probe)


def _exif_by_exifread(probe: Probe) -> None:
    """Containers Pillow cannot open (HEIC without a plugin): exifread finds the EXIF item there."""
    import exifread

    try:
        tags = exifread.process_file(io.BytesIO(probe.data), details=False, strict=False)
    except Exception:
        return
    for name, tag in tags.items():
        if "Thumbnail" not in name:
            try:
                probe.exif[name] = _clean(tag)
            except Exception:
                continue
    if "Image Orientation" in tags:
        try:
            value = int(tags["Image Orientation"].values[0])
            probe.info.orientation = value if value in range(1, 9) else 1
        except (AttributeError, IndexError, TypeError, ValueError):
            pass
    if probe.exif:
        probe.exif_source = "exifread"
    _camera_fields(probe)


def _camera_fields(probe: Probe) -> None:
    """The EXIF values the rules and reports use, copied from the tags however they were read."""
    info, exif = probe.info, probe.exif
    info.make = exif.get("Image Make") or None
    info.model = exif.get("Image Model") or None
    info.software = exif.get("Image Software") or None
    info.datetime_original = exif.get("EXIF DateTimeOriginal") or None


# ---------------------------------------------------------------------------------------------------------------
# PNG: metadata chunks read here, wherever they sit (before or after the image data), with our own limits
# ---------------------------------------------------------------------------------------------------------------

# inflated text is capped per chunk and per file: enough for any real XMP or ImageMagick profile, and a
# zlib bomb costs at most this much memory (the rest of it is never inflated)
TEXT_CHUNK_LIMIT = 16 * 1024 * 1024
TEXT_TOTAL_LIMIT = 64 * 1024 * 1024
_RAW_PROFILE = re.compile(r"^raw profile type (exif|app1|xmp)$", re.IGNORECASE)


def _inflate(blob: bytes, limit: int) -> tuple[bytes | None, bool]:
    """(inflated bytes or None when corrupt, whether it stopped at the limit)."""
    inflater = zlib.decompressobj()
    try:
        out = inflater.decompress(blob, limit)
    except zlib.error:
        return None, False
    return out, bool(inflater.unconsumed_tail)


def _decode_raw_profile(text: str) -> bytes | None:
    """ImageMagick's "Raw profile type NAME" text: a line with the name, one with the length, then hex."""
    lines = text.strip().split("\n", 2)
    if len(lines) < 3:
        return None
    try:
        length = int(lines[1].strip())
        blob = bytes.fromhex("".join(lines[2].split()))
    except ValueError:
        return None
    return blob[:length] if length <= len(blob) else blob


@dataclass
class _PngMeta:
    texts: dict[str, tuple[str, str]] = field(default_factory=dict)  # key -> (chunk type, text)
    exif: list[tuple[str, bytes]] = field(default_factory=list)  # (where, raw EXIF) in order of preference
    xmp: str | None = None
    hide: list[tuple[int, int]] = field(default_factory=list)  # (start, end) of chunks Pillow must not see
    notes: list[str] = field(default_factory=list)


def _png_metadata(data: bytes) -> _PngMeta:
    """Read a PNG's text, EXIF and XMP chunks; mark those too large for Pillow's own limit to be hidden from it.

    EXIF may sit in eXIf, or (the ImageMagick way) hex-encoded in a tEXt/zTXt/iTXt "Raw profile type exif" or
    "... APP1" chunk. An iCCP or text chunk that inflates past Pillow's MAX_TEXT_CHUNK (1 MB; ICC profiles of
    scanners and printers are larger) would make Pillow refuse the whole file, so it is hidden from Pillow;
    a text chunk beyond TEXT_CHUNK_LIMIT is skipped with a note.
    """
    meta = _PngMeta()
    pillow_limit = PngImagePlugin.MAX_TEXT_CHUNK
    total = 0
    raw_exif: list[tuple[str, bytes]] = []
    for kind, start, _end, length in png_chunks(data, strict=False):
        offset = start + 8  # the chunk's data field; `length` as declared (a cut chunk's body is shorter)
        if kind not in (b"tEXt", b"zTXt", b"iTXt", b"eXIf", b"iCCP"):
            continue
        body = data[offset : offset + length]
        if kind == b"eXIf":
            meta.exif.append(("eXIf chunk", body))
            continue
        key_end = body.find(b"\x00")
        if key_end < 0:
            continue
        key = body[:key_end].decode("latin-1")
        if kind == b"iCCP":
            profile, over = _inflate(body[key_end + 2 :], pillow_limit)
            if over:
                meta.hide.append((offset - 8, offset + length + 4))
            continue
        compressed, start, encoding = False, key_end + 1, "latin-1"
        if kind == b"zTXt":
            compressed, start = True, key_end + 2
        elif kind == b"iTXt":
            compressed = body[key_end + 1 : key_end + 2] == b"\x01"
            lang_end = body.find(b"\x00", key_end + 3)
            tkey_end = body.find(b"\x00", lang_end + 1) if lang_end >= 0 else -1
            if tkey_end < 0:
                continue
            start, encoding = tkey_end + 1, "utf-8"
        raw = body[start:]
        if compressed:
            inflated, over = _inflate(raw, min(TEXT_CHUNK_LIMIT, TEXT_TOTAL_LIMIT - total))
            if inflated is None:
                meta.notes.append(f"{kind.decode()} chunk {key!r} is corrupt and was skipped")
                continue
            if over:
                meta.notes.append(f"{kind.decode()} chunk {key!r} inflates past {TEXT_CHUNK_LIMIT >> 20} MB and "
                                  "was skipped")
                meta.hide.append((offset - 8, offset + length + 4))
                continue
            if len(inflated) > 1024 * 1024 and len(inflated) > 200 * len(raw):
                meta.notes.append(f"{kind.decode()} chunk {key!r} inflates {len(inflated) // len(raw)}-fold to "
                                  f"{len(inflated) >> 20} MB (a decompression bomb) and was skipped")
                meta.hide.append((offset - 8, offset + length + 4))
                continue
            if len(inflated) > pillow_limit:
                meta.hide.append((offset - 8, offset + length + 4))
            raw = inflated
        total += len(raw)
        text = raw.decode(encoding, "replace")
        if key == "XML:com.adobe.xmp" and meta.xmp is None:
            meta.xmp = text
            continue
        profile_kind = _RAW_PROFILE.match(key)
        if profile_kind:
            blob = _decode_raw_profile(text)
            name = profile_kind.group(1).lower()
            if blob is not None and name == "xmp" and meta.xmp is None:
                meta.xmp = blob.decode("utf-8", "replace")
            elif blob is not None and name in ("exif", "app1"):
                raw_exif.append((f"{kind.decode()} {key!r}", blob))
            continue
        meta.texts[key] = (kind.decode(), text)
    meta.exif += raw_exif  # the standard chunk first, ImageMagick's hex profile after it
    return meta


def _without(data: bytes, spans: list[tuple[int, int]]) -> bytes:
    """The PNG with these chunks cut out (each chunk carries its own CRC: the others stay valid)."""
    parts, last = [], 0
    for start, end in sorted(spans):
        parts.append(data[last:start])
        last = end
    parts.append(data[last:])
    return b"".join(parts)


# ---------------------------------------------------------------------------------------------------------------
# JPEG: the structure around the scans, and an integrity verdict from the decoder's own warnings
# ---------------------------------------------------------------------------------------------------------------


@dataclass
class _Scan:
    start: int  # offset of the entropy-coded data
    components: tuple[int, ...]
    ss: int
    se: int
    ah: int
    al: int


@dataclass
class _JpegLayout:
    progressive: bool = False
    components: tuple[int, ...] = ()
    scans: list[_Scan] = field(default_factory=list)


def _jpeg_layout(data: bytes) -> _JpegLayout:
    """A JPEG's frame type, components and each scan's parameters and start, read by the lenient walker (junk
    between segments skipped as libjpeg skips it, entropy-coded data by its 0xFF escapes)."""
    layout = _JpegLayout()
    for seg in jpeg_segments(data, strict=False):
        marker = seg.marker
        if marker in SOF:
            body = seg.payload(data)
            layout.progressive = marker in PROGRESSIVE_SOF
            count = body[5] if len(body) > 5 else 0
            layout.components = tuple(body[6 + 3 * k] for k in range(count) if 6 + 3 * k < len(body))
        elif marker == SOS:
            body = seg.payload(data)
            count = body[0] if body else 0
            comps = tuple(body[1 + 2 * k] for k in range(count) if 1 + 2 * k < len(body))
            tail = body[1 + 2 * count : 4 + 2 * count]
            if len(tail) == 3:
                layout.scans.append(_Scan(seg.end, comps, tail[0], tail[1], tail[2] >> 4, tail[2] & 15))
    return layout


def _progression_complete(layout: _JpegLayout) -> bool:
    """Whether a progressive file's scans bring every coefficient of every component to full precision."""
    if not layout.progressive:
        return True
    precision: dict[Any, list[int | None]] = {c: [None] * 64 for c in layout.components}
    for scan in layout.scans:
        for c in scan.components:
            if c in precision:
                for k in range(scan.ss, min(scan.se, 63) + 1):
                    precision[c][k] = scan.al
    return all(all(v == 0 for v in coefs) for coefs in precision.values())


# warnings of libjpeg that mean compressed data is missing or wrong (jerror.h); the others are harmless
_DAMAGE = re.compile(r"premature end of data segment|bad huffman code|bad arithmetic code|instead of RST|"
                     r"extraneous bytes before marker", re.IGNORECASE)
_EXTRANEOUS = re.compile(r"(\d+) extraneous bytes before marker 0x([0-9a-f]{2})", re.IGNORECASE)
# warnings about the file's headers, not its picture data: the picture decodes whole (jerror.h's JWRN_* for JFIF and
# Adobe markers, an ICC profile, an APP segment); every other warning or error of a strict decode is damage
_HARMLESS = re.compile(r"JFIF|Adobe|ICC|APP\d* marker|thumbnail|Unknown APP", re.IGNORECASE)
# a few stray bytes before the end marker are padding some cameras write; more means the decoder lost its way
HARMLESS_EXTRANEOUS = 64
_RUN = re.compile(rb"(.)\1{4095,}", re.S)


class _Damaged(Exception):
    """The picture did not decode whole: the message says what is wrong and how much is lost."""


def _grey_share(pixels: np.ndarray) -> tuple[float, float]:
    """(share of the picture, share of the rows at the bottom) that libjpeg filled with flat mid-grey.

    Missing or skipped compressed data decodes as all-zero coefficients: exactly 128 grey in every channel.
    """
    grey = np.abs(pixels.astype(np.int16) - 128).max(axis=2) <= 1 if pixels.ndim == 3 else (
        np.abs(pixels.astype(np.int16) - 128) <= 1)
    rows = grey.mean(axis=1) > 0.98
    tail = int(np.argmin(rows[::-1])) if not rows.all() else len(rows)
    return float(grey.mean()), tail / max(1, len(rows))


def _damage_message(warning: str, pixels: np.ndarray, data: bytes, layout: _JpegLayout) -> str:
    share, tail = _grey_share(pixels)
    parts = [f"corrupt JPEG data: the decoder reports {warning.rstrip('.')!r}"]
    if tail >= 0.005:
        parts.append(f"the bottom {tail:.0%} of the picture is grey fill")
    elif share >= 0.005:
        parts.append(f"{share:.0%} of the picture is grey fill")
    start = layout.scans[0].start if layout.scans else 0
    run = _RUN.search(data, start)
    if run and start < len(data):
        where = (run.start() - start) / max(1, len(data) - start)
        text = (f"{(run.end() - run.start()) / 1024:.0f} KiB of the compressed data at about {where:.0%} of it "
                f"are all 0x{run.group(1).hex()} (overwritten)")
        if data.find(b"\xff\xd0", start) < 0:  # no restart markers: the decoder cannot find its way back
            text += f"; the rows from about {where:.0%} of the height down are scrambled"
        parts.append(text)
    return "; ".join(parts)


def _decode_jpeg(data: bytes, size: tuple[int, int], notes: list[str]) -> np.ndarray | None:
    """Reduced decode of a JPEG, judged by what libjpeg-turbo says about it.

    Returns the pixels (H x W x 3, or H x W for greyscale) at 1/2, 1/4 or 1/8 scale, or None when this
    decoder cannot take the file (CMYK, junk before the header: Pillow decodes those). Raises `_Damaged`
    when compressed data is missing or corrupt (a truncated file, a damaged scan): every byte of every scan
    is read even at reduced scale, so damage anywhere is seen. A file that lacks only its end-of-image
    marker, or draws a harmless warning, decodes whole: a note says what was noticed.
    """
    try:
        import simplejpeg
    except ImportError:  # optional speed-up and integrity check: Pillow decodes without it
        return None
    try:
        height, width, colour, _ = simplejpeg.decode_jpeg_header(data)
    except ValueError:
        return None
    if (width, height) != size or colour not in ("YCbCr", "RGB", "Gray"):
        return None
    factor = _reduction(max(width, height))
    options = dict(colorspace="GRAY" if colour == "Gray" else "RGB", fastdct=True, fastupsample=True,
                   min_width=-(-width // factor), min_height=-(-height // factor))
    try:
        return _squeeze(simplejpeg.decode_jpeg(data, **options))
    except ValueError as exc:
        warning = str(exc)
    try:
        pixels = _squeeze(simplejpeg.decode_jpeg(data, strict=False, **options))
    except ValueError as exc:
        raise _Damaged(f"cannot decode: {exc}") from None
    if "premature end of jpeg file" in warning.lower():
        # the data stops early: is it only the end-of-image marker that is missing, or picture data too?
        try:
            simplejpeg.decode_jpeg(data + b"\xff\xd9", **options)
        except ValueError:
            share, tail = _grey_share(pixels)
            lost = f": the bottom {tail:.0%} of the picture is missing (grey)" if tail >= 0.005 else (
                f": {share:.0%} of the picture is grey fill" if share >= 0.005 else "")
            raise _Damaged(f"truncated: the file stops inside the compressed picture data{lost}") from None
        if not _progression_complete(_jpeg_layout(data)):
            raise _Damaged("truncated: the file stops before the last scans of this progressive JPEG "
                           "(the picture is blurred or blocky)")
        notes.append("the file ends without its end-of-image marker; all picture data is there")
        return pixels
    extraneous = _EXTRANEOUS.search(warning)
    if extraneous and int(extraneous.group(1)) <= HARMLESS_EXTRANEOUS and extraneous.group(2).lower() == "d9":
        notes.append(f"the decoder warned: {warning} (padding; the picture decodes whole)")
        return pixels
    if _HARMLESS.search(warning) and not _DAMAGE.search(warning):
        notes.append(f"the decoder warned: {warning} (the picture decodes whole)")
        return pixels
    # anything else stopped the strict decode inside the picture data: a marker that is no marker, a second
    # frame header, a bad Huffman code... bytes there were overwritten (what libjpeg calls "unsupported marker
    # type 0x27" is a damaged scan, wherever in it the damage sits)
    raise _Damaged(_damage_message(warning, pixels, data, _jpeg_layout(data)))


def _squeeze(pixels: np.ndarray) -> np.ndarray:
    """Greyscale comes back H x W x 1: make it H x W."""
    return pixels[:, :, 0] if pixels.ndim == 3 and pixels.shape[2] == 1 else pixels


def _jpeg_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) from the first SOF marker, without a decoder; None when junk, a scan or the end of the
    data comes first."""
    for seg in jpeg_segments(data, strict=False):
        if seg.marker in SOF:  # payload: precision, height, width (T.81 B.2.2)
            at = seg.body
            if at + 5 > len(data):
                return None
            return int.from_bytes(data[at + 3 : at + 5], "big"), int.from_bytes(data[at + 1 : at + 3], "big")
        if seg.marker in (SOS, JUNK):
            return None
    return None


def _header_size(data: bytes, fmt: str | None) -> tuple[int, int] | None:
    if fmt == "PNG" and data[12:16] == b"IHDR":
        return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    if fmt == "JPEG":
        return _jpeg_size(data)
    return None


def _bomb(width: int, height: int, max_pixels: int) -> str:
    return (f"decompression bomb: {width}x{height} = {width * height / 1e6:.0f} MP, "
            f"over the {max_pixels / 1e6:.0f} MP limit")


# ---------------------------------------------------------------------------------------------------------------
# the probe
# ---------------------------------------------------------------------------------------------------------------


def probe_bytes(data: bytes, path: Path, rel: str, max_pixels: int) -> Probe:
    """Probe one file's bytes. Never raises for bad content; the error is kept for the rules.

    Out of memory while decoding is not the file's fault: it is recorded in `transient` (and `info.error`),
    for the pipeline to report as a failure of this run and leave uncached.
    """
    info = PhotoInfo(sha256=hashlib.sha256(data).hexdigest(), size=len(data), format=sniff_format(data[:64]))
    probe = Probe(path=path, rel=rel, info=info, data=data)
    if not data:
        info.error = "the file is empty (0 bytes)"
        return probe
    try:
        with _quiet():  # Pillow's EXIF reader warns on corrupt tags: the verdict is ours to give, not stderr's
            _probe_content(probe, max_pixels)
    except MemoryError:
        probe.image = None
        probe.transient = "out of memory while reading the photo (a failure of this run, not of the file)"
        info.error = f"could not be checked: {probe.transient}"
    return probe


def _probe_content(probe: Probe, max_pixels: int) -> None:
    info, data = probe.info, probe.data
    png = _png_metadata(data) if info.format == "PNG" else None
    if png is not None:
        probe.notes += png.notes
        for key, (_, text) in png.texts.items():
            probe.text_chunks[key] = text
        probe.xmp = png.xmp
        for where, raw in png.exif:
            _use_exif(probe, parse_exif(raw), where)
    if probe.xmp is None:
        # XMP sits in the header of a JPEG: no need to scan 10 MB of image data for it; others may put it anywhere
        window = _XMP_WINDOW if info.format == "JPEG" else len(data)
        match = _XMP_RE.search(data, 0, window)
        if match:
            probe.xmp = match.group(0).decode("utf-8", "replace")

    size = _header_size(data, info.format)
    if size and size[0] * size[1] > max_pixels:
        info.width, info.height = size
        info.error = _bomb(*size, max_pixels)
        return
    pillow_data = _without(data, png.hide) if png is not None and png.hide else data
    try:
        with _quiet():
            im = Image.open(io.BytesIO(pillow_data))
    except UnidentifiedImageError:
        if info.format in ("HEIC", "HEIF", "AVIF"):
            _exif_by_exifread(probe)
        kind = info.format or "unknown"
        info.error = f"not an image Pillow can read (content looks like {kind})"
        return
    except Image.DecompressionBombError as exc:  # formats whose size we do not read ourselves
        info.error = f"decompression bomb: {exc}"
        return
    except MemoryError:
        raise
    except Exception as exc:  # broken headers: SyntaxError/OSError/ValueError
        info.error = f"cannot open: {exc}"
        return
    # Pillow's own name wins when it knows the file (it finds a JPEG behind junk bytes)
    if im.format in ("JPEG", "MPO"):
        info.format = "JPEG"
    elif im.format:
        info.format = im.format
    if png is None:
        probe.pil_info.update(im.info)  # type: ignore[arg-type]  # a few formats' info has (x, y) keys: kept
        _collect_text(im, probe)
        exif_raw = im.info.get("exif")
        if isinstance(exif_raw, bytes):
            _use_exif(probe, parse_exif(exif_raw), "APP1" if info.format == "JPEG" else f"{info.format} EXIF")
        elif info.format == "TIFF":
            with _quiet():
                _use_exif(probe, im.getexif(), "TIFF tags")
    info.width, info.height = im.size
    transposed = info.orientation in (5, 6, 7, 8)
    info.display_width, info.display_height = (im.height, im.width) if transposed else (im.width, im.height)
    pixels = im.width * im.height
    if pixels > max_pixels:
        info.error = _bomb(im.width, im.height, max_pixels)
        return
    try:
        reduced = _reduced_decode(im, probe)
    except _Damaged as exc:
        info.error = str(exc)
        return
    except MemoryError:
        raise
    except Exception as exc:  # truncated data, broken Huffman tables, bad chunks...
        info.error = f"cannot decode: {exc}"
        return
    if info.orientation in _TRANSPOSE:
        reduced = reduced.transpose(_TRANSPOSE[info.orientation])
    probe.image = reduced
    probe.scale = (info.display_width or reduced.width) / reduced.width
    grey = reduced.convert("L")
    info.dhash = dhash_hex(grey)
    info.phash = phash_hex(grey)


def _reduced_decode(im: Image.Image, probe: Probe) -> Image.Image:
    """The one decode every pixel rule shares, long side between ANALYSIS_MIN and twice that."""
    if probe.info.format == "JPEG":
        pixels = _decode_jpeg(probe.data, im.size, probe.notes)
        if pixels is not None:
            reduced = Image.fromarray(pixels, "L" if pixels.ndim == 2 else "RGB")
            return reduced if reduced.mode == "RGB" else reduced.convert("RGB")
    factor = _reduction(max(im.size))
    if im.format in ("JPEG", "MPO") and factor > 1:
        # DCT scaling: libjpeg decodes at 1/factor size for a fraction of the cost
        im.draft("RGB", (-(-im.width // factor), -(-im.height // factor)))
    with _quiet():
        im.load()
    if probe.info.format != "PNG":
        _collect_text(im, probe)  # text chunks after the image data appear only once it is loaded
    reduced = im if im.mode == "RGB" else _to_rgb(im)
    factor = _reduction(max(reduced.size))
    return reduced.reduce(factor) if factor > 1 else reduced


def _collect_text(im: Image.Image, probe: Probe) -> None:
    """Text chunks, comments and XMP as Pillow found them (WebP, GIF, TIFF, JPEG COM)."""
    for key, value in im.info.items():
        if isinstance(value, str | bytes) and key not in ("icc_profile", "exif", "xmp", "photoshop", "adobe"):
            text = value.decode("utf-8", "replace") if isinstance(value, bytes) else value
            probe.text_chunks[str(key)] = text
    if probe.xmp is None and isinstance(im.info.get("xmp"), bytes | str):
        raw = im.info["xmp"]
        probe.xmp = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw


_TRANSPOSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


def _reduction(long_side: int) -> int:
    """The largest of 1, 2, 4, 8 that keeps the long side at or above ANALYSIS_MIN."""
    for factor in (8, 4, 2):
        if long_side // factor >= ANALYSIS_MIN:
            return factor
    return 1


def _to_rgb(im: Image.Image) -> Image.Image:
    """RGB for the detectors; transparency is flattened on white, 16-bit and palette images converted."""
    if im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info):
        rgba = im.convert("RGBA")
        background = Image.new("RGB", rgba.size, (255, 255, 255))
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    if im.mode in ("I;16", "I;16B", "I;16L", "I"):
        return im.point(lambda v: v / 256).convert("L").convert("RGB")
    return im.convert("RGB")


def print_preview_name(sha256: str) -> str:
    """The file name, in the thumbnails folder, of the print-size preview `write_thumbnail` makes of a photo."""
    return f"{sha256[:32]}-{PRINT_SIZE}.jpg"


def write_thumbnail(probe: Probe, folder: Path) -> str | None:
    """A small JPEG of the displayed photo for reports (THUMB_SIZE px, upright, pixels only); named by content hash,
    written once. Beside it, when the decode holds that many pixels, the print-size preview the certificates embed
    (`print_preview_name`: PRINT_SIZE px, as certificates.render.thumbnail would make it from the file)."""
    if probe.image is None:
        return None
    name = f"{probe.info.sha256[:32]}.jpg"
    target = folder / name
    image = probe.image
    if not target.exists():
        folder.mkdir(parents=True, exist_ok=True)
        thumb = image.reduce(max(1, max(image.size) // THUMB_SIZE))  # box filter first: 5x cheaper than bicubic
        thumb.thumbnail((THUMB_SIZE, THUMB_SIZE))
        with atomic_path(target) as tmp:  # per-process name: two workers may meet on byte-identical copies
            thumb.save(tmp, "JPEG", quality=80)
    printed = folder / print_preview_name(probe.info.sha256)
    if max(image.size) >= PRINT_SIZE and not printed.exists():
        # the certificates' recipe: at most 2x left to shrink from the reduced decode, BICUBIC
        copy = image.copy()
        copy.thumbnail((PRINT_SIZE, PRINT_SIZE), Image.Resampling.BICUBIC)
        with atomic_path(printed) as tmp:
            copy.save(tmp, "JPEG", quality=PRINT_QUALITY, optimize=True)
    return name


# a file this large is no contest photo (a video, a disk image): hash it in chunks, never hold it in memory
READ_WHOLE_LIMIT = 256 * 1024 * 1024


def probe_file(path: Path, rel: str, max_pixels: int) -> Probe:
    """Read the file once (read-only) and probe its bytes."""
    try:
        size = path.stat().st_size
        if size > READ_WHOLE_LIMIT:
            return _probe_huge(path, rel, size)
        data = path.read_bytes()
    except OSError as exc:
        info = PhotoInfo(sha256="", size=0, format=None, error=f"cannot read the file: {exc.strerror or exc}")
        return Probe(path=path, rel=rel, info=info)
    return probe_bytes(data, path, rel, max_pixels)


def _probe_huge(path: Path, rel: str, size: int) -> Probe:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        head = f.read(64)
        digest.update(head)
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    info = PhotoInfo(sha256=digest.hexdigest(), size=size, format=sniff_format(head))
    info.error = f"{size / 1048576:.0f} MB is far too large to be a contest photo; not opened"
    return Probe(path=path, rel=rel, info=info)
