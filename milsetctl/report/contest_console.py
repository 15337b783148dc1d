"""Terminal tables of `milsetctl report`: the same tables as the HTML page, formatted with rich from a
ContestReport that already exists (nothing is computed here).

Provinces, juror names and rule IDs are passed to rich as Text, never as markup: a province "[red]x[/]" or
"<script>" shows as typed.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from milsetctl.report.contest import ContestReport, _num, _plain


def _cell(value: Any, digits: int = 2) -> Text:
    value = _plain(value)
    if isinstance(value, float):
        return Text(_num(value, digits))
    return Text("–" if value is None else str(value))


def _table(df: pd.DataFrame, title: str, digits: int = 2) -> Table:
    table = Table(title=title, title_justify="left", title_style="bold")
    for col in df.columns:
        numeric = pd.api.types.is_numeric_dtype(df[col])
        table.add_column(str(col), justify="right" if numeric else "left")
    for row in df.itertuples(index=False):
        table.add_row(*(_cell(v, digits) for v in row))
    return table


def render_contest(console: Console, report: ContestReport, path: str | None = None) -> None:
    """Print every table of the report; 'no scores yet' where the jury has not scored."""
    console.print(Text(f"{report.name} — the contest in numbers ({report.stage} stage): {report.total} entries",
                       style="bold"))
    console.print(_table(report.by_status, "Entries by status"))
    for df, title in ((report.by_category, "Entries by category"), (report.by_region, "Entries by region"),
                      (report.by_province, "Entries by province")):
        if len(df):
            console.print(_table(df, title))
    if len(report.rejections):
        console.print(_table(report.rejections, "Rejection and review reasons"))
    else:
        console.print(Text("Rejection and review reasons: none", style="dim"))
    if report.has_scores:
        console.print(_table(report.per_juror, "Scores per juror"))
        console.print(_table(report.per_criterion, "Scores per criterion"))
        a = report.agreement
        agreement = pd.DataFrame({"statistic": ["Kendall's W", "Krippendorff's alpha", "ICC(2,1)"],
                                  "value": [_plain(a.get(k)) for k in ("kendall_w", "krippendorff_alpha", "icc2_1")]},
                                 ).astype({"value": float})
        console.print(_table(agreement, "Agreement between jurors", digits=3))
        flagged = report.juror_flags[report.juror_flags["flags"] != ""]
        if len(flagged):
            console.print(_table(flagged, "Juror checks: flagged jurors"))
        else:
            console.print(Text("Juror checks: no juror flagged", style="dim"))
    else:
        console.print(Text("Scores: no scores yet", style="dim"))
    if len(report.awards):
        console.print(_table(report.awards, "Awards"))
        for group, frame in report.winners.groupby("group", sort=False):
            console.print(_table(frame.drop(columns=["group"]), escape(
                f"Winners: {group} (names as [gallery] names = {report.name_mode} shows them)")))
    else:
        console.print(Text("Awards: no awards yet", style="dim"))
    if len(report.withheld):
        console.print(_table(report.withheld, "Left out of the gallery and verify.html: no consent to publication"))
    if path:
        console.print(Text("Report written: ") + Text(path, style="bold"))
