"""Which characters the certificate's fonts can print: a name that would come out as empty boxes is refused.

The template names these families (CSS font-family stacks); WeasyPrint finds them through fontconfig, so the files
checked here are the ones fontconfig gives for the same names (`fc-match`)."""

from __future__ import annotations

import subprocess
from functools import cache, lru_cache
from pathlib import Path

# the families the certificate template uses, in its font-family order
FAMILIES = ("DejaVu Serif", "DejaVu Sans", "Noto Serif CJK SC", "Noto Sans CJK SC")
# characters that never need a glyph (spaces and joiners are drawn as space or not at all)
_INVISIBLE = {0x20, 0xA0, 0x200B, 0x200C, 0x200D, 0x2009, 0x202F, 0xFEFF}


def _font_file(family: str) -> tuple[Path, int] | None:
    """fontconfig's file and face index for an exact family name, or None when the family is not installed."""
    try:
        res = subprocess.run(["fc-match", "-f", "%{family}\t%{file}\t%{index}", family],
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
