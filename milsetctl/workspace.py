"""The contest workspace: a folder holding the settings, the ledger and every output.

Commands work on the workspace holding the current directory (`find_workspace`: that folder or the nearest one
above it, as git finds its repository) or the one named with -w. `validate SOURCE` creates it on first use, in
the current directory when no folder above is one. It must never sit inside SOURCE: nothing is ever written there.
"""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from milsetctl import settings as settings_mod
from milsetctl.ledger import LEDGER_FILE, Ledger, LedgerError
from milsetctl.locking import DEFAULT_WAIT_S, Holder, WorkspaceBusy, WorkspaceLock
from milsetctl.models import StageError
from milsetctl.settings import SETTINGS_FILE, Settings, SettingsError


class WorkspaceError(RuntimeError):
    pass


class LedgerUnusable(WorkspaceError):
    """The ledger cannot be opened as it is (newer than this milsetctl, or the key that sealed it is gone): not a
    usage error; one message, exit 1."""


class SourceError(WorkspaceError):
    """SOURCE holds another contest than the one this workspace keeps (a usage error: exit 2)."""


@dataclass
class Workspace:
    root: Path
    settings: Settings
    ledger: Ledger
    created: bool = False
    lock: Any = None  # the WorkspaceLock a writing command holds (milsetctl/locking.py); close() lets it go

    @property
    def thumbs(self) -> Path:
        return self.root / "cache" / "thumbs"

    def close(self) -> None:
        try:
            self.ledger.close()
        finally:
            if self.lock is not None:
                self.lock.release()
                self.lock = None

    def __enter__(self) -> Workspace:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def is_workspace(root: Path) -> bool:
    return (root / SETTINGS_FILE).exists() or (root / LEDGER_FILE).exists()


def find_workspace(start: Path, source: Path | None = None) -> Path | None:
    """The workspace `start` is in: `start` itself or the nearest folder above it holding contest.toml or the
    ledger, as git finds `.git`; None when no folder up to the filesystem's root is one.

    A coordinator working in `jury/sheets/` or `reports/` means the contest around it. Folders inside `source`
    (the submissions folder named on the command line, never written) are passed over: a stray contest.toml
    copied in with the photos does not make the submissions a workspace. A folder that cannot be looked into
    is passed over too."""
    here = start.resolve()
    skip = source.resolve() if source is not None else None
    for folder in (here, *here.parents):
        if skip is not None and (folder == skip or skip in folder.parents):
            continue
        try:
            if is_workspace(folder):
                return folder
        except OSError:  # no permission to look in: keep walking up
            continue
    return None


def init_workspace(root: Path, source: Path | None = None, country: str | None = None) -> Workspace:
    """Create (or re-open) a workspace: settings file with every default written out, and the ledger.
    `country`: `[contest] country`, the country this national round runs in, as jury.conflicts.contest_country
    names it (nominate leaves out entrants from other countries); None leaves the setting as it is."""
    root = root.resolve()
    if source is not None:
        check_outside(root, source)
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise WorkspaceError(f"cannot create the workspace {root}: {exc.strerror or exc}") from exc
    created = not is_workspace(root)
    settings_path = root / SETTINGS_FILE
    if not settings_path.exists():
        settings_mod.write_default(settings_path, str(source.resolve()) if source else "")
    elif source is not None and not settings_mod.load(settings_path).source:
        settings_mod.remember_source(settings_path, str(source.resolve()))
    # another folder than the one remembered: check_source decides, adopt_source records it
    if country is not None:
        settings_mod.remember_country(settings_path, country)
    ws = open_workspace(root)
    ws.created = created
    if created:
        ws.ledger.audit("init", {"workspace": str(root), "source": str(source) if source else None,
                                 **({"country": country} if country else {})})
    return ws


def set_country(ws: Workspace, country: str) -> None:
    """Write `[contest] country` into the workspace's settings (the answer `init` asks for in a terminal) and
    read them again: `country` as jury.conflicts.contest_country names it."""
    settings_mod.remember_country(ws.root / SETTINGS_FILE, country)
    ws.settings = settings_mod.load(ws.root / SETTINGS_FILE)


def open_workspace(root: Path, read_only: bool = False) -> Workspace:
    """The workspace at `root`; `read_only`: its ledger opened so that nothing is written (ledger.Ledger)."""
    root = root.resolve()
    if not root.exists():  # a typed path that names nothing: never advise making a workspace at a typo
        raise WorkspaceError(f"{root}: no such folder.{_workspaces_like(root)} A contest workspace is the folder "
                             "`milsetctl init` (or the first `milsetctl validate`) made; name it with -w.")
    if not is_workspace(root):
        raise WorkspaceError(
            f"{root} is not a contest workspace (no {SETTINGS_FILE}). Run `milsetctl init` there, "
            "or `milsetctl validate SOURCE` to create it, or name one with -w."
        )
    settings = settings_mod.load(root / SETTINGS_FILE)
    try:
        ledger = Ledger(root / LEDGER_FILE, read_only=read_only)
    except LedgerError as exc:
        raise LedgerUnusable(str(exc)) from None
    return Workspace(root=root, settings=settings, ledger=ledger)


def _workspaces_like(root: Path) -> str:
    """' Did you mean …?' naming the workspaces beside `root` whose names are close to its name, or ''."""
    import difflib

    try:
        beside = [p.name for p in root.parent.iterdir() if is_workspace(p)]
    except OSError:
        return ""
    close = difflib.get_close_matches(root.name, beside, n=3, cutoff=0.6)
    return f" Did you mean {' or '.join(str(root.parent / name) for name in close)}?" if close else ""


def lock_workspace(root: Path, wait: float = DEFAULT_WAIT_S, on_wait: Callable[[str], None] | None = None,
                   opened: Workspace | None = None) -> WorkspaceLock:
    """Take the workspace's lock for a command that writes (Workspace.close lets go); the OS drops it if the
    process dies, even by SIGKILL. `on_wait(who)`: called once, naming the command holding the lock, when this
    call starts waiting. After `wait` seconds, or when the lock file cannot be made (a read-only folder), raises
    StageError (code 1), closing `opened` (the workspace already open) first."""

    def waiting(holder: Holder | None) -> None:
        if on_wait is not None:
            on_wait(holder.describe() if holder is not None else "another milsetctl command")

    try:
        return WorkspaceLock(root).acquire(wait, on_wait=waiting)
    except (WorkspaceBusy, OSError) as exc:
        if opened is not None:
            opened.close()
        if isinstance(exc, WorkspaceBusy):
            raise StageError(str(exc), 1) from None
        # a read-only folder: nothing could be written there anyway
        raise StageError(f"{root}: cannot lock the workspace for writing ({exc.strerror or exc})", 1) from None


class NotAWorkspace(StageError):
    """No workspace where one was named (a usage error: code 2)."""


def open_for_command(root: Path, read_only: bool = False, wait: float = DEFAULT_WAIT_S,
                     on_wait: Callable[[str], None] | None = None) -> Workspace:
    """Open the workspace for a command. One that writes holds the workspace lock until the workspace is closed
    (waiting up to `wait` seconds, see lock_workspace); `read_only` ones (status, verify, members list/status, fees
    quote, regions) take no lock and never wait: the ledger (SQLite, WAL) shows them the last committed state while
    another command writes, and they never write it (no schema upgrade, no audit migration: `mode=ro`, see
    ledger.Ledger). Raises StageError: code 1 when the lock is not had or the ledger is unusable (newer than this
    milsetctl, or its sealing key lost), NotAWorkspace (code 2) when there is no workspace at `root`."""
    resolved = root.resolve()
    lock = lock_workspace(resolved, wait, on_wait) if not read_only and is_workspace(resolved) else None
    try:
        ws = open_workspace(root, read_only=read_only)
    except LedgerUnusable as exc:
        if lock is not None:
            lock.release()
        raise StageError(str(exc), 1) from None
    except (WorkspaceError, SettingsError) as exc:
        if lock is not None:
            lock.release()
        raise NotAWorkspace(str(exc), 2) from None
    ws.lock = lock
    return ws


def check_outside(workspace: Path, source: Path) -> None:
    ws, src = workspace.resolve(), source.resolve()
    if ws == src or src in ws.parents:
        raise WorkspaceError(
            f"the workspace {ws} would be inside the submissions folder {src}; nothing may be written there. "
            "Run from another folder or name a workspace with -w."
        )


# --- the submissions folder a workspace keeps ------------------------------------------------------------------
# A folder counts as this contest's when more than this share of its photos have content the ledger knows.
KNOWN_SHARE = 0.5


@dataclass
class SourceChange:
    """What naming another SOURCE for an existing workspace would do; `check_source` fills it, `adopt_source`
    applies it."""

    remembered: str  # the folder contest.toml remembers
    source: str  # the folder named now (resolved)
    photos: int = 0  # image files in it
    known: int = 0  # of which the ledger knows the content (same SHA-256)
    same_path: int = 0  # of those, found at the same relative path
    renames: dict[str, str] = field(default_factory=dict)  # ledger key -> key now, for photos that moved inside
    hashes: dict[str, tuple[int, int, str]] = field(default_factory=dict)  # path -> (size, mtime_ns, sha256)
    replaced: bool = False  # --replace-source: a new contest in this workspace
    fresh: bool = False  # the ledger holds no entry yet: nothing to compare, the folder is simply remembered

    @property
    def note(self) -> str:
        """One line for the coordinator ('' when there is nothing to say)."""
        if self.fresh:
            return ""
        if self.replaced:
            return (f"submissions folder replaced: {self.remembered} -> {self.source} (--replace-source); entries "
                    "found only in the old folder stay in the ledger as absent, with their decisions")
        gone = "" if Path(self.remembered).is_dir() else " (no longer there)"
        moved = f", {len(self.renames)} under another path inside it" if self.renames else ""
        return (f"the contest continues from {self.source}: {self.known} of its {self.photos} photos are the ones "
                f"checked from {self.remembered}{gone}, same entry IDs{moved}")


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _key_rel(key: str) -> str | None:
    """'file:photos/a.jpg#2' -> 'photos/a.jpg'; None for rows that name no file."""
    if not key.startswith("file:"):
        return None
    return key[5:].split("#", 1)[0]


def check_source(ws: Workspace, source: Path, replace: bool = False,
                 files: dict[str, Path] | None = None) -> SourceChange | None:
    """Is SOURCE the contest this workspace keeps? None when it is the remembered folder; a SourceChange to
    `adopt_source` when the workspace holds no entry yet, when it is the same contest (a moved or copied drive:
    most photos have content the ledger knows), or when `replace` is set.

    Photos are matched by content (SHA-256; a file whose relative path, size and modification time match the
    stat cache is not read again), so a copy whose files moved between sub-folders keeps its entry IDs too.
    `files`: the folder's photos as `read_submissions` found them (relative path -> file; a folder of nomination
    packages has them extracted); scanned here when None. Raises SourceError naming the remembered folder when
    most photos are unknown. Reads SOURCE, writes nothing.
    """
    source = source.resolve()
    remembered = ws.settings.source
    if remembered and Path(remembered) == source:
        return None
    change = SourceChange(remembered=remembered, source=str(source), replaced=replace)
    rows = ws.ledger.entries(present_only=False)
    if not remembered or not rows:
        change.fresh = True
        return change
    if replace:
        return change
    if files is None:
        from milsetctl.ingest import scan_images

        files = scan_images(source, exclude=ws.root)
    images = files
    change.photos = len(images)
    stat_cache = ws.ledger.all_file_shas()
    known_shas = {r["sha256"] for r in rows if r["sha256"]} | {v[2] for v in stat_cache.values()}
    by_sha: dict[str, list[str]] = {}  # content -> ledger keys of entries with that photo
    for r in rows:
        if r["sha256"] and _key_rel(r["key"]) is not None:
            by_sha.setdefault(r["sha256"], []).append(r["key"])
    taken_keys = {r["key"] for r in rows}
    now_rels = set(images)
    for rel, path in images.items():
        try:
            st = path.stat()
            old = stat_cache.get(str(path)) or stat_cache.get(str(Path(remembered) / rel))
            same = old is not None and old[:2] == (st.st_size, st.st_mtime_ns)
            sha = old[2] if same and old else _sha256(path)
        except OSError:
            continue
        change.hashes[str(path)] = (st.st_size, st.st_mtime_ns, sha)
        if sha not in known_shas:
            continue
        change.known += 1
        keys = by_sha.get(sha, [])
        if any(_key_rel(k) == rel for k in keys):
            change.same_path += 1
            continue
        # the photo moved inside the folder: the entry whose old path is gone takes the new path
        movable = [k for k in keys if _key_rel(k) not in now_rels and k not in change.renames]
        if f"file:{rel}" in taken_keys or not movable:
            continue
        by_name = [k for k in movable if (_key_rel(k) or "").rsplit("/", 1)[-1] == rel.rsplit("/", 1)[-1]]
        pick = (by_name or movable)[0] if len(by_name) == 1 or len(movable) == 1 else None
        if pick is not None:
            change.renames[pick] = f"file:{rel}"
            for k in taken_keys:  # rows naming the same file twice ('#2') move with it
                if k.startswith(pick + "#"):
                    change.renames[k] = f"file:{rel}{k[len(pick):]}"
    if change.known <= change.photos * KNOWN_SHARE or change.photos == 0:
        unknown = change.photos - change.known
        raise SourceError(
            f"{source} is not the submissions folder of this workspace's contest: {unknown} of its {change.photos} "
            f"photos are unknown to the ledger, which keeps the contest from {remembered}. Name that folder (or "
            f"where it is now), use another workspace (-w) for another contest, or add --replace-source to make "
            f"{source.name or source} this workspace's submissions (entries not in it are kept as absent)."
        )
    return change


def adopt_source(ws: Workspace, change: SourceChange) -> None:
    """Make the checked folder the workspace's SOURCE: moved photos keep their entry IDs, the files hashed while
    checking go into the stat cache (their analysis, cached by content, is not redone), contest.toml remembers
    the folder, and the audit trail says what happened."""
    ledger = ws.ledger
    ledger.rename_keys(change.renames)
    for path, (size, mtime_ns, sha) in change.hashes.items():
        ledger.remember_file(path, size, mtime_ns, sha)
    ledger.commit()
    settings_mod.remember_source(ws.root / SETTINGS_FILE, change.source)
    ws.settings = settings_mod.load(ws.root / SETTINGS_FILE)
    if change.fresh:
        return
    ledger.audit("replace-source" if change.replaced else "source-moved", {
        "from": change.remembered, "to": change.source, "photos": change.photos, "known": change.known,
        "renamed": len(change.renames)})


def first_missing(path: Path) -> Path | None:
    """The outermost folder of `path` that does not exist yet (None when `path` exists): what creating it makes."""
    path = path.resolve()
    if path.exists():
        return None
    while not path.parent.exists():
        path = path.parent
    return path


def remove_if_created(created: Path | None) -> None:
    """Undo the folders this run created (`first_missing` before it started) when it fails before the workspace
    exists: a broken manifest leaves nothing behind. A folder that was there before is never touched."""
    if created is None or not created.is_dir() or is_workspace(created):
        return
    shutil.rmtree(created, ignore_errors=True)
