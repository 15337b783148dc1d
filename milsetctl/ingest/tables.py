"""Read a contestant spreadsheet (CSV in any encoding Excel writes, or XLSX) into rows of text.

Row numbers are the spreadsheet's own (the header is row 1), so every message can name the row a
coordinator sees when they open the file.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

from milsetctl.ingest.decode import (
    ManifestError,
    decode_csv_bytes,
    decode_text,  # noqa: F401 - re-exported: score sheets and sidecars decode with it
)
from milsetctl.ingest.sheetfile import (
    WORKBOOK_KINDS,
    UnreadableSpreadsheet,
    identify,
    read_workbook,
    refusal,
    sniff_delimiter,
)


@dataclass
class Table:
    """A spreadsheet's rows of cells. `headers` is the header row (row `header_row`, the first non-blank row
    until `locate_header` finds the real one); `rows` the non-blank rows below it, numbered as the spreadsheet
    shows them; `lines` every non-blank row; `notes` what a coordinator should know about how it was read."""

    path: Path
    headers: list[str]
    rows: list[tuple[int, list[Any]]]  # (spreadsheet row number, cells)
    encoding: str = ""
    header_row: int = 1
    lines: list[tuple[int, list[Any]]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    sheet: str = ""  # the workbook sheet the rows come from
    other_sheets: list[Table] = field(default_factory=list)  # a workbook's further sheets, for `locate_header`
    date1904: bool = False  # a workbook in the 1904 date system: read its serial-number dates from 1904


def _sniff_dialect(text: str) -> type[csv.Dialect] | csv.Dialect:
    """Only the delimiter is sniffed (`sheetfile.sniff_delimiter`, the project's one sniffer); quoting stays
    Excel's (double quotes): an apostrophe that keeps a cell like '=1+2 as text, or a title such as 'Twas, is
    no quote character."""
    delimiter = sniff_delimiter(text)
    return csv.excel_tab if delimiter == "\t" else _delimited(delimiter)


# Excel's delimiter hint on the first line ("sep=;"), as Excel writes it and as it comes back after a re-save
# (quoted, or padded with delimiters)
_SEP_LINE = re.compile(r'^\s*"?sep=(?P<sep>[^"\r\n])"?[,;\t|]*\s*$', re.IGNORECASE)


def read_csv(path: Path) -> Table:
    """Read a CSV manifest. Excel's `sep=X` first line names the delimiter and is not a row (Excel hides it, so
    rows are numbered as Excel shows them); otherwise the delimiter is sniffed among , ; tab |."""
    try:
        size = path.stat().st_size
        if size > CSV_MAX_BYTES:
            raise ManifestError(f"{path.name}: {size >> 20} MB is no spreadsheet a contest writes (a 100,000-row "
                                f"manifest is about 15 MB); not read")
        raw = path.read_bytes()
    except OSError as exc:
        raise ManifestError(f"{path}: cannot read the manifest: {exc.strerror or exc}") from exc
    text, encoding, notes = decode_csv_bytes(raw, path)
    text = _CONTROL.sub("", text.lstrip("\ufeff"))  # no cell, header or message carries ESC (see cell_text)
    if not text.strip():
        raise ManifestError(f"{path.name}: the manifest is empty")
    first, _, rest = text.partition("\n")
    hint = _SEP_LINE.match(first)
    if hint:
        text = rest
        delimiter = hint.group("sep")
        notes.append(f"{path.name}: the first line {first.strip()!r} is Excel's delimiter hint (delimiter "
                     f"{delimiter!r}); rows are numbered as Excel shows them, without it")
        dialect: Any = csv.excel_tab if delimiter == "\t" else _delimited(delimiter)
    else:
        dialect = _sniff_dialect(text)
    reader = csv.reader(io.StringIO(text, newline=""), dialect)
    try:
        all_rows = list(reader)
    except csv.Error as exc:
        raise ManifestError(f"{path.name}: line {reader.line_num}: not valid CSV: {exc}") from exc
    table = _to_table(path, all_rows, encoding)
    table.notes[:0] = notes
    return table


def _delimited(delimiter: str) -> type[csv.Dialect]:
    class Hinted(csv.excel):
        pass

    Hinted.delimiter = delimiter
    return Hinted


# a CSV larger than this is not read into memory (manifests, juror files and score sheets alike)
CSV_MAX_BYTES = 256 * 1024 * 1024
def read_xlsx(path: Path, kind: str | None = None) -> Table:
    """A workbook (xlsx, Strict xlsx, xls, ods, or an HTML table saved as .xls): its first sheet with data, the
    others at hand for `locate_header`. Raises ManifestError naming the file."""
    try:
        sheets = read_workbook(path, kind)
    except UnreadableSpreadsheet as exc:
        raise ManifestError(f"{path.name}: {exc}") from exc
    tables = []
    for sheet in sheets:
        if sheet.rows:
            table = _to_table(path, _numbered(sheet.rows), "xlsx" if kind is None else kind)
            table.sheet = sheet.title
            table.date1904 = sheet.date1904
            tables.append(table)
    if not tables:
        raise ManifestError(f"{path.name}: the manifest has no header row")
    # the first sheet with data; the others stay at hand for a workbook whose first sheet is a cover or notes
    tables[0].other_sheets = tables[1:]
    return tables[0]


def _numbered(rows: list[tuple[int, list[Any]]]) -> list[list[Any]]:
    """Rows given with their numbers back to a list where row n is at index n-1 (blank rows in between)."""
    out: list[list[Any]] = []
    for number, cells in rows:
        while len(out) < number - 1:
            out.append([])
        out.append(cells)
    return out


def _blank(cells: list[Any]) -> bool:
    return not any(c is not None and str(c).strip() for c in cells)


def _to_table(path: Path, all_rows: list[list[Any]], encoding: str) -> Table:
    lines = [(number, list(cells)) for number, cells in enumerate(all_rows, start=1) if not _blank(cells)]
    if not lines:
        raise ManifestError(f"{path.name}: the manifest has no header row")
    number, cells = lines[0]
    headers = ["" if c is None else _CONTROL.sub("", str(c)) for c in cells]
    return Table(path, headers, lines[1:], encoding, header_row=number, lines=lines)


def locate_header(table: Table, accept: Callable[[list[str]], bool], limit: int = 30) -> Table | None:
    """The table read with its header at the first of its first `limit` non-blank rows that `accept`s (title
    rows, notes and merged banners above the real header are skipped, and named in a note), or None.
    A workbook whose first sheet has no such row is looked through sheet by sheet (a cover or notes sheet first)."""
    found = _locate_in_sheet(table, accept, limit)
    if found is not None or not table.other_sheets:
        return found
    for other in table.other_sheets:
        found = _locate_in_sheet(other, accept, limit)
        if found is not None:
            found.notes.insert(len(table.notes), f"{table.path.name}: the entries are on sheet {other.sheet!r} (the "
                               f"first sheet, {table.sheet!r}, has no header row naming the required columns)")
            return found
    return None


def _locate_in_sheet(table: Table, accept: Callable[[list[str]], bool], limit: int) -> Table | None:
    for index, (number, cells) in enumerate(table.lines[:limit]):
        headers = ["" if c is None else str(c) for c in cells]
        if not accept(headers):
            continue
        notes = list(table.notes)
        if index:
            skipped = [cell_text(next((c for c in row if not _blank([c])), "")) for _, row in table.lines[:index]]
            above = ", ".join(repr(t[:40]) for t in skipped[:3]) + (", ..." if len(skipped) > 3 else "")
            notes.append(f"{table.path.name}: the header is row {number}; row(s) above it skipped as titles "
                         f"({above})")
        return Table(table.path, headers, table.lines[index + 1:], table.encoding, number, table.lines, notes,
                     table.sheet, date1904=table.date1904)
    return None


def read_table(path: Path) -> Table:
    """A spreadsheet read by what it holds, whatever its name says (`sheetfile.identify`): a workbook of any kind
    `sheetfile.read_workbook` reads, else delimited text. Raises ManifestError naming the file and what it is."""
    try:
        kind = identify(path)
    except OSError as exc:
        raise ManifestError(f"{path}: cannot read the file: {exc.strerror or exc}") from exc
    if kind in WORKBOOK_KINDS:
        return read_xlsx(path, kind)
    if kind != "text":
        raise ManifestError(f"{path.name}: {refusal(kind)}")
    return read_csv(path)


# control characters no name or title holds: ESC would let a cell drive the coordinator's terminal (clear it,
# retitle it, hide lines) when printed, NUL and the rest corrupt the XLSX and PDF written from it. Tab, CR and LF
# stay (a description may have lines; spreadsheets written later neutralise a leading tab or CR).
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def cell_text(value: Any) -> str:
    """A cell as text: numbers without a trailing .0, dates in ISO form, control characters (ESC...) removed."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    text = str(value)
    return (text if text.isprintable() else _CONTROL.sub("", text)).strip()  # isprintable: the fast common case
