"""The sentiment interface every tier implements, and the shared label scheme.

Labels are ``negative`` / ``neutral`` / ``positive`` (indices 0, 1, 2). Stars map to
labels as 1–2 → negative, 3 → neutral, 4–5 → positive.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Protocol, Self

import numpy as np

LABELS: tuple[str, str, str] = ("negative", "neutral", "positive")
NEGATIVE, NEUTRAL, POSITIVE = 0, 1, 2


def stars_to_label(stars: float) -> int:
    """1–2 stars → negative, 3 → neutral, 4–5 → positive (halves round to the nearer side)."""
    if stars < 2.5:
        return NEGATIVE
    if stars < 3.5:
        return NEUTRAL
    return POSITIVE


@dataclass
class Prediction:
    """One text's sentiment: the label, its probability and all three probabilities."""

    label: str
    score: float
    probs: dict[str, float]
    language: str = "en"
    truncated: bool = False
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "score": round(self.score, 4),
            "probs": {k: round(v, 4) for k, v in self.probs.items()},
            "language": self.language,
            "truncated": self.truncated,
            "notes": list(self.notes),
        }


def predictions_from_proba(
    proba: np.ndarray, languages: Sequence[str], truncated: Sequence[bool] | None = None
) -> list[Prediction]:
    """Rows of (negative, neutral, positive) probabilities → ``Prediction`` objects."""
    out = []
    for i, row in enumerate(np.asarray(proba, dtype=float)):
        k = int(row.argmax())
        out.append(
            Prediction(
                label=LABELS[k],
                score=float(row[k]),
                probs={name: float(p) for name, p in zip(LABELS, row, strict=True)},
                language=languages[i],
                truncated=bool(truncated[i]) if truncated is not None else False,
            )
        )
    return out


class SentimentModel(Protocol):
    """What every tier offers (scikit-learn style: ``fit`` returns self, state ends in ``_``).

    ``fit`` takes texts and integer labels (0/1/2, see ``stars_to_label``);
    ``predict_proba`` returns an (n, 3) array; ``explain`` returns the words or phrases
    that drove the score, as (text, weight toward the predicted label), strongest first;
    ``save``/``load`` use a folder and never pickle.
    """

    name: ClassVar[str]

    def fit(self, texts: Sequence[str], labels: Sequence[int]) -> Self: ...

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray: ...

    def predict(self, texts: Sequence[str]) -> list[Prediction]: ...

    def explain(self, text: str, top_k: int = 8) -> list[tuple[str, float]]: ...

    def save(self, path: str | Path) -> None: ...

    @classmethod
    def load(cls, path: str | Path) -> Self: ...
