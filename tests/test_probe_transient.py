"""An environment failure (out of memory while decoding) is an error of the run, never a cached verdict.

The probe records it apart from the file's own faults; validate reports the photo as not checked (review)
and keeps nothing about it in the ledger, so the next run looks at the photo again.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import make_jpeg, write_manifest

import milsetctl.probe as probe_module
from milsetctl.models import Severity, Status
from milsetctl.pipeline import PhotoJob, analyse_photo, validate
from milsetctl.settings import defaults
from milsetctl.workspace import init_workspace

CAMERA = {"make": "Canon", "model": "Canon EOS 80D", "datetime_original": "2022:06:01 10:00:00"}


def _out_of_memory(*args, **kwargs):
    raise MemoryError


def test_out_of_memory_is_transient_not_unreadable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = make_jpeg(tmp_path / "a.jpg", exif=CAMERA)
    monkeypatch.setattr(probe_module, "_reduced_decode", _out_of_memory)
    probe = probe_module.probe_file(path, "a.jpg", 10**9)
    assert probe.transient and "out of memory" in probe.transient
    assert probe.image is None and probe.info.sha256

    job = PhotoJob("a.jpg", str(path), ["unreadable", "min-width", "camera-origin"], defaults().raw,
                   str(tmp_path / "thumbs"))
    outcome = analyse_photo(job)
    assert outcome.transient
    assert set(outcome.failed_rules) == set(job.rule_ids)  # none of it is cached
    [finding] = outcome.findings["unreadable"]
    assert finding.severity == Severity.REVIEW and finding.message.startswith("could not be checked")


def test_a_failed_run_is_retried_next_time(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    src = tmp_path / "src"
    make_jpeg(src / "a.jpg", exif=CAMERA)
    write_manifest(src, [{"contestant_id": "C1", "name": "Li Wei", "school": "No. 1 Middle School", "grade": "8",
                          "province": "Beijing", "country": "China", "email": "a@b.cn", "file": "a.jpg",
                          "title": "Moonrise over the hills", "description": "The Moon rising at dusk.",
                          "submitted_at": "2022-07-01 10:00"}])
    ws = init_workspace(tmp_path / "ws", src)
    with monkeypatch.context() as patch:
        patch.setattr(probe_module, "_reduced_decode", _out_of_memory)
        first = validate(ws, src, jobs=1)
    [entry] = first.entries
    assert entry.status != Status.REJECTED
    assert any(f.rule == "unreadable" and f.severity == Severity.REVIEW for f in entry.findings)
    second = validate(ws, src, jobs=1)
    assert second.photos_analysed == 1  # looked at again, not answered from the cache
    [entry] = second.entries
    assert "unreadable" not in {f.rule for f in entry.findings}
    third = validate(ws, src, jobs=1)
    assert (third.photos_analysed, third.photos_cached) == (0, 1)  # a real verdict is cached as before
