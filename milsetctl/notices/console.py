"""Terminal output for notices: progress bars while the letters are drawn and the messages sent, a summary after."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from milsetctl.mail import SendReport
from milsetctl.notices import NoticeBatch


@contextmanager
def notice_progress(console: Console) -> Iterator[Callable[[int, int], None]]:
    """A progress bar on `console` (stderr) while the notices are drawn; yields `progress(done, total)`."""
    with Progress(TextColumn("result notices"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                  console=console, transient=True) as bar:
        task = bar.add_task("draw", total=None)

        def update(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        yield update


@contextmanager
def send_progress(console: Console) -> Iterator[Callable[[int, int, str], None]]:
    """A progress bar while the messages go out (the rate limit spaces them); yields `progress(done, total,
    label)`, the label being whom the last message went to."""
    with Progress(TextColumn("sending"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                  TextColumn("{task.description}"), console=console, transient=True) as bar:
        task = bar.add_task("", total=None)

        def update(done: int, total: int, label: str) -> None:
            bar.update(task, completed=done, total=total, description=escape(label))

        yield update


def render_notices(console: Console, batch: NoticeBatch) -> None:
    table = Table(title=f"result notices in {batch.folder} ({', '.join(batch.languages)})")
    for col in ("contestant", "entry", "result", "notice", "e-mail"):
        table.add_column(col)
    for n in batch.notices:
        result = n.award or n.status
        table.add_row(escape(n.contestant_id or "-"), n.entry_id, result, escape(n.file.name) if n.file else "",
                      escape(n.eml.name) if n.eml else ("[dim]no address[/]" if not n.email else ""))
    console.print(table)
    counts = Counter(n.award or n.status for n in batch.notices)
    console.print(f"{len(batch.notices)} notices ({', '.join(f'{v} {k}' for k, v in sorted(counts.items()))}); "
                  f"{batch.drawn} drawn now, {len(batch.notices) - batch.drawn} unchanged", soft_wrap=True)
    if batch.mail_merge:
        console.print(f"mail-merge table: {escape(str(batch.mail_merge))} (and .csv)", soft_wrap=True)


def render_sent(console: Console, report: SendReport) -> None:
    if report.dry_run:
        console.print(f"dry run: {len(report.would_send)} message(s) would be sent"
                      + (f": {escape(', '.join(report.would_send[:12]))}" + (" ..." if len(report.would_send) > 12
                                                                              else "") if report.would_send else "")
                      + f"; {len(report.already)} already sent; nothing was sent", soft_wrap=True)
    else:
        console.print(f"sent {len(report.sent)} message(s); {len(report.already)} sent before (not again)",
                      soft_wrap=True)
    if report.changed:
        console.print(f"[yellow]changed since sent:[/] {escape(', '.join(report.changed))}: their notices say "
                      "something else now; `--send --resend ID` sends the corrected one", soft_wrap=True)
    if report.uncertain:
        console.print(f"[yellow]uncertain:[/] {escape(', '.join(report.uncertain))}: a run was stopped while these "
                      "were going out; they may have arrived. Not sent again; ask, then `--send --resend ID`",
                      soft_wrap=True)
    for key, answer in report.refused:
        console.print(f"[red]refused:[/] {escape(key)}: {escape(answer)} (tried again next run)", soft_wrap=True)
    if report.stopped:
        console.print(f"[red]stopped:[/] {escape(report.stopped)}; {len(report.not_reached)} not sent yet: run "
                      "`milsetctl notices --send` again to send the rest (nobody gets a message twice)",
                      soft_wrap=True)
