"""Terminal output for the gallery: a progress bar while the images are made, a summary after (computes nothing)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from milsetctl.gallery.build import Gallery


@contextmanager
def gallery_progress(console: Console) -> Iterator[Callable[[int, int], None]]:
    """A rich progress bar on `console` (stderr) while the photos are made (7,000 take minutes); yields the
    `progress(done, total)` callback."""
    with Progress(TextColumn("Gallery photos"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                  console=console, transient=True) as bar:
        task = bar.add_task("images", total=None)

        def update(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        yield update


def render_gallery(console: Console, gallery: Gallery) -> None:
    table = Table(title=f"Virtual gallery ({gallery.stage} stage)", show_lines=False)
    per_category = gallery.stage != "global"  # the global stage ranks overall
    columns = ("#", "entry", "page", "category", "rank", "award") if per_category else (
        "#", "entry", "page", "rank", "award")
    for col in columns:
        table.add_column(col, justify="right" if col in ("#", "rank") else "left")
    for i, p in enumerate(gallery.photos, 1):
        cells = [str(i), escape(p.entry_id), escape(p.page)] + ([escape(p.category or "")] if per_category else [])
        table.add_row(*cells, str(p.rank or ""), escape(p.award))
    console.print(table)
    console.print(f"{len(gallery.photos)} photo page(s), images made {gallery.made}, reused {gallery.reused}: "
                  f"{escape(str(gallery.index))}", soft_wrap=True)
    if gallery.no_consent:  # the contest report lists them too, with their award
        console.print(f"left out, no consent to publication (manifest column publication_consent): "
                      f"{escape(', '.join(gallery.no_consent))}", soft_wrap=True)
