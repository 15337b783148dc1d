"""Crash safety, proven with SIGKILL (issue 11): `validate`, `anonymise`, `score` and `certificates` run as real
subprocesses on contests big enough to take a few seconds, are killed at several points of their work, and then:

- the ledger passes `PRAGMA integrity_check`;
- no file under a final name is half-written: every JPEG/PNG decodes, every PDF opens and ends with %%EOF, every
  XLSX/zip opens, every JSON/TOML parses, no file is empty (temporary names, `*.tmp` and `.*.part.*`, are skipped);
- no process of the killed command (pool workers included) is left a few seconds later;
- the next run completes the job and gives the same result as an uninterrupted run.

Kill points are progress the test can see from outside (rows committed in the ledger, files in the output
folder, the ledger's write-ahead log growing) or, where nothing shows (score works in one transaction), a share of
the CPU time an uninterrupted run took: work done, which a busy machine does not stretch the way it stretches the
wall clock (issue 18). A point reached only after the command had finished counts as "finished" and proves
nothing: each command must be killed mid-run at least twice. No assertion is on time: the waits below are bounds
for a hung process, and end as soon as it is gone.
"""

from __future__ import annotations

import contextlib
import json
import os
import resource
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
import tomllib
import uuid
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import psutil
import pytest
from conftest import make_jpeg, write_manifest
from PIL import Image

REPO = Path(__file__).resolve().parent.parent
TOKEN_VAR = "MILSETCTL_CRASH_TEST"
# how long a killed command's processes may take to be gone before they count as left over: workers exit within
# ~1 s of the parent's death, but a busy machine may take a while to schedule and reap them. The wait ends as soon
# as they are gone, so a generous bound costs nothing when they go (a lingering worker never goes)
LEFTOVER_WAIT_S = 120.0
# how long a command may run without reaching its kill point before it is killed anyway: a bound for a hung run
KILL_POINT_WAIT_S = 600.0
STARTED: list[str] = []  # run tokens of every subprocess started here, for the final sweep

pytestmark = pytest.mark.skipif(os.name != "posix", reason="SIGKILL and /proc are POSIX")


# --- running and killing ------------------------------------------------------------------------------------------
def _env(token: str) -> dict[str, str]:
    env = dict(os.environ)
    env[TOKEN_VAR] = token  # inherited by every worker: finds them after the parent is gone
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    env["MILSETCTL_USER"] = "crash-test"
    env.pop("MILSETCTL_WAIT", None)
    return env


def run(args: list[str], cwd: Path, ok: tuple[int, ...] = (0,)) -> subprocess.CompletedProcess[str]:
    """Run milsetctl to the end; its exit code must be in `ok`; never a traceback."""
    token = uuid.uuid4().hex
    STARTED.append(token)
    proc = subprocess.run([sys.executable, "-m", "milsetctl", *args], cwd=cwd, env=_env(token), text=True,
                          capture_output=True, timeout=900)
    assert proc.returncode in ok, f"milsetctl {' '.join(args)} -> {proc.returncode}\n{proc.stderr[-3000:]}"
    assert "Traceback" not in proc.stderr, proc.stderr[-3000:]
    return proc


def run_measured(args: list[str], cwd: Path) -> tuple[subprocess.CompletedProcess[str], float]:
    """`run`, and the CPU seconds (user + system) the command and every process it started used: the yardstick
    for kill points where no progress shows from outside."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    proc = run(args, cwd)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return proc, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def cpu_seconds(pid: int) -> float:
    """CPU seconds (user + system) a running command has used so far: its own, its living processes' (pool
    workers) and those of the processes it started and reaped. 0 when it is gone."""
    try:
        main = psutil.Process(pid)
        times = main.cpu_times()
        total = times.user + times.system + times.children_user + times.children_system
        for child in main.children(recursive=True):
            with contextlib.suppress(psutil.Error):
                times = child.cpu_times()
                total += times.user + times.system
        return total
    except psutil.Error:
        return 0.0


def _processes_of(token: str) -> list[psutil.Process]:
    found = []
    for proc in psutil.process_iter(["pid"]):
        try:
            if proc.pid != os.getpid() and proc.environ().get(TOKEN_VAR) == token:
                found.append(proc)
        except (psutil.Error, OSError):
            continue
    return found


@dataclass
class Kill:
    point: str
    finished: bool  # the command ended before the kill point was reached: nothing was killed
    seconds: float  # from start to the kill (reported, never asserted)
    workers: int = 0  # processes of the command seen besides the main one
    leftovers: list[str] = field(default_factory=list)  # still alive LEFTOVER_WAIT_S after the kill
    stderr: str = ""  # what the command and the processes outliving it wrote to the terminal's stderr
    cpu: float = 0.0  # CPU seconds the command had used at its last look when killed by `at_cpu`


def kill_at(args: list[str], cwd: Path, point: str, when: Callable[[], bool] | None = None,
            at_cpu: float | None = None, timeout: float = KILL_POINT_WAIT_S) -> Kill:
    """Start milsetctl, SIGKILL its main process (only it, as the OOM killer or `kill -9 PID` would) as soon as
    `when()` is true, or once it has used `at_cpu` CPU seconds (`cpu_seconds`), then wait for every process it
    started to be gone."""
    token = uuid.uuid4().hex
    STARTED.append(token)
    start = time.monotonic()
    err = Path(tempfile.gettempdir()) / f"milsetctl-stderr-{token}.txt"  # shared with all it starts, as a terminal
    with open(err, "wb") as err_fh:
        proc = subprocess.Popen([sys.executable, "-m", "milsetctl", *args], cwd=cwd, env=_env(token),
                                stdout=subprocess.DEVNULL, stderr=err_fh)
    seen: dict[int, psutil.Process] = {}
    try:
        used = 0.0
        while proc.poll() is None and time.monotonic() - start < timeout:
            if when is not None and when():
                break
            if at_cpu is not None:
                used = cpu_seconds(proc.pid) or used
                if used >= at_cpu:
                    break
            try:
                for child in psutil.Process(proc.pid).children(recursive=True):
                    seen[child.pid] = child
            except psutil.Error:
                pass
            time.sleep(0.02)
        for p in _processes_of(token):
            if p.pid != proc.pid:
                seen[p.pid] = p
        if proc.poll() is not None:
            return Kill(point, True, time.monotonic() - start, len(seen), cpu=used, stderr=_read_gone(err))
        proc.send_signal(signal.SIGKILL)  # at once: the storing point lasts ~0.15 s
        killed_at = time.monotonic() - start
        proc.wait(timeout=120)
    except BaseException:
        proc.kill()
        proc.wait()
        raise
    deadline = time.monotonic() + LEFTOVER_WAIT_S
    alive = _processes_of(token)
    while alive and time.monotonic() < deadline:
        time.sleep(0.1)
        alive = _processes_of(token)
    leftovers = []
    for p in alive:
        try:
            leftovers.append(f"{p.pid}: {' '.join(p.cmdline())[:160]}")
            p.kill()  # not to leave them on the test machine; the assertion reports them
        except psutil.Error:
            pass
    return Kill(point, False, killed_at, len(seen), leftovers, _read_gone(err), cpu=used)


def _read_gone(path: Path) -> str:
    text = path.read_text(encoding="utf-8", errors="replace")
    path.unlink()
    return text


@pytest.fixture(scope="module", autouse=True)
def _sweep():
    yield
    for token in STARTED:
        for p in _processes_of(token):
            with contextlib.suppress(psutil.Error):
                p.kill()


# --- what a killed run may leave ----------------------------------------------------------------------------------
SKIP_NAMES = {".milsetctl.lock", "ledger.sqlite", "ledger.sqlite-wal", "ledger.sqlite-shm", "ledger.sqlite-journal"}


def is_temp(name: str) -> bool:
    """A temporary name (the writers' `*.tmp`, the report's `.NAME.PID.partSUFFIX`): never read by anyone."""
    return name.endswith(".tmp") or (name.startswith(".") and ".part" in name)


def assert_whole(path: Path) -> None:
    """The file at a final name is complete: decodes/opens as its kind, and is not empty."""
    assert path.stat().st_size > 0, f"{path}: empty"
    suffix = path.suffix.lower()
    if suffix in (".jpg", ".jpeg", ".png"):
        with Image.open(path) as im:
            im.load()  # the whole picture: a truncated file raises here
    elif suffix == ".pdf":
        from pypdf import PdfReader

        assert path.read_bytes()[-1024:].rstrip().endswith(b"%%EOF"), f"{path}: no %%EOF (cut short)"
        assert len(PdfReader(path, strict=True).pages) > 0, path
    elif suffix in (".xlsx", ".zip"):
        with zipfile.ZipFile(path) as zf:
            assert zf.testzip() is None, path
        if suffix == ".xlsx":
            import openpyxl

            openpyxl.load_workbook(path, read_only=True).close()
    elif suffix == ".json":
        json.loads(path.read_text(encoding="utf-8"))
    elif suffix == ".toml":
        tomllib.loads(path.read_text(encoding="utf-8"))
    elif suffix == ".html":
        assert path.read_text(encoding="utf-8").rstrip().endswith("</html>"), f"{path}: cut short"


def assert_intact(root: Path) -> list[Path]:
    """Ledger integrity and every final-named file whole; returns the temporary files found (allowed)."""
    con = sqlite3.connect(root / "ledger.sqlite")
    try:
        assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert con.execute("PRAGMA foreign_key_check").fetchall() == []
    finally:
        con.close()
    temps = []
    for path in sorted(root.rglob("*")):
        if not path.is_file() or path.name in SKIP_NAMES:
            continue
        if is_temp(path.name):
            temps.append(path)
            continue
        assert_whole(path)
    return temps


def check_kills(kills: list[Kill], root: Path, workers: bool = False) -> None:
    mid_run = [k for k in kills if not k.finished]
    assert len(mid_run) >= 2, f"fewer than two kills landed mid-run: {kills}"
    for k in kills:
        assert not k.leftovers, f"{k.point}: processes left after the kill: {k.leftovers}"
    if workers:
        assert any(k.workers for k in mid_run), f"no kill caught the worker pool running: {kills}"
    assert_intact(root)


def ledger_rows(root: Path, sql: str) -> list[tuple]:
    con = sqlite3.connect(root / "ledger.sqlite")
    try:
        return [tuple(r) for r in con.execute(sql)]
    finally:
        con.close()


def count(root: Path, sql: str) -> int:
    try:
        return int(ledger_rows(root, sql)[0][0])
    except sqlite3.Error:  # not created yet, or busy for an instant
        return 0


# --- validate -----------------------------------------------------------------------------------------------------
N_PHOTOS = 24  # ~1-2 s of validate with two workers, face and text detectors off


def _prepared_workspace(root: Path) -> None:
    """A workspace folder holding only contest.toml, which the first validate fills: the defaults with the face and
    text detectors off. What is tested is the worker pool, the commits and the files, not the detectors, whose CPU
    (5x the rest on a busy machine) would only make the test slow."""
    from milsetctl.settings import DEFAULT_TOML

    root.mkdir()
    text = DEFAULT_TOML.replace("[rules]\n", '[rules]\nface = "off"\ntext-watermark = "off"\n', 1)
    (root / "contest.toml").write_text(text, encoding="utf-8")


@pytest.fixture(scope="module")
def contest(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A submissions folder of N_PHOTOS camera JPEGs (2400x1600) and its manifest, one entry each."""
    root = tmp_path_factory.mktemp("crash")
    source = root / "submissions"
    rows = []
    for i in range(N_PHOTOS):
        rel = f"photos/p{i:03d}.jpg"
        make_jpeg(source / rel, exif={"make": "Canon", "model": "EOS 90D", "datetime_original": "2022:07:01 10:00:00"},
                  seed=i)
        rows.append({"contestant_id": f"CN-{i:03d}", "name": f"Student {i}", "school": f"School {i % 5}",
                     "grade": str(7 + i % 6), "province": "Beijing", "country": "China", "email": f"s{i}@example.cn",
                     "file": rel, "title": f"Night sky {i}", "description": "Stars over the hills",
                     "submitted_at": "2022-07-05 09:30"})
    write_manifest(source, rows)
    return root


def _validate_args(ws: str) -> list[str]:
    return ["validate", "submissions", "-w", ws, "-j", "2", "--json", "--report", f"{ws}/reports/validation.xlsx"]


@pytest.fixture(scope="module")
def validated(contest: Path) -> tuple[Path, dict]:
    """The uninterrupted run: its workspace and its JSON."""
    _prepared_workspace(contest / "ws-ref")
    proc = run(_validate_args("ws-ref"), contest)
    return contest / "ws-ref", json.loads(proc.stdout)


def _entries_table(root: Path) -> list[tuple]:
    return ledger_rows(root, "SELECT entry_id, key, contestant_id, name, file, sha256, category, status, present "
                             "FROM entries ORDER BY entry_id")


def test_validate_killed_at_any_point_resumes_to_the_same_result(contest: Path, validated: tuple[Path, dict]) -> None:
    ref_root, ref_json = validated
    ws = contest / "ws-kill"
    _prepared_workspace(ws)
    photos = lambda: count(ws, "SELECT COUNT(*) FROM photos")  # noqa: E731  committed photo analyses

    def thumbnails() -> int:  # the workers write one per photo as they go: the pool is busy
        try:
            return sum(1 for p in (ws / "cache" / "thumbs").iterdir() if not is_temp(p.name))
        except OSError:
            return 0

    kills = [kill_at(_validate_args("ws-kill"), contest, "start-up (the ledger being created)",
                     lambda: (ws / "ledger.sqlite").exists())]
    for more in (3, 8):  # counted from what earlier runs left
        base = thumbnails()
        kills.append(kill_at(_validate_args("ws-kill"), contest, f"workers busy, {more} more photos analysed",
                             lambda base=base, more=more: thumbnails() >= base + more))
    kills.append(kill_at(_validate_args("ws-kill"), contest, "all photos analysed (contest rules, report)",
                         lambda: photos() >= N_PHOTOS))
    check_kills(kills, ws, workers=True)
    assert sum(k.workers > 0 and not k.finished for k in kills) >= 2, kills
    # multiprocessing's resource tracker outlives the killed parent: it must not warn on the terminal about
    # "leaked semaphore objects" (it cleans them up; the next run resumes)
    assert not [k.stderr for k in kills if "resource_tracker" in k.stderr or "leaked" in k.stderr], kills
    final = json.loads(run(_validate_args("ws-kill"), contest).stdout)
    assert final["entries"] == ref_json["entries"]
    assert final["summary"] == ref_json["summary"]
    assert _entries_table(ws) == _entries_table(ref_root)
    assert ledger_rows(ws, "SELECT entry_id, rule, severity, message FROM findings ORDER BY entry_id, rowid") == \
        ledger_rows(ref_root, "SELECT entry_id, rule, severity, message FROM findings ORDER BY entry_id, rowid")
    thumbs = sorted(p.name for p in (ws / "cache" / "thumbs").iterdir())
    assert thumbs == sorted(p.name for p in (ref_root / "cache" / "thumbs").iterdir())  # no stale temporary file
    temps = assert_intact(ws)
    assert not [t for t in temps if "cache" in t.parts], temps
    print({k.point: ("finished" if k.finished else f"killed at {k.seconds:.2f} s, {k.workers} workers")
           for k in kills})


# --- anonymise ----------------------------------------------------------------------------------------------------
def _package(root: Path) -> dict[str, str]:
    """entry_id -> SHA-256 of its packaged photo (the anonymous IDs are drawn at random: compare by entry)."""
    return dict(ledger_rows(root, "SELECT entry_id, sha256 FROM anon_ids WHERE withdrawn=0"))


def test_anonymise_killed_at_any_point_resumes_to_the_same_package(contest: Path,
                                                                   validated: tuple[Path, dict]) -> None:
    ref_root, _ = validated
    base = contest / "anon-base"
    shutil.copytree(ref_root, base)
    for name in ("ws-anon-ref", "ws-anon-kill"):
        shutil.copytree(base, contest / name)
    run(["anonymise", "-w", "ws-anon-ref"], contest)
    ws = contest / "ws-anon-kill"
    photos_dir = ws / "jury" / "package" / "photos"

    def packaged() -> int:
        try:
            return sum(1 for p in photos_dir.iterdir() if not is_temp(p.name))
        except OSError:
            return 0

    kills = [
        kill_at(["anonymise", "-w", "ws-anon-kill"], contest, "first photos written", lambda: packaged() >= 2),
        kill_at(["anonymise", "-w", "ws-anon-kill"], contest, "half the photos", lambda: packaged() >= N_PHOTOS // 2),
        kill_at(["anonymise", "-w", "ws-anon-kill"], contest, "contact sheet being made",
                lambda: (ws / "jury" / "package" / "contact-sheet.html").exists()),
    ]
    check_kills(kills, ws)
    run(["anonymise", "-w", "ws-anon-kill"], contest)
    ref, got = _package(contest / "ws-anon-ref"), _package(ws)
    assert len(got) == N_PHOTOS and got == ref  # every eligible entry, byte-identical stripped photos
    on_disk = sorted(p.name for p in photos_dir.iterdir())
    known = sorted(Path(f).name for (f,) in ledger_rows(ws, "SELECT file FROM anon_ids WHERE withdrawn=0"))
    assert on_disk == known  # no stray photo of a killed run, no temporary file
    assert not assert_intact(ws)  # and the run ended with its own --verify scan: no identifying trace
    print({k.point: ("finished" if k.finished else f"killed at {k.seconds:.2f} s") for k in kills})


# --- score --------------------------------------------------------------------------------------------------------
SCORE_ENTRIES, SCORE_JURORS = 1500, 20  # 120,000 criterion scores: ~2-3 s of `score`
ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"


def _scoring_workspace(root: Path) -> Path:
    """A workspace whose ledger holds SCORE_ENTRIES eligible entries with anonymous IDs, and the long CSV of every
    juror's scores for them."""
    import csv
    import random

    from milsetctl.workspace import init_workspace

    rng = random.Random(11)
    anons: list[str] = []
    while len(anons) < SCORE_ENTRIES:
        code = "".join(rng.choice(ALPHABET) for _ in range(6))
        if code not in anons:
            anons.append(code)
    with init_workspace(root / "ws-score-base") as ws:
        rows = [{"entry_id": f"E{i + 1:05d}", "key": f"photos/{i + 1:05d}.jpg", "contestant_id": f"C{i + 1:05d}",
                 "name": f"Student {i + 1}", "school": "School", "grade": "8" if i % 2 else "11",
                 "province": "Beijing", "country": "CN", "email": None, "file": f"photos/{i + 1:05d}.jpg",
                 "title": f"Photo {i + 1}", "description": "", "submitted_at": None, "origin": "test", "listed": 1,
                 "extra": "{}", "sha256": None, "category": "middle" if i % 2 else "high", "status": "eligible"}
                for i in range(SCORE_ENTRIES)]
        ws.ledger.save_results(rows, {})
        for row, anon in zip(rows, anons, strict=True):
            ws.ledger.add_anon_id(anon, row["entry_id"])
    with open(root / "long.csv", "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["juror", "anon_id", "criterion", "score"])
        for j in range(SCORE_JURORS):
            for anon in anons:
                for criterion in ("originality", "information", "technique", "impact"):
                    writer.writerow([f"Juror {j + 1:02d}", anon, criterion, rng.randint(1, 10)])
    return root / "ws-score-base"


def test_score_killed_at_any_point_leaves_all_or_nothing_and_resumes(tmp_path: Path) -> None:
    base = _scoring_workspace(tmp_path)
    for name in ("ws-score-ref", "ws-score-kill"):
        shutil.copytree(base, tmp_path / name)
    args = lambda ws: ["score", "long.csv", "-w", ws, "--json"]  # noqa: E731
    ref, full = run_measured(args("ws-score-ref"), tmp_path)
    ref_json = json.loads(ref.stdout)
    ws = tmp_path / "ws-score-kill"
    wal = ws / "ledger.sqlite-wal"

    def storing() -> bool:  # the scores' transaction is being written: the WAL grows (~0.15 s) before the commit
        try:
            return wal.stat().st_size > 64 << 10
        except OSError:
            return False

    kills = []
    for point, when, share in (("reading the sheets (50% of an uninterrupted run's CPU time)", None, 0.5),
                               ("storing the scores", storing, None),
                               ("combining, or the ranking stored (85% of its CPU time)", None, 0.85)):
        kills.append(kill_at(args("ws-score-kill"), tmp_path, point, when, None if share is None else share * full))
        stored = count(ws, "SELECT COUNT(*) FROM scores")
        kills[-1].point += f" -> {stored} score rows kept"
        assert stored in (0, SCORE_ENTRIES * SCORE_JURORS), f"a half-stored score run: {stored} rows"
        runs = count(ws, "SELECT COUNT(*) FROM score_runs")
        ranked = count(ws, "SELECT COUNT(*) FROM ranking")
        assert ranked in (0, SCORE_ENTRIES) and (runs == 0) == (stored == 0), (stored, runs, ranked)
    check_kills(kills, ws)
    final = json.loads(run(args("ws-score-kill"), tmp_path).stdout)
    assert final["entries"] == ref_json["entries"]
    assert final["agreement"] == ref_json["agreement"]
    table = "SELECT entry_id, anon_id, category, score, rank FROM ranking ORDER BY entry_id"
    assert ledger_rows(ws, table) == ledger_rows(tmp_path / "ws-score-ref", table)
    scores = "SELECT juror, anon_id, scores FROM scores ORDER BY juror, anon_id"
    assert ledger_rows(ws, scores) == ledger_rows(tmp_path / "ws-score-ref", scores)
    print({k.point: ("finished" if k.finished else f"killed at {k.cpu:.2f} s CPU, {k.seconds:.2f} s") for k in kills},
          f"full {full:.2f} s CPU")


# --- certificates -------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def certificate_runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Kill]]:
    """A validated contest of 4 (jury_fixtures' people, Latin and Chinese names) with its secret made, copied
    twice: `certificates participation` uninterrupted in one, killed at three points in the other."""
    from jury_fixtures import PEOPLE, jury_workspace

    from milsetctl.certificates import workspace_secret

    root = tmp_path_factory.mktemp("certs")
    with jury_workspace(root, people=PEOPLE[:4]) as ws:
        workspace_secret(ws)  # the same secret in both copies: the same codes
    for name in ("ws-cert-ref", "ws-cert-kill"):
        shutil.copytree(root / "ws", root / name)
    _, full = run_measured(["certificates", "participation", "-w", "ws-cert-ref", "--json"], root)
    ws = root / "ws-cert-kill"
    folder = ws / "certificates" / "participation"

    def pdfs() -> int:
        try:
            return sum(1 for p in folder.glob("E*.pdf") if not is_temp(p.name))
        except OSError:
            return 0

    args = ["certificates", "participation", "-w", "ws-cert-kill", "--json"]
    kills = [
        kill_at(args, root, "first certificate written", lambda: pdfs() >= 1),
    ]
    for share in (0.5, 0.3):  # the rest being printed; (if that run finished first) start-up of the next
        kills.append(kill_at(args, root, f"{share:.0%} of an uninterrupted run's CPU time", at_cpu=share * full))
    return root, kills


def test_certificates_killed_at_any_point_resume_to_the_same_batch(certificate_runs: tuple[Path, list[Kill]]
                                                                    ) -> None:
    root, kills = certificate_runs
    ws = root / "ws-cert-kill"
    mid_run = [k for k in kills if not k.finished]
    assert len(mid_run) >= 2, kills
    assert_intact(ws)
    final = json.loads(run(["certificates", "participation", "-w", "ws-cert-kill", "--json"], root).stdout)
    table = "SELECT code, kind, recipient_key, recipient, entry_id, content, substr(issued_at, 1, 10) " \
            "FROM issued_certificates ORDER BY code"
    assert ledger_rows(ws, table) == ledger_rows(root / "ws-cert-ref", table)
    assert len(final["certificates"]) == 4
    codes = {c["entry_id"]: c["code"] for c in final["certificates"]}
    assert codes == {r[4]: "-".join(r[0][i:i + 4] for i in range(0, 16, 4)) for r in ledger_rows(ws, table)}
    folder = ws / "certificates" / "participation"
    ref_folder = root / "ws-cert-ref" / "certificates" / "participation"
    final_names = sorted(p.name for p in folder.iterdir() if not is_temp(p.name))
    assert final_names == sorted(p.name for p in ref_folder.iterdir())
    from pypdf import PdfReader

    assert len(PdfReader(folder / "participation-all.pdf").pages) == 4
    assert not assert_intact(ws)  # no temporary file of a killed run left either
    print({k.point: ("finished" if k.finished else f"killed at {k.seconds:.2f} s, {k.workers} workers")
           for k in kills})


def test_certificates_workers_exit_with_the_killed_command(certificate_runs: tuple[Path, list[Kill]]) -> None:
    _, kills = certificate_runs
    for k in kills:
        assert not k.leftovers, f"{k.point}: processes left after the kill: {k.leftovers}"


# --- exit_with_parent, on its own ---------------------------------------------------------------------------------
POOL_SCRIPT = '''
import os, sys, time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context

import milsetctl.locking as locking


def fallback_only(parent):  # what macOS and Windows get: no PR_SET_PDEATHSIG, only the watching thread
    locking._kernel_kills_orphan = lambda: None
    locking.exit_with_parent(parent)


if __name__ == "__main__":
    method, fallback = sys.argv[1], sys.argv[2] == "1"
    pool = ProcessPoolExecutor(2, mp_context=get_context(method),
                               initializer=fallback_only if fallback else locking.exit_with_parent,
                               initargs=(os.getpid(),))
    list(pool.map(time.sleep, [0.3, 0.3]))  # both workers started and initialised
    print(" ".join(str(p) for p in pool._processes), flush=True)
    time.sleep(120)  # the workers wait on their pipe for the next job, as validate's do between photos
'''


@pytest.mark.parametrize(("method", "fallback"), [("spawn", False), ("fork", False), ("spawn", True)],
                         ids=["spawn", "fork (certificates' pool)", "fallback thread only"])
def test_pool_workers_exit_when_their_parent_is_killed(tmp_path: Path, method: str, fallback: bool) -> None:
    script = tmp_path / "pool.py"
    script.write_text(POOL_SCRIPT, encoding="utf-8")
    parent = subprocess.Popen([sys.executable, str(script), method, "1" if fallback else "0"], env=_env("pool"),
                              stdout=subprocess.PIPE, text=True)
    try:
        assert parent.stdout is not None
        workers = [psutil.Process(int(p)) for p in parent.stdout.readline().split()]
        assert len(workers) == 2 and all(w.is_running() for w in workers)
    finally:
        parent.send_signal(signal.SIGKILL)
        parent.wait()
    # they go on their own: the kernel kills them (PR_SET_PDEATHSIG), or their watching thread within a poll
    # (PARENT_POLL_S, kept short). The wait is a bound for a worker that never goes, not a speed limit: it returns
    # as soon as they are gone, and a busy machine may take seconds to schedule them
    from milsetctl.locking import PARENT_POLL_S

    assert PARENT_POLL_S <= 1.0
    _, alive = psutil.wait_procs(workers, timeout=LEFTOVER_WAIT_S)
    alive = [w for w in alive if w.status() != psutil.STATUS_ZOMBIE]
    for w in alive:
        w.kill()
    assert not alive, (f"workers still running {LEFTOVER_WAIT_S:g} s after their parent was killed ({method}, "
                       f"fallback={fallback})")


# --- fsutil: whole or absent ----------------------------------------------------------------------------------------
def test_atomic_write_killed_mid_write_leaves_the_old_file_and_a_temporary_the_next_run_removes(tmp_path: Path
                                                                                                  ) -> None:
    from milsetctl.fsutil import remove_stale_temps

    target = tmp_path / "contest.toml"
    target.write_text('name = "old"\n', encoding="utf-8")
    writer = subprocess.Popen(
        [sys.executable, "-c", "import sys, time\nfrom pathlib import Path\nfrom milsetctl.fsutil import atomic_write\n"
         "with atomic_write(Path(sys.argv[1]), 'w') as fh:\n    fh.write('name = \"new, but cut')\n    fh.flush()\n"
         "    print('writing', flush=True)\n    time.sleep(60)\n", str(target)],
        env=_env("fsutil"), stdout=subprocess.PIPE, text=True)
    assert writer.stdout is not None and writer.stdout.readline().strip() == "writing"
    writer.send_signal(signal.SIGKILL)
    writer.wait()
    assert target.read_text(encoding="utf-8") == 'name = "old"\n'  # never the half-written text
    temps = [p.name for p in tmp_path.iterdir() if p.name != "contest.toml"]
    assert temps == [f".contest.toml.{writer.pid}.tmp"] and is_temp(temps[0])
    assert remove_stale_temps(tmp_path) == 1 and [p.name for p in tmp_path.iterdir()] == ["contest.toml"]


def test_atomic_write_that_fails_leaves_nothing_behind(tmp_path: Path) -> None:
    from milsetctl.fsutil import atomic_write, copy_atomic, write_text_atomic

    target = write_text_atomic(tmp_path / "a.txt", "first\n")
    with pytest.raises(RuntimeError), atomic_write(target, "w") as fh:
        fh.write("second, half")
        raise RuntimeError("disk full")
    assert target.read_text(encoding="utf-8") == "first\n" and [p.name for p in tmp_path.iterdir()] == ["a.txt"]
    copy = copy_atomic(target, tmp_path / "b.txt")
    assert copy.read_bytes() == b"first\n" and copy.stat().st_mtime_ns == target.stat().st_mtime_ns


# --- units of work ------------------------------------------------------------------------------------------------
def test_a_decision_and_a_validate_run_are_each_one_transaction(tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """Killed between writing a decision (or a run's results) and its audit record: the ledger keeps neither."""
    from jury_fixtures import jury_workspace

    from milsetctl.decisions import record_decision

    with jury_workspace(tmp_path) as ws:
        before = [tuple(r) for r in ws.ledger.entries()]

        def killed(*args: object, **kwargs: object) -> None:
            raise KeyboardInterrupt  # what Ctrl-C (or the end of the process) does at that instant

        monkeypatch.setattr(ws.ledger, "audit", killed)
        with pytest.raises(KeyboardInterrupt):
            record_decision(ws.ledger, "E0001", "reject", "a copy of E0002")
        with pytest.raises(KeyboardInterrupt):
            ws.ledger.save_results([{**dict(r), "status": "rejected", "extra": "{}"} for r in ws.ledger.entries()],
                                   {}, audit=("validate", {"entries": len(before)}))
        monkeypatch.undo()
        assert [tuple(r) for r in ws.ledger.entries()] == before  # no status changed, no result saved
        assert ws.ledger.latest_decisions() == {}
        statements: list[str] = []
        ws.ledger.db.set_trace_callback(statements.append)
        outcome = record_decision(ws.ledger, "E0001", "reject", "a copy of E0002")
        ws.ledger.db.set_trace_callback(None)
        assert outcome.new_status == "rejected" and ws.ledger.entry("E0001")["status"] == "rejected"
        assert ws.ledger.last_audit("decide") is not None
        # the decision, the status it settles and its audit record: no COMMIT in between (a kill there would
        # leave a rejected entry eligible for the jury package, or a decision off the record)
        writes = [i for i, sql in enumerate(statements)
                  if sql.lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE"))]
        assert any("UPDATE entries SET status" in statements[i] for i in writes), statements
        between = statements[writes[0]:writes[-1]]
        assert not [sql for sql in between if sql.strip().upper() in ("COMMIT", "END")], statements
