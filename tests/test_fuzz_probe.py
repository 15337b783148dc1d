"""Fuzz the probe with a few hundred mutated JPEG/PNG headers (tests/fuzz_seeds.py).

The probe must turn every file into a verdict (readable, or an error saying why not), never raise, never hang
and never report a machine failure (`transient`) for a broken file. The corpus runs in one child process: a
case that hangs inside C code (where no Python timer can interrupt it) is caught by the parent's per-case
hang guard, the child killed, and the case named for replay (`fuzz_seeds.case(N)`). How fast the corpus goes is
not asserted here (a time budget failed on a busy machine): bench/bench_bounds.py times it against probing the
unmutated seeds, in the same run.
"""

from __future__ import annotations

import multiprocessing
import traceback
from pathlib import Path

import pytest
from fuzz_seeds import case, corpus, seeds

from milsetctl.probe import probe_bytes

CASES = 600  # about 1 s on one core (5,000 pass in 2.5 s)
HANG_S = 120.0  # a case still without a verdict after this long hangs (one takes ~2 ms): a guard, not a budget
MAX_PIXELS = 120_000_000  # the default contest limit (photo.max_megapixels)


def _verdict(index: int) -> tuple[int, str, str | None, str | None]:
    """(index, name, error verdict or None for readable, a problem with the verdict or None)."""
    name, data = case(index)
    try:
        probe = probe_bytes(data, Path("fuzz.bin"), f"fuzz-{index}", MAX_PIXELS)
    except BaseException:  # noqa: BLE001 - the point of the test: report whatever escaped
        return index, name, None, "raised: " + traceback.format_exc(limit=4)
    problem = None
    if probe.transient:
        problem = f"a broken file reported as a machine failure: {probe.transient}"
    elif probe.info.error is None and probe.image is None:
        problem = "no verdict: neither an error nor a decoded picture"
    elif probe.info.error is not None and not probe.info.error.strip():
        problem = "an empty error message"
    elif probe.info.sha256 == "" or probe.info.size != len(data):
        problem = "hash or size missing"
    return index, name, probe.info.error, problem


def _child(conn, count: int) -> None:  # type: ignore[no-untyped-def]
    for index in range(count):
        conn.send(_verdict(index))
    conn.close()


def test_the_seeds_are_valid_photos() -> None:
    """Mutations start from files the probe reads whole: a failure below is the mutation's doing."""
    for name, data in seeds().items():
        probe = probe_bytes(data, Path(name), name, MAX_PIXELS)
        assert probe.readable, (name, probe.info.error)


def test_corpus_is_deterministic() -> None:
    assert case(41) == case(41)
    assert len({data for _, data in corpus(40)}) > 35  # mutations differ


def test_probe_survives_the_fuzz_corpus() -> None:
    ctx = multiprocessing.get_context("fork")
    parent, child_end = ctx.Pipe(duplex=False)
    worker = ctx.Process(target=_child, args=(child_end, CASES), daemon=True)
    worker.start()
    child_end.close()
    results, problems = [], []
    try:
        for expected in range(CASES):
            if not parent.poll(HANG_S):
                pytest.fail(f"the probe hangs (over {HANG_S:g} s) on {case(expected)[0]}")
            result = parent.recv()
            results.append(result)
            if result[3]:
                problems.append(f"{result[1]}: {result[3]}")
    finally:
        worker.kill()
        worker.join(5)
    assert not problems, "\n".join(problems[:10])
    assert [r[0] for r in results] == list(range(CASES))  # every case got its verdict
    # the corpus really exercises both verdicts: most mutations break the file, some leave it readable
    broken = sum(1 for r in results if r[2])
    assert CASES * 0.3 < broken < CASES, broken


def test_every_photo_rule_takes_a_mutated_file(tmp_path: Path) -> None:
    """The rules see what the probe made of a broken file: none may crash on it (a crash is a 'could not be
    checked' finding, so a person looks, but it is a bug)."""
    from milsetctl.pipeline import PhotoJob, analyse_photo
    from milsetctl.rules import Scope, load_rules, rules_in_scope
    from milsetctl.settings import defaults

    load_rules()
    photo_rules = rules_in_scope(Scope.PHOTO)
    ids, modules = [r.id for r in photo_rules], sorted({r.check.__module__ for r in photo_rules})
    raw = defaults().raw
    crashed = []
    for index in range(80):
        name, data = case(index)
        path = tmp_path / f"{index}.bin"
        path.write_bytes(data)
        outcome = analyse_photo(PhotoJob(path.name, str(path), ids, raw, str(tmp_path / "thumbs"), modules))
        if outcome.failed_rules:
            crashed.append((name, {r: outcome.findings[r][0].message for r in outcome.failed_rules}))
    assert not crashed, crashed[:5]
