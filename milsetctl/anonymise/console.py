"""Terminal rendering for `anonymise`: progress while packaging, then a short summary or the leak list."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from milsetctl.anonymise.package import PackageResult, describe_waiting
from milsetctl.anonymise.verify import SHEETS, Leak


@contextmanager
def package_progress(console: Console) -> Iterator:
    """The validate command's progress bar, labelled for this stage; yields callback(done, total, current)."""
    from milsetctl.console import photo_progress

    with photo_progress(console, "Packaging photos") as update:
        yield update


def render_package(console: Console, result: PackageResult) -> None:
    """Counts, where the package and contact sheet are, notes and problems (the result is already computed).
    Lines are not wrapped, so paths stay whole and copyable."""
    out = _NoWrap(console)
    new, updated, withdrawn = len(result.new), len(result.updated), len(result.withdrawn)
    out.print(f"[bold]Jury package:[/] {escape(str(result.package))}")
    out.print(f"  packaged [bold]{len(result.entries)}[/] photos: [green]{new} new[/], {updated} rewritten, "
              f"{len(result.entries) - new - updated} unchanged; [yellow]{withdrawn} withdrawn[/]")
    if result.withdrawn:
        out.print("  withdrawn (no longer eligible): " + ", ".join(
            f"{escape(anon)} ({escape(entry)})" for anon, entry in result.withdrawn))
    if result.contact_html:
        out.print(f"  contact sheet: {escape(str(result.contact_html))}")
    if result.contact_pdf:
        out.print(f"  printable:     {escape(str(result.contact_pdf))}")
    for stray in result.removed_strays:
        out.print(f"  [yellow]removed[/] {escape(stray)}: a file in the package the ledger does not know")
    for note in result.notes:
        out.print(f"  [cyan]note[/] {escape(note)}")
    for problem in result.problems:
        out.print(f"  [red]not packaged[/] {escape(problem)}")
    if result.waiting:
        n = len(result.waiting)
        out.print(f"  [yellow]waiting for a decision[/] ({n} entr{'y' if n == 1 else 'ies'}, not in the package: no "
                  f"juror will see {'it' if n == 1 else 'them'}): {escape(describe_waiting(result.waiting))}")
        out.print("  Settle each with milsetctl decide ENTRY accept|reject --reason TEXT, then run milsetctl "
                  "anonymise again (and milsetctl jury sheets, if the sheets are out).")
    out.print("  The key (anonymous ID -> entry) is kept only in the ledger; send the jurors the package folder.")


class _NoWrap:
    def __init__(self, console: Console) -> None:
        self.console = console

    def print(self, text: str) -> None:
        self.console.print(text, soft_wrap=True)


def render_leaks(console: Console, leaks: list[Leak], files: int) -> None:
    """Every leak as a table row, or the all-clear line."""
    if not leaks:
        console.print(f"[green]No identifying trace found[/] in {files} files.", soft_wrap=True)
        return
    table = Table(title=f"Identifying traces in the jurors' files ({len(leaks)})", header_style="bold",
                  expand=True)
    table.add_column("file", overflow="fold", ratio=2)
    table.add_column("block", no_wrap=True)
    table.add_column("found", ratio=3)
    for leak in leaks:
        table.add_row(escape(leak.file), escape(leak.block), escape(leak.what))
    console.print(table)
    if any(leak.file.startswith(SHEETS.as_posix() + "/") for leak in leaks):
        console.print(f"Score sheets in {SHEETS.as_posix()}/ hold traces: run milsetctl jury sheets again to "
                      "re-issue them from the blind view (typed scores are carried over).", soft_wrap=True)
