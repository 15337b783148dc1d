"""Consent and data minimisation for minors (issue 21): the guardian_consent column in any spelling, consent-missing
by country (PIPL, GDPR Art. 8 and its member states' ages) and by age (a birth date, an age, else the grade), and
the personal columns the contest does not need (birth date, home address, phone, national ID) dropped at ingest:
named once by extra-personal-data, found nowhere in the ledger or the validation reports afterwards."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from conftest import make_jpeg, settings_with, write_manifest
from openpyxl import load_workbook
from typer.testing import CliRunner

from milsetctl.cli import app
from milsetctl.ingest import read_submissions
from milsetctl.models import Entry
from milsetctl.rules import load_rules
from milsetctl.rules.field import consent_age, read_consent
from milsetctl.settings import SettingsError, check_settings, defaults
from milsetctl.workspace import init_workspace

runner = CliRunner()


@pytest.mark.parametrize("value", ["yes", "Yes", "YES", "y", "Y", "true", "TRUE", "1", "✓", "✔", "√", "是", "同意",
                                   "已同意", "ｙｅｓ", " yes. ", "Yes (signed 2022-06-01)", "已签署"])
def test_consent_yes_in_any_spelling(value: str) -> None:
    assert read_consent(value) is True


@pytest.mark.parametrize("value", ["no", "No", "n", "N", "false", "0", "✗", "×", "否", "不同意", "未同意", "没有"])
def test_consent_no_in_any_spelling(value: str) -> None:
    assert read_consent(value) is False


@pytest.mark.parametrize("value", ["", "  ", None, "maybe", "见附件", "?"])
def test_consent_blank_or_unreadable(value: str | None) -> None:
    assert read_consent(value) is None


@pytest.mark.parametrize(("country", "age"), [
    ("China", 14), ("中国", 14), ("CN", 14), ("Belgium", 13), ("Denmark", 13), ("Sweden", 13), ("Spain", 14),
    ("Italy", 14), ("Austria", 14), ("France", 15), ("Czechia", 15), ("Czech Republic", 15), ("Greece", 15),
    ("Germany", 16), ("德国", 16), ("Netherlands", 16), ("Ireland", 16), ("United Kingdom", 13), ("Brazil", 16),
    (None, 16),
])
def test_consent_age_by_country(country: str | None, age: int) -> None:
    assert consent_age(country, defaults())[0] == age


def test_consent_age_from_the_contest_settings() -> None:
    settings = settings_with(privacy={"consent_age": {"中国": 16, "default": 18}})
    assert consent_age("China", settings) == (16, "for China (contest.toml [privacy.consent_age])")
    assert consent_age("Germany", settings)[0] == 16  # GDPR's table still answers for its members
    assert consent_age("Brazil", settings)[0] == 18
    assert "PIPL" in consent_age("CN", defaults())[1] and "GDPR Art. 8" in consent_age("France", defaults())[1]


def test_bad_consent_ages_are_refused() -> None:
    with pytest.raises(SettingsError, match=r"\[privacy.consent_age\] \"China\" = \"14\": must be an age"):
        check_settings({"privacy": {"consent_age": {"China": "14"}}}, defaults().raw)
    with pytest.raises(SettingsError, match="must be an age"):
        check_settings({"privacy": {"consent_age": {"default": 40}}}, defaults().raw)
    check_settings({"privacy": {"consent_age": {"China": 14}, "require_consent_column": True}}, defaults().raw)


def _consent(grade: str = "8", country: str | None = "China", settings=None, **extra: str) -> list[tuple[str, dict]]:
    entry = Entry(key="file:p.jpg", file="p.jpg", contestant_id="C1", grade=grade, country=country, extra=dict(extra))
    return list(load_rules()["consent-missing"].check(entry, None, settings or defaults()))


def test_consent_missing_by_grade_when_no_birth_date() -> None:
    # China, 14: grade 7 (12-13) and 8 (13-14) need consent, grade 9 (14-15) does not
    assert "in grade 7 (12-13 years old" in _consent("7", guardian_consent="")[0][0]
    message, data = _consent("初二", guardian_consent="")[0]
    assert "grade 8" in message and "under 14, the age of consent in China (PIPL Art. 31)" in message
    assert data == {"age": 13, "consent_age": 14, "country": "China"}
    assert _consent("9", guardian_consent="") == []
    # Germany, 16: grade 10 (youngest 15) needs it, grade 11 not; France (15): grade 10 not
    assert _consent("10", "Germany", guardian_consent="")
    assert _consent("11", "Germany", guardian_consent="") == []
    assert _consent("10", "France", guardian_consent="") == []


def test_consent_missing_by_age() -> None:
    assert "aged 15" in _consent("11", "Germany", guardian_consent="", age="15")[0][0]  # the age beats the grade
    assert _consent("8", "China", guardian_consent="", age="14") == []


def test_consent_given_refused_or_unreadable() -> None:
    assert _consent("8", guardian_consent="是") == []
    assert _consent("8", guardian_consent="yes") == []
    assert "consent not given (guardian_consent '否')" in _consent("8", guardian_consent="否")[0][0]
    assert "neither yes nor no" in _consent("8", guardian_consent="maybe")[0][0]
    assert "empty" in _consent("8", guardian_consent="")[0][0]


def test_consent_checked_only_where_the_manifest_asks_for_it_unless_required() -> None:
    assert _consent("7") == []  # no guardian_consent column: consent collected on paper
    required = settings_with(privacy={"require_consent_column": True})
    assert "no guardian_consent column" in _consent("7", settings=required)[0][0]
    assert _consent("9", settings=required) == []
    # the contest's own country for entries that name none
    national = settings_with(contest={"country": "Belgium"})
    assert _consent("8", None, national, guardian_consent="") == []  # 13 in Belgium
    assert _consent("7", None, national, guardian_consent="")  # grade 7: youngest 12


# --- ingest ----------------------------------------------------------------------------------------------------------
PERSONAL = {"phone": "13800138000", "id": "110101200903041234", "address": "朝阳区建国路88号", "born": "2009-03-04",
            "phone2": "+49 170 1234567", "address2": "Hauptstrasse 5, 10115 Berlin", "born2": "2006-11-30",
            "id2": "T22000129"}


def _chinese_contest(src: Path) -> Path:
    """A Chinese-headed manifest with consent and every personal column the brief names, as a form exports it."""
    headers = ["编号", "姓名", "年级", "国家", "文件", "标题", "描述", "提交时间", "家长同意", "出生日期", "手机",
               "身份证号", "家庭住址"]
    desc = "The moon rose over the lake and we watched it from the hill."
    rows = [
        ["C1", "李明", "初二", "中国", "photos/p0.jpg", "Moon", desc, "2022-07-01", "同意", PERSONAL["born"],
         PERSONAL["phone"], PERSONAL["id"], PERSONAL["address"]],
        ["C2", "王芳", "8", "中国", "photos/p1.jpg", "Stars", desc, "2022-07-01", "", "", "", "", ""],
        ["C3", "张伟", "7", "中国", "photos/p2.jpg", "Sun", desc, "2022-07-01", "否", "", "", "", ""],
        ["C4", "赵磊", "9", "中国", "photos/p3.jpg", "Sky", desc, "2022-07-01", "", "", "", "", ""],
        ["C5", "Hans", "10", "Germany", "photos/p4.jpg", "Alps", desc, "2022-07-01", "", PERSONAL["born2"],
         PERSONAL["phone2"], PERSONAL["id2"], PERSONAL["address2"]],
    ]
    for i in range(len(rows)):
        make_jpeg(src / f"photos/p{i}.jpg", size=(900, 600), exif={"make": "Canon", "model": "EOS"}, seed=i + 1)
    write_manifest(src, rows, headers=headers)
    return src


def test_ingest_keeps_consent_and_age_and_drops_personal_columns(tmp_path: Path) -> None:
    subs = read_submissions(_chinese_contest(tmp_path / "src"), defaults())
    entries = {e.contestant_id: e for e in subs.entries}
    assert entries["C1"].extra == {"guardian_consent": "同意", "age": "13"}  # born 2009-03-04, submitted 2022-07-01
    assert entries["C2"].extra == {"guardian_consent": ""}  # the column was asked, the cell left empty
    assert entries["C5"].extra == {"guardian_consent": "", "age": "15"}
    everything = json.dumps([e.__dict__ for e in subs.entries], default=str, ensure_ascii=False)
    assert not [v for v in PERSONAL.values() if v in everything]
    found = [(e.contestant_id, f) for e in subs.entries for f in e.ingest_findings if f.rule == "extra-personal-data"]
    assert len(found) == 1 and found[0][0] == "C1"
    message = found[0][1].message
    for header, meaning in (("出生日期", "date of birth"), ("手机", "phone number"), ("身份证号", "national ID number"),
                            ("家庭住址", "home address")):
        assert f"'{header}' ({meaning})" in message
    assert "filled in on 2 row(s)" in message


@pytest.mark.parametrize("headers", [
    ["Date of Birth", "Home Address", "Phone", "National ID"], ["DOB", "Address", "Mobile", "ID card number"],
    ["birthday", "住址", "电话", "身份证"], ["出生年月", "家庭地址", "联系电话", "身份证号码"],
])
def test_personal_columns_are_found_by_any_usual_header(tmp_path: Path, headers: list[str]) -> None:
    src = tmp_path / "src"
    make_jpeg(src / "a.jpg", size=(64, 48))
    values = ["2010-05-06", "1 Main St", "555-0100", "X1234567"]
    write_manifest(src, [["C1", "a.jpg", "Moon", *values]], headers=["contestant_id", "file", "title", *headers])
    entry = read_submissions(src, defaults()).entries[0]
    assert entry.extra == {"age": "12"}
    assert [f.rule for f in entry.ingest_findings] == ["extra-personal-data"]
    assert all(f"'{h}'" in entry.ingest_findings[0].message for h in headers)


def test_sidecars_drop_personal_keys_and_name_them_once(tmp_path: Path) -> None:
    src = tmp_path / "src"
    for i in range(3):
        make_jpeg(src / f"p{i}.jpg", size=(64, 48), seed=i)
        fields = {"contestant_id": f"C{i}", "title": "Moon", "grade": "8", "guardian_consent": "yes"}
        if i:
            fields |= {"phone": f"555-010{i}", "birth date": "2009-01-02"}
        (src / f"p{i}.json").write_text(json.dumps(fields), encoding="utf-8")
    entries = read_submissions(src, defaults()).entries
    assert [e.extra for e in entries] == [{"guardian_consent": "yes"}] + [{"guardian_consent": "yes", "age": "13"}] * 2
    found = [(e.file, f.message) for e in entries for f in e.ingest_findings]
    assert len(found) == 1 and found[0][0] == "p1.jpg"
    assert "JSON sidecars have keys" in found[0][1] and "'phone'" in found[0][1] and "2 row(s)" in found[0][1]
    assert "555-010" not in found[0][1]


# --- the whole run through the CLI -----------------------------------------------------------------------------------
def _validate(tmp_path: Path, extra_toml: str = "", ages: str = "") -> tuple[dict[str, dict], Path, Path]:
    src = _chinese_contest(tmp_path / "src")
    ws = tmp_path / "ws"
    init_workspace(ws, src).close()
    if ages:  # written where the coordinator finds the table, under its commented example
        toml = ws / "contest.toml"
        toml.write_text(toml.read_text(encoding="utf-8").replace("# China = 14\n", ages, 1), encoding="utf-8")
    with open(ws / "contest.toml", "a", encoding="utf-8") as f:  # the detectors and the width are not tested here
        f.write('face = "off"\ntext-watermark = "off"\nmin-width = "off"\nregion-unknown = "off"\n' + extra_toml)
    result = runner.invoke(app, ["validate", str(src), "-w", str(ws), "--json", "--jobs", "1"])
    assert result.exit_code == 0, result.output
    return {e["contestant_id"]: e for e in json.loads(result.stdout)["entries"]}, src, ws


def _findings(entry: dict, rule_id: str) -> list[dict]:
    return [f for f in entry["findings"] if f["rule"] == rule_id]


def _leaks(text: str) -> list[str]:
    return [v for v in PERSONAL.values() if v in text]


def test_validate_reports_consent_and_keeps_no_personal_data(tmp_path: Path) -> None:
    got, src, ws = _validate(tmp_path)
    assert got["C1"]["status"] == "eligible" and not _findings(got["C1"], "consent-missing")  # 13, consent given
    for cid, words in (("C2", "is empty"), ("C3", "not given (guardian_consent '否')"), ("C5", "aged 15, under 16")):
        (finding,) = _findings(got[cid], "consent-missing")
        assert finding["severity"] == "review" and words in finding["message"] and got[cid]["status"] == "review"
    assert not _findings(got["C4"], "consent-missing")  # grade 9 in China: 14 or older
    personal = [(cid, f) for cid, e in got.items() for f in _findings(e, "extra-personal-data")]
    assert [(cid, f["severity"]) for cid, f in personal] == [("C1", "info")]
    assert "'身份证号' (national ID number)" in personal[0][1]["message"]

    # the ledger: no value of a personal column in any table, nor anywhere in the workspace's files
    db = sqlite3.connect(ws / "ledger.sqlite")
    tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")]
    cells = [str(v) for t in tables for row in db.execute(f'SELECT * FROM "{t}"') for v in row if v is not None]
    extras = {json.dumps(json.loads(r[0]), ensure_ascii=False) for r in db.execute("SELECT extra FROM entries")}
    db.close()
    assert cells and not _leaks("\n".join(cells))
    assert '{"guardian_consent": "同意", "age": "13"}' in extras
    for path in ws.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert not [v for v in PERSONAL.values() if v.encode() in data], path

    # the validation report, as CSV, HTML and XLSX
    for name in ("x.csv", "x.html", "x.xlsx"):
        out = tmp_path / name
        result = runner.invoke(app, ["validate", "-w", str(ws), "--jobs", "1", "--report", str(out)])
        assert result.exit_code == 0, result.output
        if name.endswith(".xlsx"):
            text = "\n".join(str(c) for row in load_workbook(out).active.iter_rows(values_only=True) for c in row)
        else:
            text = out.read_text(encoding="utf-8-sig")
        assert "consent-missing" in text and "extra-personal-data" in text
        assert not _leaks(text), name


def test_consent_missing_can_be_made_a_rejection(tmp_path: Path) -> None:
    got, _, _ = _validate(tmp_path, 'consent-missing = "reject"\n')
    assert [f["severity"] for f in _findings(got["C2"], "consent-missing")] == ["reject"]
    assert got["C2"]["status"] == "rejected" and got["C1"]["status"] == "eligible"


def test_consent_ages_from_contest_toml(tmp_path: Path) -> None:
    # every minor needs consent: C4 (grade 9, 14) too; C1 still has it
    got, _, _ = _validate(tmp_path, ages="China = 18\n")
    assert _findings(got["C4"], "consent-missing") and not _findings(got["C1"], "consent-missing")
    assert "contest.toml [privacy.consent_age]" in _findings(got["C4"], "consent-missing")[0]["message"]
