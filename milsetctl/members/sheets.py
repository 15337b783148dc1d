"""Write a table the secretariat opens in Excel or WPS: XLSX or CSV (UTF-8 with BOM), chosen by the extension.

Text a spreadsheet would run as a formula stays text (SPEC "Never"): in XLSX the cell is a string with Excel's
quote prefix (the value itself unchanged), in CSV it gets a leading apostrophe, which `unneutralise` takes off
again when the file comes back, so an export re-imports without loss. Files go to a temporary name in the same
folder, then are renamed: a run killed half-way leaves the old file whole.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from milsetctl.fsutil import atomic_path
from milsetctl.problem_codes import Coded
from milsetctl.sheetcells import FORMULA_START, XML_ILLEGAL, formula_like, neutralise

FORMATS = (".xlsx", ".csv")


class SheetError(ValueError):
    """The table cannot be written (format, folder); `code` is the CLI exit code, `said` the message with its
    problem code (table-format, table-unwritable), which is what str() gives."""

    def __init__(self, problem: str, message: str, code: int = 1) -> None:
        self.said = Coded(problem, message)
        super().__init__(self.said)
        self.code = code


def table_format(path: Path) -> str:
    """'.xlsx' or '.csv'; SheetError (usage, exit 2) for anything else."""
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise SheetError("table-format", f"{path.name}: write to .xlsx or .csv (not {suffix or 'no extension'!r})",
                         2)
    return suffix


def unneutralise(text: str) -> str:
    """Undo `neutralise` on a CSV cell read back: "'=SUM(A1)" -> "=SUM(A1)"; other text unchanged."""
    if text.startswith("'") and len(text) > 1:
        rest = text[1:]
        if rest.startswith(("\t", "\r", "\n")) or rest.lstrip(" ").startswith(FORMULA_START):
            return rest
    return text


def write_table(path: Path, header: Sequence[str], rows: Sequence[Sequence[Any]], sheet: str = "table",
                widths: dict[str, int] | None = None, money_format: str = "0.00",
                extra_sheets: dict[str, list[list[Any]]] | None = None) -> Path:
    """Write `header` + `rows` to `path` (.xlsx or .csv); returns the resolved path.

    Cells: str, int, Decimal (money: a number cell shown with `money_format`), date (a date cell), None.
    `extra_sheets` (XLSX only): more sheets, name -> rows (first row bold). Raises SheetError."""
    suffix = table_format(path)
    path = path.resolve()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise SheetError("table-unwritable", f"{path}: cannot write there: {exc.strerror or exc}") from exc
    try:
        with atomic_path(path) as tmp:
            if suffix == ".xlsx":
                _write_xlsx(tmp, header, rows, sheet, widths or {}, money_format, extra_sheets or {})
            else:
                _write_csv(tmp, header, rows)
    except OSError as exc:
        raise SheetError("table-unwritable", f"{path}: cannot write: {exc.strerror or exc}") from exc
    return path


def _csv_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat(sep=" ", timespec="minutes")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return f"{value:f}"
    return str(neutralise(value))


def _write_csv(path: Path, header: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """UTF-8 with BOM: Excel on Chinese Windows otherwise reads the names as GBK mojibake. Every cell quoted: a
    CSV reader that sniffs the dialect (ours, `ingest.tables`) takes the apostrophe of a neutralised cell at the
    start of a line for the quote character otherwise, and the row falls apart."""
    with open(path, "w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\r\n", quoting=csv.QUOTE_ALL)
        writer.writerow([_csv_cell(h) for h in header])
        for row in rows:
            writer.writerow([_csv_cell(v) for v in row])


def _write_xlsx(path: Path, header: Sequence[str], rows: Sequence[Sequence[Any]], title: str,
                widths: dict[str, int], money_format: str, extra: dict[str, list[list[Any]]]) -> None:
    import openpyxl
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font, PatternFill
    from openpyxl.utils import get_column_letter

    wb = openpyxl.Workbook(write_only=True)
    bold, fill = Font(bold=True, color="FFFFFF"), PatternFill("solid", fgColor="1F3A5F")

    def cell(sheet: Any, value: Any) -> Any:
        if isinstance(value, str):
            value = XML_ILLEGAL.sub("", value)
            if formula_like(value):  # a string cell, shown as typed: never run as a formula
                c = WriteOnlyCell(sheet, value=value)
                c.data_type = "s"
                c.quotePrefix = True
                return c
            return value
        if isinstance(value, Decimal):
            c = WriteOnlyCell(sheet, value=value)
            c.number_format = money_format
            return c
        if isinstance(value, date) and not isinstance(value, datetime):
            c = WriteOnlyCell(sheet, value=value)
            c.number_format = "yyyy-mm-dd"
            return c
        return value

    def add(name: str, table: list[list[Any]], col_widths: dict[str, int]) -> None:
        sheet = wb.create_sheet(name[:31])
        sheet.freeze_panes = "A2"
        head = table[0] if table else []
        for i, col in enumerate(head, start=1):
            sheet.column_dimensions[get_column_letter(i)].width = col_widths.get(str(col), 16)
        for r, line in enumerate(table):
            if r == 0:
                cells = []
                for value in line:
                    c = WriteOnlyCell(sheet, value=XML_ILLEGAL.sub("", str(value)))
                    c.font, c.fill = bold, fill
                    cells.append(c)
                sheet.append(cells)
            else:
                sheet.append([cell(sheet, v) for v in line])

    add(title, [list(header), *[list(r) for r in rows]], widths)
    for name, table in extra.items():
        add(name, table, {})
    wb.save(path)
