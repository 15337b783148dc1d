"""What a result notice says, in words a 14-year-old and a parent understand: one plain sentence for each rule (what
was wrong with the entry, and what the rule is and why), for each decision, each award and each category.

Every sentence is a `Msg`: an English message ID (the gettext key, extracted from the `Msg(...)` calls by Babel,
tests/test_notices_i18n.py) and its parameters, translated when the notice is written in a language
(milsetctl/notices/i18n.py). A parameter may itself be a `Msg` (a category's name inside a sentence) or a date
(written the way the language writes dates). Nothing here is a rule ID: a rule without a sentence of its own gets
the general one, never its ID (tests check every registered rule has its own)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Msg:
    """An English sentence (the message ID) and its `%(name)s` parameters, translated at render time."""

    msgid: str
    params: dict[str, Any] = field(default_factory=dict)

    def __init__(self, msgid: str, **params: Any) -> None:
        object.__setattr__(self, "msgid", msgid)
        object.__setattr__(self, "params", params)


@dataclass(frozen=True)
class Reason:
    """One reason an entry was not judged: what was wrong (`problem`), the rule and why it exists (`rule`), and
    for a decision the organisers' own words (`note`, shown as they wrote them, not translated)."""

    problem: Msg
    rule: Msg | None = None
    note: str | None = None


# --- categories, awards, places ------------------------------------------------------------------------------------
CATEGORY = {
    "middle": Msg("Middle School (grades 7–9)"),
    "high": Msg("High School (grades 10–12)"),
}

# the award as the notice names it; the certificate's own (English) wording is shown beside it
AWARD = {
    "qualifier": Msg("Qualifier Award"),
    "global-1": Msg("Global Award, First Place"),
    "global-2": Msg("Global Award, Second Place"),
    "global-3": Msg("Global Award, Third Place"),
    "gallery": Msg("Virtual Gallery Selection"),
}

CERTIFICATE_KIND = {
    "participation": Msg("Certificate of Participation"),
    "qualifier": Msg("Qualifier Award certificate"),
    "global": Msg("Global Award certificate"),
    "gallery": Msg("Virtual Gallery certificate"),
}

# where the jury placed a photo in the global round
PLACE = {
    "global-1": Msg("The jury placed it first of all the photos."),
    "global-2": Msg("The jury placed it second of all the photos."),
    "global-3": Msg("The jury placed it third of all the photos."),
}



def subject_msg(contest: str) -> Msg:
    """The e-mail's subject."""
    return Msg("Your result in the %(contest)s", contest=contest)


def _mb(settings: Any) -> str:
    value = settings.photo.get("max_bytes", 10485760) / (1024 * 1024)
    return f"{value:g}"


def _formats(settings: Any) -> str:
    return " / ".join(str(f) for f in settings.photo.get("formats", ["JPEG", "PNG"]))


def _grades(settings: Any) -> dict[str, Any]:
    entrants = settings.raw.get("entrants", {})
    middle, high = entrants.get("middle", [7, 9]), entrants.get("high", [10, 12])
    return {"low": min(middle[0], high[0]), "high": max(middle[1], high[1])}


def _closing(settings: Any) -> Msg:
    """The closing time as the rule reads it: the whole deadline day, or the instant a date-time names."""
    deadline = settings.deadline
    zone = settings.raw["contest"].get("timezone", "")
    if deadline.whole_day:
        return Msg("Entries had to arrive by the end of %(day)s (%(zone)s time).", day=deadline.day, zone=zone)
    return Msg("Entries had to arrive by %(time)s on %(day)s (%(zone)s time).", day=deadline.day, zone=zone,
               time=deadline.last.astimezone(deadline.tz).strftime("%H:%M"))


# --- rules: (what was wrong, the rule and why) -----------------------------------------------------------------------
RuleWords = Callable[[Any], tuple[Msg, Msg]]

RULES: dict[str, RuleWords] = {
    "missing-file": lambda s: (
        Msg("The photo file named on your entry form never reached us."),
        Msg("Every entry needs its photo file, sent with the entry form.")),
    "unlisted-file": lambda s: (
        Msg("We received a photo file that no entry form names."),
        Msg("Each photo must be listed on an entry form with the photographer's details.")),
    "unreadable": lambda s: (
        Msg("Your photo file is damaged or incomplete, so it cannot be opened and shown to the jury."),
        Msg("The photo must be a complete file that opens normally.")),
    "decode-warning": lambda s: (
        Msg("Your photo file is slightly damaged."),
        Msg("The photo must be a complete file that opens normally.")),
    "format": lambda s: (
        Msg("Your photo is saved as a kind of file the contest does not accept."),
        Msg("Photos must be %(formats)s files (iPhone HEIC, WebP, TIFF or GIF files are not accepted).",
            formats=_formats(s))),
    "extension-mismatch": lambda s: (
        Msg("Your file's name says one kind of file, but it is another (for example a PNG named .jpg)."),
        Msg("A file's name should match the kind of file it is.")),
    "file-size": lambda s: (
        Msg("Your photo file is too large."),
        Msg("A photo file may be at most %(mb)s MB.", mb=_mb(s))),
    "min-width": lambda s: (
        Msg("Your photo is too small: it is not wide enough."),
        Msg("Photos must be at least %(px)s pixels wide (turned the right way up), so the jury can see the detail.",
            px=s.photo.get("min_width", 2000))),
    "camera-origin": lambda s: (
        Msg("Your photo file does not say which camera took it."),
        Msg("Photos must be your own, taken with a digital camera (a phone camera counts); a camera normally writes "
            "its name into the file.")),
    "edited": lambda s: (
        Msg("Your photo was changed with photo-editing software."),
        Msg("Cropping and adjusting light and colour are allowed; adding, removing or changing what the photo shows "
            "is not.")),
    "c2pa-unread": lambda s: (
        Msg("Your photo carries a record of how it was made that we could not read."),
        Msg("Photos must be taken with a camera; images made by software are not allowed.")),
    "title-missing": lambda s: (
        Msg("Your entry has no title."),
        Msg("Every photo needs a title in English.")),
    "title-length": lambda s: (
        Msg("Your photo's title is too long."),
        Msg("A title may be at most %(n)s characters long.", n=s.text.get("title_max", 60))),
    "description-missing": lambda s: (
        Msg("Your entry has no description."),
        Msg("Every photo needs a short description in plain English.")),
    "description-length": lambda s: (
        Msg("Your description is too long."),
        Msg("A description may be at most %(n)s characters long.", n=s.text.get("description_max", 300))),
    "language": lambda s: (
        Msg("Your title or description is not written in English."),
        Msg("The title and description must be in English, so that the international jury can read them.")),
    "one-per-contestant": lambda s: (
        Msg("You sent more than one photo."),
        Msg("Each contestant may enter one photo: we kept the one you sent last and set the others aside.")),
    "duplicate-image": lambda s: (
        Msg("This photo is the same as, or almost the same as, the photo of another entry."),
        Msg("Every photo must be the contestant's own work, entered once.")),
    "software-created": lambda s: (
        Msg("Your photo file shows that it was made by a computer program (such as an AI image generator), not "
            "taken with a camera."),
        Msg("Images made by software, generative AI included, are not allowed: the photo must be taken with a "
            "camera.")),
    "face": lambda s: (
        Msg("A person's face can be seen in your photo."),
        Msg("To protect people's privacy, photos must not show people's faces.")),
    "text-watermark": lambda s: (
        Msg("There is writing, a logo or a watermark on your photo."),
        Msg("Photos must not carry a watermark, a signature or added text.")),
    "late": lambda s: (
        Msg("Your entry arrived after the closing date."),
        _closing(s)),
    "grade": lambda s: (
        Msg("Your school grade is missing, or is not one of the grades this contest is for."),
        Msg("The contest is for students in grades %(low)s to %(high)s.", **_grades(s))),
    "region-unknown": lambda s: (
        Msg("We could not match your province to one of the contest's regional rounds."),
        Msg("Each entry takes part in the regional round of its province.")),
    "missing-field": lambda s: (
        Msg("Your entry form has no contestant number."),
        Msg("Every entry needs the contestant number it was registered with.")),
    "mangled-id": lambda s: (
        Msg("Your contestant number was changed by a spreadsheet program and can no longer be read."),
        Msg("Every entry needs the contestant number it was registered with.")),
    "date-ambiguous": lambda s: (
        Msg("The date your entry was sent can be read as two different days."),
        Msg("Entries had to arrive by the closing date, so we need to know the day it was sent.")),
    "unreadable-date": lambda s: (
        Msg("We could not read the date your entry was sent."),
        Msg("Entries had to arrive by the closing date, so we need to know the day it was sent.")),
    "path-outside": lambda s: (
        Msg("Your entry form names a file that is not among the photos sent."),
        Msg("Every entry needs its photo file, sent with the entry form.")),
    "sidecar-invalid": lambda s: (
        Msg("The details sent with your photo could not be read."),
        Msg("Each photo needs its entry details (name, title, description) in a readable form.")),
    # the rules SPEC announces for the next capabilities
    "title-generic": lambda s: (
        Msg("Your title does not say anything about the photo (for example “Untitled” or “IMG_1234”)."),
        Msg("A title should tell the jury what the photo shows.")),
    "title-duplicate": lambda s: (
        Msg("Another entry has the same title as yours."),
        Msg("A title should tell the jury what your photo shows.")),
    "plain-language": lambda s: (
        Msg("Your description is hard to read."),
        Msg("The description should be in plain English that everyone can understand.")),
    "past-entry": lambda s: (
        Msg("This photo was already entered in an earlier year of the contest."),
        Msg("Every photo must be new to the contest.")),
    "consent-missing": lambda s: (
        Msg("We do not have the permission needed to show your photo and name in public."),
        Msg("A parent or guardian must agree before a young contestant's photo and name are published.")),
    "extra-personal-data": lambda s: (
        Msg("Your entry includes personal details the contest does not need."),
        Msg("We only keep the details the contest needs, to protect your privacy.")),
}

GENERAL = (Msg("Your entry did not meet one of the contest's rules."),
           Msg("The organisers can tell you which rule and why: reply to this message."))


def rule_reason(rule_id: str, settings: Any) -> Reason:
    """The plain reason for one finding of `rule_id` (never the ID itself)."""
    words = RULES.get(rule_id)
    problem, rule = words(settings) if words is not None else GENERAL
    return Reason(problem, rule)


def decision_reason(note: str | None) -> Reason:
    """The organisers' decision to leave an entry out, with their own words when they gave any."""
    return Reason(Msg("The organisers looked at your entry closely and decided it cannot take part."),
                  Msg("Entries that our checks flag are looked at by a person, who decides."),
                  note=(note or "").strip() or None)


WITHDRAWN = Reason(Msg("Your entry is no longer on the contest's list of entries (it was withdrawn)."),
                   Msg("Only entries on the list are judged."))
