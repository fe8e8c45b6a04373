"""Who touched which product when, read from the store for the recommenders.

Two sources, one row shape ``(user, product external id, time, kind)``:

- behaviour events with items (``view_item``, ``select_item``, ``add_to_cart``,
  ``begin_checkout``, ``purchase`` …): every item of the event, the user being the
  logged-in customer id when the event has one, else the browser's ``user_id``;
- order lines: ``purchase`` rows of the order's customer (their external id), or of the
  order's e-mail when there is no customer. A ``purchase`` event whose
  ``transaction_id`` is a stored order is skipped: the order already counts.

Events the storefront widget recorded (``event_id`` starting ``widget:``) are never read
here: anyone can send those, so they count for the placement figures only, never for
what is learned or recommended.

Rows come out in time order, streamed (``yield_per``), so a large store is never held
twice in memory.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from sqlalchemy import select

from shopmind.store.db import Store
from shopmind.store.models import Customer, Event, Order, OrderLine, Product

Row = tuple[str, str, datetime, str]  # user, item, time, kind
WIDGET_PREFIX = "widget:"  # event ids of what the public widget recorded


def event_rows(store: Store, since: datetime | None = None) -> Iterator[Row]:
    """Event items as rows; purchase events of stored orders left out."""
    with store.session() as s:
        orders = set(s.scalars(select(Order.external_id)))
        query = select(
            Event.name, Event.ts, Event.user_id, Event.customer_id, Event.items, Event.item_id,
            Event.transaction_id,
        ).order_by(Event.ts, Event.id)  # fmt: skip
        query = query.where(Event.event_id.not_like(f"{WIDGET_PREFIX}%"))
        if since is not None:
            query = query.where(Event.ts >= since)
        for name, ts, user, customer, items, first, transaction in s.execute(
            query.execution_options(yield_per=5000)
        ):
            if name == "purchase" and transaction and transaction in orders:
                continue
            who = customer or user
            ids = _item_ids(items) or ([first] if first else [])
            for item in ids:
                yield (str(who), str(item), ts, str(name))


def _item_ids(items: Any) -> list[str]:
    if not isinstance(items, list):
        return []
    out = []
    for item in items:
        if isinstance(item, dict) and item.get("item_id") not in (None, ""):
            out.append(str(item["item_id"]))
    return out


def order_rows(store: Store, since: datetime | None = None) -> Iterator[Row]:
    """Order lines with a product as ``purchase`` rows (cancelled orders left out)."""
    with store.session() as s:
        query = (
            select(Customer.external_id, Order.email, Order.created_at, Product.external_id)
            .select_from(OrderLine)
            .join(Order, OrderLine.order_id == Order.id)
            .join(Product, OrderLine.product_id == Product.id)
            .outerjoin(Customer, Order.customer_id == Customer.id)
            .where(Order.cancelled_at.is_(None))
            .order_by(Order.created_at, OrderLine.id)
        )
        if since is not None:
            query = query.where(Order.created_at >= since)
        for customer, email, ts, product in s.execute(query.execution_options(yield_per=5000)):
            who = customer or (f"email:{email.strip().lower()}" if email else None)
            if who:
                yield (str(who), str(product), ts, "purchase")


def basket_rows(store: Store, since: datetime | None = None) -> Iterator[Row]:
    """Order lines as ``(order external id, product, time, "purchase")``: one basket per
    order, for "bought together"."""
    with store.session() as s:
        query = (
            select(Order.external_id, Order.created_at, Product.external_id)
            .select_from(OrderLine)
            .join(Order, OrderLine.order_id == Order.id)
            .join(Product, OrderLine.product_id == Product.id)
            .where(Order.cancelled_at.is_(None))
            .order_by(Order.created_at, OrderLine.id)
        )
        if since is not None:
            query = query.where(Order.created_at >= since)
        for order, ts, product in s.execute(query.execution_options(yield_per=5000)):
            yield (str(order), str(product), ts, "purchase")


def catalog_rows(store: Store) -> list[dict[str, Any]]:
    """Every product with what the recommenders and their rules read: ``id`` (external),
    ``title``, ``category``, ``price``, ``in_stock`` (False only when the product or all
    its tracked variants have no stock), ``status``, ``text`` (title, brand, category,
    description for the content model)."""
    from sqlalchemy.orm import selectinload

    out = []
    with store.session() as s:
        for p in s.scalars(select(Product).options(selectinload(Product.variants))):
            stock = [v.inventory for v in p.variants if v.inventory is not None]
            if p.inventory is not None:
                stock.append(p.inventory)
            in_stock = not stock or any(x > 0 for x in stock)
            text = " · ".join(x for x in (p.title, p.brand or "", p.category or "",
                                          (p.description or "")[:600]) if x)  # fmt: skip
            out.append({"id": p.external_id, "title": p.title, "category": p.category or "",
                        "price": p.price, "in_stock": in_stock and p.status == "active",
                        "status": p.status, "text": text})  # fmt: skip
    return out


def user_rows(store: Store, user: str, limit: int = 200, scope: str = "all") -> list[Row]:
    """One shopper's latest rows, oldest first, at most ``limit``: ``scope="all"``: events
    as customer or browser and orders (by customer id, or ``email:`` address);
    ``"browser"``: only events recorded under that very browser id."""
    if scope not in ("all", "browser"):
        raise ValueError(f"scope must be all or browser, got {scope!r}")
    who = Event.user_id == user if scope == "browser" else (
        (Event.customer_id == user) | (Event.user_id == user))  # fmt: skip
    with store.session() as s:
        events = s.execute(
            select(Event.name, Event.ts, Event.items, Event.item_id, Event.transaction_id)
            .where(who, Event.event_id.not_like(f"{WIDGET_PREFIX}%"))
            .order_by(Event.ts.desc(), Event.id.desc())
            .limit(limit)
        ).all()
        paid = {t for name, _, _, _, t in events if name == "purchase" and t}
        orders = set(s.scalars(select(Order.external_id).where(Order.external_id.in_(paid))))
        lines = [] if scope == "browser" else s.execute(
            select(Order.created_at, Product.external_id)
            .select_from(OrderLine)
            .join(Order, OrderLine.order_id == Order.id)
            .join(Product, OrderLine.product_id == Product.id)
            .outerjoin(Customer, Order.customer_id == Customer.id)
            .where(Order.cancelled_at.is_(None))
            .where(_order_owner(user))
            .order_by(Order.created_at.desc())
            .limit(limit)
        ).all()  # fmt: skip
    rows: list[Row] = []
    for name, ts, items, first, transaction in events:
        if name == "purchase" and transaction and transaction in orders:
            continue
        ids = _item_ids(items) or ([first] if first else [])
        rows += [(user, item, ts, str(name)) for item in ids]
    rows += [(user, str(product), ts, "purchase") for ts, product in lines]
    rows.sort(key=lambda r: r[2])
    return rows[-limit:]


def _order_owner(user: str) -> Any:
    """Orders of ``user``: a customer external id, or ``email:<address>`` (any case)."""
    from sqlalchemy import func

    if user.startswith("email:"):
        return func.lower(Order.email) == user.removeprefix("email:").strip().lower()
    return Customer.external_id == user
