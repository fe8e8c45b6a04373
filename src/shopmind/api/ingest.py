"""Batch ingestion of GA4-style events: validate every event, then store all or nothing.

A batch is validated whole before anything is written: one invalid event rejects the
batch (``BatchError`` lists every invalid event by index and field) and nothing is
stored. A valid batch is written in one transaction; events whose ``event_id`` is
already stored are counted as duplicates and left untouched, so sending a batch twice
is harmless.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy.exc import DBAPIError

from shopmind.store.db import Store
from shopmind.store.events import EventError, normalize_event, store_events

T = TypeVar("T")
# SQLite lock contention and PostgreSQL deadlock / serialization failures: safe to retry,
# because the failed transaction was rolled back whole and the insert is idempotent.
_TRANSIENT_SQLSTATES = {"40001", "40P01"}
_TRANSIENT_SQLITE = ("database is locked", "database is busy")


@dataclass(frozen=True)
class Rejection:
    """Why the event at ``index`` of a batch was refused."""

    index: int
    field: str
    error: str


class BatchError(ValueError):
    """A batch with invalid events; nothing of it was stored."""

    def __init__(self, rejected: list[Rejection], size: int) -> None:
        super().__init__(f"{len(rejected)} of {size} events are invalid; nothing was stored")
        self.rejected = rejected
        self.size = size


@dataclass(frozen=True)
class IngestResult:
    accepted: int  # events stored by this call
    duplicates: int  # events whose event_id was already stored (or repeated in the batch)


def validate_events(raw_events: Sequence[Any], currency: str = "USD") -> list[dict[str, Any]]:
    """Normalise every event; raise ``BatchError`` listing all invalid ones."""
    rows: list[dict[str, Any]] = []
    rejected: list[Rejection] = []
    for index, raw in enumerate(raw_events):
        try:
            row = normalize_event(raw, currency)
        except EventError as exc:
            rejected.append(Rejection(index, exc.field, exc.message))
        else:
            rows.append(row)
    if rejected:
        raise BatchError(rejected, len(raw_events))
    return rows


def is_transient(exc: DBAPIError) -> bool:
    """A lock or deadlock error after which the whole transaction may be retried."""
    sqlstate = getattr(exc.orig, "sqlstate", None)
    message = str(exc.orig).lower()
    return sqlstate in _TRANSIENT_SQLSTATES or any(m in message for m in _TRANSIENT_SQLITE)


def with_retry(work: Callable[[], T], attempts: int = 6, base_delay: float = 0.05) -> T:
    """Run ``work`` (one whole transaction), retrying transient errors with backoff."""
    for attempt in range(attempts):
        try:
            return work()
        except DBAPIError as exc:
            if attempt == attempts - 1 or not is_transient(exc):
                raise
            time.sleep(base_delay * 2**attempt * (0.5 + random.random()))
    raise AssertionError("unreachable")  # pragma: no cover


def ingest_events(store: Store, raw_events: Sequence[Any], currency: str = "USD") -> IngestResult:
    """Validate a batch and store its new events in one transaction (all or nothing)."""
    rows = validate_events(raw_events, currency)
    # One lock order for every writer, so concurrent overlapping batches cannot deadlock.
    rows.sort(key=lambda row: row["event_id"])
    accepted = with_retry(lambda: store_events(store, rows, count=True)) or 0
    return IngestResult(accepted=accepted, duplicates=len(rows) - accepted)
