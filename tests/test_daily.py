"""Daily aggregates: kept exact by every write path, equal to plain SQL over events and orders,
unchanged by repeats and failed imports, rebuilt to exactly what the write path gave."""

from __future__ import annotations

import json
import random
import threading
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Connection, case, func, select, text, update
from typer.testing import CliRunner

from shopmind.api import create_app
from shopmind.cli import app as cli_app
from shopmind.config import load_settings
from shopmind.simulate import SimulationConfig, simulate
from shopmind.store import Store
from shopmind.store.apikeys import create_api_key
from shopmind.store.daily import (
    by_source,
    daily_series,
    last_day,
    needs_rebuild,
    overview,
    rebuild_daily,
    session_key,
    top_products,
)
from shopmind.store.events import normalize_event, store_events, write_events
from shopmind.store.importers import ImportFileError, import_file
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
from shopmind.store.writer import insert_new

DATA = Path(__file__).parent / "data" / "importers"
# Several flushes a day, below and above the bulk-insert threshold (500 rows).
CONFIG = SimulationConfig(customers=300, days=10, products=25, traffic=4.0, seed=5, batch_size=600)
START = CONFIG.start
AGGREGATES = (TrafficSession, DailyTraffic, DailySales, DailyProduct)


def snapshot(store: Store) -> dict[str, list[tuple[Any, ...]]]:
    """Every aggregate row, money rounded to cents."""
    out = {}
    with store.engine.connect() as conn:
        for model in AGGREGATES:
            rows = conn.execute(select(model.__table__)).all()
            out[model.__tablename__] = sorted(
                tuple(round(v, 2) if isinstance(v, float) else v for v in row) for row in rows
            )
    return out


def _at(day: date) -> datetime:
    return datetime.combine(day, time())


# --- the same figures in plain SQL over events and orders -------------------------------


def _first_events(conn: Connection) -> Any:
    """Each session's earliest event (by ts, then event id) and whether it has a purchase."""
    own = case((Event.session_id.is_(None), func.date(Event.ts)))
    part = (Event.user_id, Event.session_id, own)
    ranked = select(
        Event.ts,
        func.coalesce(Event.source, "").label("source"),
        func.coalesce(Event.medium, "").label("medium"),
        func.row_number().over(partition_by=part, order_by=(Event.ts, Event.event_id)).label("n"),
        func.max(case((Event.name == "purchase", 1), else_=0))
        .over(partition_by=part)
        .label("bought"),
    ).subquery()
    return select(ranked).where(ranked.c.n == 1).subquery()


def sql_sessions(conn: Connection, start: date, end: date) -> dict[tuple[str, str], list[int]]:
    """(source, medium) → [sessions, converted] of sessions starting in start..end."""
    first = _first_events(conn)
    rows = conn.execute(
        select(first.c.source, first.c.medium, func.count(), func.sum(first.c.bought))
        .where(first.c.ts >= _at(start), first.c.ts < _at(end + timedelta(days=1)))
        .group_by(first.c.source, first.c.medium)
    )
    return {(s, m): [int(n), int(c)] for s, m, n, c in rows}


def sql_sales(conn: Connection, start: date, end: date) -> dict[tuple[str, str], list[Any]]:
    """(source, medium) → [orders, revenue] of uncancelled orders placed in start..end."""
    rows = conn.execute(
        select(Order.source, Order.medium, func.count(), func.sum(Order.total))
        .where(
            Order.cancelled_at.is_(None),
            Order.created_at >= _at(start),
            Order.created_at < _at(end + timedelta(days=1)),
        )
        .group_by(Order.source, Order.medium)
    )
    return {(s or "", m or ""): [int(n), round(float(r), 2)] for s, m, n, r in rows}


def sql_products(conn: Connection, start: date, end: date) -> list[tuple[int, str, int, float]]:
    """(product id, title, units, revenue) by revenue, then units, then id."""
    revenue = func.sum(OrderLine.price * OrderLine.quantity - OrderLine.discount)
    rows = conn.execute(
        select(OrderLine.product_id, Product.title, func.sum(OrderLine.quantity), revenue)
        .join(Order, Order.id == OrderLine.order_id)
        .join(Product, Product.id == OrderLine.product_id)
        .where(
            Order.cancelled_at.is_(None),
            Order.created_at >= _at(start),
            Order.created_at < _at(end + timedelta(days=1)),
        )
        .group_by(OrderLine.product_id, Product.title)
    )
    out = [(pid, title, int(units), round(float(rev), 2)) for pid, title, units, rev in rows]
    return sorted(out, key=lambda r: (-r[3], -r[2], r[0]))


def totals(store: Store, start: date, end: date) -> tuple[float, int, int, int]:
    with store.engine.connect() as conn:
        sessions = sql_sessions(conn, start, end).values()
        sales = sql_sales(conn, start, end).values()
    revenue = round(sum(r for _, r in sales), 2)
    return (
        revenue,
        sum(n for n, _ in sales),
        sum(n for n, _ in sessions),
        sum(c for _, c in sessions),
    )


# --- events -----------------------------------------------------------------------------


def ev(
    i: int,
    name: str = "view_item",
    at: str = "2024-05-01T10:00:00",
    user: str = "u1",
    session: str | None = "s1",
    **fields: Any,
) -> dict[str, Any]:
    """A raw flat GA4 event with a known id."""
    raw = {
        "event_id": f"e{i}",
        "event_name": name,
        "event_timestamp": at,
        "user_pseudo_id": user,
        "session_id": session,
        "source": "google",
        "medium": "cpc",
        "device_category": "mobile",
    }
    return raw | fields


def many_events(n: int, offset: int = 0) -> list[dict[str, Any]]:
    """``n`` raw events over a few days, sessions and sources, with carts and purchases."""
    r = random.Random(offset)
    out = []
    for i in range(offset, offset + n):
        name = r.choice(["view_item", "view_item", "add_to_cart", "begin_checkout", "purchase"])
        at = datetime(2024, 5, 1) + timedelta(minutes=37 * i)
        fields: dict[str, Any] = {"source": r.choice(["google", "newsletter", None])}
        if name == "purchase":
            fields["value"] = round(r.uniform(5, 200), 2)
        if name in ("view_item", "add_to_cart"):
            fields["items"] = [{"item_id": r.choice(["P-1", "SKU-2", "nope"])}]
        out.append(ev(i, name, at.isoformat(), f"u{i % 7}", f"s{i // 5}", **fields))
    return out


def normalized(raws: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [normalize_event(raw) for raw in raws]


def write_jsonl(path: Path, raws: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(raw) + "\n" for raw in raws))
    return path


def add_catalog(store: Store) -> dict[str, int]:
    """Product P-1, and product P-2 with variant SKU-2: item ids of both kinds."""
    with store.session() as s:
        one, two = Product(external_id="P-1", title="One"), Product(external_id="P-2", title="Two")
        two.variants.append(Variant(external_id="P-2:a", sku="SKU-2"))
        s.add_all([one, two])
    with store.engine.connect() as conn:
        return dict(conn.execute(select(Product.external_id, Product.id)).all())


def assert_traffic_matches_sql(store: Store, start: date, end: date) -> None:
    """Sessions, conversions and per-event counts of the aggregates equal plain SQL."""
    with store.engine.connect() as conn:
        expected = sql_sessions(conn, start, end)
        counts = conn.execute(
            select(
                func.count(),
                func.sum(case((Event.name == "view_item", 1), else_=0)),
                func.sum(case((Event.name == "add_to_cart", 1), else_=0)),
                func.sum(case((Event.name == "purchase", func.coalesce(Event.value, 0)), else_=0)),
            ).where(Event.ts >= _at(start), Event.ts < _at(end + timedelta(days=1)))
        ).one()
        stored = conn.execute(
            select(
                func.sum(DailyTraffic.events),
                func.sum(DailyTraffic.views),
                func.sum(DailyTraffic.add_to_carts),
                func.sum(DailyTraffic.purchase_value),
            ).where(DailyTraffic.day.between(start, end))
        ).one()
    got = {
        (r.source, r.medium): [r.sessions, r.converted_sessions]
        for r in by_source(store, start, end)
    }
    assert {k: v for k, v in got.items() if v != [0, 0]} == expected
    assert [int(x or 0) for x in stored[:3]] == [int(x or 0) for x in counts[:3]]
    assert round(float(stored[3] or 0), 2) == round(float(counts[3] or 0), 2)


# --- a simulated store: every figure equals plain SQL -----------------------------------


def test_overview_figures_equal_plain_sql_on_a_simulated_store(store: Store) -> None:
    simulate(store, CONFIG)
    start, end = START + timedelta(days=5), START + timedelta(days=9)
    before = (START, START + timedelta(days=4))

    o = overview(store, start, end)

    assert last_day(store) == START + timedelta(days=CONFIG.days - 1)
    assert (o.previous_start, o.previous_end) == before
    for (s, e), which in (((start, end), "value"), (before, "previous")):
        revenue, orders, sessions, converted = totals(store, s, e)
        assert orders > 0 and sessions > 0 and converted > 0
        assert getattr(o.revenue, which) == revenue
        assert getattr(o.orders, which) == orders
        assert getattr(o.sessions, which) == sessions
        assert getattr(o.conversion_rate, which) == pytest.approx(converted / sessions)
        assert getattr(o.average_order_value, which) == round(revenue / orders, 2)
    assert o.revenue.change == pytest.approx(
        (o.revenue.value - o.revenue.previous) / o.revenue.previous
    )
    assert o.sessions.change == pytest.approx(o.sessions.value / o.sessions.previous - 1)

    series = daily_series(store, START - timedelta(days=2), START + timedelta(days=9))
    assert [d.day for d in series] == [START + timedelta(days=i) for i in range(-2, 10)]
    assert series[0].revenue == series[0].orders == series[0].sessions == 0
    for d in series:
        revenue, orders, sessions, _ = totals(store, d.day, d.day)
        assert (d.revenue, d.orders, d.sessions) == (revenue, orders, sessions), d.day

    rows = by_source(store, START, end)
    with store.engine.connect() as conn:
        sessions, sales = sql_sessions(conn, START, end), sql_sales(conn, START, end)
        products = sql_products(conn, START, end)
    assert {(r.source, r.medium) for r in rows} == set(sessions) | set(sales)
    for r in rows:
        n, converted = sessions.get((r.source, r.medium), [0, 0])
        assert (r.sessions, r.converted_sessions) == (n, converted)
        assert r.conversion_rate == (pytest.approx(converted / n) if n else None)
        assert [r.orders, r.revenue] == sales.get((r.source, r.medium), [0, 0.0])
    assert [r.sessions for r in rows] == sorted((r.sessions for r in rows), reverse=True)

    top = top_products(store, START, end, n=5)
    assert [(p.product_id, p.title, p.units, p.revenue) for p in top] == products[:5]
    assert_traffic_matches_sql(store, START, end)


def test_rebuild_gives_exactly_what_the_write_path_gave(store: Store) -> None:
    simulate(store, CONFIG)
    incremental = snapshot(store)
    assert all(incremental.values())

    counts = rebuild_daily(store)

    assert snapshot(store) == incremental
    assert counts == {name: len(rows) for name, rows in incremental.items()}


def test_periods_are_checked(store: Store) -> None:
    with pytest.raises(ValueError, match="before start"):
        overview(store, date(2024, 5, 2), date(2024, 5, 1))
    with pytest.raises(TypeError, match="days"):
        daily_series(store, datetime(2024, 5, 1), date(2024, 5, 2))  # type: ignore[arg-type]
    assert last_day(store) is None
    empty = overview(store, date(2024, 5, 1), date(2024, 5, 1))
    assert (empty.revenue.value, empty.sessions.value, empty.conversion_rate.value) == (0, 0, None)
    assert empty.average_order_value.value is None and empty.revenue.change is None


# --- events: order, repeats, sessions ---------------------------------------------------


def test_sessions_follow_their_earliest_event_whatever_order_events_arrive_in(store: Store) -> None:
    raws = [
        # s1 crosses midnight; its first event (the 1st, from the newsletter) arrives last
        ev(1, "view_item", "2024-05-01T23:59:00", source="newsletter", medium="email"),
        ev(2, "add_to_cart", "2024-05-02T00:01:00"),
        ev(3, "purchase", "2024-05-02T00:05:00", value=20),
        ev(4, "purchase", "2024-05-02T00:06:00", value=5),  # a second purchase: one conversion
        # the same session id for another user is another session (GA4 ids are per user)
        ev(5, "view_item", "2024-05-02T09:00:00", user="u2", source="bing", medium="organic"),
        # no session id: one session per user and day
        ev(6, "view_item", "2024-05-02T10:00:00", user="u3", session=None),
        ev(7, "view_item", "2024-05-02T18:00:00", user="u3", session=None, source="x"),
        ev(8, "view_item", "2024-05-03T10:00:00", user="u3", session=None),
        # two events at the same moment: the smaller event id (e11) decides the source
        ev(11, "view_item", "2024-05-03T12:00:00", user="u4", source="tie-b"),
        ev(12, "view_item", "2024-05-03T12:00:00", user="u4", source="tie-a"),
    ]
    rows = normalized(raws)
    for batch in ([rows[3], rows[7]], [rows[1], rows[9], rows[2]], rows[4:7], [rows[8], rows[0]]):
        store_events(store, batch)

    got = {
        (r.source, r.medium): (r.sessions, r.converted_sessions)
        for r in by_source(store, date(2024, 5, 1), date(2024, 5, 3))
    }
    assert got == {
        ("newsletter", "email"): (1, 1),
        ("bing", "organic"): (1, 0),
        ("google", "cpc"): (2, 0),  # u3 on the 2nd and on the 3rd
        ("tie-b", "cpc"): (1, 0),
        # buckets whose events counted, but no session started there
        ("x", "cpc"): (0, 0),
        ("tie-a", "cpc"): (0, 0),
    }
    days = {d.day: d.sessions for d in daily_series(store, date(2024, 5, 1), date(2024, 5, 3))}
    assert days == {date(2024, 5, 1): 1, date(2024, 5, 2): 2, date(2024, 5, 3): 2}
    assert_traffic_matches_sql(store, date(2024, 5, 1), date(2024, 5, 3))
    in_order = snapshot(store)
    rebuild_daily(store)
    assert snapshot(store) == in_order


def test_concurrent_writers_of_one_session_count_it_once(store: Store) -> None:
    if store.dialect != "postgresql":
        pytest.skip("SQLite has one writer at a time")
    later, earlier = normalized(
        [
            ev(1, "view_item", "2024-05-01T10:00:00"),
            ev(2, "purchase", "2024-05-01T09:00:00", source="bing", value=5),
        ]
    )
    errors: list[BaseException] = []

    def other_writer() -> None:
        try:
            store_events(store, [earlier])
        except BaseException as exc:  # reported by the assertion below
            errors.append(exc)

    watcher = store.engine.execution_options(isolation_level="AUTOCOMMIT")  # fresh stats
    with store.engine.connect() as conn, watcher.connect() as watch:
        with conn.begin():
            write_events(conn, [later])  # the session's row, not committed yet
            thread = threading.Thread(target=other_writer)
            thread.start()
            waiting = text(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE wait_event_type = 'Lock' AND datname = current_database()"
            )
            while not watch.scalar(waiting):  # until the other writer waits for that row
                thread.join(0.01)
                assert thread.is_alive(), errors
        thread.join()
    assert not errors
    got = {
        (r.source, r.sessions, r.converted_sessions)
        for r in by_source(store, date(2024, 5, 1), date(2024, 5, 1))
    }
    assert got == {("bing", 1, 1), ("google", 0, 0)}


def test_session_keys_tell_users_and_days_apart() -> None:
    day = date(2024, 5, 1)
    keys = {
        session_key("u1", "s1", day),
        session_key("u2", "s1", day),
        session_key("u1", None, day),
        session_key("u1", None, day + timedelta(days=1)),
        session_key("u1:s", "1", day),
    }
    assert len(keys) == 5
    assert session_key("u1", "s1", day) == session_key("u1", "s1", day + timedelta(days=3))
    assert session_key("u", "1715000000", day).startswith("s:1715000000|")


def test_product_views_and_carts_count_known_items_by_id_or_sku(store: Store) -> None:
    ids = add_catalog(store)
    raws = [
        ev(1, "view_item", items=[{"item_id": "P-1"}]),
        ev(2, "view_item", items=[{"item_id": "SKU-2"}]),
        ev(3, "add_to_cart", items=[{"item_id": "SKU-2"}, {"item_id": "P-1"}]),  # first item
        ev(4, "view_item", items=[{"item_id": "unknown"}]),
        ev(5, "begin_checkout", items=[{"item_id": "P-1"}]),
        ev(6, "view_item", "2024-05-02T10:00:00", items=[{"item_id": "P-1"}]),
    ]
    store_events(store, normalized(raws))
    with store.engine.connect() as conn:
        rows = conn.execute(
            select(
                DailyProduct.day,
                DailyProduct.product_id,
                DailyProduct.views,
                DailyProduct.add_to_carts,
            )
        ).all()
    assert sorted(rows) == [
        (date(2024, 5, 1), ids["P-1"], 1, 0),
        (date(2024, 5, 1), ids["P-2"], 1, 1),
        (date(2024, 5, 2), ids["P-1"], 1, 0),
    ]


def test_events_sent_twice_are_counted_once(store: Store) -> None:
    add_catalog(store)
    rows = normalized(many_events(60))
    assert store_events(store, rows) == 60
    once = snapshot(store)
    assert store_events(store, rows + rows[:5]) == 0
    assert snapshot(store) == once

    # A batch half old, half new counts only the new half (and a repeat within it once).
    more = normalized(many_events(40, offset=60))
    assert store_events(store, rows[30:] + more + more[:3]) == 40
    assert_traffic_matches_sql(store, date(2024, 5, 1), date(2024, 5, 3))
    twice = snapshot(store)
    rebuild_daily(store)
    assert snapshot(store) == twice


def test_events_posted_twice_to_the_api_are_counted_once(store: Store, tmp_path: Path) -> None:
    client_app = create_app(load_settings(tmp_path), store)
    raws = many_events(50)
    with TestClient(client_app) as client:
        headers = {"Authorization": f"Bearer {create_api_key(store, 'test')}"}
        first = client.post("/v1/events", headers=headers, json={"events": raws[:30]}).json()
        again = client.post("/v1/events", headers=headers, json={"events": raws[:30]}).json()
        assert (first["accepted"], again["accepted"]) == (30, 0)
        once = snapshot(store)
        mixed = client.post("/v1/events", headers=headers, json={"events": raws[20:]}).json()
        assert mixed["accepted"] == 20
    assert once != snapshot(store)
    assert_traffic_matches_sql(store, date(2024, 5, 1), date(2024, 5, 3))


@pytest.mark.parametrize("size", [40, 1200], ids=["small", "bulk"])
def test_events_imported_twice_are_counted_once(store: Store, tmp_path: Path, size: int) -> None:
    add_catalog(store)
    raws = many_events(size)
    path = write_jsonl(tmp_path / "events.jsonl", raws)
    assert import_file(store, "events", path, batch_size=size // 4).new == size
    once = snapshot(store)
    assert import_file(store, "events", path).new == 0
    assert snapshot(store) == once

    # The file grown by new events, with a repeat inside: only the new ones count.
    more = many_events(size // 2, offset=size)
    grown = write_jsonl(tmp_path / "grown.jsonl", raws + more + more[:7])
    assert import_file(store, "events", grown, batch_size=size // 4).new == size // 2
    assert_traffic_matches_sql(store, date(2024, 4, 30), date(2024, 6, 30))
    imported = snapshot(store)
    rebuild_daily(store)
    assert snapshot(store) == imported


def test_a_failed_import_leaves_the_aggregates_as_they_were(store: Store, tmp_path: Path) -> None:
    add_catalog(store)
    import_file(store, "events", write_jsonl(tmp_path / "a.jsonl", many_events(30)))
    import_file(store, "orders", write_orders(tmp_path / "a.csv", ORDERS))
    before = snapshot(store)
    assert before["daily_traffic"] and before["daily_sales"] and before["daily_products"]

    bad_events = [*many_events(30, offset=30), {"event_name": "view_item"}]  # no timestamp
    with pytest.raises(ImportFileError, match="line 31"):
        import_file(store, "events", write_jsonl(tmp_path / "b.jsonl", bad_events), batch_size=4)
    changed = [row.replace("72.00", "99.00") for row in ORDERS]
    changed.append("A-9,2024-05-09 10:00:00,,,,P-1,,One,1,abc")
    with pytest.raises(ImportFileError, match="price"):
        import_file(store, "orders", write_orders(tmp_path / "b.csv", changed), batch_size=1)

    assert snapshot(store) == before


# --- orders: re-imports recompute, cancelled orders are left out ------------------------

ORDERS = [
    "A-1,2024-05-01 09:30:00,72.00,google,cpc,P-1,,One,2,36.00",
    "A-2,2024-05-01 14:00:00,,newsletter,email,,SKU-2,Two,3,18.00",
    "A-3,2024-05-02 20:15:00,4.50,,,P-1,,Gift wrap,1,4.50",
]


def write_orders(path: Path, rows: list[str]) -> Path:
    header = "order_id,created_at,total,source,medium,product_id,sku,title,quantity,price"
    path.write_text("\n".join([header, *rows]) + "\n")
    return path


def test_a_reimported_order_moves_revenue_exactly(store: Store, tmp_path: Path) -> None:
    ids = add_catalog(store)
    days = (date(2024, 5, 1), date(2024, 5, 3))
    import_file(store, "orders", write_orders(tmp_path / "orders.csv", ORDERS))
    first = overview(store, *days)
    assert (first.revenue.value, first.orders.value) == (72 + 54 + 4.5, 3)
    assert [(p.external_id, p.units, p.revenue) for p in top_products(store, *days)] == [
        ("P-1", 3, 76.5),
        ("P-2", 3, 54.0),
    ]

    changed = [
        ORDERS[0].replace("72.00", "82.55"),  # a new total
        ORDERS[1].replace(",3,18.00", ",1,18.00"),  # fewer units (total from the lines)
        ORDERS[2].replace("2024-05-02", "2024-05-03"),  # moved to another day
    ]
    import_file(store, "orders", write_orders(tmp_path / "changed.csv", changed))

    again = overview(store, *days)
    assert again.revenue.value == round(first.revenue.value + 10.55 - 36, 2)
    assert again.orders.value == 3
    series = {d.day: (d.revenue, d.orders) for d in daily_series(store, *days)}
    assert series == {
        date(2024, 5, 1): (82.55 + 18, 2),
        date(2024, 5, 2): (0.0, 0),
        date(2024, 5, 3): (4.5, 1),
    }
    assert [(p.product_id, p.units, p.revenue) for p in top_products(store, *days)] == [
        (ids["P-1"], 3, 76.5),
        (ids["P-2"], 1, 18.0),
    ]
    with store.engine.connect() as conn:  # the day A-3 left holds no row of nothing
        assert (date(2024, 5, 2), ids["P-1"]) not in set(
            conn.execute(select(DailyProduct.day, DailyProduct.product_id)).all()
        )
    with store.engine.connect() as conn:
        assert sql_sales(conn, *days) == {
            (r.source, r.medium): [r.orders, r.revenue] for r in by_source(store, *days)
        }
    reimported = snapshot(store)
    rebuild_daily(store)
    assert snapshot(store) == reimported


def test_cancelled_orders_are_left_out(store: Store) -> None:
    import_file(store, "shopify-orders", DATA / "shopify_orders.csv")  # #1003 is cancelled
    days = (date(2024, 3, 1), date(2024, 3, 6))
    with store.engine.connect() as conn:
        totals_by_order = dict(conn.execute(select(Order.external_id, Order.total)).all())
    o = overview(store, *days)
    assert (o.orders.value, o.revenue.value) == (
        2,
        round(totals_by_order["#1001"] + totals_by_order["#1002"], 2),
    )


# --- stores filled before the aggregates ------------------------------------------------


def test_a_store_filled_before_the_aggregates_is_rebuilt(store: Store, tmp_path: Path) -> None:
    add_catalog(store)
    rows = normalized(many_events(80))
    with store.connect() as conn:  # as stores were written before the aggregates existed
        insert_new(conn, Event, rows, ["event_id"])
    import_file(store, "orders", write_orders(tmp_path / "orders.csv", ORDERS))
    with store.connect() as conn:
        for table in AGGREGATES:
            conn.execute(table.__table__.delete())
    assert needs_rebuild(store)

    rebuild_daily(store)

    assert not needs_rebuild(store)
    with store.connect() as conn:  # orders alone need the aggregates too
        conn.execute(DailySales.__table__.delete())
    assert needs_rebuild(store)
    rebuild_daily(store)
    assert_traffic_matches_sql(store, date(2024, 4, 30), date(2024, 5, 31))
    assert overview(store, date(2024, 5, 1), date(2024, 5, 2)).revenue.value == 72 + 54 + 4.5
    rebuilt = snapshot(store)
    with store.connect() as conn:  # the write path on the same events: the same aggregates
        for table in (*AGGREGATES, Event):
            conn.execute(table.__table__.delete())
    store_events(store, rows)
    import_file(store, "orders", write_orders(tmp_path / "orders.csv", ORDERS))
    assert snapshot(store) == rebuilt


def test_cli_upgrade_points_to_rebuild_aggregates(workspace: Path) -> None:
    runner = CliRunner()

    def invoke(*args: str) -> Any:
        result = runner.invoke(cli_app, ["--workspace", str(workspace), *args])
        assert result.exit_code == 0, result.output
        return result

    invoke("init")
    assert "rebuild-aggregates" not in invoke("db", "upgrade").output
    store = Store(load_settings(workspace).resolved_database_url)
    with store.connect() as conn:
        insert_new(conn, Event, normalized(many_events(20)), ["event_id"])
    assert "shopmind db rebuild-aggregates" in invoke("db", "upgrade").output

    out = invoke("db", "rebuild-aggregates").output
    assert "daily_traffic" in out and not needs_rebuild(store)
    assert_traffic_matches_sql(store, date(2024, 4, 30), date(2024, 5, 31))
    with store.connect() as conn:  # a cancelled order alone needs no sales row
        conn.execute(update(Order).values(cancelled_at=datetime(2024, 5, 1)))
    assert "rebuild-aggregates" not in invoke("db", "upgrade").output
    store.dispose()
