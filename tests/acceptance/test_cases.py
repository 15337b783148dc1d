"""Acceptance: the field cases in ../shared/cases — small submissions folders reproducing faults that real
coordinators' files cause — each validated from an empty workspace and compared with its expected.json.

expected.json: folder -> key -> expectation. A key is a contestant_id, or `@suffix` for the entry whose file ends
with it, or `#entries` for the number of entries the folder must give. An expectation may name the `status`, the
`category`, rules the entry must carry (`has`) and rules it must not carry (`not`). Skipped when the cases are not
beside the checkout.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from milsetctl.cli import app

ROOT = Path(__file__).resolve().parents[2]
CASES = (ROOT.parent / "shared" / "cases").resolve()
EXPECTED: dict[str, dict[str, Any]] = (
    json.loads((CASES / "expected.json").read_text(encoding="utf-8")) if (CASES / "expected.json").exists() else {}
)
pytestmark = pytest.mark.skipif(not EXPECTED, reason="../shared/cases not present")

# Cases whose kind of fault is not fixed yet: expected to fail (strict, so a fix must take its line out).
NOT_YET: set[str] = set()  # every case passes


def _validate(folder: Path, workspace: Path) -> dict[str, Any]:
    result = CliRunner().invoke(app, ["validate", str(folder), "-w", str(workspace), "--json", "--jobs", "1"])
    assert result.exit_code == 0, result.output[-3000:]
    start = result.stdout.index("{")
    return json.loads(result.stdout[start:])


def _find(entries: list[dict[str, Any]], key: str) -> list[dict[str, Any]]:
    if key.startswith("@"):
        return [e for e in entries if (e["file"] or "").endswith(key[1:])]
    return [e for e in entries if e["contestant_id"] == key]


@pytest.mark.parametrize(
    "case", [pytest.param(c, marks=pytest.mark.xfail(c in NOT_YET, reason="not fixed yet", strict=True))
             for c in sorted(EXPECTED)])
def test_field_case(case: str, tmp_path: Path) -> None:
    doc = _validate(CASES / case, tmp_path / "ws")
    entries = doc["entries"]
    problems = []
    for key, want in EXPECTED[case].items():
        if key == "#entries":
            if len(entries) != want:
                problems.append(f"{len(entries)} entries, expected {want}")
            continue
        found = _find(entries, key)
        if len(found) != 1:
            problems.append(f"{key}: {len(found)} entries match, expected 1")
            continue
        entry = found[0]
        rules = {f["rule"] for f in entry["findings"]}
        if "status" in want and entry["status"] != want["status"]:
            problems.append(f"{key}: status {entry['status']}, expected {want['status']} (findings: "
                            f"{[f['rule'] + ': ' + f['message'] for f in entry['findings']]})")
        if "category" in want and entry["category"] != want["category"]:
            problems.append(f"{key}: category {entry['category']}, expected {want['category']}")
        for rule_id in want.get("has", []):
            if rule_id not in rules:
                problems.append(f"{key}: no {rule_id} finding")
        for rule_id in want.get("not", []):
            if rule_id in rules:
                message = next(f["message"] for f in entry["findings"] if f["rule"] == rule_id)
                problems.append(f"{key}: unexpected {rule_id}: {message}")
    assert not problems, "\n".join(problems)
