"""A photo rule that crashes its process in native code (a segmentation fault) when it runs on one of validate's
text-check threads, and finds nothing elsewhere. Imported only in a worker process (PhotoJob.rule_modules), never in
the test process: tests/test_second_pass.py uses it to crash the text check's worker for real."""

from __future__ import annotations

import ctypes
import resource
import threading
from collections.abc import Iterator
from typing import Any

from milsetctl.rules import rule


@rule("segfault-on-a-photo-thread", "info", "photo")
def segfault_on_a_photo_thread(probe: Any, settings: Any) -> Iterator[str]:
    """Crashes the worker process (reads address 0) when run on a photo thread of validate's second pass."""
    if threading.current_thread().name.startswith("photo-"):
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # no core file left behind
        ctypes.string_at(0)
    yield from ()
