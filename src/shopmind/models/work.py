"""A cap on concurrent model work in one process: N slots, a short wait, then "busy".

Every model call (scoring reviews now; generating copy, recommending, chatting next)
takes a slot for as long as it runs. With all slots taken, a caller waits at most
``wait_seconds`` for one to free up and otherwise gets ``ModelBusy``, which says how
long to wait before trying again (the typical time a slot is held). Refusing early
keeps latency bounded under load instead of queueing work nobody waits for any more.

The limiter is per process: a server with several workers runs several limiters.
It blocks the calling thread while waiting, so call it from worker threads (FastAPI
runs ``def`` routes and sync dependencies in its thread pool), not from an event loop.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager


class ModelBusy(RuntimeError):
    """Every model slot stayed taken for the whole wait."""

    def __init__(self, slots: int, waited: float, retry_after: int) -> None:
        super().__init__(
            f"all {slots} model slots are busy (waited {waited:g} s); retry in {retry_after} s"
        )
        self.slots = slots
        self.retry_after = retry_after


class WorkLimiter:
    """At most ``slots`` holders at once; ``slot()`` is the context manager to hold one.

    >>> limiter = WorkLimiter(slots=2, wait_seconds=0.5)
    >>> with limiter.slot():
    ...     limiter.in_use
    1
    """

    def __init__(self, slots: int, wait_seconds: float = 1.0) -> None:
        if slots < 1:
            raise ValueError(f"slots must be at least 1, got {slots}")
        if wait_seconds < 0:
            raise ValueError(f"wait_seconds must not be negative, got {wait_seconds}")
        self.slots = slots
        self.wait_seconds = wait_seconds
        self._free = threading.BoundedSemaphore(slots)
        self._lock = threading.Lock()
        self._in_use = 0
        self._typical = 1.0  # seconds a slot is held (moving average), for Retry-After

    @property
    def in_use(self) -> int:
        """Slots held right now."""
        return self._in_use

    @property
    def retry_after(self) -> int:
        """Whole seconds a refused caller should wait: about one typical holding time."""
        return max(1, math.ceil(self._typical))

    def acquire(self) -> None:
        """Take a slot, waiting at most ``wait_seconds``; ``ModelBusy`` when none frees up."""
        if not self._free.acquire(timeout=self.wait_seconds):
            raise ModelBusy(self.slots, self.wait_seconds, self.retry_after)
        with self._lock:
            self._in_use += 1

    def release(self, held_seconds: float | None = None) -> None:
        """Give a slot back (``held_seconds`` feeds the Retry-After estimate)."""
        with self._lock:
            self._in_use -= 1
            if held_seconds is not None:
                self._typical = 0.8 * self._typical + 0.2 * held_seconds
        self._free.release()

    @contextmanager
    def slot(self) -> Iterator[None]:
        """Hold a slot for the ``with`` block (``ModelBusy`` if none frees up in time)."""
        self.acquire()
        started = time.perf_counter()
        try:
            yield
        finally:
            self.release(time.perf_counter() - started)
