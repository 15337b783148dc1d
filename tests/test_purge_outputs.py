"""`purge --personal-data` finds every file milsetctl wrote from the stage graph's record of outputs (issue 16),
wherever the coordinator sent it with --report, --export, --out or an export's FILE: working files that name
people go, official outputs are listed (and go with --outputs), a folder outside the workspace is never removed
whole, and the submissions (photos, manifest) are never touched.

One contest is run through the CLI as a coordinator would, writing each output to a path of their own."""

from __future__ import annotations

import hashlib
import json
import zipfile
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from test_members import HEADER, ROWS, write_csv
from test_stages import _contest, ok, sheets

from milsetctl import stages
from milsetctl.workspace import open_workspace


def _digests(folder: Path) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def _records(ws: Path) -> dict[str, dict[str, Any]]:
    with open_workspace(ws, read_only=True) as opened:
        rows = {name: json.loads(r["detail"] or "{}") for name, r in opened.ledger.stage_runs().items()}
        opened.close()
    return rows


def _purge(ws: Path, *extra: str) -> dict[str, Any]:
    return json.loads(ok("purge", "--personal-data", "--json", "-w", str(ws), *extra).stdout)


@pytest.fixture
def contest(tmp_path: Path) -> dict[str, Path]:
    """A national round run to the end, each output where a coordinator chose to put it: `out` is a folder
    outside the workspace, the rest are folders of the workspace milsetctl does not use by default."""
    src, ws, out = _contest(tmp_path / "inbox"), tmp_path / "ws", tmp_path / "out"
    paths = {"src": src, "ws": ws, "out": out,
             "report-outside": out / "validation.xlsx", "report-inside": ws / "mine" / "check.csv",
             "awards": out / "awards.xlsx", "nomination": ws / "exports" / "nomination.zip",
             "members": out / "members.csv", "anonymised": out / "anonymised.xlsx",
             "certificates": ws / "print" / "participation", "gallery": out / "site",
             "contest-report": ws / "custom" / "contest.html"}
    ok("validate", str(src), "-w", str(ws), "--report", str(paths["report-outside"]))
    ok("validate", str(src), "-w", str(ws), "--report", str(paths["report-inside"]))  # the record moves on
    ok("anonymise", "-w", str(ws))
    jurors = write_csv(tmp_path / "jurors.csv", ["name", "affiliation", "country", "email", "school"],
                       [["Li Wei", "Museum", "China", "li.wei@example.cn", "No. 9 School"],
                        ["Wang Fang", "Observatory", "China", "wang.fang@example.cn", "No. 8 School"]])
    ok("jury", "sheets", "--jurors", str(jurors), "--quorum", "0", "-w", str(ws))
    ok("score", str(sheets(ws, tmp_path / "returned")), "-w", str(ws))
    ok("awards", "-w", str(ws), "--export", str(paths["awards"]))
    ok("nominate", "--top", "2", "--out", str(paths["nomination"]), "-w", str(ws))
    ok("members", "import", str(write_csv(tmp_path / "roster.csv", HEADER, ROWS)), "-w", str(ws))
    ok("members", "export", str(paths["members"]), "-w", str(ws))
    ok("export", "--anonymised", str(paths["anonymised"]), "-w", str(ws))
    ok("certificates", "participation", "--out", str(paths["certificates"]), "-w", str(ws))
    ok("gallery", "--out", str(paths["gallery"]), "-w", str(ws))
    ok("report", "--out", str(paths["contest-report"]), "-w", str(ws))
    return paths


def test_each_stage_records_the_paths_it_wrote_relative_to_the_workspace_when_inside(contest: dict[str, Path]
                                                                                      ) -> None:
    records = _records(contest["ws"])
    assert records["validate-report"]["outputs"] == ["mine/check.csv"]
    assert records["validate-report"]["earlier_outputs"] == [str(contest["report-outside"].resolve())]
    assert records["award-list"]["outputs"] == [str(contest["awards"].resolve())]
    assert records["nominate"]["outputs"] == ["exports/nomination.zip"]
    assert records["members-export"]["outputs"] == [str(contest["members"].resolve())]
    assert records["anonymised-export"]["outputs"] == [str(contest["anonymised"].resolve())]
    assert records["certificates:participation"]["outputs"] == ["print/participation"]
    assert records["gallery"]["outputs"] == [str(contest["gallery"].resolve())]
    assert records["report"]["outputs"] == ["custom/contest.html"]
    assert records["jury-sheets"]["outputs"] == ["jury/sheets"]
    assert records["anonymise"]["outputs"] == ["jury/package"]
    # the export records are no stage: status is unchanged by them
    names = {s["stage"] for s in json.loads(ok("status", "--json", "-w", str(contest["ws"])).stdout)["stages"]}
    assert not names & set(stages.EXPORTS) and set(names) == set(stages.STAGES)


def test_purge_finds_every_output_removes_the_working_files_and_with_outputs_the_official_ones(
        contest: dict[str, Path]) -> None:
    ws, src = contest["ws"], contest["src"]
    submissions = _digests(src)  # the photos and the manifest
    # what the outputs hold, read as a person would open them: names in each
    assert "Student C1" in contest["members"].read_text(encoding="utf-8-sig") or \
        "Marie Tremblay" in contest["members"].read_text(encoding="utf-8-sig")
    book = openpyxl.load_workbook(contest["report-outside"], read_only=True)
    assert any("Student C1" in str(c) for row in book["entries"].iter_rows(values_only=True) for c in row)
    with zipfile.ZipFile(contest["nomination"]) as zf:
        assert "Student" in zf.read("entries.csv").decode("utf-8-sig")

    doc = _purge(ws, "--dry-run")
    removed = {f["folder"]: f["why"] for f in doc["folders"]}
    kept = "\n".join(doc["kept"])
    # working files that name people go, wherever they were written
    assert str(contest["report-outside"].resolve()) in removed
    assert "mine/check.csv" in removed and "validate --report" in removed["mine/check.csv"]
    assert str(contest["members"].resolve()) in removed
    assert "custom/contest.html" in removed and "(report)" in removed["custom/contest.html"]  # names the jurors
    # official outputs are named, each by its path and what made it; none is "not a file milsetctl makes"
    assert f"{contest['awards'].resolve()}: the award list export" in kept
    assert "exports/nomination.zip: 1 file: the nomination zip" in kept
    assert "print/participation/: " in kept and "participation certificates" in kept
    assert f"{contest['gallery'].resolve()}/: the virtual gallery" in kept and "removes no folder there" in kept
    assert "jury/sheets/: " in kept
    assert "not a file milsetctl makes" not in kept, kept
    # nothing of the submissions, nor an output holding nobody's data (the anonymised export)
    listed = " ".join(removed) + kept
    assert str(src) not in listed.replace(f"the submissions folder {src.resolve()}", "")
    assert str(contest["anonymised"].resolve()) not in listed

    ok("purge", "--personal-data", "--yes", "-w", str(ws))
    assert not contest["report-outside"].exists() and not contest["report-inside"].exists()
    assert not contest["members"].exists() and not contest["contest-report"].exists()
    for name in ("awards", "nomination", "certificates", "gallery", "anonymised"):
        assert contest[name].exists(), name
    assert _digests(src) == submissions

    # --outputs: the official outputs go too; a folder outside the workspace is listed, never removed whole
    doc = _purge(ws, "--outputs", "--dry-run")
    removed = {f["folder"]: f["why"] for f in doc["folders"]}
    assert str(contest["awards"].resolve()) in removed and "exports/nomination.zip" in removed
    assert any(f.startswith("print/participation/") for f in removed), removed
    assert "jury/sheets/" in removed
    assert f"{contest['gallery'].resolve()}/: the virtual gallery" in "\n".join(doc["kept"])
    ok("purge", "--personal-data", "--outputs", "--yes", "-w", str(ws))
    assert not contest["awards"].exists() and not contest["nomination"].exists()
    assert not any(contest["certificates"].rglob("*.pdf"))
    assert not (ws / "jury" / "sheets").exists()
    assert (contest["gallery"] / "index.html").exists()  # outside: the coordinator's to delete
    assert contest["anonymised"].exists()  # no personal data in it
    assert (ws / "ledger.sqlite").exists() and (ws / "contest.toml").exists()
    assert _digests(src) == submissions


def test_a_recorded_folder_holding_the_workspace_or_the_submissions_is_never_removed(tmp_path: Path) -> None:
    """A record naming the workspace itself (gallery --out .) or a folder above SOURCE must not make the purge
    empty them."""
    src = _contest(tmp_path / "inbox")
    ws = tmp_path / "ws"
    ok("validate", str(src), "-w", str(ws))
    with open_workspace(ws) as opened:
        opened.ledger.record_stage("gallery", {}, {"outputs": [".", str(tmp_path)]})
        opened.close()
    submissions = _digests(src)
    doc = _purge(ws, "--outputs", "--dry-run")
    assert all(not f["folder"].startswith((".", str(tmp_path))) for f in doc["folders"]), doc["folders"]
    ok("purge", "--personal-data", "--outputs", "--yes", "-w", str(ws))
    assert (ws / "ledger.sqlite").exists() and _digests(src) == submissions
