"""The jury round's score sheets: who judges (the juror file), who scores what (the assignment), and one XLSX per
juror that `score` reads back. `make_sheets` is the whole `milsetctl jury sheets` command as a library call."""

from __future__ import annotations

from typing import TYPE_CHECKING

# the assignment is light (the standard library) and imported now: its function `assign` shares its module's name,
# and a lazy attribute would lose to the submodule once anything imported milsetctl.jury.assign
from milsetctl.jury.assign import Assignment, Juror, JuryEntry, assign
from milsetctl.lazy import lazy_exports

# imported on first use: `status` and the region counts read the country table in jury.conflicts, and must not
# import the score sheets' spreadsheet writer (openpyxl, which imports NumPy and Pillow) for it
_NAMES = {"JurorFileError": "jurors", "JurorRow": "jurors", "read_jurors": "jurors", "JuryError": "run",
          "JurySheetsResult": "run", "make_sheets": "run", "SheetMeta": "sheets", "write_sheet": "sheets"}

if TYPE_CHECKING:
    from milsetctl.jury.jurors import JurorFileError, JurorRow, read_jurors
    from milsetctl.jury.run import JuryError, JurySheetsResult, make_sheets
    from milsetctl.jury.sheets import SheetMeta, write_sheet

__all__ = [
    "Assignment", "JuryEntry", "Juror", "assign", "JurorFileError", "JurorRow", "read_jurors", "JuryError",
    "JurySheetsResult", "make_sheets", "SheetMeta", "write_sheet",
]


__getattr__ = lazy_exports(__name__, _NAMES)
