"""GA4-style behaviour events: normalise one raw event into a row, store batches idempotently.

Accepts both the flat shape (``event_name, event_timestamp, user_pseudo_id, session_id,
items, value, currency, source, medium, campaign, device, search_term``) and the nested
BigQuery export shape (``event_params``, ``traffic_source``, ``device.category``,
``ecommerce``).
An event without an ``event_id`` gets a deterministic one from its content, so the same
event sent or imported twice is stored once.

Text policy: a string holding a control character or lone surrogate is refused, naming its
field (the rule of :mod:`shopmind.safety.chars`); ids and the page URL are stored as sent;
free text a shopper's URL or a tag sets (source, medium, campaign, device, item names) is
stored as one line of plain text (:func:`shopmind.safety.one_line`). The site-search term
(GA4's ``search_term`` on ``search`` / ``view_search_results``) is what a shopper typed, not
machine data: it is cleaned instead of refused (see :func:`search_term`).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import Connection, func, select

from shopmind.safety import one_line, unstorable_problem
from shopmind.store.daily import add_events
from shopmind.store.db import Store
from shopmind.store.models import Event
from shopmind.store.writer import insert_new, insert_new_returning

_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,63}$")
_MAX_ITEMS = 200
_MONEY_LIMIT = 1e10  # exclusive bound of a Money (NUMERIC(12, 2)) value
SEARCH_TERM_LIMIT = 255  # characters of a stored search term (the column's size)


class EventError(ValueError):
    """A raw event that cannot be stored; ``field`` names the offending field."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


_EARLIEST = datetime(1970, 1, 1)
_LATEST = datetime(2100, 1, 1)


def parse_timestamp(value: Any, field: str = "event_timestamp") -> datetime:
    """GA4 microseconds, epoch seconds/milliseconds, or ISO 8601 → naive UTC datetime.

    Times outside 1970–2099 are refused: they are unit mistakes, not events.
    """
    if isinstance(value, str):
        text = value.strip()
        if not text:
            raise EventError(field, "is empty")
        try:
            value = float(text)
        except ValueError:
            try:
                value = datetime.fromisoformat(text.replace("Z", "+00:00"))
            except ValueError as exc:
                raise EventError(field, f"not a timestamp: {text[:40]!r}") from exc
    if isinstance(value, datetime):
        try:
            ts = value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value
        except (OverflowError, ValueError) as exc:
            raise EventError(field, f"out of range: {value.isoformat()[:40]}") from exc
        if not _EARLIEST < ts < _LATEST:
            raise EventError(field, f"out of range (1970–2099): {ts.isoformat()[:40]}")
        return ts
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise EventError(field, f"not a timestamp: {value!r}"[:80])
    try:
        number = float(value)
    except OverflowError as exc:
        raise EventError(field, "out of range (1970–2099)") from exc
    if number > 1e17:  # nanoseconds
        number /= 1e9
    elif number > 1e14:  # microseconds (GA4)
        number /= 1e6
    elif number > 1e11:  # milliseconds
        number /= 1e3
    if not 0 < number < 4_102_444_800:  # 1970 .. 2100 (NaN fails too)
        raise EventError(field, f"out of range (1970–2099): {str(value)[:40]}")
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


def _text(value: Any, field: str, limit: int = 255) -> str | None:
    """A string value as sent (trimmed; numbers as text): ``None`` when empty; refused when
    longer than ``limit`` or holding a control character or lone surrogate
    (:mod:`shopmind.safety.chars`: PostgreSQL cannot store NUL, UTF-8 no surrogate)."""
    if value is None:
        return None
    if type(value) is not str:
        if isinstance(value, Mapping | list):
            raise EventError(field, "must be a string")
        value = str(value)
    text = value.strip()
    if not text:
        return None
    if len(text) > limit:
        raise EventError(field, f"longer than {limit} characters")
    problem = unstorable_problem(text)
    if problem is not None:
        raise EventError(field, problem)
    return text


def _plain(value: Any, field: str, limit: int = 255) -> str | None:
    """Free text (source, campaign, device, item name) as one line of plain text: checked as
    :func:`_text`, then markup out and entities decoded (:func:`shopmind.safety.one_line`)."""
    text = _text(value, field, limit)
    return (one_line(text) or None) if text is not None else None


def search_term(value: Any) -> str | None:
    """A site-search term as one line of plain text: control characters, lone surrogates,
    invisible format characters and markup removed, entities decoded, white space collapsed
    (:func:`shopmind.safety.one_line`), case kept (GA4 keeps it), cut to
    ``SEARCH_TERM_LIMIT`` characters (GA4 itself cuts parameter values); ``None`` when
    nothing is left. Only a value that is not text (an object or array) is refused."""
    if value is None:
        return None
    if type(value) is not str:
        if isinstance(value, Mapping | list):
            raise EventError("search_term", "must be a string")
        value = str(value)
    # A long value is cut before cleaning too (bounds the work; cleaning never lengthens).
    text = one_line(value[: 4 * SEARCH_TERM_LIMIT])
    return text[:SEARCH_TERM_LIMIT].rstrip() or None


def _number(value: Any, field: str, negative: bool = True) -> float | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise EventError(field, f"not a number: {value!r}")
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError) as exc:
        raise EventError(field, f"not a number: {value!r}"[:80]) from exc
    # NUMERIC(12, 2) holds less than 10**10 in magnitude once rounded (PostgreSQL refuses more).
    if number != number or abs(round(number, 2)) >= _MONEY_LIMIT:
        raise EventError(field, f"out of range (±{_MONEY_LIMIT:,.0f}): {value!r}"[:80])
    if number < 0 and not negative:
        raise EventError(field, f"must not be negative: {value!r}"[:80])
    return round(number, 2)


def _items(value: Any) -> list[dict[str, Any]] | None:
    if value is None or value == "":
        return None
    if isinstance(value, str):
        try:
            value = orjson.loads(value)
        except orjson.JSONDecodeError as exc:
            raise EventError("items", "not a JSON array") from exc
    if not isinstance(value, list):
        raise EventError("items", "must be an array of objects")
    if len(value) > _MAX_ITEMS:
        raise EventError("items", f"more than {_MAX_ITEMS} items")
    items = []
    for i, item in enumerate(value):
        try:
            items.append(_item(item))
        except EventError as exc:
            field = f"items[{i}]" + (f".{exc.field}" if exc.field != "item" else "")
            raise EventError(field, exc.message) from None
    return items


def _item(item: Any) -> dict[str, Any]:
    if not isinstance(item, Mapping):
        raise EventError("item", "must be an object")
    item_id = item.get("item_id")
    if item_id is None or item_id == "":
        item_id = item.get("id")
    item_id = _text(item_id, "item_id")
    if item_id is None:
        raise EventError("item_id", "is missing")
    clean: dict[str, Any] = {"item_id": item_id}
    price = _number(item.get("price"), "price", negative=False)
    if price is not None:
        clean["price"] = price
    qty = _number(item.get("quantity"), "quantity", negative=False)
    if qty is not None:
        clean["quantity"] = int(qty)
    name = _text(item.get("item_name"), "item_name", 512)
    if name:
        clean["item_name"] = name  # as sent until the event id is made (see normalize_event)
    list_id = _plain(item.get("item_list_id"), "item_list_id", 100)
    if list_id:  # the list (placement) the item was shown in: view_item_list, select_item
        clean["item_list_id"] = list_id
    index = _number(item.get("index"), "index", negative=False)
    if index is not None:
        clean["index"] = int(index)
    return clean


def _plain_names(items: list[dict[str, Any]]) -> None:
    """Item names as plain text, in place (a name with no text left is dropped)."""
    for item in items:
        name = item.get("item_name")
        if name is not None and (plain := one_line(name)) != name:
            if plain:
                item["item_name"] = plain
            else:
                del item["item_name"]


_ID_KEYS = frozenset({"item_id", "price", "quantity", "item_name"})


def make_event_id(row: Mapping[str, Any]) -> str:
    """A content hash: the same event (user, time, name, session, items, txn) → same id.
    Items count by id, price, quantity and name only (as before list ids were kept), so a
    file imported again keeps its ids."""
    items = [{k: v for k, v in i.items() if k in _ID_KEYS} for i in row.get("items") or ()]
    basis = "\x1f".join(
        [
            row["user_id"],
            row["ts"].isoformat(),
            row["name"],
            str(row.get("session_id")),
            orjson.dumps(items, option=orjson.OPT_SORT_KEYS).decode() if items else "",
            str(row.get("transaction_id")),
            str(row.get("value")),
        ]
    )
    return hashlib.blake2b(basis.encode(), digest_size=16).hexdigest()


def _set_missing(flat: dict[str, Any], key: str, value: Any) -> None:
    if value not in (None, "") and flat.get(key) in (None, ""):
        flat[key] = value


def _flatten(raw: Mapping[str, Any]) -> dict[str, Any]:
    """Fold the BigQuery export's nested fields into the flat names (flat fields win)."""
    flat = dict(raw)
    params = _params(raw)
    for key in (
        "ga_session_id",
        "value",
        "currency",
        "transaction_id",
        "page_location",
        "item_list_id",
        "search_term",
    ):
        _set_missing(flat, key, params.get(key))
    for key in ("source", "medium", "campaign"):
        _set_missing(flat, key, params.get(key))
    traffic = raw.get("traffic_source")
    if isinstance(traffic, Mapping):
        _set_missing(flat, "source", traffic.get("source"))
        _set_missing(flat, "medium", traffic.get("medium"))
        _set_missing(flat, "campaign", traffic.get("name"))
    ecommerce = raw.get("ecommerce")
    if isinstance(ecommerce, Mapping):
        _set_missing(flat, "items", ecommerce.get("items"))
        _set_missing(flat, "value", ecommerce.get("purchase_revenue"))
        _set_missing(flat, "transaction_id", ecommerce.get("transaction_id"))
    device = raw.get("device")
    _set_missing(
        flat, "device_category", device.get("category") if isinstance(device, Mapping) else device
    )
    return flat


_NESTED = ("event_params", "traffic_source", "ecommerce", "device")


def normalize_event(raw: Mapping[str, Any], currency: str = "USD") -> dict[str, Any]:
    """One raw GA4-style event → a row of the ``events`` table; raises ``EventError``."""
    if not isinstance(raw, Mapping):
        raise EventError("event", "must be an object")
    if any(k in raw for k in _NESTED):
        raw = _flatten(raw)
    g = raw.get
    name = _text(g("event_name") or g("name"), "event_name", 64)
    if name is None:
        raise EventError("event_name", "is missing")
    if not _NAME.match(name):
        raise EventError("event_name", f"not a valid event name: {name[:40]!r}")
    ts_raw = g("event_timestamp") or g("timestamp") or g("ts")
    if ts_raw is None or ts_raw == "":
        raise EventError("event_timestamp", "is missing")
    pseudo = g("user_pseudo_id")
    user = _text(pseudo or g("user_id") or g("client_id"), "user_pseudo_id")
    if user is None:
        raise EventError("user_pseudo_id", "is missing (or user_id)")
    items = _items(g("items"))
    if items is None and g("item_id") not in (None, ""):
        items = _items([{"item_id": g("item_id"), "price": g("price"), "quantity": g("quantity")}])
    list_id = _plain(g("item_list_id"), "item_list_id", 100)
    for item in items or () if list_id else ():
        item.setdefault("item_list_id", list_id)
    row: dict[str, Any] = {
        "name": name,
        "ts": parse_timestamp(ts_raw),
        "user_id": user,
        "session_id": _text(g("session_id") or g("ga_session_id"), "session_id"),
        "customer_id": _text(g("user_id"), "user_id") if pseudo not in (None, "") else None,
        "items": items,
        "item_id": items[0]["item_id"] if items else None,
        "value": _number(g("value"), "value"),
        "currency": (_text(g("currency"), "currency", 3) or currency).upper(),
        "transaction_id": _text(g("transaction_id"), "transaction_id"),
        "source": _plain(g("source"), "source"),
        "medium": _plain(g("medium"), "medium"),
        "campaign": _plain(g("campaign"), "campaign"),
        "device": _plain(g("device_category"), "device", 32),
        "page": _text(g("page_location"), "page", 2048),
        "search_term": search_term(g("search_term")),
    }
    event_id = _text(g("event_id"), "event_id", 64)
    # Made from item names as sent, so an event stored before names were cleaned keeps its id.
    row["event_id"] = event_id or make_event_id(row)
    if items:
        _plain_names(items)
    return row


def store_events(store: Store, rows: Iterable[Mapping[str, Any]], count: bool = True) -> int | None:
    """Insert normalised rows in one transaction; rows whose event_id exists are skipped.
    The daily aggregates count the new ones in the same transaction (:func:`write_events`).

    Returns the number of new rows when ``count`` is true.
    """
    batch = list(rows)
    with store.connect() as conn:
        new = write_events(conn, batch)
    return new if count else None


def write_events(conn: Connection, rows: Sequence[Mapping[str, Any]]) -> int:
    """Insert the rows whose ``event_id`` is not stored yet (of rows sharing one, the
    first) and count exactly those into the daily aggregates
    (:func:`shopmind.store.daily.add_events`), in the caller's transaction. Returns how
    many were new."""
    new = insert_new_events(conn, rows)
    add_events(conn, new)
    return len(new)


def insert_new_events(
    conn: Connection, rows: Sequence[Mapping[str, Any]]
) -> list[Mapping[str, Any]]:
    """Insert the rows whose ``event_id`` is not stored yet (of rows sharing one, the
    first); returns those rows."""
    first: dict[str, Mapping[str, Any]] = {}
    for row in rows:
        first.setdefault(row["event_id"], row)
    unique = list(first.values())
    if not unique:  # an empty batch: an INSERT of no rows would insert an empty row
        return []
    if conn.dialect.name == "postgresql":
        added = insert_new_returning(conn, Event, unique, ["event_id"], "event_id")
        return [row for row in unique if row["event_id"] in added]
    new = insert_new(conn, Event, unique, ["event_id"], count=True) or 0
    if new in (0, len(unique)):
        return unique if new else []
    # SQLite has one writer at a time and gives a new row the rowid above the largest
    # stored, so this transaction's new rows hold the ``new`` largest ids.
    last = conn.scalar(select(func.max(Event.id))) or 0
    added = set(conn.scalars(select(Event.event_id).where(Event.id > last - new)))
    return [row for row in unique if row["event_id"] in added]
