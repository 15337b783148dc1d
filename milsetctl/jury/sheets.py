"""Write one juror's score sheet: an XLSX a juror fills in Excel, WPS or LibreOffice, and `score` reads back.

The layout is the contract shared with the `score` reader (see the jury brief): sheet 1 `Instructions`, sheet 2
`Scores` (row 1 exactly `anon_id, <criteria...>, comment, category, title, description`, one row per entry from
row 2), and a hidden sheet `milsetctl` with key/value rows in columns A/B. Score cells carry Excel data
validation (whole number in the score range), so a typo is caught while the juror types.

A sheet a juror enjoys (issue 20): each row shows the entry's photo as a small thumbnail under its anonymous ID
(an image anchored in the anon_id cell, so no column moves and `score` reads the sheet as before); each score
cell's input prompt says what its criterion's score bands mean (the rubric, settings [jury.rubric]), and the
Instructions sheet holds the whole rubric, the criterion weights and the due date. The sheets are protected
without a password: only the score and comment cells can be typed in, so a stray keystroke cannot change an
anonymous ID, a header or a sheet name (the workbook's structure is locked too).
"""

from __future__ import annotations

import io
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.drawing.image import Image as SheetImage
from openpyxl.drawing.spreadsheet_drawing import AnchorMarker, OneCellAnchor
from openpyxl.drawing.xdr import XDRPositiveSize2D
from openpyxl.styles import Alignment, Font, PatternFill, Protection
from openpyxl.utils import get_column_letter
from openpyxl.utils.units import pixels_to_EMU
from openpyxl.workbook.protection import WorkbookProtection
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.worksheet import Worksheet

from milsetctl.fsutil import atomic_path
from milsetctl.jury.assign import JuryEntry
from milsetctl.jury.sheets_photos import THUMB_PX, Picture
from milsetctl.jury.sheets_rubric import (
    Band,
    criterion_label,
    prompt_text,
    prompt_title,
    rubric,
    weight_text,
    weights_sentence,
)
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

# a thumbnail sits in the anon_id cell below the ID: its offsets in the cell, and the cell's size around it
THUMB_TOP_PX, THUMB_LEFT_PX, THUMB_BOTTOM_PX = 22, 6, 6
PHOTO_COLUMN_WIDTH = 25  # characters: ~180 px, a 160 px thumbnail and its margins
PX_PER_POINT = 4 / 3  # row heights are in points, images in pixels (96 dpi)
UNLOCKED = Protection(locked=False)
INSTRUCTIONS_LINE, LINE_POINTS = 105, 15  # characters per line of the Instructions column (110 wide), row height


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


def _instructions(meta: SheetMeta, count: int, bands: Mapping[str, Sequence[Band]] | None = None,
                  weights: Mapping[str, float] | None = None, photos: bool = False, page: str | None = None
                  ) -> list[tuple[str, str]]:
    """(style, text) lines of the Instructions sheet; style is "title", "head", "sub" or ""."""
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
             "anonymous ID" + (", with a small copy of the photo under the ID" if photos else "") + ". Find each "
             "photo in the jury package under the same ID (photos/<ID>.jpg or .png, and the contact sheet)"
             + (": judge the full-size photo, not the thumbnail." if photos else ".")),
        ("", f"Give every photo a whole number from {lo} (weakest) to {hi} (strongest) for each criterion of the "
             "call for entries:"),
    ]
    for criterion in meta.criteria:
        lines.append(("", f"    {criterion}: {CRITERIA_MEANING.get(criterion, criterion)}"))
    if weights:
        lines.append(("", weights_sentence({"criteria": meta.criteria,
                                            "weights": [weights.get(c, 1.0) for c in meta.criteria]})))
    lines += [
        ("", "Leave no score cell blank; one comment per entry is optional (column 'comment')."),
        ("", "The category, title and description columns are the contestant's own words, for reference only."),
        ("", "Do not change the anon_id column, the column headers or the sheet names, and do not add or delete "
             "rows: the sheet is read back by a program."),
        ("", "Only the score and comment cells can be typed in: the rest of the sheet is protected so that nothing "
             "else changes by accident (no password is needed to fill it in)."),
        ("", "If you recognise a photo or know who took it, do not score it: leave its scores blank, write "
             "RECUSED in its comment, and tell the jury chair. The photo is then ranked on the other jurors' "
             "scores."),
    ]
    if bands:
        lines += [
            ("", ""),
            ("head", "What the scores mean"),
            ("", "Judge each photo against what a secondary-school student can achieve, and the photo, not the "
                 "camera. The same words appear when you select a score cell."),
        ]
        for criterion in meta.criteria:
            weight = f" (weight {weight_text(weights[criterion])})" if weights and criterion in weights else ""
            lines.append(("sub", criterion_label(criterion) + weight))
            lines += [("", f"    {band.span}:  {band.text}") for band in bands.get(criterion, ())]
    if page:
        lines += [
            ("", ""),
            ("head", "Scoring in a web browser instead"),
            ("", f"The file '{page}' is the same sheet as a web page: open it in a browser (no internet and no "
                 "installation needed; it works from a USB stick), score with the keyboard, then press Export and "
                 f"send the CSV file it saves to {back}{due}. Your work is kept in the browser between visits."),
        ]
    lines += [
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


def _text_width(text: str) -> int:
    """A text's width in the column's character units: a Chinese character is two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _thumbnail(sheet: Worksheet, row: int, picture: Picture) -> None:
    """The entry's thumbnail in its anon_id cell, below the ID, moving with the row (a one-cell anchor)."""
    image = SheetImage(io.BytesIO(picture.data))
    image.width, image.height = picture.width, picture.height
    image.anchor = OneCellAnchor(
        _from=AnchorMarker(col=0, colOff=pixels_to_EMU(THUMB_LEFT_PX), row=row - 1,
                           rowOff=pixels_to_EMU(THUMB_TOP_PX)),
        ext=XDRPositiveSize2D(pixels_to_EMU(picture.width), pixels_to_EMU(picture.height)))
    sheet.add_image(image)


def _protect(sheet: Worksheet) -> None:
    """Protect a sheet without a password: locked cells cannot be typed in, images cannot be moved; the juror may
    still select and copy anything, and widen a column or a row to read a long description."""
    protection = sheet.protection
    protection.sheet = True
    protection.objects = True
    protection.scenarios = True
    protection.formatColumns = False
    protection.formatRows = False


def write_sheet(path: Path, meta: SheetMeta, entries: Sequence[JuryEntry],
                filled: dict[str, tuple[dict[str, Any], str | None]] | None = None, *,
                bands: Mapping[str, Sequence[Band]] | None = None, weights: Mapping[str, float] | None = None,
                photos: Callable[[str], Picture | None] | None = None, page: str | None = None) -> Path:
    """Write one juror's workbook to `path` (to a temporary name, then renamed, so a killed run leaves no half
    file). `entries` in the juror's order. `filled`: anon_id -> (criterion -> score, comment) already returned
    by this juror; a re-issued sheet carries them, so re-sending it never erases a score. `bands`: the rubric
    (criterion -> score bands; default the built-in one for the sheet's scale); `weights`: criterion -> weight
    (default all 1); `photos`: anon_id -> its thumbnail (None: no thumbnails); `page`: the file name of the
    juror's scoring page, when one is written beside the sheet. Returns `path`.
    """
    if bands is None:
        bands = rubric({"score_min": meta.score_min, "score_max": meta.score_max}, meta.criteria)
    weights = dict(weights) if weights is not None else {c: 1.0 for c in meta.criteria}
    book = Workbook()
    book.properties.creator = "milsetctl"
    book.properties.title = f"{meta.contest} — score sheet {meta.juror_id}"

    info = book.active
    info.title = INSTRUCTIONS
    info.column_dimensions["A"].width = 110
    lines = _instructions(meta, len(entries), bands, weights, photos is not None, page)
    for row, (style, text) in enumerate(lines, start=1):
        cell = info.cell(row=row, column=1)
        as_text(cell, text)
        cell.alignment = Alignment(wrap_text=True, vertical="top")
        if style == "title":
            cell.font = Font(bold=True, size=14)
        elif style == "head":
            cell.font = Font(bold=True, size=12)
        elif style == "sub":
            cell.font = Font(bold=True)
        lines_needed = -(-_text_width(text) // INSTRUCTIONS_LINE)
        if lines_needed > 1:  # LibreOffice (and a PDF of the sheet) does not grow a wrapped row by itself
            info.row_dimensions[row].height = LINE_POINTS * lines_needed
    _protect(info)

    scores = book.create_sheet(SCORES)
    headers = ["anon_id", *meta.criteria, "comment", "category", "title", "description"]
    n_crit = len(meta.criteria)
    widths = [PHOTO_COLUMN_WIDTH if photos is not None else 11, *[13] * n_crit, 36, 11, 34, 70]
    bold, fill = Font(bold=True), PatternFill("solid", fgColor="DDEBF7")
    for col, (header, width) in enumerate(zip(headers, widths, strict=True), start=1):
        cell = scores.cell(row=1, column=col, value=header)
        cell.font, cell.fill = bold, fill
        cell.alignment = Alignment(horizontal="center" if 1 < col <= n_crit + 1 else "left", vertical="center")
        scores.column_dimensions[get_column_letter(col)].width = width
    scores.freeze_panes = "B2"  # the header row and the anon_id column (with the photo) stay in view
    top = Alignment(vertical="top")
    wrap = Alignment(vertical="top", wrap_text=True)
    centre = Alignment(horizontal="center", vertical="top")
    filled = filled or {}
    photo_row_pt = (THUMB_TOP_PX + THUMB_PX + THUMB_BOTTOM_PX) / PX_PER_POINT
    for row, entry in enumerate(entries, start=2):
        as_text(scores.cell(row=row, column=1), entry.anon_id)
        scores.cell(row=row, column=1).alignment = top
        picture = photos(entry.anon_id) if photos is not None else None
        if picture is not None:
            _thumbnail(scores, row, picture)
        if photos is not None:  # every row as tall, photo or not: the sheet reads as a grid
            scores.row_dimensions[row].height = photo_row_pt
        given, comment = filled.get(entry.anon_id, ({}, None))
        for offset, criterion in enumerate(meta.criteria, start=2):
            cell = scores.cell(row=row, column=offset)
            value = _as_score(given.get(criterion))
            if isinstance(value, int | float):
                cell.value = int(value) if float(value).is_integer() else value
            elif value is not None:  # typed text that is no number ("abc"): kept as typed, `score` will say so
                as_text(cell, value)
            cell.alignment = centre
            cell.protection = UNLOCKED
        tail = n_crit + 2
        for offset, cell_text in enumerate((comment, entry.category, entry.title, entry.description)):
            cell = scores.cell(row=row, column=tail + offset)
            as_text(cell, cell_text)
            cell.alignment = wrap if offset in (0, 2, 3) else top
        scores.cell(row=row, column=tail).protection = UNLOCKED  # the comment
    last_row = len(entries) + 1
    if entries:
        lo, hi = meta.score_min, meta.score_max
        for col, criterion in enumerate(meta.criteria, start=2):  # one rule per criterion: its own rubric prompt
            letter = get_column_letter(col)
            rule = DataValidation(
                type="whole", operator="between", formula1=str(lo), formula2=str(hi),
                allow_blank=True, showErrorMessage=True, showInputMessage=True, errorStyle="stop",
                errorTitle="Score out of range",
                error=f"Type a whole number from {lo} to {hi}.",
                promptTitle=prompt_title(criterion, lo, hi),
                prompt=prompt_text(bands.get(criterion) or [Band(lo, hi, f"{lo} (weakest) to {hi} (strongest)")]),
            )
            rule.add(f"{letter}2:{letter}{last_row}")
            scores.add_data_validation(rule)
    _protect(scores)
    scores.print_title_rows = "1:1"
    scores.page_setup.orientation = "landscape"
    scores.page_setup.fitToWidth = 1
    scores.sheet_properties.pageSetUpPr.fitToPage = True
    scores.page_setup.fitToHeight = 0
    header = f"{meta.juror} ({meta.juror_id}) — round {meta.round_id}"
    scores.oddHeader.center.text = _cell_text(header + (f" — return by {meta.due}" if meta.due else ""))[:200]

    hidden = book.create_sheet(HIDDEN)
    for row, (key, value) in enumerate(meta.hidden_rows(), start=1):
        hidden.cell(row=row, column=1, value=key)
        if isinstance(value, str):
            as_text(hidden.cell(row=row, column=2), value)
        else:
            hidden.cell(row=row, column=2, value=value)
    hidden.sheet_state = "hidden"
    _protect(hidden)
    book.active = 0  # opens on the instructions: read before scoring
    # no sheet added, renamed, deleted or unhidden (the hidden sheet says whose sheet this is); no password
    book.security = WorkbookProtection(lockStructure=True)

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
