"""The [members] and [fees] settings read into typed values, and their checks for `check_settings`.

Rates are exact decimals written in quotes ("600.00"), never floats; dates are TOML dates (or ISO text);
the currency is an ISO 4217 code whose minor unit decides every rounding (milsetctl.members.money).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from milsetctl.members.money import AmountError, minor_unit, parse_amount
from milsetctl.settings import Settings, SettingsError, _shown


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
    registration_deadline: date
    deadline_is_contest: bool  # True when [fees] registration_deadline is "" (the contest deadline)
    fee_percent: Decimal
    events: dict[str, Event]


def _as_date(value: Any) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str) and value.strip():
        return date.fromisoformat(value.strip())
    return None


def _percent(value: Any) -> Decimal:
    return Decimal(str(value))  # a TOML 25 or 25.5: its written form, exactly


def contest_day(settings: Settings) -> date:
    """The contest deadline day ([contest] deadline)."""
    return _as_date(settings.raw["contest"]["deadline"]) or date.today()


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
    deadline = _as_date(fees.get("registration_deadline"))
    events = {}
    for key, ev in (fees.get("events") or {}).items():
        cur = str(ev.get("currency") or currency).strip().upper()
        events[str(key)] = Event(
            key=str(key), name=str(ev.get("name") or key), day=_as_date(ev.get("date")) or contest_day(settings),
            member=parse_amount(ev.get("member"), cur), standard=parse_amount(ev.get("standard"), cur),
            currency=cur)
    return FeeRules(currency=currency, registration_deadline=deadline or contest_day(settings),
                    deadline_is_contest=deadline is None, fee_percent=_percent(fees.get("withdrawal_fee_percent", 25)),
                    events=events)


_MEMBER_COLUMNS = ("organisation", "country", "region", "contact", "email", "member_since", "fee_paid_until")


def check_section(section: str, values: dict[str, Any], default: dict[str, Any], where: str) -> None:
    """Check the coordinator's [members] or [fees] table; the first bad value raises SettingsError naming the
    file, section, key and value (settings.check_settings calls this for these two sections)."""
    import difflib

    for key, value in values.items():
        shown = f"{where}[{section}] {key} = {_shown(value)}"
        if key not in default:
            close = difflib.get_close_matches(key, list(default), n=1)
            hint = f"; did you mean {close[0]}?" if close else f"; [{section}] knows {', '.join(default)}"
            raise SettingsError(f"{shown}: no such setting (a typo would silently keep the default){hint}")
        if section == "members" and key == "grace_days" and (type(value) is not int or value < 0):
            raise SettingsError(f"{shown}: must be a whole number of days, 0 or more (default: 90)")
        if section == "members" and key == "aliases":
            if not isinstance(value, dict):
                raise SettingsError(f"{shown}: must be a table ([members.aliases])")
            for column, names in value.items():
                if column not in _MEMBER_COLUMNS:
                    raise SettingsError(f"{where}[members.aliases] {column}: no such roster column (one of "
                                        f"{', '.join(_MEMBER_COLUMNS)})")
                if not (isinstance(names, str) or (isinstance(names, list) and all(isinstance(n, str) for n in names))):
                    raise SettingsError(f"{where}[members.aliases] {column} = {_shown(names)}: must be a list of "
                                        'header names in quotes, e.g. ["association"]')
        if section == "fees":
            _check_fee(key, value, shown, where, values, default)


def _check_fee(key: str, value: Any, shown: str, where: str, values: dict[str, Any], default: dict[str, Any]) -> None:
    currency = values.get("currency", "EUR")
    if key == "currency":
        try:
            minor_unit(str(value))
        except AmountError as exc:
            raise SettingsError(f"{shown}: {exc}") from exc
    elif key == "registration_deadline":
        try:
            if not (value == "" or _as_date(value)):
                raise ValueError
        except (ValueError, TypeError) as exc:
            raise SettingsError(f'{shown}: must be a date (2022-06-30) or "" for the contest deadline') from exc
    elif key == "withdrawal_fee_percent":
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 100:
            raise SettingsError(f"{shown}: must be a number from 0 to 100 (default: 25)")
    elif key == "events":
        if not isinstance(value, dict):
            raise SettingsError(f"{shown}: must be tables [fees.events.NAME]")
        for name, ev in value.items():
            at = f"{where}[fees.events.{name}]"
            if not isinstance(ev, dict):
                raise SettingsError(f"{at} = {_shown(ev)}: must be a table with name, date, member, standard")
            unknown = set(ev) - {"name", "date", "member", "standard", "currency"}
            if unknown:
                raise SettingsError(f"{at} {sorted(unknown)[0]}: no such setting (an event has name, date, "
                                    "member, standard, currency)")
            cur = ev.get("currency", currency)
            try:
                minor_unit(str(cur))
            except AmountError as exc:
                raise SettingsError(f"{at} currency = {_shown(cur)}: {exc}") from exc
            for rate in ("member", "standard"):
                if rate not in ev and name in (default.get("events") or {}):
                    continue  # the default event's rate stays
                if rate not in ev:
                    raise SettingsError(f'{at}: no {rate} rate (write {rate} = "100.00")')
                if isinstance(ev[rate], float):
                    raise SettingsError(f"{at} {rate} = {ev[rate]}: write the rate in quotes "
                                        f'("{ev[rate]}") so it stays exact')
                try:
                    parse_amount(ev[rate], str(cur), what=f"[fees.events.{name}] {rate}")
                except AmountError as exc:
                    raise SettingsError(f"{where}{exc}") from exc
            if "date" in ev:
                try:
                    if _as_date(ev["date"]) is None:
                        raise ValueError
                except (ValueError, TypeError) as exc:
                    raise SettingsError(f"{at} date = {_shown(ev['date'])}: must be a date (2023-07-10)") from exc
