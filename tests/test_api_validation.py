"""Regression tests for input validation that never answers 500 (issue 7, part 3).

Each test names the fault it guards: "500s from odd keys", "500s from a lone surrogate",
"`apikey revoke` prints the whole secret back", and the server errors fuzzing found
(non-UTF-8 and NaN bodies, money past NUMERIC(12, 2) on PostgreSQL, Rich markup in keys).
Every store-backed test runs on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from rich.console import Console
from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from typer.testing import CliRunner

from shopmind.api import create_app
from shopmind.api.validation import MAX_ECHO, MAX_ERRORS, find_lone_surrogate, safe_error
from shopmind.cli import app as cli
from shopmind.config import load_settings
from shopmind.reviews.report import render_insights
from shopmind.store import Store
from shopmind.store.apikeys import create_api_key, key_prefix, verify_api_key
from shopmind.store.keys import ProductKeyError, id_limit, parse_product_key
from shopmind.store.models import Event, Product
from shopmind.store.reviews import find_product
from shopmind.store.writer import upsert

runner = CliRunner()
# Keys that answered 500 before: isdigit() but not int(), past 64 and 32 bits.
ODD_NUMBERS = ["²", "٣", "１２", str(2**63), str(2**31), "9" * 255]
# Keys no product can have: refused with 422 naming the path parameter.
REFUSED = {
    "a\x00b": "control character, U+0000",
    "\x1f": "control character, U+001F",
    "tab\there": "control character, U+0009",
    "\x85": "control character, U+0085",
    "x" * 256: "255 characters",
}


def add_products(store: Store, *external_ids: str) -> None:
    rows = [{"external_id": e, "title": f"product {e}", "price": None} for e in external_ids]
    with store.connect() as conn:
        upsert(conn, Product, rows, key=("external_id",))


@pytest.fixture
def api(store: Store, tmp_path: Path) -> Iterator[tuple[TestClient, dict[str, str]]]:
    """A client on both backends (server errors come back as 500s) and valid key headers."""
    app = create_app(load_settings(tmp_path, rate_limit_per_minute=0), store)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client, {"Authorization": f"Bearer {create_api_key(store, 'test')}"}


def post_raw(client: TestClient, path: str, headers: dict[str, str], body: bytes | str) -> Any:
    return client.post(path, headers=headers | {"Content-Type": "application/json"}, content=body)


# -- "500s from odd keys": one parser ----------------------------------------------------


@pytest.mark.parametrize("key", ["²", "٣", "１２", "１", "12a", "-1", "+1", " 1", "1.0"])
def test_only_ascii_digits_make_an_id(key: str) -> None:
    assert parse_product_key(key).number is None
    assert parse_product_key(key).text == key


def test_ascii_numbers_are_ids_of_any_size() -> None:
    assert parse_product_key("42").number == 42
    assert parse_product_key("007").number == 7
    assert parse_product_key(str(2**70)).number == 2**70
    assert parse_product_key(str(2**70)).id_within(2**63 - 1) is None
    assert parse_product_key(42).number == 42


@pytest.mark.parametrize("key", [*REFUSED, "", "\ud800", "\udcff"], ids=repr)
def test_keys_no_product_can_have_are_refused(key: str) -> None:
    with pytest.raises(ProductKeyError):
        parse_product_key(key)


def test_id_range_follows_the_column_type_per_database() -> None:
    assert id_limit(Product.id, sqlite.dialect()) == 2**63 - 1  # SQLite INTEGER: 64-bit
    assert id_limit(Product.id, postgresql.dialect()) == 2**31 - 1  # PostgreSQL INTEGER
    assert id_limit(Event.id, postgresql.dialect()) == 2**63 - 1  # BIGINT


def test_out_of_range_numbers_are_still_external_ids(store: Store) -> None:
    """Regression (500s from odd keys): 2**31 on PostgreSQL, 2**63 on SQLite overflowed."""
    add_products(store, "²", str(2**31), str(2**63), "12")
    for key in ["²", str(2**31), str(2**63)]:
        found = find_product(store, key)
        assert found is not None and found[1] == key
    assert find_product(store, 1) == (1, "²")
    assert find_product(store, "12") == (4, "12"), "an exact external id wins over an id"
    assert find_product(store, "٣") is None
    assert find_product(store, str(2**64)) is None
    with pytest.raises(ProductKeyError, match="U\\+0000"):
        find_product(store, "a\x00")


@pytest.mark.parametrize("key", ODD_NUMBERS)
def test_insights_route_odd_numbers_are_404_not_500(
    api: tuple[TestClient, dict[str, str]], key: str
) -> None:
    """Regression (500s from odd keys): ², 2**63 (SQLite), 2**31 (PostgreSQL) answered 500."""
    client, headers = api
    r = client.get(f"/v1/products/{quote(key, safe='')}/review-insights", headers=headers)
    assert r.status_code == 404, r.text
    assert r.json()["detail"].startswith("no product")


@pytest.mark.parametrize(("key", "why"), REFUSED.items(), ids=repr)
def test_insights_route_refuses_keys_with_422_naming_the_field(
    api: tuple[TestClient, dict[str, str]], key: str, why: str
) -> None:
    """Regression (500s from odd keys): NUL answered 500 on PostgreSQL."""
    client, headers = api
    r = client.get(f"/v1/products/{quote(key, safe='')}/review-insights", headers=headers)
    assert r.status_code == 422, r.text
    (error,) = r.json()["detail"]
    assert error["loc"] == ["path", "product"]
    assert why in error["msg"]


def test_insights_route_finds_numeric_handles_past_the_id_range(
    api: tuple[TestClient, dict[str, str]], store: Store
) -> None:
    client, headers = api
    add_products(store, str(2**31))
    r = client.get(f"/v1/products/{2**31}/review-insights", headers=headers)
    assert r.status_code == 404
    assert "has no review insights yet" in r.json()["detail"]  # found, just not analysed


# -- the CLI: same parser, the argument named -----------------------------------------------


def insights_cli(workspace: Path, key: str) -> Any:
    return runner.invoke(cli, ["--workspace", str(workspace), "reviews", "insights", key])


@pytest.fixture
def ws(workspace: Path) -> Path:
    store = Store.open(workspace)
    store.upgrade()
    store.dispose()
    return workspace


@pytest.mark.parametrize("key", [*ODD_NUMBERS, "[/]", "[bold]x"])
def test_cli_insights_odd_keys_say_no_product(ws: Path, key: str) -> None:
    """Regression (500s from odd keys, CLI): ² and big numbers crashed with a traceback;
    "[/]" crashed Rich (MarkupError) in the error message."""
    result = insights_cli(ws, key)
    assert result.exit_code == 1, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert f"no product {key!r}" in result.output.replace("\n", "")  # Rich wraps long lines


@pytest.mark.parametrize("key", ["a\x00b", "\udcff", "x" * 256], ids=repr)
def test_cli_insights_refuses_bad_keys_naming_the_argument(ws: Path, key: str) -> None:
    """NUL cannot come from a shell, but can from a script; "\\udcff" is what Python makes of
    undecodable bytes in argv."""
    result = insights_cli(ws, key)
    assert result.exit_code == 2, result.output
    assert "invalid value for 'product'" in result.output.lower()


def test_insights_rendering_shows_markup_as_text() -> None:
    """Regression: a shopper's quote holding "[/]" ended `reviews insights` with MarkupError."""
    data = {
        "external_id": "[/]tee",
        "reviews": 1,
        "model": "lexicon",
        "shares": {"negative": 1.0},
        "alert": {"active": True, "reason": "[red]x"},
        "aspects": {
            "quality": {
                "mentions": 1,
                "positive": 0,
                "negative": 1,
                "net": -1.0,
                "pros": [],
                "cons": [{"quote": "broke [/] [link=x]y[/link]"}],
            }
        },
    }
    out = io.StringIO()
    render_insights(data, Console(file=out, width=200))
    assert "[/]tee" in out.getvalue() and "broke [/] [link=x]y[/link]" in out.getvalue()


# -- "500s from a lone surrogate" -----------------------------------------------------------

SURROGATE_BODIES = {
    "score, texts not a list": ("/v1/reviews/score", '{"texts": "\\ud800"}', ["body", "texts"]),
    "score, bad model": (
        "/v1/reviews/score",
        '{"texts": ["ok"], "model": "\\ud800"}',
        ["body", "model"],
    ),
    "score, valid place": ("/v1/reviews/score", '{"texts": ["a\\udfffb"]}', ["body", "texts", 0]),
    "events, extra key": ("/v1/events", '{"events": [], "x": "\\ud800"}', ["body", "x"]),
    "events, in an event key": (
        "/v1/events",
        '{"events": [{"\\ud800": 1}]}',
        ["body", "events", 0, "\ufffd"],
    ),
    "events, valid place": (
        "/v1/events",
        '{"events": [{"event_name": "view_item", "event_timestamp": 1718000000,'
        ' "user_pseudo_id": "u", "items": [{"item_id": "a", "item_name": "\\udc80"}]}]}',
        ["body", "events", 0, "items", 0, "item_name"],
    ),
}


@pytest.mark.parametrize(("path", "body", "loc"), SURROGATE_BODIES.values(), ids=SURROGATE_BODIES)
def test_lone_surrogates_are_422_naming_where(
    api: tuple[TestClient, dict[str, str]], store: Store, path: str, body: str, loc: list
) -> None:
    """Regression (500s from a lone surrogate): the 422 handler crashed echoing "\\ud800",
    and one in a valid place crashed later (aspect sentences in the answer)."""
    client, headers = api
    r = post_raw(client, path, headers, body)
    assert r.status_code == 422, r.text
    (error,) = r.json()["detail"]
    assert (error["type"], error["loc"]) == ("string_unicode", loc)
    assert "\ufffd" in error["input"]
    assert store.stats()["events"] == 0


@pytest.mark.parametrize(
    "body",
    [b'{"texts": ["\xed\xa0\x80"]}', '{"texts": ["\\ud800"]}'.encode("utf-16-le")],
    ids=["cesu-8", "utf-16"],
)
def test_surrogates_in_other_encodings_are_refused_too(
    api: tuple[TestClient, dict[str, str]], body: bytes
) -> None:
    """Python's JSON reader decodes CESU-8 bytes (ED A0 80) and UTF-16 bodies too."""
    client, headers = api
    r = post_raw(client, "/v1/reviews/score", headers, body)
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "texts", 0]


def test_the_key_is_checked_before_the_text_policy(api: tuple[TestClient, dict[str, str]]) -> None:
    client, _ = api
    assert post_raw(client, "/v1/events", {}, '{"x": "\\ud800"}').status_code == 401


def test_paired_surrogate_escapes_are_ordinary_text(api: tuple[TestClient, dict[str, str]]) -> None:
    client, headers = api
    body = json.dumps({"texts": ["great 😀 tee"], "model": "lexicon", "aspects": False})
    assert "\\ud83d\\ude00" in body
    r = post_raw(client, "/v1/reviews/score", headers, body)
    assert r.status_code == 200, r.text


# -- the 422 handler survives any input -------------------------------------------------------


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("text/plain", b"\xff\xfe not UTF-8"),
        ("application/json", b'{"texts": NaN}'),
        ("application/json", b'{"texts": ["a"], "model": Infinity}'),
        ("application/octet-stream", bytes(range(256))),
    ],
    ids=["not-utf8", "nan", "infinity", "binary"],
)
def test_bodies_that_crashed_the_422_handler(
    api: tuple[TestClient, dict[str, str]], content_type: str, body: bytes
) -> None:
    """Regression (found by fuzzing): bytes that are not UTF-8 and NaN / Infinity literals
    made the default 422 handler answer 500 while echoing the input."""
    client, headers = api
    for path in ("/v1/reviews/score", "/v1/events"):
        r = client.post(path, headers=headers | {"Content-Type": content_type}, content=body)
        assert r.status_code == 422, r.text
        assert all(isinstance(e["loc"], list) for e in r.json()["detail"])


def test_huge_inputs_are_not_echoed_whole(api: tuple[TestClient, dict[str, str]]) -> None:
    client, headers = api
    r = client.post("/v1/reviews/score", headers=headers, json={"texts": "x" * 20_000})
    assert r.status_code == 422
    echoed = r.json()["detail"][0]["input"]
    assert echoed.startswith("x" * MAX_ECHO) and "20,000 characters" in echoed
    assert len(r.content) < 1000
    r = client.post("/v1/reviews/score", headers=headers, json={"texts": list(range(256))})
    assert len(r.json()["detail"]) == MAX_ERRORS


def test_json_that_is_not_utf8_is_a_400(api: tuple[TestClient, dict[str, str]]) -> None:
    client, headers = api
    r = post_raw(client, "/v1/events", headers, b'{"events": ["\xff"]}')
    assert r.status_code == 400 and isinstance(r.json()["detail"], str)


def test_safe_error_makes_every_part_sendable() -> None:
    error = {
        "type": "value_error",
        "loc": ("body", "\ud800", 3, True),
        "msg": "bad \udc80",
        "input": {"k": [b"\xff", float("nan"), "y" * 500, {"a": {"b": {"c": {"d": 1}}}}]},
        "ctx": {"error": ValueError("\ud800")},
    }
    out = safe_error(error)
    text = json.dumps(out, allow_nan=False, ensure_ascii=False)
    text.encode("utf-8")  # no lone surrogate left
    assert out["loc"] == ["body", "\ufffd", 3, "True"]
    assert out["input"]["k"][1] == "nan" and len(out["input"]["k"][2]) < MAX_ECHO + 30


def test_find_lone_surrogate_reports_document_order() -> None:
    value = {"a": ["ok", {"b": "\ud800"}], "c": "\udc00"}
    assert find_lone_surrogate(value) == (("a", 1, "b"), "\ud800")
    assert find_lone_surrogate({"a": ["😀", "é"]}) is None


# -- found by fuzzing: money past NUMERIC(12, 2) ------------------------------------------


@pytest.mark.parametrize("value", [1e10, -1e10, 9_999_999_999.995, "1e10"])
def test_event_values_past_the_money_column_are_refused(
    api: tuple[TestClient, dict[str, str]], store: Store, value: Any
) -> None:
    """Regression (found by fuzzing): value = 1e10 answered 500 on PostgreSQL (numeric
    field overflow); it is now a 422 naming the field, on both backends."""
    client, headers = api
    event = {"event_name": "purchase", "event_timestamp": 1_718_000_000, "user_pseudo_id": "u"}
    r = client.post("/v1/events", headers=headers, json={"events": [event | {"value": value}]})
    assert r.status_code == 422, r.text
    assert r.json()["rejected"][0]["field"] == "value"
    r = client.post(
        "/v1/events", headers=headers, json={"events": [event | {"value": 9_999_999_999.99}]}
    )
    assert r.status_code == 200, r.text
    with store.engine.connect() as conn:
        assert conn.scalar(select(Event.value)) == 9_999_999_999.99


# -- "`apikey revoke` prints the whole secret back" ---------------------------------------


def test_apikey_revoke_never_prints_the_secret(ws: Path) -> None:
    """Regression: `shopmind apikey revoke <whole key>` printed the whole key back."""
    args = ["--workspace", str(ws), "apikey"]
    key = runner.invoke(cli, [*args, "create"]).stdout.strip()
    prefix, secret = key_prefix(key), key.split("_", 2)[2]
    result = runner.invoke(cli, [*args, "revoke", key])
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == f"revoked {prefix}"
    assert not verify_api_key(Store.open(ws), key)
    again = runner.invoke(cli, [*args, "revoke", key])  # already revoked: an error message
    assert again.exit_code == 1 and prefix in again.output
    # not a key: nothing shown ("--": a random secret may begin with "-", an option's mark)
    typo = runner.invoke(cli, [*args, "revoke", "--", f"sm_{secret}"])
    bare = runner.invoke(cli, [*args, "revoke", "--", secret])
    for result in (again, typo, bare):
        assert result.exit_code == 1
        assert secret not in result.output and secret[:12] not in result.output
