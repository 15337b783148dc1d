"""A package's names loaded from its modules on first use (PEP 562 module `__getattr__`).

Why: `milsetctl status`, `rules` and `verify` must answer at once (issue 18), yet `from milsetctl.certificates import
issue_certificates` must keep working. A package lists which module holds each name; the module is imported when
the name is first asked for, and the name is then kept in the package, so it is looked up once.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable
from typing import Any


def lazy_exports(package: str, names: dict[str, str]) -> Callable[[str], Any]:
    """The module `__getattr__` for `package`: `names` maps each public name to the submodule (relative to the package)
    that defines it. A name not listed raises AttributeError, so that `from package import submodule` of a submodule
    not imported yet falls back to importing it. Use: `__getattr__ = lazy_exports(__name__, _NAMES)`."""
    namespace = sys.modules[package].__dict__

    def __getattr__(name: str) -> Any:
        module = names.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(f"{package}.{module}"), name)
        namespace[name] = value
        return value

    return __getattr__
