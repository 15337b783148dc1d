#!/usr/bin/env bash
# Install with the test tools, lint, run the unit tests, then the acceptance test on ../shared/corpus if present.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh --test
echo "== ruff"
.venv/bin/ruff check milsetctl tests bench sample_data
echo "== mypy (settings: [tool.mypy] in pyproject.toml)"
.venv/bin/mypy
echo "== unit tests"
# on every core, one test file per worker at a time (a file's module fixtures are built once)
.venv/bin/python -m pytest -q -n auto --dist loadfile tests --ignore=tests/acceptance
if [ -d ../shared/cases-jury ]; then
  echo "== acceptance test on ../shared/cases-jury (score sheets, juror files, rosters, certificate names)"
  .venv/bin/python -m pytest -q -rA -n auto tests/acceptance/test_jury_cases.py
fi
if [ -d ../shared/corpus ]; then
  echo "== acceptance test on ../shared/corpus"
  .venv/bin/python -m pytest -q tests/acceptance --ignore=tests/acceptance/test_jury_cases.py
else
  echo "== acceptance test skipped: ../shared/corpus not found"
fi
