"""The finalists' originals (issue 21): each verdict on originals and entries built from a photo-like scene.

The edits are the ones the call forbids ("the addition, removal or distortion of significant content": an object
cloned out, a Moon added) and the processing it allows (a 10% crop and resize, +0.5 EV and a warmer balance). The
library is driven directly for the image cases; the CLI (`originals check DIR --json`, `originals request`) on a
workspace whose ledger holds awards.
"""

from __future__ import annotations

import csv
import io
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from jury_fixtures import jury_workspace
from PIL import Image, ImageDraw
from test_rules_vision import landscape
from typer.testing import CliRunner

from milsetctl.cli import app
from milsetctl.originals import EDITED, MATCH, MISSING, compare

OBJECT = (1500, 1150, 1700, 1300)  # x0, y0, x1, y1 of a red object on the grass of the original
MOON = (400, 200, 520, 320)


def jpeg(image: Image.Image, quality: int = 90) -> Image.Image:
    buf = io.BytesIO()
    image.save(buf, "JPEG", quality=quality)
    buf.seek(0)
    return Image.open(buf).convert("RGB")


def original() -> Image.Image:
    image = landscape((2400, 1600), seed=3)
    ImageDraw.Draw(image).rectangle(OBJECT, fill=(150, 60, 40))
    return jpeg(image, 95)


def cloned_out(image: Image.Image) -> Image.Image:
    """The object painted over with the grass 300 px to its left (a clone stamp)."""
    a = np.asarray(image).copy()
    x0, y0, x1, y1 = OBJECT
    a[y0 - 20:y1 + 20, x0 - 20:x1 + 20] = a[y0 - 20:y1 + 20, x0 - 320:x1 - 280]
    return Image.fromarray(a)


def with_moon(image: Image.Image) -> Image.Image:
    out = image.copy()
    ImageDraw.Draw(out).ellipse(MOON, fill=(250, 250, 240))
    return out


def cropped(image: Image.Image) -> Image.Image:
    w, h = image.size
    return image.crop((int(w * .05), int(h * .05), int(w * .95), int(h * .95))).resize(
        (1800, 1200), Image.Resampling.LANCZOS)


def brighter_warmer(image: Image.Image) -> Image.Image:
    """+0.5 EV in linear light and a warmer white balance, back to sRGB-like gamma."""
    linear = (np.asarray(image).astype(np.float64) / 255) ** 2.2 * 2 ** 0.5
    warm = np.clip(linear * np.array([1.08, 1.0, 0.9]), 0, 1) ** (1 / 2.2)
    return Image.fromarray((warm * 255).round().astype(np.uint8))


def overlaps(box: list[int], target: tuple[int, int, int, int]) -> bool:
    x, y, w, h = box
    return x < target[2] and target[0] < x + w and y < target[3] and target[1] < y + h


def test_cloned_out_object_is_edited_and_boxed() -> None:
    result = compare(jpeg(cloned_out(original())), original())
    assert result.verdict == EDITED
    assert result.regions and all(overlaps(b, OBJECT) for b in result.regions)


def test_added_moon_is_edited_and_boxed() -> None:
    result = compare(jpeg(with_moon(original())), original())
    assert result.verdict == EDITED
    assert len(result.regions) == 1 and overlaps(result.regions[0], MOON)


def test_crop_and_resize_is_a_match() -> None:
    result = compare(jpeg(cropped(original())), original())
    assert result.verdict == MATCH, result.reason
    assert result.regions == []


def test_exposure_and_colour_is_a_match() -> None:
    result = compare(jpeg(brighter_warmer(original())), original())
    assert result.verdict == MATCH, result.reason


def test_another_scene_is_missing() -> None:
    result = compare(jpeg(original()), landscape((2400, 1600), seed=9))
    assert result.verdict == MISSING and "not the same scene" in result.reason


def test_moon_region_in_displayed_pixels_of_a_scaled_entry() -> None:
    """The entry is half the original's size: its box is in the entry's own pixels, not the original's."""
    entry = with_moon(original()).resize((1200, 800), Image.Resampling.LANCZOS)
    result = compare(jpeg(entry), original())
    assert result.verdict == EDITED
    assert overlaps(result.regions[0], tuple(v // 2 for v in MOON))  # type: ignore[arg-type]


def save_by_suffix(path: Path, image: Image.Image, **options: Any) -> None:
    """The picture as the file's suffix says (JPEG for .jpg, else PNG), with Pillow's save options."""
    image.save(path, "JPEG" if path.suffix == ".jpg" else "PNG", **options)


def awarded_workspace(tmp_path: Path, photos: dict[str, Image.Image],
                      write: Callable[[Path, Image.Image], None] = save_by_suffix) -> Path:
    """A jury workspace whose entries named in `photos` (entry ID -> picture) hold those pictures in their
    submitted files (`write(path, picture)`) and national awards in that order, the first Gold, the rest Silver.
    Returns the workspace's root, closed."""
    ws = jury_workspace(tmp_path)
    source = Path(ws.settings.source)
    entries = {r["entry_id"]: r for r in ws.ledger.entries(present_only=False)}
    for entry_id, image in photos.items():
        path = source / entries[entry_id]["file"]
        path.unlink()
        write(path, image)
    ws.ledger.save_awards([
        {"entry_id": e, "anon_id": f"A{i}", "category": "Photo", "score": 9.0 - i, "rank": i + 1,
         "award": "Gold" if i == 0 else "Silver", "stage": "national", "at": "2022-07-10T00:00:00Z"}
        for i, e in enumerate(photos)], "national")
    root = ws.root
    ws.close()
    return root


@pytest.fixture
def awarded(tmp_path: Path):  # type: ignore[no-untyped-def]
    """A workspace with three award holders whose submitted photos are: the original untouched (E0001), with a
    Moon added (E0002), and one whose author sends nothing (E0003)."""
    base = original()
    root = awarded_workspace(tmp_path, {"E0001": brighter_warmer(base), "E0002": with_moon(base), "E0003": base})
    originals = tmp_path / "originals"
    originals.mkdir()
    base.save(originals / "E0001.jpg", quality=95)
    base.save(originals / "e0002 original.JPG", quality=95)
    (originals / "notes.txt").write_text("not a photo")
    return root, originals


def test_cli_check_json_and_html(awarded: tuple[Path, Path], tmp_path: Path) -> None:
    root, originals = awarded
    page = tmp_path / "originals.html"
    result = CliRunner().invoke(app, ["originals", "check", str(originals), "--json", "--html", str(page),
                                      "-w", str(root)])
    assert result.exit_code == 0, result.output
    got = {r["entry_id"]: r for r in json.loads(result.stdout)["originals"]}
    assert {e: r["verdict"] for e, r in got.items()} == {"E0001": MATCH, "E0002": EDITED, "E0003": MISSING}
    assert len(got["E0002"]["regions"]) == 1 and overlaps(got["E0002"]["regions"][0], MOON)
    text = page.read_text(encoding="utf-8")
    assert text.count("<rect class=\"box\"") == 1 and text.count("<polygon class=\"box\"") == 1
    assert "original-missing" in text
    from milsetctl.workspace import open_workspace

    with open_workspace(root) as ws:
        record = [r for r in ws.ledger.db.execute("SELECT action, detail FROM audit") if r[0] == "originals-check"]
    assert len(record) == 1 and json.loads(record[0][1])["verdicts"]["E0002"] == EDITED


def test_cli_request_lists_award_holders(awarded: tuple[Path, Path], tmp_path: Path) -> None:
    root, _ = awarded
    out = tmp_path / "ask.csv"
    result = CliRunner().invoke(app, ["originals", "request", "--out", str(out), "--json", "-w", str(root)])
    assert result.exit_code == 0, result.output
    assert [c["entry_id"] for c in json.loads(result.stdout)["candidates"]] == ["E0001", "E0002", "E0003"]
    rows = list(csv.DictReader(out.read_text(encoding="utf-8-sig").splitlines()))
    assert [r["entry_id"] for r in rows] == ["E0001", "E0002", "E0003"]
    assert "E0001.jpg" in rows[0]["send"] and rows[0]["award"] == "Gold"


def test_raw_without_rawpy_says_install_the_extra(awarded: tuple[Path, Path],
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """rawpy is an extra: where it is not installed (here it is hidden: `import rawpy` fails as it would), a RAW
    original is named with the extra to install, and the other originals are still checked."""
    pytest.importorskip("cv2")
    monkeypatch.setitem(sys.modules, "rawpy", None)
    root, originals = awarded
    (originals / "E0003.CR2").write_bytes(b"II*\x00not really a raw")
    result = CliRunner().invoke(app, ["originals", "check", str(originals), "--json", "-w", str(root)])
    assert result.exit_code == 0, result.output
    got = {r["entry_id"]: r for r in json.loads(result.stdout)["originals"]}
    assert got["E0003"]["verdict"] == MISSING and "install milsetctl[raw]" in got["E0003"]["reason"]
    assert got["E0003"]["file"] == "E0003.CR2"
    assert got["E0001"]["verdict"] == MATCH and got["E0002"]["verdict"] == EDITED
