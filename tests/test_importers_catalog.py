"""Shopify and WooCommerce product CSV imports, on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from shopmind.store import Store
from shopmind.store.importers import ImportFileError, import_file
from shopmind.store.models import OrderLine, Product, Variant

DATA = Path(__file__).parent / "data" / "importers"


def _products(store: Store) -> dict[str, Product]:
    with store.session() as s:
        products = s.scalars(select(Product)).all()
        for p in products:
            p.variants  # noqa: B018 - load while the session is open
        return {p.external_id: p for p in products}


def test_shopify_export_with_variants_and_image_rows(store: Store) -> None:
    result = import_file(store, "shopify-products", DATA / "shopify_products.csv")

    assert (result.rows, result.rejected, result.read) == (3, 0, 9)
    assert store.stats()["products"] == 3
    assert store.stats()["variants"] == 8  # the image-only row is not a variant
    products = _products(store)
    shirt = products["linen-camp-shirt"]
    assert [v.external_id for v in shirt.variants] == [
        "linen-camp-shirt:LCS-S-SAND",
        "linen-camp-shirt:LCS-M-SAND",
        "linen-camp-shirt:LCS-S-NAVY",
        "linen-camp-shirt:LCS-M-NAVY",
    ]
    assert shirt.title == "Linen Camp Shirt"
    assert shirt.brand == "Harbour & Pine"
    assert shirt.category == "Apparel & Accessories > Clothing > Shirts & Tops"
    assert shirt.product_type == "Shirts"
    assert (shirt.price, shirt.compare_at_price, shirt.inventory) == (62.0, 85.0, 12 + 7 + 0 + 4)
    assert shirt.attributes == {"Size": ["S", "M"], "Color": ["Sand", "Navy"]}
    assert shirt.tags == ["summer", "linen", "men"]
    assert shirt.image_url == "https://cdn.example.com/lcs-front.jpg"
    assert shirt.seo_title == "Linen Camp Shirt | Harbour & Pine"
    assert shirt.status == "active" and shirt.source == "shopify"
    assert shirt.description.split() == (
        ["Breezy", "100%", "linen", "camp-collar", "shirt.", "Relaxed", "fit", "Coconut", "buttons"]
    )
    assert "<script>" in shirt.description_html and "alert" not in shirt.description
    navy_s = shirt.variants[2]
    assert navy_s.options == {"Size": "S", "Color": "Navy"}
    assert navy_s.title == "S / Navy"
    assert (navy_s.price, navy_s.compare_at_price, navy_s.inventory) == (62.0, 85.0, 0)
    assert (navy_s.barcode, navy_s.weight_grams) == ("0840001003", 310.0)
    assert navy_s.image_url == "https://cdn.example.com/lcs-navy.jpg"

    mug = products["stoneware-mug"]
    assert mug.title == "Stoneware Mug – 350 ml"
    assert mug.description == "Hand-glazed stoneware & dishwasher safe."
    assert (mug.price, mug.inventory, mug.attributes) == (18.0, 1250, {})
    assert mug.variants[0].options == {}

    shoe = products["trail-runner"]
    assert shoe.status == "draft"
    assert shoe.category == "Shoes"  # no Product Category: falls back to Type
    assert [v.external_id for v in shoe.variants] == [
        "trail-runner:TR-8",
        "trail-runner:9",  # no SKU: the option values
        "trail-runner:TR-10",
    ]
    assert (shoe.price, shoe.compare_at_price) == (119.0, 149.0)


def test_shopify_new_header_names(store: Store) -> None:
    import_file(store, "shopify-products", DATA / "shopify_products_new_headers.csv")

    beanie = _products(store)["merino-beanie"]
    assert beanie.title == "Merino Beanie"
    assert beanie.description == "Soft merino rib-knit beanie."
    assert beanie.category == "Apparel & Accessories > Clothing Accessories > Hats"
    assert beanie.seo_description == "Warm merino beanie."
    assert beanie.attributes == {"Color": ["Charcoal", "Rust"]}
    assert [(v.sku, v.options, v.price, v.inventory) for v in beanie.variants] == [
        ("MB-CHAR", {"Color": "Charcoal"}, 34.0, 20),
        ("MB-RUST", {"Color": "Rust"}, 36.0, 6),
    ]
    assert (beanie.price, beanie.compare_at_price, beanie.inventory) == (34.0, None, 26)


def test_shopify_reimport_updates_in_place(store: Store, tmp_path: Path) -> None:
    import_file(store, "shopify-products", DATA / "shopify_products.csv")
    before = store.stats()
    ids = {k: p.id for k, p in _products(store).items()}

    edited = (DATA / "shopify_products.csv").read_text(encoding="utf-8")
    edited = edited.replace("Linen Camp Shirt,", "Linen Camp Shirt (2024),", 1)
    edited = edited.replace(
        "LCS-M-NAVY,320,shopify,4,deny,manual,68.00", "LCS-M-NAVY,320,shopify,9,deny,manual,59.00"
    )
    path = tmp_path / "products.csv"
    path.write_text(edited, encoding="utf-8")
    import_file(store, "shopify-products", path)
    import_file(store, "shopify-products", path)

    assert store.stats() == before
    products = _products(store)
    assert {k: p.id for k, p in products.items()} == ids
    shirt = products["linen-camp-shirt"]
    assert shirt.title == "Linen Camp Shirt (2024)"
    assert (shirt.price, shirt.inventory) == (59.0, 12 + 7 + 0 + 9)


def test_shopify_reimport_drops_variants_no_longer_listed(store: Store, tmp_path: Path) -> None:
    import_file(store, "shopify-products", DATA / "shopify_products.csv")
    lines = (DATA / "shopify_products.csv").read_text(encoding="utf-8").splitlines(keepends=True)
    path = tmp_path / "products.csv"
    path.write_text("".join(line for line in lines if "LCS-S-NAVY" not in line), encoding="utf-8")

    import_file(store, "shopify-products", path)

    shirt = _products(store)["linen-camp-shirt"]
    assert [v.sku for v in shirt.variants] == ["LCS-S-SAND", "LCS-M-SAND", "LCS-M-NAVY"]
    assert store.stats()["variants"] == 7
    assert shirt.price == 68.0


def test_shopify_shared_skus_stay_separate_variants(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "p.csv"
    path.write_text(
        "Handle,Title,Option1 Name,Option1 Value,Variant SKU,Variant Price\n"
        "cap,Cap,Color,Red,SHARED,10\n"
        "cap,,,Blue,SHARED,11\n",
        encoding="utf-8",
    )
    import_file(store, "shopify-products", path)
    with store.session() as s:
        rows = s.execute(select(Variant.external_id, Variant.sku).order_by(Variant.id)).all()
    assert rows == [("cap:SHARED", "SHARED"), ("cap:Blue", "SHARED")]


def test_woocommerce_variable_and_simple_products(store: Store) -> None:
    result = import_file(store, "woocommerce-products", DATA / "woocommerce_products.csv")

    assert (result.rows, result.rejected) == (3, 0)
    assert store.stats()["products"] == 3 and store.stats()["variants"] == 5
    products = _products(store)
    hoodie = products["woo:101"]
    assert hoodie.title == "Trail Hoodie"
    assert hoodie.category == "Clothing > Hoodies"
    assert hoodie.attributes == {"Color": ["Blue", "Green", "Red"], "Logo": ["Yes", "No"]}
    assert (
        hoodie.description
        == "Brushed fleece inside, kangaroo pocket.\n\nMade from recycled cotton."
    )
    assert hoodie.image_url == "https://shop.example.com/uploads/hoodie.jpg"
    # The variation listed before its parent still lands under it; Parent may be id:N or a SKU.
    assert [
        (v.external_id, v.options, v.price, v.compare_at_price, v.inventory)
        for v in hoodie.variants
    ] == [
        ("woo:101:trail-hoodie-blue-logo", {"Color": "Blue", "Logo": "Yes"}, 42.0, 45.0, 8),
        ("woo:101:trail-hoodie-red", {"Color": "Red", "Logo": "No"}, 45.0, None, 5),
        ("woo:101:id:104", {"Color": "Green", "Logo": "Yes"}, 45.0, None, 0),  # no SKU
    ]
    assert (hoodie.price, hoodie.compare_at_price, hoodie.inventory) == (42.0, 45.0, 13)
    assert hoodie.variants[0].weight_grams == 600.0

    beanie = products["woo:110"]
    assert (beanie.price, beanie.compare_at_price, beanie.inventory) == (18.0, 20.0, 35)
    assert beanie.category == "Clothing > Accessories"
    assert beanie.tags == ["wool", "winter"]
    assert beanie.attributes == {"Material": ["Merino wool"]}
    assert [(v.sku, v.options, v.price) for v in beanie.variants] == [("wool-beanie", {}, 18.0)]

    album = products["woo:111"]
    assert (album.status, album.price, album.description) == ("draft", 15.0, "Digital album.")

    import_file(store, "woocommerce-products", DATA / "woocommerce_products.csv")
    assert store.stats()["products"] == 3 and store.stats()["variants"] == 5


def test_woocommerce_variation_without_parent_is_a_bad_row(store: Store, tmp_path: Path) -> None:
    text = (
        (DATA / "woocommerce_products.csv")
        .read_text(encoding="utf-8")
        .replace("id:101", "id:999", 1)
    )
    path = tmp_path / "woo.csv"
    path.write_text(text, encoding="utf-8")

    result = import_file(store, "woocommerce-products", path, skip_bad_rows=True)

    assert result.rejected == 1
    rejects = result.reject_file.read_text(encoding="utf-8")
    assert "line 2, field 'Parent': no variable product 'id:999' in this file" in rejects
    assert [v.sku for v in _products(store)["woo:101"].variants] == [
        "trail-hoodie-blue-logo",
        "trail-hoodie-red",
    ]


def _variant_owners(store: Store) -> list[tuple[str, str, str | None]]:
    with store.session() as s:
        rows = s.execute(
            select(Product.external_id, Variant.external_id, Variant.sku)
            .join(Variant.product)
            .order_by(Variant.id)
        )
        return [tuple(r) for r in rows]


def test_shared_sku_across_files_and_platforms_never_moves_a_variant(
    store: Store, tmp_path: Path
) -> None:
    """Regression: a variant's key was its bare SKU, so a second product with the same SKU
    (another file, or WooCommerce after Shopify) silently took the first product's variant."""
    header = "Handle,Title,Variant SKU,Variant Price\n"
    first, second = tmp_path / "a.csv", tmp_path / "b.csv"
    first.write_text(header + "tote,Canvas Tote,BAG-1,20\n", encoding="utf-8")
    second.write_text(header + "tote-xl,Canvas Tote XL,BAG-1,30\n", encoding="utf-8")
    woo = tmp_path / "woo.csv"
    woo.write_text("ID,Type,SKU,Name,Regular price\n7,simple,BAG-1,Woo Tote,25\n", encoding="utf-8")

    import_file(store, "shopify-products", first)
    import_file(store, "shopify-products", second)
    import_file(store, "woocommerce-products", woo)
    import_file(store, "shopify-products", first)  # re-import: still nothing moves

    assert _variant_owners(store) == [
        ("tote", "tote:BAG-1", "BAG-1"),
        ("tote-xl", "tote-xl:BAG-1", "BAG-1"),
        ("woo:7", "woo:7:BAG-1", "BAG-1"),
    ]
    products = sorted(_products(store).items())
    assert [(k, p.price, len(p.variants)) for k, p in products] == [
        ("tote", 20, 1),
        ("tote-xl", 30, 1),
        ("woo:7", 25, 1),
    ]

    # An order line naming the shared SKU links to the variant stored first (lowest id).
    orders = tmp_path / "orders.csv"
    orders.write_text("order_id,created_at,sku,price\nA-1,2024-01-01,BAG-1,20\n", "utf-8")
    import_file(store, "orders", orders)
    with store.session() as s:
        line = s.scalars(select(OrderLine)).one()
        tote = s.scalars(select(Variant).where(Variant.external_id == "tote:BAG-1")).one()
    assert (line.variant_id, line.product_id) == (tote.id, tote.product_id)


def test_variant_key_held_by_another_product_is_a_bad_row(store: Store, tmp_path: Path) -> None:
    """Guards the rule that variants never move: a key another product's variant already
    holds makes the product a bad row instead of re-parenting that variant."""
    header = "Handle,Title,Variant SKU,Variant Price\n"
    first, second = tmp_path / "a.csv", tmp_path / "b.csv"
    first.write_text(header + "a,First,b:c,1\n", encoding="utf-8")
    second.write_text(header + "a:b,Second,c,2\nz,Other,Z-1,3\n", encoding="utf-8")
    import_file(store, "shopify-products", first)

    with pytest.raises(ImportFileError) as info:
        import_file(store, "shopify-products", second)
    assert (info.value.line, info.value.field) == (2, "Variant SKU")
    assert "variant key 'a:b:c' belongs to product 'a'" in str(info.value)

    result = import_file(store, "shopify-products", second, skip_bad_rows=True)
    assert (result.rows, result.rejected) == (1, 1)
    assert _variant_owners(store) == [("a", "a:b:c", "b:c"), ("z", "z:Z-1", "Z-1")]
