"""Who gets which award, from a ranking (`milsetctl.scoring.aggregate.rank`).

National stage (SPEC "Ranking defaults"): the Qualifier Award goes, in each category, to the entries ranked
within floor(qualifier_fraction x entries of the category), at least one; entries sharing the last qualifying rank
all qualify (ranks are shared 1, 2, 2, 4, so "rank <= cut" already includes them).
Global stage (SPEC "Workspace"): one overall ranking; ranks 1..global_top get "global-<rank>" (entries sharing a
rank share its award, and the next rank is skipped: 1, 2, 2 -> global-1, global-2, global-2, then rank 4), ranks
global_top+1..gallery_size get "gallery".
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

STAGES = ("national", "global")


@dataclass
class AwardList:
    """The ranking with its awards, and what the chair must announce about the cuts.

    frame: the ranking with an `award` column ("qualifier", "global-1".."global-N", "gallery" or None).
    cuts: national: category -> qualifying rank cut (floor(fraction x entries), at least 1); global:
        {"global": global_top, "gallery": gallery_size}.
    entries: national: category -> entries in the ranking; global: {None: all entries}.
    ties: (category, rank, [anon_id, ...]) for each group of entries sharing a rank that decides an award: at the
        national stage the group on the last qualifying rank of a category (when 2 or more share it); at the
        global stage a group sharing a global-N rank, or straddling the gallery cut (rank <= gallery_size but the
        group runs past it). The ids are the ranking's index (anon_ids), so the CLI can name the entries.
    """

    stage: str
    frame: pd.DataFrame
    cuts: dict[Any, int]
    entries: dict[Any, int] = field(default_factory=dict)
    ties: list[tuple[Any, int, list[str]]] = field(default_factory=list)


def qualifier_cut(entries: int, fraction: float) -> int:
    """floor(fraction x entries), at least 1 (SPEC). Rounded to 9 decimals first: 0.35 x 20 must give 7, not 6."""
    return max(1, math.floor(round(fraction * entries, 9)))


def select_awards(ranking: pd.DataFrame, *, stage: str, qualifier_fraction: float = 0.35, global_top: int = 3,
                  gallery_size: int = 10) -> AwardList:
    """Give the awards of `stage` ("national" or "global") to a ranking.

    `ranking`: the frame `rank` returns (index anon_id, columns `category` and `rank`, nullable int, 1 = best,
    <NA> = unscored). At the national stage ranks must run within each category (`rank(..., categories, ...)`); at
    the global stage over all entries (`rank(..., None, ...)`), whatever the `category` column says. An entry
    without a rank never gets an award but counts among its category's entries (it is an eligible entry).
    Returns an `AwardList` (the frame keeps the ranking's row order). Raises ValueError for an unknown stage,
    a fraction outside (0, 1], global_top < 1, or gallery_size < global_top.
    """
    if stage not in STAGES:
        raise ValueError(f"unknown stage {stage!r} (one of {', '.join(STAGES)})")
    for col in ("category", "rank"):
        if col not in ranking.columns:
            raise ValueError(f"ranking lacks the {col!r} column (make it with scoring.aggregate.rank)")
    frame = ranking.copy()
    ranks = pd.to_numeric(frame["rank"]).astype("Float64").to_numpy(dtype=float, na_value=np.nan)
    award = np.full(len(frame), None, dtype=object)
    ties: list[tuple[Any, int, list[str]]] = []

    if stage == "national":
        if not 0 < qualifier_fraction <= 1:
            raise ValueError(f"qualifier_fraction must be in (0, 1], got {qualifier_fraction}")
        category = frame["category"].astype(object).where(frame["category"].notna(), None)
        codes, uniques = pd.factorize(category, use_na_sentinel=False)
        groups = [None if pd.isna(g) else g for g in uniques]  # factorize hands back NaN for None
        sizes = np.bincount(codes, minlength=len(groups))
        cut_of_group = np.array([qualifier_cut(int(s), qualifier_fraction) for s in sizes], dtype=float)
        cut_of_row = cut_of_group[codes] if len(codes) else np.array([], dtype=float)
        qualifies = ranks <= cut_of_row  # NaN rank compares False
        award[qualifies] = "qualifier"
        cuts = {groups[g]: int(cut_of_group[g]) for g in range(len(groups))}
        entries = {groups[g]: int(sizes[g]) for g in range(len(groups))}
        for g in range(len(groups)):
            in_group = (codes == g) & qualifies
            if not in_group.any():
                continue
            last = ranks[in_group].max()
            sharing = in_group & (ranks == last)
            if sharing.sum() >= 2:
                ties.append((groups[g], int(last), [str(i) for i in frame.index[sharing]]))
    else:
        if global_top < 1 or gallery_size < global_top:
            raise ValueError(f"need 1 <= global_top ({global_top}) <= gallery_size ({gallery_size})")
        medal = ranks <= global_top
        award[medal] = [f"global-{int(r)}" for r in ranks[medal]]
        award[(ranks > global_top) & (ranks <= gallery_size)] = "gallery"
        cuts = {"global": global_top, "gallery": gallery_size}
        entries = {None: len(frame)}
        scored = ~np.isnan(ranks)
        values, counts = np.unique(ranks[scored], return_counts=True)
        for r, c in zip(values, counts, strict=True):
            if c < 2 or r > gallery_size:
                continue
            if r <= global_top or r + c - 1 > gallery_size:
                ties.append((None, int(r), [str(i) for i in frame.index[ranks == r]]))
    # object dtype: pandas would otherwise infer a string column and turn None into NaN
    frame["award"] = pd.Series(award, index=frame.index, dtype=object)
    return AwardList(stage=stage, frame=frame, cuts=cuts, entries=entries, ties=ties)
