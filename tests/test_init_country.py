"""`init` asks for `[contest] country` (issue 16): `--country`, or a question in a terminal (Enter skips), any
spelling pycountry knows written as one English name, a typo refused naming the closest; and nominate, told the
country, no longer guesses it."""

from __future__ import annotations

import sys
import tomllib
import types
from pathlib import Path

import pytest
from test_stages import _contest, ok, run, sheets
from typer.testing import CliRunner

import milsetctl.cli as cli
from milsetctl.cli import app

runner = CliRunner()


def _country(ws: Path) -> str:
    with open(ws / "contest.toml", "rb") as fh:
        return str(tomllib.load(fh)["contest"]["country"])


def _in_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    class Terminal(types.ModuleType):  # sys, except that stdin is a terminal
        def __getattr__(self, name: str) -> object:
            if name == "stdin":
                return types.SimpleNamespace(isatty=lambda: True)
            return getattr(sys, name)

    monkeypatch.setattr(cli, "sys", Terminal("sys"))


@pytest.mark.parametrize("written", ["China", "CN", "中国", "chn", " china "])
def test_country_option_writes_one_name_for_every_spelling(tmp_path: Path, written: str) -> None:
    result = ok("init", "-w", str(tmp_path / "ws"), "--country", written)
    assert _country(tmp_path / "ws") == "China"
    assert "country:  China" in result.stdout
    text = (tmp_path / "ws" / "contest.toml").read_text(encoding="utf-8")
    assert text.count("country = ") == 1 and "# the country this national round runs in" in text  # comments kept


def test_a_country_no_one_has_is_refused_naming_the_closest_and_nothing_is_made(tmp_path: Path) -> None:
    result = run("init", "-w", str(tmp_path / "ws"), "--country", "Chna")
    assert result.exit_code == 2 and "no country is called 'Chna'; did you mean China" in result.stderr
    assert not (tmp_path / "ws").exists()


def test_init_again_changes_the_country_and_keeps_the_rest(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    ok("init", "-w", str(ws), "--country", "Japan")
    (ws / "contest.toml").write_text((ws / "contest.toml").read_text(encoding="utf-8").replace(
        'theme = "SPACE"', 'theme = "OCEANS"'), encoding="utf-8")
    ok("init", "-w", str(ws), "--country", "日本")
    ok("init", "-w", str(ws), "--country", "KR")
    assert _country(ws) == "South Korea"
    assert 'theme = "OCEANS"' in (ws / "contest.toml").read_text(encoding="utf-8")


def test_without_a_terminal_init_asks_nothing(tmp_path: Path) -> None:
    result = ok("init", "-w", str(tmp_path / "ws"))
    assert _country(tmp_path / "ws") == "" and "Country of this national round" not in result.output
    assert "country:  not set" in result.stdout


def test_in_a_terminal_init_asks_until_the_answer_names_a_country(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    _in_a_terminal(monkeypatch)
    result = runner.invoke(app, ["init", "-w", str(tmp_path / "ws")], input="Chna\n中国\n")
    assert result.exit_code == 0, result.output
    assert result.stderr.count("Country of this national round") == 2
    assert "did you mean China" in result.stderr and _country(tmp_path / "ws") == "China"
    # asked only while none is set: init again asks nothing
    again = runner.invoke(app, ["init", "-w", str(tmp_path / "ws")], input="Japan\n")
    assert "Country of this national round" not in again.stderr and _country(tmp_path / "ws") == "China"


def test_in_a_terminal_enter_skips(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _in_a_terminal(monkeypatch)
    result = runner.invoke(app, ["init", "-w", str(tmp_path / "ws")], input="\n")
    assert result.exit_code == 0, result.output
    assert "Country of this national round" in result.stderr and _country(tmp_path / "ws") == ""


def test_nominate_uses_the_country_init_wrote_instead_of_guessing(tmp_path: Path) -> None:
    """The demo's warning ("[contest] country is not set ... taken to be China's") is gone once init was told."""
    src = _contest(tmp_path / "inbox")
    for ws, country in ((tmp_path / "told", ["--country", "中国"]), (tmp_path / "untold", [])):
        ok("init", "-w", str(ws), *country)
        ok("validate", str(src), "-w", str(ws))
        ok("anonymise", "-w", str(ws))
        ok("score", str(sheets(ws, tmp_path / f"returned-{ws.name}")), "-w", str(ws))
        ok("awards", "-w", str(ws))
        result = ok("nominate", "--top", "2", "--out", str(tmp_path / f"{ws.name}.zip"), "-w", str(ws))
        said = " ".join(result.output.split())
        assert ("country is not set" in said) == (not country), said
