"""China's regional rounds: province names as people write them map to one region; `regions`, `status` and the
contest report count entries per region; an entry from a province no region lists (Henan) is reported, not lost."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from jury_fixtures import PEOPLE, Person, jury_workspace
from typer.testing import CliRunner

from milsetctl.cli import app
from milsetctl.ingest.values import region_of
from milsetctl.members.regions import NO_REGION, entry_region, region_counts, region_report
from milsetctl.settings import defaults

runner = CliRunner()


@pytest.mark.parametrize(("written", "region"), [
    ("广东", "South"), ("广东省", "South"), ("Guangdong", "South"), ("Guangdong Province", "South"),
    ("guangdong sheng", "South"), ("广西壮族自治区", "South"), ("香港", "South"), ("Hong Kong SAR", "South"),
    ("内蒙古自治区", "North"), ("Inner Mongolia", "North"), ("北京市", "North"), ("Xizang", "West"),
    ("西藏", "West"), ("上海", "East"), ("湖北省", "Central"),
    ("河南", None), ("Henan", None), ("河南省", None), ("Henan Province", None),
])
def test_province_spellings_map_to_one_region(written: str, region: str | None) -> None:
    assert region_of(written, defaults().regions) == region


def test_regions_without_a_workspace_lists_every_region_and_the_unlisted_provinces(tmp_path: Path) -> None:
    res = runner.invoke(app, ["regions", "-w", str(tmp_path), "--json"])
    assert res.exit_code == 0
    doc = json.loads(res.stdout)
    assert [r["region"] for r in doc["regions"]] == ["North", "East", "Central", "South", "West"]
    south = next(r for r in doc["regions"] if r["region"] == "South")
    assert {"name": "Guangdong", "written": "Guangdong", "zh": "广东"} in south["provinces"]
    assert doc["provinces_in_no_region"] == ["Henan"]
    assert all(p["zh"] for r in doc["regions"] for p in r["provinces"])  # Ningxia too (pycountry has no zh name)
    # every province of China is in a region or named as in none: 34 province-level divisions
    assert sum(len(r["provinces"]) for r in doc["regions"]) + len(doc["provinces_in_no_region"]) == 34
    res = runner.invoke(app, ["regions", "-w", str(tmp_path)], env={"COLUMNS": "200"})
    assert res.exit_code == 0 and "Henan" in res.stdout and "Guangdong 广东" in res.stdout
    assert "[regions] in contest.toml" in res.stdout


def _people() -> list[Person]:
    base = PEOPLE[:4]
    return [*base,
            Person("CN2022-201", "周杰", "郑州外国语学校", "zhou@example.cn", "8", "middle", province="河南省"),
            Person("CN2022-202", "李娜", "深圳中学", "lina@example.cn", "10", "high", province="Guangdong Province"),
            Person("CN2022-203", "Wang Lei", "Zhengzhou No. 1", "wl@example.cn", "11", "high", province="Henan"),
            Person("CN2022-204", "黄晓", "广州二中", "hx@example.cn", "9", "middle", province="广东"),
            Person("CN2022-205", "Kim", "Busan Science HS", "kim@example.kr", "11", "high", "Korea", ""),
            Person("CN2022-206", "无名", "某中学", "wm@example.cn", "9", "middle", province="")]


def test_entries_per_region_in_regions_status_and_the_contest_report(tmp_path: Path) -> None:
    from milsetctl.report.contest import contest_report

    with jury_workspace(tmp_path, people=_people(), png_every=0) as ws:
        entries = ws.ledger.entries()
        counts = region_counts(entries, ws.settings)
        # PEOPLE[:4]: Beijing, Madrid (Spain), Guangdong, Novosibirsk (Russia); then 2 Henan, 2 Guangdong, Korea,
        # and one with no province; "Korea" counts under its one name per country, "South Korea"
        assert counts == {"North": 1, "South": 3, "Spain": 1, "Russia": 1, NO_REGION: 3, "South Korea": 1}
        assert sum(counts.values()) == len(entries) == 10  # none lost
        report = region_report(ws.settings, entries)
        assert report.unplaced == {"Henan": ["E0005", "E0007"], "(no province)": ["E0010"]}
        contest = contest_report(ws)
        by_region = dict(zip(contest.by_region["region"], contest.by_region["entries"], strict=True))
        assert by_region["South"] == 3 and by_region["(no region)"] == 3
        by_province = {(p, r): n for p, r, n in contest.by_province[["province", "region", "entries"]].values}
        assert by_province[("Henan", "(no region)")] == 2 and by_province[("Guangdong", "South")] == 3
        root = ws.root
    res = runner.invoke(app, ["regions", "-w", str(root), "--json"])
    doc = json.loads(res.stdout)
    assert {r["region"]: r["entries"] for r in doc["regions"]} == {"North": 1, "East": 0, "Central": 0, "South": 3,
                                                                     "West": 0}
    assert doc["entries_in_no_region"][0] == {"province": "Henan", "entries": ["E0005", "E0007"]}
    assert doc["abroad"] == {"Russia": 1, "South Korea": 1, "Spain": 1} and doc["entries"] == 10
    res = runner.invoke(app, ["regions", "-w", str(root)], env={"COLUMNS": "200"})
    assert "Henan: 2 entries in no region (E0005, E0007)" in res.stdout
    res = runner.invoke(app, ["status", "-w", str(root)], env={"COLUMNS": "200"})
    assert res.exit_code == 0
    assert "Entries by region: South 3, (no region) 3, North 1" in res.stdout


def test_a_province_alias_from_the_settings(tmp_path: Path) -> None:
    settings = defaults()
    settings.raw["entrants"]["province_aliases"] = {"Canton": "Guangdong"}
    assert entry_region("Canton", "China", settings) == ("South", "Guangdong")
    assert entry_region("河南", "中国", settings) == (NO_REGION, "Henan")
    settings.raw["regions"]["Central"] = [*settings.raw["regions"]["Central"], "河南"]
    assert entry_region("Henan Province", "China", settings) == ("Central", "Henan")
    assert region_report(settings).unlisted == []
