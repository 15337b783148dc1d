#!/usr/bin/env python3
"""Benchmark `milsetctl anonymise` on N eligible entries: the package copies, the contact sheet, the closing scan.

Why (issue 18): a 20,000-entry round must be packaged in under 10 minutes on 2 cores, and the contact sheet was one
WeasyPrint document, whose cost may grow faster than the number of cards. Each phase is timed in this process (CPU
of the process, its threads and its waited-for workers; wall clock), at each N given, so the cost per card can be
compared between N = 500 and N = 5,000:

    .venv/bin/python bench/bench_anonymise.py                          # 500 and 5,000 cards, small photos
    .venv/bin/python bench/bench_anonymise.py --cards 500 --cards 1000 --cli
    .venv/bin/python bench/bench_anonymise.py --cards 100 --big        # 12 MP photos: the copies' real cost
    .venv/bin/python bench/bench_anonymise.py --before /tmp/old        # an older tree too, alternately

Phases: `copies` = build_package(contact_sheet=False, verify=False) (strip every photo's metadata, write the
package); `thumbs` = the contact sheet's thumbnails (contact.sheet_cards); `sheet` = write_contact_sheet whole
(thumbnails cached by then: HTML and PDF); `verify` = verify_package (the scan every build ends with). `--cli`:
also the whole `milsetctl anonymise --json` on a fresh copy of the workspace, as a coordinator runs it.

The workspace holds what validate leaves for anonymise: entries, hashes and each photo's 480 px preview
(--no-previews: none, as a workspace from before the previews). Photos: small (640x480, ~60 KB, made here, one
per entry: the contact sheet's cost is WeasyPrint's, not the decoder's) or, with --big, bench_validate's 12 MP
pool, each used many times with one quantisation value changed so that every copy strips to other bytes (and
decodes to other pixels: no cache answers for it).
`--before DIR` runs each phase with that tree's milsetctl as well (PYTHONPATH=DIR, a subprocess per phase).
Not a test: it prints numbers.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))  # milsetctl itself: the venv's (editable) install, or PYTHONPATH's tree

OUT = REPO / "bench" / "out" / "anonymise"
SMALL = (640, 480)
GENERATOR = "g1"
TARGET_ENTRIES = 20_000
TARGET_SECONDS = 10 * 60
CORES = 2


def cpu() -> float:
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def small_photo(i: int) -> bytes:
    """A 640x480 photo-like JPEG (gradient, shapes, grain): distinct for every i."""
    from PIL import Image, ImageDraw, ImageFilter

    rng = random.Random(i)
    coarse = Image.frombytes("RGB", (8, 6), bytes(rng.randrange(256) for _ in range(8 * 6 * 3)))
    im = coarse.resize(SMALL, Image.Resampling.BICUBIC)
    draw = ImageDraw.Draw(im)
    for _ in range(6):
        x, y, r = rng.randrange(640), rng.randrange(480), rng.randrange(10, 90)
        draw.ellipse([x - r, y - r, x + r, y + r], fill=tuple(rng.randrange(256) for _ in range(3)))
    im = im.filter(ImageFilter.GaussianBlur(1.2))
    noise = Image.effect_noise(SMALL, 12).convert("RGB")
    im = Image.blend(im, noise, 0.08)
    buf = io.BytesIO()
    exif = Image.Exif()
    exif[0x010F], exif[0x0110] = "Canon", "Canon EOS 90D"
    im.save(buf, "JPEG", quality=88, exif=exif.tobytes())
    return buf.getvalue()


def small_pool(n: int) -> Path:
    """bench/out/anonymise/small-g1/ with at least n photos (made once)."""
    folder = OUT / f"small-{GENERATOR}"
    folder.mkdir(parents=True, exist_ok=True)
    missing = [i for i in range(n) if not (folder / f"{i:05d}.jpg").is_file()]
    if missing:
        print(f"making {len(missing)} small photos in {folder} ...", file=sys.stderr, flush=True)
        for i in missing:
            (folder / f"{i:05d}.jpg").write_bytes(small_photo(i))
    return folder


def requantised(data: bytes, k: int) -> bytes:
    """The JPEG with one quantisation value of its first DQT changed by copy number k: other bytes after
    stripping, other pixels, the same decoding cost."""
    pos = data.index(b"\xff\xdb")
    entry = pos + 5 + 63  # the table's last value (8-bit precision), a high frequency: invisible
    value = 1 + (data[entry] + k) % 254
    return data[:entry] + bytes([value]) + data[entry + 1:]


def build_workspace(root: Path, n: int, big: bool, previews: bool = True) -> Path:
    """A workspace whose ledger holds n eligible entries (half middle, half high), photos in SOURCE, and (as
    validate leaves them) each photo's preview in cache/thumbs."""
    from milsetctl.probe import probe_file, write_thumbnail
    from milsetctl.workspace import init_workspace

    source = root / "submissions"
    (source / "photos").mkdir(parents=True)
    if big:
        from bench_gallery import pool_photos

        pool = [p.read_bytes() for p in pool_photos(20, CORES)]
    else:
        folder = small_pool(n)
    rows = []
    for i in range(n):
        rel = f"photos/IMG_{i:05d}.jpg"
        if big:
            data = requantised(pool[i % len(pool)], i // len(pool))
            (source / rel).write_bytes(data)
        else:
            os.link(folder / f"{i:05d}.jpg", source / rel)
            data = (source / rel).read_bytes()
        rows.append({
            "entry_id": f"E{i + 1:05d}", "key": rel, "contestant_id": f"CN2022-{i + 1:05d}",
            "name": f"Wang Student{i + 1}", "school": f"No. {i % 40 + 1} Middle School", "grade": "9",
            "province": "Beijing", "country": "China", "email": f"s{i}@example.edu.cn", "file": rel,
            "title": f"Stars over the hills {i + 1}", "description": "A long exposure of the night sky, taken "
            "from the roof of our school with a borrowed tripod.", "submitted_at": "2022-07-05T09:30:00+08:00",
            "origin": f"entries.csv row {i + 2}", "listed": 1, "extra": "{}",
            "sha256": hashlib.sha256(data).hexdigest(), "category": "middle" if i % 2 == 0 else "high",
            "status": "eligible",
        })
    ws = init_workspace(root / "ws", source)
    ws.ledger.save_results(rows, {})
    if previews:
        for row in rows:
            write_thumbnail(probe_file(source / row["file"], row["file"], 100_000_000), ws.thumbs)
    ws.close()
    return root / "ws"


PHASES = ("copies", "thumbs", "sheet", "verify")


def run_phase(ws_root: str, phase: str) -> dict[str, Any]:
    """One phase, in this process; returns {"cpu_s", "wall_s", ...}."""
    from milsetctl.workspace import open_workspace

    ws = open_workspace(Path(ws_root))
    try:
        from milsetctl.anonymise import build_package, verify_package
        from milsetctl.anonymise.package import PackagedEntry, package_dir

        root = package_dir(ws)
        entries = []
        if phase != "copies":
            by_id = {e["entry_id"]: e for e in ws.ledger.entries()}
            for r in ws.ledger.anon_rows():
                e = by_id[r["entry_id"]]
                entries.append(PackagedEntry(e["entry_id"], r["anon_id"], r["file"], e["category"], e["title"],
                                             e["description"], sha256=r["sha256"]))
        extra: dict[str, Any] = {}
        c, t = cpu(), time.perf_counter()
        if phase == "copies":
            result = build_package(ws, contact_sheet=False, verify=False)
            extra["packaged"] = len(result.entries)
        elif phase == "thumbs":
            from milsetctl.anonymise.contact import sheet_cards

            sheet_cards(ws, entries, root)
        elif phase == "sheet":
            from milsetctl.anonymise.contact import write_contact_sheet

            html, pdf = write_contact_sheet(ws, entries, root)
            extra["html_mb"] = html.stat().st_size / 2**20
            extra["pdf_mb"] = pdf.stat().st_size / 2**20
            import pypdf

            extra["pages"] = len(pypdf.PdfReader(str(pdf)).pages)
        elif phase == "verify":
            leaks = verify_package(ws)
            extra["leaks"] = len(leaks)
            extra["files"] = leaks.files
        return {"cpu_s": cpu() - c, "wall_s": time.perf_counter() - t, **extra}
    finally:
        ws.close()


def phase_in(tree: str | None, ws: Path, phase: str) -> dict[str, Any]:
    """The phase in a fresh interpreter (this tree's milsetctl, or `tree`'s): imports and caches start cold."""
    env = dict(os.environ)
    if tree:
        env["PYTHONPATH"] = tree
    proc = subprocess.run([sys.executable, __file__, "--phase", phase, str(ws)], env=env, capture_output=True,
                          text=True, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"phase {phase} failed:\n{proc.stderr[-3000:]}")
    return dict(json.loads(proc.stdout.strip().splitlines()[-1]))


def run_cli(tree: str | None, ws: Path) -> dict[str, Any]:
    from bench_validate import milsetctl_cmd, run_measured

    saved = os.environ.get("PYTHONPATH")
    if tree:
        os.environ["PYTHONPATH"] = tree
    try:
        res = run_measured(milsetctl_cmd() + ["anonymise", "-w", str(ws), "--json"], REPO)
    finally:
        if tree:
            if saved is None:
                del os.environ["PYTHONPATH"]
            else:
                os.environ["PYTHONPATH"] = saved
    if res.returncode != 0:
        raise SystemExit(f"anonymise failed ({res.returncode}):\n{res.stderr[-3000:]}")
    return {"wall_s": res.wall, "cpu_s": res.cpu, "peak_rss_mb": (res.memory.peak_rss if res.memory else 0) / 2**20}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cards", type=int, action="append", help="entries (default 500 and 5000)")
    ap.add_argument("--big", action="store_true", help="12 MP photos instead of small ones")
    ap.add_argument("--no-previews", action="store_true", help="no validate previews in the workspace")
    ap.add_argument("--cli", action="store_true", help="also the whole `milsetctl anonymise` on a fresh copy")
    ap.add_argument("--before", metavar="DIR", help="also this older copy of milsetctl (PYTHONPATH=DIR)")
    ap.add_argument("--after", metavar="DIR", help="run this copy of milsetctl as 'after' (default: the venv's)")
    ap.add_argument("--phases", default=",".join(PHASES), help="which phases (default all)")
    ap.add_argument("--keep", action="store_true", help="keep the workspaces under bench/out/anonymise/")
    ap.add_argument("--json", action="store_true", help="also print one JSON object as the last line")
    ap.add_argument("--phase", help=argparse.SUPPRESS)
    ap.add_argument("workspace", nargs="?", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.phase:  # a child run: one phase, JSON out
        print(json.dumps(run_phase(args.workspace, args.phase)))
        return 0
    sizes = sorted(set(args.cards or [500, 5000]))
    phases = [p for p in args.phases.split(",") if p]
    after = str(Path(args.after).resolve()) if args.after else None
    trees: dict[str, str | None] = {"after": after}
    if args.before:
        trees = {"before": str(Path(args.before).resolve()), "after": after}
    report: dict[str, Any] = {"load_start": os.getloadavg()[0], "big": args.big, "runs": {}}
    OUT.mkdir(parents=True, exist_ok=True)
    for n in sizes:
        base = Path(tempfile.mkdtemp(prefix=f"n{n}-", dir=OUT))
        try:
            made = build_workspace(base / "src", n, args.big, not args.no_previews)
            for label, tree in trees.items():
                ws = base / label / "ws"
                shutil.copytree(made, ws)
                row: dict[str, Any] = {}
                for phase in phases:
                    row[phase] = r = phase_in(tree, ws, phase)
                    print(f"{label:6s} N={n:5d} {phase:7s} CPU {r['cpu_s']:7.1f} s ({r['cpu_s'] / n * 1000:6.1f} ms/"
                          f"entry), wall {r['wall_s']:7.1f} s ({r['wall_s'] / n * 1000:6.1f} ms/entry)"
                          + "".join(f", {k} {v:.1f}" if isinstance(v, float) else f", {k} {v}"
                                    for k, v in r.items() if k not in ("cpu_s", "wall_s")), flush=True)
                if args.cli:
                    fresh = base / label / "cli"
                    shutil.copytree(made, fresh)
                    row["cli"] = r = run_cli(tree, fresh)
                    print(f"{label:6s} N={n:5d} CLI     CPU {r['cpu_s']:7.1f} s ({r['cpu_s'] / n * 1000:6.1f} ms/"
                          f"entry), wall {r['wall_s']:7.1f} s ({r['wall_s'] / n * 1000:6.1f} ms/entry), peak RSS "
                          f"{r['peak_rss_mb']:.0f} MB; {TARGET_ENTRIES} entries at this rate: "
                          f"{r['wall_s'] / n * TARGET_ENTRIES / 60:.1f} min wall (target {TARGET_SECONDS // 60})",
                          flush=True)
                report["runs"].setdefault(label, {})[n] = row
                shutil.rmtree(base / label, ignore_errors=True)
        finally:
            if not args.keep:
                shutil.rmtree(base, ignore_errors=True)
    report["load_end"] = os.getloadavg()[0]
    print(f"load average {report['load_start']:.2f} at start, {report['load_end']:.2f} at end ({CORES} cores)")
    if args.json:
        print(json.dumps(report))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
