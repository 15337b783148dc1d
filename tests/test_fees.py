"""Registration fees: the refund rule on the deadline's day boundary, exact money in 0- and 2-decimal currencies,
bad input (exit 2, one message), the batch table, and quotes at the member's or standard rate."""

from __future__ import annotations

import csv
import json
import re
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest
from typer.testing import CliRunner

from milsetctl.cli import app
from milsetctl.members import import_roster
from milsetctl.members.fees import FeeInputError, compute_refund, quote_fee
from milsetctl.money import AmountError, minor_unit, money_text, parse_amount, round_money
from milsetctl.settings import SettingsError, defaults
from milsetctl.workspace import init_workspace, open_workspace

runner = CliRunner()


def workspace(tmp_path: Path, toml: str = "", name: str = "ws") -> Path:
    ws = init_workspace(tmp_path / name)
    ws.close()
    if toml:
        (ws.root / "contest.toml").write_text(toml, encoding="utf-8")
    return ws.root


def refund_json(root: Path | None, paid: str, registered: str, withdrawn: str) -> tuple[int, dict, str]:
    args = ["fees", "refund", "--paid", paid, "--registered-on", registered, "--withdrawn-on", withdrawn, "--json"]
    if root is not None:
        args += ["-w", str(root)]
    res = runner.invoke(app, args)
    return res.exit_code, (json.loads(res.stdout) if res.exit_code == 0 else {}), res.stderr


# --- the rule on the deadline's boundary ---------------------------------------------------------------------------


@pytest.mark.parametrize(("withdrawn", "refund", "retained"), [
    ("2022-07-11 23:59", "750.00", "250.00"),  # the deadline day's last minute, Asia/Shanghai
    ("2022-07-11T23:59:59+08:00", "750.00", "250.00"),
    ("2022-07-11", "750.00", "250.00"),  # the day alone: on the deadline
    ("2022-07-12 00:00", "0.00", "1000.00"),  # the next day's first minute
    ("2022-07-12", "0.00", "1000.00"),
    ("2022-07-11T15:59:00Z", "750.00", "250.00"),  # 23:59 in Shanghai
    ("2022-07-11T16:00:00Z", "0.00", "1000.00"),  # 00:00 on 12 July in Shanghai, still 11 July in UTC
])
def test_refund_on_the_deadline_day_boundary_in_the_contest_time_zone(tmp_path: Path, withdrawn: str, refund: str,
                                                                      retained: str) -> None:
    code, doc, err = refund_json(tmp_path / "none", "1000", "2022-06-01", withdrawn)
    assert code == 0, err
    assert doc == {"paid": "1000.00", "refund": refund, "retained": retained, "currency": "EUR",
                   "reason": doc["reason"]}
    assert ("on or before" in doc["reason"]) == (refund != "0.00")
    assert "2022-07-11" in doc["reason"]


def test_the_registration_deadline_setting_and_another_time_zone(tmp_path: Path) -> None:
    root = workspace(tmp_path, '[contest]\ntimezone = "Europe/Paris"\n[fees]\nregistration_deadline = 2022-06-30\n')
    code, doc, _ = refund_json(root, "100", "2022-06-01", "2022-06-30 23:59")
    assert code == 0 and doc["refund"] == "75.00" and "registration deadline 2022-06-30" in doc["reason"]
    code, doc, _ = refund_json(root, "100", "2022-06-01", "2022-07-01 00:00")
    assert doc["refund"] == "0.00"
    # 23:30 UTC on 30 June is 01:30 on 1 July in Paris: too late
    code, doc, _ = refund_json(root, "100", "2022-06-01", "2022-06-30T23:30:00+00:00")
    assert doc["refund"] == "0.00"


@pytest.mark.parametrize(("currency", "paid", "refund", "retained"), [
    ("EUR", "10.10", "7.58", "2.52"),  # 7.575 -> 7.58
    ("EUR", "0.62", "0.47", "0.15"),  # 0.465 -> 0.47 half-up (half-even, Python's round, would give 0.46)
    ("EUR", "2.10", "1.58", "0.52"),  # 1.575: float arithmetic gives 1.5749999 -> 1.57
    ("CNY", "333.33", "250.00", "83.33"),  # 249.9975 -> 250.00
    ("CNY", "0.01", "0.01", "0.00"),  # 0.0075 -> 0.01
    ("JPY", "1002", "752", "250"),  # 751.5 -> 752
    ("JPY", "1006", "755", "251"),  # 754.5 -> 755 half-up (half-even: 754)
    ("JPY", "1001", "751", "250"),  # 750.75 -> 751
    ("JPY", "3", "2", "1"),  # 2.25 -> 2
    ("JPY", "0", "0", "0"),
    ("KWD", "1.001", "0.751", "0.250"),  # three decimals: 0.75075 -> 0.751
])
def test_partial_amounts_round_half_up_to_the_minor_unit(tmp_path: Path, currency: str, paid: str, refund: str,
                                                         retained: str) -> None:
    root = workspace(tmp_path, f'[fees]\ncurrency = "{currency}"\n')
    code, doc, err = refund_json(root, paid, "2022-06-01", "2022-07-01")
    assert code == 0, err
    assert (doc["refund"], doc["retained"], doc["currency"]) == (refund, retained, currency)
    assert Decimal(doc["refund"]) + Decimal(doc["retained"]) == Decimal(doc["paid"])


def test_a_different_fee_percent(tmp_path: Path) -> None:
    root = workspace(tmp_path, "[fees]\nwithdrawal_fee_percent = 12.5\n")
    code, doc, _ = refund_json(root, "80", "2022-06-01", "2022-07-01")
    assert doc["refund"] == "70.00" and "12.5%" in doc["reason"]


# --- bad input: exit 2, one message --------------------------------------------------------------------------------


@pytest.mark.parametrize(("paid", "registered", "withdrawn", "message"), [
    ("-100", "2022-06-01", "2022-07-01", "--paid: '-100' is negative"),
    ("-0.01", "2022-06-01", "2022-07-01", "is negative"),
    ("abc", "2022-06-01", "2022-07-01", "--paid: 'abc' is not an amount"),
    ("NaN", "2022-06-01", "2022-07-01", "'NaN' is not an amount"),
    ("1e3", "2022-06-01", "2022-07-01", "'1e3' is not an amount"),
    ("100,5", "2022-06-01", "2022-07-01", "decimal point (100.50)"),
    ("2.500", "2022-06-01", "2022-07-01", "--paid: '2.500' could be 2500 or 2.5: write 2500 or 2.50"),
    ("10.0001", "2022-06-01", "2022-07-01", "more decimals than EUR has"),
    ("10.001", "2022-06-01", "2022-07-01", "could be 10001 or 10.001: write 10001"),
    ("USD 100", "2022-06-01", "2022-07-01", "is in USD, but the fees are in EUR"),
    ("100", "2022-06-01", "2022-05-31", "before --registered-on 2022-06-01"),
    ("100", "2022-06-01 10:00", "2022-06-01 09:59", "before --registered-on"),
    ("100", "2022-06-01", "soon", "--withdrawn-on: 'soon'"),
    ("100", "June", "2022-07-01", "--registered-on"),
])
def test_bad_input_exits_2_with_one_message(tmp_path: Path, paid: str, registered: str, withdrawn: str,
                                            message: str) -> None:
    res = runner.invoke(app, ["fees", "refund", "--paid", paid, "--registered-on", registered, "--withdrawn-on",
                              withdrawn, "--json", "-w", str(tmp_path)])
    assert res.exit_code == 2
    assert res.stdout == ""
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], res.stderr
    with pytest.raises(FeeInputError):
        compute_refund(paid, registered, withdrawn, defaults())


def test_same_day_withdrawal_is_fine_and_missing_options_are_a_usage_error(tmp_path: Path) -> None:
    code, doc, _ = refund_json(None, "100", "2022-06-01 10:00", "2022-06-01")
    assert code == 0 and doc["refund"] == "75.00"  # a day alone is not "before" a time on that day
    res = runner.invoke(app, ["fees", "refund", "--paid", "100", "-w", str(tmp_path)])
    assert res.exit_code == 2 and "--registered-on, --withdrawn-on" in res.stderr


def test_money_is_exact_decimal() -> None:
    assert minor_unit("EUR") == 2 and minor_unit("cny") == 2 and minor_unit("JPY") == 0
    assert round_money(Decimal("2.675"), "EUR") == Decimal("2.68")  # float: round(2.675, 2) == 2.67
    assert money_text(Decimal("750"), "EUR") == "750.00" and money_text(Decimal("750"), "JPY") == "750"
    assert parse_amount("1,000.50", "EUR") == Decimal("1000.50")
    assert parse_amount("€ 20", "EUR") == Decimal("20.00")
    assert parse_amount(750.1, "EUR") == Decimal("750.10")  # an XLSX number cell: its shortest decimal form
    assert parse_amount(0.1 * 301, "EUR") == Decimal("30.10")  # a computed cell's binary noise
    with pytest.raises(AmountError, match="more decimals"):
        parse_amount(30.105, "EUR")
    assert parse_amount("¥1000", "JPY") == Decimal("1000")
    for bad in ("", "12a", "--5", "Infinity", True):
        with pytest.raises(AmountError):
            parse_amount(bad, "EUR")
    with pytest.raises(AmountError, match="not an ISO 4217"):
        minor_unit("EURO")


# --- European amounts: a thousands group or decimals? -----------------------------------------------------------------


@pytest.mark.parametrize(("paid", "message"), [
    ("2.500", "--paid: '2.500' could be 2500 or 2.5: write 2500 or 2.50"),  # read 2.50 EUR
    ("€1.000", "--paid: '€1.000' could be 1000 or 1: write 1000 or 1.00"),  # read 1.00
    ("1.000", "--paid: '1.000' could be 1000 or 1: write 1000 or 1.00"),
    ("1,500", "--paid: '1,500' could be 1500 or 1.5: write 1500 or 1.50"),  # read 1500.00; German 1,5
])
def test_a_lone_separator_before_three_digits_is_refused_with_both_readings(tmp_path: Path, paid: str,
                                                                             message: str) -> None:
    res = runner.invoke(app, ["fees", "refund", "--paid", paid, "--registered-on", "2022-06-01", "--withdrawn-on",
                              "2022-07-01", "--json", "-w", str(tmp_path / "none")])
    assert res.exit_code == 2 and res.stdout == ""
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], res.stderr


def test_european_amounts_the_minor_unit_settles_are_read() -> None:
    assert parse_amount("1.000,00", "EUR") == Decimal("1000.00")
    assert parse_amount("1000,50", "EUR") == Decimal("1000.50")
    assert parse_amount("€ 12.345.678,90", "EUR") == Decimal("12345678.90")
    assert parse_amount("0.500", "EUR") == Decimal("0.50")  # no thousands group starts with 0
    assert parse_amount("1.500", "KWD") == Decimal("1.500")  # three decimals are KWD's own
    assert parse_amount(Decimal("2.500"), "EUR") == Decimal("2.50")  # a number cell is not text
    for bad, words in (("1,500", "KWD"), ("2.500", "JPY"), ("1.000,00", "JPY"), ("1.000,5", "EUR")):
        with pytest.raises(AmountError):
            parse_amount(bad, words)
    with pytest.raises(AmountError, match="could be 2500 or 2.5: write 2500$"):
        parse_amount("2.500", "JPY")  # 2.5 is no yen amount


def test_an_ambiguous_amount_in_a_batch_is_not_computed_naming_its_cell(tmp_path: Path) -> None:
    src = tmp_path / "withdrawals.csv"
    src.write_text("name,paid,registered_on,withdrawn_on\r\nAnna,2.500,2022-05-01,2022-07-01\r\n"
                   "Boris,\"1.000,00\",2022-05-01,2022-07-01\r\n", encoding="utf-8")
    res = runner.invoke(app, ["fees", "refund", "--batch", str(src), "--out", str(tmp_path / "out.csv"), "--json",
                              "-w", str(tmp_path / "none")])
    assert res.exit_code == 1
    doc = json.loads(res.stdout)
    assert [w.get("refund") for w in doc["withdrawals"]] == [None, "750.00"]
    (problem,) = doc["problems"]
    assert "withdrawals.csv row 2, cell B2 (paid): '2.500' could be 2500 or 2.5: write 2500 or 2.50" in problem
    with open(tmp_path / "out.csv", encoding="utf-8-sig") as fh:
        rows = list(csv.reader(fh))
    assert "not computed" in rows[1]


def test_fee_settings_are_checked(tmp_path: Path) -> None:
    for toml, message in (('[fees]\ncurrency = "EURO"\n', "not an ISO 4217"),
                          ("[fees]\nwithdrawal_fee_percent = 125\n", "from 0 to 100"),
                          ('[fees]\nregistration_deadline = "soon"\n', "must be a date"),
                          ("[fees.events.ESI]\nmember = 600.5\n", 'write the rate in quotes ("600.5")'),
                          ('[fees.events.ISEF]\nmember = "10"\n', "no standard rate"),
                          ('[fees.events.ESI]\nmember = "-5"\n', "is negative"),
                          ('[fees.events.ESI]\nprice = "5"\n', "no such setting")):
        root = workspace(tmp_path, toml, name=f"w{abs(hash(toml))}")
        with pytest.raises(SettingsError, match=re.escape(message)):
            open_workspace(root)
        res = runner.invoke(app, ["fees", "refund", "--paid", "1", "--registered-on", "2022-06-01",
                                  "--withdrawn-on", "2022-06-02", "-w", str(root)])
        assert res.exit_code == 2 and "contest.toml" in res.stderr


# --- batch ---------------------------------------------------------------------------------------------------------

WITHDRAWALS = [
    ["registration", "name", "paid", "registered_on", "withdrawn_on"],
    ["R1", "张伟", "1000.00", "2022-05-10", "2022-06-20"],
    ["R2", "=HYPERLINK(\"http://x\",\"click\")", "200", "2022-05-12", "2022-07-11 23:59"],
    ["R3", "Olga", "200", "2022-05-12", "2022-07-12 00:00"],
    ["R4", "刘䶮", "30.10", "2022-06-01", "2022-07-01"],
    ["R5", "Bad amount", "two hundred", "2022-06-01", "2022-07-01"],
    ["R6", "Too early", "50", "2022-06-01", "2022-05-01"],
]


def test_batch_writes_a_formula_safe_table_of_what_is_refunded_and_why(tmp_path: Path) -> None:
    src = tmp_path / "withdrawals.csv"
    with open(src, "w", encoding="utf-8-sig", newline="") as fh:
        csv.writer(fh).writerows(WITHDRAWALS)
    root = workspace(tmp_path)
    out = tmp_path / "refunds.xlsx"
    res = runner.invoke(app, ["fees", "refund", "--batch", str(src), "--out", str(out), "-w", str(root), "--json"])
    assert res.exit_code == 1  # two rows could not be computed; the rest are in the table
    errors = [line for line in res.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 2
    assert "withdrawals.csv row 6, cell C6 (paid): 'two hundred' is not an amount" in errors[0]
    assert "withdrawals.csv row 7, cell E7 (withdrawn_on): withdrawn 2022-05-01, before the registration" in errors[1]
    doc = json.loads(res.stdout)
    assert doc["totals"] == {"paid": "1430.10", "refund": "922.58", "retained": "507.52"}
    assert [w.get("refund") for w in doc["withdrawals"]] == ["750.00", "150.00", "0.00", "22.58", None, None]
    sheet = openpyxl.load_workbook(out)["refunds"]
    header = [c.value for c in sheet[1]]
    assert header == ["row", *WITHDRAWALS[0], "refund", "retained", "currency", "outcome", "reason"]
    rows = [[c.value for c in r] for r in sheet.iter_rows(min_row=2)]
    assert rows[0][1:3] == ["R1", "张伟"] and rows[0][6:10] == [750, 250, "EUR", "refunded"]
    name = sheet.cell(row=3, column=3)
    assert name.value == WITHDRAWALS[2][1] and name.data_type == "s" and name.quotePrefix  # text, not a formula
    assert rows[2][9] == "not refunded" and "after the contest deadline 2022-07-11" in rows[2][10]
    assert rows[4][9] == "not computed" and "'two hundred' is not an amount" in rows[4][10]
    assert sheet.cell(row=2, column=7).number_format == "0.00"
    # paid is a number like refund and retained (it was the text '1000.00'), in the currency's format; a paid
    # cell that could not be read stays as written
    paid = sheet.cell(row=2, column=4)
    assert paid.value == 1000 and paid.data_type == "n" and paid.number_format == "0.00"
    assert rows[4][3] == "two hundred"
    summary = {r[0].value: r[1].value for r in openpyxl.load_workbook(out)["summary"].iter_rows(min_row=2)}
    assert summary["refund"] == pytest.approx(922.58) and summary["not computed"] == 2
    audit = [a for a in open_workspace(root).ledger.audit_trail(10) if a["action"] == "fees-refund-batch"]
    assert audit and json.loads(audit[0]["detail"])["refund"] == "922.58"
    # the terminal table says whose withdrawal each row is (the file's name column), not only its row number
    res = runner.invoke(app, ["fees", "refund", "--batch", str(src), "--out", str(out), "-w", str(root)],
                        env={"COLUMNS": "120"})
    lines = res.stdout.splitlines()
    assert any("name" in line and "paid" in line for line in lines)
    assert any("张伟" in line and "750.00" in line for line in lines)
    assert any("Olga" in line and "not refunded" in line for line in lines)


def test_batch_from_xlsx_with_chinese_headers_in_yen_to_csv(tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["报名编号", "缴费金额", "报名日期", "退出日期"])
    sheet.append(["R1", 1002, date(2022, 6, 1), datetime(2022, 7, 11, 23, 59)])
    sheet.append(["R2", 1000, date(2022, 6, 1), datetime(2022, 7, 12, 0, 0)])
    book.save(tmp_path / "w.xlsx")
    root = workspace(tmp_path, '[fees]\ncurrency = "JPY"\n')
    out = tmp_path / "out" / "refunds.csv"
    res = runner.invoke(app, ["fees", "refund", "--batch", str(tmp_path / "w.xlsx"), "--out", str(out), "-w",
                              str(root)])
    assert res.exit_code == 0, res.output
    rows = list(csv.reader(out.read_text(encoding="utf-8-sig").splitlines()))
    assert rows[0][-5:] == ["refund", "retained", "currency", "outcome", "reason"]
    assert rows[1][-5:-1] == ["752", "250", "JPY", "refunded"]
    assert rows[2][-5:-1] == ["0", "1000", "JPY", "not refunded"]


def test_batch_usage_errors(tmp_path: Path) -> None:
    src = tmp_path / "w.csv"
    src.write_text("a,b\n1,2\n", encoding="utf-8")
    res = runner.invoke(app, ["fees", "refund", "--batch", str(src), "--out", str(tmp_path / "x.pdf"),
                              "-w", str(tmp_path)])
    assert res.exit_code == 2 and "x.pdf" in res.stderr
    res = runner.invoke(app, ["fees", "refund", "--batch", str(src), "--paid", "5", "-w", str(tmp_path)])
    assert res.exit_code == 2
    res = runner.invoke(app, ["fees", "refund", "--batch", str(src), "--out", str(tmp_path / "x.csv"),
                              "-w", str(tmp_path)])
    assert res.exit_code == 1 and "no paid and withdrawn_on columns" in res.stderr


# --- quotes --------------------------------------------------------------------------------------------------------

ROSTER = [["organisation", "country", "email", "fee_paid_until"],
          ["日本青少年科学協会", "Japan", "sato+milset@example.jp", "2023-07-10"],
          ["Junge Forscher Österreich", "Austria", "office@example.at", "2023-07-09"],
          ["Club Science Lima", "Peru", "", "2022-01-01"],
          ["Club Science Cusco", "Peru", "", "2024-01-01"]]


@pytest.fixture
def roster_ws(tmp_path: Path):
    root = workspace(tmp_path)
    with open(tmp_path / "roster.csv", "w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows(ROSTER)
    with open_workspace(root) as ws:
        import_roster(ws, tmp_path / "roster.csv")
        yield ws


def test_member_rate_for_good_standing_on_the_event_date(roster_ws) -> None:
    # ESI on 2023-07-10 (the default settings): Japan paid until that very day, Austria one day short
    q = quote_fee(roster_ws, "esi", "日本青少年科学協会")
    assert (q.rate, q.amount, q.member_id, q.standing) == ("member", Decimal("600.00"), "M001", "good-standing")
    q = quote_fee(roster_ws, "ESI", "junge forscher")
    assert (q.rate, q.amount, q.standing) == ("standard", Decimal("750.00"), "overdue")
    assert "overdue on 2023-07-10" in q.reason
    assert quote_fee(roster_ws, "Expo-Sciences Regional", "M004").rate == "member"
    q = quote_fee(roster_ws, "ESR", "Nobody Association")
    assert q.rate == "standard" and q.member_id is None and "not on the member roster" in q.reason
    with pytest.raises(FeeInputError, match="several members"):
        quote_fee(roster_ws, "ESI", "Club Science")
    with pytest.raises(FeeInputError, match="no event 'ISEF'"):
        quote_fee(roster_ws, "ISEF", "M001")


def test_quote_through_the_cli(roster_ws) -> None:
    res = runner.invoke(app, ["fees", "quote", "ESI", "--org", "日本青少年科学協会", "-w", str(roster_ws.root),
                              "--json"])
    assert res.exit_code == 0
    doc = json.loads(res.stdout)
    assert doc["fee"] == "600.00" and doc["rate"] == "member" and doc["event_date"] == "2023-07-10"
    assert doc["member_rate"] == "600.00" and doc["standard_rate"] == "750.00" and doc["currency"] == "EUR"
    res = runner.invoke(app, ["fees", "quote", "ESI", "--org", "Junge Forsher", "-w", str(roster_ws.root)],
                        env={"COLUMNS": "200"})
    assert res.exit_code == 0 and "750.00 EUR" in res.stdout and "did you mean Junge Forscher" in res.stdout
    res = runner.invoke(app, ["fees", "quote", "nothing", "-w", str(roster_ws.root)])
    assert res.exit_code == 2 and "photo-contest" in res.stderr


def test_event_rates_in_yen_from_the_settings(tmp_path: Path) -> None:
    toml = ('[fees]\ncurrency = "JPY"\n[fees.events.ESI]\nmember = "60000"\nstandard = "75000"\n'
            '[fees.events.tokyo-camp]\nname = "Tokyo Science Camp"\ndate = 2023-08-01\nmember = "5000"\n'
            'standard = "8000"\n')
    root = workspace(tmp_path, toml)
    with open_workspace(root) as ws:
        q = quote_fee(ws, "Tokyo Science Camp", None)
        assert (q.amount, q.currency, q.event_day) == (Decimal("8000"), "JPY", date(2023, 8, 1))
        assert q.as_json()["fee"] == "8000"


def test_day_first_dates_as_the_settings_say(tmp_path: Path) -> None:
    root = workspace(tmp_path, '[dates]\norder = "dmy"\n')
    code, doc, _ = refund_json(root, "100", "01/06/2022", "11/07/2022 23:59")
    assert code == 0 and doc["refund"] == "75.00" and "withdrawn 2022-07-11 23:59" in doc["reason"]
    code, doc, _ = refund_json(root, "100", "01/06/2022", "12/07/2022")
    assert doc["refund"] == "0.00"
