"""Product reviews from any CSV: columns found by common names or given by ``mapping``.

A review names its product by product key (external id) or SKU; a review of a product
the store does not hold is a bad row. Without an id column a review's key is a hash of its
content (the rating as written) and of how many identical reviews came before it in the
file, so identical rows stay separate reviews and re-importing the file updates them.

Title, author and body are stored as plain text (:mod:`shopmind.safety`; the body keeps its
line breaks); the content key hashes them as written, so it is the key earlier imports gave.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any

from sqlalchemy import Connection

from shopmind.store.db import Store
from shopmind.store.importers.catalog import find_skus
from shopmind.store.importers.common import (
    ImportFileError,
    ImportResult,
    Options,
    Rejected,
    RowError,
    import_csv,
    merge_repeats,
)
from shopmind.store.importers.reading import Columns, CsvTable, F, Row
from shopmind.store.importers.values import detect_language
from shopmind.store.models import Customer, Product, Review
from shopmind.store.writer import id_map, upsert

MAX_BODY = 100_000  # characters of a review text as written
FIELDS = [
    F("external_id", "review_id", "id", "Review ID"),
    F("product", "product_id", "product", "handle", "sku", "product_sku", required=True),
    F("rating", "rating", "stars", "score", "rating_value", "Review Score"),
    F("title", "title", "summary", "headline", "Review Title"),
    F("body", "body", "review", "text", "content", "comment", "Review Text"),
    F("author", "author", "reviewer", "name", "reviewer_name", "Reviewer Name"),
    F("email", "email", "reviewer_email"),
    F("created_at", "created_at", "date", "review_date", "Created"),
    F("language", "language", "lang", "locale"),
    F("verified", "verified", "verified_purchase"),
]


@dataclass
class _Review:
    line: int
    values: list[str]
    product: str
    email: str | None
    row: dict[str, Any]
    product_label: str


def import_reviews(store: Store, opts: Options) -> ImportResult:
    write = partial(_write, seen=set())
    return import_csv(store, opts, "reviews", FIELDS, _reviews, write, _check_columns)


def _check_columns(path: Path, cols: Columns) -> None:
    if "body" not in cols and "rating" not in cols:
        raise ImportFileError(path, 1, "body", "missing column: need a review text or rating")


def _reviews(table: CsvTable, cols: Columns) -> Iterator[_Review | Rejected]:
    occurrences: Counter[str] = Counter()  # identical reviews so far, by content hash
    for line, values in table:
        row = Row(line, values, cols)
        try:
            row.check()
            yield _review(row, occurrences)
        except RowError as exc:
            yield Rejected(row.line, exc.field, exc.message, [row.values])


def _review(row: Row, occurrences: Counter[str]) -> _Review:
    product = row.text("product", required=True)
    assert product is not None
    body = row.prose("body", MAX_BODY) or ""
    rating = _rating(row)
    if not body and rating is None:
        raise row.fail("body", "a review needs a text or a rating")
    title = row.plain("title", 512)
    review = {
        "author": row.plain("author"),
        "rating": rating,
        "title": title,
        "body": body,
        "language": (row.text("language", 16) or detect_language(f"{title or ''} {body}")).lower(),
        "verified": bool(row.flag("verified")),
        "created_at": row.date("created_at"),
    }
    review["external_id"] = row.text("external_id") or _content_key(
        product, row, review["created_at"], occurrences
    )
    email = (row.text("email", 254) or "").lower() or None
    return _Review(row.line, row.values, product, email, review, row.cols.label("product"))


def _rating(row: Row) -> int | None:
    value = row.number("rating")
    if value is None:
        return None
    if not 0 <= value <= 5:
        raise row.fail("rating", f"not a 0–5 star rating: {row.get('rating')!r}")
    return math.floor(value + 0.5)  # whole stars, halves up (4.5 → 5)


def _content_key(
    product: str, row: Row, created_at: datetime | None, occurrences: Counter[str]
) -> str:
    """A hash of product, author, rating, title, body (all as written: keys stay those of
    earlier imports) and date, and of the number of identical reviews before this one in
    the file."""
    basis = [product, row.text("author"), row.get("rating"), row.text("title", 512)]
    basis.append(row.text("body", MAX_BODY) or "")
    basis.append(created_at.isoformat() if created_at else None)
    content = hashlib.sha256(json.dumps(basis, ensure_ascii=False).encode()).hexdigest()
    seen_before = occurrences[content]
    occurrences[content] += 1
    return "review:" + hashlib.sha256(f"{content}:{seen_before}".encode()).hexdigest()[:32]


def _write(
    conn: Connection, batch: list[_Review], result: ImportResult, seen: set[str]
) -> list[Rejected]:
    """Link each review to its product (key, then SKU) and customer (e-mail), then upsert."""
    keys = [r.product for r in batch]
    products = id_map(conn, Product, keys)
    by_sku = find_skus(conn, [k for k in keys if k not in products])
    customers = id_map(conn, Customer, [r.email for r in batch if r.email], key="email")
    rows: list[dict[str, Any]] = []
    rejected = []
    for r in batch:
        product_id = products.get(r.product) or by_sku.get(r.product, (None, None))[1]
        if product_id is None:
            message = f"no product with key or SKU {r.product!r} in the store"
            rejected.append(Rejected(r.line, r.product_label, message, [r.values]))
            continue
        customer_id = customers.get(r.email) if r.email else None
        rows.append({**r.row, "product_id": product_id, "customer_id": customer_id})
    upsert(conn, Review, merge_repeats(rows, seen, result, "reviews"))
    return rejected
