"""milsetctl: run a MILSET STEAM Photo Contest from the inbox of submissions to the certificates."""

__version__ = "0.1.0"
