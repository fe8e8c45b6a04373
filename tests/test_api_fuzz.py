"""Property-based fuzzing of every REST route from its OpenAPI schema (schemathesis, hypothesis).

``test_no_server_errors``: for each operation of the app's own ``/openapi.json``,
schemathesis sends the schema's examples, boundary cases (coverage phase) and generated
requests, valid and invalid, with strings and numbers drawn a third of the time from
``HOSTILE_STRINGS`` / ``HOSTILE_NUMBERS`` (values that broke this API before). Requests go
in process to the ASGI app, with a valid API key (rate limit off), on a store holding
products with scored reviews, so the insights route reaches real code — on SQLite and on
PostgreSQL, where NUL characters and 32-bit ids matter. Every answer is checked for:

- no server error: no 5xx except 503 (the concurrency cap shedding load is not a fault);
- conformance to the operation's declared responses (status code, content type, schema);
  429 and 503 answers are left out of this check.

Where the schema leaves a body open (events are ``list[Any]``) or its generator leaves
characters out (lone surrogates), hypothesis strategies go further: event-shaped batches
with any value in any field, texts of any code point, product keys of any characters.

Everything is seeded and derandomised (the same cases every run, no example database: the
``seeded`` profile of ``tests/conftest.py``, and schemathesis's own seed) and bounded by
``MAX_EXAMPLES`` / ``FUZZ``: the file runs in about 1.5 minutes on both backends.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st
from schemathesis import checks as schema_checks
from schemathesis.checks import CheckContext

from shopmind.api import create_app
from shopmind.config import load_settings
from shopmind.reviews.service import analyze, load_model
from shopmind.store import Store
from shopmind.store.apikeys import create_api_key
from shopmind.store.models import Product, Review
from shopmind.store.writer import upsert

MAX_EXAMPLES = 30
SHED = {429, 503}  # load shedding (rate limit, concurrency cap): expected under load, not faults

# Values that broke this API before (issue 7) or that break code like it: non-ASCII digits,
# ids past 32 and 64 bits, NUL and other control characters, markup, the seeded products'
# keys; drawn in place of a generated string a third of the time.
HOSTILE_STRINGS = [
    "²",
    "٣",
    "１２",
    "9223372036854775808",
    "2147483648",
    "-1",
    "0",
    "1",
    "42",
    "linen-tee",
    "\x00",
    "a\x00b",
    "\x1b[31m",
    "[/]",
    "<script>alert(1)</script>",
    "' OR 1=1 --",
    "İ",
    "ﬃ",
    "\u202e",
    "😀" * 3,
    "性价比很高",
]
HOSTILE_NUMBERS = [0, -1, 2**31, 2**63, 10**10, -(10**10), 9_999_999_999.995, 1e308, -0.0]
CONFIG = schemathesis.Config.from_dict(
    {
        "seed": 20260701,
        "dictionaries": {
            "hostile-strings": {"values": HOSTILE_STRINGS},
            "hostile-numbers": {"values": HOSTILE_NUMBERS},
        },
        "generation": {
            "max-examples": MAX_EXAMPLES,
            "deterministic": True,
            "database": "none",
            "mode": "all",
            "dictionaries": {
                "string": {"dictionary": "hostile-strings", "probability": 0.3},
                "integer": {"dictionary": "hostile-numbers", "probability": 0.2},
                "number": {"dictionary": "hostile-numbers", "probability": 0.2},
            },
        },
        "phases": {"stateful": {"enabled": False}},
    }
)

REVIEWS = [
    (5, "Love it", "Great fabric, fits perfectly and shipping was fast."),
    (1, "Broke", "Terrible quality, it fell apart after one wash. Price is a rip-off."),
    (3, None, "It is okay. Size runs small."),
    (4, "好", "质量很好，性价比很高，这个价格很值"),
    (2, "Meh", "<script>alert(1)</script> [/] {{7*7}} — not what the photo showed"),
]


def seed_store(store: Store, models: Path) -> None:
    """Two products (ids 1 and 2, external ids ``linen-tee`` and ``42``) with scored reviews."""
    with store.connect() as conn:
        upsert(
            conn,
            Product,
            [
                {"external_id": "linen-tee", "title": "Linen tee", "price": 29.0},
                {"external_id": "42", "title": "Product whose handle is a number", "price": None},
            ],
            key=("external_id",),
        )
        start = datetime(2026, 1, 1)
        rows = [
            {
                "external_id": f"r{i}",
                "product_id": 1 + i % 2,
                "rating": rating,
                "title": title,
                "body": body,
                "created_at": start + timedelta(days=9 * i),
            }
            for i, (rating, title, body) in enumerate(REVIEWS * 3)
        ]
        upsert(conn, Review, rows, key=("external_id",))
    analyze(store, load_model(models, "lexicon"))


@pytest.fixture
def fuzz_app(store: Store, tmp_path: Path, tiny_llm: Path) -> Iterator[tuple[FastAPI, str]]:
    """The app over a store with reviewed products, and a valid key; the chat route serves
    a tiny model (``tests/llm_tiny.py``), real code at a fuzzer's pace."""
    # no 429 while fuzzing
    settings = load_settings(tmp_path, rate_limit_per_minute=0, llm_model=str(tiny_llm))
    seed_store(store, settings.models_dir)
    yield create_app(settings, store), create_api_key(store, "fuzz")


def no_server_error(ctx: CheckContext, response: Any, case: Any) -> bool | None:
    """No 5xx but 503; a server error names the request that caused it."""
    if response.status_code >= 500 and response.status_code not in SHED:
        raise AssertionError(
            f"{case.operation.label} answered {response.status_code} to\n"
            f"{case.as_curl_command()}\n{response.text[:500]}"
        )
    return None


CONFORMANCE = [
    schema_checks.status_code_conformance,
    schema_checks.content_type_conformance,
    schema_checks.response_schema_conformance,
]
# The routes and their schema do not depend on the store: read them once, from a bare app.
schema = schemathesis.openapi.from_asgi(
    "/openapi.json",
    create_app(load_settings(Path(__file__).parent), Store("sqlite://")),
    config=CONFIG,
)


# The seeded profile (tests/conftest.py), and one app per operation and backend shared by its
# generated requests (function-scoped fixture): that is the point.
SEEDED = settings.get_profile("seeded")
SHARED_APP = [*SEEDED.suppress_health_check, HealthCheck.function_scoped_fixture]


@schema.parametrize()
@settings(SEEDED, suppress_health_check=SHARED_APP)
def test_no_server_errors(case: Any, fuzz_app: tuple[FastAPI, str]) -> None:
    """Goal of issue 7: fuzzing finds no 500 on any route, on either backend."""
    app, key = fuzz_app
    headers = {"Authorization": f"Bearer {key}"}
    response = case.call(app=app, headers=headers)
    checks = [no_server_error] if response.status_code in SHED else [no_server_error, *CONFORMANCE]
    case.validate_response(response, checks=checks, headers=headers)


# -- beyond the schema: request bodies it leaves open (events are `list[Any]`) -------------
# Any code point, lone surrogates and NUL included: JSON can carry them all (as \u escapes).
ANY_CHAR = st.characters(codec=None, exclude_categories=())
TEXT = st.text(ANY_CHAR, max_size=30) | st.sampled_from([*HOSTILE_STRINGS, "\ud800", "a\udfffb"])
SCALAR = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(), TEXT, st.sampled_from(HOSTILE_NUMBERS)
)
ANY_JSON = st.recursive(
    SCALAR,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3),
    max_leaves=6,
)


# Text a field may hold: any character but control characters and lone surrogates.
FIELD_TEXT = st.text(
    st.characters(codec="utf-8", exclude_categories=("Cc",)), min_size=1, max_size=30
).filter(str.strip)


def either(valid: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """A field that is mostly well formed (so batches get stored), else anything JSON holds."""
    return st.sampled_from([False] * 7 + [True]).flatmap(lambda odd: ANY_JSON if odd else valid)


NAMES = st.sampled_from(["view_item", "add_to_cart", "purchase"])
ITEM = st.fixed_dictionaries(
    {"item_id": either(FIELD_TEXT)},
    optional={
        "price": either(st.floats(0, 1e10) | st.sampled_from(HOSTILE_NUMBERS)),
        "quantity": either(st.integers(0, 10**12)),
        "item_name": either(FIELD_TEXT),
    },
)
PARAM = st.fixed_dictionaries(
    {"key": st.sampled_from(["ga_session_id", "value", "currency", "source", "campaign"]) | TEXT},
    optional={"value": st.dictionaries(st.sampled_from(["string_value", "int_value"]), SCALAR)},
)
EVENT = st.fixed_dictionaries(
    {
        "event_name": either(NAMES),
        "event_timestamp": either(st.integers(1_500_000_000, 4_000_000_000)),
        "user_pseudo_id": either(FIELD_TEXT),
    },
    optional={
        name: either(FIELD_TEXT)
        for name in ("event_id", "user_id", "session_id", "source", "campaign")
    }
    | {
        "items": either(st.lists(ITEM, max_size=3)),
        "value": either(st.floats(-1e10, 1e10) | st.sampled_from(HOSTILE_NUMBERS)),
        "event_params": either(st.lists(PARAM, max_size=3)),
        "currency": either(st.sampled_from(["EUR", "usd", "¥", "ÉÉÉ"])),
        "traffic_source": either(st.dictionaries(st.sampled_from(["source", "name"]), TEXT)),
        "ecommerce": either(st.fixed_dictionaries({}, optional={"purchase_revenue": SCALAR})),
        "device": either(st.fixed_dictionaries({"category": TEXT})),
        "page_location": either(FIELD_TEXT),
    },
)
FUZZ = settings(SEEDED, max_examples=60, suppress_health_check=SHARED_APP)


def post_json(client: TestClient, path: str, key: str, body: Any) -> Any:
    """POST ``body`` as ASCII JSON (lone surrogates go as \\u escapes, as a client may send)."""
    return client.post(
        path,
        content=json.dumps(body),
        headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
    )


def assert_no_server_error(response: Any, sent: Any) -> None:
    event(f"status {response.status_code}")  # shown by --hypothesis-show-statistics
    assert response.status_code < 500 or response.status_code in SHED, (
        f"{response.status_code} for {sent!r:.500}: {response.text[:500]}"
    )
    response.json()  # every answer is JSON, whatever was sent


PINNED = {"event_name": "purchase", "event_timestamp": 1_718_000_000, "user_pseudo_id": "u"}


@FUZZ
@given(events=st.lists(EVENT, min_size=1, max_size=2))
@example(events=[PINNED | {"value": 1e10}])  # found: 500 on PostgreSQL (NUMERIC(12, 2))
@example(events=[PINNED | {"value": -9_999_999_999.995}])  # rounds to -1e10
def test_events_fuzz_stores_or_refuses(fuzz_app: tuple[FastAPI, str], events: list[Any]) -> None:
    """Event-shaped batches with any values: 200 (all stored) or 422, never a server error;
    found value = 1e10 answering 500 on PostgreSQL (NUMERIC(12, 2) overflow)."""
    app, key = fuzz_app
    with TestClient(app, raise_server_exceptions=False) as client:
        r = post_json(client, "/v1/events", key, {"events": events})
    assert_no_server_error(r, events)
    assert r.status_code in (200, 422, *SHED), r.text
    if r.status_code == 200:
        assert r.json()["accepted"] + r.json()["duplicates"] == len(events)


@FUZZ
@given(
    texts=st.lists(st.text(ANY_CHAR, max_size=120) | TEXT, min_size=1, max_size=4),
    aspects=st.booleans(),
)
def test_score_fuzz_scores_or_refuses(
    fuzz_app: tuple[FastAPI, str], texts: list[str], aspects: bool
) -> None:
    """Any texts (every script, controls, lone surrogates): scored, or refused with 422."""
    app, key = fuzz_app
    body = {"texts": texts, "model": "lexicon", "aspects": aspects}
    with TestClient(app, raise_server_exceptions=False) as client:
        r = post_json(client, "/v1/reviews/score", key, body)
    assert_no_server_error(r, body)
    assert r.status_code in (200, 413, 422, *SHED), r.text
    if r.status_code == 200:
        assert len(r.json()["results"]) == len(texts)


@FUZZ
@given(product=st.text(ANY_CHAR, min_size=1, max_size=30) | st.sampled_from(HOSTILE_STRINGS))
def test_product_key_fuzz(fuzz_app: tuple[FastAPI, str], product: str) -> None:
    """Any product key in the URL (percent-encoded bytes, surrogates as CESU-8): 200, 404 or
    422, never a server error."""
    app, key = fuzz_app
    path = quote(product.encode("utf-8", "surrogatepass"), safe="")
    with TestClient(app, raise_server_exceptions=False) as client:
        r = client.get(
            f"/v1/products/{path}/review-insights", headers={"Authorization": f"Bearer {key}"}
        )
    assert_no_server_error(r, product)
    assert r.status_code in (200, 404, 422, *SHED), r.text
