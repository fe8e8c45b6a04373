"""What every recommender shares: fit bookkeeping, scoring, recommending with the rules,
reasons, and saving without pickle.

A model (scikit-learn style) stores its hyperparameters in ``__init__`` and nothing else;
``fit(interactions) -> self`` learns attributes ending in ``_``. Subclasses write three
things: ``_fit`` (learn), ``_score`` (a batch of item-code histories → scores over all
items) and ``_state`` / ``_set_state`` (their arrays and JSON for ``save`` / ``load``).
Optionally ``item_vectors_`` (items × dim, for the inner-product index and for reasons)
and ``_query`` (histories → query vectors, so that ``score = query · item_vectors``).

Every model also learns the time-decayed popularity of the items (``popularity_``): the
fallback for shoppers it knows nothing about, reported as such.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from shopmind.recommend.data import Interactions
from shopmind.recommend.rules import Filters, ItemTable, allowed, pick

FORMAT = 1
CONFIG = "config.json"
ARRAYS = "arrays.safetensors"


class RecommendError(ValueError):
    """A request that cannot be answered: no items, a bad n, a model not fitted."""


@dataclass
class Recommendations:
    """``item_ids``, ``scores`` and ``reasons`` (iterating gives those three, so
    ``ids, scores, reasons = model.recommend(…)``), plus ``fallback`` (why the popular
    list was used, or ``None``) and ``unknown`` (ids in the request that are not known
    and were ignored). A reason is a dict: ``{"kind": "viewed" | "similar" | "popular",
    "item": id or None, "category": str or None}`` (``featured`` for pinned items);
    ``reason_text`` renders one."""

    item_ids: list[str]
    scores: list[float]
    reasons: list[dict[str, Any]]
    fallback: str | None = None
    unknown: list[str] = field(default_factory=list)

    def __iter__(self) -> Iterator[Any]:
        return iter((self.item_ids, self.scores, self.reasons))

    def to_dict(self) -> dict[str, Any]:
        return {
            "items": [
                {"item_id": i, "score": round(s, 6), "reason": r}
                for i, s, r in zip(self.item_ids, self.scores, self.reasons, strict=True)
            ],
            "fallback": self.fallback,
            "unknown": self.unknown,
        }


class Recommender:
    """The shared interface; see the module docstring."""

    name: ClassVar[str] = "base"
    # the hyperparameters, saved with the model and given back to __init__ on load
    params: ClassVar[tuple[str, ...]] = ()

    # learned
    items_: list[str]
    users_: list[str]
    histories_: list[np.ndarray]
    popularity_: np.ndarray
    item_vectors_: np.ndarray | None = None

    def get_params(self) -> dict[str, Any]:
        return {p: getattr(self, p) for p in self.params}

    # -- learning -------------------------------------------------------------------------
    def fit(
        self, interactions: Interactions, item_texts: Mapping[str, str] | None = None
    ) -> Recommender:
        """Learn from ``interactions`` (``item_texts``: item id → text, for models that
        read the catalog's words)."""
        if len(interactions) == 0 and self.name != "content":
            raise RecommendError("no interactions to learn from")
        if interactions.n_items == 0:
            raise RecommendError("no items to recommend")
        self.items_ = list(interactions.items)
        self.users_ = list(interactions.users)
        self.histories_ = interactions.sequences()
        self.popularity_ = popularity(interactions)
        self._item_index = {item: i for i, item in enumerate(self.items_)}
        self._user_index = {user: u for u, user in enumerate(self.users_)}
        self._index = None
        self._fit(interactions, item_texts)
        return self

    def _fit(self, interactions: Interactions, item_texts: Mapping[str, str] | None) -> None:
        raise NotImplementedError

    # -- scoring --------------------------------------------------------------------------
    def score(self, histories: Sequence[Sequence[int]]) -> np.ndarray:
        """(batch, items) scores for item-code histories (time order); higher is better."""
        self._check_fitted()
        arrays = [np.asarray(h, dtype=np.int64) for h in histories]
        return np.array(self._score(arrays), dtype=np.float32)  # writable, never a view

    def _score(self, histories: list[np.ndarray]) -> np.ndarray:
        raise NotImplementedError

    def anchors(self, history: np.ndarray, codes: Sequence[int]) -> list[int | None]:
        """For each recommended code, the history item that explains it best (the most
        similar one by the model's item vectors), or None when the model cannot say."""
        if self.item_vectors_ is None or len(history) == 0:
            return [None] * len(codes)
        seen = np.unique(np.asarray(history, dtype=np.int64))
        vectors = self.item_vectors_
        norms = np.linalg.norm(vectors, axis=1) + 1e-12
        a = vectors[seen] / norms[seen, None]
        b = vectors[np.asarray(codes, dtype=np.int64)] / norms[np.asarray(codes), None]
        best = (b @ a.T).argmax(axis=1)
        return [int(seen[j]) for j in best]

    # -- recommending ---------------------------------------------------------------------
    def recommend(
        self,
        user_or_sequence: str | Sequence[str],
        n: int = 10,
        filters: Filters | None = None,
        table: ItemTable | None = None,
    ) -> Recommendations:
        """The top ``n`` items for a known user id, or for a sequence of item ids (an
        anonymous session, time order), under ``filters`` with ``table``'s catalog facts.
        An unknown user, or a sequence with no known item, gets the popular items and
        ``fallback`` says why; unknown item ids are ignored and listed in ``unknown``."""
        self._check_fitted()
        filters = filters or Filters()
        unknown: list[str] = []
        fallback = None
        if isinstance(user_or_sequence, str):
            code = self._user_index.get(user_or_sequence)
            if code is None:
                history = np.zeros(0, dtype=np.int64)
                fallback = f"unknown user {user_or_sequence!r}: popular items"
            else:
                history = np.asarray(self.histories_[code], dtype=np.int64)
                if len(history) == 0:
                    fallback = f"user {user_or_sequence!r} has no history: popular items"
        else:
            known = []
            for item in user_or_sequence:
                c = self._item_index.get(str(item))
                (unknown.append(str(item)) if c is None else known.append(c))
            history = np.asarray(known, dtype=np.int64)
            if len(history) == 0:
                fallback = "no known item in the sequence: popular items"
        return self._recommend(history, n, filters, table, fallback, unknown, excluded=())

    def similar(
        self,
        item: str,
        n: int = 10,
        filters: Filters | None = None,
        table: ItemTable | None = None,
    ) -> Recommendations:
        """Items to show beside ``item`` (its page): the model's answer for a history of
        that one item, the item itself left out."""
        self._check_fitted()
        code = self._item_index.get(str(item))
        if code is None:
            raise RecommendError(f"unknown item {item!r}")
        history = np.asarray([code], dtype=np.int64)
        filters = filters or Filters()
        return self._recommend(history, n, filters, table, None, [], excluded=(code,))

    def _recommend(
        self,
        history: np.ndarray,
        n: int,
        filters: Filters,
        table: ItemTable | None,
        fallback: str | None,
        unknown: list[str],
        excluded: Sequence[int],
    ) -> Recommendations:
        if n < 1:
            raise RecommendError(f"n must be at least 1, got {n}")
        table = table or ItemTable.bare(self.items_)
        if len(table) != len(self.items_):
            raise RecommendError("the item table does not match the model's items")
        out = list(excluded) + (list(history) if filters.exclude_history else [])
        if fallback is not None:
            scores = self.popularity_.astype(np.float32)
            codes = pick(scores, n, table, filters, out, self._item_index)
        elif self.index() is not None:
            scores, codes = self._search(history, n, table, filters, out)
        else:
            scores = self.score([history])[0]
            # ties (items the model has nothing to say about score 0) go by popularity
            top = float(self.popularity_.max()) or 1.0
            scale = 1e-6 * max(1.0, float(np.abs(scores).max()))
            scores = scores + (self.popularity_ / top) * scale
            codes = pick(scores, n, table, filters, out, self._item_index)
        if fallback is None:
            anchors = self.anchors(history, codes)
            reasons = [self._reason(a, c, table) for a, c in zip(anchors, codes, strict=True)]
        else:
            reasons = [self._popular_reason(c, table) for c in codes]
        featured = {"kind": "featured", "item": None, "category": None}
        pins = set(filters.pinned)
        pairs = zip(codes, reasons, strict=True)
        reasons = [dict(featured) if self.items_[c] in pins else r for c, r in pairs]
        return Recommendations(
            [self.items_[c] for c in codes],
            [float(scores[c]) for c in codes],
            reasons,
            fallback,
            unknown,
        )

    def index(self) -> Any:
        """The faiss inner-product index over ``item_vectors_`` (built on first use), for
        models that score ``query · item``; None for the others."""
        if self.item_vectors_ is None or type(self)._query is Recommender._query:
            return None
        if getattr(self, "_index", None) is None:
            from shopmind.recommend.index import VectorIndex

            self._index = VectorIndex(self.item_vectors_, getattr(self, "threads", 1))
        return self._index

    def _query(self, histories: list[np.ndarray]) -> np.ndarray:
        raise NotImplementedError

    def _search(
        self, history: np.ndarray, n: int, table: ItemTable, filters: Filters, out: list[int]
    ) -> tuple[np.ndarray, list[int]]:
        """Top candidates from the index, widened until the rules keep ``n`` of them.
        When the filters let few items through (a category, a price band), those are
        scored directly instead: exact, and one product instead of a widening search."""
        query = self._query([history])[0]
        index = self.index()
        k = n + len(out) + len(filters.exclude) + len(filters.pinned) + 16
        let_through = allowed(table, filters)
        if int(let_through.sum()) <= max(16 * k, len(index) // 20):
            scores = np.full(len(self.items_), -np.inf, dtype=np.float32)
            codes = np.flatnonzero(let_through)
            pins = [c for i in filters.pinned if (c := self._item_index.get(i)) is not None]
            codes = np.union1d(codes, np.asarray(pins, dtype=np.int64))
            scores[codes] = self.item_vectors_[codes] @ query
            return scores, pick(scores, n, table, filters, out, self._item_index)
        # pinned and boosted items are scored whether or not the index found them
        named = [c for i in (*filters.pinned, *filters.boost) if (c := self._item_index.get(i))
                 is not None]  # fmt: skip
        while True:
            found, found_scores = index.search(query, k)
            scores = np.full(len(self.items_), -np.inf, dtype=np.float32)
            scores[found] = found_scores
            if named:
                scores[named] = self.item_vectors_[named] @ query
            if k >= len(index):  # everything looked at: unseen items keep their true score
                scores = self.score([history])[0]
            codes = pick(scores, n, table, filters, out, self._item_index)
            if len(codes) >= n or k >= len(index):
                return scores, codes
            k *= 4

    def _reason(self, anchor: int | None, code: int, table: ItemTable) -> dict[str, Any]:
        if anchor is None:
            return self._popular_reason(code, table)
        return {"kind": "viewed", "item": self.items_[anchor], "category": None}

    def _popular_reason(self, code: int, table: ItemTable) -> dict[str, Any]:
        category = table.top_category(code) or None
        return {"kind": "popular", "item": None, "category": category}

    def _check_fitted(self) -> None:
        if not hasattr(self, "items_"):
            raise RecommendError(f"{self.name} is not fitted: call fit() or load() first")

    # -- saving ---------------------------------------------------------------------------
    def save(self, path: str | Path) -> Path:
        """``config.json`` (name, hyperparameters, ids) and ``arrays.safetensors`` in the
        folder ``path`` (created); no pickle."""
        from safetensors.numpy import save_file

        self._check_fitted()
        folder = Path(path)
        folder.mkdir(parents=True, exist_ok=True)
        lengths = np.asarray([len(h) for h in self.histories_], dtype=np.int64)
        flat = (np.concatenate(self.histories_) if self.histories_ else np.zeros(0)).astype(
            np.int64
        )
        arrays = {"popularity": self.popularity_.astype(np.float32),
                  "history_lengths": lengths, "history_items": flat}  # fmt: skip
        extra, own = self._state()
        arrays |= {f"model.{k}": np.ascontiguousarray(v) for k, v in own.items()}
        if self.item_vectors_ is not None and "model.item_vectors" not in arrays:
            arrays["item_vectors"] = np.ascontiguousarray(self.item_vectors_, dtype=np.float32)
        save_file(arrays, str(folder / ARRAYS))
        config = {"format": FORMAT, "model": self.name, "params": self.get_params(),
                  "items": self.items_, "users": self.users_, "state": extra}  # fmt: skip
        (folder / CONFIG).write_text(json.dumps(config), encoding="utf-8")
        return folder

    @classmethod
    def load(cls, path: str | Path) -> Recommender:
        """A model saved by :meth:`save` (any kind, when called on ``Recommender``)."""
        from safetensors.numpy import load_file

        from shopmind.recommend import MODELS

        folder = Path(path)
        try:
            config = json.loads((folder / CONFIG).read_text(encoding="utf-8"))
            arrays = load_file(str(folder / ARRAYS))
        except (OSError, ValueError) as exc:
            raise RecommendError(f"{folder}: not a saved recommender: {exc}") from exc
        kind = MODELS.get(config.get("model"))
        if kind is None or (cls is not Recommender and kind is not cls):
            raise RecommendError(f"{folder}: holds model {config.get('model')!r}, not {cls.name}")
        model = kind(**config["params"])
        model.items_, model.users_ = list(config["items"]), list(config["users"])
        model.popularity_ = arrays["popularity"]
        bounds = np.concatenate([[0], np.cumsum(arrays["history_lengths"])])
        flat = arrays["history_items"]
        model.histories_ = [flat[bounds[i] : bounds[i + 1]] for i in range(len(bounds) - 1)]
        model._item_index = {item: i for i, item in enumerate(model.items_)}
        model._user_index = {user: u for u, user in enumerate(model.users_)}
        if "item_vectors" in arrays:
            model.item_vectors_ = arrays["item_vectors"]
        own = {k.removeprefix("model."): v for k, v in arrays.items() if k.startswith("model.")}
        model._set_state(config.get("state") or {}, own)
        return model

    def _state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        """JSON-able extras and named arrays that ``_set_state`` takes back."""
        return {}, {}

    def _set_state(self, extra: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        return None


def popularity(interactions: Interactions, half_life: float | None = None) -> np.ndarray:
    """(items,) the sum of the rows' weights per item, each row's weight halved every
    ``half_life`` time units before the newest row (no decay when ``None``)."""
    weights = interactions.weights.astype(np.float64)
    if half_life is not None and len(interactions):
        age = interactions.times.max() - interactions.times
        weights = weights * np.power(0.5, age / half_life)
    out = np.zeros(interactions.n_items, dtype=np.float64)
    np.add.at(out, interactions.item_codes, weights)
    return out.astype(np.float32)
