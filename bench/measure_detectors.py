"""Measure the `face` and `text-watermark` detectors on the shared corpus: accuracy and cost.

    .venv/bin/python bench/measure_detectors.py [CORPUS_DIR] [--files N] [--details]

For every decodable photo it times, single-threaded in CPU time (time.process_time, so other load on
the machine inflates the numbers less than wall time would): a full Pillow decode of the file (the
product's cost unit), the probe's reduced decode, the face detector, the text detector ("gate": PP-OCR
detection on the whole photo and its bands) and the recognition of the boxes it finds ("ocr"). It prints
per-folder counts and milliseconds, then precision and recall: faces on camera_faces/ + faces/ against
camera_pass/, text on camera_text/ + text_graphics/ against camera_pass/ (the labels of MANIFEST.csv decide
the rest of the corpus).
"""

from __future__ import annotations

import argparse
import csv
import io
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path

from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from milsetctl.analysis import make_analysis  # noqa: E402
from milsetctl.analysis.faces import detect_faces, detector  # noqa: E402
from milsetctl.analysis.text import detect_lines, engine, read_lines  # noqa: E402
from milsetctl.probe import probe_file  # noqa: E402
from milsetctl.settings import defaults  # noqa: E402

FACE_POS = ("camera_faces", "faces")
TEXT_POS = ("camera_text", "text_graphics")
NEG = ("camera_pass",)


def cpu_ms(fn, *args):  # type: ignore[no-untyped-def]
    t = time.process_time()
    out = fn(*args)
    return out, (time.process_time() - t) * 1000


def full_decode(path: Path) -> float:
    data = path.read_bytes()
    t = time.process_time()
    try:
        with Image.open(io.BytesIO(data)) as im:
            im.load()
    except Exception:
        return float("nan")
    return (time.process_time() - t) * 1000


def pr(flags: dict[str, bool], pos: list[str], neg: list[str]) -> str:
    tp = sum(flags[f] for f in pos)
    fp = sum(flags[f] for f in neg)
    fn = len(pos) - tp
    precision = tp / (tp + fp) if tp + fp else float("nan")
    recall = tp / (tp + fn) if pos else float("nan")
    return f"precision {precision:.2f} ({tp}/{tp + fp}), recall {recall:.2f} ({tp}/{len(pos)})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("corpus", nargs="?", default=str(Path(__file__).resolve().parents[2] / "shared" / "corpus"))
    parser.add_argument("--files", type=int, default=0, help="only the first N files (a quick look)")
    parser.add_argument("--details", action="store_true", help="one line per photo")
    args = parser.parse_args()
    corpus = Path(args.corpus)
    rows = list(csv.DictReader((corpus / "MANIFEST.csv").open(encoding="utf-8")))
    if args.files:
        rows = rows[: args.files]
    settings = defaults().analysis
    face_min = float(settings["face_min_score"])
    text_min, text_chars = float(settings["text_min_score"]), int(settings["text_min_chars"])

    # load the models once, as each worker process does, and report that cost on its own
    _, load_face = cpu_ms(detector)
    _, load_ocr = cpu_ms(engine)
    print(f"model loading (once per process): dlib {load_face:.0f} ms, RapidOCR {load_ocr:.0f} ms")

    face_flag: dict[str, bool] = {}
    text_flag: dict[str, bool] = {}
    gated: dict[str, bool] = {}
    times: dict[str, dict[str, float]] = {}
    labels: dict[str, tuple[str, str]] = {}
    for row in rows:
        rel = row["file"]
        probe, t_probe = cpu_ms(probe_file, corpus / rel, rel, 120 * 10**6)
        if probe.image is None or min(probe.image.size) < 16:
            continue
        analysis, t_prep = cpu_ms(make_analysis, probe.image)
        faces, t_face = cpu_ms(detect_faces, analysis, face_min)
        candidates, t_gate = cpu_ms(detect_lines, analysis.rgb)  # "gate": PP-OCR text detection (issue 10)
        lines, t_ocr = ([], 0.0)
        if candidates:
            lines, t_ocr = cpu_ms(read_lines, analysis.rgb, candidates, text_min, text_chars)
        face_flag[rel], text_flag[rel], gated[rel] = bool(faces), bool(lines), bool(candidates)
        labels[rel] = (row.get("has_face", ""), row.get("has_text", ""))
        times[rel] = {
            "decode": full_decode(corpus / rel), "probe": t_probe, "prep": t_prep, "face": t_face,
            "gate": t_gate, "ocr": t_ocr,
        }
        if args.details:
            read = "; ".join(f"{ln.text!r} {ln.score:.2f}" for ln in lines[:4])
            best = f"{faces[0].score:.2f}" if faces else "-"
            print(
                f"{rel[:48]:48} face={row.get('has_face', ''):7} text={row.get('has_text', ''):5} "
                f"faces={len(faces)} best={best:5} gate={'Y' if candidates else '-'} "
                f"face {t_face:4.0f} gate {t_gate:3.0f} ocr {t_ocr:5.0f} ms  {read}"
            )

    by_folder: dict[str, list[str]] = defaultdict(list)
    for rel in times:
        by_folder[rel.split("/")[0]].append(rel)
    print()
    print(f"{'folder':18} {'n':>3} {'faces':>6} {'gated':>6} {'text':>5} | ms/photo: {'decode':>6} {'probe':>6} "
          f"{'prep':>5} {'face':>5} {'gate':>5} {'ocr':>6} {'total':>6} {'x decode':>8}")
    for folder, files in by_folder.items():
        def mean(key: str, files: list[str] = files) -> float:
            values = [times[f][key] for f in files if times[f][key] == times[f][key]]
            return statistics.fmean(values) if values else float("nan")

        total = mean("prep") + mean("face") + mean("gate") + mean("ocr")
        print(
            f"{folder:18} {len(files):3} {sum(face_flag[f] for f in files):6} {sum(gated[f] for f in files):6} "
            f"{sum(text_flag[f] for f in files):5} | {'':9} {mean('decode'):6.0f} {mean('probe'):6.0f} "
            f"{mean('prep'):5.1f} {mean('face'):5.0f} {mean('gate'):5.0f} {mean('ocr'):6.0f} {total:6.0f} "
            f"{total / mean('decode'):8.2f}"
        )

    def in_folders(folders: tuple[str, ...]) -> list[str]:
        return [f for f in times if f.split("/")[0] in folders]

    print()
    print("faces, camera_faces+faces vs camera_pass:", pr(face_flag, in_folders(FACE_POS), in_folders(NEG)))
    print("text,  camera_text+text_graphics vs camera_pass:", pr(text_flag, in_folders(TEXT_POS), in_folders(NEG)))
    print("text detector finds a box:", pr(gated, in_folders(TEXT_POS), in_folders(NEG)))
    face_pos = [f for f, (face, _) in labels.items() if face in ("yes", "small")]
    face_neg = [f for f, (face, _) in labels.items() if face in ("no", "painted")]
    text_pos = [f for f, (_, text) in labels.items() if text == "yes"]
    text_neg = [f for f, (_, text) in labels.items() if text == "no"]
    print("faces, whole corpus by has_face (yes/small vs no/painted):", pr(face_flag, face_pos, face_neg))
    print("text,  whole corpus by has_text (yes vs no):", pr(text_flag, text_pos, text_neg))
    cams = in_folders(("camera_pass", "camera_boundary", "camera_faces", "camera_text", "camera_edited"))
    if cams:
        cost = [times[f]["prep"] + times[f]["face"] + times[f]["gate"] + times[f]["ocr"] for f in cams]
        decode = [times[f]["decode"] for f in cams]
        print(
            f"camera photos ({len(cams)}): detectors {statistics.fmean(cost):.0f} ms/photo (median "
            f"{statistics.median(cost):.0f}), full decode {statistics.fmean(decode):.0f} ms/photo"
        )


if __name__ == "__main__":
    main()
