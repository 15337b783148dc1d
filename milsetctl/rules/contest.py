"""Rules that look at all entries together."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from milsetctl.ingest.values import infer_date_order, is_ambiguous_date, is_mangled_id, parse_datetime
from milsetctl.rules import ContestItem, rule
from milsetctl.settings import Settings


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
        when = kept.entry.submitted_at.isoformat(sep=" ", timespec="minutes") if kept.entry.submitted_at else "?"
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


@rule("date-ambiguous", "review", "contest", uses=("dates.order",))
def date_ambiguous(items: list[ContestItem], settings: Settings) -> Iterator[tuple[str, str]]:
    """A submission date could be read day-first or month-first (05/07/2022), and nothing decided which.

    The day/month order of a column is taken from `[dates] order` in contest.toml, or else from the column's
    own cells: one that can only be read one way (13/07/2022) settles the column. When neither does, the date
    is read month-first and reported with the reading used, since a wrong guess can move an entry across the
    deadline.
    """
    listed = [i for i in items if i.entry.listed and i.entry.submitted_at_raw]
    setting = str(settings.section("dates").get("order") or "auto").lower()
    order = infer_date_order([i.entry.submitted_at_raw or "" for i in listed], setting)
    if order.proven:
        return
    for item in listed:
        raw = item.entry.submitted_at_raw
        if not is_ambiguous_date(raw):
            continue
        try:
            read = parse_datetime(raw, settings.tz, order.order)
        except ValueError:
            continue  # unreadable: reported where it was read
        other = "day-first" if order.order == "mdy" else "month-first"
        yield item.entry.key, (
            f"{item.entry.origin}, submitted_at {raw!r}: read month-first as {read:%Y-%m-%d} ({order.evidence}); "
            f"{other} it would be another day. Set [dates] order in contest.toml to settle it"
        )
