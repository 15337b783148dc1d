"""README's rule and problem-code tables are the registries' (milsetctl/reference.py), never hand-kept: the
validate rules, and the problem codes of score, the roster, fees, awards and nominate, one table per area."""

from __future__ import annotations

from pathlib import Path

from milsetctl.problem_codes import AREAS, CODES, SEVERITIES
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


def test_each_area_has_its_table_under_its_title() -> None:
    """Every code sits in its own area's table: after that area's heading and before the next one's."""
    text = block()
    starts = {area: text.index(title if area != "score sheets" else "Every problem `score` reports")
              for area, (title, _) in AREAS.items()}
    order = sorted(starts, key=starts.get)  # type: ignore[arg-type]
    for c in CODES.values():
        at = text.index(f"| `{c.id}` |")
        following = [starts[a] for a in order if starts[a] > starts[c.area]]
        assert starts[c.area] < at < (following[0] if following else len(text)), c.id
    for area, (_, commands) in AREAS.items():
        if area != "score sheets":
            assert all(f"`{command}`" in text for command in commands)


def test_codes_and_rule_ids_never_collide_and_have_a_why() -> None:
    rule_ids = {r.id for r in all_rules()}
    assert not rule_ids & set(CODES)
    assert all(c.why and c.severity in SEVERITIES and c.area in AREAS for c in CODES.values())
