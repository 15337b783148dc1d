"""`duplicate-image`: copies across entries (resized, recompressed, converted, byte-identical) are found and
named; different photos are not; it scales to thousands of entries."""

from __future__ import annotations

import random
import shutil
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import make_jpeg, photo_pixels, probe_of, settings_with
from PIL import Image

from milsetctl.models import Entry, PhotoInfo
from milsetctl.rules import ContestItem
from milsetctl.rules.duplicates import close_pairs, duplicate_image, popcount64
from milsetctl.settings import Settings, defaults

CAMERA = {"make": "Canon", "model": "Canon EOS 80D", "datetime_original": "2022:06:01 10:00:00"}


def item(path: Path | None, n: int, contestant: str | None = None) -> ContestItem:
    """An entry as the pipeline hands it to contest rules: the manifest row and the probe's PhotoInfo."""
    file = f"photos/{path.name}" if path else None
    entry = Entry(key=file or f"row {n}", file=file, contestant_id=contestant or f"C{n:03d}", entry_id=f"E{n:04d}")
    return ContestItem(entry, probe_of(path).info if path else None)


def run(items: list[ContestItem], settings: Settings | None = None) -> dict[str, tuple[str, dict]]:
    out = list(duplicate_image(items, settings or defaults()))
    keys = [key for key, _ in out]
    assert len(keys) == len(set(keys)), "one finding per entry"
    return dict(out)


@pytest.fixture(scope="module")
def photos(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A synthetic photo, a resized + recompressed copy, a PNG conversion, a byte copy, two other photos."""
    folder = tmp_path_factory.mktemp("dups")
    original = make_jpeg(folder / "original.jpg", size=(1600, 1200), exif=CAMERA, quality=92, seed=11)
    with Image.open(original) as im:
        im.resize((800, 600), Image.Resampling.LANCZOS).save(folder / "small.jpg", "JPEG", quality=60)
        im.save(folder / "converted.png", "PNG")
    shutil.copyfile(original, folder / "copy.jpg")
    make_jpeg(folder / "other.jpg", size=(1600, 1200), exif=CAMERA, seed=12)
    make_jpeg(folder / "third.jpg", size=(1200, 1600), exif=CAMERA, seed=13)
    return {p.stem: p for p in folder.iterdir()}


def test_resized_recompressed_copy_is_found_naming_the_other_entry(photos: dict[str, Path]) -> None:
    found = run([item(photos["original"], 1), item(photos["small"], 2), item(photos["other"], 3)])
    assert set(found) == {"photos/original.jpg", "photos/small.jpg"}
    message, data = found["photos/original.jpg"]
    assert message.startswith("near-identical to E0002 (photos/small.jpg), distance ")
    assert data["matches"][0]["entry_id"] == "E0002"
    assert data["matches"][0]["distance"] <= 2
    assert found["photos/small.jpg"][0].startswith("near-identical to E0001 (photos/original.jpg)")


def test_png_conversion_is_found(photos: dict[str, Path]) -> None:
    found = run([item(photos["original"], 1), item(photos["converted"], 2)])
    message, data = found["photos/converted.png"]
    assert message.startswith("near-identical to E0001 (photos/original.jpg), distance ")
    assert data["matches"][0]["distance"] <= 2  # the JPEG is decoded at 1/2 scale (DCT draft), the PNG in full


def test_byte_identical_copy_is_named_as_such(photos: dict[str, Path]) -> None:
    found = run([item(photos["original"], 1), item(photos["copy"], 2)])
    assert found["photos/copy.jpg"][0] == "byte-identical to E0001 (photos/original.jpg)"
    assert found["photos/original.jpg"][1]["matches"][0]["kind"] == "identical"


def test_group_of_three_lists_every_other_entry(photos: dict[str, Path]) -> None:
    found = run([item(photos["original"], 1), item(photos["small"], 2), item(photos["converted"], 3)])
    message, data = found["photos/original.jpg"]
    assert sorted(m["entry_id"] for m in data["matches"]) == ["E0002", "E0003"]
    assert [m["distance"] for m in data["matches"]] == sorted(m["distance"] for m in data["matches"])  # closest first
    assert "E0002 (photos/small.jpg)" in message and "E0003 (photos/converted.png)" in message


def test_different_photos_are_not_duplicates(photos: dict[str, Path]) -> None:
    assert run([item(photos["original"], 1), item(photos["other"], 2), item(photos["third"], 3)]) == {}


def test_same_contestant_twice_is_reported_too(photos: dict[str, Path]) -> None:
    found = run([item(photos["original"], 1, "C001"), item(photos["small"], 2, "C001")])
    assert len(found) == 2


def test_entries_without_photo_or_hash_are_skipped(photos: dict[str, Path], tmp_path: Path) -> None:
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"\xff\xd8\xff\xe0" + b"\x00" * 20)
    items = [item(photos["original"], 1), item(None, 2), item(broken, 3), item(photos["other"], 4)]
    assert items[2].photo is not None and items[2].photo.phash is None
    assert run(items) == {}


def test_byte_identical_undecodable_files_still_match(tmp_path: Path) -> None:
    for name in ("a.jpg", "b.jpg"):
        (tmp_path / name).write_bytes(b"\xff\xd8\xff\xe0" + b"\x01" * 50)
    found = run([item(tmp_path / "a.jpg", 1), item(tmp_path / "b.jpg", 2)])
    assert found["photos/b.jpg"][0] == "byte-identical to E0001 (photos/a.jpg)"


# --- thresholds, on hashes set directly


def info(phash: int, dhash: int, **extra: str) -> PhotoInfo:
    return PhotoInfo(
        sha256=f"{random.getrandbits(256):064x}",
        size=1,
        format="JPEG",
        phash=f"{phash:016x}",
        dhash=f"{dhash:016x}",
        **extra,
    )


def bits(n: int) -> int:
    """A 64-bit value with the n lowest bits set: XOR distance n from 0."""
    return (1 << n) - 1


def entry_item(n: int, photo: PhotoInfo) -> ContestItem:
    return ContestItem(Entry(key=f"k{n}", file=f"f{n}.jpg", entry_id=f"E{n:04d}"), photo)


@pytest.mark.parametrize(
    ("dp", "dd", "limit", "found"),
    [(6, 6, 6, True), (7, 0, 6, False), (0, 7, 6, False), (10, 9, 10, True), (11, 3, 10, False)],
)
def test_both_hashes_must_be_within_the_setting(dp: int, dd: int, limit: int, found: bool) -> None:
    items = [entry_item(1, info(0, 0)), entry_item(2, info(bits(dp), bits(dd)))]
    result = run(items, settings_with(analysis={"duplicate_max_distance": limit}))
    assert bool(result) is found
    if found:
        assert result["k2"][0] == f"near-identical to E0001 (f1.jpg), distance {max(dp, dd)}"


def test_same_scene_needs_same_camera_minutes_apart() -> None:
    camera = {"make": "Canon", "model": "Canon PowerShot SX60 HS"}
    a = info(0, 0, datetime_original="2015:02:09 22:47:44", **camera)
    b = info(bits(16), bits(13), datetime_original="2015:02:09 22:48:10", **camera)
    found = run([entry_item(1, a), entry_item(2, b)])
    assert found["k2"][0] == (
        "same scene as E0001 (f1.jpg), distance 16, same camera (Canon PowerShot SX60 HS) 26 s apart"
    )
    later = info(bits(16), bits(13), datetime_original="2015:02:10 09:00:00", **camera)
    other_camera = info(bits(16), bits(13), datetime_original="2015:02:09 22:48:10", make="Nikon", model="D750")
    no_time = info(bits(16), bits(13), **camera)
    for photo in (later, other_camera, no_time):
        assert run([entry_item(1, a), entry_item(2, photo)]) == {}


def test_many_matches_are_capped_in_the_message() -> None:
    items = [entry_item(n, info(0, 0)) for n in range(1, 10)]
    message, data = run(items)["k1"]
    assert message.endswith("and 3 more")
    assert len(data["matches"]) == 8


# --- the pair search


def test_popcount_matches_python() -> None:
    rng = np.random.default_rng(0)
    values = rng.integers(0, 2**63, size=1000, dtype=np.uint64) * np.uint64(2) + np.uint64(1)
    assert popcount64(values).tolist() == [int(v).bit_count() for v in values.tolist()]


def test_close_pairs_matches_brute_force() -> None:
    rng = random.Random(3)
    base = [rng.getrandbits(64) for _ in range(40)]
    a = [x ^ (bits(rng.randrange(0, 12)) << rng.randrange(0, 50)) for x in base for _ in range(3)]
    b = [x ^ (bits(rng.randrange(0, 12)) << rng.randrange(0, 50)) for x in base for _ in range(3)]
    got = set(close_pairs(np.array(a, dtype=np.uint64), np.array(b, dtype=np.uint64), 8))
    want = {
        (i, j, (a[i] ^ a[j]).bit_count(), (b[i] ^ b[j]).bit_count())
        for i in range(len(a))
        for j in range(i + 1, len(a))
        if max((a[i] ^ a[j]).bit_count(), (b[i] ^ b[j]).bit_count()) <= 8
    }
    assert got == want
    assert len(want) >= 20


def test_five_thousand_photos_take_well_under_a_few_seconds() -> None:
    rng = random.Random(5)
    items = [entry_item(n, info(rng.getrandbits(64), rng.getrandbits(64))) for n in range(5000)]
    items.append(entry_item(5000, items[1234].photo))  # type: ignore[arg-type]  # one planted copy
    started = time.perf_counter()
    found = run(items)
    assert time.perf_counter() - started < 3.0
    assert set(found) == {"k1234", "k5000"}


def test_rule_registration() -> None:
    from milsetctl.rules import REGISTRY

    rule_ = REGISTRY["duplicate-image"]
    assert (rule_.severity, rule_.scope) == ("review", "contest")
    assert rule_.uses == ("analysis.duplicate_max_distance",)


def test_synthetic_photos_hash_apart() -> None:
    # guards the fixture: two seeds must give pictures far apart in both hashes
    from milsetctl.hashing import dhash_hex, distance, phash_hex

    x, y = photo_pixels((800, 600), 11), photo_pixels((800, 600), 12)
    assert distance(phash_hex(x), phash_hex(y)) > 16 and distance(dhash_hex(x), dhash_hex(y)) > 16
