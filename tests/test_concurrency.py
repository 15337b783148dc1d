"""Two commands on one workspace at once (issue 11): the second writer waits a bounded time, then stops with exit 1
naming the command that runs and since when; with a longer --wait it runs after the first; read-only commands
(status) neither wait nor block; the ledger stays intact; never a traceback, never "database is locked"."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import make_jpeg, write_manifest

from milsetctl.locking import HOLDER_FILE, WorkspaceBusy, WorkspaceLock, read_holder

REPO = Path(__file__).resolve().parent.parent
N_PHOTOS = 14  # validate -j 1 on these takes a few seconds: long enough to meet it running


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    env.pop("MILSETCTL_WAIT", None)
    return env


def start(args: list[str], cwd: Path) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "milsetctl", *args], cwd=cwd, env=_env(), text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


# bounds for a hung process, not limits on speed: the waits end as soon as the process answers, and a busy
# 2-core machine may take minutes where an idle one takes seconds (issue 18)
HANG_S = 600


def finish(proc: subprocess.Popen[str], timeout: float = HANG_S) -> tuple[int, str, str]:
    out, err = proc.communicate(timeout=timeout)
    assert "Traceback" not in err and "database is locked" not in err, err
    return proc.returncode, out, err


@pytest.fixture(scope="module")
def contest(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("concurrent")
    source = root / "submissions"
    rows = []
    for i in range(N_PHOTOS):
        rel = f"photos/p{i:02d}.jpg"
        make_jpeg(source / rel, exif={"make": "Canon", "model": "EOS 90D"}, seed=i)
        rows.append({"contestant_id": f"C{i:02d}", "name": f"Student {i}", "school": "School", "grade": "8",
                     "province": "Beijing", "country": "China", "file": rel, "title": f"Sky {i}",
                     "description": "Stars", "submitted_at": "2022-07-05 09:30"})
    write_manifest(source, rows)
    return root


def _validate_running(contest: Path, ws: str) -> subprocess.Popen[str]:
    """A `validate` creating the workspace `ws` that has taken its lock (its holder record is there)."""
    proc = start(["validate", "submissions", "-w", ws, "-j", "1", "--json"], contest)
    deadline = time.monotonic() + HANG_S
    while not (contest / ws / HOLDER_FILE).exists():
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, f"validate took no lock in {HANG_S} s"
        time.sleep(0.02)
    return proc


def _integrity(root: Path) -> str:
    con = sqlite3.connect(root / "ledger.sqlite")
    try:
        return str(con.execute("PRAGMA integrity_check").fetchone()[0])
    finally:
        con.close()


def test_a_second_writer_waits_or_stops_naming_the_running_command_and_readers_never_wait(contest: Path) -> None:
    """While `validate` creates and fills a workspace: `decide --wait 0.3` stops with exit 1 naming it, `status`
    answers at once, and `decide --wait 600` waits for it, then records the decision.

    `validate` is paused (SIGSTOP) while it holds the lock, until the impatient writer and the reader are done:
    otherwise, on a busy machine, it could finish before a Python start-up of theirs and nothing would be tested.
    """
    first = _validate_running(contest, "ws")
    first.send_signal(signal.SIGSTOP)
    try:
        holder = read_holder(contest / "ws")
        assert holder is not None and holder.pid == first.pid and "validate submissions" in holder.command
        impatient = start(["--wait", "0.3", "decide", "E0001", "accept", "--reason", "seen", "-w", "ws"], contest)
        reader = start(["--wait", "0", "status", "-w", "ws"], contest)
        patient = start(["--wait", str(HANG_S), "decide", "E0001", "reject", "--reason", "a copy", "-w", "ws"],
                        contest)
        impatient_done, reader_done = finish(impatient), finish(reader)
        assert first.poll() is None
    finally:
        first.send_signal(signal.SIGCONT)

    code, out, err = impatient_done
    assert code == 1 and out == ""
    message = " ".join(err.split())
    assert "in use by `milsetctl validate submissions -w ws -j 1 --json`" in message
    assert f"pid {first.pid}" in message and "running since" in message and "waited 0.3 s" in message
    # the holder's start in the contest time zone (Asia/Shanghai by default), readable: no raw ISO
    assert re.search(r"running since \d{4}-\d\d-\d\d \d\d:\d\d Asia/Shanghai", message), message

    code, out, err = reader_done
    assert code == 0 and "waiting" not in err and "workspace" in out

    code, out, _ = finish(first)
    assert code == 0 and json.loads(out)["summary"]["entries"] == N_PHOTOS
    code, out, err = finish(patient)
    assert code == 0 and "E0001: rejected" in out
    assert "waiting:" in err and "validate submissions" in err  # it said whom it waited for

    assert _integrity(contest / "ws") == "ok"
    assert not (contest / "ws" / HOLDER_FILE).exists()  # the record goes with the lock
    con = sqlite3.connect(contest / "ws" / "ledger.sqlite")
    try:  # the refused decide wrote nothing; the patient one's decision stands
        assert con.execute("SELECT decision FROM decisions").fetchall() == [("reject",)]
        assert con.execute("SELECT status FROM entries WHERE entry_id='E0001'").fetchone()[0] == "rejected"
    finally:
        con.close()


def test_a_killed_writer_never_leaves_the_workspace_locked(contest: Path) -> None:
    first = _validate_running(contest, "ws-killed")
    first.send_signal(signal.SIGKILL)
    first.wait()
    assert (contest / "ws-killed" / HOLDER_FILE).exists()  # its record stays, but the OS dropped the lock itself
    code, out, err = finish(start(["--wait", "0", "init", "-w", "ws-killed"], contest))
    assert code == 0 and "waiting" not in err and "ws-killed" in out
    assert not (contest / "ws-killed" / HOLDER_FILE).exists()
    assert _integrity(contest / "ws-killed") == "ok"


def test_the_lock_is_reentrant_in_one_process_and_exclusive_between_processes(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    root.mkdir()
    with WorkspaceLock(root, command="milsetctl score sheets/") as outer:
        with WorkspaceLock(root).acquire(wait=0):  # a command that opens its workspace twice
            pass
        assert read_holder(root) is not None  # the inner release kept the outer hold
        other = subprocess.run(
            [sys.executable, "-c", "import sys; from pathlib import Path; from milsetctl.locking import *\n"
             "try:\n    WorkspaceLock(Path(sys.argv[1])).acquire(wait=0.2)\nexcept WorkspaceBusy as e:\n"
             "    print(e); sys.exit(3)", str(root)], env=_env(), capture_output=True, text=True, timeout=HANG_S)
        assert other.returncode == 3, other.stderr
        assert "`milsetctl score sheets/`" in other.stdout and f"pid {os.getpid()}" in other.stdout
        assert outer.path.exists()
    assert read_holder(root) is None
    WorkspaceLock(root).acquire(wait=0).release()


def test_workspace_busy_names_nobody_when_the_holder_did_not_say(tmp_path: Path) -> None:
    from filelock import FileLock

    root = tmp_path / "ws"
    root.mkdir()
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    (root / HOLDER_FILE).write_text(json.dumps({  # a killed holder's record: its pid no longer runs here
        "command": "milsetctl validate old", "pid": int(gone.stdout), "host": socket.gethostname(), "user": "x",
        "since": "2026-01-01T00:00:00+00:00"}), encoding="utf-8")
    assert read_holder(root) is None
    child = subprocess.Popen(
        [sys.executable, "-c", "import sys, time; from filelock import FileLock\n"
         f"lock = FileLock(sys.argv[1]); lock.acquire(); print('held', flush=True); time.sleep({HANG_S})",
         str(root / ".milsetctl.lock")], env=_env(), stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "held"
        with pytest.raises(WorkspaceBusy) as caught:
            WorkspaceLock(root).acquire(wait=0.1)
        assert "in use by another milsetctl command" in str(caught.value) and caught.value.holder is None
    finally:
        child.kill()
        child.wait()
    assert FileLock(str(root / ".milsetctl.lock")).acquire(timeout=HANG_S)


def test_database_is_locked_at_the_cli_boundary_is_one_clear_line(monkeypatch: pytest.MonkeyPatch,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    """A program outside milsetctl holding the ledger's write lock past SQLite's 30 s: one line, exit 1."""
    from milsetctl import cli

    def busy() -> None:
        raise sqlite3.OperationalError("database is locked")

    monkeypatch.setattr(cli, "app", busy)
    with pytest.raises(SystemExit) as caught:
        cli.main()
    assert caught.value.code == 1
    err = " ".join(capsys.readouterr().err.split())
    assert "error: the ledger is busy" in err and "Traceback" not in err

    def other() -> None:
        raise sqlite3.OperationalError("no such table: nothing")

    monkeypatch.setattr(cli, "app", other)
    with pytest.raises(sqlite3.OperationalError):  # other database errors are bugs: not hidden
        cli.main()
