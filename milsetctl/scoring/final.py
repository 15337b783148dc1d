"""A fair final for the places that matter: the entries the scores cannot separate, ranked once more by every
juror, combined with the Schulze method (issue 20).

Why: a mean of 3-10 jurors' marks carries an error. Entries a fraction of a point apart on either side of the
Qualifier cut (or of the third global place) are ordered by noise as much as by merit; asking every juror to rank
just those entries against each other, side by side, gives a comparison every juror actually made.

What the final is:
- the short list (`shortlist`), from the stored ranking and the standard error of the scores:
  - national stage, `--cut`: per category, the entries whose score lies within one standard error (k x SE) of the
    score on the Qualifier cut (the lowest qualifying score: rank <= floor(0.35 x entries), SPEC). It is a final only
    when it holds entries on both sides of the cut; otherwise the scores decide and the category has no final;
  - global stage, `--places N`: the entries ranked 1..N (all of a tie on N) and those below whose score is within
    one standard error of the N-th score (they could be in the top N).
  The standard error of an entry's score is the sample standard deviation of its jurors' weighted scores over the
  square root of their number (on the 0-100 scale; an entry with fewer than 2 jurors has none). The band uses one
  standard error per category: the root mean square of its entries' standard errors, the typical uncertainty of
  a score there (one entry's own, from 3 jurors, is too noisy to draw a line with; zero when they agreed).
- the band occupies ranks first..last of its category (it is contiguous in score order); the final re-orders it
  inside those places and changes nothing outside it. An entry's final rank = first + its Schulze place - 1; tied
  entries share it (1, 2, 2, 4), and so ties at the cut still all qualify (SPEC).
- the outcome is recorded, with the digest of every ranking and the outcome, in the ledger's audit trail and in
  the ledger (`meta` key `jury_final_result`). It changes no award by itself: the SPEC default (awards from the
  scores, ties at the cut all qualify) stays the default, and `milsetctl awards --use-final` is the chair's choice
  to give the awards from the final (`apply_final`), recorded in the audit trail too.

The sheets themselves are written by `milsetctl.scoring.finalsheets`; this module reads them back (`read_final_sheets`),
combines (`combine`) and records (`record_outcome`).
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from milsetctl.problem_codes import Coded
from milsetctl.scoring.read import RECUSAL, Problem, ProblemSplit
from milsetctl.scoring.schulze import SchulzeResult, schulze
from milsetctl.stages import FINAL_ISSUED_KEY, FINAL_READ_KEY, FINAL_RESULT_KEY

# ledger meta keys (kept in stages.py, which `status` reads them with): the final handed out (FinalIssue as JSON),
# the combined outcome (FinalOutcome as JSON), what the last `score --final` read back
ISSUED_KEY, RESULT_KEY, READ_KEY = FINAL_ISSUED_KEY, FINAL_RESULT_KEY, FINAL_READ_KEY
FINAL_DIR = Path("jury") / "final"
# the sheet's layout, shared with the writer (scoring.finalsheets)
INSTRUCTIONS, SHEET, HIDDEN = "Instructions", "Final", "milsetctl"
HEADERS = ("anon_id", "group", "photo", "your rank", "comment")  # read back by name, never by position
RANK_COLUMN = "your rank"
KIND = "final"  # the hidden sheet's `kind`: a score sheet has none


class FinalError(ValueError):
    """The final cannot be made or used as asked (wrong stage, no ranking, a ranking changed since): exit 2.
    `said` is the message with its problem code (milsetctl/problem_codes.py, area "jury final"), which is what
    str() gives, so the terminal shows the code at the end as the awards' refusals do."""

    def __init__(self, code: str, message: str) -> None:
        self.said = Coded(code, message)
        super().__init__(self.said)

    @property
    def code(self) -> str:
        return self.said.code


# --- the short list -------------------------------------------------------------------------------------------------
def standard_errors(matrix: pd.DataFrame, score_max: float) -> pd.Series:
    """Per entry (the matrix's index), the standard error of its mean score on the 0-100 scale.

    `matrix`: each juror's weighted score of each entry on the sheet's scale (`aggregate.juror_entry_scores`), NaN
    where not scored. SE = sample sd (ddof 1) / sqrt(jurors); NaN for fewer than 2 jurors.
    """
    values = matrix.to_numpy(dtype=float)
    n = (~np.isnan(values)).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.nansum(values, axis=1) / np.maximum(n, 1)
        ss = np.nansum((values - mean[:, None]) ** 2, axis=1)
        sd = np.sqrt(ss / np.maximum(n - 1, 1))
        se = np.where(n >= 2, sd / np.sqrt(np.maximum(n, 1)), np.nan) / score_max * 100.0
    return pd.Series(se, index=matrix.index, name="se")


def typical_se(ses: Sequence[float]) -> float | None:
    """Root mean square of the standard errors there are (None when none): one band width per category."""
    arr = np.asarray([s for s in ses if s is not None and not math.isnan(s)], dtype=float)
    return float(np.sqrt((arr**2).mean())) if arr.size else None


@dataclass
class FinalGroup:
    """One short list: a category at the national stage (`--cut`), all entries at the global stage (`--places`).

    entries: anon IDs in score order; first: the rank the band starts at (it fills ranks first..first+n-1);
    cut: the rank the award stops at (national: the Qualifier cut, rank <= cut; global: N places);
    reference: the score on the cut (national) or of the N-th place (global); se: the band's standard error.
    """

    group: str | None
    cut: int
    first: int
    reference: float
    se: float
    k: float
    entries: list[str]
    entry_ids: dict[str, str]
    scores: dict[str, float]
    score_ranks: dict[str, int]

    @property
    def seats(self) -> int:
        """How many of the band's places are under the cut (what the final decides)."""
        return max(0, min(len(self.entries), self.cut - self.first + 1))

    @property
    def label(self) -> str:
        return self.group if self.group is not None else "overall"


def shortlist(ranking: pd.DataFrame, ses: pd.Series, *, stage: str, places: int | None, cut: bool,
              qualifier_fraction: float = 0.35, k: float = 1.0) -> tuple[list[FinalGroup], list[str]]:
    """The short lists of a final, and a note per category that needs none (and why).

    `ranking`: index anon_id, columns entry_id, category, score (0-100), rank (within category at the national
    stage, overall at the global stage; <NA> unscored), as `score` stores it. `ses`: anon_id -> standard error.
    Raises FinalError when the mode does not fit the stage.
    """
    from milsetctl.awards.select import qualifier_cut

    if (places is None) == (not cut):
        raise FinalError("final-mode",
                         "say which final: --places N (global stage: the top N places) or --cut (national stage: "
                         "the entries within one standard error of the Qualifier cut)")
    if cut and stage != "national":
        raise FinalError("final-mode",
                         "--cut is the national stage's Qualifier cut; at the global stage use --places N")
    if places is not None and stage != "global":
        raise FinalError("final-mode",
                         "--places N is for the global stage's top places; at the national stage use --cut (the "
                         "Qualifier cut is the place that matters there)")
    if places is not None and places < 1:
        raise FinalError("final-mode", "--places must be at least 1")
    if k < 0:
        raise FinalError("final-mode", "--se must not be negative")
    frame = ranking.copy()
    frame["rank"] = pd.to_numeric(frame["rank"]).astype("Float64")
    groups: list[FinalGroup] = []
    notes: list[str] = []  # Coded
    if stage == "national":
        cat = frame["category"].astype(object).where(frame["category"].notna(), None)
        keys = list(dict.fromkeys(cat.tolist()))
        parts = [(c, frame[(cat == c).to_numpy()] if c is not None else frame[cat.isna().to_numpy()]) for c in keys]
    else:
        parts = [(None, frame)]
    for group, part in parts:
        label = group if group is not None else "overall"
        ranked = part[part["rank"].notna() & part["score"].notna()].copy()
        if ranked.empty:
            notes.append(Coded("final-not-needed", f"{label}: nothing ranked"))
            continue
        ranked = ranked.sort_values(["rank", "score"], ascending=[True, False], kind="stable")
        rank_of = ranked["rank"].astype(float)
        # national: the Qualifier cut of the category (its eligible entries, ranked or not); global: N places
        limit = qualifier_cut(len(part), qualifier_fraction) if stage == "national" else int(places or 0)
        inside = ranked[rank_of.to_numpy() <= limit]
        if inside.empty:
            notes.append(Coded("final-not-needed", f"{label}: no entry within rank {limit}"))
            continue
        reference = float(inside["score"].min())
        se = typical_se([float(ses.get(a, np.nan)) for a in ranked.index])
        if se is None:
            notes.append(Coded("final-no-band", f"{label}: no standard error (no entry has 2 or more jurors' "
                               "scores), so no band around the cut can be drawn"))
            continue
        score = ranked["score"].astype(float).to_numpy()
        near = np.abs(score - reference) <= k * se + 1e-9
        if stage == "national":
            band = ranked[near]
        else:
            band = ranked[(rank_of.to_numpy() <= limit) | (score >= reference - k * se - 1e-9)]
        below = band[band["rank"].astype(float).to_numpy() > limit]
        above = band[band["rank"].astype(float).to_numpy() <= limit]
        if stage == "national" and (below.empty or above.empty):
            notes.append(Coded("final-not-needed", f"{label}: no entry within {k:g} standard error ({se:.2f} "
                               f"points) {'below' if below.empty else 'above'} the cut (score {reference:.2f}, rank "
                               f"<= {limit}): the scores decide"))
            continue
        if len(band) < 2:
            notes.append(Coded("final-not-needed", f"{label}: a single entry on the short list; nothing to rank"))
            continue
        first = int(band["rank"].astype(float).min())
        groups.append(FinalGroup(
            group=group, cut=limit, first=first, reference=round(reference, 6), se=round(se, 6), k=k,
            entries=[str(a) for a in band.index], entry_ids={str(a): str(e) for a, e in band["entry_id"].items()},
            scores={str(a): round(float(s), 6) for a, s in band["score"].items()},
            score_ranks={str(a): int(r) for a, r in band["rank"].items()}))
    return groups, notes


# --- the final handed out --------------------------------------------------------------------------------------------
@dataclass
class FinalJuror:
    juror_id: str
    name: str
    conflicts: list[str] = field(default_factory=list)  # anon IDs the juror must not rank (conflict of interest)
    file: str | None = None  # relative to the workspace


@dataclass
class FinalIssue:
    """A final as `jury final` handed it out: kept in the ledger, checked against every returned sheet."""

    final_id: str
    round_id: str
    stage: str
    mode: str  # "cut" or "places"
    places: int | None
    k: float
    run_id: int  # the score run whose ranking the short list was drawn from
    method: str
    made_at: str
    groups: list[FinalGroup]
    jurors: list[FinalJuror]

    def as_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> FinalIssue:
        values = dict(data)
        values["groups"] = [FinalGroup(**g) for g in data["groups"]]
        values["jurors"] = [FinalJuror(**j) for j in data["jurors"]]
        return cls(**values)

    def group(self, name: str | None) -> FinalGroup | None:
        return next((g for g in self.groups if g.group == name), None)


def issued(ledger: Any) -> FinalIssue | None:
    text = ledger.meta_value(ISSUED_KEY)
    return FinalIssue.from_json(json.loads(text)) if text else None


# --- reading the returned sheets ---------------------------------------------------------------------------------
@dataclass
class Ballot:
    """One juror's rankings: (group, anon_id) -> place (None: left blank for a conflict or a recusal)."""

    juror_id: str
    juror: str
    sheet: str
    places: dict[tuple[str | None, str], int | None]


@dataclass
class FinalRead(ProblemSplit):
    problems: list[Problem]
    ballots: list[Ballot]
    refused: list[str] = field(default_factory=list)


def final_paths(paths: Sequence[Path]) -> list[Path]:
    """Files as given; a folder gives its .xlsx files (not its sub-folders), sorted. Raises FileNotFoundError."""
    out: list[Path] = []
    for p in paths:
        path = Path(p)
        if path.is_dir():
            out.extend(sorted(q for q in path.iterdir() if q.suffix.lower() == ".xlsx" and not q.name.startswith(
                ("~$", ".~lock"))))
        elif path.is_file():
            out.append(path)
        else:
            raise FileNotFoundError(f"no such final sheet or folder: {path}")
    return out


_GROUP_NONE = {"", "overall", "none"}


def _group_key(value: Any) -> str | None:
    text = "" if value is None else str(value).strip()
    return None if text.casefold() in _GROUP_NONE else text


def _place(value: Any) -> int | None | str:
    """A rank cell: an int, None (blank), or the text as typed when it is no whole number."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int | float):
        return int(value) if float(value).is_integer() else str(value)
    import unicodedata

    text = unicodedata.normalize("NFKC", str(value)).strip().rstrip(".")
    text = re.sub(r"(?i)^(no\.?|#)\s*", "", text)
    try:
        number = float(text)
    except ValueError:
        return str(value)
    return int(number) if number.is_integer() else str(value)


def read_final_sheets(paths: Sequence[Path], issue: FinalIssue) -> FinalRead:
    """Read the returned final sheets against the final handed out; every problem named with sheet, juror, row
    and cell. A blank rank is a problem unless the entry is the juror's conflict of interest or the comment says
    RECUSED (then the juror has no opinion on it: `schulze` compares it with nothing on that ballot)."""
    from openpyxl import load_workbook
    from openpyxl.utils import get_column_letter

    problems: list[Problem] = []
    ballots: list[Ballot] = []
    refused: list[str] = []
    jurors = {j.juror_id: j for j in issue.jurors}
    seen: dict[str, str] = {}
    for path in paths:
        name = path.name
        try:
            book = load_workbook(path, read_only=True, data_only=True)
        except Exception as exc:  # noqa: BLE001 - any unreadable file is named, never skipped in silence
            problems.append(Problem(name, None, None, None, f"cannot be read as an XLSX final sheet ({exc})",
                                    code="final-sheet-unreadable"))
            refused.append(name)
            continue
        try:
            meta: dict[str, str] = {}
            if HIDDEN in book.sheetnames:
                for row in book[HIDDEN].iter_rows(values_only=True):
                    if row and row[0] is not None and len(row) > 1:
                        meta[str(row[0])] = "" if row[1] is None else str(row[1])
            if meta.get("kind") != KIND or SHEET not in book.sheetnames:
                problems.append(Problem(name, None, None, None, "not a final sheet (no 'Final' tab made by "
                                        "`milsetctl jury final`): a score sheet goes to `score` without --final",
                                        code="final-sheet-not-final"))
                refused.append(name)
                continue
            if meta.get("final_id") != issue.final_id:
                problems.append(Problem(name, meta.get("juror"), None, None,
                                        f"made for final {meta.get('final_id') or '?'}, not for the final handed out "
                                        f"now ({issue.final_id}): send the juror the current sheet",
                                        code="final-sheet-other-final"))
                refused.append(name)
                continue
            juror_id = meta.get("juror_id", "")
            juror = jurors.get(juror_id)
            if juror is None:
                problems.append(Problem(name, meta.get("juror"), None, None, f"juror {juror_id or '?'} is not "
                                        "one this final was handed to", code="final-juror-unknown"))
                refused.append(name)
                continue
            if juror_id in seen:
                problems.append(Problem(name, juror.name, None, None, f"juror {juror.name} ({juror_id}) twice: "
                                        f"also in {seen[juror_id]}; keep one of the two files",
                                        code="final-juror-twice"))
                refused.append(name)
                continue
            seen[juror_id] = name
            rows = book[SHEET].iter_rows(values_only=True)
            header = [str(h).strip().casefold() if h is not None else "" for h in next(rows, ())]
            col = {h: i for i, h in enumerate(header)}
            if "anon_id" not in col or RANK_COLUMN not in col:
                problems.append(Problem(name, juror.name, 1, None, f"the header row lacks anon_id or "
                                        f"'{RANK_COLUMN}' (do not change the headers)",
                                        code="final-sheet-header"))
                refused.append(name)
                continue
            rank_col = get_column_letter(col[RANK_COLUMN] + 1)
            places: dict[tuple[str | None, str], int | None] = {}
            conflicts = set(juror.conflicts)
            for r, row in enumerate(rows, start=2):
                cells = list(row) + [None] * (len(header) - len(row))
                anon = cells[col["anon_id"]]
                if anon is None or not str(anon).strip():
                    continue
                anon = str(anon).strip()
                group_name = _group_key(cells[col["group"]]) if "group" in col else None
                group = issue.group(group_name)
                if group is None or anon not in group.entries:
                    group = next((g for g in issue.groups if anon in g.entries), None)
                if group is None:
                    problems.append(Problem(name, juror.name, r, f"A{r}", f"{anon} is not on this final's short "
                                            "list", code="final-entry-unknown"))
                    continue
                key = (group.group, anon)
                if key in places:
                    problems.append(Problem(name, juror.name, r, f"A{r}", f"{anon} twice on the sheet",
                                            code="final-entry-twice"))
                    continue
                value = _place(cells[col[RANK_COLUMN]])
                comment = cells[col["comment"]] if "comment" in col else None
                where = f"{rank_col}{r}"
                if value is None:
                    if anon in conflicts or (comment and RECUSAL.search(str(comment))):
                        places[key] = None
                    else:
                        problems.append(Problem(name, juror.name, r, where, f"{anon}: no rank (give each photo a "
                                                f"rank 1-{len(group.entries)}; leave it blank only when recusing, "
                                                "with RECUSED in the comment)", code="final-rank-blank"))
                    continue
                if isinstance(value, str) or not 1 <= value <= len(group.entries):
                    problems.append(Problem(name, juror.name, r, where, f"{anon}: rank {value!r} is not a whole "
                                            f"number from 1 to {len(group.entries)}",
                                            code="final-rank-invalid"))
                    continue
                if anon in conflicts:
                    problems.append(Problem(name, juror.name, r, where, f"{anon}: ranked despite a conflict of "
                                            "interest; the rank is not used", severity="note",
                                            code="final-rank-conflict"))
                    places[key] = None
                    continue
                places[key] = value
            for g in issue.groups:
                missing = [a for a in g.entries if (g.group, a) not in places]
                for a in missing:
                    problems.append(Problem(name, juror.name, None, None, f"{a} ({g.label}) is missing from the "
                                            "sheet (rows must not be deleted)", code="final-entry-missing"))
                ranks = [v for (gg, _a), v in places.items() if gg == g.group and v is not None]
                repeated = sorted({v for v in ranks if ranks.count(v) > 1})
                if repeated:
                    problems.append(Problem(name, juror.name, None, None, f"{g.label}: rank "
                                            f"{', '.join(map(str, repeated))} given to more than one photo: counted "
                                            "as a tie between them on this juror's ranking", severity="note",
                                            code="final-rank-shared"))
            ballots.append(Ballot(juror_id, juror.name, name, places))
        finally:
            book.close()
    for j in issue.jurors:
        if j.juror_id not in seen:
            problems.append(Problem(None, j.name, None, None, f"no final sheet from juror {j.name} ({j.juror_id}) "
                                    "yet: the final is combined over the sheets returned", severity="note",
                                    code="final-juror-no-sheet"))
    return FinalRead(problems=problems, ballots=ballots, refused=refused)


# --- combining ------------------------------------------------------------------------------------------------------
@dataclass
class GroupOutcome:
    group: FinalGroup
    result: SchulzeResult
    final_ranks: dict[str, int]  # anon -> rank within the category (first + Schulze place - 1)
    ballots: int  # rankings counted (a juror with every entry blank counts for nothing)


@dataclass
class FinalOutcome:
    final_id: str
    run_id: int
    digest: str  # sha256 of every ranking counted (juror ID, group, anon ID, place), canonical JSON
    jurors: list[str]  # juror IDs whose rankings were counted
    groups: list[GroupOutcome]

    def final_ranks(self) -> dict[str, int]:
        return {a: r for g in self.groups for a, r in g.final_ranks.items()}

    def as_json(self) -> dict[str, Any]:
        return {"final_id": self.final_id, "run_id": self.run_id, "digest": self.digest, "jurors": self.jurors,
                "groups": [{"group": g.group.group, "first": g.group.first, "cut": g.group.cut,
                            "tiers": g.result.tiers, "final_ranks": g.final_ranks, "ballots": g.ballots}
                           for g in self.groups]}


def rankings_digest(ballots: Sequence[Ballot]) -> str:
    rows = sorted([b.juror_id, g or "", a, p] for b in ballots for (g, a), p in b.places.items())
    text = json.dumps(rows, ensure_ascii=False, separators=(",", ":"))
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()


def combine(issue: FinalIssue, ballots: Sequence[Ballot]) -> FinalOutcome:
    """Schulze over each short list; each entry's rank within its category follows from its Schulze place."""
    outcomes = []
    for g in issue.groups:
        votes = [{a: p for (gg, a), p in b.places.items() if gg == g.group and p is not None} for b in ballots]
        votes = [v for v in votes if v]
        result = schulze(votes, g.entries)
        final_ranks = {a: g.first + place - 1 for a, place in result.ranks.items()}
        outcomes.append(GroupOutcome(g, result, final_ranks, len(votes)))
    return FinalOutcome(issue.final_id, issue.run_id, rankings_digest(ballots), [b.juror_id for b in ballots],
                        outcomes)


def record_outcome(ledger: Any, issue: FinalIssue, outcome: FinalOutcome, changes: list[dict[str, Any]]) -> None:
    """Keep the outcome in the ledger and append its audit record, in one transaction: the record says the
    rankings' digest, who ranked (juror IDs), the order with its ties, and which awards it would change."""
    detail = {"final_id": issue.final_id, "mode": issue.mode, "places": issue.places, "score_run": issue.run_id,
              "rankings_digest": outcome.digest, "jurors": outcome.jurors,
              "groups": [{"group": g.group.group, "order": [[g.group.entry_ids[a] + f" ({a})" for a in tier]
                                                          for tier in g.result.tiers],
                          "ties": [[g.group.entry_ids[a] for a in t] for t in g.result.ties], "ballots": g.ballots}
                         for g in outcome.groups],
              "would_change": changes, "adopted": False}
    text = json.dumps(outcome.as_json(), ensure_ascii=False)
    with ledger.db:
        ledger.db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (RESULT_KEY, text))
        ledger.audit("jury-final", detail)


def stored_outcome(ledger: Any) -> dict[str, Any] | None:
    text = ledger.meta_value(RESULT_KEY)
    return json.loads(text) if text else None


def apply_final(frame: pd.DataFrame, stored: dict[str, Any], run_id: int) -> tuple[pd.DataFrame, list[str]]:
    """The ranking with the final's ranks in place of the score ranks of the short-listed entries (the chair's
    `awards --use-final`). `frame`: index anon_id, column `rank`. Returns (frame, anon IDs whose rank changed).

    Raises FinalError when the final was drawn from another ranking than the one stored now (a `score` ran since:
    the short list may no longer be the entries near the cut).
    """
    if int(stored.get("run_id", -1)) != int(run_id):
        raise FinalError("final-ranking-changed",
                         f"the final {stored.get('final_id')} was drawn from the ranking of score run "
                         f"{stored.get('run_id')}, and the ranking stored now is run {run_id}: make a new final "
                         "(`milsetctl jury final`), or give the awards from the scores (without --use-final)")
    out = frame.copy()
    out["rank"] = pd.to_numeric(out["rank"]).astype("Int64")
    changed = []
    for g in stored.get("groups", []):
        for anon, rank in g["final_ranks"].items():
            if anon not in out.index:
                raise FinalError("final-ranking-changed",
                                 f"the final ranks {anon}, which the stored ranking no longer holds: make a new "
                                 "final (`milsetctl jury final`)")
            if int(out.at[anon, "rank"]) != int(rank):
                changed.append(anon)
            out.at[anon, "rank"] = int(rank)
    return out, changed


# --- `score --final` as a library call ---------------------------------------------------------------------------
def stored_ranking(ledger: Any) -> tuple[pd.DataFrame, int, str]:
    """The ranking `score` stored: (frame indexed by anon_id with entry_id, category, score, rank; run ID; method).
    Raises FinalError when there is none."""
    rows = [dict(r) for r in ledger.ranking()]
    if not rows:
        raise FinalError("final-no-ranking", "no ranking yet: run `milsetctl score SHEETS...` first")
    frame = pd.DataFrame(rows).set_index("anon_id", drop=False)
    frame.index.name = None
    frame["rank"] = pd.to_numeric(frame["rank"]).astype("Int64")
    return frame, int(rows[0]["run_id"]), str(rows[0]["method"])


@dataclass
class EntryLine:
    """One short-listed entry, side by side: the score order and the final's."""

    anon_id: str
    entry_id: str
    score: float
    score_rank: int
    final_place: int  # place within the short list (1 = best of it), shared by a tie
    final_rank: int  # rank within the category once the final is applied
    award_by_score: str | None
    award_by_final: str | None
    tied_with: list[str] = field(default_factory=list)  # anon IDs sharing its final place

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class FinalScoreResult(ProblemSplit):
    problems: list[Problem]
    issue: FinalIssue
    sheets: list[str]
    outcome: FinalOutcome | None = None
    lines: dict[str | None, list[EntryLine]] = field(default_factory=dict)  # group -> lines in final order
    recorded: bool = False
    refused: list[str] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        return 0 if self.recorded else 1

    def changes(self) -> list[dict[str, Any]]:
        return [{"entry_id": ln.entry_id, "anon_id": ln.anon_id, "by_score": ln.award_by_score,
                 "by_final": ln.award_by_final}
                for lines in self.lines.values() for ln in lines if ln.award_by_score != ln.award_by_final]

    def as_json(self) -> dict[str, Any]:
        groups = []
        for g in self.issue.groups:
            go = next((o for o in (self.outcome.groups if self.outcome else []) if o.group.group == g.group), None)
            groups.append({"group": g.group, "cut": g.cut, "first": g.first, "reference_score": g.reference,
                           "se": g.se, "k": g.k, "ballots": go.ballots if go else 0,
                           "entries": [ln.as_json() for ln in self.lines.get(g.group, [])],
                           "ties": go.result.ties if go else []})
        return {"final_id": self.issue.final_id, "mode": self.issue.mode, "places": self.issue.places,
                "stage": self.issue.stage, "recorded": self.recorded,
                "digest": self.outcome.digest if self.outcome else None,
                "jurors": self.outcome.jurors if self.outcome else [], "sheets": self.sheets, "groups": groups,
                "changes": self.changes(), "problems": [p.as_json() for p in self.errors],
                "notes": [p.as_json() for p in self.notes]}


def _awards_of(ws: Any, frame: pd.DataFrame) -> dict[str, str | None]:
    from milsetctl.awards.select import select_awards

    options = ws.settings.awards
    chosen = select_awards(frame[["entry_id", "category", "score", "rank"]], stage=ws.settings.stage,
                           qualifier_fraction=float(options.get("qualifier_fraction", 0.35)),
                           global_top=int(options.get("global_top", 3)),
                           gallery_size=int(options.get("gallery_size", 10))).frame
    return {str(a): (None if w is None or w != w else str(w)) for a, w in chosen["award"].items()}


def score_final(ws: Any, sheets: Sequence[Path]) -> FinalScoreResult:
    """Read the returned final sheets, combine them with the Schulze method, show the outcome beside the score
    order and record it (ledger and audit trail) when no problem stands. Awards are not changed (`awards
    --use-final` does that). Raises FinalError when no final was handed out, the ranking changed since, or a
    path does not exist."""
    issue = issued(ws.ledger)
    if issue is None:
        raise FinalError("final-not-made",
                         "no final handed out: run `milsetctl jury final --cut` (national) or `--places N` (global) "
                         "first, then give the jurors the sheets it writes")
    frame, run_id, _method = stored_ranking(ws.ledger)
    if run_id != issue.run_id:
        raise FinalError("final-ranking-changed",
                         f"the final {issue.final_id} was drawn from the ranking of score run {issue.run_id}; the "
                         f"ranking stored now is run {run_id}: make a new final (`milsetctl jury final`)")
    try:
        paths = final_paths(sheets)
    except FileNotFoundError as exc:
        raise FinalError("final-sheets-missing", str(exc)) from None
    if not paths:
        raise FinalError("final-sheets-missing", f"no final sheets (.xlsx) in {', '.join(str(s) for s in sheets)}")
    read = read_final_sheets(paths, issue)
    # what came back, for `status` (how many of the jurors' rankings this final has read)
    ws.ledger.set_meta(READ_KEY, json.dumps({"final_id": issue.final_id, "sheets": [p.name for p in paths],
                                             "jurors": [b.juror_id for b in read.ballots]}))
    result = FinalScoreResult(problems=list(read.problems), issue=issue, sheets=[p.name for p in paths],
                              refused=read.refused)
    if not read.ballots:
        result.problems.append(Problem(None, None, None, None, "no usable final sheet: nothing to combine",
                                        code="final-no-usable-sheet"))
        return result
    outcome = combine(issue, read.ballots)
    result.outcome = outcome
    applied, _changed = apply_final(frame, outcome.as_json(), run_id)
    by_score, by_final = _awards_of(ws, frame), _awards_of(ws, applied)
    for go in outcome.groups:
        g = go.group
        places = go.result.ranks
        lines = [EntryLine(a, g.entry_ids[a], g.scores[a], g.score_ranks[a], places[a], go.final_ranks[a],
                           by_score.get(a), by_final.get(a),
                           [b for b in g.entries if b != a and places[b] == places[a]])
                 for a in go.result.order]
        result.lines[g.group] = lines
    if not result.errors:
        record_outcome(ws.ledger, issue, outcome, result.changes())
        result.recorded = True
    return result
