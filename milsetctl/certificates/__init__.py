"""Certificates: one PDF per recipient plus a combined print file, each carrying a verification code.

The code is an HMAC-SHA256 of the certificate's canonical content (kind, recipient, name, award, title, contest,
and since issue 17 the contest year and the issue day) under a random secret kept in the workspace (`secret.key`,
mode 0600): the same content always gets the same code (a reprint keeps it, and its first issue day) and nobody
without the secret can make a code `verify` accepts (issue 8).

The pieces: model.py (what a certificate says, the wording), codes.py (the secret, the code, `verify_code`),
recipients.py (who gets each kind; member.py: the member organisations); here, the batch is drawn and printed."""

from __future__ import annotations

import gc
import hashlib
import json
import os
import re
import shutil
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

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
from milsetctl.certificates.fonts import first_missing_char, missing_fonts
from milsetctl.certificates.frame import issue_day
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
from milsetctl.certificates.recipients import recipients
from milsetctl.certificates.sheet import (  # noqa: F401 - the package's API
    display_width,
    qr_png,
    qr_text,
    text_direction,
)
from milsetctl.certificates.sheet import sheet as _sheet
from milsetctl.fsutil import atomic_path, atomic_write
from milsetctl.resources import templates_dir
from milsetctl.workspace import Workspace

TEMPLATE = "certificate.html"
THUMB_PX = 640  # longest side of the cached thumbnail: sharp at 60 mm wide on a 250 dpi print

# --- files


def safe_file_name(key: str, name: str, limit: int = 80) -> str:
    """`KEY-Name.pdf`, safe on Windows: no reserved characters, no trailing dot/space; the key (unique within the
    kind, and never a reserved device name such as CON once prefixed) keeps names unique."""
    from milsetctl.fsutil import safe_file_name as sanitise

    return sanitise(f"{key}-{name}", max_bytes=limit * 3, fallback=key) + ".pdf"


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
        im: Image.Image  # the opened file, then the converted picture
        with Image.open(cert.photo) as im:
            # JPEG: decode at 1/2, 1/4 or 1/8 scale, the smallest whose longest side still holds THUMB_PX (a
            # 3000x2000 photo decodes at 750x500: 39 ms, not 136 ms for the full frame). The box keeps the aspect
            # ratio: Pillow picks the scale both sides allow.
            longest = max(im.size)
            im.draft("RGB", (max(1, im.width * THUMB_PX // longest), max(1, im.height * THUMB_PX // longest)))
            im = ImageOps.exif_transpose(im).convert("RGB")
            # at most 2x left to shrink (the scaled decode; for a PNG, thumbnail()'s reducing_gap box-filters first):
            # BICUBIC is as sharp there as LANCZOS, and cheaper
            im.thumbnail((THUMB_PX, THUMB_PX), Image.Resampling.BICUBIC)
            folder.mkdir(parents=True, exist_ok=True)
            with atomic_path(path) as tmp:
                im.save(tmp, "JPEG", quality=85, optimize=True)
    except (OSError, ValueError, Image.DecompressionBombError):  # unreadable: the certificate prints without it
        return None
    return path


# --- rendering
# Certificates per worker task: one WeasyPrint document holds this many, one page each, so the CSS, fonts and
# layout set-up are paid once per chunk; each recipient's PDF is then written from its page and the chunk's whole
# document becomes one part of the combined print file (bench/README.md has the measurements).
CHUNK = 25
# a worker process costs ~1 s to start (WeasyPrint, fontconfig, the first layout): below this many certificates
# per worker, fewer workers finish sooner (measured: 8 certificates, 1 process 2.6 s, 2 processes 4.9 s)
MIN_PER_WORKER = 12
PARTS_DIR = "certificate-parts"  # under the workspace cache: the combined file's parts, named by their codes


@lru_cache(maxsize=1)
def _template() -> Any:
    """The Jinja2 template, compiled once per process; autoescape: names and titles are text, never markup."""
    from jinja2 import Environment, FileSystemLoader, StrictUndefined

    folder = templates_dir()
    if not (folder / TEMPLATE).is_file():
        raise CertificateError(f"certificate template not found: {folder / TEMPLATE}")
    env = Environment(loader=FileSystemLoader(str(folder)), autoescape=True, undefined=StrictUndefined)
    return env.get_template(TEMPLATE)


class _SizedArrayFFI:
    """Stands in for cffi's FFI in weasyprint.pdf.fonts: `new("hb_codepoint_t[N]", values)` becomes
    `new("hb_codepoint_t[]", values)`, the same array. WeasyPrint writes the length into the type for each font it
    subsets, and cffi parses every new type string with pycparser (~12-30 ms each; a batch meets hundreds of
    lengths): measured, 3.4 of 27 s on 60 certificates. Everything else goes to the real FFI."""

    _SIZED = re.compile(r"(\w+)\[(\d+)\]")

    def __init__(self, ffi: Any) -> None:
        self._ffi = ffi

    def __getattr__(self, name: str) -> Any:
        return getattr(self._ffi, name)

    def new(self, cdecl: Any, init: Any = None) -> Any:
        if isinstance(cdecl, str) and init is not None and hasattr(init, "__len__"):
            sized = self._SIZED.fullmatch(cdecl)
            if sized and len(init) == int(sized[2]):
                return self._ffi.new(f"{sized[1]}[]", init)
        return self._ffi.new(cdecl, init)


# one WeasyPrint font configuration per process id. A forked worker must not use its parent's (it would write
# its @font-face files into the parent's folder while its sibling reads them), nor drop it (WeasyPrint's __del__
# would delete the parent's folder): entries are never removed.
_FONT_CONFIGS: dict[int, Any] = {}


def _drop_font_folder(config: Any) -> None:
    """WeasyPrint copies each @font-face file into a temporary folder that its __del__ removes, which never runs in
    a pool worker (it ends with os._exit): removed here, by a multiprocessing finalizer that runs in both."""
    folder = getattr(config, "_folder", None)
    if folder:
        shutil.rmtree(folder, ignore_errors=True)


def _font_config() -> Any:
    """This process's WeasyPrint font configuration: it loads each @font-face file once (+73 ms a document
    otherwise, NOTES-dependencies.md). Also puts _SizedArrayFFI in place, once per process."""
    config = _FONT_CONFIGS.get(os.getpid())
    if config is None:
        from multiprocessing.util import Finalize

        import weasyprint.pdf.fonts as pdf_fonts
        from weasyprint.text.fonts import FontConfiguration

        if hasattr(pdf_fonts, "ffi") and not isinstance(pdf_fonts.ffi, _SizedArrayFFI):
            pdf_fonts.ffi = _SizedArrayFFI(pdf_fonts.ffi)
        config = _FONT_CONFIGS[os.getpid()] = FontConfiguration()
        Finalize(None, _drop_font_folder, args=(config,), exitpriority=1)  # skipped in a forked child: pid check
    return config


def render_sheets(sheets: list[dict[str, Any]], fonts: dict[str, Any] | None = None) -> str:
    """One HTML document with one A4 page per certificate. `sheets`: dicts from `_sheet`; `fonts`: the batch's
    cut CJK faces (what fonts.batch_fonts yields), named by @font-face rules; None: the system faces."""
    return str(_template().render(sheets=sheets, fonts=fonts))


def render_html(cert: Certificate, code: str, thumb: Path | None, issued_on: str,
                fonts: dict[str, Any] | None = None) -> str:
    """The HTML of one certificate (one page)."""
    return render_sheets([_sheet(cert, code, thumb, issued_on)], fonts)


def _html_document(html: str) -> Any:
    from weasyprint import HTML

    return HTML(string=html, base_url=str(templates_dir())).render(font_config=_font_config())


def _write_pdf(document: Any, path: Path) -> None:
    """A killed run never leaves a half PDF under a final name (fsutil.atomic_path)."""
    with atomic_path(path) as tmp:
        document.write_pdf(tmp)


def _render_pdf(job: tuple[str, str]) -> str:
    """HTML -> PDF at `path` (temporary name, then renamed). Returns the path."""
    html, path = job
    _write_pdf(_html_document(html), Path(path))
    return path


@dataclass
class _Chunk:
    """One worker task: consecutive certificates rendered as one document."""

    items: list[tuple[Certificate, str, str, str]]  # (certificate, code, issued-on date, final PDF path)
    thumbs: str  # the thumbnail cache folder
    fonts: dict[str, Any]
    part: str | None  # where the whole document goes as a part of the combined file, or None


def _print_chunk(job: _Chunk) -> list[str]:
    """Worker: thumbnails, one HTML document for the chunk (template compiled once per process), each page written
    as its recipient's PDF, then the whole document as a part of the combined file. Returns the PDF paths.

    The cyclic garbage collector is paused for the chunk: a laid-out document is ~100,000 live objects that the
    collector would walk again and again while it is being written (measured: 7% of the CPU time)."""
    paused = gc.isenabled()
    gc.disable()
    try:
        sheets = [_sheet(cert, code, thumbnail(Path(job.thumbs), cert), day) for cert, code, day, _ in job.items]
        document = _html_document(render_sheets(sheets, job.fonts))
        if len(document.pages) != len(job.items):  # a sheet overflowed onto a second page: never print that
            raise CertificateError(f"certificate layout: {len(job.items)} certificates made {len(document.pages)} "
                                   f"pages (a name or title too long for the page?)")
        for (cert, _, _, path), page in zip(job.items, document.pages, strict=True):
            document.metadata.title = f"{cert.award} · {cert.name}"
            _write_pdf(document.copy([page]), Path(path))
        if job.part:
            document.metadata.title = "Certificates"
            _write_pdf(document, Path(job.part))
    finally:
        if paused:
            gc.enable()
    return [path for _, _, _, path in job.items]


# --- the combined print file
def _codes_digest(codes: list[str]) -> str:
    return hashlib.sha256(",".join(codes).encode("ascii")).hexdigest()[:16]


def _part_name(codes: list[str]) -> str:
    """A part's file name says which certificates it holds, in order: first code, count, digest of all codes."""
    return f"{codes[0]}-{len(codes)}-{_codes_digest(codes)}.pdf"


def _combine(issued: list[Issued], parts: Path, target: Path) -> tuple[int, int]:
    """Write `target`, every certificate of `issued` in order, from the parts (whole chunk documents: fonts once
    per chunk) where a part holds exactly the next certificates, else from the recipient's own PDF. Skipped when
    `target` already holds exactly these codes (its /MilsetctlCodes entry). Returns (parts used, single PDFs used).
    """
    from pypdf import PdfReader, PdfWriter

    codes = [i.code for i in issued]
    digest = _codes_digest(codes)
    if target.is_file():
        try:
            metadata = PdfReader(str(target)).metadata
            if metadata is not None and metadata.get("/MilsetctlCodes") == digest:
                return 0, 0
        except Exception:  # noqa: BLE001 - an unreadable old file is simply written again
            pass
    by_first: dict[str, list[tuple[int, str, Path]]] = {}
    for f in parts.glob("*.pdf") if parts.is_dir() else ():
        first, _, rest = f.stem.partition("-")
        count, _, dig = rest.partition("-")
        if count.isdigit():
            by_first.setdefault(first, []).append((int(count), dig, f))
    writer = PdfWriter()
    used_parts, singles, i = 0, 0, 0
    while i < len(issued):
        match = max(((n, f) for n, dig, f in by_first.get(codes[i], ())
                     if n <= len(codes) - i and dig == _codes_digest(codes[i:i + n])), default=None)
        if match is not None:
            writer.append(str(match[1]))
            used_parts += 1
            i += match[0]
        else:
            writer.append(str(issued[i].file))
            singles += 1
            i += 1
    writer.add_metadata({"/Title": f"{target.stem}: {len(issued)} certificates", "/MilsetctlCodes": digest})
    with atomic_write(target, "wb") as fh:
        writer.write(fh)
    return used_parts, singles


def _same_day(stored: dict[str, Any], fixed_day: str | None) -> bool:
    """Whether a certificate issued before may keep its code and issue day: always, unless [certificates]
    issue_date names another day than the one it signs (then it is printed again with that day, a new code, the
    old one superseded). A code from before issue 17 signs no day: kept."""
    return fixed_day is None or stored.get("issued_on") in (None, fixed_day)


def _changed_fields(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    return [k for k in ("name", "school", "title", "award", "contest", "entry_id") if old.get(k) != new.get(k)]


# --- the batch
def issue_certificates(ws: Workspace, kind: str, out: Path | None = None, only: list[str] | None = None,
                       progress: Callable[[int, int], None] | None = None, workers: int | None = None) -> Batch:
    """Print a batch: one PDF per recipient in `out` (default certificates/KIND/ in the workspace) and the combined
    print file, `KIND-all.pdf` (`KIND-selection.pdf` with `only`, so a reprint of a few never replaces the whole
    batch's file).

    A recipient whose name, school or title has a character no certificate font draws is refused (Batch.refused,
    naming the character as U+XXXX) and the rest printed. A certificate already printed with the same code (file
    present) is not rendered again. A recipient whose content changed (a corrected name, a new title) gets a new
    code; the ledger marks the old code superseded by it (`verify` then says so) and the old PDF is removed.
    Rendering: chunks of up to CHUNK certificates across `workers` processes (default: every core, but no more
    than one per MIN_PER_WORKER certificates).
    `progress(done, total)` is called as chunks finish. Raises CertificateError, also when what the kind is
    printed from is not made yet or out of date (`stages.require`: awards before the Qualifier Award...)."""
    from milsetctl import stages
    from milsetctl.models import StageError

    if f"certificates:{kind}" in stages.STAGES:  # (an unknown kind is refused by `recipients`)
        try:
            stages.require(ws, f"certificates:{kind}", f"milsetctl certificates {kind}")
        except StageError as exc:
            raise CertificateError(str(exc), 1) from None
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
    for stale in folder.glob(".*.tmp"):  # a killed run's temporary files (never a final name)
        stale.unlink(missing_ok=True)
    batch = Batch(kind=kind, folder=folder)
    secret = workspace_secret(ws)
    done_before = ws.ledger.issued_certificates(kind)
    earlier: dict[str, list[Any]] = {}  # every code this kind ever had, oldest first: content set back, code back
    for issued_row in ws.ledger.certificate_rows():
        if issued_row["kind"] == kind:
            earlier.setdefault(issued_row["recipient_key"], []).append(issued_row)
    signed: dict[str, dict[str, Any]] = {}  # code -> the content it signs, stored with it (issue day included)
    fixed_day = issue_day(ws)  # [certificates] issue_date, the award day; else the day the batch is printed
    issued_on = fixed_day or datetime.now(ws.settings.tz).date().isoformat()
    cache = ws.root / "cache"
    pending: list[tuple[Certificate, str, str, Path]] = []
    for cert in people:
        bad = next(((label, ch) for label, text in (("name", cert.name), ("school", cert.school),
                                                    ("title", cert.title))
                    if (ch := first_missing_char(text)) is not None), None)
        if bad is not None:
            label, ch = bad
            batch.refused.append(Refused(cert.name, cert.key, f"{cert.key} {cert.name!r}: the {label} has "
                                         f"U+{ord(ch):04X}, which no certificate font can print"))
            continue
        core = cert.content()
        again = next((r for r in earlier.get(cert.key, []) if same_certificate(json.loads(r["content"]), core)
                      and _same_day(json.loads(r["content"]), fixed_day)), None)
        if again is not None:  # issued before with this content: same code, same issue day (an older code too)
            code, signed[code] = again["code"], json.loads(again["content"])
        else:
            content = signed_content(core, issued_on, day_set=fixed_day is not None)
            code, signed[code] = make_code(secret, content), content
        path = folder / safe_file_name(cert.key, cert.name)
        prior = done_before.get(cert.key)
        if prior is not None and prior["code"] == code and path.is_file():
            batch.issued.append(Issued(cert.name, cert.entry_id, path, code, skipped=True))
            continue
        day = signed[code].get("issued_on") or (again["issued_at"][:10] if again is not None else issued_on)
        pending.append((cert, code, day, path))
        batch.issued.append(Issued(cert.name, cert.entry_id, path, code,
                                   replaces=prior["code"] if prior is not None and prior["code"] != code else None))

    total, finished = len(pending), 0
    if progress:
        progress(0, total)
    from milsetctl.workers import worker_count

    n = worker_count(total, MIN_PER_WORKER, workers)
    n = max(1, min(n, total))
    size = max(1, min(CHUNK, -(-total // n)))
    parts = cache / PARTS_DIR / kind
    parts.mkdir(parents=True, exist_ok=True)
    for stale in parts.glob(".*.tmp"):
        stale.unlink(missing_ok=True)
    superseded: list[dict[str, Any]] = []

    def record(chunk: _Chunk) -> None:
        nonlocal finished
        rows, replaced = [], []
        for cert, code, _, path in chunk.items:
            prior = done_before.get(cert.key)
            row: dict[str, Any] = {"code": code, "kind": kind, "recipient_key": cert.key, "recipient": cert.name,
                                   "entry_id": cert.entry_id, "content": signed[code], "file": path}
            if prior is not None and prior["code"] != code:
                changed = _changed_fields(json.loads(prior["content"]), cert.content()) or (
                    ["issue date"] if json.loads(prior["content"]).get("issued_on") != signed[code].get("issued_on")
                    else [])
                row["supersedes"] = prior["code"]
                row["reason"] = f"reprinted with a changed {', '.join(changed) or 'content'}"
                replaced.append({"code": format_code(prior["code"]), "by": format_code(code), "key": cert.key,
                                 "reason": row["reason"]})
                old_file = Path(prior["file"]) if prior["file"] else None
                if old_file is not None and old_file != Path(path) and old_file.parent == folder:
                    old_file.unlink(missing_ok=True)  # no longer valid: only the reprint stays in the folder
            rows.append(row)
        # the ledger rows and their audit record together: a killed run never leaves one without the other
        ws.ledger.record_certificates(rows, audit={
            "kind": kind, "issued": [{"key": r["recipient_key"], "code": format_code(r["code"])} for r in rows],
            **({"superseded": replaced} if replaced else {})})
        superseded.extend(replaced)
        finished += len(chunk.items)
        if progress:
            progress(finished, total)

    from milsetctl.certificates.fonts import batch_fonts

    with batch_fonts(cache, (t for c, _, _, _ in pending for t in (c.name, c.school, c.title, c.contest))) as fonts:
        chunks = []
        for lo in range(0, total, size):
            items = [(c, code, day, str(p)) for c, code, day, p in pending[lo:lo + size]]
            chunks.append(_Chunk(items, str(cache / "certificate-thumbs"), fonts,
                                 str(parts / _part_name([code for _, code, _, _ in items]))))
        if n > 1 and len(chunks) > 1:
            from concurrent.futures import as_completed

            import weasyprint  # noqa: F401 - imported once here, so that forked workers start with it loaded

            from milsetctl.locking import exit_with_parent

            # workers end with a killed command (they would otherwise go on printing, orphaned)
            with ProcessPoolExecutor(max_workers=n, initializer=exit_with_parent, initargs=(os.getpid(),)) as pool:
                futures = {pool.submit(_print_chunk, chunk): chunk for chunk in chunks}
                for future in as_completed(futures):
                    future.result()
                    record(futures[future])
        else:
            for chunk in chunks:
                _print_chunk(chunk)
                record(chunk)
    if batch.issued:
        batch.combined = folder / (f"{kind}-selection.pdf" if only else f"{kind}-all.pdf")
        _combine(batch.issued, parts, batch.combined)
        if not only:  # parts the full batch no longer uses (content changed since) go
            keep = {_part_name([c for _, c, _, _ in ch.items]) for ch in chunks}
            for f in parts.glob("*.pdf"):
                if f.name not in keep and not _part_in(f.name, [i.code for i in batch.issued]):
                    f.unlink(missing_ok=True)
    # the batch's summary (each chunk's certificates are on record already, as "certificate-issue")
    ws.ledger.audit("certificates", {"kind": kind, "printed": [c.key for c, _, _, _ in pending],
                                     "already_printed": sum(1 for i in batch.issued if i.skipped),
                                     "refused": [r.key for r in batch.refused],
                                     "superseded": [item["code"] for item in superseded]})
    # the whole kind printed: its words are watched from now on
    if not only and not batch.refused and f"certificates:{kind}" in stages.STAGES:
        stages.record(ws, f"certificates:{kind}", {"outputs": [str(folder)], "entries": sorted(
            {i.entry_id for i in batch.issued if i.entry_id})})
    elif batch.issued:  # a selection, or a batch with refusals: not the stage made, but files purge must know
        stages.record_outputs(ws, "certificate-batch", [folder])
    return batch


def _part_in(name: str, codes: list[str]) -> bool:
    """Whether the part file `name` holds a run of `codes` (so the combined file may use it)."""
    first, _, rest = name.removesuffix(".pdf").partition("-")
    count, _, dig = rest.partition("-")
    if not count.isdigit() or first not in codes:
        return False
    i = codes.index(first)
    return _codes_digest(codes[i:i + int(count)]) == dig
