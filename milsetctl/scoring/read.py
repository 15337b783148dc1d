"""Read the jurors' filled-in score sheets: juror XLSX, per-juror CSV, or SPEC's long CSV.

Every cell that cannot be used becomes a `Problem` naming sheet, juror, row and cell; nothing is ever read as a
silent zero or dropped without a word (SPEC "Jury score sheets"). Checks run vectorised over whole columns: a
value column has few distinct texts ("7", " 8 ", "８"...), so each distinct text is parsed once and the verdicts are
spread back to the rows by their codes; Python loops only over the rows that have a problem. That keeps a long CSV
of 600,000 scores well under a second.
"""

from __future__ import annotations

import csv
import io
import math
import re
import unicodedata
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from milsetctl.ingest.columns import header_key
from milsetctl.ingest.sheetfile import (
    WORKBOOK_KINDS,
    Sheet,
    Uncalculated,
    UnreadableSpreadsheet,
    identify,
    read_workbook,
    refusal,
    sniff_delimiter,
)
from milsetctl.ingest.tables import ManifestError, decode_text
from milsetctl.models import person_key

# every file in a sheets folder is looked at (by content, whatever its name); one that is no spreadsheet is named
# in a note, never skipped without a word. Only the operating system's own files pass unmentioned.
SYSTEM_FILES = {".ds_store", "thumbs.db", "desktop.ini", "icon\r"}
HIDDEN_SHEET = "milsetctl"

# Names jurors and spreadsheet tools give the columns (compared after `_key`: case, width, spaces, brackets).
CRITERION_ALIASES: dict[str, list[str]] = {
    "originality": ["original", "creativity", "originality score", "原创性", "原创", "创意", "创新性", "独创性"],
    "information": ["informativeness", "information content", "informative", "scientific content", "信息性",
                    "信息", "信息量", "科学性", "内容"],
    "technique": ["technical", "technical quality", "techniques", "technics", "技术", "技术性", "技巧", "拍摄技术",
                  "技术质量"],
    "impact": ["visual impact", "overall impact", "impression", "影响力", "感染力", "冲击力", "视觉冲击力"],
}
ANON_ALIASES = ["anon_id", "anon id", "anonid", "anon", "anonymous id", "anonymised id", "anonymized id",
                "photo id", "photo code", "code", "id", "entry", "匿名编号", "匿名id", "作品编号", "编号", "作品代码"]
JUROR_ALIASES = ["juror", "juror name", "jury member", "judge", "judge name", "评委", "评委姓名", "评审", "评审专家",
                 "评委名称"]
# a juror who recognises a photo leaves its scores blank and writes this in its comment (the sheet's instructions)
RECUSAL = re.compile(r"\b(recus(ed|al|e)|conflict of interest|abstain(ed)?)\b|回避|弃权", re.IGNORECASE)
COMMENT_ALIASES = ["comment", "comments", "remark", "remarks", "note", "notes", "评语", "备注", "意见", "点评"]
CRITERION_COLUMN_ALIASES = ["criterion", "criteria", "category of score", "aspect", "评分项", "评分标准", "标准",
                            "指标", "评分指标"]
SCORE_ALIASES = ["score", "mark", "marks", "points", "rating", "分数", "得分", "评分", "分值"]
# reference columns the sheet carries for the juror (contract); read past without a note
REFERENCE_ALIASES = ["category", "title", "description", "组别", "类别", "标题", "作品标题", "描述", "作品描述",
                     "photo", "thumbnail", "round_id", "round", "juror_id"]


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the sheets, located as the chair will look for it.

    cell: an Excel reference ("C7") for XLSX, "row 7, column technique" for CSV, None when no cell holds it
    (a whole sheet, an ID missing from the sheet). severity "error" blocks the ranking unless --allow-missing;
    "note" is information (an extra column ignored, a score repeated with the same value).
    """

    sheet: str | None  # None for a round-level problem (a juror who returned nothing, an entry nobody scored)
    juror: str | None
    row: int | None
    cell: str | None
    problem: str
    severity: str = "error"
    # its stable code (milsetctl/problem_codes.py; `milsetctl rules CODE` says why); what is wrong and where is the
    # problem's identity, so two problems compare by those alone
    code: str = field(default="", compare=False)

    def as_json(self) -> dict[str, Any]:
        return {"sheet": self.sheet, "juror": self.juror, "row": self.row, "cell": self.cell,
                "problem": self.problem, "code": self.code or None}


@dataclass
class Roster:
    """What `jury sheets` recorded: who the jurors are and which entries each was handed.

    names: juror_id -> name; active: juror_id -> anon IDs the juror must score now; ever: juror_id -> every anon ID
    the juror was ever handed (a score for an ID outside it was made without an assignment: a conflict of
    interest or another juror's entry).
    """

    names: dict[str, str] = field(default_factory=dict)
    active: dict[str, set[str]] = field(default_factory=dict)
    ever: dict[str, set[str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._by_name = {_name_key(n): j for j, n in self.names.items()}
        self._by_id = {j.casefold(): j for j in self.names}

    def juror_id(self, juror: str | None, hinted_id: str | None = None) -> str | None:
        """The roster ID of a juror named on a sheet: by the sheet's juror_id, else by name, else by an ID typed."""
        if hinted_id and hinted_id.strip().casefold() in self._by_id:
            return self._by_id[hinted_id.strip().casefold()]
        if juror is None:
            return None
        key = _name_key(juror)
        return self._by_name.get(key) or self._by_id.get(key)

    @classmethod
    def from_ledger(cls, ledger: Any) -> Roster | None:
        """The roster from `ledger.jurors()` and `ledger.assignments()`; None when `jury sheets` never ran."""
        jurors = ledger.jurors()
        if not jurors:
            return None
        names = {r["juror_id"]: r["name"] for r in jurors}
        active: dict[str, set[str]] = {}
        ever: dict[str, set[str]] = {}
        for juror_id, anon_id, is_active in ledger.assignment_pairs():
            ever.setdefault(juror_id, set()).add(anon_id)
            if is_active:
                active.setdefault(juror_id, set()).add(anon_id)
        if not ever:
            return None
        return cls(names=names, active=active, ever=ever)


class ProblemSplit:
    """`errors` (block the ranking) and `notes` (information) of an object's `problems`."""

    problems: list[Problem]

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def notes(self) -> list[Problem]:
        return [p for p in self.problems if p.severity != "error"]


@dataclass
class SheetsRead(ProblemSplit):
    """What the sheets hold, checked.

    scores: long frame juror (str), anon_id (str), criterion (str), score (float, on the sheet's scale); only
      usable cells (a bad cell is a problem, never a row here).
    pairs: one row per juror x entry read: juror, anon_id, sheet, row (the sheet row holding it; first row for a
      long CSV), comment (str or None), and `score:<criterion>` per criterion (float, NaN = unusable or blank).
    problems: errors and notes in the order found (`errors` / `notes` split them).
    jurors: jurors seen, in order; sheet_of: juror -> sheet name; juror_ids: juror -> roster juror_id if known.
    refused: sheet names not used at all (unreadable, another round, no anon ID column, a juror twice).
    """

    scores: pd.DataFrame
    pairs: pd.DataFrame
    problems: list[Problem]
    jurors: list[str]
    sheet_of: dict[str, str]
    juror_ids: dict[str, str]
    sheets: list[str]
    refused: list[str]


class SheetError(ValueError):
    """A whole sheet cannot be used (one problem; the other sheets are still read). `kind` "no-sheet" or
    "not-spreadsheet" marks a file that holds no score sheet at all (a note when its name does not claim one)."""

    def __init__(self, message: str, kind: str = "") -> None:
        super().__init__(message)
        self.kind = kind


# --- text normalisation ------------------------------------------------------------------------------------------
def _key(text: Any) -> str:
    """Header comparison key: header_key plus bracketed notes ("Originality (1-10)") and a trailing 'score' gone."""
    t = header_key("" if text is None else str(text))
    t = re.sub(r"\([^)]*\)|\[[^\]]*\]|【[^】]*】|〔[^〕]*〕", " ", t)
    t = re.sub(r"\s+", " ", t).strip()
    t = re.sub(r"(?<=\w) (score|mark|points)$", "", t)
    t = re.sub(r"(?<=[\u4e00-\u9fff])(得分|分数|评分|分)$", "", t)
    return t.strip()


_name_key = person_key


# what browsers, mail clients and file managers add to a file's name when it is saved or copied again
_COPY_MARKS = (
    re.compile(r"^(copy of|kopie von|copie de|copia de)\s+", re.IGNORECASE),
    re.compile(r"\s*[-_]?\s*(\(\s*\d+\s*\)|（\s*\d+\s*）)$"),  # "J02 (1)", "J02（2）", "J02-(1)"
    re.compile(r"\s*-\s*(copy|kopie|copie|副本)(\s*\(\s*\d+\s*\))?$", re.IGNORECASE),  # "J03 - Copy (2)"
    re.compile(r"\s+(copy|副本)(\s+\d+)?$", re.IGNORECASE),  # macOS "J03 copy 2"
    re.compile(r"(的副本|副本)$"),
    re.compile(r"^(副本|复制)\s*[-_]?\s*"),
)


def file_juror_name(stem: str) -> str:
    """A juror's name as a file name gives it, without the marks of a second download or a copy:
    'J02 Wang Fang (1)' -> 'J02 Wang Fang', 'Copy of J03' -> 'J03', 'J03 - 副本' -> 'J03'."""
    name = stem.strip()
    changed = True
    while changed and name:
        changed = False
        for mark in _COPY_MARKS:
            trimmed = mark.sub("", name).strip()
            if trimmed and trimmed != name:
                name, changed = trimmed, True
    return name


def _clean_name(value: Any) -> str:
    """A juror's name as written, width-normalised and with runs of spaces collapsed."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return re.sub(r"\s+", " ", unicodedata.normalize("NFKC", str(value))).strip()


def _clean_anon(value: Any) -> str:
    """An anonymous ID as typed: full-width letters, spaces and case forgiven (IDs use capitals only)."""
    return re.sub(r"\s+", "", _clean_name(value)).upper()


def _parse_score(value: Any, whole: bool, lo: float, hi: float) -> tuple[float, str | None]:
    """One distinct cell value -> (number, None) or (nan, problem text). Blank gives 'missing score'."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return math.nan, "missing score (blank cell)"
    if isinstance(value, Uncalculated):
        return math.nan, (f"a formula with no stored value ({value.formula}): the program that wrote the file "
                          "saved the formula but not its result; open the sheet in a spreadsheet program and save it")
    if isinstance(value, bool):
        return math.nan, f"not a number: {value!r}"
    if isinstance(value, datetime | date | time):
        return math.nan, (f"a date ({_date_shown(value)}), not a score: the spreadsheet program turned what was "
                          "typed (such as 9/10) into a date; type the score alone, as a whole number")
    if isinstance(value, int | float | np.integer | np.floating):
        # Excel shows 15 significant digits: =0.3*10 stores 3.0000000000000004 and shows 3
        number = float(f"{float(value):.15g}")
        shown = _show(number)
    else:
        text = unicodedata.normalize("NFKC", str(value)).strip()
        shown = repr(str(value).strip()) if str(value).strip() != text else repr(text)
        if not text:
            return math.nan, "missing score (blank cell)"
        if re.fullmatch(r"[+-]?\d+,\d+", text):  # decimal comma as typed in much of Europe
            text = text.replace(",", ".")
        if not re.fullmatch(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?", text):
            return math.nan, f"not a number: {shown}"
        number = float(text)
    if not math.isfinite(number):
        return math.nan, f"not a number: {shown}"
    if whole and not number.is_integer():
        return math.nan, f"not a whole number: {shown} (scores are whole numbers {_show(lo)}-{_show(hi)})"
    if number < lo or number > hi:
        return math.nan, f"out of range {_show(lo)}-{_show(hi)}: {shown}"
    return number, None


def _date_shown(value: datetime | date | time) -> str:
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d") if value.time() == time() else value.strftime("%Y-%m-%d %H:%M")
    return value.isoformat()


def _show(number: float) -> str:
    return str(int(number)) if float(number).is_integer() else str(number)


# --- one sheet, before the checks ----------------------------------------------------------------------------------
@dataclass
class _Cells:
    """One sheet's cells in long form: the shape every format is brought to before the shared checks."""

    sheet: str
    kind: str  # "xlsx" | "csv"
    layout: str  # "wide" (one row per entry) | "long" (one row per score)
    headers: list[str]
    frame: dict[str, np.ndarray]  # juror, anon, criterion, value (object); row, col, anon_col (int64); comment
    juror: str | None = None  # the sheet's juror when the whole sheet is one juror's
    juror_id: str | None = None
    juror_col: int = -1  # a long sheet's juror and criterion columns (for naming their cells)
    criterion_col: int = -1

    def cell(self, row: int | None, col: int | None) -> str | None:
        if row is None or col is None or col < 0:
            return None
        if self.kind == "xlsx":
            from openpyxl.utils import get_column_letter

            return f"{get_column_letter(col + 1)}{row}"
        header = self.headers[col] if col < len(self.headers) else f"#{col + 1}"
        return f"row {row}, column {header.strip() or '#' + str(col + 1)}"

    def span(self, row: int, first: int, last: int) -> str:
        """The cells from column `first` to `last` of one row: "B7:E7", or "row 7, columns originality-impact"."""
        if self.kind == "xlsx":
            return f"{self.cell(row, first)}:{self.cell(row, last)}"
        return f"row {row}, columns {self.headers[first].strip()}-{self.headers[last].strip()}"


def _criterion_names(criteria: Sequence[str]) -> dict[str, str]:
    """Header key -> criterion: each criterion's own name first, then its aliases (an alias never displaces a name)."""
    names = {_key(c): c for c in criteria}
    for c in criteria:
        for alias in CRITERION_ALIASES.get(c, []):
            names.setdefault(_key(alias), c)
    return names


class _Columns:
    """Header row -> which column holds what."""

    def __init__(self, headers: Sequence[Any], criteria: Sequence[str]) -> None:
        crit_map = _criterion_names(criteria)
        self.criteria: dict[str, int] = {}
        self.anon = self.juror = self.comment = self.criterion = self.score = -1
        self.extra: list[int] = []
        singles = {"anon": ANON_ALIASES, "juror": JUROR_ALIASES, "comment": COMMENT_ALIASES,
                   "criterion": CRITERION_COLUMN_ALIASES, "score": SCORE_ALIASES}
        single_keys = {name: {_key(a) for a in aliases} for name, aliases in singles.items()}
        reference = {_key(a) for a in REFERENCE_ALIASES}
        for index, header in enumerate(headers):
            k = _key(header)
            if not k:
                continue
            if k in crit_map and crit_map[k] not in self.criteria:
                self.criteria[crit_map[k]] = index
                continue
            for name, keys in single_keys.items():
                if k in keys and getattr(self, name) < 0:
                    setattr(self, name, index)
                    break
            else:
                if k not in reference:
                    self.extra.append(index)

    @property
    def long(self) -> bool:
        return self.criterion >= 0 and self.score >= 0 and not self.criteria


def _find_header(rows: list[tuple[int, list[Any]]], criteria: Sequence[str]) -> int:
    """Index in `rows` of the header row: among the top 30 rows (title rows, notes and blank lines may sit above
    it), the first naming an anon ID column and a criterion, else the first naming either, else the first."""
    anon_keys = {_key(a) for a in ANON_ALIASES}
    crit_keys = set(_criterion_names(criteria))
    either = -1
    for i, (_, cells) in enumerate(rows[:30]):
        keys = {_key(c) for c in cells if c is not None and not isinstance(c, int | float)}
        has_anon, has_crit = bool(keys & anon_keys), bool(keys & crit_keys)
        if has_anon and has_crit:
            return i
        if either < 0 and (has_anon or has_crit):
            either = i
    return max(either, 0)


def _header_quality(rows: list[tuple[int, list[Any]]], criteria: Sequence[str]) -> tuple[int, int]:
    """(anon ID column found, criteria named) of a sheet's header: how a workbook's score tab is recognised."""
    if not rows:
        return (0, 0)
    h = _find_header(rows, criteria)
    headers = _merged_headers(rows, h, criteria)[0]
    cols = _Columns(headers, criteria)
    return (int(cols.anon >= 0), len(cols.criteria) + (2 if cols.long else 0))


def _merged_headers(rows: list[tuple[int, list[Any]]], h: int, criteria: Sequence[str]) -> tuple[list[str], int]:
    """The header as text, and how many rows it takes (1 or 2).

    A two-row header is one header: a bilingual sheet (匿名编号 / anon_id), or a group row ("Scores 1-10" merged
    over the criteria) above the criteria's names. The row below the header belongs to it when it names a
    column and holds no score; each column takes the first of the two names that is a column's name.
    """
    headers = ["" if c is None else str(c) for c in rows[h][1]] if rows else []
    if h + 1 >= len(rows):
        return headers, 1
    below = rows[h + 1][1]
    if rows[h + 1][0] != rows[h][0] + 1 or any(isinstance(c, int | float) and not isinstance(c, bool)
                                               for c in below if c is not None):
        return headers, 1
    second = ["" if c is None else str(c) for c in below]
    cols2 = _Columns(second, criteria)
    if cols2.anon < 0 and not cols2.criteria and cols2.comment < 0:
        return headers, 1
    if any(_looks_like_score(c) for c in second):
        return headers, 1
    cols1 = _Columns(headers, criteria)
    known1 = _known_columns(cols1)
    width = max(len(headers), len(second))
    merged = []
    for i in range(width):
        top = headers[i] if i < len(headers) else ""
        low = second[i] if i < len(second) else ""
        merged.append(top if (i in known1 or not low.strip()) else low)
    return merged, 2


def _known_columns(cols: _Columns) -> set[int]:
    return {i for i in (cols.anon, cols.juror, cols.comment, cols.criterion, cols.score) if i >= 0} | set(
        cols.criteria.values())


def _looks_like_score(text: str) -> bool:
    return bool(re.fullmatch(r"\s*[+-]?\d+([.,]\d+)?\s*", unicodedata.normalize("NFKC", text)))


@dataclass
class _Workbook:
    """The tab holding the scores, the hidden key/value sheet, and what the chair should know of the choice."""

    sheet: Sheet
    meta: dict[str, str]
    notes: list[str]


def _workbook(path: Path, kind: str, criteria: Sequence[str]) -> _Workbook:
    """The workbook's scores tab: the one whose header names anon_id and the criteria, wherever it is (a notes or
    instructions tab may come first, tabs may be renamed: 说明 then 评分表); visible tabs before hidden ones."""
    try:
        sheets = read_workbook(path, kind)
    except UnreadableSpreadsheet as exc:
        raise SheetError(str(exc)) from exc
    meta: dict[str, str] = {}
    candidates: list[Sheet] = []
    for sheet in sheets:
        if sheet.title.strip().casefold() == HIDDEN_SHEET:
            for _, r in sheet.rows:
                if r and r[0] is not None:
                    meta[str(r[0]).strip()] = "" if len(r) < 2 or r[1] is None else str(r[1]).strip()
        else:
            candidates.append(sheet)
    if not candidates or all(not s.rows for s in candidates):
        raise SheetError("the workbook's sheets are empty")
    scored = [(_header_quality(s.rows, criteria), s.visible, -k, s) for k, s in enumerate(candidates)]
    best = max(scored, key=lambda t: (t[0][0], t[0][1], t[1], t[2]))
    (anon, _), _, _, sheet = best
    notes = []
    if anon and not meta and len(candidates) > 1 and sheet is not candidates[0]:  # (not news in our own sheets)
        notes.append(f"the scores are on the sheet {sheet.title!r} (the first sheet, {candidates[0].title!r}, holds "
                     "no anon_id column)")
    if not anon:
        names = ", ".join(repr(s.title) for s in candidates)
        first = next((s for s in candidates if s.rows), candidates[0])
        if len(candidates) > 1:
            raise SheetError(f"no sheet has a header row naming anon_id and the criteria (sheets: {names})")
        sheet = first
    return _Workbook(sheet, meta, notes)


def _decode_csv(path: Path) -> tuple[bytes, str, str]:
    """(raw bytes, text, encoding) of a delimited text as Excel, WPS, LibreOffice and Excel for Mac write it (UTF-8
    with or without BOM, UTF-16 'Unicode text', GB18030, Windows-1252, Mac Roman...: `ingest.tables.decode_text`)."""
    from milsetctl.ingest.tables import CSV_MAX_BYTES

    try:
        if path.stat().st_size > CSV_MAX_BYTES:
            raise SheetError(f"{path.stat().st_size >> 20} MB is no score sheet; not read")
        raw = path.read_bytes()
    except OSError as exc:
        raise SheetError(f"cannot read the file: {exc.strerror or exc}") from exc
    try:
        text, encoding = decode_text(raw, path)
    except ManifestError as exc:
        raise SheetError(str(exc).split(": ", 1)[-1].replace("the spreadsheet", "the sheet")) from exc
    text = text.lstrip("\ufeff")
    if "\r" in text and "\n" not in text:  # Excel for Mac: classic-Mac CR line endings
        text = text.replace("\r", "\n")
    return raw, text, encoding


def _csv_frame(raw: bytes, text: str, encoding: str, sep: str) -> pd.DataFrame:
    """Every cell as text (header row = row 1), blank lines kept so that index + 2 is the sheet row number."""
    as_bytes = encoding.startswith("utf-8") and b"\n" in raw
    source: Any = io.BytesIO(raw) if as_bytes else io.StringIO(text)
    try:
        return pd.read_csv(source, sep=sep, dtype=object, keep_default_na=False, na_values=[""],
                           skip_blank_lines=False, encoding="utf-8-sig" if as_bytes else None,
                           engine="c")
    except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError) as exc:
        raise SheetError(f"not a readable CSV: {exc}") from exc


def _wide_cells(sheet: str, kind: str, rows: list[tuple[int, list[Any]]], criteria: Sequence[str],
                problems: list[Problem], juror: _SheetJuror) -> _Cells:
    """A one-row-per-entry sheet (the contract's Scores sheet, or the same columns as CSV) in long form."""
    h = _find_header(rows, criteria)
    header_row = rows[h][0] if rows else 1
    headers, taken = _merged_headers(rows, h, criteria)
    cols = _Columns(headers, criteria)
    use_column = cols.juror >= 0 and not juror.from_sheet
    cells = _Cells(sheet, kind, "wide", headers, {}, None if use_column else juror.name,
                   None if use_column else juror.juror_id)
    if taken == 2:
        problems.append(Problem(sheet, cells.juror, header_row, None, f"rows {header_row} and {header_row + 1} are "
                                "read as one two-row header", "note", "header-two-rows"))
    if cols.long:
        return _long_cells_from_rows(cells, cols, rows[h + taken:], criteria, problems)
    if cols.anon < 0:
        raise SheetError(f"no anon_id column in the header row (row {header_row}: "
                         f"{', '.join(h for h in headers if h.strip())[:200] or 'empty'})", "no-sheet")
    _header_notes(cells, cols, header_row, criteria, problems)
    data: dict[str, list[Any]] = {k: [] for k in ("juror", "anon", "criterion", "value", "row", "col", "anon_col",
                                                  "comment")}
    crit_cols = list(cols.criteria.items())
    for number, row in rows[h + taken:]:
        def at(i: int, row: list[Any] = row) -> Any:
            return row[i] if 0 <= i < len(row) else None

        anon = at(cols.anon)
        values = [at(i) for _, i in crit_cols]
        if _blank(anon) and all(_blank(v) for v in values):
            continue  # an empty row, or one holding only reference text
        row_juror = _clean_name(at(cols.juror)) if use_column else ""
        comment = at(cols.comment) if cols.comment >= 0 else None
        comment = None if _blank(comment) else str(comment).strip()
        for (criterion, i), value in zip(crit_cols, values, strict=True):
            data["juror"].append(row_juror or juror.name)
            data["anon"].append(anon)
            data["criterion"].append(criterion)
            data["value"].append(value)
            data["row"].append(number)
            data["col"].append(i)
            data["anon_col"].append(cols.anon)
            data["comment"].append(comment)
    cells.frame = {k: np.array(v, dtype=np.int64 if k in ("row", "col", "anon_col") else object)
                   for k, v in data.items()}
    return cells


def _frame(columns: Mapping[str, np.ndarray]) -> pd.DataFrame:
    """A frame keeping object columns as object (pandas 3 would convert text to its str dtype: slow to build and
    to hash, for nothing here)."""
    return pd.concat([pd.Series(v, dtype=v.dtype, name=k) for k, v in columns.items()], axis=1)


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value)) or (
        isinstance(value, str) and not value.strip())


def _header_notes(cells: _Cells, cols: _Columns, header_row: int, criteria: Sequence[str],
                  problems: list[Problem]) -> None:
    for criterion in criteria:
        if criterion not in cols.criteria:
            found = ", ".join(h.strip() for h in cells.headers if h.strip()) or "empty"
            problems.append(Problem(cells.sheet, cells.juror, header_row, None,
                                    f"no column for the criterion '{criterion}' in the header row "
                                    f"(row {header_row}: {found})", "error", "criterion-column-missing"))
    for i in cols.extra:
        problems.append(Problem(cells.sheet, cells.juror, header_row, cells.cell(header_row, i),
                                f"extra column '{cells.headers[i].strip()}' ignored", "note", "column-extra"))


def _long_cells_from_rows(cells: _Cells, cols: _Columns, rows: list[tuple[int, list[Any]]],
                          criteria: Sequence[str], problems: list[Problem]) -> _Cells:
    """A long-format XLSX (juror, anon_id, criterion, score rows): rare, so plain loops."""
    width = len(cells.headers)
    frame = pd.DataFrame([(r + [None] * width)[:width] for _, r in rows], columns=range(width), dtype=object)
    frame.index = pd.Index([n for n, _ in rows])
    return _long_cells(cells, cols, frame, problems)


def _long_cells(cells: _Cells, cols: _Columns, frame: pd.DataFrame, problems: list[Problem]) -> _Cells:
    """SPEC's long layout (juror, anon_id, criterion, score[, comment]); frame columns by position, index = row."""
    cells.layout = "long"
    header_row = 1
    if cols.anon < 0:
        raise SheetError(f"no anon_id column in the header row (row {header_row}: {', '.join(cells.headers)})",
                         "no-sheet")
    if cols.juror < 0 and cells.juror is None:
        raise SheetError("no juror column in the header row of a long score sheet (juror, anon_id, criterion, "
                         "score)")
    for i in cols.extra:
        problems.append(Problem(cells.sheet, None, header_row, cells.cell(header_row, i),
                                f"extra column '{cells.headers[i].strip()}' ignored", "note", "column-extra"))
    n = len(frame)
    values = frame.iloc[:, cols.score]
    cells.frame = {
        "juror": (frame.iloc[:, cols.juror].to_numpy(dtype=object) if cols.juror >= 0
                  else np.full(n, cells.juror, dtype=object)), "anon": frame.iloc[:, cols.anon].to_numpy(dtype=object),
        "criterion": frame.iloc[:, cols.criterion].to_numpy(dtype=object), "value": values.to_numpy(dtype=object),
        "row": frame.index.to_numpy(dtype=np.int64), "col": np.full(n, cols.score, dtype=np.int64),
        "anon_col": np.full(n, cols.anon, dtype=np.int64),
        "comment": (frame.iloc[:, cols.comment].to_numpy(dtype=object) if cols.comment >= 0
                    else np.full(n, None, dtype=object)),
    }
    cells.criterion_col, cells.juror_col = cols.criterion, cols.juror
    return cells


# --- the checks, shared by every layout ------------------------------------------------------------------------------
class _Checker:
    def __init__(self, criteria: Sequence[str], score_min: float, score_max: float,
                 known_anon_ids: Collection[str] | None, roster: Roster | None,
                 withdrawn: Collection[str] = ()) -> None:
        self.criteria = list(criteria)
        self.lo, self.hi = float(score_min), float(score_max)
        self.whole = float(score_min).is_integer() and float(score_max).is_integer()
        self.known = None if known_anon_ids is None else set(known_anon_ids)
        self.withdrawn = set(withdrawn)
        self.roster = roster
        self.crit_map = _criterion_names(criteria)

    def check(self, cells: _Cells, problems: list[Problem]) -> tuple[pd.DataFrame, pd.DataFrame]:
        """(scores long frame, pairs frame) of the usable cells; every unusable one becomes a problem.

        Every test works on integer codes: each column's distinct values are judged once (a lookup array per
        column), and the rows take their verdicts by code. Text is only rebuilt for the rows that have a problem.
        """
        f = cells.frame
        sheet, long = cells.sheet, cells.layout == "long"
        n = len(f["row"])
        if n == 0:
            return _empty_scores(), _empty_pairs(self.criteria)
        rows, cols, anon_cols = f["row"], f["col"], f["anon_col"]

        def add(i: int, juror: str | None, text: str, col: int | None = None, severity: str = "error",
                code: str = "") -> None:
            row = int(rows[i])
            problems.append(Problem(sheet, juror or None, row, cells.cell(row, int(cols[i]) if col is None
                                                                          else col), text, severity, code))

        # each column's distinct values, once
        j_raw, j_uni = _factorize(f["juror"])
        a_raw, a_uni = _factorize(f["anon"])
        v_raw, v_uni = _factorize(f["value"])
        c_raw: Any  # arrays on a long sheet (a criterion per row), else None and never read
        c_uni: Any
        c_raw, c_uni = _factorize(f["criterion"], len(self.criteria)) if long else (None, None)
        skip = np.zeros(n, dtype=bool)
        if long:  # a blank line (every column blank) is no row at all
            skip = (j_raw < 0) & (a_raw < 0) & (c_raw < 0) & (v_raw < 0)

        # jurors: each distinct spelling cleaned once; spellings that clean alike are one juror
        j_names: list[str] = []
        seen: dict[str, str] = {}
        for u in j_uni:
            name = _clean_name(u)
            if self.roster is not None and name:
                rid = self.roster.juror_id(name, cells.juror_id if not long else None)
                if rid is not None:
                    name = self.roster.names[rid]
            j_names.append(seen.setdefault(_name_key(name), name) if name else "")
        j_codes, j_cats = _merge(j_raw, j_names)

        def jname(i: int) -> str:
            return j_cats[j_codes[i]] if j_codes[i] >= 0 else ""

        bad = (j_codes < 0) & ~skip
        if bad.any():
            idx = np.flatnonzero(bad)
            for i, members in _groups(idx, np.zeros(len(idx), dtype=np.int64), rows):
                add(i, None, "no juror named in this row" + _more_rows(members, rows, i), col=cells.juror_col,
                    code="juror-missing")
        bad |= skip

        # anonymous IDs: 0 known, 1 unknown, 2 withdrawn from the round
        # an ID already in capitals and digits (ASCII) is its own clean form: NFKC, spaces and case change nothing
        a_clean = [u if type(u) is str and u.isascii() and u.isalnum() and u == u.upper() else _clean_anon(u)
                   for u in a_uni]
        a_codes, a_cats = _merge(a_raw, a_clean)
        a_state = np.array([0 if self.known is None or a in self.known else 1 for a in a_cats], dtype=np.int8)
        a_state[[k for k, a in enumerate(a_cats) if a in self.withdrawn]] = 2
        state = np.full(len(a_codes), -1, dtype=np.int8)  # -1: no ID in the row (a sheet may have none at all)
        state[a_codes >= 0] = a_state[a_codes[a_codes >= 0]]

        def aname(i: int) -> str:
            return a_cats[a_codes[i]] if a_codes[i] >= 0 else ""

        for kind, text in ((-1, "scores without an anon ID"), (1, "unknown anon ID")):
            mask = (state == kind) & ~bad
            if not mask.any():
                continue
            idx = np.flatnonzero(mask)
            group = j_codes[idx].astype(np.int64) * (len(a_uni) + 1) + a_raw[idx]
            for i, members in _groups(idx, group, rows):
                label = text if kind < 0 else f"{text} {_show_raw(f['anon'][i])}"
                add(i, jname(i), label + _more_rows(members, rows, i), col=int(anon_cols[i]),
                    code="anon-id-missing" if kind < 0 else "anon-id-unknown")
            bad |= mask
        mask = (state == 2) & ~bad
        if mask.any():
            idx = np.flatnonzero(mask)
            for i, members in _groups(idx, j_codes[idx].astype(np.int64) * (len(a_cats) + 1) + a_codes[idx], rows):
                add(i, jname(i), f"anon ID {aname(i)} was withdrawn from the round: its scores are not ranked"
                    + _more_rows(members, rows, i), col=int(anon_cols[i]), severity="note", code="anon-id-withdrawn")
            bad |= mask

        # criteria (a long sheet names one per row)
        crit_index = {c: k for k, c in enumerate(self.criteria)}
        if long:
            c_lookup = np.array([crit_index.get(self.crit_map.get(_key(u), ""), -1) for u in c_uni] + [-1],
                                dtype=np.int64)
            c_idx = c_lookup[c_raw]
            mask = (c_idx < 0) & ~bad
            if mask.any():
                idx = np.flatnonzero(mask)
                for i, members in _groups(idx, c_raw[idx].astype(np.int64), rows):
                    raw = f["criterion"][i]
                    what = ("no criterion named" if _blank(raw) else
                            f"unknown criterion {_show_raw(raw)} (expected {', '.join(self.criteria)})")
                    add(i, jname(i), what + _more_rows(members, rows, i), col=cells.criterion_col,
                        code="criterion-unknown")
                bad |= mask
        else:
            c_idx = np.array([crit_index.get(c, -1) for c in f["criterion"]], dtype=np.int64)

        def cname(i: int) -> str:
            return self.criteria[c_idx[i]] if c_idx[i] >= 0 else ""

        # values: each distinct value parsed once
        parsed = [_parse_score(u, self.whole, self.lo, self.hi) for u in v_uni]
        blank_text = _parse_score(None, self.whole, self.lo, self.hi)[1]
        numbers = np.array([p[0] for p in parsed] + [math.nan], dtype=float)
        verdicts = [p[1] for p in parsed] + [blank_text]
        v_bad = np.array([v is not None for v in verdicts], dtype=bool)
        v_blank = np.array([v == blank_text for v in verdicts], dtype=bool)
        score = numbers[v_raw]
        mask = v_bad[v_raw] & ~bad
        if not long and mask.any():
            # a row left wholly blank (an entry skipped) is one problem, not one per criterion
            blank_cell = mask & v_blank[v_raw]
            r_codes, r_uni = pd.factorize(rows)
            blanks = np.bincount(r_codes[blank_cell], minlength=len(r_uni))
            cells_in_row = np.bincount(r_codes[~bad], minlength=len(r_uni))
            skipped = (blanks == cells_in_row) & (cells_in_row > 1)
            if skipped.any():
                in_skipped = skipped[r_codes] & blank_cell
                idx = np.flatnonzero(in_skipped)
                for i, members in _groups(idx, r_codes[idx].astype(np.int64), rows):
                    row = int(rows[i])
                    span = cells.span(row, int(cols[members].min()), int(cols[members].max()))
                    if RECUSAL.search(str(f["comment"][i] or "")):  # the juror stepped aside, as told to
                        problems.append(Problem(sheet, jname(i) or None, row, span,
                                                f"{aname(i)}: recused (comment {str(f['comment'][i]).strip()!r}); "
                                                "ranked on the other jurors' scores", "note", "recused"))
                        continue
                    problems.append(Problem(sheet, jname(i) or None, row, span,
                                            f"{aname(i)}: no score given (all {len(members)} criteria blank)", "error",
                                            "entry-skipped"))
                mask &= ~in_skipped
        for i in np.flatnonzero(mask).tolist():
            add(i, jname(i), f"{aname(i)} {cname(i)}: {verdicts[v_raw[i]]}", code=_verdict_code(verdicts[v_raw[i]]))
        valid = ~bad  # rows whose juror, anon ID and criterion are known (the value may still be bad)

        # the same juror, entry and criterion more than once (a wide sheet: the same anon ID on two rows)
        n_a, n_c = len(a_cats), len(self.criteria)
        pair_key = np.where(valid, j_codes.astype(np.int64) * n_a + a_codes, 0)
        key = pair_key * n_c + np.where(valid, c_idx, 0)
        dup = valid & _repeated(key, valid, len(j_cats) * n_a * n_c)
        drop = np.zeros(n, dtype=bool)
        if dup.any():
            idx = np.flatnonzero(dup)
            for i, members in _groups(idx, key[idx] if long else pair_key[idx], rows):
                sub = pd.DataFrame({"c": c_idx[members], "s": score[members]})
                same = int(sub.groupby("c")["s"].nunique(dropna=False).max()) == 1
                row_list = ", ".join(str(r) for r in sorted({int(rows[m]) for m in members}))
                what = f"{aname(i)} {cname(i)}" if long else f"anon ID {aname(i)}"
                at_col = None if long else int(anon_cols[i])
                if same:
                    add(i, jname(i), f"{what} appears more than once (rows {row_list}) with the same scores; "
                        "counted once", col=at_col, severity="note", code="anon-id-repeated")
                    drop[members[rows[members] != rows[i]]] = True
                else:
                    add(i, jname(i), f"{what} appears more than once (rows {row_list}) with different scores; "
                        "none of them is used", col=at_col, code="anon-id-repeated")
                    drop[members] = True
        keep = valid & ~drop
        usable = keep & ~np.isnan(score)

        # one row per juror x entry (what the ledger stores)
        kidx = np.flatnonzero(keep)
        p_codes, p_keys = _dense_codes(pair_key[kidx], len(j_cats) * n_a)
        first = np.full(len(p_keys), n, dtype=np.int64)
        np.minimum.at(first, p_codes, kidx)
        comments = np.full(len(p_keys), None, dtype=object)
        has_comment = pd.notna(f["comment"])
        raw_comments = f["comment"][kidx] if has_comment.any() else f["comment"][:0]  # most sheets have none
        for k in np.flatnonzero(has_comment[kidx]) if len(raw_comments) else ():  # comments are few: loop
            text = str(raw_comments[k]).strip()  # over them only
            code = p_codes[k]
            if text and (comments[code] is None or text not in comments[code].split(" | ")):
                comments[code] = text if comments[code] is None else f"{comments[code]} | {text}"

        # a long sheet: a juror who scored an entry on some criteria but not on others
        if long and len(kidx):
            present = np.zeros(len(p_keys) * n_c, dtype=bool)
            present[p_codes * n_c + c_idx[kidx]] = True
            dropped = np.flatnonzero(drop)  # a cell scored twice differently is reported as such, not as missing
            if len(dropped):
                at = np.searchsorted(p_keys, pair_key[dropped])
                found = (at < len(p_keys)) & (p_keys[np.minimum(at, len(p_keys) - 1)] == pair_key[dropped])
                present[at[found] * n_c + c_idx[dropped][found]] = True
            for m in np.flatnonzero(~present):
                i = int(first[m // n_c])
                problems.append(Problem(sheet, jname(i) or None, None, None,
                                        f"{aname(i)} {self.criteria[m % n_c]}: missing score (no row)", "error",
                                        "score-missing"))

        juror_col = _categorical(j_codes[usable], j_cats)
        anon_col = _categorical(a_codes[usable], a_cats)
        crit_col = _categorical(c_idx[usable], self.criteria)
        scores = pd.concat([pd.Series(juror_col, name="juror"), pd.Series(anon_col, name="anon_id"),
                            pd.Series(crit_col, name="criterion"), pd.Series(score[usable], name="score")], axis=1)
        wide = np.full((len(p_keys), n_c), np.nan)
        in_wide = usable[kidx]
        wide[p_codes[in_wide], c_idx[kidx[in_wide]]] = score[kidx[in_wide]]
        j_arr, a_arr = np.array(j_cats, dtype=object), np.array(a_cats, dtype=object)
        pairs = _frame({"juror": j_arr[j_codes[first]], "anon_id": a_arr[a_codes[first]],
                        "sheet": np.full(len(first), sheet, dtype=object), "row": rows[first].astype(np.int64),
                        "comment": comments, **{score_column(c): wide[:, k] for k, c in enumerate(self.criteria)}})
        return scores, pairs

    def coverage(self, sheet: str, juror: str, juror_id: str | None, anon_ids: set[str],
                 problems: list[Problem]) -> None:
        """Assigned entries the juror's sheet leaves out, and entries on it never assigned to the juror."""
        if self.roster is None or juror_id is None:
            return
        for a in sorted(self.roster.active.get(juror_id, set()) - anon_ids - self.withdrawn):
            problems.append(Problem(sheet, juror, None, None,
                                    f"{a}: assigned to this juror but not on the sheet (missing scores)", "error",
                                    "assigned-not-scored"))
        ever = self.roster.ever.get(juror_id, set())
        for a in sorted(anon_ids - ever - self.withdrawn):
            problems.append(Problem(sheet, juror, None, None,
                                    f"{a}: not assigned to this juror (another juror's entry, or a conflict of "
                                    "interest); its scores are not used", "error", "not-assigned"))


def _factorize(values: np.ndarray, period: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(codes, distinct values) of an object column; -1 for a missing value.

    Hashing 600,000 strings is most of a long CSV's cost, and a long CSV has two usual layouts: a juror's rows
    together and an entry's criteria together (runs: hash only where the value changes), and the criteria in the
    same order on every entry (a cycle of `period` values: hash one cycle). Each is recognised by one vectorised
    comparison, tried only when a sample of the column fits it.
    """
    n = len(values)
    head = values[: min(n, 1000)]
    if period and n >= 2 * period and n % period == 0 and pd.notna(values[:period]).all() \
            and bool((head[period:] == head[:-period]).all()) and bool((values[period:] == values[:-period]).all()):
        codes, uniques = pd.factorize(values[:period], use_na_sentinel=True)
        return np.tile(codes, n // period), np.asarray(uniques, dtype=object)
    if n > 16 and int((head[1:] != head[:-1]).sum()) * 3 < len(head):
        change = np.empty(n, dtype=bool)
        change[0] = True
        np.not_equal(values[1:], values[:-1], out=change[1:])
        starts = np.flatnonzero(change)
        if len(starts) * 3 < n:
            codes, uniques = pd.factorize(values[starts], use_na_sentinel=True)
            return np.repeat(codes, np.diff(np.r_[starts, n])), np.asarray(uniques, dtype=object)
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    return codes, np.asarray(uniques, dtype=object)


def _merge(codes: np.ndarray, cleaned: list[str]) -> tuple[np.ndarray, list[str]]:
    """Codes of raw values -> codes of their cleaned forms, and those forms (spellings that clean alike share one
    code; a value that cleans to "" gets -1)."""
    merged: dict[str, int] = {}
    lookup = np.full(len(cleaned) + 1, -1, dtype=np.int64)
    for k, text in enumerate(cleaned):
        if text:
            lookup[k] = merged.setdefault(text, len(merged))
    return lookup[codes], list(merged)


def _repeated(key: np.ndarray, valid: np.ndarray, size: int) -> np.ndarray:
    """True where a valid row's key occurs on another valid row too (counting when the key space is small)."""
    if size <= 50_000_000:
        counts = np.bincount(key[valid], minlength=max(size, 1))  # size 0: a sheet with no anon ID at all
        return counts[key] > 1
    marked = pd.Series(np.where(valid, key, -1 - np.arange(len(key))))
    return marked.duplicated(keep=False).to_numpy()


def _dense_codes(keys: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """(code of each key, the distinct keys sorted): codes 0..k-1 in key order."""
    if len(keys) and size <= 50_000_000:
        present = np.zeros(size, dtype=bool)
        present[keys] = True
        position = np.cumsum(present) - 1
        return position[keys], np.flatnonzero(present)
    uniques, codes = np.unique(keys, return_inverse=True)
    return codes.reshape(-1), uniques


def _categorical(codes: np.ndarray, categories: Sequence[str]) -> pd.Categorical:
    """A text column from codes, with only the categories in use (a category no row has would be a juror or an
    entry with no scores for the statistics)."""
    used = np.bincount(codes, minlength=len(categories)) > 0 if len(codes) else np.zeros(len(categories), bool)
    remap = np.cumsum(used) - 1
    kept = [c for c, u in zip(categories, used, strict=True) if u]
    return pd.Categorical.from_codes(remap[codes] if len(codes) else codes, categories=pd.Index(kept, dtype=object))


def _empty_scores() -> pd.DataFrame:
    o = np.array([], dtype=object)
    return _frame({"juror": o, "anon_id": o, "criterion": o, "score": np.array([], dtype=float)})


def _empty_pairs(criteria: Sequence[str] = ()) -> pd.DataFrame:
    o = np.array([], dtype=object)
    return _frame({"juror": o, "anon_id": o, "sheet": o, "row": np.array([], dtype=np.int64), "comment": o,
                   **{score_column(c): np.array([], dtype=float) for c in criteria}})


def score_column(criterion: str) -> str:
    """The `pairs` column holding a criterion's score (prefixed: a criterion may be called 'row' or 'sheet')."""
    return f"score:{criterion}"


def _show_raw(value: Any) -> str:
    return "(blank)" if _blank(value) else repr(str(value).strip())


def _groups(idx: np.ndarray, group: np.ndarray, rows: np.ndarray) -> Iterable[tuple[int, np.ndarray]]:
    """(first row index, member indices) per group, groups in order of their first row."""
    order = np.argsort(group, kind="stable")
    g_sorted = group[order]
    starts = np.flatnonzero(np.r_[True, g_sorted[1:] != g_sorted[:-1]])
    bounds = np.r_[starts, len(order)]
    result = []
    for s, e in zip(bounds[:-1], bounds[1:], strict=True):
        members = idx[order[s:e]]
        first = int(members[np.argmin(rows[members])])
        result.append((first, members))
    result.sort(key=lambda t: int(rows[t[0]]))
    return result


def _more_rows(members: np.ndarray, rows: np.ndarray, first: int) -> str:
    others = sorted({int(rows[m]) for m in members} - {int(rows[first])})
    if not others:
        return ""
    shown = ", ".join(str(r) for r in others[:5])
    return f" (also rows {shown}{', ...' if len(others) > 5 else ''}; {len(others) + 1} rows in all)"


# --- public -----------------------------------------------------------------------------------------------------------
def sheet_paths(items: Iterable[Path]) -> list[Path]:
    """Files named, and every file in the folders named (sorted), whatever its suffix: `read_sheets` looks at each
    by its content and says what it made of it. The operating system's own files (.DS_Store, Thumbs.db) and other
    hidden files are left out; Excel's `~$` lock files are kept, to be named (the sheet is still open in Excel).

    Raises FileNotFoundError naming the first path that does not exist (a usage error for the CLI).
    """
    found: list[Path] = []
    for item in items:
        if item.is_dir():
            found.extend(sorted(p for p in item.iterdir() if (p.is_file() or p.suffix.lower() == ".numbers")
                                and not p.name.startswith(".") and p.name.casefold() not in SYSTEM_FILES))
        elif item.is_file():
            found.append(item)
        else:
            raise FileNotFoundError(f"{item}: no such file or folder")
    unique: list[Path] = []
    for p in found:
        if p.resolve() not in {u.resolve() for u in unique}:
            unique.append(p)
    return unique


# SheetError.kind -> the problem's code (milsetctl/problem_codes.py)
_SHEET_ERROR_CODES = {"no-sheet": "sheet-no-header", "other-round": "sheet-other-round", "scale": "sheet-scale"}


def _verdict_code(verdict: str) -> str:
    """The code of a score cell's verdict (`_parse_score`'s text)."""
    for start, code in (("missing score", "score-blank"), ("not a number", "score-not-number"),
                        ("not a whole number", "score-not-whole"), ("out of range", "score-out-of-range"),
                        ("a formula", "score-formula"), ("a date", "score-date")):
        if verdict.startswith(start):
            return code
    return "score-not-number"


# suffixes that say "a score sheet": such a file that cannot be used is an error; any other file (notes.txt, a
# scanned PDF) that holds no score sheet is named in a note
_SHEET_SUFFIXES = (".xlsx", ".xlsm", ".xls", ".ods", ".csv", ".tsv", ".numbers", ".xlsb")


def _copies(paths: Sequence[Path], problems: list[Problem]) -> list[Path]:
    """The paths without byte-identical copies (a mail attachment saved twice as 'J02.csv' and 'J02 (1).csv'): the
    copy is one sheet, read once, with a note naming both files. Which is kept: the name without a copy mark."""
    import hashlib

    by_digest: dict[str, list[Path]] = {}
    order: list[str] = []
    for path in paths:
        try:
            if path.is_dir():
                raise OSError
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
        except OSError:
            digest = f"unread:{path}"
        if digest not in by_digest:
            order.append(digest)
        by_digest.setdefault(digest, []).append(path)
    kept: list[Path] = []
    for digest in order:
        first, *rest = sorted(by_digest[digest], key=lambda p: (file_juror_name(p.stem) != p.stem, len(p.name),
                                                                 p.name))
        kept.append(first)
        for other in rest:
            if _file_identity(other) & _file_identity(first):
                problems.append(Problem(other.name, None, None, None, f"the same file as {first.name} (byte for "
                                        "byte: saved or copied twice); read once, as that sheet", "note", "sheet-copy"))
            else:  # two jurors' names, one content: both read, but the chair should look
                kept.append(other)
                problems.append(Problem(other.name, None, None, None, f"byte for byte the same file as {first.name}, "
                                        "under another juror's name: check that each juror's own sheet is in the "
                                        "folder", "note", "sheet-same-bytes"))
    keep = set(kept)
    return [p for p in paths if p in keep]


def _juror_id_in(name: str) -> str | None:
    """The juror ID a file name starts with ('J03 Zhang Min', 'J03'), in capitals; None without one."""
    m = _FILE_JUROR_ID.match(unicodedata.normalize("NFKC", name))
    return m.group(1).upper() if m else None


_FILE_JUROR_ID = re.compile(r"^(J\d+)(?:[\s_-]|$)", re.IGNORECASE)


def _file_identity(path: Path) -> set[str]:
    """Who a file name says the sheet is from: the name without copy marks, and a leading juror ID ('J03')."""
    name = file_juror_name(path.stem)
    keys = {"name:" + _name_key(name)}
    juror_id = _juror_id_in(name)
    if juror_id:
        keys.add("id:" + juror_id.casefold())
    return keys


def read_sheets(paths: Sequence[Path], *, criteria: Sequence[str], score_min: float, score_max: float,
                known_anon_ids: Collection[str] | None, round_id: str | None, roster: Roster | None = None,
                withdrawn: Collection[str] = ()) -> SheetsRead:
    """Read and check every sheet; a sheet that cannot be used is one problem and the others are still read.

    paths: juror XLSX files (contract: `Scores` sheet + hidden `milsetctl` sheet), per-juror CSVs with the same
    columns, or long CSVs (juror, anon_id, criterion, score[, comment]); CSV in UTF-8 (BOM or not), UTF-16 or
    GB18030. Scores must lie in [score_min, score_max] and be whole numbers when both bounds are (SPEC: integers
    1-10). known_anon_ids: the round's IDs (None skips the check); round_id: the ledger's round token (a sheet
    carrying another is refused); roster: assignments, when `jury sheets` made them (coverage checks);
    withdrawn: anon IDs taken out of the round (their scores are noted, not used).
    """
    checker = _Checker(criteria, score_min, score_max, known_anon_ids, roster, withdrawn)
    problems: list[Problem] = []
    per_sheet: list[tuple[_Cells, pd.DataFrame, pd.DataFrame]] = []
    refused: list[str] = []
    names: list[str] = [p.name for p in paths]
    for path in _copies(paths, problems):
        name = path.name
        before = len(problems)
        try:
            cells = _load(path, criteria, round_id, roster, problems, (float(score_min), float(score_max)))
        except SheetError as exc:
            del problems[before:]
            lenient = exc.kind == "lock" or (exc.kind in ("no-sheet", "not-spreadsheet")
                                             and path.suffix.lower() not in _SHEET_SUFFIXES)
            if not lenient:
                problems.append(Problem(name, None, None, None, f"{exc}; the sheet is not used", "error",
                                        _SHEET_ERROR_CODES.get(exc.kind, "sheet-unreadable")))
                refused.append(name)
            else:
                problems.append(Problem(name, None, None, None, f"{exc}: not read" if exc.kind == "lock" else
                                        f"not a score sheet ({exc}): not read", "note", "not-a-sheet"))
            continue
        scores, pairs = checker.check(cells, problems)
        per_sheet.append((cells, scores, pairs))

    # a juror on two sheets (by name under any spelling, or by juror ID): which one counts cannot be guessed, so
    # neither does
    identities = [{str(j): _identity(cells, str(j), roster) for j in pd.unique(pairs["juror"])}
                  for cells, _, pairs in per_sheet]
    sheets_of: dict[str, list[str]] = {}
    for (cells, _, _), ids in zip(per_sheet, identities, strict=True):
        for keys in ids.values():
            for k in keys:
                if cells.sheet not in sheets_of.setdefault(k, []):
                    sheets_of[k].append(cells.sheet)
    twice = {k: v for k, v in sheets_of.items() if len(v) > 1}
    score_parts, pair_parts = [], []
    jurors: list[str] = []
    sheet_of: dict[str, str] = {}
    juror_ids: dict[str, str] = {}
    unknown: list[tuple[str, str]] = []  # (sheet, juror) named by no juror file, once `jury sheets` made one
    for (cells, scores, pairs), ids in zip(per_sheet, identities, strict=True):
        clashing = {j for j, keys in ids.items() if keys & twice.keys()}
        if clashing:
            for j in clashing:
                others = sorted({s for k in ids[j] & twice.keys() for s in twice[k]} - {cells.sheet})
                problems.append(Problem(cells.sheet, j, None, None,
                                        f"juror {j} also has scores on {', '.join(others)}: a juror twice (two "
                                        "different sheets); neither sheet's scores of this juror are used. Keep "
                                        "the one that counts in the folder and run score again", "error",
                                        "juror-twice"))
            pairs = pairs[~pairs["juror"].isin(clashing).to_numpy(dtype=bool)]
            scores = scores[~scores["juror"].astype(object).isin(clashing).to_numpy(dtype=bool)]
            if pairs.empty:
                refused.append(cells.sheet)
        strangers: set[str] = set()
        for j, group in pairs.groupby("juror", sort=False):
            juror = str(j)
            rid = roster.juror_id(juror, cells.juror_id) if roster is not None else None
            if rid is None and roster is not None:
                # `jury sheets` said who the jurors are: a sheet under another name is a juror's sheet mis-named,
                # or nobody's; counting it as one more juror would give that juror's scores twice
                strangers.add(juror)
                unknown.append((cells.sheet, juror))
                continue
            jurors.append(juror)
            sheet_of[juror] = cells.sheet
            if rid is not None:
                juror_ids[juror] = rid
            checker.coverage(cells.sheet, juror, rid, set(group["anon_id"]), problems)
        if strangers:
            pairs = pairs[~pairs["juror"].isin(strangers).to_numpy(dtype=bool)]
            scores = scores[~scores["juror"].astype(object).isin(strangers).to_numpy(dtype=bool)]
        score_parts.append(scores)
        pair_parts.append(pairs)
    if unknown and roster is not None:
        seen = set(juror_ids.values())
        waiting = [f"{rid} {roster.names[rid]}" for rid in sorted(roster.active) if rid not in seen]
        for sheet, juror in unknown:
            hint = (f"jurors with no sheet here: {', '.join(waiting[:6])}{' ...' if len(waiting) > 6 else ''}; if it "
                    f"is one of theirs, name the file as `jury sheets` did ('{waiting[0]}.xlsx')" if waiting else
                    "every juror of the juror file has a sheet here")
            problems.append(Problem(sheet, juror, None, None, f"juror {juror} is in no juror file, so these scores "
                                    f"are not used ({hint}; or add the juror to the juror file and run jury "
                                    "sheets again)", "error", "juror-unknown"))
    scores = pd.concat(score_parts, ignore_index=True) if score_parts else _empty_scores()
    pairs = pd.concat(pair_parts, ignore_index=True) if pair_parts else _empty_pairs(criteria)
    return SheetsRead(scores=scores, pairs=pairs, problems=problems, jurors=jurors, sheet_of=sheet_of,
                      juror_ids=juror_ids, sheets=names, refused=refused)


def _identity(cells: _Cells, juror: str, roster: Roster | None) -> set[str]:
    """The keys that make two sheets' jurors one person: the name under any spelling, and a juror ID (the roster's,
    or the 'J03' a file name starts with: 'Copy of J03.csv' beside 'J03 Zhang Min.csv')."""
    keys = {"name:" + _name_key(juror)}
    hinted = cells.juror_id if cells.juror == juror else None
    in_name = _juror_id_in(file_juror_name(Path(cells.sheet).stem))
    if in_name and cells.juror == juror:
        keys.add("id:" + in_name.casefold())
    if roster is not None:
        rid = roster.juror_id(juror, hinted)
        if rid is not None:
            keys.add("id:" + rid.casefold())
    return keys


def _load(path: Path, criteria: Sequence[str], round_id: str | None, roster: Roster | None,
          problems: list[Problem], score_range: tuple[float, float]) -> _Cells:
    """One file -> its cells in long form, read by what it holds whatever its name says (raises SheetError when
    the sheet as a whole cannot be used)."""
    name = path.name
    if path.is_dir():  # a .numbers package folder, as macOS keeps it
        raise SheetError(str(refusal("numbers")), "not-spreadsheet")
    if name.startswith(("~$", ".~lock")):
        raise SheetError("the lock file a spreadsheet program keeps while the sheet is open (the sheet itself is "
                         f"{name.lstrip('~$').removeprefix('.~lock.').rstrip('#')}): close the program", "lock")
    try:
        kind = identify(path)
    except OSError as exc:
        raise SheetError(f"cannot read the file: {exc.strerror or exc}") from exc
    if kind in WORKBOOK_KINDS:
        book = _workbook(path, kind, criteria)
        meta, sheet = book.meta, book.sheet
        _check_round(meta.get("round_id", "").strip(), round_id)
        _check_scale(meta, score_range)
        if not sheet.rows:
            raise SheetError("the Scores sheet is empty")
        juror = _sheet_juror(path, meta, roster)
        cells = _wide_cells(name, "xlsx", sheet.rows, criteria, problems, juror)
        for note in book.notes:
            problems.append(Problem(name, cells.juror, None, None, note, "note", "sheet-tab"))
        if sheet.hidden_rows:
            shown = ", ".join(str(r) for r in sheet.hidden_rows[:10]) + (", ..." if len(sheet.hidden_rows) > 10
                                                                         else "")
            problems.append(Problem(name, cells.juror, None, None, f"{len(sheet.hidden_rows)} row(s) hidden in the "
                                    f"sheet ({shown}) were read and counted like the others", "note", "rows-hidden"))
        return cells
    if kind != "text":
        raise SheetError(str(refusal(kind)), "not-spreadsheet")
    raw, text, encoding = _decode_csv(path)
    if not text or text.isspace():  # (no stripped copy of a 17 MB text)
        raise SheetError("the file is empty")
    sep = sniff_delimiter(text)
    juror = _sheet_juror(path, {}, roster)
    first = next(csv.reader(io.StringIO(text[:20000], newline=""), delimiter=sep), [])
    cols = _Columns(first, criteria)
    if cols.long:  # the header on line 1: the fast path for a long CSV of 600,000 scores
        frame = _csv_frame(raw, text, encoding, sep)
        headers = [str(c) for c in frame.columns]
        for i in _stamp_columns(headers, ROUND_COLUMNS):
            for token in pd.unique(frame.iloc[:, i].dropna()):
                _check_round(str(token).strip(), round_id)
        frame.columns = range(len(headers))
        frame.index = pd.RangeIndex(2, len(frame) + 2)
        cells = _Cells(name, "csv", "long", headers, {})
        if cols.juror < 0:
            cells.juror, cells.juror_id = juror.name, juror.juror_id
        return _long_cells(cells, _Columns(headers, criteria), frame, problems)
    # a per-juror CSV (or a long one under title rows): small, read row by row like the XLSX
    try:
        records = list(csv.reader(io.StringIO(text, newline=""), delimiter=sep))
    except csv.Error as exc:
        raise SheetError(f"not valid CSV: {exc}") from exc
    rows = [(i, list(r)) for i, r in enumerate(records, start=1) if any(c.strip() for c in r)]
    stamps = _csv_stamps(rows, criteria)
    for token in stamps.get("round_id", ()):
        _check_round(token, round_id)
    juror_ids = stamps.get("juror_id", [])
    if len(juror_ids) == 1:  # the page's export names its juror, as the XLSX's hidden sheet does: that wins
        juror = _sheet_juror(path, {"juror_id": juror_ids[0]}, roster)
    return _wide_cells(name, "csv", rows, criteria, problems, juror)


# the columns the scoring page's export stamps on every row (jury/page.py EXTRA_COLUMNS), read as the XLSX's hidden
# sheet is read
ROUND_COLUMNS = frozenset({"round_id", "round"})
JUROR_ID_COLUMNS = frozenset({"juror_id"})


def _check_round(token: str, round_id: str | None) -> None:
    """A sheet stamped with another round's token (an XLSX's hidden sheet, a CSV's round_id column) was made for
    another contest or stage, or before the jury was drawn again: its anon IDs mean other photos, so it is refused
    whole, naming the token, never mixed in."""
    if round_id and token and token != round_id:
        raise SheetError(f"a sheet for another round ({token}; this round is {round_id})", "other-round")


def _stamp_columns(headers: Sequence[Any], names: frozenset[str]) -> list[int]:
    return [i for i, h in enumerate(headers) if _key(h).replace(" ", "_") in names]


def _csv_stamps(rows: list[tuple[int, list[Any]]], criteria: Sequence[str]) -> dict[str, list[str]]:
    """A per-juror CSV's round and juror stamps: the distinct non-blank values of its round_id and juror_id
    columns below the header, in order of appearance ({} for a CSV without them, such as one a chair typed)."""
    if not rows:
        return {}
    h = _find_header(rows, criteria)
    headers = rows[h][1]
    out: dict[str, list[str]] = {}
    for key, names in (("round_id", ROUND_COLUMNS), ("juror_id", JUROR_ID_COLUMNS)):
        seen: list[str] = []
        for i in _stamp_columns(headers, names):
            for _, row in rows[h + 1:]:
                value = row[i].strip() if i < len(row) and isinstance(row[i], str) else ""
                if value and value not in seen:
                    seen.append(value)
        if seen:
            out[key] = seen
    return out


def _check_scale(meta: Mapping[str, str], score_range: tuple[float, float]) -> None:
    """A sheet made for another score range (the settings changed after `jury sheets`) would be read on the wrong
    scale without a word: refuse it."""
    try:
        made = (float(meta["score_min"]), float(meta["score_max"]))
    except (KeyError, ValueError):
        return
    if made != score_range:
        raise SheetError(f"the sheet was made for scores {_show(made[0])}-{_show(made[1])} but the contest now "
                         f"scores {_show(score_range[0])}-{_show(score_range[1])} (settings jury.score_min/"
                         "score_max): make the sheets again or restore the settings", "scale")


@dataclass
class _SheetJuror:
    name: str
    juror_id: str | None
    from_sheet: bool  # named inside the workbook (wins over a juror column); else taken from the file name


def _sheet_juror(path: Path, meta: Mapping[str, str], roster: Roster | None) -> _SheetJuror:
    """The sheet's juror (contract): the hidden sheet's `juror`, else (per row) a juror column, else the file name
    ("J03 Wang Fang.csv" -> J03's name when the roster knows J03)."""
    named = _clean_name(meta.get("juror"))
    juror_id = (meta.get("juror_id") or "").strip() or None
    name = named or _clean_name(file_juror_name(path.stem))
    if not named:
        juror_id = juror_id or _juror_id_in(name)
    rid = roster.juror_id(name, juror_id) if roster is not None else None
    if roster is not None and rid is not None:
        return _SheetJuror(roster.names[rid], rid, bool(named))
    return _SheetJuror(name, juror_id, bool(named))
