"""Read a contestant spreadsheet (CSV in any encoding Excel writes, or XLSX) into rows of text.

Row numbers are the spreadsheet's own (the header is row 1), so every message can name the row a
coordinator sees when they open the file.
"""

from __future__ import annotations

import codecs
import csv
import io
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path
from typing import Any


class ManifestError(ValueError):
    """The manifest cannot be used as a whole (unreadable, no header, a required column missing)."""


@dataclass
class Table:
    path: Path
    headers: list[str]
    rows: list[tuple[int, list[Any]]]  # (spreadsheet row number, cells)
    encoding: str = ""


def decode_text(raw: bytes, path: Path) -> tuple[str, str]:
    """Decode a CSV as Excel and WPS write it: UTF-8 (BOM or not), UTF-16 (BOM), else GB18030."""
    if raw.startswith(codecs.BOM_UTF8):
        return raw[3:].decode("utf-8"), "utf-8-sig"
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return raw.decode("utf-16"), "utf-16"
    # UTF-16 without BOM: every other byte NUL in ASCII-heavy text
    sample = raw[:2000]
    if sample and sample.count(b"\x00") > len(sample) // 4:
        encoding = "utf-16-le" if sample[1:2] == b"\x00" else "utf-16-be"
        return raw.decode(encoding), encoding
    try:
        return raw.decode("utf-8"), "utf-8"
    except UnicodeDecodeError as exc:
        utf8_error = exc
    if _mostly_utf8(raw):
        # UTF-8 with a stray byte: GB18030 would "succeed" and turn every Chinese name into mojibake
        raise _undecodable(path, raw, utf8_error) from utf8_error
    try:
        return raw.decode("gb18030"), "gb18030"
    except UnicodeDecodeError as exc:
        raise _undecodable(path, raw, exc) from exc


def _mostly_utf8(raw: bytes) -> bool:
    """Many valid UTF-8 multi-byte characters and few invalid bytes: UTF-8 text, damaged in places.

    GBK text decoded as UTF-8 fails on nearly every Chinese character, so the two are far apart.
    """
    text = raw.decode("utf-8", "replace")
    errors = text.count("\ufffd")
    valid = sum(1 for ch in text if ch > "\x7f") - errors
    return valid > 2 * errors


def _undecodable(path: Path, raw: bytes, exc: UnicodeDecodeError) -> ManifestError:
    line = raw[: exc.start].count(b"\n") + 1
    return ManifestError(
        f"{path.name}: cannot read the text on line {line}: it is neither UTF-8, UTF-16 nor GB18030/GBK. "
        "Save the spreadsheet as 'CSV UTF-8' (or as .xlsx) and try again."
    )


def _sniff_dialect(text: str) -> type[csv.Dialect] | csv.Dialect:
    first = "\n".join(text.splitlines()[:20])
    try:
        return csv.Sniffer().sniff(first, delimiters=",;\t|")
    except csv.Error:
        return csv.excel_tab if first.count("\t") > first.count(",") else csv.excel


def read_csv(path: Path) -> Table:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ManifestError(f"{path}: cannot read the manifest: {exc.strerror or exc}") from exc
    text, encoding = decode_text(raw, path)
    text = text.lstrip("\ufeff")
    if not text.strip():
        raise ManifestError(f"{path.name}: the manifest is empty")
    dialect = _sniff_dialect(text)
    reader = csv.reader(io.StringIO(text, newline=""), dialect)
    try:
        all_rows = list(reader)
    except csv.Error as exc:
        raise ManifestError(f"{path.name}: line {reader.line_num}: not valid CSV: {exc}") from exc
    return _to_table(path, all_rows, encoding)


def read_xlsx(path: Path) -> Table:
    from openpyxl import load_workbook

    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # zip errors, not an xlsx, password-protected...
        raise ManifestError(f"{path.name}: cannot open the workbook: {exc}") from exc
    try:
        sheet = book.worksheets[0]
        # read-only mode trusts the sheet's stored dimension; some exporters write "A1" for any size,
        # which would read one cell. Forget it and read what is there.
        sheet.reset_dimensions()
        all_rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    finally:
        book.close()
    return _to_table(path, all_rows, "xlsx")


def _to_table(path: Path, all_rows: list[list[Any]], encoding: str) -> Table:
    header_index = next(
        (i for i, r in enumerate(all_rows) if any(c is not None and str(c).strip() for c in r)), None
    )
    if header_index is None:
        raise ManifestError(f"{path.name}: the manifest has no header row")
    headers = ["" if c is None else str(c) for c in all_rows[header_index]]
    rows = []
    for offset, cells in enumerate(all_rows[header_index + 1 :], start=header_index + 2):
        if not any(c is not None and str(c).strip() for c in cells):
            continue  # blank lines between blocks are common in hand-kept sheets
        rows.append((offset, list(cells)))
    return Table(path, headers, rows, encoding)


def read_table(path: Path) -> Table:
    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xlsm"):
        return read_xlsx(path)
    if suffix == ".xls":
        raise ManifestError(f"{path.name}: old Excel .xls files are not read; save it as .xlsx or CSV UTF-8")
    return read_csv(path)


def cell_text(value: Any) -> str:
    """A cell as text: numbers without a trailing .0, dates in ISO form."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    return str(value).strip()
