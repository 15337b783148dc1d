"""Awards from a ranking: the 35% Qualifier cut per category and its ties, the global places and the gallery."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from milsetctl.awards.select import AwardList, qualifier_cut, select_awards
from milsetctl.scoring.aggregate import aggregate, rank

CRITERIA = ["originality", "information", "technique", "impact"]


def ranking(scores: dict[str, float], categories: dict[str, str | None] | None) -> pd.DataFrame:
    """A ranking straight from one juror's marks (score = mark x 10 on every criterion), through aggregate/rank."""
    rows = [("J1", a, c, float(s)) for a, s in scores.items() for c in CRITERIA]
    frame = pd.DataFrame(rows, columns=["juror", "anon_id", "criterion", "score"])
    agg = aggregate(frame, criteria=CRITERIA, score_min=0, score_max=100)
    return rank(agg, None if categories is None else pd.Series(categories, dtype=object), CRITERIA)


def awards(result: AwardList) -> dict[str, str | None]:
    return result.frame["award"].to_dict()


def test_qualifier_cut_is_floor_of_35_percent_at_least_one():
    assert [qualifier_cut(n, 0.35) for n in (1, 2, 3, 5, 6, 10, 20, 100)] == [1, 1, 1, 1, 2, 3, 7, 35]
    # exact where binary floats are not: 0.35 * 20 = 7.000000000000001, 0.35 * 60 = 21.0, 0.7 * 10 ...
    for n in range(1, 500):
        assert qualifier_cut(n, 0.35) == max(1, n * 35 // 100), n
        assert qualifier_cut(n, 0.7) == max(1, n * 7 // 10), n


def test_twenty_entries_qualify_seven():
    scores = {f"E{i:02d}": 100 - i for i in range(20)}  # E00 best ... E19 worst, no ties
    result = select_awards(ranking(scores, dict.fromkeys(scores, "high")), stage="national")
    assert result.cuts == {"high": 7} and result.entries == {"high": 20}
    qualified = [a for a, w in awards(result).items() if w == "qualifier"]
    assert qualified == [f"E{i:02d}" for i in range(7)]
    assert result.ties == []
    assert all(w is None for a, w in awards(result).items() if a not in qualified)


def test_a_tie_on_the_cut_qualifies_every_entry_sharing_the_last_rank_and_is_reported():
    # 20 entries: ranks 1..6, then E06 and E07 share rank 7 (cut 7): both qualify, 8 qualifiers, the tie is named
    scores = {f"E{i:02d}": 100 - i for i in range(20)}
    scores["E07"] = scores["E06"]
    result = select_awards(ranking(scores, dict.fromkeys(scores, "middle")), stage="national")
    ranks = result.frame["rank"].to_dict()
    assert ranks["E06"] == ranks["E07"] == 7 and ranks["E08"] == 9
    qualified = sorted(a for a, w in awards(result).items() if w == "qualifier")
    assert qualified == [f"E{i:02d}" for i in range(8)]
    assert result.ties == [("middle", 7, ["E06", "E07"])]


def test_a_tie_just_below_the_cut_does_not_qualify():
    scores = {f"E{i:02d}": 100 - i for i in range(20)}
    scores["E08"] = scores["E07"]  # ranks 8, 8: outside the cut of 7
    result = select_awards(ranking(scores, dict.fromkeys(scores, "high")), stage="national")
    assert sum(w == "qualifier" for w in awards(result).values()) == 7
    assert result.ties == []


def test_one_and_two_entry_categories_get_one_qualifier_and_categories_are_separate():
    scores = {"SOLO": 40, "P1": 90, "P2": 80, "Q1": 70, "Q2": 70}
    cats = {"SOLO": "middle", "P1": "high", "P2": "high", "Q1": "other", "Q2": "other"}
    result = select_awards(ranking(scores, cats), stage="national")
    assert result.cuts == {"high": 1, "middle": 1, "other": 1}
    assert awards(result) == {"P1": "qualifier", "P2": None, "SOLO": "qualifier", "Q1": "qualifier",
                              "Q2": "qualifier"}
    # the two-entry category whose entries tie both qualify, and the chair hears about it
    assert result.ties == [("other", 1, ["Q1", "Q2"])]


def test_entries_without_category_form_their_own_group():
    scores = {"A": 90, "B": 80, "C": 70}
    result = select_awards(ranking(scores, {"A": "high"}), stage="national")
    assert result.cuts == {"high": 1, None: 1}
    assert awards(result) == {"A": "qualifier", "B": "qualifier", "C": None}


def test_unscored_entry_counts_for_the_cut_but_gets_no_award():
    # 6 eligible entries in the category, one nobody scored: cut floor(0.35 * 6) = 2, and the unscored one gets none
    rows = [("J1", a, c, float(s)) for a, s in {"A": 9, "B": 8, "C": 7, "D": 6, "E": 5}.items() for c in CRITERIA]
    rows += [("J1", "F", c, np.nan) for c in CRITERIA]
    frame = pd.DataFrame(rows, columns=["juror", "anon_id", "criterion", "score"])
    ranked = rank(aggregate(frame, criteria=CRITERIA), pd.Series(dict.fromkeys("ABCDEF", "high")), CRITERIA)
    result = select_awards(ranked, stage="national")
    assert result.cuts == {"high": 2}
    assert [a for a, w in awards(result).items() if w] == ["A", "B"]
    assert awards(result)["F"] is None


def test_end_to_end_with_a_juror_giving_all_tens_and_missing_scores():
    # three jurors; TEN gives 10 everywhere he scored; J2 did not score C at all; J3 left D's impact blank
    marks = {"A": {"J1": 9, "J2": 8, "J3": 9, "TEN": 10}, "B": {"J1": 7, "J2": 7, "J3": 6, "TEN": 10},
             "C": {"J1": 8, "J3": 8, "TEN": 10}, "D": {"J1": 5, "J2": 5, "J3": 4}, "E": {"J1": 3, "J2": 2, "J3": 3}}
    rows = [(j, a, c, float(s)) for a, by in marks.items() for j, s in by.items() for c in CRITERIA]
    rows = [r for r in rows if not (r[0] == "J3" and r[1] == "D" and r[2] == "impact")]
    frame = pd.DataFrame(rows, columns=["juror", "anon_id", "criterion", "score"])
    agg = aggregate(frame, criteria=CRITERIA)
    assert agg["jurors"].to_dict() == {"A": 4, "B": 4, "C": 3, "D": 2, "E": 3}
    # A (9+8+9+10)/4 = 9 -> 90; C (8+8+10)/3 = 8.667; B 7.5; D (5+5)/2 = 5; E 8/3
    assert agg["score"].tolist() == pytest.approx([90.0, 75.0, 260 / 3, 50.0, 80 / 3])
    ranked = rank(agg, pd.Series(dict.fromkeys("ABCDE", "high")), CRITERIA)
    assert list(ranked.index) == ["A", "C", "B", "D", "E"]
    result = select_awards(ranked, stage="national")  # 5 entries: cut 1
    assert [a for a, w in awards(result).items() if w == "qualifier"] == ["A"]


def test_global_places_and_gallery_with_shared_ranks():
    # overall: 100, 90, 90, 80, 70 ... -> ranks 1, 2, 2, 4, 5, ...
    scores = {f"G{i:02d}": s for i, s in enumerate([100, 90, 90, 80, 70, 65, 60, 55, 50, 45, 45, 40, 30])}
    cats = {a: ("middle" if i % 2 else "high") for i, a in enumerate(scores)}  # ignored: the ranking is overall
    ranked = ranking(scores, None)
    ranked["category"] = pd.Series(cats)
    result = select_awards(ranked, stage="global")
    got = awards(result)
    assert got["G00"] == "global-1"
    assert got["G01"] == got["G02"] == "global-2"
    assert got["G03"] == "gallery"  # rank 4: nobody is global-3 when two share global-2
    # ranks 4..10 are gallery; G09 and G10 share rank 10: both in, G11 (rank 12) out
    assert [a for a, w in got.items() if w == "gallery"] == [f"G{i:02d}" for i in range(3, 11)]
    assert got["G11"] is None and got["G12"] is None
    assert result.cuts == {"global": 3, "gallery": 10}
    assert result.ties == [(None, 2, ["G01", "G02"]), (None, 10, ["G09", "G10"])]


def test_global_tie_on_third_place_shares_the_award():
    ranked = ranking({"A": 90, "B": 80, "C": 70, "D": 70, "E": 60}, None)
    result = select_awards(ranked, stage="global", global_top=3, gallery_size=4)
    assert awards(result) == {"A": "global-1", "B": "global-2", "C": "global-3", "D": "global-3", "E": None}
    assert result.ties == [(None, 3, ["C", "D"])]


def test_bad_arguments():
    ranked = ranking({"A": 1}, None)
    with pytest.raises(ValueError, match="unknown stage"):
        select_awards(ranked, stage="regional")
    with pytest.raises(ValueError, match="qualifier_fraction"):
        select_awards(ranked, stage="national", qualifier_fraction=0)
    with pytest.raises(ValueError, match="gallery_size"):
        select_awards(ranked, stage="global", global_top=5, gallery_size=3)
    with pytest.raises(ValueError, match="'rank' column"):
        select_awards(ranked.drop(columns="rank"), stage="national")
