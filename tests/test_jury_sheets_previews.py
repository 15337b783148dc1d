"""The score sheets' thumbnails come from validate's previews (issue 18): after a real validate and anonymise, no
12 MP package photo is decoded for a 160 px thumbnail, and each thumbnail is still the package photo's picture,
upright. Where a preview is gone, the package photo is used."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import make_jpeg, write_manifest
from openpyxl import load_workbook
from PIL import Image, ImageChops, ImageOps, ImageStat
from typer.testing import CliRunner

from milsetctl.cli import app
from milsetctl.jury import sheets_photos

runner = CliRunner()
HEADERS = ["contestant_id", "name", "school", "grade", "province", "file", "title", "description", "submitted_at"]


def _photo(path: Path, seed: int, size: tuple[int, int], orientation: int = 1) -> None:
    make_jpeg(path, size, exif={"make": "Canon", "model": f"Canon Model {seed}"}, orientation=orientation, seed=seed)


@pytest.fixture()
def packaged(tmp_path: Path) -> Path:
    src = tmp_path / "submissions"
    src.mkdir()
    rows = []
    for i in range(4):
        rotated = i == 1  # stored portrait-on-its-side, shown upright by EXIF Orientation 6
        _photo(src / f"p{i}.jpg", i + 1, (1800, 2400) if rotated else (2400, 1600), 6 if rotated else 1)
        rows.append([f"C00{i}", f"Zhang Wei{i}", f"Huiwen Academy {i}", "9", "北京市", f"p{i}.jpg", f"Moon {i}",
                     "The moon rising over the hills.", "2022-07-05 09:30"])
    write_manifest(src, rows, headers=HEADERS)
    ws = tmp_path / "ws"
    done = runner.invoke(app, ["validate", str(src), "-w", str(ws), "--json", "--jobs", "1"])
    assert done.exit_code == 0, done.output
    assert {e["status"] for e in json.loads(done.stdout)["entries"]} == {"eligible"}
    done = runner.invoke(app, ["anonymise", "-w", str(ws)])
    assert done.exit_code == 0, done.output
    (tmp_path / "jurors.csv").write_text("name,affiliation,country,email,school\nJuror One,MILSET,China,j1@x.org,\n",
                                         encoding="utf-8")
    return ws


def _sheet_thumbnails(ws: Path) -> dict[str, Image.Image]:
    book = load_workbook(next((ws / "jury" / "sheets").glob("J01 *.xlsx")))
    scores = book["Scores"]
    out: dict[str, Image.Image] = {}
    for image in scores._images:
        row = image.anchor._from.row + 1
        out[str(scores.cell(row, 1).value)] = Image.open(image.ref)
    return out


def _package_files(ws: Path) -> dict[str, Path]:
    from milsetctl.ledger import Ledger

    ledger = Ledger(ws / "ledger.sqlite")
    try:
        return {r["anon_id"]: ws / "jury" / "package" / r["file"] for r in ledger.anon_rows()}
    finally:
        ledger.close()


def _run_sheets(ws: Path, monkeypatch: pytest.MonkeyPatch) -> list[tuple[Path, int]]:
    """jury sheets in this process, every shrink recorded as (source file, size asked)."""
    shrunk: list[tuple[Path, int]] = []
    real = sheets_photos.shrink

    def recording(path: Path, longest: int, quality: int):  # type: ignore[no-untyped-def]
        shrunk.append((Path(path), longest))
        return real(path, longest, quality)

    monkeypatch.setattr(sheets_photos, "shrink", recording)
    done = runner.invoke(app, ["jury", "sheets", "-w", str(ws), "--jurors", str(ws.parent / "jurors.csv")])
    assert done.exit_code == 0, done.output
    return shrunk


def test_thumbnails_from_previews_are_the_package_pictures(packaged: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    shrunk = _run_sheets(packaged, monkeypatch)
    thumbs = packaged / "cache" / "thumbs"
    assert len(shrunk) == 4 and all(p.parent == thumbs and size == sheets_photos.THUMB_PX for p, size in shrunk)
    files = _package_files(packaged)
    pictures = _sheet_thumbnails(packaged)
    assert sorted(pictures) == sorted(files)
    for anon_id, picture in pictures.items():
        with Image.open(files[anon_id]) as im:
            upright = ImageOps.exif_transpose(im).convert("RGB")
        upright.thumbnail((sheets_photos.THUMB_PX, sheets_photos.THUMB_PX))
        assert picture.size == upright.size, anon_id
        diff = ImageStat.Stat(ImageChops.difference(picture.convert("RGB"), upright)).mean
        assert max(diff) < 12, (anon_id, diff)
    assert sorted(p.size for p in pictures.values()).count((160, 120)) == 1  # stored 1800x2400: shown upright


def test_a_missing_preview_falls_back_to_the_package_photo(packaged: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    previews = sorted(p for p in (packaged / "cache" / "thumbs").glob("*.jpg") if "-" not in p.stem)  # not *-640
    previews[0].unlink()
    shrunk = _run_sheets(packaged, monkeypatch)
    sources = [p for p, _ in shrunk]
    package = packaged / "jury" / "package"
    assert sum(package in p.parents for p in sources) == 1 and len(sources) == 4
    assert len(_sheet_thumbnails(packaged)) == 4
