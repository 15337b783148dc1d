#!/usr/bin/env python3
"""Peak memory of one command's process tree, per process: which process holds what at the tree's peak.

Why (issue 18): the goal is under 600 MB summed RSS with 2 workers at 2,000 entries, and bench_round.py /
bench_validate.py give the tree's peak sum only. This runs one command and samples every process of its tree
(from /proc) every `--interval` s, keeping, per process, its role (the command itself, a spawned worker,
multiprocessing's resource tracker), when it lived, its peak RSS (sampled, and the kernel's own VmHWM, which
sees between samples) and its peak PSS; and, for the tree, the peak summed RSS and PSS with each process's share
at that moment, plus the summed RSS over time (the highest per 10 s), to see whether the peak grows with N.

    .venv/bin/python bench/memtree.py -- .venv/bin/milsetctl validate SET -w WS --json
    .venv/bin/python bench/memtree.py --code /tmp/before --json out.json -- .venv/bin/milsetctl anonymise -w WS

`--code CHECKOUT`: that checkout's milsetctl first on PYTHONPATH (a git worktree, as bench_round.py's --code).
Not a test: it prints a table, and with --json writes every number to a file.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import bench_validate as bv  # the /proc readers (process tree, VmRSS/VmHWM, PSS)

MB = 2**20


@dataclass
class Proc:
    pid: int
    role: str
    first_s: float
    last_s: float
    peak_rss: int = 0
    hwm: int = 0
    peak_pss: int = 0


@dataclass
class Tree:
    root: int
    interval: float
    procs: dict[int, Proc] = field(default_factory=dict)
    peak_rss: int = 0
    peak_rss_at: float = 0.0
    peak_rss_parts: dict[int, int] = field(default_factory=dict)  # pid -> RSS at the tree's peak
    peak_pss: int = 0
    peak_pss_parts: dict[int, int] = field(default_factory=dict)
    timeline: dict[int, int] = field(default_factory=dict)  # 10 s slot -> highest summed RSS in it
    samples: int = 0
    _t0: float = field(default_factory=time.perf_counter)

    def role(self, pid: int) -> str:
        if pid == self.root:
            return "command"
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as fh:
                cmd = fh.read().replace(b"\0", b" ").decode("utf-8", "replace")
        except OSError:
            return "?"
        if "resource_tracker import" in cmd:
            return "resource tracker"
        if "spawn_main" in cmd or "forkserver" in cmd:
            return "worker"
        if "resource_tracker" in cmd:
            return "resource tracker"
        return Path(cmd.split(" ", 1)[0]).name or "?"

    def sample(self) -> None:
        now = time.perf_counter() - self._t0
        rss_parts: dict[int, int] = {}
        pss_parts: dict[int, int] = {}
        for pid in bv.process_tree(self.root):
            st = bv._status(pid)
            if not st or "VmRSS" not in st:  # gone, or a zombie
                continue
            proc = self.procs.get(pid)
            if proc is None:
                proc = self.procs[pid] = Proc(pid, self.role(pid), now, now)
            proc.last_s = now
            rss_parts[pid] = st["VmRSS"]
            pss_parts[pid] = bv._pss(pid)
            proc.peak_rss = max(proc.peak_rss, st["VmRSS"])
            proc.hwm = max(proc.hwm, st.get("VmHWM", 0))
            proc.peak_pss = max(proc.peak_pss, pss_parts[pid])
        self.samples += 1
        rss, pss = sum(rss_parts.values()), sum(pss_parts.values())
        if rss > self.peak_rss:
            self.peak_rss, self.peak_rss_at, self.peak_rss_parts = rss, now, rss_parts
        if pss > self.peak_pss:
            self.peak_pss, self.peak_pss_parts = pss, pss_parts
        slot = int(now // 10)
        self.timeline[slot] = max(self.timeline.get(slot, 0), rss)


def measure(cmd: list[str], env: dict[str, str], interval: float, cwd: Path,
            log: Path | None = None) -> tuple[Tree, float, float, int]:
    """Run cmd (its stdout and stderr to `log`, else discarded), sampling its tree; (tree, wall s, CPU s of the
    tree, exit code)."""
    started = time.perf_counter()
    with open(log or os.devnull, "wb") as out:
        proc = subprocess.Popen(cmd, env=env, cwd=cwd, stdin=subprocess.DEVNULL, stdout=out, stderr=out)
    tree = Tree(proc.pid, interval)
    stop = threading.Event()

    def run() -> None:
        while not stop.is_set():
            tree.sample()
            stop.wait(interval)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    _, status, usage = os.wait4(proc.pid, 0)
    stop.set()
    thread.join()
    return tree, time.perf_counter() - started, usage.ru_utime + usage.ru_stime, os.waitstatus_to_exitcode(status)


def report(tree: Tree, wall: float, cpu: float) -> None:
    """The table: the tree's peaks with each process's share, then each process."""
    procs = sorted(tree.procs.values(), key=lambda p: p.first_s)
    print(f"wall {wall:.1f} s, CPU {cpu:.1f} s, {tree.samples} samples, {len(procs)} processes")
    print(f"peak summed RSS {tree.peak_rss / MB:.0f} MB at {tree.peak_rss_at:.1f} s: "
          + ", ".join(f"{tree.procs[pid].role}[{pid}] {v / MB:.0f}" for pid, v in tree.peak_rss_parts.items()))
    print(f"peak summed PSS {tree.peak_pss / MB:.0f} MB: "
          + ", ".join(f"{tree.procs[pid].role}[{pid}] {v / MB:.0f}" for pid, v in tree.peak_pss_parts.items()))
    print(f"{'process':>24s} {'from s':>7s} {'to s':>7s} {'peak RSS':>9s} {'VmHWM':>7s} {'peak PSS':>9s}")
    for p in procs:
        print(f"{p.role + '[' + str(p.pid) + ']':>24s} {p.first_s:7.1f} {p.last_s:7.1f} {p.peak_rss / MB:9.0f} "
              f"{p.hwm / MB:7.0f} {p.peak_pss / MB:9.0f}")
    print("summed RSS over time, MB (highest per 10 s): "
          + " ".join(f"{v / MB:.0f}" for _slot, v in sorted(tree.timeline.items())))


def summary(tree: Tree, wall: float, cpu: float) -> dict[str, Any]:
    """Every number, for --json."""
    procs = sorted(tree.procs.values(), key=lambda p: p.first_s)
    return {"wall_s": wall, "cpu_s": cpu, "samples": tree.samples, "interval_s": tree.interval,
            "peak_rss_mb": tree.peak_rss / MB, "peak_rss_at_s": tree.peak_rss_at,
            "peak_rss_parts_mb": {f"{tree.procs[pid].role}[{pid}]": v / MB for pid, v in tree.peak_rss_parts.items()},
            "peak_pss_mb": tree.peak_pss / MB,
            "peak_pss_parts_mb": {f"{tree.procs[pid].role}[{pid}]": v / MB for pid, v in tree.peak_pss_parts.items()},
            "processes": [{**asdict(p), "peak_rss": p.peak_rss / MB, "hwm": p.hwm / MB, "peak_pss": p.peak_pss / MB}
                          for p in procs],
            "timeline_mb": [v / MB for _slot, v in sorted(tree.timeline.items())]}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--interval", type=float, default=0.1, help="seconds between samples (default 0.1)")
    ap.add_argument("--code", metavar="CHECKOUT", help="that checkout's milsetctl first on PYTHONPATH")
    ap.add_argument("--json", metavar="FILE", help="write every number to FILE")
    ap.add_argument("--log", metavar="FILE", help="the command's stdout and stderr (default: discarded)")
    ap.add_argument("cmd", nargs=argparse.REMAINDER, help="-- the command")
    args = ap.parse_args()
    cmd = args.cmd[1:] if args.cmd[:1] == ["--"] else args.cmd
    if not cmd:
        ap.error("no command")
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)
    cwd = Path.cwd()
    if args.code:
        cwd = Path(args.code).resolve()
        env["PYTHONPATH"] = str(cwd)
    tree, wall, cpu, code = measure(cmd, env, args.interval, cwd, Path(args.log).resolve() if args.log else None)
    if args.json:  # first: the table below may go to a closed pipe
        out = summary(tree, wall, cpu)
        out.update({"command": cmd, "code": args.code, "returncode": code, "load": os.getloadavg()})
        Path(args.json).write_text(json.dumps(out, indent=1) + "\n", encoding="utf-8")
    report(tree, wall, cpu)
    return code


if __name__ == "__main__":
    sys.exit(main())
