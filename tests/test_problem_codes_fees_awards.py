"""Every problem the roster, fees, awards and nominate commands report has a stable code (milsetctl/problem_codes.py),
and each code comes out of a real run: a file or option a secretariat or a chair could give, driven through the
CLI. The terminal shows the code at the end of the message ("... [fee-amount]"); where the command prints JSON, the
code is there too (`issues`, a refund row's `code`, a tie's `code`).

Each scenario runs once per test process (`seen`); one test per code checks its scenario produced it, and a last
test checks that every code of these areas has a scenario, so a code added to the registry without a real input
producing it fails here.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from jury_fixtures import Person, jury_workspace
from test_awards import NATIONAL, store_ranking
from test_nominate_global import rank_all
from test_score_cli import ANON, sheet
from typer.testing import CliRunner

from milsetctl.cli import app
from milsetctl.members.fees import FeeInputError, compute_refund
from milsetctl.problem_codes import AREAS, CODES, Coded
from milsetctl.settings import defaults, remember_source
from milsetctl.workspace import Workspace, init_workspace, open_workspace

runner = CliRunner()

NEW_AREAS = ("member roster", "fees", "tables", "awards", "nominate")


@dataclass
class Seen:
    """What a scenario's run showed: its exit status, the terminal text (stdout and stderr, whitespace folded) and
    the codes in its JSON (None when it printed none)."""

    exit_code: int
    terminal: str
    json_codes: set[str] | None


def run(*args: str) -> Seen:
    result = runner.invoke(app, list(args))
    doc: dict[str, Any] | None = None
    if "--json" in args and result.stdout.strip():
        doc = json.loads(result.stdout)
    codes = None
    if doc is not None:
        codes = {i["code"] for i in doc.get("issues", [])}
        codes |= {w["code"] for w in doc.get("withdrawals", []) if w.get("code")}
        codes |= {t["code"] for t in doc.get("ties", [])}
    return Seen(result.exit_code, " ".join((result.stdout + result.stderr).split()), codes)


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


# --- the contests the scenarios start from -------------------------------------------------------------------------

def _global_people(n: int) -> list[Person]:
    countries = ["China", "Brazil", "Kenya", "Spain"]
    return [Person(f"G-{i:03d}", f"Person {i}", f"School {i}", f"p{i}@example.org", "10" if i % 2 else "8",
                   "high" if i % 2 else "middle", countries[i % 4], "Beijing" if i % 4 == 0 else "Region")
            for i in range(n)]


class Contests:
    """Validated contests made once (photos take time to make) and copied for each scenario: a national round of
    eight entries (E0001-E0008, jury_fixtures.PEOPLE) and a global one of twelve."""

    def __init__(self, factory: pytest.TempPathFactory) -> None:
        self.factory = factory
        self._made: dict[str, Path] = {}

    def _template(self, kind: str) -> Path:
        if kind not in self._made:
            base = self.factory.mktemp(f"template-{kind}")
            people = _global_people(12) if kind == "global" else None
            jury_workspace(base, people=people, png_every=0, stage=kind).close()
            self._made[kind] = base
        return self._made[kind]

    def copy(self, kind: str = "national") -> Workspace:
        """A fresh copy with its own submissions folder (a scenario may delete a photo)."""
        root = self.factory.mktemp(kind)
        shutil.copytree(self._template(kind), root, dirs_exist_ok=True)
        remember_source(root / "ws" / "contest.toml", str(root / "submissions"))
        return open_workspace(root / "ws")


# --- scenarios: name -> a real run, and what it must show besides the code ------------------------------------------

def roster_rows(c: Contests) -> Seen:
    """A roster with Excel's sep= line, a column that is no roster column and one bad row of each kind."""
    ws = init_workspace(c.factory.mktemp("roster") / "ws")
    ws.close()
    roster = write(ws.root.parent / "roster.csv", (
        "sep=,\r\norganisation,country,email,fee_paid_until,notes\r\n"
        "Alpha Club,Kenya,a@example.org,2030-01-01,keep\r\n"
        ",Peru,b@example.org,2030-01-01,\r\n"
        "ALPHA  club,Kenya,c@example.org,2030-01-01,\r\n"
        "Beta Club,Chile,not-an-address,2030-01-01,\r\n"
        "Gamma Club,Spain,g@example.org,soon,\r\n"
        "Delta Club,Spain,d@example.org,05/07/2022,\r\n"))
    seen = run("members", "import", str(roster), "-w", str(ws.root), "--json")
    assert seen.exit_code == 1 and "Alpha Club" in seen.terminal  # the good row is imported, the others named
    return seen


def roster_no_header(c: Contests) -> Seen:
    ws = init_workspace(c.factory.mktemp("roster") / "ws")
    ws.close()
    seen = run("members", "import", str(write(ws.root.parent / "r.csv", "foo,bar\r\n1,2\r\n")), "-w", str(ws.root))
    assert seen.exit_code == 1
    return seen


def roster_empty(c: Contests) -> Seen:
    ws = init_workspace(c.factory.mktemp("roster") / "ws")
    ws.close()
    seen = run("members", "import", str(write(ws.root.parent / "r.csv", "organisation,country\r\n")),
               "-w", str(ws.root), "--json")
    assert seen.exit_code == 1
    return seen


def roster_unreadable(c: Contests) -> Seen:
    ws = init_workspace(c.factory.mktemp("roster") / "ws")
    ws.close()
    seen = run("members", "import", str(write(ws.root.parent / "r.csv", "")), "-w", str(ws.root))
    assert seen.exit_code == 1 and "empty" in seen.terminal
    return seen


def members_export_format(c: Contests) -> Seen:
    ws = init_workspace(c.factory.mktemp("export") / "ws")
    ws.close()
    seen = run("members", "export", str(ws.root.parent / "members.txt"), "-w", str(ws.root))
    assert seen.exit_code == 2
    return seen


def members_export_unwritable(c: Contests) -> Seen:
    ws = init_workspace(c.factory.mktemp("export") / "ws")
    ws.close()
    blocker = write(ws.root.parent / "blocker", "a file where a folder should be")
    seen = run("members", "export", str(blocker / "members.csv"), "-w", str(ws.root))
    assert seen.exit_code == 1
    return seen


def _refund(c: Contests, paid: str, registered: str, withdrawn: str, toml: str = "") -> Seen:
    root = c.factory.mktemp("fees")
    if toml:
        ws = init_workspace(root / "ws")
        ws.close()
        (ws.root / "contest.toml").write_text(toml, encoding="utf-8")  # the defaults fill in the rest
    seen = run("fees", "refund", "--paid", paid, "--registered-on", registered, "--withdrawn-on", withdrawn,
               "--json", "-w", str(root / "ws"))
    assert seen.exit_code == 2  # SPEC: bad input is a usage error, one message
    return seen


def fee_amount(c: Contests) -> Seen:
    return _refund(c, "abc", "2022-05-01", "2022-06-01")


def fee_date_unreadable(c: Contests) -> Seen:
    return _refund(c, "100", "2022-05-01", "soon")


def fee_date_ambiguous(c: Contests) -> Seen:
    return _refund(c, "100", "2022-05-01", "05/07/2022")


def fee_before(c: Contests) -> Seen:
    return _refund(c, "100", "2022-07-01", "2022-06-01")


def fee_deadline_day(c: Contests) -> Seen:
    """A registration deadline at 18:00 and a withdrawal given as that day alone."""
    return _refund(c, "100", "2022-05-01", "2022-07-11",
                   toml='[fees]\nregistration_deadline = "2022-07-11T18:00:00"\n')


def fee_batch(c: Contests) -> Seen:
    """Withdrawals with Excel's sep= line, a row in another currency and a row with no withdrawal date."""
    root = c.factory.mktemp("batch")
    batch = write(root / "withdrawals.csv", (
        "sep=,\r\nname,paid,registered_on,withdrawn_on,currency\r\n"
        "Anna,100,2022-05-01,2022-06-01,USD\r\n"
        "Boris,100,2022-05-01,,EUR\r\n"
        "Chen,100,2022-05-01,2022-06-01,EUR\r\n"))
    seen = run("fees", "refund", "--batch", str(batch), "--out", str(root / "out.csv"), "--json",
               "-w", str(root / "none"))
    assert seen.exit_code == 1 and (root / "out.csv").exists()  # Chen's refund is computed and written
    return seen


def fee_no_columns(c: Contests) -> Seen:
    root = c.factory.mktemp("batch")
    seen = run("fees", "refund", "--batch", str(write(root / "w.csv", "a,b\r\n1,2\r\n")),
               "--out", str(root / "out.csv"), "-w", str(root / "none"))
    assert seen.exit_code == 1
    return seen


def _roster_ws(c: Contests) -> Path:
    ws = init_workspace(c.factory.mktemp("quote") / "ws")
    ws.close()
    roster = write(ws.root.parent / "roster.csv", "organisation,country,fee_paid_until\r\n"
                   "Club Science Lima,Peru,2030-01-01\r\nClub Science Cusco,Peru,2030-01-01\r\n")
    assert run("members", "import", str(roster), "-w", str(ws.root)).exit_code == 0
    return ws.root


def fee_event_unknown(c: Contests) -> Seen:
    seen = run("fees", "quote", "ISEF", "-w", str(_roster_ws(c)))
    assert seen.exit_code == 2 and "photo-contest" in seen.terminal  # the events there are, named
    return seen


def fee_org_ambiguous(c: Contests) -> Seen:
    seen = run("fees", "quote", "ESI", "--org", "Club Science", "-w", str(_roster_ws(c)))
    assert seen.exit_code == 2 and "Club Science Lima" in seen.terminal and "Club Science Cusco" in seen.terminal
    return seen


def awards_no_ranking(c: Contests) -> Seen:
    with c.copy() as ws:
        seen = run("awards", "-w", str(ws.root))
    assert seen.exit_code == 1
    return seen


def awards_national(c: Contests) -> Seen:
    """test_awards' NATIONAL ranking: E0003 and E0005 share the middle category's only qualifying rank."""
    with c.copy() as ws:
        store_ranking(ws, NATIONAL)
        seen = run("awards", "--json", "-w", str(ws.root))
    assert seen.exit_code == 0 and "E0003" in seen.terminal and "E0005" in seen.terminal
    return seen


def awards_stale(c: Contests) -> Seen:
    with c.copy() as ws:
        store_ranking(ws, NATIONAL)
        ws.ledger.set_status("E0002", "rejected")
        seen = run("awards", "-w", str(ws.root))
    assert seen.exit_code == 1 and "E0002 is ranked but now rejected" in seen.terminal
    return seen


def awards_export_format(c: Contests) -> Seen:
    with c.copy() as ws:
        store_ranking(ws, NATIONAL)
        seen = run("awards", "--export", str(ws.root / "awards.pdf"), "-w", str(ws.root))
        assert ws.ledger.awards() == []  # refused before anything is stored
    assert seen.exit_code == 2
    return seen


def awards_export_unwritable(c: Contests) -> Seen:
    with c.copy() as ws:
        store_ranking(ws, NATIONAL)
        blocker = write(ws.root / "blocker", "a file where a folder should be")
        seen = run("awards", "--export", str(blocker / "awards.xlsx"), "-w", str(ws.root))
    assert seen.exit_code == 1
    return seen


def awards_global(c: Contests) -> Seen:
    """Global stage: a shared rank 2 (global-2 twice) and two entries sharing rank 10, the gallery's last place."""
    with c.copy("global") as ws:
        ranks = [1, 2, 2, 4, 5, 6, 7, 8, 9, 10, 10, 12]
        store_ranking(ws, {f"E{i + 1:04d}": (100.0 - r * 5, r) for i, r in enumerate(ranks)})
        seen = run("awards", "--json", "-w", str(ws.root))
    assert seen.exit_code == 0
    return seen


def _real_round(c: Contests, sheets: Callable[[Path], None]) -> Workspace:
    """A national round scored for real: anonymous IDs, the jurors' XLSX sheets, `score`."""
    ws = c.copy()
    for entry_id, anon in ANON.items():
        ws.ledger.add_anon_id(anon, entry_id)
    ws.ledger.round_id()
    ws.close()
    sheets(ws.root)
    return open_workspace(ws.root)


def awards_allow_missing(c: Contests) -> Seen:
    """Nobody scored HH9999 and Bo left a cell blank; `score --allow-missing` stores the ranking all the same."""
    everyone_but_one = [a for a in ANON.values() if a != "HH9999"]

    def sheets(root: Path) -> None:
        sheet(root, "Ann", only=everyone_but_one)
        sheet(root, "Bo", 1, only=everyone_but_one, change={("ME6666", "impact"): None})
        scored = run("score", str(root / "jury" / "sheets"), "--allow-missing", "-w", str(root))
        assert scored.exit_code == 0, scored.terminal

    with _real_round(c, sheets) as ws:
        seen = run("awards", "--json", "-w", str(ws.root))
    assert seen.exit_code == 0 and "E0008" in seen.terminal  # HH9999 is E0008: unranked, named
    return seen


def nominate_awards_stale(c: Contests) -> Seen:
    """Scored, awarded, then a third juror's sheet re-ranks the round: the award list is out of date."""
    def sheets(root: Path) -> None:
        sheet(root, "Ann")
        sheet(root, "Bo", 1)
        assert run("score", str(root / "jury" / "sheets"), "-w", str(root)).exit_code == 0
        assert run("awards", "-w", str(root)).exit_code == 0
        sheet(root, "Cy", change={("MA2222", "impact"): 1, ("MC4444", "impact"): 10})
        assert run("score", str(root / "jury" / "sheets"), "-w", str(root)).exit_code == 0

    with _real_round(c, sheets) as ws:
        seen = run("nominate", "--top", "2", "--out", str(ws.root.parent / "n.zip"), "-w", str(ws.root))
    assert seen.exit_code == 1 and "milsetctl awards" in seen.terminal
    return seen


RANKED = {"E0001": (88.0, 1), "E0003": (70.0, 2), "E0005": (60.0, 3), "E0007": (20.0, 4),
          "E0002": (91.5, 1), "E0004": (70.0, 2), "E0006": (50.0, 3), "E0008": (40.0, 4)}


def _nominate(c: Contests, *options: str, change: Callable[[Workspace], object] | None = None,
              kind: str = "national", ranking: dict[str, tuple[float, int]] | None = RANKED) -> Seen:
    """`nominate` on a ranked and awarded round (the first two of each category qualify), after `change`."""
    with c.copy(kind) as ws:
        if ranking is not None:
            rank_all(ws, ranking)
        if change is not None:
            change(ws)
        ws.ledger.db.commit()
        args = ["nominate", "--top", "2", "--out", str(ws.root.parent / "n.zip"), *options]
        if "--top" in options:
            args = ["nominate", "--out", str(ws.root.parent / "n.zip"), *options]
        return run(*args, "-w", str(ws.root))


def nominate_global(c: Contests) -> Seen:
    seen = _nominate(c, kind="global", ranking={"E0001": (75.0, 1)})
    assert seen.exit_code == 2
    return seen


def nominate_top(c: Contests) -> Seen:
    seen = _nominate(c, "--top", "0")
    assert seen.exit_code == 2
    return seen


def nominate_out_in_source(c: Contests) -> Seen:
    with c.copy() as ws:
        rank_all(ws, RANKED)
        seen = run("nominate", "--top", "2", "--out", str(Path(ws.settings.source) / "n.zip"), "-w", str(ws.root))
        assert not (Path(ws.settings.source) / "n.zip").exists()
    assert seen.exit_code == 2
    return seen


def nominate_no_ranking(c: Contests) -> Seen:
    seen = _nominate(c, ranking=None)
    assert seen.exit_code == 1
    return seen


def nominate_no_awards(c: Contests) -> Seen:
    def no_awards(ws: Workspace) -> None:
        ws.ledger.save_awards([{**r, "award": None} for r in map(dict, ws.ledger.ranking())], "national")

    seen = _nominate(c, change=no_awards)
    assert seen.exit_code == 1
    return seen


def nominate_no_source(c: Contests) -> Seen:
    seen = _nominate(c, change=lambda ws: remember_source(ws.root / "contest.toml", ""))
    assert seen.exit_code == 1
    return seen


def nominate_photo_unreadable(c: Contests) -> Seen:
    def delete_photo(ws: Workspace) -> None:
        entry = next(e for e in ws.ledger.entries() if e["entry_id"] == "E0001")
        (Path(ws.settings.source) / entry["file"]).unlink()

    seen = _nominate(c, change=delete_photo)
    assert seen.exit_code == 1 and "E0001" in seen.terminal
    return seen


def nominate_photo_changed(c: Contests) -> Seen:
    seen = _nominate(c, change=lambda ws: ws.ledger.db.execute("UPDATE entries SET sha256=? WHERE entry_id='E0001'",
                                                               ("0" * 64,)))
    assert seen.exit_code == 1 and "changed since it was validated" in seen.terminal
    return seen


def nominate_warnings(c: Contests) -> Seen:
    """No [contest] country; E0002 from Brazil, E0001 rejected since the awards, E0003 with no country, and --top
    asking for more than there are."""
    def change(ws: Workspace) -> None:
        ws.ledger.db.execute("UPDATE entries SET country='Brazil' WHERE entry_id='E0002'")
        ws.ledger.db.execute("UPDATE entries SET country='' WHERE entry_id='E0003'")
        ws.ledger.set_status("E0001", "rejected")

    seen = _nominate(c, "--top", "100", "--json", change=change)
    assert seen.exit_code == 0
    return seen


def nominate_tie(c: Contests) -> Seen:
    """E0001 and E0008 (China, the best of their categories) share the score 88: --top 1 nominates both."""
    seen = _nominate(c, "--top", "1", "--json", ranking={**RANKED, "E0008": (88.0, 1)})
    assert seen.exit_code == 0
    return seen


SCENARIO_OF: dict[str, Callable[[Contests], Seen]] = {
    "roster-no-header": roster_no_header,
    "roster-empty": roster_empty,
    "roster-name-missing": roster_rows,
    "roster-name-twice": roster_rows,
    "roster-email": roster_rows,
    "roster-date-unreadable": roster_rows,
    "roster-date-ambiguous": roster_rows,
    "roster-column-ignored": roster_rows,
    "fee-amount": fee_amount,
    "fee-currency": fee_batch,
    "fee-date-missing": fee_batch,
    "fee-date-unreadable": fee_date_unreadable,
    "fee-date-ambiguous": fee_date_ambiguous,
    "fee-withdrawn-before-registered": fee_before,
    "fee-deadline-day": fee_deadline_day,
    "fee-no-columns": fee_no_columns,
    "fee-event-unknown": fee_event_unknown,
    "fee-org-ambiguous": fee_org_ambiguous,
    "table-unreadable": roster_unreadable,
    "table-read": fee_batch,
    "table-format": members_export_format,
    "table-unwritable": members_export_unwritable,
    "awards-no-ranking": awards_no_ranking,
    "awards-ranking-stale": awards_stale,
    "awards-tie-qualifier": awards_national,
    "awards-tie-medal": awards_global,
    "awards-tie-gallery": awards_global,
    "awards-allow-missing": awards_allow_missing,
    "awards-unscored": awards_allow_missing,
    "awards-export-format": awards_export_format,
    "awards-export-unwritable": awards_export_unwritable,
    "nominate-global-stage": nominate_global,
    "nominate-top": nominate_top,
    "nominate-out-in-source": nominate_out_in_source,
    "nominate-no-ranking": nominate_no_ranking,
    "nominate-no-awards": nominate_no_awards,
    "nominate-awards-stale": nominate_awards_stale,
    "nominate-no-source": nominate_no_source,
    "nominate-photo-unreadable": nominate_photo_unreadable,
    "nominate-photo-changed": nominate_photo_changed,
    "nominate-not-eligible": nominate_warnings,
    "nominate-other-country": nominate_warnings,
    "nominate-country-inferred": nominate_warnings,
    "nominate-fewer-holders": nominate_warnings,
    "nominate-tie": nominate_tie,
    "nominate-no-country": nominate_warnings,
}


@pytest.fixture(scope="module")
def seen(tmp_path_factory: pytest.TempPathFactory) -> Callable[[Callable[[Contests], Seen]], Seen]:
    """Run a scenario once per test process; later asks get the same Seen."""
    contests = Contests(tmp_path_factory)
    done: dict[str, Seen] = {}

    def get(scenario: Callable[[Contests], Seen]) -> Seen:
        if scenario.__name__ not in done:
            done[scenario.__name__] = scenario(contests)
        return done[scenario.__name__]

    return get


@pytest.mark.parametrize("code", list(SCENARIO_OF))
def test_each_code_comes_out_of_a_real_run(code: str, seen: Callable[[Callable[[Contests], Seen]], Seen]) -> None:
    """The terminal names the code after the message; the JSON, when the command printed one, carries it too."""
    shown = seen(SCENARIO_OF[code])
    assert f"[{code}]" in shown.terminal, shown.terminal
    if shown.json_codes is not None:
        assert code in shown.json_codes, (code, shown.json_codes)


def test_every_code_of_these_areas_has_a_real_run() -> None:
    registered = {c.id for c in CODES.values() if c.area in NEW_AREAS}
    assert set(SCENARIO_OF) == registered
    # the jury final's codes come out of their runs in tests/test_problem_codes_final.py
    assert set(AREAS) == {"score sheets", "jury final", *NEW_AREAS} == {c.area for c in CODES.values()}


def test_an_error_keeps_its_code_apart_from_its_words() -> None:
    """The library's refusal carries the code and the bare message apart; str() is what the terminal shows."""
    with pytest.raises(FeeInputError) as caught:
        compute_refund("-5", "2022-05-01", "2022-06-01", defaults())
    said = caught.value.said
    assert isinstance(said, Coded) and said.code == "fee-amount" and said.severity == "error"
    assert str(caught.value) == f"{said.message} [fee-amount]" and "negative" in said.message
    assert said.as_json() == {"code": "fee-amount", "severity": "error", "message": said.message}


def test_the_refund_batch_json_names_each_rows_code(tmp_path: Path) -> None:
    """A script reads the code and the message apart: the refund table's JSON row and its `issues` entry."""
    batch = write(tmp_path / "w.csv", "name,paid,registered_on,withdrawn_on\r\nAnna,-5,2022-05-01,2022-06-01\r\n"
                  "Boris,100,2022-05-01,2022-06-01\r\n")
    result = runner.invoke(app, ["fees", "refund", "--batch", str(batch), "--out", str(tmp_path / "o.csv"), "--json",
                                 "-w", str(tmp_path / "none")])
    doc = json.loads(result.stdout)
    assert [w["code"] for w in doc["withdrawals"]] == ["fee-amount", None]
    (issue,) = doc["issues"]
    assert issue["code"] == "fee-amount" and issue["severity"] == "error" and "[" not in issue["message"]
    assert doc["problems"] == [f"{issue['message']} [fee-amount]"]  # the words the terminal shows, as before


def test_rules_lists_every_area_and_explains_each_code() -> None:
    listed = runner.invoke(app, ["rules"], env={"COLUMNS": "200"})
    assert listed.exit_code == 0
    text = listed.stdout
    for title, commands in AREAS.values():
        assert title in text and commands[0] in text
    for code in SCENARIO_OF:
        assert code in text
    for code in ("roster-email", "fee-deadline-day", "table-read", "awards-tie-qualifier", "nominate-photo-changed"):
        one = runner.invoke(app, ["rules", code], env={"COLUMNS": "200"})
        assert one.exit_code == 0 and CODES[code].why.split(":")[0] in " ".join(one.stdout.split())
        assert CODES[code].command.split(",")[0] in one.stdout
    near = runner.invoke(app, ["rules", "fee-amuont"])
    assert near.exit_code == 2 and "fee-amount" in near.stderr
