"""The blind view of an entry: what any juror-facing file may say about it (issue 15).

One function of an entry, called by every writer a juror reads (the contact sheet's HTML and PDF, the score
sheets, their instructions): the anonymous ID, the category, and the title and description with every trace of
any contestant (name in any spelling, school, contestant ID, e-mail, file name; match.py) replaced by
"[removed]". Built from the same needles as the verify scan, so what a juror is shown, `anonymise --verify`
accepts; two writers can no longer disagree (the score sheets once showed what the contact sheet redacted).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from milsetctl.anonymise.match import REDACTED, Matcher, make_needles, redact


@dataclass(frozen=True)
class BlindEntry:
    anon_id: str
    category: str | None
    title: str
    description: str
    redacted: tuple[str, ...] = ()  # the fields whose text was replaced: "title", "description"

    def note(self, entry_id: str) -> str | None:
        """The coordinator's line about a redaction (never shown to jurors: it names the entry)."""
        if not self.redacted:
            return None
        return (f"{entry_id}: identifying text in the {' and '.join(self.redacted)} replaced by {REDACTED} on "
                "everything the jurors get")


class BlindView:
    """The contest's blind view: build it once per run (it folds every contestant's needles), then `of` per
    entry."""

    def __init__(self, matcher: Matcher) -> None:
        self.matcher = matcher

    @classmethod
    def of_ledger(cls, ledger: Any) -> BlindView:
        """From every entry the ledger ever held (rejected and withdrawn ones too: their people are real)."""
        return cls(Matcher(make_needles(ledger.entries(present_only=False))))

    def of(self, anon_id: str, category: str | None, title: str | None, description: str | None) -> BlindEntry:
        shown_title, t = redact(title or "", self.matcher)
        shown_description, d = redact(description or "", self.matcher)
        return BlindEntry(anon_id, category, shown_title, shown_description,
                          tuple(f for f, changed in (("title", t), ("description", d)) if changed))
