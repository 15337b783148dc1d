"""The jurors' score sheets, scanned as a juror would read them (issue 15: a title redacted on the contact sheet
was shown as typed in every juror's XLSX, and nothing scanned `jury/sheets/`).

An XLSX is a zip of XML parts. The scan reads every cell of every sheet (hidden ones too) through openpyxl, and
the text of every other part (document properties, comments, headers and footers, data-validation prompts,
hyperlink targets) through an XML parser: element text and the attributes that hold words, not the style
numbers, colours (`FFC00000`) and cell references (`C1`) that would match a contestant ID by chance. Short
contestant IDs (`A1`) are looked for only in the contestants' own words: the title, description and comment
columns of the sheet whose header names `anon_id`.

A sheet names its juror (file name, instructions, the hidden sheet): a juror may share a name with a contestant
(张伟 is China's most common name), so the juror's own name is not a trace where the sheet names its juror. Its
instructions may give the chair's e-mail address to send it back to: outside the contestants' words, only the
contestants' own addresses are traces.
"""

from __future__ import annotations

import io
import warnings
import zipfile
from typing import TYPE_CHECKING, Any

from openpyxl.utils import get_column_letter

if TYPE_CHECKING:
    from milsetctl.anonymise.scanner import TraceScanner

# attributes (local names) whose values are words a person wrote or reads
TEXT_ATTRIBUTES = {"name", "tooltip", "display", "prompt", "error", "promptTitle", "errorTitle", "Target",
                   "location"}
ENTRY_COLUMNS = {"title", "description", "comment"}  # the contestants' words (and the juror's comment)
MAX_PART = 256 << 20  # a zip member larger than this is not read (a zip bomb); said, not skipped silently
HIDDEN = "milsetctl"  # the hidden sheet of key/value rows jury/sheets.py writes


def scan_zip(scanner: TraceScanner, file: str, data: bytes, where: str = "") -> str | None:
    """An XLSX (or any zip a juror might be sent): every part as text or as a file of its own. Returns the juror's
    name the sheet names (hidden sheet `juror`), or None."""
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile as exc:
        scanner.add(file, where + "file", f"unreadable zip/XLSX ({exc}); scanned whole")
        scanner.bytes_(file, where + "file", data)
        return None
    juror = None
    with zf:
        names = set(zf.namelist())
        xlsx = "xl/workbook.xml" in names
        if xlsx:
            juror = _cells(scanner, file, data, where)
        for info in zf.infolist():
            if info.is_dir():
                continue
            part = info.filename
            if info.file_size > MAX_PART:
                scanner.add(file, where + part, f"a part of {info.file_size} bytes: too large to scan")
                continue
            try:
                body = zf.read(info)
            except (zipfile.BadZipFile, OSError, RuntimeError, NotImplementedError) as exc:  # encrypted, damaged
                scanner.add(file, where + part, f"a part that cannot be read ({exc})")
                continue
            if xlsx and part == "xl/sharedStrings.xml":
                continue  # the cells' text: read through openpyxl, with each cell's address
            if xlsx and part.startswith("xl/worksheets/sheet"):
                _xml(scanner, file, where + part, body, skip={"sheetData"}, juror=juror)
            elif part.lower().endswith((".xml", ".rels", ".vml")):
                _xml(scanner, file, where + part, body, juror=juror if xlsx else None)
            else:
                scanner.text(file, where + "part name", part, short=False)
                scanner.data(file, body, f"{where}{part} ")
    return juror


def _xml(scanner: TraceScanner, file: str, block: str, body: bytes, skip: set[str] | None = None,
         juror: str | None = None) -> None:
    """The words of one XML part: element text and TEXT_ATTRIBUTES values, each text scanned on its own (cells
    and elements are read apart, as a reader sees them); elements named in `skip` (the cells, read through
    openpyxl) left out."""
    from defusedxml import ElementTree

    try:
        root = ElementTree.fromstring(body)
    except Exception:  # noqa: BLE001 - not XML after all, or refused by defusedxml: its bytes
        scanner.bytes_(file, block, body)
        return
    skip = skip or set()
    stack = [root]
    while stack:
        element = stack.pop()
        local = element.tag.rsplit("}", 1)[-1] if isinstance(element.tag, str) else ""
        if local in skip:
            continue
        for text in (element.text, element.tail):
            if text and text.strip():
                scanner.text(file, block, _mask(text, juror), short=False, emails=False)
        for key, value in element.attrib.items():
            if key.rsplit("}", 1)[-1] in TEXT_ATTRIBUTES and value:
                scanner.text(file, block, _mask(value, juror), short=False, emails=False)
        stack.extend(reversed(list(element)))


def _mask(text: str, juror: str | None) -> str:
    """`text` with the sheet's own juror's name taken out (where the sheet names its juror, it is no trace)."""
    return text.replace(juror, " ") if juror else text


def _cells(scanner: TraceScanner, file: str, data: bytes, where: str) -> str | None:
    """Every cell of every sheet: long needles everywhere, short ones in the entry columns of the sheet whose
    header names anon_id. Returns the juror's name from the hidden sheet."""
    from openpyxl import load_workbook

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # openpyxl's notes on styles: the words are what counts here
            book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # noqa: BLE001 - a workbook openpyxl cannot open: its parts are still scanned
        scanner.add(file, where + "workbook", f"cells not read: openpyxl cannot open it ({type(exc).__name__})")
        return None
    try:
        juror = _juror(book)
        for sheet in book.worksheets:
            scanner.text(file, where + "sheet name", _mask(sheet.title, juror), short=False, emails=False)
            entry_columns: set[int] = set()
            for r, row in enumerate(sheet.iter_rows(values_only=True), start=1):
                if r == 1:
                    header = [str(v).strip().lower() if v is not None else "" for v in row]
                    if "anon_id" in header:
                        entry_columns = {i for i, h in enumerate(header) if h in ENTRY_COLUMNS}
                for c, value in enumerate(row):
                    if value is None or isinstance(value, bool):
                        continue
                    text = value if isinstance(value, str) else str(value)
                    block = f"{where}{sheet.title}!{get_column_letter(c + 1)}{r}"
                    if c in entry_columns and r > 1:
                        scanner.text(file, block, text, short=True)
                    else:
                        scanner.text(file, block, _mask(text, juror), short=False, emails=False)
    finally:
        book.close()
    return juror


def _juror(book: Any) -> str | None:
    if HIDDEN not in book.sheetnames:
        return None
    for row in book[HIDDEN].iter_rows(values_only=True):
        if len(row) > 1 and row[0] == "juror" and isinstance(row[1], str) and row[1].strip():
            return row[1]
    return None
