"""Issue 19: the certificate's QR code, read back the way a parent's phone reads it. The PDF is rendered as a printer
or a scanner would (pdftoppm at 150 dpi, and a blurred 100 dpi scan), zbar (Debian zbar-tools, `zbarimg`) decodes
it, and what it reads goes to `milsetctl verify` and, with [certificates] verify_url, to verify.html in headless
Chromium. scripts/install.sh --test installs poppler-utils, zbar-tools and chromium."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from jury_fixtures import PEOPLE, jury_workspace
from PIL import Image, ImageFilter
from pypdf import PdfReader
from typer.testing import CliRunner

from milsetctl.certificates import format_code, issue_certificates
from milsetctl.certificates.verifypage import write_verify_page
from milsetctl.cli import app
from milsetctl.workspace import open_workspace

runner = CliRunner()
URL = "https://example.org/verify"
pytestmark = pytest.mark.skipif(shutil.which("pdftoppm") is None or shutil.which("zbarimg") is None,
                                reason="pdftoppm and zbarimg (poppler-utils, zbar-tools: scripts/install.sh --test)")


def set_certificate_settings(root: Path, **values: str) -> None:
    """Set [certificates] keys in the workspace's contest.toml (each `key = value` line the defaults wrote)."""
    path = root / "contest.toml"
    text = path.read_text(encoding="utf-8")
    for key, value in values.items():
        text, found = re.subn(rf"(?m)^{key} = .*$", lambda _m, k=key, v=value: f"{k} = {v}", text, count=1)
        assert found == 1, key
    path.write_text(text, encoding="utf-8")


def render(pdf: Path, out: Path, dpi: int) -> Path:
    subprocess.run(["pdftoppm", "-png", "-r", str(dpi), "-singlefile", str(pdf), str(out)], check=True)
    return out.with_suffix(".png")


def zbar(image: Path) -> list[str]:
    """What zbar reads from the image: one text per code found (empty: none)."""
    res = subprocess.run(["zbarimg", "--raw", "-q", str(image)], capture_output=True, text=True)
    return [line for line in res.stdout.splitlines() if line]


@pytest.fixture(scope="module")
def linked(tmp_path_factory: pytest.TempPathFactory):
    """Two participation certificates printed with [certificates] verify_url set."""
    tmp = tmp_path_factory.mktemp("qr")
    with jury_workspace(tmp, people=PEOPLE[:2], png_every=0) as ws:
        root = ws.root
    set_certificate_settings(root, verify_url=f'"{URL}"')
    with open_workspace(root) as ws:
        batch = issue_certificates(ws, "participation", workers=1)
    return root, batch


def test_the_qr_code_scans_to_the_verify_address_and_verify_accepts_it(linked, tmp_path: Path) -> None:
    """A 150 dpi render of each certificate decodes, with zbar, to verify_url#CODE; `verify` takes exactly that."""
    root, batch = linked
    for issued in batch.issued:
        scanned = zbar(render(issued.file, tmp_path / issued.code, 150))
        assert scanned == [f"{URL}#{format_code(issued.code)}"]
        res = runner.invoke(app, ["verify", scanned[0], "-w", str(root), "--json"])
        assert res.exit_code == 0 and json.loads(res.stdout)["entry_id"] == issued.entry_id


def test_the_pdf_links_to_the_verify_page_and_says_where(linked) -> None:
    """The footer is a link too (a PDF opened on a phone or a computer), and names the page, not a command."""
    _, batch = linked
    issued = batch.issued[0]
    page = PdfReader(str(issued.file)).pages[0]
    uris = {a.get_object()["/A"]["/URI"] for a in page.get("/Annots", []) if "/A" in a.get_object()}
    assert uris == {f"{URL}#{format_code(issued.code)}"}
    text = page.extract_text()
    assert "example.org/verify" in text and "milsetctl" not in text


def _format_levels() -> dict[int, str]:
    """Every QR format word (15 bits, BCH, masked) -> its error-correction level."""
    words = {}
    for bits, level in ((1, "L"), (0, "M"), (3, "Q"), (2, "H")):
        for mask in range(8):
            data = bits << 3 | mask
            rem = data << 10
            for i in range(14, 9, -1):
                if rem >> i & 1:
                    rem ^= 0b10100110111 << (i - 10)
            words[((data << 10) | rem) ^ 0b101010000010010] = level
    return words


def _qr_level(image: Image.Image) -> str:
    """The error-correction level a QR image (one pixel per module, no border) declares in its format bits, read
    around the top-left finder as the standard places them (bit i at column 8 row i...)."""
    grey = image.convert("L")

    def dark(x: int, y: int) -> int:
        return 1 if grey.getpixel((x, y)) < 128 else 0

    places = [(8, i) for i in range(6)] + [(8, 7), (8, 8), (7, 8)] + [(14 - i, 8) for i in range(9, 15)]
    word = sum(dark(x, y) << i for i, (x, y) in enumerate(places))
    return _format_levels()[word]


def test_the_printed_qr_code_is_level_q_and_at_least_30_mm(linked) -> None:
    """Issue 19: error correction Q (or H) in the QR image the PDF embeds, and at least 30 mm on the page: the size
    the page's content stream draws that image at (its transformation matrix when `Do` paints it, in points)."""
    _, batch = linked
    issued = batch.issued[0]
    page = PdfReader(str(issued.file)).pages[0]
    qr = [im for im in page.images
          if im.image.width == im.image.height and im.image.width in range(21, 178, 4)]
    assert len(qr) == 1
    assert _qr_level(qr[0].image) in ("Q", "H")
    drawn: dict[str, tuple[float, float]] = {}

    def on_operator(operator: bytes, operands: list, cm: list, _tm: list) -> None:
        if operator == b"Do":
            drawn[str(operands[0]).lstrip("/")] = (abs(cm[0]) + abs(cm[2]), abs(cm[1]) + abs(cm[3]))

    page.extract_text(visitor_operand_before=on_operator)
    width_pt, height_pt = drawn[qr[0].name.rsplit(".", 1)[0]]
    assert min(width_pt, height_pt) / 72 * 25.4 >= 30


BLURS = (0.6, 1.0, 1.3)  # 1.4 px decoded 8 of 10 random codes (CI met one that did not); 1.5 px none


def test_a_blurred_100_dpi_scan_still_decodes(linked, tmp_path: Path) -> None:
    """What a school's office scanner sends: a 100 dpi page, out of focus. Measured on the whole page with zbar,
    Gaussian blur 0.6 to 2.0 px in 23 steps: the 22 mm level-M code printed before issue 19 decoded 0 times, this
    one 14 (every blur up to 1.45 px). Over 10 random codes: all up to 1.3 px, 8 of 10 at 1.4 px, none at 1.5 px,
    so the test stops at 1.3 px (which code a run issues is random)."""
    _, batch = linked
    for issued in batch.issued:
        page = Image.open(render(issued.file, tmp_path / issued.code, 100)).convert("L")
        for blur in BLURS:
            blurred = tmp_path / f"{issued.code}-{blur}.png"
            page.filter(ImageFilter.GaussianBlur(blur)).save(blurred)
            assert zbar(blurred) == [f"{URL}#{format_code(issued.code)}"], blur


def test_without_a_verify_url_the_qr_holds_the_prefixed_code_which_verify_calls_genuine(tmp_path: Path) -> None:
    """The issue's reproduction: a parent's scanner reads MILSET-CERT:XYD5-..., which `verify` called "not
    genuine". Read back as scanned, and typed as people type it, it is genuine; the footer says how to check it in
    words, never as a command line."""
    with jury_workspace(tmp_path, people=PEOPLE[:1], png_every=0) as ws:
        issued = issue_certificates(ws, "participation", workers=1).issued[0]
        root = ws.root
    scanned = zbar(render(issued.file, tmp_path / "page", 150))
    code = format_code(issued.code)
    assert scanned == [f"MILSET-CERT:{code}"]
    for text in (scanned[0], code.lower(), code.replace("-", " "), f"  {code.replace('-', '')}  ",
                 f"{URL}?code={code.lower()}", f"{URL}#{code}", f"{URL}?code={code.replace('-', '%20')}",
                 code.replace("-", "\u2013"), code.translate(str.maketrans("OIB", "018"))):
        res = runner.invoke(app, ["verify", text, "-w", str(root), "--json"])
        assert res.exit_code == 0 and json.loads(res.stdout)["valid"] is True, text
    plain = runner.invoke(app, ["verify", scanned[0], "-w", str(root)], terminal_width=200)
    assert plain.exit_code == 0 and "genuine:" in plain.stdout and "not genuine" not in plain.stdout
    text = " ".join(PdfReader(str(issued.file)).pages[0].extract_text().split())
    assert "send this code to the contest's organisers" in text and "milsetctl" not in text


@pytest.mark.skipif(shutil.which("chromium") is None, reason="chromium (scripts/install.sh --test)")
def test_the_scanned_address_opens_verify_html_which_says_valid(linked, tmp_path: Path) -> None:
    """The whole path a parent takes: scan (zbar, 150 dpi) -> the address -> verify.html, here from file:// in
    headless Chromium in place of https://example.org/verify -> "Valid certificate" with the name as published."""
    root, batch = linked
    with open_workspace(root) as ws:
        page = write_verify_page(ws, tmp_path / "site")
    issued = batch.issued[1]  # Maria García: published as "Maria G." (the default for minors)
    scanned = zbar(render(issued.file, tmp_path / "page", 150))[0]
    address = scanned.replace(URL, page.path.as_uri())
    dom = chromium_dom(address, tmp_path)
    assert 'data-status="valid"' in dom and "Valid certificate" in dom
    assert "Maria G." in dom and "García" not in dom and format_code(issued.code) in dom


def chromium_dom(address: str, tmp_path: Path) -> str:
    """The page's DOM after its script ran (headless Chromium; the virtual time budget lets the SubtleCrypto
    promises settle before the DOM is written out)."""
    res = subprocess.run(["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                          f"--user-data-dir={tmp_path / 'chromium-profile'}", "--virtual-time-budget=10000",
                          "--dump-dom", address], capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stderr[-2000:]
    return res.stdout

