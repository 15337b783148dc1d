"""Issue 20, sheets jurors enjoy: each row's thumbnail (from the stripped package photo), the rubric on the
Instructions sheet and in each score cell's input prompt, the weights and the due date, and protection that leaves
only the score and comment cells open (no password). Read back as a juror's programs read it: openpyxl, and
LibreOffice headless (re-saved as XLSX and as CSV), and by `score`, which must still rank the filled sheet.
Also the scoring page's plumbing that needs no browser (written beside the sheet, moved with a withdrawn sheet,
its CSV read by `score`); tests/test_jury_page_browser.py fills one in Chromium."""

from __future__ import annotations

import csv
import io
import json
import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest
from conftest import photo_pixels
from jury_fixtures import jury_workspace
from openpyxl import load_workbook
from PIL import Image, ImageChops, ImageOps, ImageStat
from typer.testing import CliRunner

from milsetctl.anonymise import build_package
from milsetctl.cli import app
from milsetctl.jury import make_sheets
from milsetctl.jury.assign import JuryEntry
from milsetctl.jury.page import csv_name, page_csv
from milsetctl.jury.sheets import SheetMeta, write_sheet
from milsetctl.jury.sheets_photos import THUMB_PX, shrink
from milsetctl.jury.sheets_rubric import PROMPT_MAX, PROMPT_TITLE_MAX, Band, band_bounds, prompt_text, prompt_title
from milsetctl.settings import DEFAULT_TOML, SettingsError, check_settings, load
from milsetctl.workspace import open_workspace

runner = CliRunner()
CRITERIA = ["originality", "information", "technique", "impact"]
MY_ORIGINALITY = ["Seen a hundred times", "A personal touch", "A view of its own", "Nobody saw it so before"]
SOFFICE = shutil.which("soffice")


def jurors_file(path: Path, names: list[str]) -> Path:
    rows = ["name,affiliation,country,email,school"]
    rows += [f"{n},MILSET,China,j{i}@example.org," for i, n in enumerate(names, start=1)]
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def configure(root: Path) -> None:
    """The due date, unequal weights and the contest's own rubric for one criterion, as a chair writes them."""
    text = (root / "contest.toml").read_text(encoding="utf-8")
    text = text.replace('sheets_due = ""', 'sheets_due = "2022-08-05 18:00"')
    text = text.replace("weights = [1, 1, 1, 1]", "weights = [2, 1, 1, 1]")
    text += "\n[jury.rubric]\noriginality = " + json.dumps(MY_ORIGINALITY) + "\n"
    (root / "contest.toml").write_text(text, encoding="utf-8")


@pytest.fixture(scope="module")
def round_(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """Eight entries packaged by `anonymise` (JPEGs, one rotated by EXIF, PNGs), two jurors, sheets and pages."""
    tmp = tmp_path_factory.mktemp("enjoy")
    with jury_workspace(tmp) as ws:
        build_package(ws, contact_sheet=False)
        configure(ws.root)
    with open_workspace(tmp / "ws") as ws:
        result = make_sheets(ws, jurors_file(tmp / "jurors.csv", ["Juror One", "Juror Two"]), seed=4, html=True)
        anon = {r["anon_id"]: r["entry_id"] for r in ws.ledger.anon_rows()}
        files = {r["anon_id"]: ws.root / "jury" / "package" / r["file"] for r in ws.ledger.anon_rows()}
        round_id = ws.ledger.round_id()
    return tmp / "ws", result, anon, files, round_id


def sheet_path(root: Path, juror_id: str) -> Path:
    return next((root / "jury" / "sheets").glob(f"{juror_id} *.xlsx"))


def image_rows(sheet) -> dict[int, Image.Image]:  # type: ignore[no-untyped-def]
    """Sheet row (1-based) -> the picture anchored in its anon_id cell, decoded."""
    out = {}
    for image in sheet._images:
        marker = image.anchor._from
        assert marker.col == 0
        out[marker.row + 1] = Image.open(io.BytesIO(image._data()))
    return out


def test_each_row_shows_its_photo_under_the_anonymous_id(round_) -> None:  # type: ignore[no-untyped-def]
    root, _result, anon, files, _ = round_
    book = load_workbook(sheet_path(root, "J01"))
    scores = book["Scores"]
    assert [c.value for c in scores[1]][:6] == ["anon_id", *CRITERIA, "comment"]  # no column moved
    pictures = image_rows(scores)
    ids = {row: scores.cell(row, 1).value for row in range(2, scores.max_row + 1)}
    assert sorted(pictures) == sorted(ids) and len(ids) == 8
    for row, picture in pictures.items():
        assert picture.format == "JPEG" and max(picture.size) == THUMB_PX
        assert not picture.info.get("exif") and not picture.info.get("icc_profile")  # pixels only
        with Image.open(files[ids[row]]) as packaged:  # the stripped package photo, upright, shrunk the same way
            upright = ImageOps.exif_transpose(packaged).convert("RGB")
            upright.thumbnail((THUMB_PX, THUMB_PX))
        assert picture.size == upright.size, ids[row]
        diff = ImageStat.Stat(ImageChops.difference(picture.convert("RGB"), upright)).mean
        assert max(diff) < 12, (ids[row], diff)  # the same picture, within JPEG quality 70's loss
        assert scores.row_dimensions[row].height >= THUMB_PX * 0.75  # the row holds it (points)
    rotated = next(a for a, e in anon.items() if e == "E0002")  # stored 1800x2400 with EXIF Orientation 6
    row = next(r for r, a in ids.items() if a == rotated)
    assert pictures[row].size == (160, 120)  # shown landscape, as the camera meant


def test_rubric_weights_and_due_date(round_) -> None:  # type: ignore[no-untyped-def]
    root, *_ = round_
    book = load_workbook(sheet_path(root, "J02"))
    text = "\n".join(str(r[0]) for r in book["Instructions"].iter_rows(values_only=True) if r[0])
    assert "Please return this sheet by: 2022-08-05 18:00" in text
    assert "The criteria do not count equally in the score: Originality ×2, Information ×1" in text
    assert "Originality (weight 2)" in text and "Technique (weight 1)" in text
    for band, words in zip(("1–3", "4–6", "7–8", "9–10"), MY_ORIGINALITY, strict=True):
        assert f"{band}:  {words}" in text  # the contest's own rubric
    assert "7–8:  Sharp where it matters, well lit and composed" in text  # the built-in one for the others
    assert "secondary-school student" in text
    assert "J02 Juror Two.html" in text  # the scoring page, written beside the sheet, is named

    scores = book["Scores"]
    rules = {str(r.sqref): r for r in scores.data_validations.dataValidation}
    assert sorted(rules) == ["B2:B9", "C2:C9", "D2:D9", "E2:E9"]
    for column, criterion in zip("BCDE", CRITERIA, strict=True):
        rule = rules[f"{column}2:{column}9"]
        assert (rule.type, rule.operator, rule.formula1, rule.formula2) == ("whole", "between", "1", "10")
        assert rule.showInputMessage and rule.showErrorMessage and rule.errorStyle == "stop"
        assert rule.promptTitle == f"{criterion.capitalize()} 1–10" and len(rule.promptTitle) <= PROMPT_TITLE_MAX
        assert len(rule.prompt) <= PROMPT_MAX and rule.prompt.count("\n") == 3
        assert rule.prompt.startswith("1–3: ") and "\n9–10: " in rule.prompt
    assert rules["B2:B9"].prompt.endswith("9–10: Nobody saw it so before")
    assert "4–6: Shows its subject but explains little about it" in rules["C2:C9"].prompt
    assert "return by 2022-08-05 18:00" in scores.oddHeader.center.text  # printed on every page too


def test_only_score_and_comment_cells_can_be_typed_in(round_) -> None:  # type: ignore[no-untyped-def]
    root, *_ = round_
    book = load_workbook(sheet_path(root, "J01"))
    assert book.security is not None and book.security.lockStructure  # no sheet renamed, added or unhidden
    assert not book.security.workbookPassword
    for name in ("Instructions", "Scores", "milsetctl"):
        protection = book[name].protection
        assert protection.sheet and not protection.password and protection.hashValue is None, name
    scores = book["Scores"]
    assert not scores.protection.formatColumns and not scores.protection.formatRows  # widen to read: allowed
    open_cells = {c.coordinate for row in scores.iter_rows() for c in row if not c.protection.locked}
    assert open_cells == {f"{col}{row}" for col in "BCDEF" for row in range(2, 10)}


def test_score_ranks_the_filled_sheets(round_, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Filled as a juror does (typing into the open cells), both sheets are read by `score`: ranking stored."""
    root, *_ = round_
    work = tmp_path / "ws"
    shutil.copytree(root, work)
    returned = tmp_path / "returned"
    returned.mkdir()
    for k, juror in enumerate(("J01", "J02")):
        path = sheet_path(work, juror)
        book = load_workbook(path)
        scores = book["Scores"]
        for row in range(2, scores.max_row + 1):
            for col in range(2, 6):
                scores.cell(row, col).value = (row * 3 + col + k) % 10 + 1
        book.save(returned / path.name)
    result = runner.invoke(app, ["score", str(returned), "-w", str(work), "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["ranking_stored"] and len(payload["entries"]) == 8 and not payload["problems"]


@pytest.mark.skipif(SOFFICE is None, reason="LibreOffice (libreoffice-calc-nogui, scripts/install.sh --test)")
def test_libreoffice_keeps_thumbnails_protection_and_validation(round_, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """The sheet as LibreOffice opens it (headless convert, as a juror on LibreOffice saves it again): the
    thumbnails are there, the same cells open, the validation and its prompts intact, and `score` reads it."""
    root, *_, round_id = round_
    source = tmp_path / "J01.xlsx"
    shutil.copyfile(sheet_path(root, "J01"), source)
    out = tmp_path / "out"
    profile = (tmp_path / "lo-profile").as_uri()
    for target in ("xlsx", "csv:Text - txt - csv (StarCalc):44,34,76,1,,0,false,true,false,false,false,2"):
        done = subprocess.run([SOFFICE, "--headless", "--norestore", f"-env:UserInstallation={profile}",
                               "--convert-to", target, "--outdir", str(out), str(source)],
                              capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, done.stderr
    book = load_workbook(out / "J01.xlsx")
    assert book.sheetnames == ["Instructions", "Scores", "milsetctl"] and book["milsetctl"].sheet_state == "hidden"
    scores = book["Scores"]
    pictures = image_rows(scores)
    assert sorted(pictures) == list(range(2, 10)) and all(max(p.size) == THUMB_PX for p in pictures.values())
    assert scores.protection.sheet and book["Instructions"].protection.sheet
    open_cells = {c.coordinate for row in scores.iter_rows() for c in row if not c.protection.locked}
    assert open_cells == {f"{col}{row}" for col in "BCDEF" for row in range(2, 10)}
    rules = {str(r.sqref): r for r in scores.data_validations.dataValidation}
    assert sorted(rules) == ["B2:B9", "C2:C9", "D2:D9", "E2:E9"]
    assert all((r.type, r.formula1, r.formula2) == ("whole", "1", "10") and r.prompt.count("\n") == 3
               for r in rules.values())
    meta = {r[0]: r[1] for r in book["milsetctl"].iter_rows(values_only=True)}
    assert meta["round_id"] == round_id and meta["juror_id"] == "J01"
    table = list(csv.reader((out / "J01-Scores.csv").read_text(encoding="utf-8").splitlines()))
    assert table[0] == ["anon_id", *CRITERIA, "comment", "category", "title", "description"] and len(table) == 9

    # filled in LibreOffice's copy, `score` reads it like the original
    book = load_workbook(out / "J01.xlsx")  # (the images read above cannot be saved again)
    scores = book["Scores"]
    for row in range(2, 10):
        for col in range(2, 6):
            scores.cell(row, col).value = 7
    returned = tmp_path / "returned"
    returned.mkdir()
    book.save(returned / sheet_path(root, "J01").name)
    work = tmp_path / "ws"
    shutil.copytree(root, work)
    result = runner.invoke(app, ["score", str(returned), "-w", str(work), "--json", "--allow-missing"])
    payload = json.loads(result.stdout)
    assert [p for p in payload["problems"] if p["sheet"] is not None] == [], payload["problems"]
    with open_workspace(work) as ws:
        stored = [(j, json.loads(s)) for j, _a, s, _c, _sheet, _row in ws.ledger.score_rows()]
    assert len(stored) == 8 and all(j == "Juror One" and set(s.values()) == {7} for j, s in stored)


def test_300_entries_stay_under_a_few_megabytes(tmp_path: Path) -> None:
    """A sheet of 300 rows with a thumbnail each (photo-like pictures with grain, 160 px at quality 70): the
    workbook stays under 4 MB, and every image is in it. (Thumbnails of real camera photos are 1-6 KB: a
    300-entry sheet of them measured 1.07 MB.)"""
    photos = {}
    for k in range(30):
        path = tmp_path / f"p{k}.jpg"
        photo_pixels((2400, 1600) if k % 3 else (1600, 2400), seed=k).save(path, quality=92)
        photos[k] = shrink(path, THUMB_PX, 70)
    entries = [JuryEntry(f"A{i:05d}", category="high", title=f"Title {i}", description="Stars over the hills. " * 8)
               for i in range(300)]
    by_anon = {e.anon_id: photos[i % 30] for i, e in enumerate(entries)}
    meta = SheetMeta(contest="MILSET", round_id="R-1", juror_id="J01", juror="Juror", stage="national",
                     criteria=CRITERIA, score_min=1, score_max=10, generated_at="2022-07-20T10:00:00+08:00")
    path = write_sheet(tmp_path / "J01 Juror.xlsx", meta, entries, photos=by_anon.get)
    size = path.stat().st_size
    print(f"300-entry sheet: {size / 1e6:.2f} MB; thumbnails "
          f"{min(len(p.data) for p in photos.values()) // 1024}-{max(len(p.data) for p in photos.values()) // 1024} KB")
    assert size < 4_000_000
    assert len(load_workbook(path)["Scores"]._images) == 300


def test_rubric_bands_scale_and_fit_excel() -> None:
    assert band_bounds(1, 10) == [(1, 3), (4, 6), (7, 8), (9, 10)]
    assert band_bounds(1, 5) == [(1, 2), (3, 3), (4, 4), (5, 5)]
    assert band_bounds(0, 100) == [(0, 22), (23, 56), (57, 78), (79, 100)]
    assert band_bounds(1, 3) == [(1, 1), (2, 2), (3, 3)]  # a band too narrow to exist is dropped
    long = [Band(lo, hi, text) for (lo, hi), text in zip(band_bounds(1, 10), ["Weak", *["word " * 40] * 3],
                                                         strict=True)]
    prompt = prompt_text(long)
    assert len(prompt) <= PROMPT_MAX and prompt.count("…") == 3 and prompt.count("\n") == 3
    assert prompt.startswith("1–3: Weak\n4–6: word word") and len({len(line) for line in prompt.split("\n")[1:3]}) == 1
    assert len(prompt_title("a criterion with a very long name indeed", 1, 10)) <= PROMPT_TITLE_MAX


def test_rubric_settings_are_checked(tmp_path: Path) -> None:
    base = tomllib.loads(DEFAULT_TOML)
    check_settings({"jury": {"rubric": {"originality": MY_ORIGINALITY}}}, base)
    with pytest.raises(SettingsError, match=r"\[jury.rubric\] originality = .*must be 4 texts"):
        check_settings({"jury": {"rubric": {"originality": ["weak", "strong"]}}}, base)
    # a [jury] line written below the table lands in it: said so
    path = tmp_path / "contest.toml"
    path.write_text(DEFAULT_TOML + '\n[jury.rubric]\nimpact = ["a", "b", "c", "d"]\nsheets_due = "2022-08-05"\n',
                    encoding="utf-8")
    with pytest.raises(SettingsError, match=r"sheets_due .*move it above \[jury.rubric\]"):
        load(path)


def test_pages_follow_their_sheets(round_, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """A page is written beside each sheet (and named in the JSON), written again on a run without --html so it
    never shows other entries than its sheet, and moved to withdrawn/ with the sheet of a juror who left."""
    root, result, *_ = round_
    assert [s.page for s in result.sheets] == ["jury/sheets/J01 Juror One.html", "jury/sheets/J02 Juror Two.html"]
    work = tmp_path / "ws"
    shutil.copytree(root, work)
    page = work / "jury" / "sheets" / "J01 Juror One.html"
    page.write_text("stale", encoding="utf-8")
    jurors = jurors_file(tmp_path / "jurors.csv", ["Juror One", "Juror Three"])
    done = runner.invoke(app, ["jury", "sheets", "--jurors", str(jurors), "-w", str(work), "--json"])
    assert done.exit_code == 0, done.output
    payload = json.loads(done.stdout)
    assert [s["page"] for s in payload["sheets"]] == ["jury/sheets/J01 Juror One.html", None]
    assert "round-data" in page.read_text(encoding="utf-8")  # written again
    assert (work / "jury" / "sheets" / "withdrawn" / "J02 Juror Two.html").is_file()
    assert not (work / "jury" / "sheets" / "J02 Juror Two.html").exists()


def test_score_reads_the_page_export_and_looks_past_the_pages(round_, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """The page's CSV (here made by page_csv, the same bytes the browser saves: test_jury_page_browser.py) is
    read as the juror's sheet; the pages lying in the sheets folder are named as no score sheet, never used."""
    root, result, *_, round_id = round_
    work = tmp_path / "ws"
    shutil.copytree(root, work)
    folder = work / "jury" / "sheets"
    for k, sheet in enumerate(result.sheets):
        book = load_workbook(work / sheet.file, read_only=True)
        ids = [r[0] for r in book["Scores"].iter_rows(min_row=2, values_only=True)]
        book.close()
        rows = [(a, {c: (i + j + k) % 10 + 1 for j, c in enumerate(CRITERIA)}, "très bien, \"net\"" if i == 0 else None)
                for i, a in enumerate(ids)]
        (folder / sheet.file.rsplit("/", 1)[-1]).unlink()  # the juror scored on the page instead
        (folder / csv_name(sheet.file)).write_bytes(page_csv(CRITERIA, rows, sheet.juror_id, round_id))
    done = runner.invoke(app, ["score", str(folder), "-w", str(work), "--json"])
    assert done.exit_code == 0, done.output
    payload = json.loads(done.stdout)
    assert payload["ranking_stored"] and len(payload["entries"]) == 8 and not payload["problems"]
    assert sorted(n["sheet"] for n in payload["notes"]) == ["J01 Juror One.html", "J02 Juror Two.html"]
    assert all(n["code"] == "not-a-sheet" for n in payload["notes"])
    with open_workspace(work) as ws:
        stored = {(j, a): (json.loads(s), c) for j, a, s, c, _sheet, _row in ws.ledger.score_rows()}
    assert len(stored) == 16 and {j for j, _a in stored} == {"Juror One", "Juror Two"}
    assert sum(c == 'très bien, "net"' for _s, c in stored.values()) == 2


def test_score_refuses_a_page_export_from_another_round(round_, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """A juror's page kept in the browser from last year's round exports a CSV stamped with that round's token:
    `score` names the file and refuses it whole (as it refuses an XLSX of another round), stores no ranking from
    it, and the same scores stamped with this round are ranked."""
    root, result, *_, round_id = round_
    work = tmp_path / "ws"
    shutil.copytree(root, work)
    folder = work / "jury" / "sheets"
    exports = []
    for k, sheet in enumerate(result.sheets):
        book = load_workbook(work / sheet.file, read_only=True)
        ids = [r[0] for r in book["Scores"].iter_rows(min_row=2, values_only=True)]
        book.close()
        rows = [(a, {c: (i + j + k) % 10 + 1 for j, c in enumerate(CRITERIA)}, None) for i, a in enumerate(ids)]
        (folder / sheet.file.rsplit("/", 1)[-1]).unlink()
        exports.append((folder / csv_name(sheet.file), rows, sheet.juror_id))
        (folder / csv_name(sheet.file)).write_bytes(page_csv(CRITERIA, rows, sheet.juror_id,
                                                             "R-FFFF0000" if k == 0 else round_id))
    refused = runner.invoke(app, ["score", str(folder), "-w", str(work), "--json"])
    assert refused.exit_code == 1, refused.output
    payload = json.loads(refused.stdout)
    assert not payload["ranking_stored"]
    # the refused file, then J01 counted as a juror with no sheet: its scores are not mixed in
    assert [(p["sheet"], p["code"]) for p in payload["problems"]] == [(exports[0][0].name, "sheet-other-round"),
                                                                      (None, "juror-no-sheet")]
    problem = payload["problems"][0]["problem"]
    assert f"another round (R-FFFF0000; this round is {round_id})" in problem
    with open_workspace(work) as ws:
        assert not list(ws.ledger.score_rows())
    path, rows, juror_id = exports[0]
    path.write_bytes(page_csv(CRITERIA, rows, juror_id, round_id))
    done = runner.invoke(app, ["score", str(folder), "-w", str(work), "--json"])
    assert done.exit_code == 0, done.output
    assert json.loads(done.stdout)["ranking_stored"]


def test_sheets_written_on_two_workers_match_one_process(round_, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Issue 18: a big round's sheets and pages are written by a worker per core (thumbnails shrunk once, into the
    disk cache, first). The same round written again through two spawned workers gives every juror the same
    cells, the same pictures (decoded) and the same scoring page as the one-process run of the fixture."""
    import milsetctl.jury.run as jury_run

    root, _result, _anon, _files, _ = round_
    copy = tmp_path / "ws"
    shutil.copytree(root, copy)
    shutil.rmtree(copy / "jury" / "sheets")
    shutil.rmtree(copy / "cache", ignore_errors=True)  # the thumbnails are made again, by the workers
    calls: list[int] = []
    import milsetctl.workers as workers  # _write_all imports run_all from it when it runs

    real_run_all = workers.run_all

    def counting(func, items, count, in_flight=3):  # type: ignore[no-untyped-def]
        calls.append(count)
        return real_run_all(func, items, count, in_flight)

    monkeypatch.setattr(workers, "run_all", counting)
    monkeypatch.setattr(workers, "usable_cores", lambda: 2)
    monkeypatch.setattr(jury_run, "PARALLEL_ROWS", 1)
    with open_workspace(copy) as ws:
        make_sheets(ws, jurors_file(tmp_path / "jurors.csv", ["Juror One", "Juror Two"]), seed=4, html=True)
    assert calls == [2, 2]  # the thumbnails, then the four files, each on two workers
    for juror in ("J01", "J02"):
        one, two = load_workbook(sheet_path(root, juror)), load_workbook(sheet_path(copy, juror))
        assert one.sheetnames == two.sheetnames
        for name in one.sheetnames:
            if name == "Instructions":  # names the time the sheets were made
                continue
            cells = [[[c.value for c in r] for r in book[name].iter_rows() if r[0].value != "generated_at"]
                     for book in (one, two)]
            assert cells[0] == cells[1], name
        a, b = image_rows(one["Scores"]), image_rows(two["Scores"])
        assert sorted(a) == sorted(b) and len(a) == 8
        assert all(ImageChops.difference(a[r].convert("RGB"), b[r].convert("RGB")).getbbox() is None for r in a)
        page_one = next((root / "jury" / "sheets").glob(f"{juror} *.html")).read_text(encoding="utf-8")
        page_two = next((copy / "jury" / "sheets").glob(f"{juror} *.html")).read_text(encoding="utf-8")
        assert len(page_two) > 10_000 and page_two.count("data:image/jpeg") == page_one.count("data:image/jpeg") > 0
