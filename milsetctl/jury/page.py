"""A juror's offline scoring page: `jury sheets --html` writes `<sheet name>.html` beside each juror's XLSX.

One self-contained HTML file (templates/jury-page.html): the juror's entries in their sheet's order, each photo at
screen size embedded as a data: URI (sheets_photos.SCREEN_PX), the rubric, and a script that scores from the
keyboard and keeps the work in the browser's localStorage under the round's token and the juror's ID, so closing
the page loses nothing. It needs no server and no network (a Content-Security-Policy forbids every request), so it
works opened from a USB stick. Its Export button saves a CSV that `milsetctl score` reads as it reads the XLSX:
the file is named like the sheet (`J01 Name.csv`: `score` takes the juror from the leading juror ID, as for any
per-juror CSV), and its columns are the sheet's `anon_id, <criteria...>, comment`, then `juror_id` and `round_id`
(reference columns `score` reads past) so the chair can see whose and which round's it is. `page_csv` is the same
export in Python (the demo plays a juror with it; a test checks the browser's bytes against it).

Titles and descriptions are the blind view the XLSX shows; the page puts them into the document as text only
(textContent), never as HTML (SPEC "Never").
"""

from __future__ import annotations

import base64
import csv
import io
from collections.abc import Callable, Iterable, Mapping, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

from milsetctl.fsutil import write_text_atomic
from milsetctl.jury.assign import JuryEntry
from milsetctl.jury.sheets import CRITERIA_MEANING, SheetMeta
from milsetctl.jury.sheets_photos import Picture
from milsetctl.jury.sheets_rubric import Band, criterion_label, weight_text, weights_sentence
from milsetctl.resources import templates_dir

TEMPLATE = "jury-page.html"
PAGE_VERSION = 1  # the stored progress's format (localStorage), and the page's
EXTRA_COLUMNS = ("juror_id", "round_id")


def page_name(sheet_name: str) -> str:
    """'J01 Wang Fang.xlsx' -> 'J01 Wang Fang.html'."""
    return Path(sheet_name).with_suffix(".html").name


def csv_name(sheet_name: str) -> str:
    """The name Export saves under: 'J01 Wang Fang.csv' (score finds the juror by the leading ID)."""
    return Path(sheet_name).with_suffix(".csv").name


def storage_key(round_id: str, juror_id: str) -> str:
    """The page's localStorage key: one per round and juror (all file:// pages of a browser share one storage)."""
    return f"milsetctl-jury:{round_id}:{juror_id}"


def csv_header(criteria: Sequence[str]) -> list[str]:
    return ["anon_id", *criteria, "comment", *EXTRA_COLUMNS]


def page_csv(criteria: Sequence[str], rows: Iterable[tuple[str, Mapping[str, int | None], str | None]],
             juror_id: str, round_id: str) -> bytes:
    """The bytes the page's Export saves: UTF-8 with a BOM (Excel opens it with Chinese comments intact), CRLF
    line ends, fields quoted only when they hold a comma, a quote or a line break. rows: (anon_id, criterion ->
    score or None, comment or None) in the sheet's order."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(csv_header(criteria))
    for anon_id, scores, comment in rows:
        values = ["" if scores.get(c) is None else str(scores[c]) for c in criteria]
        writer.writerow([anon_id, *values, comment or "", juror_id, round_id])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


@lru_cache(maxsize=1)
def _template() -> Any:
    from jinja2 import Environment, FileSystemLoader, StrictUndefined

    env = Environment(loader=FileSystemLoader(str(templates_dir())), autoescape=True, undefined=StrictUndefined,
                      trim_blocks=True, lstrip_blocks=True)
    return env.get_template(TEMPLATE)


def _score(value: Any, low: int, high: int) -> int | None:
    """A returned score as the page can show it (a whole number in range), else None: the page starts blank there
    and `score` keeps what the ledger holds until the juror's export replaces it."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return int(number) if number.is_integer() and low <= number <= high else None


def page_data(meta: SheetMeta, entries: Sequence[JuryEntry], filled: Mapping[str, tuple[dict[str, Any], str | None]],
              bands: Mapping[str, Sequence[Band]], weights: Mapping[str, float],
              photos: Callable[[str], Picture | None] | None, export_name: str) -> dict[str, Any]:
    """What the page's script reads (one JSON object in the page)."""
    lo, hi = meta.score_min, meta.score_max
    items = []
    for entry in entries:
        picture = photos(entry.anon_id) if photos is not None else None
        given, comment = filled.get(entry.anon_id, ({}, None))
        scores = {c: _score(given.get(c), lo, hi) for c in meta.criteria}
        items.append({
            "anon_id": entry.anon_id, "category": entry.category or "", "title": entry.title or "",
            "description": entry.description or "",
            "photo": ("data:image/jpeg;base64," + base64.b64encode(picture.data).decode("ascii")) if picture else "",
            "scores": {c: v for c, v in scores.items() if v is not None}, "comment": comment or "",
        })
    return {
        "version": PAGE_VERSION, "contest": meta.contest, "round_id": meta.round_id, "juror_id": meta.juror_id,
        "juror": meta.juror, "criteria": list(meta.criteria), "score_min": lo, "score_max": hi,
        "storage_key": storage_key(meta.round_id, meta.juror_id), "csv_name": export_name,
        "columns": csv_header(meta.criteria), "entries": items,
    }


def write_page(path: Path, meta: SheetMeta, entries: Sequence[JuryEntry],
               filled: Mapping[str, tuple[dict[str, Any], str | None]] | None, *, bands: Mapping[str, Sequence[Band]],
               weights: Mapping[str, float], photos: Callable[[str], Picture | None] | None,
               export_name: str) -> Path:
    """Write one juror's scoring page to `path` (whole or not at all). `filled`: the scores `score` already stored
    for this juror, shown as the page's starting point (what the juror typed in this browser wins)."""
    criteria = [{
        "id": c, "label": criterion_label(c), "meaning": CRITERIA_MEANING.get(c, "").split(" — ", 1)[-1],
        "weight": weight_text(weights.get(c, 1.0)),
        "bands": [{"span": b.span, "text": b.text} for b in bands.get(c, ())],
    } for c in meta.criteria]
    spans = [b.span for b in next(iter(bands.values()), [])]
    html = _template().render(
        meta=meta, criteria=criteria, count=len(entries), bands=spans,
        weights_line=weights_sentence({"criteria": meta.criteria,
                                       "weights": [weights.get(c, 1.0) for c in meta.criteria]}),
        export_name=export_name, return_to=meta.return_to or "the jury chair",
        data=page_data(meta, entries, filled or {}, bands, weights, photos, export_name),
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    return write_text_atomic(path, html)
