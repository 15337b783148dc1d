"""Tables on a narrow terminal (milsetctl.console.FitTable): every line fits, the border stays whole, and a
person's name wraps between its words, never inside one; columns give way in the order each table says."""

from __future__ import annotations

import io
import re
from datetime import datetime

import pytest
from rich.cells import cell_len
from rich.console import Console

from milsetctl.console import Col, FitTable, render_rules, render_validation
from milsetctl.models import Entry, EntryResult, Finding, Severity, Status, ValidationResult

NAMES = ["Prof. Dr. Maximilian Alexander von Hohenzollern-Sigmaringen",
         "Dr. Bartholomew Featherstonehaugh-Cholmondeley", "欧阳娜娜 研究员", "司马相如",
         "María José Fernández de Córdoba y Castellanos"]


def render(renderable: object, width: int) -> str:
    console = Console(width=width, record=True, file=io.StringIO(), color_system=None)
    console.print(renderable)
    return console.export_text()


def column_pieces(text: str, header: str) -> list[str]:
    """The text of one column, line by line, in every table of `text` that has it."""
    pieces, column = [], None
    for line in text.splitlines():
        cells = [c.strip() for c in re.split(r"[│┃]", line)]
        if len(cells) < 3:
            if line.startswith(("└", "┗")):
                column = None
            continue
        if header in cells:
            column = cells.index(header)
        elif column is not None and cells[column]:
            pieces.append(cells[column])
    return pieces


def assert_fits(text: str, width: int) -> None:
    lines = text.splitlines()
    assert max(cell_len(line) for line in lines) <= width, max(lines, key=cell_len)
    tops = [line for line in lines if line.startswith(("┏", "┌"))]
    bottoms = [line for line in lines if line.startswith(("└", "┗"))]
    assert len(tops) == len(bottoms) >= 1
    for line in tops + bottoms:
        assert line.endswith(("┓", "┐", "┘", "┛")), line  # the border is closed, not cut


def assert_names_whole(text: str, header: str, names: list[str]) -> None:
    words = {w for n in names for w in n.split()}
    pieces = column_pieces(text, header)
    assert pieces
    for piece in pieces:
        assert all(w in words for w in piece.split()), f"a name broken inside a word: {piece!r}"


def people_table() -> FitTable:
    table = FitTable(Col("Juror"), Col("Sheet", drop=1), Col("Entries", justify="right", no_wrap=True),
                     Col("Comment", fold=True), Col("Chart", no_wrap=True, drop=2), title="People")
    for k, name in enumerate(NAMES):
        table.add_row(name, f"J{k:02d} {name}.xlsx", str(100 * k), "a remark " * k + "x" * 30, "▁▂▃▄▅▆▇█▁▂")
    return table


@pytest.mark.parametrize("width", [60, 80, 100, 120, 200])
def test_every_line_fits_and_names_wrap_between_words(width: int) -> None:
    text = render(people_table(), width)
    assert_fits(text, width)
    assert_names_whole(text, "Juror", NAMES)


@pytest.mark.parametrize("width", [30, 40, 50])
def test_too_narrow_for_the_longest_word_still_fits_the_width(width: int) -> None:
    """Below the longest word plus the columns that cannot go, words must break; the lines still fit."""
    assert_fits(render(people_table(), width), width)


def test_columns_give_way_in_order_and_a_note_says_which() -> None:
    wide = render(people_table(), 250)
    assert "Sheet" in wide and "Chart" in wide and "left out" not in wide
    narrow = render(people_table(), 80)
    assert "Sheet" not in narrow.split("\n")[2] and "(left out to fit the terminal: Sheet" in narrow
    narrower = render(people_table(), 60)
    assert "(left out to fit the terminal: Sheet, Chart)" in narrower


def test_a_fold_column_breaks_inside_words_before_a_column_is_dropped() -> None:
    table = FitTable(Col("Name"), Col("File", fold=True), Col("Extra", drop=1))
    table.add_row("Featherstonehaugh-Cholmondeley", "photos/" + "very-long-folder-name/" * 3 + "DSC0001.jpg", "x")
    text = render(table, 60)
    assert_fits(text, 60)
    assert "Extra" in text and "left out" not in text  # the path folded instead
    assert "Featherstonehaugh-Cholmondeley" in text


def test_short_columns_stay_on_one_line_and_the_long_text_wraps() -> None:
    table = FitTable(Col("Rank corr.", justify="right"), Col("Name"))
    table.add_row("0.98", " ".join(NAMES))
    text = render(table, 60)
    assert "Rank corr." in text  # the header was given its width before the names took the rest
    assert_names_whole(text, "Name", NAMES)


def test_a_word_wider_than_any_layout_is_broken_but_the_lines_still_fit() -> None:
    table = FitTable(Col("Name"), Col("Other"))
    table.add_row("欧阳娜娜研究员（中国科学院国家天文台）" * 3, "x")
    text = render(table, 40)
    assert_fits(text, 40)


def attention_result() -> ValidationResult:
    entries = []
    for k, name in enumerate(NAMES):
        entry = Entry(key=f"k{k}", file=f"photos/{name.replace(' ', '_')}/DSC_{k:04d}_final_edit_v2.jpg",
                      contestant_id=f"CN2022-{k:03d}", name=name, title="The total solar eclipse over the Gobi",
                      submitted_at=datetime(2022, 7, 1), entry_id=f"E{k:04d}")
        findings = [Finding("face", Severity.REVIEW, "a face was detected at (120, 80, 64, 64); the jury package "
                            "must hold no faces"),
                    Finding("late", Severity.REJECT, "submitted 2022-07-12 08:00, after the deadline 2022-07-11")]
        entries.append(EntryResult(entry, Status.REJECTED if k % 2 else Status.REVIEW, "middle", findings))
    return ValidationResult("/s", "/w", entries)


@pytest.mark.parametrize("width", [80, 120])
def test_validate_attention_table_fits_with_long_names(width: int) -> None:
    console = Console(width=width, record=True, file=io.StringIO(), color_system=None)
    render_validation(console, attention_result())
    text = console.export_text()
    assert_fits(text, width)
    assert "Entries that need attention" in text
    assert_names_whole(text, "contestant", [f"CN2022-{k:03d} {n}" for k, n in enumerate(NAMES)])


def test_rules_table_fits_80_columns() -> None:
    from milsetctl.rules import load_rules

    rules = [(r, str(r.severity)) for r in load_rules().values()]
    console = Console(width=80, record=True, file=io.StringIO(), color_system=None)
    render_rules(console, rules)
    text = console.export_text()
    assert_fits(text, 80)
    for rule_, _ in rules:
        assert rule_.id in text  # rule IDs are never cut
