"""Writing products with their variants (shared by the Shopify and WooCommerce importers)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, delete, select

from shopmind.store.importers.common import ImportResult, Rejected
from shopmind.store.models import Product, Variant
from shopmind.store.writer import id_map, upsert

_CHUNK = 900
VARIANT_KEYS = (
    "external_id", "position", "sku", "title", "options", "price", "compare_at_price",
    "inventory", "barcode", "weight_grams", "image_url",
)  # fmt: skip


@dataclass
class ProductRecord:
    """One product and its variants, with the file rows they came from."""

    line: int
    raw: list[list[str]]
    product: dict[str, Any]
    variants: list[dict[str, Any]] = field(default_factory=list)


def roll_up(product: dict[str, Any], variants: list[dict[str, Any]]) -> None:
    """Product price = cheapest variant's (with its compare-at), inventory = their sum."""
    priced = [x for x in variants if x.get("price") is not None]
    if priced:
        cheapest = min(priced, key=lambda x: x["price"])
        product["price"] = cheapest["price"]
        product["compare_at_price"] = cheapest.get("compare_at_price")
    stock = [x["inventory"] for x in variants if x.get("inventory") is not None]
    if stock:
        product["inventory"] = sum(stock)


def variant_row(**values: Any) -> dict[str, Any]:
    """A variant row with every column present (the write path wants uniform rows)."""
    row = dict.fromkeys(VARIANT_KEYS)
    row.update(values)
    row["options"] = row["options"] or {}
    row["title"] = row["title"] or ""
    return row


def write_products(
    conn: Connection, records: list[ProductRecord], result: ImportResult
) -> list[Rejected]:
    """Upsert the products, then their variants; variants a product no longer lists go."""
    now = datetime.now(UTC).replace(tzinfo=None)
    rows = [{**r.product, "created_at": now, "updated_at": now} for r in records]
    update = [c for c in rows[0] if c not in ("external_id", "created_at")]
    upsert(conn, Product, rows, update=update)
    ids = id_map(conn, Product, [r["external_id"] for r in rows])
    variants = [
        {**v, "product_id": ids[r.product["external_id"]]} for r in records for v in r.variants
    ]
    _drop_stale_variants(conn, ids.values(), {v["external_id"] for v in variants})
    for i in range(0, len(variants), _CHUNK):
        upsert(conn, Variant, variants[i : i + _CHUNK])
    result.rows += len(rows)
    result.add("products", len(rows))
    result.add("variants", len(variants))
    return []


def _drop_stale_variants(conn: Connection, product_ids: Iterable[int], keep: set[str]) -> None:
    wanted = list(product_ids)
    stale: list[int] = []
    for i in range(0, len(wanted), _CHUNK):
        found = conn.execute(
            select(Variant.id, Variant.external_id).where(
                Variant.product_id.in_(wanted[i : i + _CHUNK])
            )
        )
        stale.extend(vid for vid, ext in found if ext not in keep)
    for i in range(0, len(stale), _CHUNK):
        conn.execute(delete(Variant).where(Variant.id.in_(stale[i : i + _CHUNK])))


def find_skus(conn: Connection, skus: Iterable[str]) -> dict[str, tuple[int, int]]:
    """SKU → (variant id, product id) for the SKUs stored; the oldest variant wins a tie."""
    wanted = list(dict.fromkeys(s for s in skus if s))
    found: dict[str, tuple[int, int]] = {}
    for i in range(0, len(wanted), _CHUNK):
        rows = conn.execute(
            select(Variant.sku, Variant.id, Variant.product_id)
            .where(Variant.sku.in_(wanted[i : i + _CHUNK]))
            .order_by(Variant.id.desc())
        )
        found.update((sku, (vid, pid)) for sku, vid, pid in rows)
    return found
