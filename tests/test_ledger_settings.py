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
    assert result.exit_code == 1
    assert "contest.toml" in result.output and "Traceback" not in result.output
