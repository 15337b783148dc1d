"""Registration fees: a quote at the member's or the standard rate, and the call's refund rule.

Money is exact (`Decimal`, never float) and rounded half-up to the currency's minor unit (`money`). Dates are read
by the project's one date reader (milsetctl.dates): the options of one command together, and each column of a batch
file as a whole, so `[dates] order` or a date that can only be read one way (13/07/2022) settles 11/07/2022, and
nothing settling it is a refusal naming the option or cell. Moments are compared in the contest time zone: a day
written alone means that whole day there, and a time written with another zone is converted first.

The refund rule (SPEC `fees refund`, the 2022 call): a withdrawal on or before the registration deadline
([fees] registration_deadline, default the contest deadline; a day means the whole day in the contest time zone,
a date-time that instant: `dates.deadline`, as validate's `late` rule reads it) is refunded minus 25%
([fees] withdrawal_fee_percent: academic materials and service fee); a later one gets nothing. The refund is the
paid amount times (100 - 25)%, rounded half-up; what is kept is the rest, so refund + retained = paid exactly.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from openpyxl.utils import get_column_letter

from milsetctl.dates import DateError, Moment, read_column, read_options
from milsetctl.ingest.columns import header_key
from milsetctl.ingest.tables import ManifestError, cell_text, locate_header, read_table
from milsetctl.members.config import FeeRules, fee_rules
from milsetctl.members.sheets import write_table
from milsetctl.members.status import GOOD, WORDS, standing
from milsetctl.money import AmountError, money_text, parse_amount, round_money
from milsetctl.problem_codes import Coded, issues_json
from milsetctl.settings import Settings


class FeeInputError(ValueError):
    """A value given on the command line, or a cell of a batch, cannot be used (one line; on the command line a
    usage error, exit 2). `said` is the message with its problem code (milsetctl/problem_codes.py), which is also
    what str() gives, so the code reaches the terminal wherever the message is printed."""

    def __init__(self, code: str, message: str) -> None:
        self.said = Coded(code, message)
        super().__init__(self.said)


def _date_code(exc: DateError) -> str:
    """A date refusal's problem code: ambiguous, or not a date at all."""
    return "fee-date-ambiguous" if exc.rule == "date-ambiguous" else "fee-date-unreadable"


# --- moments -------------------------------------------------------------------------------------------------------


def _before(withdrawn: Moment, registered: Moment) -> bool:
    """A withdrawal before its registration: by the instant when both have a time, else by the day (a day alone is
    not "before" a time on that day)."""
    if withdrawn.has_time and registered.has_time:
        return withdrawn.at < registered.at
    return withdrawn.day < registered.day


# --- refunds -------------------------------------------------------------------------------------------------------


@dataclass
class Refund:
    """SPEC `fees refund --json`: paid, refund, retained, currency, reason (amounts as decimal strings)."""

    paid: Decimal
    refund: Decimal
    retained: Decimal
    currency: str
    reason: str
    refunded: bool
    deadline: date  # the registration deadline's day

    def as_json(self) -> dict[str, str]:
        return {"paid": money_text(self.paid, self.currency), "refund": money_text(self.refund, self.currency),
                "retained": money_text(self.retained, self.currency), "currency": self.currency,
                "reason": self.reason}


def compute_refund(paid: Any, registered_on: Any, withdrawn_on: Any, settings: Settings) -> Refund:
    """The call's refund for one withdrawal (module docstring). `paid`: text or number; the dates: text, date
    or datetime. Raises FeeInputError (one line) for a negative or non-numeric amount, an unreadable date, or a
    withdrawal before the registration."""
    rules = fee_rules(settings)
    tz = settings.tz
    try:
        amount = parse_amount(paid, rules.currency, "--paid")
    except AmountError as exc:
        raise FeeInputError("fee-amount", str(exc)) from exc
    try:  # the two options are typed together: one that can only be read one way settles the other
        read = read_options({"--registered-on": registered_on if registered_on is not None else "",
                             "--withdrawn-on": withdrawn_on if withdrawn_on is not None else ""},
                            tz, settings.dates_order)
    except DateError as exc:
        raise FeeInputError(_date_code(exc), str(exc)) from exc
    registered = read["--registered-on"].in_zone(tz)
    withdrawn = read["--withdrawn-on"].in_zone(tz)
    if _before(withdrawn, registered):
        raise FeeInputError("fee-withdrawn-before-registered",
                            f"--withdrawn-on {withdrawn.shown()} is before --registered-on {registered.shown()}: "
                            "a registration cannot be withdrawn before it was made")
    return _refund(amount, withdrawn, rules, tz)


def _refund(amount: Decimal, withdrawn: Moment, rules: FeeRules, tz: ZoneInfo, what: str = "--withdrawn-on") -> Refund:
    deadline = rules.registration_deadline
    which = "the contest deadline" if rules.deadline_is_contest else "the registration deadline"
    pct = rules.fee_percent
    pct_text = f"{pct.normalize():f}"
    when = f"withdrawn {withdrawn.shown()}" + (f" {tz.key}" if withdrawn.has_time else "")  # as timefmt says it
    if withdrawn.has_time or deadline.whole_day:
        late = deadline.is_late(withdrawn.at)  # a day alone is its 00:00: late only on a later day
    elif withdrawn.day == deadline.day:  # the day of a deadline with a time: before or after it?
        raise FeeInputError("fee-deadline-day",
                            f"{what}: {withdrawn.shown()} is the day of {which}, {deadline.shown()}: give the time "
                            f"of the withdrawal too ({withdrawn.shown()} 09:30)")
    else:
        late = withdrawn.day > deadline.day
    if not late:
        refund = round_money(amount * (Decimal(100) - pct) / Decimal(100), rules.currency)
        reason = (f"{when}, on or before {which} {deadline.label()}: refunded minus the {pct_text}% "
                  "materials and service fee")
        return Refund(amount, refund, amount - refund, rules.currency, reason, True, deadline.day)
    zero = round_money(Decimal(0), rules.currency)
    reason = f"{when}, after {which} {deadline.shown()}: no refund"
    return Refund(amount, zero, amount, rules.currency, reason, False, deadline.day)


# --- batch ---------------------------------------------------------------------------------------------------------

BATCH_COLUMNS = ("paid", "registered_on", "withdrawn_on", "currency")
BATCH_ALIASES: dict[str, list[str]] = {
    "paid": ["amount", "amount paid", "fee", "fee paid", "paid amount", "registration fee", "缴费", "缴费金额", "金额",
             "已缴", "已缴金额", "报名费"],
    "registered_on": ["registered", "registration date", "registered at", "date registered",
                      "报名日期", "报名时间", "注册日期", "注册时间"],
    "withdrawn_on": ["withdrawn", "withdrawal date", "withdrawn at", "date withdrawn",
                     "退出日期", "退出时间", "退赛日期", "退赛时间", "撤回日期", "撤回时间", "退报日期"],
    "currency": ["货币", "币种"],
}
# columns that say whose withdrawal a row is, most telling first: the first one present is shown beside the row
# numbers on the terminal (the file's own header names it)
WHO_HEADERS = ("name", "participant", "contestant", "organisation", "organization", "registration",
               "registration no", "registration number", "registration id", "contestant id", "id",
               "姓名", "名称", "单位", "报名编号", "报名号", "注册号")


@dataclass
class BatchRow:
    row: int
    cells: list[Any]  # the file's own cells, as read
    refund: Refund | None
    problem: str | None  # why it was not computed (named with file, row and cell; a Coded message)

    @property
    def code(self) -> str | None:
        """The problem's code (milsetctl/problem_codes.py), None when the refund was computed."""
        return getattr(self.problem, "code", None)


@dataclass
class RefundBatch:
    source: Path
    headers: list[str]
    currency: str
    rows: list[BatchRow] = field(default_factory=list)
    out: Path | None = None
    notes: list[str] = field(default_factory=list)
    who: int | None = None  # index in `headers` of the column naming the person (WHO_HEADERS), if any

    def who_of(self, row: BatchRow) -> str:
        """The row's name/registration cell as text ("" without such a column)."""
        if self.who is None or self.who >= len(row.cells):
            return ""
        return cell_text(row.cells[self.who])

    @property
    def problems(self) -> list[str]:
        return [r.problem for r in self.rows if r.problem]

    def issues(self) -> list[dict[str, str]]:
        """How the file was read and what was not computed, each with its code (JSON objects)."""
        return issues_json([*self.notes, *self.problems])

    def total(self, what: str) -> Decimal:
        return sum((getattr(r.refund, what) for r in self.rows if r.refund), Decimal(0))

    def as_json(self) -> dict[str, Any]:
        return {
            "source": str(self.source), "out": str(self.out) if self.out else None, "currency": self.currency,
            "withdrawals": [{"row": r.row, **(r.refund.as_json() if r.refund else {}),
                             "refunded": bool(r.refund and r.refund.refunded), "problem": r.problem,
                             "code": r.code}
                            for r in self.rows],
            "totals": {k: money_text(self.total(k), self.currency) for k in ("paid", "refund", "retained")},
            "problems": self.problems,
            "issues": self.issues(),  # notes and problems with their codes
        }


def _batch_map() -> dict[str, str]:
    mapping = {header_key(c): c for c in BATCH_COLUMNS}
    for column, names in BATCH_ALIASES.items():
        for n in names:
            mapping.setdefault(header_key(n), column)
    return mapping


def refund_batch(path: Path, settings: Settings, out: Path) -> RefundBatch:
    """The refund of every withdrawal in a CSV/XLSX (columns paid, registered_on, withdrawn_on, optionally
    currency, any others carried through), written to `out` (.xlsx or .csv) with refund, retained, currency,
    outcome and reason beside each row. A bad row is reported (file, row, cell) and written as 'not computed';
    the others are computed. Raises FeeInputError when the file cannot be used at all; SheetError when `out`
    cannot be written."""
    rules = fee_rules(settings)
    tz = settings.tz
    try:
        table = read_table(path)
    except ManifestError as exc:
        raise FeeInputError("table-unreadable", str(exc).replace("manifest", "withdrawals file")) from exc
    mapping = _batch_map()

    def columns_of(headers: list[str]) -> dict[str, int]:
        found: dict[str, int] = {}
        for i, h in enumerate(headers):
            c = mapping.get(header_key(h))
            if c and c not in found:
                found[c] = i
        return found

    located = locate_header(table, lambda hs: all(c in columns_of(hs) for c in ("paid", "withdrawn_on")))
    if located is None:
        seen = ", ".join(repr(h.strip()) for h in table.headers if str(h).strip()) or "(none)"
        raise FeeInputError("fee-no-columns",
                            f"{path.name}: no paid and withdrawn_on columns in the header row (found: {seen}); "
                            "expected paid, registered_on, withdrawn_on (缴费金额, 报名日期, 退出日期)")
    table = located
    cols = columns_of(table.headers)
    batch = RefundBatch(path, [h.strip() for h in table.headers], rules.currency,
                        notes=[Coded("table-read", n) for n in table.notes])
    keys = [header_key(h) for h in table.headers]
    batch.who = next((keys.index(header_key(w)) for w in WHO_HEADERS if header_key(w) in keys), None)

    def where(row: int, column: str) -> str:
        i = cols[column]
        return f"{path.name} row {row}, cell {get_column_letter(i + 1)}{row} ({table.headers[i].strip()})"

    def cell(cells: list[Any], column: str) -> Any:
        i = cols.get(column)
        return cells[i] if i is not None and i < len(cells) else None

    # each date column read as a whole (milsetctl.dates): its own cells settle 11/07/2022 when [dates] order does not
    dates: dict[str, list[Moment | DateError | None]] = {}
    for column in ("registered_on", "withdrawn_on"):
        if column in cols:
            values = [cell(cells, column) for _, cells in table.rows]
            dates[column] = read_column([cell_text(v) if isinstance(v, str) else v for v in values], tz,
                                        settings.dates_order, date1904=table.date1904)[1]

    def moment(position: int, row: int, column: str) -> Moment:
        read = dates[column][position]
        if read is None:
            raise FeeInputError("fee-date-missing", f"{where(row, column)}: no date given")
        if isinstance(read, DateError):
            raise FeeInputError(_date_code(read), str(read.at(where(row, column))))
        return read.in_zone(tz)

    for position, (row, cells) in enumerate(table.rows):
        def get(column: str, cells: list[Any] = cells) -> Any:
            return cell(cells, column)

        problem = None
        refund = None
        try:
            currency = cell_text(get("currency")).upper() if "currency" in cols else ""
            if currency and currency != rules.currency:
                raise FeeInputError("fee-currency",
                                    f"{where(row, 'currency')}: {currency}, but the fees are in {rules.currency}")
            try:
                amount = parse_amount(get("paid"), rules.currency, where(row, "paid"))
            except AmountError as exc:
                raise FeeInputError("fee-amount", str(exc)) from exc
            withdrawn = moment(position, row, "withdrawn_on")
            if "registered_on" in cols and cell_text(get("registered_on")):
                registered = moment(position, row, "registered_on")
                if _before(withdrawn, registered):
                    raise FeeInputError("fee-withdrawn-before-registered",
                                        f"{where(row, 'withdrawn_on')}: withdrawn {withdrawn.shown()}, before the "
                                        f"registration ({registered.shown()})")
            refund = _refund(amount, withdrawn, rules, tz, where(row, "withdrawn_on"))
        except FeeInputError as exc:
            problem = exc.said
        batch.rows.append(BatchRow(row, list(cells), refund, problem))
    header = ["row", *batch.headers, "refund", "retained", "currency", "outcome", "reason"]
    body: list[list[Any]] = []
    width = len(batch.headers)
    for r in batch.rows:
        own: list[Any] = [cell_text(c) if not isinstance(c, int | float) or isinstance(c, bool) else c
                          for c in (r.cells + [None] * width)[:width]]
        if r.refund:  # the amount read, as a number in the currency's format like refund and retained
            own[cols["paid"]] = r.refund.paid
            body.append([r.row, *own, r.refund.refund, r.refund.retained, r.refund.currency,
                         "refunded" if r.refund.refunded else "not refunded", r.refund.reason])
        else:
            body.append([r.row, *own, None, None, rules.currency, "not computed", r.problem])
    decimals = len(money_text(Decimal(0), rules.currency).partition(".")[2])
    fmt = "0." + "0" * decimals if decimals else "0"
    summary: list[list[Any]] = [["", f"amount ({rules.currency})"],
               *[[k, batch.total(k)] for k in ("paid", "refund", "retained")],
               ["withdrawals", len(batch.rows)], ["not computed", len(batch.problems)]]
    batch.out = write_table(out, header, body, sheet="refunds", money_format=fmt,
                            widths={"reason": 90, "outcome": 14}, extra_sheets={"summary": summary})
    return batch


# --- quotes --------------------------------------------------------------------------------------------------------


@dataclass
class Quote:
    """`fees quote EVENT --org ORG`: the fee and why that rate."""

    event: str
    event_name: str
    event_day: date
    organisation: str
    member_id: str | None
    standing: str | None  # GOOD / OVERDUE / LAPSED on the event's day; None when not on the roster
    rate: str  # "member" or "standard"
    amount: Decimal
    member_rate: Decimal
    standard_rate: Decimal
    currency: str
    reason: str

    def as_json(self) -> dict[str, Any]:
        return {"event": self.event, "event_name": self.event_name, "event_date": self.event_day.isoformat(),
                "organisation": self.organisation, "member_id": self.member_id, "standing": self.standing,
                "rate": self.rate, "fee": money_text(self.amount, self.currency),
                "member_rate": money_text(self.member_rate, self.currency),
                "standard_rate": money_text(self.standard_rate, self.currency), "currency": self.currency,
                "reason": self.reason}


def find_event(rules: FeeRules, name: str):  # type: ignore[no-untyped-def]
    """The event `name` names (its key or its name, case and spaces ignored). Raises FeeInputError listing the
    events there are."""
    wanted = header_key(name)
    for ev in rules.events.values():
        if wanted in (header_key(ev.key), header_key(ev.name)):
            return ev
    known = ", ".join(f"{e.key} ({e.name})" for e in rules.events.values()) or "none"
    raise FeeInputError("fee-event-unknown", f"no event {name!r} in the settings ([fees.events.*]: {known})")


def quote_fee(ws: Any, event: str, org: str | None) -> Quote:
    """The registration fee for `org` at `event`: the member's rate when the organisation is on the roster and in
    good standing on the event's day ([members] grace does not count: overdue pays the standard rate), else the
    standard rate. Raises FeeInputError for an unknown event or a name several members share."""
    from milsetctl.members.config import grace_days
    from milsetctl.members.roster import find_member

    rules = fee_rules(ws.settings)
    ev = find_event(rules, event)
    base = dict(event=ev.key, event_name=ev.name, event_day=ev.day, member_rate=ev.member,
                standard_rate=ev.standard, currency=ev.currency)
    if not org:
        return Quote(organisation="", member_id=None, standing=None, rate="standard", amount=ev.standard,
                     reason="no organisation named: the standard rate (--org ORG for a member's)", **base)
    member, candidates = find_member(ws, org)
    if member is None and len(candidates) > 1 and all(header_key(org) in header_key(c) for c in candidates):
        raise FeeInputError("fee-org-ambiguous",
                            f"--org {org!r} names several members: {'; '.join(candidates)}; give more of the name "
                            "or the member ID")
    if member is None:
        hint = f" (did you mean {' or '.join(candidates)}?)" if candidates else ""
        return Quote(organisation=org, member_id=None, standing=None, rate="standard", amount=ev.standard,
                     reason=f"not on the member roster{hint}: the standard rate", **base)
    paid = date.fromisoformat(member["fee_paid_until"]) if member["fee_paid_until"] else None
    state, days = standing(paid, ev.day, grace_days(ws.settings))
    on = f"on {ev.day.isoformat()}, the event's date"
    if state == GOOD:
        reason = f"in good standing {on} (fee paid until {member['fee_paid_until']}): the member's rate"
        return Quote(organisation=member["organisation"], member_id=member["member_id"], standing=state,
                     rate="member", amount=ev.member, reason=reason, **base)
    paid_text = f"fee paid until {member['fee_paid_until']}" if paid else "no fee recorded"
    reason = f"{WORDS[state]} {on} ({paid_text}): the standard rate"
    return Quote(organisation=member["organisation"], member_id=member["member_id"], standing=state,
                 rate="standard", amount=ev.standard, reason=reason, **base)
