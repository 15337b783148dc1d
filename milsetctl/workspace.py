"""The contest workspace: a folder holding the settings, the ledger and every output.

Commands work on the workspace in the current directory or the one named with -w. `validate SOURCE`
creates it on first use. It must never sit inside SOURCE: nothing is ever written there.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from milsetctl import settings as settings_mod
from milsetctl.ledger import LEDGER_FILE, Ledger
from milsetctl.settings import SETTINGS_FILE, Settings


class WorkspaceError(RuntimeError):
    pass


@dataclass
class Workspace:
    root: Path
    settings: Settings
    ledger: Ledger
    created: bool = False

    @property
    def thumbs(self) -> Path:
        return self.root / "cache" / "thumbs"

    def close(self) -> None:
        self.ledger.close()

    def __enter__(self) -> Workspace:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def is_workspace(root: Path) -> bool:
    return (root / SETTINGS_FILE).exists() or (root / LEDGER_FILE).exists()


def init_workspace(root: Path, source: Path | None = None) -> Workspace:
    """Create (or re-open) a workspace: settings file with every default written out, and the ledger."""
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
    elif source is not None:
        settings_mod.remember_source(settings_path, str(source.resolve()))
    ws = open_workspace(root)
    ws.created = created
    if created:
        ws.ledger.audit("init", {"workspace": str(root), "source": str(source) if source else None})
    return ws


def open_workspace(root: Path) -> Workspace:
    root = root.resolve()
    if not is_workspace(root):
        raise WorkspaceError(
            f"{root} is not a contest workspace (no {SETTINGS_FILE}). Run `milsetctl init` there, "
            "or `milsetctl validate SOURCE` to create it, or name one with -w."
        )
    settings = settings_mod.load(root / SETTINGS_FILE)
    return Workspace(root=root, settings=settings, ledger=Ledger(root / LEDGER_FILE))


def check_outside(workspace: Path, source: Path) -> None:
    ws, src = workspace.resolve(), source.resolve()
    if ws == src or src in ws.parents:
        raise WorkspaceError(
            f"the workspace {ws} would be inside the submissions folder {src}; nothing may be written there. "
            "Run from another folder or name a workspace with -w."
        )
