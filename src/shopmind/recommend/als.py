"""``als``: implicit-feedback matrix factorisation (alternating least squares).

Fitted with the ``implicit`` library's CPU solver (a maintained wheel; conjugate-gradient
ALS after Hu, Koren & Volinsky 2008 and Takács et al. 2011): user and item factors such
that ``user · item`` approaches 1 where the user touched the item, with confidence
``alpha × weight`` (implicit's convention). A history — a known user's, or an anonymous
session's — is folded in by solving for its user factors with the item factors fixed
(the same least-squares step ALS takes), so new sessions and the latest clicks count
without retraining.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np

from shopmind.recommend.base import Recommender
from shopmind.recommend.data import Interactions


class ALSRecommender(Recommender):
    name: ClassVar[str] = "als"
    params: ClassVar[tuple[str, ...]] = (
        "factors", "regularization", "alpha", "iterations", "seed", "threads",
    )  # fmt: skip

    def __init__(
        self,
        factors: int = 128,
        regularization: float = 0.1,
        alpha: float = 40.0,
        iterations: int = 15,
        seed: int = 0,
        threads: int = 2,
    ) -> None:
        self.factors = factors
        self.regularization = regularization
        self.alpha = alpha
        self.iterations = iterations
        self.seed = seed
        self.threads = threads

    def _fit(self, interactions: Interactions, item_texts: Mapping[str, str] | None) -> None:
        from implicit.cpu.als import AlternatingLeastSquares
        from threadpoolctl import threadpool_limits

        with threadpool_limits(1, "blas"):  # implicit's advice: its own threads, BLAS single
            model = AlternatingLeastSquares(
                factors=self.factors, regularization=self.regularization, alpha=self.alpha,
                iterations=self.iterations, random_state=self.seed, num_threads=self.threads,
                calculate_training_loss=False,
            )  # fmt: skip
            model.fit(interactions.matrix(), show_progress=False)
        self.item_vectors_ = np.ascontiguousarray(model.item_factors, dtype=np.float32)

    def _query(self, histories: list[np.ndarray]) -> np.ndarray:
        """(batch, factors): each history folded in as a user (the ALS user step)."""
        y = self.item_vectors_.astype(np.float64)
        gram = y.T @ y + self.regularization * np.eye(y.shape[1])
        out = np.zeros((len(histories), y.shape[1]), dtype=np.float32)
        for row, history in enumerate(histories):
            if len(history) == 0:
                continue
            items, counts = np.unique(history, return_counts=True)
            confidence = self.alpha * counts.astype(np.float64)  # implicit's C = alpha × r
            yh = y[items]
            a = gram + (yh * (confidence - 1.0)[:, None]).T @ yh
            b = (yh * confidence[:, None]).sum(axis=0)
            out[row] = np.linalg.solve(a, b)
        return out

    def _score(self, histories: list[np.ndarray]) -> np.ndarray:
        return self._query(histories) @ self.item_vectors_.T

    def _state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        return {}, {}  # item_vectors_ is saved by the base class

    def _set_state(self, extra: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        return None
