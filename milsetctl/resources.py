"""Files that ship inside milsetctl: where the Jinja2 templates are (report, contact sheet, certificate, gallery)."""

from __future__ import annotations

from pathlib import Path

import milsetctl


def templates_dir() -> Path:
    """The Jinja2 templates: milsetctl/templates/ in an installed wheel, else templates/ at the repository root
    (a checkout or an editable install)."""
    package = Path(milsetctl.__file__).resolve().parent
    installed = package / "templates"
    return installed if installed.is_dir() else package.parent / "templates"
