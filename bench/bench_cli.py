#!/usr/bin/env python3
"""How fast does the CLI answer? `--version`, `--help`, `status`, `rules` and `verify CODE`, as a user runs them.

Why (issue 18): these commands are what a coordinator types between the long stages, and each should answer at
once (target: under 0.3 s wall on an idle machine). They are fast only when they import what they use: a module
that imports NumPy, Pillow, OpenCV or pandas at its top makes `milsetctl rules` pay ~1-2 s for libraries it never
calls. tests/test_cli_imports.py guards the imports (which modules are loaded, never a time); this script says
what that buys in seconds.

    .venv/bin/python bench/bench_cli.py                       # from the repo root; median of 5 runs per command
    .venv/bin/python bench/bench_cli.py --runs 9 --json
    .venv/bin/python bench/bench_cli.py --workspace WS --code CODE

For each command:
  wall  the median wall time of `--runs` runs of the console script (`.venv/bin/milsetctl ARGS`, stdout and
        stderr to /dev/null, started from an empty folder so that no workspace is found by searching upward);
  cpu   the median CPU time (user + system) of the same runs: on a busy shared machine the wall time includes
        waiting for a core, the CPU time much less so;
  heavy the heavy libraries the command loaded (run in-process in a fresh interpreter: numpy, PIL, cv2, pandas,
        onnxruntime, rapidocr, weasyprint, matplotlib, openpyxl, pydantic, pycountry, iso4217); these should be
        none;
  and `python -X importtime` of one run: all import time, and the top 10 outermost imports by cumulative time
  (an import made inside a command's function counts as outermost: it is what the command itself asked for).

Bytecode: an installed milsetctl has its .pyc files; a checkout run with PYTHONDONTWRITEBYTECODE=1 (as this shared
one is) compiles every milsetctl module it imports on every run, which costs more than the imports themselves. So
by default the runs write and read bytecode under bench/out/pycache (PYTHONPYCACHEPREFIX, outside the source
tree), after one warm-up run per command that is not counted; `--no-bytecode-cache` measures the compile-every-time
case instead.

The workspace: `--workspace WS` (with `--code CODE`, a certificate code it issued, for `verify`), else one made
once under bench/out/cli-ws from sample_data (init, validate, participation certificates; ~1 min) and kept.
Not a test: it prints numbers, and [ok] or [over] against the 0.3 s target.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import resource
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
OUT = REPO / "bench" / "out"
CTL = REPO / ".venv" / "bin" / "milsetctl"
PYTHON = REPO / ".venv" / "bin" / "python"
TARGET_SECONDS = 0.3
HEAVY = ("numpy", "PIL", "cv2", "pandas", "onnxruntime", "rapidocr", "rapidocr_onnxruntime", "weasyprint",
         "matplotlib", "openpyxl", "pydantic", "pycountry", "iso4217")

# run the CLI's main() in this interpreter with the given arguments, then name the heavy libraries it loaded
_IN_PROCESS = """
import json, sys
args = json.loads(sys.argv[1])
heavy = set(json.loads(sys.argv[2]))
sys.argv = ["milsetctl", *args]
from milsetctl.__main__ import main  # the console script's entry point (pyproject [project.scripts])
try:
    main()
except SystemExit:
    pass
sys.stderr.write("\\nHEAVY " + json.dumps(sorted({m.split(".")[0] for m in sys.modules} & heavy)) + "\\n")
"""


def _env(bytecode_cache: bool) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("PYTHONPYCACHEPREFIX", None)
    if bytecode_cache:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = str(OUT / "pycache")
    else:
        env["PYTHONDONTWRITEBYTECODE"] = "1"
    env["COLUMNS"] = "120"
    return env


def make_workspace(ws: Path) -> str:
    """A small validated workspace with participation certificates; returns one certificate code."""
    code = _a_code(ws)
    if code:
        return code
    if not (REPO / "sample_data" / "submissions" / "entries.csv").exists():
        subprocess.run([str(PYTHON), str(REPO / "sample_data" / "make_sample.py")], check=True, cwd=REPO)
    if ws.exists():
        import shutil

        shutil.rmtree(ws)
    ws.mkdir(parents=True)
    print(f"making the workspace {ws} (init, validate sample_data, participation certificates) ...", flush=True)
    for args in (["init", "-w", str(ws), "--country", "China"],
                 ["validate", str(REPO / "sample_data" / "submissions"), "-w", str(ws), "--limit", "0"],
                 ["certificates", "participation", "-w", str(ws)]):
        subprocess.run([str(CTL), *args], check=True, cwd=REPO, stdout=subprocess.DEVNULL)
    code = _a_code(ws)
    if not code:
        raise SystemExit(f"no certificate was issued in {ws}")
    return code


def _a_code(ws: Path) -> str | None:
    ledger = ws / "ledger.sqlite"
    if not ledger.exists():
        return None
    db = sqlite3.connect(f"file:{ledger}?mode=ro", uri=True)
    try:
        row = db.execute("SELECT code FROM issued_certificates ORDER BY issued_at LIMIT 1").fetchone()
    except sqlite3.Error:
        row = None
    finally:
        db.close()
    return str(row[0]) if row else None


def time_runs(args: list[str], runs: int, env: dict[str, str], cwd: Path) -> dict[str, Any]:
    """Median wall and CPU seconds of `runs` runs of the console script (one warm-up run first, not counted)."""
    walls: list[float] = []
    cpus: list[float] = []
    codes: set[int] = set()
    for i in range(runs + 1):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        done = subprocess.run([str(CTL), *args], env=env, cwd=cwd, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL, check=False)
        wall = time.perf_counter() - started
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if i == 0:
            continue  # the warm-up: bytecode written, files in the page cache
        codes.add(done.returncode)
        walls.append(wall)
        cpus.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return {"wall_s": statistics.median(walls), "cpu_s": statistics.median(cpus), "wall_runs": walls,
            "exit_codes": sorted(codes)}


def heavy_modules(args: list[str], env: dict[str, str], cwd: Path) -> list[str]:
    done = subprocess.run([str(PYTHON), "-c", _IN_PROCESS, json.dumps(args), json.dumps(HEAVY)], env=env, cwd=cwd,
                          capture_output=True, text=True, check=False)
    line = next((ln for ln in reversed(done.stderr.splitlines()) if ln.startswith("HEAVY ")), None)
    if line is None:
        raise SystemExit(f"milsetctl {' '.join(args)} failed in-process:\n{done.stderr[-2000:]}")
    return list(json.loads(line[6:]))


def import_times(args: list[str], env: dict[str, str], cwd: Path, top: int = 10) -> dict[str, Any]:
    """`python -X importtime` of one in-process run: all import time, and the top outermost imports."""
    done = subprocess.run([str(PYTHON), "-X", "importtime", "-c", _IN_PROCESS, json.dumps(args), json.dumps(HEAVY)],
                          env=env, cwd=cwd, capture_output=True, text=True, check=False)
    rows = []
    for line in done.stderr.splitlines():
        m = re.match(r"import time:\s+(\d+) \|\s+(\d+) \| ( *)(\S+)", line)
        if m:
            rows.append((int(m[1]), int(m[2]), len(m[3]), m[4]))
    outer = sorted((r for r in rows if r[2] == 0), key=lambda r: -r[1])[:top]
    return {"all_ms": sum(r[0] for r in rows) / 1000, "modules": len(rows),
            "top": [{"module": r[3], "cumulative_ms": r[1] / 1000, "self_ms": r[0] / 1000} for r in outer]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="timed runs per command (median; default 5)")
    parser.add_argument("--workspace", type=Path, help="a validated workspace (default: made under bench/out)")
    parser.add_argument("--code", help="a certificate code the workspace issued (for verify)")
    parser.add_argument("--no-bytecode-cache", action="store_true",
                        help="compile milsetctl's modules on every run (PYTHONDONTWRITEBYTECODE=1)")
    parser.add_argument("--json", action="store_true", help="also print one JSON object as the last line")
    opts = parser.parse_args()

    ws = opts.workspace or OUT / "cli-ws"
    code = opts.code or (_a_code(ws) if opts.workspace else make_workspace(ws))
    commands = [["--version"], ["--help"], ["status", "-w", str(ws)], ["rules"], ["rules", "-w", str(ws)]]
    if code:
        commands.append(["verify", code, "-w", str(ws)])
    else:
        print(f"(no certificate code in {ws}: verify left out; give --code)")
    env = _env(not opts.no_bytecode_cache)
    load = os.getloadavg()
    print(f"python {platform.python_version()}, {os.cpu_count()} cores, load average {load[0]:.2f} {load[1]:.2f} "
          f"{load[2]:.2f}; bytecode {'cached' if not opts.no_bytecode_cache else 'compiled every run'}; "
          f"median of {opts.runs} runs")
    results = []
    with tempfile.TemporaryDirectory(prefix="bench-cli-") as tmp:
        cwd = Path(tmp)  # no workspace here or above: `rules` lists the defaults
        for args in commands:
            timing = time_runs(args, opts.runs, env, cwd)
            heavy = heavy_modules(args, env, cwd)
            imports = import_times(args, env, cwd)
            shown = " ".join(a if a != str(ws) else "WS" for a in args)
            results.append({"command": shown, **timing, "heavy": heavy, "importtime": imports})
            verdict = "ok" if timing["wall_s"] < TARGET_SECONDS else "over"
            print(f"\nmilsetctl {shown}: wall {timing['wall_s']:.3f} s [{verdict}], cpu {timing['cpu_s']:.3f} s, "
                  f"exit {','.join(map(str, timing['exit_codes']))}; heavy libraries loaded: "
                  f"{', '.join(heavy) or 'none'}")
            print(f"  -X importtime: {imports['all_ms']:.0f} ms in {imports['modules']} imports; top 10 outermost "
                  "(cumulative ms):")
            for row in imports["top"]:
                print(f"    {row['cumulative_ms']:8.1f}  {row['module']}")
    print("\n| command | wall (median) | CPU (median) | heavy libraries |\n|---|---|---|---|")
    for r in results:
        print(f"| `{r['command']}` | {r['wall_s']:.3f} s | {r['cpu_s']:.3f} s | {', '.join(r['heavy']) or 'none'} |")
    if opts.json:
        print(json.dumps({"load_average": load, "bytecode_cache": not opts.no_bytecode_cache, "runs": opts.runs,
                          "results": results}))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
