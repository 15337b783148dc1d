"""Terminal rendering for `originals request` and `originals check` (milsetctl/originals.py); never computes."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.console import Console
from rich.markup import escape
from rich.table import Table

if TYPE_CHECKING:
    from milsetctl.originals import CheckResult, Request

_STYLE = {"original-match": "green", "original-edited": "bold red", "original-missing": "yellow"}


def render_request(console: Console, result: Request) -> None:
    from milsetctl.originals import send_text

    table = Table(title=f"Originals to ask for: {len(result.candidates)} finalists", title_justify="left")
    for column in ("entry", "title", "category", "why", "send"):
        table.add_column(column, overflow="fold")
    for c in result.candidates:
        table.add_row(c.entry_id, escape(c.title), escape(c.category), escape(c.reason), escape(send_text(c)))
    console.print(table)
    if result.out is not None:
        console.print(f"Mail-merge file: {escape(str(result.out))}")


def render_check(console: Console, result: CheckResult) -> None:
    table = Table(title=f"Originals in {escape(str(result.folder))}", title_justify="left")
    for column in ("entry", "verdict", "file", "regions (x, y, w, h)", "why"):
        table.add_column(column, overflow="fold")
    for r in result.results:
        style = _STYLE.get(r.verdict, "")
        table.add_row(r.entry_id, f"[{style}]{r.verdict}[/]", escape(r.file or "—"),
                      escape("; ".join(str(tuple(b)) for b in r.regions)), escape(r.reason))
    console.print(table)
    counts = {v: sum(1 for r in result.results if r.verdict == v) for v in _STYLE}
    console.print(", ".join(f"{n} {v}" for v, n in counts.items()))
    if result.unmatched:
        console.print(f"[yellow]Files naming no finalist:[/] {escape(', '.join(result.unmatched))}")
    if result.html is not None:
        console.print(f"Side by side, boxes drawn: {escape(str(result.html))}")
