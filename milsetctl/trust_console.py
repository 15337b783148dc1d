"""Terminal rendering for the audit trail, its check, the anonymised export and the personal-data purge.

Renderers format a result object (milsetctl/audit.py, milsetctl/privacy.py); they never compute."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from datetime import tzinfo
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from milsetctl.audit import AuditRecord, ChainCheck

if TYPE_CHECKING:
    from milsetctl.privacy import AnonymisedExport, PurgeReport

_TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d")  # an ISO 8601 date and time, as the ledger stamps them


def _detail_text(detail: Any, width: int = 160, tz: tzinfo | None = None) -> str:
    """A record's detail on one line: key=value pairs, long lists shortened; a time (`at`, `...ed_at`) as every
    output says one (timefmt, in `tz`, the contest time zone), not as the ledger stores it."""
    from milsetctl.timefmt import contest_time

    if isinstance(detail, dict):
        parts = []
        for key, value in detail.items():
            if isinstance(value, list) and len(value) > 6:
                value = value[:6] + [f"… {len(value) - 6} more"]
            if isinstance(value, str) and tz is not None and (key == "at" or key.endswith("_at")) \
                    and _TIMESTAMP.match(value):
                value = contest_time(value, tz)
            text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
            parts.append(f"{key}={text}")
        line = "  ".join(parts)
    else:
        line = "" if detail is None else str(detail)
    return line if len(line) <= width else line[: width - 1] + "…"


def render_trail(console: Console, records: Sequence[AuditRecord], tz: tzinfo | None, zone: str,
                 total: int, check: ChainCheck | None = None) -> None:
    """The records as a table; with a failed `check`, a warning banner first naming the first broken record."""
    from milsetctl.report.tables import contest_time

    if check is not None and not check.ok:
        where = (f"Records from {check.broken_id} on (marked !) cannot be trusted" if check.broken_id is not None
                 else "The trail cannot be vouched for")
        console.print(f"[bold white on red] WARNING: audit trail BROKEN [/] {escape(check.problem or '')}. "
                      f"{where}; details: milsetctl audit --verify", soft_wrap=True)

    if not records:
        console.print("No audit records match." if total else "The audit trail is empty.")
        return
    table = Table(title=f"Audit trail: {len(records)} of {total} records (times in {escape(zone)})",
                  title_justify="left", show_lines=False, expand=False)
    table.add_column("#", justify="right", style="dim")
    table.add_column("when", no_wrap=True)
    table.add_column("who", no_wrap=True)
    table.add_column("what", style="bold", no_wrap=True)
    table.add_column("detail / command", overflow="fold")
    for r in records:
        detail = escape(_detail_text(r.detail, tz=tz))
        if r.scrubbed:
            detail += " [dim](personal data purged)[/]"
        if r.command:
            detail += f"\n[dim]$ {escape(r.command)}[/]"
        mark = "" if check is None or check.ok or check.broken_id is None or r.id < check.broken_id else " [red]![/]"
        table.add_row(str(r.id) + mark, contest_time(r.at, tz, zone=False) or r.at, escape(r.who), escape(r.action),
                      detail)
    console.print(table)


def render_chain_check(console: Console, check: ChainCheck, tz: tzinfo | None) -> None:
    from milsetctl.report.tables import contest_time

    if not check.ok:
        where = f" at record {check.broken_id}" if check.broken_id is not None else ""
        console.print(f"[bold red]audit trail BROKEN[/]{where}: {escape(check.problem or '')}", soft_wrap=True)
        if check.broken_id is not None and check.broken_id > 1:
            console.print(f"({check.records} records read; the records before {check.broken_id} are intact)")
        return
    if not check.records:
        console.print("[bold green]audit trail intact[/]: no records yet")
        return
    console.print(f"[bold green]audit trail intact[/]: {check.records} records, each linked to the one before, the "
                  "last sealed with the workspace key")
    console.print(f"  head: {check.head_record} {check.head}", soft_wrap=True)
    console.print("  (keep it outside the workspace: `milsetctl audit --head` prints it; a later `audit --verify "
                  "--head` with it finds it in the trail, even against someone holding secret.key)", soft_wrap=True)
    if check.kept_head is not None:
        console.print(f"  the head you kept is record {check.kept_head} of this trail")
    for note in check.notes:
        console.print(f"  [bold yellow]note:[/] {escape(note)}", soft_wrap=True)
    if check.chain_started:
        console.print(f"  the chain began on {contest_time(check.chain_started, tz)} over the records already there")
    if check.sealed_since:
        console.print(f"  the head was first sealed on {contest_time(check.sealed_since, tz)} (an older milsetctl "
                      "left it unsealed): records before that are vouched for by the chain alone")
    if check.scrubbed:
        console.print(f"  {check.scrubbed} records had personal data purged (their text checked against the digest "
                      "the purge recorded)")
    if check.unchecked_scrubbed:
        console.print(f"  {check.unchecked_scrubbed} of them were purged by a milsetctl that kept no digest of what "
                      "it left: their text is not checked", soft_wrap=True)


def render_export(console: Console, result: AnonymisedExport) -> None:
    console.print(f"Anonymised results written to [bold]{escape(str(result.path))}[/]: {result.rows} entries, "
                  f"{result.statistics} statistics rows" + (f" (statistics in {escape(str(result.statistics_path))})"
                                                            if result.statistics_path else ""), soft_wrap=True)
    console.print("  no names, e-mails, schools, contestant IDs, file names or titles; entries by an ID drawn at "
                  "random for this export (it links to no entry, jury ID or gallery page; each export differs)")


def render_purge(console: Console, report: PurgeReport, asking: bool = False) -> None:
    """The purge's result, its --dry-run, or (`asking`) the preview shown before the terminal asks to go on."""
    verb = "Would remove" if report.dry_run else "Removed"
    note = "" if not report.dry_run else " (nothing changed yet)" if asking else " (dry run: nothing changed)"
    if report.audit_broken:
        console.print(f"[bold red]{escape(report.audit_broken)}[/]: " + (
            "the purge's record says so and vouches for no record from there on" if not report.dry_run else
            "the purge refuses unless told --despite-broken-audit (milsetctl audit --verify shows the break)"),
            soft_wrap=True)
    table = Table(title=f"{verb} personal data{note}", title_justify="left")
    table.add_column("where")
    table.add_column("what")
    table.add_column("count", justify="right")
    for row in report.ledger:
        table.add_row("ledger", escape(row[0]), str(row[1]))
    for folder, files, size, why in report.folders:
        table.add_row(escape(folder), f"{escape(why)} ({size / 1e6:.1f} MB)", str(files))
    console.print(table)
    for line in report.kept:
        console.print(f"[bold]kept:[/] {escape(line)}", soft_wrap=True)
    if report.dry_run and not asking:
        console.print("To remove it: milsetctl purge --personal-data (asks first; --yes without a terminal).")
    elif report.vacuumed:
        console.print(f"Ledger compacted (VACUUM): {report.ledger_bytes_before / 1e6:.1f} MB → "
                      f"{report.ledger_bytes_after / 1e6:.1f} MB; deleted text no longer sits in free pages.")
