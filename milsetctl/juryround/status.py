"""`milsetctl jury status`: how far each juror has got, read from the sheets that came back, storing nothing.

The chair's question during the round is "who has scored, who has not, and which photos have their jurors yet"
(issue 20). The answer comes from the sheets in a folder (SPEC: `jury/returned/` when there is one, else
`jury/sheets/`), read by `score`'s own reader (`scoring.read.read_sheets`), so every format `score` accepts (the
juror XLSX, a per-juror CSV, the long CSV, a copy saved twice) counts here the same way; and compared with what
`jury sheets` handed out (the ledger's assignments). Nothing is written: the CLI opens the workspace read-only
(SQLite `mode=ro`), and this module only reads the ledger.

A juror is
- `returned` when every entry assigned to them (still in the round) has a complete score on their sheet, or a
  recusal (scores blank, RECUSED in the comment: nothing owed);
- `partial` when some of them have;
- `missing` when none has: no sheet in the folder, or the blank sheet as it was sent.
An entry's quorum is met when at least as many jurors scored it completely as the round asked: the quorum
`jury sheets` ran with (its audit record; else settings `jury.quorum`), and with quorum 0 ("every juror") every
juror it was handed to.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from milsetctl.jury.run import SHEETS_DIR
from milsetctl.models import StageError
from milsetctl.scoring.read import RECUSAL, Problem, Roster, SheetsRead, read_sheets, score_column, sheet_paths
from milsetctl.timefmt import machine_time
from milsetctl.workspace import Workspace

RETURNED_DIR = Path("jury") / "returned"
RETURNED, PARTIAL, MISSING = "returned", "partial", "missing"

# A juror's own pattern, judged on their complete rows once they have at least MIN_PATTERN_ROWS of them:
SAME_SCORES = "every score the same"  # every entry given the very same scores (7 7 7 7 everywhere, or 8 6 7 5 each)
STRAIGHT_LINING = "straight-lining"  # one number for every criterion of an entry (7 7 7 7, 4 4 4 4...), mostly
MIN_PATTERN_ROWS = 3
STRAIGHT_SHARE = 0.8  # ... in at least this share of the juror's complete rows
# `score`'s per-juror flags (scoring.agreement.juror_report), reused as they are: far from the panel
PANEL_FLAGS = ("harsh", "lenient", "against the panel")

# Problems that ARE the progress this command reports (a blank cell, a blank row, an assigned entry left off the sheet):
# counted as not scored, not listed again. Every other problem (out of range, unknown ID...) is listed.
PROGRESS_CODES = frozenset({"score-blank", "entry-skipped", "assigned-not-scored", "juror-no-sheet"})


class StatusError(StageError):
    """The status cannot be read (no sheets folder, no jury round yet); `code` is the exit status."""


@dataclass
class JurorProgress:
    """One juror's progress. `missing`: the assigned anon IDs still without a complete score, in sheet order."""

    juror: str
    juror_id: str | None
    email: str | None
    state: str
    scored: int
    expected: int
    missing: list[str] = field(default_factory=list)
    recused: int = 0
    sheet: Path | None = None  # the file in the folder holding this juror's scores
    arrived: datetime | None = None  # that file's modification time (aware, UTC), when it came back
    flags: list[str] = field(default_factory=list)
    problems: int = 0  # problems on the juror's sheet other than the blanks themselves

    def as_json(self, tz: Any) -> dict[str, Any]:
        return {"juror": self.juror, "state": self.state, "scored": self.scored, "expected": self.expected,
                "juror_id": self.juror_id, "missing": self.missing, "recused": self.recused,
                "sheet": self.sheet.name if self.sheet else None, "arrived": machine_time(self.arrived, tz),
                "flags": self.flags, "problems": self.problems}


@dataclass
class EntryProgress:
    anon_id: str
    jurors: int  # jurors whose complete score of it is in the folder
    quorum: int  # jurors it needs
    assigned: int  # active jurors it was handed to

    @property
    def quorum_met(self) -> bool:
        return self.jurors >= self.quorum

    def as_json(self) -> dict[str, Any]:
        return {"anon_id": self.anon_id, "jurors": self.jurors, "quorum_met": self.quorum_met,
                "quorum": self.quorum, "assigned": self.assigned}


@dataclass
class RoundStatus:
    folder: Path
    round_id: str | None
    quorum: int  # the round's quorum (0: every juror scores every entry they may)
    jurors: list[JurorProgress]
    entries: list[EntryProgress]
    problems: list[Problem]  # what else is wrong in the folder (out-of-range cells, unknown IDs, strangers' sheets)
    tz: Any = None
    assigned: bool = True  # False: `jury sheets` never ran; expected = the entries on each juror's sheet

    def count(self, state: str) -> int:
        return sum(1 for j in self.jurors if j.state == state)

    @property
    def late(self) -> list[JurorProgress]:
        """The jurors a reminder is for: missing or partial."""
        return [j for j in self.jurors if j.state != RETURNED]

    def as_json(self) -> dict[str, Any]:
        """SPEC: {"jurors": [{"juror", "state", "scored", "expected"}], "entries": [{"anon_id", "jurors",
        "quorum_met"}]}, each with more (juror_id, missing IDs, arrival, flags; the quorum asked), and the folder
        read, the round's quorum and the other problems found."""
        return {"jurors": [j.as_json(self.tz) for j in self.jurors],
                "entries": [e.as_json() for e in self.entries],
                "folder": str(self.folder), "round_id": self.round_id, "quorum": self.quorum,
                "summary": {RETURNED: self.count(RETURNED), PARTIAL: self.count(PARTIAL),
                            MISSING: self.count(MISSING),
                            "entries_quorum_met": sum(1 for e in self.entries if e.quorum_met),
                            "entries": len(self.entries)},
                "problems": [p.as_json() for p in self.problems]}


def default_folder(ws: Workspace) -> Path:
    """SPEC: `jury/returned/` if present, else `jury/sheets/`."""
    returned = ws.root / RETURNED_DIR
    return returned if returned.is_dir() else ws.root / SHEETS_DIR


def round_quorum(ws: Workspace) -> int:
    """The quorum the round's sheets were made with (`jury sheets --quorum` wins over the settings): the last
    jury-sheets audit record says; before any, settings `jury.quorum`."""
    record = ws.ledger.last_audit("jury-sheets")
    if record is not None:
        try:
            return int(json.loads(record["detail"] or "{}").get("quorum") or 0)
        except (TypeError, ValueError):
            pass
    return int(ws.settings.jury.get("quorum") or 0)


def round_status(ws: Workspace, folder: Path | None = None) -> RoundStatus:
    """Each juror's progress and each entry's quorum over the sheets in `folder` (default: `default_folder`).

    Raises StatusError: the folder does not exist (exit 2), or the round has no anonymous IDs yet (exit 1).
    """
    folder = folder if folder is not None else default_folder(ws)
    if not folder.is_dir():
        hint = (" (jury/returned/ for the sheets that came back, else jury/sheets/; run `milsetctl jury sheets` "
                "first)") if folder == default_folder(ws) else ""
        raise StatusError(f"{folder}: no such folder{hint}", 2)
    jury = ws.settings.jury
    criteria = [str(c) for c in jury["criteria"]]
    weights = [float(w) for w in jury.get("weights") or [1] * len(criteria)]
    in_round, out_of_round = _round_ids(ws)
    if not in_round and not out_of_round:
        raise StatusError("no anonymous IDs yet: run `milsetctl anonymise`, then `milsetctl jury sheets`")
    roster = Roster.from_ledger(ws.ledger)
    paths = sheet_paths([folder])
    read = read_sheets(paths, criteria=criteria, score_min=float(jury["score_min"]),
                       score_max=float(jury["score_max"]), known_anon_ids=in_round | out_of_round,
                       round_id=ws.ledger.meta_value("round_id"), roster=roster, withdrawn=out_of_round)
    pairs = read.pairs[read.pairs["anon_id"].isin(in_round).to_numpy(dtype=bool)]
    rows = _Rows.of(pairs, criteria)
    flags = _flags(read, rows, criteria, weights, in_round)
    sheet_of = {j: folder / s for j, s in read.sheet_of.items()}
    issued = folder.resolve() == (ws.root / SHEETS_DIR).resolve()

    jurors: list[JurorProgress] = []
    people = {r["juror_id"]: r for r in ws.ledger.jurors()}
    by_id = {rid: name for name, rid in read.juror_ids.items()}
    if roster is not None:
        order = {(j, a): int(p) for j, a, p in ((r["juror_id"], r["anon_id"], r["position"])
                                                for r in ws.ledger.assignments())}
        for jid in sorted(j for j, r in people.items() if r["active"]):
            name = by_id.get(jid)
            owed = sorted(roster.active.get(jid, set()) & in_round, key=lambda a: (order.get((jid, a), 0), a))  # noqa: B023 - used at once
            jurors.append(_progress(people[jid]["name"], jid, people[jid]["email"], owed, name, rows, sheet_of,
                                    flags, read.problems, issued))
    else:  # no `jury sheets`: a juror is who a sheet names, owing the entries on it (SPEC: `score` needs none)
        for name in read.jurors:
            owed = [str(a) for a in pairs["anon_id"][(pairs["juror"] == name).to_numpy(dtype=bool)]]
            jurors.append(_progress(name, None, None, owed, name, rows, sheet_of, flags, read.problems, issued))

    quorum = round_quorum(ws)
    counted = pairs[rows.complete]
    if roster is not None:  # a score of an entry never handed to the juror is not used by `score` either
        ids = [read.juror_ids.get(str(j)) for j in counted["juror"]]
        keep = [rid is not None and a in roster.ever.get(rid, set()) for rid, a in zip(ids, counted["anon_id"],
                                                                                          strict=True)]
        counted = counted[np.array(keep, dtype=bool)] if len(counted) else counted
    scorers = counted.groupby("anon_id")["juror"].nunique().to_dict() if len(counted) else {}
    handed: dict[str, int] = {}
    if roster is not None:
        for jid, ids_ in roster.active.items():
            if people.get(jid) is not None and people[jid]["active"]:
                for a in ids_:
                    handed[a] = handed.get(a, 0) + 1
    entries = []
    for a in sorted(in_round):
        need = quorum if quorum > 0 else max(1, handed.get(a, 0))
        entries.append(EntryProgress(anon_id=a, jurors=int(scorers.get(a, 0)), quorum=need,
                                     assigned=handed.get(a, 0)))
    others = [p for p in read.problems if p.severity == "error" and p.code not in PROGRESS_CODES]
    return RoundStatus(folder=folder, round_id=ws.ledger.meta_value("round_id"), quorum=quorum, jurors=jurors,
                       entries=entries, problems=others, tz=ws.settings.tz, assigned=roster is not None)


def _round_ids(ws: Workspace) -> tuple[set[str], set[str]]:
    """(anon IDs in the round, anon IDs out of it: withdrawn from the package or no longer eligible)."""
    status = {r["entry_id"]: r["status"] for r in ws.ledger.entries()}
    inside, outside = set(), set()
    for r in ws.ledger.anon_rows(include_withdrawn=True):
        if r["withdrawn"] or status.get(r["entry_id"]) != "eligible":
            outside.add(r["anon_id"])
        else:
            inside.add(r["anon_id"])
    return inside, outside


@dataclass
class _Rows:
    """The juror x entry rows read (in the round), with per row: `complete` (every criterion a usable number),
    `done` (complete, or a recusal: scores blank and RECUSED in the comment, nothing owed, as `score` counts it)
    and `typed` (any usable score at all)."""

    pairs: pd.DataFrame
    complete: np.ndarray
    done: np.ndarray
    typed: np.ndarray

    @classmethod
    def of(cls, pairs: pd.DataFrame, criteria: list[str]) -> _Rows:
        values = pairs[[score_column(c) for c in criteria]].to_numpy(dtype=float).reshape(len(pairs), len(criteria))
        present = ~np.isnan(values)
        complete, typed = present.all(axis=1), present.any(axis=1)
        comments = pairs["comment"].to_numpy(dtype=object) if "comment" in pairs.columns else [None] * len(pairs)
        recused = np.array([not t and isinstance(c, str) and bool(RECUSAL.search(c))
                            for t, c in zip(typed, comments, strict=True)], dtype=bool)
        return cls(pairs, complete, complete | recused, typed)


def _progress(juror: str, juror_id: str | None, email: str | None, owed: list[str], name: str | None,
              rows: _Rows, sheet_of: dict[str, Path], flags: dict[str, list[str]], problems: list[Problem],
              issued: bool) -> JurorProgress:
    """One juror's row. `name`: how the sheets name the juror (None: no sheet of theirs in the folder)."""
    pairs = rows.pairs
    mine = (pairs["juror"] == name).to_numpy(dtype=bool) if name is not None else np.zeros(len(pairs), dtype=bool)
    finished = set(pairs["anon_id"][mine & rows.done])
    owed_set = set(owed)
    recused = len(finished & owed_set) - len(set(pairs["anon_id"][mine & rows.complete]) & owed_set)
    comments = pairs["comment"][mine] if "comment" in pairs.columns else pd.Series([], dtype=object)
    typed = bool(rows.typed[mine].any()) or any(isinstance(c, str) and c.strip() for c in comments)
    scored = sum(1 for a in owed if a in finished)
    left = [a for a in owed if a not in finished]
    state = RETURNED if scored == len(owed) else MISSING if scored == 0 else PARTIAL
    sheet = sheet_of.get(name) if name is not None else None
    arrived = None
    if sheet is not None and (typed or not issued):  # the blank sheet as it was sent out is no arrival
        try:
            arrived = datetime.fromtimestamp(sheet.stat().st_mtime, UTC)
        except OSError:
            arrived = None
    where = sheet.name if sheet is not None else None
    count = sum(1 for p in problems if p.severity == "error" and p.code not in PROGRESS_CODES
                and p.juror == name and (where is None or p.sheet == where))
    return JurorProgress(juror=juror, juror_id=juror_id, email=email, state=state, scored=scored,
                         expected=len(owed), missing=left, recused=recused, sheet=sheet, arrived=arrived,
                         flags=flags.get(name or "", []), problems=count)


def _flags(read: SheetsRead, rows: _Rows, criteria: list[str], weights: list[float], in_round: set[str]
           ) -> dict[str, list[str]]:
    """juror (as the sheets name them) -> flags: their own pattern (every score the same, straight-lining), then
    `score`'s comparison with the panel (harsh, lenient, against the panel: scoring.agreement.juror_report, over
    each juror's weighted score of each entry, as `score` computes it)."""
    out: dict[str, list[str]] = {}
    whole = rows.pairs[rows.complete]
    values = whole[[score_column(c) for c in criteria]].to_numpy(dtype=float)
    jurors = whole["juror"].to_numpy(dtype=object)
    for juror in dict.fromkeys(jurors.tolist()):
        mine = values[jurors == juror]
        if len(mine) < MIN_PATTERN_ROWS:
            continue
        if (mine == mine[0]).all():
            out.setdefault(str(juror), []).append(SAME_SCORES)
        elif len(criteria) > 1 and float((mine == mine[:, :1]).all(axis=1).mean()) >= STRAIGHT_SHARE:
            out.setdefault(str(juror), []).append(STRAIGHT_LINING)
    scores = read.scores[read.scores["anon_id"].isin(in_round).to_numpy(dtype=bool)]
    if len(scores):
        from milsetctl.scoring.aggregate import juror_entry_scores
        from milsetctl.scoring.agreement import juror_report

        try:
            report = juror_report(juror_entry_scores(scores, criteria=criteria, weights=weights))
        except ValueError:  # a score twice (the reader has listed it as a problem): no comparison to make
            return out
        for juror, flag in zip(report.index, report["flag"], strict=True):
            if flag in PANEL_FLAGS:
                out.setdefault(str(juror), []).append(str(flag))
    return out

