"""Past entries: a photo that took part in an earlier year's contest, found in the archives the secretariat keeps
(`milsetctl archive`, milsetctl/archive.py; `[archive] paths` in contest.toml).

The same two stages as the duplicate rule, with its hashes and its content check: the content hash finds a
byte-identical file whatever its title; both perceptual hashes within `analysis.duplicate_max_distance` bits propose
near copies (one pass over the archive's packed hashes, ~20 us a photo at 20,000 archived photos); each is confirmed
by `similarity.compare_images` on the two thumbnails (the new photo's cached one, the archived one kept in the file),
which keeps two different Moon photos apart where the hashes cannot. The check is asked both ways round (a copy is a
copy whichever frame is taken as the original), as an archive puts many more Moons before it than one contest does:
on 20 new Moons against 2,000 archived ones (bench/bench_archive.py) one way round took 6 small Moons of another
phase and surface at nearly the same place for copies, both ways round 1; every copy of the duplicate rule's tests
and of tests/test_archive.py passes both ways. The verdict of each photo is kept in the
workspace's cache under a key holding each archive's content digest: an unchanged photo is not searched again, and
a new archive file (a year appended) checks every photo again.
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from milsetctl.archive import (
    ArchivedPhoto,
    ArchiveIndex,
    VerdictCache,
    archive_paths,
    contest_year,
    describe_photos,
    index_key,
    open_index,
)
from milsetctl.rules import ContestItem, rule
from milsetctl.rules.duplicates import MAX_LISTED, UNCONFIRMED_MAX_DISTANCE, popcount64
from milsetctl.settings import Settings

if TYPE_CHECKING:
    import numpy as np

RULE_VERSION = 1
_RANK = {"identical": 0, "near": 1}


@dataclass
class SearchStats:
    """What one search cost, for bench/bench_archive.py."""

    photos: int = 0  # photos searched (the others came from the verdict cache)
    cached: int = 0
    archived: int = 0  # rows in the index (0 when nothing needed it)
    candidates: int = 0  # hash candidates
    compared: int = 0  # content checks run
    quick: int = 0  # of them, turned away at the first look (before any alignment)
    one_way: int = 0  # candidates the content check took for a copy one way round only: not matched
    seconds: dict[str, float] = field(default_factory=dict)  # CPU seconds: key, load, search, compare


def _hash(value: str | None) -> int | None:
    try:
        return int(value, 16) if value else None
    except ValueError:
        return None


def _aspect(width: int | None, height: int | None) -> float | None:
    return math.log(width / height) if width and height else None


def near(index: ArchiveIndex, phash: int, dhash: int, limit: int) -> list[tuple[int, int, int]]:
    """(row, phash distance, dhash distance) of every archived row whose both hashes are within `limit` bits.

    One pass over the packed hashes, the DCT hash first, the difference hash for its few survivors: ~20 us a photo
    at 20,000 archived photos. No tree or band index does better at the duplicate rule's radius (16 of 64 bits):
    a BK-tree visits nearly every node, and multi-index hashing over four 16-bit bands probes 2,517 buckets a band
    (pigeonhole: one band within 4 bits), measured at 1 ms a lookup over 20,000 rows."""
    import numpy as np

    if not len(index.phash):
        return []
    dp = popcount64(index.phash ^ np.uint64(phash))
    close = np.nonzero(dp <= limit)[0]
    if not len(close):
        return []
    dd = popcount64(index.dhash[close] ^ np.uint64(dhash))
    keep = dd <= limit
    return [(int(index.hashed_rows[i]), int(a), int(b))
            for i, a, b in zip(close[keep].tolist(), dp[close][keep].tolist(), dd[keep].tolist(), strict=True)]


def _search(index: ArchiveIndex, item: ContestItem, limit: int, stats: SearchStats) -> list[dict[str, Any]]:
    """The archived rows `item`'s photo is a copy of, as the verdict cache keeps them (file, photo_id, kind, distances,
    correlation)."""
    from milsetctl.analysis.similarity import MAX_ASPECT_CHANGE, compare_images, load_grey

    photo = item.photo
    assert photo is not None
    found: list[dict[str, Any]] = []

    def keep(row: int, kind: str, distance: int, dp: int | None, dd: int | None, correlation: float | None) -> None:
        found.append({"file": index.row_file[row], "photo": index.row_photo[row], "kind": kind, "distance": distance,
                      "phash_distance": dp, "dhash_distance": dd, "correlation": correlation})

    identical = index.by_sha.get(photo.sha256, [])
    for row in identical:
        keep(row, "identical", 0, 0, 0, None)
    ph, dh = _hash(photo.phash), _hash(photo.dhash)
    if ph is None or dh is None:
        return found
    started = time.process_time()
    candidates = [c for c in near(index, ph, dh, limit) if c[0] not in identical]
    stats.seconds["search"] = stats.seconds.get("search", 0.0) + time.process_time() - started
    stats.candidates += len(candidates)
    aspect = _aspect(photo.display_width, photo.display_height)
    grey: np.ndarray | None = None
    grey_read = False
    for row, dp, dd in candidates:
        distance = max(dp, dd)
        if item.thumbnail is None or not index.row_has_thumbnail[row]:
            if distance <= UNCONFIRMED_MAX_DISTANCE:  # the duplicate rule's rule for a pair without pixels
                keep(row, "near", distance, dp, dd, None)
            continue
        other_aspect = index.row_aspect[row]
        if aspect is not None and other_aspect is not None and abs(aspect - other_aspect) > MAX_ASPECT_CHANGE:
            continue  # frames of another shape: compare_images says so without being asked
        started = time.process_time()
        if not grey_read:
            grey, grey_read = load_grey(item.thumbnail), True
        archived = index.pixels(row)
        if grey is None or archived is None:
            if distance <= UNCONFIRMED_MAX_DISTANCE:
                keep(row, "near", distance, dp, dd, None)
            continue
        verdict = compare_images(grey, archived)
        stats.compared += 1
        if verdict.same:  # and the other way round (module docstring)
            back = compare_images(archived, grey)
            stats.compared += 1
            if back.same:
                keep(row, "near", distance, dp, dd, min(verdict.score, back.score))
            else:
                stats.one_way += 1
        elif verdict.reason.startswith("unaligned"):
            stats.quick += 1
        stats.seconds["compare"] = stats.seconds.get("compare", 0.0) + time.process_time() - started
    return found


def find_past_entries(items: list[ContestItem], settings: Settings,
                      stats: SearchStats | None = None) -> dict[int, list[tuple[dict[str, Any], ArchivedPhoto]]]:
    """Every entry (by index in `items`) whose photo is in an archive `[archive] paths` names, with the matches
    (as cached) and the archived photos they name, best first. {} when no archive is named.

    Raises ArchiveError (code 2) naming an archive file that is missing or unreadable."""
    from milsetctl.probe import PROBE_VERSION

    stats = stats if stats is not None else SearchStats()
    paths = archive_paths(settings)
    if not paths:
        return {}
    started = time.process_time()
    year = contest_year(settings)
    limit = int(settings.analysis.get("duplicate_max_distance", 16))
    key_parts = ["past-entry", RULE_VERSION, PROBE_VERSION, limit, index_key(paths, year)]
    key = hashlib.sha256(json.dumps(key_parts).encode()).hexdigest()[:32]
    cache = VerdictCache(settings.path.parent / "cache" if settings.path is not None else None, key)
    stats.seconds["key"] = time.process_time() - started

    readable = [(i, item) for i, item in enumerate(items)
                if item.photo is not None and item.photo.sha256 and not item.photo.error]
    todo: dict[str, ContestItem] = {}
    for _, item in readable:
        sha = item.photo.sha256  # type: ignore[union-attr]
        if cache.get(sha) is None and sha not in todo:
            todo[sha] = item
    stats.cached = len({item.photo.sha256 for _, item in readable}) - len(todo)  # type: ignore[union-attr]
    if todo:
        started = time.process_time()
        index = open_index(paths, year)
        stats.seconds["load"] = time.process_time() - started
        stats.archived = len(index)
        try:
            for sha, item in todo.items():
                cache.put(sha, _search(index, item, limit, stats))
                stats.photos += 1
        finally:
            index.close()
        cache.save()

    verdicts = {i: cache.get(item.photo.sha256) or [] for i, item in readable}  # type: ignore[union-attr]
    named = describe_photos(paths, {(m["file"], m["photo"]) for found in verdicts.values() for m in found})
    out: dict[int, list[tuple[dict[str, Any], ArchivedPhoto]]] = {}
    for i, found in verdicts.items():
        pairs = [(m, named[(m["file"], m["photo"])]) for m in found if (m["file"], m["photo"]) in named]
        if pairs:
            pairs.sort(key=lambda p: (_RANK[p[0]["kind"]], p[0]["distance"], -p[1].year, p[1].entry_id))
            out[i] = pairs
    return out


def _describe(match: dict[str, Any], photo: ArchivedPhoto) -> str:
    title = f'"{photo.title}"' if photo.title else "untitled"
    where = f", {photo.country}" if photo.country else ""
    then = "; rejected then" if photo.status == "rejected" else ""
    entered = (f"entered in {photo.year} as {title} ({photo.contest}, {photo.stage}{where}, {photo.entry_id}; "
               f"{photo.award_words()}{then})")
    if match["kind"] == "identical":
        return f"{entered}: byte-identical"
    if match["correlation"] is None:
        return f"{entered}: near-identical on the hashes alone, distance {match['distance']} (no thumbnail to compare)"
    return f"{entered}: near-identical, distance {match['distance']}, correlation {match['correlation']:.2f}"


@rule("past-entry", "review", "contest", version=RULE_VERSION,
      uses=("archive.paths", "analysis.duplicate_max_distance"))
def past_entry(items: list[ContestItem], settings: Settings) -> Iterator[tuple[str, tuple[str, dict[str, Any]]]]:
    """The same or a near-identical photo was entered in an earlier year's contest.

    Photo salons accept a photo once: a picture that competed before (and perhaps won) takes a place from new work,
    and a retitled copy hides that from a jury that cannot remember past years. `milsetctl archive` keeps each
    contest's fingerprints (content hash, perceptual hashes, a 480 px thumbnail, title, year, award; no personal
    data) in a file the secretariat keeps; `[archive] paths` in contest.toml names those files, and every photo is
    checked against them the way `duplicate-image` checks the contest's own entries: byte-identical by content hash
    (whatever the title), near-identical (resized, recompressed, converted, cropped up to 8 % a side) when both
    perceptual hashes are within `analysis.duplicate_max_distance` bits and the thumbnails, aligned, correlate in
    the whole picture and its detail (different Moon photos stay apart). Without a thumbnail on either side the
    hashes decide alone, within 4 bits. Rows of this contest's own year are not past entries (this contest archived,
    or its national rounds at the global stage). The message names the year, the title then and whether it won.
    A named archive file that is missing or unreadable stops validate (exit 2): the check must not pass silently.
    """
    found = find_past_entries(items, settings)
    for index, pairs in sorted(found.items()):
        parts = [_describe(m, photo) for m, photo in pairs[:MAX_LISTED]]
        if len(pairs) > MAX_LISTED:
            parts.append(f"and {len(pairs) - MAX_LISTED} more")
        data = {"matches": [{"archive": photo.archive, "year": photo.year, "contest": photo.contest,
                             "stage": photo.stage, "country": photo.country, "entry_id": photo.entry_id,
                             "title": photo.title, "status": photo.status, "award": photo.award,
                             "kind": m["kind"], "distance": m["distance"], "phash_distance": m["phash_distance"],
                             "dhash_distance": m["dhash_distance"], "correlation": m["correlation"]}
                            for m, photo in pairs]}
        yield items[index].entry.key, ("; ".join(parts), data)
