"""Photo-file rules (unreadable, format, extension-mismatch, file-size, min-width, camera-origin, edited).

Each test writes a real file, probes it the way `validate` does and runs the registered rule on the probe.
"""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import pytest
from conftest import make_jpeg, make_png, photo_pixels, probe_of, settings_with
from PIL import Image

from milsetctl.probe import Probe
from milsetctl.rules import REGISTRY, load_rules
from milsetctl.settings import Settings, defaults

load_rules()

FILE_RULES = ("unreadable", "format", "extension-mismatch", "file-size", "min-width", "camera-origin", "edited")
CAMERA = {"make": "Canon", "model": "Canon EOS R6", "datetime_original": "2022:07:01 22:10:00"}


def messages(rule_id: str, probe: Probe, settings: Settings | None = None) -> list[str]:
    rule = REGISTRY[rule_id]
    assert rule.scope == "photo"
    out = []
    for emit in rule.check(probe, settings or defaults()):
        out.append(emit if isinstance(emit, str) else emit[0])
    return out


def fired(probe: Probe, settings: Settings | None = None) -> dict[str, list[str]]:
    """Every file rule that has something to say about this probe."""
    found = {rule_id: messages(rule_id, probe, settings) for rule_id in FILE_RULES}
    return {k: v for k, v in found.items() if v}


@pytest.fixture
def good_jpeg(tmp_path: Path) -> Path:
    return make_jpeg(tmp_path / "good.jpg", exif=CAMERA)


def test_a_good_camera_jpeg_passes_every_file_rule(good_jpeg: Path) -> None:
    probe = probe_of(good_jpeg)
    assert probe.readable
    assert (probe.info.format, probe.info.width, probe.info.height) == ("JPEG", 2400, 1600)
    assert (probe.info.make, probe.info.model) == ("Canon", "Canon EOS R6")
    assert probe.info.datetime_original == "2022:07:01 22:10:00"
    assert fired(probe) == {}


def test_a_good_png_passes_but_for_camera_origin(tmp_path: Path) -> None:
    probe = probe_of(make_png(tmp_path / "good.png", size=(2000, 300)))
    assert probe.readable
    assert fired(probe) == {"camera-origin": ["no camera make or model in the metadata"]}


# --- unreadable ----------------------------------------------------------------------------------------------------


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.jpg"
    path.write_bytes(b"")
    probe = probe_of(path)
    result = fired(probe)
    assert list(result) == ["unreadable"]
    assert "empty" in result["unreadable"][0]


def test_truncated_jpeg(tmp_path: Path, good_jpeg: Path) -> None:
    data = good_jpeg.read_bytes()
    path = tmp_path / "cut.jpg"
    path.write_bytes(data[: int(len(data) * 0.6)])
    probe = probe_of(path)
    assert probe.info.format == "JPEG"
    assert (probe.info.width, probe.info.height) == (2400, 1600)  # the header survived
    assert not probe.readable
    result = fired(probe)
    assert list(result) == ["unreadable"]  # one problem, one finding: no format or camera noise
    assert "truncated" in result["unreadable"][0]


def test_truncated_progressive_jpeg(tmp_path: Path) -> None:
    path = tmp_path / "progressive.jpg"
    photo_pixels((2400, 1600)).save(path, "JPEG", quality=85, progressive=True)
    assert probe_of(path).readable
    path.write_bytes(path.read_bytes()[: int(path.stat().st_size * 0.6)])
    assert list(fired(probe_of(path))) == ["unreadable"]


def test_truncated_png(tmp_path: Path) -> None:
    path = make_png(tmp_path / "cut.png", size=(2000, 600))
    path.write_bytes(path.read_bytes()[: int(path.stat().st_size * 0.6)])
    result = fired(probe_of(path))
    assert list(result) == ["unreadable"]


def test_garbage_named_jpg(tmp_path: Path) -> None:
    path = tmp_path / "photo.jpg"
    path.write_bytes(bytes((i * 37 + 11) % 251 + 3 for i in range(20000)))  # no magic number, not text
    probe = probe_of(path)
    assert probe.info.format is None
    result = fired(probe)
    assert list(result) == ["unreadable"]
    assert "not an image" in result["unreadable"][0]


def _patch_png_size(path: Path, width: int, height: int) -> None:
    """Rewrite the IHDR chunk's width and height (and its CRC) without touching the pixel data."""
    data = bytearray(path.read_bytes())
    assert data[12:16] == b"IHDR"
    data[16:24] = struct.pack(">II", width, height)
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(data[12:29])))
    path.write_bytes(bytes(data))


def test_decompression_bomb_png_header(tmp_path: Path) -> None:
    path = make_png(tmp_path / "bomb.png", size=(64, 64))
    _patch_png_size(path, 100_000, 100_000)
    probe = probe_of(path)
    assert (probe.info.width, probe.info.height) == (100_000, 100_000)
    assert probe.image is None  # never decoded
    result = fired(probe)
    assert "unreadable" in result
    assert "decompression bomb" in result["unreadable"][0]
    assert "format" not in result and "camera-origin" not in result


def test_decompression_bomb_from_the_contest_limit(good_jpeg: Path) -> None:
    settings = settings_with(photo={"max_megapixels": 2})
    max_pixels = int(float(settings.photo["max_megapixels"]) * 1_000_000)  # as validate computes it
    probe = probe_of(good_jpeg, max_pixels=max_pixels)
    result = fired(probe, settings)
    assert "unreadable" in result
    assert "2400x1600" in result["unreadable"][0]
    assert probe_of(good_jpeg, max_pixels=int(120 * 1_000_000)).readable


# --- format and extension-mismatch ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "save_as", "named"),
    [("photo.webp", "WEBP", "WebP"), ("photo.gif", "GIF", "GIF"), ("photo.tif", "TIFF", "TIFF"),
     ("photo.bmp", "BMP", "BMP")],
)
def test_other_formats_are_named(tmp_path: Path, name: str, save_as: str, named: str) -> None:
    path = tmp_path / name
    image = photo_pixels((2000, 400))
    if save_as == "GIF":
        image = image.quantize(64, method=Image.Quantize.FASTOCTREE, dither=Image.Dither.NONE)
    image.save(path, save_as)
    probe = probe_of(path)
    assert probe.info.format == save_as
    result = fired(probe)
    assert "unreadable" not in result
    assert "extension-mismatch" not in result
    (message,) = result["format"]
    assert named in message
    assert "JPEG or PNG" in message


def _fake_heic(path: Path) -> Path:
    path.write_bytes(b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + b"\x00" * 4000)
    return path


def test_heic_is_named_even_without_a_decoder(tmp_path: Path) -> None:
    probe = probe_of(_fake_heic(tmp_path / "IMG_0001.HEIC"))
    assert probe.info.format == "HEIC"
    result = fired(probe)
    assert list(result) == ["format"]  # not also "unreadable": one problem, one finding
    assert "HEIC" in result["format"][0]


def test_heic_renamed_to_jpg(tmp_path: Path) -> None:
    result = fired(probe_of(_fake_heic(tmp_path / "IMG_0001.jpg")))
    assert set(result) == {"format", "extension-mismatch"}
    assert "HEIC" in result["format"][0]
    assert result["extension-mismatch"] == ["named .jpg but the content is HEIC"]


def test_text_file_named_jpg(tmp_path: Path) -> None:
    path = tmp_path / "photo.jpg"
    path.write_text("<html><body>404 Not Found</body></html>\n", encoding="utf-8")
    result = fired(probe_of(path))
    assert list(result) == ["format"]
    assert "text" in result["format"][0]


@pytest.mark.parametrize("name", ["entry.pdf", "entry.jpg"])
def test_pdf_is_named(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_bytes(b"%PDF-1.4\n1 0 obj <<>> endobj\n" + bytes(range(256)) * 4)
    result = fired(probe_of(path))
    assert "unreadable" not in result
    assert "PDF" in result["format"][0]


def test_truncated_webp_is_a_format_problem_only(tmp_path: Path) -> None:
    path = tmp_path / "photo.webp"
    photo_pixels((2000, 400)).save(path, "WEBP")
    path.write_bytes(path.read_bytes()[:2000])
    result = fired(probe_of(path))
    assert "format" in result
    assert "unreadable" not in result


def test_png_named_jpg(tmp_path: Path) -> None:
    probe = probe_of(make_png(tmp_path / "photo.jpg", size=(2000, 300), exif=CAMERA))
    assert probe.info.format == "PNG"
    result = fired(probe)
    assert result == {"extension-mismatch": ["named .jpg but the content is PNG"]}
    assert REGISTRY["extension-mismatch"].severity == "info"


def test_jpeg_with_unusual_but_right_extensions(tmp_path: Path) -> None:
    for name in ("a.JPG", "b.jpeg", "c.JPEG", "d.jfif"):
        assert messages("extension-mismatch", probe_of(make_jpeg(tmp_path / name, size=(64, 48)))) == []


def test_jpeg_named_png(tmp_path: Path) -> None:
    probe = probe_of(make_jpeg(tmp_path / "photo.png", size=(2400, 1600), exif=CAMERA))
    assert messages("extension-mismatch", probe) == ["named .png but the content is JPEG"]
    assert messages("format", probe) == []


def test_format_follows_the_contest_settings(tmp_path: Path) -> None:
    path = tmp_path / "photo.webp"
    photo_pixels((640, 480)).save(path, "WEBP")
    probe = probe_of(path)
    assert messages("format", probe, settings_with(photo={"formats": ["JPEG", "PNG", "WebP"]})) == []
    only_jpeg = settings_with(photo={"formats": ["JPEG"]})
    png = probe_of(make_png(tmp_path / "p.png", size=(640, 480)))
    assert messages("format", png, only_jpeg) == ["the file is PNG; the contest accepts JPEG only"]


# --- file-size -----------------------------------------------------------------------------------------------------


def test_file_size_limit_is_inclusive(good_jpeg: Path) -> None:
    size = good_jpeg.stat().st_size
    probe = probe_of(good_jpeg)
    assert messages("file-size", probe, settings_with(photo={"max_bytes": size})) == []
    (message,) = messages("file-size", probe, settings_with(photo={"max_bytes": size - 1}))
    assert "MB" in message and "limit" in message


def test_file_over_10_mib(tmp_path: Path, good_jpeg: Path) -> None:
    """A real file just over 10 × 1024 × 1024 bytes (a JPEG followed by padding, still a valid JPEG)."""
    path = tmp_path / "big.jpg"
    data = good_jpeg.read_bytes()
    path.write_bytes(data + b"\x00" * (10 * 1024 * 1024 + 1 - len(data)))
    assert path.stat().st_size == 10 * 1024 * 1024 + 1
    probe = probe_of(path)
    assert probe.readable
    result = fired(probe)
    assert list(result) == ["file-size"]
    assert "10.0 MB, over the 10 MB limit" in result["file-size"][0]
    path.write_bytes(data + b"\x00" * (10 * 1024 * 1024 - len(data)))
    assert fired(probe_of(path)) == {}


# --- min-width -----------------------------------------------------------------------------------------------------


def test_min_width_boundary(tmp_path: Path) -> None:
    narrow = probe_of(make_jpeg(tmp_path / "narrow.jpg", size=(1999, 1500), exif=CAMERA))
    exact = probe_of(make_jpeg(tmp_path / "exact.jpg", size=(2000, 1500), exif=CAMERA))
    (message,) = messages("min-width", narrow)
    assert "1999" in message and "2000" in message
    assert "rotated" not in message
    assert messages("min-width", exact) == []


def test_min_width_counts_the_displayed_width(tmp_path: Path) -> None:
    # stored landscape 2400x1800, but the camera says "rotate 90": displayed 1800 wide
    rotated = probe_of(make_jpeg(tmp_path / "rotated.jpg", size=(2400, 1800), exif=CAMERA, orientation=6))
    assert (rotated.info.display_width, rotated.info.display_height) == (1800, 2400)
    assert rotated.image is not None and rotated.image.height > rotated.image.width  # the decode is upright
    (message,) = messages("min-width", rotated)
    assert "1800" in message
    assert "stored 2400x1800" in message

    # stored portrait 1800x2400 with the same flag: displayed 2400 wide, fine
    upright = probe_of(make_jpeg(tmp_path / "upright.jpg", size=(1800, 2400), exif=CAMERA, orientation=6))
    assert upright.info.display_width == 2400
    assert messages("min-width", upright) == []

    # the same stored portrait without the flag is displayed 1800 wide
    plain = probe_of(make_jpeg(tmp_path / "plain.jpg", size=(1800, 2400), exif=CAMERA))
    assert len(messages("min-width", plain)) == 1


@pytest.mark.parametrize(("orientation", "fires"), [(1, False), (3, False), (5, True), (8, True)])
def test_min_width_other_orientations(tmp_path: Path, orientation: int, fires: bool) -> None:
    probe = probe_of(make_jpeg(tmp_path / "o.jpg", size=(2400, 1800), exif=CAMERA, orientation=orientation))
    assert bool(messages("min-width", probe)) is fires


def test_min_width_follows_settings(tmp_path: Path) -> None:
    probe = probe_of(make_jpeg(tmp_path / "a.jpg", size=(1600, 1200), exif=CAMERA))
    assert messages("min-width", probe, settings_with(photo={"min_width": 1600})) == []
    assert len(messages("min-width", probe)) == 1


# --- camera-origin -------------------------------------------------------------------------------------------------


def test_camera_origin(tmp_path: Path) -> None:
    with_camera = probe_of(make_jpeg(tmp_path / "cam.jpg", exif=CAMERA))
    assert messages("camera-origin", with_camera) == []

    stripped = probe_of(make_jpeg(tmp_path / "stripped.jpg", exif={}))
    assert stripped.info.make is None
    assert messages("camera-origin", stripped) == ["no camera make or model in the metadata"]

    make_only = probe_of(make_jpeg(tmp_path / "make.jpg", exif={"make": "Canon"}))
    assert messages("camera-origin", make_only) == ["no camera model in the metadata"]

    model_only = probe_of(make_jpeg(tmp_path / "model.jpg", exif={"model": "Canon EOS R6"}))
    assert messages("camera-origin", model_only) == ["no camera make in the metadata"]

    blank = probe_of(make_jpeg(tmp_path / "blank.jpg", exif={"make": "  ", "model": ""}))
    assert messages("camera-origin", blank) == ["no camera make or model in the metadata"]


def test_camera_origin_on_a_png_screenshot(tmp_path: Path) -> None:
    probe = probe_of(make_png(tmp_path / "screenshot.png", size=(1280, 720)))
    assert messages("camera-origin", probe) == ["no camera make or model in the metadata"]
    assert REGISTRY["camera-origin"].severity == "review"


# --- edited --------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "software",
    ["Adobe Photoshop Lightroom Classic 11.4", "Adobe Photoshop Lightroom Classic 11.4 (Windows)", "GIMP 2.10.30",
     "Snapseed 2.0", "Capture One 22 Windows", "Digital Photo Professional", "darktable 4.0.0", "Meitu 9.4"],
)
def test_edited_names_the_editor(tmp_path: Path, software: str) -> None:
    probe = probe_of(make_jpeg(tmp_path / "e.jpg", size=(640, 480), exif=CAMERA, software=software))
    assert probe.info.software == software
    assert messages("edited", probe) == [f"processed with {software}"]
    assert REGISTRY["edited"].severity == "info"


@pytest.mark.parametrize(
    "software",
    ["Ver.1.00", "Firmware Version 1.1.0", "NIKON D750 Ver.1.10", "HDR+ 1.0.419577839zd", "15.5",
     "ILCE-7M3 v3.01", "G991BXXU5CVF3", "MediaTek Camera Application"],
)
def test_camera_firmware_is_not_editing(tmp_path: Path, software: str) -> None:
    probe = probe_of(make_jpeg(tmp_path / "f.jpg", size=(640, 480), exif=CAMERA, software=software))
    assert probe.info.software == software
    assert messages("edited", probe) == []


def test_edited_from_xmp_creator_tool(tmp_path: Path) -> None:
    xmp = (
        b'<?xpacket begin="" id="W5M0MpCehiHzreSzNTczkc9d"?><x:xmpmeta xmlns:x="adobe:ns:meta/">'
        b'<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description rdf:about="" '
        b'xmlns:xmp="http://ns.adobe.com/xap/1.0/" xmp:CreatorTool="Adobe Photoshop 24.0 (Windows)"/>'
        b"</rdf:RDF></x:xmpmeta><?xpacket end=\"w\"?>"
    )
    path = tmp_path / "x.jpg"
    photo_pixels((640, 480)).save(path, "JPEG", exif=Image.Exif().tobytes(), xmp=xmp)
    probe = probe_of(path)
    assert probe.xmp is not None
    assert messages("edited", probe) == ["processed with Adobe Photoshop 24.0 (Windows)"]


# --- the registry's view of these rules ----------------------------------------------------------------------------


def test_file_rules_are_registered_with_spec_severities() -> None:
    expected = {"unreadable": "reject", "format": "reject", "extension-mismatch": "info", "file-size": "reject",
                "min-width": "reject", "camera-origin": "review", "edited": "info", "decode-warning": "info"}
    for rule_id, severity in expected.items():
        rule = REGISTRY[rule_id]
        assert rule.scope == "photo"
        assert rule.severity == severity
        assert rule.summary
