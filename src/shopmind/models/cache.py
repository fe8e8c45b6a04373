"""A loaded artifact in a long-running process that follows its version pointers.

``ArtifactCache`` reloads when a pointer changes (one ``stat`` per pointer per call) and
serves the old artifact meanwhile; see ``shopmind.models.registry`` for the pointers.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Generic, TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")
_UNSET: Any = object()


class ArtifactCache(Generic[T]):
    """One loaded artifact for a long-running process, reloaded when a pointer changes.

    ``get()`` stats each pointer file (publish and rollback replace it, so its inode and
    mtime change) and reloads only then. While one thread loads, the others keep getting
    the old artifact; when the new load fails the old one keeps serving, the failure is
    logged, and the load is tried again after ``retry_s`` or at the next change.
    """

    def __init__(
        self,
        load: Callable[[], T],
        pointers: Sequence[Path],
        label: str = "artifact",
        retry_s: float = 30.0,
    ) -> None:
        self._load = load
        self.pointers = [Path(p) for p in pointers]
        self.label = label
        self.retry_s = retry_s
        self._value: T = _UNSET
        self._signature: tuple[Any, ...] | None = None
        self._failed: tuple[tuple[Any, ...], float] | None = None
        self._loading = threading.Lock()
        self.loads = 0

    def signature(self) -> tuple[Any, ...]:
        """(device, inode, mtime, size) of each pointer; None for a missing one."""
        sig = []
        for path in self.pointers:
            try:
                st = path.stat()
            except FileNotFoundError:
                sig.append(None)
                continue
            sig.append((st.st_dev, st.st_ino, st.st_mtime_ns, st.st_size))
        return tuple(sig)

    def get(self) -> T:
        sig = self.signature()
        value = self._value
        if value is not _UNSET:
            if sig == self._signature or self._recently_failed(sig):
                return value
            if not self._loading.acquire(blocking=False):
                return value  # another thread is loading the new version: serve the old one
        else:
            self._loading.acquire()
        try:
            if self._value is not _UNSET and self._signature == sig:
                return self._value  # loaded by another thread while this one waited
            return self._reload(sig, self._value)
        finally:
            self._loading.release()

    def _recently_failed(self, sig: tuple[Any, ...]) -> bool:
        return (
            self._failed is not None
            and self._failed[0] == sig
            and time.monotonic() - self._failed[1] < self.retry_s
        )

    def _reload(self, sig: tuple[Any, ...], old: T) -> T:
        try:
            new = self._load()
        except Exception:
            if old is _UNSET:
                raise
            log.exception("%s: loading the new version failed; the old one keeps serving", self)
            self._failed = (sig, time.monotonic())
            return old
        self._value, self._signature, self._failed = new, sig, None
        self.loads += 1
        if old is not _UNSET:
            log.info("%s: switched to the newly published version", self)
        return new

    def __repr__(self) -> str:
        return f"ArtifactCache({self.label})"
