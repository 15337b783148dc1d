"""The jurors' contact sheet: one self-contained HTML page and the same page as a printable A4 PDF.

Thumbnails are made from the STRIPPED package photos (never the originals) and embedded as data URIs, so the
page makes no request and carries no metadata. Order: by category, then by anon ID, which is random: nothing in
the order follows the entry IDs, names or submission times. Titles and descriptions are autoescaped by Jinja2
(shown as text, never run as HTML: SPEC "Never"); they are the entry's blind view (blind.py): any contestant's
name, school, ID or e-mail typed into them is replaced by "[removed]", as on the score sheets.
"""

from __future__ import annotations

import base64
import io
import os
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


def thumbnail(path: Path, cache: Path | None = None, sha256: str = "") -> str | None:
    """The data URI of a package photo shrunk to THUMB_PX, orientation applied, re-encoded as a JPEG with no
    metadata at all; None when it cannot be decoded. With `cache` and the packaged file's `sha256`, the JPEG is
    kept in `cache/<sha256>.jpg` (outside the package) so a re-run decodes only new photos."""
    from PIL import Image, ImageOps

    cached = cache / f"{sha256}.jpg" if cache is not None and sha256 else None
    if cached is not None and cached.is_file():
        return "data:image/jpeg;base64," + base64.b64encode(cached.read_bytes()).decode("ascii")
    im: Image.Image  # the opened file, then the converted picture
    try:
        with Image.open(path) as im:
            im.draft("RGB", (THUMB_PX * 2, THUMB_PX * 2))
            im = ImageOps.exif_transpose(im)
            im = im.convert("RGB")
            im.thumbnail((THUMB_PX, THUMB_PX), Image.Resampling.LANCZOS)
            buf = io.BytesIO()
            im.save(buf, "JPEG", quality=THUMB_QUALITY, optimize=True)
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError):
        return None
    if cached is not None:
        cached.parent.mkdir(parents=True, exist_ok=True)
        write_bytes_atomic(cached, buf.getvalue())  # per-thread temporary name: two entries may share a photo
    return "data:image/jpeg;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def sheet_cards(ws: Any, entries: list[Any], root: Path) -> tuple[list[dict[str, Any]], list[str]]:
    """The cards in contact-sheet order, grouped by category: [{"title", "cards": [...]}], and notes on
    redacted text. Each card is the entry's blind view (blind.py), as on the score sheets."""
    view = BlindView.of_ledger(ws.ledger)
    notes: list[str] = []
    ordered = sorted(entries, key=lambda e: (CATEGORY_ORDER.get(e.category or "", 9), e.category or "", e.anon_id))
    cache = Path(ws.root) / "cache" / "jury-thumbs"
    remove_stale_temps(cache)  # a killed run's (anonymise holds the workspace lock: no live writer's)
    with ThreadPoolExecutor(max_workers=min(4, os.cpu_count() or 1)) as pool:  # Pillow decodes without the GIL
        thumbs = list(pool.map(lambda e: thumbnail(root / e.file, cache, getattr(e, "sha256", "")), ordered))
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
            groups.append({"title": label, "cards": []})
        groups[-1]["cards"].append(card)
    return groups, notes


def render_html(ws: Any, groups: list[dict[str, Any]], count: int) -> str:
    return _template().render(
        contest=ws.settings.name, stage=ws.settings.stage, round_id=ws.ledger.round_id(), groups=groups,
        count=count, generated=contest_time(datetime.now(UTC), ws.settings.tz),  # as every output says a time
    )


def write_contact_sheet(ws: Any, entries: list[Any], root: Path, notes: list[str] | None = None) -> tuple[Path, Path]:
    """Write `contact-sheet.html` and `contact-sheet.pdf` into the package folder `root` (temporary name, then
    rename); returns their paths. `entries`: PackagedEntry-like objects (entry_id, anon_id, file, category,
    title, description)."""
    from weasyprint import HTML

    groups, redactions = sheet_cards(ws, entries, root)
    if notes is not None:
        notes.extend(redactions)
    html = render_html(ws, groups, len(entries))
    html_path = root / HTML_NAME
    pdf_path = root / PDF_NAME
    write_text_atomic(html_path, html)
    with atomic_path(pdf_path) as tmp:
        HTML(string=html, base_url=str(root)).write_pdf(tmp)
    return html_path, pdf_path
