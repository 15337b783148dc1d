"""Issue 19: certificates as a school would frame them. The PDFs are read back (pypdf: text, fonts, images, links)
and rendered (pdftoppm at 60 dpi) to measure the page: the contest, year and place; the award and what it was
given in; signatories with names, titles and a signature image; a logo; the issue date from the settings; the code
in a face where O is plainly a letter; juror and member certificates without an empty band in the middle."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from jury_fixtures import PEOPLE, jury_workspace
from PIL import Image, ImageDraw
from pypdf import PdfReader
from typer.testing import CliRunner

from milsetctl.certificates import CertificateError, format_code, issue_certificates
from milsetctl.cli import app
from milsetctl.workspace import open_workspace

runner = CliRunner()
SIGNATORIES = ('[{name = "Dr. Li Na", title = "Chair of the Jury", signature = "art/li-na.png"}, '
               '{name = "Ana Lima", title = "MILSET Secretariat"}]')


def set_certificate_settings(root: Path, **values: str) -> None:
    """Set [certificates] keys in the workspace's contest.toml (each `key = value` line the defaults wrote)."""
    path = root / "contest.toml"
    text = path.read_text(encoding="utf-8")
    for key, value in values.items():
        text, found = re.subn(rf"(?m)^{key} = .*$", lambda _m, k=key, v=value: f"{k} = {v}", text, count=1)
        assert found == 1, key
    path.write_text(text, encoding="utf-8")


def pdf_text(path: Path) -> str:
    """The page's text, each run of white space one space (a line break where the layout wrapped)."""
    return " ".join(" ".join(p.extract_text() or "" for p in PdfReader(str(path)).pages).split())


def pdf_fonts(path: Path) -> set[str]:
    fonts = PdfReader(str(path)).pages[0]["/Resources"].get_object().get("/Font", {})
    return {str(ref.get_object()["/BaseFont"]) for ref in fonts.values()}


def draw_art(root: Path) -> None:
    """A logo and a signature, transparent PNGs as a designer hands them over."""
    (root / "art").mkdir()
    logo = Image.new("RGBA", (400, 160), (255, 255, 255, 0))
    ImageDraw.Draw(logo).ellipse((10, 10, 150, 150), outline=(28, 43, 74, 255), width=12)
    logo.save(root / "art" / "logo.png")
    sign = Image.new("RGBA", (300, 90), (255, 255, 255, 0))
    ImageDraw.Draw(sign).line([(10, 70), (60, 20), (90, 60), (150, 15), (200, 65), (280, 30)],
                              fill=(20, 30, 120, 255), width=5)
    sign.save(root / "art" / "li-na.png")


@pytest.fixture(scope="module")
def framed(tmp_path_factory: pytest.TempPathFactory):
    """Qualifier, juror and member certificates with every [certificates] setting a secretariat fills in."""
    from test_members import HEADER, ROWS, write_csv

    from milsetctl.members.roster import import_roster

    tmp = tmp_path_factory.mktemp("framed")
    with jury_workspace(tmp, people=PEOPLE[:2], png_every=0) as ws:
        root = ws.root
    draw_art(root)
    set_certificate_settings(root, logo='"art/logo.png"', place='"Shanghai, China"', issue_date="2022-08-20",
                             signatories=SIGNATORIES)
    with open_workspace(root) as ws:
        ws.ledger.save_awards([
            {"entry_id": "E0001", "anon_id": "A1", "category": "middle", "score": 90.0, "rank": 1,
             "award": "qualifier"},
            {"entry_id": "E0002", "anon_id": "A2", "category": "high", "score": 80.0, "rank": 1, "award": None},
        ], "national")
        ws.ledger.save_jurors([{"key": "a@x.org", "name": "Ольга Иванова", "affiliation": "Université Cheikh Anta "
                                "Diop", "country": "Senegal", "email": "a@x.org", "school": None}])
        import_roster(ws, write_csv(tmp / "roster.csv", HEADER, ROWS))
        batches = {kind: issue_certificates(ws, kind, workers=1) for kind in ("qualifier", "juror", "member")}
    return root, batches


def test_the_contest_the_award_and_who_signs(framed) -> None:
    root, batches = framed
    issued = batches["qualifier"].issued[0]
    text = pdf_text(issued.file)
    for words in ("MILSET STEAM PHOTO CONTEST 2022", "Shanghai, China", "Qualifier Award",
                  "Middle School category · grades 7–9", "张伟", "北京市第四中学", "Night sky 1",
                  "Dr. Li Na", "Chair of the Jury", "Ana Lima", "MILSET Secretariat"):
        assert words in text, words
    # the logo, the signature image, the photo and the QR code
    assert len(PdfReader(str(issued.file)).pages[0].images) == 4


def test_the_issue_date_is_the_award_day_from_the_settings(framed) -> None:
    """[certificates] issue_date, not the day the batch was printed; signed by the code, so `verify` says it."""
    root, batches = framed
    issued = batches["qualifier"].issued[0]
    text = pdf_text(issued.file)
    assert "20 August 2022" in text and "Date of issue" in text
    res = runner.invoke(app, ["verify", format_code(issued.code), "-w", str(root), "--json"])
    assert res.exit_code == 0 and json.loads(res.stdout)["issued_at"] == "2022-08-20"


def test_the_code_is_not_in_a_monospace_face(framed) -> None:
    """A monospaced O next to a 0 is the classic misreading; the code (A-Z, 2-7: no 0, 1 or 8) is set in DejaVu
    Sans, where O is round and wide."""
    _, batches = framed
    for batch in batches.values():
        fonts = pdf_fonts(batch.issued[0].file)
        assert not [f for f in fonts if "Mono" in f], fonts
        assert any(f.endswith("+DejaVu-Sans-Bold") for f in fonts), fonts
        assert re.fullmatch(r"[A-Z2-7]{16}", batch.issued[0].code)


def _blank_bands_mm(png: Path) -> list[tuple[float, float]]:
    """(top, height) in mm of each band of rows without ink inside the frame, taller than 4 mm."""
    grey = np.asarray(Image.open(png).convert("L"))
    px = 60 / 25.4
    inner = grey[round(15 * px):grey.shape[0] - round(15 * px), round(16 * px):grey.shape[1] - round(16 * px)]
    ink = (inner < 160).any(axis=1)
    bands, start = [], None
    for y, inked in enumerate([*ink, True]):
        if not inked and start is None:
            start = y
        elif inked and start is not None:
            if (y - start) / px > 4:
                bands.append((round(start / px + 15, 1), round((y - start) / px, 1)))
            start = None
    return bands


@pytest.mark.skipif(shutil.which("pdftoppm") is None, reason="pdftoppm (poppler-utils: scripts/install.sh --test)")
def test_juror_and_member_certificates_have_no_empty_middle(framed, tmp_path: Path) -> None:
    """What they say is centred between the heading and the footer: the blank above it and below it are about the
    same, and no blank band is as tall as the one under the juror's text before (~60 mm)."""
    _, batches = framed
    for kind in ("juror", "member"):
        out = tmp_path / kind
        subprocess.run(["pdftoppm", "-png", "-r", "60", "-singlefile", str(batches[kind].issued[0].file), str(out)],
                       check=True)
        bands = _blank_bands_mm(out.with_suffix(".png"))
        tall = sorted((height for _, height in bands), reverse=True)
        assert tall[0] < 30, (kind, bands)
        assert abs(tall[0] - tall[1]) < 8, (kind, bands)  # above and below the middle


def test_juror_and_member_certificates_say_what_for(framed) -> None:
    _, batches = framed
    juror = pdf_text(batches["juror"].issued[0].file)
    assert "Certificate of Appreciation" in juror and "Ольга Иванова" in juror
    assert "serving on the national jury of the MILSET STEAM Photo Contest 2022" in juror
    assert "Chair of the Jury" in juror and "20 August 2022" in juror
    member = pdf_text(batches["member"].issued[0].file)
    assert "Member in Good Standing 2022" in member and "中国青少年科技教育协会" in member
    # its period, from the roster
    assert "Member since 1 May 1995 · in good standing until 31 December 2022" in member
    assert "MILSET Secretary General" in member and "Dr. Li Na" not in member  # MILSET signs its own


def test_a_gallery_place_at_the_global_stage(tmp_path: Path) -> None:
    with jury_workspace(tmp_path, people=PEOPLE[:5], png_every=0, stage="global") as ws:
        awards = ("global-1", "global-2", "global-3", "gallery", "gallery")
        ws.ledger.save_awards([{"entry_id": f"E000{i}", "anon_id": f"A{i}", "category": None, "score": 90.0 - i,
                                "rank": i, "award": awards[i - 1]} for i in range(1, 6)], "global")
        top = pdf_text(issue_certificates(ws, "global", workers=1).issued[0].file)
        places = [pdf_text(i.file) for i in issue_certificates(ws, "gallery", workers=1).issued]
    assert "Global Award First Place" in top
    assert "Virtual Gallery Selection Place 4 in the global round" in places[0]
    assert "Place 5 in the global round" in places[1]


def test_a_new_issue_date_reprints_with_a_new_code_and_supersedes(tmp_path: Path) -> None:
    """Certificates printed before the award day was set keep their code until issue_date names another day:
    then each is printed again with it, and the old code says it was replaced."""
    with jury_workspace(tmp_path, people=PEOPLE[:1], png_every=0) as ws:
        root = ws.root
        draft = issue_certificates(ws, "participation", workers=1).issued[0]
    set_certificate_settings(root, issue_date='"2022-08-20"')
    with open_workspace(root) as ws:
        final = issue_certificates(ws, "participation", workers=1).issued[0]
        again = issue_certificates(ws, "participation", workers=1).issued[0]
    assert final.code != draft.code and final.replaces == draft.code and "20 August 2022" in pdf_text(final.file)
    assert again.skipped and again.code == final.code
    res = runner.invoke(app, ["verify", format_code(draft.code), "-w", str(root), "--json"])
    replaced = json.loads(res.stdout)["superseded"]
    assert res.exit_code == 1 and replaced["reason"] == "reprinted with a changed issue date"


@pytest.mark.parametrize(("setting", "value", "message"), [
    ("logo", '"art/missing.png"', r"\[certificates\] logo = 'art/missing.png': no such file"),
    ("signatories", '[{name = "Dr. Li Na", title = "Chair", signature = "li-na.gif"}]', "no such file"),
    ("signatories", '[{name = "Dr. Li Na", role = "Chair"}]', "unknown field role"),
    ("verify_url", '"example.org/verify"', "must be the web address"),
    ("issue_date", '"20/08/2022"', "must be a date such as 2022-08-20"),
])
def test_a_setting_that_cannot_be_used_stops_the_batch_naming_it(tmp_path: Path, setting: str, value: str,
                                                                 message: str) -> None:
    with jury_workspace(tmp_path, people=PEOPLE[:1], png_every=0) as ws:
        root = ws.root
    set_certificate_settings(root, **{setting: value})
    with open_workspace(root) as ws, pytest.raises(CertificateError, match=message) as caught:
        issue_certificates(ws, "participation", workers=1)
    assert caught.value.code == 2
    res = runner.invoke(app, ["certificates", "participation", "-w", str(root)])
    assert res.exit_code == 2 and setting in res.stderr
    assert not list((root / "certificates").glob("**/*.pdf")) if (root / "certificates").exists() else True


def image_lefts(pdf: Path) -> list[tuple[int, int, float]]:
    """(width px, height px, left edge in points) of each image drawn on the first page: the content stream's
    transformation matrices followed through q/Q/cm and into form XObjects, up to each image's Do."""
    from pypdf.generic import ContentStream

    reader = PdfReader(str(pdf))
    page = reader.pages[0]
    found: list[tuple[int, int, float]] = []

    def walk(content, resources, ctm: tuple[float, ...]) -> None:
        stack = []
        for operands, op in ContentStream(content, reader).operations:
            if op == b"q":
                stack.append(ctm)
            elif op == b"Q":
                ctm = stack.pop()
            elif op == b"cm":
                a, b, c, d, e, f = (float(v) for v in operands)
                ca, cb, cc, cd, ce, cf = ctm
                ctm = (a * ca + b * cc, a * cb + b * cd, c * ca + d * cc, c * cb + d * cd, e * ca + f * cc + ce,
                       e * cb + f * cd + cf)
            elif op == b"Do":
                xobject = resources["/XObject"][operands[0]].get_object()
                if xobject["/Subtype"] == "/Image":
                    found.append((int(xobject["/Width"]), int(xobject["/Height"]), ctm[4]))
                else:
                    walk(xobject, xobject.get("/Resources", resources), ctm)

    walk(page.get_contents(), page["/Resources"], (1.0, 0.0, 0.0, 1.0, 0.0, 0.0))
    return found


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="poppler-utils (install.sh) not installed")
@pytest.mark.parametrize("url", ["https://example.org/milset-photo-2022/verify.html",
                                 "https://certificates.example-national-secretariat.org/milset/steam-photo/2022/"
                                 "national-round/verify.html"])
def test_the_verification_address_is_printed_whole_beside_the_qr_code(tmp_path: Path, url: str) -> None:
    """A newcomer's trial: a 45-character address ran on under the QR code ('…/verify.h', the 'tml' hidden). Every
    word of the printed address (pdftotext -bbox, in points) ends left of the QR image, and read in order the
    words give the whole address."""
    with jury_workspace(tmp_path, people=PEOPLE[:1], png_every=0) as ws:
        root = ws.root
    set_certificate_settings(root, verify_url=f'"{url}"')
    with open_workspace(root) as ws:
        issued = issue_certificates(ws, "participation", workers=1).issued[0]
    pdf = issued.file
    # the address and the QR code are links to the page with the code (kept when the PDF is cut from its chunk's)
    assert {a.get_object()["/A"]["/URI"] for a in PdfReader(str(pdf)).pages[0]["/Annots"]} \
        == {f"{url}#{format_code(issued.code)}"}
    bbox = subprocess.run(["pdftotext", "-bbox", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    words = [(float(m[1]), float(m[2]), float(m[3]), m[4].replace("\u200b", "")) for m in
             re.finditer(r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="[\d.]+">([^<]*)</word>', bbox)]
    page_width = float(re.search(r'<page width="([\d.]+)"', bbox)[1])
    (qr_left,) = [x for width, height, x in image_lefts(pdf) if width == height]  # the QR image, placed
    assert page_width / 2 < qr_left < page_width
    shown = url.removeprefix("https://").rstrip("/")
    start = next(i for i, w in enumerate(words) if shown.startswith(w[3]) and len(w[3]) > 5)
    printed, used = "", []
    for w in words[start:]:
        if not shown.startswith(printed + w[3]):
            break
        printed += w[3]
        used.append(w)
    assert printed == shown, (printed, shown)
    assert all(x_max < qr_left for _, _, x_max, _ in used), (used, qr_left)
    assert all(w[3].endswith(("/", "-")) for w in used[:-1]), used  # lines break after a slash, never in a word
