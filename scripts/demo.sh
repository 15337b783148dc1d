#!/usr/bin/env bash
# The main job on the sample contest: install, build sample_data/submissions, validate with a report.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
.venv/bin/python sample_data/make_sample.py
mkdir -p demo-workspace
.venv/bin/milsetctl validate sample_data/submissions -w demo-workspace --report demo-workspace/reports/validation.html
.venv/bin/milsetctl status -w demo-workspace
echo
echo "Report: demo-workspace/reports/validation.html"
