"""The verification code: an HMAC-SHA256 of the certificate's canonical content under the workspace's random
key (`secret.key`, mode 0600; auditchain.py keeps it, the audit trail's head is sealed with it too), so the same
content always gets the same code and nobody without the key can make one `verify` accepts; and the seal a purged
certificate row keeps (`purge --personal-data`).

What the code signs is the content stored with it (`issued_certificates.content`): kind, recipient key, entry,
name, school, award, title, contest, and since issue 17 the contest year and the issue day printed on the
certificate. `verify` recomputes the code from that content and reports only what it holds; the ledger row's own
columns (kind, recipient, entry, issue time) are not signed, so a row that disagrees with the content is "not
genuine". A code printed before issue 17 signs no year or issue day: it still verifies, and says those were not
signed (nothing printed on paper is invalidated)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import unicodedata
from datetime import date, datetime, timedelta, tzinfo
from typing import Any
from urllib.parse import unquote_plus

from milsetctl.auditchain import KEY_FILE
from milsetctl.workspace import Workspace

SECRET_FILE = KEY_FILE
PURGED_NAME = "(name purged)"  # the recipient a purged certificate row keeps (privacy.py)
# the fields a reprint keeps from the first issue when the rest of the content is unchanged; issue_day_set: the
# issue day is the award day from the settings ([certificates] issue_date, issue 19), not the day it was printed
ISSUE_FIELDS = ("issued_on", "issue_day_set")
# what an older milsetctl's content lacks (issue 17 added them): such a code is kept, and says they are unsigned
SIGNED_SINCE_17 = ("year", "issued_on")
_CODE = re.compile(r"[A-Z2-7]{16}")
# what may stand between the groups as typed or copied: spaces, hyphens (also the typographic ones a PDF viewer or a
# word processor puts there), underscores, dots
_SEPARATORS = "\\s\\-_.\u2010-\u2015\u2212\u00b7"
# a code inside what a scanner reads (MILSET-CERT:XXXX-..., a URL): four groups of four, nothing glued on
_CODE_IN_TEXT = re.compile(rf"(?<![A-Za-z0-9])[A-Za-z0-9]{{4}}(?:[{_SEPARATORS}]?[A-Za-z0-9]{{4}}){{3}}(?![A-Za-z0-9])")
# the kinds given for an entry: revoked when the entry is withdrawn or disqualified after the certificate
ENTRY_KINDS = ("participation", "qualifier", "global", "gallery")


def workspace_secret(ws: Workspace) -> bytes:
    """The workspace's HMAC key, made on first use (never over a ledger sealed or signed with a key now lost:
    ledger.LedgerError)."""
    return ws.ledger.sealing_key()


def make_code(secret: bytes, content: dict[str, Any]) -> str:
    """HMAC-SHA256 of the canonical JSON of `content`, first 80 bits as 16 base32 characters (no dashes)."""
    msg = json.dumps(content, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode("utf-8")
    digest = hmac.new(secret, msg, hashlib.sha256).digest()
    return base64.b32encode(digest[:10]).decode("ascii")


def signed_content(core: dict[str, Any], issued_on: str, day_set: bool = False) -> dict[str, Any]:
    """What a new certificate's code signs: its content (Certificate.content(), the year included) and the issue
    day printed on it; `day_set`: that day is the award day the settings name, so the day it was printed may be
    any other (`verify` then does not expect the ledger's print time on it)."""
    return {**core, "issued_on": issued_on, **({"issue_day_set": True} if day_set else {})}


def same_certificate(stored: dict[str, Any], core: dict[str, Any]) -> bool:
    """Whether a certificate already issued (its stored content) says what `core` says: then its code (and its
    issue day) stay. Content from before issue 17 lacks the year: the rest must match."""
    if stored.get("purged"):
        return False
    kept = {k: v for k, v in stored.items() if k not in ISSUE_FIELDS}
    if not any(k in stored for k in SIGNED_SINCE_17):
        return kept == {k: v for k, v in core.items() if k not in SIGNED_SINCE_17}
    return kept == core


def format_code(code: str) -> str:
    """ABCD-EFGH-IJKL-MNOP: groups of four for reading aloud and typing."""
    return "-".join(code[i:i + 4] for i in range(0, len(code), 4))


def normalise_code(text: str) -> str:
    """A typed code without dashes/spaces, upper case; 0/1/8 read as the letters O/I/B base32 uses instead (the
    code's alphabet is A-Z and 2-7: no zero, one or eight to confuse with O, I or B). Full-width letters (a Chinese
    input method's ＡＢ２) count as the letters they are (NFKC)."""
    cleaned = re.sub(f"[{_SEPARATORS}]", "", unicodedata.normalize("NFKC", text)).upper()
    return cleaned.translate(str.maketrans("018", "OIB"))


def code_candidates(text: str) -> list[str]:
    """The codes `text` may hold (SPEC: the code as printed, typed, or what a scanner reads from the QR code: a
    prefix such as MILSET-CERT: or a URL around it, `verify_url#CODE` or `?code=CODE`, percent-encoded too), most
    likely first. verify.html's script reads a typed or linked code the same way."""
    found = []
    texts = [unicodedata.normalize("NFKC", text)]
    decoded = unquote_plus(texts[0])
    if decoded != texts[0]:
        texts.append(decoded)
    for each in texts:
        whole = normalise_code(each)
        if _CODE.fullmatch(whole) and whole not in found:
            found.append(whole)
    for each in texts:
        for match in _CODE_IN_TEXT.finditer(each):
            code = normalise_code(match.group())
            if _CODE.fullmatch(code) and code not in found:
                found.append(code)
    return found


def _day_agrees(issued_at: str, issued_on: str, tz: tzinfo | None) -> bool:
    """The ledger's issue time (UTC) falls on the signed issue day, in the contest's time zone, or the next (a
    batch printed across midnight records its rows after the day it printed)."""
    try:
        moment = datetime.fromisoformat(issued_at.replace("Z", "+00:00")).astimezone(tz).date()
        day = date.fromisoformat(issued_on)
    except (TypeError, ValueError):
        return False
    return day <= moment <= day + timedelta(days=1)


# the ledger row's own columns, and the content's key each must agree with (what `verify` names when one does not)
_ROW_FIELDS = (("kind", "kind", "kind"), ("recipient_key", "recipient", "recipient key"),
               ("recipient", "name", "recipient"), ("entry_id", "entry_id", "entry"))


def _signed_fields(code: str, row: Any, content: dict[str, Any], secret: bytes,
                   tz: tzinfo | None) -> dict[str, Any] | str:
    """What the code signs, from the stored content, when the code matches it and the ledger row agrees with it;
    else one line saying what disagrees (the fields, what the ledger says and what the code signs)."""
    name: Any
    if content.get("purged"):  # `purge --personal-data` kept the kind, entry and award (and year, day), sealed
        if not purged_certificate_genuine(secret, code, row):
            return ("this code was issued, but the ledger's record of it (purged of the name) was changed after the "
                    "purge: its kind, entry, award, year or issue day is not what was sealed")
        recipient, name = content.get("recipient"), PURGED_NAME
    elif hmac.compare_digest(make_code(secret, content), code):
        recipient, name = content.get("recipient"), content.get("name")
    else:
        return ("this code was issued, but the content the ledger stores with it is no longer what the code signs "
                "(changed outside milsetctl); the paper certificate may still be genuine: compare it with "
                "`milsetctl audit --kind certificate-issue`")
    signed = {"kind": content.get("kind"), "recipient": recipient, "name": name, "entry_id": content.get("entry_id")}
    differ = [f"{label} {row[col]!r}, the code signs {signed[key]!r}" for col, key, label in _ROW_FIELDS
              if row[col] != signed[key]]
    issued_on = content.get("issued_on")
    # the print time falls on the issue day unless the day is the award day from the settings (signed as such); a
    # purged row's seal vouches for its day, and the purge keeps no more of the content than the seal covers
    printed_that_day = not content.get("issue_day_set") and not content.get("purged")
    if issued_on is not None and printed_that_day and not _day_agrees(row["issued_at"], issued_on, tz):
        differ.append(f"issued at {row['issued_at']!r}, the code signs the issue day {issued_on!r}")
    if differ:
        return ("this code was issued, but the workspace's record of it was changed outside milsetctl: the ledger "
                f"says {'; the ledger says '.join(differ)}. The paper certificate may be genuine; the workspace's "
                "record of it is not what was issued")
    return {"kind": content.get("kind"), "recipient": name, "entry_id": content.get("entry_id"),
            "year": content.get("year") or None, "issued_at": issued_on, "award": content.get("award"),
            "title": content.get("title") or None, "contest": content.get("contest"),
            "unsigned": [shown for shown, key in (("year", "year"), ("issued_at", "issued_on")) if key not in content]}


def verify_code(ws: Workspace, text: str) -> dict[str, Any]:
    """SPEC: {"valid": true, "kind", "recipient", "entry_id", "issued_at"} for a genuine code (plus "year",
    "award", "title", "contest", "code", and "unsigned": what a code from before issue 17 does not sign), else
    {"valid": false} ("problem" says why when the code was issued but its row no longer matches what it signs).
    Genuine = recorded in this ledger AND its HMAC matches the recorded content AND the row agrees with that content
    AND no reprint replaced it; a replaced one gives {"valid": false, "superseded": {"by", "reason", "at", "kind",
    "recipient", "entry_id", "issued_at"}}. Every field reported comes from the signed content. Reads only: a
    workspace without its key verifies nothing."""
    found = None
    for code in code_candidates(text):
        row = ws.ledger.issued_certificate(code)
        if row is not None:
            found = (code, row)
            break
    if found is None:
        return {"valid": False}
    code, row = found
    secret = ws.ledger.key()
    if secret is None:
        return {"valid": False, "problem": ws.ledger.key_missing()}
    try:
        content = json.loads(row["content"])
    except ValueError:
        content = None
    signed = (_signed_fields(code, row, content, secret, ws.settings.tz) if isinstance(content, dict) else
              "this code was issued, but the content the ledger stores with it is unreadable (changed outside "
              "milsetctl); the paper certificate may still be genuine")
    if isinstance(signed, str):
        return {"valid": False, "problem": signed}
    replaced = ws.ledger.certificate_superseded(code)
    if replaced is not None:  # genuinely issued once, but a reprint with changed content replaced it
        return {"valid": False, "superseded": {
            "by": format_code(replaced["by_code"]), "reason": replaced["reason"], "at": replaced["at"],
            **{k: signed[k] for k in ("kind", "recipient", "entry_id", "issued_at")}}}
    why = revoked_reason(ws, signed["kind"], signed["entry_id"])
    if why is not None:  # genuinely issued, but what it certifies no longer holds
        return {"valid": False, "revoked": {"reason": why, **{k: signed[k] for k in (
            "kind", "recipient", "entry_id", "issued_at", "award")}}}
    return {"valid": True, **signed, "code": format_code(code)}


def revoked_reason(ws: Workspace, kind: Any, entry_id: Any) -> str | None:
    """Why a genuine certificate no longer stands, or None: an entry's certificate is revoked when the entry was
    withdrawn (gone from the submissions) or disqualified (rejected, by a rule or a decision) after it was printed.
    A juror's or a member's certificate stays: what it thanks for happened."""
    if kind not in ENTRY_KINDS or not entry_id:
        return None
    entry = ws.ledger.entry(str(entry_id))
    if entry is None or not entry["present"]:
        return "the entry was withdrawn from the contest"
    if entry["status"] == "rejected":
        return "the entry was disqualified after the certificate was issued"
    return None


def purged_seal(secret: bytes, code: str, kind: str, recipient_key: str, entry_id: str | None,
                award: str | None, year: str | None = None, issued_on: str | None = None) -> str:
    """HMAC-SHA256 (hex) under the workspace secret of what a purged certificate row keeps: a row edited after the
    purge (another kind, entry, award, year or day) no longer verifies, and nobody without the secret can add one.
    `year` and `issued_on` are sealed when the certificate signed them (issue 17)."""
    kept: dict[str, Any] = {"purged": True, "code": code, "kind": kind, "recipient": recipient_key,
                            "entry_id": entry_id, "award": award}
    kept |= {k: v for k, v in (("year", year), ("issued_on", issued_on)) if v is not None}
    msg = json.dumps(kept, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode("utf-8")
    return hmac.new(secret, msg, hashlib.sha256).hexdigest()


def purged_certificate_genuine(secret: bytes, code: str, row: Any) -> bool:
    """Whether a certificate row the purge stripped of its name is still the one issued (its seal matches)."""
    content = json.loads(row["content"])
    seal = purged_seal(secret, code, content.get("kind"), content.get("recipient"), content.get("entry_id"),
                       content.get("award"), content.get("year"), content.get("issued_on"))
    return bool(content.get("purged")) and hmac.compare_digest(seal, str(content.get("seal", "")))
