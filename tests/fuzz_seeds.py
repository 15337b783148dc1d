"""A deterministic fuzz corpus for the probe: small Pillow-made JPEG/PNG seeds and their mutated headers.

Nothing binary is committed: `corpus(n)` makes the seeds with Pillow and mutates them with a seeded
`random.Random`, so case 137 is the same bytes on every machine and a failure can be replayed with
`case(137)`. The mutations are the faults a hostile or broken upload carries in its header, where the
parsers (ours and Pillow's) do their structural work: bit flips, truncation, JPEG segment lengths and
SOF sizes, PNG chunk lengths, CRCs, types and IHDR sizes, bytes inserted or deleted.
"""

from __future__ import annotations

import functools
import io
import random
import struct
import zlib
from collections.abc import Callable

from PIL import Image
from PIL.PngImagePlugin import PngInfo

# mutations concentrate on the first bytes: markers, segment and chunk headers, dimensions
HEADER_SPAN = 700


def _picture(size: tuple[int, int], mode: str = "RGB") -> Image.Image:
    width, height = size
    gradient = Image.linear_gradient("L").resize(size)
    image = Image.merge("RGB", (gradient, gradient.transpose(Image.Transpose.ROTATE_90).resize(size),
                                Image.new("L", size, 90)))
    return image.convert(mode) if mode != "RGB" else image


def _save(image: Image.Image, fmt: str, **options: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


@functools.lru_cache(maxsize=1)
def seeds() -> dict[str, bytes]:
    """Small valid files of the kinds contestants send (a few KB each), by name."""
    exif = Image.Exif()
    exif[0x010F], exif[0x0110], exif[0x0112] = "Canon", "EOS R6", 6
    exif.get_ifd(0x8769)[0x9003] = "2022:06:01 10:00:00"
    text = PngInfo()
    text.add_text("Title", "seed")
    text.add_itxt("XML:com.adobe.xmp", '<x:xmpmeta xmp:CreatorTool="seed"></x:xmpmeta>', zip=True)
    text.add_text("Comment", "z" * 300, zip=True)
    return {
        "jpeg-baseline": _save(_picture((96, 64)), "JPEG", quality=80),
        "jpeg-exif": _save(_picture((96, 64)), "JPEG", quality=80, exif=exif.tobytes()),
        "jpeg-progressive": _save(_picture((96, 64)), "JPEG", quality=80, progressive=True),
        "jpeg-grey": _save(_picture((64, 64), "L"), "JPEG", quality=80),
        "jpeg-restart": _save(_picture((128, 64)), "JPEG", quality=80, restart_marker_blocks=1),
        "png-rgb": _save(_picture((64, 48)), "PNG"),
        "png-text-exif": _save(_picture((64, 48)), "PNG", pnginfo=text, exif=exif.tobytes()),
        "png-palette": _save(_picture((64, 48), "P"), "PNG"),
        "png-rgba-interlaced": _save(_picture((48, 48), "RGBA"), "PNG", interlace=1),
        "png-grey16": _save(_picture((32, 32), "L").convert("I;16"), "PNG"),
    }


# ---- mutations: each takes the seed's bytes and a Random, returns (what it did, new bytes) ----------------------

def _flip_bits(data: bytes, rng: random.Random) -> tuple[str, bytes]:
    out = bytearray(data)
    flips = rng.randint(1, 8)
    for _ in range(flips):
        i = rng.randrange(min(len(out), HEADER_SPAN))
        out[i] ^= 1 << rng.randrange(8)
    return f"{flips} bit flips", bytes(out)


def _truncate(data: bytes, rng: random.Random) -> tuple[str, bytes]:
    if len(data) < 2:
        return "as is", data
    cut = rng.randrange(1, len(data))
    return f"cut at {cut}", data[:cut]


def _insert_delete(data: bytes, rng: random.Random) -> tuple[str, bytes]:
    if len(data) < 4:
        return "as is", data
    i = rng.randrange(2, min(len(data), HEADER_SPAN))
    if rng.random() < 0.5:
        junk = bytes(rng.randrange(256) for _ in range(rng.randint(1, 16)))
        return f"{len(junk)} bytes inserted at {i}", data[:i] + junk + data[i:]
    n = rng.randint(1, 16)
    return f"{n} bytes deleted at {i}", data[:i] + data[i + n:]


_EXTREMES = (0, 1, 2, 3, 0x7F, 0x80, 0xFF, 0x100, 0x7FFF, 0x8000, 0xFFFE, 0xFFFF)


def _jpeg_segments(data: bytes) -> list[tuple[int, int]]:
    """(offset of the marker, marker byte) of each segment before the first scan."""
    found, i = [], 2
    while i + 4 <= len(data) and data[i] == 0xFF:
        marker = data[i + 1]
        found.append((i, marker))
        if marker == 0xDA:
            break
        i += 2 + int.from_bytes(data[i + 2 : i + 4], "big")
    return found


def _jpeg_length(data: bytes, rng: random.Random) -> tuple[str, bytes]:
    segments = _jpeg_segments(data)
    if not segments:
        return _flip_bits(data, rng)
    at, marker = rng.choice(segments)
    value = rng.choice(_EXTREMES) if rng.random() < 0.6 else rng.randrange(0x10000)
    out = bytearray(data)
    out[at + 2 : at + 4] = value.to_bytes(2, "big")
    return f"segment 0x{marker:02X} length {value}", bytes(out)


def _jpeg_sof(data: bytes, rng: random.Random) -> tuple[str, bytes]:
    sof = next((at for at, m in _jpeg_segments(data) if 0xC0 <= m <= 0xC2), None)
    if sof is None:
        return _flip_bits(data, rng)
    out = bytearray(data)
    width, height = (rng.choice((0, 1, 7, 8, 65535, rng.randrange(65536))) for _ in range(2))
    out[sof + 5 : sof + 9] = struct.pack(">HH", height, width)
    if rng.random() < 0.3:  # a component count or sampling factor that lies too
        out[sof + 9] = rng.choice((0, 2, 4, 255))
    return f"SOF size {width}x{height}", bytes(out)


def _png_chunks(data: bytes) -> list[int]:
    found, i = [], 8
    while i + 12 <= len(data):
        found.append(i)
        length = int.from_bytes(data[i : i + 4], "big")
        if data[i + 4 : i + 8] == b"IEND":
            break
        i += 12 + length
    return found


def _png_length(data: bytes, rng: random.Random) -> tuple[str, bytes]:
    if not _png_chunks(data):  # an earlier mutation cut the file before its first chunk
        return _flip_bits(data, rng)
    at = rng.choice(_png_chunks(data))
    value = rng.choice((0, 1, 13, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF, rng.randrange(1 << 32)))
    out = bytearray(data)
    out[at : at + 4] = value.to_bytes(4, "big")
    return f"chunk {bytes(data[at + 4:at + 8])!r} length {value}", bytes(out)


def _png_crc(data: bytes, rng: random.Random) -> tuple[str, bytes]:
    if not _png_chunks(data):  # an earlier mutation cut the file before its first chunk
        return _flip_bits(data, rng)
    at = rng.choice(_png_chunks(data))
    length = int.from_bytes(data[at : at + 4], "big")
    crc = at + 8 + length
    out = bytearray(data)
    out[crc : crc + 4] = rng.randrange(1 << 32).to_bytes(4, "big")
    return f"chunk {bytes(data[at + 4:at + 8])!r} CRC", bytes(out)


def _png_type(data: bytes, rng: random.Random) -> tuple[str, bytes]:
    if not _png_chunks(data):  # an earlier mutation cut the file before its first chunk
        return _flip_bits(data, rng)
    at = rng.choice(_png_chunks(data))
    kind = rng.choice((b"IHDR", b"IDAT", b"IEND", b"zTXt", b"iTXt", b"eXIf", b"iCCP", b"PLTE", b"tRNS", b"xxxx"))
    out = bytearray(data)
    out[at + 4 : at + 8] = kind
    return f"chunk at {at} retyped {kind!r}", bytes(out)


def _png_ihdr(data: bytes, rng: random.Random) -> tuple[str, bytes]:
    """A new IHDR size (or depth/colour type), with a correct CRC so the parsers believe it."""
    if len(data) < 33:
        return _truncate(data, rng) if len(data) > 1 else ("as is", data)
    out = bytearray(data)
    width, height = (rng.choice((0, 1, 0x7FFFFFFF, 0xFFFFFFFF, 50000, rng.randrange(1, 4096))) for _ in range(2))
    out[16:24] = struct.pack(">II", width, height)
    if rng.random() < 0.3:
        out[24], out[25] = rng.choice((1, 2, 4, 8, 16, 3, 77)), rng.choice((0, 2, 3, 4, 6, 5))
    out[29:33] = struct.pack(">I", zlib.crc32(bytes(out[12:29])) & 0xFFFFFFFF)
    return f"IHDR {width}x{height}", bytes(out)


_COMMON: list[Callable[[bytes, random.Random], tuple[str, bytes]]] = [_flip_bits, _truncate, _insert_delete]
MUTATORS = {
    "jpeg": [*_COMMON, _jpeg_length, _jpeg_length, _jpeg_sof],
    "png": [*_COMMON, _png_length, _png_crc, _png_type, _png_ihdr],
}


def case(index: int) -> tuple[str, bytes]:
    """Case `index` of the corpus: (a name saying seed and mutation, the bytes). Deterministic."""
    rng = random.Random(index * 7919 + 17)
    names = sorted(seeds())
    seed_name = names[index % len(names)]
    data = seeds()[seed_name]
    steps = []
    for _ in range(1 if rng.random() < 0.7 else 2):  # sometimes two faults at once
        mutate = rng.choice(MUTATORS[seed_name.split("-", 1)[0]])
        what, data = mutate(data, rng)
        steps.append(what)
    return f"#{index} {seed_name}: {'; '.join(steps)}", data


def corpus(count: int) -> list[tuple[str, bytes]]:
    return [case(i) for i in range(count)]
