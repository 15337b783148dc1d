"""`jury status` (issue 20): a round made by `jury sheets`, some sheets filled in as jurors fill them (openpyxl on
the real XLSX, a per-juror CSV, a long CSV), one partly, one never returned; the JSON gives each juror's state and
counts, each entry's quorum, the arrival time and the flags `score` computes; the ledger is byte for byte the same
after it."""

from __future__ import annotations

import csv
import hashlib
import json
import os
from datetime import UTC, datetime
from pathlib import Path

from jury_fixtures import jury_workspace
from notices_fixtures import set_sections
from openpyxl import load_workbook
from test_jury_sheets import blind
from typer.testing import CliRunner

from milsetctl.cli import app
from milsetctl.juryround.status import SAME_SCORES, STRAIGHT_LINING
from milsetctl.workspace import open_workspace

runner = CliRunner()
CRITERIA = ["originality", "information", "technique", "impact"]
JURORS = [("Ann Lee", "ann@example.org"), ("Bo Chen", "bo@example.org"), ("Cai Wen", "cai@example.org"),
          ("Dan Xu", "dan@example.org"), ("Eve Sun", "eve@example.org")]
ARRIVED = datetime(2022, 7, 15, 2, 0, tzinfo=UTC)  # 10:00 in Asia/Shanghai, the contest's time zone


def jury_round(tmp_path: Path, jurors: int = 4, quorum: int = 2, due: str = "2022-07-20", settings: str = "") -> Path:
    """A national round of 8 entries whose `jury sheets` made one XLSX per juror (`quorum` jurors per entry);
    returns the workspace folder. `settings`: whole sections of contest.toml to replace ([mail])."""
    with jury_workspace(tmp_path) as ws:
        blind(ws)
        root = ws.root
    toml = root / "contest.toml"
    text = toml.read_text(encoding="utf-8").replace('sheets_due = ""', f'sheets_due = "{due}"')
    toml.write_text(text, encoding="utf-8")
    if settings:
        set_sections(root, settings)
    people = tmp_path / "jurors.csv"
    with open(people, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["name", "affiliation", "country", "email", "school"])
        writer.writerows([name, "MILSET", "China", email, ""] for name, email in JURORS[:jurors])
    made = runner.invoke(app, ["jury", "sheets", "--jurors", str(people), "--quorum", str(quorum), "--seed", "3",
                               "-w", str(root)])
    assert made.exit_code == 0, made.output
    return root


def sheet_of(root: Path, juror_id: str) -> Path:
    (path,) = (root / "jury" / "sheets").glob(f"{juror_id} *.xlsx")
    return path


def sheet_ids(path: Path) -> list[str]:
    book = load_workbook(path, read_only=True)
    try:
        return [str(r[0]) for r in book["Scores"].iter_rows(min_row=2, values_only=True) if r and r[0]]
    finally:
        book.close()


def fill(path: Path, scores: dict[str, list[int]], target: Path | None = None) -> Path:
    """Type `scores` (anon_id -> one score per criterion) into the sheet's rows, as a juror does, and save it to
    `target` (default: in place)."""
    book = load_workbook(path)
    sheet = book["Scores"]
    for row in range(2, sheet.max_row + 1):
        anon = sheet.cell(row, 1).value
        for k, value in enumerate(scores.get(anon, [])):
            sheet.cell(row, 2 + k).value = value
    target = target or path
    target.parent.mkdir(parents=True, exist_ok=True)
    book.save(target)
    return target


def ledger_bytes(root: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(root.glob("ledger.sqlite*"))}


def audit_count(root: Path) -> int:
    with open_workspace(root, read_only=True) as ws:
        return int(ws.ledger.db.execute("SELECT COUNT(*) FROM audit").fetchone()[0])


def assigned(root: Path) -> dict[str, list[str]]:
    with open_workspace(root, read_only=True) as ws:
        out: dict[str, list[str]] = {}
        for r in ws.ledger.assignments():
            out.setdefault(r["juror_id"], []).append(r["anon_id"])
        return out


def status(root: Path, *args: str) -> dict:
    result = runner.invoke(app, ["jury", "status", *args, "--json", "-w", str(root)])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def late_round(tmp_path: Path, settings: str = "") -> tuple[Path, dict[str, list[str]]]:
    """The round of `jury_round` with its sheets back in jury/returned/: J01 and J02 complete, J03 two of its four
    entries scored, J04 nothing (no file). J01's sheet arrived at ARRIVED."""
    root = jury_round(tmp_path, settings=settings)
    pairs = assigned(root)
    back = root / "jury" / "returned"
    for jid, base in (("J01", 6), ("J02", 7)):
        path = sheet_of(root, jid)
        fill(path, {a: [base, base - 1, base + 1, base] for a in sheet_ids(path)}, back / path.name)
    path = sheet_of(root, "J03")
    fill(path, {a: [5, 6, 7, 8] for a in sheet_ids(path)[:2]}, back / path.name)
    stamp = ARRIVED.timestamp()
    os.utime(back / sheet_of(root, "J01").name, (stamp, stamp))
    return root, pairs


def test_states_counts_and_quorum_without_writing(tmp_path: Path) -> None:
    root, pairs = late_round(tmp_path)
    assert {j: len(a) for j, a in pairs.items()} == {"J01": 4, "J02": 4, "J03": 4, "J04": 4}
    before, audits = ledger_bytes(root), audit_count(root)
    data = status(root)  # jury/returned/ exists: read by default
    assert ledger_bytes(root) == before and audit_count(root) == audits  # nothing stored
    assert data["folder"] == str(root / "jury" / "returned")

    jurors = {j["juror_id"]: j for j in data["jurors"]}
    assert {k: (j["juror"], j["state"], j["scored"], j["expected"]) for k, j in jurors.items()} == {
        "J01": ("Ann Lee", "returned", 4, 4), "J02": ("Bo Chen", "returned", 4, 4),
        "J03": ("Cai Wen", "partial", 2, 4), "J04": ("Dan Xu", "missing", 0, 4)}
    j03_order = sheet_ids(sheet_of(root, "J03"))
    assert jurors["J03"]["missing"] == j03_order[2:]  # which ones, in the juror's sheet order
    assert jurors["J04"]["missing"] == sheet_ids(sheet_of(root, "J04")) and jurors["J04"]["sheet"] is None
    assert jurors["J01"]["arrived"] == "2022-07-15T10:00:00+08:00"  # the file's time, in the contest's zone
    assert jurors["J04"]["arrived"] is None
    assert all(j["problems"] == 0 for j in data["jurors"]) and data["problems"] == []

    # per entry: the jurors whose complete scores came back, against the quorum of 2
    done = {"J01": set(pairs["J01"]), "J02": set(pairs["J02"]), "J03": set(j03_order[:2]), "J04": set()}
    want = {a: sum(a in ids for ids in done.values()) for ids in pairs.values() for a in ids}
    assert {e["anon_id"]: (e["jurors"], e["quorum_met"]) for e in data["entries"]} == {
        a: (n, n >= 2) for a, n in want.items()}
    assert len(data["entries"]) == 8 and data["quorum"] == 2
    assert data["summary"] == {"returned": 2, "partial": 1, "missing": 1, "entries": 8,
                               "entries_quorum_met": sum(n >= 2 for n in want.values())}


def test_terminal_table(tmp_path: Path) -> None:
    root, _ = late_round(tmp_path)
    result = runner.invoke(app, ["jury", "status", "-w", str(root)], env={"COLUMNS": "120"})
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    row = next(line for line in lines if "J03" in line)
    assert "Cai Wen" in row and "partial" in row and "2/4" in row
    assert "2022-07-15 10:00" in next(line for line in lines if "J01" in line)
    assert "missing" in next(line for line in lines if "J04" in line)
    assert "2 returned, 1 partial, 1 missing of 4 jurors." in result.output
    assert "Quorum (2 jurors each): met for" in result.output


def test_default_folder_is_the_sheets_folder_without_returned(tmp_path: Path) -> None:
    """Without jury/returned/, the sheets as `jury sheets` wrote them: a blank one is missing, not arrived."""
    root = jury_round(tmp_path)
    path = sheet_of(root, "J02")
    fill(path, {a: [8, 8, 7, 9] for a in sheet_ids(path)})
    data = status(root)
    assert data["folder"] == str(root / "jury" / "sheets")
    states = {j["juror_id"]: (j["state"], j["scored"], j["arrived"] is not None) for j in data["jurors"]}
    assert states == {"J01": ("missing", 0, False), "J02": ("returned", 4, True), "J03": ("missing", 0, False),
                      "J04": ("missing", 0, False)}
    assert not any(e["quorum_met"] for e in data["entries"])  # one juror each at most, of 2


def test_every_format_score_reads_counts(tmp_path: Path) -> None:
    """A juror who answers with a CSV of their own, another with the long CSV: read as `score` reads them."""
    root = jury_round(tmp_path)
    pairs = assigned(root)
    back = root / "jury" / "returned"
    back.mkdir(parents=True)
    with open(back / "J02 Bo Chen.csv", "w", newline="", encoding="utf-8-sig") as fh:
        writer = csv.writer(fh)
        writer.writerow(["anon_id", *CRITERIA, "comment"])
        for a in pairs["J02"]:
            writer.writerow([a, 7, 8, 6, 7, ""])
    with open(back / "long.csv", "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["juror", "anon_id", "criterion", "score"])
        for a in pairs["J03"][:3]:
            writer.writerows(["Cai Wen", a, c, 6] for c in CRITERIA)
    # J04 recuses from one entry and scores one more; one of J04's cells is out of range
    path = sheet_of(root, "J04")
    ids = sheet_ids(path)
    fill(path, {ids[0]: [6, 6, 5, 7], ids[1]: [11, 6, 5, 7]}, back / path.name)
    book = load_workbook(back / path.name)
    book["Scores"].cell(4, 2 + len(CRITERIA)).value = "RECUSED: I know this photographer"
    book.save(back / path.name)
    data = status(root)
    jurors = {j["juror_id"]: j for j in data["jurors"]}
    assert (jurors["J02"]["state"], jurors["J02"]["scored"]) == ("returned", 4)
    assert (jurors["J03"]["state"], jurors["J03"]["scored"], jurors["J03"]["missing"]) == (
        "partial", 3, [a for a in sheet_ids(sheet_of(root, "J03")) if a not in pairs["J03"][:3]])
    # ids[0] scored, ids[1] out of range (not scored), ids[2] recused (nothing owed), ids[3] blank
    assert (jurors["J04"]["state"], jurors["J04"]["scored"], jurors["J04"]["recused"]) == ("partial", 2, 1)
    assert jurors["J04"]["missing"] == [ids[1], ids[3]] and jurors["J04"]["problems"] == 1
    assert [(p["sheet"], p["code"]) for p in data["problems"]] == [(path.name, "score-out-of-range")]
    assert jurors["J01"]["state"] == "missing"


def test_flags_are_the_sheet_pattern_and_scores_own(tmp_path: Path) -> None:
    """Every juror scores all 8 entries (quorum 0): J03 gives one number per entry across the criteria, J04 the
    same scores to every entry, J05 ranks the photos the other way round from the panel. The panel flags are the
    ones `score` itself computes (score --compare, which stores nothing)."""
    root = jury_round(tmp_path, jurors=5, quorum=0)
    ids = sheet_ids(sheet_of(root, "J01"))
    quality = {a: 2 + k for k, a in enumerate(sorted(ids))}  # 2..9
    patterns = {
        "J01": lambda q: [q, q + 1 if q < 10 else q, q, q - 1],
        "J02": lambda q: [q - 1, q, q + 1 if q < 10 else q, q],
        "J03": lambda q: [q, q, q, q],
        "J04": lambda q: [7, 6, 8, 7],
        "J05": lambda q: [11 - q, 12 - q if q > 2 else 9, 11 - q, 10 - q],
    }
    for jid, pattern in patterns.items():
        path = sheet_of(root, jid)
        fill(path, {a: pattern(quality[a]) for a in sheet_ids(path)})
    data = status(root)
    flags = {j["juror_id"]: j["flags"] for j in data["jurors"]}
    assert STRAIGHT_LINING in flags["J03"] and SAME_SCORES not in flags["J03"]
    assert SAME_SCORES in flags["J04"] and STRAIGHT_LINING not in flags["J04"]
    assert "against the panel" in flags["J05"]
    assert not {SAME_SCORES, STRAIGHT_LINING} & set(flags["J01"] + flags["J02"])
    assert all(e["quorum_met"] for e in data["entries"]) and {e["quorum"] for e in data["entries"]} == {5}

    scored = runner.invoke(app, ["score", str(root / "jury" / "sheets"), "--compare", "--json", "-w", str(root)])
    by_name = {j["juror"]: j["flag"] for j in json.loads(scored.stdout)["jurors"]}
    panel = {"harsh", "lenient", "against the panel"}
    for juror in data["jurors"]:
        assert set(juror["flags"]) & panel == ({by_name[juror["juror"]]} if by_name[juror["juror"]] else set())


def test_no_round_and_no_folder(tmp_path: Path) -> None:
    with jury_workspace(tmp_path) as ws:
        root = ws.root
    result = runner.invoke(app, ["jury", "status", "-w", str(root)])
    assert result.exit_code == 2 and "no such folder" in result.output
    (root / "jury" / "sheets").mkdir(parents=True)
    result = runner.invoke(app, ["jury", "status", "-w", str(root)])
    assert result.exit_code == 1 and "milsetctl anonymise" in result.output
