"""`text-watermark` on the marks people really put on photos (issue 10): faint corner marks, tiled diagonal
marks, small copyright lines, orange date stamps, caption bars; the verdict and place in the message; the
boxes in displayed pixels; the tiny-crop crash of RapidOCR.

The photos are drawn here on a photo-like landscape (tests/test_rules_vision.py); the OCR models are real.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw
from test_rules_vision import font, landscape, overlap, probe_of, run

from milsetctl.analysis.text import (
    CAPTION,
    DATE_STAMP,
    REC_MIN_SIDE,
    SCENE,
    WATERMARK,
    TextLine,
    classify,
    crop_line,
    engine,
    ensure_min_side,
    recognise,
)

pytest.importorskip("rapidocr")


def overlay(scene: Image.Image, draw_on: object) -> Image.Image:
    """Alpha-composite what `draw_on(ImageDraw)` draws on a transparent layer onto the scene."""
    layer = Image.new("RGBA", scene.size, (0, 0, 0, 0))
    draw_on(ImageDraw.Draw(layer))  # type: ignore[operator]
    return Image.alpha_composite(scene.convert("RGBA"), layer).convert("RGB")


# --- the RapidOCR crash on thin crops --------------------------------------------------------------------------


def test_a_crop_thinner_than_8_px_is_enlarged_instead_of_crashing_rapidocr() -> None:
    """RapidOCR scales a crop under 8 px up to 8 by rounding to a multiple of 32, gets 0 and raises."""
    thin = np.full((6, 60, 3), 255, dtype=np.uint8)
    thin[2:4, 5:55] = 0
    with pytest.raises(Exception) as raised:  # the bug this guards against: RapidOCR itself still has it
        engine()(thin, use_det=False, use_cls=False, use_rec=True)
    assert type(raised.value).__name__ == "ResizeImgError"
    fixed = ensure_min_side(thin)
    assert fixed.shape[:2] == (REC_MIN_SIDE, 80)  # aspect kept
    text, score = recognise(fixed)  # no exception: whatever it reads, the rule goes on
    assert isinstance(text, str) and 0.0 <= score <= 1.0


def test_crop_line_of_a_6_px_box_comes_back_8_px_tall() -> None:
    rgb = np.full((100, 200, 3), 200, dtype=np.uint8)
    quad = np.array([[20, 40], [120, 40], [120, 46], [20, 46]], dtype=np.float32)
    crop = crop_line(rgb, quad)
    assert crop is not None and crop.shape[0] == REC_MIN_SIDE and crop.shape[1] >= 100
    assert crop_line(rgb, np.array([[5, 5], [6, 5], [6, 6], [5, 6]], dtype=np.float32)) is None


# --- marks drawn on a landscape ---------------------------------------------------------------------------------


def test_faint_corner_mark_is_a_watermark_in_its_corner(tmp_path: Path) -> None:
    scene = landscape((2400, 1600), seed=5)
    text, f = "© Maria Santos 2022", font(56)
    x0, y0, x1, y1 = ImageDraw.Draw(scene).textbbox((0, 0), text, font=f)
    pos = (70, 60)
    photo = overlay(scene, lambda d: d.text((pos[0] - x0, pos[1] - y0), text, font=f, fill=(255, 255, 255, 110)))
    [(message, data)] = run("text-watermark", probe_of(photo, tmp_path))
    assert message.startswith("watermark: ") and "in the top-left corner" in message, message
    assert "copyright" in message and "santos" in message.lower(), message
    assert data["kind"] == WATERMARK and data["watermark"] is True
    x, y, w, h, score, read, kind, where = data["boxes"][0]
    assert kind == WATERMARK and where == "top-left corner" and score >= 0.8 and "Santos" in read
    assert overlap([x, y, w, h], [pos[0], pos[1], x1 - x0, y1 - y0]) > 0.5  # displayed pixels


def test_tiled_diagonal_mark_is_called_tiled_over_the_picture(tmp_path: Path) -> None:
    scene = landscape((2400, 1600), seed=6)
    text, f = "www.lenswork-studio.com", font(60)
    size = int(math.hypot(*scene.size))
    layer = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    draw = ImageDraw.Draw(layer)
    for row, yy in enumerate(range(0, size, 300)):
        for xx in range(-900 + (row % 2) * 450, size, 1200):
            draw.text((xx, yy), text, font=f, fill=(255, 255, 255, 95))
    layer = layer.rotate(30, resample=Image.Resampling.BICUBIC)
    left, top = (size - 2400) // 2, (size - 1600) // 2
    layer = layer.crop((left, top, left + 2400, top + 1600))
    photo = Image.alpha_composite(scene.convert("RGBA"), layer).convert("RGB")
    [(message, data)] = run("text-watermark", probe_of(photo, tmp_path))
    assert message.startswith("watermark: ") and "tiled over the picture" in message, message
    assert "slanted" in message and "web address" not in message  # the repetition is the reason given
    assert len(data["boxes"]) >= 2 and {b[7] for b in data["boxes"]} == {"tiled"}


def test_orange_date_stamp_bottom_right(tmp_path: Path) -> None:
    scene = landscape((2400, 1600), seed=7)
    draw = ImageDraw.Draw(scene)
    draw.text((1800, 1430), "2007 7 13", font=font(64), fill=(255, 140, 20))
    [(message, data)] = run("text-watermark", probe_of(scene, tmp_path))
    assert message.startswith("date stamp: ") and "bottom-right corner" in message, message
    assert data["kind"] == DATE_STAMP and data["watermark"] is False


def test_caption_bar_is_a_caption(tmp_path: Path) -> None:
    scene = landscape((2400, 1600), seed=8)
    text, f = "Morning light over the old harbour", font(52)

    def bar(d: ImageDraw.ImageDraw) -> None:
        d.rectangle([0, 1480, 2400, 1600], fill=(0, 0, 0, 150))
        d.text((600, 1510), text, font=f, fill=(255, 255, 255, 235))

    [(message, data)] = run("text-watermark", probe_of(overlay(scene, bar), tmp_path))
    assert message.startswith(f"{CAPTION}: ") and "harbour" in message and "bottom edge" in message, message
    assert data["kinds"] == [CAPTION]


def test_a_house_number_alone_is_not_reported(tmp_path: Path) -> None:
    scene = landscape((2400, 1600), seed=9)
    draw = ImageDraw.Draw(scene)
    draw.rectangle([260, 1380, 560, 1460], fill=(40, 40, 40))
    draw.text((280, 1390), "111315", font=font(56), fill=(235, 235, 235))
    assert run("text-watermark", probe_of(scene, tmp_path)) == []


def test_small_copyright_line_at_the_bottom(tmp_path: Path) -> None:
    """A copyright line at 1.5% of the height (24 px of 1600): the old pre-filter missed most of these."""
    scene = landscape((2400, 1600), seed=10)
    text, f = "© 2021 Tom Becker · All rights reserved", font(24)
    photo = overlay(scene, lambda d: d.text((900, 1560), text, font=f, fill=(255, 255, 255, 200)))
    [(message, data)] = run("text-watermark", probe_of(photo, tmp_path))
    assert message.startswith("watermark: ") and "bottom edge" in message, message


# --- the verdict ------------------------------------------------------------------------------------------------


def line(text: str, x: float, y: float, w: float = 200, h: float = 24, angle: float = 0.0) -> TextLine:
    return TextLine(text, 0.95, x, y, w, h, angle)


def test_classify_groups_repeated_text_and_orders_strongest_first() -> None:
    lines = [
        line("CASINO", 450, 350),
        line("lightcatcher.net", 100, 100, angle=35.0),
        line("lightcatcher net", 600, 500, angle=34.0),
        line("1ightcatcher.net", 300, 650, angle=36.0),
    ]
    verdict = classify(lines, 1000, 750)
    assert verdict.kind == WATERMARK
    first, second = verdict.groups
    assert first["tiled"] and len(first["lines"]) == 3 and first["where"] == "tiled over the picture"
    assert "read 3 times" in first["reason"] and "slanted 35°" in first["reason"]
    assert (second["text"], second["kind"]) == ("CASINO", SCENE)


@pytest.mark.parametrize(
    ("text", "box", "kind", "reason"),
    [
        ("摄影：张伟", (20, 20, 160, 30), WATERMARK, "credit"),
        ("微博 @光影少年", (800, 700, 180, 30), WATERMARK, "handle"),
        ("版权所有 禁止转载", (400, 700, 200, 30), WATERMARK, "copyright"),
        ("Tom Becker | 2022", (20, 700, 200, 24), WATERMARK, "name"),
        ("'05 03 12", (820, 690, 150, 30), DATE_STAMP, "date"),
        ("'05 03 12", (20, 690, 150, 30), SCENE, "scene"),  # left: not where cameras print it
        ("Water drops on a leaf, macro shot", (250, 710, 500, 24), CAPTION, "sentence"),
        ("SUMMER IN THE MOUNTAINS", (250, 300, 500, 60), CAPTION, "level across the middle"),
        ("HATSUNE MIKU", (700, 150, 200, 60), SCENE, "scene"),
    ],
)
def test_classify_line_kinds(text: str, box: tuple[int, int, int, int], kind: str, reason: str) -> None:
    verdict = classify([line(text, *box)], 1000, 750)
    assert verdict.kind == kind and reason in verdict.groups[0]["reason"], verdict.groups[0]


def test_classify_refuses_no_lines() -> None:
    with pytest.raises(ValueError):
        classify([], 100, 100)


def test_pieces_of_a_tiled_mark_slanted_alike_are_one_tiled_mark() -> None:
    lines = [line("www.len", 50, 40, angle=31.0), line(".com", 60, 650, angle=29.0),
             line("work-studio.", 900, 300, angle=30.5), line("TOYOTA", 450, 350)]
    verdict = classify(lines, 1000, 750)
    tiled, scene = verdict.groups
    assert tiled["tiled"] and len(tiled["lines"]) == 3 and tiled["text"] == "work-studio."
    assert "slanted 30°" in tiled["reason"] and scene["text"] == "TOYOTA" and scene["kind"] == SCENE


def test_a_piece_of_a_line_read_again_is_dropped() -> None:
    from milsetctl.analysis.text import _drop_pieces

    whole, piece = line("@maria.shoots", 800, 20, 180, 30), line("ots", 940, 22, 45, 28)
    other = line("CASINO", 400, 300)
    assert _drop_pieces([piece, whole, other]) == [whole, other]


def test_the_html_report_labels_text_boxes_with_the_verdict() -> None:
    from types import SimpleNamespace

    from milsetctl.models import Finding, Severity
    from milsetctl.report.html import _boxes

    data = {"width": 2000, "height": 1000, "boxes": [[1500, 900, 400, 50, 0.97, "'05 03 12", DATE_STAMP, "tiled"]]}
    [box] = _boxes(SimpleNamespace(findings=[Finding("text-watermark", Severity.REVIEW, "date stamp: ...", data)]))
    assert box["kind"] == "text" and box["label"] == "date stamp 0.97: '05 03 12"
    assert (box["left"], box["top"], box["width"], box["height"]) == (75.0, 90.0, 20.0, 5.0)


def test_detector_sizes_come_from_the_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import milsetctl.analysis.text as text_module
    from milsetctl.settings import defaults

    seen = []
    monkeypatch.setattr(text_module, "detect_lines", lambda rgb, whole, band: seen.append((whole, band)) or [])
    probe = probe_of(landscape((1200, 800), seed=11), tmp_path)
    assert run("text-watermark", probe) == [] and seen == [(560, 1536)]
    settings = defaults()
    settings.raw["analysis"].update(text_photo_px=480, text_band_px=10)
    assert run("text-watermark", probe, settings) == [] and seen[-1] == (480, 160)  # clamped to MIN_DET_SIDE


def test_onnx_sessions_run_one_thread_without_memory_patterns() -> None:
    """One thread per worker (the pipeline has a worker per core); no per-input-size buffer plans (memory)."""
    ocr = engine()
    for stage in (ocr.text_det, ocr.text_rec):
        options = stage.session.session.get_session_options()
        assert (options.intra_op_num_threads, options.enable_mem_pattern) == (1, False)


def test_each_model_is_opened_once_with_this_modules_options(monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 18 (memory): RapidOCR opens the two models with this module's session options (one thread, the
    arena, no memory patterns) instead of its own, then again with these (both were held at once as each worker
    started: ~35 MB more per worker); RapidOCR's own option builder is back afterwards."""
    from rapidocr.inference_engine.onnxruntime import main as ort_main

    import milsetctl.analysis.text as text_module

    opened: list[tuple[str, bool, int, bool]] = []
    real = ort_main.InferenceSession

    def counting(path: str, sess_options: object = None, **kwargs: object) -> object:
        opened.append((Path(path).name, sess_options.enable_mem_pattern,  # type: ignore[attr-defined]
                       sess_options.intra_op_num_threads, sess_options.enable_cpu_mem_arena))  # type: ignore[attr-defined]
        return real(path, sess_options=sess_options, **kwargs)  # type: ignore[arg-type]

    hook = vars(ort_main.OrtInferSession)["_init_sess_opts"]
    monkeypatch.setattr(ort_main, "InferenceSession", counting)
    monkeypatch.setattr(text_module, "_engine", None)
    ocr = text_module.engine()
    assert [(name.split("_")[1], *rest) for name, *rest in opened] == [("det", False, 1, True), ("rec", False, 1, True)]
    assert vars(ort_main.OrtInferSession)["_init_sess_opts"] is hook
    assert recognise(np.full((48, 200, 3), 255, dtype=np.uint8)) is not None and ocr is text_module.engine()


# --- how the detector is called (issue 18: the same flags for less CPU) ------------------------------------------


class _Recorder:
    """Stands in for an ONNX session: records the input shapes and runs the real one."""

    def __init__(self, session: object) -> None:
        self.session, self.shapes = session, []  # type: ignore[var-annotated]

    def run(self, names: object, feeds: dict[str, np.ndarray]) -> object:
        self.shapes.extend(v.shape for v in feeds.values())
        return self.session.run(names, feeds)  # type: ignore[attr-defined]

    def get_inputs(self) -> object:
        return self.session.get_inputs()  # type: ignore[attr-defined]


def test_detector_sees_both_bands_and_the_rows_between_at_multiples_of_32(monkeypatch: pytest.MonkeyPatch) -> None:
    """Three detector runs per photo: the top and bottom 10% at 1536 px wide, and rows 5-95% at 560 px on the
    photo's long side; every input a multiple of 32 px (the network's stride: no second resize inside)."""
    from milsetctl.analysis.text import detect_lines

    holder = engine().text_det.session
    recorder = _Recorder(holder.session)
    monkeypatch.setattr(holder, "session", recorder)
    rgb = np.asarray(landscape((1600, 1200), seed=3))
    detect_lines(rgb)
    assert recorder.shapes == [(1, 3, 128, 1536), (1, 3, 128, 1536), (1, 3, 384, 576)]
    # bands: 120 rows * 0.96 = 115 -> 128, 1600 * 0.96 = 1536;
    # middle: 1080 rows * 0.35 = 378 -> 384, 1600 * 0.35 = 560 -> 576


def _quad(x0: float, y0: float, x1: float, y1: float) -> np.ndarray:
    return np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], dtype=np.float32)


def test_a_line_the_band_cuts_is_kept_as_the_whole_photo_pass_saw_it_too(monkeypatch: pytest.MonkeyPatch) -> None:
    """Of two boxes on one line the band's is kept, unless the band's inner edge cuts it: then the whole-photo
    pass's box, which holds the line whole (a camera's date stamp 7-12% above the bottom edge), is kept too."""
    import milsetctl.analysis.text as text_module

    rgb = np.zeros((1000, 1300, 3), dtype=np.uint8)  # bands: rows 0-100 and 900-1000
    boxes = {
        0: [_quad(50, 20, 400, 60)],  # top band: a corner mark, whole inside it
        900: [_quad(900, 900, 1150, 930)],  # bottom band: the lower part of a date stamp, cut at row 900
    }
    whole = [_quad(48, 18, 402, 62), _quad(905, 860, 1150, 935)]  # the same two lines, at lower resolution

    def fake_detect(image: np.ndarray, y0: int, y1: int, scale: float) -> list[np.ndarray]:
        return boxes.get(y0, whole)  # rows 50-950: the whole-photo pass

    monkeypatch.setattr(text_module, "_detect", fake_detect)
    kept = [text_module._bounds(q) for q in text_module.detect_lines(rgb)]
    assert sorted(kept) == [(50.0, 20.0, 400.0, 60.0), (900.0, 900.0, 1150.0, 930.0), (905.0, 860.0, 1150.0, 935.0)]

    boxes[900] = [_quad(900, 910, 1150, 960)]  # a line whole inside the bottom band: the band's sharper box wins
    whole[1] = _quad(902, 908, 1152, 962)
    kept = [text_module._bounds(q) for q in text_module.detect_lines(rgb)]
    assert sorted(kept) == [(50.0, 20.0, 400.0, 60.0), (900.0, 910.0, 1150.0, 960.0)]


def test_a_faint_title_on_a_light_photo_is_found_thanks_to_the_equalisation(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A white title at 16% opacity on a pale, grainy sky: without the local contrast equalisation of the
    detector's input the detector does not see it (the kind of title make_watermarks.py's sets missed)."""
    import milsetctl.analysis.text as text_module

    scene = Image.new("RGB", (2400, 1600), (225, 240, 230))
    noise = np.asarray(scene, dtype=np.int16) + np.random.default_rng(4).integers(-14, 15, (1600, 2400, 1))
    scene = Image.fromarray(np.clip(noise, 0, 240).astype(np.uint8))
    text, f = "LIGHT & SHADOW", font(100)
    photo = overlay(scene, lambda d: d.text((700, 700), text, font=f, fill=(255, 255, 255, 40)))
    probe = probe_of(photo, tmp_path)
    [(message, _data)] = run("text-watermark", probe)
    assert "SHADOW" in message.upper(), message
    monkeypatch.setattr(text_module, "DET_CLAHE", 0.0)
    (tmp_path / "again").mkdir()
    assert run("text-watermark", probe_of(photo, tmp_path / "again")) == []
