"""Acceptance: the jury-side field cases in ../shared/cases-jury — score sheets, juror files, rosters and
certificate names as jurors' and secretariats' programs really write them (WPS, LibreOffice, Excel for Mac, Google
Sheets...). Each case's own run.sh drives the installed `milsetctl` in an empty folder and its generator checks the
outcome; the case's output is printed (pytest -rA shows it per case in the CI log). Skipped when the cases are not
beside the checkout.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CASES = (ROOT.parent / "shared" / "cases-jury").resolve()
NAMES = sorted(p.parent.name for p in CASES.glob("*/run.sh")) if CASES.is_dir() else []
pytestmark = pytest.mark.skipif(not NAMES, reason="../shared/cases-jury not present")


@pytest.mark.parametrize("case", NAMES)
def test_jury_case(case: str, tmp_path: Path) -> None:
    bin_dir = Path(sys.executable).parent
    milsetctl = shutil.which("milsetctl", path=str(bin_dir)) or str(bin_dir / "milsetctl")
    env = {**os.environ, "PY": sys.executable, "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
           "COLUMNS": "120"}
    done = subprocess.run(["bash", str(CASES / case / "run.sh"), milsetctl, str(tmp_path)], env=env,
                          capture_output=True, text=True, timeout=900)
    print(done.stdout + done.stderr)
    for name in ("score", "jurors", "roster", "certs"):  # what the tool said, for the log
        err = tmp_path / f"{name}.err"
        if err.exists() and err.read_text(errors="replace").strip():
            print(f"--- milsetctl's terminal output ({name}):\n" + err.read_text(errors="replace")[-2000:])
    assert f"{case}: PASS" in done.stdout, done.stdout + done.stderr
