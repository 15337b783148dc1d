"""The wheel as a user installs it: built from the project, installed into a fresh virtual environment, run
from a folder outside the repository, writing the HTML report (the templates must travel inside the wheel).

Offline and quick (~15 s): the wheel is built without build isolation (the test extra brings setuptools>=77), the
fresh venv has no pip of its own (the project's pip installs into it with --python), and the dependencies come
from the project's .venv through a .pth line instead of a download.
"""

from __future__ import annotations

import csv
import os
import shutil
import subprocess
import sys
import sysconfig
import venv
import zipfile
from pathlib import Path

import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent


def _setuptools_is_new_enough() -> bool:
    try:
        import setuptools
    except ImportError:
        return False
    return int(setuptools.__version__.split(".")[0]) >= 77


def _copy_project(dest: Path) -> Path:
    """What the wheel is built from, copied so the build leaves no build/ or egg-info in the checkout."""
    dest.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, dest / name)
    for folder in ("milsetctl", "templates"):
        shutil.copytree(ROOT / folder, dest / folder, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    return dest


def _submissions(folder: Path) -> Path:
    (folder / "photos").mkdir(parents=True)
    for i, colour in enumerate(((20, 30, 60), (200, 180, 40))):
        Image.new("RGB", (640, 480), colour).save(folder / "photos" / f"moon{i}.jpg", "JPEG", quality=85)
    with open(folder / "entries.csv", "w", newline="", encoding="utf-8-sig") as f:
        writer = csv.writer(f)
        writer.writerow(["contestant_id", "name", "grade", "province", "file", "title", "description"])
        writer.writerow(["C1", "张伟", "初二", "河北省", "photos/moon0.jpg", "Moon", "The moon."])
        writer.writerow(["C2", "Li Na", "Grade 11", "Guangdong", "photos/moon1.jpg", "Sun", "The sun."])
    return folder


@pytest.mark.skipif(not _setuptools_is_new_enough(), reason="needs setuptools>=77 (pip install -e '.[test]')")
def test_wheel_installs_and_writes_the_html_report(tmp_path: Path) -> None:
    project = _copy_project(tmp_path / "project")
    dist = tmp_path / "dist"
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--no-input", "-q"]
    build = subprocess.run([*pip, "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-w", str(dist),
                            str(project)], capture_output=True, text=True, timeout=600)
    assert build.returncode == 0, build.stderr
    log = (build.stdout + build.stderr).lower()
    assert "deprecat" not in log and "warning" not in log, log  # SPDX license string; every data folder listed
    wheels = list(dist.glob("milsetctl-*.whl"))
    assert len(wheels) == 1
    with zipfile.ZipFile(wheels[0]) as wheel:
        shipped = set(wheel.namelist())
    for folder, inside in (("milsetctl", "milsetctl"), ("templates", "milsetctl/templates")):
        for path in (ROOT / folder).rglob("*"):
            if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc":
                name = f"{inside}/{path.relative_to(ROOT / folder).as_posix()}"
                assert name in shipped, f"{name} is not in the wheel"

    env_dir = tmp_path / "fresh-venv"
    venv.EnvBuilder(with_pip=False, symlinks=os.name != "nt").create(env_dir)
    python = env_dir / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    fresh_site = Path(subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                                     capture_output=True, text=True, check=True).stdout.strip())
    # the dependencies, not milsetctl: a .pth line adds the project's site-packages after the fresh one, and
    # its own .pth files (the editable install's finder among them) are not run from there
    (fresh_site / "deps-from-project.pth").write_text(sysconfig.get_path("purelib") + "\n", encoding="utf-8")
    install = subprocess.run([*pip, "--python", str(python), "install", "--no-deps", "--no-index", str(wheels[0])],
                             capture_output=True, text=True, timeout=600)
    assert install.returncode == 0, install.stderr

    outside = tmp_path / "elsewhere"
    outside.mkdir()
    src = _submissions(tmp_path / "submissions")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    where = subprocess.run([str(python), "-c", "import milsetctl; print(milsetctl.__file__)"], cwd=outside,
                           capture_output=True, text=True, env=env, check=True).stdout.strip()
    assert Path(where).resolve().is_relative_to(fresh_site.resolve()), where
    run = subprocess.run([str(python), "-m", "milsetctl", "validate", str(src), "-w", "ws", "--report", "x.html",
                          "--jobs", "1"], cwd=outside, capture_output=True, text=True, env=env, timeout=600)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "Traceback" not in run.stderr
    report = (outside / "x.html").read_text(encoding="utf-8")
    assert "Validation report" in report and "moon0.jpg" in report and "moon1.jpg" in report
    assert not (ROOT / "x.html").exists()
