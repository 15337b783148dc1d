"""Read a photo once and keep everything the rules need: the probe.

`probe_bytes` is a pure function of a file's bytes (plus the limits in the settings): content hash,
format sniffed from the bytes, header dimensions, EXIF, XMP, text chunks, and one reduced decode
(JPEG draft mode) that every pixel rule shares. It never raises for a bad file: what went wrong is
recorded in `error` and the rules report it.
"""

from __future__ import annotations

import hashlib
import io
import logging
import os
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import exifread
from PIL import Image, ImageFile, UnidentifiedImageError

from milsetctl.hashing import dhash_hex, phash_hex
from milsetctl.models import PhotoInfo

# bump when the probe computes something differently: cached PhotoInfo is keyed by it
PROBE_VERSION = 2
# the shared reduced decode keeps its long side between ANALYSIS_MIN and 2x that; detectors work at ~1000 px
ANALYSIS_MIN = 800
THUMB_SIZE = 480

logging.getLogger("exifread").setLevel(logging.CRITICAL)
ImageFile.LOAD_TRUNCATED_IMAGES = False

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
    exif: dict[str, str] = field(default_factory=dict)  # exifread names: "Image Make", "EXIF DateTimeOriginal"
    xmp: str | None = None  # the raw XMP packet, if any
    text_chunks: dict[str, str] = field(default_factory=dict)  # PNG tEXt/zTXt/iTXt, JPEG COM as "comment"
    pil_info: dict[str, Any] = field(default_factory=dict, repr=False)
    image: Image.Image | None = field(default=None, repr=False)  # reduced RGB decode, orientation applied
    scale: float = 1.0  # displayed pixels per reduced pixel
    memo: dict[str, Any] = field(default_factory=dict, repr=False)  # rules share derived arrays here

    @property
    def readable(self) -> bool:
        return self.info.error is None and self.image is not None


_XMP_RE = re.compile(rb"<x:xmpmeta.*?</x:xmpmeta>", re.S)
_XMP_WINDOW = 1 << 20


def _clean(value: Any) -> str:
    text = str(value).split("\x00", 1)[0].strip()
    return text


def _read_exif(data: bytes) -> tuple[dict[str, str], int]:
    try:
        tags = exifread.process_file(io.BytesIO(data), details=False, strict=False)
    except Exception:  # corrupt makernotes and friends: metadata is a hint, never fatal
        return {}, 1
    exif: dict[str, str] = {}
    orientation = 1
    for name, tag in tags.items():
        if "Thumbnail" in name or name.startswith("JPEGThumbnail"):
            continue
        try:
            exif[name] = _clean(tag)
        except Exception:
            continue
        if name == "Image Orientation":
            try:
                orientation = int(tag.values[0])
            except (AttributeError, IndexError, TypeError, ValueError):
                orientation = 1
    if orientation not in range(1, 9):
        orientation = 1
    return exif, orientation


def probe_bytes(data: bytes, path: Path, rel: str, max_pixels: int) -> Probe:
    """Probe one file's bytes. Never raises for bad content; the error is kept for the rules."""
    info = PhotoInfo(sha256=hashlib.sha256(data).hexdigest(), size=len(data), format=sniff_format(data[:64]))
    probe = Probe(path=path, rel=rel, info=info, data=data)
    if not data:
        info.error = "the file is empty (0 bytes)"
        return probe
    probe.exif, info.orientation = _read_exif(data)
    _camera_fields(probe)
    # XMP sits in the header of a JPEG or PNG (a late PNG chunk is found by Pillow below): no need to scan
    # 10 MB of image data for it; other containers may put it anywhere
    head_only = info.format in ("JPEG", "PNG")
    match = _XMP_RE.search(data, 0, _XMP_WINDOW if head_only else len(data))
    if match:
        probe.xmp = match.group(0).decode("utf-8", "replace")

    Image.MAX_IMAGE_PIXELS = None  # we apply our own limit below, before any decode
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            im = Image.open(io.BytesIO(data))
    except UnidentifiedImageError:
        kind = info.format or "unknown"
        info.error = f"not an image Pillow can read (content looks like {kind})"
        return probe
    except Exception as exc:  # zTXt bombs raise ValueError, broken headers SyntaxError/OSError
        info.error = f"cannot open: {exc}"
        return probe
    # Pillow's own name wins when it knows the file (it finds a JPEG behind junk bytes)
    if im.format in ("JPEG", "MPO"):
        info.format = "JPEG"
    elif im.format:
        info.format = {"WEBP": "WEBP", "PNG": "PNG", "GIF": "GIF", "TIFF": "TIFF", "BMP": "BMP"}.get(
            im.format, im.format
        )
    if not probe.exif and im.format not in ("PNG",):  # exifread knows no AVIF; getexif() would decode a PNG
        _exif_from_pillow(im, probe)
    info.width, info.height = im.size
    transposed = info.orientation in (5, 6, 7, 8)
    info.display_width, info.display_height = (im.height, im.width) if transposed else (im.width, im.height)
    _collect_text(im, probe)

    pixels = im.width * im.height
    if pixels > max_pixels:
        info.error = (
            f"decompression bomb: {im.width}x{im.height} = {pixels / 1e6:.0f} MP, "
            f"over the {max_pixels / 1e6:.0f} MP limit"
        )
        return probe
    try:
        factor = _reduction(max(im.size))
        if im.format in ("JPEG", "MPO") and factor > 1:
            # DCT scaling: libjpeg decodes at 1/factor size for a fraction of the cost (and still reads every
            # byte of the scan, so truncation is caught)
            im.draft("RGB", (-(-im.width // factor), -(-im.height // factor)))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            im.load()
        _collect_text(im, probe)  # PNG text chunks after the image data appear only once it is loaded
        reduced = im if im.mode == "RGB" else _to_rgb(im)
        factor = _reduction(max(reduced.size))
        if factor > 1:
            reduced = reduced.reduce(factor)
        if info.orientation in _TRANSPOSE:
            reduced = reduced.transpose(_TRANSPOSE[info.orientation])
        probe.image = reduced
        probe.scale = (info.display_width or reduced.width) / reduced.width
        grey = reduced.convert("L")
        info.dhash = dhash_hex(grey)
        info.phash = phash_hex(grey)
    except Exception as exc:  # truncated data, broken Huffman tables, bad chunks...
        info.error = f"cannot decode: {exc}"
    return probe


def _collect_text(im: Image.Image, probe: Probe) -> None:
    """Text chunks, comments and XMP as Pillow found them so far."""
    probe.pil_info.update(im.info)
    for key, value in im.info.items():
        if isinstance(value, str | bytes) and key not in ("icc_profile", "exif", "xmp", "photoshop"):
            text = value.decode("utf-8", "replace") if isinstance(value, bytes) else value
            probe.text_chunks[str(key)] = text
    if probe.xmp is None and isinstance(im.info.get("xmp"), bytes | str):
        raw = im.info["xmp"]
        probe.xmp = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw


_PILLOW_TAGS = {0x010F: "Image Make", 0x0110: "Image Model", 0x0131: "Image Software", 0x0112: "Image Orientation"}


def _exif_from_pillow(im: Image.Image, probe: Probe) -> None:
    """Second chance for containers exifread does not parse (AVIF)."""
    try:
        exif = im.getexif()
        found = {name: _clean(exif[tag]) for tag, name in _PILLOW_TAGS.items() if tag in exif}
        when = exif.get_ifd(0x8769).get(0x9003)
    except Exception:
        return
    if when:
        found["EXIF DateTimeOriginal"] = _clean(when)
    probe.exif.update(found)
    _camera_fields(probe)
    try:
        orientation = int(found.get("Image Orientation", 1))
    except ValueError:
        orientation = 1
    probe.info.orientation = orientation if orientation in range(1, 9) else 1


def _camera_fields(probe: Probe) -> None:
    """The EXIF values the rules and reports use, copied from the tags however they were read."""
    info, exif = probe.info, probe.exif
    info.make = exif.get("Image Make") or None
    info.model = exif.get("Image Model") or None
    info.software = exif.get("Image Software") or None
    info.datetime_original = exif.get("EXIF DateTimeOriginal") or None


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


def write_thumbnail(probe: Probe, folder: Path) -> str | None:
    """A small JPEG of the displayed photo for reports; named by content hash, written once."""
    if probe.image is None:
        return None
    name = f"{probe.info.sha256[:32]}.jpg"
    target = folder / name
    if not target.exists():
        folder.mkdir(parents=True, exist_ok=True)
        image = probe.image
        thumb = image.reduce(max(1, max(image.size) // THUMB_SIZE))  # box filter first: 5x cheaper than bicubic
        thumb.thumbnail((THUMB_SIZE, THUMB_SIZE))
        tmp = target.with_name(f"{name}.{os.getpid()}.tmp")  # two workers may meet on byte-identical copies
        thumb.save(tmp, "JPEG", quality=80)
        tmp.replace(target)
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
