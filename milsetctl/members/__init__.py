"""MILSET's other half: the member roster and its dues, registration fees and refunds, and the China regions.

- `roster`: import/export the member organisations (CSV/XLSX), history of every change.
- `status`: good standing, overdue (with days) or lapsed after the grace period, on a given day.
- `fees`: registration fee quotes (member's or standard rate) and the call's refund rule, one or a batch.
- `money`: exact decimal amounts rounded half-up to the currency's ISO 4217 minor unit.
- `regions`: the regional rounds and provinces from the settings, entries counted per region.
- `console`: terminal renderers of the results above.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from milsetctl.lazy import lazy_exports

# imported on first use: `status` counts entries per region (members.regions) and must not import the roster's
# spreadsheet writer (openpyxl) for it
_NAMES = {"RosterError": "roster", "export_roster": "roster", "import_roster": "roster", "member_rows": "roster",
          "member_status": "status", "standing": "status"}

if TYPE_CHECKING:
    from milsetctl.members.roster import RosterError, export_roster, import_roster, member_rows
    from milsetctl.members.status import member_status, standing

__all__ = ["RosterError", "export_roster", "import_roster", "member_rows", "member_status", "standing"]


__getattr__ = lazy_exports(__name__, _NAMES)
