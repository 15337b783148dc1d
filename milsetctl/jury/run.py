"""`jury sheets` as a library call: read the juror file, assign, record, write one XLSX per juror.

Order of work, so that a run killed half-way is completed by the next: the jurors, then the assignments are
stored (one transaction each), then the sheets are written (each to a temporary name, then renamed). A re-run
with the same juror file reproduces the same assignment (entries already on a sheet stay where they are).
"""

from __future__ import annotations

import json
import os
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from milsetctl.anonymise.blind import BlindView
from milsetctl.fsutil import copy_atomic
from milsetctl.jury.assign import Assignment, Juror, JuryEntry, assign
from milsetctl.jury.jurors import norm_name, read_jurors, reconcile_keys
from milsetctl.jury.page import csv_name, page_name, write_page
from milsetctl.jury.sheets import SheetMeta, TypedSheet, read_typed, sheet_file_name, write_sheet
from milsetctl.jury.sheets_photos import PackagePhotos
from milsetctl.jury.sheets_rubric import rubric, weights
from milsetctl.ledger import now_iso
from milsetctl.workspace import Workspace

SHEETS_DIR = Path("jury") / "sheets"
WITHDRAWN_DIR = "withdrawn"
PREVIOUS_DIR = "previous"  # copies of sheets re-issued over a file that held typed scores
_SHEET_STEM = re.compile(r"^(J\d+) ")


class JuryError(RuntimeError):
    """The round cannot make sheets yet (no anonymous IDs, a bad quorum)."""


@dataclass
class SheetRow:
    juror_id: str
    juror: str
    entries: int
    conflicts: int
    added: int
    removed: int
    scored: int
    file: str  # relative to the workspace
    page: str | None = None  # the juror's scoring page (`--html`), relative to the workspace


@dataclass
class JurySheetsResult:
    round_id: str
    stage: str
    quorum: int  # 0 = every juror scores every entry they have no conflict with
    seed: int
    min_jurors: int
    sheets: list[SheetRow]
    withdrawn: list[dict[str, str]]  # {"juror_id", "juror", "reason", "file"} sheets moved to jury/sheets/withdrawn/
    short: list[dict[str, Any]]  # {"anon_id", "jurors", "quorum"}
    conflicts: dict[str, int]  # reason ("same school") -> pairs withheld
    warnings: list[str]
    notes: list[str] = field(default_factory=list)
    sheets_dir: str = str(SHEETS_DIR)
    assignment: Assignment | None = field(default=None, repr=False)

    def as_json(self) -> dict[str, Any]:
        return {
            "round_id": self.round_id, "stage": self.stage, "quorum": self.quorum, "seed": self.seed,
            "sheets_dir": self.sheets_dir,
            "sheets": [{"juror_id": s.juror_id, "juror": s.juror, "entries": s.entries, "conflicts": s.conflicts,
                        "added": s.added, "removed": s.removed, "scored": s.scored, "file": s.file,
                        "page": s.page}
                       for s in self.sheets],
            "withdrawn": self.withdrawn, "short": self.short, "conflicts": self.conflicts,
            "warnings": self.warnings, "notes": self.notes,
        }


def jury_entries(ws: Workspace) -> tuple[list[JuryEntry], list[str]]:
    """The entries in the blind package (anonymous IDs not withdrawn) joined to their ledger rows.

    Returns (entries, notes). Raises JuryError when `anonymise` has not run yet.
    """
    anon = ws.ledger.anon_rows()
    if not anon:
        raise JuryError("no anonymous IDs yet: run `milsetctl anonymise` first (the sheets name entries only by "
                        "their anonymous IDs)")
    rows = {r["entry_id"]: r for r in ws.ledger.entries()}
    view = BlindView.of_ledger(ws.ledger)  # titles as the contact sheet shows them, redacted (issue 15)
    entries, notes = [], []
    for a in anon:
        row = rows.get(a["entry_id"])
        if row is None or row["status"] != "eligible":
            notes.append(f"{a['anon_id']}: its entry is no longer eligible; run `milsetctl anonymise` again to "
                         "withdraw it from the package (left off the sheets)")
            continue
        blind = view.of(a["anon_id"], row["category"], row["title"], row["description"])
        entries.append(JuryEntry(anon_id=a["anon_id"], category=row["category"], title=blind.title,
                                 description=blind.description, school=row["school"], country=row["country"]))
    if not entries:
        raise JuryError("no eligible entry has an anonymous ID: run `milsetctl anonymise` first")
    return entries, notes


def scored_pairs(ws: Workspace, jurors: list[Any]) -> tuple[set[tuple[str, str]],
                                                            dict[tuple[str, str], tuple[dict[str, Any], str | None]],
                                                            list[str]]:
    """Pairs (juror_id, anon_id) with scores in the ledger, their scores, and notes.

    Scores name the juror as the sheet does (its hidden `juror` value: the name) or as a long CSV's `juror`
    column does; a sheet file named `<juror_id> ...` settles two jurors of one name. Scores by a name no juror
    file ever listed still count towards an entry's quorum, under that name.
    """
    by_id = {j["juror_id"]: j for j in jurors}
    by_name: dict[str, list[str]] = {}
    for j in jurors:
        by_name.setdefault(norm_name(j["name"]), []).append(j["juror_id"])
    pairs: set[tuple[str, str]] = set()
    values: dict[tuple[str, str], tuple[dict[str, Any], str | None]] = {}
    unknown: set[str] = set()
    for juror, anon_id, scores, comment, sheet, _row in ws.ledger.score_rows():
        juror_id = None
        if juror in by_id:
            juror_id = juror
        else:
            match = _SHEET_STEM.match(Path(sheet or "").name)
            candidates = by_name.get(norm_name(juror), [])
            if match and match.group(1) in candidates:
                juror_id = match.group(1)
            elif len(candidates) >= 1:
                juror_id = candidates[0]
        if juror_id is None:
            unknown.add(juror)
            juror_id = f"?{juror}"
        pairs.add((juror_id, anon_id))
        try:
            parsed = json.loads(scores) if scores else {}
        except (TypeError, ValueError):
            parsed = {}
        values[(juror_id, anon_id)] = (parsed if isinstance(parsed, dict) else {}, comment)
    notes = [f"scores by {name!r} match no juror in any juror file; they count towards their entries' quorum"
             for name in sorted(unknown)]
    return pairs, values, notes


def round_seed(ws: Workspace, seed: int | None) -> int:
    """The seed given, else the round's own (random, drawn on first use and kept in the ledger)."""
    if seed is not None:
        return seed
    stored = ws.ledger.meta_value("jury_seed")
    if stored is None:
        ws.ledger.set_meta("jury_seed", str(secrets.randbelow(1_000_000)))
        stored = ws.ledger.meta_value("jury_seed")
    return int(stored or 0)


def make_sheets(ws: Workspace, jurors_file: Path, quorum: int | None = None, seed: int | None = None,
                progress: Callable[[int, int, str], None] | None = None, html: bool = False) -> JurySheetsResult:
    """Assign the round's entries to the jurors of `jurors_file` and write each active juror's sheet.

    quorum: jurors per entry (None = settings `jury.quorum`; 0 = every juror scores every entry they may).
    html: also write each juror's offline scoring page beside the sheet (jury/page.py); a page already there is
    written again in any case, so it never shows other entries than the sheet beside it.
    progress: called as (sheets done, sheets in all, juror name) while the sheets are written (about a second per
    5,000 rows).
    Raises JurorFileError (every problem of the juror file; nothing stored), JuryError (no anonymous IDs,
    negative quorum).
    """
    from milsetctl import stages
    from milsetctl.models import StageError

    try:
        stages.require(ws, "jury-sheets")
    except StageError as exc:
        raise JuryError(str(exc)) from None
    settings = ws.settings
    jury = settings.jury
    if quorum is None:
        quorum = int(jury.get("quorum") or 0)
    if quorum < 0:
        raise JuryError(f"the quorum must be 0 (every juror scores every entry) or a positive number, not {quorum}")
    people = read_jurors(jurors_file)
    entries, notes = jury_entries(ws)
    people = reconcile_keys(people, [dict(r) for r in ws.ledger.jurors()])
    seed = round_seed(ws, seed)
    stage = settings.stage
    round_id = ws.ledger.round_id()

    all_jurors = ws.ledger.save_jurors([p.as_ledger() for p in people])
    active = [r for r in all_jurors if r["active"]]
    existing = [(r["juror_id"], r["anon_id"], int(r["position"]), bool(r["active"]))
                for r in ws.ledger.assignments(active_only=False)]
    pairs, values, score_notes = scored_pairs(ws, all_jurors)
    notes += score_notes
    result = assign(entries, [Juror(r["juror_id"], r["name"], r["school"], r["country"]) for r in active],
                    quorum, stage, existing, pairs, seed)
    ws.ledger.save_assignments(result.positions())

    root = ws.root
    folder = root / SHEETS_DIR
    folder.mkdir(parents=True, exist_ok=True)
    by_anon = {e.anon_id: e for e in entries}
    criteria = [str(c) for c in jury.get("criteria", [])]
    bands, weighting = rubric(jury, criteria), weights(jury)
    photos = PackagePhotos.of_workspace(ws)  # thumbnails in the sheets, screen-size copies on the pages
    stamp = now_iso()
    rows: list[SheetRow] = []
    current: set[str] = set()
    kept = 0
    writes: list[_SheetJob] = []
    for juror in active:
        jid = juror["juror_id"]
        ids = result.sheets[jid]
        name = sheet_file_name(jid, juror["name"])
        current.add(name)
        meta = SheetMeta(contest=settings.name, round_id=round_id, juror_id=jid, juror=juror["name"], stage=stage,
                         criteria=criteria, score_min=int(jury.get("score_min", 1)),
                         score_max=int(jury.get("score_max", 10)), generated_at=stamp,
                         due=str(jury.get("sheets_due") or ""), return_to=str(jury.get("sheets_return_to") or ""))
        filled = {a: values[(jid, a)] for a in ids if (jid, a) in values}
        path = folder / name
        page_path = folder / page_name(name)
        page = page_path.name if html or page_path.exists() else None
        typed = read_typed(path, criteria) if path.exists() else None
        if (typed is not None and typed.round_id == round_id and typed.juror_id == jid and typed.anon_ids == ids
                and all(set(given) <= set(typed.values.get(a, ({}, None))[0]) for a, (given, _c) in filled.items())
                and typed.shows([by_anon[a] for a in ids])):
            kept += 1  # same entries in the same order: the juror's file stays as it is, with what they typed
        else:
            if path.exists():
                filled = _carry_typed(path, typed, filled, ids, jid, folder, stamp, notes)
            writes.append(_SheetJob(path, meta, [by_anon[a] for a in ids], dict(filled), bands, weighting,
                                    photos if photos.files else None, page, None))
        if page is not None:
            writes.append(_SheetJob(page_path, meta, [by_anon[a] for a in ids], dict(filled), bands, weighting,
                                    photos if photos.files else None, None, csv_name(name)))
        rows.append(SheetRow(
            juror_id=jid, juror=juror["name"], entries=len(ids), conflicts=len(result.conflicts.get(jid, {})),
            added=sum(1 for j, _a in result.added if j == jid), removed=sum(1 for j, _a in result.removed if j == jid),
            scored=len(filled), file=(SHEETS_DIR / name).as_posix(),
            page=(SHEETS_DIR / page).as_posix() if page is not None else None,
        ))
    _write_all(writes, photos, progress)
    names = {r["juror_id"]: r["name"] for r in all_jurors}
    withdrawn = _move_stale_sheets(folder, current, names, {r["juror_id"] for r in active})
    for w in withdrawn:
        typed = read_typed(root / w["file"], criteria)
        if typed is not None and typed.typed:
            notes.append(f"{w['file']} holds {typed.typed} typed entries: to count them, score that file "
                         "(`milsetctl score` reads only the files you name)")
    if kept:
        notes.append(f"{kept} sheet(s) unchanged: left as they are, with whatever the jurors typed")

    conflicts: dict[str, int] = {}
    for per_juror in result.conflicts.values():
        for why in per_juror.values():
            conflicts[why] = conflicts.get(why, 0) + 1
    short = [{"anon_id": a, "jurors": has, "quorum": want} for a, (has, want) in sorted(result.short.items())]
    warnings = _warnings(result, len(active), int(jury.get("min_jurors", 10)), short, rows, withdrawn)
    ws.ledger.audit("jury-sheets", {
        "jurors_file": str(jurors_file), "round_id": round_id, "quorum": result.quorum, "seed": seed,
        "jurors": len(active), "entries": len(entries), "pairs": sum(r.entries for r in rows),
        "added": len(result.added), "removed": len(result.removed), "retired": len(result.retired),
        "withdrawn_sheets": [w["file"] for w in withdrawn], "short": [s["anon_id"] for s in short],
        "pages": sum(1 for r in rows if r.page),
    })
    stages.record(ws, "jury-sheets", {"jurors_file": str(jurors_file), "outputs": [str(folder)]})
    return JurySheetsResult(round_id=round_id, stage=stage, quorum=result.quorum, seed=seed,
                            min_jurors=int(jury.get("min_jurors", 10)), sheets=rows, withdrawn=withdrawn,
                            short=short, conflicts=conflicts, warnings=warnings, notes=notes, assignment=result)


@dataclass
class _SheetJob:
    """One file `jury sheets` writes: a juror's XLSX (`export_name` None) or their scoring page (`export_name` the
    CSV name its Export saves). Pickled to a worker process: plain data, the photos as their PackagePhotos."""

    path: Path
    meta: SheetMeta
    entries: list[JuryEntry]
    filled: dict[str, tuple[dict[str, Any], str | None]]
    bands: Any
    weights: Any
    photos: PackagePhotos | None
    page: str | None
    export_name: str | None

    @property
    def rows(self) -> int:
        return len(self.entries)


# a worker costs ~1 s of start-up: below this many rows in all, the files are written in this process
PARALLEL_ROWS = 2000


def _write_job(job: _SheetJob) -> str:
    """Write one sheet or page (in a worker); returns the juror's name for the progress bar."""
    if job.export_name is None:
        write_sheet(job.path, job.meta, job.entries, job.filled, bands=job.bands, weights=job.weights,
                    photos=job.photos.thumbnail if job.photos is not None else None, page=job.page)
    else:
        write_page(job.path, job.meta, job.entries, job.filled, bands=job.bands, weights=job.weights,
                   photos=job.photos.screen if job.photos is not None else None, export_name=job.export_name)
    return job.meta.juror


def _warm_photos(batch: tuple[PackagePhotos, list[tuple[str, bool]]]) -> int:
    """Make the disk-cached thumbnails (False) or screen-size copies (True) of these entries (in a worker)."""
    photos, keys = batch
    for anon_id, screen in keys:
        if screen:
            photos.screen(anon_id)
        else:
            photos.thumbnail(anon_id)
    return len(keys)


def _write_all(jobs: list[_SheetJob], photos: PackagePhotos, progress: Callable[[int, int, str], None] | None
               ) -> None:
    """Write every juror's files, on every core when there are enough rows to pay for the workers (issue 18: ten
    sheets of 2,000 pictured rows took 95 s of one core). Each file is written whole under a temporary name, so
    a run killed half-way leaves each sheet either old or new."""
    from milsetctl.workers import chunks, run_all, worker_count

    rows = sum(j.rows for j in jobs)
    count = worker_count(len(jobs)) if rows >= PARALLEL_ROWS else 1
    if progress is not None:
        progress(0, len(jobs), "")
    if count > 1 and photos.cache is not None:  # every sheet shows the same photos: shrink each once, on every
        # core, into the disk cache first (False: the sheet's thumbnail, True: the page's screen-size copy)
        keys = sorted({(e.anon_id, job.export_name is not None) for job in jobs if job.photos is not None
                       for e in job.entries})
        batches = [(photos, batch) for batch in chunks(keys, max(1, len(keys) // (count * 8)))]
        for _ in run_all(_warm_photos, batches, count):
            pass
    for done, juror in enumerate(run_all(_write_job, jobs, count, in_flight=1), 1):
        if progress is not None:
            progress(done, len(jobs), juror)


def _carry_typed(path: Path, typed: TypedSheet | None, filled: dict[str, tuple[dict[str, Any], str | None]],
                 ids: list[str], juror_id: str, folder: Path, stamp: str, notes: list[str]
                 ) -> dict[str, tuple[dict[str, Any], str | None]]:
    """A sheet is about to be re-issued over a file that may hold scores the juror typed but `score` has not read
    yet. Keep a copy of the old file in `previous/`, and carry every typed value of an entry still on the sheet
    into the new one (what the juror typed wins over what the ledger holds: it is their latest word)."""
    if typed is None or typed.typed:
        backup_dir = folder / PREVIOUS_DIR
        backup_dir.mkdir(exist_ok=True)
        backup = backup_dir / f"{path.stem} {stamp.replace(':', '-')}{path.suffix}"
        copy_atomic(path, backup)  # whole or absent, even if the run is killed while copying
        where = (SHEETS_DIR / PREVIOUS_DIR / backup.name).as_posix()
        if typed is None:
            notes.append(f"{path.name} could not be read back; the old file is kept as {where}")
            return filled
        notes.append(f"{path.name}: {typed.typed} typed entries carried into the re-issued sheet; the old file is "
                     f"kept as {where}")
    merged = dict(filled)
    for anon_id, (given, comment) in typed.values.items():
        if anon_id in ids:
            before, old_comment = merged.get(anon_id, ({}, None))
            merged[anon_id] = ({**before, **given}, comment or old_comment)
    lost = sorted(a for a in typed.values if a not in ids)
    if lost:
        notes.append(f"{juror_id}: scores typed for {', '.join(lost)} are no longer on this juror's sheet (the "
                     "entry moved to another juror); they stay in the copy in previous/")
    return merged


def _move_stale_sheets(folder: Path, current: set[str], names: dict[str, str], active: set[str]
                       ) -> list[dict[str, str]]:
    """Move every sheet of this tool's naming (`J.. name.xlsx`) that is not a current juror's sheet into
    `withdrawn/`: a juror who dropped out, or a sheet under a juror's former name. Never deleted: a sheet already
    sent may come back filled in. Leftover temporary files of a killed run are removed."""
    moved = []
    for tmp in [*folder.glob(".*.xlsx*.tmp"), *folder.glob(".*.html*.tmp")]:  # fsutil's `.NAME.PID.tmp` (and the
        tmp.unlink(missing_ok=True)                                             # `.NAME.tmp` of older versions)
    for page in sorted(folder.glob("*.html")):  # a withdrawn sheet's scoring page goes with it
        if _SHEET_STEM.match(page.name) and page.with_suffix(".xlsx").name not in current:
            (folder / WITHDRAWN_DIR).mkdir(exist_ok=True)
            os.replace(page, _free_name(folder / WITHDRAWN_DIR / page.name))
    for path in sorted(folder.glob("*.xlsx")):
        match = _SHEET_STEM.match(path.name)
        if path.name in current or not match:
            continue
        target_dir = folder / WITHDRAWN_DIR
        target_dir.mkdir(exist_ok=True)
        target = _free_name(target_dir / path.name)
        os.replace(path, target)
        juror_id = match.group(1)
        moved.append({"juror_id": juror_id, "juror": names.get(juror_id, ""),
                      "reason": "renamed" if juror_id in active else "dropped out",
                      "file": (SHEETS_DIR / WITHDRAWN_DIR / target.name).as_posix()})
    return moved


def _free_name(target: Path) -> Path:
    """`target`, or `name (2).ext`, `name (3).ext`... when it is taken."""
    n, free = 2, target
    while free.exists():
        free = target.with_name(f"{target.stem} ({n}){target.suffix}")
        n += 1
    return free


def _warnings(result: Assignment, jurors: int, min_jurors: int, short: list[dict[str, Any]],
              rows: list[SheetRow], withdrawn: list[dict[str, str]]) -> list[str]:
    out = []
    if jurors < min_jurors:
        out.append(f"{jurors} juror{'s' if jurors != 1 else ''} in the juror file: the call for entries asks for "
                   f"at least {min_jurors} jurors")
    if short:
        listed = ", ".join(f"{s['anon_id']} ({s['jurors']} of {s['quorum']})" for s in short) if result.quorum \
            else ", ".join(s["anon_id"] for s in short)
        if result.quorum:
            out.append(f"{len(short)} entr{'y' if len(short) == 1 else 'ies'} cannot reach {result.quorum} jurors "
                       f"(too few jurors without a conflict of interest): {listed}")
        else:
            out.append(f"{len(short)} entr{'y' if len(short) == 1 else 'ies'} no juror can score (every juror has "
                       f"a conflict of interest): {listed}")
    for row in rows:
        if not row.entries:
            out.append(f"{row.juror_id} {row.juror}: no entry to score (a conflict of interest with every entry, "
                       "or the quorum is met without them); their sheet is empty")
        if row.removed:
            out.append(f"{row.juror_id} {row.juror}: {row.removed} entr{'y' if row.removed == 1 else 'ies'} taken "
                       "off the sheet already sent, to even out the work: send them the new sheet")
    for w in withdrawn:
        if w["reason"] == "renamed":
            out.append(f"{w['juror_id']} {w['juror']}: the juror file spells the name differently now; the old "
                       f"sheet was moved to {w['file']}")
            continue
        out.append(f"{w['juror_id']} {w['juror']} is no longer in the juror file: their sheet was moved to "
                   f"{w['file']}; their unscored entries went to other jurors, their returned scores stay")
    return out
