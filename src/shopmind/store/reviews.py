"""Reading reviews for review intelligence and writing its results back (all its SQL)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import String, delete, func, or_, select

from shopmind.store.db import Store
from shopmind.store.keys import id_limit, parse_product_key
from shopmind.store.models import (
    Product,
    ProductReviewInsight,
    Review,
    ReviewAspect,
    ReviewSentiment,
)
from shopmind.store.writer import upsert

_CHUNK = 900


@dataclass(frozen=True)
class ReviewRecord:
    id: int
    product_id: int
    rating: int | None
    title: str | None
    body: str
    language: str | None
    created_at: datetime | None

    @property
    def text(self) -> str:
        """Title and body as one text (the title often carries the verdict)."""
        title = (self.title or "").strip()
        body = (self.body or "").strip()
        if title and body and not body.startswith(title):
            sep = "" if title[-1:] in ".!?。！？" else ". "
            return f"{title}{sep} {body}".replace("  ", " ")
        return body or title


def iter_reviews(
    store: Store, batch_size: int = 1000, product_id: int | None = None
) -> Iterator[list[ReviewRecord]]:
    """All reviews (or one product's) in id order, ``batch_size`` at a time."""
    last = 0
    cols = (
        Review.id,
        Review.product_id,
        Review.rating,
        Review.title,
        Review.body,
        Review.language,
        Review.created_at,
    )
    while True:
        query = select(*cols).where(Review.id > last).order_by(Review.id).limit(batch_size)
        if product_id is not None:
            query = query.where(Review.product_id == product_id)
        with store.engine.connect() as conn:
            rows = [ReviewRecord(*r) for r in conn.execute(query)]
        if not rows:
            return
        yield rows
        last = rows[-1].id


def product_texts(store: Store, batch_size: int = 1000) -> Iterator[str]:
    """Product titles and descriptions: unlabelled in-domain text for pretraining."""
    last = 0
    while True:
        query = (
            select(Product.id, Product.title, Product.description)
            .where(Product.id > last)
            .order_by(Product.id)
            .limit(batch_size)
        )
        with store.engine.connect() as conn:
            rows = conn.execute(query).all()
        if not rows:
            return
        for _, title, description in rows:
            text = " ".join(t for t in (title, description) if t)
            if text.strip():
                yield text
        last = rows[-1][0]


def write_review_results(
    store: Store, sentiments: Sequence[dict[str, Any]], aspects: Sequence[dict[str, Any]]
) -> None:
    """Store the sentiments of a batch of reviews and replace their aspects, in one transaction.

    ``sentiments`` rows: review_id, model, label, score, probs, language, truncated, scored_at.
    ``aspects`` rows: review_id, product_id, sentence_no, aspect, polarity, score, sentence.
    """
    ids = [row["review_id"] for row in sentiments]
    with store.connect() as conn:
        upsert(conn, ReviewSentiment, sentiments, key=("review_id",))
        for i in range(0, len(ids), _CHUNK):
            conn.execute(
                delete(ReviewAspect).where(ReviewAspect.review_id.in_(ids[i : i + _CHUNK]))
            )
        if aspects:
            conn.execute(ReviewAspect.__table__.insert(), list(aspects))


def review_results(store: Store, product_id: int) -> list[dict[str, Any]]:
    """One product's scored reviews: rating, date, text and stored sentiment."""
    query = (
        select(
            Review.id,
            Review.rating,
            Review.created_at,
            Review.title,
            Review.body,
            ReviewSentiment.label,
            ReviewSentiment.score,
            ReviewSentiment.language,
        )
        .join(ReviewSentiment, ReviewSentiment.review_id == Review.id)
        .where(Review.product_id == product_id)
        .order_by(Review.created_at, Review.id)
    )
    with store.engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(query)]


def aspect_results(store: Store, product_id: int) -> list[dict[str, Any]]:
    """One product's aspect mentions with their review's date."""
    query = (
        select(
            ReviewAspect.review_id,
            ReviewAspect.aspect,
            ReviewAspect.polarity,
            ReviewAspect.score,
            ReviewAspect.sentence,
            Review.created_at,
        )
        .join(Review, Review.id == ReviewAspect.review_id)
        .where(ReviewAspect.product_id == product_id)
        .order_by(ReviewAspect.review_id, ReviewAspect.sentence_no)
    )
    with store.engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(query)]


def reviewed_product_ids(store: Store) -> list[int]:
    """Products that have at least one scored review."""
    query = (
        select(Review.product_id)
        .join(ReviewSentiment, ReviewSentiment.review_id == Review.id)
        .distinct()
        .order_by(Review.product_id)
    )
    with store.engine.connect() as conn:
        return list(conn.execute(query).scalars())


def write_product_insights(store: Store, rows: Sequence[dict[str, Any]]) -> None:
    """Upsert per-product insights (product_id, model, reviews, negative_share, alert,
    payload, computed_at)."""
    with store.connect() as conn:
        upsert(conn, ProductReviewInsight, rows, key=("product_id",))


def find_product(store: Store, key: int | str) -> tuple[int, str] | None:
    """A product by internal id or external id → (id, external_id).

    The key goes through ``parse_product_key`` (``ProductKeyError`` when it cannot name a
    product); a number beyond the id column's range is looked up as an external id only.
    """
    parsed = parse_product_key(key)
    conditions = [Product.external_id == parsed.text]
    product_id = parsed.id_within(id_limit(Product.id, store.engine.dialect))
    if product_id is not None:
        conditions.append(Product.id == product_id)
    query = select(Product.id, Product.external_id).where(or_(*conditions)).limit(2)
    with store.engine.connect() as conn:
        rows = conn.execute(query).all()
    exact = [r for r in rows if r[1] == parsed.text]
    row = (exact or rows or [None])[0]
    return (row[0], row[1]) if row else None


def product_insights(store: Store, product_id: int) -> dict[str, Any] | None:
    """The stored insights of one product, or None when it has not been analysed."""
    with store.session() as s:
        row = s.get(ProductReviewInsight, product_id)
        if row is None:
            return None
        return {
            "product_id": row.product_id,
            "model": row.model,
            "reviews": row.reviews,
            "negative_share": row.negative_share,
            "alert": row.alert,
            "computed_at": row.computed_at,
            **row.payload,
        }


def most_negative_products(store: Store, limit: int = 10, min_reviews: int = 5) -> list[int]:
    """Products with the highest negative share among those with enough scored reviews."""
    query = (
        select(ProductReviewInsight.product_id)
        .where(ProductReviewInsight.reviews >= min_reviews)
        .order_by(
            ProductReviewInsight.alert.desc(),
            ProductReviewInsight.negative_share.desc(),
            ProductReviewInsight.product_id,
        )
        .limit(limit)
    )
    with store.engine.connect() as conn:
        return list(conn.execute(query).scalars())


def sentiment_by_month(store: Store) -> list[dict[str, Any]]:
    """Store-wide scored reviews per calendar month (of the review's date) and label:
    ``[{"month": "2026-01", "negative": 3, "neutral": 5, "positive": 40}, …]``, oldest first.
    Reviews without a date are left out."""
    month = func.substr(func.cast(Review.created_at, String), 1, 7)
    query = (
        select(month.label("month"), ReviewSentiment.label, func.count())
        .join(Review, Review.id == ReviewSentiment.review_id)
        .where(Review.created_at.is_not(None))
        .group_by(month, ReviewSentiment.label)
        .order_by(month)
    )
    out: dict[str, dict[str, Any]] = {}
    with store.engine.connect() as conn:
        for m, label, n in conn.execute(query):
            row = out.setdefault(m, {"month": m, "negative": 0, "neutral": 0, "positive": 0})
            if label in row:
                row[label] = int(n)
    return list(out.values())
