"""Advertising spend per day and channel (``ad-spend``), for cost per acquisition and ROAS.

One row per day, source, medium and (optional) campaign, as an ad platform or a spreadsheet
exports it: ``date, source, medium, campaign, spend`` and an optional ``currency`` (else the
workspace's). The key is (day, source, medium, campaign) with ``""`` for no campaign;
re-importing a file overwrites the spend and currency of the keys it holds, and rows of one
file sharing a key merge into the last of them (reported as merged). Source, medium and
campaign are stored as one line of plain text (:mod:`shopmind.safety`), spelt as the file
spells them: to match events and orders they should read as those do (GA4: ``google`` /
``cpc``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import partial
from typing import Any

from sqlalchemy import Connection

from shopmind.store.db import Store
from shopmind.store.importers.common import (
    ImportResult,
    Options,
    Rejected,
    RowError,
    import_csv,
)
from shopmind.store.importers.reading import Columns, CsvTable, F, Row
from shopmind.store.models import AdSpend
from shopmind.store.writer import upsert

KIND = "ad-spend"
TABLE = "ad spend rows"  # what the summary calls the stored rows
FIELDS = [
    F("date", "date", "day", "Day", "Date", "report_date", required=True),
    F("source", "source", "utm_source", "Source", required=True),
    F("medium", "medium", "utm_medium", "Medium", required=True),
    F("campaign", "campaign", "utm_campaign", "Campaign", "Campaign name"),
    F("spend", "spend", "cost", "amount", "Amount spent", "Cost", required=True),
    F("currency", "currency", "Currency", "Currency code"),
]
KEY = ("day", "source", "medium", "campaign")
_CURRENCY = re.compile(r"[A-Za-z]{3}")


def import_ad_spend(store: Store, opts: Options) -> ImportResult:
    records = partial(_records, currency=opts.currency)
    return import_csv(store, opts, KIND, FIELDS, records, partial(_write, seen=set()))


def _records(table: CsvTable, cols: Columns, currency: str) -> Iterator[dict[str, Any] | Rejected]:
    for line, values in table:
        row = Row(line, values, cols)
        try:
            row.check()
            yield _spend(row, currency)
        except RowError as exc:
            yield Rejected(row.line, exc.field, exc.message, [row.values])


def _spend(row: Row, currency: str) -> dict[str, Any]:
    """One row → an ``ad_spend`` row; raises ``RowError`` naming the bad column."""
    day = row.date("date", required=True)
    assert day is not None
    code = row.text("currency", 16)
    if code is not None and not _CURRENCY.fullmatch(code):
        raise row.fail("currency", f"not a 3-letter currency code: {code!r}")
    return {
        "day": day.date(),
        "source": row.plain("source", required=True),
        "medium": row.plain("medium", required=True),
        "campaign": row.plain("campaign") or "",
        "spend": row.money("spend", required=True),
        "currency": (code or currency).upper(),
    }


def _write(
    conn: Connection, batch: list[dict[str, Any]], result: ImportResult, seen: set[tuple[Any, ...]]
) -> list[Rejected]:
    """Upsert by (day, source, medium, campaign); a key repeated in the file keeps its last
    row (one statement may not update a row twice), counted in ``result.merged``."""
    rows: dict[tuple[Any, ...], dict[str, Any]] = {}
    result.add(TABLE, 0)
    for row in batch:
        key = tuple(row[k] for k in KEY)
        if key in seen:
            result.merged += 1
        else:
            seen.add(key)
            result.add(TABLE, 1)
        rows[key] = row
    upsert(conn, AdSpend, list(rows.values()), key=KEY)
    result.rows += len(batch)
    return []
