"""Every problem `jury final`, `score --final` and `awards --use-final` report has a stable code (area "jury final"
in milsetctl/problem_codes.py), and each code comes out of a real run on tests/test_jury_final.py's scored round:
the terminal shows it at the end of a refusal or a problem ('... [final-mode]'), `jury final --json` lists its notes
and warnings under `issues`, `score --final --json` gives each problem its `code`. The last test checks that every
code of the area was seen, so a code added without an input producing it fails here.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from openpyxl import load_workbook
from test_jury_final import cli, fill, final_sheets, plain, score_sheets, template  # noqa: F401 - a fixture
from test_scoring_read import write_xlsx

from milsetctl.problem_codes import AREAS, CODES
from milsetctl.scoring.final import FinalError, shortlist
from milsetctl.workspace import open_workspace

SEEN: set[str] = set()


@pytest.fixture
def ws_root(template: Path, tmp_path: Path) -> Path:  # noqa: F811 - template is the imported fixture
    root = tmp_path / "ws"
    shutil.copytree(template, root)
    return root


def refused(args: list[str], code: str, exit_code: int = 2) -> str:
    """A refusal: its exit status, and the code at the end of the message on the terminal."""
    result = cli(*args)
    assert result.exit_code == exit_code, result.output
    text = plain(result.output)
    assert f"[{code}]" in text, text
    SEEN.add(code)
    return text


def final_problems(root: Path, *paths: Path) -> dict[str, list[dict[str, Any]]]:
    """`score --final PATHS --json`: code -> the problems and notes carrying it; nothing recorded."""
    result = cli("score", "--final", *map(str, paths), "--json", "-w", str(root))
    assert result.exit_code == 1, result.output
    data = json.loads(result.stdout)
    assert not data["recorded"]
    out: dict[str, list[dict[str, Any]]] = {}
    for p in [*data["problems"], *data["notes"]]:
        assert p["code"] in CODES and CODES[p["code"]].area == "jury final", p
        out.setdefault(p["code"], []).append(p)
    SEEN.update(out)
    return out


def edit(path: Path, *, header: dict[str, str] | None = None, meta: dict[str, str] | None = None,
         rows: list[list[Any]] | None = None, drop: str | None = None) -> None:
    """Change a final sheet as a juror (or their spreadsheet program) might: a header renamed, the hidden sheet's
    values, rows added at the end, a row deleted."""
    book = load_workbook(path)
    sheet = book["Final"]
    for cell in sheet[1]:
        if header and cell.value in header:
            cell.value = header[cell.value]
    if drop is not None:
        sheet.delete_rows(next(r for r in range(2, sheet.max_row + 1) if sheet.cell(r, 1).value == drop))
    for row in rows or []:
        sheet.append(row)
    for r in book["milsetctl"].iter_rows():
        if meta and r[0].value in meta:
            r[1].value = meta[r[0].value]
    book.save(path)


def test_refusals_before_and_after_a_final(ws_root: Path) -> None:
    w = ["-w", str(ws_root)]
    refused(["jury", "final", *w], "final-mode")
    refused(["jury", "final", "--places", "3", *w], "final-mode")
    refused(["score", "--final", str(ws_root / "jury"), *w], "final-not-made")
    refused(["awards", "--use-final", *w], "final-not-combined")
    # a packaged photo gone: the final is made, its row without a thumbnail, and the high school needs no final
    (ws_root / "jury" / "package" / "photos" / "MC4444.jpg").unlink()
    made = cli("jury", "final", "--cut", "--json", *w)
    assert made.exit_code == 0, made.output
    issues = {i["code"]: i for i in json.loads(made.stdout)["issues"]}
    assert issues["final-no-thumbnail"]["severity"] == "warning" and "MC4444" in issues["final-no-thumbnail"]["message"]
    assert issues["final-not-needed"]["message"].startswith("high: no entry within 1 standard error")
    SEEN.update(issues)
    shown = plain(cli("jury", "final", "--cut", *w).output)
    assert "[final-no-thumbnail]" in shown and "[final-not-needed]" in shown
    refused(["score", "--final", str(ws_root / "nowhere"), *w], "final-sheets-missing")
    (ws_root / "empty").mkdir()
    refused(["score", "--final", str(ws_root / "empty"), *w], "final-sheets-missing")
    # a new score run: the final drawn from the earlier ranking is not read, nor used
    score_sheets(ws_root)
    text = refused(["score", "--final", str(ws_root / "jury" / "final"), *w], "final-ranking-changed")
    assert "make a new final" in text
    # no ranking at all
    with open_workspace(ws_root) as ws, ws.ledger.db:
        ws.ledger.db.execute("DELETE FROM ranking")
    refused(["jury", "final", "--cut", *w], "final-no-ranking")


def test_sheet_problems_each_have_their_code(ws_root: Path, tmp_path: Path) -> None:
    assert cli("jury", "final", "--cut", "-w", str(ws_root)).exit_code == 0
    sheets = final_sheets(ws_root)  # the short list: MA2222, MC4444 (Ed's conflict)
    folder = ws_root / "jury" / "final"
    first = tmp_path / "first-final"
    first.mkdir()
    shutil.copy(sheets["Ed"], first / "Ed first.xlsx")
    fill(sheets["Ann"], {"MC4444": 1})  # MA2222 left blank, no recusal
    fill(sheets["Bo"], {"MA2222": 7, "MC4444": 1})
    fill(sheets["Cy"], {"MA2222": 1, "MC4444": 2})
    edit(sheets["Cy"], header={"your rank": "rank"})
    fill(sheets["Di"], {"MA2222": 1, "MC4444": 1})
    edit(sheets["Di"], rows=[["ZZ9999", "middle", None, 2], ["MA2222", "middle", None, 2]])
    fill(sheets["Ed"], {"MA2222": 1, "MC4444": 2})
    shutil.copy(sheets["Ann"], folder / "Ann again.xlsx")
    shutil.copy(sheets["Bo"], folder / "stranger.xlsx")
    edit(folder / "stranger.xlsx", meta={"juror_id": "J99"})
    (folder / "broken.xlsx").write_bytes(b"not a workbook")
    write_xlsx(folder / "scores.xlsx", "Ann", [["MA2222", 9, 9, 9, 9]])
    got = final_problems(ws_root, folder)
    assert [p["sheet"] for p in got["final-sheet-unreadable"]] == ["broken.xlsx"]
    assert [p["sheet"] for p in got["final-sheet-not-final"]] == ["scores.xlsx"]
    assert [p["sheet"] for p in got["final-juror-unknown"]] == ["stranger.xlsx"]
    assert [p["juror"] for p in got["final-juror-twice"]] == ["Ann"]
    assert [p["juror"] for p in got["final-sheet-header"]] == ["Cy"]
    assert [(p["juror"], p["problem"][:6]) for p in got["final-rank-blank"]] == [("Ann", "MA2222")]
    assert [p["juror"] for p in got["final-rank-invalid"]] == ["Bo"]
    assert [(p["juror"], p["problem"][:6]) for p in got["final-entry-unknown"]] == [("Di", "ZZ9999")]
    assert [(p["juror"], p["problem"][:6]) for p in got["final-entry-twice"]] == [("Di", "MA2222")]
    assert [p["juror"] for p in got["final-rank-shared"]] == ["Di"]
    assert [(p["juror"], p["problem"][:6]) for p in got["final-rank-conflict"]] == [("Ed", "MC4444")]
    assert all(CODES[c].severity == ("note" if c in ("final-rank-shared", "final-rank-conflict") else "error")
               for c in got)
    # the terminal shows each problem with its code
    shown = plain(cli("score", "--final", str(folder), "-w", str(ws_root)).output)
    assert "[final-rank-blank]" in shown and "[final-juror-unknown]" in shown

    # a row deleted; the other jurors' sheets not back yet
    back = tmp_path / "back"
    back.mkdir()
    shutil.copy(sheets["Ed"], back)
    di = Path(shutil.copy(sheets["Di"], back / "Di.xlsx"))
    edit(di, drop="MC4444")
    book = load_workbook(di)
    sheet = book["Final"]
    for r in range(sheet.max_row, 1, -1):  # the rows added above go again
        if sheet.cell(r, 1).value in ("ZZ9999",) or (r > 2 and sheet.cell(r, 1).value == "MA2222"):
            sheet.delete_rows(r)
    book.save(di)
    got = final_problems(ws_root, back)
    assert [(p["juror"], p["problem"][:6]) for p in got["final-entry-missing"]] == [("Di", "MC4444")]
    assert sorted(p["juror"] for p in got["final-juror-no-sheet"]) == ["Ann", "Bo", "Cy"]

    # nothing usable
    only = tmp_path / "only"
    only.mkdir()
    shutil.copy(folder / "scores.xlsx", only)
    got = final_problems(ws_root, only)
    assert set(got) >= {"final-sheet-not-final", "final-no-usable-sheet"}

    # a final handed out again: the first one's sheet is refused by name
    assert cli("jury", "final", "--cut", "-w", str(ws_root)).exit_code == 0
    got = final_problems(ws_root, first)
    assert [p["sheet"] for p in got["final-sheet-other-final"]] == ["Ed first.xlsx"]


def test_library_codes_without_a_cli_path(ws_root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Two refusals a real round rarely reaches: a ranking whose entries have no standard error (each scored by
    one juror), and a final with nobody to hand it to."""
    ranking = pd.DataFrame({"entry_id": ["E1", "E2"], "category": ["middle", "middle"], "score": [80.0, 79.0],
                            "rank": [1, 2]}, index=["A1", "A2"])
    groups, notes = shortlist(ranking, pd.Series(dtype=float), stage="national", places=None, cut=True)
    assert groups == [] and [getattr(n, "code", None) for n in notes] == ["final-no-band"]
    assert str(notes[0]).endswith("[final-no-band]")
    SEEN.add("final-no-band")
    import milsetctl.scoring.finalsheets as finalsheets

    monkeypatch.setattr(finalsheets, "_jurors", lambda *_a: [])
    with open_workspace(ws_root) as ws, pytest.raises(FinalError) as caught:
        finalsheets.make_final(ws, cut=True)
    assert caught.value.code == "final-no-jurors" and str(caught.value).endswith("[final-no-jurors]")
    SEEN.add("final-no-jurors")


def test_every_final_code_comes_out_of_a_run() -> None:
    """Runs last in this file: every code of the area was produced above, and the area is listed for `rules`."""
    assert "jury final" in AREAS
    codes = {c.id for c in CODES.values() if c.area == "jury final"}
    assert codes - SEEN == set()
    shown = plain(cli("rules").output)
    assert "final-ranking-changed" in shown and "jury final" in shown
