"""The audit trail: who did what to the contest, when, with which command, in a hash chain (issue 11).

Every record's `hash` is SHA-256 over a canonical serialisation (compact JSON, UTF-8) of
`["milsetctl-audit-1", id, at, who, action, body_sha256, prev_hash]`, where `prev_hash` is the previous record's
hash (64 zeros for the first) and `body_sha256` is SHA-256 over the canonical JSON of `{"command", "detail"}`
(auditchain.py computes both, for the ledger that appends records and for the check here).
The free text sits behind its own digest so that `purge --personal-data` can remove a child's name from a
record's detail without breaking the chain: the record is marked `scrubbed`, keeps its digest, and the purge's own
(chained) record lists it. The ledger's `meta` row `audit_head` ("ID HASH") names the last record, so removing the
newest records is caught too.

What the chain proves: a record edited, removed or moved by hand (sqlite3, a spreadsheet tool) is found, and the
first broken record named. What it does not: someone who recomputes every hash after an edit is not caught by
the chain alone; compare the head hash `audit --verify` prints with one written down or sent earlier.

Times are stored in UTC (ISO 8601, as every stamp in the ledger) and shown in the contest's time zone.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import tzinfo
from typing import TYPE_CHECKING, Any

from milsetctl.auditchain import CHAIN_START_ACTION, GENESIS, body_digest, record_hash
from milsetctl.timefmt import contest_time

if TYPE_CHECKING:
    from milsetctl.ledger import Ledger

# the record `purge --personal-data` writes, listing the records it scrubbed (verify checks every scrubbed record
# is listed by one)
PURGE_ACTION = "purge"


@dataclass
class AuditRecord:
    id: int
    at: str  # UTC, ISO 8601
    who: str
    action: str
    command: str | None
    detail: Any  # the parsed JSON detail (a dict mostly), or the text when it is not JSON
    hash: str | None
    scrubbed: bool = False

    def as_json(self, tz: tzinfo | None = None) -> dict[str, Any]:
        return {"id": self.id, "at": self.at, "at_local": _local_iso(self.at, tz), "who": self.who,
                "action": self.action, "command": self.command, "detail": self.detail, "hash": self.hash,
                "scrubbed": self.scrubbed} | ({"when": contest_time(self.at, tz)} if tz else {})


def _local_iso(at: str, tz: tzinfo | None) -> str:
    from datetime import datetime

    try:
        moment = datetime.fromisoformat(at.replace("Z", "+00:00"))
    except ValueError:
        return at
    return moment.astimezone(tz).isoformat(timespec="seconds") if tz is not None else moment.isoformat()


def _parse_detail(text: str | None) -> Any:
    if text is None:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text


def _record(row: Any) -> AuditRecord:
    keys = row.keys()
    return AuditRecord(int(row["id"]), row["at"], row["who"], row["action"],
                       row["command"] if "command" in keys else None, _parse_detail(row["detail"]),
                       row["hash"] if "hash" in keys else None, bool(row["scrubbed"]) if "scrubbed" in keys else False)


def entry_pattern(entry_id: str) -> re.Pattern[str]:
    """A whole entry ID (E0001, not E00012) anywhere in a record's detail or command."""
    return re.compile(rf"(?<![A-Za-z0-9]){re.escape(entry_id.strip().upper())}(?![0-9])")


def trail(ledger: Ledger, entry: str | None = None, kinds: Sequence[str] | None = None,
          limit: int | None = 50) -> list[AuditRecord]:
    """The audit records, oldest first: those naming `entry` (an entry ID, in the detail or the command) and of
    the actions in `kinds` (e.g. ['decide']), the newest `limit` of them (None: all)."""
    rows = ledger.audit_rows(kinds=list(kinds) if kinds else None)
    if entry:
        pattern = entry_pattern(entry)
        rows = [r for r in rows if pattern.search(r["detail"] or "") or pattern.search(r["command"] or "")]
    if limit is not None:
        rows = rows[-limit:] if limit > 0 else []
    return [_record(r) for r in rows]


@dataclass
class ChainCheck:
    """The result of `audit --verify`: `ok`, how many records, the first broken one and why."""

    ok: bool
    records: int
    head: str | None = None  # the last record's hash: write it down to compare later
    broken_id: int | None = None  # the first broken record (its ID as the trail shows it)
    problem: str | None = None  # one line: what is wrong with it
    scrubbed: int = 0  # records whose personal data a purge removed (digest kept)
    chain_started: str | None = None  # when the chain began over older, unchained records (UTC), if it did
    notes: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {"ok": self.ok, "records": self.records, "head": self.head, "broken_record": self.broken_id,
                "problem": self.problem, "scrubbed": self.scrubbed, "chain_started": self.chain_started}


def verify_chain(ledger: Ledger) -> ChainCheck:
    """Check the whole chain, oldest first; stop at the first broken record.

    Finds: a changed field (time, operator, action, command, detail), a record removed (a gap in the IDs, a
    `prev_hash` that is not the previous record's hash, or records missing after the head the ledger remembers),
    records swapped or moved, a record marked scrubbed that no purge record lists."""
    rows = ledger.audit_rows(with_chain=True)
    check = ChainCheck(ok=True, records=len(rows))
    listed: set[int] = set()
    for row in rows:
        if row["action"] == PURGE_ACTION:
            detail = _parse_detail(row["detail"])
            if isinstance(detail, dict):
                listed.update(int(i) for i in detail.get("scrubbed_records", []) if str(i).isdigit())
        if row["action"] == CHAIN_START_ACTION and check.chain_started is None:
            check.chain_started = row["at"]
    prev_hash, prev_id = GENESIS, 0
    for row in rows:
        rid = int(row["id"])

        def broken(problem: str, rid: int = rid) -> ChainCheck:
            check.ok, check.broken_id, check.problem = False, rid, problem
            return check

        if not row["hash"] or not row["body_sha256"]:
            return broken(f"record {rid} has no hash: written or edited outside milsetctl")
        if rid != prev_id + 1:
            missing = f"record {prev_id + 1}" if rid == prev_id + 2 else f"records {prev_id + 1}-{rid - 1}"
            return broken(f"{missing} removed: record {rid} follows record {prev_id}")
        if row["prev_hash"] != prev_hash:
            return broken(f"record {rid} is out of order or a record before it was removed or changed "
                          "(its link to the previous record does not match)")
        if row["scrubbed"]:
            check.scrubbed += 1
            if rid not in listed:
                return broken(f"record {rid} is marked as purged of personal data, but no purge record lists it")
        elif body_digest(row["command"], row["detail"]) != row["body_sha256"]:
            return broken(f"record {rid} ({row['action']}) was edited: its command or detail changed")
        if record_hash(rid, row["at"], row["who"], row["action"], row["body_sha256"], prev_hash) != row["hash"]:
            return broken(f"record {rid} ({row['action']}) was edited: its time, operator or action changed")
        prev_hash, prev_id = row["hash"], rid
    head = ledger.audit_head()
    if head is not None:
        head_id, head_hash = head
        if head_id > prev_id:
            missing = f"record {head_id}" if head_id == prev_id + 1 else f"records {prev_id + 1}-{head_id}"
            check.ok, check.broken_id = False, prev_id + 1
            check.problem = f"{missing} removed: the trail ends at record {prev_id}, the ledger's last was {head_id}"
            return check
        if head_id < prev_id:
            check.ok, check.broken_id = False, head_id + 1
            check.problem = f"record {head_id + 1} was added outside milsetctl: the ledger's last record was {head_id}"
            return check
        if head_id == prev_id and head_hash != prev_hash:
            check.ok, check.broken_id = False, prev_id
            check.problem = f"record {prev_id} was replaced: its hash is not the one the ledger remembers"
            return check
    check.head = prev_hash if rows else None
    return check
