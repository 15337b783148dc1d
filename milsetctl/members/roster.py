"""The member roster: MILSET's member organisations, read from the secretariat's spreadsheet and written back.

Import reads CSV (any encoding Excel or WPS writes) or XLSX with the submissions manifest's reader
(`milsetctl.ingest.tables`: encodings, title rows above the header, Excel's `sep=` line), English or Chinese
headers, and aliases from contest.toml [members.aliases]. A re-import updates each organisation by its name
(case, width and spaces ignored) and records every value it sets or changes (ledger `member_history` and the audit
trail, action "member-change"); organisations absent from the file are kept. A bad row is named with file, row
and cell and left out; the others are imported. Export writes the SPEC's columns and re-imports without loss.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from openpyxl.utils import get_column_letter

from milsetctl.dates import DateError, Moment, read_column
from milsetctl.ingest.columns import header_key
from milsetctl.ingest.tables import ManifestError, Table, cell_text, locate_header, read_table
from milsetctl.members.config import member_aliases
from milsetctl.members.sheets import unneutralise, write_table
from milsetctl.problem_codes import Coded, issues_json
from milsetctl.settings import Settings
from milsetctl.workspace import Workspace

# SPEC: `members import/export` columns, in this order
COLUMNS = ("organisation", "country", "region", "contact", "email", "member_since", "fee_paid_until")
DATE_COLUMNS = ("member_since", "fee_paid_until")

# header names secretariats use; compared with ingest's header_key (case, width, spaces, "_", "-" ignored)
BUILTIN_ALIASES: dict[str, list[str]] = {
    "organisation": ["organization", "org", "organisation name", "organization name", "member", "member organisation",
                     "member organization", "association", "name", "组织", "机构", "单位", "组织名称", "机构名称",
                     "单位名称", "会员单位", "会员", "成员单位", "会员组织"],
    "country": ["nation", "country/region", "国家", "国家/地区", "国别"],
    "region": ["milset region", "area", "地区", "区域", "大区", "所属地区"],
    "contact": ["contact person", "contact name", "representative", "联系人", "负责人", "联络人"],
    "email": ["e-mail", "mail", "email address", "e-mail address", "contact email", "邮箱", "电子邮箱", "电子邮件",
              "邮件", "邮箱地址"],
    "member_since": ["member since", "joined", "since", "year joined", "membership since", "入会时间", "入会日期",
                     "加入时间", "入会年份", "会员起始"],
    "fee_paid_until": ["fee paid until", "paid until", "paid up to", "dues paid until", "fee paid to",
                       "membership valid until", "valid until", "会费缴至", "会费有效期", "会费缴纳至", "缴费截止",
                       "会费截止日期", "有效期至"],
}

# deliberately loose (as for jurors): catches typing slips, not RFC 5322; a '+' in the local part is fine
_EMAIL = re.compile(r"^[^@\s,;<>]+@[^@\s,;<>]+\.[^@\s,;<>.]+$")
_YEAR = re.compile(r"^(1[89]\d\d|20\d\d)$")


class RosterError(ValueError):
    """The roster file cannot be used as a whole (unreadable, no organisation column); exit 1. `said` is the message
    with its problem code (milsetctl/problem_codes.py), which is what str() gives."""

    def __init__(self, code: str, message: str) -> None:
        self.said = Coded(code, message)
        super().__init__(self.said)


@dataclass
class RosterRow:
    """One organisation as the file gives it: `values` holds only the columns the file has."""

    key: str
    values: dict[str, str | None]
    row: int


@dataclass
class RosterRead:
    rows: list[RosterRow]
    columns: list[str]  # the roster columns the file has
    problems: list[str] = field(default_factory=list)  # one line each: file, row, cell, what is wrong (Coded)
    notes: list[str] = field(default_factory=list)  # Coded


@dataclass
class ImportResult:
    """What an import did. `changed`: (member_id, organisation, {field: (old, new)}) for updated members."""

    source: str
    added: list[tuple[str, str]] = field(default_factory=list)  # (member_id, organisation)
    changed: list[tuple[str, str, dict[str, tuple[str | None, str | None]]]] = field(default_factory=list)
    unchanged: int = 0
    not_in_file: list[tuple[str, str]] = field(default_factory=list)  # kept as they were
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    total: int = 0

    def as_json(self) -> dict[str, Any]:
        return {
            "source": self.source, "members": self.total,
            "added": [{"member_id": m, "organisation": o} for m, o in self.added],
            "changed": [{"member_id": m, "organisation": o, "fields": {f: {"old": a, "new": b}
                                                                        for f, (a, b) in fs.items()}}
                        for m, o, fs in self.changed],
            "unchanged": self.unchanged,
            "not_in_file": [{"member_id": m, "organisation": o} for m, o in self.not_in_file],
            "problems": self.problems,
            "issues": issues_json([*self.notes, *self.problems]),  # notes and problems with their codes
        }


def organisation_key(name: str) -> str:
    """Identity of an organisation across imports: its name without case, width or runs of spaces."""
    return " ".join(unicodedata.normalize("NFKC", name).casefold().split())


def _alias_map(settings: Settings) -> dict[str, str]:
    mapping: dict[str, str] = {}
    for column in COLUMNS:
        mapping[header_key(column)] = column
    for column, names in member_aliases(settings).items():
        for alias in names:
            mapping[header_key(alias)] = column
    for column in COLUMNS:
        for alias in BUILTIN_ALIASES[column]:
            mapping.setdefault(header_key(alias), column)
    return mapping


def _match(headers: list[str], mapping: dict[str, str]) -> dict[int, str]:
    found: dict[int, str] = {}
    for index, header in enumerate(headers):
        column = mapping.get(header_key(header))
        if column and column not in found.values():
            found[index] = column
    return found


def _text(value: Any) -> str:
    if isinstance(value, str):
        return unneutralise(unicodedata.normalize("NFC", value).strip())
    return unicodedata.normalize("NFC", cell_text(value))


def _year_only(value: Any, column: str) -> str | None:
    """`member_since` given as a year alone ('1987', or the number 1987): kept as the year."""
    if column != "member_since" or value is None or isinstance(value, bool | datetime | date):
        return None
    if isinstance(value, float | int):
        return str(int(value)) if float(value).is_integer() and _YEAR.match(str(int(value))) else None
    text = _text(value)
    return text if _YEAR.match(text) else None


def _date_cell(value: Any, column: str) -> Any:
    """A date column's cell as the date reader takes it (text cleaned as every roster cell); None for a year."""
    if value is None or _year_only(value, column):
        return None
    return _text(value) if isinstance(value, str) else value


def read_roster(path: Path, settings: Settings) -> RosterRead:
    """Every organisation in the file, in file order. Raises RosterError when the file cannot be used at all;
    a bad row (no organisation, an e-mail that is not one, a date that is not one, a name given twice) is a
    problem naming file, row and cell, and is left out."""
    try:
        table = read_table(path)
    except ManifestError as exc:
        raise RosterError("table-unreadable", str(exc).replace("manifest", "roster")) from exc
    mapping = _alias_map(settings)

    def accept(headers: list[str]) -> bool:
        found = set(_match(headers, mapping).values())
        return "organisation" in found and len(found) >= 2

    located: Table | None = locate_header(table, accept)
    if located is None:
        seen = ", ".join(repr(h.strip()) for h in table.headers if str(h).strip()) or "(none)"
        raise RosterError("roster-no-header", f"{path.name}: no organisation column in the header row (row "
                          f"{table.header_row}; found: {seen}). Expected organisation/组织, country/国家, region, "
                          "contact/联系人, email/邮箱, member_since/入会时间, fee_paid_until/会费缴至; or add an alias "
                          "under [members.aliases] in contest.toml.")
    table = located
    columns = _match(table.headers, mapping)
    result = RosterRead([], [columns[i] for i in sorted(columns)], notes=[Coded("table-read", n) for n in table.notes])
    unknown = [h.strip() for i, h in enumerate(table.headers) if i not in columns and h.strip()]
    if unknown:
        result.notes.append(Coded("roster-column-ignored", f"{path.name}: column(s) {', '.join(map(repr, unknown))} "
                                  "are not roster columns; not imported"))
    # each date column read as a whole: its own cells settle 11/07/2022 when [dates] order does not (milsetctl.dates)
    dated: dict[str, list[Moment | DateError | None]] = {}
    for index, column in columns.items():
        if column in DATE_COLUMNS:
            cells = [_date_cell(cells[index] if index < len(cells) else None, column) for _, cells in table.rows]
            dated[column] = read_column(cells, settings.tz, settings.dates_order, date1904=table.date1904)[1]
    where_sheet = f" sheet {table.sheet!r}" if table.sheet and table.other_sheets else ""
    seen_keys: dict[str, int] = {}
    for position, (row, cells) in enumerate(table.rows):
        values: dict[str, str | None] = {}
        bad: list[tuple[str, str]] = []  # (problem code, what is wrong where)
        for index, column in columns.items():
            raw = cells[index] if index < len(cells) else None
            where = f"{path.name}{where_sheet} row {row}, cell {get_column_letter(index + 1)}{row} ({column})"
            text = _text(raw) if raw is not None else ""
            if column in DATE_COLUMNS and text:
                read = dated[column][position]
                if isinstance(read, Moment):
                    values[column] = read.in_zone(settings.tz).day.isoformat()
                elif isinstance(read, DateError):
                    code = "roster-date-ambiguous" if read.rule == "date-ambiguous" else "roster-date-unreadable"
                    bad.append((code, f"{where}: {read}"))
                else:
                    values[column] = _year_only(raw, column)
                continue
            if column == "organisation":
                text = " ".join(text.split())
            if column == "email" and text:
                text = unicodedata.normalize("NFKC", text).strip()
                if not _EMAIL.match(text):
                    bad.append(("roster-email", f"{where}: {text!r} is not an e-mail address"))
            values[column] = text or None
        name = values.get("organisation")
        index = next(i for i, c in columns.items() if c == "organisation")
        if not name:
            bad.insert(0, ("roster-name-missing", f"{path.name}{where_sheet} row {row}, cell "
                                                  f"{get_column_letter(index + 1)}{row} (organisation): the "
                                                  "organisation's name is missing"))
        else:
            key = organisation_key(name)
            if key in seen_keys:
                bad.insert(0, ("roster-name-twice", f"{path.name}{where_sheet} row {row}, cell "
                                                    f"{get_column_letter(index + 1)}{row} (organisation): {name} is "
                                                    f"also on row {seen_keys[key]}; this row is left out"))
        if bad:
            result.problems.extend(Coded(code, f"{b}; row left out" if not b.endswith("left out") else b)
                                   for code, b in bad)
            continue
        assert name is not None
        seen_keys[organisation_key(name)] = row
        result.rows.append(RosterRow(organisation_key(name), values, row))
    if not result.rows and not result.problems:
        result.problems.append(Coded("roster-empty", f"{path.name}: the roster lists no organisation"))
    return result


def import_roster(ws: Workspace, path: Path) -> ImportResult:
    """Read `path` and update the ledger's roster by organisation, in one transaction; every member added or
    changed is recorded (member_history, audit "member-change"). Raises RosterError for an unusable file."""
    read = read_roster(path, ws.settings)
    result = ImportResult(source=str(path), problems=read.problems, notes=read.notes)
    current = {r["key"]: dict(r) for r in ws.ledger.members()}
    counter = 1 + max((int(r["member_id"][1:]) for r in current.values() if r["member_id"][1:].isdigit()),
                      default=0)
    rows: list[dict[str, Any]] = []
    history: list[tuple[str, str, str | None, str | None]] = []
    audits: list[dict[str, Any]] = []
    for item in read.rows:
        old = current.get(item.key)
        if old is None:
            member_id = f"M{counter:03d}"
            counter += 1
            new = {"member_id": member_id, "key": item.key, **{c: None for c in COLUMNS}, **item.values}
            rows.append(new)
            history += [(member_id, c, None, new[c]) for c in COLUMNS if new[c] is not None]
            result.added.append((member_id, str(new["organisation"])))
            audits.append({"member_id": member_id, "organisation": new["organisation"], "change": "added",
                           "fields": {c: [None, new[c]] for c in COLUMNS if new[c] is not None},
                           "source": path.name})
            current[item.key] = new
            continue
        # a column the file lacks keeps its value; a blank cell in a column it has clears it
        new = {**old, **item.values}
        changes = {c: (old.get(c), new.get(c)) for c in COLUMNS if old.get(c) != new.get(c)}
        if not changes:
            result.unchanged += 1
            continue
        rows.append(new)
        history += [(old["member_id"], c, a, b) for c, (a, b) in changes.items()]
        result.changed.append((old["member_id"], str(new["organisation"]), changes))
        audits.append({"member_id": old["member_id"], "organisation": new["organisation"], "change": "updated",
                       "fields": {c: [a, b] for c, (a, b) in changes.items()}, "source": path.name})
    in_file = {item.key for item in read.rows}
    result.not_in_file = [(r["member_id"], r["organisation"]) for k, r in sorted(current.items(),
                          key=lambda kv: kv[1]["member_id"]) if k not in in_file]
    if rows:
        ws.ledger.save_members(rows, history, path.name, audits)
    result.total = len(ws.ledger.members())
    from milsetctl import stages

    stages.record(ws, "members", {"roster": str(path.resolve())})
    return result


def member_rows(ws: Workspace) -> list[dict[str, Any]]:
    """The roster as dicts (member_id, organisation, country, region, contact, email, member_since,
    fee_paid_until), in member ID order."""
    return [{"member_id": r["member_id"], **{c: r[c] for c in COLUMNS}} for r in ws.ledger.members()]


def export_roster(ws: Workspace, path: Path) -> tuple[Path, int]:
    """Write the roster to `path` (.csv or .xlsx) in the SPEC's columns; dates as ISO dates (date cells in XLSX).
    Returns (path, rows). Raises SheetError (code 2 for another extension)."""
    def cell(column: str, value: Any) -> Any:
        if column in DATE_COLUMNS and value and re.fullmatch(r"\d{4}-\d{2}-\d{2}", str(value)):
            return date.fromisoformat(str(value))
        return value

    members = member_rows(ws)
    table = [[cell(c, m[c]) for c in COLUMNS] for m in members]
    widths = {"organisation": 40, "country": 16, "region": 14, "contact": 22, "email": 30, "member_since": 14,
              "fee_paid_until": 14}
    written = write_table(path, COLUMNS, table, sheet="members", widths=widths)
    from milsetctl import stages

    stages.record_outputs(ws, "members-export", [written])  # contact persons: purge knows it as milsetctl's
    return written, len(table)


def find_member(ws: Workspace, text: str) -> tuple[dict[str, Any] | None, list[str]]:
    """The roster member `text` names: its member ID (M003), its name (case, width and spaces ignored), or a
    part of the name only one member has. Returns (member or None, candidates): several candidates when the
    part names more than one, close names when it names none."""
    import difflib

    members = member_rows(ws)
    wanted = organisation_key(text)
    for m in members:
        if m["member_id"].casefold() == wanted or organisation_key(m["organisation"]) == wanted:
            return m, []
    partial = [m for m in members if wanted and wanted in organisation_key(m["organisation"])]
    if len(partial) == 1:
        return partial[0], []
    if partial:
        return None, [m["organisation"] for m in partial]
    names = {organisation_key(m["organisation"]): m["organisation"] for m in members}
    return None, [names[k] for k in difflib.get_close_matches(wanted, list(names), n=3, cutoff=0.6)]
