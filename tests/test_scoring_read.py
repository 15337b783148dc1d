"""Reading the jurors' score sheets: every format, every kind of bad cell named by sheet, juror, row and cell."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from openpyxl import Workbook

from milsetctl.scoring.read import Problem, Roster, read_sheets

CRITERIA = ["originality", "information", "technique", "impact"]
ROUND = "R-0A1B2C3D"
IDS = ["K7QX2M", "P3HT9B", "W4ZC8N", "A2BD6F"]
HEADERS = ["anon_id", *CRITERIA, "comment", "category", "title", "description"]


def write_xlsx(path: Path, juror: str | None, rows: Sequence[Sequence[Any]], *, round_id: str | None = ROUND,
               juror_id: str = "J01", headers: Sequence[str] = HEADERS, score_max: int = 10) -> Path:
    """A juror's sheet in the contract's format: Instructions, Scores (row 1 headers), hidden milsetctl sheet.

    rows: [anon_id, originality, information, technique, impact, comment] (reference columns filled in).
    """
    book = Workbook()
    book.active.title = "Instructions"
    book.active["A1"] = "Score each photo 1-10."
    sheet = book.create_sheet("Scores")
    sheet.append(list(headers))
    for r in rows:
        r = list(r) + [None] * (6 - len(r))
        sheet.append([*r[:6], "middle", "=HYPERLINK(\"x\")", "A photo"][: len(headers)] if len(headers) >= 9
                     else r[: len(headers)])
    if round_id is not None or juror is not None:
        hidden = book.create_sheet("milsetctl")
        hidden.sheet_state = "hidden"
        for key, value in (("round_id", round_id), ("juror_id", juror_id), ("juror", juror),
                           ("criteria", ",".join(CRITERIA)), ("score_min", 1), ("score_max", score_max)):
            if value is not None:
                hidden.append([key, value])
    path.parent.mkdir(parents=True, exist_ok=True)
    book.save(path)
    return path


def write_csv(path: Path, header: Sequence[str], rows: Sequence[Sequence[Any]], encoding: str = "utf-8") -> Path:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(header)
    for r in rows:
        writer.writerow(["" if v is None else v for v in r])
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(buf.getvalue().encode(encoding))
    return path


def read(paths: Sequence[Path], known: Sequence[str] = IDS, roster: Roster | None = None, **kw: Any):  # type: ignore[no-untyped-def]
    return read_sheets(list(paths), criteria=CRITERIA, score_min=1, score_max=10, known_anon_ids=set(known),
                       round_id=ROUND, roster=roster, **kw)


def errors(result) -> list[Problem]:  # type: ignore[no-untyped-def]
    return [p for p in result.problems if p.severity == "error"]


def table(result) -> dict[tuple[str, str, str], float]:  # type: ignore[no-untyped-def]
    return {(j, a, c): s for j, a, c, s in result.scores[["juror", "anon_id", "criterion", "score"]]
            .itertuples(index=False)}


GOOD = [["K7QX2M", 7, 8, 6, 9, "Strong"], ["P3HT9B", 5, 5, 4, 6, None], ["W4ZC8N", 10, 9, 9, 10, ""],
        ["A2BD6F", 1, 2, 3, 2, "Blurred"]]


def test_contract_xlsx_reads_every_score_and_comment(tmp_path: Path) -> None:
    result = read([write_xlsx(tmp_path / "J01 Wang Fang.xlsx", "王芳", GOOD)])
    assert result.problems == []
    assert result.jurors == ["王芳"] and result.sheet_of == {"王芳": "J01 Wang Fang.xlsx"}
    scores = table(result)
    assert len(scores) == 16
    assert scores[("王芳", "K7QX2M", "technique")] == 6.0 and scores[("王芳", "A2BD6F", "originality")] == 1.0
    pairs = result.pairs.set_index("anon_id")
    assert pairs.loc["K7QX2M", "comment"] == "Strong" and pairs.loc["P3HT9B", "comment"] is None
    assert pairs.loc["W4ZC8N", "row"] == 4 and pairs.loc["W4ZC8N", "sheet"] == "J01 Wang Fang.xlsx"


def test_tolerant_values_are_accepted(tmp_path: Path) -> None:
    rows = [["K7QX2M", "7.0", " 8 ", "８", 7.0], ["ｐ3ht9b ", 10, "１０", "\u30007\u3000", "9"]]
    result = read([write_xlsx(tmp_path / "a.xlsx", "Ann", rows)], known=IDS[:2])
    assert result.problems == []
    scores = table(result)
    assert [scores[("Ann", "K7QX2M", c)] for c in CRITERIA] == [7, 8, 8, 7]
    assert [scores[("Ann", "P3HT9B", c)] for c in CRITERIA] == [10, 10, 7, 9]


def test_spellings_of_one_juror_and_one_id_are_one_pair(tmp_path: Path) -> None:
    rows = [["Juror 1", "K7QX2M", "originality", 7], ["juror  1", "k7qx2m", "information", 8],
            ["ＪＵＲＯＲ 1", " K7QX2M", "technique", 6], ["Juror 1", "Ｋ7QX2M", "impact", "9"],
            ["JUROR 1", "k7qx2m ", "impact", 4]]
    result = read([write_csv(tmp_path / "long.csv", ["juror", "anon_id", "criterion", "score"], rows)])
    assert result.jurors == ["Juror 1"] and len(result.pairs) == 1
    assert [(p.row, p.problem) for p in result.problems] == [
        (5, "K7QX2M impact appears more than once (rows 5, 6) with different scores; none of them is used")]
    assert table(result) == {("Juror 1", "K7QX2M", c): v for c, v in zip(CRITERIA[:3], (7, 8, 6), strict=True)}


@pytest.mark.parametrize(("value", "expected"), [
    ("７.５", "not a whole number: '７.５' (scores are whole numbers 1-10)"),
    (7.5, "not a whole number: 7.5 (scores are whole numbers 1-10)"),
    (11, "out of range 1-10: 11"),
    (0, "out of range 1-10: 0"),
    ("abc", "not a number: 'abc'"),
    ("#VALUE!", "not a number: '#VALUE!'"),
    (None, "missing score (blank cell)"),
    ("  ", "missing score (blank cell)"),
])
def test_a_bad_cell_is_named_by_sheet_juror_row_and_cell(tmp_path: Path, value: Any, expected: str) -> None:
    rows = [list(r) for r in GOOD]
    rows[2][3] = value  # W4ZC8N technique: sheet row 4, column D
    result = read([write_xlsx(tmp_path / "J02 Bo.xlsx", "Bo", rows)])
    assert errors(result) == [Problem("J02 Bo.xlsx", "Bo", 4, "D4", f"W4ZC8N technique: {expected}")]
    assert ("Bo", "W4ZC8N", "technique") not in table(result)  # never a silent zero
    assert len(table(result)) == 15


def test_an_entry_left_wholly_blank_is_one_problem(tmp_path: Path) -> None:
    rows = [list(r) for r in GOOD]
    rows[1][1:5] = [None, " ", None, None]
    xlsx = read([write_xlsx(tmp_path / "b.xlsx", "Bea", rows)])
    assert errors(xlsx) == [Problem("b.xlsx", "Bea", 3, "B3:E3", "P3HT9B: no score given (all 4 criteria blank)")]
    per_juror = read([write_csv(tmp_path / "Bea.csv", HEADERS[:6], rows)])
    assert [p.cell for p in errors(per_juror)] == ["row 3, columns originality-impact"]
    assert len(table(xlsx)) == len(table(per_juror)) == 12


def test_unknown_blank_and_duplicate_anon_ids(tmp_path: Path) -> None:
    rows = [list(r) for r in GOOD] + [["ZZZZZZ", 5, 5, 5, 5], [None, 4, 4, 4, 4], ["P3HT9B", 5, 5, 4, 6],
                                      ["K7QX2M", 1, 1, 1, 1]]
    result = read([write_xlsx(tmp_path / "c.xlsx", "Cy", rows)])
    got = {(p.row, p.cell, p.severity): p.problem for p in result.problems}
    assert got[(6, "A6", "error")] == "unknown anon ID 'ZZZZZZ'"
    assert got[(7, "A7", "error")] == "scores without an anon ID"
    assert got[(3, "A3", "note")].startswith("anon ID P3HT9B appears more than once (rows 3, 8) with the same")
    assert got[(2, "A2", "error")] == ("anon ID K7QX2M appears more than once (rows 2, 9) with different scores; "
                                       "none of them is used")
    scores = table(result)
    assert not any(a == "K7QX2M" for _, a, _ in scores)  # conflicting copies: neither is used
    assert scores[("Cy", "P3HT9B", "impact")] == 6  # identical copies: counted once
    assert len(result.pairs) == 3 and len(scores) == 12


def test_sheet_for_another_round_is_refused_whole(tmp_path: Path) -> None:
    other = write_xlsx(tmp_path / "old.xlsx", "Dee", GOOD, round_id="R-FFFF0000")
    good = write_xlsx(tmp_path / "good.xlsx", "Eve", GOOD)
    result = read([other, good])
    assert errors(result) == [Problem("old.xlsx", None, None, None, "a sheet for another round (R-FFFF0000; this "
                                      "round is R-0A1B2C3D); the sheet is not used")]
    assert result.refused == ["old.xlsx"] and result.jurors == ["Eve"]


def test_page_export_csv_for_another_round_is_refused_like_the_xlsx(tmp_path: Path) -> None:
    """The scoring page's CSV carries the round's token in a round_id column (jury/page.py): one from another
    round is refused whole with the XLSX's words, naming the file; one of this round is read, and its juror_id
    column names the juror as the XLSX's hidden sheet does, whatever the file was renamed to."""
    from milsetctl.jury.page import page_csv

    rows = [(a, dict(zip(CRITERIA, (5, 6, 7, 8), strict=True)), None) for a in IDS]
    old = tmp_path / "J01 Ann.csv"
    old.write_bytes(page_csv(CRITERIA, rows, "J01", "R-FFFF0000"))
    renamed = tmp_path / "scores (1).csv"
    renamed.write_bytes(page_csv(CRITERIA, rows, "J02", ROUND))
    roster = Roster(names={"J01": "Ann", "J02": "Bob"}, active={"J01": set(IDS), "J02": set(IDS)},
                    ever={"J01": set(IDS), "J02": set(IDS)})
    result = read_sheets([old, renamed], criteria=CRITERIA, score_min=1, score_max=10, known_anon_ids=IDS,
                         round_id=ROUND, roster=roster)
    assert errors(result) == [Problem("J01 Ann.csv", None, None, None, "a sheet for another round (R-FFFF0000; "
                                      "this round is R-0A1B2C3D); the sheet is not used")]
    assert result.errors[0].code == "sheet-other-round"
    assert result.refused == ["J01 Ann.csv"] and result.jurors == ["Bob"]
    assert result.juror_ids == {"Bob": "J02"} and len(result.scores) == 16


def test_long_csv_with_another_rounds_token_is_refused(tmp_path: Path) -> None:
    """A long CSV stamped with a round (a round_id column) is held to it too; a mix of two rounds is refused."""
    header = ["juror", "anon_id", "criterion", "score", "round_id"]
    rows: list[list[Any]] = [["Ann", a, c, 5, ROUND if a != IDS[-1] else "R-FFFF0000"] for a in IDS for c in CRITERIA]
    result = read([write_csv(tmp_path / "long.csv", header, rows)])
    assert [p.problem for p in result.errors] == ["a sheet for another round (R-FFFF0000; this round is "
                                                  "R-0A1B2C3D); the sheet is not used"]
    assert result.scores.empty


def test_sheet_made_for_another_score_range_is_refused(tmp_path: Path) -> None:
    result = read([write_xlsx(tmp_path / "five.xlsx", "Rex", [["K7QX2M", 5, 5, 4, 5]], score_max=5)])
    assert errors(result) == [Problem("five.xlsx", None, None, None, "the sheet was made for scores 1-5 but the "
                                      "contest now scores 1-10 (settings jury.score_min/score_max): make the sheets "
                                      "again or restore the settings; the sheet is not used")]
    assert result.scores.empty


def test_juror_outside_the_juror_file_is_refused_naming_who_has_no_sheet(tmp_path: Path) -> None:
    """Once `jury sheets` named the jurors, a sheet under another name (J05's scores saved as 'Dubois scores.xlsx')
    would count a juror twice: an error naming the jurors without a sheet, and its scores are not used."""
    roster = Roster(names={"J01": "Kim", "J02": "Lee"}, active={"J01": set(IDS), "J02": set(IDS)},
                    ever={"J01": set(IDS), "J02": set(IDS)})
    result = read([write_xlsx(tmp_path / "x.xlsx", "Stranger", GOOD, juror_id="J09"),
                   write_xlsx(tmp_path / "J01 Kim.xlsx", "Kim", GOOD, juror_id="J01")], roster=roster)
    [problem] = [p for p in errors(result) if p.code == "juror-unknown"]
    assert problem.sheet == "x.xlsx" and problem.juror == "Stranger"
    assert "is in no juror file, so these scores are not used" in problem.problem
    assert "jurors with no sheet here: J02 Lee" in problem.problem and "'J02 Lee.xlsx'" in problem.problem
    assert result.jurors == ["Kim"] and set(result.scores["juror"]) == {"Kim"}


def test_unreadable_file_is_one_problem_and_the_others_are_read(tmp_path: Path) -> None:
    broken = tmp_path / "broken.xlsx"
    broken.write_bytes(b"PK\x03\x04 not really a workbook")
    result = read([broken, write_xlsx(tmp_path / "fine.xlsx", "Fay", GOOD)])
    assert len(errors(result)) == 1
    p = errors(result)[0]
    assert p.sheet == "broken.xlsx" and p.row is None
    assert p.problem.startswith("a damaged file: it starts like a workbook (a zip) but cannot be opened")
    assert len(table(result)) == 16


def test_juror_on_two_sheets_uses_neither(tmp_path: Path) -> None:
    a = write_xlsx(tmp_path / "a.xlsx", "Gus", GOOD)
    b = write_xlsx(tmp_path / "b.xlsx", " gus ", GOOD[:2])
    c = write_xlsx(tmp_path / "c.xlsx", "Hal", GOOD)
    result = read([a, b, c])
    assert [(p.sheet, p.juror) for p in errors(result)] == [("a.xlsx", "Gus"), ("b.xlsx", "gus")]
    assert "juror Gus also has scores on b.xlsx: a juror twice" in errors(result)[0].problem
    assert result.jurors == ["Hal"] and set(result.scores["juror"]) == {"Hal"}


def test_renamed_and_extra_columns(tmp_path: Path) -> None:
    headers = ["Anon ID", "Originality (1-10)", "信息性", " TECHNIQUE ", "影响力 (1–10)", "评语", "Mood"]
    path = write_xlsx(tmp_path / "r.xlsx", "Ivy", [r[:6] + ["happy"] for r in GOOD], headers=headers)
    result = read([path])
    assert errors(result) == []
    assert result.notes == [Problem("r.xlsx", "Ivy", 1, "G1", "extra column 'Mood' ignored", "note")]
    assert table(result) == table(read([write_xlsx(tmp_path / "s.xlsx", "Ivy", GOOD)]))


def test_a_criterion_column_missing_is_one_problem_naming_the_header_row(tmp_path: Path) -> None:
    headers = ["anon_id", "originality", "information", "impact", "comment"]
    rows = [[r[0], r[1], r[2], r[4], r[5]] for r in GOOD]
    result = read([write_xlsx(tmp_path / "m.xlsx", "Jo", rows, headers=headers)])
    assert errors(result) == [Problem("m.xlsx", "Jo", 1, None, "no column for the criterion 'technique' in the "
                                      "header row (row 1: anon_id, originality, information, impact, comment)")]
    assert {c for _, _, c in table(result)} == {"originality", "information", "impact"}


def test_assignments_missing_and_unassigned_entries(tmp_path: Path) -> None:
    roster = Roster(names={"J01": "Kim", "J02": "Lee"}, active={"J01": set(IDS[:3]), "J02": set(IDS)},
                    ever={"J01": set(IDS[:3]), "J02": set(IDS)})
    sheet = write_xlsx(tmp_path / "J01 Kim.xlsx", "Kim", [GOOD[0], GOOD[1], GOOD[3]])  # W4ZC8N left out
    result = read([sheet], roster=roster)
    assert errors(result) == [
        Problem("J01 Kim.xlsx", "Kim", None, None, "W4ZC8N: assigned to this juror but not on the sheet (missing "
                "scores)"),
        Problem("J01 Kim.xlsx", "Kim", None, None, "A2BD6F: not assigned to this juror (another juror's entry, or a "
                "conflict of interest); its scores are not used"),
    ]
    assert result.juror_ids == {"Kim": "J01"}


def test_three_formats_give_the_same_scores(tmp_path: Path) -> None:
    xlsx = read([write_xlsx(tmp_path / "x" / "Mo.xlsx", "Mo", GOOD)])
    per_juror = read([write_csv(tmp_path / "c" / "Mo.csv", HEADERS[:6], GOOD, encoding="utf-8-sig")])  # Excel BOM
    long_rows = [["Mo", r[0], c, r[1 + k]] for r in GOOD for k, c in enumerate(CRITERIA)]
    long = read([write_csv(tmp_path / "l" / "all.csv", ["juror", "anon_id", "criterion", "score"], long_rows)])
    for result in (xlsx, per_juror, long):
        assert errors(result) == [] and result.jurors == ["Mo"]
    assert table(xlsx) == table(per_juror) == table(long)
    assert len(table(xlsx)) == 16


def test_gb18030_per_juror_csv_with_chinese_headers(tmp_path: Path) -> None:
    header = ["匿名编号", "原创性", "信息性", "技术", "影响力", "评语"]
    rows = [[r[0], r[1], r[2], r[3], r[4], "构图很好" if i == 0 else ""] for i, r in enumerate(GOOD)]
    rows[1][3] = "７.５"
    path = write_csv(tmp_path / "李娜.csv", header, rows, encoding="gb18030")
    result = read([path])
    assert result.jurors == ["李娜"]
    assert errors(result) == [Problem("李娜.csv", "李娜", 3, "row 3, column 技术",
                                      "P3HT9B technique: not a whole number: '７.５' (scores are whole numbers "
                                      "1-10)")]
    assert result.pairs.set_index("anon_id").loc["K7QX2M", "comment"] == "构图很好"
    assert len(table(result)) == 15


def test_utf16_long_csv_with_bom(tmp_path: Path) -> None:
    rows = [["Nia", r[0], c, r[1 + k]] for r in GOOD for k, c in enumerate(CRITERIA)]
    path = write_csv(tmp_path / "long.csv", ["Juror", "Anon_ID", "Criterion", "Score"], rows, encoding="utf-16")
    result = read([path])
    assert errors(result) == [] and len(table(result)) == 16


def test_long_csv_repeats_missing_rows_and_unknown_criterion(tmp_path: Path) -> None:
    rows = [["Oz", r[0], c, r[1 + k]] for r in GOOD for k, c in enumerate(CRITERIA)]
    rows.append(["Oz", "K7QX2M", "technique", 6])  # same again: a note
    rows.append(["Oz", "P3HT9B", "impact", 2])  # scored twice, differently
    del rows[9]  # W4ZC8N information gone
    rows.append(["Oz", "W4ZC8N", "composition", 3])
    rows.append(["", "W4ZC8N", "impact", 3])
    result = read([write_csv(tmp_path / "long.csv", ["juror", "anon_id", "criterion", "score"], rows)])
    got = [(p.row, p.cell, p.problem, p.severity) for p in result.problems]
    assert (4, "row 4, column score", "K7QX2M technique appears more than once (rows 4, 17) with the same "
            "scores; counted once", "note") in got
    assert (9, "row 9, column score", "P3HT9B impact appears more than once (rows 9, 18) with different scores; "
            "none of them is used", "error") in got
    assert (19, "row 19, column criterion", "unknown criterion 'composition' (expected originality, information, "
            "technique, impact)", "error") in got
    assert (20, "row 20, column juror", "no juror named in this row", "error") in got
    assert (None, None, "W4ZC8N information: missing score (no row)", "error") in got
    assert len(errors(result)) == 4
    assert len(table(result)) == 14  # 16 - the deleted row - P3HT9B impact


def test_long_csv_600k_rows_parse_and_check_fast(tmp_path: Path) -> None:
    """5,000 entries x 30 jurors x 4 criteria; per-row Python would take several seconds."""
    rng = np.random.default_rng(1)
    letters = np.array(list("ABCDEFGHJKLMNPQRSTUVWXYZ23456789"))
    anons = np.unique(["".join(x) for x in rng.choice(letters, (5200, 6))])[:5000]
    n = 5000 * 30 * 4
    frame = pd.DataFrame({
        "juror": np.repeat([f"Juror {i:02d}" for i in range(30)], 5000 * 4),
        "anon_id": np.tile(np.repeat(anons, 4), 30),
        "criterion": np.tile(CRITERIA, 5000 * 30),
        "score": rng.integers(1, 11, n),
    })
    frame.loc[12345, "score"] = 11
    path = tmp_path / "long.csv"
    frame.to_csv(path, index=False)
    result = read_sheets([path], criteria=CRITERIA, score_min=1, score_max=10, known_anon_ids=set(anons),
                         round_id=ROUND)
    assert len(result.scores) == n - 1 and len(result.pairs) == 150_000
    assert [(p.row, p.cell) for p in result.problems] == [(12347, "row 12347, column score")]
    # how fast: bench/bench_score.py, as a ratio to pandas reading the same CSV (a wall-clock limit failed on a busy
    # machine)


def test_a_folder_gives_its_sheets_and_nothing_else(tmp_path: Path) -> None:
    from milsetctl.scoring.read import sheet_paths

    folder = tmp_path / "sheets"
    a = write_xlsx(folder / "J01 A.xlsx", "A", GOOD)
    b = write_csv(folder / "J02 B.csv", HEADERS[:6], GOOD)
    (folder / "~$J01 A.xlsx").write_bytes(b"lock")
    (folder / "notes.txt").write_text("remember J03", encoding="utf-8")
    (folder / "withdrawn").mkdir()
    write_xlsx(folder / "withdrawn" / "J03 C.xlsx", "C", GOOD)
    (folder / ".DS_Store").write_bytes(b"\x00\x00\x00\x01Bud1")
    lock, notes = folder / "~$J01 A.xlsx", folder / "notes.txt"
    # every file is looked at (only the system's own files are not); sub-folders are not searched
    assert sheet_paths([folder, a]) == [a, b, notes, lock]
    with pytest.raises(FileNotFoundError, match="nope.xlsx: no such file or folder"):
        sheet_paths([folder / "nope.xlsx"])
    # ... and none is passed over without a word: the lock file and the notes are named in notes, not errors
    result = read(sheet_paths([folder]))
    assert errors(result) == [] and len(table(result)) == 32
    said = {p.sheet: p.problem for p in result.notes}
    assert "the sheet itself is J01 A.xlsx" in said["~$J01 A.xlsx"] and "close the program" in said["~$J01 A.xlsx"]
    assert said["notes.txt"].startswith("not a score sheet (no anon_id column")


def test_code_helpers_agree_with_their_fallbacks() -> None:
    """The counting fast paths and the hashing fallbacks (huge key spaces) give the same answers."""
    from milsetctl.scoring.read import _dense_codes, _factorize, _repeated

    rng = np.random.default_rng(3)
    keys = rng.integers(0, 40, 200)
    valid = rng.random(200) > 0.2
    assert (_repeated(keys, valid, 40) & valid).tolist() == (_repeated(keys, valid, 10**9) & valid).tolist()
    codes, uniq = _dense_codes(keys, 40)
    codes2, uniq2 = _dense_codes(keys, 10**9)
    assert codes.tolist() == codes2.tolist() and uniq.tolist() == uniq2.tolist() == sorted(set(keys.tolist()))
    runs = np.array(["a"] * 50 + ["b"] * 30 + [None] * 5 + ["a"] * 15, dtype=object)
    cycle = np.array(["x", "y", "z", "w"] * 25, dtype=object)
    for values, period in ((runs, 0), (cycle, 4), (cycle, 0), (np.array(["q", "r"] * 3, dtype=object), 4)):
        got, uniques = _factorize(values, period)
        assert [None if c < 0 else uniques[c] for c in got] == values.tolist()
