"""Batch fonts: the CJK faces cut down, once per batch, to the characters the batch prints.

Why: a Noto CJK face has ~65,000 glyphs in a 20-27 MB file. WeasyPrint, for every PDF it writes, copies the whole
file out of HarfBuzz and subsets it keeping the glyph IDs (a Chinese glyph's ID is in the tens of thousands, so the
subset still carries tens of thousands of empty glyph slots): measured here, ~10 ms and ~57 KB per CJK face per
certificate. A face first cut to the batch's own characters (a few thousand glyphs, renumbered from 0, 1-1.5 MB)
costs WeasyPrint well under a millisecond and a few KB per certificate; making it costs ~50 ms per face per batch.

The cut is made with HarfBuzz's subsetter (`libharfbuzz-subset`, the library WeasyPrint itself uses; Debian
package libharfbuzz-subset0, installed by scripts/install.sh), called through cffi (a WeasyPrint dependency).
fontTools can do the same but took 4-6 s per face. Without the library `subset_font` returns None and the
certificate simply names the system font, as before: slower, same print.
"""

from __future__ import annotations

import ctypes.util
from collections.abc import Callable, Iterable
from functools import lru_cache
from typing import Any

_CDEF = """
typedef ... hb_blob_t; typedef ... hb_face_t; typedef ... hb_set_t; typedef ... hb_subset_input_t;
typedef uint32_t hb_codepoint_t;
hb_blob_t * hb_blob_create_from_file_or_fail (const char *file_name);
hb_blob_t * hb_blob_create (const char *data, unsigned int length, int mode, void *user_data, void *destroy);
void hb_blob_destroy (hb_blob_t *blob);
const char * hb_blob_get_data (hb_blob_t *blob, unsigned int *length);
hb_face_t * hb_face_create (hb_blob_t *blob, unsigned int index);
void hb_face_destroy (hb_face_t *face);
hb_blob_t * hb_face_reference_blob (hb_face_t *face);
void hb_set_add (hb_set_t *set, hb_codepoint_t codepoint);
hb_subset_input_t * hb_subset_input_create_or_fail (void);
void hb_subset_input_destroy (hb_subset_input_t *input);
hb_set_t * hb_subset_input_unicode_set (hb_subset_input_t *input);
hb_set_t * hb_subset_input_glyph_set (hb_subset_input_t *input);
void hb_subset_input_set_flags (hb_subset_input_t *input, unsigned value);
hb_face_t * hb_subset_or_fail (hb_face_t *source, const hb_subset_input_t *input);
"""
_RETAIN_GIDS = 0x2  # HB_SUBSET_FLAGS_RETAIN_GIDS: glyph numbers unchanged (a PDF's text names glyphs by number)
_DESUBROUTINIZE = 0x4  # HB_SUBSET_FLAGS_DESUBROUTINIZE: CFF glyphs stand alone, so a later subset stays small
_PASSTHROUGH = 0x20  # HB_SUBSET_FLAGS_PASSTHROUGH_UNRECOGNIZED: tables HarfBuzz cannot cut are kept as they are
_NOTDEF_OUTLINE = 0x40  # HB_SUBSET_FLAGS_NOTDEF_OUTLINE
_DUPLICATE = 0  # HB_MEMORY_MODE_DUPLICATE: HarfBuzz copies the bytes it is given


def _open(ffi: Any, names: tuple[str, ...]) -> Any:
    for name in names:
        try:
            return ffi.dlopen(name)
        except OSError:
            continue
    found = ctypes.util.find_library(names[0].split(".")[0].removeprefix("lib"))
    return ffi.dlopen(found) if found else None


@lru_cache(maxsize=1)
def _harfbuzz() -> tuple[Any, Any, Any] | None:
    """(ffi, libharfbuzz, libharfbuzz-subset), or None when either library is missing."""
    try:
        from cffi import FFI

        ffi = FFI()
        ffi.cdef(_CDEF)
        hb = _open(ffi, ("libharfbuzz.so.0", "libharfbuzz-0.dll", "libharfbuzz.0.dylib"))
        hbs = _open(ffi, ("libharfbuzz-subset.so.0", "libharfbuzz-subset-0.dll", "libharfbuzz-subset.0.dylib"))
        if hb is None or hbs is None:
            return None
        hb.hb_blob_create_from_file_or_fail  # noqa: B018 - HarfBuzz >= 2.8.2, else AttributeError
        hbs.hb_subset_input_unicode_set  # noqa: B018
        hbs.hb_subset_input_glyph_set  # noqa: B018
        return ffi, hb, hbs
    except (ImportError, OSError, AttributeError):
        return None


def subset_font(path: str, index: int, chars: set[str]) -> bytes | None:
    """The face `index` of the font file `path` cut to `chars` (and what its layout tables need to shape them),
    glyph IDs renumbered, CFF desubroutinized, as an OpenType file's bytes. None when HarfBuzz's subsetter is not
    installed or cannot read the font."""
    lib = _harfbuzz()
    if lib is None:
        return None
    ffi, hb, hbs = lib
    blob = hb.hb_blob_create_from_file_or_fail(path.encode())
    if blob == ffi.NULL:
        return None
    return _subset(lib, blob, index, lambda request: _add_all(hb, hbs.hb_subset_input_unicode_set(request),
                                                               (ord(ch) for ch in chars)),
                   _DESUBROUTINIZE | _NOTDEF_OUTLINE)


def subset_glyphs(data: bytes, glyphs: Iterable[int]) -> bytes | None:
    """The font file `data` (TrueType or OpenType, as a PDF embeds it) cut to the glyph numbers `glyphs` (and .notdef),
    the numbers kept, the glyphs after the last one dropped: what WeasyPrint itself does to a font for a PDF, here
    for a font WeasyPrint embedded for a whole chunk of certificates, cut again for one page (pdfsplit.py). None
    when HarfBuzz's subsetter is missing or cannot read the font."""
    lib = _harfbuzz()
    if lib is None or not data:
        return None
    ffi, hb, hbs = lib
    blob = hb.hb_blob_create(data, len(data), _DUPLICATE, ffi.NULL, ffi.NULL)
    if blob == ffi.NULL:
        return None
    return _subset(lib, blob, 0, lambda request: _add_all(hb, hbs.hb_subset_input_glyph_set(request), glyphs),
                   _RETAIN_GIDS | _DESUBROUTINIZE | _PASSTHROUGH | _NOTDEF_OUTLINE)


def _add_all(hb: Any, hb_set: Any, values: Iterable[int]) -> None:
    for value in values:
        hb.hb_set_add(hb_set, value)


def _subset(lib: tuple[Any, Any, Any], blob: Any, index: int, fill: Callable[[Any], None], flags: int) -> bytes | None:
    """Face `index` of `blob` (destroyed here) cut by a subset request that `fill` fills, with `flags`."""
    ffi, hb, hbs = lib
    face = hb.hb_face_create(blob, index)
    request = hbs.hb_subset_input_create_or_fail()
    try:
        if request == ffi.NULL:
            return None
        fill(request)
        hbs.hb_subset_input_set_flags(request, flags)
        cut = hbs.hb_subset_or_fail(face, request)
        if cut == ffi.NULL:
            return None
        out = hb.hb_face_reference_blob(cut)
        try:
            length = ffi.new("unsigned int *")
            data = hb.hb_blob_get_data(out, length)
            return bytes(ffi.buffer(data, length[0])) if length[0] else None
        finally:
            hb.hb_blob_destroy(out)
            hb.hb_face_destroy(cut)
    finally:
        if request != ffi.NULL:
            hbs.hb_subset_input_destroy(request)
        hb.hb_face_destroy(face)
        hb.hb_blob_destroy(blob)
