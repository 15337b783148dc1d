"""`milsetctl jury remind`: a reminder to every juror whose sheet is missing or partial.

Each reminder says what is missing (how many entries; which anonymous IDs when part of the sheet is scored) and
the due date (`[jury] sheets_due`), and carries the juror's sheet: the one they sent back when it is partial (their
scores so far stay in it), else the one `jury sheets` made for them. The reminders are a mail-merge table (XLSX and
CSV, like the notices') in `jury/reminders/`, and with `eml` one `.eml` per juror with an e-mail address, in
`jury/reminders/mail/`. Building, the `.eml` files, sending over SMTP, the sent log, the rate limit and the dry
run are milsetctl/mail.py's, as for the result notices.

Once a day: the sent log's key for a reminder is the juror's ID and the day it is sent (the contest's time zone),
`J03 2022-07-21`. A re-run the same day sends nobody a second reminder, however the sheet changed in between; the
next day a juror still late gets a new one (with what is missing then, and a new Message-ID: the day is in the
message's digest, so yesterday's message is never sent again as today's).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from milsetctl.juryround.status import MISSING, PARTIAL, JurorProgress, RoundStatus, StatusError, round_status
from milsetctl.models import StageError
from milsetctl.workspace import Workspace

PURPOSE = "jury-reminders"  # the sent log's purpose (milsetctl/mail.py)
REMINDERS_DIR = Path("jury") / "reminders"
MAIL_DIR = "mail"
XLSX, CSV = "reminders.xlsx", "reminders.csv"
DIGEST_HEADER = "X-Milsetctl-Reminder"  # the .eml's digest: an unchanged reminder keeps its file and Message-ID
COLUMNS = ("juror_id", "juror", "email", "state", "scored", "expected", "missing", "due", "subject", "body",
           "attachments")
WIDTHS = (9, 20, 30, 9, 8, 9, 40, 12, 40, 80, 60)
SHOWN_IDS = 40  # anon IDs listed in a partial juror's message; beyond, "and N more" (the sheet shows them all)


class RemindError(StageError):
    """The reminders cannot be made (no jury round, no sender for the e-mails, --out inside the submissions)."""


@dataclass
class Reminder:
    """One late juror's reminder. `key`: the sent log's recipient key (juror ID and day)."""

    progress: JurorProgress
    key: str
    subject: str
    body: str
    sheet: Path | None  # the file attached
    eml: Path | None = None
    digest: str = ""

    def as_json(self) -> dict[str, Any]:
        p = self.progress
        return {"juror_id": p.juror_id, "juror": p.juror, "email": p.email, "state": p.state, "scored": p.scored,
                "expected": p.expected, "missing": p.missing, "key": self.key, "subject": self.subject,
                "attachment": str(self.sheet) if self.sheet else None, "eml": str(self.eml) if self.eml else None}


@dataclass
class ReminderBatch:
    folder: Path
    day: date
    due: str  # [jury] sheets_due as set ("" = none)
    status: RoundStatus
    reminders: list[Reminder] = field(default_factory=list)
    mail_merge: Path | None = None
    mail_merge_csv: Path | None = None
    warnings: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {"reminders": [r.as_json() for r in self.reminders], "day": self.day.isoformat(),
                "due": self.due or None, "sheets_folder": str(self.status.folder),
                "mail_merge": str(self.mail_merge) if self.mail_merge else None,
                "mail_merge_csv": str(self.mail_merge_csv) if self.mail_merge_csv else None,
                "warnings": self.warnings}


def due_text(due: str, today: date) -> str:
    """The due date as the message says it: 'by 2022-07-20', 'on 2022-07-20, today', or 'on 2022-07-18, three
    days ago' (a date that cannot be read is quoted as set; none: 'as soon as you can')."""
    from milsetctl.settings import toml_date

    if not due:
        return "as soon as you can"
    try:
        day = toml_date(due)
    except (ValueError, TypeError):
        day = None
    if day is None:
        return f"by {due}"
    if day > today:
        return f"by {day.isoformat()}"
    if day == today:
        return f"today, {day.isoformat()}"
    late = (today - day).days
    return f"as soon as you can: it was due on {day.isoformat()} ({late} day{'s' if late != 1 else ''} ago)"


def message(contest: str, round_id: str | None, progress: JurorProgress, due: str, today: date, return_to: str,
            sender_name: str) -> tuple[str, str]:
    """(subject, plain-text body) of one juror's reminder."""
    when = due_text(due, today)
    round_text = f" (round {round_id})" if round_id else ""
    if progress.state == MISSING:
        subject = f"{contest}: your jury score sheet — reminder"
        what = (f"Your score sheet{round_text} has not reached us yet: the {progress.expected} photo"
                f"{'s' if progress.expected != 1 else ''} on it still need your scores.")
        sheet = "Your sheet is attached again, as it was sent to you."
    else:
        subject = f"{contest}: {len(progress.missing)} photo{'s' if len(progress.missing) != 1 else ''} left on " \
                  "your jury score sheet"
        shown = ", ".join(progress.missing[:SHOWN_IDS])
        more = f" and {len(progress.missing) - SHOWN_IDS} more" if len(progress.missing) > SHOWN_IDS else ""
        what = (f"Your scores{round_text} have reached us for {progress.scored} of your {progress.expected} "
                f"photos. {len(progress.missing)} still need every score: {shown}{more}.")
        sheet = ("The sheet you sent back is attached, with your scores so far: fill in the rows of these photos "
                 "and send the whole sheet again.")
    back = f"send it back to {return_to}" if return_to else "reply to this message with the sheet attached"
    greeting = f"Dear {progress.juror}," if progress.juror else "Dear juror,"
    lines = [
        greeting, "",
        f"Thank you for judging the {contest}.", "",
        what, "",
        f"Please return your sheet {when}.", "",
        f"{sheet} Give each photo a whole number for every criterion, save the file as it is (do not rename it), "
        f"and {back}.",
        "If you recognise a photo or know who took it, leave its scores blank and write RECUSED in its comment.", "",
        "With thanks,", sender_name or "The jury chair",
    ]
    return subject, "\n".join(lines) + "\n"


def make_reminders(ws: Workspace, sheets_dir: Path | None = None, out: Path | None = None, eml: bool = False,
                   today: date | None = None, progress: Callable[[int, int], None] | None = None) -> ReminderBatch:
    """A reminder for every juror whose sheet is missing or partial in `sheets_dir` (default as `jury status`):
    the mail-merge table (reminders.xlsx and .csv) in `out` (default jury/reminders/ in the workspace), and with
    `eml` one `.eml` per such juror with an e-mail address (mail/ below `out`). `today`: the day the reminders are
    for (default: today in the contest's time zone); it is part of each reminder's sent-log key.

    Raises RemindError: no jury round or no such folder (as `jury status`), `out` inside the submissions folder
    (exit 2), no [mail] from for `eml` (exit 1)."""
    from milsetctl.fsutil import remove_stale_temps, writes_into
    from milsetctl.jury.run import SHEETS_DIR
    from milsetctl.jury.sheets import sheet_file_name
    from milsetctl.mail import MailError, MailSettings, write_merge_table

    try:
        status = round_status(ws, sheets_dir)
    except StatusError as exc:
        raise RemindError(str(exc), exc.code) from None
    if not status.assigned:
        raise RemindError("no jury round: `milsetctl jury sheets` has not assigned the entries to jurors, so nobody "
                          "can be late yet")
    folder = out if out is not None else ws.root / REMINDERS_DIR
    if ws.settings.source and writes_into(folder, ws.settings.source):
        raise RemindError(f"--out {folder}: inside the submissions folder {ws.settings.source}; nothing may be "
                          "written there", 2)
    mail = None
    try:
        mail = MailSettings.from_settings(ws.settings)
        if eml:
            mail.require_sender()
    except MailError as exc:
        if eml:
            raise RemindError(str(exc), exc.code) from None
    from email.utils import parseaddr

    sender_name = parseaddr(mail.sender)[0] if mail is not None else ""
    jury = ws.settings.jury
    due = str(jury.get("sheets_due") or "")
    return_to = str(jury.get("sheets_return_to") or "")
    day = today or datetime.now(ws.settings.tz).date()
    batch = ReminderBatch(folder=folder, day=day, due=due, status=status)
    late = [j for j in status.jurors if j.state in (MISSING, PARTIAL)]
    folder.mkdir(parents=True, exist_ok=True)
    remove_stale_temps(folder)
    if eml:
        (folder / MAIL_DIR).mkdir(exist_ok=True)
        remove_stale_temps(folder / MAIL_DIR)
    if progress:
        progress(0, len(late))
    for done, juror in enumerate(late, 1):
        issued = ws.root / SHEETS_DIR / sheet_file_name(juror.juror_id or "", juror.juror)
        sheet: Path | None = juror.sheet if juror.state == PARTIAL and juror.sheet is not None else issued
        if sheet is not None and not sheet.is_file():
            batch.warnings.append(f"{juror.juror_id} {juror.juror}: no sheet to attach ({sheet} is not there); run "
                                  "`milsetctl jury sheets` to make it again")
            sheet = None
        subject, body = message(ws.settings.name, status.round_id, juror, due, day, return_to, sender_name)
        reminder = Reminder(progress=juror, key=f"{juror.juror_id} {day.isoformat()}", subject=subject, body=body,
                            sheet=sheet)
        reminder.digest = _digest(reminder, day)
        if eml and juror.email and mail is not None:
            reminder.eml = _write_eml(reminder, folder / MAIL_DIR / _eml_name(juror), mail)
        batch.reminders.append(reminder)
        if progress:
            progress(done, len(late))
    rows = [[r.progress.juror_id, r.progress.juror, r.progress.email or "", r.progress.state, r.progress.scored,
             r.progress.expected, " ".join(r.progress.missing) if r.progress.state == PARTIAL else "",
             due, r.subject, r.body, str(r.sheet) if r.sheet else ""] for r in batch.reminders]
    batch.mail_merge, batch.mail_merge_csv = write_merge_table(folder / XLSX, folder / CSV, "reminders", COLUMNS,
                                                               rows, WIDTHS)
    without = [r.progress for r in batch.reminders if not r.progress.email]
    if without:
        batch.warnings.append(f"{len(without)} late juror(s) have no e-mail address in the juror file: "
                              f"{', '.join(f'{j.juror_id} {j.juror}' for j in without)} (their row in the mail-merge "
                              "table has none; remind them another way)")
    ws.ledger.audit("jury-remind", {"day": day.isoformat(), "folder": str(folder),
                                    "sheets_folder": str(status.folder),
                                    "reminders": [r.progress.juror_id for r in batch.reminders],
                                    "eml": sum(1 for r in batch.reminders if r.eml)})
    from milsetctl.stages import record_outputs

    record_outputs(ws, "jury-reminders", [folder])  # purge finds the jurors' addresses here
    return batch


def _eml_name(juror: JurorProgress) -> str:
    from milsetctl.fsutil import safe_file_name

    return safe_file_name(f"{juror.juror_id} {juror.juror}", max_bytes=140, fallback=juror.juror_id or "juror") \
        + ".eml"


def _digest(reminder: Reminder, day: date) -> str:
    """What the reminder says, the day and the attached file: the same digest keeps the `.eml` (and its
    Message-ID) within a day; the next day's message is a new one."""
    h = hashlib.sha256()
    for part in (day.isoformat(), reminder.subject, reminder.body):
        h.update(part.encode("utf-8") + b"\0")
    if reminder.sheet is not None:
        h.update(hashlib.sha256(reminder.sheet.read_bytes()).digest())
    return h.hexdigest()


def _write_eml(reminder: Reminder, path: Path, settings: Any) -> Path:
    """The reminder's message, kept as it is when it already says this (its digest header and sender)."""
    from milsetctl.mail import build_message, display_address, read_eml, write_eml

    if path.is_file():
        try:
            old = read_eml(path)
            if old.get(DIGEST_HEADER) == reminder.digest and str(old.get("From")) == settings.sender:
                return path
        except (OSError, ValueError):
            pass
    juror = reminder.progress
    attachments = [(reminder.sheet, reminder.sheet.name)] if reminder.sheet is not None else []
    to = display_address(juror.juror, juror.email or "")
    msg = build_message(settings.sender, to, reminder.subject, reminder.body, attachments,
                        reply_to=settings.reply_to, headers={DIGEST_HEADER: reminder.digest})
    return write_eml(msg, path)


def send_reminders(ws: Workspace, batch: ReminderBatch, *, dry_run: bool = False,
                   progress: Callable[[int, int, str], None] | None = None) -> Any:
    """Send the batch's `.eml` files over SMTP ([mail] settings) through milsetctl/mail.py: each juror at most once
    a day (the sent log's key is juror ID and day). Returns mail.SendReport; raises mail.MailError when sending
    cannot start."""
    from milsetctl.mail import MailSettings, Outgoing, send_messages

    config = MailSettings.from_settings(ws.settings)
    outgoing = [Outgoing(r.key, r.eml, r.digest, r.progress.juror) for r in batch.reminders if r.eml is not None]
    report = send_messages(ws, PURPOSE, outgoing, config, dry_run=dry_run, progress=progress)
    if not dry_run:
        ws.ledger.audit("mail-run", {"purpose": PURPOSE, "sent": len(report.sent), "already_sent": len(report.already),
                                     "uncertain": report.uncertain, "refused": [k for k, _ in report.refused],
                                     "stopped": report.stopped})
    return report
