"""Perceptual hashes of the shared reduced decode: the same picture resized, recompressed or converted
to another format hashes to (nearly) the same 64 bits. A few lines of NumPy instead of imagehash,
which would pull SciPy and PyWavelets (~150 MB) for the same result."""

from __future__ import annotations

from functools import cache

import numpy as np
from PIL import Image


def _bits_to_hex(bits: np.ndarray) -> str:
    value = 0
    for bit in bits.flatten():
        value = (value << 1) | int(bool(bit))
    return f"{value:016x}"


def _grey(image: Image.Image) -> Image.Image:
    return image if image.mode == "L" else image.convert("L")


def dhash_hex(image: Image.Image) -> str:
    """Difference hash: brighter-than-right-neighbour bits of a 9x8 grey thumbnail."""
    small = np.asarray(_grey(image).resize((9, 8), Image.Resampling.LANCZOS, reducing_gap=2.0), dtype=np.int16)
    return _bits_to_hex(small[:, 1:] > small[:, :-1])


@cache
def _dct_matrix(n: int) -> np.ndarray:
    k = np.arange(n)
    matrix = np.cos(np.pi * (2 * k[None, :] + 1) * k[:, None] / (2 * n))
    matrix[0] /= np.sqrt(2)
    return matrix * np.sqrt(2 / n)


def phash_hex(image: Image.Image) -> str:
    """DCT hash: low 8x8 frequencies of a 32x32 grey thumbnail against their median."""
    small = np.asarray(_grey(image).resize((32, 32), Image.Resampling.LANCZOS, reducing_gap=2.0), dtype=np.float64)
    d = _dct_matrix(32)
    low = (d @ small @ d.T)[:8, :8]
    return _bits_to_hex(low > np.median(low))


def distance(a: str, b: str) -> int:
    """Hamming distance between two hex hashes."""
    return (int(a, 16) ^ int(b, 16)).bit_count()
