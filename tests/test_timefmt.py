"""One time formatter (issue 16): every time a person reads (status, verify, the audit listing, validate's reports,
refund reasons, rule messages) is said the same way, in the contest's time zone; machine JSON keeps ISO 8601 with
its offset. The same moment read from two outputs must be the same text."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

from test_stages import _contest, ok, run
from typer.testing import CliRunner

from milsetctl.cli import app
from milsetctl.dates import Moment
from milsetctl.timefmt import clock, contest_time, machine_time, zone_name

SHANGHAI = ZoneInfo("Asia/Shanghai")
runner = CliRunner()


def test_one_format_in_the_contest_zone() -> None:
    assert contest_time("2022-07-11T16:30:00+00:00", SHANGHAI) == "2022-07-12 00:30 Asia/Shanghai"
    assert contest_time("2022-07-11T16:30:00", SHANGHAI) == "2022-07-12 00:30 Asia/Shanghai"  # naive: UTC (ledger)
    assert contest_time("2022-07-11T16:30:00Z", SHANGHAI, zone=False) == "2022-07-12 00:30"
    # the ledger's stamps to the minute; a moment compared with a deadline to the second when it has seconds
    assert contest_time("2022-07-11T15:59:30+00:00", SHANGHAI) == "2022-07-11 23:59 Asia/Shanghai"
    assert contest_time("2022-07-11T15:59:30+00:00", SHANGHAI, exact=True) == "2022-07-11 23:59:30 Asia/Shanghai"
    assert contest_time("2022-07-11T15:59:00+00:00", SHANGHAI, exact=True) == "2022-07-11 23:59 Asia/Shanghai"
    assert contest_time("not a time", SHANGHAI) == "not a time" and contest_time(None, SHANGHAI) is None


def test_a_zone_without_a_name_is_said_by_its_offset_never_an_abbreviation() -> None:
    assert zone_name(timezone(timedelta(hours=8))) == "UTC+08:00"
    assert zone_name(timezone(timedelta(hours=-3, minutes=-30))) == "UTC-03:30"
    assert zone_name(UTC) == "UTC"
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d (UTC|UTC[+-]\d\d:\d\d|[A-Za-z_/+-]+)",
                        contest_time(datetime.now(UTC), None) or "")  # this machine's zone, still named


def test_machine_time_is_iso_with_the_contest_offset() -> None:
    iso = machine_time("2022-07-11T16:30:00+00:00", SHANGHAI)
    assert iso == "2022-07-12T00:30:00+08:00"
    assert datetime.fromisoformat(iso) == datetime(2022, 7, 11, 16, 30, tzinfo=UTC)


def test_refund_and_deadline_times_keep_their_seconds() -> None:
    at = datetime(2022, 7, 11, 23, 59, 30, tzinfo=SHANGHAI)
    assert Moment(at, True).shown() == "2022-07-11 23:59:30" == clock(at, exact=True)
    assert Moment(at.replace(second=0), True).shown() == "2022-07-11 23:59"
    assert Moment(at, False).shown() == "2022-07-11"


def test_fees_refund_says_the_withdrawal_to_the_second(tmp_path: Path) -> None:
    doc = json.loads(ok("fees", "refund", "--paid", "100", "--registered-on", "2022-06-01", "--withdrawn-on",
                        "2022-07-11T15:59:59Z", "--json", "-w", str(tmp_path)).stdout)
    assert doc["refund"] == "75.00"
    assert doc["reason"].startswith("withdrawn 2022-07-11 23:59:59 Asia/Shanghai, on or before"), doc["reason"]


def test_status_audit_and_the_report_show_one_moment_the_same_way(tmp_path: Path) -> None:
    src = _contest(tmp_path / "inbox")
    ws = tmp_path / "ws"
    ok("validate", str(src), "-w", str(ws))
    ok("decide", "E0001", "reject", "--reason", "a copy", "-w", str(ws))
    report = tmp_path / "report.csv"
    ok("validate", str(src), "-w", str(ws), "--report", str(report))
    trail = json.loads(ok("audit", "--json", "--limit", "0", "-w", str(ws)).stdout)["records"]
    last_validate = [r for r in trail if r["action"] == "validate"][-1]
    decide = next(r for r in trail if r["action"] == "decide")

    # machine JSON: ISO 8601 with the contest's offset, the same instant the ledger stamped (UTC)
    status = json.loads(ok("status", "--json", "-w", str(ws)).stdout)
    assert status["last_validate"] == last_validate["at_local"]
    assert status["last_validate"].endswith("+08:00")
    assert datetime.fromisoformat(status["last_validate"]) == datetime.fromisoformat(last_validate["at"])

    # for a person: status's line and the audit's "when" are the same text
    shown = last_validate["when"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d Asia/Shanghai", shown), shown
    assert f"last validated: {shown}" in " ".join(run("status", "-w", str(ws)).stdout.split())
    # the audit table says the zone once in its title, and each time without it; a time in a record's detail (the
    # decision's) as every output says it, not as the ledger stores it
    table = runner.invoke(app, ["audit", "--kind", "decide", "-w", str(ws)], env={"COLUMNS": "250"}).stdout
    assert "times in Asia/Shanghai" in table and decide["when"].removesuffix(" Asia/Shanghai") in table
    assert f"at={decide['when']}" in table and decide["at"] not in table
    # the validation report's decision cell says the decision's time as the audit trail does
    rows = list(csv.DictReader(io.StringIO(report.read_text(encoding="utf-8-sig"))))
    decision = next(r["decision"] for r in rows if r["entry_id"] == "E0001")
    assert decision == f"reject: a copy ({decide['who']}, {decide['when']})", decision
    submitted = next(r["submitted_at"] for r in rows if r["entry_id"] == "E0001")
    assert submitted == "2022-07-01 00:00 Asia/Shanghai"  # the manifest's day, in the contest's zone
