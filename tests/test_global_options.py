"""Global options where a user types them (`milsetctl -w WS status` as `milsetctl status -w WS`, --by and --wait
after the command), the workspace found from a sub-folder as git finds `.git`, and --help as written (issue 16).
Driven through typer's CliRunner as a coordinator types the commands."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer.main
from test_newcomer import _contest  # the small contest every workspace test makes
from typer.testing import CliRunner

from milsetctl.cli import app
from milsetctl.workspace import find_workspace

runner = CliRunner()


def _init(ws: Path) -> None:
    result = runner.invoke(app, ["init", "-w", str(ws)])
    assert result.exit_code == 0, result.output


def _flat(text: str) -> str:
    return " ".join(text.split())


def _names_workspace(stdout: str, ws: Path) -> bool:
    """status's `workspace: PATH` line, however the terminal's width wrapped or folded the path."""
    return f"workspace:{ws.resolve()}" in "".join(stdout.split())


def _hashes(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def _commands() -> Iterator[tuple[list[str], Any]]:
    """Every command and group as typer builds it: (the words a user types, the command)."""
    root = typer.main.get_command(app)
    yield [], root
    for name, command in root.commands.items():  # type: ignore[attr-defined]
        yield [name], command
        for sub_name, sub in getattr(command, "commands", {}).items():
            yield [name, sub_name], sub


# --- -w before or after the command --------------------------------------------------------------------------
@pytest.mark.parametrize("args", [["status"], ["audit", "--json"], ["members", "list", "--json"],
                                  ["regions", "--json"], ["rules"], ["verify", "AAAA-BBBB-CCCC-DDDD", "--json"]])
def test_workspace_before_the_command_as_after_it(tmp_path: Path, args: list[str]) -> None:
    ws = tmp_path / "contest"
    _init(ws)
    before = runner.invoke(app, ["-w", str(ws), *args], env={"COLUMNS": "120"})
    after = runner.invoke(app, [*args, "-w", str(ws)], env={"COLUMNS": "120"})
    assert before.exit_code == after.exit_code, (before.output, after.output)
    assert before.exit_code in (0, 1), before.output  # verify of an unknown code: exit 1, as it should
    assert before.stdout == after.stdout


def test_status_names_the_workspace_given_before_the_command(tmp_path: Path) -> None:
    ws = tmp_path / "contest"
    _init(ws)
    result = runner.invoke(app, ["-w", str(ws), "status"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert _names_workspace(result.stdout, ws)


def test_two_different_workspaces_are_a_usage_error(tmp_path: Path) -> None:
    one, other = tmp_path / "one", tmp_path / "other"
    _init(one)
    _init(other)
    same = runner.invoke(app, ["-w", str(one), "status", "-w", str(one) + "/"])
    assert same.exit_code == 0, same.output
    both = runner.invoke(app, ["-w", str(one), "status", "-w", str(other)])
    assert both.exit_code == 2
    assert "two workspaces named" in _flat(both.output) and "Traceback" not in both.output


def test_every_command_takes_w_so_w_before_it_is_never_ignored() -> None:
    for words, command in _commands():
        if hasattr(command, "commands"):
            continue
        options = {opt for param in command.params for opt in getattr(param, "opts", [])}
        assert {"-w", "--workspace"} <= options, words


def test_by_and_wait_after_the_command(tmp_path: Path) -> None:
    ws = tmp_path / "contest"
    result = runner.invoke(app, ["init", "-w", str(ws), "--by", "Anna Li", "--wait", "0"])
    assert result.exit_code == 0, result.output
    trail = runner.invoke(app, ["audit", "--json", "-w", str(ws)])
    record = json.loads(trail.stdout)["records"][0]
    assert record["action"] == "init" and record["who"] == "Anna Li"
    assert record["command"] == f"milsetctl init -w {ws} --by 'Anna Li' --wait 0"  # as typed
    twice = runner.invoke(app, ["--by", "Bob", "status", "-w", str(ws), "--by=Anna"])
    assert twice.exit_code == 2 and "--by given twice" in twice.output
    bare = runner.invoke(app, ["status", "-w", str(ws), "--by"])
    assert bare.exit_code == 2 and "--by needs a value" in bare.output


# --- the workspace found from a sub-folder, as git finds .git -----------------------------------------------
def test_status_from_a_sub_folder_finds_the_workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ws = tmp_path / "contest"
    _init(ws)
    sheets = ws / "jury" / "sheets"
    sheets.mkdir(parents=True)
    monkeypatch.chdir(sheets)
    result = runner.invoke(app, ["status"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert _names_workspace(result.stdout, ws)
    assert not (sheets / "contest.toml").exists()


def test_a_writing_command_from_a_sub_folder_writes_to_the_workspace(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    ws = tmp_path / "contest"
    _init(ws)
    (ws / "reports").mkdir(exist_ok=True)
    roster = tmp_path / "members.csv"
    roster.write_text("organisation,country,region,contact,email,member_since,fee_paid_until\n"
                      "Club A,China,Asia,Li Ming,a@example.cn,2010-01-01,2030-12-31\n", encoding="utf-8")
    monkeypatch.chdir(ws / "reports")
    result = runner.invoke(app, ["members", "import", str(roster)])
    assert result.exit_code == 0, result.output
    listed = runner.invoke(app, ["members", "list", "--json", "-w", str(ws)])
    assert [m["organisation"] for m in json.loads(listed.stdout)["members"]] == ["Club A"]
    assert sorted(p.name for p in (ws / "reports").iterdir()) == []


def test_outside_any_workspace_says_none_is_above(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    deep = tmp_path / "a" / "b"
    deep.mkdir(parents=True)
    monkeypatch.chdir(deep)
    result = runner.invoke(app, ["status"])
    assert result.exit_code == 2
    text = _flat(result.output)
    assert "not a contest workspace" in text and "No folder above it is one either" in text


def test_init_makes_the_workspace_where_it_is_told(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    outer = tmp_path / "contest"
    _init(outer)
    inner = outer / "next-year"
    inner.mkdir()
    monkeypatch.chdir(inner)
    result = runner.invoke(app, ["init"])  # as `git init`: here, not the workspace above
    assert result.exit_code == 0, result.output
    assert (inner / "contest.toml").is_file()
    made = tmp_path / "third"
    result = runner.invoke(app, ["-w", str(made), "init"])
    assert result.exit_code == 0, result.output
    assert (made / "contest.toml").is_file()


def test_validate_creates_in_the_current_folder_then_finds_it_from_below(tmp_path: Path,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    src = _contest(tmp_path / "submissions", n=2)
    ws = tmp_path / "contest"
    ws.mkdir()
    monkeypatch.chdir(ws)
    first = runner.invoke(app, ["validate", str(src), "--json", "--jobs", "1"])
    assert first.exit_code == 0, first.output
    assert (ws / "contest.toml").is_file()
    below = ws / "reports"
    below.mkdir(exist_ok=True)
    monkeypatch.chdir(below)
    again = runner.invoke(app, ["validate", "--json", "--jobs", "1"])  # the remembered SOURCE, the same contest
    assert again.exit_code == 0, again.output
    assert json.loads(again.stdout)["summary"] == json.loads(first.stdout)["summary"]
    assert not (below / "contest.toml").exists() and not (below / "ledger.sqlite").exists()


def test_validate_from_inside_source_writes_nothing_there(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    src = _contest(tmp_path / "submissions", n=2)
    (src / "contest.toml").write_text("# a stray copy sent in with the photos\n", encoding="utf-8")
    before = _hashes(src)
    monkeypatch.chdir(src / "photos")
    result = runner.invoke(app, ["validate", str(src), "--jobs", "1"])
    assert result.exit_code == 2, result.output
    assert "inside the submissions folder" in _flat(result.output)
    assert _hashes(src) == before  # no ledger, no lock file, nothing


# --- the library: find_workspace ---------------------------------------------------------------------------
def test_find_workspace_walks_up_to_the_nearest(tmp_path: Path) -> None:
    outer = tmp_path / "outer"
    deep = outer / "jury" / "sheets" / "x"
    deep.mkdir(parents=True)
    (outer / "contest.toml").write_text("", encoding="utf-8")
    assert find_workspace(deep) == outer.resolve()
    assert find_workspace(outer) == outer.resolve()
    inner = outer / "jury"
    (inner / "ledger.sqlite").write_bytes(b"")  # a ledger alone marks a workspace too
    assert find_workspace(deep) == inner.resolve()  # the nearest, as git's nested repositories


def test_find_workspace_stops_at_the_root(tmp_path: Path) -> None:
    deep = tmp_path / "a" / "b" / "c"
    deep.mkdir(parents=True)
    assert find_workspace(deep) is None
    root = Path(tmp_path.anchor)
    assert find_workspace(root) in (None, root)  # the root itself is the last folder looked at


def test_find_workspace_relative_start(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "contest.toml").write_text("", encoding="utf-8")
    (tmp_path / "sub").mkdir()
    monkeypatch.chdir(tmp_path / "sub")
    assert find_workspace(Path(".")) == tmp_path.resolve()


def test_find_workspace_never_picks_the_submissions_folder(tmp_path: Path) -> None:
    ws = tmp_path / "contest"
    src = ws / "submissions"
    photos = src / "photos"
    photos.mkdir(parents=True)
    (ws / "contest.toml").write_text("", encoding="utf-8")
    (src / "contest.toml").write_text("", encoding="utf-8")  # stray, inside SOURCE
    assert find_workspace(photos) == src.resolve()  # without SOURCE named it looks like one
    assert find_workspace(photos, source=src) == ws.resolve()
    assert find_workspace(src, source=src) == ws.resolve()
    lone = tmp_path / "usb" / "photos"
    lone.mkdir(parents=True)
    (lone.parent / "contest.toml").write_text("", encoding="utf-8")
    assert find_workspace(lone, source=lone.parent) is None


# --- help as written ------------------------------------------------------------------------------------------
SECTION = re.compile(r"\[[a-z][\w.*-]*\]")  # `[members]`, `[dates]`, `[fees.events.*]`: settings sections
PLACEHOLDER = re.compile(r"<[a-z][\w\[\], ]*>")  # typer's `<bool>`, `<str>`, `<dir>`, `<list[Path]>`


def _texts(command: Any) -> list[str]:
    items = [command, *command.params]
    return [t for item in items for t in (getattr(item, "help", None), getattr(item, "short_help", None)) if t]


@pytest.mark.parametrize("words", [words for words, _ in _commands()], ids=lambda w: " ".join(w) or "milsetctl")
def test_help_shows_sections_and_no_type_placeholders(words: list[str]) -> None:
    command = dict((" ".join(w), c) for w, c in _commands())[" ".join(words)]
    result = runner.invoke(app, [*words, "--help"], env={"COLUMNS": "120"})
    assert result.exit_code == 0, result.output
    page = result.stdout
    assert "<bool>" not in page
    assert not PLACEHOLDER.search(page), PLACEHOLDER.findall(page)
    wanted = {s for text in _texts(command) for s in SECTION.findall(text)}
    for sub in getattr(command, "commands", {}).values():  # a group lists each command's first paragraph
        wanted |= set(SECTION.findall((sub.short_help or sub.help or "").split("\n\n")[0]))
    for section in wanted:
        assert section in page, (words, section)
    assert "\\[" not in page  # escaped once, not twice


def test_help_sections_the_bug_ate() -> None:
    """The words rich took for style tags before: `[members] grace_days`, `contest.toml [regions]`."""
    page = _flat(runner.invoke(app, ["members", "status", "--help"], env={"COLUMNS": "120"}).stdout)
    assert "the grace period is [members] grace_days" in page
    page = _flat(runner.invoke(app, ["--help"], env={"COLUMNS": "120"}).stdout)
    assert "(from contest.toml [regions])" in page
    page = _flat(runner.invoke(app, ["fees", "quote", "--help"], env={"COLUMNS": "120"}).stdout)
    assert "contest.toml [fees.events.*]" in page
