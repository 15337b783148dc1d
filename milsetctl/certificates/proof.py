"""The proof list: every name, school and title exactly as the certificates will print them, for contestants to
check spelling before the print run (issue 8). XLSX for the secretariat, PDF (same fonts as the certificates) to
send out."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from milsetctl.certificates import recipients
from milsetctl.certificates.fonts import first_missing_char
from milsetctl.fsutil import atomic_path
from milsetctl.workspace import Workspace

HEADERS = ("recipient", "name", "school", "title", "award", "prints")


@dataclass
class Proof:
    kind: str
    xlsx: Path
    pdf: Path
    rows: int
    refused: int


def write_proof(ws: Workspace, kind: str, out: Path | None = None, only: list[str] | None = None) -> Proof:
    """Write `KIND-proof.xlsx` and `KIND-proof.pdf` into `out` (default certificates/KIND/). A row whose text has
    a character no font prints says so in the `prints` column. Raises CertificateError as
    `recipients` does."""
    from jinja2 import Environment
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from weasyprint import HTML

    people = recipients(ws, kind)
    if only:
        people = [c for c in people if c.key in set(only)]
    folder = out if out is not None else ws.root / "certificates" / kind
    folder.mkdir(parents=True, exist_ok=True)
    rows = []
    for c in people:
        bad = next((ch for t in (c.name, c.school, c.title) if (ch := first_missing_char(t)) is not None), None)
        rows.append((c.key, c.name, c.school, c.title, c.award,
                     "yes" if bad is None else f"NO: U+{ord(bad):04X} has no font"))
    wb = Workbook()
    sheet = wb.active
    sheet.title = f"{kind} proof"[:31]
    sheet.append(HEADERS)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for r, row in enumerate(rows, start=2):
        for col, value in enumerate(row, start=1):
            cell = sheet.cell(row=r, column=col)
            cell.value = value
            cell.data_type = "s"  # never a formula: a name beginning = + - @ stays text
            cell.number_format = "@"
    for letter, width in zip("ABCDEF", (12, 28, 36, 40, 30, 22), strict=True):
        sheet.column_dimensions[letter].width = width
    sheet.freeze_panes = "A2"
    xlsx = folder / f"{kind}-proof.xlsx"
    with atomic_path(xlsx) as tmp:
        wb.save(tmp)

    env = Environment(autoescape=True)
    shown = [tuple(_marked(v) for v in row) for row in rows]  # a box in the PDF would hide which character it is
    html = env.from_string(PROOF_HTML).render(kind=kind, contest=ws.settings.name, headers=HEADERS, rows=shown)
    pdf = folder / f"{kind}-proof.pdf"
    with atomic_path(pdf) as tmp:
        HTML(string=html).write_pdf(tmp)
    if not only:
        from milsetctl import stages

        stages.record(ws, "certificates:proof", {"kind": kind, "outputs": [str(xlsx), str(pdf)],
                                                 "entries": sorted({c.entry_id for c in people if c.entry_id})})
    return Proof(kind, xlsx, pdf, len(rows), sum(1 for r in rows if r[-1] != "yes"))


def _marked(text: str) -> str:
    """`text` with each character no font prints written as [U+XXXX]."""
    out = []
    for ch in text:
        out.append(f"[U+{ord(ch):04X}]" if first_missing_char(ch) is not None else ch)
    return "".join(out)


PROOF_HTML = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{{ contest }}: {{ kind }} certificates, proof list</title>
<style>
 @page { size: A4 landscape; margin: 12mm;
         @bottom-right { content: counter(page) " / " counter(pages); font-size: 8pt; } }
 body { font-family: "DejaVu Sans", "Noto Sans CJK SC", sans-serif; font-size: 9.5pt; color: #1c2b4a; }
 h1 { font-size: 14pt; margin: 0 0 2mm 0; }
 p { margin: 0 0 4mm 0; font-size: 9pt; }
 table { border-collapse: collapse; width: 100%; }
 th, td { border-bottom: 0.2mm solid #ccd; padding: 1.2mm 2mm; text-align: left; vertical-align: top; }
 th { background: #eef0f5; }
 thead { display: table-header-group; }
 .name { font-family: "Noto Serif CJK SC", "DejaVu Serif", serif; font-weight: bold; }
</style></head><body>
<h1>{{ contest }}: {{ kind }} certificates, proof list</h1>
<p>Every name, school and photo title exactly as it will print. Please report any misspelling before the print run.</p>
<table><thead><tr>{% for h in headers %}<th>{{ h }}</th>{% endfor %}</tr></thead><tbody>
{% for r in rows %}<tr><td>{{ r[0] }}</td><td class="name">{{ r[1] }}</td><td>{{ r[2] }}</td><td>{{ r[3] }}</td>
<td>{{ r[4] }}</td><td>{{ r[5] }}</td></tr>
{% endfor %}</tbody></table></body></html>"""
