"""Which ways of combining the scores fit the jury's design (issue 20): `score --compare` says it in words.

When every juror scores every entry, a juror's mean and spread describe the juror alone, and every method
measures the entries on the same footing. With a quorum (each entry to K of the jurors) each juror sees a
different subset, and a juror's mean is the juror's harshness plus the quality of the photos the juror happened to
draw. Then:
- per-juror z-scores ("zscore") mislead (unless every juror scored at least 90% of the entries, as when only a few
  conflicts of interest were withheld): a juror who drew strong photos looks harsh, and standardising pulls those
  photos down (a weak subset's are pushed up). How far the subsets differ is measured here: the mean, over each
  juror's subset, of the other jurors' scores of those entries; its range across jurors is the distortion the
  z-score would read as harshness.
- the mean of raw scores is meaningful: a harsh juror lowers the entries they scored by their offset / K;
- "trimmed" is the mean where no entry has `trimmed_min_jurors` jurors, and "median" is the mean for two;
- a method robust to incomplete designs is an additive model fitted over the whole design: score = entry's quality
  + juror's offset (least squares, the offsets summing to 0), which the jurors' shared entries tie together (the
  design must be connected: jurors linked through entries they both scored). `offset_adjusted` fits it; the advice
  says how many awards it would change against the method used.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

NEARLY_COMPLETE = 0.9  # share of the entries every juror scored for per-juror z-scores to stay meaningful


@dataclass
class DesignAdvice:
    """What the design is and which methods mean something on it. `verdicts`: method -> (verdict, why), verdict
    one of "meaningful", "misleading", "same as mean"."""

    complete: bool
    entries: int
    jurors: int
    coverage: float  # scored (entry, juror) pairs / (entries x jurors)
    jurors_per_entry: tuple[int, int]  # fewest, most
    entries_per_juror: tuple[int, int]
    subset_spread: float | None  # 0-100 points: range over jurors of the others' mean score on the juror's subset
    connected: bool
    verdicts: dict[str, tuple[str, str]] = field(default_factory=dict)
    offset_changes: int | None = None  # awards the additive model would change against the method used
    offset_entries: list[str] = field(default_factory=list)  # their anon IDs

    def lines(self) -> list[str]:
        """The advice in sentences, for the terminal."""
        if self.complete:
            head = (f"Design: complete (every one of {self.jurors} jurors scored every one of {self.entries} "
                    "entries): every method compares the entries on the same footing.")
        else:
            head = (f"Design: incomplete ({self.coverage:.0%} of entry x juror pairs scored; {self.jurors_per_entry[0]}"
                    f"-{self.jurors_per_entry[1]} jurors per entry, {self.entries_per_juror[0]}-"
                    f"{self.entries_per_juror[1]} entries per juror)"
                    + (f"; the jurors' subsets differ in quality by up to {self.subset_spread:.1f} points (the other "
                       "jurors' mean score of each juror's entries)" if self.subset_spread is not None else "")
                    + ".")
        out = [head]
        for method, (verdict, why) in self.verdicts.items():
            out.append(f"  {method}: {verdict} — {why}")
        if not self.complete:
            if self.offset_changes is None:
                out.append("  Robust to incomplete designs: an additive model (score = entry + juror offset, fitted "
                           "over the whole design) — not fitted here: the jurors do not share entries enough to tie "
                           "their offsets together (the design is not connected).")
            else:
                changed = (f"it would change {self.offset_changes} award{'s' if self.offset_changes != 1 else ''} "
                           f"({', '.join(self.offset_entries[:8])})" if self.offset_changes else
                           "it changes no award here")
                out.append("  Robust to incomplete designs: an additive model (score = entry + juror offset, fitted "
                           f"over the whole design, the shared entries tying the offsets together): {changed}.")
        return out

    def as_json(self) -> dict[str, Any]:
        return {"complete": self.complete, "entries": self.entries, "jurors": self.jurors,
                "coverage": round(self.coverage, 4), "jurors_per_entry": list(self.jurors_per_entry),
                "entries_per_juror": list(self.entries_per_juror),
                "subset_spread": None if self.subset_spread is None else round(self.subset_spread, 3),
                "connected": self.connected,
                "methods": {m: {"verdict": v, "why": w} for m, (v, w) in self.verdicts.items()},
                "offset_model": {"award_changes": self.offset_changes, "entries": self.offset_entries}}


def _connected(mask: np.ndarray) -> bool:
    """Whether every juror and entry with a score is linked to every other through shared entries."""
    n_e, n_j = mask.shape
    if n_j == 0:
        return True
    seen_j = np.zeros(n_j, dtype=bool)
    seen_e = np.zeros(n_e, dtype=bool)
    seen_j[0] = True
    frontier = [0]
    while frontier:
        j = frontier.pop()
        new_e = mask[:, j] & ~seen_e
        seen_e |= new_e
        reached = mask[new_e].any(axis=0) & ~seen_j
        seen_j |= reached
        frontier.extend(np.flatnonzero(reached).tolist())
    return bool(seen_j[mask.any(axis=0)].all())


def offset_adjusted(matrix: pd.DataFrame, iterations: int = 200) -> pd.Series:
    """Each entry's quality under the additive model score = quality + juror offset (least squares, offsets
    centred on 0), on the matrix's scale; alternating means until they settle. NaN for an entry nobody scored."""
    x = matrix.to_numpy(dtype=float)
    mask = ~np.isnan(x)
    filled = np.where(mask, x, 0.0)
    n_e, n_j = mask.sum(axis=1), mask.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        theta = filled.sum(axis=1) / np.maximum(n_e, 1)
        offset = np.zeros(x.shape[1])
        for _ in range(iterations):
            resid = np.where(mask, x - theta[:, None], 0.0)
            new_offset = resid.sum(axis=0) / np.maximum(n_j, 1)
            new_offset -= new_offset[n_j > 0].mean() if (n_j > 0).any() else 0.0
            theta = np.where(mask, x - new_offset[None, :], 0.0).sum(axis=1) / np.maximum(n_e, 1)
            if np.max(np.abs(new_offset - offset), initial=0.0) < 1e-10:
                offset = new_offset
                break
            offset = new_offset
    return pd.Series(np.where(n_e > 0, theta, np.nan), index=matrix.index, name="quality")


def design_advice(matrix: pd.DataFrame, *, score_max: float, trimmed_min_jurors: int = 5, method: str = "mean",
                  awards_of: Callable[[pd.Series], dict[str, Any]] | None = None,
                  used_awards: dict[str, Any] | None = None) -> DesignAdvice:
    """Describe the design of `matrix` (each juror's weighted score of each entry, NaN = not scored; entries with
    no score at all left out) and say which methods are meaningful on it.

    awards_of(scores on 0-100, index anon_id) -> anon_id -> award, and used_awards (the awards under `method`):
    when given, the additive model's awards are compared with the method's.
    """
    m = matrix.loc[matrix.notna().any(axis=1), matrix.notna().any(axis=0)]
    mask = m.notna().to_numpy()
    n_e, n_j = mask.shape
    per_entry = mask.sum(axis=1) if n_e else np.array([0])
    per_juror = mask.sum(axis=0) if n_j else np.array([0])
    complete = bool(mask.all()) if mask.size else True
    coverage = float(mask.mean()) if mask.size else 1.0
    connected = _connected(mask)
    spread = None
    if not complete and n_j >= 2:
        x = m.to_numpy(dtype=float)
        total, count = np.nansum(x, axis=1), mask.sum(axis=1)
        subset_means = []
        for j in range(n_j):
            others = count - mask[:, j]
            rows = mask[:, j] & (others > 0)
            if rows.any():
                mean_others = (total[rows] - x[rows, j]) / others[rows]
                subset_means.append(float(mean_others.mean()))
        if len(subset_means) >= 2:
            spread = (max(subset_means) - min(subset_means)) / score_max * 100.0
    lo_e, hi_e = int(per_entry.min()), int(per_entry.max())
    # every juror scored nearly every entry (a few conflicts of interest withheld): the subsets are nearly one
    nearly = not complete and n_e > 0 and int(per_juror.min()) >= NEARLY_COMPLETE * n_e
    verdicts: dict[str, tuple[str, str]] = {}
    if complete:
        verdicts["mean"] = ("meaningful", "the call's rule; a harsh or lenient juror shifts every entry alike")
        verdicts["zscore"] = ("meaningful", "every juror scored the same entries, so a juror's mean and spread "
                              "describe the juror alone")
    else:
        verdicts["mean"] = ("meaningful", "the call's rule on raw scores; a harsh juror lowers only the entries they "
                            f"scored, by their offset / {lo_e}-{hi_e} (the jurors per entry)")
        if nearly:
            verdicts["zscore"] = ("meaningful", f"every juror scored at least {NEARLY_COMPLETE:.0%} of the entries, "
                                  "so each is standardised over nearly the same photos")
        else:
            verdicts["zscore"] = ("misleading", "per-juror z-scores mislead on this design: each juror is "
                                  "standardised over a different subset of entries, so a juror who drew stronger "
                                  "photos looks harsh and their photos are pulled down (a weak subset's pushed up); "
                                  "use the mean, or the additive model below")
    if hi_e < 3:
        verdicts["median"] = ("same as mean", f"with {hi_e} juror{'s' if hi_e != 1 else ''} per entry the median is "
                              "the mean")
    else:
        verdicts["median"] = ("meaningful", "raw scores, robust to one outlying juror per entry"
                              + ("" if complete else f" (entries with only {lo_e} jurors: hardly)" if lo_e < 3 else ""))
    if hi_e < trimmed_min_jurors:
        verdicts["trimmed"] = ("same as mean", f"no entry has {trimmed_min_jurors} jurors (settings "
                               "jury.trimmed_min_jurors), so nothing is trimmed")
    else:
        verdicts["trimmed"] = ("meaningful", f"raw scores, drops each entry's highest and lowest juror when it has "
                               f"{trimmed_min_jurors} or more")
    order = [method, *[k for k in ("mean", "trimmed", "median", "zscore") if k != method]]
    verdicts = {k: verdicts[k] for k in order if k in verdicts}
    advice = DesignAdvice(complete, n_e, n_j, coverage, (lo_e, hi_e), (int(per_juror.min()), int(per_juror.max())),
                          spread, connected, verdicts)
    if not complete and connected and awards_of is not None and used_awards is not None:
        quality = offset_adjusted(m) / score_max * 100.0
        theirs = awards_of(quality)
        changed = sorted(a for a in set(theirs) | set(used_awards) if theirs.get(a) != used_awards.get(a))
        advice.offset_changes, advice.offset_entries = len(changed), changed
    return advice
