"""Content exports: approved copy out to the shop and to Google Merchant Center.

Only drafts a person approved leave shopmind (``shopmind.store.content``: one approved
draft per product, task and language). Three files:

- :func:`shopify_csv` — a Shopify product CSV that updates ``Body (HTML)``, ``SEO Title``
  and ``SEO Description`` by ``Handle``: one row per product with an approved
  ``product-description`` or ``seo`` draft, the product's stored copy where the other is
  not approved. Cells a spreadsheet would run as a formula are neutralised
  (``shopmind.safety.spreadsheet``) unless ``raw``.
- :func:`google_merchant_tsv` and :func:`google_merchant_xml` — a Merchant Center product
  feed of the active products, text or RSS 2.0 with the ``g`` namespace. An approved
  ``merchant-feed`` draft goes in ``structured_title`` / ``structured_description``
  marked ``trained_algorithmic_media`` *instead of* ``title`` / ``description`` (Google:
  "use one of" them); without one, the merchant's own text goes in ``title`` /
  ``description``. A product Merchant Center would refuse (no price, image or
  description, an id over 50 characters) is left out and named in
  :attr:`ExportResult.skipped`.

Every text is cleaned of control characters, lone surrogates and the two code points XML
cannot carry, and cut to Merchant Center's limits (title 150, description 5,000
characters). Documented in docs/exports.md.
"""

from __future__ import annotations

import csv
import io
import os
import unicodedata
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import IO, Any
from urllib.parse import quote, urlsplit

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from shopmind.content.counting import code_points
from shopmind.content.repair import trim_to
from shopmind.safety import html_to_text, remove_controls, safe_writer
from shopmind.store import content as drafts
from shopmind.store.db import Store
from shopmind.store.models import Product

LANGUAGES = ("en", "zh")
FORMATS = ("shopify-csv", "gmc-tsv", "gmc-xml")
SHOPIFY_COLUMNS = ("Handle", "Title", "Body (HTML)", "SEO Title", "SEO Description")
GOOGLE_NS = "http://base.google.com/ns/1.0"
AI_SOURCE = "trained_algorithmic_media"  # digital_source_type of generative-AI text
GMC_COLUMNS = (
    "id", "title", "structured_title", "description", "structured_description", "link",
    "image_link", "availability", "price", "sale_price", "brand", "gtin", "mpn", "condition",
    "product_type",
)  # fmt: skip
STRUCTURED = frozenset({"structured_title", "structured_description"})
TITLE_LIMIT, DESCRIPTION_LIMIT, ID_LIMIT = 150, 5000, 50
CONDITIONS = frozenset({"new", "refurbished", "used"})
_BATCH = 500
_NOT_XML = str.maketrans("", "", "\ufffe\uffff")  # outside XML 1.0's Char production

Out = str | os.PathLike[str] | IO[Any]
"""A file path, or an open stream: text for CSV and TSV, binary for XML."""


@dataclass(frozen=True)
class Skipped:
    product: str
    reason: str


@dataclass
class ExportResult:
    """What an export wrote: ``written`` rows or items, and the products left out."""

    format: str
    written: int = 0
    skipped: list[Skipped] = field(default_factory=list)


@dataclass(frozen=True)
class _Product:
    key: str
    title: str
    description: str  # plain text
    description_html: str
    brand: str
    category: str
    price: float | None
    compare_at_price: float | None
    currency: str
    inventory: int | None
    attributes: dict[str, Any]
    seo_title: str
    seo_description: str
    images: tuple[str, ...]  # the product's image, then its variants'
    barcodes: tuple[str, ...]  # one per variant ("" where it has none)


# --- reading --------------------------------------------------------------------------------


def approved_copy(store: Store, task: str, language: str) -> dict[str, dict[str, Any]]:
    """Product key → the fields of its approved ``task`` draft in ``language``."""
    check_language(language)
    return {d.product_key: d.fields for d in drafts.approved_for(store, task)
            if d.language == language}  # fmt: skip


def check_language(language: str) -> None:
    if language not in LANGUAGES:
        raise ValueError(f"language {language!r} is not one of {', '.join(LANGUAGES)}")


def _product(p: Product) -> _Product:
    variants = list(p.variants)
    return _Product(
        key=p.external_id,
        title=p.title or "",
        description=p.description or html_to_text(p.description_html or ""),
        description_html=p.description_html or "",
        brand=p.brand or "",
        category=p.category or "",
        price=p.price,
        compare_at_price=p.compare_at_price,
        currency=(p.currency or "USD").upper(),
        inventory=p.inventory,
        attributes=dict(p.attributes or {}),
        seo_title=p.seo_title or "",
        seo_description=p.seo_description or "",
        images=tuple(u for u in (p.image_url, *(v.image_url for v in variants)) if u),
        barcodes=tuple(v.barcode or "" for v in variants),
    )


def _by_keys(store: Store, keys: list[str]) -> dict[str, _Product]:
    """The stored products among ``keys``, by key, whatever their status."""
    found: dict[str, _Product] = {}
    query = select(Product).options(selectinload(Product.variants))
    for i in range(0, len(keys), _BATCH):
        with store.session() as s:
            rows = s.scalars(query.where(Product.external_id.in_(keys[i : i + _BATCH])))
            found.update((p.external_id, _product(p)) for p in rows)
    return found


def _active(store: Store) -> Iterator[_Product]:
    """The active products in id order, read a batch at a time."""
    query = select(Product).options(selectinload(Product.variants))
    last = 0
    while True:
        with store.session() as s:
            rows = list(
                s.scalars(
                    query.where(Product.id > last, Product.status == "active")
                    .order_by(Product.id)
                    .limit(_BATCH)
                )
            )
            if not rows:
                return
            last = rows[-1].id
            batch = [_product(p) for p in rows]
        yield from batch


# --- text -----------------------------------------------------------------------------------


def clean(text: str) -> str:
    """NFC text without control characters (tab and line breaks stay), lone surrogates,
    invisible format characters, U+FFFE or U+FFFF: what any XML 1.0 parser accepts."""
    return unicodedata.normalize("NFC", remove_controls(text)).translate(_NOT_XML).strip()


def one_line(text: str) -> str:
    return " ".join(clean(text).split())


def fit(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters at a word boundary (mid-word only where one
    word is longer than the limit)."""
    return trim_to(text, limit, code_points) or unicodedata.normalize("NFC", text)[:limit]


@contextmanager
def _text_out(out: Out) -> Iterator[IO[str]]:
    if isinstance(out, str | os.PathLike):
        with open(out, "w", encoding="utf-8", newline="") as fh:
            yield fh
    else:
        yield out


# --- Shopify --------------------------------------------------------------------------------


def shopify_csv(store: Store, out: Out, language: str = "en", *, raw: bool = False) -> ExportResult:
    """A Shopify product CSV (``SHOPIFY_COLUMNS``) of the products with an approved
    ``product-description`` (→ ``Body (HTML)``, its ``html``) or ``seo`` draft (→ ``SEO
    Title`` / ``SEO Description``) in ``language``; the other columns carry the product's
    stored copy, so they change nothing. A draft whose product is not in the store is
    skipped. UTF-8, comma-separated, formula cells neutralised unless ``raw``."""
    bodies = approved_copy(store, "product-description", language)
    seo = approved_copy(store, "seo", language)
    keys = sorted(set(bodies) | set(seo))
    products = _by_keys(store, keys)
    result = ExportResult("shopify-csv")
    with _text_out(out) as fh:
        writer = safe_writer(fh, raw=raw, lineterminator="\n")
        writer.writerow(SHOPIFY_COLUMNS)
        for key in keys:
            product = products.get(key)
            if product is None:
                result.skipped.append(Skipped(key, "not in the store"))
                continue
            writer.writerow(_shopify_row(product, bodies.get(key), seo.get(key)))
            result.written += 1
    return result


def _shopify_row(p: _Product, body: dict[str, Any] | None, seo: dict[str, Any] | None) -> list[str]:
    html = clean(str(body.get("html") or "")) if body else ""
    seo_title = one_line(str(seo.get("title") or "")) if seo else ""
    seo_description = one_line(str(seo.get("meta_description") or "")) if seo else ""
    return [
        p.key,
        p.title,
        html or clean(p.description_html or p.description),
        seo_title or p.seo_title,
        seo_description or p.seo_description,
    ]


# --- Google Merchant Center -----------------------------------------------------------------


def shop_link(shop_url: str, handle: str) -> str:
    """The product page: ``shop_url`` with ``{handle}`` filled in, or, without that
    placeholder, ``<shop_url>/products/<handle>`` (Shopify's product URLs)."""
    part = quote(handle, safe="")
    if "{handle}" in shop_url:
        return shop_url.replace("{handle}", part)
    return f"{shop_url.rstrip('/')}/products/{part}"


def check_shop_url(shop_url: str) -> str:
    """``shop_url`` when it is an absolute http(s) URL without spaces or controls."""
    parts = urlsplit(shop_url)  # ValueError for a malformed IPv6 host
    if (
        parts.scheme not in ("http", "https")
        or not parts.netloc
        or any(c.isspace() or not c.isprintable() for c in shop_url)
    ):
        raise ValueError(f"shop_url must be an http(s) URL such as https://shop.example.com, "
                         f"got {shop_url!r}")  # fmt: skip
    return shop_url


def gtin(barcode: str) -> str | None:
    """``barcode`` when it is a GTIN-8, -12, -13 or -14 with a right GS1 check digit."""
    code = barcode.strip()
    if not (code.isascii() and code.isdigit() and len(code) in (8, 12, 13, 14)):
        return None
    body = [int(d) for d in reversed(code[:-1])]
    total = sum(d * (3 if i % 2 == 0 else 1) for i, d in enumerate(body))
    return code if (10 - total % 10) % 10 == int(code[-1]) else None


def _attribute(p: _Product, name: str) -> str:
    for key, value in p.attributes.items():
        if str(key).lower() == name and isinstance(value, str | int):
            return one_line(str(value))
    return ""


def feed_items(
    store: Store, language: str, shop_url: str, skipped: list[Skipped]
) -> Iterator[dict[str, str]]:
    """The active products as Merchant Center items (``GMC_COLUMNS`` → text, empty where
    not sent); the products left out are added to ``skipped`` with the reason."""
    copy = approved_copy(store, "merchant-feed", language)
    for product in _active(store):
        item, reason = _item(product, copy.get(product.key) or {}, shop_url)
        if item is None:
            skipped.append(Skipped(product.key, reason))
        else:
            yield item


def _item(p: _Product, ai: dict[str, Any], shop_url: str) -> tuple[dict[str, str] | None, str]:
    ai_title = fit(one_line(str(ai.get("title") or "")), TITLE_LIMIT)
    ai_description = fit(clean(str(ai.get("description") or "")), DESCRIPTION_LIMIT)
    title = "" if ai_title else fit(one_line(p.title), TITLE_LIMIT)
    description = "" if ai_description else fit(clean(p.description), DESCRIPTION_LIMIT)
    image = next((u for u in map(str.strip, p.images) if _is_web_url(u)), "")
    if code_points(p.key) > ID_LIMIT:
        return None, f"id longer than {ID_LIMIT} characters"
    if not (title or ai_title):
        return None, "no title"
    if p.price is None:
        return None, "no price"
    if not image:
        return None, "no http(s) image"
    if not (description or ai_description):
        return None, "no description"
    on_sale = p.compare_at_price is not None and p.compare_at_price > p.price
    codes = [c for c in map(gtin, p.barcodes) if c]
    item = {
        "id": p.key,
        "title": title,
        "structured_title": ai_title,
        "description": description,
        "structured_description": ai_description,
        "link": shop_link(shop_url, p.key),
        "image_link": image,
        "availability": "out_of_stock" if p.inventory is not None and p.inventory <= 0
        else "in_stock",
        "price": _money(p.compare_at_price if on_sale else p.price, p.currency),
        "sale_price": _money(p.price, p.currency) if on_sale else "",
        "brand": fit(one_line(p.brand), 70),
        "gtin": codes[0] if len(p.barcodes) == 1 and codes else "",
        "mpn": fit(_attribute(p, "mpn"), 70),
        "condition": c if (c := _attribute(p, "condition").lower()) in CONDITIONS else "",
        "product_type": fit(one_line(p.category), 750),
    }  # fmt: skip
    return item, ""


def _is_web_url(url: str) -> bool:
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.netloc) and url.isprintable()


def _money(amount: float | None, currency: str) -> str:
    return f"{amount:.2f} {currency}"


def google_merchant_tsv(
    store: Store, out: Out, language: str = "en", *, shop_url: str
) -> ExportResult:
    """The Merchant Center feed as a tab-separated text file (header ``GMC_COLUMNS``).

    Every cell is one line without tabs, written as is (no quoting); AI text is written
    ``trained_algorithmic_media:"…"`` with double quotes inside it doubled."""
    check_language(language)
    check_shop_url(shop_url)
    result = ExportResult("gmc-tsv")
    items = feed_items(store, language, shop_url, result.skipped)
    with _text_out(out) as fh:
        writer = csv.writer(
            fh, delimiter="\t", quoting=csv.QUOTE_NONE, quotechar=None, lineterminator="\n"
        )
        writer.writerow(GMC_COLUMNS)
        for item in items:
            writer.writerow(_tsv_cell(name, item[name]) for name in GMC_COLUMNS)
            result.written += 1
    return result


def _tsv_cell(name: str, value: str) -> str:
    value = one_line(value)
    if name in STRUCTURED and value:
        quoted = value.replace('"', '""')
        return f'{AI_SOURCE}:"{quoted}"'
    return value


def google_merchant_xml(
    store: Store, out: Out, language: str = "en", *, shop_url: str
) -> ExportResult:
    """The Merchant Center feed as RSS 2.0 with the ``g`` namespace, UTF-8 (``out``: a
    path or a binary stream). Built with ``xml.etree``: text is escaped, never pasted."""
    check_language(language)
    check_shop_url(shop_url)
    result = ExportResult("gmc-xml")
    items = feed_items(store, language, shop_url, result.skipped)
    rss = ET.Element("rss", version="2.0")
    channel = ET.SubElement(rss, "channel")
    home = urlsplit(shop_url)
    _text(channel, "title", f"{home.netloc} products")
    _text(channel, "link", f"{home.scheme}://{home.netloc}/")
    _text(channel, "description", f"Product feed written by shopmind ({language})")
    for item in items:
        _xml_item(ET.SubElement(channel, "item"), item)
        result.written += 1
    ET.indent(rss)
    ET.ElementTree(rss).write(out, encoding="utf-8", xml_declaration=True)
    return result


def google_merchant_xml_bytes(
    store: Store, language: str = "en", *, shop_url: str
) -> tuple[bytes, ExportResult]:
    """:func:`google_merchant_xml` into memory: the document and what was written."""
    buffer = io.BytesIO()
    result = google_merchant_xml(store, buffer, language, shop_url=shop_url)
    return buffer.getvalue(), result


def _text(parent: ET.Element, tag: str, text: str) -> ET.Element:
    element = ET.SubElement(parent, tag)
    element.text = text
    return element


def _g(name: str) -> str:
    return f"{{{GOOGLE_NS}}}{name}"


def _xml_item(node: ET.Element, item: dict[str, str]) -> None:
    for name in GMC_COLUMNS:
        value = item[name]
        if not value:
            continue
        if name in STRUCTURED:
            structured = ET.SubElement(node, _g(name))
            _text(structured, _g("digital_source_type"), AI_SOURCE)
            _text(structured, _g("content"), value)
        else:
            _text(node, _g(name), value)


ET.register_namespace("g", GOOGLE_NS)


def write(
    store: Store,
    fmt: str,
    out: Out,
    language: str = "en",
    *,
    shop_url: str = "",
    raw: bool = False,
) -> ExportResult:
    """One export by its name in ``FORMATS`` (what the CLI's ``--format`` takes)."""
    if fmt == "shopify-csv":
        return shopify_csv(store, out, language, raw=raw)
    if fmt == "gmc-tsv":
        return google_merchant_tsv(store, out, language, shop_url=shop_url)
    if fmt == "gmc-xml":
        return google_merchant_xml(store, out, language, shop_url=shop_url)
    raise ValueError(f"format {fmt!r} is not one of {', '.join(FORMATS)}")


def summary(result: ExportResult) -> str:
    """``wrote 12 rows; left out 2 (no price: 1, no http(s) image: 1)``."""
    counts: dict[str, int] = {}
    for s in result.skipped:
        counts[s.reason] = counts.get(s.reason, 0) + 1
    text = f"wrote {result.written} {'items' if result.format != 'shopify-csv' else 'rows'}"
    if counts:
        reasons = ", ".join(f"{reason}: {n}" for reason, n in sorted(counts.items()))
        text += f"; left out {len(result.skipped)} ({reasons})"
    return text
