"""What the storefront placements bring: impressions, clicks and attributed revenue.

A placement is an ``item_list_id`` on the items of ``view_item_list`` (an impression:
the list was shown) and ``select_item`` (a click) events — what the widget records, and
what a shop's own GA4 tagging records for its lists. Revenue is attributed by click:
a ``purchase`` event of the same shopper (browser or customer id) that holds an item
they clicked in the placement within ``window_days`` before it counts that item's price
× quantity for the placement (the latest click wins when several placements led
there); a transaction sent twice counts once.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import String, cast, select

from shopmind.store.db import Store
from shopmind.store.models import Event

KINDS = ("view_item_list", "select_item", "purchase")


def placement_stats(
    store: Store, since: datetime | None = None, window_days: float = 7.0
) -> list[dict[str, Any]]:
    """Per placement: ``impressions``, ``items_shown``, ``clicks``, ``ctr`` (clicks per
    impression), ``orders`` and ``revenue`` attributed, most impressions first."""
    stats: dict[str, dict[str, Any]] = defaultdict(
        lambda: {"impressions": 0, "items_shown": 0, "clicks": 0, "orders": 0, "revenue": 0.0}
    )
    clicks: dict[tuple[str, str], tuple[datetime, str]] = {}  # (shopper, item) → last click
    paid: set[str] = set()  # transactions counted (a purchase event sent twice counts once)
    window = timedelta(days=window_days)
    columns = (Event.name, Event.ts, Event.user_id, Event.customer_id, Event.items,
               Event.transaction_id)  # fmt: skip
    query = select(*columns).where(Event.name.in_(KINDS)).order_by(Event.ts, Event.id)
    if since is not None:
        query = query.where(Event.ts >= since)
    with store.session() as s:
        for name, ts, user, customer, items, transaction in s.execute(
            query.execution_options(yield_per=5000)
        ):
            items = items if isinstance(items, list) else []
            who = [w for w in (user, customer) if w]
            if name == "purchase":
                if transaction and transaction in paid:
                    continue
                paid.add(transaction or "")
                _attribute(stats, clicks, who, ts, items, window)
                continue
            lists = {i.get("item_list_id") for i in items if isinstance(i, dict)} - {None, ""}
            for list_id in lists:
                row = stats[str(list_id)]
                mine = [
                    i for i in items if isinstance(i, dict) and i.get("item_list_id") == list_id
                ]
                if name == "view_item_list":
                    row["impressions"] += 1
                    row["items_shown"] += len(mine)
                else:
                    row["clicks"] += 1
                    for i in mine:
                        for w in who:
                            clicks[(w, str(i.get("item_id")))] = (ts, str(list_id))
    out = []
    for list_id, row in stats.items():
        ctr = row["clicks"] / row["impressions"] if row["impressions"] else None
        out.append({"placement": list_id, **row, "revenue": round(row["revenue"], 2), "ctr": ctr})
    return sorted(out, key=lambda r: (-r["impressions"], r["placement"]))


def _attribute(
    stats: dict[str, dict[str, Any]],
    clicks: dict[tuple[str, str], tuple[datetime, str]],
    who: list[str],
    ts: datetime,
    items: list[Any],
    window: timedelta,
) -> None:
    credited: set[str] = set()
    for item in items:
        if not isinstance(item, dict):
            continue
        found = [clicks.get((w, str(item.get("item_id")))) for w in who]
        found = [c for c in found if c is not None and ts - c[0] <= window]
        if not found:
            continue
        _, list_id = max(found)
        price = float(item.get("price") or 0.0)
        stats[list_id]["revenue"] += price * int(item.get("quantity") or 1)
        credited.add(list_id)
    for list_id in credited:
        stats[list_id]["orders"] += 1


def has_placements(store: Store) -> bool:
    """Whether any click carries a placement (an ``item_list_id`` on its items): a cheap
    look before :func:`placement_stats` reads the events."""
    marked = cast(Event.items, String).like('%"item_list_id"%')
    query = select(Event.id).where(Event.name == "select_item", marked).limit(1)
    with store.engine.connect() as conn:
        return conn.execute(query).first() is not None
