"""Certificates: one PDF per recipient plus a combined print file, each carrying a verification code.

The code is an HMAC-SHA256 of the certificate's canonical content (kind, recipient, name, award, title, contest)
under a random secret kept in the workspace (`secret.key`, mode 0600): the same content always gets the same code
(a reprint keeps it) and nobody without the secret can make a code `verify` accepts (issue 8)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import re
import secrets
import unicodedata
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from milsetctl.certificates.fonts import first_missing_char, missing_fonts
from milsetctl.models import StageError
from milsetctl.workspace import Workspace

KINDS = ("participation", "qualifier", "global", "gallery", "juror", "member")
TEMPLATE = "certificate.html"
SECRET_FILE = "secret.key"
THUMB_PX = 640  # longest side of the cached thumbnail: sharp at 60 mm wide on a 250 dpi print

AWARD_WORDING = {
    "participation": "Certificate of Participation",
    "qualifier": "Qualifier Award",
    "global-1": "Global Award · First Place",
    "global-2": "Global Award · Second Place",
    "global-3": "Global Award · Third Place",
    "gallery": "Virtual Gallery Selection",
    "juror": "Certificate of Appreciation",
}


class CertificateError(StageError):
    """The batch cannot be made at all (unknown kind, no roster, missing fonts); `code` is the CLI exit code."""


@dataclass
class Certificate:
    """What one certificate says. `key` identifies the recipient within the kind (entry ID or juror ID)."""

    kind: str
    key: str
    name: str
    school: str
    award: str
    title: str
    contest: str
    year: str
    entry_id: str | None = None
    photo: Path | None = None
    sha256: str | None = None

    def content(self) -> dict[str, Any]:
        """The canonical content the code signs (what a forger would want to change)."""
        return {"kind": self.kind, "recipient": self.key, "entry_id": self.entry_id, "name": self.name,
                "school": self.school, "award": self.award, "title": self.title, "contest": self.contest}


@dataclass
class Issued:
    recipient: str
    entry_id: str | None
    file: Path
    code: str
    skipped: bool = False  # already printed with this code by an earlier run


@dataclass
class Refused:
    recipient: str
    key: str
    reason: str


@dataclass
class Batch:
    kind: str
    folder: Path
    issued: list[Issued] = field(default_factory=list)
    refused: list[Refused] = field(default_factory=list)
    combined: Path | None = None

    def as_json(self) -> dict[str, Any]:
        """SPEC: {"certificates": [{"recipient", "entry_id", "file", "code"}], "combined": "<file>"}."""
        return {
            "certificates": [{"recipient": i.recipient, "entry_id": i.entry_id, "file": str(i.file),
                              "code": format_code(i.code)} for i in self.issued],
            "combined": str(self.combined) if self.combined else None,
        }


# --- the secret and the code
def workspace_secret(ws: Workspace) -> bytes:
    """The workspace's HMAC key: 32 random bytes in `secret.key` (0600), made on first use."""
    path = ws.root / SECRET_FILE
    if not path.exists():
        tmp = path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as fh:
            fh.write(secrets.token_hex(32) + "\n")
        os.replace(tmp, path)
    return bytes.fromhex(path.read_text(encoding="ascii").strip())


def make_code(secret: bytes, content: dict[str, Any]) -> str:
    """HMAC-SHA256 of the canonical JSON of `content`, first 80 bits as 16 base32 characters (no dashes)."""
    msg = json.dumps(content, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode("utf-8")
    digest = hmac.new(secret, msg, hashlib.sha256).digest()
    return base64.b32encode(digest[:10]).decode("ascii")


def format_code(code: str) -> str:
    """ABCD-EFGH-IJKL-MNOP: groups of four for reading aloud and typing."""
    return "-".join(code[i:i + 4] for i in range(0, len(code), 4))


def normalise_code(text: str) -> str:
    """A typed code without dashes/spaces, upper case; 0/1/8 read as the letters O/I/B base32 uses instead."""
    cleaned = re.sub(r"[\s\-_.]", "", text).upper()
    return cleaned.translate(str.maketrans("018", "OIB"))


def verify_code(ws: Workspace, text: str) -> dict[str, Any]:
    """SPEC: {"valid": true, "kind", "recipient", "entry_id", "issued_at"} for a genuine code, else
    {"valid": false}. Genuine = recorded in this ledger AND its HMAC matches the recorded content."""
    code = normalise_code(text)
    row = ws.ledger.issued_certificate(code) if re.fullmatch(r"[A-Z2-7]{16}", code) else None
    if row is None:
        return {"valid": False}
    content = json.loads(row["content"])
    if content.get("purged"):  # `purge --personal-data` kept the code, kind, entry and award, sealed; not the name
        from milsetctl.privacy import purged_certificate_genuine

        if not purged_certificate_genuine(workspace_secret(ws), code, row):
            return {"valid": False}
    elif not hmac.compare_digest(make_code(workspace_secret(ws), content), code):
        return {"valid": False}
    return {"valid": True, "kind": row["kind"], "recipient": row["recipient"], "entry_id": row["entry_id"],
            "issued_at": row["issued_at"], "award": content.get("award"), "title": content.get("title"),
            "code": format_code(code)}


# --- recipients
def _year(ws: Workspace) -> str:
    return str(ws.settings.deadline_end.year)


def recipients(ws: Workspace, kind: str) -> list[Certificate]:
    """Who gets a certificate of this kind, from the ledger (entries, awards, jurors).

    Raises CertificateError for an unknown kind (exit 2) and for `member` (no roster yet)."""
    if kind not in KINDS:
        raise CertificateError(f"unknown certificate kind {kind!r}: one of {', '.join(KINDS)}", 2)
    if kind == "member":  # each organisation in good standing on the contest deadline day (milsetctl.members)
        from milsetctl.members.certificates import member_certificates

        return member_certificates(ws)
    contest, year = ws.settings.name, _year(ws)
    source = Path(ws.settings.source) if ws.settings.source else None

    def from_entry(row: Any, award_key: str) -> Certificate:
        photo = source / row["file"] if source and row["file"] else None
        return Certificate(kind=kind, key=row["entry_id"], entry_id=row["entry_id"], name=row["name"] or "",
                           school=row["school"] or "", award=AWARD_WORDING[award_key], title=row["title"] or "",
                           contest=contest, year=year, photo=photo, sha256=row["sha256"])

    if kind == "juror":
        return [Certificate(kind=kind, key=j["juror_id"], name=j["name"], school=j["affiliation"] or j["school"] or "",
                            award=AWARD_WORDING["juror"], title="", contest=contest, year=year)
                for j in ws.ledger.jurors(active_only=True)]
    entries = {r["entry_id"]: r for r in ws.ledger.entries()}
    if kind == "participation":
        return [from_entry(r, "participation") for r in entries.values() if r["status"] == "eligible"]
    wanted = {"qualifier": ("qualifier",), "global": ("global-1", "global-2", "global-3"), "gallery": ("gallery",)}
    out = []
    for a in ws.ledger.awards():
        if a["award"] in wanted[kind] and a["entry_id"] in entries:
            out.append(from_entry(entries[a["entry_id"]], a["award"]))
    return out


# --- files
_WINDOWS_BAD = re.compile(r'[<>:"/\\|?*\x00-\x1f]')


def safe_file_name(key: str, name: str, limit: int = 80) -> str:
    """`KEY-Name.pdf`, safe on Windows: no reserved characters, no trailing dot/space; the key (unique within the
    kind, and never a reserved device name such as CON once prefixed) keeps names unique."""
    base = _WINDOWS_BAD.sub("_", unicodedata.normalize("NFC", f"{key}-{name}")).strip().rstrip(". ")
    base = re.sub(r"\s+", " ", base)[:limit].rstrip(". ")
    return (base or key) + ".pdf"


def thumbnail(cache: Path, cert: Certificate) -> Path | None:
    """The photo shrunk once (EXIF orientation applied, no metadata) and cached by content hash in `cache`; None
    without a readable photo."""
    if cert.photo is None or not cert.photo.is_file():
        return None
    sha = cert.sha256
    if not sha:
        h = hashlib.sha256()
        with cert.photo.open("rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                h.update(chunk)
        sha = h.hexdigest()
    folder = cache
    path = folder / f"{sha}-{THUMB_PX}.jpg"
    if path.is_file():
        return path
    from PIL import Image, ImageOps

    try:
        with Image.open(cert.photo) as im:
            im.draft("RGB", (THUMB_PX * 2, THUMB_PX * 2))
            im = ImageOps.exif_transpose(im).convert("RGB")
            im.thumbnail((THUMB_PX, THUMB_PX), Image.Resampling.LANCZOS)
            folder.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(f".{os.getpid()}.tmp")
            im.save(tmp, "JPEG", quality=85, optimize=True)
        os.replace(tmp, path)
    except OSError:
        return None
    return path


# --- rendering
def templates_dir() -> Path:
    from milsetctl.report.html import templates_dir as report_templates

    return report_templates()


@lru_cache(maxsize=1)
def _template() -> Any:
    """The Jinja2 template, compiled once per process; autoescape: names and titles are text, never markup."""
    from jinja2 import Environment, FileSystemLoader, StrictUndefined

    folder = templates_dir()
    if not (folder / TEMPLATE).is_file():
        raise CertificateError(f"certificate template not found: {folder / TEMPLATE}")
    env = Environment(loader=FileSystemLoader(str(folder)), autoescape=True, undefined=StrictUndefined)
    return env.get_template(TEMPLATE)


def qr_svg(text: str) -> str:
    import segno

    return segno.make(text, error="m").svg_inline(scale=3, border=0, dark="#1c2b4a")


def render_html(cert: Certificate, code: str, thumb: Path | None, issued_on: str) -> str:
    from markupsafe import Markup

    return _template().render(
        c=cert, code=format_code(code), qr=Markup(qr_svg(f"MILSET-CERT:{format_code(code)}")),
        thumb=thumb.as_uri() if thumb else None, issued_on=issued_on,
    )


def _render_pdf(job: tuple[str, str]) -> str:
    """HTML -> PDF at `path` (temporary name, then os.replace). Returns the path."""
    from weasyprint import HTML

    html, path = job
    tmp = f"{path}.{os.getpid()}.tmp"
    HTML(string=html, base_url=str(templates_dir())).write_pdf(tmp)
    os.replace(tmp, path)
    return path


def _print_one(job: tuple[Certificate, str, str, str, str]) -> str:
    """Worker: thumbnail, HTML (template compiled once per process) and PDF of one certificate. Returns the path."""
    cert, code, day, path, cache = job
    return _render_pdf((render_html(cert, code, thumbnail(Path(cache), cert), day), path))


def _combine(files: list[Path], target: Path) -> None:
    from pypdf import PdfWriter

    writer = PdfWriter()
    for f in files:
        writer.append(str(f))
    tmp = target.with_suffix(".tmp")
    with tmp.open("wb") as fh:
        writer.write(fh)
    os.replace(tmp, target)


def issue_certificates(ws: Workspace, kind: str, out: Path | None = None, only: list[str] | None = None,
                       progress: Callable[[int, int], None] | None = None, workers: int | None = None) -> Batch:
    """Print a batch: one PDF per recipient in `out` (default certificates/KIND/ in the workspace) and
    `KIND-all.pdf`, the combined print file.

    A recipient whose name, school or title has a character no certificate font draws is refused (Batch.refused,
    naming the character as U+XXXX) and the rest printed. A certificate already printed with the same code (file
    present) is not rendered again. `progress(done, total)` is called as PDFs finish. Raises CertificateError."""
    people = recipients(ws, kind)
    if only:
        wanted = set(only)
        unknown = sorted(wanted - {c.key for c in people})
        if unknown:
            raise CertificateError(f"--only: no {kind} certificate for {', '.join(unknown)}", 1)
        people = [c for c in people if c.key in wanted]
    lacking = missing_fonts()
    if lacking:
        raise CertificateError(f"fonts not installed: {', '.join(lacking)} (run scripts/install.sh)")
    folder = out if out is not None else ws.root / "certificates" / kind
    folder.mkdir(parents=True, exist_ok=True)
    batch = Batch(kind=kind, folder=folder)
    secret = workspace_secret(ws)
    done_before = ws.ledger.issued_certificates(kind)
    issued_on = datetime.now(ws.settings.tz).date().isoformat()
    cache = ws.root / "cache" / "certificate-thumbs"
    jobs: list[tuple[Certificate, str, str, str, str]] = []
    pending: list[tuple[Certificate, str, Path]] = []
    for cert in people:
        bad = next(((label, ch) for label, text in (("name", cert.name), ("school", cert.school),
                                                    ("title", cert.title))
                    if (ch := first_missing_char(text)) is not None), None)
        if bad is not None:
            label, ch = bad
            batch.refused.append(Refused(cert.name, cert.key, f"{cert.key} {cert.name!r}: the {label} has "
                                         f"U+{ord(ch):04X}, which no certificate font can print"))
            continue
        code = make_code(secret, cert.content())
        path = folder / safe_file_name(cert.key, cert.name)
        prior = done_before.get(cert.key)
        if prior is not None and prior["code"] == code and path.is_file():
            batch.issued.append(Issued(cert.name, cert.entry_id, path, code, skipped=True))
            continue
        day = prior["issued_at"][:10] if prior is not None and prior["code"] == code else issued_on
        jobs.append((cert, code, day, str(path), str(cache)))
        pending.append((cert, code, path))
    total, finished = len(jobs), 0
    if progress:
        progress(0, total)
    n = workers if workers is not None else min(os.cpu_count() or 1, total)
    by_path = {str(p): (c, code, p) for c, code, p in pending}

    def record(path: str) -> None:
        nonlocal finished
        cert, code, p = by_path[path]
        ws.ledger.record_certificate(code, kind, cert.key, cert.name, cert.entry_id, cert.content(), str(p))
        finished += 1
        if progress:
            progress(finished, total)

    if n > 1 and total > 1:
        with ProcessPoolExecutor(max_workers=n) as pool:
            for path in pool.map(_print_one, jobs):
                record(path)
    else:
        for job in jobs:
            record(_print_one(job))
    batch.issued.extend(Issued(c.name, c.entry_id, p, code) for c, code, p in pending)
    order = {str(folder / safe_file_name(c.key, c.name)): i for i, c in enumerate(people)}
    batch.issued.sort(key=lambda i: order.get(str(i.file), 0))
    if batch.issued:
        batch.combined = folder / f"{kind}-all.pdf"
        _combine([i.file for i in batch.issued], batch.combined)
    ws.ledger.audit("certificates", {"kind": kind, "printed": [c.key for c, _, _ in pending],
                                     "already_printed": sum(1 for i in batch.issued if i.skipped),
                                     "refused": [r.key for r in batch.refused]})
    return batch
