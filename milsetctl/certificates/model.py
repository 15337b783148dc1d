"""What a certificate says (`Certificate`, whose content the verification code signs), the wording of each kind,
and what a batch made (`Batch`: issued, refused)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
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
# the category an entry competes in, as the certificate names it (SPEC "Contestants": grades 7-9 and 10-12)
CATEGORY_LINE = {"middle": "Middle School category · grades 7–9", "high": "High School category · grades 10–12"}


@dataclass(frozen=True)
class Signatory:
    """One signature block: the title under the line, the name above it (empty: signed by hand, the name not
    printed) and an optional signature image (a file URI) drawn on the line."""

    title: str
    name: str = ""
    signature: str | None = None


@dataclass(frozen=True)
class Frame:
    """What every certificate of a batch shares, from [certificates] in the settings (certificates/frame.py):
    layout, not content, so the code does not sign it (a new logo or a corrected signatory's title does not make
    every printed certificate's code invalid)."""

    signatories: tuple[Signatory, ...] = tuple(Signatory(t) for t in DEFAULT_SIGNATURES)
    logo: str | None = None  # file URI of the logo image
    place: str = ""  # where the contest is held
    verify_url: str = ""  # where verify.html is published; "" = the footer says in words how to verify


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
    # layout too (issue 19): the category line, the place at the global stage (gallery places 4-10), the member's
    # period of good standing, and what the batch shares (logo, signatories, place, the verify page's address)
    category: str = ""
    rank: int | None = None
    period: str = ""
    frame: Frame | None = None

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


MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
          "November", "December")


def long_date(day: date) -> str:
    """20 August 2022: a day in words, as a certificate prints it (no 08/20 or 20/08 to misread; English whatever
    the machine's locale)."""
    return f"{day.day} {MONTHS[day.month - 1]} {day.year}"


def signature_titles(ws: Workspace, key: str) -> list[str]:
    """The two signature titles from [certificates] `key` (an older settings file may lack the section)."""
    return list(ws.settings.raw.get("certificates", {}).get(key) or DEFAULT_SIGNATURES)
