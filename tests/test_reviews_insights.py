"""Per-product insights on review lists whose answer is known: shares, monthly trend,
pros and cons, and the negative-share alert (its false-alarm and detection rates too)."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta

import pytest

from shopmind.reviews.aspects import AspectExtractor
from shopmind.reviews.base import stars_to_label
from shopmind.reviews.insights import product_insights, shorten, summarize_store
from shopmind.reviews.lexicon import LexiconSentiment
from shopmind.store.models import Product, Review
from shopmind.store.reviews import aspect_results, review_results, write_review_results
from shopmind.store.writer import id_map, upsert

NOW = datetime(2026, 6, 30, 12, 0)


def review(label: str, days_ago: float, rating: int | None = None) -> dict:
    return {
        "label": label,
        "score": 0.9,
        "created_at": NOW - timedelta(days=days_ago),
        "rating": rating,
    }


def history(n: int, negative_every: int, start: int = 40, span: int = 300) -> list[dict]:
    """``n`` reviews spread over ``span`` days before day ``start``; every k-th one negative."""
    return [
        review("negative" if i % negative_every == 0 else "positive", start + span * i / n)
        for i in range(n)
    ]


def recent(n: int, negatives: int) -> list[dict]:
    return [review("negative" if i < negatives else "positive", 1 + i % 28) for i in range(n)]


# -- shares and trend ----------------------------------------------------------------------


def test_counts_and_shares() -> None:
    rows = [review("negative", 5, 1)] * 3 + [review("neutral", 5, 3)] * 2
    rows += [review("positive", 5, 5)] * 5
    out = product_insights(rows, [], now=NOW)
    assert out["reviews"] == 10
    assert out["counts"] == {"negative": 3, "neutral": 2, "positive": 5}
    assert out["shares"] == {"negative": 0.3, "neutral": 0.2, "positive": 0.5}
    assert out["negative_share"] == 0.3
    assert out["average_rating"] == pytest.approx((3 * 1 + 2 * 3 + 5 * 5) / 10)
    json.dumps(out)  # JSON-ready as it stands


def test_trend_buckets_by_calendar_month_and_keeps_gaps() -> None:
    rows = [
        {"label": "negative", "score": 1, "created_at": datetime(2026, 1, 31, 23, 59), "rating": 1},
        {"label": "positive", "score": 1, "created_at": "2026-01-01T00:00:00", "rating": 5},
        {"label": "positive", "score": 1, "created_at": datetime(2026, 3, 1), "rating": 4},
        # 23:30 on 31 March in New York is already April in UTC
        {"label": "neutral", "score": 1, "created_at": "2026-03-31T23:30:00-04:00", "rating": 3},
        {"label": "positive", "score": 1, "created_at": None, "rating": 5},  # counted, undated
    ]
    out = product_insights(rows, [])
    assert out["reviews"] == 5
    trend = out["trend"]
    assert [m["month"] for m in trend] == ["2026-01", "2026-02", "2026-03", "2026-04"]
    assert [m["reviews"] for m in trend] == [2, 0, 1, 1]
    assert trend[0]["shares"] == {"negative": 0.5, "neutral": 0.0, "positive": 0.5}
    assert trend[1]["shares"] == {"negative": None, "neutral": None, "positive": None}
    assert trend[0]["average_rating"] == 3.0 and trend[3]["counts"]["neutral"] == 1
    assert out["alert"]["now"] == "2026-04-01T03:30:00"  # default: the newest review


# -- the alert -----------------------------------------------------------------------------


def test_rising_negative_share_raises_an_alert() -> None:
    rows = history(120, negative_every=10) + recent(20, negatives=10)
    out = product_insights(rows, [], now=NOW)
    alert = out["alert"]
    assert alert["active"] and alert["status"] == "alert"
    assert alert["recent"] == {
        "since": (NOW - timedelta(days=30)).isoformat(), "reviews": 20, "negative": 10,
        "negative_share": 0.5,
    }  # fmt: skip
    assert alert["history"]["reviews"] == 120 and alert["history"]["negative"] == 12
    assert alert["normal_range"]["upper"] < 0.5
    assert alert["reason"].startswith("negative share 50% in the last 30 days (10 of 20 reviews)")
    # p0 = (12 + 1) / (120 + 2) = 0.107; upper = p0 + 3 * sqrt(p0 * (1 - p0) / 20) = 0.313
    assert alert["history"]["negative_share"] == pytest.approx(13 / 122, abs=1e-4)
    assert alert["normal_range"]["upper"] == pytest.approx(0.3135, abs=1e-3)
    assert "vs 11% normally (upper limit 31%)" in alert["reason"]


def test_stable_product_raises_none() -> None:
    rows = history(120, negative_every=10) + recent(20, negatives=2)
    alert = product_insights(rows, [], now=NOW)["alert"]
    assert not alert["active"] and alert["status"] == "normal" and alert["reason"] is None
    assert alert["normal_range"]["lower"] <= 0.1 <= alert["normal_range"]["upper"]


def test_tiny_recent_sample_raises_none() -> None:
    rows = history(120, negative_every=10) + recent(4, negatives=4)
    alert = product_insights(rows, [], now=NOW)["alert"]
    assert not alert["active"] and alert["status"] == "too_few_recent"
    assert "only 4 reviews in the last 30 days (need 5)" in alert["note"]


def test_no_history_needs_a_prior() -> None:
    rows = history(6, negative_every=10) + recent(10, negatives=8)
    alert = product_insights(rows, [], now=NOW)["alert"]
    assert not alert["active"] and alert["status"] == "too_little_history"
    with_prior = product_insights(rows, [], now=NOW, prior_share=0.1)["alert"]
    assert with_prior["active"]  # 80% against a store-wide 10%


def test_window_and_thresholds_are_parameters() -> None:
    rows = history(120, negative_every=10) + recent(20, negatives=10)
    assert not product_insights(rows, [], now=NOW, min_recent=30)["alert"]["active"]
    assert not product_insights(rows, [], now=NOW, z=10)["alert"]["active"]
    week = product_insights(rows, [], now=NOW, window_days=7)["alert"]
    assert week["window_days"] == 7 and week["recent"]["reviews"] < 20


def test_alert_rates_on_random_products() -> None:
    """Stable products (15% negative throughout) rarely alert; products whose recent
    negative share rises to 50% mostly do — with 20 recent reviews. Measured over 2,000
    products each: 1.0% false alarms; detection 77% at 50% (66% at 45%, 95% at 60%)."""
    r = random.Random(7)

    def product(p_recent: float) -> list[dict]:
        old = [
            review("negative" if r.random() < 0.15 else "positive", 31 + r.random() * 300)
            for _ in range(100)
        ]
        new = [
            review("negative" if r.random() < p_recent else "positive", r.random() * 29)
            for _ in range(20)
        ]
        return old + new

    stable = sum(
        product_insights(product(0.15), [], now=NOW)["alert"]["active"] for _ in range(300)
    )
    rising = sum(
        product_insights(product(0.45), [], now=NOW)["alert"]["active"] for _ in range(300)
    )
    assert stable / 300 <= 0.02, stable
    assert rising / 300 >= 0.6, rising


# -- aspects: pros and cons ----------------------------------------------------------------


def mention(aspect: str, polarity, score: float, sentence: str, review_id: int = 1) -> dict:
    return {
        "aspect": aspect, "polarity": polarity, "score": score, "sentence": sentence,
        "created_at": NOW, "review_id": review_id,
    }  # fmt: skip


def test_pros_and_cons_are_planted_quotes_most_confident_first() -> None:
    mentions = [
        mention("quality", "positive", 0.70, "Nice stitching.", 1),
        mention("quality", "positive", 0.95, "Superb craftsmanship!", 2),
        mention("quality", "positive", 0.90, "superb  craftsmanship", 3),  # same words
        mention("quality", "negative", 0.80, "A seam came undone.", 4),
        mention("quality", "neutral", 0.99, "Quality is okay.", 5),
        mention("size_fit", -1, 0.85, "Runs two sizes small.", 6),  # polarity as -1/0/1
        mention("size_fit", -1, 0.60, "Too tight in the shoulders.", 7),
        mention("size_fit", 1, 0.75, "Fits true to size.", 8),
        mention("quality", "positive", 0.65, "Lovely fabric.", 9),
        mention("quality", "positive", 0.60, "Solid build.", 10),
    ]
    aspects = product_insights([review("positive", 1)], mentions, now=NOW, top_k=3)["aspects"]
    assert list(aspects) == ["quality", "size_fit"]  # most mentioned first
    q = aspects["quality"]
    assert (q["mentions"], q["positive"], q["neutral"], q["negative"]) == (7, 5, 1, 1)
    assert q["net"] == pytest.approx((5 - 1) / 7, abs=1e-4)
    assert [p["quote"] for p in q["pros"]] == [
        "Superb craftsmanship!", "Nice stitching.", "Lovely fabric.",
    ]  # fmt: skip
    assert q["pros"][0] == {"quote": "Superb craftsmanship!", "score": 0.95, "review_id": 2}
    assert [c["quote"] for c in q["cons"]] == ["A seam came undone."]
    s = aspects["size_fit"]
    assert [c["quote"] for c in s["cons"]] == [
        "Runs two sizes small.",
        "Too tight in the shoulders.",
    ]
    assert s["net"] == pytest.approx(-1 / 3, abs=1e-4)


def test_quotes_are_short() -> None:
    long = "The quality " + "is wonderful and " * 30 + "I love it."
    pros = product_insights(
        [review("positive", 1)], [mention("quality", "positive", 0.9, long)], now=NOW
    )["aspects"]["quality"]["pros"]
    assert len(pros[0]["quote"]) <= 160 and pros[0]["quote"].endswith("…")
    assert shorten("短" * 300, 50) == "短" * 49 + "…"  # no spaces: cut anyway


@pytest.mark.parametrize(
    ("reviews", "mentions", "message"),
    [
        ([{"score": 1, "created_at": None}], [], "reviews[0]: missing field 'label'"),
        ([{"label": "bad", "created_at": None}], [], "reviews[0]: label must be one of"),
        ([{"label": "positive", "created_at": "yesterday"}], [], "not an ISO date"),
        ([], [{"aspect": "fit", "polarity": "good", "score": 1}], "mentions[0]: polarity"),
        ([], [{"aspect": "fit", "polarity": 1, "score": 7}], "mentions[0]: score must be"),
        ([], [{"polarity": 1, "score": 1}], "mentions[0]: missing field 'aspect'"),
    ],
)
def test_bad_rows_are_named(reviews: list, mentions: list, message: str) -> None:
    with pytest.raises(ValueError) as err:
        product_insights(reviews, mentions)
    assert message in str(err.value)


def test_empty_product() -> None:
    out = product_insights([], [])
    assert out["reviews"] == 0 and out["negative_share"] == 0.0 and out["trend"] == []
    assert out["alert"]["status"] == "no_dates" and not out["alert"]["active"]


def test_summarize_store_puts_alerts_first() -> None:
    stable = product_insights(history(120, 10) + recent(20, 2), [], now=NOW)
    rising = product_insights(history(120, 10) + recent(20, 12), [], now=NOW)
    poor = product_insights(history(60, 2) + recent(10, 5), [], now=NOW)
    tiny = product_insights(recent(2, 2), [], now=NOW)
    out = summarize_store({"A": stable, "B": rising, "C": poor, "D": tiny}, min_reviews=5)
    assert out["products"] == 4 and out["reviews"] == 140 + 140 + 70 + 2
    assert [r["product"] for r in out["alerts"]] == ["B"]
    assert out["alerts"][0]["reason"].startswith("negative share 60%")
    assert [r["product"] for r in out["worst"]] == ["C", "A"]  # D: too few reviews


# -- through the store, on both backends ---------------------------------------------------


def test_insights_from_stored_results(store) -> None:
    """Aspects found by the extractor, stored and read back, feed the insights as they are."""
    texts = [
        (5, "The fabric is lovely and shipping was fast."),
        (1, "Terrible quality, it fell apart. Customer service was rude."),
        (2, "The fabric is lovely but the sizing is terrible."),
        (4, "Great value for the price."),
    ]
    with store.connect() as conn:
        upsert(conn, Product, [{"external_id": "P1", "title": "Linen shirt"}])
        pid = id_map(conn, Product, ["P1"])["P1"]
        rows = [
            {
                "external_id": f"R{i}", "product_id": pid, "rating": stars, "body": body,
                "created_at": datetime(2026, 1 + i, 10, tzinfo=UTC).replace(tzinfo=None),
            }
            for i, (stars, body) in enumerate(texts)
        ]  # fmt: skip
        upsert(conn, Review, rows)
        ids = id_map(conn, Review, [r["external_id"] for r in rows])
    extractor = AspectExtractor(model=LexiconSentiment())
    found = extractor.extract_many([body for _, body in texts])
    labels = ("negative", "neutral", "positive")
    sentiments, aspects = [], []
    for i, ((stars, _), mentions) in enumerate(zip(texts, found, strict=True)):
        rid = ids[f"R{i}"]
        label = labels[stars_to_label(stars)]
        sentiments.append(
            {
                "review_id": rid, "model": "lexicon", "label": label, "score": 0.9,
                "probs": {label: 0.9}, "language": "en", "truncated": False, "scored_at": NOW,
            }
        )  # fmt: skip
        aspects += [{"review_id": rid, "product_id": pid, **m.to_dict()} for m in mentions]
    write_review_results(store, sentiments, aspects)

    out = product_insights(review_results(store, pid), aspect_results(store, pid))
    json.dumps(out)
    assert out["counts"] == {"negative": 2, "neutral": 0, "positive": 2}
    assert [m["month"] for m in out["trend"]] == ["2026-01", "2026-02", "2026-03", "2026-04"]
    quality = out["aspects"]["quality"]
    assert quality["mentions"] == 3 and quality["negative"] == 1
    assert quality["cons"][0]["quote"] == "Terrible quality, it fell apart."
    assert {p["quote"] for p in quality["pros"]} == {
        "The fabric is lovely and shipping was fast.", "The fabric is lovely",
    }  # fmt: skip
    assert out["aspects"]["size_fit"]["cons"][0]["quote"] == "but the sizing is terrible."
    assert out["aspects"]["service"]["negative"] == 1
