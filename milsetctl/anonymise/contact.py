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
cards of one, rendered by a pool of worker processes and joined part by part (pdfjoin.py); "page N of M" is then
written on every page (the parts cannot know their place). One document of 20,000 cards would take one core for
over an hour; parts keep the cost per card flat and use every core. A sheet of at most PART_CARDS cards stays one
document, as before.

Memory stays flat in the number of cards (issue 18: 955 MB summed RSS at 2,000 entries before): the thumbnails
stay in their cache files until the page is written (`Thumb`), the HTML page is written as Jinja2 renders it,
each part's HTML goes to the workers as a file, and the join holds one part at a time.
"""

from __future__ import annotations

import base64
import io
import os
import shutil
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from milsetctl.anonymise.blind import BlindView
from milsetctl.fsutil import atomic_path, atomic_write, remove_stale_temps, write_bytes_atomic
from milsetctl.resources import templates_dir
from milsetctl.timefmt import contest_time

TEMPLATE = "contact-sheet.html"
HTML_NAME = "contact-sheet.html"
PDF_NAME = "contact-sheet.pdf"
THUMB_PX = 400  # long side; a card is ~60 mm wide on A4, 400 px prints at ~170 dpi
THUMB_QUALITY = 78
# cards per PDF part: ~30 pages, ~5 s of one core; the parts of a 20,000-entry round keep both cores busy
PART_CARDS = 300
PARTS_DIR = "contact-sheet-parts"  # under the workspace cache: parts' HTML and PDFs, not yet joined
# a rendering worker's collector runs after this many new objects instead of 700: a laid-out part is ~100,000
# live objects that the default thresholds walk again and again (-8% CPU with the collector off, as the
# certificates' chunks), and with it off a part's cycles piled up to ~40 MB more per worker (265 against 233 MB
# at 300 cards): a rare collection costs neither (measured, issue 18)
GC_THRESHOLD = 50_000
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


class Thumb:
    """A card's picture as the page's data URI (`str()`, or Jinja2's `__html__`: already safe), read from the
    thumbnail cache only when the page is written (issue 18: the cards of 2,000 entries held ~50 MB of data URIs,
    and the page and its parts as many again). `data`: the JPEG itself, when it could not be cached."""

    __slots__ = ("path", "data")

    def __init__(self, path: Path | None = None, data: bytes | None = None) -> None:
        self.path = path
        self.data = data

    def jpeg(self) -> bytes:
        if self.data is not None:
            return self.data
        assert self.path is not None
        return self.path.read_bytes()

    def __str__(self) -> str:
        return "data:image/jpeg;base64," + base64.b64encode(self.jpeg()).decode("ascii")

    __html__ = __str__

    def __getstate__(self) -> tuple[Path | None, bytes | None]:  # __slots__ and no __dict__: pickled by hand
        return self.path, self.data

    def __setstate__(self, state: tuple[Path | None, bytes | None]) -> None:
        self.path, self.data = state


def thumbnail(path: Path, cache: Path | None = None, sha256: str = "", preview: Path | None = None) -> Thumb | None:
    """A package photo shrunk to THUMB_PX, orientation applied, re-encoded as a JPEG with no metadata at all (its
    data URI is `str()` of the result); None when it cannot be decoded. With `cache` and the packaged file's
    `sha256`, the JPEG is kept in `cache/<sha256>.jpg` (outside the package) so a re-run decodes only new photos,
    and the result only names that file. `preview`: validate's upright preview of the same photo (480 px, the
    original's pixels, which stripping keeps): shrunk instead of decoding the packaged photo (a 12 MP JPEG costs
    ~50 ms to decode even at 1/8 scale, the preview ~2 ms)."""
    cached = cache / f"{sha256}.jpg" if cache is not None and sha256 else None
    if cached is not None and cached.is_file():
        return Thumb(cached)
    data = _thumb_jpeg(preview, preview=True) if preview is not None and preview.is_file() else None
    if data is None:
        data = _thumb_jpeg(path)
    if data is None:
        return None
    if cached is None:
        return Thumb(data=data)
    cached.parent.mkdir(parents=True, exist_ok=True)
    write_bytes_atomic(cached, data)  # per-thread temporary name: two entries may share a photo
    return Thumb(cached)


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


def write_html(path: Path, ws: Any, groups: list[dict[str, Any]], count: int, header: bool = True,
               page_numbers: bool = True) -> None:
    """The page written to `path` (temporary name, then rename) as Jinja2 renders it: the page of 2,000 cards is
    ~50 MB of data URIs (a part's ~7 MB), each read from the thumbnail cache as its card is written, never all in
    memory at once. `header`: the title block (only the first part of a PDF in parts has it); `page_numbers`: the
    footer's "page N of M" (a part's are written after the join)."""
    with atomic_write(path, "w", newline="") as fh:
        for chunk in _template().generate(
                contest=ws.settings.name, stage=ws.settings.stage, round_id=ws.ledger.round_id(), groups=groups,
                count=count, generated=contest_time(datetime.now(UTC), ws.settings.tz), header=header,
                page_numbers=page_numbers):
            fh.write(chunk)


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
    """Render one part `job` = (HTML file, base_url, out) to the PDF `out`; returns its page count. Runs in a
    pool worker (or in this process for a sheet of one part)."""
    import gc

    from weasyprint import HTML

    from milsetctl.workers import trim_heap

    html_file, base_url, out = job
    thresholds = gc.get_threshold()
    gc.set_threshold(GC_THRESHOLD, *thresholds[1:])
    try:
        document = HTML(string=Path(html_file).read_text(encoding="utf-8"), base_url=base_url).render()
        with atomic_path(Path(out)) as tmp:
            document.write_pdf(tmp)
        pages = len(document.pages)
    finally:
        gc.set_threshold(*thresholds)
    del document
    gc.collect()
    trim_heap()  # the freed layout back to the system before the next part
    return pages


def render_parts(jobs: Iterable[tuple[str, str, str]], count: int, workers: int | None = None) -> int:
    """Render every part of `jobs` (`count` of them; each job's HTML file is written when the job is taken, so
    that only a few wait on the disk); their pages in all. A pool of spawned workers, one per core (a worker costs
    ~1.5 s to start: WeasyPrint and the system fonts; a part ~5 s), ending with their parent; in this process when
    there is one part or one worker."""
    from milsetctl.workers import run_all, usable_cores

    n = min(usable_cores() if workers is None else workers, count)
    return sum(run_all(render_part, jobs, n, in_flight=2))


def join_parts(parts: list[Path], target: Path, title: str) -> int:
    """The parts as one PDF at `target` (temporary name, then rename), numbered "page N of M", their bookmarks
    kept, one part in memory at a time (pdfjoin.py); returns the page count."""
    from milsetctl.anonymise.pdfjoin import join_pdfs

    return join_pdfs(parts, target, title)


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
    write_html(html_path, ws, groups, len(entries))
    parts = pdf_parts(groups, PART_CARDS if part_cards is None else part_cards)
    if len(parts) == 1:  # one document, numbered by WeasyPrint
        render_part((str(html_path), str(root), str(pdf_path)))
        return html_path, pdf_path
    from milsetctl.workers import trim_heap

    trim_heap()  # the package copies' buffers (~8 photos in flight) back to the system before the workers start
    folder = Path(ws.root) / "cache" / PARTS_DIR
    shutil.rmtree(folder, ignore_errors=True)  # a killed run's parts (the workspace lock is held)
    folder.mkdir(parents=True, exist_ok=True)
    files = [folder / f"part-{i:04d}.pdf" for i in range(len(parts))]

    def jobs() -> Iterator[tuple[str, str, str]]:
        for i, (part, file) in enumerate(zip(parts, files, strict=True)):
            page = file.with_suffix(".html")
            write_html(page, ws, part, len(entries), header=i == 0, page_numbers=False)
            yield str(page), str(root), str(file)

    render_parts(jobs(), len(parts), workers)
    join_parts(files, pdf_path, f"Jury contact sheet · {ws.settings.name}")
    shutil.rmtree(folder, ignore_errors=True)
    return html_path, pdf_path
