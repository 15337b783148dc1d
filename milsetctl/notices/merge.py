"""The mail-merge table: one row per notice (e-mail, name, subject, body, attachments), as XLSX and CSV, for a
secretariat that sends through its own mail program (Outlook, Thunderbird's Mail Merge, WPS) instead of
`notices --send`. Every text cell stays text (sheetcells: a name starting with "=" is never a formula)."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

from milsetctl.fsutil import atomic_path
from milsetctl.notices.model import Notice
from milsetctl.sheetcells import XML_ILLEGAL, formula_like, neutralise

COLUMNS = ("contestant_id", "entry_id", "email", "name", "subject", "body", "attachments", "status", "award")
XLSX = "mail-merge.xlsx"
CSV = "mail-merge.csv"


def rows(notices: list[Notice], bodies: dict[str, tuple[str, str]]) -> list[list[Any]]:
    """One row per notice; `attachments`: the notice PDF and the certificates, full paths separated by "; "."""
    out = []
    for n in notices:
        subject, body = bodies.get(n.key, ("", ""))
        files = ([str(n.file)] if n.file else []) + [str(c.file) for c in n.certificates if c.file and c.file.is_file()]
        out.append([n.contestant_id or "", n.entry_id, n.email, n.name, subject, body, "; ".join(files), n.status,
                    n.award or ""])
    return out


def write_mail_merge(folder: Path, notices: list[Notice], bodies: dict[str, tuple[str, str]]) -> tuple[Path, Path]:
    """mail-merge.xlsx and mail-merge.csv (UTF-8 with BOM, so Excel on Chinese Windows reads the names) in
    `folder`, each whole or not at all. Returns (xlsx, csv)."""
    import openpyxl
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Alignment, Font

    table = rows(notices, bodies)
    wb = openpyxl.Workbook(write_only=True)
    sheet = wb.create_sheet("notices")
    sheet.freeze_panes = "A2"
    for letter, width in zip("ABCDEFGHI", (14, 9, 30, 20, 40, 80, 60, 10, 10), strict=True):
        sheet.column_dimensions[letter].width = width
    head = []
    for name in COLUMNS:
        cell = WriteOnlyCell(sheet, value=name)
        cell.font = Font(bold=True)
        head.append(cell)
    sheet.append(head)
    wrap = Alignment(wrap_text=True, vertical="top")
    for row in table:
        cells = []
        for value in row:
            cell = WriteOnlyCell(sheet, value=XML_ILLEGAL.sub("", value) if isinstance(value, str) else value)
            if isinstance(value, str) and formula_like(value):
                cell.data_type, cell.quotePrefix = "s", True
            cell.alignment = wrap
            cells.append(cell)
        sheet.append(cells)
    xlsx, csv_path = folder / XLSX, folder / CSV
    with atomic_path(xlsx) as tmp:
        wb.save(tmp)
    with atomic_path(csv_path) as tmp, open(tmp, "w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\r\n")
        writer.writerow(COLUMNS)
        for row in table:
            writer.writerow([neutralise(v) for v in row])
    return xlsx, csv_path
