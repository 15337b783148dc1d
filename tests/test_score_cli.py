"""`milsetctl score` as the jury chair runs it: sheets in, problems named, scores stored, ranking out."""

from __future__ import annotations

import io
import json
import re
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from jury_fixtures import jury_workspace
from openpyxl import load_workbook
from rich.cells import cell_len
from test_scoring_read import CRITERIA, write_csv, write_xlsx
from typer.testing import CliRunner

from milsetctl.cli import app
from milsetctl.workspace import Workspace, open_workspace

runner = CliRunner()

# E0001..E0008 -> anon IDs; E0001/3/5/7 are middle school, E0002/4/6/8 high school (jury_fixtures.PEOPLE)
ANON = {"E0001": "MA2222", "E0002": "HB3333", "E0003": "MC4444", "E0004": "HD5555", "E0005": "ME6666",
        "E0006": "HF7777", "E0007": "MG8888", "E0008": "HH9999"}
MIDDLE = ["MA2222", "MC4444", "ME6666", "MG8888"]
HIGH = ["HB3333", "HD5555", "HF7777", "HH9999"]
# an entry's "quality": every juror scores each criterion this, plus their own offset
QUALITY = {"MA2222": 9, "MC4444": 7, "ME6666": 5, "MG8888": 3, "HB3333": 8, "HD5555": 6, "HF7777": 4, "HH9999": 2}


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One workspace with photos and anon IDs, built once; each test copies its folder (photos are slow to make)."""
    base = tmp_path_factory.mktemp("jury")
    with jury_workspace(base) as ws:
        for entry_id, anon in ANON.items():
            ws.ledger.add_anon_id(anon, entry_id)
        ws.ledger.round_id()
    return base / "ws"


@pytest.fixture
def ws_root(template: Path, tmp_path: Path) -> Path:
    import shutil

    root = tmp_path / "ws"
    shutil.copytree(template, root)
    return root


def round_id(root: Path) -> str:
    with open_workspace(root) as ws:
        return ws.ledger.round_id()


def sheet(root: Path, juror: str, offset: int = 0, only: list[str] | None = None,
          change: dict[tuple[str, str], Any] | None = None, name: str | None = None) -> Path:
    """A juror's filled XLSX in jury/sheets/: each criterion = the entry's quality + offset (clipped to 1-10)."""
    rows = []
    for anon in only or list(QUALITY):
        values: list[Any] = [max(1, min(10, QUALITY[anon] + offset))] * 4
        for k, c in enumerate(CRITERIA):
            if change and (anon, c) in change:
                values[k] = change[(anon, c)]
        rows.append([anon, *values, f"{juror} on {anon}"])
    return write_xlsx(root / "jury" / "sheets" / (name or f"{juror}.xlsx"), juror, rows, round_id=round_id(root))


def score(root: Path, *args: str) -> Any:
    return runner.invoke(app, ["score", *args, "-w", str(root)])


def ledger(root: Path) -> Workspace:
    return open_workspace(root)


def test_json_follows_spec_and_the_ranking_is_stored(ws_root: Path) -> None:
    for juror, offset in (("Ann", 0), ("Bo", 1), ("Cy", -1)):
        sheet(ws_root, juror, offset)
    result = score(ws_root, str(ws_root / "jury" / "sheets"), "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert {"entries", "agreement", "problems"} <= set(data)
    assert set(data["agreement"]) >= {"kendall_w", "krippendorff_alpha"}
    assert data["problems"] == [] and data["method"] == "mean" and data["ranking_stored"] is True
    assert len(data["entries"]) == 8
    for e in data["entries"]:
        assert set(e) == {"entry_id", "anon_id", "category", "score", "rank"}
        assert ANON[e["entry_id"]] == e["anon_id"]
    by_anon = {e["anon_id"]: e for e in data["entries"]}
    assert [by_anon[a]["rank"] for a in MIDDLE] == [1, 2, 3, 4]
    assert [by_anon[a]["rank"] for a in HIGH] == [1, 2, 3, 4]
    assert {by_anon[a]["category"] for a in MIDDLE} == {"middle"}
    # MA2222: jurors gave 9, 10, 8 on every criterion -> mean 9 of 10 -> 90.0
    assert by_anon["MA2222"]["score"] == pytest.approx(90.0)
    assert by_anon["HH9999"]["score"] == pytest.approx(20.0)
    # every juror ranks the entries the same way: perfect concordance
    assert data["agreement"]["kendall_w"] == pytest.approx(1.0)
    assert 0.8 < data["agreement"]["krippendorff_alpha"] <= 1.0
    assert [j["juror"] for j in data["jurors"]] == ["Ann", "Bo", "Cy"]
    with ledger(ws_root) as ws:
        stored = {r["anon_id"]: (r["rank"], r["score"], r["method"]) for r in ws.ledger.ranking()}
        assert stored["MA2222"] == (1, pytest.approx(90.0), "mean")
        assert len(ws.ledger.score_rows()) == 24
        row = next(r for r in ws.ledger.score_rows() if r[0] == "Bo" and r[1] == "MC4444")
        assert json.loads(row[2]) == {c: 8 for c in CRITERIA} and row[3] == "Bo on MC4444" and row[5] == 3


def test_missing_score_blocks_the_ranking_unless_allow_missing(ws_root: Path) -> None:
    sheet(ws_root, "Ann")
    sheet(ws_root, "Bo", change={("ME6666", "impact"): None})
    folder = str(ws_root / "jury" / "sheets")
    blocked = score(ws_root, folder, "--json")
    assert blocked.exit_code == 1
    data = json.loads(blocked.stdout)
    assert data["problems"] == [{"sheet": "Bo.xlsx", "juror": "Bo", "row": 4, "cell": "E4",
                                 "problem": "ME6666 impact: missing score (blank cell)", "code": "score-blank"}]
    assert data["entries"] == [] and data["ranking_stored"] is False and data["scores_stored"] is False
    with ledger(ws_root) as ws:
        assert ws.ledger.ranking() == [] and ws.ledger.score_rows() == []

    allowed = score(ws_root, folder, "--json", "--allow-missing")
    assert allowed.exit_code == 0, allowed.output
    data = json.loads(allowed.stdout)
    assert len(data["problems"]) == 1 and data["ranking_stored"] is True
    by_anon = {e["anon_id"]: e for e in data["entries"]}
    assert by_anon["ME6666"]["score"] == pytest.approx(50.0)  # Ann alone: Bo's incomplete score is not counted
    with ledger(ws_root) as ws:
        assert len(ws.ledger.ranking()) == 8
        assert json.loads(next(r for r in ws.ledger.score_rows() if r[:2] == ("Bo", "ME6666"))[2])["impact"] is None
    # a later run of Ann's sheet alone still names Bo's stored gap, and ranks nothing until it is filled
    later = json.loads(score(ws_root, str(ws_root / "jury" / "sheets" / "Ann.xlsx"), "--json").stdout)
    assert later["problems"] == [{"sheet": "Bo.xlsx", "juror": "Bo", "row": 4, "cell": None,
                                  "problem": "ME6666: the stored score lacks impact (stored by an earlier "
                                  "--allow-missing run; send the juror's corrected sheet)", "code": "score-missing"}]
    assert later["ranking_stored"] is False and later["scores_stored"] is True


def test_an_entry_nobody_scored_and_a_juror_with_no_sheet(ws_root: Path) -> None:
    seven = [a for a in QUALITY if a != "HH9999"]
    with ledger(ws_root) as ws:
        ws.ledger.save_jurors([{"key": "ann", "name": "Ann"}, {"key": "bo", "name": "Bo"}])
        ws.ledger.save_assignments([("J01", a, i) for i, a in enumerate(seven)] +
                                   [("J02", a, i) for i, a in enumerate(QUALITY)])
    sheet(ws_root, "Ann", only=seven)  # whole in itself; Bo has not sent his
    result = score(ws_root, str(ws_root / "jury" / "sheets"), "--json")
    assert result.exit_code == 1
    data = json.loads(result.stdout)
    assert [(p["sheet"], p["juror"], p["problem"]) for p in data["problems"]] == [
        (None, "Bo", "no scores from juror Bo (J02) yet: 8 assigned entries unscored"),
        (None, None, "HH9999 (E0008): no juror has scored this entry completely"),
    ]
    assert data["scores_stored"] is True and data["ranking_stored"] is False
    with ledger(ws_root) as ws:  # Ann's scores are kept; no ranking until Bo's are in
        assert len(ws.ledger.score_rows()) == 7 and ws.ledger.ranking() == []
    # Ann's sheet missing an assigned entry is a problem of her sheet: then nothing is stored
    sheet(ws_root, "Ann", only=seven[:-1])
    data = json.loads(score(ws_root, str(ws_root / "jury" / "sheets"), "--json").stdout)
    assert {"sheet": "Ann.xlsx", "juror": "Ann", "row": None, "cell": None,
            "problem": f"{seven[-1]}: assigned to this juror but not on the sheet (missing scores)",
            "code": "assigned-not-scored"} in data["problems"]
    assert data["scores_stored"] is False


def test_rescore_replaces_the_same_jurors_scores_and_keeps_an_audit_record(ws_root: Path) -> None:
    sheet(ws_root, "Ann")
    sheet(ws_root, "Bo", 1)
    folder = str(ws_root / "jury" / "sheets")
    assert score(ws_root, folder).exit_code == 0
    # Bo sends a corrected sheet: only Bo's 8 rows are replaced
    corrected = sheet(ws_root, "Bo", 1, change={("MA2222", "originality"): 2}, name="Bo corrected.xlsx")
    (ws_root / "jury" / "sheets" / "Bo.xlsx").unlink()
    result = score(ws_root, str(corrected), "--json")
    assert result.exit_code == 0, result.output
    with ledger(ws_root) as ws:
        rows = ws.ledger.score_rows()
        assert len(rows) == 16 and sum(r[0] == "Bo" for r in rows) == 8
        bo = next(r for r in rows if r[:2] == ("Bo", "MA2222"))
        assert json.loads(bo[2])["originality"] == 2 and bo[4] == "Bo corrected.xlsx"
        runs = ws.ledger.score_runs()
        assert len(runs) == 2
        assert json.loads(runs[1]["detail"])["replaced_rows"] == 8
        audit = [json.loads(r["detail"]) for r in ws.ledger.audit_trail() if r["action"] == "score"]
        assert sorted(a["replaced_rows"] for a in audit) == [0, 8]
        assert {r["anon_id"]: r["run_id"] for r in ws.ledger.ranking()}["MA2222"] == runs[1]["run_id"]


def test_a_run_killed_while_storing_leaves_the_ledger_whole(ws_root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from milsetctl.scoring import round as round_mod
    from milsetctl.scoring.round import score_round

    sheet(ws_root, "Ann")
    sheet(ws_root, "Bo", 1)
    folder = ws_root / "jury" / "sheets"
    assert score(ws_root, str(folder)).exit_code == 0
    def state() -> Any:
        with ledger(ws_root) as ws:
            return (sorted(map(tuple, ws.ledger.score_rows())), [tuple(r) for r in ws.ledger.ranking()],
                    len(ws.ledger.score_runs()))

    scores_before, ranking_before, runs_before = state()
    assert len(scores_before) == 16 and len(ranking_before) == 8

    real = round_mod._json_rows

    class Dying(list):  # type: ignore[type-arg]
        """The rows, but the process dies after 5 of them have gone into the transaction."""

        def __iter__(self) -> Any:
            yield from list.__iter__(self[:5])
            raise KeyboardInterrupt

    def dying_rows(*args: Any, **kwargs: Any) -> Any:
        return Dying(real(*args, **kwargs))

    monkeypatch.setattr(round_mod, "_json_rows", dying_rows)
    sheet(ws_root, "Bo", -1)
    with ledger(ws_root) as ws, pytest.raises(KeyboardInterrupt):
        score_round(ws, [folder])
    scores_after, ranking_after, runs_after = state()
    # the scores are exactly as before (no half of Bo's new ones, none of his old ones lost), no run recorded,
    # and no ranking that would disagree with them: the old one was withdrawn before storing began
    assert (scores_after, runs_after) == (scores_before, runs_before)
    assert ranking_after == []
    monkeypatch.undo()
    assert score(ws_root, str(folder)).exit_code == 0  # the next run completes the work
    scores_done, ranking_done, runs_done = state()
    assert len(scores_done) == 16 and len(ranking_done) == 8 and runs_done == runs_before + 1
    assert json.loads(next(r for r in scores_done if r[:2] == ("Bo", "MA2222"))[2])["impact"] == 8


def test_compare_lists_the_entries_a_harsh_partial_juror_moves(ws_root: Path) -> None:
    """Three jurors score everything; a harsh juror scores only MA2222 (4s) and ME6666 (1s).

    mean: MA2222 = (9+9+9+4)/4 = 7.75 < MC4444's 8, so MC4444 takes the one middle-school Qualifier (floor(0.35 x 4)
    = 1). zscore (and median) take the harshness out: MA2222 first again.
    """
    quality = dict(QUALITY, MA2222=9, MC4444=8)
    for juror in ("Ann", "Bo", "Cy"):
        rows = [[a, *[q] * 4] for a, q in quality.items()]
        write_xlsx(ws_root / "jury" / "sheets" / f"{juror}.xlsx", juror, rows, round_id=round_id(ws_root))
    write_xlsx(ws_root / "jury" / "sheets" / "Harsh.xlsx", "Harsh", [["MA2222", 4, 4, 4, 4], ["ME6666", 1, 1, 1, 1]],
               round_id=round_id(ws_root))
    result = score(ws_root, str(ws_root / "jury" / "sheets"), "--json", "--compare")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    changed = {c["anon_id"]: c["methods"] for c in data["compare"]}
    assert set(changed) == {"MA2222", "MC4444"}
    assert changed["MC4444"]["mean"] == {"rank": 1, "award": "qualifier"}
    assert changed["MA2222"]["mean"] == {"rank": 2, "award": None}
    assert changed["MA2222"]["zscore"] == {"rank": 1, "award": "qualifier"}
    assert changed["MC4444"]["zscore"]["award"] is None
    harsh = next(j for j in data["jurors"] if j["juror"] == "Harsh")
    assert harsh["offset"] < -3
    # the terminal shows it side by side
    text = score(ws_root, str(ws_root / "jury" / "sheets"), "--compare")
    assert text.exit_code == 0
    assert "another method would change" in text.stdout and "1 · qualifier" in text.stdout
    assert "MA2222" in text.stdout.split("another method would change")[1]


def test_terminal_output_names_problems_ranking_agreement_and_jurors(ws_root: Path) -> None:
    sheet(ws_root, "Ann")
    sheet(ws_root, "Bo", 1, change={("HD5555", "technique"): "７.５"})
    result = score(ws_root, str(ws_root / "jury" / "sheets"), "--allow-missing")
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "Bo.xlsx" in out and "D5" in out and "not a whole number" in out
    assert "Ranking: middle (mean)" in out and "Ranking: high (mean)" in out
    assert out.index("Ranking: middle") < out.index("Ranking: high")
    assert "Kendall's W" in out and "Krippendorff's alpha" in out and "agreement" in out
    assert any(ch in out for ch in "▁▂▃▄▅▆▇█")  # each juror's score distribution as a sparkline
    assert "Ranking stored" in out


def test_long_csv_and_folder_of_per_juror_csvs_work_like_xlsx(ws_root: Path) -> None:
    long_rows = [[j, a, c, max(1, min(10, q + off))] for j, off in (("Ann", 0), ("Bo", 1))
                 for a, q in QUALITY.items() for c in CRITERIA]
    path = write_csv(ws_root / "long.csv", ["juror", "anon_id", "criterion", "score"], long_rows)
    long = json.loads(score(ws_root, str(path), "--json").stdout)
    folder = ws_root / "csvs"
    for j, off in (("Ann", 0), ("Bo", 1)):
        write_csv(folder / f"{j}.csv", ["anon_id", *CRITERIA, "comment"],
                  [[a, *[max(1, min(10, q + off))] * 4, ""] for a, q in QUALITY.items()])
    per_juror = json.loads(score(ws_root, str(folder), "--json").stdout)
    assert long["entries"] == per_juror["entries"] and len(long["entries"]) == 8


def test_usage_errors_exit_2(ws_root: Path) -> None:
    assert score(ws_root, str(ws_root / "nope.xlsx")).exit_code == 2
    (ws_root / "empty").mkdir()
    assert score(ws_root, str(ws_root / "empty")).exit_code == 2
    sheet(ws_root, "Ann")
    bad = score(ws_root, str(ws_root / "jury" / "sheets"), "--method", "average")
    assert bad.exit_code == 2 and "unknown method" in bad.output


def test_global_stage_ranks_overall(ws_root: Path) -> None:
    toml = ws_root / "contest.toml"
    toml.write_text(toml.read_text(encoding="utf-8").replace('stage = "national"', 'stage = "global"'),
                    encoding="utf-8")
    sheet(ws_root, "Ann")
    data = json.loads(score(ws_root, str(ws_root / "jury" / "sheets"), "--json").stdout)
    ranks = {e["anon_id"]: e["rank"] for e in data["entries"]}
    assert sorted(ranks.values()) == list(range(1, 9))
    assert ranks["MA2222"] == 1 and ranks["HB3333"] == 2 and ranks["HH9999"] == 8


def test_sheets_written_by_jury_sheets_are_read_back(ws_root: Path) -> None:
    """The real `jury sheets` writer's XLSX, filled in as a juror would, scores without a problem."""
    jurors = ws_root / "jurors.csv"
    jurors.write_text("name,affiliation,country,email,school\nAnn Lee,Uni,China,ann@example.org,Uni A\n"
                      "Bo Chen,Uni,China,bo@example.org,Uni B\n", encoding="utf-8")
    made = runner.invoke(app, ["jury", "sheets", "--jurors", str(jurors), "-w", str(ws_root)])
    assert made.exit_code == 0, made.output
    files = sorted((ws_root / "jury" / "sheets").glob("*.xlsx"))
    assert len(files) == 2
    for path in files:
        book = load_workbook(path)
        ws = book["Scores"]
        for row in range(2, ws.max_row + 1):
            anon = ws.cell(row, 1).value
            for col in range(2, 6):
                ws.cell(row, col).value = QUALITY[anon]
        book.save(path)
    result = score(ws_root, str(ws_root / "jury" / "sheets"), "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["problems"] == [] and {j["juror"] for j in data["jurors"]} == {"Ann Lee", "Bo Chen"}
    assert {e["anon_id"]: e["rank"] for e in data["entries"]}["MA2222"] == 1


def test_an_entry_no_longer_eligible_is_noted_and_not_ranked(ws_root: Path) -> None:
    with ledger(ws_root) as ws:
        ws.ledger.set_status("E0008", "rejected")  # a late decision after the sheets went out
    sheet(ws_root, "Ann")
    sheet(ws_root, "Bo", 1)
    result = score(ws_root, str(ws_root / "jury" / "sheets"), "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["problems"] == [] and len(data["entries"]) == 7
    assert "HH9999" not in {e["anon_id"] for e in data["entries"]}
    assert {(n["sheet"], n["row"], n["cell"]) for n in data["notes"]} == {("Ann.xlsx", 9, "A9"), ("Bo.xlsx", 9, "A9")}
    assert all("HH9999 was withdrawn from the round" in n["problem"] for n in data["notes"])
    assert {j["juror"]: j["entries"] for j in data["jurors"]} == {"Ann": 7, "Bo": 7}


def test_an_eligible_entry_missing_from_the_package_blocks_the_ranking(tmp_path: Path) -> None:
    from jury_fixtures import PEOPLE

    with jury_workspace(tmp_path, people=PEOPLE[:3], png_every=0) as ws:  # E0003 accepted after anonymise ran
        ws.ledger.add_anon_id("MA2222", "E0001")
        ws.ledger.add_anon_id("HB3333", "E0002")
        root = ws.root
    write_xlsx(root / "jury" / "sheets" / "Ann.xlsx", "Ann", [["MA2222", 9, 9, 9, 9], ["HB3333", 8, 8, 8, 8]],
               round_id=round_id(root))
    data = json.loads(score(root, str(root / "jury" / "sheets"), "--json").stdout)
    assert data["ranking_stored"] is False
    assert [p["problem"] for p in data["problems"]] == [
        "1 eligible entry has no anonymous ID, so no juror could score it (E0003): run `milsetctl anonymise`, then "
        "`milsetctl jury sheets`"]


def test_a_juror_who_recused_themselves_blocks_nothing(ws_root: Path) -> None:
    """The sheet's instructions: a juror who recognises a photo leaves its scores blank and writes RECUSED in the
    comment. That is a note, not a missing score; the entry is ranked on the other jurors; a later run that reads
    only another juror's sheet does not bring the recusal back as a gap."""
    blank = {("MA2222", c): None for c in CRITERIA}
    path = sheet(ws_root, "Ann", change=blank)
    book = load_workbook(path)
    scores = book["Scores"]
    row = next(r for r in range(2, scores.max_row + 1) if scores.cell(r, 1).value == "MA2222")
    scores.cell(row, 6).value = "Recused: my student"
    book.save(path)
    sheet(ws_root, "Bo")
    result = score(ws_root, str(ws_root / "jury" / "sheets"), "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert [p for p in data["problems"]] == []
    notes = [n for n in data["notes"] if "recused" in n["problem"]]
    assert len(notes) == 1 and notes[0]["juror"] == "Ann" and notes[0]["row"] == row
    by_anon = {e["anon_id"]: e for e in data["entries"]}
    assert by_anon["MA2222"]["rank"] == 1 and by_anon["MA2222"]["score"] == 90.0  # Bo's 9s alone
    again = score(ws_root, str(ws_root / "jury" / "sheets" / "Bo.xlsx"), "--json")
    assert again.exit_code == 0, again.output
    assert json.loads(again.stdout)["problems"] == []
    # without the word, the same blank row is a missing score
    scores.cell(row, 6).value = "nice"
    book.save(path)
    blocked = score(ws_root, str(ws_root / "jury" / "sheets"), "--json")
    problems = json.loads(blocked.stdout)["problems"]
    assert blocked.exit_code == 1 and any("no score given" in p["problem"] for p in problems)


# ---------------------------------------------------------------- issue 15: score output a chair can trust

def ledger_state(root: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of the tables a score run writes, read with sqlite3 (not through the code under test)."""
    con = sqlite3.connect(root / "ledger.sqlite")
    try:
        return {table: sorted(map(tuple, con.execute(f"SELECT * FROM {table}")), key=repr)
                for table in ("scores", "score_runs", "ranking", "audit")}
    finally:
        con.close()


def plain(text: str) -> str:
    """Terminal text as one line of words (rich's wrapping and box borders taken out)."""
    return " ".join(text.replace("│", " ").split())


def test_kendall_w_over_no_shared_entry_is_a_dash_never_a_number(ws_root: Path) -> None:
    """Ann scored the middle-school entries, Bo the high-school ones: no entry has both, so there is no W."""
    sheet(ws_root, "Ann", only=MIDDLE)
    sheet(ws_root, "Bo", only=HIGH)
    folder = str(ws_root / "jury" / "sheets")
    data = json.loads(score(ws_root, folder, "--json").stdout)
    assert data["agreement"]["kendall_w"] is None and data["agreement"]["kendall_w_entries"] == 0
    text = plain(score(ws_root, folder).stdout)
    assert "Kendall's W – (no entry was scored by every juror)" in text
    assert not re.search(r"Kendall's W \d", text)
    # the contest report (HTML, and its terminal tables) says the same from the stored scores
    from rich.console import Console

    from milsetctl.report.contest import contest_report, render_contest_html
    from milsetctl.report.contest_console import render_contest

    with ledger(ws_root) as ws:
        report = contest_report(ws)
    assert report.agreement["kendall_w"] is None
    html = render_contest_html(report)
    assert re.search(r"Kendall's W</th><td class=\"n\">–</td>", html), html[html.find("Kendall"):][:200]
    console = Console(width=80, record=True, file=io.StringIO(), color_system=None)
    render_contest(console, report)
    assert re.search(r"Kendall's W\s*│\s*–\s*│", console.export_text())


def test_a_juror_with_no_complete_score_is_left_out_of_w_and_the_count_matches(ws_root: Path) -> None:
    """Cy left impact blank on every row: W is over Ann and Bo, on the 8 entries both scored, and says so (before,
    it read "W 1.00 ... over 0 entries every juror scored")."""
    sheet(ws_root, "Ann")
    sheet(ws_root, "Bo", 1)
    sheet(ws_root, "Cy", change={(a, "impact"): None for a in QUALITY})
    folder = str(ws_root / "jury" / "sheets")
    data = json.loads(score(ws_root, folder, "--json", "--allow-missing").stdout)
    assert data["agreement"]["kendall_w"] == pytest.approx(1.0) and data["agreement"]["kendall_w_entries"] == 8
    text = plain(score(ws_root, folder, "--allow-missing").stdout)
    assert "Kendall's W 1.00 (unusually strong agreement, over 8 entries every juror scored; 1 juror with no " \
           "complete score left out)" in text
    assert "over 0 entries" not in text


def test_allow_missing_reports_what_it_stored_and_what_it_did(ws_root: Path) -> None:
    """3 jurors x 8 entries = 24 rows; Cy left 3 entries incomplete: 21 whole scores and 3 rows with gaps."""
    sheet(ws_root, "Ann")
    sheet(ws_root, "Bo", 1)
    gaps = {("MA2222", "impact"): None, ("HD5555", "technique"): None, ("MG8888", "originality"): 11}
    sheet(ws_root, "Cy", -1, change=gaps)
    folder = str(ws_root / "jury" / "sheets")
    result = score(ws_root, folder, "--json", "--allow-missing")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["ranking_stored"] is True and data["allow_missing"] is True and len(data["problems"]) == 3
    assert data["stored"] == {"rows": 24, "complete": 21, "incomplete": 3, "recused": 0, "replaced": 0}
    con = sqlite3.connect(ws_root / "ledger.sqlite")
    try:
        rows = [json.loads(s) for (s,) in con.execute("SELECT scores FROM scores")]
        ranked = dict(con.execute("SELECT anon_id, score FROM ranking").fetchall())
    finally:
        con.close()
    assert len(rows) == 24 and sum(all(v is not None for v in r.values()) for r in rows) == 21
    assert ranked["MA2222"] == pytest.approx(95.0)  # Ann's 9 and Bo's 10: Cy's incomplete score is not a 0

    sheet(ws_root, "Cy", -1, change=gaps)  # again, in words, for the chair
    text = plain(score(ws_root, folder, "--allow-missing").stdout)
    assert "21 complete juror×entry scores stored, 3 rows with missing or unusable cells kept as gaps (not used, " \
           "never counted as 0), replacing 24 rows these jurors had stored" in text
    assert "--allow-missing: ranked from the complete scores only (3 entries combined over the jurors who scored " \
           "them completely); nothing was filled in, and the 3 problems above still stand" in text
    assert "24 juror×entry scores stored" not in text


def test_allow_missing_with_nothing_missing_says_so(ws_root: Path) -> None:
    sheet(ws_root, "Ann")
    text = plain(score(ws_root, str(ws_root / "jury" / "sheets"), "--allow-missing").stdout)
    assert "--allow-missing: nothing to allow, every required score is in." in text
    assert "8 complete juror×entry scores stored, none replaced" in text


def test_allow_missing_help_says_what_the_flag_does() -> None:
    result = runner.invoke(app, ["score", "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    text = plain(result.stdout)
    assert "Store the scores and the ranking even though some scores are missing or unusable: each entry is " \
           "combined over the jurors who scored it completely, nothing is filled in or counted as 0, and every " \
           "gap stays listed." in text
    assert "store nothing (no scores, ranking or run record)" in text


def test_compare_stores_no_scoring_run(ws_root: Path) -> None:
    sheet(ws_root, "Ann")
    sheet(ws_root, "Bo", 1)
    folder = str(ws_root / "jury" / "sheets")
    fresh = ledger_state(ws_root)
    looked = score(ws_root, folder, "--compare", "--json")
    assert looked.exit_code == 0, looked.output
    data = json.loads(looked.stdout)
    assert data["compare_only"] is True and data["ranking_stored"] is False and data["scores_stored"] is False
    assert data["run_id"] is None and "compare" in data and len(data["entries"]) == 8  # what it would store
    assert ledger_state(ws_root) == fresh  # nothing at all: no scores, no run, no ranking, no audit record

    assert score(ws_root, folder).exit_code == 0  # a real run
    before = ledger_state(ws_root)
    assert len(before["score_runs"]) == 1 and len(before["scores"]) == 16 and len(before["ranking"]) == 8
    sheet(ws_root, "Bo", -2)  # Bo's corrected sheet, only looked at
    text = score(ws_root, folder, "--compare")
    assert text.exit_code == 0, text.output
    assert ledger_state(ws_root) == before
    assert "Compare only: nothing stored" in plain(text.stdout) and "Ranking stored" not in text.stdout
    assert "Ranking: middle (mean, not stored)" in text.stdout


def test_compare_of_blocked_sheets_stores_nothing_and_exits_1(ws_root: Path) -> None:
    sheet(ws_root, "Ann", change={("MA2222", "impact"): None})
    before = ledger_state(ws_root)
    result = score(ws_root, str(ws_root / "jury" / "sheets"), "--compare")
    assert result.exit_code == 1
    assert "As it stands no ranking could be stored" in plain(result.stdout)
    assert ledger_state(ws_root) == before


LONG_JURORS = {  # name -> offset; Latin names with titles and long words, Chinese names with titles
    "Prof. Dr. Maximilian Alexander von Hohenzollern-Sigmaringen": 0,
    "Dr. Bartholomew Featherstonehaugh-Cholmondeley": 1,
    "欧阳娜娜研究员（国家天文台）": -1,
    "司马相如 教授": 0,
}
TITLE = "The total solar eclipse of 22 July 2009 over the Yangtze, seen from a Wuhan rooftop"


def long_name_round(root: Path) -> str:
    """Four jurors with long names, sheets named after them with photo titles filled in, one blank cell and a
    harsh partial juror (so the problems, ranking, jurors and compare tables all show)."""
    quality = dict(QUALITY, MA2222=9, MC4444=8)
    for k, (juror, offset) in enumerate(LONG_JURORS.items()):
        rows = [[a, *[max(1, min(10, q + offset))] * 4, "", "", TITLE, TITLE] for a, q in quality.items()]
        if k == 2:
            rows[1][4] = None
        write_xlsx(ws_root_sheets(root) / f"J0{k + 1} {juror} – returned scores (final).xlsx", juror, rows,
                   round_id=round_id(root), juror_id=f"J0{k + 1}")
    write_xlsx(ws_root_sheets(root) / "J05 Dr. Hildegard Wolkenstein-Trostburg.xlsx",
               "Dr. Hildegard Wolkenstein-Trostburg", [["MA2222", 2, 2, 2, 2], ["ME6666", 1, 1, 1, 1]],
               round_id=round_id(root), juror_id="J05")
    return str(ws_root_sheets(root))


def ws_root_sheets(root: Path) -> Path:
    return root / "jury" / "sheets"


def check_fits(text: str, names: list[str], width: int = 80) -> None:
    """Every line at most `width` cells; in every table's Juror column each piece of text is whole words of a
    juror's name (a name may wrap between its words, never inside one)."""
    lines = text.splitlines()
    assert lines and max(cell_len(line) for line in lines) <= width, max(lines, key=cell_len)
    words = {w for name in names for w in name.split()}
    column = None
    for line in lines:
        cells = re.split(r"[│┃]", line)
        if len(cells) < 3:
            column = None if line.startswith(("└", "┗")) else column
            continue
        stripped = [c.strip() for c in cells]
        if "Juror" in stripped:
            column = stripped.index("Juror")
            continue
        if column is not None and stripped[column] and names:
            pieces = stripped[column].split()
            assert all(p in words for p in pieces), f"a name broken inside a word: {stripped[column]!r} in {line!r}"
    assert column is None  # the tables were closed


def test_score_output_fits_80_columns_with_long_names(ws_root: Path) -> None:
    folder = long_name_round(ws_root)
    data = json.loads(score(ws_root, folder, "--json", "--allow-missing", "--compare").stdout)
    names = [j["juror"] for j in data["jurors"]]
    assert len(names) == 5 and data["problems"] and data["compare"]
    result = runner.invoke(app, ["score", folder, "-w", str(ws_root), "--allow-missing", "--compare"],
                           env={"COLUMNS": "80"})
    assert result.exit_code == 0, result.output
    out = result.stdout
    for heading in ("Problems (1)", "Ranking: middle", "Jurors (weighted", "another method would change"):
        assert heading in out
    check_fits(out, names)
    assert "司马相如" in out and "Featherstonehaugh-Cholmondeley" in out and "Hohenzollern-Sigmaringen" in out


@pytest.mark.parametrize("width", [60, 80, 100, 160])
def test_score_tables_fit_any_width_through_rich(ws_root: Path, width: int) -> None:
    """The renderer on rich's Console(width=N): same checks, library call instead of the CLI. At 60 columns a
    28-cell name written without a space cannot sit beside the sheet and the problem: only the widths are checked."""
    from rich.console import Console

    from milsetctl.scoring.console import render_score
    from milsetctl.scoring.round import score_round

    folder = long_name_round(ws_root)
    with ledger(ws_root) as ws:
        result = score_round(ws, [Path(folder)], allow_missing=True, compare=True)
    console = Console(width=width, record=True, file=io.StringIO(), color_system=None)
    render_score(console, result)
    text = console.export_text()
    assert result.jurors is not None
    check_fits(text, [str(j) for j in result.jurors.index] if width >= 80 else [], width)
    if width >= 160:  # room for every column: nothing left out
        assert "left out to fit" not in text
