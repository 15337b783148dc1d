"""Times as a person reads them: the ledger and JSON keep ISO 8601 (machine-readable, UTC); the terminal shows
the contest's local time with its offset, e.g. ``2026-11-30 12:29 (UTC+08:00)``."""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo


def shown_time(iso: str | None, tz: tzinfo | None = None) -> str:
    """`iso` (an ISO 8601 timestamp; one without an offset is taken as UTC, as the ledger writes them) in `tz`
    (the contest time zone, ``ws.settings.tz``; None: this machine's), to the minute, with the UTC offset.
    A text that is not a timestamp is returned as written; never raises."""
    try:
        moment = datetime.fromisoformat(str(iso))
    except ValueError:
        return str(iso or "")
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    local = moment.astimezone(tz)
    offset = local.strftime("%z")  # +0800
    zone = "UTC" if offset in ("", "+0000") else f"UTC{offset[:3]}:{offset[3:]}"
    return f"{local:%Y-%m-%d %H:%M} ({zone})"


def contest_time(value: str | datetime | None, tz: tzinfo | None, zone: bool = True) -> str | None:
    """A moment as the contest reads it: '2022-07-05 09:30 Asia/Shanghai' ('2022-07-05 09:30' without `zone`,
    where the page says the zone once). Accepts an aware datetime or ISO text (the ledger's UTC stamps); naive
    values are taken as UTC. Unreadable text comes back as it is."""
    if value is None or value == "":
        return None
    moment = value
    if isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return value
    assert isinstance(moment, datetime)
    if tz is None:
        return moment.isoformat(sep=" ", timespec="minutes")
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    local = moment.astimezone(tz)
    name = getattr(tz, "key", None) or local.strftime("%Z") or local.strftime("UTC%z")
    return f"{local:%Y-%m-%d %H:%M} {name}" if zone else f"{local:%Y-%m-%d %H:%M}"
