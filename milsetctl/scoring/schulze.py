"""The Schulze method: combine the jurors' rankings of a short list into one order, with its ties named.

Written here rather than taken from PyPI (issue 20): the maintained implementations are GPL-3.0
(schulze-condorcet, py-vote-core: this project is MIT) or bring a scientific stack of their own (pref_voting:
ortools, numba, seaborn...), and none takes the ballots a jury final produces: a juror with a conflict of
interest leaves an entry unranked, which must count as no opinion about it, not as ranking it last. The method is
short and the published examples pin it down (tests/test_schulze.py: Wikipedia's 45 voters, Schulze 2011's
examples).

Schulze, M. (2011), "A new monotonic, clone-independent, reversal symmetric, and Condorcet-consistent single-winner
election method", Social Choice and Welfare 36:267-303:
- d[a, b]: how many ballots rank a above b. A ballot ranks only the candidates it names; two candidates with the
  same number are tied on it (counted for neither); a candidate it leaves out is compared with nobody on it.
- the link a -> b exists when d[a, b] > d[b, a]. Its strength is, by default, "winning votes" (section 2.1): first
  d[a, b] (more support is stronger), then d[b, a] (less opposition is stronger); "margin" uses d[a, b] - d[b, a].
  With complete ballots without ties the two give the same order.
- p[a, b]: the strength of the strongest path from a to b (a widest path; Floyd-Warshall, O(n^3)).
- a is placed above b when p[a, b] > p[b, a]. This relation is transitive (the paper's section 4.1), so the
  candidates fall into tiers: the first tier is everyone nobody beats; remove it and repeat. Candidates in one
  tier are tied (p[a, b] = p[b, a]): the result names them, and nothing here breaks the tie.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

Strength = Literal["winning", "margin"]
# a link's strength: winning votes as (support, -opposition), compared as tuples; margins as (margin, 0)
_Link = tuple[int, int]
_NO_LINK: _Link = (0, 0)  # below every real link: winning votes have support >= 1, margins are >= 1


@dataclass(frozen=True)
class SchulzeResult:
    """The outcome: `tiers` best first (each a list of tied candidates, in the order the candidates were given),
    the pairwise counts `d` and the strongest paths `p` (as the strength method measures them: winning votes'
    support, or margins), so the chair can show why."""

    candidates: tuple[str, ...]
    tiers: list[list[str]]
    d: dict[tuple[str, str], int]
    p: dict[tuple[str, str], int]
    strength: Strength = "winning"
    ballots: int = 0
    _p_full: dict[tuple[str, str], _Link] = field(default_factory=dict, repr=False, compare=False)

    @property
    def order(self) -> list[str]:
        """Every candidate, best first (tied ones next to each other, in the order given)."""
        return [c for tier in self.tiers for c in tier]

    @property
    def ranks(self) -> dict[str, int]:
        """candidate -> place, 1 = best; tied candidates share the place and the next ones skip (1, 2, 2, 4)."""
        out: dict[str, int] = {}
        place = 1
        for tier in self.tiers:
            for c in tier:
                out[c] = place
            place += len(tier)
        return out

    @property
    def winners(self) -> list[str]:
        return list(self.tiers[0]) if self.tiers else []

    @property
    def ties(self) -> list[list[str]]:
        """The tiers holding more than one candidate: the ties the chair has to settle or announce."""
        return [list(t) for t in self.tiers if len(t) > 1]

    def beats(self, a: str, b: str) -> bool:
        """Whether a is placed above b (p[a, b] > p[b, a])."""
        return self._p_full[(a, b)] > self._p_full[(b, a)]


def parse_order(text: str) -> dict[str, int]:
    """A ballot written "A>B=C>D" (or "ABCD", one letter a candidate) as candidate -> place (1, 2, 2, 3).

    For tests and examples; the final sheets give places as numbers already."""
    if ">" not in text and "=" not in text:
        return {c: i for i, c in enumerate(text.strip(), start=1)}
    out: dict[str, int] = {}
    for place, level in enumerate(text.split(">"), start=1):
        for c in level.split("="):
            name = c.strip()
            if not name:
                raise ValueError(f"empty candidate in {text!r}")
            if name in out:
                raise ValueError(f"{name!r} twice in {text!r}")
            out[name] = place
    return out


def pairwise(ballots: Iterable[Mapping[str, float]], candidates: Sequence[str],
             weights: Sequence[int] | None = None) -> dict[tuple[str, str], int]:
    """d[a, b]: how many ballots (times their weight) place a above b; a candidate a ballot leaves out, or a place
    that is None, compares with nothing on that ballot."""
    cands = list(candidates)
    known = set(cands)
    d = {(a, b): 0 for a in cands for b in cands if a != b}
    for k, ballot in enumerate(ballots):
        w = 1 if weights is None else int(weights[k])
        unknown = [c for c in ballot if c not in known]
        if unknown:
            raise ValueError(f"ballot {k + 1} names {unknown[0]!r}, which is not a candidate")
        placed = [(c, ballot[c]) for c in cands if c in ballot and ballot[c] is not None]
        for i, (a, ra) in enumerate(placed):
            for b, rb in placed[i + 1:]:
                if ra < rb:
                    d[(a, b)] += w
                elif rb < ra:
                    d[(b, a)] += w
    return d


def schulze(ballots: Iterable[Mapping[str, float]], candidates: Sequence[str], *,
            weights: Sequence[int] | None = None, strength: Strength = "winning") -> SchulzeResult:
    """Combine `ballots` (each: candidate -> place, 1 = best; equal places = tied; a candidate left out = no
    opinion about it on that ballot) into tiers. `weights`: how many voters cast each ballot (default 1 each).

    Raises ValueError for a repeated candidate, a ballot naming a non-candidate, or an unknown strength.
    """
    cands = list(candidates)
    if len(set(cands)) != len(cands):
        raise ValueError(f"a candidate is named twice: {cands}")
    if strength not in ("winning", "margin"):
        raise ValueError(f"unknown strength {strength!r} (winning or margin)")
    ballot_list = list(ballots)
    if weights is not None and len(weights) != len(ballot_list):
        raise ValueError(f"{len(weights)} weights for {len(ballot_list)} ballots")
    d = pairwise(ballot_list, cands, weights)

    def link(a: str, b: str) -> _Link:
        support, opposition = d[(a, b)], d[(b, a)]
        if support <= opposition:
            return _NO_LINK
        return (support, -opposition) if strength == "winning" else (support - opposition, 0)

    p: dict[tuple[str, str], _Link] = {(a, b): link(a, b) for a in cands for b in cands if a != b}
    for i in cands:  # widest paths (Floyd-Warshall)
        for j in cands:
            if j == i:
                continue
            pji = p[(j, i)]
            if pji == _NO_LINK:
                continue
            for k in cands:
                if k in (i, j):
                    continue
                through = min(pji, p[(i, k)])
                if through > p[(j, k)]:
                    p[(j, k)] = through
    tiers: list[list[str]] = []
    remaining = list(cands)
    while remaining:
        tier = [a for a in remaining if not any(p[(b, a)] > p[(a, b)] for b in remaining if b != a)]
        if not tier:  # cannot happen (the relation is a strict partial order); guards against an endless loop
            raise AssertionError("Schulze relation has a cycle")
        tiers.append(tier)
        remaining = [c for c in remaining if c not in tier]
    shown = {k: v[0] for k, v in p.items()}
    n_ballots = sum(weights) if weights is not None else len(ballot_list)
    return SchulzeResult(tuple(cands), tiers, d, shown, strength, int(n_ballots), p)
