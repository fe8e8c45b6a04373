"""The store simulator writing into SQLite and PostgreSQL: consistency, idempotence, truth."""

from __future__ import annotations

import dataclasses
import json
from collections import Counter, defaultdict
from pathlib import Path

import pytest
from sqlalchemy import func, select

from shopmind.simulate import SimulationConfig, SimulationError, simulate
from shopmind.store import Store
from shopmind.store.models import Customer, Event, Order, OrderLine, Product, Review

# batch_size forces several flushes a day, below and above the PostgreSQL COPY threshold
CONFIG = SimulationConfig(
    customers=200, days=10, products=30, traffic=3.0, review_rate=1.0, seed=3, batch_size=600
)


def test_simulation_lands_in_the_store_consistently(store: Store, tmp_path: Path) -> None:
    days: list[int] = []
    result = simulate(store, CONFIG, truth_path=tmp_path / "truth.json", progress=days.append)
    assert days == list(range(1, CONFIG.days + 1))
    stats = store.stats()
    for table in ("products", "variants", "customers", "orders", "events", "reviews"):
        assert stats[table] == result.counts[table] > 0, table
    assert "orders" in result.summary() and str(result.truth_path) in result.summary()

    with store.session() as s:
        purchases = {
            e.transaction_id: e for e in s.scalars(select(Event).where(Event.name == "purchase"))
        }
        orders = s.scalars(select(Order)).all()
        assert len(orders) == len(purchases) == result.counts["orders"]
        ids = dict(s.execute(select(Product.external_id, Product.id)).all())
        for order in orders:
            event = purchases[order.external_id]
            assert event.value == pytest.approx(order.total)
            assert event.session_id == order.session_id
            assert order.customer_id is not None
            lines = [(ln.product_id, ln.quantity, ln.price) for ln in order.lines]
            items = [(ids[i["item_id"]], i["quantity"], i["price"]) for i in event.items]
            assert items == lines
            net = sum(ln.price * ln.quantity - ln.discount for ln in order.lines)
            assert order.total == pytest.approx(net + order.shipping + order.tax, abs=0.011)
        first, last = s.execute(select(func.min(Event.ts), func.max(Event.ts))).one()
        assert (first, last) == (result.first_ts, result.last_ts)
        revenue = s.execute(select(func.sum(Order.total))).scalar_one()
        assert revenue == pytest.approx(result.revenue)


def test_repeat_buyers_and_reviews_by_buyers(store: Store) -> None:
    simulate(store, CONFIG)
    with store.session() as s:
        per_customer = Counter(s.scalars(select(Order.customer_id)).all())
        assert max(per_customer.values()) >= 2
        bought = defaultdict(set)
        for customer, product in s.execute(
            select(Order.customer_id, OrderLine.product_id).join(OrderLine)
        ):
            bought[customer].add(product)
        reviews = s.scalars(select(Review)).all()
        assert reviews
        for r in reviews:
            assert r.product_id in bought[r.customer_id]
            assert r.verified and 1 <= r.rating <= 5 and r.body
        customers = s.scalars(select(Customer)).all()
        assert all(c.email and c.email.endswith("@example.com") for c in customers)


def test_truth_file_matches_the_store(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "ws" / "simulation_truth.json"
    simulate(store, CONFIG, truth_path=path)
    truth = json.loads(path.read_text(encoding="utf-8"))
    assert truth["seed"] == CONFIG.seed and truth["config"]["customers"] == CONFIG.customers
    stats = store.stats()
    assert len(truth["products"]) == stats["products"]
    assert truth["realised"]["purchases"] == stats["orders"]
    assert len(truth["reviews"]) == stats["reviews"]
    assert (
        sum(c["realised"]["sessions"] for c in truth["channels"].values())
        == (truth["realised"]["sessions"])
    )
    with store.session() as s:
        sessions = s.execute(select(func.count(func.distinct(Event.session_id)))).scalar_one()
        stored_ids = set(s.scalars(select(Customer.external_id)).all())
    assert sessions == truth["realised"]["sessions"]
    truth_ids = {c["customer_id"] for c in truth["customers"].values() if c["customer_id"]}
    assert truth_ids == stored_ids
    for product in truth["products"].values():
        assert 0 <= product["quality"] <= 1 and set(product["aspects"]) >= {"quality", "value"}


def test_running_twice_adds_nothing(store: Store) -> None:
    first = simulate(store, CONFIG)
    before = store.stats()
    second = simulate(store, dataclasses.replace(CONFIG, batch_size=250))
    assert store.stats() == before
    assert first.counts == second.counts


def test_refuses_to_mix_another_simulation_into_the_store(store: Store) -> None:
    simulate(store, CONFIG)
    before = store.stats()
    with pytest.raises(SimulationError, match="empty store"):
        simulate(store, dataclasses.replace(CONFIG, seed=4))
    assert store.stats() == before
