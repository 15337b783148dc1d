"""Acceptance (issue 10): the marks people really put on photos are flagged, clean camera photos are not.

`../shared/tools/make_watermarks.py` draws eight kinds of overlay (faint corner marks, tiled diagonal marks,
small copyright lines, orange date stamps, caption bars, Chinese text, tiny text, titles) on the corpus's clean
camera photos and writes the truth beside them. The `text-watermark` rule runs over every photo the way
`validate` runs it (probe, shared reduced decode, rule), in one process per core. Asserted: at least 85% of the
marked photos flagged, none of the clean ones. The labelled corpus text photos (>= 8 of 9) are checked by
test_corpus.py, which validates the whole corpus. Skipped when the corpus or the tool is absent.
"""

from __future__ import annotations

import csv
import multiprocessing
import os
import subprocess
import sys
import time
from collections import defaultdict
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SHARED = (ROOT.parent / "shared").resolve()
CORPUS = SHARED / "corpus"
TOOL = SHARED / "tools" / "make_watermarks.py"
pytestmark = pytest.mark.skipif(
    not (CORPUS / "MANIFEST.csv").exists() or not TOOL.exists(), reason="../shared/corpus or make_watermarks.py absent"
)

SEED = 2024  # a set the detector's settings were not tuned on (they were measured on seed 11, 12 per kind)
PER_KIND = 5
MIN_RECALL = 0.85


def _check(path: str) -> tuple[str, str]:
    """(file name, message or '') of the text-watermark rule on one photo."""
    import milsetctl.rules.vision  # noqa: F401  (registers the rules)
    from milsetctl.probe import probe_file
    from milsetctl.rules import REGISTRY
    from milsetctl.settings import defaults

    p = Path(path)
    probe = probe_file(p, p.name, 10**9)
    findings = list(REGISTRY["text-watermark"].check(probe, defaults()))
    return p.name, findings[0][0] if findings else ""


@pytest.fixture(scope="module")
def marked_set(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[dict[str, str]], dict[str, str]]:
    pytest.importorskip("rapidocr")
    out = tmp_path_factory.mktemp("watermarks")
    started = time.perf_counter()
    subprocess.run([sys.executable, str(TOOL), str(CORPUS), str(out), "--seed", str(SEED), "--per-kind", str(PER_KIND)],
                   check=True, capture_output=True, text=True, timeout=600)
    made = time.perf_counter() - started
    with open(out / "truth.csv", newline="", encoding="utf-8") as f:
        truth = list(csv.DictReader(f))
    paths = [str(out / "submissions" / t["file"]) for t in truth]
    started = time.perf_counter()
    workers = max(1, min(2, os.cpu_count() or 1))
    if workers > 1 and "fork" in multiprocessing.get_all_start_methods():
        with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork")) as pool:
            messages = dict(pool.map(_check, paths, chunksize=4))
    else:
        messages = dict(map(_check, paths))
    print(f"\nmake_watermarks: {len(truth)} photos in {made:.1f} s; text-watermark on them: "
          f"{time.perf_counter() - started:.1f} s wall with {workers} processes", file=sys.stderr)
    return truth, messages


def test_marked_photos_flagged_and_clean_ones_not(marked_set) -> None:
    truth, messages = marked_set
    table: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for t in truth:
        table[t["kind"]][0] += bool(messages[t["file"]])
        table[t["kind"]][1] += 1
    lines = [f"  {kind:15s} {hit}/{n}" for kind, (hit, n) in sorted(table.items())]
    print("\ntext-watermark per kind (flagged/photos):\n" + "\n".join(lines), file=sys.stderr)
    missed = [(t["file"], t["text"], t["size_pct"], t["alpha"]) for t in truth
              if t["kind"] != "clean" and not messages[t["file"]]]
    print(f"  missed: {missed}", file=sys.stderr)
    marked = [t for t in truth if t["kind"] != "clean"]
    flagged = sum(bool(messages[t["file"]]) for t in marked)
    assert len({t["kind"] for t in marked}) >= 7 and all(n >= PER_KIND for k, (_, n) in table.items())
    assert flagged >= MIN_RECALL * len(marked), f"{flagged}/{len(marked)} marked photos flagged; missed {missed}"
    false_alarms = {t["file"]: messages[t["file"]] for t in truth if t["kind"] == "clean" and messages[t["file"]]}
    assert table["clean"][1] >= 15 and false_alarms == {}


def test_messages_say_what_where_and_why(marked_set) -> None:
    truth, messages = marked_set
    for t in truth:
        message = messages[t["file"]]
        if not message:
            continue
        head = message.split(":", 1)[0]
        assert head in ("watermark", "date stamp", "caption or title", "text in the scene"), message
        assert any(w in message for w in ("corner", "edge", "centre", "tiled over the picture")), message
    corner = [messages[t["file"]] for t in truth if t["kind"] == "corner_semi" and messages[t["file"]]]
    assert corner and sum(m.startswith("watermark: ") and "corner" in m for m in corner) >= len(corner) - 1, corner
    stamps = [messages[t["file"]] for t in truth if t["kind"] == "date_stamp" and messages[t["file"]]]
    assert stamps and all(m.startswith("date stamp: ") for m in stamps), stamps
    tiled = [messages[t["file"]] for t in truth if t["kind"] == "tiled_diag" and messages[t["file"]]]
    assert tiled and sum("tiled over the picture" in m for m in tiled) >= len(tiled) // 2 + 1, tiled
