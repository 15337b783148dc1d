"""The Schulze method (milsetctl/scoring/schulze.py) on the published examples, and on the ballots a jury final
produces (ties on a ballot, an entry a juror must not rank).

The examples' numbers are the published ones: Wikipedia's 45 voters ("Schulze method", Example) with its matrices
of pairwise preferences d and strongest paths p; Schulze's 21-voter example (D wins, D > A > C > B) and his
9-voter example where two candidates are both potential winners (B and D): a tie the method does not break.
"""

from __future__ import annotations

import itertools
import random

import pytest

from milsetctl.scoring.schulze import pairwise, parse_order, schulze


def election(groups: list[tuple[int, str]], candidates: str):  # type: ignore[no-untyped-def]
    return schulze([parse_order(order) for _, order in groups], list(candidates),
                   weights=[n for n, _ in groups])


WIKIPEDIA_45 = [(5, "ACBED"), (5, "ADECB"), (8, "BEDAC"), (3, "CABED"), (7, "CAEBD"), (2, "CBADE"), (7, "DCEBA"),
                (8, "EBADC")]


def test_wikipedia_45_voters_winner_e_and_full_order() -> None:
    result = election(WIKIPEDIA_45, "ABCDE")
    assert result.winners == ["E"]
    assert result.order == ["E", "A", "C", "B", "D"]
    assert result.tiers == [["E"], ["A"], ["C"], ["B"], ["D"]]
    assert result.ties == []
    assert result.ranks == {"E": 1, "A": 2, "C": 3, "B": 4, "D": 5}
    assert result.ballots == 45


def test_wikipedia_45_voters_pairwise_and_strongest_paths_as_published() -> None:
    result = election(WIKIPEDIA_45, "ABCDE")
    d = {"A": [20, 26, 30, 22], "B": [25, 16, 33, 18], "C": [19, 29, 17, 24], "D": [15, 12, 28, 14],
         "E": [23, 27, 21, 31]}
    p = {"A": [28, 28, 30, 24], "B": [25, 28, 33, 24], "C": [25, 29, 29, 24], "D": [25, 28, 28, 24],
         "E": [25, 28, 28, 31]}
    for x in "ABCDE":
        others = [y for y in "ABCDE" if y != x]
        assert [result.d[(x, y)] for y in others] == d[x], x
        assert [result.p[(x, y)] for y in others] == p[x], x
    # "As 29 = p[C,B] > p[B,C] = 28, candidate C is better than candidate B"
    assert result.beats("C", "B") and not result.beats("B", "C")


def test_schulze_21_voters_d_wins() -> None:
    result = election([(8, "ACDB"), (2, "BADC"), (4, "CDBA"), (4, "DBAC"), (3, "DCBA")], "ABCD")
    assert result.order == ["D", "A", "C", "B"]
    assert result.p[("D", "B")] == 19 and result.p[("A", "D")] == 12 and result.p[("D", "A")] == 13


def test_a_tie_is_named_not_broken() -> None:
    """Schulze's 9 voters: p[B, D] = p[D, B], and nobody beats either: both are potential winners."""
    result = election([(3, "ABCD"), (2, "DABC"), (2, "DBCA"), (2, "CBDA")], "ABCD")
    assert result.winners == ["B", "D"]
    assert result.ties[0] == ["B", "D"]
    assert result.p[("B", "D")] == result.p[("D", "B")] == 5
    assert result.ranks["B"] == result.ranks["D"] == 1
    assert result.ranks["A"] == 3  # the next place skips the tie: 1, 1, 3
    # the order of the candidates as given decides only how a tie is listed, never who is in it
    again = election([(3, "ABCD"), (2, "DABC"), (2, "DBCA"), (2, "CBDA")], "DCBA")
    assert again.winners == ["D", "B"] and again.ranks == result.ranks


def test_two_jurors_opposite_is_a_full_tie() -> None:
    result = schulze([parse_order("A>B>C"), parse_order("C>B>A")], ["A", "B", "C"])
    assert result.tiers == [["A", "B", "C"]]
    assert result.ties == [["A", "B", "C"]]


def test_equal_places_on_a_ballot_count_for_neither() -> None:
    d = pairwise([{"A": 1, "B": 1, "C": 2}], ["A", "B", "C"])
    assert d[("A", "B")] == d[("B", "A")] == 0
    assert d[("A", "C")] == d[("B", "C")] == 1 and d[("C", "A")] == 0


def test_an_entry_left_off_a_ballot_is_compared_with_nothing_there() -> None:
    """A juror with a conflict of interest over B says nothing about B: B is neither above nor below A or C on
    that ballot, so it is not sunk by being left out (as ranking it last would)."""
    ballots = [{"A": 1, "C": 2}, parse_order("B>A>C"), parse_order("B>A>C"), parse_order("A>B>C")]
    d = pairwise(ballots, ["A", "B", "C"])
    assert d[("A", "B")] == 1 and d[("B", "A")] == 2
    assert d[("A", "C")] == 4
    assert schulze(ballots, ["A", "B", "C"]).order == ["B", "A", "C"]
    # ranking B last instead would have made it lose to A: the difference the abstention makes
    last = [{"A": 1, "C": 2, "B": 3}, *ballots[1:]]
    assert schulze(last, ["A", "B", "C"]).tiers == [["A", "B"], ["C"]]


def test_condorcet_winner_always_wins_and_reversal_reverses() -> None:
    rng = random.Random(7)
    cands = list("ABCDE")
    for _ in range(40):
        ballots = []
        for _ in range(rng.randrange(3, 12)):
            order = cands[:]
            rng.shuffle(order)
            ballots.append({c: i for i, c in enumerate(order)})
        result = schulze(ballots, cands)
        d = result.d
        condorcet = [a for a in cands if all(d[(a, b)] > d[(b, a)] for b in cands if b != a)]
        if condorcet:
            assert result.winners == condorcet
        # the relation is transitive (Schulze 2011, section 4.1)
        for a, b, c in itertools.permutations(cands, 3):
            if result.beats(a, b) and result.beats(b, c):
                assert result.beats(a, c)
        reversed_ballots = [{c: -p for c, p in b.items()} for b in ballots]
        back = schulze(reversed_ballots, cands)
        for a, b in itertools.permutations(cands, 2):
            if result.beats(a, b):
                assert back.beats(b, a)


def test_margins_and_winning_votes_agree_on_full_ballots() -> None:
    result = schulze([parse_order(o) for _, o in WIKIPEDIA_45], list("ABCDE"), weights=[n for n, _ in WIKIPEDIA_45],
                     strength="margin")
    assert result.order == ["E", "A", "C", "B", "D"]


def test_bad_input_is_refused() -> None:
    with pytest.raises(ValueError, match="not a candidate"):
        schulze([{"Z": 1}], ["A", "B"])
    with pytest.raises(ValueError, match="twice"):
        schulze([], ["A", "A"])
    with pytest.raises(ValueError, match="strength"):
        schulze([], ["A"], strength="borda")  # type: ignore[arg-type]
    assert schulze([], ["A", "B"]).tiers == [["A", "B"]]  # no ballot: everyone tied
