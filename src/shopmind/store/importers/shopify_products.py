"""Shopify product CSV: variant rows grouped by ``Handle``, product fields on the first row.

Reads both the long-standing export headers (``Handle``, ``Body (HTML)``, ``Variant SKU``,
``Variant Price``, ``Image Src`` …) and the newer ones (``URL handle``, ``Description``,
``SKU``, ``Price``, ``Inventory quantity``, ``Product image URL`` …).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from shopmind.safety import html_to_text, one_line
from shopmind.store.db import Store
from shopmind.store.importers.catalog import (
    ProductRecord,
    roll_up,
    variant_key,
    variant_row,
    write_products,
)
from shopmind.store.importers.common import (
    ImportResult,
    Options,
    Rejected,
    RowError,
    group_consecutive,
    import_csv,
)
from shopmind.store.importers.reading import Columns, CsvTable, F, Row

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
    def records(table: CsvTable, cols: Columns) -> Iterator[ProductRecord | Rejected]:
        return _products(table, cols, opts.currency)

    return import_csv(store, opts, "shopify-products", FIELDS, records, write_products)


def _products(table: CsvTable, cols: Columns, currency: str) -> Iterator[ProductRecord | Rejected]:
    rows = (Row(line, values, cols) for line, values in table)
    for group in group_consecutive(rows, "handle", "handle"):
        if isinstance(group, Rejected):
            yield group
            continue
        try:
            yield _product(group, currency)
        except _GroupError as exc:
            raw = [r.values for r in group]
            yield Rejected(exc.line, exc.field, exc.message, raw)


class _GroupError(RowError):
    def __init__(self, line: int, error: RowError) -> None:
        super().__init__(error.field, error.message)
        self.line = line


def _product(group: list[Row], currency: str) -> ProductRecord:
    first = group[0]
    try:
        product = _product_fields(first, currency)
    except RowError as exc:
        raise _GroupError(first.line, exc) from None
    names = [one_line(first.get(f"option{n}_name")) for n in (1, 2, 3)]
    record = ProductRecord(first.line, [r.values for r in group], product)
    record.sku_field = first.cols.label("sku")
    images: list[tuple[int, str]] = []
    option_texts: set[str] = set()
    keys: set[str] = set()
    for row in group:
        try:
            row.check()
            if row.get("image"):
                images.append((row.integer("image_position") or len(images) + 1, row.get("image")))
            if any(row.get(f) for f in _VARIANT_FIELDS):
                record.variants.append(
                    _variant(row, names, len(record.variants) + 1, option_texts, keys)
                )
                record.lines.append(row.line)
        except RowError as exc:
            raise _GroupError(row.line, exc) from None
    if images:
        product["image_url"] = min(images)[1][:2048]
    product["attributes"] = _option_values(record.variants)
    roll_up(product, record.variants)
    return record


def _product_fields(row: Row, currency: str) -> dict[str, Any]:
    body = row.get("body")
    category = row.plain("category", 512)
    product_type = row.plain("type")
    return {
        "external_id": row.text("handle", required=True),
        "title": row.plain("title", 512, required=True),
        "description": html_to_text(body),
        "description_html": body,  # HTML as the shop has it: sanitize_html before showing
        "brand": row.plain("vendor"),
        "category": category or product_type,
        "product_type": product_type,
        "price": None,
        "compare_at_price": None,
        "currency": currency,
        "inventory": None,
        "tags": row.plain_list("tags"),
        "seo_title": row.plain("seo_title", 512),
        "seo_description": row.plain("seo_description", 10_000),
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
    row: Row, names: list[str], position: int, option_texts: set[str], keys: set[str]
) -> dict[str, Any]:
    handle = row.get("handle")
    options = {}
    shown = []
    for n, name in enumerate(names, start=1):
        value = row.plain(f"option{n}_value")
        if value:
            shown.append(value)
        if name and value and name != "Title":
            options[name] = value
    # The key part is the values as written, so keys stay those of earlier imports.
    values = [row.get(f"option{n}_value") for n in (1, 2, 3) if row.get(f"option{n}_value")]
    option_text = "/".join(values) or str(position)
    if option_text in option_texts:
        raise row.fail("option1_value", f"the same options appear twice for {handle!r}")
    option_texts.add(option_text)
    sku = row.text("sku")
    external_id = _variant_key(row, handle, sku, option_text, keys)
    return variant_row(
        external_id=external_id,
        position=position,
        sku=sku,
        title=" / ".join(shown)[:512],
        options=options,
        price=row.money("price", required=True),
        compare_at_price=row.money("compare_at"),
        inventory=row.integer("qty"),
        barcode=row.text("barcode", 64),
        weight_grams=row.money("grams"),
        image_url=row.text("variant_image", 2048),
    )


def _variant_key(row: Row, handle: str, sku: str | None, option_text: str, keys: set[str]) -> str:
    """``handle:SKU``; ``handle:Value1/Value2`` (``handle:N`` without options) when the SKU
    is empty or already used by this product (Shopify allows shared SKUs)."""
    key = variant_key(handle, sku) if sku else None
    if key is None or key in keys:
        key = variant_key(handle, option_text)
    if key in keys:
        raise row.fail("sku", f"variant key {key!r} is used twice in {handle!r}")
    keys.add(key)
    return key


def _option_values(variants: list[dict[str, Any]]) -> dict[str, list[str]]:
    """{"Size": ["S", "M"], "Color": ["Red"]} in the order the variants give them."""
    out: dict[str, list[str]] = {}
    for variant in variants:
        for name, value in variant["options"].items():
            values = out.setdefault(name, [])
            if value not in values:
                values.append(value)
    return out
