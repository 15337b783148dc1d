"""Minors' personal data (issue 11): the anonymised export holds none, and `purge --personal-data` removes it from
the ledger (down to the file's bytes) and the caches while results, the audit chain and certificate codes stay."""

from __future__ import annotations

import csv
import json
import re
import shutil
from pathlib import Path

import openpyxl
import pytest
from jury_fixtures import PEOPLE, jury_workspace
from test_members import HEADER, ROWS, write_csv
from typer.testing import CliRunner

from milsetctl.certificates import issue_certificates, verify_code
from milsetctl.cli import app
from milsetctl.decisions import record_decision
from milsetctl.models import Finding, Severity
from milsetctl.workspace import open_workspace

runner = CliRunner()
JUROR = {"key": "rosa.marquez@example.org", "name": "Rosa Márquez", "affiliation": "Museo de Ciencias",
         "country": "Spain", "email": "rosa.marquez@example.org", "school": "Instituto Cervantes"}


def personal_values() -> list[str]:
    """Every personal value the fixture put into the contest: contestants' and the juror's."""
    values = [v for p in PEOPLE for v in (p.name, p.school, p.email, p.contestant_id)]
    values += [JUROR["name"], JUROR["email"], JUROR["school"], JUROR["affiliation"]]
    return values


def leaked(blob: bytes) -> list[str]:
    """The personal values found in `blob`, as UTF-8 or as JSON's \\uXXXX escapes."""
    found = []
    for value in personal_values():
        forms = {value.encode("utf-8"), json.dumps(value)[1:-1].encode("ascii")}
        if any(form in blob for form in forms):
            found.append(value)
    return found


def _build(root: Path) -> Path:
    """A finished national round: findings, decisions, jurors, scores, ranking, awards, qualifier certificates,
    thumbnails and a validation report, with personal values wherever a real contest leaves them."""
    ws = jury_workspace(root, png_every=0)
    rows = [dict(r) for r in ws.ledger.entries()]
    for r in rows:
        r.pop("present"), r.pop("first_seen"), r.pop("updated_at")
    for i in (5, 6, 7):  # hostile text, three times (a country of one would be grouped): stays text in the export
        rows[i]["country"] = "=HYPERLINK(\"http://x\")"
    # with E0001: three entries from Beijing, from China, each written another way
    rows[2]["province"], rows[4]["province"] = "北京市", "beijing"
    rows[0]["country"], rows[4]["country"] = "中国", "CN"
    rows[6]["extra"] = json.dumps({"parent": "Zhao Guoqiang", "phone": "+86 138 0000 1234"})
    findings = {"E0008": [Finding("duplicate", Severity.REJECT, f"the same photo as E0001 by {PEOPLE[0].name}",
                                  {"other_file": f"photos/{PEOPLE[0].name} 0.jpg"})],
                "E0006": [Finding("exif-missing", Severity.REVIEW, "no camera metadata", None)]}
    rows[7]["status"] = "rejected"
    ws.ledger.save_results(rows, findings)
    ws.ledger.remember_file(f"/contest/photos/{PEOPLE[1].name} 1.jpg", 10, 1, "ab" * 32)
    ws.ledger.db.execute("INSERT INTO photos VALUES (?, 1, ?, '2022-07-10T00:00:00+00:00')",
                         ("cd" * 32, json.dumps({"artist": PEOPLE[2].name, "gps": [39.9, 116.4]})))
    ws.ledger.commit()
    record_decision(ws.ledger, "E0003", "accept", f"{PEOPLE[2].name}'s teacher at {PEOPLE[2].school} sent the "
                    "original")
    ws.ledger.save_jurors([JUROR])
    anon = {}
    for i, e in enumerate(ws.ledger.entries()[:7]):
        anon[e["entry_id"]] = f"K7Q{i}"
        ws.ledger.add_anon_id(f"K7Q{i}", e["entry_id"], f"photos/K7Q{i}.jpg")
    ws.ledger.replace_scores([JUROR["name"]], [
        (JUROR["name"], a, json.dumps({"impact": 10 - i}), "strong light" if i == 0 else None,
         f"jury/sheets/J01 {JUROR['name']}.xlsx", i + 2) for i, a in enumerate(anon.values())],
        "mean", [f"jury/sheets/J01 {JUROR['name']}.xlsx"])
    cats = {e["entry_id"]: e["category"] for e in ws.ledger.entries()}
    ranked = [{"entry_id": e, "anon_id": a, "category": cats[e], "score": 90.0 - i, "rank": i // 2 + 1}
              for i, (e, a) in enumerate(anon.items())]
    ws.ledger.save_ranking(ranked, "mean", 1)
    ws.ledger.save_awards([{**r, "award": "qualifier" if r["rank"] == 1 else None} for r in ranked], "national")
    batch = issue_certificates(ws, "qualifier", workers=1)
    assert sorted(i.entry_id for i in batch.issued) == ["E0001", "E0002"]
    ws.thumbs.mkdir(parents=True, exist_ok=True)
    (ws.thumbs / "0a91cf6f.jpg").write_bytes(b"\xff\xd8 thumbnail of a face \xff\xd9")
    (ws.root / "reports").mkdir(exist_ok=True)
    (ws.root / "reports" / "validation.html").write_text(f"<td>{PEOPLE[0].name}</td>", encoding="utf-8")
    (ws.root / "reports" / "contest-report.html").write_text("<p>37 entries</p>", encoding="utf-8")
    ws_root = ws.root
    ws.close()
    return ws_root


@pytest.fixture(scope="module")
def finished_once(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _build(tmp_path_factory.mktemp("privacy"))


@pytest.fixture
def finished(finished_once: Path, tmp_path: Path) -> Path:
    root = tmp_path / "ws"
    shutil.copytree(finished_once, root)
    return root


def _codes(root: Path) -> list[str]:
    with open_workspace(root) as ws:
        return [r["code"] for r in ws.ledger.certificate_rows()]


def _results(root: Path) -> tuple[list, list, list]:
    with open_workspace(root) as ws:
        return ([tuple(r) for r in ws.ledger.ranking()], [tuple(r)[:-1] for r in ws.ledger.awards()],
                [(r["entry_id"], r["anon_id"]) for r in ws.ledger.anon_rows()])


def test_export_anonymised_csv_and_xlsx_hold_no_personal_value(finished: Path, tmp_path: Path) -> None:
    res = runner.invoke(app, ["export", "--anonymised", str(tmp_path / "out.xlsx"), "-w", str(finished), "--json"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["rows"] == 8
    book = openpyxl.load_workbook(tmp_path / "out.xlsx")
    assert book.sheetnames == ["results", "statistics"]
    cells = [c for ws in book for row in ws.iter_rows() for c in row]
    text = "\n".join(str(c.value) for c in cells if c.value is not None)
    assert not leaked(text.encode("utf-8")) and "Zhao Guoqiang" not in text and "Night sky" not in text
    header = [c.value for c in book["results"][1]]
    assert header == ["export_id", "category", "country", "province", "status", "decision", "rules", "score",
                      "rank", "award"]
    rows = {r[0]: dict(zip(header, r, strict=True)) for r in book["results"].iter_rows(min_row=2, values_only=True)}
    by_score = {r["score"]: r for r in rows.values()}
    assert by_score[90.0]["award"] == "qualifier" and by_score[90.0]["rank"] == 1
    rejected = [r for r in rows.values() if r["status"] == "rejected"]
    assert len(rejected) == 1 and rejected[0]["rules"] == "duplicate (reject)" and rejected[0]["score"] is None
    assert by_score[88.0]["decision"] == "accept"
    # the IDs link to nothing: not the jury's (the gallery's page names), not entry IDs, new for every export
    with open_workspace(finished) as ws:
        known = {r["anon_id"] for r in ws.ledger.anon_rows(include_withdrawn=True)}
        known |= {e["entry_id"] for e in ws.ledger.entries()}
    assert len(rows) == 8 and not set(rows) & known and all(re.fullmatch(r"R[A-Z2-9]{5}", i) for i in rows)
    assert "random" in text  # the file says so
    # rows by category, rank, status: the order tells nothing of the manifest
    order = [(str(r["category"]), r["rank"] is None, r["rank"] or 0, r["status"]) for r in rows.values()]
    assert order == sorted(order)
    # a province or a country is named only where three entries share it (counted once spelt one way): one
    # entrant from Madrid, or from Spain, is a child one can name
    assert [r["province"] for r in rows.values()].count("Beijing") == 3
    assert [r["country"] for r in rows.values()].count("China") == 3
    assert "Madrid" not in text and "Punjab" not in text
    assert not {"Spain", "Russia", "Pakistan", "中国", "CN"} & {str(c.value) for c in cells}
    assert [r["country"] for r in rows.values()].count("(a country with fewer than 3 contestants)") == 2
    hostile = next(c for c in cells if c.value == "=HYPERLINK(\"http://x\")")
    assert hostile.data_type == "s" and hostile.quotePrefix  # shown as typed, never run
    stats = [tuple(r) for r in book["statistics"].iter_rows(min_row=2, values_only=True)]
    assert ("entries", "all", 8) in stats and ("awards", "middle / qualifier", 1) in stats

    res = runner.invoke(app, ["export", "--anonymised", str(tmp_path / "out.csv"), "-w", str(finished)])
    assert res.exit_code == 0, res.output
    for name in ("out.csv", "out-statistics.csv"):
        blob = (tmp_path / name).read_bytes()
        assert not leaked(blob)
    table = list(csv.reader((tmp_path / "out.csv").read_text(encoding="utf-8-sig").splitlines()))
    assert len(table) == 9 and "'=HYPERLINK(\"http://x\")" in [c for r in table for c in r]
    assert not {r[0] for r in table[1:]} & set(rows)  # another export, other IDs
    res = runner.invoke(app, ["export", str(tmp_path / "x.csv"), "-w", str(finished)])
    assert res.exit_code == 2
    res = runner.invoke(app, ["export", "--anonymised", str(tmp_path / "x.pdf"), "-w", str(finished)])
    assert res.exit_code == 2


def test_export_counts_children_not_entries_per_place(finished: Path) -> None:
    """Three entries from Beijing by one child are one child from Beijing: the place is not named."""
    from milsetctl.privacy import SMALL_COUNTRY, SMALL_REGION, anonymised_tables

    with open_workspace(finished) as ws:
        results, _ = anonymised_tables(ws)
        assert [r[3] for r in results].count("Beijing") == 3
        ws.ledger.db.execute("UPDATE entries SET contestant_id = 'CN-BJ-7' WHERE entry_id IN ('E0001', 'E0003')")
        ws.ledger.db.execute("UPDATE entries SET contestant_id = NULL, name = ' li  MING ' WHERE entry_id = 'E0005'")
        ws.ledger.db.execute("UPDATE entries SET name = 'Li Ming' WHERE entry_id IN ('E0001', 'E0003')")
        ws.ledger.commit()
        results, _ = anonymised_tables(ws)  # two children (one by ID, one by name): fewer than 3
        assert "Beijing" not in [r[3] for r in results] and "China" not in [r[2] for r in results]
        assert [r[3] for r in results].count(SMALL_REGION) >= 3 and [r[2] for r in results].count(SMALL_COUNTRY) >= 3


def test_dry_run_and_refusal_change_nothing(finished: Path) -> None:
    before = (finished / "ledger.sqlite").read_bytes()
    res = runner.invoke(app, ["purge", "--personal-data", "--dry-run", "--json", "-w", str(finished)])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert doc["dry_run"] and doc["ledger"]["entries: rows with personal fields"] == 8
    assert doc["ledger"]["issued certificates: names removed, codes kept"] == 2
    assert {f["folder"] for f in doc["folders"]} == {"cache/", "reports/validation.html"}
    res = runner.invoke(app, ["purge", "--personal-data", "-w", str(finished)])  # no terminal, no --yes
    assert res.exit_code == 2 and "--yes" in res.stderr
    assert (finished / "cache" / "thumbs" / "0a91cf6f.jpg").exists()
    with open_workspace(finished) as ws:
        assert ws.ledger.entry("E0001")["name"] == PEOPLE[0].name
        assert not [r for r in ws.ledger.audit_rows() if r["action"] == "purge"]
    assert leaked(before)  # the fixture really holds what the purge must remove


def test_purge_removes_personal_data_keeps_results_and_codes(finished: Path) -> None:
    codes, results = _codes(finished), _results(finished)
    res = runner.invoke(app, ["export", "--anonymised", str(finished / "reports" / "anon.xlsx"), "-w", str(finished)])
    assert res.exit_code == 0, res.output
    res = runner.invoke(app, ["--by", "Coordinator", "purge", "--personal-data", "--yes", "-w", str(finished)],
                        terminal_width=200)
    assert res.exit_code == 0, res.output
    assert "Removed personal data" in res.stdout and "cache/" in res.stdout and "certificates/" in res.stdout
    # not a byte of it left in the ledger, its WAL or the caches (VACUUM: no deleted text in free pages)
    for path in finished.glob("ledger.sqlite*"):
        assert not leaked(path.read_bytes()), path
    assert b"Zhao Guoqiang" not in (finished / "ledger.sqlite").read_bytes()
    assert not (finished / "cache").exists() and not (finished / "reports" / "validation.html").exists()
    assert (finished / "reports" / "contest-report.html").exists()  # no personal value in them: kept
    assert (finished / "reports" / "anon.xlsx").exists()
    # results kept: ranking, awards, anonymous IDs; certificate codes verify, saying the name is gone
    assert _results(finished) == results and _codes(finished) == codes
    with open_workspace(finished) as ws:
        answer = verify_code(ws, codes[0])
        assert answer["valid"] and answer["recipient"] == "(name purged)" and answer["kind"] == "qualifier"
        assert answer["year"] == "2022" and answer["issued_at"]  # still signed: the purge's seal keeps them
        assert answer["entry_id"] in ("E0001", "E0002")
        e = ws.ledger.entry("E0003")
        assert e["category"] == "middle" and e["status"] and e["name"] is None and e["key"] == "E0003"
        assert "[purged]" in ws.ledger.decision_history("E0003")[0]["reason"]
        assert {r[0] for r in ws.ledger.score_rows()} == {"J01"}  # the juror by ID, not merged into "[purged]"
        purge = [r for r in ws.ledger.audit_rows() if r["action"] == "purge"]
        assert len(purge) == 1 and purge[0]["who"] == "Coordinator"
        # every kind of event this contest went through is on the trail
        assert {"init", "decide", "score", "awards", "certificates", "export-anonymised", "purge"} <= {
            r["action"] for r in ws.ledger.audit_rows()}
    res = runner.invoke(app, ["verify", codes[1], "-w", str(finished)])
    assert res.exit_code == 0 and "genuine" in res.stdout and "(name purged)" in res.stdout
    res = runner.invoke(app, ["audit", "--verify", "--json", "-w", str(finished)])
    doc = json.loads(res.stdout)["verify"]
    assert res.exit_code == 0 and doc["ok"] and doc["scrubbed"] >= 1
    # a purged certificate row edited afterwards no longer verifies
    import sqlite3

    with sqlite3.connect(finished / "ledger.sqlite") as db:
        db.execute("UPDATE issued_certificates SET entry_id='E0007' WHERE code=?", (codes[0],))
    with open_workspace(finished) as ws:
        answer = verify_code(ws, codes[0])
        assert answer["valid"] is False and "the ledger says entry 'E0007', the code signs" in answer["problem"]
    # and a second purge finds nothing more
    res = runner.invoke(app, ["purge", "--personal-data", "--dry-run", "--json", "-w", str(finished)])
    assert json.loads(res.stdout)["ledger"] == {}


def test_purge_refuses_to_vouch_for_a_broken_trail(finished: Path) -> None:
    import sqlite3

    with sqlite3.connect(finished / "ledger.sqlite") as db:
        db.execute("UPDATE audit SET who='nobody' WHERE id=2")
    res = runner.invoke(app, ["purge", "--personal-data", "--yes", "-w", str(finished)])
    assert res.exit_code == 1 and "broken at record 2" in res.stderr and "--despite-broken-audit" in res.stderr
    with open_workspace(finished) as ws:
        assert ws.ledger.entry("E0001")["name"] == PEOPLE[0].name
    # the dry run always runs, and says the trail is broken
    res = runner.invoke(app, ["purge", "--personal-data", "--dry-run", "-w", str(finished)], terminal_width=200)
    assert res.exit_code == 0 and "broken at record 2" in res.stdout and "Would remove" in res.stdout
    res = runner.invoke(app, ["purge", "--personal-data", "--dry-run", "--json", "-w", str(finished)])
    assert res.exit_code == 0 and "record 2" in json.loads(res.stdout)["audit_broken"]
    with open_workspace(finished) as ws:
        assert ws.ledger.entry("E0001")["name"] == PEOPLE[0].name
    res = runner.invoke(app, ["purge", "--help"], terminal_width=200)
    assert "--despite-broken-audit" in res.stdout
    # told to, it purges, and its record says where the trail was broken before it ran
    res = runner.invoke(app, ["purge", "--personal-data", "--yes", "--despite-broken-audit", "-w", str(finished)],
                        terminal_width=200)
    assert res.exit_code == 0, res.output
    assert "broken at record 2" in res.stdout
    with open_workspace(finished) as ws:
        assert ws.ledger.entry("E0001")["name"] is None
        record = [r for r in ws.ledger.audit_rows() if r["action"] == "purge"][-1]
        broken = json.loads(record["detail"])["audit_broken_before_purge"]
        assert broken["record"] == 2 and "operator" in broken["problem"]


def test_purge_neutralises_every_finding_and_names_the_corrected_manifest(finished: Path, tmp_path: Path) -> None:
    """Text read from a photo names a child in words no personal column holds; the corrected manifest outside the
    workspace holds every name and is listed for the coordinator."""
    manifest = tmp_path / "fixed.csv"
    manifest.write_text("name\nLi Ming\n", encoding="utf-8")
    with open_workspace(finished) as ws:
        ws.ledger.db.execute("INSERT INTO findings VALUES ('E0004', 'text-watermark', 'review', ?, ?)", (
            'watermark: "\u00a9 Photo by Xiaoqing Oyang" along the bottom edge',
            json.dumps({"boxes": [[0, 90, 100, 100]], "texts": ["\u00a9 Photo by Xiaoqing Oyang"]})))
        ws.ledger.db.execute("INSERT INTO rule_results VALUES ('ef', 'text-watermark', 'k', ?, 'now')",
                             (json.dumps([{"message": "Xiaoqing Oyang"}]),))
        ws.ledger.commit()
        text = (finished / "contest.toml").read_text(encoding="utf-8")
    (finished / "contest.toml").write_text(text.replace('manifest = ""', f'manifest = "{manifest}"'),
                                           encoding="utf-8")
    res = runner.invoke(app, ["purge", "--personal-data", "--dry-run", "-w", str(finished)], terminal_width=300)
    assert res.exit_code == 0, res.output
    assert str(manifest) in res.stdout and "yours to delete" in res.stdout and "findings" in res.stdout
    res = runner.invoke(app, ["purge", "--personal-data", "--yes", "--json", "-w", str(finished)])
    assert res.exit_code == 0, res.output
    assert any(str(manifest) in line for line in json.loads(res.stdout)["kept"])
    assert manifest.exists()  # never deleted outside the workspace
    for path in finished.glob("ledger.sqlite*"):
        blob = path.read_bytes()
        assert b"Xiaoqing" not in blob and b"Oyang" not in blob, path
    with open_workspace(finished) as ws:
        rows = ws.ledger.db.execute("SELECT entry_id, rule, severity, message, data FROM findings "
                                    "ORDER BY entry_id, rule").fetchall()
        assert ("E0004", "text-watermark", "review", "text-watermark: details removed with the personal data",
                None) in [tuple(r) for r in rows]
        assert ("E0008", "duplicate", "reject") in [tuple(r)[:3] for r in rows]  # the rule stays for the results
        assert all(r["data"] is None and r["message"].endswith("details removed with the personal data")
                   for r in rows)


def test_personal_pattern_matches_whole_names_and_cjk_anywhere() -> None:
    from milsetctl.privacy import personal_pattern

    pattern = personal_pattern({"Li", "张伟", "CN2022-101", "Maria García"})
    assert pattern is not None
    scrub = lambda text: pattern.sub("[purged]", text)  # noqa: E731
    assert scrub("Li's photo, edited in Lightroom") == "[purged]'s photo, edited in Lightroom"
    assert scrub("张伟的照片") == "[purged]的照片"
    assert scrub("CN2022-101 and CN2022-1015") == "[purged] and CN2022-1015"
    assert scrub("from Maria García, Madrid") == "from [purged], Madrid"
    assert personal_pattern(set()) is None


def _with_members_and_files(root: Path) -> Path:
    """The finished contest plus what the demo adds: a member roster, member certificates (the organisation as
    recipient, the country as 'school'), the roster export, a refund list, the jury's contact sheet, an
    anonymised export in reports/ and a file milsetctl does not make."""
    from milsetctl.members import export_roster, import_roster

    with open_workspace(root) as ws:
        import_roster(ws, write_csv(root.parent / "roster.csv", HEADER, ROWS))
        batch = issue_certificates(ws, "member", workers=1)
        assert [i.recipient for i in batch.issued] == ["中国青少年科技教育协会", "Jeunes Sciences Québec"]
        export_roster(ws, root / "members" / "members.xlsx")
        title = ws.ledger.entry("E0002")["title"]
    (root / "fees").mkdir()
    book = openpyxl.Workbook()
    book.active.append(["entry", "name", "refund"])
    book.active.append(["E0004", PEOPLE[3].name, 50])
    book.save(root / "fees" / "refunds.xlsx")
    (root / "jury" / "package").mkdir(parents=True, exist_ok=True)
    (root / "jury" / "package" / "contact-sheet.html").write_text(f"<p>K7Q1 {title}</p>", encoding="utf-8")
    (root / "notes").mkdir()
    (root / "notes" / "calls.csv").write_text(f"called,{PEOPLE[5].email}\n", encoding="utf-8")
    res = runner.invoke(app, ["export", "--anonymised", str(root / "reports" / "results-anonymised.xlsx"),
                              "-w", str(root)])
    assert res.exit_code == 0, res.output
    return root


def test_purge_after_member_certificates_keeps_places_organisations_and_the_anonymised_export(finished: Path) -> None:
    root = _with_members_and_files(finished)
    with open_workspace(root) as ws:
        members_before = [tuple(r) for r in ws.ledger.db.execute(
            "SELECT member_id, key, organisation, country, region FROM members ORDER BY member_id")]
        places_before = [tuple(r) for r in ws.ledger.db.execute("SELECT entry_id, country, province FROM entries")]
        member_code = next(r["code"] for r in ws.ledger.certificate_rows()
                           if r["kind"] == "member" and r["recipient"] == "中国青少年科技教育协会")
    export_before = (root / "reports" / "results-anonymised.xlsx").read_bytes()
    res = runner.invoke(app, ["purge", "--personal-data", "--dry-run", "--json", "-w", str(root)])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    removed = {f["folder"]: f["why"] for f in doc["folders"]}
    assert set(removed) == {"cache/", "reports/validation.html", "members/members.xlsx",
                            "jury/package/contact-sheet.html"}
    assert "members export" in removed["members/members.xlsx"]
    kept = "\n".join(doc["kept"])
    assert "fees/: 1 file:" in kept and "notes/calls.csv: holds personal data" in kept
    assert "certificates/" in kept and "reports/results-anonymised.xlsx" not in kept
    assert not any(k.startswith(("members.", "entries.country", "jurors.country")) for k in doc["ledger"])

    res = runner.invoke(app, ["purge", "--personal-data", "--yes", "-w", str(root)], terminal_width=200)
    assert res.exit_code == 0 and res.exception is None, res.output
    assert "Traceback" not in res.output
    with open_workspace(root) as ws:
        assert [tuple(r) for r in ws.ledger.db.execute(
            "SELECT member_id, key, organisation, country, region FROM members ORDER BY member_id")] == members_before
        assert [tuple(r) for r in ws.ledger.db.execute(
            "SELECT entry_id, country, province FROM entries")] == places_before
        assert ws.ledger.db.execute("SELECT country FROM jurors").fetchone()[0] == "Spain"
        assert ws.ledger.db.execute("SELECT COUNT(*) FROM members WHERE contact IS NOT NULL OR email IS NOT NULL"
                                    ).fetchone()[0] == 0
        answer = verify_code(ws, member_code)
        assert answer["valid"] and answer["recipient"] == "中国青少年科技教育协会"
    assert (root / "reports" / "results-anonymised.xlsx").read_bytes() == export_before
    assert not (root / "members" / "members.xlsx").exists()
    assert not (root / "jury" / "package" / "contact-sheet.html").exists()
    assert (root / "fees" / "refunds.xlsx").exists() and (root / "notes" / "calls.csv").exists()
    blob = (root / "ledger.sqlite").read_bytes()
    assert not leaked(blob)
    for row in ROWS:  # member contact persons and their e-mails: gone, history included
        assert row[3].encode("utf-8") not in blob and row[4].encode("utf-8") not in blob, row
    res = runner.invoke(app, ["audit", "--verify", "-w", str(root)])
    assert res.exit_code == 0, res.output


def test_scrub_patterns_are_people_never_places_or_short_tokens() -> None:
    from milsetctl.privacy import scrub_worthy

    kept = {"中国青少年科技教育协会".casefold(), "kenya"}
    for value in ("China", "中国", "CN", "Spain", "Guangdong", "广东省", "Li", "7", "2022", "中国青少年科技教育协会"):
        assert not scrub_worthy(value, kept), value
    for value in ("张伟", "Maria García", "maria.garcia@example.es", "CN2022-101", "Night sky 1"):
        assert scrub_worthy(value, kept), value


def test_old_values_of_a_corrected_entry_are_scrubbed_from_the_audit_trail(finished: Path) -> None:
    with open_workspace(finished) as ws:
        rows = [dict(r) for r in ws.ledger.entries()]
        for r in rows:
            r.pop("present"), r.pop("first_seen"), r.pop("updated_at")
        rows[1]["name"], rows[1]["title"] = "Wilhelmina Oldname", "Portrait of Grandma Ruth"
        ws.ledger.save_results(rows, {})
        rows[1]["name"], rows[1]["title"] = "Maria García", "Night sky 2"  # the re-validation corrects both
        ws.ledger.save_results(rows, {})
        changes = [json.loads(r["detail"]) for r in ws.ledger.audit_rows(kinds=["entry-change"])]
        assert changes[-1]["entries"]["E0002"]["name"] == ["Wilhelmina Oldname", "Maria García"]
    res = runner.invoke(app, ["purge", "--personal-data", "--yes", "-w", str(finished)])
    assert res.exit_code == 0, res.output
    blob = (finished / "ledger.sqlite").read_bytes()
    assert b"Wilhelmina Oldname" not in blob and b"Grandma Ruth" not in blob
    res = runner.invoke(app, ["audit", "--verify", "--json", "-w", str(finished)])
    assert res.exit_code == 0 and json.loads(res.stdout)["verify"]["ok"]


def test_validate_refuses_a_purged_workspace_unless_told(finished: Path) -> None:
    res = runner.invoke(app, ["purge", "--personal-data", "--yes", "-w", str(finished)])
    assert res.exit_code == 0, res.output
    res = runner.invoke(app, ["validate", "-w", str(finished)])
    assert res.exit_code == 2 and "purged" in res.stderr and "--after-purge" in res.stderr
    with open_workspace(finished) as ws:
        assert ws.ledger.entry("E0001")["name"] is None  # nothing read back


def test_purge_preview_asks_and_dry_run_hints() -> None:
    from rich.console import Console

    from milsetctl.privacy import PurgeReport
    from milsetctl.trust_console import render_purge

    report = PurgeReport(dry_run=True, ledger=[("entries: rows with personal fields", 8)])
    asking = Console(record=True, width=120)
    render_purge(asking, report, asking=True)
    text = asking.export_text()
    assert "Would remove personal data (nothing changed yet)" in text and "To remove it" not in text
    assert "--dry-run" not in text
    dry = Console(record=True, width=120)
    render_purge(dry, report)
    text = dry.export_text()
    assert "dry run: nothing changed" in text and "To remove it: milsetctl purge --personal-data" in text


def test_a_purge_the_ledger_refuses_changes_nothing_and_says_so(finished: Path) -> None:
    import sqlite3

    with sqlite3.connect(finished / "ledger.sqlite") as db:  # a table some later version adds, with a constraint
        db.execute("CREATE TABLE notes (note TEXT CHECK (note NOT LIKE '%[purged]%'))")
        db.execute("INSERT INTO notes VALUES (?)", (f"called {PEOPLE[1].name}",))
    res = runner.invoke(app, ["purge", "--personal-data", "--yes", "-w", str(finished)])
    assert res.exit_code == 1 and isinstance(res.exception, SystemExit), res.output  # _fail, not a traceback
    assert "the ledger refused the purge" in res.stderr and "nothing was changed" in res.stderr
    with open_workspace(finished) as ws:
        assert ws.ledger.entry("E0001")["name"] == PEOPLE[0].name
        assert not ws.ledger.audit_rows(kinds=["purge"])
    assert (finished / "cache").exists()


def test_in_a_terminal_the_purge_shows_what_it_would_remove_then_asks(finished: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    import sys
    import types

    import milsetctl.cli as cli

    class Terminal(types.ModuleType):  # sys, except that stdin is a terminal
        def __getattr__(self, name: str) -> object:
            if name == "stdin":
                return types.SimpleNamespace(isatty=lambda: True)
            return getattr(sys, name)

    monkeypatch.setattr(cli, "sys", Terminal("sys"))
    res = runner.invoke(app, ["purge", "--personal-data", "-w", str(finished)], input="n\n", terminal_width=200)
    assert res.exit_code == 1 and "Nothing removed." in res.stderr, res.output
    preview, question = res.stderr.index("Would remove personal data (nothing changed yet)"), \
        res.stderr.index("Remove this personal data for good?")
    assert preview < question and "--dry-run" not in res.stderr and "To remove it" not in res.stderr
    with open_workspace(finished) as ws:
        assert ws.ledger.entry("E0001")["name"] == PEOPLE[0].name
    res = runner.invoke(app, ["purge", "--personal-data", "-w", str(finished)], input="y\n", terminal_width=200)
    assert res.exit_code == 0 and "Removed personal data" in res.stdout, res.output
    with open_workspace(finished) as ws:
        assert ws.ledger.entry("E0001")["name"] is None


def test_issue17_a_scrubbed_record_edited_after_the_purge_is_caught(finished: Path) -> None:
    """Issue 17: a record the purge scrubbed could be rewritten at will (its body was never checked again). The
    purge's record now carries the digest of each text it left, so an edit afterwards is named."""
    import sqlite3

    res = runner.invoke(app, ["purge", "--personal-data", "--yes", "-w", str(finished)])
    assert res.exit_code == 0, res.output
    with sqlite3.connect(finished / "ledger.sqlite") as db:
        scrubbed = [r[0] for r in db.execute("SELECT id FROM audit WHERE scrubbed=1 ORDER BY id")]
        purge = json.loads(db.execute("SELECT detail FROM audit WHERE action='purge'").fetchone()[0])
    res = runner.invoke(app, ["audit", "--verify", "--json", "-w", str(finished)])
    assert scrubbed and res.exit_code == 0 and json.loads(res.stdout)["verify"]["ok"]
    with sqlite3.connect(finished / "ledger.sqlite") as db:
        db.execute("UPDATE audit SET detail=replace(detail, '[purged]', 'Mallory Example') WHERE id=?",
                   (scrubbed[0],))
    res = runner.invoke(app, ["audit", "--verify", "--json", "-w", str(finished)])
    doc = json.loads(res.stdout)["verify"]
    assert res.exit_code == 1 and doc["broken_record"] == scrubbed[0] and "after the purge" in doc["problem"]
    assert sorted(int(k) for k in purge["scrubbed_digests"]) == scrubbed
