"""Read the juror file: who judges, where they work and study, how to reach them.

The jury chair keeps the jurors in a spreadsheet (CSV in whatever encoding Excel or WPS wrote it, or XLSX),
often with Chinese headers. Every problem names the file, the row and the column as the chair sees them, and
all of them are listed at once, so one round of corrections fixes the file.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from openpyxl.utils import get_column_letter

from milsetctl.ingest.columns import header_key
from milsetctl.ingest.tables import ManifestError, cell_text, locate_header, read_table

JUROR_COLUMNS = ("name", "affiliation", "country", "email", "school")

# header names chairs really use; compared with ingest's header_key (case, width, spaces, "_", "-" ignored)
JUROR_ALIASES: dict[str, list[str]] = {
    "name": ["juror", "juror name", "full name", "jury member", "member", "姓名", "名字", "评委", "评委姓名",
             "专家", "专家姓名"],
    "affiliation": ["organisation", "organization", "institution", "employer", "workplace", "单位", "工作单位",
                    "所在单位", "机构", "工作机构", "单位名称"],
    "country": ["nation", "country/region", "国家", "国家/地区", "国籍"],
    "email": ["e-mail", "mail", "email address", "e-mail address", "邮箱", "电子邮箱", "电子邮件", "邮件",
              "邮箱地址"],
    "school": ["school name", "学校", "学校名称", "所在学校", "任职学校", "任教学校"],
}

# deliberately loose: the point is to catch typing slips (no @, spaces, no domain), not to validate RFC 5322
_EMAIL = re.compile(r"^[^@\s,;<>]+@[^@\s,;<>]+\.[^@\s,;<>.]+$")


class JurorFileError(ValueError):
    """The juror file cannot be used; `problems` holds one line per problem (file, row, column)."""

    def __init__(self, path: Path, problems: list[str]) -> None:
        self.path = path
        self.problems = problems
        super().__init__("\n".join(problems))


@dataclass(frozen=True)
class JurorRow:
    """One juror as the file gives them. `key` is the identity across juror files (see `juror_key`)."""

    key: str
    name: str
    affiliation: str | None
    country: str | None
    email: str | None
    school: str | None
    row: int  # the spreadsheet's row number (header = row 1)

    def as_ledger(self) -> dict[str, Any]:
        """The dict `Ledger.save_jurors` takes."""
        out = asdict(self)
        out.pop("row")
        return out


def norm_email(text: str) -> str:
    """E-mails compare without case, width or surrounding spaces (ＡＢ＠example.cn is ab@example.cn)."""
    return unicodedata.normalize("NFKC", text).strip().casefold()


def norm_name(text: str) -> str:
    """Names compare without case, width or runs of spaces (张　伟 full-width space included)."""
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


def juror_key(name: str, email: str | None) -> str:
    """Identity of a juror across juror files: the normalised e-mail, else the normalised name."""
    return norm_email(email) if email else norm_name(name)


def _alias_map() -> dict[str, str]:
    mapping: dict[str, str] = {}
    for column in JUROR_COLUMNS:
        mapping[header_key(column)] = column
        for alias in JUROR_ALIASES[column]:
            mapping.setdefault(header_key(alias), column)
    return mapping


def _where(path: Path, row: int, index: int, header: str) -> str:
    return f"{path.name} row {row}, column {get_column_letter(index + 1)} ({header})"


def read_jurors(path: Path) -> list[JurorRow]:
    """Every juror in the file, in file order.

    Columns (any order, English or Chinese headers): name (required), affiliation, country, email, school.
    Raises JurorFileError listing every problem: no name column, a missing name, a malformed e-mail, an e-mail
    (or, without e-mails, a name) given twice — naming both rows.
    """
    try:
        table = read_table(path)
    except ManifestError as exc:
        raise JurorFileError(path, [str(exc).replace("manifest", "juror file")]) from exc
    mapping = _alias_map()

    def columns_of(headers: list[str]) -> dict[str, int]:
        found: dict[str, int] = {}
        for index, header in enumerate(headers):
            column = mapping.get(header_key(header))
            if column and column not in found:
                found[column] = index
        return found

    # the header is the first row naming the juror's name and one more column: a title row above it (a merged
    # "2022 ... 评委名单" banner, a blank line) is skipped, as the manifest and roster readers do
    located = locate_header(table, lambda headers: "name" in (found := columns_of(headers)) and len(found) >= 2) \
        or locate_header(table, lambda headers: "name" in columns_of(headers))
    if located is None:
        found = ", ".join(h for h in table.headers if h.strip()) or "none"
        raise JurorFileError(path, [
            f"{path.name} row {table.header_row}: no name column (headers found: {found}); expected name/姓名, "
            "and optionally affiliation/单位, country/国家, email/邮箱, school/学校"
        ])
    table = located
    columns = columns_of(table.headers)

    def cell(cells: list[Any], column: str) -> str:
        index = columns.get(column)
        if index is None or index >= len(cells):
            return ""
        return unicodedata.normalize("NFC", cell_text(cells[index]))

    problems: list[str] = []
    jurors: list[JurorRow] = []
    seen_email: dict[str, int] = {}
    seen_name: dict[str, int] = {}
    for row, cells in table.rows:
        name = " ".join(cell(cells, "name").split())
        email = cell(cells, "email").strip()
        if not name:
            problems.append(f"{_where(path, row, columns['name'], table.headers[columns['name']])}: "
                            "the juror's name is missing")
        if email:
            where = _where(path, row, columns["email"], table.headers[columns["email"]])
            key = norm_email(email)
            if not _EMAIL.match(unicodedata.normalize("NFKC", email).strip()):
                problems.append(f"{where}: {email!r} is not an e-mail address")
            elif key in seen_email:
                problems.append(f"{where}: duplicate e-mail {email}, also on row {seen_email[key]} "
                                f"(rows {seen_email[key]} and {row} would be the same juror)")
            else:
                seen_email[key] = row
        elif name:
            key = norm_name(name)
            if key in seen_name:
                problems.append(f"{_where(path, row, columns['name'], table.headers[columns['name']])}: "
                                f"{name} is also on row {seen_name[key]}, and neither row gives an e-mail to tell "
                                f"them apart (rows {seen_name[key]} and {row})")
            else:
                seen_name[key] = row
        if not name:
            continue
        jurors.append(JurorRow(
            key=juror_key(name, email or None), name=name,
            affiliation=cell(cells, "affiliation") or None, country=cell(cells, "country") or None,
            email=unicodedata.normalize("NFKC", email).strip() or None, school=cell(cells, "school") or None, row=row,
        ))
    if not jurors and not problems:
        problems.append(f"{path.name}: the juror file lists no juror")
    if problems:
        raise JurorFileError(path, problems)
    return jurors


def reconcile_keys(jurors: list[JurorRow], known: list[dict[str, Any]]) -> list[JurorRow]:
    """Keep a juror's identity when the file now gives an e-mail it did not give before.

    `known`: the ledger's juror rows (key, name, email). A juror first listed without an e-mail was keyed by
    name; if the same name now comes with an e-mail no other juror has, they are the same person, not a new one.
    """
    by_key = {k["key"] for k in known}
    name_only = {k["key"] for k in known if not k["email"]}
    taken = {j.key for j in jurors}
    names = [norm_name(j.name) for j in jurors]
    out = []
    for j, name in zip(jurors, names, strict=True):
        if j.email and j.key not in by_key and name in name_only and name not in taken and names.count(name) == 1:
            j = JurorRow(**{**asdict(j), "key": name})
            taken.add(name)
        out.append(j)
    return out
