"""Trends and anomalies: daily KPIs against a seasonal baseline, and the demand signals the
store holds itself — what shoppers search for, what they cannot find, what they look at.

**Anomalies.** Per day: sessions, conversion rate (sessions with a purchase ÷ sessions),
revenue and average order value (orders that are not cancelled). A day's expected value is
the median of the same weekday over the previous ``weeks`` weeks; the range around it is
drawn from how far those weekdays strayed from their own medians (a robust spread, scaled
to a normal's standard deviation), widened for rates by the binomial noise of the day's
sessions. A day outside its range is an alert, strong beyond ``2 ×`` the range.

**Demand.** Site-search terms (GA4 ``search`` / ``view_search_results`` with
``search_term``; one count per session and term) and product and category views, compared
between the later and the earlier half of the period. A term or product *rises* when its
share of all searches (views) grew and a binomial test of the later half's count, given
the two halves' totals, says so with the false discovery rate over all terms (products,
categories) held at 5 % (``falls`` likewise). Searches that find
no product are terms for which no active product holds all the term's words (in its
title, category or brand); Chinese terms are matched as a whole string.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import ibis
import numpy as np
from scipy import stats

from shopmind.insights.acquisition import sessions_table
from shopmind.insights.common import Period, clean, in_period
from shopmind.insights.engine import InsightsError, Tables
from shopmind.insights.segments import paid_orders

KPIS = ("sessions", "conversion_rate", "revenue", "aov")
SEARCH_EVENTS = ("search", "view_search_results")
MAD_TO_SD = 1.4826
RARE_P = 0.001  # a day's order count this unlikely, and off by half or more, is an alert
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_WORD = re.compile(r"[^\W_]+", re.UNICODE)


# -- daily KPIs and anomalies -------------------------------------------------------------------


def daily_kpis(tables: Tables, period: Period) -> list[dict[str, Any]]:
    """One row per day of ``period``: sessions, conversions, conversion_rate, orders,
    revenue, aov (days without data are zeros)."""
    s = sessions_table(tables, period)
    per = s.group_by(day=s.start.date()).agg(
        sessions=s.count(), conversions=(s.purchases > 0).cast("int64").sum()
    )
    o = paid_orders(tables, period.end)
    o = o.filter(in_period(o.created_at, period))
    sales = o.group_by("day").agg(
        orders=o.count(), revenue=o.total.sum(), squares=(o.total * o.total).sum()
    )
    a, b = tables.execute(per), tables.execute(sales)
    traffic = {
        _as_date(d): (int(n), int(k))
        for d, n, k in zip(a.day, a.sessions, a.conversions, strict=True)
    }
    money = {
        _as_date(d): (int(n), float(r), float(q))
        for d, n, r, q in zip(b.day, b.orders, b.revenue, b.squares, strict=True)
    }
    out = []
    for i in range(period.days):
        day = period.start + timedelta(days=i)
        n, k = traffic.get(day, (0, 0))
        orders, revenue, squares = money.get(day, (0, 0.0, 0.0))
        out.append(
            {
                "day": day.isoformat(),
                "sessions": n,
                "conversions": k,
                "conversion_rate": k / n if n else None,
                "orders": orders,
                "revenue": round(revenue, 2),
                "aov": round(revenue / orders, 2) if orders else None,
                "order_value_squares": squares,
            }
        )
    return out


def _as_date(value: Any) -> date:
    if hasattr(value, "date") and callable(value.date):
        return value.date()
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


@dataclass
class AnomalyResult:
    period: Period
    weeks: int
    days: list[dict[str, Any]]
    alerts: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "period": self.period.to_dict(),
            "baseline_weeks": self.weeks,
            "days": self.days,
            "alerts": self.alerts,
        }


def anomalies(
    tables: Tables, period: Period, *, weeks: int = 4, threshold: float = 3.5
) -> AnomalyResult:
    """Each day of ``period`` against its weekday baseline; ``alerts`` lists the days (and
    KPIs) outside the expected range, newest first."""
    if not 2 <= weeks <= 26:
        raise InsightsError("the baseline spans 2 to 26 weeks")
    if not 1.0 <= threshold <= 10.0:
        raise InsightsError("the alert threshold is 1 to 10 spreads")
    history = Period(period.start - timedelta(days=7 * weeks), period.end)
    rows = daily_kpis(tables, history)
    by_day = {r["day"]: r for r in rows}
    out, alerts = [], []
    for i in range(period.days):
        day = period.start + timedelta(days=i)
        row = dict(by_day[day.isoformat()])
        past = [by_day[(day - timedelta(days=7 * w)).isoformat()] for w in range(1, weeks + 1)]
        row["expected"] = {}
        for kpi in KPIS:
            band = _band(kpi, row, past, threshold)
            row["expected"][kpi] = list(band) if band else None
            if band is None or row[kpi] is None:
                continue
            value, (mid, low, high) = row[kpi], band
            if low <= value <= high and not _rare_conversions(kpi, row, past, threshold):
                continue
            spread = (high - low) / (2 * threshold) or 1e-9
            alerts.append(
                {
                    "day": row["day"],
                    "kpi": kpi,
                    "value": value,
                    "expected": mid,
                    "low": low,
                    "high": high,
                    "direction": "up" if value > high else "down",
                    "severity": _severity(value, mid, spread, threshold),
                    "z": round((value - mid) / spread, 2),
                    "change": (value / mid - 1.0) if mid else None,
                    **(_orders(row, mid) if kpi == "conversion_rate" else {}),
                }
            )
        row.pop("order_value_squares", None)
        out.append(row)
    alerts.sort(key=lambda a: (a["day"], -KPIS.index(a["kpi"])), reverse=True)
    return AnomalyResult(period, weeks, out, alerts)


def _orders(row: dict[str, Any], rate: float) -> dict[str, Any]:
    return {"orders": row["conversions"], "expected_orders": round(rate * row["sessions"], 1)}


def _rare_conversions(
    kpi: str, row: dict[str, Any], past: list[dict[str, Any]], threshold: float
) -> bool:
    """A day's conversions half (or twice) what the same weekdays' pooled rate predicts, and
    that unlikely by the exact binomial tail (p < :data:`RARE_P`, one side).
    A small store's day holds few orders: the normal range around its rate is too wide to
    see a checkout that broke; the count itself still tells."""
    if kpi != "conversion_rate" or not row["sessions"]:
        return False
    n = sum(p["sessions"] for p in past)
    k = sum(p["conversions"] for p in past)
    if not n or not k:
        return False
    rate, day_n, day_k = k / n, row["sessions"], row["conversions"]
    expected = rate * day_n
    if 0.5 * expected < day_k < 2 * expected:
        return False
    tail = RARE_P
    if day_k <= expected:
        return float(stats.binom.cdf(day_k, day_n, rate)) < tail
    return float(stats.binom.sf(day_k - 1, day_n, rate)) < tail


def _severity(value: float, mid: float, spread: float, threshold: float) -> str:
    """strong: beyond twice the range, or half the expected value gone (or doubled)."""
    far = abs(value - mid) > 2 * threshold * spread
    big = bool(mid) and (value <= 0.5 * mid or value >= 2 * mid)
    return "strong" if far or big else "mild"


def _band(
    kpi: str, row: dict[str, Any], past: list[dict[str, Any]], threshold: float
) -> tuple[float, float, float] | None:
    """(expected, low, high) for one KPI of one day, from the same weekday before.

    The spread is the larger of the weekdays' own robust spread and the noise the day's
    counts carry anyway (Poisson sessions, binomial conversions, the order values' spread),
    widened for the uncertainty of a median of few weeks (its variance ≈ π/2 · σ² / k)."""
    used = [p for p in past if p[kpi] is not None and p["sessions"] > 0]
    values = np.array([p[kpi] for p in used], float)
    if len(values) < 2:
        return None
    mid = float(np.median(values))
    spread = MAD_TO_SD * float(np.median(np.abs(values - mid)))
    orders = sum(p["orders"] for p in used)
    if kpi == "revenue" and not orders:  # no order in those weeks: no scale for a day's revenue
        return None
    mean_sq = sum(p["order_value_squares"] for p in used) / orders if orders else 0.0
    if kpi == "sessions":
        noise = math.sqrt(max(mid, 1.0))
    elif kpi == "conversion_rate":
        n = row["sessions"]  # the weeks' pooled rate: their median may be 0 in a quiet store
        rate = sum(p["conversions"] for p in used) / sum(p["sessions"] for p in used)
        noise = math.sqrt(max(rate * (1 - rate), 1 / n) / n) if n else 0.0
    elif kpi == "revenue":  # compound Poisson: orders × order values
        noise = math.sqrt(max(orders / len(used), 1.0) * mean_sq)
    else:  # aov: the spread of order values over the day's orders
        mean = sum(p["revenue"] for p in used) / orders if orders else 0.0
        var = max(mean_sq - mean * mean, 0.0)
        noise = math.sqrt(var / max(row["orders"], 1))
    spread = max(spread, noise) * math.sqrt(1 + math.pi / 2 / len(values))
    spread = max(spread, 1e-9)
    low = max(mid - threshold * spread, 0.0)
    return round(mid, 6), round(low, 6), round(mid + threshold * spread, 6)


# -- demand: searches, views ---------------------------------------------------------------------


def _halves(period: Period) -> tuple[Period, Period]:
    if period.days < 2:
        raise InsightsError("demand trends compare two halves: the period needs 2 days or more")
    mid = period.start + timedelta(days=period.days // 2)
    return Period(period.start, mid - timedelta(days=1)), Period(mid, period.end)


def _trend_rows(
    counts: dict[str, tuple[int, int]], totals: tuple[int, int], min_count: int, fdr: float
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Rising and falling keys from (earlier, later) counts: a binomial test of each key's
    later count given the two halves' totals, with the false discovery rate held at
    ``fdr`` over all keys tested (Benjamini–Hochberg)."""
    t1, t2 = totals
    if not t1 or not t2:
        return [], []
    p0 = t2 / (t1 + t2)
    tested = []
    for key, (a, b) in counts.items():
        n = a + b
        if n < min_count:
            continue
        share1, share2 = a / t1, b / t2
        up = b / n > p0
        p = stats.binomtest(b, n, p0, alternative="greater" if up else "less").pvalue
        tested.append(
            {
                "key": key,
                "earlier": a,
                "later": b,
                "share_earlier": share1,
                "share_later": share2,
                "growth": (share2 / share1 - 1.0) if share1 else None,
                "p_value": min(1.0, 2 * float(p)),  # two-sided: either direction was possible
                "_up": up,
            }
        )
    tested.sort(key=lambda r: r["p_value"])
    m, cut = len(tested), 0
    for i, r in enumerate(tested, start=1):
        if r["p_value"] <= fdr * i / m:
            cut = i
    found = tested[:cut]
    rising = [r for r in found if r["_up"]]
    falling = [r for r in found if not r["_up"]]
    for r in found:
        del r["_up"]
    rising.sort(key=lambda r: (r["p_value"], -r["later"], r["key"]))
    falling.sort(key=lambda r: (r["p_value"], -r["earlier"], r["key"]))
    return rising, falling


@dataclass
class DemandResult:
    period: Period
    searches: int
    top_terms: list[dict[str, Any]]
    rising_terms: list[dict[str, Any]]
    falling_terms: list[dict[str, Any]]
    not_found: list[dict[str, Any]]
    rising_products: list[dict[str, Any]]
    falling_products: list[dict[str, Any]]
    rising_categories: list[dict[str, Any]]
    falling_categories: list[dict[str, Any]]

    def to_dict(self) -> dict[str, Any]:
        return {
            "period": self.period.to_dict(),
            **{k: v for k, v in self.__dict__.items() if k != "period"},
        }


def demand(
    tables: Tables, period: Period, *, min_count: int = 10, fdr: float = 0.05, limit: int = 20
) -> DemandResult:
    """Search and view trends of ``period`` (later half against earlier half)."""
    _, second = _halves(period)
    e = tables.events
    s = e.filter(e.name.isin(SEARCH_EVENTS), e.search_term.notnull(), in_period(e.ts, period))
    s = s.mutate(
        term=s.search_term.strip().lower(),
        unit=ibis.coalesce(s.session_id, s.user_id),
        later=(s.ts >= second.lo).cast("int64"),
    )
    s = s.filter(s.term != "")
    pairs = s.group_by(["unit", "term"]).agg(later=s.later.min())
    per_term = tables.execute(
        pairs.group_by("term").agg(searches=pairs.count(), later=pairs.later.sum())
    )
    counts = {
        str(t): (int(n) - int(k), int(k))
        for t, n, k in zip(per_term.term, per_term.searches, per_term.later, strict=True)
    }
    totals = (sum(a for a, _ in counts.values()), sum(b for _, b in counts.values()))
    rising, falling = _trend_rows(counts, totals, min_count, fdr)
    top = sorted(counts.items(), key=lambda kv: (-(kv[1][0] + kv[1][1]), kv[0]))[:limit]
    catalog = _catalog_words(tables)
    not_found = [
        {"term": t, "searches": a + b, "later": b}
        for t, (a, b) in sorted(counts.items(), key=lambda kv: (-(kv[1][0] + kv[1][1]), kv[0]))
        if not _found(t, catalog)
    ][:limit]

    def termed(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        out = []
        for r in rows[:limit]:
            r = dict(r)
            term = r.pop("key")
            out.append({"term": term, **r, "in_catalog": _found(term, catalog)})
        return out

    views = _view_trends(tables, period, second, min_count, fdr, limit)
    return DemandResult(
        period,
        sum(totals),
        [{"term": t, "searches": a + b, "earlier": a, "later": b} for t, (a, b) in top],
        termed(rising),
        termed(falling),
        not_found,
        *views,
    )


def _view_trends(
    tables: Tables, period: Period, second: Period, min_count: int, fdr: float, limit: int
) -> tuple[list[dict[str, Any]], ...]:
    e = tables.events
    v = e.filter(e.name == "view_item", e.item_id.notnull(), in_period(e.ts, period))
    v = v.mutate(later=(v.ts >= second.lo).cast("int64"))
    p = tables["products"]
    per = v.group_by("item_id").agg(views=v.count(), later=v.later.sum())
    joined = per.left_join(p, per.item_id == p.external_id)
    frame = tables.execute(
        joined.select(
            item_id=joined.item_id, views=joined.views, later=joined.later,
            title=joined.title, category=joined.category,
        )
    )  # fmt: skip
    counts: dict[str, tuple[int, int]] = {}
    cats: dict[str, list[int]] = {}
    titles: dict[str, Any] = {}
    for row in frame.to_dict("records"):
        n, k = int(row["views"]), int(row["later"])
        key = str(row["item_id"])
        counts[key] = (n - k, k)
        titles[key] = (clean(row["title"]), clean(row["category"]))
        cat = clean(row["category"]) or "(no category)"
        c = cats.setdefault(cat, [0, 0])
        c[0] += n - k
        c[1] += k
    totals = (sum(a for a, _ in counts.values()), sum(b for _, b in counts.values()))
    up, down = _trend_rows(counts, totals, min_count, fdr)
    cup, cdown = _trend_rows({k: (a, b) for k, (a, b) in cats.items()}, totals, min_count, fdr)

    def named(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        out = []
        for r in rows[:limit]:
            r = dict(r)
            key = r.pop("key")
            title, category = titles.get(key, (None, None))
            out.append({"item_id": key, "title": title, "category": category, **r})
        return out

    def catnamed(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [
            {"category": r["key"], **{k: v for k, v in r.items() if k != "key"}}
            for r in rows[:limit]
        ]

    return named(up), named(down), catnamed(cup), catnamed(cdown)


def _stems(word: str) -> set[str]:
    """A word and its singular guesses (shoes → shoe, dresses → dress; glass stays)."""
    out = {word}
    if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
        out.add(word[:-1])
        if len(word) > 4 and word.endswith(("ses", "xes", "zes", "ches", "shes")):
            out.add(word[:-2])
    return out


def _words(text: str) -> set[str]:
    """Every word of ``text`` (lower case) with its singular guesses."""
    return {stem for w in _WORD.findall(text.lower()) for stem in _stems(w)}


def _catalog_words(tables: Tables) -> list[tuple[set[str], str]]:
    p = tables["products"]
    frame = tables.execute(
        p.filter(ibis.coalesce(p.status, "active") == "active").select("title", "category", "brand")
    )
    out = []
    for row in frame.to_dict("records"):
        text = " ".join(str(v) for v in row.values() if v is not None and v == v)
        out.append((_words(text), text.lower()))
    return out


def _found(term: str, catalog: list[tuple[set[str], str]]) -> bool:
    """Whether some active product holds every word of ``term`` (each word as written or as
    its singular guess). A Chinese term is matched as a whole string — and counts as found
    when the catalog has no Chinese text at all: nothing can be told then, and "stock it"
    would be a guess."""
    if _CJK.search(term):
        if not any(_CJK.search(text) for _, text in catalog):
            return True
        return any(term in text for _, text in catalog)
    wanted = [_stems(w) for w in _WORD.findall(term.lower())]
    if not wanted:
        return True
    return any(all(forms & words for forms in wanted) for words, _ in catalog)
