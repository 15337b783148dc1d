"""Property-based tests (hypothesis) for the three readers of files people type: the manifest, the juror file and
the score sheets. Whatever the cells hold, a reader either returns its result or raises its own error carrying
messages; every problem is a message naming where it is; nothing else escapes.

Examples are kept few for CI (the `ci` profile: a few seconds per test); `MILSETCTL_HYPOTHESIS=thorough` runs
many more locally. No example database is written into the repository.
"""

from __future__ import annotations

import csv
import io
import math
import os
import tempfile
from pathlib import Path

import openpyxl
from conftest import MANIFEST_HEADERS
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from milsetctl.ingest import ManifestError, read_submissions
from milsetctl.jury import JurorFileError, read_jurors
from milsetctl.scoring.read import read_sheets
from milsetctl.settings import defaults

settings.register_profile("ci", max_examples=40, deadline=None, database=None, derandomize=True,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("thorough", max_examples=1000, deadline=None, database=None)
settings.load_profile(os.environ.get("MILSETCTL_HYPOTHESIS", "ci"))

CRITERIA = ["originality", "information", "technique", "impact"]
SETTINGS = defaults()

# what people paste into cells: separators, quotes, line breaks, formulas, control characters, CJK, RTL, emoji
_NASTY = st.sampled_from([",", ";", "\t", '"', "'", "\n", "\r", "\r\n", "=", "+", "-", "@", "\x00", "\x1b[2J",
                          "\ufeff", "\u202e", "张伟", "é", "e\u0301", "🙂", "..", "/", "\\", "%2e", " ", "1e309",
                          "2022-07-01", "31/12/2022", "NaN", "-0", "0x10", "１０"])
CELL = st.one_of(st.text(max_size=30), _NASTY, st.lists(_NASTY, max_size=4).map("".join),
                 st.integers(-10**20, 10**20).map(str), st.floats(allow_nan=True).map(str))


def _csv_bytes(rows: list[list[str]], encoding: str, delimiter: str) -> bytes:
    buffer = io.StringIO(newline="")
    csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n").writerows(rows)
    return buffer.getvalue().encode(encoding, errors="replace")


HEADERS = st.lists(st.one_of(st.sampled_from([*MANIFEST_HEADERS, "编号", "姓名", "文件", "作品名称", "Email",
                                               " File ", "FILE", "file"]), CELL), min_size=0, max_size=14)
TABLE = st.tuples(HEADERS, st.lists(st.lists(CELL, max_size=14), max_size=12))
ENCODING = st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "gb18030", "cp1252"])
DELIMITER = st.sampled_from([",", ";", "\t", "|"])


def _check_submissions(folder: Path) -> None:
    try:
        subs = read_submissions(folder, SETTINGS)
    except ManifestError as exc:
        assert str(exc).strip(), "a ManifestError without a message"
        return
    for entry in subs.entries:
        assert entry.key
        for finding in entry.ingest_findings:
            assert finding.message.strip() and entry.origin
        for text in (entry.name, entry.title, entry.school, entry.description, entry.contestant_id):
            assert text is None or "\x1b" not in text and "\x00" not in text


@given(table=TABLE, encoding=ENCODING, delimiter=DELIMITER)
@example(table=(["\x00"], []), encoding="utf-8", delimiter=",")  # NUL-heavy, so "UTF-16 without BOM", but odd
@example(table=([], [["\x00\x00\x00"]]), encoding="utf-16", delimiter=",")
def test_manifest_csv_never_raises_unexpectedly(table: tuple[list[str], list[list[str]]], encoding: str,
                                                delimiter: str) -> None:
    headers, rows = table
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "a.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a photo")
        (folder / "entries.csv").write_bytes(_csv_bytes([headers, *rows], encoding, delimiter))
        _check_submissions(folder)


@given(raw=st.binary(max_size=600))
def test_manifest_of_arbitrary_bytes(raw: bytes) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "entries.csv").write_bytes(b"contestant_id,file\r\n" + raw)
        _check_submissions(folder)


XLSX_VALUE = st.one_of(st.none(), CELL, st.integers(-10**18, 10**18), st.floats(allow_nan=True, allow_infinity=True),
                       st.booleans(), st.dates(), st.datetimes())


@settings(max_examples=15)
@given(headers=HEADERS, rows=st.lists(st.lists(XLSX_VALUE, max_size=12), max_size=8))
def test_manifest_xlsx_never_raises_unexpectedly(headers: list[str], rows: list[list[object]]) -> None:
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    book = openpyxl.Workbook()
    sheet = book.active
    for r, line in enumerate([headers, *rows], start=1):
        for c, value in enumerate(line, start=1):
            if isinstance(value, str):
                value = ILLEGAL_CHARACTERS_RE.sub("", value)
            if isinstance(value, float) and not math.isfinite(value):
                value = str(value)
            cell = sheet.cell(row=r, column=c, value=value)
            if isinstance(value, str):
                cell.data_type = "s"  # text as typed, even "=1"
    with tempfile.TemporaryDirectory() as tmp:
        book.save(Path(tmp) / "entries.xlsx")
        _check_submissions(Path(tmp))


# --- the juror file ------------------------------------------------------------------------------------------------

JUROR_HEADERS = st.lists(st.one_of(st.sampled_from(["name", "affiliation", "country", "email", "school", "姓名",
                                                     "Name", "E-mail"]), CELL), max_size=7)


@given(headers=JUROR_HEADERS, rows=st.lists(st.lists(CELL, max_size=7), max_size=10), encoding=ENCODING,
       delimiter=DELIMITER)
def test_juror_file_reader_reports_problems_as_messages(headers: list[str], rows: list[list[str]], encoding: str,
                                                       delimiter: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "jurors.csv"
        path.write_bytes(_csv_bytes([headers, *rows], encoding, delimiter))
        try:
            jurors = read_jurors(path)
        except JurorFileError as exc:
            assert exc.problems and all(isinstance(p, str) and p.strip() for p in exc.problems)
            return
    for juror in jurors:
        assert juror.key and juror.name.strip()


# --- the score sheets ----------------------------------------------------------------------------------------------

SCORE = st.one_of(st.integers(-20, 20).map(str), CELL, st.sampled_from(["7,0", "7.5", " 8 ", "+9", "-3", "１０",
                                                                        "1e1", "", "abc"]))
ANON = st.sampled_from(["K7QXAB", "K7QXAC", "K7QXAD", "", "k7qxab", "ZZZZZZ", "=1", "K7QXAB "])


def _score_sheet(rows: list[tuple[str, list[str], str]], header_noise: list[str]) -> bytes:
    lines = [["anon_id", *CRITERIA, "comment", *header_noise]]
    lines += [[anon, *marks, comment] for anon, marks, comment in rows]
    return _csv_bytes(lines, "utf-8-sig", ",")


SHEET_ROWS = st.lists(st.tuples(ANON, st.lists(SCORE, min_size=0, max_size=5), CELL), max_size=8)


@given(rows=SHEET_ROWS, noise=st.lists(CELL, max_size=2), low=st.sampled_from([1, -5, 0]))
@example(rows=[("", ["0"], "")], noise=[], low=1)  # a sheet with no anon ID in any row
def test_score_sheet_reader_never_raises_and_keeps_only_valid_scores(
        rows: list[tuple[str, list[str], str]], noise: list[str], low: int) -> None:
    high = 10 if low >= 0 else 5
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "J1 Ann Lee.csv"
        path.write_bytes(_score_sheet(rows, noise))
        result = read_sheets([path], criteria=CRITERIA, score_min=low, score_max=high,
                             known_anon_ids={"K7QXAB", "K7QXAC", "K7QXAD"}, round_id=None)
    for problem in result.problems:
        assert problem.problem.strip() and problem.severity in ("error", "note")
    scores = result.scores["score"].tolist()
    assert all(low <= s <= high and float(s).is_integer() for s in scores), scores


@given(mark=st.integers(-5, 5), anon=st.sampled_from(["K7QXAB", "K7QXAC"]))
def test_a_negative_score_is_read_as_a_number(mark: int, anon: str) -> None:
    """Formula-safe writing is for text only: a juror's typed -3 on a -5..5 scale is the number -3."""
    assume(mark != 0 or anon)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "J1 Ann Lee.csv"
        path.write_bytes(_score_sheet([(anon, [str(mark)] * 4, "-fine")], []))
        result = read_sheets([path], criteria=CRITERIA, score_min=-5, score_max=5, known_anon_ids={anon},
                             round_id=None)
    assert not result.errors, [p.problem for p in result.errors]
    assert sorted(result.scores["score"].tolist()) == [float(mark)] * 4
    assert result.pairs["comment"].tolist() == ["-fine"]


def _crafted_workbook(path: Path, first_row: list[str]) -> Path:
    """A workbook whose second row holds a number cell that is no number (`<c t="n"><v>2000-01-01</v>`): openpyxl
    opens it and fails only while reading the rows."""
    import datetime

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Scores"
    sheet.append(first_row)
    cell = sheet.cell(row=2, column=1, value=datetime.date(2000, 1, 1))
    cell.data_type = "n"
    book.save(path)
    return path


def test_a_crafted_manifest_workbook_is_a_manifest_error() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        _crafted_workbook(Path(tmp) / "entries.xlsx", ["contestant_id", "file"])
        try:
            read_submissions(Path(tmp), SETTINGS)
        except ManifestError as exc:
            assert "entries.xlsx" in str(exc) and "cannot be read" in str(exc)
        else:
            raise AssertionError("a damaged workbook was read")


def test_a_crafted_score_workbook_is_one_refused_sheet() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        bad = _crafted_workbook(Path(tmp) / "J1 Ann.xlsx", ["anon_id", *CRITERIA])
        good = Path(tmp) / "J2 Bo.csv"
        good.write_bytes(_score_sheet([("K7QXAB", ["7"] * 4, "")], []))
        result = read_sheets([bad, good], criteria=CRITERIA, score_min=1, score_max=10, known_anon_ids={"K7QXAB"},
                             round_id=None)
    assert result.refused == ["J1 Ann.xlsx"]
    assert any("cannot be read" in p.problem for p in result.problems)
    assert result.scores["score"].tolist() == [7.0] * 4  # the other sheet still counts
