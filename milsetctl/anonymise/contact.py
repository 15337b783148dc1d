"""The jurors' contact sheet: one self-contained HTML page and the same page as a printable A4 PDF.

Thumbnails are re-encoded from pixels (a JPEG with no metadata at all) and embedded as data URIs, so the page
makes no request and carries no metadata. Their pixels are the packaged photo's: validate's own preview of the
photo (the same pixels, upright: stripping never touches them), else the STRIPPED package photo decoded at
the smallest DCT scale that holds the thumbnail; never an original's bytes. Order: by category, then by anon
ID, which is random: nothing in the order follows the entry IDs, names or submission times. Titles and
descriptions are autoescaped by Jinja2 (shown as text, never run as HTML: SPEC "Never"); they are the entry's
blind view (blind.py): any contestant's name, school, ID or e-mail typed into them is replaced by "[removed]",
as on the score sheets.

The PDF of a large round is made in parts (issue 18): one WeasyPrint document per category, or per PART_CARDS
cards of one, rendered by a pool of worker processes and joined with pypdf; "page N of M" is then written on
every page (the parts cannot know their place). One document of 20,000 cards would take one core for over an
hour; parts keep the cost per card flat and use every core. A sheet of at most PART_CARDS cards stays one
document, as before.
"""

from __future__ import annotations

import base64
import io
import os
import shutil
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from milsetctl.anonymise.blind import BlindView
from milsetctl.fsutil import atomic_path, remove_stale_temps, write_bytes_atomic, write_text_atomic
from milsetctl.resources import templates_dir
from milsetctl.timefmt import contest_time

TEMPLATE = "contact-sheet.html"
HTML_NAME = "contact-sheet.html"
PDF_NAME = "contact-sheet.pdf"
THUMB_PX = 400  # long side; a card is ~60 mm wide on A4, 400 px prints at ~170 dpi
THUMB_QUALITY = 78
# cards per PDF part: ~30 pages, ~5 s of one core; the parts of a 20,000-entry round keep both cores busy
PART_CARDS = 300
PARTS_DIR = "contact-sheet-parts"  # under the workspace cache: parts rendered, not yet joined
# "page N of M" written on the joined PDF: where WeasyPrint's footer had it (7.5 pt, grey), in the bottom-right
# corner of the bottom margin (the template's @page margins: 12 mm 11 mm 14 mm); Helvetica, a PDF standard font
# (no file to embed), for the ASCII words and digits
PAGE_NUMBER_PT = 7.5
PAGE_NUMBER_RIGHT_MM = 11.0
PAGE_NUMBER_BASELINE_MM = 6.0
PAGE_NUMBER_GREY = (0.42, 0.447, 0.502)  # #6b7280, the footer's colour
_HELVETICA_WIDTHS = {**dict.fromkeys("0123456789aegop", 556), " ": 278, "f": 278}  # per 1000 em (the AFM)
CATEGORY_ORDER = {"middle": 0, "high": 1}
CATEGORY_TITLE = {"middle": "Middle school (grades 7–9)", "high": "High school (grades 10–12)"}


@lru_cache(maxsize=1)
def _template() -> Any:
    from jinja2 import Environment, FileSystemLoader, StrictUndefined

    folder = templates_dir()
    if not (folder / TEMPLATE).is_file():
        raise FileNotFoundError(f"contact sheet template not found: {folder / TEMPLATE}")
    env = Environment(loader=FileSystemLoader(str(folder)), autoescape=True, undefined=StrictUndefined,
                      trim_blocks=True, lstrip_blocks=True)
    return env.get_template(TEMPLATE)


def _thumb_jpeg(path: Path, preview: bool = False) -> bytes | None:
    """A JPEG of the picture at `path` shrunk to THUMB_PX, orientation applied, no metadata; None when it cannot
    be decoded. `preview`: validate's preview, already upright (no EXIF orientation applied again), and None when
    it is smaller than THUMB_PX (a photo smaller than the preview's 480 px: its own file is as cheap to read)."""
    from PIL import Image, ImageOps

    im: Image.Image  # the opened file, then the converted picture
    try:
        with Image.open(path) as im:
            longest = max(im.size)
            if preview and (longest < THUMB_PX or im.format != "JPEG"):
                return None
            # the smallest DCT scale whose both sides still hold the thumbnail (a square box asked twice too much)
            im.draft("RGB", (-(-im.width * THUMB_PX // longest), -(-im.height * THUMB_PX // longest)))
            if not preview:
                im = ImageOps.exif_transpose(im)
            im = im.convert("RGB")
            im.thumbnail((THUMB_PX, THUMB_PX), Image.Resampling.LANCZOS)
            im.info = {}  # nothing of the file's (Pillow would carry its comment over)
            buf = io.BytesIO()
            im.save(buf, "JPEG", quality=THUMB_QUALITY, optimize=True)
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError):
        return None
    return buf.getvalue()


def thumbnail(path: Path, cache: Path | None = None, sha256: str = "", preview: Path | None = None) -> str | None:
    """The data URI of a package photo shrunk to THUMB_PX, orientation applied, re-encoded as a JPEG with no
    metadata at all; None when it cannot be decoded. With `cache` and the packaged file's `sha256`, the JPEG is
    kept in `cache/<sha256>.jpg` (outside the package) so a re-run decodes only new photos. `preview`: validate's
    upright preview of the same photo (480 px, the original's pixels, which stripping keeps): shrunk instead of
    decoding the packaged photo (a 12 MP JPEG costs ~50 ms to decode even at 1/8 scale, the preview ~2 ms)."""
    cached = cache / f"{sha256}.jpg" if cache is not None and sha256 else None
    if cached is not None and cached.is_file():
        return "data:image/jpeg;base64," + base64.b64encode(cached.read_bytes()).decode("ascii")
    data = _thumb_jpeg(preview, preview=True) if preview is not None and preview.is_file() else None
    if data is None:
        data = _thumb_jpeg(path)
    if data is None:
        return None
    if cached is not None:
        cached.parent.mkdir(parents=True, exist_ok=True)
        write_bytes_atomic(cached, data)  # per-thread temporary name: two entries may share a photo
    return "data:image/jpeg;base64," + base64.b64encode(data).decode("ascii")


def _previews(ws: Any) -> dict[str, Path]:
    """entry_id -> validate's preview of its photo (`cache/thumbs/<sha256[:32]>.jpg`, probe.write_thumbnail), for
    the entries whose validated hash names one. The package photo was checked against that hash when packaged."""
    folder = Path(getattr(ws, "thumbs", Path(ws.root) / "cache" / "thumbs"))
    if not folder.is_dir():
        return {}
    return {str(e["entry_id"]): folder / f"{e['sha256'][:32]}.jpg" for e in ws.ledger.entries() if e["sha256"]}


def sheet_cards(ws: Any, entries: list[Any], root: Path) -> tuple[list[dict[str, Any]], list[str]]:
    """The cards in contact-sheet order, grouped by category: [{"title", "cards": [...], "count", "continued"}],
    and notes on redacted text. Each card is the entry's blind view (blind.py), as on the score sheets."""
    view = BlindView.of_ledger(ws.ledger)
    notes: list[str] = []
    ordered = sorted(entries, key=lambda e: (CATEGORY_ORDER.get(e.category or "", 9), e.category or "", e.anon_id))
    cache = Path(ws.root) / "cache" / "jury-thumbs"
    remove_stale_temps(cache)  # a killed run's (anonymise holds the workspace lock: no live writer's)
    previews = _previews(ws)
    with ThreadPoolExecutor(max_workers=min(4, os.cpu_count() or 1)) as pool:  # Pillow decodes without the GIL
        thumbs = list(pool.map(lambda e: thumbnail(root / e.file, cache, getattr(e, "sha256", ""),
                                                   previews.get(e.entry_id)), ordered))
    groups: list[dict[str, Any]] = []
    for e, thumb in zip(ordered, thumbs, strict=True):
        blind = view.of(e.anon_id, e.category, e.title, e.description)
        note = blind.note(e.entry_id)
        if note:
            notes.append(note)
        card = {"anon_id": blind.anon_id, "title": blind.title, "description": blind.description,
                "category": blind.category or "none", "src": thumb}
        label = CATEGORY_TITLE.get(e.category or "", f"Category: {e.category}" if e.category else "No category")
        if not groups or groups[-1]["title"] != label:
            groups.append({"title": label, "cards": [], "count": 0, "continued": False})
        groups[-1]["cards"].append(card)
        groups[-1]["count"] += 1
    return groups, notes


def render_html(ws: Any, groups: list[dict[str, Any]], count: int, header: bool = True,
                page_numbers: bool = True) -> str:
    """The page. `header`: the title block (only the first part of a PDF in parts has it); `page_numbers`: the
    footer's "page N of M" (a part's are written after the join)."""
    return _template().render(
        contest=ws.settings.name, stage=ws.settings.stage, round_id=ws.ledger.round_id(), groups=groups,
        count=count, generated=contest_time(datetime.now(UTC), ws.settings.tz),  # as every output says a time
        header=header, page_numbers=page_numbers,
    )


def pdf_parts(groups: list[dict[str, Any]], limit: int = PART_CARDS) -> list[list[dict[str, Any]]]:
    """The groups of each PDF part: all of them when they hold at most `limit` cards in all (one document, as
    before), else one category per part, cut every `limit` cards (a cut category's later parts say "continued")."""
    if sum(len(g["cards"]) for g in groups) <= limit:
        return [groups]
    parts = []
    for group in groups:
        cards = group["cards"]
        for lo in range(0, len(cards), limit):
            parts.append([{**group, "cards": cards[lo:lo + limit], "continued": lo > 0}])
    return parts


def render_part(job: tuple[str, str, str]) -> int:
    """Render one part's HTML `job` = (html, base_url, out) to the PDF `out`; returns its page count. Runs in a
    pool worker."""
    import gc

    from weasyprint import HTML

    html, base_url, out = job
    # a laid-out part is ~100,000 live objects that the collector would walk again and again: -8% CPU without
    # it (as the certificates' chunks); what the part leaves in cycles is collected once, after
    gc.disable()
    try:
        document = HTML(string=html, base_url=base_url).render()
        with atomic_path(Path(out)) as tmp:
            document.write_pdf(tmp)
        pages = len(document.pages)
    finally:
        gc.enable()
    del document
    gc.collect()
    return pages


def render_parts(jobs: list[tuple[str, str, str]], workers: int | None = None) -> list[int]:
    """Every part rendered (in order of `jobs`); their page counts. A pool of spawned workers, one per core (a
    worker costs ~1.5 s to start: WeasyPrint and the system fonts; a part ~5 s), ending with their parent; in this
    process when there is one part or one worker."""
    from milsetctl.workers import pool as worker_pool
    from milsetctl.workers import usable_cores

    n = min(usable_cores() if workers is None else workers, len(jobs))
    if n <= 1:
        return [render_part(job) for job in jobs]
    pool = worker_pool(n)
    try:
        pages = list(pool.map(render_part, jobs))
    except BaseException:
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown(wait=True)
    return pages


def number_pages(writer: Any) -> None:
    """Write "page N of M" in the bottom-right corner of every page of the pypdf `writer` (a joined sheet: each
    part numbered its own pages). The page's own drawing is wrapped in q/Q first: WeasyPrint leaves its
    coordinate flip in force."""
    from pypdf.generic import ArrayObject, DecodedStreamObject, DictionaryObject, NameObject

    font = DictionaryObject({NameObject("/Type"): NameObject("/Font"), NameObject("/Subtype"): NameObject("/Type1"),
                             NameObject("/BaseFont"): NameObject("/Helvetica"),
                             NameObject("/Encoding"): NameObject("/WinAnsiEncoding")})
    name = NameObject("/MilsetPageNo")

    def stream(data: bytes) -> Any:
        obj = DecodedStreamObject()
        obj.set_data(data)
        return writer._add_object(obj)  # a content stream must be an indirect object (pypdf has no public call)

    save = stream(b"q\n")
    total = len(writer.pages)
    mm = 72 / 25.4
    r, g, b = PAGE_NUMBER_GREY
    for number, page in enumerate(writer.pages, 1):
        text = f"page {number} of {total}"
        width = sum(_HELVETICA_WIDTHS[c] for c in text) * PAGE_NUMBER_PT / 1000
        box = page.mediabox
        x = float(box.right) - PAGE_NUMBER_RIGHT_MM * mm - width
        y = float(box.bottom) + PAGE_NUMBER_BASELINE_MM * mm
        resources = page.setdefault(NameObject("/Resources"), DictionaryObject()).get_object()
        fonts = resources.setdefault(NameObject("/Font"), DictionaryObject()).get_object()
        fonts[name] = font
        old = page.get("/Contents")
        contents = ArrayObject([save])
        if old is not None:
            old_obj = old.get_object()
            contents.extend(old_obj if isinstance(old_obj, ArrayObject) else [old])
        contents.append(stream(f"Q q {r} {g} {b} rg BT {name} {PAGE_NUMBER_PT} Tf {x:.2f} {y:.2f} Td ({text}) Tj ET Q\n"
                               .encode("ascii")))
        page[NameObject("/Contents")] = contents


def join_parts(parts: list[Path], target: Path, title: str) -> int:
    """The parts as one PDF at `target` (temporary name, then rename), numbered "page N of M", their bookmarks
    kept; returns the page count."""
    from pypdf import PdfWriter

    writer = PdfWriter()
    for part in parts:
        writer.append(str(part))
    number_pages(writer)
    writer.add_metadata({"/Title": title, "/Producer": "milsetctl"})
    with atomic_path(target) as tmp:
        writer.write(str(tmp))
    return len(writer.pages)


def write_contact_sheet(ws: Any, entries: list[Any], root: Path, notes: list[str] | None = None,
                        part_cards: int | None = None, workers: int | None = None) -> tuple[Path, Path]:
    """Write `contact-sheet.html` and `contact-sheet.pdf` into the package folder `root` (temporary name, then
    rename); returns their paths. `entries`: PackagedEntry-like objects (entry_id, anon_id, file, category,
    title, description). The PDF is made in parts of at most `part_cards` cards (default PART_CARDS; module
    docstring), by `workers` processes (default: one per core)."""
    groups, redactions = sheet_cards(ws, entries, root)
    if notes is not None:
        notes.extend(redactions)
    html_path = root / HTML_NAME
    pdf_path = root / PDF_NAME
    html = render_html(ws, groups, len(entries))
    write_text_atomic(html_path, html)
    parts = pdf_parts(groups, PART_CARDS if part_cards is None else part_cards)
    if len(parts) == 1:  # one document, numbered by WeasyPrint
        render_part((html, str(root), str(pdf_path)))
        return html_path, pdf_path
    folder = Path(ws.root) / "cache" / PARTS_DIR
    shutil.rmtree(folder, ignore_errors=True)  # a killed run's parts (the workspace lock is held)
    folder.mkdir(parents=True, exist_ok=True)
    files = [folder / f"part-{i:04d}.pdf" for i in range(len(parts))]
    render_parts([(render_html(ws, part, len(entries), header=i == 0, page_numbers=False), str(root), str(file))
                  for i, (part, file) in enumerate(zip(parts, files, strict=True))], workers)
    join_parts(files, pdf_path, f"Jury contact sheet · {ws.settings.name}")
    shutil.rmtree(folder, ignore_errors=True)
    return html_path, pdf_path
