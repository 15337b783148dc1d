"""`awards`: the award list from a stored ranking (national and global), its JSON, ties named, the export."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from pathlib import Path

import openpyxl
import pytest
from jury_fixtures import PEOPLE, Person, jury_workspace
from typer.testing import CliRunner

from milsetctl.awards.run import NoRankingError, compute_awards
from milsetctl.cli import app
from milsetctl.workspace import Workspace

runner = CliRunner()
CRITERIA = ("originality", "information", "technique", "impact")


def give_anon_ids(ws: Workspace) -> dict[str, str]:
    """entry_id -> anon_id for every eligible entry (IDs as anonymise would hand them out)."""
    out = {}
    for i, e in enumerate(ws.ledger.entries()):
        anon = "K7QX" + "ABCDEFGHJKLMNPQRSTUVWXYZ"[i // 24] + "ABCDEFGHJKLMNPQRSTUVWXYZ"[i % 24]
        ws.ledger.add_anon_id(anon, e["entry_id"])
        out[e["entry_id"]] = anon
    return out


def store_ranking(ws: Workspace, ranks: dict[str, tuple[float, int]], method: str = "mean") -> dict[str, str]:
    """Fake what `score` stores: entry_id -> (score, rank). Returns entry_id -> anon_id."""
    anon = give_anon_ids(ws)
    cats = {e["entry_id"]: e["category"] for e in ws.ledger.entries()}
    ws.ledger.save_ranking(
        [{"entry_id": e, "anon_id": anon[e], "category": cats[e], "score": s, "rank": r}
         for e, (s, r) in ranks.items()], method, 1)
    return anon


def store_scores(ws: Workspace, anon: dict[str, str], marks: dict[str, dict[str, tuple[int, str | None]]]) -> None:
    """marks: juror -> entry_id -> (the same mark on every criterion, comment)."""
    rows = [(juror, anon[e], json.dumps({c: mark for c in CRITERIA}), comment, f"{juror}.xlsx", i + 2)
            for juror, given in marks.items() for i, (e, (mark, comment)) in enumerate(given.items())]
    ws.ledger.replace_scores(list(marks), rows, "mean", [f"{j}.xlsx" for j in marks])


# PEOPLE: E0001 middle, E0002 high, E0003 middle, E0004 high, E0005 middle, E0006 high, E0007 middle, E0008 high
NATIONAL = {
    # middle: E0003 and E0005 share rank 1; quota floor(0.35 x 4) = 1, so both qualify and the tie is named
    "E0001": (62.5, 3), "E0003": (80.0, 1), "E0005": (80.0, 1), "E0007": (40.0, 4),
    # high: a plain order, one qualifier
    "E0002": (90.0, 1), "E0004": (70.0, 2), "E0006": (55.0, 3), "E0008": (30.0, 4),
}


@pytest.fixture
def national(tmp_path: Path) -> Workspace:
    ws = jury_workspace(tmp_path, png_every=0)
    store_ranking(ws, NATIONAL)
    yield ws
    ws.close()


def test_awards_national_qualifiers_and_tie_named(national: Workspace) -> None:
    result = runner.invoke(app, ["awards", "-w", str(national.root)])
    assert result.exit_code == 0, result.output
    warning = " ".join(result.stderr.split())
    # the tie on the middle cut, by entry ID, contestant, name and title
    assert "tie on the qualifier cut" in warning
    for who in ("E0003", "CN2022-103", "刘䶮", "Night sky 3", "E0005", "CN2022-105", "王芳", "Night sky 5"):
        assert who in warning
    assert "E0002" not in warning  # no tie in the high category
    table = result.stdout
    assert "Qualifier Award — middle" in table and "Qualifier Award — high" in table
    assert table.index("Qualifier Award — middle") < table.index("Qualifier Award — high")
    line = next(ln for ln in table.splitlines() if "E0005" in ln)
    assert "80.0" in line and "Qualifier" in line and "王芳" in line
    assert "—" in next(ln for ln in table.splitlines() if "E0001" in ln)
    stored = {r["entry_id"]: r["award"] for r in national.ledger.awards()}
    assert stored == {"E0003": "qualifier", "E0005": "qualifier", "E0002": "qualifier", "E0001": None,
                      "E0007": None, "E0004": None, "E0006": None, "E0008": None}
    assert {r["stage"] for r in national.ledger.awards()} == {"national"}


def test_awards_json_shape(national: Workspace) -> None:
    result = runner.invoke(app, ["awards", "--json", "-w", str(national.root)])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)  # one object, nothing else on stdout
    assert data["stage"] == "national"
    assert len(data["entries"]) == 8
    for item in data["entries"]:
        assert set(item) == {"entry_id", "anon_id", "category", "score", "rank", "award"}
        assert item["award"] in ("qualifier", None)
        assert isinstance(item["score"], float) and isinstance(item["rank"], int)
    by_id = {e["entry_id"]: e for e in data["entries"]}
    assert by_id["E0005"] == {"entry_id": "E0005", "anon_id": by_id["E0005"]["anon_id"], "category": "middle",
                              "score": 80.0, "rank": 1, "award": "qualifier"}
    assert by_id["E0004"]["award"] is None and by_id["E0004"]["category"] == "high"
    assert data["cuts"] == {"middle": 1, "high": 1}
    [tie] = data["ties"]
    assert tie["category"] == "middle" and tie["rank"] == 1
    assert [t["entry_id"] for t in tie["entries"]] == ["E0003", "E0005"]
    assert [t["name"] for t in tie["entries"]] == ["刘䶮", "王芳"]
    # entries in category (middle, high) then rank order
    assert [e["entry_id"] for e in data["entries"]] == ["E0003", "E0005", "E0001", "E0007", "E0002", "E0004",
                                                       "E0006", "E0008"]


def test_awards_one_entry_category(tmp_path: Path) -> None:
    """A category with one entry still gets one Qualifier (floor(0.35 x 1) = 0, at least one)."""
    people = [PEOPLE[0], PEOPLE[1], PEOPLE[3], PEOPLE[5]]  # 1 middle, 3 high
    with jury_workspace(tmp_path, people=people, png_every=0) as ws:
        store_ranking(ws, {"E0001": (20.0, 1), "E0002": (90.0, 1), "E0003": (80.0, 2), "E0004": (70.0, 3)})
        result = compute_awards(ws)
        awards = {r.entry_id: r.award for r in result.rows}
        assert awards == {"E0001": "qualifier", "E0002": "qualifier", "E0003": None, "E0004": None}
        assert result.cuts == {"middle": 1, "high": 1}
        assert result.ties == []


def test_awards_without_ranking(tmp_path: Path) -> None:
    with jury_workspace(tmp_path, png_every=0) as ws:
        with pytest.raises(NoRankingError):
            compute_awards(ws)
        result = runner.invoke(app, ["awards", "--json", "-w", str(ws.root)])
        assert result.exit_code == 1
        assert "milsetctl score SHEETS..." in result.stderr
        assert result.stdout == ""
        assert ws.ledger.awards() == []


def _global_people(n: int) -> list[Person]:
    countries = ["China", "Brazil", "Kenya", "Spain"]
    return [Person(f"G-{i:03d}", f"Person {i}", f"School {i}", f"p{i}@example.org", "10" if i % 2 else "8",
                   "high" if i % 2 else "middle", countries[i % 4], "Beijing" if i % 4 == 0 else "Region")
            for i in range(n)]


def test_awards_global_top_three_and_gallery(tmp_path: Path) -> None:
    """Global stage: one overall list; ranks 1-3 global-1..3 (a shared rank 2 shares global-2), 4-10 gallery."""
    with jury_workspace(tmp_path, people=_global_people(12), png_every=0, stage="global") as ws:
        ranks = [1, 2, 2, 4, 5, 6, 7, 8, 9, 10, 11, 12]
        store_ranking(ws, {f"E{i + 1:04d}": (100.0 - r * 5, r) for i, r in enumerate(ranks)})
        result = runner.invoke(app, ["awards", "--json", "-w", str(ws.root)])
        assert result.exit_code == 0, result.output
        data = json.loads(result.stdout)
        assert data["stage"] == "global"
        awards = {e["entry_id"]: e["award"] for e in data["entries"]}
        assert awards["E0001"] == "global-1"
        assert awards["E0002"] == awards["E0003"] == "global-2"
        assert "global-3" not in awards.values()  # rank 3 does not exist: 1, 2, 2, 4
        assert [awards[f"E{i:04d}"] for i in range(4, 11)] == ["gallery"] * 7
        assert awards["E0011"] is None and awards["E0012"] is None
        assert [e["rank"] for e in data["entries"]] == ranks  # overall order, categories mixed
        assert data["cuts"] == {"global": 3, "gallery": 10}
        [tie] = data["ties"]
        assert tie["award"] == "global-2" and [t["entry_id"] for t in tie["entries"]] == ["E0002", "E0003"]
        assert "Person 1" in result.stderr and "Person 2" in result.stderr
        assert {r["stage"] for r in ws.ledger.awards()} == {"global"}
        table = runner.invoke(app, ["awards", "-w", str(ws.root)])
        assert "Global awards (overall)" in table.stdout and "Kenya" in table.stdout


def _scored(ws: Workspace) -> None:
    anon = {e: a for a, e in ws.ledger.anon_map().items()}
    marks = {
        "Zoe Juror": {e: (8, "strong composition") for e in NATIONAL},
        "Adam Juror": {e: (6, None) for e in NATIONAL},
        "李老师": {e: (4, "=HYPERLINK(\"http://x\")") for e in NATIONAL},
    }
    marks["Adam Juror"]["E0003"] = (10, "-excellent")
    store_scores(ws, anon, marks)
    # the contestant typed a formula as the title; the export must show it as text
    ws.ledger.db.execute("UPDATE entries SET title=? WHERE entry_id='E0002'", ('=HYPERLINK("http://evil","x")',))
    ws.ledger.db.commit()


def test_export_xlsx_jurors_anonymous_and_formula_as_text(national: Workspace, tmp_path: Path) -> None:
    _scored(national)
    target = tmp_path / "out" / "awards.xlsx"
    result = runner.invoke(app, ["awards", "--export", str(target), "-w", str(national.root)])
    assert result.exit_code == 0, result.output
    assert not [p for p in target.parent.iterdir() if p.name != "awards.xlsx"]  # no temporary left
    sheet = openpyxl.load_workbook(target).active
    rows = list(sheet.iter_rows(values_only=True))
    header = list(rows[0])
    assert header[:10] == ["rank", "category", "award", "score", "entry_id", "anon_id", "contestant_id", "name",
                           "school", "title"]
    # jurors numbered, no names: sorted by name when the ledger knows no juror file (Adam, Zoe, 李老师)
    assert header[10:] == ["J1 score", "J1 comment", "J2 score", "J2 comment", "J3 score", "J3 comment"]
    assert not any("Juror" in str(c) or "李" in str(c) for c in header)
    by_id = {r[4]: dict(zip(header, r, strict=True)) for r in rows[1:]}
    assert len(by_id) == 8
    assert by_id["E0003"]["J1 score"] == 10 and by_id["E0003"]["J1 comment"] == "-excellent"
    assert by_id["E0001"]["J2 score"] == 8 and by_id["E0001"]["J2 comment"] == "strong composition"
    assert by_id["E0001"]["J3 score"] == 4
    assert by_id["E0005"]["award"] == "qualifier" and by_id["E0005"]["score"] == 80.0
    assert by_id["E0002"]["name"] == "Maria García"
    # the title is a string cell holding exactly what was typed, and the file holds no formula at all
    title_cell = next(c for c in sheet["J"] if c.value == '=HYPERLINK("http://evil","x")')
    assert title_cell.data_type == "s"
    with zipfile.ZipFile(target) as zf:
        xml = zf.read("xl/worksheets/sheet1.xml").decode("utf-8")
    assert "<f>" not in xml and "<f " not in xml


def test_export_names_jurors_when_asked(national: Workspace, tmp_path: Path) -> None:
    _scored(national)
    target = tmp_path / "awards.xlsx"
    result = runner.invoke(app, ["awards", "--export", str(target), "--names", "-w", str(national.root)])
    assert result.exit_code == 0, result.output
    header = next(openpyxl.load_workbook(target).active.iter_rows(values_only=True))
    assert header[10:] == ("Adam Juror score", "Adam Juror comment", "Zoe Juror score", "Zoe Juror comment",
                           "李老师 score", "李老师 comment")


def test_export_csv_bom_and_formula_neutralised(national: Workspace, tmp_path: Path) -> None:
    _scored(national)
    target = tmp_path / "awards.csv"
    result = runner.invoke(app, ["awards", "--export", str(target), "-w", str(national.root)])
    assert result.exit_code == 0, result.output
    raw = target.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))
    assert len(rows) == 8
    by_id = {r["entry_id"]: r for r in rows}
    assert by_id["E0002"]["title"] == "'=HYPERLINK(\"http://evil\",\"x\")"
    assert by_id["E0003"]["J1 comment"] == "'-excellent"
    assert by_id["E0001"]["J3 comment"] == "'=HYPERLINK(\"http://x\")"
    assert by_id["E0001"]["name"] == "张伟" and by_id["E0001"]["J2 score"] == "8.0"


def test_export_unknown_format_is_a_usage_error(national: Workspace, tmp_path: Path) -> None:
    result = runner.invoke(app, ["awards", "--export", str(tmp_path / "awards.pdf"), "-w", str(national.root)])
    assert result.exit_code == 2
    assert ".xlsx or .csv" in result.stderr
    assert national.ledger.awards() == []  # nothing computed or stored on a usage error


def test_no_awards_from_a_ranking_the_round_has_outgrown(national: Workspace) -> None:
    """A ranked entry rejected since, or an entry accepted after the scores, makes the ranking stale: no award list
    (and no export) until `score` runs again, and the message names each entry."""
    assert compute_awards(national).rows  # current: fine
    national.ledger.set_status("E0002", "rejected")
    result = runner.invoke(app, ["awards", "-w", str(national.root), "--export", str(national.root / "a.xlsx")])
    assert result.exit_code == 1
    text = " ".join(result.output.split())
    assert "out of date" in text and "E0002 is ranked but now rejected" in text
    assert not (national.root / "a.xlsx").exists()
    national.ledger.set_status("E0002", "eligible")
    rows = [dict(r) for r in national.ledger.entries()]
    late = {**rows[0], "entry_id": "E0009", "key": "late.jpg", "file": "late.jpg"}
    national.ledger.save_results(rows + [late], {})  # a late accept: eligible, never packaged nor scored
    national.ledger.set_status("E0009", "eligible")
    with pytest.raises(NoRankingError, match="E0009 is eligible but not in the jury package"):
        compute_awards(national)
