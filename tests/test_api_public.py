"""The storefront's routes: the widget script, recommendations and events with a
publishable key — origins, rate limits, what is stored, and what placements bring."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from shopmind.api.app import create_app
from shopmind.config import init_workspace, load_settings
from shopmind.recommend.train import train
from shopmind.simulate import SimulationConfig, simulate
from shopmind.store import Store
from shopmind.store.events import normalize_event, store_events
from shopmind.store.models import Event
from shopmind.store.placements import placement_stats
from shopmind.store.publishable import (
    PublishableKeyError,
    create_publishable_key,
    normalize_origin,
    revoke_publishable_key,
)

SHOP = "https://shop.test"
CONFIG = SimulationConfig(customers=200, days=15, products=20, seed=2, traffic=2.0)


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Store]]:
    ws = tmp_path_factory.mktemp("public") / "ws"
    init_workspace(ws)
    store = Store(f"sqlite:///{ws / 'shop.db'}")
    store.upgrade()
    simulate(store, CONFIG)
    settings = load_settings(ws, database_url=str(store.engine.url), threads=1)
    train(store, settings.models_dir, "itemknn")
    yield ws, store
    store.dispose()


@pytest.fixture
def widget(trained: tuple[Path, Store]) -> Iterator[tuple[TestClient, str, Store, str]]:
    ws, store = trained
    settings = load_settings(ws, database_url=str(store.engine.url), threads=1,
                             recommend_model="itemknn", widget_rate_limit_burst=20)  # fmt: skip
    key = create_publishable_key(store, "theme", [SHOP, "http://localhost:8080"]).key
    item = store_item(store)
    with TestClient(create_app(settings, store=store)) as client:
        yield client, key, store, item


def store_item(store: Store) -> str:
    with store.session() as s:
        return s.scalars(select(Event.item_id).where(Event.name == "purchase")).first()


def test_the_script_is_served_without_a_key(widget: Any) -> None:
    client = widget[0]
    r = client.get("/widget.js")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/javascript")
    assert "/public/v1/recommendations" in r.text and "textContent" in r.text
    assert "innerHTML" not in r.text  # nothing from an answer is parsed as HTML


def test_recommendations_for_an_allowed_origin_only(widget: Any) -> None:
    client, key, _, item = widget
    ok = client.get("/public/v1/recommendations", headers={"Origin": SHOP},
                    params={"key": key, "placement": "together", "item": item, "n": 3})  # fmt: skip
    assert ok.status_code == 200, ok.text
    assert ok.headers["access-control-allow-origin"] == SHOP
    body = ok.json()
    assert body["placement"] == "together" and 0 < len(body["items"]) <= 3
    assert {"item_id", "title", "image_url", "price", "reason"} <= set(body["items"][0])
    other = client.get("/public/v1/recommendations", headers={"Origin": "https://evil.test"},
                       params={"key": key})  # fmt: skip
    assert other.status_code == 403 and "access-control-allow-origin" not in other.headers
    assert (
        client.get("/public/v1/recommendations", params={"key": "pk_" + "x" * 30}).status_code
        == 401
    )
    need_item = client.get(
        "/public/v1/recommendations", params={"key": key, "placement": "similar"}
    )
    assert need_item.status_code == 422
    fallback = client.get("/public/v1/recommendations", params={"key": key, "user": "newcomer"})
    assert fallback.status_code == 200 and fallback.json()["fallback"] is True


def test_preflight_names_the_origin(widget: Any) -> None:
    client, key, _, _ = widget
    ok = client.options(f"/public/v1/events?key={key}", headers={
        "Origin": SHOP, "Access-Control-Request-Method": "POST"})  # fmt: skip
    assert ok.status_code == 204 and ok.headers["access-control-allow-origin"] == SHOP
    bad = client.options(f"/public/v1/events?key={key}", headers={"Origin": "https://evil.test"})
    assert bad.status_code == 403


def test_the_secret_api_is_not_opened_by_a_publishable_key(widget: Any) -> None:
    client, key, _, item = widget
    for headers in ({"Authorization": f"Bearer {key}"}, {"X-API-Key": key}):
        assert client.get(f"/v1/products/{item}/similar", headers=headers).status_code == 401
        assert client.get("/v1/stats", headers=headers).status_code == 401


def other_item(store: Store, item: str) -> str:
    from shopmind.store.models import Product

    with store.session() as s:
        return s.scalars(select(Product.external_id).where(Product.external_id != item)).first()


def test_events_record_impressions_and_clicks_with_the_placement(widget: Any) -> None:
    from shopmind.store.interactions import event_rows, user_rows

    client, key, store, item = widget
    other = other_item(store, item)
    shown = {"name": "view_item_list", "user_id": "GA.1", "placement": "similar",
             "items": [item, other], "page": "https://shop.test/p"}  # fmt: skip
    r = client.post(f"/public/v1/events?key={key}", content=json.dumps(shown),
                    headers={"Origin": SHOP, "Content-Type": "text/plain"})  # fmt: skip
    assert r.status_code == 202 and r.headers["access-control-allow-origin"] == SHOP
    with store.session() as s:
        row = s.scalars(select(Event).where(Event.user_id == "GA.1")).one()
    assert row.name == "view_item_list" and row.items[0]["item_list_id"] == "similar"
    assert row.items[1] == {"item_id": other, "index": 1, "item_list_id": "similar"}
    assert row.event_id.startswith("widget:")
    # anyone can send these: they never reach training or a shopper's history
    clicked = {**shown, "name": "select_item", "user_id": "C-victim", "items": [other]}
    assert (
        client.post(f"/public/v1/events?key={key}", content=json.dumps(clicked)).status_code == 202
    )
    assert not user_rows(store, "C-victim") and not user_rows(store, "GA.1")
    assert not [r for r in event_rows(store) if r[0] in ("GA.1", "C-victim")]
    unknown = {**shown, "items": [item, "not-a-product"]}
    answer = client.post(f"/public/v1/events?key={key}", content=json.dumps(unknown))
    assert answer.status_code == 422 and "not-a-product" in answer.text
    for bad in ({**shown, "name": "purchase"}, {**shown, "items": []}, {**shown, "extra": 1}):
        answer = client.post(f"/public/v1/events?key={key}", content=json.dumps(bad))
        assert answer.status_code == 422, bad
    assert client.post(f"/public/v1/events?key={key}", content=b"not json").status_code == 422


def test_each_client_has_its_own_rate_limit(widget: Any) -> None:
    client, key, _, _ = widget
    codes = [client.get("/public/v1/recommendations", params={"key": key}).status_code
             for _ in range(25)]  # fmt: skip
    assert codes[:20] == [200] * 20 and codes[-1] == 429
    # regression: the storefront's errors are JSON with Retry-After, not dashboard pages
    refused = client.get("/public/v1/recommendations", params={"key": key},
                         headers={"Accept": "text/html"})  # fmt: skip
    assert refused.status_code == 429 and refused.headers["Retry-After"]
    assert refused.json()["detail"]


def test_a_revoked_key_stops_working(trained: tuple[Path, Store]) -> None:
    ws, store = trained
    info = create_publishable_key(store, "old", [SHOP])
    settings = load_settings(ws, database_url=str(store.engine.url), threads=1)
    assert revoke_publishable_key(store, info.id)
    with TestClient(create_app(settings, store=store)) as client:
        r = client.get("/public/v1/recommendations", params={"key": info.key})
    assert r.status_code == 401


def test_origins_are_checked_when_a_key_is_made(trained: tuple[Path, Store]) -> None:
    _, store = trained
    assert normalize_origin("HTTPS://Shop.Example.com:443/") == "https://shop.example.com"
    assert normalize_origin("http://localhost:8080") == "http://localhost:8080"
    for bad in ("shop.example.com", "https://*.example.com", "https://x.com/path", "ftp://x"):
        with pytest.raises(PublishableKeyError):
            normalize_origin(bad)
    with pytest.raises(PublishableKeyError, match="at least one"):
        create_publishable_key(store, "none", [])


def test_placement_stats_count_and_attribute_revenue(store: Store) -> None:
    def event(name: str, ts: str, items: list[dict[str, Any]], user: str = "u1") -> dict:
        return normalize_event({"event_name": name, "event_timestamp": ts,
                                "user_pseudo_id": user, "items": items})  # fmt: skip

    mine = [{"item_id": x, "item_list_id": "for_you"} for x in "ab"]
    theirs = [{"item_id": "c", "item_list_id": "similar"}]
    store_events(store, [
        event("view_item_list", "2026-03-01T10:00:00Z", mine),
        event("view_item_list", "2026-03-01T10:00:01Z", theirs, "u2"),
        event("select_item", "2026-03-01T10:01:00Z", mine[1:]),
        event("purchase", "2026-03-02T09:00:00Z",  # b was clicked: its line counts
              [{"item_id": "b", "price": 20.0, "quantity": 2}, {"item_id": "z", "price": 5.0}]),
        event("purchase", "2026-03-20T09:00:00Z", [{"item_id": "b", "price": 20.0}]),  # too late
    ])  # fmt: skip
    rows = {r["placement"]: r for r in placement_stats(store)}
    assert rows["for_you"] == {"placement": "for_you", "impressions": 1, "items_shown": 2,
                               "clicks": 1, "orders": 1, "revenue": 40.0, "ctr": 1.0}  # fmt: skip
    assert rows["similar"]["impressions"] == 1 and rows["similar"]["clicks"] == 0
    assert rows["similar"]["ctr"] == 0.0 and rows["similar"]["revenue"] == 0.0


def test_only_a_signed_customer_id_opens_the_customers_history(widget: Any) -> None:
    from shopmind.store.interactions import order_rows
    from shopmind.store.publishable import find_publishable_key

    client, key, store, _ = widget
    customer = next(u for u, _, _, _ in order_rows(store) if not u.startswith("email:"))
    info = find_publishable_key(store, key)

    def ask(**params: str) -> dict:
        r = client.get("/public/v1/recommendations", params={"key": key, "n": 4, **params})
        assert r.status_code == 200, r.text
        return r.json()

    unsigned = ask(user=customer)  # taken as a browser id: no such browser, popular items
    assert unsigned["fallback"] is True
    forged = ask(user=customer, user_signature="0" * 64)
    assert forged["fallback"] is True
    signed = ask(user=customer, user_signature=info.sign(customer))
    assert signed["fallback"] is False
    # the reasons never name what the shopper bought or viewed
    assert all(
        i["reason"] in ("Picked for you", "Featured") or i["reason"].startswith("Popular")
        for i in signed["items"]
    ), signed
    assert ask(user="someone@example.com")["fallback"] is True


def test_a_purchase_sent_twice_is_attributed_once(store: Store) -> None:
    def event(name: str, ts: str, items: list[dict[str, Any]], txn: str | None = None) -> dict:
        return normalize_event({"event_name": name, "event_timestamp": ts, "user_pseudo_id": "u",
                                "items": items, "transaction_id": txn})  # fmt: skip

    clicked = [{"item_id": "b", "item_list_id": "for_you"}]
    bought = [{"item_id": "b", "price": 10.0}]
    store_events(store, [
        event("select_item", "2026-03-01T10:00:00Z", clicked),
        event("purchase", "2026-03-01T11:00:00Z", bought, "T1"),
        event("purchase", "2026-03-01T11:05:00Z", bought, "T1"),  # the same order, re-sent
    ])  # fmt: skip
    (row,) = placement_stats(store)
    assert row["orders"] == 1 and row["revenue"] == 10.0
