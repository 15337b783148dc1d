"""`score`: read the filled-in sheets, store the scores, combine them, rank, and say how far the jurors agree.

The arithmetic is `milsetctl.scoring.aggregate` / `.agreement` and `milsetctl.awards.select` (pure functions);
this module is the round around them: which sheets, which entries are in the round, what is stored when, and
what blocks the ranking (SPEC "Jury, awards and secretariat commands": no ranking is stored while a required
score is missing, unless --allow-missing).

What is stored when:
- the scores of the sheets read replace the stored scores of the same jurors (one transaction, with an audit
  record of how many were replaced), unless a sheet problem (an error) stands and --allow-missing is not given:
  then nothing at all changes in the ledger;
- the ranking is computed from every stored score of the round (this run's jurors and those stored by earlier
  runs) and stored unless a problem stands (a sheet problem, a juror with assigned entries and no scores, an entry
  nobody scored); with --allow-missing it is stored anyway, over the scores there are.
- order, so that a run killed at any point leaves nothing that disagrees: the previous ranking is withdrawn, then
  the scores are replaced, then the new ranking is stored (three transactions). A run killed in between leaves the
  old scores or the new ones whole, and no ranking; the next run completes the work. When the scores are stored but
  the ranking is blocked, no ranking stays: the old one no longer matches the scores.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from milsetctl.scoring.aggregate import ScoreCube, prepare
from milsetctl.scoring.read import (
    RECUSAL,
    Problem,
    ProblemSplit,
    Roster,
    SheetsRead,
    read_sheets,
    score_column,
    sheet_paths,
)

Progress = Callable[[str], None]


class ScoreUsageError(ValueError):
    """The command cannot run as asked (no such sheet, no sheets in a folder, an unknown method): exit 2."""


@dataclass
class ScoreResult(ProblemSplit):
    """Everything `score` found and did; the CLI prints it, `as_json` is SPEC's `score --json`.

    ranking: index anon_id; entry_id, category, score (0-100), rank (Int64, <NA> unscored), jurors and the
      per-criterion combined scores; every entry of the round, ranked or not. None when nothing could be combined.
    jurors: `agreement.juror_report` plus `sheet` (where the juror's scores came from), index juror.
    compare: one row per entry whose award changes under another method: anon_id, entry_id, category, then
      `rank:<method>` and `award:<method>` for every method (the chosen one first).
    """

    method: str
    stage: str
    criteria: list[str]
    score_min: float
    score_max: float
    sheets: list[str]
    problems: list[Problem]
    stored: bool
    ranked: bool
    run_id: int | None
    replaced_rows: int
    stored_rows: int
    ranking: pd.DataFrame | None
    agreement: dict[str, Any]
    jurors: pd.DataFrame | None
    compare: pd.DataFrame | None = None
    compare_methods: list[str] = field(default_factory=list)
    design: Any = None  # --compare: scoring.design.DesignAdvice, which methods fit the design (a quorum or not)
    blocked: str | None = None  # why no ranking was stored, in one sentence
    category_order: list[str] = field(default_factory=list)  # the contest's categories, youngest first
    read_jurors: list[str] = field(default_factory=list)  # the jurors this run's sheets hold
    refused: list[str] = field(default_factory=list)  # sheets not used at all
    preview: bool = False  # --compare: everything computed, nothing stored (no scores, ranking or run record)
    rankable: bool = False  # the ranking stands (stored, or in a preview: would be stored by the same run)
    allow_missing: bool = False
    # what the stored juror x entry rows hold: every criterion scored / some cell blank or unusable (kept as a gap,
    # left out of the ranking) / a recusal (nothing owed); they add up to stored_rows
    stored_complete: int = 0
    stored_incomplete: int = 0
    stored_recused: int = 0
    gap_entries: int = 0  # entries of the round combined without some juror's incomplete score
    unranked: int = 0  # entries of the round with no complete score at all (no rank)

    @property
    def exit_code(self) -> int:
        """0 when a ranking was stored (with --compare: would be), 1 when problems blocked it (SPEC)."""
        return 0 if self.rankable else 1

    def entries_json(self) -> list[dict[str, Any]]:
        if self.ranking is None or not self.rankable:
            return []
        r = self.ranking
        return [{"entry_id": e, "anon_id": a, "category": _none(cat),
                 "score": None if _none(sc) is None else round(float(sc), 4), "rank": _int(rk)}
                for e, a, cat, sc, rk in zip(r["entry_id"].tolist(), r.index.tolist(), r["category"].tolist(),
                                             r["score"].tolist(), r["rank"].tolist(), strict=True)]

    def as_json(self) -> dict[str, Any]:
        """SPEC: {"entries": [{entry_id, anon_id, category, score, rank}], "agreement": {kendall_w,
        krippendorff_alpha}, "problems": [{sheet, juror, row, cell, problem}]} plus the method, the jurors,
        notes, and (with --compare) the entries whose award another method would change."""
        agreement = {"kendall_w": _num(self.agreement.get("kendall_w")),
                     "krippendorff_alpha": _num(self.agreement.get("krippendorff_alpha")),
                     "icc": self.agreement.get("icc"),
                     "kendall_w_entries": self.agreement.get("complete_entries")}
        jurors = []
        if self.jurors is not None:
            for juror, r in self.jurors.iterrows():
                jurors.append({"juror": juror, "sheet": r.get("sheet"), "entries": int(r["n"]), "mean": _num(r["mean"]),
                               "sd": _num(r["sd"]), "offset": _num(r["offset"]), "corr": _num(r["corr"]),
                               "flag": r["flag"] or None,
                               "distribution": {str(k): int(v) for k, v in r["distribution"].items()}})
        out: dict[str, Any] = {
            "entries": self.entries_json(),
            "agreement": agreement,
            "problems": [p.as_json() for p in self.errors],
            "notes": [p.as_json() for p in self.notes],
            "method": self.method,
            "stage": self.stage,
            "ranking_stored": self.ranked,
            "scores_stored": self.stored,
            "stored": {"rows": self.stored_rows, "complete": self.stored_complete,
                       "incomplete": self.stored_incomplete, "recused": self.stored_recused,
                       "replaced": self.replaced_rows},
            "allow_missing": self.allow_missing,
            "compare_only": self.preview,
            "run_id": self.run_id,
            "sheets": self.sheets,
            "jurors": jurors,
        }
        if self.blocked:
            out["blocked"] = self.blocked
        if self.compare is not None:
            rows = []
            for _, r in self.compare.iterrows():
                rows.append({"entry_id": r["entry_id"], "anon_id": r["anon_id"], "category": _none(r["category"]),
                             "methods": {m: {"rank": None if _none(r[f"rank:{m}"]) is None else int(r[f"rank:{m}"]),
                                             "award": _none(r[f"award:{m}"])} for m in self.compare_methods}})
            out["compare"] = rows
        if self.design is not None:
            out["design"] = self.design.as_json()
        return out


def _none(value: Any) -> Any:
    if value is None or value is pd.NA:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def _int(value: Any) -> int | None:
    value = _none(value)
    return None if value is None else int(value)


def _num(value: Any) -> float | None:
    value = _none(value)
    return None if value is None else round(float(value), 6)


@dataclass
class _Round:
    """The entries of the round: anon ID -> entry, category; which anon IDs are out of it (withdrawn, no longer
    eligible)."""

    entry_of: dict[str, str]
    category_of: dict[str, str | None]
    in_round: list[str]
    out_of_round: set[str]
    unpackaged: list[str]  # eligible entries with no anonymous ID yet (accepted after `anonymise` ran)


def _round_entries(ws: Any) -> _Round:
    entries = {r["entry_id"]: r for r in ws.ledger.entries()}
    entry_of: dict[str, str] = {}
    category_of: dict[str, str | None] = {}
    in_round: list[str] = []
    out: set[str] = set()
    for r in ws.ledger.anon_rows(include_withdrawn=True):
        anon, entry_id = r["anon_id"], r["entry_id"]
        entry_of[anon] = entry_id
        e = entries.get(entry_id)
        category_of[anon] = e["category"] if e is not None else None
        if r["withdrawn"] or e is None or e["status"] != "eligible":
            out.add(anon)
        else:
            in_round.append(anon)
    packaged = set(entry_of.values())
    unpackaged = [e for e, r in entries.items() if r["status"] == "eligible" and e not in packaged]
    return _Round(entry_of, category_of, in_round, out, sorted(unpackaged))


def _json_rows(pairs: pd.DataFrame, criteria: Sequence[str]) -> Sequence[tuple[Any, ...]]:
    """The ledger rows (juror, anon_id, {criterion: score} as JSON, comment, sheet, row), built column-wise.

    Whole scores are written as integers ("7", not "7.0"), an unusable cell as null.
    """
    n = len(pairs)
    if n == 0:
        return []
    # a juror x entry row is one of few score combinations (10 values + blank per criterion): code each row's
    # combination, write the JSON of each distinct combination once, and spread the texts back by code
    values = pairs[[score_column(c) for c in criteria]].to_numpy(dtype=float)
    combo = np.zeros(n, dtype=np.int64)
    radix = 1
    per_column = []
    for k in range(len(criteria)):
        col_codes, col_values = pd.factorize(values[:, k], use_na_sentinel=False)
        if radix * max(1, len(col_values)) > 2**62:  # a continuous scale: too many combinations, write each row
            return _rows(pairs, [_json_object(criteria, row) for row in values])
        combo += col_codes.astype(np.int64) * radix
        radix *= max(1, len(col_values))
        per_column.append(np.asarray(col_values, dtype=float))
    codes, uniques = pd.factorize(combo)
    # '"originality": 7' for each criterion and each of its values, joined per combination: each combination's
    # digit per criterion picks its fragment (numpy), one join per combination
    fragments = [np.array([json.dumps({c: _json_value(v)}, ensure_ascii=False)[1:-1] for v in col_values] or [""],
                          dtype=object) for c, col_values in zip(criteria, per_column, strict=True)]
    rest = np.asarray(uniques, dtype=np.int64)
    picked = []
    for k, col_values in enumerate(per_column):
        rest, digit = np.divmod(rest, max(1, len(col_values)))
        picked.append(fragments[k][digit].tolist())
    texts = ["{" + ", ".join(parts) + "}" for parts in zip(*picked, strict=True)]
    return _rows(pairs, np.array(texts, dtype=object)[codes].tolist())


def _json_value(v: float) -> int | float | None:
    return None if math.isnan(v) else int(v) if float(v).is_integer() else float(v)


def _json_object(criteria: Sequence[str], values: Sequence[float]) -> str:
    return json.dumps({c: _json_value(v) for c, v in zip(criteria, values, strict=True)}, ensure_ascii=False)


class _ScoreRows(Sequence[tuple[Any, ...]]):
    """The ledger rows (juror, anon_id, scores JSON, comment, sheet, row) kept as six columns.

    A sequence of tuples to whoever reads it; `ledger.replace_scores` sees `columns` and inserts 150,000 rows
    without building a tuple for each.
    """

    def __init__(self, columns: list[list[Any]]) -> None:
        self.columns = columns

    def __len__(self) -> int:
        return len(self.columns[0])

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, slice):
            return list(zip(*(c[index] for c in self.columns), strict=True))
        return tuple(c[index] for c in self.columns)

    def __iter__(self) -> Any:
        return zip(*self.columns, strict=True)


def _rows(pairs: pd.DataFrame, texts: list[str]) -> _ScoreRows:
    comments: Any = pairs["comment"].to_numpy(dtype=object)
    comments = np.where(pd.isna(comments), None, comments)
    return _ScoreRows([pairs["juror"].tolist(), pairs["anon_id"].tolist(), list(texts), comments.tolist(),
                       pairs["sheet"].tolist(), pairs["row"].astype(np.int64).tolist()])


def _stored_frame(rows: Sequence[tuple[Any, ...]], criteria: Sequence[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Stored ledger rows -> (long scores frame, pairs frame with the sheet each came from). One JSON parse."""
    if not rows:
        o = np.array([], dtype=object)
        return (pd.DataFrame({"juror": pd.Series(o, dtype=object), "anon_id": pd.Series(o, dtype=object),
                              "criterion": pd.Series(o, dtype=object), "score": pd.Series([], dtype=float)}),
                pd.DataFrame({"juror": pd.Series(o, dtype=object), "anon_id": pd.Series(o, dtype=object),
                              "sheet": pd.Series(o, dtype=object), "row": pd.Series(o, dtype=object),
                              "complete": pd.Series([], dtype=bool), "lacking": pd.Series(o, dtype=object)}))
    juror = np.array([r[0] for r in rows], dtype=object)
    anon = np.array([r[1] for r in rows], dtype=object)
    objs = json.loads("[" + ",".join(r[2] for r in rows) + "]")
    parts = []
    complete = np.ones(len(rows), dtype=bool)
    lacking = np.full(len(rows), "", dtype=object)
    for c in criteria:
        v = np.array([o.get(c) for o in objs], dtype=float)  # None -> nan
        complete &= ~np.isnan(v)
        lacking[np.isnan(v)] += ("" if c == criteria[0] else " ") + c
        parts.append(pd.concat([pd.Series(juror, dtype=object, name="juror"),
                                pd.Series(anon, dtype=object, name="anon_id"),
                                pd.Series(np.full(len(rows), c, dtype=object), dtype=object, name="criterion"),
                                pd.Series(v, name="score")], axis=1))
    long = pd.concat(parts, ignore_index=True)
    long = long[~long["score"].isna()].reset_index(drop=True)
    # a juror who recused themselves (scores blank, RECUSED in the comment) owes nothing for that entry; only the
    # incomplete rows are looked at (a score run reads 150,000 rows)
    recused = np.zeros(len(rows), dtype=bool)
    for i in np.flatnonzero(~complete).tolist():
        if rows[i][3] and all(v is None for v in objs[i].values()) and RECUSAL.search(str(rows[i][3])):
            recused[i] = True
    complete |= recused
    lacking[recused] = ""
    pairs = pd.DataFrame({"juror": pd.Series(juror, dtype=object), "anon_id": pd.Series(anon, dtype=object),
                          "sheet": pd.Series([r[4] for r in rows], dtype=object),
                          "row": pd.Series([r[5] for r in rows], dtype=object), "complete": complete,
                          "lacking": pd.Series(lacking, dtype=object)})
    return long, pairs


def score_round(ws: Any, sheets: Sequence[Path], *, method: str | None = None, allow_missing: bool = False,
                compare: bool = False, progress: Progress | None = None, forget: Sequence[str] = ()) -> ScoreResult:
    """Read `sheets` (files, or folders of .xlsx/.csv), store, combine, rank, measure agreement.

    Settings used: jury.criteria/weights/score_min/score_max/method/trimmed_min_jurors, stage, awards.* (for
    --compare). Ranks run within each category at the national stage and overall at the global stage (SPEC
    "Workspace"). Raises ScoreUsageError for a sheet path that does not exist, folders holding no sheet, or an
    unknown method, or a `forget` juror with no stored scores; every problem with the sheets themselves is in
    the result, never raised. forget: jurors whose stored scores this run drops (any spelling of their name).
    """
    from milsetctl.scoring.aggregate import METHODS

    say = progress or (lambda _msg: None)
    jury = ws.settings.jury
    criteria = [str(c) for c in jury["criteria"]]
    weights = [float(w) for w in jury.get("weights") or [1] * len(criteria)]
    score_min, score_max = float(jury["score_min"]), float(jury["score_max"])
    if len(weights) != len(criteria):
        raise ScoreUsageError(f"settings jury.weights has {len(weights)} values for {len(criteria)} criteria "
                              f"({', '.join(criteria)}): give one weight per criterion in contest.toml")
    method = method or str(jury.get("method") or "mean")
    if method not in METHODS:
        raise ScoreUsageError(f"unknown method {method!r}: use one of {', '.join(METHODS)}")
    stage = ws.settings.stage
    try:
        paths = sheet_paths(sheets)
    except FileNotFoundError as exc:
        raise ScoreUsageError(str(exc)) from None
    if not paths:
        raise ScoreUsageError(f"no score sheets (.xlsx or .csv) in {', '.join(str(s) for s in sheets)}")

    rnd = _round_entries(ws)
    roster = Roster.from_ledger(ws.ledger)
    say(f"Reading {len(paths)} sheet{'s' if len(paths) != 1 else ''}")
    read = read_sheets(paths, criteria=criteria, score_min=score_min, score_max=score_max,
                       known_anon_ids=set(rnd.entry_of), round_id=ws.ledger.round_id(), roster=roster,
                       withdrawn=rnd.out_of_round)
    problems = list(read.problems)
    if not rnd.entry_of:
        problems.append(Problem(None, None, None, None, "the round has no anonymous IDs yet: run `milsetctl "
                                "anonymise` first, then hand out the sheets", code="round-not-packaged"))
    elif rnd.unpackaged:
        shown = ", ".join(rnd.unpackaged[:10]) + (" ..." if len(rnd.unpackaged) > 10 else "")
        problems.append(Problem(None, None, None, None, f"{len(rnd.unpackaged)} eligible entr"
                                f"{'y has' if len(rnd.unpackaged) == 1 else 'ies have'} no anonymous ID, so no "
                                f"juror could score {'it' if len(rnd.unpackaged) == 1 else 'them'} ({shown}): "
                                "run `milsetctl anonymise`, then `milsetctl jury sheets`", code="round-not-packaged"))

    # this run's jurors replace their stored scores; every other stored juror stays
    new_jurors = set(read.jurors)
    if forget:  # stored scores of these jurors go with this run (a sheet stored under a wrong name before)
        from milsetctl.models import person_key

        on_record = [r[0] for r in ws.ledger.db.execute("SELECT DISTINCT juror FROM scores")]
        for name in forget:
            same = [s for s in on_record if person_key(s) == person_key(name)]
            if not same:
                raise ScoreUsageError(f"--forget {name!r}: no scores of that juror are stored (stored: "
                                      f"{', '.join(sorted(on_record)) or 'none'})")
            new_jurors.update(same)
    old_long, old_pairs = _stored_frame(ws.ledger.score_rows_except(new_jurors), criteria)
    combined = pd.concat([old_long, read.scores], ignore_index=True) if len(old_long) else read.scores
    in_round = combined["anon_id"].isin(set(rnd.in_round)).to_numpy()
    if not in_round.all():
        combined = combined[in_round].reset_index(drop=True)
        for col in ("juror", "anon_id", "criterion"):  # a juror or entry left without rows must not linger
            if isinstance(combined[col].dtype, pd.CategoricalDtype):
                combined[col] = combined[col].cat.remove_unused_categories()
    # the text columns turned into codes once, for every aggregation, the agreement matrix and --compare
    cube = prepare(combined, criteria=criteria) if len(combined) else None
    sheet_of = {**dict(zip(old_pairs["juror"], old_pairs["sheet"], strict=True)), **read.sheet_of}

    problems.extend(_round_problems(read, old_pairs, rnd, roster, criteria))
    sheet_errors = any(p.severity == "error" for p in read.problems)
    any_errors = any(p.severity == "error" for p in problems)

    say("Combining and ranking")
    ranking = _ranking(cube, rnd, criteria, weights, score_min, score_max, method,
                       int(jury.get("trimmed_min_jurors", 5)), stage) if cube is not None else None
    storable = (not sheet_errors or allow_missing) and bool(rnd.entry_of)
    rankable = storable and ranking is not None and (not any_errors or allow_missing)
    # --compare is a look, not a run: the ledger (scores, ranking, run record, audit) stays as it was
    store_scores, ranked = storable and not compare, rankable and not compare
    run_id: int | None = None
    replaced = stored = 0
    kinds = {"complete": 0, "incomplete": 0, "recused": 0}
    if store_scores:
        say("Storing the scores")
        to_store = read.pairs[read.pairs["anon_id"].isin(set(rnd.entry_of))]
        kinds = _row_kinds(to_store, criteria)
        rows = _json_rows(to_store, criteria)
        detail = {"errors": sum(p.severity == "error" for p in read.problems),
                  "notes": sum(p.severity != "error" for p in read.problems), "refused": read.refused,
                  "allow_missing": allow_missing}
        # three transactions, ordered so that a run killed between them never leaves a ranking that disagrees
        # with the stored scores: the old ranking goes first, the new one comes last (the next run completes it)
        ws.ledger.save_ranking([], method, 0)
        run_id = ws.ledger.replace_scores(sorted(new_jurors), rows, method, [str(p) for p in paths], detail)
        info = json.loads(ws.ledger.score_runs()[-1]["detail"] or "{}")
        replaced, stored = int(info.get("replaced_rows", 0)), int(info.get("stored_rows", len(rows)))
        if ranked and ranking is not None:
            ws.ledger.save_ranking(_ranking_rows(ranking, criteria), method, run_id)
            from milsetctl import stages

            stages.record(ws, "score", {"sheets": [str(Path(s).resolve()) for s in sheets]})
    blocked = None
    if not rankable:
        if not storable and rnd.entry_of:
            blocked = ("the sheets have problems: nothing was stored; fix them and run score again, or rank the "
                       "usable scores with --allow-missing")
        elif ranking is None:
            blocked = "no usable scores to rank"
        else:
            blocked = ("required scores are missing: the scores read were stored but no ranking; run score again "
                       "when they are in, or rank what there is with --allow-missing")

    say("Measuring agreement")
    agreement, jurors = _agreement(cube, criteria, weights, sheet_of)

    compare_frame: pd.DataFrame | None = None
    methods: list[str] = []
    design = None
    if compare and ranking is not None and cube is not None:
        say("Comparing methods")
        compare_frame, methods = _compare(ws, cube, rnd, criteria, weights, score_min, score_max, method,
                                          int(jury.get("trimmed_min_jurors", 5)), stage)
        design = _design(ws, cube, ranking, criteria, weights, score_max, method,
                         int(jury.get("trimmed_min_jurors", 5)), stage)
    return ScoreResult(method=method, stage=stage, criteria=criteria, score_min=score_min, score_max=score_max,
                       sheets=[p.name for p in paths], problems=problems, stored=store_scores, ranked=ranked,
                       run_id=run_id, replaced_rows=replaced, stored_rows=stored, ranking=ranking,
                       agreement=agreement, jurors=jurors, compare=compare_frame, compare_methods=methods,
                       design=design,
                       blocked=blocked, read_jurors=list(read.jurors), refused=list(read.refused),
                       category_order=[str(c) for c, grades in ws.settings.section("entrants").items()
                                                         if isinstance(grades, list)],
                       preview=compare, rankable=rankable, allow_missing=allow_missing,
                       stored_complete=kinds["complete"], stored_incomplete=kinds["incomplete"],
                       stored_recused=kinds["recused"], gap_entries=len(_gap_entries(read, old_pairs, rnd, criteria)),
                       unranked=0 if ranking is None else int(ranking["rank"].isna().sum()))


def _recused(pairs: pd.DataFrame, criteria: Sequence[str]) -> np.ndarray:
    """Rows whose scores are all blank with a recusal in the comment (the sheet's instructions): nothing owed."""
    blank = ~pairs[[score_column(c) for c in criteria]].notna().any(axis=1).to_numpy()
    if "comment" not in pairs.columns or not blank.any():
        return np.zeros(len(pairs), dtype=bool)
    comments = pairs["comment"].to_numpy(dtype=object)
    out = np.zeros(len(pairs), dtype=bool)
    for i in np.flatnonzero(blank).tolist():  # only the blank rows: a score run has 150,000
        out[i] = isinstance(comments[i], str) and bool(RECUSAL.search(comments[i]))
    return out


def _row_kinds(pairs: pd.DataFrame, criteria: Sequence[str]) -> dict[str, int]:
    """How many of the juror x entry rows about to be stored are whole scores, gaps and recusals: `score` says
    what it stored (with --allow-missing, 21 usable scores and 9 rows with gaps is not "30 scores")."""
    complete = pairs[[score_column(c) for c in criteria]].notna().all(axis=1).to_numpy()
    recused = _recused(pairs, criteria) & ~complete
    return {"complete": int(complete.sum()), "recused": int(recused.sum()),
            "incomplete": int(len(pairs) - complete.sum() - recused.sum())}


def _gap_entries(read: SheetsRead, old_pairs: pd.DataFrame, rnd: _Round, criteria: Sequence[str]) -> set[str]:
    """Entries of the round that some juror scored incompletely (this run's sheets, or stored by an earlier
    --allow-missing run): the ranking combines them over the other jurors only."""
    in_round = set(rnd.in_round)
    new = read.pairs
    new_gap = ~new[[score_column(c) for c in criteria]].notna().all(axis=1).to_numpy() & ~_recused(new, criteria)
    out = {a for a in new["anon_id"][new_gap] if a in in_round}
    if len(old_pairs):
        old = old_pairs[~old_pairs["juror"].isin(set(read.jurors)) & ~old_pairs["complete"].to_numpy(dtype=bool)]
        out |= {a for a in old["anon_id"] if a in in_round}
    return out


def _round_problems(read: SheetsRead, old_pairs: pd.DataFrame, rnd: _Round, roster: Roster | None,
                    criteria: Sequence[str]) -> list[Problem]:
    """What the round as a whole lacks: jurors with assignments and no scores, stored scores left incomplete by an
    earlier --allow-missing run, entries no juror scored."""
    out: list[Problem] = []
    in_round = set(rnd.in_round)
    new_complete = read.pairs[[score_column(c) for c in criteria]].notna().all(axis=1).to_numpy()
    old_complete = old_pairs["complete"].to_numpy(dtype=bool)
    scored_entries = set(read.pairs["anon_id"][new_complete]) | set(old_pairs["anon_id"][old_complete])
    complete_pairs = set(zip(old_pairs["juror"][old_complete], old_pairs["anon_id"][old_complete], strict=True))
    read_jurors = set(read.jurors)
    stored_jurors = set(old_pairs["juror"])
    reported: set[tuple[str, str]] = set()
    if roster is not None:
        for jid in sorted(roster.active):
            name = roster.names.get(jid, jid)
            needed = sorted(roster.active[jid] & in_round)
            if not needed or name in read_jurors:
                continue  # the reader already compared the juror's sheet with the assignment
            if name not in stored_jurors:
                out.append(Problem(None, name, None, None, f"no scores from juror {name} ({jid}) yet: "
                                   f"{len(needed)} assigned entr{'y' if len(needed) == 1 else 'ies'} unscored",
                                   code="juror-no-sheet"))
                continue
            for a in needed:
                if (name, a) not in complete_pairs:
                    reported.add((name, a))
                    out.append(Problem(None, name, None, None, f"{a}: assigned to juror {name} ({jid}), no "
                                       "complete score stored", code="assigned-not-scored"))
    # stored pairs of jurors not read now, left incomplete by an earlier --allow-missing run
    if len(old_pairs):
        old = old_pairs[~old_pairs["juror"].isin(read_jurors) & old_pairs["anon_id"].isin(in_round)]
        old = old[~old["complete"].to_numpy(dtype=bool)]
        for j, a, s, row, lacking in zip(old["juror"], old["anon_id"], old["sheet"], old["row"], old["lacking"],
                                         strict=True):
            if (j, a) not in reported:
                missing = ", ".join(lacking.split())
                out.append(Problem(Path(s).name if s else None, j, None if row is None else int(row), None,
                                   f"{a}: the stored score lacks {missing} (stored by an earlier --allow-missing "
                                   "run; send the juror's corrected sheet)", code="score-missing"))
    for a in rnd.in_round:
        if a not in scored_entries:
            out.append(Problem(None, None, None, None, f"{a} ({rnd.entry_of[a]}): no juror has scored this entry "
                               "completely", code="entry-unscored"))
    return out


def _ranking(cube: ScoreCube, rnd: _Round, criteria: list[str], weights: list[float], score_min: float,
             score_max: float, method: str, trimmed_min: int, stage: str) -> pd.DataFrame:
    """aggregate + rank over every entry of the round (an entry without a score is kept, unranked)."""
    from milsetctl.scoring.aggregate import aggregate, rank

    agg = aggregate(cube, criteria=criteria, weights=weights, score_min=score_min, score_max=score_max,
                    method=method, trimmed_min_jurors=trimmed_min)
    agg = agg.reindex(pd.Index(sorted(rnd.in_round), name="anon_id"))
    agg["jurors"] = agg["jurors"].fillna(0).astype(np.int64)
    categories = pd.Series(rnd.category_of, dtype=object)
    ranked = rank(agg, categories if stage != "global" else None, criteria)
    ranked["category"] = [rnd.category_of.get(a) for a in ranked.index]  # the global stage ranks overall
    ranked.insert(0, "entry_id", [rnd.entry_of[a] for a in ranked.index])
    return ranked


def _ranking_rows(ranking: pd.DataFrame, criteria: Sequence[str]) -> list[dict[str, Any]]:
    """The ledger's ranking rows; detail = json.dumps({"jurors": n, criterion: _num(mean)...}), written out
    column by column (the same text, without a json.dumps and five _num calls per entry)."""
    jurors = ranking["jurors"].to_numpy(dtype=np.int64).tolist()
    keys = [json.dumps(c) for c in criteria]
    texts = [[f"{k}: {_json_float(v)}" for v in _rounded(ranking[c])] for k, c in zip(keys, criteria, strict=True)]
    details = ["{" + ", ".join((f'"jurors": {j}', *parts)) + "}" for j, *parts in zip(jurors, *texts, strict=True)]
    return [{"entry_id": e, "anon_id": a, "category": _none(cat), "score": sc, "rank": _int(rk), "detail": d}
            for e, a, cat, sc, rk, d in zip(ranking["entry_id"].tolist(), ranking.index.tolist(),
                                            ranking["category"].tolist(), _rounded(ranking["score"]),
                                            ranking["rank"].tolist(), details, strict=True)]


def _rounded(column: pd.Series) -> list[float | None]:
    """`_num` over a float column: None for a missing value, else Python's round to 6 places."""
    return [None if v != v else round(v, 6) for v in column.to_numpy(dtype=float, na_value=np.nan).tolist()]


def _json_float(value: float | None) -> str:
    """The text json.dumps writes for a float or None."""
    return "null" if value is None else repr(value) if math.isfinite(value) else json.dumps(value)


def _agreement(cube: ScoreCube | None, criteria: list[str], weights: list[float],
               sheet_of: dict[str, str]) -> tuple[dict[str, Any], pd.DataFrame | None]:
    """SPEC's agreement numbers over each juror's weighted score of each entry, and the per-juror report."""
    from milsetctl.scoring.aggregate import juror_entry_scores
    from milsetctl.scoring.agreement import concordance_entries, icc, juror_report, kendall_w, krippendorff_alpha

    if cube is None:
        return {"kendall_w": None, "krippendorff_alpha": None, "icc": None}, None
    matrix = juror_entry_scores(cube, criteria=criteria, weights=weights)
    stats = icc(matrix)
    scored_any = matrix.notna().any(axis=0)
    # complete_entries counts what kendall_w counted (jurors without a single complete score left out of both), so
    # the chair never reads a W "over 0 entries every juror scored"
    agreement = {"kendall_w": kendall_w(matrix), "krippendorff_alpha": krippendorff_alpha(matrix),
                 "icc": None if stats is None else {k: (_num(v) if k not in ("n", "k") else v)
                                                    for k, v in stats.items()},
                 "entries": int(matrix.shape[0]), "jurors": int(matrix.shape[1]),
                 "complete_entries": concordance_entries(matrix), "jurors_scoring": int(scored_any.sum()),
                 "jurors_left_out": [str(j) for j in matrix.columns[~scored_any.to_numpy()]]}
    report = juror_report(matrix)
    report["sheet"] = [sheet_of.get(j) for j in report.index]
    return agreement, report


def _compare(ws: Any, cube: ScoreCube, rnd: _Round, criteria: list[str], weights: list[float],
             score_min: float, score_max: float, method: str, trimmed_min: int, stage: str
             ) -> tuple[pd.DataFrame, list[str]]:
    """The entries whose award (at the national stage: qualifying or not) differs under another method."""
    from milsetctl.awards.select import select_awards
    from milsetctl.scoring.aggregate import METHODS

    awards = ws.settings.awards
    methods = [method, *[m for m in METHODS if m != method]]
    frames = {}
    for m in methods:
        ranking = _ranking(cube, rnd, criteria, weights, score_min, score_max, m, trimmed_min, stage)
        chosen = select_awards(ranking, stage=stage, qualifier_fraction=float(awards.get("qualifier_fraction", 0.35)),
                               global_top=int(awards.get("global_top", 3)),
                               gallery_size=int(awards.get("gallery_size", 10))).frame
        frames[m] = chosen
    base = frames[method]
    out = pd.DataFrame({"anon_id": base.index, "entry_id": base["entry_id"].to_numpy(),
                        "category": [rnd.category_of.get(a) for a in base.index]}, index=base.index)
    for m in methods:
        f = frames[m].reindex(base.index)
        out[f"rank:{m}"] = f["rank"]
        out[f"award:{m}"] = f["award"].astype(object).where(f["award"].notna(), None)
    base_award = out[f"award:{method}"]
    changed = np.zeros(len(out), dtype=bool)
    for m in methods[1:]:
        changed |= (out[f"award:{m}"].fillna("-") != base_award.fillna("-")).to_numpy()
    out = out[changed]
    order = out[f"rank:{method}"].astype("Float64").fillna(math.inf)
    out = out.assign(_o=order.to_numpy(dtype=float)).sort_values(["category", "_o"], na_position="last",
                                                                 key=None).drop(columns="_o")
    return out.reset_index(drop=True), methods


def _design(ws: Any, cube: ScoreCube, ranking: pd.DataFrame, criteria: list[str], weights: list[float],
            score_max: float, method: str, trimmed_min: int, stage: str) -> Any:
    """Which methods fit the design (scoring/design.py), with the additive juror-offset model's awards compared
    with the method used."""
    from milsetctl.awards.select import select_awards
    from milsetctl.scoring.aggregate import juror_entry_scores, rank
    from milsetctl.scoring.design import design_advice

    awards = ws.settings.awards

    def awards_of(frame: pd.DataFrame) -> dict[str, Any]:
        chosen = select_awards(frame, stage=stage, qualifier_fraction=float(awards.get("qualifier_fraction", 0.35)),
                               global_top=int(awards.get("global_top", 3)),
                               gallery_size=int(awards.get("gallery_size", 10))).frame
        return {str(a): (None if w is None or w != w else w) for a, w in chosen["award"].items()}

    def offset_awards(quality: pd.Series) -> dict[str, Any]:
        base = ranking.drop(columns=["rank", "category"], errors="ignore").copy()
        base["score"] = quality.reindex(base.index).to_numpy(dtype=float)
        categories = ranking["category"].astype(object) if stage != "global" else None
        return awards_of(rank(base, categories, criteria))

    matrix = juror_entry_scores(cube, criteria=criteria, weights=weights)
    matrix = matrix[matrix.index.isin(ranking.index)]
    return design_advice(matrix, score_max=score_max, trimmed_min_jurors=trimmed_min, method=method,
                         awards_of=offset_awards, used_awards=awards_of(ranking))
