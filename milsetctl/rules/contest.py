"""Rules that look at all entries together."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from milsetctl.ingest.values import is_mangled_id
from milsetctl.rules import ContestItem, rule
from milsetctl.settings import Settings
from milsetctl.timefmt import contest_time


@rule("one-per-contestant", "reject", "contest", version=2, uses=("entrants.one_per_contestant",))
def one_per_contestant(items: list[ContestItem], settings: Settings) -> Iterator[tuple[str, str]]:
    """A contestant has more than one entry: the latest submission is kept, the others rejected.

    The call allows one photo per contestant. Keeping the latest follows what a contestant who
    re-submits means ("use this one instead"); each dropped entry names the one that was kept.
    Rows without a submission time count as earliest; among equal times the later row wins. An ID that
    Excel turned into scientific notation (2.02207E+11) is never used to merge entries (see mangled-id).
    """
    if not settings.section("entrants").get("one_per_contestant", True):
        return
    groups: dict[str, list[tuple[int, ContestItem]]] = {}
    for order, item in enumerate(items):
        cid = (item.entry.contestant_id or "").strip().casefold()
        if cid and item.entry.listed and not is_mangled_id(cid):
            groups.setdefault(cid, []).append((order, item))
    floor = datetime.min.replace(tzinfo=settings.tz)
    for members in groups.values():
        if len(members) < 2:
            continue
        kept_order, kept = max(members, key=lambda m: (m[1].entry.submitted_at or floor, m[0]))
        # the contest's time, to the second when it has seconds (two entries sent in the same minute)
        when = contest_time(kept.entry.submitted_at, settings.tz, exact=True) or "?"
        for order, item in members:
            if order != kept_order:
                yield item.entry.key, (
                    f"contestant {item.entry.contestant_id} has {len(members)} entries; kept "
                    f"{kept.entry.entry_id} ({kept.entry.file}, submitted {when})"
                )


@rule("mangled-id", "review", "contest")
def mangled_id(items: list[ContestItem], settings: Settings) -> Iterator[tuple[str, str]]:
    """The contestant ID was turned into scientific notation by Excel (2.02207E+11).

    Excel shows a long number such as a 12-digit registration ID as 2.02207E+11 and, saved as CSV, keeps only
    those digits: two students can end up with the same text. Such an ID is never used to merge entries
    (one-per-contestant skips it); every entry carrying one goes to review, naming it, until the coordinator
    re-exports the sheet with the column formatted as Text.
    """
    holders: dict[str, list[ContestItem]] = {}
    for item in items:
        cid = (item.entry.contestant_id or "").strip()
        if item.entry.listed and is_mangled_id(cid):
            holders.setdefault(cid.casefold(), []).append(item)
    for members in holders.values():
        for item in members:
            others = [m.entry.entry_id or m.entry.origin for m in members if m is not item]
            shared = f"; {len(members)} entries carry it ({', '.join(others)} too)" if others else ""
            yield item.entry.key, (
                f"{item.entry.origin}: contestant ID {item.entry.contestant_id} is in scientific notation: Excel "
                f"dropped its last digits, so it cannot tell students apart{shared}. Format the column as Text "
                "and export the sheet again"
            )
