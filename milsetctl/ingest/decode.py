"""A CSV's bytes as text, in whichever encoding Excel and WPS wrote it (UTF-8 with or without BOM, UTF-16, GB18030,
Windows-1252, Big5, Shift-JIS, Mac Roman...), and the error every reader of a manifest raises when it cannot be used.
"""

from __future__ import annotations

import codecs
import re
from pathlib import Path
from typing import Any


class ManifestError(ValueError):
    """The manifest cannot be used as a whole (unreadable, no header, a required column missing)."""


# The encodings Excel and WPS write a "CSV" in besides UTF-8/UTF-16, most likely first: the order breaks ties.
# Mac Roman is what Excel for Mac writes as "Comma Separated Values" (with classic-Mac CR line endings).
LEGACY_ENCODINGS = ("gb18030", "cp1252", "big5", "shift_jis", "mac_roman", "latin_1")
ENCODING_NAMES = {
    "gb18030": "GB18030 (Chinese Excel/WPS)", "cp1252": "Windows-1252 (Western European Excel)",
    "big5": "Big5 (Traditional Chinese Excel)", "shift_jis": "Shift-JIS (Japanese Excel)",
    "mac_roman": "Mac Roman (Excel for Mac)", "latin_1": "Latin-1 (ISO 8859-1)",
}


def decode_text(raw: bytes, path: Path) -> tuple[str, str]:
    """Decode a CSV as Excel and WPS write it; (text, encoding). See `decode_csv_bytes`."""
    text, encoding, _ = decode_csv_bytes(raw, path)
    return text, encoding


def decode_csv_bytes(raw: bytes, path: Path) -> tuple[str, str, list[str]]:
    """(text, encoding, notes) of a CSV: UTF-8 (BOM or not), UTF-16 (BOM, or NUL-heavy without), else the most
    plausible of LEGACY_ENCODINGS as charset-normalizer judges them (mess and language coherence of each
    decoding; ties go to the likelier encoding). A note names a legacy encoding, and says so when another one
    would have read the file nearly as well. Raises ManifestError naming the line no encoding can read.
    """
    if raw.startswith(codecs.BOM_UTF8):
        try:
            return raw[3:].decode("utf-8"), "utf-8-sig", []
        except UnicodeDecodeError as exc:  # 'CSV UTF-8' with a byte pasted in from elsewhere
            exc.start += 3
            raise _undecodable(path, raw, exc) from exc
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return raw.decode("utf-16"), "utf-16", []
        except UnicodeDecodeError as exc:  # an odd byte count, a broken surrogate: a damaged or cut file
            raise _undecodable(path, raw, exc) from exc
    # UTF-16 without BOM: every other byte NUL in ASCII-heavy text
    sample = raw[:2000]
    if sample and sample.count(b"\x00") > len(sample) // 4:
        encoding = "utf-16-le" if sample[1:2] == b"\x00" else "utf-16-be"
        try:
            return raw.decode(encoding), encoding, []
        except UnicodeDecodeError:
            pass  # NULs, but no UTF-16 (binary junk): judged below like any other bytes
    try:
        return raw.decode("utf-8"), "utf-8", []
    except UnicodeDecodeError as exc:
        utf8_error = exc
    if _mostly_utf8(raw):
        # UTF-8 with a stray byte: a legacy decoder would "succeed" and turn every Chinese name into mojibake
        raise _undecodable(path, raw, utf8_error) from utf8_error
    return _decode_legacy(raw, path)


def _decode_legacy(raw: bytes, path: Path) -> tuple[str, str, list[str]]:
    from charset_normalizer import from_bytes

    matches = list(from_bytes(raw, cp_isolation=list(LEGACY_ENCODINGS), threshold=0.25))
    mac = b"\r" in raw and b"\n" not in raw  # classic-Mac line endings: Excel for Mac, so Mac Roman first
    if not matches:
        try:
            raw.decode("gb18030")
        except UnicodeDecodeError as exc:
            raise _undecodable(path, raw, exc) from exc
        raise ManifestError(f"{path.name}: the text is in no encoding Excel writes; save the spreadsheet as "
                            "'CSV UTF-8' (or as .xlsx) and try again.")

    mess = {m.encoding: m.chaos + _implausible(str(m)) for m in matches}

    def rank(m: Any) -> tuple[float, float, int]:
        priority = LEGACY_ENCODINGS.index(m.encoding) if m.encoding in LEGACY_ENCODINGS else 99
        if mac and m.encoding == "mac_roman":
            priority = -1
        return (round(mess[m.encoding], 2), -round(m.coherence, 2), priority)

    matches.sort(key=rank)
    best = matches[0]
    text = str(best)
    notes = [f"{path.name}: text encoding {ENCODING_NAMES.get(best.encoding, best.encoding)}"]
    for other in matches[1:]:
        other_text = str(other)
        if other_text == text or mess[other.encoding] > mess[best.encoding] + 0.1 \
                or other.coherence < best.coherence - 0.1:
            continue
        ours, theirs = _first_difference(text, other_text)
        notes = [f"{path.name}: the text encoding is ambiguous: read as "
                 f"{ENCODING_NAMES.get(best.encoding, best.encoding)} ({ours!r}); "
                 f"{ENCODING_NAMES.get(other.encoding, other.encoding)} would read {theirs!r}. If names look "
                 "wrong, save the spreadsheet as 'CSV UTF-8'."]
        break
    return text, best.encoding, notes


def _implausible(text: str) -> float:
    """The share of non-ASCII characters no spreadsheet of names holds: half-width katakana (what Shift-JIS makes
    of GBK bytes), C1 controls, private-use characters. charset-normalizer's mess measure lets the first pass."""
    total = len(text) - len(text.encode("ascii", "ignore"))
    return len(_ODD.findall(text)) / total if total else 0.0


_ODD = re.compile("[\uff61-\uff9f\x80-\x9f\ue000-\uf8ff]")


def _first_difference(a: str, b: str) -> tuple[str, str]:
    """The first cell-sized stretch where two decodings of the same bytes differ."""
    for line_a, line_b in zip(a.splitlines(), b.splitlines(), strict=False):
        if line_a != line_b:
            for cell_a, cell_b in zip(re.split(r"[,;\t|]", line_a), re.split(r"[,;\t|]", line_b), strict=False):
                if cell_a != cell_b:
                    return cell_a.strip()[:40], cell_b.strip()[:40]
            return line_a[:40], line_b[:40]
    return a[:40], b[:40]


def _mostly_utf8(raw: bytes) -> bool:
    """Many valid UTF-8 multi-byte characters and few invalid bytes: UTF-8 text, damaged in places.

    GBK text decoded as UTF-8 fails on nearly every Chinese character, so the two are far apart.
    """
    text = raw.decode("utf-8", "replace")
    errors = text.count("\ufffd")
    valid = sum(1 for ch in text if ch > "\x7f") - errors
    return valid > 2 * errors


def _undecodable(path: Path, raw: bytes, exc: UnicodeDecodeError) -> ManifestError:
    before = raw[: exc.start]
    line = (before.count(b"\n") if b"\n" in raw else before.count(b"\r")) + 1  # Excel for Mac: CR-only lines
    return ManifestError(
        f"{path.name}: cannot read the text on line {line}: it is neither UTF-8, UTF-16 nor GB18030/GBK. "
        "Save the spreadsheet as 'CSV UTF-8' (or as .xlsx) and try again."
    )
