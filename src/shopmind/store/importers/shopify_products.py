"""Shopify product CSV: variant rows grouped by ``Handle``, product fields on the first row.

Reads both the long-standing export headers (``Handle``, ``Body (HTML)``, ``Variant SKU``,
``Variant Price``, ``Image Src`` …) and the newer ones (``URL handle``, ``Description``,
``SKU``, ``Price``, ``Inventory quantity``, ``Product image URL`` …).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from shopmind.store.db import Store
from shopmind.store.importers.catalog import ProductRecord, roll_up, variant_row, write_products
from shopmind.store.importers.common import (
    ImportResult,
    Options,
    Rejected,
    RejectSink,
    RowError,
    load,
)
from shopmind.store.importers.reading import Columns, CsvTable, F, Row
from shopmind.store.importers.text import html_to_text
from shopmind.store.importers.values import split_list

FIELDS = [
    F("handle", "Handle", "URL handle", required=True),
    F("title", "Title", required=True),
    F("body", "Body (HTML)", "Body HTML", "Description"),
    F("vendor", "Vendor"),
    F("category", "Product Category", "Category"),
    F("type", "Type", "Product Type"),
    F("tags", "Tags"),
    F("published", "Published", "Published on online store"),
    F("status", "Status"),
    *(F(f"option{n}_name", f"Option{n} Name") for n in (1, 2, 3)),
    *(F(f"option{n}_value", f"Option{n} Value") for n in (1, 2, 3)),
    F("sku", "Variant SKU", "SKU"),
    F("grams", "Variant Grams", "Weight value (grams)"),
    F("qty", "Variant Inventory Qty", "Inventory quantity", "Inventory Qty"),
    F("price", "Variant Price", "Price"),
    F("compare_at", "Variant Compare At Price", "Compare-at price", "Compare At Price"),
    F("barcode", "Variant Barcode", "Barcode"),
    F("image", "Image Src", "Product image URL", "Image URL"),
    F("image_position", "Image Position"),
    F("variant_image", "Variant Image", "Variant image URL"),
    F("seo_title", "SEO Title"),
    F("seo_description", "SEO Description"),
]
# A row that fills none of these is an image-only row, not a variant.
_VARIANT_FIELDS = ("sku", "price", "option1_value", "qty", "compare_at", "barcode")


def import_products(store: Store, opts: Options) -> ImportResult:
    table = CsvTable(opts.path)
    cols = table.columns(FIELDS, opts.mapping)
    result = ImportResult("shopify-products", opts.path)
    rejects = RejectSink(opts.reject_path, table.header, table.delimiter)
    items = _products(table, cols, opts.currency)
    return load(
        store, opts, result, items, lambda c, b: write_products(c, b, result), rejects,
        lambda: table.rows_read,
    )  # fmt: skip


def _groups(table: CsvTable, cols: Columns) -> Iterator[list[Row] | Rejected]:
    """Consecutive rows sharing a handle; a handle seen again later is refused."""
    seen: dict[str, int] = {}
    group: list[Row] = []
    for line, values in table:
        row = Row(line, values, cols)
        handle = row.get("handle")
        if group and handle == group[0].get("handle"):
            group.append(row)
            continue
        if group:
            yield group
            group = []
        if not handle:
            yield Rejected(row.line, cols.label("handle"), "is empty", [row.values])
        elif handle in seen:
            message = (
                f"rows of handle {handle!r} must be together (first seen on line {seen[handle]})"
            )
            yield Rejected(row.line, cols.label("handle"), message, [row.values])
        else:
            seen[handle] = row.line
            group = [row]
    if group:
        yield group


def _products(table: CsvTable, cols: Columns, currency: str) -> Iterator[ProductRecord | Rejected]:
    skus: set[str] = set()
    for group in _groups(table, cols):
        if isinstance(group, Rejected):
            yield group
            continue
        try:
            yield _product(group, currency, skus)
        except _GroupError as exc:
            raw = [r.values for r in group]
            yield Rejected(exc.line, exc.field, exc.message, raw)


class _GroupError(RowError):
    def __init__(self, line: int, error: RowError) -> None:
        super().__init__(error.field, error.message)
        self.line = line


def _product(group: list[Row], currency: str, skus: set[str]) -> ProductRecord:
    first = group[0]
    try:
        product = _product_fields(first, currency)
    except RowError as exc:
        raise _GroupError(first.line, exc) from None
    names = [first.get(f"option{n}_name") for n in (1, 2, 3)]
    variants: list[dict[str, Any]] = []
    images: list[tuple[int, str]] = []
    keys: set[str] = set()
    for row in group:
        try:
            row.check()
            if row.get("image"):
                images.append((row.integer("image_position") or len(images) + 1, row.get("image")))
            if any(row.get(f) for f in _VARIANT_FIELDS):
                variants.append(_variant(row, names, len(variants) + 1, keys, skus))
        except RowError as exc:
            raise _GroupError(row.line, exc) from None
    if images:
        product["image_url"] = min(images)[1][:2048]
    product["attributes"] = _option_values(variants)
    roll_up(product, variants)
    return ProductRecord(first.line, [r.values for r in group], product, variants)


def _product_fields(row: Row, currency: str) -> dict[str, Any]:
    body = row.get("body")
    category = row.text("category", 512)
    product_type = row.text("type")
    return {
        "external_id": row.text("handle", required=True),
        "title": row.text("title", 512, required=True),
        "description": html_to_text(body),
        "description_html": body,
        "brand": row.text("vendor"),
        "category": category or product_type,
        "product_type": product_type,
        "price": None,
        "compare_at_price": None,
        "currency": currency,
        "inventory": None,
        "tags": split_list(row.get("tags")),
        "seo_title": row.text("seo_title", 512),
        "seo_description": row.text("seo_description", 10_000),
        "image_url": None,
        "status": _status(row),
        "source": "shopify",
    }


def _status(row: Row) -> str:
    status = row.get("status").lower()
    if status:
        if len(status) > 32:
            raise row.fail("status", "longer than 32 characters")
        return status
    published = row.flag("published")
    return "draft" if published is False else "active"


def _variant(
    row: Row, names: list[str], position: int, keys: set[str], skus: set[str]
) -> dict[str, Any]:
    handle = row.get("handle")
    options = {}
    for n, name in enumerate(names, start=1):
        value = row.text(f"option{n}_value")
        if name and value and name != "Title":
            options[name] = value
    values = [row.get(f"option{n}_value") for n in (1, 2, 3) if row.get(f"option{n}_value")]
    option_key = f"{handle}:{'/'.join(values) or position}"
    if option_key in keys:
        raise row.fail("option1_value", f"the same options appear twice for {handle!r}")
    keys.add(option_key)
    sku = row.text("sku")
    external_id = sku if sku and sku not in skus else option_key  # Shopify allows shared SKUs
    if sku:
        skus.add(sku)
    return variant_row(
        external_id=external_id[:255],
        position=position,
        sku=sku,
        title=" / ".join(values)[:512],
        options=options,
        price=row.money("price", required=True),
        compare_at_price=row.money("compare_at"),
        inventory=row.integer("qty"),
        barcode=row.text("barcode", 64),
        weight_grams=row.money("grams"),
        image_url=row.text("variant_image", 2048),
    )


def _option_values(variants: list[dict[str, Any]]) -> dict[str, list[str]]:
    """{"Size": ["S", "M"], "Color": ["Red"]} in the order the variants give them."""
    out: dict[str, list[str]] = {}
    for variant in variants:
        for name, value in variant["options"].items():
            values = out.setdefault(name, [])
            if value not in values:
                values.append(value)
    return out
