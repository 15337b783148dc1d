"""JPEG integrity, both ways: judged from what the decoder reports and how much of the picture decoded.

A file missing only its end-of-image marker (or a byte of padding before it) shows whole and stays eligible
with a note; a file cut inside its scan, or whose compressed data is zeroed, randomised or cut inside a
restart interval, is `unreadable`, and the message says what is wrong and roughly how much is lost.
Every fixture is made here with Pillow and damaged by hand.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from conftest import exif_block, photo_pixels, probe_of
from PIL import Image, ImageDraw

from milsetctl.probe import Probe
from milsetctl.rules import REGISTRY, load_rules
from milsetctl.settings import defaults

load_rules()
CAMERA = {"make": "Canon", "model": "Canon EOS 80D", "datetime_original": "2022:06:01 10:00:00"}
SIZE = (2400, 1600)


def fired(probe: Probe) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for rule_id in ("unreadable", "decode-warning", "format", "camera-origin", "min-width"):
        found = [e if isinstance(e, str) else e[0] for e in REGISTRY[rule_id].check(probe, defaults())]
        if found:
            out[rule_id] = found
    return out


def jpeg_bytes(tmp_path: Path, name: str, **options) -> bytes:
    path = tmp_path / name
    photo_pixels(SIZE, 5).save(path, "JPEG", quality=90, exif=exif_block(CAMERA).tobytes(), **options)
    return path.read_bytes()


def scan_start(data: bytes) -> int:
    """Offset just past the (last) SOS header: where compressed data begins."""
    sos = data.rfind(b"\xff\xda")
    return sos + 2 + int.from_bytes(data[sos + 2 : sos + 4], "big")


def write(tmp_path: Path, name: str, data: bytes) -> Probe:
    path = tmp_path / name
    path.write_bytes(data)
    return probe_of(path)


VARIANTS = {"baseline": {}, "progressive": {"progressive": True}, "optimized": {"optimize": True}}


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_clean_jpeg_has_no_finding(tmp_path: Path, variant: str) -> None:
    probe = write(tmp_path, "ok.jpg", jpeg_bytes(tmp_path, "src.jpg", **VARIANTS[variant]))
    assert probe.readable
    assert fired(probe) == {}
    assert probe.image is not None and max(probe.image.size) >= 800


@pytest.mark.parametrize("variant", sorted(VARIANTS))
@pytest.mark.parametrize("cut", [1, 2])
def test_missing_end_marker_is_eligible_with_a_note(tmp_path: Path, variant: str, cut: int) -> None:
    data = jpeg_bytes(tmp_path, "src.jpg", **VARIANTS[variant])
    assert data.endswith(b"\xff\xd9")
    probe = write(tmp_path, "no-eoi.jpg", data[:-cut])
    assert probe.readable, probe.info.error
    result = fired(probe)
    assert list(result) == ["decode-warning"]
    assert "end-of-image marker" in result["decode-warning"][0]


@pytest.mark.parametrize("padding", [b"\x00", b"\x00" * 20, b"\xff" * 50])
def test_padding_before_the_end_marker_is_harmless(tmp_path: Path, padding: bytes) -> None:
    data = jpeg_bytes(tmp_path, "src.jpg")
    probe = write(tmp_path, "padded.jpg", data[:-2] + padding + data[-2:])
    assert probe.readable
    result = fired(probe)
    assert set(result) <= {"decode-warning"}
    assert all("extraneous" in m for m in result.get("decode-warning", []))


@pytest.mark.parametrize("variant", sorted(VARIANTS))
@pytest.mark.parametrize("keep", [0.3, 0.6, 0.9])
def test_truncated_inside_the_scan_is_unreadable(tmp_path: Path, variant: str, keep: float) -> None:
    data = jpeg_bytes(tmp_path, "src.jpg", **VARIANTS[variant])
    start = scan_start(data) if variant != "progressive" else data.find(b"\xff\xda")
    cut = start + int((len(data) - start) * keep)
    probe = write(tmp_path, "cut.jpg", data[:cut])
    assert not probe.readable
    result = fired(probe)
    assert list(result) == ["unreadable"]
    assert "truncated" in result["unreadable"][0]


def test_truncation_says_how_much_is_missing(tmp_path: Path) -> None:
    data = jpeg_bytes(tmp_path, "src.jpg")
    start = scan_start(data)
    probe = write(tmp_path, "cut.jpg", data[: start + (len(data) - start) * 6 // 10])
    message = fired(probe)["unreadable"][0]
    percent = int(message.split("the bottom ")[1].split("%")[0])
    assert 30 <= percent <= 50, message  # 60% of the data kept: roughly 40% of the rows lost


@pytest.mark.parametrize("variant", ["baseline", "optimized"])
@pytest.mark.parametrize("fill", ["zeros", "random"])
def test_damaged_compressed_data_is_unreadable(tmp_path: Path, variant: str, fill: str) -> None:
    data = bytearray(jpeg_bytes(tmp_path, "src.jpg", **VARIANTS[variant]))
    start = scan_start(data)
    middle = start + (len(data) - start) // 2
    size = 16 * 1024
    if fill == "zeros":
        block = bytes(size)
    else:
        rng = random.Random(7)
        block = bytes(rng.randrange(256) for _ in range(size)).replace(b"\xff", b"\xfe")  # no fake markers
    data[middle : middle + size] = block
    probe = write(tmp_path, "damaged.jpg", bytes(data))
    result = fired(probe)
    assert list(result) == ["unreadable"], result
    message = result["unreadable"][0]
    assert message.startswith("corrupt JPEG data")
    if fill == "zeros":
        assert "16 KiB of the compressed data" in message and "0x00" in message


def test_damaged_progressive_scan_is_unreadable(tmp_path: Path) -> None:
    data = bytearray(jpeg_bytes(tmp_path, "src.jpg", progressive=True))
    first = data.find(b"\xff\xda")
    start = first + 2 + int.from_bytes(data[first + 2 : first + 4], "big")  # the DC scan
    end = data.find(b"\xff\xda", start)
    rng = random.Random(3)
    middle = (start + end) // 2
    data[middle : middle + 2048] = bytes(rng.randrange(255) for _ in range(2048))
    probe = write(tmp_path, "damaged.jpg", bytes(data))
    assert list(fired(probe)) == ["unreadable"]


def test_damaged_restart_interval_is_unreadable_and_localised(tmp_path: Path) -> None:
    data = bytearray(jpeg_bytes(tmp_path, "src.jpg", restart_marker_rows=1))
    start = scan_start(data)
    # damage the data between two restart markers in the middle of the picture
    rst = [i for i in range(start, len(data) - 1) if data[i] == 0xFF and 0xD0 <= data[i + 1] <= 0xD7]
    assert len(rst) > 50
    a, b = rst[len(rst) // 2], rst[len(rst) // 2 + 1]
    rng = random.Random(11)
    data[a + 10 : b - 10] = bytes(rng.randrange(255) for _ in range(b - a - 20))
    probe = write(tmp_path, "rst.jpg", bytes(data))
    result = fired(probe)
    assert list(result) == ["unreadable"]
    assert "corrupt JPEG data" in result["unreadable"][0]


def test_dark_sky_with_long_zero_runs_is_not_damage(tmp_path: Path) -> None:
    """Optimised Huffman tables code a flat black sky as runs of zero bytes: valid data, not a wipe."""
    sky = Image.new("RGB", SIZE, (0, 0, 0))
    ImageDraw.Draw(sky).ellipse((1100, 500, 1300, 700), fill=(235, 230, 200))
    path = tmp_path / "moon.jpg"
    sky.save(path, "JPEG", quality=90, optimize=True, exif=exif_block(CAMERA).tobytes())
    probe = probe_of(path)
    assert probe.readable
    assert fired(probe) == {}


def test_greyscale_and_cmyk_jpegs_decode(tmp_path: Path) -> None:
    grey = tmp_path / "grey.jpg"
    photo_pixels(SIZE, 1).convert("L").save(grey, "JPEG", exif=exif_block(CAMERA).tobytes())
    cmyk = tmp_path / "cmyk.jpg"
    photo_pixels(SIZE, 2).convert("CMYK").save(cmyk, "JPEG", exif=exif_block(CAMERA).tobytes())
    for path in (grey, cmyk):
        probe = probe_of(path)
        assert probe.readable, probe.info.error
        assert probe.image is not None and probe.image.mode == "RGB"
        assert fired(probe) == {}


def test_truncated_cmyk_jpeg_is_still_caught(tmp_path: Path) -> None:
    path = tmp_path / "cmyk.jpg"
    photo_pixels(SIZE, 2).convert("CMYK").save(path, "JPEG")
    path.write_bytes(path.read_bytes()[: path.stat().st_size * 6 // 10])
    assert "unreadable" in fired(probe_of(path))


def test_reduced_decode_keeps_the_analysis_size(tmp_path: Path) -> None:
    """DCT scaling as before: a 6000x4000 photo decodes at 1/4 (1500 px), rotated by EXIF orientation."""
    path = tmp_path / "big.jpg"
    photo_pixels((6000, 4000), 1).save(path, "JPEG", quality=80, exif=exif_block(CAMERA, orientation=6).tobytes())
    probe = probe_of(path)
    assert probe.image is not None
    assert probe.image.size == (1000, 1500)
    assert probe.scale == pytest.approx(4000 / 1000)
    assert (probe.info.display_width, probe.info.display_height) == (4000, 6000)


def scan_spans(data: bytes) -> list[tuple[int, int, int]]:
    """(start, end, Ah) of each scan's compressed data: from past its SOS header to the next marker that is no
    restart marker or stuffed byte; Ah > 0 for a progressive file's refinement scans."""
    spans = []
    at = data.find(b"\xff\xda")
    while at >= 0:
        start = at + 2 + int.from_bytes(data[at + 2 : at + 4], "big")
        end = start
        while True:
            end = data.index(b"\xff", end)
            if data[end + 1] not in (0x00, *range(0xD0, 0xD8)):
                break
            end += 2
        spans.append((start, end, data[start - 1] >> 4))
        at = data.find(b"\xff\xda", end)
    return spans


@pytest.mark.parametrize("where", [0.02, 0.5, 0.999])
@pytest.mark.parametrize("fill", ["zeros", "random bytes"])
@pytest.mark.parametrize("variant", ["baseline", "progressive", "restart markers"])
def test_damage_is_found_wherever_in_the_scan_it_sits(tmp_path: Path, where: float, fill: str, variant: str) -> None:
    """Issue 18: early, in the middle, or in the last rows; overwritten with zeros (a wiped sector) or with random
    bytes, markers and all (a bad transfer): libjpeg's "unsupported marker type" or "two SOF markers" from inside a
    scan is damage, not a harmless warning."""
    options = {"baseline": {}, "progressive": {"progressive": True},
               "restart markers": {"restart_marker_rows": 4}}[variant]
    data = bytearray(jpeg_bytes(tmp_path, "src.jpg", **options))
    # the longest scan that is no refinement scan (zeros in a progressive file's refinement scan clear correction
    # bits: under 0.1% of the pixels change, and libjpeg cannot tell them from real data)
    start, end, _ = max((span for span in scan_spans(bytes(data)) if span[2] == 0), key=lambda s: s[1] - s[0])
    size = 512
    at = min(start + int((end - start) * where), end - size)
    data[at : at + size] = bytes(size) if fill == "zeros" else random.Random(5).randbytes(size)
    result = fired(write(tmp_path, "damaged.jpg", bytes(data)))
    assert list(result) == ["unreadable"], (result, at - start, end - start)
    assert result["unreadable"][0].startswith(("corrupt JPEG data", "truncated", "cannot decode"))


def test_stray_bytes_before_a_marker_that_is_no_end_marker_are_damage(tmp_path: Path) -> None:
    """A few stray bytes before the end-of-image marker are padding; before a byte pair that is no marker at all
    (0xFF 0x3B inside the scan) they are overwritten data."""
    data = bytearray(jpeg_bytes(tmp_path, "src.jpg"))
    start, end, _ = scan_spans(bytes(data))[-1]
    middle = (start + end) // 2
    data[middle : middle + 15] = bytes(range(0x40, 0x4D)) + b"\xff\x3b"
    result = fired(write(tmp_path, "stray.jpg", bytes(data)))
    assert list(result) == ["unreadable"], result
