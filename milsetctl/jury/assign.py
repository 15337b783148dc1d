"""Who scores what: a pure function from entries, jurors and the round's history to each juror's sheet.

Rules (issue 6): with a quorum K every entry goes to K jurors, with jurors' loads as even as the conflicts of
interest allow (differing by at most one); without one every juror scores every entry they have no conflict with.
A juror never gets an entry from their own school (national stage) or country (global stage). Re-running with a
changed juror file keeps every score already returned, moves only unscored work, keeps continuing jurors' unscored
entries where the balance allows (their sheets are already out), and never hands an entry to a juror twice.
"""

from __future__ import annotations

import random
from collections import defaultdict, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from milsetctl.jury.conflicts import conflict_key, conflict_reason

Pair = tuple[str, str]  # (juror_id, anon_id)
Movable = Callable[[str, str], bool]  # (juror_id, anon_id) -> whether the pair may move to another juror


@dataclass(frozen=True)
class JuryEntry:
    """An entry as the jury sees it (anonymous ID), plus what conflicts are judged on (never printed)."""

    anon_id: str
    category: str | None = None
    title: str = ""
    description: str = ""
    school: str | None = None
    country: str | None = None


@dataclass(frozen=True)
class Juror:
    juror_id: str
    name: str
    school: str | None = None
    country: str | None = None


@dataclass
class Assignment:
    """The result of `assign`.

    sheets: active juror_id -> anon_ids in that juror's sheet order (every active juror has a key).
    conflicts: juror_id -> anon_ids withheld from them for a conflict of interest, with the reason.
    short: anon_id -> (jurors it has, jurors wanted) for entries that cannot reach the quorum (quorum 0: entries
        no juror can score); "has" counts scores already returned by jurors who have since left.
    kept_scored: (juror, entry) pairs already scored by an active juror (never moved).
    added / removed: pairs that are new work on a sheet (a returning juror's own scored entries are not) / taken
        off an active sheet since the last run.
    retired: unscored pairs of jurors who left, handed to others.
    """

    quorum: int
    stage: str
    sheets: dict[str, list[str]]
    conflicts: dict[str, dict[str, str]]
    short: dict[str, tuple[int, int]]
    kept_scored: set[Pair] = field(default_factory=set)
    added: set[Pair] = field(default_factory=set)
    removed: set[Pair] = field(default_factory=set)
    retired: set[Pair] = field(default_factory=set)

    def loads(self) -> dict[str, int]:
        return {j: len(a) for j, a in self.sheets.items()}

    def positions(self) -> list[tuple[str, str, int]]:
        """(juror_id, anon_id, position from 1) triples, as `Ledger.save_assignments` takes them."""
        return [(j, a, i) for j, ids in sorted(self.sheets.items()) for i, a in enumerate(ids, start=1)]

    def jurors_of(self, anon_id: str) -> list[str]:
        return sorted(j for j, ids in self.sheets.items() if anon_id in ids)


def assign(entries: Iterable[JuryEntry], jurors: Iterable[Juror], quorum: int | None, stage: str,
           existing: Iterable[tuple[str, str, int, bool]] = (), scored: Iterable[Pair] = (),
           seed: int = 0) -> Assignment:
    """Assign entries to the active `jurors`.

    quorum: None or 0 = every juror scores every entry they have no conflict with; K > 0 = each entry to K jurors.
    stage: "national" (conflict = same school) or "global" (same country).
    existing: the ledger's assignments so far, active and inactive: (juror_id, anon_id, position, active).
    scored: (juror_id, anon_id) pairs whose scores are in the ledger, for any juror, present or gone.
    seed: same inputs and seed -> same result. Each juror's new entries are shuffled with a generator seeded by
    (seed, juror_id), so jurors see entries in different orders (no order effect shared by the panel).
    Raises ValueError for a negative quorum.
    """
    if quorum is not None and quorum < 0:
        raise ValueError(f"the quorum must be 0 (every juror) or a positive number of jurors, not {quorum}")
    k = int(quorum or 0)
    entry_list = sorted({e.anon_id: e for e in entries}.values(), key=lambda e: e.anon_id)
    juror_list = sorted({j.juror_id: j for j in jurors}.values(), key=lambda j: j.juror_id)
    ids = [e.anon_id for e in entry_list]
    id_set, active = set(ids), [j.juror_id for j in juror_list]
    active_set = set(active)
    rng = random.Random(f"assign:{seed}")
    entry_rank = {a: r for r, a in enumerate(rng.sample(ids, len(ids)))}
    juror_rank = {j: r for r, j in enumerate(rng.sample(active, len(active)))}

    conflicts: dict[str, dict[str, str]] = {j: {} for j in active}
    ok: dict[str, set[str]] = {j: set() for j in active}
    why = conflict_reason(stage)
    entry_keys = [(e.anon_id, conflict_key(stage, e.school, e.country)) for e in entry_list]
    for juror in juror_list:
        mine = conflict_key(stage, juror.school, juror.country)
        for anon_id, key in entry_keys:
            if mine and key == mine:
                conflicts[juror.juror_id][anon_id] = why
            else:
                ok[juror.juror_id].add(anon_id)

    existing = list(existing)
    prev_pos = {(j, a): pos for j, a, pos, act in existing if act}
    history = {(j, a) for j, a, _pos, _act in existing}
    scored_set = {(j, a) for j, a in scored if a in id_set}
    fixed = {(j, a) for j, a in scored_set if j in active_set}  # stays on the juror's sheet, never moves
    # scores returned by jurors who have left still count towards an entry's quorum
    gone_scores: dict[str, int] = defaultdict(int)
    for j, a in scored_set:
        if j not in active_set:
            gone_scores[a] += 1

    holds: dict[str, set[str]] = {j: set() for j in active}  # juror -> entries on their sheet
    for j, a in fixed:
        holds[j].add(a)

    if k == 0:
        for j in active:
            holds[j] |= ok[j]
        short = {a: (gone_scores[a], 0) for a in ids
                 if not any(a in holds[j] for j in active) and not gone_scores[a]}
    else:
        _fill_quorum(k, ids, active, ok, holds, fixed, gone_scores, prev_pos, history, entry_rank, juror_rank)
        counts = _entry_counts(holds, gone_scores)
        short = {a: (counts.get(a, 0), k) for a in ids if counts.get(a, 0) < k}

    sheets = {j: _order(j, holds[j], prev_pos, seed) for j in active}
    now = {(j, a) for j in active for a in holds[j]}
    prev_active = set(prev_pos)
    return Assignment(
        quorum=k, stage=stage, sheets=sheets, conflicts={j: c for j, c in conflicts.items() if c}, short=short,
        kept_scored=fixed, added=now - prev_active - fixed,
        removed={(j, a) for j, a in prev_active - now if j in active_set and a in id_set},
        retired={(j, a) for j, a in prev_active if j not in active_set and (j, a) not in scored_set
                 and a in id_set},
    )


def _entry_counts(holds: dict[str, set[str]], gone_scores: dict[str, int]) -> dict[str, int]:
    counts: dict[str, int] = defaultdict(int, gone_scores)
    for ids in holds.values():
        for a in ids:
            counts[a] += 1
    return counts


def _fill_quorum(k: int, ids: list[str], active: list[str], ok: dict[str, set[str]], holds: dict[str, set[str]],
                 fixed: set[Pair], gone_scores: dict[str, int], prev_pos: dict[Pair, int], history: set[Pair],
                 entry_rank: dict[str, int], juror_rank: dict[str, int]) -> None:
    """Bring every entry to k jurors (or as many as can take it) in `holds`, then even out the loads."""
    # 1. continuing jurors keep the unscored entries already on their sheets (no conflict arisen since)
    for j, a in sorted(prev_pos):
        if j in holds and a in ok[j]:
            holds[j].add(a)
    kept = {(j, a) for j in active for a in holds[j]} - fixed
    # an entry over the quorum (the quorum was lowered) sheds unscored pairs from the busiest jurors first
    counts = _entry_counts(holds, gone_scores)
    for a in sorted(ids, key=entry_rank.__getitem__):
        while counts[a] > k:
            removable = [j for j in active if (j, a) in kept and a in holds[j]]
            if not removable:
                break
            j = max(removable, key=lambda j: (len(holds[j]), juror_rank[j]))
            holds[j].discard(a)
            counts[a] -= 1

    # 2. fill: the entries with the fewest possible jurors first, each to the least-loaded jurors; a juror who
    #    once had the entry taken off their sheet gets it back only when no one else can take it
    def candidates(a: str) -> list[str]:
        return [j for j in active if a in ok[j] and a not in holds[j]]

    order = sorted(ids, key=lambda a: (len(candidates(a)), entry_rank[a]))
    for a in order:
        need = k - counts[a]
        if need <= 0:
            continue
        pool = sorted(candidates(a), key=lambda j: ((j, a) in history, len(holds[j]), juror_rank[j]))
        for j in pool[:need]:
            holds[j].add(a)
            counts[a] += 1

    # 3. even out: first by moving only work new in this run, then any unscored work
    new_pairs = {(j, a) for j in active for a in holds[j]} - fixed - kept
    _balance(active, ok, holds, lambda j, a: (j, a) in new_pairs, history, entry_rank, juror_rank, new_pairs)
    _balance(active, ok, holds, lambda j, a: (j, a) not in fixed, history, entry_rank, juror_rank, new_pairs)


def _balance(active: list[str], ok: dict[str, set[str]], holds: dict[str, set[str]], movable: Movable,
             history: set[Pair], entry_rank: dict[str, int], juror_rank: dict[str, int], new_pairs: set[Pair]) -> None:
    """Move entries along chains juror -> juror until no juror's load exceeds another's by 2 or more.

    A chain u -> v -> ... -> w moves one entry at each step (each step's receiver has no conflict with the entry
    and does not hold it yet), so only the first and last jurors' loads change: an augmenting path, as in
    max-flow. Each move lowers the sum of squared loads, so this ends; when no chain exists the remaining
    spread is forced by conflicts and by scores already returned.
    """
    by_load = sorted(active, key=lambda j: (-len(holds[j]), juror_rank[j]))
    while True:
        moved = False
        for source in by_load:
            path = _find_path(source, active, ok, holds, movable, history, entry_rank, juror_rank, new_pairs)
            if path is None:
                continue
            for u, v, a in path:
                holds[u].discard(a)
                holds[v].add(a)
                new_pairs.discard((u, a))
                new_pairs.add((v, a))
            moved = True
            break
        if not moved:
            return
        by_load = sorted(active, key=lambda j: (-len(holds[j]), juror_rank[j]))


def _find_path(source: str, active: list[str], ok: dict[str, set[str]], holds: dict[str, set[str]], movable: Movable,
               history: set[Pair], entry_rank: dict[str, int], juror_rank: dict[str, int], new_pairs: set[Pair]
               ) -> list[tuple[str, str, str]] | None:
    """Shortest chain of moves from `source` to a juror carrying at least 2 entries less (BFS), or None.

    At each step the entry moved is, by preference, one the receiver never had, then one new in this run
    (a continuing juror's sheet already out changes only when nothing else evens the loads).
    """
    limit = len(holds[source]) - 2
    if limit < 0:
        return None
    parent: dict[str, tuple[str, str] | None] = {source: None}
    queue = deque([source])
    targets = sorted(active, key=lambda j: (len(holds[j]), juror_rank[j]))
    while queue:
        u = queue.popleft()
        movable_here = sorted((a for a in holds[u] if movable(u, a)),
                              key=lambda a: ((u, a) not in new_pairs, entry_rank[a]))
        for v in targets:
            if v in parent:
                continue
            best = None
            for a in movable_here:
                if a in ok[v] and a not in holds[v]:
                    if (v, a) not in history:
                        best = a
                        break
                    if best is None:
                        best = a
            if best is None:
                continue
            parent[v] = (u, best)
            if len(holds[v]) <= limit:
                path = []
                node = v
                while parent[node] is not None:
                    prev, a = parent[node]  # type: ignore[misc]
                    path.append((prev, node, a))
                    node = prev
                return path[::-1]
            queue.append(v)
    return None


def _order(juror_id: str, held: set[str], prev_pos: dict[Pair, int], seed: int) -> list[str]:
    """The juror's sheet order: entries already on their sheet where they were, new ones after, shuffled."""
    old = sorted((a for a in held if (juror_id, a) in prev_pos), key=lambda a: prev_pos[(juror_id, a)])
    new = sorted(a for a in held if (juror_id, a) not in prev_pos)
    random.Random(f"order:{seed}:{juror_id}").shuffle(new)
    return old + new
