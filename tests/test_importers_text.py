"""How importers store untrusted text (issue 7, "live markup from text"), on SQLite and PostgreSQL.

The policy under test (docs/importers.md, "How text is cleaned"): every free-text field an
importer or the events API stores is plain text from :mod:`shopmind.safety` — markup and
control characters out, entities decoded — while keys (handles, SKUs, ids) are stored as
written, and keys derived from content stay those of earlier imports. Product
``description_html`` alone stays HTML, for round trips to the shop.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from shopmind.api.ingest import ingest_events
from shopmind.safety import sanitize_html
from shopmind.store import Store
from shopmind.store.events import EventError, normalize_event
from shopmind.store.importers import import_file
from shopmind.store.models import Customer, Event, Order, OrderLine, Product, Review, Variant

SCRIPT = "&lt;script&gt;alert(1)&lt;/script&gt;"  # the probe: decoded, it is a live <script>


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _one(store: Store, model: Any) -> Any:
    with store.session() as s:
        return s.scalars(select(model)).one()


def _no_markup(*values: Any) -> None:
    for value in values:
        text = str(value)
        assert "<" not in text and "&lt;" not in text and "&amp;" not in text, text


SHOPIFY = (
    "Handle,Title,Body (HTML),Vendor,Product Category,Type,Tags,Option1 Name,Option1 Value,"
    "Variant SKU,Variant Price,SEO Title,SEO Description\n"
    f"tee,{SCRIPT}Shirt,<p>Soft</p><script>alert(3)</script>,<b>Acme</b> &amp; Co,"
    f'"Apparel &amp; Accessories > <i>Shirts</i>",<em>Tees</em>,'
    f'"<script>x</script>summer, &lt;b&gt;sale&lt;/b&gt;, Salt &amp; Pepper",'
    f"<b>Size</b>,&lt;i&gt;S&lt;/i&gt;,TEE-S,10,{SCRIPT}SEO,<u>Soft</u>\x07 tee\n"
    "tee,,,,,,,,&lt;i&gt;M&lt;/i&gt;,,12,,\n"
)


def test_shopify_free_text_is_plain_text(store: Store, tmp_path: Path) -> None:
    """Regression (live markup from text): a Shopify title ``&lt;script&gt;…Shirt`` was
    stored verbatim, as were vendor, type, tags and option names and values."""
    import_file(store, "shopify-products", _write(tmp_path, "p.csv", SHOPIFY))

    product = _one(store, Product)
    assert product.title == "Shirt"
    assert product.brand == "Acme & Co"
    assert product.category == "Apparel & Accessories > Shirts"
    assert product.product_type == "Tees"
    assert product.tags == ["summer", "sale", "Salt & Pepper"]
    assert (product.seo_title, product.seo_description) == ("SEO", "Soft tee")
    assert product.attributes == {"Size": ["S", "M"]}
    with store.session() as s:
        variants = s.scalars(select(Variant).order_by(Variant.position)).all()
        assert [(v.title, v.options) for v in variants] == [
            ("S", {"Size": "S"}),
            ("M", {"Size": "M"}),
        ]
        # Keys are as written, so re-imports keep matching the variants stored before.
        assert [v.external_id for v in variants] == ["tee:TEE-S", "tee:&lt;i&gt;M&lt;/i&gt;"]
    assert product.description == "Soft"
    assert "<script>" in product.description_html  # kept for round trips to the shop …
    assert "script" not in sanitize_html(product.description_html)  # … shown only sanitised


def test_woocommerce_names_with_entities_are_decoded(store: Store, tmp_path: Path) -> None:
    """Regression: WooCommerce exports names with entities (``&amp;``), which stayed
    encoded; markup in names, brands, categories, tags and attributes was stored too."""
    path = _write(
        tmp_path,
        "woo.csv",
        "ID,Type,SKU,Name,Regular price,Categories,Tags,Brands,Attribute 1 name,"
        "Attribute 1 value(s),Parent\n"
        '7,variable,mill,Salt &amp; Pepper Mill,,"Kitchen &amp; Dining > <b>Mills</b>",'
        f'"{SCRIPT}oak, gift",<i>Peugeot</i>,<b>Wood</b>,"&lt;b&gt;Oak&lt;/b&gt;, Beech",\n'
        "8,variation,mill-oak,Salt &amp; Pepper Mill - Oak,25,,,,<b>Wood</b>,"
        "&lt;b&gt;Oak&lt;/b&gt;,id:7\n",
    )
    import_file(store, "woocommerce-products", path)

    product = _one(store, Product)
    assert product.title == "Salt & Pepper Mill"
    assert product.category == "Kitchen & Dining > Mills"
    assert product.tags == ["oak", "gift"]
    assert product.brand == "Peugeot"
    assert product.attributes == {"Wood": ["Oak", "Beech"]}
    variant = _one(store, Variant)
    assert (variant.title, variant.options) == ("Oak", {"Wood": "Oak"})
    assert variant.external_id == "woo:7:mill-oak"


REVIEWS = (
    "product,rating,title,review,author\n"
    f'tee,2,{SCRIPT}Meh,"<script>alert(2)</script>Thin <b>fabric</b>.\n'
    'Second line &amp; more.",<i>Kim</i>\n'
)


def test_review_text_is_plain_text_and_keys_stay(store: Store, tmp_path: Path) -> None:
    """Regression: a review body ``<script>alert(2)</script>`` was stored verbatim (title
    and author too). The body keeps its line breaks, and a review without an id keeps the
    key earlier imports gave it (a hash of the text as written)."""
    import_file(store, "shopify-products", _write(tmp_path, "p.csv", SHOPIFY))
    import_file(store, "reviews", _write(tmp_path, "r.csv", REVIEWS))

    review = _one(store, Review)
    assert review.body == "Thin fabric.\nSecond line & more."
    assert (review.title, review.author) == ("Meh", "Kim")
    assert review.external_id == "review:5f163cac81aac7249b07ccbe74dce203"


def test_order_and_customer_text_is_plain_text(store: Store, tmp_path: Path) -> None:
    """Regression: line-item titles, customer names and places, and campaign fields of
    orders were stored as written, markup included."""
    path = _write(
        tmp_path,
        "orders.csv",
        "order_id,created_at,email,customer_name,city,country,utm_source,utm_campaign,"
        "sku,item_name,price\n"
        f"A-1,2024-04-02,kim@example.com,<b>Kim</b> {SCRIPT}Lee,Caf&eacute;ville,"
        f"<i>FR</i>,{SCRIPT}google,spring &amp; summer,TEE-S,Linen <b>Tee</b>,10\n",
    )
    import_file(store, "orders", path)

    line, order, customer = _one(store, OrderLine), _one(store, Order), _one(store, Customer)
    assert line.title == "Linen Tee"
    assert (order.source, order.campaign) == ("google", "spring & summer")
    assert (customer.first_name, customer.last_name) == ("Kim", "Lee")
    assert (customer.city, customer.country) == ("Caféville", "FR")
    assert order.external_id == "A-1" and customer.external_id == "kim@example.com"


EVENT = {
    "event_name": "view_item",
    "event_timestamp": 1_718_000_000,
    "user_pseudo_id": "u-1",
    "source": f"{SCRIPT}google",
    "campaign": "<b>spring</b> &amp;  summer",
    "device_category": "<i>mobile</i>",
    "items": [{"item_id": "TEE-S", "item_name": "Salt &amp; Pepper <b>Mill</b>"}],
}


def test_event_free_text_is_plain_text_and_ids_stay() -> None:
    """Regression: event source, campaign, device and item names (set by whoever crafts
    the URL or the tag) were stored with their markup. The event id is still the hash of
    the event as sent, so events imported before are recognised."""
    row = normalize_event(EVENT)
    assert (row["source"], row["campaign"], row["device"]) == (
        "google",
        "spring & summer",
        "mobile",
    )
    assert row["items"] == [{"item_id": "TEE-S", "item_name": "Salt & Pepper Mill"}]
    assert row["event_id"] == "c7e37144fbff1ca923e4d49f2646b130"


def test_events_api_stores_plain_text(store: Store) -> None:
    """The REST ingestion path stores the same cleaned rows as the importer."""
    ingest_events(store, [EVENT])
    stored = _one(store, Event)
    _no_markup(stored.source, stored.campaign, stored.device, stored.items)


@pytest.mark.parametrize(
    "field", ["user_pseudo_id", "session_id", "transaction_id", "event_id", "source", "campaign"]
)
def test_event_strings_with_control_characters_are_refused(field: str) -> None:
    """Events are machine data, checked strictly: a string holding a control character is
    refused naming its field (the rule of :mod:`shopmind.safety.chars`, as for product
    keys) — ids are never altered, and an event is not half cleaned."""
    with pytest.raises(EventError) as info:
        normalize_event({**EVENT, field: "a\x07b"})
    assert info.value.field == field
    assert "control character, U+0007" in info.value.message
