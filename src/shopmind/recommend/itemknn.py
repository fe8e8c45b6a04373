"""``itemknn``: item-to-item neighbours from co-occurrence ("viewed together", "bought
together").

Two items are similar when the same users touched both: cosine similarity of their
columns in the user × item matrix (binary), shrunk towards 0 for items few users share
(``shrink``), each item keeping its ``neighbours`` most similar items. A history scores
an item by the similarities of the history's items to it, recent ones weighing more (a
history item's weight halves every ``recency_half_life`` items back).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import numpy as np
import scipy.sparse as sp

from shopmind.recommend.base import Recommender
from shopmind.recommend.data import Interactions
from shopmind.recommend.rules import ItemTable


class ItemKNNRecommender(Recommender):
    name: ClassVar[str] = "itemknn"
    params: ClassVar[tuple[str, ...]] = ("neighbours", "shrink", "recency_half_life")

    def __init__(
        self, neighbours: int = 100, shrink: float = 10.0, recency_half_life: float | None = 2.0
    ) -> None:
        self.neighbours = neighbours
        self.shrink = shrink
        self.recency_half_life = recency_half_life

    def _fit(self, interactions: Interactions, item_texts: Mapping[str, str] | None) -> None:
        x = interactions.matrix()
        x.data[:] = 1.0  # who touched what, not how often
        counts = np.asarray(x.sum(axis=0)).ravel()  # (items,) users per item
        co = (x.T @ x).tocsr().astype(np.float32)  # (items, items) users in common
        co.setdiag(0)
        co.eliminate_zeros()
        co = co.tocoo()
        norm = np.sqrt(counts[co.row] * counts[co.col]) + self.shrink
        sims = sp.csr_matrix((co.data / norm, (co.row, co.col)), shape=co.shape,
                             dtype=np.float32)  # fmt: skip
        self.similarity_ = _top_k_per_row(sims, self.neighbours)

    def _weights(self, length: int) -> np.ndarray:
        if self.recency_half_life is None or length == 0:
            return np.ones(length, dtype=np.float32)
        back = np.arange(length - 1, -1, -1, dtype=np.float32)
        return np.power(0.5, back / self.recency_half_life).astype(np.float32)

    def _score(self, histories: list[np.ndarray]) -> np.ndarray:
        n_items = self.similarity_.shape[0]
        rows = np.repeat(np.arange(len(histories)), [len(h) for h in histories])
        cols = np.concatenate(histories) if histories else np.zeros(0, dtype=np.int64)
        vals = np.concatenate([self._weights(len(h)) for h in histories]) if histories else []
        query = sp.csr_matrix((vals, (rows, cols)), shape=(len(histories), n_items),
                              dtype=np.float32)  # fmt: skip
        return np.asarray((query @ self.similarity_).todense())

    def anchors(self, history: np.ndarray, codes: Sequence[int]) -> list[int | None]:
        if len(history) == 0:
            return [None] * len(codes)
        seen = np.unique(history)
        block = self.similarity_[seen][:, np.asarray(codes, dtype=np.int64)].toarray()
        best = block.argmax(axis=0)
        return [int(seen[j]) if block[j, i] > 0 else None for i, j in enumerate(best)]

    def _reason(self, anchor: int | None, code: int, table: ItemTable) -> dict[str, Any]:
        if anchor is None:
            return self._popular_reason(code, table)
        return {"kind": "together", "item": self.items_[anchor], "category": None}

    def _state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        s = self.similarity_
        return {"shape": list(s.shape)}, {"indptr": s.indptr.astype(np.int64),
                                          "indices": s.indices.astype(np.int64),
                                          "data": s.data.astype(np.float32)}  # fmt: skip

    def _set_state(self, extra: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        self.similarity_ = sp.csr_matrix(
            (arrays["data"], arrays["indices"], arrays["indptr"]), shape=tuple(extra["shape"])
        )


def _top_k_per_row(m: sp.csr_matrix, k: int) -> sp.csr_matrix:
    """Keep each row's ``k`` largest entries."""
    m = m.tocsr()
    rows, cols, vals = [], [], []
    for r in range(m.shape[0]):
        start, end = m.indptr[r], m.indptr[r + 1]
        if end == start:
            continue
        data, idx = m.data[start:end], m.indices[start:end]
        if len(data) > k:
            keep = np.argpartition(-data, k - 1)[:k]
            data, idx = data[keep], idx[keep]
        rows.append(np.full(len(data), r))
        cols.append(idx)
        vals.append(data)
    if not rows:
        return sp.csr_matrix(m.shape, dtype=np.float32)
    return sp.csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
                         shape=m.shape, dtype=np.float32)  # fmt: skip
