"""Who gets a result notice and what it says, read from the ledger: one notice per contestant, about the entry the
contest judged (or would have judged) for them, with the reasons an entry was left out, the award and its
certificate codes, and what comes next.

A contestant is a contestant ID (else, for a manifest row without one, the row itself: its author still learns
why it was not judged). A file no manifest row names has nobody to tell. An entry still waiting for a decision has
no result yet: its contestant is held back (`Held`), never told a result that may change."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from milsetctl.models import Finding, Severity
from milsetctl.notices.wording import WITHDRAWN, Reason, decision_reason, rule_reason
from milsetctl.workspace import Workspace

CERTIFICATE_KINDS = ("participation", "qualifier", "global", "gallery")
# which certificate kind an award is printed on
AWARD_CERTIFICATE = {"qualifier": "qualifier", "global-1": "global", "global-2": "global", "global-3": "global",
                     "gallery": "gallery"}


@dataclass(frozen=True)
class CertificateRef:
    """A certificate the contestant holds: its kind, the award as printed (English), the code, the PDF."""

    kind: str
    printed: str
    code: str
    file: Path | None


@dataclass(frozen=True)
class OtherEntry:
    """Another photo the same contestant sent, and why it was not the one judged."""

    entry_id: str
    title: str
    reasons: tuple[Reason, ...]


@dataclass
class Notice:
    """One contestant's result. `status`: eligible | rejected | withdrawn (SPEC's JSON); `award`: qualifier,
    global-1..3, gallery or None. `nominated`/`in_gallery`: None when the contest has not decided yet."""

    key: str  # the contestant (ID, or "entry:E0036" for a row without one): the sent log's recipient
    contestant_id: str | None
    entry_id: str
    name: str
    email: str
    school: str
    title: str
    category: str | None
    status: str
    award: str | None
    stage: str
    reasons: list[Reason] = field(default_factory=list)
    others: list[OtherEntry] = field(default_factory=list)
    certificates: list[CertificateRef] = field(default_factory=list)
    nominated: bool | None = None
    in_gallery: bool = False
    file: Path | None = None
    eml: Path | None = None

    @property
    def outcome(self) -> str:
        """Which letter this is: withdrawn, rejected, judged (no award), or the award."""
        if self.status in ("withdrawn", "rejected"):
            return self.status
        return self.award or "judged"

    @property
    def certificate_due(self) -> bool:
        """An award whose certificate is not printed yet (the letter says it will follow)."""
        kind = AWARD_CERTIFICATE.get(self.award or "")
        return kind is not None and not any(c.kind == kind for c in self.certificates)

    def digest(self) -> str:
        """What the notice says, as a short hash: the same facts give the same digest (a PDF is not drawn again,
        and the sent log knows a notice that changed after it was sent)."""
        facts = {k: v for k, v in asdict(self).items() if k not in ("file", "eml")}
        for cert in facts["certificates"]:
            cert.pop("file", None)
        text = json.dumps(facts, ensure_ascii=False, sort_keys=True, default=str)
        return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]

    def as_json(self) -> dict[str, Any]:
        """SPEC: {"contestant_id", "entry_id", "status", "award", "file", "eml"}."""
        return {"contestant_id": self.contestant_id, "entry_id": self.entry_id, "status": self.status,
                "award": self.award, "file": str(self.file) if self.file else None,
                "eml": str(self.eml) if self.eml else None}


@dataclass(frozen=True)
class Held:
    """A contestant with no notice yet, and why."""

    key: str
    entry_id: str
    why: str


# the order in which a contestant's entries are considered: the one judged first, then the others
_STANDING = {"eligible": 1, "review": 2, "rejected": 3}


def _reasons(entry_id: str, status: str, findings: dict[str, list[Finding]], decision: dict[str, str] | None,
             settings: Any) -> list[Reason]:
    """Why an entry was not judged: the organisers' decision first (with their words), then what the checks found
    (a decision to leave out weighs what was flagged for review too); without a decision, what the rules refuse."""
    if status == "withdrawn":
        return [WITHDRAWN]
    if status != "rejected":
        return []
    found = findings.get(entry_id, [])
    out: list[Reason] = []
    if decision is not None and decision.get("decision") == "reject":
        out.append(decision_reason(decision.get("reason")))
        chosen = [f for f in found if f.severity in (Severity.REJECT, Severity.REVIEW)]
    else:
        chosen = [f for f in found if f.severity == Severity.REJECT]
    seen: set[str] = set()
    for f in chosen:
        if f.rule not in seen:
            seen.add(f.rule)
            out.append(rule_reason(f.rule, settings))
    return out or [rule_reason("", settings)]


def _status(row: Any) -> str:
    if not row["present"]:
        return "withdrawn"
    return str(row["status"] or "review")


def _stage_entries(ws: Workspace, stage: str) -> set[str] | None:
    """The entries a stage's last run named (the nomination, the gallery), or None when it never ran."""
    record = ws.ledger.stage_runs().get(stage)
    if record is None:
        return None
    try:
        detail = json.loads(record["detail"] or "{}")
    except ValueError:
        return None
    entries = detail.get("entries")
    return set(entries) if isinstance(entries, list) else None


def _certificates(ws: Workspace) -> dict[str, list[CertificateRef]]:
    """entry -> the current (not superseded) certificates printed for it."""
    from milsetctl.certificates.codes import format_code

    out: dict[str, list[CertificateRef]] = {}
    for kind in CERTIFICATE_KINDS:
        for row in ws.ledger.issued_certificates(kind).values():
            if not row["entry_id"]:
                continue
            try:
                printed = str(json.loads(row["content"]).get("award") or "")
            except ValueError:
                printed = ""
            stored = row["file"]
            path = None
            if stored:
                path = Path(stored) if Path(stored).is_absolute() else ws.root / stored
            out.setdefault(row["entry_id"], []).append(CertificateRef(kind, printed, format_code(row["code"]), path))
    return out


def gather(ws: Workspace) -> tuple[list[Notice], list[Held]]:
    """Every contestant's notice (in entry order), and the contestants held back (an entry waiting for a decision,
    or never checked)."""
    settings = ws.settings
    rows = ws.ledger.entries(present_only=False)
    findings = ws.ledger.current_findings()
    decisions = ws.ledger.latest_decisions()
    awards = {r["entry_id"]: r["award"] for r in ws.ledger.awards() if r["award"]}
    certificates = _certificates(ws)
    nominated = _stage_entries(ws, "nominate") if settings.stage == "national" else None
    gallery = _stage_entries(ws, "gallery") or set()

    people: dict[str, list[Any]] = {}
    for row in rows:
        cid = (row["contestant_id"] or "").strip()
        if cid:
            key = cid
        elif row["listed"] and (row["name"] or row["email"]):  # a manifest row without an ID: its author
            key = f"entry:{row['entry_id']}"
        else:
            continue  # a file nobody listed: nobody to tell
        people.setdefault(key, []).append(row)

    notices: list[Notice] = []
    held: list[Held] = []
    for key, entries in people.items():
        present = [r for r in entries if r["present"]]

        ordered = sorted(present or entries, key=lambda r: r["entry_id"])
        ordered.sort(key=lambda r: r["submitted_at"] or "", reverse=True)  # the latest first, as the rule keeps it
        ordered.sort(key=lambda r: 0 if r["entry_id"] in awards else _STANDING.get(_status(r), 2))
        main = ordered[0]
        status = _status(main)
        if status not in ("eligible", "rejected", "withdrawn"):
            held.append(Held(key, main["entry_id"], "waits for a decision (milsetctl decide)" if status == "review"
                             else "not checked yet (milsetctl validate)"))
            continue
        entry_id = main["entry_id"]
        others = [OtherEntry(r["entry_id"], r["title"] or "",
                             tuple(_reasons(r["entry_id"], _status(r), findings, decisions.get(r["entry_id"]),
                                            settings)))
                  for r in ordered[1:] if r["present"]]
        award = awards.get(entry_id) if status == "eligible" else None
        notices.append(Notice(
            key=key, contestant_id=(main["contestant_id"] or "").strip() or None, entry_id=entry_id,
            name=(main["name"] or "").strip(), email=(main["email"] or "").strip(),
            school=(main["school"] or "").strip(),
            title=(main["title"] or "").strip(), category=main["category"], status=status, award=award,
            stage=settings.stage,
            reasons=_reasons(entry_id, status, findings, decisions.get(entry_id), settings),
            others=others,
            certificates=certificates.get(entry_id, []) if status == "eligible" else [],
            nominated=(entry_id in nominated) if nominated is not None and award == "qualifier" else None,
            in_gallery=entry_id in gallery))
    notices.sort(key=lambda n: n.entry_id)
    return notices, held
