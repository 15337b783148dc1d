"""The contest's ledger: one SQLite file per workspace, the only module that speaks SQL.

It keeps the entries as last ingested, their findings, the coordinator's decisions (who, when, why),
a cache of per-photo analysis keyed by content hash, and an audit trail of every run and decision.
"""

from __future__ import annotations

import getpass
import json
import os
import sqlite3
from collections.abc import Iterable
from dataclasses import asdict
from datetime import UTC, datetime
from itertools import chain
from pathlib import Path
from typing import Any

from milsetctl.auditchain import (
    CHAIN_START_ACTION,
    GENESIS,
    HEAD_BROKEN_ACTION,
    KEY_FILE,
    SEAL_START_ACTION,
    Head,
    body_digest,
    head_value,
    make_key,
    parse_head,
    read_key,
    record_hash,
    seal_matches,
)
from milsetctl.models import Entry, Finding, PhotoInfo, Severity, person_key

LEDGER_FILE = "ledger.sqlite"
SCHEMA_VERSION = 3  # 3: mail_log (milsetctl/mail.py)
# the audit table's columns the hash chain added (issue 11); a table without them predates the chain
CHAIN_COLUMNS = (("command", "TEXT"), ("body_sha256", "TEXT"), ("prev_hash", "TEXT"), ("hash", "TEXT"),
                 ("scrubbed", "INTEGER NOT NULL DEFAULT 0"))

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS entries (
    entry_id TEXT PRIMARY KEY,
    key TEXT UNIQUE NOT NULL,
    contestant_id TEXT, name TEXT, school TEXT, grade TEXT, province TEXT, country TEXT, email TEXT,
    file TEXT, title TEXT, description TEXT, submitted_at TEXT, origin TEXT, listed INTEGER NOT NULL DEFAULT 1,
    extra TEXT, sha256 TEXT, category TEXT, status TEXT,
    present INTEGER NOT NULL DEFAULT 1,  -- 0 once the entry disappeared from the manifest/folder
    first_seen TEXT NOT NULL, updated_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS findings (
    entry_id TEXT NOT NULL REFERENCES entries(entry_id),
    rule TEXT NOT NULL, severity TEXT NOT NULL, message TEXT NOT NULL, data TEXT
);
CREATE INDEX IF NOT EXISTS findings_entry ON findings(entry_id);
CREATE TABLE IF NOT EXISTS decisions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    entry_id TEXT NOT NULL REFERENCES entries(entry_id),
    decision TEXT NOT NULL CHECK (decision IN ('accept', 'reject')),
    reason TEXT NOT NULL, who TEXT NOT NULL, at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS files (  -- stat cache: lets an unchanged file skip hashing
    path TEXT PRIMARY KEY, size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL, sha256 TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS photos (  -- what the probe read of a photo, keyed by content and probe version
    sha256 TEXT NOT NULL, probe_version INTEGER NOT NULL, info TEXT NOT NULL, created_at TEXT NOT NULL,
    PRIMARY KEY (sha256, probe_version)
);
CREATE TABLE IF NOT EXISTS rule_results (  -- a photo rule's findings, keyed by content, rule version, settings
    sha256 TEXT NOT NULL, rule TEXT NOT NULL, cache_key TEXT NOT NULL, findings TEXT NOT NULL,
    created_at TEXT NOT NULL, PRIMARY KEY (sha256, rule, cache_key)
);
-- the jury round (schema 2) ------------------------------------------------------------------------------
CREATE TABLE IF NOT EXISTS anon_ids (  -- the key of the blind package: anonymous ID -> entry; lives only here
    anon_id TEXT PRIMARY KEY, entry_id TEXT UNIQUE NOT NULL REFERENCES entries(entry_id),
    file TEXT,  -- the photo's path inside the package
    sha256 TEXT,  -- of the packaged (stripped) file
    created_at TEXT NOT NULL,
    withdrawn INTEGER NOT NULL DEFAULT 0  -- 1 once the entry stopped being eligible; its ID is never reused
);
CREATE TABLE IF NOT EXISTS jurors (
    juror_id TEXT PRIMARY KEY,  -- J01, J02... in the order first seen
    key TEXT UNIQUE NOT NULL,  -- normalised e-mail (or name when no e-mail): identity across juror files
    name TEXT NOT NULL, affiliation TEXT, country TEXT, email TEXT, school TEXT,
    active INTEGER NOT NULL DEFAULT 1,  -- 0 once the juror left the juror file (dropped out)
    first_seen TEXT NOT NULL, updated_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS assignments (  -- which juror scores which entry, in the juror's sheet order
    juror_id TEXT NOT NULL REFERENCES jurors(juror_id), anon_id TEXT NOT NULL REFERENCES anon_ids(anon_id),
    position INTEGER NOT NULL, active INTEGER NOT NULL DEFAULT 1, assigned_at TEXT NOT NULL,
    PRIMARY KEY (juror_id, anon_id)
);
CREATE TABLE IF NOT EXISTS score_runs (
    run_id INTEGER PRIMARY KEY AUTOINCREMENT, at TEXT NOT NULL, who TEXT NOT NULL, method TEXT NOT NULL,
    sheets TEXT NOT NULL,  -- JSON list of the sheet files read
    detail TEXT  -- JSON: problems, agreement, replaced score counts
);
CREATE TABLE IF NOT EXISTS scores (  -- one row per juror and entry; criteria as a JSON object (fast to store)
    juror TEXT NOT NULL,  -- as the sheet or the long CSV names the juror
    anon_id TEXT NOT NULL, scores TEXT NOT NULL, comment TEXT,
    sheet TEXT NOT NULL, row INTEGER, run_id INTEGER NOT NULL REFERENCES score_runs(run_id)
);
CREATE INDEX IF NOT EXISTS scores_juror ON scores(juror);
CREATE TABLE IF NOT EXISTS ranking (  -- the combined ranking of the last successful score run
    entry_id TEXT PRIMARY KEY, anon_id TEXT NOT NULL, category TEXT, score REAL, rank INTEGER,
    method TEXT NOT NULL, run_id INTEGER NOT NULL, detail TEXT
);
CREATE TABLE IF NOT EXISTS awards (
    entry_id TEXT PRIMARY KEY, anon_id TEXT NOT NULL, category TEXT, score REAL, rank INTEGER, award TEXT,
    stage TEXT NOT NULL, at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS issued_certificates (  -- certificates printed; `verify` looks codes up here
    code TEXT PRIMARY KEY, kind TEXT NOT NULL, recipient_key TEXT NOT NULL, recipient TEXT NOT NULL,
    entry_id TEXT, content TEXT NOT NULL, file TEXT, issued_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS superseded_certificates (  -- a reprint with changed content replaced this code
    code TEXT PRIMARY KEY REFERENCES issued_certificates(code), by_code TEXT NOT NULL, reason TEXT NOT NULL,
    at TEXT NOT NULL
);
-- the member roster (`milsetctl members`) ----------------------------------------------------------------
CREATE TABLE IF NOT EXISTS members (  -- one row per member organisation, as the last import gave it
    member_id TEXT PRIMARY KEY,  -- M001, M002... in the order first imported
    key TEXT UNIQUE NOT NULL,  -- the organisation's name normalised (case, width, spaces): identity across imports
    organisation TEXT NOT NULL, country TEXT, region TEXT, contact TEXT, email TEXT,
    member_since TEXT, fee_paid_until TEXT,  -- ISO dates as text (member_since may be a year alone)
    source TEXT, first_seen TEXT NOT NULL, updated_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS member_history (  -- every value an import set or changed, never deleted
    id INTEGER PRIMARY KEY AUTOINCREMENT, member_id TEXT NOT NULL REFERENCES members(member_id),
    field TEXT NOT NULL, old TEXT, new TEXT, source TEXT, who TEXT NOT NULL, at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS stage_runs (  -- milsetctl/stages.py: what each stage read when it last ran
    stage TEXT PRIMARY KEY, at TEXT NOT NULL,
    snapshot TEXT NOT NULL,  -- JSON {fact: {key: digest}}: the ledger facts the stage's outputs were made from
    detail TEXT  -- JSON: the command's arguments (sheets folder, zip path), the entries its outputs name, files
);
-- e-mail (schema 3) ----------------------------------------------------------------------------------------
CREATE TABLE IF NOT EXISTS mail_log (  -- milsetctl/mail.py: every sending attempt, so a re-run never sends twice
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    purpose TEXT NOT NULL,  -- what the mail is ("notices")
    recipient_key TEXT NOT NULL,  -- whom it is for within the purpose (a contestant ID)
    to_addr TEXT NOT NULL, subject TEXT NOT NULL,
    digest TEXT NOT NULL,  -- what the message said, hashed: a notice changed after it was sent is reported
    message_id TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('sending', 'sent', 'failed')),  -- sending: killed before the answer
    answer TEXT,  -- the server's refusal, for a failed attempt
    at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS mail_log_recipient ON mail_log(purpose, recipient_key);
CREATE TABLE IF NOT EXISTS audit (  -- a hash chain: milsetctl/audit.py says how, `audit --verify` checks it
    id INTEGER PRIMARY KEY AUTOINCREMENT, at TEXT NOT NULL, who TEXT NOT NULL,
    action TEXT NOT NULL, detail TEXT,
    command TEXT, body_sha256 TEXT, prev_hash TEXT, hash TEXT,  -- older ledgers gain these at first open
    scrubbed INTEGER NOT NULL DEFAULT 0  -- 1 once `purge --personal-data` removed personal data from it
);
"""


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


# who runs this process and with which command line, for the audit trail: the CLI sets both (`--by NAME`, argv);
# a library caller may too. Unset: MILSETCTL_USER, else the OS login name; no command.
_INVOCATION: dict[str, str | None] = {"who": None, "command": None}


def set_invocation(who: str | None = None, command: str | None = None) -> None:
    """The operator (`--by NAME`) and command line every audit record and decision of this process carries."""
    _INVOCATION["who"], _INVOCATION["command"] = (who or "").strip() or None, command


def current_user() -> str:
    if _INVOCATION.get("who"):
        return str(_INVOCATION["who"])
    try:
        return os.environ.get("MILSETCTL_USER") or getpass.getuser()
    except Exception:  # no login name in some containers
        return "unknown"


def _finding(row: dict[str, Any]) -> Finding:
    return Finding(row["rule"], Severity(row["severity"]), row["message"], row.get("data"))


class LedgerError(RuntimeError):
    pass


def _chain_removed(db: sqlite3.Connection) -> str | None:
    """When the audit table lacks the chain's columns: what in the ledger shows it had a chain before (things only
    milsetctl versions with the chain make), in words; None when nothing does (an older milsetctl's ledger, or the
    chain and every trace of it removed by hand: the two cannot be told apart)."""
    tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    if "audit" not in tables or "hash" in {r[1] for r in db.execute("PRAGMA table_info(audit)")}:
        return None
    found = []
    marks = db.execute("SELECT DISTINCT action FROM audit WHERE action IN (?, ?, ?) ORDER BY action",
                       (CHAIN_START_ACTION, SEAL_START_ACTION, HEAD_BROKEN_ACTION)).fetchall()
    if marks:
        found.append("the trail holds records only the chain writes (" + ", ".join(r[0] for r in marks) + ")")
    if db.execute("SELECT 1 FROM meta WHERE key='audit_head'").fetchone() if "meta" in tables else None:
        found.append("the ledger still names a head")
    if "stage_runs" in tables:
        found.append("it has a stage_runs table, which only milsetctl versions with the chain make")
    if "issued_certificates" in tables:
        signed = db.execute("SELECT count(*) FROM issued_certificates WHERE json_valid(content) AND "
                            "json_extract(content, '$.issued_on') IS NOT NULL").fetchone()[0]
        if signed:
            found.append(f"{signed} certificate(s) were issued with codes signing the issue day, which only "
                         "milsetctl versions with the chain make")
    return "; ".join(found) or None


class Ledger:
    def __init__(self, path: Path, read_only: bool = False) -> None:
        """Open the ledger. A writing open upgrades an older ledger's schema and audit chain; a `read_only` open
        (status, audit, verify: no workspace lock) never writes: SQLite's `mode=ro`, and a ledger that needs an
        upgrade is read through an upgraded copy in memory (`upgrade_pending` says what a writing command would
        do)."""
        self.path = path
        self.read_only = read_only
        self.upgrade_pending: list[str] = []  # read-only: what the next writing command upgrades
        self.chain_pending = False  # read-only: the audit table predates the hash chain (not chained yet)
        # the audit table lacks the chain's columns, yet the ledger shows it had a chain (why, in words): the chain
        # was removed by hand, and is never made again over what is there
        self.chain_removed: str | None = None
        if read_only:
            self.db = self._open_read_only()
            return
        self.db = sqlite3.connect(path, timeout=30)
        self.db.row_factory = sqlite3.Row
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.execute("PRAGMA foreign_keys=ON")
        try:
            self.chain_removed = _chain_removed(self.db)  # before _migrate adds the tables that are evidence
            self._migrate()
            self._migrate_audit()
        except BaseException:
            self.db.close()
            raise

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _open_read_only(self) -> sqlite3.Connection:
        """A connection that cannot write (`mode=ro`, then `query_only`): the file itself when its schema is
        current, else an in-memory copy upgraded there (nothing written to the file, which keeps its old schema
        until a writing command upgrades it under the lock)."""
        if not self.path.exists():
            db = sqlite3.connect(":memory:")
            self.upgrade_pending = ["there is no ledger yet"]
        else:
            db = sqlite3.connect(f"{self.path.resolve().as_uri()}?mode=ro", uri=True, timeout=30)
            gaps = self._schema_gaps(db)
            if gaps:
                memory = sqlite3.connect(":memory:")
                db.backup(memory)
                db.close()
                db, self.upgrade_pending = memory, gaps
        if self.upgrade_pending:
            db.executescript(SCHEMA)
            columns = {r[1] for r in db.execute("PRAGMA table_info(audit)")}
            for name, decl in CHAIN_COLUMNS:
                if name not in columns:
                    db.execute(f"ALTER TABLE audit ADD COLUMN {name} {decl}")
            if db.execute("SELECT 1 FROM meta WHERE key='schema_version'").fetchone() is None:
                db.execute("INSERT INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
            db.commit()
        db.row_factory = sqlite3.Row
        db.execute("PRAGMA query_only=ON")
        return db

    def _schema_gaps(self, db: sqlite3.Connection) -> list[str]:
        """What a writing open would upgrade in this ledger (empty: nothing); LedgerError when it is newer."""
        import re

        tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        gaps = [f"table {t}" for t in re.findall(r"CREATE TABLE IF NOT EXISTS (\w+)", SCHEMA) if t not in tables]
        if "meta" in tables:
            row = db.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
            if row is not None and int(row[0]) > SCHEMA_VERSION:
                raise LedgerError(
                    f"{self.path}: ledger schema {row[0]} is newer than this milsetctl ({SCHEMA_VERSION}); upgrade")
            if row is None or int(row[0]) < SCHEMA_VERSION:
                gaps.append(f"schema version {row[0] if row else 'none'} -> {SCHEMA_VERSION}")
        if "audit" in tables:
            columns = {r[1] for r in db.execute("PRAGMA table_info(audit)")}
            if "hash" not in columns:
                self.chain_pending = True
                self.chain_removed = _chain_removed(db)
            gaps += [f"audit column {name}" for name, _ in CHAIN_COLUMNS if name not in columns]
        return gaps

    def _migrate(self) -> None:
        with self.db:
            self.db.executescript(SCHEMA)
            row = self.db.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
            if row is None:
                self.db.execute("INSERT INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
            elif int(row[0]) > SCHEMA_VERSION:
                raise LedgerError(
                    f"{self.path}: ledger schema {row[0]} is newer than this milsetctl ({SCHEMA_VERSION}); upgrade"
                )
            elif int(row[0]) < SCHEMA_VERSION:  # older ledgers only lack tables, which the script above added
                self.db.execute("UPDATE meta SET value=? WHERE key='schema_version'", (str(SCHEMA_VERSION),))

    @property
    def schema_version(self) -> int:
        return int(self.db.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()[0])

    # --- audit: a hash chain over the records (milsetctl/audit.py: the hash, verify, filters)
    def audit(self, action: str, detail: dict[str, Any] | str | None = None, who: str | None = None) -> None:
        """Append one record (time in UTC, operator, the command line `set_invocation` gave, detail as JSON) to
        the chain: in the caller's open transaction, else in its own (BEGIN IMMEDIATE: no other writer can slip a
        record in between reading the last hash and appending)."""
        if self.db.in_transaction:
            self._append_audit(action, detail, who)
            return
        with self.db:
            self.db.execute("BEGIN IMMEDIATE")
            self._append_audit(action, detail, who)

    def _append_audit(self, action: str, detail: dict[str, Any] | str | None = None, who: str | None = None,
                      at: str | None = None) -> int:
        text = json.dumps(detail, ensure_ascii=False, default=str) if isinstance(detail, dict) else detail
        last = self.db.execute("SELECT hash FROM audit ORDER BY id DESC LIMIT 1").fetchone()
        prev = last[0] if last is not None and last[0] else GENESIS
        at, who, command = at or now_iso(), who or current_user(), _INVOCATION.get("command")
        body = body_digest(command, text)
        key = self.sealing_key()
        rid = int(self.db.execute(
            "INSERT INTO audit (at, who, action, detail, command, body_sha256, prev_hash) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (at, who, action, text, command, body, prev)).lastrowid or 0)
        digest = record_hash(rid, at, who, action, body, prev)
        self.db.execute("UPDATE audit SET hash=? WHERE id=?", (digest, rid))
        self.db.execute("INSERT OR REPLACE INTO meta VALUES ('audit_head', ?)", (head_value(rid, digest, key),))
        return rid

    def key(self) -> bytes | None:
        """The workspace key (`secret.key` beside the ledger) that seals the audit trail's head and signs the
        certificate codes; None when missing or unreadable."""
        return read_key(self.path.parent)

    def sealing_key(self) -> bytes:
        """The workspace key, made on first use, but never over a trail or codes made with a key now lost
        (LedgerError: a new key would silently vouch for whatever the ledger holds now)."""
        key = read_key(self.path.parent)
        if key is not None:
            return key
        head = parse_head(self.meta_value("audit_head"))
        if self.read_only or (head is not None and head.seal is not None) or self.db.execute(
                "SELECT 1 FROM issued_certificates LIMIT 1").fetchone() is not None:
            raise LedgerError(self.key_missing())
        return make_key(self.path.parent)

    def key_missing(self) -> str:
        return (f"{self.path.parent / KEY_FILE} is missing or unreadable: the audit trail's head is sealed and the "
                "certificate codes signed with it. Restore it from a backup of the workspace; milsetctl does not make "
                "a new key over a trail and codes made with the old one")

    def _migrate_audit(self) -> None:
        """Chain the records of a ledger older than the chain, once: only when its audit table lacks the chain's
        columns (issue 11), in the same transaction that adds them, with a record saying the chain starts there.
        A ledger that has them is never chained again, whatever was deleted or blanked: unhashed records are named
        by `audit --verify`. Then the head is checked (`_check_head`)."""
        columns = {r[1] for r in self.db.execute("PRAGMA table_info(audit)")}
        if "hash" in columns and all(name in columns for name, _ in CHAIN_COLUMNS):
            self._check_head()
            return
        with self.db:
            self.db.execute("BEGIN IMMEDIATE")
            columns = {r[1] for r in self.db.execute("PRAGMA table_info(audit)")}
            pre_chain = "hash" not in columns
            for name, decl in CHAIN_COLUMNS:
                if name not in columns:
                    self.db.execute(f"ALTER TABLE audit ADD COLUMN {name} {decl}")
            if pre_chain and self.chain_removed is not None:  # never chained again: the break stays on record
                self._append_audit(HEAD_BROKEN_ACTION, {
                    "problem": f"the hash chain was removed by hand ({self.chain_removed}); the records before "
                               "this one were not chained again and cannot be vouched for"})
            elif pre_chain:
                self._chain_as_found()
        self._check_head()

    def _chain_as_found(self) -> None:
        """Hash the records of a ledger from before the chain, as they are now, and record that the chain starts
        here (inside the caller's transaction)."""
        prev, ids = GENESIS, []
        for row in self.db.execute("SELECT * FROM audit ORDER BY id").fetchall():
            body = body_digest(row["command"], row["detail"])
            digest = record_hash(row["id"], row["at"], row["who"], row["action"], body, prev)
            self.db.execute("UPDATE audit SET body_sha256=?, prev_hash=?, hash=? WHERE id=?",
                            (body, prev, digest, row["id"]))
            prev = digest
            ids.append(int(row["id"]))
        if ids:
            self._append_audit(CHAIN_START_ACTION, {
                "chained_records": len(ids), "first": ids[0], "last": ids[-1],
                "note": "records before this one were written before the hash chain existed; they are chained "
                        "as found at this moment"})

    def _check_head(self) -> None:
        """At a writing open: does the head match the trail's last record, under this workspace's seal? If not
        (records removed or the head rewritten by hand since the last command), a record saying so is appended
        before anything else, so that what this command appends cannot cover the break. A head an older milsetctl
        left unsealed is sealed once, on record. LedgerError when the key that sealed the head is gone."""
        value, last_id, last_hash = self.db.execute(
            "SELECT (SELECT value FROM meta WHERE key='audit_head'), (SELECT max(id) FROM audit), "
            "(SELECT hash FROM audit ORDER BY id DESC LIMIT 1)").fetchone()
        head = parse_head(value)
        if last_id is None and head is None:
            return  # a new ledger
        key = read_key(self.path.parent)
        if head is not None and head.seal is not None and key is None:
            raise LedgerError(self.key_missing())
        found = self._head_problem(head, key, last_id, last_hash)
        if found is None:
            return
        action, detail = found
        with self.db:
            self.db.execute("BEGIN IMMEDIATE")
            self._append_audit(action, {**detail, "head_found": value, "last_record": last_id})

    def _head_problem(self, head: Head | None, key: bytes | None, last_id: int | None,
                      last_hash: str | None) -> tuple[str, dict[str, Any]] | None:
        """(action, detail) of the record `_check_head` appends, or None when the head is sound."""
        if head is not None and head.record == last_id and head.hash == last_hash:
            if head.seal is not None and key is not None and seal_matches(key, head):
                return None
            if head.seal is None:
                sealed = self.db.execute("SELECT id FROM audit WHERE action=? ORDER BY id LIMIT 1",
                                         (SEAL_START_ACTION,)).fetchone()
                if sealed is None:
                    return SEAL_START_ACTION, {"note": "the head an older milsetctl left unsealed is sealed from "
                                                       "here on, as found at this moment"}
                return HEAD_BROKEN_ACTION, {"problem": f"the head's seal was removed by hand (it was sealed before, "
                                                       f"at record {sealed[0]})"}
        if head is None:
            problem = "the ledger's head was missing: the newest records may have been removed"
        elif head.record != last_id or head.hash != last_hash:
            problem = (f"the head named record {head.record}, the trail ended at record {last_id}: records were "
                       "removed, added or changed by hand")
        else:
            problem = "the head's seal did not match this workspace's key: the head was rewritten by hand"
        return HEAD_BROKEN_ACTION, {"problem": problem}

    def audit_rows(self, kinds: list[str] | None = None, with_chain: bool = False) -> list[sqlite3.Row]:
        """Every audit record, oldest first (only the actions in `kinds` when given)."""
        cols = "*" if with_chain else "id, at, who, action, command, detail, hash, scrubbed"
        if kinds:
            return self.db.execute(f"SELECT {cols} FROM audit WHERE action IN (SELECT value FROM json_each(?)) "
                                   "ORDER BY id", (json.dumps(kinds),)).fetchall()
        return self.db.execute(f"SELECT {cols} FROM audit ORDER BY id").fetchall()

    def audit_head(self) -> Head | None:
        """(ID, hash, seal) of the last record the chain appended, as remembered in `meta`; None before the chain
        (or when the head was removed)."""
        return parse_head(self.meta_value("audit_head"))

    def audit_trail(self, limit: int = 50) -> list[sqlite3.Row]:
        return self.db.execute("SELECT * FROM audit ORDER BY id DESC LIMIT ?", (limit,)).fetchall()

    # --- entry identity
    def assign_ids(self, entries: Iterable[Entry]) -> None:
        """Give each entry its stable ID: the one it had before (same key), else the next free E0001..."""
        known = dict(self.db.execute("SELECT key, entry_id FROM entries").fetchall())
        taken = set(known.values())
        counter = 1 + max((int(e[1:]) for e in taken if e[1:].isdigit()), default=0)
        for entry in entries:
            if entry.key in known:
                entry.entry_id = known[entry.key]
            else:
                entry.entry_id = f"E{counter:04d}"
                counter += 1
                known[entry.key] = entry.entry_id

    # --- file stat cache
    def remember_file(self, path: str, size: int, mtime_ns: int, sha256: str) -> None:
        self.db.execute("INSERT OR REPLACE INTO files VALUES (?, ?, ?, ?)", (path, size, mtime_ns, sha256))

    def all_file_shas(self) -> dict[str, tuple[int, int, str]]:
        """path -> (size, mtime_ns, sha256): the whole stat cache in one query, for a run over many files."""
        return {r[0]: (r[1], r[2], r[3]) for r in self.db.execute("SELECT path, size, mtime_ns, sha256 FROM files")}

    def all_infos(self, probe_version: int) -> dict[str, str]:
        """sha256 -> PhotoInfo JSON for every photo probed with this probe version."""
        return dict(self.db.execute("SELECT sha256, info FROM photos WHERE probe_version=?", (probe_version,)))

    def all_findings(self, keys: dict[str, str]) -> dict[str, dict[str, list[Finding]]]:
        """sha256 -> rule -> cached findings, for every (rule, cache_key) still current."""
        found: dict[str, dict[str, list[Finding]]] = {}
        for sha, rule_id, key, blob in self.db.execute("SELECT sha256, rule, cache_key, findings FROM rule_results"):
            if keys.get(rule_id) == key:
                found.setdefault(sha, {})[rule_id] = [_finding(f) for f in json.loads(blob)]
        return found

    def set_second_pass(self, keys: dict[str, str]) -> None:
        """Remember which rules validate's second pass runs, with the cache key of their current settings."""
        value = json.dumps(keys, sort_keys=True)
        if self.meta_value("second_pass") != value:
            self.set_meta("second_pass", value)

    def pending_checks(self) -> dict[str, list[str]]:
        """Second-pass rule -> entry IDs whose check has not run yet: entries present, with a photo and not rejected,
        whose photo has no finding of that rule under the current settings. Empty once the second pass is done."""
        keys = json.loads(self.meta_value("second_pass") or "{}")
        out: dict[str, list[str]] = {}
        for rule_id, key in sorted(keys.items()):
            rows = self.db.execute(
                "SELECT entry_id FROM entries e WHERE present=1 AND sha256 IS NOT NULL AND status != 'rejected' "
                "AND NOT EXISTS (SELECT 1 FROM rule_results r WHERE r.sha256=e.sha256 AND r.rule=? "
                "AND r.cache_key=?) ORDER BY entry_id", (rule_id, key)).fetchall()
            if rows:
                out[rule_id] = [r[0] for r in rows]
        return out

    def second_pass_progress(self) -> tuple[int, int]:
        """(photos checked, photos to check) by validate's second pass, over the entries it runs for."""
        keys = json.loads(self.meta_value("second_pass") or "{}")
        total = self.db.execute("SELECT count(DISTINCT sha256) FROM entries WHERE present=1 AND sha256 IS NOT NULL "
                                "AND status != 'rejected'").fetchone()[0]
        if not keys:
            return total, total
        missing = " OR ".join(["NOT EXISTS (SELECT 1 FROM rule_results r WHERE r.sha256=e.sha256 AND r.rule=? "
                               "AND r.cache_key=?)"] * len(keys))
        left = self.db.execute(
            "SELECT count(DISTINCT sha256) FROM entries e WHERE present=1 AND sha256 IS NOT NULL AND status != "
            f"'rejected' AND ({missing})", [v for item in sorted(keys.items()) for v in item]).fetchone()[0]
        return total - left, total

    # --- photo analysis cache
    def store_info(self, info: PhotoInfo, probe_version: int) -> None:
        self.db.execute(
            "INSERT OR REPLACE INTO photos VALUES (?, ?, ?, ?)",
            (info.sha256, probe_version, json.dumps(asdict(info), ensure_ascii=False), now_iso()),
        )

    def store_findings(self, sha256: str, rule_id: str, cache_key: str, findings: list[Finding]) -> None:
        self.db.execute(
            "INSERT OR REPLACE INTO rule_results VALUES (?, ?, ?, ?, ?)",
            (sha256, rule_id, cache_key,
             json.dumps([asdict(f) for f in findings], ensure_ascii=False, default=str), now_iso()),
        )

    def commit(self) -> None:
        self.db.commit()

    # --- entries and findings
    def save_results(self, rows: list[dict[str, Any]], findings: dict[str, list[Finding]],
                     audit: tuple[str, dict[str, Any]] | None = None) -> dict[str, dict[str, list[Any]]]:
        """Replace the current picture of the contest: entries upserted, findings rewritten.

        Entries that vanished from the manifest stay in the ledger (with their decisions) marked absent.
        `audit`: (action, detail) of the run's audit record, written in the same transaction (a killed run leaves
        both or neither). Returns what changed in entries the ledger held before: entry_id -> {field: [old, new]}
        (the "entry-change" audit record's detail), so the run can tell the coordinator.
        """
        stamp = now_iso()
        with self.db:
            changes = self._entry_changes(rows)
            self.db.execute("UPDATE entries SET present=0")
            for row in rows:
                self.db.execute(
                    """INSERT INTO entries (entry_id, key, contestant_id, name, school, grade, province, country,
                           email, file, title, description, submitted_at, origin, listed, extra, sha256, category,
                           status, present, first_seen, updated_at)
                       VALUES (:entry_id, :key, :contestant_id, :name, :school, :grade, :province, :country,
                           :email, :file, :title, :description, :submitted_at, :origin, :listed, :extra, :sha256,
                           :category, :status, 1, :stamp, :stamp)
                       ON CONFLICT(entry_id) DO UPDATE SET key=excluded.key, contestant_id=excluded.contestant_id,
                           name=excluded.name, school=excluded.school, grade=excluded.grade,
                           province=excluded.province, country=excluded.country, email=excluded.email,
                           file=excluded.file, title=excluded.title, description=excluded.description,
                           submitted_at=excluded.submitted_at, origin=excluded.origin, listed=excluded.listed,
                           extra=excluded.extra, sha256=excluded.sha256, category=excluded.category,
                           status=excluded.status, present=1, updated_at=excluded.updated_at""",
                    {**row, "stamp": stamp},
                )
            ids = [r["entry_id"] for r in rows]
            self.db.executemany("DELETE FROM findings WHERE entry_id=?", [(i,) for i in ids])
            self.db.executemany(
                "INSERT INTO findings VALUES (?, ?, ?, ?, ?)",
                [
                    (eid, f.rule, str(f.severity), f.message, json.dumps(f.data, default=str) if f.data else None)
                    for eid, fs in findings.items()
                    for f in fs
                ],
            )
            if changes:  # a corrected name or title is on record: who changed the manifest's word, and when
                self._append_audit("entry-change", {"entries": changes})
            if audit is not None:
                self.audit(*audit)
        return changes

    # what a re-validation may change in an entry and the audit trail records (old -> new)
    TRACKED_ENTRY_FIELDS = ("contestant_id", "name", "school", "grade", "province", "country", "email", "title",
                            "description", "category")

    def _entry_changes(self, rows: list[dict[str, Any]]) -> dict[str, dict[str, list[Any]]]:
        """entry_id -> {field: [old, new]} for the entries in `rows` the ledger holds with other values."""
        fields = self.TRACKED_ENTRY_FIELDS
        old = {r["entry_id"]: r for r in self.db.execute(f"SELECT entry_id, {', '.join(fields)} FROM entries")}
        changes: dict[str, dict[str, list[Any]]] = {}
        for row in rows:
            before = old.get(row["entry_id"])
            if before is None:
                continue
            diff = {f: [before[f], row.get(f)] for f in fields if (before[f] or None) != (row.get(f) or None)}
            if diff:
                changes[row["entry_id"]] = diff
        return changes

    def entries(self, present_only: bool = True) -> list[sqlite3.Row]:
        sql = "SELECT * FROM entries" + (" WHERE present=1" if present_only else "") + " ORDER BY entry_id"
        return self.db.execute(sql).fetchall()

    def entry(self, entry_id: str) -> sqlite3.Row | None:
        return self.db.execute("SELECT * FROM entries WHERE entry_id=?", (entry_id,)).fetchone()

    def findings_for(self, entry_id: str) -> list[Finding]:
        rows = self.db.execute("SELECT * FROM findings WHERE entry_id=? ORDER BY rowid", (entry_id,)).fetchall()
        return [_finding({**dict(r), "data": json.loads(r["data"]) if r["data"] else None}) for r in rows]

    def set_status(self, entry_id: str, status: str) -> None:
        with self.db:
            self.db.execute("UPDATE entries SET status=? WHERE entry_id=?", (status, entry_id))

    def rename_keys(self, renames: dict[str, str]) -> None:
        """Give entries a new identity key (old key -> new key), keeping their entry IDs and decisions: a photo
        found under another relative path of a moved submissions folder stays the same entry. One transaction;
        two-phase, so that keys may swap."""
        if not renames:
            return
        with self.db:
            for i, old in enumerate(renames):
                self.db.execute("UPDATE entries SET key=? WHERE key=?", (f"\x00rename{i}", old))
            for i, new in enumerate(renames.values()):
                self.db.execute("UPDATE entries SET key=? WHERE key=?", (new, f"\x00rename{i}"))

    def current_findings(self) -> dict[str, list[Finding]]:
        """entry_id -> its findings, for every entry present in the last run (data left out: counting only)."""
        found: dict[str, list[Finding]] = {}
        for row in self.db.execute(
            "SELECT f.entry_id, f.rule, f.severity, f.message FROM findings f JOIN entries e USING (entry_id) "
            "WHERE e.present=1 ORDER BY f.rowid"
        ):
            found.setdefault(row[0], []).append(Finding(row[1], Severity(row[2]), row[3]))
        return found

    def last_audit(self, action: str) -> sqlite3.Row | None:
        """The newest audit record of one action (e.g. 'validate'), or None."""
        return self.db.execute("SELECT * FROM audit WHERE action=? ORDER BY id DESC LIMIT 1", (action,)).fetchone()

    # --- decisions
    def decide(self, entry_id: str, decision: str, reason: str, who: str | None = None,
               status: str | None = None) -> dict[str, str]:
        """Record a decision and its audit record; `status`: the entry's status it settles, set in the same
        transaction (a run killed half-way never leaves a rejected entry still eligible for the jury package)."""
        record = {"entry_id": entry_id, "decision": decision, "reason": reason, "who": who or current_user(),
                  "at": now_iso()}
        with self.db:
            self.db.execute(
                "INSERT INTO decisions (entry_id, decision, reason, who, at) VALUES "
                "(:entry_id, :decision, :reason, :who, :at)",
                record,
            )
            if status is not None:
                self.db.execute("UPDATE entries SET status=? WHERE entry_id=?", (status, entry_id))
            self.audit("decide", record, who=record["who"])  # in the same transaction: no decision off the record
        return record

    def latest_decisions(self) -> dict[str, dict[str, str]]:
        rows = self.db.execute(
            "SELECT d.* FROM decisions d JOIN (SELECT entry_id, MAX(id) AS id FROM decisions GROUP BY entry_id) m "
            "ON d.id = m.id"
        ).fetchall()
        return {r["entry_id"]: {k: r[k] for k in ("decision", "reason", "who", "at")} for r in rows}

    def decision_history(self, entry_id: str) -> list[sqlite3.Row]:
        return self.db.execute("SELECT * FROM decisions WHERE entry_id=? ORDER BY id", (entry_id,)).fetchall()


    # --- jury round: anonymous IDs --------------------------------------------------------------------------
    def meta_value(self, key: str, default: str | None = None) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return row[0] if row else default

    def set_meta(self, key: str, value: str) -> None:
        with self.db:
            self.db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))

    def round_id(self) -> str:
        """This workspace's jury round: a random token printed on every score sheet, created on first use.

        A sheet carrying another round's token was made for another contest or stage and is refused.
        """
        value = self.meta_value("round_id")
        if value is None:
            import secrets

            value = "R-" + secrets.token_hex(4).upper()
            with self.db:
                self.db.execute("INSERT OR IGNORE INTO meta VALUES ('round_id', ?)", (value,))
            value = self.meta_value("round_id") or value
        return value

    def anon_rows(self, include_withdrawn: bool = False) -> list[sqlite3.Row]:
        sql = "SELECT * FROM anon_ids" + ("" if include_withdrawn else " WHERE withdrawn=0") + " ORDER BY anon_id"
        return self.db.execute(sql).fetchall()

    def anon_map(self, include_withdrawn: bool = True) -> dict[str, str]:
        """anon_id -> entry_id (every ID ever handed out unless include_withdrawn is False)."""
        return {r["anon_id"]: r["entry_id"] for r in self.anon_rows(include_withdrawn)}

    def add_anon_id(self, anon_id: str, entry_id: str, file: str | None = None, sha256: str | None = None) -> None:
        """Record one anonymous ID (its own transaction: a killed run keeps every ID already handed out)."""
        with self.db:
            self.db.execute(
                "INSERT INTO anon_ids (anon_id, entry_id, file, sha256, created_at) VALUES (?, ?, ?, ?, ?)",
                (anon_id, entry_id, file, sha256, now_iso()),
            )

    def set_anon_file(self, anon_id: str, file: str, sha256: str) -> None:
        with self.db:
            self.db.execute("UPDATE anon_ids SET file=?, sha256=?, withdrawn=0 WHERE anon_id=?",
                            (file, sha256, anon_id))

    def set_anon_withdrawn(self, anon_id: str, withdrawn: bool = True) -> None:
        with self.db:
            self.db.execute("UPDATE anon_ids SET withdrawn=? WHERE anon_id=?", (int(withdrawn), anon_id))

    # --- jury round: jurors and assignments -----------------------------------------------------------------
    def save_jurors(self, jurors: list[dict[str, Any]]) -> list[sqlite3.Row]:
        """Upsert the juror file's people by `key`; jurors no longer in the file become inactive.

        Each dict holds key, name, affiliation, country, email, school. Returns every juror row (active first).
        """
        stamp = now_iso()
        with self.db:
            known = dict(self.db.execute("SELECT key, juror_id FROM jurors").fetchall())
            counter = 1 + max((int(j[1:]) for j in known.values() if j[1:].isdigit()), default=0)
            self.db.execute("UPDATE jurors SET active=0")
            for j in jurors:
                juror_id = known.get(j["key"])
                if juror_id is None:
                    juror_id = f"J{counter:02d}"
                    counter += 1
                    known[j["key"]] = juror_id
                self.db.execute(
                    """INSERT INTO jurors (juror_id, key, name, affiliation, country, email, school, active,
                           first_seen, updated_at)
                       VALUES (:juror_id, :key, :name, :affiliation, :country, :email, :school, 1, :stamp, :stamp)
                       ON CONFLICT(juror_id) DO UPDATE SET name=excluded.name, affiliation=excluded.affiliation,
                           country=excluded.country, email=excluded.email, school=excluded.school, active=1,
                           updated_at=excluded.updated_at""",
                    {"affiliation": None, "country": None, "email": None, "school": None, **j,
                     "juror_id": juror_id, "stamp": stamp},
                )
        return self.jurors()

    def jurors(self, active_only: bool = False) -> list[sqlite3.Row]:
        sql = "SELECT * FROM jurors" + (" WHERE active=1" if active_only else "") + " ORDER BY active DESC, juror_id"
        return self.db.execute(sql).fetchall()

    def assignments(self, active_only: bool = True) -> list[sqlite3.Row]:
        sql = "SELECT * FROM assignments" + (" WHERE active=1" if active_only else "") + " ORDER BY juror_id, position"
        return self.db.execute(sql).fetchall()

    def assignment_pairs(self) -> list[tuple[str, str, int]]:
        """Every (juror_id, anon_id, active) pair ever assigned, unsorted: the lean read a score run needs
        (150,000 pairs in 0.1 s, where `assignments()` with every column, sorted, takes 0.4 s)."""
        return self.db.execute("SELECT juror_id, anon_id, active FROM assignments").fetchall()

    def save_assignments(self, active: list[tuple[str, str, int]]) -> None:
        """Make `active` ((juror_id, anon_id, position) triples) the round's assignments, in one transaction.

        Pairs not in it are kept as inactive history (never deleted), so a pair once handed out stays known.
        """
        stamp = now_iso()
        with self.db:
            self.db.execute("UPDATE assignments SET active=0")
            self.db.executemany(
                """INSERT INTO assignments (juror_id, anon_id, position, active, assigned_at) VALUES (?, ?, ?, 1, ?)
                   ON CONFLICT(juror_id, anon_id) DO UPDATE SET position=excluded.position, active=1""",
                [(j, a, p, stamp) for j, a, p in active],
            )

    # --- jury round: scores, ranking, awards ----------------------------------------------------------------
    def replace_scores(self, jurors: list[str], rows: list[tuple[str, str, str, str | None, str, int | None]],
                       method: str, sheets: list[str], detail: dict[str, Any] | None = None) -> int:
        """Replace every stored score of `jurors` by `rows` in one transaction; returns the new run's ID.

        rows: (juror, anon_id, scores as a JSON object text, comment, sheet, row number); a sequence that also
        has `columns` (those six values as six lists, e.g. `scoring.round`'s rows) is inserted from the columns.
        The scores replaced are counted in the run's detail and the audit trail, so a re-score is on record.
        """
        stamp, who = now_iso(), current_user()
        jurors = self.stored_spellings(jurors)
        named = json.dumps(sorted(set(jurors)), ensure_ascii=False)
        # Foreign-key enforcement off for this transaction only: no table refers to `scores`, and its one
        # reference (run_id) is the run inserted just below. With it on, SQLite deletes a child table row by row
        # even for a DELETE without WHERE (5x slower for a whole panel's 150,000 rows). A no-op when a
        # transaction is already open.
        fk = not self.db.in_transaction and bool(self.db.execute("PRAGMA foreign_keys").fetchone()[0])
        if fk:
            self.db.execute("PRAGMA foreign_keys=OFF")
        try:
            run_id = self._replace_scores(jurors, named, rows, method, sheets, detail, stamp, who)
        finally:
            if fk:
                self.db.execute("PRAGMA foreign_keys=ON")
        return run_id

    def _replace_scores(self, jurors: list[str], named: str, rows: list[tuple[Any, ...]], method: str,
                        sheets: list[str], detail: dict[str, Any] | None, stamp: str, who: str) -> int:
        with self.db:
            if not self.db.in_transaction:  # the counts and the delete below see the same rows
                self.db.execute("BEGIN IMMEDIATE")
            replaced = 0
            if jurors:
                total = int(self.db.execute("SELECT COUNT(*) FROM scores").fetchone()[0])
                kept = total and int(self.db.execute(
                    "SELECT COUNT(*) FROM scores WHERE juror NOT IN (SELECT value FROM json_each(?))", (named,)
                ).fetchone()[0])
                if total and not kept:  # every stored score goes (a re-score of the whole panel): SQLite's
                    self.db.execute("DELETE FROM scores")  # truncate, far faster than deleting row by row
                    replaced = total
                elif total:
                    replaced = self.db.execute(
                        "DELETE FROM scores WHERE juror IN (SELECT value FROM json_each(?))", (named,)).rowcount
            info = {**(detail or {}), "replaced_rows": replaced, "stored_rows": len(rows)}
            cur = self.db.execute(
                "INSERT INTO score_runs (at, who, method, sheets, detail) VALUES (?, ?, ?, ?, ?)",
                (stamp, who, method, json.dumps(sheets, ensure_ascii=False),
                 json.dumps(info, ensure_ascii=False, default=str)),
            )
            run_id = int(cur.lastrowid or 0)
            # a big batch goes in faster without the juror index, rebuilt in one sort after (same transaction:
            # a run killed half-way rolls the index back with the rows)
            bulk = len(rows) >= 20_000
            if bulk:
                self.db.execute("DROP INDEX IF EXISTS scores_juror")
            one = f"(?, ?, ?, ?, ?, ?, {run_id:d})"
            # 150 rows per statement (900 parameters, under every SQLite's limit): a fifth less work than a
            # statement per row
            full = len(rows) - len(rows) % 150 if bulk else 0
            if full:
                columns = getattr(rows, "columns", None)
                if columns is not None and len(columns) == 6 and all(len(c) == len(rows) for c in columns):
                    flat: list[Any] = [None] * (6 * full)  # six lists interleaved: no tuple per row
                    for k, column in enumerate(columns):
                        flat[k::6] = column[:full]
                else:
                    if set(map(len, rows[:full])) != {6}:  # flattened, a short row would shift the others
                        raise sqlite3.ProgrammingError("replace_scores: every row needs exactly 6 values")
                    flat = list(chain.from_iterable(rows[:full]))
                self.db.executemany("INSERT INTO scores VALUES " + ", ".join([one] * 150),
                                    (flat[i:i + 900] for i in range(0, len(flat), 900)))
            self.db.executemany(f"INSERT INTO scores VALUES {one}", rows[full:] if full else rows)
            if bulk:
                self.db.execute("CREATE INDEX scores_juror ON scores(juror)")
            self._append_audit("score", {"run_id": run_id, "jurors": len(jurors), "sheets": sheets,
                                         "replaced_rows": replaced, "stored_rows": len(rows)}, who, stamp)
        return run_id

    def score_rows(self) -> list[tuple[str, str, str, str | None, str, int | None]]:
        """Every stored score: (juror, anon_id, scores JSON, comment, sheet, row)."""
        return self.db.execute("SELECT juror, anon_id, scores, comment, sheet, row FROM scores").fetchall()

    def score_runs(self) -> list[sqlite3.Row]:
        return self.db.execute("SELECT * FROM score_runs ORDER BY run_id").fetchall()

    def save_ranking(self, rows: list[dict[str, Any]], method: str, run_id: int) -> None:
        """Replace the ranking: dicts with entry_id, anon_id, category, score, rank, detail (JSON text or None)."""
        with self.db:
            self.db.execute("DELETE FROM ranking")
            self.db.executemany(
                "INSERT INTO ranking VALUES (:entry_id, :anon_id, :category, :score, :rank, :method, :run_id, "
                ":detail)",
                [{"detail": None, **r, "method": method, "run_id": run_id} for r in rows],
            )

    def ranking(self) -> list[sqlite3.Row]:
        return self.db.execute("SELECT * FROM ranking ORDER BY category, rank, entry_id").fetchall()

    def save_awards(self, rows: list[dict[str, Any]], stage: str) -> None:
        """Replace the award list: dicts with entry_id, anon_id, category, score, rank, award (None for none)."""
        stamp = now_iso()
        with self.db:
            self.db.execute("DELETE FROM awards")
            self.db.executemany(
                "INSERT INTO awards VALUES (:entry_id, :anon_id, :category, :score, :rank, :award, :stage, :at)",
                [{**r, "stage": stage, "at": stamp} for r in rows],
            )
            self._append_audit("awards", {"stage": stage, "awarded": sum(1 for r in rows if r["award"])}, None,
                               stamp)

    def awards(self) -> list[sqlite3.Row]:
        return self.db.execute("SELECT * FROM awards ORDER BY category, rank, entry_id").fetchall()

    def score_rows_except(self, jurors: Iterable[str]) -> list[tuple[str, str, str, str | None, str, int | None]]:
        """Stored scores of every juror NOT in `jurors` (under any spelling `person_key` holds the same), as
        `score_rows` gives them: a re-score of some jurors reads back only the scores it keeps."""
        named = json.dumps(sorted(self.stored_spellings(jurors)), ensure_ascii=False)
        return self.db.execute(
            "SELECT juror, anon_id, scores, comment, sheet, row FROM scores "
            "WHERE juror NOT IN (SELECT value FROM json_each(?))", (named,)
        ).fetchall()

    def stored_spellings(self, jurors: Iterable[str]) -> list[str]:
        """`jurors` plus every spelling of them the stored scores use: a juror who re-sends as "LI MING" after
        "Li Ming" replaces the scores stored before, instead of being counted as a second juror."""
        given = set(jurors)
        keys = {person_key(j) for j in given}
        stored = (r[0] for r in self.db.execute("SELECT DISTINCT juror FROM scores"))
        return sorted(given | {s for s in stored if person_key(s) in keys})

    # --- the stage graph (milsetctl/stages.py)
    def record_stage(self, stage: str, snapshot: dict[str, Any], detail: dict[str, Any]) -> None:
        """Remember what `stage` read when it ran (replacing its previous record)."""
        with self.db:
            self.db.execute("INSERT OR REPLACE INTO stage_runs VALUES (?, ?, ?, ?)",
                            (stage, now_iso(), json.dumps(snapshot, ensure_ascii=False, separators=(",", ":")),
                             json.dumps(detail, ensure_ascii=False, default=str)))

    def stage_runs(self) -> dict[str, sqlite3.Row]:
        """stage -> its record (stage, at, snapshot, detail)."""
        return {r["stage"]: r for r in self.db.execute("SELECT * FROM stage_runs")}

    # --- certificates
    def issued_certificate(self, code: str) -> sqlite3.Row | None:
        """The issued certificate with this code (normalised: 16 base32 characters, no dashes), or None."""
        return self.db.execute("SELECT * FROM issued_certificates WHERE code=?", (code,)).fetchone()

    def issued_certificates(self, kind: str) -> dict[str, sqlite3.Row]:
        """The current (not superseded) certificate of each recipient of one kind, by recipient key."""
        rows = self.db.execute(
            "SELECT * FROM issued_certificates WHERE kind=? AND code NOT IN (SELECT code FROM superseded_certificates)"
            " ORDER BY issued_at", (kind,))
        return {r["recipient_key"]: r for r in rows}

    def certificate_superseded(self, code: str) -> sqlite3.Row | None:
        """(code, by_code, reason, at) when a reprint replaced this certificate, else None."""
        return self.db.execute("SELECT * FROM superseded_certificates WHERE code=?", (code,)).fetchone()

    def record_certificates(self, rows: list[dict[str, Any]], audit: dict[str, Any] | None = None) -> None:
        """Remember printed certificates, in one transaction with their "certificate-issue" audit record (`audit`,
        the detail). Each row: code, kind, recipient_key, recipient, entry_id, content (dict), file, and optionally
        supersedes (the recipient's previous code) with reason. A reprint of the same content keeps its first issue
        date; a code printed again is current again."""
        stamp = now_iso()
        with self.db:
            if audit is not None:
                self._append_audit("certificate-issue", audit)
            for r in rows:
                updated = self.db.execute("UPDATE issued_certificates SET file=? WHERE code=?", (r["file"], r["code"]))
                if updated.rowcount == 0:
                    self.db.execute(
                        "INSERT INTO issued_certificates VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                        (r["code"], r["kind"], r["recipient_key"], r["recipient"], r["entry_id"],
                         json.dumps(r["content"], ensure_ascii=False, sort_keys=True), r["file"], stamp))
                self.db.execute("DELETE FROM superseded_certificates WHERE code=?", (r["code"],))
                if r.get("supersedes") and r["supersedes"] != r["code"]:
                    self.db.execute(
                        "INSERT INTO superseded_certificates (code, by_code, reason, at) VALUES (?, ?, ?, ?) "
                        "ON CONFLICT(code) DO UPDATE SET by_code=excluded.by_code, reason=excluded.reason, "
                        "at=excluded.at", (r["supersedes"], r["code"], r.get("reason") or "reprinted", stamp))

    # --- the sent log (milsetctl/mail.py)
    def mail_log(self, purpose: str) -> dict[str, sqlite3.Row]:
        """recipient key -> where its mail stands: the attempt that sent it ("sent"), else its latest attempt
        ("sending": a run was killed before the server answered; "failed": refused, to be tried again)."""
        out: dict[str, sqlite3.Row] = {}
        for row in self.db.execute("SELECT * FROM mail_log WHERE purpose=? ORDER BY id", (purpose,)):
            held = out.get(row["recipient_key"])
            if held is None or held["state"] != "sent" or row["state"] == "sent":
                out[row["recipient_key"]] = row
        return out

    def mail_sending(self, purpose: str, key: str, to: str, subject: str, digest: str, message_id: str) -> None:
        """A message is about to go (its DATA): committed first, so a run killed now leaves it "sending"."""
        with self.db:
            self.db.execute("INSERT INTO mail_log (purpose, recipient_key, to_addr, subject, digest, message_id, "
                            "state, at) VALUES (?, ?, ?, ?, ?, ?, 'sending', ?)",
                            (purpose, key, to, subject, digest, message_id, now_iso()))

    def mail_sent(self, purpose: str, key: str, message_id: str) -> None:
        """The server took the message: "sent", in one transaction with its "mail-sent" audit record."""
        stamp = now_iso()
        with self.db:
            self.db.execute("BEGIN IMMEDIATE")
            self.db.execute("UPDATE mail_log SET state='sent', at=? WHERE id=(SELECT MAX(id) FROM mail_log WHERE "
                            "purpose=? AND recipient_key=? AND state='sending')", (stamp, purpose, key))
            self._append_audit("mail-sent", {"purpose": purpose, "recipient": key, "message_id": message_id},
                               None, stamp)

    def mail_failed(self, purpose: str, key: str, to: str, subject: str, digest: str, message_id: str,
                    answer: str) -> None:
        """The server refused the message (or its address): "failed", tried again by the next run."""
        with self.db:
            updated = self.db.execute(
                "UPDATE mail_log SET state='failed', answer=?, at=? WHERE id=(SELECT MAX(id) FROM mail_log WHERE "
                "purpose=? AND recipient_key=? AND state='sending')", (answer, now_iso(), purpose, key))
            if updated.rowcount == 0:
                self.db.execute("INSERT INTO mail_log (purpose, recipient_key, to_addr, subject, digest, message_id, "
                                "state, answer, at) VALUES (?, ?, ?, ?, ?, ?, 'failed', ?, ?)",
                                (purpose, key, to, subject, digest, message_id, answer, now_iso()))

    # --- members
    MEMBER_FIELDS = ("organisation", "country", "region", "contact", "email", "member_since", "fee_paid_until")

    def members(self) -> list[sqlite3.Row]:
        """The member roster, in member ID order."""
        return self.db.execute("SELECT * FROM members ORDER BY member_id").fetchall()

    def save_members(self, rows: list[dict[str, Any]], history: list[tuple[str, str, str | None, str | None]],
                     source: str, audits: list[dict[str, Any]] | None = None) -> None:
        """Upsert roster rows (dicts with member_id, key and the MEMBER_FIELDS) and record `history` ((member_id,
        field, old, new) per value set or changed) and one "member-change" audit record per detail in `audits`, in
        one transaction: an import is stored whole or not at all, never without its audit records."""
        stamp, who = now_iso(), current_user()
        with self.db:
            for row in rows:
                values = {f: row.get(f) for f in self.MEMBER_FIELDS}
                self.db.execute(
                    """INSERT INTO members (member_id, key, organisation, country, region, contact, email,
                           member_since, fee_paid_until, source, first_seen, updated_at)
                       VALUES (:member_id, :key, :organisation, :country, :region, :contact, :email, :member_since,
                           :fee_paid_until, :source, :stamp, :stamp)
                       ON CONFLICT(member_id) DO UPDATE SET key=excluded.key, organisation=excluded.organisation,
                           country=excluded.country, region=excluded.region, contact=excluded.contact,
                           email=excluded.email, member_since=excluded.member_since,
                           fee_paid_until=excluded.fee_paid_until, source=excluded.source,
                           updated_at=excluded.updated_at""",
                    {**values, "member_id": row["member_id"], "key": row["key"], "source": source, "stamp": stamp},
                )
            self.db.executemany(
                "INSERT INTO member_history (member_id, field, old, new, source, who, at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                [(m, f, old, new, source, who, stamp) for m, f, old, new in history],
            )
            for detail in audits or []:
                self._append_audit("member-change", detail)

    def member_history(self, member_id: str | None = None) -> list[sqlite3.Row]:
        """Every recorded change (of one member, or all), oldest first."""
        if member_id is None:
            return self.db.execute("SELECT * FROM member_history ORDER BY id").fetchall()
        return self.db.execute("SELECT * FROM member_history WHERE member_id=? ORDER BY id", (member_id,)).fetchall()

    # --- privacy: purge --personal-data (milsetctl/privacy.py decides what is personal and why)
    def _tables(self) -> dict[str, list[tuple[str, str]]]:
        """table -> [(column, declared type)] for every table of this ledger."""
        names = [r[0] for r in self.db.execute(
            "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%' ORDER BY name")]
        return {n: [(c[1], str(c[2] or "").upper()) for c in self.db.execute(f'PRAGMA table_info("{n}")')]
                for n in names}

    def personal_rows(self, cleared: dict[str, dict[str, str | None]]) -> dict[str, list[sqlite3.Row]]:
        """The rows of the tables in `cleared` that exist, with their personal columns (and identity columns)."""
        tables, out = self._tables(), {}
        for table, columns in cleared.items():
            have = {c for c, _ in tables.get(table, [])}
            cols = sorted({c for c in columns if c in have} | {t for t in columns.values() if t and t in have})
            if cols:
                out[table] = self.db.execute(f'SELECT {", ".join(cols)} FROM "{table}"').fetchall()
        return out

    def place_values(self, columns: dict[str, tuple[str, ...]]) -> list[str]:
        """Every distinct value of the given place/organisation columns (table -> columns) that exist."""
        tables, out = self._tables(), []
        for table, cols in columns.items():
            have = {c for c, _ in tables.get(table, [])}
            for col in cols:
                if col in have:
                    out += [str(r[0]) for r in self.db.execute(
                        f'SELECT DISTINCT "{col}" FROM "{table}" WHERE "{col}" IS NOT NULL')]
        return out

    def _unique_columns(self, table: str) -> set[str]:
        """Columns of `table` that are a primary key or UNIQUE alone: a scrub there could merge two rows."""
        cols = {str(c[1]) for c in self.db.execute(f'PRAGMA table_info("{table}")') if c[5]}
        for index in self.db.execute(f'PRAGMA index_list("{table}")').fetchall():
            if index[2]:  # unique
                members = [str(c[2]) for c in self.db.execute(f'PRAGMA index_info("{index[1]}")')]
                if len(members) == 1:
                    cols.add(members[0])
        return cols

    def member_history_personal(self) -> list[sqlite3.Row]:
        """Contact names and e-mails the member roster ever held (member_history), if the roster exists."""
        if "member_history" not in self._tables():
            return []
        return self.db.execute("SELECT old, new FROM member_history WHERE field IN ('contact', 'email')").fetchall()

    def certificate_rows(self) -> list[sqlite3.Row]:
        return self.db.execute("SELECT * FROM issued_certificates ORDER BY issued_at, code").fetchall()

    def distinct_values(self, table: str, column: str) -> list[str]:
        if column not in {c for c, _ in self._tables().get(table, [])}:
            return []
        return [r[0] for r in self.db.execute(f'SELECT DISTINCT "{column}" FROM "{table}" WHERE "{column}" IS NOT '
                                              "NULL ORDER BY 1")]

    def purge_personal_data(self, cleared: dict[str, dict[str, str | None]], caches: Iterable[str],
                            keep: set[str], scrub: Any, certificates: dict[str, str], purged_name: str,
                            pseudonyms: dict[tuple[str, str], dict[str, str]], dry_run: bool = False,
                            detail: dict[str, Any] | None = None,
                            finding_note: str = ": details removed with the personal data") -> dict[str, int]:
        """Remove personal data in one transaction; returns what was (with `dry_run`: would be) removed, by kind.

        cleared: table -> column -> None (set NULL) or another column (set to its value: NOT NULL identities);
        caches: tables emptied; certificates: code -> the content the row keeps (recipient becomes `purged_name`,
        file NULL); pseudonyms: (table, column) -> exact value -> replacement; every other text column of every
        table except `keep` columns goes through `scrub(text) -> text`; every finding keeps entry, rule and
        severity, its message becomes `rule + finding_note` and its data (boxes, texts read from the photo) goes.
        Audit records whose command or detail changed are marked scrubbed and listed in the purge's own record
        (the chain stays verifiable)."""
        tables, counts = self._tables(), {}
        done = {(t, c) for t, cols in cleared.items() for c in cols} | set(pseudonyms)
        done |= {("issued_certificates", c) for c in ("recipient", "content", "file")}
        # contact/e-mail history is cleared below; the other fields' history (organisation, country, region,
        # dates) is nobody's personal data
        done |= {("member_history", "old"), ("member_history", "new")}
        # findings quote what was read from the photo (watermark text, EXIF artist): message neutral, data gone
        done |= {("findings", "message"), ("findings", "data")}
        caches = [t for t in caches if t in tables]

        def count(sql: str, *args: Any) -> int:
            return int(self.db.execute(sql, args).fetchone()[0])

        with self.db:
            if not dry_run:
                self.db.execute("PRAGMA secure_delete=ON")  # freed pages are zeroed, not left holding the text
                self.db.execute("BEGIN IMMEDIATE")
            for table, columns in cleared.items():
                have = {c for c, _ in tables.get(table, [])}
                cols = {c: t for c, t in columns.items() if c in have and (t is None or t in have)}
                if not cols:
                    continue
                where = " OR ".join(f'"{c}" IS NOT NULL' if t is None else f'"{c}" IS NOT "{t}"'
                                    for c, t in cols.items())
                counts[f"{table}: rows with personal fields"] = count(f'SELECT COUNT(*) FROM "{table}" WHERE {where}')
                if not dry_run:
                    sets = ", ".join(f'"{c}"=NULL' if t is None else f'"{c}"="{t}"' for c, t in cols.items())
                    self.db.execute(f'UPDATE "{table}" SET {sets} WHERE {where}')
            if "member_history" in tables:
                where = "field IN ('contact', 'email') AND (old IS NOT NULL OR new IS NOT NULL)"
                counts["member history: contact changes"] = count(f"SELECT COUNT(*) FROM member_history WHERE {where}")
                if not dry_run:
                    self.db.execute(f"UPDATE member_history SET old=NULL, new=NULL WHERE {where}")
            if "findings" in tables:
                where = "message IS NOT (rule || ?) OR data IS NOT NULL"
                counts["findings: details removed (rule and severity kept)"] = count(
                    f"SELECT COUNT(*) FROM findings WHERE {where}", finding_note)
                if not dry_run:
                    self.db.execute(f"UPDATE findings SET message = rule || ?, data = NULL WHERE {where}",
                                    (finding_note, finding_note))
            for table in caches:
                counts[f"{table} (cache): rows"] = count(f'SELECT COUNT(*) FROM "{table}"')
                if not dry_run:
                    self.db.execute(f'DELETE FROM "{table}"')
            counts["issued certificates: names removed, codes kept"] = len(certificates)
            if not dry_run:
                self.db.executemany("UPDATE issued_certificates SET recipient=?, content=?, file=NULL WHERE code=?",
                                    [(purged_name, content, code) for code, content in certificates.items()])
            for (table, column), mapping in pseudonyms.items():
                counts[f"{table}.{column}: renamed"] = len(mapping)
                if not dry_run and mapping:
                    self.db.executemany(f'UPDATE "{table}" SET "{column}"=? WHERE "{column}"=?',
                                        [(new, old) for old, new in mapping.items()])
            for table, described in tables.items():
                if table in caches or table == "audit":
                    continue
                unique = self._unique_columns(table)  # identities: scrubbing one could collide with another row
                for column, kind in described:
                    if (table, column) in done or column in keep or column in unique or kind not in ("TEXT", ""):
                        continue
                    changed = [(new, old) for (old,) in self.db.execute(
                        f'SELECT DISTINCT "{column}" FROM "{table}" WHERE "{column}" IS NOT NULL')
                        if isinstance(old, str) and (new := scrub(old)) != old]
                    if not changed:
                        continue
                    counts[f"{table}.{column}: texts scrubbed"] = len(changed)
                    if not dry_run:
                        self.db.executemany(f'UPDATE "{table}" SET "{column}"=? WHERE "{column}"=?', changed)
            scrubbed, digests = [], {}
            for rid, command, text in self.db.execute("SELECT id, command, detail FROM audit ORDER BY id").fetchall():
                new_command = scrub(command) if command else command
                new_text = scrub(text) if text else text
                if (new_command, new_text) != (command, text):
                    scrubbed.append(int(rid))
                    digests[str(rid)] = body_digest(new_command, new_text)  # what is left: checked from now on
                    if not dry_run:
                        self.db.execute("UPDATE audit SET command=?, detail=?, scrubbed=1 WHERE id=?",
                                        (new_command, new_text, rid))
            counts["audit records: personal values replaced"] = len(scrubbed)
            if not dry_run:
                self._append_audit("purge", {**(detail or {}), "removed": {k: v for k, v in counts.items() if v},
                                             "scrubbed_records": scrubbed, "scrubbed_digests": digests})
        return counts

    def compact(self) -> None:
        """VACUUM and truncate the WAL: deleted text leaves no trace in free pages or the write-ahead log."""
        self.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        self.db.execute("VACUUM")
        self.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
