"""README's rule and problem-code tables are the registries' (milsetctl/reference.py), never hand-kept."""

from __future__ import annotations

from pathlib import Path

from milsetctl.problem_codes import CODES
from milsetctl.reference import block, readme_block
from milsetctl.rules import all_rules

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_tables_are_the_registries() -> None:
    held = readme_block(README.read_text(encoding="utf-8"))
    assert held is not None, "README.md lost the reference-table markers"
    assert held == block(), "README.md's rule tables drifted: run `python -m milsetctl.reference --write`"


def test_every_rule_and_code_is_in_the_block() -> None:
    text = block()
    assert all(f"| `{r.id}` |" in text for r in all_rules())
    assert all(f"| `{c}` |" in text for c in CODES)


def test_codes_and_rule_ids_never_collide_and_have_a_why() -> None:
    rule_ids = {r.id for r in all_rules()}
    assert not rule_ids & set(CODES)
    assert all(c.why and c.severity in ("error", "note") for c in CODES.values())
