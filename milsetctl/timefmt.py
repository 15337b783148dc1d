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
