#!/usr/bin/env python3
"""Benchmark the past-entry check: what 20,000 archived photos add to `milsetctl validate`.

Why: issue 21 asks that an archive of 20,000 past photos add under a second to a validate run (an index, not a loop
over pairs). This script measures it against validate's own time in the same run, on the same photos:

    .venv/bin/python bench/bench_archive.py                     # 60 photos, 20,000 archived, from the repo root
    .venv/bin/python bench/bench_archive.py --photos 200 --archived 50000 --json

1. A contest of PHOTOS camera-size JPEGs drawn like sample_data (moonlit hills, sunsets, auroras, eclipses...) and
   night skies with a Moon (a third of them), cached under bench/out/archive/ (git-ignored).
2. `validate` in a fresh workspace with the default settings (every rule), and again (everything cached): the time
   without an archive.
3. Two archives of ARCHIVED fake fingerprints, written with milsetctl's own schema: three resized copies of contest
   photos (real hashes and thumbnails: they must be found), random hashes for the rest, each with a real thumbnail
   (a sample scene's, 12 KB; a camera photo's is ~26 KB) so the file is near a real one's size; in the second, a
   tenth of the rows are dark skies with a Moon drawn at thumbnail size (real hashes and thumbnails, near the
   contest's Moons in hash space, as a SPACE-themed contest's archive holds them: each such hash candidate costs a
   content check, which must turn it away).
4. For each archive, the same two validate runs with `[archive] paths` naming it (a fresh workspace; then again, the
   verdicts cached), and the past-entry rule alone in-process (its CPU by step: key, load, search, content checks).
5. The hash search alone for 20,000 new photos against the archive (a 20,000-entry national round).

Times are CPU seconds of the command's whole process tree (getrusage of the children), the main number on a busy
machine, and wall seconds. Not a test: it prints numbers (with --json, one JSON object as the last thing on stdout).
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import json
import os
import resource
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
OUT = REPO / "bench" / "out" / "archive"
MILSETCTL = REPO / ".venv" / "bin" / "milsetctl"
GENERATOR_VERSION = 1
SCENES = ("scene_moon_hills", "scene_sunset", "scene_milky_way", "scene_aurora", "scene_eclipse", "scene_saturn",
          "scene_desert", "scene_star_trails", "scene_comet", "scene_halo")


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def _sample_module() -> Any:
    import importlib.util

    spec = importlib.util.spec_from_file_location("milsetctl_sample_data", REPO / "sample_data" / "make_sample.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["milsetctl_sample_data"] = module
    spec.loader.exec_module(module)
    return module


def night_sky(w: int, h: int, x: float, y: float, r: float, phase: float, face: int, seed: int) -> Any:
    """A dark sky with a Moon (its own surface: `face`) at (x, y), radius r of the height, lit from `phase` -1 (full)
    to 1; as tests/test_rules_duplicates.py draws them."""
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    img = 6 + 14 * (yy / h) ** 3 + rng.normal(0, 1.5, (h, w)).astype(np.float32)
    frng = np.random.default_rng(face)
    fy, fx = np.mgrid[-1:1:192j, -1:1:192j]
    albedo = np.full((192, 192), 0.85)
    for _ in range(6):
        cx, cy, rr = frng.uniform(-0.7, 0.7), frng.uniform(-0.7, 0.7), frng.uniform(0.1, 0.4)
        albedo -= 0.25 * np.exp(-((fx - cx) ** 2 + (fy - cy) ** 2) / (2 * rr * rr))
    for _ in range(40):
        cx, cy, rr = frng.uniform(-0.95, 0.95), frng.uniform(-0.95, 0.95), frng.uniform(0.03, 0.1)
        albedo -= 0.15 * (np.hypot(fx - cx, fy - cy) < rr)
    albedo = np.clip(albedo, 0.2, 1.0)
    u, v = (xx - x * w) / (r * h), (yy - y * h) / (r * h)
    texture = albedo[np.clip((v + 1) / 2 * 191, 0, 191).astype(int), np.clip((u + 1) / 2 * 191, 0, 191).astype(int)]
    lit = (np.hypot(u, v) < 1) & (u > phase * np.sqrt(np.clip(1 - v * v, 0, 1)))
    img[lit] += 220 * texture[lit]
    return Image.fromarray(np.clip(img, 0, 255).astype(np.uint8)).convert("RGB")


def build_contest(n: int) -> Path:
    """N photos and entries.csv under bench/out/archive/set-N (made once)."""
    folder = OUT / f"set-{n}-g{GENERATOR_VERSION}"
    if (folder / "entries.csv").is_file():
        return folder
    ms = _sample_module()
    tmp = folder.with_name(folder.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    (tmp / "photos").mkdir(parents=True)
    rows = []
    started = time.perf_counter()
    for i in range(n):
        if i % 3 == 2:
            picture = night_sky(2400, 1600, 0.15 + 0.7 * ((i * 7) % 23) / 22, 0.2 + 0.6 * ((i * 5) % 17) / 16,
                                0.05 + 0.01 * (i % 5), -1 + 0.3 * (i % 4), 1000 + i, 5000 + i)
        else:
            picture = getattr(ms, SCENES[i % len(SCENES)])(2400, 1600, 100 + i)
        name = f"photo-{i:04d}.jpg"
        picture.save(tmp / "photos" / name, "JPEG", quality=90, exif=ms.camera_exif(
            "Canon", "Canon EOS 90D", f"2022:06:{1 + i % 28:02d} 21:{i % 60:02d}:00").tobytes())
        rows.append([f"CN2022-{i:04d}", f"Entrant {i}", "School", "8", "Beijing", "China", f"e{i}@example.cn",
                     f"photos/{name}", f"Photo {i}", "A photo of the sky over the hills at night.",
                     "2022-07-01 10:00"])
        if (i + 1) % 20 == 0:
            log(f"  drew {i + 1}/{n} photos ({time.perf_counter() - started:.0f} s)")
    with (tmp / "entries.csv").open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["contestant_id", "name", "school", "grade", "province", "country", "email", "file",
                         "title", "description", "submitted_at"])
        writer.writerows(rows)
    tmp.rename(folder)
    return folder


def timed(args: list[str]) -> dict[str, Any]:
    """Run milsetctl with `args`; its wall and CPU seconds (user + system of the whole process tree)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    proc = subprocess.run([str(MILSETCTL), *args], capture_output=True, text=True, cwd=REPO)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise SystemExit(f"milsetctl {' '.join(args)} failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {"wall_s": round(wall, 3), "cpu_s": round(cpu, 3), "stdout": proc.stdout}


def workspace(name: str, archive: Path | None) -> Path:
    ws = OUT / name
    shutil.rmtree(ws, ignore_errors=True)
    ws.mkdir(parents=True)
    toml = ""
    if archive is not None:
        toml += f"[archive]\npaths = [{json.dumps(str(archive))}]\n"
    (ws / "contest.toml").write_text(toml, encoding="utf-8")
    return ws


def thumbnail_of(picture: Any) -> tuple[bytes, str, str, int, int]:
    """(the 480 px JPEG validate caches, phash, dhash, width, height) of a picture, as validate makes them."""
    from milsetctl.hashing import dhash_hex, phash_hex

    w, h = picture.size
    reduced = picture.copy()
    reduced.thumbnail((1200, 1200))
    grey = reduced.convert("L")
    thumb = picture.copy()
    thumb.thumbnail((480, 480))
    buf = io.BytesIO()
    thumb.save(buf, "JPEG", quality=80)
    return buf.getvalue(), phash_hex(grey), dhash_hex(grey), w, h


def build_archive(path: Path, archived: int, contest: Path, reentries: list[str], dark_share: float) -> dict[str, Any]:
    """ARCHIVED fake fingerprints in milsetctl's archive schema (see the module docstring); `dark_share` of them
    dark skies with a Moon."""
    import numpy as np
    from PIL import Image

    from milsetctl.archive import APPLICATION_ID, SCHEMA, SCHEMA_VERSION, _content_digest

    path.unlink(missing_ok=True)
    rng = np.random.default_rng(21)
    filler = thumbnail_of(_sample_module().scene_aurora(2400, 1600, 1))[0]  # a real thumbnail (12 KB)
    skies = int(archived * dark_share)
    started = time.perf_counter()
    db = sqlite3.connect(path)
    with db:
        db.execute(f"PRAGMA application_id = {APPLICATION_ID}")
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        db.executescript(SCHEMA)
        years = list(range(2012, 2022))
        for year in years:
            db.execute("INSERT INTO contests (name, stage, year, country, archived_at, written_by, awards_known) "
                       "VALUES (?, 'national', ?, 'China', '2021-08-01T00:00:00Z', 'bench', 1)",
                       (f"MILSET STEAM Photo Contest {year}", year))

        def insert(i: int, sha: str, phash: str, dhash: str, w: int, h: int, jpeg: bytes, title: str) -> None:
            contest_id = 1 + i % len(years)
            photo_id = db.execute(
                "INSERT INTO photos (contest_id, entry_id, title, status, award, sha256, phash, dhash, width, height, "
                "thumbnail_sha256) VALUES (?, ?, ?, 'eligible', ?, ?, ?, ?, ?, ?, ?)",
                (contest_id, f"E{i:05d}", title, "qualifier" if i % 3 == 0 else None, sha, phash, dhash, w, h,
                 hashlib.sha256(jpeg).hexdigest())).lastrowid
            db.execute("INSERT INTO thumbnails VALUES (?, ?)", (photo_id, jpeg))

        for i, file in enumerate(reentries):  # resized copies of contest photos: found by the content check
            with Image.open(contest / "photos" / file) as im:
                copy = im.convert("RGB").resize((1800, 1200), Image.Resampling.LANCZOS)
            buf = io.BytesIO()
            copy.save(buf, "JPEG", quality=75)
            jpeg, phash, dhash, w, h = thumbnail_of(copy)
            insert(i, hashlib.sha256(buf.getvalue()).hexdigest(), phash, dhash, w, h, jpeg, f"Re-entry {i}")
        for i in range(len(reentries), len(reentries) + skies):  # dark skies: hash neighbours of the contest's Moons
            picture = night_sky(480, 320, float(rng.uniform(0.15, 0.85)), float(rng.uniform(0.2, 0.8)),
                                float(rng.uniform(0.04, 0.1)), float(rng.uniform(-1, 0.4)), 10_000 + i, 20_000 + i)
            jpeg, phash, dhash, w, h = thumbnail_of(picture)
            insert(i, hashlib.sha256(jpeg).hexdigest(), phash, dhash, w * 5, h * 5, jpeg, f"Moon {i}")
        for i in range(len(reentries) + skies, archived):
            phash, dhash = (f"{int(v):016x}" for v in rng.integers(0, 2**64, 2, dtype=np.uint64))
            insert(i, hashlib.sha256(f"fake {i}".encode()).hexdigest(), phash, dhash, 4000, 3000, filler,
                   f"Photo {i}")
        db.execute("INSERT INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
        db.execute("INSERT INTO meta VALUES ('digest', ?)", (_content_digest(db),))
    db.close()
    return {"rows": archived, "dark_skies": skies, "reentries": len(reentries), "bytes": path.stat().st_size,
            "build_s": round(time.perf_counter() - started, 1)}


def rule_alone(ws: Path) -> dict[str, Any]:
    """The past-entry rule in-process on the validated workspace, with no verdict cache: its CPU by step."""
    from milsetctl.models import Entry, PhotoInfo
    from milsetctl.probe import PROBE_VERSION
    from milsetctl.rules import ContestItem
    from milsetctl.rules.archive import SearchStats, find_past_entries
    from milsetctl.workspace import open_workspace

    with open_workspace(ws, read_only=True) as opened:
        infos = {k: PhotoInfo(**json.loads(v)) for k, v in opened.ledger.all_infos(PROBE_VERSION).items()}
        items = []
        for r in opened.ledger.entries():
            info = infos.get(r["sha256"])
            thumb = opened.thumbs / info.thumbnail if info is not None and info.thumbnail else None
            items.append(ContestItem(Entry(key=r["key"], file=r["file"], entry_id=r["entry_id"]), info, thumb))
        settings = opened.settings
    settings.path = None  # no verdict cache: every photo searched
    stats = SearchStats()
    started, cpu = time.perf_counter(), time.process_time()
    found = find_past_entries(items, settings, stats)
    return {"wall_s": round(time.perf_counter() - started, 3), "cpu_s": round(time.process_time() - cpu, 3),
            "photos": stats.photos, "archived": stats.archived, "candidates": stats.candidates,
            "content_checks": stats.compared, "turned_away_at_first_look": stats.quick, "one_way_only": stats.one_way,
            "steps_cpu_s": {k: round(v, 3) for k, v in stats.seconds.items()},
            "found": sorted(items[i].entry.file or "" for i in found)}


def search_only(archive: Path, queries: int) -> dict[str, Any]:
    """The hash search alone for `queries` new photos (random hashes) against the archive."""
    import numpy as np

    from milsetctl.archive import open_index
    from milsetctl.rules.archive import near

    started = time.process_time()
    index = open_index([archive], 2022)
    load = time.process_time() - started
    rng = np.random.default_rng(3)
    hashes = rng.integers(0, 2**64, (queries, 2), dtype=np.uint64)
    started = time.process_time()
    hits = sum(len(near(index, int(a), int(b), 16)) for a, b in hashes)
    search = time.process_time() - started
    index.close()
    return {"queries": queries, "load_cpu_s": round(load, 3), "search_cpu_s": round(search, 3),
            "us_per_photo": round(search / queries * 1e6, 1), "hits": hits}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--photos", type=int, default=60, help="photos in the contest (default 60)")
    parser.add_argument("--archived", type=int, default=20_000, help="rows in each archive (default 20,000)")
    parser.add_argument("--json", action="store_true", help="also print one JSON object at the end")
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    sys.path.insert(0, str(REPO))

    log(f"contest: {args.photos} photos")
    contest = build_contest(args.photos)
    files = sorted(p.name for p in (contest / "photos").iterdir())
    reentries = [files[0], files[2], files[4]]  # moonlit hills, a night sky with a Moon, an eclipse
    expected = sorted(f"photos/{f}" for f in reentries)

    log("validate without an archive (fresh workspace, then again)")
    plain = workspace("ws-plain", None)
    runs: dict[str, Any] = {"plain_first": timed(["validate", str(contest), "-w", str(plain), "--json"])}
    runs["plain_again"] = timed(["validate", str(contest), "-w", str(plain), "--json"])

    archives: dict[str, Any] = {}
    for kind, dark_share in (("fingerprints", 0.0), ("dark-skies", 0.1)):
        path = OUT / f"archive-{args.archived}-{kind}.sqlite"
        log(f"archive ({kind}): {args.archived} rows -> {path}")
        built = build_archive(path, args.archived, contest, reentries, dark_share)
        log(f"  {built['bytes'] / 1e6:.0f} MB in {built['build_s']} s; validate with it (fresh workspace, again)")
        ws = workspace(f"ws-{kind}", path)
        runs[f"{kind}_first"] = timed(["validate", str(contest), "-w", str(ws), "--json"])
        runs[f"{kind}_again"] = timed(["validate", str(contest), "-w", str(ws), "--json"])
        doc = json.loads(runs[f"{kind}_again"]["stdout"])
        flagged = sorted(e["file"] for e in doc["entries"] if any(f["rule"] == "past-entry" for f in e["findings"]))
        log("  the rule alone, in-process, no verdict cache")
        archives[kind] = {"archive": built, "rule_alone": rule_alone(ws), "flagged": flagged,
                          "false_matches": sorted(set(flagged) - set(expected)),
                          "missed": sorted(set(expected) - set(flagged))}
    for run in runs.values():
        run.pop("stdout")
    log("the hash search alone: 20,000 new photos")
    search = search_only(OUT / f"archive-{args.archived}-fingerprints.sqlite", 20_000)

    def ratio(extra: float, base: float) -> float:
        return round(extra / base, 4) if base else float("nan")

    base_first, base_again = runs["plain_first"]["cpu_s"], runs["plain_again"]["cpu_s"]
    for kind, found in archives.items():
        found["added_first_cpu_s"] = round(runs[f"{kind}_first"]["cpu_s"] - base_first, 3)
        found["added_first_ratio"] = ratio(found["added_first_cpu_s"], base_first)
        found["added_again_cpu_s"] = round(runs[f"{kind}_again"]["cpu_s"] - base_again, 3)
        found["added_again_ratio"] = ratio(found["added_again_cpu_s"], base_again)
        found["rule_ratio_first"] = ratio(found["rule_alone"]["cpu_s"], base_first)
    result = {"photos": args.photos, "archived": args.archived, "runs": runs, "archives": archives,
              "search_20000": search, "expected": expected,
              "machine": {"cpus": os.cpu_count(), "load": os.getloadavg()}}

    print(f"\n{args.photos} photos against archives of {args.archived:,} rows")
    print(f"{'run':<32}{'CPU s':>10}{'wall s':>10}")
    for name, run in runs.items():
        print(f"{name:<32}{run['cpu_s']:>10.2f}{run['wall_s']:>10.2f}")
    for kind, found in archives.items():
        alone, built = found["rule_alone"], found["archive"]
        print(f"\n{kind}: {built['dark_skies']:,} dark skies with a Moon, {built['bytes'] / 1e6:.0f} MB")
        print(f"  past-entry alone (no verdict cache): {alone['cpu_s']:.3f} s CPU = {found['rule_ratio_first']:.2%} "
              f"of validate's first run; {alone['photos']} photos, {alone['candidates']} hash candidates, "
              f"{alone['content_checks']} content checks ({alone['turned_away_at_first_look']} turned away at the "
              f"first look, {alone['one_way_only']} copies one way round only); CPU by step {alone['steps_cpu_s']}")
        print(f"  added to a first validate: {found['added_first_cpu_s']:+.2f} s CPU "
              f"({found['added_first_ratio']:+.1%}); to a re-run (verdicts cached): "
              f"{found['added_again_cpu_s']:+.2f} s CPU ({found['added_again_ratio']:+.1%})")
        print(f"  flagged {len(found['flagged'])}: missed {found['missed']}, false matches {found['false_matches']}")
    print(f"\nhash search for 20,000 new photos: {search['search_cpu_s']:.2f} s CPU ({search['us_per_photo']} us a "
          f"photo), index load {search['load_cpu_s']:.2f} s")
    print(f"machine: {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}")
    if args.json:
        print(json.dumps(result))


if __name__ == "__main__":
    main()
