"""Times as a person reads them, in one format for the whole tool: status, verify, the audit listing, validate's
reports (HTML, CSV, XLSX), the contest report, the contact sheet, refund reasons, rule messages and the
workspace-busy message all say a moment the same way, in the contest's time zone (``ws.settings.tz``):

    2022-07-12 00:30 Asia/Shanghai       a ledger stamp (when a command ran, a decision was taken): the minute
    2022-07-11 23:59:30 Asia/Shanghai    `exact`: a moment compared with a deadline (a withdrawal, a submission,
                                         the kept one of two entries) keeps its seconds when it has any

A page that names the zone once (the audit table's title, the HTML report's footer) leaves it out (`zone=False`).
Machine output keeps ISO 8601 with the UTC offset (`machine_time`): the ledger stores UTC, JSON says the contest's
local time with its offset, so a script and a person read the same moment.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, tzinfo


def _moment(value: str | datetime) -> datetime | None:
    """An aware datetime from ISO text or a datetime (naive ones are UTC, as the ledger writes them); None when the
    text is not a timestamp."""
    if isinstance(value, datetime):
        moment = value
    else:
        try:
            moment = datetime.fromisoformat(str(value).strip().replace("Z", "+00:00"))
        except ValueError:
            return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def zone_name(tz: tzinfo | None, moment: datetime | None = None) -> str:
    """The zone as a person reads it: its IANA name (Asia/Shanghai); a zone without one (a fixed offset, this
    machine's) by its offset, UTC+08:00 ("UTC" for none), never an abbreviation such as CST (China, Cuba or the
    US Central?)."""
    key = getattr(tz, "key", None)
    if key:
        return str(key)
    at = moment if moment is not None else datetime.now(UTC)
    offset = (at.astimezone(tz) if tz is not None else at.astimezone()).utcoffset() or timedelta(0)
    if not offset:
        return "UTC"
    sign = "-" if offset < timedelta(0) else "+"
    minutes = abs(int(offset.total_seconds())) // 60
    return f"UTC{sign}{minutes // 60:02d}:{minutes % 60:02d}"


def clock(moment: datetime, exact: bool = False) -> str:
    """A moment's date and time as they are written in its own zone (no conversion, no zone): 2022-07-11 23:59, or
    with `exact` 2022-07-11 23:59:30 when it has seconds."""
    return moment.strftime("%Y-%m-%d %H:%M:%S" if exact and (moment.second or moment.microsecond) else
                           "%Y-%m-%d %H:%M")


def contest_time(value: str | datetime | None, tz: tzinfo | None, zone: bool = True,
                 exact: bool = False) -> str | None:
    """A moment as the contest reads it: '2022-07-05 09:30 Asia/Shanghai' ('2022-07-05 09:30' without `zone`,
    where the page says the zone once; `exact`: to the second when the moment has seconds). `value`: an aware
    datetime or ISO text (the ledger's UTC stamps; naive values are UTC). `tz`: the contest time zone
    (``ws.settings.tz``); None: this machine's, named by its offset. None for no value; text that is not a
    timestamp comes back as it is (never raises)."""
    if value is None or value == "":
        return None
    moment = _moment(value)
    if moment is None:
        return str(value)
    local = moment.astimezone(tz) if tz is not None else moment.astimezone()
    shown = clock(local, exact)
    return f"{shown} {zone_name(tz, moment)}" if zone else shown


def machine_time(value: str | datetime | None, tz: tzinfo | None) -> str | None:
    """The same moment for a machine: ISO 8601 in the contest time zone with its offset, to the second
    ('2022-07-12T00:30:00+08:00'). None for no value; text that is not a timestamp comes back as it is."""
    if value is None or value == "":
        return None
    moment = _moment(value)
    if moment is None:
        return str(value)
    return (moment.astimezone(tz) if tz is not None else moment.astimezone()).isoformat(timespec="seconds")
