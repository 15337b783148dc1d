"""Validation report renderers: write each format, read it back, check what a coordinator would see."""

from __future__ import annotations

import base64
import csv
import io
import re
from datetime import datetime
from html.parser import HTMLParser
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from PIL import Image

from milsetctl.models import Entry, EntryResult, Finding, PhotoInfo, Severity, Status, ValidationResult
from milsetctl.report import report_format, write_report
from milsetctl.report.html import templates_dir
from milsetctl.report.tables import ENTRY_COLUMNS, entry_rows, neutralise

FORMULA_TITLE = '=HYPERLINK("http://x")'
HTML_TITLE = "<b>x</b>"
SCRIPT_DESC = "<script>alert(1)</script>"
FACE_BOXES = [[300, 100, 200, 300, 0.97], [1000, 600, 100, 120, 0.71]]  # in the 1600 x 1200 displayed image


def _thumbnail(folder: Path, name: str, size: tuple[int, int]) -> str:
    """A real JPEG thumbnail: a gradient, so a decoder has actual pixels to check."""
    w, h = size
    im = Image.linear_gradient("L").resize((w, h)).convert("RGB")
    folder.mkdir(parents=True, exist_ok=True)
    im.save(folder / name, "JPEG", quality=85)
    return name


def _entry(entry_id: str, **kw: object) -> Entry:
    base: dict[str, object] = {
        "key": kw.get("file") or entry_id,
        "file": f"photos/{entry_id}.jpg",
        "contestant_id": f"C-{entry_id}",
        "name": "Ann Lee",
        "school": "Lycée Victor Hugo",
        "grade": "9",
        "province": "Beijing",
        "country": "China",
        "title": "Spiral staircase",
        "description": "Golden ratio in a staircase.",
        "submitted_at": datetime(2025, 3, 1, 9, 30),
        "origin": f"entries.csv row {entry_id[-1]}",
        "entry_id": entry_id,
    }
    base.update(kw)
    return Entry(**base)  # type: ignore[arg-type]


def _photo(thumb: str | None, width: int = 1600, height: int = 1200, **kw: object) -> PhotoInfo:
    return PhotoInfo(
        sha256="ab" * 32,
        size=2_400_000,
        format="JPEG",
        width=width,
        height=height,
        display_width=width,
        display_height=height,
        thumbnail=thumb,
        **kw,  # type: ignore[arg-type]
    )


@pytest.fixture()
def thumbs(tmp_path: Path) -> Path:
    folder = tmp_path / "thumbs"
    _thumbnail(folder, "eligible.jpg", (480, 360))
    _thumbnail(folder, "face.jpg", (480, 360))
    _thumbnail(folder, "tall.jpg", (240, 480))
    (tmp_path / "secret.jpg").write_bytes((folder / "face.jpg").read_bytes())
    return folder


@pytest.fixture()
def result() -> ValidationResult:
    eligible = EntryResult(
        _entry("E001", name="王小明", school="北京市第四中学", title="对称的雪花 Snowflake symmetry"),
        Status.ELIGIBLE,
        "middle",
        [Finding("edited", Severity.INFO, "editing software recorded: Adobe Lightroom")],
        _photo("eligible.jpg", make="Canon", model="Canon EOS 5D"),
    )
    face = EntryResult(
        _entry("E002", title=FORMULA_TITLE, description="+1 for symmetry", contestant_id="-42"),
        Status.REVIEW,
        "high",
        [
            Finding(
                "face",
                Severity.REVIEW,
                "2 faces detected",
                {"boxes": FACE_BOXES, "width": 1600, "height": 1200},
            ),
            Finding(
                "text-watermark",
                Severity.REVIEW,
                "visible text: '<img src=x onerror=alert(1)>'",
                {"boxes": [[0, 1100, 800, 80, 0.8, "<img src=x onerror=alert(1)>"]], "width": 1600, "height": 1200},
            ),
        ],
        _photo("face.jpg", make="NIKON CORPORATION", model="NIKON D60"),
    )
    rejected = EntryResult(
        _entry("E003", title=HTML_TITLE, description=SCRIPT_DESC, name="刘䶮", grade="13"),
        Status.REJECTED,
        "high",
        [
            Finding("language", Severity.REVIEW, "title is not English"),
            Finding("min-width", Severity.REJECT, "800 px wide, under the 1200 px minimum"),
            Finding("grade", Severity.REJECT, "grade 13 outside 7-12"),
        ],
        _photo("tall.jpg", width=800, height=1600),
        decision={"decision": "reject", "reason": "grade checked", "who": "li", "at": "2025-04-01T10:00"},
    )
    unlisted = EntryResult(
        _entry(
            "E004",
            file="extra/no row.jpg",
            contestant_id=None,
            name=None,
            school=None,
            title="bad\x01title @SUM(A1)",
            description="@SUM(A1:A9)",
            listed=False,
            origin="folder scan",
        ),
        Status.REVIEW,
        None,
        [Finding("unlisted-file", Severity.REVIEW, "no manifest row names this file")],
        # a thumbnail the cache lost, then one whose name tries to leave the cache folder
        _photo("gone.jpg"),
    )
    escape = EntryResult(
        _entry("E005", title="Escape attempt"),
        Status.REJECTED,
        "middle",
        [Finding("unreadable", Severity.REJECT, "the file is truncated")],
        _photo("../secret.jpg", error="truncated JPEG"),
    )
    return ValidationResult("/contest/inbox", "/contest/ws", [eligible, face, rejected, unlisted, escape], 3.2, 5, 0)


# ---------------------------------------------------------------- dispatch


def test_report_format_by_extension() -> None:
    assert report_format(Path("a/b/report.CSV")) == "csv"
    assert report_format(Path("r.xlsx")) == "xlsx"
    assert report_format(Path("r.htm")) == "html"
    assert report_format(Path("r.Html")) == "html"


@pytest.mark.parametrize("name", ["report.pdf", "report", "report.xls", "report.html.bak"])
def test_unsupported_extension_names_the_supported_ones(name: str, result: ValidationResult, tmp_path: Path) -> None:
    with pytest.raises(ValueError) as err:
        write_report(result, tmp_path / name, None)
    for ext in (".csv", ".xlsx", ".html", ".htm"):
        assert ext in str(err.value)
    assert not list(tmp_path.iterdir())


def test_failed_render_leaves_no_file(
    result: ValidationResult, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import milsetctl.report.html as html_mod

    def boom(*_a: object) -> str:
        raise RuntimeError("renderer failed")

    monkeypatch.setattr(html_mod, "render_html", boom)
    with pytest.raises(RuntimeError):
        write_report(result, tmp_path / "out" / "r.html", None)
    assert list((tmp_path / "out").iterdir()) == []


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("=1+1", "'=1+1"),
        ("+1 for symmetry", "'+1 for symmetry"),
        ("-42", "'-42"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=cmd", "'\t=cmd"),
        ("\r=cmd", "'\r=cmd"),
        ("  =1+1", "'  =1+1"),
        ("＝1+1", "'＝1+1"),
        ("a=b", "a=b"),
        ("王小明", "王小明"),
        ("", ""),
        (None, None),
        (3, 3),
    ],
)
def test_neutralise(value: object, expected: object) -> None:
    assert neutralise(value) == expected


def test_entry_rows_columns(result: ValidationResult) -> None:
    df = entry_rows(result, ZoneInfo("Asia/Shanghai"))
    assert list(df.columns) == ENTRY_COLUMNS
    assert len(df) == len(result.entries)
    row = df.set_index("entry_id").loc["E002"]
    assert row["camera"] == "NIKON D60"
    assert row["width"] == 1600 and row["height"] == 1200
    assert row["size_mb"] == pytest.approx(2.29)
    assert row["findings"].startswith("face (review): 2 faces detected; text-watermark (review): ")
    assert df.set_index("entry_id").loc["E001", "camera"] == "Canon EOS 5D"
    # the decision's time (the ledger's UTC) in the contest's time, as every output says it (timefmt)
    assert df.set_index("entry_id").loc["E003", "decision"] == \
        "reject: grade checked (li, 2025-04-01 18:00 Asia/Shanghai)"


# ---------------------------------------------------------------- CSV


def test_csv(result: ValidationResult, tmp_path: Path) -> None:
    path = write_report(result, tmp_path / "report.csv", None)
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf"), "Excel needs the BOM to read UTF-8"
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))
    assert [r["entry_id"] for r in rows] == ["E001", "E002", "E003", "E004", "E005"]
    by_id = {r["entry_id"]: r for r in rows}
    assert by_id["E001"]["name"] == "王小明"
    assert by_id["E001"]["school"] == "北京市第四中学"
    assert by_id["E002"]["title"] == "'" + FORMULA_TITLE
    assert by_id["E002"]["description"] == "'+1 for symmetry"
    assert by_id["E002"]["contestant_id"] == "'-42"
    assert by_id["E004"]["description"] == "'@SUM(A1:A9)"
    assert by_id["E003"]["title"] == HTML_TITLE  # CSV is plain text; only the formula start is dangerous
    assert by_id["E003"]["status"] == "rejected"
    assert by_id["E002"]["width"] == "1600"
    assert by_id["E004"]["contestant_id"] == ""
    assert "min-width (reject): 800 px wide" in by_id["E003"]["findings"]
    # no cell of the whole file starts like a formula
    for r in rows:
        for value in r.values():
            assert not value.startswith(("=", "+", "-", "@")), value


# ---------------------------------------------------------------- XLSX


def test_xlsx(result: ValidationResult, tmp_path: Path) -> None:
    import openpyxl

    path = write_report(result, tmp_path / "report.xlsx", None)
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames == ["entries", "findings", "summary"]
    ws = wb["entries"]
    header = [c.value for c in ws[1]]
    assert header == ENTRY_COLUMNS
    assert all(c.font.bold for c in ws[1])
    assert ws.freeze_panes == "A2"
    assert ws.auto_filter.ref == ws.dimensions == f"A1:T{len(result.entries) + 1}"
    rows = {r[0]: dict(zip(header, r, strict=True)) for r in ws.iter_rows(min_row=2, values_only=True)}
    assert rows["E002"]["title"] == "'" + FORMULA_TITLE
    assert rows["E001"]["name"] == "王小明"
    assert rows["E002"]["width"] == 1600
    assert rows["E004"]["title"] == "badtitle @SUM(A1)"  # the XML-illegal \x01 is dropped
    # nothing in any sheet is stored as a formula
    for sheet in wb:
        for row in sheet.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (sheet.title, cell.coordinate, cell.value)
    # the title column is widened to fit, capped
    assert 12 < ws.column_dimensions["K"].width <= 60

    findings = wb["findings"]
    frows = list(findings.iter_rows(min_row=2, values_only=True))
    assert len(frows) == sum(len(r.findings) for r in result.entries)
    grade = ("E003", "rejected", "C-E003", "刘䶮", "photos/E003.jpg", "grade", "reject", "grade 13 outside 7-12")
    assert grade in frows
    assert findings.freeze_panes == "A2"

    summary = dict(wb["summary"].iter_rows(min_row=2, values_only=True))
    assert summary["entries"] == 5
    assert summary["eligible"] == 1 and summary["review"] == 2 and summary["rejected"] == 2
    assert summary["reason: min-width (reject)"] == 1


# ---------------------------------------------------------------- HTML


class _Page(HTMLParser):
    """Collects what the checks need: tags with attributes, and the visible text."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self.by_id: dict[str, str] = {}
        self._open_id: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        self.tags.append((tag, a))
        self._open_id = a.get("id")

    def handle_data(self, data: str) -> None:
        self.text.append(data)
        if self._open_id and data.strip():
            self.by_id.setdefault(self._open_id, data.strip())

    def handle_endtag(self, tag: str) -> None:
        self._open_id = None

    def all(self, tag: str | None = None, cls: str | None = None) -> list[dict[str, str | None]]:
        return [
            a
            for t, a in self.tags
            if (tag is None or t == tag) and (cls is None or cls in (a.get("class") or "").split())
        ]


def _render(result: ValidationResult, tmp_path: Path, thumbs: Path | None) -> tuple[str, _Page]:
    path = write_report(result, tmp_path / "report.html", thumbs)
    html = path.read_text(encoding="utf-8")
    page = _Page()
    page.feed(html)
    return html, page


def test_templates_dir_is_at_repo_root() -> None:
    assert (templates_dir() / "report.html").is_file()
    assert templates_dir().parent == Path(__file__).resolve().parent.parent


def test_html_escapes_titles(result: ValidationResult, tmp_path: Path, thumbs: Path) -> None:
    html, page = _render(result, tmp_path, thumbs)
    text = "".join(page.text)
    assert HTML_TITLE in text  # shown as text ...
    assert "&lt;b&gt;x&lt;/b&gt;" in html and HTML_TITLE not in html  # ... because it is escaped
    assert SCRIPT_DESC not in html
    assert len(page.all("script")) == 1  # only the page's own filter script
    assert not [a for _t, a in page.tags if any(k.startswith("on") for k in a)], "no event-handler attributes"
    assert "<img src=x" not in html
    assert FORMULA_TITLE in text  # HTML shows the formula title verbatim, as text
    assert "王小明" in text and "北京市第四中学" in text and "刘䶮" in text


def test_html_summary_and_order(result: ValidationResult, tmp_path: Path, thumbs: Path) -> None:
    _html, page = _render(result, tmp_path, thumbs)
    assert page.by_id["count-entries"] == "5"
    assert page.by_id["count-eligible"] == "1"
    assert page.by_id["count-review"] == "2"
    assert page.by_id["count-rejected"] == "2"
    cards = page.all("article", "entry")
    # attention first: waiting for a decision (review), then rejected, then eligible, as the terminal lists them;
    # the result's order within a status
    assert [a["id"] for a in cards] == ["entry-E002", "entry-E004", "entry-E003", "entry-E005", "entry-E001"]
    assert [a["data-status"] for a in cards] == ["review", "review", "rejected", "rejected", "eligible"]
    # most frequent reasons: each reject/review rule, as a filter button
    reasons = [a["data-rule"] for a in page.all("button") if a.get("data-rule")]
    assert set(reasons) == {"face", "text-watermark", "language", "min-width", "grade", "unlisted-file", "unreadable"}
    # every finding with its severity
    sev = [a["class"] for a in page.all("span", "sev")]
    assert sev.count("sev reject") >= 3 and sev.count("sev info") >= 1
    text = "".join(page.text)
    assert "grade 13 outside 7-12" in text and "editing software recorded: Adobe Lightroom" in text
    assert "reject: grade checked (li, 2025-04-01 18:00)" in text  # the ledger's UTC, in the contest's zone


def test_html_thumbnails_are_embedded(result: ValidationResult, tmp_path: Path, thumbs: Path) -> None:
    html, page = _render(result, tmp_path, thumbs)
    imgs = page.all("img")
    assert len(imgs) == 3  # E004's thumbnail is gone, E005's name leaves the cache folder: no image
    for a in imgs:
        src = a["src"] or ""
        assert src.startswith("data:image/jpeg;base64,")
        assert a["loading"] == "lazy"
        with Image.open(io.BytesIO(base64.b64decode(src.split(",", 1)[1]))) as im:
            im.load()
            assert im.format == "JPEG" and max(im.size) <= 320
            assert int(a["width"] or 0) <= 220 and int(a["height"] or 0) <= 220
    # self-contained: nothing fetched from anywhere
    for _t, a in page.tags:
        for key in ("src", "href"):
            value = a.get(key)
            if value is not None and key == "src":
                assert value.startswith("data:"), value
            if value is not None and key == "href":
                assert value.startswith("file:///contest/inbox/"), value
    assert not page.all("link")
    assert not re.search(r"url\(|@import|https?://(?!x\b)", html.replace(FORMULA_TITLE.replace('"', "&#34;"), ""))
    assert "no preview: truncated JPEG" in "".join(page.text)


def test_html_face_and_text_boxes(result: ValidationResult, tmp_path: Path, thumbs: Path) -> None:
    _html, page = _render(result, tmp_path, thumbs)
    faces = page.all("span", "face")
    texts = page.all("span", "text")
    assert len(faces) == 2 and len(texts) == 1

    def pct(style: str, prop: str) -> float:
        m = re.search(rf"(?<![-\w]){prop}: ([\d.]+)%", style)
        assert m, style
        return float(m.group(1))

    first = faces[0]["style"] or ""
    # [300, 100, 200, 300] in a 1600 x 1200 image
    assert pct(first, "left") == pytest.approx(18.75)
    assert pct(first, "top") == pytest.approx(8.333, abs=0.01)
    assert pct(first, "width") == pytest.approx(12.5)
    assert pct(first, "height") == pytest.approx(25.0)
    assert faces[0]["title"] == "face 0.97"
    assert texts[0]["title"] == "text 0.80: <img src=x onerror=alert(1)>"  # attribute text, escaped in the file
    assert pct(texts[0]["style"] or "", "top") == pytest.approx(91.667, abs=0.01)


def test_html_without_thumbnails(result: ValidationResult, tmp_path: Path) -> None:
    _html, page = _render(result, tmp_path, None)
    assert page.all("img") == []
    assert page.all("span", "box") == []
    assert "no preview" in "".join(page.text)


def test_html_bad_box_data_is_skipped(tmp_path: Path, thumbs: Path) -> None:
    odd = [
        Finding("face", Severity.REVIEW, "no data"),
        Finding("face", Severity.REVIEW, "zero size", {"boxes": [[1, 2, 3, 4]], "width": 0, "height": 0}),
        Finding("face", Severity.REVIEW, "junk", {"boxes": [["a"], None, [1, 2]], "width": 10, "height": 10}),
        Finding("face", Severity.REVIEW, "ok", {"boxes": [[0, 0, 5, 5]], "width": 10, "height": 10}),
    ]
    r = EntryResult(_entry("E009"), Status.REVIEW, "high", odd, _photo("face.jpg"))
    _html, page = _render(ValidationResult("/s", "/w", [r]), tmp_path, thumbs)
    boxes = page.all("span", "box")
    assert len(boxes) == 1 and "width: 50.0%" in (boxes[0]["style"] or "")


def test_html_empty_result(tmp_path: Path) -> None:
    _html, page = _render(ValidationResult("/s", "/w", []), tmp_path, None)
    assert page.by_id["count-entries"] == "0"
    assert "No entries." in "".join(page.text)


def test_html_thousands_of_entries(tmp_path: Path, thumbs: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A big contest: each distinct thumbnail is encoded once, whatever the number of entries showing it (counted,
    not timed: how fast is bench/bench_bounds.py's to say, as a ratio to the same result's JSON, in the same run)."""
    from milsetctl.report import html as html_module

    encoded: list[str] = []
    real_embed = html_module._embed

    def counting_embed(path: Path) -> tuple[str, int, int] | None:
        encoded.append(path.name)
        return real_embed(path)

    monkeypatch.setattr(html_module, "_embed", counting_embed)
    entries = [
        EntryResult(
            _entry(f"E{i:05d}", title=f"Photo {i}"),
            [Status.ELIGIBLE, Status.REVIEW, Status.REJECTED][i % 3],
            "middle",
            [Finding("camera-origin", Severity.REVIEW, "no camera make/model")] if i % 3 else [],
            _photo(["eligible.jpg", "face.jpg", "tall.jpg"][i % 3]),
        )
        for i in range(3000)
    ]
    html, page = _render(ValidationResult("/s", "/w", entries), tmp_path, thumbs)
    assert len(page.all("article", "entry")) == 3000
    assert len(page.all("img")) == 3000
    assert sorted(encoded) == ["eligible.jpg", "face.jpg", "tall.jpg"]  # 3 encodes for 3,000 pictures


def test_a_killed_runs_temporary_beside_the_report_is_removed_by_the_next_write(tmp_path: Path) -> None:
    """A SIGKILLed validate leaves `.validation.PID.part.csv`; the next report written there removes it (its
    process is gone) and keeps a live process's temporary."""
    import os
    import subprocess
    import sys

    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    stale = tmp_path / f".validation.{int(gone.stdout)}.part.csv"
    stale.write_text("half", encoding="utf-8")
    live = tmp_path / f".validation.{os.getppid()}.part.csv"
    live.write_text("in use", encoding="utf-8")
    write_report(ValidationResult("/s", "/w", []), tmp_path / "validation.csv")
    assert (tmp_path / "validation.csv").exists()
    assert not stale.exists() and live.exists()
