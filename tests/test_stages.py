"""One contest state (issue 16): every stage knows what is out of date, refuses to work from it, and `status` says
what to do next. The three scenarios a reviewer found, driven through the CLI as a coordinator runs them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from conftest import make_jpeg, write_manifest
from typer.testing import CliRunner

from milsetctl import stages
from milsetctl.cli import app
from milsetctl.decisions import DecisionError, record_decision
from milsetctl.workspace import open_workspace

runner = CliRunner()
CRITERIA = ["originality", "information", "technique", "impact"]
# C1-C3 middle school (grade 8), C4-C6 high school (grade 10); C6's province has no regional round (a review)
GRADES = {"C1": "8", "C2": "8", "C3": "8", "C4": "10", "C5": "10", "C6": "10"}
QUALITY = {"C1": 9, "C2": 7, "C3": 4, "C4": 8, "C5": 6, "C6": 3}


def _contest(src: Path, grades: dict[str, str] = GRADES, title2: str = "Moon over the hills") -> Path:
    rows = []
    for i, (cid, grade) in enumerate(grades.items()):
        rel = f"photos/{cid}.jpg"
        if not (src / rel).exists():
            make_jpeg(src / rel, exif={"make": "Canon", "model": "EOS 80D"}, seed=100 + i)
        rows.append({"contestant_id": cid, "name": f"Student {cid}", "school": "No. 1 Middle School",
                     "grade": grade, "province": "Beijing", "country": "China", "email": f"{cid.lower()}@example.cn",
                     "file": rel, "title": title2 if cid == "C2" else f"Night sky {cid}",
                     "description": "Stars above the hills near my school.", "submitted_at": "2022-07-01"})
    write_manifest(src, rows)
    return src


def run(*args: str) -> Any:
    return runner.invoke(app, [*args, "--jobs", "1"] if args[0] == "validate" else list(args))


def ok(*args: str) -> Any:
    result = run(*args)
    assert result.exit_code == 0, result.output
    return result


def status(ws: Path) -> dict[str, Any]:
    doc = json.loads(ok("status", "-w", str(ws), "--json").stdout)
    return {s["stage"]: s for s in doc["stages"]} | {"#": doc}


def sheets(ws: Path, folder: Path) -> Path:
    """Two jurors' filled CSV sheets for every anonymous ID (each criterion = the entry's quality, + the juror's
    offset)."""
    with open_workspace(ws) as opened:
        anon = {r["anon_id"]: opened.ledger.entry(r["entry_id"])["contestant_id"] for r in opened.ledger.anon_rows()}
        opened.close()
    folder.mkdir(parents=True, exist_ok=True)
    for juror, offset in (("Li Wei", 0), ("Wang Fang", 1)):
        lines = ["anon_id," + ",".join(CRITERIA) + ",comment"]
        lines += [f"{a}," + ",".join([str(min(10, QUALITY[c] + offset))] * 4) + "," for a, c in sorted(anon.items())]
        (folder / f"{juror}.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder


@pytest.fixture
def contest(tmp_path: Path) -> tuple[Path, Path, Path]:
    src = _contest(tmp_path / "inbox")
    ws = tmp_path / "ws"
    ok("validate", str(src), "-w", str(ws))
    return src, ws, tmp_path


def entry_of(ws: Path, cid: str) -> str:
    with open_workspace(ws) as opened:
        found = next(r["entry_id"] for r in opened.ledger.entries() if r["contestant_id"] == cid)
        opened.close()
    return found


def test_a_grade_corrected_after_score_makes_awards_refuse_until_score_runs_again(contest: Any) -> None:
    src, ws, tmp = contest
    ok("anonymise", "-w", str(ws))
    folder = sheets(ws, tmp / "returned")
    ok("score", str(folder), "-w", str(ws))
    awards = json.loads(ok("awards", "-w", str(ws), "--json").stdout)
    c3 = entry_of(ws, "C3")
    assert next(e for e in awards["entries"] if e["entry_id"] == c3)["category"] == "middle"

    # C3 is in grade 10 after all: the coordinator fixes the manifest
    fixed = tmp / "fixed.csv"
    fixed.write_text((src / "entries.csv").read_text(encoding="utf-8-sig").replace("C3,Student C3,No. 1 Middle "
                     "School,8", "C3,Student C3,No. 1 Middle School,10"), encoding="utf-8")
    run_ = ok("validate", "-w", str(ws), "--manifest", str(fixed))
    said = " ".join(run_.stdout.split())
    assert f"the combined ranking: changed since it ran: {c3}: category now high" in said
    assert f"milsetctl score {folder}" in said  # the command names the sheets folder score read

    refused = run("awards", "-w", str(ws))
    assert refused.exit_code == 1
    text = " ".join(refused.output.split())
    assert f"{c3}: category now high" in text and f"`milsetctl score {folder}` first" in text
    for later in (["gallery"], ["certificates", "qualifier"], ["nominate", "--top", "2", "--out",
                                                              str(tmp / "n.zip")]):
        blocked = run(*later, "-w", str(ws))
        assert blocked.exit_code == 1, later
        assert "out of date" in blocked.output and "Traceback" not in blocked.output
    st = status(ws)
    assert st["score"]["state"] == "stale" and st["awards"]["state"] == "stale"
    assert st["#"]["next"] == f"milsetctl score {folder}"

    ok("score", str(folder), "-w", str(ws))
    awards = json.loads(ok("awards", "-w", str(ws), "--json").stdout)
    by_id = {e["entry_id"]: e for e in awards["entries"]}
    assert by_id[c3]["category"] == "high"
    # with C3 among the high school entries, the Qualifier Award is cut per category from the new categories
    assert sum(1 for e in awards["entries"] if e["category"] == "middle") == 2
    assert status(ws)["awards"]["state"] == "done"


def test_a_corrected_title_stays_flagged_until_each_output_is_made_again(contest: Any) -> None:
    src, ws, tmp = contest
    ok("certificates", "participation", "-w", str(ws))
    ok("certificates", "participation", "--proof", "-w", str(ws))
    c2 = entry_of(ws, "C2")
    _contest(src, title2="Moon over the river")  # the contestant corrected the title
    first = ok("validate", "-w", str(ws))
    assert f"participation certificates: changed since it ran: {c2}: title changed" in " ".join(first.stdout.split())
    again = ok("validate", "-w", str(ws))  # nothing new read: still out of date, still said
    said = " ".join(again.stdout.split())
    assert f"participation certificates: changed since it ran: {c2}: title changed" in said
    assert "the certificates' proof list" in said
    st = status(ws)
    assert st["certificates:participation"]["state"] == "stale"
    assert c2 in st["certificates:participation"]["why"]
    assert st["certificates:participation"]["next"] == "milsetctl certificates participation"
    assert st["certificates:proof"]["next"] == "milsetctl certificates participation --proof"

    ok("certificates", "participation", "-w", str(ws))
    assert status(ws)["certificates:participation"]["state"] == "done"


def test_waiting_entries_are_named_and_certificates_before_awards_refuse(contest: Any) -> None:
    src, ws, tmp = contest
    with open_workspace(ws) as opened:  # C6 waits for a decision
        c6 = entry_of_open(opened, "C6")
        opened.ledger.set_status(c6, "review")
        opened.close()
    st = status(ws)
    assert st["decisions"]["state"] == "not-yet" and c6 in st["decisions"]["why"]
    assert any(c6 in w for w in st["#"]["waiting"])
    assert st["#"]["next"].startswith(f"milsetctl decide {c6}")
    text = " ".join(ok("status", "-w", str(ws)).stdout.split())
    assert f"Waiting on a person: 1 entry waits for a decision ({c6})" in text
    assert f"Next: milsetctl decide {c6} accept|reject --reason TEXT" in text

    for kind in ("qualifier", "global", "gallery"):
        refused = run("certificates", kind, "-w", str(ws))
        assert refused.exit_code == 1 and "which is not made yet" in refused.output, refused.output
    gallery = run("gallery", "-w", str(ws))
    assert gallery.exit_code == 1 and "`milsetctl awards`" in " ".join(gallery.output.split())


def entry_of_open(opened: Any, cid: str) -> str:
    return str(next(r["entry_id"] for r in opened.ledger.entries() if r["contestant_id"] == cid))


def test_accept_refuses_an_entry_with_no_usable_photo(tmp_path: Path) -> None:
    src = _contest(tmp_path / "inbox")
    (src / "photos" / "C2.jpg").unlink()
    ws = tmp_path / "ws"
    ok("validate", str(src), "-w", str(ws))
    c2 = entry_of(ws, "C2")
    refused = run("decide", c2, "accept", "--reason", "I saw the photo", "-w", str(ws))
    assert refused.exit_code != 0
    assert "no usable photo" in " ".join(refused.output.split())
    with open_workspace(ws) as opened, pytest.raises(DecisionError, match="no usable photo"):
        record_decision(opened.ledger, c2, "accept", "ok")
    ok("anonymise", "-w", str(ws))  # and the jury round goes on without it


def test_status_on_a_fresh_workspace_names_validate(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    from milsetctl.workspace import init_workspace

    init_workspace(ws).close()
    st = status(ws)
    assert st["validate"]["state"] == "not-yet" and st["#"]["next"] == "milsetctl validate SOURCE"
    assert {s["state"] for k, s in st.items() if k != "#"} == {"not-yet"}


def test_a_late_sheet_makes_the_ranking_stale(contest: Any) -> None:
    src, ws, tmp = contest
    ok("anonymise", "-w", str(ws))
    folder = sheets(ws, tmp / "returned")
    late = (folder / "Wang Fang.csv").read_text(encoding="utf-8")
    (folder / "Wang Fang.csv").unlink()
    ok("score", str(folder), "-w", str(ws))
    (folder / "Zhao Qiang.csv").write_text(late, encoding="utf-8")  # a juror's sheet arrives after score
    st = status(ws)
    assert st["score"]["state"] == "stale" and "sheet Zhao Qiang.csv is new" in st["score"]["why"]
    assert st["awards"]["state"] in ("not-yet", "stale")


def test_stage_snapshot_holds_no_personal_words(contest: Any) -> None:
    """The stage records keep digests only: a purge has nothing to scrub there."""
    src, ws, tmp = contest
    ok("certificates", "participation", "-w", str(ws))
    with open_workspace(ws) as opened:
        text = " ".join(str(tuple(r)) for r in opened.ledger.db.execute("SELECT snapshot FROM stage_runs"))
        opened.close()
    assert "Student" not in text and "Night sky" not in text and "example.cn" not in text


def test_every_stage_is_known_to_check() -> None:
    names = list(stages.STAGES)
    assert names[:3] == ["validate", "decisions", "anonymise"]
    for stage in stages.STAGES.values():
        assert all(n in stages.STAGES for n in stage.needs)
        assert set(stage.current) <= set(stage.needs)
        assert all(f in stages.FACTS for f in stage.facts)
        assert names.index(stage.name) > max((names.index(n) for n in stage.needs), default=-1)


def test_status_walks_a_chair_through_the_round(contest: Any) -> None:
    """After anonymise the next step is the jurors' sheets; after the awards, the outputs not made yet; a
    stage this contest does not have (global certificates at the national stage) is not listed."""
    src, ws, tmp = contest
    ok("anonymise", "-w", str(ws))
    st = status(ws)
    assert st["#"]["next"] == "milsetctl jury sheets --jurors JURORS.xlsx"
    assert not st["certificates:global"]["relevant"] and not st["certificates:member"]["relevant"]
    text = ok("status", "-w", str(ws)).stdout
    assert "certificates:global" not in text and "certificates:member" not in text
    folder = sheets(ws, tmp / "returned")  # the chair takes long CSVs instead of juror sheets: that is fine
    ok("score", str(folder), "-w", str(ws))
    ok("awards", "-w", str(ws))
    st = status(ws)
    assert st["#"]["next"] in ("milsetctl award-list", "milsetctl awards --export FILE.xlsx",
                               "milsetctl nominate --top N --out FILE.zip", "milsetctl certificates participation")
    assert st["jury-sheets"]["state"] == "not-yet"  # skipped, and no longer suggested once score ran


def test_the_award_list_is_stale_when_a_juror_corrects_a_score(contest: Any) -> None:
    src, ws, tmp = contest
    ok("anonymise", "-w", str(ws))
    folder = sheets(ws, tmp / "returned")
    ok("score", str(folder), "-w", str(ws))
    ok("awards", "-w", str(ws), "--export", str(tmp / "awards.xlsx"))
    assert status(ws)["award-list"]["state"] == "done"
    sheet = folder / "Li Wei.csv"
    lines = sheet.read_text(encoding="utf-8").splitlines()
    first = lines[1].split(",")
    first[1] = str(int(first[1]) - 1)  # one score corrected, the ranking may stay the same
    sheet.write_text("\n".join([lines[0], ",".join(first), *lines[2:]]) + "\n", encoding="utf-8")
    ok("score", str(folder), "-w", str(ws))
    ok("awards", "-w", str(ws))  # the awards made again, the exported list not
    st = status(ws)
    assert st["award-list"]["state"] == "stale", st["award-list"]
    assert st["#"]["next"] == f"milsetctl awards --export {tmp / 'awards.xlsx'}"


def test_a_ranking_stored_despite_problems_waits_on_the_chair(contest: Any) -> None:
    src, ws, tmp = contest
    ok("anonymise", "-w", str(ws))
    folder = sheets(ws, tmp / "returned")
    sheet = folder / "Li Wei.csv"
    lines = sheet.read_text(encoding="utf-8").splitlines()
    first = lines[1].split(",")
    first[2] = ""
    sheet.write_text("\n".join([lines[0], ",".join(first), *lines[2:]]) + "\n", encoding="utf-8")
    assert run("score", str(folder), "-w", str(ws), "--allow-missing").exit_code in (0, 1)
    waiting = " ".join(status(ws)["#"]["waiting"])
    assert "stored with --allow-missing despite 1 problem(s)" in waiting
