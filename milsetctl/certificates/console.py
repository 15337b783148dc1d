"""Terminal output for certificates: a progress bar while the batch renders, a summary table after."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import tzinfo
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from milsetctl.certificates import Batch, format_code
from milsetctl.timefmt import shown_time


@contextmanager
def certificate_progress(console: Console, kind: str) -> Iterator[Callable[[int, int], None]]:
    """A rich progress bar on `console` (stderr); yields the `progress(done, total)` callback."""
    with Progress(TextColumn(f"{kind} certificates"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                  console=console, transient=True) as bar:
        task = bar.add_task("render", total=None)

        def update(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        yield update


def render_batch(console: Console, batch: Batch) -> None:
    table = Table(title=f"{batch.kind} certificates in {batch.folder}")
    for col in ("recipient", "entry", "code", "file"):
        table.add_column(col)
    for i in batch.issued:
        table.add_row(escape(i.recipient), i.entry_id or "",
                      format_code(i.code) + (f"\n[dim]replaces {format_code(i.replaces)}[/]" if i.replaces else ""),
                      escape(i.file.name) + (" (already printed)" if i.skipped else ""))
    console.print(table)
    if batch.combined:
        console.print(f"combined print file: {escape(str(batch.combined))}", soft_wrap=True)


def render_verify(console: Console, result: dict[str, Any], tz: tzinfo | None = None) -> None:
    """The verdict in a sentence; times in `tz` (the contest time zone), readable (JSON keeps ISO)."""
    if not result["valid"]:
        old = result.get("superseded")
        if old:
            console.print(f"[bold red]replaced, no longer valid:[/] this {old['kind']} certificate for "
                          f"{escape(old['recipient'])}" + (f" (entry {old['entry_id']})" if old["entry_id"] else "")
                          + f", issued {shown_time(old['issued_at'], tz)}, was replaced on "
                          f"{shown_time(old['at'], tz)} by {old['by']} "
                          f"({escape(old['reason'])})", soft_wrap=True)
        else:
            console.print("[bold red]not genuine:[/] no certificate was issued with this code")
        return
    what = f"{result['kind']} certificate" + (f" ({escape(result['award'])})" if result.get("award") else "")
    console.print(f"[bold green]genuine:[/] {what} for {escape(result['recipient'])}"
                  + (f", entry {result['entry_id']}" if result["entry_id"] else "")
                  + (f", photo {escape(repr(result['title']))}" if result.get("title") else "")
                  + f", issued {shown_time(result['issued_at'], tz)}", soft_wrap=True)
