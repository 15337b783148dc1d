"""validate: ingest, probe every photo once, run the rules, settle statuses, keep it all in the ledger.

Photo rules run in worker processes (one probe per file, shared by every rule): the first pass in a process per
core, the second (the text check's OCR models) in one process with a thread per core; their findings are
cached per rule by content hash, rule version and the settings the rule uses, so re-validating an
unchanged folder reads no photo at all and a changed photo is the only one re-checked. Results are
committed as they arrive: an interrupted run resumes where it stopped.
"""

from __future__ import annotations

import importlib
import json
import logging
import os
import queue
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import BrokenExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from milsetctl.fsutil import remove_stale_temps
from milsetctl.ingest import ManifestError, Submissions, read_submissions
from milsetctl.locking import exit_with_parent, held_by_this_process
from milsetctl.models import (  # entry_status lives in models: `decide` and `status` need it, not validate
    Entry,
    EntryResult,
    Finding,
    PhotoInfo,
    Severity,
    Status,
    ValidationResult,
    entry_status,
)
from milsetctl.rules import (
    ContestItem,
    Scope,
    apply_severity,
    cache_key,
    effective_severity,
    load_rules,
    rules_in_scope,
)
from milsetctl.rules.metadata import category_of
from milsetctl.settings import Settings
from milsetctl.workers import pool, run_all
from milsetctl.workspace import Workspace, check_outside

Progress = Callable[[int, int, str], None]

__all__ = ["validate", "ManifestError", "PhotoJob", "analyse_photo", "analyse_stream", "entry_status"]


@dataclass
class PhotoJob:
    rel: str
    path: str
    rule_ids: list[str]  # photo rules to run (the others came from the cache)
    settings_raw: dict[str, Any]
    thumbs: str
    rule_modules: list[str] = field(default_factory=list)  # what the worker imports to know these rules
    # second-pass rules: not run now, but settled as "nothing found" when the file cannot be decoded (so the second
    # pass does not open it again)
    later: list[str] = field(default_factory=list)


@dataclass
class PhotoOutcome:
    rel: str
    info: PhotoInfo
    findings: dict[str, list[Finding]]
    failed_rules: list[str] = field(default_factory=list)  # crashed: reported, not cached
    transient: bool = False  # the run failed (out of memory), not the file: nothing about it is cached


def analyse_photo(job: PhotoJob) -> PhotoOutcome:
    """Probe one photo and run the photo rules on it. Runs in a worker process; never raises."""
    from milsetctl.probe import probe_file, write_thumbnail  # NumPy, Pillow: not for `status` (entry_status)

    settings = Settings(raw=job.settings_raw)
    registry = load_rules()
    if not all(r in registry for r in job.rule_ids):  # rules registered outside RULE_MODULES (tests, plugins)
        for module in job.rule_modules:
            importlib.import_module(module)
    max_pixels = int(float(settings.photo["max_megapixels"]) * 1_000_000)
    probe = probe_file(Path(job.path), job.rel, max_pixels)
    try:
        probe.info.thumbnail = write_thumbnail(probe, Path(job.thumbs))
    except OSError:
        probe.info.thumbnail = None
    findings: dict[str, list[Finding]] = {}
    failed: list[str] = []
    if probe.transient:  # no verdict about the file: say so, cache nothing, look again next run
        info, why = probe.info, probe.transient
        del probe
        _release_memory()
        findings = {rule_id: [] for rule_id in job.rule_ids}
        findings["unreadable"] = [Finding("unreadable", Severity.REVIEW, f"could not be checked: {why}")]
        return PhotoOutcome(job.rel, info, findings, list(job.rule_ids), transient=True)
    if not probe.readable:
        findings.update({rule_id: [] for rule_id in job.later})
    for rule_id in job.rule_ids:
        rule_ = registry[rule_id]
        if rule_.expensive and not probe.readable:
            findings[rule_id] = []
            continue
        try:
            findings[rule_id] = [rule_.finding(e) for e in rule_.check(probe, settings)]
        except Exception as exc:  # a rule bug must not lose the batch: a person looks instead
            failed.append(rule_id)
            findings[rule_id] = [
                Finding(rule_id, Severity.REVIEW, f"could not be checked ({type(exc).__name__}: {exc})")
            ]
    info = probe.info
    del probe  # the 10 MB of bytes and the decoded pixels go now, not when the next photo arrives
    _release_memory()
    return PhotoOutcome(job.rel, info, findings, failed)


class _PhotoThreads:
    """In a worker process: `threads` daemon threads running analyse_photo on the jobs put in `jobs`, putting
    each outcome in `done` as it is finished (daemon: a worker that exits leaves unfinished photos behind, which
    the next run checks again)."""

    def __init__(self, threads: int) -> None:
        self.jobs: queue.SimpleQueue[PhotoJob] = queue.SimpleQueue()
        self.done: queue.SimpleQueue[PhotoOutcome | BaseException] = queue.SimpleQueue()
        for n in range(threads):
            threading.Thread(target=self._work, name=f"photo-{n}", daemon=True).start()

    def _work(self) -> None:
        while True:
            job = self.jobs.get()
            try:
                self.done.put(analyse_photo(job))
            except BaseException as exc:  # analyse_photo never raises; if it did, the call would wait for ever
                self.done.put(exc)


_photo_threads: _PhotoThreads | None = None  # analyse_stream's threads, for the life of the worker


def analyse_stream(jobs: list[PhotoJob], threads: int) -> list[PhotoOutcome]:
    """Hand `jobs` to this process's `threads` photo threads and return the outcomes finished by now, waiting for
    one when none is (the caller calls only while photos are in flight). Runs in the second pass's one worker
    process (`_run_threaded`): outcomes come back as photos finish, in any order, so the progress bar moves
    photo by photo and no thread waits for another.

    Why (issue 18): the second pass (the text check) holds the OCR models and ONNX Runtime's arena, ~215 MB per
    process at rest, and its work runs with the interpreter's lock released (ONNX Runtime, OpenCV, Pillow's
    decode): two threads of one process did 40 photos in 169 ms each against 344 on one thread (2.0x), and 60
    marked photos in 175 against 327 ms (1.9x; +6% CPU), with one copy of the models: 294 / 424 MB at their peak
    against 236 / 339 MB for each of two processes. Raises what analyse_photo raised (it never should)."""
    global _photo_threads
    if _photo_threads is None:
        _photo_threads = _PhotoThreads(threads)
    for job in jobs:
        _photo_threads.jobs.put(job)
    finished: list[PhotoOutcome] = []
    item = _photo_threads.done.get()
    while True:
        if isinstance(item, BaseException):  # a bug: reported to the parent, as a process pool reports it
            raise item
        finished.append(item)
        try:
            item = _photo_threads.done.get_nowait()
        except queue.Empty:
            return finished


def _release_memory() -> None:
    """Hand freed heap back to the system after each photo (glibc keeps it otherwise): a worker that met a
    text-heavy photo drops from ~240 to ~170 MB instead of staying at its high-water mark."""
    from milsetctl.workers import trim_heap

    trim_heap()


def _worker_init(parent_pid: int | None = None) -> None:
    """Keep each worker to one thread of native code (the pool already uses every core), and end it with its
    parent: a `validate` killed with SIGKILL would otherwise leave its workers waiting on a pipe for ever.
    Pillow's warnings (bomb size, broken headers) are the probe's to judge, never the terminal's: probe._quiet
    silences them per call, which threads (analyse_stream) may undo for one another (warnings.catch_warnings is
    not thread-safe), so a worker ignores them throughout. A worker that crashes in a library's native code
    (a segmentation fault) writes its threads' Python stacks to stderr first (faulthandler): the run goes on
    (`_run_jobs`), and the stacks say where to look."""
    import faulthandler
    import warnings

    faulthandler.enable()
    exit_with_parent(parent_pid)
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = "1"
    warnings.filterwarnings("ignore", module=r"PIL\.")
    _single_threaded_opencv()


# a worker with both detectors loaded peaks at ~210 MB (bench/); keep headroom for the rest of the machine
WORKER_MEMORY = 400 * 1024 * 1024
# a fresh worker after this many photos: the OCR runtime's heap only grows with text-heavy photos, and a
# restart (~1 s of imports and model loading) every 200 photos (~30 s of work) keeps memory flat for any N
WORKER_RECYCLE = 200
# photos handed to each thread of the second pass's worker ahead of time: a thread never waits for the parent
QUEUED_PER_THREAD = 3


def _available_memory() -> int | None:
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def default_jobs(settings: Settings, jobs: int | None) -> int:
    """--jobs, else the setting, else every core the process may use, as far as memory allows."""
    wanted = jobs if jobs is not None else int(settings.analysis.get("jobs", 0) or 0)
    if wanted <= 0:
        wanted = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
        memory = _available_memory()
        if memory is not None:
            wanted = min(wanted, memory // WORKER_MEMORY)
    return max(1, wanted)


# multiprocessing's resource tracker (a helper process the pool's semaphores start) outlives a parent killed with
# SIGKILL and then warns on the terminal "resource_tracker: There appear to be 5 leaked semaphore objects to clean
# up at shutdown": it cleans them up all the same, and the killed run is resumed by the next one, so the warning
# only alarms. The tracker is started with this interpreter's -W options (multiprocessing.util.
# _args_from_interpreter_flags reads sys.warnoptions), so a filter added here before the pool starts reaches it.
_TRACKER_WARNING = "ignore:resource_tracker:UserWarning"


def _quiet_resource_tracker() -> None:
    """Silence the tracker's leak warning, here and in the tracker process it starts (see _TRACKER_WARNING)."""
    import sys
    import warnings

    if _TRACKER_WARNING not in sys.warnoptions:
        sys.warnoptions.append(_TRACKER_WARNING)
        warnings.filterwarnings("ignore", message="resource_tracker", category=UserWarning)


def _run_jobs(jobs: list[PhotoJob], workers: int, *, threaded: bool = False) -> Iterator[PhotoOutcome]:
    """The jobs' outcomes as they are done: on `workers` processes, or (`threaded`: the second pass) on one process
    with `workers` threads (analyse_stream). Should that process die (a library's crash, the out-of-memory killer),
    the photos it had not finished go to a process per core, as the first pass's do; a worker of those dying too
    raises BrokenExecutor (cli.main says so in one line)."""
    if not jobs:
        return
    if workers <= 1 or len(jobs) <= 1:
        _single_threaded_opencv()
        for job in jobs:
            yield analyse_photo(job)
        return
    _quiet_resource_tracker()
    if threaded:
        finished: set[str] = set()
        share = WORKER_RECYCLE * workers  # photos per worker process: a fresh one for each share, as the pool's
        try:
            for start in range(0, len(jobs), share):
                for outcome in _run_threaded(jobs[start:start + share], workers):
                    finished.add(outcome.rel)
                    yield outcome
            return
        except BrokenExecutor as exc:
            jobs = [job for job in jobs if job.rel not in finished]
            logging.getLogger(__name__).warning(
                "the text check's worker process stopped unexpectedly (%s); the %d photos left are checked with a "
                "process per core", exc, len(jobs))
    # bounded in-flight work (3 photos per worker): memory stays flat in the number of photos
    yield from run_all(analyse_photo, jobs, workers, initializer=_worker_init, max_tasks_per_child=WORKER_RECYCLE)


def _run_threaded(jobs: list[PhotoJob], threads: int) -> Iterator[PhotoOutcome]:
    """The jobs' outcomes as they are finished by one worker process running `threads` threads (analyse_stream),
    each thread with QUEUED_PER_THREAD photos ahead of it."""
    with pool(1, _worker_init) as executor:
        waiting = deque(jobs)
        in_flight = 0
        try:
            while waiting or in_flight:
                feed = [waiting.popleft() for _ in range(min(len(waiting), QUEUED_PER_THREAD * threads - in_flight))]
                in_flight += len(feed)
                finished = executor.submit(analyse_stream, feed, threads).result()
                in_flight -= len(finished)
                yield from finished
        except BaseException:
            executor.shutdown(wait=False, cancel_futures=True)
            raise


def _single_threaded_opencv() -> None:
    try:
        import cv2

        cv2.setNumThreads(1)
    except Exception:
        pass


OnFirstPass = Callable[[ValidationResult, int], None]


def validate(
    ws: Workspace,
    source: Path | None = None,
    manifest: Path | None = None,
    jobs: int | None = None,
    progress: Progress | None = None,
    submissions: Submissions | None = None,
    *,
    second_progress: Progress | None = None,
    on_first_pass: OnFirstPass | None = None,
    second_pass: bool = True,
) -> ValidationResult:
    """Validate a submissions folder into the workspace's ledger and return the result.

    Two passes, each resumable (issue 18, "verdicts early"): the first runs every rule but the second-pass ones
    (`Rule.second_pass`: the text detector, most of the CPU) and saves every entry's verdict; `on_first_pass(result,
    photos left for the second pass)` hears of it. The second pass then runs those rules on the photos of entries
    not already rejected, saving each photo's findings as it goes, and saves the verdicts again. Until it has run
    for an entry, `ledger.pending_checks()` names the entry (status, anonymise and awards read that).
    `second_pass=False` stops after the first pass (a later call resumes).

    `submissions`: the folder as `read_submissions` already read it (validation.prepare_validation reads it first,
    so that a broken manifest stops before any workspace or progress bar exists); read here when None.
    `progress(done, total, file)` / `second_progress(...)`: each pass's progress.
    Raises ManifestError, WorkspaceError."""
    from milsetctl.probe import PROBE_VERSION

    started = time.perf_counter()
    settings = ws.settings
    ledger = ws.ledger
    if source is None:
        if not settings.source:
            raise ManifestError("no submissions folder: name one (milsetctl validate SOURCE)")
        source = Path(settings.source)
    source = source.resolve()
    check_outside(ws.root, source)
    subs = submissions if submissions is not None else read_submissions(source, settings, manifest,
                                                                        exclude=ws.root)
    ledger.assign_ids(subs.entries)
    if held_by_this_process(ws.root):  # thumbnails half-written by a killed run (a live run's look the same)
        remove_stale_temps(ws.thumbs, ("*.tmp",))

    photo_rules = [r for r in rules_in_scope(Scope.PHOTO) if effective_severity(r, settings) is not None]
    first_rules = [r for r in photo_rules if not r.second_pass]
    later_rules = [r for r in photo_rules if r.second_pass]
    keys = {r.id: cache_key(r, settings) for r in photo_rules}
    modules = sorted({r.check.__module__ for r in photo_rules})
    ledger.set_second_pass({r.id: keys[r.id] for r in later_rules})

    # which photos need work: the stat cache tells an unchanged file without reading it
    wanted = sorted({e.file for e in subs.entries if e.file and e.file in subs.files})
    infos: dict[str, PhotoInfo] = {}
    photo_findings: dict[str, dict[str, list[Finding]]] = {}
    stats: dict[str, os.stat_result] = {}
    todo: list[PhotoJob] = []
    known_files = ledger.all_file_shas()
    known_infos = ledger.all_infos(PROBE_VERSION)
    known_findings = ledger.all_findings(keys)
    for rel in wanted:
        path = subs.files[rel]
        try:
            st = path.stat()
        except OSError:
            continue
        stats[rel] = st
        known = known_files.get(str(path))
        sha = known[2] if known and known[:2] == (st.st_size, st.st_mtime_ns) else None
        info_json = known_infos.get(sha) if sha else None
        cached = known_findings.get(sha, {}) if sha else {}
        if info_json is not None and all(r.id in cached for r in first_rules):
            infos[rel] = PhotoInfo(**json.loads(info_json))
            photo_findings[rel] = cached
            continue
        todo.append(PhotoJob(rel, str(path), [r.id for r in first_rules], settings.raw, str(ws.thumbs), modules,
                             [r.id for r in later_rules]))
    del known_files, known_infos, known_findings  # every photo's cached rows: not needed again this run

    workers = default_jobs(settings, jobs)
    _run_pass(ws, todo, workers, len(wanted), progress, stats, subs, keys, infos, photo_findings)
    result = _settle(ws, subs, source, infos, photo_findings, photo_rules, started, len(todo), len(wanted))

    # the second pass: the photos of entries not rejected whose second-pass findings are not known yet
    later: list[PhotoJob] = []
    if later_rules:
        seen: set[str] = set()
        for r in result.entries:
            file = r.entry.file
            if r.status == Status.REJECTED or file is None or file in seen or file not in infos or file not in stats:
                continue
            seen.add(file)
            missing = [rule_.id for rule_ in later_rules if rule_.id not in photo_findings.get(file, {})]
            if missing:
                later.append(PhotoJob(file, str(subs.files[file]), missing, settings.raw, str(ws.thumbs), modules))
    result.second_pass_pending = len(later)
    if on_first_pass is not None:
        on_first_pass(result, len(later))
    if not later or not second_pass:
        return result
    import gc

    from milsetctl.rules.field import release_reading_memory

    release_reading_memory()  # plain-language's dictionary (~72 MB) is not needed while the text check runs
    gc.collect()  # what saving the verdicts left (issue 18: ~20 MB of the parent's 190 at 2,000 entries) goes back
    _release_memory()  # to the system before two workers load the OCR models
    _run_pass(ws, later, workers, len(later), second_progress, stats, subs, keys, infos, photo_findings, done=0,
              threaded=True)  # one copy of the OCR models, a thread per core
    first = result
    result = _settle(ws, subs, source, infos, photo_findings, photo_rules, started, len(todo), len(wanted),
                     second_pass=len(later))
    for entry_id, fields in first.changes.items():  # what the first save changed is this run's change too
        result.changes[entry_id] = {**fields, **result.changes.get(entry_id, {})}
    return result


def _run_pass(ws: Workspace, todo: list[PhotoJob], workers: int, total: int, progress: Progress | None,
              stats: dict[str, os.stat_result], subs: Submissions, keys: dict[str, str], infos: dict[str, PhotoInfo],
              photo_findings: dict[str, dict[str, list[Finding]]], done: int | None = None,
              threaded: bool = False) -> None:
    """Run one pass's photo jobs, keeping each photo's findings in the ledger as it arrives (committed every
    second: a killed run loses at most a second's work) and in `infos`/`photo_findings`."""
    from milsetctl.probe import PROBE_VERSION

    ledger = ws.ledger
    done = total - len(todo) if done is None else done
    if progress:
        progress(done, total, "")
    last_commit = time.monotonic()
    try:
        for outcome in _run_jobs(todo, workers, threaded=threaded):
            rel = outcome.rel
            infos[rel] = outcome.info
            photo_findings.setdefault(rel, {}).update(outcome.findings)
            if outcome.info.sha256 and not outcome.transient:
                st = stats[rel]
                ledger.remember_file(str(subs.files[rel]), st.st_size, st.st_mtime_ns, outcome.info.sha256)
                ledger.store_info(outcome.info, PROBE_VERSION)
                for rule_id, found in outcome.findings.items():
                    if rule_id not in outcome.failed_rules and rule_id in keys:
                        ledger.store_findings(outcome.info.sha256, rule_id, keys[rule_id], found)
            done += 1
            if progress:
                progress(done, total, rel)
            if time.monotonic() - last_commit > 1.0:
                ledger.commit()
                last_commit = time.monotonic()
    finally:
        ledger.commit()


def _settle(ws: Workspace, subs: Submissions, source: Path, infos: dict[str, PhotoInfo],
            photo_findings: dict[str, dict[str, list[Finding]]], photo_rules: list[Any], started: float,
            analysed: int, wanted: int, second_pass: int | None = None) -> ValidationResult:
    """Every entry's verdict from the photo findings known so far, the entry and contest rules, and the decisions;
    saved in the ledger with the run's audit record, in one transaction (a killed run leaves both or neither)."""
    settings = ws.settings
    ledger = ws.ledger
    registry = load_rules()
    # per-entry and contest rules: cheap, always run
    # every finding, ingest's own too, goes through the contest's [rules] severities ("off" removes it)
    per_entry: dict[str, list[Finding]] = {e.key: apply_severity(e.ingest_findings, settings) for e in subs.entries}
    entry_rules = [r for r in rules_in_scope(Scope.ENTRY) if effective_severity(r, settings) is not None]
    for entry in subs.entries:
        photo = infos.get(entry.file) if entry.file else None
        if photo is not None and entry.file:  # (a photo implies a file; said for the type checker)
            for rule_ in photo_rules:
                per_entry[entry.key] += apply_severity(photo_findings[entry.file].get(rule_.id, []), settings)
        for rule_ in entry_rules:
            found = [rule_.finding(e) for e in rule_.check(entry, photo, settings)]
            per_entry[entry.key] += apply_severity(found, settings)
    items = [_contest_item(e, infos.get(e.file) if e.file else None, ws.thumbs) for e in subs.entries]
    for rule_ in rules_in_scope(Scope.CONTEST):
        if effective_severity(rule_, settings) is None:
            continue
        for key, emit in rule_.check(items, settings):
            per_entry[key] += apply_severity([rule_.finding(emit)], settings)

    decisions = ledger.latest_decisions()
    order = {r.id: i for i, r in enumerate(registry.values())}
    results: list[EntryResult] = []
    for entry in subs.entries:
        findings = sorted(per_entry[entry.key], key=lambda f: (_SEVERITY_ORDER[f.severity], order.get(f.rule, 99)))
        decision = decisions.get(entry.entry_id)
        results.append(
            EntryResult(
                entry=entry,
                status=entry_status(findings, decision),
                category=category_of(entry, settings) if entry.listed else None,
                findings=findings,
                photo=infos.get(entry.file) if entry.file else None,
                decision=decision,
            )
        )
    results.sort(key=lambda r: r.entry.entry_id)
    result = ValidationResult(
        source=str(source),
        workspace=str(ws.root),
        entries=results,
        elapsed_s=time.perf_counter() - started,
        photos_analysed=analysed,
        photos_cached=wanted - analysed,
    )
    detail: dict[str, Any] = {"source": str(source), **result.summary(), "analysed": analysed,
                              "cached": result.photos_cached, "seconds": round(result.elapsed_s, 2)}
    if second_pass is not None:  # one "validate" record per run, and this one for its second pass
        detail["photos"] = second_pass
    result.changes = ledger.save_results(
        [_ledger_row(r) for r in results], {r.entry.entry_id: r.findings for r in results},
        audit=("validate" if second_pass is None else "validate-second-pass", detail))
    from milsetctl.stages import check, remake_lines

    result.remake = remake_lines(ws, check(ws))
    return result


_SEVERITY_ORDER = {Severity.REJECT: 0, Severity.REVIEW: 1, Severity.INFO: 2}


def _contest_item(entry: Entry, photo: PhotoInfo | None, thumbs: Path) -> ContestItem:
    """What contest rules see of one entry; the thumbnail path only when the cached file is there."""
    thumbnail = thumbs / photo.thumbnail if photo is not None and photo.thumbnail else None
    return ContestItem(entry, photo, thumbnail if thumbnail is not None and thumbnail.is_file() else None)


def _ledger_row(r: EntryResult) -> dict[str, Any]:
    e: Entry = r.entry
    return {
        "entry_id": e.entry_id, "key": e.key, "contestant_id": e.contestant_id, "name": e.name,
        "school": e.school, "grade": e.grade, "province": e.province, "country": e.country, "email": e.email,
        "file": e.file, "title": e.title, "description": e.description,
        "submitted_at": e.submitted_at.isoformat() if e.submitted_at else e.submitted_at_raw,
        "origin": e.origin, "listed": int(e.listed), "extra": json.dumps(e.extra, ensure_ascii=False),
        "sha256": r.photo.sha256 if r.photo else None, "category": r.category, "status": str(r.status),
    }
