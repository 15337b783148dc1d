"""The wheel carries every sub-package and the templates (which live at the repository's top level)."""

from __future__ import annotations

import tomllib
from pathlib import Path

import milsetctl
from milsetctl.report.html import templates_dir

ROOT = Path(__file__).resolve().parent.parent


def test_pyproject_lists_every_sub_package_and_the_templates() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]
    on_disk = {
        ".".join(p.parent.relative_to(ROOT).parts)
        for p in (ROOT / "milsetctl").rglob("__init__.py")
        if "__pycache__" not in p.parts
    }
    data_folders = {  # folders of data files (TOML tables...) inside a package ship as packages of their own
        ".".join(p.parent.relative_to(ROOT).parts)
        for p in (ROOT / "milsetctl").rglob("*")
        if p.is_file() and p.suffix not in (".py", ".pyc") and "__pycache__" not in p.parts
    }
    assert set(config["packages"]) == on_disk | data_folders | {"milsetctl.templates"}
    assert config["package-dir"]["milsetctl.templates"] == "templates"


def test_templates_are_found_from_the_installed_package() -> None:
    folder = templates_dir()
    assert (folder / "report.html").is_file()
    assert (folder / "contact-sheet.html").is_file()
    assert Path(milsetctl.__file__).resolve().parent in (folder.parent, folder.parent / "milsetctl")
