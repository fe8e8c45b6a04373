"""Shopify order export and generic orders CSV with a column mapping."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from shopmind.store import Store
from shopmind.store.importers import ImportFileError, import_file
from shopmind.store.models import Customer, Order, Variant

DATA = Path(__file__).parent / "data" / "importers"
GENERIC_MAP = {
    "order_id": "order_ref",
    "created_at": "ordered_on",
    "email": "buyer_email",
    "sku": "product_sku",
    "title": "item",
    "quantity": "qty",
    "price": "unit_price",
    "total": "order_total",
}


def _orders(store: Store) -> dict[str, Order]:
    with store.session() as s:
        orders = s.scalars(select(Order)).all()
        for o in orders:
            o.lines  # noqa: B018
        return {o.external_id: o for o in orders}


def _variant_ids(store: Store) -> dict[str, tuple[int, int]]:
    with store.session() as s:
        rows = s.execute(select(Variant.sku, Variant.id, Variant.product_id)).all()
    return {sku: (vid, pid) for sku, vid, pid in rows}


def test_shopify_orders_link_customers_and_variants(store: Store) -> None:
    import_file(store, "shopify-products", DATA / "shopify_products.csv")
    import_file(store, "shopify-products", DATA / "shopify_products_new_headers.csv")

    result = import_file(store, "shopify-orders", DATA / "shopify_orders.csv")

    assert (result.rows, result.read) == (3, 4)
    assert store.stats()["orders"] == 3
    assert store.stats()["customers"] == 2  # #1001 and #1003 share an e-mail (any case)
    orders = _orders(store)
    first = orders["#1001"]
    assert first.created_at == datetime(2024, 3, 1, 15, 15)  # -0500 → UTC
    assert (first.subtotal, first.shipping, first.tax, first.discount, first.total) == (
        154.0,
        5.0,
        12.32,
        10.0,
        161.32,
    )
    assert (first.financial_status, first.fulfillment_status, first.currency) == (
        "paid",
        "fulfilled",
        "USD",
    )
    skus = _variant_ids(store)
    assert [(x.line_no, x.sku, x.quantity, x.price, x.discount) for x in first.lines] == [
        (1, "LCS-S-SAND", 2, 68.0, 10.0),
        (2, "MUG-350", 1, 18.0, 0.0),
    ]
    assert [(x.variant_id, x.product_id) for x in first.lines] == [
        skus["LCS-S-SAND"],
        skus["MUG-350"],
    ]
    big = orders["#1003"]
    assert big.total == 1299.0 and big.cancelled_at == datetime(2024, 3, 6, 12)
    assert big.lines[0].variant_id is None and big.lines[0].title == "Gift hamper (custom)"
    assert big.customer_id == first.customer_id
    with store.session() as s:
        ada = s.scalars(select(Customer).where(Customer.id == first.customer_id)).one()
    assert (ada.external_id, ada.email) == ("ada.byron@example.com", "ada.byron@example.com")
    assert (ada.first_name, ada.last_name, ada.city, ada.country) == (
        "Ada",
        "Byron",
        "London",
        "GB",
    )
    assert ada.accepts_marketing is True
    assert ada.created_at == datetime(2024, 3, 1, 15, 15)


def test_shopify_orders_reimport_replaces_lines(store: Store, tmp_path: Path) -> None:
    import_file(store, "shopify-orders", DATA / "shopify_orders.csv")
    before = store.stats()
    lines = (DATA / "shopify_orders.csv").read_text(encoding="utf-8").splitlines(keepends=True)
    edited = [x for x in lines if "Stoneware Mug" not in x]
    edited = [x.replace("paid,2024-03-01", "refunded,2024-03-01") for x in edited]
    path = tmp_path / "orders.csv"
    path.write_text("".join(edited), encoding="utf-8")

    import_file(store, "shopify-orders", path)

    assert store.stats() == before
    first = _orders(store)["#1001"]
    assert first.financial_status == "refunded"
    assert [x.sku for x in first.lines] == ["LCS-S-SAND"]


def test_generic_orders_with_mapping(store: Store) -> None:
    import_file(store, "shopify-products", DATA / "shopify_products.csv")
    import_file(store, "shopify-products", DATA / "shopify_products_new_headers.csv")

    result = import_file(store, "orders", DATA / "orders_generic.csv", mapping=GENERIC_MAP)

    assert result.rows == 3
    orders = _orders(store)
    assert orders["A-501"].total == 72.0
    assert (orders["A-501"].source, orders["A-501"].medium) == ("google", "cpc")
    two = orders["A-502"]
    assert two.total == 68.0 + 3 * 18.0  # no total column value: summed from the lines
    assert [(x.sku, x.quantity, x.variant_id) for x in two.lines] == [
        ("LCS-M-NAVY", 1, _variant_ids(store)["LCS-M-NAVY"][0]),
        ("MUG-350", 3, _variant_ids(store)["MUG-350"][0]),
    ]
    assert orders["A-503"].customer_id is None
    assert orders["A-503"].lines[0].variant_id is None
    with store.session() as s:
        emails = sorted(s.scalars(select(Customer.external_id)).all())
    assert emails == ["lin.mei@example.cn", "omar@example.com"]


def test_generic_orders_mapping_errors_name_the_column(store: Store) -> None:
    with pytest.raises(ImportFileError, match=r"'order_id'.*missing required column"):
        import_file(store, "orders", DATA / "orders_generic.csv")
    with pytest.raises(ImportFileError, match="'nope': mapped column not found"):
        import_file(
            store, "orders", DATA / "orders_generic.csv", mapping={**GENERIC_MAP, "total": "nope"}
        )
    with pytest.raises(ImportFileError, match="unknown field 'colour'"):
        import_file(store, "orders", DATA / "orders_generic.csv", mapping={"colour": "qty"})
    assert store.stats()["orders"] == 0


def test_orders_must_keep_their_rows_together(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "orders.csv"
    path.write_text(
        "order_id,created_at,sku,price\nA,2024-01-01,X,1\nB,2024-01-01,Y,2\nA,2024-01-01,Z,3\n",
        encoding="utf-8",
    )
    with pytest.raises(ImportFileError) as info:
        import_file(store, "orders", path)
    assert (info.value.line, info.value.field) == (4, "order_id")
    assert "must be together (first seen on line 2)" in str(info.value)
    assert store.stats()["orders"] == 0


def test_one_batch_of_more_than_65535_orders(store: Store, tmp_path: Path) -> None:
    """Regression: replacing the lines of a batch deleted them with one ``IN`` list of every
    order id, which PostgreSQL refuses beyond 65,535 parameters."""
    n = 65_536
    path = tmp_path / "orders.csv"
    with path.open("w", encoding="utf-8") as fh:
        fh.write("order_id,created_at,total\n")
        fh.writelines(f"O-{i},2024-01-01,{i % 50}\n" for i in range(n))

    result = import_file(store, "orders", path, batch_size=n)

    assert (result.rows, store.stats()["orders"]) == (n, n)
    with store.session() as s:
        assert s.scalar(select(Order.total).where(Order.external_id == "O-65535")) == 35.0
