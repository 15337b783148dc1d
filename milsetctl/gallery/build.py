"""Build the virtual gallery: `gallery/index.html`, one page per photo, `images/`, `gallery.css`.

Selection (issue 8): at the global stage the global top 10 (awards "global-1".."global-3" then "gallery", in rank
order); at the national stage the qualifiers (award "qualifier"), per category. The stage is the one the award
list was made at (ledger `awards.stage`). Pages are Jinja2 with autoescape: a title `<script>` shows as text.
Pages and images are named by the gallery's own random IDs (issue 15), never by the contestant's name nor by the
jury's anonymous IDs: the gallery is public, and a juror's score sheet lists anonymous IDs with that juror's
scores, so a page named after one would tie a juror's scores to a named student.
Names in public (issue 19, milsetctl/publication.py): a name as `[gallery] names` allows ("Maria G." by default),
and an entry whose manifest row withholds consent to publication is left out (`Gallery.no_consent` lists it).
"""

from __future__ import annotations

import json
import secrets
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from milsetctl.gallery.images import (
    THUMB_PX,
    WEB_PX,
    ImageError,
    ImageJob,
    cache_paths,
    default_workers,
    make_all,
    write_atomic,
)
from milsetctl.jury.conflicts import country_name
from milsetctl.models import StageError
from milsetctl.publication import may_publish, name_mode, published_name
from milsetctl.resources import templates_dir

GLOBAL_AWARDS = ("global-1", "global-2", "global-3", "gallery")
AWARD_LABEL = {"global-1": "First prize", "global-2": "Second prize", "global-3": "Third prize",
               "gallery": "Gallery", "qualifier": "Qualifier"}
CATEGORY_ORDER = {"middle": 0, "high": 1}
CATEGORY_TITLE = {"middle": "Middle school (grades 7–9)", "high": "High school (grades 10–12)"}
CSS = "gallery.css"
IMAGES = "images"
# the gallery's IDs: lower case and 8 long, so they are never taken for a jury ID (6 upper-case characters)
GALLERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
GALLERY_ID_LENGTH = 8
GALLERY_IDS = "gallery_ids"  # ledger meta key: JSON {entry_id: gallery ID}


class GalleryError(StageError):
    """The gallery cannot be built; `code` is the CLI exit status (1 input unusable, 2 usage)."""


@dataclass
class GalleryPhoto:
    entry_id: str
    key: str  # the gallery's own random ID: the name of the page and image files
    rank: int | None
    award: str
    category: str | None
    page: str  # relative to the gallery folder
    image: str
    thumb: str


@dataclass
class Gallery:
    out: Path
    stage: str
    photos: list[GalleryPhoto] = field(default_factory=list)
    made: int = 0  # images decoded and encoded now
    reused: int = 0  # images taken from the cache
    warnings: list[str] = field(default_factory=list)
    no_consent: list[str] = field(default_factory=list)  # entry IDs left out: no consent to publication

    @property
    def index(self) -> Path:
        return self.out / "index.html"

    def as_json(self) -> dict[str, Any]:
        return {
            "gallery": str(self.index), "stage": self.stage, "made": self.made, "reused": self.reused,
            "entries": [{"entry_id": p.entry_id, "key": p.key, "category": p.category, "rank": p.rank,
                         "award": p.award, "page": p.page, "image": p.image} for p in self.photos],
            "warnings": self.warnings, "left_out_no_consent": self.no_consent,
        }


def is_han(text: str) -> bool:
    """True when every letter of `text` is a Han ideograph (张伟, 刘䶮, 𠮷): the name gets lang="zh" so a reader
    picks a Chinese font and a screen reader Chinese speech. Spaces and the middle dot of transcribed names
    (·) are allowed."""
    letters = [c for c in text if not c.isspace() and c not in "·・"]
    return bool(letters) and all(unicodedata.name(c, "").startswith("CJK ") and "IDEOGRAPH" in
                                 unicodedata.name(c, "") for c in letters)


def _inside(path: Path, folder: str) -> bool:
    if not folder:
        return False
    target, root = path.resolve(), Path(folder).resolve()
    return root == target or root in target.parents


@lru_cache(maxsize=1)
def _env() -> Any:
    """Compiled once per process; autoescape on every template, undefined names are errors."""
    from jinja2 import Environment, FileSystemLoader, StrictUndefined

    env = Environment(loader=FileSystemLoader(str(templates_dir())), autoescape=True, undefined=StrictUndefined,
                      trim_blocks=True, lstrip_blocks=True)
    env.filters["lang"] = lambda text: "zh" if is_han(str(text or "")) else ""
    return env


def select(ws: Any) -> tuple[str, list[Any]]:
    """(stage, award rows in gallery order). Raises GalleryError when there is no award list yet."""
    rows = ws.ledger.awards()
    if not rows:
        raise GalleryError("no awards yet: run `milsetctl awards` first")
    stage = str(rows[0]["stage"] or ws.settings.stage)
    if stage == "global":
        chosen = sorted((r for r in rows if r["award"] in GLOBAL_AWARDS),
                        key=lambda r: (GLOBAL_AWARDS.index(r["award"]) if r["award"] != "gallery" else 3,
                                       r["rank"] or 0, r["entry_id"]))
    else:
        chosen = sorted((r for r in rows if r["award"] == "qualifier"),
                        key=lambda r: (CATEGORY_ORDER.get(r["category"], 9), r["category"] or "", r["rank"] or 0,
                                       r["entry_id"]))
    if not chosen:
        wanted = "global prizes or gallery places" if stage == "global" else "qualifiers"
        raise GalleryError(f"the award list ({stage} stage) has no {wanted}: nothing to show in the gallery")
    return stage, chosen


def gallery_ids(ledger: Any, entry_ids: list[str]) -> dict[str, str]:
    """Each entry's public ID in the gallery: drawn at random (`secrets`) the first time the entry is shown and
    kept in the ledger, so its page keeps its address across re-runs. Unrelated to the jury's anonymous ID,
    the entry ID and the order."""
    try:
        known = json.loads(ledger.meta_value(GALLERY_IDS) or "{}")
    except ValueError:
        known = {}
    known = {str(k): str(v) for k, v in known.items()} if isinstance(known, dict) else {}
    taken = set(known.values())
    added = False
    for entry_id in entry_ids:
        if entry_id in known:
            continue
        while True:
            candidate = "".join(secrets.choice(GALLERY_ALPHABET) for _ in range(GALLERY_ID_LENGTH))
            if candidate not in taken:
                break
        known[entry_id] = candidate
        taken.add(candidate)
        added = True
    if added:
        ledger.set_meta(GALLERY_IDS, json.dumps(known, sort_keys=True))
    return {entry_id: known[entry_id] for entry_id in entry_ids}


def _source(ws: Any, rel: str) -> Path:
    from milsetctl.anonymise.package import PhotoError, source_path

    try:
        return source_path(ws, rel)
    except PhotoError as exc:
        raise ImageError(str(exc)) from None


def _vouched(path: Path, known: dict[str, tuple[int, int, str]]) -> str:
    """The photo's content hash when validate's stat cache vouches for it (same size and modification time as
    when validate read it), else "": a photo whose images are cached is then not read again (7,000 originals are
    ~30 GB)."""
    record = known.get(str(path))
    if record is None:
        return ""
    try:
        st = path.stat()
    except OSError:
        return ""
    return record[2] if (st.st_size, st.st_mtime_ns) == (record[0], record[1]) else ""


def build_gallery(ws: Any, out: Path | None = None, progress: Callable[[int, int], None] | None = None,
                  workers: int | None = None) -> Gallery:
    """Write the gallery into `out` (default `<workspace>/gallery/`) and return what it holds.

    Raises GalleryError (code 1) when there are no awards or none for the gallery, (code 2) when `out` is inside
    the submissions folder. A photo that cannot be read is left out with a warning; the rest is built. Pages and
    images of entries no longer in the gallery are removed (the folder is the tool's own).
    `progress(done, total)`: before the first photo and after each one. `workers`: processes that make the images
    (default: one per core, fewer for a small gallery; 1 makes them in this process). Interrupted, the images made
    so far stay cached and a re-run reuses them."""
    from milsetctl import stages
    from milsetctl.models import StageError

    out = Path(out) if out is not None else Path(ws.root) / "gallery"
    if _inside(out, ws.settings.source):
        raise GalleryError(f"--out {out}: inside the submissions folder, which is never written", 2)
    try:
        stages.require(ws, "gallery", "milsetctl gallery")
    except StageError as exc:
        raise GalleryError(str(exc), 1) from None
    stage, rows = select(ws)
    gallery = Gallery(out=out, stage=stage)
    cache = Path(ws.root) / "cache" / "gallery"
    public = gallery_ids(ws.ledger, [str(row["entry_id"]) for row in rows])
    known = ws.ledger.all_file_shas()
    mode = name_mode(ws.settings)
    chosen: list[tuple[Any, Any, GalleryPhoto]] = []
    jobs: list[ImageJob] = []
    for row in rows:
        entry = ws.ledger.entry(row["entry_id"])
        if entry is None:
            gallery.warnings.append(f"{row['entry_id']}: in the award list but not in the ledger; left out")
            continue
        if not may_publish(entry):
            gallery.no_consent.append(str(row["entry_id"]))
            continue
        key = public[str(row["entry_id"])]
        try:
            original = _source(ws, entry["file"])
        except ImageError as exc:
            gallery.warnings.append(f"{row['entry_id']}: {exc}; left out of the gallery")
            continue
        photo = GalleryPhoto(row["entry_id"], key, row["rank"], row["award"], row["category"], f"{key}.html",
                             f"{IMAGES}/{key}.jpg", f"{IMAGES}/{key}-{THUMB_PX}.jpg")
        chosen.append((row, entry, photo))
        jobs.append(ImageJob(str(original), str(cache), (str(out / photo.image), str(out / photo.thumb)),
                             _vouched(original, known)))
    to_make = sum(1 for job in jobs if not (job.sha256 and all(p.is_file() for p in cache_paths(cache, job.sha256))))
    total, done = len(jobs), 0
    if progress:
        progress(0, total)

    def tick() -> None:
        nonlocal done
        done += 1
        if progress:
            progress(done, total)

    items: list[dict[str, Any]] = []
    outcomes = make_all(jobs, workers if workers is not None else default_workers(to_make), tick)
    for (row, entry, photo), outcome in zip(chosen, outcomes, strict=True):
        if outcome.error is not None:
            gallery.warnings.append(f"{row['entry_id']}: {outcome.error}; left out of the gallery")
            continue
        gallery.made += 2 if outcome.made else 0
        gallery.reused += 0 if outcome.made else 2
        gallery.photos.append(photo)
        # the name as [gallery] names allows; Chinese (lang="zh") by the name as written: "张*" is not all Han
        name_lang = "zh" if is_han(entry["name"] or "") else ""
        items.append({"photo": photo, "entry": entry, "award_label": _label(row["award"], row["rank"], stage),
                      "name": published_name(entry["name"], mode), "name_lang": name_lang,
                      "category_title": CATEGORY_TITLE.get(row["category"] or "", row["category"] or ""),
                      "country": country_name(entry["country"])})  # one spelling per country (中国 = China)
    if not items:
        if not chosen and gallery.no_consent:
            raise GalleryError(f"no photo of the gallery may be published: the manifest withholds consent to "
                               f"publication (publication_consent) for {', '.join(gallery.no_consent)}")
        raise GalleryError("no photo of the gallery could be read: " + "; ".join(gallery.warnings))
    _write_pages(ws, gallery, items, len(rows))
    _prune(gallery)
    stages.record(ws, "gallery", {"outputs": [str(out)], "entries": [p.entry_id for p in gallery.photos],
                                  "left_out_no_consent": gallery.no_consent})
    return gallery


def _label(award: str, rank: int | None, stage: str) -> str:
    if award == "gallery" and rank:
        return f"Gallery · place {rank}"
    if award == "qualifier" and rank:
        return f"Qualifier · rank {rank} in category"
    return AWARD_LABEL.get(award, award)


def _write_pages(ws: Any, gallery: Gallery, items: list[dict[str, Any]], awarded: int) -> None:
    env = _env()
    contest = ws.settings.name
    # the award list's own size (global_top + gallery_size places, 10 by default), not a fixed "10"
    heading = f"Global top {awarded}" if gallery.stage == "global" else "National qualifiers"
    groups: list[dict[str, Any]] = []
    for item in items:
        title = item["category_title"] if gallery.stage != "global" else ""
        if not groups or groups[-1]["title"] != title:
            groups.append({"title": title, "items": []})
        groups[-1]["items"].append(item)
    common = {"contest": contest, "heading": heading, "stage": gallery.stage, "web_px": WEB_PX}
    write_atomic(gallery.index, env.get_template("gallery-index.html").render(
        groups=groups, count=len(items), **common).encode("utf-8"))
    page = env.get_template("gallery-photo.html")
    for i, item in enumerate(items):
        prev_item = items[i - 1] if i > 0 else None
        next_item = items[i + 1] if i + 1 < len(items) else None
        html = page.render(item=item, prev=prev_item, next=next_item, position=i + 1, count=len(items), **common)
        write_atomic(gallery.out / item["photo"].page, html.encode("utf-8"))
    css = (templates_dir() / CSS).read_bytes()
    target = gallery.out / CSS
    if not (target.is_file() and target.read_bytes() == css):
        write_atomic(target, css)


def _prune(gallery: Gallery) -> None:
    """Remove pages and images this tool made earlier for entries no longer in the gallery."""
    keep = {"index.html", CSS} | {p.page for p in gallery.photos}
    keep_images = {Path(p.image).name for p in gallery.photos} | {Path(p.thumb).name for p in gallery.photos}
    for path in gallery.out.glob("*.html"):
        if path.name not in keep:
            path.unlink(missing_ok=True)
    images = gallery.out / IMAGES
    if images.is_dir():
        for path in images.iterdir():
            stale = path.name.endswith(".tmp") or (path.suffix == ".jpg" and path.name not in keep_images)
            if stale and path.is_file():
                path.unlink(missing_ok=True)
    for tmp in gallery.out.glob(".*.tmp"):
        tmp.unlink(missing_ok=True)
