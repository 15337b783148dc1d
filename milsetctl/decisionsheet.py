"""Decisions in bulk: the entries waiting for a decision as a sheet to fill in, and the filled-in sheet read back.

At 20,000 entries a few hundred land in review (a province no regional round lists, a possible face, a title that
may name its author). One `milsetctl decide ENTRY accept --reason ...` per entry is hours of typing and of CLI
start-up; a coordinator works through a list instead, often with a colleague, in Excel or WPS. `write_review_sheet`
writes that list (the findings beside each entry, `decision` and `reason` left blank), `read_decision_sheet` reads it
back in whatever form it returns (XLSX, CSV in any encoding, a header in Chinese), and `record_decisions` records
each row through the same `record_decision` as the one-entry command: a row it cannot take is named with its row
number and the others go on.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from milsetctl.decisions import DecisionError, DecisionOutcome, record_decision
from milsetctl.ledger import Ledger

# the header a coordinator may write in either language; matched case- and space-insensitively
ENTRY_HEADERS = ("entry", "entry id", "entry_id", "id", "作品编号", "编号")
DECISION_HEADERS = ("decision", "决定", "结论")
REASON_HEADERS = ("reason", "why", "理由", "原因")
SHEET_HEADER = ("entry", "decision", "reason", "status", "category", "file", "title", "findings")

# what a person types for accept / reject: the words, their past tense, Chinese, and the first letter
_ACCEPT = frozenset({"accept", "accepted", "a", "yes", "y", "ok", "接受", "通过", "同意"})
_REJECT = frozenset({"reject", "rejected", "r", "no", "n", "拒绝", "不通过", "淘汰"})


class DecisionSheetError(ValueError):
    """The sheet cannot be used at all (unreadable, no entry or decision column); the message names the file."""


@dataclass
class DecisionRow:
    row: int  # the spreadsheet's own row number (the header is row 1 unless rows above it)
    entry_id: str
    decision: str  # accept | reject
    reason: str


@dataclass
class DecisionBatch:
    """What `record_decisions` did: the decisions recorded, the rows refused (row number and why), how many rows
    were left blank (no decision yet: nothing recorded, nothing wrong) and how many were recorded before (the same
    sheet given twice)."""

    recorded: list[DecisionOutcome] = field(default_factory=list)
    refused: list[tuple[int, str]] = field(default_factory=list)
    blank: int = 0
    unchanged: int = 0  # rows whose entry's latest decision is already this one, with this reason: not recorded again


def _key(text: str) -> str:
    return "".join(str(text).split()).lower().replace("_", "")


def write_review_sheet(ledger: Ledger, path: Path) -> int:
    """Write the entries now in review (status `review`, not yet decided) to `path` (.xlsx or .csv, by its
    extension; members.sheets.write_table: formula-like text kept as text), one row each: entry, decision and reason
    (blank, to fill in), status, category, file, title, and the findings that sent it to review. Returns the number
    of entries. Raises members.sheets.SheetError (a wrong extension, a folder that cannot be written) and
    DecisionSheetError when `path` is a sheet with decisions filled in (a coordinator's work is never written over)."""
    from milsetctl.members.sheets import write_table

    if Path(path).exists():
        try:
            filled, refused, _ = read_decision_sheet(Path(path))
        except DecisionSheetError:  # not a decision sheet we can read: written over only if it is ours to replace
            filled, refused = [], []
        if filled or refused:
            raise DecisionSheetError(
                f"{Path(path).name} already holds {len(filled) + len(refused)} filled-in row(s): record them first "
                f"(milsetctl decide --from {Path(path).name}) or write the new list to another file; it is not "
                "written over")
    rows = []
    for entry in ledger.entries():
        if entry["status"] != "review":
            continue
        findings = [f for f in ledger.findings_for(entry["entry_id"]) if str(f.severity) == "review"]
        said = "\n".join(f"{f.rule}: {f.message}" for f in findings)
        rows.append([entry["entry_id"], None, None, entry["status"], entry["category"], entry["file"],
                     entry["title"], said])
    write_table(path, SHEET_HEADER, rows, sheet="decisions",
                widths={"entry": 10, "decision": 10, "reason": 40, "file": 30, "title": 30, "findings": 90})
    return len(rows)


def _column(headers: list[str], names: tuple[str, ...]) -> int | None:
    wanted = {_key(n) for n in names}
    return next((i for i, h in enumerate(headers) if _key(h) in wanted), None)


def read_decision_sheet(path: Path) -> tuple[list[DecisionRow], list[tuple[int, str]], int]:
    """Read a filled-in decision sheet (XLSX, XLS, ODS or CSV in any encoding: ingest.tables.read_table).

    Returns (rows with a decision, rows refused as (row number, why), rows left blank). A row's decision is accept
    or reject in any case, a past tense, yes/no or Chinese (接受/通过, 拒绝/不通过); a row with neither decision nor
    reason is blank (not decided yet). Raises DecisionSheetError when the file cannot be read or has no entry or no
    decision column."""
    from milsetctl.ingest.tables import ManifestError, cell_text, locate_header, read_table

    try:
        table = read_table(Path(path))
    except ManifestError as exc:
        raise DecisionSheetError(str(exc)) from exc
    located = locate_header(table, lambda h: _column(h, ENTRY_HEADERS) is not None
                            and _column(h, DECISION_HEADERS) is not None)
    if located is None:
        raise DecisionSheetError(f"{Path(path).name}: no 'entry' and 'decision' columns in the header (write "
                                 "the sheet with `milsetctl decide --review-sheet FILE` and fill it in)")
    headers = [cell_text(h) for h in located.headers]
    entry_at, decision_at = _column(headers, ENTRY_HEADERS), _column(headers, DECISION_HEADERS)
    reason_at = _column(headers, REASON_HEADERS)
    assert entry_at is not None and decision_at is not None
    rows: list[DecisionRow] = []
    refused: list[tuple[int, str]] = []
    blank = 0
    for number, cells in located.rows:
        entry, said, reason = (cell_text(cells[i]) if i is not None and i < len(cells) else ""
                               for i in (entry_at, decision_at, reason_at))
        if not said and not reason:
            blank += bool(entry)
            continue
        word = said.strip().lower().rstrip(".")
        decision = "accept" if word in _ACCEPT else "reject" if word in _REJECT else None
        if not entry:
            refused.append((number, "no entry ID in the row"))
        elif decision is None:
            refused.append((number, f"{entry}: the decision {said!r} is neither accept nor reject"
                            if said else f"{entry}: a reason but no decision"))
        elif not reason:
            refused.append((number, f"{entry}: {decision} without a reason (the reason is kept with who and when)"))
        else:
            rows.append(DecisionRow(number, entry.strip().upper(), decision, reason))
    return rows, refused, blank


def record_decisions(ledger: Ledger, path: Path, who: str | None = None) -> DecisionBatch:
    """Record every decision of a filled-in sheet, each as `decide ENTRY accept|reject --reason` would (one
    transaction and one audit record per decision). A row that cannot be taken (an unknown entry, an accept of an
    entry with no photo, two different decisions for one entry in the sheet) is refused with its row number; the
    others are recorded. Raises DecisionSheetError when the sheet cannot be used at all."""
    rows, refused, blank = read_decision_sheet(path)
    batch = DecisionBatch(refused=list(refused), blank=blank)
    latest = ledger.latest_decisions()
    seen: dict[str, DecisionRow] = {}
    for row in rows:
        earlier = seen.get(row.entry_id)
        if earlier is not None and earlier.decision != row.decision:
            batch.refused.append((row.row, f"{row.entry_id}: {row.decision} here, {earlier.decision} in row "
                                  f"{earlier.row}: decide it once (the first is kept)"))
            continue
        if earlier is not None:  # the same decision twice (a pasted row): once is enough
            continue
        seen[row.entry_id] = row
        before = latest.get(row.entry_id)
        if before is not None and (before["decision"], before["reason"]) == (row.decision, row.reason.strip()):
            batch.unchanged += 1
            continue
        try:
            batch.recorded.append(record_decision(ledger, row.entry_id, row.decision, row.reason, who))
        except DecisionError as exc:
            batch.refused.append((row.row, str(exc)))
    batch.refused.sort()
    return batch
