"""Concurrent runs and killed runs: one writer per workspace, and worker processes that die with their parent.

Two commands writing one workspace at once (two terminals, or a coordinator and a jury chair on a shared drive)
would interleave their files and their ledger transactions. Every command that writes therefore holds the
workspace lock (`WorkspaceLock`, an OS file lock through the `filelock` package) for its whole life; a second
writer waits a bounded time, then stops naming the command that holds it and since when. The kernel drops the
lock when its holder dies, even by SIGKILL, so a killed run never leaves the workspace locked. Read-only commands
take no lock: the ledger is SQLite in WAL mode, where readers see the last committed state and never wait.

A pool worker waits on a pipe for its next job; when its parent is killed (SIGKILL, the OOM killer) nobody writes
to that pipe again and the worker would wait forever, holding its memory. `exit_with_parent` (a pool initializer)
makes it exit within a second of its parent's death.
"""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import signal
import socket
import sys
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

LOCK_FILE = ".milsetctl.lock"  # the file the OS lock is taken on; never deleted (waiters share its inode)
HOLDER_FILE = ".milsetctl.lock.json"  # who holds the lock: written after taking it, removed before releasing
DEFAULT_WAIT_S = 10.0  # how long a second writer waits before it stops (`milsetctl --wait SECONDS`)
PARENT_POLL_S = 0.5  # how often a worker looks for its parent where the kernel cannot tell it


# --- workers that exit with their parent -------------------------------------------------------------------------
def exit_with_parent(parent_pid: int | None = None) -> None:
    """Pool initializer: end this worker process soon after its parent dies, however the parent died.

    Use as `ProcessPoolExecutor(initializer=exit_with_parent, initargs=(os.getpid(),))`, or call it first thing in
    an initializer of your own. On Linux the kernel sends SIGKILL the moment the parent exits
    (prctl PR_SET_PDEATHSIG); everywhere, a daemon thread also checks every PARENT_POLL_S seconds that the parent
    is still there (POSIX: this process was not re-parented; Windows: the parent's handle is not signalled).
    `parent_pid`: the pool owner's pid (default: this process's parent at start-up). Never raises.
    """
    try:
        start_ppid = os.getppid()
        parent = parent_pid if parent_pid is not None else start_ppid
        _kernel_kills_orphan()
        if not _parent_alive(parent, start_ppid):  # it died before the kernel was asked to tell us
            os._exit(1)
        threading.Thread(target=_watch_parent, args=(parent, start_ppid), name="milsetctl-parent-watch",
                         daemon=True).start()
    except Exception:  # a worker that cannot watch its parent still works; it only lingers if orphaned
        pass


def _kernel_kills_orphan() -> None:
    if not sys.platform.startswith("linux"):
        return
    import ctypes

    pr_set_pdeathsig = 1  # <linux/prctl.h>
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(pr_set_pdeathsig, int(signal.SIGKILL), 0, 0, 0)
    except (OSError, AttributeError):
        pass


def _parent_alive(parent: int, start_ppid: int) -> bool:
    """Whether the pool owner still runs. POSIX: an orphan is re-parented (to init or a subreaper), so its parent
    pid changes; the owner given may also be a grand-parent (a fork server), checked by pid."""
    if os.name == "nt":
        return _windows_pid_alive(parent)
    if os.getppid() != start_ppid:
        return False
    return parent == start_ppid or pid_alive(parent)


def _windows_pid_alive(pid: int) -> bool:
    import ctypes

    synchronize, wait_timeout = 0x00100000, 0x102
    kernel32 = ctypes.windll.kernel32  # type: ignore[attr-defined]
    handle = kernel32.OpenProcess(synchronize, False, pid)
    if not handle:
        return False
    try:
        return bool(kernel32.WaitForSingleObject(handle, 0) == wait_timeout)
    finally:
        kernel32.CloseHandle(handle)


def _watch_parent(parent: int, start_ppid: int) -> None:
    while True:
        time.sleep(PARENT_POLL_S)
        if not _parent_alive(parent, start_ppid):
            os._exit(1)


# --- one writer per workspace ------------------------------------------------------------------------------------
class WorkspaceBusy(RuntimeError):
    """Another command holds the workspace lock and did not let go within the wait. `holder` says who, if known."""

    def __init__(self, message: str, holder: Holder | None) -> None:
        super().__init__(message)
        self.holder = holder


@dataclass(frozen=True)
class Holder:
    """The command holding a workspace lock, as it recorded itself in HOLDER_FILE."""

    command: str
    pid: int
    host: str
    user: str
    since: str  # ISO 8601 with this machine's UTC offset
    tz: str = ""  # the contest time zone the message shows `since` in ("": this machine's)

    def describe(self) -> str:
        """'`milsetctl validate subs` (pid 4242 on host1, alice) running since 2026-11-30 11:20 Asia/Shanghai'."""
        from zoneinfo import ZoneInfo

        from milsetctl.timefmt import contest_time

        try:
            zone = ZoneInfo(self.tz) if self.tz else None
        except (ValueError, KeyError):  # an unknown zone name: this machine's time, still with its offset
            zone = None
        since = contest_time(self.since, zone) or self.since
        return f"`{self.command}` (pid {self.pid} on {self.host}, {self.user}) running since {since}"


def command_line() -> str:
    """This process's command line as a person typed it ('milsetctl validate subs -w ws'), for HOLDER_FILE: the one
    the CLI recorded for the audit trail, else argv."""
    from milsetctl.ledger import _INVOCATION

    if _INVOCATION.get("command"):
        return str(_INVOCATION["command"])
    prog = Path(sys.argv[0]).name if sys.argv else ""
    if "milsetctl" in prog or prog == "__main__.py":
        return shlex.join(["milsetctl", *sys.argv[1:]])
    return shlex.join([prog or "python", *sys.argv[1:]])


def _user() -> str:
    """The operator (--by, MILSETCTL_USER, else the login name), as the audit trail names them."""
    from milsetctl.ledger import current_user

    return current_user()


def _contest_tz(root: Path) -> str:
    """The contest time zone named in the workspace's settings file, read without loading the workspace (the
    settings' default when the file names none); "" without a readable settings file."""
    import tomllib

    from milsetctl.settings import DEFAULT_TOML, SETTINGS_FILE

    try:
        data = tomllib.loads((root / SETTINGS_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return ""
    zone = (data.get("contest") or {}).get("timezone") or tomllib.loads(DEFAULT_TOML)["contest"]["timezone"]
    return str(zone)


def read_holder(root: Path) -> Holder | None:
    """Who holds (or last held) the lock of the workspace at `root`; None when nobody recorded it or the record
    cannot be read. A record left by a killed holder stays until the next holder overwrites it: it means something
    only while the lock is actually held (`WorkspaceLock` reads it only when it cannot take the lock)."""
    try:
        data = json.loads((root / HOLDER_FILE).read_text(encoding="utf-8"))
        holder = Holder(command=str(data["command"]), pid=int(data["pid"]), host=str(data["host"]),
                        user=str(data.get("user", "")), since=str(data["since"]), tz=_contest_tz(root))
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if holder.host == socket.gethostname() and not pid_alive(holder.pid):
        return None  # a killed holder's record, read in the instant before the new holder writes its own
    return holder


def pid_alive(pid: int) -> bool:
    """Whether process `pid` runs on this machine (another user's counts as running: its files are left alone)."""
    if os.name == "nt":
        return _windows_pid_alive(pid)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True
    return True


# locks this process holds: root -> [lock, depth]. A command that opens its workspace twice (or a library call made
# by a command) takes the lock again without waiting for itself.
_HELD: dict[str, list[Any]] = {}
_HELD_GUARD = threading.Lock()


class WorkspaceLock:
    """The exclusive lock of one workspace, held by a command that writes to it. Re-entrant within a process.

    with WorkspaceLock(root).acquire(wait=10): ...   # raises WorkspaceBusy naming the holder after 10 s
    """

    def __init__(self, root: Path, command: str | None = None) -> None:
        self.root = Path(root).resolve()
        self.command = command or command_line()
        self._held = False

    @property
    def path(self) -> Path:
        return self.root / LOCK_FILE

    def acquire(self, wait: float = DEFAULT_WAIT_S, on_wait: Any = None) -> WorkspaceLock:
        """Take the lock, waiting up to `wait` seconds (0: do not wait) for another command to finish.

        `on_wait(holder)`: called once when the lock is taken by someone else and this call starts waiting (to say
        so on the terminal). Raises WorkspaceBusy when the wait runs out, OSError when the lock file cannot be
        created (a read-only workspace)."""
        from filelock import FileLock, Timeout

        key = str(self.root)
        with _HELD_GUARD:
            held = _HELD.get(key)
            if held is not None:
                held[1] += 1
                self._held = True
                return self
        lock = FileLock(str(self.path), timeout=-1)
        try:
            lock.acquire(timeout=0)
        except Timeout:
            holder = read_holder(self.root)
            if on_wait is not None and wait > 0:
                on_wait(holder)
            try:
                lock.acquire(timeout=max(0.0, wait), poll_interval=0.1)
            except Timeout:
                holder = read_holder(self.root) or holder
                who = holder.describe() if holder is not None else "another milsetctl command"
                raise WorkspaceBusy(
                    f"the workspace {self.root} is in use by {who}; waited {wait:g} s. Run this again when it has "
                    "finished, or wait longer with `milsetctl --wait SECONDS ...`", holder) from None
        try:
            self._write_holder()
        except BaseException:
            lock.release()
            raise
        with _HELD_GUARD:
            _HELD[key] = [lock, 1]
        self._held = True
        return self

    def _write_holder(self) -> None:
        record = {"command": self.command, "pid": os.getpid(), "host": socket.gethostname(), "user": _user(),
                  "since": datetime.now().astimezone().isoformat(timespec="seconds")}
        from milsetctl.fsutil import atomic_write, remove_stale_temps

        remove_stale_temps(self.root, (f".{HOLDER_FILE}.*.tmp",))  # a holder killed while writing its record
        with atomic_write(self.root / HOLDER_FILE, "w") as fh:
            json.dump(record, fh, ensure_ascii=False)

    def release(self) -> None:
        """Let go (the last release of a re-entrant hold removes the holder record, then unlocks)."""
        if not self._held:
            return
        self._held = False
        key = str(self.root)
        with _HELD_GUARD:
            held = _HELD.get(key)
            if held is None:
                return
            held[1] -= 1
            if held[1] > 0:
                return
            del _HELD[key]
        with contextlib.suppress(OSError):
            (self.root / HOLDER_FILE).unlink(missing_ok=True)
        held[0].release()

    def __enter__(self) -> WorkspaceLock:
        if not self._held:
            self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def held_by_this_process(root: Path) -> bool:
    """Whether this process holds the lock of the workspace at `root` (for code that must only run under it)."""
    return str(Path(root).resolve()) in _HELD
