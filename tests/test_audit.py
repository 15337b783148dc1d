"""The audit trail (issue 11): who did what and when, with the command line, in a hash chain that `audit --verify`
checks. The tamper tests edit the ledger by hand with sqlite3, as someone covering a decision would."""

from __future__ import annotations

import json
import re
import shutil
import sqlite3
from pathlib import Path

import pytest
from jury_fixtures import jury_workspace
from typer.testing import CliRunner

from milsetctl.audit import verify_chain
from milsetctl.cli import app
from milsetctl.ledger import Ledger, current_user, set_invocation
from milsetctl.workspace import open_workspace

runner = CliRunner()


@pytest.fixture(scope="module")
def decided_once(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A workspace with eight entries and five decisions made through the CLI by a named operator."""
    ws = jury_workspace(tmp_path_factory.mktemp("audit"), png_every=0)
    root = ws.root
    ws.close()
    for entry, verdict in (("E0001", "accept"), ("E0002", "reject"), ("E0003", "accept"), ("E0004", "reject"),
                           ("E0005", "accept")):
        res = runner.invoke(app, ["--by", "Li Ming", "decide", entry, verdict, "-w", str(root),
                                  "--reason", f"checked {entry} by hand"])
        assert res.exit_code == 0, res.output
    return root


@pytest.fixture
def decided(decided_once: Path, tmp_path: Path) -> Path:
    """A copy of the decided workspace (settings and ledger) for a test to tamper with."""
    root = tmp_path / "ws"
    root.mkdir()
    for name in ("contest.toml", "ledger.sqlite", "secret.key"):  # the key seals the trail's head
        if (decided_once / name).exists():
            shutil.copy2(decided_once / name, root / name)
    return root


def verify(root: Path) -> tuple[int, dict]:
    res = runner.invoke(app, ["audit", "--verify", "--json", "-w", str(root)])
    return res.exit_code, json.loads(res.stdout)["verify"]


def rows(root: Path) -> list[tuple]:
    with sqlite3.connect(root / "ledger.sqlite") as db:
        return db.execute("SELECT id, action, detail FROM audit ORDER BY id").fetchall()


def test_records_carry_operator_command_and_contest_time(decided: Path) -> None:
    res = runner.invoke(app, ["audit", "--json", "-w", str(decided), "--kind", "decide"])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert doc["timezone"] == "Asia/Shanghai" and doc["total"] == 6  # init + five decisions
    first = doc["records"][0]
    assert [r["action"] for r in doc["records"]] == ["decide"] * 5
    assert first["who"] == "Li Ming" and first["detail"]["entry_id"] == "E0001"
    assert first["command"].startswith("milsetctl --by 'Li Ming' decide E0001 accept -w ")
    assert first["at"].endswith("+00:00") and first["at_local"].endswith("+08:00")  # stored UTC, shown in tz
    # the decision itself carries the operator too; the next (library) call is not recorded as Li Ming
    with open_workspace(decided) as ws:
        assert ws.ledger.latest_decisions()["E0001"]["who"] == "Li Ming"
        assert current_user() != "Li Ming"


def test_filters_entry_kind_limit_and_table(decided: Path) -> None:
    res = runner.invoke(app, ["audit", "--json", "-w", str(decided), "--entry", "e0002"])
    assert [r["detail"]["entry_id"] for r in json.loads(res.stdout)["records"]] == ["E0002"]
    res = runner.invoke(app, ["audit", "--json", "-w", str(decided), "--limit", "2"])
    assert [r["id"] for r in json.loads(res.stdout)["records"]] == [5, 6]
    res = runner.invoke(app, ["audit", "--json", "-w", str(decided), "--kind", "init"])
    assert [r["action"] for r in json.loads(res.stdout)["records"]] == ["init"]
    res = runner.invoke(app, ["audit", "-w", str(decided), "--entry", "E0003"], terminal_width=200)
    assert res.exit_code == 0
    assert "Asia/Shanghai" in res.stdout and "Li Ming" in res.stdout and "checked E0003 by hand" in res.stdout
    assert "E0004" not in res.stdout


def test_untouched_trail_verifies(decided: Path) -> None:
    code, doc = verify(decided)
    assert code == 0 and doc["ok"] and doc["records"] == 6 and len(doc["head"]) == 64
    res = runner.invoke(app, ["audit", "--verify", "-w", str(decided)], terminal_width=200)
    assert res.exit_code == 0 and "intact" in res.stdout and doc["head"] in res.stdout


def test_edited_detail_is_named(decided: Path) -> None:
    with sqlite3.connect(decided / "ledger.sqlite") as db:
        detail = json.loads(db.execute("SELECT detail FROM audit WHERE id=3").fetchone()[0])
        detail["decision"] = "accept"  # covering up a rejection
        db.execute("UPDATE audit SET detail=? WHERE id=3", (json.dumps(detail),))
    code, doc = verify(decided)
    assert code == 1 and doc["broken_record"] == 3 and "edited" in doc["problem"]
    res = runner.invoke(app, ["audit", "--verify", "-w", str(decided)], terminal_width=200)
    assert res.exit_code == 1 and "BROKEN" in res.stdout and "record 3" in res.stdout


def test_edited_operator_or_time_is_named(decided: Path) -> None:
    with sqlite3.connect(decided / "ledger.sqlite") as db:
        db.execute("UPDATE audit SET who='someone else' WHERE id=4")
    code, doc = verify(decided)
    assert code == 1 and doc["broken_record"] == 4 and "operator" in doc["problem"]


def test_removed_record_is_named(decided: Path) -> None:
    with sqlite3.connect(decided / "ledger.sqlite") as db:
        db.execute("DELETE FROM audit WHERE id=3")
    code, doc = verify(decided)
    assert code == 1 and doc["broken_record"] == 4 and "record 3 removed" in doc["problem"]


def test_removed_last_record_is_named(decided: Path) -> None:
    with sqlite3.connect(decided / "ledger.sqlite") as db:
        db.execute("DELETE FROM audit WHERE id=6")
    code, doc = verify(decided)
    assert code == 1 and doc["broken_record"] == 6 and "record 6 removed" in doc["problem"]


def test_swapped_records_are_named(decided: Path) -> None:
    with sqlite3.connect(decided / "ledger.sqlite") as db:
        cols = "at, who, action, detail, command, body_sha256, prev_hash, hash, scrubbed"
        a = db.execute(f"SELECT {cols} FROM audit WHERE id=3").fetchone()
        b = db.execute(f"SELECT {cols} FROM audit WHERE id=4").fetchone()
        sets = ", ".join(f"{c}=?" for c in cols.split(", "))
        db.execute(f"UPDATE audit SET {sets} WHERE id=3", b)
        db.execute(f"UPDATE audit SET {sets} WHERE id=4", a)
    before = [r[2] for r in rows(decided)]
    assert json.loads(before[2])["entry_id"] == "E0003"  # id 3 now holds the E0003 decision: really swapped
    code, doc = verify(decided)
    assert code == 1 and doc["broken_record"] == 3 and "out of order" in doc["problem"]


def test_scrubbed_flag_without_a_purge_is_named(decided: Path) -> None:
    with sqlite3.connect(decided / "ledger.sqlite") as db:
        db.execute("UPDATE audit SET scrubbed=1, detail='{}' WHERE id=2")
    code, doc = verify(decided)
    assert code == 1 and doc["broken_record"] == 2 and "no purge record" in doc["problem"]


def test_score_and_award_runs_go_through_the_chain(tmp_path: Path) -> None:
    set_invocation("Chair", "milsetctl score sheets/")
    try:
        with jury_workspace(tmp_path, png_every=0) as ws:
            ws.ledger.add_anon_id("AAAA", "E0001")
            ws.ledger.replace_scores(["J1"], [("J1", "AAAA", json.dumps({"impact": 5}), None, "J1.xlsx", 2)],
                                     "mean", ["J1.xlsx"])
            ws.ledger.save_awards([{"entry_id": "E0001", "anon_id": "AAAA", "category": "middle", "score": 5.0,
                                    "rank": 1, "award": "qualifier"}], "national")
            check = verify_chain(ws.ledger)
            records = ws.ledger.audit_rows()
    finally:
        set_invocation(None, None)
    assert check.ok and check.records == 3
    assert [r["action"] for r in records] == ["init", "score", "awards"]
    assert {r["who"] for r in records} == {"Chair"} and records[1]["command"] == "milsetctl score sheets/"


def test_legacy_ledger_is_chained_at_first_open(tmp_path: Path) -> None:
    """A ledger written before the chain (audit rows without hashes) is chained once, with a record saying so."""
    path = tmp_path / "ledger.sqlite"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        db.execute("INSERT INTO meta VALUES ('schema_version', '2')")
        db.execute("CREATE TABLE audit (id INTEGER PRIMARY KEY AUTOINCREMENT, at TEXT NOT NULL, who TEXT NOT NULL, "
                   "action TEXT NOT NULL, detail TEXT)")
        for i in range(3):
            db.execute("INSERT INTO audit (at, who, action, detail) VALUES (?, 'old', 'decide', ?)",
                       (f"2022-07-0{i + 1}T01:00:00+00:00", json.dumps({"entry_id": f"E000{i + 1}"})))
    with Ledger(path) as ledger:
        check = verify_chain(ledger)
        assert check.ok and check.records == 4 and check.chain_started is not None
        last = ledger.audit_rows()[-1]
        assert last["action"] == "audit-chain-start" and json.loads(last["detail"])["chained_records"] == 3
    with Ledger(path) as ledger:  # chained once only
        assert len(ledger.audit_rows()) == 4 and verify_chain(ledger).ok
    # an unhashed row slipped into a chained ledger is not adopted: verify names it
    with sqlite3.connect(path) as db:
        db.execute("INSERT INTO audit (at, who, action, detail) VALUES ('2022-07-09T00:00:00+00:00', 'x', 'decide', "
                   "'{}')")
    with Ledger(path) as ledger:
        check = verify_chain(ledger)
        assert not check.ok and check.broken_id == 5 and "no hash" in (check.problem or "")


@pytest.mark.skipif(shutil.which("sqlite3") is None, reason="the sqlite3 shell is not installed")
def test_edit_with_the_sqlite3_shell_is_caught(decided: Path) -> None:
    """What a coordinator covering up a decision would type: the sqlite3 shell on the ledger file."""
    import subprocess

    subprocess.run(["sqlite3", str(decided / "ledger.sqlite"),
                    "UPDATE audit SET detail=replace(detail, 'reject', 'accept') WHERE id=5;"], check=True)
    code, doc = verify(decided)
    assert code == 1 and doc["broken_record"] == 5


def test_plain_listing_and_status_warn_about_an_edited_record(decided: Path) -> None:
    res = runner.invoke(app, ["audit", "-w", str(decided)], terminal_width=200)
    assert res.exit_code == 0 and "BROKEN" not in res.stdout
    res = runner.invoke(app, ["status", "-w", str(decided)], terminal_width=200)
    assert res.exit_code == 0 and "audit trail: intact" in res.stdout
    with sqlite3.connect(decided / "ledger.sqlite") as db:
        db.execute("UPDATE audit SET detail=replace(detail, 'reject', 'accept') WHERE id=3")
    for args in (["audit"], ["audit", "--entry", "E0002"]):
        res = runner.invoke(app, [*args, "-w", str(decided)], terminal_width=200)
        assert res.exit_code == 0, res.output  # a listing still lists; --verify is the check that fails
        banner = res.stdout.splitlines()[0]
        assert "WARNING: audit trail BROKEN" in banner and "record 3 (decide) was edited" in banner
        assert "Records from 3 on (marked !)" in banner and "audit --verify" in banner
    res = runner.invoke(app, ["audit", "--json", "-w", str(decided)])
    doc = json.loads(res.stdout)
    assert res.exit_code == 0 and doc["verify"]["broken_record"] == 3 and "BROKEN at record 3" in res.stderr
    res = runner.invoke(app, ["status", "-w", str(decided)], terminal_width=200)
    assert res.exit_code == 0
    lines = res.stdout.splitlines()
    assert "audit trail is BROKEN at record 3" in lines[0] and "audit --verify" in lines[0]  # first, not buried
    assert "audit trail: BROKEN at record 3" in lines[-1]


# --- issue 17: a chain a file edit cannot rebuild ------------------------------------------------------------------
def rechain(root: Path, key: bytes | None = None) -> tuple[int, str]:
    """What someone who edited records does next: recompute every hash with the documented formula (audit.py) and
    write the head as milsetctl does; with `key` (someone holding secret.key too) the head is sealed as well."""
    from milsetctl.auditchain import GENESIS, body_digest, head_value, record_hash

    prev, rid = GENESIS, 0
    with sqlite3.connect(root / "ledger.sqlite") as db:
        for rid, at, who, action, command, detail in db.execute(
                "SELECT id, at, who, action, command, detail FROM audit ORDER BY id").fetchall():
            body = body_digest(command, detail)
            digest = record_hash(rid, at, who, action, body, prev)
            db.execute("UPDATE audit SET body_sha256=?, prev_hash=?, hash=? WHERE id=?", (body, prev, digest, rid))
            prev = digest
        value = head_value(rid, prev, key) if key is not None else f"{rid} {prev}"
        db.execute("INSERT OR REPLACE INTO meta VALUES ('audit_head', ?)", (value,))
    return rid, prev


def ledger_state(root: Path) -> tuple[bytes, int]:
    """The ledger file's bytes and what its write-ahead log holds (a reader leaves an empty one at most)."""
    wal = root / "ledger.sqlite-wal"
    return (root / "ledger.sqlite").read_bytes(), wal.stat().st_size if wal.exists() else 0


def test_issue17_edit_head_deleted_hash_blanked_is_never_rechained(decided: Path) -> None:
    """Issue 17's reproduction: edit a record, delete meta.audit_head, blank one hash. The next open (read-only or
    writing) used to re-chain everything as "pre-chain" and `audit --verify` said intact."""
    with sqlite3.connect(decided / "ledger.sqlite") as db:
        db.execute("UPDATE audit SET detail=replace(detail, 'reject', 'accept') WHERE id=3")
        db.execute("DELETE FROM meta WHERE key='audit_head'")
        db.execute("UPDATE audit SET hash=NULL WHERE id=1")
    code, doc = verify(decided)
    assert code == 1 and doc["broken_record"] == 1 and "no hash" in doc["problem"]
    res = runner.invoke(app, ["decide", "E0006", "accept", "--reason", "seen", "-w", str(decided)])
    assert res.exit_code == 0, res.output
    code, doc = verify(decided)
    assert code == 1 and doc["broken_record"] == 1
    assert "audit-chain-start" not in [r[1] for r in rows(decided)]


def test_issue17_newest_record_deleted_and_head_moved_back_is_caught(decided: Path) -> None:
    """Issue 17: deleting the newest record and copying the previous hash into the head went unnoticed; now the
    head's seal (HMAC under secret.key) no longer matches, whether the seal is dropped or the old one kept."""
    with sqlite3.connect(decided / "ledger.sqlite") as db:
        seal = db.execute("SELECT value FROM meta WHERE key='audit_head'").fetchone()[0].split()[2]
        db.execute("DELETE FROM audit WHERE id=6")
        db.execute("UPDATE meta SET value=(SELECT id || ' ' || hash FROM audit WHERE id=5) WHERE key='audit_head'")
    code, doc = verify(decided)
    assert code == 1 and "not sealed" in doc["problem"]
    with sqlite3.connect(decided / "ledger.sqlite") as db:
        db.execute("UPDATE meta SET value=value || ' ' || ? WHERE key='audit_head'", (seal,))
    code, doc = verify(decided)
    assert code == 1 and doc["broken_record"] == 6 and "not sealed by this workspace's key" in doc["problem"]


def test_newest_records_and_the_head_deleted_is_caught(decided: Path) -> None:
    with sqlite3.connect(decided / "ledger.sqlite") as db:
        db.execute("DELETE FROM audit WHERE id>=5")
        db.execute("DELETE FROM meta WHERE key='audit_head'")
    code, doc = verify(decided)
    assert code == 1 and doc["broken_record"] == 5 and "head" in doc["problem"]


def test_every_hash_recomputed_after_an_edit_is_caught_without_the_key(decided: Path) -> None:
    with sqlite3.connect(decided / "ledger.sqlite") as db:
        db.execute("UPDATE audit SET detail=replace(detail, 'reject', 'accept') WHERE id=3")
    rechain(decided)
    code, doc = verify(decided)
    assert code == 1 and "seal" in doc["problem"]


def test_a_head_kept_outside_catches_the_key_holder(decided: Path) -> None:
    """Someone holding the ledger and secret.key can rewrite and re-seal the chain: only a head written down
    before (`audit --head`, then `audit --verify --head HASH`) shows it."""
    res = runner.invoke(app, ["audit", "--head", "-w", str(decided)])
    assert res.exit_code == 0, res.output
    kept = res.stdout.strip()
    assert re.fullmatch(r"6 [0-9a-f]{64}", kept)
    res = runner.invoke(app, ["decide", "E0006", "accept", "--reason", "seen", "-w", str(decided)])
    assert res.exit_code == 0
    res = runner.invoke(app, ["audit", "--verify", "--head", kept, "-w", str(decided)])
    assert res.exit_code == 0 and "intact" in res.stdout  # later records appended after it: fine
    res = runner.invoke(app, ["audit", "--verify", "--head", kept.split()[1], "--json", "-w", str(decided)])
    assert res.exit_code == 0 and json.loads(res.stdout)["verify"]["kept_head"] == 6
    with sqlite3.connect(decided / "ledger.sqlite") as db:
        db.execute("UPDATE audit SET detail=replace(detail, 'reject', 'accept') WHERE id=3")
    rechain(decided, key=bytes.fromhex((decided / "secret.key").read_text().strip()))
    assert verify(decided)[0] == 0  # the key holder's rewrite passes the check alone ...
    res = runner.invoke(app, ["audit", "--verify", "--head", kept, "--json", "-w", str(decided)])
    doc = json.loads(res.stdout)["verify"]
    assert res.exit_code == 1 and "kept" in doc["problem"]  # ... not a head kept outside
    res = runner.invoke(app, ["audit", "--verify", "--head", "not-a-hash", "-w", str(decided)])
    assert res.exit_code == 2


def test_read_only_commands_never_write_the_ledger(decided: Path) -> None:
    """status, audit and verify on a ledger an older milsetctl left (no chain columns, no head, no stage table)
    read it as it is: not a byte written, no lock taken; a writing command upgrades it."""
    with sqlite3.connect(decided / "ledger.sqlite") as db:
        for column in ("command", "body_sha256", "prev_hash", "hash", "scrubbed"):
            db.execute(f"ALTER TABLE audit DROP COLUMN {column}")
        db.execute("DELETE FROM meta WHERE key='audit_head'")
        db.execute("DROP TABLE IF EXISTS stage_runs")
    before = ledger_state(decided)
    for args in (["status"], ["status", "--json"], ["audit"], ["audit", "--verify"], ["audit", "--json"],
                 ["verify", "AAAA-AAAA-AAAA-AAAA"], ["members", "list"]):
        res = runner.invoke(app, [*args, "-w", str(decided)])
        assert res.exit_code in (0, 1), (args, res.output)
        assert "Traceback" not in res.output
        assert ledger_state(decided) == before, args
    code, doc = verify(decided)
    assert code == 1 and "writing command" in doc["problem"]
    res = runner.invoke(app, ["decide", "E0006", "accept", "--reason", "seen", "-w", str(decided)])
    assert res.exit_code == 0, res.output
    code, doc = verify(decided)
    assert code == 0 and doc["chain_started"] and doc["records"] == 8  # 6 old + the chain's start + decide


def test_a_head_from_before_the_seal_is_sealed_once_by_a_writing_command(decided: Path) -> None:
    """A ledger an older milsetctl chained has a head without a seal: `--verify` cannot vouch for its newest
    records (exit 1, saying why); the next writing command seals it, on record. A seal removed later by hand and
    sealed again is named."""
    with sqlite3.connect(decided / "ledger.sqlite") as db:
        db.execute("UPDATE meta SET value=(SELECT id || ' ' || hash FROM audit WHERE id=6) WHERE key='audit_head'")
    before = ledger_state(decided)
    code, doc = verify(decided)
    assert code == 1 and "not sealed" in doc["problem"] and ledger_state(decided) == before
    assert runner.invoke(app, ["decide", "E0006", "accept", "--reason", "seen", "-w", str(decided)]).exit_code == 0
    code, doc = verify(decided)
    assert code == 0 and doc["records"] == 8
    assert [r[1] for r in rows(decided)][-2:] == ["audit-seal-start", "decide"]
    with sqlite3.connect(decided / "ledger.sqlite") as db:  # the seal stripped again, then a writing command
        db.execute("UPDATE meta SET value=(SELECT id || ' ' || hash FROM audit WHERE id=8) WHERE key='audit_head'")
    assert runner.invoke(app, ["decide", "E0006", "accept", "--reason", "again", "-w", str(decided)]).exit_code == 0
    code, doc = verify(decided)
    assert code == 1 and doc["broken_record"] == 9 and "sealed before" in doc["problem"]


def test_a_missing_key_is_not_replaced_over_a_sealed_trail(decided: Path) -> None:
    (decided / "secret.key").unlink()
    code, doc = verify(decided)
    assert code == 1 and "secret.key" in doc["problem"]
    res = runner.invoke(app, ["decide", "E0006", "accept", "--reason", "seen", "-w", str(decided)])
    assert res.exit_code == 1 and "secret.key" in res.stderr and "Traceback" not in res.output
    assert not (decided / "secret.key").exists()


def test_a_misspelt_kind_is_an_error_naming_the_closest(tmp_path: Path) -> None:
    """`audit --kind decde` is a typo, not an empty trail (issue 16: the same words everywhere)."""
    from typer.testing import CliRunner

    from milsetctl.cli import app
    from milsetctl.workspace import init_workspace

    init_workspace(tmp_path / "ws").close()
    runner = CliRunner()
    bad = runner.invoke(app, ["audit", "-w", str(tmp_path / "ws"), "--kind", "decde"])
    assert bad.exit_code == 2 and "did you mean decide?" in " ".join(bad.output.split())
    fine = runner.invoke(app, ["audit", "-w", str(tmp_path / "ws"), "--kind", "decide"])
    assert fine.exit_code == 0, fine.output  # a known action nothing recorded yet: an empty listing


def test_a_mistyped_kept_head_is_told_from_tampering(decided: Path) -> None:
    """A head written down with the wrong record number is found as the record its hash names; a changed digit is
    "mistyped or changed", with the real hash at that record shown whole; a prefix (the README's "41 9f2c…") is
    accepted from 12 digits on."""
    res = runner.invoke(app, ["audit", "--head", "-w", str(decided)])
    rid, digest = res.stdout.split()
    wrong = str(int(rid) + 1)
    runner.invoke(app, ["decide", "E0006", "accept", "--reason", "seen", "-w", str(decided)])  # a record 7 exists
    res = runner.invoke(app, ["audit", "--verify", "--head", f"{wrong} {digest}", "--json", "-w", str(decided)])
    doc = json.loads(res.stdout)["verify"]
    assert res.exit_code == 0 and doc["kept_head"] == int(rid)
    assert f"that hash is record {rid}'s, not {wrong}'s: a typo in the record number?" in doc["notes"][0]
    res = runner.invoke(app, ["audit", "--verify", "--head", f"{wrong} {digest}", "-w", str(decided)])
    assert res.exit_code == 0 and "a typo in the record number?" in res.stdout
    typo = digest[:20] + ("0" if digest[20] != "0" else "1") + digest[21:]
    res = runner.invoke(app, ["audit", "--verify", "--head", f"{rid} {typo}", "--json", "-w", str(decided)])
    doc = json.loads(res.stdout)["verify"]
    assert res.exit_code == 1 and "mistyped" in doc["problem"] and digest in doc["problem"]
    assert "secret.key" not in doc["problem"]
    for written in (f"{rid} {digest[:12]}…", f"{rid} {digest[:16]}", digest[:12] + "...", digest[:40].upper()):
        res = runner.invoke(app, ["audit", "--verify", "--head", written, "--json", "-w", str(decided)])
        assert res.exit_code == 0 and json.loads(res.stdout)["verify"]["kept_head"] == int(rid), written
    res = runner.invoke(app, ["audit", "--verify", "--head", f"{rid} {digest[:11]}…", "-w", str(decided)])
    assert res.exit_code == 2 and "12" in res.output


def _drop_chain(root: Path) -> None:
    """What someone without the key can do: drop the chain's columns and the head."""
    with sqlite3.connect(root / "ledger.sqlite") as db:
        for column in ("command", "body_sha256", "prev_hash", "hash", "scrubbed"):
            db.execute(f"ALTER TABLE audit DROP COLUMN {column}")
        db.execute("DELETE FROM meta WHERE key='audit_head'")


def test_a_chain_removed_by_hand_is_not_told_as_an_older_ledger(decided: Path) -> None:
    """"Not chained yet" names both causes (an older milsetctl, or the chain removed by hand) and what chaining
    vouches for; a ledger that shows it had a chain (a stage_runs table, here) is never chained again: BROKEN."""
    _drop_chain(decided)
    code, doc = verify(decided)
    assert code == 1 and "had one" in doc["problem"] and "stage_runs" in doc["problem"]
    assert "older milsetctl" not in doc["problem"]
    res = runner.invoke(app, ["init", "-w", str(decided)])
    assert res.exit_code == 0, res.output
    code, doc = verify(decided)
    assert code == 1 and doc["broken_record"] == 1 and not doc["chain_started"]
    assert any(r[1] == "audit-head-broken" and "removed by hand" in r[2] for r in rows(decided))


def test_not_chained_yet_names_both_causes(decided: Path) -> None:
    _drop_chain(decided)
    with sqlite3.connect(decided / "ledger.sqlite") as db:
        db.execute("DROP TABLE stage_runs")
    code, doc = verify(decided)
    assert code == 1 and "older" in doc["problem"] and "removed by hand" in doc["problem"]
    assert "vouches only" in doc["problem"]


def test_a_writing_command_warns_on_a_broken_trail(decided: Path) -> None:
    """A record edited by hand: `decide` still works (exit 0) but says on stderr, in one line, that the trail is
    broken and where."""
    res = runner.invoke(app, ["decide", "E0006", "accept", "--reason", "seen", "-w", str(decided)])
    assert res.exit_code == 0 and "BROKEN" not in res.stderr
    with sqlite3.connect(decided / "ledger.sqlite") as db:
        db.execute("UPDATE audit SET detail=replace(detail, 'reject', 'accept') WHERE id=3")
    res = runner.invoke(app, ["decide", "E0007", "accept", "--reason", "seen", "-w", str(decided)])
    assert res.exit_code == 0, res.output
    warning = [line for line in res.stderr.splitlines() if "BROKEN" in line]
    assert len(warning) == 1 and "at record 3" in warning[0] and "milsetctl audit --verify" in warning[0]
