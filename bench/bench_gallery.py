#!/usr/bin/env python3
"""Benchmark `milsetctl gallery` on N national qualifiers with 12 MP camera-like photos (issue 18).

Why: the national gallery shows every qualifier (~7,000 of a 20,000-entry round) and must be made in under 12
minutes on 2 cores. The CLI is run as a coordinator runs it, at two sizes, so that the slope between them (CPU and
wall per photo) leaves start-up and page writing for a fixed cost out; the 7,000-photo time is extrapolated from it.

    .venv/bin/python bench/bench_gallery.py                    # N = 30 and 100, then the re-run, then quality
    .venv/bin/python bench/bench_gallery.py --n 30 --n 200 --json
    .venv/bin/python bench/bench_gallery.py --stages 8         # also the cost of each step, in-process
    .venv/bin/python bench/bench_gallery.py --before /tmp/old  # also an older tree (a copy of milsetctl/ and
                                                               # templates/), run alternately on the same photos

The photos: bench_validate.py's 12 MP pool (bench/out/pool-12mp-s0-g2/, made once, ~4 s a photo), each used many
times with a COM segment carrying its copy number inserted after SOI: the files differ (the gallery's cache is
keyed by content hash, so every copy is made afresh) and decode exactly like the pool photo. The quality check
compares each gallery image, decoded, with a LANCZOS resize of the full-resolution decode (the reference a
careful hand would make): mean absolute difference per channel, 0-255. Not a test: it prints numbers.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import shutil
import struct
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))  # milsetctl itself: the venv's (editable) install, or PYTHONPATH's tree

from bench_validate import (  # noqa: E402
    GENERATOR_VERSION,
    OUT,
    make_photo,
    milsetctl_cmd,
    run_measured,
)

POOL_SEED = 0
TARGET_PHOTOS = 7000
TARGET_SECONDS = 12 * 60
CORES = 2


def pool_photos(count: int, workers: int) -> list[Path]:
    """The first `count` photos of bench_validate's 12 MP pool, generated when missing."""
    pool = OUT / f"pool-12mp-s{POOL_SEED}-g{GENERATOR_VERSION}"
    pool.mkdir(parents=True, exist_ok=True)
    paths = [pool / f"IMG_{i:05d}.jpg" for i in range(count)]
    missing = [i for i, p in enumerate(paths) if not p.is_file()]
    if missing:
        from concurrent.futures import ProcessPoolExecutor

        print(f"generating {len(missing)} 12 MP photos into {pool} ...", file=sys.stderr)
        with ProcessPoolExecutor(max_workers=workers) as ex:
            list(ex.map(make_photo, missing, [POOL_SEED] * len(missing), [12.0] * len(missing),
                        [str(paths[i]) for i in missing]))
    return paths


def tagged_copy(data: bytes, tag: str) -> bytes:
    """The JPEG with a COM segment right after SOI: other bytes (so another content hash), the same picture."""
    text = tag.encode("ascii")
    return data[:2] + b"\xff\xfe" + struct.pack(">H", len(text) + 2) + text + data[2:]


def build_workspace(root: Path, n: int, pool: list[Path]) -> Path:
    """A workspace whose award list holds n national qualifiers (half middle, half high), photos in SOURCE, and
    validate's stat cache of them."""
    from milsetctl.workspace import init_workspace

    source = root / "submissions"
    (source / "photos").mkdir(parents=True)
    originals = [p.read_bytes() for p in pool]
    rows, awards = [], []
    for i in range(n):
        rel = f"photos/IMG_{i:05d}.jpg"
        data = tagged_copy(originals[i % len(originals)], f"bench copy {i}")
        (source / rel).write_bytes(data)
        category = "middle" if i % 2 == 0 else "high"
        rows.append({
            "entry_id": f"E{i + 1:05d}", "key": rel, "contestant_id": f"CN2022-{i + 1:05d}",
            "name": f"Student {i + 1}", "school": "No. 1 Middle School", "grade": "9", "province": "Beijing",
            "country": "China", "email": f"s{i}@example.edu.cn", "file": rel, "title": f"Photo {i + 1}",
            "description": f"A bench photo, number {i + 1}.", "submitted_at": "2022-07-05T09:30:00+08:00",
            "origin": f"entries.csv row {i + 2}", "listed": 1, "extra": "{}",
            "sha256": hashlib.sha256(data).hexdigest(), "category": category, "status": "eligible",
        })
        awards.append({"entry_id": f"E{i + 1:05d}", "anon_id": f"A{i:05d}", "category": category,
                       "score": 90.0 - i / n, "rank": i // 2 + 1, "award": "qualifier"})
    ws = init_workspace(root / "ws", source)
    ws.ledger.save_results(rows, {})
    ws.ledger.save_awards(awards, "national")
    for row in rows:  # validate's stat cache, as validate leaves it
        path = Path(ws.settings.source) / row["file"]
        st = path.stat()
        ws.ledger.remember_file(str(path), st.st_size, st.st_mtime_ns, row["sha256"])
    ws.ledger.db.commit()
    ws.close()
    return root / "ws"


def run_gallery(ws: Path, tree: str | None = None) -> dict[str, Any]:
    """One `milsetctl gallery --json` run; `tree`: run that copy of milsetctl (PYTHONPATH) instead."""
    saved = os.environ.get("PYTHONPATH")
    if tree:
        os.environ["PYTHONPATH"] = tree
    try:
        res = run_measured(milsetctl_cmd() + ["gallery", "-w", str(ws), "--json"], REPO)
    finally:
        if tree:
            if saved is None:
                del os.environ["PYTHONPATH"]
            else:
                os.environ["PYTHONPATH"] = saved
    if res.returncode != 0:
        raise SystemExit(f"gallery failed ({res.returncode}):\n{res.stderr[-3000:]}")
    doc = json.loads(res.stdout)
    peak = res.memory.peak_rss if res.memory else 0
    return {"wall_s": res.wall, "cpu_s": res.cpu, "peak_rss_mb": peak / 2**20,
            "processes": res.memory.peak_procs if res.memory else 0, "made": doc["made"], "reused": doc["reused"],
            "photos": len(doc["entries"])}


def quality(ws: Path, count: int) -> dict[str, Any]:
    """Mean absolute difference (0-255, per channel) between gallery images and a LANCZOS resize of the full
    decode, and the sizes; over the first `count` photos."""
    import numpy as np
    from PIL import Image, ImageOps

    from milsetctl.gallery.images import THUMB_PX, WEB_PX

    out: dict[str, list[float]] = {"web": [], "thumb": []}
    sizes_ok = True
    images = ws / "gallery" / "images"
    from milsetctl.workspace import open_workspace

    w = open_workspace(ws)
    try:
        ids = json.loads(w.ledger.meta_value("gallery_ids") or "{}")
        files = {r["entry_id"]: Path(w.settings.source) / r["file"] for r in w.ledger.entries()}
    finally:
        w.close()
    for entry_id, key in list(sorted(ids.items()))[:count]:
        with Image.open(files[entry_id]) as im:
            full = ImageOps.exif_transpose(im).convert("RGB")
        for kind, px, name in (("web", WEB_PX, f"{key}.jpg"), ("thumb", THUMB_PX, f"{key}-{THUMB_PX}.jpg")):
            ref = full.copy()
            ref.thumbnail((px, px), Image.Resampling.LANCZOS, reducing_gap=None)
            with Image.open(images / name) as got:
                sizes_ok &= got.size == ref.size
                diff = np.abs(np.asarray(got.convert("RGB"), dtype=np.int16) - np.asarray(ref, dtype=np.int16))
            out[kind].append(float(diff.mean()))
    return {"mad_web": sum(out["web"]) / len(out["web"]), "mad_thumb": sum(out["thumb"]) / len(out["thumb"]),
            "mad_web_max": max(out["web"]), "sizes_ok": sizes_ok, "photos": len(out["web"])}


def stages(pool: list[Path], count: int) -> dict[str, float]:
    """The cost of each step of one photo, in-process, CPU ms per photo (best of 2 over `count` photos): what
    the web_images function spends, and its total."""
    from milsetctl.gallery import images

    datas = [p.read_bytes() for p in pool[:count]]
    result: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        src = [Path(tmp) / f"{i}.jpg" for i in range(len(datas))]
        for path, data in zip(src, datas, strict=True):
            path.write_bytes(data)
        best = float("inf")
        for rep in range(2):
            cache = Path(tmp) / f"cache{rep}"
            t = time.process_time()
            for path in src:
                images.web_images(path, cache)
            best = min(best, (time.process_time() - t) / len(src) * 1000)
        result["web_images total"] = best
    from PIL import Image

    def timed(label: str, fn: Any, items: list[Any]) -> list[Any]:
        best, out = float("inf"), []
        for _ in range(2):
            t = time.process_time()
            out = [fn(x) for x in items]
            best = min(best, (time.process_time() - t) / len(items) * 1000)
        result[label] = best
        return out

    def draft(data: bytes) -> Image.Image:
        im = Image.open(io.BytesIO(data))
        longest = max(im.size)
        im.draft("RGB", (im.width * images.WEB_PX // longest, im.height * images.WEB_PX // longest))
        im.load()
        return im

    decoded = timed("decode at draft scale", draft, datas)
    timed("full decode (for comparison)", lambda d: Image.open(io.BytesIO(d)).load(), datas)
    for name, flt in (("LANCZOS", Image.Resampling.LANCZOS), ("BICUBIC", Image.Resampling.BICUBIC),
                      ("HAMMING", Image.Resampling.HAMMING), ("BOX", Image.Resampling.BOX)):
        timed(f"resize draft -> {images.WEB_PX} {name}", lambda im, f=flt: im.resize(
            (images.WEB_PX, images.WEB_PX * im.height // im.width), f, reducing_gap=2.0), decoded)
    web = [im.resize((images.WEB_PX, images.WEB_PX * im.height // im.width), Image.Resampling.BICUBIC)
           for im in decoded]

    def encode(im: Image.Image, **kw: Any) -> int:
        buf = io.BytesIO()
        im.save(buf, "JPEG", quality=images.QUALITY, **kw)
        return buf.tell()

    timed("encode 1600 progressive+optimize", lambda im: encode(im, optimize=True, progressive=True), web)
    timed("encode 1600 baseline+optimize", lambda im: encode(im, optimize=True), web)
    return result


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, action="append", help="gallery sizes (two or more; default 30 and 100)")
    ap.add_argument("--distinct", type=int, default=20, help="distinct pool photos to cycle through (default 20)")
    ap.add_argument("--stages", type=int, default=0, metavar="K", help="also time each step over K photos")
    ap.add_argument("--quality", type=int, default=6, metavar="K", help="quality check over K photos (0: skip)")
    ap.add_argument("--before", metavar="DIR", help="also run this older copy of milsetctl (PYTHONPATH=DIR)")
    ap.add_argument("--after", metavar="DIR", help="run this copy of milsetctl as 'after' (default: the venv's)")
    ap.add_argument("--keep", action="store_true", help="keep the workspaces under bench/out/gallery/")
    ap.add_argument("--json", action="store_true", help="also print one JSON object as the last line")
    args = ap.parse_args()
    sizes = sorted(set(args.n or [30, 100]))
    pool = pool_photos(args.distinct, CORES)
    report: dict[str, Any] = {"load_start": os.getloadavg()[0], "runs": {}}
    base = OUT / "gallery"
    base.mkdir(parents=True, exist_ok=True)
    after = str(Path(args.after).resolve()) if args.after else None
    trees: dict[str, str | None] = {"after": after}
    if args.before:
        trees = {"before": str(Path(args.before).resolve()), "after": after}
    for n in sizes:
        root = Path(tempfile.mkdtemp(prefix=f"n{n}-", dir=base))
        try:
            ws = build_workspace(root, n, pool)
            for label, tree in trees.items():  # alternately, on the same photos, each from a cold cache
                shutil.rmtree(ws / "cache" / "gallery", ignore_errors=True)
                shutil.rmtree(ws / "gallery", ignore_errors=True)
                first = run_gallery(ws, tree)
                again = run_gallery(ws, tree)
                report["runs"].setdefault(label, {})[n] = {"first": first, "rerun": again}
                print(f"{label:6s} N={n:5d}  first: wall {first['wall_s']:6.1f} s, CPU {first['cpu_s']:6.1f} s, "
                      f"{first['processes']} processes, peak RSS {first['peak_rss_mb']:.0f} MB, made "
                      f"{first['made']}; re-run: wall {again['wall_s']:.1f} s, CPU {again['cpu_s']:.1f} s, made "
                      f"{again['made']}", flush=True)
                if n == sizes[-1] and args.quality:
                    report.setdefault("quality", {})[label] = q = quality(ws, args.quality)
                    print(f"{label:6s} quality over {q['photos']} photos: MAD vs LANCZOS of the full decode, web "
                          f"{q['mad_web']:.2f} (max {q['mad_web_max']:.2f}), thumbnail {q['mad_thumb']:.2f}; "
                          f"sizes {'as the reference' if q['sizes_ok'] else 'DIFFER'}", flush=True)
        finally:
            if not args.keep:
                shutil.rmtree(root, ignore_errors=True)
    for label in trees:
        if len(sizes) < 2:
            break
        lo, hi = report["runs"][label][sizes[0]]["first"], report["runs"][label][sizes[-1]]["first"]
        dn = sizes[-1] - sizes[0]
        cpu_slope, wall_slope = (hi["cpu_s"] - lo["cpu_s"]) / dn, (hi["wall_s"] - lo["wall_s"]) / dn
        fixed = lo["wall_s"] - wall_slope * sizes[0]
        workers = max(1, hi["processes"] - 1) if hi["processes"] > 1 else 1
        at_target = fixed + wall_slope * TARGET_PHOTOS
        idle = fixed + cpu_slope * TARGET_PHOTOS / min(CORES, workers)
        report.setdefault("slope", {})[label] = {
            "cpu_ms_per_photo": cpu_slope * 1000, "wall_ms_per_photo": wall_slope * 1000, "fixed_s": fixed,
            "wall_at_7000_s": at_target, "idle_2_cores_at_7000_s": idle}
        verdict = "PASS" if min(at_target, idle) <= TARGET_SECONDS else "OVER TARGET"
        print(f"{label:6s} slope N={sizes[0]}..{sizes[-1]}: CPU {cpu_slope * 1000:.0f} ms/photo, wall "
              f"{wall_slope * 1000:.0f} ms/photo; {TARGET_PHOTOS} photos: {at_target / 60:.1f} min at this run's "
              f"wall slope, {idle / 60:.1f} min from the CPU slope on {min(CORES, workers)} idle core(s) "
              f"(target {TARGET_SECONDS // 60} min: {verdict})")
    if args.stages:
        report["stages_ms"] = st = stages(pool, args.stages)
        for label, ms in st.items():
            print(f"  {label:40s} {ms:7.1f} ms CPU/photo")
    report["load_end"] = os.getloadavg()[0]
    print(f"load average {report['load_start']:.2f} at start, {report['load_end']:.2f} at end ({CORES} cores)")
    if args.json:
        print(json.dumps(report))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
