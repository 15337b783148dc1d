"""The [members] and [fees] settings read into typed values (`check_settings` in settings.py checked them on load).

Rates are exact decimals written in quotes ("600.00"), never floats; dates are TOML dates (or ISO text);
the currency is an ISO 4217 code whose minor unit decides every rounding (milsetctl.money).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from milsetctl.dates import Deadline, deadline
from milsetctl.money import parse_amount
from milsetctl.settings import Settings, toml_date


@dataclass(frozen=True)
class Event:
    """One event's registration fees. `day`: the event's first day (good standing is checked on it)."""

    key: str
    name: str
    day: date
    member: Decimal
    standard: Decimal
    currency: str


@dataclass(frozen=True)
class FeeRules:
    """[fees] as values: currency, the registration deadline for refunds, the kept share, the events."""

    currency: str
    registration_deadline: Deadline  # the end of the named day, contest time zone, or the instant a date-time names
    deadline_is_contest: bool  # True when [fees] registration_deadline is "" (the contest deadline)
    fee_percent: Decimal
    events: dict[str, Event]


def _percent(value: Any) -> Decimal:
    return Decimal(str(value))  # a TOML 25 or 25.5: its written form, exactly


def contest_day(settings: Settings) -> date:
    """The contest deadline day ([contest] deadline)."""
    return toml_date(settings.raw["contest"]["deadline"]) or date.today()


def grace_days(settings: Settings) -> int:
    return int(settings.section("members").get("grace_days", 90))


def member_aliases(settings: Settings) -> dict[str, list[str]]:
    """[members.aliases]: column -> extra header names."""
    raw = settings.section("members").get("aliases") or {}
    return {str(k): [str(x) for x in (v if isinstance(v, list) else [v])] for k, v in raw.items()}


def fee_rules(settings: Settings) -> FeeRules:
    """[fees] read into values (already checked on load by `check_section`)."""
    fees = settings.section("fees")
    currency = str(fees.get("currency") or "EUR").strip().upper()
    own = fees.get("registration_deadline")
    own = None if own is None or (isinstance(own, str) and not own.strip()) else own
    events = {}
    for key, ev in (fees.get("events") or {}).items():
        cur = str(ev.get("currency") or currency).strip().upper()
        events[str(key)] = Event(
            key=str(key), name=str(ev.get("name") or key), day=toml_date(ev.get("date")) or contest_day(settings),
            member=parse_amount(ev.get("member"), cur), standard=parse_amount(ev.get("standard"), cur),
            currency=cur)
    # the registration deadline means what the contest deadline means (milsetctl.dates.deadline, as validate's `late`)
    registration = deadline(own, settings.tz) if own is not None else settings.deadline
    return FeeRules(currency=currency, registration_deadline=registration, deadline_is_contest=own is None,
                    fee_percent=_percent(fees.get("withdrawal_fee_percent", 25)), events=events)
