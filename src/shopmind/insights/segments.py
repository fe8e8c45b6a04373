"""RFM segments: who buys recently, often and for much — and who is slipping away.

Per customer, from orders that are not cancelled up to the day ``as_of``: recency (days
since the last order), frequency (orders) and monetary value (order totals), each scored
1–5 by percentile among the customers (5 = most recent, most orders, most spent; tied
values share a score, so the scores are the same on every engine). Named segments, the
first rule that matches:

=====================  ==========================================
champions              R ≥ 4 and F ≥ 4
new                    R ≥ 4 and one order
loyal                  R ≥ 3 and F ≥ 3
potential_loyalists    R ≥ 3
cant_lose              R ≤ 2 and F ≥ 4 (bought often, gone quiet)
at_risk                R ≤ 2 and F ≥ 2 … or R = 2 and M ≥ 4
hibernating            R = 2
lost                   the rest (R = 1, few orders)
=====================  ==========================================

A customer is a customer record, or the e-mail address of an order without one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

import ibis
import ibis.expr.types as ir

from shopmind.insights.common import clean, flag, records
from shopmind.insights.engine import InsightsError, Tables

SEGMENTS = (
    "champions", "new", "loyal", "potential_loyalists", "cant_lose", "at_risk",
    "hibernating", "lost",
)  # fmt: skip
DESCRIPTIONS = {
    "champions": "bought recently, buy often and spend the most",
    "new": "first order recently",
    "loyal": "buy regularly",
    "potential_loyalists": "recent customers with a few orders",
    "cant_lose": "used to buy often, nothing for a long while",
    "at_risk": "spent well or came back before, but not lately",
    "hibernating": "one or two orders, some time ago",
    "lost": "one order, long ago",
}


def paid_orders(tables: Tables, until: date | None = None) -> ir.Table:
    """Orders that are not cancelled, with a customer key (``who``) and a ``day``."""
    o = tables.orders
    o = o.filter(o.cancelled_at.isnull())
    if until is not None:
        o = o.filter(o.created_at < datetime.combine(until + timedelta(days=1), time.min))
    who = ibis.coalesce(
        o.customer_id.cast("string"), ibis.literal("email:").concat(o.email.lower())
    )
    return o.mutate(who=who, day=o.created_at.date(), total=ibis.coalesce(o.total, 0.0)).filter(
        who.notnull()
    )


def _score(column: ir.Value, descending: bool = False) -> ir.IntegerValue:
    order = ibis.desc(column) if descending else column
    rank = ibis.percent_rank().over(ibis.window(order_by=order))
    return ibis.least((rank * 5).floor().cast("int64") + 1, 5)


def rfm_table(tables: Tables, as_of: date) -> ir.Table:
    """One row per customer: recency_days, orders, monetary, first/last order day, the
    three scores and the segment name."""
    o = paid_orders(tables, as_of)
    per = o.group_by("who").agg(
        customer_id=o.customer_id.max(),
        email=o.email.max(),
        orders=o.count(),
        monetary=o.total.sum(),
        first_order=o.day.min(),
        last_order=o.day.max(),
    )
    per = per.mutate(
        recency_days=ibis.literal(as_of).delta(per.last_order, unit="day").cast("int64")
    )
    per = per.mutate(
        r=_score(per.recency_days, descending=True),
        f=_score(per.orders),
        m=_score(per.monetary),
    )
    segment = ibis.cases(
        ((per.r >= 4) & (per.f >= 4), "champions"),
        ((per.r >= 4) & (per.orders == 1), "new"),
        ((per.r >= 3) & (per.f >= 3), "loyal"),
        (per.r >= 3, "potential_loyalists"),
        (per.f >= 4, "cant_lose"),
        ((per.f >= 2) | ((per.r == 2) & (per.m >= 4)), "at_risk"),
        (per.r == 2, "hibernating"),
        else_="lost",
    )
    per = per.mutate(segment=segment)
    c = tables["customers"]
    people = c.select(
        cid=c.id, external_id=c.external_id, c_email=c.email, first_name=c.first_name,
        last_name=c.last_name, accepts_marketing=c.accepts_marketing,
    )  # fmt: skip
    joined = per.left_join(people, per.customer_id == people.cid)
    return joined.select(
        "who", "customer_id", "external_id",
        email=ibis.coalesce(joined.c_email, joined.email),
        first_name=joined.first_name, last_name=joined.last_name,
        accepts_marketing=joined.accepts_marketing,
        orders=joined.orders, monetary=joined.monetary, first_order=joined.first_order,
        last_order=joined.last_order, recency_days=joined.recency_days, r=joined.r,
        f=joined.f, m=joined.m, segment=joined.segment,
    )  # fmt: skip


def segment_table(tables: Tables, as_of: date) -> ir.Table:
    """Customer ``external_id`` → ``segment`` (for joining events, which name customers by
    external id)."""
    t = rfm_table(tables, as_of)
    return t.filter(t.external_id.notnull()).select("external_id", "segment")


@dataclass
class SegmentsResult:
    as_of: date
    customers: int
    segments: list[dict[str, Any]]

    def to_dict(self) -> dict[str, Any]:
        return {
            "as_of": self.as_of.isoformat(),
            "customers": self.customers,
            "segments": self.segments,
        }


def segments(tables: Tables, as_of: date) -> SegmentsResult:
    """Customers, revenue and averages per segment (every segment listed, empty ones too)."""
    t = rfm_table(tables, as_of)
    agg = t.group_by("segment").agg(
        customers=t.count(),
        revenue=t.monetary.sum(),
        avg_orders=t.orders.mean(),
        avg_monetary=t.monetary.mean(),
        avg_recency_days=t.recency_days.mean(),
        marketable=flag(t.accepts_marketing).sum(),
    )
    frame = tables.execute(agg)
    found = {r["segment"]: r for r in records(frame)}
    total = sum(int(r["customers"]) for r in found.values())
    out = []
    for name in SEGMENTS:
        r = found.get(name)
        n = int(r["customers"]) if r else 0
        out.append(
            {
                "segment": name,
                "description": DESCRIPTIONS[name],
                "customers": n,
                "share": n / total if total else None,
                "revenue": round(float(r["revenue"] or 0.0), 2) if r else 0.0,
                "avg_orders": r["avg_orders"] if r else None,
                "avg_monetary": r["avg_monetary"] if r else None,
                "avg_recency_days": r["avg_recency_days"] if r else None,
                "marketable": int(r["marketable"] or 0) if r else 0,
            }
        )
    return SegmentsResult(as_of, total, out)


EXPORT_COLUMNS = (
    "customer_id", "external_id", "email", "first_name", "last_name", "accepts_marketing",
    "segment", "r", "f", "m", "recency_days", "orders", "monetary", "first_order", "last_order",
)  # fmt: skip


def segment_customers(
    tables: Tables, as_of: date, segment: str | None = None, limit: int | None = None
) -> list[dict[str, Any]]:
    """The customer list of one segment (or all), most valuable first — for export."""
    if segment is not None and segment not in SEGMENTS:
        raise InsightsError(f"unknown segment {segment!r}; choose one of {', '.join(SEGMENTS)}")
    t = rfm_table(tables, as_of)
    if segment is not None:
        t = t.filter(t.segment == segment)
    t = t.order_by([ibis.desc("monetary"), "who"])
    if limit is not None:
        t = t.limit(limit)
    frame = tables.execute(t.select(*EXPORT_COLUMNS))
    out = [{k: clean(v) for k, v in row.items()} for row in frame.to_dict("records")]
    for row in out:
        for key in ("first_order", "last_order"):
            row[key] = row[key][:10] if isinstance(row[key], str) else row[key]
    return out
