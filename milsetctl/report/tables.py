"""Spreadsheet renderers (CSV, XLSX) of a ValidationResult, and the row tables they share.

pandas is imported inside the functions: the HTML renderer shares the small helpers here and needs
no pandas (importing it costs ~0.8 s).

The tables hold plain values; only the writers make them spreadsheet-safe: a cell that starts like a
formula (= + - @, tab, CR) gets a leading apostrophe so Excel, WPS or LibreOffice show it as text
(SPEC: a title is never run as a spreadsheet formula).
"""

from __future__ import annotations

import unicodedata
from datetime import tzinfo
from pathlib import Path
from typing import TYPE_CHECKING, Any

from milsetctl.fsutil import atomic_path
from milsetctl.models import (  # noqa: F401 - TOP_REASONS, reason_counts, count_reasons re-exported (consoles, reports)
    SEVERITY_ORDER,
    TOP_REASONS,
    EntryResult,
    Finding,
    ValidationResult,
    count_reasons,
    reason_counts,
)
from milsetctl.sheetcells import FORMULA_START as _FORMULA_START  # noqa: F401 - re-exported (members/sheets)
from milsetctl.sheetcells import XML_ILLEGAL, neutralise
from milsetctl.timefmt import contest_time  # also re-exported (report.html, the consoles)

if TYPE_CHECKING:
    import pandas as pd

ENTRY_COLUMNS = [
    "entry_id", "status", "category", "contestant_id", "name", "school", "grade", "province", "country",
    "file", "title", "description", "submitted_at", "width", "height", "size_mb", "camera", "decision",
    "findings", "origin",
]  # fmt: skip
FINDING_COLUMNS = [
    "entry_id", "status", "contestant_id", "name", "file", "rule", "severity", "message",
]  # fmt: skip
# the entries waiting for a decision first (what the coordinator must act on), as the terminal lists them
STATUS_ORDER = {"review": 0, "rejected": 1, "eligible": 2}
_MAX_COLUMN_WIDTH = 60


def format_findings(findings: list[Finding]) -> str:
    """One cell: 'rule (severity): message; ...'."""
    return "; ".join(f"{f.rule} ({f.severity}): {f.message}" for f in findings)


def format_decision(decision: dict[str, str] | None, tz: tzinfo | None = None) -> str | None:
    """One cell: 'accept: reason (who, 2022-07-12 00:30 Asia/Shanghai)', the time as every output says it
    (timefmt, in `tz`, the contest time zone)."""
    if not decision:
        return None
    text = str(decision.get("decision") or "")
    if decision.get("reason"):
        text += f": {decision['reason']}"
    who_at = ", ".join(str(contest_time(decision[k], tz) if k == "at" else decision[k]) for k in ("who", "at")
                       if decision.get(k))
    return f"{text} ({who_at})" if who_at else text


def format_camera(make: str | None, model: str | None) -> str | None:
    """'Canon EOS 5D', not 'Canon Canon EOS 5D': the model usually repeats the make."""
    make, model = (make or "").strip(), (model or "").strip()
    if make and model and model.lower().startswith(make.split()[0].lower()):
        return model
    return " ".join(p for p in (make, model) if p) or None


def _submitted(r: EntryResult, tz: tzinfo | None) -> str | None:
    """In the contest's time, to the second when it has seconds (the `late` rule's deadline is to the second)."""
    e = r.entry
    if e.submitted_at is not None:
        return contest_time(e.submitted_at, tz, exact=True)
    return e.submitted_at_raw


def entry_rows(result: ValidationResult, tz: tzinfo | None = None) -> pd.DataFrame:
    """One row per entry, in the result's order, with plain (not yet spreadsheet-safe) values; times in `tz`,
    the contest time zone (None: this machine's)."""
    import pandas as pd

    rows = []
    for r in result.entries:
        e, p = r.entry, r.photo
        width = height = size_mb = camera = None
        if p is not None:
            width = p.display_width or p.width
            height = p.display_height or p.height
            size_mb = round(p.size / 1048576, 2) if p.size else None
            camera = format_camera(p.make, p.model)
        rows.append({
            "entry_id": e.entry_id, "status": str(r.status), "category": r.category,
            "contestant_id": e.contestant_id, "name": e.name, "school": e.school, "grade": e.grade,
            "province": e.province, "country": e.country, "file": e.file, "title": e.title,
            "description": e.description, "submitted_at": _submitted(r, tz), "width": width, "height": height,
            "size_mb": size_mb, "camera": camera, "decision": format_decision(r.decision, tz),
            "findings": format_findings(r.findings), "origin": e.origin,
        })  # fmt: skip
    df = pd.DataFrame(rows, columns=ENTRY_COLUMNS)
    for col in ("width", "height"):
        df[col] = df[col].astype("Int64")
    df["size_mb"] = df["size_mb"].astype("Float64")
    return df


def finding_rows(result: ValidationResult) -> pd.DataFrame:
    """One row per finding (entries without findings have none)."""
    import pandas as pd

    rows = [
        {
            "entry_id": r.entry.entry_id,
            "status": str(r.status),
            "contestant_id": r.entry.contestant_id,
            "name": r.entry.name,
            "file": r.entry.file,
            "rule": f.rule,
            "severity": str(f.severity),
            "message": f.message,
        }  # fmt: skip
        for r in result.entries
        for f in r.findings
    ]
    return pd.DataFrame(rows, columns=FINDING_COLUMNS)


def summary_rows(result: ValidationResult) -> pd.DataFrame:
    """The contest summary as two columns (item, value), for the XLSX summary sheet."""
    import pandas as pd

    items: list[tuple[str, Any]] = [("source", result.source), ("workspace", result.workspace)]
    items += list(result.summary().items())
    items += [(f"reason: {rule} ({sev})", n) for rule, sev, n in reason_counts(result)]
    return pd.DataFrame(items, columns=["item", "value"], dtype=object)


def spreadsheet_safe(df: pd.DataFrame, strip_xml_illegal: bool = False) -> pd.DataFrame:
    """A copy whose text cells cannot run as formulas (and, for XLSX, hold no XML-illegal characters)."""

    out = df.copy()
    for col in out.columns:
        if out[col].dtype.kind in "iufb" or str(out[col].dtype) in ("Int64", "Float64", "boolean"):
            continue

        def clean(v: Any) -> Any:
            if isinstance(v, str) and strip_xml_illegal:
                v = XML_ILLEGAL.sub("", v)
            return neutralise(v)

        out[col] = out[col].astype(object).map(clean)
    return out


def write_csv(result: ValidationResult, path: Path, tz: tzinfo | None = None) -> Path:
    """UTF-8 with BOM: Excel on Chinese Windows otherwise reads the names as GBK mojibake. Written whole or not at
    all (fsutil). Times in `tz`, the contest time zone."""
    df = spreadsheet_safe(entry_rows(result, tz))
    with atomic_path(path) as tmp:
        df.to_csv(tmp, index=False, encoding="utf-8-sig", lineterminator="\r\n")
    return path


def _display_width(text: str) -> int:
    """Column width in Excel character units: CJK and full-width characters take two."""
    text = text[: _MAX_COLUMN_WIDTH + 1]  # wider is capped anyway
    if text.isascii():
        return len(text)
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _column_widths(df: pd.DataFrame) -> list[float]:
    """Widths that fit most cells: the 95th percentile, so one long description does not take a screen."""
    widths: list[float] = []
    for col in df.columns:
        lengths = sorted(_display_width(str(v)) for v in df[col] if v is not None)
        typical = lengths[int(len(lengths) * 0.95)] if lengths else 0
        widths.append(min(max(_display_width(str(col)) + 4, typical + 2), _MAX_COLUMN_WIDTH))
    return widths


def _write_sheet(wb: Any, name: str, df: pd.DataFrame) -> None:
    """One write-only sheet: dark bold header, frozen header row, autofilter, fitted widths, status colours.

    Write-only openpyxl, not pandas' ExcelWriter: pandas styles every cell one by one and took 16.5 s
    for 5,000 entries, this about half of that (openpyxl's pure-Python XML writer is the rest).
    """
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font, PatternFill
    from openpyxl.utils import get_column_letter

    ws = wb.create_sheet(name)
    for i, width in enumerate(_column_widths(df), start=1):
        ws.column_dimensions[get_column_letter(i)].width = width
    ws.freeze_panes = "A2"
    ws.auto_filter.ref = f"A1:{get_column_letter(max(1, len(df.columns)))}{len(df) + 1}"
    header_font = Font(bold=True, color="FFFFFF")
    header_fill = PatternFill("solid", fgColor="1F3A5F")
    header = []
    for col in df.columns:
        cell = WriteOnlyCell(ws, value=str(col))
        cell.font, cell.fill = header_font, header_fill
        header.append(cell)
    ws.append(header)
    fills = {
        status: PatternFill("solid", fgColor=colour)
        for status, colour in (("rejected", "FEE2E2"), ("review", "FEF3C7"), ("eligible", "DCFCE7"))
    }
    status_idx = list(df.columns).index("status") if "status" in df.columns else -1
    for row in df.itertuples(index=False, name=None):
        values: list[Any] = list(row)
        if status_idx >= 0 and values[status_idx] in fills:
            cell = WriteOnlyCell(ws, value=values[status_idx])
            cell.fill = fills[values[status_idx]]
            values[status_idx] = cell
        ws.append(values)


def _plain(df: pd.DataFrame) -> pd.DataFrame:
    """Object columns holding Python values, None for missing: what openpyxl can write."""
    out = df.astype(object)
    return out.where(df.notna(), None)


def write_xlsx(result: ValidationResult, path: Path, tz: tzinfo | None = None) -> Path:
    """Sheets 'entries' (one row per entry), 'findings' (one per finding) and 'summary'; written whole or not at
    all (fsutil). Times in `tz`, the contest time zone."""
    import openpyxl

    sheets = {
        "entries": entry_rows(result, tz),
        "findings": finding_rows(result),
        "summary": summary_rows(result),
    }
    wb = openpyxl.Workbook(write_only=True)
    for name, df in sheets.items():
        _write_sheet(wb, name, _plain(spreadsheet_safe(df, strip_xml_illegal=True)))
    with atomic_path(path) as tmp:
        wb.save(tmp)
    return path
