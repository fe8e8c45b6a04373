"""Training from a simulated store and serving through RecommendService (SQLite and
PostgreSQL): fresh histories, fallbacks, rules, reasons, bought-together, swaps."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from shopmind.recommend import Filters, RecommendError
from shopmind.recommend.service import NoModel, RecommendService
from shopmind.recommend.train import collapse, registry, store_data, train
from shopmind.simulate import SimulationConfig, simulate
from shopmind.store import Store
from shopmind.store.interactions import user_rows

CONFIG = SimulationConfig(customers=500, days=30, products=40, seed=3, traffic=2.0)
SASREC = {"hidden": 16, "layers": 1, "epochs": 3, "patience": 0, "threads": 1,
          "batch_tokens": 1024}  # fmt: skip


@pytest.fixture
def shop(store: Store) -> Store:
    simulate(store, CONFIG)
    return store


def test_store_data_reads_events_and_orders_in_time_order(shop: Store) -> None:
    data = store_data(shop)
    assert data.interactions.n_items == 40 and len(data.interactions) > 1000
    assert data.baskets is not None and data.baskets.n_users > 10
    assert len(data.table) == 40 and data.texts[data.table.ids[0]]
    # a purchase weighs more than a view
    assert data.interactions.weights.max() == 5.0 and data.interactions.weights.min() == 1.0


def test_collapse_merges_repeats_and_drops_unweighted_kinds() -> None:
    rows = [("u", "a", 1.0, "view_item"), ("u", "a", 2.0, "add_to_cart"),
            ("u", "b", 3.0, "view_item_list"), ("u", "b", 4.0, "view_item"),
            ("u", "a", 5.0, "view_item")]  # fmt: skip
    assert collapse(rows) == [("u", "a", 1.0, 3.0), ("u", "b", 4.0, 1.0), ("u", "a", 5.0, 1.0)]


def test_trained_models_serve_shoppers_sessions_and_products(shop: Store, tmp_path: Path) -> None:
    torch.set_num_threads(1)
    models = tmp_path / "models"
    pop = train(shop, models, "popular")
    knn = train(shop, models, "itemknn")
    assert pop["version"] == "v0001" and knn["bought_together_version"]
    # the same orders: the basket model is not published again
    assert knn["bought_together_version"] == pop["bought_together_version"] == "v0001"
    # learning, on the store's own leave-one-out: co-occurrence beats popularity
    assert knn["ndcg@10"] > pop["ndcg@10"] > 0
    service = RecommendService(shop, models, model="itemknn")

    customer = next(u for u, _, _, kind in _rows(shop) if kind == "purchase")
    got = service.for_user(customer, n=5)
    bought = {item for _, item, _, kind in user_rows(shop, customer) if kind == "purchase"}
    assert got["model"] == "itemknn" and got["fallback"] is None and len(got["items"]) == 5
    assert not bought & {i["item_id"] for i in got["items"]}  # already bought: left out
    assert all(i["reason_text"] and i["title"] for i in got["items"])

    nobody = service.for_user("never-seen", n=3)
    assert "never-seen" in nobody["fallback"] and nobody["items"][0]["reason"]["kind"] == "popular"

    first = got["items"][0]["item_id"]
    session = service.for_session([first, "no-such-item"], n=4)
    assert session["unknown"] == ["no-such-item"] and len(session["items"]) == 4
    assert all(i["reason"]["kind"] in ("together", "popular") for i in session["items"])
    with pytest.raises(RecommendError, match="at least one item"):
        service.for_session([])

    similar = service.similar(first, n=3)
    assert first not in {i["item_id"] for i in similar["items"]}
    assert {i["reason_text"].split(" ")[0] for i in similar["items"]} <= {"Similar", "Popular"}
    together = service.bought_together(first, n=3)
    assert together["items"] and all(i["item_id"] != first for i in together["items"])
    limited = service.for_session([first], n=10, filters=Filters(max_per_category=1))
    tops = [i["item_id"] for i in limited["items"]]
    assert len(tops) == len(set(tops))


def test_auto_serves_the_model_that_ranked_the_store_best(shop: Store, tmp_path: Path) -> None:
    models = tmp_path / "models"
    service = RecommendService(shop, models)  # model="auto"
    assert service.choose() == "popular"  # nothing trained
    pop = train(shop, models, "popular")
    knn = train(shop, models, "itemknn")
    best = max((pop, knn), key=lambda m: m["valid_ndcg@10"])["model"]
    assert service.choose() == best and service.serving().name == best
    registry(models, best).rollback("v0001")  # a pointer change is noticed
    assert service.choose() == best


def test_an_untrained_serving_model_falls_back_to_popular(shop: Store, tmp_path: Path) -> None:
    models = tmp_path / "models"
    with pytest.raises(NoModel, match="recommend train --model popular"):
        RecommendService(shop, models, model="popular").serving()
    train(shop, models, "popular")
    service = RecommendService(shop, models, model="sasrec")
    assert service.serving().name == "popular"


def test_a_new_version_is_served_and_a_failed_training_changes_nothing(
    shop: Store, tmp_path: Path
) -> None:
    torch.set_num_threads(1)
    models = tmp_path / "models"
    train(shop, models, "sasrec", SASREC)
    service = RecommendService(shop, models, model="sasrec")
    before = service.serving()
    assert before.name == "sasrec" and registry(models, "sasrec").current_id() == "v0001"
    with pytest.raises(TypeError):
        train(shop, models, "sasrec", {"no_such_param": 1})
    assert registry(models, "sasrec").current_id() == "v0001"
    assert service.serving() is before  # nothing new published: the same model
    train(shop, models, "sasrec", {**SASREC, "seed": 1})
    assert registry(models, "sasrec").current_id() == "v0002"
    assert service.serving() is not before


def _rows(store: Store) -> list:
    from shopmind.store.interactions import order_rows

    return list(order_rows(store))


@pytest.mark.parametrize("name", ["als", "content"])
def test_every_model_trains_from_the_store_and_serves(
    shop: Store, tmp_path: Path, name: str
) -> None:
    torch.set_num_threads(1)
    models = tmp_path / "models"
    params = {"factors": 16, "iterations": 5, "threads": 1} if name == "als" else {}
    metrics = train(shop, models, name, params)
    assert metrics["version"] == "v0001" and 0 <= metrics["ndcg@10"] <= metrics["hr@10"] <= 1
    service = RecommendService(shop, models, model=name)
    item = store_data(shop).table.ids[0]
    got = service.for_session([item], n=4)
    assert got["model"] == name and len(got["items"]) == 4 and got["fallback"] is None
    assert all(i["item_id"] != item and i["reason_text"] for i in got["items"])
