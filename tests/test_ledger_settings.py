"""The ledger (schema, decisions, audit) and the settings file, driven directly."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner

from milsetctl import settings as settings_mod
from milsetctl.cli import app
from milsetctl.ledger import SCHEMA_VERSION, Ledger, LedgerError
from milsetctl.models import Entry


def test_schema_is_versioned_and_newer_ledgers_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite"
    with Ledger(path) as ledger:
        assert ledger.schema_version == SCHEMA_VERSION
    db = sqlite3.connect(path)
    db.execute("UPDATE meta SET value=? WHERE key='schema_version'", (str(SCHEMA_VERSION + 1),))
    db.commit()
    db.close()
    with pytest.raises(LedgerError, match="newer"):
        Ledger(path)


def test_entry_ids_are_stable_and_new_entries_get_the_next_number(tmp_path: Path) -> None:
    with Ledger(tmp_path / "l.sqlite") as ledger:
        first = [Entry(key="file:a.jpg", file="a.jpg"), Entry(key="file:b.jpg", file="b.jpg")]
        ledger.assign_ids(first)
        rows = [{"entry_id": e.entry_id, "key": e.key, "contestant_id": None, "name": None, "school": None,
                 "grade": None, "province": None, "country": None, "email": None, "file": e.file, "title": None,
                 "description": None, "submitted_at": None, "origin": "", "listed": 1, "extra": "{}",
                 "sha256": None, "category": None, "status": "eligible"} for e in first]
        ledger.save_results(rows, {})
        again = [Entry(key="file:c.jpg", file="c.jpg"), Entry(key="file:b.jpg", file="b.jpg")]
        ledger.assign_ids(again)
        assert [e.entry_id for e in first] == ["E0001", "E0002"]
        assert [e.entry_id for e in again] == ["E0003", "E0002"]


def test_decisions_keep_who_when_why_and_the_latest_wins(tmp_path: Path) -> None:
    with Ledger(tmp_path / "l.sqlite") as ledger:
        ledger.db.execute(
            "INSERT INTO entries (entry_id, key, first_seen, updated_at) VALUES ('E0001', 'k', 'x', 'x')"
        )
        ledger.decide("E0001", "reject", "face visible", who="coordinator")
        ledger.decide("E0001", "accept", "the face is a statue", who="chair")
        latest = ledger.latest_decisions()["E0001"]
        assert latest["decision"] == "accept" and latest["who"] == "chair"
        assert latest["reason"] == "the face is a statue" and latest["at"]
        assert len(ledger.decision_history("E0001")) == 2
        assert [r["action"] for r in ledger.audit_trail()].count("decide") == 2


def test_settings_overlay_keeps_defaults_and_reports_bad_files(tmp_path: Path) -> None:
    path = tmp_path / "contest.toml"
    path.write_text('[photo]\nmin_width = 1500\n[contest]\ndeadline = 2023-07-11\n', encoding="utf-8")
    settings = settings_mod.load(path)
    assert settings.photo["min_width"] == 1500
    assert settings.photo["max_bytes"] == 10 * 1024 * 1024  # untouched default
    assert settings.deadline_end.isoformat() == "2023-07-12T00:00:00+08:00"
    path.write_text("[photo\nmin_width = ", encoding="utf-8")
    with pytest.raises(settings_mod.SettingsError, match="contest.toml"):
        settings_mod.load(path)
    path.write_text('[contest]\ntimezone = "Mars/Olympus"\n', encoding="utf-8")
    with pytest.raises(settings_mod.SettingsError, match="Mars/Olympus"):
        settings_mod.load(path)


def test_cli_reports_a_broken_settings_file_without_traceback(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    CliRunner().invoke(app, ["init", "-w", str(ws)])
    (ws / "contest.toml").write_text("[photo\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["status", "-w", str(ws)])
    assert result.exit_code == 2  # a usage error, as validate says it
    assert "contest.toml" in result.output and "Traceback" not in result.output


# --- settings checked on load: one message naming file, section, key, value and what is allowed ----------------


@pytest.mark.parametrize(("text", "named", "allowed"), [
    ('[rules]\ncamera-origin = "warn"\n', '[rules] camera-origin = "warn"', "reject, review, info or off"),
    ('[rules]\nlate = "OFF "\n', '[rules] late = "OFF "', "reject, review, info or off"),
    ("[rules]\nlate = 0\n", "[rules] late = 0", "reject, review, info or off"),
    ('[rules]\ncamera-orgin = "off"\n', '[rules] camera-orgin = "off"', "camera-origin"),
    ('[photo]\nmin_width = "2000"\n', '[photo] min_width = "2000"', "a number"),
    ('[photo]\nmax_bytes = -1\n', "[photo] max_bytes = -1", "not be negative"),
    ('[text]\nrequire_english = "yes"\n', '[text] require_english = "yes"', "true or false"),
    ('[photo]\nformats = "JPEG"\n', '[photo] formats = "JPEG"', "a list"),
    ('[photo]\nformats = ["JPEG", 5]\n', '[photo] formats = ["JPEG", 5]', "a list [...], each a text in quotes"),
    ("[entrants]\nmiddle = [9, 7]\n", "[entrants] middle = [9, 7]", "lowest first"),
    ("[entrants]\nhigh = [10]\n", "[entrants] high = [10]", "two grades"),
    ('[contest]\nstage = "regional"\n', '[contest] stage = "regional"', "national, global"),
    ('[contest]\ndeadline = "11 July"\n', '[contest] deadline = "11 July"', "a date"),
    ('[contest]\ntimezone = "Mars/Olympus"\n', '[contest] timezone = "Mars/Olympus"', "IANA"),
    ('[jury]\nmethod = "average"\n', '[jury] method = "average"', "mean, trimmed, median, zscore"),
    ("[jury]\nweights = [1, 2]\n", "[jury] weights = [1, 2]", "one weight per criterion"),
    ('[regions]\nNorth = "Beijing"\n', '[regions] North = "Beijing"', "a list [...], each a text in quotes"),
    ('[regions]\nMiddle = ["Henan", 3]\n', '[regions] Middle = ["Henan", 3]', "list of province names"),
    ('photo = 5\n', "photo = 5", "[photo] section"),
])
def test_a_bad_setting_is_one_message_naming_the_key(tmp_path: Path, text: str, named: str, allowed: str) -> None:
    path = tmp_path / "contest.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(settings_mod.SettingsError) as caught:
        settings_mod.load(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: ")
    assert named in message
    assert allowed in message
    assert "\n" not in message


def test_good_settings_load(tmp_path: Path) -> None:
    path = tmp_path / "contest.toml"
    path.write_text('[rules]\nlate = "off"\ncamera-origin = "info"\nface = "reject"\nunreadable-date = "off"\n'
                    '[contest]\ndeadline = "2023-07-11"\nstage = "global"\n[analysis]\nduplicate_max_distance = 8.5\n'
                    '[jury]\ncriteria = ["a", "b"]\nweights = [2, 1]\n[manifest.aliases]\nfile = ["照片"]\n'
                    '[regions]\nCentral = ["Henan"]\n', encoding="utf-8")
    settings = settings_mod.load(path)
    assert settings.rule_severity("late", "reject") == "off"
    assert settings.deadline_end.isoformat() == "2023-07-12T00:00:00+08:00"
    assert settings.regions["Central"] == ["Henan"]


@pytest.mark.parametrize("command", [["validate", "{src}"], ["rules"]])
def test_cli_reports_a_bad_severity_with_exit_2_and_no_traceback(tmp_path: Path, command: list[str]) -> None:
    from conftest import make_jpeg

    src = tmp_path / "src"
    make_jpeg(src / "a.jpg", size=(64, 48))
    ws = tmp_path / "ws"
    assert CliRunner().invoke(app, ["init", "-w", str(ws)]).exit_code == 0
    with open(ws / "contest.toml", "a", encoding="utf-8") as f:
        f.write('camera-origin = "warn"\n')  # the file ends with the [rules] section
    result = CliRunner().invoke(app, [c.format(src=src) for c in command] + ["-w", str(ws)])
    assert result.exit_code == 2, result.output
    assert '[rules] camera-origin = "warn"' in result.output
    assert "reject, review, info or off" in result.output
    assert "Traceback" not in result.output
    assert isinstance(result.exception, SystemExit)  # a clean exit, not an exception escaping the command


# --- every finding goes through the contest's severities, ingest's own too -------------------------------------


def _validate_with(tmp_path: Path, rules: dict[str, str], rows: list[dict[str, str]]) -> dict[str, dict]:
    """Validate a small folder with only the rules under test switched on; returns file -> entry result."""
    from conftest import make_jpeg, write_manifest

    from milsetctl.pipeline import validate
    from milsetctl.rules import all_rules
    from milsetctl.workspace import init_workspace, open_workspace

    src = tmp_path / "src"
    for i, row in enumerate(rows):
        make_jpeg(src / row["file"], size=(64, 48), seed=i)
    write_manifest(src, rows)
    ws_root = tmp_path / "ws"
    init_workspace(ws_root, src).close()
    kept = {"late", "unreadable-date", "sidecar-invalid", "missing-field"}
    lines = [f'{r.id} = "off"' for r in all_rules() if r.id not in kept and r.id not in rules]
    lines += [f'{k} = "{v}"' for k, v in rules.items()]
    with open(ws_root / "contest.toml", "a", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    with open_workspace(ws_root) as ws:
        result = validate(ws, src, jobs=1)
    return {r.entry.file: r for r in result.entries}


ROWS = [
    {"contestant_id": "C1", "file": "on_time.jpg", "submitted_at": "2022-07-01 10:00"},
    {"contestant_id": "C2", "file": "late.jpg", "submitted_at": "2022-07-12 00:05"},
    {"contestant_id": "C3", "file": "unreadable.jpg", "submitted_at": "last Tuesday"},
]


def test_ingest_problems_have_rule_ids_of_their_own(tmp_path: Path) -> None:
    got = _validate_with(tmp_path, {}, ROWS)
    assert [f.rule for f in got["on_time.jpg"].findings] == []
    assert [(f.rule, str(f.severity)) for f in got["late.jpg"].findings] == [("late", "reject")]
    assert [(f.rule, str(f.severity)) for f in got["unreadable.jpg"].findings] == [("unreadable-date", "review")]
    assert "last Tuesday" in got["unreadable.jpg"].findings[0].message
    assert str(got["unreadable.jpg"].status) == "review"


def test_late_off_removes_every_late_finding_and_its_status(tmp_path: Path) -> None:
    got = _validate_with(tmp_path, {"late": "off"}, ROWS)
    assert all(f.rule != "late" for r in got.values() for f in r.findings)
    assert str(got["late.jpg"].status) == "eligible"
    assert str(got["unreadable.jpg"].status) == "review"  # a different problem, with its own switch


def test_ingest_findings_follow_the_contest_severity(tmp_path: Path) -> None:
    off = _validate_with(tmp_path / "off", {"unreadable-date": "off"}, ROWS)
    assert off["unreadable.jpg"].findings == [] and str(off["unreadable.jpg"].status) == "eligible"
    info = _validate_with(tmp_path / "info", {"unreadable-date": "info", "late": "review"}, ROWS)
    assert [(f.rule, str(f.severity)) for f in info["unreadable.jpg"].findings] == [("unreadable-date", "info")]
    assert str(info["unreadable.jpg"].status) == "eligible"
    assert [(f.rule, str(f.severity)) for f in info["late.jpg"].findings] == [("late", "review")]
    assert str(info["late.jpg"].status) == "review"


def test_broken_sidecar_is_its_own_rule_and_follows_the_setting(tmp_path: Path) -> None:
    from conftest import make_jpeg

    from milsetctl.pipeline import validate
    from milsetctl.workspace import init_workspace, open_workspace

    src = tmp_path / "src"
    make_jpeg(src / "a.jpg", size=(64, 48))
    (src / "a.json").write_text('{"contestant_id": "C1", "title": ', encoding="utf-8")
    for severity, status in (("reject", "rejected"), ("info", "eligible"), ("off", "eligible")):
        ws_root = tmp_path / f"ws-{severity}"
        init_workspace(ws_root, src).close()
        from milsetctl.rules import all_rules

        lines = [f'{r.id} = "off"' for r in all_rules() if r.id not in ("sidecar-invalid", "missing-field")]
        with open(ws_root / "contest.toml", "a", encoding="utf-8") as f:
            f.write("\n".join([*lines, f'sidecar-invalid = "{severity}"']) + "\n")
        with open_workspace(ws_root) as ws:
            (entry,) = validate(ws, src, jobs=1).entries
        rules = [f.rule for f in entry.findings]
        assert rules == ([] if severity == "off" else ["sidecar-invalid"]), severity  # not also missing-field
        assert str(entry.status) == status


def test_rules_lists_the_ingest_rules() -> None:
    result = CliRunner().invoke(app, ["rules"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    for rule_id in ("unreadable-date", "sidecar-invalid"):
        line = next(line for line in result.output.splitlines() if rule_id in line)
        assert "ingest" in line


def test_an_ingest_rule_registers_in_one_line_and_obeys_the_settings() -> None:
    from milsetctl.models import Severity
    from milsetctl.rules import REGISTRY, apply_severity, ingest_finding, ingest_rule
    from milsetctl.settings import Settings, defaults

    ingest_rule("test-only-problem", "review", "A problem only this test makes.")
    try:
        finding = ingest_finding("test-only-problem", "row 2: odd", {"row": 2})
        assert (finding.rule, finding.severity, finding.data) == ("test-only-problem", Severity.REVIEW, {"row": 2})
        assert REGISTRY["test-only-problem"].why == "A problem only this test makes."
        raw = defaults().raw
        assert apply_severity([finding], Settings(raw={**raw, "rules": {"test-only-problem": "off"}})) == []
        (moved,) = apply_severity([finding], Settings(raw={**raw, "rules": {"test-only-problem": "reject"}}))
        assert moved.severity == Severity.REJECT and moved.message == "row 2: odd"
        assert apply_severity([finding], defaults()) == [finding]
        with pytest.raises(KeyError, match="never-registered"):
            ingest_finding("never-registered", "x")
        with pytest.raises(ValueError, match="registered twice"):
            ingest_rule("late", "review", "Another late.")
    finally:
        REGISTRY.pop("test-only-problem", None)


def test_every_rule_id_the_code_writes_is_registered() -> None:
    """A finding made outside a rule (ingest, the pipeline) names a registered rule, so that `milsetctl rules`
    explains it and ``[rules] ID = ...`` is accepted for it."""
    import re

    import milsetctl
    from milsetctl.rules import load_rules

    written: dict[str, str] = {}
    for path in Path(milsetctl.__file__).parent.rglob("*.py"):
        for rule_id in re.findall(r'(?:Finding|ingest_finding)\(\s*"([a-z0-9-]+)"', path.read_text(encoding="utf-8")):
            written[rule_id] = path.name
    assert {"unreadable-date", "sidecar-invalid", "unreadable"} <= set(written)
    unregistered = {rule_id: name for rule_id, name in written.items() if rule_id not in load_rules()}
    assert unregistered == {}


def test_a_misspelt_setting_is_named_with_the_one_meant(tmp_path: Path) -> None:
    """A typo would silently keep the default limit: it stops with the key and the closest real one."""
    path = tmp_path / "contest.toml"
    path.write_text("[text]\ntitel_max = 30\n[manifest.aliases]\ncontestant_id = [\"reg no\"]\n", encoding="utf-8")
    with pytest.raises(settings_mod.SettingsError,
                       match=r"\[text\] titel_max = 30: no such setting.*did you mean title_max"):
        settings_mod.load(path)
    path.write_text("[text]\ntitle_max = 30\n[manifest.aliases]\ncontestant_id = [\"reg no\"]\n"
                    "[regions]\nCentral = [\"Henan\"]\n", encoding="utf-8")
    assert settings_mod.load(path).text["title_max"] == 30  # open tables and added regions stay allowed
