"""The rule registry: every check the contest makes, each a small unit with a stable ID.

A rule is a plain function registered with `@rule(...)`. Its docstring says why the rule exists
(`milsetctl rules` prints it). Three scopes, by what the rule needs to see:

- ``photo``:   ``check(probe, settings)``: the file's bytes, metadata and reduced decode. Runs in a
  worker process; its findings are cached by content hash, rule version and the settings it `uses`.
- ``entry``:   ``check(entry, photo, settings)``: one manifest row and what is known of its photo.
- ``contest``: ``check(items, settings)``: all entries at once (one-per-contestant, duplicate-image);
  yields ``(entry_key, emit)`` pairs.

- ``ingest``:  found while reading the manifest or a sidecar (a date no parser reads, a sidecar that is
  no JSON): milsetctl/ingest attaches them to ``Entry.ingest_findings``. The registered rule only names and
  explains the problem; its check is a stub that finds nothing.

A check yields messages (``str``), or ``(message, data)`` where data is a small JSON-able dict
(face boxes, the other entry's ID). The registry turns them into `Finding`s with the rule's
severity, which the settings may override (``[rules] camera-origin = "info"``, or ``"off"``).
Every finding, whatever made it, goes through `apply_severity` once before it counts for an entry's status.

Adding a problem found at ingest, in two lines::

    ingest_rule("mangled-id", "review", "Excel mangled the contestant ID ... (the why `milsetctl rules` prints)")
    entry.ingest_findings.append(ingest_finding("mangled-id", f"{origin}: ..."))

Register it in `milsetctl/rules/ingest.py` (imported with every rule module, so `milsetctl rules` lists it and
``[rules] mangled-id = "off"`` is accepted), or in any module under milsetctl/ingest, which the rule modules
import too. `ingest_finding` gives the finding the registered severity; the contest's ``[rules]`` setting then
changes or removes it like any other rule's.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from milsetctl.models import Entry, Finding, PhotoInfo, Severity

Emit = str | tuple[str, dict[str, Any]]


class Scope(StrEnum):
    PHOTO = "photo"
    ENTRY = "entry"
    CONTEST = "contest"
    INGEST = "ingest"


@dataclass(frozen=True)
class Rule:
    id: str
    severity: Severity
    scope: Scope
    check: Callable[..., Iterable[Any]]
    version: int = 1
    uses: tuple[str, ...] = ()  # dotted settings keys the result depends on ("photo.min_width")
    expensive: bool = False  # needs the decoded pixels and real CPU (detectors)
    # run by validate's second pass, after every other verdict is saved: a rule that costs most of validate's time
    # (the text detector) must not hold back the coordinator's first look at 20,000 entries. Its check runs on
    # several threads of one process at once (pipeline.analyse_stream): it must be thread-safe
    second_pass: bool = False

    @property
    def why(self) -> str:
        return inspect.cleandoc(self.check.__doc__ or "").strip()

    @property
    def summary(self) -> str:
        return self.why.split("\n\n", 1)[0].replace("\n", " ")

    def finding(self, emit: Emit, severity: Severity | None = None) -> Finding:
        message, data = (emit, None) if isinstance(emit, str) else emit
        return Finding(self.id, severity or self.severity, message, data)


@dataclass
class ContestItem:
    """What a contest-scope rule sees of one entry: the row and what is known of its photo."""

    entry: Entry
    photo: PhotoInfo | None
    thumbnail: Path | None = None  # the photo's cached thumbnail file (pixels for content checks), if kept


REGISTRY: dict[str, Rule] = {}

# modules that hold rules; importing them fills the registry
RULE_MODULES = (
    "milsetctl.rules.files",
    "milsetctl.rules.metadata",
    "milsetctl.rules.contest",
    "milsetctl.rules.provenance",
    "milsetctl.rules.duplicates",
    "milsetctl.rules.vision",
    "milsetctl.rules.ingest",
    "milsetctl.rules.field",
    "milsetctl.rules.archive",
)


def rule(
    rule_id: str,
    severity: str,
    scope: str,
    *,
    version: int = 1,
    uses: tuple[str, ...] = (),
    expensive: bool = False,
    second_pass: bool = False,
) -> Callable[[Callable[..., Iterable[Any]]], Callable[..., Iterable[Any]]]:
    def register(func: Callable[..., Iterable[Any]]) -> Callable[..., Iterable[Any]]:
        if rule_id in REGISTRY and REGISTRY[rule_id].check is not func:
            raise ValueError(f"rule {rule_id!r} registered twice")
        if not (func.__doc__ or "").strip():
            raise ValueError(f"rule {rule_id!r} needs a docstring saying why it exists")
        REGISTRY[rule_id] = Rule(rule_id, Severity(severity), Scope(scope), func, version, uses, expensive,
                                 second_pass)
        return func

    return register


_loaded = False


def load_rules() -> dict[str, Rule]:
    global _loaded
    if not _loaded:
        for module in RULE_MODULES:
            importlib.import_module(module)
        _loaded = True
    return REGISTRY


def all_rules() -> list[Rule]:
    return sorted(load_rules().values(), key=lambda r: (list(Scope).index(r.scope), r.id))


def rules_in_scope(scope: Scope) -> list[Rule]:
    return [r for r in all_rules() if r.scope == scope]


def ingest_rule(rule_id: str, severity: str, why: str, *, version: int = 1) -> Rule:
    """Register a problem that ingest finds (scope ``ingest``): `why` is what `milsetctl rules` prints.

    Raises ValueError when the ID is taken by another rule or `why` is empty, as `rule` does.
    """

    def check(*_: Any) -> Iterable[Any]:
        return ()  # ingest makes these findings; nothing to run at validate time

    check.__doc__ = why
    check.__name__ = check.__qualname__ = rule_id.replace("-", "_")
    existing = REGISTRY.get(rule_id)
    if existing is not None and existing.scope == Scope.INGEST and existing.why == inspect.cleandoc(why).strip():
        return existing  # the same declaration imported twice (a module reloaded)
    if existing is not None:
        raise ValueError(f"rule {rule_id!r} registered twice")
    rule(rule_id, severity, Scope.INGEST.value, version=version)(check)
    return REGISTRY[rule_id]


def ingest_finding(rule_id: str, message: str, data: dict[str, Any] | None = None) -> Finding:
    """A finding of a registered rule (ingest's own problems) with the rule's default severity.

    Raises KeyError naming the ID when no rule of that ID is registered: register it with `ingest_rule` first.
    """
    registry = load_rules()
    if rule_id not in registry:
        raise KeyError(f"no rule {rule_id!r} registered: declare it with ingest_rule() in milsetctl/rules/ingest.py")
    return registry[rule_id].finding((message, data) if data else message)


def effective_severity(rule_: Rule, settings: Any) -> Severity | None:
    """The severity the contest uses for this rule, or None when the contest switched it off."""
    value = settings.rule_severity(rule_.id, str(rule_.severity))
    if value == "off":
        return None
    return Severity(value)


def apply_severity(findings: Iterable[Finding], settings: Any) -> list[Finding]:
    """The findings as this contest counts them: ``[rules] ID = "off"`` drops every finding of that ID, and
    ``ID = "info"`` (or another severity) gives every finding of that ID that severity.

    Works for every finding whatever made it (photo, entry and contest rules, ingest, a check that crashed):
    it is keyed by the finding's rule ID, registered or not. Without a setting a finding keeps its severity.
    """
    rules = settings.section("rules")
    out: list[Finding] = []
    for f in findings:
        value = rules.get(f.rule)
        if isinstance(value, dict):  # a rule's own table ([rules.plain-language]) may hold its severity
            value = value.get("severity")
        if value is None or value == str(f.severity):
            out.append(f)
        elif value != "off":
            out.append(Finding(f.rule, Severity(value), f.message, f.data))
    return out


def setting_value(settings: Any, dotted: str) -> Any:
    node: Any = settings.raw
    for part in dotted.split("."):
        node = node.get(part) if isinstance(node, dict) else None
    return node


def cache_key(rule_: Rule, settings: Any) -> str:
    """What a cached result of this photo rule depends on besides the file's content."""
    import hashlib
    import json

    from milsetctl.probe import PROBE_VERSION

    used = {k: setting_value(settings, k) for k in rule_.uses}
    blob = json.dumps([rule_.id, rule_.version, PROBE_VERSION, used], sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:20]


def closest(name: str, known: Iterable[str], limit: int = 3) -> list[str]:
    """The known names a misspelt one may mean (`rules facce` -> face), most alike first."""
    import difflib

    return difflib.get_close_matches(name, list(known), n=limit, cutoff=0.6)
