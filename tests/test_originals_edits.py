"""Strongly coloured edits against the finalists' originals (issue 21): exactly the painted area is boxed.

A newcomer's trial painted a saturated red rectangle, and a white square, over the original of a night-sky photo
(sample_data's "Venus and Jupiter at Dusk") and of a sunset, and checked them against the untouched entries: the
verdict was rightly original-edited, but the Moon's edge, both planets, two wide strips along the skyline, and on
the sunset a full-width strip (0, 0, 2381, 38) along the top were boxed as well. The per-channel tone curve was
fitted over all pixels, and a dusk sky has few pixels at the paint's red 200 (the Moon, the planets, the horizon
glow: 3,500 against the paint's 19,000), so the paint bent it (red 200 -> 31 where they need 200 -> 200). The
strip: the square pulled the alignment's refinement (ECC) 3 px down, and the black rows it left along the top
were still counted as the original's.

The scenes are the sample contest's own generators (sample_data/make_sample.py, the seeds of its entries) and the
photo-like landscape the other originals tests use; every edit is made in the entry (content added) and in the
original (content the entry lacks), and each time exactly one box, over the paint, is the answer.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import sample_module
from PIL import Image, ImageDraw
from test_originals import awarded_workspace, brighter_warmer, jpeg, original, save_by_suffix
from typer.testing import CliRunner

from milsetctl.cli import app
from milsetctl.originals import EDITED, MATCH, compare

ROOT = Path(__file__).resolve().parents[1]
RED = (1320, 320, 1860, 680)  # 540 x 360 px: 5% of a 2400 x 1600 frame, in the sky of every scene below
WHITE = (100, 100, 250, 250)  # the trial's white square, near the top-left corner


def _camera(scene: str, seed: int) -> Callable[[], Image.Image]:
    """The sample entry's photo as its camera JPEG (quality 90, as make_sample.py writes it)."""
    def build() -> Image.Image:
        return jpeg(getattr(sample_module(), scene)(2400, 1600, seed), 90)
    return build


SCENES: dict[str, Callable[[], Image.Image]] = {
    "conjunction": _camera("scene_conjunction", 505),  # E0005: dusk sky, two planets, crescent Moon, skyline
    "sunset": _camera("scene_sunset", 202),  # E0002: a sunset behind layered hills
    # the sample's 城市星空 generator at another seed than its 2424: a dark sky whose red sits in levels 5-40, so a red
    # rectangle's 220 pulls even the tone fit's first straight line (only the refit without the boxed paint helps)
    "city-stars": _camera("scene_city_stars", 2222),
    "landscape": original,  # tests/test_originals.py's photo: sky, hills, grass, a red object
}
_cache: dict[str, Image.Image] = {}


def scene(name: str) -> Image.Image:
    if name not in _cache:
        _cache[name] = SCENES[name]()
    return _cache[name]


def painted(image: Image.Image, box: tuple[int, int, int, int], colour: tuple[int, int, int]) -> Image.Image:
    out = image.copy()
    ImageDraw.Draw(out).rectangle((box[0], box[1], box[2] - 1, box[3] - 1), fill=colour)
    return out


def iou(region: list[int], box: tuple[int, int, int, int]) -> float:
    x, y, w, h = region
    ix = max(0, min(x + w, box[2]) - max(x, box[0]))
    iy = max(0, min(y + h, box[3]) - max(y, box[1]))
    inter = ix * iy
    return inter / (w * h + (box[2] - box[0]) * (box[3] - box[1]) - inter)


EDITS = {"red": (RED, (220, 30, 30)), "white": (WHITE, (255, 255, 255))}


@pytest.mark.parametrize("where", ["in-entry", "in-original"])
@pytest.mark.parametrize("edit", sorted(EDITS))
@pytest.mark.parametrize("name", sorted(SCENES))
def test_painted_rectangle_is_the_only_box(name: str, edit: str, where: str) -> None:
    """The paint is boxed, and nothing else: in the trial the same checks also boxed the Moon, the planets and
    strips along the skyline and the top of the sky."""
    box, colour = EDITS[edit]
    base = scene(name)
    edited = painted(base, box, colour)
    # the entry is what the contestant sent (a JPEG); the original is the camera's file
    entry, orig = (jpeg(edited), base) if where == "in-entry" else (jpeg(base, 92), jpeg(edited, 95))
    result = compare(entry, orig)
    assert result.verdict == EDITED, result.reason
    assert len(result.regions) == 1, result.regions
    assert iou(result.regions[0], box) > 0.5, result.regions


@pytest.mark.parametrize("name", sorted(SCENES))
def test_resaved_photo_is_a_match(name: str) -> None:
    """The control: the same photo saved again at quality 92 has nothing boxed."""
    result = compare(jpeg(scene(name), 92), scene(name))
    assert result.verdict == MATCH, result.regions


@pytest.mark.parametrize("name", ["conjunction", "sunset"])
def test_brighter_and_warmer_is_still_a_match(name: str) -> None:
    """+0.5 EV and a warmer balance (the sunset's sky and sun clip) stay allowed processing on the sample scenes,
    with the tone fit that now sets edits aside."""
    result = compare(jpeg(brighter_warmer(scene(name))), scene(name))
    assert result.verdict == MATCH, result.regions


def test_sky_coloured_patch_is_the_only_box() -> None:
    """A patch the colour of the sky around it (no level the curve lacks) was boxed alone before and still is."""
    base = scene("conjunction")
    x0, y0, x1, y1 = RED
    sky = base.getpixel((x0 - 20, (y0 + y1) // 2))
    assert isinstance(sky, tuple)
    entry = jpeg(base, 92)
    result = compare(entry, jpeg(painted(base, RED, (sky[0] - 12, sky[1] - 25, sky[2] - 40)), 95))
    assert result.verdict == EDITED and len(result.regions) == 1 and iou(result.regions[0], RED) > 0.5, \
        result.regions


def test_cli_page_boxes_only_the_paint(tmp_path: Path) -> None:
    """The trial's run, through `originals check --json --html`: the dusk sky's original with a red rectangle and
    the sunset's with a white square are each edited with one region, over the paint; the untouched original
    matches; the page draws one box on each side of each edited pair and no other."""
    photos = {"E0001": scene("conjunction"), "E0002": scene("sunset"), "E0003": scene("conjunction")}
    root = awarded_workspace(tmp_path, photos, lambda path, image: save_by_suffix(path, image, quality=92))
    originals = tmp_path / "originals"
    originals.mkdir()
    painted(photos["E0001"], *EDITS["red"]).save(originals / "E0001.jpg", quality=95)
    painted(photos["E0002"], *EDITS["white"]).save(originals / "E0002.jpg", quality=95)
    photos["E0003"].save(originals / "E0003.jpg", quality=95)
    page = tmp_path / "originals.html"
    result = CliRunner().invoke(app, ["originals", "check", str(originals), "--json", "--html", str(page),
                                      "-w", str(root)])
    assert result.exit_code == 0, result.output
    got = {r["entry_id"]: r for r in json.loads(result.stdout)["originals"]}
    assert {e: r["verdict"] for e, r in got.items()} == {"E0001": EDITED, "E0002": EDITED, "E0003": MATCH}
    for entry_id, edit in (("E0001", "red"), ("E0002", "white")):
        regions = got[entry_id]["regions"]
        assert len(regions) == 1 and iou(regions[0], EDITS[edit][0]) > 0.5, (entry_id, regions)
    text = page.read_text(encoding="utf-8")
    assert text.count("<rect class=\"box\"") == 2 and text.count("<polygon class=\"box\"") == 2
