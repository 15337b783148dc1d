"""The contest's stage graph: what each stage reads from the ledger, whether what it made is still current, and
which command makes it current.

Every stage (validate, decisions, anonymise, jury sheets, score, awards, the award list, nominate, certificates by
kind, gallery, report, members) declares the ledger facts it reads. When it runs it records a snapshot of them
(one short digest per key and field, table `stage_runs`); `check` compares that snapshot with the ledger now and
says, per stage, done / stale (what changed, by entry and field) / not-yet, and the next command. `require` is
how a stage refuses to work from an input that is out of date or not made yet (StageError, exit 1), naming what
changed and the command to run. One place answers "is it current", so a grade corrected after `score`, a title
corrected after the certificates, or a juror's late sheet is seen by every stage and by `status` alike.
"""

from __future__ import annotations

import hashlib
import json
import shlex
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from milsetctl.models import StageError

# --- facts -------------------------------------------------------------------------------------------------------
Rows = dict[str, tuple[Any, ...]]  # key -> field values


@dataclass(frozen=True)
class Fact:
    """A slice of the ledger a stage reads. `fields` names the values of each key's tuple (for what-changed
    lines); `added`/`removed` say what a new or vanished key means for the stage's outputs."""

    name: str
    fields: tuple[str, ...]
    read: Callable[[Any, dict[str, Any]], Rows]
    added: str = "new"
    removed: str = "gone"
    noun: str = ""  # how a key is named ("sheet", "juror"); empty for entries (their IDs say it)


def _eligible(ws: Any, detail: dict[str, Any]) -> Rows:
    return {r["entry_id"]: (r["category"], r["sha256"]) for r in ws.ledger.entries()
            if r["status"] == "eligible"}


def _eligible_photos(ws: Any, detail: dict[str, Any]) -> Rows:
    return {r["entry_id"]: (r["sha256"],) for r in ws.ledger.entries() if r["status"] == "eligible"}


def _scope(ws: Any, detail: dict[str, Any]) -> set[str] | None:
    scope = detail.get("entries")
    return None if scope is None else set(scope)


def _words(ws: Any, detail: dict[str, Any]) -> Rows:
    """What outputs print of an entry: the names, school, title... of the entries the stage's outputs name."""
    scope = _scope(ws, detail)
    return {r["entry_id"]: (r["name"], r["school"], r["title"], r["description"], r["contestant_id"], r["country"])
            for r in ws.ledger.entries(present_only=False) if scope is None or r["entry_id"] in scope}


def _manifest_row(ws: Any, detail: dict[str, Any]) -> Rows:
    """The rest of an entry's manifest row, which a nomination package carries (grade, province, e-mail...)."""
    scope = _scope(ws, detail)
    return {r["entry_id"]: (r["grade"], r["province"], r["email"], r["submitted_at"], r["sha256"])
            for r in ws.ledger.entries(present_only=False) if scope is None or r["entry_id"] in scope}


def _blind_words(ws: Any, detail: dict[str, Any]) -> Rows:
    """What the jurors see of an entry that could unblind them (title, description), for the packaged entries. (Its
    category is shown too, but a corrected category changes what the ranking cuts, not what a juror saw.)"""
    packaged = {r["entry_id"] for r in ws.ledger.anon_rows()}
    return {r["entry_id"]: (r["title"], r["description"]) for r in ws.ledger.entries() if r["entry_id"] in packaged}


def _package(ws: Any, detail: dict[str, Any]) -> Rows:
    return {r["anon_id"]: (r["entry_id"], r["sha256"]) for r in ws.ledger.anon_rows()}


def _jurors(ws: Any, detail: dict[str, Any]) -> Rows:
    return {r["juror_id"]: (r["name"], r["affiliation"], r["country"], r["school"], r["active"])
            for r in ws.ledger.jurors()}


def _sheets(ws: Any, detail: dict[str, Any]) -> Rows:
    """The score sheets in the folders `score` read (a late sheet, or one re-sent, makes the ranking stale)."""
    out: Rows = {}
    for folder in detail.get("sheets") or ():
        path = Path(folder)
        files = sorted(p for p in path.iterdir() if p.is_file() and not p.name.startswith((".", "~$"))) \
            if path.is_dir() else ([path] if path.is_file() else [])
        for p in files:
            try:
                stat = p.stat()
            except OSError:
                continue
            out[p.name] = (f"{stat.st_size}:{stat.st_mtime_ns}",)
    return out


def _ranking(ws: Any, detail: dict[str, Any]) -> Rows:
    return {r["entry_id"]: (r["category"], r["rank"], None if r["score"] is None else round(float(r["score"]), 6))
            for r in ws.ledger.ranking()}


def _juror_scores(ws: Any, detail: dict[str, Any]) -> Rows:
    """Each entry's stored scores, juror by juror (what the award list shows in its juror columns)."""
    by_entry: dict[str, list[tuple[str, str]]] = {}
    for juror, anon_id, scores in ws.ledger.db.execute("SELECT juror, anon_id, scores FROM scores"):
        by_entry.setdefault(anon_id, []).append((juror, scores))
    return {a: (sorted(rows),) for a, rows in by_entry.items()}


def _awards(ws: Any, detail: dict[str, Any]) -> Rows:
    return {r["entry_id"]: (r["award"], r["category"], r["rank"]) for r in ws.ledger.awards() if r["award"]}


def _members(ws: Any, detail: dict[str, Any]) -> Rows:
    return {r["member_id"]: (r["organisation"], r["country"], r["contact"], r["fee_paid_until"])
            for r in ws.ledger.members()}


def _settings(*names: str) -> Callable[[Any, dict[str, Any]], Rows]:
    """Settings as `section` or `section.key` (only what the stage's result depends on: remembering a manifest
    rewrites [contest] and changes no ranking)."""
    def read(ws: Any, detail: dict[str, Any]) -> Rows:
        raw = ws.settings.raw
        out: Rows = {}
        for name in names:
            section, _, key = name.partition(".")
            value = (raw.get(section) or {}).get(key) if key else raw.get(section) or {}
            out[name] = (json.dumps(value, sort_keys=True, default=str),)
        return out
    return read


FACTS: dict[str, Fact] = {f.name: f for f in (
    Fact("eligible", ("category", "photo"), _eligible, "is now eligible", "is no longer eligible"),
    Fact("eligible-photos", ("photo",), _eligible_photos, "is now eligible", "is no longer eligible"),
    Fact("words", ("name", "school", "title", "description", "contestant ID", "country"), _words, "is new",
         "is gone from the submissions"),
    Fact("manifest-row", ("grade", "province", "e-mail", "submitted at", "photo"), _manifest_row, "is new",
         "is gone from the submissions"),
    Fact("blind-words", ("title", "description"), _blind_words, "is new in the package",
         "left the package"),
    Fact("package", ("entry", "photo"), _package, "is a new anonymous ID", "was withdrawn", "anonymous ID"),
    Fact("jurors", ("name", "affiliation", "country", "school", "active"), _jurors, "joined", "left", "juror"),
    Fact("sheets", ("file",), _sheets, "is new", "is gone", "sheet"),
    Fact("ranking", ("category", "rank", "score"), _ranking, "is newly ranked", "is no longer ranked"),
    Fact("awards", ("award", "category", "rank"), _awards, "now has an award", "no longer has an award"),
    Fact("juror-scores", ("jurors' scores",), _juror_scores, "has new scores", "lost its scores", "anonymous ID"),
    Fact("members", ("organisation", "country", "contact", "fees paid until"), _members, "joined", "left",
         "member"),
    Fact("jury-settings", ("settings",), _settings("jury.criteria", "jury.weights", "jury.method", "jury.score_min",
                                                   "jury.score_max", "contest.stage"), "set", "unset", "setting"),
    Fact("award-settings", ("settings",), _settings("awards", "contest.stage"), "set", "unset", "setting"),
)}


# --- stages --------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Stage:
    """One stage of the contest: the facts it reads, the stages whose current output it needs (`needs`), and the
    command that makes it (`{...}` filled from its last record's detail)."""

    name: str
    title: str
    facts: tuple[str, ...]
    command: str
    needs: tuple[str, ...] = ()  # stages that must have been made
    current: tuple[str, ...] = ()  # of those, the ones whose output must also be current (else this is stale)
    optional: bool = False  # a stage a contest may skip (shown as "not yet" without being waited on)
    made: Callable[[Any], bool] | None = None  # evidence in the ledger that it ran before stages were recorded
    relevant: Callable[[Any], bool] | None = None  # whether this contest has the stage at all (None: always)
    suggested: bool = True  # False: the chair's choice (the jury final), never `status`'s next step until made


# the ledger's meta keys of the jury final (scoring/final.py imports them from here): the final handed out, the
# combined outcome `score --final` stored, and what the last `score --final` read back
FINAL_ISSUED_KEY = "jury_final"
FINAL_RESULT_KEY = "jury_final_result"
FINAL_READ_KEY = "jury_final_read"


def _has(sql: str) -> Callable[[Any], bool]:
    return lambda ws: ws.ledger.db.execute(sql).fetchone() is not None


def _issued(kind: str) -> Callable[[Any], bool]:
    return lambda ws: bool(ws.ledger.issued_certificates(kind))


def _at(stage: str) -> Callable[[Any], bool]:
    return lambda ws: ws.settings.stage == stage


def _has_members(ws: Any) -> bool:
    return ws.ledger.db.execute("SELECT 1 FROM members LIMIT 1").fetchone() is not None


def _has_jurors(ws: Any) -> bool:
    return ws.ledger.db.execute("SELECT 1 FROM jurors LIMIT 1").fetchone() is not None


STAGES: dict[str, Stage] = {s.name: s for s in (
    Stage("validate", "the validation", (), "milsetctl validate"),
    Stage("decisions", "decisions on the entries waiting for review", (), "milsetctl decide ENTRY accept|reject "
          "--reason TEXT", ("validate",)),
    Stage("anonymise", "the blind jury package", ("eligible-photos", "blind-words"), "milsetctl anonymise",
          ("validate",), ("validate",), made=_has("SELECT 1 FROM anon_ids LIMIT 1")),
    Stage("jury-sheets", "one score sheet per juror", ("package", "blind-words", "jurors"),
          "milsetctl jury sheets --jurors {jurors_file}", ("anonymise",), ("anonymise",),
          made=_has("SELECT 1 FROM jurors LIMIT 1")),
    Stage("score", "the combined ranking", ("eligible", "package", "sheets", "jury-settings"),
          "milsetctl score {sheets}", ("anonymise",), made=_has("SELECT 1 FROM ranking LIMIT 1")),
    # the chair's final for the places that matter (scoring/final.py): drawn from the stored ranking, so a new
    # `score` run outdates it; optional (the SPEC default is the scores)
    Stage("jury-final", "the jury final", ("ranking",), "milsetctl jury final {mode}", ("score",), ("score",),
          optional=True, made=_has(f"SELECT 1 FROM meta WHERE key = '{FINAL_ISSUED_KEY}'"), suggested=False),
    Stage("awards", "the awards", ("ranking", "award-settings"), "milsetctl awards", ("score", "validate"),
          ("score", "validate"),
          made=_has("SELECT 1 FROM awards LIMIT 1")),
    Stage("award-list", "the award list export", ("awards", "ranking", "juror-scores", "words"),
          "milsetctl awards --export {export}",
          ("awards",), ("awards",), optional=True),
    Stage("nominate", "the nomination for the global round", ("awards", "words", "manifest-row"),
          "milsetctl nominate --top {top} --out {zip}", ("awards",), ("awards",), optional=True,
          relevant=_at("national")),
    Stage("certificates:participation", "participation certificates", ("eligible-photos", "words"),
          "milsetctl certificates participation", ("validate",), optional=True, made=_issued("participation")),
    Stage("certificates:qualifier", "Qualifier Award certificates", ("awards", "words"),
          "milsetctl certificates qualifier", ("awards",), ("awards",), optional=True, made=_issued("qualifier"),
          relevant=_at("national")),
    Stage("certificates:global", "global award certificates", ("awards", "words"), "milsetctl certificates global",
          ("awards",), ("awards",), optional=True, made=_issued("global"), relevant=_at("global")),
    Stage("certificates:gallery", "gallery certificates", ("awards", "words"), "milsetctl certificates gallery",
          ("awards",), ("awards",), optional=True, made=_issued("gallery"), relevant=_at("global")),
    Stage("certificates:juror", "juror certificates", ("jurors",), "milsetctl certificates juror",
          ("jury-sheets",), optional=True, made=_issued("juror"), relevant=_has_jurors),
    Stage("certificates:proof", "the certificates' proof list", ("words",),
          "milsetctl certificates {kind} --proof", ("validate",), optional=True, relevant=lambda ws: False),
    Stage("gallery", "the virtual gallery", ("awards", "words"), "milsetctl gallery", ("awards",), ("awards",),
          optional=True),
    Stage("report", "the contest report", ("eligible", "awards"), "milsetctl report", ("validate",),
          optional=True),
    # the result notices: the awards, who is eligible, the words and e-mail addresses they print (manifest-row)
    Stage("notices", "the result notices", ("awards", "eligible", "words", "manifest-row"), "milsetctl notices",
          ("awards",), ("awards",), optional=True),
    # the past-entry archive a secretariat keeps from year to year (archive.py): the photos' fingerprints, status
    # and award; out of date when a photo or an award changed after it was written. Written once the contest is
    # over: never `status`'s next step before it is made (a newcomer was sent to it with decisions still due), only
    # when it is out of date
    Stage("archive", "the past-entry archive", ("eligible-photos", "awards"), "milsetctl archive --out {archive}",
          ("validate",), optional=True, made=lambda ws: ws.ledger.last_audit("archive") is not None,
          suggested=False),
    Stage("members", "the member roster", (), "milsetctl members import {roster}", (), optional=True,
          relevant=_has_members,
          made=_has("SELECT 1 FROM members LIMIT 1")),
    Stage("certificates:member", "member certificates", ("members",), "milsetctl certificates member",
          ("members",), optional=True, made=_issued("member"), relevant=_has_members),
)}


def _digest(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, ensure_ascii=False, default=str).encode("utf-8")).hexdigest()[:6]


def _snapshot_of(ws: Any, stage: Stage, detail: dict[str, Any]) -> dict[str, dict[str, str]]:
    """{fact: {key: "d1.d2..."}}: one short digest per field, so a change can be named by field, and nothing a
    purge would have to scrub (no names or titles, only digests)."""
    out: dict[str, dict[str, str]] = {}
    for name in stage.facts:
        rows = FACTS[name].read(ws, detail)
        out[name] = {FIELDS_KEY: ",".join(FACTS[name].fields),
                     **{key: ".".join(_digest(v) for v in values) for key, values in rows.items()}}
    return out


FIELDS_KEY = "\x00fields"  # a snapshot's record of the fields it digested (never an entry ID)


def record(ws: Any, stage: str, detail: dict[str, Any] | None = None) -> None:
    """Remember that `stage` ran, with the facts it read now. detail: its arguments for the next command
    (`sheets`, `jurors_file`, `top`, `zip`, `export`, `roster`, `kind`), the entries its outputs name (`entries`:
    only their words are watched), and the files and folders it wrote (`outputs`: kept relative to the workspace
    when inside it, see `stored_path`; what earlier runs wrote elsewhere is kept too, for purge)."""
    spec = STAGES[stage]
    detail = _with_outputs(ws, stage, dict(detail or {}))
    ws.ledger.record_stage(stage, _snapshot_of(ws, spec, detail), detail)


# --- outputs: every file milsetctl writes, on record for `purge` -------------------------------------------------
@dataclass(frozen=True)
class OutputKind:
    """What a record's outputs are, as `purge --personal-data` says and treats them. `remade`: a working file a
    command makes again (the purge removes it when it holds personal data); else an official output the
    secretariat keeps (certificates handed out, a nomination sent): listed, removed only with `--outputs`."""

    what: str
    remade: bool
    # a file that holds more than this contest (the archive keeps other years' photos): outside the workspace it
    # is listed by purge, never deleted, --outputs or not
    shared: bool = False


# the writes that are no stage of their own (an export, a report beside a run): recorded under these names in the
# same table, never checked by `check` (nothing is made from them)
EXPORTS: dict[str, OutputKind] = {
    "validate-report": OutputKind("the validation report (validate --report)", True),
    "members-export": OutputKind("the member roster export with contact persons (members export)", True),
    "anonymised-export": OutputKind("the anonymised results (export --anonymised)", True),
    "refund-table": OutputKind("the refund table with contestants' names (fees refund --batch)", False),
    "certificate-batch": OutputKind("certificates printed for a selection (certificates --only)", False),
    "jury-reminders": OutputKind("reminders to late jurors, with their addresses (jury remind)", True),
}
OUTPUT_KINDS: dict[str, OutputKind] = {
    "anonymise": OutputKind("the blind jury package (anonymise)", True),
    "jury-sheets": OutputKind("the jurors' score sheets (jury sheets)", False),
    "jury-final": OutputKind("the jurors' final ranking sheets (jury final)", False),
    "award-list": OutputKind("the award list export with names (awards --export)", False),
    "nominate": OutputKind("the nomination zip with names and original photos (nominate)", False),
    "certificates:proof": OutputKind("the certificates' proof list (certificates --proof)", True),
    "gallery": OutputKind("the virtual gallery (gallery)", False),
    "report": OutputKind("the contest report (report)", True),
    # letters sent to families (names, e-mail addresses, the .eml files): kept as sent, like the certificates; a
    # stage of its own (it is made from the awards), so no export
    "notices": OutputKind("the result notices to contestants, with names and e-mail addresses (notices)", False),
    "archive": OutputKind("the past-entry archive: photo fingerprints, titles and awards of every year it holds "
                          "(archive)", False, shared=True),
    **{name: OutputKind(f"{STAGES[name].title} (milsetctl {name.replace(':', ' ')})", False)
       for name in STAGES if name.startswith("certificates:") and name != "certificates:proof"},
    **EXPORTS,
}


def stored_path(ws: Any, path: str | Path) -> str:
    """A path as a record keeps it: relative to the workspace (POSIX) when inside it, so the records still hold
    when the workspace is moved or copied; absolute otherwise (resolved now: a relative `--out` means the
    current folder of the command that wrote it)."""
    full = Path(path).expanduser().resolve()
    root = Path(ws.root).resolve()
    return full.relative_to(root).as_posix() if full.is_relative_to(root) else str(full)


def output_path(ws: Any, stored: str) -> Path:
    """A recorded output as a path to open (`stored_path` undone)."""
    path = Path(stored)
    return path if path.is_absolute() else Path(ws.root) / path


def _with_outputs(ws: Any, name: str, detail: dict[str, Any]) -> dict[str, Any]:
    """`detail` with its `outputs` as `stored_path` keeps them, and `earlier_outputs`: what the previous runs
    recorded elsewhere and is still there (an award list exported to another file last time: purge must find
    that one too)."""
    outputs = list(dict.fromkeys(stored_path(ws, p) for p in detail.get("outputs") or ()))
    if "outputs" in detail:
        detail["outputs"] = outputs
    previous = ws.ledger.stage_runs().get(name)
    before: dict[str, Any] = {}
    if previous is not None:
        try:
            before = json.loads(previous["detail"] or "{}")
        except ValueError:
            before = {}
    earlier = [str(p) for p in [*(before.get("outputs") or ()), *(before.get("earlier_outputs") or ())]
               if str(p) not in outputs and output_path(ws, str(p)).exists()]
    if earlier:
        detail["earlier_outputs"] = list(dict.fromkeys(earlier))
    else:
        detail.pop("earlier_outputs", None)
    return detail


def record_outputs(ws: Any, name: str, paths: Iterable[str | Path]) -> None:
    """Remember files written by an export that is no stage of its own (`EXPORTS`: validate --report, members
    export, export --anonymised, fees refund --batch), so that purge knows them as milsetctl's."""
    if name not in EXPORTS:
        raise KeyError(f"{name!r} is not an export (stages.EXPORTS); a stage's run is recorded with record()")
    ws.ledger.record_stage(name, {}, _with_outputs(ws, name, {"outputs": [str(p) for p in paths]}))


@dataclass(frozen=True)
class RecordedOutput:
    """One file or folder a record names: where it is now, which record, and what it is."""

    path: Path
    stored: str  # as the record keeps it
    source: str  # the stage or export that wrote it
    kind: OutputKind


def recorded_outputs(ws: Any) -> list[RecordedOutput]:
    """Every output on record (this run's and earlier runs'), whether or not it is still there, newest record
    first; a path named by two records is listed once (by the newer)."""
    out: dict[str, RecordedOutput] = {}
    rows = sorted(ws.ledger.stage_runs().values(), key=lambda r: str(r["at"]), reverse=True)
    for row in rows:
        kind = OUTPUT_KINDS.get(row["stage"])
        if kind is None:
            continue
        try:
            detail = json.loads(row["detail"] or "{}")
        except ValueError:
            continue
        for stored in [*(detail.get("outputs") or ()), *(detail.get("earlier_outputs") or ())]:
            if isinstance(stored, str) and stored and stored not in out:
                out[stored] = RecordedOutput(output_path(ws, stored), stored, str(row["stage"]), kind)
    return list(out.values())


# --- checks --------------------------------------------------------------------------------------------------------
@dataclass
class StageState:
    """One stage's standing: `state` done | stale | not-yet, `why` (lines), `next` (the command, or None)."""

    stage: str
    title: str
    state: str
    why: list[str] = field(default_factory=list)
    next: str | None = None
    at: str | None = None  # when it last ran (ISO, UTC)
    outputs: list[str] = field(default_factory=list)
    relevant: bool = True  # this contest has the stage (global certificates at the national stage: no)
    # how far a stage made of several steps has come, whatever its state (the jury final: sheets written, how many
    # read back, combined, used by the awards), as lines and as data for scripts
    progress: list[str] = field(default_factory=list)
    summary: dict[str, Any] | None = None

    def as_json(self) -> dict[str, Any]:
        return {"stage": self.stage, "state": self.state, "why": "; ".join(self.why) or None, "next": self.next,
                "title": self.title, "at": self.at, "relevant": self.relevant,
                "progress": "; ".join(self.progress) or None, "summary": self.summary, "outputs": self.outputs}


def _command(stage: Stage, detail: dict[str, Any]) -> str:
    values = {"jurors_file": "JURORS.xlsx", "sheets": "SHEETS...", "top": "N", "zip": "FILE.zip",
              "export": "FILE.xlsx", "roster": "ROSTER.xlsx", "kind": "KIND", "mode": "--cut|--places N",
              "archive": "FILE.sqlite"}
    for key in values:
        given = detail.get(key)
        if given:
            values[key] = " ".join(shlex.quote(_shown_path(g)) for g in given) if isinstance(given, list) else \
                shlex.quote(_shown_path(given))
    return stage.command.format(**values)


def _shown_path(value: Any) -> str:
    """A recorded path as short as it can be said from here (relative when under the current folder)."""
    import os

    text = str(value)
    if not os.path.isabs(text):
        return text
    try:
        rel = os.path.relpath(text)
    except ValueError:  # another drive (Windows)
        return text
    return rel if not rel.startswith("..") else text


def _changes(fact: Fact, before: dict[str, str], now: dict[str, str], current: Rows, limit: int = 4) -> list[str]:
    lines: list[str] = []
    label = f"{fact.noun} " if fact.noun else ""
    added = sorted(now.keys() - before.keys())
    removed = sorted(before.keys() - now.keys())
    changed = sorted(k for k in now.keys() & before.keys() if now[k] != before[k])
    for key in changed:
        old, new = before[key].split("."), now[key].split(".")
        names = [f for f, a, b in zip(fact.fields, old, new, strict=False) if a != b] or ["content"]
        values = current.get(key, ())
        valued, plain = [], []
        for name in names:
            index = fact.fields.index(name) if name in fact.fields else -1
            value = values[index] if 0 <= index < len(values) else None
            # a category, an award or a rank is said as it is now; a person's words only by field
            if name in ("category", "award", "rank", "active") and value is not None:
                valued.append(f"{name} now {value}")
            else:
                plain.append(name)
        parts = valued + ([f"{', '.join(plain)} changed"] if plain else [])
        lines.append(f"{label}{key}: {', '.join(parts)}")
    lines += [f"{label}{k} {fact.added}" for k in added]
    lines += [f"{label}{k} {fact.removed}" for k in removed]
    if len(lines) > limit:
        return lines[:limit] + [f"and {len(lines) - limit} more"]
    return lines


def _closure(names: Iterable[str]) -> set[str]:
    """The stages named and every stage they need, however far back."""
    out: set[str] = set()
    todo = list(names)
    while todo:
        name = todo.pop()
        if name not in out:
            out.add(name)
            todo.extend(STAGES[name].needs)
    return out


def check(ws: Any, only: Iterable[str] | None = None) -> list[StageState]:
    """Every stage's standing, in the contest's order (see `Stage`); reads the ledger only. `only`: just these
    stages and those they need (what `require` asks: a command does not read every stage's facts to start)."""
    wanted = None if only is None else _closure(only)
    records = ws.ledger.stage_runs()
    states: dict[str, StageState] = {}
    waiting = [r["entry_id"] for r in ws.ledger.entries() if r["status"] == "review"]
    validated = ws.ledger.last_audit("validate") is not None or \
        ws.ledger.db.execute("SELECT 1 FROM entries LIMIT 1").fetchone() is not None
    current_cache: dict[tuple[str, str], Rows] = {}

    def current(fact: str, detail: dict[str, Any]) -> Rows:
        key = (fact, json.dumps(detail.get("entries"), default=str) + json.dumps(detail.get("sheets"), default=str))
        if key not in current_cache:
            current_cache[key] = FACTS[fact].read(ws, detail)
        return current_cache[key]

    for stage in STAGES.values():
        if wanted is not None and stage.name not in wanted:
            continue
        st = StageState(stage.name, stage.title, "not-yet")
        rec = records.get(stage.name)
        st.relevant = rec is not None or stage.relevant is None or bool(stage.relevant(ws))
        detail = json.loads(rec["detail"] or "{}") if rec is not None else {}
        st.at = rec["at"] if rec is not None else None
        st.outputs = [str(o) for o in detail.get("outputs") or ()]
        if stage.name == "validate":
            st.state = "done" if validated else "not-yet"
            st.next = None if validated else "milsetctl validate SOURCE"
            pending = ws.ledger.pending_checks() if validated else {}
            if pending:  # the second pass (the text check) stopped or has not run: every other verdict is in
                checked, total = ws.ledger.second_pass_progress()
                waiting_ids = sorted({e for ids in pending.values() for e in ids})
                shown = ", ".join(waiting_ids[:6]) + (f" and {len(waiting_ids) - 6} more" if len(waiting_ids) > 6
                                                      else "")
                st.state, st.next = "stale", "milsetctl validate"
                st.why = [f"the second pass ({', '.join(pending)}) has checked {checked} of {total} photos; not yet: "
                          f"{shown}"]
            states[stage.name] = st
            continue
        if stage.name == "decisions":
            if not validated:
                st.why, st.next = ["validate first"], states["validate"].next
            elif waiting:
                shown = ", ".join(waiting[:8]) + (f" and {len(waiting) - 8} more" if len(waiting) > 8 else "")
                st.why = [f"{len(waiting)} entr{'y waits' if len(waiting) == 1 else 'ies wait'} for a decision: "
                          f"{shown}"]
                st.next = f"milsetctl decide {waiting[0]} accept|reject --reason TEXT"
            else:
                st.state = "done"
            states[stage.name] = st
            continue
        blocked = [n for n in stage.needs if states[n].state == "not-yet"]
        if rec is None:
            if stage.made is not None and stage.made(ws):  # made before this version recorded stages
                st.state = "done"
                st.why = ["made before its inputs were recorded: run it again to have them watched"]
            elif blocked:
                first = states[blocked[0]]
                st.why = [f"needs {first.title} ({blocked[0]}) first"]
                st.next = first.next
            else:
                st.why = ["not made yet"]
                st.next = _command(stage, detail)
            states[stage.name] = st
            continue
        snapshot = json.loads(rec["snapshot"] or "{}")
        changes: list[str] = []
        for name in stage.facts:
            before = dict(snapshot.get(name, {}))
            if before.pop(FIELDS_KEY, ",".join(FACTS[name].fields)) != ",".join(FACTS[name].fields):
                continue  # recorded by a version that watched other fields: nothing to compare with
            now_rows = current(name, detail)
            now = {k: ".".join(_digest(v) for v in values) for k, values in now_rows.items()}
            changes += _changes(FACTS[name], before, now, now_rows)
        stale_needs = [n for n in stage.current if states[n].state == "stale"]
        if changes:
            st.state = "stale"
            st.why = [f"changed since it ran: {'; '.join(changes)}"]
            st.next = _command(stage, detail)
        if stale_needs:
            upstream = states[stale_needs[0]]
            st.state = "stale"
            st.why.append(f"{upstream.title} ({upstream.stage}) is out of date")
            st.next = upstream.next
        if not changes and not stale_needs:
            st.state = "done"
        states[stage.name] = st
    if "jury-final" in states:
        _final_progress(ws, states["jury-final"], records)
    if "archive" in states:  # which file, since a secretariat keeps it from year to year
        archive = states["archive"]
        archive.progress = [f"written to {_shown_path(output_path(ws, o))}" for o in archive.outputs]
    return list(states.values())


def _meta_json(ws: Any, key: str) -> dict[str, Any] | None:
    text = ws.ledger.meta_value(key)
    try:
        value = json.loads(text) if text else None
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _final_progress(ws: Any, st: StageState, records: dict[str, Any]) -> None:
    """Where the jury final stands, step by step: the sheets written (for how many jurors), how many came back
    (read by the last `score --final` of this final), whether the Schulze ranking is stored, and whether `awards
    --use-final` gave the awards from it. A chair sees which step is missing, not only that the stage ran."""
    issued = _meta_json(ws, FINAL_ISSUED_KEY)
    if issued is None:
        return
    final_id = issued.get("final_id")
    jurors = len(issued.get("jurors") or ())
    read = _meta_json(ws, FINAL_READ_KEY)
    read = read if read is not None and read.get("final_id") == final_id else None
    result = _meta_json(ws, FINAL_RESULT_KEY)
    combined = result is not None and result.get("final_id") == final_id
    award_rec = records.get("awards")
    award_detail = json.loads(award_rec["detail"] or "{}") if award_rec is not None else {}
    used = combined and award_detail.get("final_id") == final_id
    returned = len(read.get("jurors") or ()) if read is not None else None
    mode = "--cut" if issued.get("mode") == "cut" else f"--places {issued.get('places')}"
    st.summary = {"final_id": final_id, "mode": issued.get("mode"), "places": issued.get("places"),
                  "jurors": jurors, "returned": returned, "combined": combined,
                  "rankings_digest": result.get("digest") if combined and result is not None else None,
                  "used_by_awards": used}
    st.progress = [f"final {final_id} ({mode}): sheets written for {jurors} juror{'s' if jurors != 1 else ''}",
                   "none read back yet (milsetctl score --final DIR)" if returned is None else
                   f"{returned} of {jurors} returned (read by score --final)"]
    if combined:
        st.progress.append("combined: the Schulze ranking is stored")
        st.progress.append("used by awards --use-final" if used else
                           "the awards follow the scores (milsetctl awards --use-final would use the final)")
    else:
        st.progress.append("not combined yet")


def state_of(ws: Any, stage: str) -> StageState:
    return next(s for s in check(ws) if s.stage == stage)


def require(ws: Any, stage: str, action: str | None = None) -> None:
    """Refuse to run `action` (default: the stage) from an input that is out of date or not made yet.

    Looks at the stages `stage` needs: each must be done (made, and current). Raises StageError (exit 1) naming
    what changed and the command that makes it current."""
    spec = STAGES[stage]
    states = {s.stage: s for s in check(ws, spec.needs)}
    doing = action or f"milsetctl {stage.replace(':', ' ').replace('-', ' ')}"
    for need in spec.needs:
        st = states[need]
        if st.state == "not-yet":
            steps = _missing_chain(states, need)
            if len(steps) > 1:
                order = ", then ".join(f"`{_command(STAGES[s.stage], {})}`" for s in steps)  # (none has a record)
                raise StageError(f"{doing} needs {st.title} ({need}), which is not made yet, nor what it is made "
                                 f"from: run {order}")
            raise StageError(f"{doing} needs {st.title} ({need}), which is not made yet: run `{st.next}` first")
        if st.state == "stale" and need in spec.current:
            raise StageError(f"{doing} would work from out-of-date input: {st.title} ({need}) is out of date "
                             f"({'; '.join(st.why)}). Run `{st.next}` first (`milsetctl status` lists all that is "
                             "out of date)")


def _missing_chain(states: dict[str, StageState], name: str) -> list[StageState]:
    """The stages not made yet that `name` waits on, `name` included, in the order to run them."""
    out: list[StageState] = []

    def visit(n: str) -> None:
        st = states[n]
        if st.state != "not-yet" or st in out:
            return
        for need in STAGES[n].needs:
            if need != "decisions":
                visit(need)
        out.append(st)

    visit(name)
    return out


def remake_lines(ws: Any, stages: Iterable[StageState] | None = None) -> list[str]:
    """The outputs that are out of date, one line each with the command that makes them current (validate's
    "make again" list, and status's)."""
    out = []
    for st in stages if stages is not None else check(ws):
        if st.state == "stale":
            out.append(f"{st.title}: {'; '.join(st.why)} — {st.next}")
    return out
