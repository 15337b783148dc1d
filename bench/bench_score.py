#!/usr/bin/env python3
"""Benchmark `score` on a long CSV and the `awards` that follow, against pandas merely reading that CSV.

Why (issue 6): `score` with 5,000 entries x 30 jurors x 4 criteria (a long CSV of 600,000 scores) and the awards
that follow must take under 3 s, and under 2x the time pandas takes just to read that CSV.

    .venv/bin/python bench/bench_score.py                 # from the repo root; best of 3
    .venv/bin/python bench/bench_score.py --repeat 5 --json

Measured in one process, one run:
  (a) bare read: `pd.read_csv(long.csv)`;
  (b) `score`: `milsetctl.scoring.round.score_round(ws, [long.csv])`, the library call the `score` command makes
      (read and check every cell, store the 150,000 juror x entry rows in the ledger, combine, rank, store the
      ranking, agreement and juror report), on a workspace whose ledger holds the 5,000 eligible entries with their
      anonymous IDs and no score yet;
  (c) `awards`: `milsetctl.awards.run.compute_awards(ws)`, what the `awards` command computes without --export
      (the award rule over the stored ranking, the list stored).
  total = (b) + (c), judged against both targets. Then the warm second run: (b) and (c) again on the same
  workspace, the re-score replacing every stored score (what a chair re-running `score` with the same CSV gets).
  (d) the two library calls whose speed unit tests used to assert in seconds (which failed on a busy machine
  while the code was fine), each as a ratio to (a): `read_sheets` on the CSV (the "read + check" stage of (b)),
  and `aggregate` + `rank` of the long frame (a) read, text columns and all (one method, `prepare` included).
The workspace is built fresh for every repeat and its set-up is not timed. The stages inside (b) are timed by
wrapping the functions `score_round` calls (read, prepare, aggregate+rank, agreement, store, the rest); the CLI's
start-up and printing are not in. The CSV is generated once (seeded) under bench/out/ (git-ignored). Not a test:
it prints numbers, and [ok] or [over] against each target.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import shutil
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import milsetctl.scoring.round as round_mod  # noqa: E402
from milsetctl.awards.run import compute_awards  # noqa: E402
from milsetctl.ledger import Ledger  # noqa: E402
from milsetctl.scoring.aggregate import aggregate, rank  # noqa: E402
from milsetctl.scoring.round import score_round  # noqa: E402
from milsetctl.workspace import Workspace, init_workspace  # noqa: E402

OUT = REPO / "bench" / "out" / "score"
CRITERIA = ["originality", "information", "technique", "impact"]  # the settings' default criteria, in order
ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # the contract's anonymous-ID alphabet
TARGET_SECONDS = 3.0
TARGET_RATIO = 2.0
# (d): a per-row Python loop would cost 10-30x the bare read; measured here 2.1-2.9x (read) and 0.3-0.5x (aggregate
# + rank), the old test limits (2 s and 0.5 s) were ~20x and ~5x the bare read of this machine
TARGET_READ_RATIO = 5.0
TARGET_AGGREGATE_RATIO = 2.0
# what score_round calls, stage by stage (module attribute -> stage); the ledger writes are wrapped on the ledger
STAGES = {"_round_entries": "entries of the round", "read_sheets": "read + check",
          "_stored_frame": "stored scores read back", "prepare": "prepare", "_round_problems": "round checks",
          "_ranking": "aggregate + rank", "_json_rows": "store: score rows as JSON",
          "_ranking_rows": "store: the ranking", "_agreement": "agreement + juror report"}
LEDGER_STAGES = {"replace_scores": "store: the scores (ledger)", "save_ranking": "store: the ranking"}
ORDER = ["entries of the round", "read + check", "stored scores read back", "prepare", "round checks",
         "aggregate + rank", "store: score rows as JSON", "store: the scores (ledger)", "store: the ranking",
         "agreement + juror report", "the rest of score"]


def generate(entries: int, jurors: int, seed: int) -> tuple[Path, pd.Series]:
    """The long CSV (juror, anon_id, criterion, score) and anon_id -> category; cached by size and seed.

    Scores: entry quality ~ N(6, 1.5) per criterion, each juror a personal offset ~ N(0, 0.7) (one juror 2.5 points
    harsh, one 2 points lenient), noise N(0, 1.2), rounded and clipped to 1-10. Rows are grouped by juror, then
    entry, then criterion, as a juror-by-juror export would list them.
    """
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / f"long-e{entries}-j{jurors}-s{seed}.csv"
    cats = OUT / f"categories-e{entries}-s{seed}.csv"
    if not (path.exists() and cats.exists()):
        rng = np.random.default_rng(seed)
        letters = np.array(list(ALPHABET))
        ids: list[str] = []
        seen: set[str] = set()
        while len(ids) < entries:
            for code in ("".join(r) for r in letters[rng.integers(0, len(letters), size=(entries, 6))]):
                if code not in seen and len(ids) < entries:
                    seen.add(code)
                    ids.append(code)
        anon = np.array(ids)
        names = np.array([f"Juror {j + 1:02d}" for j in range(jurors)])
        quality = rng.normal(6, 1.5, size=(entries, 1, len(CRITERIA)))
        offset = rng.normal(0, 0.7, size=(1, jurors, 1))
        offset[0, 0, 0], offset[0, 1, 0] = -2.5, 2.0
        marks = np.clip(np.rint(quality + offset + rng.normal(0, 1.2, size=(entries, jurors, len(CRITERIA)))), 1, 10)
        j, e, c = np.meshgrid(np.arange(jurors), np.arange(entries), np.arange(len(CRITERIA)), indexing="ij")
        frame = pd.DataFrame({"juror": names[j.ravel()], "anon_id": anon[e.ravel()],
                              "criterion": np.array(CRITERIA)[c.ravel()],
                              "score": marks.transpose(1, 0, 2)[j.ravel(), e.ravel(), c.ravel()].astype(int)})
        tmp = path.with_suffix(".tmp")
        frame.to_csv(tmp, index=False)
        os.replace(tmp, path)
        pd.DataFrame({"anon_id": anon, "category": np.where(rng.random(entries) < 0.45, "middle", "high")}).to_csv(
            cats, index=False)
    categories = pd.read_csv(cats, dtype=str).set_index("anon_id")["category"]
    return path, categories


def build_workspace(root: Path, categories: pd.Series, roster: bool, jurors: int) -> Workspace:
    """A fresh workspace holding one eligible entry per anonymous ID (E00001...), with that ID; no score yet.

    roster: also record the jurors and hand every entry to every juror, as `jury sheets` would (score then checks
    each juror's coverage against the assignment).
    """
    if root.exists():
        shutil.rmtree(root)
    ws = init_workspace(root)
    rows = []
    for i, category in enumerate(categories.tolist()):
        rel = f"photos/{i + 1:05d}.jpg"
        rows.append({"entry_id": f"E{i + 1:05d}", "key": rel, "contestant_id": f"CN2026-{i + 1:05d}",
                     "name": f"Student {i + 1}", "school": "School", "grade": "8" if category == "middle" else "11",
                     "province": "Beijing", "country": "CN", "email": None, "file": rel, "title": f"Photo {i + 1}",
                     "description": "", "submitted_at": None, "origin": f"entries.csv row {i + 2}", "listed": 1,
                     "extra": "{}", "sha256": None, "category": category, "status": "eligible"})
    ws.ledger.save_results(rows, {})
    for row, anon in zip(rows, categories.index.tolist(), strict=True):
        ws.ledger.add_anon_id(anon, row["entry_id"])
    if roster:
        ws.ledger.save_jurors([{"key": f"juror{j + 1:02d}@example.org", "name": f"Juror {j + 1:02d}",
                                "email": f"juror{j + 1:02d}@example.org"} for j in range(jurors)])
        ws.ledger.save_assignments([(f"J{j + 1:02d}", anon, position) for j in range(jurors)
                                    for position, anon in enumerate(categories.index.tolist())])
    return ws


@contextmanager
def stage_timers(ledger: Ledger, times: dict[str, float]) -> Iterator[None]:
    """Time the functions score_round calls into `times` (stage -> wall seconds, "cpu:" + stage -> this process's
    CPU seconds; summed over calls), then put them back."""
    saved: list[tuple[Any, str, Any]] = []

    def wrap(owner: Any, name: str, stage: str) -> None:
        original = getattr(owner, name)

        def timed(*args: Any, **kwargs: Any) -> Any:
            start, cpu = time.perf_counter(), time.process_time()
            try:
                return original(*args, **kwargs)
            finally:
                times[stage] = times.get(stage, 0.0) + time.perf_counter() - start
                times[f"cpu:{stage}"] = times.get(f"cpu:{stage}", 0.0) + time.process_time() - cpu

        saved.append((owner, name, original))
        setattr(owner, name, timed)

    for name, stage in STAGES.items():
        wrap(round_mod, name, stage)
    for name, stage in LEDGER_STAGES.items():
        wrap(ledger, name, stage)
    try:
        yield
    finally:
        for owner, name, original in reversed(saved):
            if owner is ledger:
                delattr(ledger, name)  # back to the class's method
            else:
                setattr(owner, name, original)


def timed_round(ws: Workspace, path: Path) -> tuple[dict[str, float], Any, Any]:
    """One `score` + `awards`: stage -> seconds (with 'score', 'awards', 'total'; 'cpu:' + each the CPU
    seconds), and both results."""
    times: dict[str, float] = {}
    gc.collect()
    with stage_timers(ws.ledger, times):
        cpu, start = time.process_time(), time.perf_counter()
        result = score_round(ws, [path])
        scored, cpu_scored = time.perf_counter(), time.process_time()
    awards = compute_awards(ws)
    done, cpu_done = time.perf_counter(), time.process_time()
    if not result.ranked or result.errors:
        raise SystemExit(f"score stored no ranking ({result.blocked}); problems: {result.errors[:3]}")
    times["the rest of score"] = (scored - start) - sum(v for k, v in times.items() if not k.startswith("cpu:"))
    times["cpu:the rest of score"] = (cpu_scored - cpu) - sum(v for k, v in times.items() if k.startswith("cpu:"))
    times["awards"], times["cpu:awards"] = done - scored, cpu_done - cpu_scored
    times["score"], times["cpu:score"] = scored - start, cpu_scored - cpu
    times["total"], times["cpu:total"] = done - start, cpu_done - cpu
    return times, result, awards


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--entries", type=int, default=5000)
    ap.add_argument("--jurors", type=int, default=30)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--repeat", type=int, default=3, help="keep the fastest of R runs of each measurement")
    ap.add_argument("--roster", action="store_true",
                    help="record the jurors and their assignments first, as `jury sheets` would")
    ap.add_argument("--json", action="store_true", help="also print one JSON object as the last line")
    args = ap.parse_args()

    start = time.perf_counter()
    path, categories = generate(args.entries, args.jurors, args.seed)
    made = time.perf_counter() - start
    path.read_bytes()  # page cache: every contender reads a warm file
    print(f"long CSV: {path.relative_to(REPO)} ({path.stat().st_size / 1e6:.1f} MB, "
          f"{args.entries} entries x {args.jurors} jurors x {len(CRITERIA)} criteria; ready in {made:.1f} s)")

    bare = bare_cpu = float("inf")
    for _ in range(args.repeat):
        gc.collect()
        t0, c0 = time.perf_counter(), time.process_time()
        frame = pd.read_csv(path)
        bare, bare_cpu = min(bare, time.perf_counter() - t0), min(bare_cpu, time.process_time() - c0)
    assert len(frame) == args.entries * args.jurors * len(CRITERIA)

    combine = combine_cpu = float("inf")
    for _ in range(args.repeat):
        gc.collect()
        t0, c0 = time.perf_counter(), time.process_time()
        ranked = rank(aggregate(frame, criteria=CRITERIA, score_min=1, score_max=10), None, CRITERIA)
        combine, combine_cpu = min(combine, time.perf_counter() - t0), min(combine_cpu, time.process_time() - c0)
    assert len(ranked) == args.entries

    first: dict[str, float] = {"total": float("inf")}
    warm: dict[str, float] = {"total": float("inf")}
    setup = float("inf")
    result = awards = None
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        ws = build_workspace(OUT / "ws", categories, args.roster, args.jurors)
        setup = min(setup, time.perf_counter() - t0)
        try:
            times, result, awards = timed_round(ws, path)
            if times["total"] < first["total"]:
                first = times
            times, result, awards = timed_round(ws, path)
            if result.replaced_rows != args.entries * args.jurors:
                raise SystemExit(f"the re-score replaced {result.replaced_rows} rows, not every stored score")
            if times["total"] < warm["total"]:
                warm = times
        finally:
            ws.close()
    assert result is not None and awards is not None

    ratio, warm_ratio = first["total"] / bare, warm["total"] / bare
    print(f"workspace set-up (not timed): {setup:.2f} s{' (with the jurors and assignments)' if args.roster else ''}")
    print(f"{'':32s} {'first run':>10s} {'(CPU)':>9s} {'re-score':>10s} {'(CPU)':>9s}   seconds")
    print(f"{'(a) bare pd.read_csv':<32s} {bare:10.3f} {bare_cpu:9.3f}")
    rows = [("(b) score (score_round)", "score")]
    rows += [(f"      {stage}", stage) for stage in ORDER]
    rows += [("(c) awards (compute_awards)", "awards"), ("total (b) + (c)", "total")]
    for label, key in rows:
        print(f"{label:<32s} {first.get(key, 0.0):10.3f} {first.get('cpu:' + key, 0.0):9.3f} "
              f"{warm.get(key, 0.0):10.3f} {warm.get('cpu:' + key, 0.0):9.3f}")
    print(f"{'ratio total / (a)':<32s} {ratio:10.2f} {first['cpu:total'] / bare_cpu:9.2f} {warm_ratio:10.2f} "
          f"{warm['cpu:total'] / bare_cpu:9.2f}")
    print("(CPU: this process's CPU time; on a shared machine the wall time is longer, the targets use the wall time)")
    ok_time, ok_ratio = first["total"] < TARGET_SECONDS, ratio < TARGET_RATIO
    ok_warm_time, ok_warm_ratio = warm["total"] < TARGET_SECONDS, warm_ratio < TARGET_RATIO
    tag = {True: "ok", False: "over"}
    print(f"target total < {TARGET_SECONDS:g} s:  first run {first['total']:.3f} s [{tag[ok_time]}], "
          f"re-score {warm['total']:.3f} s [{tag[ok_warm_time]}]")
    print(f"target total / (a) < {TARGET_RATIO:g}: first run {ratio:.2f} [{tag[ok_ratio]}], "
          f"re-score {warm_ratio:.2f} [{tag[ok_warm_ratio]}]")
    # (d) on CPU time: a short stage beside a short read, their wall ratio swings with other jobs' slices
    read_ratio = min(first["cpu:read + check"], warm["cpu:read + check"]) / bare_cpu
    combine_ratio = combine_cpu / bare_cpu
    ok_read, ok_combine = read_ratio < TARGET_READ_RATIO, combine_ratio < TARGET_AGGREGATE_RATIO
    print(f"(d) target read + check / (a) < {TARGET_READ_RATIO:g} (CPU): {read_ratio:.2f} [{tag[ok_read]}]")
    print(f"(d) target aggregate + rank of the long frame / (a) < {TARGET_AGGREGATE_RATIO:g} (CPU): {combine:.3f} s "
          f"(CPU {combine_cpu:.3f}), {combine_ratio:.2f} [{tag[ok_combine]}]")
    agreement = result.agreement
    flags = result.jurors["flag"][result.jurors["flag"] != ""].to_dict() if result.jurors is not None else {}
    print(f"stored {result.stored_rows} score rows (re-score replaced {result.replaced_rows}); kendall_w "
          f"{agreement['kendall_w']:.4f}  krippendorff_alpha {agreement['krippendorff_alpha']:.4f}  "
          f"qualifiers {awards.counts().get('qualifier', 0)} (cuts {awards.cuts})  flagged jurors {flags}")
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, load {load:.2f}, "
          f"Python {platform.python_version()}, pandas {pd.__version__}, numpy {np.__version__}")
    if args.json:
        print(json.dumps({"entries": args.entries, "jurors": args.jurors, "roster": args.roster,
                          "bare_read_s": bare, "bare_read_cpu_s": bare_cpu,
                          "first_run_s": first, "rescore_s": warm, "ratio": ratio, "rescore_ratio": warm_ratio,
                          "target_seconds_ok": ok_time and ok_warm_time, "target_ratio_ok": ok_ratio and ok_warm_ratio,
                          "read_ratio": read_ratio, "aggregate_rank_s": combine, "aggregate_rank_ratio": combine_ratio,
                          "target_read_ratio_ok": ok_read, "target_aggregate_ratio_ok": ok_combine,
                          "kendall_w": agreement["kendall_w"], "krippendorff_alpha": agreement["krippendorff_alpha"],
                          "load": load}))
    return 0 if ok_time and ok_ratio and ok_warm_time and ok_warm_ratio and ok_read and ok_combine else 1


if __name__ == "__main__":
    raise SystemExit(main())
