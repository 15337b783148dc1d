"""Terminal output of `jury status` (one row per juror, then the entries short of their quorum) and `jury remind`
(the reminders made, then what was sent)."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from milsetctl.juryround.remind import ReminderBatch
from milsetctl.juryround.status import MISSING, PARTIAL, RETURNED, SAME_SCORES, STRAIGHT_LINING, RoundStatus
from milsetctl.mail import SendReport
from milsetctl.timefmt import contest_time, zone_name

STYLE = {RETURNED: "green", PARTIAL: "yellow", MISSING: "red"}
FLAG_STYLE = {"against the panel": "red"}
SHORT_SHOWN = 20  # entries short of their quorum listed by ID; the rest counted
FLAG_MEANING = {
    SAME_SCORES: "the very same scores for every entry",
    STRAIGHT_LINING: "one number for every criterion of an entry, on most entries",
    "harsh": "well below the other jurors on the same entries (as `score` says)",
    "lenient": "well above the other jurors on the same entries (as `score` says)",
    "against the panel": "ranks the entries against the other jurors' order (as `score` says)",
}


def render_status(console: Console, status: RoundStatus) -> None:
    """The jurors' table (ID, name, state, scored of expected, when the sheet arrived, flags), a one-line summary,
    the entries whose quorum is not met, and any other problem in the sheets."""
    title = f"Jury progress — sheets in {status.folder}"
    if status.round_id:
        title += f" (round {status.round_id})"
    table = Table(title=escape(title), title_justify="left")
    table.add_column("Juror", no_wrap=True)
    table.add_column("Name")
    table.add_column("State", no_wrap=True)
    table.add_column("Scored", justify="right", no_wrap=True)
    table.add_column(f"Arrived ({zone_name(status.tz)})")
    table.add_column("Flags")
    for j in status.jurors:
        scored = f"{j.scored}/{j.expected}"
        if j.recused:
            scored += f" ({j.recused} recused)"
        arrived = contest_time(j.arrived, status.tz, zone=False) or ""
        if j.state == MISSING and j.arrived is not None:
            arrived += " (blank)"
        flags = [f"[{FLAG_STYLE.get(f, 'yellow')}]{escape(f)}[/]" for f in j.flags]
        if j.problems:
            flags.append(f"[red]{j.problems} problem{'s' if j.problems != 1 else ''}[/]")
        table.add_row(j.juror_id or "", escape(j.juror), f"[{STYLE[j.state]}]{j.state}[/]", scored, arrived,
                      ", ".join(flags))
    console.print(table)
    console.print(f"{status.count(RETURNED)} returned, {status.count(PARTIAL)} partial, {status.count(MISSING)} "
                  f"missing of {len(status.jurors)} juror{'s' if len(status.jurors) != 1 else ''}.", soft_wrap=True)
    met = sum(1 for e in status.entries if e.quorum_met)
    asked = (f"{status.quorum} juror{'s' if status.quorum != 1 else ''} each" if status.quorum
             else "every juror it was handed to")
    console.print(f"Quorum ({asked}): met for {met} of {len(status.entries)} entries.", soft_wrap=True)
    short = [e for e in status.entries if not e.quorum_met]
    if short:
        shown = ", ".join(f"{e.anon_id} ({e.jurors}/{e.quorum})" for e in short[:SHORT_SHOWN])
        more = f" and {len(short) - SHORT_SHOWN} more" if len(short) > SHORT_SHOWN else ""
        console.print(f"[yellow]short of their quorum:[/] {shown}{more}", soft_wrap=True)
    if not status.assigned:
        console.print("[cyan]note:[/] `jury sheets` has not run: each juror owes the entries on their own sheet, and "
                      "a juror with no sheet here is not known", soft_wrap=True)
    if status.problems:
        console.print(f"[red]{len(status.problems)} other problem{'s' if len(status.problems) != 1 else ''}[/] in "
                      f"the sheets (out-of-range or unreadable cells, unknown IDs or jurors): `milsetctl score "
                      f"{escape(str(status.folder))} --compare` lists each with sheet, row and cell", soft_wrap=True)
    present = {f for j in status.jurors for f in j.flags}
    meanings = [f"{escape(flag)}: {text}" for flag, text in FLAG_MEANING.items() if flag in present]
    if meanings:
        console.print("[cyan]flags:[/] " + "; ".join(meanings), soft_wrap=True)


def render_reminders(console: Console, batch: ReminderBatch) -> None:
    if not batch.reminders:
        console.print(f"Every juror has returned a complete sheet ({escape(str(batch.status.folder))}): no reminder "
                      "needed.", soft_wrap=True)
        return
    table = Table(title=f"Reminders for {batch.day.isoformat()} (due: {escape(batch.due or 'not set')})",
                  title_justify="left")
    for column in ("Juror", "Name", "State", "Missing", "E-mail"):
        table.add_column(column)
    for r in batch.reminders:
        j = r.progress
        missing = f"{len(j.missing)} of {j.expected}" if j.state == PARTIAL else f"all {j.expected}"
        mail = escape(r.eml.name) if r.eml else ("[dim]no address[/]" if not j.email else escape(j.email))
        table.add_row(j.juror_id or "", escape(j.juror), f"[{STYLE[j.state]}]{j.state}[/]", missing, mail)
    console.print(table)
    if batch.mail_merge:
        console.print(f"mail-merge table: {escape(str(batch.mail_merge))} (and .csv)", soft_wrap=True)


def render_sent(console: Console, report: SendReport) -> None:
    if report.dry_run:
        console.print(f"dry run: {len(report.would_send)} reminder(s) would be sent"
                      + (f" ({escape(', '.join(report.would_send))})" if report.would_send else "")
                      + f"; {len(report.already)} sent already today; nothing was sent", soft_wrap=True)
    else:
        console.print(f"sent {len(report.sent)} reminder(s); {len(report.already)} sent already today (not again)",
                      soft_wrap=True)
    if report.uncertain:
        console.print(f"[yellow]uncertain:[/] {escape(', '.join(report.uncertain))}: a run was stopped while these "
                      "were going out; they may have arrived, and are not sent again today", soft_wrap=True)
    for key, answer in report.refused:
        console.print(f"[red]refused:[/] {escape(key)}: {escape(answer)} (tried again next run)", soft_wrap=True)
    if report.stopped:
        console.print(f"[red]stopped:[/] {escape(report.stopped)}; {len(report.not_reached)} not sent yet: run "
                      "`milsetctl jury remind --send` again to send the rest (nobody gets two the same day)",
                      soft_wrap=True)
