"""One certificate page's words and pictures, as the template (templates/certificate.html) draws them (issue 19):
the award and what it was given in (category, place), the issue date in words, the signatories, the verification
code in a face where O is plainly a letter, and a QR code a phone opens.

The QR code holds `verify_url#CODE` when [certificates] verify_url is set (the published verify.html reads the
code from the address), else `MILSET-CERT:CODE`; `milsetctl verify` accepts either as scanned. Error correction Q
(25% of the code may be lost to a crease, a stain or a blurred scan) and 36 mm wide. Measured with zbar on 100 dpi
scans blurred from 0.6 to 2.0 px (23 steps): the code alone, the former 21.9 mm level-M code of MILSET-CERT:CODE
decoded 16 times, a 32 mm level-Q code of an https://example.org/verify#CODE address (version 4) 20, at 34 mm 22,
at 36 mm 23; the whole certificate page, before 0 times, now 14 (every blur up to 1.45 px)."""

from __future__ import annotations

import unicodedata
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from milsetctl.certificates.codes import format_code
from milsetctl.certificates.model import Certificate, Frame, Signatory, long_date

QR_PREFIX = "MILSET-CERT:"
QR_ERROR = "q"
QR_MM = 36  # printed width of the QR code, quiet zone not included (at least 30 mm, issue 19; measured below)
ORDINAL = {"global-1": "First Place", "global-2": "Second Place", "global-3": "Third Place"}


def qr_text(code: str, verify_url: str = "") -> str:
    """What the QR code holds: the page's address with the code after '#' (never sent to the web server), or
    the code with its prefix when no page is published."""
    shown = format_code(code)
    return f"{verify_url}#{shown}" if verify_url else f"{QR_PREFIX}{shown}"


def qr_png(text: str) -> str:
    """The QR code as a data URI of a PNG with one pixel per module (~300 bytes); the template draws it with
    `image-rendering: pixelated`, so it prints with sharp edges at any size. Cheaper for WeasyPrint than an SVG
    path of the same code (parsed and drawn for every PDF). Error correction at least Q (segno raises it to H
    when H fits the same size)."""
    import segno

    return str(segno.make(text, error=QR_ERROR, micro=False).png_data_uri(scale=1, border=0, dark="#1c2b4a"))


def shown_url(url: str) -> str:
    """The address as a person types it: no https://, no trailing slash (example.org/verify)."""
    parts = urlsplit(url)
    return (parts.netloc + parts.path).rstrip("/") + (f"?{parts.query}" if parts.query else "")


def text_direction(text: str) -> str:
    """"rtl" when the first strong character is right-to-left (Arabic, Hebrew), else "ltr": the template's `dir`,
    so an Arabic name or title is laid out as one right-to-left paragraph (WeasyPrint has no dir="auto")."""
    for ch in text:
        kind = unicodedata.bidirectional(ch)
        if kind in ("R", "AL"):
            return "rtl"
        if kind == "L":
            return "ltr"
    return "ltr"


def display_width(text: str) -> int:
    """Width in half-em units: 2 for a wide (CJK) character, 1 otherwise (Unicode East Asian Width)."""
    return sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in text)


def award_lines(cert: Certificate) -> tuple[str, str]:
    """The award as two lines: the award itself, large, and what it was given in, smaller. "Qualifier Award ·
    Middle School" -> ("Qualifier Award", "Middle School category · grades 7–9"); a global place -> ("Global
    Award", "First Place"); a gallery place at the global stage -> ("Virtual Gallery Selection", "Place 5 in the
    global round")."""
    main, _, rest = cert.award.partition(" · ")
    if cert.kind == "global" and rest:
        return main, rest
    if cert.kind == "gallery" and cert.rank:
        return main, f"Place {cert.rank} in the global round"
    if cert.kind in ("participation", "qualifier", "gallery") and cert.category:
        return main, cert.category
    return main, rest


def page_texts(cert: Certificate) -> list[str]:
    """The words of `cert`'s page that the template may draw in a CJK face (fonts.batch_fonts cuts the batch's faces
    to their characters): the recipient's, the award's, the contest's and the signatories'. A character missing
    from the cut is drawn from the system face of the same family, a whole CJK face embedded in every PDF (20 KB
    and its subsetting for an en dash in "grades 7–9")."""
    frame = cert.frame or Frame(signatories=tuple(Signatory(t) for t in cert.signatures))
    return [cert.name, cert.school, cert.title, cert.contest, cert.year, cert.period, *award_lines(cert),
            frame.place, *(text for p in frame.signatories for text in (p.name, p.title))]


def verify_lines(frame: Frame, code: str) -> dict[str, str]:
    """The footer's words on checking the certificate: with a published page, its address (a link in the PDF) and
    what to do there; without, in words, whom to ask (never a command line: a parent has no terminal)."""
    shown = format_code(code)
    if frame.verify_url:
        return {"link": f"{frame.verify_url}#{shown}", "where": shown_url(frame.verify_url),
                "how": "Scan the QR code, or enter the code at"}
    return {"link": "", "where": "", "how": "To confirm this certificate is genuine, send this code to the "
                                            "contest's organisers."}


def sheet(cert: Certificate, code: str, thumb: Path | None, issued_on: str) -> dict[str, Any]:
    """What the template needs for one page. A long name or title gets a smaller size (measured on the rendered
    page: at 32 pt ~28 half-ems fill the name line)."""
    # a Certificate made without a frame (an older caller): its signature titles, lines to sign by hand
    frame = cert.frame or Frame(signatories=tuple(Signatory(t) for t in cert.signatures))
    width = display_width(cert.name)
    try:
        day = long_date(date.fromisoformat(issued_on))
    except ValueError:
        day = issued_on
    main, sub = award_lines(cert)
    return {"c": cert, "code": format_code(code), "qr": qr_png(qr_text(code, frame.verify_url)),
            "thumb": thumb.as_uri() if thumb else None, "issued_on": day, "frame": frame, "qr_mm": QR_MM,
            "award_main": main, "award_sub": sub, "verify": verify_lines(frame, code),
            "name_size": " longer" if width > 38 else " long" if width > 28 else "",
            "title_size": (" long" if display_width(cert.title) > 70 else "")  # no slanted Chinese or Arabic:
            + (" upright" if display_width(cert.title) != len(cert.title) or text_direction(cert.title) == "rtl"
               else ""),
            "dir": {"name": text_direction(cert.name), "school": text_direction(cert.school),
                    "title": text_direction(cert.title)}}

