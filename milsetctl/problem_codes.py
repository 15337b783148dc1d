"""Stable codes for the problems the jury round, the jury final, the member roster, the fees and the awards report,
as the validate rules have IDs.

A chair or a secretariat filters, counts and looks up problems by code (`milsetctl rules score-formula`, the `code`
of each problem in `score --json`, the `[fee-amount]` at the end of a refusal), whatever the wording of the message
becomes. Each code has an area (the command that reports it), a default severity and the why `milsetctl rules`
prints:

- "error": refused: the command stops (exit 1 or 2), or the row, file or score is not used (score: blocks the
  ranking unless --allow-missing);
- "warning": the work is done, but a person has to look (a tie to announce, an entrant left out);
- "note": information (how a file was read, a column ignored).

The codes are fixed: scripts may rely on them. README's tables of them are generated from this registry
(`python -m milsetctl.reference --write`); tests/test_reference.py fails when the two drift.
"""

from __future__ import annotations

from dataclasses import dataclass

SEVERITIES = ("error", "warning", "note")


@dataclass(frozen=True)
class ProblemCode:
    id: str
    area: str  # a key of AREAS
    severity: str  # one of SEVERITIES
    why: str

    @property
    def command(self) -> str:
        """The command(s) that report it."""
        return ", ".join(AREAS[self.area][1])


# area -> (what its problems are about, the commands that report them), in the order `milsetctl rules` lists them
AREAS: dict[str, tuple[str, tuple[str, ...]]] = {
    "score sheets": ("Problems in the jurors' score sheets", ("milsetctl score",)),
    "member roster": ("Problems in the member roster", ("milsetctl members import",)),
    "fees": ("Problems with registration fees and refunds", ("milsetctl fees quote", "milsetctl fees refund")),
    "tables": ("Problems reading or writing the roster's and the refunds' tables",
               ("milsetctl members import", "milsetctl members export", "milsetctl fees refund --batch")),
    "awards": ("Problems giving the awards", ("milsetctl awards",)),
    "nominate": ("Problems packing the nomination for the global round", ("milsetctl nominate",)),
    "jury final": ("Problems making, reading and using the jury final",
                   ("milsetctl jury final", "milsetctl score --final", "milsetctl awards --use-final")),
}


_TABLE: tuple[tuple[str, str, str], ...] = (
    # (code, severity, why)
    ("sheet-unreadable", "error", "The file cannot be read as a spreadsheet: damaged, password-protected, an "
     "Apple Numbers file, or empty. Its juror's scores would be missing without a word; the message says what the "
     "file is and what to do."),
    ("sheet-no-header", "error", "No row in the top 30 of any tab names an anon_id column and the criteria, so no "
     "score can be placed."),
    ("sheet-other-round", "error", "The sheet was made for another round (its hidden round token, or the round_id "
     "column of the scoring page's CSV, differs): scores of other entries under the same anonymous IDs must never "
     "mix."),
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
_ROSTER: tuple[tuple[str, str, str], ...] = (
    ("roster-no-header", "error", "No row near the top of any sheet names the organisation column and one more "
     "roster column, so nothing can be imported; the message lists the headers found, the names understood, and "
     "that [members.aliases] in contest.toml adds more."),
    ("roster-empty", "error", "The roster has a header but no organisation under it: importing it would change "
     "nothing, which is said rather than passed over (a filter left on, the wrong sheet exported)."),
    ("roster-name-missing", "error", "A row with no organisation name: a member is known by its name across "
     "imports, so the row cannot be placed; it is left out, the other rows are imported."),
    ("roster-name-twice", "error", "The same organisation (its name, whatever the case, width or spaces) on two rows "
     "of one file: which row is right cannot be guessed, so the second is left out and both rows are named."),
    ("roster-email", "error", "An e-mail cell that is not an address (a typing slip, two addresses in one cell): "
     "certificates and notices would go nowhere; the row is left out until it is corrected."),
    ("roster-date-unreadable", "error", "A member_since or fee_paid_until cell that is not a date: good standing, "
     "and with it the member's rate, is decided by that date, so the row is left out rather than guessed."),
    ("roster-date-ambiguous", "error", "A date that reads as two different days (05/07/2022) and neither [dates] "
     "order nor the column's other cells settle which: the row is left out; write it year first."),
    ("roster-column-ignored", "note", "A column that is no roster column (a secretariat's own notes): it is not "
     "imported, and named so that a misspelt header is noticed (add it under [members.aliases])."),
)
_FEES: tuple[tuple[str, str, str], ...] = (
    ("fee-amount", "error", "The amount paid cannot be used: not a number, negative, more decimals than the currency "
     "has, another currency's symbol, or a separator that reads two ways (2.500). Money is exact: an amount is "
     "never guessed."),
    ("fee-currency", "error", "A batch row's currency column names another currency than the fees are in: the "
     "refund would be computed in the wrong money."),
    ("fee-date-missing", "error", "A batch row gives no withdrawal date: whether it is refunded depends on it."),
    ("fee-date-unreadable", "error", "A registration or withdrawal date that is not a date (or a time that is no "
     "time): the refund turns on the day, so it is not computed."),
    ("fee-date-ambiguous", "error", "A date that reads as two different days (05/07/2022) and nothing settles "
     "which; a withdrawal on 5 July and one on 7 May may fall on either side of the deadline."),
    ("fee-withdrawn-before-registered", "error", "The withdrawal is dated before the registration: one of the two "
     "dates is wrong (often day and month swapped)."),
    ("fee-deadline-day", "error", "The withdrawal is given as a day alone, on the day of a registration deadline "
     "that has a time: whether it came before or after the deadline cannot be told; give the time too."),
    ("fee-no-columns", "error", "The withdrawals file has no header row naming the paid and withdrawn_on columns "
     "(or their Chinese names), so no refund can be computed."),
    ("fee-event-unknown", "error", "`fees quote` names an event the settings do not list ([fees.events.*]): there "
     "is no rate to quote; the events the settings list are named."),
    ("fee-org-ambiguous", "error", "`--org` matches several members by a part of their names: the quote would "
     "depend on which one is meant; they are named."),
)
_TABLES: tuple[tuple[str, str, str], ...] = (
    ("table-unreadable", "error", "The roster or withdrawals file cannot be read as a table: damaged, empty, too "
     "large, or not a spreadsheet (a PDF, a photo). Nothing is read from it; the message says what the file is."),
    ("table-read", "note", "How the file was read, where it could have been read otherwise: the text encoding "
     "guessed, Excel's sep= line, title rows above the header skipped, the data found on another sheet."),
    ("table-format", "error", "The file to write is neither .xlsx nor .csv: the format is chosen by the extension, "
     "and a table the secretariat cannot open helps nobody."),
    ("table-unwritable", "error", "The table cannot be written there (no such folder, no permission, the disk "
     "full); the old file, if any, is left whole."),
)
_AWARDS: tuple[tuple[str, str, str], ...] = (
    ("awards-no-ranking", "error", "`score` has stored no ranking yet, so there is nothing to give awards from."),
    ("awards-ranking-stale", "error", "The stored ranking no longer describes the round: an entry ranked then is "
     "not eligible now, an eligible entry was never scored, or a grade changed the category. Awards from it would "
     "go to the wrong entries, so none are given until `score` runs again."),
    ("awards-tie-qualifier", "warning", "Entries share the last qualifying rank of a category: every one of them "
     "gets the Qualifier Award (SPEC), and the chair has to announce it; they are named by entry, contestant and "
     "title."),
    ("awards-tie-medal", "warning", "At the global stage entries share a global-N rank: each gets that award and "
     "the next place is skipped; named, as the chair has to announce it."),
    ("awards-tie-gallery", "warning", "At the global stage entries share a rank that straddles the gallery cut: "
     "all of them are in the gallery, which then holds more than gallery_size photos."),
    ("awards-allow-missing", "warning", "The ranking was stored with --allow-missing despite problems in the "
     "sheets: some entries are ranked on fewer jurors' scores than others."),
    ("awards-unscored", "warning", "An entry in the ranking has no score at all, so no rank and no award; named, "
     "since it counts among its category's entries for the cut."),
    ("awards-export-format", "error", "`--export` names a file that is neither .xlsx nor .csv: nothing is computed "
     "or stored."),
    ("awards-export-unwritable", "error", "The award list cannot be written where `--export` says (no folder, no "
     "permission)."),
)
_NOMINATE: tuple[tuple[str, str, str], ...] = (
    ("nominate-global-stage", "error", "The workspace is at the global stage: `nominate` packs a national round "
     "for the global one, so there is nothing to nominate to."),
    ("nominate-top", "error", "`--top` is below 1: a nomination of no entry is no nomination."),
    ("nominate-out-in-source", "error", "The zip would be written inside the submissions folder, which milsetctl "
     "never writes to (SPEC \"Never\")."),
    ("nominate-no-ranking", "error", "Nothing is ranked yet: run `score`, then `awards`."),
    ("nominate-no-awards", "error", "The ranking has no awards yet: the best N are chosen among the Qualifier "
     "Award holders, so `awards` runs first."),
    ("nominate-awards-stale", "error", "The award list is out of date (what it was made from changed since): the "
     "nomination would carry the wrong entries; run the command named first."),
    ("nominate-no-source", "error", "The workspace names no submissions folder, so the original photos cannot be "
     "packed."),
    ("nominate-photo-unreadable", "error", "A nominee's original photo cannot be read (moved, deleted, outside "
     "the submissions folder): the package would lack it."),
    ("nominate-photo-changed", "error", "A nominee's photo changed since `validate` hashed it: the national jury "
     "judged other bytes than the package would carry; validate again and re-run the jury."),
    ("nominate-not-eligible", "warning", "An award holder is no longer eligible (rejected or withdrawn since the "
     "awards): left out of the nomination and named."),
    ("nominate-other-country", "warning", "An award holder from another country than the contest's: a national "
     "round nominates its own country's best, so the entrant is left out (or nominated with --other-countries) "
     "and named either way."),
    ("nominate-country-inferred", "note", "[contest] country is not set, so the round is taken to be the country "
     "most entrants name; set it in contest.toml to say otherwise."),
    ("nominate-fewer-holders", "note", "--top asks for more entries than there are Qualifier Award holders: all of "
     "them are nominated."),
    ("nominate-tie", "note", "Entries tied with the Nth place are all nominated, so the package holds more than "
     "--top entries; they are named."),
    ("nominate-no-country", "warning", "A nominee names no country and [contest] country is not set: the global "
     "round would not know whose entry it is."),
)
_FINAL: tuple[tuple[str, str, str], ...] = (
    ("final-mode", "error", "The options do not describe a final this stage holds: --cut is the national stage's "
     "Qualifier cut, --places N the global stage's top places, one of the two is needed, N at least 1 and the "
     "band's width (--se) not negative."),
    ("final-no-ranking", "error", "`score` has stored no ranking yet: the short list is drawn from it."),
    ("final-no-jurors", "error", "No juror is known (no juror file given to `jury sheets`, no stored scores): "
     "there is nobody to hand the final sheets to."),
    ("final-not-needed", "note", "A category (or the overall list) needs no final: nothing ranked there, or no "
     "entry within the band on one side of the cut, or a single entry on the short list. The scores decide, as "
     "SPEC says by default."),
    ("final-no-band", "note", "No entry of a category has two or more jurors' scores, so no standard error and no "
     "band around the cut can be drawn: the scores decide."),
    ("final-no-thumbnail", "warning", "A short-listed entry has no packaged photo: its row on the final sheet has "
     "no thumbnail, and the juror ranks it from memory (run `milsetctl anonymise`)."),
    ("final-not-made", "error", "`score --final` before any final was handed out: there is no short list to read "
     "the sheets against."),
    ("final-not-combined", "error", "`awards --use-final` before `score --final` recorded a final: there is no "
     "final ranking to give the awards from."),
    ("final-ranking-changed", "error", "`score` ran again after the final was drawn: the short list may no longer "
     "be the entries near the cut, so the final is not used; make a new one, or give the awards from the scores."),
    ("final-sheets-missing", "error", "A path given to `score --final` does not exist, or a folder holds no final "
     "sheet (.xlsx)."),
    ("final-sheet-unreadable", "error", "A file cannot be read as an XLSX final sheet (damaged, another format): "
     "named, its juror's ranking not used."),
    ("final-sheet-not-final", "error", "An XLSX that `jury final` did not make (a score sheet, a juror's own "
     "table): a score sheet goes to `score` without --final."),
    ("final-sheet-other-final", "error", "A final sheet of an earlier final: its short list may differ from the "
     "one handed out now, so its ranks are not used; send the juror the current sheet."),
    ("final-juror-unknown", "error", "The sheet names a juror the final was not handed to: a ranking by nobody "
     "the chair chose is not counted."),
    ("final-juror-twice", "error", "Two sheets of the same juror: which one counts cannot be guessed, so the "
     "second is not used until one is removed."),
    ("final-sheet-header", "error", "The header row lacks anon_id or 'your rank': the ranks cannot be placed."),
    ("final-entry-unknown", "error", "A row names an entry that is not on this final's short list (a typo, "
     "another final's row)."),
    ("final-entry-twice", "error", "The same entry on two rows of one sheet: only the first is read."),
    ("final-rank-blank", "error", "A rank left blank without a conflict of interest or RECUSED in the comment: "
     "the juror's ranking would be incomplete without a word."),
    ("final-rank-invalid", "error", "A rank that is no whole number from 1 to the short list's length."),
    ("final-rank-conflict", "note", "A juror ranked an entry they have a conflict of interest with: the rank is "
     "not used."),
    ("final-entry-missing", "error", "A short-listed entry's row was deleted from the sheet: the juror's ranking "
     "misses it."),
    ("final-rank-shared", "note", "One rank given to several photos: counted as a tie between them on that "
     "juror's ranking (the Schulze method takes ties)."),
    ("final-juror-no-sheet", "note", "A juror the final was handed to has returned no sheet yet: the final is "
     "combined over the sheets returned."),
    ("final-no-usable-sheet", "error", "No returned final sheet can be used: there is nothing to combine, and "
     "nothing is recorded."),
)

CODES: dict[str, ProblemCode] = {
    c: ProblemCode(c, area, sev, why)
    for area, table in (("score sheets", _TABLE), ("member roster", _ROSTER), ("fees", _FEES), ("tables", _TABLES),
                        ("awards", _AWARDS), ("nominate", _NOMINATE), ("jury final", _FINAL))
    for c, sev, why in table
}


class Coded(str):
    """A message a command reports with its problem code: the text the user sees ("...; row left out
    [roster-email]"), so it goes wherever a message goes (printed, joined, searched, in a list of strings), and
    carries `code` and the bare `message` for the JSON of scripts. An unknown code is refused at once: a message
    never carries a code `milsetctl rules` cannot explain."""

    code: str
    message: str

    def __new__(cls, code: str, message: str) -> Coded:
        if code not in CODES:
            raise KeyError(f"{code!r} is no problem code (milsetctl/problem_codes.py)")
        self = super().__new__(cls, f"{message} [{code}]")
        self.code = code
        self.message = message
        return self

    def __getnewargs__(self) -> tuple[str, str]:  # type: ignore[override]  # copy and pickle rebuild it whole
        return self.code, self.message

    @property
    def severity(self) -> str:
        return CODES[self.code].severity

    def as_json(self) -> dict[str, str]:
        return {"code": self.code, "severity": self.severity, "message": self.message}


def issues_json(messages: list[str]) -> list[dict[str, str]]:
    """The coded messages among `messages`, as JSON objects (code, severity, message)."""
    return [m.as_json() for m in messages if isinstance(m, Coded)]


def markdown_table() -> str:
    """README's table of the codes, as `milsetctl rules` knows them."""
    lines = ["| code | area | severity | why |", "| --- | --- | --- | --- |"]
    for c in CODES.values():
        lines.append(f"| `{c.id}` | {c.area} | {c.severity} | {c.why} |")
    return "\n".join(lines)


if __name__ == "__main__":
    print(markdown_table())
