"""Rules that look at all entries together."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from milsetctl.rules import ContestItem, rule
from milsetctl.settings import Settings


@rule("one-per-contestant", "reject", "contest", uses=("entrants.one_per_contestant",))
def one_per_contestant(items: list[ContestItem], settings: Settings) -> Iterator[tuple[str, str]]:
    """A contestant has more than one entry: the latest submission is kept, the others rejected.

    The call allows one photo per contestant. Keeping the latest follows what a contestant who
    re-submits means ("use this one instead"); each dropped entry names the one that was kept.
    Rows without a submission time count as earliest; among equal times the later row wins.
    """
    if not settings.section("entrants").get("one_per_contestant", True):
        return
    groups: dict[str, list[tuple[int, ContestItem]]] = {}
    for order, item in enumerate(items):
        cid = (item.entry.contestant_id or "").strip().casefold()
        if cid and item.entry.listed:
            groups.setdefault(cid, []).append((order, item))
    floor = datetime.min.replace(tzinfo=settings.tz)
    for members in groups.values():
        if len(members) < 2:
            continue
        kept_order, kept = max(members, key=lambda m: (m[1].entry.submitted_at or floor, m[0]))
        when = kept.entry.submitted_at.isoformat(sep=" ", timespec="minutes") if kept.entry.submitted_at else "?"
        for order, item in members:
            if order != kept_order:
                yield item.entry.key, (
                    f"contestant {item.entry.contestant_id} has {len(members)} entries; kept "
                    f"{kept.entry.entry_id} ({kept.entry.file}, submitted {when})"
                )
