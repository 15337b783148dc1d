"""Issuing a batch of certificates: who is printed, with which code and issue day, what is printed again, and
what the ledger records (codes, superseded codes, the stage's outputs).

Apart from render.py because this runs in the parent process only: it decides and records, and hands the
drawing to render.py's workers in chunks."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import Any

from milsetctl.certificates.codes import format_code, make_code, same_certificate, signed_content, workspace_secret
from milsetctl.certificates.fonts import first_missing_char, missing_fonts
from milsetctl.certificates.frame import issue_day
from milsetctl.certificates.model import Batch, Certificate, CertificateError, Issued, Refused
from milsetctl.certificates.recipients import recipients
from milsetctl.certificates.render import _Chunk, _combine, _part_in, _part_name, _print_chunk, safe_file_name
from milsetctl.workspace import Workspace

# Certificates per worker task: one WeasyPrint document holds this many, one page each, so the CSS, fonts and
# layout set-up are paid once per chunk; each recipient's PDF is then written from its page and the chunk's whole
# document becomes one part of the combined print file (bench/README.md has the measurements).
CHUNK = 25
# a worker process costs ~1 s to start (WeasyPrint, fontconfig, the first layout): below this many certificates
# per worker, fewer workers finish sooner (measured: 8 certificates, 1 process 2.6 s, 2 processes 4.9 s)
MIN_PER_WORKER = 12
PARTS_DIR = "certificate-parts"  # under the workspace cache: the combined file's parts, named by their codes


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
    from milsetctl.certificates.sheet import page_texts

    with batch_fonts(cache, (t for c, _, _, _ in pending for t in page_texts(c))) as fonts:
        chunks = []
        for lo in range(0, total, size):
            items = [(c, code, day, str(p)) for c, code, day, p in pending[lo:lo + size]]
            chunks.append(_Chunk(items, str(cache / "certificate-thumbs"), fonts,
                                 str(parts / _part_name([code for _, code, _, _ in items])), str(ws.thumbs)))
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
