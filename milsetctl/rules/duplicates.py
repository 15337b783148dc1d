"""Duplicates across entries: the same picture sent twice, by one contestant or by two.

Two stages. The hashes the probe left in each PhotoInfo (content hash, 64-bit DCT hash `phash`, 64-bit
difference hash `dhash`) propose candidate pairs: NumPy XOR + popcount in blocks, 5000 photos (12.5 M pairs)
well under a second. A hash is a 32x32 or 9x8 summary, and every dark sky with one small bright object
summarises to nearly the same bits, so each candidate is then confirmed on content: the two cached thumbnails
are aligned the way a copy can differ (resized, cropped a few per cent) and correlated
(`milsetctl.analysis.similarity`). Thumbnails are read for candidate pairs only, never the original files.
"""

from __future__ import annotations

import time
from collections import OrderedDict, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import datetime
from functools import cache
from typing import TYPE_CHECKING, Any

from milsetctl.models import PhotoInfo
from milsetctl.rules import ContestItem, rule
from milsetctl.settings import Settings

# NumPy and the content check (OpenCV) are imported by the functions that use them: `milsetctl rules`, `status`
# and every settings check load this module to know the rule, and must not pay ~1 s for libraries they never call
if TYPE_CHECKING:
    import numpy as np

# Beyond the near-identical threshold, two photos still count as "the same scene" when both hashes are
# within this many bits AND the same camera model took them minutes apart (a burst, an HDR bracket, two
# entries from one shoot). Unrelated photos sit at 20+ bits; the corroboration keeps chance matches out.
SCENE_MAX_DISTANCE = 20
SCENE_MAX_SECONDS = 600
# Without a thumbnail to compare (a workspace whose cache was deleted), the hashes decide alone, and only this
# close: the field case's copies sit at 0-2 bits, different dark-sky photos from 6 up.
UNCONFIRMED_MAX_DISTANCE = 4
MAX_LISTED = 5  # others named in one message; the data lists them all


@cache
def _pop8() -> np.ndarray:
    """Bits set in each byte value, for NumPy < 2 (made once)."""
    import numpy as np

    return np.array([bin(i).count("1") for i in range(256)], dtype=np.uint8)


def popcount64(values: np.ndarray) -> np.ndarray:
    """Bits set in each uint64 (NumPy >= 2 has it built in)."""
    import numpy as np

    if hasattr(np, "bitwise_count"):
        return np.bitwise_count(values)
    as_bytes = np.ascontiguousarray(values).view(np.uint8).reshape(*values.shape, 8)
    return _pop8()[as_bytes].sum(axis=-1, dtype=np.uint8)


def close_pairs(a: np.ndarray, b: np.ndarray, limit: int) -> Iterator[tuple[int, int, int, int]]:
    """(i, j, distance in a, distance in b) for i < j whose larger distance is at most `limit`.

    `a` and `b` are two uint64 hashes per photo. Rows are taken in blocks so memory stays ~16 MB
    whatever the number of photos; only the upper triangle is computed.
    """
    import numpy as np

    n = len(a)
    block = max(16, min(1024, 2_000_000 // max(n, 1)))
    for start in range(0, n, block):
        stop = min(n, start + block)
        da = popcount64(a[start:stop, None] ^ a[None, start:])
        db = popcount64(b[start:stop, None] ^ b[None, start:])
        rows, cols = np.nonzero(np.maximum(da, db) <= limit)
        for r, c in zip(rows.tolist(), cols.tolist(), strict=True):
            if start + r < start + c:
                yield start + r, start + c, int(da[r, c]), int(db[r, c])


def _shot_time(photo: PhotoInfo) -> datetime | None:
    text = (photo.datetime_original or "").strip()
    try:
        return datetime.strptime(text[:19], "%Y:%m:%d %H:%M:%S")
    except ValueError:
        return None


def _camera(photo: PhotoInfo) -> str | None:
    make, model = (photo.make or "").strip(), (photo.model or "").strip()
    if not model:
        return None
    return model if model.lower().startswith(make.lower()) else f"{make} {model}".strip()


def _same_shoot(x: PhotoInfo, y: PhotoInfo) -> str | None:
    """'same camera (X) 26 s apart' when one camera model took both within SCENE_MAX_SECONDS."""
    camera = _camera(x)
    if not camera or (camera.lower() != (_camera(y) or "").lower()):
        return None
    tx, ty = _shot_time(x), _shot_time(y)
    if tx is None or ty is None:
        return None
    seconds = abs((tx - ty).total_seconds())
    if seconds > SCENE_MAX_SECONDS:
        return None
    return f"same camera ({camera}) {seconds:.0f} s apart"


@dataclass
class _Match:
    other: int
    kind: str  # "identical", "near", "scene"
    distance: int
    phash_distance: int | None = None
    dhash_distance: int | None = None
    detail: str = ""
    correlation: float | None = None  # after alignment, when the content check ran


_RANK = {"identical": 0, "near": 1, "scene": 2}


def _hash(value: str | None) -> int | None:
    try:
        return int(value, 16) if value else None
    except ValueError:
        return None


class _Pixels:
    """Grey thumbnails read on demand for candidate pairs only, a bounded number kept in memory."""

    def __init__(self, items: list[ContestItem], keep: int = 256) -> None:
        self.items = items
        self.keep = keep
        self.cache: OrderedDict[int, np.ndarray | None] = OrderedDict()

    def __call__(self, index: int) -> np.ndarray | None:
        if index in self.cache:
            self.cache.move_to_end(index)
            return self.cache[index]
        from milsetctl.analysis.similarity import load_grey

        path = self.items[index].thumbnail
        grey = load_grey(path) if path is not None else None
        self.cache[index] = grey
        if len(self.cache) > self.keep:
            self.cache.popitem(last=False)
        return grey


def find_duplicates(
    items: list[ContestItem], settings: Settings, timings: list[float] | None = None
) -> dict[int, list[_Match]]:
    """Every entry (by index in `items`) with the entries it duplicates, best match first.

    Hash candidates (both hashes within `analysis.duplicate_max_distance`) are confirmed by comparing the
    cached thumbnails (`similarity.compare_images`); a pair with no thumbnail on either side is kept on the
    hashes alone only up to UNCONFIRMED_MAX_DISTANCE. `timings`, when given, receives the CPU milliseconds of
    each content check (for bench/measure_duplicates.py).
    """
    import numpy as np

    max_distance = int(settings.analysis.get("duplicate_max_distance", 16))
    best: dict[tuple[int, int], _Match] = {}

    def keep(i: int, j: int, match: _Match) -> None:
        old = best.get((i, j))
        if old is None or (_RANK[match.kind], match.distance) < (_RANK[old.kind], old.distance):
            best[(i, j)] = match

    by_sha: dict[str, list[int]] = defaultdict(list)
    hashed: list[int] = []
    for index, item in enumerate(items):
        photo = item.photo
        if photo is None:
            continue
        if photo.sha256:
            by_sha[photo.sha256].append(index)
        if _hash(photo.phash) is not None and _hash(photo.dhash) is not None:
            hashed.append(index)

    for group in by_sha.values():
        for a in group:
            for b in group:
                if a != b:
                    keep(a, b, _Match(b, "identical", 0, 0, 0))

    if len(hashed) > 1:
        pixels = _Pixels(items)
        ph = np.array([_hash(items[i].photo.phash) for i in hashed], dtype=np.uint64)  # type: ignore[union-attr]
        dh = np.array([_hash(items[i].photo.dhash) for i in hashed], dtype=np.uint64)  # type: ignore[union-attr]
        limit = max(max_distance, SCENE_MAX_DISTANCE)
        for x, y, dp, dd in close_pairs(ph, dh, limit):
            i, j = hashed[x], hashed[y]
            if items[i].photo.sha256 == items[j].photo.sha256:  # type: ignore[union-attr]
                continue  # byte-identical: named as such above
            distance = max(dp, dd)
            match: _Match | None = None
            if distance <= max_distance:
                match = _confirm(i, j, distance, pixels, timings)
                if match is not None:
                    match.phash_distance, match.dhash_distance = dp, dd
            if match is None:
                detail = _same_shoot(items[i].photo, items[j].photo)  # type: ignore[arg-type]
                if not detail:
                    continue
                match = _Match(j, "scene", distance, dp, dd, detail)
            keep(i, j, match)
            keep(j, i, replace(match, other=i))

    found: dict[int, list[_Match]] = defaultdict(list)
    for (i, _), match in best.items():
        found[i].append(match)
    for matches in found.values():
        matches.sort(key=lambda m: (_RANK[m.kind], m.distance, items[m.other].entry.entry_id))
    return found


def _confirm(i: int, j: int, distance: int, pixels: _Pixels, timings: list[float] | None) -> _Match | None:
    """A "near" match when the content check says i and j are one picture; None when it says they are not.

    Without pixels on either side the hashes decide alone, and only when they are very close."""
    from milsetctl.analysis.similarity import compare_images

    a, b = pixels(i), pixels(j)
    if a is None or b is None:
        if distance > UNCONFIRMED_MAX_DISTANCE:
            return None
        return _Match(j, "near", distance, detail="hashes only: no thumbnail to compare")
    started = time.process_time()
    verdict = compare_images(a, b)
    if timings is not None:
        timings.append((time.process_time() - started) * 1000)
    if not verdict.same:
        return None
    return _Match(j, "near", distance, correlation=verdict.score)


def _name(item: ContestItem) -> str:
    entry = item.entry
    return f"{entry.entry_id or entry.key} ({entry.file or 'no file'})"


def _describe(match: _Match, items: list[ContestItem]) -> str:
    other = _name(items[match.other])
    if match.kind == "identical":
        return f"byte-identical to {other}"
    if match.kind == "near":
        how = f"correlation {match.correlation:.2f}" if match.correlation is not None else match.detail
        return f"near-identical to {other}, distance {match.distance}, {how}"
    return f"same scene as {other}, distance {match.distance}, {match.detail}"


@rule("duplicate-image", "review", "contest", version=2, uses=("analysis.duplicate_max_distance",))
def duplicate_image(items: list[ContestItem], settings: Settings) -> Iterator[tuple[str, tuple[str, dict[str, Any]]]]:
    """The same or a near-identical photo appears in another entry.

    One picture sent twice, by one contestant or passed between two, takes two places from the jury.
    Byte-identical files are matched by content hash. Resized, recompressed, converted (PNG, JPEG) or slightly
    cropped copies: both perceptual hashes (DCT and difference) within `analysis.duplicate_max_distance` bits
    of 64 make a candidate, and the cached thumbnails decide: aligned by a resize and a crop of at most 8 % per
    side, they must correlate, in the whole picture and in its fine detail. Hashes alone cannot tell two night
    skies with a Moon apart; the content check can (a copy correlates at 0.8+ in detail, another photo of the
    same kind of subject below 0.75). Without a thumbnail (a deleted cache) the hashes decide alone, and only
    within 4 bits. Two shots of one scene minutes apart by the same camera model (a burst, an HDR bracket) are
    reported too, up to 20 bits. Each entry of a group gets a finding naming the others by entry ID and file,
    for a person to compare; entries without a readable photo are skipped.

    Version 2: hash candidates confirmed by thumbnail alignment and correlation. Version 1: hashes alone.
    """
    found = find_duplicates(items, settings)
    for index, matches in sorted(found.items()):
        parts = [_describe(m, items) for m in matches[:MAX_LISTED]]
        if len(matches) > MAX_LISTED:
            parts.append(f"and {len(matches) - MAX_LISTED} more")
        data = {
            "matches": [
                {
                    "entry_id": items[m.other].entry.entry_id,
                    "entry_key": items[m.other].entry.key,
                    "file": items[m.other].entry.file,
                    "kind": m.kind,
                    "distance": m.distance,
                    "phash_distance": m.phash_distance,
                    "dhash_distance": m.dhash_distance,
                    "correlation": m.correlation,
                }
                for m in matches
            ]
        }
        yield items[index].entry.key, ("; ".join(parts), data)
