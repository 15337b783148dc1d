#!/usr/bin/env python3
"""Benchmark the jury round's number crunching against pandas merely reading the same long CSV.

Why (issue 6): `score` with 5,000 entries x 30 jurors x 4 criteria (a long CSV of 600,000 scores) and the awards
that follow must take under 3 s, and under 2x the time pandas takes just to read that CSV.

    .venv/bin/python bench/bench_score.py                 # from the repo root; best of 3
    .venv/bin/python bench/bench_score.py --repeat 5 --json

Measured in one process, one run:
  (a) bare read: `pd.read_csv(long.csv)`;
  (b) the score path: read and check the CSV the way `milsetctl score` does (`milsetctl.scoring.read.read_sheets`,
      or plain `pd.read_csv` with a note if that module is missing), `prepare` (the text columns to codes, once),
      aggregate (method "mean"), rank per category, the juror x entry matrix, Kendall's W, the ICC,
      Krippendorff's alpha, the juror report, and the national awards. The CLI's own start-up, ledger writes and
      printing are not in (b); each stage's time is printed so the slow one is plain to see.
The CSV is generated once (seeded) under bench/out/ (git-ignored). Not a test: it prints numbers, and [ok] or
[over] against each target.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from milsetctl.awards.select import select_awards  # noqa: E402
from milsetctl.scoring.aggregate import aggregate, juror_entry_scores, prepare, rank  # noqa: E402
from milsetctl.scoring.agreement import icc, juror_report, kendall_w, krippendorff_alpha  # noqa: E402

OUT = REPO / "bench" / "out" / "score"
CRITERIA = ["originality", "information", "technique", "impact"]
ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # the contract's anonymous-ID alphabet
TARGET_SECONDS = 3.0
TARGET_RATIO = 2.0


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


def best_of(repeat: int, fn: Callable[[], Any]) -> tuple[float, Any]:
    best, result = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    return best, result


def read_like_score(path: Path, known: set[str]) -> tuple[pd.DataFrame, str]:
    """Read the long CSV as `milsetctl score` does; fall back to pandas when the reader is not there."""
    try:
        from milsetctl.scoring.read import read_sheets
    except ImportError:
        return pd.read_csv(path), "pd.read_csv (milsetctl.scoring.read not found)"
    got = read_sheets([path], criteria=CRITERIA, score_min=1, score_max=10, known_anon_ids=known, round_id=None)
    if got.errors:
        raise SystemExit(f"the reader found {len(got.errors)} problem(s) in the generated CSV, e.g. {got.errors[0]}")
    return got.scores, "milsetctl.scoring.read.read_sheets"


def score_path(path: Path, categories: pd.Series, known: set[str], times: dict[str, float]) -> dict[str, Any]:
    """(b): everything `score` + `awards` compute, stage by stage (times in seconds into `times`)."""
    mark = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal mark
        now = time.perf_counter()
        times[name] = now - mark
        mark = now

    scores, reader = read_like_score(path, known)
    lap("read + check")
    cube = prepare(scores, criteria=CRITERIA)
    lap("prepare (text -> codes)")
    agg = aggregate(cube, criteria=CRITERIA, weights=[1, 1, 1, 1], score_min=1, score_max=10, method="mean")
    lap("aggregate")
    ranked = rank(agg, categories, CRITERIA)
    lap("rank")
    matrix = juror_entry_scores(cube, criteria=CRITERIA, weights=[1, 1, 1, 1])
    lap("juror x entry matrix")
    w = kendall_w(matrix)
    lap("kendall_w")
    iccs = icc(matrix)
    lap("icc")
    alpha = krippendorff_alpha(matrix)
    lap("krippendorff_alpha")
    report = juror_report(matrix)
    lap("juror_report")
    awards = select_awards(ranked, stage="national")
    lap("select_awards")
    return {"reader": reader, "rows": len(scores), "kendall_w": w, "icc2_1": iccs and iccs["icc2_1"],
            "krippendorff_alpha": alpha, "flags": report["flag"][report["flag"] != ""].to_dict(),
            "qualifiers": int((awards.frame["award"] == "qualifier").sum()), "cuts": awards.cuts}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--entries", type=int, default=5000)
    ap.add_argument("--jurors", type=int, default=30)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--repeat", type=int, default=3, help="keep the fastest of R runs of (a) and of (b)")
    ap.add_argument("--json", action="store_true", help="also print one JSON object as the last line")
    args = ap.parse_args()

    start = time.perf_counter()
    path, categories = generate(args.entries, args.jurors, args.seed)
    made = time.perf_counter() - start
    known = set(categories.index)
    path.read_bytes()  # page cache: both contenders read a warm file
    print(f"long CSV: {path.relative_to(REPO)} ({path.stat().st_size / 1e6:.1f} MB, "
          f"{args.entries} entries x {args.jurors} jurors x {len(CRITERIA)} criteria; ready in {made:.1f} s)")

    bare, frame = best_of(args.repeat, lambda: pd.read_csv(path))
    assert len(frame) == args.entries * args.jurors * len(CRITERIA)
    stages: dict[str, float] = {}
    best_stages: dict[str, float] = {}
    full = float("inf")
    result: dict[str, Any] = {}
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        result = score_path(path, categories, known, stages)
        took = time.perf_counter() - t0
        if took < full:
            full, best_stages = took, dict(stages)
    ratio = full / bare

    print(f"(a) bare pd.read_csv            {bare:7.3f} s")
    print(f"(b) score path                  {full:7.3f} s   (reader: {result['reader']})")
    for name, secs in best_stages.items():
        print(f"      {name:<24} {secs:7.3f} s")
    ok_time, ok_ratio = full < TARGET_SECONDS, ratio < TARGET_RATIO
    print(f"target (b) < {TARGET_SECONDS:g} s: {full:.3f} s [{'ok' if ok_time else 'over'}]")
    print(f"target (b)/(a) < {TARGET_RATIO:g}: {ratio:.2f} [{'ok' if ok_ratio else 'over'}]")
    print(f"kendall_w {result['kendall_w']:.4f}  krippendorff_alpha {result['krippendorff_alpha']:.4f}  "
          f"icc(2,1) {result['icc2_1']:.4f}  qualifiers {result['qualifiers']} (cuts {result['cuts']})  "
          f"flagged jurors {result['flags']}")
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, load {load:.2f}, "
          f"Python {platform.python_version()}, pandas {pd.__version__}, numpy {np.__version__}")
    if args.json:
        print(json.dumps({"entries": args.entries, "jurors": args.jurors, "bare_read_s": bare, "score_path_s": full,
                          "ratio": ratio, "stages_s": best_stages, "reader": result["reader"],
                          "target_seconds_ok": ok_time, "target_ratio_ok": ok_ratio,
                          "kendall_w": result["kendall_w"], "krippendorff_alpha": result["krippendorff_alpha"],
                          "load": load}))
    return 0 if ok_time and ok_ratio else 1


if __name__ == "__main__":
    raise SystemExit(main())
