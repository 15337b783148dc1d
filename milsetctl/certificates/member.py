"""Member certificates (`milsetctl certificates member`): one for each organisation in good standing.

Good standing is judged on the contest deadline day ([contest] deadline), the day that makes the workspace's
year: an organisation whose fee is paid until then gets "Member in Good Standing <year>". The certificate names
the organisation and its country; it has no photo and no title.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from milsetctl.certificates.frame import batch_frame
from milsetctl.certificates.model import Certificate, CertificateError, long_date, signature_titles
from milsetctl.members.config import contest_day, grace_days
from milsetctl.members.roster import member_rows
from milsetctl.members.status import GOOD, standing


def member_certificates(ws: Any) -> list[Certificate]:
    """`Certificate`s (kind "member", key = member ID) for the roster's organisations in good standing on the
    contest deadline day, in member ID order. Raises CertificateError (exit 1) when no roster was imported."""
    members = member_rows(ws)
    if not members:
        raise CertificateError("no member roster yet: import one with `milsetctl members import ROSTER.csv`", 1)
    day = contest_day(ws.settings)
    grace = grace_days(ws.settings)
    year = str(day.year)
    signatures = tuple(signature_titles(ws, "member_signatures"))  # MILSET issues these: no jury signs them
    frame = batch_frame(ws, member=True)
    out = []
    for m in members:
        paid = date.fromisoformat(m["fee_paid_until"]) if m["fee_paid_until"] else None
        if standing(paid, day, grace)[0] != GOOD:
            continue
        out.append(Certificate(kind="member", key=m["member_id"], name=m["organisation"], school=m["country"] or "",
                               award=f"Member in Good Standing {year}", title="", contest="MILSET", year="",
                               entry_id=None, photo=None, sha256=None, signatures=signatures,
                               period=member_period(m["member_since"], paid), frame=frame))
    return out


def member_period(since: str | None, paid_until: date | None) -> str:
    """The period the certificate covers, in words: "Member since 2015 · in good standing until 31 December
    2022" (the roster's member_since may be a year alone or a date; either part is left out when unknown)."""
    parts = []
    since = (since or "").strip()
    if since:
        try:
            parts.append(f"Member since {long_date(date.fromisoformat(since))}")
        except ValueError:
            parts.append(f"Member since {since}")
    if paid_until is not None:
        parts.append(("in good standing" if parts else "In good standing") + f" until {long_date(paid_until)}")
    return " · ".join(parts)
