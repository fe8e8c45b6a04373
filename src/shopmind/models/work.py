"""A cap on concurrent model work in one process: N slots, a short wait, then "busy".

Every model call (scoring reviews now; generating copy, recommending, chatting next)
takes a slot for as long as it runs. With all slots taken, a caller waits at most
``wait_seconds`` for one to free up and otherwise gets ``ModelBusy``, which says how
long to wait before trying again (the typical time a slot is held). Refusing early
keeps latency bounded under load instead of queueing work nobody waits for any more.

Waiting costs no thread: ``async with limiter.slot():`` waits in the event loop, so a
server's thread pool runs only work that holds a slot (a burst of requests waiting for
slots cannot starve routes without models of threads). Worker threads (background
jobs, the CLI) take the same slots with ``with limiter.hold():``. Slots are handed out
first come, first served, to both kinds of waiter alike.

The limiter is per process: a server with several workers runs several limiters.
"""

from __future__ import annotations

import asyncio
import math
import threading
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass


class ModelBusy(RuntimeError):
    """Every model slot stayed taken for the whole wait."""

    def __init__(self, slots: int, waited: float, retry_after: int) -> None:
        super().__init__(
            f"all {slots} model slots are busy (waited {waited:g} s); retry in {retry_after} s"
        )
        self.slots = slots
        self.retry_after = retry_after


@dataclass(eq=False)
class _Waiter:
    wake: Callable[[], None]
    granted: bool = False  # set, under the lock, when a leaving holder hands its slot over


class WorkLimiter:
    """At most ``slots`` holders at once: ``slot()`` (async) or ``hold()`` (threads).

    >>> limiter = WorkLimiter(slots=2, wait_seconds=0.5)
    >>> with limiter.hold():
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
        self._lock = threading.Lock()
        self._in_use = 0
        self._waiters: deque[_Waiter] = deque()
        self._typical = 1.0  # seconds a slot is held (moving average), for Retry-After

    @property
    def in_use(self) -> int:
        """Slots held right now."""
        return self._in_use

    @property
    def waiting(self) -> int:
        """Callers waiting for a slot right now."""
        return len(self._waiters)

    @property
    def retry_after(self) -> int:
        """Whole seconds a refused caller should wait: about one typical holding time."""
        return max(1, math.ceil(self._typical))

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        """Hold a slot for the ``async with`` block, waiting without blocking a thread
        (``ModelBusy`` if none frees up within ``wait_seconds``)."""
        await self._acquire_async()
        with self._timed():
            yield

    @contextmanager
    def hold(self) -> Iterator[None]:
        """Hold a slot for the ``with`` block from a worker thread (blocks while waiting)."""
        self._acquire_blocking()
        with self._timed():
            yield

    @contextmanager
    def _timed(self) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            self._release(time.perf_counter() - started)

    async def _acquire_async(self) -> None:
        loop = asyncio.get_running_loop()
        ready = loop.create_future()

        def wake() -> None:
            loop.call_soon_threadsafe(lambda: ready.done() or ready.set_result(None))

        waiter = _Waiter(wake)
        if self._enter_or_queue(waiter):
            return
        try:
            await asyncio.wait_for(ready, self.wait_seconds)
        except TimeoutError:
            if not self._leave_queue(waiter):
                raise self._busy() from None
        except asyncio.CancelledError:  # the client went away while waiting
            if self._leave_queue(waiter):
                self._release()
            raise

    def _acquire_blocking(self) -> None:
        event = threading.Event()
        waiter = _Waiter(event.set)
        if self._enter_or_queue(waiter):
            return
        if not event.wait(self.wait_seconds) and not self._leave_queue(waiter):
            raise self._busy()

    def _enter_or_queue(self, waiter: _Waiter) -> bool:
        """Take a free slot (True) unless others wait for one; else queue ``waiter``."""
        with self._lock:
            if self._in_use < self.slots and not self._waiters:
                self._in_use += 1
                return True
            self._waiters.append(waiter)
            return False

    def _leave_queue(self, waiter: _Waiter) -> bool:
        """Stop waiting; True when a slot was handed over meanwhile (the caller holds it)."""
        with self._lock:
            if waiter.granted:
                return True
            self._waiters.remove(waiter)
            return False

    def _release(self, held_seconds: float | None = None) -> None:
        """Give a slot back: to the longest waiter if there is one (``held_seconds``
        feeds the Retry-After estimate)."""
        with self._lock:
            if held_seconds is not None:
                self._typical = 0.8 * self._typical + 0.2 * held_seconds
            while self._waiters:
                waiter = self._waiters.popleft()
                try:
                    waiter.wake()
                except RuntimeError:  # its event loop has closed: nobody is waiting there
                    continue
                waiter.granted = True
                return
            self._in_use -= 1

    def _busy(self) -> ModelBusy:
        return ModelBusy(self.slots, self.wait_seconds, self.retry_after)
