"""The catalog as the dashboard lists it: search, pages of products, one product in full.

Search is a case-insensitive substring match on the title, external id, SKU-free fields
(brand, category); ``LIKE`` wildcards in the query are taken literally. Listing joins each
product's review count and stored sentiment (``product_review_insights``), so the list is
one query per page whatever the catalog's size.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, or_, select

from shopmind.store.db import Store
from shopmind.store.models import Product, ProductReviewInsight, Review, ReviewSentiment, Variant

PER_PAGE = 25
MAX_QUERY = 200


@dataclass(frozen=True)
class ProductRow:
    id: int
    external_id: str
    title: str
    price: float | None
    currency: str
    inventory: int | None
    status: str
    reviews: int
    negative_share: float | None
    alert: bool


@dataclass(frozen=True)
class ProductPage:
    rows: list[ProductRow]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


def _like(query: str) -> str:
    escaped = query.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped.lower()}%"


def search_products(
    store: Store, query: str = "", page: int = 1, per_page: int = PER_PAGE, sort: str = "title"
) -> ProductPage:
    """One page of products matching ``query`` (all when empty), with reviews and sentiment.

    ``sort``: ``title``, ``price``, ``inventory``, ``reviews`` or ``negative`` (highest
    negative share first).
    """
    query = query.strip()[:MAX_QUERY]
    page = max(1, page)
    per_page = max(1, min(per_page, 200))
    reviews = (
        select(Review.product_id, func.count().label("n")).group_by(Review.product_id).subquery()
    )
    where = []
    if query:
        pattern = _like(query)
        where.append(
            or_(
                func.lower(Product.title).like(pattern, escape="\\"),
                func.lower(Product.external_id).like(pattern, escape="\\"),
                func.lower(func.coalesce(Product.brand, "")).like(pattern, escape="\\"),
                func.lower(func.coalesce(Product.category, "")).like(pattern, escape="\\"),
            )
        )
    count = select(func.count()).select_from(Product).where(*where)
    n_reviews = func.coalesce(reviews.c.n, 0)
    order = {
        "price": [Product.price.desc().nulls_last(), Product.id],
        "inventory": [Product.inventory.asc().nulls_last(), Product.id],
        "reviews": [n_reviews.desc(), Product.id],
        "negative": [ProductReviewInsight.negative_share.desc().nulls_last(), Product.id],
    }.get(sort, [func.lower(Product.title), Product.id])
    rows_q = (
        select(
            Product.id,
            Product.external_id,
            Product.title,
            Product.price,
            Product.currency,
            Product.inventory,
            Product.status,
            n_reviews,
            ProductReviewInsight.negative_share,
            ProductReviewInsight.alert,
        )
        .outerjoin(reviews, reviews.c.product_id == Product.id)
        .outerjoin(ProductReviewInsight, ProductReviewInsight.product_id == Product.id)
        .where(*where)
        .order_by(*order)
        .limit(per_page)
        .offset((page - 1) * per_page)
    )
    with store.engine.connect() as conn:
        total = conn.execute(count).scalar_one()
        rows = [_row(r) for r in conn.execute(rows_q)]
    return ProductPage(rows, int(total), page, per_page)


def _row(r: Any) -> ProductRow:
    share = None if r[8] is None else float(r[8])
    return ProductRow(r[0], r[1], r[2], r[3], r[4], r[5], r[6], int(r[7]), share, bool(r[9]))


def product_detail(store: Store, product_id: int) -> dict[str, Any] | None:
    """A product with its variants and review counts by label; None when unknown."""
    with store.session() as s:
        product = s.get(Product, product_id)
        if product is None:
            return None
        by_position = select(Variant).where(Variant.product_id == product_id)
        variants = list(s.scalars(by_position.order_by(Variant.position, Variant.id)))
        labels = dict(
            s.execute(
                select(ReviewSentiment.label, func.count())
                .join(Review, Review.id == ReviewSentiment.review_id)
                .where(Review.product_id == product_id)
                .group_by(ReviewSentiment.label)
            ).all()
        )
        n_reviews = s.scalar(
            select(func.count()).select_from(Review).where(Review.product_id == product_id)
        )
        return {
            "id": product.id,
            "external_id": product.external_id,
            "title": product.title,
            "description": product.description,
            "brand": product.brand,
            "category": product.category,
            "price": product.price,
            "compare_at_price": product.compare_at_price,
            "currency": product.currency,
            "inventory": product.inventory,
            "status": product.status,
            "image_url": product.image_url,
            "reviews": int(n_reviews or 0),
            "sentiment_counts": {k: int(v) for k, v in labels.items()},
            "variants": [
                {
                    "id": v.id,
                    "external_id": v.external_id,
                    "title": v.title,
                    "sku": v.sku,
                    "options": dict(v.options or {}),
                    "price": v.price,
                    "inventory": v.inventory,
                }
                for v in variants
            ],
        }
