#!/usr/bin/env python3
"""Play the ten jurors of the sample contest: fill every score sheet in a workspace's jury/sheets/.

    python sample_data/fill_scores.py demo-workspace            # fills demo-workspace/jury/sheets/*.xlsx
    python sample_data/fill_scores.py demo-workspace --out DIR  # writes the filled copies to DIR instead

Why a script: the demo has to run the whole jury round without ten people. A juror only sees what the sheet
shows (anonymous ID, title, description), so the "true quality" of a photo is derived from its title and every
juror scores it with their own noise, seeded by the juror's name and the title: the same sample contest gives
the same scores whatever anonymous IDs `anonymise` drew. Two jurors have a temperament, so the jury report has
something to show: the third juror is harsh (about 2 points low), the seventh is lenient (about 1.5 points
high). Every score is a whole number in the sheet's range; one comment in four is filled in.

Only openpyxl is needed. Sheets are found by the `Scores` sheet and the header names in its first row (the
format SPEC and `milsetctl jury sheets` use), so the script works on any sheet `jury sheets` writes.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import sys
from pathlib import Path

from openpyxl import load_workbook

CRITERIA = ("originality", "information", "technique", "impact")
TEMPERAMENT = {3: -2.0, 7: +1.5}  # juror number (1-based, in file order) -> offset in points
COMMENTS = (
    "Strong composition.", "Sharp and well exposed.", "The story behind it is clear.", "A little noisy.",
    "Lovely colours in the sky.", "The horizon is tilted.", "Original point of view.", "Good use of the theme.",
)


def _seed(*parts: str) -> int:
    return int.from_bytes(hashlib.sha256("\x1f".join(parts).encode("utf-8")).digest()[:8], "big")


def quality(title: str) -> float:
    """A photo's 'true' quality on 1-10, fixed by its title (what every juror can see)."""
    return 4.0 + 5.0 * random.Random(_seed("quality", title)).random()


def _meta(workbook) -> dict[str, str]:  # type: ignore[no-untyped-def]
    if "milsetctl" not in workbook.sheetnames:
        return {}
    sheet = workbook["milsetctl"]
    return {str(row[0]): "" if row[1] is None else str(row[1]) for row in sheet.iter_rows(values_only=True)
            if row and row[0] is not None}


def fill_sheet(path: Path, juror_number: int, out: Path) -> int:
    """Fill one juror's sheet; returns the number of entries scored. The file is written to `out`."""
    workbook = load_workbook(path)
    meta = _meta(workbook)
    juror = meta.get("juror") or path.stem
    low, high = int(meta.get("score_min") or 1), int(meta.get("score_max") or 10)
    sheet = workbook["Scores"]
    headers = {str(c.value).strip().lower(): c.column for c in sheet[1] if c.value is not None}
    missing = [h for h in ("anon_id", *CRITERIA) if h not in headers]
    if missing:
        raise SystemExit(f"{path}: the Scores sheet has no column {', '.join(missing)}")
    offset = TEMPERAMENT.get(juror_number, 0.0)
    scored = 0
    for row in range(2, sheet.max_row + 1):
        anon_id = sheet.cell(row, headers["anon_id"]).value
        if not anon_id:
            continue
        title = str(sheet.cell(row, headers["title"]).value or "") if "title" in headers else str(anon_id)
        rng = random.Random(_seed(juror, title))
        base = quality(title) + offset
        for criterion in CRITERIA:
            value = round(base + rng.gauss(0, 1.0))
            sheet.cell(row, headers[criterion]).value = max(low, min(high, value))
        if "comment" in headers and rng.random() < 0.25:
            sheet.cell(row, headers["comment"]).value = rng.choice(COMMENTS)
        scored += 1
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    workbook.save(tmp)
    os.replace(tmp, out)
    return scored


def fill_workspace(workspace: Path, out_dir: Path | None = None) -> list[tuple[Path, int]]:
    """Fill every juror sheet under WORKSPACE/jury/sheets (not the withdrawn ones); returns (file, entries)."""
    sheets_dir = workspace / "jury" / "sheets"
    sheets = sorted(p for p in sheets_dir.glob("*.xlsx") if not p.name.startswith(("~$", ".")))
    if not sheets:
        raise SystemExit(f"no score sheets in {sheets_dir}: run `milsetctl jury sheets --jurors FILE` first")
    done = []
    for number, path in enumerate(sheets, start=1):
        target = (out_dir / path.name) if out_dir else path
        done.append((target, fill_sheet(path, number, target)))
    return done


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("workspace", type=Path, help="the contest workspace whose jury/sheets/ to fill")
    parser.add_argument("--out", type=Path, default=None, help="write the filled sheets here (default: in place)")
    args = parser.parse_args(argv)
    for path, count in fill_workspace(args.workspace, args.out):
        print(f"filled {path} ({count} entries)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
