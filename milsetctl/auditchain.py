"""How one audit record is hashed into the chain: the part of the trail both the ledger (which appends records)
and audit.py (which verifies them) compute, so it sits below both.

Every record's `hash` is SHA-256 over a canonical serialisation (compact JSON, UTF-8) of
`["milsetctl-audit-1", id, at, who, action, body_sha256, prev_hash]`, where `prev_hash` is the previous record's
hash (64 zeros for the first) and `body_sha256` is SHA-256 over the canonical JSON of `{"command", "detail"}`.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

GENESIS = "0" * 64
CHAIN_VERSION = "milsetctl-audit-1"
# the record that starts the chain over an older ledger's unchained records (ledger.py writes it once)
CHAIN_START_ACTION = "audit-chain-start"


def _canonical(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode("utf-8")


def body_digest(command: str | None, detail: str | None) -> str:
    """SHA-256 (hex) of a record's free text: the command line and the detail (JSON text)."""
    return hashlib.sha256(_canonical({"command": command, "detail": detail})).hexdigest()


def record_hash(record_id: int, at: str, who: str, action: str, body_sha256: str, prev_hash: str) -> str:
    """The chain hash of one record (SHA-256 hex), from its fields and the previous record's hash."""
    return hashlib.sha256(_canonical([CHAIN_VERSION, int(record_id), at, who, action, body_sha256,
                                      prev_hash])).hexdigest()
