"""Problems found while reading the submissions (manifest cells, sidecars), registered as rules of their own.

Ingest (milsetctl/ingest) makes these findings with `ingest_finding(ID, message)`; registering them here gives
each an ID the contest can switch off or re-grade (``[rules] unreadable-date = "info"``) and the text that
`milsetctl rules` prints. How to add one: see `milsetctl.rules` (the module's docstring).
"""

from __future__ import annotations

from milsetctl.rules import ingest_rule

ingest_rule("unreadable-date", "review", """The submission time in the manifest or sidecar cannot be read as a date.

Without it the deadline cannot be checked; the message names the cell and what it holds, so the
coordinator can look the entry up in the form's own records. Review, not reject: a typo in a cell is
no proof that the entry was late.
""")

ingest_rule("sidecar-invalid", "reject", """A photo's JSON sidecar cannot be read (not JSON, or not one object).

The sidecar is the entry's only manifest row in a folder of sidecars: without it the contestant,
title and description are unknown. The message names the file and where the JSON breaks.
""")

ingest_rule("path-outside", "reject", """The manifest names a file outside the submissions folder.

An absolute path, a path climbing out with '..', or a symbolic link below the folder that leads out of it
(or loops). Only files below the submissions folder are ever read: a manifest row is never a way to make
the tool open another file on the coordinator's computer. The message names the cell as written; an
absolute path a coordinator pasted from their own disk still finds the photo when its name is unique
below the folder.
""")
