"""The member roster: import (CSV in any encoding, XLSX, Chinese headers), re-import with history, export that
round-trips, dues status around each deadline, member certificates read back from the PDF."""

from __future__ import annotations

import csv
import json
from datetime import date, datetime, timedelta
from pathlib import Path

import openpyxl
import pytest
from pypdf import PdfReader
from typer.testing import CliRunner

from milsetctl.cli import app
from milsetctl.members import export_roster, import_roster, member_rows, member_status
from milsetctl.members.roster import COLUMNS, RosterError
from milsetctl.members.status import GOOD, LAPSED, OVERDUE, standing
from milsetctl.settings import SettingsError
from milsetctl.workspace import init_workspace, open_workspace

runner = CliRunner()

HEADER = list(COLUMNS)
ROWS = [
    ["中国青少年科技教育协会", "China", "Asia", "李明", "youth+milset@example.cn", "1995-05-01", "2022-12-31"],
    ["Jeunes Sciences Québec", "Canada", "North America", "Marie Tremblay", "m.tremblay+fees@example.ca", "1987",
     "2022-07-11"],
    ["Junge Forscher Österreich", "Austria", "Europe", "Lukas Huber", "office@example.at", "2008-03-01",
     "2022-06-30"],
    ["=Science Club (formula-looking)", "Kenya", "Africa", "+254 20 123 4567", "club@example.ke", "2015-11-20",
     "2021-12-31"],
]


def write_csv(path: Path, header: list[str], rows: list[list[str]], encoding: str = "utf-8-sig") -> Path:
    with open(path, "w", encoding=encoding, newline="") as fh:
        csv.writer(fh, lineterminator="\r\n").writerows([header, *rows])
    return path


def new_ws(tmp_path: Path, name: str = "ws", extra_toml: str = ""):
    ws = init_workspace(tmp_path / name)
    if extra_toml:
        settings = ws.root / "contest.toml"
        settings.write_text(settings.read_text(encoding="utf-8") + extra_toml, encoding="utf-8")
        ws.close()
        ws = open_workspace(tmp_path / name)
    return ws


def test_import_then_export_round_trips_csv_and_xlsx(tmp_path: Path) -> None:
    roster = write_csv(tmp_path / "roster.csv", HEADER, ROWS)
    with new_ws(tmp_path) as ws:
        result = import_roster(ws, roster)
        assert [name for _, name in result.added] == [r[0] for r in ROWS] and not result.problems
        first = member_rows(ws)
        assert first[0]["email"] == "youth+milset@example.cn" and first[1]["member_since"] == "1987"
        assert first[3]["organisation"] == "=Science Club (formula-looking)"
        csv_out, n = export_roster(ws, tmp_path / "out" / "members.csv")
        xlsx_out, _ = export_roster(ws, tmp_path / "out" / "members.xlsx")
    assert n == 4
    text = csv_out.read_text(encoding="utf-8-sig")
    assert text.splitlines()[0] == ",".join(f'"{c}"' for c in COLUMNS)
    assert "'=Science Club" in text and "'+254 20" in text  # formula-safe in CSV
    book = openpyxl.load_workbook(xlsx_out)
    sheet = book.active
    assert [c.value for c in sheet[1]] == list(COLUMNS)
    cell = sheet["A5"]
    assert cell.value == "=Science Club (formula-looking)" and cell.data_type == "s" and cell.quotePrefix
    assert isinstance(sheet["G2"].value, datetime) and sheet["G2"].value.date() == date(2022, 12, 31)
    for exported, name in ((csv_out, "again-csv"), (xlsx_out, "again-xlsx")):
        with new_ws(tmp_path, name) as ws2:
            again = import_roster(ws2, exported)
            assert not again.problems, again.problems
            assert member_rows(ws2) == first  # nothing lost: Chinese names, '+' e-mails, year-only, dates


def test_chinese_headers_in_gb18030_and_xlsx_with_a_title_row(tmp_path: Path) -> None:
    headers = ["组织名称", "国家", "地区", "联系人", "邮箱", "入会时间", "会费缴至"]
    rows = [["中国青少年科技教育协会", "中国", "亚洲", "李明", "li+ming@example.cn", "1995年5月1日", "2022/12/31"],
            ["香港青年科学促进会", "中国", "亚洲", "陈嘉欣", "chan@example.hk", "2003", "31 December 2022"]]
    gbk = write_csv(tmp_path / "roster-gbk.csv", headers, rows, encoding="gb18030")
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["MILSET 会员名单 2022"])
    sheet.append(headers)
    sheet.append([rows[0][0], "中国", "亚洲", "李明", "li+ming@example.cn", date(1995, 5, 1), date(2022, 12, 31)])
    book.save(tmp_path / "roster.xlsx")
    for path, name in ((gbk, "gbk"), (tmp_path / "roster.xlsx", "xlsx")):
        with new_ws(tmp_path, name) as ws:
            result = import_roster(ws, path)
            assert not result.problems, result.problems
            m = member_rows(ws)[0]
            assert m["organisation"] == "中国青少年科技教育协会" and m["email"] == "li+ming@example.cn"
            assert (m["member_since"], m["fee_paid_until"]) == ("1995-05-01", "2022-12-31")
            if name == "gbk":
                assert member_rows(ws)[1]["fee_paid_until"] == "2022-12-31"
                assert member_rows(ws)[1]["member_since"] == "2003"


def test_reimport_updates_by_organisation_and_keeps_history(tmp_path: Path) -> None:
    roster = write_csv(tmp_path / "roster.csv", HEADER, ROWS)
    with new_ws(tmp_path) as ws:
        import_roster(ws, roster)
        # the next year's file: Québec renewed (written in another case), a contact changed, Austria left out,
        # and the file has no region column (regions stay as they were)
        cols = [c for c in COLUMNS if c != "region"]
        rows = [[r[i] for i, c in enumerate(COLUMNS) if c != "region"] for r in ROWS if "Österreich" not in r[0]]
        rows[1][0] = "JEUNES  sciences québec"
        rows[1][-1] = "2023-07-11"
        rows[0][2] = "王芳"
        result = import_roster(ws, write_csv(tmp_path / "roster-2023.csv", cols, rows))
        assert result.added == []
        changed = {name: fields for _, name, fields in result.changed}
        assert changed["JEUNES sciences québec"] == {
            "organisation": ("Jeunes Sciences Québec", "JEUNES sciences québec"),
            "fee_paid_until": ("2022-07-11", "2023-07-11")}
        assert changed["中国青少年科技教育协会"] == {"contact": ("李明", "王芳")}
        assert result.unchanged == 1 and [n for _, n in result.not_in_file] == ["Junge Forscher Österreich"]
        members = {m["member_id"]: m for m in member_rows(ws)}
        assert len(members) == 4 and members["M002"]["region"] == "North America"  # same ID, region kept
        history = [(h["member_id"], h["field"], h["old"], h["new"]) for h in ws.ledger.member_history("M002")]
        assert ("M002", "fee_paid_until", None, "2022-07-11") in history
        assert ("M002", "fee_paid_until", "2022-07-11", "2023-07-11") in history
        audits = [json.loads(a["detail"]) for a in ws.ledger.audit_trail(100) if a["action"] == "member-change"]
        assert len(audits) == 4 + 2
        assert {"member_id": "M001", "organisation": "中国青少年科技教育协会", "change": "updated",
                "fields": {"contact": ["李明", "王芳"]}, "source": "roster-2023.csv"} in audits
        # the same file again changes nothing
        assert import_roster(ws, tmp_path / "roster-2023.csv").changed == []


def test_bad_rows_are_named_and_the_others_imported(tmp_path: Path) -> None:
    rows = [ROWS[0], ["", "Chile", "Latin America", "Ana", "ana@example.cl", "", "2022-12-31"],
            ["Club A", "Peru", "", "", "not-an-email", "", "2022-12-31"],
            ["Club B", "Peru", "", "", "b@example.pe", "", "the end of June"],
            ["中国青少年科技教育协会", "China", "", "", "", "", "2023-01-01"], ROWS[1]]
    roster = write_csv(tmp_path / "roster.csv", HEADER, rows)
    ws = new_ws(tmp_path)
    ws.close()
    res = runner.invoke(app, ["members", "import", str(roster), "-w", str(ws.root)])
    assert res.exit_code == 1
    errors = [line for line in res.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 4
    assert "roster.csv row 3, cell A3 (organisation): the organisation's name is missing" in errors[0]
    assert "row 4, cell E4 (email): 'not-an-email' is not an e-mail address" in errors[1]
    assert "row 5, cell G5 (fee_paid_until): 'the end of June'" in errors[2]
    assert "row 6, cell A6 (organisation): 中国青少年科技教育协会 is also on row 2" in errors[3]
    assert "Traceback" not in res.output
    res = runner.invoke(app, ["members", "list", "-w", str(ws.root), "--json"])
    names = [m["organisation"] for m in json.loads(res.stdout)["members"]]
    assert names == ["中国青少年科技教育协会", "Jeunes Sciences Québec"]


def test_unusable_roster_is_one_message(tmp_path: Path) -> None:
    bad = write_csv(tmp_path / "people.csv", ["name", "grade"], [["x", "8"]])
    with new_ws(tmp_path) as ws, pytest.raises(RosterError, match="no organisation column"):
        import_roster(ws, bad)
    res = runner.invoke(app, ["members", "import", str(bad), "-w", str(tmp_path / "ws")])
    assert res.exit_code == 1 and res.stderr.count("error:") == 1 and "people.csv" in res.stderr


@pytest.mark.parametrize(("offset", "state", "days"), [
    (-1, GOOD, 1), (0, GOOD, 0), (1, OVERDUE, 1), (90, OVERDUE, 90), (91, LAPSED, 91)])
def test_standing_a_day_before_on_and_after_the_deadline(offset: int, state: str, days: int) -> None:
    deadline = date(2022, 7, 11)
    assert standing(deadline, deadline + timedelta(days=offset), 90) == (state, days)


def test_members_status_on_each_organisations_deadline(tmp_path: Path) -> None:
    roster = write_csv(tmp_path / "roster.csv", HEADER, ROWS)
    with new_ws(tmp_path, extra_toml="") as ws:
        import_roster(ws, roster)
        root = ws.root
    text = (root / "contest.toml").read_text(encoding="utf-8").replace("grace_days = 90", "grace_days = 30")
    (root / "contest.toml").write_text(text, encoding="utf-8")
    for row in ROWS:
        deadline = date.fromisoformat(row[6])
        for offset, state in ((-1, GOOD), (0, GOOD), (1, OVERDUE), (30, OVERDUE), (31, LAPSED)):
            day = deadline + timedelta(days=offset)
            res = runner.invoke(app, ["members", "status", "--on", day.isoformat(), "-w", str(root), "--json"])
            assert res.exit_code == 0, res.output
            doc = json.loads(res.stdout)
            assert doc["on"] == day.isoformat() and doc["grace_days"] == 30
            mine = next(m for m in doc["members"] if m["organisation"] == row[0])
            assert mine["status"] == state, (row[0], offset)
            if state == GOOD:
                assert mine["days_left"] == -offset and mine["days_overdue"] is None
            else:
                assert mine["days_overdue"] == offset
    res = runner.invoke(app, ["members", "status", "--on", "2022-07-12", "-w", str(root)],
                        env={"COLUMNS": "160"})
    assert "overdue 12 days" in res.stdout and "overdue 1 day" in res.stdout and "lapsed 193 days" in res.stdout
    res = runner.invoke(app, ["members", "status", "--on", "someday", "-w", str(root)])
    assert res.exit_code == 2 and "--on" in res.stderr


def test_status_defaults_to_today_in_the_contest_time_zone(tmp_path: Path) -> None:
    with new_ws(tmp_path) as ws:
        import_roster(ws, write_csv(tmp_path / "r.csv", HEADER, ROWS[:1]))
        result = member_status(ws)
        assert result.on == datetime.now(ws.settings.tz).date()


def test_members_settings_are_checked(tmp_path: Path) -> None:
    for toml, message in (("[members]\ngrace_days = -3\n", "grace_days = -3"),
                          ("[members]\ngrace_dais = 3\n", "did you mean grace_days"),
                          ('[members.aliases]\norganisaton = ["association"]\n', "no such roster column")):
        ws = init_workspace(tmp_path / f"w{len(message)}")
        ws.close()
        (ws.root / "contest.toml").write_text(toml, encoding="utf-8")
        with pytest.raises(SettingsError, match=message):
            open_workspace(ws.root)


def test_roster_header_alias_from_the_settings(tmp_path: Path) -> None:
    roster = write_csv(tmp_path / "r.csv", ["Verein", "Land", "bezahlt bis"], [["Jugend Club", "Germany",
                                                                              "2022-12-31"]])
    toml = '\n[members.aliases]\norganisation = ["Verein"]\ncountry = ["Land"]\nfee_paid_until = ["bezahlt bis"]\n'
    ws = init_workspace(tmp_path / "ws")
    ws.close()
    (ws.root / "contest.toml").write_text(toml, encoding="utf-8")
    with open_workspace(ws.root) as ws:
        result = import_roster(ws, roster)
        assert not result.problems
        assert member_rows(ws)[0]["fee_paid_until"] == "2022-12-31"


def test_member_certificates_for_organisations_in_good_standing(tmp_path: Path) -> None:
    from milsetctl.certificates import issue_certificates, verify_code

    with new_ws(tmp_path) as ws:
        res = runner.invoke(app, ["certificates", "member", "-w", str(ws.root)])
        assert res.exit_code == 1 and "run `milsetctl members import ROSTER.xlsx` first" in res.stderr
        import_roster(ws, write_csv(tmp_path / "roster.csv", HEADER, ROWS))
        batch = issue_certificates(ws, "member", workers=1)
        # good standing on the contest deadline 2022-07-11: China (paid to 2022-12-31) and Québec (to 2022-07-11)
        assert [i.recipient for i in batch.issued] == ["中国青少年科技教育协会", "Jeunes Sciences Québec"]
        texts = ["\n".join(p.extract_text() or "" for p in PdfReader(str(i.file)).pages) for i in batch.issued]
        assert "中国青少年科技教育协会" in texts[0] and "China" in texts[0]
        assert "Jeunes Sciences Québec" in texts[1] and "Canada" in texts[1]
        assert all("Member in Good Standing 2022" in t for t in texts)
        # MILSET issues them: signed by its offices ([certificates] member_signatures), never a jury's chair
        assert all("MILSET Secretary General" in t and "Jury" not in t for t in texts)
        check = verify_code(ws, batch.issued[0].code)
        assert check["valid"] and check["kind"] == "member" and check["recipient"] == "中国青少年科技教育协会"


def test_import_json_and_export_usage_errors(tmp_path: Path) -> None:
    roster = write_csv(tmp_path / "roster.csv", HEADER, ROWS[:2])
    root = new_ws(tmp_path).root
    res = runner.invoke(app, ["members", "import", str(roster), "-w", str(root), "--json"])
    assert res.exit_code == 0
    doc = json.loads(res.stdout)
    assert doc["members"] == 2 and [a["member_id"] for a in doc["added"]] == ["M001", "M002"]
    assert doc["problems"] == [] and doc["changed"] == []
    res = runner.invoke(app, ["members", "export", str(tmp_path / "members.pdf"), "-w", str(root)])
    assert res.exit_code == 2 and "members.pdf" in res.stderr
