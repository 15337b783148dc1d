#!/usr/bin/env python3
"""Build the sample contest: a submissions folder that exercises every rule in SPEC.md.

    python sample_data/make_sample.py                      # -> sample_data/submissions/
    python sample_data/make_sample.py --out /tmp/s --encoding gb18030 --chinese-headers

Why synthetic: real contestants' photos cannot be shipped, and a demo must run offline in seconds.
Every photo is drawn with NumPy (gradients, fractal noise, stars, a moon, hills) and saved by Pillow with
the EXIF a camera writes, so the validator sees what it would see in a real inbox. Fixed seeds make
every run byte-identical, so a validate cache stays warm across re-runs. Needs only Pillow and NumPy;
the astronaut poster (rule `face`) uses a crop of NASA's public-domain portrait of Eileen Collins
(sample_data/astronaut_face.jpg, the image scikit-image ships as data.astronaut()).
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import importlib.util
import io
import json
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageChops, ImageDraw, ImageFilter, ImageFont, PngImagePlugin
from PIL.TiffImagePlugin import IFDRational

HERE = Path(__file__).resolve().parent
DEFAULT_OUT = HERE / "submissions"
MARKER = ".milsetctl-sample"  # hidden, so the validator's folder scan skips it
GENERATOR_VERSION = "1"

COLUMNS = (
    "contestant_id", "name", "school", "grade", "province", "country", "email", "file", "title",
    "description", "submitted_at",
)
CHINESE_HEADERS = {
    "contestant_id": "编号", "name": "姓名", "school": "学校", "grade": "年级", "province": "省份",
    "country": "国家", "email": "邮箱", "file": "文件", "title": "标题", "description": "描述",
    "submitted_at": "提交时间",
}
ENCODINGS = ("utf-8-sig", "gb18030", "utf-16")

W, H = 2400, 1600  # passing photos: wider than the 2000 px minimum, ~12 MP-looking after JPEG


# --------------------------------------------------------------------------------------------------
# The entries: one manifest row each. `rule` is what the row is there to exercise; `expect` the status
# the validator should give it with the default settings (README.md lists them as a table).
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    contestant_id: str
    name: str
    school: str
    grade: str
    province: str
    country: str
    email: str
    file: str
    title: str
    description: str
    submitted_at: str
    finds: str = ""  # the rule IDs this row should get, space-separated
    why: str = ""  # what about the row makes it so (the README's table)
    expect: str = "eligible"  # its status with the default settings

    def cells(self) -> list[str]:
        return [getattr(self, c) for c in COLUMNS]


LONG_TITLE = "The Night I Finally Saw the Andromeda Galaxy From My Grandmother's Rooftop"
LONG_DESCRIPTION = (
    "I took this photo during the summer holiday at my uncle's farm, far away from the lights of the "
    "city. We waited for three nights because the first two were cloudy. On the third night the sky "
    "cleared after midnight and I could see the Milky Way with my own eyes for the first time. I used a "
    "tripod, a 20 second exposure and ISO 3200, and I focused manually on the brightest star I could find."
)

ROWS: tuple[Row, ...] = (
    Row("CN2022-001", "张伟", "北京市第四中学", "初二", "北京市", "China", "zhangwei@example.cn",
        "photos/张伟 月亮.jpg", "Full Moon over the Western Hills",
        "The full moon rising over the hills west of Beijing, shot from a hillside with a telephoto lens.",
        "2022/7/5 9:30", "duplicate-image", "the original; 梁宇's entry is a copy of it", "review"),
    Row("CN2022-002", "李娜", "上海中学", "Grade 10", "Shanghai", "China", "lina@example.cn",
        "photos/east/li_na_sunset.jpg", "Last Light over the Hills",
        "Sunset behind layered hills near Shanghai. The haze between the ridges shows how far each one is.",
        "2022-07-06 18:42", "", "", "eligible"),
    Row("CN2022-003", "王芳", "华中师范大学第一附属中学", "高一", "湖北省", "China", "wangfang@example.cn",
        "photos/central/王芳_银河.jpg", "The Milky Way Core",
        "The centre of our galaxy above the mountains of western Hubei, a 20 second exposure at ISO 3200.",
        "2022-07-08T21:15:00", "", "", "eligible"),
    Row("CN2022-004", "刘䶮", "广州市第六中学", "9", "广东省", "中国", "liuyan@example.cn",
        "photos/south/刘䶮-日食.jpg", "Diamond Ring",
        "A total solar eclipse: the corona around the dark disc of the Moon, photographed through a filter.",
        "2022-07-02 10:05", "", "", "eligible"),
    Row("CN2022-005", "陈静", "成都七中", "Grade 11", "Sichuan", "China", "chenjing@example.cn",
        "photos/west/chen_jing_conjunction.jpg", "Venus and Jupiter at Dusk",
        "Two planets close together in the twilight sky above Chengdu, with the crescent Moon nearby.",
        "2022-07-03 20:10", "", "", "eligible"),
    Row("ES-0117", "Maria García", "IES Ramiro de Maeztu", "Grade 12", "Madrid", "Spain", "maria.garcia@example.es",
        "photos/intl/Maria Garcia - Saturn.jpg", "Saturn Through My Telescope",
        "Saturn and its rings, photographed with a phone held to the eyepiece of a 150 mm telescope.",
        "2022-07-07 23:50", "", "another country: no regional round applies", "eligible"),
    Row("PK-0042", "Ahmed Khan", "Lahore Grammar School", "Grade 9", "Punjab", "Pakistan", "ahmed.khan@example.pk",
        "photos/intl/ahmed_khan_trails.jpg", "Star Trails Around Polaris",
        "Two hours of stars turning around the pole star, stacked from many short exposures.",
        "2022-07-09 16:20", "", "another country: no regional round applies", "eligible"),
    Row("RU-0303", "Olga Ivanova", "Lyceum No. 130", "11", "Novosibirsk Oblast", "Russia", "olga.ivanova@example.ru",
        "photos/intl/olga_aurora.jpg", "Aurora over the Lake",
        "Green aurora curtains reflected in a still lake. I adjusted exposure and colour in Lightroom.",
        "2022-07-10 14:00", "edited", "EXIF Software is Lightroom Classic (info only)", "eligible"),
    Row("CN2022-009", "赵磊", "杭州第二中学", "初三", "浙江省", "China", "zhaolei@example.cn",
        "photos/east/赵磊 彗星.jpg", "Comet Above the Tea Fields",
        "A comet with a long pale tail above the tea hills near Hangzhou, just before dawn.",
        "2022-07-04 07:45", "", "", "eligible"),
    Row("CN2022-010", "孙丽", "南京外国语学校", "Grade 8", "江苏省", "China", "sunli@example.cn",
        "photos/missing/孙丽 流星.jpg", "Perseid Meteor",
        "A bright meteor crossing the sky during the Perseid shower.",
        "2022-07-05 12:00", "missing-file", "the row names a file that is not in the folder", "rejected"),
    Row("CN2022-011", "周杰", "长沙市长郡中学", "高二", "湖南省", "China", "zhoujie@example.cn",
        "photos/central/zhou_jie_moon.jpg", "Craters on the Terminator",
        "The half Moon through a small telescope: craters stand out along the line between day and night.",
        "2022-07-06 22:30", "unreadable", "JPEG cut off at 60 % of its bytes", "rejected"),
    Row("CN2022-012", "王强", "福州第一中学", "初一", "福建省", "China", "wangqiang@example.cn",
        "photos/south/王强.jpg", "Orion Rising",
        "The constellation Orion rising over the sea.",
        "2022-07-07 21:00", "unreadable", "0-byte file", "rejected"),
    Row("CN2022-013", "吴敏", "天津市南开中学", "Grade 10", "天津市", "China", "wumin@example.cn",
        "photos/north/IMG_4521.jpg", "Moonrise over the Harbour",
        "The Moon rising over the harbour in Tianjin, taken with my phone.",
        "2022-07-08 19:30", "format extension-mismatch", "HEIC content (ftyp heic) named .jpg", "rejected"),
    Row("CN2022-014", "郑洁", "重庆巴蜀中学", "Grade 12", "Chongqing", "China", "zhengjie@example.cn",
        "photos/west/zheng_jie_sunset.webp", "Red Sky over the River",
        "Sunset over the Yangtze River and the hills of Chongqing.",
        "2022-07-09 19:05", "format", "a real WebP, with camera EXIF", "rejected"),
    Row("CN2022-015", "黄磊", "青岛第二中学", "8", "Shandong", "China", "huanglei@example.cn",
        "photos/north/huang_lei_venus.jpg", "Evening Star over Laoshan",
        "Venus shining low in the west after sunset above the Laoshan mountains.",
        "2022-07-05 20:40", "extension-mismatch", "PNG content named .jpg (info only)", "eligible"),
    Row("CN2022-016", "林涛", "昆明第一中学", "高三", "云南省", "China", "lintao@example.cn",
        "photos/west/lin_tao_milky_way_full_resolution.jpg", "Milky Way over Yulong Snow Mountain",
        "The Milky Way above the mountains near Lijiang, saved at full resolution from my camera.",
        "2022-07-06 09:15", "file-size", "4000x3000 JPEG at quality 97, about 11.1 MiB", "rejected"),
    Row("CN2022-017", "何静", "深圳中学", "Grade 11", "Guangdong", "China", "hejing@example.cn",
        "photos/south/he_jing_moon_small.jpg", "Moon and Clouds",
        "The Moon behind thin clouds over Shenzhen Bay.",
        "2022-07-07 22:10", "min-width", "1600x1067", "rejected"),
    Row("CN2022-018", "马超", "西安高级中学", "初二", "陕西省", "China", "machao@example.cn",
        "photos/west/马超 竖拍.jpg", "Crescent Moon Portrait",
        "A thin crescent Moon above a pine tree, taken in portrait orientation with my phone.",
        "2022-07-08 21:45", "min-width", "stored 2400x1800 with EXIF Orientation 6: displayed 1800 wide", "rejected"),
    Row("CN2022-019", "朱琳", "南宁第三中学", "9", "广西壮族自治区", "China", "zhulin@example.cn",
        "photos/south/zhu_lin.jpg", "",
        "Meteors and the Milky Way above a village in Guangxi.",
        "2022-07-09 10:30", "title-missing", "empty title", "rejected"),
    Row("CN2022-020", "胡军", "沈阳东北育才学校", "Grade 10", "Liaoning", "China", "hujun@example.cn",
        "photos/north/hu_jun_andromeda.jpg", LONG_TITLE,
        "The Andromeda Galaxy, a faint smudge in the sky, seen from a rooftop in the countryside.",
        "2022-07-10 11:20", "title-length", "74-character title", "rejected"),
    Row("CN2022-021", "郭敏", "合肥一中", "高一", "安徽省", "China", "guomin@example.cn",
        "photos/central/guo_min_planets.jpg", "Planets Lining Up",
        "",
        "2022-07-06 06:30", "description-missing", "empty description", "rejected"),
    Row("CN2022-022", "罗兰", "南昌二中", "初三", "江西省", "China", "luolan@example.cn",
        "photos/central/luo_lan_stars.jpg", "Summer Night Sky",
        LONG_DESCRIPTION,
        "2022-07-07 08:00", "description-length", "391-character description", "rejected"),
    Row("CN2022-023", "梁宇", "北京市第八十中学", "Grade 9", "北京市", "China", "liangyu@example.cn",
        "photos/north/liang_yu_moon.jpg", "Moonrise",
        "The Moon rising over the hills, taken from the roof of our school.",
        "2022-07-10 21:00", "duplicate-image", "张伟's photo resized to 2160x1440 and recompressed", "review"),
    Row("CN2022-024", "宋佳", "江苏省苏州中学", "高二", "江苏省", "China", "songjia@example.cn",
        "photos/east/宋佳/城市星空.jpg", "星空下的城市",
        "Stars above the towers of Suzhou on a clear summer night.",
        "2022-07-08 23:10", "language", "Chinese title 星空下的城市", "review"),
    Row("CN2022-025", "谢娜", "厦门双十中学", "Grade 8", "Fujian", "China", "xiena@example.cn",
        "photos/south/xie_na_first.jpg", "Twilight Crescent",
        "A young crescent Moon in the twilight over Xiamen.",
        "2022/7/5 9:30", "one-per-contestant", "CN2022-025's earlier entry", "rejected"),
    Row("CN2022-025", "谢娜", "厦门双十中学", "Grade 8", "Fujian", "China", "xiena@example.cn",
        "photos/south/xie_na_second.jpg", "Saturn at Midnight",
        "Saturn, seen through the school telescope on our astronomy club night.",
        "2022-07-08T21:15:00", "", "CN2022-025's later entry: the one kept", "eligible"),
    Row("CN2022-026", "韩雪", "哈尔滨第三中学", "高三", "黑龙江省", "China", "hanxue@example.cn",
        "photos/north/han_xue_snow_stars.jpg", "Winter Stars",
        "Stars over a frozen field near Harbin. My camera's settings removed the metadata.",
        "2022-07-09 22:00", "camera-origin", "no EXIF at all", "review"),
    Row("CN2022-027", "冯博", "杭州学军中学", "Grade 12", "Zhejiang", "China", "fengbo@example.cn",
        "photos/east/feng_bo_nebula.png", "Nebula Dreams",
        "A glowing nebula above a mountain lake at night.",
        "2022-07-10 15:30", "software-created camera-origin",
        "PNG `parameters` text chunk as AUTOMATIC1111 writes it; no EXIF", "rejected"),
    Row("CN2022-028", "曹阳", "香港培正中学", "Grade 11", "香港", "China", "caoyang@example.hk",
        "photos/south/cao_yang_moonlit_bay.jpg", "Moonlit Bay",
        "Moonlight on the water of a quiet bay with mountains behind.",
        "2022-07-10 18:00", "software-created camera-origin",
        "XMP Iptc4xmpExt:DigitalSourceType trainedAlgorithmicMedia; no EXIF", "rejected"),
    Row("CN2022-029", "邓辉", "湖南师大附中", "初二", "Hunan", "China", "denghui@example.cn",
        "photos/central/deng_hui_poster.jpg", "Our Space Museum Visit",
        "A poster of an astronaut at the science museum, lit by the planets hanging from the ceiling.",
        "2022-07-05 16:40", "face", "a poster of astronaut Eileen Collins (NASA portrait, public domain)", "review"),
    Row("CN2022-030", "李明", "石家庄二中", "Grade 10", "河北省", "China", "liming@example.cn",
        "photos/north/李明 日落.jpg", "Golden Hour over the Plain",
        "The setting Sun over the fields of Hebei, with a line of hills on the horizon.",
        "2022-07-09 19:55", "text-watermark", "“© Photo by Li Ming” drawn in the lower right corner", "review"),
    Row("CN2022-031", "彭飞", "贵阳一中", "Grade 11", "贵州省", "China", "pengfei@example.cn",
        "photos/west/peng_fei_eclipse.jpg", "Partial Eclipse at Sunrise",
        "The Sun partly covered by the Moon, rising over the karst hills.",
        "2022-07-12 08:00", "late", "submitted 2022-07-12 08:00, after the 2022-07-11 deadline", "rejected"),
    Row("CN2022-032", "曾静", "兰州一中", "Grade 6", "甘肃省", "China", "zengjing@example.cn",
        "photos/west/zeng_jing_desert_stars.jpg", "Stars over the Dunes",
        "The night sky above the sand dunes near Dunhuang.",
        "2022-07-06 21:30", "grade", "Grade 6", "rejected"),
    Row("CN2022-033", "蒋涛", "太原五中", "", "山西省", "China", "jiangtao@example.cn",
        "photos/north/jiang_tao_moon_halo.jpg", "Moon Halo",
        "A ring of light around the Moon, made by ice crystals high in the sky.",
        "2022-07-07 20:20", "grade", "empty grade", "rejected"),
    Row("CN2022-034", "杨帆", "郑州外国语学校", "高二", "河南省", "China", "yangfan@example.cn",
        "photos/杨帆 郑州夜空.jpg", "Night Sky over the Yellow River",
        "Stars reflected in the Yellow River north of Zhengzhou.",
        "2022-07-08 22:40", "region-unknown", "河南省 (Henan) is in no regional round", "review"),
    Row("", "许可", "宁夏银川一中", "Grade 9", "宁夏回族自治区", "China", "xuke@example.cn",
        "photos/west/xu_ke_sunset.jpg", "Desert Sunset",
        "The Sun setting behind the Helan Mountains.",
        "2022-07-09 19:40", "missing-field", "empty contestant_id", "rejected"),
)

UNLISTED = Row("", "", "", "", "", "", "", "photos/extra/IMG_0042.JPG", "", "", "", "unlisted-file",
               "a photo in the folder that no row names", "review")


# --------------------------------------------------------------------------------------------------
# Drawing: float32 HxWx3 arrays in [0, 1], linear-ish light; `finish` adds sensor noise and gamma.
# --------------------------------------------------------------------------------------------------


def fbm(h: int, w: int, rng: np.random.Generator, octaves: int = 5, base: int = 4) -> np.ndarray:
    """Fractal noise in [0, 1]: random grids of growing resolution summed at <= 600 px, then upscaled."""
    scale = min(1.0, 600 / max(h, w))
    sh, sw = max(2, round(h * scale)), max(2, round(w * scale))
    out = np.zeros((sh, sw), np.float32)
    total = 0.0
    for o in range(octaves):
        cells = base * 2**o
        gh, gw = max(2, cells * h // max(h, w) + 1), max(2, cells * w // max(h, w) + 1)
        grid = Image.fromarray(rng.random((gh, gw), dtype=np.float32), mode="F")
        amp = 0.5**o
        out += amp * np.asarray(grid.resize((sw, sh), Image.Resampling.BICUBIC), dtype=np.float32)
        total += amp
    lo, hi = float(out.min()), float(out.max())
    out = (out - lo) / (hi - lo + 1e-6)
    if (sh, sw) != (h, w):
        out = np.asarray(Image.fromarray(out, mode="F").resize((w, h), Image.Resampling.BICUBIC))
    return out


def ridge(w: int, rng: np.random.Generator, base: float, amp: float, octaves: int = 6) -> np.ndarray:
    """A hill or mountain skyline: y (in pixels) per column, fractal in x."""
    y = np.zeros(w, np.float32)
    for o in range(octaves):
        n = 3 * 2**o + 1
        pts = rng.random(n).astype(np.float32) * 2 - 1
        y += (0.55**o) * np.interp(np.linspace(0, n - 1, w), np.arange(n), pts).astype(np.float32)
    return base + amp * y


def vgradient(h: int, w: int, stops: list[tuple[float, tuple[float, float, float]]]) -> np.ndarray:
    """Vertical colour gradient through (position 0..1 from the top, rgb) stops."""
    t = np.linspace(0, 1, h, dtype=np.float32)
    pos = [p for p, _ in stops]
    cols = np.stack([np.interp(t, pos, [c[i] for _, c in stops]) for i in range(3)], axis=-1)
    img = np.empty((h, w, 3), np.float32)
    img[:] = cols[:, None, :].astype(np.float32)
    return img


def grid(h: int, w: int, cx: float, cy: float) -> tuple[np.ndarray, np.ndarray]:
    """Open float32 coordinate grids centred on (cx, cy): dx of shape (1, w), dy of shape (h, 1)."""
    return (np.arange(w, dtype=np.float32) - np.float32(cx))[None, :], (
        np.arange(h, dtype=np.float32) - np.float32(cy))[:, None]


def _box(h: int, w: int, cx: float, cy: float, reach: float) -> tuple[slice, slice]:
    return (slice(max(0, int(cy - reach)), max(0, min(h, int(cy + reach) + 2))),
            slice(max(0, int(cx - reach)), max(0, min(w, int(cx + reach) + 2))))


def glow(h: int, w: int, cx: float, cy: float, radius: float, power: float = 2.0) -> np.ndarray:
    """A soft radial falloff (light pollution, a halo, the Sun's glare), computed where it is visible."""
    reach = radius * (1 / 0.002 - 1) ** (1 / power)  # beyond this it is under 0.2 %
    ys, xs = _box(h, w, cx, cy, reach)
    out = np.zeros((h, w), np.float32)
    dx, dy = grid(ys.stop - ys.start, xs.stop - xs.start, cx - xs.start, cy - ys.start)
    d2 = (dx * dx + dy * dy) / np.float32(radius * radius)
    out[ys, xs] = 1.0 / (1.0 + d2 ** np.float32(power / 2))
    return out


def blur(a: np.ndarray, radius: float) -> np.ndarray:
    """Gaussian blur of a 2D float array through Pillow's 8-bit filter (the grain added later hides banding)."""
    top = max(float(a.max()), 1e-6)
    im = Image.fromarray(np.clip(a * (255 / top) + 0.5, 0, 255).astype(np.uint8), mode="L")
    return np.asarray(im.filter(ImageFilter.GaussianBlur(radius)), dtype=np.float32) * np.float32(top / 255)


def blur_rgb(img: np.ndarray, radius: float) -> np.ndarray:
    """The same for an RGB float image."""
    top = max(float(img.max()), 1e-6)
    im = Image.fromarray(np.clip(img * (255 / top) + 0.5, 0, 255).astype(np.uint8), mode="RGB")
    return np.asarray(im.filter(ImageFilter.GaussianBlur(radius)), dtype=np.float32) * np.float32(top / 255)


def _psf(sigma: float, size: int = 15) -> np.ndarray:
    k = np.arange(size, dtype=np.float32) - size // 2
    g = np.exp(-(k[:, None] ** 2 + k[None, :] ** 2) / (2 * sigma * sigma))
    halo = np.exp(-(k[:, None] ** 2 + k[None, :] ** 2) / (2 * (sigma * 3.5) ** 2)) * 0.04
    return (g + halo).astype(np.float32)


_PSFS = [_psf(s) for s in (0.7, 1.0, 1.5, 2.3)]


def stars(img: np.ndarray, rng: np.random.Generator, count: int, sky: np.ndarray | None = None,
          bright: float = 1.0) -> None:
    """Scatter stars with a power-law brightness and a slight colour, each drawn with a lens-like PSF."""
    h, w, _ = img.shape
    pad = 7
    layer = np.zeros((h + 2 * pad, w + 2 * pad, 3), np.float32)
    ys = rng.integers(0, h, count)
    xs = rng.integers(0, w, count)
    mag = np.minimum((rng.pareto(2.2, count) + 0.12) * 0.5 * bright, 3.0).astype(np.float32)
    temp = rng.uniform(-1, 1, count).astype(np.float32)  # blue-white to orange
    for y, x, m, t in zip(ys.tolist(), xs.tolist(), mag.tolist(), temp.tolist(), strict=True):
        if sky is not None:
            m *= float(sky[y, x]) if sky.ndim == 2 else float(sky[y, 0])
        k = _PSFS[0 if m < 0.4 else 1 if m < 1.0 else 2 if m < 2.0 else 3]
        tint = np.array([1 + 0.15 * t, 1.0, 1 - 0.15 * t], np.float32) * m
        layer[y : y + 2 * pad + 1, x : x + 2 * pad + 1] += k[..., None] * tint
    img += layer[pad : pad + h, pad : pad + w]


def disc_mask(h: int, w: int, cx: float, cy: float, r: float, soft: float = 1.5) -> np.ndarray:
    """1 inside the disc, 0 outside, with an anti-aliased edge."""
    ys, xs = _box(h, w, cx, cy, r + soft + 1)
    out = np.zeros((h, w), np.float32)
    dx, dy = grid(ys.stop - ys.start, xs.stop - xs.start, cx - xs.start, cy - ys.start)
    d = np.sqrt(dx * dx + dy * dy)
    out[ys, xs] = np.clip((np.float32(r) - d) / np.float32(soft) + np.float32(0.5), 0, 1)
    return out


def moon(img: np.ndarray, rng: np.random.Generator, cx: float, cy: float, r: float,
         phase: tuple[float, float, float] = (0.0, 0.0, 1.0), halo: float = 0.25,
         colour: tuple[float, float, float] = (1.0, 0.97, 0.9)) -> None:
    """A lit sphere with maria, craters and limb darkening; `phase` is the light direction."""
    h, w, _ = img.shape
    x0, x1 = int(max(0, cx - r - 4)), int(min(w, cx + r + 5))
    y0, y1 = int(max(0, cy - r - 4)), int(min(h, cy + r + 5))
    yy, xx = np.mgrid[y0:y1, x0:x1].astype(np.float32)
    nx, ny = (xx - cx) / r, (yy - cy) / r
    rr = nx**2 + ny**2
    nz = np.sqrt(np.clip(1 - rr, 0, 1))
    lx, ly, lz = phase
    norm = (lx * lx + ly * ly + lz * lz) ** 0.5
    lit = np.clip((nx * lx + ny * ly + nz * lz) / norm, 0, 1) ** 0.6
    ph, pw = y1 - y0, x1 - x0
    maria = fbm(ph, pw, rng, octaves=4, base=3)
    albedo = 0.9 - 0.26 * (maria > 0.55) + 0.12 * fbm(ph, pw, rng, octaves=5, base=8)
    for _ in range(int(min(r, 400) / 8) + 6):  # craters: a dark floor and a bright rim
        a, b = rng.uniform(-0.85, 0.85, 2)
        if a * a + b * b > 0.8:
            continue
        cr = rng.uniform(0.02, 0.09)
        cy0, cx0 = (b * r + cy - y0), (a * r + cx - x0)
        reach = cr * 1.3 * r + 2
        sy = slice(max(0, int(cy0 - reach)), min(ph, int(cy0 + reach) + 1))
        sx = slice(max(0, int(cx0 - reach)), min(pw, int(cx0 + reach) + 1))
        d = np.sqrt((nx[sy, sx] - a) ** 2 + (ny[sy, sx] - b) ** 2)
        albedo[sy, sx] += -0.10 * (d < cr) + 0.08 * ((d >= cr) & (d < cr * 1.25))
    inside = disc_mask(ph, pw, cx - x0, cy - y0, r)
    shade = np.clip(albedo, 0.3, 1.1) * lit * (0.75 + 0.25 * nz) * inside
    for i in range(3):
        img[y0:y1, x0:x1, i] = img[y0:y1, x0:x1, i] * (1 - inside) + shade * colour[i] * 1.05
    if halo:
        img += (halo * glow(h, w, cx, cy, r * 1.6, 2.4))[..., None] * np.array([0.85, 0.9, 1.0], np.float32)


def silhouette(img: np.ndarray, sky_line: np.ndarray, colour: tuple[float, float, float],
               rng: np.random.Generator, texture: float = 0.015) -> np.ndarray:
    """Paint everything below a skyline as dark land; returns the land mask."""
    h, w, _ = img.shape
    yy = np.arange(h, dtype=np.float32)[:, None]
    mask = np.clip(yy - sky_line[None, :].astype(np.float32) + 0.5, 0, 1)
    top = int(max(0, np.floor(sky_line.min()) - 1))
    m = mask[top:, :, None]
    land = np.array(colour, np.float32) + (fbm(h - top, w, rng, octaves=4, base=12) * texture)[..., None]
    img[top:] = img[top:] * (1 - m) + land * m
    return mask


def trees(w: int, line: np.ndarray, rng: np.random.Generator, count: int, height: tuple[float, float]) -> np.ndarray:
    """Raise a skyline with conifer-shaped spikes (pines on a ridge)."""
    out = line.copy()
    for _ in range(count):
        x = int(rng.integers(0, w))
        th = float(rng.uniform(*height))
        half = th * 0.28
        xs = np.arange(max(0, int(x - half)), min(w, int(x + half) + 1))
        top = line[x] - th
        prof = top + np.abs(xs - x) / half * th * 0.95
        out[xs] = np.minimum(out[xs], prof)
    return out


RENDER_SCALE = 2  # scenes are drawn at half size and upscaled: 4x less NumPy work, the grain is full size


def start(w: int, h: int, seed: int) -> tuple[np.random.Generator, int, int, tuple[int, int]]:
    """A scene's random generator, the size it draws at, and the size of the photo it makes."""
    return np.random.default_rng(seed), -(-w // RENDER_SCALE), -(-h // RENDER_SCALE), (w, h)


def finish(img: np.ndarray, rng: np.random.Generator, size: tuple[int, int], noise: float = 0.012,
           gamma: float = 1 / 1.15) -> Image.Image:
    """Tone curve to 8 bits, upscale to the photo's size, then sensor noise: luminance grain plus coarser
    colour noise, as a real high-ISO frame has (and as JPEG must spend bytes on, like a camera's file)."""
    w, h = size
    lut = (np.linspace(0, 1, 4096) ** gamma * 255 + 0.5).astype(np.uint8)
    np.multiply(img, np.float32(4095), out=img)
    np.clip(img, 0, 4095, out=img)
    out = Image.fromarray(lut[img.astype(np.uint16)], mode="RGB")
    if out.size != size:
        out = out.resize(size, Image.Resampling.BICUBIC)
    if not noise:
        return out
    sigma = noise * 255
    grain = rng.standard_normal((h, w), dtype=np.float32)
    np.multiply(grain, np.float32(sigma), out=grain)
    np.add(grain, np.float32(128), out=grain)
    np.clip(grain, 0, 255, out=grain)
    chroma = rng.standard_normal(((h + 1) // 2, (w + 1) // 2, 3), dtype=np.float32) * np.float32(sigma * 0.5) + 128
    chroma_im = Image.fromarray(np.clip(chroma, 0, 255).astype(np.uint8), "RGB")
    chroma_im = chroma_im.resize((w, h), Image.Resampling.BILINEAR)
    grain_im = Image.fromarray(grain.astype(np.uint8), "L").convert("RGB")
    # out + (grain - 128) + (chroma - 128), clipped, in C: ImageChops.add computes (a + b) / scale + offset
    out = ImageChops.add(out, grain_im, 1.0, -128)
    return ImageChops.add(out, chroma_im, 1.0, -128)


# --------------------------------------------------------------------------------------------------
# Scenes. Each takes (width, height, seed) and returns an RGB image; compositions differ enough that
# no two scenes are near-duplicates for a perceptual hash (checked in tests/test_sample_data.py).
# --------------------------------------------------------------------------------------------------


def scene_moon_hills(w: int, h: int, seed: int) -> Image.Image:
    rng, w, h, size = start(w, h, seed)
    img = vgradient(h, w, [(0, (0.01, 0.02, 0.06)), (0.6, (0.05, 0.08, 0.18)), (1, (0.16, 0.14, 0.22))])
    town = float(rng.uniform(0.05, 0.95))  # light pollution from a town beyond the hills
    img += glow(h, w, w * town, h * 0.95, w * 0.5, 2)[..., None] * np.array([0.25, 0.16, 0.08], np.float32)
    stars(img, rng, 2600, bright=0.7)
    moon(img, rng, w * rng.uniform(0.2, 0.8), h * rng.uniform(0.15, 0.4), h * 0.11, halo=0.35)
    far = ridge(w, rng, h * rng.uniform(0.68, 0.76), h * 0.05)
    silhouette(img, far, (0.06, 0.07, 0.12), rng)
    near = trees(w, ridge(w, rng, h * 0.86, h * 0.06), rng, 70, (h * 0.03, h * 0.11))
    silhouette(img, near, (0.012, 0.014, 0.02), rng)
    return finish(img, rng, size)


def scene_sunset(w: int, h: int, seed: int, sun_x: float | None = None) -> Image.Image:
    rng, w, h, size = start(w, h, seed)
    sun_x = float(rng.uniform(0.15, 0.85)) if sun_x is None else sun_x
    sun_y = float(rng.uniform(0.58, 0.68))
    img = vgradient(h, w, [(0, (0.16, 0.18, 0.42)), (sun_y - 0.3, (0.62, 0.36, 0.42)),
                           (sun_y - 0.08, (0.98, 0.55, 0.22)), (sun_y + 0.06, (1.0, 0.78, 0.4)), (1, (0.9, 0.6, 0.3))])
    clouds = fbm(h, w, rng, octaves=6, base=3)
    band = np.exp(-(((np.arange(h) / h) - rng.uniform(0.2, 0.4)) / 0.12) ** 2)[:, None].astype(np.float32)
    img += ((clouds - 0.5) * 0.5 * band)[..., None] * np.array([1.0, 0.55, 0.45], np.float32)
    img += (0.9 * glow(h, w, w * sun_x, h * sun_y, h * 0.12, 2.2))[..., None] * np.array([1, 0.75, 0.4], np.float32)
    img = np.maximum(img, disc_mask(h, w, w * sun_x, h * sun_y, h * 0.035)[..., None] * 1.2)
    shades = [(0.55, 0.36, 0.36), (0.36, 0.22, 0.26), (0.2, 0.12, 0.16), (0.06, 0.04, 0.06)]
    for k, col in enumerate(shades):
        line = ridge(w, rng, h * (sun_y - 0.02 + 0.07 * k), h * (0.05 + 0.02 * k))
        if k == len(shades) - 1:
            line = trees(w, line, rng, 40, (h * 0.04, h * 0.12))
        silhouette(img, line, col, rng, texture=0.02)
    return finish(img, rng, size, noise=0.008)


def scene_milky_way(w: int, h: int, seed: int, tilt: float | None = None, noise: float = 0.014) -> Image.Image:
    rng, w, h, size = start(w, h, seed)
    tilt = float(rng.uniform(-0.6, 0.6)) if tilt is None else tilt
    img = vgradient(h, w, [(0, (0.01, 0.015, 0.035)), (0.7, (0.03, 0.045, 0.08)), (1, (0.09, 0.08, 0.1))])
    xx, yy = grid(h, w, 0, 0)
    # the band: a tilted Gaussian with dusty lanes and a bright core
    mid = float(rng.uniform(0.35, 0.55))
    d = (yy - h * mid) - (xx - w * 0.5) * tilt
    band = np.exp(-((d / np.float32(h * 0.16)) ** 2))
    dust = fbm(h, w, rng, octaves=6, base=6)
    core_x = float(rng.uniform(0.25, 0.75))
    core = glow(h, w, w * core_x, h * mid + (w * (core_x - 0.5)) * tilt, h * 0.22, 2.0)
    lanes = np.where(dust < 0.32, np.float32(0.25), np.float32(1.0))
    neb = band * (0.35 + 0.65 * dust) * (0.3 + 0.7 * core) * lanes * np.float32(0.42)
    img += neb[..., None] * np.array([0.95, 0.85, 0.8], np.float32)
    stars(img, rng, 3500, sky=0.5 + band * 1.5, bright=0.6)
    line = ridge(w, rng, h * rng.uniform(0.78, 0.88), h * 0.07)
    silhouette(img, line, (0.015, 0.015, 0.025), rng)
    return finish(img, rng, size, noise=noise)


def scene_eclipse(w: int, h: int, seed: int) -> Image.Image:
    rng, w, h, size = start(w, h, seed)
    img = vgradient(h, w, [(0, (0.02, 0.04, 0.1)), (0.75, (0.07, 0.1, 0.2)), (1, (0.5, 0.32, 0.2))])
    x0, y0, r = w * rng.uniform(0.3, 0.7), h * rng.uniform(0.3, 0.5), h * 0.09
    dx, dy = grid(h, w, x0, y0)
    ang = np.arctan2(dy, dx)
    dist = np.sqrt(dx * dx + dy * dy) / np.float32(r)
    coarse = rng.random(37).astype(np.float32)
    coarse[-1] = coarse[0]
    fine = rng.random(181).astype(np.float32)
    fine[-1] = fine[0]
    streamer = 0.6 * np.interp(ang, np.linspace(-np.pi, np.pi, 37), coarse**2) + 0.4 * np.interp(
        ang, np.linspace(-np.pi, np.pi, 181), fine)
    corona = np.clip(dist, 1, None) ** (-2.6 + 0.9 * streamer.astype(np.float32)) * (dist > 0.98)
    img += (corona * 0.9)[..., None] * np.array([0.95, 0.95, 1.0], np.float32)
    # the diamond ring: a brilliant bead of sunlight on one edge
    img += (1.4 * glow(h, w, x0 + r * 0.72, y0 - r * 0.7, r * 0.12, 2.0))[..., None]
    img *= (1 - disc_mask(h, w, x0, y0, r))[..., None]
    img += disc_mask(h, w, x0, y0, r)[..., None] * 0.006
    for _ in range(3):  # red prominences
        a = rng.uniform(-np.pi, np.pi)
        img += (0.5 * glow(h, w, x0 + np.cos(a) * r, y0 + np.sin(a) * r, r * 0.05, 2.5))[..., None] * np.array(
            [1, 0.2, 0.3], np.float32)
    stars(img, rng, 120, bright=0.5)
    line = ridge(w, rng, h * 0.88, h * 0.04)
    silhouette(img, line, (0.03, 0.025, 0.03), rng)
    return finish(img, rng, size, noise=0.01)


def scene_conjunction(w: int, h: int, seed: int) -> Image.Image:
    rng, w, h, size = start(w, h, seed)
    img = vgradient(h, w, [(0, (0.03, 0.07, 0.2)), (0.5, (0.12, 0.22, 0.42)), (0.8, (0.55, 0.45, 0.45)),
                           (1, (0.9, 0.55, 0.3))])
    stars(img, rng, 250, bright=0.4)
    px, py = float(rng.uniform(0.1, 0.9)), float(rng.uniform(0.2, 0.5))
    qx, qy = px + float(rng.uniform(-0.06, 0.06)), py + float(rng.uniform(-0.06, 0.06))
    for x, y, pr, b in ((px, py, 9, 1.3), (qx, qy, 6, 0.9)):  # Venus and Jupiter
        img += (b * glow(h, w, w * x, h * y, pr, 2.2))[..., None] * np.array([1, 0.98, 0.92], np.float32)
    mx = (px + rng.uniform(0.25, 0.6)) % 1.0
    moon(img, rng, w * mx, h * rng.uniform(0.12, 0.45), h * 0.05, phase=(-1.0, 0.25, -0.55), halo=0.05)
    # a city skyline with a TV tower
    xs = np.arange(w)
    line = np.full(w, h * 0.83, np.float32)
    low, high = sorted(rng.uniform(0.62, 0.86, 2))
    x = 0
    while x < w:
        bw = int(rng.integers(40, 160))
        line[x : x + bw] = h * rng.uniform(low, high)
        x += bw + int(rng.integers(0, 30))
    tower = int(w * rng.uniform(0.1, 0.9))
    line[np.abs(xs - tower) < 10] = h * rng.uniform(0.4, 0.55)
    line[np.abs(xs - tower) < 45] = np.minimum(line[np.abs(xs - tower) < 45], h * 0.6)
    silhouette(img, line, (0.02, 0.02, 0.035), rng)
    return finish(img, rng, size, noise=0.01)


def scene_saturn(w: int, h: int, seed: int) -> Image.Image:
    rng, w, h, size = start(w, h, seed)
    img = np.zeros((h, w, 3), np.float32) + np.array([0.015, 0.015, 0.02], np.float32)
    img += glow(h, w, w * rng.uniform(0, 1), h * rng.uniform(0, 1), w * 0.6, 1.6)[..., None] * 0.06  # stray light
    cx, cy = float(rng.uniform(0.3, 0.7)), float(rng.uniform(0.3, 0.7))
    r = h * rng.uniform(0.1, 0.14)
    x0, y0 = int(w * cx - 2.5 * r), int(h * cy - 1.5 * r)
    bw, bh = int(5 * r), int(3 * r)
    dx, dy = grid(bh, bw, w * cx - x0, h * cy - y0)
    u, v = dx / np.float32(r) + 0 * dy, dy / np.float32(r) + 0 * dx
    # rings: a tilted ellipse annulus with the Cassini division
    tilt = float(rng.uniform(-0.4, 0.4))
    c, s = np.float32(np.cos(tilt)), np.float32(np.sin(tilt))
    ru, rv = u * c + v * s, (-u * s + v * c) / np.float32(0.38)
    rd = np.sqrt(ru**2 + rv**2)
    rings = ((rd > 1.25) & (rd < 2.25)).astype(np.float32) * (0.75 - 0.5 * ((rd > 1.88) & (rd < 1.96)))
    rings *= 0.85 + 0.15 * np.sin(rd * 40)
    body = np.clip(1 - u**2 - (v / 0.92) ** 2, 0, 1)
    bands = 0.8 + 0.2 * np.sin((v * c - u * s) * 14)
    planet = (body > 0).astype(np.float32) * (0.55 + 0.45 * np.sqrt(body)) * bands
    behind = (rv < 0) & (body > 0)  # the far side of the rings passes behind the globe
    rings = np.where(behind, 0, rings)
    shadow = ((rd > 1.0) & (rd < 1.35) & (rv > 0) & (body > 0)) * 0.5
    lum = blur(np.maximum(planet * (1 - shadow), rings), 2.5)
    img[y0 : y0 + bh, x0 : x0 + bw] += lum[..., None] * np.array([0.95, 0.82, 0.55], np.float32)
    for _ in range(4):  # moons: Titan and friends
        img += (0.6 * glow(h, w, w * cx + r * rng.uniform(-6, 6), h * cy + r * rng.uniform(-1, 1), 2.0, 2.5)
                )[..., None]
    return finish(img, rng, size, noise=0.02)


def scene_star_trails(w: int, h: int, seed: int) -> Image.Image:
    rng, w, h, size = start(w, h, seed)
    img = vgradient(h, w, [(0, (0.02, 0.03, 0.08)), (0.8, (0.06, 0.08, 0.15)), (1, (0.2, 0.15, 0.12))])
    px, py = w * rng.uniform(0.2, 0.8), h * rng.uniform(0.05, 0.4)  # the celestial pole
    span = float(rng.uniform(20, 45))  # degrees: how long the shutter stayed open
    layer = Image.new("L", (w, h), 0)
    draw = ImageDraw.Draw(layer)
    for _ in range(700):
        r0 = float(rng.uniform(6, w * 0.95))
        a0 = float(rng.uniform(0, 360))
        b = min(1.0, float(rng.pareto(2.5) + 0.08) * 0.35)
        width = 1 + int(b * 3)
        draw.arc((px - r0, py - r0, px + r0, py + r0), a0, a0 + span, fill=int(40 + 215 * b), width=width)
    trails = np.asarray(layer.filter(ImageFilter.GaussianBlur(1.0)), dtype=np.float32) / 255
    img += trails[..., None] * np.array([0.9, 0.92, 1.0], np.float32)
    line = trees(w, ridge(w, rng, h * rng.uniform(0.75, 0.88), h * 0.05), rng, 25, (h * 0.05, h * 0.16))
    silhouette(img, line, (0.02, 0.02, 0.03), rng)
    return finish(img, rng, size, noise=0.012)


def scene_aurora(w: int, h: int, seed: int) -> Image.Image:
    rng, w, h, size = start(w, h, seed)
    img = vgradient(h, w, [(0, (0.01, 0.02, 0.05)), (0.55, (0.02, 0.05, 0.08)), (1, (0.02, 0.04, 0.06))])
    xs = np.arange(w, dtype=np.float32)
    freq, phase = float(rng.uniform(3, 9)), float(rng.uniform(0, 6.3))
    base = h * rng.uniform(0.35, 0.48) + h * 0.08 * np.sin(xs / w * freq + phase) + ridge(w, rng, 0, h * 0.05)
    yy = np.arange(h, dtype=np.float32)[:, None]
    above = base[None, :] - yy
    curtain = np.exp(-np.clip(above, 0, None) / (h * 0.16)) * (above > -h * 0.01)
    rays = np.interp(xs, np.linspace(0, w, 240), rng.random(240)).astype(np.float32)
    fade = np.interp(xs, np.linspace(0, w, 6), rng.uniform(0.2, 1.0, 6)).astype(np.float32)
    aur = curtain * (0.4 + 0.6 * rays[None, :]) * fade[None, :] * np.clip(1 + above / (h * 0.01), 0, 1)
    aur = blur(aur, 4)
    img += aur[..., None] * np.array([0.12, 0.75, 0.35], np.float32)
    img += (aur * np.clip(above / (h * 0.25), 0, 1))[..., None] * np.array([0.25, 0.0, 0.2], np.float32)
    stars(img, rng, 1500, bright=0.5)
    shore = h * 0.62
    mount = ridge(w, rng, h * 0.57, h * 0.06)
    silhouette(img, np.minimum(mount, shore), (0.02, 0.025, 0.03), rng)
    lake_top = int(h * 0.66)  # a lake mirrors the sky
    depth = h - lake_top
    refl = img[lake_top - depth : lake_top][::-1] if lake_top - depth >= 0 else img[:depth][::-1]
    ripple = fbm(depth, w, rng, octaves=3, base=20)[..., None]
    img[lake_top:] = refl * (0.55 + 0.15 * ripple) + 0.01
    return finish(img, rng, size, noise=0.012)


def scene_comet(w: int, h: int, seed: int) -> Image.Image:
    rng, w, h, size = start(w, h, seed)
    img = vgradient(h, w, [(0, (0.01, 0.02, 0.06)), (0.7, (0.08, 0.1, 0.2)), (1, (0.35, 0.25, 0.3))])
    stars(img, rng, 1800, bright=0.6)
    hx, hy = w * rng.uniform(0.25, 0.75), h * rng.uniform(0.25, 0.55)
    ang = float(rng.uniform(-2.6, -0.5))  # the tail points away from the Sun, below the horizon
    dx, dy = grid(h, w, hx, hy)
    along = -(dx * np.float32(np.cos(ang)) + dy * np.float32(np.sin(ang)))
    across = dx * np.float32(np.sin(ang)) - dy * np.float32(np.cos(ang))
    tail = np.exp(-((across / (6 + along * 0.12)) ** 2)) * np.exp(-along / np.float32(w * 0.35)) * (along > 0)
    img += (tail * 0.6)[..., None] * np.array([0.8, 0.9, 1.0], np.float32)
    img += (1.2 * glow(h, w, hx, hy, 7, 2.5))[..., None] * np.array([0.8, 1.0, 0.85], np.float32)
    line = ridge(w, rng, h * 0.8, h * 0.03)
    rows = np.sin(np.arange(w) / 35.0) * 4  # terraced tea rows on the slope
    silhouette(img, line + rows, (0.02, 0.03, 0.025), rng)
    return finish(img, rng, size, noise=0.012)


def scene_moon_closeup(w: int, h: int, seed: int) -> Image.Image:
    rng, w, h, size = start(w, h, seed)
    img = np.zeros((h, w, 3), np.float32) + 0.01
    side = float(rng.choice([-1.0, 1.0]))
    moon(img, rng, w * rng.uniform(0.35, 0.65), h * rng.uniform(0.45, 0.55), h * 0.42,
         phase=(side, float(rng.uniform(-0.3, 0.3)), float(rng.uniform(-0.2, 0.4))), halo=0.0,
         colour=(0.92, 0.92, 0.9))
    return finish(img, rng, size, noise=0.015)


def scene_city_stars(w: int, h: int, seed: int) -> Image.Image:
    rng, w, h, size = start(w, h, seed)
    img = vgradient(h, w, [(0, (0.02, 0.03, 0.09)), (0.6, (0.08, 0.09, 0.2)), (1, (0.35, 0.22, 0.2))])
    stars(img, rng, 900, bright=0.6)
    line = np.full(w, h * 0.9, np.float32)
    lights = np.zeros((h, w), np.float32)
    x = int(w * 0.05)
    while x < w * 0.95:
        bw = int(rng.integers(90, 220))
        top = int(h * rng.uniform(0.45, 0.78))
        line[x : x + bw] = top
        for wy in range(top + 20, int(h * 0.9), 28):  # a few lit windows, irregular
            for wx in range(x + 10, x + bw - 14, 24):
                if rng.random() < 0.22:
                    lights[wy : wy + 9, wx : wx + 8] = rng.uniform(0.3, 0.8)
        x += bw + int(rng.integers(10, 70))
    mask = silhouette(img, line, (0.02, 0.02, 0.03), rng)
    img += (blur(lights, 1.2) * mask)[..., None] * np.array([1.0, 0.8, 0.45], np.float32)
    return finish(img, rng, size, noise=0.012)


def scene_desert(w: int, h: int, seed: int) -> Image.Image:
    rng, w, h, size = start(w, h, seed)
    img = vgradient(h, w, [(0, (0.005, 0.01, 0.03)), (0.6, (0.03, 0.04, 0.09)), (1, (0.12, 0.09, 0.1))])
    gx = float(rng.uniform(0, 1))  # zodiacal light / a distant town on the horizon
    img += glow(h, w, w * gx, h * 0.75, w * 0.3, 2)[..., None] * np.array([0.12, 0.1, 0.08], np.float32)
    stars(img, rng, 4200, bright=0.55)
    xs = np.arange(w, dtype=np.float32)
    f1, f2, p1, p2 = rng.uniform(2, 5), rng.uniform(6, 12), rng.uniform(0, 6.3), rng.uniform(0, 6.3)
    dune = h * rng.uniform(0.62, 0.74) + h * 0.07 * np.sin(xs / w * f1 + p1) + h * 0.03 * np.sin(xs / w * f2 + p2)
    silhouette(img, dune, (0.09, 0.07, 0.06), rng, texture=0.03)
    dune2 = h * 0.84 + h * 0.04 * np.sin(xs / w * rng.uniform(3, 6) + rng.uniform(0, 6.3))
    silhouette(img, dune2, (0.05, 0.04, 0.035), rng, texture=0.02)
    return finish(img, rng, size, noise=0.012)


def scene_partial_eclipse(w: int, h: int, seed: int) -> Image.Image:
    rng, w, h, size = start(w, h, seed)
    img = vgradient(h, w, [(0, (0.3, 0.25, 0.35)), (0.6, (0.8, 0.5, 0.32)), (1, (0.7, 0.4, 0.25))])
    sx, sy, r = w * rng.uniform(0.2, 0.8), h * rng.uniform(0.35, 0.55), h * 0.1
    img += (0.5 * glow(h, w, sx, sy, r * 1.6, 2.0))[..., None] * np.array([1, 0.7, 0.4], np.float32)
    bite = disc_mask(h, w, sx + r * 0.55, sy - r * 0.25, r)
    sun = disc_mask(h, w, sx, sy, r)
    img = img * (1 - sun[..., None]) + sun[..., None] * np.array([1.4, 1.15, 0.8], np.float32)
    img *= (1 - 0.8 * bite * sun)[..., None]  # the Moon, dark against the solar disc
    xs = np.arange(w, dtype=np.float32)
    karst = h * 0.7 - np.abs(np.sin(xs / w * rng.uniform(12, 20) + 0.5)) ** 0.5 * h * 0.09 + ridge(w, rng, 0, h * 0.02)
    silhouette(img, karst, (0.25, 0.14, 0.12), rng)
    silhouette(img, ridge(w, rng, h * 0.86, h * 0.03), (0.06, 0.03, 0.03), rng)
    return finish(img, rng, size, noise=0.008)


def scene_halo(w: int, h: int, seed: int) -> Image.Image:
    rng, w, h, size = start(w, h, seed)
    img = vgradient(h, w, [(0, (0.03, 0.05, 0.12)), (1, (0.08, 0.1, 0.2))])
    cx, cy = w * rng.uniform(0.25, 0.75), h * rng.uniform(0.3, 0.45)
    dx, dy = grid(h, w, cx, cy)
    d = np.sqrt(dx * dx + dy * dy)
    ring = np.exp(-(((d - h * 0.3) / (h * 0.025)) ** 2)) * 0.22
    img += ring[..., None] * np.array([0.9, 0.9, 1.0], np.float32)
    cloud = fbm(h, w, rng, octaves=6, base=4)
    img += (np.clip(cloud - 0.45, 0, 1) * 0.25)[..., None]
    stars(img, rng, 600, bright=0.5)
    moon(img, rng, cx, cy, h * 0.05, halo=0.5)
    silhouette(img, trees(w, ridge(w, rng, h * 0.9, h * 0.02), rng, 12, (h * 0.1, h * 0.3)),
               (0.01, 0.01, 0.015), rng)
    return finish(img, rng, size, noise=0.012)


def scene_crescent_portrait(w: int, h: int, seed: int) -> Image.Image:
    """Drawn upright (portrait); the caller rotates it into landscape storage with an EXIF flag."""
    rng, w, h, size = start(w, h, seed)
    img = vgradient(h, w, [(0, (0.04, 0.08, 0.22)), (0.7, (0.35, 0.35, 0.5)), (1, (0.85, 0.55, 0.35))])
    moon(img, rng, w * 0.62, h * 0.22, w * 0.06, phase=(-1.0, 0.4, -0.7), halo=0.08)
    line = trees(w, ridge(w, rng, h * 0.9, h * 0.01), rng, 1, (h * 0.35, h * 0.36))
    silhouette(img, line, (0.02, 0.02, 0.03), rng)
    return finish(img, rng, size, noise=0.01)


def scene_nebula_lake(w: int, h: int, seed: int) -> Image.Image:
    """A 'generated' image: too clean, saturated, no sensor noise (as diffusion models make them)."""
    rng, w, h, size = start(w, h, seed)
    img = vgradient(h, w, [(0, (0.05, 0.0, 0.12)), (0.55, (0.2, 0.05, 0.3)), (1, (0.05, 0.02, 0.1))])
    neb = fbm(h, w, rng, octaves=5, base=3)
    g = glow(h, w, w * 0.55, h * 0.3, h * 0.35, 2.0)
    img += (neb**2 * g)[..., None] * np.array([0.9, 0.3, 0.8], np.float32)
    img += (neb**4 * g)[..., None] * np.array([0.2, 0.6, 0.9], np.float32)
    stars(img, rng, 700, bright=0.8)
    silhouette(img, ridge(w, rng, h * 0.62, h * 0.12, octaves=4), (0.04, 0.01, 0.07), rng, texture=0.0)
    top = int(h * 0.7)
    img[top:] = img[top - (h - top) : top][::-1] * 0.7
    img = blur_rgb(img, 1.2)
    return finish(img, rng, size, noise=0.0, gamma=1 / 1.3)


def scene_moonlit_bay(w: int, h: int, seed: int) -> Image.Image:
    rng, w, h, size = start(w, h, seed)
    img = vgradient(h, w, [(0, (0.02, 0.05, 0.16)), (0.5, (0.1, 0.2, 0.38)), (1, (0.05, 0.1, 0.2))])
    moon(img, rng, w * 0.3, h * 0.2, h * 0.07, halo=0.6)
    silhouette(img, ridge(w, rng, h * 0.5, h * 0.1, octaves=3), (0.03, 0.05, 0.1), rng, texture=0.0)
    sea = int(h * 0.6)
    img[sea:] = np.array([0.02, 0.05, 0.12], np.float32)
    xs = np.arange(w, dtype=np.float32)
    path = np.exp(-(((xs - w * 0.3) / (w * 0.05)) ** 2))[None, :] * fbm(h - sea, w, rng, octaves=3, base=30)
    img[sea:] += (path * 0.8)[..., None] * np.array([0.9, 0.9, 0.8], np.float32)
    img = blur_rgb(img, 1.5)
    return finish(img, rng, size, noise=0.0, gamma=1 / 1.2)


def scene_poster_wall(w: int, h: int, seed: int, face: Image.Image | None) -> Image.Image:
    """A dark museum hall with hanging planets and, on the wall, a poster of an astronaut."""
    rng, w, h, size = start(w, h, seed)
    img = vgradient(h, w, [(0, (0.03, 0.03, 0.05)), (1, (0.12, 0.1, 0.1))])
    img += (fbm(h, w, rng, octaves=4, base=6) * 0.05)[..., None]
    for px, py, pr, col in ((0.78, 0.25, 0.09, (0.8, 0.6, 0.4)), (0.9, 0.6, 0.05, (0.7, 0.3, 0.2)),
                            (0.12, 0.2, 0.06, (0.3, 0.5, 0.9))):
        m = disc_mask(h, w, w * px, h * py, h * pr, soft=3)
        img = img * (1 - m[..., None]) + m[..., None] * np.array(col, np.float32) * (
            0.6 + 0.4 * fbm(h, w, rng, octaves=3, base=20))[..., None]
    spot = glow(h, w, w * 0.42, h * 0.45, h * 0.45, 2.5)
    img *= (0.6 + 0.8 * spot)[..., None]
    base = finish(img, rng, size, noise=0.01)
    if face is not None:
        # head and shoulders, printed large: the face is ~360 px wide in the photo
        poster = face.convert("RGB").resize((1240, 1240), Image.Resampling.BICUBIC)
        frame = Image.new("RGB", (1290, 1290), (225, 225, 220))
        frame.paste(poster, (25, 25))
        base.paste(frame, (int(size[0] * 0.42) - 645, int(size[1] * 0.5) - 645))
    return base


ASTRONAUT = HERE / "astronaut_face.jpg"  # head and shoulders of NASA's portrait of Eileen Collins (public domain)


def astronaut() -> Image.Image | None:
    """The astronaut's portrait for the poster: the crop committed beside this script, else the full NASA
    photo that scikit-image ships (found without importing scikit-image), else None."""
    if ASTRONAUT.is_file():
        with Image.open(ASTRONAUT) as im:
            return im.convert("RGB")
    try:
        spec = importlib.util.find_spec("skimage")
    except (ImportError, ValueError):
        return None
    for folder in (spec.submodule_search_locations or []) if spec else []:
        path = Path(folder) / "data" / "astronaut.png"
        if path.is_file():
            with Image.open(path) as im:
                return im.convert("RGB").crop((90, 0, 400, 310))
    return None


def watermark(im: Image.Image, text: str) -> Image.Image:
    """A photographer's credit stamped in the lower right corner, as phone apps and editors do."""
    out = im.copy()
    size = int(im.width * 0.045)
    font: ImageFont.FreeTypeFont | ImageFont.ImageFont
    try:
        font = ImageFont.truetype("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf", size)
    except OSError:
        try:
            font = ImageFont.truetype("DejaVuSans-Bold.ttf", size)
        except OSError:
            font = ImageFont.load_default(size=size)
    draw = ImageDraw.Draw(out, "RGBA")
    box = draw.textbbox((0, 0), text, font=font)
    x = im.width - (box[2] - box[0]) - int(im.width * 0.03)
    y = im.height - (box[3] - box[1]) - int(im.height * 0.05)
    draw.text((x + 4, y + 4), text, font=font, fill=(0, 0, 0, 140))
    draw.text((x, y), text, font=font, fill=(255, 255, 255, 225))
    return out


# --------------------------------------------------------------------------------------------------
# Files: bytes as a camera, phone, editor or generator would write them.
# --------------------------------------------------------------------------------------------------


def camera_exif(make: str, model: str, when: str, *, software: str | None = None, orientation: int | None = None,
                exposure: tuple[int, int] = (1, 30), fnumber: float = 2.8, iso: int = 1600,
                focal: int = 24) -> Image.Exif:
    """The EXIF a camera writes: make, model, capture time and the exposure triangle."""
    exif = Image.Exif()
    exif[0x010F] = make
    exif[0x0110] = model
    if software:
        exif[0x0131] = software
    if orientation:
        exif[0x0112] = orientation
    exif[0x0132] = when
    ifd = exif.get_ifd(0x8769)
    ifd[0x9003] = when  # DateTimeOriginal
    ifd[0x9004] = when  # DateTimeDigitized
    ifd[0x829A] = IFDRational(*exposure)  # ExposureTime
    ifd[0x829D] = IFDRational(int(fnumber * 10), 10)  # FNumber
    ifd[0x8827] = iso  # ISOSpeedRatings
    ifd[0x920A] = IFDRational(focal, 1)  # FocalLength
    return exif


def jpeg(im: Image.Image, exif: Image.Exif | None = None, quality: int = 90, **extra: object) -> bytes:
    buf = io.BytesIO()
    params: dict[str, object] = {"quality": quality, **extra}
    if exif is not None:
        params["exif"] = exif.tobytes()
    im.save(buf, "JPEG", **params)
    return buf.getvalue()


def png(im: Image.Image, pnginfo: PngImagePlugin.PngInfo | None = None, exif: Image.Exif | None = None) -> bytes:
    buf = io.BytesIO()
    params: dict[str, object] = {"compress_level": 6}
    if pnginfo is not None:
        params["pnginfo"] = pnginfo
    if exif is not None:
        params["exif"] = exif.tobytes()
    im.save(buf, "PNG", **params)
    return buf.getvalue()


def heic_stub(seed: int) -> bytes:
    """An iPhone photo's container signature (ftyp box, brand heic) and opaque payload; no decoder needed."""
    ftyp = b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic"
    payload = np.random.default_rng(seed).integers(0, 256, 180_000, dtype=np.uint8).tobytes()
    return ftyp + b"\x00\x00\x01\x00meta" + payload


SD_PARAMETERS = (
    "a glowing purple nebula above a mountain lake at night, reflections, ultra detailed, 8k, "
    "astrophotography, masterpiece\n"
    "Negative prompt: blurry, lowres, watermark, text\n"
    "Steps: 30, Sampler: DPM++ 2M Karras, CFG scale: 7, Seed: 3405691582, Size: 1200x800, "
    "Model hash: 31e35c80fc, Model: sd_xl_base_1.0, Denoising strength: 0.35, Hires upscale: 2, "
    "Hires upscaler: R-ESRGAN 4x+, Version: v1.5.1"
)

AI_XMP = """<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>
<x:xmpmeta xmlns:x="adobe:ns:meta/">
 <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
  <rdf:Description rdf:about=""
    xmlns:Iptc4xmpExt="http://iptc.org/std/Iptc4xmpExt/2008-02-29/"
    xmlns:dc="http://purl.org/dc/elements/1.1/"
   Iptc4xmpExt:DigitalSourceType="http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia">
   <dc:description><rdf:Alt><rdf:li xml:lang="x-default">moonlit bay, calm sea, mountains</rdf:li></rdf:Alt>
   </dc:description>
  </rdf:Description>
 </rdf:RDF>
</x:xmpmeta>
<?xpacket end="w"?>"""


@dataclass(frozen=True)
class Photo:
    path: str
    make: Callable[[dict[str, bytes]], bytes | None]  # gets the bytes built so far (for copies)
    note: str = ""  # why `make` may return None (the file is then left out)
    needs: str | None = None  # the photo this one is made from, built first


def _camera_jpeg(scene: Callable[[int, int, int], Image.Image], seed: int, make: str, model: str, when: str,
                 size: tuple[int, int] = (W, H), **exif_kw: object) -> Callable[[dict[str, bytes]], bytes]:
    def build(_: dict[str, bytes]) -> bytes:
        return jpeg(scene(size[0], size[1], seed), camera_exif(make, model, when, **exif_kw))  # type: ignore[arg-type]
    return build


def _duplicate_of(original: str) -> Callable[[dict[str, bytes]], bytes]:
    """Another contestant's copy: resized and recompressed, the camera's EXIF kept."""
    def build(done: dict[str, bytes]) -> bytes:
        with Image.open(io.BytesIO(done[original])) as im:
            exif = im.getexif()
            copy = im.convert("RGB").resize((2160, 1440), Image.Resampling.LANCZOS)
        exif[0x0132] = "2022:07:10 20:41:09"
        return jpeg(copy, exif, quality=84)
    return build


def _truncated(scene: Callable[[int, int, int], Image.Image], seed: int) -> Callable[[dict[str, bytes]], bytes]:
    def build(_: dict[str, bytes]) -> bytes:
        data = jpeg(scene(W, H, seed), camera_exif("Canon", "Canon EOS 200D", "2022:07:01 23:12:40",
                                                  exposure=(1, 125), iso=200, focal=250))
        return data[: len(data) * 3 // 5]  # the upload stopped at 60 %
    return build


def _webp(_: dict[str, bytes]) -> bytes:
    im = scene_sunset(W, H, 1414)
    buf = io.BytesIO()
    exif = camera_exif("Xiaomi", "Mi 11", "2022:07:08 19:31:02", exposure=(1, 500), fnumber=1.9, iso=50, focal=5)
    im.save(buf, "WEBP", quality=82, method=4, exif=exif.tobytes())
    return buf.getvalue()


def _png_as_jpg(_: dict[str, bytes]) -> bytes:
    # the phone's noise reduction leaves a smooth image, so the PNG stays a few MB
    im = scene_conjunction(W, H, 1515).transpose(Image.Transpose.FLIP_LEFT_RIGHT).filter(ImageFilter.GaussianBlur(1.2))
    exif = camera_exif("OPPO", "PDEM10", "2022:07:04 20:18:33", exposure=(1, 4), fnumber=1.8, iso=1600, focal=5)
    return png(im, exif=exif)


def _oversize(_: dict[str, bytes]) -> bytes:
    """A 12 MP frame at quality 97 with 4:4:4 chroma and ISO 3200 grain: a camera JPEG over 10 MB."""
    im = scene_milky_way(4000, 3000, 1616, noise=0.055)
    exif = camera_exif("SONY", "ILCE-7M3", "2022:06:28 01:44:10", exposure=(20, 1), fnumber=1.8, iso=3200, focal=20)
    return jpeg(im, exif, quality=97, subsampling=0)


def _portrait_rotated(_: dict[str, bytes]) -> bytes:
    upright = scene_crescent_portrait(1800, 2400, 1818)
    stored = upright.transpose(Image.Transpose.ROTATE_90)  # sensor-native landscape: 2400x1800
    exif = camera_exif("HUAWEI", "ELS-AN00", "2022:07:07 20:02:51", orientation=6, exposure=(1, 15),
                       fnumber=1.9, iso=800, focal=6)
    return jpeg(stored, exif)


def _no_exif(_: dict[str, bytes]) -> bytes:
    return jpeg(scene_desert(W, H, 2626).transpose(Image.Transpose.FLIP_LEFT_RIGHT))


def _sd_png(_: dict[str, bytes]) -> bytes:
    info = PngImagePlugin.PngInfo()
    info.add_text("parameters", SD_PARAMETERS)
    return png(scene_nebula_lake(W, H, 2727), pnginfo=info)


def _ai_jpeg(_: dict[str, bytes]) -> bytes:
    return jpeg(scene_moonlit_bay(W, H, 2828), quality=92, xmp=AI_XMP.encode("utf-8"))


def _poster(_: dict[str, bytes]) -> bytes | None:
    face = astronaut()
    if face is None:
        return None
    exif = camera_exif("vivo", "V2055A", "2022:07:02 14:22:07", exposure=(1, 30), fnumber=1.8, iso=640, focal=5)
    return jpeg(scene_poster_wall(W, H, 2929, face), exif)


def _watermarked(_: dict[str, bytes]) -> bytes:
    im = watermark(scene_sunset(W, H, 3030, sun_x=0.3), "© Photo by Li Ming")
    exif = camera_exif("Canon", "Canon EOS M50", "2022:07:03 19:20:45", exposure=(1, 640), fnumber=8.0,
                       iso=100, focal=45)
    return jpeg(im, exif)


def _unlisted(_: dict[str, bytes]) -> bytes:
    im = scene_moon_closeup(W, H, 4242).transpose(Image.Transpose.ROTATE_180)
    exif = camera_exif("Apple", "iPhone 12", "2022:06:30 22:05:40", software="15.5", exposure=(1, 250),
                       fnumber=1.6, iso=32, focal=4)
    return jpeg(im, exif)


PHOTOS: tuple[Photo, ...] = (
    Photo("photos/张伟 月亮.jpg", _camera_jpeg(scene_moon_hills, 101, "Canon", "Canon EOS 90D",
                                             "2022:06:14 21:03:12", exposure=(1, 60), fnumber=5.6, iso=800,
                                             focal=300)),
    Photo("photos/east/li_na_sunset.jpg", _camera_jpeg(scene_sunset, 202, "NIKON CORPORATION", "NIKON D7500",
                                                       "2022:06:20 19:01:44", software="Ver.1.20",
                                                       exposure=(1, 800), fnumber=8.0, iso=100, focal=70)),
    Photo("photos/central/王芳_银河.jpg", _camera_jpeg(scene_milky_way, 303, "SONY", "ILCE-6400",
                                                    "2022:06:25 00:12:30", exposure=(20, 1), fnumber=2.0,
                                                    iso=3200, focal=16)),
    Photo("photos/south/刘䶮-日食.jpg", _camera_jpeg(scene_eclipse, 404, "FUJIFILM", "X-T30",
                                                  "2020:06:21 15:26:01", exposure=(1, 250), fnumber=8.0,
                                                  iso=200, focal=400)),
    Photo("photos/west/chen_jing_conjunction.jpg", _camera_jpeg(scene_conjunction, 505, "Apple", "iPhone 13 Pro",
                                                                "2022:06:30 20:31:18", software="15.5",
                                                                exposure=(1, 10), fnumber=1.5, iso=1000,
                                                                focal=6)),
    Photo("photos/intl/Maria Garcia - Saturn.jpg", _camera_jpeg(scene_saturn, 606, "samsung", "SM-G991B",
                                                                "2022:07:02 00:41:55", exposure=(1, 15),
                                                                fnumber=1.8, iso=400, focal=5)),
    Photo("photos/intl/ahmed_khan_trails.jpg", _camera_jpeg(scene_star_trails, 707, "Canon", "Canon EOS 2000D",
                                                            "2022:06:18 23:58:02", exposure=(30, 1),
                                                            fnumber=3.5, iso=800, focal=18)),
    Photo("photos/intl/olga_aurora.jpg", _camera_jpeg(scene_aurora, 808, "NIKON CORPORATION", "NIKON Z 50",
                                                      "2022:03:14 01:22:10",
                                                      software="Adobe Photoshop Lightroom Classic 11.4 (Windows)",
                                                      exposure=(8, 1), fnumber=2.8, iso=1600, focal=16)),
    Photo("photos/east/赵磊 彗星.jpg", _camera_jpeg(scene_comet, 909, "Canon", "Canon EOS R6",
                                                "2022:06:22 04:10:37", exposure=(10, 1), fnumber=2.8,
                                                iso=2500, focal=50)),
    Photo("photos/central/zhou_jie_moon.jpg", _truncated(scene_moon_closeup, 1111)),
    Photo("photos/south/王强.jpg", lambda _: b""),
    Photo("photos/north/IMG_4521.jpg", lambda _: heic_stub(1313)),
    Photo("photos/west/zheng_jie_sunset.webp", _webp),
    Photo("photos/north/huang_lei_venus.jpg", _png_as_jpg),
    Photo("photos/west/lin_tao_milky_way_full_resolution.jpg", _oversize),
    Photo("photos/south/he_jing_moon_small.jpg", _camera_jpeg(scene_halo, 1717, "Xiaomi", "Redmi Note 9 Pro",
                                                              "2022:07:05 21:40:12", size=(1600, 1067),
                                                              exposure=(1, 8), fnumber=1.9, iso=1250,
                                                              focal=5)),
    Photo("photos/west/马超 竖拍.jpg", _portrait_rotated),
    Photo("photos/south/zhu_lin.jpg", _camera_jpeg(scene_milky_way, 1919, "Canon", "Canon EOS 800D",
                                                   "2022:06:27 23:30:00", exposure=(25, 1),
                                                   fnumber=2.8, iso=3200, focal=14)),
    Photo("photos/north/hu_jun_andromeda.jpg", _camera_jpeg(scene_desert, 2020, "PENTAX", "PENTAX K-70",
                                                            "2022:06:24 01:05:33", exposure=(15, 1),
                                                            fnumber=2.8, iso=3200, focal=35)),
    Photo("photos/central/guo_min_planets.jpg", _camera_jpeg(scene_conjunction, 2121, "Apple", "iPhone 11",
                                                             "2022:06:24 04:40:12", software="15.4.1",
                                                             exposure=(1, 4), fnumber=1.8, iso=1250,
                                                             focal=4)),
    Photo("photos/central/luo_lan_stars.jpg", _camera_jpeg(scene_star_trails, 2222, "OLYMPUS CORPORATION",
                                                           "E-M10MarkIII", "2022:07:01 22:15:48",
                                                           exposure=(25, 1), fnumber=2.0, iso=1600, focal=12)),
    Photo("photos/north/liang_yu_moon.jpg", _duplicate_of("photos/张伟 月亮.jpg"), needs="photos/张伟 月亮.jpg"),
    Photo("photos/east/宋佳/城市星空.jpg", _camera_jpeg(scene_city_stars, 2424, "HUAWEI", "NOH-AN00",
                                                     "2022:07:06 22:48:19", exposure=(1, 5), fnumber=1.8,
                                                     iso=1600, focal=6)),
    Photo("photos/south/xie_na_first.jpg", _camera_jpeg(scene_conjunction, 2525, "Canon", "Canon EOS 850D",
                                                        "2022:07:01 20:05:00", exposure=(1, 8), fnumber=4.0,
                                                        iso=800, focal=55)),
    Photo("photos/south/xie_na_second.jpg", _camera_jpeg(scene_saturn, 2526, "ZWO", "ASI224MC",
                                                         "2022:07:07 23:59:10",
                                                         exposure=(1, 50), fnumber=8.0, iso=400, focal=1500)),
    Photo("photos/north/han_xue_snow_stars.jpg", _no_exif),
    Photo("photos/east/feng_bo_nebula.png", _sd_png),
    Photo("photos/south/cao_yang_moonlit_bay.jpg", _ai_jpeg),
    Photo("photos/central/deng_hui_poster.jpg", _poster, "sample_data/astronaut_face.jpg is missing"),
    Photo("photos/north/李明 日落.jpg", _watermarked),
    Photo("photos/west/peng_fei_eclipse.jpg", _camera_jpeg(scene_partial_eclipse, 3131, "NIKON CORPORATION",
                                                           "NIKON D5600", "2022:07:10 06:02:15",
                                                           exposure=(1, 2000), fnumber=11.0, iso=100,
                                                           focal=300)),
    Photo("photos/west/zeng_jing_desert_stars.jpg", _camera_jpeg(scene_desert, 3232, "Canon", "Canon EOS 90D",
                                                                 "2022:06:26 23:41:07", exposure=(20, 1),
                                                                 fnumber=2.8, iso=3200, focal=11)),
    Photo("photos/north/jiang_tao_moon_halo.jpg", _camera_jpeg(scene_halo, 3333, "Apple", "iPhone XR",
                                                               "2022:06:29 21:14:56", software="15.3",
                                                               exposure=(1, 4), fnumber=1.8, iso=800,
                                                               focal=4)),
    Photo("photos/杨帆 郑州夜空.jpg", _camera_jpeg(scene_aurora, 3434, "SONY", "ILCE-7M3",
                                               "2022:07:01 23:03:27", exposure=(15, 1), fnumber=1.8,
                                               iso=3200, focal=20)),
    Photo("photos/west/xu_ke_sunset.jpg", _camera_jpeg(scene_sunset, 3535, "FUJIFILM", "X-S10",
                                                       "2022:06:30 20:15:12", exposure=(1, 1000),
                                                       fnumber=8.0, iso=160, focal=35)),
    Photo(UNLISTED.file, _unlisted),
)


# --------------------------------------------------------------------------------------------------
# The manifest and the folder.
# --------------------------------------------------------------------------------------------------


def manifest_bytes(encoding: str = "utf-8-sig", chinese_headers: bool = False) -> bytes:
    """The contestant spreadsheet as Excel saves it: 'CSV UTF-8' (BOM, CRLF), GB18030 CSV as Chinese
    Windows' plain 'CSV' does, or 'Unicode Text' (UTF-16 with BOM, tab-separated)."""
    if encoding not in ENCODINGS:
        raise ValueError(f"encoding must be one of {', '.join(ENCODINGS)}")
    header = [CHINESE_HEADERS[c] if chinese_headers else c for c in COLUMNS]
    buf = io.StringIO(newline="")
    writer = csv.writer(buf, delimiter="\t" if encoding == "utf-16" else ",", lineterminator="\r\n")
    writer.writerow(header)
    for row in ROWS:
        writer.writerow(row.cells())
    return buf.getvalue().encode(encoding)


def _write_if_changed(path: Path, data: bytes) -> bool:
    if path.is_file() and path.stat().st_size == len(data) and path.read_bytes() == data:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)
    return True


def _make_photo(index: int) -> bytes | None:
    """Build one independent photo (a worker process's job)."""
    return PHOTOS[index].make({})


def _can_fork() -> bool:
    """Worker processes are forked, so they need no pickled closures; only where fork is the norm."""
    import multiprocessing

    this = sys.modules.get(__name__)
    return (sys.platform.startswith("linux") and "fork" in multiprocessing.get_all_start_methods()
            and getattr(this, "_make_photo", None) is _make_photo)


def photo_bytes(jobs: int = 2, log: Callable[[str], None] | None = None) -> dict[str, bytes]:
    """{relative path: bytes} of every photo file, built in `jobs` processes (the output does not
    depend on how many: each photo has its own seed)."""
    independent = [i for i, p in enumerate(PHOTOS) if p.needs is None]
    results: dict[int, bytes | None] = {}
    if jobs > 1 and _can_fork():
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        # the biggest first, so the pool does not end waiting on one long job
        order = sorted(independent, key=lambda i: PHOTOS[i].make not in (_oversize, _png_as_jpg))
        with ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("fork")) as pool:
            results = dict(zip(order, pool.map(_make_photo, order), strict=True))
    else:
        results = {i: _make_photo(i) for i in independent}
    done: dict[str, bytes] = {}
    for i, photo in enumerate(PHOTOS):
        data = results[i] if i in results else photo.make(done)
        if data is None:
            if log:
                log(f"left out {photo.path}: {photo.note}")
            continue
        done[photo.path] = data
    return done


def fingerprint(encoding: str = "utf-8-sig", chinese_headers: bool = False) -> str:
    """What the output depends on: this script, the libraries that encode the files, the options."""
    import PIL

    parts = [Path(__file__).read_bytes(), PIL.__version__.encode(), np.__version__.encode(),
             ASTRONAUT.read_bytes() if ASTRONAUT.is_file() else repr(astronaut() is not None).encode(),
             repr((encoding, chinese_headers, RENDER_SCALE)).encode()]
    return hashlib.sha256(b"\0".join(parts)).hexdigest()


def _listing(out: Path) -> set[str]:
    return {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file() and p.name != MARKER}


def _up_to_date(out: Path, fp: str) -> dict[str, bytes] | None:
    """The folder's files if an earlier run with the same fingerprint wrote exactly them, else None."""
    try:
        record = json.loads((out / MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    files = record.get("files") if isinstance(record, dict) and record.get("fingerprint") == fp else None
    if not isinstance(files, dict) or _listing(out) != set(files):
        return None
    found: dict[str, bytes] = {}
    for rel, digest in files.items():
        data = (out / rel).read_bytes()
        if hashlib.sha256(data).hexdigest() != digest:
            return None
        found[rel] = data
    return found


def build(out: Path = DEFAULT_OUT, encoding: str = "utf-8-sig", chinese_headers: bool = False, jobs: int = 2,
          log: Callable[[str], None] | None = None, force: bool = False) -> dict[str, bytes]:
    """Write the sample submissions folder; return {relative path: bytes} of every file in it.

    A folder an earlier run made with the same script and options is checked and left alone (a
    second run takes a fraction of a second). Otherwise files already holding the right bytes are left
    untouched, and files this run would not write are removed: only in a folder this script made,
    recognised by its hidden marker file.
    """
    out = Path(out)
    marker = out / MARKER
    if out.exists() and any(out.iterdir()) and not marker.exists():
        raise FileExistsError(f"{out} is not empty and was not made by this script; choose another --out")
    fp = fingerprint(encoding, chinese_headers)
    if not force and marker.exists():
        cached = _up_to_date(out, fp)
        if cached is not None:
            if log:
                log(f"{out} is up to date")
            return cached
    out.mkdir(parents=True, exist_ok=True)
    marker.write_text(json.dumps({"fingerprint": None, "made_by": "sample_data/make_sample.py"}), encoding="utf-8")
    done = photo_bytes(jobs, log)
    done["entries.csv"] = manifest_bytes(encoding, chinese_headers)
    for rel, data in done.items():
        _write_if_changed(out / rel, data)
    for rel in _listing(out) - set(done):
        (out / rel).unlink()
    for folder in sorted((p for p in out.rglob("*") if p.is_dir()), key=lambda p: -len(p.parts)):
        if not any(folder.iterdir()):
            folder.rmdir()
    record = {"fingerprint": fp, "made_by": "sample_data/make_sample.py",
              "files": {rel: hashlib.sha256(data).hexdigest() for rel, data in sorted(done.items())}}
    marker.write_text(json.dumps(record, ensure_ascii=False, indent=1), encoding="utf-8")
    return done


def markdown_table() -> str:
    """The README's table: every entry, what it exercises and the status the validator should give it."""
    lines = ["| # | contestant_id | name | grade | province | file | rules expected | why | status |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for n, row in enumerate((*ROWS, UNLISTED), start=1):
        rules = ", ".join(f"`{r}`" for r in row.finds.split()) or "—"
        cid = row.contestant_id or ("(empty)" if row is not UNLISTED else "—")
        cells = [str(n), cid, row.name or "—", row.grade or "—", row.province or "—", f"`{row.file}`", rules,
                 row.why or "—", row.expect]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="folder to write (default: %(default)s)")
    parser.add_argument("--encoding", choices=ENCODINGS, default="utf-8-sig",
                        help="manifest encoding (utf-16 is written tab-separated, as Excel's 'Unicode Text')")
    parser.add_argument("--chinese-headers", action="store_true", help="write 姓名/学校/年级... as column names")
    parser.add_argument("--jobs", type=int, default=min(2, os.cpu_count() or 1),
                        help="worker processes (default: %(default)s; the files do not depend on it)")
    parser.add_argument("--force", action="store_true", help="rebuild even if the folder is up to date")
    parser.add_argument("--table", action="store_true", help="print the README's table of entries and exit")
    args = parser.parse_args(argv)
    if args.table:
        print(markdown_table(), end="")
        return 0
    began = time.perf_counter()
    done = build(args.out, args.encoding, args.chinese_headers, args.jobs, log=lambda m: print(m, file=sys.stderr),
                 force=args.force)
    total = sum(len(d) for d in done.values())
    print(f"{args.out}: {len(done) - 1} image files and entries.csv ({len(ROWS)} rows), "
          f"{total / 1e6:.1f} MB, {time.perf_counter() - began:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
