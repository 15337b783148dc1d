"""Result notices (issue 19): one PDF letter per contestant read back with pypdf, in plain words, with the award's
certificate codes from the ledger; the mail-merge table read back; English and Chinese; the stage graph."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from notices_fixtures import AWARDED, NO_EMAIL, WITHDRAWN, certificate_codes, notices_contest
from pypdf import PdfReader
from typer.testing import CliRunner

from milsetctl.cli import app
from milsetctl.notices import NoticeError, make_notices
from milsetctl.notices.merge import write_mail_merge
from milsetctl.notices.model import Notice

runner = CliRunner()


def pdf_pages(path: Path) -> list[str]:
    """Each page's text, with the line breaks of the layout made spaces (a sentence may wrap anywhere)."""
    return [" ".join((page.extract_text() or "").split()) for page in PdfReader(str(path)).pages]


def pdf_text(path: Path) -> str:
    return " ".join(pdf_pages(path))


@pytest.fixture(scope="module")
def contest(tmp_path_factory: pytest.TempPathFactory):
    ws = notices_contest(tmp_path_factory.mktemp("notices"))
    batch = make_notices(ws)
    yield ws, batch
    ws.close()


def _by_entry(batch) -> dict[str, Notice]:
    return {n.entry_id: n for n in batch.notices}


def test_one_notice_per_contestant_with_status_and_award(contest) -> None:
    ws, batch = contest
    notices = _by_entry(batch)
    assert sorted(notices) == ["E0001", "E0002", "E0003", "E0004", "E0005", "E0006", "E0007"]
    assert [h.entry_id for h in batch.held] == ["E0008"]  # waits for a decision: told nothing yet
    assert {e: (n.status, n.award) for e, n in notices.items()} == {
        "E0001": ("eligible", "qualifier"), "E0002": ("eligible", "qualifier"), "E0003": ("eligible", None),
        "E0004": ("eligible", None), "E0005": ("rejected", None), "E0006": ("rejected", None),
        "E0007": ("withdrawn", None)}
    for n in batch.notices:
        assert n.file is not None and n.file.is_file() and n.file.parent == ws.root / "notices"
        assert len(PdfReader(str(n.file)).pages) == 1  # one page: a letter, not a report
        assert n.eml is None  # no --eml


def test_rejected_notice_names_the_reason_in_plain_words_and_the_rule(contest) -> None:
    _, batch = contest
    text = pdf_text(_by_entry(batch)["E0005"].file)
    assert "Dear 王芳," in text and "Your photo could not be judged" in text
    assert "Your photo is too small: it is not wide enough." in text
    assert "The rule: Photos must be at least 2,000 pixels wide" in text
    assert "min-width" not in text  # never the rule's ID
    assert "reply to this e-mail and tell us why" in text


def test_a_decision_is_said_with_the_organisers_words(contest) -> None:
    _, batch = contest
    text = pdf_text(_by_entry(batch)["E0006"].file)
    assert "The organisers looked at your entry closely and decided it cannot take part." in text
    assert "“a recognisable face on the poster”" in text
    assert "A person's face can be seen in your photo." in text
    assert "photos must not show people's faces" in text


def test_eligible_notice_says_judged_with_the_participation_code(contest) -> None:
    ws, batch = contest
    text = pdf_text(_by_entry(batch)["E0003"].file)
    assert "Your photo was accepted and judged" in text
    assert "did not win an award this time" in text and "best 35% of each category" in text
    [code] = certificate_codes(ws)["E0003"]
    assert "Certificate of Participation" in text and code in text


def test_awarded_notice_names_the_award_its_codes_and_what_comes_next(contest) -> None:
    ws, batch = contest
    for entry_id in AWARDED:
        text = pdf_text(_by_entry(batch)[entry_id].file)
        assert "Congratulations: your photo has won a Qualifier Award!" in text
        assert "best 35% of them" in text
        for code in certificate_codes(ws)[entry_id]:  # participation and qualifier
            assert code in text
        assert "Qualifier Award · Middle School" in text or "Qualifier Award · High School" in text
        assert "nominated for the global round" in text  # not nominated yet: it will be decided


def test_withdrawn_notice(contest) -> None:
    _, batch = contest
    text = pdf_text(_by_entry(batch)[WITHDRAWN].file)
    assert "Your entry was withdrawn" in text and "If you did not mean to withdraw" in text


def test_mail_merge_table_xlsx_and_csv(contest) -> None:
    import openpyxl

    _, batch = contest
    sheet = openpyxl.load_workbook(batch.mail_merge).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:7] == ("contestant_id", "entry_id", "email", "name", "subject", "body", "attachments")
    table = {r[1]: r for r in rows[1:]}
    assert sorted(table) == sorted(n.entry_id for n in batch.notices)
    first = table["E0001"]
    assert first[2] == "zhangwei@example.cn" and first[3] == "张伟"
    assert first[4] == "Your result in the MILSET STEAM Photo Contest 2022"
    assert "Congratulations: your photo has won a Qualifier Award!" in first[5]
    attachments = first[6].split("; ")
    assert attachments[0].endswith(".pdf") and Path(attachments[0]) == _by_entry(batch)["E0001"].file
    assert len(attachments) == 3  # the notice, the participation and the qualifier certificate
    assert table[NO_EMAIL][2] in ("", None)
    with batch.mail_merge_csv.open(encoding="utf-8-sig", newline="") as fh:
        csv_rows = list(csv.DictReader(fh))
    assert [r["entry_id"] for r in csv_rows] == [r[1] for r in rows[1:]]
    assert csv_rows[0]["body"] == first[5]


def test_mail_merge_cells_stay_text(tmp_path: Path) -> None:
    """A name written like a formula is shown as typed in both tables (SPEC "Never")."""
    import openpyxl

    notice = Notice(key="X1", contestant_id="X1", entry_id="E0001", name='=HYPERLINK("http://x","y")',
                    email="a@example.org", school="", title="-1+1", category="middle", status="eligible",
                    award=None, stage="national")
    xlsx, csv_path = write_mail_merge(tmp_path, [notice], {"X1": ("+subject", "@body")})
    row = list(openpyxl.load_workbook(xlsx).active.iter_rows(min_row=2, values_only=True))[0]
    assert row[3] == '=HYPERLINK("http://x","y")' and row[4] == "+subject" and row[5] == "@body"
    assert openpyxl.load_workbook(xlsx).active["D2"].data_type == "s"
    with csv_path.open(encoding="utf-8-sig", newline="") as fh:
        line = list(csv.DictReader(fh))[0]
    assert line["name"] == "'=HYPERLINK(\"http://x\",\"y\")" and line["subject"] == "'+subject"


def test_a_second_run_draws_nothing_again(contest) -> None:
    ws, batch = contest
    again = make_notices(ws)
    assert again.drawn == 0
    assert [n.file for n in again.notices] == [n.file for n in batch.notices]


def test_cli_json_and_the_stage(contest) -> None:
    ws, _ = contest
    res = runner.invoke(app, ["notices", "-w", str(ws.root), "--json"])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert set(doc) >= {"notices", "mail_merge"}
    assert all(set(n) == {"contestant_id", "entry_id", "status", "award", "file", "eml"} for n in doc["notices"])
    assert Path(doc["mail_merge"]).name == "mail-merge.xlsx"
    assert {n["entry_id"]: n["status"] for n in doc["notices"]}["E0007"] == "withdrawn"
    assert "E0008" in res.stderr  # held back, said
    res = runner.invoke(app, ["status", "-w", str(ws.root), "--json"])
    states = {s["stage"]: s["state"] for s in json.loads(res.stdout)["stages"]}
    assert states["notices"] == "done"
    from milsetctl import stages

    kept = {o.path: o for o in stages.recorded_outputs(ws)}[ws.root / "notices"]  # purge finds the letters
    assert kept.source == "notices" and not kept.kind.remade


def test_a_corrected_name_makes_the_notices_stale(tmp_path: Path) -> None:
    from milsetctl import stages

    with notices_contest(tmp_path, certificates=False) as ws:
        make_notices(ws)
        assert stages.state_of(ws, "notices").state == "done"
        ws.ledger.db.execute("UPDATE entries SET name='张伟伟' WHERE entry_id='E0001'")
        ws.ledger.db.commit()
        state = stages.state_of(ws, "notices")
        assert state.state == "stale" and "E0001: name changed" in " ".join(state.why)
        assert state.next == "milsetctl notices"


def test_no_notices_before_the_awards(tmp_path: Path) -> None:
    from jury_fixtures import PEOPLE, jury_workspace

    with jury_workspace(tmp_path, people=PEOPLE[:2], png_every=0) as ws:
        with pytest.raises(NoticeError, match=r"milsetctl awards"):
            make_notices(ws)
        res = runner.invoke(app, ["notices", "-w", str(ws.root)])
        assert res.exit_code == 1 and "not made yet" in res.stderr


def test_bilingual_notice_has_the_chinese_text(tmp_path: Path) -> None:
    with notices_contest(tmp_path, settings='[notices]\nlanguages = ["en", "zh"]') as ws:
        batch = make_notices(ws)
        notices = _by_entry(batch)
        english, chinese = pdf_pages(notices["E0005"].file)  # one page per language
        assert "Your photo is too small" in english
        assert "评审结果通知" in chinese and "亲爱的王芳同学" in chinese
        assert "你的照片尺寸太小：宽度不够。" in chinese
        assert "宽度必须至少为 2,000 像素" in chinese
        assert "min-width" not in chinese
        award = pdf_pages(notices["E0001"].file)[1]
        assert "祝贺你：你的照片获得了晋级奖！" in award and "初中组" in award
        for code in certificate_codes(ws)["E0001"]:
            assert code in award
        assert "Qualifier Award · Middle School" in award  # the certificate's own words, as printed (English)
        assert batch.languages == ["en", "zh"]
        # the Chinese glyphs from the batch's cut faces (render.batch_fonts), never a whole system Noto CJK face
        fonts = {str(font.get_object()["/BaseFont"]).split("+")[-1] for page in PdfReader(notices["E0001"].file).pages
                 for font in page["/Resources"].get_object()["/Font"].values()}
        assert [any(f.startswith(f"Notice-{role}-CJK-") for f in fonts) for role in ("serif", "sans")] == [True] * 2
        assert not [f for f in fonts if "Noto" in f], fonts
        assert notices["E0001"].file.stat().st_size < 150_000  # each system face added ~200 KB


def test_chinese_only_notice(tmp_path: Path) -> None:
    with notices_contest(tmp_path, settings='[notices]\nlanguages = ["zh"]', certificates=False) as ws:
        batch = make_notices(ws)
        [page] = pdf_pages(_by_entry(batch)["E0003"].file)
        assert "你的照片已通过审核并参加了评审" in page and "Result notice" not in page


def test_an_unknown_language_is_refused_naming_the_setting(tmp_path: Path) -> None:
    with notices_contest(tmp_path, settings='[notices]\nlanguages = ["en", "fr"]', certificates=False) as ws, \
            pytest.raises(NoticeError, match=r"\[notices\] languages: no catalogue for 'fr'"):
        make_notices(ws)


def test_nominated_and_not_nominated_qualifiers_and_the_verify_page(tmp_path: Path) -> None:
    from milsetctl import stages

    with notices_contest(tmp_path, settings='[certificates]\nverify_url = "https://example.org/verify"',
                         certificates=False) as ws:
        stages.record(ws, "nominate", {"zip": str(tmp_path / "n.zip"), "top": 1, "entries": ["E0001"]})
        from milsetctl.certificates import issue_certificates

        issue_certificates(ws, "qualifier", workers=1)
        notices = _by_entry(make_notices(ws))
        assert notices["E0001"].nominated is True and notices["E0002"].nominated is False
        text = pdf_text(notices["E0001"].file)
        assert "Your photo has been nominated for the global round of the contest" in text
        assert "by entering its code at https://example.org/verify." in text
        [code] = certificate_codes(ws)["E0001"]
        links = [a["/A"]["/URI"] for a in PdfReader(str(notices["E0001"].file)).pages[0].get("/Annots", [])
                 if "/A" in a.get_object()]
        assert f"https://example.org/verify#{code}" in [str(link) for link in links]
        assert "Yours was not among them this year, but your Qualifier Award stands." in pdf_text(
            notices["E0002"].file)


def test_global_places_and_the_gallery(tmp_path: Path) -> None:
    from jury_fixtures import PEOPLE, jury_workspace

    with jury_workspace(tmp_path, people=PEOPLE[:4], png_every=0, stage="global") as ws:
        ws.ledger.save_ranking([{"entry_id": f"E000{i}", "anon_id": f"A{i}", "category": None, "score": 90.0 - i,
                                 "rank": i} for i in range(1, 5)], "mean", 1)
        ws.ledger.save_awards([
            {"entry_id": "E0001", "anon_id": "A1", "category": None, "score": 89.0, "rank": 1, "award": "global-1"},
            {"entry_id": "E0002", "anon_id": "A2", "category": None, "score": 88.0, "rank": 2, "award": "global-2"},
            {"entry_id": "E0003", "anon_id": "A3", "category": None, "score": 87.0, "rank": 4, "award": "gallery"},
            {"entry_id": "E0004", "anon_id": "A4", "category": None, "score": 86.0, "rank": 5, "award": None},
        ], "global")
        notices = _by_entry(make_notices(ws))
        first = pdf_text(notices["E0001"].file)
        assert "Congratulations: your photo has won the Global Award, First Place!" in first
        assert "The jury placed it first of all the photos." in first
        assert "second of all the photos" in pdf_text(notices["E0002"].file)
        gallery = pdf_text(notices["E0003"].file)
        assert "chosen for the Virtual Gallery" in gallery and "one of the best 10 photos" in gallery
        assert "Your certificate" in gallery  # no gallery certificate printed yet: it will follow
        assert "Virtual Gallery Selection certificate will follow" in gallery
        judged = pdf_text(notices["E0004"].file)
        assert "Your photo was judged in the global round" in judged and "Qualifier" not in judged
