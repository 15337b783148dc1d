"""The terminal renderer: rich tables and progress for people at a terminal (stderr when --json)."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from rich.console import Console, ConsoleOptions, JustifyMethod, RenderableType, RenderResult
from rich.markup import escape
from rich.measure import Measurement
from rich.style import StyleType
from rich.table import Table
from rich.text import Text

from milsetctl.models import TOP_REASONS, Status, ValidationResult, reason_counts
from milsetctl.problem_codes import ProblemCode
from milsetctl.rules import Rule

STATUS_STYLE = {Status.ELIGIBLE: "green", Status.REVIEW: "yellow", Status.REJECTED: "red"}
SEVERITY_STYLE = {"reject": "red", "review": "yellow", "info": "cyan"}


# --- tables that fit the terminal ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Col:
    """One column of a `FitTable`, and how it may give way on a narrow terminal."""

    header: str
    justify: JustifyMethod = "left"
    style: StyleType = ""
    no_wrap: bool = False  # numbers, IDs, sparklines: one line each, as wide as the widest
    drop: int = 0  # 0: always shown; 1, 2, ...: left out in that order when the table cannot fit otherwise
    fold: bool = False  # may break inside a word as a last resort (file names, messages), never a person's name
    ratio: int = 1  # its share of the room left once every column has its minimum (findings 5 to a file's 2)


FOLD_FLOORS = (12, 8)  # a fold column is made this narrow (unless its text is shorter), the first that fits
SHORT = 12  # a column this close to its natural width gets it first: short headers and values stay on one line


class FitTable:
    """A rich table whose column widths are chosen when it is printed, for the width it is printed at.

    rich shrinks a table that is too wide by narrowing its widest columns until they fit, breaking words anywhere
    ("Barthol|omew", "司马相|如"). Here every column is first given its longest word (a whole cell for `no_wrap`
    columns), so text wraps between words only; when even that is too wide, the `fold` columns (file names,
    messages) may break inside words (FOLD_FLOORS); then the `drop` columns are left out, in order, and a dim
    `note` (with {columns}) says which. The room left goes first to the columns a few cells short of their
    natural width, then to the others by `ratio`. Every line stays within the width and the border whole; only a
    word too wide for any layout (a 40-character name written without a space) is still broken, in its own column.
    """

    def __init__(self, *columns: Col, title: str | None = None, note: str | None = None, **options: Any) -> None:
        self.columns = list(columns)
        self.title = title
        self.note = note if note is not None else "(left out to fit the terminal: {columns})"
        self.options = options
        self.rows: list[tuple[list[RenderableType], dict[str, Any]]] = []

    def add_row(self, *cells: RenderableType, style: StyleType | None = None, end_section: bool = False) -> None:
        if len(cells) != len(self.columns):
            raise ValueError(f"{len(cells)} cells for {len(self.columns)} columns")
        self.rows.append((list(cells), {"style": style, "end_section": end_section}))

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        table, dropped = self.fit(console, options)
        yield table
        if dropped and self.note:
            yield Text(self.note.format(columns=", ".join(dropped)), style="dim")

    def fit(self, console: Console, options: ConsoleOptions) -> tuple[Table, list[str]]:
        """The rich Table for `options.max_width`, and the headers of the columns left out."""
        width = options.max_width
        probe = Table(**self.options)
        _, pad_right, _, pad_left = probe.padding

        def overhead(active: list[int]) -> int:
            edges = (2 if probe.show_edge else 0) + max(len(active) - 1, 0) if probe.box else 0
            pads = len(active) * (pad_left + pad_right)
            if not probe.pad_edge and active:
                pads -= pad_left + pad_right
            return edges + pads

        measure = options.update(width=width)
        low, high = [], []
        for i, col in enumerate(self.columns):
            lo = hi = 0
            for cell in [col.header, *(cells[i] for cells, _ in self.rows)]:
                m = Measurement.get(console, measure, cell)
                lo, hi = max(lo, m.minimum), max(hi, m.maximum)
            low.append(hi if col.no_wrap else lo)
            high.append(hi)
        layouts = [low] + [[min(lo, floor) if col.fold and not col.no_wrap else lo
                            for lo, col in zip(low, self.columns, strict=True)] for floor in FOLD_FLOORS]
        # last resort, every column dropped that may be: a word wider than the terminal leaves, the other wrapping
        # columns folded too (rich then breaks only the words that cannot fit, in those columns alone)
        squeezed = [lo if col.no_wrap else min(lo, FOLD_FLOORS[-1] if col.fold else FOLD_FLOORS[0])
                    for lo, col in zip(low, self.columns, strict=True)]
        active = list(range(len(self.columns)))
        droppable = sorted((i for i, c in enumerate(self.columns) if c.drop), key=lambda i: (self.columns[i].drop, -i))
        mins: list[int] | None = None
        while mins is None:
            room = width - overhead(active)
            for candidate in layouts if droppable else [*layouts, squeezed]:
                if sum(candidate[i] for i in active) <= room:
                    mins = candidate
                    break
            else:
                if not droppable:
                    break
                active.remove(droppable.pop(0))
        widths = _share(mins, high, [c.ratio for c in self.columns], active, width - overhead(active)) \
            if mins is not None else {}

        table = Table(title=self.title, **self.options)
        for i in active:
            col = self.columns[i]
            table.add_column(col.header, justify=col.justify, style=col.style, no_wrap=col.no_wrap,
                             overflow="ellipsis" if col.no_wrap else "fold", width=widths.get(i))
        for cells, row_options in self.rows:
            table.add_row(*(cells[i] for i in active), **row_options)
        return table, [Text.from_markup(self.columns[i].header).plain for i in range(len(self.columns))
                       if i not in active]


def _share(low: list[int], high: list[int], ratio: list[int], active: list[int], room: int) -> dict[int, int]:
    """Column widths from their minimums towards their natural widths within `room`: first the columns at most
    SHORT cells short (fewest first), so short headers and values stay on one line; the rest by `ratio`."""
    widths = {i: low[i] for i in active}
    spare = room - sum(widths.values())
    for i in sorted(active, key=lambda i: high[i] - low[i]):
        if 0 < high[i] - widths[i] <= SHORT and spare >= high[i] - widths[i]:
            spare -= high[i] - widths[i]
            widths[i] = high[i]
    while spare > 0:
        hungry = [i for i in active if widths[i] < high[i]]
        if not hungry:
            break
        total = sum(max(ratio[i], 1) for i in hungry)
        given = 0
        for i in hungry:
            give = min(high[i] - widths[i], max(spare * max(ratio[i], 1) // total, 1), spare - given)
            widths[i] += give
            given += give
        spare -= given
        if given == 0:
            break
    return widths


def _photo_bar(console: Console) -> Any:
    """The photo progress bar: count, rate and ETA. rich.progress is imported here, not at the top: `status` and
    `rules` draw no bar and need not load it (issue 18)."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TaskProgressColumn,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    class RateColumn(TextColumn):
        def __init__(self) -> None:
            super().__init__("")

        def render(self, task):  # type: ignore[no-untyped-def]
            speed = task.finished_speed or task.speed
            return "" if not speed else f"{speed:.1f} photos/s"

    return Progress(
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


@contextmanager
def photo_progress(console: Console, label: str = "Checking photos") -> Iterator:
    """A progress bar with count, rate and ETA; yields a callback(done, total, current)."""
    progress = _photo_bar(console)
    task = progress.add_task(label, total=None)

    def update(done: int, total: int, current: str) -> None:
        progress.update(task, completed=done, total=total)

    with progress:
        yield update


@contextmanager
def validation_progress(console: Console) -> Iterator[tuple[Callable[[int, int, str], None],
                                                            Callable[[int, int, str], None]]]:
    """validate's two progress bars, one per pass: yields (first, second) callbacks(done, total, current); the
    second bar appears when the second pass starts."""
    progress = _photo_bar(console)
    first = progress.add_task("Checking photos", total=None)
    second: list[Any] = []

    def update_first(done: int, total: int, current: str) -> None:
        progress.update(first, completed=done, total=total)

    def update_second(done: int, total: int, current: str) -> None:
        if not second:
            second.append(progress.add_task("Text check (second pass)", total=total))
        progress.update(second[0], completed=done, total=total)

    with progress:
        yield update_first, update_second


def render_first_pass(console: Console, result: ValidationResult, left: int, stop: bool = False) -> None:
    """The line validate prints when every verdict but the second pass's is saved (`stop`: --first-pass)."""
    summary = result.summary()
    if not left:
        return
    photos = f"{left} photo{'s' if left != 1 else ''}"
    then = (f"The text check of {photos} is left for later: `milsetctl validate` runs it (anonymise and awards wait "
            "for it)." if stop else f"Text check of {photos} next (a watermark or text it finds sends an eligible "
            "entry to review); Ctrl-C keeps what is done, and `milsetctl validate` resumes.")
    console.print(f"Every verdict but the text check is saved: {summary['eligible']} eligible so far, "
                  f"{summary['review']} to review, {summary['rejected']} rejected (`milsetctl status` shows them from "
                  f"another terminal). {then}", soft_wrap=True)


def _reasons_table(reasons: list[tuple[str, str, int]]) -> FitTable:
    """Most frequent reasons, as `validate` and `status` both show them."""
    top = FitTable(Col("rule"), Col("severity"), Col("entries", justify="right", no_wrap=True),
                   title="Most frequent reasons", header_style="bold")
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
        # on a narrow terminal a contestant's name wraps between its words; a path or a finding may break inside one
        need = FitTable(Col("entry", no_wrap=True), Col("status", no_wrap=True), Col("contestant", ratio=2),
                        Col("file", fold=True, ratio=2), Col("findings", fold=True, ratio=5),
                        title="Entries that need attention", header_style="bold", show_lines=True, expand=True)
        for r in attention[:attention_limit]:
            # a 10,000-character cell must not push every other column to one letter wide
            who = _clip(" ".join(x for x in (r.entry.contestant_id, r.entry.name) if x) or "—", 120)
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
    if result.changes:
        console.print("[bold]Changed since the last run:[/]")
    for entry_id in sorted(result.changes)[:limit]:
        diffs = "; ".join(f"{name} {_shown(old)} → {_shown(new)}"
                          for name, (old, new) in result.changes[entry_id].items())
        console.print(f"  {entry_id} {escape(diffs)}", soft_wrap=True)
    if len(result.changes) > limit:
        console.print(f"  … and {len(result.changes) - limit} more: milsetctl audit --kind entry-change")
    if result.remake:
        console.print("[bold yellow]Out of date now (made from what the ledger held before); make again:[/]")
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
    table = FitTable(Col("rule", no_wrap=True), Col("severity", no_wrap=True), Col("scope", no_wrap=True, drop=1),
                     Col("why"), title="Rules", header_style="bold", show_lines=False, expand=True)
    for rule_, severity in rules:
        style = SEVERITY_STYLE.get(severity, "dim")
        table.add_row(rule_.id, f"[{style}]{severity}[/]", str(rule_.scope), escape(rule_.summary))
    console.print(table)


PROBLEM_STYLE = {"error": "red", "warning": "yellow", "note": "dim"}


def render_problem_codes(console: Console, codes: list[ProblemCode]) -> None:
    """One table per area (score sheets, member roster, fees, awards...), titled with the command that reports
    its problems."""
    from milsetctl.problem_codes import AREAS

    by_area: dict[str, list[ProblemCode]] = {}
    for c in codes:
        by_area.setdefault(c.area, []).append(c)
    for area, group in by_area.items():
        title, commands = AREAS[area]
        table = FitTable(Col("code", no_wrap=True), Col("severity", no_wrap=True), Col("why"),
                         title=escape(f"{title} ({', '.join(commands)})"), header_style="bold", show_lines=False,
                         expand=True)
        for c in group:
            table.add_row(c.id, f"[{PROBLEM_STYLE[c.severity]}]{c.severity}[/]",
                          escape(c.why.split(". ")[0].rstrip(".") + "."))
        console.print(table)


def render_problem_code(console: Console, code: ProblemCode) -> None:
    console.print(f"[bold]{code.id}[/]  severity: {code.severity}  area: {escape(code.area)} "
                  f"({escape(code.command)})")
    console.print()
    console.print(escape(code.why))


def render_status(console: Console, st) -> None:  # type: ignore[no-untyped-def]
    console.print(f"[bold]{escape(st.contest)}[/] ({st.stage} stage)")
    console.print(f"  workspace: {escape(st.workspace)}")
    console.print(f"  submissions: {escape(st.source or '(none yet)')}")
    console.print(f"  last validated: {st.last_validate or 'never: run milsetctl validate SOURCE'}")
    if st.timezone:
        console.print(f"  times in the contest time zone: {escape(st.timezone)} "
                      f"({escape('contest.toml: timezone under [contest]')})")
    if not st.entries:
        render_stages(console, st)
        return
    table = FitTable(Col("category"), *(Col(name, justify="right", style=STATUS_STYLE[Status(name)], no_wrap=True)
                                        for name in ("eligible", "review", "rejected")),
                     Col("total", justify="right", no_wrap=True), title="Entries by category", header_style="bold")
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
    render_stages(console, st)


STATE_STYLE = {"done": "green", "stale": "bold yellow", "not-yet": "dim"}
STATE_WORD = {"done": "done", "stale": "out of date", "not-yet": "not yet"}


def validated(st) -> bool:  # type: ignore[no-untyped-def]
    return any(s.stage == "validate" and s.state == "done" for s in st.stages)


def render_stages(console: Console, st) -> None:  # type: ignore[no-untyped-def]

    """The contest stage by stage (done / out of date, and what changed / not yet), what waits on a person, and
    the next command. An optional output nobody has made yet (a certificate kind, the gallery) is left out."""
    if not st.stages:
        return
    table = FitTable(Col("stage", no_wrap=True), Col("state", no_wrap=True), Col("why", fold=True, ratio=3),
                     Col("to make it current", fold=True, ratio=2, drop=1), title="The contest, stage by stage",
                     header_style="bold")
    for s in st.stages:
        if s.state == "not-yet" and not s.relevant:
            continue  # a stage this contest does not have (global certificates at the national stage...)
        word = "waiting" if s.stage == "decisions" and s.state == "not-yet" and validated(st) else STATE_WORD[s.state]
        state = f"[{STATE_STYLE[s.state]}]{word}[/]"
        why = (s.why if s.state != "done" else []) + s.progress  # and how far a stage of steps has come
        table.add_row(escape(s.stage), state, escape("; ".join(why)),
                      escape(s.next or "") if s.state != "done" else "")
    console.print(table)
    for line in st.waiting:
        console.print(f"[bold]Waiting on a person:[/] {escape(line)}", soft_wrap=True)
    if st.next:
        console.print(f"[bold]Next:[/] {escape(st.next)}", soft_wrap=True)
    else:
        console.print("[bold green]Nothing is out of date.[/]")
