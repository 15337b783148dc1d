"""A WeasyPrint document of many certificates cut into one PDF per page, each as WeasyPrint would have written it.

Why (issue 18): WeasyPrint draws every page again and subsets every font again for each PDF it writes, so writing
each recipient's PDF with `document.copy([page]).write_pdf()` and then the chunk as a part of the combined file
drew each page twice and subset each font once per certificate. Here the chunk is written once and each page is
copied out of that PDF with pypdf: 49 -> 34 ms of CPU per certificate on the bench's round (thumbnails cached;
bench/README.md, issue 18).

What a copied page keeps, beside its drawing (rendered and compared: the same pixels and glyph outlines, the same
text read back):
- only the resources it uses: WeasyPrint gives all pages of a document one resource dictionary (every
  certificate's photo), so each page's is cut down to the names its content stream uses;
- fonts cut to its own glyphs: the chunk's fonts hold the glyphs of all its pages (a chunk of 25 Chinese names is
  hundreds of CJK glyphs, +26 KB per PDF), so a font of which the page shows at most half the glyphs is cut again
  with HarfBuzz to the glyph numbers the page shows (numbers kept, as the text refers to them), its widths and
  its ToUnicode map (what copied text reads) likewise. When a page is not what this expects (text not as
  WeasyPrint writes it, a form XObject, a font not Identity-H, HarfBuzz's subsetter missing), it keeps the chunk's
  fonts: a larger file, the same print;
- its bookmarks, the document's language, producer and metadata, and its own title.
pypdf writes no object streams: a PDF is ~4 KB larger than WeasyPrint's own (80 KB with its photo).
"""

from __future__ import annotations

import re
import sys
from io import BytesIO
from pathlib import Path
from typing import Any

from milsetctl.fsutil import atomic_write

# a name in a content stream (/F1, /a1.0, /i0ab...); #xx is an escaped byte
_PDF_NAME = re.compile(rb"/([^\s/\[\]()<>{}%]*)")
_PDF_NAME_ESCAPE = re.compile(rb"#([0-9A-Fa-f]{2})")
# the resource kinds a content stream names by key; the others (ColorSpace, ProcSet) are small and kept whole
_NAMED_RESOURCES = ("/XObject", "/Font", "/ExtGState", "/Pattern", "/Shading", "/Properties")
# a font chosen (/KEY size Tf): what follows, up to the next one, is drawn with it
_TF = re.compile(rb"/([^\s/\[\]()<>{}%]+)\s+[-+0-9.]+\s+Tf")
_HEX = re.compile(rb"<([0-9A-Fa-f]*)>")
_BFCHAR = re.compile(rb"\d+\s+beginbfchar\s(.*?)endbfchar", re.S)
_BFCHAR_LINE = re.compile(rb"<([0-9A-Fa-f]+)>\s*<[0-9A-Fa-f]*>")


def _name(raw: bytes) -> str:
    return "/" + _PDF_NAME_ESCAPE.sub(lambda m: bytes([int(m[1], 16)]), raw).decode("latin-1")


def content_names(data: bytes) -> set[str]:
    """Every name a content stream mentions ("/F1"...): a superset of the resources it uses."""
    return {_name(raw) for raw in _PDF_NAME.findall(data)}


def glyphs_by_font(data: bytes) -> dict[str, set[int]] | None:
    """The glyph numbers each font (by resource name) shows in a content stream WeasyPrint wrote: every string a
    hex string of 2-byte glyph numbers after a Tf. None when the stream is not like that (a literal string, a hex
    string before any Tf, an odd number of digits): which glyphs it shows is then not known here."""
    from array import array

    if b"(" in data:
        return None
    parts = _TF.split(data)  # [before the first Tf, font, what it draws, font, what it draws...]
    if _HEX.search(parts[0]):
        return None
    used: dict[str, set[int]] = {}
    for raw, drawn in zip(parts[1::2], parts[2::2], strict=True):
        digits = b"".join(_HEX.findall(drawn))
        if len(digits) % 4:
            return None
        numbers = array("H", bytes.fromhex(digits.decode("ascii")))
        if sys.byteorder == "little":
            numbers.byteswap()
        used.setdefault(_name(raw), set()).update(numbers)
    return used


def split_pages(pdf: bytes, pages: list[tuple[str, Path]]) -> None:
    """Write each page of `pdf` (a document WeasyPrint wrote) as a PDF of its own: `pages[i]` is page i's (title,
    path). Each file is written whole or not at all (fsutil.atomic_write). Raises ValueError when `pdf` has not
    len(pages) pages."""
    from pypdf import PdfReader, PdfWriter
    from pypdf.generic import DictionaryObject, NameObject, TextStringObject

    reader = PdfReader(BytesIO(pdf))
    if len(reader.pages) != len(pages):
        raise ValueError(f"{len(reader.pages)} pages for {len(pages)} files")
    info: dict[str, Any] = dict(reader.metadata or {})
    root = reader.trailer["/Root"].get_object()
    lang = root.get("/Lang") if isinstance(root, DictionaryObject) else None
    outline = _outline_by_page(reader)
    for number, (page, (title, path)) in enumerate(zip(reader.pages, pages, strict=True)):
        contents = page.get_contents()
        data = contents.get_data() if contents is not None else b""
        names = content_names(data)
        shared = page.get("/Resources")
        shared = shared.get_object() if shared is not None else None
        own = DictionaryObject()
        forms = False
        for kind, value in (shared.items() if isinstance(shared, DictionaryObject) else ()):
            entries = value.get_object()
            if kind in _NAMED_RESOURCES and isinstance(entries, DictionaryObject):
                used = DictionaryObject({k: v for k, v in entries.items() if k in names})
                own[NameObject(kind)] = used
                if kind == "/XObject":  # a form draws with fonts of its own resources: their glyphs are not read
                    forms = any(v.get_object().get("/Subtype") == "/Form" for v in used.values())
            else:
                own[NameObject(kind)] = value
        page[NameObject("/Resources")] = own
        writer = PdfWriter()
        copied = writer.add_page(page)
        glyphs = None if forms else glyphs_by_font(data)
        resources = copied["/Resources"].get_object()
        fonts = resources.get("/Font") if isinstance(resources, DictionaryObject) else None
        if isinstance(fonts, DictionaryObject) and glyphs:
            for key, font in fonts.items():
                if glyphs.get(key):
                    _cut_font(font.get_object(), glyphs[key])
        for item_title, fit, children in outline.get(number, ()):
            _add_outline(writer, item_title, fit, children, None)
        if lang is not None:
            writer._root_object[NameObject("/Lang")] = TextStringObject(str(lang))
        writer.add_metadata({**{k: v for k, v in info.items() if k != "/Title"}, "/Title": title})
        with atomic_write(path, "wb") as fh:
            writer.write(fh)


def _cut_font(font: Any, glyphs: set[int]) -> None:
    """Cut a copied Type0 font (a pypdf object of the new file, changed in place) to `glyphs`: its font file, its
    widths, its ToUnicode map. Left whole when it is not the Identity-H font with an embedded TrueType or
    OpenType file WeasyPrint writes, or HarfBuzz cannot cut it."""
    from pypdf.generic import NameObject, NumberObject

    from milsetctl.certificates.subset import subset_glyphs

    if font.get("/Subtype") != "/Type0" or font.get("/Encoding") != "/Identity-H" or "/DescendantFonts" not in font:
        return
    cid = font["/DescendantFonts"].get_object()[0].get_object()
    if "/FontDescriptor" not in cid or cid.get("/CIDToGIDMap", "/Identity") != "/Identity":
        return
    widths = cid.get("/W")
    widths = widths.get_object() if widths is not None else None
    if widths is not None and 2 * len(glyphs) > _glyph_count(widths):
        return  # the page shows half the font's glyphs or more: a few hundred bytes to win, not worth the cut
    descriptor = cid["/FontDescriptor"].get_object()
    if "/FontFile2" in descriptor:
        stream = descriptor["/FontFile2"].get_object()
    elif "/FontFile3" in descriptor and descriptor["/FontFile3"].get_object().get("/Subtype") == "/OpenType":
        stream = descriptor["/FontFile3"].get_object()
    else:
        return
    cut = subset_glyphs(stream.get_data(), glyphs)
    if cut is None:
        return
    stream.set_data(cut)
    if "/Length1" in stream:
        stream[NameObject("/Length1")] = NumberObject(len(cut))
    if widths is not None:
        cid[NameObject("/W")] = _cut_widths(widths, glyphs)
    to_unicode = font.get("/ToUnicode")
    if to_unicode is not None:
        cmap = to_unicode.get_object()
        cmap.set_data(_cut_to_unicode(cmap.get_data(), glyphs))


def _glyph_count(widths: Any) -> int:
    """How many glyphs a /W array gives widths for."""
    count, i = 0, 0
    while i + 1 < len(widths):
        if isinstance(widths[i + 1], list):
            count, i = count + len(widths[i + 1]), i + 2
        else:
            count, i = count + int(widths[i + 1]) - int(widths[i]) + 1, i + 3
    return count


def _cut_widths(widths: Any, glyphs: set[int]) -> Any:
    """A /W array ([first [w1 w2...]] or [first last w] runs) with only `glyphs`, as runs of consecutive ones."""
    from pypdf.generic import ArrayObject, NumberObject

    known: dict[int, Any] = {}
    i = 0
    while i + 1 < len(widths):
        first, nxt = int(widths[i]), widths[i + 1]
        if isinstance(nxt, list):
            known.update((first + j, w) for j, w in enumerate(nxt))
            i += 2
        elif i + 2 < len(widths):
            known.update((g, widths[i + 2]) for g in range(first, int(nxt) + 1))
            i += 3
        else:
            break
    out = ArrayObject()
    for glyph in sorted(g for g in glyphs if g in known):
        if out and int(out[-2]) + len(out[-1]) == glyph:
            out[-1].append(known[glyph])
        else:
            out.extend([NumberObject(glyph), ArrayObject([known[glyph]])])
    return out


def _cut_to_unicode(cmap: bytes, glyphs: set[int]) -> bytes:
    """A ToUnicode CMap's bfchar entries (WeasyPrint writes only those) for `glyphs` only."""
    def keep(block: re.Match[bytes]) -> bytes:
        lines = [m[0] for m in _BFCHAR_LINE.finditer(block[1]) if int(m[1], 16) in glyphs]
        return b"%d beginbfchar\n%s\nendbfchar" % (len(lines), b"\n".join(lines))

    return _BFCHAR.sub(keep, cmap)


def _outline_by_page(reader: Any) -> dict[int, list[tuple[str, Any, list[Any]]]]:
    """The document's bookmarks, each top-level one under the page it points to: (title, fit, children)."""
    from pypdf.generic import Fit

    def walk(items: list[Any]) -> list[tuple[int | None, str, Any, list[Any]]]:
        out: list[tuple[int | None, str, Any, list[Any]]] = []
        for i, item in enumerate(items):
            if isinstance(item, list):
                continue  # the children of the item before it (taken with it)
            children = items[i + 1] if i + 1 < len(items) and isinstance(items[i + 1], list) else []
            fit = Fit(item.typ, tuple(item[k] for k in ("/Left", "/Top", "/Zoom") if k in item)) \
                if item.typ == "/XYZ" else Fit(item.typ)
            out.append((reader.get_destination_page_number(item), str(item.title), fit,
                        [c[1:] for c in walk(children)]))
        return out

    by_page: dict[int, list[tuple[str, Any, list[Any]]]] = {}
    for page, title, fit, children in walk(reader.outline):
        if page is not None:
            by_page.setdefault(page, []).append((title, fit, children))
    return by_page


def _add_outline(writer: Any, title: str, fit: Any, children: list[Any], parent: Any) -> None:
    item = writer.add_outline_item(title=title, page_number=0, parent=parent, fit=fit)
    for child_title, child_fit, grandchildren in children:
        _add_outline(writer, child_title, child_fit, grandchildren, item)
