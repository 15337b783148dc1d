"""Command-line values read without pydantic: the quick commands answer at once (issue 18).

typer 0.29 coerces every option and argument through a pydantic TypeAdapter, built the first time the parameter
is read, even when its value is None or its default: ~100-150 ms of imports (pydantic, pydantic-core, the plugin
loader's importlib.metadata) and schema building in every command that takes a parameter, most of what
`milsetctl status`, `rules` and `verify` spent. milsetctl's parameters are plain: str, int, float, bool, Path and
lists of them. For those the value typer would produce is known without pydantic (a str as typed, "12" -> 12, a
Path after typer's own existence and kind checks), so `plain_params` gives each such parameter a coercion that
returns that value itself and hands anything else to typer's own coercion (pydantic then loaded): a value it does
not read at once ("abc" or "1_000" for a number, "1e3"), a path typer refuses, an annotation it does not know.
Every error message is therefore typer's; behaviour and output are unchanged, only the cost is.

It leans on typer's internals (a parameter's `_runtime_param` slot and `type_descriptor`, `coerce_cli_path`): with
a typer that has none of them (before 0.29 there was no pydantic to avoid) `plain_params` leaves the parameters as
they are. cli.py calls it on each command's parameters as the command lists them (get_params). tests/test_cliparse.py
compares every parameter's values with typer's own coercion; tests/test_cli_imports.py fails when a quick command
loads pydantic again.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path, PosixPath, WindowsPath
from typing import Any, get_args, get_origin

try:  # typer >= 0.29 (pydantic coercion); older typer has neither and needs nothing here
    from typer import BadParameter
    from typer._coercion import build_runtime_param
    from typer._param_types import coerce_cli_path
except ImportError:  # pragma: no cover - another typer
    build_runtime_param = None  # type: ignore[assignment]

# what a person types for a count or seconds; longer digit strings (int()'s digit limit, float overflow) go to typer
_DIGITS = re.compile(r"[0-9]{1,15}")
_DECIMAL = re.compile(r"[0-9]{1,15}(\.[0-9]{1,15})?")
_NOT_PLAIN = object()


class PlainCoercion:
    """typer's RuntimeParam for a plain parameter: the value typer would give, without building a TypeAdapter;
    typer's own coercion for anything else (built then, once)."""

    def __init__(self, descriptor: Any) -> None:
        self.descriptor = descriptor
        self._typer: Any = None

    def coerce(self, value: Any, param: Any, ctx: Any) -> Any:
        multi = param.multiple or param.nargs == -1
        if value is None:  # as typer's RuntimeParam.coerce: nothing given and no default
            return () if multi else None
        info, annotation = self.descriptor.parameter_info, self.descriptor.annotation
        if multi and isinstance(value, (list, tuple)) and get_origin(annotation) is list:
            (item_type,) = get_args(annotation) or (None,)
            items = [_plain(item_type, info, item, param, ctx) for item in value]
            if all(item is not _NOT_PLAIN for item in items):
                return items
        elif not multi:
            plain = _plain(annotation, info, value, param, ctx)
            if plain is not _NOT_PLAIN:
                return plain
        if self._typer is None:
            self._typer = build_runtime_param(self.descriptor)
        return self._typer.coerce(value, param=param, ctx=ctx)


def _in_range(number: float, info: Any) -> bool:
    return (info.min is None or number >= info.min) and (info.max is None or number <= info.max)


def _plain(annotation: Any, info: Any, value: Any, param: Any, ctx: Any) -> Any:
    """The value typer's TypeAdapter would return for `value`, or _NOT_PLAIN when that is not known at once (an
    error among them: typer then says it in its own words)."""
    if getattr(info, "parser", None) is not None:
        return _NOT_PLAIN
    kind = type(value)
    if annotation is str and kind is str:
        return value
    if annotation is bool and kind is bool:
        return value
    if annotation is int:
        number = value if kind is int else int(value) if kind is str and _DIGITS.fullmatch(value) else None
        return number if number is not None and _in_range(number, info) else _NOT_PLAIN
    if annotation is float:
        real = float(value) if kind in (int, float) or (kind is str and _DECIMAL.fullmatch(value)) else None
        return real if real is not None and _in_range(real, info) else _NOT_PLAIN
    if annotation is Path and kind in (str, PosixPath, WindowsPath) and info.path_type is None:
        # typer's own path checks (exists, file_okay, dir_okay, readable...) on the Path it makes of the text; an
        # error goes back to typer, which says it of the text as typed
        try:
            return coerce_cli_path(Path(value), info, path_type=Path, param=param, ctx=ctx)
        except BadParameter:
            return _NOT_PLAIN
    return _NOT_PLAIN


def plain_params(params: Iterable[Any]) -> None:
    """Give each of a command's parameters (its --help too) that typer would coerce through pydantic the plain
    coercion; file parameters, which typer opens, keep typer's."""
    if build_runtime_param is None:
        return
    for param in params:
        descriptor = getattr(param, "type_descriptor", None)
        if descriptor is None or getattr(param, "_runtime_param", False) is not None:
            continue
        if getattr(descriptor, "file_annotation", None) is not None:
            continue
        param._runtime_param = PlainCoercion(descriptor)
