"""Drawing certificates: the HTML of a page, the PDF of each recipient and of each chunk, the combined print file.

Apart from issue.py (who gets which code, what the ledger records) because this is the part that runs in the
worker processes: `_print_chunk` and `_Chunk` are pickled into the pool, so they live at a module's top level,
and everything heavy (WeasyPrint, Pillow, pypdf, Jinja2) is imported inside the functions that use it, so that
`milsetctl verify`, which imports the package, stays quick."""

from __future__ import annotations

import gc
import hashlib
import os
import re
import shutil
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from milsetctl.certificates.model import Certificate, CertificateError, Issued
from milsetctl.certificates.sheet import sheet as _sheet
from milsetctl.fsutil import atomic_path, atomic_write
from milsetctl.resources import templates_dir

TEMPLATE = "certificate.html"
THUMB_PX = 640  # longest side of the cached thumbnail: sharp at 60 mm wide on a 250 dpi print

# --- files


def safe_file_name(key: str, name: str, limit: int = 80) -> str:
    """`KEY-Name.pdf`, safe on Windows: no reserved characters, no trailing dot/space; the key (unique within the
    kind, and never a reserved device name such as CON once prefixed) keeps names unique."""
    from milsetctl.fsutil import safe_file_name as sanitise

    return sanitise(f"{key}-{name}", max_bytes=limit * 3, fallback=key) + ".pdf"


def thumbnail(cache: Path, cert: Certificate, previews: Path | None = None) -> Path | None:
    """The photo shrunk once (EXIF orientation applied, no metadata) and cached by content hash in `cache`; None
    without a readable photo. `previews`: validate's thumbnails folder, where `validate` already wrote this photo at
    THUMB_PX (probe.print_preview_name, the same recipe from the decode it held): used as it is, the camera file is
    not decoded again."""
    if cert.photo is None or not cert.photo.is_file():
        return None
    sha = cert.sha256
    if not sha:
        h = hashlib.sha256()
        with cert.photo.open("rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                h.update(chunk)
        sha = h.hexdigest()
    if previews is not None:
        from milsetctl.probe import PRINT_SIZE, print_preview_name

        made = previews / print_preview_name(sha)
        if PRINT_SIZE == THUMB_PX and made.is_file():
            return made
    folder = cache
    path = folder / f"{sha}-{THUMB_PX}.jpg"
    if path.is_file():
        return path
    from PIL import Image, ImageOps

    try:
        im: Image.Image  # the opened file, then the converted picture
        with Image.open(cert.photo) as im:
            # JPEG: decode at 1/2, 1/4 or 1/8 scale, the smallest whose longest side still holds THUMB_PX (a
            # 3000x2000 photo decodes at 750x500: 39 ms, not 136 ms for the full frame). The box keeps the aspect
            # ratio: Pillow picks the scale both sides allow.
            longest = max(im.size)
            im.draft("RGB", (max(1, im.width * THUMB_PX // longest), max(1, im.height * THUMB_PX // longest)))
            im = ImageOps.exif_transpose(im).convert("RGB")
            # at most 2x left to shrink (the scaled decode; for a PNG, thumbnail()'s reducing_gap box-filters first):
            # BICUBIC is as sharp there as LANCZOS, and cheaper
            im.thumbnail((THUMB_PX, THUMB_PX), Image.Resampling.BICUBIC)
            folder.mkdir(parents=True, exist_ok=True)
            with atomic_path(path) as tmp:
                im.save(tmp, "JPEG", quality=85, optimize=True)
    except (OSError, ValueError, Image.DecompressionBombError):  # unreadable: the certificate prints without it
        return None
    return path


# --- rendering
@lru_cache(maxsize=1)
def _template() -> Any:
    """The Jinja2 template, compiled once per process; autoescape: names and titles are text, never markup."""
    from jinja2 import Environment, FileSystemLoader, StrictUndefined

    folder = templates_dir()
    if not (folder / TEMPLATE).is_file():
        raise CertificateError(f"certificate template not found: {folder / TEMPLATE}")
    env = Environment(loader=FileSystemLoader(str(folder)), autoescape=True, undefined=StrictUndefined)
    return env.get_template(TEMPLATE)


class _SizedArrayFFI:
    """Stands in for cffi's FFI in weasyprint.pdf.fonts: `new("hb_codepoint_t[N]", values)` becomes
    `new("hb_codepoint_t[]", values)`, the same array. WeasyPrint writes the length into the type for each font it
    subsets, and cffi parses every new type string with pycparser (~12-30 ms each; a batch meets hundreds of
    lengths): measured, 3.4 of 27 s on 60 certificates. Everything else goes to the real FFI."""

    _SIZED = re.compile(r"(\w+)\[(\d+)\]")

    def __init__(self, ffi: Any) -> None:
        self._ffi = ffi

    def __getattr__(self, name: str) -> Any:
        return getattr(self._ffi, name)

    def new(self, cdecl: Any, init: Any = None) -> Any:
        if isinstance(cdecl, str) and init is not None and hasattr(init, "__len__"):
            sized = self._SIZED.fullmatch(cdecl)
            if sized and len(init) == int(sized[2]):
                return self._ffi.new(f"{sized[1]}[]", init)
        return self._ffi.new(cdecl, init)


# one WeasyPrint font configuration per process id. A forked worker must not use its parent's (it would write
# its @font-face files into the parent's folder while its sibling reads them), nor drop it (WeasyPrint's __del__
# would delete the parent's folder): entries are never removed.
_FONT_CONFIGS: dict[int, Any] = {}


def _drop_font_folder(config: Any) -> None:
    """WeasyPrint copies each @font-face file into a temporary folder that its __del__ removes, which never runs in
    a pool worker (it ends with os._exit): removed here, by a multiprocessing finalizer that runs in both."""
    folder = getattr(config, "_folder", None)
    if folder:
        shutil.rmtree(folder, ignore_errors=True)
        config._folder = None  # done: its __del__, when Python tears the modules down, has nothing left to do


def _font_config() -> Any:
    """This process's WeasyPrint font configuration: it loads each @font-face file once (+73 ms a document
    otherwise, NOTES-dependencies.md). Also puts _SizedArrayFFI in place, once per process."""
    config = _FONT_CONFIGS.get(os.getpid())
    if config is None:
        from multiprocessing.util import Finalize

        import weasyprint.pdf.fonts as pdf_fonts
        from weasyprint.text.fonts import FontConfiguration

        if hasattr(pdf_fonts, "ffi") and not isinstance(pdf_fonts.ffi, _SizedArrayFFI):
            pdf_fonts.ffi = _SizedArrayFFI(pdf_fonts.ffi)
        config = _FONT_CONFIGS[os.getpid()] = FontConfiguration()
        Finalize(None, _drop_font_folder, args=(config,), exitpriority=1)  # skipped in a forked child: pid check
    return config


def render_sheets(sheets: list[dict[str, Any]], fonts: dict[str, Any] | None = None) -> str:
    """One HTML document with one A4 page per certificate. `sheets`: dicts from `_sheet`; `fonts`: the batch's
    cut CJK faces (what fonts.batch_fonts yields), named by @font-face rules; None: the system faces."""
    return str(_template().render(sheets=sheets, fonts=fonts))


def render_html(cert: Certificate, code: str, thumb: Path | None, issued_on: str,
                fonts: dict[str, Any] | None = None) -> str:
    """The HTML of one certificate (one page)."""
    return render_sheets([_sheet(cert, code, thumb, issued_on)], fonts)


def _html_document(html: str) -> Any:
    from weasyprint import HTML

    return HTML(string=html, base_url=str(templates_dir())).render(font_config=_font_config())


def _write_pdf(document: Any, path: Path) -> None:
    """A killed run never leaves a half PDF under a final name (fsutil.atomic_path)."""
    with atomic_path(path) as tmp:
        document.write_pdf(tmp)


def _render_pdf(job: tuple[str, str]) -> str:
    """HTML -> PDF at `path` (temporary name, then renamed). Returns the path."""
    html, path = job
    _write_pdf(_html_document(html), Path(path))
    return path


@dataclass
class _Chunk:
    """One worker task: consecutive certificates rendered as one document."""

    items: list[tuple[Certificate, str, str, str]]  # (certificate, code, issued-on date, final PDF path)
    thumbs: str  # the thumbnail cache folder
    fonts: dict[str, Any]
    part: str | None  # where the whole document goes as a part of the combined file, or None
    previews: str | None = None  # validate's thumbnails folder (print-size previews made there), or None


def _print_chunk(job: _Chunk) -> list[str]:
    """Worker: thumbnails, one HTML document for the chunk (template compiled once per process), written once as a
    PDF; each recipient's PDF is cut from it (pdfsplit.py says why), then it is kept whole as a part of the
    combined file. Returns the PDF paths.

    The cyclic garbage collector is paused for the chunk: a laid-out document is ~100,000 live objects that the
    collector would walk again and again while it is being written (measured: 7% of the CPU time)."""
    from milsetctl.certificates.pdfsplit import split_pages

    paused = gc.isenabled()
    gc.disable()
    try:
        previews = Path(job.previews) if job.previews else None
        sheets = [_sheet(cert, code, thumbnail(Path(job.thumbs), cert, previews), day)
                  for cert, code, day, _ in job.items]
        document = _html_document(render_sheets(sheets, job.fonts))
        if len(document.pages) != len(job.items):  # a sheet overflowed onto a second page: never print that
            raise CertificateError(f"certificate layout: {len(job.items)} certificates made {len(document.pages)} "
                                   f"pages (a name or title too long for the page?)")
        document.metadata.title = "Certificates"
        whole = document.write_pdf()
        split_pages(whole, [(f"{cert.award} · {cert.name}", Path(path)) for cert, _, _, path in job.items])
        if job.part:
            with atomic_write(Path(job.part), "wb") as fh:
                fh.write(whole)
    finally:
        if paused:
            gc.enable()
    return [path for _, _, _, path in job.items]


# --- the combined print file
def _codes_digest(codes: list[str]) -> str:
    return hashlib.sha256(",".join(codes).encode("ascii")).hexdigest()[:16]


def _part_name(codes: list[str]) -> str:
    """A part's file name says which certificates it holds, in order: first code, count, digest of all codes."""
    return f"{codes[0]}-{len(codes)}-{_codes_digest(codes)}.pdf"


def _part_in(name: str, codes: list[str]) -> bool:
    """Whether the part file `name` holds a run of `codes` (so the combined file may use it)."""
    first, _, rest = name.removesuffix(".pdf").partition("-")
    count, _, dig = rest.partition("-")
    if not count.isdigit() or first not in codes:
        return False
    i = codes.index(first)
    return _codes_digest(codes[i:i + int(count)]) == dig


def _combine(issued: list[Issued], parts: Path, target: Path) -> tuple[int, int]:
    """Write `target`, every certificate of `issued` in order, from the parts (whole chunk documents: fonts once
    per chunk) where a part holds exactly the next certificates, else from the recipient's own PDF. Skipped when
    `target` already holds exactly these codes (its /MilsetctlCodes entry). Returns (parts used, single PDFs used).
    """
    from pypdf import PdfReader, PdfWriter

    codes = [i.code for i in issued]
    digest = _codes_digest(codes)
    if target.is_file():
        try:
            metadata = PdfReader(str(target)).metadata
            if metadata is not None and metadata.get("/MilsetctlCodes") == digest:
                return 0, 0
        except Exception:  # noqa: BLE001 - an unreadable old file is simply written again
            pass
    by_first: dict[str, list[tuple[int, str, Path]]] = {}
    for f in parts.glob("*.pdf") if parts.is_dir() else ():
        first, _, rest = f.stem.partition("-")
        count, _, dig = rest.partition("-")
        if count.isdigit():
            by_first.setdefault(first, []).append((int(count), dig, f))
    writer = PdfWriter()
    used_parts, singles, i = 0, 0, 0
    while i < len(issued):
        match = max(((n, f) for n, dig, f in by_first.get(codes[i], ())
                     if n <= len(codes) - i and dig == _codes_digest(codes[i:i + n])), default=None)
        if match is not None:
            writer.append(str(match[1]))
            used_parts += 1
            i += match[0]
        else:
            writer.append(str(issued[i].file))
            singles += 1
            i += 1
    writer.add_metadata({"/Title": f"{target.stem}: {len(issued)} certificates", "/MilsetctlCodes": digest})
    with atomic_write(target, "wb") as fh:
        writer.write(fh)
    return used_parts, singles
