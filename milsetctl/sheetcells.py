"""Spreadsheet cells that stay text: the one rule every CSV and XLSX the tool writes follows.

Excel, WPS and LibreOffice start a formula on `=`, `+`, `-` or `@`, also after leading spaces, and some East
Asian input setups type their full-width forms; a cell beginning with a tab, CR or LF is read as a formula too
once the spreadsheet trims it. A contestant's title `=HYPERLINK("http://evil", "click")` must show as typed
(SPEC "Never": a title is never run as a spreadsheet formula). Only text is touched: a score of -3 stays the
number -3 (a number cell is never a formula).
"""

from __future__ import annotations

import re
from typing import Any

FORMULA_START = tuple("=+-@＝＋－＠")
FORMULA_LEAD = ("\t", "\r", "\n")


def formula_like(value: Any) -> bool:
    """Whether a spreadsheet would run this value as a formula: text starting (after spaces) with = + - @ or
    their full-width forms, or with a tab, CR or LF. Numbers, dates and None never are."""
    return isinstance(value, str) and bool(value) and (
        value.startswith(FORMULA_LEAD) or value.lstrip(" ").startswith(FORMULA_START))


def neutralise(value: Any) -> Any:
    """A formula-like text with a leading apostrophe (shown as text, the apostrophe hidden by Excel); any other
    value as is. For CSV, where a cell has no type; in XLSX write the cell as a string and set quotePrefix."""
    return "'" + value if formula_like(value) else value


# characters XML 1.0 (so XLSX) cannot hold; openpyxl raises IllegalCharacterError on them: every XLSX writer drops
# them from a text cell
XML_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
