"""Orders: Shopify's order export and a generic orders CSV (one row per line item).

Rows of one order sit together; order fields come from its first row. Customers are
upserted by e-mail (lower-cased) or customer id, lines linked to variants by SKU. Line
titles, customer names and places and campaign fields are stored as plain text
(:mod:`shopmind.safety`); ids, e-mails, currencies and statuses as written. Each batch
recomputes the daily sales aggregates of the days it touched (:mod:`shopmind.store.daily`).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, delete

from shopmind.safety import one_line
from shopmind.store.daily import orders_changing, refresh_sales
from shopmind.store.db import Store
from shopmind.store.importers.catalog import find_skus
from shopmind.store.importers.common import (
    ImportFileError,
    ImportResult,
    Options,
    Rejected,
    RowError,
    group_consecutive,
    import_csv,
)
from shopmind.store.importers.reading import Columns, CsvTable, F, Field, Row
from shopmind.store.models import Customer, Order, OrderLine, Product
from shopmind.store.writer import id_map, upsert

SHOPIFY_FIELDS = [
    F("order_id", "Name", required=True),
    F("created_at", "Created at", required=True),
    F("total", "Total", required=True),
    F("title", "Lineitem name", required=True),
    F("quantity", "Lineitem quantity", required=True),
    F("price", "Lineitem price", required=True),
    F("sku", "Lineitem sku"),
    F("line_discount", "Lineitem discount"),
    F("email", "Email"),
    F("financial_status", "Financial Status"),
    F("fulfillment_status", "Fulfillment Status"),
    F("accepts_marketing", "Accepts Marketing"),
    F("currency", "Currency"),
    F("subtotal", "Subtotal"),
    F("shipping", "Shipping"),
    F("tax", "Taxes"),
    F("discount", "Discount Amount"),
    F("cancelled_at", "Cancelled at"),
    F("name", "Billing Name", "Shipping Name"),
    F("city", "Billing City", "Shipping City"),
    F("country", "Billing Country", "Shipping Country"),
]
GENERIC_FIELDS = [
    F(
        "order_id",
        "order_id",
        "Order ID",
        "Order",
        "Order Number",
        "Name",
        "InvoiceNo",
        required=True,
    ),
    F("created_at", "created_at", "Date", "Order Date", "Created", "InvoiceDate", required=True),
    F("total", "total", "Order Total", "Amount", "Revenue"),
    F("subtotal", "subtotal"),
    F("shipping", "shipping"),
    F("tax", "tax", "taxes"),
    F("discount", "discount", "Discount Amount"),
    F("currency", "currency"),
    F("financial_status", "financial_status", "status", "Payment Status"),
    F("fulfillment_status", "fulfillment_status"),
    F("email", "email", "Customer Email"),
    F("customer_id", "customer_id", "Customer", "CustomerID", "user_id"),
    F("first_name", "first_name"),
    F("last_name", "last_name"),
    F("name", "customer_name"),
    F("city", "city"),
    F("country", "country"),
    F("source", "source", "utm_source"),
    F("medium", "medium", "utm_medium"),
    F("campaign", "campaign", "utm_campaign"),
    F("session_id", "session_id"),
    F("sku", "sku", "StockCode", "Variant SKU"),
    F("product_id", "product_id", "Product", "item_id"),
    F("title", "title", "Product Name", "item_name", "Description"),
    F("quantity", "quantity", "Qty"),
    F("price", "price", "Unit Price", "UnitPrice"),
    F("line_discount", "line_discount", "Item Discount"),
]
_LINE_FIELDS = ("sku", "product_id", "title", "price", "quantity")
_CHUNK = 900  # ids per IN (...) list: SQLite and PostgreSQL cap the parameters of a statement


@dataclass
class OrderRecord:
    line: int
    raw: list[list[str]]
    order: dict[str, Any]
    customer: dict[str, Any] | None
    lines: list[dict[str, Any]] = field(default_factory=list)


def import_shopify_orders(store: Store, opts: Options) -> ImportResult:
    return _import(store, opts, "shopify-orders", SHOPIFY_FIELDS)


def import_orders(store: Store, opts: Options) -> ImportResult:
    return _import(store, opts, "orders", GENERIC_FIELDS)


def _import(store: Store, opts: Options, kind: str, fields: Sequence[Field]) -> ImportResult:
    def records(table: CsvTable, cols: Columns) -> Iterator[OrderRecord | Rejected]:
        rows = (Row(line, values, cols) for line, values in table)
        for group in group_consecutive(rows, "order_id", "order"):
            yield group if isinstance(group, Rejected) else _order_or_reject(group, opts.currency)

    return import_csv(store, opts, kind, fields, records, write_orders, _check_columns)


def _check_columns(path: Path, cols: Columns) -> None:
    if "total" not in cols and "price" not in cols:
        raise ImportFileError(
            path, 1, "total", "missing column: need an order total or a line price column"
        )


def _order_or_reject(group: list[Row], currency: str) -> OrderRecord | Rejected:
    row = group[0]
    try:
        for r in group:
            try:
                r.check()
            except RowError as exc:
                raise _LineError(r.line, exc) from None
        order = _order_fields(row, currency)
        lines = [_line(r, n) for n, r in enumerate(_line_rows(group), start=1)]
    except _LineError as exc:
        return Rejected(exc.line, exc.field, exc.message, [r.values for r in group])
    except RowError as exc:
        return Rejected(row.line, exc.field, exc.message, [r.values for r in group])
    _fill_totals(order, lines)
    if order["total"] is None:
        return Rejected(row.line, row.cols.label("total"), "is empty", [r.values for r in group])
    return OrderRecord(row.line, [r.values for r in group], order, _customer(row, order), lines)


class _LineError(RowError):
    def __init__(self, line: int, error: RowError) -> None:
        super().__init__(error.field, error.message)
        self.line = line


def _line_rows(group: list[Row]) -> Iterator[Row]:
    return (r for r in group if any(r.get(f) for f in _LINE_FIELDS))


def _order_fields(row: Row, currency: str) -> dict[str, Any]:
    return {
        "external_id": row.text("order_id", required=True),
        "email": (row.text("email", 254) or "").lower() or None,
        "created_at": row.date("created_at", required=True),
        "currency": (row.text("currency", 3) or currency).upper(),
        "subtotal": row.money("subtotal"),
        "discount": row.money("discount"),
        "shipping": row.money("shipping"),
        "tax": row.money("tax"),
        "total": row.money("total"),
        "financial_status": _lower(row.text("financial_status", 32)),
        "fulfillment_status": _lower(row.text("fulfillment_status", 32)),
        "source": row.plain("source"),
        "medium": row.plain("medium"),
        "campaign": row.plain("campaign"),
        "session_id": row.text("session_id"),
        "cancelled_at": row.date("cancelled_at"),
    }


def _lower(text: str | None) -> str | None:
    return text.lower() if text else None


def _line(row: Row, line_no: int) -> dict[str, Any]:
    try:
        quantity = row.integer("quantity")
        if quantity is not None and quantity < 0:
            raise row.fail("quantity", f"is negative: {quantity}")
        return {
            "line_no": line_no,
            "sku": row.text("sku"),
            "product_key": row.text("product_id"),
            "title": row.plain("title", 512) or one_line(row.get("sku"))[:512],
            "quantity": 1 if quantity is None else quantity,
            "price": row.money("price", required=True),
            "discount": row.money("line_discount") or 0.0,
        }
    except RowError as exc:
        raise _LineError(row.line, exc) from None


def _fill_totals(order: dict[str, Any], lines: list[dict[str, Any]]) -> None:
    """Missing amounts: subtotal from the lines, total from subtotal + shipping + tax − discount."""
    for name in ("discount", "shipping", "tax"):
        order[name] = order[name] or 0.0
    if order["subtotal"] is None and lines:
        order["subtotal"] = round(sum(x["price"] * x["quantity"] - x["discount"] for x in lines), 2)
    if order["total"] is None and order["subtotal"] is not None:
        total = order["subtotal"] + order["shipping"] + order["tax"] - order["discount"]
        order["total"] = round(total, 2)


def _customer(row: Row, order: dict[str, Any]) -> dict[str, Any] | None:
    key = row.text("customer_id") or order["email"]
    if not key:
        return None
    first, _, last = (row.plain("name") or "").partition(" ")
    customer = {
        "external_id": key.lower() if key == order["email"] else key,
        "email": order["email"],
        "first_name": row.plain("first_name") or first or None,
        "last_name": row.plain("last_name") or last or None,
        "city": row.plain("city"),
        "country": row.plain("country", 64),
        "accepts_marketing": row.flag("accepts_marketing"),
        "created_at": order["created_at"],
    }
    return customer


def write_orders(
    conn: Connection, records: list[OrderRecord], result: ImportResult
) -> list[Rejected]:
    """Customers first (sparse upsert), then orders, then their lines (replaced whole),
    then the daily sales of the days the orders were on and are on now."""
    days = orders_changing(conn, [r.order["external_id"] for r in records])
    customer_ids = _write_customers(conn, [r.customer for r in records if r.customer])
    rows = []
    for r in records:
        key = r.customer["external_id"] if r.customer else None
        rows.append({**r.order, "customer_id": customer_ids.get(key) if key else None})
    upsert(conn, Order, rows)
    order_ids = id_map(conn, Order, [r["external_id"] for r in rows])
    ids = list(order_ids.values())
    for i in range(0, len(ids), _CHUNK):
        conn.execute(delete(OrderLine).where(OrderLine.order_id.in_(ids[i : i + _CHUNK])))
    lines = _link_lines(conn, records, order_ids)
    if lines:
        conn.execute(OrderLine.__table__.insert(), lines)
    refresh_sales(conn, days | {r["created_at"].date() for r in rows})
    result.rows += len(rows)
    result.add("orders", len(rows))
    result.add("order lines", len(lines))
    result.add("customers", len(customer_ids))
    return []


def _link_lines(
    conn: Connection, records: list[OrderRecord], order_ids: dict[str, int]
) -> list[dict[str, Any]]:
    all_lines = [x for r in records for x in r.lines]
    skus = find_skus(conn, [x["sku"] for x in all_lines if x["sku"]])
    products = id_map(conn, Product, [x["product_key"] for x in all_lines if x["product_key"]])
    out = []
    for r in records:
        for x in r.lines:
            variant_id, product_id = skus.get(x["sku"], (None, None))
            line = {k: v for k, v in x.items() if k != "product_key"}
            line["order_id"] = order_ids[r.order["external_id"]]
            line["variant_id"] = variant_id
            line["product_id"] = product_id or products.get(x["product_key"])
            out.append(line)
    return out


def _write_customers(conn: Connection, customers: list[dict[str, Any]]) -> dict[str, int]:
    """Upsert customers, merging repeats; a value missing from the file keeps the stored one."""
    merged: dict[str, dict[str, Any]] = {}
    for c in customers:
        known = merged.setdefault(c["external_id"], {})
        for name, value in c.items():
            if value is not None and (name != "created_at" or name not in known):
                known[name] = value
    by_shape: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for c in merged.values():
        by_shape.setdefault(tuple(sorted(c)), []).append(c)
    for shape, rows in by_shape.items():
        update = [k for k in shape if k not in ("external_id", "created_at")]
        upsert(conn, Customer, rows, update=update)
    return id_map(conn, Customer, list(merged))
