"""Issue 19: the public pages and the reports meet WCAG 2.1 AA, checked by axe-core in headless Chromium.

Pages, each made by the command a coordinator runs: the gallery's index and a photo page (`milsetctl gallery`),
verify.html beside them, empty and showing a certificate, the contest report (`milsetctl report`) and the
validation report (`milsetctl validate --report x.html`). axe-core runs every WCAG 2.0/2.1 A and AA rule and its
best practices on each (tests/axe_harness.py): 0 violations, each printed when there are some. The contest is a
small real one: three jurors (one gives every photo the same score), awards, certificates, and an entry whose
manifest row withholds consent to publication, which the gallery, verify.html and the report must treat as such.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from axe_harness import AXE_JS, CHROMIUM, AxeResult, Browser
from conftest import make_jpeg, write_manifest
from jury_fixtures import jury_workspace
from test_awards import give_anon_ids, store_scores
from typer.testing import CliRunner

from milsetctl.certificates import format_code, issue_certificates
from milsetctl.cli import app

runner = CliRunner()
pytestmark = [
    pytest.mark.skipif(CHROMIUM is None, reason="chromium (Debian's, scripts/install.sh --test)"),
    pytest.mark.skipif(not AXE_JS.is_file(), reason=f"axe-core ({AXE_JS}: scripts/install.sh --test)"),
]


@pytest.fixture(scope="module")
def contest(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path | str]:
    """A national round through awards and certificates; then `gallery` and `report` as the CLI runs them."""
    tmp = tmp_path_factory.mktemp("a11y-contest")
    with jury_workspace(tmp) as ws:
        anon = give_anon_ids(ws)
        store_scores(ws, anon, {"Ann Lee": {e: (i + 1, None) for i, e in enumerate(anon)},
                                "张老师": {e: (i + 2, None) for i, e in enumerate(anon)},
                                "Bob Stone": {e: (5, None) for e in anon}})
        ws.ledger.db.execute("UPDATE entries SET extra=? WHERE entry_id='E0003'",
                             (json.dumps({"publication_consent": "否"}),))
        ws.ledger.db.commit()
        cats = {e["entry_id"]: e["category"] for e in ws.ledger.entries()}
        ws.ledger.save_awards([{"entry_id": e, "anon_id": a, "category": cats[e], "score": 80.0 - i,
                                "rank": i // 2 + 1, "award": "qualifier" if i < 4 else None}
                               for i, (e, a) in enumerate(anon.items())], "national")
        codes = {i.entry_id: i.code for i in issue_certificates(ws, "participation", workers=1).issued}
        root = Path(ws.root)
    for args in (["gallery", "-w", str(root)], ["report", "-w", str(root)]):
        result = runner.invoke(app, args)
        assert result.exit_code == 0, result.output
    pages = sorted(p for p in (root / "gallery").glob("*.html") if p.name not in ("index.html", "verify.html"))
    return {"root": root, "index": root / "gallery" / "index.html", "photo": pages[0],
            "verify": root / "gallery" / "verify.html", "report": root / "reports" / "contest-report.html",
            "code": format_code(codes["E0001"])}


@pytest.fixture(scope="module")
def validation_report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`validate --report` on a small folder: eligible, rejected (too small) and review entries, with the manifest's
    publication_consent column in Chinese."""
    tmp = tmp_path_factory.mktemp("a11y-validate")
    source = tmp / "submissions"
    rows = []
    for i, (name, size) in enumerate([("Maria García", (2400, 1600)), ("张伟", (2400, 1600)),
                                      ("Olga Ivanova", (640, 480)), ("Ahmed Khan", (1600, 2400))]):
        make_jpeg(source / f"photo{i}.jpg", size=size, seed=i,
                  exif={"make": "Canon", "model": "EOS 90D", "datetime_original": "2022:07:01 10:00:00"})
        rows.append([f"CN-{i}", name, "No. 4 Middle School", "8" if i % 2 else "11", "Beijing", "China",
                     f"s{i}@example.cn", f"photo{i}.jpg", f"Night sky {i}", f"Stars over the hills {i}.",
                     "2022-07-05 09:30", "是" if i != 1 else "否"])
    write_manifest(source, rows, headers=["contestant_id", "name", "school", "grade", "province", "country",
                                          "email", "file", "title", "description", "submitted_at", "同意公开"])
    ws = tmp / "ws"
    assert runner.invoke(app, ["init", "-w", str(ws), "--country", "China"]).exit_code == 0
    report = tmp / "validation.html"
    result = runner.invoke(app, ["validate", str(source), "-w", str(ws), "--report", str(report)])
    assert result.exit_code in (0, 1), result.output  # 1: an entry rejected
    return report


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    with Browser(tmp_path_factory.mktemp("chromium-profile")) as b:
        yield b


def _clean(result: AxeResult) -> None:
    print(result.report())
    assert result.passes > 10  # axe ran its rules on a real page
    assert not result.violations, result.report()


def test_gallery_index_and_photo_page(contest, browser: Browser) -> None:  # type: ignore[no-untyped-def]
    _clean(browser.axe(Path(contest["index"]).as_uri()))
    _clean(browser.axe(Path(contest["photo"]).as_uri()))


def test_verify_page_empty_and_showing_a_certificate(contest, browser: Browser) -> None:  # type: ignore[no-untyped-def]
    _clean(browser.axe(Path(contest["verify"]).as_uri()))
    shown = "document.getElementById('result').dataset.status !== 'none'"
    _clean(browser.axe(f"{Path(contest['verify']).as_uri()}#{contest['code']}", ready=shown))
    assert browser.evaluate("document.getElementById('result').dataset.status") == "valid"
    assert "Maria" not in str(browser.evaluate("document.body.innerText"))  # E0001 is 张伟: shown as 张*
    assert "张*" in str(browser.evaluate("document.body.innerText"))


def test_contest_report(contest, browser: Browser) -> None:  # type: ignore[no-untyped-def]
    _clean(browser.axe(Path(contest["report"]).as_uri()))
    # every chart is an image with a name and a description of its numbers
    charts = browser.evaluate(
        "Array.from(document.querySelectorAll('svg')).map(function (s) { return [s.getAttribute('role'),"
        " (s.querySelector('title') || {}).textContent, (s.querySelector('desc') || {}).textContent]; })")
    assert [title for _, title, _ in charts] == ["Entries by region (top 20)", "Entries by category",
                                                 "Entries by province (top 20)", "Score distribution per juror",
                                                 "Score distribution per criterion"]  # no rejections: no chart
    for role, title, desc in charts:
        assert role == "img" and title and desc and re.search(r"\d", desc), (title, desc)
    assert browser.evaluate("document.querySelectorAll('main').length") == 1
    ids = browser.evaluate("Array.from(document.querySelectorAll('[id]')).map(function (e) { return e.id; })")
    assert len(ids) == len(set(ids))  # matplotlib's IDs prefixed per chart


def test_validation_report(validation_report: Path, browser: Browser) -> None:
    _clean(browser.axe(validation_report.as_uri()))


def test_muted_grey_has_4_5_to_1_on_every_background() -> None:
    """The muted text colour of the gallery and the reports against each background it is drawn on."""
    def luminance(colour: str) -> float:
        channels = [int(colour[i:i + 2], 16) / 255 for i in (1, 3, 5)]
        linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]

    def ratio(a: str, b: str) -> float:
        hi, lo = sorted((luminance(a), luminance(b)), reverse=True)
        return (hi + 0.05) / (lo + 0.05)

    templates = Path(__file__).resolve().parent.parent / "templates"
    css = "\n".join((templates / name).read_text(encoding="utf-8")
                    for name in ("gallery.css", "report.html", "contest-report.html"))
    assert "#6b7280" not in css
    muted = "#4b5563"
    # the page, card, tile and badge backgrounds the muted grey sits on
    for background in ("#ffffff", "#f4f5f7", "#f6f7f9", "#f1f5f9", "#fee2e2", "#fef3c7", "#dcfce7", "#e2e8f0"):
        assert ratio(muted, background) >= 4.5, background


def test_screenshots_for_a_person_to_look_at(contest, validation_report: Path, browser: Browser,
                                             tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Full-page PNGs of the gallery and the contest report (MILSETCTL_SCREENSHOTS=DIR keeps them)."""
    import os

    from PIL import Image

    keep = os.environ.get("MILSETCTL_SCREENSHOTS")
    out = Path(keep) if keep else tmp_path
    out.mkdir(parents=True, exist_ok=True)
    for name, page in (("gallery", contest["index"]), ("gallery-photo", contest["photo"]),
                       ("contest-report", contest["report"]), ("validation-report", validation_report),
                       ("verify", contest["verify"])):
        browser.open(Path(page).as_uri())
        shot = browser.screenshot(out / f"{name}.png")
        with Image.open(shot) as image:
            assert image.width == 1280 and image.height > 400
            assert len(image.convert("L").resize((64, 64)).getcolors(4096) or []) > 8  # not a blank page
    if not keep:
        shutil.rmtree(out, ignore_errors=True)
