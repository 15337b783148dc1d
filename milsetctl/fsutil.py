"""Files written so that a killed run never leaves a half-written file under its final name.

Every output goes to a temporary name in the same folder (same file system, so the rename is atomic), then
`os.replace` gives it its final name. A run killed before the rename leaves only the temporary file, named
`.NAME.PID.tmp` (hidden, and never what a reader opens); the next run that writes the same folder under the
workspace lock removes such leftovers with `remove_stale_temps`.
"""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

TEMP_SUFFIX = ".tmp"


def temp_name(path: Path) -> Path:
    """The temporary name `atomic_write` uses for `path`: hidden, same folder, unique to this process (`.NAME.PID.tmp`)
    and, outside the main thread, to this thread too (`.NAME.PID-TID.tmp`): the contact sheet's thumbnail threads
    may write the same cached file for two byte-identical photos at once."""
    if threading.current_thread() is threading.main_thread():
        return path.with_name(f".{path.name}.{os.getpid()}{TEMP_SUFFIX}")
    return path.with_name(f".{path.name}.{os.getpid()}-{threading.get_native_id()}{TEMP_SUFFIX}")


@contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """A temporary name beside `path` for a writer that wants a file name (openpyxl, WeasyPrint, pypdf); on a
    clean exit it replaces `path` in one rename, on an exception it is removed and `path` is untouched."""
    path = Path(path)
    tmp = temp_name(path)
    try:
        yield tmp
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


@contextmanager
def atomic_write(path: Path, mode: str = "wb", encoding: str | None = None, fsync: bool = False,
                 **open_kwargs: Any) -> Iterator[IO[Any]]:
    """Open a temporary file beside `path` for writing; on a clean exit it replaces `path` in one rename, on an
    exception it is removed and `path` is untouched.

    `mode`: "w"/"wb" (text mode defaults to UTF-8). `fsync`: also flush the bytes to the disk before the rename
    (survives a power cut, not only a killed process; costs a disk round trip per file). Raises what open/write
    raise (OSError)."""
    if "w" not in mode:
        raise ValueError(f"atomic_write: a writing mode, not {mode!r}")
    if "b" not in mode and encoding is None:
        encoding = "utf-8"
    with atomic_path(path) as tmp, open(tmp, mode, encoding=encoding, **open_kwargs) as fh:
        yield fh
        if fsync:
            fh.flush()
            os.fsync(fh.fileno())


def write_bytes_atomic(path: Path, data: bytes, fsync: bool = False) -> Path:
    with atomic_write(path, "wb", fsync=fsync) as fh:
        fh.write(data)
    return path


def write_text_atomic(path: Path, text: str, encoding: str = "utf-8", fsync: bool = False) -> Path:
    with atomic_write(path, "w", encoding=encoding, newline="", fsync=fsync) as fh:
        fh.write(text)
    return path


def copy_atomic(source: Path, target: Path) -> Path:
    """Copy a file (contents and times, as shutil.copy2) so that `target` is whole or absent."""
    with atomic_path(target) as tmp:
        shutil.copy2(source, tmp)
    return Path(target)


def remove_stale_temps(folder: Path, patterns: tuple[str, ...] = (f".*{TEMP_SUFFIX}",)) -> int:
    """Remove temporary files a killed run left in `folder` (not recursive); returns how many. Call it only while
    holding the workspace lock: another live command's temporary files look the same."""
    removed = 0
    try:
        for pattern in patterns:
            for tmp in Path(folder).glob(pattern):
                if tmp.is_file():
                    tmp.unlink(missing_ok=True)
                    removed += 1
    except OSError:
        pass
    return removed


def safe_file_name(text: str, max_bytes: int = 150, fallback: str = "file") -> str:
    """`text` as one file name every system accepts (Windows, macOS, Linux, inside a zip): pathvalidate's
    universal rules (no separators, reserved characters or device names such as CON, no trailing dots or
    spaces), Unicode in NFC, runs of spaces as one, no leading dot (a hidden file), at most `max_bytes` bytes of
    UTF-8 with a short extension (".jpg") kept whole. Chinese and accented names stay as they are. The one
    sanitiser for every name the tool writes (certificates, score sheets, nomination zips)."""
    import re
    import unicodedata

    from pathvalidate import sanitize_filename

    name = re.sub(r"\s+", " ", unicodedata.normalize("NFC", text)).strip()
    stem, dot, ext = name.rpartition(".")
    if not dot or not stem or len(ext) > 8 or not ext.isalnum():
        stem, ext = name, ""
    ext = sanitize_filename(ext, platform="universal", replacement_text="_")
    tail = f".{ext}" if ext else ""
    budget = max(1, max_bytes - len(tail.encode("utf-8")))
    # pathvalidate's max_len counts UTF-8 bytes
    stem = sanitize_filename(stem, platform="universal", replacement_text="_", max_len=budget).strip(". ")
    return (stem or fallback) + tail


def writes_into(path: Path, folder: Path | str) -> bool:
    """Whether writing `path` would write into `folder` (the submissions folder, which is never written)."""
    if not str(folder):
        return False
    target, root = path.resolve(), Path(folder).resolve()
    return root == target or root in target.parents
