"""E-mail (issue 19): `notices --eml` writes one message per contestant and `notices --send` sends them to a real
SMTP server on localhost (aiosmtpd), where every message is read back: To, Subject, the letter, and the notice PDF
attached, whose text pypdf reads. A dropped connection and a killed run resume without anyone getting a message
twice; the password comes from the environment only; the rate limit spaces the messages."""

from __future__ import annotations

import asyncio
import email
import io
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
from collections import Counter
from email import policy
from pathlib import Path

import pytest
from notices_fixtures import NO_EMAIL, notices_contest, set_sections
from pypdf import PdfReader
from typer.testing import CliRunner

from milsetctl.cli import app
from milsetctl.mail import MailError, MailSettings, RateLimit, read_eml
from milsetctl.notices import make_notices, send_notices
from milsetctl.workspace import open_workspace

aiosmtpd_controller = pytest.importorskip("aiosmtpd.controller")
HANG_S = 600.0  # a bound for a hung process or server, not a limit on speed
SUBJECT = "Your result in the MILSET STEAM Photo Contest 2022"
runner = CliRunner()


class Recorder:
    """An SMTP server's handler that keeps every message it accepts. `drop_at`: close the connection when the
    message with this number (1-based) starts (once); `block_at`: hold the answer to this message's DATA until
    `release` (the message is kept: the client cannot know); `refuse`: addresses answered 550."""

    def __init__(self) -> None:
        self.messages: list[tuple[list[str], bytes]] = []
        self.logins: list[tuple[str, str]] = []
        self.drop_at: int | None = None
        self.block_at: int | None = None
        self.arrived = threading.Event()
        self.release = threading.Event()
        self.refuse: set[str] = set()
        self.started = 0

    async def handle_MAIL(self, server, session, envelope, address, mail_options):  # noqa: N802 - aiosmtpd's name
        self.started += 1
        if self.drop_at is not None and self.started == self.drop_at:
            self.drop_at = None
            server.transport.close()  # the provider drops the connection (a quota, a restart)
            return "421 4.7.0 closing connection"
        envelope.mail_from = address
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802
        if address in self.refuse:
            return "550 5.1.1 no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        self.messages.append((list(envelope.rcpt_tos), bytes(envelope.original_content or envelope.content)))
        if self.block_at is not None and len(self.messages) == self.block_at:
            self.arrived.set()
            await asyncio.get_running_loop().run_in_executor(None, self.release.wait, HANG_S)
        return "250 2.0.0 accepted"

    def per_recipient(self) -> Counter[str]:
        return Counter(to for tos, _ in self.messages for to in tos)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def smtp():
    """(recorder, port): an SMTP server on localhost, stopped after the test."""
    from aiosmtpd.smtp import AuthResult, LoginPassword

    recorder = Recorder()

    def authenticate(server, session, envelope, mechanism, auth_data):
        if isinstance(auth_data, LoginPassword):
            recorder.logins.append((auth_data.login.decode(), auth_data.password.decode()))
            ok = auth_data.password == b"s3cret pass"
            return AuthResult(success=ok, handled=False)  # handled=False: aiosmtpd answers 535 itself
        return AuthResult(success=False, handled=False)

    port = _free_port()
    controller = aiosmtpd_controller.Controller(recorder, hostname="127.0.0.1", port=port,
                                                authenticator=authenticate, auth_require_tls=False)
    controller.start()
    try:
        yield recorder, port
    finally:
        recorder.release.set()
        controller.stop()


def mail_settings(port: int, extra: str = "") -> str:
    return (f'[mail]\nfrom = "MILSET Photo Contest <photo@example.org>"\nhost = "127.0.0.1"\nport = {port}\n'
            f"starttls = false\nper_minute = 0\n{extra}")


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A finished contest with its notices drawn (copied for each test: drawing is the slow part)."""
    root = tmp_path_factory.mktemp("mailbase")
    with notices_contest(root, settings=mail_settings(1)) as ws:
        make_notices(ws, eml=True)
        return ws.root


@pytest.fixture
def workspace(base: Path, tmp_path: Path, smtp) -> Path:
    """A copy of `base` whose [mail] points at this test's server."""
    root = tmp_path / "ws"
    shutil.copytree(base, root)
    set_sections(root, mail_settings(smtp[1]))
    return root


def _send(root: Path, **kwargs):
    with open_workspace(root) as ws:
        batch = make_notices(ws, eml=True)
        return batch, send_notices(ws, batch, **kwargs)


def test_every_message_arrives_and_reads_back(workspace: Path, smtp) -> None:
    recorder, _ = smtp
    batch, report = _send(workspace)
    with_address = [n for n in batch.notices if n.email]
    assert sorted(report.sent) == sorted(n.key for n in with_address) and report.complete
    assert NO_EMAIL not in {n.entry_id for n in with_address}
    assert recorder.per_recipient() == Counter({n.email: 1 for n in with_address})
    by_address = {n.email: n for n in with_address}
    for tos, data in recorder.messages:
        msg = email.message_from_bytes(data, policy=policy.default)
        notice = by_address[tos[0]]
        assert msg["To"].addresses[0].addr_spec == notice.email
        assert msg["To"].addresses[0].display_name == notice.name
        assert msg["Subject"] == SUBJECT and msg["From"].addresses[0].addr_spec == "photo@example.org"
        body = msg.get_body(("plain",)).get_content()
        assert f"Dear {notice.name}," in body
        pdfs = {part.get_filename(): part.get_content() for part in msg.iter_attachments()
                if part.get_content_type() == "application/pdf"}
        assert notice.file.name in pdfs
        text = " ".join((PdfReader(io.BytesIO(pdfs[notice.file.name])).pages[0].extract_text() or "").split())
        assert f"Dear {notice.name}," in text
        certificates = [name for name in pdfs if name != notice.file.name]
        expected = {"qualifier": 2, None: 1}[notice.award] if notice.status == "eligible" else 0
        assert len(certificates) == len(notice.certificates) == expected
        if notice.status == "rejected" and notice.entry_id == "E0005":
            assert "Your photo is too small: it is not wide enough." in body and "The rule:" in body
            assert "Your photo is too small: it is not wide enough." in text
        if notice.award == "qualifier":
            for name in certificates:
                cert_text = PdfReader(io.BytesIO(pdfs[name])).pages[0].extract_text() or ""
                assert notice.name in cert_text


def test_a_rerun_sends_nobody_twice_and_resend_is_explicit(workspace: Path, smtp) -> None:
    recorder, _ = smtp
    batch, first = _send(workspace)
    _, again = _send(workspace)
    assert again.sent == [] and sorted(again.already) == sorted(first.sent)
    assert set(recorder.per_recipient().values()) == {1}
    _, once_more = _send(workspace, resend=["E0001"])  # an entry ID names its contestant
    assert once_more.sent == ["CN2022-101"]
    assert recorder.per_recipient()["zhangwei@example.cn"] == 2
    with open_workspace(workspace) as ws:
        sends = [r for r in ws.ledger.audit_rows(["mail-sent"])]
        assert len(sends) == len(first.sent) + 1
        assert json.loads(sends[0]["detail"])["purpose"] == "notices"


def test_a_dropped_connection_stops_and_the_next_run_sends_the_rest(workspace: Path, smtp) -> None:
    recorder, _ = smtp
    recorder.drop_at = 3  # the server hangs up when the third message starts
    batch, first = _send(workspace)
    assert len(first.sent) == 2 and first.stopped and "connection" in first.stopped and not first.complete
    assert len(first.not_reached) == len([n for n in batch.notices if n.email]) - 3
    _, second = _send(workspace)
    assert second.complete and len(second.sent) == len([n for n in batch.notices if n.email]) - 2
    assert recorder.per_recipient() == Counter({n.email: 1 for n in batch.notices if n.email})


def test_a_killed_send_resumes_without_sending_twice(workspace: Path, smtp) -> None:
    """The run is killed (SIGKILL) while the server holds its answer to the third message, which it has: the next
    run sends the rest, not that one (nobody can know it arrived: listed as uncertain), and nobody gets two."""
    recorder, _ = smtp
    recorder.block_at = 3
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "milsetctl", "notices", "--send", "-w", str(workspace)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    try:
        assert recorder.arrived.wait(HANG_S), proc.stderr.read().decode() if proc.poll() is not None else "hung"
        proc.send_signal(signal.SIGKILL)
        proc.wait(HANG_S)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.stderr.close()  # type: ignore[union-attr]
    recorder.release.set()
    third = recorder.messages[2][0][0]
    res = runner.invoke(app, ["notices", "--send", "-w", str(workspace), "--json"])
    assert res.exit_code == 1, res.output  # not complete: one message's fate is unknown
    mail = json.loads(res.stdout)["mail"]
    with open_workspace(workspace) as ws:
        keys = {n.email: n.key for n in make_notices(ws).notices if n.email}
        log = ws.ledger.mail_log("notices")
    assert mail["uncertain"] == [keys[third]] and log[keys[third]]["state"] == "sending"
    assert len(mail["already_sent"]) == 2
    everyone = {n for n in keys}
    assert recorder.per_recipient() == Counter({address: 1 for address in everyone})
    assert "uncertain" in runner.invoke(app, ["notices", "--send", "-w", str(workspace)]).output


def test_a_refused_address_is_reported_and_the_rest_sent(workspace: Path, smtp) -> None:
    recorder, _ = smtp
    recorder.refuse = {"liuyan@example.cn"}
    batch, report = _send(workspace)
    assert [k for k, _ in report.refused] == ["CN2022-103"] and "550" in report.refused[0][1]
    assert len(report.sent) == len([n for n in batch.notices if n.email]) - 1 and report.stopped is None
    recorder.refuse = set()
    _, again = _send(workspace)  # a failed one is tried again
    assert again.sent == ["CN2022-103"] and recorder.per_recipient()["liuyan@example.cn"] == 1


def test_dry_run_sends_and_logs_nothing(workspace: Path, smtp) -> None:
    recorder, _ = smtp
    res = runner.invoke(app, ["notices", "--send", "--dry-run", "-w", str(workspace), "--json"])
    assert res.exit_code == 0, res.output
    mail = json.loads(res.stdout)["mail"]
    assert mail["dry_run"] and len(mail["would_send"]) == 6 and mail["sent"] == []
    assert recorder.messages == []
    with open_workspace(workspace) as ws:
        assert ws.ledger.mail_log("notices") == {}
    assert runner.invoke(app, ["notices", "--dry-run", "-w", str(workspace)]).exit_code == 2


def test_the_password_comes_from_the_environment_only(workspace: Path, smtp, monkeypatch) -> None:
    recorder, port = smtp
    set_sections(workspace, mail_settings(port, 'user = "secretariat"\npassword_env = "CONTEST_SMTP_PW"\n'))
    monkeypatch.delenv("CONTEST_SMTP_PW", raising=False)
    res = runner.invoke(app, ["notices", "--send", "-w", str(workspace)])
    assert res.exit_code == 1 and "CONTEST_SMTP_PW" in res.stderr and recorder.messages == []
    monkeypatch.setenv("CONTEST_SMTP_PW", "wrong")
    res = runner.invoke(app, ["notices", "--send", "-w", str(workspace)])
    assert res.exit_code == 1 and "refused the login of 'secretariat'" in res.stderr
    monkeypatch.setenv("CONTEST_SMTP_PW", "s3cret pass")
    res = runner.invoke(app, ["notices", "--send", "-w", str(workspace)])
    assert res.exit_code == 0, res.output
    assert recorder.logins[-1] == ("secretariat", "s3cret pass") and len(recorder.messages) == 6
    set_sections(workspace, mail_settings(port, 'password = "s3cret pass"\n'))
    res = runner.invoke(app, ["notices", "--send", "-w", str(workspace)])
    assert res.exit_code != 0 and "password" in res.stderr


def test_eml_files_open_as_messages(workspace: Path) -> None:
    with open_workspace(workspace) as ws:
        batch = make_notices(ws, eml=True)
    for n in batch.notices:
        if not n.email:
            assert n.eml is None
            continue
        msg = read_eml(n.eml)
        assert msg["Subject"] == SUBJECT and msg["To"].addresses[0].addr_spec == n.email
        assert n.eml.read_bytes().count(b"\r\n") > 10  # SMTP line ends: sent as written
        assert [p.get_filename() for p in msg.iter_attachments()][0] == n.file.name


def test_rate_limit_spaces_the_messages() -> None:
    now = [0.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    limit = RateLimit(30, clock=lambda: now[0], sleep=sleep)
    for _ in range(4):
        limit.wait()
        now[0] += 0.5  # sending takes half a second
    assert slept == [1.5, 1.5, 1.5]  # one message every 2 s
    assert RateLimit(0).interval == 0


def test_mail_settings_need_a_sender_and_a_host() -> None:
    from milsetctl.settings import defaults

    settings = defaults()
    config = MailSettings.from_settings(settings)
    with pytest.raises(MailError, match=r"\[mail\] from is not set"):
        config.require_server()
    settings.raw["mail"]["from"] = "photo@example.org"
    with pytest.raises(MailError, match=r"\[mail\] host is not set"):
        MailSettings.from_settings(settings).require_server()


def test_purge_leaves_no_address_in_the_sent_log(workspace: Path, smtp) -> None:
    """The sent log is personal data too: after `purge --personal-data` it keeps that a message went, not to whom."""
    from milsetctl.privacy import purge_personal_data

    _send(workspace)
    with open_workspace(workspace) as ws:
        assert any("@" in r["to_addr"] for r in ws.ledger.db.execute("SELECT to_addr FROM mail_log"))
        purge_personal_data(ws, dry_run=False)
        rows = ws.ledger.db.execute("SELECT to_addr, subject, state FROM mail_log").fetchall()
    assert rows and all(r["state"] == "sent" for r in rows)
    assert not [r["to_addr"] for r in rows if "example" in r["to_addr"]]
