"""MILSET's other half: the member roster and its dues, registration fees and refunds, and the China regions.

- `roster`: import/export the member organisations (CSV/XLSX), history of every change.
- `status`: good standing, overdue (with days) or lapsed after the grace period, on a given day.
- `fees`: registration fee quotes (member's or standard rate) and the call's refund rule, one or a batch.
- `money`: exact decimal amounts rounded half-up to the currency's ISO 4217 minor unit.
- `regions`: the regional rounds and provinces from the settings, entries counted per region.
- `console`: terminal renderers of the results above.
"""

from milsetctl.members.roster import RosterError, export_roster, import_roster, member_rows
from milsetctl.members.status import member_status, standing

__all__ = ["RosterError", "export_roster", "import_roster", "member_rows", "member_status", "standing"]
