"""Combine the jurors' criterion scores into one 0-100 score per entry, and rank the entries.

Everything works on one dense NumPy cube `S[entry, juror, criterion]` (NaN = not scored) built from the long
scores frame in a single vectorised pass, so 5,000 entries x 30 jurors x 4 criteria cost a few tens of
milliseconds and there is no Python loop per entry or per juror.

Rules (SPEC "Ranking defaults"): an entry's score is the mean over its jurors of each juror's weighted criterion
score, scaled so that top marks on every criterion give 100; ties on the score are broken by the per-criterion
means in the criteria order; entries still tied share a rank (1, 2, 2, 4).

A juror's weighted criterion score of an entry is the weighted MEAN of the criteria, on the sheet's scale
(`sum(w_c * s_c) / sum(w)`, 1-10 by default), so it reads like a mark; the 0-100 score is that number divided by
`score_max`, times 100 (equal to `sum(w_c * s_c) / (sum(w) * score_max) * 100`). A juror who left any criterion of
an entry blank has no weighted score for that entry: the entry is combined over the jurors who scored it fully
(`jurors` counts them), never with a zero filled in.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd

METHODS: tuple[str, ...] = ("mean", "trimmed", "median", "zscore")

# column names aggregate()/rank()/select_awards() add; a criterion must not reuse them
_RESERVED = {"score", "jurors", "category", "rank", "award", "anon_id", "juror"}
# scores are compared for ties after rounding to this many decimals: two entries with the same marks must tie
# even when float sums taken in a different juror order differ in the last bit
_TIE_DECIMALS = 9
# a juror's spread below this (on the sheet's scale) counts as none at all (e.g. every score a 10)
_ZERO_SD = 1e-12


class ScoreCube:
    """The long scores frame as a dense array, checked once: `values[e, j, c]`, NaN where not scored or incomplete.

    Made by `prepare`; `aggregate` and `juror_entry_scores` accept it in place of the scores frame, so a run that
    needs several methods (`score --compare`) and the agreement matrix turns the 600,000 text rows into codes once.
    Read-only: the arrays are shared by every call that receives the cube.
    """

    __slots__ = ("anon_ids", "jurors", "criteria", "values", "complete")

    def __init__(self, anon_ids: pd.Index, jurors: pd.Index, criteria: Sequence[str], values: np.ndarray,
                 complete: np.ndarray) -> None:
        self.anon_ids = anon_ids  # (E,) sorted, name "anon_id"
        self.jurors = jurors  # (J,) sorted, name "juror"
        self.criteria = tuple(criteria)
        self.values = values  # (E, J, C) float
        self.complete = complete  # (E, J) bool: the juror scored every criterion of the entry
        values.flags.writeable = False
        complete.flags.writeable = False


def _check_criteria(criteria: Sequence[str], weights: Sequence[float] | None) -> np.ndarray:
    criteria = list(criteria)
    if not criteria:
        raise ValueError("no criteria given")
    if len(set(criteria)) != len(criteria):
        raise ValueError(f"criteria repeat a name: {criteria}")
    clash = _RESERVED.intersection(criteria)
    if clash:
        raise ValueError(f"criterion name {sorted(clash)[0]!r} is reserved for a result column")
    if weights is None:
        return np.ones(len(criteria))
    w = np.asarray(list(weights), dtype=float)
    if w.shape != (len(criteria),):
        raise ValueError(f"{len(w)} weights for {len(criteria)} criteria ({', '.join(criteria)})")
    if not np.all(np.isfinite(w)) or (w < 0).any() or w.sum() <= 0:
        raise ValueError(f"weights must be non-negative numbers with a positive sum, got {list(weights)}")
    return w


def _codes(column: pd.Series, period: int = 0) -> tuple[np.ndarray, pd.Index]:
    """Integer codes and sorted distinct values of a text column (pd.factorize, cheaper on the usual layouts).

    Hashing 600,000 Python strings is most of the cost of building the cube, so the two layouts every sheet reader
    and long CSV produce are recognised first (one vectorised comparison each):
      - runs: a juror's rows together, an entry's criteria together: factorize only where the value changes;
      - a cycle of `period` values (the criteria listed in the same order on every row): factorize one cycle.
    Anything else is factorized whole. Missing values (None/NaN) get code -1. A categorical column (a reader that
    already knows its distinct values) costs nothing: its codes are used as they are.
    """
    if isinstance(column.dtype, pd.CategoricalDtype):
        cats = column.cat.categories
        order = np.argsort(cats.to_numpy(dtype=object))
        remap = np.empty(len(cats) + 1, dtype=np.int64)
        remap[order] = np.arange(len(cats))
        remap[-1] = -1  # code -1 (missing) stays -1
        codes = column.cat.codes.to_numpy()
        return remap[codes], pd.Index(cats.to_numpy(dtype=object)[order])
    arr = column.to_numpy(dtype=object)
    n = len(arr)
    if period and n >= 2 * period and n % period == 0 and pd.notna(arr[:period]).all() \
            and bool((arr[period:] == arr[:-period]).all()):
        codes, uniques = pd.factorize(arr[:period], sort=True)
        return np.tile(codes, n // period), pd.Index(uniques)
    if n > 1:
        starts = np.flatnonzero(np.r_[True, arr[1:] != arr[:-1]])
        if len(starts) * 2 < n:
            codes, uniques = pd.factorize(arr[starts], sort=True)
            return np.repeat(codes, np.diff(np.r_[starts, n])), pd.Index(uniques)
    codes, uniques = pd.factorize(arr, sort=True)
    return codes, pd.Index(uniques)


def prepare(scores: pd.DataFrame | ScoreCube, *, criteria: Sequence[str]) -> ScoreCube:
    """Check the long scores frame and turn it into a `ScoreCube` (for several `aggregate` calls on one round).

    `scores`: columns `juror, anon_id, criterion, score` (blank scores may be NaN rows or absent rows).
    Raises ValueError on a missing column, an unknown criterion, a score that is not a number, a row without
    juror or anon_id, or the same (juror, anon_id, criterion) twice.
    """
    if isinstance(scores, ScoreCube):
        if scores.criteria != tuple(criteria):
            raise ValueError(f"scores were prepared for criteria {list(scores.criteria)}, not {list(criteria)}")
        return scores
    _check_criteria(criteria, None)
    missing = [c for c in ("juror", "anon_id", "criterion", "score") if c not in scores.columns]
    if missing:
        raise ValueError(f"scores frame lacks column(s) {', '.join(missing)}")
    criteria = list(criteria)
    seen_codes, seen = _codes(scores["criterion"], period=len(criteria))
    if (seen_codes < 0).any():
        raise ValueError(f"score row {int(np.flatnonzero(seen_codes < 0)[0]) + 1} has no criterion")
    unknown = [c for c in seen if c not in criteria]
    if unknown:
        raise ValueError(f"unknown criterion {unknown[0]!r} (criteria: {', '.join(criteria)})")
    crit_codes = np.array([criteria.index(c) for c in seen], dtype=np.int64)[seen_codes]
    try:
        score = pd.to_numeric(scores["score"], errors="raise").to_numpy(dtype=float, na_value=np.nan)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"a score is not a number: {exc}") from None
    # factorize before dropping blanks: an entry or juror whose every score is blank stays visible
    anon_codes, anon_ids = _codes(scores["anon_id"])
    jur_codes, jurors = _codes(scores["juror"])
    for name, codes in (("anon_id", anon_codes), ("juror", jur_codes)):
        if (codes < 0).any():
            raise ValueError(f"score row {int(np.flatnonzero(codes < 0)[0]) + 1} has no {name}")
    n_e, n_j, n_c = len(anon_ids), len(jurors), len(criteria)
    keep = ~np.isnan(score)
    linear = (anon_codes.astype(np.int64) * n_j + jur_codes) * n_c + crit_codes
    if not keep.all():
        linear, score = linear[keep], score[keep]
    counts = np.bincount(linear, minlength=n_e * n_j * n_c)
    if counts.max(initial=0) > 1:
        e, rest = divmod(int(np.argmax(counts)), n_j * n_c)
        j, c = divmod(rest, n_c)
        raise ValueError(f"juror {jurors[j]!r} scored {criteria[c]!r} of {anon_ids[e]!r} more than once")
    values: np.ndarray = np.full(n_e * n_j * n_c, np.nan)  # flat, then (entry, juror, criterion)
    values[linear] = score
    values = values.reshape(n_e, n_j, n_c)
    complete = ~np.isnan(values).any(axis=2)
    values[~complete] = np.nan
    return ScoreCube(pd.Index(anon_ids, name="anon_id"), pd.Index(jurors, name="juror"), criteria, values, complete)


def _weighted(values: np.ndarray, w: np.ndarray) -> np.ndarray:
    """(E, J, C) -> (E, J): each juror's weighted mean of the criteria, on the sheet's scale (NaN stays NaN)."""
    return values @ (w / w.sum())


def juror_entry_scores(scores: pd.DataFrame | ScoreCube, *, criteria: Sequence[str],
                       weights: Sequence[float] | None = None) -> pd.DataFrame:
    """Each juror's weighted criterion score of each entry: the matrix the agreement statistics work on.

    `scores`: long frame `juror, anon_id, criterion, score` (blank scores may be NaN rows or absent rows), or the
    `ScoreCube` `prepare` made of it. Returns a DataFrame indexed by `anon_id` (sorted), one float column per
    juror (sorted by name), value = `sum(w_c * s_c) / sum(w)` on the sheet's scale; NaN where the juror did not
    score every criterion of the entry.
    Raises ValueError on an unknown criterion, a duplicate (juror, anon_id, criterion) or bad weights.
    """
    w = _check_criteria(criteria, weights)
    cube = prepare(scores, criteria=criteria)
    return pd.DataFrame(_weighted(cube.values, w), index=cube.anon_ids, columns=cube.jurors)


def _mean(x: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Mean over axis 1 of x where mask (NaN when nothing is there), without the empty-slice warnings."""
    n = mask.sum(axis=1)
    total = np.where(mask, x, 0.0).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n > 0, total / np.maximum(n, 1), np.nan)


def _trimmed(x: np.ndarray, mask: np.ndarray, min_jurors: int) -> np.ndarray:
    """Mean over axis 1, dropping one highest and one lowest value where at least min_jurors values exist."""
    n = mask.sum(axis=1)
    total = np.where(mask, x, 0.0).sum(axis=1)
    hi = np.where(mask, x, -np.inf).max(axis=1, initial=-np.inf)  # initial: no juror at all is not an error
    lo = np.where(mask, x, np.inf).min(axis=1, initial=np.inf)
    trim = n >= min_jurors
    kept = np.where(trim, n - 2, n)
    with np.errstate(invalid="ignore", divide="ignore"):  # an entry nobody scored: inf - inf, not kept below
        total = np.where(trim, total - hi - lo, total)
        return np.where(kept > 0, total / np.maximum(kept, 1), np.nan)


def _median(x: np.ndarray) -> np.ndarray:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # "All-NaN slice": an entry nobody scored stays NaN
        return np.nanmedian(x, axis=1)


def _zscore_map(values: np.ndarray, complete: np.ndarray, score_min: float, score_max: float) -> np.ndarray:
    """Standardise each juror's scores per criterion and map them back onto the sheet's scale.

    z = (s - juror's mean on the criterion) / juror's sd on the criterion (population sd, over the entries the
    juror scored); mapped = panel mean of the criterion (every score given on it) + z * the panel's typical
    within-juror sd of the criterion (root mean square of each score's distance to its own juror's mean, over the
    jurors who spread their scores at all), clipped to [score_min, score_max].
    The within-juror sd, rather than the sd of all scores pooled, is the scale the jurors actually mark on: the
    pooled sd also counts the harsh/lenient offsets this method removes, and, differing from one criterion to the
    next, would re-weight the criteria (then a panel whose jurors differ only by a constant offset would not keep
    the mean's order). A juror with no spread on a criterion (all 10s, or a single entry) gets z = 0: he
    contributes the panel mean, i.e. he carries no ranking information and cannot lift or sink an entry.
    """
    mask = complete[:, :, None]
    n_jc = mask.sum(axis=0)  # (J, 1) entries per juror
    filled = np.where(mask, values, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mu = filled.sum(axis=0) / np.maximum(n_jc, 1)  # (J, C)
        dev = np.where(mask, values - mu, 0.0)
        ss = (dev**2).sum(axis=0)  # (J, C)
        sd = np.sqrt(ss / np.maximum(n_jc, 1))
        spread = sd > _ZERO_SD
        panel_mean = filled.sum(axis=(0, 1)) / np.maximum(mask.sum(axis=(0, 1)), 1)  # (C,)
        within_sd = np.sqrt(np.where(spread, ss, 0.0).sum(axis=0)
                            / np.maximum(np.where(spread, n_jc, 0).sum(axis=0), 1))  # (C,)
        z = np.where(spread, dev / np.where(spread, sd, 1.0), 0.0)
    mapped = np.clip(panel_mean + z * within_sd, score_min, score_max)
    return np.where(mask, mapped, np.nan)


def aggregate(scores: pd.DataFrame | ScoreCube, *, criteria: Sequence[str], weights: Sequence[float] | None = None,
              score_min: float = 1, score_max: float = 10, method: str = "mean", trimmed_min_jurors: int = 5
              ) -> pd.DataFrame:
    """One combined score per entry.

    `scores`: long frame `juror, anon_id, criterion, score` (float, on the sheet's scale; blank = NaN or no row),
    or the `ScoreCube` `prepare` made of it (cheaper when one round is aggregated several ways).
    Returns a DataFrame indexed by `anon_id` (sorted), columns:
      - `score`: 0-100, the combined weighted criterion score / score_max * 100 (top marks everywhere = 100);
        NaN for an entry no juror scored completely;
      - one column per criterion: the combined per-criterion score under the same method, on the sheet's scale
        (the tie-break columns of `rank`);
      - `jurors`: how many jurors scored the entry completely (before any trimming).
    Methods (`METHODS`):
      - "mean" (SPEC's rule): mean over jurors;
      - "trimmed": like mean, but an entry scored by at least `trimmed_min_jurors` jurors loses its single highest
        and single lowest juror (each criterion column is trimmed the same way on its own values, so it does not
        depend on which of two equal jurors was dropped);
      - "median": median over jurors (the criterion columns are per-criterion medians);
      - "zscore": each juror's scores standardised per criterion and mapped back to the sheet's scale around the
        panel's mean with the jurors' typical spread (see `_zscore_map`), then the mean; removes a harsh or
        lenient juror's offset when every juror scores (nearly) every entry. When jurors score different subsets
        (a quorum design) a juror's mean and spread depend on which entries they drew, so z-scores mislead there
        (scoring/design.py says which methods are meaningful; `score --compare` prints it).
    Raises ValueError for an unknown method, criterion or bad weights, a duplicate score, a score outside
    [score_min, score_max], or trimmed_min_jurors < 3 with method "trimmed".
    """
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r} (one of {', '.join(METHODS)})")
    if not score_max > score_min:
        raise ValueError(f"score_max ({score_max}) must be above score_min ({score_min})")
    if method == "trimmed" and trimmed_min_jurors < 3:
        raise ValueError(f"trimmed_min_jurors must be at least 3 (dropping 2 of {trimmed_min_jurors} leaves nothing)")
    w = _check_criteria(criteria, weights)
    cube = prepare(scores, criteria=criteria)
    values, complete = cube.values, cube.complete
    scored = values[complete]
    if scored.size and (scored.min() < score_min or scored.max() > score_max):
        bad = np.argwhere(complete[:, :, None] & ((values < score_min) | (values > score_max)))[0]
        raise ValueError(f"juror {cube.jurors[bad[1]]!r} gave {cube.anon_ids[bad[0]]!r} "
                         f"{values[tuple(bad)]:g} for {list(criteria)[bad[2]]!r}, outside {score_min:g}-{score_max:g}")
    if method == "zscore":
        values = _zscore_map(values, complete, score_min, score_max)
    weighted = _weighted(values, w)  # (E, J)
    mask3 = np.broadcast_to(complete[:, :, None], values.shape)
    if method in ("mean", "zscore"):
        combined, per_crit = _mean(weighted, complete), _mean(values, mask3)
    elif method == "trimmed":
        combined = _trimmed(weighted, complete, trimmed_min_jurors)
        per_crit = _trimmed(values, mask3, trimmed_min_jurors)
    else:
        combined, per_crit = _median(weighted), _median(values)
    out = pd.DataFrame(per_crit, index=cube.anon_ids, columns=list(criteria))
    out.insert(0, "score", combined / score_max * 100.0)
    out["jurors"] = complete.sum(axis=1).astype(np.int64)
    return out


def rank(aggregated: pd.DataFrame, categories: pd.Series | None, criteria: Sequence[str]) -> pd.DataFrame:
    """Rank the entries: best score first, ties broken by the criterion columns in `criteria` order.

    `aggregated`: the frame `aggregate` returns (index anon_id, `score` and the criterion columns).
    `categories`: anon_id -> category ("middle"/"high"/None); ranks run within each category (an entry missing from
    it, or with category None, is ranked in a group of its own with category None). None = one overall ranking (the
    global stage); the `category` column is then None.
    Returns a copy with `category` and `rank` added (nullable Int64: 1 = best; entries equal on the score and on
    every criterion column, compared to 9 decimals, share the lowest rank: 1, 2, 2, 4; an entry without a score
    gets <NA> and sorts last), ordered by category then rank. Source: SPEC "Ranking defaults".
    """
    criteria = list(criteria)
    absent = [c for c in ["score", *criteria] if c not in aggregated.columns]
    if absent:
        raise ValueError(f"aggregated frame lacks column(s) {', '.join(absent)}")
    out = aggregated.copy()
    if categories is None:
        cat = pd.Series([None] * len(out), index=out.index, dtype=object)
    else:
        cat = categories.reindex(out.index).astype(object)
        cat = cat.where(cat.notna(), None)
    out["category"] = cat
    keys = out[["score", *criteria]].astype(float).round(_TIE_DECIMALS)
    group = pd.Series(pd.factorize(cat, sort=True, use_na_sentinel=False)[0], index=out.index)
    sorter = pd.concat([group.rename("_g"), keys], axis=1).reset_index(drop=True)
    order = sorter.sort_values(["_g", "score", *criteria], ascending=[True] + [False] * (1 + len(criteria)),
                               na_position="last", kind="stable").index.to_numpy()
    out, keys, group = out.iloc[order], keys.iloc[order], group.iloc[order]
    k = keys.to_numpy()
    g = group.to_numpy()
    new = np.ones(len(out), dtype=bool)
    if len(out) > 1:
        # NaN != NaN, so unscored entries never merge with each other; their rank is blanked below anyway
        new[1:] = (k[1:] != k[:-1]).any(axis=1) | (g[1:] != g[:-1])
    position = group.groupby(group.to_numpy(), sort=False).cumcount().to_numpy() + 1
    idx = np.where(new, np.arange(len(out)), 0)
    np.maximum.accumulate(idx, out=idx)  # index of the row that opened each tie group
    ranks = pd.array(position[idx], dtype="Int64")
    ranks[out["score"].isna().to_numpy()] = pd.NA
    out["rank"] = ranks
    return out
