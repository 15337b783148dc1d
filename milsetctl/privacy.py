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
  their digest and are listed by the purge's own record, so `audit --verify` still passes.
- jurors' and member contacts' names and e-mails go as well (adults, but personal data nothing needs any more);
  jurors keep their J01 IDs.
- workspace files: `cache/` (thumbnails of the photos, certificate thumbnails) and every file in `reports/` holding
  a personal value (the validation reports: names and thumbnails) are deleted; deliverables already handed out
  (certificates, gallery, award exports, nomination zips, score sheets named after jurors) are listed as kept, for
  the coordinator to delete when no longer needed. SOURCE is never written: the purge says so.
The ledger is compacted (VACUUM, secure_delete) so that deleted text does not linger in free pages or the WAL.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import shutil
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Any

from milsetctl.workspace import Workspace

PURGED = "[purged]"
PURGED_NAME = "(name purged)"
EXPORT_FORMATS = (".csv", ".xlsx")
# a province with fewer entries than this is not named in the export: one entrant from a small region, with an
# award, is a child anyone who knows the region's entrants can name
MIN_REGION = 3
SMALL_REGION = f"(a province with fewer than {MIN_REGION} entries)"
RESULT_COLUMNS = ["anon_id", "category", "country", "province", "status", "decision", "rules", "score", "rank",
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
                "member_id", "at", "issued_at", "created_at", "first_seen", "updated_at", "assigned_at"}
KEPT_OUTPUTS = {
    "certificates": "certificates (PDFs with names, already handed out)",
    "gallery": "the virtual gallery (published names and photos)",
    "awards": "award exports and nomination zips (names)",
    "jury/sheets": "score sheets (named after the jurors)",
}


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

    results: one row per present entry, RESULT_COLUMNS: anon_id (the jury's anonymous ID, or X0001... for entries
    that never went to the jury), category, country, province (named only when MIN_REGION entries share it),
    status, decision (accept/reject/''), rules (the reject/review findings' rule IDs, 'rule (severity)' joined by
    '; '), score, rank, award. Sorted by category, rank, anon_id, so the order says nothing about the manifest.
    statistics: [statistic, group, value] rows: entries by category and status, by country/province, reasons,
    awards per category, score mean/min/max per category."""
    ledger = ws.ledger
    entries = ledger.entries()
    anon = {r["entry_id"]: r["anon_id"] for r in ledger.anon_rows(include_withdrawn=True)}
    ranking = {r["entry_id"]: r for r in ledger.ranking()}
    awards = {r["entry_id"]: r["award"] for r in ledger.awards()}
    decisions = ledger.latest_decisions()
    findings = ledger.current_findings()
    results: list[list[Any]] = []
    counter = 0
    small_regions = Counter((e["country"], e["province"]) for e in entries if e["province"])
    for e in entries:
        eid = e["entry_id"]
        anon_id = anon.get(eid)
        if anon_id is None:
            counter += 1
            anon_id = f"X{counter:04d}"
        rules = sorted({f"{f.rule} ({f.severity})" for f in findings.get(eid, []) if str(f.severity) != "info"})
        rank = ranking.get(eid)
        province = e["province"] if small_regions[(e["country"], e["province"])] >= MIN_REGION else SMALL_REGION
        results.append([anon_id, e["category"], e["country"], province, e["status"] or "unchecked",
                        decisions.get(eid, {}).get("decision", ""), "; ".join(rules),
                        None if rank is None or rank["score"] is None else round(float(rank["score"]), 4),
                        None if rank is None else rank["rank"], awards.get(eid) or ""])
    results.sort(key=lambda r: (str(r[1] or "~"), r[8] is None, r[8] or 0, str(r[0])))
    stats: list[list[Any]] = [["entries", "all", len(results)]]
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


def _atomic(path: Path, write: Any) -> None:
    """Write through a temporary file in the same folder, then rename (no half-written file under `path`)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=path.suffix, dir=path.parent)
        os.close(fd)
    except OSError as exc:
        raise PrivacyError(f"{path}: cannot write there: {exc.strerror or exc}") from exc
    try:
        write(Path(tmp))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


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

    from milsetctl.report.tables import _XML_ILLEGAL
    from milsetctl.sheetcells import formula_like

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
                    value = _XML_ILLEGAL.sub("", value)
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
    return written


# --- the purge --------------------------------------------------------------------------------------------------
@dataclass
class PurgeReport:
    dry_run: bool
    ledger: list[tuple[str, int]] = field(default_factory=list)  # (what, count)
    folders: list[tuple[str, int, int]] = field(default_factory=list)  # (folder, files, bytes)
    kept: list[str] = field(default_factory=list)
    values: int = 0  # distinct personal values found
    vacuumed: bool = False
    ledger_bytes_before: int = 0
    ledger_bytes_after: int = 0

    def as_json(self) -> dict[str, Any]:
        return {"dry_run": self.dry_run, "ledger": dict(self.ledger),
                "folders": [{"folder": f, "files": n, "bytes": b} for f, n, b in self.folders],
                "kept": self.kept, "personal_values": self.values}


_FILE_NAME = re.compile(r"\.(jpe?g|png|tiff?|heic|heif|webp|gif|bmp|dng|xlsx|xls|csv|json|pdf|zip)$", re.IGNORECASE)


def _variants(value: str) -> set[str]:
    """A value as it may sit in the ledger: as typed, JSON-escaped (\\uXXXX), and for a path its name and stem."""
    out = {value, json.dumps(value)[1:-1]}
    if "/" in value or "\\" in value or _FILE_NAME.search(value):  # not "Dr. Li": its "stem" would be "Dr"
        for pure in (PurePosixPath(value), PureWindowsPath(value)):
            out.update({pure.name, pure.stem})
    return {v for v in out if len(v.strip()) >= 2 and not v.strip().isdigit()}


def personal_values(ws: Workspace) -> set[str]:
    """Every personal value the ledger holds: contestants' name, e-mail, school, contestant ID, file path and name,
    title, description, extra manifest values; jurors' name, e-mail, school, affiliation; member contacts; issued
    certificates' recipient names, schools and titles."""
    found: set[str] = set()
    rows = ws.ledger.personal_rows(CLEARED)
    for table, columns in CLEARED.items():
        for row in rows.get(table, []):
            for col, target in columns.items():
                value = row[col]
                if value is None or (target is not None and value == row[target]):
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
    for row in ws.ledger.certificate_rows():
        found.add(str(row["recipient"]))
        content = json.loads(row["content"])
        found.update(str(content[k]) for k in ("name", "school", "title") if content.get(k))
    values: set[str] = set()
    for value in found:
        values |= _variants(value.strip())
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


def purged_seal(secret: bytes, code: str, kind: str, recipient_key: str, entry_id: str | None,
                award: str | None) -> str:
    """HMAC-SHA256 (hex) under the workspace secret of what a purged certificate row keeps: a row edited after the
    purge (another kind, entry or award) no longer verifies, and nobody without the secret can add one."""
    msg = json.dumps({"purged": True, "code": code, "kind": kind, "recipient": recipient_key, "entry_id": entry_id,
                      "award": award}, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode("utf-8")
    return hmac.new(secret, msg, hashlib.sha256).hexdigest()


def purged_certificate_genuine(secret: bytes, code: str, row: Any) -> bool:
    """Whether a certificate row the purge stripped of its name is still the one issued (its seal matches)."""
    content = json.loads(row["content"])
    seal = purged_seal(secret, code, row["kind"], row["recipient_key"], row["entry_id"], content.get("award"))
    return bool(content.get("purged")) and hmac.compare_digest(seal, str(content.get("seal", "")))


def _purged_certificates(ws: Workspace) -> dict[str, str]:
    """code -> the content a purged row keeps (kind, recipient key, entry, award, seal). A code whose recorded
    content no longer matches its HMAC is kept without a seal: it did not verify before and will not after."""
    from milsetctl.certificates import make_code, workspace_secret

    rows = ws.ledger.certificate_rows()
    if not rows:
        return {}
    secret = workspace_secret(ws)
    kept: dict[str, str] = {}
    for row in rows:
        content = json.loads(row["content"])
        if content.get("purged"):
            continue
        award = content.get("award")
        genuine = hmac.compare_digest(make_code(secret, content), row["code"])
        small = {"purged": True, "kind": row["kind"], "recipient": row["recipient_key"], "entry_id": row["entry_id"],
                 "award": award}
        if genuine:
            small["seal"] = purged_seal(secret, row["code"], row["kind"], row["recipient_key"], row["entry_id"],
                                        award)
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
    """Whether a report file holds a personal value: its text (HTML, CSV, JSON), or for XLSX/ZIP the text of its
    members (an XLSX's cells sit in zipped XML)."""
    import html
    import zipfile

    if pattern is None:
        return False

    def found(blob: bytes) -> bool:
        text = blob.decode("utf-8", "ignore")
        return bool(pattern.search(text) or pattern.search(html.unescape(text)))

    try:
        if zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as zf:
                return any(found(zf.read(info)) for info in zf.infolist() if info.file_size < 200_000_000)
        return found(path.read_bytes())
    except (OSError, zipfile.BadZipFile, RuntimeError):  # unreadable: say it holds some, to be safe
        return True


def _doomed_files(ws: Workspace, pattern: re.Pattern[str] | None) -> list[Path]:
    """Workspace folders/files the purge deletes: cache/ (thumbnails) and every file in reports/ that holds a
    personal value (the validation reports; the contest report and anonymised exports hold none and stay)."""
    doomed: list[Path] = []
    if (ws.root / "cache").is_dir():
        doomed.append(ws.root / "cache")
    reports = ws.root / "reports"
    if reports.is_dir():
        doomed += sorted(p for p in reports.rglob("*") if p.is_file() and _holds_personal(p, pattern))
    return doomed


def purge_personal_data(ws: Workspace, dry_run: bool = False) -> PurgeReport:
    """Remove the personal data (see the module docstring for what and why); with `dry_run`, only count it.

    Raises PrivacyError when the audit trail is broken (the purge rewrites records' text and vouches for them in
    its own record: it must not vouch for a trail already edited)."""
    from milsetctl.audit import verify_chain

    report = PurgeReport(dry_run=dry_run)
    check = verify_chain(ws.ledger)
    if not check.ok:
        raise PrivacyError(f"the audit trail is broken at record {check.broken_id} ({check.problem}); the purge "
                           "would vouch for it. Look at `milsetctl audit --verify` first.")
    values = personal_values(ws)
    report.values = len(values)
    pattern = personal_pattern(values)
    certificates = _purged_certificates(ws)

    def scrub(text: str) -> str:
        return pattern.sub(PURGED, text) if pattern is not None else text

    for path in _doomed_files(ws, pattern):
        files, size = _folder_size(path) if path.is_dir() else (1, path.stat().st_size)
        report.folders.append((str(path.relative_to(ws.root)) + ("/" if path.is_dir() else ""), files, size))
    # the jurors as the score sheets name them become their juror IDs (J01...), not one "[purged]" juror
    jurors = {str(r["name"]).casefold(): r["juror_id"] for r in ws.ledger.jurors()}
    named = ws.ledger.distinct_values("scores", "juror")
    others = iter(range(1, len(named) + 1))
    renamed = {name: jurors.get(name.casefold()) or f"juror-{next(others)}" for name in named
               if not re.fullmatch(r"J\d+|juror-\d+", name)}  # already a pseudonym (a purged ledger)
    pseudonyms = {("scores", "juror"): renamed}
    counts = ws.ledger.purge_personal_data(
        CLEARED, CACHE_TABLES, NOT_SCRUBBED, scrub, certificates, PURGED_NAME, pseudonyms, dry_run=dry_run,
        detail={"deleted": [f for f, _, _ in report.folders], "deleted_files": sum(n for _, n, _ in report.folders)})
    report.ledger = [(k, v) for k, v in counts.items() if v]
    for rel, what in KEPT_OUTPUTS.items():
        folder = ws.root / rel
        if folder.is_dir():
            files, _ = _folder_size(folder)
            if files:
                report.kept.append(f"{rel}/: {files} files: {what}; delete them when no longer needed")
    if ws.settings.source:
        report.kept.append(f"the submissions folder {ws.settings.source} (milsetctl never writes there; a later "
                           "`validate` would read the names from it again)")
    if dry_run:
        return report
    for path in _doomed_files(ws, pattern):
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink(missing_ok=True)
    report.ledger_bytes_before = ws.ledger.path.stat().st_size
    ws.ledger.compact()
    report.vacuumed = True
    report.ledger_bytes_after = ws.ledger.path.stat().st_size
    return report
