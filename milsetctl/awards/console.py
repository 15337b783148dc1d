"""Terminal renderers for `awards` and `nominate`: they format a result that already exists, never compute.

Names and titles are contestants' text: always passed to rich as Text, never as markup (a title such as
"[red]Mars[/]" is shown as typed).
"""

from __future__ import annotations

from rich.console import Console
from rich.table import Table
from rich.text import Text

from milsetctl.awards.nominate import Nomination
from milsetctl.awards.run import AwardsResult
from milsetctl.models import score_text

AWARD_STYLE = {
    "qualifier": "bold green",
    "global-1": "bold black on gold1",
    "global-2": "bold black on grey70",
    "global-3": "bold black on dark_orange3",
    "gallery": "bold cyan",
}
AWARD_LABEL = {"qualifier": "Qualifier", "global-1": "1st", "global-2": "2nd", "global-3": "3rd",
               "gallery": "Gallery"}


def _text(value: object) -> Text:
    return Text("" if value is None else str(value))


def _award(award: str | None) -> Text:
    if not award:
        return Text("—", style="dim")
    return Text(AWARD_LABEL.get(award, award), style=AWARD_STYLE.get(award, "bold"))


def render_awards(console: Console, result: AwardsResult) -> None:
    """One table per category (national) or one overall table (global), then the counts."""
    global_stage = result.stage == "global"
    for category in [None] if global_stage else result.categories:
        rows = result.rows if global_stage else [r for r in result.rows if r.category == category]
        title = ("Global awards (overall)" if global_stage
                 else f"Qualifier Award — {category or 'no category'}")
        if global_stage:
            caption = (f"{len(rows)} ranked; global-1..{result.cuts.get('global')} and gallery to place "
                       f"{result.cuts.get('gallery')}")
        else:
            cut = result.cuts.get(category or "none")
            caption = f"{len(rows)} ranked; Qualifier Award for rank <= {cut}"
        table = Table(title=title, caption=caption, title_justify="left", caption_justify="left")
        # the global list adds country and category; on a narrow terminal the anon ID and school give way
        school = not global_stage or console.width >= 120
        table.add_column("rank", justify="right", no_wrap=True)
        table.add_column("entry", no_wrap=True)
        if school:
            table.add_column("anon", no_wrap=True)
        if global_stage:
            table.add_column("country", no_wrap=True)
            table.add_column("cat.", no_wrap=True)
        table.add_column("name")
        if school:
            table.add_column("school")
        table.add_column("title")
        table.add_column("score", justify="right", no_wrap=True)
        table.add_column("award", no_wrap=True)
        for r in rows:
            cells = [_text(r.rank), _text(r.entry_id)] + ([_text(r.anon_id)] if school else [])
            if global_stage:
                cells += [_text(r.country), _text(r.category)]
            cells.append(_text(r.name))
            if school:
                cells.append(_text(r.school))
            cells += [_text(r.title), _text("" if r.score is None else score_text(r.score)), _award(r.award)]
            table.add_row(*cells, style=None if r.award else "dim")
        console.print(table)
    counts = result.counts()
    summary = ", ".join(f"{n} {AWARD_LABEL.get(a, a)}" for a, n in counts.items()) or "no awards"
    console.print(f"{summary} — stage {result.stage}, method {result.method}, score run {result.run_id}")


def render_warnings(console: Console, result: AwardsResult) -> None:
    """Ties on a cut (by name) and the ranking's gaps, on stderr, each with its problem code."""
    for tie in result.ties:
        console.print(Text("warning: ", style="bold yellow") + Text(tie.said()))
    for note in result.warnings:
        console.print(Text("warning: ", style="bold yellow") + Text(note))


def render_nomination(console: Console, result: Nomination) -> None:
    """The nominees in order (a tied one marked '='), then where the zip is."""
    table = Table(title=f"Nominated: the best {min(result.top, len(result.nominees))} Qualifier Award holders",
                  title_justify="left")
    for col, justify in (("#", "right"), ("entry", "left"), ("country", "left"), ("cat.", "left"),
                         ("nat. rank", "right"), ("name", "left"), ("title", "left"), ("score", "right")):
        table.add_column(col, justify=justify, no_wrap=col not in ("name", "title"))  # type: ignore[arg-type]
    for i, n in enumerate(result.nominees, start=1):
        table.add_row(_text(f"{i}=" if n.tied else i), _text(n.entry_id), _text(n.country), _text(n.category),
                      _text(n.national_rank), _text(n.name), _text(n.title), _text(score_text(n.score)))
    console.print(table)
    console.print(Text(f"Written {result.out}: {len(result.nominees)} original photos (photos/) and entries.csv"))
