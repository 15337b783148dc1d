"""Rules that look at the pixels: faces (data protection) and visible text or watermarks.

Both are `review`: a detector can be wrong either way, so the coordinator looks and decides. Each
finding carries the boxes (in displayed-image pixels, EXIF orientation applied) so a report can draw
them on the thumbnail. The detectors live in `milsetctl.analysis`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from milsetctl.probe import Probe
from milsetctl.rules import rule
from milsetctl.settings import Settings

MAX_LISTED = 5  # boxes or lines spelled out in a message; all of them are in the data


def _display_size(probe: Probe) -> tuple[int, int]:
    assert probe.image is not None
    width = probe.info.display_width or round(probe.image.width * probe.scale)
    height = probe.info.display_height or round(probe.image.height * probe.scale)
    return int(width), int(height)


@rule("face", "review", "photo", uses=("analysis.face_min_score",), expensive=True)
def face(probe: Probe, settings: Settings) -> Iterator[tuple[str, dict[str, Any]]]:
    """A human face is detected in the photo; the message gives the boxes.

    The call for entries forbids faces for data protection: the photos are published, and the
    contestants are minors. The detector (dlib's HOG frontal-face detector) finds frontal and
    near-frontal faces of roughly a tenth of the photo's size or more; it misses profiles and tiny
    faces, and does not know a painted face from a real one, so a person reviews every hit.
    """
    from milsetctl.analysis import analysis_of
    from milsetctl.analysis.faces import detect_faces

    analysis = analysis_of(probe)
    if analysis is None:
        return
    min_score = float(settings.analysis.get("face_min_score", 0.5))
    faces = detect_faces(analysis, min_score)
    if not faces:
        return
    k = probe.scale
    boxes = [[round(f.x * k), round(f.y * k), round(f.w * k), round(f.h * k), round(f.score, 2)] for f in faces]
    listed = "; ".join(f"(x={x}, y={y}, w={w}, h={h}, score {s:.1f})" for x, y, w, h, s in boxes[:MAX_LISTED])
    more = f"; and {len(boxes) - MAX_LISTED} more" if len(boxes) > MAX_LISTED else ""
    noun = "face" if len(boxes) == 1 else "faces"
    width, height = _display_size(probe)
    yield (
        f"{len(boxes)} {noun} detected: {listed}{more}",
        {"boxes": boxes, "width": width, "height": height},
    )


@rule(
    "text-watermark",
    "review",
    "photo",
    uses=("analysis.text_min_score", "analysis.text_min_chars"),
    expensive=True,
)
def text_watermark(probe: Probe, settings: Settings) -> Iterator[tuple[str, dict[str, Any]]]:
    """Visible text or a watermark is detected; the message quotes what was read and where.

    The call for entries forbids watermarks and descriptive text in the image. Any legible line is
    reported: a name, handle, web address or date in a corner or along an edge is called out as a
    likely watermark; text in the scene (a sign, a T-shirt) is listed too, for the coordinator to judge.
    Text is only read where a fast pre-filter sees a line of high-contrast characters, so faint
    engraved or very small text can be missed.
    """
    from milsetctl.analysis import analysis_of
    from milsetctl.analysis.text import detect_text, placement, watermark_kind

    analysis = analysis_of(probe)
    if analysis is None:
        return
    min_score = float(settings.analysis.get("text_min_score", 0.8))
    min_chars = int(settings.analysis.get("text_min_chars", 3))
    result = detect_text(analysis, min_score, min_chars)
    if not result.lines:
        return
    rgb_h, rgb_w = analysis.rgb.shape[:2]
    k = probe.scale
    parts = []
    boxes = []
    watermark = False
    for line in result.lines:
        where = placement(line, rgb_w, rgb_h)
        kind = watermark_kind(line, where)
        watermark = watermark or kind is not None
        notes = [where] if where != "centre" else []
        if kind:
            notes.append(f"looks like a {kind}")
        parts.append(f'"{line.text}"' + (f" ({', '.join(notes)})" if notes else ""))
        box = [round(line.x * k), round(line.y * k), round(line.w * k), round(line.h * k)]
        boxes.append([*box, round(line.score, 2), line.text])
    more = f", and {len(parts) - MAX_LISTED} more" if len(parts) > MAX_LISTED else ""
    head = "watermark or text detected" if watermark else "text detected"
    width, height = _display_size(probe)
    yield (
        f"{head}: {', '.join(parts[:MAX_LISTED])}{more}",
        {"boxes": boxes, "width": width, "height": height, "watermark": watermark},
    )
