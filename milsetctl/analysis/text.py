"""Text and watermark detection for the `text-watermark` rule: PP-OCR text detection where marks sit, then
recognition of the few lines found, then a verdict per line (watermark, date stamp, caption, text in the scene).

The marks people put on photos are faint (a corner mark at 20-50% opacity, a diagonal mark tiled at 20-40%),
small (a copyright line at 1-2% of the height) or in colour on colour (an orange date stamp on grass). A cheap
contrast-based pre-filter deciding where to look flagged few of them (issue 10: 40 of 96 marked photos; 36 of 96
on this project's set), so the detection model itself looks, where marks are put, at a size where it sees them:

1. Detection (`detect_lines`): RapidOCR's DB text detector (PP-OCR, models in the `rapidocr` wheel) on
   - the whole photo reduced to `WHOLE_SIDE` px on its long side: titles, tiled marks, signs in the scene;
   - the top and bottom `STRIP_SHARE` of the photo, each resized to `STRIP_SIDE` px wide: corner marks,
     copyright lines, date stamps and captions sit there, often too small for the whole-photo pass.
   Boxes the strips and the whole photo both found are kept once (the strip's, drawn at higher resolution).
   The whole-photo pass covers only rows 5-95% of the height (`WHOLE_ROWS`): the bands see the rest, sharper.
   Each input is resized once, straight to the network's multiple of 32 px, its brightness equalised locally
   (`DET_CLAHE`: faint marks on light ground) and handed to the ONNX session directly (issue 18: the same
   flags for less CPU than RapidOCR's own call, which also cut a crop for every box).
2. Recognition (`read_lines`): at most `MAX_LINES` boxes with a short side of at least `MIN_SHORT_SIDE` px
   (in the shared reduced decode), those near the edges first, then the largest; each line is cut out of the
   reduced decode (800-1600 px), straightened and read. A line counts when it has at least `min_chars`
   letters or digits at a score of at least `min_score` (the model invents single characters on foliage).
3. Verdict (`classify`): a copyright sign, web address, handle, photographer's credit, or a name or year near
   an edge is a watermark; the same text read again and again across the picture is a tiled watermark; a line
   of digits in the right half of the top or bottom edge is a camera's date stamp (cameras print it there); a
   sentence along the top or bottom edge, or words laid level across the middle, is a caption or title; the
   rest is text in the scene (a sign, a T-shirt). A line of digits anywhere else (a house number, a jersey, a
   clock) is not reported: it is neither a watermark nor descriptive text.

Measured on 96 photos with the eight kinds of `make_watermarks.py` marks and the corpus (README, bench): see
`tests/acceptance/test_watermarks.py`. Models are loaded once per process, on first use. ONNX Runtime runs each
call on the calling thread, one at a time per thread (its default spin-waiting pool was 2-3x slower here):
validate's second pass calls this module from a thread per core in one process, which shares one copy of the
models (`milsetctl.pipeline.analyse_stream`).
"""

from __future__ import annotations

import re
import threading
import unicodedata
from dataclasses import dataclass
from typing import Any

from milsetctl.analysis import Analysis, cv2_module

# --- detection (issue 10's recipe, measured again here: see the module docstring)
WHOLE_SIDE = 560  # long side (px) of the whole-photo pass: 480 missed 1 of 9 labelled corpus photos more
WHOLE_ROWS = (0.05, 0.95)  # the whole-photo pass looks at these rows only: the bands see the rest, sharper (their
# overlap, 5% of the height, holds a line of that height whole in one pass or the other)
STRIP_SHARE = 0.10  # top and bottom bands searched at higher resolution, as a share of the height
STRIP_SIDE = 1536  # width (px) each band is resized to (at most 2x). Issue 18: the outer 10% at 1536 px rather than
# the outer 15% at 1280 (fewer pixels): every kind of mark make_watermarks.py draws at an edge ends within 10% of
# it, and 1% text is 20% taller for the detector. Tuning seeds 5, 7, 11 and 13, with REC_MIN_WIDTH and the cut
# lines of `detect_lines`: 360 of 384 marked photos flagged against 353, none of 21 clean photos; 1600 px: 361,
# +4% CPU; 1280 px over 10%: 350. (Issue 10: 1280 read 5 of 5 held-out copyright lines, 960 3.)
MIN_DET_SIDE = 160  # the settings cannot ask for less
BOX_THRESH = 0.4  # DB: mean text probability a box needs (RapidOCR's 0.5 dropped faint tiled marks)
DET_CLAHE = 2.0  # clip limit of the local contrast equalisation of the detector's input (0: none): see `_detect`
DET_NORM = ((0.485, 0.229), (0.456, 0.224), (0.406, 0.225))  # (mean, deviation) of B, G, R: PaddleOCR's
OVERLAP = 0.6  # a box covering this share of a kept box (or of itself) is the same line
CUT_PX = 2  # a band's box reaching within this many px (of the reduced decode) of the band's inner edge is cut by it
# --- recognition
MAX_LINES = 10  # lines recognised per photo (a page of text would otherwise cost seconds)
MIN_SHORT_SIDE = 6  # px in the reduced decode: thinner boxes are noise or unreadable
REC_HEIGHT, REC_STEP = 48, 64  # recognition input: PP-OCR's height (px); widths padded to a multiple of REC_STEP
REC_MIN_WIDTH = 128  # least recognition input width (px). PP-OCR pads every line to 320: most lines read here are
# shorter (a corner mark, a date), and the cost grows with the width (24 ms at 320, 47 at 640). Issue 18, tuning
# seeds 5, 7, 11 and 13: the rule's CPU -5%, one more marked photo flagged of 384, no clean photo flagged
REC_MIN_SIDE = 8  # RapidOCR rounds a crop shorter than 8 px to a width of 0 and raises: enlarge such crops
EDGE_SHARE = 0.15  # a box whose centre is this close to an edge is read first
# --- verdict
TILED_MIN = 2  # the same text read this many times or more is a mark repeated over the picture
SLANT_MIN, SLANT_TOLERANCE = 10.0, 8.0  # degrees: lines slanted alike in several places are one tiled mark

_engine: Any = None
_engine_lock = threading.Lock()  # validate's second pass runs this module on several threads of one process


@dataclass(frozen=True)
class TextLine:
    """A line of text read in the photo: box in the reduced decode's pixels, recognition score, slant (degrees)."""

    text: str
    score: float
    x: float
    y: float
    w: float
    h: float
    angle: float = 0.0


@dataclass
class TextResult:
    lines: list[TextLine]
    boxes: int  # text boxes the detector found (before the size filter and MAX_LINES)
    ocr_ran: bool = True


# ---------------------------------------------------------------------------------------------------
# models


def engine() -> Any:
    """The RapidOCR engine, built once per process, on first use (loading both models takes ~1 s): its models,
    the DB detector's box finder and the recogniser's character decoder are used here; its ONNX sessions are
    called directly (`_detect`, `recognise`), opened with `session_options` (`_open`). Thread-safe: the first
    caller builds it while the others wait (ONNX Runtime's `run` may then be called from several threads)."""
    global _engine
    if _engine is not None:
        return _engine
    with _engine_lock:
        if _engine is not None:
            return _engine
        import gc
        import logging

        from rapidocr import RapidOCR

        from milsetctl.workers import trim_heap

        ocr = RapidOCR(
            params={
                "Global.use_cls": False,
                "Global.log_level": "critical",
                "Global.text_score": 0.0,  # filtered here, with the contest's settings
                "Global.min_side_len": REC_MIN_SIDE,
                "Global.max_side_len": 4000,
                "Global.use_vertical_padding": False,
                "EngineConfig.onnxruntime.intra_op_num_threads": 1,
                "EngineConfig.onnxruntime.inter_op_num_threads": 1,
                "EngineConfig.onnxruntime.enable_cpu_mem_arena": True,
                # the arena grows by doubling (ONNX Runtime's default; RapidOCR asks for exactly each request,
                # which kept ~60% more here for the detector's few shapes: bench, issue 18)
                "EngineConfig.onnxruntime.cpu_ep_cfg.arena_extend_strategy": "kNextPowerOfTwo",
                "Det.limit_side_len": 4000,
                "Det.limit_type": "max",
                "Det.box_thresh": BOX_THRESH,
            }
        )
        logging.getLogger("RapidOCR").setLevel(logging.CRITICAL)
        # RapidOCR opens its models on first use: open both now, so loading is paid here once
        _open(ocr)
        _engine = ocr
        gc.collect()  # what building it left behind (RapidOCR's configuration, the model files' bytes)...
        trim_heap()  # ...handed back to the system: both workers load at the same moment
    return _engine


def session_options() -> Any:
    """How this module runs its ONNX sessions: on the calling thread only (the pipeline runs a thread per core; ONNX
    Runtime's default spinning pool was 2-3x slower here), ONNX Runtime's memory arena on (measured: the detector
    ~15% faster than with every buffer taken from and given back to the system, which costs page faults, and its
    peak lower: 135 against 168 MB over 80 runs of the bands' and the photos' shapes; the arena keeps ~30-40 MB at
    the shapes used here, bounded: see `_detect` and `recognise`), and no per-shape memory patterns (no faster here;
    they cost memory for every new input shape: 178 against 125 MB over the same runs)."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = options.inter_op_num_threads = 1
    options.enable_cpu_mem_arena = True
    options.enable_mem_pattern = False
    options.log_severity_level = 4
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return options


def _open(ocr: Any) -> None:
    """Open RapidOCR's detection and recognition models with `session_options`. RapidOCR does not expose them
    all (memory patterns), so its session options are this module's while it opens them (issue 18: each model
    opened once: opening them with RapidOCR's options and again with these held both for a moment, ~35 MB more per
    worker as both workers started). Where RapidOCR has no such hook (another version), its sessions are opened
    again with these options, as before (`_sessions`)."""
    holder: Any = None
    try:
        from rapidocr.inference_engine.onnxruntime.main import OrtInferSession

        holder = OrtInferSession
    except ImportError:
        pass
    hook = vars(holder).get("_init_sess_opts") if holder is not None else None
    if not isinstance(hook, staticmethod):
        _sessions(ocr._load_det_model(), ocr._load_rec_model())
        return
    holder._init_sess_opts = staticmethod(lambda _cfg: session_options())
    try:
        ocr._load_det_model()
        ocr._load_rec_model()
    finally:
        holder._init_sess_opts = hook


def _sessions(*stages: Any) -> None:
    """Reopen RapidOCR's ONNX sessions with `session_options` (a RapidOCR without the hook `_open` uses); without
    the private model path (another ONNX Runtime) a session is left as it is."""
    import onnxruntime as ort

    for stage in stages:
        holder = getattr(stage, "session", None)
        session = getattr(holder, "session", None)
        path = getattr(session, "_model_path", None)
        if holder is None or session is None or not path:
            continue
        holder.session = ort.InferenceSession(path, session_options(), providers=["CPUExecutionProvider"])


# ---------------------------------------------------------------------------------------------------
# detection


def _bounds(quad: Any) -> tuple[float, float, float, float]:
    return float(quad[:, 0].min()), float(quad[:, 1].min()), float(quad[:, 0].max()), float(quad[:, 1].max())


def _overlap(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> float:
    """Intersection over the smaller of two (x0, y0, x1, y1) boxes."""
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    smaller = min((a[2] - a[0]) * (a[3] - a[1]), (b[2] - b[0]) * (b[3] - b[1]))
    return ix * iy / smaller if smaller > 0 else 0.0


def _detect(rgb: Any, y0: int, y1: int, scale: float) -> list[Any]:
    """DB text detection on the rows y0:y1 of rgb resized by `scale`: quadrilaterals in rgb's pixels.

    The detection session is called directly: RapidOCR's `__call__` also cuts out a crop for every box (unused
    here), resizes twice and normalises the whole input in float64. Here the rows are resized once, straight to the
    network's multiple of 32 px, and normalised in float32 as PaddleOCR trained the model (BGR, ImageNet mean
    and deviation; RapidOCR's 0.5/0.5 found fewer faint marks: 4 fewer of 192 marked photos on seeds 5 and 7,
    issue 18)."""
    import numpy as np

    cv2 = cv2_module()
    region = rgb[y0:y1]
    height, width = region.shape[:2]
    if height * scale < 32 or width * scale < 32:  # the detector works on multiples of 32 px: nothing to see
        return []
    size = (_multiple(width * scale), _multiple(height * scale))
    if size != (width, height):
        area = cv2.INTER_AREA if size[0] < width else cv2.INTER_LINEAR
        region = cv2.resize(region, size, interpolation=area)
    if DET_CLAHE:
        region = _equalise(region)
    blob = cv2.dnn.blobFromImage(region, swapRB=True)  # float32, BGR, 1x3xHxW
    for channel, (mean, deviation) in enumerate(DET_NORM):
        plane = blob[0, channel]
        plane -= mean * 255.0
        plane *= 1.0 / (deviation * 255.0)
    det = engine().text_det
    session = det.session.session
    pred = session.run(None, {_input_name(session): blob})[0]
    quads, _scores = det.postprocess_op(pred, (height, width))
    if len(quads) == 0:
        return []
    return [np.asarray(q, dtype=np.float32) + (0, y0) for q in det.sorted_boxes(quads)]


def _equalise(region: Any) -> Any:
    """The region with its brightness equalised locally (CLAHE on the luma, 8x8 tiles, colour kept): a faint
    mark (white at 20-50% opacity on a light leaf, a thin title) gains the contrast the detector needs to see
    it (issue 18: 4 of the 33 marked photos missed without it on seeds 5, 7, 11 and 13 found, 2 others lost, no
    clean photo flagged). On luma only (YCrCb): ~3 ms per photo for the three passes, a third of CIELAB's
    lightness, which found as many."""
    cv2 = cv2_module()
    ycc = cv2.cvtColor(region, cv2.COLOR_RGB2YCrCb)
    luma = _clahe().apply(cv2.extractChannel(ycc, 0))
    cv2.insertChannel(luma, ycc, 0)
    return cv2.cvtColor(ycc, cv2.COLOR_YCrCb2RGB)


_clahe_ops = threading.local()  # one per thread: an OpenCV CLAHE object keeps its working buffers


def _clahe() -> Any:
    op = getattr(_clahe_ops, "op", None)
    if op is None:
        op = _clahe_ops.op = cv2_module().createCLAHE(clipLimit=DET_CLAHE, tileGridSize=(8, 8))
    return op


def _multiple(side: float, step: int = 32) -> int:
    """The nearest multiple of `step` px (at least one): the sizes the detection network takes."""
    return max(step, round(side / step) * step)


def _input_name(session: Any) -> str:
    """The name of an ONNX Runtime session's (one) input."""
    return str(session.get_inputs()[0].name)


def detect_lines(rgb: Any, whole_side: int = WHOLE_SIDE, strip_side: int = STRIP_SIDE) -> list[Any]:
    """Text-line quadrilaterals (4x2 float arrays, in rgb's pixels, clockwise from top-left): the top and
    bottom bands at strip_side px wide, then the rows between them (WHOLE_ROWS) at the whole photo's scale for
    whole_side px on its long side, duplicates dropped.

    Of two boxes on the same line the band's is kept (drawn at higher resolution), unless the band's inner edge
    cuts it: the line may go on beyond the band, so the whole-photo pass's box, which holds it whole, is kept
    too and both are read (issue 18: a real camera's date stamp 7-12% above the bottom, read "Y2001L" from the
    band's half of it and "2007713" whole; a stamp whose glow only touches the edge reads better in the band)."""
    height, width = rgb.shape[:2]
    band = round(STRIP_SHARE * height)
    strip_scale = min(2.0, strip_side / width)
    top_band = _detect(rgb, 0, band, strip_scale)
    bottom_band = _detect(rgb, height - band, height, strip_scale)
    top, bottom = round(WHOLE_ROWS[0] * height), round(WHOLE_ROWS[1] * height)
    whole = _detect(rgb, top, bottom, min(1.0, whole_side / max(width, height)))
    inside: list[Any] = []  # the bands' boxes their inner edge does not cut
    cut: list[Any] = []
    for quad in top_band:
        (cut if _bounds(quad)[3] >= band - CUT_PX else inside).append(quad)
    for quad in bottom_band:
        (cut if _bounds(quad)[1] <= height - band + CUT_PX else inside).append(quad)
    banded = _distinct(inside)
    return banded + _distinct(whole, banded) + _distinct(cut, banded)


def _distinct(quads: list[Any], kept: list[Any] | None = None) -> list[Any]:
    """The quads that do not overlap (OVERLAP) an earlier one or one of `kept`, in order."""
    kept_bounds = [_bounds(q) for q in kept or []]
    out: list[Any] = []
    for quad in quads:
        b = _bounds(quad)
        if any(_overlap(b, k) > OVERLAP for k in kept_bounds):
            continue
        out.append(quad)
        kept_bounds.append(b)
    return out


# ---------------------------------------------------------------------------------------------------
# recognition


def _sides(quad: Any) -> tuple[float, float]:
    """(along the line, across it) lengths of a detection quadrilateral."""
    import numpy as np

    along = max(np.linalg.norm(quad[0] - quad[1]), np.linalg.norm(quad[2] - quad[3]))
    across = max(np.linalg.norm(quad[0] - quad[3]), np.linalg.norm(quad[1] - quad[2]))
    return float(along), float(across)


def _angle(quad: Any) -> float:
    """Slant of the line's top edge in degrees, -90..90 (0 = level, positive = rising to the right)."""
    import math

    dx, dy = float(quad[1][0] - quad[0][0]), float(quad[1][1] - quad[0][1])
    angle = -math.degrees(math.atan2(dy, dx))
    return (angle + 90.0) % 180.0 - 90.0


def crop_line(rgb: Any, quad: Any) -> Any:
    """The text line under a detection quadrilateral, straightened, horizontal, as BGR for RapidOCR; None
    when it is under 2 px. A crop shorter than REC_MIN_SIDE px is enlarged to it: RapidOCR would scale it to
    its minimum by rounding to a multiple of 32, get 0 and raise ResizeImgError (issue 10)."""
    import numpy as np

    cv2 = cv2_module()
    pts = np.asarray(quad, dtype=np.float32)
    along, across = _sides(pts)
    width, height = int(along), int(across)
    if width < 2 or height < 2:
        return None
    target = np.array([[0, 0], [width, 0], [width, height], [0, height]], dtype=np.float32)
    matrix = cv2.getPerspectiveTransform(pts, target)
    crop = cv2.warpPerspective(rgb, matrix, (width, height), borderMode=cv2.BORDER_REPLICATE, flags=cv2.INTER_CUBIC)
    if height >= 1.5 * width:  # vertical line (a photo of a sign taken sideways)
        crop = np.rot90(crop)
    return ensure_min_side(np.ascontiguousarray(crop[:, :, ::-1]))


def ensure_min_side(crop: Any, side: int = REC_MIN_SIDE) -> Any:
    """The crop, enlarged (aspect kept) so that its short side is at least `side` px."""
    cv2 = cv2_module()
    short = min(crop.shape[:2])
    if short >= side:
        return crop
    k = side / max(1, short)
    size = (max(side, round(crop.shape[1] * k)), max(side, round(crop.shape[0] * k)))
    return cv2.resize(crop, size, interpolation=cv2.INTER_CUBIC)


def recognise(crop: Any) -> tuple[str, float]:
    """(text, score) of one straightened line crop (BGR); ('', 0.0) when nothing was read.

    The recognition session is called directly, as RapidOCR prepares a line (48 px high, [-1, 1], padded on
    the right) but padded to a multiple of REC_STEP px wide (at least REC_MIN_WIDTH, not PP-OCR's 320), so that
    lines come in few input shapes and a short line costs less."""
    import math

    import numpy as np

    cv2 = cv2_module()
    rec = engine().text_rec
    height, width = crop.shape[:2]
    if height < 1 or width < 1:
        return "", 0.0
    resized = max(1, math.ceil(REC_HEIGHT * width / height))
    padded = max(REC_MIN_WIDTH, -(-resized // REC_STEP) * REC_STEP)
    line = cv2.resize(np.ascontiguousarray(crop), (resized, REC_HEIGHT))
    blob = np.zeros((1, 3, REC_HEIGHT, padded), dtype=np.float32)
    blob[:, :, :, :resized] = cv2.dnn.blobFromImage(line, 1 / 127.5, mean=(127.5, 127.5, 127.5))
    session = rec.session.session
    preds = session.run(None, {_input_name(session): blob})[0]
    [(text, score)], _words = rec.postprocess_op(preds, False)
    if not text:
        return "", 0.0
    return str(text).strip(), float(score)


def alnum_count(text: str) -> int:
    """Letters and digits of any script (a Chinese character counts one)."""
    return len(re.findall(r"[^\W_]", text))


def read_lines(rgb: Any, quads: list[Any], min_score: float, min_chars: int) -> list[TextLine]:
    """Read the boxes worth reading (see the module docstring); only lines passing the score and length filter."""
    height, width = rgb.shape[:2]
    todo = []
    for quad in quads:
        along, across = _sides(quad)
        if min(along, across) < MIN_SHORT_SIDE or max(along, across) < 0.4 * min_chars * min(along, across):
            continue  # too thin to read, or no room for min_chars characters
        x0, y0, x1, y1 = _bounds(quad)
        cx, cy = (x0 + x1) / 2 / width, (y0 + y1) / 2 / height
        central = min(cx, 1 - cx, cy, 1 - cy) > EDGE_SHARE
        # watermarks, date stamps and captions live near the edges: read those first, then the largest lines
        todo.append((central, -(x1 - x0) * (y1 - y0), quad, (x0, y0, x1, y1)))
    todo.sort(key=lambda c: (c[0], c[1]))
    lines: list[TextLine] = []
    for _central, _area, quad, (x0, y0, x1, y1) in todo[:MAX_LINES]:
        crop = crop_line(rgb, quad)
        if crop is None:
            continue
        text, score = recognise(crop)
        if score >= min_score and alnum_count(text) >= min_chars:
            lines.append(TextLine(text, score, x0, y0, x1 - x0, y1 - y0, round(_angle(quad), 1)))
    return lines


def detect_text(
    analysis: Analysis, min_score: float, min_chars: int, whole_side: int = WHOLE_SIDE, strip_side: int = STRIP_SIDE
) -> TextResult:
    """Detect text where marks sit and read it; lines of digits that are not a date stamp are dropped.
    The sizes are clamped to at least MIN_DET_SIDE px (a smaller detector input finds nothing)."""
    rgb = analysis.rgb
    quads = detect_lines(rgb, max(MIN_DET_SIDE, whole_side), max(MIN_DET_SIDE, strip_side))
    lines = read_lines(rgb, quads, min_score, min_chars) if quads else []
    height, width = rgb.shape[:2]
    lines = [line for line in lines if not _stray_number(line, width, height)]
    return TextResult(_drop_pieces(lines), len(quads), bool(quads))


def _drop_pieces(lines: list[TextLine]) -> list[TextLine]:
    """Lines whose box lies mostly (half or more) inside the box of a line with more characters: a piece of
    that line found again in another pass (the photo, a band) and read on its own."""
    kept = []
    for line in lines:
        bigger = [o for o in lines if o is not line and alnum_count(o.text) > alnum_count(line.text)]
        if not any(_overlap(_box(line), _box(o)) >= 0.5 for o in bigger):
            kept.append(line)
    return kept


# ---------------------------------------------------------------------------------------------------
# where the text sits, and what it is

_COPYRIGHT_RE = re.compile(r"©|\(c\)|copyright|all\s*rights|版权|禁止转载|转载", re.I)
_WEB_RE = re.compile(r"www\.|https?:|\.(com|net|org|cn|de|uk|co|io|me)\b", re.I)
_HANDLE_RE = re.compile(r"@\s*\w|微博|微信|小红书|抖音")
_CREDIT_RE = re.compile(r"photo(graphy)?\s*(by|:)|photography|摄影|摄$|^摄|\s摄\b|拍摄", re.I)
_NAME_RE = re.compile(r"^[A-Z][a-zà-ÿ]+\.?(\s+[A-Z]\.?)?\s+[A-Z][a-zà-ÿ]+")
_YEAR_RE = re.compile(r"(?<!\d)(19|20)\d\d(?!\d)")
_DIGITS_RE = re.compile(r"^[\d\s.:/'’`\-]+$")
_DATETIME_RE = re.compile(r"(?<!\d)(19|20)\d\d[-./]\d{1,2}[-./]\d{1,2}|(?<!\d)\d{1,2}:\d\d(:\d\d)?(?!\d)")
STAMP_DIGITS = 6  # a date stamp has at least this many digits ('05 03 12, 2007 7 13)

WATERMARK, DATE_STAMP, CAPTION, SCENE = "watermark", "date stamp", "caption or title", "text in the scene"
KIND_ORDER = (WATERMARK, DATE_STAMP, CAPTION, SCENE)


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


def _date_stamp_place(line: TextLine, width: float, height: float) -> bool:
    """In the right half of the top or bottom fifth: where cameras burn in the date."""
    cx = (line.x + line.w / 2) / width
    cy = (line.y + line.h / 2) / height
    return cx > 0.5 and (cy < 0.2 or cy > 0.8)


def _stray_number(line: TextLine, width: float, height: float) -> bool:
    """A line of digits alone outside where a date stamp goes (a house number, a jersey, a clock)."""
    return bool(_DIGITS_RE.match(line.text)) and not (
        _date_stamp_place(line, width, height) and sum(c.isdigit() for c in line.text) >= STAMP_DIGITS
    )


def watermark_kind(line: TextLine, where: str, width: float = 0.0, height: float = 0.0) -> str | None:
    """'watermark' or 'date stamp' for one line by its text and place, else None (see `classify` for the
    whole verdict with the reason). Kept for callers that only want the short answer."""
    kind, _reason = classify_line(line, where, width, height)
    return kind if kind in (WATERMARK, DATE_STAMP) else None


def classify_line(line: TextLine, where: str, width: float = 0.0, height: float = 0.0) -> tuple[str, str]:
    """(kind, reason) of one line: kind is one of KIND_ORDER, reason says why, in a few words."""
    text = unicodedata.normalize("NFKC", line.text.strip())
    if _COPYRIGHT_RE.search(line.text) or _COPYRIGHT_RE.search(text):
        return WATERMARK, "a copyright notice"
    if _WEB_RE.search(text):
        return WATERMARK, "a web address"
    if _HANDLE_RE.search(text):
        return WATERMARK, "a social-media handle"
    if _CREDIT_RE.search(text):
        return WATERMARK, "a photographer's credit"
    edge = where != "centre"
    digits = sum(c.isdigit() for c in text)
    stamp_place = _date_stamp_place(line, width, height) if width else where.endswith("right corner")
    if _DIGITS_RE.match(text) and digits >= STAMP_DIGITS and stamp_place:
        return DATE_STAMP, "digits burned in where cameras print the date"
    if edge and _DATETIME_RE.search(text):
        return DATE_STAMP, "a date or time burned in along the edge"
    if edge and _NAME_RE.match(text):
        return WATERMARK, "a name near the edge"
    if edge and _YEAR_RE.search(text):
        return WATERMARK, "a year near the edge"
    words = sum(1 for word in text.split() if any(c.isalpha() for c in word))  # words, not numbers
    level = abs(line.angle) < 3.0
    if level and edge and where.split()[0].split("-")[0] in ("top", "bottom") and words >= 3:
        return CAPTION, "a sentence along the edge"
    if level and words >= 2 and width and abs((line.x + line.w / 2) / width - 0.5) < 0.1 and line.w > 0.25 * width:
        return CAPTION, "words laid level across the middle"
    return SCENE, "neither a mark nor a caption: probably part of the scene"


def _box(line: TextLine) -> tuple[float, float, float, float]:
    return line.x, line.y, line.x + line.w, line.y + line.h


def _norm(text: str) -> str:
    return re.sub(r"[^\w]", "", unicodedata.normalize("NFKC", text)).lower()


@dataclass(frozen=True)
class Verdict:
    """What the lines of one photo are: groups of lines read alike, strongest kind first."""

    kind: str  # the strongest kind among the groups (KIND_ORDER)
    groups: list[dict[str, Any]]  # {"text", "kind", "reason", "where", "lines": [TextLine], "tiled": bool}


def classify(lines: list[TextLine], width: float, height: float) -> Verdict:
    """Group the lines read alike (a tiled watermark is read several times), give each group a kind and a
    reason, and sort them strongest first. Raises ValueError when there are no lines."""
    if not lines:
        raise ValueError("no lines to classify")
    groups: list[dict[str, Any]] = []
    for line in lines:
        key = _norm(line.text)
        for g in groups:
            if key and any(_similar(key, other) for other in g["keys"]):
                same = [i for i, ln in enumerate(g["lines"]) if _overlap(_box(ln), _box(line)) > 0.3]
                if same:  # the same line found twice (in a band and in the whole photo): keep the fuller reading
                    i = same[0]
                    if alnum_count(line.text) > alnum_count(g["lines"][i].text):
                        g["lines"][i], g["keys"][i] = line, key
                else:
                    g["keys"].append(key)
                    g["lines"].append(line)
                break
        else:
            groups.append({"keys": [key], "lines": [line]})
    groups = _merge_slanted(groups)
    out = []
    for g in groups:
        first = max(g["lines"], key=lambda ln: (alnum_count(ln.text), ln.score))  # the most complete reading
        places = [placement(ln, width, height) for ln in g["lines"]]
        if len(g["lines"]) >= TILED_MIN:
            kind, reason = WATERMARK, f"the same text read {len(g['lines'])} times over the picture"
            where = "tiled over the picture"
            slant = [ln.angle for ln in g["lines"] if abs(ln.angle) >= 10]
            if slant:
                reason += f", slanted {round(abs(sum(slant) / len(slant)))}°"
            tiled = True
        else:
            where = places[0]
            kind, reason = classify_line(first, where, width, height)
            tiled = False
        out.append({"text": first.text, "kind": kind, "reason": reason, "where": where,
                    "lines": g["lines"], "tiled": tiled})  # fmt: skip
    out.sort(key=lambda g: KIND_ORDER.index(g["kind"]))
    return Verdict(out[0]["kind"], out)


def _merge_slanted(groups: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Lines slanted alike (SLANT_MIN degrees or more, within SLANT_TOLERANCE of each other) in two places or more
    are one mark tiled over the picture, even when each was read as a different piece of it (cut by the
    border, or through a different background): scene text is rarely slanted alike in several places."""
    slanted = [g for g in groups if all(abs(ln.angle) >= SLANT_MIN for ln in g["lines"])]
    angles = [ln.angle for g in slanted for ln in g["lines"]]
    if len(angles) < TILED_MIN:
        return groups
    angles.sort()
    middle = angles[len(angles) // 2]
    alike = [g for g in slanted if all(abs(ln.angle - middle) <= SLANT_TOLERANCE for ln in g["lines"])]
    if len(alike) < 2:
        return groups
    merged = {"keys": [k for g in alike for k in g["keys"]], "lines": [ln for g in alike for ln in g["lines"]]}
    return [merged] + [g for g in groups if not any(g is a for a in alike)]


def _similar(a: str, b: str) -> bool:
    """Two readings of the same mark: equal, sharing a run of most of the shorter one's characters with the
    shorter at least half the longer (a tiled mark cut by the picture's border; a phrase inside a sentence of
    a printed page is not), or differing in about a character in ten (read through another background)."""
    if a == b:
        return True
    short = min(len(a), len(b))
    if short < 4:
        return False
    import difflib

    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    run = matcher.find_longest_match(0, len(a), 0, len(b)).size
    return (run >= max(5, 0.6 * short) and short >= 0.5 * max(len(a), len(b))) or matcher.ratio() >= 0.85


def where_phrase(where: str) -> str:
    """'in the bottom-right corner', 'along the top edge', 'in the centre', 'tiled over the picture'."""
    if where.endswith("corner"):
        return f"in the {where}"
    if where.endswith("edge"):
        return f"along the {where}"
    if where == "centre":
        return "in the centre"
    return where
