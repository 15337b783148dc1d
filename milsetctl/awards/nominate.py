"""`nominate`: the national round's best N, packed for the global round.

The package is one zip: `entries.csv` (UTF-8 with BOM, SPEC's manifest columns plus `country`, `national_rank`,
`category`, `score`, `national_award`, `national_entry_id`, `national_decision`), `nomination.json` (contest,
country, when, how chosen) and `photos/`, the ORIGINAL files from SOURCE copied byte for byte (stored, not
recompressed: the global jury judges the same bytes the national one did, and `validate` at the global stage hashes
them again). The global stage's `validate` reads a folder of these zips (`milsetctl/ingest/nominations.py`).
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import time
import zipfile
from collections import Counter
from dataclasses import dataclass, field
from datetime import tzinfo
from pathlib import Path
from typing import Any

from milsetctl.fsutil import atomic_write
from milsetctl.ingest import inside
from milsetctl.ingest.columns import COLUMNS
from milsetctl.jury.conflicts import country_name
from milsetctl.ledger import now_iso
from milsetctl.models import StageError
from milsetctl.problem_codes import Coded, issues_json
from milsetctl.sheetcells import neutralise
from milsetctl.timefmt import contest_time
from milsetctl.workspace import Workspace

MANIFEST_COLUMNS = [*COLUMNS, "category", "score", "national_rank", "national_award", "national_entry_id",
                    "national_decision"]
_SAME = 1e-9  # scores closer than this are the same score (they are means of the same few integers)


class NominateError(StageError):
    """Nomination impossible; `code` is the CLI exit status (1: nothing to nominate from, 2: usage), `said` the
    message with its problem code (milsetctl/problem_codes.py), which is what str() gives."""

    def __init__(self, problem: str, message: str, code: int = 1) -> None:
        self.said = Coded(problem, message)
        super().__init__(self.said, code)


@dataclass
class Nominee:
    entry_id: str
    category: str | None
    score: float
    national_rank: int
    award: str | None
    country: str
    contestant_id: str | None
    name: str | None
    title: str | None
    source_file: str  # relative to SOURCE
    zip_file: str  # path inside the zip
    sha256: str
    tied: bool = False  # beyond the Nth place, included because tied with it


@dataclass
class Nomination:
    out: Path
    top: int
    nominees: list[Nominee]
    warnings: list[str] = field(default_factory=list)  # Coded

    @property
    def tied(self) -> list[Nominee]:
        return [n for n in self.nominees if n.tied]

    def as_json(self) -> dict[str, Any]:
        return {
            "zip": str(self.out), "top": self.top,
            "entries": [{"entry_id": n.entry_id, "category": n.category, "score": round(n.score, 4),
                         "national_rank": n.national_rank, "award": n.award, "country": n.country,
                         "file": n.zip_file, "sha256": n.sha256, "tied": n.tied} for n in self.nominees],
            "warnings": self.warnings,
            "issues": issues_json(self.warnings),  # the warnings with their codes
        }  # fmt: skip


def choose(rows: list[dict[str, Any]], top: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The best `top` rows by score across categories, plus the rows tied with the last of them.

    rows: dicts with entry_id, category, score, rank (rank within the category). Order: score descending, then the
    category rank (which already broke score ties by the criterion means within a category), then entry ID.
    A row beyond the Nth is tied when it has the Nth's score and the ranking did not already separate the two
    (another category, or the same shared rank). Returns (chosen, tied beyond N); both in order.
    """
    ordered = sorted(rows, key=lambda r: (-float(r["score"]), int(r["rank"] or 0), r["entry_id"]))
    chosen, rest = ordered[:top], ordered[top:]
    if not chosen or not rest:
        return chosen, []
    last = chosen[-1]
    cut = float(last["score"])
    at_cut = [r for r in chosen if abs(float(r["score"]) - cut) <= _SAME]
    tied = []
    for row in rest:
        if abs(float(row["score"]) - cut) > _SAME:
            break
        separated = any(r["category"] == row["category"] and int(r["rank"]) < int(row["rank"]) for r in at_cut)
        if not separated:
            tied.append(row)
    return chosen, tied


def safe_name(text: str) -> str:
    """A file name that is safe in a zip on every system: no separators, no control characters, no leading dot."""
    from milsetctl.fsutil import safe_file_name

    # 150 bytes: under every file system's 255 once the entry ID is put in front
    return safe_file_name(text.replace("\\", "/").rsplit("/", 1)[-1], max_bytes=150, fallback="photo")


def _own_country(ws: Workspace, entries: dict[str, dict[str, Any]], usable: list[dict[str, Any]],
                 other_countries: bool, warnings: list[str]) -> list[dict[str, Any]]:
    """The award holders from the contest's country; the others named in a warning (and kept when asked)."""
    from collections import Counter

    from milsetctl.jury.conflicts import country_key

    own = str(ws.settings.raw["contest"].get("country") or "")
    if not own:
        named = Counter(country_key(e["country"]) for e in entries.values() if e["country"])
        if not named:
            return usable
        own = named.most_common(1)[0][0]
        warnings.append(Coded("nominate-country-inferred", f"[contest] country is not set in contest.toml, so this "
                              f"national round is taken to be {country_name(own)}'s (the country most entrants "
                              "name); set it to say otherwise"))
    key = country_key(own)
    foreign = [r for r in usable if entries[r["entry_id"]]["country"]
               and country_key(entries[r["entry_id"]]["country"]) != key]
    if not foreign:
        return usable
    names = ", ".join(f"{r['entry_id']} ({entries[r['entry_id']]['name']}, "
                      f"{country_name(entries[r['entry_id']]['country'])})" for r in foreign)
    if other_countries:
        warnings.append(Coded("nominate-other-country",
                              f"from another country than {country_name(own)}, nominated as asked: {names}"))
        return usable
    warnings.append(Coded("nominate-other-country", f"from another country than {country_name(own)}, so not "
                          f"nominated for it: {names} (--other-countries nominates them too)"))
    return [r for r in usable if r not in foreign]


def _decision_text(decision: dict[str, str] | None, tz: tzinfo) -> str:
    if not decision:
        return ""
    return f"{decision['decision']}: {decision['reason']} ({decision['who']}, {contest_time(decision['at'], tz)})"


def _csv_bytes(rows: list[dict[str, Any]]) -> bytes:
    """The manifest as Excel opens it: a title typed as "=HYPERLINK(...)" gets a leading apostrophe, so it shows
    as text (SPEC "Never"); the global stage's reader takes the apostrophe off again (`ingest.nominations`)."""
    buf = io.StringIO(newline="")
    writer = csv.DictWriter(buf, fieldnames=MANIFEST_COLUMNS, lineterminator="\r\n")
    writer.writeheader()
    writer.writerows({k: neutralise(v) for k, v in row.items()} for row in rows)
    return buf.getvalue().encode("utf-8-sig")


class _Utf8Info(zipfile.ZipInfo):
    """A member whose name is flagged UTF-8 (APPNOTE 6.3.0, bit 11) in the local and central headers.

    zipfile sets the flag only for non-ASCII names (and resets flag_bits when writing), so an unzip tool may read a
    package's Chinese names with the flag and its ASCII ones without; flagging all keeps every tool on UTF-8.
    """

    def _encodeFilenameFlags(self) -> tuple[bytes, int]:  # noqa: N802 - zipfile's name
        return self.filename.encode("utf-8"), self.flag_bits | 0x800


def _zip_info(name: str, compress: int) -> zipfile.ZipInfo:
    info = _Utf8Info(name, date_time=time.localtime()[:6])
    info.compress_type = compress
    info.external_attr = 0o644 << 16
    return info


def nominate(ws: Workspace, top: int, out: Path, other_countries: bool = False) -> Nomination:
    """Write the nomination zip of the national round's best `top` entries to `out` and return what it holds:
    the award holders (Qualifier Award) with the highest scores across categories (SPEC: "the national round's
    best N (per the awards)").

    Raises NominateError: code 2 at the global stage, for top < 1 or an `out` inside SOURCE; code 1 when nothing
    is ranked or awarded yet, a photo is missing, or a photo changed since `validate` hashed it (the national jury
    judged other bytes). An entrant from another country than the contest's (`[contest] country`, else the
    country most entrants name, said in a warning) is named and left out unless `other_countries`: a national
    round nominates its own country's best (a guest entrant competes in the national round, not for its place).
    """
    from milsetctl import stages

    settings = ws.settings
    if settings.stage != "global":
        try:
            stages.require(ws, "nominate", "milsetctl nominate")
        except StageError as exc:  # nothing ranked, no awards, or an award list out of date
            problem = ("nominate-no-ranking" if not ws.ledger.ranking() else "nominate-no-awards"
                       if not any(r["award"] for r in ws.ledger.awards()) else "nominate-awards-stale")
            raise NominateError(problem, str(exc), 1) from None
    if settings.stage == "global":
        raise NominateError("nominate-global-stage",
                            "nominate packs a NATIONAL round for the global one; this workspace is at the global "
                            "stage (stage = \"global\" in contest.toml)", 2)
    if top < 1:
        raise NominateError("nominate-top", f"--top must be at least 1, not {top}", 2)
    source = Path(settings.source) if settings.source else None
    out = out.resolve()
    if source is not None and (source.resolve() == out.parent or source.resolve() in out.parents):
        raise NominateError("nominate-out-in-source",
                            f"{out}: inside the submissions folder {source}; nothing may be written there", 2)
    ranking = [dict(r) for r in ws.ledger.ranking()]
    if not ranking:
        raise NominateError("nominate-no-ranking",
                            "no ranking yet: run `milsetctl score SHEETS...` (then `milsetctl awards`) first")
    awards = {r["entry_id"]: r["award"] for r in ws.ledger.awards()}
    if not any(awards.values()):
        raise NominateError("nominate-no-awards",
                            "no awards yet: run `milsetctl awards` first (the national best are nominated from "
                            "the Qualifier Award holders)")
    entries = {r["entry_id"]: dict(r) for r in ws.ledger.entries(present_only=False)}
    warnings: list[str] = []
    usable = []
    for row in ranking:
        entry = entries.get(row["entry_id"])
        if entry is None or row["score"] is None:
            continue
        if not awards.get(row["entry_id"]):  # SPEC: the best N "per the awards": a qualifier of a category whose
            continue  # scores run lower is never passed over for an entry that did not qualify in its own
        if entry["status"] != "eligible" or not entry["present"]:
            warnings.append(Coded("nominate-not-eligible",
                                  f"{row['entry_id']} is ranked but no longer eligible ({entry['status']}); left out"))
            continue
        usable.append(row)
    usable = _own_country(ws, entries, usable, other_countries, warnings)
    chosen, tied = choose(usable, top)
    if top > len(usable):
        warnings.append(Coded("nominate-fewer-holders",
                              f"--top {top}, but only {len(usable)} Qualifier Award holders: all {len(usable)} "
                              "nominated"))
    if tied:
        cut = chosen[-1]
        names = ", ".join(f"{r['entry_id']} ({entries[r['entry_id']]['name']})" for r in [cut, *tied])
        warnings.append(Coded("nominate-tie",
                              f"tie at place {top} (score {float(cut['score']):.1f}): {names} all nominated"))
    if source is None:
        raise NominateError("nominate-no-source",
                            "the workspace names no submissions folder (contest.toml [contest] source)")
    default_country = str(settings.raw["contest"].get("country") or "")
    decisions = ws.ledger.latest_decisions()
    tied_ids = {r["entry_id"] for r in tied}
    nominees: list[Nominee] = []
    manifest: list[dict[str, Any]] = []
    photos: list[tuple[str, bytes]] = []
    for row in [*chosen, *tied]:
        entry = entries[row["entry_id"]]
        rel = entry["file"] or ""
        found = inside(source, rel)  # never a file outside SOURCE ('..', an absolute path, a link leading out)
        path = found or source / rel
        try:
            if found is None:
                raise FileNotFoundError(2, "not a file below the submissions folder")
            data = path.read_bytes()
        except OSError as exc:
            raise NominateError("nominate-photo-unreadable",
                                f"{entry['entry_id']}: cannot read the original photo {path}: "
                                f"{exc.strerror or exc}") from exc
        sha = hashlib.sha256(data).hexdigest()
        if entry["sha256"] and entry["sha256"] != sha:
            raise NominateError("nominate-photo-changed",
                                f"{entry['entry_id']}: {path} changed since it was validated (sha256 "
                                f"{entry['sha256'][:12]}... then, {sha[:12]}... now); re-run validate and the jury")
        # one name per country for the global round ("中国", "CN" -> "China"); as written when none matches
        country = country_name(entry["country"] or default_country)
        if not country:
            warnings.append(Coded("nominate-no-country",
                                  f"{entry['entry_id']}: no country (set [contest] country in contest.toml)"))
        zip_name = f"photos/{entry['entry_id']}_{safe_name(rel.rsplit('/', 1)[-1])}"
        nominee = Nominee(entry["entry_id"], row["category"], float(row["score"]), int(row["rank"]),
                          awards.get(entry["entry_id"]), country, entry["contestant_id"], entry["name"],
                          entry["title"], rel, zip_name, sha, tied=row["entry_id"] in tied_ids)
        nominees.append(nominee)
        photos.append((zip_name, data))
        manifest.append({
            **{c: entry.get(c) or "" for c in COLUMNS}, "country": country, "file": zip_name,
            "category": row["category"] or "", "score": f"{float(row['score']):.4f}",
            "national_rank": int(row["rank"]), "national_award": nominee.award or "",
            "national_entry_id": entry["entry_id"],
            # a doubt the national coordinator settled (e.g. a province with no regional round): the global one
            # sees why the entry was accepted when the same rule fires again
            "national_decision": _decision_text(decisions.get(entry["entry_id"]), settings.tz),
        })  # fmt: skip
    countries = Counter(n.country for n in nominees if n.country)
    info = {"contest": settings.name, "stage": settings.stage,
            # the round's country: the setting, else the one most nominees come from
            "country": default_country or (countries.most_common(1)[0][0] if countries else None),
            "top": top, "nominated": len(nominees), "generated_at": now_iso(),
            "rule": "best N by score across categories; ties at the Nth place included"}
    out.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(out, "wb") as fh, zipfile.ZipFile(fh, "w") as zf:
        zf.writestr(_zip_info("entries.csv", zipfile.ZIP_DEFLATED), _csv_bytes(manifest))
        zf.writestr(_zip_info("nomination.json", zipfile.ZIP_DEFLATED),
                    json.dumps(info, ensure_ascii=False, indent=1).encode("utf-8"))
        for name, data in photos:  # JPEG/PNG do not compress: stored, so the bytes are the original's
            zf.writestr(_zip_info(name, zipfile.ZIP_STORED), data)
    ws.ledger.audit("nominate", {"zip": str(out), "top": top, "entries": [n.entry_id for n in nominees]})
    stages.record(ws, "nominate", {"zip": str(Path(out).resolve()), "top": top, "outputs": [str(out)],
                                   "entries": [n.entry_id for n in nominees]})
    return Nomination(out, top, nominees, warnings)
