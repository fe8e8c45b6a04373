"""Daily aggregates for the overview page: kept exact by the write path, read without
scanning events or orders.

The tables (:mod:`shopmind.store.models`):

- ``traffic_sessions``: one row per shopper session (user id + session id, or user id + day
  for events without a session id): its earliest event — by ``(ts, event_id)`` — with that
  event's source, medium and device, and whether the session holds a purchase event.
- ``daily_traffic``, per day × source × medium × device: sessions and converted sessions,
  counted where the session's earliest event is; events, ``view_item``, ``add_to_cart``,
  ``begin_checkout`` and ``purchase`` events and the purchase value, counted on each
  event's own day, source, medium and device.
- ``daily_sales``, per day × order source × medium: orders and revenue (order totals).
  Cancelled orders (``cancelled_at`` set) are left out; refunds are not subtracted.
- ``daily_products``, per product and day: views and add-to-carts (events whose
  ``item_id`` is the product's external id or a SKU of one of its variants; other items
  are not counted), units and line revenue (price × quantity − line discount) of
  orders that are not cancelled.

How they stay exact:

- Events are immutable and stored once per ``event_id``. The writer passes exactly the
  events its insert added to :func:`add_events`, in the insert's transaction: an import
  that rolls back takes its counts with it, and an event sent twice is counted once. The
  result does not depend on the order events arrive in: an event earlier than its
  session's first moves the session (and its conversion) to that event's day and source.
- Orders change when re-imported (total, status, day), so sales are recomputed, never
  added up: :func:`orders_changing` before a write to orders, :func:`refresh_sales` after
  it, for every day the write touched, in its transaction.
- :func:`rebuild_daily` recomputes everything from events and orders; it gives exactly
  what the incremental path gives (``shopmind db rebuild-aggregates``).

Days are UTC days of the stored (naive UTC) times. Amounts of different currencies are
summed as stored. The readers (:func:`overview`, :func:`daily_series`, :func:`by_source`,
:func:`top_products`) read only these tables.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import cache
from operator import itemgetter
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Date,
    String,
    Table,
    any_,
    bindparam,
    case,
    delete,
    func,
    literal_column,
    select,
    text,
    union_all,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.dialects.postgresql import ARRAY

from shopmind.store.db import Store
from shopmind.store.models import (
    DailyProduct,
    DailySales,
    DailyTraffic,
    Event,
    Order,
    OrderLine,
    Product,
    TrafficSession,
    Variant,
)
from shopmind.store.writer import COPY_THRESHOLD, dumps_json, insert_new, insert_new_returning

# The event columns the aggregates read.
EVENT_FIELDS = (
    "event_id", "name", "ts", "user_id", "session_id", "item_id", "value", "source", "medium",
    "device",
)  # fmt: skip
_CHUNK = 900  # keys per IN (...) list: SQLite and PostgreSQL cap a statement's parameters
_READ_CHUNK = 50_000  # ids per range of stored events counted at once

TRAFFIC_COUNTS = (
    "sessions", "converted_sessions", "events", "views", "add_to_carts", "checkouts",
    "purchases", "purchase_value",
)  # fmt: skip
_SESSIONS, _CONVERTED, _EVENTS, _VIEWS, _CARTS, _CHECKOUTS, _PURCHASES, _VALUE = range(8)
_FUNNEL = {
    "view_item": _VIEWS,
    "add_to_cart": _CARTS,
    "begin_checkout": _CHECKOUTS,
    "purchase": _PURCHASES,
}

Bucket = tuple[date, str, str, str]  # day, source, medium, device
_TRAFFIC_KEYS = ("day", "source", "medium", "device")
_PRODUCT_KEYS = ("day", "product_id")
_PRODUCT_COUNTS = ("views", "add_to_carts")
_EMPTY = literal_column("''")
_ZERO = literal_column("0")  # literal, so the planners match ix_daily_products_sales
_PG_ARRAYS = {  # traffic_sessions' columns as PostgreSQL array types
    "session_key": "varchar[]",
    "started_at": "timestamp[]",
    "first_event_id": "varchar[]",
    "source": "varchar[]",
    "medium": "varchar[]",
    "device": "varchar[]",
    "converted": "boolean[]",
}
_traffic_table: Table = DailyTraffic.__table__  # type: ignore[assignment]
_products_table: Table = DailyProduct.__table__  # type: ignore[assignment]
_sessions_table: Table = TrafficSession.__table__  # type: ignore[assignment]


def session_key(user_id: str, session_id: str | None, day: date) -> str:
    """The key of an event's session: its session id (GA4 session ids are unique per user
    only), or its day when it has none, then a hash of the user id with either.

    GA4's session id is the session's start time, so the keys of a time-ordered import
    arrive nearly in order, and their index grows at its end instead of at random places
    (3x quicker on SQLite, more once the index outgrows the cache).
    """
    own = f"s:{session_id}" if session_id else f"d:{day.isoformat()}"
    basis = f"{len(user_id)}:{user_id}:{own}".encode("utf-8", "surrogatepass")
    return f"{own[:180]}|{hashlib.blake2b(basis, digest_size=16).hexdigest()}"


# --- the events write path ------------------------------------------------------------
#
# Events are first summed (Sums), then written (_apply). Per bucket (day, source, medium,
# device): [sessions, converted, events, views, add_to_carts, checkouts, purchases, value];
# per (day, item id): [views, add_to_carts]; per session (user id, session id or day):
# [(ts, event id) of its earliest event, that event's bucket, whether it has a purchase].


class Sums:
    """Partial sums of a set of new events, before they are written."""

    def __init__(self) -> None:
        self.traffic: dict[Bucket, list[Any]] = {}
        self.items: dict[tuple[date, str], list[int]] = {}
        self.sessions: dict[tuple[str, str | date], list[Any]] = {}

    def session(self, user: str, own: str | date, first: Any, bucket: Bucket, bought: bool) -> None:
        """Note events of session (``user``, ``own``: its session id or day): the earliest
        of them, ``first`` = (ts, event id), is in ``bucket``."""
        seen = self.sessions.get((user, own))
        if seen is None:
            self.sessions[(user, own)] = [first, bucket, bought]
            return
        if first < seen[0]:
            seen[0], seen[1] = first, bucket
        seen[2] = seen[2] or bought

    def add_rows(self, rows: Iterable[Sequence[Any]]) -> None:
        """Events as tuples in :data:`EVENT_FIELDS` order (the hot path: kept inline)."""
        traffic, items, sessions = self.traffic, self.items, self.sessions
        for event_id, name, ts, user, sid, item, value, source, medium, device in rows:
            day = ts.date()
            bucket = (day, source or "", medium or "", device or "")
            counts = traffic.get(bucket)
            if counts is None:
                counts = traffic[bucket] = [0, 0, 0, 0, 0, 0, 0, 0.0]
            counts[_EVENTS] += 1
            slot = _FUNNEL.get(name)
            if slot is not None:
                counts[slot] += 1
                if slot == _PURCHASES:
                    counts[_VALUE] += float(value or 0)
                elif slot != _CHECKOUTS and item:
                    per = items.setdefault((day, item), [0, 0])
                    per[slot == _CARTS] += 1
            first = (ts, event_id)
            seen = sessions.get(key := (user, sid or day))
            if seen is None:
                sessions[key] = [first, bucket, slot == _PURCHASES]
                continue
            if first < seen[0]:
                seen[0], seen[1] = first, bucket
            if slot == _PURCHASES:
                seen[2] = True

    def add_stored(self, conn: Connection, new: Sequence[ColumnElement[bool]]) -> None:
        """SQLite: the stored events ``new`` selects, summed by SQL (quicker than reading
        them back): per session and bucket in one pass (a session's events nearly always
        share one bucket), then per item."""
        on_day = _day(Event.ts)
        bucket = (
            on_day,
            *(func.coalesce(c, _EMPTY) for c in (Event.source, Event.medium, Event.device)),
        )
        value = func.sum(case((Event.name == "purchase", func.coalesce(Event.value, 0)), else_=0))
        counts = (func.count(), *(_count(name) for name in _FUNNEL), value)
        # A query with one min() takes its other ("bare") columns from the row holding the
        # minimum; stored times are fixed-width text, so ts || event_id sorts as the pair.
        earliest = func.min(literal_column("events.ts || ' ' || events.event_id"))
        own = case((Event.session_id.is_(None), on_day))  # the day, without a session id
        query = (
            select(Event.user_id, Event.session_id, Event.ts, Event.event_id, *bucket, *counts)
            .add_columns(earliest)
            .where(*new)
            .group_by(Event.user_id, Event.session_id, own, *bucket)
        )
        traffic = self.traffic
        for row in conn.execute(query):
            user, sid, ts, event_id, day, source, medium, device, *n, _ = row
            where = (day, source, medium, device)
            per = traffic.get(where)
            if per is None:
                per = traffic[where] = [0, 0, 0, 0, 0, 0, 0, 0.0]
            for slot, k in enumerate(n, start=_EVENTS):
                per[slot] += k
            self.session(user, sid or day, (ts, event_id), where, n[_PURCHASES - _EVENTS] > 0)
        for counts_ in traffic.values():
            counts_[_VALUE] = float(counts_[_VALUE])
        query = (
            select(on_day, Event.item_id, _count("view_item"), _count("add_to_cart"))
            .where(*new, Event.name.in_(["view_item", "add_to_cart"]), Event.item_id.is_not(None))
            .group_by(on_day, Event.item_id)
        )
        self.items.update(
            ((day, item), [views, carts]) for day, item, views, carts in conn.execute(query)
        )


def _count(name: str) -> Any:
    return func.sum(case((Event.name == name, 1), else_=0))


def _day(ts: Any) -> Any:
    return func.date(ts, type_=Date)


def add_events(conn: Connection, rows: Iterable[Mapping[str, Any]]) -> None:
    """Count newly stored events into the aggregates, in the transaction that stored them.

    ``rows`` hold at least :data:`EVENT_FIELDS`; pass only the events the insert added
    (each is counted once, and exactly once, by the caller's contract).
    """
    sums = Sums()
    sums.add_rows(map(itemgetter(*EVENT_FIELDS), rows))
    _apply(conn, sums)


def add_stored_events(
    conn: Connection, after_id: int = 0, progress: Callable[[int], Any] | None = None
) -> int:
    """Count the stored events whose id is above ``after_id`` (all by default) into the
    aggregates, in id ranges; returns how many. ``progress(done)``."""
    last = conn.scalar(select(func.max(Event.id))) or 0
    done = 0
    for lo in range(after_id, last, _READ_CHUNK):
        new = (Event.id > lo, Event.id <= min(lo + _READ_CHUNK, last))
        sums = Sums()
        if conn.dialect.name == "sqlite":
            sums.add_stored(conn, new)
        else:
            columns = [Event.__table__.c[name] for name in EVENT_FIELDS]
            sums.add_rows(conn.execute(select(*columns).where(*new)))
        _apply(conn, sums)
        done += sum(counts[_EVENTS] for counts in sums.traffic.values())
        if progress is not None:
            progress(done)
    return done


def _apply(conn: Connection, sums: Sums) -> None:
    """Write the sums: sessions first (they add to the traffic counts), then the counts."""
    if not sums.traffic:
        return
    _count_sessions(conn, sums.sessions, sums.traffic)
    for counts in sums.traffic.values():
        counts[_VALUE] = round(counts[_VALUE], 2)
    statements = _statements(conn.dialect.name)
    _add(conn, statements.add_traffic, _TRAFFIC_KEYS, TRAFFIC_COUNTS, sums.traffic)
    products = _by_product(conn, sums.items)
    _add(conn, statements.add_products, _PRODUCT_KEYS, _PRODUCT_COUNTS, products)


def _count_sessions(
    conn: Connection,
    sessions: dict[tuple[str, str | date], list[Any]],
    traffic: dict[Bucket, list[Any]],
) -> None:
    """Write the batch's sessions to ``traffic_sessions`` and their counts into ``traffic``.

    A session stored already is locked (PostgreSQL) and moved when the batch holds an
    earlier event of it, or marked converted by the batch's first purchase. A new one is
    inserted; where a concurrent writer inserted it first (PostgreSQL), it is read again
    as a stored one once that writer has committed.
    """
    pending: dict[str, list[Any]] = {}
    for (user, own), seen in sessions.items():
        if isinstance(own, str):
            pending[session_key(user, own, seen[1][0])] = seen
        else:
            pending[session_key(user, None, own)] = seen
    while pending:
        changed = []
        for row in _stored_sessions(conn, sorted(pending)):
            (first, bucket, bought) = pending.pop(row.session_key)
            was = (row.started_at.date(), row.source, row.medium, row.device)
            stored_first = (row.started_at, row.first_event_id)
            if first < stored_first:
                _bump(traffic, was, -1, -int(row.converted))
                _bump(traffic, bucket, 1, int(row.converted or bought))
                changed.append(
                    _session_row(row.session_key, first, bucket, row.converted or bought)
                )
            elif bought and not row.converted:
                _bump(traffic, was, 0, 1)
                changed.append(_session_row(row.session_key, stored_first, was, True))
        if changed:
            rows = [{f"v_{k}": v for k, v in row.items()} for row in changed]
            conn.execute(_statements(conn.dialect.name).update_session, rows)
        new = [_session_row(key, *pending[key]) for key in sorted(pending)]
        for key in _insert_sessions(conn, new):
            (_first, bucket, bought) = pending.pop(key)
            _bump(traffic, bucket, 1, int(bought))


def _insert_sessions(conn: Connection, rows: list[dict[str, Any]]) -> Iterable[str]:
    """Insert sessions not stored a moment ago; returns the keys inserted (the others were
    inserted meanwhile by a concurrent writer, which has committed by now)."""
    if not rows:
        return []
    if conn.dialect.name == "sqlite":
        # One writer at a time, and this transaction has written: none can be there now.
        insert_new(conn, _sessions_table, rows, ["session_key"], sqlite_bulk_from=1)
        return [row["session_key"] for row in rows]
    if len(rows) >= COPY_THRESHOLD:  # COPY adapts values quicker than array parameters
        return insert_new_returning(conn, _sessions_table, rows, ["session_key"], "session_key")
    columns = [c.name for c in _sessions_table.c]
    stmt = _statements(conn.dialect.name).insert_sessions
    return list(conn.scalars(stmt, {c: [row[c] for row in rows] for c in columns}))


def _stored_sessions(conn: Connection, keys: list[str]) -> Iterator[Any]:
    """The stored sessions among ``keys``, locked in key order (PostgreSQL), so concurrent
    writers cannot deadlock on them."""
    query = _statements(conn.dialect.name).stored_sessions
    return iter(conn.execute(query, {"keys": _keys_value(conn, keys)}).all())


def _session_row(
    key: str, first: tuple[datetime, str], bucket: Bucket, converted: bool
) -> dict[str, Any]:
    (started_at, event_id), (_day, source, medium, device) = first, bucket
    return {
        "session_key": key,
        "started_at": started_at,
        "first_event_id": event_id,
        "source": source,
        "medium": medium,
        "device": device,
        "converted": converted,
    }


def _bump(traffic: dict[Bucket, list[Any]], bucket: Bucket, sessions: int, converted: int) -> None:
    counts = traffic.get(bucket)
    if counts is None:
        counts = traffic[bucket] = [0, 0, 0, 0, 0, 0, 0, 0.0]
    counts[_SESSIONS] += sessions
    counts[_CONVERTED] += converted


def _by_product(
    conn: Connection, items: dict[tuple[date, str], list[int]]
) -> dict[tuple[date, int], list[int]]:
    """Item counts per (day, product): item ids matched to products' external ids, then to
    variant SKUs (the first variant stored, as order lines are linked); others dropped."""
    ids = product_ids(conn, {item for _day, item in items})
    out: dict[tuple[date, int], list[int]] = {}
    for (day, item), (views, carts) in items.items():
        if (pid := ids.get(item)) is not None:
            per = out.setdefault((day, pid), [0, 0])
            per[0] += views
            per[1] += carts
    return out


def product_ids(conn: Connection, item_ids: Iterable[str]) -> dict[str, int]:
    """Event item id → product id: by product external id, else by the SKU of a variant
    (the first stored, as order lines are linked)."""
    wanted = list(dict.fromkeys(item_ids))
    if not wanted:
        return {}
    found: dict[str, int] = {}
    skus: dict[str, tuple[int, int]] = {}
    query = _statements(conn.dialect.name).products
    for by_sku, key, pid, variant in conn.execute(query, {"keys": _keys_value(conn, wanted)}):
        if not by_sku:
            found[key] = pid
        elif key not in skus or variant < skus[key][0]:
            skus[key] = (variant, pid)
    for key, (_variant, pid) in skus.items():
        found.setdefault(key, pid)
    return found


def _insert(conn: Connection, table: Table) -> Any:
    return (postgresql if conn.dialect.name == "postgresql" else sqlite).insert(table)


def _add(
    conn: Connection,
    stmt: Any,
    keys: Sequence[str],
    counts: Sequence[str],
    deltas: Mapping[tuple[Any, ...], Sequence[Any]],
) -> None:
    """Add ``deltas`` to the ``counts`` columns of the rows keyed by ``keys`` (made where
    missing) with ``stmt``, in key order so concurrent writers lock rows in one order."""
    if deltas:
        rows = [
            dict(zip(keys, k, strict=True)) | dict(zip(counts, v, strict=True))
            for k, v in sorted(deltas.items())
        ]
        conn.execute(stmt, rows)


# Statements are built once per dialect: building one costs more than running it on the
# few rows of an API batch. Lists of keys travel as one parameter (a JSON array on SQLite,
# an array on PostgreSQL), not as an IN list of as many parameters.


def _keys_value(conn: Connection, keys: list[str]) -> Any:
    return dumps_json(keys) if conn.dialect.name == "sqlite" else keys


def _in_keys(column: Any, dialect: str) -> ColumnElement[bool]:
    if dialect == "sqlite":
        listed = func.json_each(bindparam("keys", type_=String)).table_valued("value")
        return column.in_(select(listed.c.value))
    return column == any_(bindparam("keys", type_=ARRAY(String)))


def _add_statement(dialect: str, table: Table, keys: Sequence[str], counts: Sequence[str]) -> Any:
    stmt = (postgresql if dialect == "postgresql" else sqlite).insert(table)
    return stmt.on_conflict_do_update(
        index_elements=list(keys), set_={c: table.c[c] + stmt.excluded[c] for c in counts}
    )


@dataclass(frozen=True)
class _Statements:
    add_traffic: Any
    add_products: Any
    stored_sessions: Any
    update_session: Any
    insert_sessions: Any
    products: Any


@cache
def _statements(dialect: str) -> _Statements:
    table = _sessions_table
    key = table.c.session_key
    values = {c.name: bindparam(f"v_{c.name}") for c in table.c if c is not key}
    return _Statements(
        add_traffic=_add_statement(dialect, _traffic_table, _TRAFFIC_KEYS, TRAFFIC_COUNTS),
        add_products=_add_statement(dialect, _products_table, _PRODUCT_KEYS, _PRODUCT_COUNTS),
        stored_sessions=select(table)
        .where(_in_keys(key, dialect))
        .order_by(key)  # locked in key order: concurrent writers cannot deadlock on them
        .with_for_update(),
        update_session=update(table).where(key == bindparam("v_session_key")).values(values),
        insert_sessions=_insert_sessions_statement(dialect),
        products=_products_query(dialect),
    )


def _insert_sessions_statement(dialect: str) -> Any:
    if dialect == "sqlite":
        return None  # SQLite inserts through writer.insert_new's bulk path
    # One statement, a column per array parameter (a VALUES row per session costs more to
    # build than to run); ON CONFLICT waits for a concurrent writer of the same session.
    columns = [c.name for c in _sessions_table.c]
    arrays = ", ".join(f"CAST(:{c} AS {_PG_ARRAYS[c]})" for c in columns)
    return text(
        f"INSERT INTO traffic_sessions ({', '.join(columns)}) SELECT * FROM unnest({arrays}) "
        "ON CONFLICT (session_key) DO NOTHING RETURNING session_key"
    )


def _products_query(dialect: str) -> Any:
    """(by SKU?, item id, product id, variant id): products by external id, variants by
    SKU."""
    zero = literal_column("0")
    by_id = select(zero.label("by_sku"), Product.external_id, Product.id, zero.label("variant"))
    by_sku = select(literal_column("1"), Variant.sku, Variant.product_id, Variant.id)
    return union_all(
        by_id.where(_in_keys(Product.external_id, dialect)),
        by_sku.where(_in_keys(Variant.sku, dialect)),
    )


# --- the orders write path ------------------------------------------------------------


def orders_changing(conn: Connection, external_ids: Iterable[str]) -> set[date]:
    """Call before writing orders: returns the days those orders are on now (a re-import
    may move an order to another day), to pass to :func:`refresh_sales` with the days they
    are on after. On PostgreSQL it also locks ``daily_sales`` against other order writers
    (not readers) until commit, so concurrent order writes recompute one after another."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("LOCK TABLE daily_sales IN SHARE ROW EXCLUSIVE MODE"))
    keys = list(dict.fromkeys(external_ids))
    days: set[date] = set()
    for i in range(0, len(keys), _CHUNK):
        query = select(Order.created_at).where(Order.external_id.in_(keys[i : i + _CHUNK]))
        days.update(ts.date() for ts in conn.scalars(query))
    return days


def refresh_sales(conn: Connection, days: Iterable[date]) -> None:
    """Recompute ``daily_sales`` and the units and revenue of ``daily_products`` for
    ``days`` from the orders and order lines stored now. Cancelled orders (``cancelled_at``
    set) are left out. Call after a write to orders, in its transaction."""
    for lo, hi in _runs(sorted(set(days))):
        _recompute_sales(conn, lo, hi)


def _runs(days: list[date]) -> Iterator[tuple[date, date]]:
    """Consecutive days as (first, last) ranges."""
    start = prev = None
    for day in days:
        if prev is not None and day == prev + timedelta(days=1):
            prev = day
            continue
        if start is not None and prev is not None:
            yield start, prev
        start = prev = day
    if start is not None and prev is not None:
        yield start, prev


def _recompute_sales(conn: Connection, lo: date | None, hi: date | None) -> None:
    """Sales aggregates of the days ``lo``..``hi`` (every day when both are None)."""
    day = _day(Order.created_at)
    in_range: list[ColumnElement[bool]] = [Order.cancelled_at.is_(None)]
    sales_days: list[ColumnElement[bool]] = []
    product_days: list[ColumnElement[bool]] = []
    if lo is not None and hi is not None:
        in_range += [
            Order.created_at >= datetime.combine(lo, time()),
            Order.created_at < datetime.combine(hi + timedelta(days=1), time()),
        ]
        sales_days.append(DailySales.day.between(lo, hi))
        product_days.append(DailyProduct.day.between(lo, hi))
    source, medium = func.coalesce(Order.source, _EMPTY), func.coalesce(Order.medium, _EMPTY)
    sales = (
        select(day, source, medium, func.count(), func.sum(Order.total))
        .where(*in_range)
        .group_by(day, source, medium)
    )
    conn.execute(delete(DailySales).where(*sales_days))
    names = ["day", "source", "medium", "orders", "revenue"]
    conn.execute(DailySales.__table__.insert().from_select(names, sales))

    net = OrderLine.price * OrderLine.quantity - OrderLine.discount
    sold = (
        select(
            day,
            OrderLine.product_id,
            literal_column("0").label("views"),
            literal_column("0").label("add_to_carts"),
            func.sum(OrderLine.quantity),
            func.sum(net),
        )
        .join(Order, Order.id == OrderLine.order_id)
        .where(*in_range, OrderLine.product_id.is_not(None))
        .group_by(day, OrderLine.product_id)
    )
    if conn.dialect.name == "postgresql":  # row locks in the event writers' order: no deadlock
        order = (DailyProduct.day, DailyProduct.product_id)
        conn.execute(select(*order).where(*product_days).order_by(*order).with_for_update())
    conn.execute(update(DailyProduct).where(*product_days).values(units=0, revenue=0))
    stmt = _insert(conn, _products_table).from_select(
        ["day", "product_id", "views", "add_to_carts", "units", "revenue"], sold
    )
    excluded = stmt.excluded
    conn.execute(
        stmt.on_conflict_do_update(
            index_elements=["day", "product_id"],
            set_={"units": excluded.units, "revenue": excluded.revenue},
        )
    )
    idle = (DailyProduct.views == 0, DailyProduct.add_to_carts == 0, DailyProduct.units == 0)
    conn.execute(delete(DailyProduct).where(*product_days, *idle, DailyProduct.revenue == 0))


# --- rebuilding -------------------------------------------------------------------------


def rebuild_daily(store: Store, progress: Callable[[int], Any] | None = None) -> dict[str, int]:
    """Recompute every aggregate from the stored events and orders, in one transaction;
    returns the row count of each aggregate table. ``progress(events counted)``.

    For stores filled before the aggregates existed (``shopmind db rebuild-aggregates``).
    Writers wait meanwhile (the aggregate tables are locked until the end), so nothing
    written during the rebuild is missed or counted twice.
    """
    with store.connect() as conn:
        tables = ("traffic_sessions", "daily_traffic", "daily_sales", "daily_products")
        if conn.dialect.name == "postgresql":
            conn.execute(text(f"TRUNCATE {', '.join(tables)}"))
        else:
            for name in tables:
                conn.execute(text(f"DELETE FROM {name}"))
        add_stored_events(conn, progress=progress)
        _recompute_sales(conn, None, None)
        return {name: conn.scalar(text(f"SELECT count(*) FROM {name}")) or 0 for name in tables}


def needs_rebuild(store: Store) -> bool:
    """Whether the aggregates are missing while the store holds events or (uncancelled)
    orders: a store filled before they existed, to be rebuilt with :func:`rebuild_daily`."""
    with store.engine.connect() as conn:
        found = conn.execute(
            select(
                select(Event.id).exists(),
                select(DailyTraffic.day).exists(),
                select(Order.id).where(Order.cancelled_at.is_(None)).exists(),
                select(DailySales.day).exists(),
            )
        ).one()
    events, traffic, orders, sales = found
    return bool((events and not traffic) or (orders and not sales))


# --- reading ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Figure:
    """One figure of a period beside the previous period of the same length. ``change``
    is relative ((value − previous) / previous), ``None`` where either is missing or zero
    (a rate or average of nothing is ``None`` too)."""

    value: float | None
    previous: float | None
    change: float | None


@dataclass(frozen=True)
class Overview:
    """The overview's figures for the days ``start``..``end`` (both included)."""

    start: date
    end: date
    previous_start: date
    previous_end: date
    revenue: Figure
    orders: Figure
    sessions: Figure
    conversion_rate: Figure  # converted sessions / sessions
    average_order_value: Figure  # revenue / orders


@dataclass(frozen=True)
class DayFigures:
    day: date
    revenue: float
    orders: int
    sessions: int


@dataclass(frozen=True)
class SourceFigures:
    """One traffic source/medium: sessions and conversion (by the session's first event)
    and the orders and revenue of orders carrying that source/medium."""

    source: str
    medium: str
    sessions: int
    converted_sessions: int
    conversion_rate: float | None
    orders: int
    revenue: float


@dataclass(frozen=True)
class ProductFigures:
    product_id: int
    external_id: str
    title: str
    units: int
    revenue: float
    views: int
    add_to_carts: int


def _check_period(start: date, end: date) -> int:
    if isinstance(start, datetime) or isinstance(end, datetime):
        raise TypeError("start and end are days (datetime.date), not moments")
    if end < start:
        raise ValueError(f"end {end.isoformat()} is before start {start.isoformat()}")
    return (end - start).days + 1


def _ratio(a: float, b: float) -> float | None:
    return a / b if b else None


def _figure(value: float | None, previous: float | None) -> Figure:
    change = None if value is None or not previous else (value - previous) / previous
    return Figure(value, previous, change)


def _totals(conn: Connection, start: date, end: date) -> tuple[float, int, int, int]:
    """Revenue, orders, sessions and converted sessions of ``start``..``end``."""
    revenue, orders = conn.execute(
        select(
            func.coalesce(func.sum(DailySales.revenue), 0),
            func.coalesce(func.sum(DailySales.orders), 0),
        ).where(DailySales.day.between(start, end))
    ).one()
    sessions, converted = conn.execute(
        select(
            func.coalesce(func.sum(DailyTraffic.sessions), 0),
            func.coalesce(func.sum(DailyTraffic.converted_sessions), 0),
        ).where(DailyTraffic.day.between(start, end))
    ).one()
    return round(float(revenue), 2), int(orders), int(sessions), int(converted)


def overview(store: Store, start: date, end: date) -> Overview:
    """Revenue, orders, sessions, conversion rate and average order value of the days
    ``start``..``end``, each beside the same figure of the as many days before."""
    days = _check_period(start, end)
    before_start, before_end = start - timedelta(days=days), start - timedelta(days=1)
    with store.engine.connect() as conn:
        now, then = _totals(conn, start, end), _totals(conn, before_start, before_end)
    (revenue, orders, sessions, converted), (revenue0, orders0, sessions0, converted0) = now, then
    aov, aov0 = _ratio(revenue, orders), _ratio(revenue0, orders0)
    return Overview(
        start=start,
        end=end,
        previous_start=before_start,
        previous_end=before_end,
        revenue=_figure(revenue, revenue0),
        orders=_figure(orders, orders0),
        sessions=_figure(sessions, sessions0),
        conversion_rate=_figure(_ratio(converted, sessions), _ratio(converted0, sessions0)),
        average_order_value=_figure(
            None if aov is None else round(aov, 2), None if aov0 is None else round(aov0, 2)
        ),
    )


def daily_series(store: Store, start: date, end: date) -> list[DayFigures]:
    """Revenue, orders and sessions per day of ``start``..``end``, days without any as zeros."""
    days = _check_period(start, end)
    with store.engine.connect() as conn:
        sales = conn.execute(
            select(DailySales.day, func.sum(DailySales.revenue), func.sum(DailySales.orders))
            .where(DailySales.day.between(start, end))
            .group_by(DailySales.day)
        ).all()
        traffic = conn.execute(
            select(DailyTraffic.day, func.sum(DailyTraffic.sessions))
            .where(DailyTraffic.day.between(start, end))
            .group_by(DailyTraffic.day)
        ).all()
    by_day = {day: (round(float(revenue), 2), int(orders)) for day, revenue, orders in sales}
    visits = {day: int(n) for day, n in traffic}
    out = []
    for i in range(days):
        day = start + timedelta(days=i)
        revenue, orders = by_day.get(day, (0.0, 0))
        out.append(DayFigures(day, revenue, orders, visits.get(day, 0)))
    return out


def by_source(store: Store, start: date, end: date) -> list[SourceFigures]:
    """Sessions, conversion rate, orders and revenue per source/medium of ``start``..``end``,
    most sessions first (then most revenue). ``""`` stands for a missing source or medium."""
    _check_period(start, end)
    t, s = DailyTraffic, DailySales
    with store.engine.connect() as conn:
        traffic = conn.execute(
            select(t.source, t.medium, func.sum(t.sessions), func.sum(t.converted_sessions))
            .where(t.day.between(start, end))
            .group_by(t.source, t.medium)
        ).all()
        sales = conn.execute(
            select(s.source, s.medium, func.sum(s.orders), func.sum(s.revenue))
            .where(s.day.between(start, end))
            .group_by(s.source, s.medium)
        ).all()
    rows: dict[tuple[str, str], list[Any]] = {}
    for source, medium, sessions, converted in traffic:
        rows[(source, medium)] = [int(sessions), int(converted), 0, 0.0]
    for source, medium, orders, revenue in sales:
        row = rows.setdefault((source, medium), [0, 0, 0, 0.0])
        row[2], row[3] = int(orders), round(float(revenue), 2)
    out = [
        SourceFigures(
            source, medium, sessions, converted, _ratio(converted, sessions), orders, revenue
        )
        for (source, medium), (sessions, converted, orders, revenue) in rows.items()
    ]
    out.sort(key=lambda r: (-r.sessions, -r.revenue, r.source, r.medium))
    return out


def top_products(store: Store, start: date, end: date, n: int = 10) -> list[ProductFigures]:
    """The ``n`` products with the most revenue in ``start``..``end`` (then most units),
    with units sold, views and add-to-carts; products that sold nothing are left out.

    Two reads: the days' rows that hold sales (few, beside a row per product viewed each
    day), then the views and carts of the ``n`` winners by their (product, day) index; one
    grouping of every row of a year costs ten times more.
    """
    _check_period(start, end)
    d = DailyProduct
    revenue, units = func.sum(d.revenue), func.sum(d.units)
    top = (
        select(d.product_id, units.label("units"), revenue.label("revenue"))
        .where(d.day.between(start, end), (d.units != _ZERO) | (d.revenue != _ZERO))
        .group_by(d.product_id)
        .having(units > 0)
        .order_by(revenue.desc(), units.desc(), d.product_id)
        .limit(n)
        .subquery()
    )
    query = (
        select(top, Product.external_id, Product.title)
        .join(Product, Product.id == top.c.product_id)
        .order_by(top.c.revenue.desc(), top.c.units.desc(), top.c.product_id)
    )
    with store.engine.connect() as conn:
        rows = conn.execute(query).all()
        ids = [r.product_id for r in rows]
        views = (
            select(d.product_id, func.sum(d.views), func.sum(d.add_to_carts))
            .where(d.product_id.in_(ids), d.day.between(start, end))
            .group_by(d.product_id)
        )
        looked = {pid: (int(v), int(c)) for pid, v, c in conn.execute(views)} if ids else {}
    return [
        ProductFigures(
            r.product_id,
            r.external_id,
            r.title,
            int(r.units),
            round(float(r.revenue), 2),
            *looked.get(r.product_id, (0, 0)),
        )
        for r in rows
    ]


def last_day(store: Store) -> date | None:
    """The newest day with sales (with traffic, for a store without orders; None for an
    empty store): where a dashboard's default period ends, since an imported store's data
    stops at its last export. Sales decide because sessions running past the last
    export's midnight would otherwise end the period on a nearly empty day."""
    with store.engine.connect() as conn:
        sales = conn.execute(select(func.max(DailySales.day))).scalar_one()
        if sales is not None:
            return sales
        return conn.execute(select(func.max(DailyTraffic.day))).scalar_one()
