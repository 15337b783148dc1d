"""The jury round's score sheets: who judges (the juror file), who scores what (the assignment), and one XLSX per
juror that `score` reads back. `make_sheets` is the whole `milsetctl jury sheets` command as a library call."""

from __future__ import annotations

from milsetctl.jury.assign import Assignment, Juror, JuryEntry, assign
from milsetctl.jury.jurors import JurorFileError, JurorRow, read_jurors
from milsetctl.jury.run import JuryError, JurySheetsResult, make_sheets
from milsetctl.jury.sheets import SheetMeta, write_sheet

__all__ = [
    "Assignment", "JuryEntry", "Juror", "assign", "JurorFileError", "JurorRow", "read_jurors", "JuryError",
    "JurySheetsResult", "make_sheets", "SheetMeta", "write_sheet",
]
