"""A fair final (issue 20) through the CLI: `jury final --cut` / `--places 3` writes the jurors' final sheets,
they are filled in with openpyxl as a juror would, `score --final` combines them with the Schulze method beside
the score order, the audit trail and the ledger keep the outcome, and `awards --use-final` is the chair's choice
(the SPEC default stays the scores). Also: `score --compare` on a quorum design says per-juror z-scores mislead.

The round: 4 middle-school and 4 high-school entries, five jurors (Ed from the school of MC4444's author, so he
must not rank it). In the middle school MA2222 (mean 8.0) and MC4444 (7.75) lie within one standard error of each
other on the Qualifier cut (floor(0.35 x 4) = 1 place); the high school's jurors all agree, so it needs no final.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import shutil
import statistics
from pathlib import Path
from typing import Any

import pytest
from conftest import make_jpeg
from jury_fixtures import jury_workspace
from openpyxl import load_workbook
from test_scoring_read import write_xlsx
from typer.testing import CliRunner

from milsetctl.cli import app
from milsetctl.workspace import open_workspace

runner = CliRunner()
ANON = {"E0001": "MA2222", "E0002": "HB3333", "E0003": "MC4444", "E0004": "HD5555", "E0005": "ME6666",
        "E0006": "HF7777", "E0007": "MG8888", "E0008": "HH9999"}
# juror -> anon -> the mark given on every criterion (None: not on the juror's sheet: Ed's conflict)
MARKS = {
    "Ann": {"MA2222": 9, "MC4444": 7, "ME6666": 4, "MG8888": 2},
    "Bo": {"MA2222": 8, "MC4444": 9, "ME6666": 4, "MG8888": 3},
    "Cy": {"MA2222": 7, "MC4444": 8, "ME6666": 5, "MG8888": 2},
    "Di": {"MA2222": 9, "MC4444": 7, "ME6666": 4, "MG8888": 2},
    "Ed": {"MA2222": 7, "ME6666": 4, "MG8888": 3},
}
HIGH = {"HB3333": 9, "HD5555": 5, "HF7777": 3, "HH9999": 2}
JURORS_CSV = ("name,affiliation,country,email,school\n"
              "Ann,Uni,China,ann@example.org,Uni A\nBo,Uni,China,bo@example.org,Uni B\n"
              "Cy,Uni,China,cy@example.org,Uni C\nDi,Uni,China,di@example.org,Uni D\n"
              "Ed,School,China,ed@example.org,广州市第六中学\n")


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A scored round: anon IDs with packaged photos, the juror file's jurors, every sheet stored and ranked."""
    base = tmp_path_factory.mktemp("final")
    with jury_workspace(base) as ws:
        for i, (entry_id, anon) in enumerate(ANON.items()):
            ws.ledger.add_anon_id(anon, entry_id)
            photo = make_jpeg(ws.root / "jury" / "package" / "photos" / f"{anon}.jpg", size=(600, 400), exif={},
                              seed=i)
            ws.ledger.set_anon_file(anon, f"photos/{anon}.jpg", hashlib.sha256(photo.read_bytes()).hexdigest())
        ws.ledger.round_id()
    root = base / "ws"
    (root / "jurors.csv").write_text(JURORS_CSV, encoding="utf-8")
    made = cli("jury", "sheets", "--jurors", str(root / "jurors.csv"), "-w", str(root))
    assert made.exit_code == 0, made.output
    score_sheets(root)
    return root


def score_sheets(root: Path) -> None:
    with open_workspace(root) as ws:
        round_id = ws.ledger.round_id()
    returned = root / "jury" / "returned"
    for k, (juror, marks) in enumerate(MARKS.items(), start=1):
        rows = [[a, *[m] * 4] for a, m in {**marks, **HIGH}.items()]
        write_xlsx(returned / f"{juror}.xlsx", juror, rows, round_id=round_id, juror_id=f"J{k:02d}")
    scored = cli("score", str(returned), "-w", str(root))
    assert scored.exit_code == 0, scored.output


@pytest.fixture
def ws_root(template: Path, tmp_path: Path) -> Path:
    root = tmp_path / "ws"
    shutil.copytree(template, root)
    return root


def cli(*args: str) -> Any:
    return runner.invoke(app, list(args))


def plain(text: str) -> str:
    return re.sub(r"\s+", " ", text)


def table_rows(text: str) -> list[list[str]]:
    """The body rows of the terminal's tables, as lists of cell texts."""
    return [[c.strip() for c in line.strip().strip("│").split("│")] for line in text.splitlines()
            if line.startswith("│")]


def final_sheets(root: Path) -> dict[str, Path]:
    """juror name -> their final sheet."""
    out = {}
    for path in sorted((root / "jury" / "final").glob("*.xlsx")):
        book = load_workbook(path, read_only=True)
        meta = {r[0]: r[1] for r in book["milsetctl"].iter_rows(values_only=True)}
        book.close()
        out[str(meta["juror"])] = path
    return out


def fill(path: Path, ranks: dict[str, int | None], comments: dict[str, str] | None = None) -> None:
    """Type the juror's ranks into the 'your rank' column, as Excel would save them."""
    book = load_workbook(path)
    sheet = book["Final"]
    header = [c.value for c in sheet[1]]
    rank_col, comment_col = header.index("your rank") + 1, header.index("comment") + 1
    for row in range(2, sheet.max_row + 1):
        anon = sheet.cell(row, 1).value
        if anon in ranks:
            sheet.cell(row, rank_col).value = ranks[anon]
        if comments and anon in comments:
            sheet.cell(row, comment_col).value = comments[anon]
    book.save(path)


def audit(root: Path, action: str) -> list[dict[str, Any]]:
    with open_workspace(root) as ws:
        return [json.loads(r["detail"]) for r in ws.ledger.audit_rows(kinds=[action])]


def test_cut_final_sheets_hold_the_short_list_thumbnails_and_conflicts(ws_root: Path) -> None:
    made = cli("jury", "final", "--cut", "--json", "-w", str(ws_root))
    assert made.exit_code == 0, made.output
    data = json.loads(made.stdout)
    assert [g["group"] for g in data["groups"]] == ["middle"]
    middle = data["groups"][0]
    assert [e["anon_id"] for e in middle["entries"]] == ["MA2222", "MC4444"]
    assert middle["cut"] == 1 and middle["first"] == 1 and middle["seats"] == 1
    assert middle["reference_score"] == pytest.approx(80.0)
    # the band's SE: root mean square of the middle school's entries' standard errors (sd / sqrt(jurors), 0-100)
    ses = [statistics.stdev(v) / math.sqrt(len(v)) * 10 for v in
           ([MARKS[j][a] for j in MARKS if a in MARKS[j]] for a in ("MA2222", "MC4444", "ME6666", "MG8888"))]
    assert middle["se"] == pytest.approx(math.sqrt(sum(s * s for s in ses) / 4), abs=1e-6)
    assert 42 < 80 - middle["se"] <= 77.5  # MC4444 (77.5) lies within one SE of the cut, ME6666 (42) far below
    assert any(n.startswith("high: no entry within 1 standard error") for n in data["notes"])
    assert data["thumbnails"] == 2 and data["missing_photos"] == []
    jurors = {j["juror"]: j for j in data["jurors"]}
    assert set(jurors) == set(MARKS) and jurors["Ed"]["conflicts"] == ["MC4444"]
    assert all(j["conflicts"] == [] for name, j in jurors.items() if name != "Ed")

    sheets = final_sheets(ws_root)
    assert set(sheets) == set(MARKS)
    book = load_workbook(sheets["Ed"])
    assert book.sheetnames == ["Instructions", "Final", "milsetctl"]
    assert book["milsetctl"].sheet_state == "hidden"
    sheet = book["Final"]
    assert [c.value for c in sheet[1]] == ["anon_id", "group", "photo", "your rank", "comment"]
    rows = {sheet.cell(r, 1).value: r for r in range(2, sheet.max_row + 1)}
    assert set(rows) == {"MA2222", "MC4444"}
    assert len(sheet._images) == 2  # a thumbnail per row
    assert sheet.protection.sheet and not sheet.protection.password
    assert sheet.cell(rows["MA2222"], 4).protection.locked is False  # the rank cell is the juror's to fill
    assert sheet.cell(rows["MC4444"], 4).protection.locked is True  # Ed's conflict: locked, marked
    assert "conflict of interest" in sheet.cell(rows["MC4444"], 5).value
    assert {img.anchor._from.row + 1 for img in sheet._images} == set(rows.values())  # beside its own row
    assert sheet.cell(rows["MA2222"], 1).protection.locked is True  # the anon ID cannot be changed
    validation = sheet.data_validations.dataValidation[0]
    assert validation.type == "whole" and (validation.formula1, validation.formula2) == ("1", "2")
    instructions = " ".join(str(c.value) for c in book["Instructions"]["A"] if c.value)
    assert "within 1 standard error" in instructions and "1 for the photo you find best" in instructions
    # the thumbnails are the packaged photos, small
    image = sheet._images[0]
    assert max(image.width, image.height) <= 200
    # the final is on record
    issued = audit(ws_root, "jury-final-sheets")
    assert issued[-1]["final_id"] == data["final_id"] and issued[-1]["groups"][0]["entries"] == ["E0001", "E0003"]


def test_score_final_combines_shows_side_by_side_and_records(ws_root: Path) -> None:
    assert cli("jury", "final", "--cut", "-w", str(ws_root)).exit_code == 0
    sheets = final_sheets(ws_root)
    # three jurors put MC4444 first, Di MA2222; Ed ranks MA2222 alone (MC4444 is his conflict)
    for juror in ("Ann", "Bo", "Cy"):
        fill(sheets[juror], {"MC4444": 1, "MA2222": 2})
    fill(sheets["Di"], {"MA2222": 1, "MC4444": 2})
    fill(sheets["Ed"], {"MA2222": 1})
    shown = cli("score", "--final", str(ws_root / "jury" / "final"), "-w", str(ws_root))
    assert shown.exit_code == 0, shown.output
    text = plain(shown.stdout)
    assert "the final (Schulze over 5 rankings) beside the score order" in text
    rows = table_rows(shown.stdout)
    assert ["1", "MC4444", "E0003", "2", "77.50", "—", "Qualifier"] in rows, shown.stdout
    assert ["2", "MA2222", "E0001", "1", "80.00", "Qualifier", "—"] in rows, shown.stdout
    assert "The final would change 2 awards" in text
    assert "awards still follow the scores" in text and "awards --use-final" in text

    data = json.loads(cli("score", "--final", str(ws_root / "jury" / "final"), "--json", "-w", str(ws_root)).stdout)
    assert data["recorded"] and data["problems"] == []
    lines = {e["anon_id"]: e for e in data["groups"][0]["entries"]}
    assert lines["MC4444"]["final_rank"] == 1 and lines["MC4444"]["award_by_final"] == "qualifier"
    assert lines["MA2222"]["award_by_score"] == "qualifier" and lines["MA2222"]["award_by_final"] is None
    assert sorted(data["jurors"]) == ["J01", "J02", "J03", "J04", "J05"]

    record = audit(ws_root, "jury-final")[-1]
    assert record["rankings_digest"] == data["digest"] and record["final_id"] == data["final_id"]
    assert record["groups"][0]["order"] == [["E0003 (MC4444)"], ["E0001 (MA2222)"]]
    assert {c["entry_id"] for c in record["would_change"]} == {"E0001", "E0003"} and record["adopted"] is False
    # the digest is over the rankings themselves: the same sheets give the same digest
    expected = sorted([[j, "middle", a, p] for j, a, p in [
        ("J01", "MC4444", 1), ("J01", "MA2222", 2), ("J02", "MC4444", 1), ("J02", "MA2222", 2),
        ("J03", "MC4444", 1), ("J03", "MA2222", 2), ("J04", "MA2222", 1), ("J04", "MC4444", 2),
        ("J05", "MA2222", 1), ("J05", "MC4444", None)]])
    assert data["digest"] == "sha256:" + hashlib.sha256(
        json.dumps(expected, ensure_ascii=False, separators=(",", ":")).encode()).hexdigest()

    # the SPEC default stays: awards from the scores
    default = json.loads(cli("awards", "--json", "-w", str(ws_root)).stdout)
    award = {e["anon_id"]: e["award"] for e in default["entries"]}
    assert award["MA2222"] == "qualifier" and award["MC4444"] is None and default["final"] is None
    # the chair's choice
    chosen = cli("awards", "--use-final", "--json", "-w", str(ws_root))
    assert chosen.exit_code == 0, chosen.output
    data = json.loads(chosen.stdout)
    award = {e["anon_id"]: e["award"] for e in data["entries"]}
    rank = {e["anon_id"]: e["rank"] for e in data["entries"]}
    assert award["MC4444"] == "qualifier" and award["MA2222"] is None and rank == {**rank, "MC4444": 1, "MA2222": 2}
    assert award["HB3333"] == "qualifier"  # no final in the high school: its scores decide
    assert data["final"]["rank_changed"] == ["MA2222", "MC4444"]
    adopted = audit(ws_root, "awards-final")[-1]
    assert adopted["final_id"] == record["final_id"] and adopted["awarded"] == {"E0001": None, "E0003": "qualifier"}


def test_a_tie_in_the_final_is_named_and_all_tied_qualify(ws_root: Path) -> None:
    assert cli("jury", "final", "--cut", "-w", str(ws_root)).exit_code == 0
    sheets = final_sheets(ws_root)
    fill(sheets["Ann"], {"MC4444": 1, "MA2222": 2})
    fill(sheets["Bo"], {"MA2222": 1, "MC4444": 2})
    fill(sheets["Cy"], {"MA2222": 1, "MC4444": 1})  # cannot separate them
    fill(sheets["Di"], {"MA2222": 1}, {"MC4444": "RECUSED: I know this photo"})
    fill(sheets["Ed"], {"MA2222": 1})
    shown = cli("score", "--final", str(ws_root / "jury" / "final"), "-w", str(ws_root))
    assert shown.exit_code == 0, shown.output
    text = plain(shown.stdout)
    assert "Tie in the final: MA2222, MC4444 share rank 1" in text
    assert "every one of them gets the award (SPEC: ties at the cut all qualify)" in text
    data = json.loads(cli("score", "--final", str(ws_root / "jury" / "final"), "--json", "-w", str(ws_root)).stdout)
    assert [n["juror"] for n in data["notes"] if "rank 1 given to more than one photo: counted as a tie" in
            n["problem"]] == ["Cy"]  # a note, not a problem
    assert data["groups"][0]["ties"] == [["MA2222", "MC4444"]]
    assert {e["anon_id"]: e["award_by_final"] for e in data["groups"][0]["entries"]} == {
        "MA2222": "qualifier", "MC4444": "qualifier"}
    awards = json.loads(cli("awards", "--use-final", "--json", "-w", str(ws_root)).stdout)
    assert any(t["code"] == "awards-tie-qualifier" and {e["anon_id"] for e in t["entries"]} == {"MA2222", "MC4444"}
               for t in awards["ties"])


def test_problems_block_the_record_and_a_new_final_refuses_old_sheets(ws_root: Path) -> None:
    assert cli("jury", "final", "--cut", "-w", str(ws_root)).exit_code == 0
    sheets = final_sheets(ws_root)
    old = ws_root / "old-Ann.xlsx"
    shutil.copy(sheets["Ann"], old)
    fill(sheets["Ann"], {"MC4444": 1})  # MA2222 left blank, no recusal
    fill(sheets["Bo"], {"MC4444": 1, "MA2222": 7})  # out of range
    shown = cli("score", "--final", str(ws_root / "jury" / "final"), "--json", "-w", str(ws_root))
    assert shown.exit_code == 1
    data = json.loads(shown.stdout)
    assert not data["recorded"]
    problems = {(p["juror"], p["cell"]): p["problem"] for p in data["problems"]}
    assert any(j == "Ann" and "MA2222: no rank" in p for (j, _c), p in problems.items())
    assert any(j == "Bo" and "rank 7 is not a whole number from 1 to 2" in p for (j, _c), p in problems.items())
    assert audit(ws_root, "jury-final") == []
    # a final handed out again: the earlier sheet is refused by name
    assert cli("jury", "final", "--cut", "-w", str(ws_root)).exit_code == 0
    shown = cli("score", "--final", str(old), "--json", "-w", str(ws_root))
    assert shown.exit_code == 1
    assert "not for the final handed out now" in json.loads(shown.stdout)["problems"][0]["problem"]
    # --use-final with no final recorded
    refused = cli("awards", "--use-final", "-w", str(ws_root))
    assert refused.exit_code == 2 and "no jury final is recorded" in plain(refused.output)


def test_wrong_mode_for_the_stage_is_a_usage_error(ws_root: Path) -> None:
    wrong = cli("jury", "final", "--places", "3", "-w", str(ws_root))
    assert wrong.exit_code == 2 and "at the national stage use --cut" in plain(wrong.output)
    neither = cli("jury", "final", "-w", str(ws_root))
    assert neither.exit_code == 2 and "--places N" in plain(neither.output)


def test_global_top_3_final_and_a_new_score_run_outdates_it(ws_root: Path) -> None:
    toml = ws_root / "contest.toml"
    toml.write_text(toml.read_text(encoding="utf-8").replace('stage = "national"', 'stage = "global"'),
                    encoding="utf-8")
    score_sheets(ws_root)  # ranked overall: HB3333 90, MA2222 80, MC4444 77.5, HD5555 50...
    # the global stage's conflict is the country: a jury from abroad, but Ed comes from Spain, as HB3333 does
    with open_workspace(ws_root) as ws, ws.ledger.db:
        ws.ledger.db.execute("UPDATE jurors SET country = CASE name WHEN 'Ed' THEN 'Spain' ELSE 'Japan' END")
    assert cli("jury", "final", "--cut", "-w", str(ws_root)).exit_code == 2
    made = cli("jury", "final", "--places", "3", "--json", "-w", str(ws_root))
    assert made.exit_code == 0, made.output
    data = json.loads(made.stdout)
    group = data["groups"][0]
    assert group["group"] is None and group["cut"] == 3
    assert [e["anon_id"] for e in group["entries"]] == ["HB3333", "MA2222", "MC4444"]
    assert {j["juror"]: j["conflicts"] for j in data["jurors"]}["Ed"] == ["HB3333"]
    sheets = final_sheets(ws_root)
    for juror in ("Ann", "Bo", "Cy"):
        fill(sheets[juror], {"MC4444": 1, "HB3333": 2, "MA2222": 3})
    fill(sheets["Di"], {"HB3333": 1, "MA2222": 2, "MC4444": 3})
    fill(sheets["Ed"], {"MA2222": 1, "MC4444": 2})
    shown = cli("score", "--final", str(ws_root / "jury" / "final"), "--json", "-w", str(ws_root))
    assert shown.exit_code == 0, shown.output
    entries = {e["anon_id"]: e for e in json.loads(shown.stdout)["groups"][0]["entries"]}
    assert {a: e["award_by_final"] for a, e in entries.items()} == {
        "MC4444": "global-1", "HB3333": "global-2", "MA2222": "global-3"}
    assert {a: e["award_by_score"] for a, e in entries.items()} == {
        "HB3333": "global-1", "MA2222": "global-2", "MC4444": "global-3"}
    data = json.loads(cli("awards", "--use-final", "--json", "-w", str(ws_root)).stdout)
    assert {e["anon_id"]: e["award"] for e in data["entries"] if e["award"] and e["award"].startswith("global")} == {
        "MC4444": "global-1", "HB3333": "global-2", "MA2222": "global-3"}
    # a later score run: the final no longer describes the ranking
    score_sheets(ws_root)
    stale = cli("awards", "--use-final", "-w", str(ws_root))
    assert stale.exit_code == 2 and "make a new final" in plain(stale.output)


def test_compare_on_a_quorum_design_says_per_juror_z_scores_mislead(tmp_path: Path) -> None:
    """Four jurors each score half of the entries (overlapping, so the design is connected): the z-score would
    read the quality of each juror's subset as harshness."""
    with jury_workspace(tmp_path) as ws:
        for entry_id, anon in ANON.items():
            ws.ledger.add_anon_id(anon, entry_id)
        round_id = ws.ledger.round_id()
    root = tmp_path / "ws"
    quality = {"MA2222": 9, "MC4444": 8, "ME6666": 4, "MG8888": 2, "HB3333": 9, "HD5555": 7, "HF7777": 3,
               "HH9999": 2}
    subsets = {"Ann": ["MA2222", "MC4444", "HB3333", "HD5555"], "Bo": ["MC4444", "ME6666", "HD5555", "HF7777"],
               "Cy": ["ME6666", "MG8888", "HF7777", "HH9999"], "Di": ["MG8888", "MA2222", "HH9999", "HB3333"]}
    for k, (juror, subset) in enumerate(subsets.items(), start=1):
        write_xlsx(root / "sheets" / f"{juror}.xlsx", juror, [[a, *[quality[a]] * 4] for a in subset],
                   round_id=round_id, juror_id=f"J{k:02d}")
    shown = cli("score", str(root / "sheets"), "--compare", "-w", str(root))
    assert shown.exit_code == 0, shown.output
    text = plain(shown.stdout)
    assert "Design: incomplete (50% of entry x juror pairs scored; 2-2 jurors per entry, 4-4 entries per juror)" \
        in text
    assert "zscore: misleading — per-juror z-scores mislead on this design" in text
    assert "median: same as mean" in text and "trimmed: same as mean" in text
    assert "mean: meaningful" in text and "Robust to incomplete designs: an additive model" in text
    data = json.loads(cli("score", str(root / "sheets"), "--compare", "--json", "-w", str(root)).stdout)
    design = data["design"]
    assert design["complete"] is False and design["connected"] is True
    assert design["methods"]["zscore"]["verdict"] == "misleading"
    assert design["subset_spread"] > 10  # Ann drew the strong photos, Cy the weak ones
    # the jurors here differ in nothing but their subsets: the additive model agrees with the mean
    assert design["offset_model"]["award_changes"] == 0
    # a complete design: z-scores are meaningful there
    for k, juror in enumerate(subsets, start=1):
        write_xlsx(root / "sheets" / f"{juror}.xlsx", juror, [[a, *[q] * 4] for a, q in quality.items()],
                   round_id=round_id, juror_id=f"J{k:02d}")
    data = json.loads(cli("score", str(root / "sheets"), "--compare", "--json", "-w", str(root)).stdout)
    assert data["design"]["complete"] is True and data["design"]["methods"]["zscore"]["verdict"] == "meaningful"


def final_status(root: Path) -> dict[str, Any]:
    """The jury final's line of `status --json`."""
    shown = cli("status", "--json", "-w", str(root))
    assert shown.exit_code == 0, shown.output
    return next(s for s in json.loads(shown.stdout)["stages"] if s["stage"] == "jury-final")


def stage_cell(terminal: str, stage: str) -> str:
    """The 'why' cell of a stage's row in `status`'s table, its wrapped lines joined."""
    rows = table_rows(terminal)
    start = next(i for i, r in enumerate(rows) if r[0] == stage)
    parts = [rows[start][2]]
    for r in rows[start + 1:]:
        if r[0]:
            break
        parts.append(r[2])
    return " ".join(p for p in parts if p)


def test_status_follows_the_final_step_by_step(ws_root: Path) -> None:
    """`status` (issue 20): the final not made; its sheets written (how many returned); combined (the Schulze
    ranking stored); used or not by `awards --use-final`; out of date once `score` ran again, naming the command."""
    st = final_status(ws_root)
    assert st["state"] == "not-yet" and st["summary"] is None and st["progress"] is None
    assert cli("jury", "final", "--cut", "-w", str(ws_root)).exit_code == 0
    st = final_status(ws_root)
    assert st["state"] == "done" and st["summary"]["jurors"] == 5 and st["summary"]["returned"] is None
    assert not st["summary"]["combined"] and "none read back yet" in st["progress"]
    sheets = final_sheets(ws_root)
    back = ws_root / "back"
    back.mkdir()
    for juror in ("Ann", "Bo", "Cy"):  # two jurors late
        fill(sheets[juror], {"MC4444": 1, "MA2222": 2})
        shutil.copy(sheets[juror], back)
    assert cli("score", "--final", str(back), "-w", str(ws_root)).exit_code == 0
    st = final_status(ws_root)
    assert st["summary"]["returned"] == 3 and st["summary"]["combined"] and not st["summary"]["used_by_awards"]
    assert "3 of 5 returned" in st["progress"] and "combined: the Schulze ranking is stored" in st["progress"]
    assert st["summary"]["rankings_digest"].startswith("sha256:")
    assert cli("awards", "--use-final", "-w", str(ws_root)).exit_code == 0
    assert final_status(ws_root)["summary"]["used_by_awards"] is True
    shown = stage_cell(cli("status", "-w", str(ws_root)).stdout, "jury-final")
    assert "3 of 5 returned" in shown and "used by awards --use-final" in shown
    assert cli("awards", "-w", str(ws_root)).exit_code == 0  # the chair goes back to the scores
    st = final_status(ws_root)
    assert st["summary"]["used_by_awards"] is False and "the awards follow the scores" in st["progress"]
    # a new score run: the final was drawn from the ranking before it
    with open_workspace(ws_root) as ws:
        round_id = ws.ledger.round_id()
    write_xlsx(ws_root / "jury" / "returned" / "Ann.xlsx", "Ann",
               [[a, *[m] * 4] for a, m in {**MARKS["Ann"], "MC4444": 10, **HIGH}.items()], round_id=round_id,
               juror_id="J01")
    assert cli("score", str(ws_root / "jury" / "returned"), "-w", str(ws_root)).exit_code == 0
    st = final_status(ws_root)
    assert st["state"] == "stale" and st["next"] == "milsetctl jury final --cut"
    assert "changed since it ran" in st["why"]
