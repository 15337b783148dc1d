"""Face detection for the `face` rule: dlib's HOG frontal-face detector, offline, no model file.

Measured on the shared corpus (bench/measure_detectors.py): it found every frontal face, gave no false
face on any photo (OpenCV's Haar cascades found "faces" in foliage and cost 5-20x more), and real faces
scored 0.8-1.9 against a default threshold of 0.5. It finds frontal and near-frontal faces only: a head
turned into profile or bent down over a cooking pot is missed.

It runs on the shared grey analysis image (long side 640 px: ~30 ms), so a face must be at least ~70 px
there, about a tenth of the photo's long side. Smaller photos are upsampled inside dlib instead.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from milsetctl.analysis import ANALYSIS_SIDE, Analysis

_detector: Any = None


def detector() -> Any:
    """The dlib detector, built once per process (building it costs ~20 ms)."""
    global _detector
    if _detector is None:
        import dlib

        _detector = dlib.get_frontal_face_detector()
    return _detector


@dataclass(frozen=True)
class Face:
    """A face box in the reduced decode's pixels, with dlib's detection score (higher = surer)."""

    x: float
    y: float
    w: float
    h: float
    score: float


def detect_faces(analysis: Analysis, min_score: float) -> list[Face]:
    """Faces scoring above min_score, best first, in the reduced decode's pixels."""
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
        faces.append(Face(left * k, top * k, (right - left) * k, (bottom - top) * k, float(score)))
    faces.sort(key=lambda f: -f.score)
    return faces
