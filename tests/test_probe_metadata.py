"""Metadata where cameras and tools put it, read once into the probe, with no process-wide state changed.

EXIF in PNG: the eXIf chunk (before or after the image data) and ImageMagick's hex "Raw profile type exif" /
"APP1" in tEXt, zTXt or iTXt; ICC profiles over 1 MB (PNG iCCP, JPEG multi-segment APP2) and large text chunks
are no reason to reject; a zlib bomb in a text chunk is skipped, never inflated. Fixtures are built here.
"""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import pytest
from conftest import exif_block, make_jpeg, photo_pixels, probe_of
from PIL import Image, PngImagePlugin

from milsetctl.probe import Probe
from milsetctl.rules import REGISTRY, load_rules
from milsetctl.settings import defaults

load_rules()
CAMERA = {"make": "Canon", "model": "Canon EOS 80D", "datetime_original": "2022:06:14 19:31:49"}
SIZE = (2400, 1600)
PNG_SIZE = (2400, 400)  # wide enough to pass min-width unrotated, short enough to decode fast


def fired(probe: Probe) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for rule_id in ("unreadable", "decode-warning", "min-width", "camera-origin", "software-created"):
        found = [e if isinstance(e, str) else e[0] for e in REGISTRY[rule_id].check(probe, defaults())]
        if found:
            out[rule_id] = found
    return out


def chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def png_with(tmp_path: Path, chunks: list[bytes], after_data: bool = False, size: tuple[int, int] = PNG_SIZE) -> Path:
    """A photo-like PNG with extra chunks inserted before the first IDAT (or before IEND)."""
    buffer = io.BytesIO()
    photo_pixels(size, 2).save(buffer, "PNG", compress_level=1)
    data = buffer.getvalue()
    at = data.rfind(b"IEND") - 4 if after_data else data.find(b"IDAT") - 4
    path = tmp_path / "photo.png"
    path.write_bytes(data[:at] + b"".join(chunks) + data[at:])
    return path


def raw_profile(name: str, payload: bytes) -> str:
    """ImageMagick's layout: newline, profile name, length right-aligned in 8 columns, hex in 72-column lines."""
    hexed = payload.hex()
    lines = [hexed[i : i + 72] for i in range(0, len(hexed), 72)]
    return f"\n{name}\n{len(payload):8d}\n" + "\n".join(lines) + "\n"


def text_chunk(kind: str, key: str, text: str) -> bytes:
    if kind == "tEXt":
        return chunk(b"tEXt", key.encode("latin-1") + b"\x00" + text.encode("latin-1"))
    if kind == "zTXt":
        return chunk(b"zTXt", key.encode("latin-1") + b"\x00\x00" + zlib.compress(text.encode("latin-1")))
    compressed = kind == "iTXt-z"
    body = text.encode("utf-8")
    return chunk(b"iTXt", key.encode("latin-1") + b"\x00" + (b"\x01\x00" if compressed else b"\x00\x00")
                 + b"\x00\x00" + (zlib.compress(body) if compressed else body))


def camera_exif(orientation: int = 6) -> bytes:
    return exif_block(CAMERA, orientation=orientation).tobytes()  # starts with "Exif\0\0"


@pytest.mark.parametrize("kind", ["tEXt", "zTXt", "iTXt", "iTXt-z"])
@pytest.mark.parametrize("name", ["exif", "APP1"])
@pytest.mark.parametrize("header", ["single", "doubled", "bare"])
def test_imagemagick_raw_profile_exif_is_read(tmp_path: Path, kind: str, name: str, header: str) -> None:
    tiff = camera_exif()[6:]
    payload = {"single": b"Exif\x00\x00" + tiff, "doubled": b"Exif\x00\x00" * 2 + tiff, "bare": tiff}[header]
    key = f"Raw profile type {name}" if kind != "tEXt" else f"Raw profile type {name.lower()}"
    path = png_with(tmp_path, [text_chunk(kind, key, raw_profile(name.lower(), payload))])
    probe = probe_of(path)
    assert (probe.info.make, probe.info.model, probe.info.orientation) == ("Canon", "Canon EOS 80D", 6)
    assert probe.info.datetime_original == "2022:06:14 19:31:49"
    assert (probe.info.display_width, probe.info.display_height) == (400, 2400)
    result = fired(probe)
    assert list(result) == ["min-width"]  # displayed 400 wide (stored 2400 x 400, rotated); a camera is named
    assert key not in probe.text_chunks  # decoded, not left as hex text for other rules to search


@pytest.mark.parametrize("after_data", [False, True])
def test_exif_chunk_before_or_after_the_image_data(tmp_path: Path, after_data: bool) -> None:
    path = png_with(tmp_path, [chunk(b"eXIf", camera_exif(orientation=1)[6:])], after_data=after_data)
    probe = probe_of(path)
    assert (probe.info.make, probe.info.model, probe.info.orientation) == ("Canon", "Canon EOS 80D", 1)
    assert probe.exif_source == "eXIf chunk"
    assert fired(probe) == {}


def test_exif_chunk_wins_over_a_raw_profile(tmp_path: Path) -> None:
    other = exif_block({"make": "Nikon", "model": "D7500"}).tobytes()
    path = png_with(tmp_path, [text_chunk("zTXt", "Raw profile type exif", raw_profile("exif", other)),
                               chunk(b"eXIf", camera_exif(orientation=1)[6:])])
    assert probe_of(path).info.make == "Canon"


def test_png_with_an_icc_profile_over_1_mb_is_readable(tmp_path: Path) -> None:
    profile = bytes(range(256)) * 6500  # 1.6 MB, compressible like a LUT-based profile
    body = b"ICC Profile\x00\x00" + zlib.compress(profile)
    path = png_with(tmp_path, [chunk(b"iCCP", body), chunk(b"eXIf", camera_exif(orientation=1)[6:])])
    from PIL import ImageFile

    with pytest.MonkeyPatch.context() as patch, pytest.raises(ValueError, match="MAX_TEXT_CHUNK"):
        patch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", False)
        Image.open(path)  # what Pillow alone does with it
    probe = probe_of(path)
    assert probe.readable, probe.info.error
    assert fired(probe) == {}


def test_jpeg_with_an_icc_profile_over_1_mb_is_readable(tmp_path: Path) -> None:
    path = tmp_path / "icc.jpg"
    profile = bytes(range(256)) * 6500
    photo_pixels(SIZE, 3).save(path, "JPEG", icc_profile=profile, exif=camera_exif(orientation=1))
    assert path.read_bytes().count(b"ICC_PROFILE\x00") > 20  # split over many APP2 segments
    probe = probe_of(path)
    assert probe.readable, probe.info.error
    assert fired(probe) == {}


def test_large_text_chunk_is_read_and_a_zlib_bomb_skipped(tmp_path: Path) -> None:
    prose = " ".join(f"line {i} of a long processing history" for i in range(60000))  # ~2.4 MB
    bomb = b"big\x00\x00" + zlib.compress(b"\x00" * (8 * 1024 * 1024), 9)
    path = png_with(tmp_path, [text_chunk("zTXt", "history", prose), chunk(b"zTXt", bomb),
                               chunk(b"eXIf", camera_exif(orientation=1)[6:])])
    probe = probe_of(path)
    assert probe.readable, probe.info.error
    assert probe.text_chunks["history"] == prose
    assert "big" not in probe.text_chunks
    result = fired(probe)
    assert list(result) == ["decode-warning"]
    assert "decompression bomb" in result["decode-warning"][0]


def test_xmp_in_png_is_read_wherever_it_sits(tmp_path: Path) -> None:
    xmp = '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF><rdf:Description xmp:CreatorTool="Blender 4.1"/>' \
          "</rdf:RDF></x:xmpmeta>"
    path = png_with(tmp_path, [text_chunk("iTXt-z", "XML:com.adobe.xmp", xmp)], after_data=True)
    probe = probe_of(path)
    assert probe.xmp == xmp
    assert probe.creator_tools == ["Blender 4.1"]
    assert "names a 3D renderer" in fired(probe)["software-created"][0]


def test_probing_leaves_pillow_settings_alone(tmp_path: Path) -> None:
    before = (Image.MAX_IMAGE_PIXELS, PngImagePlugin.MAX_TEXT_CHUNK, PngImagePlugin.MAX_TEXT_MEMORY)
    from PIL import ImageFile

    truncated = ImageFile.LOAD_TRUNCATED_IMAGES
    profile = bytes(range(256)) * 6500
    png = png_with(tmp_path, [chunk(b"iCCP", b"p\x00\x00" + zlib.compress(profile))])
    jpeg = make_jpeg(tmp_path / "a.jpg", exif=CAMERA)
    cut = tmp_path / "cut.jpg"
    cut.write_bytes(jpeg.read_bytes()[:-2])
    for path in (png, jpeg, cut):
        probe_of(path)
    assert before == (Image.MAX_IMAGE_PIXELS, PngImagePlugin.MAX_TEXT_CHUNK, PngImagePlugin.MAX_TEXT_MEMORY)
    assert ImageFile.LOAD_TRUNCATED_IMAGES is truncated


def test_bomb_limit_comes_from_the_header_not_a_global(tmp_path: Path) -> None:
    path = make_jpeg(tmp_path / "a.jpg", exif=CAMERA)
    probe = probe_of(path, max_pixels=1_000_000)
    assert probe.info.error is not None and probe.info.error.startswith("decompression bomb: 2400x1600")
    assert Image.MAX_IMAGE_PIXELS is not None


def test_exif_is_parsed_once_by_one_reader(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """JPEG/PNG EXIF comes from Pillow's parser in the probe; no rule opens the file again."""
    import exifread

    def boom(*args, **kwargs):
        raise AssertionError("exifread must not parse a JPEG or PNG")

    monkeypatch.setattr(exifread, "process_file", boom)
    block = exif_block(CAMERA)
    block.get_ifd(0x8769)[0x9286] = b"ASCII\x00\x00\x00Steps: 20, Sampler: Euler a, CFG scale: 7, Seed: 1"
    path = tmp_path / "a.jpg"
    photo_pixels(SIZE, 1).save(path, "JPEG", exif=block.tobytes())
    probe = probe_of(path)
    assert probe.info.make == "Canon"
    monkeypatch.setattr(Image, "open", boom)
    assert "EXIF UserComment holds Stable Diffusion" in fired(probe)["software-created"][0]


def test_a_library_switching_pillow_to_tolerant_changes_nothing(tmp_path: Path, monkeypatch) -> None:
    """WeasyPrint sets ImageFile.LOAD_TRUNCATED_IMAGES = True on import: a cut PNG is still unreadable."""
    from PIL import ImageFile

    monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", True)
    path = png_with(tmp_path, [])
    path.write_bytes(path.read_bytes()[: path.stat().st_size * 6 // 10])
    probe = probe_of(path)
    assert "unreadable" in fired(probe)
    assert ImageFile.LOAD_TRUNCATED_IMAGES is True  # and the flag is left as the library set it
