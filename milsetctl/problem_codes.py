"""Stable codes for the problems the jury round reports, as the validate rules have IDs.

A chair filters, counts and looks up problems by code (`milsetctl rules sheet-formula`, the `code` of each problem
in `score --json`), whatever the wording of the message becomes. Each code has an area, a default severity
("error" blocks the ranking unless --allow-missing; "note" is information) and the why `milsetctl rules` prints.
The codes are fixed: scripts may rely on them. README's table of them is generated from this registry
(`python -m milsetctl.problem_codes`); tests/test_problem_codes.py fails when the two drift.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ProblemCode:
    id: str
    area: str  # "score sheets"
    severity: str  # "error" | "note"
    why: str


_TABLE: tuple[tuple[str, str, str], ...] = (
    # (code, severity, why)
    ("sheet-unreadable", "error", "The file cannot be read as a spreadsheet: damaged, password-protected, an "
     "Apple Numbers file, or empty. Its juror's scores would be missing without a word; the message says what the "
     "file is and what to do."),
    ("sheet-no-header", "error", "No row in the top 30 of any tab names an anon_id column and the criteria, so no "
     "score can be placed."),
    ("sheet-other-round", "error", "The sheet was made for another round (its hidden round token differs): scores "
     "of other entries under the same anonymous IDs must never mix."),
    ("sheet-scale", "error", "The sheet was made for another score range than the contest now uses; read on the "
     "wrong scale its scores would be wrong without a word."),
    ("not-a-sheet", "note", "A file in the sheets folder that holds no score sheet (a PDF, a photo, notes.txt, an "
     "open spreadsheet's lock file): named, so nothing is passed over without a word."),
    ("sheet-copy", "note", "A byte-identical copy of another sheet of the same juror (a mail attachment saved "
     "twice, 'J02 (1).csv'): read once."),
    ("sheet-same-bytes", "note", "Two files under two jurors' names hold the same bytes: both are read, but one "
     "juror may have sent the other's sheet."),
    ("sheet-tab", "note", "The scores were found on a tab other than the first (notes or instructions first, tabs "
     "renamed)."),
    ("header-two-rows", "note", "A two-row header (bilingual, or a group row over the criteria) was read as one."),
    ("rows-hidden", "note", "Rows hidden in the spreadsheet program hold scores: read and counted like the others, "
     "since a juror may hide what they finished."),
    ("column-extra", "note", "A column the sheet does not need (a juror's own notes) is ignored."),
    ("criterion-column-missing", "error", "A criterion has no column: every entry would lack that score."),
    ("juror-twice", "error", "The same juror (by name, whatever the case, width or spaces, or by juror ID) is on "
     "two different sheets: which one counts cannot be guessed, so neither does until one is removed."),
    ("juror-missing", "error", "A row of a long sheet names no juror: its scores belong to nobody."),
    ("juror-unknown", "error", "Once `jury sheets` has named the jurors, a sheet under another name is a juror's "
     "sheet saved under a new name (it would count that juror twice) or nobody's: its scores are not used, and the "
     "jurors still without a sheet are named."),
    ("anon-id-missing", "error", "Scores with no anonymous ID: they cannot be given to an entry."),
    ("anon-id-unknown", "error", "An anonymous ID this round never handed out (a typo, another round's sheet)."),
    ("anon-id-withdrawn", "note", "An entry withdrawn from the round after the sheets went out: its scores are "
     "kept aside, not ranked."),
    ("anon-id-repeated", "error", "The same entry twice on one juror's sheet with different scores: which counts "
     "cannot be guessed (with the same scores it is a note and counted once)."),
    ("criterion-unknown", "error", "A long sheet's row names no criterion the contest scores."),
    ("score-blank", "error", "A score cell left blank: never read as 0."),
    ("entry-skipped", "error", "Every criterion of an entry left blank (and no recusal in the comment)."),
    ("recused", "note", "The juror stepped aside from an entry (a conflict of interest said in the comment): "
     "ranked on the other jurors' scores."),
    ("score-not-number", "error", "A score cell that holds no number."),
    ("score-not-whole", "error", "A fractional score where the contest scores whole numbers (SPEC: integers 1-10)."),
    ("score-out-of-range", "error", "A score outside the contest's range."),
    ("score-formula", "error", "A formula saved without its calculated value (a script or web tool wrote the "
     "file): the number the spreadsheet program would show is not in it; open and save the sheet."),
    ("score-date", "error", "A date where a score belongs: Excel turns a score typed as 9/10 into a date."),
    ("score-missing", "error", "A long sheet has no row for one of an entry's criteria."),
    ("not-assigned", "error", "Scores for an entry not assigned to this juror (another juror's entry, or a "
     "conflict of interest): not used."),
    ("assigned-not-scored", "error", "An entry assigned to the juror is missing from their sheet."),
    ("juror-no-sheet", "error", "A juror of the juror file has returned no sheet yet."),
    ("entry-unscored", "error", "No juror has scored an entry of the round."),
    ("round-not-packaged", "error", "Eligible entries have no anonymous ID, so no juror could score them (run "
     "anonymise, then jury sheets)."),
)
CODES: dict[str, ProblemCode] = {c: ProblemCode(c, "score sheets", sev, why) for c, sev, why in _TABLE}


def markdown_table() -> str:
    """README's table of the codes, as `milsetctl rules` knows them."""
    lines = ["| code | area | severity | why |", "| --- | --- | --- | --- |"]
    for c in CODES.values():
        lines.append(f"| `{c.id}` | {c.area} | {c.severity} | {c.why} |")
    return "\n".join(lines)


if __name__ == "__main__":
    print(markdown_table())
