"""The CLI as a coordinator uses it, through typer's CliRunner, on folders the tests make."""

from __future__ import annotations

import csv
import hashlib
import json
import os
import stat
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from milsetctl.cli import app

runner = CliRunner()

HEADERS = ["contestant_id", "name", "school", "grade", "province", "file", "title", "description", "submitted_at"]


def _photo(path: Path, size: tuple[int, int] = (2400, 1600), make: str | None = "Canon", seed: int = 0) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    blocks = rng.integers(0, 255, (6, 9, 3), dtype=np.uint8)  # a different coarse picture per seed
    img = Image.fromarray(blocks).resize(size, Image.Resampling.BICUBIC)
    exif = Image.Exif()
    if make:
        exif[0x010F] = make
        exif[0x0110] = f"{make} Model {seed}"
    img.save(path, "JPEG", quality=80, exif=exif)


def _contest(root: Path) -> Path:
    src = root / "submissions"
    _photo(src / "photos" / "张伟 月亮.jpg", seed=1)
    _photo(src / "photos" / "moon two.jpg", seed=2)
    _photo(src / "small.jpg", size=(1200, 800), seed=3)
    _photo(src / "stray.jpg", seed=4)
    (src / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0" + b"\x00" * 100)
    rows = [
        ["C001", "张伟", "北京四中", "8", "北京市", "photos/张伟 月亮.jpg", "Moon over Beijing", "The moon rising.",
         "2022/7/5 9:30"],
        ["C002", "Maria García", "Colegio", "Grade 11", "Guangdong", "photos/moon two.jpg", "Twin moons",
         "Two moons seen through glass.", "2022-07-08T21:15:00"],
        ["C003", "王芳", "School 3", "10", "河南省", "small.jpg", "Stars", "Stars over a field.", "2022-07-12 08:00"],
        ["C004", "Li Ming", "School 4", "9", "Zhejiang", "missing.jpg", "Gone", "A file that is not there.",
         "2022-07-01"],
        ["C005", "Olga", "School 5", "12", "Sichuan", "broken.jpg", "Broken", "A broken file.", "2022-07-01"],
    ]
    with open(src / "entries.csv", "w", newline="", encoding="utf-8-sig") as f:
        writer = csv.writer(f)
        writer.writerow(HEADERS)
        writer.writerows(rows)
    return src


def _hashes(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def _validate_json(src: Path, ws: Path, *extra: str) -> dict:
    result = runner.invoke(app, ["validate", str(src), "-w", str(ws), "--json", "--jobs", "1", *extra])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def _by_file(doc: dict) -> dict[str, dict]:
    return {e["file"]: e for e in doc["entries"]}


def test_validate_json_follows_spec(tmp_path: Path) -> None:
    src = _contest(tmp_path)
    doc = _validate_json(src, tmp_path / "ws")
    assert set(doc) == {"entries", "summary"}
    for entry in doc["entries"]:
        assert set(entry) == {"entry_id", "contestant_id", "file", "status", "category", "findings"}
        assert entry["status"] in ("eligible", "review", "rejected")
        for finding in entry["findings"]:
            assert set(finding) == {"rule", "severity", "message"}
    files = _by_file(doc)
    assert files["photos/张伟 月亮.jpg"]["status"] == "eligible"
    assert files["photos/张伟 月亮.jpg"]["category"] == "middle"
    assert files["photos/moon two.jpg"]["category"] == "high"
    small = {f["rule"] for f in files["small.jpg"]["findings"]}
    assert {"min-width", "late", "region-unknown"} <= small
    assert files["missing.jpg"]["status"] == "rejected"
    assert [f["rule"] for f in files["missing.jpg"]["findings"]] == ["missing-file"]
    assert "unreadable" in {f["rule"] for f in files["broken.jpg"]["findings"]}
    stray = files["stray.jpg"]
    assert stray["contestant_id"] is None and stray["status"] == "review"
    assert [f["rule"] for f in stray["findings"]] == ["unlisted-file"]
    summary = doc["summary"]
    assert summary["entries"] == 6 == len(doc["entries"])
    assert summary["eligible"] + summary["review"] + summary["rejected"] == 6


def test_validate_never_writes_into_source_and_works_read_only(tmp_path: Path) -> None:
    src = _contest(tmp_path)
    before = _hashes(src)
    modes = {}
    for p in [src, *src.rglob("*")]:
        modes[p] = p.stat().st_mode
        p.chmod(p.stat().st_mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))
    try:
        doc = _validate_json(src, tmp_path / "ws", "--report", str(tmp_path / "report.csv"))
    finally:
        for p, mode in sorted(modes.items(), key=lambda kv: len(kv[0].parts)):
            p.chmod(mode)
    assert doc["summary"]["entries"] == 6
    assert _hashes(src) == before
    assert not any(p.name.endswith((".sqlite", ".toml")) for p in src.rglob("*"))


def test_workspace_inside_source_is_refused(tmp_path: Path) -> None:
    src = _contest(tmp_path)
    result = runner.invoke(app, ["validate", str(src), "-w", str(src / "ws"), "--jobs", "1"])
    assert result.exit_code == 2
    assert "inside the submissions folder" in result.output
    assert not (src / "ws").exists()


def test_usage_errors_exit_2(tmp_path: Path) -> None:
    result = runner.invoke(app, ["validate", str(tmp_path / "nope"), "-w", str(tmp_path / "ws")])
    assert result.exit_code == 2
    assert "no such folder" in result.output
    result = runner.invoke(app, ["validate", "--bogus"])
    assert result.exit_code == 2


def test_broken_manifest_names_the_column(tmp_path: Path) -> None:
    src = tmp_path / "src"
    _photo(src / "a.jpg")
    (src / "entries.csv").write_text("name,title\nZhang,Moon\n", encoding="utf-8")
    result = runner.invoke(app, ["validate", str(src), "-w", str(tmp_path / "ws"), "--jobs", "1"])
    assert result.exit_code == 1
    assert "contestant_id" in result.output and "file" in result.output
    assert "Traceback" not in result.output


def test_decide_survives_revalidation_and_fixes_update(tmp_path: Path) -> None:
    src = _contest(tmp_path)
    ws = tmp_path / "ws"
    doc = _validate_json(src, ws)
    small = _by_file(doc)["small.jpg"]
    assert small["status"] == "rejected"
    result = runner.invoke(app, ["decide", small["entry_id"], "accept", "--reason", "jury asked for it", "-w", str(ws)])
    assert result.exit_code == 0, result.output
    assert "eligible" in result.output

    # the coordinator fixes a row: the title changes, the entry keeps its ID, the decision stays
    manifest = src / "entries.csv"
    text = manifest.read_text(encoding="utf-8-sig").replace("Twin moons", "Two Moons")
    manifest.write_text(text, encoding="utf-8-sig")
    doc2 = _validate_json(src, ws)
    again = _by_file(doc2)
    assert again["small.jpg"]["entry_id"] == small["entry_id"]
    assert again["small.jpg"]["status"] == "eligible"
    assert {f["rule"] for f in again["small.jpg"]["findings"]} >= {"min-width", "late"}
    assert [e["entry_id"] for e in doc2["entries"]] == [e["entry_id"] for e in doc["entries"]]

    from milsetctl.ledger import Ledger

    ledger = Ledger(ws / "ledger.sqlite")
    row = ledger.db.execute("SELECT title FROM entries WHERE file='photos/moon two.jpg'").fetchone()
    assert row[0] == "Two Moons"
    history = ledger.decision_history(small["entry_id"])
    assert [(h["decision"], h["reason"]) for h in history] == [("accept", "jury asked for it")]
    actions = [r["action"] for r in ledger.audit_trail()]
    assert actions.count("validate") == 2 and "decide" in actions
    ledger.close()


def test_decide_rejects_unknown_entry_and_bad_decision(tmp_path: Path) -> None:
    src = _contest(tmp_path)
    ws = tmp_path / "ws"
    _validate_json(src, ws)
    result = runner.invoke(app, ["decide", "E9999", "accept", "--reason", "x", "-w", str(ws)])
    assert result.exit_code == 2 and "no entry E9999" in result.output
    result = runner.invoke(app, ["decide", "E0001", "maybe", "--reason", "x", "-w", str(ws)])
    assert result.exit_code == 2


def test_status_and_rules(tmp_path: Path) -> None:
    src = _contest(tmp_path)
    ws = tmp_path / "ws"
    _validate_json(src, ws)
    result = runner.invoke(app, ["status", "-w", str(ws)])
    assert result.exit_code == 0, result.output
    assert "eligible" in result.output and "middle" in result.output and "high" in result.output
    result = runner.invoke(app, ["rules"])
    assert result.exit_code == 0
    for rule_id in ("missing-file", "unlisted-file", "min-width", "one-per-contestant", "region-unknown"):
        assert rule_id in result.output
    result = runner.invoke(app, ["rules", "min-width"])
    assert result.exit_code == 0 and "EXIF orientation" in result.output


def test_init_writes_every_default(tmp_path: Path) -> None:
    ws = tmp_path / "contest"
    result = runner.invoke(app, ["init", "-w", str(ws)])
    assert result.exit_code == 0, result.output
    text = (ws / "contest.toml").read_text(encoding="utf-8")
    import tomllib

    data = tomllib.loads(text)
    assert data["photo"]["min_width"] == 2000
    assert data["photo"]["max_bytes"] == 10 * 1024 * 1024
    assert data["contest"]["timezone"] == "Asia/Shanghai"
    assert str(data["contest"]["deadline"]) == "2022-07-11"
    assert data["awards"]["qualifier_fraction"] == 0.35
    assert text.count("#") > 20  # commented, for a person to edit
    assert (ws / "ledger.sqlite").exists()


def test_settings_change_severity_and_limits(tmp_path: Path) -> None:
    src = _contest(tmp_path)
    ws = tmp_path / "ws"
    runner.invoke(app, ["init", "-w", str(ws)])
    toml = ws / "contest.toml"
    text = toml.read_text(encoding="utf-8").replace("min_width = 2000", "min_width = 1000")
    text = text.replace("# camera-origin = \"info\"", "region-unknown = \"off\"")
    toml.write_text(text, encoding="utf-8")
    files = _by_file(_validate_json(src, ws))
    rules = {f["rule"] for f in files["small.jpg"]["findings"]}
    assert "min-width" not in rules and "region-unknown" not in rules and "late" in rules


def test_rerun_reads_no_photo_and_changed_photo_is_rechecked(tmp_path: Path) -> None:
    from milsetctl.pipeline import validate
    from milsetctl.workspace import init_workspace

    src = _contest(tmp_path)
    ws = init_workspace(tmp_path / "ws", src)
    first = validate(ws, src, jobs=1)
    assert first.photos_analysed == 5  # the missing file is not a photo; the broken one is
    second = validate(ws, src, jobs=1)
    assert second.photos_analysed == 0 and second.photos_cached == 5
    _photo(src / "small.jpg", size=(2600, 1700), seed=9)
    os.utime(src / "small.jpg", ns=(1, 1))
    third = validate(ws, src, jobs=1)
    assert third.photos_analysed == 1
    small = next(r for r in third.entries if r.entry.file == "small.jpg")
    assert "min-width" not in {f.rule for f in small.findings}
    ws.close()


def test_parallel_jobs_match_single_process(tmp_path: Path) -> None:
    src = _contest(tmp_path)
    one = _validate_json(src, tmp_path / "ws1")
    result = runner.invoke(app, ["validate", str(src), "-w", str(tmp_path / "ws2"), "--json", "--jobs", "2"])
    assert result.exit_code == 0, result.output
    two = json.loads(result.stdout)
    assert one == two


@pytest.mark.parametrize("ext", ["html", "csv", "xlsx"])
def test_report_formats(tmp_path: Path, ext: str) -> None:
    src = _contest(tmp_path)
    report = tmp_path / f"report.{ext}"
    result = runner.invoke(app, ["validate", str(src), "-w", str(tmp_path / "ws"), "--jobs", "1",
                                 "--report", str(report)])
    assert result.exit_code == 0, result.output
    assert report.exists() and report.stat().st_size > 200
    if ext == "csv":
        text = report.read_text(encoding="utf-8-sig")
        assert "张伟" in text and "min-width" in text
    elif ext == "html":
        text = report.read_text(encoding="utf-8")
        assert "张伟" in text and "data:image/jpeg;base64," in text
    else:
        from openpyxl import load_workbook

        book = load_workbook(report)
        values = [c.value for row in book.worksheets[0].iter_rows() for c in row]
        assert "张伟" in values


def test_terminal_output_reads_well(tmp_path: Path) -> None:
    src = _contest(tmp_path)
    result = runner.invoke(app, ["validate", str(src), "-w", str(tmp_path / "ws"), "--jobs", "1"])
    assert result.exit_code == 0
    out = result.stdout
    assert "eligible" in out and "Entries that need attention" in out
    assert "missing-file" in out and "Most frequent reasons" in out



def test_attention_table_shows_the_entries_to_decide_first(tmp_path: Path) -> None:
    """A limited table must not hide what the coordinator has to act on behind rejections: the entry waiting for
    a decision (E0006, the stray photo) comes before the rejected E0003..E0005, and the rest is counted by kind."""
    src = _contest(tmp_path)
    result = runner.invoke(app, ["validate", str(src), "-w", str(tmp_path / "ws"), "--jobs", "1", "--limit", "1"],
                           env={"COLUMNS": "120"})
    assert result.exit_code == 0
    out = result.stdout
    table = out.split("Entries that need attention")[1].split("… and")[0]
    assert "E0006" in table and "E0003" not in table
    assert "… and 3 more (3 rejected)" in out


def test_interrupted_run_resumes(tmp_path: Path) -> None:
    from milsetctl.pipeline import validate
    from milsetctl.workspace import init_workspace

    src = _contest(tmp_path)
    ws = init_workspace(tmp_path / "ws", src)

    def stop_after_two(done: int, total: int, current: str) -> None:
        if done == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        validate(ws, src, jobs=1, progress=stop_after_two)
    resumed = validate(ws, src, jobs=1)
    assert resumed.photos_cached == 2 and resumed.photos_analysed == 3
    ws.close()


def test_wrong_folders_never_cost_the_contest_anything(tmp_path: Path) -> None:
    """A coordinator names the photos sub-folder (no manifest), a parent of the workspace, or asks for a report
    inside the submissions: each is refused with exit 2, and the contest (entries, remembered folder) is intact."""
    src = _contest(tmp_path)
    ws = tmp_path / "ws"
    before = {e["entry_id"]: e["contestant_id"] for e in _validate_json(src, ws)["entries"]}
    settings_text = (ws / "contest.toml").read_text(encoding="utf-8")
    no_manifest = runner.invoke(app, ["validate", str(src / "photos"), "-w", str(ws)])
    assert no_manifest.exit_code == 2 and "holds no manifest" in " ".join(no_manifest.output.split())
    parent = runner.invoke(app, ["validate", str(tmp_path), "-w", str(ws)])
    assert parent.exit_code == 2 and "inside the submissions folder" in " ".join(parent.output.split())
    report = runner.invoke(app, ["validate", str(src), "-w", str(ws), "--report", str(src / "r.html")])
    assert report.exit_code == 2 and not (src / "r.html").exists()
    assert (ws / "contest.toml").read_text(encoding="utf-8") == settings_text
    after = {e["entry_id"]: e["contestant_id"] for e in _validate_json(src, ws)["entries"]}
    assert after == before
    export = runner.invoke(app, ["awards", "-w", str(ws), "--export", str(src / "awards.xlsx")])
    assert export.exit_code == 2 and not (src / "awards.xlsx").exists()


def test_an_entry_without_contestant_or_category_cannot_be_accepted(tmp_path: Path) -> None:
    src = _contest(tmp_path)
    doc = _validate_json(src, tmp_path / "ws")
    stray = next(e["entry_id"] for e in doc["entries"] if e["file"] == "stray.jpg")
    result = runner.invoke(app, ["decide", stray, "accept", "--reason", "looks fine", "-w", str(tmp_path / "ws")])
    assert result.exit_code == 2 and "no contestant" in " ".join(result.output.split())
    rejected = runner.invoke(app, ["decide", stray, "reject", "--reason", "nobody's", "-w", str(tmp_path / "ws")])
    assert rejected.exit_code == 0, rejected.output
