"""Writing products with their variants (shared by the Shopify and WooCommerce importers).

A variant's key is ``<product key>:<SKU>`` (or another per-product part where the SKU is
missing), so products sharing a SKU keep separate variants and a variant never moves to
another product: a product listing a key another product's variant holds is refused.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, delete, select

from shopmind.store.importers.common import ImportResult, Rejected
from shopmind.store.models import Product, Variant
from shopmind.store.writer import id_map, upsert

_CHUNK = 900
_KEY_LIMIT = 255  # variants.external_id
VARIANT_KEYS = (
    "external_id", "position", "sku", "title", "options", "price", "compare_at_price",
    "inventory", "barcode", "weight_grams", "image_url",
)  # fmt: skip


@dataclass
class ProductRecord:
    """One product and its variants, with the file rows they came from: ``lines[i]`` is
    the line of ``variants[i]``, ``sku_field`` the SKU column as the file names it."""

    line: int
    raw: list[list[str]]
    product: dict[str, Any]
    variants: list[dict[str, Any]] = field(default_factory=list)
    lines: list[int] = field(default_factory=list)
    sku_field: str = "sku"


def variant_key(product_key: str, part: str) -> str:
    """``<product key>:<part>``; a key longer than the column allows ends in its own hash."""
    key = f"{product_key}:{part}"
    if len(key) <= _KEY_LIMIT:
        return key
    digest = hashlib.blake2b(key.encode(), digest_size=16).hexdigest()
    return f"{key[: _KEY_LIMIT - len(digest) - 1]}~{digest}"


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
    """Upsert the products, then their variants; variants a product no longer lists go.

    A product listing a variant key that another product's variant holds is refused.
    """
    records, rejected = _own_variants_only(conn, records)
    if not records:
        return rejected
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
    return rejected


def _own_variants_only(
    conn: Connection, records: list[ProductRecord]
) -> tuple[list[ProductRecord], list[Rejected]]:
    """Split off the records naming a variant key that belongs to another product, in the
    store or earlier in this batch."""
    owners = _variant_owners(conn, [v["external_id"] for r in records for v in r.variants])
    keep: list[ProductRecord] = []
    rejected: list[Rejected] = []
    for record in records:
        mine = record.product["external_id"]
        keys = [v["external_id"] for v in record.variants]
        clash = next((i for i, k in enumerate(keys) if owners.get(k, mine) != mine), None)
        if clash is None:
            owners.update(dict.fromkeys(keys, mine))
            keep.append(record)
            continue
        key = keys[clash]
        message = (
            f"variant key {key!r} belongs to product {owners[key]!r}; "
            "a variant never moves to another product"
        )
        rejected.append(Rejected(record.lines[clash], record.sku_field, message, record.raw))
    return keep, rejected


def _variant_owners(conn: Connection, keys: list[str]) -> dict[str, str]:
    """Stored variant key → its product's key."""
    owners: dict[str, str] = {}
    for i in range(0, len(keys), _CHUNK):
        found = conn.execute(
            select(Variant.external_id, Product.external_id)
            .join(Product, Variant.product_id == Product.id)
            .where(Variant.external_id.in_(keys[i : i + _CHUNK]))
        )
        owners.update(found.all())
    return owners


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
    """SKU → (variant id, product id) for the SKUs stored. Where several variants share a
    SKU (across products or platforms), the one stored first (lowest id) is chosen."""
    wanted = list(dict.fromkeys(s for s in skus if s))
    found: dict[str, tuple[int, int]] = {}
    for i in range(0, len(wanted), _CHUNK):
        rows = conn.execute(
            select(Variant.sku, Variant.id, Variant.product_id)
            .where(Variant.sku.in_(wanted[i : i + _CHUNK]))
            .order_by(Variant.id)
        )
        for sku, vid, pid in rows:
            found.setdefault(sku, (vid, pid))
    return found
