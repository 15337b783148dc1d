"""What a new coordinator meets in the first hour (issue 7, part 3): a broken manifest, a moved drive, another
contest's folder, times, the HTML report's people, status against validate, help texts, pipes, the README."""

from __future__ import annotations

import io
import json
import re
import shutil
import subprocess
import sys
import tomllib
from datetime import UTC, datetime
from pathlib import Path

import pytest
from conftest import make_jpeg, write_manifest
from rich.cells import cell_len
from rich.console import Console
from typer.testing import CliRunner

from milsetctl import stages
from milsetctl.cli import app
from milsetctl.console import reflow, render_changes, render_rule
from milsetctl.decisions import contest_status
from milsetctl.models import Entry, EntryResult, Finding, Severity, Status, ValidationResult
from milsetctl.pipeline import validate as run_validate
from milsetctl.report.html import render_html
from milsetctl.report.tables import TOP_REASONS, contest_time, reason_counts
from milsetctl.rules import all_rules
from milsetctl.settings import defaults
from milsetctl.workspace import open_workspace

ROOT = Path(__file__).resolve().parent.parent
runner = CliRunner()
SIZE = (900, 600)  # small photos: these tests are about the workspace, not the pictures


def _contest(src: Path, n: int = 4, seed0: int = 0, sub: str = "photos") -> Path:
    """n different photos in src/sub and a manifest naming them."""
    rows = []
    for i in range(n):
        rel = f"{sub}/p{seed0 + i}.jpg"
        make_jpeg(src / rel, size=SIZE, exif={"make": "Canon", "model": "EOS"}, seed=seed0 + i + 1)
        rows.append({"contestant_id": f"C{seed0 + i}", "name": f"N{i}", "grade": "8", "province": "Hebei",
                     "file": rel, "title": "Moon", "description": "The moon.", "submitted_at": "2022-07-01"})
    write_manifest(src, rows)
    return src


def _json(*args: str) -> dict:
    result = runner.invoke(app, [*args, "--json", "--jobs", "1"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def _ids(doc: dict) -> dict[str, str]:
    return {e["file"]: e["entry_id"] for e in doc["entries"]}


# --- a broken manifest --------------------------------------------------------------------------------------
@pytest.mark.parametrize("existing_folder", [False, True])
def test_broken_manifest_creates_no_workspace_and_prints_only_the_error(tmp_path: Path, existing_folder: bool) -> None:
    src = tmp_path / "src"
    make_jpeg(src / "a.jpg", size=SIZE)
    (src / "entries.csv").write_text("name,title\nZhang,Moon\n", encoding="utf-8")
    ws = tmp_path / "ws"
    if existing_folder:
        ws.mkdir()
    result = runner.invoke(app, ["validate", str(src), "-w", str(ws / "2022" / "national"), "--jobs", "1"])
    assert result.exit_code == 1
    assert "error:" in result.output and "Traceback" not in result.output
    assert "Checking photos" not in result.output and "Created" not in result.output
    assert ws.exists() == existing_folder
    if existing_folder:
        assert list(ws.iterdir()) == []


def test_broken_manifest_in_a_nomination_package_leaves_no_workspace(tmp_path: Path) -> None:
    """Reading nomination zips extracts them into the workspace's cache: a broken one takes that away again."""
    import zipfile

    src = tmp_path / "nominations"
    src.mkdir()
    photo = make_jpeg(tmp_path / "a.jpg", size=SIZE)
    with zipfile.ZipFile(src / "kenya.zip", "w") as zf:
        zf.write(photo, "photos/a.jpg")
        zf.writestr("entries.csv", "name,title\nZhang,Moon\n")
    ws = tmp_path / "contests" / "global"
    result = runner.invoke(app, ["validate", str(src), "-w", str(ws), "--jobs", "1"])
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output and "Checking photos" not in result.output
    assert not (tmp_path / "contests").exists()


def test_broken_manifest_of_an_existing_workspace_keeps_its_source(tmp_path: Path) -> None:
    src = _contest(tmp_path / "src")
    ws = tmp_path / "ws"
    _json("validate", str(src), "-w", str(ws))
    other = shutil.copytree(src, tmp_path / "copy")
    (other / "entries.csv").write_text("name,title\nZhang,Moon\n", encoding="utf-8")
    result = runner.invoke(app, ["validate", str(other), "-w", str(ws), "--jobs", "1"])
    assert result.exit_code == 1 and "Checking photos" not in result.output
    assert tomllib.loads((ws / "contest.toml").read_text(encoding="utf-8"))["contest"]["source"] == str(src)


# --- another SOURCE for an existing workspace ---------------------------------------------------------------
def test_moved_drive_continues_the_contest_with_the_same_ids(tmp_path: Path) -> None:
    src = _contest(tmp_path / "usb" / "submissions", n=4)
    ws = tmp_path / "ws"
    before = _ids(_json("validate", str(src), "-w", str(ws)))
    assert runner.invoke(app, ["decide", before["photos/p1.jpg"], "accept", "--reason", "seen", "-w", str(ws)]
                         ).exit_code == 0
    moved = tmp_path / "mnt" / "drive" / "submissions"
    moved.parent.mkdir(parents=True)
    shutil.move(src, moved)  # the remembered folder no longer exists
    # without SOURCE: the remembered folder is gone, and the message says so
    result = runner.invoke(app, ["validate", "-w", str(ws), "--jobs", "1"])
    assert result.exit_code == 2 and "not there any more" in result.output
    result = runner.invoke(app, ["validate", str(moved), "-w", str(ws), "--jobs", "1", "--limit", "0"])
    assert result.exit_code == 0, result.output
    assert "continues from" in result.output and "same entry IDs" in result.output
    assert "(0 photos analysed, 4 from cache)" in result.output  # hashed once to compare, never re-analysed
    doc = _json("validate", "-w", str(ws))  # the new folder is remembered
    assert _ids(doc) == before
    accepted = next(e for e in doc["entries"] if e["file"] == "photos/p1.jpg")
    assert accepted["status"] == "eligible"
    with open_workspace(ws) as w:
        assert w.settings.source == str(moved.resolve())
        assert len(w.ledger.entries()) == 4 and len(w.ledger.entries(present_only=False)) == 4
        assert w.ledger.last_audit("source-moved") is not None


def test_copied_folder_with_photos_in_other_subfolders_keeps_the_ids(tmp_path: Path) -> None:
    src = _contest(tmp_path / "src", n=4)
    ws = tmp_path / "ws"
    before = _ids(_json("validate", str(src), "-w", str(ws)))
    copy = tmp_path / "copy"
    shutil.copytree(src, copy)  # the original is still there; file times differ, content does not
    (copy / "sorted").mkdir()
    (copy / "photos" / "p2.jpg").rename(copy / "sorted" / "p2.jpg")
    text = (copy / "entries.csv").read_text(encoding="utf-8-sig").replace("photos/p2.jpg", "sorted/p2.jpg")
    (copy / "entries.csv").write_text(text, encoding="utf-8-sig")
    after = _ids(_json("validate", str(copy), "-w", str(ws)))
    assert after["sorted/p2.jpg"] == before["photos/p2.jpg"]
    assert {k: v for k, v in after.items() if k != "sorted/p2.jpg"} == {
        k: v for k, v in before.items() if k != "photos/p2.jpg"}
    assert _ids(_json("validate", str(copy), "-w", str(ws))) == after  # and it stays so


def test_another_contests_folder_stops_unless_replace_source(tmp_path: Path) -> None:
    src = _contest(tmp_path / "contest-2022", n=3)
    ws = tmp_path / "ws"
    before = _ids(_json("validate", str(src), "-w", str(ws)))
    assert runner.invoke(app, ["decide", before["photos/p0.jpg"], "reject", "--reason", "copy", "-w", str(ws)]
                         ).exit_code == 0
    other = _contest(tmp_path / "contest-2023", n=3, seed0=10)
    make_jpeg(other / "photos" / "p0.jpg", size=SIZE, seed=1)  # one photo the ledger knows: still a minority
    result = runner.invoke(app, ["validate", str(other), "-w", str(ws), "--jobs", "1"])
    assert result.exit_code == 2
    message = " ".join(result.output.split())
    assert str(src) in message and "--replace-source" in message and "unknown to the ledger" in message
    assert "Checking photos" not in result.output and "Traceback" not in result.output
    with open_workspace(ws) as w:
        assert w.settings.source == str(src)
        assert {r["entry_id"] for r in w.ledger.entries()} == set(before.values())
    # init --source refuses it the same way
    result = runner.invoke(app, ["init", "-w", str(ws), "--source", str(other)])
    assert result.exit_code == 2 and str(src) in " ".join(result.output.split())

    doc = _json("validate", str(other), "-w", str(ws), "--replace-source")
    assert len(doc["entries"]) == 4
    assert not set(_ids(doc).values()) & (set(before.values()) - {before["photos/p0.jpg"]})
    with open_workspace(ws) as w:
        assert w.settings.source == str(other.resolve())
        assert len(w.ledger.entries(present_only=False)) > len(w.ledger.entries())  # the old ones: absent
        assert before["photos/p0.jpg"] in w.ledger.latest_decisions()  # decisions are kept
        assert w.ledger.last_audit("replace-source") is not None


def test_moved_folder_of_nomination_packages_keeps_the_ids(tmp_path: Path) -> None:
    """The global stage's SOURCE is a folder of nomination zips: its photos are compared as extracted."""
    import csv
    import zipfile

    folder = tmp_path / "nominations"
    folder.mkdir()
    for country, seeds in (("kenya", (1, 2)), ("peru", (3,))):
        text = io.StringIO()
        writer = csv.writer(text)
        writer.writerow(["contestant_id", "name", "grade", "country", "file", "title", "description"])
        with zipfile.ZipFile(folder / f"{country}.zip", "w") as zf:
            for seed in seeds:
                photo = make_jpeg(tmp_path / "made" / f"{seed}.jpg", size=SIZE, seed=seed)
                zf.write(photo, f"photos/{seed}.jpg")
                writer.writerow([f"{country}-{seed}", "N", "10", country, f"photos/{seed}.jpg", "Moon", "The moon."])
            zf.writestr("entries.csv", text.getvalue().encode("utf-8-sig"))
    ws = tmp_path / "ws"
    assert runner.invoke(app, ["init", "-w", str(ws)]).exit_code == 0
    toml = (ws / "contest.toml").read_text(encoding="utf-8").replace('stage = "national"', 'stage = "global"')
    (ws / "contest.toml").write_text(toml, encoding="utf-8")
    before = _ids(_json("validate", str(folder), "-w", str(ws)))
    assert len(before) == 3
    moved = shutil.move(folder, tmp_path / "elsewhere")
    result = runner.invoke(app, ["validate", str(moved), "-w", str(ws), "--json", "--jobs", "1"])
    assert result.exit_code == 0, result.output
    assert _ids(json.loads(result.stdout)) == before
    assert "same entry IDs" in " ".join(result.output.split())


# --- exit codes and messages -------------------------------------------------------------------------------
def test_validate_a_file_says_not_a_folder(tmp_path: Path) -> None:
    photo = make_jpeg(tmp_path / "one.jpg", size=SIZE)
    result = runner.invoke(app, ["validate", str(photo), "-w", str(tmp_path / "ws")])
    assert result.exit_code == 2
    assert "not a folder" in result.output and "no such folder" not in result.output
    assert not (tmp_path / "ws").exists()


@pytest.mark.parametrize("args", [["status"], ["decide", "E0001", "accept", "--reason", "x"], ["anonymise"]])
def test_commands_outside_a_workspace_exit_2_like_validate(tmp_path: Path, args: list[str]) -> None:
    result = runner.invoke(app, [*args, "-w", str(tmp_path)])
    assert result.exit_code == 2, result.output
    assert "not a contest workspace" in result.output and "Traceback" not in result.output
    assert runner.invoke(app, ["validate", "-w", str(tmp_path)]).exit_code == 2


# --- status agrees with validate, in the contest's time zone -------------------------------------------------
def test_status_most_frequent_findings_agree_with_validate(tmp_path: Path) -> None:
    src = _contest(tmp_path / "src", n=4)
    shutil.copy(src / "photos" / "p0.jpg", src / "photos" / "copy.jpg")  # duplicate-image (and unlisted-file)
    shutil.copy(src / "photos" / "p1.jpg", src / "photos" / "copy2.jpg")
    rows = (src / "entries.csv").read_text(encoding="utf-8-sig")
    (src / "entries.csv").write_text(rows + "C9,X,,13,Hebei,,,photos/copy2.jpg,Moon,The moon.,2022-07-01\r\n",
                                     encoding="utf-8-sig")
    ws = tmp_path / "ws"
    assert runner.invoke(app, ["init", "-w", str(ws)]).exit_code == 0
    with open_workspace(ws) as w:
        result = run_validate(w, src, jobs=1)
        st = contest_status(w)
        audit = w.ledger.last_audit("validate")
    expected = reason_counts(result)[:TOP_REASONS]
    assert st.top_rules == expected
    assert ("duplicate-image", "review", 4) in expected  # two originals and their two copies
    out = runner.invoke(app, ["status", "-w", str(ws)], env={"COLUMNS": "120"}).output
    shown = runner.invoke(app, ["validate", str(src), "-w", str(ws), "--jobs", "1"], env={"COLUMNS": "120"}).output

    def table(text: str) -> list[tuple[str, ...]]:
        part = text.split("Most frequent reasons", 1)[1].split("└", 1)[0]
        return [tuple(c.strip() for c in line.strip("│ ").split("│")) for line in part.splitlines()
                if line.startswith("│")]

    assert table(out) == table(shown) == [(r, s, str(n)) for r, s, n in expected]
    # the last run's time, shown in Asia/Shanghai (UTC+8), not as the ledger's UTC stamp
    at = datetime.fromisoformat(audit["at"])
    assert st.last_validate == f"{at.astimezone(defaults().tz):%Y-%m-%d %H:%M} Asia/Shanghai"
    assert st.last_validate in " ".join(out.split())


def test_contest_time() -> None:
    tz = defaults().tz
    assert contest_time("2022-07-11T16:30:00+00:00", tz) == "2022-07-12 00:30 Asia/Shanghai"
    assert contest_time(datetime(2022, 7, 11, 16, 30, tzinfo=UTC), tz, zone=False) == "2022-07-12 00:30"
    assert contest_time("2022-07-11T16:30:00", tz, zone=False) == "2022-07-12 00:30"  # naive = UTC (ledger)
    assert contest_time("not a time", tz) == "not a time"
    assert contest_time(None, tz) is None


# --- the HTML report: people as the contest reads them -------------------------------------------------------
def _result(entries: list[Entry]) -> ValidationResult:
    results = []
    for i, e in enumerate(entries, start=1):
        e.entry_id = f"E{i:04d}"
        results.append(EntryResult(e, Status.ELIGIBLE, "middle", []))
    results[0].decision = {"decision": "accept", "reason": "ok", "who": "li", "at": "2022-07-11T16:30:00+00:00"}
    results[0].findings = [Finding("grade", Severity.INFO, "x")]
    return ValidationResult(source="/src", workspace="/ws", entries=results)


def test_html_report_shows_grades_provinces_and_contest_times() -> None:
    tz = defaults().tz
    entries = [
        Entry(key="a", file="a.jpg", grade="Grade 8", province="河北省", country="China",
              submitted_at=datetime(2022, 7, 10, 20, 0, tzinfo=UTC)),
        Entry(key="b", file="b.jpg", grade="初二", province="广东省", country="中国"),
        Entry(key="c", file="c.jpg", grade="9", province="Guangxi Zhuang Autonomous Region"),
        Entry(key="d", file="d.jpg", grade="sophomore?", province="Atlantis"),
    ]
    page = render_html(_result(entries), None, defaults())
    text = re.sub(r"\s+", " ", page)
    assert "grade Grade 8" not in text
    assert '<span title="as written: Grade 8">grade 8</span>' in text  # the sheet's words on hover
    assert "grade 8 <span class=\"written\">(初二)</span>" in text
    assert ">grade 9</span>" in text  # nothing to add when the sheet says just the number
    assert "grade: sophomore?" in text
    assert '<span title="as written: 河北省, China">Hebei, North</span>' in text
    assert '<span title="as written: 广东省, 中国">Guangdong, South</span>' in text
    assert ">Guangxi, South</span>" in text
    assert '<span title="as written: Atlantis">Atlantis, region unknown</span>' in text
    assert "submitted 2022-07-11 04:00" in text  # 20:00 UTC is 04:00 next day in Shanghai
    assert "(li, 2022-07-12 00:30)" in text
    assert "times in the contest time zone, <b>Asia/Shanghai</b>" in text
    assert f"generated {datetime.now(UTC).astimezone(tz):%Y-%m-%d}" in text
    # the global stage names the country too
    global_settings = defaults()
    global_settings.raw["contest"]["stage"] = "global"
    page = render_html(_result([Entry(key="a", file="a.jpg", province="河北省", country="China")]), None,
                       global_settings)
    assert ">Hebei, North, China</span>" in page


# --- help texts and the rules' text ---------------------------------------------------------------------------
def test_rule_texts_reflow_at_80_columns() -> None:
    for rule_ in all_rules():
        buffer = io.StringIO()
        render_rule(Console(file=buffer, width=80, highlight=False, color_system=None), rule_, str(rule_.severity))
        lines = buffer.getvalue().splitlines()
        for line, following in zip(lines[2:], lines[3:], strict=False):  # after the header line
            if line.strip() and following.strip():  # inside a paragraph: the next word could not have fitted
                assert cell_len(line.rstrip()) + 1 + cell_len(following.split()[0]) > 80, (rule_.id, line)
    assert reflow("One\nparagraph here.\n\nA second\n- item one\n- item two\n") == [
        "One paragraph here.", "A second", "- item one", "- item two"]


def test_top_level_help_names_only_commands_that_exist() -> None:
    result = runner.invoke(app, ["--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    listed = set(re.findall(r"^│ (\w[\w-]*)\s{2,}", result.output.split("Commands", 1)[1], re.M))
    import typer.main

    existing = set(typer.main.get_command(app).commands)  # type: ignore[attr-defined]
    assert listed == existing
    lowered = result.output.lower()
    for missing in ("certificates", "members", "fees", "verify "):
        if missing.strip() not in existing:
            assert missing not in lowered, missing


def test_closed_pipe_is_not_an_error(tmp_path: Path) -> None:
    """`milsetctl ... | head -3`: the reader leaves early; exit 0 and no traceback."""
    src = _contest(tmp_path / "src", n=2)
    for args in (["rules"], ["validate", str(src), "-w", str(tmp_path / "ws"), "--jobs", "1"],
                 ["validate", "-w", str(tmp_path / "ws"), "--jobs", "1", "--json"]):
        proc = subprocess.Popen([sys.executable, "-m", "milsetctl", *args], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, cwd=tmp_path)
        assert proc.stdout is not None and proc.stderr is not None
        proc.stdout.close()  # before the first line: every write meets a closed pipe
        stderr = proc.stderr.read().decode("utf-8", "replace")
        assert proc.wait(timeout=600) == 0, (args, stderr)  # a bound for a hang, not a speed limit
        assert "Traceback" not in stderr and "Exception ignored" not in stderr, stderr


# --- install and README -----------------------------------------------------------------------------------------
def test_pyproject_license_is_an_spdx_string() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert config["project"]["license"] == "MIT"
    assert any(re.fullmatch(r"setuptools>=(\d+).*", r) and int(re.findall(r"\d+", r)[0]) >= 77
               for r in config["build-system"]["requires"])


def test_readme_stands_alone_and_its_layout_matches_the_tree() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "../shared" not in readme and "/work/" not in readme
    assert (ROOT / "CONTRIBUTING.md").is_file() and "CONTRIBUTING.md" in readme
    layout = readme.split("## Layout", 1)[1].split("```", 2)[1]
    listed: set[str] = set()
    parent = ""
    for line in layout.splitlines():
        if not line.strip():
            continue
        indent = len(line) - len(line.lstrip())
        name = line.split()[0]
        path = name if indent == 0 else parent + name
        if indent == 0 and name.endswith("/"):
            parent = name
        listed.add(path.rstrip("/"))
        assert (ROOT / path).exists(), f"README layout names {path}, which is not in the tree"
    tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True).stdout.split()
    top = {p.split("/", 1)[0] for p in tracked if "/" in p and not p.startswith(".")}
    assert top <= listed, f"folders missing from the README layout: {sorted(top - listed)}"
    packages = {p.parent.relative_to(ROOT).as_posix() for p in (ROOT / "milsetctl").glob("*/__init__.py")}
    assert packages <= listed, f"packages missing from the README layout: {sorted(packages - listed)}"


# --- a name corrected in a copy of the manifest (SOURCE read-only) ------------------------------------------

def test_a_manifest_named_with_manifest_is_remembered_and_its_corrections_audited(tmp_path: Path) -> None:
    """A coordinator corrects a name in a copy of the manifest (SOURCE is read-only) and validates with --manifest;
    the next plain `validate` must read that copy again, never silently go back to SOURCE's spelling; the change
    is in the audit trail."""
    src = _contest(tmp_path / "inbox", n=2)
    ws = tmp_path / "ws"
    first = _ids(_json("validate", str(src), "-w", str(ws)))
    fixed = tmp_path / "fixed.csv"
    fixed.write_text((src / "entries.csv").read_text(encoding="utf-8").replace("N0", "谢娜娜"), encoding="utf-8")
    assert _ids(_json("validate", "-w", str(ws), "--manifest", str(fixed))) == first
    again = runner.invoke(app, ["validate", "-w", str(ws), "--jobs", "1"])
    assert again.exit_code == 0, again.output
    assert "named with --manifest before" in " ".join(again.stderr.split())
    with open_workspace(ws) as opened:
        names = {e["file"]: e["name"] for e in opened.ledger.entries()}
        changes = [json.loads(r["detail"]) for r in opened.ledger.audit_rows(["entry-change"])]
        assert opened.settings.manifest == str(fixed.resolve())
        opened.close()
    assert names["photos/p0.jpg"] == "谢娜娜"
    assert changes == [{"entries": {first["photos/p0.jpg"]: {"name": ["N0", "谢娜娜"]}}}]
    fixed.unlink()
    gone = runner.invoke(app, ["validate", "-w", str(ws), "--jobs", "1"])
    assert gone.exit_code == 2 and "not there any more" in " ".join(gone.stderr.split())
    # back to SOURCE's own: named once, then forgotten again
    _json("validate", "-w", str(ws), "--manifest", str(src / "entries.csv"))
    assert 'manifest = ""' in (ws / "contest.toml").read_text(encoding="utf-8")


def test_a_corrected_name_is_shown_with_the_outputs_to_make_again(tmp_path: Path) -> None:
    """Participation certificates printed, an award list exported, a nomination zip and a gallery made; then the
    coordinator corrects a name with --manifest: the terminal names the change and each output to make again, and
    says the workspace now remembers the manifest; the JSON stays SPEC's."""
    src = _contest(tmp_path / "inbox", n=2)
    ws = tmp_path / "ws"
    first = _ids(_json("validate", str(src), "-w", str(ws)))
    p0, p1 = first["photos/p0.jpg"], first["photos/p1.jpg"]
    for entry_id in (p0, p1):  # the small test photos are under the minimum width: accepted anyway
        assert runner.invoke(app, ["decide", entry_id, "accept", "--reason", "test", "-w", str(ws)]).exit_code == 0
    printed = runner.invoke(app, ["certificates", "participation", "-w", str(ws)])
    assert printed.exit_code == 0, printed.output
    zip_path = ws / "awards" / "nomination-CN.zip"
    with open_workspace(ws) as opened:  # the outputs made after the jury, as `awards` and `nominate` leave them
        opened.ledger.save_awards([{"entry_id": p0, "anon_id": "A1", "category": "middle", "score": 90.0, "rank": 1,
                                    "award": "qualifier"},
                                   {"entry_id": p1, "anon_id": "A2", "category": "middle", "score": 50.0, "rank": 2,
                                    "award": None}], "national")
        opened.ledger.audit("nominate", {"zip": str(zip_path), "top": 1, "entries": [p0]})
        export = ws / "awards" / "awards.xlsx"
        stages.record(opened, "awards")  # as each of these stages records what it was made from when it runs
        stages.record(opened, "award-list", {"export": str(export), "entries": [p0, p1]})
        stages.record(opened, "nominate", {"zip": str(zip_path), "top": 1, "entries": [p0]})
        stages.record(opened, "gallery", {"entries": [p0]})
        opened.close()
    (ws / "awards").mkdir()
    (ws / "awards" / "awards.xlsx").write_bytes(b"x")
    zip_path.write_bytes(b"x")
    (ws / "gallery").mkdir()
    (ws / "gallery" / "index.html").write_text("<html></html>", encoding="utf-8")
    fixed = tmp_path / "fixed.csv"
    fixed.write_text((src / "entries.csv").read_text(encoding="utf-8").replace("N0", "陈晶"), encoding="utf-8")

    run = runner.invoke(app, ["validate", "-w", str(ws), "--manifest", str(fixed), "--jobs", "1"])
    assert run.exit_code == 0, run.output
    said = run.stdout.splitlines()
    assert f"  {p0} name N0 → 陈晶" in said
    assert not any(p1 in line for line in said[said.index(f"  {p0} name N0 → 陈晶"):])  # unchanged: not named
    changed = f"changed since it ran: {p0}: name changed"
    assert f"  participation certificates: {changed} — milsetctl certificates participation" in said
    assert f"  the virtual gallery: {changed} — milsetctl gallery" in said
    assert f"  the award list export: {changed} — milsetctl awards --export {export}" in said
    assert f"  the nomination for the global round: {changed} — milsetctl nominate --top 1 --out {zip_path}" in said
    # ... and it stays said (status, and every later validate) until each is made again
    later = runner.invoke(app, ["validate", "-w", str(ws), "--manifest", str(fixed), "--jobs", "1"])
    assert f"  the virtual gallery: {changed} — milsetctl gallery" in later.stdout.splitlines()
    notes = " ".join(run.stderr.split())
    assert f"this workspace now remembers the manifest {fixed.resolve()}" in notes

    # the same run again: nothing changed, nothing to re-make, nothing newly remembered
    again = runner.invoke(app, ["validate", "-w", str(ws), "--manifest", str(fixed), "--jobs", "1"])
    assert again.exit_code == 0, again.output
    assert "Changed since the last run" not in again.stdout and "now remembers" not in again.stderr

    # --json: SPEC's object on stdout, the change on stderr; twelve changes list ten, then the audit command
    many = tmp_path / "many.csv"
    many.write_text(fixed.read_text(encoding="utf-8").replace("Moon", "Sun"), encoding="utf-8")
    doc = runner.invoke(app, ["validate", "-w", str(ws), "--manifest", str(many), "--json", "--jobs", "1"])
    assert doc.exit_code == 0, doc.output
    assert set(json.loads(doc.stdout)) == {"entries", "summary"}
    assert f"{p1} title Moon → Sun" in doc.stderr
    result = ValidationResult("s", "w", [], changes={f"E{i:04d}": {"name": ["a", "b"]} for i in range(12)})
    console = Console(file=io.StringIO(), width=100)
    render_changes(console, result)
    text = console.file.getvalue()
    assert "E0009 name a → b" in text and "E0010" not in text
    assert "… and 2 more: milsetctl audit --kind entry-change" in text


@pytest.mark.parametrize("args", [["status"], ["jury", "status"], ["anonymise"]])
def test_a_misspelt_workspace_is_named_as_missing_with_the_one_meant(tmp_path: Path, args: list[str]) -> None:
    """A newcomer's trial: `-w demo-worksapce` was answered "is not a contest workspace … Run `milsetctl init`
    there", advice that makes a workspace at the typo. A path that names nothing says so, and names the
    workspace beside it with a close name; nothing is created."""
    runner.invoke(app, ["init", "-w", str(tmp_path / "demo-workspace"), "--country", "China"])
    assert (tmp_path / "demo-workspace" / "contest.toml").exists()
    typo = tmp_path / "demo-worksapce"
    result = runner.invoke(app, [*args, "-w", str(typo)])
    assert result.exit_code == 2, result.output
    text = " ".join(result.output.split())
    assert f"{typo}: no such folder" in text and f"Did you mean {tmp_path / 'demo-workspace'}?" in text
    assert "milsetctl init` there" not in text and not typo.exists()
