"""Per-product review insights: sentiment shares, monthly trend, pros and cons, alerts.

Pure functions over plain rows (the store reads and writes them). Every output is
JSON-ready: numbers, strings, lists and dicts, dates as ISO strings.

The alert
---------
A product's *normal* negative share is estimated from its own history — every scored
review older than the recent window (``window_days``, default 30, ending at ``now``)::

    p0 = (negatives_before + 1) / (reviews_before + 2)            (Laplace-smoothed)

or, when the caller passes a store-wide ``prior_share``, shrunk toward it with the
weight of ``prior_weight`` reviews::

    p0 = (negatives_before + prior_weight * prior_share) / (reviews_before + prior_weight)

The recent window's negative share ``p1`` over its ``n1`` reviews is compared with the
upper control limit of a binomial p-chart for a sample of that size::

    upper = p0 + z * sqrt(p0 * (1 - p0) / n1)                       (z = 3 by default)

and the alert fires when ``p1 > upper`` — a one-sided test that the recent share is
above the product's normal range (for z = 3 a false alarm about once in 700 stable
windows under the normal approximation). No alert is raised on a tiny sample: the
window needs at least ``min_recent`` reviews (default 5), and without a ``prior_share``
the history needs at least ``min_history`` reviews (default 10). The result's ``alert``
holds ``active``, ``status`` (``alert``, ``normal``, ``too_few_recent``,
``too_little_history`` or ``no_dates``), ``reason`` (the sentence a merchant reads, in
English, when active), ``reason_code`` and ``reason_params`` (the same sentence as a code
and its numbers, for a reader that writes it in another language: the dashboard),
``note`` (why no alert could be raised), the window, the history and the range.
"""

from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from shopmind.reviews.base import LABELS

POLARITY_NAMES = {1: "positive", 0: "neutral", -1: "negative"}
QUOTE_CHARS = 160


# -- row checking --------------------------------------------------------------------------


def _when(value: Any, where: str) -> datetime | None:
    """A naive UTC datetime from a datetime, an ISO string or None."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            raise ValueError(f"{where}: created_at is not an ISO date: {value!r}") from None
    if not isinstance(value, datetime):
        raise ValueError(f"{where}: created_at must be a datetime, got {type(value).__name__}")
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value


def _label(value: Any, where: str, field: str) -> str:
    if isinstance(value, int) and not isinstance(value, bool) and value in POLARITY_NAMES:
        return POLARITY_NAMES[value]
    if isinstance(value, str) and value in LABELS:
        return value
    raise ValueError(f"{where}: {field} must be one of {', '.join(LABELS)}: {value!r}")


def _field(row: Mapping[str, Any], key: str, where: str) -> Any:
    if not isinstance(row, Mapping):
        raise ValueError(f"{where}: expected a mapping, got {type(row).__name__}")
    if key not in row:
        raise ValueError(f"{where}: missing field {key!r}")
    return row[key]


def _score(value: Any, where: str) -> float:
    try:
        score = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{where}: score must be a number: {value!r}") from None
    if not 0.0 <= score <= 1.0:
        raise ValueError(f"{where}: score must be within [0, 1]: {value!r}")
    return score


def _clean_reviews(reviews: Sequence[Mapping[str, Any]]) -> list[tuple[str, datetime | None, Any]]:
    out = []
    for i, row in enumerate(reviews):
        where = f"reviews[{i}]"
        label = _label(_field(row, "label", where), where, "label")
        rating = row.get("rating") if isinstance(row, Mapping) else None
        out.append((label, _when(row.get("created_at"), where), rating))
    return out


# -- shares and trend ----------------------------------------------------------------------


def _shares(counts: Mapping[str, int], empty: float | None = None) -> dict[str, float | None]:
    n = sum(counts.values())
    return {k: (round(counts.get(k, 0) / n, 4) if n else empty) for k in LABELS}


def _mean_rating(ratings: Iterable[Any]) -> float | None:
    values = [float(r) for r in ratings if isinstance(r, int | float) and not isinstance(r, bool)]
    return round(sum(values) / len(values), 3) if values else None


def _months(first: datetime, last: datetime) -> list[str]:
    out, year, month = [], first.year, first.month
    while (year, month) <= (last.year, last.month):
        out.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return out


def monthly_trend(rows: Sequence[tuple[str, datetime | None, Any]]) -> list[dict[str, Any]]:
    """One entry per calendar month from the first dated review to the last (gaps kept,
    with zero reviews and null shares): count, share per label, mean rating."""
    dated = [r for r in rows if r[1] is not None]
    if not dated:
        return []
    buckets: dict[str, list[tuple[str, datetime | None, Any]]] = defaultdict(list)
    for row in dated:
        buckets[f"{row[1].year:04d}-{row[1].month:02d}"].append(row)
    first = min(r[1] for r in dated)
    last = max(r[1] for r in dated)
    trend = []
    for month in _months(first, last):
        bucket = buckets.get(month, [])
        counts = Counter(r[0] for r in bucket)
        trend.append(
            {
                "month": month,
                "reviews": len(bucket),
                "counts": {k: counts.get(k, 0) for k in LABELS},
                "shares": _shares(counts),
                "average_rating": _mean_rating(r[2] for r in bucket),
            }
        )
    return trend


# -- aspects: pros and cons -----------------------------------------------------------------


def shorten(text: str, limit: int = QUOTE_CHARS) -> str:
    """``text`` on one line, cut at a word boundary to at most ``limit`` characters (…)."""
    text = " ".join(str(text).split())
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    if space >= limit // 2:  # words: cut between them; CJK or one long word: cut anywhere
        cut = cut[:space]
    return cut.rstrip(" ,;:-—") + "…"


def _quote_key(quote: str) -> str:
    return re.sub(r"[\W_]+", " ", quote.casefold()).strip()


def _top_quotes(items: list[tuple[float, str, Any]], k: int, limit: int) -> list[dict[str, Any]]:
    """The ``k`` most confident distinct quotes (same words, case and punctuation aside)."""
    out, seen = [], set()
    for score, sentence, review_id in sorted(items, key=lambda t: (-t[0], str(t[1]))):
        quote = shorten(sentence, limit)
        key = _quote_key(quote)
        if not key or key in seen:
            continue
        seen.add(key)
        out.append({"quote": quote, "score": round(score, 4), "review_id": review_id})
        if len(out) == k:
            break
    return out


def aspect_summary(
    mentions: Sequence[Mapping[str, Any]], top_k: int = 3, quote_chars: int = QUOTE_CHARS
) -> dict[str, dict[str, Any]]:
    """Per aspect: mentions, counts per polarity, net score (positive − negative) / mentions
    in [-1, 1], and the top ``top_k`` pros and cons as short de-duplicated quotes, most
    confident first. Aspects are ordered by mentions, most first."""
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    quotes: dict[tuple[str, str], list[tuple[float, str, Any]]] = defaultdict(list)
    for i, row in enumerate(mentions):
        where = f"mentions[{i}]"
        aspect = _field(row, "aspect", where)
        if not isinstance(aspect, str) or not aspect:
            raise ValueError(f"{where}: aspect must be a non-empty string: {aspect!r}")
        polarity = _label(_field(row, "polarity", where), where, "polarity")
        score = _score(_field(row, "score", where), where)
        counts[aspect][polarity] += 1
        sentence = row.get("sentence") or ""
        if polarity != "neutral" and str(sentence).strip():
            quotes[(aspect, polarity)].append((score, str(sentence), row.get("review_id")))
    out = {}
    for aspect in sorted(counts, key=lambda a: (-sum(counts[a].values()), a)):
        c = counts[aspect]
        n = sum(c.values())
        out[aspect] = {
            "mentions": n,
            "positive": c["positive"],
            "neutral": c["neutral"],
            "negative": c["negative"],
            "net": round((c["positive"] - c["negative"]) / n, 4),
            "pros": _top_quotes(quotes[(aspect, "positive")], top_k, quote_chars),
            "cons": _top_quotes(quotes[(aspect, "negative")], top_k, quote_chars),
        }
    return out


# -- the alert -----------------------------------------------------------------------------


NEGATIVE_SHARE_HIGH = "negative_share_high"
"""``reason_code`` of an active alert: the recent negative share is above its normal range."""


def _pct(share: float) -> str:
    return f"{100 * share:.0f}%"


def negative_share_alert(
    rows: Sequence[tuple[str, datetime | None, Any]],
    now: datetime,
    window_days: int = 30,
    min_recent: int = 5,
    min_history: int = 10,
    z: float = 3.0,
    prior_share: float | None = None,
    prior_weight: float = 10.0,
) -> dict[str, Any]:
    """Compare the last ``window_days`` before ``now`` with the history before them (see the
    module docstring for the statistics). Reviews without a date or after ``now`` are left
    out of both."""
    start = now - timedelta(days=window_days)
    before = [r[0] for r in rows if r[1] is not None and r[1] < start]
    recent = [r[0] for r in rows if r[1] is not None and start <= r[1] <= now]
    n0, neg0 = len(before), before.count("negative")
    n1, neg1 = len(recent), recent.count("negative")
    out: dict[str, Any] = {
        "active": False,
        "status": "normal",
        "reason": None,
        "reason_code": None,
        "reason_params": None,
        "note": None,
        "now": now.isoformat(),
        "window_days": window_days,
        "recent": {
            "since": start.isoformat(),
            "reviews": n1,
            "negative": neg1,
            "negative_share": round(neg1 / n1, 4) if n1 else None,
        },
        "history": {"reviews": n0, "negative": neg0, "negative_share": None},
        "normal_range": None,
        "z_score": None,
    }
    if prior_share is None and n0 < min_history:
        out["status"] = "too_little_history"
        out["note"] = f"only {n0} reviews before the last {window_days} days (need {min_history})"
        return out
    if prior_share is None:
        p0 = (neg0 + 1) / (n0 + 2)
    else:
        if not 0.0 <= prior_share <= 1.0:
            raise ValueError(f"prior_share must be within [0, 1]: {prior_share!r}")
        p0 = (neg0 + prior_weight * prior_share) / (n0 + prior_weight)
    out["history"]["negative_share"] = round(p0, 4)
    if n1 < min_recent:
        out["status"] = "too_few_recent"
        out["note"] = f"only {n1} reviews in the last {window_days} days (need {min_recent})"
        return out
    sigma = math.sqrt(p0 * (1 - p0) / n1)
    upper, lower = min(1.0, p0 + z * sigma), max(0.0, p0 - z * sigma)
    p1 = neg1 / n1
    out["normal_range"] = {"lower": round(lower, 4), "upper": round(upper, 4)}
    out["z_score"] = round((p1 - p0) / sigma, 3) if sigma > 0 else None
    if p1 > upper:
        out["active"] = True
        out["status"] = "alert"
        out["reason"] = (
            f"negative share {_pct(p1)} in the last {window_days} days ({neg1} of {n1} reviews) "
            f"vs {_pct(p0)} normally (upper limit {_pct(upper)})"
        )
        out["reason_code"] = NEGATIVE_SHARE_HIGH
        out["reason_params"] = {
            "share": round(p1, 4),
            "window_days": window_days,
            "negative": neg1,
            "reviews": n1,
            "normal_share": round(p0, 4),
            "upper": round(upper, 4),
        }
    return out


# -- the whole picture ---------------------------------------------------------------------


def product_insights(
    reviews: Sequence[Mapping[str, Any]],
    mentions: Sequence[Mapping[str, Any]] = (),
    now: datetime | None = None,
    *,
    window_days: int = 30,
    min_recent: int = 5,
    min_history: int = 10,
    z: float = 3.0,
    prior_share: float | None = None,
    prior_weight: float = 10.0,
    top_k: int = 3,
    quote_chars: int = QUOTE_CHARS,
) -> dict[str, Any]:
    """One product's insights from its scored reviews and aspect mentions.

    ``reviews`` rows: ``label`` (negative/neutral/positive), ``score``, ``created_at``
    (datetime, ISO string or None), ``rating`` (stars or None). ``mentions`` rows:
    ``aspect``, ``polarity`` (a label, or 1/0/-1), ``score``, ``sentence``, ``created_at``,
    ``review_id``. ``now`` ends the recent window; by default the newest review's date, so a
    replayed or simulated store is judged on its own timeline. Returns ``reviews``,
    ``counts``, ``shares``, ``negative_share``, ``average_rating``, ``trend`` (per month),
    ``aspects`` (see ``aspect_summary``) and ``alert`` (see ``negative_share_alert``).
    """
    if window_days < 1 or min_recent < 1 or min_history < 0 or top_k < 0:
        raise ValueError("window_days and min_recent must be >= 1, min_history and top_k >= 0")
    rows = _clean_reviews(reviews)
    counts = Counter(r[0] for r in rows)
    dates = [r[1] for r in rows if r[1] is not None]
    when = _when(now, "now") if now is not None else (max(dates) if dates else None)
    out: dict[str, Any] = {
        "reviews": len(rows),
        "counts": {k: counts.get(k, 0) for k in LABELS},
        "shares": _shares(counts, empty=0.0),
        "negative_share": round(counts["negative"] / len(rows), 4) if rows else 0.0,
        "average_rating": _mean_rating(r[2] for r in rows),
        "trend": monthly_trend(rows),
        "aspects": aspect_summary(mentions, top_k, quote_chars),
    }
    if when is None:
        out["alert"] = {"active": False, "status": "no_dates", "reason": None,
                        "reason_code": None, "reason_params": None}  # fmt: skip
        out["alert"]["note"] = "no review has a date"
        return out
    out["alert"] = negative_share_alert(
        rows, when, window_days, min_recent, min_history, z, prior_share, prior_weight
    )
    return out


def summarize_store(
    insights: Mapping[Any, Mapping[str, Any]], top: int = 10, min_reviews: int = 5
) -> dict[str, Any]:
    """A cross-product view from ``{product key: product_insights(...)}``: pooled shares,
    products with an alert first (highest recent negative share first), then the products
    with the highest negative share among those with at least ``min_reviews`` reviews, and
    the store-wide net score per aspect."""
    totals: Counter[str] = Counter()
    aspects: dict[str, Counter[str]] = defaultdict(Counter)
    ranked = []
    for key, ins in insights.items():
        totals.update(ins.get("counts", {}))
        for name, a in ins.get("aspects", {}).items():
            aspects[name].update({k: a.get(k, 0) for k in ("mentions", *LABELS)})
        alert = ins.get("alert") or {}
        ranked.append(
            {
                "product": key,
                "reviews": ins.get("reviews", 0),
                "negative_share": ins.get("negative_share", 0.0),
                "recent_negative_share": (alert.get("recent") or {}).get("negative_share"),
                "alert": bool(alert.get("active")),
                "reason": alert.get("reason"),
            }
        )
    alerts = sorted(
        (r for r in ranked if r["alert"]),
        key=lambda r: (-(r["recent_negative_share"] or 0.0), str(r["product"])),
    )
    worst = sorted(
        (r for r in ranked if not r["alert"] and r["reviews"] >= min_reviews),
        key=lambda r: (-r["negative_share"], -r["reviews"], str(r["product"])),
    )
    n = sum(totals.values())
    return {
        "products": len(ranked),
        "reviews": n,
        "counts": {k: totals.get(k, 0) for k in LABELS},
        "shares": _shares(totals, empty=0.0),
        "alerts": alerts,
        "worst": worst[: max(0, top - len(alerts))] if top else [],
        "aspects": {
            name: {
                "mentions": c["mentions"],
                "net": round((c["positive"] - c["negative"]) / c["mentions"], 4)
                if c["mentions"]
                else None,
            }
            for name, c in sorted(aspects.items(), key=lambda kv: -kv[1]["mentions"])
        },
    }
