"""Shared fixtures: photo-like JPEG/PNG files with chosen metadata, manifests in any encoding, probes.

Tests make their own files with Pillow (never copies of real photos), so every case says exactly what
it is testing. The helpers are plain functions, importable as `from conftest import make_jpeg`, and
also offered as fixtures of the same name for tests that prefer injection.
"""

from __future__ import annotations

import copy
import csv
import functools
import importlib.util
import io
import random
import sys
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from PIL import Image, ImageChops
from PIL.PngImagePlugin import PngInfo

from milsetctl.probe import Probe, probe_file
from milsetctl.settings import Settings, defaults

# EXIF tag numbers (TIFF/EXIF spec)
MAKE = 0x010F
MODEL = 0x0110
SOFTWARE = 0x0131
ORIENTATION = 0x0112
EXIF_IFD = 0x8769
DATETIME_ORIGINAL = 0x9003

MANIFEST_HEADERS = [
    "contestant_id", "name", "school", "grade", "province", "country", "email", "file", "title",
    "description", "submitted_at",
]


SAMPLE_SCRIPT = Path(__file__).resolve().parents[1] / "sample_data" / "make_sample.py"


def sample_module() -> ModuleType:
    """sample_data/make_sample.py as a module (its rows and scene generators), loaded once per process and
    registered in sys.modules, so that the script's worker processes find its functions."""
    name = "milsetctl_sample_data"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, SAMPLE_SCRIPT)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


def photo_pixels(size: tuple[int, int], seed: int = 0) -> Image.Image:
    """An RGB picture with smooth structure and mild grain: compresses like a photo, not like a flat fill.

    A small random field scaled up plus a tiled grain patch (cheap even at 24 MP); two seeds give two
    different photos. Cached: callers get a copy.
    """
    return _photo_pixels(tuple(size), seed).copy()


@functools.lru_cache(maxsize=16)
def _photo_pixels(size: tuple[int, int], seed: int) -> Image.Image:
    width, height = size
    rng = random.Random(seed)
    coarse = Image.frombytes("RGB", (18, 12), bytes(rng.randrange(256) for _ in range(18 * 12 * 3)))
    base = coarse.resize((width, height), Image.Resampling.BILINEAR)
    patch = Image.frombytes("L", (128, 128), bytes(128 + rng.randrange(-6, 7) for _ in range(128 * 128)))
    patch = patch.convert("RGB")
    grain = Image.new("RGB", (width, height))
    for x in range(0, width, 128):
        for y in range(0, height, 128):
            grain.paste(patch, (x, y))
    return ImageChops.add(base, grain, 1.0, -128)


def exif_block(
    exif: Mapping[str, Any] | None = None, orientation: int | None = None, software: str | None = None
) -> Image.Exif:
    """A Pillow Exif with the usual camera tags. `exif` keys: make, model, datetime_original, or raw tag numbers."""
    block = Image.Exif()
    values = dict(exif or {})
    named = {"make": MAKE, "model": MODEL, "software": SOFTWARE, "orientation": ORIENTATION}
    for key, value in list(values.items()):
        if key in named:
            block[named[key]] = value
        elif key == "datetime_original":
            block.get_ifd(EXIF_IFD)[DATETIME_ORIGINAL] = value
        elif isinstance(key, int):
            block[key] = value
        else:
            raise KeyError(f"unknown EXIF key {key!r}")
    if software is not None:
        block[SOFTWARE] = software
    if orientation is not None:
        block[ORIENTATION] = orientation
    return block


def make_jpeg(
    path: Path,
    size: tuple[int, int] = (2400, 1600),
    exif: Mapping[str, Any] | None = None,
    orientation: int | None = None,
    software: str | None = None,
    quality: int = 85,
    seed: int = 0,
) -> Path:
    """Write a photo-like JPEG with the given stored size and EXIF (Make/Model/DateTimeOriginal...).

    `exif` maps make/model/software/orientation/datetime_original (or raw tag numbers) to values;
    pass `exif={}` for a photo without camera metadata.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    block = exif_block(exif, orientation, software)
    photo_pixels(size, seed).save(path, "JPEG", quality=quality, exif=block.tobytes())
    return path


def make_png(
    path: Path,
    size: tuple[int, int] = (2400, 1600),
    text: Mapping[str, str] | None = None,
    mode: str = "RGB",
    seed: int = 0,
    exif: Mapping[str, Any] | None = None,
    compress_level: int = 1,
) -> Path:
    """Write a PNG, with optional tEXt chunks (`text={"parameters": "..."}`) and EXIF.

    Fast compression by default: a 24 MP PNG at zlib level 6 takes seconds. Tests that only need the
    width (min-width passes at 2000) can ask for a short picture such as (2000, 300).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    image = photo_pixels(size, seed)
    if mode != "RGB":
        image = image.convert(mode)
    options: dict[str, Any] = {}
    if text:
        info = PngInfo()
        for key, value in text.items():
            info.add_text(key, value)
        options["pnginfo"] = info
    if exif:
        options["exif"] = exif_block(exif).tobytes()
    image.save(path, "PNG", compress_level=compress_level, **options)
    return path


def write_manifest(
    folder: Path,
    rows: Iterable[Mapping[str, Any] | Sequence[Any]],
    encoding: str = "utf-8-sig",
    headers: Sequence[str] | None = None,
    delimiter: str = ",",
    name: str = "entries.csv",
) -> Path:
    """Write a CSV manifest as a spreadsheet program would, in the given encoding and delimiter.

    Rows are dicts (keyed by header; missing keys left empty) or sequences (in header order). Headers
    default to the SPEC's column names; pass `headers=` to write Chinese or messy ones.
    """
    rows = list(rows)
    if headers is None:
        headers = list(MANIFEST_HEADERS)
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow(headers)
    for row in rows:
        if isinstance(row, Mapping):
            writer.writerow(["" if row.get(h) is None else row.get(h) for h in headers])
        else:
            writer.writerow(list(row))
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_bytes(buffer.getvalue().encode(encoding))
    return path


def probe_of(path: Path, max_pixels: int = 10**9) -> Probe:
    """Probe a file the way validate does, with the file name as its relative path."""
    return probe_file(path, path.name, max_pixels)


def settings_with(**sections: Mapping[str, Any]) -> Settings:
    """Default settings with some values changed: `settings_with(photo={"max_bytes": 1000})`."""
    raw = copy.deepcopy(defaults().raw)
    for section, values in sections.items():
        raw.setdefault(section, {}).update(values)
    return Settings(raw=raw)


@pytest.fixture
def settings() -> Settings:
    return defaults()


@pytest.fixture(name="make_jpeg")
def _make_jpeg_fixture():
    return make_jpeg


@pytest.fixture(name="make_png")
def _make_png_fixture():
    return make_png


@pytest.fixture(name="write_manifest")
def _write_manifest_fixture():
    return write_manifest


@pytest.fixture(name="probe_of")
def _probe_of_fixture():
    return probe_of
