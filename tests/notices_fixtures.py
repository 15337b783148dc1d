"""A contest whose jury has finished, for the result notices' and the mail tests: every kind of contestant a notice
speaks to, certificates printed, built on jury_fixtures' validated workspace.

E0001 张伟 (middle) and E0002 Maria García (high): Qualifier Award; E0003 刘䶮, E0004 Olga Ivanova (no e-mail
address): judged, no award; E0005 王芳: rejected by a rule (min-width); E0006 Ahmed Khan: rejected by the
coordinator's decision (a face); E0007 赵磊: withdrawn (gone from the manifest); E0008 陈静: still waiting for a
decision (no notice yet). Import as `from notices_fixtures import notices_contest`.
"""

from __future__ import annotations

import json
import re
from dataclasses import replace
from pathlib import Path

from jury_fixtures import PEOPLE, jury_workspace

from milsetctl.models import Finding, Severity
from milsetctl.workspace import Workspace, open_workspace

STATUSES = {"CN2022-105": "rejected", "CN2022-106": "rejected", "CN2022-108": "review"}
AWARDED = ("E0001", "E0002")
WITHDRAWN = "E0007"
NO_EMAIL = "E0004"


def people() -> list:
    out = list(PEOPLE)
    out[3] = replace(out[3], email="")  # Olga Ivanova gave no e-mail address
    return out


def notices_contest(tmp_path: Path, settings: str = "", certificates: bool = True) -> Workspace:
    """The contest above, open (close it, or use `with`); `settings`: TOML appended to contest.toml."""
    ws = jury_workspace(tmp_path, people=people(), png_every=0, statuses=STATUSES)
    rows = [dict(r) for r in ws.ledger.entries()]
    for r in rows:
        for key in ("present", "first_seen", "updated_at"):
            r.pop(key, None)
    findings = {
        "E0005": [Finding("min-width", Severity.REJECT, "displayed width 1600 px is under the minimum 2000 px")],
        "E0006": [Finding("face", Severity.REVIEW, "1 face (YuNet 0.93) at [10, 10, 200, 200]")],
        "E0008": [Finding("camera-origin", Severity.REVIEW, "no camera make/model")],
    }
    ws.ledger.save_results([r for r in rows if r["entry_id"] != WITHDRAWN], findings)  # E0007 left the manifest
    ws.ledger.decide("E0006", "reject", "a recognisable face on the poster", status="rejected")
    judged = [r for r in rows if r["status"] == "eligible" and r["entry_id"] != WITHDRAWN]
    ranking = []
    for category in ("middle", "high"):
        mine = [r for r in judged if r["category"] == category]
        for rank, r in enumerate(mine, 1):
            ranking.append({"entry_id": r["entry_id"], "anon_id": f"A{r['entry_id'][1:]}", "category": category,
                            "score": 90.0 - rank, "rank": rank})
    ws.ledger.save_ranking(ranking, "mean", 1)
    ws.ledger.save_awards([{**r, "award": "qualifier" if r["entry_id"] in AWARDED else None} for r in ranking],
                          "national")
    if settings:
        set_sections(ws.root, settings)
        ws.close()
        ws = open_workspace(ws.root)
    if certificates:
        from milsetctl.certificates import issue_certificates

        issue_certificates(ws, "participation", workers=1)
        issue_certificates(ws, "qualifier", workers=1)
    return ws


def set_sections(root: Path, settings: str) -> None:
    """Replace whole sections of contest.toml (init wrote every section with its defaults) by `settings`."""
    path = root / "contest.toml"
    names = set(re.findall(r"^\[([\w.-]+)\]", settings, re.M))
    kept, skipping = [], False
    for line in path.read_text(encoding="utf-8").splitlines():
        header = re.match(r"^\[([\w.-]+)\]", line)
        if header:
            skipping = header[1] in names
        if not skipping:
            kept.append(line)
    path.write_text("\n".join(kept) + "\n\n" + settings.strip() + "\n", encoding="utf-8")


def certificate_codes(ws: Workspace) -> dict[str, list[str]]:
    """entry -> its current certificate codes as printed (ABCD-EFGH-...)."""
    from milsetctl.certificates.codes import format_code

    out: dict[str, list[str]] = {}
    for kind in ("participation", "qualifier"):
        for row in ws.ledger.issued_certificates(kind).values():
            out.setdefault(row["entry_id"], []).append(format_code(row["code"]))
    return out


def json_of(text: str) -> dict:
    return json.loads(text)
