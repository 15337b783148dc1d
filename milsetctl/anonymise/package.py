"""Build (or bring up to date) the blind jury package of the eligible entries.

`jury/package/photos/<ANON>.jpg|.png`, one per eligible entry, stripped of every identifying trace
(jpeg.strip_jpeg / png.strip_png), plus the contact sheet (contact.py). The key anon ID -> entry lives only in
the ledger (table anon_ids). The package is the tool's own folder: a file in `photos/` that the ledger does not
know (left by a run killed between the rename and the ledger write, or put there by hand) is removed.

Resumable: each photo is written to a temporary name and renamed, then recorded in one ledger transaction; a
killed run is finished by the next one, which keeps every anon ID already handed out, packages newly eligible
entries (a late `decide accept`), withdraws entries no longer eligible, and leaves alone photos whose packaged
bytes are already right.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import secrets
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from milsetctl.anonymise.jpeg import JPEGError, strip_jpeg
from milsetctl.anonymise.png import PNGError, strip_png
from milsetctl.anonymise.verify import Leak, package_dir, verify_package
from milsetctl.fsutil import write_bytes_atomic
from milsetctl.imageformat import PNG_SIGNATURE

# brief "Anonymous IDs": 6 characters from this alphabet (no 0/O, 1/I to misread), drawn with `secrets`
ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
ID_LENGTH = 6
PHOTOS = "photos"
# photos copied at once: a copy mostly waits on the disk (4 MB read, 4 MB written and flushed for a 12 MP photo)
COPY_THREADS = 4

Progress = Callable[[int, int, str], None]


class AnonymiseError(RuntimeError):
    """The package cannot be built at all (no eligible entry, no submissions folder)."""


class PhotoError(ValueError):
    """One photo cannot be packaged; the message names the reason (the caller adds the entry)."""


@dataclass
class PackagedEntry:
    entry_id: str
    anon_id: str
    file: str  # path inside the package, e.g. photos/K7QX2M.jpg
    category: str | None
    title: str
    description: str
    state: str = "unchanged"  # "new", "updated" (rewritten) or "unchanged"
    sha256: str = ""  # of the packaged file (keys the contact sheet's thumbnail cache)


@dataclass
class PackageResult:
    """What a build did. `entries` is every photo now in the package (entry ID order); `withdrawn` the
    (anon_id, entry_id) pairs taken out by this run; `problems` the eligible entries that could not be packaged;
    `leaks` what the closing scan found (must be empty)."""

    package: Path
    entries: list[PackagedEntry] = field(default_factory=list)
    withdrawn: list[tuple[str, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    removed_strays: list[str] = field(default_factory=list)
    contact_html: Path | None = None
    contact_pdf: Path | None = None
    leaks: list[Leak] = field(default_factory=list)
    files_scanned: int = 0
    # entries whose review findings wait for `decide`: not in the package, so they would silently miss the jury
    waiting: list[tuple[str, list[str]]] = field(default_factory=list)  # (entry_id, review rule IDs)

    @property
    def new(self) -> list[PackagedEntry]:
        return [e for e in self.entries if e.state == "new"]

    @property
    def updated(self) -> list[PackagedEntry]:
        return [e for e in self.entries if e.state == "updated"]

    def as_json(self) -> dict[str, Any]:
        """SPEC: {"package": "<dir>", "entries": [{"entry_id", "anon_id", "file"}]}."""
        return {"package": str(self.package),
                "entries": [{"entry_id": e.entry_id, "anon_id": e.anon_id, "file": e.file} for e in self.entries]}


def new_anon_id(taken: set[str]) -> str:
    """A random ID not in `taken` (brief contract: `secrets`, never derived from names, IDs or order)."""
    while True:
        candidate = "".join(secrets.choice(ALPHABET) for _ in range(ID_LENGTH))
        if candidate not in taken:
            return candidate


def sniff(data: bytes) -> str | None:
    if data[:3] == b"\xff\xd8\xff":
        return "JPEG"
    if data.startswith(PNG_SIGNATURE):
        return "PNG"
    return None


def reencode_png(data: bytes) -> bytes:
    """Decode with Pillow, apply the EXIF orientation, write a PNG with no metadata but a scrubbed colour
    profile. For the rare eligible entry that is neither JPEG nor PNG (accepted by a coordinator's decision) or
    whose structure cannot be followed. Raises PhotoError when Pillow cannot read it."""
    from PIL import Image, ImageOps

    from milsetctl.anonymise.icc import ICCError, scrub_icc

    im: Image.Image  # the opened file, then the converted picture
    try:
        with warnings.catch_warnings(), Image.open(io.BytesIO(data)) as im:
            warnings.simplefilter("ignore")  # Pillow's notes on a damaged EXIF block: the pixels are what we keep
            icc = im.info.get("icc_profile")
            im = ImageOps.exif_transpose(im)
            if im.mode not in ("1", "L", "LA", "P", "RGB", "RGBA", "I;16", "I"):
                im = im.convert("RGBA" if "A" in im.getbands() else "RGB")
            im.info = {}
            buf = io.BytesIO()
            kwargs: dict[str, Any] = {}
            if icc:
                with contextlib.suppress(ICCError):  # an unreadable profile is dropped: the photo shows as sRGB
                    kwargs["icc_profile"] = scrub_icc(icc)
            im.save(buf, "PNG", compress_level=6, **kwargs)
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:  # SyntaxError: broken PNG
        from milsetctl.probe import sniff_format

        if sniff(data):
            raise PhotoError(f"the {sniff(data)} is damaged or truncated and cannot be decoded ({exc}); ask the "
                             "contestant for the file again") from exc
        kind = sniff_format(data[:64]) or "this file's format"
        raise PhotoError(f"{kind} cannot be decoded here, so it cannot be re-encoded as PNG "
                         f"({type(exc).__name__}); convert the photo to JPEG or PNG and validate again") from exc
    return strip_png(buf.getvalue()).data


def anonymise_photo(data: bytes) -> tuple[bytes, str, list[str]]:
    """(stripped bytes, extension ".jpg"/".png", notes) for one photo's bytes.

    JPEG and PNG are stripped losslessly; anything else, or a JPEG/PNG whose structure cannot be followed, is
    re-encoded to PNG (pixels kept, orientation applied) and a note says so. Raises PhotoError.
    """
    kind = sniff(data)
    try:
        if kind == "JPEG":
            stripped = strip_jpeg(data)
            return stripped.data, ".jpg", stripped.notes
        if kind == "PNG":
            stripped = strip_png(data)
            return stripped.data, ".png", stripped.notes
    except (JPEGError, PNGError) as exc:
        return reencode_png(data), ".png", [f"{kind} structure unreadable ({exc}): re-encoded to PNG"]
    return reencode_png(data), ".png", ["not JPEG or PNG: re-encoded to PNG with the orientation applied"]


def source_path(ws: Any, rel: str) -> Path:
    """Where an entry's photo is: below SOURCE, or (global stage, nomination zips) in the workspace's extraction
    cache `cache/nominations/` (milsetctl/ingest/nominations.py)."""
    from milsetctl.ingest import inside  # never a file outside them: '..', an absolute path, a link leading out

    roots = ([Path(ws.settings.source)] if ws.settings.source else []) + [Path(ws.root) / "cache" / "nominations"]
    for root in roots:
        path = inside(root, rel)
        if path is not None:
            return path
    raise PhotoError(f"photo not found: {roots[0] / rel}")


def _write(path: Path, data: bytes) -> None:
    """Temporary name in the same folder, then rename (fsutil): a reader never sees half a file; flushed to the
    disk first, so a power cut leaves the packaged photo whole or absent too."""
    write_bytes_atomic(path, data, fsync=True)


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def build_package(ws: Any, progress: Progress | None = None, contact_sheet: bool = True,
                  verify: bool = True, stage: Callable[[str], None] | None = None) -> PackageResult:
    """Build or update `jury/package/` for the entries whose status is "eligible"; returns a PackageResult.

    `progress(done, total, anon_id)` is called before the first photo and after each one (an exception raised
    there stops the run; the photos already done stay packaged and recorded). `contact_sheet=False` skips the
    HTML/PDF (tests of the photo stage only); `verify=False` skips the closing scan. `stage(text)` is told when
    the contact sheet and the scan begin (they take a while on thousands of photos).
    Raises AnonymiseError when no entry is eligible. Source of the rules: issue 6 "anonymise", SPEC "Never".
    """
    from milsetctl import stages
    from milsetctl.models import StageError

    try:
        stages.require(ws, "anonymise")
    except StageError as exc:
        raise AnonymiseError(str(exc)) from None
    ledger = ws.ledger
    entries = ledger.entries()
    eligible = [e for e in entries if e["status"] == "eligible"]
    waiting = waiting_entries(ledger, entries)
    if not eligible:
        counts: dict[str, int] = {}
        for e in entries:
            counts[e["status"]] = counts.get(e["status"], 0) + 1
        seen = ", ".join(f"{n} {s}" for s, n in sorted(counts.items())) or "no entries at all"
        named = f"; waiting for a decision: {describe_waiting(waiting)}" if waiting else ""
        raise AnonymiseError(f"no eligible entries to package ({seen}{named}); run milsetctl validate, settle the "
                             "reviews with milsetctl decide, then anonymise again")
    root = package_dir(ws)
    photos = root / PHOTOS
    photos.mkdir(parents=True, exist_ok=True)
    result = PackageResult(package=root, waiting=waiting)
    eligible_ids = {e["entry_id"] for e in eligible}

    rows = {r["entry_id"]: r for r in ledger.anon_rows(include_withdrawn=True)}
    taken = {r["anon_id"] for r in rows.values()}
    # a new ID is never a contestant ID as well (C7K2QX on the contact sheet would read as that contestant's)
    taken |= {str(e["contestant_id"]).strip().upper() for e in ledger.entries(present_only=False)
              if e["contestant_id"]}
    # withdraw: file out first, then the ledger, so a kill in between is finished by the next run
    for entry_id, row in sorted(rows.items()):
        if row["withdrawn"] or entry_id in eligible_ids:
            continue
        for old in photos.glob(f"{row['anon_id']}.*"):
            old.unlink(missing_ok=True)
        ledger.set_anon_withdrawn(row["anon_id"])
        result.withdrawn.append((row["anon_id"], entry_id))
    rows = {r["entry_id"]: r for r in ledger.anon_rows(include_withdrawn=True)}
    known_files = {PHOTOS + "/" + p.name for p in photos.iterdir() if p.is_file()}
    expected = {r["file"] for r in rows.values() if not r["withdrawn"] and r["file"]}
    for stray in sorted(known_files - expected):
        (root / stray).unlink(missing_ok=True)
        if not stray.startswith(PHOTOS + "/."):  # our own temporary files are not worth a line
            result.removed_strays.append(stray)

    for tmp in root.glob(".*.tmp"):  # a contact sheet half-written by a killed run
        tmp.unlink(missing_ok=True)
    order = list(eligible)
    secrets.SystemRandom().shuffle(order)  # file times in the package must not follow the entry order either
    total = len(order)
    if progress:
        progress(0, total, "")
    for done, (entry, copy) in enumerate(_copies(ws, order, rows, taken, photos), 1):
        entry_id = entry["entry_id"]
        packaged: PackagedEntry | None
        if copy.error is not None:
            result.problems.append(f"{entry_id} ({entry['file']}): {copy.error}")
            packaged = _previous(entry, rows.get(entry_id), photos.parent)
            if packaged is not None:
                result.notes.append(f"{entry_id}: the photo packaged before is kept ({packaged.file})")
        else:
            packaged = _record(ws, copy, rows.get(entry_id), photos)
            result.notes.extend(f"{entry_id}: {note}" for note in copy.notes)
        if packaged is not None:
            result.entries.append(packaged)
            taken.add(packaged.anon_id)
        if progress:
            progress(done, total, packaged.anon_id if packaged else entry_id)
    result.entries.sort(key=lambda e: e.entry_id)

    if contact_sheet:
        from milsetctl.anonymise.contact import write_contact_sheet

        if stage:
            stage(f"Writing the contact sheet ({len(result.entries)} entries, HTML and PDF)")
        result.contact_html, result.contact_pdf = write_contact_sheet(ws, result.entries, root, result.notes)
    ledger.audit("anonymise", {"packaged": len(result.entries), "new": len(result.new),
                               "updated": len(result.updated), "withdrawn": len(result.withdrawn),
                               "problems": len(result.problems)})
    if verify:
        if stage:
            stage("Scanning the jurors' files (package, score sheets) for identifying traces")
        result.leaks = verify_package(ws)  # the package and the score sheets already sent, if any
        result.files_scanned = result.leaks.files
    if not result.leaks and not result.problems:  # a package with a leak or a missing photo is not "made"
        stages.record(ws, "anonymise", {"outputs": [str(root)]})
    return result


def waiting_entries(ledger: Any, entries: list[Any]) -> list[tuple[str, list[str]]]:
    """(entry_id, the rule IDs of its review findings) for every entry whose status is "review": a coordinator's
    decision is still due, and until it comes the entry is not in the package (nor on any score sheet)."""
    out = []
    for e in entries:
        if e["status"] != "review":
            continue
        rules = sorted({f.rule for f in ledger.findings_for(e["entry_id"]) if str(f.severity) == "review"})
        out.append((str(e["entry_id"]), rules))
    return out


def describe_waiting(waiting: list[tuple[str, list[str]]], limit: int = 20) -> str:
    """"E0003 (face), E0007 (camera-origin, language)", at most `limit` named, then how many more."""
    shown = ", ".join(f"{entry_id} ({', '.join(rules) or 'review'})" for entry_id, rules in waiting[:limit])
    more = len(waiting) - limit
    return shown + (f" and {more} more" if more > 0 else "")


def _previous(entry: Any, row: Any, root: Path) -> PackagedEntry | None:
    """The entry as packaged by an earlier run, when its file is still there intact (so the contact sheet and
    the photos folder stay in step while the source photo cannot be read)."""
    if row is None or row["withdrawn"] or not row["file"]:
        return None
    path = root / row["file"]
    if not path.is_file() or _sha(path.read_bytes()) != row["sha256"]:
        return None
    return PackagedEntry(entry["entry_id"], row["anon_id"], row["file"], entry["category"], entry["title"] or "",
                         entry["description"] or "", sha256=row["sha256"])


@dataclass
class _Copy:
    """One entry's packaged photo as a copying thread left it (the ledger is written by the caller's thread)."""

    info: PackagedEntry | None = None
    written: bool = False  # the file was (re)written now
    notes: list[str] = field(default_factory=list)
    error: PhotoError | None = None


def _copy_one(ws: Any, entry: Any, row: Any, anon_id: str, photos: Path) -> _Copy:
    """Read the original, strip it, write it under `anon_id` unless the package already holds exactly those
    bytes. File work only: it runs in a copying thread."""
    entry_id = entry["entry_id"]
    try:
        if not entry["file"]:
            raise PhotoError("the entry names no photo file")
        path = source_path(ws, entry["file"])
        try:
            original = path.read_bytes()
        except OSError as exc:
            raise PhotoError(f"cannot read {path}: {exc.strerror or exc}") from exc
        if entry["sha256"] and _sha(original) != entry["sha256"]:
            raise PhotoError("the photo changed since it was validated; run milsetctl validate again")
        data, ext, notes = anonymise_photo(original)
    except PhotoError as exc:
        return _Copy(error=exc)
    del original
    sha = _sha(data)
    rel = f"{PHOTOS}/{anon_id}{ext}"
    target = photos.parent / rel
    info = PackagedEntry(entry_id, anon_id, rel, entry["category"], entry["title"] or "",
                         entry["description"] or "", sha256=sha)
    if row is not None and not row["withdrawn"] and row["file"] == rel and row["sha256"] == sha \
            and target.is_file() and _sha(target.read_bytes()) == sha:
        return _Copy(info, False, notes)
    _write(target, data)
    return _Copy(info, True, notes)


def _copies(ws: Any, order: list[Any], rows: dict[str, Any], taken: set[str],
            photos: Path) -> Iterator[tuple[Any, _Copy]]:
    """(entry, its copy) for every entry of `order`, in that order, made by COPY_THREADS threads: a copy waits on
    the disk (read, write, flush), so several in flight keep it busy; hashing and writing release the GIL. A new
    entry's anon ID is drawn here, before its copy starts (one that fails is simply never recorded). At most
    2 x COPY_THREADS copies are pending, so memory stays flat; interrupted, the run finishes those in hand and
    removes the files of the ones it did not record (a killed run's are strays the next run removes)."""
    from collections import deque
    from concurrent.futures import Future, ThreadPoolExecutor

    pool = ThreadPoolExecutor(max_workers=COPY_THREADS, thread_name_prefix="milsetctl-copy")
    pending: deque[tuple[Any, Future[_Copy]]] = deque()
    try:
        for entry in order:
            row = rows.get(entry["entry_id"])
            if row is not None:
                anon_id = row["anon_id"]
            else:
                anon_id = new_anon_id(taken)
                taken.add(anon_id)
            pending.append((entry, pool.submit(_copy_one, ws, entry, row, anon_id, photos)))
            if len(pending) >= 2 * COPY_THREADS:
                first, future = pending.popleft()
                yield first, future.result()
        while pending:
            first, future = pending.popleft()
            yield first, future.result()
    except BaseException:  # interrupted (Ctrl-C, a progress callback that raises): the copies in hand finish
        pool.shutdown(wait=True, cancel_futures=True)
        for entry, future in pending:  # written but never recorded: the package holds only what the ledger knows
            if future.done() and not future.cancelled() and future.exception() is None:
                copy, row = future.result(), rows.get(entry["entry_id"])
                if copy.written and copy.info is not None and (row is None or row["file"] != copy.info.file):
                    (photos.parent / copy.info.file).unlink(missing_ok=True)
        raise
    pool.shutdown(wait=True)


def _record(ws: Any, copy: _Copy, row: Any, photos: Path) -> PackagedEntry:
    """The ledger's side of a copy (this thread owns the SQLite connection): a new anon ID, or the file it now
    has; the state the summary shows."""
    info = copy.info
    assert info is not None
    if not copy.written:
        return info
    if row is None:
        ws.ledger.add_anon_id(info.anon_id, info.entry_id, info.file, info.sha256)
        info.state = "new"
    else:
        if row["file"] and row["file"] != info.file:  # the format changed (a new photo under the same entry)
            (photos.parent / row["file"]).unlink(missing_ok=True)
        ws.ledger.set_anon_file(info.anon_id, info.file, info.sha256)
        info.state = "new" if row["withdrawn"] or not row["file"] else "updated"
    return info
