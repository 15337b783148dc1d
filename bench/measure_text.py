#!/usr/bin/env python3
"""Measure the `text-watermark` rule on marked photos: per kind of mark, clean false alarms, CPU ms per photo,
optionally next to another revision's recipe in the same run.

    .venv/bin/python bench/measure_text.py                                  # seed 11, 12 per kind
    .venv/bin/python bench/measure_text.py --seeds 2024 7 31 --clean --baseline HEAD --sets /tmp/wm

`../shared/tools/make_watermarks.py` draws eight kinds of mark on the corpus's clean camera photos (into
--sets DIR/seed-N, made once and reused, or a temporary folder); each photo is probed as `validate` probes it and
the rule runs on it in this process, one thread. The time is the rule's CPU time (`time.process_time`: steadier
than wall time on a shared machine), the probe (decode) not included.

--baseline REV loads `milsetctl/analysis/text.py` as it is at git revision REV and runs it on every photo too,
photo by photo, in alternating order (which recipe goes first changes each photo, so neither gets the warmer
caches), so that both recipes' numbers come from the same run on the same machine load. Only the text module and
the detector's sizes (`text_photo_px`, `text_band_px` as REV's settings.py sets them) are REV's: the rule
(`rules/vision.py`) and the other settings are this checkout's.

The make_watermarks.py sets of different seeds share their clean photos (the corpus's 21 clean camera photos):
they are run once, with the first seed. --clean adds the corpus's camera_pass photos without text and the first
--bench-photos of the bench's generated 12 MP photos (bench/out/pool-*, made by bench_validate.py): none of them
should be flagged. --labelled adds the corpus photos labelled as having text (camera_text, text_graphics, and
camera_pass/Sony_DSC-T5.jpg's real date stamp). Not a test: it prints numbers.
"""

from __future__ import annotations

import argparse
import csv
import json
import re
import statistics
import subprocess
import sys
import tempfile
import time
import types
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared"
TEXT_MODULE = "milsetctl.analysis.text"
NEW = "this checkout"


def at_revision(rev: str, path: str) -> str:
    """The text of the repository's file `path` as it is at git revision `rev`."""
    return subprocess.run(["git", "-C", str(REPO), "show", f"{rev}:{path}"],
                          capture_output=True, text=True, check=True).stdout


def load_revision(rev: str) -> types.ModuleType:
    """milsetctl/analysis/text.py as it is at git revision `rev`, as a module of its own (its own models)."""
    source = at_revision(rev, "milsetctl/analysis/text.py")
    name = f"milsetctl_text_at_{rev.replace('~', '_').replace('^', '_')}"
    module = types.ModuleType(name)
    module.__file__ = f"{rev}:milsetctl/analysis/text.py"
    sys.modules[name] = module  # dataclasses look their module up while the classes are made
    exec(compile(source, module.__file__, "exec"), module.__dict__)
    return module


def revision_sizes(rev: str) -> dict[str, int]:
    """The detector's sizes (`text_photo_px`, `text_band_px`) in milsetctl/settings.py's defaults at revision `rev`."""
    source = at_revision(rev, "milsetctl/settings.py")
    return {m[1]: int(m[2]) for m in re.finditer(r"^(text_photo_px|text_band_px) = (\d+)$", source, re.M)}


def make_set(tool: Path, corpus: Path, out: Path, seed: int, per_kind: int) -> list[dict[str, str]]:
    """The truth rows of make_watermarks.py's set for `seed` in `out` (made unless already there)."""
    if not (out / "truth.csv").exists():
        subprocess.run([sys.executable, str(tool), str(corpus), str(out), "--seed", str(seed),
                        "--per-kind", str(per_kind)], check=True)
    with open(out / "truth.csv", newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", type=Path, default=SHARED / "corpus")
    ap.add_argument("--tool", type=Path, default=SHARED / "tools" / "make_watermarks.py")
    ap.add_argument("--seeds", type=int, nargs="+", default=[11], metavar="SEED")
    ap.add_argument("--per-kind", type=int, default=12)
    ap.add_argument("--sets", type=Path, help="keep the generated sets here, one folder per seed, and reuse them")
    ap.add_argument("--baseline", metavar="REV", help="also run the text module of this git revision, same photos")
    ap.add_argument("--clean", action="store_true", help="also the corpus's camera_pass and the bench's photos")
    ap.add_argument("--bench-photos", type=int, default=20, metavar="K", help="the first K bench photos (--clean)")
    ap.add_argument("--labelled", action="store_true", help="also the corpus's labelled text photos")
    ap.add_argument("--json", type=Path, help="write every photo's result and the tables here")
    args = ap.parse_args()

    import milsetctl.analysis.text as current
    import milsetctl.rules.vision  # noqa: F401  (registers the rules)
    from milsetctl.analysis import analysis_of
    from milsetctl.probe import probe_file
    from milsetctl.rules import REGISTRY
    from milsetctl.settings import defaults

    rule = REGISTRY["text-watermark"]
    recipes: dict[str, types.ModuleType] = {NEW: current}
    settings = {NEW: defaults()}
    if args.baseline:
        recipes = {args.baseline: load_revision(args.baseline), NEW: current}
        settings[args.baseline] = defaults()
        settings[args.baseline].raw["analysis"].update(revision_sizes(args.baseline))
    for name in recipes:
        sizes = [settings[name].analysis.get(k) for k in ("text_photo_px", "text_band_px")]
        print(f"{name}: whole photo at {sizes[0]} px, bands at {sizes[1]} px", file=sys.stderr)
    for module in recipes.values():
        module.engine()  # models loaded before timing

    def run(name: str, probe: Any) -> tuple[str, float]:
        sys.modules[TEXT_MODULE] = recipes[name]  # the rule imports the text module's functions when it runs
        try:
            started = time.process_time()
            findings = list(rule.check(probe, settings[name]))
            cost = (time.process_time() - started) * 1000
        finally:
            sys.modules[TEXT_MODULE] = current
        return (findings[0][0] if findings else ""), cost

    order = list(recipes)
    rows: list[dict[str, Any]] = []

    def check(path: Path, group: str, kind: str, extra: dict[str, str] | None = None) -> None:
        probe = probe_file(path, path.name, 10**9)
        if analysis_of(probe) is None:  # the shared arrays: part of the probe's cost, not the rule's
            print(f"  {path}: not decoded, skipped", file=sys.stderr)
            return
        order.reverse()  # alternate which recipe goes first
        result: dict[str, Any] = {"file": str(path), "group": group, "kind": kind, **(extra or {})}
        for name in order:
            message, cost = run(name, probe)
            result[name] = {"message": message, "ms": round(cost, 1)}
        rows.append(result)
        said = "  ".join(f"{result[n]['ms']:5.0f} ms {result[n]['message'][:70] or '-':70s}" for n in recipes)
        print(f"{path.name:34s} {said}", file=sys.stderr)

    with tempfile.TemporaryDirectory() as tmp:
        base = args.sets or Path(tmp)
        clean_done = False
        for seed in args.seeds:
            folder = base / f"seed-{seed}"
            for t in make_set(args.tool, args.corpus, folder, seed, args.per_kind):
                if t["kind"] == "clean" and clean_done:
                    continue  # the same corpus photos in every seed's set
                group = "clean (make_watermarks)" if t["kind"] == "clean" else f"seed {seed}"
                check(folder / "submissions" / t["file"], group, t["kind"],
                      {"text": t["text"], "size_pct": t["size_pct"], "alpha": t["alpha"]})
            clean_done = True
    with open(args.corpus / "MANIFEST.csv", newline="", encoding="utf-8") as f:
        manifest = list(csv.DictReader(f))
    if args.clean:
        for r in manifest:
            if r["category"] == "camera_pass" and r["has_text"] == "no":  # Sony_DSC-T5 has a real date stamp
                check(args.corpus / r["file"], "clean (corpus camera_pass)", "clean")
        for path in sorted((REPO / "bench" / "out").glob("pool-*/*.jpg"))[:args.bench_photos]:
            check(path, "clean (bench photos)", "clean")
    if args.labelled:
        for r in manifest:
            if r["category"] in ("camera_text", "text_graphics") or (r["category"] == "camera_pass"
                                                                     and r["has_text"] == "yes"):
                check(args.corpus / r["file"], "labelled text (corpus)", "text")

    report(rows, list(recipes))
    if args.json:
        args.json.write_text(json.dumps({"recipes": list(recipes), "photos": rows}, indent=1), encoding="utf-8")


def report(rows: list[dict[str, Any]], names: list[str]) -> None:
    """Per group and kind: photos flagged by each recipe; CPU ms per photo; where the recipes disagree."""
    flagged: Callable[[dict[str, Any], str], bool] = lambda r, n: bool(r[n]["message"])  # noqa: E731
    head = " | ".join(f"{n[:22]:>22s}" for n in names)
    ratio = "" if len(names) == 1 else "(ratio: last / first)"
    print(f"\nphotos flagged per kind (flagged / photos), CPU ms per photo (mean) {ratio}")
    print(f"{'set':28s} {'kind':16s} | {head}")
    groups: dict[str, dict[str, list[dict[str, Any]]]] = defaultdict(lambda: defaultdict(list))
    for r in rows:
        groups[r["group"]][r["kind"]].append(r)
    for group, kinds in groups.items():
        for kind, items in sorted(kinds.items()):
            cells = " | ".join(f"{sum(flagged(r, n) for r in items):>15d} / {len(items):<4d}" for n in names)
            print(f"{group:28s} {kind:16s} | {cells}")
        items = [r for v in kinds.values() for r in v]
        if len(kinds) > 1:
            pct = " | ".join(f"{sum(flagged(r, n) for r in items if r['kind'] != 'clean'):>9d} / "
                             f"{sum(r['kind'] != 'clean' for r in items):<4d}"
                             f"{100 * sum(flagged(r, n) for r in items) / len(items):4.0f}%" for n in names)
            print(f"{group:28s} {'all marked':16s} | {pct}")
    marked = [r for r in rows if r["group"].startswith("seed")]
    clean = [r for r in rows if r["kind"] == "clean"]
    for label, items in (("marked photos", marked), ("clean photos", clean), ("all photos", rows)):
        if not items:
            continue
        means = [statistics.mean(r[n]["ms"] for r in items) for n in names]
        ratio = f"   ratio {means[-1] / means[0]:.3f}" if len(names) > 1 else ""
        cells = " | ".join(f"{m:>19.1f} ms" for m in means)
        print(f"{'CPU per photo':28s} {label:16s} | {cells}{ratio}")
    if marked:
        cells = " | ".join(f"{100 * sum(flagged(r, n) for r in marked) / len(marked):>20.1f}%" for n in names)
        print(f"{'recall, every seed':28s} {'marked':16s} | {cells}")
    if clean:
        cells = " | ".join(f"{sum(flagged(r, n) for r in clean):>15d} / {len(clean):<4d}" for n in names)
        print(f"{'false alarms':28s} {'clean':16s} | {cells}")
    for n in names:
        missed = [r for r in marked if not flagged(r, n)]
        print(f"\n{n}: missed {len(missed)}: " + "; ".join(
            f"{Path(r['file']).name} ({r.get('text', '')!r}, {r.get('size_pct', '')}%, a={r.get('alpha', '')})"
            for r in missed))
        alarms = [r for r in clean if flagged(r, n)]
        if alarms:
            print(f"{n}: clean photos flagged: " + "; ".join(f"{r['file']}: {r[n]['message']}" for r in alarms))
    if len(names) > 1:
        differ = [r for r in rows if flagged(r, names[0]) != flagged(r, names[-1])]
        print(f"\nflagged by one recipe only: {len(differ)}")
        for r in differ:
            print(f"  {Path(r['file']).name}: " + " / ".join(f"{n}: {r[n]['message'][:80] or '-'}" for n in names))


if __name__ == "__main__":
    main()
