"""Terminal output for certificates: a progress bar while the batch renders, a summary table after."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import tzinfo
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from milsetctl.certificates import Batch, format_code
from milsetctl.timefmt import contest_time


@contextmanager
def certificate_progress(console: Console, kind: str) -> Iterator[Callable[[int, int], None]]:
    """A rich progress bar on `console` (stderr); yields the `progress(done, total)` callback."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn  # not for verify

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
    """The verdict in a sentence, saying only what the code signs (the issue day as printed on the certificate;
    a replacement's time in `tz`, the contest time zone, readable; JSON keeps ISO)."""
    if not result["valid"]:
        old = result.get("superseded")
        if old:
            issued = f", issued {old['issued_at']}" if old.get("issued_at") else ""
            console.print(f"[bold red]replaced, no longer valid:[/] this {old['kind']} certificate for "
                          f"{escape(old['recipient'])}" + (f" (entry {old['entry_id']})" if old["entry_id"] else "")
                          + f"{issued}, was replaced on {contest_time(old['at'], tz)} by {old['by']} "
                          f"({escape(old['reason'])})", soft_wrap=True)
        elif result.get("revoked"):
            gone = result["revoked"]
            console.print(f"[bold red]revoked, no longer valid:[/] this {gone['kind']} certificate for "
                          f"{escape(str(gone['recipient']))}" + (f" (entry {gone['entry_id']})" if gone["entry_id"]
                                                                 else "")
                          + f" was genuinely issued, but {escape(gone['reason'])}", soft_wrap=True)
        elif result.get("problem"):
            console.print(f"[bold red]not genuine:[/] {escape(result['problem'])}", soft_wrap=True)
        else:
            console.print("[bold red]not genuine:[/] no certificate was issued with this code")
        return
    what = f"{result['kind']} certificate" + (f" ({escape(result['award'])})" if result.get("award") else "")
    console.print(f"[bold green]genuine:[/] {what} for {escape(result['recipient'])}"
                  + (f", entry {result['entry_id']}" if result["entry_id"] else "")
                  + (f", photo {escape(repr(result['title']))}" if result.get("title") else "")
                  + (f", contest year {escape(result['year'])}" if result.get("year") else "")
                  + (f", issued {result['issued_at']}" if result.get("issued_at") else ""), soft_wrap=True)
    if result.get("unsigned"):
        words = " and the ".join("issue day" if w == "issued_at" else w for w in result["unsigned"])
        console.print(f"  printed before codes signed the {words}: not signed, so not shown; compare the paper with "
                      "`milsetctl audit --kind certificate-issue`", soft_wrap=True)
