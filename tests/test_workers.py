"""milsetctl/workers.py, the one worker pool: results from two spawned workers are what one process gives, and
the result notices drawn on two workers are the same letters."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from notices_fixtures import notices_contest
from pypdf import PdfReader

from milsetctl import workers
from milsetctl.notices import make_notices

CODE = re.compile(r"[A-Z2-7]{4}(?:-[A-Z2-7]{4}){3}")  # certificate codes differ between two workspaces


def square_and_pid(n: int) -> tuple[int, int]:
    return n * n, os.getpid()


def test_run_all_on_two_workers_gives_every_result_once() -> None:
    alone = sorted(r for r, _ in workers.run_all(square_and_pid, range(40), 1))
    spread = list(workers.run_all(square_and_pid, range(40), 2, in_flight=1))
    assert sorted(r for r, _ in spread) == alone == [n * n for n in range(40)]
    assert os.getpid() not in {pid for _, pid in spread}  # the work ran in the workers


def test_worker_count_keeps_small_batches_in_this_process() -> None:
    assert workers.worker_count(5, per_worker=20) == 1
    assert workers.worker_count(1000, per_worker=20) == min(workers.usable_cores(), 50)
    assert workers.worker_count(3, wanted=4) == 4
    assert workers.chunks(list(range(7)), 3) == [[0, 1, 2], [3, 4, 5], [6]]


def test_notices_drawn_on_two_workers_are_the_same_letters(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    texts: list[dict[str, str]] = []
    for n in (1, 2):
        monkeypatch.setattr(workers, "worker_count", lambda jobs, per_worker=1, wanted=None, n=n: n)
        with notices_contest(tmp_path / f"c{n}") as ws:
            batch = make_notices(ws)
            assert batch.drawn == len(batch.notices) > 3
            texts.append({n_.entry_id: CODE.sub("CODE", " ".join(p.extract_text() for p in PdfReader(n_.file).pages))
                          for n_ in batch.notices})
    assert texts[0].keys() == texts[1].keys()
    for entry_id, text in texts[0].items():
        assert texts[1][entry_id] == text, entry_id
