"""`jury remind` (issue 20): the late jurors of a round (one partial, one missing) get a reminder, and nobody else:
a mail-merge row each (XLSX and CSV read back), a `.eml` each read back with `email` (what is missing, the due date,
the juror's own sheet attached and opened with openpyxl), and `--send` to a real SMTP server on localhost
(aiosmtpd), where a re-run the same day sends nothing twice and the next day's run reminds them again."""

from __future__ import annotations

import csv
import email
import io
import json
from datetime import date, timedelta
from email import policy
from pathlib import Path

import pytest
from openpyxl import load_workbook
from test_jury_status import fill, late_round, sheet_ids, sheet_of
from test_mail import mail_settings, smtp  # noqa: F401 - `smtp` is the fixture: an SMTP server on localhost
from typer.testing import CliRunner

from milsetctl.cli import app
from milsetctl.juryround.remind import PURPOSE, make_reminders, send_reminders
from milsetctl.workspace import open_workspace

runner = CliRunner()


def remind(root: Path, *args: str, code: int = 0) -> dict:
    result = runner.invoke(app, ["jury", "remind", *args, "--json", "-w", str(root)])
    assert result.exit_code == code, result.output
    return json.loads(result.stdout)


def attachment(msg: email.message.EmailMessage) -> tuple[str, bytes]:
    (part,) = [p for p in msg.iter_attachments()]
    return str(part.get_filename()), part.get_content()


def test_eml_for_the_partial_and_the_missing_juror_only(tmp_path: Path, smtp) -> None:  # noqa: F811
    root, pairs = late_round(tmp_path, settings=mail_settings(smtp[1]))
    data = remind(root, "--eml")
    assert [(r["juror_id"], r["state"], r["scored"], r["expected"]) for r in data["reminders"]] == [
        ("J03", "partial", 2, 4), ("J04", "missing", 0, 4)]
    mail = root / "jury" / "reminders" / "mail"
    assert sorted(p.name for p in mail.iterdir()) == ["J03 Cai Wen.eml", "J04 Dan Xu.eml"]
    j03_left = sheet_ids(sheet_of(root, "J03"))[2:]

    partial = email.message_from_bytes((mail / "J03 Cai Wen.eml").read_bytes(), policy=policy.default)
    assert partial["To"].addresses[0].addr_spec == "cai@example.org"
    assert partial["From"].addresses[0].addr_spec == "photo@example.org"
    assert "2 photos left" in partial["Subject"]
    body = partial.get_body(("plain",)).get_content()
    assert "have reached us for 2 of your 4 photos" in body and "2022-07-20" in body
    assert all(a in body for a in j03_left)
    name, content = attachment(partial)
    assert name == "J03 Cai Wen.xlsx"  # the sheet the juror sent back, with the scores so far
    scores = load_workbook(io.BytesIO(content))["Scores"]
    typed = {r[0]: r[1:5] for r in scores.iter_rows(min_row=2, values_only=True)}
    assert [a for a, v in typed.items() if v == (5, 6, 7, 8)] == sheet_ids(sheet_of(root, "J03"))[:2]

    missing = email.message_from_bytes((mail / "J04 Dan Xu.eml").read_bytes(), policy=policy.default)
    assert missing["To"].addresses[0].addr_spec == "dan@example.org"
    body = missing.get_body(("plain",)).get_content()
    assert "has not reached us yet" in body and "4 photos" in body and "2022-07-20" in body
    name, content = attachment(missing)
    hidden = {r[0]: r[1] for r in load_workbook(io.BytesIO(content))["milsetctl"].iter_rows(values_only=True)}
    assert name == sheet_of(root, "J04").name and hidden["juror_id"] == "J04"  # the sheet `jury sheets` made

    # the mail-merge table, XLSX and CSV: one row per late juror
    book = load_workbook(data["mail_merge"])
    rows = list(book["reminders"].iter_rows(values_only=True))
    head = list(rows[0])
    table = [dict(zip(head, r, strict=True)) for r in rows[1:]]
    assert [(r["juror_id"], r["email"], r["state"]) for r in table] == [
        ("J03", "cai@example.org", "partial"), ("J04", "dan@example.org", "missing")]
    assert table[0]["missing"].split() == j03_left and table[1]["missing"] in (None, "")
    assert all(r["due"] == "2022-07-20" for r in table) and table[0]["attachments"].endswith("J03 Cai Wen.xlsx")
    with open(data["mail_merge_csv"], encoding="utf-8-sig", newline="") as fh:
        assert [(r["juror_id"], r["subject"]) for r in csv.DictReader(fh)] == [
            (r["juror_id"], r["subject"]) for r in table]


def test_send_once_a_day(tmp_path: Path, smtp) -> None:  # noqa: F811
    recorder, port = smtp
    root, _ = late_round(tmp_path, settings=mail_settings(port))
    dry = remind(root, "--send", "--dry-run")
    assert len(dry["mail"]["would_send"]) == 2 and recorder.messages == []

    first = remind(root, "--send")
    assert len(first["mail"]["sent"]) == 2 and first["mail"]["already_sent"] == []
    assert sorted(recorder.per_recipient()) == ["cai@example.org", "dan@example.org"]
    for tos, raw in recorder.messages:
        msg = email.message_from_bytes(raw, policy=policy.default)
        assert msg["To"].addresses[0].addr_spec == tos[0]
        assert attachment(msg)[0].endswith(".xlsx")

    again = remind(root, "--send")  # the same day: nobody twice
    assert again["mail"]["sent"] == [] and sorted(again["mail"]["already_sent"]) == sorted(first["mail"]["sent"])
    assert len(recorder.messages) == 2

    # J03 finishes; the next day only J04 is still late and gets a second reminder, a new message
    path = sheet_of(root, "J03")
    fill(root / "jury" / "returned" / path.name, {a: [6, 6, 6, 7] for a in sheet_ids(path)})
    with open_workspace(root) as ws:
        today = date.fromisoformat(first["day"])
        batch = make_reminders(ws, eml=True, today=today + timedelta(days=1))
        assert [r.progress.juror_id for r in batch.reminders] == ["J04"]
        report = send_reminders(ws, batch)
        assert report.sent == [f"J04 {today + timedelta(days=1)}"]
        log = ws.ledger.mail_log(PURPOSE)
        assert sorted(log) == sorted([*first["mail"]["sent"], f"J04 {today + timedelta(days=1)}"])
    assert len(recorder.messages) == 3
    ids = {email.message_from_bytes(raw, policy=policy.default)["Message-ID"] for tos, raw in recorder.messages
           if tos == ["dan@example.org"]}
    assert len(ids) == 2  # yesterday's message is not sent again as today's


def test_nobody_late_and_usage(tmp_path: Path) -> None:
    root, _ = late_round(tmp_path)
    result = runner.invoke(app, ["jury", "remind", "--eml", "-w", str(root)])
    assert result.exit_code == 1 and "[mail] from is not set" in result.output
    assert runner.invoke(app, ["jury", "remind", "--dry-run", "-w", str(root)]).exit_code == 2
    back = root / "jury" / "returned"
    for jid in ("J03", "J04"):
        path = sheet_of(root, jid)
        fill(path, {a: [7, 7, 8, 6] for a in sheet_ids(path)}, back / path.name)
    assert remind(root)["reminders"] == []
    result = runner.invoke(app, ["jury", "remind", "-w", str(root)])
    assert result.exit_code == 0 and "no reminder needed" in result.output


@pytest.mark.parametrize("due,today,said", [
    ("2022-07-20", date(2022, 7, 18), "by 2022-07-20"),
    ("2022-07-20", date(2022, 7, 20), "today, 2022-07-20"),
    ("2022-07-20", date(2022, 7, 23), "it was due on 2022-07-20 (3 days ago)"),
    ("", date(2022, 7, 23), "as soon as you can"),
    ("end of July", date(2022, 7, 23), "by end of July"),
])
def test_due_date_wording(due: str, today: date, said: str) -> None:
    from milsetctl.juryround.remind import due_text

    assert said in due_text(due, today)
