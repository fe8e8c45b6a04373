"""Pieces every analysis shares: periods, sessions, confidence intervals, JSON-ready values."""

from __future__ import annotations

import contextlib
import math
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

import ibis
import ibis.expr.types as ir

from shopmind.insights.engine import InsightsError, Tables

Z95 = 1.959963984540054


@dataclass(frozen=True)
class Period:
    """Whole UTC days ``start`` … ``end``, both included."""

    start: date
    end: date

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise InsightsError(f"the period ends ({self.end}) before it starts ({self.start})")
        if self.days > 3660:
            raise InsightsError(f"the period is {self.days} days long; at most ten years")

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def lo(self) -> datetime:
        return datetime.combine(self.start, time.min)

    @property
    def hi(self) -> datetime:
        """The first moment after the period."""
        return datetime.combine(self.end + timedelta(days=1), time.min)

    def previous(self) -> Period:
        """The period of the same length just before this one."""
        return Period(self.start - timedelta(days=self.days), self.start - timedelta(days=1))

    def to_dict(self) -> dict[str, str]:
        return {"start": self.start.isoformat(), "end": self.end.isoformat()}


def last_days(tables: Tables, days: int = 30, end: date | None = None) -> Period:
    """The ``days`` days up to ``end`` (default: the day of the store's latest event or order)."""
    if end is None:
        end = latest_day(tables) or datetime.utcnow().date()
    return Period(end - timedelta(days=days - 1), end)


def latest_day(tables: Tables, complete: bool = True) -> date | None:
    """The day of the store's latest event or order. With ``complete`` (the default for
    periods), a last day that is only begun — under a quarter of the events of a usual day
    of the week before, like today's first hours, or sessions running past the last
    midnight of an import — gives way to the day before: a period should not end on a
    day that looks like an outage."""
    e, o = tables.events, tables.orders
    values = [tables.execute(e.ts.max()), tables.execute(o.created_at.max())]
    moments = [v for v in values if v is not None and not _is_missing(v)]
    if not moments:
        return None
    last = max(moments).date()
    if not complete:
        return last
    lo = datetime.combine(last - timedelta(days=7), time.min)
    recent = e.filter(e.ts >= lo)
    frame = tables.execute(recent.group_by(day=recent.ts.date()).agg(n=recent.count()))
    counts = {_day(d): int(n) for d, n in zip(frame["day"], frame["n"], strict=True)}
    before = sorted(counts.get(last - timedelta(days=k), 0) for k in range(1, 8))
    usual = before[len(before) // 2]
    return last - timedelta(days=1) if usual and counts.get(last, 0) < 0.25 * usual else last


def _day(value: Any) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return value.date() if hasattr(value, "date") else date.fromisoformat(str(value)[:10])


def first_day(tables: Tables) -> date | None:
    e, o = tables.events, tables.orders
    values = [tables.execute(e.ts.min()), tables.execute(o.created_at.min())]
    moments = [v for v in values if v is not None and not _is_missing(v)]
    return min(moments).date() if moments else None


def _is_missing(value: Any) -> bool:
    try:
        return bool(value != value)  # NaN / NaT
    except (TypeError, ValueError):
        return False


def session_key(e: ir.Table) -> ir.StringValue:
    """A session: its id, or the shopper and the day for events sent without one
    (the same rule as the store's daily aggregates)."""
    day = e.ts.date().cast("string")
    return ibis.coalesce(e.user_id.concat("|", e.session_id), e.user_id.concat("|day|", day))


def session_part(e: ir.Table) -> ir.StringValue:
    """A session within its shopper: its id, or the day for events sent without one. With
    ``user_id`` it is :func:`session_key` as two columns; grouping and joining on the two
    is quicker than building the joined string for every event."""
    return ibis.coalesce(e.session_id, ibis.literal("|day|").concat(e.ts.date().cast("string")))


def flag(condition: ir.BooleanValue) -> ir.IntegerValue:
    """1 where ``condition`` holds, else 0 (NULL too). Not ``condition.cast("int64")``:
    PostgreSQL casts a boolean to ``integer`` only, never to ``bigint`` or a float."""
    return ibis.ifelse(condition, 1, 0)


def in_period(column: ir.TimestampValue, period: Period) -> ir.BooleanValue:
    return (column >= period.lo) & (column < period.hi)


def wilson(successes: float, n: float, z: float = Z95) -> tuple[float | None, float | None]:
    """The Wilson score interval of a proportion (``None`` without trials)."""
    if not n:
        return None, None
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def ratio(a: float | None, b: float | None) -> float | None:
    if a is None or not b:
        return None
    return a / b


def change(current: float | None, previous: float | None) -> float | None:
    """Relative change from ``previous`` to ``current`` (``None`` from zero or nothing)."""
    if current is None or previous in (None, 0):
        return None
    return current / previous - 1.0


def clean(value: Any) -> Any:
    """A JSON-ready value: NaN/NaT to ``None``, numpy scalars to Python, moments to ISO."""
    if value is None:
        return None
    if hasattr(value, "item") and not isinstance(value, str | bytes):
        with contextlib.suppress(ValueError, AttributeError):
            value = value.item()
    if isinstance(value, float):
        return None if math.isnan(value) or math.isinf(value) else value
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if _is_missing(value):
        return None
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def records(frame: Any) -> list[dict[str, Any]]:
    """A pandas frame as JSON-ready rows."""
    return [{k: clean(v) for k, v in row.items()} for row in frame.to_dict("records")]
