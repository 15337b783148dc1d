"""The contest in numbers (issue 8, `milsetctl report`): a pure model computed from the ledger, and one
self-contained HTML page of it (charts drawn by matplotlib as inline SVG, no external file or URL: it works
offline and can be mailed as one file).

`contest_report(ws)` computes; `render_contest_html(report)` / `write_contest_html(report, path)` render. The
terminal tables live in `contest_console.py`. Every text from the ledger (titles, names, provinces, juror names)
reaches the page through Jinja2 autoescaping, and reaches the SVG charts as drawn glyphs (matplotlib's SVG XML
comments escape `<` `>` `&`), so a province `<script>` shows as text.

Issue 19: the winners per category, named as `[gallery] names` allows (milsetctl/publication.py: the page may be
shared beyond the secretariat), the entries whose manifest withholds consent to publication (left out of the
gallery and verify.html: listed here by entry ID), and each juror's flags: what `score` says of a juror
(`scoring.agreement.juror_report`: harsh, lenient, against the panel) and two patterns of a juror who did not look
(one score for every photo; one mark on every criterion of nearly every photo). The page meets WCAG 2.1 AA
(tests/test_accessibility.py runs axe-core on it): every chart is an image with a title and a description of its
data, beside the table of the same numbers; the content sits in a `main` landmark.
"""

from __future__ import annotations

import io
import json
import math
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from milsetctl.fsutil import write_text_atomic
from milsetctl.publication import WITHHELD, may_publish, name_mode, published_name
from milsetctl.timefmt import contest_time, machine_time

if TYPE_CHECKING:
    from milsetctl.workspace import Workspace

TEMPLATE = "contest-report.html"
NO_REGION = "(no region)"
NO_PROVINCE = "(none)"
NO_CATEGORY = "(none)"
STATUSES = ("eligible", "review", "rejected")
AWARD_ORDER = ("global-1", "global-2", "global-3", "gallery", "qualifier")
AWARD_NAME = {"global-1": "First prize", "global-2": "Second prize", "global-3": "Third prize",
              "gallery": "Gallery", "qualifier": "Qualifier Award"}
WINNER_COLUMNS = ["group", "rank", "award", "name", "school", "from", "title", "entry_id"]
WITHHELD_COLUMNS = ["entry_id", "category", "status", "award", "left out of"]
JUROR_FLAG_COLUMNS = ["juror", "entries", "mean", "offset", "corr", "flags"]
# a juror who gave one mark to every criterion of at least this share of his photos (and of at least
# scoring.agreement.MIN_SHARED photos) is flagged as straight-lining: he scored the photo, not the criteria
STRAIGHT_SHARE = 0.9


@dataclass
class ContestReport:
    """The contest in numbers. Frames hold plain values (counts are ints, scores floats on the sheet's scale)."""

    name: str
    stage: str
    generated_at: str
    criteria: list[str]
    score_min: float
    score_max: float
    by_status: pd.DataFrame  # status, entries
    by_category: pd.DataFrame  # category, entries, eligible
    by_region: pd.DataFrame  # region, entries, eligible
    by_province: pd.DataFrame  # province, region, entries, eligible
    rejections: pd.DataFrame  # rule, severity, entries
    scores: pd.DataFrame  # long: juror, anon_id, criterion, score
    per_juror: pd.DataFrame  # juror, entries, mean, sd, min, max (all criteria pooled)
    per_criterion: pd.DataFrame  # criterion, marks, mean, sd, min, max
    agreement: dict[str, Any] = field(default_factory=dict)  # kendall_w, krippendorff_alpha, icc2_1, jurors, entries
    awards: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=["award", "entries"]))
    generated: str = ""  # generated_at as the page shows it: as every output says a time (timefmt); JSON keeps ISO
    # the awarded entries, per category (group) in rank order; names as [gallery] names allows
    winners: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=WINNER_COLUMNS))
    # entries whose manifest withholds consent to publication: off the gallery and verify.html
    withheld: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=WITHHELD_COLUMNS))
    juror_flags: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=JUROR_FLAG_COLUMNS))
    name_mode: str = "initials"

    @property
    def total(self) -> int:
        return int(self.by_status["entries"].sum()) if len(self.by_status) else 0

    @property
    def has_scores(self) -> bool:
        return not self.scores.empty

    def as_json(self) -> dict[str, Any]:
        """One JSON object: header values and every table as a list of row objects (NaN -> null)."""
        def rows(df: pd.DataFrame) -> list[dict[str, Any]]:
            return [{k: _plain(v) for k, v in r.items()} for r in df.to_dict("records")]

        return {
            "contest": self.name, "stage": self.stage, "generated_at": self.generated_at, "entries": self.total,
            "by_status": rows(self.by_status), "by_category": rows(self.by_category),
            "by_region": rows(self.by_region), "by_province": rows(self.by_province),
            "rejections": rows(self.rejections), "per_juror": rows(self.per_juror),
            "per_criterion": rows(self.per_criterion),
            "agreement": {k: _plain(v) for k, v in self.agreement.items()}, "awards": rows(self.awards),
            "names": self.name_mode, "winners": rows(self.winners), "left_out_no_consent": rows(self.withheld),
            "juror_flags": rows(self.juror_flags),
        }


def _plain(value: Any) -> Any:
    """numpy scalars -> Python, NaN -> None (JSON has no NaN)."""
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def _counts(df: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """entries and eligible entries per key, most entries first, then by name."""
    if df.empty:
        return pd.DataFrame(columns=[*keys, "entries", "eligible"])
    g = df.groupby(keys, dropna=False).agg(entries=("entry_id", "size"),
                                             eligible=("status", lambda s: int((s == "eligible").sum())))
    g = g.reset_index()
    g["_unknown"] = g[keys[0]].isin((NO_REGION, NO_PROVINCE, NO_CATEGORY))  # "(none)" last among equals
    g = g.sort_values(["entries", "_unknown", *keys], ascending=[False, True, *([True] * len(keys))])
    return g.drop(columns="_unknown").reset_index(drop=True).astype({"entries": int, "eligible": int})


def _scores_long(ws: Workspace) -> pd.DataFrame:
    """The stored scores as the long frame of the jury contract: juror, anon_id, criterion, score (float)."""
    rows = []
    for juror, anon_id, marks, *_ in ws.ledger.score_rows():
        for criterion, score in (json.loads(marks) or {}).items():
            if score is not None:
                rows.append((str(juror), str(anon_id), str(criterion), float(score)))
    return pd.DataFrame(rows, columns=["juror", "anon_id", "criterion", "score"])


def _describe(scores: pd.DataFrame, key: str, count_name: str, count_of: str) -> pd.DataFrame:
    cols = [key, count_name, "mean", "sd", "min", "max"]
    if scores.empty:
        return pd.DataFrame(columns=cols)
    g = scores.groupby(key)
    out = pd.DataFrame({
        count_name: g[count_of].nunique() if count_of != "score" else g["score"].size(),
        "mean": g["score"].mean(), "sd": g["score"].std(), "min": g["score"].min(), "max": g["score"].max(),
    }).reset_index()
    if (scores["score"] % 1 == 0).all():  # whole marks (the sheets' validation): min/max shown as marks
        out = out.astype({"min": int, "max": int})
    return out[cols]


def _in_order(df: pd.DataFrame, key: str, order: list[str]) -> pd.DataFrame:
    """Rows in the settings' criteria order, criteria the settings do not name after them."""
    rank = {k: i for i, k in enumerate(order)}
    return df.sort_values(key, key=lambda s: s.map(lambda v: (rank.get(v, len(rank)), v))).reset_index(drop=True)


def _agreement(scores: pd.DataFrame, criteria: list[str], weights: Any) -> dict[str, Any]:
    """Kendall's W, Krippendorff's alpha and ICC recomputed over the stored scores (the same functions `score`
    uses: milsetctl.scoring.agreement), so the page agrees with the ledger even after a partial re-score."""
    if scores.empty:
        return {}
    from milsetctl.scoring.aggregate import juror_entry_scores
    from milsetctl.scoring.agreement import icc, kendall_w, krippendorff_alpha

    known = scores[scores["criterion"].isin(criteria)]
    try:
        matrix = juror_entry_scores(known, criteria=criteria, weights=weights)
    except ValueError:
        return {}
    icc_value = icc(matrix)
    return {"kendall_w": kendall_w(matrix), "krippendorff_alpha": krippendorff_alpha(matrix),
            "icc2_1": icc_value.get("icc2_1") if isinstance(icc_value, dict) else None,
            "jurors": int(matrix.notna().any().sum()), "entries": int(len(matrix))}


def _award_text(award: str, rank: Any) -> str:
    """'Qualifier Award', 'First prize', 'Gallery (place 5)'."""
    text = AWARD_NAME.get(award, award)
    return f"{text} (place {int(rank)})" if award == "gallery" and _plain(rank) is not None else text


def _winners(ws: Workspace, entries: dict[str, Any], mode: str) -> pd.DataFrame:
    """The awarded entries, per category (at the global stage one overall group) in award and rank order: names
    as `mode` allows, and an entry without consent to publication named `WITHHELD`, without school or title."""
    from milsetctl.gallery.build import CATEGORY_ORDER, CATEGORY_TITLE
    from milsetctl.ingest.values import canonical_province
    from milsetctl.jury.conflicts import country_name

    aliases = dict(ws.settings.section("entrants").get("province_aliases") or {})
    rows = []
    for r in ws.ledger.awards():
        entry = entries.get(r["entry_id"])
        if not r["award"] or entry is None:
            continue
        overall = r["award"] != "qualifier"  # global places and the gallery rank overall, not per category
        group = "Global round" if overall else CATEGORY_TITLE.get(r["category"] or "", r["category"] or NO_CATEGORY)
        shown = may_publish(entry)
        province = canonical_province(entry["province"], aliases) if entry["province"] else None
        rows.append({
            "_order": (1 if overall else 0, CATEGORY_ORDER.get(r["category"] or "", 9), r["category"] or "",
                       AWARD_ORDER.index(r["award"]) if r["award"] in AWARD_ORDER else 9, r["rank"] or 0),
            "group": group, "rank": _plain(r["rank"]), "award": _award_text(r["award"], r["rank"]),
            "name": published_name(entry["name"], mode) if shown else WITHHELD,
            "school": (entry["school"] or "") if shown else "",
            "from": ", ".join(v for v in (province, country_name(entry["country"]) if entry["country"] else "")
                              if v),
            "title": (entry["title"] or "") if shown else "", "entry_id": r["entry_id"]})
    rows.sort(key=lambda row: (row["_order"], row["entry_id"]))
    return pd.DataFrame([{k: v for k, v in row.items() if k != "_order"} for row in rows], columns=WINNER_COLUMNS)


def _withheld(ws: Workspace, entries: dict[str, Any]) -> pd.DataFrame:
    """Every entry whose manifest row withholds consent to publication, with what it would have been shown in."""
    awarded = {r["entry_id"]: r for r in ws.ledger.awards() if r["award"]}
    rows = []
    for entry_id, entry in entries.items():
        if may_publish(entry):
            continue
        award = awarded.get(entry_id)
        in_gallery = award is not None and (award["award"] in ("global-1", "global-2", "global-3", "gallery")
                                            if (award["stage"] or ws.settings.stage) == "global"
                                            else award["award"] == "qualifier")
        rows.append({"entry_id": entry_id, "category": entry["category"] or NO_CATEGORY,
                     "status": entry["status"] or "review",
                     "award": _award_text(award["award"], award["rank"]) if award is not None else "",
                     "left out of": "the gallery and verify.html" if in_gallery else "verify.html"})
    return pd.DataFrame(rows, columns=WITHHELD_COLUMNS)


def _juror_flags(scores: pd.DataFrame, criteria: list[str], weights: Any) -> pd.DataFrame:
    """Each juror who scored, with what `score` flags (`scoring.agreement.juror_report`: harsh or lenient, far
    from the panel's level; against the panel, ranking the photos against the others' order) and two patterns
    of a juror who did not look: one score for every photo, and straight-lining (one mark on every criterion of
    at least STRAIGHT_SHARE of his photos). No flag below `MIN_SHARED` photos: too few to say."""
    if scores.empty:
        return pd.DataFrame(columns=JUROR_FLAG_COLUMNS)
    from milsetctl.scoring.aggregate import juror_entry_scores
    from milsetctl.scoring.agreement import MIN_SHARED, juror_report

    known = scores[scores["criterion"].isin(criteria)]
    try:
        report = juror_report(juror_entry_scores(known, criteria=criteria, weights=weights))
    except ValueError:
        return pd.DataFrame(columns=JUROR_FLAG_COLUMNS)
    per_photo = known.groupby(["juror", "anon_id"])["score"].agg(["nunique", "size"])
    per_photo = per_photo[per_photo["size"] >= 2]  # one criterion scored: nothing to line up
    rows = []
    for juror, r in report.iterrows():
        n = int(r["n"])
        flags = []
        if r["flag"] == "harsh":
            flags.append(f"harsh: {abs(r['offset']):.1f} points below the other jurors on the same photos")
        elif r["flag"] == "lenient":
            flags.append(f"lenient: {r['offset']:.1f} points above the other jurors on the same photos")
        elif r["flag"] == "against the panel":
            flags.append(f"against the panel: ranks the photos against the other jurors' order "
                         f"(Spearman {r['corr']:.2f})")
        if n >= MIN_SHARED and r["sd"] == 0:
            flags.append(f"the same score for all {n} photos")
        elif len(criteria) >= 2 and juror in per_photo.index.get_level_values(0):
            mine = per_photo.loc[juror]
            straight = int((mine["nunique"] == 1).sum())
            if len(mine) >= MIN_SHARED and straight >= STRAIGHT_SHARE * len(mine):
                flags.append(f"straight-lining: one mark for every criterion on {straight} of {len(mine)} photos")
        rows.append({"juror": str(juror), "entries": n, "mean": _plain(r["mean"]), "offset": _plain(r["offset"]),
                     "corr": _plain(r["corr"]), "flags": "; ".join(flags)})
    return pd.DataFrame(rows, columns=JUROR_FLAG_COLUMNS)


def contest_report(ws: Workspace) -> ContestReport:
    """Compute the contest in numbers from the ledger (nothing is written).

    Provinces are counted under their canonical name (`milsetctl.ingest.values.canonical_province`, with the
    contest's [entrants.province_aliases]) so 广东省 and Guangdong are one province; regions come from [regions]
    (`region_of`). Rejection reasons: the reject/review findings of the last validation, counted once per entry
    and rule (`report.tables.count_reasons`, the ranking `validate` shows). Scores: every stored score
    (`ledger.score_rows`); agreement recomputed with `scoring.agreement`. Works on a workspace with no scores.
    """
    from milsetctl.ingest.values import canonical_province, region_of
    from milsetctl.jury.conflicts import country_key, country_name
    from milsetctl.report.tables import count_reasons

    s = ws.settings
    aliases = dict(s.section("entrants").get("province_aliases") or {})
    regions = s.regions
    rows = []
    ledger_entries = {e["entry_id"]: e for e in ws.ledger.entries()}
    for e in ledger_entries.values():
        province = canonical_province(e["province"], aliases)
        region = region_of(e["province"], regions, aliases) if province else None
        if region is None and e["country"] and country_key(e["country"]) != "CN":
            region = country_name(e["country"])  # abroad at the global stage: the country, one spelling of it
        rows.append({"entry_id": e["entry_id"], "status": e["status"] or "review",
                     "category": e["category"] or NO_CATEGORY, "province": province or NO_PROVINCE,
                     "region": region or NO_REGION})
    entries = pd.DataFrame(rows, columns=["entry_id", "status", "category", "province", "region"])

    status_counts = entries["status"].value_counts()
    statuses = [*STATUSES, *sorted(set(status_counts.index) - set(STATUSES))]
    by_status = pd.DataFrame({"status": statuses, "entries": [int(status_counts.get(k, 0)) for k in statuses]})

    reasons = count_reasons(ws.ledger.current_findings().values())
    rejections = pd.DataFrame(reasons, columns=["rule", "severity", "entries"])

    jury = s.jury
    criteria = [str(c) for c in jury.get("criteria") or []]
    scores = _scores_long(ws)
    awards = pd.DataFrame(columns=["award", "entries"])
    given = pd.Series([r["award"] for r in ws.ledger.awards() if r["award"]], dtype=object)
    if len(given):
        vc = given.value_counts()
        order = [a for a in AWARD_ORDER if a in vc.index] + sorted(set(vc.index) - set(AWARD_ORDER))
        awards = pd.DataFrame({"award": order, "entries": [int(vc[a]) for a in order]})

    now = datetime.now(UTC)
    return ContestReport(
        name=s.name, stage=s.stage, generated_at=machine_time(now, s.tz) or "", generated=contest_time(now, s.tz) or "",
        criteria=criteria, score_min=float(jury.get("score_min", 1)), score_max=float(jury.get("score_max", 10)),
        by_status=by_status, by_category=_counts(entries, ["category"]), by_region=_counts(entries, ["region"]),
        by_province=_counts(entries, ["province", "region"]), rejections=rejections, scores=scores,
        per_juror=_describe(scores, "juror", "entries", "anon_id"),
        per_criterion=_in_order(_describe(scores, "criterion", "marks", "score"), "criterion", criteria),
        agreement=_agreement(scores, criteria, jury.get("weights")), awards=awards,
        winners=_winners(ws, ledger_entries, name_mode(s)), withheld=_withheld(ws, ledger_entries),
        juror_flags=_juror_flags(scores, criteria, jury.get("weights")), name_mode=name_mode(s),
    )


# --- charts ---------------------------------------------------------------------------------------------------

_SVG_HEAD = re.compile(r"^.*?(?=<svg)", re.S)
_SVG_META = re.compile(r"<metadata>.*?</metadata>\s*", re.S)
COLOR = "#2f6f9f"


def _rc() -> Any:  # rc_context's stubs want Literal keys
    """Glyphs drawn as paths (the page needs no font), DejaVu Sans first with Noto Sans CJK SC as the fallback
    for Chinese province and juror names (Debian fonts-noto-cjk), and no mathtext: a '$' in a name is a '$'."""
    return {"font.family": ["DejaVu Sans", "Noto Sans CJK SC"], "svg.fonttype": "path", "text.parse_math": False,
            "svg.hashsalt": "milsetctl", "font.size": 10, "axes.spines.top": False, "axes.spines.right": False}


_SVG_ID = re.compile(r'(\bid="|xlink:href="#|\bhref="#|url\(#)([^"()]+)')
CHART_TITLES = {
    "region": "Entries by region (top 20)", "category": "Entries by category",
    "province": "Entries by province (top 20)", "rejections": "Entries per rule",
    "jurors": "Score distribution per juror", "criteria": "Score distribution per criterion",
}


def _svg(fig: Any, key: str = "chart", title: str = "", desc: str = "") -> str:
    """The figure as an inline <svg> element at its natural size (the page's CSS shrinks it on a narrow screen,
    so every chart's lettering has the same size), without the XML prolog and metadata (which hold URLs).

    Accessible (WCAG 1.1.1): an image (role="img") named by its <title> and described by its <desc>, which says
    the numbers drawn, for a screen reader; the page's table beside it holds the same numbers. matplotlib's own
    IDs (glyphs, clip paths) are prefixed with `key`: two charts on one page never share an ID."""
    import matplotlib.pyplot as plt
    from markupsafe import escape

    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight", metadata={"Date": None})
    plt.close(fig)
    text = _SVG_META.sub("", _SVG_HEAD.sub("", buf.getvalue(), count=1))
    prefix = f"chart-{key}"
    text = _SVG_ID.sub(lambda m: f"{m[1]}{prefix}-{m[2]}", text)
    text = text.replace("<svg ", f'<svg role="img" class="chart" aria-labelledby="{prefix}-title" '
                                 f'aria-describedby="{prefix}-desc" ', 1)
    head_end = text.index(">", text.index("<svg")) + 1
    return (text[:head_end] + f'\n <title id="{prefix}-title">{escape(title)}</title>'
            f'\n <desc id="{prefix}-desc">{escape(desc)}</desc>' + text[head_end:])


def _bar_desc(labels: list[str], values: list[int], unit: str) -> str:
    """What a bar chart shows, in words: 'Bar chart, entries: South 2, North 1.'"""
    return f"Bar chart, {unit}: " + ", ".join(f"{label} {value}" for label, value in zip(labels, values,
                                                                                         strict=True)) + "."


def _box_desc(groups: dict[str, list[float]], unit: str) -> str:
    """What a box plot shows, in words: each group's median, middle half and range."""
    import numpy as np

    parts = []
    for name, values in groups.items():
        q1, median, q3 = (float(v) for v in np.percentile(values, [25, 50, 75]))
        parts.append(f"{name}: median {median:g}, middle half {q1:g} to {q3:g}, range {min(values):g} to "
                     f"{max(values):g} ({len(values)} marks)")
    return f"Box plot, {unit}. " + "; ".join(parts) + "."


SEVERITY_COLOR = {"reject": "#b5452f", "review": "#d9a12b"}


def _bar_chart(labels: list[str], values: list[int], xlabel: str, kinds: list[str] | None = None,
               key: str = "bar") -> str:
    """Horizontal bars, first label on top; `kinds` (severities) colour the bars and add a legend."""
    import matplotlib.pyplot as plt

    shown = list(reversed(labels)), list(reversed(values))
    fig, ax = plt.subplots(figsize=(4.6, max(1.2, 0.32 * len(labels) + 0.7)))
    colors = [SEVERITY_COLOR.get(k, COLOR) for k in reversed(kinds)] if kinds else COLOR
    bars = ax.barh(range(len(labels)), shown[1], color=colors)
    if kinds:
        from matplotlib.patches import Patch

        ax.legend(handles=[Patch(color=SEVERITY_COLOR.get(k, COLOR), label=k) for k in dict.fromkeys(kinds)],
                  loc="lower right", frameon=False)
    ax.set_yticks(range(len(labels)), shown[0])
    ax.bar_label(bars, padding=3)
    ax.set_xlabel(xlabel)
    ax.xaxis.get_major_locator().set_params(integer=True)  # type: ignore[call-arg]  # a MaxNLocator: it takes it
    shown_labels = [f"{label} ({kind})" for label, kind in zip(labels, kinds, strict=True)] if kinds else labels
    return _svg(fig, key, CHART_TITLES.get(key, ""), _bar_desc(shown_labels, values, xlabel))


def _box_chart(groups: dict[str, list[float]], xlabel: str, lo: float, hi: float, key: str = "box") -> str:
    import matplotlib.pyplot as plt

    names = list(groups)
    fig, ax = plt.subplots(figsize=(4.6, max(1.4, 0.42 * len(names) + 0.8)))
    ax.boxplot([groups[n] for n in names][::-1], orientation="horizontal", tick_labels=names[::-1],
               patch_artist=True, boxprops={"facecolor": "#cfe0ee", "edgecolor": COLOR},
               medianprops={"color": "#b5452f"})
    ax.set_xlim(lo - 0.5, hi + 0.5)
    ax.set_xlabel(xlabel)
    return _svg(fig, key, CHART_TITLES.get(key, ""), _box_desc(groups, xlabel))


def contest_charts(report: ContestReport, top_provinces: int = 20) -> dict[str, str]:
    """name -> inline SVG of each chart the page shows; charts with nothing to draw are left out.
    Uses matplotlib's Agg backend (no display needed), set here only."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    charts: dict[str, str] = {}
    with plt.rc_context(_rc()):
        if len(report.by_region):
            top = report.by_region.head(top_provinces)
            charts["region"] = _bar_chart(top["region"].tolist(), top["entries"].tolist(), "entries", key="region")
        if len(report.by_province):
            top = report.by_province.head(top_provinces)
            charts["province"] = _bar_chart(top["province"].tolist(), top["entries"].tolist(), "entries",
                                            key="province")
        if len(report.by_category):
            charts["category"] = _bar_chart(report.by_category["category"].tolist(),
                                            report.by_category["entries"].tolist(), "entries", key="category")
        if len(report.rejections):
            rej = report.rejections
            charts["rejections"] = _bar_chart(rej["rule"].tolist(), rej["entries"].tolist(), "entries",
                                              rej["severity"].tolist(), key="rejections")
        if report.has_scores:
            sc = report.scores
            by_juror = {str(j): g["score"].tolist() for j, g in sc.groupby("juror", sort=True)}
            charts["jurors"] = _box_chart(by_juror, "score (every criterion)", report.score_min, report.score_max,
                                          key="jurors")
            order = [c for c in report.criteria if c in set(sc["criterion"])] + sorted(
                set(sc["criterion"]) - set(report.criteria))
            by_crit = {c: sc.loc[sc["criterion"] == c, "score"].tolist() for c in order}
            charts["criteria"] = _box_chart(by_crit, "score (every juror)", report.score_min, report.score_max,
                                            key="criteria")
    return charts


# --- HTML -----------------------------------------------------------------------------------------------------

def _template() -> Any:
    from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

    from milsetctl.report.html import templates_dir

    env = Environment(loader=FileSystemLoader(str(templates_dir())), autoescape=select_autoescape(default=True),
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters["num"] = _num
    return env.get_template(TEMPLATE)


def _num(value: Any, digits: int = 2) -> str:
    value = _plain(value)
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def _table(df: pd.DataFrame) -> dict[str, Any]:
    return {"columns": list(df.columns), "rows": [[_plain(v) for v in r] for r in df.itertuples(index=False)]}


def render_contest_html(report: ContestReport) -> str:
    """The page as text: every value autoescaped, charts inline (the SVG is matplotlib's own, marked safe)."""
    from markupsafe import Markup

    charts = {k: Markup(v) for k, v in contest_charts(report).items()}
    tables = {name: _table(getattr(report, name)) for name in (
        "by_status", "by_category", "by_region", "by_province", "rejections", "per_juror", "per_criterion",
        "awards", "withheld", "juror_flags")}
    winners = [(str(group), _table(frame.drop(columns=["group", "entry_id"])))
               for group, frame in report.winners.groupby("group", sort=False)]
    return _template().render(report=report, charts=charts, tables=tables, agreement=report.agreement,
                              winners=winners, chart_titles=CHART_TITLES)


def publish_contest_report(ws: Workspace, path: Path) -> ContestReport:
    """`contest_report` written to `path` as HTML, and recorded as the report stage (status says when the entries
    or awards it shows change). Raises OSError when the page cannot be written."""
    from milsetctl import stages

    report = contest_report(ws)
    write_contest_html(report, path)
    stages.record(ws, "report", {"outputs": [str(path)]})
    return report


def write_contest_html(report: ContestReport, path: Path) -> Path:
    """Write the page to a temporary name beside `path`, then rename (a killed run leaves no half page)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    return write_text_atomic(path, render_contest_html(report))
