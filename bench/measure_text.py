#!/usr/bin/env python3
"""Measure the `text-watermark` rule on marked photos: per kind of mark, clean false alarms, CPU ms per photo.

    .venv/bin/python bench/measure_text.py                       # ../shared/corpus, seed 11, 12 per kind
    .venv/bin/python bench/measure_text.py --seed 2024 --per-kind 5 --labelled

`../shared/tools/make_watermarks.py` draws eight kinds of mark on the corpus's clean camera photos (into a
temporary folder unless --out is given); each photo is probed as `validate` probes it and the rule runs on it in
this process, one thread. The time is the rule's CPU time (`time.process_time`: steadier than wall time on a
shared machine), the probe (decode) not included. With --labelled, the corpus photos labelled has_text=yes or in
camera_text/text_graphics/camera_pass are run too. Not a test: it prints numbers.
"""

from __future__ import annotations

import argparse
import csv
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", type=Path, default=SHARED / "corpus")
    ap.add_argument("--tool", type=Path, default=SHARED / "tools" / "make_watermarks.py")
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--per-kind", type=int, default=12)
    ap.add_argument("--out", type=Path, help="keep the generated set here (default: a temporary folder)")
    ap.add_argument("--labelled", action="store_true", help="also the corpus's labelled text photos")
    args = ap.parse_args()

    import milsetctl.rules.vision  # noqa: F401  (registers the rules)
    from milsetctl.analysis import analysis_of
    from milsetctl.analysis.text import engine
    from milsetctl.probe import probe_file
    from milsetctl.rules import REGISTRY
    from milsetctl.settings import defaults

    rule, settings = REGISTRY["text-watermark"], defaults()
    engine()  # models loaded before timing

    def check(path: Path, name: str) -> tuple[str, float]:
        probe = probe_file(path, name, 10**9)
        analysis_of(probe)  # the shared arrays: part of the probe's cost, not the rule's
        started = time.process_time()
        findings = list(rule.check(probe, settings))
        return (findings[0][0] if findings else ""), (time.process_time() - started) * 1000

    with tempfile.TemporaryDirectory() as tmp:
        out = args.out or Path(tmp)
        subprocess.run([sys.executable, str(args.tool), str(args.corpus), str(out), "--seed", str(args.seed),
                        "--per-kind", str(args.per_kind)], check=True)
        with open(out / "truth.csv", newline="", encoding="utf-8") as f:
            truth = list(csv.DictReader(f))
        table: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        ms: dict[str, list[float]] = defaultdict(list)
        for t in truth:
            message, cost = check(out / "submissions" / t["file"], t["file"])
            table[t["kind"]][0] += bool(message)
            table[t["kind"]][1] += 1
            ms["clean" if t["kind"] == "clean" else "marked"].append(cost)
            print(f"{t['file']:32s} {cost:6.0f} ms  {message[:110] or '-'}", file=sys.stderr)
    print(f"make_watermarks.py seed {args.seed}, {args.per_kind} per kind: photos flagged per kind")
    for kind, (hit, n) in sorted(table.items()):
        print(f"  {kind:15s} {hit:3d} / {n}")
    marked = [v for k, v in table.items() if k != "clean"]
    hit, n = sum(h for h, _ in marked), sum(n for _, n in marked)
    print(f"  marked: {hit} / {n} ({100 * hit / n:.1f}%); clean flagged: {table['clean'][0]} / {table['clean'][1]}")
    for k, v in ms.items():
        print(f"  CPU ms per {k} photo: mean {statistics.mean(v):.0f}, median {statistics.median(v):.0f}")
    if args.labelled:
        with open(args.corpus / "MANIFEST.csv", newline="", encoding="utf-8") as f:
            rows = [r for r in csv.DictReader(f) if r["category"] in ("camera_text", "text_graphics", "camera_pass")]
        nine = [r for r in rows if r["category"] != "camera_pass"]
        found = 0
        for r in rows:
            message, _cost = check(args.corpus / r["file"], r["file"])
            found += bool(message) and r in nine
            if message or r in nine:
                print(f"  {r['file']:48s} {message[:100] or 'NOT FLAGGED'}")
        print(f"labelled corpus text photos (camera_text + text_graphics): {found} / {len(nine)}")


if __name__ == "__main__":
    main()
