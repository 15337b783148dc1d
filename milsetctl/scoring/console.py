"""Terminal output of `score`: problems, the ranking, how far the jurors agree, each juror's scores as a chart,
and the method comparison. Renderers format a `ScoreResult`; they compute nothing."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pandas as pd
from rich.console import Console
from rich.markup import escape

from milsetctl.console import Col, FitTable
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
    # a juror's name wraps between its words only; a long file name or message may break inside a word
    table = FitTable(Col("Sheet", fold=True), Col("Juror"), Col("Row", no_wrap=True), Col("Cell"),
                     Col("Problem", fold=True), title=title, title_justify="left", title_style=style)
    for p in problems[:limit]:
        table.add_row(escape(p.sheet or "(round)"), escape(p.juror or ""), "" if p.row is None else str(p.row),
                      escape(p.cell or ""), escape(p.problem))
    console.print(table)
    if len(problems) > limit:
        console.print(f"  … and {len(problems) - limit} more (--json lists every one)")


def render_ranking(console: Console, result: ScoreResult, limit: int) -> None:
    ranking = result.ranking
    if ranking is None or not result.rankable:
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
        shown = f"Ranking: {label} ({result.method}{', not stored' if result.preview else ''})"
        table = FitTable(Col("Rank", justify="right", no_wrap=True), Col("Anon ID", no_wrap=True),
                         Col("Score", justify="right", no_wrap=True), Col("Jurors", justify="right", no_wrap=True),
                         title=shown, title_justify="left")
        for anon_id, r in frame.head(limit).iterrows():
            rank = r["rank"]
            table.add_row("–" if rank is pd.NA or rank is None else str(int(rank)), escape(str(anon_id)),
                          score_text(None if r["score"] is pd.NA else r["score"]), str(int(r["jurors"])))
        console.print(table)
        if len(frame) > limit:
            console.print(f"  … {len(frame) - limit} more entries (--json lists every one)")


def kendall_text(a: dict[str, Any]) -> str:
    """Kendall's W with what it was computed over; "–" and the reason whenever there is no W (never a number
    "over 0 entries")."""
    w, shared, scoring = a.get("kendall_w"), int(a.get("complete_entries") or 0), a.get("jurors_scoring")
    left_out = list(a.get("jurors_left_out") or [])
    aside = (f"; {len(left_out)} juror{'s' if len(left_out) != 1 else ''} with no complete score left out"
             if left_out else "")
    if w is None or shared < 2:
        if scoring is not None and int(scoring) < 2:
            why = "needs at least 2 jurors with complete scores"
        elif shared < 2:
            why = (f"over {shared} entr{'y' if shared == 1 else 'ies'} every juror scored: it needs at least 2"
                   if shared else "no entry was scored by every juror")
        else:
            why = f"every juror gave the {shared} entries they all scored one and the same score"
        return f"Kendall's W – ({why}{aside})"
    return f"Kendall's W {_f(w)} ({reading_w(w)}, over {shared} entries every juror scored{aside})"


def render_agreement(console: Console, result: ScoreResult) -> None:
    a = result.agreement
    if not a or a.get("entries") is None:
        return
    alpha, icc = a.get("krippendorff_alpha"), a.get("icc")
    parts = [kendall_text(a), f"Krippendorff's alpha {_f(alpha)} ({reading_alpha(alpha)})"]
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
    # on a narrow terminal names and flags wrap between words (a name cut "Barthol|omew" or a flag "lenien|t" is
    # misread); the sheet, then the chart, then the rank correlation are left out before that (--json has them)
    table = FitTable(Col("Juror"), Col("Sheet", drop=1), Col("Entries", justify="right", no_wrap=True),
                     Col("Mean", justify="right", no_wrap=True), Col("Offset", justify="right", no_wrap=True),
                     Col("Rank corr.", justify="right", drop=3), Col(chart, no_wrap=True, drop=2), Col("Flag"),
                     title="Jurors (weighted score of each entry, sheet's scale)", title_justify="left",
                     note="(left out to fit the terminal: {columns}; --json lists them)")
    for juror, r in report.iterrows():
        flag = r["flag"]
        style = {"harsh": "yellow", "lenient": "yellow", "against the panel": "red"}.get(flag, "")
        table.add_row(escape(str(juror)), escape(str(r.get("sheet") or "")), str(int(r["n"])), _f(r["mean"], 1),
                      "–" if r["offset"] != r["offset"] else f"{float(r['offset']):+.1f}", _f(r["corr"]),
                      f"[cyan]{spark(r['distribution'], buckets)}[/]",
                      f"[{style}]{escape(flag)}[/]" if flag else "")
    console.print(table)


def render_design(console: Console, result: ScoreResult) -> None:
    """Which methods fit the jury's design (a quorum: per-juror z-scores mislead), under the comparison."""
    if result.design is None:
        return
    for i, line in enumerate(result.design.lines()):
        console.print(("[bold]" + escape(line) + "[/]") if i == 0 else escape(line))


def render_compare(console: Console, result: ScoreResult) -> None:
    if result.compare is None:
        return
    if result.compare.empty:
        console.print(f"[bold]Compare:[/] no entry's award changes under {', '.join(result.compare_methods[1:])}.")
        render_design(console, result)
        return
    table = FitTable(Col("Anon ID", no_wrap=True), Col("Category"),
                     *(Col(f"[bold]{m}[/] (used)" if m == result.method else m) for m in result.compare_methods),
                     title="Entries whose award another method would change (rank · award)", title_justify="left")
    for _, r in result.compare.iterrows():
        cells = [escape(str(r["anon_id"])), escape(str(r["category"] or ""))]
        for m in result.compare_methods:
            rank, award = r[f"rank:{m}"], r[f"award:{m}"]
            rank_s = "–" if rank is None or rank is pd.NA or rank != rank else str(int(rank))
            cells.append(f"{rank_s} · {escape(str(award)) if award else '—'}")
        table.add_row(*cells)
    console.print(table)
    render_design(console, result)


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
    if result.allow_missing:
        console.print(allow_missing_text(result))
    if result.preview:
        if result.rankable:
            console.print("[bold]Compare only: nothing stored[/] (the scores, the ranking and the record of runs "
                          "are as they were); run score again without --compare to store this ranking.")
        else:
            console.print(f"[bold]Compare only: nothing stored.[/] As it stands no ranking could be stored: "
                          f"{escape(result.blocked or '')}")
    elif result.ranked:
        console.print(f"[green]Ranking stored[/] (method {result.method}, run {result.run_id}); "
                      f"{stored_text(result)}.")
    else:
        console.print(f"[bold red]No ranking stored:[/] {escape(result.blocked or '')} ({stored_text(result)}).")


def _n(count: int, one: str, many: str | None = None) -> str:
    return f"{count} {one if count == 1 else (many or one + 's')}"


def stored_text(result: ScoreResult) -> str:
    """What this run put in the ledger, as the chair counts it: whole scores apart from rows kept with gaps."""
    if not result.stored:
        return "this run stored no scores"
    parts = [f"{_n(result.stored_complete, 'complete juror×entry score')} stored"]
    if result.stored_incomplete:
        parts.append(f"{_n(result.stored_incomplete, 'row')} with missing or unusable cells kept as gaps (not "
                     "used, never counted as 0)")
    if result.stored_recused:
        parts.append(_n(result.stored_recused, "recusal"))
    parts.append(f"replacing {_n(result.replaced_rows, 'row')} these jurors had stored" if result.replaced_rows
                 else "none replaced")
    return ", ".join(parts)


def allow_missing_text(result: ScoreResult) -> str:
    """What --allow-missing did in this run, in words (the --help says what it does in general)."""
    if not result.errors:
        return "--allow-missing: nothing to allow, every required score is in."
    if not result.rankable:
        return "--allow-missing: the usable scores could not be ranked either (see above)."
    effects = []
    if result.gap_entries:
        effects.append(f"{_n(result.gap_entries, 'entry', 'entries')} combined over the jurors who scored "
                       f"{'it' if result.gap_entries == 1 else 'them'} completely")
    if result.unranked:
        effects.append(f"{_n(result.unranked, 'entry', 'entries')} no juror scored completely left without a rank")
    done = "; ".join(effects) if effects else "no entry lost a score"
    standing = "the problem above still stands" if len(result.errors) == 1 else \
        f"the {len(result.errors)} problems above still stand"
    return (f"--allow-missing: ranked from the complete scores only ({done}); nothing was filled in, and "
            f"{standing}: send the corrected sheets and run score again.")
