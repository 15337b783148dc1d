"""The terminal renderer: rich tables and progress for people at a terminal (stderr when --json)."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from milsetctl.models import Status, ValidationResult
from milsetctl.report.tables import TOP_REASONS, reason_counts
from milsetctl.rules import Rule

STATUS_STYLE = {Status.ELIGIBLE: "green", Status.REVIEW: "yellow", Status.REJECTED: "red"}
SEVERITY_STYLE = {"reject": "red", "review": "yellow", "info": "cyan"}


class RateColumn(TextColumn):
    def __init__(self) -> None:
        super().__init__("")

    def render(self, task):  # type: ignore[no-untyped-def]
        speed = task.finished_speed or task.speed
        return "" if not speed else f"{speed:.1f} photos/s"


@contextmanager
def photo_progress(console: Console, label: str = "Checking photos") -> Iterator:
    """A progress bar with count, rate and ETA; yields a callback(done, total, current)."""
    progress = Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TaskProgressColumn(),
        RateColumn(),
        TimeElapsedColumn(),
        TextColumn("eta"),
        TimeRemainingColumn(),
        console=console,
        transient=False,
    )
    task = progress.add_task(label, total=None)

    def update(done: int, total: int, current: str) -> None:
        progress.update(task, completed=done, total=total)

    with progress:
        yield update


def _reasons_table(reasons: list[tuple[str, str, int]]) -> Table:
    """Most frequent reasons, as `validate` and `status` both show them."""
    top = Table(title="Most frequent reasons", header_style="bold")
    top.add_column("rule")
    top.add_column("severity")
    top.add_column("entries", justify="right")
    for rule_id, severity, count in reasons:
        top.add_row(rule_id, f"[{SEVERITY_STYLE.get(severity, 'dim')}]{severity}[/]", str(count))
    return top


def render_validation(console: Console, result: ValidationResult, attention_limit: int = 40) -> None:
    summary = result.summary()
    table = Table(title="Submissions", show_header=True, header_style="bold")
    table.add_column("entries", justify="right")
    table.add_column("eligible", justify="right", style="green")
    table.add_column("review", justify="right", style="yellow")
    table.add_column("rejected", justify="right", style="red")
    table.add_row(*(str(summary[k]) for k in ("entries", "eligible", "review", "rejected")))
    console.print(table)

    reasons = reason_counts(result)[:TOP_REASONS]  # the same ranking `status` shows
    if reasons:
        console.print(_reasons_table(reasons))

    attention = [r for r in result.entries if r.status != Status.ELIGIBLE]
    # the entries waiting for the coordinator's decision first: they are what a coordinator must act on (a
    # rejection stands without them); then the rejected ones
    attention.sort(key=lambda r: (r.status != Status.REVIEW, r.entry.entry_id))
    if attention and attention_limit > 0:
        need = Table(title="Entries that need attention", header_style="bold", show_lines=True, expand=True)
        need.add_column("entry", no_wrap=True)
        need.add_column("status", no_wrap=True)
        need.add_column("contestant", overflow="fold", ratio=2)
        need.add_column("file", overflow="fold", ratio=2)
        need.add_column("findings", ratio=5)
        for r in attention[:attention_limit]:
            # a 10,000-character cell must not push every other column to one letter wide
            who = _clip(" ".join(x for x in (r.entry.contestant_id, r.entry.name) if x) or "—", 60)
            lines = [
                f"[{SEVERITY_STYLE[str(f.severity)]}]{f.rule}[/]: {escape(_clip(f.message, 400))}"
                for f in r.findings
                if str(f.severity) != "info"
            ]
            if r.decision:
                lines.append(f"[bold]decided {r.decision['decision']}[/] by {escape(r.decision['who'])}: "
                             f"{escape(r.decision['reason'])}")
            status = str(r.status)
            need.add_row(r.entry.entry_id, f"[{STATUS_STYLE[r.status]}]{status}[/]", escape(who),
                         escape(_clip(r.entry.file or "—", 120)), "\n".join(lines))
        console.print(need)
    shown = min(len(attention), max(attention_limit, 0))
    if len(attention) > shown:
        more = len(attention) - shown
        left = Counter(str(r.status) for r in attention[shown:])
        kinds = ", ".join(f"{left[k]} {'to review' if k == 'review' else k}" for k in ("review", "rejected") if left[k])
        console.print(f"… and {more} more ({kinds}): write them all with --report report.html" if shown else
                      f"{more} entries need attention ({kinds}): list them with --report report.html")
    cache_note = f", {result.photos_cached} from cache" if result.photos_cached else ""
    console.print(
        f"Checked {len(result.entries)} entries ({result.photos_analysed} photos analysed{cache_note}) "
        f"in {result.elapsed_s:.1f} s."
    )
    render_changes(console, result)


CHANGES_SHOWN = 10  # entries listed by name; the rest are in the audit trail


def render_changes(console: Console, result: ValidationResult, limit: int = CHANGES_SHOWN) -> None:
    """What this run changed in entries validated before (a corrected manifest), and the outputs made before that
    still show the old words: the coordinator must see it, not only the audit trail. Prints nothing otherwise."""
    if not result.changes:
        return
    console.print("[bold]Changed since the last run:[/]")
    for entry_id in sorted(result.changes)[:limit]:
        diffs = "; ".join(f"{name} {_shown(old)} → {_shown(new)}"
                          for name, (old, new) in result.changes[entry_id].items())
        console.print(f"  {entry_id} {escape(diffs)}", soft_wrap=True)
    if len(result.changes) > limit:
        console.print(f"  … and {len(result.changes) - limit} more: milsetctl audit --kind entry-change")
    if result.remake:
        console.print("[bold yellow]Made before with the old words; run again:[/]")
        for line in result.remake:
            console.print(f"  {escape(_clip(line, 400))}", soft_wrap=True)


def _shown(value: object) -> str:
    return "—" if value is None or value == "" else _clip(str(value), 60)


_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def _clip(text: str, limit: int) -> str:
    """At most `limit` characters, an ellipsis marking the cut (the report files hold the whole text); control
    characters shown as '?': a file named with ESC sequences must not drive the coordinator's terminal."""
    text = _CONTROL.sub("?", text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def reflow(text: str) -> list[str]:
    """A docstring's paragraphs with its hard line breaks removed, so the terminal wraps them at its own width.
    Blank lines separate paragraphs; a line starting a list item ('- ', '* ', '1. ') starts a new one."""
    paragraphs: list[str] = []
    current: list[str] = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or _LIST_ITEM.match(line):
            if current:
                paragraphs.append(" ".join(current))
            current = [line] if line else []
            continue
        current.append(line)
    if current:
        paragraphs.append(" ".join(current))
    return paragraphs


_LIST_ITEM = re.compile(r"^([-*•]\s|\d+[.)]\s)")


def render_rule(console: Console, rule_: Rule, severity: str) -> None:
    """One rule in full: its header line, then its docstring re-flowed to the terminal's width."""
    style = SEVERITY_STYLE.get(severity, "dim")
    console.print(f"[bold]{rule_.id}[/]  severity: [{style}]{severity}[/] (default {rule_.severity})  "
                  f"scope: {rule_.scope}  version: {rule_.version}")
    for paragraph in reflow(rule_.why):
        console.print()
        console.print(escape(paragraph))


def render_rules(console: Console, rules: list[tuple[Rule, str]]) -> None:
    table = Table(title="Rules", header_style="bold", show_lines=False, expand=True)
    table.add_column("rule", no_wrap=True)
    table.add_column("severity", no_wrap=True)
    table.add_column("scope", no_wrap=True)
    table.add_column("why")
    for rule_, severity in rules:
        style = SEVERITY_STYLE.get(severity, "dim")
        table.add_row(rule_.id, f"[{style}]{severity}[/]", str(rule_.scope), escape(rule_.summary))
    console.print(table)


def render_status(console: Console, st) -> None:  # type: ignore[no-untyped-def]
    console.print(f"[bold]{escape(st.contest)}[/] ({st.stage} stage)")
    console.print(f"  workspace: {escape(st.workspace)}")
    console.print(f"  submissions: {escape(st.source or '(none yet)')}")
    console.print(f"  last validated: {st.last_validate or 'never: run milsetctl validate SOURCE'}")
    if st.timezone:
        console.print(f"  times in the contest time zone: {escape(st.timezone)} "
                      f"({escape('contest.toml: timezone under [contest]')})")
    if not st.entries:
        return
    table = Table(title="Entries by category", header_style="bold")
    table.add_column("category")
    for name in ("eligible", "review", "rejected"):
        table.add_column(name, justify="right", style=STATUS_STYLE[Status(name)])
    table.add_column("total", justify="right")
    for category, counts in sorted(st.by_category.items()):
        table.add_row(category, *(str(counts.get(s, 0)) for s in ("eligible", "review", "rejected")),
                      str(sum(counts.values())))
    table.add_row("[bold]all[/]", *(f"[bold]{st.by_status.get(s, 0)}[/]" for s in ("eligible", "review", "rejected")),
                  f"[bold]{st.entries}[/]")
    console.print(table)
    console.print(f"Decisions recorded: {st.decisions}.  Waiting for a decision: {len(st.open_reviews)}"
                  + (f" ({', '.join(st.open_reviews[:12])}{' …' if len(st.open_reviews) > 12 else ''})"
                     if st.open_reviews else ""))
    if st.top_rules:
        console.print(_reasons_table(st.top_rules))
    if st.by_region:
        console.print("Entries by region: " + ", ".join(f"{escape(r)} {n}" for r, n in st.by_region.items()),
                      soft_wrap=True)
