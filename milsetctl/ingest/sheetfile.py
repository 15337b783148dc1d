"""What a spreadsheet file is, by its bytes, and the rows of its sheets: one reader for manifests, juror files,
rosters and score sheets.

People send spreadsheets under whatever name their program or mail client gave them: WPS and Excel 97-2003 save
`.xls`, LibreOffice `.ods`, web systems write an HTML table or tab-separated text and call it `.xls`, a CSV gets
renamed `.xlsx`, Excel can save Strict Open XML, a workbook may carry a password, a Mac user sends `.numbers`.
The file's content decides how it is read, never its name; what cannot be read is named for what it is, with what
to do about it. Everything here raises `UnreadableSpreadsheet` (a ValueError) with a message that does not repeat
the file name (callers put it in front).

Sources: ECMA-376 Part 1 (Transitional) and ISO/IEC 29500 Strict namespaces; MS-CFB (the OLE2 header);
OpenDocument 1.3 (the `mimetype` member); openpyxl issue 1532 (Strict files unsupported); python-excel/xlrd#191.
"""

from __future__ import annotations

import io
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from milsetctl.ingest.decode import decode_csv_bytes

OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ODS_MIME = b"application/vnd.oasis.opendocument.spreadsheet"

# kind -> (what it is, what to do) for the kinds not read
NOT_READ: dict[str, tuple[str, str]] = {
    "encrypted": ("a password-protected workbook",
                  "ask for it without a password (Excel: File > Info > Protect Workbook > Encrypt with Password, "
                  "clear the password, save), or for a CSV"),
    "numbers": ("an Apple Numbers file",
                "in Numbers choose File > Export To > Excel (or CSV) and send the .xlsx"),
    "xml-2003": ("an Excel 2003 XML spreadsheet", "open it in Excel and save it as Excel Workbook (.xlsx)"),
    "docx": ("a Word document", "the scores must come in a spreadsheet (.xlsx, .xls, .ods or CSV)"),
    "pdf": ("a PDF document", "the scores must come in a spreadsheet (.xlsx, .xls, .ods or CSV)"),
    "image": ("an image", "the scores must come in a spreadsheet (.xlsx, .xls, .ods or CSV)"),
    "damaged-zip": ("a damaged file: it starts like a workbook (a zip) but cannot be opened",
                    "it was not saved or not copied whole; ask for it again"),
    "zip": ("a zip archive that is no workbook", "unzip it and use the spreadsheet inside"),
    "ole": ("an old Office document that is no Excel workbook", "save the spreadsheet as .xlsx or CSV UTF-8"),
    "binary": ("not a spreadsheet (binary data no spreadsheet program writes)",
               "save the spreadsheet as .xlsx or CSV UTF-8"),
    "empty": ("an empty file (0 bytes)", "the file was not saved or not copied whole: ask for it again"),
}
WORKBOOK_KINDS = ("xlsx", "xlsx-strict", "xls", "ods", "xlsb", "html")


class UnreadableSpreadsheet(ValueError):
    """The file is no spreadsheet this tool can read; the message says what it is and what to do."""

    def __init__(self, kind: str, message: str) -> None:
        self.kind = kind
        super().__init__(message)


@dataclass(frozen=True)
class Uncalculated:
    """A formula cell saved without its calculated value (a script or web tool wrote the formula only): the number
    the spreadsheet program would show is not in the file. Hashable, so it passes through pandas like a value."""

    formula: str

    def __str__(self) -> str:
        return self.formula


@dataclass
class Sheet:
    """One sheet's rows as the spreadsheet program shows them: (row number, cells), blank rows left out."""

    title: str
    rows: list[tuple[int, list[Any]]]
    visible: bool = True
    hidden_rows: list[int] = field(default_factory=list)  # rows hidden in the program that hold data
    date1904: bool = False  # the workbook counts dates from 1904 (old Excel for Mac): its serial numbers do too


def identify(path: Path) -> str:
    """The kind of spreadsheet the file holds, from its bytes: xlsx, xlsx-strict, xls, ods, html, text, or one of
    `NOT_READ`'s kinds. Raises OSError when the file cannot be read at all."""
    with path.open("rb") as f:
        head = f.read(65536)
    return identify_bytes(head, path)


def identify_bytes(head: bytes, path: Path) -> str:
    """`identify` on the file's first 64 KB (the whole file is opened again only for zip and OLE containers)."""
    if not head:
        return "empty"
    if head.startswith(b"PK\x03\x04") or head.startswith(b"PK\x05\x06"):
        return _zip_kind(path)
    if head.startswith(OLE_MAGIC):
        return _ole_kind(path)
    if head.startswith(b"%PDF"):
        return "pdf"
    if head.startswith((b"\x89PNG", b"\xff\xd8\xff", b"GIF8", b"II*\x00", b"MM\x00*", b"BM")) or head[4:12] in (
            b"ftypheic", b"ftypheix", b"ftypmif1") or head[8:12] == b"WEBP":
        return "image"
    text = _head_text(head)
    if text is None:
        return "binary"
    lead = text.lstrip("\ufeff \t\r\n").lower()
    if lead.startswith("<"):
        if "urn:schemas-microsoft-com:office:spreadsheet" in lead[:4000]:
            return "xml-2003"
        if re.search(r"<(table|html)\b", lead):
            return "html"
    return "text"


def _head_text(head: bytes) -> str | None:
    """The first bytes as text when they are text in some encoding a spreadsheet program writes, else None."""
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return head[2:].decode("utf-16-le" if head[:1] == b"\xff" else "utf-16-be", "replace")
    nul = head.count(b"\x00")
    if nul > len(head) // 4:  # UTF-16 without a BOM: every other byte NUL in ASCII-heavy text
        odd = head[1::2].count(b"\x00") > head[0::2].count(b"\x00")
        return head.decode("utf-16-le" if odd else "utf-16-be", "replace")
    controls = sum(1 for b in head if b < 32 and b not in (9, 10, 13, 12))  # NUL included
    if controls > max(8, len(head) * 3 // 10):  # a cell may hold ESC or other junk; binary data is full of them
        return None
    return head.decode("utf-8", "replace")


def _zip_kind(path: Path) -> str:
    try:
        with zipfile.ZipFile(path) as zf:
            names = {n.lower(): n for n in zf.namelist()}
            if "xl/workbook.xml" in names:
                with zf.open(names["xl/workbook.xml"]) as f:
                    start = f.read(4096)
                return "xlsx-strict" if b"purl.oclc.org/ooxml" in start else "xlsx"
            if "xl/workbook.bin" in names:
                return "xlsb"
            if "mimetype" in names and zf.read(names["mimetype"]).strip() == ODS_MIME:
                return "ods"
            if any(n.startswith("index/") and n.endswith(".iwa") for n in names):
                return "numbers"
            if "word/document.xml" in names:
                return "docx"
    except (zipfile.BadZipFile, OSError, ValueError, KeyError):
        return "damaged-zip"
    return "zip"


def _ole_kind(path: Path) -> str:
    """An OLE2 compound file: an .xls, an encrypted OOXML workbook (Excel's password protection), or another
    Office document (msoffcrypto-tool tells an encrypted one; its streams tell the rest)."""
    import msoffcrypto
    import olefile

    try:
        with path.open("rb") as f:
            ole = olefile.OleFileIO(f)
            try:
                streams = {"/".join(s).lower() for s in ole.listdir()}
            finally:
                ole.close()
        if "encryptedpackage" in streams or "encryptioninfo" in streams:
            return "encrypted"
        if "workbook" not in streams and "book" not in streams:
            return "ole"
        with path.open("rb") as f:
            office = msoffcrypto.OfficeFile(f)
            if office.is_encrypted():
                return "encrypted"
    except Exception:  # noqa: BLE001 - a damaged compound file: let xlrd say what is wrong
        return "xls"
    return "xls"


def refusal(kind: str) -> UnreadableSpreadsheet:
    """The error for a kind that is not read."""
    what, todo = NOT_READ.get(kind, NOT_READ["binary"])
    return UnreadableSpreadsheet(kind, f"{what}, not a spreadsheet this tool can read: {todo}")


# --- workbooks -----------------------------------------------------------------------------------------------------
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


def read_workbook(path: Path, kind: str | None = None) -> list[Sheet]:
    """Every sheet of a workbook (xlsx, Strict xlsx, xls, ods, xlsb, or an HTML table saved as .xls), in order.

    Cells: str, int, float, datetime/date/time, bool, None, or `Uncalculated` (xlsx formulas saved without a
    value). Rows hidden in the program are read like the others and listed in `Sheet.hidden_rows`; formatted
    empty rows down to row 1,048,576 are not iterated. Raises UnreadableSpreadsheet.
    """
    kind = kind or identify(path)
    if kind in ("xlsx", "xlsx-strict"):
        return _read_xlsx(path, strict=kind == "xlsx-strict")
    if kind in ("xls", "ods", "xlsb"):
        return _read_with_calamine(path, kind)
    if kind == "html":
        return _read_html(path)
    raise refusal(kind)


_STRICT_NAMESPACES = (
    (b"http://purl.oclc.org/ooxml/spreadsheetml/main", b"http://schemas.openxmlformats.org/spreadsheetml/2006/main"),
    (b"http://purl.oclc.org/ooxml/officeDocument/relationships",
     b"http://schemas.openxmlformats.org/officeDocument/2006/relationships"),
    (b"http://purl.oclc.org/ooxml/drawingml/main", b"http://schemas.openxmlformats.org/drawingml/2006/main"),
    (b"http://purl.oclc.org/ooxml/officeDocument/extendedProperties",
     b"http://schemas.openxmlformats.org/officeDocument/2006/extended-properties"),
)


def _transitional(path: Path) -> io.BytesIO:
    """A Strict Open XML workbook with its namespaces put back to Transitional ones, which is all openpyxl lacks
    to read it (the element names are the same; ISO/IEC 29500-1 annex on the Strict conformance class)."""
    out = io.BytesIO()
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename.endswith((".xml", ".rels")):
                for strict, transitional in _STRICT_NAMESPACES:
                    data = data.replace(strict, transitional)
            dst.writestr(info, data)
    out.seek(0)
    return out


def _read_xlsx(path: Path, strict: bool) -> list[Sheet]:
    import warnings

    from openpyxl import load_workbook

    too_large = workbook_too_large(path)
    if too_large:
        raise UnreadableSpreadsheet("xlsx", f"not read: {too_large}")
    try:
        source: Any = _transitional(path) if strict else path
        with warnings.catch_warnings():  # "Workbook contains no default style": a fact about the file, not news
            warnings.simplefilter("ignore")
            book = load_workbook(source, read_only=True, data_only=True)
    except Exception as exc:  # not a zip, not a workbook...
        raise UnreadableSpreadsheet("xlsx", f"cannot open the workbook: {exc}") from exc
    sheets: list[Sheet] = []
    try:
        for ws in book.worksheets:
            facts = _scan_sheet_xml(book, ws)
            ws.reset_dimensions()  # WPS writes <dimension ref="A1"/> for any size; Google Sheets none at all
            rows: list[tuple[int, list[Any]]] = []
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                try:
                    iterator = ws.iter_rows(values_only=True, max_row=facts.last_row or None)
                    for number, values in enumerate(iterator, start=1):  # (max_row: never past the last)
                        cells = list(values)
                        if facts.uncalculated:
                            for col, formula in facts.uncalculated.get(number, {}).items():
                                while len(cells) <= col:
                                    cells.append(None)
                                if cells[col] is None:
                                    cells[col] = Uncalculated(formula)
                        if any(c is not None and (not isinstance(c, str) or c.strip()) for c in cells):
                            rows.append((number, cells))
                except Exception as exc:  # cells are parsed while iterating: a crafted sheet fails here
                    raise UnreadableSpreadsheet("xlsx", f"sheet {ws.title!r} cannot be read: {exc}") from exc
            data_rows = {n for n, _ in rows}
            sheets.append(Sheet(ws.title, rows, getattr(ws, "sheet_state", "visible") == "visible",
                                sorted(data_rows & facts.hidden), _is_1904(book)))
    finally:
        book.close()
    return sheets


def _is_1904(book: Any) -> bool:
    """The workbook's date system is 1904 (workbookPr date1904): a number in a date column counts from 1904-01-01."""
    from openpyxl.utils.datetime import CALENDAR_MAC_1904

    return bool(getattr(book, "epoch", None) == CALENDAR_MAC_1904)


@dataclass
class _SheetFacts:
    hidden: set[int] = field(default_factory=set)
    last_row: int = 0  # the last row holding a cell (0: unknown, read to the end)
    uncalculated: dict[int, dict[int, str]] = field(default_factory=dict)  # row -> column index -> formula


_ROW = re.compile(rb"<(?:\w+:)?row\b([^>]*?)(/?)>")
_ATTR_R = re.compile(rb'\br="(\d+)"')
_HIDDEN = re.compile(rb'\bhidden="(?:1|true)"')
_CELL = re.compile(rb"<(?:\w+:)?c\b([^>]*?)(?:/>|>(.*?)</(?:\w+:)?c>)", re.DOTALL)
_FORMULA = re.compile(rb"<(?:\w+:)?f\b[^>]*?(?:/>|>(.*?)</(?:\w+:)?f>)", re.DOTALL)
_VALUE = re.compile(rb"<(?:\w+:)?(?:v|is)\b")
_CELL_REF = re.compile(rb'\br="([A-Z]+)(\d+)"')


def _scan_sheet_xml(book: Any, ws: Any) -> _SheetFacts:
    """What openpyxl's read-only reader does not expose, from one pass over the sheet's XML: rows hidden in the
    program, the last row that holds a cell (a sheet formatted down to row 1,048,576 is read only that far), and
    formula cells stored without a calculated value."""
    from xml.sax.saxutils import unescape

    from openpyxl.utils import column_index_from_string

    facts = _SheetFacts()
    try:
        source = book._archive.open(ws._worksheet_path)  # noqa: SLF001 - openpyxl keeps them for exactly this
    except (AttributeError, KeyError, OSError):
        return facts
    with source:
        data = source.read()
    has_formulas = b"<f" in data or b":f>" in data or b":f " in data
    row_number = 0
    for m in _ROW.finditer(data):
        attrs, empty = m.group(1), m.group(2)
        r = _ATTR_R.search(attrs)
        row_number = int(r.group(1)) if r else row_number + 1
        if _HIDDEN.search(attrs):
            facts.hidden.add(row_number)
        if not empty:
            facts.last_row = row_number
    if has_formulas:
        for c in _CELL.finditer(data):
            body = c.group(2)
            if not body:
                continue
            f = _FORMULA.search(body)
            if f is None or _VALUE.search(body):
                continue
            ref = _CELL_REF.search(c.group(1))
            if ref is None:
                continue
            text = unescape((f.group(1) or b"").decode("utf-8", "replace"))
            column = column_index_from_string(ref.group(1).decode()) - 1
            facts.uncalculated.setdefault(int(ref.group(2)), {})[column] = "=" + text if text else "(a formula)"
    return facts


def _read_with_calamine(path: Path, kind: str) -> list[Sheet]:
    """An .xls (Excel 97-2003, WPS), .ods (LibreOffice) or .xlsb through calamine, the reader pandas recommends
    for them: every cell as the program shows it, dates as datetimes, blank rows in place (row n is row n)."""
    from python_calamine import CalamineWorkbook

    what = {"xls": "an Excel 97-2003 workbook (.xls)", "ods": "an OpenDocument spreadsheet (.ods)",
            "xlsb": "an Excel binary workbook (.xlsb)"}[kind]
    sheets = []
    try:
        book = CalamineWorkbook.from_path(str(path))
        visible = {m.name: "visible" in str(m.visible).lower() for m in book.sheets_metadata}
        for title in book.sheet_names:
            data = book.get_sheet_by_name(title).to_python(skip_empty_area=False)
            rows = []
            for number, values in enumerate(data, start=1):
                cells = [None if (isinstance(v, str) and v == "") else v for v in values]
                if any(c is not None and (not isinstance(c, str) or c.strip()) for c in cells):
                    rows.append((number, cells))
            sheets.append(Sheet(str(title), rows, visible.get(title, True)))
    except Exception as exc:  # noqa: BLE001 - calamine raises its own types for damaged files
        raise UnreadableSpreadsheet(kind, f"{what} that cannot be read ({exc}): open it and save it again as "
                                    ".xlsx") from exc
    return sheets


def _read_html(path: Path) -> list[Sheet]:
    """An HTML page saved as .xls (Excel's 'Web Page', and many web systems' "Excel export"): each <table> a sheet."""
    import pandas as pd

    try:
        frames = pd.read_html(io.StringIO(_decode_html(path)), flavor="lxml", header=None, keep_default_na=False)
    except ImportError as exc:
        raise UnreadableSpreadsheet("html", f"an HTML page; reading it needs lxml ({exc}): reinstall milsetctl") \
            from exc
    except ValueError as exc:  # "No tables found"
        raise UnreadableSpreadsheet("html", f"an HTML page with no table in it ({exc}): save the spreadsheet as "
                                    ".xlsx or CSV UTF-8") from exc
    sheets = []
    for k, frame in enumerate(frames, start=1):
        rows: list[tuple[int, list[Any]]] = []
        records: list[list[Any]] = []
        if not isinstance(frame.columns, pd.RangeIndex):
            records.append([_html_cell(c) for c in frame.columns])
        records.extend([_html_cell(v) for v in r] for r in frame.itertuples(index=False, name=None))
        for number, cells in enumerate(records, start=1):
            if any(c is not None for c in cells):
                rows.append((number, cells))
        sheets.append(Sheet(f"table {k}", rows))
    return sheets


def _html_cell(value: Any) -> Any:
    if isinstance(value, tuple):  # a MultiIndex header level
        value = value[-1]
    if value is None or (isinstance(value, float) and value != value):
        return None
    text = str(value).strip()
    return text or None


def _decode_html(path: Path) -> str:
    raw = path.read_bytes()
    try:
        text, _, _ = decode_csv_bytes(raw, path)
    except ValueError:
        text = raw.decode("utf-8", "replace")
    return text.lstrip("\ufeff")


# --- text ---------------------------------------------------------------------------------------------------------
DELIMITERS = (",", ";", "\t", "|")


def sniff_delimiter(text: str) -> str:
    """The delimiter of a delimited text (comma, semicolon, tab or bar), from its first lines.

    CleverCSV's data-consistency measure (van den Burg, Nazábal, Sutton: "Wrangling messy CSV files by detecting
    row and type patterns", Data Min. Knowl. Disc. 2019) rather than csv.Sniffer, which takes a ';' file whose
    comments hold 'quoted', 'words' for a ',' file quoted with apostrophes (python/cpython#119123), and a title
    row above the header for one column. Only the delimiter is taken: quoting stays Excel's double quotes.
    """
    lines = [line for line in text[:65536].splitlines() if line.strip()][:40]
    if not lines:
        return ","
    sample = "\n".join(lines)
    try:
        from clevercsv import Detector

        dialect = Detector().detect(sample, delimiters=list(DELIMITERS))
        if dialect is not None and dialect.delimiter in DELIMITERS:
            return str(dialect.delimiter)
    except Exception:  # noqa: BLE001 - a detector failure falls back to counting
        pass
    counts = {d: sum(line.count(d) for line in lines) for d in DELIMITERS}
    best = max(DELIMITERS, key=lambda d: counts[d])
    return best if counts[best] else ","
