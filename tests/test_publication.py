"""Names in public (issue 19, milsetctl/publication.py): `[gallery] names` and the manifest's publication_consent
column, read by ingest like any column (its headers in English and Chinese, a blank cell kept as a no), and the one
answer the gallery, verify.html and the contest report all take."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import make_jpeg, settings_with, write_manifest

from milsetctl.ingest import read_submissions
from milsetctl.publication import NAME_MODES, consent_cell, may_publish, name_mode, published_name
from milsetctl.settings import SettingsError, check_settings, defaults


@pytest.mark.parametrize(("name", "initials", "first", "full"), [
    ("Maria García", "Maria G.", "Maria", "Maria García"),
    ("  Olga   ivanova ", "Olga I.", "Olga", "Olga ivanova"),
    ("García, Maria", "Maria G.", "Maria", "García, Maria"),  # a roster's "family, given"
    ("张伟", "张*", "伟", "张伟"),
    ("刘䶮", "刘*", "䶮", "刘䶮"),
    ("欧阳娜娜", "欧阳**", "娜娜", "欧阳娜娜"),  # a two-character family name
    ("玛丽亚·加西亚", "玛丽亚·加", "玛丽亚", "玛丽亚·加西亚"),  # a transcribed name: given name first
    ("Ahmed", "Ahmed", "Ahmed", "Ahmed"),
    ("", "", "", ""),
])
def test_a_name_as_each_setting_shows_it(name: str, initials: str, first: str, full: str) -> None:
    assert [published_name(name, mode) for mode in ("initials", "first-name", "full")] == [initials, first, full]


def test_names_setting_default_and_checked() -> None:
    """Default "initials" (the contestants are minors); anything but the three modes is refused naming them."""
    assert name_mode(defaults()) == "initials" and NAME_MODES == ("initials", "first-name", "full")
    assert name_mode(settings_with(gallery={"names": "full"})) == "full"
    for wrong in ("Full", "surname", 1):
        with pytest.raises(SettingsError, match=r"\[gallery\] names"):
            check_settings({"gallery": {"names": wrong}}, defaults().raw)
    check_settings({"gallery": {"names": "first-name"}}, defaults().raw)


@pytest.mark.parametrize(("extra", "allowed"), [
    ({}, True),  # no column: the call's terms are the consent
    ({"publication_consent": "yes"}, True), ({"publication_consent": "是"}, True),
    ({"publication_consent": "✓"}, True), ({"publication_consent": "Yes (signed 1 June)"}, True),
    ({"publication_consent": "no"}, False), ({"publication_consent": "否"}, False),
    ({"publication_consent": "不同意"}, False), ({"publication_consent": ""}, False),  # asked, nothing ticked
    ({"publication_consent": "maybe"}, False),
    ({"Publication consent": "No"}, False), ({"同意公开": "是"}, True),  # an older ledger: the header as written
    ({"guardian_consent": "yes"}, True),  # the guardian's consent to taking part is not consent to publication
])
def test_may_publish(extra: dict[str, str], allowed: bool) -> None:
    assert may_publish(extra) is allowed
    assert may_publish(json.dumps(extra)) is allowed  # the ledger's extra column


def _contest(tmp_path: Path, header: str, cells: list[str]) -> list:  # type: ignore[type-arg]
    source = tmp_path / "submissions"
    rows = []
    for i, cell in enumerate(cells):
        make_jpeg(source / f"p{i}.jpg", size=(320, 240), seed=i)
        rows.append([f"C{i}", f"Student {i}", "School", "8", "Beijing", "China", f"s{i}@example.cn",
                     f"p{i}.jpg", f"Title {i}", "A description.", "2022-07-05 09:30", cell])
    write_manifest(source, rows, headers=["contestant_id", "name", "school", "grade", "province", "country",
                                          "email", "file", "title", "description", "submitted_at", header])
    return read_submissions(source, defaults()).entries


@pytest.mark.parametrize("header", ["publication_consent", "Publication consent", "同意公开", "是否同意公开",
                                    "Consent to publish"])
def test_the_manifest_column_is_read_under_its_headers_a_blank_cell_kept(tmp_path: Path, header: str) -> None:
    entries = _contest(tmp_path, header, ["Yes", "否", "", "同意"])
    assert [e.extra.get("publication_consent") for e in entries] == ["Yes", "否", "", "同意"]
    assert [consent_cell(e) for e in entries] == ["Yes", "否", "", "同意"]
    assert [may_publish(e) for e in entries] == [True, False, False, True]


def test_a_manifest_without_the_column_publishes_everyone(tmp_path: Path) -> None:
    source = tmp_path / "submissions"
    make_jpeg(source / "p.jpg", size=(320, 240))
    write_manifest(source, [["C1", "Maria García", "School", "8", "Beijing", "China", "m@example.cn", "p.jpg",
                             "T", "D", "2022-07-05 09:30"]])
    (entry,) = read_submissions(source, defaults()).entries
    assert consent_cell(entry) is None and may_publish(entry)
