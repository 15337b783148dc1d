"""The jury's rubric: what each score band means for each criterion, as the score sheet and the scoring page say it.

A juror scoring 300 photos on four criteria drifts unless the scale is written down where they type. The texts
come from settings `[jury.rubric]` over the built-in `settings.JURY_RUBRIC`, four per criterion, for the bands
1-3, 4-6, 7-8 and 9-10 of the call's 1-10 scale; another score range gets the same bands scaled to it. Excel's
limits are kept here, because Excel refuses to open (or "repairs") a workbook that breaks them: an input prompt
holds at most 255 characters and its title 32.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

PROMPT_MAX = 255  # Excel: a data validation's input message
PROMPT_TITLE_MAX = 32  # Excel: its title
# the upper bounds of the bands on the call's 1-10 scale
_BAND_TOPS = (3, 6, 8, 10)
# a criterion a contest adds without its own texts
GENERIC = ["Weak on this criterion", "Fair: meets it in part", "Good: meets it well", "Outstanding on this criterion"]
DASH = "–"  # en dash, as a range is printed


@dataclass(frozen=True)
class Band:
    low: int
    high: int
    text: str

    @property
    def span(self) -> str:
        """'1–3', or '10' for a band of one score."""
        return str(self.low) if self.low == self.high else f"{self.low}{DASH}{self.high}"


def band_bounds(score_min: int, score_max: int) -> list[tuple[int, int]]:
    """The four bands' (low, high) on the contest's scale: 1-3, 4-6, 7-8, 9-10 on 1-10, scaled to another range
    (1-5: 1-2, 3, 4, 5). A band that a short scale leaves empty is dropped (1-3: 1, 2, 3)."""
    span = score_max - score_min
    out: list[tuple[int, int]] = []
    low = score_min
    for top in _BAND_TOPS:
        high = score_max if top == _BAND_TOPS[-1] else score_min + round((top - 1) / 9 * span)
        if high >= low:
            out.append((low, high))
            low = high + 1
    return out


def criterion_label(criterion: str) -> str:
    """'technique' -> 'Technique' (the contest's own criterion names, capitalised)."""
    return criterion[:1].upper() + criterion[1:]


def rubric(jury: Mapping[str, Any], criteria: Sequence[str] | None = None) -> dict[str, list[Band]]:
    """criterion -> its bands with their texts, for the criteria of `jury` (settings.jury, or `criteria`).

    The contest's `[jury.rubric]` texts win; a criterion without them keeps the built-in ones, a criterion the
    built-in table does not know gets generic texts. When the scale has fewer than four bands, the texts of the
    top bands are kept (the weakest band's text is the one merged away)."""
    from milsetctl.settings import JURY_RUBRIC

    found = jury.get("rubric")
    own: Mapping[str, Any] = found if isinstance(found, Mapping) else {}
    bounds = band_bounds(int(jury.get("score_min", 1)), int(jury.get("score_max", 10)))
    out: dict[str, list[Band]] = {}
    for criterion in criteria if criteria is not None else [str(c) for c in jury.get("criteria", [])]:
        texts = [str(t).strip() for t in (own.get(criterion) or JURY_RUBRIC.get(criterion) or GENERIC)]
        texts = texts[len(texts) - len(bounds):]
        out[criterion] = [Band(lo, hi, text) for (lo, hi), text in zip(bounds, texts, strict=True)]
    return out


def weights(jury: Mapping[str, Any]) -> dict[str, float]:
    """criterion -> its weight (settings jury.weights, same order as the criteria)."""
    criteria = [str(c) for c in jury.get("criteria", [])]
    values = list(jury.get("weights") or [1] * len(criteria))
    return {c: float(w) for c, w in zip(criteria, values, strict=False)}


def weight_text(value: float) -> str:
    """1.0 -> '1', 1.5 -> '1.5'."""
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def weights_sentence(jury: Mapping[str, Any]) -> str:
    """How the criteria weigh in the score, in one sentence for the juror."""
    w = weights(jury)
    if len(set(w.values())) <= 1:
        return f"All {len(w)} criteria count equally in the score."
    listed = ", ".join(f"{criterion_label(c)} ×{weight_text(v)}" for c, v in w.items())
    return f"The criteria do not count equally in the score: {listed}."


def prompt_title(criterion: str, score_min: int, score_max: int) -> str:
    """A score cell's input-prompt title, within Excel's 32 characters: 'Originality 1–10'."""
    scale = f" {score_min}{DASH}{score_max}"
    return criterion_label(criterion)[:PROMPT_TITLE_MAX - len(scale)].rstrip() + scale


def prompt_text(bands: Sequence[Band], limit: int = PROMPT_MAX) -> str:
    """A score cell's input prompt: one line per band ('1–3: A familiar subject...'), within Excel's 255
    characters. When the texts are too long for it, the longest are cut to one common length, each ending with
    '…' (the Instructions sheet carries them whole); the short ones stay whole."""
    heads = [f"{b.span}: " for b in bands]
    texts = [b.text for b in bands]
    room = limit - sum(len(h) for h in heads) - (len(bands) - 1)
    if sum(len(t) for t in texts) > room:
        cap = max(2, room // max(1, len(texts)))
        while sum(min(len(t), cap + 1) for t in texts) <= room:  # the longest common length that still fits
            cap += 1
        texts = [t if len(t) <= cap else t[:cap - 1].rstrip() + "…" for t in texts]
    return "\n".join(h + t for h, t in zip(heads, texts, strict=True))
