"""Terminal output of the members, fees and regions commands: renderers of the result objects, never computing."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from milsetctl.members.status import GOOD, LAPSED, OVERDUE
from milsetctl.money import money_text

STATE_STYLE = {GOOD: "green", OVERDUE: "yellow", LAPSED: "red"}


def _e(value: Any) -> str:
    return escape("" if value is None else str(value))


def render_import(console: Console, result: Any) -> None:
    console.print(f"Roster {_e(result.source)}: {len(result.added)} added, {len(result.changed)} changed, "
                  f"{result.unchanged} unchanged; {result.total} members in the roster", soft_wrap=True)
    for member_id, name in result.added:
        console.print(f"  [green]+[/] {member_id} {_e(name)}", soft_wrap=True)
    for member_id, name, fields in result.changed:
        what = "; ".join(f"{f}: {_e(a) or '(blank)'} → {_e(b) or '(blank)'}" for f, (a, b) in fields.items())
        console.print(f"  [yellow]~[/] {member_id} {_e(name)}: {what}", soft_wrap=True)
    if result.not_in_file:
        names = ", ".join(f"{m} {_e(n)}" for m, n in result.not_in_file[:8])
        more = " …" if len(result.not_in_file) > 8 else ""
        console.print(f"  not in this file, kept as they were: {names}{more}", soft_wrap=True)


def render_members(console: Console, rows: list[dict[str, Any]]) -> None:
    if not rows:
        console.print("No member roster yet: milsetctl members import ROSTER.csv")
        return
    table = Table(title=f"Member roster ({len(rows)})", header_style="bold")
    table.add_column("ID", no_wrap=True)
    table.add_column("organisation", overflow="fold", ratio=3)
    table.add_column("country / region", overflow="fold", ratio=2)
    table.add_column("contact", overflow="fold", ratio=3)
    table.add_column("since", no_wrap=True)
    table.add_column("paid until", no_wrap=True)
    for m in rows:
        where = "\n".join(_e(v) for v in (m["country"], m["region"]) if v)
        contact = "\n".join(_e(v) for v in (m["contact"], m["email"]) if v)
        table.add_row(m["member_id"], _e(m["organisation"]), where, contact, _e(m["member_since"]),
                      _e(m["fee_paid_until"]))
    console.print(table)


def render_status(console: Console, result: Any) -> None:
    if not result.members:
        console.print("No member roster yet: milsetctl members import ROSTER.csv")
        return
    table = Table(title=f"Membership fees on {result.on.isoformat()} (grace period {result.grace_days} days)",
                  header_style="bold")
    for col in ("ID", "organisation", "country", "fee paid until", "status"):
        table.add_column(col, overflow="fold")
    for m in result.members:
        style = STATE_STYLE[m.state]
        table.add_row(m.member_id, _e(m.organisation), _e(m.country), _e(m.fee_paid_until) or "—",
                      f"[{style}]{_e(m.words)}[/]")
    console.print(table)
    console.print(f"{result.count(GOOD)} in good standing, {result.count(OVERDUE)} overdue, "
                  f"{result.count(LAPSED)} lapsed")


def render_quote(console: Console, q: Any) -> None:
    who = f"{_e(q.organisation)} ({q.member_id})" if q.member_id else _e(q.organisation) or "anyone"
    console.print(f"[bold]{_e(q.event_name)}[/] ({_e(q.event)}, {q.event_day.isoformat()}) for {who}: "
                  f"[bold]{money_text(q.amount, q.currency)} {q.currency}[/]", soft_wrap=True)
    console.print(f"  {_e(q.reason)}", soft_wrap=True)
    console.print(f"  rates: member {money_text(q.member_rate, q.currency)}, standard "
                  f"{money_text(q.standard_rate, q.currency)} {q.currency}")


def render_refund(console: Console, r: Any) -> None:
    colour = "green" if r.refunded else "red"
    console.print(f"paid {money_text(r.paid, r.currency)} {r.currency}: refund [bold {colour}]"
                  f"{money_text(r.refund, r.currency)}[/], retained {money_text(r.retained, r.currency)}",
                  soft_wrap=True)
    console.print(f"  {_e(r.reason)}", soft_wrap=True)


def render_refund_batch(console: Console, batch: Any) -> None:
    cur = batch.currency
    table = Table(title=f"Refunds: {_e(batch.source.name)}", header_style="bold")
    table.add_column("row", justify="right")
    if batch.who is not None:  # whose withdrawal: the file's name or registration column
        table.add_column(_e(batch.headers[batch.who]), overflow="ellipsis", max_width=30)
    for col in ("paid", "refund", "retained"):
        table.add_column(col, justify="right")
    table.add_column("outcome")
    for r in batch.rows[:40]:
        who = [_e(batch.who_of(r))] if batch.who is not None else []
        if r.refund:
            outcome = "[green]refunded[/]" if r.refund.refunded else "[red]not refunded[/] (after the deadline)"
            table.add_row(str(r.row), *who, money_text(r.refund.paid, cur), money_text(r.refund.refund, cur),
                          money_text(r.refund.retained, cur), outcome)
        else:
            table.add_row(str(r.row), *who, "", "", "", "[yellow]not computed[/] (see above)")
    console.print(table)
    if len(batch.rows) > 40:
        console.print(f"  … {len(batch.rows) - 40} more rows in the table")
    console.print(f"{len(batch.rows)} withdrawals: paid {money_text(batch.total('paid'), cur)}, refunded "
                  f"{money_text(batch.total('refund'), cur)}, retained {money_text(batch.total('retained'), cur)} "
                  f"{cur}" + (f"; {len(batch.problems)} not computed" if batch.problems else ""))
    console.print(f"Table written to [bold]{_e(batch.out)}[/]", soft_wrap=True)


def render_regions(console: Console, report: Any, with_entries: bool) -> None:
    table = Table(title=escape("Regional rounds ([regions] in contest.toml)"), header_style="bold")
    table.add_column("region")
    table.add_column("provinces", overflow="fold")
    if with_entries:
        table.add_column("entries", justify="right")
    for r in report.regions:
        names = ", ".join(f"{_e(c)} {_e(z)}".strip() for _, c, z in r.provinces)
        table.add_row(_e(r.name), names, *([str(r.entries)] if with_entries else []))
    if with_entries:
        for country, n in sorted(report.other.items()):
            table.add_row(f"[dim]{_e(country)}[/]", "[dim](abroad)[/]", str(n))
        unplaced = sum(len(v) for v in report.unplaced.values())
        if unplaced:
            table.add_row("[yellow](no region)[/]", ", ".join(_e(p) for p in report.unplaced), str(unplaced))
    console.print(table)
    if report.unlisted:
        console.print("Provinces the call lists under no region (their entries are reported, not lost): "
                      + ", ".join(_e(p) for p in report.unlisted), soft_wrap=True)
    for province, ids in report.unplaced.items():
        shown = ", ".join(ids[:12]) + (" …" if len(ids) > 12 else "")
        console.print(f"  [yellow]{_e(province)}[/]: {len(ids)} entr{'y' if len(ids) == 1 else 'ies'} in no "
                      f"region ({shown})", soft_wrap=True)
    if report.aliases:
        console.print("Province spellings added in [entrants.province_aliases]: "
                      + ", ".join(f"{_e(k)} = {_e(v)}" for k, v in report.aliases.items()), soft_wrap=True)
