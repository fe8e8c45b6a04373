"""A store at a glance: counts, date range, revenue and conversion by traffic source."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import case, distinct, func, select

from shopmind.store.db import Store
from shopmind.store.models import Event, Order


@dataclass
class ChannelConversion:
    source: str
    medium: str
    sessions: int
    purchases: int

    @property
    def rate(self) -> float:
        return self.purchases / self.sessions if self.sessions else 0.0


@dataclass
class StoreSummary:
    counts: dict[str, int]
    first_event: datetime | None
    last_event: datetime | None
    orders: int
    revenue: float
    currency: str | None
    channels: list[ChannelConversion] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        for d in ("first_event", "last_event"):
            data[d] = data[d].isoformat() if data[d] else None
        for ch, row in zip(self.channels, data["channels"], strict=True):
            row["rate"] = round(ch.rate, 4)
        return data


def summarize(store: Store, top_channels: int = 12) -> StoreSummary:
    """Counts, event date range, order revenue and per-channel session conversion."""
    with store.engine.connect() as conn:
        first, last = conn.execute(select(func.min(Event.ts), func.max(Event.ts))).one()
        n_orders, revenue = conn.execute(
            select(func.count(), func.coalesce(func.sum(Order.total), 0.0)).where(
                Order.cancelled_at.is_(None)
            )
        ).one()
        currency = conn.execute(
            select(Order.currency).group_by(Order.currency).order_by(func.count().desc()).limit(1)
        ).scalar()
        purchase_session = case((Event.name == "purchase", Event.session_id))
        source = func.coalesce(Event.source, "(direct)")
        medium = func.coalesce(Event.medium, "(none)")
        rows = conn.execute(
            select(
                source,
                medium,
                func.count(distinct(Event.session_id)),
                func.count(distinct(purchase_session)),
            )
            .where(Event.session_id.is_not(None))
            .group_by(source, medium)
            .order_by(func.count(distinct(Event.session_id)).desc())
            .limit(top_channels)
        ).all()
    return StoreSummary(
        counts=store.stats(),
        first_event=first,
        last_event=last,
        orders=n_orders,
        revenue=float(revenue or 0.0),
        currency=currency,
        channels=[ChannelConversion(s, m, int(n), int(p)) for s, m, n, p in rows],
    )
