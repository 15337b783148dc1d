"""The blind package's photos shrunk for the jurors: a thumbnail in each score-sheet row, a screen-size copy on the
scoring page.

Both are re-encoded from pixels (a JPEG with no metadata at all: nothing of a file's EXIF or ICC rides along),
orientation applied: the screen copy from the STRIPPED package photo (jury/package/photos/, never the original file),
the thumbnail from validate's preview of the same photo where there is one (cache/thumbs/: the pixels only, already
upright, as the contact sheet's cards are made), else from the package photo. A
thumbnail is 160 px on its long side at JPEG quality 70, about 5-8 KB for a real photo, so a sheet of 300 rows
stays near 2 MB; a screen copy is 1280 px at quality 80 (a laptop screen's photo area), about 150-300 KB.
Each is cached under the workspace's cache/jury-sheets/ by the packaged file's SHA-256 and the size asked, so a
re-run (another juror's sheet holding the same entry, a re-issued sheet) decodes no photo twice.
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from milsetctl.fsutil import remove_stale_temps, write_bytes_atomic

PACKAGE_DIR = Path("jury") / "package"  # anonymise.verify.package_dir: the package's folder in a workspace
CACHE_DIR = Path("cache") / "jury-sheets"
THUMB_PX, THUMB_QUALITY = 160, 70
SCREEN_PX, SCREEN_QUALITY = 1280, 80


@dataclass(frozen=True)
class Picture:
    """A JPEG and its size in pixels (the sheet sizes the image's frame and the row from it)."""

    data: bytes
    width: int
    height: int


def shrink(path: Path, longest: int, quality: int) -> Picture | None:
    """The picture at `path` as a JPEG at most `longest` px on its long side (never enlarged), upright, on white
    where it was transparent, no metadata; None when it cannot be decoded."""
    from PIL import Image, ImageOps

    im: Any
    try:
        with Image.open(path) as im:
            big = max(im.size)
            # the smallest DCT scale that still holds the size asked (a JPEG decodes at 1/2, 1/4, 1/8 for less)
            im.draft("RGB", (-(-im.width * longest // big), -(-im.height * longest // big)))
            im = ImageOps.exif_transpose(im)
            if im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info):
                rgba = im.convert("RGBA")
                im = Image.new("RGB", rgba.size, "white")
                im.paste(rgba, mask=rgba.getchannel("A"))
            im = im.convert("RGB")
            im.thumbnail((longest, longest), Image.Resampling.LANCZOS)
            im.info = {}
            buf = io.BytesIO()
            im.save(buf, "JPEG", quality=quality, optimize=True)
            return Picture(buf.getvalue(), im.width, im.height)
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError):
        return None


def _size(data: bytes) -> tuple[int, int] | None:
    from PIL import Image

    try:
        with Image.open(io.BytesIO(data)) as im:
            return im.size
    except (OSError, ValueError, SyntaxError):
        return None


@dataclass
class PackagePhotos:
    """The package photos by anon ID. `files`: anon_id -> (packaged photo, its SHA-256 or ""); `cache`: the
    folder the shrunk copies are kept in (None: kept only in memory, for this run)."""

    files: dict[str, tuple[Path, str]]
    cache: Path | None = None
    # anon_id -> validate's upright preview of the entry's photo (cache/thumbs/, probe.write_thumbnail: 480 px of the
    # original's pixels, which stripping keeps): a thumbnail no larger is shrunk from it, not from the 12 MP package
    # photo (~40 ms of CPU each even at 1/8 DCT scale, ~2 ms from the preview: 20,000 entries, ~6 minutes on 2 cores)
    previews: dict[str, Path] = field(default_factory=dict)
    _memo: dict[tuple[str, int], Picture | None] = field(default_factory=dict, repr=False)

    @classmethod
    def of_workspace(cls, ws: Any, anon_rows: Iterable[Any] | None = None) -> PackagePhotos:
        """The photos `anonymise` packaged (ledger table anon_ids: file relative to the package, sha256). An
        entry packaged by an older version without a recorded file is looked up as photos/<ID>.*."""
        root = Path(ws.root) / PACKAGE_DIR
        files: dict[str, tuple[Path, str]] = {}
        entry_of: dict[str, str] = {}
        for row in anon_rows if anon_rows is not None else ws.ledger.anon_rows():
            anon_id, rel, sha = row["anon_id"], row["file"], row["sha256"]
            path = root / rel if rel else next(iter(sorted((root / "photos").glob(f"{anon_id}.*"))), None)
            if path is not None:
                files[anon_id] = (path, sha or "")
                entry_of[anon_id] = str(row["entry_id"])
        cache = Path(ws.root) / CACHE_DIR
        if cache.is_dir():
            remove_stale_temps(cache)  # a killed run's (jury sheets holds the workspace lock: no live writer's)
        return cls(files, cache, _previews(ws, entry_of))

    def thumbnail(self, anon_id: str) -> Picture | None:
        """The score sheet's thumbnail of the entry (kept in memory too: every juror's sheet may show it)."""
        key = (anon_id, THUMB_PX)
        if key not in self._memo:
            self._memo[key] = self._get(anon_id, THUMB_PX, THUMB_QUALITY)
        return self._memo[key]

    def screen(self, anon_id: str) -> Picture | None:
        """The scoring page's screen-size copy of the entry (cached on disk only: hundreds of them are large)."""
        return self._get(anon_id, SCREEN_PX, SCREEN_QUALITY)

    def _get(self, anon_id: str, longest: int, quality: int) -> Picture | None:
        found = self.files.get(anon_id)
        if found is None:
            return None
        path, sha = found
        cached = self.cache / f"{sha}-{longest}q{quality}.jpg" if self.cache is not None and sha else None
        if cached is not None and cached.is_file():
            data = cached.read_bytes()
            size = _size(data)
            if size is not None:
                return Picture(data, *size)
        preview = self.previews.get(anon_id)
        picture = _from_preview(preview, longest, quality) if preview is not None else None
        if picture is None:
            picture = shrink(path, longest, quality)
        if picture is not None and cached is not None:
            cached.parent.mkdir(parents=True, exist_ok=True)
            write_bytes_atomic(cached, picture.data)
        return picture


def _previews(ws: Any, entry_of: dict[str, str]) -> dict[str, Path]:
    """anon_id -> validate's preview of the entry's photo, where the ledger's hash of the photo names one that
    exists (the package photo was checked against that hash when `anonymise` copied it)."""
    folder = Path(getattr(ws, "thumbs", Path(ws.root) / "cache" / "thumbs"))
    if not folder.is_dir() or not entry_of:
        return {}
    hashes = {str(e["entry_id"]): str(e["sha256"]) for e in ws.ledger.entries() if e["sha256"]}
    found = {}
    for anon_id, entry_id in entry_of.items():
        sha = hashes.get(entry_id)
        if sha and (folder / f"{sha[:32]}.jpg").is_file():
            found[anon_id] = folder / f"{sha[:32]}.jpg"
    return found


def _from_preview(preview: Path, longest: int, quality: int) -> Picture | None:
    """The picture shrunk from validate's preview when the preview holds at least `longest` px on its long side
    (a preview smaller than that is of a photo smaller than the preview size, or the thumbnail asked is larger:
    the package photo is used then); None otherwise."""
    from PIL import Image

    try:
        with Image.open(preview) as im:
            if im.format != "JPEG" or max(im.size) < longest:
                return None
    except (OSError, ValueError, SyntaxError):
        return None
    return shrink(preview, longest, quality)
