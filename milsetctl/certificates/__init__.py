"""Certificates: one PDF per recipient plus a combined print file, each carrying a verification code.

The code is an HMAC-SHA256 of the certificate's canonical content (kind, recipient, name, award, title, contest,
and since issue 17 the contest year and the issue day) under a random secret kept in the workspace (`secret.key`,
mode 0600): the same content always gets the same code (a reprint keeps it, and its first issue day) and nobody
without the secret can make a code `verify` accepts (issue 8).

The pieces: model.py (what a certificate says, the wording), codes.py (the secret, the code, `verify_code`),
recipients.py (who gets each kind; member.py: the member organisations), issue.py (a batch: codes, reprints, the
ledger), render.py (the pages, the PDFs and the combined print file). This file only names the package's API."""

from __future__ import annotations

from milsetctl.certificates.codes import (  # noqa: F401 - the package's API
    SECRET_FILE,
    format_code,
    make_code,
    normalise_code,
    same_certificate,
    signed_content,
    verify_code,
    workspace_secret,
)
from milsetctl.certificates.issue import (  # noqa: F401 - the package's API
    CHUNK,
    MIN_PER_WORKER,
    PARTS_DIR,
    issue_certificates,
)
from milsetctl.certificates.model import (  # noqa: F401 - the package's API
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
from milsetctl.certificates.recipients import recipients  # noqa: F401 - the package's API
from milsetctl.certificates.render import (  # noqa: F401 - the package's API
    TEMPLATE,
    THUMB_PX,
    _render_pdf,
    render_html,
    render_sheets,
    safe_file_name,
    thumbnail,
)
from milsetctl.certificates.sheet import (  # noqa: F401 - the package's API
    display_width,
    qr_png,
    qr_text,
    text_direction,
)
