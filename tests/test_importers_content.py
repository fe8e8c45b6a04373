"""Reviews (with a column mapping) and help-centre pages (folder or FAQ CSV)."""

from __future__ import annotations

import csv
import io
import zipfile
from pathlib import Path

import pytest
from sqlalchemy import select

from shopmind.store import Store
from shopmind.store.importers import ImportFileError, import_file
from shopmind.store.models import Page, Product, Review
from shopmind.store.writer import upsert

DATA = Path(__file__).parent / "data" / "importers"
REVIEW_MAP = {
    "external_id": "review_ref",
    "product": "item",
    "rating": "stars",
    "title": "headline",
    "body": "text",
    "author": "reviewer",
    "created_at": "posted",
}


@pytest.fixture
def catalog(store: Store) -> Store:
    import_file(store, "shopify-products", DATA / "shopify_products.csv")
    import_file(store, "shopify-products", DATA / "shopify_products_new_headers.csv")
    return store


def _product_ids(store: Store) -> dict[str, int]:
    with store.session() as s:
        return dict(s.execute(select(Product.external_id, Product.id)).all())


def _reviews(store: Store) -> dict[str, Review]:
    with store.session() as s:
        return {r.external_id: r for r in s.scalars(select(Review))}


def test_reviews_with_mapping_link_by_key_or_sku(catalog: Store) -> None:
    result = import_file(catalog, "reviews", DATA / "reviews.csv", mapping=REVIEW_MAP)

    assert (result.rows, result.rejected) == (4, 0)
    ids = _product_ids(catalog)
    reviews = _reviews(catalog)
    assert {k: r.product_id for k, r in reviews.items()} == {
        "r-1": ids["linen-camp-shirt"],  # by product key (handle)
        "r-2": ids["linen-camp-shirt"],  # by variant SKU
        "r-3": ids["stoneware-mug"],
        "r-4": ids["merino-beanie"],
    }
    assert {k: r.language for k, r in reviews.items()} == {
        "r-1": "en",
        "r-2": "en",
        "r-3": "zh",
        "r-4": "en",
    }
    r1 = reviews["r-1"]
    assert (r1.rating, r1.title, r1.author) == (5, "Perfect for summer", "Ada")
    assert r1.body.startswith("Light, breathable")
    assert r1.created_at.isoformat() == "2024-03-10T00:00:00"

    import_file(catalog, "reviews", DATA / "reviews.csv", mapping=REVIEW_MAP)
    assert catalog.stats()["reviews"] == 4


def test_review_of_unknown_product_is_a_bad_row(catalog: Store, tmp_path: Path) -> None:
    path = tmp_path / "reviews.csv"
    text = (DATA / "reviews.csv").read_text(encoding="utf-8")
    path.write_text(
        text + "r-5;no-such-thing;4;Hmm;Which product?;Kim;2024-03-21\n", encoding="utf-8"
    )

    with pytest.raises(ImportFileError) as info:
        import_file(catalog, "reviews", path, mapping=REVIEW_MAP)
    assert (info.value.line, info.value.field) == (6, "item")
    assert "no product with key or SKU 'no-such-thing'" in str(info.value)
    assert catalog.stats()["reviews"] == 0

    result = import_file(catalog, "reviews", path, mapping=REVIEW_MAP, skip_bad_rows=True)
    assert (result.rows, result.rejected) == (4, 1)
    with result.reject_file.open(encoding="utf-8", newline="") as fh:
        (row,) = list(csv.DictReader(fh, delimiter=";"))
    assert row["review_ref"] == "r-5" and row["reason"].startswith("line 6, field 'item'")


def test_reviews_without_an_id_column_are_keyed_by_content(catalog: Store, tmp_path: Path) -> None:
    """Regression: identical rows collapsed into one review, and a 4.6 rating (rounded
    before hashing) collided with a 5 of the same text. Each row is its own review now, and
    re-importing the file still updates instead of duplicating."""
    path = tmp_path / "reviews.csv"
    path.write_text(
        "product,rating,review\n"
        "linen-camp-shirt,5,great\n"
        "linen-camp-shirt,5,great\n"
        "linen-camp-shirt,4.6,great\n"
        "MUG-350,1,Arrived broken\n"
        "linen-camp-shirt,4.5,great\n",
        encoding="utf-8",
    )
    first = import_file(catalog, "reviews", path)
    again = import_file(catalog, "reviews", path)

    assert (first.rows, again.rows, first.merged) == (5, 5, 0)
    assert catalog.stats()["reviews"] == 5
    ratings = sorted((r.body, r.rating) for r in _reviews(catalog).values())
    assert ratings == [("Arrived broken", 1)] + [("great", 5)] * 4  # 4.5 rounds half up

    path.write_text(path.read_text(encoding="utf-8") + "linen-camp-shirt,5,great\n", "utf-8")
    import_file(catalog, "reviews", path)
    assert catalog.stats()["reviews"] == 6  # the third identical row is a third review


def test_repeated_review_id_is_reported_as_merged(catalog: Store, tmp_path: Path) -> None:
    """Regression: rows repeating a review id were merged silently; the count is reported."""
    path = tmp_path / "reviews.csv"
    path.write_text(
        "review_id,sku,rating,review\nr1,MUG-350,5,Great\nr2,MUG-350,2,Meh\nr1,MUG-350,4,Good\n",
        encoding="utf-8",
    )
    result = import_file(catalog, "reviews", path, batch_size=1)  # the repeat in another batch

    assert (result.read, result.rows, result.merged) == (3, 3, 1)
    assert "1 rows merged into an earlier row with the same key" in result.summary()
    assert {k: (r.rating, r.body) for k, r in _reviews(catalog).items()} == {
        "r1": (4, "Good"),
        "r2": (2, "Meh"),
    }


def test_real_review_file_with_mapping(store: Store, shared_data: Path, tmp_path: Path) -> None:
    """The public Women's E-Commerce Clothing Reviews file, imported through --map."""
    archive = shared_data / "reviews" / "womens-clothing" / "womens_clothing_reviews.csv.zip"
    if not archive.exists():
        pytest.skip(f"{archive} not found")
    with zipfile.ZipFile(archive) as zf:
        name = next(n for n in zf.namelist() if n.endswith(".csv") and "__MACOSX" not in n)
        with zf.open(name) as raw:
            reader = csv.reader(io.TextIOWrapper(raw, encoding="utf-8"))
            header = next(reader)
            rows = [next(reader) for _ in range(400)]
    path = tmp_path / "clothing_reviews.csv"
    with path.open("w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows([header, *rows])
    col = {h: i for i, h in enumerate(header)}
    clothing_ids = sorted({r[col["Clothing ID"]] for r in rows})
    with store.connect() as conn:
        upsert(conn, Product, [{"external_id": c, "title": f"Item {c}"} for c in clothing_ids])

    mapping = {
        "product": "Clothing ID",
        "title": "Title",
        "body": "Review Text",
        "rating": "Rating",
    }
    result = import_file(store, "reviews", path, mapping=mapping)

    distinct = {
        (r[col["Clothing ID"]], r[col["Title"]], r[col["Review Text"]], r[col["Rating"]])
        for r in rows
    }
    assert len(distinct) < 400  # the file repeats some reviews word for word
    assert result.read == result.rows == store.stats()["reviews"] == 400  # each row is kept
    stored = sorted(r.rating for r in _reviews(store).values())
    assert stored == sorted(int(r[col["Rating"]]) for r in rows)
    assert {r.language for r in _reviews(store).values()} == {"en"}


def _pages(store: Store) -> dict[str, Page]:
    with store.session() as s:
        return {p.external_id: p for p in s.scalars(select(Page))}


def test_pages_folder(store: Store) -> None:
    result = import_file(store, "pages", DATA / "pages")

    assert (result.rows, result.rejected) == (4, 0)
    pages = _pages(store)
    assert sorted(pages) == [  # hidden folders and non-documents are skipped
        "help/about-us.md",
        "help/sizing_guide.txt",
        "refund-policy.md",
        "shipping.html",
    ]
    assert {k: p.kind for k, p in pages.items()} == {
        "help/about-us.md": "page",
        "help/sizing_guide.txt": "page",
        "refund-policy.md": "policy",
        "shipping.html": "policy",
    }
    assert {k: p.title for k, p in pages.items()} == {
        "help/about-us.md": "About us",
        "help/sizing_guide.txt": "Sizing guide",
        "refund-policy.md": "Refund & Return Policy",
        "shipping.html": "Shipping information",
    }
    refund = pages["refund-policy.md"]
    assert refund.url == "https://shop.example.com/policies/refund-policy"
    assert "You can return unworn items within 30 days" in refund.body
    assert "**" not in refund.body and "shipping.html" not in refund.body
    shipping = pages["shipping.html"].body
    assert "We ship to the US, Canada & the EU." in shipping and "3–5 days" in shipping
    assert "dataLayer" not in shipping and "tracking pixel" not in shipping
    assert "font-family" not in shipping

    import_file(store, "pages", DATA / "pages")
    assert store.stats()["pages"] == 4


def test_faq_csv(store: Store, tmp_path: Path) -> None:
    result = import_file(store, "pages", DATA / "faq.csv")
    assert result.rows == 3
    faq = {p.question: p for p in _pages(store).values()}
    shipping = faq["How long does shipping take?"]
    assert (shipping.kind, shipping.title) == ("faq", "How long does shipping take?")
    assert shipping.body == "Orders ship within 2 business days; delivery takes 3–5 days in the US."
    assert shipping.url == "https://shop.example.com/pages/faq#shipping"
    assert faq["Can I return sale items?"].body == "Yes, within 30 days — unworn and with tags."
    assert faq["可以开发票吗？"].language == "zh"

    edited = tmp_path / "faq.csv"
    text = (
        (DATA / "faq.csv").read_text(encoding="utf-8").replace("within 30 days", "within 60 days")
    )
    edited.write_text(text.replace("How long", "how  long"), encoding="utf-8")
    import_file(store, "pages", edited)
    assert store.stats()["pages"] == 3  # keyed by the (normalised) question
    bodies = {p.body for p in _pages(store).values()}
    assert "Yes, within 60 days — unworn and with tags." in bodies


def test_empty_pages_folder_is_refused(store: Store, tmp_path: Path) -> None:
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "image.png").write_bytes(b"\x89PNG")
    with pytest.raises(ImportFileError, match="no pages found"):
        import_file(store, "pages", tmp_path / "docs")


def test_empty_document_is_a_bad_row(store: Store, tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    (docs / "faq").mkdir(parents=True)
    (docs / "faq" / "empty.md").write_text("---\ntitle: Nothing\n---\n\n", encoding="utf-8")
    (docs / "terms.txt").write_text("Terms of service apply.", encoding="utf-8")

    with pytest.raises(ImportFileError, match=r"faq/empty\.md: has no text"):
        import_file(store, "pages", docs)
    assert store.stats()["pages"] == 0

    result = import_file(store, "pages", docs, skip_bad_rows=True)
    assert (result.rows, result.rejected) == (1, 1)
    assert result.reject_file == tmp_path / "docs.rejects.csv"
    with result.reject_file.open(encoding="utf-8", newline="") as fh:
        assert list(csv.reader(fh)) == [
            ["path", "reason"],
            ["faq/empty.md", "faq/empty.md: has no text"],
        ]
    assert _pages(store)["terms.txt"].kind == "policy"


def test_pages_folder_given_as_dot(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Regression: ``shopmind import pages .`` failed with "PosixPath('.') has an empty name"
    while naming the default reject file."""
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "about.md").write_text("# About\n\nWe sell tea.\n", encoding="utf-8")
    (docs / "empty.md").write_text("", encoding="utf-8")
    monkeypatch.chdir(docs)

    result = import_file(store, "pages", ".", skip_bad_rows=True)

    assert (result.rows, result.rejected) == (1, 1)
    assert result.reject_file == tmp_path / "docs.rejects.csv"  # beside the folder, not in it
    assert list(_pages(store)) == ["about.md"]
