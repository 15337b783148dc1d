"""`jury final`: the short list the scores cannot separate, on one small sheet per juror to rank (issue 20).

(In scoring/, not jury/: it is drawn from the stored ranking and scores, and jury/ must not import scoring/,
which imports awards/, which imports jury/.)

What is on the list and why is `milsetctl.scoring.final` (the entries within one standard error of the Qualifier
cut, or the global top N and its contenders); this module hands it out: one XLSX per juror in jury/final/, each
entry with its anonymous ID, a thumbnail of the packaged photo, and one column to fill, "your rank". The rows come
in a random order per juror (never the score order: a list in score order asks the juror to confirm it), a juror's
conflicts of interest (same school at the national stage, same country at the global) are marked and locked, and
only the rank and comment cells can be edited (sheet protection without a password). The final is kept in the
ledger (`scoring.final.ISSUED_KEY`) with an audit record, so `score --final` checks each returned sheet against it.
"""

from __future__ import annotations

import io
import json
import random
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from milsetctl.fsutil import atomic_path
from milsetctl.jury.conflicts import conflict
from milsetctl.jury.sheets import as_text, safe_file_name
from milsetctl.ledger import now_iso
from milsetctl.problem_codes import Coded, issues_json
from milsetctl.scoring.final import (
    FINAL_DIR,
    HEADERS,
    HIDDEN,
    INSTRUCTIONS,
    ISSUED_KEY,
    KIND,
    SHEET,
    FinalError,
    FinalGroup,
    FinalIssue,
    FinalJuror,
    shortlist,
    standard_errors,
    stored_ranking,
)
from milsetctl.workspace import Workspace

THUMB_PX = 200  # the thumbnail's long side: enough to tell the photos apart, ~10 KB each
Progress = Callable[[int, int, str], None]


@dataclass
class FinalSheetsResult:
    issue: FinalIssue | None  # None: no entry needs a final
    notes: list[str]
    files: list[str] = field(default_factory=list)  # relative to the workspace
    thumbnails: int = 0
    missing_photos: list[str] = field(default_factory=list)

    @property
    def warnings(self) -> list[str]:
        """What a person has to look at, with its problem code (Coded)."""
        if not self.missing_photos:
            return []
        return [Coded("final-no-thumbnail", f"no packaged photo for {', '.join(self.missing_photos)}: their rows "
                      "have no thumbnail (run `milsetctl anonymise`)")]

    def as_json(self) -> dict[str, Any]:
        issues = issues_json([*self.notes, *self.warnings])  # each note and warning with its code
        if self.issue is None:
            return {"final_id": None, "groups": [], "jurors": [], "notes": self.notes, "issues": issues}
        return {"final_id": self.issue.final_id, "mode": self.issue.mode, "places": self.issue.places,
                "score_run": self.issue.run_id,
                "groups": [{"group": g.group, "cut": g.cut, "first": g.first, "reference_score": g.reference,
                            "se": g.se, "k": g.k, "seats": g.seats,
                            "entries": [{"anon_id": a, "entry_id": g.entry_ids[a], "score": g.scores[a],
                                         "rank": g.score_ranks[a]} for a in g.entries]} for g in self.issue.groups],
                "jurors": [{"juror_id": j.juror_id, "juror": j.name, "file": j.file, "conflicts": j.conflicts}
                           for j in self.issue.jurors],
                "thumbnails": self.thumbnails, "missing_photos": self.missing_photos, "notes": self.notes,
                "issues": issues}


def _scores_matrix(ws: Workspace) -> Any:
    """Each juror's weighted score of each entry, from the stored scores (what the ranking was made of)."""
    from milsetctl.scoring.aggregate import juror_entry_scores
    from milsetctl.scoring.round import _stored_frame

    jury = ws.settings.jury
    criteria = [str(c) for c in jury["criteria"]]
    weights = [float(w) for w in jury.get("weights") or [1] * len(criteria)]
    long, _pairs = _stored_frame(ws.ledger.score_rows(), criteria)
    return juror_entry_scores(long, criteria=criteria, weights=weights)


def _jurors(ws: Workspace, entries: dict[str, Any], groups: list[FinalGroup]) -> list[FinalJuror]:
    """The jurors of the round (the juror file's active jurors; without one, whoever `score` stored scores of),
    each with the short-listed entries they must not rank."""
    stage = ws.settings.stage
    rows = [dict(r) for r in ws.ledger.jurors(active_only=True)]
    if not rows:
        names = sorted({r[0] for r in ws.ledger.score_rows()}, key=str.casefold)
        return [FinalJuror(f"J{i:02d}", n) for i, n in enumerate(names, start=1)]
    out = []
    for r in rows:
        conflicts = []
        for g in groups:
            for a in g.entries:
                e = entries.get(g.entry_ids[a])
                if e is not None and conflict(stage, r.get("school"), r.get("country"), e["school"], e["country"]):
                    conflicts.append(a)
        out.append(FinalJuror(str(r["juror_id"]), str(r["name"]), conflicts))
    return out


def _thumbnail(path: Path) -> bytes | None:
    """A small JPEG of the packaged photo (upright, RGB), or None when it cannot be read."""
    from PIL import Image, ImageOps

    try:
        with Image.open(path) as opened:
            im = ImageOps.exif_transpose(opened)
            im.thumbnail((THUMB_PX, THUMB_PX))
            buf = io.BytesIO()
            im.convert("RGB").save(buf, "JPEG", quality=80)
            return buf.getvalue()
    except Exception:  # noqa: BLE001 - a photo that cannot be read: the row keeps its ID, the juror opens the file
        return None


def _instructions(ws: Workspace, issue: FinalIssue, juror: FinalJuror) -> list[tuple[str, str]]:
    lines = [("title", f"{ws.settings.name} — final ranking"), ("", ""),
             ("", f"Juror: {juror.name} ({juror.juror_id})"), ("", f"Final: {issue.final_id}"), ("", "")]
    why = ("the Qualifier cut" if issue.mode == "cut" else f"the top {issue.places} places")
    lines.append(("head", "Why this sheet"))
    lines.append(("", f"The jury's scores put the photos below too close to {why} to call: they lie within "
                      f"{issue.k:g} standard error of the score on it. Please compare them side by side once more "
                      "and rank them."))
    for g in issue.groups:
        what = (f"ranks {g.first}-{g.first + len(g.entries) - 1} of the category; the Qualifier Award stops at rank "
                f"{g.cut}" if issue.mode == "cut" else f"the best {g.cut} places overall and their contenders")
        lines.append(("", f"    {g.label}: {len(g.entries)} photos ({what})"))
    lines += [("", ""), ("head", "How to rank"),
              ("", f"In the sheet '{SHEET}', write in the column 'your rank' 1 for the photo you find best of its "
                   "group, 2 for the next, and so on: every number once. Two photos you truly cannot separate may "
                   "share a number."),
              ("", "The thumbnail shows which photo is which; look at the full photo in the jury package under the "
                   "same ID (photos/<ID>.jpg or .png)."),
              ("", "A photo marked 'conflict of interest' is not yours to rank: leave it blank. If you recognise a "
                   "photo or know who took it, leave its rank blank and write RECUSED in its comment."),
              ("", "Judge the photos as a whole, on the four criteria of the call (originality, information, "
                   "technique, impact); there is no score to give."),
              ("", "Do not change the anon_id column, the headers or the sheet names, and do not add or delete rows."),
              ("", ""), ("head", "Returning the sheet"),
              ("", "Save the file as .xlsx, keep its name, and send it back to the jury chair.")]
    return lines


def write_final_sheet(path: Path, ws: Workspace, issue: FinalIssue, juror: FinalJuror,
                      thumbs: dict[str, bytes | None]) -> Path:
    """One juror's final sheet (to a temporary name, then renamed)."""
    from openpyxl import Workbook
    from openpyxl.drawing.image import Image as SheetImage
    from openpyxl.styles import Alignment, Font, PatternFill, Protection
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    book = Workbook()
    book.properties.creator = "milsetctl"
    info = book.active
    info.title = INSTRUCTIONS
    info.column_dimensions["A"].width = 72  # fits a portrait page (LibreOffice draws wider than Excel)
    info.page_setup.fitToWidth, info.page_setup.fitToHeight = 1, 0  # printed: the paragraphs one page wide
    info.sheet_properties.pageSetUpPr.fitToPage = True
    for row, (style, text) in enumerate(_instructions(ws, issue, juror), start=1):
        cell = info.cell(row=row, column=1)
        as_text(cell, text)
        cell.alignment = Alignment(wrap_text=True, vertical="top")
        if style:
            cell.font = Font(bold=True, size=14 if style == "title" else 12)
        elif len(text) > 60:  # LibreOffice keeps an openpyxl row one line high: give a long paragraph its lines
            info.row_dimensions[row].height = 15 * (len(text) // 60 + 1)

    sheet = book.create_sheet(SHEET)
    widths = (12, 12, THUMB_PX / 7 + 2, 11, 40)  # HEADERS' order
    bold, fill = Font(bold=True), PatternFill("solid", fgColor="DDEBF7")
    for col, (header, width) in enumerate(zip(HEADERS, widths, strict=True), start=1):
        cell = sheet.cell(row=1, column=col, value=header)
        cell.font, cell.fill = bold, fill
        sheet.column_dimensions[get_column_letter(col)].width = width
    sheet.freeze_panes = "A2"
    grey = PatternFill("solid", fgColor="D9D9D9")
    rng = random.Random(f"{issue.final_id}:{juror.juror_id}")  # the same sheet if written again
    conflicts = set(juror.conflicts)
    row = 2
    top = Alignment(vertical="top", wrap_text=True)
    for g in issue.groups:
        order = list(g.entries)
        rng.shuffle(order)
        first = row
        for anon in order:
            as_text(sheet.cell(row=row, column=1), anon)
            as_text(sheet.cell(row=row, column=2), g.label)
            rank, comment = sheet.cell(row=row, column=4), sheet.cell(row=row, column=5)
            for c in (sheet.cell(row=row, column=1), sheet.cell(row=row, column=2), rank, comment):
                c.alignment = top
            if anon in conflicts:
                as_text(comment, "conflict of interest: not yours to rank")
                rank.fill = grey
            else:
                rank.protection = Protection(locked=False)
            comment.protection = Protection(locked=False)
            data = thumbs.get(anon)
            if data:
                image = SheetImage(io.BytesIO(data))
                image.anchor = f"C{row}"
                sheet.add_image(image)
                sheet.row_dimensions[row].height = image.height * 0.75 + 4
            row += 1
        rule = DataValidation(type="whole", operator="between", formula1="1", formula2=str(len(g.entries)),
                              allow_blank=True, showErrorMessage=True, showInputMessage=True, errorStyle="stop",
                              errorTitle="Rank", error=f"A whole number from 1 to {len(g.entries)}.",
                              promptTitle="Your rank", prompt=f"1 = best of the {len(g.entries)} photos of "
                                                              f"{g.label}; each number once")
        rule.add(f"D{first}:D{row - 1}")
        sheet.add_data_validation(rule)
    sheet.page_setup.orientation = "landscape"  # printed: one page wide, the header row on every page
    sheet.page_setup.fitToWidth, sheet.page_setup.fitToHeight = 1, 0
    sheet.sheet_properties.pageSetUpPr.fitToPage = True
    sheet.print_title_rows = "1:1"
    sheet.protection.sheet = True  # no password: the juror can fill in the rank and comment cells, nothing else
    sheet.protection.formatColumns = False
    sheet.protection.formatRows = False

    hidden = book.create_sheet(HIDDEN)
    for r, (key, value) in enumerate((("kind", KIND), ("final_id", issue.final_id), ("round_id", issue.round_id),
                                      ("juror_id", juror.juror_id), ("juror", juror.name),
                                      ("groups", json.dumps([g.group for g in issue.groups]))), start=1):
        hidden.cell(row=r, column=1, value=key)
        as_text(hidden.cell(row=r, column=2), value)
    hidden.sheet_state = "hidden"
    book.active = 0
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        book.save(tmp)
    return path


def make_final(ws: Workspace, *, places: int | None = None, cut: bool = False, k: float = 1.0,
               out_dir: Path | None = None, progress: Progress | None = None) -> FinalSheetsResult:
    """Draw the short list from the stored ranking, write one final sheet per juror, and keep the final in the
    ledger (with an audit record). Nothing is written when no entry needs a final. Raises FinalError."""
    from milsetctl.anonymise.verify import package_dir

    frame, run_id, method = stored_ranking(ws.ledger)
    matrix = _scores_matrix(ws)
    ses = standard_errors(matrix, float(ws.settings.jury["score_max"]))
    groups, notes = shortlist(frame, ses, stage=ws.settings.stage, places=places, cut=cut,
                              qualifier_fraction=float(ws.settings.awards.get("qualifier_fraction", 0.35)), k=k)
    if not groups:
        return FinalSheetsResult(None, notes)
    entries = {r["entry_id"]: r for r in ws.ledger.entries(present_only=False)}
    jurors = _jurors(ws, entries, groups)
    if not jurors:
        raise FinalError("final-no-jurors",
                         "no jurors known: neither a juror file (`jury sheets --jurors`) nor stored scores name one")
    issue = FinalIssue(final_id="F-" + secrets.token_hex(4).upper(), round_id=ws.ledger.round_id(),
                       stage=ws.settings.stage, mode="cut" if cut else "places", places=places, k=k, run_id=run_id,
                       method=method, made_at=now_iso(), groups=groups, jurors=jurors)
    files = {r["anon_id"]: r["file"] for r in ws.ledger.anon_rows(include_withdrawn=True)}
    root = package_dir(ws)
    thumbs: dict[str, bytes | None] = {}
    missing = []
    for g in groups:
        for a in g.entries:
            path = root / files[a] if files.get(a) else None
            thumbs[a] = _thumbnail(path) if path is not None and path.is_file() else None
            if thumbs[a] is None:
                missing.append(a)
    folder = Path(out_dir) if out_dir is not None else Path(ws.root) / FINAL_DIR
    written = []
    for i, j in enumerate(jurors, start=1):
        path = folder / f"{j.juror_id} {safe_file_name(j.name)} final.xlsx"
        write_final_sheet(path, ws, issue, j, thumbs)
        j.file = _relative(ws, path)
        written.append(j.file)
        if progress:
            progress(i, len(jurors), j.name)
    detail = {"final_id": issue.final_id, "mode": issue.mode, "places": places, "k": k, "score_run": run_id,
              "groups": [{"group": g.group, "cut": g.cut, "first": g.first, "se": g.se,
                          "entries": [g.entry_ids[a] for a in g.entries]} for g in groups],
              "jurors": [j.juror_id for j in jurors], "sheets": len(written)}
    with ws.ledger.db:
        ws.ledger.db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (ISSUED_KEY, json.dumps(issue.as_json(),
                                                                                              ensure_ascii=False)))
        ws.ledger.audit("jury-final-sheets", detail)
    from milsetctl.stages import record

    # a stage of its own: `status` says how far the final has come, and a new `score` run outdates it; its sheets
    # name the jurors, so purge finds them here
    record(ws, "jury-final", {"outputs": [folder], "mode": ["--cut"] if cut else ["--places", str(places)]})
    return FinalSheetsResult(issue, notes, written, sum(1 for v in thumbs.values() if v), missing)


def _relative(ws: Workspace, path: Path) -> str:
    full, root = path.resolve(), Path(ws.root).resolve()
    return full.relative_to(root).as_posix() if full.is_relative_to(root) else str(full)
