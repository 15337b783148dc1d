"""Manifest header names: the columns SPEC defines and the names coordinators really use for them."""

from __future__ import annotations

import re
import unicodedata

# a manifest's file name, case folded, as it sits at the top of a submissions folder or nomination package
MANIFEST_NAMES = ("entries.csv", "entries.xlsx", "entries.tsv", "entries.txt")
COLUMNS = (
    "contestant_id", "name", "school", "grade", "province", "country", "email", "file", "title",
    "description", "submitted_at",
)

BUILTIN_ALIASES: dict[str, list[str]] = {
    "contestant_id": ["id", "contestant", "contestant no", "participant id", "student id", "registration id",
                      "registration number", "entrant id", "编号", "参赛编号", "选手编号", "报名编号", "参赛号",
                      "学生编号", "考号", "id号"],
    "name": ["full name", "student name", "contestant name", "participant", "姓名", "名字", "学生姓名",
             "选手姓名", "参赛者", "参赛者姓名", "作者", "作者姓名"],
    "school": ["school name", "institution", "学校", "学校名称", "所在学校", "就读学校"],
    "grade": ["class", "year", "school year", "年级", "就读年级"],
    "province": ["state", "region", "province/state", "省份", "省", "省市", "所在省份", "地区", "省/直辖市"],
    "country": ["nation", "country/region", "国家", "国家/地区", "国籍"],
    "email": ["e-mail", "mail", "email address", "邮箱", "电子邮箱", "电子邮件", "邮件"],
    "file": ["filename", "file name", "photo", "photo file", "image", "image file", "path", "文件",
             "文件名", "照片", "照片文件", "作品", "作品文件", "文件路径", "图片"],
    "title": ["photo title", "entry title", "标题", "作品标题", "作品名称", "题目", "作品名"],
    "description": ["desc", "photo description", "caption", "描述", "作品描述", "简介", "说明", "作品说明",
                    "作品简介"],
    "submitted_at": ["submitted", "submission time", "submission date", "timestamp", "time", "date",
                     "提交时间", "提交日期", "上传时间", "报名时间", "时间"],
}


# Columns SPEC does not list that ingest reads for the consent rule (issue 21, milsetctl/rules/field.py): kept in
# Entry.extra under these names (guardian_consent even when blank: the column was asked, the cell left empty).
CONSENT_COLUMNS: dict[str, list[str]] = {
    "guardian_consent": ["guardian consent", "parental consent", "parent consent", "consent", "consent given",
                         "guardian agreed", "家长同意", "监护人同意", "家长是否同意", "监护人是否同意", "家长知情同意",
                         "监护人知情同意", "知情同意", "同意书", "家长同意书", "监护人同意书"],
    "age": ["age (years)", "年龄", "年龄（岁）", "年龄(岁)"],
}
# Personal data the contest does not need (issue 21, data minimisation for minors): read by header like any column,
# never kept (not in Entry.extra, so never in the ledger or any output); the birth date only gives the age first.
# Column -> (what it is, in words, for the extra-personal-data finding; the headers coordinators use for it).
PERSONAL_COLUMNS: dict[str, tuple[str, list[str]]] = {
    "birth_date": ("date of birth", [
        "date of birth", "birth date", "birthdate", "birthday", "dob", "d.o.b.", "born", "born on", "出生日期",
        "出生年月", "出生年月日", "生日", "出生时间"]),
    "home_address": ("home address", [
        "address", "home address", "street address", "postal address", "mailing address", "residential address",
        "家庭住址", "住址", "家庭地址", "地址", "通讯地址", "居住地址", "联系地址", "邮寄地址"]),
    "phone": ("phone number", [
        "telephone", "tel", "phone number", "mobile", "mobile phone", "mobile number", "cell", "cell phone",
        "cellphone", "contact number", "parent phone", "guardian phone", "parent's phone", "电话", "手机", "手机号",
        "手机号码", "电话号码", "联系电话", "联系方式", "家长电话", "家长手机", "监护人电话", "监护人手机"]),
    "national_id": ("national ID number", [
        "national id", "national id number", "id number", "id card", "id card number", "identity card",
        "identity number", "citizen id", "passport", "passport number", "身份证", "身份证号", "身份证号码",
        "身份证件号码", "证件号", "证件号码", "公民身份号码"]),
}


# publication_consent (issue 19, milsetctl/publication.py): whether the entry may be shown in public (the gallery,
# verify.html). Not a column SPEC lists: kept in Entry.extra under this name, a blank cell too (the column was asked
# and nothing was ticked: no consent).
PUBLICATION_COLUMN = "publication_consent"
PUBLICATION_ALIASES = [
    "publication consent", "consent to publish", "consent to publication", "publish", "publish name",
    "may publish", "publication", "photo release", "media release", "media consent", "gallery consent",
    "同意公开", "是否同意公开", "同意公开展示", "公开展示", "同意发布", "同意发表", "同意展示", "公开姓名",
    "同意公开姓名", "是否公开",
]


def header_key(text: str) -> str:
    """Compare headers ignoring case, width, spaces, underscores and a trailing colon."""
    t = unicodedata.normalize("NFKC", str(text)).strip().casefold()
    t = re.sub(r"[\s_\-:：*]+", " ", t).strip()
    return t


def alias_map(extra: dict[str, list[str]] | None = None) -> dict[str, str]:
    """header key -> column name, the contest's own aliases winning over the built-in ones."""
    mapping: dict[str, str] = {}
    for column in COLUMNS:
        mapping[header_key(column)] = column
        for alias in BUILTIN_ALIASES.get(column, []):
            mapping.setdefault(header_key(alias), column)
    for column, names in [*CONSENT_COLUMNS.items(), *((c, n) for c, (_, n) in PERSONAL_COLUMNS.items())]:
        for alias in [column, *names]:
            mapping.setdefault(header_key(alias), column)  # SPEC's columns' aliases win ("id号" stays contestant_id)
    for alias in [PUBLICATION_COLUMN, *PUBLICATION_ALIASES]:
        mapping.setdefault(header_key(alias), PUBLICATION_COLUMN)
    for column, names in (extra or {}).items():
        for alias in names if isinstance(names, list) else [names]:
            mapping[header_key(alias)] = column
    return mapping


def match_headers(headers: list[str], extra: dict[str, list[str]] | None = None) -> dict[int, str]:
    """Column index -> column name for the headers we recognise; the first of duplicates wins."""
    mapping = alias_map(extra)
    found: dict[int, str] = {}
    taken: set[str] = set()
    for index, header in enumerate(headers):
        column = mapping.get(header_key(header))
        if column and column not in taken:
            found[index] = column
            taken.add(column)
    return found


def publication_aliases() -> frozenset[str]:
    """The header keys (`header_key`) of the publication_consent column: its name and PUBLICATION_ALIASES."""
    return frozenset(header_key(a) for a in [PUBLICATION_COLUMN, *PUBLICATION_ALIASES])
