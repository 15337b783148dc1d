"""What a certificate says (`Certificate`, whose content the verification code signs), the wording of each kind,
and what a batch made (`Batch`: issued, refused)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from milsetctl.certificates.codes import format_code
from milsetctl.models import StageError
from milsetctl.workspace import Workspace

KINDS = ("participation", "qualifier", "global", "gallery", "juror", "member")

AWARD_WORDING = {
    "participation": "Certificate of Participation",
    "qualifier": "Qualifier Award",
    "global-1": "Global Award · First Place",
    "global-2": "Global Award · Second Place",
    "global-3": "Global Award · Third Place",
    "gallery": "Virtual Gallery Selection",
    "juror": "Certificate of Appreciation",
}
# the category a Qualifier Award is given in (national stage: awards per category, SPEC "Contestants")
CATEGORY_WORDING = {"middle": "Middle School", "high": "High School"}
DEFAULT_SIGNATURES = ("Chair of the Jury", "MILSET Secretariat")


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
    # layout, not content (the code does not sign them): the titles under the signature lines ([certificates]
    # signatures / member_signatures) and the contest stage, which names the juror's jury national or international
    signatures: tuple[str, ...] = DEFAULT_SIGNATURES
    stage: str = "national"

    def content(self) -> dict[str, Any]:
        """The canonical content the code signs (what a forger would want to change); the batch adds the issue
        day (codes.signed_content). The year since issue 17: `verify` reports only what the code signs."""
        return {"kind": self.kind, "recipient": self.key, "entry_id": self.entry_id, "name": self.name,
                "school": self.school, "award": self.award, "title": self.title, "contest": self.contest,
                "year": self.year}


@dataclass
class Issued:
    recipient: str
    entry_id: str | None
    file: Path
    code: str
    skipped: bool = False  # already printed with this code by an earlier run
    replaces: str | None = None  # the recipient's earlier code, superseded by this reprint (changed content)


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


def signature_titles(ws: Workspace, key: str) -> list[str]:
    """The two signature titles from [certificates] `key` (an older settings file may lack the section)."""
    return list(ws.settings.raw.get("certificates", {}).get(key) or DEFAULT_SIGNATURES)
