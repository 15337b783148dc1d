"""The contact sheet's PDF, scanned as a juror would read it (issue 15).

A PDF's raw bytes are mostly not text: WeasyPrint writes each line as glyph codes in hex (`<0C00>`), and its
fonts, character maps and pictures are numbers, where a contestant ID made of hex digits (`C000`) turns up by
chance and blocked the jury round. So the scan reads the PDF through pypdf, as a viewer does:

- the text of every page, decoded through the fonts' character maps;
- every string of every object (document information, link targets, bookmarks, annotations), decoded;
- the strings of a content stream that are not glyph codes (marked-content properties: /ActualText, /Alt);
- XMP metadata and any other stream that is text; embedded files as files; embedded JPEGs as JPEGs (metadata
  segments); ICC profiles as profiles;

and skips what cannot carry a trace a person can read: glyph codes (their text is the page text), fonts,
character maps, the pixels of images, object and cross-reference streams (pypdf reads their objects).
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from milsetctl.anonymise.scanner import TraceScanner

# operators whose string operands are glyph codes (PDF 32000-1 table 109): their text is in the page text
TEXT_SHOWING = {b"Tj", b"TJ", b"'", b'"'}
FONT_KEYS = {"/FontFile", "/FontFile2", "/FontFile3"}
CMAP_KEYS = {"/ToUnicode", "/Encoding", "/UseCMap"}
FONT_SUBTYPES = {"/Type1C", "/CIDFontType0C", "/OpenType"}
HEX_STRING_RE = re.compile(rb"<[0-9A-Fa-f\s]*>")


# parsed objects pypdf may keep at once while scanning (it keeps every object it ever parsed otherwise): the
# contact sheet of 2,000 entries is ~40 MB of pictures, of 20,000 ten times that (issue 18: memory flat in N)
KEEP_OBJECTS = 200


def scan_pdf(scanner: TraceScanner, file: str, data: bytes) -> None:
    """Everything a juror can read in the PDF `data` (module docstring). A PDF pypdf cannot parse is reported
    (it is itself suspicious) and its bytes scanned whole."""
    _scan(scanner, file, io.BytesIO(data), lambda: data)


def scan_pdf_file(scanner: TraceScanner, file: str, path: Path) -> None:
    """`scan_pdf` of the PDF file at `path`, read from the file as pypdf needs it (not whole into memory) and
    parsed objects dropped as the scan goes: memory is flat in the size of the file."""
    with open(path, "rb") as fh:
        _scan(scanner, file, fh, path.read_bytes)


def _scan(scanner: TraceScanner, file: str, stream: Any, whole: Callable[[], bytes]) -> None:
    try:
        import pypdf
    except ImportError:
        scanner.add(file, "page text", "not scanned: pypdf is not installed")
        return
    try:
        reader = pypdf.PdfReader(stream)
        for number, page in enumerate(reader.pages, 1):
            scanner.text(file, f"page {number} text", page.extract_text() or "", short=False)
            _forget(reader)
        _objects(scanner, file, reader)
    except Exception as exc:  # noqa: BLE001 - any parse failure: say so, and scan every byte
        scanner.add(file, "file", f"unreadable PDF ({type(exc).__name__}: {exc}); scanned whole")
        scanner.bytes_(file, "file", whole())


def _forget(reader: Any, keep: int = 0) -> None:
    """Drop the objects pypdf parsed so far when there are more than `keep` (they are parsed again if needed)."""
    cache = getattr(reader, "resolved_objects", None)
    if isinstance(cache, dict) and len(cache) > keep:
        cache.clear()


def _numbers(reader: Any) -> list[int]:
    """Every object number the cross-reference tables list (object streams included, free ones not)."""
    numbers = {num for table in reader.xref.values() for num in table}
    numbers |= set(getattr(reader, "xref_objStm", {}))
    return sorted(numbers)


def _roles(objects: Iterable[tuple[int, Any]]) -> dict[int, str]:
    """What each stream is, from the dictionaries that point to it and from its own dictionary. `objects`: (number,
    object) pairs, each object seen once (they need not stay in memory)."""
    from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject, StreamObject

    roles: dict[int, str] = {}
    own_roles: dict[int, str] = {}

    def mark(value: Any, role: str) -> None:
        if isinstance(value, IndirectObject):
            roles.setdefault(value.idnum, role)
        elif isinstance(value, ArrayObject):
            for item in value:
                mark(item, role)
        elif isinstance(value, DictionaryObject) and role == "content":  # /AP << /N ref /D << /On ref >> >>
            for item in value.values():
                mark(item, role)

    def visit(obj: Any) -> None:
        if isinstance(obj, DictionaryObject):
            for key, value in obj.items():
                if key == "/Contents":  # a page's (an annotation's is a string: no stream gets the role)
                    mark(value, "content")
                elif key in FONT_KEYS:
                    mark(value, "font")
                elif key in CMAP_KEYS:
                    mark(value, "cmap")
                elif key == "/Metadata":
                    mark(value, "text")
                elif key == "/CharProcs" and isinstance(value, DictionaryObject):
                    for item in value.values():
                        mark(item, "content")
                elif key == "/AP":
                    mark(value.get_object() if isinstance(value, IndirectObject) else value, "content")
                elif key == "/EF" and isinstance(value, DictionaryObject):
                    for item in value.values():
                        mark(item, "file")
                else:
                    visit(value)
        elif isinstance(obj, ArrayObject):
            if len(obj) == 2 and obj[0] == "/ICCBased":
                mark(obj[1], "icc")
            for item in obj:
                visit(item)

    for num, obj in objects:
        visit(obj)
        if isinstance(obj, StreamObject):
            own = _own_role(obj)
            if own is not None:
                own_roles[num] = own
    roles.update(own_roles)
    return roles


def _own_role(stream: Any) -> str | None:
    kind, subtype = stream.get("/Type"), stream.get("/Subtype")
    if subtype == "/Image":
        return "image"
    if subtype == "/Form" or stream.get("/PatternType") == 1:
        return "content"
    if kind in ("/ObjStm", "/XRef"):
        return "skip"
    if kind == "/Metadata":
        return "text"
    if kind == "/EmbeddedFile":
        return "file"
    if kind == "/CMap" or "/CMapName" in stream:
        return "cmap"
    if any(k in stream for k in ("/Length1", "/Length2", "/Length3")) or subtype in FONT_SUBTYPES:
        return "font"
    return None


def _objects(scanner: TraceScanner, file: str, reader: Any) -> None:
    """Every object, twice: first what each stream is (`_roles`), then each one's strings and streams. Parsed
    objects are dropped every KEEP_OBJECTS (scan_pdf_file: one object in memory at a time, near enough)."""
    from pypdf.generic import StreamObject

    numbers = _numbers(reader)
    unreadable: set[int] = set()

    def each(report: bool) -> Iterator[tuple[int, Any]]:
        for i, num in enumerate(numbers, 1):
            if num in unreadable:
                continue
            try:
                obj = reader.get_object(num)
            except Exception:  # noqa: BLE001 - a damaged object: the others are still read
                if report:
                    scanner.add(file, f"object {num}", "an object pypdf cannot read")
                unreadable.add(num)
                continue
            if obj is not None:
                yield num, obj
            if i % KEEP_OBJECTS == 0:
                _forget(reader)

    roles = _roles(each(True))
    _forget(reader)
    info = reader.trailer.get("/Info")
    info_num = getattr(info, "idnum", None)
    for num, obj in each(False):
        block = "document information" if num == info_num else f"object {num}"
        _strings(scanner, file, block, obj)
        if isinstance(obj, StreamObject):
            _stream(scanner, file, num, obj, roles.get(num, "other"), reader)


def _strings(scanner: TraceScanner, file: str, block: str, obj: Any) -> None:
    """Every string inside `obj` (not following references: each object is scanned once), decoded."""
    from pypdf.generic import ArrayObject, ByteStringObject, DictionaryObject, TextStringObject

    if isinstance(obj, TextStringObject):
        scanner.text(file, block, str(obj), short=False)
    elif isinstance(obj, ByteStringObject):
        scanner.bytes_(file, block, bytes(obj))
    elif isinstance(obj, DictionaryObject):
        for value in obj.values():
            _strings(scanner, file, block, value)
    elif isinstance(obj, ArrayObject):
        for value in obj:
            _strings(scanner, file, block, value)


def _stream(scanner: TraceScanner, file: str, num: int, stream: Any, role: str, reader: Any) -> None:
    if role in ("font", "cmap", "skip"):
        return
    block = f"object {num}"
    if role == "image":
        filters = stream.get("/Filter")
        names = [str(f) for f in filters] if isinstance(filters, list) else [str(filters)]
        if names and names[-1] == "/DCTDecode":
            scanner.jpeg(file, stream.get_data(), "embedded image ")
        return  # other images: pixels (the picture itself; random bytes to a needle)
    data = stream.get_data()
    if role == "content":
        _content(scanner, file, block, stream, data, reader)
    elif role == "icc":
        scanner.icc(file, f"ICC profile ({block})", data)
    elif role == "file":
        scanner.data(file, data, f"embedded file ({block}) ")
    elif role == "text" or _is_text(data):
        scanner.text(file, "XMP metadata" if role == "text" else block,
                     HEX_STRING_RE.sub(b" ", data).decode("utf-8", "replace"), short=False)
    else:
        scanner.bytes_(file, block, data)  # a binary stream of no kind a PDF writer makes: anything may hide in it


def _is_text(data: bytes) -> bool:
    if not data:
        return False
    sample = data[:4096]
    printable = sum(1 for b in sample if 32 <= b < 127 or b in (9, 10, 13))
    return printable / len(sample) > 0.9


def _content(scanner: TraceScanner, file: str, block: str, stream: Any, data: bytes, reader: Any) -> None:
    """The strings of a content stream's operators that are not glyph codes (marked-content property lists carry
    /ActualText and /Alt), decoded. Most streams have none: they are not parsed."""
    if not any(op in data for op in (b"BDC", b"DP", b"BI")):
        return
    from pypdf.generic import ContentStream

    try:
        operations = ContentStream(stream, reader).operations
    except Exception:  # noqa: BLE001 - a content stream pypdf cannot parse: its bytes, glyph codes left out
        scanner.text(file, block, HEX_STRING_RE.sub(b" ", data).decode("latin-1"), short=False)
        return
    for operands, operator in operations:
        if operator in TEXT_SHOWING or operator == b"INLINE IMAGE":
            continue
        for operand in operands:
            _strings(scanner, file, block, operand)
