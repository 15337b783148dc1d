"""`validate` as a library call: check SOURCE, open (or create) the workspace under its lock, read the submissions
before anything is written, switch or remember the submissions folder and the manifest, run the pipeline.

A test or a script calls `run_validation`; the CLI calls `prepare_validation` and then `PreparedValidation.run`, so
that its progress bar shows only while photos are checked and the report is written while the lock is still held.
Nothing here prints: what the coordinator should know comes through `on_note`, what stops the run is a StageError
whose `code` is the exit status (2: a usage error, 1: input unusable, 130: interrupted).
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from milsetctl import settings as settings_mod
from milsetctl.fsutil import writes_into
from milsetctl.ingest import ManifestError, Submissions, find_manifest, read_submissions
from milsetctl.locking import DEFAULT_WAIT_S
from milsetctl.models import StageError, ValidationResult
from milsetctl.pipeline import OnFirstPass, Progress
from milsetctl.pipeline import validate as run_pipeline
from milsetctl.privacy import purged_at
from milsetctl.settings import SETTINGS_FILE, SettingsError
from milsetctl.timefmt import contest_time
from milsetctl.workspace import (
    Workspace,
    WorkspaceError,
    adopt_source,
    check_outside,
    check_source,
    first_missing,
    init_workspace,
    is_workspace,
    lock_workspace,
    open_workspace,
    remove_if_created,
)


class ValidationInterrupted(StageError):
    """Ctrl-C while photos were checked: finished photos are saved, the same call again resumes (code 130)."""


@dataclass(frozen=True)
class Note:
    """Something the coordinator should know; `kind` says how loud: "note" (how the input was read), "source" (the
    submissions folder changed), "created" (the workspace was made; `path` is its folder)."""

    text: str
    kind: Literal["note", "source", "created"] = "note"
    path: Path | None = None

    def __str__(self) -> str:
        return self.text


OnNote = Callable[[Note], None]
Status = Callable[[str], AbstractContextManager[object]]  # a long step runs inside status(what it does)


def _quiet(note: Note) -> None:
    """The default `on_note`: a script that asked for nothing hears nothing."""


@dataclass
class PreparedValidation:
    """A workspace open and locked, its submissions read and its source settled: `run` checks the photos. Close it
    (or use it as a context manager) to let the lock go."""

    ws: Workspace
    folder: Path  # the submissions folder, resolved
    manifest: Path | None  # the manifest named now or remembered (None: SOURCE's own)
    submissions: Submissions

    def run(self, jobs: int | None = None, progress: Progress | None = None, *,
            second_progress: Progress | None = None, on_first_pass: OnFirstPass | None = None,
            second_pass: bool = True) -> ValidationResult:
        """Check the photos into the ledger (unchanged ones come from the cache), in two passes (see
        milsetctl.pipeline.validate: `on_first_pass` hears when every verdict but the second pass's is saved;
        `second_pass=False` stops there). Raises StageError (code 1) when the submissions become unusable meanwhile,
        ValidationInterrupted (code 130) on Ctrl-C."""
        try:
            return run_pipeline(self.ws, self.folder, self.manifest, jobs, progress, submissions=self.submissions,
                                second_progress=second_progress, on_first_pass=on_first_pass,
                                second_pass=second_pass)
        except (ManifestError, WorkspaceError) as exc:
            raise StageError(str(exc), 1) from None
        except KeyboardInterrupt:
            raise ValidationInterrupted("Interrupted. Finished photos are saved; run the same command again to "
                                        "resume.", 130) from None

    def close(self) -> None:
        self.ws.close()

    def __enter__(self) -> PreparedValidation:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@dataclass
class ValidationRun:
    """What `run_validation` did: the result, and the workspace it went into (closed again)."""

    result: ValidationResult
    root: Path
    created: bool  # the workspace was made by this call
    notes: list[Note]


def check_source_folder(source: Path | None) -> None:
    """SOURCE, when named, must be a folder (StageError, code 2)."""
    if source is not None and not source.exists():
        raise StageError(f"{source}: no such folder", 2)
    if source is not None and not source.is_dir():
        raise StageError(f"{source}: not a folder (name the folder that holds the photos and the manifest)", 2)


def _open_existing(root: Path, source: Path | None, after_purge: bool, lock_wait: float,
                   on_wait: Callable[[str], None] | None) -> Workspace:
    """The workspace at `root`, locked, once it is fit to validate SOURCE (or the folder it remembers)."""
    lock = lock_workspace(root, lock_wait, on_wait)
    try:
        ws = open_workspace(root)
    except BaseException:
        lock.release()
        raise
    ws.lock = lock
    try:
        purged = purged_at(ws)
        if purged and not after_purge:
            when = contest_time(purged, ws.settings.tz) or purged
            raise StageError(f"this contest's personal data was purged on {when} (milsetctl audit --kind purge): "
                             "validate would read the names, schools and e-mails back from the submissions, as new "
                             "entries (the purged ones cannot be matched again: their keys are gone). To do that on "
                             "purpose: milsetctl validate --after-purge", 2)
        if source is None:
            if not ws.settings.source:
                raise StageError("no submissions folder remembered in this workspace: name one (milsetctl validate "
                                 "SOURCE)", 2)
            if not Path(ws.settings.source).is_dir():
                raise StageError(f"the submissions folder {ws.settings.source} is not there any more (a moved or "
                                 "unplugged drive?): name where it is now: milsetctl validate SOURCE", 2)
        else:
            check_outside(root, source)  # before anything is remembered: a parent folder is refused whole
    except BaseException:
        ws.close()
        raise
    return ws


def prepare_validation(
    root: Path,
    source: Path | None = None,
    manifest: Path | None = None,
    *,
    report: Path | None = None,
    replace_source: bool = False,
    after_purge: bool = False,
    lock_wait: float = DEFAULT_WAIT_S,
    on_wait: Callable[[str], None] | None = None,
    on_note: OnNote | None = None,
    status: Status | None = None,
) -> PreparedValidation:
    """Everything `validate` does before it checks photos, in this order: SOURCE must be a folder; the workspace at
    `root` is opened under its lock (refused after a purge unless `after_purge`), or, when there is none, made only
    once the submissions have been read: a broken manifest (StageError, code 1) leaves no workspace, no folder and
    no source switched. SOURCE (default: the folder the workspace remembers) is compared with the contest the ledger
    keeps (a moved drive continues, another contest is refused unless `replace_source`); a manifest named with
    `manifest` is remembered and read again by a later call that names none.

    `report`: a file the caller will write, refused inside the submissions folder. `on_wait(who)`: the lock is held
    by `who` and this call waits up to `lock_wait` seconds. `on_note`: what the coordinator should know. `status`:
    a context the slow comparison of another SOURCE runs in (a spinner). Raises StageError with the exit code."""
    say = on_note or _quiet
    check_source_folder(source)
    root = root.resolve()
    created = first_missing(root)  # what this run would create, removed again if it fails
    ws: Workspace | None = None
    try:
        try:
            if is_workspace(root):
                ws = _open_existing(root, source, after_purge, lock_wait, on_wait)
                settings = ws.settings
            else:
                if source is None:
                    raise StageError(f"{root} is not a contest workspace; name the submissions folder: milsetctl "
                                     "validate SOURCE", 2)
                check_outside(root, source)
                settings = settings_mod.defaults()
        except (WorkspaceError, SettingsError) as exc:
            raise StageError(str(exc), 2) from None
        folder = (source or Path(settings.source)).resolve()
        if report is not None and writes_into(report, folder):
            raise StageError(f"--report {report}: inside the submissions folder {folder}; nothing may be written "
                             "there", 2)
        # a manifest named with --manifest before (a corrected copy outside a read-only SOURCE) is read again: going
        # back to SOURCE's own without a word would undo the coordinator's corrections
        named_manifest = manifest is not None
        if manifest is None and ws is not None and ws.settings.manifest and not replace_source:
            manifest = Path(ws.settings.manifest)
            if not manifest.is_file():
                raise StageError(f"the manifest {manifest}, named with --manifest before, is not there any more: "
                                 "name it (or another) again with --manifest FILE; SOURCE's own entries.csv with "
                                 "--manifest SOURCE/entries.csv", 2)
            say(Note(f"reading the manifest {manifest} (named with --manifest before; another one: --manifest FILE)"))
        # the manifest is read before anything is written: a broken one stops here, with no workspace created,
        # no source switched and no progress bar
        try:
            subs = read_submissions(folder, settings, manifest, exclude=root)
        except ManifestError as exc:
            remove_if_created(created)
            raise StageError(str(exc), 1) from None
        if ws is not None and not replace_source and not any(e.listed for e in subs.entries) \
                and any(r["listed"] and r["contestant_id"] for r in ws.ledger.entries()):
            raise StageError(f"{folder} holds no manifest (entries.csv or entries.xlsx) and no sidecars: every photo "
                             "would lose its contestant. This contest's manifest was read from "
                             f"{ws.settings.source}: name that folder, or the manifest with --manifest FILE; "
                             "--replace-source starts over with this folder.", 2)
        try:
            if ws is None:
                made = init_workspace(root, source)
                made.lock = lock_workspace(made.root, lock_wait, on_wait, made)  # closes `made` when it fails
                ws = made
                say(Note(f"Created the contest workspace {ws.root} (settings: contest.toml, ledger: ledger.sqlite)",
                         "created", ws.root))
            elif source is not None:
                with (status or _no_status)(f"Comparing {folder} with the photos this contest knows…"):
                    change = check_source(ws, folder, replace_source, subs.files)
                if change is not None:
                    adopt_source(ws, change)
                    if change.note:
                        say(Note(change.note, "source"))
        except (WorkspaceError, SettingsError) as exc:
            raise StageError(str(exc), 2) from None
        if named_manifest or replace_source:  # remembered for the next plain `validate`
            remembered_now = remember_manifest(ws, folder, subs.manifest if named_manifest else None)
            if remembered_now:
                say(Note(f"this workspace now remembers the manifest {remembered_now}: a plain `milsetctl "
                         "validate` reads it again (SOURCE's own: --manifest SOURCE/entries.csv)"))
        # how the manifest was read (its header row, encoding, Excel's delimiter hint): notes of milsetctl/ingest
        for note in subs.notes:
            say(Note(note))
        if ws.settings.section("archive").get("paths"):
            from milsetctl.archive import archive_year_notes

            for note in archive_year_notes(ws.settings):
                say(Note(note))
    except BaseException:
        if ws is not None:
            ws.close()  # and its lock
        raise
    return PreparedValidation(ws, folder, manifest, subs)


def _no_status(text: str) -> AbstractContextManager[object]:
    return nullcontext()


def remember_manifest(ws: Workspace, folder: Path, manifest: Path | None) -> str:
    """Remember the manifest a run read in contest.toml ("" when it is SOURCE's own, found without naming it).
    Returns the manifest newly remembered, "" when nothing new is (the same one, or SOURCE's own again)."""
    own = find_manifest(folder, None)
    value = "" if manifest is None or own is not None and manifest.resolve() == own.resolve() \
        else str(manifest.resolve())
    if value != ws.settings.manifest:
        settings_mod.remember_manifest(ws.root / SETTINGS_FILE, value)
        ws.settings.raw["contest"]["manifest"] = value
        return value
    return ""


def run_validation(
    root: Path,
    source: Path | None = None,
    manifest: Path | None = None,
    *,
    jobs: int | None = None,
    report: Path | None = None,
    replace_source: bool = False,
    after_purge: bool = False,
    lock_wait: float = DEFAULT_WAIT_S,
    on_wait: Callable[[str], None] | None = None,
    on_note: OnNote | None = None,
    progress: Progress | None = None,
    second_progress: Progress | None = None,
    second_pass: bool = True,
) -> ValidationRun:
    """`milsetctl validate` for a script or a test: prepare_validation, check the photos, close the workspace.

    Returns the result and the notes (also given to `on_note` as they come); raises StageError carrying the exit
    code. `report` is only checked here (not inside SOURCE): write it with milsetctl.report.write_report."""
    notes: list[Note] = []

    def keep(note: Note) -> None:
        notes.append(note)
        if on_note is not None:
            on_note(note)

    with prepare_validation(root, source, manifest, report=report, replace_source=replace_source,
                            after_purge=after_purge, lock_wait=lock_wait, on_wait=on_wait, on_note=keep) as job:
        result = job.run(jobs, progress, second_progress=second_progress, second_pass=second_pass)
        return ValidationRun(result, job.ws.root, job.ws.created, notes)
