"""Rules about the photo file itself: can it be read, is it the right kind, big enough, from a camera."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import PurePosixPath
from typing import TYPE_CHECKING

from milsetctl.rules import rule
from milsetctl.settings import Settings

if TYPE_CHECKING:  # the probe imports NumPy and Pillow: `milsetctl rules` lists these rules without them
    from milsetctl.probe import Probe

IMAGE_FORMATS = {"JPEG", "PNG", "WEBP", "HEIC", "HEIF", "AVIF", "TIFF", "GIF", "BMP", "JXL", "PSD"}

EXTENSIONS = {
    "JPEG": {".jpg", ".jpeg", ".jpe", ".jfif"},
    "PNG": {".png"},
    "WEBP": {".webp"},
    "HEIC": {".heic", ".heif", ".hif"},
    "HEIF": {".heic", ".heif", ".hif"},
    "AVIF": {".avif"},
    "TIFF": {".tif", ".tiff"},
    "GIF": {".gif"},
    "BMP": {".bmp", ".dib"},
    "JXL": {".jxl"},
    "PSD": {".psd"},
}

FORMAT_NAMES = {
    "HEIC": "HEIC (iPhone/Android high-efficiency photo)",
    "HEIF": "HEIF",
    "WEBP": "WebP",
    "AVIF": "AVIF",
    "TIFF": "TIFF",
    "GIF": "GIF",
    "BMP": "BMP",
    "JXL": "JPEG XL",
    "PSD": "Photoshop document",
    "PDF": "PDF document",
    "ZIP": "ZIP archive",
    "MP4": "video",
    "TEXT": "text, not an image",
}


def _allowed(settings: Settings) -> set[str]:
    return {str(f).upper() for f in settings.photo["formats"]}


@rule("unreadable", "reject", "photo", version=2, uses=("photo.max_megapixels", "photo.formats"))
def unreadable(probe: Probe, settings: Settings) -> Iterator[str]:
    """The file is empty, truncated, corrupt, or a decompression bomb.

    The jury can only judge what opens. A truncated upload or a damaged file is caught here, before the
    coordinator sends a grey half-picture to the jury. A JPEG is judged by what the decoder reports and how
    much of the picture really decoded, not by whether it raised: damaged compressed data that the decoder
    only warns about (rows scrambled or grey) is unreadable, and the message says roughly how much is lost;
    a file missing only its end-of-image marker shows whole and passes (`decode-warning` notes it). Files
    of a format the contest does not take are left to the `format` rule, so one problem gives one finding.

    Version 2: JPEG integrity from the decoder's warnings; large ICC profiles and text chunks no longer
    make a PNG unreadable.
    """
    error = probe.info.error
    if error is None:
        return
    fmt = probe.info.format
    if fmt in _allowed(settings) or fmt is None or probe.info.size == 0 or "bomb" in error:
        yield f"{error}"


@rule("decode-warning", "info", "photo")
def decode_warning(probe: Probe, settings: Settings) -> Iterator[str]:
    """The file is slightly off, but the whole picture is there (noted, never a reason to reject).

    A JPEG without its end-of-image marker, stray padding before it, a metadata chunk too large or too
    broken to read: viewers show such a photo whole, so it stays eligible; the note tells the coordinator
    what was noticed, in case the student is asked for a clean copy.
    """
    if probe.info.error is None:
        yield from probe.notes


@rule("format", "reject", "photo", uses=("photo.formats",))
def file_format(probe: Probe, settings: Settings) -> Iterator[str]:
    """The content is not JPEG or PNG (HEIC, WebP, TIFF, GIF... are named).

    The call for entries accepts JPEG and PNG only. The format is judged from the file's bytes, not its
    name: a HEIC photo renamed to .jpg is still HEIC.
    """
    fmt = probe.info.format
    allowed = _allowed(settings)
    if fmt is None or probe.info.size == 0 or fmt in allowed:
        return
    wanted = " or ".join(sorted(allowed))
    yield f"the file is {FORMAT_NAMES.get(fmt, fmt)}; the contest accepts {wanted} only"


@rule("extension-mismatch", "info", "photo")
def extension_mismatch(probe: Probe, settings: Settings) -> Iterator[str]:
    """The file name's extension disagrees with its content (a PNG named .jpg).

    Harmless for judging, but it confuses viewers and printers downstream, so it is noted.
    """
    fmt = probe.info.format
    if fmt not in EXTENSIONS:
        return
    ext = PurePosixPath(probe.rel).suffix.lower()
    if ext not in EXTENSIONS[fmt]:
        yield f"named {ext or '(no extension)'} but the content is {fmt}"


@rule("file-size", "reject", "photo", uses=("photo.max_bytes",))
def file_size(probe: Probe, settings: Settings) -> Iterator[str]:
    """The file is larger than the contest's size limit (10 MB by default).

    The call for entries caps file size so the national package stays manageable.
    """
    limit = int(settings.photo["max_bytes"])
    if probe.info.size > limit:
        yield f"{probe.info.size / 1048576:.1f} MB, over the {limit / 1048576:g} MB limit"


@rule("min-width", "reject", "photo", uses=("photo.min_width",))
def min_width(probe: Probe, settings: Settings) -> Iterator[str]:
    """The photo, as displayed (after EXIF orientation), is narrower than the minimum (2000 px).

    A portrait photo stored 4000x3000 with a rotate-90 flag is displayed 3000 wide: the width a viewer
    sees is the one that counts.
    """
    width = probe.info.display_width
    minimum = int(settings.photo["min_width"])
    if width is not None and width < minimum:
        stored = ""
        if probe.info.orientation in (5, 6, 7, 8):
            stored = f" (stored {probe.info.width}x{probe.info.height}, rotated by EXIF orientation)"
        yield f"displayed width {width} px is under the minimum {minimum} px{stored}"


def _is_image(probe: Probe) -> bool:
    """An image that opened: metadata rules have something to say about it."""
    return probe.info.format in IMAGE_FORMATS and probe.info.width is not None and probe.info.error is None


@rule("camera-origin", "review", "photo")
def camera_origin(probe: Probe, settings: Settings) -> Iterator[str]:
    """No camera make/model in the metadata.

    Photos must be captured with a digital camera. A camera writes its make and model into EXIF; a
    screenshot, a download or a rendered image usually has none. Stripping metadata is common and
    innocent too, so this asks for a look rather than rejecting.
    """
    if not _is_image(probe):
        return
    missing = [n for n, v in (("make", probe.info.make), ("model", probe.info.model)) if not v]
    if missing:
        yield f"no camera {' or '.join(missing)} in the metadata"


# Editors and raw converters: processing the call allows (crop, exposure, colour), recorded for the jury.
EDITOR_PATTERN = re.compile(
    r"photoshop|lightroom|\bgimp\b|snapseed|picasa|photo ?editor|affinity|capture one|darktable|rawtherapee|"
    r"luminar|pixelmator|paint\.net|noise ninja|digital photo professional|acdsee|faststone|irfanview|"
    r"photoscape|fotor|canva|vsco|meitu|美图|醒图|polarr|lightzone|dxo|on1 |aperture|iphoto|photos \d|"
    r"photo gallery|corel|paintshop|silkypix|capture nx|view ?nx|nx studio|imageready|photodirector",
    re.IGNORECASE,
)
def editing_software(probe: Probe) -> str | None:
    """The editor named in EXIF Software or XMP CreatorTool / history softwareAgent, if any."""
    candidates = [probe.info.software or "", *probe.creator_tools]
    for text in candidates:
        if text and EDITOR_PATTERN.search(text):
            return text.strip()
    return None


@rule("edited", "info", "photo", version=2)
def edited(probe: Probe, settings: Settings) -> Iterator[str]:
    """Editing software is recorded in the metadata (allowed processing, noted for the jury).

    Crop, exposure and colour work are allowed; the jury may still want to know a photo went through
    an editor. Generators (AI) are the `software-created` rule's business, not this one's.
    """
    tool = editing_software(probe)
    if tool:
        yield f"processed with {tool}"
