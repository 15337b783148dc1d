#!/usr/bin/env python3
"""A whole national round on generated camera photos, stage by stage, as the CLI runs it, extrapolated to 20,000.

Why (issue 18): the goal is a 20,000-entry national round in under two hours on two cores, and the stages after
validate were never timed at scale. Each stage is run as a coordinator runs it, `milsetctl ...` in a subprocess,
and measured from outside: the CPU time of its whole process tree (getrusage(RUSAGE_CHILDREN) deltas, so every
worker counts), its wall time, its peak memory (summed RSS of the tree, sampled every 0.2 s) and what the CPU time
would take on two idle cores. The round is run at two sizes and each stage's cost per unit of work is the slope
between them, so that start-up (paid once per command, not per entry) drops out of the per-entry cost.

    .venv/bin/python bench/bench_round.py --entries 500                  # plus a round at 100 for the slope
    .venv/bin/python bench/bench_round.py --entries 500 --code /tmp/before --label before
    .venv/bin/python bench/bench_round.py --entries 2000 --slope-from bench/out/round-main-n500-*.json
    .venv/bin/python bench/bench_round.py --compare bench/out/round-before-*.json bench/out/round-main-*.json

The photos are bench_validate.py's (12 MP camera-like JPEGs with EXIF, cached under bench/out/), its manifest
too. Not a test: it prints a table and writes every number to a JSON file under bench/out/.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import resource
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import bench_validate as bv  # the photo generator, the manifest maker and the machine description

REPO = Path(__file__).resolve().parent.parent
OUT = REPO / "bench" / "out"
ROUND_OUT = OUT / "round"
TARGET_ENTRIES = 20_000
GOAL_SECONDS = 2 * 3600.0
QUALIFIER_SHARE = 0.35  # SPEC: the Qualifier Award goes to the top 35% of each category
SAMPLE_INTERVAL = 0.2


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------------------------
# sampling a process tree: summed RSS, and the CPU each thread used between two samples


def _proc_snapshot(root: int) -> dict[int, tuple[int, dict[int, float]]]:
    """{pid: (rss bytes, {tid: cpu seconds so far})} for root and its descendants, read from /proc."""
    out: dict[int, tuple[int, dict[int, float]]] = {}
    for pid in bv.process_tree(root):
        status = bv._status(pid)
        if not status or "VmRSS" not in status:  # gone, or a zombie
            continue
        threads: dict[int, float] = {}
        try:
            tids = os.listdir(f"/proc/{pid}/task")
        except OSError:
            continue
        for tid in tids:
            try:
                with open(f"/proc/{pid}/task/{tid}/stat") as fh:
                    fields = fh.read().rsplit(")", 1)[1].split()
                threads[int(tid)] = (int(fields[11]) + int(fields[12])) / bv._TICK
            except (OSError, IndexError, ValueError):
                continue
        out[pid] = (status["VmRSS"], threads)
    return out


def _psutil_snapshot(root: int) -> dict[int, tuple[int, dict[int, float]]]:
    """The same as _proc_snapshot, through psutil (present in the dev environment)."""
    import psutil

    out: dict[int, tuple[int, dict[int, float]]] = {}
    try:
        top = psutil.Process(root)
        procs = [top, *top.children(recursive=True)]
    except psutil.Error:
        return out
    for proc in procs:
        try:
            with proc.oneshot():
                rss = proc.memory_info().rss
                threads = {t.id: t.user_time + t.system_time for t in proc.threads()}
        except psutil.Error:
            continue
        out[proc.pid] = (rss, threads)
    return out


try:
    import psutil  # noqa: F401

    SNAPSHOT: Callable[[int], dict[int, tuple[int, dict[int, float]]]] = _psutil_snapshot
    SAMPLER = "psutil"
except ImportError:
    SNAPSHOT = _proc_snapshot
    SAMPLER = "/proc"


@dataclass
class TreeSampler:
    """Samples a process tree every SAMPLE_INTERVAL s from a thread: the peak of the summed RSS, and an estimate
    of the wall time the same work would take on `cores` idle cores.

    The estimate: between two samples, each thread of the tree used some CPU; on idle cores that interval's work
    takes at least its busiest thread's CPU (a thread runs on one core) and at least the tree's CPU / cores.
    Summed over the intervals this is the run's critical path; CPU the samples never saw (a process that lived
    between two samples, the last moments of a process) is counted as spread over every core. It leaves out
    waits for the disk or the network, so it is a lower bound for an idle machine; on a loaded machine a worker
    starved while another ran can inflate it a little."""

    root: int
    cores: int
    peak_rss: int = 0
    peak_processes: int = 0
    peak_per_process: dict[str, int] = field(default_factory=dict)
    sampled_cpu: float = 0.0
    critical: float = 0.0
    samples: int = 0
    _seen: dict[int, float] = field(default_factory=dict)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join()

    def _run(self) -> None:
        while not self._stop.is_set():
            self.sample()
            self._stop.wait(SAMPLE_INTERVAL)

    def sample(self) -> None:
        snap = SNAPSHOT(self.root)
        if not snap:
            return
        total_inc = busiest = 0.0
        rss = 0
        for proc_rss, threads in snap.values():
            rss += proc_rss
            for tid, cpu in threads.items():
                inc = max(0.0, cpu - self._seen.get(tid, 0.0))
                self._seen[tid] = max(cpu, self._seen.get(tid, 0.0))
                total_inc += inc
                busiest = max(busiest, inc)
        self.samples += 1
        self.sampled_cpu += total_inc
        self.critical += max(busiest, total_inc / self.cores)
        if rss > self.peak_rss:
            self.peak_rss, self.peak_processes = rss, len(snap)
            self.peak_per_process = {str(pid): r for pid, (r, _) in snap.items()}


@dataclass
class StageResult:
    stage: str
    unit: str
    units: int
    calls: int = 0
    returncode: int = 0
    wall_s: float = 0.0
    cpu_s: float = 0.0  # user + system of the process tree, from getrusage(RUSAGE_CHILDREN) deltas
    cpu_user_s: float = 0.0
    cpu_sys_s: float = 0.0
    cpu_sampled_s: float = 0.0  # the CPU the sampler saw (a cross-check of cpu_s)
    est_2core_s: float = 0.0  # the critical-path estimate of the wall time on idle cores (TreeSampler)
    peak_rss_mb: float = 0.0
    peak_processes: int = 0
    load_before: float = 0.0
    load_after: float = 0.0
    command: str = ""
    error: str = ""


def run_stage(stage: str, unit: str, units: int, cmds: list[list[str]], env: dict[str, str], cwd: Path,
              cores: int, log_dir: Path) -> tuple[StageResult, list[str]]:
    """Run the stage's commands one after another, measured; returns the result and each command's stdout."""
    res = StageResult(stage, unit, units, calls=len(cmds), load_before=os.getloadavg()[0])
    res.command = " ".join(Path(cmds[0][0]).name if i == 0 else a for i, a in enumerate(cmds[0])) if cmds else ""
    stdouts: list[str] = []
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    unseen_total = 0.0
    for k, cmd in enumerate(cmds):
        out_path, err_path = log_dir / f"{stage}-{k}.out", log_dir / f"{stage}-{k}.err"
        ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        with open(out_path, "wb") as out, open(err_path, "wb") as err:
            proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=out, stderr=err, stdin=subprocess.DEVNULL)
            sampler = TreeSampler(proc.pid, cores)
            sampler.start()
            rc = proc.wait()
            sampler.stop()
        ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (ru1.ru_utime + ru1.ru_stime) - (ru0.ru_utime + ru0.ru_stime)
        unseen_total += max(0.0, cpu - sampler.sampled_cpu) / cores
        res.est_2core_s += sampler.critical
        res.cpu_sampled_s += sampler.sampled_cpu
        if sampler.peak_rss / 2**20 > res.peak_rss_mb:
            res.peak_rss_mb, res.peak_processes = sampler.peak_rss / 2**20, sampler.peak_processes
        stdouts.append(out_path.read_text(encoding="utf-8", errors="replace"))
        if rc != 0 and not res.returncode:
            res.returncode = rc
            tail = err_path.read_text(encoding="utf-8", errors="replace")[-1500:]
            res.error = f"exit {rc}: {' '.join(cmd[1:])}\n{tail}"
    res.wall_s = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    res.cpu_user_s = after.ru_utime - before.ru_utime
    res.cpu_sys_s = after.ru_stime - before.ru_stime
    res.cpu_s = res.cpu_user_s + res.cpu_sys_s
    res.est_2core_s += unseen_total
    res.load_after = os.getloadavg()[0]
    return res, stdouts


# ---------------------------------------------------------------------------------------------------------
# one round


@dataclass
class Code:
    """The checkout whose milsetctl is measured: this repository (the venv's editable install), or another
    checkout (a git worktree) put first on PYTHONPATH and used as the working directory."""

    root: Path
    env: dict[str, str]
    cwd: Path
    imported: str
    commit: str
    dirty_files: int


def resolve_code(checkout: Path | None) -> Code:
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)
    root = (checkout or REPO).resolve()
    if checkout is not None:
        env["PYTHONPATH"] = str(root)
    env.setdefault("MILSETCTL_USER", "bench")
    probe = subprocess.run([sys.executable, "-c", "import milsetctl; print(milsetctl.__file__)"], cwd=root,
                           env=env, capture_output=True, text=True, check=True)
    imported = probe.stdout.strip()
    if not Path(imported).resolve().is_relative_to(root):
        raise SystemExit(f"milsetctl was imported from {imported}, not from {root}")

    def git(*args: str) -> str:
        done = subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True)
        return done.stdout.strip() if done.returncode == 0 else ""

    dirty = [line for line in git("status", "--porcelain", "--untracked-files=no").splitlines() if line.strip()]
    return Code(root, env, root, imported, git("rev-parse", "HEAD"), len(dirty))


def jurors_file(code: Code) -> Path:
    """Ten jurors: the measured checkout's sample_data/jurors.csv (the demo's), else this repository's."""
    for base in (code.root, REPO):
        path = base / "sample_data" / "jurors.csv"
        if path.exists():
            return path
    raise SystemExit("no sample_data/jurors.csv")


def fill_sheets(workspace: Path, out_dir: Path) -> int:
    """Play the ten jurors (not timed as a stage): every sheet `jury sheets` wrote, filled with openpyxl by
    sample_data/fill_scores.py (whole-number scores around each photo's 'quality', two jurors with a bias,
    a comment in four rows), written to out_dir as the chair collects them."""
    sys.path.insert(0, str(REPO / "sample_data"))
    from fill_scores import fill_workspace

    out_dir.mkdir(parents=True, exist_ok=True)
    return len(fill_workspace(workspace, out_dir))


def has_command(code: Code, cli: list[str], name: str, option: str | None = None) -> bool:
    """Whether the checkout's CLI has the command `name` (and, given, its option `option`)."""
    done = subprocess.run([*cli, name, "--help"], cwd=code.cwd, env={**code.env, "COLUMNS": "200"},
                          capture_output=True, text=True)
    return done.returncode == 0 and (option is None or option in done.stdout)


def round_set(n: int, seed: int, review_share: float, cores: int) -> tuple[Path, str, int]:
    """bench_validate's set of n photos, with a share of the entries sent to review: their province is Henan,
    which no regional round lists (`region-unknown`, review), so `decide` has entries to settle as in a real round
    (faces, text, photos without camera metadata...). The photos are the same files (hard links); the manifest is
    this script's own copy. Returns (folder, how it was made, entries planted)."""
    folder, how = bv.build_set(n, 12, seed, cores)
    planted = int(n * review_share)
    if not planted:
        return folder, how, 0
    target = OUT / f"round-set-n{n}-s{seed}-r{planted}"
    marker = target / ".bench-complete"
    if not marker.exists():
        shutil.rmtree(target, ignore_errors=True)
        (target / "photos").mkdir(parents=True)
        for photo in bv.set_files(folder):
            try:
                os.link(photo, target / "photos" / photo.name)
            except OSError:
                shutil.copy2(photo, target / "photos" / photo.name)
        with open(folder / "entries.csv", newline="", encoding="utf-8") as fh:
            rows = list(csv.DictReader(fh))
        for i, row in enumerate(rows):  # evenly spread: exactly `planted` rows
            if int((i + 1) * review_share) > int(i * review_share):
                row["province"] = "Henan"
        with open(target / "entries.csv", "w", newline="", encoding="utf-8") as fh:
            writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
        marker.write_text(json.dumps({"n": n, "seed": seed, "review": planted}))
    return target, f"{how}; {planted} entries from Henan (review)", planted


def run_round(n: int, code: Code, cli: list[str], seed: int, cores: int, keep: bool,
              review_share: float) -> dict[str, Any]:
    """The whole round at n entries, in a fresh workspace; returns every stage's numbers and the counts."""
    folder, how, planted = round_set(n, seed, review_share, cores)
    files = bv.set_files(folder)
    log(f"[n={n}] photo set {folder.name} ({how}); warming the page cache ...")
    bv.warm_cache(files)
    ROUND_OUT.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    ws = ROUND_OUT / f"ws-n{n}-{stamp}"
    logs = ROUND_OUT / f"logs-n{n}-{stamp}"
    logs.mkdir(parents=True)
    stages: list[StageResult] = []
    counts: dict[str, int] = {"entries": n, "planted_review": planted}

    def stage(name: str, unit: str, cmds: list[list[str]]) -> list[str]:
        units = counts.get(unit, 0)
        log(f"[n={n}] {name}: {len(cmds)} command(s), {units} {unit} ...")
        res, outs = run_stage(name, unit, units, cmds, code.env, code.cwd, cores, logs)
        stages.append(res)
        more = f"  FAILED {res.error.splitlines()[0]}" if res.returncode else ""
        log(f"[n={n}] {name}: wall {res.wall_s:.1f} s, CPU {res.cpu_s:.1f} s, 2-core est. {res.est_2core_s:.1f} s, "
            f"peak {res.peak_rss_mb:.0f} MB{more}")
        return outs

    w = ["-w", str(ws)]
    out = stage("validate", "entries", [[*cli, "validate", str(folder), *w, "--json"]])[0]
    try:
        verdicts = json.loads(out)
    except ValueError:
        raise SystemExit(f"validate printed no JSON: {stages[-1].error}") from None
    waiting = [e["entry_id"] for e in verdicts["entries"] if e["status"] == "review"]
    counts["decisions"] = len(waiting)
    counts["rejected"] = sum(e["status"] == "rejected" for e in verdicts["entries"])
    if has_command(code, cli, "decide", "--review-sheet"):
        # a coordinator settles a few hundred entries from one sheet: the tool writes the list, the coordinator fills
        # in a decision per row (here: the bench's CSV, written before the stage: the person's part is not timed),
        # and the tool records them all in one command
        filled = logs / "decisions.csv"
        filled.write_text("entry,decision,reason\n" + "".join(f"{e},accept,bench: accepted\n" for e in waiting),
                          encoding="utf-8")
        stage("decide", "decisions", [[*cli, "decide", *w, "--review-sheet", str(logs / "review.xlsx")],
                                      [*cli, "decide", *w, "--from", str(filled)]])
    else:  # an older checkout: one command per decision
        stage("decide", "decisions",
              [[*cli, "decide", entry, "accept", *w, "--reason", "bench: accepted"] for entry in waiting])
    counts["eligible"] = n - counts["rejected"]
    stage("anonymise", "eligible", [[*cli, "anonymise", *w]])
    stage("jury sheets", "eligible", [[*cli, "jury", "sheets", *w, "--jurors", str(jurors_file(code))]])
    returned = ws / "jury" / "returned"
    t = time.perf_counter()
    counts["jurors"] = fill_sheets(ws, returned)
    fill_s = time.perf_counter() - t
    log(f"[n={n}] {counts['jurors']} jurors' sheets filled in {fill_s:.1f} s (the jurors' work: not a stage)")
    stage("score", "eligible", [[*cli, "score", str(returned), *w]])
    out = stage("awards", "eligible",
                [[*cli, "awards", *w, "--json", "--export", str(ws / "awards" / "awards.xlsx")]])[0]
    try:
        counts["qualifiers"] = sum(e.get("award") == "qualifier" for e in json.loads(out)["entries"])
    except (ValueError, KeyError):
        counts["qualifiers"] = round(QUALIFIER_SHARE * counts["eligible"])
    stage("certificates participation", "eligible", [[*cli, "certificates", "participation", *w]])
    stage("certificates qualifier", "qualifiers", [[*cli, "certificates", "qualifier", *w]])
    stage("gallery", "qualifiers", [[*cli, "gallery", *w]])
    stage("report", "entries", [[*cli, "report", *w]])
    if has_command(code, cli, "notices"):
        stage("notices", "entries", [[*cli, "notices", *w]])
    else:
        log(f"[n={n}] notices: no such command in this checkout (skipped)")
    if not keep:
        shutil.rmtree(ws, ignore_errors=True)
    return {"entries": n, "counts": counts, "fill_sheets_s": round(fill_s, 2), "photo_set": str(folder),
            "workspace": str(ws) if keep else None, "logs": str(logs),
            "stages": [asdict(s) for s in stages]}


# ---------------------------------------------------------------------------------------------------------
# the extrapolation


def units_at(unit: str, big: dict[str, Any], target: int) -> float:
    """How many units of work a round of `target` entries holds, in the proportions the big run had."""
    counts, n = big["counts"], big["entries"]
    if unit == "entries":
        return float(target)
    if unit == "qualifiers" and counts.get("eligible"):
        eligible = target * counts["eligible"] / n
        return max(QUALIFIER_SHARE * eligible, target * counts.get("qualifiers", 0) / n)
    return target * counts.get(unit, 0) / n


def extrapolate(runs: list[dict[str, Any]], target: int) -> dict[str, Any]:
    """Each stage at `target` entries: intercept + slope x units, the slope between the two sizes' runs (start-up
    drops out of the per-unit cost and is counted once); with one size, its cost per unit (start-up included)."""
    big = max(runs, key=lambda r: r["entries"])
    small = min(runs, key=lambda r: r["entries"]) if len(runs) > 1 else None
    out: list[dict[str, Any]] = []
    for s in big["stages"]:
        other = next((x for x in small["stages"] if x["stage"] == s["stage"]), None) if small else None
        units = units_at(s["unit"], big, target)
        row: dict[str, Any] = {"stage": s["stage"], "unit": s["unit"], "units_at_target": round(units)}
        for key in ("cpu_s", "est_2core_s", "wall_s"):
            if other is not None and s["units"] != other["units"]:
                slope = (s[key] - other[key]) / (s["units"] - other["units"])
                intercept = s[key] - slope * s["units"]
                how = "slope"
            elif s["units"]:
                slope, intercept, how = s[key] / s["units"], 0.0, "per unit, start-up included"
            else:
                slope, intercept, how = 0.0, s[key], "constant"
            row[f"{key}_per_unit_ms"] = round(slope * 1000, 2)
            row[f"{key}_fixed"] = round(intercept, 2)
            # a bigger round never costs less than the measured one (a slope under the noise of a small stage)
            floor = s[key] if units >= s["units"] else 0.0
            row[f"{key}_at_target"] = round(max(floor, intercept + slope * units), 1)
            row["how"] = how
        out.append(row)
    total_cpu = sum(r["cpu_s_at_target"] for r in out)
    total_est = sum(r["est_2core_s_at_target"] for r in out)
    return {"entries": target, "cores": 2, "stages": out, "cpu_s": round(total_cpu, 1),
            "cpu_over_2_cores_s": round(total_cpu / 2, 1), "est_2core_s": round(total_est, 1),
            "goal_s": GOAL_SECONDS, "meets_goal": total_est <= GOAL_SECONDS,
            "sizes": [r["entries"] for r in runs]}


# ---------------------------------------------------------------------------------------------------------
# printing


def _minutes(seconds: float) -> str:
    return f"{seconds / 60:.1f}"


def print_result(result: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(width=170)
    big = max(result["runs"], key=lambda r: r["entries"])
    ext = result["extrapolation"]
    by_stage = {r["stage"]: r for r in ext["stages"]}
    sizes = ("slope between " + " and ".join(str(r["entries"]) for r in result["runs"]) if len(result["runs"]) > 1
             else "one size: per-unit costs include start-up")
    table = Table(title=f"{result['label']}: a national round of {big['entries']} entries ({sizes}), "
                        f"code {result['code']['commit'][:9]}, load {result['load']['start']:.1f}-"
                        f"{result['load']['end']:.1f} on {result['machine']['usable_cores']} cores")
    for col in ("stage", "units", "wall s", "CPU s", "2-core est. s", "peak RSS MB",
                "CPU ms / unit", "20k: units", "20k: CPU min", "20k: 2 cores min"):
        table.add_column(col, justify="left" if col == "stage" else "right")
    for s in big["stages"]:
        x = by_stage[s["stage"]]
        name = s["stage"] + (" [red](failed)[/red]" if s["returncode"] else "")
        table.add_row(name, f"{s['units']} {s['unit']}", f"{s['wall_s']:.1f}", f"{s['cpu_s']:.1f}",
                      f"{s['est_2core_s']:.1f}", f"{s['peak_rss_mb']:.0f}", f"{x['cpu_s_per_unit_ms']:.1f}",
                      str(x["units_at_target"]), _minutes(x["cpu_s_at_target"]), _minutes(x["est_2core_s_at_target"]))
    total = {k: sum(s[k] for s in big["stages"]) for k in ("wall_s", "cpu_s", "est_2core_s")}
    peak = max(s["peak_rss_mb"] for s in big["stages"])
    table.add_row("[b]in all[/b]", "", f"{total['wall_s']:.1f}", f"{total['cpu_s']:.1f}",
                  f"{total['est_2core_s']:.1f}", f"{peak:.0f}", "", "", _minutes(ext["cpu_s"]),
                  f"[b]{_minutes(ext['est_2core_s'])}[/b]")
    console.print(table)
    verdict = "[green]meets[/green]" if ext["meets_goal"] else "[red]misses[/red]"
    console.print(f"20,000 entries on 2 idle cores: ~{ext['est_2core_s'] / 3600:.2f} h (critical-path estimate; "
                  f"CPU / 2 = {ext['cpu_over_2_cores_s'] / 3600:.2f} h, the floor) {verdict} the 2-hour goal. "
                  f"Units at 20,000 in the proportions of the {big['entries']}-entry run "
                  f"({big['counts'].get('eligible')} eligible, {big['counts'].get('qualifiers')} qualifiers, "
                  f"{big['counts'].get('decisions')} decisions).")


def print_compare(paths: list[Path]) -> None:
    """Several results side by side: per stage, CPU ms per unit and minutes on 2 idle cores at 20,000."""
    from rich.console import Console
    from rich.table import Table

    results = [json.loads(p.read_text(encoding="utf-8")) for p in paths]
    table = Table(title="20,000 entries on 2 cores, extrapolated: CPU ms per unit of work | CPU minutes | "
                        "minutes on 2 idle cores")
    table.add_column("stage")
    for r in results:
        big = max(x["entries"] for x in r["runs"])
        sizes = "/".join(str(x["entries"]) for x in r["runs"])
        table.add_column(f"{r['label']} n={big} ({sizes})\n{r['code']['commit'][:9]}, load "
                         f"{r['load']['start']:.1f}-{r['load']['end']:.1f}", justify="right")
    names: list[str] = []
    for r in results:
        names += [s["stage"] for s in r["extrapolation"]["stages"] if s["stage"] not in names]
    for name in names:
        cells = []
        for r in results:
            x = next((s for s in r["extrapolation"]["stages"] if s["stage"] == name), None)
            cells.append(f"{x['cpu_s_per_unit_ms']:.1f} | {_minutes(x['cpu_s_at_target'])} | "
                         f"{_minutes(x['est_2core_s_at_target'])}" if x else "-")
        table.add_row(name, *cells)
    table.add_row("[b]in all (minutes)[/b]", *[
        f"{_minutes(r['extrapolation']['cpu_s'])} | [b]{_minutes(r['extrapolation']['est_2core_s'])}[/b]"
        for r in results])
    table.add_row("[b]in all (hours, 2 cores)[/b]", *[
        f"[b]{x['est_2core_s'] / 3600:.2f} h[/b] (floor {x['cpu_over_2_cores_s'] / 3600:.2f})"
        for x in (r["extrapolation"] for r in results)])
    Console(width=170).print(table)


# ---------------------------------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--entries", type=int, help="entries in the round (photos generated and cached)")
    parser.add_argument("--small", type=int, default=None,
                        help="the second, smaller round for the per-entry slope (default entries/5, at least 20; "
                             "0 = none: per-entry costs then include start-up)")
    parser.add_argument("--slope-from", type=Path, metavar="JSON",
                        help="take the smaller round from this earlier result (same code) instead of running it")
    parser.add_argument("--code", type=Path, metavar="CHECKOUT",
                        help="measure the milsetctl of this checkout (e.g. a git worktree): PYTHONPATH and working "
                             "directory (default: this repository through the venv's editable install)")
    parser.add_argument("--label", default=None, help="name of the run in the table and the JSON file's name")
    parser.add_argument("--seed", type=int, default=0, help="photo generator seed (bench_validate's cache key)")
    parser.add_argument("--review", type=float, default=0.02, metavar="SHARE",
                        help="share of the entries sent to review for `decide` to settle (default 0.02: 2%%)")
    parser.add_argument("--keep", action="store_true", help="keep the workspaces under bench/out/round/")
    parser.add_argument("--out", type=Path, help="the JSON file (default bench/out/round-LABEL-nN-TIME.json)")
    parser.add_argument("--compare", type=Path, nargs="+", metavar="JSON",
                        help="only print earlier results side by side")
    args = parser.parse_args()
    if args.compare:
        print_compare(args.compare)
        return 0
    if not args.entries or args.entries < 2:
        parser.error("--entries N (at least 2) is required")

    code = resolve_code(args.code)
    label = args.label or ("main" if args.code is None else args.code.name)
    # another checkout runs through its own milsetctl.cli.main: the venv's console script imports whatever entry
    # point this repository's pyproject names (milsetctl.__main__:main since the quick --version), which an older
    # checkout's milsetctl/__main__.py does not define as a function (it calls main() on import, so even the
    # spawned workers would start the command again)
    cli = (bv.milsetctl_cmd() if args.code is None else
           [sys.executable, "-c", "import sys; from milsetctl.cli import main; sys.argv[0] = 'milsetctl'; main()"])
    info = bv.machine()
    cores = min(2, info["usable_cores"] or 1)  # the goal's machine has 2 cores
    log(f"measuring {code.imported} (commit {code.commit[:9]}, {code.dirty_files} changed files), "
        f"sampling with {SAMPLER}")
    load_start = os.getloadavg()
    started = time.time()

    runs: list[dict[str, Any]] = []
    if args.slope_from:
        earlier = json.loads(args.slope_from.read_text(encoding="utf-8"))
        small_run = min(earlier["runs"], key=lambda r: r["entries"])
        if earlier["code"]["commit"] != code.commit:
            log(f"warning: {args.slope_from} measured commit {earlier['code']['commit'][:9]}, not {code.commit[:9]}")
        runs.append(small_run)
    else:
        small = args.small if args.small is not None else max(20, args.entries // 5)
        if 0 < small < args.entries:
            runs.append(run_round(small, code, cli, args.seed, cores, args.keep, args.review))
    runs.append(run_round(args.entries, code, cli, args.seed, cores, args.keep, args.review))
    load_end = os.getloadavg()

    result: dict[str, Any] = {
        "label": label, "started": time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(started)),
        "duration_s": round(time.time() - started, 1),
        "code": {"root": str(code.root), "imported": code.imported, "commit": code.commit,
                 "changed_files": code.dirty_files, "pythonpath": code.env.get("PYTHONPATH")},
        "command": cli, "sampler": SAMPLER, "sample_interval_s": SAMPLE_INTERVAL, "machine": info,
        "load": {"start": load_start[0], "end": load_end[0], "start_1_5_15": load_start, "end_1_5_15": load_end},
        "review_share": args.review, "runs": runs, "extrapolation": extrapolate(runs, TARGET_ENTRIES),
    }
    path = args.out or OUT / f"round-{label}-n{args.entries}-{time.strftime('%Y%m%d-%H%M%S')}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print_result(result)
    print(f"every number: {path}")
    return 0 if all(s["returncode"] == 0 for r in runs for s in r["stages"]) else 1


if __name__ == "__main__":
    sys.exit(main())
