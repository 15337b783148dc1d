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

ingest_rule("date-ambiguous", "review", """A submission date reads as two days (05/07/2022), and nothing decided which.

The day/month order of a column is taken from `[dates] order` in contest.toml, or else from the column's
own cells: one that can only be read one way (13/07/2022) settles the column. When neither does, the date
is not guessed (a wrong guess can move an entry across the deadline): the message names the cell and both
readings, and the entry has no submission time (no `late`, and it counts as the earliest of a contestant's
entries) until the column is settled or the cell written year first (2022-07-05). Dotted dates (05.07.2022)
are day-first and never ambiguous. The same reader refuses such a date in rosters, withdrawal files and date
options (milsetctl/dates.py).
""", version=2)

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
