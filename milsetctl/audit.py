"""The audit trail: who did what to the contest, when, with which command, in a hash chain (issues 11, 17).

Every record's `hash` is SHA-256 over a canonical serialisation (compact JSON, UTF-8) of
`["milsetctl-audit-1", id, at, who, action, body_sha256, prev_hash]`, where `prev_hash` is the previous record's
hash (64 zeros for the first) and `body_sha256` is SHA-256 over the canonical JSON of `{"command", "detail"}`
(auditchain.py computes both, for the ledger that appends records and for the check here).
The free text sits behind its own digest so that `purge --personal-data` can remove a child's name from a
record's detail without breaking the chain: the record is marked `scrubbed`, keeps its digest, and the purge's own
(chained) record lists it with the digest of the text it left, which is checked from then on.
The ledger's `meta` row `audit_head` ("ID HASH SEAL") names the last record, sealed with the workspace key
(HMAC-SHA256, auditchain.py): removing the newest records, or recomputing every hash after an edit, leaves a head
whose seal does not match. A writing command that finds such a head says so in a record of its own before it
appends anything, so the break stays on record. A ledger whose audit table has the chain's columns is never
chained again (only one from before the chain is, once), nor is one that lacks them but shows it had a chain
(ledger.py's `_chain_removed`: records only the chain writes, a head, a stage_runs table, codes signing an issue day).

What the chain proves: a record edited, removed, added or moved by hand (sqlite3, a spreadsheet tool), or the whole
chain recomputed, is found, and the first broken record named. What it does not: someone holding both the ledger
and `secret.key` can rewrite the trail and seal it again; only a head kept outside the workspace (`audit --head`,
written down or mailed; `audit --verify --head HASH` later) shows that.

Times are stored in UTC (ISO 8601, as every stamp in the ledger) and shown in the contest's time zone.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import tzinfo
from typing import TYPE_CHECKING, Any

from milsetctl.auditchain import (
    CHAIN_START_ACTION,
    GENESIS,
    HEAD_BROKEN_ACTION,
    SEAL_START_ACTION,
    body_digest,
    record_hash,
    seal_matches,
)
from milsetctl.timefmt import contest_time, machine_time

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
    """The record's time for JSON in the contest's zone, with its offset (timefmt.machine_time); as stored
    without one."""
    return (machine_time(at, tz) or at) if tz is not None else at


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


# every action the tool records (`audit --kind` accepts these, and any other a ledger holds)
KNOWN_ACTIONS = ("init", "validate", "validate-second-pass", "entry-change", "replace-source", "decide", "anonymise",
                 "jury-sheets", "score", "awards", "nominate", "certificates", "certificate-issue", "member-change",
                 "fees-refund-batch", "export-anonymised", "purge", "audit-chain-start", "audit-seal-start",
                 "audit-head-broken", "notices", "mail-sent", "mail-run", "jury-remind", "jury-final-sheets",
                 "jury-final", "awards-final", "archive", "originals-check")


def unknown_kinds(ledger: Ledger, kinds: Sequence[str]) -> list[tuple[str, list[str]]]:
    """(kind, the closest known actions) for each kind nothing records: `--kind decde` is a typo, not an empty
    trail."""
    import difflib

    held = {r[0] for r in ledger.db.execute("SELECT DISTINCT action FROM audit")}
    known = sorted(held | set(KNOWN_ACTIONS))
    return [(k, difflib.get_close_matches(k, known, n=3, cutoff=0.5)) for k in kinds if k not in known]


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
    head_record: int | None = None  # the last record's ID (with `head`: what `audit --head` prints)
    sealed_since: str | None = None  # when a head an older milsetctl left unsealed was sealed (UTC), if it was
    kept_head: int | None = None  # `--head HASH`: the record that hash names, found in the trail
    unchecked_scrubbed: int = 0  # scrubbed by a purge from before purges kept digests: their text is not checked
    notes: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {"ok": self.ok, "records": self.records, "head": self.head, "head_record": self.head_record,
                "broken_record": self.broken_id, "problem": self.problem, "scrubbed": self.scrubbed,
                "chain_started": self.chain_started, "sealed_since": self.sealed_since, "kept_head": self.kept_head,
                "notes": self.notes}


# the shortest hash prefix `--head` accepts: people write heads down shortened ("41 9f2c61d0a8b3…")
MIN_KEPT_DIGITS = 12


def parse_kept_head(text: str) -> tuple[int | None, str]:
    """A head kept outside the workspace, as `audit --head` printed it ("ID HASH") or the hash alone, the hash
    whole or its first 12 or more hex digits (an ellipsis after it allowed); ValueError for anything else."""
    found = re.fullmatch(r"\s*(?:(\d+)[\s:]+)?([0-9A-Fa-f]+)\s*(?:…|\.\.\.?)?\s*", text)
    if found is None or not MIN_KEPT_DIGITS <= len(found[2]) <= 64:
        raise ValueError("expected the head `milsetctl audit --head` printed: the record number and the hash, whole "
                         f"(64 hex digits) or its first {MIN_KEPT_DIGITS} or more (or the hash alone)")
    return (int(found[1]) if found[1] else None), found[2].lower()


def _kept_head_problem(rows: Sequence[Any], kept_id: int | None, kept_hash: str,
                       check: ChainCheck) -> str | None:
    """Find the head kept outside in the trail (`check.kept_head`, a note when its record number was mistyped);
    else say why it is not there: mistyped, or the trail changed since, with the real hash to compare by eye."""
    matches = [int(r["id"]) for r in rows if str(r["hash"] or "").startswith(kept_hash)]
    shown = kept_hash if len(kept_hash) == 64 else kept_hash + "…"
    if len(matches) > 1:
        return (f"the hash you kept ({shown}) begins {len(matches)} records' hashes (records "
                f"{', '.join(map(str, matches))}): give more of its digits")
    if matches:
        check.kept_head = matches[0]
        if kept_id is not None and kept_id != matches[0]:
            check.notes.append(f"that hash is record {matches[0]}'s, not {kept_id}'s: a typo in the record number? "
                               f"Checked as record {matches[0]}'s head")
        return None
    ids = {int(r["id"]): str(r["hash"]) for r in rows}
    last = max(ids)
    said = f"the head you kept ({'record ' + str(kept_id) + ', ' if kept_id is not None else ''}{shown})"
    if kept_id is not None and kept_id in ids:
        return (f"{said} is not in this trail: either it was mistyped, or record {kept_id} or records before it "
                f"were changed or the chain rewritten since you kept it. Record {kept_id}'s hash now is "
                f"{ids[kept_id]}: compare the two digit by digit")
    if kept_id is not None:
        return (f"{said} is not in this trail, which ends at record {last}: either it was mistyped, or records were "
                f"removed and the chain rewritten since you kept it. The last record's hash now is {ids[last]}")
    return (f"{said} matches no record of this trail: either it was mistyped, or the trail was changed since you "
            f"kept it. The last record ({last}) hash now is {ids[last]}; `milsetctl audit --json` shows every "
            "record's hash to compare by eye")


def _purge_listings(rows: Sequence[Any]) -> dict[int, tuple[int, str | None]]:
    """Scrubbed record ID -> (the last purge record listing it, the digest of the text it left; None for a purge
    from before purges kept digests)."""
    listed: dict[int, tuple[int, str | None]] = {}
    for row in rows:
        if row["action"] != PURGE_ACTION:
            continue
        detail = _parse_detail(row["detail"])
        if not isinstance(detail, dict):
            continue
        digests = detail.get("scrubbed_digests")
        digests = digests if isinstance(digests, dict) else {}
        for rid in detail.get("scrubbed_records", []):
            if str(rid).isdigit() and int(rid) < int(row["id"]):
                listed[int(rid)] = (int(row["id"]), digests.get(str(rid)))
    return listed


def verify_chain(ledger: Ledger, kept: tuple[int | None, str] | None = None) -> ChainCheck:
    """Check the whole chain, oldest first; stop at the first broken record. `kept`: a head kept outside the
    workspace ((ID or None, hash), `parse_kept_head`), which must be a record of the trail.

    Finds: a changed field (time, operator, action, command, detail), a record removed (a gap in the IDs, a
    `prev_hash` that is not the previous record's hash, or records missing after the head the ledger remembers),
    records swapped or moved, a record marked scrubbed that no purge record lists or whose text changed after the
    purge, a head that is missing, unsealed or not sealed by this workspace's key (the newest records removed, or the
    chain recomputed), a break a writing command found and recorded. A read-only open never chains a ledger from
    before the chain: it says so (not ok) until a writing command does."""
    rows = ledger.audit_rows(with_chain=True)
    check = ChainCheck(ok=True, records=len(rows))

    def fail(problem: str, rid: int | None) -> ChainCheck:
        check.ok, check.broken_id, check.problem, check.head = False, rid, problem, None
        return check

    if ledger.chain_pending and rows and ledger.chain_removed:
        return fail(f"the trail has no hash chain, but this ledger had one: {ledger.chain_removed}. The chain was "
                    "removed by hand (no key is needed for that), so no record can be vouched for; milsetctl will "
                    "not chain it again", 1)
    if ledger.chain_pending and rows:
        return fail("the trail is not chained: either it was written by a milsetctl older than the hash chain, or "
                    "the chain was removed by hand (which needs no key); nothing here tells the two apart. Chaining "
                    "it now (any writing command; `milsetctl init` changes nothing else) vouches only that the "
                    "records are not changed from then on, not for what they say now: compare them with your own "
                    "notes first", None)
    listed = _purge_listings(rows)
    prev_hash, prev_id, seal_started = GENESIS, 0, None
    for row in rows:
        rid = int(row["id"])
        if row["action"] == CHAIN_START_ACTION and check.chain_started is None:
            check.chain_started = row["at"]
        if not row["hash"] or not row["body_sha256"]:
            return fail(f"record {rid} has no hash: written or edited outside milsetctl", rid)
        if rid != prev_id + 1:
            missing = f"record {prev_id + 1}" if rid == prev_id + 2 else f"records {prev_id + 1}-{rid - 1}"
            return fail(f"{missing} removed: record {rid} follows record {prev_id}", rid)
        if row["prev_hash"] != prev_hash:
            return fail(f"record {rid} is out of order or a record before it was removed or changed "
                        "(its link to the previous record does not match)", rid)
        if row["scrubbed"]:
            check.scrubbed += 1
            purge_id, digest = listed.get(rid, (None, None))
            if purge_id is None:
                return fail(f"record {rid} is marked as purged of personal data, but no purge record lists it", rid)
            if digest is None:
                check.unchecked_scrubbed += 1
            elif body_digest(row["command"], row["detail"]) != digest:
                return fail(f"record {rid} ({row['action']}) was edited after the purge scrubbed it: its text is not "
                            f"what the purge (record {purge_id}) left", rid)
        elif body_digest(row["command"], row["detail"]) != row["body_sha256"]:
            return fail(f"record {rid} ({row['action']}) was edited: its command or detail changed", rid)
        if record_hash(rid, row["at"], row["who"], row["action"], row["body_sha256"], prev_hash) != row["hash"]:
            return fail(f"record {rid} ({row['action']}) was edited: its time, operator or action changed", rid)
        if row["action"] == HEAD_BROKEN_ACTION:
            detail = _parse_detail(row["detail"])
            said = (detail.get("problem") if isinstance(detail, dict) else None) or "no detail"
            return fail(f"record {rid}: the command run at that time found the trail's head broken ({said}); the "
                        "records before it cannot be vouched for", rid)
        if row["action"] == SEAL_START_ACTION:
            if seal_started is not None:
                return fail(f"record {rid} sealed the head again: it was sealed before, at record {seal_started} "
                            "(the seal was removed by hand in between)", rid)
            seal_started, check.sealed_since = rid, row["at"]
        prev_hash, prev_id = row["hash"], rid
    if not rows:
        return check
    head = ledger.audit_head()
    if head is None:
        return fail(f"the ledger's head is missing: records after record {prev_id} may have been removed "
                    "(removed by hand: milsetctl always keeps it)", prev_id + 1)
    if head.record > prev_id:
        missing = f"record {head.record}" if head.record == prev_id + 1 else f"records {prev_id + 1}-{head.record}"
        return fail(f"{missing} removed: the trail ends at record {prev_id}, the ledger's last was {head.record}",
                    prev_id + 1)
    if head.record < prev_id:
        return fail(f"record {head.record + 1} was added outside milsetctl: the ledger's last record was "
                    f"{head.record}", head.record + 1)
    if head.hash != prev_hash:
        return fail(f"record {prev_id} was replaced: its hash is not the one the ledger remembers", prev_id)
    if head.seal is None:
        return fail("the head is not sealed with the workspace key: written by a milsetctl older than the seal, or "
                    "rewritten by hand, so removing the newest records or recomputing the chain would not be seen. "
                    "If this ledger comes from an older milsetctl, compare its head with one you kept (--head) and "
                    "run a writing command (`milsetctl init` changes nothing else): it seals the head, on record",
                    None)
    key = ledger.key()
    if key is None:
        return fail(ledger.key_missing() + "; the head's seal cannot be checked", None)
    if not seal_matches(key, head):
        return fail(f"the head (record {head.record}) is not sealed by this workspace's key: the newest records were "
                    "removed or the chain recomputed by hand", prev_id + 1)
    if kept is not None:
        kept_problem = _kept_head_problem(rows, kept[0], kept[1], check)
        if kept_problem is not None:
            return fail(kept_problem, None)
    check.head, check.head_record = prev_hash, prev_id
    return check
