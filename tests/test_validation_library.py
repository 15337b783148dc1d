"""`validate` as a library call (issue 16: library first): what a test or a script does without the CLI."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import make_jpeg
from test_newcomer import _contest  # the small contest every workspace test makes

from milsetctl.models import StageError
from milsetctl.validation import Note, prepare_validation, run_validation
from milsetctl.workspace import NotAWorkspace, is_workspace, open_for_command

SIZE = (900, 600)  # small photos: these tests are about the workspace, not the pictures


def test_a_script_validates_a_folder_and_a_second_call_reuses_the_cache(tmp_path: Path) -> None:
    src = _contest(tmp_path / "src", n=3)
    root = tmp_path / "contest" / "ws"
    heard: list[Note] = []
    ticks: list[tuple[int, int]] = []

    first = run_validation(root, src, jobs=1, on_note=heard.append, progress=lambda d, t, _: ticks.append((d, t)))

    assert first.created and first.root == root.resolve() and is_workspace(root)
    assert len(first.result.entries) == 3 and first.result.summary()["entries"] == 3
    assert first.result.photos_analysed == 3 and first.result.photos_cached == 0
    assert [n.kind for n in first.notes] == ["created"] and heard == first.notes
    assert first.notes[0].path == root.resolve() and str(root.resolve()) in str(first.notes[0])
    assert ticks and ticks[-1][0] == ticks[-1][1] == 3

    again = run_validation(root, jobs=1)  # the source remembered, nothing said, unchanged photos not read again
    assert not again.created and again.notes == []
    assert again.result.photos_analysed == 0 and again.result.photos_cached == 3
    assert [e.entry.entry_id for e in again.result.entries] == [e.entry.entry_id for e in first.result.entries]


def test_usage_errors_carry_code_2(tmp_path: Path) -> None:
    with pytest.raises(StageError) as missing:
        run_validation(tmp_path / "ws", tmp_path / "nowhere")
    assert missing.value.code == 2 and "no such folder" in str(missing.value)
    with pytest.raises(StageError) as unnamed:
        run_validation(tmp_path / "ws")  # no workspace yet and no SOURCE named
    assert unnamed.value.code == 2 and "not a contest workspace" in str(unnamed.value)
    assert not (tmp_path / "ws").exists()


def test_a_broken_manifest_leaves_no_workspace(tmp_path: Path) -> None:
    src = tmp_path / "src"
    make_jpeg(src / "a.jpg", size=SIZE)
    (src / "entries.csv").write_text("name,title\nZhang,Moon\n", encoding="utf-8")
    heard: list[Note] = []
    with pytest.raises(StageError) as broken:
        run_validation(tmp_path / "contests" / "national", src, jobs=1, on_note=heard.append)
    assert broken.value.code == 1 and heard == []
    assert not (tmp_path / "contests").exists()


def test_prepare_holds_the_lock_until_closed_and_readers_take_none(tmp_path: Path) -> None:
    src = _contest(tmp_path / "src", n=1)
    root = tmp_path / "ws"
    run_validation(root, src, jobs=1)
    with prepare_validation(root) as job:  # the lock is re-entrant within a process: another one would wait
        assert job.folder == src.resolve() and len(job.submissions.entries) == 1
        assert job.ws.lock is not None
        with open_for_command(root, read_only=True) as reader:  # a reader never waits
            assert reader.lock is None
        result = job.run(jobs=1)
    assert result.photos_cached == 1 and job.ws.lock is None  # closed: the lock let go
    with open_for_command(root, wait=0) as ws:
        assert ws.lock is not None
    with pytest.raises(NotAWorkspace) as none:
        open_for_command(tmp_path / "elsewhere")
    assert none.value.code == 2


def test_report_inside_the_submissions_is_refused_before_anything_is_made(tmp_path: Path) -> None:
    src = _contest(tmp_path / "src", n=1)
    with pytest.raises(StageError) as inside:
        run_validation(tmp_path / "ws", src, report=src / "report.html")
    assert inside.value.code == 2 and not (tmp_path / "ws").exists()
