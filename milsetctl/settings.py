"""The contest's settings: one TOML file per workspace, SPEC's defaults written out with comments.

`DEFAULT_TOML` is the single source of the defaults: `init` writes it as is, and loading a workspace
overlays the coordinator's file on it, so a setting left out of the file keeps its default.
"""

from __future__ import annotations

import json
import tomllib
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

SETTINGS_FILE = "contest.toml"

DEFAULT_TOML = """\
# milsetctl contest settings. Every value below is the default from the 2022 call for entries;
# change what your contest does differently. Lines you delete fall back to these defaults.

[contest]
name = "MILSET STEAM Photo Contest 2022"
# "national" (awards per category) or "global" (global-1..3 and gallery places 4-10 overall)
stage = "national"
# time zone for submitted_at values written without one, and for the deadline
timezone = "Asia/Shanghai"
# last day to submit; the whole day counts (until 23:59:59 in the contest time zone)
deadline = 2022-07-11
theme = "SPACE"
# the submissions folder, remembered so that `milsetctl validate` works without naming it
source = ""
# the country this national round runs in: written into `nominate`'s manifest for entries that name none
country = ""

[photo]
# formats judged by the file's content, not its extension
formats = ["JPEG", "PNG"]
# minimum width in pixels as the photo is displayed (after EXIF orientation)
min_width = 2000
# maximum file size in bytes (10 MB = 10 x 1024 x 1024)
max_bytes = 10485760
# larger images are treated as decompression bombs (unreadable); 120 MP is far above any camera in use
max_megapixels = 120

[text]
title_max = 60
description_max = 300
# title and description must be written in English (Latin script); "review" when they are not
require_english = true

[entrants]
# grades allowed in each category (inclusive)
middle = [7, 9]
high = [10, 12]
one_per_contestant = true
# school years written in ways the built-in table does not know, or should read differently: written form = grade.
# Built in: 8, Grade 8, G8, 8th grade, 八年级, 初二, 初中二年级, 高一, 中四, Form 2, S2, 國二, full-width digits, and
# "Year N" as in England (Year 9 = grade 8); schools counting Year 9 as grade 9 (Australia) add "Year 9" = 9 here.
[entrants.grade_aliases]
# "预备班" = 6
# provinces written in ways the built-in table (ISO 3166-2:CN names in pinyin and Chinese, common English names)
# does not know: written form = the name used in [regions]
[entrants.province_aliases]
# "Canton" = "Guangdong"

[dates]
# day/month order of dates like 11/07/2022: "auto" (decided per column by a cell that can only be read one way,
# such as 13/07/2022; with none, month-first, and each such cell reported for review), "dmy", "mdy", or "ymd"
# (also reads two-digit year-first dates such as 22/07/11)
order = "auto"

[manifest]
# columns that must be present in a manifest; a missing one stops ingest with one clear error
required_columns = ["contestant_id", "file"]
# extra header names accepted for each column (case, spaces and underscores are ignored).
# The built-in aliases (English and Chinese: 姓名, 学校, 年级, 省份, 标题, 描述...) always apply.
[manifest.aliases]
# contestant_id = ["registration no"]

[analysis]
# worker processes for `validate`; 0 = all cores
jobs = 0
# near-duplicates: both perceptual hashes (DCT and difference, 64 bits each) within this many bits.
# Measured: 10 finds 97% of resized/recompressed/format-converted copies, 94% of 2% crops and 81% of 2-degree
# rotations, with 0 false matches in 2 M pairs of different photos (6 finds 95% / 75% / 51%).
duplicate_max_distance = 10
# face detector score above which a face is reported (dlib HOG frontal). Measured on the shared corpus: real
# faces score 0.6-1.9, no false face above 0; precision 1.00, recall 0.64 (turned heads and tiny faces are missed)
face_min_score = 0.5
# text detector (PP-OCR after a cheap pre-filter): minimum recognition score and letters/digits per text line.
# Measured on camera_text + text_graphics vs camera_pass: precision 0.88, recall 0.78
text_min_score = 0.8
text_min_chars = 3

[regions]
# China's regional rounds. A province found in no list is reported (region-unknown), never dropped.
North = ["Beijing", "Tianjin", "Heilongjiang", "Jilin", "Liaoning", "Hebei", "Inner Mongolia", "Shanxi", "Shandong"]
East = ["Shanghai", "Zhejiang", "Jiangsu"]
Central = ["Hunan", "Hubei", "Anhui", "Jiangxi"]
South = ["Guangdong", "Guangxi", "Fujian", "Hainan", "Hong Kong", "Macao", "Taiwan"]
West = ["Chongqing", "Sichuan", "Yunnan", "Guizhou", "Shaanxi", "Gansu", "Qinghai", "Tibet", "Ningxia", "Xinjiang"]

[jury]
min_jurors = 10
criteria = ["originality", "information", "technique", "impact"]
# weight of each criterion in the score (same order as criteria)
weights = [1, 1, 1, 1]
score_min = 1
score_max = 10
# how juror scores combine: "mean" (the call's rule), "trimmed" (drop each entry's highest and lowest juror
# score when at least trimmed_min_jurors scored it), "median", or "zscore" (standardise per juror and criterion)
method = "mean"
trimmed_min_jurors = 5
# jurors per entry for `jury sheets` when --quorum is not given; 0 = every juror scores every entry
quorum = 0
# printed on every score sheet's instructions: when and to whom jurors return their sheets ("" = not said)
sheets_due = ""
sheets_return_to = ""

[awards]
# Qualifier Award: rank <= floor(fraction x eligible entries of the category), at least one
qualifier_fraction = 0.35
global_top = 3
gallery_size = 10

[rules]
# override a rule's severity ("reject", "review", "info") or switch it off ("off"), e.g.
# camera-origin = "info"
"""


def _deep_merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _deep_merge(out[key], value)
        else:
            out[key] = value
    return out


class SettingsError(ValueError):
    """The settings file cannot be read or holds a value of the wrong kind."""


@dataclass
class Settings:
    """Everything a stage needs to know about the contest, loaded once and passed down."""

    raw: dict[str, Any]
    path: Path | None = None
    _tz: ZoneInfo | None = field(default=None, repr=False)

    # --- contest
    @property
    def name(self) -> str:
        return str(self.raw["contest"]["name"])

    @property
    def stage(self) -> str:
        return str(self.raw["contest"]["stage"])

    @property
    def tz(self) -> ZoneInfo:
        if self._tz is None:
            self._tz = ZoneInfo(self.raw["contest"]["timezone"])
        return self._tz

    @property
    def deadline_end(self) -> datetime:
        """The first instant that is late: midnight after the deadline day, contest time zone."""
        day = self.raw["contest"]["deadline"]
        if isinstance(day, datetime):
            return day if day.tzinfo else day.replace(tzinfo=self.tz)
        if isinstance(day, str):
            day = date.fromisoformat(day)
        return datetime.combine(day + timedelta(days=1), time(0, 0), tzinfo=self.tz)

    @property
    def source(self) -> str:
        return str(self.raw["contest"].get("source") or "")

    # --- sections as plain dicts
    def section(self, name: str) -> dict[str, Any]:
        return dict(self.raw.get(name) or {})

    @property
    def photo(self) -> dict[str, Any]:
        return self.section("photo")

    @property
    def text(self) -> dict[str, Any]:
        return self.section("text")

    @property
    def analysis(self) -> dict[str, Any]:
        return self.section("analysis")

    @property
    def regions(self) -> dict[str, list[str]]:
        return {k: list(v) for k, v in self.section("regions").items()}

    @property
    def jury(self) -> dict[str, Any]:
        return self.section("jury")

    @property
    def awards(self) -> dict[str, Any]:
        return self.section("awards")

    def category_for_grade(self, grade: int) -> str | None:
        for category in ("middle", "high"):
            low, high = self.raw["entrants"][category]
            if low <= grade <= high:
                return category
        return None

    def rule_severity(self, rule_id: str, default: str) -> str:
        return str(self.section("rules").get(rule_id, default))

def defaults() -> Settings:
    return Settings(raw=tomllib.loads(DEFAULT_TOML))


def load(path: Path) -> Settings:
    """Load a contest file over the defaults; a missing file means all defaults."""
    base = tomllib.loads(DEFAULT_TOML)
    if not path.exists():
        return Settings(raw=base, path=path)
    try:
        user = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise SettingsError(f"{path}: not a valid TOML file: {exc}") from exc
    settings = Settings(raw=_deep_merge(base, user), path=path)
    try:
        settings.tz  # noqa: B018 - validate early, with the file named
    except Exception as exc:
        zone = settings.raw["contest"]["timezone"]
        raise SettingsError(f"{path}: [contest] timezone: unknown time zone {zone!r}") from exc
    return settings


def write_default(path: Path, source: str = "") -> None:
    text = DEFAULT_TOML
    if source:
        text = text.replace('source = ""', f"source = {json.dumps(source, ensure_ascii=False)}", 1)
    path.write_text(text, encoding="utf-8")


def remember_source(path: Path, source: str) -> None:
    """Record the submissions folder in the settings file, keeping the coordinator's comments."""
    text = path.read_text(encoding="utf-8")
    lines = text.splitlines(keepends=True)
    for i, line in enumerate(lines):
        if line.strip().startswith("source =") or line.strip().startswith("source="):
            lines[i] = f"source = {json.dumps(source, ensure_ascii=False)}\n"
            path.write_text("".join(lines), encoding="utf-8")
            return
    path.write_text(text.replace("[contest]\n", f"[contest]\nsource = {json.dumps(source, ensure_ascii=False)}\n", 1),
                    encoding="utf-8")
