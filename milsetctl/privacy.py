"""Minors' personal data: the anonymised export and the purge after the contest (issue 11).

`export_anonymised` writes results and statistics a coordinator may share: no names, e-mails, schools,
contestant IDs, file names, titles or descriptions; entries by their jury anonymous ID.

`purge_personal_data` removes, once the contest is over, every name, e-mail, school, contestant ID, file path,
title and description from the ledger and deletes the caches (photo thumbnails). What stays: entry IDs, anonymous
IDs, category, grade, region, status, findings' rules, decisions (who and when), scores, ranking, awards, the audit
trail (chain intact) and the issued certificates' codes, which `verify` still confirms as genuine, saying the name
was purged. Choices:
- contestant IDs go too: with the names gone, the contestant ID is the one key left that leads back to the child
  in the organiser's other records; nothing after the contest needs it (results are by entry ID, certificates by
  code).
- titles, descriptions and the manifest's extra columns go: a child's free text often holds a name.
- free text elsewhere (decision reasons, finding messages, audit details and command lines, score sheet paths,
  juror comments) keeps its words with each personal value replaced by "[purged]"; audit records so changed keep
  their digest and are listed by the purge's own record with the digest of the text left (issue 17), so `audit
  --verify` still passes and an edit of that text afterwards is found.
- jurors' and member contacts' names and e-mails go as well (adults, but personal data nothing needs any more);
  jurors keep their J01 IDs.
- personal values are collected per column by meaning (names, e-mails, schools, contestant IDs, titles,
  descriptions, contact persons; the old values entry-change audit records keep), never from places or
  organisations (a member certificate prints the organisation as recipient, its country as "school"); a value
  shorter than 3 characters (2 for a Chinese name), a number, a country or province, or a value a place or
  organisation column holds is never searched for in free text (`scrub_worthy`): "China" would eat every country.
- workspace files: the whole workspace (not SOURCE) is scanned, and every file milsetctl wrote elsewhere is found
  from the stage graph's record of outputs (stages.recorded_outputs: an award list exported with --export, a
  nomination zip, a members export, a report written with --report, wherever they went). `cache/` goes whole; a
  file holding a personal value among the working files milsetctl makes again (REMOVED_FOLDERS: reports/,
  members/, jury/package/, and the recorded outputs stages.OutputKind calls `remade`) goes; official outputs the
  secretariat keeps (KEPT_OUTPUTS: certificates, gallery, award exports and nominations, score sheets, fee and
  refund lists, and the recorded outputs of those kinds wherever they are) are listed as kept, for the
  coordinator to delete when no longer needed, and go too with `outputs` (`purge --outputs`: the files, and the
  workspace's own output folders; a folder outside the workspace is never removed whole, it may hold other
  files); any other file holding a personal value is listed by name. SOURCE and the manifest are never written:
  the purge says so, and `validate` refuses to read the names back from SOURCE unless told --after-purge.
- the ledger changes in one transaction (a refusal changes nothing and is one clear message); files go after it
  commits, and an interrupted purge's files are deleted by the next run (its record lists them).
The ledger is compacted (VACUUM, secure_delete) so that deleted text does not linger in free pages or the WAL.
"""

from __future__ import annotations

import hmac
import json
import re
import secrets
import shutil
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Any

from milsetctl.audit import PURGE_ACTION
from milsetctl.certificates.codes import PURGED_NAME, make_code, purged_seal, workspace_secret
from milsetctl.fsutil import atomic_path
from milsetctl.workspace import Workspace

PURGED = "[purged]"
# a finding's message after the purge (after its rule ID): the text read from a photo (a watermark's "© Photo by
# Li Ming"), an EXIF artist or a sidecar value can name a child in any finding, in words no personal column holds
FINDING_NOTE = ": details removed with the personal data"
EXPORT_FORMATS = (".csv", ".xlsx")
# a province with fewer contestants than this is not named in the export: one entrant from a small region, with
# an award, is a child anyone who knows the region's entrants can name (counted by child: three entries of one
# child are still one child)
MIN_REGION = 3
SMALL_REGION = f"(a province with fewer than {MIN_REGION} contestants)"
SMALL_COUNTRY = f"(a country with fewer than {MIN_REGION} contestants)"
# the export's IDs are drawn at random for each export: the jury's anonymous IDs are also the public gallery's page
# names (the page shows the name), and entry-ID order follows the manifest, so either would lead back to the child
EXPORT_ID_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
EXPORT_ID_NOTE = ("export_id is drawn at random for this export: it links to no entry, jury ID or gallery page, and "
                  "another export gives other IDs; rows are ordered by category, rank and status")
RESULT_COLUMNS = ["export_id", "category", "country", "province", "status", "decision", "rules", "score", "rank",
                  "award"]
# per table: the columns that hold personal data and are cleared outright (None) or set to another column's value
# (NOT NULL identity columns); every other text column is scrubbed value by value
CLEARED: dict[str, dict[str, str | None]] = {
    "entries": {"contestant_id": None, "name": None, "school": None, "email": None, "file": None, "title": None,
                "description": None, "extra": None, "key": "entry_id"},
    "jurors": {"name": "juror_id", "key": "juror_id", "email": None, "school": None, "affiliation": None},
    "members": {"contact": None, "email": None},
}
CACHE_TABLES = ("files", "photos", "rule_results")  # stat cache, probe results (EXIF names, GPS), rule findings
# never scrubbed: digests, codes, IDs (a personal value can't be one, and the chain/codes must stay byte-exact)
NOT_SCRUBBED = {"hash", "prev_hash", "body_sha256", "sha256", "code", "entry_id", "anon_id", "juror_id",
                "member_id", "at", "issued_at", "created_at", "first_seen", "updated_at", "assigned_at",
                # places, organisations and the contest's own words: never a person's data
                "key", "organisation", "country", "province", "region", "category", "grade", "status", "award",
                "kind", "stage", "method", "rule", "severity", "decision", "recipient_key", "field"}
# where the workspace keeps what, and what the purge does with a file there that holds a personal value:
# derived working files milsetctl makes again are removed; official outputs the secretariat must keep are listed
REMOVED_FOLDERS = {
    "cache": "thumbnails of the photos (validate makes them again)",
    "reports": "reports naming entrants or jurors (validate --report and report make them again)",
    "members": "member roster exports with contact persons (members export makes them again)",
    "jury/package": "the jury's contact sheet with the entries' titles (anonymise makes it again)",
}
KEPT_OUTPUTS = {
    "certificates": "certificates (PDFs with names, already handed out)",
    "gallery": "the virtual gallery (published names and photos)",
    "awards": "award exports and nomination zips (names)",
    "jury/sheets": "the jurors' score sheets (named after the jurors; the record of the scoring)",
    "fees": "fee quotes and refund lists (contestants' names; the secretariat's accounts)",
}
# the workspace's own files: the ledger is purged in place, the settings and the secret hold nothing personal
NOT_FILES = {"ledger.sqlite", "ledger.sqlite-wal", "ledger.sqlite-shm", "ledger.sqlite-journal", "contest.toml",
             "secret.key", ".milsetctl.lock", ".milsetctl.lock.json"}
TEXT_FILES = {".html", ".htm", ".csv", ".tsv", ".txt", ".json", ".xml", ".md", ".toml", ".xlsx", ".zip", ".pdf"}


class PrivacyError(ValueError):
    """The export or purge cannot run (unknown format, unwritable file, a broken audit trail)."""


# --- the anonymised export --------------------------------------------------------------------------------------
@dataclass
class AnonymisedExport:
    path: Path
    rows: int
    statistics: int
    statistics_path: Path | None = None

    def as_json(self) -> dict[str, Any]:
        return {"file": str(self.path), "rows": self.rows, "statistics_rows": self.statistics,
                "statistics_file": str(self.statistics_path) if self.statistics_path else None}


def anonymised_tables(ws: Workspace) -> tuple[list[list[Any]], list[list[Any]]]:
    """(results, statistics) without personal data.

    results: one row per present entry, RESULT_COLUMNS: export_id (random per export, `_export_ids`), category,
    country and province (spelt one way, named only when MIN_REGION contestants share it: `_places`),
    status, decision (accept/reject/''), rules (the reject/review findings' rule IDs, 'rule (severity)' joined by
    '; '), score, rank, award. Sorted by category, rank, status, then the random ID, so the order says nothing
    about the manifest.
    statistics: [statistic, group, value] rows: entries by category and status, by country/province, reasons,
    awards per category, score mean/min/max per category."""
    ledger = ws.ledger
    entries = ledger.entries()
    ids = _export_ids(len(entries))
    ranking = {r["entry_id"]: r for r in ledger.ranking()}
    awards = {r["entry_id"]: r["award"] for r in ledger.awards()}
    decisions = ledger.latest_decisions()
    findings = ledger.current_findings()
    results: list[list[Any]] = []
    places = _places(ws, entries)
    for e, anon_id in zip(entries, ids, strict=True):
        eid = e["entry_id"]
        rules = sorted({f"{f.rule} ({f.severity})" for f in findings.get(eid, []) if str(f.severity) != "info"})
        rank = ranking.get(eid)
        country, province = places[eid]
        results.append([anon_id, e["category"], country, province, e["status"] or "unchecked",
                        decisions.get(eid, {}).get("decision", ""), "; ".join(rules),
                        None if rank is None or rank["score"] is None else round(float(rank["score"]), 4),
                        None if rank is None else rank["rank"], awards.get(eid) or ""])
    results.sort(key=lambda r: (str(r[1] or "~"), r[8] is None, r[8] or 0, str(r[4]), str(r[0])))
    stats: list[list[Any]] = [["note", "export_id", EXPORT_ID_NOTE], ["entries", "all", len(results)]]
    for (cat, status), n in sorted(Counter((r[1] or "none", r[4]) for r in results).items()):
        stats.append(["entries by category and status", f"{cat} / {status}", n])
    for (country, province), n in sorted(Counter((r[2] or "", r[3] or "") for r in results).items()):
        stats.append(["entries by region", f"{country} / {province}".strip(" /") or "unknown", n])
    reasons = Counter(rule for r in results for rule in (r[6].split("; ") if r[6] else []))
    for rule, n in sorted(reasons.items(), key=lambda kv: (-kv[1], kv[0])):
        stats.append(["entries with finding", rule, n])
    for (cat, award), n in sorted(Counter((r[1] or "none", r[9]) for r in results if r[9]).items()):
        stats.append(["awards", f"{cat} / {award}", n])
    by_cat: dict[str, list[float]] = {}
    for r in results:
        if r[7] is not None:
            by_cat.setdefault(r[1] or "none", []).append(float(r[7]))
    for cat, scores in sorted(by_cat.items()):
        stats.append(["score mean", cat, round(sum(scores) / len(scores), 3)])
        stats.append(["score min", cat, min(scores)])
        stats.append(["score max", cat, max(scores)])
    return results, stats


def _export_ids(n: int) -> list[str]:
    """`n` distinct IDs like 'R7KQ2M' from `secrets` (not the jury's anonymous IDs, not in entry order): a new set
    for every export, so two exports cannot be joined either."""
    ids: set[str] = set()
    while len(ids) < n:
        ids.add("R" + "".join(secrets.choice(EXPORT_ID_ALPHABET) for _ in range(5)))
    out = list(ids)
    secrets.SystemRandom().shuffle(out)
    return out


def _places(ws: Workspace, entries: list[Any]) -> dict[str, tuple[str | None, str | None]]:
    """entry_id -> (country, province) as the export shows them: each spelled one way first ('中国', 'CN', 'china'
    -> 'China' by the jury's pycountry canonicaliser; '广东省', 'Guangdong Sheng' -> 'Guangdong' by
    `canonical_province` with [entrants.province_aliases]), then counted by child (contestant ID, else name, else
    the entry): a country or a (country, province) shared by fewer than MIN_REGION children becomes SMALL_COUNTRY
    / SMALL_REGION (one entrant from a small place, with a score and a rank, is a child anyone who knows the
    place's entrants can name)."""
    from milsetctl.ingest.values import canonical_province
    from milsetctl.jury.conflicts import country_name

    aliases = dict(ws.settings.section("entrants").get("province_aliases") or {})
    named = {e["entry_id"]: (country_name(e["country"]) or None, canonical_province(e["province"], aliases))
             for e in entries}
    child = {e["entry_id"]: ("id", str(e["contestant_id"]).strip().casefold()) if e["contestant_id"] else
             ("name", " ".join(str(e["name"]).split()).casefold()) if e["name"] else ("entry", e["entry_id"])
             for e in entries}
    countries = Counter(c for c, _ in {(c, child[eid]) for eid, (c, _) in named.items() if c})
    provinces = Counter(cp for cp, _ in {((c, p), child[eid]) for eid, (c, p) in named.items() if p})
    shown: dict[str, tuple[str | None, str | None]] = {}
    for eid, (country, province) in named.items():
        shown_country = country if country is None or countries[country] >= MIN_REGION else SMALL_COUNTRY
        shown_province = province if province is None or provinces[(country, province)] >= MIN_REGION \
            else SMALL_REGION
        shown[eid] = (shown_country, shown_province)
    return shown


def _atomic(path: Path, write: Any) -> None:
    """Write through a temporary file in the same folder, then rename (no half-written file under `path`)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(path) as tmp:
            write(tmp)
    except OSError as exc:
        raise PrivacyError(f"{path}: cannot write there: {exc.strerror or exc}") from exc


def _write_csv(path: Path, header: list[str], rows: list[list[Any]]) -> None:
    import csv

    from milsetctl.sheetcells import neutralise

    with open(path, "w", encoding="utf-8-sig", newline="") as fh:  # BOM: Excel on Chinese Windows reads UTF-8
        writer = csv.writer(fh, lineterminator="\r\n")
        writer.writerow(header)
        for row in rows:
            writer.writerow(["" if v is None else neutralise(v) for v in row])


def _write_xlsx(path: Path, sheets: list[tuple[str, list[str], list[list[Any]]]]) -> None:
    import openpyxl
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    from milsetctl.sheetcells import XML_ILLEGAL, formula_like

    wb = openpyxl.Workbook(write_only=True)
    for title, header, rows in sheets:
        sheet = wb.create_sheet(title)
        sheet.freeze_panes = "A2"
        head = []
        for col in header:
            cell = WriteOnlyCell(sheet, value=col)
            cell.font = Font(bold=True)
            head.append(cell)
        sheet.append(head)
        for row in rows:
            values: list[Any] = []
            for value in row:
                if isinstance(value, str):
                    value = XML_ILLEGAL.sub("", value)
                    if formula_like(value):  # a string cell shown as typed, never run as a formula
                        cell = WriteOnlyCell(sheet, value=value)
                        cell.data_type, cell.quotePrefix = "s", True
                        value = cell
                values.append(value)
            sheet.append(values)
    wb.save(path)


def export_anonymised(ws: Workspace, path: Path) -> AnonymisedExport:
    """Write the anonymised results and statistics: FILE.xlsx (sheets results, statistics) or FILE.csv plus
    FILE-statistics.csv beside it. Cells a spreadsheet would run as formulas stay text. Raises PrivacyError for
    another extension (a usage error) or an unwritable folder."""
    suffix = path.suffix.lower()
    if suffix not in EXPORT_FORMATS:
        raise PrivacyError(f"{path.name}: export to .csv or .xlsx (not {suffix or 'no extension'!r})")
    results, stats = anonymised_tables(ws)
    stat_header = ["statistic", "group", "value"]
    path = path.resolve()
    if suffix == ".xlsx":
        _atomic(path, lambda tmp: _write_xlsx(tmp, [("results", RESULT_COLUMNS, results),
                                                   ("statistics", stat_header, stats)]))
        written = AnonymisedExport(path, len(results), len(stats))
    else:
        stat_path = path.with_name(f"{path.stem}-statistics.csv")
        _atomic(path, lambda tmp: _write_csv(tmp, RESULT_COLUMNS, results))
        _atomic(stat_path, lambda tmp: _write_csv(tmp, stat_header, stats))
        written = AnonymisedExport(path, len(results), len(stats), stat_path)
    ws.ledger.audit("export-anonymised", {"file": path.name, "rows": len(results)})
    from milsetctl import stages

    stages.record_outputs(ws, "anonymised-export", [p for p in (path, written.statistics_path) if p is not None])
    return written


# --- the purge --------------------------------------------------------------------------------------------------
@dataclass
class PurgeReport:
    dry_run: bool
    ledger: list[tuple[str, int]] = field(default_factory=list)  # (what, count)
    folders: list[tuple[str, int, int, str]] = field(default_factory=list)  # (folder or file, files, bytes, why)
    kept: list[str] = field(default_factory=list)
    values: int = 0  # distinct personal values found
    vacuumed: bool = False
    ledger_bytes_before: int = 0
    ledger_bytes_after: int = 0
    audit_broken: str | None = None  # the audit trail was broken before this purge (where, why)

    def as_json(self) -> dict[str, Any]:
        return {"dry_run": self.dry_run, "ledger": dict(self.ledger),
                "folders": [{"folder": f, "files": n, "bytes": b, "why": w} for f, n, b, w in self.folders],
                "kept": self.kept, "personal_values": self.values, "audit_broken": self.audit_broken}


_FILE_NAME = re.compile(r"\.(jpe?g|png|tiff?|heic|heif|webp|gif|bmp|dng|xlsx|xls|csv|json|pdf|zip)$", re.IGNORECASE)


def _variants(value: str) -> set[str]:
    """A value as it may sit in the ledger: as typed, JSON-escaped (\\uXXXX), and for a path its name and stem."""
    out = {value, json.dumps(value)[1:-1]}
    if "/" in value or "\\" in value or _FILE_NAME.search(value):  # not "Dr. Li": its "stem" would be "Dr"
        for pure in (PurePosixPath(value), PureWindowsPath(value)):
            out.update({pure.name, pure.stem})
    return {v for v in out if len(v.strip()) >= 2 and not v.strip().isdigit()}


# what each source of personal values holds, by meaning: these are people's data. Organisations, countries,
# provinces and regions are not, even where a certificate printed them as its "recipient" or "school" (a member
# certificate names the organisation and its country)
PERSONAL_ENTRY_FIELDS = ("contestant_id", "name", "school", "email", "file", "title", "description")
PERSONAL_CERTIFICATE_FIELDS = ("name", "school", "title")  # in a contestant's certificate content
MEMBER_KIND = "member"  # certificates issued to member organisations: nothing personal in them
# columns whose values are places or organisations: never a scrub pattern (and never scrubbed: NOT_SCRUBBED)
PLACE_COLUMNS = {"entries": ("country", "province"), "jurors": ("country",),
                 "members": ("organisation", "country", "region", "key")}
MIN_PATTERN = 3  # shorter values never become patterns for free text ("Li", "Wu": they are in ordinary words)


def _is_cjk(text: str) -> bool:
    return bool(text) and all("\u3400" <= ch <= "\u9fff" or "\uf900" <= ch <= "\ufaff" or ch >= "\U00020000"
                              for ch in text)


def _is_place(value: str) -> bool:
    """A country (any spelling pycountry knows, English or Chinese) or a Chinese province."""
    from milsetctl.ingest.values import _place_key, _province_table, _strip_place
    from milsetctl.jury.conflicts import country_key

    code = country_key(value)
    if len(code) == 2 and code.isascii() and code.isupper():
        return True
    table = _province_table()
    return _place_key(value) in table or _place_key(_strip_place(value)) in table


def scrub_worthy(value: str, kept: set[str]) -> bool:
    """Whether `value` may be a pattern that replaces text elsewhere: at least MIN_PATTERN characters (two for a
    name in Chinese characters: most Chinese names are two or three), not a number, not a country or province,
    not a value a place/organisation column holds (`kept`, casefolded). A value failing this is still cleared
    from its own column; it is only not searched for in free text, where it would eat ordinary words."""
    v = value.strip()
    if v.isdigit() or v.casefold() in kept:
        return False
    if len(v) < MIN_PATTERN and not (len(v) == 2 and _is_cjk(v)):
        return False
    return not _is_place(v)


def personal_values(ws: Workspace) -> set[str]:
    """Every personal value the ledger holds, collected per column by meaning: contestants' name, e-mail, school,
    contestant ID, file path and name, title, description, extra manifest values; the old values of names,
    titles and schools a re-validation changed (entry-change audit records); jurors' name, e-mail, school,
    affiliation; member contact persons and their e-mails (now and in the roster's history); the names, schools
    and titles contestants' certificates printed. Only values `scrub_worthy` says may be searched for are
    returned (with their JSON-escaped and file-name variants)."""
    found: set[str] = set()
    rows = ws.ledger.personal_rows(CLEARED)
    for table, columns in CLEARED.items():
        for row in rows.get(table, []):
            for col, target in columns.items():
                value = row[col]
                if value is None or col == "key" or (target is not None and value == row[target]):
                    continue
                if col == "extra":
                    try:
                        extra = json.loads(value)
                    except ValueError:
                        extra = {}
                    found.update(str(v) for v in (extra.values() if isinstance(extra, dict) else []) if v)
                else:
                    found.add(str(value))
    for row in ws.ledger.member_history_personal():
        found.update(str(v) for v in (row["old"], row["new"]) if v)
    for record in ws.ledger.audit_rows(kinds=["entry-change"]):
        try:
            changes = json.loads(record["detail"] or "{}").get("entries", {})
        except (ValueError, AttributeError):
            continue
        for fields in (changes.values() if isinstance(changes, dict) else []):
            for name, pair in (fields.items() if isinstance(fields, dict) else []):
                if name in PERSONAL_ENTRY_FIELDS and isinstance(pair, list):
                    found.update(str(v) for v in pair if v)
    for row in ws.ledger.certificate_rows():
        if row["kind"] == MEMBER_KIND:
            continue
        content = json.loads(row["content"])
        if content.get("purged"):
            continue
        found.add(str(row["recipient"]))
        found.update(str(content[k]) for k in PERSONAL_CERTIFICATE_FIELDS if content.get(k))
    kept = {str(v).strip().casefold() for v in ws.ledger.place_values(PLACE_COLUMNS) if v}
    values: set[str] = set()
    for value in found:
        values |= {v for v in _variants(value.strip()) if scrub_worthy(v, kept)}
    values.discard(PURGED_NAME)
    return values


def _trie_pattern(values: set[str]) -> str:
    """One regular expression matching any of `values`, longest first, as a trie (thousands of names: one pass
    per text instead of one per name)."""
    trie: dict[str, Any] = {}
    for value in values:
        node = trie
        for ch in value:
            node = node.setdefault(ch, {})
        node[""] = {}

    def build(node: dict[str, Any]) -> str:
        ends = "" in node
        branches = [re.escape(ch) + build(child) for ch, child in sorted(node.items()) if ch]
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
        return f"(?:{body})?" if ends else body

    return build(trie)


def personal_pattern(values: set[str]) -> re.Pattern[str] | None:
    """Values beginning/ending with a letter or digit match only as whole words (Li, not the li in 'Lightroom');
    others (CJK names: no spaces between words) anywhere."""
    def word_char(ch: str) -> bool:
        return ch.isascii() and ch.isalnum()

    bounded = {v for v in values if word_char(v[0]) or word_char(v[-1])}
    free = values - bounded
    parts = []
    if bounded:
        parts.append(rf"(?<![A-Za-z0-9])(?:{_trie_pattern(bounded)})(?![A-Za-z0-9])")
    if free:
        parts.append(f"(?:{_trie_pattern(free)})")
    return re.compile("|".join(parts)) if parts else None


def _purged_certificates(ws: Workspace) -> dict[str, str]:
    """code -> the content a purged row keeps (kind, recipient key, entry, award, seal). A code whose recorded
    content no longer matches its HMAC is kept without a seal: it did not verify before and will not after."""
    rows = ws.ledger.certificate_rows()
    if not rows:
        return {}
    secret = workspace_secret(ws)
    kept: dict[str, str] = {}
    for row in rows:
        content = json.loads(row["content"])
        if content.get("purged") or row["kind"] == MEMBER_KIND:  # a member organisation's: nothing personal
            continue
        award, year, issued_on = content.get("award"), content.get("year"), content.get("issued_on")
        genuine = hmac.compare_digest(make_code(secret, content), row["code"])
        small = {"purged": True, "kind": row["kind"], "recipient": row["recipient_key"], "entry_id": row["entry_id"],
                 "award": award}
        small |= {k: v for k, v in (("year", year), ("issued_on", issued_on)) if v is not None}  # signed: kept
        if genuine:
            small["seal"] = purged_seal(secret, row["code"], row["kind"], row["recipient_key"], row["entry_id"],
                                        award, year, issued_on)
        kept[row["code"]] = json.dumps(small, ensure_ascii=False, sort_keys=True)
    return kept


def _folder_size(folder: Path) -> tuple[int, int]:
    files = size = 0
    for path in folder.rglob("*"):
        if path.is_file() and not path.is_symlink():
            files += 1
            size += path.stat().st_size
    return files, size


def _holds_personal(path: Path, pattern: re.Pattern[str] | None) -> bool:
    """Whether a file holds a personal value: its text (HTML, CSV, JSON), for XLSX/ZIP the text of its members
    (an XLSX's cells sit in zipped XML), for a PDF its extracted text. Photos and other binary files: False
    (the purge does not read pictures)."""
    import html
    import zipfile

    if pattern is None or path.suffix.lower() not in TEXT_FILES:
        return False

    def found(blob: bytes) -> bool:
        text = blob.decode("utf-8", "ignore")
        return bool(pattern.search(text) or pattern.search(html.unescape(text)))

    try:
        if path.suffix.lower() == ".pdf":
            from pypdf import PdfReader

            reader = PdfReader(str(path))
            return any(pattern.search(page.extract_text() or "") for page in reader.pages[:200])
        if zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as zf:
                return any(found(zf.read(info)) for info in zf.infolist() if info.file_size < 200_000_000)
        return found(path.read_bytes())
    except Exception:  # noqa: BLE001 - unreadable (a broken PDF or zip): say it holds some, to be safe
        return True


def _folder_of(rel: PurePosixPath, folders: dict[str, str]) -> str | None:
    for folder in sorted(folders, key=len, reverse=True):
        if rel.parts[: len(PurePosixPath(folder).parts)] == PurePosixPath(folder).parts:
            return folder
    return None


@dataclass
class _FilePlan:
    # removed, with why: cache/ whole, derived files holding personal values (and with `outputs` the official ones)
    doomed: list[tuple[Path, str]] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)  # one line per folder or file left, saying why

    def doom(self, path: Path, why: str) -> None:
        if all(path != p for p, _ in self.doomed):
            self.doomed.append((path, why))


def _files(n: int) -> str:
    return f"{n} file{'s' if n != 1 else ''}"


class _Recorded:
    """The stage graph's record of outputs (stages.recorded_outputs) as the purge asks it: which recorded output
    a path is, or lies in. Never a recorded folder that holds the workspace, SOURCE or the manifest (an `--out .`
    is not a licence to empty the workspace), nor a workspace file of NOT_FILES."""

    def __init__(self, ws: Workspace, source: Path | None, manifest: Path | None) -> None:
        from milsetctl import stages

        root = ws.root.resolve()
        self.files: dict[Path, stages.RecordedOutput] = {}
        self.folders: list[tuple[Path, stages.RecordedOutput]] = []
        for rec in stages.recorded_outputs(ws):
            try:
                path = rec.path.resolve()
            except OSError:
                continue
            guarded = [root] + [p for p in (source, manifest) if p is not None]
            if any(g == path or g.is_relative_to(path) for g in guarded) or \
                    (path.parent == root and path.name in NOT_FILES) or \
                    (source is not None and path.is_relative_to(source)):
                continue
            if path.is_dir():
                self.folders.append((path, rec))
            else:
                self.files[path] = rec
        self.folders.sort(key=lambda item: len(item[0].parts), reverse=True)  # the innermost first

    def of(self, path: Path) -> Any:
        """The recorded output `path` is (a file on record) or lies in (a folder on record), or None."""
        path = path.resolve()
        found = self.files.get(path)
        if found is not None:
            return found
        return next((rec for folder, rec in self.folders if path.is_relative_to(folder)), None)


def _plan_files(ws: Workspace, pattern: re.Pattern[str] | None, outputs: bool = False) -> _FilePlan:
    """Decide per file. In the workspace (not SOURCE): cache/ goes whole; a file holding a personal value in a
    REMOVED_FOLDERS folder, or a recorded output milsetctl makes again, goes; KEPT_OUTPUTS folders and recorded
    official outputs are listed as kept whole (with `outputs` they go: a workspace folder whole, a recorded
    output file by file); any other file holding a personal value is listed by name, for the coordinator to
    decide. Outside it, the recorded outputs the same way, except that a folder there is never removed whole.
    Files a purge interrupted before deleting them (listed by an earlier purge record) go too."""
    plan = _FilePlan()
    root = ws.root
    source = Path(ws.settings.source).resolve() if ws.settings.source else None
    manifest = Path(ws.settings.manifest).resolve() if ws.settings.manifest else None
    recorded = _Recorded(ws, source, manifest)
    if (root / "cache").is_dir():
        plan.doom(root / "cache", REMOVED_FOLDERS["cache"])
    unknown: list[str] = []
    kept_counts: Counter[str] = Counter()
    kept_outputs: dict[str, tuple[Any, list[Path]]] = {}  # recorded official outputs: stored path -> files
    for path in sorted(root.rglob("*")):
        rel = PurePosixPath(path.relative_to(root).as_posix())
        if not path.is_file() or path.is_symlink() or rel.parts[0] == "cache" or str(rel) in NOT_FILES:
            continue
        if source is not None and (path.resolve() == source or source in path.resolve().parents):
            continue
        if manifest is not None and path.resolve() == manifest:
            continue
        kept_folder = _folder_of(rel, KEPT_OUTPUTS)
        if kept_folder is not None and kept_folder != "fees":  # known to hold names: listed whole, not read
            kept_counts[kept_folder] += 1
            continue
        rec = recorded.of(path) if kept_folder is None else None  # fees/: read, as it always was
        if rec is not None and not rec.kind.remade:  # an official output written elsewhere: named, not read
            kept_outputs.setdefault(rec.stored, (rec, []))[1].append(path)
            continue
        if not _holds_personal(path, pattern):
            continue
        if kept_folder is not None:
            kept_counts[kept_folder] += 1
            if outputs:
                plan.doom(path, f"{KEPT_OUTPUTS[kept_folder]}; --outputs")
        elif rec is not None:
            plan.doom(path, f"{rec.kind.what}: made by milsetctl, which makes it again")
        elif (folder := _folder_of(rel, REMOVED_FOLDERS)) is not None:
            plan.doom(path, REMOVED_FOLDERS[folder])
        else:
            unknown.append(str(rel))
    for rec in {id(r): r for r in [*recorded.files.values(), *(r for _, r in recorded.folders)]}.values():
        path = rec.path
        if not path.exists() or path.resolve().is_relative_to(root.resolve()):
            continue  # gone, or in the workspace (scanned above)
        if path.is_dir():
            plan.kept.append(f"{path}/: {rec.kind.what}, outside the workspace: milsetctl removes no folder "
                             "there (it may hold other files); delete it by hand when no longer needed")
        elif rec.kind.shared:
            plan.kept.append(f"{path}: {rec.kind.what}, outside the workspace: it holds more than this contest, "
                             "so milsetctl never deletes it (--outputs or not)")
        elif not rec.kind.remade and outputs:
            plan.doom(path, f"{rec.kind.what}; --outputs")
        elif not rec.kind.remade:
            plan.kept.append(f"{path}: {rec.kind.what}, outside the workspace; delete it when no longer needed "
                             "(or purge with --outputs)")
        elif _holds_personal(path, pattern):
            plan.doom(path, f"{rec.kind.what}: made by milsetctl, which makes it again")
    for rel_text in _earlier_deletions(ws):
        path = root / rel_text  # an absolute path (outside the workspace) stays itself
        inside = path.resolve().is_relative_to(root.resolve())
        if path.exists() and (inside or path.resolve() in recorded.files):
            plan.doom(path, "left by a purge stopped half-way")
    for folder, what in KEPT_OUTPUTS.items():
        n = kept_counts[folder]
        if not n:
            continue
        if outputs and folder != "fees":
            plan.doom(root / folder, f"{what}; --outputs")
        elif not outputs:
            plan.kept.append(f"{folder}/: {_files(n)}: {what}; delete when no longer needed (or purge with "
                             "--outputs)")
    for stored, (rec, files) in kept_outputs.items():
        if outputs:
            for path in files:
                plan.doom(path, f"{rec.kind.what}; --outputs")
        else:
            shown = stored + ("/" if rec.path.is_dir() else "")
            plan.kept.append(f"{shown}: {_files(len(files))}: {rec.kind.what}; delete when no longer needed (or "
                             "purge with --outputs)")
    for rel_text in unknown:
        plan.kept.append(f"{rel_text}: holds personal data and is not a file milsetctl makes: delete it by hand "
                         "if it is not needed")
    return plan


def _earlier_deletions(ws: Workspace) -> list[str]:
    """The files and folders earlier purges said they deleted (a purge killed after its ledger transaction and
    before the last file went: the next run finishes the job, the ledger no longer knowing the names)."""
    out: list[str] = []
    for record in ws.ledger.audit_rows(kinds=[PURGE_ACTION]):
        try:
            detail = json.loads(record["detail"] or "{}")
        except ValueError:
            continue
        out += [str(f).rstrip("/") for f in (detail.get("deleted") or []) if isinstance(f, str)]
    return out


def purged_at(ws: Workspace) -> str | None:
    """When the personal data was last purged (the purge record's UTC time), or None if never."""
    rows = ws.ledger.audit_rows(kinds=[PURGE_ACTION])
    return str(rows[-1]["at"]) if rows else None


def purge_personal_data(ws: Workspace, dry_run: bool = False, despite_broken_audit: bool = False,
                        outputs: bool = False) -> PurgeReport:
    """Remove the personal data (see the module docstring for what and why); with `dry_run`, only count it.
    `outputs`: the official outputs that name people go too (certificates, gallery, award lists, nominations,
    score sheets, refund tables), in the workspace and wherever milsetctl recorded writing them.

    The ledger changes in one transaction (all or nothing); the files go after it commits, and a purge stopped
    before the last file went is finished by the next run. Raises PrivacyError when the audit trail is broken (the
    purge rewrites records' text and vouches for them in its own record: it must not vouch for a trail already
    edited) unless `despite_broken_audit` (then its record says where the trail was broken before it ran; a dry
    run always runs and reports the break in `audit_broken`), when the ledger refuses the change (nothing changed
    then) or a file cannot be deleted."""
    import sqlite3

    from milsetctl.audit import verify_chain

    report = PurgeReport(dry_run=dry_run)
    check = verify_chain(ws.ledger)
    broken: dict[str, Any] = {}
    if not check.ok:
        report.audit_broken = f"the audit trail is broken at record {check.broken_id} ({check.problem})"
        broken = {"audit_broken_before_purge": {"record": check.broken_id, "problem": check.problem,
                                                "note": "the purge vouches for no record from this one on"}}
        if not dry_run and not despite_broken_audit:
            raise PrivacyError(f"{report.audit_broken}; the purge would vouch for it. Look at `milsetctl audit "
                               "--verify` first; to purge anyway (its record will say the trail was broken at record "
                               f"{check.broken_id} before it ran): milsetctl purge --personal-data "
                               "--despite-broken-audit")
    values = personal_values(ws)
    report.values = len(values)
    pattern = personal_pattern(values)
    certificates = _purged_certificates(ws)

    def scrub(text: str) -> str:
        return pattern.sub(PURGED, text) if pattern is not None else text

    plan = _plan_files(ws, pattern, outputs)
    for path, why in plan.doomed:
        files, size = _folder_size(path) if path.is_dir() else (1, path.stat().st_size)
        inside = path.resolve().is_relative_to(ws.root.resolve())
        shown = path.relative_to(ws.root).as_posix() if inside and path.is_relative_to(ws.root) else str(path)
        report.folders.append((shown + ("/" if path.is_dir() else ""), files, size, why))
    report.kept = list(plan.kept)
    # the jurors as the score sheets name them become their juror IDs (J01...), not one "[purged]" juror
    jurors = {str(r["name"]).casefold(): r["juror_id"] for r in ws.ledger.jurors()}
    named = ws.ledger.distinct_values("scores", "juror")
    others = iter(range(1, len(named) + 1))
    renamed = {name: jurors.get(name.casefold()) or f"juror-{next(others)}" for name in named
               if not re.fullmatch(r"J\d+|juror-\d+", name)}  # already a pseudonym (a purged ledger)
    pseudonyms = {("scores", "juror"): renamed}
    try:
        counts = ws.ledger.purge_personal_data(
            CLEARED, CACHE_TABLES, NOT_SCRUBBED, scrub, certificates, PURGED_NAME, pseudonyms, dry_run=dry_run,
            detail={"deleted": [f for f, _, _, _ in report.folders],
                    "deleted_files": sum(n for _, n, _, _ in report.folders), **broken},
            finding_note=FINDING_NOTE)
    except sqlite3.Error as exc:
        raise PrivacyError(f"the ledger refused the purge ({exc}); nothing was changed (the purge is one "
                           "transaction). Please report this with `milsetctl purge --personal-data --dry-run` "
                           "output.") from exc
    report.ledger = [(k, v) for k, v in counts.items() if v]
    manifest = ws.settings.manifest
    if manifest and not Path(manifest).resolve().is_relative_to(ws.root.resolve()):  # inside: the file scan
        report.kept.append(f"the corrected manifest {manifest} (outside the workspace: milsetctl never deletes "
                           "there): it holds every contestant's name and personal data; it is yours to delete")
    if ws.settings.source:
        report.kept.append(f"the submissions folder {ws.settings.source} (milsetctl never writes there); once purged, "
                           "`validate` refuses to read the names from it again unless told --after-purge")
    if dry_run:
        return report
    failed = []
    for path, _ in plan.doomed:
        try:
            if path.is_dir():
                shutil.rmtree(path)
            else:
                path.unlink(missing_ok=True)
        except OSError as exc:
            shown = path.relative_to(ws.root).as_posix() if path.is_relative_to(ws.root) else str(path)
            failed.append(f"{shown}: {exc.strerror or exc}")
    report.ledger_bytes_before = ws.ledger.path.stat().st_size
    ws.ledger.compact()
    report.vacuumed = True
    report.ledger_bytes_after = ws.ledger.path.stat().st_size
    if failed:
        raise PrivacyError("the ledger is purged, but these could not be deleted (run the purge again once they "
                           "can be): " + "; ".join(failed))
    return report
