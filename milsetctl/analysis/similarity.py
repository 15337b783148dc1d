"""Are two pictures the same photo? A content check for the duplicate rule's hash candidates.

Perceptual hashes see a 32x32 or 9x8 summary: every dark sky with one small bright object summarises to
nearly the same bits, so the hash only proposes candidates. This module confirms one: it aligns the two
pictures the way a copy can differ from its original (resized, recompressed, converted, cropped a few per
cent: an axis-aligned scale and shift of the frame, one frame inside the other) and correlates them after
alignment, three ways: the picture, its fine detail, and the surface of the bright object both show. Two
different photos of the same kind of subject fail at least one: the object sits elsewhere in the frame (no
crop explains the move), is another size or phase, or has another surface once it is aligned.

The limit: the same Moon photographed twice with the same size, phase and turn at the same place of the
frame, on a featureless sky, differs only by sensor noise, which a thumbnail does not keep; such a pair is
reported, and a person compares (the rule's severity is review).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

SIDE = 256  # both pictures are compared as SIDE x SIDE grey images, each frame stretched to the square
MAX_ASPECT_CHANGE = 0.12  # a crop of a few per cent changes width/height by less than this (log ratio)
MAX_CROP = 0.08  # per axis, of the frame: a copy cropped by up to this much (the issue names 2-4 %)
CROP_TOLERANCE = 0.012  # of the frame: alignment error allowed at the frame edges
MAX_SHIFT = 0.15  # of the frame: the coarse shift search looks this far
MAX_SHEAR = 0.06  # off-diagonal terms: a copy is not rotated or skewed (beyond what ECC makes of a round object)
MIN_OVERLAP = 0.80  # of each frame, the part the other still shows
# After alignment, over the shared part: the picture (blurred 1 px), its detail (what a further DETAIL_SIGMA px
# blur removes) and the surface inside the bright object. Measured on 300 synthetic night skies and a copy of
# each (bench/measure_duplicates.py): copies score 0.83+ on the picture, 0.83+ on detail but one star field
# (0.70), 0.81+ on the surface; of 8,850 pairs of different frames of one kind, those that align reach 0.99 on
# the picture (a glow or a gradient correlates in any sky), 0.75 on detail (two total eclipses at one place),
# and where detail is higher (0.95: two planets of one size at one place) their surfaces correlate at 0.00.
MIN_CORRELATION = 0.80
MIN_DETAIL_CORRELATION = 0.80
MIN_INTERIOR_CORRELATION = 0.60
MIN_INTERIOR_PIXELS = 60  # of the SIDE square (a disk of ~9 px): smaller shared objects are judged by detail
DETAIL_SIGMA = 4.0
QUICK_SIDE, QUICK_BLUR = 32, 1.5  # the first look: 32 px squares, blurred by 1.5 px
MIN_QUICK_CORRELATION = 0.25  # copies measured 0.29+ on the first look (star fields lowest)


@dataclass(frozen=True)
class Comparison:
    """The verdict on one pair: `same` when, under an alignment a copy can have, the correlations (-1..1) of the
    picture (`score`), its detail and the object's surface (`interior_score`, 1.0 when there is none to judge)
    all clear their bars; `reason` says why not, for tests and the bench."""

    same: bool
    score: float
    detail_score: float = 0.0
    reason: str = ""
    interior_score: float = 1.0


def load_grey(path: Path | str) -> np.ndarray | None:
    """The picture at `path` as a 2-D uint8 grey array (its own size and aspect), or None if unreadable."""
    data = np.fromfile(str(path), dtype=np.uint8) if Path(path).is_file() else None
    if data is None or not data.size:
        return None
    image = cv2.imdecode(data, cv2.IMREAD_GRAYSCALE)
    return image if image is not None and image.size else None


def _square(grey: np.ndarray, side: int) -> np.ndarray:
    interpolation = cv2.INTER_AREA if max(grey.shape) > side else cv2.INTER_LINEAR
    return cv2.resize(grey, (side, side), interpolation=interpolation).astype(np.float32)


def _ncc(a: np.ndarray, b: np.ndarray, mask: np.ndarray) -> float:
    """Normalised cross-correlation of a and b over mask; 0 when either is flat there."""
    x, y = a[mask].astype(np.float64), b[mask].astype(np.float64)
    if x.size < 16:
        return 0.0
    x -= x.mean()
    y -= y.mean()
    denominator = math.sqrt(float((x * x).sum() * (y * y).sum()))
    return float((x * y).sum() / denominator) if denominator > 1e-9 else 0.0


def quick_correlation(a: np.ndarray, b: np.ndarray) -> float:
    """Correlation of the two frames at QUICK_SIDE px, heavily blurred, with no alignment: a first look that
    lets a copy through (a few per cent of crop moves nothing by more than a blur radius) and turns most
    different photos away before the alignment is paid for."""
    qa, qb = (cv2.GaussianBlur(_square(x, QUICK_SIDE), (0, 0), QUICK_BLUR) for x in (a, b))
    return _ncc(qa, qb, np.ones(qa.shape, bool))


def _interior_correlation(a: np.ndarray, b: np.ndarray, valid: np.ndarray) -> float:
    """Correlation inside the bright object both pictures show at the same place (its surface, edges left out):
    a Moon turned or another Moon at the same spot has the same outline and glow but not the same surface.
    1.0 when the shared bright part is too small to judge (star fields: the detail decides there)."""
    masks, spans = [], []
    for image in (a, b):
        background, top = np.percentile(image[valid], (50, 99.9))
        masks.append(image > background + 0.35 * (top - background))
        spans.append(float(top - background))
    inside = cv2.erode((masks[0] & masks[1] & valid).astype(np.uint8), np.ones((5, 5), np.uint8)) > 0
    if int(inside.sum()) < MIN_INTERIOR_PIXELS:
        return 1.0
    if min(float(a[inside].std()) / max(spans[0], 1.0), float(b[inside].std()) / max(spans[1], 1.0)) < 0.04:
        return 1.0  # a flat surface (the Sun's disk, a clipped Moon): nothing there to compare
    return _ncc(a, b, inside)


def _warps(a: np.ndarray, b: np.ndarray) -> list[np.ndarray]:
    """Candidate 2x3 affines (ECC convention: b(x) ~ a(W x)) mapping b's square onto a's: the identity, a
    phase-correlation shift, and ECC's refinement of it level by level, coarse to fine. The caller keeps the best
    plausible one: ECC on a frame with one small object can wander (a disk says little about shear)."""
    warp = np.eye(2, 3, dtype=np.float32)
    found = [warp.copy()]
    # a coarse shift first: ECC is local, and a small object may not overlap its copy before it moves
    small = SIDE // 4
    sa = cv2.resize(a, (small, small), interpolation=cv2.INTER_AREA)
    sb = cv2.resize(b, (small, small), interpolation=cv2.INTER_AREA)
    window = cv2.createHanningWindow((small, small), cv2.CV_32F)
    (dx, dy), response = cv2.phaseCorrelate(sb, sa, window)
    if response > 0.05 and abs(dx) <= MAX_SHIFT * small and abs(dy) <= MAX_SHIFT * small:
        warp[0, 2], warp[1, 2] = dx * 4, dy * 4
        found.append(warp.copy())
    criteria = (cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, 50, 1e-5)
    for level in (2, 1, 0):
        side = SIDE >> level
        la = a if level == 0 else cv2.resize(a, (side, side), interpolation=cv2.INTER_AREA)
        lb = b if level == 0 else cv2.resize(b, (side, side), interpolation=cv2.INTER_AREA)
        step = warp.copy()
        step[:, 2] /= 1 << level
        try:
            # opencv's stubs want a mask with gaussFiltSize; None (no mask) is valid at run time
            _, step = cv2.findTransformECC(lb, la, step, cv2.MOTION_AFFINE, criteria, None, 5)  # type: ignore[call-overload]
        except cv2.error:  # flat or hopeless pair: keep the warp so far
            continue
        step[:, 2] *= 1 << level
        if abs(math.log(max(abs(float(step[0, 0] * step[1, 1])), 1e-6))) > 0.5:
            break  # wandered off; the finer levels would only follow
        warp = step
        found.append(warp.copy())
    return found


def _crop_axis(scale: float, shift: float, centre: float) -> tuple[float, float]:
    """(scale, shift) on one axis, changed as little as needed to be a crop that keeps `centre` (of b, 0..1) where
    the warp puts it. A small object pins its position but hardly its size: ECC may explain a crop by a shift
    alone, which no crop can produce; the crop that moves the object as far is found here."""
    start, end = shift, shift + scale
    inside = start >= -CROP_TOLERANCE and end <= 1 + CROP_TOLERANCE
    around = start <= CROP_TOLERANCE and end >= 1 - CROP_TOLERANCE
    if inside or around:
        return scale, shift
    target = scale * centre + shift  # where the object lands in a's frame
    low, high = max(centre, 1e-6), max(1 - centre, 1e-6)
    shrink = min(1.0, target / low, (1 - target) / high)  # b inside a
    grow = max(1.0, target / low, (1 - target) / high)  # a inside b
    best = shrink if (1 - shrink) <= (grow - 1) else grow
    return best, target - best * centre


def _centroid(image: np.ndarray) -> tuple[float, float] | None:
    """The brightness centroid of a SIDE square above its median, as fractions of the side (x, y)."""
    weight = np.clip(image - np.median(image), 0, None)
    total = float(weight.sum())
    if total <= 0:
        return None
    steps = np.arange(SIDE)
    return float(weight.sum(axis=0) @ steps) / total / SIDE, float(weight.sum(axis=1) @ steps) / total / SIDE


def _as_crop(warp: np.ndarray, centre: tuple[float, float] | None) -> np.ndarray:
    """The warp made crop-consistent on both axes, about `centre` (b's brightness centroid)."""
    if centre is None:
        return warp
    out = warp.copy()
    sx, tx = _crop_axis(float(warp[0, 0]), float(warp[0, 2]) / SIDE, centre[0])
    sy, ty = _crop_axis(float(warp[1, 1]), float(warp[1, 2]) / SIDE, centre[1])
    out[0, 0], out[0, 2], out[1, 1], out[1, 2] = sx, tx * SIDE, sy, ty * SIDE
    return out


def _plausible(warp: np.ndarray) -> str:
    """'' when the warp is one a resized or slightly cropped copy can have, else why not.

    A crop keeps one frame inside the other: on each axis, b's frame mapped into a's either lies within a's
    frame or contains it (within CROP_TOLERANCE), and by at most MAX_CROP. So an object that moved in the frame
    is only explained by a crop that large; a shift with no matching change of scale is another photo."""
    (sx, kx, tx), (ky, sy, ty) = warp.tolist()
    if abs(kx) > MAX_SHEAR or abs(ky) > MAX_SHEAR:
        return "rotated or skewed"
    for scale, shift, axis in ((sx, tx / SIDE, "x"), (sy, ty / SIDE, "y")):
        start, end = shift, shift + scale  # b's frame [0, 1] in a's frame coordinates
        if abs(scale - 1) > MAX_CROP + CROP_TOLERANCE:
            return f"scaled {scale:.2f} along {axis}"
        inside = start >= -CROP_TOLERANCE and end <= 1 + CROP_TOLERANCE
        around = start <= CROP_TOLERANCE and end >= 1 - CROP_TOLERANCE
        if not (inside or around):
            return f"moved {shift:+.0%} along {axis} with no crop to explain it"
    return ""


def compare_images(a: np.ndarray, b: np.ndarray, min_correlation: float = MIN_CORRELATION) -> Comparison:
    """Compare two grey pictures (2-D uint8 arrays of any size, e.g. the cached thumbnails).

    Returns a Comparison; `same` means "one is a resized, recompressed, converted or slightly cropped copy of
    the other". Pure NumPy/OpenCV on two small images, one thread: well under 0.1 ms for a pair of frames of
    another shape or turned away by the first look, a few tens of ms for a pair that is aligned.
    """
    ha, wa = a.shape[:2]
    hb, wb = b.shape[:2]
    if abs(math.log((wa / ha) / (wb / hb))) > MAX_ASPECT_CHANGE:
        return Comparison(False, 0.0, reason="frames of different shape")
    quick = quick_correlation(a, b)
    if quick < MIN_QUICK_CORRELATION:
        return Comparison(False, round(quick, 4), reason=f"unaligned correlation {quick:.2f}")
    ua, ub = _square(a, SIDE), _square(b, SIDE)
    sa, sb = cv2.GaussianBlur(ua, (0, 0), 1.0), cv2.GaussianBlur(ub, (0, 0), 1.0)
    centre = _centroid(sb)
    flags = cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP
    best: tuple[float, np.ndarray, np.ndarray, np.ndarray] | None = None  # score, warp, moved a, valid mask
    for warp in _warps(sa, sb):
        warp = _as_crop(warp, centre)
        if _plausible(warp):
            continue
        valid = cv2.warpAffine(np.ones_like(sa), warp, (SIDE, SIDE), flags=flags, borderValue=0) > 0.99
        valid = cv2.erode(valid.astype(np.uint8), np.ones((5, 5), np.uint8)) > 0
        if float(valid.mean()) < MIN_OVERLAP:
            continue
        moved = cv2.warpAffine(sa, warp, (SIDE, SIDE), flags=flags)
        score = _ncc(moved, sb, valid)
        if best is None or score > best[0]:
            best = (score, warp, moved, valid)
    if best is None:
        return Comparison(False, 0.0, reason="no copy-like alignment")
    score, warp, moved, valid = best
    detail_b = sb - cv2.GaussianBlur(sb, (0, 0), DETAIL_SIGMA)
    detail = _ncc(moved - cv2.GaussianBlur(moved, (0, 0), DETAIL_SIGMA), detail_b, valid)
    inner = _interior_correlation(cv2.warpAffine(ua, warp, (SIDE, SIDE), flags=flags), ub, valid)
    same = score >= min_correlation and detail >= MIN_DETAIL_CORRELATION and inner >= MIN_INTERIOR_CORRELATION
    reason = "" if same else f"correlation {score:.2f}, detail {detail:.2f}, inside the object {inner:.2f}"
    return Comparison(same, round(score, 4), round(detail, 4), reason, round(inner, 4))
