"""How far the jurors agree, and which jurors stand apart from the panel.

Every function takes the matrix `juror_entry_scores` returns: index anon_id, one column per juror, value = that
juror's weighted criterion score of the entry on the sheet's scale, NaN = not scored. A juror column that is all
NaN (a juror who returned nothing) is ignored by the statistics. Nothing here reads files or prints.

All three agreement statistics are invariant under a linear rescaling of the scores (SPEC: "any linear rescaling
gives the same values"), so working on the sheet's scale or on 0-100 gives the same numbers.
"""

from __future__ import annotations

import math

import krippendorff
import numpy as np
import pandas as pd

# values are compared (ties, Krippendorff's value domain) after rounding to this many decimals, so that the same
# marks always give the same float whatever order a sum was taken in
_DECIMALS = 9
# largest units x values x values array we let the krippendorff package build: it materialises three of them
# (8 bytes a cell), so 5,000 entries x 37 distinct weighted scores (4 criteria, 1-10, equal weights) = 6.8 million
# cells cost ~160 MB and 0.1-0.5 s; beyond 1 million cells (~700 entries) the closed form below is used
_KRIPPENDORFF_CELLS = 1_000_000

# juror_report thresholds (documented in its docstring)
MIN_OFFSET = 1.0  # points on the sheet's scale a juror must sit below/above the others to be called harsh/lenient
OFFSET_SD_FACTOR = 1.5  # ... and this many sd of all jurors' offsets away from the median juror's offset
MIN_SHARED = 5  # entries a juror must share with other jurors before any flag is raised


def _jurors_with_scores(matrix: pd.DataFrame) -> pd.DataFrame:
    return matrix.loc[:, matrix.notna().any(axis=0)].astype(float).round(_DECIMALS)


def concordance_entries(matrix: pd.DataFrame) -> int:
    """How many entries Kendall's W is computed over: those every juror with any score scored.

    A report saying "over N entries" must count exactly what `kendall_w` counted (a juror who returned nothing is
    left out of both); W is None whenever this is below 2.
    """
    return int(_jurors_with_scores(matrix).notna().all(axis=1).sum())


def kendall_w(matrix: pd.DataFrame) -> float | None:
    """Kendall's coefficient of concordance W of the jurors' rankings, over the entries every juror scored.

    Each juror's scores are turned into mid-ranks (ties share the average rank); with m jurors, n entries, R_i the
    sum of entry i's ranks, S = sum((R_i - mean R)^2) and T_j = sum(t^3 - t) over juror j's groups of t tied
    entries: W = 12 S / (m^2 (n^3 - n) - m sum_j T_j)  (Kendall & Babington Smith 1939; Siegel & Castellan 1988,
    eq. 9.16). 0 = no agreement, 1 = every juror ranks the entries the same way.
    Returns None when fewer than 2 jurors or fewer than 2 entries are complete, or when every juror tied every
    entry (the denominator is 0).
    """
    x = _jurors_with_scores(matrix).dropna(axis=0, how="any")
    n, m = x.shape
    if m < 2 or n < 2:
        return None
    ranks = x.rank(axis=0, method="average").to_numpy()
    totals = ranks.sum(axis=1)
    s = float(((totals - totals.mean()) ** 2).sum())
    # tie groups of every juror at once: sort each column, mark where a value starts, count run lengths
    ordered = np.sort(x.to_numpy(), axis=0)
    starts = np.ones_like(ordered, dtype=bool)
    starts[1:] = ordered[1:] != ordered[:-1]
    t = np.bincount(np.cumsum(starts.T.ravel()))[1:].astype(float)  # column-major: runs never cross jurors
    denominator = m**2 * (n**3 - n) - m * float((t**3 - t).sum())
    if denominator <= 0:
        return None
    return 12.0 * s / denominator


def icc(matrix: pd.DataFrame) -> dict[str, float | int | None] | None:
    """Intraclass correlations of a complete entries x jurors matrix (Shrout & Fleiss 1979, two-way ANOVA).

    With n entries (targets), k jurors, BMS/JMS/EMS the between-entries, between-jurors and residual mean
    squares and WMS the within-entry mean square:
      icc1_1 = (BMS - WMS) / (BMS + (k-1) WMS)                       one-way random, single juror
      icc2_1 = (BMS - EMS) / (BMS + (k-1) EMS + k (JMS - EMS) / n)   two-way random, single juror (absolute)
      icc3_1 = (BMS - EMS) / (BMS + (k-1) EMS)                       two-way mixed, single juror (consistency)
      icc1_k = (BMS - WMS) / BMS,  icc2_k = (BMS - EMS) / (BMS + (JMS - EMS) / n),  icc3_k = (BMS - EMS) / BMS
                                                                     the same for the mean of the k jurors
    Returns a dict with those six keys (None where a denominator is 0) plus `n` and `k`; None when any juror
    left an entry unscored (the ICC needs every juror on every entry) or fewer than 2 entries or jurors remain.
    """
    x = _jurors_with_scores(matrix)
    if x.isna().to_numpy().any():
        return None
    y = x.to_numpy()
    n, k = y.shape
    if n < 2 or k < 2:
        return None
    grand = y.mean()
    ss_rows = k * float(((y.mean(axis=1) - grand) ** 2).sum())
    ss_cols = n * float(((y.mean(axis=0) - grand) ** 2).sum())
    ss_total = float(((y - grand) ** 2).sum())
    ss_err = ss_total - ss_rows - ss_cols
    bms = ss_rows / (n - 1)
    jms = ss_cols / (k - 1)
    ems = ss_err / ((n - 1) * (k - 1))
    wms = (ss_cols + ss_err) / (n * (k - 1))

    def ratio(num: float, den: float) -> float | None:
        return None if math.isclose(den, 0.0, abs_tol=1e-12) else num / den

    return {
        "icc1_1": ratio(bms - wms, bms + (k - 1) * wms),
        "icc2_1": ratio(bms - ems, bms + (k - 1) * ems + k * (jms - ems) / n),
        "icc3_1": ratio(bms - ems, bms + (k - 1) * ems),
        "icc1_k": ratio(bms - wms, bms),
        "icc2_k": ratio(bms - ems, bms + (jms - ems) / n),
        "icc3_k": ratio(bms - ems, bms),
        "n": n,
        "k": k,
    }


def _alpha_interval_closed_form(values: np.ndarray) -> float | None:
    """Interval alpha without the value domain, for domains too large for the package's dense arrays.

    values: (units, coders) with NaN, pairable units only. With the squared difference as the metric, the
    coincidence sums collapse to per-unit sums: sum over ordered pairs i != j of (v_i - v_j)^2 = 2 (m sum v^2 -
    (sum v)^2), so D_o = sum_u that / (m_u - 1) / n and D_e = 2 (n sum v^2 - (sum v)^2) / (n (n - 1)), n = the
    pairable values (Krippendorff 2011, "Computing Krippendorff's Alpha-Reliability", section C).
    Equal to krippendorff.alpha(level_of_measurement="interval") (tests check it).
    """
    present = ~np.isnan(values)
    filled = np.where(present, values, 0.0)
    m_u = present.sum(axis=1).astype(float)
    s1 = filled.sum(axis=1)
    s2 = (filled**2).sum(axis=1)
    n = m_u.sum()
    observed = float((2.0 * (m_u * s2 - s1**2) / (m_u - 1.0)).sum()) / n
    expected = 2.0 * (n * s2.sum() - s1.sum() ** 2) / (n * (n - 1.0))
    if expected <= 0:
        return None
    return 1.0 - observed / expected


def krippendorff_alpha(matrix: pd.DataFrame) -> float | None:
    """Krippendorff's alpha with the interval metric over all entries, missing scores allowed.

    Units = entries, coders = jurors; only entries scored by at least 2 jurors are pairable (Krippendorff 2011).
    Computed with the `krippendorff` package: the value counts (entries x distinct scores) are built here with
    one bincount and handed over with the value domain, because the package's own counting from the raw matrix
    compares every cell with every value (0.7 s on 30 jurors x 5,000 entries). The package then builds dense
    entries x values x values arrays; when those would exceed 1 million cells (more than ~700 entries with the
    37 weighted scores of 4 equal-weight 1-10 criteria: 160 MB and up to 0.5 s at 5,000 entries) the same
    statistic is computed in closed form instead, in about a millisecond (`_alpha_interval_closed_form`; the
    tests check both give the same number).
    Returns None when fewer than 2 jurors, no entry scored twice, or every pairable score is the same value
    (alpha is undefined without variation).
    """
    x = _jurors_with_scores(matrix)
    if x.shape[1] < 2:
        return None
    values = x.to_numpy()
    present = ~np.isnan(values)
    pairable = present.sum(axis=1) >= 2
    if not pairable.any():
        return None
    values, present = values[pairable], present[pairable]
    domain = np.unique(values[present])
    if len(domain) < 2:
        return None
    units = values.shape[0]
    if units * len(domain) ** 2 > _KRIPPENDORFF_CELLS:
        return _alpha_interval_closed_form(values)
    unit_of = np.broadcast_to(np.arange(units)[:, None], values.shape)[present]
    codes = np.searchsorted(domain, values[present])
    counts = np.bincount(unit_of * len(domain) + codes, minlength=units * len(domain)).reshape(units, len(domain))
    return float(krippendorff.alpha(value_counts=counts, value_domain=domain, level_of_measurement="interval"))


def juror_report(matrix: pd.DataFrame, *, min_offset: float = MIN_OFFSET, sd_factor: float = OFFSET_SD_FACTOR,
                 min_shared: int = MIN_SHARED) -> pd.DataFrame:
    """One row per juror: how much, how high and how much in line with the others he scored.

    Returns a DataFrame indexed by juror (the matrix's column order), columns:
      - `n`: entries scored; `mean`, `sd`: of his weighted scores (sheet's scale; sd with n-1, NaN below 2);
      - `shared`: entries he scored that at least one other juror scored too;
      - `offset`: his mean minus the mean of the OTHER jurors on those shared entries, in points on the sheet's
        scale (negative = harsher than the others on the same photos); leaving him out of the comparison keeps a
        juror from pulling the reference towards himself on small panels;
      - `corr`: Spearman correlation between his scores and the other jurors' mean on the shared entries
        (mid-ranks; NaN below 3 shared entries or without spread);
      - `flag`: "against the panel" when corr < 0; else "harsh" / "lenient" when the offset is at least
        `min_offset` points below / above 0 AND more than `sd_factor` standard deviations (population sd of the
        jurors' offsets) from the median juror's offset, i.e. the juror sits clearly apart from both the others'
        scores and the other jurors' own spread; else "". No flag below `min_shared` shared entries. Small
        panels rarely flag (with 4 jurors one juror can be at most 1.5 sd from the rest): too few to say.
      - `distribution`: {bucket: count} of his weighted scores rounded half up to whole points, over the same
        buckets for every juror (also in `report.attrs["buckets"]`), ready for a terminal histogram.
    """
    jurors = matrix.columns
    x = matrix.astype(float).round(_DECIMALS).to_numpy()
    present = ~np.isnan(x)
    filled = np.where(present, x, 0.0)
    n = present.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(n > 0, filled.sum(axis=0) / np.maximum(n, 1), np.nan)
        dev2 = np.where(present, (x - mean) ** 2, 0.0).sum(axis=0)
        sd = np.where(n > 1, np.sqrt(dev2 / np.maximum(n - 1, 1)), np.nan)
        row_n = present.sum(axis=1, keepdims=True)
        others = (filled.sum(axis=1, keepdims=True) - filled) / (row_n - 1)  # others' mean, where row_n >= 2
        shared_mask = present & (row_n >= 2)
        shared = shared_mask.sum(axis=0)
        offset = np.where(shared > 0, np.where(shared_mask, x - others, 0.0).sum(axis=0) / np.maximum(shared, 1),
                          np.nan)
    own = pd.DataFrame(np.where(shared_mask, x, np.nan)).rank(axis=0, method="average").to_numpy()
    ref = pd.DataFrame(np.where(shared_mask, others, np.nan)).rank(axis=0, method="average").to_numpy()
    corr = _pearson_columns(own, ref, shared_mask)
    corr = np.where(shared >= 3, corr, np.nan)

    flag = np.full(len(jurors), "", dtype=object)
    judged = (shared >= min_shared) & ~np.isnan(offset)
    if judged.any():
        med = float(np.median(offset[judged]))
        spread = float(np.std(offset[judged]))
        apart = judged & (np.abs(offset - med) > sd_factor * spread)
        flag[apart & (offset <= -min_offset)] = "harsh"
        flag[apart & (offset >= min_offset)] = "lenient"
    flag[(shared >= min_shared) & (corr < 0)] = "against the panel"

    buckets: list[int] = []
    dist = [dict[int, int]() for _ in jurors]
    if present.any():
        b = np.floor(x[present] + 0.5).astype(np.int64)
        lo, hi = int(b.min()), int(b.max())
        buckets = list(range(lo, hi + 1))
        who = np.broadcast_to(np.arange(len(jurors)), x.shape)[present]
        table = np.bincount(who * len(buckets) + (b - lo), minlength=len(jurors) * len(buckets))
        table = table.reshape(len(jurors), len(buckets))
        dist = [dict(zip(buckets, map(int, row), strict=True)) for row in table]

    report = pd.DataFrame({"n": n.astype(np.int64), "mean": mean, "sd": sd, "shared": shared.astype(np.int64),
                           "offset": offset, "corr": corr, "flag": flag, "distribution": dist},
                          index=pd.Index(jurors, name="juror"))
    report.attrs["buckets"] = buckets
    return report


def _pearson_columns(a: np.ndarray, b: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Pearson correlation of a[:, j] with b[:, j] over the rows where mask[:, j], for every column at once."""
    cnt = mask.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        ma = np.where(mask, a, 0.0).sum(axis=0) / cnt
        mb = np.where(mask, b, 0.0).sum(axis=0) / cnt
        da = np.where(mask, a - ma, 0.0)
        db = np.where(mask, b - mb, 0.0)
        den = np.sqrt((da**2).sum(axis=0) * (db**2).sum(axis=0))
        return np.where(den > 1e-12, (da * db).sum(axis=0) / np.where(den > 1e-12, den, 1.0), np.nan)
