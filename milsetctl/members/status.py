"""Where each member organisation stands with its dues on a given day.

The rule (issue 9): an organisation is in good standing up to and including its `fee paid until` day; from the
day after it is overdue, for [members] grace_days days; after those it has lapsed. Days are calendar days in the
contest time zone; "on" defaults to today there.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from milsetctl.members.config import grace_days
from milsetctl.members.roster import member_rows
from milsetctl.workspace import Workspace

GOOD, OVERDUE, LAPSED = "good-standing", "overdue", "lapsed"
WORDS = {GOOD: "in good standing", OVERDUE: "overdue", LAPSED: "lapsed"}


def standing(paid_until: date | None, on: date, grace: int) -> tuple[str, int | None]:
    """(state, days): GOOD with the days left (0 on the deadline day itself), OVERDUE with the days past the
    deadline (1 the day after it, up to `grace`), LAPSED with the days past it; LAPSED with None when no fee
    was ever recorded."""
    if paid_until is None:
        return LAPSED, None
    if on <= paid_until:
        return GOOD, (paid_until - on).days
    late = (on - paid_until).days
    return (OVERDUE if late <= grace else LAPSED), late


@dataclass
class MemberStanding:
    member_id: str
    organisation: str
    country: str | None
    region: str | None
    fee_paid_until: str | None
    state: str
    days: int | None  # days left (good standing) or days past the deadline (overdue, lapsed)

    def as_json(self) -> dict[str, Any]:
        return {"member_id": self.member_id, "organisation": self.organisation, "country": self.country,
                "region": self.region, "fee_paid_until": self.fee_paid_until, "status": self.state,
                "days_left": self.days if self.state == GOOD else None,
                "days_overdue": self.days if self.state != GOOD else None}

    @property
    def words(self) -> str:
        if self.state == GOOD:
            return WORDS[GOOD]
        if self.days is None:
            return "lapsed (no fee recorded)"
        return f"{WORDS[self.state]} {self.days} day{'s' if self.days != 1 else ''}"


@dataclass
class StatusResult:
    on: date
    grace_days: int
    members: list[MemberStanding] = field(default_factory=list)

    def count(self, state: str) -> int:
        return sum(1 for m in self.members if m.state == state)

    def as_json(self) -> dict[str, Any]:
        return {"on": self.on.isoformat(), "grace_days": self.grace_days,
                "members": [m.as_json() for m in self.members],
                "summary": {s: self.count(s) for s in (GOOD, OVERDUE, LAPSED)}}


def today(ws: Workspace) -> date:
    """Today in the contest time zone."""
    return datetime.now(ws.settings.tz).date()


def member_status(ws: Workspace, on: date | None = None) -> StatusResult:
    """Every member's standing on `on` (default: today in the contest time zone), in member ID order."""
    day = on or today(ws)
    grace = grace_days(ws.settings)
    result = StatusResult(day, grace)
    for m in member_rows(ws):
        paid = date.fromisoformat(m["fee_paid_until"]) if m["fee_paid_until"] else None
        state, days = standing(paid, day, grace)
        result.members.append(MemberStanding(m["member_id"], m["organisation"], m["country"], m["region"],
                                             m["fee_paid_until"], state, days))
    return result
