"""Who gets a certificate of each kind, from the ledger: eligible entries, award holders, active jurors, and (through
member.py) the member organisations in good standing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from milsetctl.certificates.frame import batch_frame
from milsetctl.certificates.model import (
    AWARD_WORDING,
    CATEGORY_LINE,
    CATEGORY_WORDING,
    KINDS,
    Certificate,
    CertificateError,
    signature_titles,
)
from milsetctl.workspace import Workspace


def _year(ws: Workspace) -> str:
    return str(ws.settings.deadline_end.year)


def recipients(ws: Workspace, kind: str) -> list[Certificate]:
    """Who gets a certificate of this kind, from the ledger (entries, awards, jurors).

    Raises CertificateError for an unknown kind (exit 2) and for `member` (no roster yet)."""
    if kind not in KINDS:
        raise CertificateError(f"unknown certificate kind {kind!r}: one of {', '.join(KINDS)}", 2)
    if kind == "member":  # each organisation in good standing on the contest deadline day (milsetctl.members)
        from milsetctl.certificates.member import member_certificates  # here: the roster reader loads openpyxl

        return member_certificates(ws)
    contest, year = ws.settings.name, _year(ws)
    source = Path(ws.settings.source) if ws.settings.source else None
    signatures, stage = tuple(signature_titles(ws, "signatures")), ws.settings.stage
    frame = batch_frame(ws)

    def from_entry(row: Any, award_key: str, rank: int | None = None) -> Certificate:
        photo = source / row["file"] if source and row["file"] else None
        award = AWARD_WORDING[award_key]
        if award_key == "qualifier" and row["category"] in CATEGORY_WORDING:  # awarded within its category
            award = f"{award} · {CATEGORY_WORDING[row['category']]}"
        return Certificate(kind=kind, key=row["entry_id"], entry_id=row["entry_id"], name=row["name"] or "",
                           school=row["school"] or "", award=award, title=row["title"] or "",
                           contest=contest, year=year, photo=photo, sha256=row["sha256"], signatures=signatures,
                           stage=stage, category=CATEGORY_LINE.get(row["category"] or "", ""),
                           rank=rank if award_key == "gallery" else None, frame=frame)

    if kind == "juror":
        return [Certificate(kind=kind, key=j["juror_id"], name=j["name"], school=j["affiliation"] or j["school"] or "",
                            award=AWARD_WORDING["juror"], title="", contest=contest, year=year,
                            signatures=signatures, stage=stage, frame=frame)
                for j in ws.ledger.jurors(active_only=True)]
    entries = {r["entry_id"]: r for r in ws.ledger.entries()}
    if kind == "participation":
        return [from_entry(r, "participation") for r in entries.values() if r["status"] == "eligible"]
    wanted = {"qualifier": ("qualifier",), "global": ("global-1", "global-2", "global-3"), "gallery": ("gallery",)}
    out = []
    for a in ws.ledger.awards():
        if a["award"] in wanted[kind] and a["entry_id"] in entries:
            out.append(from_entry(entries[a["entry_id"]], a["award"], a["rank"]))
    return out
