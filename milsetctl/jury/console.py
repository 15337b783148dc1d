"""Terminal output of `jury sheets`: one row per juror's sheet, then what the chair must act on."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from milsetctl.jury.run import JurySheetsResult


@contextmanager
def sheet_progress(console: Console) -> Iterator[Callable[[int, int, str], None]]:
    """A progress bar for writing the sheets (a big round takes a while); yields callback(done, total, juror)."""
    progress = Progress(TextColumn("[bold]Writing score sheets"), BarColumn(), MofNCompleteColumn(),
                        TextColumn("{task.fields[juror]}"), TimeElapsedColumn(), console=console, transient=True)
    task = progress.add_task("sheets", total=None, juror="")

    def update(done: int, total: int, juror: str) -> None:
        progress.update(task, completed=done, total=total, juror=escape(juror))

    with progress:
        yield update


def render_sheets(console: Console, result: JurySheetsResult) -> None:
    """The sheets written (juror ID, name, entries, conflicts skipped, file), then warnings and notes."""
    table = Table(title=f"Score sheets — round {result.round_id} ({result.stage} stage)", title_justify="left")
    table.add_column("Juror", no_wrap=True)
    table.add_column("Name")
    table.add_column("Entries", justify="right")
    table.add_column("Conflicts\nskipped", justify="right")
    changed = any(r.removed or r.scored or (r.added and r.added != r.entries) for r in result.sheets)
    if changed:
        table.add_column("Changes")
    table.add_column(f"File (in {result.sheets_dir}/)", overflow="fold")
    for row in result.sheets:
        changes = []
        if row.added and row.added != row.entries:
            changes.append(f"+{row.added} new")
        if row.removed:
            changes.append(f"[yellow]-{row.removed} moved[/]")
        if row.scored:
            changes.append(f"{row.scored} scores kept")
        cells = [row.juror_id, escape(row.juror), str(row.entries), str(row.conflicts) if row.conflicts else ""]
        if changed:
            cells.append(", ".join(changes))
        table.add_row(*cells, escape(row.file.rsplit("/", 1)[-1]))
    console.print(table)
    quorum = (f"each entry to {result.quorum} jurors" if result.quorum
              else "every juror scores every entry they have no conflict with")
    total = sum(r.entries for r in result.sheets)
    console.print(f"{len(result.sheets)} sheets, {total} entries to score in all ({quorum}); seed {result.seed}.")
    pages = [r.page for r in result.sheets if r.page]
    if pages:
        console.print(f"Scoring pages: {len(pages)}, one beside each sheet ({escape(pages[0].rsplit('/', 1)[-1])}"
                      "...): open in any browser, no network needed; Export saves the CSV to send back.")
    if result.conflicts:
        avoided = ", ".join(f"{n} ({why})" for why, n in sorted(result.conflicts.items()))
        console.print(f"Conflicts of interest avoided: {avoided}.")
    for warning in result.warnings:
        console.print(f"[bold yellow]warning:[/] {escape(warning)}", soft_wrap=True)
    for note in result.notes:
        console.print(f"[cyan]note:[/] {escape(note)}", soft_wrap=True)
