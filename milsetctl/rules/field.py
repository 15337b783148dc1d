"""Rules the photo-contest field adds to the call for entries (issue 21): titles that are no titles, titles two
entries share, descriptions too hard for the public they are written for, guardians' consent for young contestants,
and personal data the contest never needed.

The call for entries is one source of rules; the field's own standards add checks coordinators run by hand today:
the conditions of entry of PSA-recognised and FIAP-patronised photo salons (a real title, unique per image), and
the data-protection law for minors (GDPR Art. 8 in the EU, China's PIPL). Heavy libraries (textstat, the country
table) are imported inside the checks that use them: `milsetctl rules` and `status` load this module for the
registry's IDs and docstrings only.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterator
from typing import Any

from milsetctl.models import Entry, PhotoInfo, person_key
from milsetctl.rules import ContestItem, ingest_rule, rule
from milsetctl.settings import Settings

# ---------------------------------------------------------------------------------------------------- titles

# The extension of a file a title was copied from ("IMG_1234.JPG", "moon.jpeg"): cameras', phones' and editors'.
_EXTENSION = re.compile(r"\.(?:jpe?g|jfif|jpe|png|heic|heif|hif|avif|webp|gif|bmp|tiff?|dng|cr2|cr3|crw|nef|nrw|arw"
                        r"|srf|sr2|raf|orf|rw2|pef|srw|x3f|3fr|iiq|rwl|mp4|mov)$", re.IGNORECASE)
# What copying, exporting and editing add to a file name: "IMG_1234 (1)", "IMG_1234 copy 2", "DSC_0001-Edit",
# "IMG_1234-2", "PXL_20220701_123456789.PORTRAIT", "IMG_20220701_123456_HDR", "微信图片_20220701123456_2"
_DECORATION = (r"(?:[ ._~-]*(?:\(\d{1,3}\)|copy(?: \d{1,3})?|副本|拷贝|edit(?:ed)?|enhanced(?:-nr)?|final|hdr|pano"
               r"|portrait|night|mp|burst\w*|cover|bokeh|\d{1,4}))*")
# File names cameras and phones write, matched against the whole title (case-insensitive, the extension and the
# decorations above removed); each with who writes it, for the message. Real titles these must leave alone, and do
# (tests/test_rules_field.py): "M42", "NGC 7000", "Apollo 11", "P1", "DSC", "Pixel Dreams", "1984".
_CAMERA_NAMES: tuple[tuple[str, str], ...] = (
    (r"PXL_\d{8}_\d{6,9}", "Google Pixel phones (PXL_20220701_123456789)"),
    (r"(?:IMG|VID|PANO|MVIMG)_\d{8}_\d{6,9}", "Android phones: Huawei, Honor, Xiaomi... (IMG_20220701_123456)"),
    (r"IMG\d{14}", "Xiaomi, OPPO and vivo phones (IMG20220701123456)"),
    (r"IMG_E?\d{4}", "Canon cameras and iPhones (IMG_1234; IMG_E1234: an iPhone's edited copy)"),
    (r"_MG_\d{4}", "Canon cameras in Adobe RGB (_MG_1234)"),
    (r"(?:MVI|CRW)_\d{4}", "Canon cameras (MVI_1234, CRW_1234)"),
    (r"DSC_\d{4}|_DSC\d{4,5}|DSCN\d{4}", "Nikon cameras (DSC_0001, _DSC0001, DSCN0001)"),
    (r"DSC\d{5}", "Sony cameras (DSC00001)"),
    (r"DSCF\d{4}|_DSF\d{4}", "Fujifilm cameras (DSCF0001)"),
    (r"P[1-9A-C]\d{6}|_[1-9A-C]\d{6}", "Olympus and Panasonic cameras (P1010034, PA010034)"),
    (r"IMGP\d{4}|_IGP\d{4}", "Pentax cameras (IMGP1234)"),
    (r"SAM_\d{4}", "Samsung cameras (SAM_1234)"),
    (r"\d{3}_\d{4}", "Kodak cameras (100_1234)"),
    (r"[RLB]\d{7}", "Ricoh, Leica and Hasselblad cameras (R0012345, L1000123)"),
    (r"SDIM\d{4}|_SDI\d{4}", "Sigma cameras (SDIM1234)"),
    (r"GOPR\d{4}|G[HXP]\d{6}|G\d{7}", "GoPro cameras (GOPR1234, GH010123)"),
    (r"DJI_\d{4}|DJI_\d{14}_\d{4}(?:_[A-Z])?", "DJI drones (DJI_0001)"),
    (r"\d{8}_\d{6}(?:_\d{3})?", "Samsung phones (20220701_123456)"),
    (r"IMG-\d{8}-WA\d{4}|WhatsApp Image \d{4}-\d{2}-\d{2} at .+", "WhatsApp (IMG-20220701-WA0001)"),
    (r"mmexport\d{10,13}|wx_camera_\d{10,13}|微信图片_\d{14}(?:_\d+)?|微信截图_\d{14}",
     "WeChat (mmexport1656651234567, 微信图片_20220701123456)"),
    (r"QQ图片\d{14}|QQ截图\d{14}", "QQ (QQ图片20220701123456)"),
    (r"(?:screenshot|screen shot|屏幕截图|屏幕快照|截屏|截图|snipaste|bildschirmfoto)(?:[ _-]*\d[\w .:,-]*)?",
     "a screenshot (Screenshot_20220701-123456, Screen Shot 2022-07-01 at 12.34.56)"),
    (r"FB_IMG_\d+|received_\d+|Snapchat-\d+|FullSizeRender|WIN_\d{8}_\d{2}_\d{2}_\d{2}_Pro",
     "a messaging app or an operating system (FB_IMG_..., Snapchat-..., FullSizeRender)"),
    (r"[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}", "a phone sharing a photo (a random UUID)"),
    (r"\d{4}[-_.]\d{2}[-_.]\d{2}(?:[ _-]\d{2}[.:_-]?\d{2}[.:_-]?\d{2})?",
     "a camera upload or file manager (2022-07-01 12.34.56)"),
)


@functools.cache
def _camera_res() -> tuple[tuple[re.Pattern[str], str], ...]:
    """The camera file-name patterns, compiled on first use: `milsetctl rules` lists this module's rules without
    them (26 regular expressions, ~5 ms of every start that loads the rule registry; issue 18)."""
    return tuple((re.compile(f"(?:{pattern}){_DECORATION}", re.IGNORECASE), who) for pattern, who in _CAMERA_NAMES)


# Titles that say there is no title, or that are the form's own placeholder: whole titles only, case-insensitive,
# a number after them allowed ("Untitled-1" is Photoshop's new file, "未标题-1" its Chinese, "image0" a browser's).
_PLACEHOLDER_TITLES = frozenset(t.strip() for t in re.split(r"[|\n]", """
untitled|untitle|no title|notitle|no name|noname|unnamed|title|my title|photo title|image title|the title
photo|photograph|my photo|a photo|picture|my picture|pic|pict|image|my image|img|images|new photo|new image
entry|my entry|contest entry|photo entry|submission|my submission|my work|test|testing|sample|example
n/a|na|none|nil|null|tbd|tba|to be decided|default|document|download|title here|your title
insert title|enter title|photo name|image name|untitled design
无题|無題|无标题|無標題|未命名|未命名作品|未标题|未標題|没有标题|暂无|暂无标题|无|无名|标题|題目|题目|作品|我的作品|参赛作品
图片|圖片|照片|相片|图像|摄影作品|摄影|新建|待定|未定|测试|无名称
sans titre|sin título|sin titulo|ohne titel|senza titolo|sem título|sem titulo|zonder titel|bez tytułu|без названия
제목 없음
""") if t.strip())
_COUNT = r"(?:\d{1,3}|[一二三四五六七八九十])"
_NUMBERED = re.compile(rf"(.+?)[ _#-]*(?:\({_COUNT}\)|{_COUNT}|no\.? ?\d{{1,3}})?")
# wrapping a title in quotes or title brackets changes nothing: 《无题》 is 无题
_WRAPPERS = "\"'“”‘’《》〈〉「」『』【】[]()（）<>«»"


def _bare(title: str) -> str:
    """The title as compared: NFKC (full-width Ｉｍｇ is Img), stripped of spaces, wrapping quotes and brackets and a
    final full stop, inner runs of space one space."""
    text = " ".join(unicodedata.normalize("NFKC", title).split())
    while len(text) > 1 and text[0] in _WRAPPERS and text[-1] in _WRAPPERS:
        text = text[1:-1].strip()
    return text.rstrip(".。!！ ").strip() or text


def _has_cjk(text: str) -> bool:
    return any("\u3400" <= ch <= "\u9fff" or "\uf900" <= ch <= "\ufaff" for ch in text)


def generic_title(title: str | None, file: str | None = None, contestant_id: str | None = None) -> str | None:
    """Why a title is no title, or None for a real one (or none at all: `title-missing` reports that).

    Whole titles only: "Untitled", "无题", "IMG_1234", but not "无题的远方" or "Untitled Dreams", which name a
    picture. A number is a counter when it has 5 digits or more, a leading zero, one digit, counts up (123, 1234) or
    repeats one digit (1111); a year or a short number ("1984", "365", "42") can be the picture's subject.
    """
    text = _bare(title or "")
    if not text:
        return None
    shown = " ".join((title or "").split())  # as written, for the message
    folded = text.casefold()
    ext = _EXTENSION.search(text)
    stem = text[:ext.start()].strip() if ext else text
    for pattern, who in _camera_res():
        if pattern.fullmatch(stem):
            return f"title {shown!r} is a file name written by {who}, not a title"
    if ext:
        return f"title {shown!r} is a file name (it ends in {ext.group(0)!r}), not a title"
    if file:
        own = file.rsplit("/", 1)[-1]
        own_stem = own[:own.rfind(".")] if "." in own else own
        # a file named after its title ("Moon over Hangzhou.jpg") is fine; a title copied from a file name is not
        looks_like_a_file = "_" in own_stem or re.search(r"\d{3}", own_stem) is not None
        if looks_like_a_file and folded == unicodedata.normalize("NFKC", own_stem).strip().casefold():
            return f"title {shown!r} is the photo's own file name ({own}), not a title"
    base = _NUMBERED.fullmatch(folded)
    if folded in _PLACEHOLDER_TITLES or (base is not None and base.group(1).strip() in _PLACEHOLDER_TITLES):
        return f"title {shown!r} says the photo has no title (a placeholder, not a title)"
    compact = re.sub(r"\s+", "", text)
    if compact.isdigit():
        digits = unicodedata.normalize("NFKC", compact)
        counting = len(digits) >= 3 and all(int(b) - int(a) == 1 for a, b in zip(digits, digits[1:], strict=False))
        repeated = len(digits) >= 3 and len(set(digits)) == 1  # 111, 1111
        if len(digits) >= 5 or len(digits) == 1 or digits.startswith("0") or counting or repeated:
            return f"title {shown!r} is only a number (a counter or a file number), not a title"
        return None
    if len(set(compact.casefold())) == 1 and (len(compact) >= 3 or not _has_cjk(compact)):
        # "aaa", "...", "1111", "x"; a Chinese word doubled ("星星", stars) is a word
        return f"title {shown!r} is one character{' repeated' if len(compact) > 1 else ''}, not a title"
    if not any(ch.isalnum() for ch in compact):
        return f"title {shown!r} holds no letter or digit, not a title"
    if contestant_id and folded == contestant_id.strip().casefold():
        return f"title {shown!r} is the contestant's ID, not a title"
    return None


@rule("title-generic", "review", "entry")
def title_generic(entry: Entry, photo: PhotoInfo | None, settings: Settings) -> Iterator[tuple[str, dict[str, Any]]]:
    """The title is no title: "Untitled", "无题", a camera's or phone's file name (IMG_1234, DSC_0001, P1010034,
    PXL_20220701_..., mmexport...), the photo's own file name, a counter, one character repeated.

    Photo salons refuse such titles: the conditions of entry of PSA-recognised exhibitions, which FIAP-patronised
    salons share, accept neither "Untitled" nor "No Title", nor camera capture file names, nor titles of numbers
    only, and ask each image for a title of its own. A title like that is usually the upload form filling the field
    from the file name, or a student who left it for later: the coordinator asks for a real one before the jury,
    the catalogue and the certificates print it. Review, not reject: the contestant can still give one.

    What counts (milsetctl/rules/field.py, `generic_title`): whole titles only, case- and width-insensitive, with
    the decorations copying adds ("IMG_1234 (1).jpg", "DSC_0001-Edit"). "无题的远方" or "Untitled Dreams" name a
    picture and are left alone (PSA refuses the words even as part of a title; a contest that wants that reads
    the titles). A year or a short number ("1984", "365") can be the subject and is left alone too; 5 digits or
    more, a leading zero, one digit, a count (123, 1234) or one digit repeated (1111) are counters. The photo's own
    file name counts only when it looks like one (an underscore, three digits in a row): a photo saved as
    "Moon over Hangzhou.jpg" may be titled so.
    """
    if not entry.listed:
        return
    reason = generic_title(entry.title, entry.file, entry.contestant_id)
    if reason:
        yield reason, {"title": entry.title}


@rule("title-duplicate", "info", "contest")
def title_duplicate(items: list[ContestItem], settings: Settings) -> Iterator[tuple[str, tuple[str, dict[str, Any]]]]:
    """Two entries share a title, compared ignoring case, width and spaces ("Moon Rise", "moonrise", "ＭＯＯＮ").

    Salons ask each image for a title of its own (PSA: "each image must have a unique title"): in the jury's lists,
    the award list, the catalogue and the certificates a title is how people name a photo, and two "Moonrise"
    entries are mixed up there. Info only: two students may well choose the same words; the message names the other
    entries so the coordinator can ask one to add a word. Generic titles ("Untitled", IMG_1234) are left to
    title-generic, so they are not reported twice.
    """
    groups: dict[str, list[ContestItem]] = {}
    for item in items:
        entry = item.entry
        if not entry.listed or not (entry.title or "").strip():
            continue
        if generic_title(entry.title, entry.file, entry.contestant_id):
            continue
        groups.setdefault(person_key(_bare(entry.title or "")), []).append(item)
    for members in groups.values():
        if len(members) < 2:
            continue
        for item in members:
            others = [m.entry for m in members if m is not item]
            named = [f"{o.entry_id or o.origin} ({o.file or o.origin})" for o in others[:5]]
            more = f" and {len(others) - 5} more" if len(others) > 5 else ""
            yield item.entry.key, (
                f"title {(item.entry.title or '').strip()!r} is also the title of {', '.join(named)}{more}",
                {"others": [o.entry_id for o in others]},
            )


# ------------------------------------------------------------------------------------------- plain language

# Flesch-Kincaid over fewer words says more about one long word than about the text ("Lunar eclipse, telephoto."):
# such descriptions are not graded
PLAIN_LANGUAGE_MIN_WORDS = 8
_SENTENCE_END = re.compile(r"(?<=[.!?…])[\"'”’)\]]*\s+|\n+")
_WORDS = re.compile(r"[^\W_]+(?:['’-][^\W_]+)*")


def longest_sentence(text: str) -> str:
    """The sentence of `text` with the most words (the first of equals), as written."""
    sentences = [s.strip() for s in _SENTENCE_END.split(text) if s and s.strip()]
    return max(sentences, key=lambda s: len(_WORDS.findall(s)), default=text.strip())


def reading_grade(text: str) -> float:
    """The Flesch-Kincaid grade of an English text (US school grade needed to read it), by textstat."""
    import textstat  # type: ignore[import-untyped]  # a heavy import: only when a description is graded

    return float(textstat.flesch_kincaid_grade(text))


def release_reading_memory() -> None:
    """Let go of textstat's pronunciation dictionary (CMUdict, ~72 MB in the process, kept by textstat in an
    lru_cache for the life of the process) once the descriptions are graded: validate's parent holds it through the
    text check's second pass otherwise, beside two workers with the OCR models (issue 18: 667 MB summed at 2,000
    entries, 72 of them this). The next grading loads it again (~1 s). Nothing happens when textstat was not used, or
    keeps it elsewhere (another version)."""
    import sys

    if "textstat" not in sys.modules:
        return
    for name in ("textstat.backend.utils._get_cmudict", "textstat.backend.counts._count_syllables"):
        module = sys.modules.get(name)
        for value in vars(module).values() if module is not None else ():
            clear = getattr(value, "cache_clear", None)
            if callable(clear) and getattr(value, "__module__", None) == name:
                clear()


@rule("plain-language", "info", "entry", uses=("rules.plain-language.max_grade",))
def plain_language(entry: Entry, photo: PhotoInfo | None, settings: Settings) -> Iterator[tuple[str, dict[str, Any]]]:
    """The description is harder to read than the public it is written for: its Flesch-Kincaid grade is above
    `[rules.plain-language] max_grade` (10).

    The call asks for a description in plain English, "understandable for youth/students and the public": the
    gallery and the certificates show it to visitors of every age, and a text written for a physics teacher
    loses them. The Flesch-Kincaid grade (textstat: sentence length and syllables per word, as a US school grade)
    is the measure schools and plain-language guides use; 10 is the end of the middle school years the contest's
    own youngest entrants are in. The message gives the grade and names the longest sentence, the usual culprit,
    so the coordinator can ask for a plainer text before the jury reads it. Info only: a clear text can still
    score high with one long word.

    Graded: English descriptions of 8 words or more (shorter ones make the formula say more about one word than
    about the text). Descriptions in another language or script are skipped: the `language` rule reports those,
    and the formula is English's.
    """
    if not entry.listed:
        return
    text = " ".join((entry.description or "").split())
    if len(_WORDS.findall(text)) < PLAIN_LANGUAGE_MIN_WORDS:
        return
    from milsetctl.rules.metadata import non_english_reason

    if non_english_reason(text):
        return
    limit = float(settings.rule_options("plain-language").get("max_grade", 10))
    grade = reading_grade(text)
    if grade <= limit:
        return
    sentence = longest_sentence(text)
    words = len(_WORDS.findall(sentence))
    shown = sentence if len(sentence) <= 160 else sentence[:157].rstrip() + "…"
    yield (f"description reads at grade {grade:.1f} (Flesch-Kincaid), above the {limit:g} the contest asks for (youth "
           f"and the public); its longest sentence ({words} words): {shown!r}",
           {"grade": round(grade, 1), "max_grade": limit, "longest_sentence": sentence})


# ----------------------------------------------------------------------------------- consent and minimisation

# GDPR Art. 8(1): consent for a child's data is given by the holder of parental responsibility under 16, or under the
# lower age a member state's law sets (not below 13). Each member state's age (its data protection act), by ISO
# 3166 code; the EEA states apply the GDPR too, and the United Kingdom's own GDPR sets 13.
GDPR_CONSENT_AGE: dict[str, int] = {
    "AT": 14, "BE": 13, "BG": 14, "HR": 16, "CY": 14, "CZ": 15, "DK": 13, "EE": 13, "FI": 13, "FR": 15,
    "DE": 16, "GR": 15, "HU": 16, "IE": 16, "IT": 14, "LV": 13, "LT": 14, "LU": 16, "MT": 13, "NL": 16,
    "PL": 16, "PT": 13, "RO": 16, "SK": 16, "SI": 15, "ES": 14, "SE": 13,
    "IS": 13, "LI": 16, "NO": 13, "GB": 13,
}
# China's PIPL Art. 28 and 31: a child under 14's personal information is sensitive, processed only with the consent
# of a parent or guardian
PIPL_CONSENT_AGE = 14
DEFAULT_CONSENT_AGE = 16  # GDPR Art. 8's own age, for a country none of the tables names: the careful side
# a school grade's youngest pupils, at the end of the school year the contest runs in: a child starts grade 1 at 6
# (by the 31 August cut-off in China; England's Year 2 = grade 1 likewise), so grade 7 is 12-13 years old
GRADE_TO_YOUNGEST_AGE = 5

_YES = frozenset(re.split(r"\|", "yes|y|true|t|1|ok|okay|agree|agreed|consent|consented|given|signed|received|on file"
                           "|approved|ja|oui|si|sí|sim|✓|✔|√|☑|✅|是|是的|同意|已同意|有|已签|已签字|已签署|已提交|已收到|对|好"
                           "|可以|允许|已授权"))
_NO = frozenset(re.split(r"\|", "no|n|false|f|0|none|not given|refused|declined|missing|pending|nein|non|não|✗|✘|×|☐|❌"
                          "|否|不|不同意|未同意|无|没有|未签|未签字|未签署|未提交|待定|不允许"))


def read_consent(value: str | None) -> bool | None:
    """A guardian_consent cell: True for yes, False for no (any spelling: yes/no, y/n, true/false, 1/0, ✓, 是/否,
    同意/不同意), None when blank or neither."""
    text = " ".join(unicodedata.normalize("NFKC", value or "").casefold().split()).strip(" .。!！")
    if not text:
        return None
    for candidate in (text, re.split(r"[\s,;:，；：(（/]", text, maxsplit=1)[0]):
        if candidate in _NO:
            return False
        if candidate in _YES:
            return True
    return None


def consent_age(country: str | None, settings: Settings) -> tuple[int, str]:
    """The age under which a contestant from `country` needs a guardian's consent, and where it comes from (for the
    message: "in China (PIPL Art. 31)"). `[privacy.consent_age]` in contest.toml first (its keys any spelling of a
    country, or `default`), then PIPL for China, GDPR Art. 8's table, then `default`, else 16."""
    from milsetctl.jury.conflicts import country_key, country_name  # the country table: pycountry, on first use

    code = country_key(country)
    table = dict(settings.section("privacy").get("consent_age") or {})
    own = {country_key(str(k)): v for k, v in table.items() if str(k).strip().casefold() != "default"}
    name = country_name(country) if code else "an entry naming no country"
    if code and code in own:
        return int(own[code]), f"for {name} (contest.toml [privacy.consent_age])"
    if code == "CN":
        return PIPL_CONSENT_AGE, "in China (PIPL Art. 31)"
    if code in GDPR_CONSENT_AGE:
        return GDPR_CONSENT_AGE[code], f"in {name} (GDPR Art. 8)"
    default = next((v for k, v in table.items() if str(k).strip().casefold() == "default"), None)
    if default is not None:
        return int(default), f"for {name} (contest.toml [privacy.consent_age] default)"
    return DEFAULT_CONSENT_AGE, f"for {name} (GDPR Art. 8's own age; no country age applies)"


def contestant_age(entry: Entry, settings: Settings) -> tuple[int, str] | None:
    """The contestant's age (whole years) and how it is known: an `age` value (a birth date or age column, read at
    ingest; the birth date itself is not kept), else the youngest age of the grade. None when neither is known."""
    written = re.search(r"\d{1,2}", unicodedata.normalize("NFKC", entry.extra.get("age", "")))
    if written and 3 <= int(written.group(0)) <= 30:
        return int(written.group(0)), f"aged {int(written.group(0))}"
    from milsetctl.ingest.values import parse_grade

    grade = parse_grade(entry.grade, dict(settings.section("entrants").get("grade_aliases") or {}))
    if grade is None:
        return None
    youngest = grade + GRADE_TO_YOUNGEST_AGE
    return youngest, f"in grade {grade} ({youngest}-{youngest + 1} years old; no birth date, the youngest counted)"


@rule("consent-missing", "review", "entry", uses=("privacy.consent_age", "privacy.require_consent_column"))
def consent_missing(entry: Entry, photo: PhotoInfo | None, settings: Settings) -> Iterator[tuple[str, dict[str, Any]]]:
    """A contestant younger than their country's age of digital consent has no parent's or guardian's consent
    recorded (the manifest's guardian_consent column: yes/no in any spelling, 是/否, 同意/不同意, y/n, 1/0, ✓).

    The contest keeps children's names, schools, photos and e-mails; under that age the law asks a parent's or
    guardian's consent. The ages (`[privacy.consent_age]` in contest.toml changes any, by country; `default` for
    every other country):

    - China: 14 (PIPL Art. 28 and 31: a child under 14's personal information is sensitive; a parent's or
      guardian's consent is needed).
    - EU: GDPR Art. 8 sets 16 unless a member state set lower (13 at least): Belgium, Denmark, Estonia, Finland,
      Latvia, Malta, Portugal, Sweden 13; Austria, Bulgaria, Cyprus, Italy, Lithuania, Spain 14; Czechia, France,
      Greece, Slovenia 15; Croatia, Germany, Hungary, Ireland, Luxembourg, Netherlands, Poland, Romania and
      Slovakia 16. The EEA: Iceland, Norway 13, Liechtenstein 16; the United Kingdom (UK GDPR) 13.
    - Any other country: 16 (GDPR's own age: the careful side), unless `default` says otherwise.

    The country is the entry's, else `[contest] country`. The age is the contestant's on the day they submitted,
    from a birth date column (read at ingest, then dropped: see extra-personal-data) or an age column; without
    either, the youngest age of the grade: a child starts grade 1 at 6, so at the contest (the end of a school
    year) grade 7 is 12-13 years old, grade 8 13-14, grade 9 14-15 and grade g at least g + 5. Counting the
    youngest asks consent for every pupil of a grade some of whom need it; one who skipped a grade is younger still
    (give birth dates when the contest must be exact).

    Checked for manifests (or sidecars) that have a guardian_consent column: a blank, "no" or unreadable cell of a
    contestant under the age is reported. A contest that collects consent on paper has no column and nothing is
    checked, unless `[privacy] require_consent_column = true`. Review by default (a coordinator can check the
    paper form and accept); a contest that must not keep a child's entry without consent sets
    `[rules] consent-missing = "reject"`.
    """
    if not entry.listed:
        return
    has_column = "guardian_consent" in entry.extra
    if not has_column and not settings.section("privacy").get("require_consent_column", False):
        return
    age = contestant_age(entry, settings)
    if age is None:
        return  # no grade and no age: the grade rule reports it
    years, how = age
    country = entry.country or str(settings.raw.get("contest", {}).get("country") or "") or None
    limit, basis = consent_age(country, settings)
    if years >= limit:
        return
    data = {"age": years, "consent_age": limit, "country": country}
    under = f"a contestant {how}, under {limit}, the age of consent {basis}"
    if not has_column:
        yield f"the manifest has no guardian_consent column, and {under}, needs a guardian's consent", data
        return
    written = entry.extra.get("guardian_consent", "")
    consent = read_consent(written)
    if consent is True:
        return
    if consent is False:
        yield f"guardian consent not given (guardian_consent {written!r}) for {under}", data
    elif not written.strip():
        yield f"no guardian consent recorded (guardian_consent is empty) for {under}", data
    else:
        yield (f"guardian_consent {written!r} reads as neither yes nor no (write yes/no, 是/否, 同意/不同意) for "
               f"{under}", data)


ingest_rule("extra-personal-data", "info", """The manifest has columns the contest does not need: date of birth, home
address, phone number, national ID number (出生日期, 家庭住址, 电话/手机, 身份证号...).

Data minimisation (GDPR Art. 5(1)(c), PIPL Art. 6): a contest of minors keeps what it needs (name, school, grade,
e-mail, the photo) and no more. Such columns are recognised by their headers (English and Chinese; more under
[manifest.aliases] birth_date / home_address / phone / national_id) and dropped as the manifest is read: their
values are never in the ledger (not even among the extra columns kept as they are), a report or any other output.
A birth date is read first to work out the contestant's age for consent-missing; only the age is kept.

One finding per manifest (per folder of sidecars), on the entry of its first row, naming the columns and how many
rows filled them in, never a value: the problem is the form, not one entry, and a finding on every entry would
bury the others. Info: nothing is wrong with the entries; the coordinator removes the columns from next year's
form.
""")
