#!/usr/bin/env bash
# Install with the test tools, lint, type-check, run the unit tests, then the acceptance tests on ../shared/cases-jury
# and ../shared/corpus if present. Every step runs even when an earlier one failed (a failing unit test must not
# hide what the acceptance tests say); a summary at the end lists each step's result, and the exit status is
# non-zero if any step failed.
#   bash scripts/test.sh
set -uo pipefail
cd "$(dirname "$0")/.."

log_dir=$(mktemp -d "${TMPDIR:-/tmp}/milsetctl-test.XXXXXX")
trap 'rm -rf "$log_dir"' EXIT
names=()
results=()
lasts=()
failed=0

# step NAME COMMAND...: run it, show its output as it comes, remember its result and its last line
step() {
  local name=$1
  shift
  local log="$log_dir/${#names[@]}.log"
  echo "== $name"
  "$@" 2>&1 | tee "$log"
  local rc=${PIPESTATUS[0]}
  names+=("$name")
  lasts+=("$(grep -v '^[[:space:]]*$' "$log" | tail -n 1 | cut -c1-100)")
  if [ "$rc" = 0 ]; then
    results+=("passed")
  else
    results+=("FAILED (exit $rc)")
    failed=1
  fi
}

skip() {
  echo "== $1: skipped ($2)"
  names+=("$1")
  results+=("skipped")
  lasts+=("$2")
}

summary() {
  echo
  echo "== summary"
  local i
  for i in "${!names[@]}"; do
    printf '  %-38s %-16s %s\n' "${names[$i]}" "${results[$i]}" "${lasts[$i]}"
  done
  if [ "$failed" = 0 ]; then echo "all steps passed"; else echo "some steps FAILED (see above)"; fi
}

step "install (scripts/install.sh --test)" bash scripts/install.sh --test
if [ ! -x .venv/bin/python ]; then
  summary
  echo "error: no .venv to test with" >&2
  exit 1
fi
step "ruff" .venv/bin/ruff check milsetctl tests bench sample_data
step "mypy ([tool.mypy] in pyproject.toml)" .venv/bin/mypy
# on every core, one test file per worker at a time (a file's module fixtures are built once)
step "unit tests" .venv/bin/python -m pytest -q -n auto --dist loadfile tests --ignore=tests/acceptance
if [ -d ../shared/cases-jury ]; then
  step "acceptance: ../shared/cases-jury" .venv/bin/python -m pytest -q -rA -n auto tests/acceptance/test_jury_cases.py
else
  skip "acceptance: ../shared/cases-jury" "../shared/cases-jury not found"
fi
if [ -d ../shared/corpus ]; then
  step "acceptance: ../shared/corpus" .venv/bin/python -m pytest -q tests/acceptance \
    --ignore=tests/acceptance/test_jury_cases.py
else
  skip "acceptance: ../shared/corpus" "../shared/corpus not found"
fi
summary
exit "$failed"
