"""Validation report renderers: CSV, XLSX or a self-contained HTML page, chosen by the file's extension.

Renderers never compute: they format a ValidationResult the pipeline already produced.
"""

from __future__ import annotations

import contextlib
import glob
from collections.abc import Callable
from datetime import tzinfo
from pathlib import Path
from typing import TYPE_CHECKING

from milsetctl.fsutil import TEMP_SUFFIX
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
    # times in the contest's zone, as the HTML report and every other output show them (timefmt)
    return lambda result, path, _thumbs, settings: writer(result, path, _zone(settings))


def _zone(settings: Settings | None) -> tzinfo:
    from milsetctl.settings import defaults

    return (settings or defaults()).tz


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

    Each renderer writes through fsutil (a temporary name beside the target, then one rename), so an interrupted
    run never leaves a half-written report that looks complete.
    """
    path = Path(path)
    kind = report_format(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale_parts(path)
    _renderer(kind)(result, path, Path(thumbs_dir) if thumbs_dir is not None else None, settings)
    return path


def _remove_stale_parts(path: Path) -> None:
    """Remove the temporaries a killed run left beside `path`, of a process that is gone: fsutil's
    `.NAME.PID.tmp` (`.NAME.PID-TID.tmp` from a thread) and the `.STEM.PID.partSUFFIX` of earlier versions. The
    report may be written outside any workspace, where no lock says which temporaries are live: the PID does."""
    kinds = ((f".{glob.escape(path.name)}.*{TEMP_SUFFIX}", len(path.name) + 2, len(TEMP_SUFFIX)),
             (f".{glob.escape(path.stem)}.*.part{glob.escape(path.suffix)}", len(path.stem) + 2,
              len(".part" + path.suffix)))
    for pattern, head, tail in kinds:
        for part in path.parent.glob(pattern):
            pid = part.name[head:-tail].split("-", 1)[0]
            if pid.isdigit() and not pid_alive(int(pid)):
                with contextlib.suppress(OSError):
                    part.unlink()


__all__ = ["FORMATS", "report_format", "write_report"]
