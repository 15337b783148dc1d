"""`awards --export FILE.xlsx|csv`: the award list with every juror's score and comment beside each entry.

One row per ranked entry: rank, category, award, score, entry_id, anon_id, contestant_id, name, school, title,
then per juror `<juror> score` (the juror's weighted criterion score on the sheet's scale, as the agreement
statistics use it: `milsetctl.scoring.aggregate.juror_entry_scores`) and `<juror> comment`. Jurors are shown as
J1, J2... in a stable order (the ledger's juror order for jurors it knows, then the others by name), or by name
with `names=True`: a table sent round the national committee need not say who gave whom a 3.

Text a spreadsheet would run as a formula stays text (SPEC "Never"): in XLSX the cell is written as a string
with Excel's quote prefix (the value itself is unchanged), in CSV it gets a leading apostrophe, the form Excel
and WPS show as text. Files go to a temporary name in the same folder, then are renamed.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from milsetctl.fsutil import atomic_path
from milsetctl.problem_codes import Coded
from milsetctl.sheetcells import XML_ILLEGAL, formula_like, neutralise
from milsetctl.workspace import Workspace

BASE_COLUMNS = ["rank", "category", "award", "score", "entry_id", "anon_id", "contestant_id", "name", "school",
                "title"]
FORMATS = (".xlsx", ".csv")


class ExportError(ValueError):
    """The export cannot be written (unknown format, unwritable folder). `said` is the message with its problem
    code (awards-export-format, awards-export-unwritable), which is what str() gives."""

    def __init__(self, code: str, message: str) -> None:
        self.said = Coded(code, message)
        super().__init__(self.said)


def export_format(path: Path) -> str:
    """'.xlsx' or '.csv' from the file name; ExportError for anything else (a usage error)."""
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise ExportError("awards-export-format",
                          f"{path.name}: export to .xlsx or .csv (not {suffix or 'no extension'!r})")
    return suffix


def juror_order(score_jurors: Sequence[str], ledger_jurors: Sequence[str]) -> list[str]:
    """Jurors as the sheets name them, in a stable order: those the juror file gave (its J01, J02... order,
    matched by name ignoring case), then the others by name. The same scores always give the same J numbers."""
    present = {j.casefold(): j for j in score_jurors}
    ordered: list[str] = []
    for name in ledger_jurors:
        found = present.pop(name.casefold(), None)
        if found is not None:
            ordered.append(found)
    return ordered + sorted(present.values(), key=lambda j: (j.casefold(), j))


def export_rows(ws: Workspace, rows: Sequence[Any], names: bool = False) -> tuple[list[str], list[list[Any]]]:
    """Header and rows of the export (plain values, not yet spreadsheet-safe).

    `rows`: the award rows (objects with the BASE_COLUMNS attributes), in the order wanted.
    """
    import numpy as np
    import pandas as pd

    from milsetctl.scoring.aggregate import juror_entry_scores

    jury = ws.settings.jury
    criteria = list(jury["criteria"])
    stored = ws.ledger.score_rows()
    comments = {(r[0], r[1]): r[3] for r in stored if r[3]}
    # one JSON array parsed at once: 150,000 stored rows in a fraction of a second, not one loads() per row
    parsed = json.loads("[" + ",".join(r[2] or "{}" for r in stored) + "]")
    wide = pd.DataFrame.from_records(parsed, columns=criteria) if stored else pd.DataFrame(columns=criteria)
    wide = wide.apply(pd.to_numeric, errors="coerce")
    wide.insert(0, "juror", [r[0] for r in stored])
    wide.insert(1, "anon_id", [r[1] for r in stored])
    frame = wide.melt(id_vars=["juror", "anon_id"], value_vars=criteria, var_name="criterion",
                      value_name="score").dropna(subset=["score"])
    matrix = (juror_entry_scores(frame, criteria=criteria, weights=jury.get("weights"))
              if len(frame) else pd.DataFrame())
    jurors = juror_order(sorted({r[0] for r in stored}), [r["name"] for r in ws.ledger.jurors()])
    labels = jurors if names else [f"J{i}" for i in range(1, len(jurors) + 1)]
    header = list(BASE_COLUMNS)
    for label in labels:
        header += [f"{label} score", f"{label} comment"]
    anon_ids = [r.anon_id for r in rows]
    values = (matrix.reindex(index=anon_ids, columns=jurors).round(2).to_numpy(dtype=float)
              if len(matrix) else np.full((len(rows), len(jurors)), np.nan))
    out: list[list[Any]] = []
    for i, r in enumerate(rows):
        line: list[Any] = [r.rank, r.category, r.award, round(r.score, 2) if r.score is not None else None,
                           r.entry_id, r.anon_id, r.contestant_id, r.name, r.school, r.title]
        for j, juror in enumerate(jurors):
            value = values[i, j]
            line += [None if value != value else float(value), comments.get((juror, r.anon_id))]
        out.append(line)
    return header, out


def _write_xlsx(path: Path, header: list[str], rows: list[list[Any]]) -> None:
    import openpyxl
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font, PatternFill
    from openpyxl.utils import get_column_letter

    wb = openpyxl.Workbook(write_only=True)
    sheet = wb.create_sheet("awards")
    sheet.freeze_panes = "A2"
    sheet.auto_filter.ref = f"A1:{get_column_letter(len(header))}{len(rows) + 1}"
    widths = {"rank": 6, "category": 10, "award": 10, "score": 8, "entry_id": 10, "anon_id": 10,
              "contestant_id": 14, "name": 20, "school": 28, "title": 36}
    for i, col in enumerate(header, start=1):
        widths_for = widths.get(col, 30 if col.endswith("comment") else 10)
        sheet.column_dimensions[get_column_letter(i)].width = widths_for
    bold, fill = Font(bold=True, color="FFFFFF"), PatternFill("solid", fgColor="1F3A5F")
    head = []
    for col in header:
        cell = WriteOnlyCell(sheet, value=XML_ILLEGAL.sub("", col))  # a juror named "=x()" heads a column
        if formula_like(col):
            cell.data_type, cell.quotePrefix = "s", True
        cell.font, cell.fill = bold, fill
        head.append(cell)
    sheet.append(head)
    award_fill = PatternFill("solid", fgColor="DCFCE7")
    for row in rows:
        values: list[Any] = []
        for i, value in enumerate(row):
            if isinstance(value, str):
                value = XML_ILLEGAL.sub("", value)
                if formula_like(value):  # a string cell, shown as typed: never run as a formula
                    cell = WriteOnlyCell(sheet, value=value)
                    cell.data_type = "s"
                    cell.quotePrefix = True
                    value = cell
                elif i == 2 and value:
                    cell = WriteOnlyCell(sheet, value=value)
                    cell.fill = award_fill
                    value = cell
            values.append(value)
        sheet.append(values)
    wb.save(path)


def _write_csv(path: Path, header: list[str], rows: list[list[Any]]) -> None:
    """UTF-8 with BOM: Excel on Chinese Windows otherwise reads the names as GBK mojibake."""
    import csv

    with open(path, "w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\r\n")
        writer.writerow([neutralise(h) for h in header])  # juror names head columns
        for row in rows:
            writer.writerow(["" if v is None else neutralise(v) for v in row])


def export_awards(ws: Workspace, rows: Sequence[Any], path: Path, names: bool = False) -> Path:
    """Write the award list with the jurors' scores and comments to `path` (.xlsx or .csv); returns the path.

    Raises ExportError for another extension or a folder that cannot be written.
    """
    suffix = export_format(path)
    header, table = export_rows(ws, rows, names)
    path = path.resolve()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(path) as tmp:
            (_write_xlsx if suffix == ".xlsx" else _write_csv)(tmp, header, table)
    except OSError as exc:
        raise ExportError("awards-export-unwritable", f"{path}: cannot write there: {exc.strerror or exc}") from exc
    from milsetctl import stages

    stages.record(ws, "award-list", {"export": str(path), "outputs": [str(path)],
                                     "entries": sorted({str(_field(r, "entry_id")) for r in rows})})
    return path


def _field(row: Any, name: str) -> Any:
    return row[name] if isinstance(row, dict) else getattr(row, name)
