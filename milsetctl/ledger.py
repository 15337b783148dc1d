"""The contest's ledger: one SQLite file per workspace, the only module that speaks SQL.

It keeps the entries as last ingested, their findings, the coordinator's decisions (who, when, why),
a cache of per-photo analysis keyed by content hash, and an audit trail of every run and decision.
"""

from __future__ import annotations

import getpass
import json
import os
import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from milsetctl.models import Entry, Finding, PhotoInfo, Severity

LEDGER_FILE = "ledger.sqlite"
SCHEMA_VERSION = 1

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
CREATE TABLE IF NOT EXISTS audit (
    id INTEGER PRIMARY KEY AUTOINCREMENT, at TEXT NOT NULL, who TEXT NOT NULL,
    action TEXT NOT NULL, detail TEXT
);
"""


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def current_user() -> str:
    try:
        return os.environ.get("MILSETCTL_USER") or getpass.getuser()
    except Exception:  # no login name in some containers
        return "unknown"


def _finding(row: dict[str, Any]) -> Finding:
    return Finding(row["rule"], Severity(row["severity"]), row["message"], row.get("data"))


class LedgerError(RuntimeError):
    pass


class Ledger:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.db = sqlite3.connect(path, timeout=30)
        self.db.row_factory = sqlite3.Row
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.execute("PRAGMA foreign_keys=ON")
        self._migrate()

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        with self.db:
            yield self.db

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

    @property
    def schema_version(self) -> int:
        return int(self.db.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()[0])

    # --- audit
    def audit(self, action: str, detail: dict[str, Any] | str | None = None, who: str | None = None) -> None:
        text = json.dumps(detail, ensure_ascii=False, default=str) if isinstance(detail, dict) else detail
        with self.db:
            self.db.execute(
                "INSERT INTO audit (at, who, action, detail) VALUES (?, ?, ?, ?)",
                (now_iso(), who or current_user(), action, text),
            )

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
    def save_results(self, rows: list[dict[str, Any]], findings: dict[str, list[Finding]]) -> None:
        """Replace the current picture of the contest: entries upserted, findings rewritten.

        Entries that vanished from the manifest stay in the ledger (with their decisions) marked absent.
        """
        stamp = now_iso()
        with self.db:
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

    # --- decisions
    def decide(self, entry_id: str, decision: str, reason: str, who: str | None = None) -> dict[str, str]:
        record = {"entry_id": entry_id, "decision": decision, "reason": reason, "who": who or current_user(),
                  "at": now_iso()}
        with self.db:
            self.db.execute(
                "INSERT INTO decisions (entry_id, decision, reason, who, at) VALUES "
                "(:entry_id, :decision, :reason, :who, :at)",
                record,
            )
        self.audit("decide", record, who=record["who"])
        return record

    def latest_decisions(self) -> dict[str, dict[str, str]]:
        rows = self.db.execute(
            "SELECT d.* FROM decisions d JOIN (SELECT entry_id, MAX(id) AS id FROM decisions GROUP BY entry_id) m "
            "ON d.id = m.id"
        ).fetchall()
        return {r["entry_id"]: {k: r[k] for k in ("decision", "reason", "who", "at")} for r in rows}

    def decision_history(self, entry_id: str) -> list[sqlite3.Row]:
        return self.db.execute("SELECT * FROM decisions WHERE entry_id=? ORDER BY id", (entry_id,)).fetchall()
