"""How the audit trail is chained and sealed: what the ledger (which appends records) and audit.py (which verifies
them) both compute, so it sits below both; and the workspace key the seal and the certificate codes share.

Every record's `hash` is SHA-256 over a canonical serialisation (compact JSON, UTF-8) of
`["milsetctl-audit-1", id, at, who, action, body_sha256, prev_hash]`, where `prev_hash` is the previous record's
hash (64 zeros for the first) and `body_sha256` is SHA-256 over the canonical JSON of `{"command", "detail"}`.

Anyone can recompute those hashes after an edit, so the ledger's head (`meta.audit_head`: "ID HASH SEAL", the last
record appended) carries a seal: HMAC-SHA256 under the workspace key (`secret.key`, 32 random bytes, mode 0600) of
`["milsetctl-audit-head-1", id, hash]`. Removing the newest records, or re-chaining after an edit, needs a new seal,
which only the key makes (RFC 2104; the same key signs the certificate codes).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
from pathlib import Path
from typing import Any, NamedTuple

GENESIS = "0" * 64
CHAIN_VERSION = "milsetctl-audit-1"
HEAD_VERSION = "milsetctl-audit-head-1"
# the record that starts the chain over an older ledger's unchained records (ledger.py writes it once)
CHAIN_START_ACTION = "audit-chain-start"
# the record that seals, once, the head an older milsetctl left unsealed
SEAL_START_ACTION = "audit-seal-start"
# the record a writing command leaves when the head it found does not match the trail (records removed or the head
# rewritten by hand since the last command): the break stays on record, whatever is appended after it
HEAD_BROKEN_ACTION = "audit-head-broken"
KEY_FILE = "secret.key"


def _canonical(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode("utf-8")


def body_digest(command: str | None, detail: str | None) -> str:
    """SHA-256 (hex) of a record's free text: the command line and the detail (JSON text)."""
    return hashlib.sha256(_canonical({"command": command, "detail": detail})).hexdigest()


def record_hash(record_id: int, at: str, who: str, action: str, body_sha256: str, prev_hash: str) -> str:
    """The chain hash of one record (SHA-256 hex), from its fields and the previous record's hash."""
    return hashlib.sha256(_canonical([CHAIN_VERSION, int(record_id), at, who, action, body_sha256,
                                      prev_hash])).hexdigest()


# --- the head and its seal
class Head(NamedTuple):
    """The ledger's head as stored: the last record's ID and hash, and the seal (None: a head an older milsetctl
    wrote, before heads were sealed)."""

    record: int
    hash: str
    seal: str | None


def head_seal(key: bytes, record_id: int, digest: str) -> str:
    """HMAC-SHA256 (hex) under the workspace key of the head: the last record's ID and hash."""
    return hmac.new(key, _canonical([HEAD_VERSION, int(record_id), digest]), hashlib.sha256).hexdigest()


def head_value(record_id: int, digest: str, key: bytes) -> str:
    """The sealed head as `meta.audit_head` stores it: "ID HASH SEAL"."""
    return f"{int(record_id)} {digest} {head_seal(key, record_id, digest)}"


def parse_head(value: str | None) -> Head | None:
    """`meta.audit_head` read back; None when absent or not a head at all."""
    parts = (value or "").split()
    if len(parts) not in (2, 3) or not parts[0].isdigit():
        return None
    return Head(int(parts[0]), parts[1], parts[2] if len(parts) == 3 else None)


def seal_matches(key: bytes, head: Head) -> bool:
    return head.seal is not None and hmac.compare_digest(head_seal(key, head.record, head.hash), head.seal)


# --- the workspace key
def read_key(folder: Path) -> bytes | None:
    """The workspace key in `folder` (beside the ledger), or None when it is missing or unreadable."""
    try:
        key = bytes.fromhex((folder / KEY_FILE).read_text(encoding="ascii").strip())
    except (OSError, ValueError):
        return None
    return key or None


def make_key(folder: Path) -> bytes:
    """Create the workspace key (32 random bytes as hex, 0600) unless it exists; return it. A temporary of this
    process's own, then a hard link: two first users never mix keys."""
    path = folder / KEY_FILE
    if not path.exists():
        tmp = path.with_name(f".{KEY_FILE}.{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as fh:
            fh.write(secrets.token_hex(32) + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        try:
            os.link(tmp, path)  # fails if another process made the key first: theirs is kept
        except FileExistsError:
            pass
        except OSError:  # a drive without hard links (FAT, some shares)
            if not path.exists():
                os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)
    return bytes.fromhex(path.read_text(encoding="ascii").strip())
