"""One date reader for the whole project (issue 17): the reproductions from the issue, the reader's forms (dotted
dates, 12-hour clocks with midnight and noon, Excel serials in the 1900 and 1904 systems), what a deadline means
for validate and fees alike, and properties of the column-wide day/month inference."""

from __future__ import annotations

import csv
import json
import re
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import openpyxl
import pytest
from conftest import make_jpeg, settings_with
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from typer.testing import CliRunner

from milsetctl.cli import app
from milsetctl.dates import (
    AmbiguousDateError,
    DateError,
    Moment,
    deadline,
    infer_date_order,
    is_ambiguous_date,
    read_column,
    read_moment,
    read_options,
)
from milsetctl.ingest import read_submissions
from milsetctl.ingest.values import parse_datetime
from milsetctl.models import Entry
from milsetctl.rules import REGISTRY, load_rules
from milsetctl.settings import Settings, defaults
from milsetctl.workspace import init_workspace

runner = CliRunner()
SHANGHAI = ZoneInfo("Asia/Shanghai")


def workspace(tmp_path: Path, order: str = "", name: str = "ws", deadline: str = "") -> Path:
    """A workspace whose contest.toml says `[dates] order = ORDER` and `[contest] deadline = DEADLINE`."""
    ws = init_workspace(tmp_path / name)
    ws.close()
    path = ws.root / "contest.toml"
    text = path.read_text(encoding="utf-8")
    if order:
        text = text.replace('order = "auto"', f'order = "{order}"')
    if deadline:
        text = text.replace("deadline = 2022-07-11", f"deadline = {deadline}")
    path.write_text(text, encoding="utf-8")
    return ws.root


def refund(root: Path, registered: str, withdrawn: str, paid: str = "1000") -> tuple[int, dict, str]:
    res = runner.invoke(app, ["fees", "refund", "--paid", paid, "--registered-on", registered, "--withdrawn-on",
                              withdrawn, "--json", "-w", str(root)])
    return res.exit_code, (json.loads(res.stdout) if res.exit_code == 0 else {}), res.stderr


def one_error_line(stderr: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), stderr
    return lines[0]


# --- the reproductions -------------------------------------------------------------------------------------


def test_a_slashed_day_nothing_settles_is_refused_naming_the_option(tmp_path: Path) -> None:
    """`fees refund --registered-on 10/05/2022 --withdrawn-on 11/07/2022` read 7 November and refunded nothing."""
    code, doc, err = refund(tmp_path / "none", "10/05/2022", "11/07/2022")
    assert code == 2, doc
    line = one_error_line(err)
    assert "--withdrawn-on" in line and "'11/07/2022'" in line
    assert "2022-07-11" in line and "2022-11-07" in line and "[dates] order" in line


def test_a_slashed_day_follows_the_dates_order_setting(tmp_path: Path) -> None:
    root = workspace(tmp_path, "dmy")
    code, doc, err = refund(root, "10/05/2022", "11/07/2022")
    assert code == 0, err
    assert doc["refund"] == "750.00" and "withdrawn 2022-07-11," in doc["reason"]
    root = workspace(tmp_path, "mdy", name="us")
    code, doc, err = refund(root, "10/05/2022", "11/07/2022")
    assert code == 0 and doc["refund"] == "0.00" and "withdrawn 2022-11-07," in doc["reason"]


def test_one_date_option_settles_the_others(tmp_path: Path) -> None:
    """The date options of one command are typed by one person: 13/05/2022 can only be day-first."""
    code, doc, err = refund(tmp_path / "none", "13/05/2022", "11/07/2022")
    assert code == 0, err
    assert doc["refund"] == "750.00" and "withdrawn 2022-07-11," in doc["reason"]


def test_a_two_digit_year_that_could_come_first_is_refused_under_auto(tmp_path: Path) -> None:
    """`--registered-on 22/05/10 --withdrawn-on 22/07/11` read 2011-07-22 under order = "auto"."""
    code, doc, err = refund(tmp_path / "none", "22/05/10", "22/07/11")
    assert code == 2, doc
    line = one_error_line(err)
    assert "--registered-on: '22/05/10' could be 2022-05-10 or 2010-05-22" in line and "[dates] order" in line
    code, doc, err = refund(tmp_path / "none", "2022-05-10", "22/07/11")
    assert code == 2 and "--withdrawn-on: '22/07/11' could be 2022-07-11 or 2011-07-22" in one_error_line(err)
    code, doc, err = refund(workspace(tmp_path, "ymd"), "22/05/10", "22/07/11")  # an explicit order is followed
    assert code == 0 and "withdrawn 2022-07-11," in doc["reason"], err
    code, doc, err = refund(workspace(tmp_path, "dmy", name="dmy"), "22/05/10", "22/07/11")
    assert code == 0 and "withdrawn 2011-07-22," in doc["reason"], err
    with pytest.raises(DateError, match="2005-07-10, 2010-07-05 or 2010-05-07") as caught:
        read_moment("05/07/10", SHANGHAI)
    assert caught.value.rule == "date-ambiguous"


def test_a_two_digit_year_in_a_batch_cell_is_not_computed_naming_the_cell(tmp_path: Path) -> None:
    src = tmp_path / "withdrawals.csv"
    src.write_text("name,paid,registered_on,withdrawn_on\r\nAnna,100,2022-05-01,22/07/11\r\n"
                   "Boris,100,2022-05-01,13/07/2022\r\n", encoding="utf-8")
    res = runner.invoke(app, ["fees", "refund", "--batch", str(src), "--out", str(tmp_path / "out.csv"), "--json",
                              "-w", str(tmp_path / "none")])
    doc = json.loads(res.stdout)
    assert res.exit_code == 1 and [w.get("refund") for w in doc["withdrawals"]] == [None, "0.00"]
    (problem,) = doc["problems"]
    assert "cell D2 (withdrawn_on): '22/07/11' could be 2022-07-11 or 2011-07-22" in problem


@pytest.mark.parametrize(("order", "registered", "withdrawn", "words"), [
    ("mdy", "2022-05-01", "13/07/2022", '--withdrawn-on: \'13/07/2022\' cannot be month/day/year as [dates] order = '
                                        '"mdy" says'),
    ("dmy", "07/14/2022", "2022-07-20", '--registered-on: \'07/14/2022\' cannot be day/month/year as [dates] order '
                                        '= "dmy" says'),
])
def test_a_date_the_declared_order_cannot_read_is_refused_not_swapped(tmp_path: Path, order: str, registered: str,
                                                                      withdrawn: str, words: str) -> None:
    code, doc, err = refund(workspace(tmp_path, order), registered, withdrawn)
    assert code == 2, doc
    assert words in one_error_line(err)


def test_a_declared_order_a_batch_cell_contradicts_is_named(tmp_path: Path) -> None:
    src = tmp_path / "withdrawals.csv"
    src.write_text("name,paid,registered_on,withdrawn_on\r\nAnna,100,2022-05-01,13/07/2022\r\n", encoding="utf-8")
    res = runner.invoke(app, ["fees", "refund", "--batch", str(src), "--out", str(tmp_path / "out.csv"), "--json",
                              "-w", str(workspace(tmp_path, "mdy"))])
    (problem,) = json.loads(res.stdout)["problems"]
    assert 'cell D2 (withdrawn_on): \'13/07/2022\' cannot be month/day/year as [dates] order = "mdy"' in problem


def test_a_dotted_date_settles_the_other_options(tmp_path: Path) -> None:
    """`--registered-on 10/05/2022 --withdrawn-on 11.07.2022` was refused as ambiguous for 10/05/2022."""
    code, doc, err = refund(tmp_path / "none", "10/05/2022", "11.07.2022")
    assert code == 0, err
    assert doc["refund"] == "750.00" and "withdrawn 2022-07-11," in doc["reason"]
    code, doc, err = refund(tmp_path / "none", "10.05.2022", "11/06/2022")  # 11 June, not 6 November
    assert code == 0 and "withdrawn 2022-06-11," in doc["reason"], err


def test_a_dotted_date_is_day_first(tmp_path: Path) -> None:
    """`11.07.2022` read 7 November too."""
    code, doc, err = refund(tmp_path / "none", "10.05.2022", "11.07.2022")
    assert code == 0, err
    assert doc["refund"] == "750.00" and "withdrawn 2022-07-11," in doc["reason"]


# fee paid until: on 11 July 2022 (grace 90 days) one has lapsed; on 7 November 2022 four have
STATUS_ROSTER = [["organisation", "country", "fee_paid_until"],
                 ["A", "China", "2022-01-01"], ["B", "Japan", "2022-05-01"], ["C", "Peru", "2022-06-01"],
                 ["D", "Kenya", "2022-07-01"], ["E", "Chile", "2023-01-01"]]


def _roster_ws(tmp_path: Path, order: str = "") -> Path:
    root = workspace(tmp_path, order)
    with open(tmp_path / "roster.csv", "w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows(STATUS_ROSTER)
    res = runner.invoke(app, ["members", "import", str(tmp_path / "roster.csv"), "-w", str(root)])
    assert res.exit_code == 0, res.output
    return root


def test_members_status_on_a_slashed_day(tmp_path: Path) -> None:
    """`members status --on 11/07/2022` judged on 7 November (4 lapsed instead of 1)."""
    root = _roster_ws(tmp_path / "auto")
    res = runner.invoke(app, ["members", "status", "--on", "11/07/2022", "--json", "-w", str(root)])
    assert res.exit_code == 2
    line = one_error_line(res.stderr)
    assert "--on" in line and "2022-07-11" in line and "[dates] order" in line


def test_members_status_on_a_slashed_day_follows_the_setting(tmp_path: Path) -> None:
    """With `[dates] order = "dmy"` the option was still read month-first: 4 lapsed instead of 1."""
    root = _roster_ws(tmp_path / "dmy", "dmy")
    res = runner.invoke(app, ["members", "status", "--on", "11/07/2022", "--json", "-w", str(root)])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert doc["on"] == "2022-07-11" and doc["summary"]["lapsed"] == 1
    res = runner.invoke(app, ["members", "status", "--on", "11.07.2022", "--json", "-w", str(root)])
    assert json.loads(res.stdout)["on"] == "2022-07-11"


def test_a_batch_column_is_read_in_one_order(tmp_path: Path) -> None:
    """In a `fees refund --batch` column holding 13/07/2022 and 11/07/2022 the second was read month-first."""
    src = tmp_path / "withdrawals.csv"
    src.write_text("name,paid,registered_on,withdrawn_on\r\nAnna,100,2022-05-01,13/07/2022\r\n"
                   "Boris,100,2022-05-01,11/07/2022\r\n", encoding="utf-8")
    res = runner.invoke(app, ["fees", "refund", "--batch", str(src), "--out", str(tmp_path / "out.csv"), "--json",
                              "-w", str(tmp_path / "none")])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert [w["refund"] for w in doc["withdrawals"]] == ["0.00", "75.00"]
    assert "withdrawn 2022-07-11," in doc["withdrawals"][1]["reason"]


def test_an_ambiguous_batch_cell_is_refused_with_its_cell(tmp_path: Path) -> None:
    src = tmp_path / "withdrawals.csv"
    src.write_text("name,paid,registered_on,withdrawn_on\r\nAnna,100,2022-05-01,10/07/2022\r\n"
                   "Boris,100,2022-05-01,2022-07-01\r\n", encoding="utf-8")
    res = runner.invoke(app, ["fees", "refund", "--batch", str(src), "--out", str(tmp_path / "out.csv"), "--json",
                              "-w", str(tmp_path / "none")])
    assert res.exit_code == 1
    doc = json.loads(res.stdout)
    assert [w.get("refund") for w in doc["withdrawals"]] == [None, "75.00"]
    (problem,) = doc["problems"]
    assert "withdrawals.csv row 2, cell D2 (withdrawn_on)" in problem and "'10/07/2022'" in problem
    assert "2022-07-10" in problem and "2022-10-07" in problem and "[dates] order" in problem


@pytest.mark.parametrize("night", ["晚上12点", "夜里12点", "夜里12:00"])
def test_midnight_in_chinese_is_the_end_of_the_named_day(tmp_path: Path, night: str) -> None:
    """晚上12点 / 夜里12点 (midnight) was read as noon."""
    assert parse_datetime(f"2022年7月11日{night}", SHANGHAI) == datetime(2022, 7, 12, 0, 0, tzinfo=SHANGHAI)
    # registered in the evening, withdrawn at that midnight: after the deadline day, not "before the registration"
    code, doc, err = refund(tmp_path / "none", "2022-07-11 20:00", f"2022年7月11日{night}")
    assert code == 0, err
    assert doc["refund"] == "0.00" and "withdrawn 2022-07-12 00:00" in doc["reason"]


@pytest.mark.parametrize(("registered", "withdrawn"), [
    ("2022-07-11 16:00", "2022年7月11日下午3点"),
    ("2022-07-11 23:30", "11 July 2022 11pm"),
    ("2022-07-11 23:30", "2022-07-11 11pm"),
    ("2022-07-11 23:30", "2022-07-11 11 p.m."),
])
def test_a_12_hour_time_in_fees_keeps_its_time(tmp_path: Path, registered: str, withdrawn: str) -> None:
    """下午3点 and 11pm lost their time in fees: a withdrawal an hour before the registration went through."""
    code, _, err = refund(tmp_path / "none", registered, withdrawn)
    assert code == 2
    assert "before --registered-on" in one_error_line(err)


def test_11pm_is_read_with_its_time(tmp_path: Path) -> None:
    code, doc, err = refund(tmp_path / "none", "2022-07-01", "2022-07-11 11pm")
    assert code == 0, err
    assert "withdrawn 2022-07-11 23:00" in doc["reason"] and doc["refund"] == "750.00"


def test_a_date_time_deadline_is_an_instant_for_fees_as_for_validate(tmp_path: Path) -> None:
    """A TOML date-time deadline was an instant for validate but a whole day for fees."""
    root = workspace(tmp_path, deadline="2022-07-11T18:00:00")
    code, doc, err = refund(root, "2022-07-01", "2022-07-11 19:00")
    assert code == 0, err
    assert doc["refund"] == "0.00" and "2022-07-11 18:00" in doc["reason"]
    code, doc, err = refund(root, "2022-07-01", "2022-07-11 18:00")
    assert doc["refund"] == "750.00"


def _late(entry: Entry, settings: Settings) -> list[str]:
    load_rules()
    return list(REGISTRY["late"].check(entry, None, settings))


def test_validate_and_fees_judge_a_deadline_alike() -> None:
    """On or before the deadline is on time: a day means to its end, a date-time that instant."""
    day = defaults()
    instant = settings_with(contest={"deadline": datetime(2022, 7, 11, 18, 0)})
    at = {t: datetime.fromisoformat(t).replace(tzinfo=SHANGHAI) for t in
          ("2022-07-11 18:00:00", "2022-07-11 18:00:01", "2022-07-11 23:59:59.999999", "2022-07-12 00:00:00")}

    def late(settings: Settings, when: str) -> bool:
        return bool(_late(Entry(key="k", file="a.jpg", submitted_at=at[when]), settings))

    assert [late(day, t) for t in at] == [False, False, False, True]
    assert [late(instant, t) for t in at] == [False, True, True, True]
    assert "2022-07-11 18:00" in _late(Entry(key="k", file="a.jpg", submitted_at=at["2022-07-12 00:00:00"]),
                                       instant)[0]


def _photos(folder: Path, *names: str) -> None:
    for seed, name in enumerate(names):
        make_jpeg(folder / name, size=(64, 48), seed=seed)


def test_validate_refuses_an_ambiguous_submission_date_instead_of_guessing(tmp_path: Path) -> None:
    """A column of 11/07/2022 and 10/07/2022 was read month-first: the first entry rejected as late (7 November)."""
    _photos(tmp_path, "a.jpg", "b.jpg")
    (tmp_path / "entries.csv").write_text("contestant_id,file,submitted_at\r\nC1,a.jpg,11/07/2022 10:00\r\n"
                                          "C2,b.jpg,10/07/2022 09:00\r\n", encoding="utf-8")
    entries = [e for e in read_submissions(tmp_path, defaults()).entries if e.listed]
    assert [e.submitted_at for e in entries] == [None, None]
    assert [e.submitted_at_raw for e in entries] == ["11/07/2022 10:00", "10/07/2022 09:00"]
    assert not _late(entries[0], defaults())
    (finding,) = entries[0].ingest_findings
    assert (finding.rule, str(finding.severity)) == ("date-ambiguous", "review")
    assert "entries.csv row 2, column 'submitted_at', cell C2" in finding.message
    assert "'11/07/2022 10:00'" in finding.message and "[dates] order" in finding.message
    assert "2022-07-11 (day first) or 2022-11-07 (month first)" in finding.message
    # the setting settles it
    entries = [e for e in read_submissions(tmp_path, settings_with(dates={"order": "dmy"})).entries if e.listed]
    assert entries[0].submitted_at == datetime(2022, 7, 11, 10, tzinfo=SHANGHAI)


def test_excel_serials_in_the_1900_and_1904_systems(tmp_path: Path) -> None:
    """A number in a date column is an Excel serial, counted from the workbook's own epoch."""
    for system, serial in (("1900", 44753), ("1904", 44753 - 1462)):
        book = openpyxl.Workbook()
        if system == "1904":
            from openpyxl.utils.datetime import CALENDAR_MAC_1904

            book.epoch = CALENDAR_MAC_1904
        sheet = book.active
        sheet.append(["organisation", "country", "fee_paid_until"])
        sheet.append(["Club", "Peru", serial])
        sheet.append(["Dated", "Chile", date(2022, 7, 11)])
        book.save(tmp_path / f"roster-{system}.xlsx")
        root = workspace(tmp_path, name=f"ws-{system}")
        res = runner.invoke(app, ["members", "import", str(tmp_path / f"roster-{system}.xlsx"), "-w", str(root)])
        assert res.exit_code == 0, res.output
        res = runner.invoke(app, ["members", "list", "--json", "-w", str(root)])
        assert [m["fee_paid_until"] for m in json.loads(res.stdout)["members"]] == ["2022-07-11", "2022-07-11"]


def test_a_day_alone_on_the_day_of_a_timed_deadline_needs_its_time(tmp_path: Path) -> None:
    """Withdrawn "on 11 July" when the deadline is 11 July 18:00: before or after it? Asked, not guessed."""
    root = workspace(tmp_path, deadline="2022-07-11T18:00:00")
    code, _, err = refund(root, "2022-07-01", "2022-07-11")
    assert code == 2
    line = one_error_line(err)
    assert "--withdrawn-on" in line and "2022-07-11 18:00" in line and "time" in line
    assert refund(root, "2022-07-01", "2022-07-10")[1]["refund"] == "750.00"
    assert refund(root, "2022-07-01", "2022-07-12")[1]["refund"] == "0.00"


def test_a_quoted_date_time_deadline_is_accepted_for_both_settings(tmp_path: Path) -> None:
    """`registration_deadline = "2022-07-11T18:00:00"` and `[contest] deadline = "2022-07-11T18:00:00"` were refused
    ("must be a date"), though the comments allow a date-time."""
    for key, text in (("registration_deadline", '"2022-07-11T18:00:00"'), ("deadline", '"2022-07-11T18:00:00"'),
                      ("deadline", '"2022-07-11 18:00"'), ("registration_deadline", "2022-07-11T18:00:00")):
        root = workspace(tmp_path, name=f"{key}{len(text)}{text[0]}")
        path = root / "contest.toml"
        old = 'registration_deadline = ""' if key == "registration_deadline" else "deadline = 2022-07-11"
        path.write_text(path.read_text(encoding="utf-8").replace(old, f"{key} = {text}", 1), encoding="utf-8")
        code, doc, err = refund(root, "2022-06-01", "2022-07-11 18:00")
        assert code == 0 and doc["refund"] == "750.00", err
        assert "2022-07-11 18:00" in doc["reason"]
        code, doc, err = refund(root, "2022-06-01", "2022-07-11 18:01")
        assert code == 0 and doc["refund"] == "0.00", err
    for key, old in (("registration_deadline", 'registration_deadline = ""'), ("deadline", "deadline = 2022-07-11")):
        root = workspace(tmp_path, name=f"bad{key}")
        path = root / "contest.toml"
        path.write_text(path.read_text(encoding="utf-8").replace(old, f'{key} = "11 July 18:00"', 1), encoding="utf-8")
        code, _, err = refund(root, "2022-06-01", "2022-07-11")
        assert code == 2 and f'{key} = "11 July 18:00"' in err and "a date and time" in err, err


def test_a_timed_registration_deadline_in_another_zone(tmp_path: Path) -> None:
    root = workspace(tmp_path)
    path = root / "contest.toml"
    path.write_text(path.read_text(encoding="utf-8").replace('registration_deadline = ""',
                                                             "registration_deadline = 2022-06-30T12:00:00+02:00"),
                    encoding="utf-8")
    code, doc, err = refund(root, "2022-06-01", "2022-06-30 18:00")  # Shanghai: 12:00 in Paris, on the deadline
    assert code == 0, err
    assert doc["refund"] == "750.00" and "registration deadline 2022-06-30 18:00" in doc["reason"]
    code, doc, _ = refund(root, "2022-06-01", "2022-06-30 18:01")
    assert doc["refund"] == "0.00" and "2022-06-30 18:00 (Asia/Shanghai)" in doc["reason"]


# --- the reader's forms --------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "order", "expected"), [
    ("2022年7月11日 凌晨12点", "auto", datetime(2022, 7, 11, 0, 0)),  # 凌晨: the small hours of the named day
    ("2022年7月11日 凌晨1点", "auto", datetime(2022, 7, 11, 1, 0)),
    ("2022年7月11日 中午12点", "auto", datetime(2022, 7, 11, 12, 0)),
    ("2022年7月11日 晚上9点", "auto", datetime(2022, 7, 11, 21, 0)),
    ("2022年7月11日夜里12点30分", "auto", datetime(2022, 7, 12, 0, 30)),
    ("2022年7月11日 半夜12点", "auto", datetime(2022, 7, 12, 0, 0)),
    ("2022/7/11 下午3点半", "auto", datetime(2022, 7, 11, 15, 30)),
    ("2022-07-11 12 AM", "auto", datetime(2022, 7, 11, 0, 0)),
    ("2022-07-11 12 PM", "auto", datetime(2022, 7, 11, 12, 0)),
    ("2022-07-11 12:30 a.m.", "auto", datetime(2022, 7, 11, 0, 30)),
    ("11 July 2022 noon", "auto", datetime(2022, 7, 11, 12, 0)),
    ("Jul 11, 2022 11pm", "auto", datetime(2022, 7, 11, 23, 0)),
    ("11/07/2022 11pm", "dmy", datetime(2022, 7, 11, 23, 0)),
    ("11.07.2022", "auto", datetime(2022, 7, 11)),  # dotted: day first
    ("11.07.2022 23:10", "mdy", datetime(2022, 7, 11, 23, 10)),  # whatever the setting says of slashes
    ("07/07/2022", "auto", datetime(2022, 7, 7)),  # the same either way
    ("13/07/2022", "dmy", datetime(2022, 7, 13)),  # as the setting says
    ("22/07/11", "dmy", datetime(2011, 7, 22)),  # a two-digit year where the setting puts it
    ("07/07/07", "auto", datetime(2007, 7, 7)),  # every reading the same day
    ("22/07/11", "ymd", datetime(2022, 7, 11)),
])
def test_forms(text: str, order: str, expected: datetime) -> None:
    assert read_moment(text, SHANGHAI, order).at == expected.replace(tzinfo=SHANGHAI)


@pytest.mark.parametrize(("text", "words"), [
    ("2022年7月11日 夜里2点", "凌晨2点"),  # the small hours before or after that day?
    ("11 July 2022 midnight", "23:59"),  # the start or the end of the day?
    ("2022年7月11日 下午", "no hour"),
    ("11/07/2022 23", "not a time"),
    ("2022-07-11 13pm", "12-hour clock"),
    ("05/07/2022", "2022-07-05 (day first) or 2022-05-07 (month first)"),
])
def test_refused_forms_say_what_to_write(text: str, words: str) -> None:
    with pytest.raises(DateError) as caught:
        read_moment(text, SHANGHAI)
    assert repr(text) in str(caught.value) and words in str(caught.value)


def test_only_a_date_nothing_settles_is_ambiguous() -> None:
    assert is_ambiguous_date("05/07/2022") and is_ambiguous_date("5-7-22 10:00")
    assert not any(is_ambiguous_date(t) for t in ("05.07.2022", "07/07/2022", "13/07/2022", "2022-07-05", None))
    with pytest.raises(AmbiguousDateError) as caught:
        read_moment("05/07/2022 10:00", SHANGHAI)
    assert caught.value.rule == "date-ambiguous"
    assert (caught.value.day_first.month, caught.value.month_first.month) == (7, 5)


def test_a_time_is_known_to_be_written_or_not() -> None:
    assert [read_moment(v, SHANGHAI).has_time for v in ("2022-07-11", "2022年7月11日", "11 July 2022", "44753",
                                                        date(2022, 7, 11), datetime(2022, 7, 11))] == [False] * 6
    assert all(read_moment(v, SHANGHAI).has_time for v in (
        "2022-07-11 00:00", "2022年7月11日下午3点", "11 July 2022 11pm", "44753.5", "2022-07-11T00:00:00Z",
        datetime(2022, 7, 11, 9, 30)))


def test_excel_serial_numbers() -> None:
    one = read_moment(44753, SHANGHAI)
    assert one.at == datetime(2022, 7, 11, tzinfo=SHANGHAI) and not one.has_time
    assert read_moment(44753 - 1462, SHANGHAI, date1904=True).at == one.at
    assert read_moment("44747.395833", SHANGHAI).at == datetime(2022, 7, 5, 9, 30, tzinfo=SHANGHAI)
    assert read_moment(59, SHANGHAI).at.date() == date(1900, 2, 28)  # before Excel's phantom 29 February 1900
    assert read_moment(61, SHANGHAI).at.date() == date(1900, 3, 1)
    for bad in (0, -3, 3e7, True):
        with pytest.raises(DateError):
            read_moment(bad, SHANGHAI)


def test_the_options_of_one_command_are_one_column() -> None:
    read = read_options({"--registered-on": "13/05/2022", "--withdrawn-on": "11/07/2022", "--other": None},
                        SHANGHAI)
    assert read["--withdrawn-on"].day == date(2022, 7, 11) and "--other" not in read
    with pytest.raises(DateError) as caught:
        read_options({"--registered-on": "10/05/2022", "--withdrawn-on": "11/07/2022"}, SHANGHAI)
    message = str(caught.value)
    assert caught.value.rule == "date-ambiguous" and "\n" not in message
    assert "--registered-on '10/05/2022' and --withdrawn-on '11/07/2022'" in message
    assert "2022-05-10, 2022-07-11" in message and "2022-10-05, 2022-11-07" in message
    with pytest.raises(DateError, match="--on: 'soon'"):
        read_options({"--on": "soon"}, SHANGHAI)
    assert read_options({"--on": "11/07/2022"}, SHANGHAI, "dmy")["--on"].day == date(2022, 7, 11)


def test_deadlines() -> None:
    day = deadline(date(2022, 7, 11), SHANGHAI)
    assert day.last == datetime(2022, 7, 11, 23, 59, 59, 999999, tzinfo=SHANGHAI)
    assert day.first_late == datetime(2022, 7, 12, tzinfo=SHANGHAI)
    assert day.shown() == "2022-07-11 (end of day, Asia/Shanghai)"
    assert deadline("2022-07-11", SHANGHAI) == day
    assert not day.is_late(datetime(2022, 7, 11, 15, 59, 59, tzinfo=ZoneInfo("UTC")))
    assert day.is_late(datetime(2022, 7, 11, 16, 0, tzinfo=ZoneInfo("UTC")))
    instant = deadline(datetime(2022, 7, 11, 18, 0), SHANGHAI)
    assert instant.shown() == "2022-07-11 18:00 (Asia/Shanghai)" and not instant.whole_day
    assert deadline("2022-07-11T10:00:00Z", SHANGHAI).label() == "2022-07-11 18:00"
    with pytest.raises(DateError):
        deadline("soon", SHANGHAI)


# --- properties (hypothesis): one answer per column, and no ambiguous date guessed ---------------------------------

PROPERTY = hsettings(max_examples=150, deadline=None, database=None, derandomize=True)

# year-last dates, every day and month under 29 so that both readings are real dates when both numbers are <= 12
YEAR_LAST = st.builds(
    lambda a, b, sep, pad, year, clock: (f"{a:02d}{sep}{b:02d}" if pad else f"{a}{sep}{b}") + f"{sep}{year}{clock}",
    st.integers(1, 28), st.integers(1, 28), st.sampled_from(["/", "-", "."]), st.booleans(),
    st.sampled_from([2021, 2022]), st.sampled_from(["", " 10:30", " 23:59:59", " 下午3点", " 11pm"]))
OTHER = st.sampled_from(["2022-07-11", "2022年7月11日 晚上12点", "11 July 2022", "44753", "", "soon", "31/02/2022"])
COLUMN = st.lists(st.one_of(YEAR_LAST, YEAR_LAST, OTHER), min_size=1, max_size=12)
SETTING = st.sampled_from(["auto", "dmy", "mdy"])


def _answers(column: list[str], setting: str) -> dict[str, str]:
    """Each distinct cell's reading (or refusal) as text."""
    _, read = read_column(column, SHANGHAI, setting)
    return {cell: (r.at.isoformat() if not isinstance(r, DateError) and r is not None else str(r))
            for cell, r in zip(column, read, strict=True)}


@PROPERTY
@given(COLUMN, SETTING, st.randoms(use_true_random=False))
def test_a_column_reads_the_same_whatever_the_row_order(column: list[str], setting: str, rnd) -> None:
    shuffled = list(column)
    rnd.shuffle(shuffled)
    assert _answers(shuffled, setting) == _answers(column, setting)
    assert infer_date_order(shuffled, setting) == infer_date_order(column, setting)


def _numbers(cell: str) -> tuple[int, int, int] | None:
    """(first number, second number, year) of a year-last cell, as a person reads it."""
    m = re.match(r"^(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})", cell)
    return (int(m[1]), int(m[2]), int(m[3])) if m else None


@PROPERTY
@given(COLUMN, SETTING)
def test_every_ambiguous_cell_is_refused_or_follows_the_order(column: list[str], setting: str) -> None:
    """An ambiguous cell is read in [dates] order's order, or else in the order a cell of its column proves (a
    number over 12 where the day or the month is), or else refused; never guessed."""
    _, read = read_column(column, SHANGHAI, setting)
    numbers = [n for n in map(_numbers, column) if n]
    day_first = any(a > 12 >= b for a, b, _ in numbers)
    month_first = any(b > 12 >= a for a, b, _ in numbers)
    settled = setting if setting != "auto" else ("dmy" if day_first and not month_first else
                                                 "mdy" if month_first and not day_first else None)
    for cell, result in zip(column, read, strict=True):
        if not is_ambiguous_date(cell):
            continue
        found = _numbers(cell)
        assert found is not None
        a, b, year = found
        if settled is None:
            assert isinstance(result, AmbiguousDateError), (cell, result)
            continue
        assert isinstance(result, Moment), (cell, result)
        day, month = (a, b) if settled == "dmy" else (b, a)
        assert result.at.date() == date(year, month, day), (cell, settled)


@PROPERTY
@given(st.lists(st.integers(1, 28), min_size=2, max_size=6), st.integers(1, 12), SETTING)
def test_a_dotted_date_is_day_first_whatever_the_column(days: list[int], month: int, setting: str) -> None:
    column = [f"{d:02d}.{month:02d}.2022" for d in days] + ["05/07/2022"]
    _, read = read_column(column, SHANGHAI, setting)
    assert [r.at.date() for r in read[:-1] if isinstance(r, Moment)] == [date(2022, month, d) for d in days]


@hsettings(max_examples=25, deadline=None, database=None, derandomize=True)
@given(st.lists(st.one_of(YEAR_LAST, OTHER), min_size=1, max_size=8), SETTING, st.randoms(use_true_random=False))
def test_a_manifest_reads_each_entry_the_same_whatever_the_row_order(cells: list[str], setting: str, rnd) -> None:
    """The same through ingest: each contestant's submission time and date findings do not depend on the rows'
    order (the manifest names no photo: only the rows are read)."""
    import tempfile

    rows = [(f"C{i}", f"p{i}.jpg", cell) for i, cell in enumerate(cells)]
    shuffled = list(rows)
    rnd.shuffle(shuffled)
    seen = []
    for order in (rows, shuffled):
        with tempfile.TemporaryDirectory() as folder:
            lines = ["contestant_id,file,submitted_at", *(",".join(r) for r in order)]
            (Path(folder) / "entries.csv").write_text("\r\n".join(lines), encoding="utf-8")
            subs = read_submissions(Path(folder), settings_with(dates={"order": setting}))
            seen.append({e.contestant_id: (e.submitted_at, sorted(f.rule for f in e.ingest_findings))
                         for e in subs.entries if e.listed})
    assert seen[0] == seen[1]
