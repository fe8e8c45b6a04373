"""GA4-style behaviour events: normalise one raw event into a row, store batches idempotently.

Accepts both the flat shape (``event_name, event_timestamp, user_pseudo_id, session_id,
items, value, currency, source, medium, campaign, device``) and the nested BigQuery
export shape (``event_params``, ``traffic_source``, ``device.category``, ``ecommerce``).
An event without an ``event_id`` gets a deterministic one from its content, so the same
event sent or imported twice is stored once.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from shopmind.store.db import Store
from shopmind.store.models import Event
from shopmind.store.writer import insert_new

_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,63}$")
_MAX_ITEMS = 200


class EventError(ValueError):
    """A raw event that cannot be stored; ``field`` names the offending field."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


def parse_timestamp(value: Any, field: str = "event_timestamp") -> datetime:
    """GA4 microseconds, epoch seconds/milliseconds, or ISO 8601 → naive UTC datetime."""
    if isinstance(value, datetime):
        return value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value
    if isinstance(value, str):
        text = value.strip()
        if not text:
            raise EventError(field, "is empty")
        if re.fullmatch(r"-?\d+(\.\d+)?", text):
            value = float(text)
        else:
            try:
                parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
            except ValueError as exc:
                raise EventError(field, f"not a timestamp: {text[:40]!r}") from exc
            return parse_timestamp(parsed, field)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise EventError(field, f"not a timestamp: {value!r}"[:80])
    number = float(value)
    if number > 1e17:  # nanoseconds
        number /= 1e9
    elif number > 1e14:  # microseconds (GA4)
        number /= 1e6
    elif number > 1e11:  # milliseconds
        number /= 1e3
    if not 0 < number < 4_102_444_800:  # 1970 .. 2100
        raise EventError(field, f"out of range: {value!r}")
    return datetime.fromtimestamp(number, UTC).replace(tzinfo=None)


def _params(raw: Mapping[str, Any]) -> dict[str, Any]:
    """Flatten BigQuery ``event_params`` ([{key, value: {string_value|int_value…}}])."""
    out: dict[str, Any] = {}
    params = raw.get("event_params")
    if isinstance(params, Mapping):
        return dict(params)
    if isinstance(params, list):
        for p in params:
            if isinstance(p, Mapping) and "key" in p:
                value = p.get("value")
                if isinstance(value, Mapping):
                    value = next((v for v in value.values() if v is not None), None)
                out[str(p["key"])] = value
    return out


def _first(*values: Any) -> Any:
    for v in values:
        if v is not None and v != "":
            return v
    return None


def _text(value: Any, field: str, limit: int = 255) -> str | None:
    if value is None or value == "":
        return None
    if isinstance(value, Mapping | list):
        raise EventError(field, "must be a string")
    text = str(value).strip()
    if "\x00" in text:
        raise EventError(field, "contains a NUL character")
    if len(text) > limit:
        raise EventError(field, f"longer than {limit} characters")
    return text or None


def _number(value: Any, field: str) -> float | None:
    if value is None or value == "":
        return None
    try:
        number = float(value)
    except (TypeError, ValueError) as exc:
        raise EventError(field, f"not a number: {value!r}"[:80]) from exc
    if number != number or abs(number) > 1e10:
        raise EventError(field, f"out of range: {value!r}")
    return round(number, 2)


def _items(value: Any) -> list[dict[str, Any]] | None:
    if value is None or value == "":
        return None
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError as exc:
            raise EventError("items", "not a JSON array") from exc
    if not isinstance(value, list):
        raise EventError("items", "must be an array of objects")
    if len(value) > _MAX_ITEMS:
        raise EventError("items", f"more than {_MAX_ITEMS} items")
    items = []
    for i, item in enumerate(value):
        if not isinstance(item, Mapping):
            raise EventError(f"items[{i}]", "must be an object")
        item_id = _text(_first(item.get("item_id"), item.get("id")), f"items[{i}].item_id")
        if item_id is None:
            raise EventError(f"items[{i}].item_id", "is missing")
        clean: dict[str, Any] = {"item_id": item_id}
        price = _number(item.get("price"), f"items[{i}].price")
        if price is not None:
            clean["price"] = price
        qty = _number(item.get("quantity"), f"items[{i}].quantity")
        if qty is not None:
            clean["quantity"] = int(qty)
        name = _text(item.get("item_name"), f"items[{i}].item_name", 512)
        if name:
            clean["item_name"] = name
        items.append(clean)
    return items


def make_event_id(row: Mapping[str, Any]) -> str:
    """A content hash: the same event (user, time, name, session, items, txn) → same id."""
    basis = json.dumps(
        [
            row["user_id"],
            row["ts"].isoformat(),
            row["name"],
            row.get("session_id"),
            row.get("items"),
            row.get("transaction_id"),
            row.get("value"),
        ],
        sort_keys=True,
        default=str,
    )
    return hashlib.sha256(basis.encode()).hexdigest()[:32]


def normalize_event(raw: Mapping[str, Any], currency: str = "USD") -> dict[str, Any]:
    """One raw GA4-style event → a row of the ``events`` table; raises ``EventError``."""
    if not isinstance(raw, Mapping):
        raise EventError("event", "must be an object")
    params = _params(raw)
    traffic = raw.get("traffic_source") if isinstance(raw.get("traffic_source"), Mapping) else {}
    device = raw.get("device")
    ecommerce = raw.get("ecommerce") if isinstance(raw.get("ecommerce"), Mapping) else {}

    name = _text(_first(raw.get("event_name"), raw.get("name")), "event_name", 64)
    if name is None:
        raise EventError("event_name", "is missing")
    if not _NAME.match(name):
        raise EventError("event_name", f"not a valid event name: {name[:40]!r}")
    ts_raw = _first(raw.get("event_timestamp"), raw.get("timestamp"), raw.get("ts"))
    if ts_raw is None:
        raise EventError("event_timestamp", "is missing")
    user = _text(
        _first(raw.get("user_pseudo_id"), raw.get("user_id"), raw.get("client_id")),
        "user_pseudo_id",
    )
    if user is None:
        raise EventError("user_pseudo_id", "is missing (or user_id)")
    items = _items(_first(raw.get("items"), ecommerce.get("items")))
    if items is None and _first(raw.get("item_id")) is not None:
        items = _items(
            [
                {
                    "item_id": raw.get("item_id"),
                    "price": raw.get("price"),
                    "quantity": raw.get("quantity"),
                }
            ]
        )
    row: dict[str, Any] = {
        "name": name,
        "ts": parse_timestamp(ts_raw),
        "user_id": user,
        "session_id": _text(
            _first(raw.get("session_id"), raw.get("ga_session_id"), params.get("ga_session_id")),
            "session_id",
        ),
        "customer_id": _text(raw.get("user_id"), "user_id")
        if raw.get("user_pseudo_id") not in (None, "")
        else None,
        "items": items,
        "item_id": items[0]["item_id"] if items else None,
        "value": _number(
            _first(raw.get("value"), params.get("value"), ecommerce.get("purchase_revenue")),
            "value",
        ),
        "currency": (
            _text(_first(raw.get("currency"), params.get("currency")), "currency", 3) or currency
        ).upper(),
        "transaction_id": _text(
            _first(
                raw.get("transaction_id"),
                params.get("transaction_id"),
                ecommerce.get("transaction_id"),
            ),
            "transaction_id",
        ),
        "source": _text(
            _first(raw.get("source"), params.get("source"), traffic.get("source")), "source"
        ),
        "medium": _text(
            _first(raw.get("medium"), params.get("medium"), traffic.get("medium")), "medium"
        ),
        "campaign": _text(
            _first(raw.get("campaign"), params.get("campaign"), traffic.get("name")), "campaign"
        ),
        "device": _text(
            _first(
                raw.get("device_category"),
                device.get("category") if isinstance(device, Mapping) else device,
            ),
            "device",
            32,
        ),
        "page": _text(_first(raw.get("page_location"), params.get("page_location")), "page", 2048),
    }
    event_id = _text(raw.get("event_id"), "event_id", 64)
    row["event_id"] = event_id or make_event_id(row)
    return row


def store_events(store: Store, rows: Iterable[Mapping[str, Any]], count: bool = True) -> int | None:
    """Insert normalised rows in one transaction; rows whose event_id exists are skipped.

    Returns the number of new rows when ``count`` is true.
    """
    batch = list(rows)
    with store.connect() as conn:
        return insert_new(conn, Event, batch, ["event_id"], count=count)
