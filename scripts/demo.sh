#!/usr/bin/env bash
# The main job on the sample contest, end to end: install, build sample_data/submissions, validate with a report,
# settle the doubtful entries, blind the jury package, one score sheet per juror, ten jurors fill them in (a script
# plays them), combine the scores, pick the awards, nominate the national best for the global round, print the
# certificates, make the virtual gallery and the contest report, the verify page a certificate's QR code opens, and
# every contestant's result notice with its e-mail.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
ctl=(.venv/bin/milsetctl)
ws=demo-workspace
.venv/bin/python sample_data/make_sample.py
mkdir -p "$ws"

echo; echo "== 0. init: the workspace, and the country this national round runs in ([contest] country: nominate"
echo "   leaves out entrants from other countries; in a terminal init asks for it)"
"${ctl[@]}" init -w "$ws" --country China

echo; echo "== 1. validate: who is eligible, and why not (the entries waiting for a decision listed first)"
"${ctl[@]}" validate sample_data/submissions -w "$ws" --report "$ws/reports/validation.html" --limit 12

echo; echo "== 2. decide: the coordinator settles five doubtful entries (three stay open for review)"
"${ctl[@]}" decide E0001 accept -w "$ws" --reason "the original photo; E0023 is the copy"
"${ctl[@]}" decide E0023 reject -w "$ws" --reason "a resized copy of E0001's photo"
"${ctl[@]}" decide E0027 accept -w "$ws" --reason "EXIF stripped by the messaging app; camera original seen"
"${ctl[@]}" decide E0030 reject -w "$ws" --reason "a recognisable face on the poster"
"${ctl[@]}" decide E0035 accept -w "$ws" --reason "Henan has no regional round; stays in the national round"
"${ctl[@]}" status -w "$ws"
echo "-- the validation report written again, with these decisions (cached: no photo is read again)"
"${ctl[@]}" validate sample_data/submissions -w "$ws" --report "$ws/reports/validation.html" --limit 0

echo; echo "== 3. anonymise: the blind jury package, checked byte by byte"
"${ctl[@]}" anonymise -w "$ws"

echo; echo "== 4. jury sheets: one XLSX per juror (each photo's thumbnail in its row, the rubric in every score cell's"
echo "   prompt, the weights and the due date, only score and comment cells open), and with --html each juror's"
echo "   offline scoring page beside it (J01 ….html: photos, rubric, keyboard scoring; its Export saves a CSV)"
"${ctl[@]}" jury sheets -w "$ws" --jurors sample_data/jurors.csv --html

echo; echo "== 5. the ten jurors fill in their sheets and mail them back (sample_data/fill_scores.py plays them):"
echo "   most as XLSX, one as German Excel's ';' CSV, one as Excel for Mac's CSV, one mail saved twice"
rm -rf "$ws/jury/returned"
.venv/bin/python sample_data/fill_scores.py "$ws" --out "$ws/jury/returned" --as-returned

echo; echo "== 5b. two jurors are late: J07 has sent back half of their sheet, J10 nothing yet. jury status reads the"
echo "   returned sheets (storing nothing): who has scored, each entry's quorum; jury remind writes each late juror"
echo "   a reminder (what is missing, the due date [jury] sheets_due) with their sheet attached, and a mail-merge table"
rm -rf "$ws/jury/late" && mkdir -p "$ws/jury/late"
mv "$ws/jury/returned/J07 "*.xlsx "$ws/jury/returned/J10 "*.xlsx "$ws/jury/late/"
.venv/bin/python - "$ws/jury/late" "$ws/jury/returned" <<'PY'
import sys
from pathlib import Path

from openpyxl import load_workbook

late, returned = Path(sys.argv[1]), Path(sys.argv[2])
(path,) = late.glob("J07 *.xlsx")
book = load_workbook(path)
sheet = book["Scores"]
criteria = [i for i, c in enumerate(sheet[1], 1) if c.value in ("originality", "information", "technique", "impact")]
for row in range(2 + (sheet.max_row - 1) // 2, sheet.max_row + 1):  # J07 scored the first half only
    for col in criteria:
        sheet.cell(row, col).value = None
book.save(returned / path.name)
PY
grep -q '^\[mail\]' "$ws/contest.toml" ||  # a workspace made before the mail settings existed: add them
    printf '\n[notices]\nlanguages = ["en"]\n\n[mail]\nfrom = ""\n' >> "$ws/contest.toml"
sed -i -e "s/^sheets_due = \"\"\$/sheets_due = \"$(date -d '+7 days' +%F)\"/" \
    -e 's/^from = ""$/from = "MILSET Photo Contest <photo@example.org>"/' "$ws/contest.toml"
"${ctl[@]}" jury status -w "$ws"
"${ctl[@]}" jury remind --eml -w "$ws"
echo "   -- the late sheets arrive: J07's XLSX, and J10 scored on the scoring page and sends the CSV its Export"
echo "   saved (the demo has no browser: a script writes the same bytes, milsetctl.jury.page.page_csv)"
.venv/bin/python - "$ws" <<'PY'
import sys
from pathlib import Path

from openpyxl import load_workbook

from milsetctl.jury.page import csv_name, page_csv

jury = Path(sys.argv[1]) / "jury"
(path,) = (jury / "late").glob("J10 *.xlsx")  # what J10 typed, here taken from their filled sheet
book = load_workbook(path, read_only=True)
meta = {r[0]: r[1] for r in book["milsetctl"].iter_rows(values_only=True)}
rows = list(book["Scores"].iter_rows(values_only=True))
book.close()
criteria, col = str(meta["criteria"]).split(","), {h: i for i, h in enumerate(rows[0])}
typed = [(r[col["anon_id"]], {c: r[col[c]] for c in criteria}, r[col["comment"]]) for r in rows[1:] if r[0]]
(jury / "returned" / csv_name(path.name)).write_bytes(page_csv(criteria, typed, meta["juror_id"], meta["round_id"]))
path.unlink()
print(f"   {csv_name(path.name)}: {len(typed)} photos scored on {path.with_suffix('.html').name}, exported")
PY
mv -f "$ws/jury/late/"*.xlsx "$ws/jury/returned/" && rmdir "$ws/jury/late"
"${ctl[@]}" jury status -w "$ws" | tail -n 3

echo; echo "== 6. score: combine the returned sheets, rank, and see how far the jurors agree"
"${ctl[@]}" score "$ws/jury/returned" -w "$ws"
echo; echo "   --compare: would another method change an award? (it only looks: nothing is stored)"
"${ctl[@]}" score "$ws/jury/returned" -w "$ws" --compare | sed -n '/^Compare\|another method would change/,$p'

echo; echo "== 7. awards: the Qualifier Award, top 35% per category"
"${ctl[@]}" awards -w "$ws" --export "$ws/awards/awards.xlsx"

echo; echo "== 7b. a fair final at the cut: the entries within one standard error of a category's Qualifier cut, on"
echo "   one short XLSX per juror (thumbnails, one column 'your rank'); Schulze combines the rankings beside the"
echo "   score order. The awards above stay the SPEC default; \`awards --use-final\` would be the chair's choice."
rm -rf "$ws/jury/final"
"${ctl[@]}" jury final --cut -w "$ws"
if compgen -G "$ws/jury/final/*.xlsx" > /dev/null; then
    echo "   the jurors rank the short list (each by their own scores of those photos; a script plays them):"
    .venv/bin/python - "$ws" <<'PY'
import hashlib, json, sys
from pathlib import Path
from openpyxl import load_workbook
from milsetctl.workspace import open_workspace

ws_dir = Path(sys.argv[1])
with open_workspace(ws_dir, read_only=True) as ws:
    own = {}
    for juror, anon, scores, *_ in ws.ledger.score_rows():
        marks = [v for v in json.loads(scores).values() if v is not None]
        if marks:
            own[(juror, anon)] = sum(marks) / len(marks)
for path in sorted((ws_dir / "jury" / "final").glob("*.xlsx")):
    book = load_workbook(path)
    juror = next(r[1] for r in book["milsetctl"].iter_rows(values_only=True) if r[0] == "juror")
    sheet, groups = book["Final"], {}
    col = {c.value: c.column for c in sheet[1]}
    for row in range(2, sheet.max_row + 1):
        if not sheet.cell(row, col["your rank"]).protection.locked:  # a conflict of interest stays blank
            anon = sheet.cell(row, col["anon_id"]).value
            noise = int(hashlib.sha256(f"{juror}/{anon}".encode()).hexdigest(), 16) % 1000 / 1000
            groups.setdefault(sheet.cell(row, col["group"]).value, []).append((own.get((juror, anon), 5.0) + noise,
                                                                               row))
    for rows in groups.values():
        for place, (_, row) in enumerate(sorted(rows, reverse=True), start=1):
            sheet.cell(row, col["your rank"]).value = place
    book.save(path)
PY
    "${ctl[@]}" score --final "$ws/jury/final" -w "$ws"
fi

echo; echo "== 8. nominate: the national best 3 (of the Qualifier Award holders), originals and manifest, for the global round"
"${ctl[@]}" nominate -w "$ws" --top 3 --out "$ws/awards/nomination-CN.zip"

echo; echo "== 9. certificates: participation and Qualifier Award, one PDF each plus a print file, as a school would frame"
echo "   them ([certificates]): the award day as the issue date, who signs, the place, and a QR code that opens the"
echo "   verify page published at verify_url (gallery/verify.html, step 10) on the certificate"
for key in verify_url issue_date place signatories; do  # a workspace made before these settings: add their lines
    grep -q "^$key = " "$ws/contest.toml" || sed -i "/^\[certificates\]/a $key = \"\"" "$ws/contest.toml"
done
verify_url="https://example.org/milset-photo-2022/verify.html"
signatories='[{name = "Dr. Li Na", title = "Chair of the Jury"}, {name = "Anna Schmidt", title = "MILSET Secretariat"}]'
sed -i -e "s|^verify_url = .*\$|verify_url = \"$verify_url\"|" -e "s|^signatories = .*\$|signatories = $signatories|" \
    -e 's|^issue_date = .*$|issue_date = 2022-08-20|' -e 's|^place = .*$|place = "Beijing, China"|' "$ws/contest.toml"
"${ctl[@]}" certificates participation -w "$ws"
"${ctl[@]}" certificates qualifier -w "$ws"
code=$("${ctl[@]}" certificates qualifier -w "$ws" --json |  # printed already: only the codes are read
    .venv/bin/python -c 'import json, sys; print(json.load(sys.stdin)["certificates"][0]["code"])')

echo; echo "== 9b. members and fees: the roster, dues on the deadline day, a fee quote, refunds, member certificates"
"${ctl[@]}" members import sample_data/members.csv -w "$ws"
"${ctl[@]}" members status --on 2022-07-11 -w "$ws"
"${ctl[@]}" members export "$ws/members/members.xlsx" -w "$ws"
"${ctl[@]}" fees quote ESI --org "日本青少年科学協会" -w "$ws"
"${ctl[@]}" fees refund --paid 1000 --registered-on 2022-05-10 --withdrawn-on "2022-07-11 23:59" -w "$ws"
"${ctl[@]}" fees refund --batch sample_data/withdrawals.csv --out "$ws/fees/refunds.xlsx" -w "$ws"
"${ctl[@]}" certificates member -w "$ws"
"${ctl[@]}" regions -w "$ws"

echo; echo "== 10. gallery and report: the qualifiers' virtual gallery (names as [gallery] names allows: \"initials\","
echo "   an entry whose manifest says no in publication_consent left out) with verify.html beside it; the contest in"
echo "   numbers with the winners per category and the juror checks"
"${ctl[@]}" gallery -w "$ws"
"${ctl[@]}" report -w "$ws"
echo "   -- a parent scans a Qualifier Award certificate's QR code: its address opens verify.html at verify_url, which"
echo "   checks the code in the browser; verify reads the same text as scanned"
"${ctl[@]}" verify "$verify_url#$code" -w "$ws"

echo; echo "== 10b. notices: every contestant's result letter (English and Chinese, [notices] languages), one .eml each"
echo "   with the letter and the certificates attached ([mail] from), and a mail-merge table; --send would send them"
grep -q '^\[mail\]' "$ws/contest.toml" ||  # a workspace made before notices existed: add their sections
    printf '\n[notices]\nlanguages = ["en"]\n\n[mail]\nfrom = ""\n' >> "$ws/contest.toml"
sed -i -e 's/^languages = \["en"\]$/languages = ["en", "zh"]/' \
    -e 's/^from = ""$/from = "MILSET Photo Contest <photo@example.org>"/' "$ws/contest.toml"
"${ctl[@]}" notices --eml -w "$ws"
echo "   -- --send --dry-run: who would get a message over SMTP ([mail] host; the password from an environment"
echo "   variable), and who already has (the sent log: a re-run sends nobody twice); nothing is sent"
grep -q '^host = ' "$ws/contest.toml" || sed -i '/^\[mail\]/a host = ""' "$ws/contest.toml"
sed -i -e 's/^host = ""$/host = "smtp.example.org"/' "$ws/contest.toml"
"${ctl[@]}" notices --send --dry-run -w "$ws" | tail -n 1

echo; echo "== 11. the audit trail (checked link by link) and the anonymised results to share"
"${ctl[@]}" audit -w "$ws" --kind decide --kind awards --kind certificates
"${ctl[@]}" audit -w "$ws" --verify
"${ctl[@]}" export --anonymised "$ws/reports/results-anonymised.xlsx" -w "$ws"

echo; echo "== 12. status: the contest stage by stage, what waits on a person, and the next command"
"${ctl[@]}" status -w "$ws"

echo
echo "Validation report: $ws/reports/validation.html"
echo "Jury package:      $ws/jury/package/ (contact-sheet.html, contact-sheet.pdf, photos/)"
echo "Score sheets:      $ws/jury/sheets/ (as sent, a scoring page .html beside each), $ws/jury/returned/ (as the jurors sent them back)"
echo "Awards:            $ws/awards/awards.xlsx, $ws/awards/nomination-CN.zip"
echo "Final sheets:      $ws/jury/final/ (the short list at the Qualifier cut, ranked by each juror)"
echo "Certificates:      $ws/certificates/participation/, $ws/certificates/qualifier/"
echo "Gallery:           $ws/gallery/index.html"
echo "Verify page:       $ws/gallery/verify.html (open it as verify.html#$code: a certificate's QR code)"
echo "Result notices:    $ws/notices/ (one PDF each, mail-merge.xlsx), $ws/notices/mail/ (.eml)"
echo "Contest report:    $ws/reports/contest-report.html"
echo "Members and fees:  $ws/members/members.xlsx, $ws/fees/refunds.xlsx, $ws/certificates/member/"
echo "Anonymised:        $ws/reports/results-anonymised.xlsx (no personal data)"
