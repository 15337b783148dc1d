"""The past-entries archive: each contest's photo fingerprints, kept by the secretariat from year to year.

A photo that took part in an earlier year (won there, or was turned away) may be sent again, retitled, resized or
cropped a little. Photo salons refuse such re-entries, and no person remembers 20,000 photos: `milsetctl archive`
writes this contest's fingerprints to a file the secretariat keeps, and the next years' contests name that file
(`[archive] paths` in contest.toml) so that `validate` checks every photo against it (rule `past-entry`,
milsetctl/rules/archive.py).

The file is SQLite (stdlib sqlite3): one file that any database browser opens, safe to append to, with its schema
version in `PRAGMA user_version` and `meta`. Per contest (name, stage, year, the round's country) and per photo:

- what the duplicate rule compares: the content hash (SHA-256), the two perceptual hashes (`phash`, `dhash`, 64-bit
  hex), and the photo's cached 480 px thumbnail, byte for byte (~25 KB a photo), so the content check that keeps
  different Moon photos apart (milsetctl/analysis/similarity.py) sees the same pixels it sees within a contest;
- what the finding says: the entry ID, the title, the status then and the award (null when none, and whether the
  awards were known when the contest was archived).

Personal data: none. The contestant's name, ID, school, e-mail, grade, province, country and the description are
not kept: the check needs only the fingerprints, and the message needs only the year, the title and the award.
The entry ID leads a person to that year's ledger for as long as the secretariat keeps it; the archive itself can
then be kept year after year without holding anything about a person (GDPR Art. 5(1)(c) and (e): data minimisation,
storage limitation). For the same reason a photo a face was detected in (rule `face`) is kept without its thumbnail:
it is matched on its hashes alone.

`write_archive` appends: earlier contests in the file are kept, and archiving the same contest again replaces its
rows. The file is written under a temporary name and renamed when complete (fsutil), so a killed run leaves the
previous file whole.
"""

from __future__ import annotations

import hashlib
import json
import math
import shutil
import sqlite3
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from milsetctl import __version__
from milsetctl.fsutil import atomic_path
from milsetctl.models import StageError

if TYPE_CHECKING:  # NumPy is loaded by the functions that search: `milsetctl rules` imports this module too
    import numpy as np

    from milsetctl.settings import Settings
    from milsetctl.workspace import Workspace

SCHEMA_VERSION = 1
APPLICATION_ID = 0x4D494C41  # "MILA" in PRAGMA application_id: a milsetctl archive, not any SQLite file
VERDICT_CACHE = "past-entry.sqlite"  # in the workspace's cache/ folder: the rule's verdicts per photo

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS contests (
    contest_id INTEGER PRIMARY KEY,
    name TEXT NOT NULL, stage TEXT NOT NULL, year INTEGER NOT NULL,
    country TEXT NOT NULL DEFAULT '',  -- the round's country ([contest] country), not an entrant's
    archived_at TEXT NOT NULL, written_by TEXT NOT NULL,
    awards_known INTEGER NOT NULL,  -- 1 when the awards were decided when archived: a null award then means none
    UNIQUE (name, stage, year, country)
);
CREATE TABLE IF NOT EXISTS photos (
    photo_id INTEGER PRIMARY KEY,
    contest_id INTEGER NOT NULL REFERENCES contests(contest_id),
    entry_id TEXT NOT NULL, title TEXT, status TEXT, award TEXT,
    sha256 TEXT NOT NULL, phash TEXT, dhash TEXT,
    width INTEGER, height INTEGER,  -- as displayed (after EXIF orientation)
    thumbnail_sha256 TEXT,  -- of the row in thumbnails; null: no thumbnail, matched on the hashes alone
    UNIQUE (contest_id, entry_id)
);
CREATE INDEX IF NOT EXISTS photos_sha256 ON photos(sha256);
-- apart from the fingerprints, so that reading 20,000 of them never reads a page of pixels
CREATE TABLE IF NOT EXISTS thumbnails (
    photo_id INTEGER PRIMARY KEY REFERENCES photos(photo_id),
    jpeg BLOB NOT NULL  -- the 480 px JPEG validate cached, byte for byte
);
"""

# the award as the finding says it (ledger codes: awards/select.py)
AWARD_WORDS = {
    "qualifier": "won the Qualifier Award",
    "global-1": "won the global first place",
    "global-2": "won the global second place",
    "global-3": "won the global third place",
    "gallery": "was shown in the virtual gallery (places 4-10)",
}


class ArchiveError(StageError):
    """An archive file cannot be written or read (missing, not an archive, newer than this milsetctl); the message
    names the file. Code 2 when a setting or an option names it, 1 when the file itself is unusable."""


# ---------------------------------------------------------------------------------------------------------------------
# writing


@dataclass
class ArchivedContest:
    name: str
    stage: str
    year: int
    country: str
    photos: int

    def label(self) -> str:
        where = f", {self.country}" if self.country else ""
        return f"{self.name} ({self.year}, {self.stage}{where})"


@dataclass
class ArchiveWritten:
    """What `write_archive` did: the file, this contest's rows, and every contest the file now holds."""

    path: Path
    contest: ArchivedContest
    thumbnails: int  # photos kept with their thumbnail (the rest are matched on hashes alone)
    awarded: int
    awards_known: bool
    replaced: bool  # the file held this contest already: its rows were replaced
    skipped: list[str] = field(default_factory=list)  # entry IDs left out (no readable photo)
    # photos in the submissions that no manifest row names (rule unlisted-file): nobody entered them, so no year can
    # hold them as a past entry; named so that the count adds up to the workspace's
    unlisted: list[str] = field(default_factory=list)
    contests: list[ArchivedContest] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {
            "archive": str(self.path),
            "schema_version": SCHEMA_VERSION,
            "contest": {"name": self.contest.name, "stage": self.contest.stage, "year": self.contest.year,
                        "country": self.contest.country},
            "photos": self.contest.photos,
            "thumbnails": self.thumbnails,
            "awarded": self.awarded,
            "awards_known": self.awards_known,
            "replaced": self.replaced,
            "skipped": self.skipped,
            "unlisted": self.unlisted,
            "contests": [{"name": c.name, "stage": c.stage, "year": c.year, "country": c.country,
                          "photos": c.photos} for c in self.contests],
        }


def contest_year(settings: Settings) -> int:
    """The contest's year: its deadline's (the archive's rows are dated by it)."""
    return settings.deadline.day.year


def default_archive_path(ws: Workspace) -> Path:
    """archive-<year>-<stage>.sqlite in the workspace."""
    return ws.root / f"archive-{contest_year(ws.settings)}-{ws.settings.stage}.sqlite"


def _connect_checked(path: Path, read_only: bool) -> sqlite3.Connection:
    """Open an archive file and check it is one this milsetctl reads; raises ArchiveError (code 1)."""
    try:
        target = f"{path.resolve().as_uri()}?mode=ro" if read_only else str(path)
        db = sqlite3.connect(target, uri=read_only)
        app_id = db.execute("PRAGMA application_id").fetchone()[0]
        version = db.execute("PRAGMA user_version").fetchone()[0]
        tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    except sqlite3.DatabaseError as exc:
        raise ArchiveError(f"{path}: not a milsetctl archive ({exc})") from None
    if tables and app_id != APPLICATION_ID:
        db.close()
        raise ArchiveError(f"{path}: not a milsetctl archive (an SQLite file of another program)")
    if version > SCHEMA_VERSION:
        db.close()
        raise ArchiveError(f"{path}: written by a newer milsetctl (archive schema {version}; this one reads up to "
                           f"{SCHEMA_VERSION}): update milsetctl")
    return db


def _content_digest(db: sqlite3.Connection) -> str:
    """SHA-256 over everything a verdict depends on (each photo's ID, year, hashes and thumbnail digest), kept in
    `meta` so that a reader knows the file's content without hashing hundreds of megabytes of thumbnails."""
    digest = hashlib.sha256(f"milsetctl-archive {SCHEMA_VERSION}\n".encode())
    rows = db.execute("SELECT p.photo_id, c.year, p.sha256, p.phash, p.dhash, p.thumbnail_sha256, p.width, p.height "
                      "FROM photos p JOIN contests c USING (contest_id) ORDER BY p.photo_id")
    for row in rows:
        digest.update(("|".join("" if v is None else str(v) for v in row) + "\n").encode())
    return digest.hexdigest()


def write_archive(ws: Workspace, out: Path | None = None) -> ArchiveWritten:
    """Write this contest's fingerprints into the archive file `out` (default `default_archive_path`), keeping the
    other contests the file holds and replacing this contest's earlier rows.

    Every entry of the ledger with a readable photo is archived, whatever its status (a photo rejected one year is
    as much a past entry as a winner). Raises ArchiveError when the file is not an archive or the contest has not
    been validated yet."""
    from milsetctl.probe import PROBE_VERSION

    settings = ws.settings
    ledger = ws.ledger
    out = Path(out) if out is not None else default_archive_path(ws)
    year = contest_year(settings)
    country = str(settings.raw["contest"].get("country") or "")
    infos = ledger.all_infos(PROBE_VERSION)
    awards = {r["entry_id"]: r["award"] for r in ledger.awards()}
    findings = ledger.current_findings()
    rows: list[dict[str, Any]] = []
    skipped: list[str] = []
    everything = ledger.entries()
    entries = [e for e in everything if e["listed"]]
    unlisted = [str(e["entry_id"]) for e in everything if not e["listed"]]
    if not entries:
        raise ArchiveError("no entries in this workspace yet: run milsetctl validate first", 1)
    for entry in entries:
        info = json.loads(infos[entry["sha256"]]) if entry["sha256"] in infos else None
        if info is None or info.get("error") or not info.get("sha256"):
            skipped.append(entry["entry_id"])
            continue
        thumbnail = None
        has_face = any(f.rule == "face" for f in findings.get(entry["entry_id"], []))
        if info.get("thumbnail") and not has_face:  # a person's picture stays out (module docstring)
            try:
                thumbnail = (ws.thumbs / info["thumbnail"]).read_bytes()
            except OSError:
                thumbnail = None
        rows.append({
            "entry_id": entry["entry_id"], "title": entry["title"], "status": entry["status"],
            "award": awards.get(entry["entry_id"]), "sha256": info["sha256"], "phash": info.get("phash"),
            "dhash": info.get("dhash"), "width": info.get("display_width"), "height": info.get("display_height"),
            "thumbnail": thumbnail,
            "thumbnail_sha256": hashlib.sha256(thumbnail).hexdigest() if thumbnail is not None else None,
        })
    from milsetctl.ledger import now_iso

    out.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(out) as tmp:
        if out.exists():
            try:
                _connect_checked(out, read_only=True).close()  # a file that is no archive is never touched
            except ArchiveError as exc:
                raise ArchiveError(f"{exc}: name another file to write the archive to", 2) from None
            shutil.copyfile(out, tmp)
        db = _connect_checked(tmp, read_only=False)
        try:
            with db:
                db.execute(f"PRAGMA application_id = {APPLICATION_ID}")
                db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
                db.executescript(SCHEMA)
                key = (settings.name, settings.stage, year, country)
                old = db.execute("SELECT contest_id FROM contests WHERE name=? AND stage=? AND year=? AND country=?",
                                 key).fetchone()
                if old is not None:
                    db.execute("DELETE FROM thumbnails WHERE photo_id IN (SELECT photo_id FROM photos WHERE "
                               "contest_id=?)", (old[0],))
                    db.execute("DELETE FROM photos WHERE contest_id=?", (old[0],))
                    db.execute("DELETE FROM contests WHERE contest_id=?", (old[0],))
                cursor = db.execute(
                    "INSERT INTO contests (name, stage, year, country, archived_at, written_by, awards_known) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?)", (*key, now_iso(), f"milsetctl {__version__}", int(bool(awards))))
                contest_id = cursor.lastrowid
                for r in rows:
                    photo_id = db.execute(
                        "INSERT INTO photos (contest_id, entry_id, title, status, award, sha256, phash, dhash, width, "
                        "height, thumbnail_sha256) VALUES (:contest_id, :entry_id, :title, :status, :award, :sha256, "
                        ":phash, :dhash, :width, :height, :thumbnail_sha256)", {**r, "contest_id": contest_id},
                    ).lastrowid
                    if r["thumbnail"] is not None:
                        db.execute("INSERT INTO thumbnails VALUES (?, ?)", (photo_id, r["thumbnail"]))
                for meta_key, value in (("schema_version", str(SCHEMA_VERSION)), ("digest", _content_digest(db)),
                                        ("updated_at", now_iso()), ("written_by", f"milsetctl {__version__}")):
                    db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (meta_key, value))
            contests = [ArchivedContest(*r) for r in db.execute(
                "SELECT c.name, c.stage, c.year, c.country, count(p.photo_id) FROM contests c "
                "LEFT JOIN photos p USING (contest_id) GROUP BY c.contest_id ORDER BY c.year, c.name, c.stage")]
        finally:
            db.close()
    ledger.audit("archive", {"file": str(out), "photos": len(rows), "year": year, "stage": settings.stage})
    from milsetctl import stages

    # a stage's output: `status` names the file (and says when a photo or an award changed since), purge knows it
    stages.record(ws, "archive", {"outputs": [out], "archive": stages.stored_path(ws, out)})
    this = ArchivedContest(settings.name, settings.stage, year, country, len(rows))
    return ArchiveWritten(out, this, sum(1 for r in rows if r["thumbnail"] is not None),
                          sum(1 for r in rows if r["award"]), bool(awards), old is not None, skipped, unlisted,
                          contests)


# ---------------------------------------------------------------------------------------------------------------------
# reading: the index `past-entry` searches


@dataclass(frozen=True)
class ArchivedPhoto:
    """One archived photo as a finding names it."""

    archive: str  # the file's name
    contest: str
    stage: str
    year: int
    country: str
    entry_id: str
    title: str | None
    status: str | None
    award: str | None
    awards_known: bool

    def award_words(self) -> str:
        if self.award:
            return AWARD_WORDS.get(self.award, f"award {self.award}")
        return "no award" if self.awards_known else "awards not yet decided when archived"


def archive_paths(settings: Settings) -> list[Path]:
    """The archive files `[archive] paths` names, relative ones from the workspace (the settings file's folder).
    Raises ArchiveError (code 2) for a value that is not a list of file names."""
    value = settings.section("archive").get("paths") or []
    if not isinstance(value, list) or not all(isinstance(p, str) and p.strip() for p in value):
        raise ArchiveError(f"[archive] paths = {json.dumps(value, ensure_ascii=False, default=str)}: must be a list "
                           'of archive files in quotes, e.g. ["archive-2021-national.sqlite"]', 2)
    base = settings.path.parent if settings.path is not None else Path.cwd()
    return [p if p.is_absolute() else base / p for p in (Path(v).expanduser() for v in value)]


def archive_year_notes(settings: Settings) -> list[str]:
    """What a coordinator should hear before a run whose `[archive] paths` cannot find a single past entry: an archive
    that holds no year before this contest's (its deadline's year: a new year's contest still dated last year, copied
    from last year's contest.toml). Photos of this contest's own year are never past entries, so such a file is
    checked against nothing, silently, unless said. A file that is missing or no archive is left to the check itself
    (which stops with ArchiveError). Returns one note per such file."""
    try:
        paths, year = archive_paths(settings), contest_year(settings)
    except (ArchiveError, AttributeError, ValueError):
        return []
    notes = []
    for path in paths:
        try:
            db = _connect_checked(path, read_only=True)
        except ArchiveError:
            continue
        try:
            years = sorted({int(r[0]) for r in db.execute("SELECT year FROM contests")})
        except sqlite3.DatabaseError:
            continue
        finally:
            db.close()
        if years and min(years) >= year:
            held = ", ".join(str(y) for y in years)
            notes.append(f"[archive] paths: {path.name} holds the contest of {held} only, and this contest's year is "
                         f"{year} ([contest] deadline {settings.deadline.day.isoformat()}): none of its photos is a "
                         "past entry, so nothing is checked against it. A new year's contest needs its own deadline "
                         "in contest.toml.")
    return notes


@dataclass
class ArchiveIndex:
    """The fingerprints of every archived photo of the archives named, from years before `before_year`, ready to
    search: a dict from content hash to rows (byte-identical copies) and both perceptual hashes packed in two uint64
    arrays (near copies: milsetctl.rules.archive.near). Thumbnails stay in the files, read for the candidates only."""

    paths: list[Path]
    by_sha: dict[str, list[int]]
    phash: np.ndarray  # uint64, one per row that has both hashes
    dhash: np.ndarray
    hashed_rows: np.ndarray  # the row number of each position in phash/dhash
    row_file: list[int]  # per row: which file
    row_photo: list[int]  # per row: photo_id in that file
    row_aspect: list[float | None]  # per row: log(width / height), None when unknown
    row_has_thumbnail: list[bool]
    _dbs: list[sqlite3.Connection] = field(default_factory=list, repr=False)
    _pixels: OrderedDict[int, np.ndarray | None] = field(default_factory=OrderedDict, repr=False)

    def __len__(self) -> int:
        return len(self.row_file)

    def close(self) -> None:
        for db in self._dbs:
            db.close()
        self._dbs.clear()

    def pixels(self, row: int) -> np.ndarray | None:
        """The archived thumbnail of `row` as a grey array (as similarity.load_grey reads a cached one); None when
        the row has none. The last 256 read are kept."""
        if row in self._pixels:
            self._pixels.move_to_end(row)
            return self._pixels[row]
        grey = None
        if self.row_has_thumbnail[row]:
            import cv2
            import numpy as np

            found = self._dbs[self.row_file[row]].execute("SELECT jpeg FROM thumbnails WHERE photo_id=?",
                                                          (self.row_photo[row],)).fetchone()
            if found and found[0]:
                decoded = cv2.imdecode(np.frombuffer(found[0], dtype=np.uint8), cv2.IMREAD_GRAYSCALE)
                grey = decoded if decoded is not None and decoded.size else None
        self._pixels[row] = grey
        if len(self._pixels) > 256:
            self._pixels.popitem(last=False)
        return grey


def describe_photos(paths: list[Path], wanted: set[tuple[int, int]]) -> dict[tuple[int, int], ArchivedPhoto]:
    """The archived photos `wanted` ((file index in `paths`, photo_id)) as a finding names them, read from the files
    now (a title corrected there shows). A file that cannot be read names none."""
    out: dict[tuple[int, int], ArchivedPhoto] = {}
    for file_index in sorted({f for f, _ in wanted}):
        ids = sorted(p for f, p in wanted if f == file_index)
        try:
            db = _connect_checked(paths[file_index], read_only=True)
        except ArchiveError:
            continue
        try:
            for start in range(0, len(ids), 500):
                chunk = ids[start:start + 500]
                rows = db.execute(
                    "SELECT p.photo_id, c.name, c.stage, c.year, c.country, p.entry_id, p.title, p.status, p.award, "
                    f"c.awards_known FROM photos p JOIN contests c USING (contest_id) WHERE p.photo_id IN "
                    f"({','.join('?' * len(chunk))})", chunk)
                for photo_id, name, stage, year, country, entry_id, title, status, award, known in rows:
                    out[(file_index, photo_id)] = ArchivedPhoto(paths[file_index].name, name, stage, int(year),
                                                                country or "", entry_id, title, status, award,
                                                                bool(known))
        except sqlite3.DatabaseError:
            continue
        finally:
            db.close()
    return out


def open_index(paths: list[Path], before_year: int) -> ArchiveIndex:
    """Read the fingerprints of the archives at `paths` (photos of contests before `before_year` only: this year's
    rounds, this contest archived or its national rounds at the global stage, are not past entries).

    Raises ArchiveError (code 2) naming a file that is missing, not an archive, or of a newer schema."""
    import numpy as np

    by_sha: dict[str, list[int]] = {}
    ph: list[int] = []
    dh: list[int] = []
    hashed: list[int] = []
    row_file: list[int] = []
    row_photo: list[int] = []
    row_aspect: list[float | None] = []
    row_thumb: list[bool] = []
    dbs: list[sqlite3.Connection] = []
    try:
        for file_index, path in enumerate(paths):
            if not path.is_file():
                raise ArchiveError(f"[archive] paths: {path}: no such file (written by `milsetctl archive` in the "
                                   "contest of that year)", 2)
            try:
                db = _connect_checked(path, read_only=True)
            except ArchiveError as exc:
                raise ArchiveError(f"[archive] paths: {exc}", 2) from None
            dbs.append(db)
            try:
                rows = db.execute(
                    "SELECT p.photo_id, p.sha256, p.phash, p.dhash, p.width, p.height, p.thumbnail_sha256 IS NOT NULL "
                    "FROM photos p JOIN contests c USING (contest_id) WHERE c.year < ? ORDER BY p.photo_id",
                    (before_year,)).fetchall()
            except sqlite3.DatabaseError as exc:
                raise ArchiveError(f"[archive] paths: {path}: not a milsetctl archive ({exc})", 2) from None
            for photo_id, sha, phash, dhash, width, height, has_thumbnail in rows:
                row = len(row_file)
                row_file.append(file_index)
                row_photo.append(photo_id)
                row_aspect.append(math.log(width / height) if width and height else None)
                row_thumb.append(bool(has_thumbnail))
                by_sha.setdefault(sha, []).append(row)
                try:
                    a, b = int(phash, 16), int(dhash, 16)
                except (TypeError, ValueError):
                    continue
                ph.append(a)
                dh.append(b)
                hashed.append(row)
    except BaseException:
        for db in dbs:
            db.close()
        raise
    return ArchiveIndex(paths, by_sha, np.array(ph, dtype=np.uint64), np.array(dh, dtype=np.uint64),
                        np.array(hashed, dtype=np.int64), row_file, row_photo, row_aspect, row_thumb, dbs)


def index_key(paths: list[Path], before_year: int) -> list[str]:
    """What the archives' content is, cheaply (each file's stored digest and row count), for the verdict cache's
    key: a file rewritten by `milsetctl archive` (a year appended) changes it, and every photo is checked again.

    Raises ArchiveError (code 2) naming a file that is missing or no archive, as open_index does: before any verdict
    is taken from the cache, so a file gone since the last run stops validate too."""
    key = [str(before_year)]
    for path in paths:
        if not path.is_file():
            raise ArchiveError(f"[archive] paths: {path}: no such file (written by `milsetctl archive` in the contest "
                               "of that year)", 2)
        try:
            db = _connect_checked(path, read_only=True)
        except ArchiveError as exc:
            raise ArchiveError(f"[archive] paths: {exc}", 2) from None
        try:
            stored = dict(db.execute("SELECT key, value FROM meta").fetchall())
            count = db.execute("SELECT count(*) FROM photos").fetchone()[0]
        except sqlite3.DatabaseError as exc:
            raise ArchiveError(f"[archive] paths: {path}: not a milsetctl archive ({exc})", 2) from None
        finally:
            db.close()
        key.append(f"{stored.get('digest', '')}:{count}")
    return key


# ---------------------------------------------------------------------------------------------------------------------
# the rule's verdicts, kept per photo between runs


class VerdictCache:
    """The past-entry verdict of each photo (by content hash) under one key, in the workspace's cache folder.

    The key holds what a verdict depends on besides the photo: the rule's version, the probe's, the search radius,
    the contest's year and each archive's content digest. A verdict under another key is stale and is dropped when
    the new ones are saved. `folder` None: kept in memory only (a script's Settings with no file)."""

    def __init__(self, folder: Path | None, key: str) -> None:
        self.key = key
        self.path = folder / VERDICT_CACHE if folder is not None else None
        self.known: dict[str, list[dict[str, Any]]] = {}
        self.new: dict[str, list[dict[str, Any]]] = {}
        if self.path is not None and self.path.is_file():
            try:
                db = sqlite3.connect(self.path)
                try:
                    self.known = {sha: json.loads(found) for sha, found in
                                  db.execute("SELECT sha256, matches FROM verdicts WHERE key=?", (key,))}
                finally:
                    db.close()
            except (sqlite3.DatabaseError, ValueError):
                self.known = {}  # a damaged cache is only a cache: check again

    def get(self, sha256: str) -> list[dict[str, Any]] | None:
        return self.known.get(sha256, self.new.get(sha256))

    def put(self, sha256: str, matches: list[dict[str, Any]]) -> None:
        self.new[sha256] = matches

    def save(self) -> None:
        """Keep the new verdicts (and drop those of other keys). A cache that cannot be written is skipped: the
        next run checks again."""
        if self.path is None or not self.new:
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(self.path)
            try:
                with db:
                    db.execute("CREATE TABLE IF NOT EXISTS verdicts (key TEXT NOT NULL, sha256 TEXT NOT NULL, "
                               "matches TEXT NOT NULL, PRIMARY KEY (key, sha256))")
                    db.execute("DELETE FROM verdicts WHERE key != ?", (self.key,))
                    db.executemany("INSERT OR REPLACE INTO verdicts VALUES (?, ?, ?)",
                                   [(self.key, sha, json.dumps(m)) for sha, m in self.new.items()])
            finally:
                db.close()
        except (OSError, sqlite3.DatabaseError):
            return
        self.known.update(self.new)
        self.new = {}
