"""`report`: the contest in numbers (model, HTML page with inline SVG charts, terminal tables, CLI)."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from jury_fixtures import PEOPLE, jury_workspace
from test_awards import give_anon_ids, store_scores
from typer.testing import CliRunner

from milsetctl.cli import app
from milsetctl.report.contest import SEVERITY_COLOR, contest_report, render_contest_html, write_contest_html
from milsetctl.workspace import Workspace

runner = CliRunner()


def _people(**changes: dict[str, str]) -> list:
    """PEOPLE with some fields changed, keyed by contestant_id."""
    from dataclasses import replace

    return [replace(p, **changes.get(p.contestant_id.replace("-", "_"), {})) for p in PEOPLE]


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    # 广东省 written in Chinese beside "Guangdong" (E0003): one province; E0004 rejected
    people = _people(CN2022_107={"province": "广东省"})
    w = jury_workspace(tmp_path, people=people, statuses={"CN2022-104": "rejected", "CN2022-106": "review"})
    yield w
    w.close()


def scored(ws: Workspace) -> dict[str, str]:
    anon = give_anon_ids(ws)
    marks = {"Ann": {e: (i + 1, None) for i, e in enumerate(anon)},      # 1..8
             "张老师": {e: (i + 2, None) for i, e in enumerate(anon)}}   # 2..9: same order, W = 1
    store_scores(ws, anon, marks)
    return anon


def test_counts_by_province_region_category_status(ws: Workspace) -> None:
    r = contest_report(ws)
    assert r.total == 8
    assert dict(zip(r.by_status["status"], r.by_status["entries"], strict=True)) == {
        "eligible": 6, "review": 1, "rejected": 1}
    prov = r.by_province.set_index("province")
    assert prov.loc["Guangdong", "entries"] == 2 and prov.loc["Guangdong", "region"] == "South"
    assert "广东省" not in prov.index and prov["entries"].sum() == 8
    region = r.by_region.set_index("region")
    assert region.loc["South", "entries"] == 2 and r.by_region.iloc[0]["region"] == "South"  # most first
    assert region.loc["Russia", "eligible"] == 0  # abroad: grouped by country
    cat = r.by_category.set_index("category")
    assert cat.loc["middle", "entries"] == 4 and cat.loc["high", "eligible"] == 2
    assert not r.has_scores and r.agreement == {} and r.per_juror.empty


def test_countries_abroad_count_once_whatever_their_spelling(tmp_path: Path) -> None:
    """"RUS" and "Russia", "spain" and "Spain": one group each, under one name (pycountry's, as the gallery)."""
    people = _people(CN2022_104={"country": "RUS"}, CN2022_102={"country": "spain"}, CN2022_106={"country": "ES"})
    with jury_workspace(tmp_path, people=people) as w:
        region = contest_report(w).by_region.set_index("region")
    assert region.loc["Spain", "entries"] == 2 and region.loc["Russia", "entries"] == 1
    assert not {"RUS", "spain", "ES"} & set(region.index)


def test_scores_per_juror_criterion_and_agreement(ws: Workspace) -> None:
    scored(ws)
    r = contest_report(ws)
    juror = r.per_juror.set_index("juror")
    assert juror.loc["Ann", "entries"] == 8 and juror.loc["Ann", "mean"] == pytest.approx(4.5)
    assert juror.loc["张老师", "min"] == 2 and juror.loc["张老师", "max"] == 9
    assert list(r.per_criterion["criterion"]) == ["originality", "information", "technique", "impact"]
    assert r.per_criterion.iloc[0]["marks"] == 16 and r.per_criterion.iloc[0]["mean"] == pytest.approx(5.0)
    assert r.agreement["kendall_w"] == pytest.approx(1.0)
    assert r.agreement["jurors"] == 2 and r.agreement["entries"] == 8
    data = r.as_json()
    json.dumps(data)  # plain values only
    assert data["agreement"]["kendall_w"] == pytest.approx(1.0)


def test_rejection_reasons_and_awards(ws: Workspace) -> None:
    ws.ledger.db.executemany("INSERT INTO findings (entry_id, rule, severity, message, data) VALUES (?, ?, ?, ?, ?)",
                             [("E0004", "too-small", "reject", "too small", None),
                              ("E0006", "too-small", "review", "small", None),
                              ("E0006", "ai-generated", "review", "maybe AI", None)])
    ws.ledger.db.commit()
    anon = give_anon_ids(ws)
    ws.ledger.save_awards([{"entry_id": e, "anon_id": a, "category": "middle", "score": 50.0, "rank": 1,
                            "award": "qualifier" if e in ("E0001", "E0003") else None} for e, a in anon.items()],
                          "national")
    r = contest_report(ws)
    reasons = {(row.rule, row.severity): row.entries for row in r.rejections.itertuples()}
    assert reasons == {("too-small", "reject"): 1, ("too-small", "review"): 1, ("ai-generated", "review"): 1}
    assert r.awards.to_dict("records") == [{"award": "qualifier", "entries": 2}]
    html = render_contest_html(r)
    assert html.count("<svg") == 4  # region, province, category, rejections (no scores)
    assert SEVERITY_COLOR["reject"] in html and SEVERITY_COLOR["review"] in html  # bars coloured by severity
    assert "Awards given" in html and "no awards yet" not in html


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.scripts = 0
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.scripts += tag == "script"
        self.urls += [v or "" for k, v in attrs if k in ("src", "href", "xlink:href")]

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def test_page_has_inline_svg_charts_and_no_external_url(ws: Workspace, tmp_path: Path) -> None:
    scored(ws)
    path = write_contest_html(contest_report(ws), tmp_path / "out" / "r.html")
    html = path.read_text(encoding="utf-8")
    assert not list(path.parent.glob("*.tmp"))
    assert html.count("<svg") == 5  # region, province, category, jurors, criteria (no rejections here)
    assert "<?xml" not in html and "<metadata>" not in html
    parser = _Links()
    parser.feed(html)
    assert not [u for u in parser.urls if not u.startswith("#")], parser.urls
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", html, re.I)
    assert parser.scripts == 0
    text = " ".join(parser.text)
    for section in ("Participation", "Rejection and review reasons", "Scores", "Agreement between jurors", "Awards"):
        assert section in text
    assert "no rejections or reviews" in text and "no awards yet" in text and "no scores yet" not in text
    assert "1.000" in text  # Kendall's W shown


def test_page_without_scores_says_so(ws: Workspace) -> None:
    html = render_contest_html(contest_report(ws))
    assert html.count("no scores yet") == 2  # scores and agreement sections
    assert html.count("<svg") == 3


def test_titles_provinces_and_jurors_are_escaped(tmp_path: Path) -> None:
    people = _people(CN2022_101={"province": "<script>alert(1)</script>"})
    with jury_workspace(tmp_path, people=people) as w:
        anon = give_anon_ids(w)
        store_scores(w, anon, {"<img src=x onerror=alert(2)>": {e: (5, None) for e in anon}})
        html = render_contest_html(contest_report(w))
    assert "<script" not in html.lower() and "<img" not in html.lower()
    assert "&lt;script&gt;" in html.lower() and "&lt;img src=x" in html.lower()


def test_cli_writes_page_and_prints_tables(ws: Workspace) -> None:
    scored(ws)
    root = ws.root
    result = runner.invoke(app, ["report", "-w", str(root)])
    assert result.exit_code == 0, result.output
    page = root / "reports" / "contest-report.html"
    assert page.is_file() and "<svg" in page.read_text(encoding="utf-8")
    for title in ("Entries by province", "Scores per juror", "Agreement between jurors", "Guangdong", "张老师"):
        assert title in result.stdout
    assert "no awards yet" in result.stdout


def test_cli_json_and_out(ws: Workspace, tmp_path: Path) -> None:
    out = tmp_path / "elsewhere" / "numbers.html"
    result = runner.invoke(app, ["report", "-w", str(ws.root), "--out", str(out), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["entries"] == 8 and data["report"] == str(out) and out.is_file()
    assert data["per_juror"] == [] and data["agreement"] == {}
    assert {"province": "Guangdong", "region": "South", "entries": 2, "eligible": 2} in data["by_province"]


def test_cli_refuses_out_inside_source(ws: Workspace) -> None:
    result = runner.invoke(app, ["report", "-w", str(ws.root), "--out", str(Path(ws.settings.source) / "r.html")])
    assert result.exit_code == 2
    assert not (Path(ws.settings.source) / "r.html").exists()


def test_empty_workspace_has_no_charts(tmp_path: Path) -> None:
    with jury_workspace(tmp_path, people=[]) as w:
        r = contest_report(w)
        html = render_contest_html(r)
    assert r.total == 0 and r.as_json()["by_province"] == []
    assert "<svg" not in html and "no entries yet" in html and html.count("no scores yet") == 2


def _marks(ws: Workspace, anon: dict[str, str], marks: dict[str, dict[str, list[int]]]) -> None:
    """Store scores: juror -> entry_id -> one mark per criterion (CRITERIA order)."""
    from test_awards import CRITERIA

    rows = [(juror, anon[e], json.dumps(dict(zip(CRITERIA, given, strict=True))), None, f"{juror}.xlsx", i + 2)
            for juror, per_entry in marks.items() for i, (e, given) in enumerate(per_entry.items())]
    ws.ledger.replace_scores(list(marks), rows, "mean", [f"{j}.xlsx" for j in marks])


def test_juror_flags_as_score_computes_them_and_jurors_who_did_not_look(ws: Workspace) -> None:
    """Issue 19: score's own flags (juror_report: harsh, against the panel) and the two patterns of a juror who
    did not look: one score for every photo, one mark on every criterion (straight-lining)."""
    anon = give_anon_ids(ws)
    order = sorted(anon)
    varied = {e: [i + 2, i + 3, i + 2, i + 1] for i, e in enumerate(order)}  # 1..10, criteria differ
    _marks(ws, anon, {
        "Ann": varied, "Ben": varied, "Cai": varied,
        "Dev": {e: [max(1, m - 3) for m in marks] for e, marks in varied.items()},  # 3 points harsher
        "Eve": {e: [9 - i] * 4 for i, e in enumerate(order)},  # the reverse order, one mark per photo
        "Fay": {e: [6, 6, 6, 6] for e in order},  # the same score for every photo
    })
    flags = contest_report(ws).juror_flags.set_index("juror")["flags"].to_dict()
    assert flags["Ann"] == flags["Ben"] == flags["Cai"] == ""
    assert flags["Dev"].startswith("harsh: ") and "below the other jurors" in flags["Dev"]
    assert flags["Eve"].startswith("against the panel") and "straight-lining: one mark for every criterion on 8 " \
        "of 8 photos" in flags["Eve"]
    assert flags["Fay"] == "the same score for all 8 photos"
    html = render_contest_html(contest_report(ws))
    assert "Juror checks" in html and "the same score for all 8 photos" in html


def test_winners_per_category_named_as_the_setting_allows_and_entries_left_out(ws: Workspace) -> None:
    """Issue 19: the winners per category with names as [gallery] names allows; an entry whose manifest withholds
    consent to publication is named neither there nor anywhere else on the page, and listed as left out."""
    ws.ledger.db.execute("UPDATE entries SET extra=? WHERE entry_id='E0005'",
                         (json.dumps({"publication_consent": "否"}),))
    ws.ledger.db.execute("UPDATE entries SET extra=? WHERE entry_id='E0008'",
                         (json.dumps({"publication_consent": "no"}),))  # no award: off verify.html only
    ws.ledger.db.commit()
    anon = give_anon_ids(ws)
    cats = {e["entry_id"]: e["category"] for e in ws.ledger.entries()}
    ranks = {"E0001": 2, "E0003": 1, "E0005": 3, "E0002": 1, "E0006": 2}  # middle 1-3, high 1-2
    ws.ledger.save_awards([{"entry_id": e, "anon_id": a, "category": cats[e], "score": 50.0, "rank": ranks.get(e),
                            "award": "qualifier" if e in ranks else None} for e, a in anon.items()], "national")
    r = contest_report(ws)
    assert [(w.group[:6], w.rank, w.name) for w in r.winners.itertuples()] == [
        ("Middle", 1, "刘*"), ("Middle", 2, "张*"), ("Middle", 3, "(name withheld)"),
        ("High s", 1, "Maria G."), ("High s", 2, "Ahmed K.")]
    assert set(r.winners["award"]) == {"Qualifier Award"}
    assert r.withheld.to_dict("records") == [
        {"entry_id": "E0005", "category": "middle", "status": "eligible", "award": "Qualifier Award",
         "left out of": "the gallery and verify.html"},
        {"entry_id": "E0008", "category": "high", "status": "eligible", "award": "", "left out of": "verify.html"}]
    data = r.as_json()
    assert data["names"] == "initials" and len(data["winners"]) == 5 and len(data["left_out_no_consent"]) == 2
    html = render_contest_html(r)
    for hidden in ("王芳", "王*", "Night sky 5", "华中师范大学", "Maria García", "张伟"):
        assert hidden not in html, hidden
    assert "Middle school (grades 7–9): 3 winners" in html and "No consent to publication: 2 entries" in html
    ws.settings = ws.settings.__class__(raw={**ws.settings.raw, "gallery": {"names": "full"}}, path=ws.settings.path)
    full = contest_report(ws)
    assert list(full.winners["name"])[:2] == ["刘䶮", "张伟"] and "王芳" not in set(full.winners["name"])
