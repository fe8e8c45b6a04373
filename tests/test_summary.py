from __future__ import annotations

from datetime import datetime, timedelta

from shopmind.store import Store
from shopmind.store.events import store_events
from shopmind.store.models import Order
from shopmind.store.summary import summarize


def _ev(i: int, name: str, session: str, source: str, medium: str) -> dict:
    return {
        "event_id": f"e{i}",
        "name": name,
        "ts": datetime(2026, 3, 1) + timedelta(hours=i),
        "user_id": f"u{session}",
        "session_id": session,
        "customer_id": None,
        "item_id": None,
        "items": None,
        "value": None,
        "currency": None,
        "transaction_id": None,
        "source": source,
        "medium": medium,
        "campaign": None,
        "device": "mobile",
        "page": None,
    }


def test_conversion_by_source_known_answer(store: Store) -> None:
    rows, i = [], 0
    # google/cpc: 4 sessions, 1 converts; newsletter/email: 2 sessions, 2 convert.
    for s, (src, med, buys) in enumerate(
        [("google", "cpc", b) for b in (1, 0, 0, 0)] + [("newsletter", "email", 1)] * 2
    ):
        for name in ["view_item", "add_to_cart"] + (["purchase"] if buys else []):
            rows.append(_ev(i, name, f"s{s}", src, med))
            i += 1
    store_events(store, rows)
    with store.session() as sess:
        sess.add(Order(external_id="#1", created_at=datetime(2026, 3, 1), total=30.0))
        sess.add(Order(external_id="#2", created_at=datetime(2026, 3, 2), total=12.5))
        sess.add(
            Order(
                external_id="#3",
                created_at=datetime(2026, 3, 2),
                total=99.0,
                cancelled_at=datetime(2026, 3, 3),
            )
        )
    summary = summarize(store)
    by = {(c.source, c.medium): (c.sessions, c.purchases) for c in summary.channels}
    assert by == {("google", "cpc"): (4, 1), ("newsletter", "email"): (2, 2)}
    assert summary.revenue == 42.5
    assert summary.orders == 2
    assert summary.first_event == datetime(2026, 3, 1)
    assert summary.to_dict()["channels"][0]["rate"] == 0.25
