"""E-mail, for any command that writes to people (result notices, the jurors' reminders): a message built
with the standard library's `email` package and kept as a ready-to-send `.eml` file, and sending over SMTP with a
sent log in the ledger, so that a re-run never sends a message twice and a killed run goes on where it stopped.

The sent log (ledger table `mail_log`, one row per attempt) says, per purpose ("notices") and recipient key, what
was sent, when, with which Message-ID. Each message is written to the log as "sending" before its DATA goes to the
server and as "sent" (with its audit record, "mail-sent") once the server took it. A message the server refused
is "failed" and is tried again by the next run. A run killed after the server got the message but before the log
said "sent" leaves "sending": nobody can know whether it arrived, so the next run does not send it again on its
own (`uncertain`: the operator asks the family, then `resend`s it). At most once, never twice by accident.

Settings, `[mail]` in contest.toml: host, port, starttls (STARTTLS on a plain connection), ssl (TLS from the
start, port 465), user, from, reply_to, per_minute (the rate limit: at most this many messages a minute; 0: no
limit), and password_env: the NAME of the environment variable holding the SMTP password (never the password:
contest.toml is copied around with the workspace)."""

from __future__ import annotations

import mimetypes
import os
import smtplib
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import formatdate, make_msgid, parseaddr
from pathlib import Path
from typing import Any

from milsetctl.fsutil import write_bytes_atomic
from milsetctl.workspace import Workspace

DEFAULT_PASSWORD_ENV = "MILSETCTL_SMTP_PASSWORD"
TIMEOUT_S = 60.0  # one SMTP command's answer; a server that says nothing for a minute is not answering


class MailError(Exception):
    """Mail cannot be built or sent at all (no sender, no host, the password's variable unset); `code` is the
    exit status."""

    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class MailSettings:
    host: str = ""
    port: int = 587
    starttls: bool = True
    ssl: bool = False
    user: str = ""
    sender: str = ""  # [mail] from: "Name <address>" or an address
    reply_to: str = ""
    password_env: str = DEFAULT_PASSWORD_ENV
    per_minute: float = 30.0

    @classmethod
    def from_settings(cls, settings: Any) -> MailSettings:
        raw = dict(settings.raw.get("mail") or {})
        if "password" in raw:
            raise MailError("[mail] password: never write the password into contest.toml (it travels with the "
                            "workspace); put its NAME in [mail] password_env and the password in that environment "
                            f"variable (default {DEFAULT_PASSWORD_ENV})")
        try:
            return cls(host=str(raw.get("host", "") or ""), port=int(raw.get("port", 587)),
                       starttls=bool(raw.get("starttls", True)), ssl=bool(raw.get("ssl", False)),
                       user=str(raw.get("user", "") or ""), sender=str(raw.get("from", "") or ""),
                       reply_to=str(raw.get("reply_to", "") or ""),
                       password_env=str(raw.get("password_env") or DEFAULT_PASSWORD_ENV),
                       per_minute=float(raw.get("per_minute", 30)))
        except (TypeError, ValueError) as exc:
            raise MailError(f"[mail]: {exc}") from None

    @property
    def sender_address(self) -> str:
        return parseaddr(self.sender)[1]

    def require_sender(self) -> None:
        if not self.sender_address:
            raise MailError('[mail] from is not set: the address the messages come from, e.g. from = "MILSET '
                            'Photo Contest <photo@example.org>" in contest.toml')

    def require_server(self) -> None:
        self.require_sender()
        if not self.host:
            raise MailError('[mail] host is not set: the SMTP server to send through, e.g. host = "smtp.example.org" '
                            "in contest.toml (with port, starttls, user)")

    def password(self, environ: dict[str, str] | None = None) -> str | None:
        """The SMTP password from the environment variable `password_env`; None when no user logs in. Raises
        MailError naming the variable when a user is set and the variable is not."""
        if not self.user:
            return None
        env = os.environ if environ is None else environ
        value = env.get(self.password_env)
        if not value:
            raise MailError(f"[mail] user is {self.user!r}, but the environment variable {self.password_env} that "
                            "holds the SMTP password is not set (export it before sending; it is never read from "
                            "contest.toml)")
        return value


# --- messages -------------------------------------------------------------------------------------------------------
def build_message(sender: str, to: str, subject: str, text: str, attachments: Iterable[Path | tuple[Path, str]] = (),
                  reply_to: str = "", headers: dict[str, str] | None = None) -> EmailMessage:
    """One message: the plain-text body and each file attached, under its own name or the one given with it
    ((path, name): two files of the same name must not arrive as one); its type guessed from the name (a PDF is
    application/pdf). Non-ASCII names in the subject, the addresses' display names and file names are encoded
    as RFC 2047/2231 require. `headers`: extra headers (X-...)."""
    msg = EmailMessage(policy=policy.SMTP)
    msg["From"] = sender
    msg["To"] = to
    if reply_to:
        msg["Reply-To"] = reply_to
    msg["Subject"] = subject
    msg["Date"] = formatdate(localtime=False, usegmt=True)
    domain = parseaddr(sender)[1].rpartition("@")[2] or "milsetctl.invalid"
    msg["Message-ID"] = make_msgid("milsetctl", domain=domain)
    for name, value in (headers or {}).items():
        msg[name] = value
    msg.set_content(text, subtype="plain", charset="utf-8")
    for item in attachments:
        path, name = item if isinstance(item, tuple) else (item, item.name)
        kind, _ = mimetypes.guess_type(name)
        maintype, _, subtype = (kind or "application/octet-stream").partition("/")
        msg.add_attachment(path.read_bytes(), maintype=maintype, subtype=subtype, filename=name)
    return msg


def display_address(name: str, email: str) -> str:
    """'Name <address>' with the name encoded as RFC 2047 asks ('张伟 <zw@example.cn>'); the bare address when the
    two do not make one (no domain, a name the header cannot hold)."""
    from email.headerregistry import Address

    local, _, domain = email.rpartition("@")
    try:
        return str(Address(display_name=name, username=local, domain=domain)) if local and domain else email
    except (ValueError, TypeError):
        return email


def message_bytes(msg: EmailMessage) -> bytes:
    """The message as it goes over SMTP (CRLF line ends, long lines folded)."""
    return msg.as_bytes(policy=policy.SMTP)


def write_eml(msg: EmailMessage, path: Path) -> Path:
    """The message as a `.eml` file any mail program opens and sends; whole or not at all."""
    path.parent.mkdir(parents=True, exist_ok=True)
    return write_bytes_atomic(path, message_bytes(msg))


def read_eml(path: Path) -> EmailMessage:
    with path.open("rb") as fh:
        msg = BytesParser(policy=policy.default).parse(fh)
    assert isinstance(msg, EmailMessage)
    return msg


def write_merge_table(xlsx: Path, csv_path: Path, title: str, columns: Sequence[str], rows: Sequence[Sequence[Any]],
                      widths: Sequence[int] = ()) -> tuple[Path, Path]:
    """A mail-merge table, one row per message, for a secretariat that sends through its own mail program (Outlook,
    Thunderbird's Mail Merge, WPS): XLSX (sheet `title`, header row frozen) and CSV (UTF-8 with BOM, so Excel on
    Chinese Windows reads the names), each whole or not at all. Every text cell stays text (sheetcells: a name
    starting with "=" is never a formula). Returns (xlsx, csv)."""
    import csv

    import openpyxl
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter

    from milsetctl.fsutil import atomic_path
    from milsetctl.sheetcells import XML_ILLEGAL, formula_like, neutralise

    wb = openpyxl.Workbook(write_only=True)
    sheet = wb.create_sheet(title)
    sheet.freeze_panes = "A2"
    for index, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = width
    head = []
    for name in columns:
        cell = WriteOnlyCell(sheet, value=name)
        cell.font = Font(bold=True)
        head.append(cell)
    sheet.append(head)
    wrap = Alignment(wrap_text=True, vertical="top")
    for row in rows:
        cells = []
        for value in row:
            cell = WriteOnlyCell(sheet, value=XML_ILLEGAL.sub("", value) if isinstance(value, str) else value)
            if isinstance(value, str) and formula_like(value):
                cell.data_type, cell.quotePrefix = "s", True
            cell.alignment = wrap
            cells.append(cell)
        sheet.append(cells)
    for path in (xlsx, csv_path):
        path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(xlsx) as tmp:
        wb.save(tmp)
    with atomic_path(csv_path) as tmp, open(tmp, "w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\r\n")
        writer.writerow(columns)
        for row in rows:
            writer.writerow([neutralise(v) for v in row])
    return xlsx, csv_path


# --- sending --------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Outgoing:
    """One message to send: the sent log's recipient `key` (a contestant, a juror), the `.eml` file, and what the
    message says as a digest (a changed message is reported, not sent again on its own)."""

    key: str
    eml: Path
    digest: str
    label: str = ""  # shown in the progress bar (the recipient's name)


@dataclass
class SendReport:
    """What a sending run did, recipient keys in each list."""

    purpose: str
    dry_run: bool = False
    sent: list[str] = field(default_factory=list)
    would_send: list[str] = field(default_factory=list)  # --dry-run
    already: list[str] = field(default_factory=list)  # sent by an earlier run
    changed: list[str] = field(default_factory=list)  # of those, the message says something else now
    uncertain: list[str] = field(default_factory=list)  # a killed run left them "sending"
    refused: list[tuple[str, str]] = field(default_factory=list)  # (key, the server's answer)
    not_reached: list[str] = field(default_factory=list)  # the run stopped before them
    stopped: str | None = None  # why the run stopped early

    @property
    def complete(self) -> bool:
        return not (self.refused or self.not_reached or self.uncertain or self.stopped)

    def as_json(self) -> dict[str, Any]:
        return {"purpose": self.purpose, "dry_run": self.dry_run, "sent": self.sent, "would_send": self.would_send,
                "already_sent": self.already, "changed_since_sent": self.changed, "uncertain": self.uncertain,
                "refused": [{"recipient": k, "answer": a} for k, a in self.refused],
                "not_reached": self.not_reached, "stopped": self.stopped}


class RateLimit:
    """At most `per_minute` messages a minute, evenly spaced (a burst is what mail providers block); 0: none.
    `clock`/`sleep` are injectable, so tests check the spacing without waiting."""

    def __init__(self, per_minute: float, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.interval = 60.0 / per_minute if per_minute > 0 else 0.0
        self.clock, self.sleep = clock, sleep
        self.last: float | None = None

    def wait(self) -> None:
        if self.interval and self.last is not None:
            due = self.last + self.interval - self.clock()
            if due > 0:
                self.sleep(due)
        self.last = self.clock()


class _Stop(Exception):
    """The run cannot go on (the connection dropped, the server refuses the sender, a temporary refusal)."""


def _connect(config: MailSettings, password: str | None) -> smtplib.SMTP:
    import ssl

    try:
        if config.ssl:
            smtp: smtplib.SMTP = smtplib.SMTP_SSL(config.host, config.port, timeout=TIMEOUT_S,
                                                  context=ssl.create_default_context())
        else:
            smtp = smtplib.SMTP(config.host, config.port, timeout=TIMEOUT_S)
        smtp.ehlo()
        if config.starttls and not config.ssl:
            if not smtp.has_extn("starttls"):
                smtp.quit()
                raise MailError(f"{config.host}:{config.port} offers no STARTTLS; set [mail] starttls = false only "
                                "for a server on this machine or a trusted network, or ssl = true with port 465")
            smtp.starttls(context=ssl.create_default_context())
            smtp.ehlo()
        if config.user:
            smtp.login(config.user, password or "")
    except smtplib.SMTPAuthenticationError as exc:
        raise MailError(f"{config.host}: the server refused the login of {config.user!r} ({_answer(exc)})") from None
    except (OSError, smtplib.SMTPException) as exc:
        raise MailError(f"cannot reach the mail server {config.host}:{config.port}: {exc}") from None
    return smtp


def _answer(exc: Any) -> str:
    code = getattr(exc, "smtp_code", None)
    text = getattr(exc, "smtp_error", b"")
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return f"{code} {text}".strip() if code else str(exc)


def send_messages(ws: Workspace, purpose: str, outgoing: list[Outgoing], config: MailSettings, *,
                  dry_run: bool = False, resend: Iterable[str] = (),
                  progress: Callable[[int, int, str], None] | None = None, environ: dict[str, str] | None = None,
                  clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep,
                  ) -> SendReport:
    """Send each message of `outgoing` that the sent log has not sent for `purpose` (nor left uncertain), one
    after the other at the rate limit, and log each. `resend`: recipient keys sent again all the same (a family
    that never got theirs, an uncertain one). `dry_run`: say who would get a message; connect to nothing, log
    nothing. `progress(done, total, label)` after each message.

    A refused recipient (a 5xx answer to the address or the message) is logged as failed and the run goes on; a
    dropped connection or a temporary refusal (4xx) stops the run (`stopped`), the rest `not_reached`: the next
    run sends them. Raises MailError when the run cannot start (settings, the password's variable, the server
    unreachable or refusing the login)."""
    config.require_server()
    password = config.password(environ)
    again = set(resend)
    report = SendReport(purpose, dry_run=dry_run)
    log = ws.ledger.mail_log(purpose)
    todo: list[Outgoing] = []
    for item in outgoing:
        state = log.get(item.key)
        if state is not None and item.key not in again:
            if state["state"] == "sent":
                report.already.append(item.key)
                if state["digest"] != item.digest:
                    report.changed.append(item.key)
                continue
            if state["state"] == "sending":
                report.uncertain.append(item.key)
                continue
        todo.append(item)
    if dry_run:
        report.would_send = [item.key for item in todo]
        return report
    total = len(todo)
    if progress:
        progress(0, total, "")
    if not todo:
        return report
    limit = RateLimit(config.per_minute, clock, sleep)
    smtp = _connect(config, password)
    try:
        for done, item in enumerate(todo):
            try:
                limit.wait()
                _send_one(ws, smtp, purpose, item, config, report)
            except _Stop as stop:
                report.stopped = str(stop)
                report.not_reached = [i.key for i in todo[done + 1:]]
                break
            if progress:
                progress(done + 1, total, item.label)
    finally:
        try:
            smtp.quit()
        except (OSError, smtplib.SMTPException):
            smtp.close()
    return report


def _send_one(ws: Workspace, smtp: smtplib.SMTP, purpose: str, item: Outgoing, config: MailSettings,
              report: SendReport) -> None:
    data = item.eml.read_bytes()
    msg = BytesParser(policy=policy.default).parsebytes(data, headersonly=True)
    to = parseaddr(str(msg.get("To", "")))[1]
    subject, message_id = str(msg.get("Subject", "")), str(msg.get("Message-ID", ""))
    if not to:
        report.refused.append((item.key, f"{item.eml.name} has no To address"))
        return
    options = ["SMTPUTF8"] if not (to + config.sender_address).isascii() else []
    try:
        code, answer = smtp.mail(config.sender_address, options)
        if code != 250:
            smtp.rset()
            raise _Stop(f"the server refused the sender {config.sender_address}: {code} {_text(answer)}")
        code, answer = smtp.rcpt(to)
        if code not in (250, 251):
            smtp.rset()
            if code >= 500:
                said = f"{code} {_text(answer)}"
                ws.ledger.mail_failed(purpose, item.key, to, subject, item.digest, message_id, said)
                report.refused.append((item.key, said))
                return
            raise _Stop(f"the server put off {to}: {code} {_text(answer)}")
    except (OSError, smtplib.SMTPException) as exc:  # before the message went: it was not sent
        raise _Stop(f"the connection to the mail server was lost ({exc})") from None
    ws.ledger.mail_sending(purpose, item.key, to, subject, item.digest, message_id)
    try:
        code, answer = smtp.data(data)
    except smtplib.SMTPDataError as exc:  # DATA itself refused: nothing of the message went
        code, answer = exc.smtp_code, _text(exc.smtp_error).encode()
    except (OSError, smtplib.SMTPException) as exc:
        # the message went out and no answer came back: it may or may not have arrived; the log keeps "sending"
        report.uncertain.append(item.key)
        raise _Stop(f"the connection was lost while {to} was being sent: it may have arrived (listed as "
                    f"uncertain; send it again with --resend {item.key} once you know it did not) ({exc})") from None
    if code == 250:
        ws.ledger.mail_sent(purpose, item.key, message_id)
        report.sent.append(item.key)
        return
    ws.ledger.mail_failed(purpose, item.key, to, subject, item.digest, message_id, f"{code} {_text(answer)}")
    if code >= 500:
        report.refused.append((item.key, f"{code} {_text(answer)}"))
        return
    raise _Stop(f"the server put off the message to {to}: {code} {_text(answer)}")


def _text(answer: bytes | str) -> str:
    return answer.decode("utf-8", "replace") if isinstance(answer, bytes) else str(answer)
