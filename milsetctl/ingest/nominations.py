"""The global stage's SOURCE: a folder of nomination packages, one per country, read as one contest.

A package is what `milsetctl nominate` writes: a zip holding `entries.csv` (SPEC's columns plus `country`,
`national_rank`, `category`, `score`) and the original photos below it. SOURCE holds several of them, as zips or
as the folders they were extracted to (SPEC: "a folder of such zips (one per country), or their extracted
folders"). The union of their manifests is the contest:

- every photo path is prefixed with the package's name (the zip's stem or the folder's name), so two countries'
  `photos/E0001_sky.jpg` stay two files, and an entry's `file` says which package it came from;
- each entry keeps the country its manifest gives (else the `country` of the package's `nomination.json`);
- a contestant ID found in two packages (two countries numbering from 1) is qualified with the package name
  (`brazil:001`), the national one kept in `extra["national_contestant_id"]`, so one-per-contestant does not
  reject one country's nominee for another's;
- nothing is written into SOURCE: a zip is extracted into the workspace's cache
  (`cache/nominations/<zip stem>/`, the manifest's folder at its root), once per version of the zip (size and
  mtime), to a temporary folder that is then renamed, so a killed run leaves no half-extracted package behind.
  An entry's photo is therefore `SOURCE/<file>` (extracted folder) or `<workspace>/cache/nominations/<file>`
  (zip): `photo_path` says which. Photos must exist as files because the
  probe runs in worker processes and the stat cache is keyed by path.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
import unicodedata
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from milsetctl.ingest.columns import MANIFEST_NAMES
from milsetctl.ingest.entries import entries_from_table
from milsetctl.ingest.folder import inside, scan_images
from milsetctl.ingest.tables import ManifestError, read_table
from milsetctl.models import Entry
from milsetctl.settings import Settings
from milsetctl.sheetcells import formula_like

NOMINATION_INFO = "nomination.json"
# larger members are not extracted (a photo may weigh 10 MB; anything near this is a zip bomb or a video)
MAX_MEMBER_BYTES = 256 * 1024 * 1024
# a zip bomb is refused before anything is extracted, from the sizes its directory declares, and again while
# extracting (a directory may lie): a country's package is a few hundred photos, compressed about 1:1
MAX_MEMBERS = 5000
MAX_PACKAGE_BYTES = 4 * 1024 * 1024 * 1024
MAX_RATIO = 100  # uncompressed / compressed, for members over RATIO_FLOOR (a CSV compresses about 5-fold)
RATIO_FLOOR = 1024 * 1024
_DIRECTORY_LIMIT = 100_000  # a zip claiming more members is not even listed (its directory alone is huge)
_MARKER = ".milsetctl-zip"
_CHUNK = 1 << 20
_IGNORED = {"__macosx", ".ds_store", "thumbs.db", "desktop.ini"}


@dataclass
class Package:
    """One nomination package found in SOURCE."""

    name: str  # the prefix of every file path: the zip's stem or the folder's name (NFC)
    origin: Path  # the zip file or the folder inside SOURCE
    kind: str  # "zip" or "folder"
    manifest: str  # the manifest's path inside the package, '/'-separated


def _nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def _member_name(info: zipfile.ZipInfo) -> str:
    """The member's name as its author wrote it: zips without the UTF-8 flag (0x800) from Chinese Windows hold
    GBK names, which Python decodes as cp437 mojibake."""
    name = info.filename
    if not info.flag_bits & 0x800:
        try:
            raw = name.encode("cp437")
        except UnicodeEncodeError:
            return _nfc(name)
        for encoding in ("utf-8", "gb18030"):
            try:
                return _nfc(raw.decode(encoding))
            except UnicodeDecodeError:
                continue
    return _nfc(name)


def safe_member_path(name: str) -> str | None:
    """A member name as a safe relative path ('a/b.jpg'), or None when it is absolute, climbs out with '..',
    names a drive, or is clutter an archiver left behind."""
    text = name.replace("\\", "/")
    if text.startswith("/") or (len(text) > 1 and text[1] == ":"):
        return None
    parts = [p for p in PurePosixPath(text).parts if p not in ("", ".")]
    if not parts or any(p == ".." for p in parts):
        return None
    if any(p.casefold() in _IGNORED for p in parts):
        return None
    return "/".join(parts)


class PackageRefused(ManifestError):
    """A nomination zip that is not extracted at all (a zip bomb): the other packages are read without it."""


def _declared_members(path: Path) -> int:
    """The member count a zip's end-of-directory record declares (0 when none is found), read from its last
    64 KB without parsing the directory."""
    with path.open("rb") as fh:
        fh.seek(0, os.SEEK_END)
        size = fh.tell()
        fh.seek(max(0, size - 65557))
        tail = fh.read()
    at = tail.rfind(b"PK\x05\x06")
    if at < 0 or at + 12 > len(tail):
        return 0
    count = int.from_bytes(tail[at + 10 : at + 12], "little")
    z64 = tail.rfind(b"PK\x06\x06", 0, at)
    if count == 0xFFFF and z64 >= 0 and z64 + 40 <= len(tail):
        count = int.from_bytes(tail[z64 + 32 : z64 + 40], "little")
    return count


def bomb_check(infos: list[zipfile.ZipInfo]) -> str | None:
    """Why a zip must not be extracted (too many members, too many bytes, a member inflating over MAX_RATIO-fold),
    from its directory alone; None when it looks like a nomination package."""
    if len(infos) > MAX_MEMBERS:
        return f"{len(infos)} members, over the {MAX_MEMBERS} a nomination package may hold"
    total = sum(i.file_size for i in infos)
    if total > MAX_PACKAGE_BYTES:
        return f"it would inflate to {total / 2**30:.1f} GB, over {MAX_PACKAGE_BYTES / 2**30:.0f} GB"
    for info in infos:
        if info.file_size > RATIO_FLOOR and info.file_size > MAX_RATIO * max(1, info.compress_size):
            return (f"{info.filename!r} inflates {info.file_size // max(1, info.compress_size)}-fold "
                    f"({info.compress_size} bytes to {info.file_size}; photos barely compress)")
    return None


def _zip_manifest(path: Path) -> str | None:
    """The manifest's path inside a zip (the shallowest one), or None when it is no nomination package."""
    try:
        if _declared_members(path) > _DIRECTORY_LIMIT:
            return None
        with zipfile.ZipFile(path) as zf:
            names = [safe_member_path(_member_name(i)) for i in zf.infolist() if not i.is_dir()]
    except (OSError, zipfile.BadZipFile, ValueError):
        return None
    found = [n for n in names if n and n.rsplit("/", 1)[-1].casefold() in MANIFEST_NAMES]
    return min(found, key=lambda n: (n.count("/"), n)) if found else None


def _folder_manifest(folder: Path) -> str | None:
    """A manifest at the folder's root, or one level down when an unzip tool added a folder of its own."""
    for depth in (0, 1):
        candidates = [folder] if depth == 0 else sorted(
            p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")
            and p.name.casefold() not in _IGNORED
        )
        for base in candidates:
            for child in sorted(base.iterdir()):
                if child.is_file() and _nfc(child.name).casefold() in MANIFEST_NAMES:
                    return child.relative_to(folder).as_posix()
    return None


def find_packages(source: Path) -> list[Package]:
    """The nomination packages directly inside SOURCE: zips holding a manifest, and sub-folders with one.

    Empty when SOURCE is an ordinary submissions folder. A zip and a folder of the same name (the zip next to its
    extracted copy) count once, as the zip: the file as the country sent it.
    """
    packages: dict[str, Package] = {}
    folders: list[Path] = []
    try:
        children = sorted(source.iterdir())
    except OSError:
        return []
    for child in children:
        if child.name.startswith(".") or child.name.casefold() in _IGNORED:
            continue
        if child.is_file() and child.suffix.lower() == ".zip":
            manifest = _zip_manifest(child)
            if manifest is not None:
                name = _nfc(child.stem)
                packages[name.casefold()] = Package(name, child, "zip", manifest)
        elif child.is_dir():
            folders.append(child)
    for folder in folders:
        name = _nfc(folder.name)
        if name.casefold() in packages:
            continue
        try:
            manifest = _folder_manifest(folder)
        except OSError:
            manifest = None
        if manifest is not None:
            packages[name.casefold()] = Package(name, folder, "folder", manifest)
    return sorted(packages.values(), key=lambda p: p.name.casefold())


def extract_package(package: Package, cache: Path) -> tuple[Path, list[str]]:
    """The folder holding the zip's contents (extracted once per zip version) and notes on skipped members.

    Members with unsafe paths, symbolic links and members over MAX_MEMBER_BYTES are not extracted; the rows
    naming them then get `missing-file`, and the notes say why.
    """
    notes: list[str] = []
    target = cache / package.name
    # the package's root is the manifest's folder: a zip made of a folder ("china/entries.csv") is extracted
    # without that folder, so an entry's photo is always at cache/nominations/<package>/<file as the row names it>
    base = package.manifest.rsplit("/", 1)[0] + "/" if "/" in package.manifest else ""
    stat = package.origin.stat()
    stamp = f"{stat.st_size} {stat.st_mtime_ns}"
    marker = target / _MARKER
    if marker.is_file() and marker.read_text(encoding="utf-8").strip() == stamp.strip():
        return target, notes
    cache.mkdir(parents=True, exist_ok=True)
    for stale in cache.glob(".tmp-*"):  # a run killed while extracting
        shutil.rmtree(stale, ignore_errors=True)
    tmp = Path(tempfile.mkdtemp(prefix=".tmp-", dir=cache))
    total = 0
    try:
        with zipfile.ZipFile(package.origin) as zf:
            refusal = bomb_check(zf.infolist())
            if refusal is not None:
                raise PackageRefused(f"{package.origin.name}: refused, not extracted (a zip bomb?): {refusal}")
            for info in zf.infolist():
                if info.is_dir():
                    continue
                shown = _member_name(info)
                rel = safe_member_path(shown)
                if rel is None:
                    if safe_member_path(shown.replace("\\", "/").rsplit("/", 1)[-1]) is not None:  # not clutter
                        notes.append(f"{package.origin.name}: {shown!r} not extracted: unsafe path")
                    continue
                if not rel.startswith(base):
                    notes.append(f"{package.origin.name}: {shown!r} not extracted: outside the manifest's folder")
                    continue
                rel = rel[len(base):]
                if (info.external_attr >> 16) & 0o170000 == 0o120000:
                    notes.append(f"{package.origin.name}: {shown!r} not extracted: a symbolic link")
                    continue
                if info.file_size > MAX_MEMBER_BYTES:
                    notes.append(f"{package.origin.name}: {shown!r} not extracted: {info.file_size} bytes")
                    continue
                dest = tmp / rel
                written = 0
                try:  # one damaged member (bad CRC, a name too long, a file where a folder goes) costs only itself
                    dest.parent.mkdir(parents=True, exist_ok=True)
                    with zf.open(info) as src, open(dest, "wb") as out:
                        while chunk := src.read(_CHUNK):
                            written += len(chunk)
                            total += len(chunk)
                            if total > MAX_PACKAGE_BYTES:  # the directory lied about the sizes
                                raise PackageRefused(f"{package.origin.name}: refused, not extracted (a zip bomb?): "
                                                     f"it inflates past {MAX_PACKAGE_BYTES / 2**30:.0f} GB")
                            if written > MAX_MEMBER_BYTES:  # the header lied about the size
                                break
                            out.write(chunk)
                except (OSError, zipfile.BadZipFile, zlib.error, EOFError, RuntimeError) as exc:
                    with contextlib.suppress(OSError):  # a half-written member, if any
                        dest.unlink()
                    why = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
                    notes.append(f"{package.origin.name}: {shown!r} not extracted: {why}")
                    continue
                if written > MAX_MEMBER_BYTES:
                    dest.unlink()
                    notes.append(f"{package.origin.name}: {shown!r} not extracted: over {MAX_MEMBER_BYTES} bytes")
        (tmp / _MARKER).write_text(stamp, encoding="utf-8")
        if target.exists():
            shutil.rmtree(target)
        os.replace(tmp, target)
    except PackageRefused:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    except (OSError, zipfile.BadZipFile, RuntimeError) as exc:  # RuntimeError: an encrypted member
        shutil.rmtree(tmp, ignore_errors=True)
        raise ManifestError(f"{package.origin.name}: cannot read the zip: {exc}") from exc
    return target, notes


def _unquote(value: str | None) -> str | None:
    """`nominate` writes a cell that starts like a formula with a leading apostrophe (Excel shows it as text);
    the value the national round had is the one after it."""
    if value and value.startswith("'") and formula_like(value[1:]):
        return value[1:]
    return value


def _package_info(root: Path) -> dict[str, object]:
    path = root / NOMINATION_INFO
    try:
        if path.stat().st_size > 1024 * 1024:  # a few fields; anything larger is not a nomination.json
            return {}
        data = json.loads(path.read_text(encoding="utf-8-sig"))
    except (OSError, ValueError, RecursionError):
        return {}
    return data if isinstance(data, dict) else {}


def read_nominations(source: Path, packages: list[Package], settings: Settings, cache: Path,
                     exclude: Path | None = None) -> tuple[list[Entry], dict[str, Path], list[str]]:
    """Entries of every package (files prefixed with the package name) and every image file found.

    Returns (entries, files: relative path -> real path, notes). Images in SOURCE outside any package are
    returned too, so they become `unlisted-file` entries like in any submissions folder. Raises ManifestError
    naming the package when a package's manifest cannot be used.
    """
    entries: list[Entry] = []
    files: dict[str, Path] = {}
    notes: list[str] = []
    folder_names = set()
    for package in packages:
        if package.kind == "zip":
            try:
                base, skipped = extract_package(package, cache)
            except PackageRefused as exc:  # the other countries' packages are still the contest
                notes.append(str(exc))
                continue
            notes += skipped
        else:
            base = package.origin
            folder_names.add(package.name)
        label = package.origin.name
        manifest_rel = PurePosixPath(package.manifest)
        root = base if package.kind == "zip" else base.joinpath(*manifest_rel.parent.parts)
        # zip: cache/nominations/<name>/<file>; folder: the path below SOURCE (the manifest may sit one level down)
        prefix = package.name if package.kind == "zip" else _nfc(root.relative_to(source).as_posix())
        images = scan_images(root)
        try:
            table = read_table(root / manifest_rel.name)
            found = entries_from_table(table, settings, images)
        except ManifestError as exc:
            raise ManifestError(f"{label}: {exc}") from exc
        info = _package_info(root)
        for rel, path in images.items():
            files[f"{prefix}/{rel}"] = path
        for entry in found:
            if entry.file:
                entry.file = f"{prefix}/{entry.file}"
                entry.key = f"file:{entry.file}"
            else:
                entry.key = f"{package.name}:{entry.key}"
            for finding in entry.ingest_findings:  # "entries.csv row 3: ..." names the package too
                if finding.message.startswith(entry.origin):
                    finding.message = f"{label}/{finding.message}"
            entry.origin = f"{label}/{entry.origin}"
            for column in ("contestant_id", "name", "school", "title", "description", "email", "province"):
                setattr(entry, column, _unquote(getattr(entry, column)))
            entry.extra["nomination"] = package.name
            if not entry.country and info.get("country"):
                entry.country = str(info["country"])
            if not entry.country:
                notes.append(f"{entry.origin}: no country given")
        entries += found
    # a contestant ID met in two packages: two countries' numbering, not one person
    owners: dict[str, set[str]] = {}
    for entry in entries:
        if entry.contestant_id:
            owners.setdefault(entry.contestant_id.casefold(), set()).add(entry.extra["nomination"])
    for entry in entries:
        if entry.contestant_id and len(owners[entry.contestant_id.casefold()]) > 1:
            entry.extra["national_contestant_id"] = entry.contestant_id
            entry.contestant_id = f"{entry.extra['nomination']}:{entry.contestant_id}"
            notes.append(f"{entry.origin}: contestant ID {entry.extra['national_contestant_id']} is used by "
                         f"several countries; read as {entry.contestant_id}")
    # loose photos in SOURCE, outside every package: entries of their own (unlisted-file)
    for rel, path in scan_images(source, exclude=exclude).items():
        top = rel.split("/", 1)[0]
        if top not in folder_names and not any(top.casefold() == p.name.casefold() for p in packages):
            files.setdefault(rel, path)
    return entries, files, notes


def photo_path(workspace: Path, source: Path | None, rel: str) -> Path | None:
    """Where an entry's photo (`file`, relative to SOURCE as the ledger holds it) is on disk: below SOURCE, or, for
    a nomination zip at the global stage, in the workspace's extraction cache. None when in neither."""
    roots = ([source] if source else []) + [workspace / "cache" / "nominations"]
    return next((p for p in (inside(root, rel) for root in roots) if p is not None), None)
