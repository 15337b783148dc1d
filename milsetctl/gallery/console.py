"""Terminal summary of a built gallery (formats a Gallery; computes nothing)."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from milsetctl.gallery.build import Gallery


def render_gallery(console: Console, gallery: Gallery) -> None:
    table = Table(title=f"Virtual gallery ({gallery.stage} stage)", show_lines=False)
    for col in ("#", "page", "category", "rank", "award"):
        table.add_column(col)
    for i, p in enumerate(gallery.photos, 1):
        table.add_row(str(i), escape(p.page), escape(p.category or ""), str(p.rank or ""), escape(p.award))
    console.print(table)
    console.print(f"{len(gallery.photos)} photo page(s), images made {gallery.made}, reused {gallery.reused}: "
                  f"{escape(str(gallery.index))}", soft_wrap=True)
