"""Validation report renderers: CSV, XLSX or a self-contained HTML page, chosen by the file's extension.

Renderers never compute: they format a ValidationResult the pipeline already produced.
"""

from __future__ import annotations

import contextlib
import glob
import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from milsetctl.locking import pid_alive
from milsetctl.models import ValidationResult

if TYPE_CHECKING:
    from milsetctl.settings import Settings

FORMATS = {".csv": "csv", ".xlsx": "xlsx", ".html": "html", ".htm": "html"}


def _renderer(kind: str) -> Callable[[ValidationResult, Path, Path | None, Settings | None], Path]:
    # imported here: pandas and openpyxl cost ~0.5 s, and `milsetctl --help` must stay instant
    if kind == "html":
        from milsetctl.report.html import write_html

        return write_html
    from milsetctl.report.tables import write_csv, write_xlsx

    writer = write_csv if kind == "csv" else write_xlsx
    return lambda result, path, _thumbs, _settings: writer(result, path)


def report_format(path: Path) -> str:
    """'csv', 'xlsx' or 'html' for the file name; ValueError naming the supported extensions otherwise."""
    kind = FORMATS.get(Path(path).suffix.lower())
    if kind is None:
        supported = ", ".join(FORMATS)
        raise ValueError(
            f"cannot write a report to {Path(path).name!r}: unsupported extension "
            f"{Path(path).suffix or '(none)'!r}; use one of {supported}"
        )
    return kind


def write_report(result: ValidationResult, path: Path, thumbs_dir: Path | None = None,
                 settings: Settings | None = None) -> Path:
    """Write the report to `path` (format from its extension); thumbnails are read from `thumbs_dir`.

    `settings`: the contest's (time zone for every time shown, regions for the provinces); the defaults if None.

    The file is written beside its target and renamed into place, so an interrupted run never leaves a
    half-written report that looks complete.
    """
    path = Path(path)
    kind = report_format(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale_parts(path)
    tmp = path.with_name(f".{path.stem}.{os.getpid()}.part{path.suffix}")
    try:
        _renderer(kind)(result, tmp, Path(thumbs_dir) if thumbs_dir is not None else None, settings)
        tmp.replace(path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
    return path


def _remove_stale_parts(path: Path) -> None:
    """Remove the temporaries a killed run left beside `path` (`.STEM.PID.partSUFFIX` of a process that is gone)."""
    for part in path.parent.glob(f".{glob.escape(path.stem)}.*.part{glob.escape(path.suffix)}"):
        pid = part.name[len(path.stem) + 2:-len(".part" + path.suffix)]
        if pid.isdigit() and not pid_alive(int(pid)):
            with contextlib.suppress(OSError):
                part.unlink()


__all__ = ["FORMATS", "report_format", "write_report"]
