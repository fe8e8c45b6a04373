"""Site searches and the checkout incident in the simulator, against the ground truth."""

from __future__ import annotations

import dataclasses
import json
import re
from collections import Counter, defaultdict
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from shopmind.simulate import Simulation, SimulationConfig
from shopmind.simulate.catalog import CATEGORIES, product_row
from shopmind.simulate.searches import CATEGORY_ZH, NOT_SOLD, NOT_SOLD_ZH
from shopmind.simulate.truth import TRUTH_VERSION, write_truth

SEARCHING = ("search", "view_search_results")
CJK = re.compile(r"[\u4e00-\u9fff]")
WORD = re.compile(r"[a-z0-9]+")


def run(config: SimulationConfig) -> dict[str, Any]:
    sim = Simulation(config)
    out: dict[str, Any] = {"events": [], "orders": [], "reviews": [], "customers": []}
    for batch in sim.batches():
        out["events"] += batch.events
        out["orders"] += batch.orders
        out["reviews"] += batch.reviews
        out["customers"] += batch.customers
    out["sim"], out["truth"] = sim, sim.truth()
    return out


@pytest.fixture(scope="module")
def month() -> dict[str, Any]:
    """A month of a mid-sized store (~6,000 searches)."""
    return run(SimulationConfig(customers=4000, days=30, products=120, traffic=1.5, seed=7))


def searches(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e for e in events if e["name"] == "search"]


# -- the events ---------------------------------------------------------------------------


def test_a_quarter_of_sessions_search_just_before_their_first_listing(
    month: dict[str, Any],
) -> None:
    sessions: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for e in month["events"]:
        sessions[e["session_id"]].append(e)
    searched = 0
    for events in sessions.values():
        names = [e["name"] for e in events]
        assert names.count("search") == names.count("view_search_results") <= 1
        if names[0] != "search":
            assert all(e["search_term"] is None for e in events)
            continue
        searched += 1
        search, results, listing = events[:3]
        assert (results["name"], listing["name"]) == ("view_search_results", "view_item_list")
        assert search["search_term"] == results["search_term"] and search["search_term"]
        assert search["ts"] <= results["ts"] <= listing["ts"]
        assert listing["ts"] - search["ts"] < timedelta(minutes=5)
        assert search["ts"].date() == listing["ts"].date()
        assert search["items"] is None and search["value"] is None
        assert results["page"].startswith("https://shop.example.com/search?q=")
        assert all(e["search_term"] is None for e in events[2:])
    share = searched / len(sessions)
    assert 0.23 < share < 0.27, share
    assert month["truth"]["searches"]["sessions"] == searched


def test_truth_counts_the_searched_terms(month: dict[str, Any]) -> None:
    truth = month["truth"]["searches"]
    counted = Counter(e["search_term"] for e in searches(month["events"]))
    assert truth["realised"] == dict(counted)
    assert truth["share"] == 0.25
    known = set(truth["terms_sold"]) | set(truth["terms_not_sold"])
    assert set(counted) <= known
    not_sold = sum(counted[t] for t in truth["terms_not_sold"])
    assert 0.05 < not_sold / sum(counted.values()) < 0.35  # a few, trend term included
    assert month["truth"]["version"] == TRUTH_VERSION == 2


def test_rising_terms_rise_and_falling_terms_fall(month: dict[str, Any]) -> None:
    """Per search (so the traffic's own ups and downs cancel out), first third vs last."""
    truth = month["truth"]["searches"]
    assert truth["rising"] == ["sneakers", "swimsuit"]
    assert truth["falling"] == ["knitwear", "umbrella"]
    start = month["sim"].config.start
    thirds: list[Counter[str]] = [Counter(), Counter(), Counter()]
    for e in searches(month["events"]):
        thirds[(e["ts"].date() - start).days // 10][e["search_term"]] += 1
    first, last = thirds[0], thirds[2]

    def share(c: Counter[str], term: str) -> float:
        return c[term] / sum(c.values())

    for term in truth["rising"]:
        assert share(last, term) > 1.3 * share(first, term), (term, first[term], last[term])
    for term in truth["falling"]:
        assert share(first, term) > 1.3 * share(last, term), (term, first[term], last[term])
    steady = [t for t in truth["terms_sold"] if t not in truth["rising"] + truth["falling"]]
    assert sum(first[t] for t in steady) > 500


def test_chinese_terms_come_from_chinese_speaking_shoppers(month: dict[str, Any]) -> None:
    language = {user: c["language"] for user, c in month["truth"]["customers"].items()}
    chinese = [e for e in searches(month["events"]) if CJK.search(e["search_term"])]
    assert len(chinese) > 20
    assert {language[e["user_id"]] for e in chinese} == {"zh"}
    assert {e["search_term"] for e in chinese} <= set(CATEGORY_ZH.values()) | set(NOT_SOLD_ZH)


# -- sold and not sold --------------------------------------------------------------------


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_terms_not_sold_match_nothing_in_the_catalog(seed: int) -> None:
    sim = Simulation(SimulationConfig(customers=10, days=1, products=400, seed=seed))
    texts = []
    for p in sim.catalog:
        row = product_row(p, sim.config)
        texts += [row["title"], row["category"], row["brand"], row["product_type"]]
        texts += [*row["tags"], row["description"], row["seo_title"]]
    words = {w for text in texts for w in WORD.findall(text.lower())}
    everything = " ".join(texts)
    for term in NOT_SOLD:
        assert not set(WORD.findall(term)) & words, term
    for term in NOT_SOLD_ZH:
        assert term not in everything

    truth = sim.truth()["searches"]
    assert truth["terms_not_sold"] == [*NOT_SOLD, *NOT_SOLD_ZH]
    tags = {t for p in sim.catalog for t in p.tags}
    titles = " ".join(p.title.lower() for p in sim.catalog)
    brands = {p.brand.lower() for p in sim.catalog}
    zh = set(CATEGORY_ZH.values())
    for term in truth["terms_sold"]:  # each names something the store holds
        assert term in titles or term in brands or term in tags or term in zh, term


def test_a_small_catalog_trends_terms_it_sells() -> None:
    sim = Simulation(SimulationConfig(customers=50, days=5, products=3, seed=4))
    truth = sim.truth()["searches"]
    paths = {CATEGORIES[p.category].path.split(" > ")[1].lower() for p in sim.catalog}
    assert truth["rising"][0] in paths and truth["falling"][0] in paths
    assert set(truth["rising"]).isdisjoint(truth["falling"])


# -- searches draw from their own stream ---------------------------------------------------


def test_searches_leave_sessions_orders_and_reviews_unchanged() -> None:
    """Regression: searches must draw from the side stream, never the funnel's."""
    config = SimulationConfig(customers=1500, days=12, products=60, review_rate=1.0, seed=3)
    on, off = run(config), run(dataclasses.replace(config, search_share=0.0))

    assert on["orders"] == off["orders"] and len(on["orders"]) > 30
    assert on["reviews"] == off["reviews"] and on["reviews"]
    assert on["customers"] == off["customers"]
    assert not searches(off["events"]) and len(searches(on["events"])) > 300

    def without_searches(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [
            {k: v for k, v in e.items() if k != "event_id"}
            for e in events
            if e["name"] not in SEARCHING
        ]

    assert without_searches(on["events"]) == without_searches(off["events"])
    realised = {
        k: v for k, v in on["truth"]["realised"].items() if k not in ("events_by_name", "events")
    }
    assert realised == {
        k: v for k, v in off["truth"]["realised"].items() if k not in ("events_by_name", "events")
    }
    assert on["truth"]["channels"] == off["truth"]["channels"]
    assert off["truth"]["searches"]["realised"] == {}


# -- the incident -------------------------------------------------------------------------


def test_incident_day_has_far_fewer_purchases() -> None:
    config = SimulationConfig(customers=5000, days=21, products=80, traffic=2.0, seed=8)
    incident = dataclasses.replace(config, incident_day=10)
    result = run(incident)
    per_day = Counter((o["created_at"].date() - config.start).days for o, _, _ in result["orders"])
    neighbours = [per_day[d] for d in (7, 8, 9, 11, 12, 13)]
    assert min(neighbours) > 15
    assert per_day[10] < 0.45 * (sum(neighbours) / len(neighbours)), per_day

    truth = result["truth"]["incident"]
    assert truth["day"] == (config.start + timedelta(days=10)).isoformat() == "2026-01-11"
    assert (truth["day_index"], truth["drop"]) == (10, 0.8)
    # the failed buyers reached payment and left: payment without purchase, that day
    paid, bought = Counter(), Counter()
    for e in result["events"]:
        if e["ts"].date() == config.start + timedelta(days=10):
            paid[e["session_id"]] += e["name"] == "add_payment_info"
            bought[e["session_id"]] += e["name"] == "purchase"
    left = sum(1 for s in paid if paid[s] and not bought[s])
    assert truth["failed_checkouts"] > 2 * per_day[10]
    assert left >= truth["failed_checkouts"]
    assert run(config)["truth"]["incident"] is None  # off by default


def test_incident_and_search_fields_are_checked() -> None:
    with pytest.raises(ValueError, match=r"incident_day must be None or a day index in \[0, 5\)"):
        SimulationConfig(days=5, incident_day=5)
    for bad in (-1, True, 1.5):
        with pytest.raises(ValueError, match="incident_day"):
            SimulationConfig(days=5, incident_day=bad)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="incident_drop must be within"):
        SimulationConfig(incident_drop=1.2)
    with pytest.raises(ValueError, match="search_share must be within"):
        SimulationConfig(search_share=-0.1)
    assert SimulationConfig(days=5, incident_day=4).incident_day == 4


def test_truth_file_holds_searches_and_incident(tmp_path: Path) -> None:
    sim = Simulation(SimulationConfig(customers=200, days=4, products=30, seed=1, incident_day=2))
    for _ in sim.batches():
        pass
    path = tmp_path / "truth.json"
    write_truth(path, sim.truth(lazy=True))
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["version"] == 2
    assert set(data["searches"]) == {
        "share", "terms_sold", "terms_not_sold", "rising", "falling", "trend", "sessions",
        "realised",
    }  # fmt: skip
    assert data["searches"]["trend"] == {"rising": [1.0, 3.0], "falling": [1.0, 0.3333]}
    assert data["incident"]["day"] == "2026-01-03"
    assert data["config"]["search_share"] == 0.25 and data["config"]["incident_day"] == 2
