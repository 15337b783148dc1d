"""Pixel analysis shared by the detector rules (faces, text): small arrays derived once per photo.

The probe holds one reduced RGB decode (long side 800..1600 px). The detectors work on a grey copy
with a fixed long side (`ANALYSIS_SIDE`), so their thresholds mean the same thing for a phone photo
and a 50 MP frame. The grey array is kept in `probe.memo`, so the face and text rules compute it once.

OpenCV, dlib and RapidOCR are imported inside functions: `milsetctl --help` must stay instant and a
photo with nothing to analyse must not pay for loading a model. OpenCV is limited to one thread: the
pipeline already runs one worker process per core.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np

    from milsetctl.probe import Probe

# long side of the grey analysis image (pixels): faces >= ~70 px and text >= ~7 px tall at this size
ANALYSIS_SIDE = 640
_MEMO_KEY = "analysis.grey"

_cv2: Any = None


def cv2_module() -> Any:
    """OpenCV, imported on first use and limited to one thread per process."""
    global _cv2
    if _cv2 is None:
        import cv2

        cv2.setNumThreads(1)
        _cv2 = cv2
    return _cv2


@dataclass
class Analysis:
    """The photo as the detectors see it.

    `rgb` is the probe's reduced decode as an array; `grey` and `chroma` (max minus min of R, G, B: an
    orange date stamp on green grass, or yellow letters on a blue sky, have little grey contrast but a
    strong one here) are resized so the long side is ANALYSIS_SIDE.
    `grey_scale` is reduced-decode pixels per grey pixel.
    """

    rgb: np.ndarray
    grey: np.ndarray
    chroma: np.ndarray
    grey_scale: float


def analysis_of(probe: Probe) -> Analysis | None:
    """The shared analysis arrays of a probe (computed once, kept in probe.memo); None if not decoded."""
    if probe.image is None:
        return None
    cached = probe.memo.get(_MEMO_KEY)
    if cached is None:
        cached = make_analysis(probe.image)
        probe.memo[_MEMO_KEY] = cached
    return cached


def make_analysis(image: Any) -> Analysis:
    """Build the analysis arrays from an RGB PIL image (or an HxWx3 uint8 array)."""
    import numpy as np

    cv2 = cv2_module()
    rgb = np.asarray(image.convert("RGB") if hasattr(image, "convert") and image.mode != "RGB" else image)
    rgb = np.ascontiguousarray(rgb[:, :, :3], dtype=np.uint8)
    h, w = rgb.shape[:2]
    small = rgb
    # integer box reduction first (fast in OpenCV), then a short linear step to the exact size
    k = max(1, max(h, w) // ANALYSIS_SIDE)
    if k > 1:
        small = cv2.resize(small, (max(1, w // k), max(1, h // k)), interpolation=cv2.INTER_AREA)
    s = ANALYSIS_SIDE / max(small.shape[:2])
    if s < 0.95:
        size = (max(1, round(small.shape[1] * s)), max(1, round(small.shape[0] * s)))
        small = cv2.resize(small, size, interpolation=cv2.INTER_LINEAR)
    grey = cv2.cvtColor(small, cv2.COLOR_RGB2GRAY)
    r, g, b = cv2.split(small)
    chroma = cv2.subtract(cv2.max(cv2.max(r, g), b), cv2.min(cv2.min(r, g), b))
    return Analysis(rgb=rgb, grey=grey, chroma=chroma, grey_scale=w / grey.shape[1])
