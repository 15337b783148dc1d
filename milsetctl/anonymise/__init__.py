"""The blind jury package: each eligible photo under a random anonymous ID, stripped of every identifying trace,
with a contact sheet for the jurors, and a scanner that proves nothing identifying is left.

Public API: `build_package(ws, progress=None) -> PackageResult`, `verify_package(ws_or_dir, ledger) -> list[Leak]`
(with `.files`, the number of files scanned), and the lossless strippers `strip_jpeg` / `strip_png` / `scrub_icc`.
"""

from milsetctl.anonymise.icc import scrub_icc
from milsetctl.anonymise.jpeg import strip_jpeg
from milsetctl.anonymise.package import (
    AnonymiseError,
    PackagedEntry,
    PackageResult,
    build_package,
    new_anon_id,
)
from milsetctl.anonymise.png import strip_png
from milsetctl.anonymise.verify import Leak, package_dir, verify_package

__all__ = [
    "AnonymiseError", "Leak", "PackageResult", "PackagedEntry", "build_package", "new_anon_id", "package_dir",
    "scrub_icc", "strip_jpeg", "strip_png", "verify_package",
]
