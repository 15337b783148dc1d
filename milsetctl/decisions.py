"""The coordinator's decisions and the contest's standing, read from and written to the ledger."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from milsetctl import stages
from milsetctl.ledger import Ledger
from milsetctl.models import TOP_REASONS, Finding, count_reasons, entry_status
from milsetctl.timefmt import contest_time, machine_time
from milsetctl.workspace import Workspace


class DecisionError(ValueError):
    pass


# findings that mean there is no photo a juror could be shown: an accept cannot cure them
NO_PHOTO_RULES = frozenset({"missing-file", "unreadable"})


@dataclass
class DecisionOutcome:
    entry_id: str
    who: str
    old_status: str
    new_status: str
    findings: list[Finding]


def record_decision(ledger: Ledger, entry_id: str, decision: str, reason: str,
                    who: str | None = None) -> DecisionOutcome:
    """Settle an entry. The findings stay on record; the decision overrides the status they imply."""
    entry_id = entry_id.strip().upper()
    row = ledger.entry(entry_id)
    if row is None:
        raise DecisionError(f"no entry {entry_id} in this workspace; `milsetctl validate` lists the entry IDs")
    if decision not in ("accept", "reject"):
        raise DecisionError("decision must be accept or reject")
    if not reason.strip():
        raise DecisionError("give a reason (--reason): it is kept with who and when")
    if decision == "accept" and (not row["contestant_id"] or not row["category"]):
        missing = "no contestant (no manifest row names it)" if not row["contestant_id"] else \
            "no category (its grade is missing or outside the contest's grades)"
        fix = "Add a row for its file to the manifest" if not row["contestant_id"] else "Fix its manifest row"
        raise DecisionError(f"{entry_id} has {missing}: it cannot go to the jury, which ranks entries per category "
                            f"and awards them to a contestant. {fix} and run validate again.")
    findings = ledger.findings_for(entry_id)
    unusable = [f for f in findings if f.rule in NO_PHOTO_RULES]
    if decision == "accept" and (unusable or not row["present"]):
        why = unusable[0].message if unusable else "it is gone from the submissions"
        raise DecisionError(f"{entry_id} has no usable photo ({why}): no juror could see it, and `anonymise` would "
                            "fail on it. Ask for the photo, put it in the submissions folder and run validate "
                            "again; then decide.")
    new_status = str(entry_status(findings, {"decision": decision}))
    record = ledger.decide(entry_id, decision, reason.strip(), who, status=new_status)  # one transaction
    return DecisionOutcome(entry_id, record["who"], row["status"] or "unchecked", new_status,
                           [f for f in findings if str(f.severity) != "info"])


@dataclass
class ContestStatus:
    workspace: str
    source: str
    contest: str
    stage: str
    timezone: str = ""  # the contest's time zone (IANA name); every time below is shown in it
    entries: int = 0
    by_status: dict[str, int] = field(default_factory=dict)
    by_category: dict[str, dict[str, int]] = field(default_factory=dict)
    open_reviews: list[str] = field(default_factory=list)
    decisions: int = 0
    last_validate: str | None = None  # '2022-07-12 09:30 Asia/Shanghai' (timefmt: as every output says a time)
    last_validate_at: str | None = None  # the same moment for --json: ISO 8601 with the contest's offset
    top_rules: list[tuple[str, str, int]] = field(default_factory=list)  # (rule, severity, entries), as validate
    by_region: dict[str, int] = field(default_factory=dict)  # regional round -> entries; '(no region)' kept
    stages: list[Any] = field(default_factory=list)  # stages.StageState, in the contest's order
    waiting: list[str] = field(default_factory=list)  # what waits on a person (decisions, jurors' sheets)
    next: str | None = None  # the next command to run

    def as_json(self) -> dict[str, Any]:
        """SPEC: {"stages": [{"stage", "state": "done|stale|not-yet", "why", "next"}], ...}."""
        return {"stages": [s.as_json() for s in self.stages], "next": self.next, "waiting": self.waiting,
                "contest": self.contest, "stage": self.stage, "workspace": self.workspace, "source": self.source,
                "entries": self.entries, "by_status": self.by_status, "by_category": self.by_category,
                "open_reviews": self.open_reviews, "decisions": self.decisions, "last_validate": self.last_validate_at,
                "timezone": self.timezone}


def contest_status(ws: Workspace, top: int = TOP_REASONS) -> ContestStatus:
    """The contest as the ledger holds it after the last run and the decisions since."""
    ledger = ws.ledger
    rows = ledger.entries()
    st = ContestStatus(str(ws.root), ws.settings.source, ws.settings.name, ws.settings.stage,
                       timezone=str(ws.settings.raw["contest"]["timezone"]), entries=len(rows))
    st.by_status = dict(Counter(r["status"] or "unchecked" for r in rows))
    for r in rows:
        cat = r["category"] or "none"
        st.by_category.setdefault(cat, Counter())[r["status"] or "unchecked"] += 1
    decisions = ledger.latest_decisions()
    st.decisions = len(decisions)
    st.open_reviews = [r["entry_id"] for r in rows if r["status"] == "review"]
    last = ledger.last_audit("validate")
    st.last_validate = contest_time(last["at"], ws.settings.tz) if last else None
    st.last_validate_at = machine_time(last["at"], ws.settings.tz) if last else None
    # the same count as validate's "most frequent reasons": entries per (rule, severity), reject and review
    st.top_rules = count_reasons(ledger.current_findings().values())[:top]
    from milsetctl.members.regions import region_counts  # an entry from a province in no region is counted too

    st.by_region = dict(region_counts(rows, ws.settings).most_common())
    st.stages = stages.check(ws)
    st.waiting = waiting_on_people(ws, st)
    st.next = next_command(st.stages)
    return st


def waiting_on_people(ws: Workspace, st: ContestStatus) -> list[str]:
    """What waits on a person, not a command: decisions due, and jurors whose sheets have not come back."""
    out = []
    if st.open_reviews:
        shown = ", ".join(st.open_reviews[:10]) + (" …" if len(st.open_reviews) > 10 else "")
        out.append(f"{len(st.open_reviews)} entr{'y waits' if len(st.open_reviews) == 1 else 'ies wait'} for a "
                   f"decision ({shown}): they are not in the jury package until decided"
                   + ("; `milsetctl decide --review-sheet review.xlsx` lists them to decide in one sheet"
                      if len(st.open_reviews) > 1 else ""))
    runs = ws.ledger.score_runs()
    if runs:
        import json

        last = json.loads(runs[-1]["detail"] or "{}")
        if last.get("allow_missing") and last.get("errors"):
            out.append(f"the ranking was stored with --allow-missing despite {last['errors']} problem(s) in the "
                       "jurors' sheets: send the corrected sheets and run score again (milsetctl score lists them)")
    assigned = {r[0] for r in ws.ledger.assignment_pairs() if r[2]}
    if assigned:
        from milsetctl.models import person_key

        scored = {person_key(r[0]) for r in ws.ledger.db.execute("SELECT DISTINCT juror FROM scores")}
        names = {r["juror_id"]: r["name"] for r in ws.ledger.jurors(active_only=True)}
        missing = [f"{j} {names.get(j, '')}".strip() for j in sorted(assigned)
                   if person_key(names.get(j, j)) not in scored and person_key(j) not in scored]
        if missing and scored:
            out.append(f"{len(missing)} juror(s) have not returned a scored sheet: {', '.join(missing[:10])}")
        elif missing:
            out.append(f"no juror's scores are in yet ({len(missing)} sheets out)")
    return out


def next_command(states: list[Any]) -> str | None:
    """The command to run next: the first stage out of date, else a decision due, else the first stage not made
    yet; an optional stage (certificates, gallery...) not made yet is no "next" of itself."""
    due = [st for st in states if st.state != "done" and st.next and st.relevant
           and (st.state == "stale" or stages.STAGES[st.stage].suggested)]
    names = [s.stage for s in states]
    done_after = {s.stage: any(t.state == "done" and not stages.STAGES[t.stage].optional
                               for t in states[names.index(s.stage) + 1:]) for s in states}
    # what is out of date is made current first; then the decisions due (before the package leaves them out);
    # then the next stage not made yet (one skipped while later ones ran, such as jury sheets before a long
    # CSV, is no longer "next"); then the outputs not made yet (certificates, gallery, report)
    order = ([s for s in due if s.state == "stale"] + [s for s in due if s.stage == "decisions"]
             + [s for s in due if not stages.STAGES[s.stage].optional and not done_after[s.stage]]
             + [s for s in due if stages.STAGES[s.stage].optional])
    return str(order[0].next) if order else None

