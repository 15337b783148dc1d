"""Plain data passed between the stages: entries, findings, results.

Nothing here talks to disk or SQL; the ledger stores these, renderers format them.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any


def person_key(name: str) -> str:
    """A person's identity as typed by different hands: case-, width- and space-insensitive ("LI MING",
    "Li Ming", "LiMing" and full-width "Ｌｉ Ｍｉｎｇ" are one juror; "李 明" and "李明" too). The score sheets and
    the ledger's stored scores compare jurors with it, within a run and across runs."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", name)).casefold()


class StageError(RuntimeError):
    """A stage cannot run at all; `code` is the CLI exit status (1: input unusable, 2: usage error)."""

    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.code = code


class Severity(StrEnum):
    REJECT = "reject"
    REVIEW = "review"
    INFO = "info"


class Status(StrEnum):
    ELIGIBLE = "eligible"
    REVIEW = "review"
    REJECTED = "rejected"


@dataclass
class Finding:
    rule: str
    severity: Severity
    message: str
    # machine-readable detail (face boxes, the other entry of a duplicate...); not part of SPEC's JSON
    data: dict[str, Any] | None = None

    def as_json(self) -> dict[str, str]:
        return {"rule": self.rule, "severity": str(self.severity), "message": self.message}


def entry_status(findings: list[Finding], decision: dict[str, str] | None) -> Status:
    """SPEC: rejected if a reject finding stands, else review if a review finding is undecided, else eligible.
    A decision settles the entry either way; the findings stay visible. Here, not in pipeline.py (validate), so
    that `decide` and `status` do not import validate's engine (issue 18)."""
    if decision is not None:
        return Status.ELIGIBLE if decision["decision"] == "accept" else Status.REJECTED
    severities = {f.severity for f in findings}
    if Severity.REJECT in severities:
        return Status.REJECTED
    if Severity.REVIEW in severities:
        return Status.REVIEW
    return Status.ELIGIBLE


@dataclass
class Entry:
    """One submission as the coordinator's manifest (or sidecar) describes it."""

    key: str  # stable identity across re-runs: the normalised file path, or the row for rows without a file
    file: str | None  # path relative to SOURCE, '/'-separated, NFC; None when the row names no file
    contestant_id: str | None = None
    name: str | None = None
    school: str | None = None
    grade: str | None = None
    province: str | None = None
    country: str | None = None
    email: str | None = None
    title: str | None = None
    description: str | None = None
    submitted_at: datetime | None = None
    submitted_at_raw: str | None = None
    origin: str = ""  # where the row came from: "entries.csv row 7", "photo.json", "folder scan"
    listed: bool = True  # False for a photo no manifest row names
    extra: dict[str, str] = field(default_factory=dict)  # unknown manifest columns, kept as is
    # problems met while reading the row (cell that could not be parsed), reported as findings
    ingest_findings: list[Finding] = field(default_factory=list)
    entry_id: str = ""  # assigned by the ledger

@dataclass
class PhotoInfo:
    """What validation learned about one photo file: the picklable part of a Probe, kept in the ledger."""

    sha256: str
    size: int
    format: str | None  # detected from content: JPEG, PNG, WEBP, HEIC, TIFF, ... or None
    width: int | None = None  # stored pixels
    height: int | None = None
    orientation: int = 1
    display_width: int | None = None
    display_height: int | None = None
    make: str | None = None
    model: str | None = None
    software: str | None = None
    datetime_original: str | None = None
    dhash: str | None = None  # 64-bit difference hash, hex
    phash: str | None = None
    thumbnail: str | None = None  # file name inside the workspace thumbnail cache
    error: str | None = None  # why the file could not be read, if it could not


@dataclass
class EntryResult:
    entry: Entry
    status: Status
    category: str | None
    findings: list[Finding]
    photo: PhotoInfo | None = None
    decision: dict[str, str] | None = None  # the standing decision (decision, reason, who, at), if any

    def as_json(self) -> dict[str, Any]:
        return {
            "entry_id": self.entry.entry_id,
            "contestant_id": self.entry.contestant_id,
            "file": self.entry.file,
            "status": str(self.status),
            "category": self.category,
            "findings": [f.as_json() for f in self.findings],
        }


@dataclass
class ValidationResult:
    source: str
    workspace: str
    entries: list[EntryResult]
    elapsed_s: float = 0.0
    photos_analysed: int = 0  # photos probed in this run (the rest came from the cache)
    photos_cached: int = 0
    # what this run changed in entries validated before: entry_id -> {field: [old, new]} (the "entry-change" audit
    # record), and the outputs made before that still show the old words, as lines naming what to run again.
    # Terminal only: SPEC fixes validate's JSON, so as_json leaves both out.
    changes: dict[str, dict[str, list[Any]]] = field(default_factory=dict)
    remake: list[str] = field(default_factory=list)
    # photos whose second-pass check (the text rule) had not run when this result was saved (0 once it has)
    second_pass_pending: int = 0

    def summary(self) -> dict[str, int]:
        counts = {"entries": len(self.entries), "eligible": 0, "review": 0, "rejected": 0}
        for r in self.entries:
            counts[str(r.status)] += 1
        return counts

    def as_json(self) -> dict[str, Any]:
        return {"entries": [r.as_json() for r in self.entries], "summary": self.summary()}


def score_text(value: float | None, digits: int = 1) -> str:
    """A 0-100 score as people read it: rounded half up (59.75 -> 59.8) after dropping float noise
    (59.74999999 is 59.75), so the score table, the award list and a certificate always print the same digits."""
    from decimal import ROUND_HALF_UP, Decimal

    if value is None or value != value:
        return "–"
    exact = Decimal(repr(round(float(value), 6)))
    return str(exact.quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP))


SEVERITY_ORDER = {"reject": 0, "review": 1, "info": 2}
TOP_REASONS = 8  # most frequent reasons shown by validate and status (the HTML report shows 10)


def count_reasons(per_entry: Iterable[Iterable[Finding]]) -> list[tuple[str, str, int]]:
    """(rule, severity, entries carrying it) for reject and review findings, most frequent first; ties by
    severity (reject first), then rule ID. The one ranking `validate`, `status` and the reports all show."""
    counts: Counter[tuple[str, str]] = Counter()
    for findings in per_entry:
        counts.update({(f.rule, str(f.severity)) for f in findings if str(f.severity) in ("reject", "review")})
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], SEVERITY_ORDER.get(kv[0][1], 9), kv[0][0]))
    return [(rule, sev, n) for (rule, sev), n in ranked]


def reason_counts(result: ValidationResult) -> list[tuple[str, str, int]]:
    """`count_reasons` over a validation result's entries."""
    return count_reasons(r.findings for r in result.entries)
