"""Write one juror's score sheet: an XLSX a juror fills in Excel, WPS or LibreOffice, and `score` reads back.

The layout is the contract shared with the `score` reader (see the jury brief): sheet 1 `Instructions`, sheet 2
`Scores` (row 1 exactly `anon_id, <criteria...>, comment, category, title, description`, one row per entry from
row 2), and a hidden sheet `milsetctl` with key/value rows in columns A/B. Score cells carry Excel data
validation (whole number in the score range), so a typo is caught while the juror types.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from milsetctl.fsutil import atomic_path
from milsetctl.jury.assign import JuryEntry
from milsetctl.sheetcells import formula_like

INSTRUCTIONS, SCORES, HIDDEN = "Instructions", "Scores", "milsetctl"

# The call for entries names the four criteria; the words after the dash say what a juror looks for.
CRITERIA_MEANING = {
    "originality": "Originality — a fresh idea or a new way of seeing the subject",
    "information": "Informational content — what the photo shows and teaches about its subject (science, nature, "
                   "the theme)",
    "technique": "Technical proficiency — focus, exposure, composition, the use of the camera and of processing",
    "impact": "Artistic and visual impact — how strongly the photo holds the eye and stays in the mind",
}

# a cell beginning with one of these is read as a formula by Excel once edited: store it as text, quote-prefixed


@dataclass
class SheetMeta:
    """What every sheet of the round says about itself (the hidden `milsetctl` sheet, and the instructions)."""

    contest: str
    round_id: str
    juror_id: str
    juror: str
    stage: str
    criteria: list[str]
    score_min: int
    score_max: int
    generated_at: str
    due: str = ""
    return_to: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def hidden_rows(self) -> list[tuple[str, Any]]:
        return [
            ("round_id", self.round_id), ("juror_id", self.juror_id), ("juror", self.juror),
            ("contest", self.contest), ("stage", self.stage), ("criteria", ",".join(self.criteria)),
            ("score_min", self.score_min), ("score_max", self.score_max), ("generated_at", self.generated_at),
        ]


def safe_file_name(text: str, limit: int = 60) -> str:
    """A juror's name as a file name on Windows, macOS and Linux: no path or reserved characters, no trailing
    dots or spaces, at most `limit` characters. Chinese and accented names stay as they are."""
    from milsetctl.fsutil import safe_file_name as sanitise

    name = sanitise(text, max_bytes=limit * 4, fallback="juror")
    return name[:limit].rstrip(". ") or "juror"


def sheet_file_name(juror_id: str, juror: str) -> str:
    """`<juror_id> <safe juror name>.xlsx`, the contract's file name."""
    return f"{juror_id} {safe_file_name(juror)}.xlsx"


def _cell_text(value: str | None) -> str:
    """A text as a cell holds it (openpyxl refuses control characters)."""
    return ILLEGAL_CHARACTERS_RE.sub("", value or "")


def as_text(cell, value: str | None) -> None:  # type: ignore[no-untyped-def]
    """Store `value` as a plain string, never a formula: a title "=HYPERLINK(...)" stays the title.

    SPEC ("Never"): a title or description is shown as text, never run as a spreadsheet formula. openpyxl takes a
    string beginning with "=" as a formula, so the type is forced back to string; the quote prefix keeps Excel
    from turning it into one when the juror edits the cell.
    """
    text = _cell_text(value)
    cell.value = text
    cell.data_type = "s"
    if formula_like(text):
        cell.quotePrefix = True


def _instructions(meta: SheetMeta, count: int) -> list[tuple[str, str]]:
    """(style, text) lines of the Instructions sheet; style is "title", "head" or ""."""
    lo, hi = meta.score_min, meta.score_max
    back = meta.return_to or "the jury chair"
    due = f" by {meta.due}" if meta.due else ""
    lines = [
        ("title", f"{meta.contest} — jury score sheet"),
        ("", ""),
        ("", f"Juror: {meta.juror} ({meta.juror_id})"),
        ("", f"Round: {meta.round_id} ({meta.stage} stage)"),
        ("", f"Entries to score: {count}"),
    ]
    if meta.due:
        lines.append(("", f"Please return this sheet by: {meta.due}"))
    lines += [
        ("", ""),
        ("head", "How to score"),
        ("", f"The sheet '{SCORES}' lists the {count} photos given to you, one per row, each named only by its "
             "anonymous ID. Find each photo in the jury package under the same ID (photos/<ID>.jpg or .png, and "
             "the contact sheet)."),
        ("", f"Give every photo a whole number from {lo} (weakest) to {hi} (strongest) for each criterion of the "
             "call for entries:"),
    ]
    for criterion in meta.criteria:
        lines.append(("", f"    {criterion}: {CRITERIA_MEANING.get(criterion, criterion)}"))
    lines += [
        ("", "Leave no score cell blank; one comment per entry is optional (column 'comment')."),
        ("", "The category, title and description columns are the contestant's own words, for reference only."),
        ("", "Do not change the anon_id column, the column headers or the sheet names, and do not add or delete "
             "rows: the sheet is read back by a program."),
        ("", "If you recognise a photo or know who took it, do not score it: leave its scores blank, write "
             "RECUSED in its comment, and tell the jury chair. The photo is then ranked on the other jurors' "
             "scores."),
        ("", ""),
        ("head", "Returning the sheet"),
        ("", f"Save the file in Excel format (.xlsx), keep its name, and send it back to {back}{due}."),
        ("", f"This sheet was made for you and for round {meta.round_id} only; please do not pass it on."),
    ]
    return lines


def _as_score(value: Any) -> Any:
    """A value carried into a re-issued sheet: a number typed as text ("８", " 7 ", "7.0") becomes that number,
    anything else stays as it was typed."""
    if value is None or isinstance(value, int | float):
        return value
    text = unicodedata.normalize("NFKC", str(value)).strip()
    try:
        number = float(text)
    except ValueError:
        return str(value)
    return int(number) if number.is_integer() else number


def write_sheet(path: Path, meta: SheetMeta, entries: Sequence[JuryEntry],
                filled: dict[str, tuple[dict[str, Any], str | None]] | None = None) -> Path:
    """Write one juror's workbook to `path` (to a temporary name, then renamed, so a killed run leaves no half
    file). `entries` in the juror's order. `filled`: anon_id -> (criterion -> score, comment) already returned
    by this juror; a re-issued sheet carries them, so re-sending it never erases a score. Returns `path`.
    """
    book = Workbook()
    book.properties.creator = "milsetctl"
    book.properties.title = f"{meta.contest} — score sheet {meta.juror_id}"

    info = book.active
    info.title = INSTRUCTIONS
    info.column_dimensions["A"].width = 110
    for row, (style, text) in enumerate(_instructions(meta, len(entries)), start=1):
        cell = info.cell(row=row, column=1)
        as_text(cell, text)
        cell.alignment = Alignment(wrap_text=True, vertical="top")
        if style == "title":
            cell.font = Font(bold=True, size=14)
        elif style == "head":
            cell.font = Font(bold=True, size=12)

    scores = book.create_sheet(SCORES)
    headers = ["anon_id", *meta.criteria, "comment", "category", "title", "description"]
    n_crit = len(meta.criteria)
    widths = [11, *[13] * n_crit, 36, 11, 34, 70]
    bold, fill = Font(bold=True), PatternFill("solid", fgColor="DDEBF7")
    for col, (header, width) in enumerate(zip(headers, widths, strict=True), start=1):
        cell = scores.cell(row=1, column=col, value=header)
        cell.font, cell.fill = bold, fill
        cell.alignment = Alignment(horizontal="center" if 1 < col <= n_crit + 1 else "left", vertical="center")
        scores.column_dimensions[get_column_letter(col)].width = width
    scores.freeze_panes = "B2"  # the header row and the anon_id column stay in view
    top = Alignment(vertical="top")
    wrap = Alignment(vertical="top", wrap_text=True)
    centre = Alignment(horizontal="center", vertical="top")
    filled = filled or {}
    for row, entry in enumerate(entries, start=2):
        as_text(scores.cell(row=row, column=1), entry.anon_id)
        scores.cell(row=row, column=1).alignment = top
        given, comment = filled.get(entry.anon_id, ({}, None))
        for offset, criterion in enumerate(meta.criteria, start=2):
            cell = scores.cell(row=row, column=offset)
            value = _as_score(given.get(criterion))
            if isinstance(value, int | float):
                cell.value = int(value) if float(value).is_integer() else value
            elif value is not None:  # typed text that is no number ("abc"): kept as typed, `score` will say so
                as_text(cell, value)
            cell.alignment = centre
        tail = n_crit + 2
        for offset, cell_text in enumerate((comment, entry.category, entry.title, entry.description)):
            cell = scores.cell(row=row, column=tail + offset)
            as_text(cell, cell_text)
            cell.alignment = wrap if offset in (0, 2, 3) else top
    last_row = len(entries) + 1
    if entries:
        first_col, last_col = get_column_letter(2), get_column_letter(n_crit + 1)
        rule = DataValidation(
            type="whole", operator="between", formula1=str(meta.score_min), formula2=str(meta.score_max),
            allow_blank=True, showErrorMessage=True, showInputMessage=True, errorStyle="stop",
            errorTitle="Score out of range",
            error=f"Type a whole number from {meta.score_min} to {meta.score_max}.",
            promptTitle="Score", prompt=f"A whole number, {meta.score_min} (weakest) to {meta.score_max} (strongest)",
        )
        rule.add(f"{first_col}2:{last_col}{last_row}")
        scores.add_data_validation(rule)
    scores.print_title_rows = "1:1"
    scores.page_setup.orientation = "landscape"
    scores.page_setup.fitToWidth = 1
    scores.sheet_properties.pageSetUpPr.fitToPage = True
    scores.page_setup.fitToHeight = 0

    hidden = book.create_sheet(HIDDEN)
    for row, (key, value) in enumerate(meta.hidden_rows(), start=1):
        hidden.cell(row=row, column=1, value=key)
        if isinstance(value, str):
            as_text(hidden.cell(row=row, column=2), value)
        else:
            hidden.cell(row=row, column=2, value=value)
    hidden.sheet_state = "hidden"
    book.active = 0  # opens on the instructions: read before scoring

    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        book.save(tmp)
    return path


@dataclass
class TypedSheet:
    """What a juror has typed into a sheet already on disk: the sheet goes back to them, so nothing they typed may
    be lost when it is re-issued. `values`: anon_id -> (criterion -> cell value as typed, comment)."""

    round_id: str | None
    juror_id: str | None
    anon_ids: list[str]
    values: dict[str, tuple[dict[str, Any], str | None]]
    shown: dict[str, tuple[str, str]] = field(default_factory=dict)  # anon_id -> (title, description) on the sheet

    @property
    def typed(self) -> int:
        """How many entries carry at least one typed score or a comment."""
        return sum(1 for given, comment in self.values.values() if given or comment)

    def shows(self, entries: Sequence[JuryEntry]) -> bool:
        """Whether the sheet shows each entry's title and description as the blind view gives them now (a sheet
        written before a redaction, or before a corrected title, must be re-issued, not kept)."""
        return all(self.shown.get(e.anon_id) == (_cell_text(e.title), _cell_text(e.description)) for e in entries)


def read_typed(path: Path, criteria: Sequence[str]) -> TypedSheet | None:
    """Read back a sheet this module wrote (and a juror may have filled in). None when the file is not such a
    sheet or cannot be read (the caller keeps a copy of it before writing over it)."""
    from openpyxl import load_workbook

    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except Exception:  # noqa: BLE001 - any unreadable file: the caller backs it up and writes a fresh sheet
        return None
    try:
        if SCORES not in book.sheetnames:
            return None
        meta: dict[str, str] = {}
        if HIDDEN in book.sheetnames:
            for row in book[HIDDEN].iter_rows(values_only=True):
                if row and row[0] is not None and len(row) > 1:
                    meta[str(row[0])] = "" if row[1] is None else str(row[1])
        rows = book[SCORES].iter_rows(values_only=True)
        header = [str(h).strip().lower() if h is not None else "" for h in next(rows, ())]
        if "anon_id" not in header:
            return None
        col = {name: i for i, name in enumerate(header)}
        anon_ids: list[str] = []
        values: dict[str, tuple[dict[str, Any], str | None]] = {}
        shown: dict[str, tuple[str, str]] = {}
        for row in rows:
            cells = list(row) + [None] * (len(header) - len(row))
            anon = cells[col["anon_id"]]
            if anon is None or not str(anon).strip():
                continue
            anon = str(anon).strip()
            anon_ids.append(anon)
            title, description = (cells[col[c]] if c in col else None for c in ("title", "description"))
            shown[anon] = ("" if title is None else str(title), "" if description is None else str(description))
            given = {c: cells[col[c]] for c in criteria
                     if c in col and cells[col[c]] is not None and str(cells[col[c]]).strip() != ""}
            comment = cells[col["comment"]] if "comment" in col else None
            comment = str(comment) if comment is not None and str(comment).strip() else None
            if given or comment:
                values[anon] = (given, comment)
        return TypedSheet(meta.get("round_id"), meta.get("juror_id"), anon_ids, values, shown)
    finally:
        book.close()
