"""The jury round's arithmetic: aggregation methods, weights, the 0-100 scale, ranking, and agreement statistics.

Every expected number is worked out by hand in a comment next to it, or taken from a published worked example
(Shrout & Fleiss 1979; Krippendorff 2011), or compared with an independent implementation (scipy's Friedman test,
the `krippendorff` package).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from milsetctl.scoring import agreement
from milsetctl.scoring.aggregate import METHODS, aggregate, juror_entry_scores, prepare, rank
from milsetctl.scoring.agreement import icc, juror_report, kendall_w, krippendorff_alpha

CRITERIA = ["originality", "information", "technique", "impact"]
ONE = ["originality"]


def long(table: dict[str, dict[str, list[float] | float]], criteria: list[str] = CRITERIA) -> pd.DataFrame:
    """{anon_id: {juror: [score per criterion] or one score for every criterion}} -> the long scores frame."""
    rows = []
    for anon, by_juror in table.items():
        for juror, marks in by_juror.items():
            marks = marks if isinstance(marks, list) else [marks] * len(criteria)
            rows += [(juror, anon, c, float(s)) for c, s in zip(criteria, marks, strict=True)]
    return pd.DataFrame(rows, columns=["juror", "anon_id", "criterion", "score"])


def agg(frame: pd.DataFrame, criteria: list[str] = CRITERIA, **kw) -> pd.DataFrame:
    return aggregate(frame, criteria=criteria, score_min=1, score_max=10, **kw)


def order(frame: pd.DataFrame) -> list[str]:
    return list(rank(frame, None, list(frame.columns[1:-1])).index)


# ---------------------------------------------------------------- aggregate


def test_mean_is_the_jurors_mean_of_weighted_criterion_scores_on_0_100():
    scores = long({
        "A": {"J1": [8, 7, 6, 9], "J2": [6, 6, 6, 6], "J3": [10, 9, 8, 9]},
        "B": {"J1": 5, "J2": 7, "J3": 9},
    })
    out = agg(scores)
    # A: jurors' weighted means 30/4 = 7.5, 6, 36/4 = 9 -> (7.5 + 6 + 9) / 3 = 7.5 -> 7.5 / 10 * 100 = 75
    # B: 5, 7, 9 -> 7 -> 70
    assert out.loc["A", "score"] == pytest.approx(75.0)
    assert out.loc["B", "score"] == pytest.approx(70.0)
    # per-criterion means of A: originality (8+6+10)/3 = 8, information (7+6+9)/3 = 22/3, technique 20/3, impact 8
    assert out.loc["A", CRITERIA].tolist() == pytest.approx([8, 22 / 3, 20 / 3, 8])
    assert out["jurors"].tolist() == [3, 3]
    assert list(out.columns) == ["score", *CRITERIA, "jurors"]
    assert out.index.name == "anon_id"


def test_weights_and_the_0_100_scale():
    scores = long({"A": {"J1": [8, 7, 6, 9], "J2": [6, 6, 6, 6], "J3": [10, 9, 8, 9]},
                   "TOP": {"J1": 10, "J2": 10}, "BOTTOM": {"J1": 1}})
    out = agg(scores, weights=[3, 1, 1, 1])
    # A with weights 3,1,1,1: J1 (24+7+6+9)/6 = 46/6, J2 36/6, J3 (30+9+8+9)/6 = 56/6 -> mean 138/18 = 7.6667
    assert out.loc["A", "score"] == pytest.approx(138 / 18 * 10)
    # top marks everywhere give 100 and the lowest marks give score_min / score_max * 100, whatever the weights
    assert out.loc["TOP", "score"] == pytest.approx(100.0)
    assert out.loc["BOTTOM", "score"] == pytest.approx(10.0)
    # a zero weight takes a criterion out of the score but not out of its tie-break column
    zero = agg(scores, weights=[0, 1, 1, 1])
    assert zero.loc["A", "score"] == pytest.approx((22 + 18 + 26) / 9 * 10)  # J1 22/3, J2 18/3, J3 26/3
    assert zero.loc["A", "originality"] == pytest.approx(8.0)
    with pytest.raises(ValueError, match="3 weights for 4 criteria"):
        agg(scores, weights=[1, 1, 1])
    with pytest.raises(ValueError, match="non-negative"):
        agg(scores, weights=[1, -1, 1, 1])


def test_trimmed_drops_highest_and_lowest_juror_only_from_the_minimum_panel():
    five = {"J1": 2, "J2": 6, "J3": 7, "J4": 8, "J5": 10}
    four = {"J1": 4, "J2": 6, "J3": 8, "J4": 10}
    out = agg(long({"FIVE": five, "FOUR": four}), method="trimmed", trimmed_min_jurors=5)
    # FIVE: drop 2 and 10 -> (6+7+8)/3 = 7 -> 70 (the mean would be 33/5 = 6.6 -> 66)
    assert out.loc["FIVE", "score"] == pytest.approx(70.0)
    assert agg(long({"FIVE": five}), method="mean").loc["FIVE", "score"] == pytest.approx(66.0)
    # FOUR: 4 jurors < 5, nothing dropped: (4+6+8+10)/4 = 7 -> 70
    assert out.loc["FOUR", "score"] == pytest.approx(70.0)
    assert out["jurors"].tolist() == [5, 4]
    # with trimmed_min_jurors=4 FOUR loses 4 and 10: (6+8)/2 = 7 still, so use criteria that differ
    mixed = long({"E": {"J1": [1, 9, 5, 5], "J2": [5, 5, 5, 5], "J3": [9, 1, 5, 5], "J4": [6, 6, 6, 6]}})
    out = agg(mixed, method="trimmed", trimmed_min_jurors=4)
    # weighted: J1 5, J2 5, J3 5, J4 6 -> drop one 5 and the 6 -> 5 -> 50
    # each criterion trimmed on its own values: originality 1,5,9,6 -> (5+6)/2 = 5.5; information 9,5,1,6 -> 5.5;
    # technique 5,5,5,6 -> 5; impact -> 5
    assert out.loc["E", "score"] == pytest.approx(50.0)
    assert out.loc["E", CRITERIA].tolist() == pytest.approx([5.5, 5.5, 5.0, 5.0])
    with pytest.raises(ValueError, match="at least 3"):
        agg(mixed, method="trimmed", trimmed_min_jurors=2)


def test_median_over_jurors():
    out = agg(long({"ODD": {"J1": 1, "J2": 6, "J3": 7}, "EVEN": {"J1": [2, 2, 2, 2], "J2": [4, 4, 4, 8],
                                                                 "J3": [9, 9, 9, 9], "J4": [10, 10, 10, 10]}}),
              method="median")
    # ODD: median of 1, 6, 7 = 6 -> 60 (mean would be 4.67)
    assert out.loc["ODD", "score"] == pytest.approx(60.0)
    # EVEN: weighted 2, 5, 9, 10 -> (5+9)/2 = 7 -> 70; impact 2, 8, 9, 10 -> 8.5; originality 2, 4, 9, 10 -> 6.5
    assert out.loc["EVEN", "score"] == pytest.approx(70.0)
    assert out.loc["EVEN", "impact"] == pytest.approx(8.5)
    assert out.loc["EVEN", "originality"] == pytest.approx(6.5)


def test_zscore_hand_computed():
    # one criterion; J1 gives A, B, C 2, 4, 6 and J2 gives 6, 8, 10: same spread, J2 four points more lenient.
    # Each juror: mean 4 (resp. 8), population sd sqrt(8/3), so z = -sqrt(1.5), 0, +sqrt(1.5) for both.
    # Panel mean 6; within-juror sd sqrt(8/3); mapped = 6 + z * sqrt(8/3) = 6 -/+ sqrt(1.5 * 8/3) = 6 -/+ 2:
    # A 4, B 6, C 8 for both jurors (the offset is gone) -> 40, 60, 80
    out = agg(long({"A": {"J1": 2, "J2": 6}, "B": {"J1": 4, "J2": 8}, "C": {"J1": 6, "J2": 10}}, ONE), ONE,
              method="zscore")
    assert out["score"].tolist() == pytest.approx([40.0, 60.0, 80.0])
    assert out["originality"].tolist() == pytest.approx([4.0, 6.0, 8.0])


def test_zscore_clips_to_the_score_range_and_ignores_a_flat_juror_in_the_spread():
    # J1: 1,1,1,1,10 (mean 2.8, population sd 3.6: z = -0.5 x4, +2); J2: 6 everywhere (no spread: z = 0).
    # Panel mean (4 + 10 + 30)/10 = 4.4; within-juror sd 3.6 (J2, flat, does not shrink it).
    # E: J1 4.4 + 2*3.6 = 11.6 -> clipped to 10; J2 4.4 -> (10 + 4.4)/2 = 7.2 -> 72 (unclipped: 80)
    # A: J1 4.4 - 0.5*3.6 = 2.6; J2 4.4 -> 3.5 -> 35
    table = {k: {"J1": 1, "J2": 6} for k in "ABCD"} | {"E": {"J1": 10, "J2": 6}}
    out = agg(long(table, ONE), ONE, method="zscore")
    assert out.loc["E", "score"] == pytest.approx(72.0)
    assert out.loc["A", "score"] == pytest.approx(35.0)


def test_zscore_juror_with_all_tens_contributes_the_panel_mean():
    # J1: 4, 6, 8 (mean 6, sd sqrt(8/3)); J2 all 10s: no spread, z = 0, he adds the panel mean to every entry.
    # Panel mean (18 + 30)/6 = 8; J1 mapped 8 + z * sqrt(8/3) = 6, 8, 10. A (6+8)/2 = 7, B 8, C 9 -> 70, 80, 90.
    out = agg(long({"A": {"J1": 4, "J2": 10}, "B": {"J1": 6, "J2": 10}, "C": {"J1": 8, "J2": 10}}, ONE), ONE,
              method="zscore")
    assert out["score"].tolist() == pytest.approx([70.0, 80.0, 90.0])


def test_juror_with_all_tens_keeps_the_order_under_every_method():
    base = {"A": {"J1": [7, 6, 8, 7], "J2": [8, 7, 7, 8], "J3": [6, 6, 7, 6]},
            "B": {"J1": [5, 6, 5, 5], "J2": [6, 5, 6, 6], "J3": [5, 4, 5, 5]},
            "C": {"J1": [9, 8, 9, 9], "J2": [9, 9, 8, 9], "J3": [8, 8, 8, 9]},
            "D": {"J1": [3, 4, 3, 3], "J2": [4, 4, 5, 4], "J3": [4, 3, 3, 3]}}
    with_tens = {k: v | {"TEN": 10} for k, v in base.items()}
    for method in METHODS:
        without = agg(long(base), method=method, trimmed_min_jurors=4)
        withten = agg(long(with_tens), method=method, trimmed_min_jurors=4)
        assert order(without) == order(withten) == ["C", "A", "B", "D"], method
        assert withten["jurors"].tolist() == [4, 4, 4, 4]
    # under the mean he lifts everyone by the same amount: (sum + 10)/4 vs sum/3
    mean_with = agg(long(with_tens))
    assert mean_with.loc["D", "score"] == pytest.approx((3.25 + 4.25 + 3.25 + 10) / 4 * 10)


def test_missing_scores_combine_over_the_jurors_who_scored():
    scores = long({"A": {"J1": 8, "J2": 6, "J3": 4}, "B": {"J1": 8, "J2": 6}})
    # J3 scored three of B's four criteria: no weighted score from him for B, and no zero
    partial = pd.DataFrame([("J3", "B", c, 9.0) for c in CRITERIA[:3]], columns=scores.columns)
    blank = pd.DataFrame([("J1", "C", c, np.nan) for c in CRITERIA], columns=scores.columns)
    out = agg(pd.concat([scores, partial, blank], ignore_index=True))
    assert out.loc["A", "score"] == pytest.approx(60.0)  # (8 + 6 + 4) / 3
    assert out.loc["B", "score"] == pytest.approx(70.0)  # (8 + 6) / 2, J3's partial row left out
    assert out["jurors"].to_dict() == {"A": 3, "B": 2, "C": 0}
    assert np.isnan(out.loc["C", "score"])  # scored by nobody: no number made up
    matrix = juror_entry_scores(pd.concat([scores, partial], ignore_index=True), criteria=CRITERIA)
    assert matrix.loc["A"].tolist() == [8, 6, 4]
    assert matrix.loc["B", ["J1", "J2"]].tolist() == [8, 6] and np.isnan(matrix.loc["B", "J3"])


def test_juror_entry_scores_uses_the_weighted_mean_on_the_sheet_scale():
    m = juror_entry_scores(long({"A": {"J2": [10, 5, 5, 0.0 + 4], "J1": [1, 1, 1, 1]}}), criteria=CRITERIA,
                           weights=[2, 1, 1, 0])
    # J2: (20 + 5 + 5 + 0) / 4 = 7.5; J1: 1. Columns sorted by juror name.
    assert list(m.columns) == ["J1", "J2"]
    assert m.loc["A"].tolist() == pytest.approx([1.0, 7.5])


def test_bad_input_raises_a_clear_error():
    good = long({"A": {"J1": 5}})
    with pytest.raises(ValueError, match="unknown method"):
        agg(good, method="best")
    with pytest.raises(ValueError, match="unknown criterion 'colour'"):
        agg(pd.concat([good, pd.DataFrame([("J1", "A", "colour", 5.0)], columns=good.columns)]))
    with pytest.raises(ValueError, match="scored 'technique' of 'A' more than once"):
        agg(pd.concat([good, good.iloc[[2]]]))
    with pytest.raises(ValueError, match="outside 1-10"):
        agg(long({"A": {"J1": [5, 5, 11, 5]}}))
    with pytest.raises(ValueError, match="reserved"):
        aggregate(good.assign(criterion="score"), criteria=["score"])


def test_row_order_text_or_categorical_columns_and_a_prepared_cube_give_the_same_result():
    rng = np.random.default_rng(9)
    table = {f"E{e}": {f"J{j}": rng.integers(1, 11, 4).tolist() for j in range(6) if rng.random() < 0.8}
             for e in range(25)}
    frame = long(table)
    shuffled = frame.sample(frac=1, random_state=1)  # no runs, no criterion cycle: the plain factorize path
    categorical = frame.astype({"juror": "category", "anon_id": "category", "criterion": "category"})
    categorical["anon_id"] = categorical["anon_id"].cat.reorder_categories(
        list(categorical["anon_id"].cat.categories[::-1]))  # categories need not be sorted
    cube = prepare(frame, criteria=CRITERIA)
    for method in METHODS:
        expected = agg(frame, method=method)
        for other in (shuffled, categorical, cube):
            pd.testing.assert_frame_equal(agg(other, method=method), expected)
    pd.testing.assert_frame_equal(juror_entry_scores(cube, criteria=CRITERIA),
                                  juror_entry_scores(shuffled, criteria=CRITERIA))
    assert not cube.values.flags.writeable  # shared by every call: nobody may change it
    with pytest.raises(ValueError, match="prepared for criteria"):
        agg(cube, criteria=CRITERIA[:3])


# ---------------------------------------------------------------- rank


def test_rank_breaks_ties_by_criteria_in_order_then_shares_ranks():
    scores = long({
        # all four score 70 overall (weighted 7); the tie-break columns decide
        "ORIG9": {"J1": [9, 5, 7, 7]},   # originality 9
        "ORIG8": {"J1": [8, 8, 6, 6]},   # originality 8, information 8
        "ORIG8b": {"J1": [8, 7, 7, 6]},  # originality 8, information 7, technique 7
        "ORIG8c": {"J1": [8, 7, 7, 6]},  # identical to ORIG8b: shares its rank
        "ORIG8d": {"J1": [8, 7, 6, 7]},  # originality 8, information 7, technique 6
        "BEST": {"J1": [8, 8, 8, 8]},
    })
    ranked = rank(agg(scores), None, CRITERIA)
    assert ranked["rank"].to_dict() == {"BEST": 1, "ORIG9": 2, "ORIG8": 3, "ORIG8b": 4, "ORIG8c": 4, "ORIG8d": 6}
    assert list(ranked.index) == ["BEST", "ORIG9", "ORIG8", "ORIG8b", "ORIG8c", "ORIG8d"]
    assert ranked["category"].isna().all()


def test_rank_within_categories_and_overall():
    scores = long({"M1": {"J1": 9}, "M2": {"J1": 5}, "H1": {"J1": 7}, "H2": {"J1": 7}, "H3": {"J1": 8},
                   "X": {"J1": 6}})
    categories = pd.Series({"M1": "middle", "M2": "middle", "H1": "high", "H2": "high", "H3": "high"})
    ranked = rank(agg(scores), categories, CRITERIA)
    assert ranked["rank"].to_dict() == {"H3": 1, "H1": 2, "H2": 2, "M1": 1, "M2": 2, "X": 1}
    assert ranked["category"].to_dict() == {"H3": "high", "H1": "high", "H2": "high", "M1": "middle",
                                            "M2": "middle", "X": None}
    overall = rank(agg(scores), None, CRITERIA)
    assert overall["rank"].tolist() == [1, 2, 3, 3, 5, 6]  # M1 9, H3 8, H1/H2 7, X 6, M2 5
    assert list(overall.index[:2]) == ["M1", "H3"]


def test_rank_ties_survive_float_rounding_in_different_summation_orders():
    # 30 jurors, fractional weights: entries whose juror scores are the same marks handed out by different jurors
    # have the same score mathematically; float sums in another order differ in the last bit
    rng = np.random.default_rng(7)
    marks = rng.integers(1, 11, size=(30, 4)).astype(float)
    table = {}
    for e in range(8):
        perm = rng.permutation(30)
        table[f"E{e}"] = {f"J{j:02d}": marks[perm[j]].tolist() for j in range(30)}
    ranked = rank(agg(long(table), weights=[0.1, 0.7, 0.13, 0.31]), None, CRITERIA)
    assert ranked["rank"].tolist() == [1] * 8


def test_unscored_entry_gets_no_rank_and_sorts_last():
    scores = long({"A": {"J1": 5}, "B": {"J1": 6}})
    blank = pd.DataFrame([("J1", "C", c, np.nan) for c in CRITERIA], columns=scores.columns)
    ranked = rank(agg(pd.concat([scores, blank])), None, CRITERIA)
    assert list(ranked.index) == ["B", "A", "C"]
    assert ranked["rank"].iloc[:2].tolist() == [1, 2] and ranked["rank"].isna().tolist() == [False, False, True]
    assert str(ranked["rank"].dtype) == "Int64"


def test_zscore_restores_the_order_a_harsh_juror_with_a_partial_load_breaks():
    # J1-J3 score all six entries the same way (A 9 ... F 4); the harsh juror H (quorum: he got only A, B, C) agrees
    # on their order but gives 3, 2, 1. Under the mean, C falls to (3*7 + 1)/4 = 5.5 below D's 6: only because H
    # happened to score C. zscore standardises H on his own three entries: C's order comes back.
    fair = {"A": 9, "B": 8, "C": 7, "D": 6, "E": 5, "F": 4}
    harsh = {"A": 3, "B": 2, "C": 1}
    table = {e: {"J1": s, "J2": s, "J3": s} | ({"H": harsh[e]} if e in harsh else {}) for e, s in fair.items()}
    mean_order = order(agg(long(table)))
    z_order = order(agg(long(table), method="zscore"))
    assert mean_order == ["A", "B", "D", "C", "E", "F"]
    assert z_order == ["A", "B", "C", "D", "E", "F"]
    # the change is only where H's harshness explains it: the entries H did not score keep their order, and so do
    # the entries he scored among themselves
    for group in (["A", "B", "C"], ["D", "E", "F"]):
        assert [e for e in mean_order if e in group] == [e for e in z_order if e in group] == group


def test_zscore_keeps_the_mean_order_when_everyone_scored_everything_with_consistent_offsets():
    # 12 entries, 5 jurors, each juror a fixed offset (-3 .. +1) from the entry's marks on every criterion: no
    # clipping (marks 4..9 on each criterion), every juror scored every entry, so harshness moves every entry alike
    rng = np.random.default_rng(3)
    base = rng.integers(4, 10, size=(12, 4))
    offsets = {"HARSH": -3, "J2": -1, "J3": 0, "J4": 0, "LENIENT": 1}
    table = {f"E{e:02d}": {j: (base[e] + o + 0.0).clip(1, 10).tolist() for j, o in offsets.items()}
             for e in range(12)}
    m, z = agg(long(table)), agg(long(table), method="zscore")
    assert order(m) == order(z)
    assert rank(m, None, CRITERIA)["rank"].tolist() == rank(z, None, CRITERIA)["rank"].tolist()


def test_aggregate_and_rank_5000_entries_30_jurors():
    """A contest-sized round combines and ranks every entry over every juror. How fast is bench/bench_score.py's
    to say (a ratio to pandas reading the same scores, in the same run): a wall-clock limit here failed on a busy
    machine while the code was fine."""
    rng = np.random.default_rng(0)
    n_e, n_j = 5000, 30
    quality = rng.normal(6, 1.5, n_e)
    marks = np.clip(np.rint(quality[:, None, None] + rng.normal(0, 1.5, (n_e, n_j, 4))), 1, 10)
    e, j, c = np.meshgrid(np.arange(n_e), np.arange(n_j), np.arange(4), indexing="ij")
    frame = pd.DataFrame({"juror": np.array([f"Juror {i:02d}" for i in range(n_j)])[j.ravel()],
                          "anon_id": np.array([f"A{i:05d}" for i in range(n_e)])[e.ravel()],
                          "criterion": np.array(CRITERIA)[c.ravel()], "score": marks.ravel()})
    ranked = rank(agg(frame), None, CRITERIA)
    assert len(ranked) == n_e and ranked["jurors"].eq(n_j).all()
    assert ranked["rank"].min() == 1 and ranked["score"].is_monotonic_decreasing
    # the order follows the marks: the entry with the best mean mark over the 30 jurors and 4 criteria ranks first
    assert ranked.index[0] == f"A{int(np.argmax(marks.mean(axis=(1, 2)))):05d}"


# ---------------------------------------------------------------- agreement

# Shrout & Fleiss (1979), Table 2: 6 targets rated by 4 judges
SHROUT_FLEISS = pd.DataFrame([[9, 2, 5, 8], [6, 1, 3, 2], [8, 4, 6, 8], [7, 1, 2, 6], [10, 5, 6, 9], [6, 2, 4, 7]],
                             columns=["J1", "J2", "J3", "J4"], dtype=float)


def test_icc_matches_shrout_fleiss_table_2():
    out = icc(SHROUT_FLEISS)
    # the paper's Table 4: ICC(1,1) .17, ICC(2,1) .29, ICC(3,1) .71, ICC(1,4) .44, ICC(2,4) .62, ICC(3,4) .91
    published = {"icc1_1": 0.17, "icc2_1": 0.29, "icc3_1": 0.71, "icc1_k": 0.44, "icc2_k": 0.62, "icc3_k": 0.91}
    for key, value in published.items():
        assert round(out[key], 2) == value, key
    assert (out["n"], out["k"]) == (6, 4)


def test_icc_needs_every_juror_on_every_entry():
    gap = SHROUT_FLEISS.copy()
    gap.iloc[0, 0] = np.nan
    assert icc(gap) is None
    assert icc(SHROUT_FLEISS[["J1"]]) is None
    # a juror who returned nothing is not a gap
    assert icc(SHROUT_FLEISS.assign(J5=np.nan))["k"] == 4


def test_kendall_w_with_mid_ranks_and_tie_correction_by_hand():
    # J1 8,6,6,3 -> mid-ranks 4, 2.5, 2.5, 1 (one pair tied: t^3 - t = 6)
    # J2 9,7,5,5 -> 4, 3, 1.5, 1.5          (one pair tied: 6)
    # J3 7,8,6,4 -> 3, 4, 2, 1
    # R = 11, 9.5, 6, 3.5; mean m(n+1)/2 = 7.5; S = 3.5^2 + 2^2 + 1.5^2 + 4^2 = 34.5
    # W = 12 S / (m^2 (n^3 - n) - m sum T) = 414 / (9*60 - 3*12) = 414 / 504 = 23/28
    matrix = pd.DataFrame({"J1": [8, 6, 6, 3], "J2": [9, 7, 5, 5], "J3": [7, 8, 6, 4]}, index=list("ABCD"),
                          dtype=float)
    assert kendall_w(matrix) == pytest.approx(23 / 28)
    # entries not scored by every juror are left out; a juror who scored nothing is ignored
    extra = pd.concat([matrix, pd.DataFrame({"J1": [10.0], "J2": [np.nan], "J3": [1.0]}, index=["E"])])
    assert kendall_w(extra.assign(J4=np.nan)) == pytest.approx(23 / 28)


def test_kendall_w_extremes_and_none():
    same = pd.DataFrame({"J1": [1, 2, 3, 4], "J2": [2, 4, 6, 8], "J3": [5, 6, 7, 9]}, dtype=float)
    assert kendall_w(same) == pytest.approx(1.0)
    opposite = pd.DataFrame({"J1": [1, 2, 3], "J2": [3, 2, 1]}, dtype=float)  # R = 4, 4, 4 -> S = 0
    assert kendall_w(opposite) == pytest.approx(0.0)
    assert kendall_w(same[["J1"]]) is None  # one juror
    assert kendall_w(same.iloc[:1]) is None  # one entry
    assert kendall_w(pd.DataFrame({"J1": [5.0, 5.0], "J2": [7.0, 7.0]})) is None  # all tied: W undefined


def test_kendall_w_counts_the_entries_it_was_computed_over():
    """`concordance_entries` is the N of "over N entries every juror scored": a juror who returned nothing is left
    out of both, and there is a W only when N >= 2 (a W "over 0 entries" was printed before)."""
    nan = np.nan
    with_silent = pd.DataFrame({"J1": [1, 2, 3, 4], "J2": [1, 2, 3, 5], "J3": [nan] * 4}, dtype=float)
    assert agreement.concordance_entries(with_silent) == 4 and kendall_w(with_silent) == pytest.approx(1.0)
    disjoint = pd.DataFrame({"J1": [1, 2, nan, nan], "J2": [nan, nan, 3, 5]}, dtype=float)
    assert agreement.concordance_entries(disjoint) == 0 and kendall_w(disjoint) is None
    one_shared = pd.DataFrame({"J1": [1, 2, nan], "J2": [3, nan, 5]}, dtype=float)
    assert agreement.concordance_entries(one_shared) == 1 and kendall_w(one_shared) is None
    rng = np.random.default_rng(3)
    for _ in range(200):  # whatever the gaps: a number only over at least 2 shared entries
        m = pd.DataFrame(rng.integers(1, 11, (6, 4)).astype(float), columns=["a", "b", "c", "d"])
        m = m.mask(rng.random(m.shape) < 0.4)
        if kendall_w(m) is not None:
            assert agreement.concordance_entries(m) >= 2


def test_kendall_w_equals_friedman_chi_square_over_m_n_minus_1():
    # W = chi2_F / (m (n - 1)) with scipy's tie-corrected Friedman statistic: an independent implementation
    stats = pytest.importorskip("scipy.stats")
    rng = np.random.default_rng(11)
    matrix = pd.DataFrame(rng.integers(1, 8, size=(15, 6)).astype(float))  # many ties
    # Friedman's blocks are the jurors (6), its treatments the entries (15): one sample per entry
    chi2 = stats.friedmanchisquare(*[matrix.loc[i] for i in matrix.index]).statistic
    assert kendall_w(matrix) == pytest.approx(chi2 / (6 * 14))


# Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability", section C: 4 observers x 12 units, with
# missing values; the paper gives alpha interval = 0.849 (nominal .743, ordinal .815, ratio .797)
KRIPPENDORFF_C = np.array([
    [1, 2, 3, 3, 2, 1, 4, 1, 2, np.nan, np.nan, np.nan],
    [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, np.nan, 3],
    [np.nan, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, np.nan],
    [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, np.nan],
])


def test_krippendorff_alpha_matches_the_published_example():
    matrix = pd.DataFrame(KRIPPENDORFF_C.T, columns=["A", "B", "C", "D"])
    assert round(krippendorff_alpha(matrix), 3) == 0.849


def test_krippendorff_closed_form_equals_the_package(monkeypatch):
    krippendorff = pytest.importorskip("krippendorff")
    rng = np.random.default_rng(5)
    values = rng.integers(1, 11, size=(40, 7)).astype(float) + rng.integers(0, 3, size=(40, 1))
    values[rng.random(values.shape) < 0.3] = np.nan
    matrix = pd.DataFrame(values)
    reference = krippendorff.alpha(reliability_data=values.T, level_of_measurement="interval")
    assert krippendorff_alpha(matrix) == pytest.approx(reference, abs=1e-12)
    monkeypatch.setattr(agreement, "_KRIPPENDORFF_CELLS", 0)  # force the closed form
    assert krippendorff_alpha(matrix) == pytest.approx(reference, abs=1e-12)
    published = pd.DataFrame(KRIPPENDORFF_C.T)
    assert round(krippendorff_alpha(published), 3) == 0.849


def test_krippendorff_alpha_none_without_pairs_or_variation():
    assert krippendorff_alpha(pd.DataFrame({"J1": [1.0, 2.0]})) is None
    assert krippendorff_alpha(pd.DataFrame({"J1": [1.0, np.nan], "J2": [np.nan, 2.0]})) is None
    assert krippendorff_alpha(pd.DataFrame({"J1": [7.0, 7.0], "J2": [7.0, 7.0]})) is None


def test_agreement_is_the_same_on_any_linear_rescaling():
    rng = np.random.default_rng(2)
    matrix = pd.DataFrame(rng.integers(1, 11, size=(20, 5)).astype(float))
    matrix.iloc[3, 2] = np.nan
    scaled = matrix * 10 + 3
    assert kendall_w(scaled) == pytest.approx(kendall_w(matrix))
    assert krippendorff_alpha(scaled) == pytest.approx(krippendorff_alpha(matrix))


# ---------------------------------------------------------------- juror report


def test_juror_report_numbers_by_hand():
    matrix = pd.DataFrame({"J1": [6, 8, np.nan], "J2": [7, 9, 5], "J3": [2, 4, np.nan]}, index=list("ABC"),
                          dtype=float)
    rep = juror_report(matrix)
    assert rep["n"].to_dict() == {"J1": 2, "J2": 3, "J3": 2}
    # C was scored by J2 alone: not shared
    assert rep["shared"].to_dict() == {"J1": 2, "J2": 2, "J3": 2}
    # J3 against the others' mean: A (6+7)/2 = 6.5, B (8+9)/2 = 8.5 -> ((2-6.5) + (4-8.5)) / 2 = -4.5
    assert rep.loc["J3", "offset"] == pytest.approx(-4.5)
    # J2 shared A, B: others' mean A (6+2)/2 = 4, B 6 -> (3 + 3)/2 = 3
    assert rep.loc["J2", "offset"] == pytest.approx(3.0)
    assert rep.loc["J2", "mean"] == pytest.approx(7.0) and rep.loc["J2", "sd"] == pytest.approx(2.0)
    assert rep.attrs["buckets"] == [2, 3, 4, 5, 6, 7, 8, 9]
    assert rep.loc["J2", "distribution"] == {2: 0, 3: 0, 4: 0, 5: 1, 6: 0, 7: 1, 8: 0, 9: 1}
    assert rep["flag"].tolist() == ["", "", ""]  # two shared entries: too few to flag anyone


def test_juror_report_flags_harsh_lenient_and_against_the_panel():
    rng = np.random.default_rng(4)
    quality = np.linspace(3, 8, 30)
    panel = {f"J{j}": quality + rng.normal(0, 0.4, 30) for j in range(8)}
    panel["HARSH"] = quality - 2 + rng.normal(0, 0.4, 30)
    panel["LENIENT"] = quality + 1.8 + rng.normal(0, 0.4, 30)
    panel["REVERSED"] = quality[::-1] + rng.normal(0, 0.4, 30)
    matrix = pd.DataFrame(panel).clip(1, 10)
    matrix.iloc[:10, matrix.columns.get_loc("LENIENT")] = np.nan  # a partial load changes nothing
    rep = juror_report(matrix)
    assert rep.loc["HARSH", "flag"] == "harsh"
    assert rep.loc["LENIENT", "flag"] == "lenient"
    assert rep.loc["REVERSED", "flag"] == "against the panel"
    assert (rep.loc[[f"J{j}" for j in range(8)], "flag"] == "").all()
    assert rep.loc["HARSH", "offset"] == pytest.approx(-2, abs=0.5)
    assert rep.loc["REVERSED", "corr"] < -0.8 and rep.loc["J0", "corr"] > 0.9
    assert rep.loc["LENIENT", "n"] == 20
    # on an 80-column terminal each flag stays whole on its juror's line (the newcomer saw "lenien" / "t")
    from types import SimpleNamespace

    from rich.console import Console

    from milsetctl.scoring.console import render_jurors

    shown = rep.rename(index={"LENIENT": "Prof. Dr. Maria García-López", "REVERSED": "Jean-Baptiste Rousseau"})
    shown["sheet"] = [f"{j}-scores-round-1.xlsx" for j in shown.index]
    console = Console(width=80, record=True, color_system=None)
    render_jurors(console, SimpleNamespace(jurors=shown))
    lines = console.export_text().splitlines()
    assert max(len(line) for line in lines) <= 80
    for word in ("harsh", "lenient", "against", "panel"):  # "against the panel" may wrap between its words
        assert any(f" {word} " in line for line in lines), (word, "\n".join(lines))
    assert sum(rep.loc["LENIENT", "distribution"].values()) == 20


def test_juror_report_keeps_a_juror_who_scored_nothing():
    matrix = SHROUT_FLEISS.assign(EMPTY=np.nan)
    rep = juror_report(matrix)
    assert rep.loc["EMPTY", "n"] == 0 and rep.loc["EMPTY", "flag"] == ""
    assert set(rep.loc["EMPTY", "distribution"].values()) == {0}


def test_an_empty_round_gives_empty_results_not_errors():
    empty = long({})
    for method in METHODS:
        ranked = rank(agg(empty, method=method), None, CRITERIA)
        assert ranked.empty and list(ranked.columns) == ["score", *CRITERIA, "jurors", "category", "rank"]
    matrix = juror_entry_scores(empty, criteria=CRITERIA)
    assert (kendall_w(matrix), icc(matrix), krippendorff_alpha(matrix)) == (None, None, None)
    assert juror_report(matrix).empty
