"""Manifest rows and JSON sidecars into entries: the columns found by header (any alias, any language), each
file cell matched to the one file it means, dates read in the contest's day/month order; every unreadable cell
a finding that names it.
"""

from __future__ import annotations

import json
import re
from datetime import date
from pathlib import Path
from typing import Any

from milsetctl.dates import DateError, Moment, read_column
from milsetctl.ingest.columns import BUILTIN_ALIASES, COLUMNS, PERSONAL_COLUMNS, PUBLICATION_COLUMN, match_headers
from milsetctl.ingest.folder import link_problem
from milsetctl.ingest.tables import ManifestError, Table, cell_text, decode_text, locate_header
from milsetctl.ingest.values import nfc, number_id_text, path_candidates
from milsetctl.models import Entry, Finding, Severity
from milsetctl.settings import Settings

# a sidecar holds one entry's fields: a few KB; one far larger is not read into memory
SIDECAR_MAX_BYTES = 1024 * 1024


def _leaves_folder(cell: str) -> bool:
    """A file cell that is an absolute path or climbs out with '..' (as written, or percent-decoded)."""
    text = cell.strip().strip('"').strip("'").strip().replace("\\", "/")
    if text.startswith("/") or re.match(r"^[A-Za-z]:", text) or re.match(r"(?i)^file:", text):
        return True
    return any(".." in c.split("/") for c in [text, *path_candidates(cell)])


class _FileIndex:
    """The folder's files by case-folded path and by case-folded base name, built once per folder scan."""

    def __init__(self, images: dict[str, Path]) -> None:
        self.images = images
        self.size = len(images)
        self.folded: dict[str, list[str]] = {}
        self.bases: dict[str, list[str]] = {}
        for key in images:
            folded = key.casefold()
            self.folded.setdefault(folded, []).append(key)
            self.bases.setdefault(folded.rsplit("/", 1)[-1], []).append(key)


_last_index: _FileIndex | None = None


def _index_of(images: dict[str, Path]) -> _FileIndex:
    global _last_index
    if _last_index is None or _last_index.images is not images or _last_index.size != len(images):
        _last_index = _FileIndex(images)
    return _last_index


def _resolve_file(cell: str, images: dict[str, Path]) -> str:
    """Match a manifest's file cell to the one file it means, or return it as written (normalised) when it
    means none, or more than one.

    Each reading of the cell (as written; percent-decoded; a file:// URL's path: see `path_candidates`) is tried
    exactly, then ignoring case, then as the end of one path (`photos/a.jpg` for `2022/photos/a.jpg`), then by
    its base name; the first reading that names exactly one file wins. Names are compared in NFC, so a macOS
    NFD name matches a typed one.
    """
    candidates = path_candidates(cell)
    if not candidates:
        return ""
    index = _index_of(images)
    for rel in candidates:
        if rel in images:
            return rel
        same = index.folded.get(rel.casefold(), [])
        if len(same) == 1:
            return same[0]
    for rel in candidates:
        tail = "/" + rel.casefold()
        ends = [k for k in index.bases.get(tail.rsplit("/", 1)[-1], []) if ("/" + k.casefold()).endswith(tail)]
        if len(ends) == 1:
            return ends[0]
    for rel in candidates:
        matches = index.bases.get(rel.rsplit("/", 1)[-1].casefold(), [])
        if len(matches) == 1:
            return matches[0]
    return candidates[0]


def _entry_from_fields(
    fields: dict[str, Any], settings: Settings, origin: str, key_fallback: str, images: dict[str, Path],
    where: dict[str, str] | None = None, when: Moment | DateError | None = None,
) -> Entry:
    """Build an Entry from column -> raw value; unreadable cells become findings naming the cell. `when` is the
    submitted_at cell as its column read it (`dates.read_column`): a Moment, or the DateError refusing it."""
    text = {c: cell_text(fields.get(c)) for c in COLUMNS}
    raw_id = fields.get("contestant_id")
    if isinstance(raw_id, float) and raw_id.is_integer():
        text["contestant_id"] = number_id_text(raw_id)  # an 18-digit ID in a number cell lost its last digits
    findings: list[Finding] = []
    file_rel = _resolve_file(text["file"], images) if text["file"] else None
    if file_rel and file_rel not in images and _leaves_folder(text["file"]):
        cell = (where or {}).get("file", "file")
        findings.append(Finding("path-outside", Severity.REJECT,
                                f"{origin}, {cell}: '{text['file'][:200]}' points outside the submissions folder "
                                "(an absolute path or '..') and no file below the folder has its name; nothing "
                                "was read"))
    submitted = None
    if text["submitted_at"]:
        if when is None:
            when = read_column([fields.get("submitted_at")], settings.tz, settings.dates_order)[1][0]
        cell = (where or {}).get("submitted_at", "submitted_at")
        if isinstance(when, Moment):
            submitted = when.at
        elif isinstance(when, DateError) and when.rule == "date-ambiguous":
            findings.append(Finding("date-ambiguous", Severity.REVIEW,
                                    f"{origin}, {cell}: {when}. Until then the entry has no submission time (the "
                                    "deadline is not checked)"))
        elif isinstance(when, DateError):
            findings.append(Finding("unreadable-date", Severity.REVIEW,
                                    f"{origin}, {cell}: cannot check the deadline: {when}"))
    # personal data the contest does not need is never kept (issue 21); the consent column is kept even when blank
    extra = {k: cell_text(v) for k, v in fields.items()
             if k not in COLUMNS and k not in PERSONAL_COLUMNS and (cell_text(v) or k == "guardian_consent")}
    age = _age_from_birth_date(fields.get("birth_date"), submitted, settings)
    if age is not None:
        extra["age"] = str(age)
    if PUBLICATION_COLUMN in fields:  # a blank cell is kept: the column was asked and nothing ticked (publication.py)
        extra[PUBLICATION_COLUMN] = cell_text(fields[PUBLICATION_COLUMN])
    return Entry(
        key=f"file:{file_rel}" if file_rel else key_fallback,
        file=file_rel,
        contestant_id=text["contestant_id"] or None,
        name=nfc(text["name"]) or None,
        school=nfc(text["school"]) or None,
        grade=text["grade"] or None,
        province=nfc(text["province"]) or None,
        country=nfc(text["country"]) or None,
        email=text["email"] or None,
        title=nfc(text["title"]) if text["title"] else None,
        description=nfc(text["description"]) if text["description"] else None,
        submitted_at=submitted,
        submitted_at_raw=text["submitted_at"] or None,
        origin=origin,
        extra=extra,
        ingest_findings=findings,
    )


# an age outside this range is a typo in the birth date (this year's date, a parent's), not a contestant's age
_PLAUSIBLE_AGE = range(3, 31)


def _age_from_birth_date(cell: Any, submitted: Any, settings: Settings) -> int | None:
    """A contestant's age in whole years on the day they submitted (the deadline's day when the row has no
    submission time), from a birth date cell; None when there is none, it cannot be read one way (05/03/2009 with
    no `[dates] order`), or the age is implausible. The birth date itself is never kept, and never quoted in a
    finding: the consent rule falls back on the grade, silently."""
    if cell is None or not cell_text(cell):
        return None
    read = read_column([cell], settings.tz, settings.dates_order)[1][0]
    if not isinstance(read, Moment):
        return None
    born: date = read.day
    day = submitted.astimezone(settings.tz).date() if submitted is not None else settings.deadline.day
    age = day.year - born.year - ((day.month, day.day) < (born.month, born.day))
    return age if age in _PLAUSIBLE_AGE else None


def personal_data_finding(columns: dict[str, str], rows: int, where: str) -> Finding:
    """The one `extra-personal-data` finding of a manifest (or of a folder's sidecars): `columns` maps each personal
    column found to its header as written, `rows` is how many rows held a value in one of them, `where` says what
    holds them ("entries.csv has columns"). Names the columns, never a value."""
    named = ", ".join(f"{header!r} ({PERSONAL_COLUMNS[column][0]})" if header.casefold() != column else
                      f"{header!r}" for column, header in columns.items())
    used = " (the birth date was read only to work out each contestant's age for consent-missing)" \
        if "birth_date" in columns else ""
    return Finding("extra-personal-data", Severity.INFO,
                   f"{where} the contest does not need: {named}, filled in on {rows} row(s). Their values were "
                   f"dropped when read: none is in the workspace{used}. Leave them out of the entry form")


def column_label(column: str, header: str) -> str:
    """A column named as the sheet has it, with the contest's name for it when that differs: `文件 (file)`."""
    header = " ".join(str(header).split())
    return f"{header!r}" if header.casefold() == column.casefold() else f"{header!r} ({column})"


def _col_letter(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def _has_cjk(texts: list[str]) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for t in texts for ch in t)


def _missing_columns_error(table: Table, missing: list[str], found: dict[int, str]) -> ManifestError:
    """Name each missing column in the sheet's own language (编号 for contestant_id in a Chinese sheet), and
    the headers that were there to compare against."""
    chinese = _has_cjk(table.headers)
    names = []
    for column in missing:
        zh = next((a for a in BUILTIN_ALIASES.get(column, []) if _has_cjk([a])), "")
        names.append(f"{zh} ({column})" if chinese and zh else column)
    seen = ", ".join(repr(h.strip()) for h in table.headers if str(h).strip()) or "(none)"
    return ManifestError(
        f"{table.path.name}: no column {' or '.join(names) if len(names) == 1 else ', '.join(names)} in the "
        f"header row (row {table.header_row}; found: {seen}). Rename the column, or add an alias under "
        "[manifest.aliases] in contest.toml."
    )


def entries_from_table(table: Table, settings: Settings, images: dict[str, Path],
                       notes: list[str] | None = None) -> list[Entry]:
    """One Entry per data row. The header is the first row (of the first 30) naming the required columns
    (titles and blank rows above it are skipped); a second header row just below it, in another language, is
    skipped too. Day/month order of the dates is decided for the whole column (`dates.read_column`). What a
    coordinator should know about the reading (header row, encoding) is appended to `notes`."""
    aliases = settings.section("manifest").get("aliases") or {}
    required = list(settings.section("manifest").get("required_columns") or [])

    def accept(headers: list[str]) -> bool:
        found = set(match_headers(headers, aliases).values())
        return len(found) >= min(2, max(1, len(required))) and all(c in found for c in required)

    located = locate_header(table, accept)
    if located is None:
        # no row has every required column: report against the row that comes closest
        best = max(table.lines[:30], key=lambda line: len(match_headers([cell_text(c) for c in line[1]], aliases)))
        if match_headers([cell_text(c) for c in best[1]], aliases):
            index = table.lines.index(best)
            located = Table(table.path, [cell_text(c) for c in best[1]], table.lines[index + 1:], table.encoding,
                            best[0], table.lines, table.notes, date1904=table.date1904)
        else:
            located = table
    table = located
    if notes is not None:
        notes.extend(n for n in table.notes if n not in notes)
    columns = match_headers(table.headers, aliases)
    missing = [c for c in required if c not in columns.values()]
    if missing:
        raise _missing_columns_error(table, missing, columns)
    rows = list(table.rows)
    # a bilingual sheet: the header again, in English, on the row below
    while rows and len(columns) >= 2:
        again = match_headers([cell_text(c) for c in rows[0][1]], aliases)
        if sum(1 for i, c in again.items() if columns.get(i) == c) < 2:
            break
        if notes is not None:
            notes.append(f"{table.path.name}: row {rows[0][0]} repeats the header; skipped")
        rows.pop(0)
    date_index = next((i for i, c in columns.items() if c == "submitted_at"), None)
    date_cells = [cells[date_index] if date_index is not None and date_index < len(cells) else None
                  for _, cells in rows]
    dates = read_column([cell_text(c) if isinstance(c, str) else c for c in date_cells], settings.tz,
                        settings.dates_order, date1904=table.date1904)[1]
    entries = []
    # each cell's name, 'column 'file', cell H', made once per column (not per row of 100,000)
    labels = {index: f"column {column_label(column, table.headers[index])}, cell {_col_letter(index)}"
              for index, column in columns.items()}
    for (row_number, cells), when in zip(rows, dates, strict=True):
        fields: dict[str, Any] = {}
        where: dict[str, str] = {}
        for index, column in columns.items():
            fields[column] = cells[index] if index < len(cells) else None
            where[column] = f"{labels[index]}{row_number}"
        for index, header in enumerate(table.headers):
            if index not in columns and header.strip() and index < len(cells):
                # setdefault: a second "file" column must not overwrite the first, recognised one
                fields.setdefault(header.strip(), cells[index])
        origin = f"{table.path.name} row {row_number}"
        entries.append(_entry_from_fields(fields, settings, origin, f"row:{row_number}", images, where, when))
    personal = {column: table.headers[index].strip() for index, column in columns.items()
                if column in PERSONAL_COLUMNS}
    if personal and entries:  # once per manifest, on its first row's entry (milsetctl/rules/field.py says why)
        indexes = [i for i, c in columns.items() if c in PERSONAL_COLUMNS]
        filled = sum(1 for _, cells in rows if any(i < len(cells) and cell_text(cells[i]) for i in indexes))
        entries[0].ingest_findings.append(personal_data_finding(personal, filled, f"{table.path.name} has columns"))
    return entries


def _sidecar_for(path: Path) -> Path | None:
    for candidate in (path.with_suffix(".json"), path.with_name(path.name + ".json")):
        if candidate.is_file():
            return candidate
    return None


def entries_from_sidecars(source: Path, images: dict[str, Path], settings: Settings) -> list[Entry]:
    aliases = settings.section("manifest").get("aliases") or {}
    top = source.resolve()
    sidecars = {rel: s for rel, s in ((rel, _sidecar_for(path)) for rel, path in images.items())
                if s is not None and link_problem(s, top) is None}  # a sidecar linked from elsewhere is not read
    slots: list[Entry | tuple[str, str, dict[str, Any]]] = []  # in folder order, broken sidecars in place
    personal_keys: dict[str, dict[str, str]] = {}  # photo -> personal column -> its key as the sidecar writes it
    for rel, sidecar in sidecars.items():
        name = sidecar.relative_to(source).as_posix()
        try:
            if sidecar.stat().st_size > SIDECAR_MAX_BYTES:
                raise ValueError(f"{sidecar.stat().st_size >> 20} MB is far more than an entry's fields; not read")
            raw = sidecar.read_bytes()
            data = json.loads(decode_text(raw, sidecar)[0].lstrip("\ufeff"))
            if not isinstance(data, dict):
                raise ValueError("the file holds no JSON object")
        except (ValueError, ManifestError, OSError, RecursionError) as exc:  # RecursionError: "[[[[..." nested
            why = "nested too deeply" if isinstance(exc, RecursionError) else (
                f"cannot read it: {exc.strerror or exc}" if isinstance(exc, OSError) else str(exc))
            entry = Entry(key=f"file:{rel}", file=rel, origin=name)
            entry.ingest_findings.append(
                Finding("sidecar-invalid", Severity.REJECT, f"{name}: sidecar is not valid JSON: {why}")
            )
            slots.append(entry)
            continue
        columns = match_headers(list(data.keys()), aliases)
        fields = {columns[i]: v for i, v in enumerate(data.values()) if i in columns}
        keys = {columns[i]: str(k).strip() for i, k in enumerate(data) if columns.get(i) in PERSONAL_COLUMNS}
        if keys:
            personal_keys[rel] = keys
        for i, (key, value) in enumerate(data.items()):
            if i not in columns:
                fields.setdefault(key, value)  # "Title" recognised first is not overwritten by "title"
        fields["file"] = rel  # a sidecar belongs to the photo beside it
        slots.append((rel, name, fields))
    # the sidecars' dates are one column: their day/month order is decided together
    cells = [s[2].get("submitted_at") for s in slots if isinstance(s, tuple)]
    read = iter(read_column([c if isinstance(c, str | int | float) and not isinstance(c, bool) else None
                             for c in cells], settings.tz, settings.dates_order)[1])
    entries = [s if isinstance(s, Entry) else _entry_from_fields(s[2], settings, s[1], f"file:{s[0]}", images,
                                                                 when=next(read)) for s in slots]
    # the personal keys of every sidecar, named once, on the first entry whose sidecar had one
    personal: dict[str, str] = {}
    holders: list[Entry] = []
    for slot, entry in zip(slots, entries, strict=True):
        if isinstance(slot, tuple) and slot[0] in personal_keys:
            for column, key in personal_keys[slot[0]].items():
                personal.setdefault(column, key)
            if any(cell_text(slot[2].get(c)) for c in personal_keys[slot[0]]):
                holders.append(entry)
    if personal:
        first = holders[0] if holders else next(e for e in entries if e.file in personal_keys)
        first.ingest_findings.append(personal_data_finding(personal, len(holders), "the JSON sidecars have keys"))
    return entries
