"""Training from a store, or from a sequence file, measured by the leave-one-out protocol.

From a store (:func:`store_data`): every shopper's behaviour events and orders, in time
order, as one sequence each; a row's weight is its kind's (:data:`WEIGHTS`: a purchase
counts more than a view), events of kinds not listed are left out, and the same item
touched several times in a row is one step (its heaviest kind). Products nobody touched
are still items (the content model and the rules see the whole catalog).

:func:`train` fits one model, measures it (HR@10 and NDCG@10 on each shopper's last
item, full ranking, the model picked by the second-last) and publishes it in the model
registry as ``recommend/<model>``: a new version, switched to atomically, so a request
never sees a half-written model and a failed or killed training leaves the previous one
serving. The light models (popular, itemknn, als, content) are then refitted on all the
data before they are published; ``sasrec`` is published as trained (on all but each
shopper's last two items) — at serving time it reads the shopper's whole history anyway.

With orders, ``recommend/bought-together`` (``itemknn`` over the orders' baskets) is
trained too.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from shopmind.models.registry import DEFAULT_KEEP, Registry, RegistryError
from shopmind.recommend import MODELS, Interactions, ItemTable, Recommender
from shopmind.recommend.base import RecommendError
from shopmind.recommend.evaluate import evaluate, leave_one_out

WEIGHTS: dict[str, float] = {
    "view_item": 1.0,
    "select_item": 1.0,
    "add_to_wishlist": 2.0,
    "add_to_cart": 3.0,
    "begin_checkout": 3.0,
    "purchase": 5.0,
}
TOGETHER = "bought-together"


def registry(models_dir: Path, name: str, keep: int = DEFAULT_KEEP) -> Registry:
    return Registry(models_dir, f"recommend/{name}", keep=keep)


@dataclass
class StoreData:
    interactions: Interactions
    table: ItemTable
    texts: dict[str, str]
    baskets: Interactions | None


def collapse(
    rows: Iterable[tuple[str, str, Any, str]], weights: Mapping[str, float] = WEIGHTS
) -> list[tuple[str, str, float, float]]:
    """``(user, item, time, kind)`` rows in time order → ``(user, item, seconds, weight)``,
    kinds without a weight dropped, a user's consecutive rows of one item merged."""
    last: dict[str, int] = {}
    out: list[tuple[str, str, float, float]] = []
    for user, item, when, kind in rows:
        weight = weights.get(kind)
        if not weight:
            continue
        seconds = when.timestamp() if hasattr(when, "timestamp") else float(when)
        at = last.get(user)
        if at is not None and out[at][1] == item:
            out[at] = (user, item, out[at][2], max(out[at][3], weight))
            continue
        last[user] = len(out)
        out.append((user, item, seconds, weight))
    return out


def store_data(store: Any) -> StoreData:
    """The store's interactions (events and orders), catalog facts and texts."""
    from shopmind.store.interactions import basket_rows, catalog_rows, event_rows, order_rows

    catalog = catalog_rows(store)
    ids = [c["id"] for c in catalog]
    rows = sorted([*event_rows(store), *order_rows(store)], key=lambda r: r[2])
    interactions = Interactions.from_rows(collapse(rows), items=ids)
    baskets = Interactions.from_rows(
        [(o, p, t.timestamp(), 1.0) for o, p, t, _ in basket_rows(store)], items=ids
    )
    table = ItemTable(
        ids=ids,
        titles=[c["title"] for c in catalog],
        categories=[c["category"] for c in catalog],
        prices=np.asarray([np.nan if c["price"] is None else c["price"] for c in catalog]),
        in_stock=np.asarray([c["in_stock"] for c in catalog], dtype=bool),
    )
    texts = {c["id"]: c["text"] for c in catalog}
    return StoreData(interactions, table, texts, baskets if len(baskets) else None)


def fit_and_measure(
    name: str,
    interactions: Interactions,
    params: Mapping[str, Any] | None = None,
    item_texts: Mapping[str, str] | None = None,
    refit: bool = True,
    progress: Callable[[dict[str, Any]], Any] | None = None,
) -> tuple[Recommender, dict[str, Any]]:
    """Measure ``name`` by leave-one-out and return it with its metrics.

    Validation (each user's second-last item) is scored by the model fit on all but the
    last two items; test (the last item) by the model fit on everything before it, so
    every model has learnt all that came before the item it is scored on. ``sasrec``
    chooses its epochs on the first and refits on the second itself; its validation
    numbers are the first run's best. With ``refit`` the light models are fit once more
    on everything — the model returned to serve."""
    if name not in MODELS:
        raise RecommendError(f"unknown model {name!r}; models: {', '.join(sorted(MODELS))}")
    split = leave_one_out(interactions.sequences())
    train, known = interactions.without_last(2), interactions.without_last(1)

    def fresh() -> Recommender:
        return MODELS[name](**dict(params or {}))

    model = fresh()
    metrics: dict[str, Any] = {"model": name, "users": interactions.n_users,
                               "items": interactions.n_items, "interactions": len(interactions),
                               "evaluated_users": len(split.users)}  # fmt: skip
    started = time.perf_counter()
    if name == "sasrec":  # epochs chosen on `train`, then refit on `known`
        validation = ([split.train[u] for u in split.users], split.valid)
        model.fit(known, item_texts, validation=validation, select_on=train,  # type: ignore[call-arg]
                  progress=progress)  # fmt: skip
        metrics["train_seconds"] = round(time.perf_counter() - started, 1)
        valid = model.selected_  # type: ignore[attr-defined]
        metrics["best_epoch"] = model.best_epoch_  # type: ignore[attr-defined]
        metrics["refitted"] = model.refitted_  # type: ignore[attr-defined]
    else:
        model.fit(train, item_texts)
        metrics["train_seconds"] = round(time.perf_counter() - started, 1)
        valid = {}
        if len(split.users):
            valid = evaluate(model.score, split, "valid")
            model = fresh().fit(known, item_texts)
    if len(split.users) and valid:
        test = evaluate(model.score, split, "test")
        metrics |= {"valid_hr@10": valid["hr@10"], "valid_ndcg@10": valid["ndcg@10"],
                    "hr@10": test["hr@10"], "ndcg@10": test["ndcg@10"]}  # fmt: skip
    if refit and name != "sasrec":
        model = fresh().fit(interactions, item_texts)
    return model, metrics


def train(
    store: Any,
    models_dir: Path,
    name: str,
    params: Mapping[str, Any] | None = None,
    keep: int = DEFAULT_KEEP,
    progress: Callable[[dict[str, Any]], Any] | None = None,
) -> dict[str, Any]:
    """Train ``name`` on the store, publish it as ``recommend/<name>`` (and, with
    orders, ``recommend/bought-together``); return the metrics with the version ids."""
    data = store_data(store)
    if len(data.interactions) == 0:
        raise RecommendError("the store has no behaviour events or orders to learn from")
    model, metrics = fit_and_measure(name, data.interactions, params, data.texts,
                                     progress=progress)  # fmt: skip
    extra = {"params": dict(params or {})}
    version = registry(models_dir, name, keep).publish(model.save, metrics, extra)
    metrics["version"] = version.id
    if data.baskets is not None:
        metrics["bought_together_version"] = _publish_together(data.baskets, models_dir, keep)
    return metrics


def _publish_together(baskets: Interactions, models_dir: Path, keep: int) -> str:
    """Fit and publish ``recommend/bought-together`` — unless the current version was fit
    on the same orders (the same count and newest order): then that one stays."""
    info = {"model": TOGETHER, "baskets": baskets.n_users,
            "newest": float(baskets.times.max()) if len(baskets) else None}  # fmt: skip
    reg = registry(models_dir, TOGETHER, keep)
    try:
        current = reg.current()
    except RegistryError:  # a damaged current version: publish a sound one
        current = None
    if current is not None and all(current.metrics.get(k) == v for k, v in info.items()):
        return current.id
    together = MODELS["itemknn"](recency_half_life=None).fit(baskets)
    return reg.publish(together.save, info, {}).id
