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
