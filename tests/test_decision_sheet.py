"""Decisions in bulk: `decide --review-sheet FILE` writes the entries in review, `decide --from FILE` records the
filled-in sheet (XLSX or a GBK CSV with Chinese headers), row by row, naming the rows it cannot take."""

from __future__ import annotations

import json
from pathlib import Path

import openpyxl
from conftest import make_jpeg, write_manifest
from typer.testing import CliRunner

from milsetctl.cli import app
from milsetctl.decisionsheet import read_decision_sheet, record_decisions
from milsetctl.ledger import Ledger

runner = CliRunner()
HEADERS = ["contestant_id", "name", "school", "grade", "province", "file", "title", "description", "submitted_at"]


def _photo(path: Path, seed: int) -> None:
    make_jpeg(path, exif={"make": "Canon", "model": f"Canon Model {seed}"}, quality=80, seed=seed)


def _contest(root: Path) -> tuple[Path, dict[str, str]]:
    """Four entries from Henan (a province no regional round lists: review), one from Beijing (eligible), one
    stray photo no row names (review, and no contestant: it cannot be accepted). Returns (ws, file -> entry)."""
    src = root / "submissions"
    rows = []
    for i in range(5):
        _photo(src / f"p{i}.jpg", seed=i + 1)
        province = "北京市" if i == 4 else "河南省"
        rows.append([f"C00{i}", f"Name {i}", "School", "9", province, f"p{i}.jpg", f"Moon {i}",
                     "The moon rising over the hills.", "2022-07-05 09:30"])
    _photo(src / "stray.jpg", seed=9)
    write_manifest(src, rows, headers=HEADERS)
    ws = root / "ws"
    result = runner.invoke(app, ["validate", str(src), "-w", str(ws), "--json", "--jobs", "1"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    return ws, {e["file"]: e["entry_id"] for e in doc["entries"]}


def _statuses(ws: Path) -> dict[str, str]:
    ledger = Ledger(ws / "ledger.sqlite")
    try:
        return {r["entry_id"]: r["status"] for r in ledger.entries()}
    finally:
        ledger.close()


def test_review_sheet_filled_in_and_read_back(tmp_path: Path) -> None:
    ws, ids = _contest(tmp_path)
    before = _statuses(ws)
    in_review = sorted(e for e, s in before.items() if s == "review")
    assert len(in_review) == 5  # the four Henan entries and the stray photo
    sheet = tmp_path / "decisions.xlsx"
    result = runner.invoke(app, ["decide", "--review-sheet", str(sheet), "-w", str(ws)])
    assert result.exit_code == 0, result.output
    assert "5 entries wait for a decision" in " ".join(result.output.split())

    book = openpyxl.load_workbook(sheet)
    page = book.active
    header = [c.value for c in page[1]]
    assert header[:3] == ["entry", "decision", "reason"]
    rows = {r[0]: r for r in page.iter_rows(min_row=2, values_only=True)}
    assert sorted(rows) == in_review
    assert "region-unknown" in rows[ids["p0.jpg"]][header.index("findings")]
    assert ids["p4.jpg"] not in rows  # eligible: nothing to decide

    # the coordinator fills it in: two accepts, one reject, one left blank, and the stray photo accepted by mistake
    for r in range(2, page.max_row + 1):
        entry = page.cell(r, 1).value
        decision, reason = {ids["p0.jpg"]: ("Accept", "Henan is in the central round this year"),
                            ids["p1.jpg"]: ("接受", "河南属于中部赛区"),
                            ids["p2.jpg"]: ("reject", "the school withdrew it"),
                            ids["stray.jpg"]: ("accept", "looks fine")}.get(entry, (None, None))
        page.cell(r, 2).value, page.cell(r, 3).value = decision, reason
    book.save(sheet)

    # asked again before recording: the filled-in sheet is not written over
    again = runner.invoke(app, ["decide", "--review-sheet", str(sheet), "-w", str(ws)])
    assert again.exit_code == 1 and "already holds 4 filled-in row(s)" in " ".join(again.output.split())
    assert openpyxl.load_workbook(sheet).active.cell(2, 2).value is not None

    result = runner.invoke(app, ["decide", "--from", str(sheet), "-w", str(ws)])
    assert result.exit_code == 1  # one row refused
    said = " ".join(result.output.split())
    assert "3 decision(s) recorded (2 eligible, 1 rejected); 1 row(s) refused; 1 left blank" in said
    assert "no contestant" in said and "row " in said
    after = _statuses(ws)
    assert after[ids["p0.jpg"]] == after[ids["p1.jpg"]] == "eligible"
    assert after[ids["p2.jpg"]] == "rejected"
    assert after[ids["p3.jpg"]] == "review" and after[ids["stray.jpg"]] == "review"
    ledger = Ledger(ws / "ledger.sqlite")
    try:
        history = ledger.decision_history(ids["p1.jpg"])
        assert [(h["decision"], h["reason"]) for h in history] == [("accept", "河南属于中部赛区")]
        assert [r["action"] for r in ledger.audit_trail()].count("decide") == 3
    finally:
        ledger.close()

    # the same sheet again: nothing is recorded twice, the refused row is named again
    again = runner.invoke(app, ["--by", "second pair of eyes", "decide", "--from", str(sheet), "-w", str(ws)])
    assert again.exit_code == 1
    assert "0 decision(s) recorded (0 eligible, 0 rejected); 1 row(s) refused; 1 left blank; 3 already decided so" \
        in " ".join(again.output.split())
    assert _statuses(ws) == after


def test_a_gbk_csv_with_chinese_headers_and_faulty_rows(tmp_path: Path) -> None:
    """A CSV saved by Excel on Chinese Windows (GBK), headers in Chinese, a title row above them; rows with an
    unknown entry, a word that is no decision, a decision without reason, and one entry decided two ways."""
    ws, ids = _contest(tmp_path)
    sheet = tmp_path / "决定.csv"
    lines = ["复核结果,,", "作品编号,决定,理由",
             f"{ids['p0.jpg']},通过,中部赛区",
             "E9999,通过,不存在",
             f"{ids['p1.jpg']},maybe,想想",
             f"{ids['p2.jpg']},拒绝,",
             f"{ids['p3.jpg']},reject,撤回",
             f"{ids['p3.jpg']},accept,又想参加",
             ",,"]
    sheet.write_bytes("\r\n".join(lines).encode("gbk"))
    rows, refused, blank = read_decision_sheet(sheet)
    assert [(r.entry_id, r.decision) for r in rows] == [(ids["p0.jpg"], "accept"), ("E9999", "accept"),
                                                         (ids["p3.jpg"], "reject"), (ids["p3.jpg"], "accept")]
    assert [n for n, _ in refused] == [5, 6]
    assert "'maybe' is neither accept nor reject" in refused[0][1] and "without a reason" in refused[1][1]

    ledger = Ledger(ws / "ledger.sqlite")
    try:
        batch = record_decisions(ledger, sheet, who="coordinator")
    finally:
        ledger.close()
    assert [o.entry_id for o in batch.recorded] == [ids["p0.jpg"], ids["p3.jpg"]]
    assert [n for n, _ in batch.refused] == [4, 5, 6, 8]
    assert "no entry E9999" in batch.refused[0][1] and "decide it once" in batch.refused[3][1]
    after = _statuses(ws)
    assert after[ids["p0.jpg"]] == "eligible" and after[ids["p3.jpg"]] == "rejected"
    assert after[ids["p1.jpg"]] == after[ids["p2.jpg"]] == "review"


def test_bulk_and_single_forms_are_not_mixed(tmp_path: Path) -> None:
    ws, ids = _contest(tmp_path)
    mixed = runner.invoke(app, ["decide", ids["p0.jpg"], "accept", "--from", "x.csv", "-w", str(ws)])
    assert mixed.exit_code == 2 and "one of them" in mixed.output
    bare = runner.invoke(app, ["decide", "-w", str(ws)])
    assert bare.exit_code == 2 and "--review-sheet" in " ".join(bare.output.split())
    unreadable = tmp_path / "notes.csv"
    unreadable.write_text("name,comment\nx,y\n", encoding="utf-8")
    result = runner.invoke(app, ["decide", "--from", str(unreadable), "-w", str(ws)])
    assert result.exit_code == 2 and "no 'entry' and 'decision' columns" in " ".join(result.output.split())
    assert "Traceback" not in result.output
