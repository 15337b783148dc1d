"""Measure `duplicate-image` on space frames: dark skies with one bright object, where hashes are nearly alike.

    .venv/bin/python bench/measure_duplicates.py [--frames 300] [--seed 0] [--cases DIR] [--all-pairs] [--json]

It draws N synthetic night-sky frames (a Moon of varying phase, size, position and orientation, half of
them with the same lunar face as the real Moon has; star fields with or without the Milky Way; a planet
with bands, rings or moons; solar and lunar eclipses; some with a horizon and light pollution), saves each
as a camera-like JPEG (or PNG), and makes one copy of each: resized, recompressed, converted JPEG<->PNG,
or cropped 2-4 % and resized. Every file goes through the real probe (reduced decode, perceptual hashes,
the cached thumbnail), then through the rule's own pair search and content check:

- false matches: pairs of different frames the rule reports, over all N*(N-1)/2 pairs (the hash
  candidates are what the content check has to reject; `--all-pairs` also runs the content check alone
  on every pair of frames of the same kind, hash or no hash, for a larger denominator);
- true matches: frame/copy pairs the rule reports, per kind of copy;
- the content check's cost per candidate pair (CPU ms, one thread).

`--cases DIR` also runs the moon-photos field case (24 different Moon photos and 2 copies) when DIR holds it.
Nothing is asserted; it prints numbers (and one JSON line with `--json`).
"""

from __future__ import annotations

import argparse
import io
import json
import math
import statistics
import sys
import tempfile
import time
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from milsetctl.analysis.similarity import compare_images, load_grey  # noqa: E402
from milsetctl.models import Entry  # noqa: E402
from milsetctl.probe import probe_bytes, write_thumbnail  # noqa: E402
from milsetctl.rules import ContestItem  # noqa: E402
from milsetctl.rules.duplicates import close_pairs, find_duplicates  # noqa: E402
from milsetctl.settings import defaults  # noqa: E402

KINDS = ("moon", "moon-face", "stars", "planet", "eclipse")
COPIES = ("resized", "recompressed", "png", "jpeg-from-png", "crop", "crop-one-side")


# --- the sky generator -------------------------------------------------------------------------------------


def _lunar_face(seed: int, size: int = 512) -> np.ndarray:
    """A Moon's albedo map on the unit disk (size x size, 0..1): dark maria and bright-rimmed craters."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[-1 : 1 : size * 1j, -1 : 1 : size * 1j]
    face = np.full((size, size), 0.85)
    for _ in range(rng.integers(5, 10)):  # maria: broad dark patches
        cx, cy, r = rng.uniform(-0.7, 0.7), rng.uniform(-0.7, 0.7), rng.uniform(0.12, 0.4)
        face -= rng.uniform(0.15, 0.3) * np.exp(-((x - cx) ** 2 + (y - cy) ** 2) / (2 * r * r))
    for _ in range(rng.integers(40, 90)):  # craters: dark floor, bright rim
        cx, cy, r = rng.uniform(-0.95, 0.95), rng.uniform(-0.95, 0.95), rng.uniform(0.01, 0.08)
        d = np.sqrt((x - cx) ** 2 + (y - cy) ** 2) / r
        face += 0.12 * np.exp(-((d - 1) ** 2) / 0.05) - 0.1 * (d < 0.9)
    face += rng.normal(0, 0.03, face.shape)
    return np.clip(cv2.GaussianBlur(face, (0, 0), 1.0), 0.2, 1.0)


def _background(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    """Night sky in linear 0..1 RGB: a dark level, maybe a light-pollution glow towards the bottom."""
    level = rng.uniform(0.0005, 0.008)
    tint = np.array([rng.uniform(0.8, 1.0), rng.uniform(0.85, 1.0), rng.uniform(0.9, 1.2)])
    sky = np.full((h, w, 3), level) * tint
    if rng.random() < 0.4:
        glow = np.linspace(0, 1, h)[:, None] ** rng.uniform(2, 5) * rng.uniform(0.01, 0.06)
        sky += glow[..., None] * np.array([1.0, 0.7, 0.4])
    return sky


def _stars(rng: np.random.Generator, img: np.ndarray, count: int) -> None:
    h, w = img.shape[:2]
    layer = np.zeros((h, w), np.float64)
    ys, xs = rng.integers(0, h, count), rng.integers(0, w, count)
    layer[ys, xs] = rng.pareto(1.5, count) * 0.15 + 0.05
    layer = cv2.GaussianBlur(layer, (0, 0), rng.uniform(0.8, 1.6)) * 6
    img += layer[..., None] * np.array([1.0, 1.0, 1.05])


def _milky_way(rng: np.random.Generator, img: np.ndarray) -> None:
    h, w = img.shape[:2]
    y, x = np.mgrid[0:h, 0:w]
    angle, offset = rng.uniform(0, math.pi), rng.uniform(-0.3, 0.3) * max(h, w)
    dist = (x - w / 2) * math.sin(angle) - (y - h / 2) * math.cos(angle) - offset
    band = np.exp(-(dist**2) / (2 * (0.12 * max(h, w)) ** 2))
    clouds = cv2.resize(rng.random((12, 12)), (w, h), interpolation=cv2.INTER_CUBIC)
    img += (band * np.clip(clouds, 0, 1) * rng.uniform(0.05, 0.15))[..., None] * np.array([1.0, 0.95, 0.9])


def _horizon(rng: np.random.Generator, img: np.ndarray) -> None:
    """A dark foreground: hills, roofs or trees, with a few lit windows."""
    h, w = img.shape[:2]
    points = rng.integers(4, 14)
    xs = np.linspace(0, w, points)
    ys = h - rng.uniform(0.05, 0.25) * h + rng.normal(0, 0.03 * h, points)
    ridge = np.interp(np.arange(w), xs, ys)
    mask = np.arange(h)[:, None] > ridge[None, :]
    img[mask] = rng.uniform(0.0, 0.003)
    for _ in range(rng.integers(0, 12)):
        wx, wy = rng.integers(0, w), rng.integers(int(ridge.min()), h)
        if mask[min(wy, h - 1), wx]:
            img[wy : wy + 6, wx : wx + 5] = np.array([0.9, 0.7, 0.3])


def _moon(rng: np.random.Generator, img: np.ndarray, face: np.ndarray, lunar_eclipse: bool = False) -> None:
    h, w = img.shape[:2]
    short = min(h, w)
    r = short * rng.uniform(0.02, 0.22)
    cx, cy = rng.uniform(r, w - r), rng.uniform(r, h * 0.8)
    rot, sun = rng.uniform(0, 2 * math.pi), rng.uniform(0, 2 * math.pi)
    phase = -1.0 if lunar_eclipse else rng.uniform(-1.0, 0.8)  # -1 full, 1 new
    x0, x1 = max(0, int(cx - r - 2)), min(w, int(cx + r + 3))
    y0, y1 = max(0, int(cy - r - 2)), min(h, int(cy + r + 3))
    y, x = np.mgrid[y0:y1, x0:x1]
    u, v = (x - cx) / r, (y - cy) / r
    rho = np.sqrt(u * u + v * v)
    inside = np.clip((1 - rho) * r + 0.5, 0, 1)  # anti-aliased edge
    fu = u * math.cos(rot) - v * math.sin(rot)
    fv = u * math.sin(rot) + v * math.cos(rot)
    size = face.shape[0]
    albedo = face[
        np.clip(((fv + 1) / 2 * (size - 1)).astype(int), 0, size - 1),
        np.clip(((fu + 1) / 2 * (size - 1)).astype(int), 0, size - 1),
    ]
    su = u * math.cos(sun) + v * math.sin(sun)
    sv = -u * math.sin(sun) + v * math.cos(sun)
    term = phase * np.sqrt(np.clip(1 - sv * sv, 0, 1))
    lit = np.clip((su - term) * r / 2 + 0.5, 0, 1)
    limb = 0.75 + 0.25 * np.sqrt(np.clip(1 - rho * rho, 0, 1))
    bright = albedo * lit * limb * rng.uniform(0.8, 1.3)
    colour = np.array([0.95, 0.95, 0.9])
    if lunar_eclipse:
        bright = albedo * limb * (0.25 + 0.2 * np.clip(su, -1, 1))
        colour = np.array([0.9, 0.35, 0.15])
    patch = img[y0:y1, x0:x1]
    if lunar_eclipse:  # the whole disk is seen, dim and red
        patch[:] = patch * (1 - inside[..., None]) + (bright * inside)[..., None] * colour
    else:  # the unlit part shows the sky (and the sky's own glow) through
        patch += (bright * inside)[..., None] * colour


def _planet(rng: np.random.Generator, img: np.ndarray) -> None:
    h, w = img.shape[:2]
    r = min(h, w) * rng.uniform(0.01, 0.06)
    cx, cy = rng.uniform(0.2, 0.8) * w, rng.uniform(0.2, 0.7) * h
    tilt = rng.uniform(-0.6, 0.6)
    x0, x1 = max(0, int(cx - 3 * r)), min(w, int(cx + 3 * r))
    y0, y1 = max(0, int(cy - 3 * r)), min(h, int(cy + 3 * r))
    y, x = np.mgrid[y0:y1, x0:x1]
    u, v = (x - cx) / r, (y - cy) / r
    pu, pv = u * math.cos(tilt) + v * math.sin(tilt), -u * math.sin(tilt) + v * math.cos(tilt)
    rho = np.sqrt(u * u + v * v)
    inside = np.clip((1 - rho) * r + 0.5, 0, 1)
    bands = 0.75 + 0.25 * np.sin(pv * rng.uniform(6, 14) + rng.uniform(0, 6))
    colour = np.array([rng.uniform(0.8, 1.0), rng.uniform(0.6, 0.85), rng.uniform(0.4, 0.7)])
    patch = img[y0:y1, x0:x1]
    patch[:] = patch * (1 - inside[..., None]) + (bands * inside)[..., None] * colour
    if rng.random() < 0.4:  # rings
        ring = np.abs(np.sqrt(pu**2 + (pv * 3.5) ** 2) - 1.9) < 0.35
        patch[ring & (rho > 0.95)] += 0.5 * colour
    else:  # moons in a line
        for _ in range(rng.integers(1, 5)):
            d = rng.uniform(2, 12) * r * rng.choice([-1, 1])
            mx, my = int(cx + d * math.cos(tilt)), int(cy + d * math.sin(tilt))
            if 0 <= mx < w - 3 and 0 <= my < h - 3:
                img[my : my + 3, mx : mx + 3] = 0.8


def _eclipse(rng: np.random.Generator, img: np.ndarray, face: np.ndarray) -> None:
    h, w = img.shape[:2]
    kind = rng.integers(0, 3)
    if kind == 2:
        _moon(rng, img, face, lunar_eclipse=True)
        return
    r = min(h, w) * rng.uniform(0.04, 0.15)
    cx, cy = rng.uniform(0.25, 0.75) * w, rng.uniform(0.25, 0.65) * h
    y, x = np.mgrid[0:h, 0:w]
    dx, dy = x - cx, y - cy
    rho = np.sqrt(dx * dx + dy * dy) / r
    if kind == 0:  # total: black Moon, corona with streamers
        theta = np.arctan2(dy, dx)
        streamers = 1 + 0.6 * np.sin(theta * rng.integers(2, 7) + rng.uniform(0, 6)) ** 2
        corona = np.where(rho > 1, np.clip(rho, 1, None) ** -rng.uniform(2.5, 4.5) * streamers, 0)
        img += (corona * rng.uniform(0.6, 1.0))[..., None] * np.array([0.95, 0.95, 1.0])
        img[rho <= 1] = 0.01
    else:  # partial: bright Sun with a bite taken out
        ox, oy = rng.uniform(-1.2, 1.2) * r, rng.uniform(-1.2, 1.2) * r
        bite = np.sqrt((dx - ox) ** 2 + (dy - oy) ** 2) / r < 1
        sun = (rho < 1) & ~bite
        img[sun] = np.array([1.0, 0.85, 0.5])


def sky_frame(seed: int, kind: str, shared_face: np.ndarray, size: tuple[int, int]) -> Image.Image:
    """One synthetic night-sky photo of `kind` (see KINDS), 8-bit sRGB, with sensor noise."""
    rng = np.random.default_rng(seed)
    w, h = size
    img = _background(rng, h, w)
    if kind in ("moon", "moon-face"):
        face = shared_face if kind == "moon-face" else _lunar_face(seed + 10_000, 256)
        if rng.random() < 0.3:
            _stars(rng, img, int(rng.integers(5, 60)))
        _moon(rng, img, face)
    elif kind == "stars":
        _stars(rng, img, int(rng.integers(150, 2500)))
        if rng.random() < 0.5:
            _milky_way(rng, img)
    elif kind == "planet":
        _stars(rng, img, int(rng.integers(0, 40)))
        _planet(rng, img)
    else:
        _eclipse(rng, img, shared_face)
    if rng.random() < 0.35:
        _horizon(rng, img)
    img += rng.normal(0, rng.uniform(0.002, 0.012), img.shape)  # sensor noise
    srgb = np.clip(img, 0, 1) ** (1 / 2.2)
    return Image.fromarray((srgb * 255 + 0.5).astype(np.uint8), "RGB")


# --- copies --------------------------------------------------------------------------------------------------


def encode(im: Image.Image, fmt: str, quality: int = 92) -> bytes:
    buf = io.BytesIO()
    if fmt == "JPEG":
        im.save(buf, "JPEG", quality=quality)
    else:
        im.save(buf, "PNG", compress_level=1)
    return buf.getvalue()


def make_copy(rng: np.random.Generator, original: Image.Image, original_format: str, how: str) -> bytes:
    """The copy a second student might send: see COPIES."""
    im = original
    w, h = im.size
    if how == "resized":
        scale = rng.uniform(0.4, 0.85)
        return encode(im.resize((int(w * scale), int(h * scale)), Image.Resampling.LANCZOS), "JPEG",
                      int(rng.integers(60, 92)))
    if how == "recompressed":
        return encode(im, "JPEG", int(rng.integers(45, 75)))
    if how == "png":
        return encode(im, "PNG")
    if how == "jpeg-from-png":
        return encode(im, "JPEG", int(rng.integers(70, 95)))
    if how == "crop":  # 2-4 % of each dimension, split between the two sides at random
        cut_x, cut_y = rng.uniform(0.02, 0.04) * w, rng.uniform(0.02, 0.04) * h
        left, top = rng.uniform(0, 1) * cut_x, rng.uniform(0, 1) * cut_y
        box = (int(left), int(top), int(w - (cut_x - left)), int(h - (cut_y - top)))
    else:  # crop-one-side: 4 % off one edge
        side = rng.integers(0, 4)
        box = [0, 0, w, h]
        box[side] = int(0.04 * (w if side % 2 == 0 else h)) if side < 2 else box[side] - int(
            0.04 * (w if side % 2 == 0 else h))
        box = tuple(box)
    cropped = im.crop(box)
    scale = rng.uniform(0.6, 1.0)
    cropped = cropped.resize((int(cropped.width * scale), int(cropped.height * scale)), Image.Resampling.LANCZOS)
    return encode(cropped, "JPEG", int(rng.integers(70, 92)))


# --- measurement ---------------------------------------------------------------------------------------------


@dataclass
class Photo:
    name: str
    kind: str
    group: int  # frames of one group are the same picture (a frame and its copy)
    copy: str | None
    info: object
    thumb: Path | None


def probe(data: bytes, name: str, thumbs: Path) -> tuple[object, Path | None]:
    p = probe_bytes(data, Path(name), name, 10**9)
    thumb = write_thumbnail(p, thumbs)
    return p.info, (thumbs / thumb) if thumb else None


def build(n: int, seed: int, thumbs: Path) -> list[Photo]:
    rng = np.random.default_rng(seed)
    shared_face = _lunar_face(seed, 512)
    photos: list[Photo] = []
    sizes = [(1600, 1200), (1200, 1600), (1800, 1200), (1500, 1500)]
    for i in range(n):
        kind = KINDS[i % len(KINDS)]
        size = sizes[int(rng.integers(0, len(sizes)))]
        frame = sky_frame(seed * 100_000 + i, kind, shared_face, size)
        fmt = "PNG" if rng.random() < 0.15 else "JPEG"
        data = encode(frame, fmt, int(rng.integers(88, 97)))
        info, thumb = probe(data, f"f{i:04d}", thumbs)
        photos.append(Photo(f"f{i:04d}", kind, i, None, info, thumb))
        how = COPIES[i % len(COPIES)]
        if how == "png" and fmt == "PNG":
            how = "jpeg-from-png"
        elif how == "jpeg-from-png" and fmt == "JPEG":
            how = "png"
        decoded = Image.open(io.BytesIO(data)).convert("RGB")
        cinfo, cthumb = probe(make_copy(rng, decoded, fmt, how), f"c{i:04d}", thumbs)
        photos.append(Photo(f"c{i:04d}", kind, i, how, cinfo, cthumb))
    return photos


def field_case(folder: Path, thumbs: Path) -> list[Photo]:
    photos = []
    for path in sorted(folder.glob("*.jpg")):
        info, thumb = probe(path.read_bytes(), path.name, thumbs)
        group = int(path.stem.split("_")[1])
        photos.append(Photo(path.stem, "moon-case", group, "copy" if path.stem.startswith("copy") else None, info,
                            thumb))
    return photos


def run_rule(photos: list[Photo]) -> tuple[set[tuple[int, int]], set[tuple[int, int]], list[float]]:
    """Pairs the rule reports (indexes into photos), hash candidates seen, CPU ms per content check."""
    items = [
        ContestItem(Entry(key=p.name, file=p.name, entry_id=p.name), p.info, p.thumb)  # type: ignore[arg-type]
        for p in photos
    ]
    settings = defaults()
    limit = int(settings.analysis["duplicate_max_distance"])
    ph = np.array([int(p.info.phash, 16) for p in photos], dtype=np.uint64)  # type: ignore[attr-defined]
    dh = np.array([int(p.info.dhash, 16) for p in photos], dtype=np.uint64)  # type: ignore[attr-defined]
    candidates = {(i, j) for i, j, _, _ in close_pairs(ph, dh, limit)}
    timings: list[float] = []
    found = find_duplicates(items, settings, timings=timings)
    pairs = {(min(i, m.other), max(i, m.other)) for i, ms in found.items() for m in ms}
    return pairs, candidates, timings


def all_pairs_content(photos: list[Photo]) -> tuple[int, int]:
    """The content check alone on every pair of different frames of one kind: (pairs, judged the same)."""
    greys = [load_grey(p.thumb) if p.thumb else None for p in photos]
    originals = [i for i, p in enumerate(photos) if p.copy is None]
    by_kind: dict[str, list[int]] = defaultdict(list)
    for i in originals:
        by_kind[photos[i].kind].append(i)
    pairs = same = 0
    for members in by_kind.values():
        for a_pos, a in enumerate(members):
            for b in members[a_pos + 1 :]:
                ga, gb = greys[a], greys[b]
                if ga is None or gb is None:
                    continue
                pairs += 1
                same += compare_images(ga, gb).same
    return pairs, same


def report(photos: list[Photo], label: str, all_pairs: bool) -> dict[str, object]:
    started = time.process_time()
    pairs, candidates, timings = run_rule(photos)
    seconds = time.process_time() - started
    n = len(photos)
    same_group = {(i, j) for i in range(n) for j in range(i + 1, n) if photos[i].group == photos[j].group}
    different = n * (n - 1) // 2 - len(same_group)
    false = sorted(pairs - same_group)
    copy_candidates = len(candidates & same_group)
    true = pairs & same_group
    per_copy: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for i, j in same_group:
        how = photos[i].copy or photos[j].copy or "?"
        per_copy[how][1] += 1
        per_copy[how][0] += (i, j) in true
    full = [t for t in timings if t > 1.0]  # pairs that passed the first look and were aligned
    out: dict[str, object] = {
        "label": label,
        "photos": n,
        "different_pairs": different,
        "hash_candidates_different": len(candidates) - copy_candidates,
        "hash_candidates_copies": copy_candidates,
        "content_checks": len(timings),
        "false_matches": len(false),
        "copy_pairs": len(same_group),
        "copies_found": len(true),
        "per_copy": {k: f"{v[0]}/{v[1]}" for k, v in sorted(per_copy.items())},
        "ms_per_check_mean": round(statistics.fmean(timings), 2) if timings else None,
        "ms_per_check_median": round(statistics.median(timings), 2) if timings else None,
        "ms_per_full_check_median": round(statistics.median(full), 2) if full else None,
        "ms_per_check_p95": round(sorted(timings)[int(0.95 * (len(timings) - 1))], 2) if timings else None,
        "rule_cpu_s": round(seconds, 2),
    }
    print(f"\n== {label}: {n} photos")
    print(f"different-frame pairs: {different}, of them hash candidates (<= limit): {len(candidates) - copy_candidates}"
          f"; copies that are hash candidates: {copy_candidates} of {len(same_group)}; content checks: {len(timings)}")
    named = [(photos[i].name, photos[j].name) for i, j in false[:10]]
    print(f"false matches: {len(false)} of {different} pairs" + (f"  {named}" if false else ""))
    per_copy_text = ", ".join(f"{k} {v[0]}/{v[1]}" for k, v in sorted(per_copy.items()))
    print(f"copies found: {len(true)} of {len(same_group)}  {per_copy_text}")
    missed = sorted(same_group - true)
    if missed:
        print("  missed:", [(photos[i].name, photos[j].name, photos[j].copy) for i, j in missed[:12]])
    if timings:
        print(f"content check: mean {out['ms_per_check_mean']} ms, median {out['ms_per_check_median']} ms, p95 "
              f"{out['ms_per_check_p95']} ms CPU per pair; {len(full)} aligned (median "
              f"{out['ms_per_full_check_median']} ms), the others turned away at the first look; "
              f"whole rule {seconds:.2f} s CPU")
    if all_pairs:
        started = time.process_time()
        total, same = all_pairs_content(photos)
        out["all_pairs_checked"] = total
        out["all_pairs_same"] = same
        print(f"content check alone on every same-kind pair of different frames: {same} of {total} judged the same "
              f"({time.process_time() - started:.1f} s CPU)")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--frames", type=int, default=300)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--cases", type=Path, default=None, help="folder holding moon-photos/ (the field cases)")
    parser.add_argument("--all-pairs", action="store_true")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    cv2.setNumThreads(1)
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        thumbs = Path(tmp) / "thumbs"
        started = time.perf_counter()
        photos = build(args.frames, args.seed, thumbs)
        print(f"generated and probed {len(photos)} files in {time.perf_counter() - started:.0f} s; kinds "
              + ", ".join(f"{k} {v}" for k, v in sorted(Counter(p.kind for p in photos if not p.copy).items())))
        results.append(report(photos, f"synthetic sky, seed {args.seed}", args.all_pairs))
        if args.cases and (args.cases / "moon-photos").is_dir():
            results.append(report(field_case(args.cases / "moon-photos", thumbs), "moon-photos", args.all_pairs))
    if args.json:
        print(json.dumps(results))


if __name__ == "__main__":
    main()
