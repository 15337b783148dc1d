"""`awards`: the award list from the stored ranking, kept in the ledger.

The rule itself is `milsetctl.awards.select.select_awards` (pure, on the ranking frame): at the national stage
the Qualifier Award per category (SPEC "Ranking defaults": rank <= floor(qualifier_fraction x eligible entries of
the category), at least one, entries sharing the last qualifying rank all qualify); at the global stage
`global-1..3` for the best three overall and `gallery` for places 4-10 (settings `[awards]`). This module reads
the ranking the last `score` stored, applies that rule with the contest's settings, names the entries tied on a
cut (entry ID, contestant, title: the chair has to say who), stores the list and builds the rows the renderers
and the export show.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any

from milsetctl.problem_codes import Coded, issues_json
from milsetctl.workspace import Workspace

AWARDS = ("qualifier", "global-1", "global-2", "global-3", "gallery")
CATEGORY_ORDER = {"middle": 0, "high": 1}  # grades 7-9 first, as the call lists them


class NoRankingError(LookupError):
    """Nothing ranked yet: `score` has not stored a ranking. `said` is the message with its problem code
    (milsetctl/problem_codes.py), which is what str() gives."""

    problem = "awards-no-ranking"

    def __init__(self, message: str) -> None:
        self.said = Coded(self.problem, message)
        super().__init__(self.said)


class StaleRankingError(NoRankingError):
    """The stored ranking no longer describes the round: an entry ranked then is not eligible now, or an eligible
    entry was never scored. Awards from it would be wrong, so none are given until `score` runs again."""

    problem = "awards-ranking-stale"


def stale_ranking(ws: Workspace, ranking: list[dict[str, Any]], entries: dict[str, Any]) -> list[str]:
    """Why the stored ranking is out of date (empty when it is current): one line per entry, naming it.

    entries: entry_id -> ledger row, every entry the ledger has (present or not)."""
    ranked = {r["entry_id"] for r in ranking}
    packaged = {r["entry_id"]: r["anon_id"] for r in ws.ledger.anon_rows()}
    reasons = []
    for entry_id in sorted(ranked):
        e = entries.get(entry_id)
        if e is None or e["status"] != "eligible" or not e["present"]:
            status = "gone from the submissions" if e is None or not e["present"] else f"now {e['status']}"
            reasons.append(f"{entry_id} is ranked but {status}")
    for entry_id, e in sorted(entries.items()):
        if e["status"] == "eligible" and e["present"] and entry_id not in ranked:
            if entry_id in packaged:
                reasons.append(f"{entry_id} ({packaged[entry_id]}) is eligible but was not scored")
            else:
                reasons.append(f"{entry_id} is eligible but not in the jury package (run `milsetctl anonymise` "
                               "and `milsetctl jury sheets`)")
    return reasons


@dataclass
class AwardRow:
    entry_id: str
    anon_id: str
    category: str | None
    score: float | None  # 0-100
    rank: int | None  # 1 = best, within the category (overall at the global stage)
    award: str | None
    contestant_id: str | None = None
    name: str | None = None
    school: str | None = None
    title: str | None = None
    country: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {"entry_id": self.entry_id, "anon_id": self.anon_id, "category": self.category,
                "score": None if self.score is None else round(self.score, 4), "rank": self.rank,
                "award": self.award}

    def who(self) -> str:
        """'E0003 (CN2022-103, 刘䶮, "Night sky 3")': how a tie is reported."""
        parts = [p for p in (self.contestant_id, self.name) if p]
        if self.title:
            parts.append(f'"{self.title}"')
        return f"{self.entry_id} ({', '.join(parts)})" if parts else self.entry_id


@dataclass
class Tie:
    """Entries sharing a rank that decides an award (select_awards' ties): every one of them gets it (SPEC)."""

    category: str | None  # None at the global stage (one overall list)
    rank: int
    award: str  # the award the shared rank gets
    entries: list[AwardRow]
    cut: int | None = None  # national: the category's qualifying cut (rank <= cut)

    @property
    def code(self) -> str:
        """The tie's problem code: on the qualifier cut, on a global-N rank, or on the gallery cut."""
        return {"qualifier": "awards-tie-qualifier", "gallery": "awards-tie-gallery"}.get(self.award,
                                                                                            "awards-tie-medal")

    def said(self) -> Coded:
        """The message with its code, as the terminal shows it."""
        return Coded(self.code, self.message())

    def message(self) -> str:
        names = "; ".join(r.who() for r in self.entries)
        n = len(self.entries)
        if self.award == "qualifier":
            return (f"{self.category}: tie on the qualifier cut: {n} entries share rank {self.rank} "
                    f"(cut: rank <= {self.cut}), all qualify: {names}")
        if self.award == "gallery":
            return f"tie on the gallery cut: {n} entries share rank {self.rank}, all in the gallery: {names}"
        return f"tie for {self.award}: {n} entries share rank {self.rank}, all get {self.award}: {names}"

    def as_json(self) -> dict[str, Any]:
        return {"category": self.category, "rank": self.rank, "award": self.award, "cut": self.cut, "code": self.code,
                "entries": [{"entry_id": r.entry_id, "anon_id": r.anon_id, "contestant_id": r.contestant_id,
                             "name": r.name, "title": r.title} for r in self.entries]}


@dataclass
class AwardsResult:
    stage: str
    method: str
    run_id: int
    rows: list[AwardRow]  # category, then rank (national); rank (global)
    # national: category -> qualifying cut (rank <= cut); global: {"global": global_top, "gallery": gallery_size}
    cuts: dict[str, int] = field(default_factory=dict)
    ties: list[Tie] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)  # Coded
    # `awards --use-final`: the jury final the ranks come from (final_id, digest, entries whose rank it changed)
    final: dict[str, Any] | None = None

    @property
    def categories(self) -> list[str | None]:
        seen: list[str | None] = []
        for r in self.rows:
            if r.category not in seen:
                seen.append(r.category)
        return seen

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for r in self.rows:
            if r.award:
                out[r.award] = out.get(r.award, 0) + 1
        return out

    def as_json(self) -> dict[str, Any]:
        """SPEC's `awards --json`: {"entries": [{entry_id, anon_id, category, score, rank, award}], ...}."""
        return {"stage": self.stage, "method": self.method, "entries": [r.as_json() for r in self.rows],
                "cuts": self.cuts, "ties": [t.as_json() for t in self.ties], "counts": self.counts(),
                "warnings": self.warnings, "final": self.final,
                # the ties and warnings with their codes (milsetctl/problem_codes.py)
                "issues": issues_json([*(t.said() for t in self.ties), *self.warnings])}


def _none(value: Any) -> Any:
    """pandas' NaN/NA as None."""
    if value is None or type(value) in (str, int):  # what the ledger's rows hold: no pandas call per cell
        return value
    if type(value) is float:
        return None if math.isnan(value) else value
    try:
        if isinstance(value, float) and math.isnan(value):
            return None
        import pandas as pd

        return None if pd.isna(value) else value
    except (TypeError, ValueError):
        return value


def compute_awards(ws: Workspace, store: bool = True, use_final: bool = False) -> AwardsResult:
    """Apply the award rule to the stored ranking with the contest's settings; store the list unless told not to.

    Returns the rows joined with the entries (name, school, title: for the chair's table and the tie report).
    Raises NoRankingError when `score` has stored no ranking yet. use_final: the chair's choice to take the
    short-listed entries' ranks from the recorded jury final (`score --final`; scoring/final.py) instead of the
    scores; raises scoring.final.FinalError when none is recorded for the stored ranking.
    """
    import pandas as pd

    from milsetctl import stages
    from milsetctl.awards.select import select_awards
    from milsetctl.models import StageError

    ranking = [dict(r) for r in ws.ledger.ranking()]
    if not ranking:
        raise NoRankingError("no ranking yet: run `milsetctl score SHEETS...` first")
    try:
        stages.require(ws, "awards", "milsetctl awards")
    except StageError as exc:
        raise StaleRankingError(str(exc)) from None
    entries = {r["entry_id"]: r for r in ws.ledger.entries(present_only=False)}
    stale = stale_ranking(ws, ranking, entries)
    if stale:
        shown = "; ".join(stale[:8]) + (f"; and {len(stale) - 8} more" if len(stale) > 8 else "")
        raise StaleRankingError(f"the ranking is out of date, so no awards are given: {shown}. Run `milsetctl "
                                "score` again with the sheets (it re-ranks the eligible entries)")
    settings = ws.settings
    stage = settings.stage
    options = settings.awards
    frame = pd.DataFrame(ranking).set_index("anon_id", drop=False)
    frame.index.name = None
    frame["rank"] = pd.to_numeric(frame["rank"]).astype("Int64")
    final = _final_ranks(ws, frame, int(ranking[0]["run_id"])) if use_final else None
    if final is not None:
        frame = final.pop("frame")
        for r in ranking:
            r["rank"] = int(frame.at[r["anon_id"], "rank"]) if _none(r["rank"]) is not None else r["rank"]
    selected = select_awards(
        frame[["entry_id", "anon_id", "category", "score", "rank"]], stage=stage,
        qualifier_fraction=float(options.get("qualifier_fraction", 0.35)),
        global_top=int(options.get("global_top", 3)), gallery_size=int(options.get("gallery_size", 10)),
    )
    award_of = dict(zip(selected.frame["entry_id"].tolist(), selected.frame["award"].tolist(), strict=True))
    rows: list[AwardRow] = []
    warnings: list[str] = []
    run = next((dict(r) for r in ws.ledger.score_runs() if r["run_id"] == ranking[0]["run_id"]), None)
    detail = json.loads(run["detail"] or "{}") if run else {}
    if detail.get("allow_missing") and detail.get("errors"):
        warnings.append(Coded("awards-allow-missing", f"the ranking was stored with --allow-missing despite "
                              f"{detail['errors']} problem(s) in the sheets: some entries are ranked on fewer jurors' "
                              "scores than others"))
    unranked = [r["entry_id"] for r in ranking if _none(r["rank"]) is None]
    if unranked:
        warnings.append(Coded("awards-unscored", f"no score at all, so no rank and no award: {', '.join(unranked)}"))
    for r in ranking:
        e = entries.get(r["entry_id"])
        rank = _none(r["rank"])
        rows.append(AwardRow(
            entry_id=r["entry_id"], anon_id=r["anon_id"], category=_none(r["category"]),
            score=None if _none(r["score"]) is None else float(r["score"]),
            rank=None if rank is None else int(rank), award=_none(award_of.get(r["entry_id"])),
            contestant_id=e["contestant_id"] if e else None, name=e["name"] if e else None,
            school=e["school"] if e else None, title=e["title"] if e else None, country=e["country"] if e else None,
        ))
    global_stage = stage == "global"
    rows.sort(key=lambda a: (("", 0) if global_stage else (CATEGORY_ORDER.get(a.category or "", 9), a.category or ""))
              + (a.rank is None, a.rank or 0, a.entry_id))
    by_anon = {r.anon_id: r for r in rows}
    cuts = {("none" if k is None else str(k)): int(v) for k, v in selected.cuts.items()}
    ties = [Tie(category, rank, _tie_award(stage, rank, selected.cuts),
                sorted((by_anon[a] for a in anon_ids if a in by_anon), key=lambda r: r.entry_id),
                None if global_stage else selected.cuts.get(category))
            for category, rank, anon_ids in selected.ties]
    if store:
        ws.ledger.save_awards([{**r.as_json(), "score": r.score} for r in rows], stage)
        if final is not None:
            ws.ledger.audit("awards-final", {**final, "awarded": {r.entry_id: r.award for r in rows
                                                                   if r.anon_id in final["entries"]}})
        # which final the awards came from (`status` says whether the jury final was used)
        stages.record(ws, "awards", {"final_id": final["final_id"]} if final is not None else None)
    return AwardsResult(stage, str(ranking[0]["method"]), int(ranking[0]["run_id"]), rows, cuts, ties, warnings,
                        final)


def _final_ranks(ws: Workspace, frame: Any, run_id: int) -> dict[str, Any]:
    """The ranking with the recorded jury final's ranks (scoring/final.py), and what to record about it."""
    from milsetctl.scoring.final import FinalError, apply_final, stored_outcome

    stored = stored_outcome(ws.ledger)
    if stored is None:
        raise FinalError("final-not-combined",
                         "--use-final: no jury final is recorded; run `milsetctl jury final`, then `milsetctl score "
                         "--final` with the returned sheets")
    applied, changed = apply_final(frame, stored, run_id)
    entries = sorted(a for g in stored["groups"] for a in g["final_ranks"])
    return {"frame": applied, "final_id": stored["final_id"], "rankings_digest": stored["digest"],
            "entries": entries, "rank_changed": sorted(changed)}


def _tie_award(stage: str, rank: int, cuts: dict[Any, int]) -> str:
    """The award whose cut a tie falls on."""
    if stage != "global":
        return "qualifier"
    return f"global-{rank}" if rank <= cuts.get("global", 3) else "gallery"
