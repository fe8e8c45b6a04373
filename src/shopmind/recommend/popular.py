"""``popular``: time-decayed popularity, the same list for everyone (the fallback)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np

from shopmind.recommend.base import Recommender, popularity
from shopmind.recommend.data import Interactions
from shopmind.recommend.rules import ItemTable


class PopularRecommender(Recommender):
    """Each item's summed interaction weight, a row's weight halved every ``half_life``
    time units before the newest row (``None``: plain counts)."""

    name: ClassVar[str] = "popular"
    params: ClassVar[tuple[str, ...]] = ("half_life",)

    def __init__(self, half_life: float | None = 14 * 86400.0) -> None:
        self.half_life = half_life

    def _fit(self, interactions: Interactions, item_texts: Mapping[str, str] | None) -> None:
        self.scores_ = popularity(interactions, self.half_life)
        self.popularity_ = self.scores_  # the fallback decays as the model does

    def _score(self, histories: list[np.ndarray]) -> np.ndarray:
        return np.broadcast_to(self.scores_, (len(histories), len(self.scores_)))

    def _reason(self, anchor: int | None, code: int, table: ItemTable) -> dict[str, Any]:
        return self._popular_reason(code, table)

    def _state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        return {}, {"scores": self.scores_}

    def _set_state(self, extra: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        self.scores_ = arrays["scores"]
        self.popularity_ = self.scores_
