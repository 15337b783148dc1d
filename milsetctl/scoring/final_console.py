"""Terminal output of `jury final` and `score --final`: the short list, then the final beside the score order with
its ties named. Renderers format a result; they compute nothing."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape

from milsetctl.console import Col, FitTable
from milsetctl.scoring.final import FinalScoreResult
from milsetctl.scoring.finalsheets import FinalSheetsResult
from milsetctl.scoring.read import Problem


def _award(award: str | None) -> str:
    return "—" if not award else {"qualifier": "Qualifier"}.get(award, award)


def render_final_sheets(console: Console, result: FinalSheetsResult) -> None:
    issue = result.issue
    for note in result.notes:
        console.print(f"[cyan]note:[/] {escape(note)}")
    if issue is None:
        console.print("[bold]No final needed:[/] no short list has entries the scores cannot separate; the awards "
                      "follow the scores (SPEC). No sheet written.")
        return
    for g in issue.groups:
        if issue.mode == "cut":
            places = f"{g.seats} Qualifier place{'s' if g.seats != 1 else ''}"
            console.print(f"[bold]Final — {escape(g.label)}:[/] {len(g.entries)} entries within {g.k:g} standard "
                          f"error ({g.se:.2f} points) of the Qualifier cut (rank <= {g.cut}, score "
                          f"{g.reference:.2f}); their ranking would decide who takes {places}, if the chair uses it "
                          "(`awards --use-final`; by default the scores decide and ties at the cut all qualify).")
        else:
            console.print(f"[bold]Final — the top {g.cut} places:[/] {len(g.entries)} entries (ranks 1-{g.cut} and "
                          f"those within {g.k:g} standard error, {g.se:.2f} points, of place {g.cut}'s score "
                          f"{g.reference:.2f}).")
        table = FitTable(Col("Score rank", justify="right"), Col("Anon ID"), Col("Entry"),
                         Col("Score", justify="right"))
        for a in g.entries:
            table.add_row(str(g.score_ranks[a]), escape(a), escape(g.entry_ids[a]), f"{g.scores[a]:.2f}")
        console.print(table)
    conflicts = sum(len(j.conflicts) for j in issue.jurors)
    console.print(f"Final {issue.final_id}: {len(result.files)} sheets written"
                  + (f" in {escape(str(result.files[0]).rsplit('/', 1)[0])}/" if result.files else "")
                  + f" (a thumbnail of {result.thumbnails} of the {sum(len(g.entries) for g in issue.groups)} "
                    "photos on each"
                  + (f"; {conflicts} conflict{'s' if conflicts != 1 else ''} of interest marked" if conflicts else "")
                  + "). Each juror ranks the list; then `milsetctl score --final "
                  + escape(str(result.files[0]).rsplit("/", 1)[0] if result.files else "DIR") + "/`.")
    for warning in result.warnings:
        console.print(f"[yellow]warning:[/] {escape(warning)}")


def _problems(console: Console, problems: list[Problem], title: str, style: str) -> None:
    if not problems:
        return
    table = FitTable(Col("Sheet", fold=True), Col("Juror"), Col("Row", no_wrap=True), Col("Cell"),
                     Col("Problem", fold=True), title=title, title_justify="left", title_style=style)
    for p in problems:
        table.add_row(escape(p.sheet or "(final)"), escape(p.juror or ""), "" if p.row is None else str(p.row),
                      escape(p.cell or ""), escape(f"{p.problem} [{p.code}]" if p.code else p.problem))
    console.print(table)


def render_final_score(console: Console, result: FinalScoreResult) -> None:
    issue = result.issue
    n = len(result.outcome.jurors) if result.outcome else 0
    console.print(f"Read {len(result.sheets)} final sheet{'s' if len(result.sheets) != 1 else ''} of final "
                  f"{issue.final_id}: {n} of {len(issue.jurors)} jurors' rankings usable; {len(result.errors)} "
                  f"problem{'s' if len(result.errors) != 1 else ''}")
    _problems(console, result.errors, f"Problems ({len(result.errors)})", "bold red")
    _problems(console, result.notes, f"Notes ({len(result.notes)})", "dim")
    if result.outcome is not None:
        award_word = "Qualifier" if issue.mode == "cut" else "Award"
        for go in result.outcome.groups:
            g = go.group
            lines = result.lines.get(g.group, [])
            # headers wrap between their words, values are single words: the table fits 80 columns
            table = FitTable(Col("Final", justify="right"), Col("Anon ID"), Col("Entry", drop=1),
                             Col("Score rank", justify="right"), Col("Score", justify="right"),
                             Col(f"{award_word} by score"), Col(f"{award_word} by final"),
                             title=f"{g.label}: the final (Schulze over {go.ballots} rankings) beside the score order",
                             title_justify="left")
            score_rank_count: dict[int, int] = {}
            for ln in lines:
                score_rank_count[ln.score_rank] = score_rank_count.get(ln.score_rank, 0) + 1
            for ln in lines:
                final = f"{ln.final_rank}{'=' if ln.tied_with else ''}"
                srank = f"{ln.score_rank}{'=' if score_rank_count[ln.score_rank] > 1 else ''}"
                changed = ln.award_by_score != ln.award_by_final
                style = "bold yellow" if changed else ""
                by_final = _award(ln.award_by_final)
                table.add_row(final, escape(ln.anon_id), escape(ln.entry_id), srank, f"{ln.score:.2f}",
                              _award(ln.award_by_score), f"[{style}]{escape(by_final)}[/]" if style else by_final)
            console.print(table)
            order = go.result.order
            pairs = [f"{escape(a)} over {escape(b)} {go.result.d[(a, b)]}-{go.result.d[(b, a)]}"
                     for a, b in zip(order, order[1:], strict=False)]
            if pairs:
                console.print("Jurors ranking each above the next (for-against): " + "; ".join(pairs) + ".")
            for tier in go.result.ties:
                place = go.final_ranks[tier[0]]
                p = go.result.p[(tier[0], tier[1])]
                console.print(f"[bold]Tie in the final:[/] {', '.join(escape(a) for a in tier)} share rank {place} "
                              f"(strongest paths equal both ways, {p}); nothing breaks it"
                              + (": every one of them gets the award (SPEC: ties at the cut all qualify)"
                                 if place <= g.cut < place + len(tier) - 1 else "") + ".")
    changes = result.changes()
    if result.outcome is not None:
        if changes:
            moved = "; ".join(f"{c['entry_id']} ({c['anon_id']}): {_award(c['by_score'])} by the scores, "
                              f"{_award(c['by_final'])} by the final" for c in changes)
            console.print(f"[bold]The final would change {len(changes)} award{'s' if len(changes) != 1 else ''}:[/] "
                          f"{escape(moved)}")
        else:
            console.print("[bold]The final changes no award:[/] it confirms the scores at the cut.")
    if result.recorded and result.outcome is not None:
        console.print(f"[green]Final recorded[/] in the ledger and the audit trail (rankings digest "
                      f"{result.outcome.digest[:19]}…). The awards still follow the scores (SPEC default); "
                      "`milsetctl awards --use-final` gives them from this final, if the chair so decides.")
    else:
        console.print("[bold red]Final not recorded:[/] fix the problems above and run `score --final` again.")
