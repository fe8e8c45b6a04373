"""The REST API in process: auth, validation, idempotent ingestion, limits, hostile text."""

from __future__ import annotations

import json
import re
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event, select
from sqlalchemy.exc import OperationalError

from shopmind import __version__
from shopmind.api import create_app
from shopmind.api.ingest import BatchError, ingest_events, validate_events, with_retry
from shopmind.api.schemas import MAX_EVENTS
from shopmind.config import load_settings
from shopmind.store import Store
from shopmind.store.apikeys import create_api_key, revoke_api_key
from shopmind.store.events import normalize_event, store_events
from shopmind.store.models import Event

BODY_LIMIT = 64 * 1024
DOCS = Path(__file__).resolve().parents[1] / "docs" / "api.md"


def ev(i: int, **fields: Any) -> dict[str, Any]:
    """A valid flat GA4 event with a known id."""
    base = {
        "event_id": f"e{i}",
        "event_name": "view_item",
        "event_timestamp": 1_718_000_000_000_000 + i,
        "user_pseudo_id": f"u{i % 3}",
        "items": [{"item_id": f"sku-{i}", "price": 10 + i, "quantity": 1}],
    }
    return base | fields


@pytest.fixture
def api(store: Store, tmp_path: Path) -> Iterator[tuple[TestClient, str]]:
    """A client on both backends, and a valid key (not yet sent by the client)."""
    app = create_app(load_settings(tmp_path), store, max_body_bytes=BODY_LIMIT)
    with TestClient(app) as client:
        yield client, create_api_key(store, "test")


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def stored_ids(store: Store) -> list[str]:
    with store.engine.connect() as conn:
        return sorted(conn.scalars(select(Event.event_id)))


def test_health_is_open(api: tuple[TestClient, str], store: Store) -> None:
    client, _ = api
    r = client.get("/health")
    assert r.status_code == 200
    assert r.json() == {"status": "ok", "version": __version__, "database": store.dialect}


@pytest.mark.parametrize(
    ("method", "path"), [("GET", "/v1/stats"), ("POST", "/v1/events")], ids=["stats", "events"]
)
def test_routes_refuse_bad_keys(
    api: tuple[TestClient, str], store: Store, method: str, path: str
) -> None:
    client, key = api
    body = {"events": [ev(1)]}
    revoked = create_api_key(store, "old")
    revoke_api_key(store, revoked)
    bad_headers = [
        {},
        {"Authorization": "Bearer "},
        {"Authorization": f"Basic {key}"},
        auth(key[:-2]),
        auth(revoked),
        {"X-API-Key": "sm_000000000000_nope"},
        {"X-API-Key": revoked},
    ]
    for headers in bad_headers:
        r = client.request(method, path, headers=headers, json=body)
        assert r.status_code == 401, headers
        assert r.headers["www-authenticate"] == "Bearer"
        assert re.search(r"API key", r.json()["detail"])
    assert stored_ids(store) == []
    for headers in [auth(key), {"X-API-Key": key}]:
        assert client.request(method, path, headers=headers, json=body).status_code == 200


def test_auth_is_checked_before_the_body(api: tuple[TestClient, str]) -> None:
    client, _ = api
    r = client.post("/v1/events", json={"events": "not a list"})
    assert r.status_code == 401


def test_stats_counts_the_store(api: tuple[TestClient, str], store: Store) -> None:
    client, key = api
    client.post("/v1/events", headers=auth(key), json={"events": [ev(i) for i in range(7)]})
    r = client.get("/v1/stats", headers=auth(key))
    assert r.status_code == 200
    assert r.json() == store.stats()
    assert r.json()["events"] == 7


def test_events_are_stored_as_sent(api: tuple[TestClient, str], store: Store) -> None:
    client, key = api
    raw = ev(5, event_name="purchase", value="19.99", currency="eur", source="newsletter")
    r = client.post("/v1/events", headers=auth(key), json={"events": [raw]})
    assert r.status_code == 200
    assert r.json() == {"accepted": 1, "duplicates": 0, "rejected": []}
    with store.engine.connect() as conn:
        row = conn.execute(select(Event)).one()
    assert (row.event_id, row.name, row.user_id, row.value, row.currency, row.source) == (
        "e5",
        "purchase",
        "u2",
        19.99,
        "EUR",
        "newsletter",
    )
    assert row.items == [{"item_id": "sku-5", "price": 15.0, "quantity": 1}]
    assert row.item_id == "sku-5"


def test_ingestion_is_idempotent(api: tuple[TestClient, str], store: Store) -> None:
    client, key = api
    batch = {"events": [ev(i) for i in range(10)]}
    first = client.post("/v1/events", headers=auth(key), json=batch).json()
    again = client.post("/v1/events", headers=auth(key), json=batch).json()
    assert (first["accepted"], first["duplicates"]) == (10, 0)
    assert (again["accepted"], again["duplicates"]) == (0, 10)
    # Overlapping batch, with one event repeated inside it.
    mixed = {"events": [ev(8), ev(9), ev(10), ev(11), ev(11)]}
    r = client.post("/v1/events", headers=auth(key), json=mixed).json()
    assert (r["accepted"], r["duplicates"]) == (2, 3)
    assert stored_ids(store) == sorted(f"e{i}" for i in range(12))


def test_events_without_id_are_deduplicated_by_content(
    api: tuple[TestClient, str], store: Store
) -> None:
    client, key = api
    raw = ev(1)
    del raw["event_id"]
    for expected in (1, 0):
        r = client.post("/v1/events", headers=auth(key), json={"events": [raw]})
        assert r.json()["accepted"] == expected
    assert len(stored_ids(store)) == 1


def test_one_bad_event_rejects_the_whole_batch(api: tuple[TestClient, str], store: Store) -> None:
    client, key = api
    batch = [
        ev(0),
        ev(1, event_timestamp="yesterday"),
        ev(2),
        ev(3, items=[{"item_id": "a", "price": "cheap"}]),
        "not an event",
        ev(5, event_name=None, name=None),
    ]
    r = client.post("/v1/events", headers=auth(key), json={"events": batch})
    assert r.status_code == 422
    body = r.json()
    assert (body["accepted"], body["duplicates"]) == (0, 0)
    assert [(e["index"], e["field"]) for e in body["rejected"]] == [
        (1, "event_timestamp"),
        (3, "items[0].price"),
        (4, "event"),
        (5, "event_name"),
    ]
    assert all(e["error"] for e in body["rejected"])
    assert "4 of 6 events are invalid" in body["detail"]
    assert stored_ids(store) == [], "valid events of a refused batch must not be stored"


def test_malformed_bodies(api: tuple[TestClient, str], store: Store) -> None:
    client, key = api
    for body in [b"{not json", b"[]", b'{"events": {}}', b'{"events": [], "extra": 1}', b""]:
        r = client.post(
            "/v1/events",
            headers=auth(key) | {"Content-Type": "application/json"},
            content=body,
        )
        assert r.status_code == 422, body
        assert isinstance(r.json()["detail"], list)
    assert stored_ids(store) == []


def test_too_large_batches_are_refused(
    api: tuple[TestClient, str], store: Store, tmp_path: Path
) -> None:
    client, key = api
    tiny = {"event_name": "e", "event_timestamp": 1_700_000_000, "user_pseudo_id": "u"}
    too_many = {"events": [tiny | {"event_id": str(i)} for i in range(MAX_EVENTS + 1)]}
    assert len(json.dumps(too_many)) > BODY_LIMIT  # so test the count limit under a big body
    app = create_app(load_settings(tmp_path), store, max_body_bytes=10 * BODY_LIMIT)
    with TestClient(app) as big:
        r = big.post("/v1/events", headers=auth(key), json=too_many)
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"] == ["body", "events"]

    huge = {"events": [ev(1, campaign="x" * 200) for _ in range(400)]}
    r = client.post("/v1/events", headers=auth(key), json=huge)
    assert r.status_code == 413
    assert r.json() == {"detail": f"request body larger than {BODY_LIMIT} bytes"}

    data = json.dumps(huge).encode()
    chunks = (data[i : i + 4096] for i in range(0, len(data), 4096))  # no Content-Length
    r = client.post(
        "/v1/events", headers=auth(key) | {"Content-Type": "application/json"}, content=chunks
    )
    assert r.status_code == 413
    assert stored_ids(store) == []


HOSTILE = [
    "'); DROP TABLE events; --",
    '" OR 1=1 --',
    "<script>alert(document.cookie)</script>",
    "{{7*7}} ${jndi:ldap://x} %s%n",
    "Robert\u202eeliF\u202c 🛒 夏季新品 عربى",
]


def test_hostile_text_is_data(api: tuple[TestClient, str], store: Store) -> None:
    """Ids are stored exactly as sent (never run, never SQL); free text such as the
    campaign and item names is stored as plain text: markup and bidi controls out."""
    from shopmind.safety import one_line

    client, key = api
    batch = [
        ev(i, user_pseudo_id=text, campaign=text, items=[{"item_id": text, "item_name": text}])
        for i, text in enumerate(HOSTILE)
    ]
    r = client.post("/v1/events", headers=auth(key), json={"events": batch})
    assert r.status_code == 200 and r.json()["accepted"] == len(HOSTILE)
    with store.engine.connect() as conn:
        rows = conn.execute(select(Event).order_by(Event.event_id)).all()
    by_user = {row.user_id: row for row in rows}
    assert set(by_user) == {t.strip() for t in HOSTILE}
    for text in HOSTILE:
        row, clean = by_user[text.strip()], one_line(text)
        assert row.item_id == text.strip() and (row.campaign or "") == clean
        named = {"item_name": clean} if clean else {}  # a name that cleans to nothing is left out
        assert row.items == [{"item_id": text.strip(), **named}]
        assert "<script" not in (row.campaign or "") and "\u202e" not in (row.campaign or "")
    assert client.get("/v1/stats", headers=auth(key)).json()["events"] == len(HOSTILE)


def test_control_characters_in_events_are_refused(
    api: tuple[TestClient, str], store: Store
) -> None:
    client, key = api
    r = client.post("/v1/events", headers=auth(key), json={"events": [ev(0, campaign="a\tb")]})
    assert r.status_code == 422 and "campaign" in r.text
    assert client.get("/v1/stats", headers=auth(key)).json()["events"] == 0


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        (ev(1, campaign="nul\x00byte"), "campaign"),
        (ev(1, items=[{"item_id": "ok", "item_name": "nul\x00"}]), "items[0].item_name"),
    ],
    ids=["column", "json"],
)
def test_text_no_database_holds_is_refused(
    api: tuple[TestClient, str], store: Store, raw: dict[str, Any], field: str
) -> None:
    client, key = api
    r = client.post("/v1/events", headers=auth(key), json={"events": [ev(0), raw]})
    assert r.status_code == 422
    assert [(e["index"], e["field"]) for e in r.json()["rejected"]] == [(1, field)]
    assert stored_ids(store) == []


def test_lone_surrogate_is_refused(api: tuple[TestClient, str], store: Store) -> None:
    client, key = api
    body = json.dumps({"events": [ev(1, user_pseudo_id="\ud800")]}, ensure_ascii=True)
    r = client.post(
        "/v1/events", headers=auth(key) | {"Content-Type": "application/json"}, content=body
    )
    assert r.status_code == 422
    # One text policy for every route (api/validation.py): the place as the client named it.
    assert r.json()["detail"][0]["loc"] == ["body", "events", 0, "user_pseudo_id"]
    assert stored_ids(store) == []


def test_openapi_declares_both_key_schemes(tmp_path: Path) -> None:
    with TestClient(create_app(load_settings(tmp_path))) as client:
        spec = client.get("/openapi.json").json()
        assert client.get("/docs").status_code == 200
    schemes = spec["components"]["securitySchemes"]
    assert (schemes["HTTPBearer"]["type"], schemes["HTTPBearer"]["scheme"]) == ("http", "bearer")
    assert (schemes["APIKeyHeader"]["in"], schemes["APIKeyHeader"]["name"]) == (
        "header",
        "X-API-Key",
    )
    for path, ops in spec["paths"].items():
        # the storefront's routes take a publishable key as ?key=, never the secret one
        public = path == "/health" or path.startswith("/public/")
        for op in ops.values():
            secured = {name for s in op.get("security", []) for name in s}
            assert secured == (set() if public else {"HTTPBearer", "APIKeyHeader"}), path
            ok = "202" if "202" in op["responses"] else "200"  # 202: a job was queued
            assert ok in op["responses"]
            if path == "/public/v1/events":  # 202 with no body
                continue
            content = op["responses"][ok]["content"]
            if "application/json" not in content:  # a file: GET /v1/feeds/google-merchant.xml
                assert set(content) == {"application/xml"}, path
                continue
            schema = content["application/json"]["schema"]
            assert "$ref" in schema or schema.get("type") == "array"


def test_every_route_is_documented(tmp_path: Path) -> None:
    docs = DOCS.read_text(encoding="utf-8")
    spec = create_app(load_settings(tmp_path)).openapi()
    for path, ops in spec["paths"].items():
        for method in ops:
            assert f"{method.upper()} {path}" in docs, f"{method.upper()} {path} not in docs"


def test_sqlite_lock_errors_are_retried(store: Store) -> None:
    """Regression guard: a writer that finds SQLite locked retries instead of failing."""
    if store.dialect != "sqlite":
        pytest.skip("SQLite lock behaviour")
    event.listen(store.engine, "connect", lambda conn, _: conn.execute("PRAGMA busy_timeout=10"))
    store.engine.dispose()
    blocker = sqlite3.connect(store.engine.url.database, check_same_thread=False)
    blocker.isolation_level = None
    blocker.execute("BEGIN IMMEDIATE")
    unlock = threading.Timer(0.3, blocker.execute, args=["COMMIT"])
    try:
        with pytest.raises(OperationalError, match="locked"):
            with_retry(lambda: store_events(store, [normalize_event(ev(0))]), attempts=1)
        unlock.start()
        result = ingest_events(store, [ev(1)])
    finally:
        unlock.cancel()
        unlock.join() if unlock.is_alive() else None
        blocker.close()
    assert (result.accepted, result.duplicates) == (1, 0)
    assert stored_ids(store) == ["e1"]


def test_validation_lists_every_bad_event() -> None:
    with pytest.raises(BatchError) as info:
        validate_events([ev(0), {}, ev(2, value="NaN")])
    assert [(r.index, r.field) for r in info.value.rejected] == [(1, "event_name"), (2, "value")]
