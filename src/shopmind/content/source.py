"""The products copy is written for: from the store, or from a JSON Lines file of
products that need not be in the store (``{"id", "title", "attributes": {...}}`` a line).

Either way a product becomes the same plain dict the prompts and the fact guard read:
``id``, ``title``, ``description`` (plain text: a shop's HTML is converted), ``brand``,
``category``, ``attributes``, ``options`` (variant option values), ``price``, ``currency``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from shopmind.safety.text import html_to_text
from shopmind.store.db import Store
from shopmind.store.models import Product

MAX_LINE_CHARS = 200_000
_TEXT_KEYS = ("title", "description", "brand", "category", "currency")


class ProductsFileError(ValueError):
    """A products file that cannot be read; the message names the file, line and field."""


def product_dict(product: Product) -> dict[str, Any]:
    """A stored product as the content studio reads it."""
    description = product.description or html_to_text(product.description_html or "")
    options: dict[str, list[str]] = {}
    for variant in product.variants:
        for name, value in (variant.options or {}).items():
            values = options.setdefault(str(name), [])
            if value not in (None, "") and str(value) not in values:
                values.append(str(value))
    return {
        "id": product.external_id,
        "product_id": product.id,
        "title": product.title,
        "description": description,
        "brand": product.brand or "",
        "category": product.category or "",
        "attributes": dict(product.attributes or {}),
        "options": options,
        "price": product.price,
        "currency": product.currency,
    }


def _query() -> Any:
    return select(Product).options(selectinload(Product.variants))


def store_product(store: Store, ref: str) -> dict[str, Any]:
    """A stored product by its external id (its handle or the shop's id), or by
    ``#<number>`` for shopmind's own id; ``LookupError`` naming ``ref`` when unknown."""
    with store.session() as s:
        if ref.startswith("#") and ref[1:].isdigit():
            found = s.scalars(_query().where(Product.id == int(ref[1:]))).first()
        else:
            found = s.scalars(_query().where(Product.external_id == ref)).first()
        if found is None:
            raise LookupError(f"no product {ref!r} in the store (an external id, or #<id>)")
        return product_dict(found)


def store_products(store: Store, batch: int = 200) -> Iterator[dict[str, Any]]:
    """Every active product, in id order, read ``batch`` at a time."""
    last = 0
    while True:
        with store.session() as s:
            rows = list(
                s.scalars(
                    _query()
                    .where(Product.id > last, Product.status == "active")
                    .order_by(Product.id)
                    .limit(batch)
                )
            )
            found = [product_dict(p) for p in rows]
        if not found:
            return
        last = found[-1]["product_id"]
        yield from found


def _checked(raw: Any, where: str) -> dict[str, Any]:
    if not isinstance(raw, Mapping):
        raise ProductsFileError(f"{where}: a product must be a JSON object")
    product_id = raw.get("id")
    if not isinstance(product_id, (str, int)) or isinstance(product_id, bool) or product_id == "":
        raise ProductsFileError(f"{where}: field 'id' must be a non-empty string or number")
    out: dict[str, Any] = {"id": str(product_id)}
    for key in _TEXT_KEYS:
        value = raw.get(key)
        if value is None:
            continue
        if not isinstance(value, str):
            raise ProductsFileError(f"{where}: field {key!r} must be a string")
        out[key] = html_to_text(value) if key == "description" and "<" in value else value
    if not out.get("title"):
        raise ProductsFileError(f"{where}: field 'title' is required")
    for key in ("attributes", "options"):
        value = raw.get(key, {})
        if not isinstance(value, Mapping):
            raise ProductsFileError(f"{where}: field {key!r} must be an object")
        out[key] = dict(value)
    price = raw.get("price")
    if price is not None and (isinstance(price, bool) or not isinstance(price, (int, float))):
        raise ProductsFileError(f"{where}: field 'price' must be a number")
    out["price"] = price
    return out


def file_products(path: str | Path) -> list[dict[str, Any]]:
    """The products of a JSON Lines file, all checked before any is used: a broken line
    is an error naming the file, the line and the field."""
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise ProductsFileError(f"{path}: cannot read it: {exc}") from None
    out = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        where = f"{path}, line {number}"
        if len(line) > MAX_LINE_CHARS:
            raise ProductsFileError(f"{where}: longer than {MAX_LINE_CHARS:,} characters")
        try:
            raw = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ProductsFileError(f"{where}: not JSON: {exc.msg}") from None
        out.append(_checked(raw, where))
    if not out:
        raise ProductsFileError(f"{path}: no products")
    return out
