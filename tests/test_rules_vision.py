"""The pixel rules `face` and `text-watermark`, on photos the tests draw.

Each test writes a real JPEG, probes it the way `validate` does, and calls the registered rule. The
face comes from scikit-image's bundled astronaut photo (public domain, NASA); the watermark is drawn
with a TrueType font. The models are real (dlib, RapidOCR): these tests check the whole path, not a mock.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFilter, ImageFont

import milsetctl.rules.vision  # noqa: F401  (registers the rules)
from milsetctl.analysis.text import TextLine, placement, watermark_kind
from milsetctl.probe import Probe, probe_file
from milsetctl.rules import REGISTRY
from milsetctl.settings import Settings, defaults

pytest.importorskip("dlib")
pytest.importorskip("rapidocr")

DEJAVU = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")


def font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    if DEJAVU.exists():
        return ImageFont.truetype(str(DEJAVU), size)
    return ImageFont.load_default(size=size)


def landscape(size: tuple[int, int] = (2400, 1600), seed: int = 1) -> Image.Image:
    """A photo-like scene with no face and no text: sky gradient, hills, noisy grass, soft blobs."""
    rng = np.random.default_rng(seed)
    w, h = size
    y = np.linspace(0, 1, h)[:, None]
    x = np.linspace(0, 1, w)[None, :]
    sky = np.stack([90 + 80 * y, 140 + 70 * y, 230 - 40 * y], axis=-1) * np.ones((1, w, 1))
    horizon = 0.55 + 0.08 * np.sin(6 * x + 1.3) + 0.04 * np.sin(17 * x)
    ground = y > horizon
    grass = np.stack([60 + 40 * y, 120 + 50 * y, 40 + 10 * y], axis=-1) * np.ones((1, w, 1))
    pixels = np.where(ground[..., None], grass, sky)
    pixels += rng.normal(0, 9, pixels.shape)
    image = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(image)
    for _ in range(25):  # bushes and clouds
        cx, cy, r = int(rng.integers(0, w)), int(rng.integers(0, h)), int(rng.integers(20, 120))
        colour = (int(rng.integers(30, 90)), int(rng.integers(80, 140)), int(rng.integers(30, 70)))
        if cy < h * 0.5:
            colour = (235, 238, 245)
        draw.ellipse((cx - r, cy - r // 2, cx + r, cy + r // 2), fill=colour)
    return image.filter(ImageFilter.GaussianBlur(1.2))


def probe_of(image: Image.Image, tmp_path: Path, name: str = "photo.jpg") -> Probe:
    path = tmp_path / name
    image.save(path, "JPEG", quality=92)
    probe = probe_file(path, name, 10**9)
    assert probe.readable
    return probe


def run(rule_id: str, probe: Probe, settings: Settings | None = None) -> list[tuple[str, dict]]:
    out = []
    for emit in REGISTRY[rule_id].check(probe, settings or defaults()):
        assert isinstance(emit, tuple) and isinstance(emit[0], str) and isinstance(emit[1], dict)
        out.append(emit)
    return out


def overlap(a: list[float], b: list[float]) -> float:
    """Intersection over the smaller box (x, y, w, h)."""
    ix = max(0.0, min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1]))
    return ix * iy / min(a[2] * a[3], b[2] * b[3])


def test_rules_are_registered_as_expensive_review_photo_rules() -> None:
    face, text = REGISTRY["face"], REGISTRY["text-watermark"]
    assert (face.severity, face.scope, face.expensive) == ("review", "photo", True)
    assert (text.severity, text.scope, text.expensive) == ("review", "photo", True)
    assert face.uses == ("analysis.face_min_score",)
    assert text.uses == ("analysis.text_min_score", "analysis.text_min_chars")
    assert face.summary and text.summary


def test_face_in_a_larger_photo_is_found_with_its_box(tmp_path: Path) -> None:
    from skimage import data

    astronaut = Image.fromarray(data.astronaut()).resize((1024, 1024), Image.Resampling.LANCZOS)
    scene = landscape((1800, 1300))
    left, top = 600, 200
    scene.paste(astronaut, (left, top))
    probe = probe_of(scene, tmp_path)
    findings = run("face", probe)
    assert len(findings) == 1
    message, data = findings[0]
    assert re.match(r"1 face detected: \(x=\d+, y=\d+, w=\d+, h=\d+, score \d\.\d\)$", message), message
    assert (data["width"], data["height"]) == (1800, 1300)
    # dlib finds the astronaut's face at (179, 83)-(266, 170) in the 512 px original: x2 here, shifted
    expected = [left + 2 * 179, top + 2 * 83, 2 * 87, 2 * 87]
    x, y, w, h, score = data["boxes"][0]
    assert score > 0.5
    assert overlap([x, y, w, h], expected) > 0.5, (data["boxes"], expected)


def test_face_box_is_in_displayed_pixels_for_a_reduced_decode(tmp_path: Path) -> None:
    """A 3600 px photo is analysed at a quarter size: the box must still be in full-size pixels."""
    from skimage import data

    astronaut = Image.fromarray(data.astronaut()).resize((2048, 2048), Image.Resampling.LANCZOS)
    scene = landscape((3600, 2600))
    scene.paste(astronaut, (1000, 300))
    probe = probe_of(scene, tmp_path)
    assert probe.scale > 1
    [(_message, data)] = run("face", probe)
    x, y, w, h, _score = data["boxes"][0]
    expected = [1000 + 4 * 179, 300 + 4 * 83, 4 * 87, 4 * 87]
    assert overlap([x, y, w, h], expected) > 0.5, (data["boxes"], expected)


def test_landscape_has_no_face_and_no_text(tmp_path: Path) -> None:
    probe = probe_of(landscape(), tmp_path)
    assert run("face", probe) == []
    assert run("text-watermark", probe) == []


def test_face_threshold_comes_from_the_settings(tmp_path: Path) -> None:
    from skimage import data

    probe = probe_of(Image.fromarray(data.astronaut()), tmp_path)
    assert run("face", probe)
    strict = defaults()
    strict.raw["analysis"]["face_min_score"] = 5.0
    assert run("face", probe, strict) == []


def test_watermark_in_a_corner_is_read_and_called_a_watermark(tmp_path: Path) -> None:
    scene = landscape((2400, 1600), seed=3)
    draw = ImageDraw.Draw(scene)
    text = "© John Smith 2022"
    f = font(64)
    x0, y0, x1, y1 = draw.textbbox((0, 0), text, font=f)
    pos = (2400 - (x1 - x0) - 60, 1600 - (y1 - y0) - 60)
    draw.text(pos, text, font=f, fill=(255, 255, 255), stroke_width=2, stroke_fill=(40, 40, 40))
    probe = probe_of(scene, tmp_path)
    findings = run("text-watermark", probe)
    assert len(findings) == 1
    message, data = findings[0]
    squashed = message.replace(" ", "").lower()
    assert "johnsmith" in squashed and "2022" in message, message
    assert "bottom-right corner" in message and "watermark" in message, message
    assert data["watermark"] is True
    x, y, w, h, score, read = data["boxes"][0]
    assert score >= 0.8 and "Smith" in read
    assert overlap([x, y, w, h], [pos[0], pos[1], x1 - x0, y1 - y0]) > 0.5
    assert (data["width"], data["height"]) == (2400, 1600)


def test_text_thresholds_come_from_the_settings(tmp_path: Path) -> None:
    scene = landscape((2000, 1400), seed=4)
    draw = ImageDraw.Draw(scene)
    draw.text((700, 600), "CASINO", font=font(90), fill=(250, 240, 60))
    probe = probe_of(scene, tmp_path)
    [(message, _data)] = run("text-watermark", probe)
    assert "CASINO" in message
    strict = defaults()
    strict.raw["analysis"]["text_min_chars"] = 7  # CASINO has 6
    assert run("text-watermark", probe, strict) == []


def test_unreadable_probe_gives_no_finding(tmp_path: Path) -> None:
    path = tmp_path / "broken.jpg"
    path.write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    probe = probe_file(path, "broken.jpg", 10**9)
    assert run("face", probe) == []
    assert run("text-watermark", probe) == []


@pytest.mark.parametrize(
    ("text", "box", "where", "kind"),
    [
        ("www.example.com", (900, 700, 90, 20), "bottom-right corner", "watermark"),
        ("© Jane Doe", (400, 300, 90, 20), "centre", "watermark"),
        ("John Smith", (10, 700, 90, 20), "bottom-left corner", "watermark"),
        ("2007 7 13", (900, 700, 90, 20), "bottom-right corner", "date stamp"),
        ("CASINO", (450, 350, 90, 20), "centre", None),
        ("TOYOTA", (450, 10, 90, 20), "top edge", None),
    ],
)
def test_placement_and_watermark_kind(text: str, box: tuple[int, int, int, int], where: str, kind: str | None) -> None:
    line = TextLine(text, 0.99, *box)
    assert placement(line, 1000, 750) == where
    assert watermark_kind(line, where) == kind
