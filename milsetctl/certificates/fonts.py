"""Which characters the certificate's fonts can print: a name that would come out as empty boxes is refused.

The template names these families (CSS font-family stacks); WeasyPrint finds them through fontconfig, so the files
checked here are the ones fontconfig gives for the same names (`fc-match`)."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

# the families the certificate template uses, in its font-family order
FAMILIES = ("DejaVu Serif", "DejaVu Sans", "Noto Serif CJK SC", "Noto Sans CJK SC")
# characters that never need a glyph (spaces and joiners are drawn as space or not at all)
_INVISIBLE = {0x20, 0xA0, 0x200B, 0x200C, 0x200D, 0x2009, 0x202F, 0xFEFF}


# the CJK faces the template names, cut to each batch's characters (subset.py says why): (the template's role for
# the face, the system family it stands for, fontconfig style, CSS font-weight)
BATCH_FACES = (("serif", "Noto Serif CJK SC", "bold", "bold"),
               ("serif", "Noto Serif CJK SC", "regular", "normal"),
               ("sans", "Noto Sans CJK SC", "regular", "normal"))


@cache
def _font_file(family: str, style: str = "") -> tuple[Path, int] | None:
    """fontconfig's file and face index for an exact family name (and style, e.g. "bold"), or None when the family
    is not installed."""
    try:
        pattern = f"{family}:{style}" if style else family
        res = subprocess.run(["fc-match", "-f", "%{family}\t%{file}\t%{index}", pattern],
                             capture_output=True, text=True, timeout=20, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    parts = res.stdout.split("\t")
    if res.returncode != 0 or len(parts) != 3 or family not in parts[0].split(","):
        return None  # fontconfig substituted another family: the named one is missing
    return Path(parts[1]), int(parts[2] or 0)


@cache
def _cmap(path: str, index: int) -> frozenset[int]:
    from fontTools.ttLib import TTFont

    font = TTFont(path, fontNumber=index, lazy=True)
    try:
        return frozenset(font.getBestCmap() or {})
    finally:
        font.close()


@lru_cache(maxsize=1)
def covered() -> frozenset[int]:
    """Every code point some certificate font has a glyph for (the fonts' cmaps, read once per process)."""
    points: set[int] = set()
    for family in FAMILIES:
        found = _font_file(family)
        if found is not None:
            points |= _cmap(str(found[0]), found[1])
    return frozenset(points)


def missing_fonts() -> list[str]:
    """The template's families fontconfig does not have (scripts/install.sh installs them)."""
    return [f for f in FAMILIES if _font_file(f) is None]


def first_missing_char(text: str) -> str | None:
    """The first character of `text` no certificate font can draw, or None when all print."""
    have = covered()
    for ch in text:
        cp = ord(ch)
        if cp in _INVISIBLE or cp < 0x20:
            continue
        if cp not in have:
            return ch
    return None


@contextmanager
def batch_fonts(cache_dir: Path, texts: Iterable[str], faces: tuple[tuple[str, str, str, str], ...] = BATCH_FACES,
                name: str = "Certificate") -> Iterator[dict[str, Any]]:
    """`faces` (BATCH_FACES: the certificate's) cut to the characters of `texts` (both cases: the template
    upper-cases some lines), as files in a temporary folder under `cache_dir` that lives as long as the `with`
    block; `name` begins their family names (the result notices cut theirs too: notices/render.py).

    Yields {"faces": [{"family", "weight", "url"}] for the template's @font-face rules, "families": {role: family
    name}}. The family names carry a digest of the characters: a process that prints two batches (fontconfig and
    WeasyPrint keep fonts by family name) never draws one batch's glyph numbers with the other's font. No faces
    and no families when HarfBuzz's subsetter is missing: the template then names the system faces directly
    (same print, slower and larger PDFs)."""
    from milsetctl.certificates.subset import subset_font

    chars: set[str] = set()
    for text in texts:
        if text:
            chars.update(text, text.upper(), text.lower())
    chars.update(" 0123456789")
    tag = hashlib.sha256("".join(sorted(chars)).encode("utf-8", "surrogatepass")).hexdigest()[:12]
    cache_dir.mkdir(parents=True, exist_ok=True)
    for stale in cache_dir.glob("certificate-fonts-*"):  # a killed run's; an hour old: no batch runs that long
        if stale.is_dir() and time.time() - stale.stat().st_mtime > 3600:
            shutil.rmtree(stale, ignore_errors=True)
    folder = Path(tempfile.mkdtemp(prefix="certificate-fonts-", dir=cache_dir))
    try:
        cut: list[dict[str, str]] = []
        families: dict[str, str] = {}
        for role, family, style, weight in faces:
            found = _font_file(family, style)
            data = subset_font(str(found[0]), found[1], chars) if found is not None else None
            if data is None:
                continue
            cut_family = f"{name} {role} CJK {tag}"
            path = folder / f"{role}-{weight}-{tag}.otf"
            path.write_bytes(data)
            cut.append({"family": cut_family, "weight": weight, "url": path.as_uri()})
            families[role] = cut_family
        yield {"faces": cut, "families": families}
    finally:
        shutil.rmtree(folder, ignore_errors=True)
