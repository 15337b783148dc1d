"""A notice drawn: the letter (templates/notice-letter.html) in each language of the contest, as a PDF
(templates/notice.html, WeasyPrint) and as the plain text of its e-mail, from the same template so the two never
say different things."""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from functools import cache
from html import unescape
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from milsetctl.fsutil import atomic_path
from milsetctl.notices.i18n import LANGUAGES, catalogue_path, format_day, translate, translations
from milsetctl.notices.model import Notice
from milsetctl.notices.wording import AWARD, CATEGORY, CERTIFICATE_KIND, PLACE, subject_msg
from milsetctl.resources import templates_dir

LETTER = "notice-letter.html"
PAGE = "notice.html"
STYLE = "notice.css"
# the HTML lang attribute of each language (the stylesheet picks the Chinese faces and line height by it)
LANG_TAGS = {"en": "en", "zh": "zh-Hans"}
# what this module does to a letter (the Chinese spacing, the plain text): raise it when that changes, so the notices
# drawn before are drawn again (the templates and catalogues are hashed: `templates_digest`)
RENDER_VERSION = 2
PDF_KEY = "/milsetctlnotice"  # WeasyPrint writes <meta name="milsetctl-notice"> under this key (custom_metadata)


@dataclass
class Shared:
    """What every notice of a batch says alike: the contest, the counts the letters quote, the settings."""

    contest: str
    stage: str
    today: date
    judged: dict[str, int] = field(default_factory=dict)  # category -> photos judged in it
    judged_all: int = 0
    percent: str = "35"
    gallery_size: int = 10
    verify_url: str | None = None

    def context(self, lang: str) -> dict[str, Any]:
        return {"contest": self.contest, "stage": self.stage, "today": self.today, "judged": self.judged,
                "judged_all": self.judged_all, "percent": self.percent, "gallery_size": self.gallery_size,
                "verify_url": self.verify_url, "lang_tag": LANG_TAGS.get(lang, lang), "categories": CATEGORY,
                "awards": AWARD, "places": PLACE, "certificate_kinds": CERTIFICATE_KIND}


@cache
def _environment(lang: str) -> Any:
    """A Jinja2 environment for one language: the i18n extension with the language's catalogue (new-style
    gettext: parameters are escaped, `%%` is a percent sign), `|t` and `|day` for text built in Python;
    autoescape, so a name or title is text, never markup."""
    from jinja2 import Environment, FileSystemLoader, StrictUndefined

    env = Environment(loader=FileSystemLoader(str(templates_dir())), autoescape=True, undefined=StrictUndefined,
                      extensions=["jinja2.ext.i18n"])
    env.install_gettext_translations(translations(lang), newstyle=True)  # type: ignore[attr-defined]
    env.filters["t"] = lambda text: translate(text, lang)
    env.filters["day"] = lambda day: format_day(day, lang)
    return env


# a Chinese full stop, comma... is followed by no space: the template's line breaks between two sentences would
# show as one
_CJK_PUNCTUATION_SPACE = re.compile(r"([。！？；：，、）》])\s+")


def letter_html(notice: Notice, lang: str, shared: Shared) -> str:
    """The letter in one language, as HTML (one <article>)."""
    html = str(_environment(lang).get_template(LETTER).render(n=notice, c=shared.context(lang)))
    return _CJK_PUNCTUATION_SPACE.sub(r"\1", html) if lang == "zh" else html


def subject(notice: Notice, languages: list[str], shared: Shared) -> str:
    """The e-mail's subject in each language, joined with " / " (one language: just it)."""
    lines = [translate(subject_msg(shared.contest), lang) for lang in languages]
    return " / ".join(dict.fromkeys(lines))


def page_html(notice: Notice, languages: list[str], shared: Shared, digest: str) -> str:
    """The whole notice as one HTML document, each language from a new page."""
    from markupsafe import Markup

    letters = [(LANG_TAGS.get(lang, lang), Markup(letter_html(notice, lang, shared))) for lang in languages]
    title = f"{subject(notice, languages[:1], shared)} · {notice.name}"
    return str(_environment(languages[0]).get_template(PAGE).render(letters=letters, digest=digest, title=title))


def plain_text(notice: Notice, languages: list[str], shared: Shared) -> str:
    """The notice as the e-mail's plain-text body: each language's letter, one after the other."""
    parts = [html_to_text(letter_html(notice, lang, shared)) for lang in languages]
    return ("\n\n" + "—" * 24 + "\n\n").join(parts) + "\n"


@cache
def templates_digest() -> str:
    """A hash of the templates, the stylesheet and the catalogues: a notice drawn with other wording or layout is
    drawn again."""
    h = hashlib.sha256()
    for path in [templates_dir() / name for name in (LETTER, PAGE, STYLE)] + \
            [catalogue_path(lang) for lang in LANGUAGES if lang != "en"]:
        h.update(path.name.encode())
        h.update(path.read_bytes() if path.is_file() else b"")
    return h.hexdigest()[:16]


def render_digest(notice: Notice, languages: list[str]) -> str:
    """What the PDF shows: the notice's facts, its languages and the wording/layout files."""
    text = f"{notice.digest()}|{','.join(languages)}|{templates_digest()}|{RENDER_VERSION}"
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def pdf_digest(path: Path) -> str | None:
    """The render digest a notice PDF was drawn with (its metadata), or None."""
    from pypdf import PdfReader

    try:
        metadata = PdfReader(str(path)).metadata
    except Exception:  # noqa: BLE001 - an unreadable old file is drawn again
        return None
    value = metadata.get(PDF_KEY) if metadata is not None else None
    return str(value) if value else None


# the CJK faces notice.css names, cut to each batch's characters as the certificates' are (certificates/subset.py
# says why: WeasyPrint subsets a whole 20 MB Noto CJK face for every PDF, ~60 ms a face): (role, system family,
# fontconfig style, CSS font-weight)
NOTICE_FACES = (("serif", "Noto Serif CJK SC", "regular", "normal"), ("serif", "Noto Serif CJK SC", "bold", "bold"),
                ("sans", "Noto Sans CJK SC", "regular", "normal"), ("sans", "Noto Sans CJK SC", "bold", "bold"))


@contextmanager
def batch_fonts(cache_dir: Path, htmls: Iterable[str]) -> Iterator[dict[str, Any]]:
    """NOTICE_FACES cut to the characters of the letters `htmls` (certificates/fonts.batch_fonts), for `draw_pdf`
    while the `with` block lasts. Measured on 30 English notices to Chinese names: 116 -> ~50 ms of CPU each."""
    from milsetctl.certificates.fonts import batch_fonts as cut

    with cut(cache_dir, (unescape(html) for html in htmls), NOTICE_FACES, "Notice") as fonts:
        yield fonts


def stylesheet_text(fonts: dict[str, Any] | None = None) -> str:
    """notice.css, with the batch's cut faces (`batch_fonts`) declared and named in front of the system faces they
    were cut from ("Noto Serif CJK SC" -> "Notice serif CJK <tag>", "Noto Serif CJK SC"): the same glyphs, and a
    character the cut lacks still comes from the system face."""
    css = (templates_dir() / STYLE).read_text(encoding="utf-8")
    if not fonts or not fonts.get("families"):
        return css
    system = {role: family for role, family, _, _ in NOTICE_FACES}
    for role, family in fonts["families"].items():
        css = css.replace(f'"{system[role]}"', f'"{family}", "{system[role]}"')
    rules = [f'@font-face {{ font-family: "{face["family"]}"; font-weight: {face["weight"]}; '
             f'src: url("{face["url"]}"); }}' for face in fonts["faces"]]
    return "\n".join([*rules, css])


# the stylesheet parsed, per process id (a forked worker parses its own): (the batch's fonts' key, the CSS)
_STYLESHEETS: dict[int, tuple[str, Any]] = {}


def _stylesheet(fonts: dict[str, Any] | None = None) -> Any:
    """The stylesheet (`stylesheet_text`), parsed once per process and batch and given to every notice it draws: as
    a <link> of the page, WeasyPrint parsed notice.css again for every notice (a sixth of a notice's layout, issue
    18). WeasyPrint takes it as a user stylesheet; with no other author styles in the page (no <style>, no style
    attributes) the cascade is the same."""
    key = "|".join(sorted((fonts or {}).get("families", {}).values()))
    cached = _STYLESHEETS.get(os.getpid())
    if cached is None or cached[0] != key:
        from weasyprint import CSS

        cached = _STYLESHEETS[os.getpid()] = (key, CSS(string=stylesheet_text(fonts), base_url=str(templates_dir()),
                                                       font_config=_font_config()))
    return cached[1]


def _font_config() -> Any:
    """The certificates' WeasyPrint font configuration, one per process: the fonts loaded once for the batch, and
    their stand-in for cffi's type parser (certificates/render.py, _SizedArrayFFI: WeasyPrint asks for a new array
    type for most fonts it subsets, ~1/6 of writing a notice's PDF)."""
    from milsetctl.certificates.render import _font_config as shared

    return shared()


def draw_pdf(html: str, path: Path, fonts: dict[str, Any] | None = None) -> Path:
    """The notice's HTML as a PDF at `path`, whole or not at all (fsutil.atomic_path); the digest's <meta> goes
    into the PDF's metadata. `fonts`: the batch's cut faces (`batch_fonts`), or None for the system faces."""
    from weasyprint import HTML

    document = HTML(string=html, base_url=str(templates_dir())).render(font_config=_font_config(),
                                                                       stylesheets=[_stylesheet(fonts)])
    with atomic_path(path) as tmp:
        document.write_pdf(tmp, custom_metadata=True)
    return path


def draw_pdfs(job: tuple[dict[str, Any] | None, list[tuple[str, str]]]) -> int:
    """Draw each (html, pdf path) of a batch with its fonts (a task of the drawing pool: `job` = (fonts, letters));
    returns how many were drawn."""
    fonts, letters = job
    for html, path in letters:
        draw_pdf(html, Path(path), fonts)
    return len(letters)


# --- the letter as plain text --------------------------------------------------------------------------------------
class _Text(HTMLParser):
    """Paragraphs and headings as lines with a blank line between blocks, headings underlined; list items
    numbered ("1.") or bulleted ("•"), a list item's further paragraphs indented under it; a table row's cells
    joined with " — " (a line break inside a cell: " / ")."""

    BLOCKS = {"p", "h1", "h2", "h3", "header", "footer", "section", "article", "table", "div"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lines: list[str] = []
        self.current: list[str] = []
        self.lists: list[list[int]] = []  # per open list: [numbered (0/1), items so far]
        self.heading = ""
        self.item_started = False  # the open list item has a line already: the next ones are indented
        self.in_cell = False

    def _flush(self, gap: bool = True) -> None:
        text = " ".join("".join(self.current).split())
        self.current = []
        if not text:
            if gap:
                self.lines.append("")  # (runs of blank lines become one)
            return
        if self.lists and self.item_started:
            text = "   " + text
        self.lines.append(text)
        if self.lists:
            self.item_started = True
        if self.heading:
            mark = "=" if self.heading == "h2" else "-"
            self.lines.append(mark * (len(text) if text.isascii() else min(2 * len(text), 60)))
        if gap:
            self.lines.append("")

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "br" and self.in_cell:
            self.current.append(" / ")
        elif tag == "br":
            self._flush(gap=False)
        elif tag in ("ol", "ul"):
            self._flush()
            self.lists.append([int(tag == "ol"), 0])
        elif tag == "li" and self.lists:
            self._flush()
            self.lists[-1][1] += 1
            numbered, count = self.lists[-1]
            self.item_started = False
            self.current.append(f"{count}. " if numbered else "• ")
        elif tag == "p" and self.lists:
            pass  # a paragraph inside a list item: its own line, under the item
        elif tag in ("td", "th"):
            self.in_cell = True
            if "".join(self.current).strip():
                self.current.append(" — ")
        elif tag in self.BLOCKS:
            self._flush()
        if tag in ("h2", "h3"):
            self.heading = tag

    def handle_endtag(self, tag: str) -> None:
        if tag == "p" and self.lists:
            self._flush(gap=False)
        elif tag == "li":
            self._flush(gap=False)
            self.lines.append("")
        elif tag in ("ol", "ul") and self.lists:
            self._flush()
            self.lists.pop()
            self.item_started = False
        elif tag in ("td", "th"):
            self.in_cell = False
        elif tag == "tr":
            self._flush(gap=False)
        elif tag in self.BLOCKS:
            self._flush()
        if tag in ("h2", "h3"):
            self.heading = ""

    def handle_data(self, data: str) -> None:
        self.current.append(data)


def html_to_text(html: str) -> str:
    parser = _Text()
    parser.feed(html)
    parser.close()
    parser._flush()
    lines: list[str] = []
    for line in parser.lines:
        if line == "" and (not lines or lines[-1] == ""):
            continue
        lines.append(line)
    return "\n".join(lines).strip()
