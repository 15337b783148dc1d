"""validate's two passes (issue 18, "verdicts early"): every verdict but the text check is saved first; the text
check runs second, only for entries not already rejected, resumably; `status` says how far it is, and `anonymise`
and `awards` name the entries it has not reached.

The photos are drawn here; the OCR models are real.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import make_jpeg, write_manifest
from PIL import ImageDraw
from test_rules_vision import font, landscape
from typer.testing import CliRunner

from milsetctl import pipeline, workers
from milsetctl.cli import app
from milsetctl.validation import run_validation
from milsetctl.workspace import open_workspace

pytest.importorskip("rapidocr")

runner = CliRunner()


def _contest(src: Path) -> Path:
    """Four entries: a photo with a copyright line (E0001), two clean ones, and a clean one whose grade rejects it."""
    marked = landscape((2100, 1400), seed=3)
    ImageDraw.Draw(marked).text((60, 1310), "© Zhang Wei 2022 www.zhangwei-photo.cn", font=font(44),
                                fill=(255, 255, 255))
    (src / "photos").mkdir(parents=True)
    marked.save(src / "photos" / "a.jpg", quality=92)
    rows = [{"contestant_id": "C1", "name": "Zhang Wei", "grade": "8", "province": "Hebei", "file": "photos/a.jpg",
             "title": "Hills", "description": "Hills at dusk.", "submitted_at": "2022-07-01"}]
    for i, grade in ((2, "9"), (3, "10"), (4, "5")):
        make_jpeg(src / "photos" / f"p{i}.jpg", size=(2100, 1400), exif={"make": "Canon", "model": "EOS"}, seed=i)
        rows.append({"contestant_id": f"C{i}", "name": f"N{i}", "grade": grade, "province": "Hebei",
                     "file": f"photos/p{i}.jpg", "title": "Moon", "description": "The moon.",
                     "submitted_at": "2022-07-01"})
    write_manifest(src, rows)
    return src


def _text_rows(ws_root: Path) -> int:
    ws = open_workspace(ws_root, read_only=True)
    try:
        return ws.ledger.db.execute("SELECT count(*) FROM rule_results WHERE rule='text-watermark'").fetchone()[0]
    finally:
        ws.close()


def _status(ws: Path) -> dict[str, dict[str, Any]]:
    result = runner.invoke(app, ["status", "-w", str(ws), "--json"])
    assert result.exit_code == 0, result.output
    return {s["stage"]: s for s in json.loads(result.stdout)["stages"]}


def test_first_pass_saves_every_other_verdict_and_the_text_check_follows(tmp_path: Path) -> None:
    src, ws = _contest(tmp_path / "src"), tmp_path / "ws"
    first = runner.invoke(app, ["validate", str(src), "-w", str(ws), "--jobs", "1", "--first-pass", "--json"])
    assert first.exit_code == 0, first.output
    doc = {e["entry_id"]: e for e in json.loads(first.stdout)["entries"]}
    assert not any(f["rule"] == "text-watermark" for e in doc.values() for f in e["findings"])
    assert doc["E0004"]["status"] == "rejected"  # grade 5: rejected in the first pass
    assert "Every verdict but the text check is saved" in first.stderr and "left for later" in first.stderr
    assert _text_rows(ws) == 0

    stages = _status(ws)
    assert stages["validate"]["state"] == "stale" and stages["validate"]["next"] == "milsetctl validate"
    why = stages["validate"]["why"]
    assert "checked 0 of 3 photos" in why and "E0001" in why and "E0004" not in why

    refused = runner.invoke(app, ["anonymise", "-w", str(ws)])
    assert refused.exit_code == 1
    assert "E0001" in refused.output and "milsetctl validate" in refused.output

    second = runner.invoke(app, ["validate", "-w", str(ws), "--jobs", "1", "--json"])
    assert second.exit_code == 0, second.output
    doc = {e["entry_id"]: e for e in json.loads(second.stdout)["entries"]}
    marks = [f for f in doc["E0001"]["findings"] if f["rule"] == "text-watermark"]
    assert marks and doc["E0001"]["status"] == "review"
    assert "Text check (second pass)" in second.stderr
    # the first pass's count is a count so far (a newcomer read 11 eligible there, 10 in the table after): E0001 is
    # eligible until the text check sends it to review
    assert "2 eligible so far" in second.stderr and "sends an eligible entry to review" in second.stderr
    assert _text_rows(ws) == 3  # the rejected entry's photo was never text-checked
    assert _status(ws)["validate"]["state"] == "done"
    ws_ = open_workspace(ws, read_only=True)
    try:
        actions = [r["action"] for r in ws_.ledger.audit_trail()]
        assert ws_.ledger.pending_checks() == {}
    finally:
        ws_.close()
    # one "validate" record per run, and one for the second pass that ran
    assert actions.count("validate") == 2 and actions.count("validate-second-pass") == 1


def test_an_interrupted_second_pass_resumes_with_the_photos_left(tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    src, ws = _contest(tmp_path / "src"), tmp_path / "ws"
    real = pipeline._run_jobs
    passes: list[list[str]] = []

    def stop_after_one(jobs: list[pipeline.PhotoJob], workers: int,
                       threaded: bool = False) -> Iterator[pipeline.PhotoOutcome]:
        passes.append([j.rel for j in jobs])
        for n, outcome in enumerate(real(jobs, workers, threaded=threaded)):
            yield outcome
            if len(passes) == 2 and n == 0:  # the second pass, after its first photo
                raise KeyboardInterrupt

    monkeypatch.setattr(pipeline, "_run_jobs", stop_after_one)
    with pytest.raises(Exception) as stopped:
        run_validation(ws, src, jobs=1)
    assert getattr(stopped.value, "code", None) == 130
    assert len(passes[0]) == 4 and len(passes[1]) == 3  # the first pass read all four, the second three
    assert _text_rows(ws) == 1
    assert "checked 1 of 3 photos" in _status(ws)["validate"]["why"]

    passes.clear()
    monkeypatch.setattr(pipeline, "_run_jobs", lambda jobs, workers, threaded=False: (
        passes.append([j.rel for j in jobs]), *real(jobs, workers, threaded=threaded))[1:])
    run = run_validation(ws, jobs=1)
    assert passes[0] == [] and len(passes[1]) == 2  # nothing read again in the first pass; two photos left
    assert run.result.second_pass_pending == 0 and _text_rows(ws) == 3
    assert _status(ws)["validate"]["state"] == "done"


def test_the_first_pass_never_loads_the_text_models(tmp_path: Path) -> None:
    """A worker of the first pass imports no OCR runtime: memory goes to the text pass's workers only."""
    src, ws = _contest(tmp_path / "src"), tmp_path / "ws"
    code = ("import sys; from pathlib import Path; from milsetctl.validation import run_validation; "
            f"run_validation(Path({str(ws)!r}), Path({str(src)!r}), jobs=1, second_pass=False); "
            "print(sorted(m for m in ('rapidocr', 'onnxruntime') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "[]", out.stdout + out.stderr
    assert _text_rows(ws) == 0


@pytest.fixture
def pools(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The max_workers of every process pool validate opens, in order."""
    opened: list[int] = []

    class Recorded(workers.ProcessPoolExecutor):
        def __init__(self, max_workers: int, **kwargs: Any) -> None:
            opened.append(max_workers)
            super().__init__(max_workers, **kwargs)

    monkeypatch.setattr(workers, "ProcessPoolExecutor", Recorded)
    return opened


def test_the_second_pass_runs_in_one_worker_process_on_a_thread_per_core(tmp_path: Path, pools: list[int]) -> None:
    """Issue 18's memory: with --jobs 2 the first pass runs two worker processes and the text check one, on two
    threads (one copy of the OCR models); the verdicts are the same as on one core."""
    src = _contest(tmp_path / "src")
    two = run_validation(tmp_path / "two", src, jobs=2)
    one = run_validation(tmp_path / "one", src, jobs=1)
    assert pools == [2, 1]  # the first pass, the second; --jobs 1 runs in the command itself

    def text_findings(run: Any) -> dict[str, list[str]]:
        return {r.entry.file: [f.message for f in r.findings if f.rule == "text-watermark"] for r in run.result.entries}

    found = text_findings(two)
    assert found == text_findings(one)
    assert [file for file, messages in found.items() if messages] == ["photos/a.jpg"]
    assert "Zhang Wei" in found["photos/a.jpg"][0]
    assert two.result.second_pass_pending == 0 and _text_rows(tmp_path / "two") == 3


def test_two_threads_of_one_worker_find_what_one_photo_at_a_time_finds(tmp_path: Path, pools: list[int],
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """The text check is thread-safe: six photos (four with a different mark each, two clean) analysed as the
    second pass runs them (one worker process, two threads: analyse_stream) give the findings of analysing them
    one after another here; every photo comes back once, across a fresh worker after WORKER_RECYCLE photos per
    thread (2 here: the first worker takes four photos, the second two)."""
    from milsetctl.settings import defaults

    monkeypatch.setattr(pipeline, "WORKER_RECYCLE", 2)
    marks = ["© Li Na 2023", "www.example-photo.org", "@wang.photos", "Photo by Ahmed Khan"]
    jobs = []
    for i in range(6):
        image = landscape((1800, 1200), seed=10 + i)
        if i < len(marks):
            ImageDraw.Draw(image).text((50, 1120), marks[i], font=font(48), fill=(255, 255, 255))
        path = tmp_path / f"p{i}.jpg"
        image.save(path, quality=92)
        jobs.append(pipeline.PhotoJob(path.name, str(path), ["text-watermark"], defaults().raw,
                                      str(tmp_path / "thumbs"), []))
    alone = [pipeline.analyse_photo(job) for job in jobs]
    by_rel = {o.rel: o for o in pipeline._run_jobs(jobs, 2, threaded=True)}
    assert sorted(by_rel) == [job.rel for job in jobs] and pools == [1, 1]
    threaded = [by_rel[job.rel] for job in jobs]
    messages = [[f.message for f in o.findings["text-watermark"]] for o in threaded]
    assert messages == [[f.message for f in o.findings["text-watermark"]] for o in alone]
    assert [bool(m) for m in messages] == [True, True, True, True, False, False]
    assert "Li Na" in messages[0][0] and "example-photo" in messages[1][0]


def test_the_text_checks_worker_dying_hands_the_photos_left_to_a_process_per_core(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, pools: list[int], caplog: pytest.LogCaptureFixture) -> None:
    """The second pass's one worker process dies after one photo (a library's crash, the out-of-memory killer): the
    two photos it had not finished are checked on two processes, as the first pass's are; the run completes and says
    what happened."""
    from concurrent.futures.process import BrokenProcessPool

    src, ws = _contest(tmp_path / "src"), tmp_path / "ws"
    real = pipeline._run_threaded

    def dies_after_one(jobs: list[pipeline.PhotoJob], threads: int) -> Iterator[pipeline.PhotoOutcome]:
        for outcome in real(jobs, threads):
            yield outcome
            raise BrokenProcessPool("A process in the process pool was terminated abruptly")

    monkeypatch.setattr(pipeline, "_run_threaded", dies_after_one)
    with caplog.at_level("WARNING", logger="milsetctl.pipeline"):
        run = run_validation(ws, src, jobs=2)
    assert pools == [2, 1, 2]  # the first pass, the text check's worker, the photos it left
    assert run.result.second_pass_pending == 0 and _text_rows(ws) == 3
    assert "stopped unexpectedly" in caplog.text and "the 2 photos left" in caplog.text
    marked = [r for r in run.result.entries if r.entry.file == "photos/a.jpg"][0]
    assert any(f.rule == "text-watermark" for f in marked.findings)


def test_a_worker_killed_from_outside_is_one_line_and_the_next_run_goes_on(tmp_path: Path,
                                                                          monkeypatch: pytest.MonkeyPatch,
                                                                          capsys: pytest.CaptureFixture[str]) -> None:
    """The out-of-memory killer ends a worker where no other is left to take its photos (here the text check's,
    after one photo): `milsetctl` (its console script, cli.main) says so in one line, exit 1, no traceback; the
    photo finished is kept and the next run checks only the two left."""
    from concurrent.futures.process import BrokenProcessPool

    from milsetctl import cli

    src, ws = _contest(tmp_path / "src"), tmp_path / "ws"
    real = pipeline._run_jobs

    def killed_after_one(jobs: list[pipeline.PhotoJob], workers: int,
                         threaded: bool = False) -> Iterator[pipeline.PhotoOutcome]:
        for n, outcome in enumerate(real(jobs, workers, threaded=threaded)):
            yield outcome
            if threaded and n == 0:
                raise BrokenProcessPool("A process in the process pool was terminated abruptly")

    monkeypatch.setattr(pipeline, "_run_jobs", killed_after_one)
    monkeypatch.setattr(sys, "argv", ["milsetctl", "validate", str(src), "-w", str(ws), "--jobs", "2"])
    with pytest.raises(SystemExit) as stopped:
        cli.main()
    assert stopped.value.code == 1
    err = " ".join(capsys.readouterr().err.split())
    assert "error: a worker process was stopped from outside" in err and "--jobs 1" in err
    assert "Traceback" not in err and "BrokenProcessPool" not in err
    assert _text_rows(ws) == 1

    passes: list[int] = []
    monkeypatch.setattr(pipeline, "_run_jobs", lambda jobs, workers, threaded=False: (
        passes.append(len(jobs)), *real(jobs, workers, threaded=threaded))[1:])
    run = run_validation(ws, jobs=2)
    assert passes == [0, 2] and run.result.second_pass_pending == 0 and _text_rows(ws) == 3


def test_a_real_crash_on_a_photo_thread_leaves_its_stacks_and_the_run_goes_on(
        tmp_path: Path, pools: list[int], capfd: pytest.CaptureFixture[str]) -> None:
    """A segmentation fault in the text check's worker (tests/segfault_rule.py reads address 0 on a photo thread):
    faulthandler writes the threads' stacks to stderr, and every photo still comes back, the ones left checked on
    a process per core (where the rule finds nothing)."""
    from milsetctl.settings import defaults

    jobs = []
    for i in range(3):
        path = tmp_path / f"p{i}.jpg"
        make_jpeg(path, size=(900, 600), seed=i)
        jobs.append(pipeline.PhotoJob(path.name, str(path), ["segfault-on-a-photo-thread"], defaults().raw,
                                      str(tmp_path / "thumbs"), ["segfault_rule"]))
    outcomes = list(pipeline._run_jobs(jobs, 2, threaded=True))
    assert sorted(o.rel for o in outcomes) == ["p0.jpg", "p1.jpg", "p2.jpg"]
    assert all(o.findings["segfault-on-a-photo-thread"] == [] and not o.failed_rules for o in outcomes)
    assert pools == [1, 2]  # the text check's worker, then a process per core for what it left
    err = capfd.readouterr().err
    assert "Fatal Python error: Segmentation fault" in err and "segfault_rule.py" in err
