"""Ingest: turn a submissions folder into entries.

Layout A: a manifest (`entries.csv` / `entries.xlsx` at the root, or `--manifest`) naming each photo.
Layout B: a JSON sidecar beside each photo (`photo.json` or `photo.jpg.json`) with the same fields.
Every image file below the folder that no row names becomes an entry of its own (`unlisted-file`).
Nothing in SOURCE is ever written: files are only listed and read.

The pieces: folder.py (the folder's images, the manifest, `inside`), entries.py (manifest rows and sidecars into
entries), nominations.py (a folder of nomination packages at the global stage), submissions.py (`read_submissions`:
the whole folder); below them tables.py and sheetfile.py read any spreadsheet, values.py reads the cells.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from milsetctl.lazy import lazy_exports

# The package's names, each from the module that defines it, imported on first use: the rules and the settings
# read cells with values.py (`milsetctl.ingest.values`), and importing that must not import the whole reader
# (entries, spreadsheets, nominations) for `milsetctl rules` or `status`.
_NAMES = {
    "SIDECAR_MAX_BYTES": "entries", "column_label": "entries", "entries_from_sidecars": "entries",
    "entries_from_table": "entries", "IMAGE_EXTENSIONS": "folder", "find_manifest": "folder", "inside": "folder",
    "scan_images": "folder", "Submissions": "submissions", "read_submissions": "submissions",
    "ManifestError": "tables",
}

if TYPE_CHECKING:
    from milsetctl.ingest.entries import SIDECAR_MAX_BYTES, column_label, entries_from_sidecars, entries_from_table
    from milsetctl.ingest.folder import IMAGE_EXTENSIONS, find_manifest, inside, scan_images
    from milsetctl.ingest.submissions import Submissions, read_submissions
    from milsetctl.ingest.tables import ManifestError

__all__ = [
    "IMAGE_EXTENSIONS", "SIDECAR_MAX_BYTES", "ManifestError", "Submissions", "column_label", "entries_from_sidecars",
    "entries_from_table", "find_manifest", "inside", "read_submissions", "scan_images",
]


__getattr__ = lazy_exports(__name__, _NAMES)
