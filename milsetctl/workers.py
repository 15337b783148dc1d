"""The one way milsetctl spreads work over the cores: how many cores this process may use, and a pool of spawned
workers that end with their parent.

Spawned, not forked: the parent holds threads (rich's progress bar) and SQLite handles that a fork would copy.
Each worker is tied to its parent (locking.exit_with_parent): a command killed with SIGKILL leaves no worker behind.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from multiprocessing import get_context
from typing import Any, TypeVar

from milsetctl.locking import exit_with_parent

T = TypeVar("T")
R = TypeVar("R")


def usable_cores() -> int:
    """The cores this process may run on (its CPU affinity, as a container or `taskset` sets it), at least 1."""
    counter = getattr(os, "process_cpu_count", None)  # Python 3.13+
    if counter is not None:
        return max(1, counter() or 1)
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


def worker_count(jobs: int, per_worker: int = 1, wanted: int | None = None) -> int:
    """Workers for `jobs` pieces of work: `wanted` if given, else one per usable core, but no more than there are
    batches of `per_worker` pieces (a worker costs ~1 s of start-up: a small batch runs in this process)."""
    if wanted is not None:
        return max(1, wanted)
    return max(1, min(usable_cores(), jobs // max(1, per_worker)))


def pool(workers: int, initializer: Callable[..., None] | None = None,
         max_tasks_per_child: int | None = None) -> ProcessPoolExecutor:
    """A pool of `workers` spawned processes that exit with this one (`initializer(parent_pid)` runs first in each
    worker instead of the default exit_with_parent: it must call exit_with_parent itself); `max_tasks_per_child`:
    a fresh process after that many calls (memory that a library's heap keeps goes with the old one)."""
    return ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn"),
                               initializer=initializer or exit_with_parent, initargs=(os.getpid(),),
                               max_tasks_per_child=max_tasks_per_child)


def run_all(func: Callable[[T], R], items: Iterable[T], workers: int, in_flight: int = 3,
            initializer: Callable[..., None] | None = None, max_tasks_per_child: int | None = None) -> Iterator[R]:
    """`func(item)` for every item, on `workers` processes (in this one when workers <= 1), yielding results as they
    finish (not in order). At most `in_flight` items per worker are queued, so memory stays flat in the number of
    items; Ctrl-C cancels what has not started. `func` and the items must pickle (a module-level function).
    `initializer`, `max_tasks_per_child`: as `pool`'s."""
    if workers <= 1:
        for item in items:
            yield func(item)
        return
    with pool(workers, initializer, max_tasks_per_child) as executor:
        pending: set[Future[R]] = set()
        try:
            for item in items:
                pending.add(executor.submit(func, item))
                if len(pending) >= workers * in_flight:
                    done, pending = wait(pending, return_when=FIRST_COMPLETED)
                    for fut in done:
                        yield fut.result()
            while pending:
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                for fut in done:
                    yield fut.result()
        except BaseException:
            for fut in pending:
                fut.cancel()
            executor.shutdown(wait=False, cancel_futures=True)
            raise


_libc: Any = None


def trim_heap() -> None:
    """Hand the heap's freed memory back to the system (glibc's malloc_trim; nothing elsewhere): glibc keeps it
    otherwise, and a worker that met one large job (a text-heavy photo, a part of the contact sheet) would stay
    at that job's high-water mark for the rest of its life."""
    global _libc
    if _libc is None:
        try:
            import ctypes

            _libc = ctypes.CDLL("libc.so.6")
        except OSError:
            _libc = False
    if _libc:
        _libc.malloc_trim(0)


def chunks(items: list[Any], size: int) -> list[list[Any]]:
    """`items` in lists of at most `size`, in order."""
    return [items[i:i + size] for i in range(0, len(items), max(1, size))]
