from __future__ import annotations

from datetime import datetime

import pytest

from shopmind.store import Store
from shopmind.store.events import EventError, normalize_event, parse_timestamp, store_events

FLAT = {
    "event_name": "add_to_cart",
    "event_timestamp": "1767261600000000",  # GA4 microseconds: 2026-01-01 10:00 UTC
    "user_pseudo_id": "123.456",
    "session_id": "s1",
    "items": '[{"item_id": "SKU-1", "price": "19.90", "quantity": 2}]',
    "value": "39.80",
    "currency": "eur",
    "source": "google",
    "medium": "cpc",
    "campaign": "spring",
    "device_category": "mobile",
}

NESTED = {
    "event_name": "purchase",
    "event_timestamp": 1767261600123456,
    "user_pseudo_id": "123.456",
    "user_id": "cust-9",
    "event_params": [
        {"key": "ga_session_id", "value": {"int_value": 1767261000}},
        {"key": "page_location", "value": {"string_value": "https://shop.example/checkout"}},
    ],
    "traffic_source": {"source": "newsletter", "medium": "email", "name": "nov"},
    "device": {"category": "desktop"},
    "ecommerce": {"transaction_id": "#1001", "purchase_revenue": 59.5},
    "items": [{"item_id": "SKU-2", "item_name": "Mug", "price": 59.5, "quantity": 1}],
}


def test_flat_event() -> None:
    row = normalize_event(FLAT)
    assert row["ts"] == datetime(2026, 1, 1, 10, 0)
    assert row["items"] == [{"item_id": "SKU-1", "price": 19.9, "quantity": 2}]
    assert (row["item_id"], row["value"], row["currency"]) == ("SKU-1", 39.8, "EUR")
    assert (row["source"], row["medium"], row["campaign"], row["device"]) == (
        "google",
        "cpc",
        "spring",
        "mobile",
    )
    assert row["customer_id"] is None


def test_bigquery_export_shape() -> None:
    row = normalize_event(NESTED, currency="USD")
    assert row["session_id"] == "1767261000"
    assert row["customer_id"] == "cust-9"
    assert (row["transaction_id"], row["value"], row["currency"]) == ("#1001", 59.5, "USD")
    assert (row["source"], row["medium"], row["campaign"]) == ("newsletter", "email", "nov")
    assert row["device"] == "desktop"
    assert row["page"] == "https://shop.example/checkout"


def test_event_id_is_deterministic_and_content_based() -> None:
    a, b = normalize_event(FLAT), normalize_event(dict(FLAT))
    assert a["event_id"] == b["event_id"]
    assert normalize_event({**FLAT, "value": "1"})["event_id"] != a["event_id"]
    assert normalize_event({**FLAT, "event_id": "given"})["event_id"] == "given"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"event_name": ""}, "event_name"),
        ({"event_name": "drop table;"}, "event_name"),
        ({"event_timestamp": "yesterday"}, "event_timestamp"),
        ({"event_timestamp": None}, "event_timestamp"),
        ({"user_pseudo_id": None}, "user_pseudo_id"),
        ({"value": "abc"}, "value"),
        ({"items": "[{"}, "items"),
        ({"items": [{"price": 1}]}, "items[0].item_id"),
        ({"items": [{"item_id": "x", "price": "nan"}]}, "items[0].price"),
        ({"session_id": {"a": 1}}, "session_id"),
    ],
)
def test_bad_events_name_the_field(change: dict, field: str) -> None:
    with pytest.raises(EventError) as info:
        normalize_event({**FLAT, **change})
    assert info.value.field == field


@pytest.mark.parametrize(
    "value",
    [1767261600, 1767261600000, 1767261600000000, "2026-01-01T10:00:00Z", "2026-01-01 11:00+01:00"],
)
def test_timestamp_units(value) -> None:
    assert parse_timestamp(value) == datetime(2026, 1, 1, 10, 0)


def test_store_events_is_idempotent(store: Store) -> None:
    rows = [normalize_event(FLAT), normalize_event(NESTED)]
    assert store_events(store, rows) == 2
    assert store_events(store, rows) == 0
    assert store.stats()["events"] == 2


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"user_pseudo_id": "u\ud800x"}, "user_pseudo_id"),  # lone surrogate
        ({"source": "go\x00ogle"}, "source"),  # NUL: PostgreSQL cannot store it
        ({"event_timestamp": "0001-01-01T00:00:00+05:00"}, "event_timestamp"),  # overflows
        ({"event_timestamp": 10**400}, "event_timestamp"),
        ({"event_timestamp": "9999-12-31T23:59:59"}, "event_timestamp"),
        ({"event_timestamp": "1900-01-01"}, "event_timestamp"),
        ({"items": "[" * 100_000}, "items"),  # nesting bomb
        ({"items": [{"item_id": "x", "quantity": -5}]}, "items[0].quantity"),
        ({"items": [{"item_id": "x", "price": -3}]}, "items[0].price"),
        ({"items": ["not an object"]}, "items[0]"),
        ({"value": True}, "value"),
    ],
)
def test_hostile_events_are_refused_cleanly(change: dict, field: str) -> None:
    """Regression: these crashed with tracebacks (or were stored) before."""
    with pytest.raises(EventError) as info:
        normalize_event({**FLAT, **change})
    assert info.value.field == field


def test_an_empty_batch_stores_nothing(store: Store) -> None:
    """Regression (fuzzing, issue 8): an empty batch inserted an all-NULL row on
    PostgreSQL (a 500 from ``POST /v1/events`` with ``{"events": []}``)."""
    assert store_events(store, []) == 0
    assert store.stats()["events"] == 0


def test_list_ids_stay_on_items_and_leave_the_event_id_alone() -> None:
    base = {"event_name": "select_item", "event_timestamp": "2026-01-02T03:04:05Z",
            "user_pseudo_id": "u1", "items": [{"item_id": "P1", "index": 2}]}  # fmt: skip
    plain = normalize_event(base)
    listed = normalize_event({**base, "item_list_id": "for_you"})
    assert listed["items"] == [{"item_id": "P1", "index": 2, "item_list_id": "for_you"}]
    assert listed["event_id"] == plain["event_id"]
    own = normalize_event({**base, "items": [{"item_id": "P1", "item_list_id": "similar"}],
                           "item_list_id": "for_you"})  # fmt: skip
    assert own["items"][0]["item_list_id"] == "similar"
    nested = normalize_event({**base, "event_params": [
        {"key": "item_list_id", "value": {"string_value": "together"}}]})  # fmt: skip
    assert nested["items"][0]["item_list_id"] == "together"
