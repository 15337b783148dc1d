"""Read a contestant spreadsheet (CSV in any encoding Excel writes, or XLSX) into rows of text.

Row numbers are the spreadsheet's own (the header is row 1), so every message can name the row a
coordinator sees when they open the file.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

from milsetctl.ingest.sheetfile import (
    WORKBOOK_KINDS,
    UnreadableSpreadsheet,
    identify,
    read_workbook,
    refusal,
    sniff_delimiter,
)


class ManifestError(ValueError):
    """The manifest cannot be used as a whole (unreadable, no header, a required column missing)."""


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


# The encodings Excel and WPS write a "CSV" in besides UTF-8/UTF-16, most likely first: the order breaks ties.
# Mac Roman is what Excel for Mac writes as "Comma Separated Values" (with classic-Mac CR line endings).
LEGACY_ENCODINGS = ("gb18030", "cp1252", "big5", "shift_jis", "mac_roman", "latin_1")
ENCODING_NAMES = {
    "gb18030": "GB18030 (Chinese Excel/WPS)", "cp1252": "Windows-1252 (Western European Excel)",
    "big5": "Big5 (Traditional Chinese Excel)", "shift_jis": "Shift-JIS (Japanese Excel)",
    "mac_roman": "Mac Roman (Excel for Mac)", "latin_1": "Latin-1 (ISO 8859-1)",
}


def decode_text(raw: bytes, path: Path) -> tuple[str, str]:
    """Decode a CSV as Excel and WPS write it; (text, encoding). See `decode_csv_bytes`."""
    text, encoding, _ = decode_csv_bytes(raw, path)
    return text, encoding


def decode_csv_bytes(raw: bytes, path: Path) -> tuple[str, str, list[str]]:
    """(text, encoding, notes) of a CSV: UTF-8 (BOM or not), UTF-16 (BOM, or NUL-heavy without), else the most
    plausible of LEGACY_ENCODINGS as charset-normalizer judges them (mess and language coherence of each
    decoding; ties go to the likelier encoding). A note names a legacy encoding, and says so when another one
    would have read the file nearly as well. Raises ManifestError naming the line no encoding can read.
    """
    if raw.startswith(codecs.BOM_UTF8):
        try:
            return raw[3:].decode("utf-8"), "utf-8-sig", []
        except UnicodeDecodeError as exc:  # 'CSV UTF-8' with a byte pasted in from elsewhere
            exc.start += 3
            raise _undecodable(path, raw, exc) from exc
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return raw.decode("utf-16"), "utf-16", []
        except UnicodeDecodeError as exc:  # an odd byte count, a broken surrogate: a damaged or cut file
            raise _undecodable(path, raw, exc) from exc
    # UTF-16 without BOM: every other byte NUL in ASCII-heavy text
    sample = raw[:2000]
    if sample and sample.count(b"\x00") > len(sample) // 4:
        encoding = "utf-16-le" if sample[1:2] == b"\x00" else "utf-16-be"
        try:
            return raw.decode(encoding), encoding, []
        except UnicodeDecodeError:
            pass  # NULs, but no UTF-16 (binary junk): judged below like any other bytes
    try:
        return raw.decode("utf-8"), "utf-8", []
    except UnicodeDecodeError as exc:
        utf8_error = exc
    if _mostly_utf8(raw):
        # UTF-8 with a stray byte: a legacy decoder would "succeed" and turn every Chinese name into mojibake
        raise _undecodable(path, raw, utf8_error) from utf8_error
    return _decode_legacy(raw, path)


def _decode_legacy(raw: bytes, path: Path) -> tuple[str, str, list[str]]:
    from charset_normalizer import from_bytes

    matches = list(from_bytes(raw, cp_isolation=list(LEGACY_ENCODINGS), threshold=0.25))
    mac = b"\r" in raw and b"\n" not in raw  # classic-Mac line endings: Excel for Mac, so Mac Roman first
    if not matches:
        try:
            raw.decode("gb18030")
        except UnicodeDecodeError as exc:
            raise _undecodable(path, raw, exc) from exc
        raise ManifestError(f"{path.name}: the text is in no encoding Excel writes; save the spreadsheet as "
                            "'CSV UTF-8' (or as .xlsx) and try again.")

    mess = {m.encoding: m.chaos + _implausible(str(m)) for m in matches}

    def rank(m: Any) -> tuple[float, float, int]:
        priority = LEGACY_ENCODINGS.index(m.encoding) if m.encoding in LEGACY_ENCODINGS else 99
        if mac and m.encoding == "mac_roman":
            priority = -1
        return (round(mess[m.encoding], 2), -round(m.coherence, 2), priority)

    matches.sort(key=rank)
    best = matches[0]
    text = str(best)
    notes = [f"{path.name}: text encoding {ENCODING_NAMES.get(best.encoding, best.encoding)}"]
    for other in matches[1:]:
        other_text = str(other)
        if other_text == text or mess[other.encoding] > mess[best.encoding] + 0.1 \
                or other.coherence < best.coherence - 0.1:
            continue
        ours, theirs = _first_difference(text, other_text)
        notes = [f"{path.name}: the text encoding is ambiguous: read as "
                 f"{ENCODING_NAMES.get(best.encoding, best.encoding)} ({ours!r}); "
                 f"{ENCODING_NAMES.get(other.encoding, other.encoding)} would read {theirs!r}. If names look "
                 "wrong, save the spreadsheet as 'CSV UTF-8'."]
        break
    return text, best.encoding, notes


def _implausible(text: str) -> float:
    """The share of non-ASCII characters no spreadsheet of names holds: half-width katakana (what Shift-JIS makes
    of GBK bytes), C1 controls, private-use characters. charset-normalizer's mess measure lets the first pass."""
    total = len(text) - len(text.encode("ascii", "ignore"))
    return len(_ODD.findall(text)) / total if total else 0.0


_ODD = re.compile("[\uff61-\uff9f\x80-\x9f\ue000-\uf8ff]")


def _first_difference(a: str, b: str) -> tuple[str, str]:
    """The first cell-sized stretch where two decodings of the same bytes differ."""
    for line_a, line_b in zip(a.splitlines(), b.splitlines(), strict=False):
        if line_a != line_b:
            for cell_a, cell_b in zip(re.split(r"[,;\t|]", line_a), re.split(r"[,;\t|]", line_b), strict=False):
                if cell_a != cell_b:
                    return cell_a.strip()[:40], cell_b.strip()[:40]
            return line_a[:40], line_b[:40]
    return a[:40], b[:40]


def _mostly_utf8(raw: bytes) -> bool:
    """Many valid UTF-8 multi-byte characters and few invalid bytes: UTF-8 text, damaged in places.

    GBK text decoded as UTF-8 fails on nearly every Chinese character, so the two are far apart.
    """
    text = raw.decode("utf-8", "replace")
    errors = text.count("\ufffd")
    valid = sum(1 for ch in text if ch > "\x7f") - errors
    return valid > 2 * errors


def _undecodable(path: Path, raw: bytes, exc: UnicodeDecodeError) -> ManifestError:
    before = raw[: exc.start]
    line = (before.count(b"\n") if b"\n" in raw else before.count(b"\r")) + 1  # Excel for Mac: CR-only lines
    return ManifestError(
        f"{path.name}: cannot read the text on line {line}: it is neither UTF-8, UTF-16 nor GB18030/GBK. "
        "Save the spreadsheet as 'CSV UTF-8' (or as .xlsx) and try again."
    )


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
# An XLSX is a zip of XML: a 100,000-row manifest is about 60 MB of it, compressed 10- to 20-fold. One that would
# inflate past this, or whose parts inflate 200-fold and more (a zip bomb), is refused before openpyxl reads it.
WORKBOOK_MAX_BYTES = 400 * 1024 * 1024
WORKBOOK_MAX_RATIO = 200


def workbook_too_large(path: Path) -> str | None:
    """Why this workbook must not be opened (it would inflate too far), from its zip directory; None when it is
    fine or no zip at all (openpyxl then says what it is)."""
    import zipfile

    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
    except (OSError, zipfile.BadZipFile, ValueError):
        return None
    total = sum(i.file_size for i in infos)
    if total > WORKBOOK_MAX_BYTES:
        return f"it would inflate to {total >> 20} MB of XML (over {WORKBOOK_MAX_BYTES >> 20} MB; a zip bomb?)"
    for info in infos:
        if info.file_size > 10 * 1024 * 1024 and info.file_size > WORKBOOK_MAX_RATIO * max(1, info.compress_size):
            return (f"its part {info.filename} inflates {info.file_size // max(1, info.compress_size)}-fold "
                    f"to {info.file_size >> 20} MB (a zip bomb?)")
    return None


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
                     table.sheet)
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
