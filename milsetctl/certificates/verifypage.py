"""verify.html: a static page a parent opens from the certificate's QR code to see that it is genuine (issue 19).

No server, and nothing on the page to list: the page holds, per certificate issued, only
- an ID: SHA-256 of the contest's salt and the normalised code (16 bytes, hex), and
- what the certificate says (kind, award, the recipient's name as the publication setting allows, contest year,
  issue day, status), encrypted with AES-256-GCM under a key derived from the code (HKDF-SHA256, the same salt).
The browser normalises the typed or linked code (`verify_url#CODE`, `?code=`) the way `milsetctl verify` does,
hashes it with SubtleCrypto, looks the ID up and decrypts the record with the code. Without a code the page is a
list of random-looking IDs: the codes are 80-bit HMACs under the workspace key, so none can be guessed or found
from the page, and a name can be read only by someone holding its certificate's code. It works from file:// and
from any static https host (SubtleCrypto needs a secure context: file://, https:// or localhost).

What a record says comes from `verify_code` (only what the code signs; a row changed outside milsetctl is left
off the page), with the status: valid, superseded (a corrected reprint replaced it) or revoked (the entry was
withdrawn or disqualified after the certificate). Names in public ([gallery] names): "initials" (default; the first
name and the family name's initial: minors are most contestants), "first-name" or "full"; a juror's and a member
organisation's name in full. An entry whose manifest row says no to publication (`publication_consent`) is left
off the page and counted. The page is a snapshot: it says when it was made, and `milsetctl gallery` makes it again.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from milsetctl import publication
from milsetctl.certificates.codes import ENTRY_KINDS, PURGED_NAME, format_code, verify_code
from milsetctl.certificates.model import CertificateError, long_date
from milsetctl.fsutil import write_text_atomic
from milsetctl.resources import templates_dir
from milsetctl.workspace import Workspace

PAGE = "verify.html"
TEMPLATE = "certificate-verify.html"
VERSION = 1
# HKDF's info string: the page's script passes the same bytes
KDF_INFO = b"milsetctl verify.html v1"
ID_BYTES = 16


@dataclass
class VerifyPage:
    """What `write_verify_page` wrote: the page, how many certificates it lists, and what it left off."""

    path: Path
    listed: int = 0
    valid: int = 0
    superseded: int = 0
    revoked: int = 0
    no_consent: list[str] = field(default_factory=list)  # entry IDs whose manifest row says no to publication
    not_genuine: int = 0  # ledger rows that no longer match what their code signs: never published

    def as_json(self) -> dict[str, Any]:
        return {"page": str(self.path), "listed": self.listed, "valid": self.valid, "superseded": self.superseded,
                "revoked": self.revoked, "left_out_no_consent": self.no_consent,
                "left_out_not_genuine": self.not_genuine}


# --- names in public: milsetctl/publication.py decides for every public page
def name_mode(ws: Workspace) -> str:
    """[gallery] names: how a contestant's name appears in public (the gallery, verify.html)."""
    return publication.name_mode(ws.settings)


def public_name(name: str, mode: str = publication.DEFAULT_NAME_MODE) -> str:
    """A contestant's name as the page shows it (`publication.published_name`: "Maria G.", "张*" by default)."""
    return name if name == PURGED_NAME else publication.published_name(name, mode)


def publication_refused(extra: Any) -> bool:
    """Whether an entry's manifest row withholds consent to publication (`publication.may_publish`): such an entry
    is left off every public page. A manifest without the column refuses nothing."""
    return not publication.may_publish(extra)


# --- the records
def _salt(secret: bytes) -> bytes:
    """The contest's salt: fixed per workspace (derived from its key), so the page is the same file each time it
    is made from the same ledger, and IDs from one contest's page say nothing about another's."""
    return hmac.new(secret, b"milsetctl verify.html salt", hashlib.sha256).digest()[:16]


def record_id(salt: bytes, code: str) -> str:
    """The lookup ID of a code (16 characters, base32, no dashes): SHA-256 of salt + code, first 16 bytes, hex."""
    return hashlib.sha256(salt + code.encode("ascii")).digest()[:ID_BYTES].hex()


def record_key(salt: bytes, code: str) -> bytes:
    """The AES-256 key that opens a code's record: HKDF-SHA256 of the code under the salt (the page's script
    derives it with SubtleCrypto's HKDF)."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    return HKDF(algorithm=hashes.SHA256(), length=32, salt=salt, info=KDF_INFO).derive(code.encode("ascii"))


def seal(secret: bytes, salt: bytes, code: str, record: dict[str, Any]) -> str:
    """`record` as JSON, AES-256-GCM under the code's key: "IV.CIPHERTEXT" in base64. The 12-byte IV is an HMAC of
    the code and the record under the workspace key: the same record gives the same bytes (the page is
    reproducible) and a changed one (a status changed) another IV, never one IV for two texts under one key."""
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    plain = json.dumps(record, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode("utf-8")
    iv = hmac.new(secret, b"iv\0" + code.encode("ascii") + b"\0" + plain, hashlib.sha256).digest()[:12]
    sealed = AESGCM(record_key(salt, code)).encrypt(iv, plain, None)
    return base64.b64encode(iv).decode("ascii") + "." + base64.b64encode(sealed).decode("ascii")


def open_record(salt: bytes, code: str, sealed: str) -> dict[str, Any]:
    """The record `seal` made, opened with the code (what the page's script does; tests use it)."""
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    iv, data = (base64.b64decode(part) for part in sealed.split("."))
    return dict(json.loads(AESGCM(record_key(salt, code)).decrypt(iv, data, None)))


def _day(value: Any, ws: Workspace) -> str:
    """An ISO day or time as the page prints it (20 August 2022; a time in the contest's time zone)."""
    if not value:
        return ""
    text = str(value)
    try:
        if len(text) > 10:
            return long_date(datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(ws.settings.tz).date())
        return long_date(date.fromisoformat(text))
    except ValueError:
        return text


def _record(ws: Workspace, row: Any, answer: dict[str, Any], mode: str) -> dict[str, Any] | None:
    """What the page shows for one certificate (from `verify_code`'s answer), or None for one not genuine."""
    if answer.get("valid"):
        status, facts, note = "valid", answer, ""
    elif answer.get("superseded"):
        facts = answer["superseded"]
        status, note = "superseded", f"Replaced by a corrected certificate on {_day(facts.get('at'), ws)}."
    elif answer.get("revoked"):
        facts = answer["revoked"]
        status, note = "revoked", f"Revoked: {facts.get('reason')}."
    else:
        return None
    content = json.loads(row["content"])
    kind = str(facts.get("kind") or "")
    name = str(facts.get("recipient") or "")
    shown = "(name withheld)" if name == PURGED_NAME else public_name(name, mode) if kind in ENTRY_KINDS else name
    award = str(content.get("award") or "")
    return {"v": VERSION, "status": status, "note": note, "kind": kind, "award": award, "name": shown,
            "contest": str(content.get("contest") or ""), "year": str(content.get("year") or ""),
            "issued": _day(content.get("issued_on"), ws), "code": format_code(row["code"])}


def page_data(ws: Workspace) -> tuple[dict[str, Any], VerifyPage]:
    """The data the page embeds ({"v", "salt", "info", "records": {ID: sealed}}, records sorted by ID: their
    order says nothing about who or when) and the counts."""
    secret = ws.ledger.key()
    if secret is None:
        raise CertificateError(f"verify page: {ws.ledger.key_missing()}", 1)
    salt = _salt(secret)
    mode = name_mode(ws)
    made = VerifyPage(path=Path(PAGE))
    records: dict[str, str] = {}
    entries: dict[str, Any] = {}
    for row in ws.ledger.certificate_rows():
        entry_id = row["entry_id"]
        if entry_id:
            if entry_id not in entries:
                entries[entry_id] = ws.ledger.entry(entry_id)
            entry = entries[entry_id]
            if entry is not None and publication_refused(entry["extra"]):
                if entry_id not in made.no_consent:
                    made.no_consent.append(entry_id)
                continue
        record = _record(ws, row, verify_code(ws, row["code"]), mode)
        if record is None:
            made.not_genuine += 1
            continue
        records[record_id(salt, row["code"])] = seal(secret, salt, row["code"], record)
        setattr(made, record["status"], getattr(made, record["status"]) + 1)
    made.listed = len(records)
    data = {"v": VERSION, "salt": base64.b64encode(salt).decode("ascii"), "info": KDF_INFO.decode("ascii"),
            "records": dict(sorted(records.items()))}
    return data, made


def render_page(ws: Workspace, data: dict[str, Any], made_on: str) -> str:
    """The page's HTML (Jinja2 with autoescape; the data as JSON inside a script element, `<` escaped)."""
    from jinja2 import Environment, FileSystemLoader, StrictUndefined

    env = Environment(loader=FileSystemLoader(str(templates_dir())), autoescape=True, undefined=StrictUndefined)
    payload = json.dumps(data, ensure_ascii=True, separators=(",", ":")).replace("<", "\\u003c")
    return str(env.get_template(TEMPLATE).render(contest=ws.settings.name, data=payload, made_on=made_on,
                                                 count=len(data["records"])))


def write_verify_page(ws: Workspace, folder: Path) -> VerifyPage:
    """Write `folder`/verify.html from every certificate in the ledger; returns what it lists. Raises
    CertificateError when the workspace key is missing (no code can be checked without it)."""
    data, made = page_data(ws)
    made_on = long_date(datetime.now(ws.settings.tz).date())
    made.path = folder / PAGE
    folder.mkdir(parents=True, exist_ok=True)
    write_text_atomic(made.path, render_page(ws, data, made_on))
    return made
