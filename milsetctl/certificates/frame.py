"""What every certificate of a batch shares, read from [certificates] in the settings (issue 19): who signs (names,
titles, signature images), the logo, where the contest is held, the issue date and the address of the published
verification page.

Read once per batch, before anything is printed: a logo or signature file that is missing, a date that is no date
or a verify_url that is no web address stops the batch with one message naming the setting, rather than printing
a few hundred certificates without it."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from milsetctl.certificates.model import DEFAULT_SIGNATURES, CertificateError, Frame, Signatory
from milsetctl.workspace import Workspace

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".svg")
MAX_SIGNATORIES = 3  # the footer holds three blocks beside the verification box


def _section(ws: Workspace) -> dict[str, Any]:
    section = ws.settings.raw.get("certificates")
    return section if isinstance(section, dict) else {}


def _image(ws: Workspace, setting: str, value: Any) -> str:
    """The file URI of an image named in the settings (relative to the workspace, or absolute)."""
    if not isinstance(value, str) or not value.strip():
        raise CertificateError(f"[certificates] {setting} = {value!r}: must be the path of an image file", 2)
    path = Path(value.strip()).expanduser()
    path = path if path.is_absolute() else Path(ws.root) / path
    if not path.is_file():
        raise CertificateError(f"[certificates] {setting} = {value!r}: no such file ({path})", 2)
    if path.suffix.lower() not in IMAGE_SUFFIXES:
        raise CertificateError(f"[certificates] {setting} = {value!r}: must be a PNG, JPEG or SVG image", 2)
    return path.resolve().as_uri()


def signatories(ws: Workspace, member: bool = False) -> tuple[Signatory, ...]:
    """The signature blocks, left to right: [certificates] signatories (member_signatories for the member
    certificates, which MILSET itself issues), else the two bare titles of `signatures` with a line to sign by
    hand."""
    section = _section(ws)
    key = "member_signatories" if member else "signatories"
    given = section.get(key) or []
    if not given:
        titles = section.get("member_signatures" if member else "signatures") or DEFAULT_SIGNATURES
        return tuple(Signatory(str(t)) for t in titles)
    if not isinstance(given, list) or len(given) > MAX_SIGNATORIES:
        raise CertificateError(f"[certificates] {key}: a list of one to {MAX_SIGNATORIES} signatories, e.g. "
                               '[{name = "Dr. Li Na", title = "Chair of the Jury"}]', 2)
    out = []
    for i, item in enumerate(given, 1):
        if not isinstance(item, dict) or not isinstance(item.get("title", ""), str) \
                or not isinstance(item.get("name", ""), str) or not (item.get("name") or item.get("title")):
            raise CertificateError(f"[certificates] {key}, signatory {i}: a table with a name and a title, e.g. "
                                   '{name = "Dr. Li Na", title = "Chair of the Jury"}', 2)
        unknown = sorted(set(item) - {"name", "title", "signature"})
        if unknown:
            raise CertificateError(f"[certificates] {key}, signatory {i}: unknown field {', '.join(unknown)} "
                                   "(name, title, signature)", 2)
        picture = _image(ws, f"{key}, signatory {i}, signature", item["signature"]) if item.get("signature") \
            else None
        out.append(Signatory(str(item.get("title", "")).strip(), str(item.get("name", "")).strip(), picture))
    return tuple(out)


def verify_url(ws: Workspace) -> str:
    """[certificates] verify_url without a trailing '#', checked to be an http(s) address (a scanner opens it)."""
    value = _section(ws).get("verify_url") or ""
    if not value:
        return ""
    url = str(value).strip().rstrip("#")
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.netloc or "#" in url:
        raise CertificateError(f"[certificates] verify_url = {value!r}: must be the web address the verify page is "
                               'published at, e.g. "https://example.org/verify"', 2)
    return url


def issue_day(ws: Workspace) -> str | None:
    """[certificates] issue_date as an ISO day (the award day printed on the certificates), or None: the day the
    batch is printed."""
    value = _section(ws).get("issue_date")
    if value in (None, ""):
        return None
    if type(value) is date:
        return value.isoformat()
    try:
        return date.fromisoformat(str(value).strip()).isoformat()
    except ValueError:
        raise CertificateError(f"[certificates] issue_date = {value!r}: must be a date such as 2022-08-20 (the award "
                               "day), or \"\" for the day the batch is printed", 2) from None


def contest_place(ws: Workspace) -> str:
    """[certificates] place, else the national round's country ([contest] country), else ""."""
    place = str(_section(ws).get("place") or "").strip()
    if place:
        return place
    country = ws.settings.raw.get("contest", {}).get("country") or ""
    if not country:
        return ""
    from milsetctl.jury.conflicts import country_name  # one spelling per country (中国 = China)

    return str(country_name(str(country)) or country)


def batch_frame(ws: Workspace, member: bool = False) -> Frame:
    """The shared layout of one batch; raises CertificateError (exit 2) naming a setting that cannot be used."""
    logo = _section(ws).get("logo") or ""
    return Frame(signatories=signatories(ws, member), logo=_image(ws, "logo", logo) if logo else None,
                 place="" if member else contest_place(ws), verify_url=verify_url(ws))
