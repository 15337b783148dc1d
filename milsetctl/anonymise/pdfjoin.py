"""PDF files joined into one, written part by part: the contact sheet's parts with memory flat in the cards.

Why (issue 18): pypdf's PdfWriter keeps every page of every part, pictures included, until it writes the file;
the contact sheet of a 2,000-entry round held ~40 MB of thumbnails there at once, one of 20,000 entries would hold
ten times that. Here each part is read (pypdf), its pages and every object they use are written out at once under
new object numbers, and the part is dropped before the next one is opened: memory holds one part, each object's
place in the file and the bookmarks' titles.

The output is a plain PDF 1.7 file (objects, a cross-reference table, a trailer): one page tree with every page in
order, the parts' bookmarks one after another (each part's own tree kept), the first part's /Lang, a document
information dictionary (title, producer), and on every page "page N of M" (`stamp`) where the template's footer
puts it. Streams are copied as they are (still compressed); nothing is decoded.
"""

from __future__ import annotations

import gc
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from milsetctl.fsutil import atomic_write

CATALOG, PAGES, INFO, FONT, SAVE = 1, 2, 3, 4, 5  # numbers of the objects this module writes itself
FIRST_FREE = 6

# "page N of M": where WeasyPrint's footer had it (7.5 pt, grey), in the bottom-right corner of the bottom margin
# (the contact sheet template's @page margins: 12 mm 11 mm 14 mm); Helvetica, a PDF standard font (no file to
# embed), for the ASCII words and digits
PAGE_NUMBER_PT = 7.5
PAGE_NUMBER_RIGHT_MM = 11.0
PAGE_NUMBER_BASELINE_MM = 6.0
PAGE_NUMBER_GREY = (0.42, 0.447, 0.502)  # #6b7280, the footer's colour
PAGE_NUMBER_FONT = "/MilsetPageNo"
_HELVETICA_WIDTHS = {**dict.fromkeys("0123456789aegop", 556), " ": 278, "f": 278}  # per 1000 em (the AFM)
Stamp = Callable[[int, int, Any], bytes]  # (page number, total, media box) -> content stream drawing it


def stamp(number: int, total: int, box: Any) -> bytes:
    """The content stream that writes "page N of M" in the bottom-right corner of a page whose media box is `box`.
    The page's own drawing runs before it inside q/Q (WeasyPrint leaves its coordinate flip in force), so this
    starts from the page's own coordinates: Q, then its own q/Q."""
    text = f"page {number} of {total}"
    width = sum(_HELVETICA_WIDTHS[c] for c in text) * PAGE_NUMBER_PT / 1000
    mm = 72 / 25.4
    x = float(box.right) - PAGE_NUMBER_RIGHT_MM * mm - width
    y = float(box.bottom) + PAGE_NUMBER_BASELINE_MM * mm
    r, g, b = PAGE_NUMBER_GREY
    return (f"Q q {r} {g} {b} rg BT {PAGE_NUMBER_FONT} {PAGE_NUMBER_PT} Tf {x:.2f} {y:.2f} Td ({text}) Tj ET Q\n"
            .encode("ascii"))


class _Out:
    """The output file: object numbers handed out, each object's offset, the cross-reference table at the end."""

    def __init__(self, fh: IO[bytes]) -> None:
        self.fh = fh
        self.next = FIRST_FREE
        self.offsets: dict[int, int] = {}
        fh.write(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")  # binary marker: transfer programs keep the bytes as they are

    def allocate(self) -> int:
        num = self.next
        self.next += 1
        return num

    def write(self, num: int, obj: Any) -> None:
        self.offsets[num] = self.fh.tell()
        self.fh.write(f"{num} 0 obj\n".encode("ascii"))
        obj.write_to_stream(self.fh)
        self.fh.write(b"\nendobj\n")

    def finish(self) -> None:
        missing = [n for n in range(1, self.next) if n not in self.offsets]
        if missing:  # a number handed out and never written: the file would point at nothing
            raise RuntimeError(f"PDF join: objects {missing[:5]} never written")
        start = self.fh.tell()
        lines = [f"xref\n0 {self.next}\n0000000000 65535 f \n"]
        lines += [f"{self.offsets[n]:010d} 00000 n \n" for n in range(1, self.next)]
        lines.append(f"trailer\n<< /Size {self.next} /Root {CATALOG} 0 R /Info {INFO} 0 R >>\n"
                     f"startxref\n{start}\n%%EOF\n")
        self.fh.write("".join(lines).encode("ascii"))


def _idnum(page: Any) -> int:
    """A page's object number in its file (a page read from a file always has one)."""
    return int(page.indirect_reference.idnum)


def _ref(num: int) -> Any:
    from pypdf.generic import IndirectObject

    return IndirectObject(num, 0, None)  # only written: never resolved


class _Part:
    """One input file being copied: its object numbers mapped to the output's, the objects still to write."""

    def __init__(self, out: _Out, reader: Any) -> None:
        self.out = out
        self.reader = reader
        self.mapping: dict[int, int] = {}
        self.queue: list[Any] = []
        self.pages = {_idnum(p): out.allocate() for p in reader.pages}

    def ref(self, ind: Any) -> Any:
        idnum = ind.idnum
        if idnum in self.pages:
            return _ref(self.pages[idnum])
        new = self.mapping.get(idnum)
        if new is None:
            new = self.mapping[idnum] = self.out.allocate()
            self.queue.append(ind)
        return _ref(new)

    def copy(self, obj: Any) -> Any:
        """`obj` with every reference renumbered (the referenced objects queued to be written)."""
        from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject, NameObject, StreamObject

        if isinstance(obj, IndirectObject):
            return self.ref(obj)
        if isinstance(obj, StreamObject):
            stream = obj.__class__()
            stream._data = obj._data  # as stored (still compressed): copied, never decoded
            for key, value in obj.items():
                if key != "/Length":  # written from the data's own length
                    stream[NameObject(key)] = self.copy(value)
            return stream
        if isinstance(obj, DictionaryObject):
            return DictionaryObject({NameObject(key): self.copy(value) for key, value in obj.items()})
        if isinstance(obj, ArrayObject):
            return ArrayObject([self.copy(value) for value in obj])
        return obj

    def drain(self) -> None:
        """Write every queued object (and what they reference in turn)."""
        while self.queue:
            ind = self.queue.pop()
            self.out.write(self.mapping[ind.idnum], self.copy(ind.get_object()))


def _outline(reader: Any, items: list[Any], pages: list[int]) -> list[dict[str, Any]]:
    """The part's bookmarks as plain data: title, destination (output page number, /XYZ left top zoom), children."""
    from pypdf.generic import Destination

    nodes: list[dict[str, Any]] = []
    for item in items:
        if isinstance(item, list):
            if nodes:
                nodes[-1]["children"] = _outline(reader, item, pages)
            continue
        if not isinstance(item, Destination):
            continue
        index = reader.get_destination_page_number(item)
        if index is None or not 0 <= index < len(pages):
            continue
        nodes.append({"title": str(item.title), "page": pages[index], "left": item.left, "top": item.top,
                      "zoom": item.zoom, "children": []})
    return nodes


def _write_outline(out: _Out, nodes: list[dict[str, Any]], parent: int) -> tuple[int, int, int]:
    """Write bookmark items under `parent`; (first, last, count of items below, all open)."""
    from pypdf.generic import (
        ArrayObject,
        DictionaryObject,
        FloatObject,
        NameObject,
        NullObject,
        NumberObject,
        TextStringObject,
    )

    def number(value: Any) -> Any:
        return NullObject() if value is None or isinstance(value, NullObject) else FloatObject(float(value))

    nums = [out.allocate() for _ in nodes]
    count = len(nodes)
    for i, (num, node) in enumerate(zip(nums, nodes, strict=True)):
        item = DictionaryObject({
            NameObject("/Title"): TextStringObject(node["title"]),
            NameObject("/Parent"): _ref(parent),
            NameObject("/Dest"): ArrayObject([_ref(node["page"]), NameObject("/XYZ"), number(node["left"]),
                                              number(node["top"]), number(node["zoom"])]),
        })
        if i > 0:
            item[NameObject("/Prev")] = _ref(nums[i - 1])
        if i + 1 < len(nums):
            item[NameObject("/Next")] = _ref(nums[i + 1])
        if node["children"]:
            first, last, below = _write_outline(out, node["children"], num)
            item[NameObject("/First")], item[NameObject("/Last")] = _ref(first), _ref(last)
            item[NameObject("/Count")] = NumberObject(below)
            count += below
        out.write(num, item)
    return nums[0], nums[-1], count


def page_count(path: Path) -> int:
    from pypdf import PdfReader

    return len(PdfReader(str(path)).pages)


def join_pdfs(parts: list[Path], target: Path, title: str, numbers: Stamp | None = stamp) -> int:
    """The PDF files `parts` as one PDF at `target` (temporary name, then rename): their pages in order, their
    bookmarks, each page stamped by `numbers(n, total, media box)` (None: not stamped); returns the page count."""
    from pypdf import PdfReader
    from pypdf.generic import (
        ArrayObject,
        DecodedStreamObject,
        DictionaryObject,
        NameObject,
        NumberObject,
        TextStringObject,
    )

    total = sum(page_count(p) for p in parts)
    kids: list[int] = []
    outline: list[dict[str, Any]] = []
    lang: Any = None
    with atomic_write(target, "wb") as fh:
        out = _Out(fh)
        font = DictionaryObject({NameObject("/Type"): NameObject("/Font"), NameObject("/Subtype"): NameObject("/Type1"),
                                 NameObject("/BaseFont"): NameObject("/Helvetica"),
                                 NameObject("/Encoding"): NameObject("/WinAnsiEncoding")})
        out.write(FONT, font)
        save = DecodedStreamObject()
        save.set_data(b"q\n")
        out.write(SAVE, save)
        for path in parts:
            reader = PdfReader(str(path))
            part = _Part(out, reader)
            if lang is None:
                lang = reader.root_object.get("/Lang")
            numbers_here = []
            for page in reader.pages:  # pypdf's pages carry what they inherit (resources, media box) themselves
                num = part.pages[_idnum(page)]
                new = DictionaryObject()
                for key, value in page.items():
                    if key not in ("/Parent", "/Contents", "/Resources"):
                        new[NameObject(key)] = part.copy(value)
                new[NameObject("/Parent")] = _ref(PAGES)
                own = page.get("/Resources")
                own = own.get_object() if own is not None else DictionaryObject()
                resources = DictionaryObject({NameObject(k): part.copy(v) for k, v in own.items() if k != "/Font"})
                fonts_of = own.get("/Font")
                fonts = DictionaryObject({NameObject(k): part.copy(v) for k, v in fonts_of.get_object().items()}
                                         if fonts_of is not None else {})
                contents = page.get("/Contents")
                if numbers is not None:
                    fonts[NameObject(PAGE_NUMBER_FONT)] = _ref(FONT)
                    drawn: list[Any] = []
                    if contents is not None:
                        resolved = contents.get_object()
                        drawn = list(resolved) if isinstance(resolved, ArrayObject) else [contents]
                    text = DecodedStreamObject()
                    text.set_data(numbers(len(kids) + 1, total, page.mediabox))
                    text_num = out.allocate()
                    out.write(text_num, text)
                    new[NameObject("/Contents")] = ArrayObject(
                        [_ref(SAVE), *(part.copy(c) for c in drawn), _ref(text_num)])
                elif contents is not None:
                    new[NameObject("/Contents")] = part.copy(contents)
                if fonts:
                    resources[NameObject("/Font")] = fonts
                new[NameObject("/Resources")] = resources
                out.write(num, new)
                kids.append(num)
                numbers_here.append(num)
                part.drain()
            outline += _outline(reader, reader.outline, numbers_here)
            part.drain()
            del part, reader
            gc.collect()  # the part's objects refer to their reader and back: freed now, not at a rare full collection
        out.write(PAGES, DictionaryObject({NameObject("/Type"): NameObject("/Pages"),
                                           NameObject("/Kids"): ArrayObject([_ref(k) for k in kids]),
                                           NameObject("/Count"): NumberObject(len(kids))}))
        catalog = DictionaryObject({NameObject("/Type"): NameObject("/Catalog"), NameObject("/Pages"): _ref(PAGES)})
        if outline:
            root = out.allocate()
            first, last, count = _write_outline(out, outline, root)
            out.write(root, DictionaryObject({NameObject("/Type"): NameObject("/Outlines"),
                                              NameObject("/First"): _ref(first), NameObject("/Last"): _ref(last),
                                              NameObject("/Count"): NumberObject(count)}))
            catalog[NameObject("/Outlines")] = _ref(root)
        if lang is not None:
            catalog[NameObject("/Lang")] = TextStringObject(str(lang))
        out.write(CATALOG, catalog)
        out.write(INFO, DictionaryObject({NameObject("/Title"): TextStringObject(title),
                                          NameObject("/Producer"): TextStringObject("milsetctl")}))
        out.finish()
    return len(kids)
