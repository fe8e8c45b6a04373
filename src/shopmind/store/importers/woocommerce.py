"""WooCommerce's built-in product CSV export.

``Type`` says what a row is: ``variable`` products own ``variation`` rows (linked by
``Parent``: ``id:123`` or the parent's SKU); ``simple`` (and ``external``) products get
one variant. A sale price becomes the price, with the regular price as compare-at.
Product key: ``woo:<ID>`` (or the SKU when there is no ID); variant key: ``<product key>:<SKU>``,
or ``<product key>:id:<ID>`` without a SKU.
The file is read whole (catalogs are small) since variations may come before parents.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
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
from shopmind.store.importers.common import ImportResult, Options, Rejected, RowError, import_csv
from shopmind.store.importers.reading import Columns, CsvTable, F, Field, Row, key
from shopmind.store.importers.values import MAX_MONEY, split_list

FIELDS = [
    F("id", "ID"),
    F("type", "Type", required=True),
    F("sku", "SKU"),
    F("name", "Name", required=True),
    F("published", "Published"),
    F("short", "Short description"),
    F("description", "Description"),
    F("regular", "Regular price", required=True),
    F("sale", "Sale price"),
    F("categories", "Categories"),
    F("tags", "Tags"),
    F("brands", "Brands"),
    F("stock", "Stock"),
    F("parent", "Parent"),
    F("images", "Images"),
    F("gtin", "GTIN, UPC, EAN, or ISBN", "GTIN"),
    F("position", "Position"),
    F("weight_kg", "Weight (kg)"),
    F("weight_g", "Weight (g)"),
    F("weight_lbs", "Weight (lbs)"),
    F("weight_oz", "Weight (oz)"),
]
_GRAMS = {"weight_kg": 1000.0, "weight_g": 1.0, "weight_lbs": 453.59237, "weight_oz": 28.349523}
_ATTRIBUTE = re.compile(r"attribute(\d+)(name|values?)")


@dataclass
class _Item:
    row: Row
    kind: str  # "parent", "variation" or "simple"
    product: dict[str, Any] | None = None
    variant: dict[str, Any] | None = None
    variant_part: str = ""  # what follows the product key in the variant key
    children: list[_Item] = field(default_factory=list)
    error: Rejected | None = None


def import_products(store: Store, opts: Options) -> ImportResult:
    def records(table: CsvTable, cols: Columns) -> Iterator[ProductRecord | Rejected]:
        return _records(table, cols, opts.currency)

    return import_csv(store, opts, "woocommerce-products", _fields, records, write_products)


def _fields(header: list[str]) -> list[Field]:
    """FIELDS and the ``Attribute N name`` / ``Attribute N value(s)`` pairs the header has."""
    numbers = sorted({int(m.group(1)) for h in header if (m := _ATTRIBUTE.fullmatch(key(h)))})
    return FIELDS + [
        f
        for n in numbers
        for f in (
            F(f"attr{n}_name", f"Attribute {n} name"),
            F(f"attr{n}_value", f"Attribute {n} value(s)", f"Attribute {n} value"),
        )
    ]


def _records(table: CsvTable, cols: Columns, currency: str) -> Iterator[ProductRecord | Rejected]:
    attrs = sorted(int(n[4:-5]) for n in cols.index if n.startswith("attr") and n.endswith("_name"))
    tops: list[_Item] = []
    index: dict[str, _Item] = {}
    variations: list[_Item] = []
    for line, values in table:
        item = _parse(Row(line, values, cols), attrs, currency, index)
        (variations if item.kind == "variation" else tops).append(item)
    for item in variations:
        orphan = _attach(item, index)
        if orphan is not None:
            yield orphan
    for item in tops:
        yield _record(item)


def _parse(row: Row, attrs: list[int], currency: str, index: dict[str, _Item]) -> _Item:
    kinds = {k.strip() for k in row.get("type").lower().split(",")}
    kind = "variation" if "variation" in kinds else "parent" if "variable" in kinds else "simple"
    item = _Item(row, kind)
    try:
        row.check()
        woo_id, sku = row.text("id", 64), row.text("sku")
        if not woo_id and not sku:
            raise row.fail("sku", "a row needs an ID or a SKU")
        for ref, label in ((f"id:{woo_id}" if woo_id else None, "id"), (sku, "sku")):
            if ref and ref in index:
                raise row.fail(label, f"duplicate {ref!r} (also on line {index[ref].row.line})")
            if ref:
                index[ref] = item
        if kind != "variation":
            item.product = _product(row, attrs, currency, f"woo:{woo_id}" if woo_id else sku)
        if kind != "parent" and "grouped" not in kinds:
            item.variant = _variant(row, attrs, kind)
            item.variant_part = sku or f"id:{woo_id}"
    except RowError as exc:
        item.error = Rejected(row.line, exc.field, exc.message, [row.values])
    return item


def _attach(item: _Item, index: dict[str, _Item]) -> Rejected | None:
    """Put a variation under its parent; a variation without one is refused."""
    ref = item.row.get("parent")
    parent = (index.get(ref) or index.get(f"id:{ref}")) if ref else None
    if parent is None or parent.kind != "parent":
        what = "is empty" if not ref else f"no variable product {ref!r} in this file"
        label = item.row.cols.label("parent")
        return item.error or Rejected(item.row.line, label, what, [item.row.values])
    parent.children.append(item)
    return None


def _record(item: _Item) -> ProductRecord | Rejected:
    group = [item, *item.children]
    raw = [x.row.values for x in group]
    bad = next((x.error for x in group if x.error), None)
    if bad is not None:
        return Rejected(bad.line, bad.field, bad.message, raw)
    assert item.product is not None
    product = item.product
    record = ProductRecord(item.row.line, raw, product, sku_field=item.row.cols.label("sku"))
    for x in group:
        if x.variant is not None:
            x.variant["external_id"] = variant_key(product["external_id"], x.variant_part)
            x.variant["position"] = x.variant["position"] or len(record.variants) + 1
            record.variants.append(x.variant)
            record.lines.append(x.row.line)
    if item.kind == "parent":
        roll_up(product, record.variants)
    return record


def _product(row: Row, attrs: list[int], currency: str, external_id: str) -> dict[str, Any]:
    description_html = row.get("description").replace("\\n", "\n")
    short = row.get("short").replace("\\n", "\n")
    price, compare = _prices(row)
    return {
        "external_id": external_id,
        "title": row.plain("name", 512, required=True),
        "description": html_to_text(description_html) or html_to_text(short),
        "description_html": description_html or short,  # sanitize_html before showing
        "brand": next(iter(row.plain_list("brands")), "")[:255] or None,
        "category": _category(row),
        "product_type": None,
        "price": price,
        "compare_at_price": compare,
        "currency": currency,
        "inventory": row.integer("stock"),
        "attributes": {name: split_list(value) for name, value in _attributes(row, attrs)},
        "tags": row.plain_list("tags"),
        "seo_title": None,
        "seo_description": None,
        "image_url": _first_image(row),
        "status": "draft" if row.flag("published") is False else "active",
        "source": "woocommerce",
    }


def _variant(row: Row, attrs: list[int], kind: str) -> dict[str, Any]:
    price, compare = _prices(row)
    options = dict(_attributes(row, attrs)) if kind == "variation" else {}
    name = row.plain("name", 512) if kind == "variation" else ""
    return variant_row(
        position=row.integer("position"),
        sku=row.text("sku"),
        title=(" / ".join(options.values()) or name or "")[:512],
        options=options,
        price=price,
        compare_at_price=compare,
        inventory=row.integer("stock"),
        barcode=row.text("gtin", 64),
        weight_grams=_grams(row),
        image_url=_first_image(row),
    )


def _prices(row: Row) -> tuple[float | None, float | None]:
    regular, sale = row.money("regular"), row.money("sale")
    if sale is not None and (regular is None or sale < regular):
        return sale, regular
    return regular, None


def _attributes(row: Row, attrs: list[int]) -> Iterator[tuple[str, str]]:
    """(name, value as plain text) of each attribute the row fills."""
    for n in attrs:
        name, value = one_line(row.get(f"attr{n}_name")), one_line(row.get(f"attr{n}_value"))
        if name and value:
            yield name[:255], value


def _plain_list(text: str) -> list[str]:
    return list(dict.fromkeys(item for item in map(one_line, split_list(text)) if item))


def _category(row: Row) -> str | None:
    """The deepest category path, as plain text (``Kitchen & Dining > Mills``)."""
    paths = [
        " > ".join(p.strip() for p in c.split(">")) for c in _plain_list(row.get("categories"))
    ]
    if not paths:
        return None
    deepest = max(paths, key=lambda p: p.count(">"))
    if len(deepest) > 512:
        raise row.fail("categories", "longer than 512 characters")
    return deepest


def _first_image(row: Row) -> str | None:
    images = split_list(row.get("images"))
    return images[0][:2048] if images else None


def _grams(row: Row) -> float | None:
    for name, factor in _GRAMS.items():
        value = row.number(name)
        if value is not None:
            if not 0 <= value * factor <= MAX_MONEY:
                raise row.fail(name, f"out of range: {row.get(name)!r}")
            return round(value * factor, 2)
    return None
