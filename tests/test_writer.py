from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from shopmind.store import Store
from shopmind.store.models import Event, Product
from shopmind.store.writer import id_map, insert_new, upsert


def _event(eid: str, name: str = "view_item") -> dict:
    return {"event_id": eid, "name": name, "ts": datetime(2026, 1, 1), "user_id": "u1"}


def test_upsert_updates_by_natural_key(store: Store) -> None:
    rows = [{"external_id": "a", "title": "A"}, {"external_id": "b", "title": "B"}]
    with store.connect() as conn:
        upsert(conn, Product, rows)
        upsert(conn, Product, [{"external_id": "a", "title": "A2"}])
    with store.session() as s:
        titles = dict(s.execute(select(Product.external_id, Product.title)).all())
    assert titles == {"a": "A2", "b": "B"}


def test_insert_new_skips_existing_and_counts(store: Store) -> None:
    with store.connect() as conn:
        assert insert_new(conn, Event, [_event("e1"), _event("e2")], ["event_id"], count=True) == 2
        again = [_event("e2", "purchase"), _event("e3")]
        assert insert_new(conn, Event, again, ["event_id"], count=True) == 1
    with store.session() as s:
        names = dict(s.execute(select(Event.event_id, Event.name)).all())
    assert names == {"e1": "view_item", "e2": "view_item", "e3": "view_item"}


def test_id_map_chunks_large_key_lists(store: Store) -> None:
    rows = [{"external_id": f"p{i}", "title": str(i)} for i in range(2000)]
    with store.connect() as conn:
        upsert(conn, Product, rows)
        found = id_map(conn, Product, [f"p{i}" for i in range(2500)])
    assert len(found) == 2000
    assert len(set(found.values())) == 2000


def test_bulk_insert_new_skips_duplicates_within_and_across_batches(store: Store) -> None:
    """Large batches take PostgreSQL's COPY path; both backends must agree."""
    first = [_event(f"b{i}") for i in range(1200)]
    second = [_event(f"b{i}", "purchase") for i in range(1000, 2500)]
    second += [_event("b2000", "refund")]  # duplicate inside the same batch
    with store.connect() as conn:
        assert insert_new(conn, Event, first, ["event_id"], count=True) == 1200
        assert insert_new(conn, Event, second, ["event_id"], count=True) == 1300
        assert insert_new(conn, Event, second, ["event_id"]) is None
    with store.session() as s:
        names = dict(s.execute(select(Event.event_id, Event.name)).all())
    assert len(names) == 2500
    assert names["b1100"] == "view_item"  # existing rows are never overwritten
    assert names["b2000"] in {"purchase", "refund"}  # one of the two, stored once


def test_bulk_path_round_trips_types(store: Store) -> None:
    """Guards the raw bulk paths: values must read back as the ORM wrote them."""
    rows = [
        {
            **_event(f"t{i}"),
            "ts": datetime(2026, 5, 1, 12, 30, 15, 250),
            "items": [{"item_id": "x"}],
        }
        for i in range(600)
    ]
    with store.connect() as conn:
        insert_new(conn, Event, rows, ["event_id"])
    with store.session() as s:
        s.add(Event(**{**_event("orm"), "ts": datetime(2026, 5, 1, 12, 30, 15, 250)}))
    with store.session() as s:
        bulk = s.scalars(select(Event).where(Event.event_id == "t7")).one()
        assert bulk.ts == datetime(2026, 5, 1, 12, 30, 15, 250)
        assert bulk.items == [{"item_id": "x"}]
        same_ts = s.scalars(select(Event.event_id).where(Event.ts == bulk.ts)).all()
    assert len(same_ts) == 601  # comparisons see bulk and ORM rows alike


def test_bulk_paths_store_missing_items_as_sql_null(store: Store) -> None:
    """Regression: small batches stored JSON 'null', bulk batches SQL NULL."""
    with store.connect() as conn:
        insert_new(
            conn, Event, [{**_event(f"n{i}"), "items": None} for i in range(600)], ["event_id"]
        )
        insert_new(
            conn, Event, [{**_event(f"m{i}"), "items": None} for i in range(5)], ["event_id"]
        )
        nulls = conn.execute(select(Event.id).where(Event.items.is_(None))).all()
    assert len(nulls) == 605


def test_bulk_insert_with_different_column_sets_on_one_connection(store: Store) -> None:
    """Regression: PostgreSQL's staging table kept the first call's columns."""
    with store.connect() as conn:
        insert_new(conn, Event, [_event(f"a{i}") for i in range(600)], ["event_id"])
        wider = [{**_event(f"w{i}"), "session_id": "s"} for i in range(600)]
        assert insert_new(conn, Event, wider, ["event_id"], count=True) == 600
