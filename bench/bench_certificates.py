#!/usr/bin/env python3
"""Benchmark `certificates participation` on 1,000 entrants with photos, beside the same design drawn with ReportLab.

Why (issue 8): 1,000 participation certificates with thumbnails must print in under 60 s on 2 cores, at no less
than a third of ReportLab's certificates per second on the same design, and every PDF under 300 KB.

    .venv/bin/python bench/bench_certificates.py               # from the repo root: 1,000 certificates
    .venv/bin/python bench/bench_certificates.py --n 100       # a quick run
    .venv/bin/python bench/bench_certificates.py --json        # also one JSON object, the last line of stdout

What runs, in one process (bench/README.md says more):
  (a) milsetctl: `issue_certificates(ws, "participation")`, the library call `milsetctl certificates
      participation` makes, on a fresh workspace (no certificate printed yet, no thumbnail cached) whose ledger
      holds N eligible entries with camera-size photos (3000x2000 JPEGs) and names in Chinese (𠮷 and 䶮 among
      them), accented Latin, Cyrillic and Arabic; every core. Then the same call again: nothing left to print.
  (b) ReportLab: the same design (contest name and year, award, name, school, thumbnail, photo title, date,
      signature block, code and QR code) drawn with ReportLab's canvas, the same outputs (one PDF per recipient
      and one combined file from chunk documents) from the same photos (thumbnails made afresh with the same
      function into their own cold cache), the same number of processes and the same chunks.
The photo set is generated once (seeded, in parallel) under bench/out/certificates/ (git-ignored). Not a test: it
prints numbers and PASS/FAIL against each target.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import random
import resource
import shutil
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from milsetctl.certificates import (  # noqa: E402
    CHUNK,
    Certificate,
    format_code,
    issue_certificates,
    make_code,
    recipients,
    safe_file_name,
    thumbnail,
    workspace_secret,
)
from milsetctl.workspace import init_workspace  # noqa: E402

OUT = REPO / "bench" / "out" / "certificates"
PHOTO_SIZE = (3000, 2000)
GENERATOR = "g1"  # bump when the photo generator changes: the cached set is rebuilt
TARGET_SECONDS_PER_1000 = 60.0
TARGET_RATIO = 1 / 3
TARGET_KB = 300

# --- names, schools and titles in every script the contest sees
CHINESE_FAMILY = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕苏卢蒋蔡贾丁魏薛叶阎"
CHINESE_GIVEN = ["伟", "芳", "娜", "秀英", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明",
                 "超", "秀兰", "霞", "平", "刚", "䶮", "子涵", "浩然", "欣怡", "梓萱", "宇轩", "思远", "嘉怡", "俊熙"]
CHINESE_SCHOOLS = ["北京市第四中学", "广州市第六中学", "华中师范大学第一附属中学", "杭州第二中学", "成都七中",
                   "上海中学", "南京外国语学校", "深圳中学"]
JAPANESE = [("𠮷田 花子", "東京大学教育学部附属中等教育学校"), ("𠮷野 太郎", "京都市立堀川高等学校")]
LATIN_FIRST = ["José", "María", "Zoë", "Søren", "Łukasz", "Ágnes", "François", "Björn", "Çağla", "Iñaki", "Anaïs",
               "Dvořák", "Mãe", "Jürgen", "Ólöf", "Thảo"]
LATIN_LAST = ["García Fernández", "Müller", "Kovačević", "Łęcki", "Ólafsdóttir", "Nguyễn", "Żółkiewska", "Šimůnek",
              "Ibáñez de la Peña", "Grønlund", "Çelik", "Dumont-Lefèvre"]
LATIN_SCHOOLS = ["Colegio San José de Calasanz", "Lycée Louis-le-Grand", "Gymnázium Jana Nerudy",
                 "Menntaskólinn í Reykjavík", "Liceo Científico «Galileo Galilei»", "Trường THPT Chu Văn An"]
CYRILLIC_NAMES = ["Ольга Иванова", "Дмитрий Смирнов", "Анастасия Кузнецова", "Сергей Попов", "Екатерина Васильева",
                  "Алексей Соколов", "Юлия Михайлова", "Богдан Шевченко"]
CYRILLIC_SCHOOLS = ["Новосибирский лицей № 130", "Физико-математический лицей № 239", "Гимназия № 1567"]
ARABIC_NAMES = ["محمد بن عبد الله", "فاطمة الزهراء", "أحمد السيد", "عبد الرحمن بن عبد العزيز آل سعود",
                "مريم خالد", "يوسف إبراهيم المنصوري"]
ARABIC_SCHOOLS = ["مدرسة الملك عبد العزيز الثانوية", "ثانوية الأمل النموذجية"]
TITLES = ["Night sky over the hills", "Morning light", "The quiet hour before the storm", "Bees at work",
          "Ice crystals on a window", "Refraction in a glass of water", "The old harbour at dawn", "Fractal fern",
          "Lightning over the city", "Soap bubble colours", "夜空中最亮的星", "水滴的折射", "Полярное сияние",
          "Circuit board macro", "Shadows of a sundial", "Magnetic sand"]


def person(i: int) -> tuple[str, str, str]:
    """(name, school, title) of entrant i: half Chinese, then Latin, Cyrillic, Arabic; a few Japanese with 𠮷."""
    rng = random.Random(i)
    kind = i % 10
    if i % 97 == 5:
        name, school = JAPANESE[i % 2]
    elif kind < 5:
        name, school = rng.choice(CHINESE_FAMILY) + rng.choice(CHINESE_GIVEN), rng.choice(CHINESE_SCHOOLS)
    elif kind < 7:
        name, school = f"{rng.choice(LATIN_FIRST)} {rng.choice(LATIN_LAST)}", rng.choice(LATIN_SCHOOLS)
    elif kind < 9:
        name, school = rng.choice(CYRILLIC_NAMES), rng.choice(CYRILLIC_SCHOOLS)
    else:
        name, school = rng.choice(ARABIC_NAMES), rng.choice(ARABIC_SCHOOLS)
    return name, school, f"{rng.choice(TITLES)} {i}"


# --- photos
def _make_photo(job: tuple[int, str]) -> str:
    """A camera-size JPEG with smooth structure and grain (compresses like a photo: ~1-1.5 MB at quality 90)."""
    from PIL import Image, ImageChops, ImageFilter

    i, path = job
    rng = random.Random(1000 + i)
    w, h = PHOTO_SIZE
    coarse = Image.frombytes("RGB", (24, 16), bytes(rng.randrange(256) for _ in range(24 * 16 * 3)))
    base = coarse.resize((w, h), Image.Resampling.BICUBIC)
    grain = Image.effect_noise((256, 256), 18).filter(ImageFilter.GaussianBlur(0.6)).convert("RGB")
    tiled = Image.new("RGB", (w, h))
    for x in range(0, w, 256):
        for y in range(0, h, 256):
            tiled.paste(grain, (x, y))
    photo = ImageChops.add(base, tiled, 1.0, -128)
    exif = Image.Exif()
    exif[0x010F], exif[0x0110], exif[0x0112] = "Canon", "Canon EOS 90D", 1
    tmp = f"{path}.{os.getpid()}.tmp"
    photo.save(tmp, "JPEG", quality=90, exif=exif.tobytes())
    os.replace(tmp, path)
    return path


def photo_set(n: int, workers: int) -> Path:
    """bench/out/certificates/photos-3000x2000-g1/ with at least n photos (made once, in parallel)."""
    folder = OUT / f"photos-{PHOTO_SIZE[0]}x{PHOTO_SIZE[1]}-{GENERATOR}"
    folder.mkdir(parents=True, exist_ok=True)
    todo = [(i, str(folder / f"{i:05d}.jpg")) for i in range(n) if not (folder / f"{i:05d}.jpg").is_file()]
    if todo:
        t = time.perf_counter()
        print(f"making {len(todo)} photos of {PHOTO_SIZE[0]}x{PHOTO_SIZE[1]} in {folder} ...", file=sys.stderr)
        with ProcessPoolExecutor(max_workers=workers) as pool:
            list(pool.map(_make_photo, todo, chunksize=8))
        print(f"  done in {time.perf_counter() - t:.0f} s", file=sys.stderr)
    return folder


def build_workspace(root: Path, n: int, photos: Path) -> Any:
    """A workspace whose ledger holds n eligible entries (what `validate` leaves), photos in SOURCE."""
    source = root / "submissions"
    (source / "photos").mkdir(parents=True)
    rows = []
    for i in range(n):
        name, school, title = person(i)
        rel = f"photos/{i:05d}.jpg"
        os.link(photos / f"{i:05d}.jpg", source / rel)
        sha = hashlib.sha256((source / rel).read_bytes()).hexdigest()
        rows.append({
            "entry_id": f"E{i + 1:04d}", "key": rel, "contestant_id": f"XX2022-{i:04d}", "name": name,
            "school": school, "grade": "9", "province": "Beijing", "country": "China", "email": f"p{i}@example.org",
            "file": rel, "title": title, "description": "A photo.", "submitted_at": "2022-07-05T09:30:00+08:00",
            "origin": f"entries.csv row {i + 2}", "listed": 1, "extra": "{}", "sha256": sha,
            "category": "middle", "status": "eligible",
        })
    ws = init_workspace(root / "ws", source)
    ws.ledger.save_results(rows, {})
    return ws


def cpu_times() -> tuple[float, float]:
    """(this process's CPU seconds, its waited-for children's CPU seconds), user + system."""
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime, kids.ru_utime + kids.ru_stime


def cpu_result(start: tuple[float, float], wall: float, n: int, workers: int) -> dict[str, Any]:
    """CPU seconds of the run (parent and pool workers) and what they imply on an idle machine: the parent's part
    (mostly serial) plus the workers' part shared by `workers` cores. The busier the machine, the more the wall
    time exceeds it; the CPU time barely moves."""
    parent, children = (b - a for a, b in zip(start, cpu_times(), strict=True))
    idle = parent + children / workers
    return {"cpu_parent_s": parent, "cpu_workers_s": children, "cpu_ms_per_certificate": (parent + children) / n * 1000,
            "idle_estimate_s": idle, "idle_estimate_per_second": n / idle}


def load_average() -> str:
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "n/a"


def pdf_sizes(files: list[Path]) -> tuple[float, float]:
    sizes = [f.stat().st_size / 1024 for f in files]
    return sum(sizes) / len(sizes), max(sizes)


# --- the ReportLab yardstick
RL_FONTS = {  # ReportLab name -> (system family, fontconfig style): the faces the HTML template uses
    "DejaVuSerif": ("DejaVu Serif", ""), "DejaVuSerif-Bold": ("DejaVu Serif", "bold"),
    "DejaVuSerif-Italic": ("DejaVu Serif", "italic"), "DejaVuSans": ("DejaVu Sans", ""),
    "DejaVuSans-Bold": ("DejaVu Sans", "bold"), "DejaVuSansMono": ("DejaVu Sans Mono", ""),
}
RL_CJK = {"CJKSerif-Bold": ("Noto Serif CJK SC", "bold"), "CJKSerif": ("Noto Serif CJK SC", "regular"),
          "CJKSans": ("Noto Sans CJK SC", "regular")}


def reportlab_cjk_fonts(chars: set[str]) -> dict[str, str]:
    """ReportLab reads TrueType outlines only, and the Noto CJK files (Debian fonts-noto-cjk) hold CFF outlines.
    So, outside the timed part: each Noto CJK face cut to the batch's characters (the same HarfBuzz cut milsetctl
    makes) and its outlines converted to TrueType quadratics with fontTools (cu2qu). Cached in bench/out/."""
    from fontTools.pens.cu2quPen import Cu2QuPen
    from fontTools.pens.ttGlyphPen import TTGlyphPen
    from fontTools.ttLib import TTFont, newTable

    from milsetctl.certificates.fonts import _font_file
    from milsetctl.certificates.subset import subset_font

    key = hashlib.sha256("".join(sorted(chars)).encode()).hexdigest()[:12]
    out: dict[str, str] = {}
    for name, (family, style) in RL_CJK.items():
        target = OUT / "fonts" / f"{name}-{key}.ttf"
        out[name] = str(target)
        if target.is_file():
            continue
        found = _font_file(family, style)
        data = subset_font(str(found[0]), found[1], chars) if found else None
        if data is None:
            raise SystemExit(f"cannot cut {family} {style} for ReportLab (fonts-noto-cjk, libharfbuzz-subset0)")
        import io

        font = TTFont(io.BytesIO(data))
        glyph_set = font.getGlyphSet()
        glyf = newTable("glyf")
        glyf.glyphOrder = font.getGlyphOrder()
        glyf.glyphs = {}
        for gname in glyf.glyphOrder:
            pen = TTGlyphPen(glyph_set)
            glyph_set[gname].draw(Cu2QuPen(pen, max_err=1.0, reverse_direction=True))
            glyf.glyphs[gname] = pen.glyph()
        font["glyf"] = glyf
        font["loca"] = newTable("loca")
        del font["CFF "]
        if "VORG" in font:
            del font["VORG"]
        font["maxp"] = newTable("maxp")
        maxp = font["maxp"]
        maxp.tableVersion = 0x00010000
        for attr in ("maxZones", "maxTwilightPoints", "maxStorage", "maxFunctionDefs", "maxInstructionDefs",
                     "maxStackElements", "maxSizeOfInstructions", "maxComponentElements"):
            setattr(maxp, attr, 0)
        maxp.maxZones = 1
        font["head"].glyphDataFormat = 0
        font["post"].formatType = 2.0
        font["post"].extraNames = []
        font["post"].mapping = {}
        font["post"].glyphOrder = None
        font.sfntVersion = "\x00\x01\x00\x00"
        target.parent.mkdir(parents=True, exist_ok=True)
        font.save(str(target))
    return out


_RL_STATE: dict[str, Any] = {}


def _rl_setup(cjk: dict[str, str]) -> dict[str, Any]:
    """Register the fonts once per process; the cmaps give the per-character fallback (ReportLab has none)."""
    if _RL_STATE:
        return _RL_STATE
    from fontTools.ttLib import TTFont as FtFont
    from reportlab import rl_config
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    from milsetctl.certificates.fonts import _font_file

    rl_config.useA85 = 0  # binary streams: ~3x faster than ASCII85 (NOTES-dependencies.md)
    cmaps: dict[str, frozenset[int]] = {}
    for name, (family, style) in RL_FONTS.items():
        found = _font_file(family, style)
        assert found is not None, family
        pdfmetrics.registerFont(TTFont(name, str(found[0])))
        cmaps[name] = frozenset(FtFont(str(found[0]), lazy=True).getBestCmap())
    for name, path in cjk.items():
        pdfmetrics.registerFont(TTFont(name, path))
        cmaps[name] = frozenset(FtFont(path, lazy=True).getBestCmap())
    _RL_STATE.update(cmaps=cmaps, metrics=pdfmetrics)
    return _RL_STATE


def _runs(text: str, stack: tuple[str, ...]) -> list[tuple[str, str]]:
    """The text split into runs, each in the first font of `stack` that has its characters (what a browser's
    font fallback does, done by hand)."""
    cmaps = _RL_STATE["cmaps"]
    out: list[tuple[str, str]] = []
    for ch in text:
        font = next((f for f in stack if ord(ch) in cmaps[f]), stack[-1])
        if out and out[-1][0] == font:
            out[-1] = (font, out[-1][1] + ch)
        else:
            out.append((font, ch))
    return out


def _draw_line(c: Any, text: str, stack: tuple[str, ...], size: float, x: float, y: float, align: str = "centre",
               char_space: float = 0.0) -> float:
    width_of = _RL_STATE["metrics"].stringWidth
    runs = _runs(text, stack)
    width = sum(width_of(t, f, size) for f, t in runs) + char_space * max(0, len(text) - 1)
    start = x - width / 2 if align == "centre" else x
    obj = c.beginText(start, y)
    obj.setCharSpace(char_space)
    for font, part in runs:
        obj.setFont(font, size)
        obj.textOut(part)
    c.drawText(obj)
    return width


def _wrap(text: str, stack: tuple[str, ...], size: float, width: float) -> list[str]:
    width_of = _RL_STATE["metrics"].stringWidth
    lines, line = [], ""
    for word in text.split(" "):
        trial = f"{line} {word}".strip()
        if line and sum(width_of(t, f, size) for f, t in _runs(trial, stack)) > width:
            lines.append(line)
            line = word
        else:
            line = trial
    return [*lines, line] if line else lines


def draw_reportlab(c: Any, cert: Certificate, code: str, thumb: Path | None, day: str) -> None:
    """One page of the certificate's design on a ReportLab canvas (A4 landscape, the HTML template's geometry)."""
    import segno
    from reportlab.lib.units import mm

    navy, gold, grey = (0.11, 0.17, 0.29), (0.69, 0.55, 0.24), (0.42, 0.45, 0.52)
    w, h = 297 * mm, 210 * mm
    c.setStrokeColorRGB(*navy)
    c.setLineWidth(2.2 * mm)
    c.rect(10.1 * mm, 10.1 * mm, w - 20.2 * mm, h - 20.2 * mm)
    c.setStrokeColorRGB(*gold)
    c.setLineWidth(0.5 * mm)
    c.rect(12.95 * mm, 12.95 * mm, w - 25.9 * mm, h - 25.9 * mm)
    serif, sans = ("DejaVuSerif", "CJKSerif", "DejaVuSans"), ("CJKSans", "DejaVuSans")
    cx, y = w / 2, h - 31 * mm
    c.setFillColorRGB(*gold)
    _draw_line(c, cert.contest.upper(), serif, 13, cx, y, char_space=13 * 0.18)
    c.setFillColorRGB(*navy)
    if cert.year not in cert.contest:
        y -= 6 * mm
        _draw_line(c, cert.year, serif, 11, cx, y, char_space=11 * 0.3)
    y -= 18 * mm
    _draw_line(c, cert.award, ("DejaVuSerif-Bold", "CJKSerif-Bold"), 30, cx, y)
    y -= 9 * mm
    _draw_line(c, "is hereby presented to", ("DejaVuSerif-Italic",), 12, cx, y)
    y -= 15 * mm
    size = 32 if len(cert.name) <= 28 else 25 if len(cert.name) <= 38 else 20
    width = _draw_line(c, cert.name, ("CJKSerif-Bold", "DejaVuSerif-Bold", "DejaVuSans-Bold"), size, cx, y)
    c.setStrokeColorRGB(*gold)
    c.setLineWidth(0.4 * mm)
    c.line(cx - width / 2 - 10 * mm, y - 3 * mm, cx + width / 2 + 10 * mm, y - 3 * mm)
    y -= 11 * mm
    if cert.school:
        _draw_line(c, cert.school, sans, 14, cx, y)
    top = y - 8 * mm
    box_w, box_h = 78 * mm, 52 * mm
    lines = _wrap(f"“{cert.title}”", ("DejaVuSerif-Italic", "CJKSerif", "DejaVuSans"), 14, 125 * mm)
    text_w = max((_RL_STATE["metrics"].stringWidth(ln, "DejaVuSerif-Italic", 14) for ln in lines), default=0)
    left = cx - (box_w + 8 * mm + text_w) / 2
    if thumb is not None:
        c.drawImage(str(thumb), left, top - box_h, box_w, box_h, preserveAspectRatio=True)
    tx, ty = left + box_w + 8 * mm, top - box_h / 2 + 6 * mm
    c.setFillColorRGB(*grey)
    _draw_line(c, "FOR THE PHOTOGRAPH", ("DejaVuSerif",), 9, tx, ty, align="left", char_space=9 * 0.15)
    c.setFillColorRGB(*navy)
    for line in lines:
        ty -= 6.5 * mm
        _draw_line(c, line, ("DejaVuSerif-Italic", "CJKSerif", "DejaVuSans"), 14, tx, ty, align="left")
    # the foot: signature lines, QR code and the code
    c.setStrokeColorRGB(*navy)
    c.setLineWidth(0.3 * mm)
    for x0, label in ((27 * mm, "Chair of the Jury"), (w - 27 * mm - 62 * mm, "MILSET Secretariat")):
        c.line(x0, 27 * mm, x0 + 62 * mm, 27 * mm)
        _draw_line(c, label, ("DejaVuSerif",), 9.5, x0 + 31 * mm, 22 * mm)
    shown = format_code(code)
    qr = segno.make(f"MILSET-CERT:{shown}", error="m")
    module = 22 * mm / qr.symbol_size(border=0)[0]
    qx, qy = cx - 42 * mm, 20 * mm
    path = c.beginPath()
    for row, bits in enumerate(qr.matrix):
        for col, bit in enumerate(bits):
            if bit:
                path.rect(qx + col * module, qy + 22 * mm - (row + 1) * module, module, module)
    c.drawPath(path, stroke=0, fill=1)
    c.setFillColorRGB(*grey)
    _draw_line(c, f"Issued {day}", ("DejaVuSerif",), 7.5, qx + 26 * mm, qy + 17 * mm, align="left")
    _draw_line(c, "Verification code", ("DejaVuSerif",), 7.5, qx + 26 * mm, qy + 13 * mm, align="left")
    c.setFillColorRGB(*navy)
    _draw_line(c, shown, ("DejaVuSansMono",), 10, qx + 26 * mm, qy + 8 * mm, align="left")
    c.setFillColorRGB(*grey)
    _draw_line(c, f"milsetctl verify {shown}", ("DejaVuSerif",), 7.5, qx + 26 * mm, qy + 4 * mm, align="left")


def _reportlab_chunk(job: tuple[list[tuple[Certificate, str, str, str]], str, dict[str, str], str]) -> list[str]:
    """Worker: the same outputs as milsetctl's chunk: each recipient's PDF, then the chunk as one document."""
    from reportlab.lib.pagesizes import A4, landscape
    from reportlab.pdfgen import canvas

    items, thumbs, cjk, part = job
    _rl_setup(cjk)
    drawn = [(cert, code, day, path, thumbnail(Path(thumbs), cert)) for cert, code, day, path in items]
    for cert, code, day, path, thumb in drawn:
        c = canvas.Canvas(path, pagesize=landscape(A4), pageCompression=1)
        c.setTitle(f"{cert.award} · {cert.name}")
        draw_reportlab(c, cert, code, thumb, day)
        c.showPage()
        c.save()
    c = canvas.Canvas(part, pagesize=landscape(A4), pageCompression=1)
    for cert, code, day, _, thumb in drawn:
        draw_reportlab(c, cert, code, thumb, day)
        c.showPage()
    c.save()
    return [path for _, _, _, path in items]


def run_reportlab(ws: Any, folder: Path, workers: int) -> dict[str, Any]:
    from pypdf import PdfWriter

    people = recipients(ws, "participation")
    secret = workspace_secret(ws)
    chars: set[str] = set()
    for p in people:
        for text in (p.name, p.school, p.title, p.contest):
            chars.update(text, text.upper())
    chars.update("“” 0123456789")
    cjk = reportlab_cjk_fonts(chars)
    thumbs = folder / "thumbs"
    items = [(p, make_code(secret, p.content()), "2026-01-01", str(folder / safe_file_name(p.key, p.name)))
             for p in people]
    size = max(1, min(CHUNK, -(-len(items) // workers)))
    jobs = [(items[i:i + size], str(thumbs), cjk, str(folder / f"part-{i:05d}.pdf"))
            for i in range(0, len(items), size)]
    t, cpu = time.perf_counter(), cpu_times()
    with ProcessPoolExecutor(max_workers=workers) as pool:
        list(pool.map(_reportlab_chunk, jobs))
    writer = PdfWriter()
    for _, _, _, part in jobs:
        writer.append(part)
    combined = folder / "participation-all.pdf"
    with combined.open("wb") as fh:
        writer.write(fh)
    wall = time.perf_counter() - t
    mean_kb, max_kb = pdf_sizes([Path(p) for _, _, _, p in items])
    return {"seconds": wall, "per_second": len(items) / wall, "mean_kb": mean_kb, "max_kb": max_kb,
            "combined_mb": combined.stat().st_size / 1e6, **cpu_result(cpu, wall, len(items), workers)}


# --- the run
def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=1000, help="entrants (default 1000)")
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="processes (default: every core)")
    ap.add_argument("--skip-reportlab", action="store_true", help="leave out the ReportLab yardstick")
    ap.add_argument("--keep", action="store_true", help="keep the workspace and PDFs under bench/out/certificates/")
    ap.add_argument("--json", action="store_true", help="also print one JSON object as the last line of stdout")
    args = ap.parse_args()
    n, workers = args.n, args.workers
    load_start = load_average()
    photos = photo_set(n, workers)
    root = Path(tempfile.mkdtemp(prefix="run-", dir=OUT))
    result: dict[str, Any] = {"n": n, "workers": workers, "cpu_count": os.cpu_count(),
                              "machine": f"{platform.processor() or platform.machine()}, {platform.system()}",
                              "python": platform.python_version(), "load_start": load_start}
    try:
        ws = build_workspace(root, n, photos)
        t, cpu = time.perf_counter(), cpu_times()
        batch = issue_certificates(ws, "participation", workers=workers)
        wall = time.perf_counter() - t
        cpu_run = cpu_result(cpu, wall, n, workers)
        assert len(batch.issued) == n and not batch.refused, (len(batch.issued), batch.refused[:3])
        mean_kb, max_kb = pdf_sizes([i.file for i in batch.issued])
        t = time.perf_counter()
        again = issue_certificates(ws, "participation", workers=workers)
        rerun = time.perf_counter() - t
        assert all(i.skipped for i in again.issued)
        combined = batch.combined.stat().st_size if batch.combined else 0
        result["milsetctl"] = {"seconds": wall, "per_second": n / wall, "mean_kb": mean_kb, "max_kb": max_kb,
                               "combined_mb": combined / 1e6, "combined_kb_per_certificate": combined / 1024 / n,
                               "rerun_seconds": rerun, **cpu_run}
        if not args.skip_reportlab:
            rl_folder = root / "reportlab"
            rl_folder.mkdir()
            result["reportlab"] = run_reportlab(ws, rl_folder, workers)
        ws.close()
    finally:
        if args.keep:
            print(f"kept: {root}", file=sys.stderr)
        else:
            shutil.rmtree(root, ignore_errors=True)
    result["load_end"] = load_average()

    m = result["milsetctl"]
    print(f"certificates, {n} participation certificates with {PHOTO_SIZE[0]}x{PHOTO_SIZE[1]} photos, "
          f"{workers} processes on {os.cpu_count()} cores; load average at start {load_start}, "
          f"end {result['load_end']}")
    print(_line("milsetctl", m) + f"  combined {m['combined_mb']:.1f} MB ({m['combined_kb_per_certificate']:.0f} KB "
          f"per certificate)  re-run {m['rerun_seconds']:.2f} s")
    print(_cpu_line(m))
    idle_1000 = 1000 / m["idle_estimate_per_second"]
    checks = [(f"1,000 in under {TARGET_SECONDS_PER_1000:.0f} s (at this rate: {1000 / m['per_second']:.1f} s)",
               1000 / m["per_second"] < TARGET_SECONDS_PER_1000),
              (f"the same on idle cores, from the CPU time ({idle_1000:.1f} s)", idle_1000 < TARGET_SECONDS_PER_1000)]
    if "reportlab" in result:
        r = result["reportlab"]
        ratio = result["ratio"] = m["per_second"] / r["per_second"]
        cpu_ratio = result["cpu_ratio"] = m["idle_estimate_per_second"] / r["idle_estimate_per_second"]
        print(_line("reportlab", r) + f"  combined {r['combined_mb']:.1f} MB")
        print(_cpu_line(r))
        print(f"  milsetctl / reportlab: {ratio:.2f} (wall clock), {cpu_ratio:.2f} (from the CPU time)")
        checks.append((f"at least 1/3 of ReportLab's certificates per second ({ratio:.2f})", ratio >= TARGET_RATIO))
        checks.append((f"the same from the CPU time ({cpu_ratio:.2f})", cpu_ratio >= TARGET_RATIO))
    checks.append((f"every PDF under {TARGET_KB} KB (max {m['max_kb']:.0f} KB)", m["max_kb"] < TARGET_KB))
    for label, ok in checks:
        print(f"  {'PASS' if ok else 'FAIL'}  {label}")
    result["pass"] = all(ok for _, ok in checks)
    if args.json:
        print(json.dumps(result))
    return 0


def _line(label: str, r: dict[str, Any]) -> str:
    return (f"  {label:<10} {r['seconds']:7.1f} s  {r['per_second']:6.1f} certificates/s  PDF mean "
            f"{r['mean_kb']:.0f} KB max {r['max_kb']:.0f} KB")


def _cpu_line(r: dict[str, Any]) -> str:
    return (f"             CPU {r['cpu_ms_per_certificate']:.0f} ms per certificate (parent {r['cpu_parent_s']:.1f} s,"
            f" workers {r['cpu_workers_s']:.1f} s): on idle cores ~{r['idle_estimate_s']:.1f} s, "
            f"{r['idle_estimate_per_second']:.1f} certificates/s")


if __name__ == "__main__":
    sys.exit(main())
