"""Web-size JPEGs for the gallery, made from the ORIGINAL photos with no metadata at all.

Why re-encode from the original rather than copy the jury package: the package may be a PNG or a large JPEG,
and a web page wants a bounded size. Pixels only leave: EXIF orientation is applied to the pixels, an embedded
ICC profile is used to convert the pixels to sRGB (so colours stay right) and then dropped with every other
block (EXIF, XMP, IPTC, comments, trailers). Cached in `cache/gallery/<sha256 of original>-<px>.jpg`, so a
re-run decodes only photos it has not seen.
"""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

from milsetctl.fsutil import write_bytes_atomic

WEB_PX = 1600  # long side of the photo page's image
THUMB_PX = 480  # long side of the index thumbnail
QUALITY = 85


class ImageError(RuntimeError):
    """An original that cannot be decoded."""


def write_atomic(path: Path, data: bytes) -> None:
    """Temporary name in the same folder, then rename: a reader (or a killed run) never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    write_bytes_atomic(path, data)


def _flatten(im):  # type: ignore[no-untyped-def]
    """RGB, L or CMYK pixels (palette and alpha resolved, alpha flattened on white: JPEG has none)."""
    from PIL import Image

    if im.mode in ("RGB", "L", "CMYK"):
        return im
    if "A" in im.mode or "transparency" in im.info:
        rgba = im.convert("RGBA")
        flat = Image.new("RGB", rgba.size, (255, 255, 255))
        flat.paste(rgba, mask=rgba.getchannel("A"))
        return flat
    return im.convert("RGB")


def _srgb(im, profile: bytes | None):  # type: ignore[no-untyped-def]
    """8-bit RGB, converted from the original's ICC profile to sRGB when it had one (a broken profile: the pixels
    as they are)."""
    from PIL import ImageCms

    if profile:
        try:
            src = ImageCms.ImageCmsProfile(io.BytesIO(profile))
            im = ImageCms.profileToProfile(im, src, ImageCms.createProfile("sRGB"), outputMode="RGB")
        except (ImageCms.PyCMSError, OSError, ValueError):
            pass
    return im.convert("RGB") if im.mode != "RGB" else im


def _shrink(im, px: int):  # type: ignore[no-untyped-def]
    from PIL import Image

    small = im.copy()
    small.thumbnail((px, px), Image.Resampling.LANCZOS, reducing_gap=3.0)
    return small


def _encode(im) -> bytes:  # type: ignore[no-untyped-def]
    from PIL import Image

    clean = Image.frombytes("RGB", im.size, im.tobytes())  # a new image: no info, no exif carried over
    buf = io.BytesIO()
    clean.save(buf, "JPEG", quality=QUALITY, optimize=True, progressive=True)
    return buf.getvalue()


def web_images(original: Path, cache: Path) -> tuple[bytes, bytes, bool]:
    """(photo page JPEG <= WEB_PX, thumbnail JPEG <= THUMB_PX, made_now) for `original`.

    Reuses `cache/<sha256>-<px>.jpg` when both exist (made_now False). Raises ImageError when the file cannot be
    read or decoded."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    try:
        data = original.read_bytes()
    except OSError as exc:
        raise ImageError(f"{original}: cannot read: {exc.strerror or exc}") from None
    digest = hashlib.sha256(data).hexdigest()
    big_c, thumb_c = cache / f"{digest}-{WEB_PX}.jpg", cache / f"{digest}-{THUMB_PX}.jpg"
    if big_c.is_file() and thumb_c.is_file():
        return big_c.read_bytes(), thumb_c.read_bytes(), False
    try:
        with Image.open(io.BytesIO(data)) as im:
            im.draft("RGB", (WEB_PX, WEB_PX))
            icc = im.info.get("icc_profile")
            # shrink first, then convert colour: the transform then touches 1600 px, not the full frame
            large = _srgb(_shrink(_flatten(ImageOps.exif_transpose(im)), WEB_PX), icc)
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as exc:
        raise ImageError(f"{original}: cannot decode the photo: {exc}") from None
    big, thumb = _encode(large), _encode(_shrink(large, THUMB_PX))
    write_atomic(big_c, big)
    write_atomic(thumb_c, thumb)
    return big, thumb, True
