"""Certificates: one PDF per recipient plus a combined print file, each carrying a verification code.

The code is an HMAC-SHA256 of the certificate's canonical content (kind, recipient, name, award, title, contest,
and since issue 17 the contest year and the issue day) under a random secret kept in the workspace (`secret.key`,
mode 0600): the same content always gets the same code (a reprint keeps it, and its first issue day) and nobody
without the secret can make a code `verify` accepts (issue 8).

The pieces: model.py (what a certificate says, the wording), codes.py (the secret, the code, `verify_code`),
recipients.py (who gets each kind; member.py: the member organisations), issue.py (a batch: codes, reprints, the
ledger), render.py (the pages, the PDFs and the combined print file). This file only names the package's API."""

from __future__ import annotations

from typing import TYPE_CHECKING

# recipients is imported now: its function shares its module's name, and a lazy attribute would lose to the
# submodule once anything imported milsetctl.certificates.recipients (as milsetctl.jury does with assign)
from milsetctl.certificates.recipients import recipients
from milsetctl.lazy import lazy_exports

# The other names, each from the module that defines it, imported on first use: `milsetctl verify` needs the code
# (codes.py), not the batch's process pool, the fonts or the renderer (issue 18: the quick commands answer at once)
_NAMES = {
    **dict.fromkeys(("SECRET_FILE", "format_code", "make_code", "normalise_code", "same_certificate",
                     "signed_content", "verify_code", "workspace_secret"), "codes"),
    **dict.fromkeys(("CHUNK", "MIN_PER_WORKER", "PARTS_DIR", "issue_certificates"), "issue"),
    **dict.fromkeys(("AWARD_WORDING", "CATEGORY_WORDING", "DEFAULT_SIGNATURES", "KINDS", "Batch", "Certificate",
                     "CertificateError", "Issued", "Refused", "signature_titles"), "model"),
    **dict.fromkeys(("TEMPLATE", "THUMB_PX", "_render_pdf", "render_html", "render_sheets", "safe_file_name",
                     "thumbnail"), "render"),
    **dict.fromkeys(("display_width", "qr_png", "qr_text", "text_direction"), "sheet"),
}

if TYPE_CHECKING:
    from milsetctl.certificates.codes import (
        SECRET_FILE,
        format_code,
        make_code,
        normalise_code,
        same_certificate,
        signed_content,
        verify_code,
        workspace_secret,
    )
    from milsetctl.certificates.issue import CHUNK, MIN_PER_WORKER, PARTS_DIR, issue_certificates
    from milsetctl.certificates.model import (
        AWARD_WORDING,
        CATEGORY_WORDING,
        DEFAULT_SIGNATURES,
        KINDS,
        Batch,
        Certificate,
        CertificateError,
        Issued,
        Refused,
        signature_titles,
    )
    from milsetctl.certificates.render import (
        TEMPLATE,
        THUMB_PX,
        _render_pdf,
        render_html,
        render_sheets,
        safe_file_name,
        thumbnail,
    )
    from milsetctl.certificates.sheet import display_width, qr_png, qr_text, text_direction

__all__ = [
    "recipients", "SECRET_FILE", "format_code", "make_code", "normalise_code", "same_certificate", "signed_content",
    "verify_code", "workspace_secret", "CHUNK", "MIN_PER_WORKER", "PARTS_DIR", "issue_certificates", "AWARD_WORDING",
    "CATEGORY_WORDING", "DEFAULT_SIGNATURES", "KINDS", "Batch", "Certificate", "CertificateError", "Issued", "Refused",
    "signature_titles", "TEMPLATE", "THUMB_PX", "_render_pdf", "render_html", "render_sheets", "safe_file_name",
    "thumbnail", "display_width", "qr_png", "qr_text", "text_direction",
]  # fmt: skip


__getattr__ = lazy_exports(__name__, _NAMES)
