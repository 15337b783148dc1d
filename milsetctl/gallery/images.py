"""Web-size JPEGs for the gallery, made from the ORIGINAL photos with no metadata at all.

Why re-encode from the original rather than copy the jury package: the package may be a PNG or a large JPEG,
and a web page wants a bounded size. Pixels only leave: EXIF orientation is applied to the pixels, an embedded
ICC profile is used to convert the pixels to sRGB (so colours stay right) and then dropped with every other
block (EXIF, XMP, IPTC, comments, trailers). Cached in `cache/gallery/<sha256 of original>-<px>.jpg`, so a
re-run decodes only photos it has not seen.

Why it is cheap (issue 18: 7,000 qualifiers in under 12 minutes on 2 cores): a JPEG is decoded at the smallest
DCT scale (1/2, 1/4, 1/8) that still holds the page image, so the decoder does most of the shrinking; what is
left is under 2x and goes through one BICUBIC pass (as the certificates' thumbnails), the thumbnail comes from
the page image by a box `reduce()` plus one small BICUBIC pass (`reducing_gap`), and orientation and colour
conversion touch the small picture only. No full-frame copy is made. Measured on 12 MP photos (bench/
bench_gallery.py): 2.2-2.3 mean absolute difference (0-255) from a LANCZOS resize of the full decode, as before.
The photos are made by a pool of worker processes, one per core (`make_all`).
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from milsetctl.fsutil import write_bytes_atomic

WEB_PX = 1600  # long side of the photo page's image
THUMB_PX = 480  # long side of the index thumbnail
QUALITY = 85
# box-reduce by whole factors while the picture stays at least this many times the target, then one BICUBIC
# pass: as close to LANCZOS as the eye (and a mean difference of 0.1 of 255) tells, at a third of its cost
REDUCING_GAP = 1.5
# a spawned worker costs ~0.3 s to start (Python, Pillow) and makes ~8 photos a second: below this many photos
# to make per worker, fewer workers finish sooner
MIN_PER_WORKER = 8
ORIENTATION = 0x0112
# EXIF orientation -> the transpose that shows the photo upright (as ImageOps.exif_transpose does)
_UPRIGHT = {2: "FLIP_LEFT_RIGHT", 3: "ROTATE_180", 4: "FLIP_TOP_BOTTOM", 5: "TRANSPOSE", 6: "ROTATE_270",
            7: "TRANSVERSE", 8: "ROTATE_90"}


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


def _orientation(im) -> int:  # type: ignore[no-untyped-def]
    """The EXIF orientation (1-8), 1 when absent or unreadable."""
    try:
        value = im.getexif().get(ORIENTATION, 1)
        return int(value) if value in range(1, 9) else 1
    except Exception:  # noqa: BLE001 - a damaged EXIF block: the pixels as stored
        return 1


def _upright(im, orientation: int):  # type: ignore[no-untyped-def]
    from PIL import Image

    method = _UPRIGHT.get(orientation)
    return im.transpose(getattr(Image.Transpose, method)) if method else im


def _shrink(im, px: int) -> None:  # type: ignore[no-untyped-def]
    """In place, to at most `px` on the long side (never enlarged): box reduction, then one BICUBIC pass."""
    from PIL import Image

    im.thumbnail((px, px), Image.Resampling.BICUBIC, reducing_gap=REDUCING_GAP)


def _encode(im) -> bytes:  # type: ignore[no-untyped-def]
    """Progressive JPEG (the page shows the whole photo at once, then sharpens). Pillow writes no EXIF or ICC
    unless asked; it does carry over `info["comment"]`, so the picture's info is emptied first."""
    im.info = {}
    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=QUALITY, optimize=True, progressive=True)
    return buf.getvalue()


def render(data: bytes) -> tuple[bytes, bytes]:
    """(photo page JPEG <= WEB_PX, thumbnail JPEG <= THUMB_PX) from an original's bytes, upright, in sRGB, with no
    metadata. Raises ImageError when Pillow cannot decode it."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as im:
            icc = im.info.get("icc_profile")
            orientation = _orientation(im)
            # a JPEG (or MPO) decodes at the smallest DCT scale whose both sides still hold the page image (Pillow
            # picks 1/2, 1/4 or 1/8; a square box would ask 3000 px for 1600 and get the full frame); other formats
            # ignore it
            longest = max(im.size)
            im.draft("RGB", (-(-im.width * WEB_PX // longest), -(-im.height * WEB_PX // longest)))
            pic = _flatten(im)
            _shrink(pic, WEB_PX)
            # orientation and colour after the shrink: they then touch the page image, not the full frame
            pic = _upright(_srgb(pic, icc), orientation)
            big = _encode(pic)
            _shrink(pic, THUMB_PX)  # from the page image: a box reduction by 2, then BICUBIC
            return big, _encode(pic)
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:
        raise ImageError(f"cannot decode the photo: {exc}") from None


def cache_paths(cache: Path, digest: str) -> tuple[Path, Path]:
    return cache / f"{digest}-{WEB_PX}.jpg", cache / f"{digest}-{THUMB_PX}.jpg"


def web_images(original: Path, cache: Path, sha256: str = "") -> tuple[bytes, bytes, bool]:
    """(photo page JPEG <= WEB_PX, thumbnail JPEG <= THUMB_PX, made_now) for `original`.

    Reuses `cache/<sha256>-<px>.jpg` when both exist (made_now False). `sha256`: the original's content hash when
    the caller already knows it (validate's stat cache vouches for the file): a cached photo is then not read at
    all. Raises ImageError when the file cannot be read or decoded."""
    if sha256:
        big_c, thumb_c = cache_paths(cache, sha256)
        if big_c.is_file() and thumb_c.is_file():
            return big_c.read_bytes(), thumb_c.read_bytes(), False
    try:
        data = original.read_bytes()
    except OSError as exc:
        raise ImageError(f"{original}: cannot read: {exc.strerror or exc}") from None
    big_c, thumb_c = cache_paths(cache, hashlib.sha256(data).hexdigest())
    if big_c.is_file() and thumb_c.is_file():
        return big_c.read_bytes(), thumb_c.read_bytes(), False
    try:
        big, thumb = render(data)
    except ImageError as exc:
        raise ImageError(f"{original}: {exc}") from None
    write_atomic(big_c, big)
    write_atomic(thumb_c, thumb)
    return big, thumb, True


@dataclass(frozen=True)
class ImageJob:
    """One gallery photo's images: made (or taken from the cache) and placed at `targets` (the page image, the
    thumbnail). Plain strings: a pool worker receives it."""

    original: str
    cache: str
    targets: tuple[str, str]
    sha256: str = ""  # the original's hash, when validate's stat cache vouches for the file


@dataclass(frozen=True)
class ImageOutcome:
    made: bool = False
    error: str | None = None  # the photo could not be read or decoded: left out of the gallery


def place(target: Path, data: bytes) -> None:
    """Write `data` at `target` unless the file there already holds exactly it (a re-run rewrites nothing)."""
    try:
        same = target.stat().st_size == len(data) and target.read_bytes() == data
    except OSError:
        same = False
    if not same:
        write_atomic(target, data)


def make_images(job: ImageJob) -> ImageOutcome:
    """Make (or reuse) one photo's images and write them at the job's targets. Runs in a pool worker."""
    try:
        big, thumb, made = web_images(Path(job.original), Path(job.cache), job.sha256)
    except ImageError as exc:
        return ImageOutcome(error=str(exc))
    for target, data in zip(job.targets, (big, thumb), strict=True):
        place(Path(target), data)
    return ImageOutcome(made=made)


def default_workers(to_make: int) -> int:
    """One worker per core, but no more than the work pays for (MIN_PER_WORKER photos each)."""
    from milsetctl.workers import worker_count

    return worker_count(to_make, MIN_PER_WORKER)


def make_all(jobs: Iterable[ImageJob], workers: int,
             progress: Callable[[], None] | None = None) -> Iterator[ImageOutcome]:
    """Each job's outcome, in the jobs' order. With `workers` > 1, a pool of spawned processes makes them (a fork
    of a process holding the ledger's SQLite handle and the progress bar's thread is not safe); each worker ends
    with its parent (a killed `gallery` leaves none behind). `progress()` after each photo. Interrupted (Ctrl-C),
    the pool stops at once: photos made so far are in the cache, and a re-run takes them from there."""
    jobs = list(jobs)
    if workers <= 1 or len(jobs) <= 1:
        for job in jobs:
            outcome = make_images(job)
            if progress:
                progress()
            yield outcome
        return
    from milsetctl.workers import pool as worker_pool

    pool = worker_pool(workers)
    try:
        # a few photos per message (~130 ms of work each), and every worker busy until the last ones
        chunk = max(1, min(8, len(jobs) // (workers * 8)))
        for outcome in pool.map(make_images, jobs, chunksize=chunk):
            if progress:
                progress()
            yield outcome
    except BaseException:
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown(wait=True)

