"""Text and watermark detection for the `text-watermark` rule, in two passes.

Reading text (RapidOCR: PP-OCR detection + recognition models shipped in its wheel) costs 150-400 ms a
photo, and more with many lines, so it runs only on photos that a cheap first pass picks out.

1. Pre-filter (`text_candidates`, ~10-20 ms): on the shared grey analysis image (long side 640 px), and
   on a red-minus-green copy of it (an orange date stamp on green grass has no grey contrast), mark
   pixels well above or below their local mean (adaptive threshold), keep connected components sized
   and shaped like characters, and chain neighbours of similar height that sit on one line. A chain of
   `GATE_MIN_CHARS` or more characters is a candidate. Half- and quarter-size copies catch big letters.
   Requiring strong contrast and four aligned characters is what skips most camera photos: foliage,
   fences and ferns make short chains of low-contrast blobs. Measured on the corpus: 12 of the 14 photos
   with visible text pass (missed: engraved letters on marble, brick letters on a wall), 3 of 11 clean
   camera photos do. Along the edges, where watermarks sit, light text passes with less contrast
   (`EDGE_CONTRAST`), so a half-transparent watermark is not lost.
2. OCR (`read_text`): detection on the whole reduced decode (long side `DET_SIDE`), then recognition of
   the lines that have room for `min_chars` characters, edges and corners first (where watermarks and
   date stamps sit), at most `MAX_LINES` of them. Noise is filtered as measured: lines with at least 3
   letters/digits and a score of at least 0.8 (the model invents single characters on clean photos).

Models are loaded once per process, on first use; a process that never meets a candidate never loads
them. ONNX Runtime runs one thread per process (the pipeline already uses a process per core; its
default spin-waiting pool was 2-3x slower here).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from milsetctl.analysis import Analysis, cv2_module

# --- pre-filter (grey analysis image pixels, long side 640)
GATE_BLOCK = 31  # adaptive-threshold window: larger than the tallest character looked for
GATE_CONTRAST = 40  # grey levels above/below the local mean that a character stroke must reach
MIN_CHAR_H, MAX_CHAR_H = 7, 26  # per pyramid level: 7-26, 14-52, 28-104 px at 640
GATE_MIN_CHARS = 4  # characters in one aligned chain
# watermarks are light and often half-transparent: along the edges, light text needs less contrast
EDGE_BAND = 0.18  # share of the height (top, bottom) or width (left, right)
EDGE_CONTRAST = 25  # catches a 40 px "(c) name" at 55% opacity on a 2400 px photo; +3 corpus photos gated
# --- OCR
DET_SIDE = 736  # text detection input, long side (px): 480 misses small text, 736 read all the corpus did
MAX_LINES = 10  # lines recognised per photo (a page of text would otherwise cost seconds)
ENOUGH_LINES = 6  # stop recognising once this many lines were read
REGION_X, REGION_Y = 14.0, 2.5  # around a candidate line, searched for text: character heights each side
WHOLE_PHOTO_SHARE = 0.5  # when the areas cover more of the photo than this, search the whole photo

_engine: Any = None


@dataclass(frozen=True)
class Candidate:
    """A chain of character-like shapes, in the reduced decode's pixels."""

    x: float
    y: float
    w: float
    h: float
    char_h: float
    chars: int


@dataclass(frozen=True)
class TextLine:
    """A line of text read in the photo: box in the reduced decode's pixels, recognition score."""

    text: str
    score: float
    x: float
    y: float
    w: float
    h: float


@dataclass
class TextResult:
    lines: list[TextLine]
    candidates: int  # pre-filter chains found (0 = OCR skipped)
    ocr_ran: bool


# ---------------------------------------------------------------------------------------------------
# pre-filter


def _components(channel: Any, bright: bool, contrast: int = GATE_CONTRAST) -> Any:
    """Character-sized connected components of the pixels far from their local mean: (x, y, w, h, area)."""
    import numpy as np

    cv2 = cv2_module()
    mode = cv2.THRESH_BINARY if bright else cv2.THRESH_BINARY_INV
    binary = cv2.adaptiveThreshold(
        channel, 255, cv2.ADAPTIVE_THRESH_MEAN_C, mode, GATE_BLOCK, -contrast if bright else contrast
    )
    _n, _labels, stats, _centroids = cv2.connectedComponentsWithStats(binary, connectivity=8)
    w, h, area = stats[:, 2], stats[:, 3], stats[:, 4]
    extent = area / np.maximum(1, w * h)
    keep = (
        (h >= MIN_CHAR_H) & (h <= MAX_CHAR_H) & (w >= 2) & (w <= 5 * h)
        & (extent > 0.15) & (extent < 0.92) & (area >= 12)
    )
    keep[0] = False  # background
    return stats[keep].astype(np.float64)


def _chains(stats: Any, min_chars: int) -> list[tuple[float, float, float, float, float, int]]:
    """Join boxes of similar height that follow each other on a line; chains of >= min_chars boxes."""
    import numpy as np

    n = len(stats)
    if n < min_chars:
        return []
    stats = stats[np.argsort(stats[:, 0])]
    x0, y0, w, h = stats[:, 0], stats[:, 1], stats[:, 2], stats[:, 3]
    x1, y1, yc = x0 + w, y0 + h, y0 + h / 2
    # right-hand neighbour candidates: starts between just inside this box and ~one height after it
    lo = np.searchsorted(x0, x1 - 0.3 * h, "left")
    hi = np.searchsorted(x0, x1 + 1.1 * h, "right")
    count = np.maximum(hi - lo, 0)
    total = int(count.sum())
    if total == 0:
        return []
    i = np.repeat(np.arange(n), count)
    j = lo[i] + (np.arange(total) - np.repeat(np.cumsum(count) - count, count))
    hm = np.maximum(h[i], h[j])
    ok = (
        (j != i)
        & (np.minimum(h[i], h[j]) / hm > 0.6)
        & (np.abs(yc[i] - yc[j]) < 0.3 * hm)
        & ((np.abs(y1[i] - y1[j]) < 0.2 * hm) | (np.abs(y0[i] - y0[j]) < 0.2 * hm))
        & (x0[j] > x0[i])
        & (x0[j] - x1[i] < 1.0 * hm)
    )
    i, j = i[ok], j[ok]
    if len(i) == 0:
        return []
    # connected components of the neighbour graph by min-label propagation
    label = np.arange(n)
    for _ in range(200):
        low = np.minimum(label[i], label[j])
        new = label.copy()
        np.minimum.at(new, i, low)
        np.minimum.at(new, j, low)
        new = new[new]
        if np.array_equal(new, label):
            break
        label = new
    out = []
    members = np.unique(np.concatenate([i, j]))
    groups, inverse = np.unique(label[members], return_inverse=True)
    for g in range(len(groups)):
        sel = members[inverse == g]
        if len(sel) < min_chars:
            continue
        bx0, bx1, by0, by1 = x0[sel].min(), x1[sel].max(), y0[sel].min(), y1[sel].max()
        char_h = float(np.median(h[sel]))
        if by1 - by0 > 1.8 * char_h or bx1 - bx0 < 2.0 * char_h:
            continue  # not one line
        out.append((float(bx0), float(by0), float(bx1 - bx0), float(by1 - by0), char_h, len(sel)))
    return out


def text_candidates(analysis: Analysis, first_only: bool = False) -> list[Candidate]:
    """Lines of high-contrast character-like shapes; with first_only, stop at the first one found."""
    cv2 = cv2_module()
    found: list[Candidate] = []
    # (channel, pixels of the grey image per channel pixel, polarities): colourful text on a dull
    # background is bright in the chroma channel; white text on colour already shows in grey
    channels = [(analysis.grey, 1.0, (True, False)), (analysis.chroma, 1.0, (True,))]
    level = analysis.grey
    factor = 1.0
    for _ in range(2):  # half and quarter size: letters up to ~100 px tall at 640
        if min(level.shape) < 4 * MIN_CHAR_H:
            break
        level = cv2.resize(level, (level.shape[1] // 2, level.shape[0] // 2), interpolation=cv2.INTER_AREA)
        factor *= 2
        channels.append((level, factor, (True, False)))
    k = analysis.grey_scale
    for channel, f, polarities in channels:
        if min(channel.shape) < 2 * MIN_CHAR_H:
            continue
        for bright in polarities:
            for x, y, w, h, char_h, chars in _chains(_components(channel, bright), GATE_MIN_CHARS):
                s = f * k
                found.append(Candidate(x * s, y * s, w * s, h * s, char_h * s, chars))
                if first_only:
                    return found
    grey = analysis.grey
    height, width = grey.shape
    mh, mw = int(EDGE_BAND * height), int(EDGE_BAND * width)
    bands = [
        (grey[:mh], 0, 0),
        (grey[height - mh :], 0, height - mh),
        (grey[:, :mw], 0, 0),
        (grey[:, width - mw :], width - mw, 0),
    ]
    for band, ox, oy in bands:
        if min(band.shape) < 2 * MIN_CHAR_H:
            continue
        contiguous = band.copy()
        for x, y, w, h, char_h, chars in _chains(_components(contiguous, True, EDGE_CONTRAST), GATE_MIN_CHARS):
            found.append(Candidate((x + ox) * k, (y + oy) * k, w * k, h * k, char_h * k, chars))
            if first_only:
                return found
    return found


# ---------------------------------------------------------------------------------------------------
# OCR


def engine() -> Any:
    """The RapidOCR engine, built once per process (loading both models takes ~1 s)."""
    global _engine
    if _engine is None:
        import logging

        from rapidocr import RapidOCR

        _engine = RapidOCR(
            params={
                "Global.use_cls": False,
                "Global.log_level": "critical",
                "Global.text_score": 0.0,  # filtered here, with the contest's settings
                "Global.min_side_len": 8,
                "Global.max_side_len": 4000,
                "Global.use_vertical_padding": False,
                "EngineConfig.onnxruntime.intra_op_num_threads": 1,
                "EngineConfig.onnxruntime.inter_op_num_threads": 1,
                "EngineConfig.onnxruntime.enable_cpu_mem_arena": False,
                "Det.limit_side_len": DET_SIDE,
                "Det.limit_type": "max",
            }
        )
        logging.getLogger("RapidOCR").setLevel(logging.CRITICAL)
        # RapidOCR opens its ONNX sessions on first use: open both now, so loading is paid here once
        import numpy as np

        blank = np.full((64, 192, 3), 255, dtype=np.uint8)
        _engine(blank, use_det=True, use_cls=False, use_rec=False)
        _engine(blank[:48], use_det=False, use_cls=False, use_rec=True)
    return _engine


def _crop_line(rgb: Any, quad: Any) -> Any:
    """The text line under a detection quadrilateral, straightened, horizontal, as BGR for RapidOCR."""
    import numpy as np

    cv2 = cv2_module()
    pts = np.asarray(quad, dtype=np.float32)
    width = int(max(np.linalg.norm(pts[0] - pts[1]), np.linalg.norm(pts[2] - pts[3])))
    height = int(max(np.linalg.norm(pts[0] - pts[3]), np.linalg.norm(pts[1] - pts[2])))
    if width < 4 or height < 4:
        return None
    target = np.array([[0, 0], [width, 0], [width, height], [0, height]], dtype=np.float32)
    matrix = cv2.getPerspectiveTransform(pts, target)
    crop = cv2.warpPerspective(rgb, matrix, (width, height), borderMode=cv2.BORDER_REPLICATE, flags=cv2.INTER_CUBIC)
    if height >= 1.5 * width:  # vertical line (a photo of a sign taken sideways)
        crop = np.rot90(crop)
    return np.ascontiguousarray(crop[:, :, ::-1])


def alnum_count(text: str) -> int:
    return len(re.findall(r"[^\W_]", text))


def _regions(candidates: list[Candidate], width: int, height: int) -> list[list[float]]:
    """Areas around the candidate lines, wide enough for the rest of a line, overlapping ones merged."""
    rects = [
        [
            max(0.0, c.x - REGION_X * c.char_h),
            max(0.0, c.y - REGION_Y * c.char_h),
            min(float(width), c.x + c.w + REGION_X * c.char_h),
            min(float(height), c.y + c.h + REGION_Y * c.char_h),
        ]
        for c in candidates
    ]
    merged = True
    while merged:
        merged = False
        out: list[list[float]] = []
        for r in rects:
            for o in out:
                if r[0] < o[2] and o[0] < r[2] and r[1] < o[3] and o[1] < r[3]:
                    o[0], o[1] = min(o[0], r[0]), min(o[1], r[1])
                    o[2], o[3] = max(o[2], r[2]), max(o[3], r[3])
                    merged = True
                    break
            else:
                out.append(list(r))
        rects = out
    return rects


def _detect_lines(rgb: Any, candidates: list[Candidate] | None) -> list[Any]:
    """Text-line quadrilaterals (in rgb pixels) from the detection model, run at DET_SIDE scale.

    With candidates, only the areas around them are searched (a fraction of the photo, so a fraction
    of the cost); without, or when those areas cover most of the photo, the whole photo is.
    """
    import numpy as np

    cv2 = cv2_module()
    ocr = engine()
    height, width = rgb.shape[:2]
    s = min(1.0, DET_SIDE / max(height, width))
    small = rgb if s == 1.0 else cv2.resize(
        rgb, (max(1, round(width * s)), max(1, round(height * s))), interpolation=cv2.INTER_AREA
    )
    small = np.ascontiguousarray(small[:, :, ::-1])  # RapidOCR takes BGR arrays
    regions = [[0.0, 0.0, float(width), float(height)]]
    if candidates:
        found = _regions(candidates, width, height)
        if sum((r[2] - r[0]) * (r[3] - r[1]) for r in found) < WHOLE_PHOTO_SHARE * width * height:
            regions = found
    quads = []
    for x0, y0, x1, y1 in regions:
        ox, oy = int(x0 * s), int(y0 * s)
        crop = small[oy : int(np.ceil(y1 * s)), ox : int(np.ceil(x1 * s))]
        if crop.shape[0] < 8 or crop.shape[1] < 8:
            continue
        det = ocr(np.ascontiguousarray(crop), use_det=True, use_cls=False, use_rec=False)
        boxes = getattr(det, "boxes", None)
        if boxes is None:
            continue
        for quad in boxes:
            quads.append((np.asarray(quad, dtype=np.float32) + (ox, oy)) / s)
    return quads


def read_text(
    rgb: Any, min_score: float, min_chars: int, candidates: list[Candidate] | None = None
) -> list[TextLine]:
    """Detect and read text lines in an RGB array; only lines passing the score and length filter."""
    import numpy as np

    ocr = engine()
    quads = _detect_lines(rgb, candidates)
    height, width = rgb.shape[:2]
    todo = []
    for quad in quads:
        x0, y0 = quad.min(axis=0)
        x1, y1 = quad.max(axis=0)
        long_side, short_side = max(x1 - x0, y1 - y0), min(x1 - x0, y1 - y0)
        if short_side < 6 or long_side < 0.4 * min_chars * short_side:
            continue  # no room for min_chars characters
        cx, cy = (x0 + x1) / 2 / width, (y0 + y1) / 2 / height
        edge = min(cx, 1 - cx, cy, 1 - cy)
        # watermarks and date stamps live near the edges: read those first, then the largest lines
        todo.append((edge > 0.15, -(x1 - x0) * (y1 - y0), quad, (x0, y0, x1, y1)))
    todo.sort(key=lambda c: (c[0], c[1]))
    lines: list[TextLine] = []
    for _central, _area, quad, (x0, y0, x1, y1) in todo[:MAX_LINES]:
        crop = _crop_line(rgb, quad)
        if crop is None:
            continue
        rec = ocr(crop, use_det=False, use_cls=False, use_rec=True)
        texts, scores = getattr(rec, "txts", None), getattr(rec, "scores", None)
        if not texts:
            continue
        text, score = str(texts[0]).strip(), float(np.asarray(scores[0]))
        if score >= min_score and alnum_count(text) >= min_chars:
            lines.append(TextLine(text, score, float(x0), float(y0), float(x1 - x0), float(y1 - y0)))
            if len(lines) >= ENOUGH_LINES:
                break
    return lines


def detect_text(analysis: Analysis, min_score: float, min_chars: int) -> TextResult:
    """Pre-filter, then OCR around the candidate lines only when there are any."""
    candidates = text_candidates(analysis)
    if not candidates:
        return TextResult([], 0, False)
    return TextResult(read_text(analysis.rgb, min_score, min_chars, candidates), len(candidates), True)


# ---------------------------------------------------------------------------------------------------
# where the text sits, and whether it looks like a watermark

_WATERMARK_RE = re.compile(
    r"(©|\(c\)|copyright|www\.|https?:|\.(com|net|org|cn|de|uk|co)\b|@\w|photo\s*by|all rights)", re.I
)
_NAME_RE = re.compile(r"^[A-Z][a-z]+(\s+[A-Z]\.?)?\s+[A-Z][a-z]+")
_DATE_RE = re.compile(r"^[\d\s.:/'\-]+(AM|PM)?$", re.I)


def placement(line: TextLine, width: float, height: float) -> str:
    """'bottom-right corner', 'top edge', 'centre' ... from the line's centre."""
    cx = (line.x + line.w / 2) / width
    cy = (line.y + line.h / 2) / height
    vertical = "top" if cy < 0.2 else "bottom" if cy > 0.8 else ""
    horizontal = "left" if cx < 0.25 else "right" if cx > 0.75 else ""
    if vertical and horizontal:
        return f"{vertical}-{horizontal} corner"
    if vertical or horizontal:
        return f"{vertical or horizontal} edge"
    return "centre"


def watermark_kind(line: TextLine, where: str) -> str | None:
    """'watermark' for a copyright sign, web or e-mail address, handle, or a name or year near an edge;
    'date stamp' for a line of digits near an edge (a camera's burned-in date); else None."""
    text = line.text.strip()
    if _WATERMARK_RE.search(text):
        return "watermark"
    if where == "centre":
        return None
    if _DATE_RE.match(text) and sum(c.isdigit() for c in text) >= 6:
        return "date stamp"
    if _NAME_RE.match(text) or re.search(r"\b(19|20)\d\d\b", text):
        return "watermark"
    return None
