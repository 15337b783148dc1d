#!/usr/bin/env python3
"""Play the ten jurors of the sample contest: fill every score sheet in a workspace's jury/sheets/.

    python sample_data/fill_scores.py demo-workspace            # fills demo-workspace/jury/sheets/*.xlsx
    python sample_data/fill_scores.py demo-workspace --out DIR  # writes the filled copies to DIR instead
    python sample_data/fill_scores.py demo-workspace --out DIR --as-returned
                                     # ... as ten jurors really send them back (below)

Why a script: the demo has to run the whole jury round without ten people. A juror only sees what the sheet
shows (anonymous ID, title, description), so the "true quality" of a photo is derived from its title and every
juror scores it with their own noise, seeded by the juror's name and the title: the same sample contest gives
the same scores whatever anonymous IDs `anonymise` drew. Two jurors have a temperament, so the jury report has
something to show: the third juror is harsh (about 2 points low), the seventh is lenient (about 1.5 points
high). Every score is a whole number in the sheet's range; one comment in four is filled in.

With --as-returned the folder looks like a jury chair's inbox: most jurors send the XLSX back, the fourth
saved it as CSV in German Excel (';', UTF-8 with BOM, comments with 'quoted' words), the ninth as CSV in Excel
for Mac (CR line endings, Mac Roman), and the second juror's mail was saved twice ('... (1).xlsx').

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


def as_returned(done: list[tuple[Path, int]]) -> list[str]:
    """Turn the filled sheets in a folder into what ten jurors really send back (see the module's docstring)."""
    import csv
    import io
    import shutil

    said = []
    for number, (path, _) in enumerate(done, start=1):
        if number == 2:
            copy = path.with_name(f"{path.stem} (1){path.suffix}")
            shutil.copyfile(path, copy)
            said.append(f"{copy.name}: the same mail saved twice")
        if number not in (4, 9):
            continue
        workbook = load_workbook(path, read_only=True)
        rows = [list(r) for r in workbook["Scores"].iter_rows(values_only=True)]
        workbook.close()
        keep = [i for i, h in enumerate(rows[0]) if str(h).strip().lower() in ("anon_id", *CRITERIA, "comment")]
        table = [["" if r[i] is None else r[i] for i in keep] for r in rows if any(v is not None for v in r)]
        if number == 4:  # German Excel: "CSV (Trennzeichen-getrennt)"
            for r in table[1:]:
                r[-1] = f"'{r[-1]}'" if r[-1] else "Schärfe 'gut', Licht 'weich'"
            text = io.StringIO()
            csv.writer(text, delimiter=";", lineterminator="\r\n").writerows(table)
            data = b"\xef\xbb\xbf" + text.getvalue().encode("utf-8")
            said.append(f"{path.stem}.csv: German Excel (';', UTF-8 with BOM)")
        else:  # Excel for Mac: "Comma Separated Values"
            for r in table[1:]:
                r[-1] = r[-1] or "très réussi"
            text = io.StringIO()
            csv.writer(text, lineterminator="\r").writerows(table)
            data = text.getvalue().encode("mac_roman", "replace")
            said.append(f"{path.stem}.csv: Excel for Mac (CR line endings, Mac Roman)")
        path.with_suffix(".csv").write_bytes(data)
        path.unlink()
    return said


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("workspace", type=Path, help="the contest workspace whose jury/sheets/ to fill")
    parser.add_argument("--out", type=Path, default=None, help="write the filled sheets here (default: in place)")
    parser.add_argument("--as-returned", action="store_true",
                        help="with --out: leave the folder as ten jurors really send their sheets back")
    args = parser.parse_args(argv)
    done = fill_workspace(args.workspace, args.out)
    for path, count in done:
        print(f"filled {path} ({count} entries)")
    if args.as_returned and args.out:
        for line in as_returned(done):
            print(f"  returned as {line}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
