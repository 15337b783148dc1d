"""milsetctl/cliparse.py reads every parameter of every command as typer itself would (issue 18: the quick
commands without pydantic, the behaviour unchanged).

Each of milsetctl's parameters is read through the plain coercion and through typer's own (pydantic's
TypeAdapter), from its default and from values a person types (numbers in several spellings, words, paths to a
file, a folder and nothing, "-", empty text, a list): the same value of the same type, or the same error message.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import typer
import typer.main

from milsetctl.cli import app
from milsetctl.cliparse import PlainCoercion, build_runtime_param

pytestmark = pytest.mark.skipif(build_runtime_param is None, reason="this typer coerces without pydantic")


def _commands(command: Any, path: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], Any]]:
    found = [(path, command)]
    for name, sub in sorted(getattr(command, "commands", {}).items()):
        found.extend(_commands(sub, (*path, name)))
    return found


def _outcome(coercion: Any, value: Any, param: Any, ctx: Any) -> tuple[str, Any]:
    try:
        result = coercion.coerce(value, param=param, ctx=ctx)
    except Exception as exc:  # noqa: BLE001 - the error itself is what is compared
        return "error", (type(exc).__name__, str(exc))
    return "value", (type(result).__name__, result if not isinstance(result, list) else
                     [(type(r).__name__, r) for r in result])


def test_every_parameter_reads_as_typer_reads_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    a_file, a_folder = tmp_path / "entries.csv", tmp_path / "folder"
    a_file.write_text("x\n", encoding="utf-8")
    a_folder.mkdir()
    monkeypatch.chdir(tmp_path)
    typed = ["5", "0", "007", "12.5", ".5", "1e3", " 5", "+5", "1_000", "-3", "1" * 20, "0." + "3" * 20, "abc", "",
             "-", "Anna", "张伟", str(a_file), str(a_folder), str(tmp_path / "nothing"), "entries.csv", "folder"]
    root = typer.main.get_command(app)
    compared = plain = 0
    for path, command in _commands(root):
        ctx = typer.Context(command, info_name="milsetctl")
        for param in command.get_params(ctx):
            runtime = param.get_runtime_param() if hasattr(param, "get_runtime_param") else None
            if not isinstance(runtime, PlainCoercion):
                continue
            plain += 1
            theirs = build_runtime_param(param.type_descriptor)
            multi = param.multiple or param.nargs == -1
            values: list[Any] = [param.default, None]
            values += [tuple(typed[i:i + 2]) for i in range(0, len(typed), 2)] if multi else typed
            for value in values:
                mine = _outcome(runtime, value, param, ctx)
                assert mine == _outcome(theirs, value, param, ctx), (" ".join(path), param.name, value)
                compared += 1
    assert plain > 100 and compared > 1000  # every command's parameters, not a few


def test_a_number_typer_reads_through_pydantic_still_reads() -> None:
    """Values the plain coercion does not read itself go to typer's: the same value, pydantic loaded then."""
    root = typer.main.get_command(app)
    validate = root.commands["validate"]  # type: ignore[attr-defined]
    ctx = typer.Context(validate, info_name="milsetctl")
    limit = next(p for p in validate.get_params(ctx) if p.name == "limit")
    assert limit.get_runtime_param().coerce("1_000", param=limit, ctx=ctx) == 1000
    with pytest.raises(typer.BadParameter, match="valid integer"):
        limit.get_runtime_param().coerce("many", param=limit, ctx=ctx)
