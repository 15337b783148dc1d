"""A submissions folder read whole (layout A, B, or a folder of nomination packages) into one entry per manifest
row or sidecar, plus one per image file that nothing names.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from milsetctl.ingest.entries import entries_from_sidecars, entries_from_table
from milsetctl.ingest.folder import find_manifest, inside, scan_images
from milsetctl.ingest.nominations import find_packages, read_nominations
from milsetctl.ingest.tables import ManifestError, read_table
from milsetctl.models import Entry, Finding, Severity
from milsetctl.settings import Settings


@dataclass
class Submissions:
    source: Path
    entries: list[Entry]
    files: dict[str, Path]  # every image-like file below SOURCE: relative NFC path -> real path
    manifest: Path | None = None
    encoding: str = ""
    layout: str = "A"
    notes: list[str] = field(default_factory=list)


def read_submissions(source: Path, settings: Settings, manifest: Path | None = None,
                     exclude: Path | None = None) -> Submissions:
    """Read a submissions folder (layout A or B) into entries, one per manifest row or sidecar,
    plus one per image file that nothing names."""
    if not source.is_dir():
        raise ManifestError(f"{source}: not a folder")
    refused: dict[str, str] = {}
    images = scan_images(source, exclude=exclude, refused=refused)
    manifest_path = find_manifest(source, manifest)
    result = Submissions(source=source, entries=[], files=images, manifest=manifest_path)
    # ---- nomination packages (global stage): milsetctl/ingest/nominations.py ----
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
        result.entries = entries_from_table(table, settings, images, result.notes)
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
    for entry in result.entries:
        if entry.listed and entry.file and entry.file not in result.files:
            candidate = inside(source, entry.file)
            if candidate is not None:
                result.files[entry.file] = candidate
                entry.ingest_findings = [f for f in entry.ingest_findings if f.rule != "path-outside"]
    _name_refused_links(result, refused)
    named = {e.file for e in result.entries if e.file}
    for rel in result.files:
        if rel not in named:
            result.entries.append(Entry(key=f"file:{rel}", file=rel, origin="folder scan", listed=False))
    return result


def _name_refused_links(result: Submissions, refused: dict[str, str]) -> None:
    """A row naming a photo behind a refused link gets a `path-outside` finding; links no row names, a note."""
    if not refused:
        return
    named: set[str] = set()
    for entry in result.entries:
        if not entry.listed or not entry.file or entry.file in result.files:
            continue
        for rel, why in refused.items():
            if entry.file == rel or (rel.endswith("/") and entry.file.startswith(rel)):
                where = f"{rel[:-1]} is {why}" if rel.endswith("/") else f"{rel} is {why}"
                entry.ingest_findings.append(Finding("path-outside", Severity.REJECT,
                                                     f"{entry.origin}: {where}; it was not read"))
                named.add(rel)
                break
    others = [rel for rel in refused if rel not in named]
    if others:
        shown = ", ".join(others[:5]) + (f" and {len(others) - 5} more" if len(others) > 5 else "")
        result.notes.append(f"{len(others)} symbolic link(s) below the submissions folder were not followed (they "
                            f"lead out of it, loop, or are folders): {shown}")
