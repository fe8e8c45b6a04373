"""The store simulator without a store: determinism, funnel shape, truth vs realised data."""

from __future__ import annotations

import dataclasses
import html
import inspect
import os
import re
import subprocess
import sys
from collections import Counter, defaultdict
from datetime import date, datetime
from typing import Any

import numpy as np
import pytest

from shopmind.simulate import Channel, Simulation, SimulationConfig, iter_events
from shopmind.simulate.catalog import CATEGORIES, product_row
from shopmind.simulate.phrases import LANGUAGES
from shopmind.store.events import normalize_event

SMALL = SimulationConfig(customers=300, days=8, products=40, traffic=2.0, review_rate=1.0, seed=11)
CJK = re.compile(r"[\u4e00-\u9fff]")
FUNNEL_BEFORE = {
    "select_item": "view_item_list",
    "view_item": "select_item",
    "add_to_cart": "view_item",
    "begin_checkout": "add_to_cart",
    "add_payment_info": "begin_checkout",
    "purchase": "add_payment_info",
}


def spearman(a: list[float], b: list[float]) -> float:
    def ranks(x: list[float]) -> np.ndarray:
        values = np.asarray(x, dtype=float)
        out = np.empty(len(values))
        out[values.argsort(kind="stable")] = np.arange(len(values))
        for v in np.unique(values):  # ties share their mean rank
            out[values == v] = out[values == v].mean()
        return out

    return float(np.corrcoef(ranks(a), ranks(b))[0, 1])


def run(config: SimulationConfig) -> dict[str, Any]:
    sim = Simulation(config)
    out: dict[str, Any] = {"events": [], "orders": [], "reviews": [], "batches": 0}
    for batch in sim.batches():
        out["batches"] += 1
        out["events"] += batch.events
        out["orders"] += batch.orders
        out["reviews"] += batch.reviews
    out["sim"], out["truth"] = sim, sim.truth()
    return out


@pytest.fixture(scope="module")
def medium() -> dict[str, Any]:
    """One moderately sized store (~55k events) shared by the statistical tests."""
    return run(SimulationConfig(customers=4000, days=30, products=120, review_rate=1.0, seed=5))


def sessions_of(events: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    by_session: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for e in events:
        by_session[e["session_id"]].append(e)
    return by_session


# -- determinism ------------------------------------------------------------------------


def test_same_config_and_seed_give_identical_data() -> None:
    first, second = run(SMALL), run(SMALL)
    assert first["events"] == second["events"]
    assert first["orders"] == second["orders"]
    assert first["reviews"] == second["reviews"]
    assert first["truth"] == second["truth"]
    assert len(first["events"]) > 1000


def test_batch_size_changes_batches_not_data() -> None:
    small_batches = run(dataclasses.replace(SMALL, batch_size=37))
    assert small_batches["events"] == list(iter_events(SMALL))
    assert small_batches["batches"] > run(SMALL)["batches"]


def test_different_seed_gives_different_data() -> None:
    other = dataclasses.replace(SMALL, seed=12)
    a, b = run(SMALL), run(other)
    assert [e["name"] for e in a["events"]] != [e["name"] for e in b["events"]]
    titles = [p.title for p in a["sim"].catalog], [p.title for p in b["sim"].catalog]
    assert titles[0] != titles[1]
    assert a["events"][0]["event_id"] != b["events"][0]["event_id"]


# -- event shape and the funnel ---------------------------------------------------------


def test_rows_are_exactly_what_normalize_event_produces() -> None:
    events = list(iter_events(SMALL))
    assert {e["name"] for e in events} >= {"view_item_list", "add_to_cart", "purchase", "search"}
    for row in events:
        raw = {
            "event_id": row["event_id"],
            "event_name": row["name"],
            "event_timestamp": row["ts"].isoformat(),
            "user_pseudo_id": row["user_id"],
            "user_id": row["customer_id"],
            "session_id": row["session_id"],
            "items": row["items"],
            "value": row["value"],
            "currency": row["currency"],
            "transaction_id": row["transaction_id"],
            "source": row["source"],
            "medium": row["medium"],
            "campaign": row["campaign"],
            "device_category": row["device"],
            "page_location": row["page"],
            "search_term": row["search_term"],
        }
        normalized = normalize_event(raw)
        assert normalized == row
        assert list(normalized) == list(row)  # same keys, same order: one insert statement


def test_sessions_walk_the_funnel_in_time_order(medium: dict[str, Any]) -> None:
    purchases = 0
    for events in sessions_of(medium["events"]).values():
        names = [e["name"] for e in events]
        # a site search (tests/test_simulate_search.py) comes before the first listing
        if names[0] == "search":
            assert names[1] == "view_search_results" and "search" not in names[2:]
            events = events[2:]
        assert events[0]["name"] == "view_item_list"
        times = [e["ts"] for e in events]
        assert times == sorted(times)
        assert len({(e["user_id"], e["source"], e["medium"], e["device"]) for e in events}) == 1
        seen: set[str] = set()
        cart: Counter[str] = Counter()
        for e in events:
            before = FUNNEL_BEFORE.get(e["name"])
            assert before is None or before in seen, f"{e['name']} before {before}"
            if e["name"] == "add_to_cart":
                cart[e["item_id"]] += 1
            elif e["name"] == "remove_from_cart":
                assert cart[e["item_id"]] > 0
                cart[e["item_id"]] -= 1
            elif e["name"] in ("begin_checkout", "add_payment_info", "purchase"):
                assert Counter(i["item_id"] for i in e["items"]) == +cart
            seen.add(e["name"])
        names = [e["name"] for e in events]
        assert names.count("purchase") <= 1
        purchases += names.count("purchase")
    assert purchases == len(medium["orders"]) > 100


def test_purchase_events_carry_their_orders(medium: dict[str, Any]) -> None:
    purchase = {e["transaction_id"]: e for e in medium["events"] if e["name"] == "purchase"}
    assert len(purchase) == len(medium["orders"])
    catalog = medium["sim"].catalog
    for order, _customer, lines in medium["orders"]:
        event = purchase[order["external_id"]]
        assert event["value"] == order["total"]
        assert event["session_id"] == order["session_id"]
        assert (event["source"], event["medium"]) == (order["source"], order["medium"])
        assert event["ts"] == order["created_at"]
        expected = [
            (catalog[ln["product"]].external_id, ln["quantity"], ln["price"]) for ln in lines
        ]
        assert [(i["item_id"], i["quantity"], i["price"]) for i in event["items"]] == expected
        net = sum(ln["price"] * ln["quantity"] - ln["discount"] for ln in lines)
        assert order["subtotal"] - order["discount"] == pytest.approx(net, abs=0.011)
        assert order["total"] == pytest.approx(net + order["shipping"] + order["tax"], abs=0.011)


# -- truth against realised data --------------------------------------------------------


def test_realised_channel_conversion_tracks_truth() -> None:
    channels = (
        Channel("alpha", "cpc", "spring", 0.08, 0.4),
        Channel("beta", "organic", None, 0.01, 0.4),
        Channel("(direct)", "(none)", None, 0.03, 0.2),
    )
    result = run(SimulationConfig(customers=3000, days=30, products=60, channels=channels, seed=2))
    truth = result["truth"]["channels"]
    # the realised numbers in the truth file are those of the events themselves
    sessions, bought = defaultdict(set), Counter()
    for e in result["events"]:
        key = f"{e['source']} / {e['medium']}"
        sessions[key].add(e["session_id"])
        bought[key] += e["name"] == "purchase"
    for key, ch in truth.items():
        n, k = ch["realised"]["sessions"], ch["realised"]["purchases"]
        assert (n, k) == (len(sessions[key]), bought[key])
        p = ch["conversion_rate"]
        z = (k - n * p) / np.sqrt(n * p * (1 - p))
        assert abs(z) < 4.5, f"{key}: {k}/{n} realised vs true rate {p}"
    rate = {key: ch["realised"]["conversion_rate"] for key, ch in truth.items()}
    assert rate["alpha / cpc"] > rate["(direct) / (none)"] > rate["beta / organic"]


def test_default_channels_convert_as_designed(medium: dict[str, Any]) -> None:
    channels = medium["truth"]["channels"].values()
    expected = sum(c["realised"]["sessions"] * c["conversion_rate"] for c in channels)
    realised = sum(c["realised"]["purchases"] for c in channels)
    assert abs(realised - expected) < 4 * np.sqrt(expected)
    busy = [c for c in channels if c["realised"]["sessions"] > 500]
    true = [c["conversion_rate"] for c in busy]
    seen = [c["realised"]["conversion_rate"] for c in busy]
    assert spearman(true, seen) > 0.5


def test_weekends_are_busier(medium: dict[str, Any]) -> None:
    per_day: Counter[Any] = Counter()
    for e in medium["events"]:
        if e["name"] == "view_item_list":
            per_day[e["ts"].date()] += 1
    weekend = [n for d, n in per_day.items() if d.weekday() >= 5]
    weekday = [n for d, n in per_day.items() if d.weekday() < 5]
    assert np.mean(weekend) > 1.1 * np.mean(weekday)


def test_review_stars_follow_true_product_quality(medium: dict[str, Any]) -> None:
    products = medium["truth"]["products"]
    reviews = medium["reviews"]
    assert len(reviews) > 100
    quality = [products[medium["sim"].catalog[r.product].external_id]["quality"] for r in reviews]
    assert spearman(quality, [r.rating for r in reviews]) > 0.4
    assert {r.rating for r in reviews} == {1, 2, 3, 4, 5}


def test_review_text_says_what_the_truth_says(medium: dict[str, Any]) -> None:
    truth = medium["truth"]["reviews"]
    for review in medium["reviews"]:
        bank = LANGUAGES[review.language][0]
        noun = medium["sim"].catalog[review.product].facts["noun"].lower()
        assert truth[review.external_id]["aspects"] == review.aspects
        felt = truth[review.external_id]["experienced"]
        for aspect, polarity in review.aspects.items():
            phrases = [p.replace("{noun}", noun) for p in bank[aspect][polarity]]
            assert any(p in review.body for p in phrases), (aspect, polarity, review.body)
            value = felt[aspect]  # rounded to 3 places in the truth file
            near_cut = min(abs(value - 0.6), abs(value - 0.4)) <= 0.0005
            assert near_cut or polarity == (1 if value >= 0.6 else -1 if value <= 0.4 else 0)
        assert (
            "size_fit" not in review.aspects
            or CATEGORIES[medium["sim"].catalog[review.product].category].fits
        )


def test_some_reviews_are_written_in_chinese(medium: dict[str, Any]) -> None:
    reviews = medium["reviews"]
    chinese = [r for r in reviews if r.language == "zh"]
    assert 0.03 < len(chinese) / len(reviews) < 0.2
    assert all(CJK.search(r.body) and CJK.search(r.title) for r in chinese)
    assert not any(CJK.search(r.body) for r in reviews if r.language == "en")


def test_reviews_come_from_buyers_days_after_buying(medium: dict[str, Any]) -> None:
    bought: dict[tuple[str, int], Any] = {}
    for order, customer, lines in medium["orders"]:
        for ln in lines:
            bought.setdefault((customer, ln["product"]), order["created_at"])
    for r in medium["reviews"]:
        assert (r.customer, r.product) in bought
        assert (r.created_at - bought[(r.customer, r.product)]).days >= 2


def test_repeat_buyers_follow_their_true_purchase_rate(medium: dict[str, Any]) -> None:
    customers = medium["truth"]["customers"].values()
    assert medium["truth"]["realised"]["repeat_buyers"] > 10
    per_segment: dict[str, list[int]] = defaultdict(list)
    for c in customers:
        per_segment[c["segment"]].append(c["realised"]["orders"])
    assert np.mean(per_segment["loyal"]) > 3 * np.mean(per_segment["occasional"])
    active = [c for c in customers if c["realised"]["sessions"]]
    rate = [c["purchase_rate_30d"] for c in active]
    assert spearman(rate, [c["realised"]["orders"] for c in active]) > 0.2


def test_customers_exist_only_for_registered_shoppers_and_buyers(
    medium: dict[str, Any],
) -> None:
    customers = medium["truth"]["customers"].values()
    anonymous_buyers = 0
    for c in customers:
        if c["realised"]["orders"]:
            assert c["customer_id"]
        if c["anonymous"] and c["customer_id"]:
            assert c["realised"]["orders"] > 0
            anonymous_buyers += 1
    assert anonymous_buyers > 0
    logged_in = {e["user_id"] for e in medium["events"] if e["customer_id"]}
    anonymous = {u for u, c in medium["truth"]["customers"].items() if c["anonymous"]}
    assert logged_in and not logged_in & anonymous


# -- catalog ----------------------------------------------------------------------------


def test_catalog_is_complete_and_consistent() -> None:
    sim = Simulation(dataclasses.replace(SMALL, products=60))
    rows = [product_row(p, sim.config) for p in sim.catalog]
    assert [r["external_id"] for r in rows[:2]] == ["SIM-P00001", "SIM-P00002"]
    assert {r["category"] for r in rows} == {c.path for c in CATEGORIES}
    skus = [v["sku"] for p in sim.catalog for v in p.variants]
    assert len(skus) == len(set(skus))
    for p, row in zip(sim.catalog, rows, strict=True):
        assert p.facts["material"] in row["description"]
        assert html.escape(row["description"]) in row["description_html"]
        assert len(row["seo_description"]) <= 155 and len(row["seo_title"]) <= 70
        assert row["compare_at_price"] is None or row["compare_at_price"] > row["price"]
        assert row["inventory"] == sum(v["inventory"] for v in p.variants)
        assert all(0 <= s <= 1 for s in p.aspects.values() if s is not None)
        assert (p.aspects["size_fit"] is None) == (not CATEGORIES[p.category].fits)
    templates = {r["description"].split(":")[0].split(" ")[0] for r in rows}
    assert len(templates) >= 4  # the prose varies


# -- streaming --------------------------------------------------------------------------


def test_generation_is_lazy_and_batched() -> None:
    endless = SimulationConfig(customers=200, days=26_000, products=30, batch_size=40, seed=1)
    events = iter_events(endless)
    assert inspect.isgenerator(events)
    first = [next(events) for _ in range(100)]
    assert first[0]["event_id"].startswith("sim-1-")
    sim = Simulation(endless)
    batches = sim.batches()
    sizes = [len(next(batches).events) for _ in range(20)]
    assert max(sizes) < 40 + 150  # a batch closes after the session that fills it
    assert sim.funnel.n_events == sum(sizes)  # nothing generated ahead of the consumer


def test_bad_config_is_refused_naming_the_field() -> None:
    with pytest.raises(ValueError, match="customers"):
        SimulationConfig(customers=0)
    with pytest.raises(ValueError, match="review_rate"):
        SimulationConfig(review_rate=1.5)
    with pytest.raises(ValueError, match="duplicate"):
        SimulationConfig(
            channels=(Channel("a", "b", None, 0.1, 1), Channel("a", "b", None, 0.2, 1))
        )
    with pytest.raises(ValueError, match="conversion_rate"):
        SimulationConfig(channels=(Channel("a", "b", None, 1.5, 1),))


@pytest.mark.parametrize("seed", range(6))
def test_smallest_store_still_works(seed: int) -> None:
    result = run(SimulationConfig(customers=1, days=1, products=1, traffic=30.0, seed=seed))
    assert result["events"], "one shopper at 30 visits a day must leave events"
    searching = {"search", "view_search_results"}  # the only events without items
    assert all(e["items"] or e["name"] in searching for e in result["events"])


def test_same_output_in_a_fresh_process() -> None:
    """Guards against set or hash ordering leaking into the data (PYTHONHASHSEED differs)."""
    code = (
        "import hashlib, json\n"
        "from shopmind.simulate import SimulationConfig, iter_events\n"
        "c = SimulationConfig(customers=200, days=4, products=30, seed=9)\n"
        "h = hashlib.sha256()\n"
        "for e in iter_events(c): h.update(json.dumps(e, default=str).encode())\n"
        "print(h.hexdigest())\n"
    )
    digests = {
        subprocess.run(
            [sys.executable, "-c", code],
            env={**os.environ, "PYTHONHASHSEED": str(seed)},
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for seed in (1, 2)
    }
    assert len(digests) == 1


def test_start_date_sets_the_calendar() -> None:
    config = SimulationConfig(customers=300, days=3, products=20, start=datetime(2025, 11, 28, 15))
    assert config.start == date(2025, 11, 28)
    days = {e["ts"].date() for e in iter_events(config)}
    assert min(days) == date(2025, 11, 28) and max(days) <= date(2025, 12, 1)
