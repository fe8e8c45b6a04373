"""Product conversion against the product's category: which products lose the shoppers who
look at them.

A product's *view sessions* are the sessions with a ``view_item`` of it (its external id,
or a SKU of one of its variants); its *orders* are the orders that are not cancelled and
hold a line of it, in the same period. Conversion is orders ÷ view sessions. Its category's
rate is that of the category's other products together; a product *underperforms* when a
binomial test of its orders against the category's rate says it is lower, with the false
discovery rate over all products tested held at 5 %.
"""

from __future__ import annotations

from typing import Any

import ibis
from scipy import stats

from shopmind.insights.common import Period, clean, in_period, session_key
from shopmind.insights.engine import Tables


def product_conversion(
    tables: Tables, period: Period, *, min_views: int = 50, fdr: float = 0.05
) -> list[dict[str, Any]]:
    """Per product with at least ``min_views`` view sessions: views, orders, conversion,
    its category's conversion, the ratio, the p-value and ``underperforms``; worst first."""
    e, p, v = tables.events, tables["products"], tables["variants"]
    views = e.filter(e.name == "view_item", e.item_id.notnull(), in_period(e.ts, period))
    views = views.mutate(unit=session_key(views))
    schema = ibis.schema({"key": "string", "pid": "int64"})  # nullable on every backend
    ids = (
        p.select(key=p.external_id, pid=p.id)
        .cast(schema)
        .union(v.filter(v.sku.notnull()).select(key=v.sku, pid=v.product_id).cast(schema))
    )
    ids = ids.group_by("key").agg(pid=ids.pid.min())
    viewed = views.join(ids, views.item_id == ids.key)
    per_view = viewed.group_by("pid").agg(view_sessions=viewed.unit.nunique())
    o, lines = tables.orders, tables["order_lines"]
    paid = o.filter(o.cancelled_at.isnull(), in_period(o.created_at, period)).select(oid=o.id)
    bought = lines.join(paid, lines.order_id == paid.oid)
    per_order = bought.group_by(pid=bought.product_id).agg(orders=bought.order_id.nunique())
    joined = per_view.left_join(per_order, per_view.pid == per_order.pid)
    joined = joined.select(
        pid=joined.pid, view_sessions=joined.view_sessions,
        orders=ibis.coalesce(joined.orders, 0),
    )  # fmt: skip
    named = joined.join(p, joined.pid == p.id).select(
        product_id=joined.pid, external_id=p.external_id, title=p.title,
        category=ibis.coalesce(p.category, "(no category)"), price=p.price,
        view_sessions=joined.view_sessions, orders=joined.orders,
    )  # fmt: skip
    frame = tables.execute(named)
    rows = [{k: clean(v) for k, v in r.items()} for r in frame.to_dict("records")]
    by_cat: dict[str, list[int]] = {}
    for r in rows:
        c = by_cat.setdefault(r["category"], [0, 0])
        c[0] += int(r["view_sessions"])
        c[1] += int(r["orders"])
    tested = []
    for r in rows:
        n, k = int(r["view_sessions"]), int(r["orders"])
        cat_n, cat_k = by_cat[r["category"]]
        rest_n, rest_k = cat_n - n, cat_k - k
        r["conversion"] = k / n if n else None
        r["category_conversion"] = rest_k / rest_n if rest_n else None
        r["ratio"] = (
            r["conversion"] / r["category_conversion"] if r["category_conversion"] else None
        )
        r["p_value"] = None
        r["underperforms"] = False
        if n >= min_views and rest_n >= min_views and 0 < r["category_conversion"] < 1:
            p0 = r["category_conversion"]
            r["p_value"] = float(stats.binomtest(k, n, p0, alternative="less").pvalue)
            tested.append(r)
    tested.sort(key=lambda r: r["p_value"])
    cut = 0
    for i, r in enumerate(tested, start=1):
        if r["p_value"] <= fdr * i / len(tested):
            cut = i
    for r in tested[:cut]:
        r["underperforms"] = True
    rows = [r for r in rows if r["view_sessions"] >= min_views]
    rows.sort(
        key=lambda r: (
            not r["underperforms"],
            r["ratio"] if r["ratio"] is not None else 9,
            r["product_id"],
        )
    )
    return rows
