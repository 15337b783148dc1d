"""Validate writes the certificates' photo (issue 18): a print-size preview beside each thumbnail, made from the
decode validate already holds, which a certificate batch embeds instead of decoding the camera file again. It must
be the picture the certificates would have made themselves: same size, upright, the same pixels within JPEG loss."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from conftest import make_jpeg
from PIL import Image, ImageChops, ImageStat

from milsetctl.certificates.model import Certificate
from milsetctl.certificates.render import THUMB_PX, thumbnail
from milsetctl.probe import PRINT_SIZE, print_preview_name, probe_file, write_thumbnail


def _photo(path: Path, size: tuple[int, int], orientation: int = 1, seed: int = 0) -> Path:
    return make_jpeg(path, size, exif={"make": "Canon", "model": f"Canon Model {seed}"}, orientation=orientation,
                     quality=90, seed=seed)


def _certificate(photo: Path) -> Certificate:
    sha = hashlib.sha256(photo.read_bytes()).hexdigest()
    return Certificate("participation", "E0001", "Zhang Wei", "School", "Participation", "Moon", "Contest", "2022",
                       entry_id="E0001", photo=photo, sha256=sha)


@pytest.mark.parametrize(("size", "orientation", "shown"), [((4000, 3000), 1, (640, 480)),
                                                            ((3000, 4000), 1, (480, 640)),
                                                            ((4000, 3000), 6, (480, 640))])
def test_the_preview_is_the_certificates_own_picture(tmp_path: Path, size: tuple[int, int], orientation: int,
                                                     shown: tuple[int, int]) -> None:
    assert PRINT_SIZE == THUMB_PX  # one size, or the certificates would make their own again
    photo = _photo(tmp_path / "p.jpg", size, orientation)
    thumbs = tmp_path / "thumbs"
    probe = probe_file(photo, "p.jpg", 60_000_000)
    assert write_thumbnail(probe, thumbs) is not None
    preview = thumbs / print_preview_name(probe.info.sha256)
    with Image.open(preview) as im:
        assert im.format == "JPEG" and im.size == shown and not im.info.get("exif")

    cert = _certificate(photo)
    used = thumbnail(tmp_path / "cert-cache", cert, thumbs)
    assert used == preview  # embedded as it is: the camera file is not decoded
    assert not (tmp_path / "cert-cache").exists()
    own = thumbnail(tmp_path / "cert-cache", cert)  # what a batch without validate's previews makes
    assert own is not None and own.parent == tmp_path / "cert-cache"
    with Image.open(preview) as a, Image.open(own) as b:
        assert a.size == b.size
        diff = ImageStat.Stat(ImageChops.difference(a.convert("RGB"), b.convert("RGB"))).mean
        assert max(diff) < 3, diff  # the same recipe; only the decoders' rounding and JPEG loss differ


def test_no_preview_for_a_small_photo_and_the_certificates_make_their_own(tmp_path: Path) -> None:
    photo = _photo(tmp_path / "small.jpg", (600, 400))
    thumbs = tmp_path / "thumbs"
    probe = probe_file(photo, "small.jpg", 60_000_000)
    write_thumbnail(probe, thumbs)
    assert not (thumbs / print_preview_name(probe.info.sha256)).exists()
    made = thumbnail(tmp_path / "cert-cache", _certificate(photo), thumbs)
    assert made is not None and made.parent == tmp_path / "cert-cache"
    with Image.open(made) as im:
        assert im.size == (600, 400)


def test_a_participation_batch_embeds_validates_previews(tmp_path: Path) -> None:
    """Through the CLI: validate, then `certificates participation`: each certificate shows its photo at 640 px, the
    very JPEG validate wrote (the camera files are not decoded by the batch: its own thumbnail cache stays empty)."""
    import csv
    import json

    from pypdf import PdfReader
    from typer.testing import CliRunner

    from milsetctl.cli import app

    runner = CliRunner()
    src = tmp_path / "submissions"
    src.mkdir()
    header = ["contestant_id", "name", "school", "grade", "province", "file", "title", "description", "submitted_at"]
    rows = []
    for i in range(3):
        _photo(src / f"p{i}.jpg", (1800, 2400) if i == 1 else (2400, 1600), 6 if i == 1 else 1, seed=i + 1)
        rows.append([f"C00{i}", f"Zhang Wei{i}", f"Huiwen Academy {i}", "9", "北京市", f"p{i}.jpg", f"Moon {i}",
                     "The moon rising over the hills.", "2022-07-05 09:30"])
    with open(src / "entries.csv", "w", newline="", encoding="utf-8-sig") as f:
        csv.writer(f).writerows([header, *rows])
    ws = tmp_path / "ws"
    done = runner.invoke(app, ["validate", str(src), "-w", str(ws), "--json", "--jobs", "1"])
    assert done.exit_code == 0, done.output
    entries = json.loads(done.stdout)["entries"]
    assert {e["status"] for e in entries} == {"eligible"}, [e["findings"] for e in entries]
    done = runner.invoke(app, ["certificates", "participation", "-w", str(ws)])
    assert done.exit_code == 0, done.output
    assert not list((ws / "cache" / "certificate-thumbs").glob("*.jpg"))
    pdfs = sorted(p for p in (ws / "certificates").rglob("*.pdf") if "participation" in p.parts
                  and not p.name.startswith("participation"))
    assert len(pdfs) == 3, pdfs
    previews: list[Image.Image] = [Image.open(p).convert("RGB") for p in (ws / "cache" / "thumbs").glob("*-640.jpg")]
    assert len(previews) == 3
    matched = []
    for pdf in pdfs:
        pictures = [im.image for im in PdfReader(str(pdf)).pages[0].images
                    if im.image is not None and max(im.image.size) == 640]
        assert len(pictures) == 1, pdf
        assert pictures[0] is not None
        shown = pictures[0].convert("RGB")
        # WeasyPrint writes the picture again; the pixels are the preview's (measured: mean difference < 0.01)
        same = [i for i, p in enumerate(previews) if p.size == shown.size
                and max(ImageStat.Stat(ImageChops.difference(p, shown)).mean) < 1]
        assert len(same) == 1, pdf
        matched += same
    assert sorted(matched) == [0, 1, 2]  # each certificate its own photo
