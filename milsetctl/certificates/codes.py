"""The verification code: an HMAC-SHA256 of the certificate's canonical content under the workspace's random
secret (`secret.key`, mode 0600), so the same content always gets the same code and nobody without the secret can
make one `verify` accepts; and the seal a purged certificate row keeps (`purge --personal-data`)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import re
import secrets
from typing import Any

from milsetctl.workspace import Workspace

SECRET_FILE = "secret.key"


def workspace_secret(ws: Workspace) -> bytes:
    """The workspace's HMAC key: 32 random bytes in `secret.key` (0600), made on first use."""
    path = ws.root / SECRET_FILE
    if not path.exists():  # a temporary of this process's own, then a link: two first users never mix keys
        tmp = path.with_name(f".{SECRET_FILE}.{os.getpid()}.tmp")
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


def make_code(secret: bytes, content: dict[str, Any]) -> str:
    """HMAC-SHA256 of the canonical JSON of `content`, first 80 bits as 16 base32 characters (no dashes)."""
    msg = json.dumps(content, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode("utf-8")
    digest = hmac.new(secret, msg, hashlib.sha256).digest()
    return base64.b32encode(digest[:10]).decode("ascii")


def format_code(code: str) -> str:
    """ABCD-EFGH-IJKL-MNOP: groups of four for reading aloud and typing."""
    return "-".join(code[i:i + 4] for i in range(0, len(code), 4))


def normalise_code(text: str) -> str:
    """A typed code without dashes/spaces, upper case; 0/1/8 read as the letters O/I/B base32 uses instead."""
    cleaned = re.sub(r"[\s\-_.]", "", text).upper()
    return cleaned.translate(str.maketrans("018", "OIB"))


def verify_code(ws: Workspace, text: str) -> dict[str, Any]:
    """SPEC: {"valid": true, "kind", "recipient", "entry_id", "issued_at"} for a genuine code, else
    {"valid": false}. Genuine = recorded in this ledger AND its HMAC matches the recorded content AND no reprint
    replaced it; a replaced one gives {"valid": false, "superseded": {"by", "reason", "at", "kind", "recipient",
    "entry_id", "issued_at"}}."""
    code = normalise_code(text)
    row = ws.ledger.issued_certificate(code) if re.fullmatch(r"[A-Z2-7]{16}", code) else None
    if row is None:
        return {"valid": False}
    content = json.loads(row["content"])
    if content.get("purged"):  # `purge --personal-data` kept the code, kind, entry and award, sealed; not the name
        if not purged_certificate_genuine(workspace_secret(ws), code, row):
            return {"valid": False}
    elif not hmac.compare_digest(make_code(workspace_secret(ws), content), code):
        return {"valid": False}
    replaced = ws.ledger.certificate_superseded(code)
    if replaced is not None:  # genuinely issued once, but a reprint with changed content replaced it
        return {"valid": False, "superseded": {
            "by": format_code(replaced["by_code"]), "reason": replaced["reason"], "at": replaced["at"],
            "kind": row["kind"], "recipient": row["recipient"], "entry_id": row["entry_id"],
            "issued_at": row["issued_at"]}}
    return {"valid": True, "kind": row["kind"], "recipient": row["recipient"], "entry_id": row["entry_id"],
            "issued_at": row["issued_at"], "award": content.get("award"), "title": content.get("title"),
            "code": format_code(code)}


def purged_seal(secret: bytes, code: str, kind: str, recipient_key: str, entry_id: str | None,
                award: str | None) -> str:
    """HMAC-SHA256 (hex) under the workspace secret of what a purged certificate row keeps: a row edited after the
    purge (another kind, entry or award) no longer verifies, and nobody without the secret can add one."""
    msg = json.dumps({"purged": True, "code": code, "kind": kind, "recipient": recipient_key, "entry_id": entry_id,
                      "award": award}, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode("utf-8")
    return hmac.new(secret, msg, hashlib.sha256).hexdigest()


def purged_certificate_genuine(secret: bytes, code: str, row: Any) -> bool:
    """Whether a certificate row the purge stripped of its name is still the one issued (its seal matches)."""
    content = json.loads(row["content"])
    seal = purged_seal(secret, code, row["kind"], row["recipient_key"], row["entry_id"], content.get("award"))
    return bool(content.get("purged")) and hmac.compare_digest(seal, str(content.get("seal", "")))
