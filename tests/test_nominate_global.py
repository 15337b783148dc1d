"""`nominate` packs a national round's best N; the global stage's `validate` reads a folder of such packages.

The round trip: two national workspaces (China, Brazil), each ranked and nominated into one folder, then a global
workspace validates that folder with the real `validate` and ranks the union.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import zipfile
from pathlib import Path

import pytest
from jury_fixtures import Person, jury_workspace
from typer.testing import CliRunner

from milsetctl.awards.nominate import MANIFEST_COLUMNS, NominateError, choose, nominate
from milsetctl.awards.run import compute_awards
from milsetctl.cli import app
from milsetctl.ingest import read_submissions
from milsetctl.ingest.nominations import find_packages, photo_path, safe_member_path
from milsetctl.settings import defaults
from milsetctl.workspace import Workspace, init_workspace

runner = CliRunner()


def rank_all(ws: Workspace, scores: dict[str, tuple[float, int]]) -> None:
    """What `score` would store: entry_id -> (score, rank within the category); and what `awards` would: the
    first two of each category qualify."""
    cats = {e["entry_id"]: e["category"] for e in ws.ledger.entries()}
    rows = [{"entry_id": e, "anon_id": f"K7QX{e[-2:]}", "category": cats[e], "score": s, "rank": r}
            for e, (s, r) in scores.items()]
    ws.ledger.save_ranking(rows, "mean", 1)
    ws.ledger.save_awards([{**r, "award": "qualifier" if r["rank"] <= 2 else None} for r in rows], "national")


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def read_manifest(zf: zipfile.ZipFile) -> tuple[bytes, list[dict[str, str]]]:
    raw = zf.read("entries.csv")
    return raw, list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))


# --- choosing the best N ------------------------------------------------------------------------------------

def test_choose_best_n_across_categories_with_ties() -> None:
    rows = [
        {"entry_id": "E1", "category": "middle", "score": 90.0, "rank": 1},
        {"entry_id": "E2", "category": "high", "score": 85.0, "rank": 1},
        {"entry_id": "E3", "category": "middle", "score": 80.0, "rank": 2},
        {"entry_id": "E4", "category": "high", "score": 80.0, "rank": 2},  # tied with the 3rd: included
        {"entry_id": "E5", "category": "middle", "score": 80.0, "rank": 3},  # the ranking already put E3 first
        {"entry_id": "E6", "category": "high", "score": 70.0, "rank": 3},
    ]
    chosen, tied = choose(rows, 3)
    assert [r["entry_id"] for r in chosen] == ["E1", "E2", "E3"]
    assert [r["entry_id"] for r in tied] == ["E4"]
    chosen, tied = choose(rows, 2)
    assert [r["entry_id"] for r in chosen] == ["E1", "E2"] and tied == []
    chosen, tied = choose(rows, 10)
    assert len(chosen) == 6 and tied == []


# --- the nomination zip ---------------------------------------------------------------------------------------

@pytest.fixture
def ranked(tmp_path: Path) -> Workspace:
    ws = jury_workspace(tmp_path, png_every=4)  # E0004 and E0008 are PNGs
    rank_all(ws, {
        "E0001": (88.0, 1), "E0003": (70.0, 2), "E0005": (60.0, 3), "E0007": (20.0, 4),  # middle
        "E0002": (91.5, 1), "E0004": (70.0, 2), "E0006": (50.0, 3), "E0008": (40.0, 4),  # high
    })
    yield ws
    ws.close()


def test_nominate_zip_holds_originals_and_manifest(ranked: Workspace, tmp_path: Path) -> None:
    ranked.ledger.decide("E0004", "accept", "seen the camera original")
    out = tmp_path / "out" / "china.zip"
    # the fixture's high-school entrants are guests from Spain, Russia, Pakistan: nominated here as asked
    result = runner.invoke(app, ["nominate", "--top", "3", "--out", str(out), "-w", str(ranked.root),
                                 "--other-countries"])
    assert result.exit_code == 0, result.output
    # the 3rd place is shared by E0003 (middle) and E0004 (high), both 70.0: both go, and the tie is said
    assert "tie at place 3" in " ".join(result.stderr.split())
    assert not [p for p in out.parent.iterdir() if p.name != "china.zip"]  # no temporary left behind
    source = Path(ranked.settings.source)
    entries = {e["entry_id"]: e for e in ranked.ledger.entries()}
    with zipfile.ZipFile(out) as zf:
        assert zf.testzip() is None
        infos = zf.infolist()
        for info in infos:
            assert info.flag_bits & 0x800, info.filename  # UTF-8 names flagged
            assert safe_member_path(info.filename) == info.filename  # relative, no '..', no backslash
        raw, rows = read_manifest(zf)
        assert raw.startswith(b"\xef\xbb\xbf")
        assert list(rows[0].keys()) == MANIFEST_COLUMNS
        assert [r["national_entry_id"] for r in rows] == ["E0002", "E0001", "E0003", "E0004"]
        for row in rows:
            original = entries[row["national_entry_id"]]
            data = zf.read(row["file"])
            assert sha(data) == sha((source / original["file"]).read_bytes())  # byte-identical original
            assert row["file"].startswith("photos/" + original["entry_id"] + "_")
            for column in ("contestant_id", "name", "school", "grade", "email", "title", "description",
                           "submitted_at", "province"):
                assert row[column] == (original[column] or "")
            assert row["country"] == original["country"]
        by_id = {r["national_entry_id"]: r for r in rows}
        assert by_id["E0002"]["national_rank"] == "1" and by_id["E0002"]["category"] == "high"
        assert by_id["E0004"]["national_rank"] == "2" and by_id["E0004"]["file"].endswith(".png")
        assert float(by_id["E0002"]["score"]) == 91.5
        assert by_id["E0002"]["name"] == "Maria García" and by_id["E0001"]["name"] == "张伟"
        assert by_id["E0004"]["national_decision"].startswith("accept: seen the camera original (")
        assert by_id["E0002"]["national_decision"] == ""
        info = json.loads(zf.read("nomination.json"))
        assert info["top"] == 3 and info["nominated"] == 4
        assert sorted(i.filename for i in infos if i.filename.startswith("photos/")) == sorted(
            r["file"] for r in rows)
    assert source.exists() and not list(source.rglob("*.zip"))  # nothing written into SOURCE


def test_nominate_country_from_setting_and_awards_column(tmp_path: Path) -> None:
    people = [Person("BR-1", "Ana Souza", "Escola Um", "ana@example.br", "8", "middle", "", "São Paulo"),
              Person("BR-2", "João Lima", "Escola Dois", "joao@example.br", "11", "high", "", "Bahia")]
    with jury_workspace(tmp_path, people=people, png_every=0) as ws:
        toml = ws.root / "contest.toml"
        toml.write_text(toml.read_text(encoding="utf-8").replace('country = ""', 'country = "Brazil"'),
                        encoding="utf-8")
        ws.settings.raw["contest"]["country"] = "Brazil"
        rank_all(ws, {"E0001": (75.0, 1), "E0002": (65.0, 1)})
        compute_awards(ws)
        result = nominate(ws, 5, tmp_path / "brazil.zip")
        assert [n.country for n in result.nominees] == ["Brazil", "Brazil"]
        assert result.tied == []
        with zipfile.ZipFile(tmp_path / "brazil.zip") as zf:
            _, rows = read_manifest(zf)
            assert json.loads(zf.read("nomination.json"))["country"] == "Brazil"
        assert [(r["country"], r["national_award"]) for r in rows] == [("Brazil", "qualifier")] * 2
        cli = runner.invoke(app, ["nominate", "--top", "1", "--out", str(tmp_path / "one.zip"), "--json",
                                  "-w", str(ws.root)])
        assert cli.exit_code == 0, cli.output
        data = json.loads(cli.stdout)
        assert data["zip"] == str(tmp_path / "one.zip") and data["top"] == 1
        assert [(e["entry_id"], e["country"], e["national_rank"], e["tied"]) for e in data["entries"]] == [
            ("E0001", "Brazil", 1, False)]
        with zipfile.ZipFile(tmp_path / "one.zip") as zf:
            assert sha(zf.read(data["entries"][0]["file"])) == data["entries"][0]["sha256"]


def test_nominate_refused_at_global_stage(tmp_path: Path) -> None:
    with jury_workspace(tmp_path, png_every=0, stage="global") as ws:
        rank_all(ws, {"E0001": (75.0, 1)})
        result = runner.invoke(app, ["nominate", "--top", "3", "--out", str(tmp_path / "x.zip"),
                                     "-w", str(ws.root)])
        assert result.exit_code == 2
        assert "global stage" in result.stderr
        assert not (tmp_path / "x.zip").exists()


def test_nominate_needs_a_ranking_and_a_zip_name(tmp_path: Path) -> None:
    with jury_workspace(tmp_path, png_every=0) as ws:
        with pytest.raises(NominateError) as info:
            nominate(ws, 3, tmp_path / "x.zip")
        assert info.value.code == 1 and "milsetctl score" in str(info.value)
        result = runner.invoke(app, ["nominate", "--top", "3", "--out", str(tmp_path / "x.zip"), "-w", str(ws.root)])
        assert result.exit_code == 1
        result = runner.invoke(app, ["nominate", "--top", "3", "--out", str(tmp_path / "x.tar"), "-w", str(ws.root)])
        assert result.exit_code == 2
        rank_all(ws, {"E0001": (75.0, 1)})
        inside = Path(ws.settings.source) / "nominees.zip"
        with pytest.raises(NominateError) as info:
            nominate(ws, 3, inside)
        assert info.value.code == 2 and not inside.exists()


def test_nominate_refuses_a_photo_changed_since_validation(ranked: Workspace, tmp_path: Path) -> None:
    ranked.ledger.db.execute("UPDATE entries SET sha256=? WHERE entry_id='E0002'", ("0" * 64,))
    ranked.ledger.db.commit()
    with pytest.raises(NominateError, match="changed since it was validated"):
        nominate(ranked, 2, tmp_path / "x.zip", other_countries=True)
    assert not list(tmp_path.glob("*.zip*"))


# --- reading a folder of packages ------------------------------------------------------------------------------

def _package(path: Path, rows: list[dict[str, str]], photos: dict[str, bytes], extra: dict[str, bytes] | None = None,
             folder: str = "") -> Path:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=["contestant_id", "name", "grade", "country", "file", "title",
                                             "description", "national_rank"])
    writer.writeheader()
    writer.writerows(rows)
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr(folder + "entries.csv", buf.getvalue().encode("utf-8-sig"))
        for name, data in photos.items():
            zf.writestr(folder + name, data)
        for name, data in (extra or {}).items():
            zf.writestr(name, data)
    return path


def _row(cid: str, country: str, file: str) -> dict[str, str]:
    return {"contestant_id": cid, "name": f"Name {cid}", "grade": "10", "country": country, "file": file,
            "title": "Moon", "description": "The moon.", "national_rank": "1"}


def test_read_submissions_unions_zips_and_extracted_folders(tmp_path: Path) -> None:
    source = tmp_path / "nominations"
    source.mkdir()
    _package(source / "kenya.zip", [_row("001", "Kenya", "photos/a.jpg"), _row("002", "Kenya", "photos/b.jpg")],
             {"photos/a.jpg": b"\xff\xd8kenya-a", "photos/b.jpg": b"\xff\xd8kenya-b"},
             extra={"../escape.jpg": b"x", "/abs.jpg": b"y", "__MACOSX/photos/._a.jpg": b"z"})
    # Spain's package sent extracted: a folder holding entries.csv and the photos (same names as Kenya's)
    spain = source / "spain"
    (spain / "photos").mkdir(parents=True)
    (spain / "photos" / "a.jpg").write_bytes(b"\xff\xd8spain-a")
    with open(spain / "entries.csv", "w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(_row("x", "y", "z")))
        writer.writeheader()
        writer.writerow(_row("001", "Spain", "photos/a.jpg"))  # the same contestant ID as Kenya's first
    # Peru zipped the folder itself: the manifest sits in peru/ inside the zip
    _package(source / "peru.zip", [_row("P1", "Peru", "photos/a.jpg")], {"photos/a.jpg": b"\xff\xd8peru-a"},
             folder="peru/")
    (source / "loose.jpg").write_bytes(b"\xff\xd8loose")
    before = sorted((p.relative_to(source).as_posix(), p.stat().st_mtime_ns) for p in source.rglob("*"))
    assert [p.name for p in find_packages(source)] == ["kenya", "peru", "spain"]

    ws_root = tmp_path / "ws"
    subs = read_submissions(source, defaults(), exclude=ws_root)
    assert subs.layout == "nominations"
    listed = {e.file: e for e in subs.entries if e.listed}
    assert {f: e.country for f, e in listed.items()} == {
        "kenya/photos/a.jpg": "Kenya", "kenya/photos/b.jpg": "Kenya", "peru/photos/a.jpg": "Peru",
        "spain/photos/a.jpg": "Spain"}
    # two countries' "001" are two people
    assert listed["kenya/photos/a.jpg"].contestant_id == "kenya:001"
    assert listed["spain/photos/a.jpg"].contestant_id == "spain:001"
    assert listed["spain/photos/a.jpg"].extra["national_contestant_id"] == "001"
    assert listed["kenya/photos/b.jpg"].contestant_id == "002"
    assert listed["kenya/photos/b.jpg"].extra["national_rank"] == "1"
    assert listed["kenya/photos/a.jpg"].origin == "kenya.zip/entries.csv row 2"
    # photos read from the workspace's cache (zip) and from SOURCE (folder)
    assert subs.files["kenya/photos/a.jpg"].read_bytes() == b"\xff\xd8kenya-a"
    assert subs.files["kenya/photos/a.jpg"].is_relative_to(ws_root / "cache" / "nominations" / "kenya")
    assert subs.files["spain/photos/a.jpg"] == spain / "photos" / "a.jpg"
    # every listed photo is where photo_path (and the jury stages) look: SOURCE/<file> or cache/nominations/<file>
    for rel in listed:
        assert photo_path(ws_root, source, rel) == subs.files[rel]
    assert photo_path(ws_root, source, "peru/photos/a.jpg").read_bytes() == b"\xff\xd8peru-a"
    # the loose photo is an entry of its own; unsafe members were never extracted anywhere
    assert [e.file for e in subs.entries if not e.listed] == ["loose.jpg"]
    assert not (tmp_path / "escape.jpg").exists() and not (ws_root / "cache" / "escape.jpg").exists()
    assert any("unsafe path" in n for n in subs.notes)
    assert sorted((p.relative_to(source).as_posix(), p.stat().st_mtime_ns) for p in source.rglob("*")) == before
    # read again: the extracted copy is reused, not rewritten
    stamp = subs.files["kenya/photos/a.jpg"].stat().st_mtime_ns
    again = read_submissions(source, defaults(), exclude=ws_root)
    assert again.files["kenya/photos/a.jpg"].stat().st_mtime_ns == stamp


def test_an_ordinary_folder_is_not_read_as_packages(tmp_path: Path) -> None:
    source = tmp_path / "src"
    (source / "sub").mkdir(parents=True)
    (source / "sub" / "a.jpg").write_bytes(b"\xff\xd8a")
    with open(source / "entries.csv", "w", encoding="utf-8") as fh:
        fh.write("contestant_id,file\nC1,sub/a.jpg\n")
    (source / "old.zip").write_bytes(b"not a zip")
    subs = read_submissions(source, defaults(), exclude=tmp_path / "ws")
    assert subs.layout == "A" and [e.file for e in subs.entries] == ["sub/a.jpg"]


# --- the round trip -------------------------------------------------------------------------------------------

CHINA = [Person("2022-001", "张伟", "北京四中", "zw@example.cn", "8", "middle", "China", "Beijing"),
         Person("2022-002", "李娜", "上海中学", "ln@example.cn", "11", "high", "China", "Shanghai")]
BRAZIL = [Person("X-9", "Pedro Alves", "Escola Três", "pa@example.br", "9", "middle", "", "Bahia"),
          Person("X-8", "Rita Melo", "Escola Quatro", "rm@example.br", "12", "high", "", "Ceará"),
          Person("2022-001", "Ana Souza", "Escola Um", "as@example.br", "8", "middle", "", "São Paulo"),
          Person("2022-002", "João Lima", "Escola Dois", "jl@example.br", "10", "high", "", "Minas Gerais")]


def test_national_to_global_round_trip(tmp_path: Path) -> None:
    nominations = tmp_path / "nominations"
    with jury_workspace(tmp_path / "cn", people=CHINA, png_every=0) as cn:
        rank_all(cn, {"E0001": (81.0, 1), "E0002": (77.0, 1)})
        compute_awards(cn)
        # a title that starts like a formula: text in the manifest Excel opens, the same title at the global stage
        cn.ledger.db.execute("UPDATE entries SET title='=SUM(1,2) moons' WHERE entry_id='E0002'")
        cn.ledger.db.commit()
        result = runner.invoke(app, ["nominate", "--top", "2", "--out", str(nominations / "china.zip"),
                                     "-w", str(cn.root)])
        assert result.exit_code == 0, result.output
        cn_source = Path(cn.settings.source)
    with jury_workspace(tmp_path / "br", people=BRAZIL, png_every=0) as br:
        # Brazil's entries name no country: the national workspace's setting fills it in
        toml = br.root / "contest.toml"
        toml.write_text(toml.read_text(encoding="utf-8").replace('country = ""', 'country = "Brazil"'),
                        encoding="utf-8")
        br.settings.raw["contest"]["country"] = "Brazil"
        # its best two are entries 3 and 4 (photos of other seeds than China's: no duplicate-image across them)
        rank_all(br, {"E0003": (90.0, 1), "E0004": (85.0, 1), "E0001": (50.0, 2), "E0002": (40.0, 2)})
        compute_awards(br)
        assert nominate(br, 2, nominations / "brazil.zip").nominees[0].entry_id == "E0003"
        br_source = Path(br.settings.source)
    with zipfile.ZipFile(nominations / "china.zip") as zf:
        assert "'=SUM(1,2) moons" in zf.read("entries.csv").decode("utf-8-sig")
    # Brazil's package arrives extracted (a folder), China's as the zip
    with zipfile.ZipFile(nominations / "brazil.zip") as zf:
        zf.extractall(nominations / "brazil")
    (nominations / "brazil.zip").unlink()

    gws = init_workspace(tmp_path / "global")
    toml = gws.root / "contest.toml"
    toml.write_text(toml.read_text(encoding="utf-8").replace('stage = "national"', 'stage = "global"'),
                    encoding="utf-8")
    gws.close()
    result = runner.invoke(app, ["validate", str(nominations), "-w", str(gws.root), "--json", "--jobs", "1"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    by_file = {e["file"]: e for e in data["entries"]}
    assert sorted(by_file) == ["brazil/photos/E0003_Ana Souza 2.jpg", "brazil/photos/E0004_João Lima 3.jpg",
                               "china/photos/E0001_张伟 0.jpg", "china/photos/E0002_李娜 1.jpg"]
    for entry in data["entries"]:
        assert entry["status"] == "eligible", entry
        # Lightroom in the Software tag: allowed processing, the only finding
        assert {f["rule"] for f in entry["findings"]} <= {"edited"}, entry["findings"]
    # the two countries' "2022-001" and "2022-002" stay four contestants
    assert {e["contestant_id"] for e in data["entries"]} == {"china:2022-001", "china:2022-002",
                                                             "brazil:2022-001", "brazil:2022-002"}
    assert data["summary"]["eligible"] == 4

    from milsetctl.workspace import open_workspace

    with open_workspace(tmp_path / "global") as g:
        rows = {r["file"]: r for r in g.ledger.entries()}
        assert {f: r["country"] for f, r in rows.items()} == {
            "brazil/photos/E0003_Ana Souza 2.jpg": "Brazil", "brazil/photos/E0004_João Lima 3.jpg": "Brazil",
            "china/photos/E0001_张伟 0.jpg": "China", "china/photos/E0002_李娜 1.jpg": "China"}
        assert {r["category"] for r in rows.values()} == {"middle", "high"}
        # the photos validated are the national originals, byte for byte
        originals = {sha(p.read_bytes()) for p in [*cn_source.rglob("*.jpg"), *br_source.rglob("*.jpg")]}
        assert {r["sha256"] for r in rows.values()} <= originals
        assert json.loads(rows["china/photos/E0001_张伟 0.jpg"]["extra"])["national_rank"] == "1"
        assert rows["china/photos/E0002_李娜 1.jpg"]["title"] == "=SUM(1,2) moons"
        # the rest of the flow runs on them: an overall ranking gives global-1..3 and the gallery
        ids = {r["file"].split("/")[0] + r["contestant_id"][-1]: r["entry_id"] for r in rows.values()}
        ranking = {ids["brazil1"]: (92.0, 1), ids["china1"]: (88.0, 2), ids["china2"]: (80.0, 3),
                   ids["brazil2"]: (70.0, 4)}
        rank_all(g, ranking)
        awards = {r.entry_id: r.award for r in compute_awards(g).rows}
        assert awards == {ids["brazil1"]: "global-1", ids["china1"]: "global-2", ids["china2"]: "global-3",
                          ids["brazil2"]: "gallery"}
        with pytest.raises(NominateError):
            nominate(g, 2, tmp_path / "again.zip")


class _GbkInfo(zipfile.ZipInfo):
    """A member named in GBK without the UTF-8 flag, as zips made on Chinese Windows are."""

    def _encodeFilenameFlags(self) -> tuple[bytes, int]:  # noqa: N802 - zipfile's name
        return self.filename.encode("gbk"), self.flag_bits & ~0x800


def test_gbk_member_names_from_chinese_windows(tmp_path: Path) -> None:
    source = tmp_path / "nominations"
    source.mkdir()
    with zipfile.ZipFile(source / "中国.zip", "w") as zf:
        zf.writestr(_GbkInfo("entries.csv"), "contestant_id,file,country\nC1,照片/月亮.jpg,China\n".encode("gbk"))
        zf.writestr(_GbkInfo("照片/月亮.jpg"), b"\xff\xd8moon")
    with zipfile.ZipFile(source / "中国.zip") as zf:
        assert not zf.infolist()[1].flag_bits & 0x800 and zf.namelist()[1] != "照片/月亮.jpg"  # cp437 mojibake
    subs = read_submissions(source, defaults(), exclude=tmp_path / "ws")
    [entry] = subs.entries
    assert entry.file == "中国/照片/月亮.jpg" and entry.listed and entry.country == "China"
    assert subs.files[entry.file].read_bytes() == b"\xff\xd8moon"


def test_nominate_more_than_there_are_says_so_and_names_the_round_country(ranked: Workspace, tmp_path: Path) -> None:
    out = tmp_path / "all.zip"
    result = runner.invoke(app, ["nominate", "--top", "100", "--out", str(out), "-w", str(ranked.root)])
    assert result.exit_code == 0, result.output
    text = " ".join(result.stderr.split())
    assert "--top 100, but only" in text
    assert "the best 100" not in " ".join(result.stdout.split())
    with zipfile.ZipFile(out) as zf:
        info = json.loads(zf.read("nomination.json"))
        countries = [r["country"] for r in read_manifest(zf)[1]]
    assert info["country"] == max(set(countries), key=countries.count)  # no [contest] country: the nominees' own


def test_nominate_takes_the_award_holders_only(tmp_path: Path) -> None:
    """SPEC: the best N "per the awards": a high-school entry that did not qualify (3rd of its category) is never
    nominated ahead of a middle-school qualifier with a lower score."""
    with jury_workspace(tmp_path, png_every=0) as ws:
        rank_all(ws, {"E0001": (50.0, 1), "E0003": (40.0, 2), "E0005": (30.0, 3),  # middle
                      "E0002": (90.0, 1), "E0004": (85.0, 2), "E0006": (80.0, 3)})  # high
        out = tmp_path / "n.zip"
        result = runner.invoke(app, ["nominate", "--top", "3", "--out", str(out), "-w", str(ws.root),
                                     "--other-countries"])
        assert result.exit_code == 0, result.output
        with zipfile.ZipFile(out) as zf:
            assert [r["national_entry_id"] for r in read_manifest(zf)[1]] == ["E0002", "E0004", "E0001"]
        ws.ledger.save_awards([], "national")
        result = runner.invoke(app, ["nominate", "--top", "3", "--out", str(out), "-w", str(ws.root)])
        assert result.exit_code == 1 and "milsetctl awards" in result.output


def test_an_entrant_from_another_country_is_named_and_left_out_unless_asked(ranked: Workspace,
                                                                            tmp_path: Path) -> None:
    """A guest entrant (another country than the contest's) competes in the national round but is not nominated
    for the contest's country; named either way, and nominated with --other-countries."""
    ranked.ledger.db.execute("UPDATE entries SET country='Brazil' WHERE entry_id='E0002'")
    ranked.ledger.db.commit()
    result = nominate(ranked, 2, tmp_path / "cn.zip")
    assert "E0002" not in [n.entry_id for n in result.nominees] and len(result.nominees) == 2
    said = " ".join(result.warnings)
    assert "E0002" in said and "Brazil" in said and "--other-countries" in said
    assert "[contest] country is not set" in said  # China taken from the entrants, and said
    asked = nominate(ranked, 2, tmp_path / "all.zip", other_countries=True)
    assert "E0002" in [n.entry_id for n in asked.nominees]
    root = ranked.root
    ranked.close()
    cli = runner.invoke(app, ["nominate", "--top", "2", "--out", str(tmp_path / "c.zip"), "-w", str(root)])
    assert cli.exit_code == 0 and "--other-countries nominates them too" in " ".join(cli.output.split())
