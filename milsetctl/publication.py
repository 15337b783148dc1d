"""Names in public (issue 19): what the gallery, verify.html and the contest report may show of a contestant.

Most contestants are 13 to 18 years old. Two things decide what a public page says about one:
- `[gallery] names`: how a contestant's name appears. "initials" (the default: the first name and the family
  name's initial, "Maria G.", "张*"), "first-name" ("Maria", "伟") or "full". A juror's and a member
  organisation's name are adults' and organisations' names and are shown in full by the pages that list them.
- the manifest's `publication_consent` column (ingest/columns.py: "Publication consent", "同意公开"...): an entry
  whose cell does not say yes (`rules.field.read_consent`: "yes", "Y", "✓", "是", "同意"...; a blank cell
  included: the column was asked, nothing was ticked) is left out of every public page: the gallery and
  verify.html. A manifest without the column refuses nothing: the call for entries' own terms are then the
  consent. The contest report lists the entries so left out.

One function for each question, used by every page that publishes: `published_name` and `may_publish`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from milsetctl.ingest.columns import PUBLICATION_COLUMN, header_key, publication_aliases
from milsetctl.rules.field import read_consent  # the consent columns' one yes/no reader (guardian_consent's too)

NAME_MODES = ("initials", "first-name", "full")
DEFAULT_NAME_MODE = "initials"
# what a public page shows for a name that may not be shown (no consent) or is gone (purge --personal-data)
WITHHELD = "(name withheld)"

# Chinese, Japanese and Korean script: such a name written without spaces has its family name first
_CJK = re.compile(r"[\u2e80-\u9fff\uac00-\ud7af\uf900-\ufaff\U00020000-\U0003ffff]")
# the two-character Chinese family names still common: "欧阳娜娜" is family 欧阳, given 娜娜
_COMPOUND_FAMILY = frozenset([
    "欧阳", "司马", "诸葛", "上官", "东方", "慕容", "令狐", "皇甫", "尉迟", "公孙", "夏侯", "轩辕",
    "司徒", "端木", "长孙", "宇文", "澹台", "南宫", "西门", "独孤", "申屠", "呼延", "万俟", "闻人",
    "东郭", "钟离", "第五", "百里", "太史", "赫连", "拓跋",
])
# transcribed foreign names join given and family name with a middle dot, given name first ("玛丽亚·加西亚")
_NAME_DOTS = "·・•‧"

def name_mode(settings: Any) -> str:
    """[gallery] names as the settings hold it (checked when the settings were read: one of NAME_MODES)."""
    section = settings.raw.get("gallery") if hasattr(settings, "raw") else None
    mode = section.get("names") if isinstance(section, dict) else None
    return str(mode) if mode in NAME_MODES else DEFAULT_NAME_MODE


def published_name(name: str | None, mode: str = DEFAULT_NAME_MODE) -> str:
    """A contestant's name as a public page shows it under `mode` ([gallery] names).

    "full": as written (spaces tidied). "first-name": the given name. "initials": the given name and the family
    name's initial ("Maria García López" -> "Maria L.", "García, Maria" -> "Maria G."). A Chinese, Japanese or
    Korean name written without spaces has its family name first: "initials" keeps the family name and masks the
    given name, one * per character, as Chinese award lists do ("张伟" -> "张*", "欧阳娜娜" -> "欧阳**");
    "first-name" shows the given name ("伟"). A name of one word is shown as it is in every mode."""
    name = " ".join(str(name or "").split())
    if mode == "full" or not name:
        return name
    if "," in name and not _CJK.search(name):  # "García, Maria": family name first, as rosters write it
        family, _, given = name.partition(",")
        if given.strip() and family.strip():
            name = f"{given.strip()} {family.strip()}"
    if any(d in name for d in _NAME_DOTS) and " " not in name:  # 玛丽亚·加西亚: given name first
        given, family = re.split(f"[{_NAME_DOTS}]", name, maxsplit=1)
        if given and family:
            return given if mode == "first-name" else f"{given}·{family[:1]}"
    if " " not in name and _CJK.search(name):
        cut = 2 if name[:2] in _COMPOUND_FAMILY and len(name) > 2 else 1
        family, given = name[:cut], name[cut:]
        if not given:
            return name
        return given if mode == "first-name" else family + "*" * len(given)
    parts = name.split(" ")
    if len(parts) == 1:
        return name
    if mode == "first-name":
        return parts[0]
    return f"{parts[0]} {parts[-1][:1].upper()}."


def _extra(entry: Any) -> Mapping[str, Any]:
    """An entry's manifest columns beyond SPEC's, from the extra columns themselves (a dict, or the ledger's JSON
    text), a models.Entry or a ledger row."""
    value: Any
    if isinstance(entry, (str, Mapping)):
        value = entry
    elif hasattr(entry, "extra"):
        value = entry.extra
    else:
        try:
            value = entry["extra"]
        except (KeyError, IndexError, TypeError):
            value = None
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return {}
    return value if isinstance(value, Mapping) else {}


def consent_cell(entry: Any) -> str | None:
    """The entry's publication_consent cell as written ("" when left blank), or None when its manifest has no such
    column. Found under the column's name or any of its headers (a ledger written before the column had a name
    of its own keeps the header as the manifest wrote it: "Publication consent")."""
    headers = publication_aliases()
    for key, value in _extra(entry).items():
        if key == PUBLICATION_COLUMN or header_key(key) in headers:
            return "" if value is None else str(value)
    return None


def may_publish(entry: Any) -> bool:
    """Whether a public page may show the entry (its photo, its name, its certificate on verify.html): yes unless
    its manifest row has a publication_consent cell that does not say yes. `entry`: a ledger row, a models.Entry
    or the extra columns themselves."""
    cell = consent_cell(entry)
    return cell is None or read_consent(cell) is True
