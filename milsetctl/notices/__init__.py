"""Result notices: every contestant (and their parents) learns what happened to their entry, in words they
understand, as a PDF letter, a ready-to-send e-mail with the letter and the certificates attached, and a
mail-merge table for any mail program.

The pieces: model.py (who gets a notice and what it says, from the ledger), wording.py (the plain sentences:
one per rule, decision, award), i18n.py (the languages: gettext catalogues under locale/), render.py (the
templates, the PDF, the e-mail's text), merge.py (the mail-merge table); sending is milsetctl/mail.py's."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from milsetctl.models import StageError
from milsetctl.notices.i18n import LanguageError, languages_setting
from milsetctl.notices.model import Held, Notice, gather
from milsetctl.workspace import Workspace

PURPOSE = "notices"  # the sent log's purpose (milsetctl/mail.py)
MAIL_DIR = "mail"  # the .eml files, under the notices folder
DIGEST_HEADER = "X-Milsetctl-Notice"  # the .eml's notice digest: an unchanged notice keeps its file and Message-ID


class NoticeError(StageError):
    """The notices cannot be made (the awards not made or out of date, an unknown language, an --out inside the
    submissions folder); `code` is the exit status."""


@dataclass
class NoticeBatch:
    folder: Path
    languages: list[str]
    notices: list[Notice] = field(default_factory=list)
    held: list[Held] = field(default_factory=list)
    drawn: int = 0  # PDFs drawn by this run (the others were current)
    mail_merge: Path | None = None
    mail_merge_csv: Path | None = None
    warnings: list[str] = field(default_factory=list)

    @property
    def without_email(self) -> list[Notice]:
        return [n for n in self.notices if not n.email]

    def as_json(self) -> dict[str, Any]:
        """SPEC: {"notices": [{"contestant_id", "entry_id", "status", "award", "file", "eml"}], "mail_merge"}; also
        the contestants held back and the CSV copy of the table."""
        return {"notices": [n.as_json() for n in self.notices],
                "mail_merge": str(self.mail_merge) if self.mail_merge else None,
                "mail_merge_csv": str(self.mail_merge_csv) if self.mail_merge_csv else None,
                "languages": self.languages,
                "held": [{"key": h.key, "entry_id": h.entry_id, "why": h.why} for h in self.held]}


def _shared(ws: Workspace, notices: list[Notice]) -> Any:
    from milsetctl.notices.render import Shared

    settings = ws.settings
    judged: dict[str, int] = {}
    ranked = ws.ledger.ranking()
    for row in ranked:
        judged[row["category"] or ""] = judged.get(row["category"] or "", 0) + 1
    awards = settings.awards
    fraction = float(awards.get("qualifier_fraction", 0.35))
    verify_url = str((settings.raw.get("certificates") or {}).get("verify_url") or "") or None
    return Shared(contest=settings.name, stage=settings.stage, today=datetime.now(settings.tz).date(),
                  judged=judged, judged_all=len(ranked), percent=f"{fraction * 100:g}",
                  gallery_size=int(awards.get("gallery_size", 10)), verify_url=verify_url)


def notice_file_name(notice: Notice, suffix: str) -> str:
    from milsetctl.fsutil import safe_file_name

    return safe_file_name(f"{notice.key.removeprefix('entry:')}-{notice.name or notice.entry_id}", max_bytes=140,
                          fallback=notice.entry_id) + suffix


def certificate_file_name(kind: str, notice: Notice) -> str:
    """A certificate as the family receives it: "Qualifier Award certificate - 张伟.pdf" (each kind's own name:
    the participation and the award certificate must not arrive as two files of one name)."""
    from milsetctl.fsutil import safe_file_name
    from milsetctl.notices.i18n import translate
    from milsetctl.notices.wording import CERTIFICATE_KIND

    return safe_file_name(f"{translate(CERTIFICATE_KIND[kind], 'en')} - {notice.name or notice.entry_id}",
                          max_bytes=140, fallback=kind) + ".pdf"


DRAW_CHUNK = 10  # letters per task of the drawing pool


def make_notices(ws: Workspace, out: Path | None = None, eml: bool = False,
                 progress: Callable[[int, int], None] | None = None) -> NoticeBatch:
    """Write every contestant's notice PDF into `out` (default notices/ in the workspace), the mail-merge table
    (mail-merge.xlsx and .csv), and with `eml` one `.eml` per contestant with an e-mail address (mail/ below
    `out`: the letter as the body, the notice and the certificates attached). A notice whose facts, languages and
    templates did not change is not drawn again, and its `.eml` is kept (same Message-ID).

    Raises NoticeError: the awards not made or out of date (exit 1), an unknown language in the settings (1),
    `out` inside the submissions folder (2), a missing sender for `eml` (1)."""
    from milsetctl import stages
    from milsetctl.certificates.fonts import missing_fonts
    from milsetctl.fsutil import remove_stale_temps, writes_into
    from milsetctl.notices import render
    from milsetctl.notices.merge import write_mail_merge
    from milsetctl.workers import chunks, run_all, worker_count

    try:
        stages.require(ws, "notices", "milsetctl notices")
    except StageError as exc:
        raise NoticeError(str(exc), exc.code) from None
    try:
        languages = languages_setting(ws.settings)
    except LanguageError as exc:
        raise NoticeError(str(exc), 1) from None
    folder = out if out is not None else ws.root / "notices"
    if ws.settings.source and writes_into(folder, ws.settings.source):
        raise NoticeError(f"--out {folder}: inside the submissions folder {ws.settings.source}; nothing may be "
                          "written there", 2)
    mail_settings = None
    if eml:
        from milsetctl.mail import MailError, MailSettings

        try:
            mail_settings = MailSettings.from_settings(ws.settings)
            mail_settings.require_sender()
        except MailError as exc:
            raise NoticeError(str(exc), exc.code) from None
    lacking = missing_fonts()
    if lacking:
        raise NoticeError(f"fonts not installed: {', '.join(lacking)} (run scripts/install.sh)")

    notices, held = gather(ws)
    batch = NoticeBatch(folder=folder, languages=languages, notices=notices, held=held)
    shared = _shared(ws, notices)
    folder.mkdir(parents=True, exist_ok=True)
    remove_stale_temps(folder)
    if eml:
        (folder / MAIL_DIR).mkdir(exist_ok=True)
        remove_stale_temps(folder / MAIL_DIR)
    if progress:
        progress(0, len(notices))
    bodies: dict[str, tuple[str, str]] = {}  # key -> (subject, text)
    digests: dict[str, str] = {}
    to_draw: list[tuple[str, str]] = []  # (html, pdf path): letters whose facts, languages or templates changed
    for notice in notices:
        digest = digests[notice.key] = render.render_digest(notice, languages)
        notice.file = folder / notice_file_name(notice, ".pdf")
        if not notice.file.is_file() or render.pdf_digest(notice.file) != digest:
            to_draw.append((render.page_html(notice, languages, shared, digest), str(notice.file)))
    # the PDFs on every core, a few letters per task (WeasyPrint's fonts and styles are set up once per worker)
    done = len(notices) - len(to_draw)
    if progress:
        progress(done, len(notices))
    if to_draw:  # the CJK faces cut to the batch's letters first (render.batch_fonts), for every worker
        with render.batch_fonts(ws.root / "cache", (html for html, _ in to_draw)) as fonts:
            batches = [(fonts, letters) for letters in chunks(to_draw, DRAW_CHUNK)]
            for drawn in run_all(render.draw_pdfs, batches, worker_count(len(to_draw), DRAW_CHUNK * 2)):
                batch.drawn += drawn
                done += drawn
                if progress:
                    progress(done, len(notices))
    for notice in notices:
        subject, text = render.subject(notice, languages, shared), render.plain_text(notice, languages, shared)
        bodies[notice.key] = (subject, text)
        if eml and notice.email and mail_settings is not None:
            notice.eml = _write_eml(notice, folder / MAIL_DIR / notice_file_name(notice, ".eml"), subject, text,
                                    digests[notice.key], mail_settings)
    batch.mail_merge, batch.mail_merge_csv = write_mail_merge(folder, notices, bodies)
    from milsetctl.notices.model import AWARD_CERTIFICATE

    for notice in notices:
        if notice.certificate_due:
            batch.warnings.append(f"{notice.entry_id} ({notice.award}) has no certificate printed yet: its notice says "
                                  f"the certificate will follow (milsetctl certificates "
                                  f"{AWARD_CERTIFICATE[notice.award or '']}, then notices again)")
    if batch.without_email:
        batch.warnings.append(f"{len(batch.without_email)} contestant(s) have no e-mail address: print their notices "
                              f"({', '.join(n.entry_id for n in batch.without_email[:8])}"
                              f"{' ...' if len(batch.without_email) > 8 else ''})")
    if held:
        why = held[0].why if len(held) == 1 else held[0].why.replace("waits", "wait", 1)
        batch.warnings.append(f"{len(held)} contestant(s) get no notice yet: {', '.join(h.entry_id for h in held)} "
                              f"{why}; run notices again once decided")
    ws.ledger.audit("notices", {"notices": len(notices), "drawn": batch.drawn, "languages": languages,
                                "eml": sum(1 for n in notices if n.eml), "held": [h.entry_id for h in held],
                                "folder": str(folder)})
    stages.record(ws, "notices", {"outputs": [str(folder)], "entries": sorted(n.entry_id for n in notices)})
    return batch


def _write_eml(notice: Notice, path: Path, subject: str, text: str, digest: str, settings: Any) -> Path:
    """The notice's message: kept as it is when it already says this (its digest header), so a re-run keeps its
    Message-ID; else written again."""
    from milsetctl.mail import build_message, read_eml, write_eml

    if path.is_file():
        try:
            if read_eml(path).get(DIGEST_HEADER) == digest and str(read_eml(path).get("From")) == settings.sender:
                return path
        except (OSError, ValueError):
            pass
    attachments: list[tuple[Path, str]] = [(notice.file, notice.file.name)] if notice.file is not None else []
    attachments += [(c.file, certificate_file_name(c.kind, notice)) for c in notice.certificates
                    if c.file is not None and c.file.is_file()]
    to = _address(notice.name, notice.email)
    msg = build_message(settings.sender, to, subject, text, attachments, reply_to=settings.reply_to,
                        headers={DIGEST_HEADER: digest})
    return write_eml(msg, path)


def _address(name: str, email: str) -> str:
    from email.headerregistry import Address

    local, _, domain = email.rpartition("@")
    try:
        return str(Address(display_name=name, username=local, domain=domain)) if local and domain else email
    except (ValueError, TypeError):
        return email


def send_notices(ws: Workspace, batch: NoticeBatch, *, dry_run: bool = False, resend: list[str] | None = None,
                 progress: Callable[[int, int, str], None] | None = None) -> Any:
    """Send the batch's `.eml` files over SMTP ([mail] settings), each contestant once (milsetctl/mail.py's sent
    log); returns mail.SendReport. `resend`: contestant IDs (or entry IDs) to send again all the same. Raises
    mail.MailError when sending cannot start."""
    from milsetctl.mail import MailError, MailSettings, Outgoing, send_messages

    config = MailSettings.from_settings(ws.settings)
    wanted = set(resend or ())
    keys = {n.key for n in batch.notices} | {n.entry_id for n in batch.notices}
    unknown = sorted(wanted - keys)
    if unknown:
        raise MailError(f"--resend: no notice for {', '.join(unknown)}", 2)
    again = [n.key for n in batch.notices if n.key in wanted or n.entry_id in wanted]
    # the digest of what the notice says (not of its layout): a notice sent, then corrected, is reported
    outgoing = [Outgoing(n.key, n.eml, f"{n.digest()}:{','.join(batch.languages)}", n.name or n.entry_id)
                for n in batch.notices if n.eml is not None]
    report = send_messages(ws, PURPOSE, outgoing, config, dry_run=dry_run, resend=again, progress=progress)
    if not dry_run:
        ws.ledger.audit("mail-run", {"purpose": PURPOSE, "sent": len(report.sent), "already_sent": len(report.already),
                                     "uncertain": report.uncertain, "refused": [k for k, _ in report.refused],
                                     "stopped": report.stopped})
    return report
