"""Ingest: turn a submissions folder into entries.

Layout A: a manifest (`entries.csv` / `entries.xlsx` at the root, or `--manifest`) naming each photo.
Layout B: a JSON sidecar beside each photo (`photo.json` or `photo.jpg.json`) with the same fields.
Every image file below the folder that no row names becomes an entry of its own (`unlisted-file`).
Nothing in SOURCE is ever written: files are only listed and read.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from milsetctl.ingest.columns import COLUMNS, match_headers
from milsetctl.ingest.tables import ManifestError, Table, cell_text, read_table
from milsetctl.ingest.values import nfc, norm_path, parse_datetime
from milsetctl.models import Entry, Finding, Severity
from milsetctl.settings import Settings

__all__ = ["ManifestError", "Submissions", "read_submissions", "IMAGE_EXTENSIONS"]

MANIFEST_NAMES = ("entries.csv", "entries.xlsx", "entries.tsv", "entries.txt")
IMAGE_EXTENSIONS = {
    ".jpg", ".jpeg", ".jpe", ".jfif", ".png", ".webp", ".heic", ".heif", ".hif", ".avif", ".tif", ".tiff",
    ".gif", ".bmp", ".dib", ".jxl", ".psd", ".dng", ".cr2", ".cr3", ".nef", ".arw", ".raf", ".orf", ".rw2",
}
# clutter that archivers and operating systems leave behind
_IGNORED_NAMES = {".ds_store", "thumbs.db", "desktop.ini", "__macosx"}


@dataclass
class Submissions:
    source: Path
    entries: list[Entry]
    files: dict[str, Path]  # every image-like file below SOURCE: relative NFC path -> real path
    manifest: Path | None = None
    encoding: str = ""
    layout: str = "A"
    notes: list[str] = field(default_factory=list)


def scan_images(source: Path, exclude: Path | None = None) -> dict[str, Path]:
    """Relative NFC path -> real path, for every image-like file below SOURCE (hidden files skipped)."""
    found: dict[str, Path] = {}
    excluded = exclude.resolve() if exclude else None
    for root, dirs, files in os.walk(source, onerror=lambda e: None):
        root_path = Path(root)
        if excluded is not None and (root_path.resolve() == excluded or excluded in root_path.resolve().parents):
            dirs[:] = []
            continue
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d.lower() not in _IGNORED_NAMES)
        for name in sorted(files):
            if name.startswith(".") or name.lower() in _IGNORED_NAMES:
                continue
            if Path(name).suffix.lower() in IMAGE_EXTENSIONS:
                path = root_path / name
                rel = nfc(path.relative_to(source).as_posix())
                found[rel] = path
    return found


def _find_manifest(source: Path, manifest: Path | None) -> Path | None:
    if manifest is not None:
        path = manifest if manifest.is_absolute() else (Path.cwd() / manifest)
        if not path.exists() and (source / manifest).exists():
            path = source / manifest
        if not path.exists():
            raise ManifestError(f"{manifest}: no such manifest file")
        return path
    for name in MANIFEST_NAMES:
        for candidate in source.iterdir():
            if candidate.is_file() and nfc(candidate.name).lower() == name:
                return candidate
    return None


def _resolve_file(cell: str, images: dict[str, Path]) -> str:
    """Match a manifest path to a file: exactly, then ignoring case, then by a unique base name."""
    rel = norm_path(cell)
    if rel in images:
        return rel
    folded = {k.casefold(): k for k in images}
    if rel.casefold() in folded:
        return folded[rel.casefold()]
    base = rel.rsplit("/", 1)[-1].casefold()
    matches = [k for k in images if k.rsplit("/", 1)[-1].casefold() == base]
    if len(matches) == 1:
        return matches[0]
    return rel


def _entry_from_fields(
    fields: dict[str, Any], settings: Settings, origin: str, key_fallback: str, images: dict[str, Path],
    where: dict[str, str] | None = None,
) -> Entry:
    """Build an Entry from column -> raw value; unreadable cells become findings naming the cell."""
    text = {c: cell_text(fields.get(c)) for c in COLUMNS}
    findings: list[Finding] = []
    file_rel = _resolve_file(text["file"], images) if text["file"] else None
    submitted = None
    raw_when = fields.get("submitted_at")
    if text["submitted_at"]:
        try:
            submitted = parse_datetime(raw_when if not isinstance(raw_when, str) else text["submitted_at"],
                                       settings.tz)
        except ValueError as exc:
            cell = (where or {}).get("submitted_at", "submitted_at")
            findings.append(Finding("late", Severity.REVIEW, f"{origin}, {cell}: cannot check the deadline: {exc}"))
    extra = {k: cell_text(v) for k, v in fields.items() if k not in COLUMNS and cell_text(v)}
    return Entry(
        key=f"file:{file_rel}" if file_rel else key_fallback,
        file=file_rel,
        contestant_id=text["contestant_id"] or None,
        name=nfc(text["name"]) or None,
        school=nfc(text["school"]) or None,
        grade=text["grade"] or None,
        province=nfc(text["province"]) or None,
        country=nfc(text["country"]) or None,
        email=text["email"] or None,
        title=nfc(text["title"]) if text["title"] else None,
        description=nfc(text["description"]) if text["description"] else None,
        submitted_at=submitted,
        submitted_at_raw=text["submitted_at"] or None,
        origin=origin,
        extra=extra,
        ingest_findings=findings,
    )


def _col_letter(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def entries_from_table(table: Table, settings: Settings, images: dict[str, Path]) -> list[Entry]:
    aliases = settings.section("manifest").get("aliases") or {}
    columns = match_headers(table.headers, aliases)
    required = list(settings.section("manifest").get("required_columns") or [])
    missing = [c for c in required if c not in columns.values()]
    if missing:
        seen = ", ".join(repr(h) for h in table.headers if str(h).strip()) or "(none)"
        raise ManifestError(
            f"{table.path.name}: required column {', '.join(missing)} not found in the header row "
            f"(found: {seen}). Rename the column, or add an alias under [manifest.aliases] in contest.toml."
        )
    entries = []
    for row_number, cells in table.rows:
        fields: dict[str, Any] = {}
        where: dict[str, str] = {}
        for index, column in columns.items():
            fields[column] = cells[index] if index < len(cells) else None
            where[column] = f"column {table.headers[index].strip()!r} (cell {_col_letter(index)}{row_number})"
        for index, header in enumerate(table.headers):
            if index not in columns and header.strip() and index < len(cells):
                # setdefault: a second "file" column must not overwrite the first, recognised one
                fields.setdefault(header.strip(), cells[index])
        origin = f"{table.path.name} row {row_number}"
        entries.append(_entry_from_fields(fields, settings, origin, f"row:{row_number}", images, where))
    return entries


def _sidecar_for(path: Path) -> Path | None:
    for candidate in (path.with_suffix(".json"), path.with_name(path.name + ".json")):
        if candidate.is_file():
            return candidate
    return None


def entries_from_sidecars(source: Path, images: dict[str, Path], settings: Settings) -> list[Entry]:
    aliases = settings.section("manifest").get("aliases") or {}
    entries = []
    for rel, path in images.items():
        sidecar = _sidecar_for(path)
        if sidecar is None:
            continue
        name = sidecar.relative_to(source).as_posix()
        try:
            raw = sidecar.read_bytes()
            from milsetctl.ingest.tables import decode_text

            data = json.loads(decode_text(raw, sidecar)[0].lstrip("\ufeff"))
            if not isinstance(data, dict):
                raise ValueError("the file holds no JSON object")
        except (ValueError, ManifestError) as exc:
            entry = Entry(key=f"file:{rel}", file=rel, origin=name)
            entry.ingest_findings.append(
                Finding("missing-field", Severity.REJECT, f"{name}: sidecar is not valid JSON: {exc}")
            )
            entries.append(entry)
            continue
        columns = match_headers(list(data.keys()), aliases)
        fields = {columns[i]: v for i, v in enumerate(data.values()) if i in columns}
        for i, (key, value) in enumerate(data.items()):
            if i not in columns:
                fields.setdefault(key, value)  # "Title" recognised first is not overwritten by "title"
        fields["file"] = rel  # a sidecar belongs to the photo beside it
        entries.append(_entry_from_fields(fields, settings, name, f"file:{rel}", images))
    return entries


def read_submissions(source: Path, settings: Settings, manifest: Path | None = None,
                     exclude: Path | None = None) -> Submissions:
    """Read a submissions folder (layout A or B) into entries, one per manifest row or sidecar,
    plus one per image file that nothing names."""
    if not source.is_dir():
        raise ManifestError(f"{source}: not a folder")
    images = scan_images(source, exclude=exclude)
    manifest_path = _find_manifest(source, manifest)
    result = Submissions(source=source, entries=[], files=images, manifest=manifest_path)
    # ---- nomination packages (global stage): milsetctl/ingest/nominations.py ----
    from milsetctl.ingest.nominations import find_packages, read_nominations

    packages = find_packages(source) if manifest_path is None else []
    if packages:  # a folder of nomination zips (or their extracted folders): the union of their manifests
        cache = (exclude if exclude is not None else Path(tempfile.gettempdir()) / "milsetctl") / "cache"
        result.entries, result.files, result.notes = read_nominations(
            source, packages, settings, cache / "nominations", exclude)
        result.layout = "nominations"
    # ---- end nomination packages ----
    elif manifest_path is not None:
        table = read_table(manifest_path)
        result.encoding = table.encoding
        result.entries = entries_from_table(table, settings, images)
    else:
        result.layout = "B"
        result.entries = entries_from_sidecars(source, images, settings)
        if not result.entries:
            result.notes.append("no manifest (entries.csv / entries.xlsx) and no JSON sidecars found")
    # two rows naming the same file are two entries; give the second its own identity
    seen: dict[str, int] = {}
    for entry in result.entries:
        count = seen.get(entry.key, 0)
        seen[entry.key] = count + 1
        if count:
            entry.key = f"{entry.key}#{count + 1}"
    # a row may name a file that exists but is no image (a PDF, a video): `format` names it, rather
    # than `missing-file` calling it absent
    root = source.resolve()
    for entry in result.entries:
        if entry.listed and entry.file and entry.file not in result.files:
            candidate = source / entry.file
            try:
                if candidate.is_file() and root in candidate.resolve().parents:
                    result.files[entry.file] = candidate
            except OSError:
                continue
    named = {e.file for e in result.entries if e.file}
    for rel in result.files:
        if rel not in named:
            result.entries.append(Entry(key=f"file:{rel}", file=rel, origin="folder scan", listed=False))
    return result
