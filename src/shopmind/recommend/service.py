"""Serving recommendations from a workspace: the published models, the store's catalog
and each shopper's latest history, under the rules, with a reason for every item.

:class:`RecommendService` is what the CLI, the REST API, the dashboard and the widget
call. It holds each model of ``models/recommend/<name>/`` through an
:class:`~shopmind.models.cache.ArtifactCache` (a newly published version is picked up
at the next request; a version that fails to load leaves the old one serving) and the
catalog facts the rules need (reloaded every ``catalog_ttl_s`` seconds).

- **for a shopper**: their latest events and orders from the store (so what they did a
  minute ago counts, without retraining), else the history the model learned; a shopper
  nobody knows gets the ``popular`` list and ``fallback`` says so;
- **for a session**: the item ids clicked, in order; unknown ids are ignored and listed;
- **similar**: the serving model's answer for a history of that one item;
- **bought together**: ``itemknn`` over the orders' baskets.

Every item comes with a reason: a dict (``kind``: ``viewed``, ``bought``, ``together``,
``similar`` or ``popular``; the ``item`` or ``category`` it refers to) and its text
("Because you viewed Merino Sweater", "Often bought with …", "Popular in Shoes").
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from shopmind.config import parse_boosts
from shopmind.models.cache import ArtifactCache
from shopmind.models.registry import RegistryError
from shopmind.recommend.base import Recommendations, Recommender, RecommendError
from shopmind.recommend.rules import Filters, ItemTable
from shopmind.recommend.train import TOGETHER, registry

FALLBACK = "popular"
AUTO = "auto"


class NoModel(RecommendError):
    """No model of that name has been trained in this workspace."""


def _open(models_dir: Path, name: str) -> Recommender:
    loaded = registry(models_dir, name).load(Recommender.load)
    if loaded is None:
        raise NoModel(
            f"no trained recommend/{name} model in {models_dir}: "
            f"run `shopmind recommend train --model {name if name != TOGETHER else 'itemknn'}`"
        )
    return loaded


class RecommendService:
    def __init__(self, store: Any, models_dir: Path, model: str = AUTO,
                 exclude_bought: bool = True, exclude_viewed: bool = True,
                 pinned: Sequence[str] = (), boosted: dict[str, float] | None = None,
                 catalog_ttl_s: float = 60.0) -> None:  # fmt: skip
        self.store = store
        self.models_dir = Path(models_dir)
        self.model = model
        self.exclude_bought = exclude_bought
        self.exclude_viewed = exclude_viewed
        self.pinned = tuple(pinned)
        self.boosted = dict(boosted or {})
        self.catalog_ttl_s = catalog_ttl_s
        self._caches: dict[str, ArtifactCache[Recommender]] = {}
        self._lock = threading.Lock()
        self._catalog: tuple[float, dict[str, dict[str, Any]]] | None = None
        self._choice: tuple[tuple[Any, ...], str] | None = None
        self._tables: dict[int, tuple[Recommender, ItemTable]] = {}

    @classmethod
    def from_settings(cls, settings: Any, store: Any) -> RecommendService:
        return cls(
            store,
            settings.models_dir,
            settings.recommend_model,
            settings.recommend_exclude_bought,
            settings.recommend_exclude_viewed,
            pinned=[x.strip() for x in settings.recommend_pinned.split(",") if x.strip()],
            boosted=parse_boosts(settings.recommend_boosted),
        )

    def _rules(
        self, filters: Filters | None, viewed: Sequence[str], bought: Sequence[str]
    ) -> Filters:
        """The request's filters with the service's: what the shopper bought and looked
        at left out, as the settings say; the store's pinned items after the request's,
        its boosts under the request's."""
        filters = filters or Filters()
        out = list(filters.exclude)
        out += list(bought) if self.exclude_bought else []
        out += list(viewed) if self.exclude_viewed else []
        pinned = tuple(dict.fromkeys([*filters.pinned, *self.pinned]))
        boost = {**self.boosted, **filters.boost}
        return replace(filters, exclude_history=False, exclude=tuple(dict.fromkeys(out)),
                       pinned=pinned, boost=boost)  # fmt: skip

    # -- what is loaded -------------------------------------------------------------------
    def get(self, name: str | None = None) -> Recommender:
        """The current version of ``name`` (default: the serving model)."""
        name = name or self.model
        with self._lock:
            if name not in self._caches:
                pointer = registry(self.models_dir, name).pointer_path
                self._caches[name] = ArtifactCache(
                    lambda n=name: _open(self.models_dir, n), [pointer], f"recommend/{name}"
                )
            cache = self._caches[name]
        return cache.get()

    def serving(self) -> Recommender:
        """The serving model, or ``popular`` when it has not been trained. ``"auto"``:
        of the trained models, the one with the best validation NDCG@10 on the store's own
        shoppers (chosen again whenever a version is published)."""
        name = self.choose() if self.model == AUTO else self.model
        try:
            return self.get(name)
        except NoModel:
            if name == FALLBACK:
                raise
            return self.get(FALLBACK)

    def choose(self) -> str:
        """The trained model whose current version ranked the store best (validation
        NDCG@10), ``popular`` when none is trained."""
        from shopmind.recommend import MODELS

        names = sorted(MODELS)
        pointers = [registry(self.models_dir, n).pointer_path for n in names]
        signature = tuple(
            (p.stat().st_mtime_ns, p.stat().st_ino) if p.exists() else None for p in pointers
        )
        with self._lock:
            if self._choice is not None and self._choice[0] == signature:
                return self._choice[1]
        best, best_score = FALLBACK, -1.0
        for name in names:
            try:
                version = registry(self.models_dir, name).current()
            except RegistryError:
                continue
            if version is None:
                continue
            score = version.metrics.get("valid_ndcg@10", version.metrics.get("ndcg@10", -1.0))
            if score is not None and float(score) > best_score:
                best, best_score = name, float(score)
        with self._lock:
            self._choice = (signature, best)
        return best

    def table(self, model: Recommender) -> ItemTable:
        """Catalog facts aligned to ``model``'s item codes, built once per model and
        catalog load (products gone from the store stay known, out of stock)."""
        import numpy as np

        from shopmind.store.interactions import catalog_rows

        now = time.monotonic()
        with self._lock:
            stamp, rows = self._catalog or (None, None)
            if stamp is None or now - stamp > self.catalog_ttl_s:
                stamp, rows = now, None
        if rows is None:
            rows = {c["id"]: c for c in catalog_rows(self.store)}
            with self._lock:
                self._catalog = (stamp, rows)
                self._tables.clear()
        with self._lock:
            found = self._tables.get(id(model))
            if found is not None and found[0] is model:
                return found[1]
        known = [rows.get(item) for item in model.items_]
        prices = [np.nan if not r or r["price"] is None else r["price"] for r in known]
        table = ItemTable(
            ids=list(model.items_),
            titles=[r["title"] if r else i for r, i in zip(known, model.items_, strict=True)],
            categories=[r["category"] if r else "" for r in known],
            prices=np.asarray(prices, dtype=np.float64),
            in_stock=np.asarray([bool(r and r["in_stock"]) for r in known], dtype=bool),
        )
        with self._lock:
            if len(self._tables) > 8:
                self._tables.clear()
            self._tables[id(model)] = (model, table)
        return table

    # -- requests -------------------------------------------------------------------------
    def for_user(
        self,
        user: str,
        n: int = 10,
        filters: Filters | None = None,
        scope: str = "all",
        private: bool = True,
    ) -> dict[str, Any]:
        """Recommendations for shopper ``user`` (customer external id or browser id).
        ``scope="browser"``: only events recorded under that browser id count (the public
        widget with an unsigned id); ``private=False``: reasons never name an item of the
        shopper's history ("Picked for you"), for answers anyone could ask for."""
        from shopmind.recommend.train import collapse
        from shopmind.store.interactions import user_rows

        model = self.serving()
        rows = user_rows(self.store, user, scope=scope)
        history = [item for _, item, _, _ in collapse(rows)]  # as training reads them
        bought = {item for _, item, _, kind in rows if kind == "purchase"}
        filters = self._rules(filters, [i for i in history if i not in bought], sorted(bought))
        if history:
            got = model.recommend(history, n, filters, self.table(model))
            got.unknown = []  # products new since training: not a caller's mistake
            if got.fallback:
                got.fallback = f"user {user!r}: no item the model knows; popular items"
        elif scope == "browser":
            got = model.recommend([], n, filters, self.table(model))
            got.fallback = "no history for this shopper: popular items"
        else:
            got = model.recommend(user, n, filters, self.table(model))
        answer = self._answer(model, got, bought)
        if not private:
            for item in answer["items"]:
                if item["reason"].get("item"):  # an item of the shopper's history
                    item["reason"] = {"kind": "for_you", "item": None, "category": None}
                    item["reason_text"] = reason_text(item["reason"], {})
        return answer

    def for_session(
        self,
        items: Sequence[str],
        n: int = 10,
        filters: Filters | None = None,
        allow_empty: bool = False,
    ) -> dict[str, Any]:
        """Recommendations after the session's item ids (in order); with
        ``allow_empty``, an empty session gets the popular items."""
        if not items and not allow_empty:
            raise RecommendError("a session needs at least one item id")
        model = self.serving()
        filters = self._rules(filters, [str(i) for i in items], [])
        return self._answer(model, model.recommend(list(items), n, filters, self.table(model)))

    def similar(self, item: str, n: int = 10, filters: Filters | None = None) -> dict[str, Any]:
        model = self.serving()
        got = model.similar(item, n, self._rules(filters, [], []), self.table(model))
        return self._answer(model, got, kind="similar")

    def bought_together(
        self, item: str, n: int = 10, filters: Filters | None = None
    ) -> dict[str, Any]:
        model = self.get(TOGETHER)
        filters = self._rules(filters, [], [])
        return self._answer(model, model.similar(item, n, filters, self.table(model)))

    # -- answers --------------------------------------------------------------------------
    def _answer(
        self, model: Recommender, got: Recommendations, bought: set[str] | None = None,
        kind: str | None = None,
    ) -> dict[str, Any]:  # fmt: skip
        table = self.table(model)
        titles = dict(zip(table.ids, table.titles, strict=True))
        items = []
        for item, score, reason in zip(got.item_ids, got.scores, got.reasons, strict=True):
            reason = dict(reason)
            if kind and reason["kind"] not in ("popular", "featured"):
                reason["kind"] = kind
            if reason["kind"] == "viewed" and bought and reason["item"] in bought:
                reason["kind"] = "bought"
            if reason.get("item"):
                reason["title"] = titles.get(reason["item"], reason["item"])
            items.append({"item_id": item, "title": titles.get(item, item),
                          "score": round(float(score), 6), "reason": reason,
                          "reason_text": reason_text(reason, titles)})  # fmt: skip
        return {"model": model.name, "items": items, "fallback": got.fallback,
                "unknown": got.unknown}  # fmt: skip


def reason_text(reason: dict[str, Any], titles: dict[str, str]) -> str:
    """A reason as one short English line."""
    item = titles.get(reason.get("item") or "", reason.get("item") or "")
    kind = reason.get("kind")
    if kind == "viewed":
        return f"Because you viewed {item}"
    if kind == "bought":
        return f"Because you bought {item}"
    if kind == "together":
        return f"Often bought with {item}"
    if kind == "similar":
        return f"Similar to {item}"
    if kind == "featured":
        return "Featured"
    if kind == "for_you":
        return "Picked for you"
    category = reason.get("category")
    return f"Popular in {category}" if category else "Popular right now"
