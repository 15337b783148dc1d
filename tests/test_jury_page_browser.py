"""Issue 20: a juror's offline scoring page, filled in a real browser. Headless Chromium driven by Selenium through
Debian's chromedriver (scripts/install.sh --test) opens `J01 ….html` from file:// (no server, no network), a
juror types every score with the keyboard (digits, Tab, Enter, arrows), closes and reopens the page half-way (the
work is kept in localStorage under the round's token), presses Export (Chromium's download folder set through its
prefs), and `milsetctl score` ranks the CSV it saved beside another juror's XLSX. The CSV's bytes are the ones
`page_csv` makes for the same scores. Contestant text reaches the page as text, never as HTML."""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from jury_fixtures import jury_workspace
from openpyxl import load_workbook
from typer.testing import CliRunner

from milsetctl.anonymise import build_package
from milsetctl.cli import app
from milsetctl.jury import make_sheets
from milsetctl.jury.page import page_csv, storage_key
from milsetctl.workspace import open_workspace

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
pytestmark = pytest.mark.skipif(CHROMIUM is None or CHROMEDRIVER is None,
                                reason="chromium and chromium-driver (Debian's, scripts/install.sh --test)")
webdriver = pytest.importorskip("selenium.webdriver")
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402

runner = CliRunner()
CRITERIA = ["originality", "information", "technique", "impact"]
HANG_S = 600  # one generous bound for a download that never comes, not a limit on speed
HOSTILE_TITLE = '<img src=x onerror="document.title=\'pwned\'">Moon & "stars"'
HOSTILE_TEXT = "</script><script>document.title='pwned'</script> a description"
# where scripts/install.sh --test puts npm's axe-core (tests/axe_harness.py reads the same place)
AXE_JS = Path(os.environ.get("AXE_CORE_JS") or Path(__file__).resolve().parent.parent / ".venv" / "axe-core"
              / "node_modules" / "axe-core" / "axe.min.js")


@pytest.fixture(scope="module")
def round_(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """Eight packaged entries (one with a title and description written to break a page), two jurors, each
    with a sheet and a scoring page."""
    tmp = tmp_path_factory.mktemp("page")
    with jury_workspace(tmp) as ws:
        ws.ledger.db.execute("UPDATE entries SET title=?, description=? WHERE entry_id='E0003'",
                             (HOSTILE_TITLE, HOSTILE_TEXT))
        ws.ledger.db.commit()
        build_package(ws, contact_sheet=False)
        jurors = tmp / "jurors.csv"
        jurors.write_text("name,affiliation,country,email,school\nJuror One,MILSET,China,one@example.org,\n"
                          "Juror Two,MILSET,China,two@example.org,\n", encoding="utf-8")
        make_sheets(ws, jurors, seed=11, html=True)
        round_id = ws.ledger.round_id()
    return tmp / "ws", round_id


@pytest.fixture()
def browser(tmp_path: Path) -> Iterator[tuple[Any, Path]]:
    """Headless Chromium with a fresh profile (an empty localStorage) and its own download folder."""
    from selenium.webdriver.chrome.service import Service

    downloads = tmp_path / "downloads"
    downloads.mkdir()
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                 f"--user-data-dir={tmp_path / 'profile'}", "--window-size=1400,1000"):
        options.add_argument(flag)
    options.add_experimental_option("prefs", {"download.default_directory": str(downloads),
                                              "download.prompt_for_download": False})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_script_timeout(HANG_S)
    try:
        yield driver, downloads
    finally:
        driver.quit()


def page_of(root: Path, juror_id: str) -> Path:
    return next((root / "jury" / "sheets").glob(f"{juror_id} *.html"))


def plan(n: int) -> list[tuple[dict[str, int | None], str | None]]:
    """What the juror gives each photo: 10s and 1s in every position (two-digit scores, a 1 before a digit that
    cannot follow it), one photo recused (no score, RECUSED), one comment with a comma and quotes."""
    out: list[tuple[dict[str, int | None], str | None]] = []
    for i in range(n):
        scores: dict[str, int | None] = {c: (i * 3 + j * 7) % 10 + 1 for j, c in enumerate(CRITERIA)}
        comment = None
        if i == 0:
            comment = 'Sharp, "clean" light'
        if i == 3:
            scores, comment = dict.fromkeys(CRITERIA), "RECUSED: I know this school"
        out.append((scores, comment))
    return out


def active(driver: Any) -> Any:
    return driver.switch_to.active_element


def type_entry(driver: Any, scores: dict[str, int | None], comment: str | None) -> None:
    """The keystrokes of one photo, starting in its first score box, ending on the next photo."""
    values = [scores[c] for c in CRITERIA]
    if all(v is None for v in values):
        active(driver).send_keys(Keys.TAB * len(CRITERIA))  # Tab past the boxes to the comment
    else:
        active(driver).send_keys("".join(str(v) for v in values))
        if values[-1] == 1:  # "1" could still become "10": Enter says it is 1
            active(driver).send_keys(Keys.ENTER)
    assert active(driver).get_attribute("id") == "comment"
    active(driver).send_keys(comment or "", Keys.ENTER)


def shown_scores(driver: Any) -> list[str]:
    return [driver.find_element(By.ID, f"score-{c}").get_attribute("value") for c in CRITERIA]


def wait_for_download(folder: Path, name: str) -> Path:
    deadline = time.monotonic() + HANG_S
    target = folder / name
    while time.monotonic() < deadline:
        if target.is_file() and not list(folder.glob("*.crdownload")):
            return target
        time.sleep(0.2)
    raise AssertionError(f"no {name} in {folder} after {HANG_S} s: {sorted(p.name for p in folder.iterdir())}")


def test_a_juror_scores_by_keyboard_and_score_ranks_the_export(round_, browser, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    root, round_id = round_
    driver, downloads = browser
    driver.get(page_of(root, "J01").as_uri())
    order = driver.execute_script(
        "return JSON.parse(document.getElementById('round-data').textContent).entries.map(e => e.anon_id)")
    assert len(order) == 8
    wanted = plan(len(order))
    driver.find_element(By.ID, "score-originality").click()

    # a score out of range is refused while typing, and taken back with Backspace
    active(driver).send_keys("0")
    assert driver.find_element(By.ID, "score-originality").get_attribute("aria-invalid") == "true"
    assert "whole number from 1 to 10" in driver.find_element(By.ID, "problem").text
    active(driver).send_keys(Keys.BACKSPACE)
    assert driver.find_element(By.ID, "problem").text == ""

    for scores, comment in wanted[:4]:
        type_entry(driver, scores, comment)
    assert driver.find_element(By.ID, "position").text == "5"
    assert "4 of 8 photos scored" in driver.find_element(By.ID, "progress-text").text  # the recused one counts

    # the page is closed and opened again: nothing lost, back on photo 5
    driver.get("about:blank")
    driver.get(page_of(root, "J01").as_uri())
    assert driver.find_element(By.ID, "position").text == "5"
    body = driver.find_element(By.TAG_NAME, "body")
    body.send_keys(Keys.ARROW_LEFT, Keys.ARROW_LEFT, Keys.ARROW_LEFT, Keys.ARROW_LEFT)  # arrows: to photo 1
    assert driver.find_element(By.ID, "position").text == "1"
    assert shown_scores(driver) == [str(v) for v in wanted[0][0].values()]
    assert driver.find_element(By.ID, "comment").get_attribute("value") == wanted[0][1]
    body.send_keys(Keys.PAGE_DOWN, Keys.PAGE_DOWN, Keys.PAGE_DOWN, Keys.ARROW_RIGHT)  # Page Down too: photo 5
    assert driver.find_element(By.ID, "position").text == "5"
    keys = driver.execute_script("return Object.keys(window.localStorage)")
    assert storage_key(round_id, "J01") in keys

    # a digit typed on the page (no box focused) goes into the photo's first empty box
    scores, comment = wanted[4]
    body.send_keys("".join(str(v) for v in scores.values()))
    assert shown_scores(driver) == [str(v) for v in scores.values()]
    active(driver).send_keys(Keys.ENTER)  # in the comment: to photo 6
    for scores, comment in wanted[5:7]:
        type_entry(driver, scores, comment)
    # the last photo: originality 5, then back in its box up twice and down once is 6; Enter box by box
    last = dict(wanted[7][0])
    last["originality"] = 5
    active(driver).send_keys("".join(str(last[c]) for c in CRITERIA))
    if last["impact"] == 1:
        active(driver).send_keys(Keys.ENTER)
    assert active(driver).get_attribute("id") == "comment"
    driver.find_element(By.ID, "score-originality").click()
    active(driver).send_keys(Keys.ARROW_UP, Keys.ARROW_UP, Keys.ARROW_DOWN)
    last["originality"] = 6
    wanted[7] = (last, None)
    assert shown_scores(driver)[0] == "6"
    active(driver).send_keys(Keys.ENTER * len(CRITERIA))  # to the comment
    active(driver).send_keys(Keys.ENTER)  # past the last photo: Export is next
    assert active(driver).get_attribute("id") == "export"
    assert "8 of 8 photos scored" in driver.find_element(By.ID, "progress-text").text

    active(driver).send_keys(Keys.ENTER)  # Export
    name = driver.execute_script("return JSON.parse(document.getElementById('round-data').textContent).csv_name")
    assert name == "J01 Juror One.csv"
    saved = wait_for_download(downloads, name)
    rows = [(anon, scores, comment) for anon, (scores, comment) in zip(order, wanted, strict=True)]
    assert saved.read_bytes() == page_csv(CRITERIA, rows, "J01", round_id)
    assert "Saved J01 Juror One.csv (8 of 8 photos scored)" in driver.find_element(By.ID, "status").text

    # `score` reads the export beside the other juror's XLSX, and ranks
    returned = tmp_path / "returned"
    returned.mkdir()
    shutil.copyfile(saved, returned / saved.name)
    sheet = next((root / "jury" / "sheets").glob("J02 *.xlsx"))
    book = load_workbook(sheet)
    for row in range(2, book["Scores"].max_row + 1):
        for col in range(2, 6):
            book["Scores"].cell(row, col).value = (row + col) % 10 + 1
    book.save(returned / sheet.name)
    work = tmp_path / "ws"
    shutil.copytree(root, work)
    done = runner.invoke(app, ["score", str(returned), "-w", str(work), "--json"])
    assert done.exit_code == 0, done.output
    payload = json.loads(done.stdout)
    assert payload["ranking_stored"] and len(payload["entries"]) == 8
    assert payload["problems"] == []
    with open_workspace(work) as ws:
        stored = {a: (json.loads(s), c) for j, a, s, c, _sheet, _row in ws.ledger.score_rows() if j == "Juror One"}
    for anon, (scores, comment) in zip(order, wanted, strict=True):
        if all(v is None for v in scores.values()):
            assert stored[anon] == (dict.fromkeys(CRITERIA), comment)  # recused: stored as such, no score
            continue
        assert {c: int(v) for c, v in stored[anon][0].items()} == scores, anon
        assert stored[anon][1] == comment


def test_contestant_text_is_text_and_the_page_needs_no_network(round_, browser) -> None:  # type: ignore[no-untyped-def]
    root, _ = round_
    driver, _ = browser
    page = page_of(root, "J02")
    driver.get(page.as_uri())
    title = driver.title
    order = driver.execute_script(
        "return JSON.parse(document.getElementById('round-data').textContent).entries.map(e => e.title)")
    driver.find_elements(By.CSS_SELECTOR, "#list-items button")[order.index(HOSTILE_TITLE)].click()
    assert driver.find_element(By.ID, "entry-title").get_attribute("textContent") == HOSTILE_TITLE
    assert driver.find_element(By.ID, "entry-description").get_attribute("textContent") == HOSTILE_TEXT
    assert driver.execute_script("return document.querySelectorAll('#entry-title *, #entry-description *').length") \
        == 0
    assert driver.title == title and "pwned" not in driver.title  # no script of the contestant's ran
    # every picture is inside the page; nothing is fetched (the policy forbids it, and nothing asks)
    html = page.read_text(encoding="utf-8")
    assert "default-src 'none'" in html and "http://" not in html and "https://" not in html
    fetched = driver.execute_script("return performance.getEntriesByType('resource').map(r => r.name)")
    assert [u for u in fetched if not u.startswith("data:")] == []
    assert driver.find_element(By.ID, "photo").get_attribute("src").startswith("data:image/jpeg;base64,")
    assert driver.execute_script("return document.getElementById('photo').naturalWidth") == 1280
    # the landmarks and labels a screen reader needs; the rubric is on the page
    assert len(driver.find_elements(By.CSS_SELECTOR, "main")) == 1
    assert driver.find_element(By.TAG_NAME, "html").get_attribute("lang") == "en"
    for box in driver.find_elements(By.CSS_SELECTOR, "input"):
        assert driver.execute_script("return arguments[0].labels.length", box) == 1, box.get_attribute("id")
    assert driver.find_element(By.ID, "photo").get_attribute("alt").startswith("Photo ")
    rubric = driver.find_element(By.CSS_SELECTOR, "table.rubric").text
    assert "Sharp where it matters, well lit and composed" in rubric and "9–10" in rubric


@pytest.mark.skipif(not AXE_JS.is_file(), reason="axe-core (npm, scripts/install.sh --test)")
def test_the_page_passes_axe(round_, browser) -> None:  # type: ignore[no-untyped-def]
    """axe-core's WCAG 2.1 A/AA rules and best practices find nothing on the page."""
    root, _ = round_
    driver, _ = browser
    driver.get(page_of(root, "J01").as_uri())
    driver.execute_script(AXE_JS.read_text(encoding="utf-8"))
    result = driver.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', "
        "'best-practice']}}).then(r => done(JSON.stringify(r.violations)), e => done(JSON.stringify(String(e))));")
    violations = json.loads(result)
    assert violations == [], json.dumps([(v["id"], [n["target"] for n in v["nodes"]][:5]) for v in violations])
