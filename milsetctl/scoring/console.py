"""Terminal output of `score`: problems, the ranking, how far the jurors agree, each juror's scores as a chart,
and the method comparison. Renderers format a `ScoreResult`; they compute nothing."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pandas as pd
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from milsetctl.models import score_text
from milsetctl.scoring.read import Problem
from milsetctl.scoring.round import ScoreResult

SPARK = "▁▂▃▄▅▆▇█"


@contextmanager
def score_status(console: Console) -> Iterator[Callable[[str], None]]:
    """A spinner naming the step under way (reading, storing, ranking...); yields callback(step)."""
    with console.status("Reading the score sheets", spinner="dots") as status:
        def update(step: str) -> None:
            status.update(escape(step))

        yield update


def reading_w(w: float | None) -> str:
    """Kendall's W in words (Schmidt 1997's scale for concordance)."""
    if w is None:
        return "not enough shared entries"
    for bound, words in ((0.1, "very weak agreement"), (0.3, "weak agreement"), (0.5, "moderate agreement"),
                         (0.7, "strong agreement"), (0.9, "very strong agreement")):
        if w < bound:
            return words
    return "unusually strong agreement"


def reading_alpha(alpha: float | None) -> str:
    """Krippendorff's alpha in words (Krippendorff 2004: rely on >= 0.8, tentative from 0.667)."""
    if alpha is None:
        return "not enough paired scores"
    if alpha >= 0.8:
        return "reliable agreement"
    if alpha >= 0.667:
        return "tentative agreement"
    if alpha > 0:
        return "low agreement"
    return "no agreement beyond chance"


def reading_icc(value: float | None) -> str:
    """An ICC in words (Koo & Li 2016)."""
    if value is None:
        return "undefined"
    if value < 0.5:
        return "poor"
    if value < 0.75:
        return "moderate"
    if value < 0.9:
        return "good"
    return "excellent"


def _f(value: Any, digits: int = 2) -> str:
    if value is None or value is pd.NA or (isinstance(value, float) and value != value):
        return "–"
    return f"{float(value):.{digits}f}"


def render_problems(console: Console, problems: list[Problem], title: str, style: str, limit: int) -> None:
    if not problems:
        return
    table = Table(title=title, title_justify="left", title_style=style)
    for name in ("Sheet", "Juror", "Row", "Cell", "Problem"):
        table.add_column(name, overflow="fold", no_wrap=name in ("Row", "Cell"))
    for p in problems[:limit]:
        table.add_row(escape(p.sheet or "(round)"), escape(p.juror or ""), "" if p.row is None else str(p.row),
                      escape(p.cell or ""), escape(p.problem))
    console.print(table)
    if len(problems) > limit:
        console.print(f"  … and {len(problems) - limit} more (--json lists every one)")


def render_ranking(console: Console, result: ScoreResult, limit: int) -> None:
    ranking = result.ranking
    if ranking is None or not result.ranked:
        return
    if result.stage == "global":
        groups = [("all entries, overall", ranking)]
    else:
        present = list(dict.fromkeys(ranking["category"].tolist()))
        order = [c for c in result.category_order if c in present] + [c for c in present
                                                                       if c not in result.category_order]
        category = ranking["category"].astype(object)
        groups = [(str(c) if c is not None else "no category",
                   ranking[category.eq(c).to_numpy() if c is not None else category.isna().to_numpy()])
                  for c in order]
    for label, frame in groups:
        table = Table(title=f"Ranking: {label} ({result.method})", title_justify="left")
        table.add_column("Rank", justify="right")
        table.add_column("Anon ID", no_wrap=True)
        table.add_column("Score", justify="right")
        table.add_column("Jurors", justify="right")
        for anon_id, r in frame.head(limit).iterrows():
            rank = r["rank"]
            table.add_row("–" if rank is pd.NA or rank is None else str(int(rank)), escape(str(anon_id)),
                          score_text(None if r["score"] is pd.NA else r["score"]), str(int(r["jurors"])))
        console.print(table)
        if len(frame) > limit:
            console.print(f"  … {len(frame) - limit} more entries (--json lists every one)")


def render_agreement(console: Console, result: ScoreResult) -> None:
    a = result.agreement
    if not a or a.get("entries") is None:
        return
    w, alpha, icc = a.get("kendall_w"), a.get("krippendorff_alpha"), a.get("icc")
    parts = [f"Kendall's W {_f(w)} ({reading_w(w)}, over {a.get('complete_entries', 0)} entries every juror "
             "scored)", f"Krippendorff's alpha {_f(alpha)} ({reading_alpha(alpha)})"]
    if icc:
        parts.append(f"ICC(2,1) {_f(icc.get('icc2_1'))} ({reading_icc(icc.get('icc2_1'))} for one juror), "
                     f"ICC(2,k) {_f(icc.get('icc2_k'))} ({reading_icc(icc.get('icc2_k'))} for the panel's mean)")
    else:
        parts.append("ICC: not every juror scored every entry")
    console.print(f"[bold]Agreement[/] ({a.get('jurors')} jurors, {a.get('entries')} entries): " + "; ".join(parts))


def spark(distribution: dict[Any, int], buckets: list[int]) -> str:
    """A sparkline of counts per whole score, one character per score value."""
    counts = [int(distribution.get(b, 0)) for b in buckets]
    top = max(counts, default=0)
    if top == 0:
        return " " * len(buckets)
    return "".join(" " if c == 0 else SPARK[min(len(SPARK) - 1, (c * len(SPARK) - 1) // top)] for c in counts)


def render_jurors(console: Console, result: ScoreResult) -> None:
    report = result.jurors
    if report is None or report.empty:
        return
    buckets = list(report.attrs.get("buckets") or [])
    chart = f"Scores {buckets[0]}…{buckets[-1]}" if buckets else "Scores"
    table = Table(title="Jurors (weighted score of each entry, sheet's scale)", title_justify="left")
    # on a narrow terminal the names and sheets give way: numbers, the chart and each word of a flag stay whole
    # (a flag cut mid-word read "lenien" / "t" on an 80-column terminal)
    table.add_column("Juror", overflow="fold")
    table.add_column("Sheet", overflow="ellipsis", max_width=18)  # a long file name: its start
    for name in ("Entries", "Mean", "Offset"):
        table.add_column(name, justify="right", no_wrap=True)
    table.add_column("Rank corr.", justify="right", min_width=5)
    table.add_column(chart, no_wrap=True)
    words = [len(w) for f in report["flag"] if f for w in str(f).split()]
    table.add_column("Flag", min_width=max([4, *words]), overflow="fold")  # wraps between words only
    for juror, r in report.iterrows():
        flag = r["flag"]
        style = {"harsh": "yellow", "lenient": "yellow", "against the panel": "red"}.get(flag, "")
        table.add_row(escape(str(juror)), escape(str(r.get("sheet") or "")), str(int(r["n"])), _f(r["mean"], 1),
                      "–" if r["offset"] != r["offset"] else f"{float(r['offset']):+.1f}", _f(r["corr"]),
                      f"[cyan]{spark(r['distribution'], buckets)}[/]",
                      f"[{style}]{escape(flag)}[/]" if flag else "")
    console.print(table)


def render_compare(console: Console, result: ScoreResult) -> None:
    if result.compare is None:
        return
    if result.compare.empty:
        console.print(f"[bold]Compare:[/] no entry's award changes under {', '.join(result.compare_methods[1:])}.")
        return
    table = Table(title="Entries whose award another method would change (rank · award)", title_justify="left")
    table.add_column("Anon ID", no_wrap=True)
    table.add_column("Category")
    for m in result.compare_methods:
        table.add_column(f"[bold]{m}[/] (used)" if m == result.method else m, no_wrap=True)
    for _, r in result.compare.iterrows():
        cells = [escape(str(r["anon_id"])), escape(str(r["category"] or ""))]
        for m in result.compare_methods:
            rank, award = r[f"rank:{m}"], r[f"award:{m}"]
            rank_s = "–" if rank is None or rank is pd.NA or rank != rank else str(int(rank))
            cells.append(f"{rank_s} · {escape(str(award)) if award else '—'}")
        table.add_row(*cells)
    console.print(table)


def render_score(console: Console, result: ScoreResult, brief: bool = False, limit: int = 25) -> None:
    """Everything, in the order the chair reads it; `brief` (with --json) keeps to the counts and the verdict."""
    errors, notes = result.errors, result.notes
    n_sheets, n_jurors = len(result.sheets), len(result.read_jurors)
    console.print(f"Read {n_sheets} sheet{'s' if n_sheets != 1 else ''}: {n_jurors} juror{'s' if n_jurors != 1 else ''}"
                  + (f", {len(result.refused)} sheet{'s' if len(result.refused) != 1 else ''} not used"
                     if result.refused else "")
                  + f"; {len(errors)} problem{'s' if len(errors) != 1 else ''}, {len(notes)} note"
                  + ("s" if len(notes) != 1 else ""))
    if not brief:
        render_problems(console, errors, f"Problems ({len(errors)})", "bold red", 60)
        render_problems(console, notes, f"Notes ({len(notes)})", "dim", 20)
        render_ranking(console, result, limit)
        render_agreement(console, result)
        render_jurors(console, result)
        render_compare(console, result)
    stored = (f"{result.stored_rows} juror×entry scores stored, replacing {result.replaced_rows}"
              if result.stored else "no scores stored")
    if result.ranked:
        console.print(f"[green]Ranking stored[/] (method {result.method}, run {result.run_id}); {stored}.")
    else:
        console.print(f"[bold red]No ranking stored:[/] {escape(result.blocked or '')} ({stored}).", soft_wrap=True)
