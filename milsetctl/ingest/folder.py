"""The submissions folder as files: every image below it, the manifest at its top, and the one check every reader
of an original photo goes through (`inside`). Nothing in SOURCE is ever written: files are only listed and read.
"""

from __future__ import annotations

import os
from pathlib import Path

from milsetctl.ingest.columns import MANIFEST_NAMES
from milsetctl.ingest.tables import ManifestError
from milsetctl.ingest.values import nfc

IMAGE_EXTENSIONS = {
    ".jpg", ".jpeg", ".jpe", ".jfif", ".png", ".webp", ".heic", ".heif", ".hif", ".avif", ".tif", ".tiff",
    ".gif", ".bmp", ".dib", ".jxl", ".psd", ".dng", ".cr2", ".cr3", ".nef", ".arw", ".raf", ".orf", ".rw2",
}
# clutter that archivers and operating systems leave behind
_IGNORED_NAMES = {".ds_store", "thumbs.db", "desktop.ini", "__macosx"}


def scan_images(source: Path, exclude: Path | None = None, refused: dict[str, str] | None = None) -> dict[str, Path]:
    """Relative NFC path -> real path, for every image-like file below SOURCE (hidden files skipped).

    Symbolic links are never followed out of SOURCE: a link to a file outside it (or one that loops or leads
    nowhere) is left out, and so is every linked folder (not walked). Each is put in `refused` (relative path,
    a folder's with a trailing '/', -> why), for ingest to name in a finding.
    """
    found: dict[str, Path] = {}
    excluded = exclude.resolve() if exclude else None
    top = source.resolve()
    for root, dirs, files in os.walk(source, onerror=lambda e: None):
        root_path = Path(root)
        if excluded is not None and (root_path.resolve() == excluded or excluded in root_path.resolve().parents):
            dirs[:] = []
            continue
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d.lower() not in _IGNORED_NAMES)
        if refused is not None:
            for d in dirs:
                if (root_path / d).is_symlink():  # os.walk does not descend into them: say so
                    refused[nfc((root_path / d).relative_to(source).as_posix()) + "/"] = (
                        "a link to a folder (links are not followed)")
        for name in sorted(files):
            if name.startswith(".") or name.lower() in _IGNORED_NAMES:
                continue
            if Path(name).suffix.lower() in IMAGE_EXTENSIONS:
                path = root_path / name
                rel = nfc(path.relative_to(source).as_posix())
                why = link_problem(path, top)
                if why is not None:
                    if refused is not None:
                        refused[rel] = why
                    continue
                found[rel] = path
    return found


def link_problem(path: Path, top: Path) -> str | None:
    """Why a symbolic link below SOURCE is not read (it leads out of SOURCE, loops, or leads nowhere); None for a
    plain file or a link that stays inside."""
    if not path.is_symlink():
        return None
    try:
        target = path.resolve(strict=True)
    except (OSError, RuntimeError):  # RuntimeError: a loop, on Python before 3.13
        return "a symbolic link that loops or leads nowhere"
    if top not in target.parents:
        return "a symbolic link to a file outside the submissions folder"
    return None


def inside(source: Path, rel: str) -> Path | None:
    """SOURCE/rel when it is a file that really lies below SOURCE (after following links), else None.

    Every reader of an original photo goes through this: a ledger path with '..', an absolute one, or a symbolic
    link out of SOURCE never opens a file elsewhere on the computer."""
    try:
        path = source / rel
        if path.is_file() and source.resolve() in path.resolve().parents:
            return path
    except (OSError, RuntimeError, ValueError):
        pass
    return None


def find_manifest(source: Path, manifest: Path | None) -> Path | None:
    """The manifest a run reads: `manifest` (relative to the working folder, else to SOURCE; ManifestError when
    neither has it), else SOURCE's own entries.csv/.xlsx/.tsv/.txt at its top (any case), else None."""
    if manifest is not None:
        path = manifest if manifest.is_absolute() else (Path.cwd() / manifest)
        if not path.exists() and (source / manifest).exists():
            path = source / manifest
        if not path.exists():
            raise ManifestError(f"{manifest}: no such manifest file")
        return path
    top = source.resolve()
    for name in MANIFEST_NAMES:
        for candidate in source.iterdir():
            if candidate.is_file() and nfc(candidate.name).lower() == name and link_problem(candidate, top) is None:
                return candidate
    return None
