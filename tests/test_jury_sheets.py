"""`jury sheets`: the juror file, the assignment (quorum, balance, conflicts, drop-outs) and the XLSX contract
that `score` reads back. Sheets are opened with openpyxl; the assignment is checked pair by pair."""

from __future__ import annotations

import csv
import json
import random
from collections import Counter
from pathlib import Path

import pytest
from jury_fixtures import PEOPLE, jury_workspace
from openpyxl import Workbook, load_workbook
from typer.testing import CliRunner

from milsetctl.cli import app
from milsetctl.jury import Juror, JurorFileError, JuryEntry, JuryError, assign, make_sheets, read_jurors
from milsetctl.jury.conflicts import conflict, country_key, school_key
from milsetctl.workspace import open_workspace

runner = CliRunner()
ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
CRITERIA = ["originality", "information", "technique", "impact"]
HEADERS = ["anon_id", *CRITERIA, "comment", "category", "title", "description"]
SAMPLE_JURORS = Path(__file__).resolve().parent.parent / "sample_data" / "jurors.csv"


def anon_ids(n: int, seed: int = 7) -> list[str]:
    rng = random.Random(seed)
    out: list[str] = []
    while len(out) < n:
        a = "".join(rng.choices(ALPHABET, k=6))
        if a not in out:
            out.append(a)
    return out


def blind(ws) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """Give every entry an anonymous ID (as `anonymise` would); returns entry_id -> anon_id."""
    mapping = {}
    for row, anon in zip(ws.ledger.entries(), anon_ids(len(ws.ledger.entries())), strict=True):
        ws.ledger.add_anon_id(anon, row["entry_id"])
        mapping[row["entry_id"]] = anon
    return mapping


def write_jurors(path: Path, rows: list[list[str]], encoding: str = "utf-8-sig",
                 headers: list[str] | None = None) -> Path:
    with open(path, "w", newline="", encoding=encoding) as f:
        writer = csv.writer(f)
        writer.writerow(headers or ["name", "affiliation", "country", "email", "school"])
        writer.writerows(rows)
    return path


def panel(n: int, school: str = "", country: str = "China") -> list[list[str]]:
    return [[f"Juror {i}", "MILSET", country, f"juror{i}@example.org", school] for i in range(1, n + 1)]


def sheet_pairs(ws) -> dict[str, list[str]]:  # type: ignore[no-untyped-def]
    """juror_id -> anon_ids, read back from the XLSX files themselves (not the ledger)."""
    out = {}
    for path in sorted((ws.root / "jury" / "sheets").glob("*.xlsx")):
        book = load_workbook(path)
        juror_id = {r[0]: r[1] for r in book["milsetctl"].iter_rows(values_only=True)}["juror_id"]
        out[juror_id] = [r[0] for r in book["Scores"].iter_rows(min_row=2, values_only=True)]
    return out


# --- the juror file ------------------------------------------------------------------------------------------

def test_juror_file_gb18030_csv_with_chinese_headers(tmp_path: Path) -> None:
    path = write_jurors(tmp_path / "评委.csv", [
        ["王丽华", "北京市第四中学", "中国", "WangLH@Example.cn", "北京市第四中学"],
        ["Emily Carter", "MILSET Europe", "United Kingdom", "emily@example.org", ""],
        ["陈晓明", "中国摄影家协会", "中国", "", ""],
    ], encoding="gb18030", headers=["姓名", "工作单位", "国家", "邮箱", "学校"])
    assert path.read_bytes().decode("gb18030").startswith("姓名")  # really GB18030, not UTF-8
    jurors = read_jurors(path)
    assert [j.name for j in jurors] == ["王丽华", "Emily Carter", "陈晓明"]
    assert jurors[0].school == "北京市第四中学" and jurors[0].affiliation == "北京市第四中学"
    assert jurors[0].country == "中国"
    assert jurors[0].key == "wanglh@example.cn"  # identity: the normalised e-mail
    assert jurors[2].key == "陈晓明" and jurors[2].email is None  # no e-mail: the normalised name
    assert [j.row for j in jurors] == [2, 3, 4]


def test_juror_file_utf16_tab_separated(tmp_path: Path) -> None:
    """Excel's "Unicode Text": UTF-16 with BOM, tab-separated."""
    text = "姓名\t单位\t国家\t邮箱\t学校\r\n刘芳\t上海天文馆\t中国\tliufang@example.org\t\r\n"
    (tmp_path / "jurors.txt").write_bytes(text.encode("utf-16"))
    jurors = read_jurors(tmp_path / "jurors.txt")
    assert [(j.name, j.affiliation, j.country, j.email, j.school) for j in jurors] == [
        ("刘芳", "上海天文馆", "中国", "liufang@example.org", None)]


def test_juror_file_xlsx_with_odd_headers(tmp_path: Path) -> None:
    book = Workbook()
    sheet = book.active
    sheet.append([" E-Mail ", "NAME", "Organisation", "Country ", "School_Name"])
    sheet.append(["ana.souza@example.br", "Ana Souza", "MILSET América Latina", "Brazil", None])
    sheet.append([None, None, None, None, None])  # blank line in a hand-kept sheet
    sheet.append(["k.tanaka@example.jp", "Kenji  Tanaka", "JSF", "Japan", "Tokyo Gakugei HS"])
    book.save(tmp_path / "jurors.xlsx")
    jurors = read_jurors(tmp_path / "jurors.xlsx")
    assert [(j.name, j.email, j.country, j.school, j.row) for j in jurors] == [
        ("Ana Souza", "ana.souza@example.br", "Brazil", None, 2),
        ("Kenji Tanaka", "k.tanaka@example.jp", "Japan", "Tokyo Gakugei HS", 4),
    ]


def test_juror_file_problems_name_file_row_and_column(tmp_path: Path) -> None:
    path = write_jurors(tmp_path / "jurors.csv", [
        ["Li Jianguo", "NAOC", "China", "li@example.org", ""],
        ["", "NAOC", "China", "nobody@example.org", ""],
        ["Liu Fang", "SAM", "China", "liu-at-example.org", ""],
        ["Li Jian Guo", "NAOC", "China", " LI@example.org ", ""],  # same e-mail, other spelling
        ["Zhang Min", "NJU", "China", "", ""],
        ["zhang  min", "NJU", "China", "", ""],  # same name, no e-mail to tell them apart
    ])
    with pytest.raises(JurorFileError) as info:
        read_jurors(path)
    problems = info.value.problems
    assert len(problems) == 4, problems
    assert problems[0].startswith("jurors.csv row 3, column A (name)") and "name is missing" in problems[0]
    assert problems[1].startswith("jurors.csv row 4, column D (email)") and "liu-at-example.org" in problems[1]
    assert problems[2].startswith("jurors.csv row 5, column D (email)") and "duplicate e-mail" in problems[2]
    assert "rows 2 and 5" in problems[2]
    assert problems[3].startswith("jurors.csv row 7, column A (name)") and "rows 6 and 7" in problems[3]


def test_juror_file_without_a_name_column(tmp_path: Path) -> None:
    path = write_jurors(tmp_path / "jurors.csv", [["x@example.org", "NAOC"]], headers=["email", "unit"])
    with pytest.raises(JurorFileError) as info:
        read_jurors(path)
    assert "no name column" in str(info.value) and "email, unit" in str(info.value)


def test_sample_jurors_file() -> None:
    jurors = read_jurors(SAMPLE_JURORS)
    assert len(jurors) == 10 and len({j.key for j in jurors}) == 10
    assert any(any("\u4e00" <= ch <= "\u9fff" for ch in j.name) for j in jurors)
    assert any(j.name.isascii() for j in jurors)
    assert all(j.email and j.affiliation and j.country for j in jurors)
    assert [j.name for j in jurors if j.school == "北京市第四中学"] == ["王丽华"]


# --- conflicts of interest ----------------------------------------------------------------------------------

def test_school_and_country_normalisation() -> None:
    assert school_key("北京市 第四中学") == school_key("北京市第四中学") == school_key("北京市第四中学　")
    assert school_key("Lyceum No. 130") == school_key("LYCEUM  No.130") == school_key("Ｌｙｃｅｕｍ Ｎｏ． 130")
    assert school_key("北京市第四中学") != school_key("北京市第八十中学")
    assert {country_key(c) for c in ("China", "中国", "CN", "chn", "People's Republic of China", "中國")} == {"CN"}
    assert country_key("Russia") == country_key("Russian Federation") == country_key("俄罗斯") == "RU"
    assert country_key("Spain") == country_key("西班牙") == "ES"
    assert country_key("Hong Kong") == "HK" != country_key("China")
    assert country_key("Atlantis") == country_key(" ATLANTIS ") and country_key("") == ""
    assert conflict("national", "北京四中", "China", "北京四中", "Spain") == "same school"
    assert conflict("national", "北京四中", "China", "上海中学", "China") is None
    assert conflict("global", "北京四中", "中国", "上海中学", "China") == "same country"
    assert conflict("global", None, None, "上海中学", "China") is None


def test_no_juror_gets_an_entry_from_their_school(tmp_path: Path) -> None:
    entries = [JuryEntry(f"A{i:05d}", school=["北京市第四中学", "上海中学", "成都七中"][i % 3]) for i in range(30)]
    jurors = [Juror("J01", "王丽华", school="北京市 第四中学"), Juror("J02", "B", school="ＳＨＡＮＧＨＡＩ"),
              Juror("J03", "C", school="上海中学"), Juror("J04", "D"), Juror("J05", "E", school="成都七中")]
    for quorum in (0, 2):
        result = assign(entries, jurors, quorum, "national", seed=3)
        school = {e.anon_id: e.school for e in entries}
        assert not [a for a in result.sheets["J01"] if school[a] == "北京市第四中学"]
        assert not [a for a in result.sheets["J03"] if school[a] == "上海中学"]
        assert not [a for a in result.sheets["J05"] if school[a] == "成都七中"]
        assert sorted(result.conflicts["J01"]) == sorted(a for a, s in school.items() if s == "北京市第四中学")
        assert set(result.conflicts["J01"].values()) == {"same school"}
    everyone = assign(entries, jurors, 0, "national", seed=3)
    assert len(everyone.sheets["J04"]) == 30 and len(everyone.sheets["J01"]) == 20


def test_global_stage_conflict_is_the_country_however_written(tmp_path: Path) -> None:
    entries = [JuryEntry(f"G{i:03d}", country=c, school="same school for all")
               for i, c in enumerate(["China", "中国", "CN", "Spain", "Russia", "Pakistan"] * 3)]
    jurors = [Juror("J01", "陈晓明", school="same school for all", country="中国"),
              Juror("J02", "Ana", country="ESP"), Juror("J03", "Olga", country="Российская Федерация"),
              Juror("J04", "Kenji", country="Japan")]
    result = assign(entries, jurors, 2, "global", seed=1)
    country = {e.anon_id: e.country for e in entries}
    assert not {country[a] for a in result.sheets["J01"]} & {"China", "中国", "CN"}
    assert "Spain" not in {country[a] for a in result.sheets["J02"]}
    assert len(result.conflicts["J01"]) == 9 and len(result.conflicts["J02"]) == 3
    assert all(len(result.jurors_of(e.anon_id)) == 2 for e in entries)  # same school is no conflict here


def test_workspace_sheets_respect_conflicts_national_and_global(tmp_path: Path) -> None:
    with jury_workspace(tmp_path / "national") as ws:
        ids = blind(ws)
        path = write_jurors(tmp_path / "jurors.csv", [
            ["王丽华", "北京四中", "China", "wlh@example.cn", "北京市 第四中学"],  # 张伟's school, spaced
            *panel(3)])
        make_sheets(ws, path)
        sheets = sheet_pairs(ws)
        assert ids["E0001"] not in sheets["J01"] and len(sheets["J01"]) == 7
        assert all(ids["E0001"] in sheets[j] for j in ("J02", "J03", "J04"))
    with jury_workspace(tmp_path / "global", stage="global") as ws:
        ids = blind(ws)
        path = write_jurors(tmp_path / "jurors-global.csv", [
            ["陈晓明", "CPA", "中国", "cxm@example.org", ""], ["Ana", "MILSET", "España", "ana@example.org", ""],
            ["Olga", "Lyceum", "RU", "olga@example.ru", ""]])
        result = make_sheets(ws, path, quorum=2)
        sheets = sheet_pairs(ws)
        chinese = {ids[f"E{i + 1:04d}"] for i, p in enumerate(PEOPLE) if p.country == "China"}
        assert not chinese & set(sheets["J01"])
        assert ids["E0004"] not in sheets["J03"]  # Olga Ivanova's entry (Russia)
        assert result.conflicts == {"same country": 6}
        assert result.stage == "global"


# --- quorum and balance --------------------------------------------------------------------------------------

def test_quorum_balanced_40_entries_12_jurors(tmp_path: Path) -> None:
    schools = ["北京市第四中学", "上海中学", "成都七中", "杭州第二中学", "华中师范大学第一附属中学"]
    entries = [JuryEntry(a, school=schools[i % 5]) for i, a in enumerate(anon_ids(40))]
    jurors = [Juror(f"J{i:02d}", f"Juror {i}", school=schools[i % 7] if i % 7 < 5 else None) for i in range(1, 13)]
    result = assign(entries, jurors, 3, "national", seed=11)
    loads = result.loads()
    assert sum(loads.values()) == 120
    assert max(loads.values()) - min(loads.values()) <= 1, loads
    for e in entries:
        holders = result.jurors_of(e.anon_id)
        assert len(holders) == 3
        assert all(e.anon_id not in result.conflicts.get(j, {}) for j in holders)
    assert not result.short
    # deterministic for a seed; another seed gives other sheets
    again = assign(list(reversed(entries)), list(reversed(jurors)), 3, "national", seed=11)
    assert again.sheets == result.sheets
    assert assign(entries, jurors, 3, "national", seed=12).sheets != result.sheets


def test_balance_holds_under_heavy_conflicts() -> None:
    # half the entries come from one school and four of ten jurors teach there: the other six carry them
    entries = [JuryEntry(f"A{i:03d}", school="Big School" if i < 30 else f"School {i}") for i in range(60)]
    jurors = [Juror(f"J{i:02d}", f"J{i}", school="Big School" if i <= 4 else None) for i in range(1, 11)]
    result = assign(entries, jurors, 4, "national", seed=2)
    loads = result.loads()
    assert all(len(result.jurors_of(e.anon_id)) == 4 for e in entries)
    assert max(loads.values()) - min(loads.values()) <= 1, loads


def test_random_rounds_meet_the_quorum_and_leave_no_easy_move() -> None:
    """On random rounds with random conflicts: every entry gets min(K, jurors who may score it), no conflict is
    assigned, and no entry could move from a juror to one carrying 2 or more fewer (the loads are as even as the
    conflicts allow, at least pair by pair)."""
    for trial in range(25):
        rng = random.Random(trial)
        schools = [f"S{i}" for i in range(rng.randint(2, 6))]
        entries = [JuryEntry(f"E{i:03d}", school=rng.choice(schools)) for i in range(rng.randint(5, 40))]
        jurors = [Juror(f"J{i:02d}", f"j{i}", school=rng.choice([*schools, None, None]))
                  for i in range(rng.randint(2, 12))]
        k = rng.randint(1, 5)
        result = assign(entries, jurors, k, "national", seed=trial)
        school = {j.juror_id: j.school for j in jurors}
        loads = result.loads()
        for e in entries:
            may = [j.juror_id for j in jurors if j.school != e.school]
            holders = result.jurors_of(e.anon_id)
            assert len(holders) == min(k, len(may)) and set(holders) <= set(may)
            assert (e.anon_id in result.short) == (len(may) < k)
        for u in loads:
            for v in loads:
                if loads[u] - loads[v] >= 2:
                    assert not [a for a in result.sheets[u] if a not in result.sheets[v]
                                and school[v] != next(e.school for e in entries if e.anon_id == a)], (trial, u, v)


def test_entries_that_cannot_reach_the_quorum_are_named(tmp_path: Path) -> None:
    entries = [JuryEntry("AAAAAA", school="S1"), JuryEntry("BBBBBB", school="S2"), JuryEntry("CCCCCC", school="S3")]
    jurors = [Juror("J01", "a", school="S1"), Juror("J02", "b", school="S1"), Juror("J03", "c", school="S2"),
              Juror("J04", "d")]
    result = assign(entries, jurors, 3, "national", seed=0)
    assert result.short == {"AAAAAA": (2, 3)}  # only J03 and J04 may score it
    assert result.jurors_of("AAAAAA") == ["J03", "J04"]
    with jury_workspace(tmp_path) as ws:
        ids = blind(ws)
        path = write_jurors(tmp_path / "jurors.csv", [
            ["A", "x", "China", "a@example.org", "北京市第四中学"],
            ["B", "x", "China", "b@example.org", "北京市第四中学"],
            ["C", "x", "China", "c@example.org", ""]])
        result = make_sheets(ws, path, quorum=3)
        assert result.short == [{"anon_id": ids["E0001"], "jurors": 1, "quorum": 3}]
        assert any(ids["E0001"] in w and "cannot reach 3 jurors" in w for w in result.warnings)


def test_under_ten_jurors_warns_quoting_the_call(tmp_path: Path) -> None:
    with jury_workspace(tmp_path) as ws:
        blind(ws)
        few = make_sheets(ws, write_jurors(tmp_path / "few.csv", panel(4)))
        assert "4 jurors in the juror file: the call for entries asks for at least 10 jurors" in few.warnings
        # 8 entries, one juror each, 10 jurors: two have nothing to score, and the chair is told who
        spare = make_sheets(ws, write_jurors(tmp_path / "enough.csv", panel(10)), quorum=1)
        idle = [s.juror_id for s in spare.sheets if s.entries == 0]
        assert len(idle) == 2 and sorted(len(v) for v in sheet_pairs(ws).values()) == [0, 0] + [1] * 8
        assert sum("no entry to score" in w for w in spare.warnings) == 2
        enough = make_sheets(ws, write_jurors(tmp_path / "enough.csv", panel(10)))
        assert not any("call for entries" in w for w in enough.warnings)


# --- the XLSX contract ---------------------------------------------------------------------------------------

def test_sheet_follows_the_contract(tmp_path: Path) -> None:
    with jury_workspace(tmp_path) as ws:
        ids = blind(ws)
        rows = [dict(r) for r in ws.ledger.entries()]
        rows[2]["title"] = '=HYPERLINK("http://evil.example","click")'
        rows[3]["description"] = "+1 and -1 @ the edge of the sky"
        rows[4]["title"] = "-40 degrees"
        ws.ledger.save_results(rows, {})
        result = make_sheets(ws, write_jurors(tmp_path / "jurors.csv", panel(2)), seed=5)
        round_id = ws.ledger.round_id()
        assert [s.file for s in result.sheets] == ["jury/sheets/J01 Juror 1.xlsx", "jury/sheets/J02 Juror 2.xlsx"]
        book = load_workbook(ws.root / "jury" / "sheets" / "J01 Juror 1.xlsx")
    assert book.sheetnames == ["Instructions", "Scores", "milsetctl"]
    assert book["milsetctl"].sheet_state == "hidden" and book["Scores"].sheet_state == "visible"
    meta = {r[0]: r[1] for r in book["milsetctl"].iter_rows(values_only=True)}
    assert meta["round_id"] == round_id and meta["juror_id"] == "J01" and meta["juror"] == "Juror 1"
    assert meta["contest"] == "MILSET STEAM Photo Contest 2022" and meta["stage"] == "national"
    assert meta["criteria"] == "originality,information,technique,impact"
    assert (meta["score_min"], meta["score_max"]) == (1, 10) and meta["generated_at"]

    scores = book["Scores"]
    assert [c.value for c in scores[1]] == HEADERS
    data = list(scores.iter_rows(min_row=2, values_only=True))
    assert len(data) == 8 and sorted(r[0] for r in data) == sorted(ids.values())
    assert all(r[1:6] == (None,) * 5 for r in data)  # scores and comment blank
    by_anon = {r[0]: r for r in data}
    assert by_anon[ids["E0002"]][6:] == ("high", "Night sky 2", "Stars over the hills, photo 2.")
    # a title beginning with "=" is stored as a string, not a formula
    row = next(i for i, r in enumerate(data, start=2) if r[0] == ids["E0003"])
    cell = scores.cell(row=row, column=8)
    assert cell.data_type == "s" and cell.value == '=HYPERLINK("http://evil.example","click")'
    assert cell.quotePrefix
    row4 = next(i for i, r in enumerate(data, start=2) if r[0] == ids["E0004"])
    assert scores.cell(row=row4, column=9).data_type == "s"
    assert scores.cell(row=row4, column=9).value.startswith("+1")
    # data validation: whole numbers 1..10 over exactly the score cells, with an error message and a prompt (one
    # rule per criterion: each prompt is its criterion's rubric)
    rules = scores.data_validations.dataValidation
    assert sorted(str(rule.sqref) for rule in rules) == ["B2:B9", "C2:C9", "D2:D9", "E2:E9"]
    for rule in rules:
        assert (rule.type, rule.operator, rule.formula1, rule.formula2) == ("whole", "between", "1", "10")
        assert rule.showErrorMessage and rule.error and "1 to 10" in rule.error and rule.errorStyle == "stop"
        assert rule.showInputMessage and rule.prompt
    assert scores.freeze_panes == "B2"
    assert scores.column_dimensions["I"].width >= 60 and scores.column_dimensions["H"].width >= 30
    assert scores.cell(row=2, column=9).alignment.wrap_text
    text = "\n".join(str(r[0]) for r in book["Instructions"].iter_rows(values_only=True) if r[0])
    for needed in ("MILSET STEAM Photo Contest 2022", round_id, "Juror 1 (J01)", "Entries to score: 8",
                   "Informational content", "Technical proficiency", "Artistic and visual impact", "Originality",
                   "from 1 (weakest) to 10 (strongest)", "Leave no score cell blank; one comment per entry is "
                   "optional", "send it back to the jury chair"):
        assert needed in text, needed
    assert not list((tmp_path / "ws" / "jury" / "sheets").glob(".*"))  # no temporary file left


def test_each_juror_sees_their_own_random_order(tmp_path: Path) -> None:
    with jury_workspace(tmp_path) as ws:
        blind(ws)
        make_sheets(ws, write_jurors(tmp_path / "jurors.csv", panel(4)), seed=9)
        first = sheet_pairs(ws)
        assert len({tuple(v) for v in first.values()}) > 1  # not one order for the whole panel
        assert all(sorted(v) == sorted(first["J01"]) for v in first.values())
        positions = [(r["juror_id"], r["anon_id"], r["position"]) for r in ws.ledger.assignments()]
        assert [a for j, a, _p in positions if j == "J02"] == first["J02"]
        make_sheets(ws, write_jurors(tmp_path / "jurors.csv", panel(4)), seed=9)
        assert sheet_pairs(ws) == first  # a re-run changes nothing


# --- drop-outs and late joiners ------------------------------------------------------------------------------

def test_pure_rebalance_keeps_scored_and_never_repeats_a_pair() -> None:
    entries = [JuryEntry(a) for a in anon_ids(24)]
    jurors = [Juror(f"J{i:02d}", f"j{i}") for i in range(1, 7)]
    first = assign(entries, jurors, 3, "national", seed=4)
    existing = [(j, a, p, True) for j, a, p in first.positions()]
    scored = {(j, a) for j, ids in first.sheets.items() for a in ids[:5]}  # each returned 5 of 12
    # J02 drops out, J07 joins
    after = [j for j in jurors if j.juror_id != "J02"] + [Juror("J07", "j7")]
    second = assign(entries, after, 3, "national", existing, scored, seed=4)
    held = {(j, a) for j, ids in second.sheets.items() for a in ids}
    assert {(j, a) for j, a in scored if j != "J02"} <= held  # every returned score stays on its sheet
    assert second.kept_scored == {(j, a) for j, a in scored if j != "J02"}
    for e in entries:  # J02's returned scores still count: quorum met with them
        gone = sum(1 for j, a in scored if j == "J02" and a == e.anon_id)
        assert len(second.jurors_of(e.anon_id)) + gone == 3
    assert second.retired == {("J02", a) for a in first.sheets["J02"][5:]}
    assert max(second.loads().values()) - min(second.loads().values()) <= 1, second.loads()
    # continuing jurors keep the unscored work already on their sheets unless balance needs it
    continuing = {(j, a) for j, a, _p, _x in existing if j != "J02"}
    assert len(continuing - held) <= 6
    assert all(len(ids) == len(set(ids)) for ids in second.sheets.values())
    # J02 comes back: their scored entries are theirs again, not new work; nothing is handed twice
    existing2 = [(j, a, p, True) for j, a, p in second.positions()] + \
        [(j, a, p, False) for j, a, p, _x in existing if j == "J02"]
    third = assign(entries, [*after, jurors[1]], 3, "national", existing2, scored, seed=4)
    assert {a for j, a in scored if j == "J02"} <= set(third.sheets["J02"])
    assert not {(j, a) for j, a in third.added if (j, a) in scored}
    for e in entries:
        assert len(third.jurors_of(e.anon_id)) == 3


def test_drop_out_and_join_in_the_workspace(tmp_path: Path) -> None:
    with jury_workspace(tmp_path) as ws:
        blind(ws)
        team = panel(4)
        make_sheets(ws, write_jurors(tmp_path / "jurors.csv", team), quorum=2, seed=1)
        before = sheet_pairs(ws)
        assert {len(v) for v in before.values()} == {4}
        # Juror 1 returned two scores, Juror 2 one, then Juror 2 drops out and Juror 5 joins
        one, two = before["J01"][:2], before["J02"][:1]
        rows = [("Juror 1", a, json.dumps({c: 7 for c in CRITERIA}), "nice" if i == 0 else None,
                 "jury/sheets/J01 Juror 1.xlsx", i + 2) for i, a in enumerate(one)]
        ws.ledger.replace_scores(["Juror 1"], rows, "mean", ["J01 Juror 1.xlsx"])
        ws.ledger.replace_scores(["Juror 2"], [("Juror 2", two[0], json.dumps({c: 4 for c in CRITERIA}), None,
                                                "J02 Juror 2.xlsx", 2)], "mean", ["J02 Juror 2.xlsx"])
        changed = [team[0], team[2], team[3], ["Juror 5", "MILSET", "China", "juror5@example.org", ""]]
        result = make_sheets(ws, write_jurors(tmp_path / "jurors.csv", changed), quorum=2, seed=1)
        after = sheet_pairs(ws)
        assert sorted(after) == ["J01", "J03", "J04", "J05"]
        assert (ws.root / "jury" / "sheets" / "withdrawn" / "J02 Juror 2.xlsx").exists()  # moved, not deleted
        assert result.withdrawn == [{"juror_id": "J02", "juror": "Juror 2", "reason": "dropped out",
                                     "file": "jury/sheets/withdrawn/J02 Juror 2.xlsx"}]
        # continuing jurors keep all their work, in the same order; only J02's unscored work moved
        for j in ("J01", "J03", "J04"):
            assert after[j] == before[j]
        assert sorted(after["J05"]) == sorted(before["J02"][1:])
        holders = Counter(a for ids in after.values() for a in ids)
        assert holders[two[0]] == 1 and all(n == 2 for a, n in holders.items() if a != two[0])
        # the returned scores are printed in the re-issued sheet, so sending it back loses nothing
        book = load_workbook(ws.root / "jury" / "sheets" / "J01 Juror 1.xlsx")
        rows_back = {r[0]: r for r in book["Scores"].iter_rows(min_row=2, values_only=True)}
        assert rows_back[one[0]][1:6] == (7, 7, 7, 7, "nice") and rows_back[one[1]][1:5] == (7, 7, 7, 7)
        assert all(r[1] is None for a, r in rows_back.items() if a not in one)
        row_j01 = next(s for s in result.sheets if s.juror_id == "J01")
        assert (row_j01.scored, row_j01.added, row_j01.removed) == (2, 0, 0)
        assert any("J02 Juror 2 is no longer in the juror file" in w for w in result.warnings)
        # the ledger keeps J02's pairs as history, inactive
        history = {(r["juror_id"], r["anon_id"]): r["active"] for r in ws.ledger.assignments(active_only=False)}
        assert all(history[("J02", a)] == 0 for a in before["J02"])
        assert [r["active"] for r in ws.ledger.jurors() if r["juror_id"] == "J02"] == [0]


# --- errors and the command line ------------------------------------------------------------------------------

def test_no_anonymous_ids_yet(tmp_path: Path) -> None:
    with jury_workspace(tmp_path) as ws, pytest.raises(JuryError, match="run `milsetctl anonymise` first"):
        make_sheets(ws, write_jurors(tmp_path / "jurors.csv", panel(2)))


def test_cli_jury_sheets(tmp_path: Path) -> None:
    with jury_workspace(tmp_path) as ws:
        blind(ws)
        root = ws.root
    jurors = write_jurors(tmp_path / "jurors.csv", panel(12))
    result = runner.invoke(app, ["jury", "sheets", "--jurors", str(jurors), "--quorum", "3", "--seed", "2",
                                 "-w", str(root), "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["quorum"] == 3 and payload["seed"] == 2 and payload["round_id"].startswith("R-")
    assert len(payload["sheets"]) == 12 and sum(s["entries"] for s in payload["sheets"]) == 24
    assert {s["entries"] for s in payload["sheets"]} == {2}
    assert all((root / s["file"]).exists() for s in payload["sheets"])
    assert payload["short"] == [] and payload["warnings"] == []

    table = runner.invoke(app, ["jury", "sheets", "--jurors", str(write_jurors(tmp_path / "j.csv", [
        ["王丽华", "北京四中", "China", "wlh@example.cn", "北京市第四中学"], *panel(2)])), "-w", str(root)])
    assert table.exit_code == 0, table.output
    assert "J13" in table.output and "王丽华" in table.output and "Conflicts" in table.output
    assert "the call for entries asks for at least 10 jurors" in table.output
    assert "1 (same school)" in table.output

    bad = write_jurors(tmp_path / "bad.csv", [["A", "x", "China", "a@example.org", ""],
                                              ["B", "x", "China", "A@example.org", ""]])
    result = runner.invoke(app, ["jury", "sheets", "--jurors", str(bad), "-w", str(root)])
    assert result.exit_code == 1
    assert "bad.csv row 3, column D (email)" in result.output and "rows 2 and 3" in result.output
    assert "Traceback" not in result.output
    assert runner.invoke(app, ["jury", "sheets", "--jurors", str(tmp_path / "none.csv"),
                               "-w", str(root)]).exit_code == 2
    assert runner.invoke(app, ["jury", "sheets", "--jurors", str(jurors), "--quorum", "-1",
                               "-w", str(root)]).exit_code == 2
    with open_workspace(root) as ws:  # the bad file changed nothing
        assert len(ws.ledger.jurors(active_only=True)) == 3


def test_cli_without_anonymise(tmp_path: Path) -> None:
    with jury_workspace(tmp_path) as ws:
        root = ws.root
    result = runner.invoke(app, ["jury", "sheets", "--jurors", str(SAMPLE_JURORS), "-w", str(root)])
    assert result.exit_code == 1 and "milsetctl anonymise" in result.output


def test_instructions_say_when_and_to_whom(tmp_path: Path) -> None:
    with jury_workspace(tmp_path) as ws:
        blind(ws)
        toml = ws.root / "contest.toml"
        toml.write_text(toml.read_text(encoding="utf-8").replace('sheets_due = ""', 'sheets_due = "2022-08-15"')
                        .replace('sheets_return_to = ""', 'sheets_return_to = "jury@milset.example"'),
                        encoding="utf-8")
        root = ws.root
    with open_workspace(root) as ws:
        make_sheets(ws, write_jurors(tmp_path / "jurors.csv", panel(1)))
    book = load_workbook(root / "jury" / "sheets" / "J01 Juror 1.xlsx")
    text = "\n".join(str(r[0]) for r in book["Instructions"].iter_rows(values_only=True) if r[0])
    assert "Please return this sheet by: 2022-08-15" in text
    assert "send it back to jury@milset.example by 2022-08-15" in text


def test_juror_identity_survives_a_new_email_and_a_new_spelling(tmp_path: Path) -> None:
    with jury_workspace(tmp_path) as ws:
        blind(ws)
        make_sheets(ws, write_jurors(tmp_path / "a.csv", [["Kenji Tanaka", "JSF", "Japan", "", ""], *panel(2)]),
                    quorum=2, seed=3)
        first = sheet_pairs(ws)
        # the chair adds Kenji's e-mail, and Juror 1 is now spelt out in full: same people, same IDs and work
        result = make_sheets(ws, write_jurors(tmp_path / "b.csv", [
            ["KENJI  TANAKA", "JSF", "Japan", "k.tanaka@example.jp", ""],
            ["Juror One", "MILSET", "China", "juror1@example.org", ""],
            ["Juror 2", "MILSET", "China", "JUROR2@example.org", ""]]), quorum=2, seed=3)
        assert [(r["juror_id"], r["name"]) for r in ws.ledger.jurors()] == [
            ("J01", "KENJI TANAKA"), ("J02", "Juror One"), ("J03", "Juror 2")]
        assert sheet_pairs(ws) == first
        assert result.withdrawn == [{"juror_id": "J01", "juror": "KENJI TANAKA", "reason": "renamed",
                                     "file": "jury/sheets/withdrawn/J01 Kenji Tanaka.xlsx"},
                                    {"juror_id": "J02", "juror": "Juror One", "reason": "renamed",
                                     "file": "jury/sheets/withdrawn/J02 Juror 1.xlsx"}]
        assert not any("no longer in the juror file" in w for w in result.warnings)


def _type_scores(path: Path, value: int, comment: str | None = None) -> list[str]:
    """Play a juror typing `value` for every criterion of every entry, saving the sheet in place."""
    book = load_workbook(path)
    sheet = book["Scores"]
    ids = []
    for row in range(2, sheet.max_row + 1):
        ids.append(sheet.cell(row, 1).value)
        for col in range(2, 2 + len(CRITERIA)):
            sheet.cell(row, col).value = value
        if comment:
            sheet.cell(row, 2 + len(CRITERIA)).value = comment
    book.save(path)
    return ids


def test_rerun_never_erases_what_a_juror_typed(tmp_path: Path) -> None:
    """A chair saves returned sheets into jury/sheets/ and runs `jury sheets` again before `score`: nothing typed
    is lost. An unchanged sheet is left alone; a re-issued one carries the typed values and the old file is kept."""
    with jury_workspace(tmp_path) as ws:
        blind(ws)
        team = panel(4)
        jurors_file = write_jurors(tmp_path / "jurors.csv", team)
        make_sheets(ws, jurors_file, quorum=2, seed=1)
        folder = ws.root / "jury" / "sheets"
        typed_ids = _type_scores(folder / "J01 Juror 1.xlsx", 8, "typed")
        book = load_workbook(folder / "J01 Juror 1.xlsx")  # one entry typed as text, the way Excel may keep it
        book["Scores"].cell(2, 2).value, book["Scores"].cell(2, 3).value = "８", " 8 "
        book.save(folder / "J01 Juror 1.xlsx")
        again = make_sheets(ws, jurors_file, quorum=2, seed=1)
        rows = {r[0]: r for r in load_workbook(folder / "J01 Juror 1.xlsx")["Scores"].iter_rows(min_row=2,
                                                                                              values_only=True)}
        assert all(rows[a][1:6] == (8, 8, 8, 8, "typed") for a in typed_ids[1:])
        assert rows[typed_ids[0]][1:3] == ("８", " 8 ")  # the file was left exactly as the juror saved it
        assert any("unchanged" in n for n in again.notes)
        # Juror 4 drops out: J01's sheet may be re-issued with more entries; what J01 typed stays on it
        make_sheets(ws, write_jurors(tmp_path / "jurors.csv", team[:3]), quorum=2, seed=1)
        rows = {r[0]: r for r in load_workbook(folder / "J01 Juror 1.xlsx")["Scores"].iter_rows(min_row=2,
                                                                                              values_only=True)}
        kept = [a for a in typed_ids if a in rows]
        assert typed_ids[0] in kept  # its scores typed as text come back as numbers in the re-issued sheet
        assert kept and all(rows[a][1:6] == (8, 8, 8, 8, "typed") for a in kept)
        assert set(rows) > set(typed_ids)  # J01 took over some of Juror 4's work: the sheet was re-issued
        assert list((folder / "previous").glob("J01 Juror 1 *.xlsx"))  # and the old file kept
