"""Importers: store exports (Shopify, WooCommerce, GA4 events, orders, reviews, pages, ad
spend) → store.

Columns are found by header name, never by position. A file imports whole or not at all:
rows are checked as they stream and written in batches inside one transaction, so any bad
row rolls everything back — unless ``skip_bad_rows``, which imports the good rows and writes
each rejected row with its reason to a reject file. Re-importing updates rows by natural key.
On SQLite, events are staged in a TEMP table while the file is read, so other writers are not
kept waiting (see :mod:`shopmind.store.importers.staging`).

>>> result = import_file(store, "shopify-products", Path("products.csv"))  # doctest: +SKIP
>>> print(result.summary())  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from shopmind.store.db import Store
from shopmind.store.importers import (
    events,
    orders,
    pages,
    reviews,
    shopify_products,
    spend,
    woocommerce,
)
from shopmind.store.importers.common import (
    ImportFileError,
    ImportResult,
    Options,
    check_input,
    check_reject_file,
)
from shopmind.store.importers.preview import (
    ColumnMatch,
    Preview,
    Problem,
    Validation,
    preview_file,
    validate_file,
)

IMPORTERS: dict[str, Callable[[Store, Options], ImportResult]] = {
    "shopify-products": shopify_products.import_products,
    "shopify-orders": orders.import_shopify_orders,
    "woocommerce-products": woocommerce.import_products,
    "events": events.import_events,
    "orders": orders.import_orders,
    "reviews": reviews.import_reviews,
    "pages": pages.import_pages,
    "ad-spend": spend.import_ad_spend,
}

__all__ = [
    "IMPORTERS",
    "ColumnMatch",
    "ImportFileError",
    "ImportResult",
    "Preview",
    "Problem",
    "Validation",
    "import_file",
    "preview_file",
    "validate_file",
]


def import_file(
    store: Store,
    kind: str,
    path: str | Path,
    *,
    skip_bad_rows: bool = False,
    reject_file: Path | None = None,
    mapping: dict[str, str] | None = None,
    currency: str = "USD",
    batch_size: int = 5000,
    progress: Callable[[int], None] | None = None,
    raw: bool = False,
) -> ImportResult:
    """Import one file (or, for ``pages``, a folder) of the given ``kind``.

    ``mapping`` ({our_field: their_column}) overrides the header names looked for.
    Raises :class:`ImportFileError` (file, line, field) and stores nothing when the file
    has a bad row, unless ``skip_bad_rows``. With ``skip_bad_rows`` or a ``reject_file``,
    a reject file that is the input, or that cannot be written, is refused before reading.
    Reject-file cells a spreadsheet would run as formulas get a ``'`` in front unless
    ``raw`` (see :mod:`shopmind.safety.spreadsheet`).
    """
    if kind not in IMPORTERS:
        raise ValueError(f"unknown import kind {kind!r}; choose one of: {', '.join(IMPORTERS)}")
    path = Path(path)
    check_input(path, folder=kind == "pages")
    opts = Options(
        path=path,
        skip_bad_rows=skip_bad_rows,
        reject_file=Path(reject_file) if reject_file else None,
        mapping=dict(mapping or {}),
        currency=currency.upper(),
        batch_size=max(1, batch_size),
        progress=progress,
        raw=raw,
    )
    if skip_bad_rows or reject_file is not None:
        check_reject_file(opts)
    return IMPORTERS[kind](store, opts)
