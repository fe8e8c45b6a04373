"""Prior correction: scores that follow the store's label mix, not the training loss's.

Every trainable tier weighs classes by inverse frequency while it learns, so the rare
negative and neutral reviews are not drowned by the mass of five-star ones. The price
is that the model then behaves as if the three labels were equally common: on a store
where four reviews in five are positive, borderline reviews drift to the rare labels,
and many clearly starred reviews come out ``neutral`` — worse on shops the model
never saw.

Two corrections, both a constant shift of the three logits at prediction time:

- ``TunedShift`` (the default where a store has enough starred reviews): a validation
  split is kept out of training and the shift is chosen on it for macro-F1.
- ``PriorCorrection`` (smaller stores): logit adjustment (Menon et al., 2021,
  "Long-tail learning via logit adjustment") puts the prior back::

    adjusted_y = logit_y + strength * (log prior_y - log trained_y)

``prior`` is the store's label distribution (all its starred reviews, smoothed),
``trained`` the distribution the weighted loss effectively trained under (uniform for
``"balanced"`` weights, proportional to the square root of the counts for ``"sqrt"``,
the sample's own mix without weights). ``strength`` 1 is the Bayes-consistent
correction, 0 leaves the model as trained.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

SMOOTHING = 1.0  # add-one on counts: a label the store never had still gets some mass
WEIGHTINGS = ("balanced", "sqrt", None)


def label_distribution(labels: Sequence[int], smoothing: float = SMOOTHING) -> np.ndarray:
    """Share of each label 0/1/2 among ``labels``, with add-``smoothing`` counts."""
    counts = np.bincount(np.asarray(labels, dtype=int), minlength=3)[:3].astype(float)
    counts += smoothing
    return counts / counts.sum()


def trained_distribution(prior: np.ndarray, weighting: str | None) -> np.ndarray:
    """The label mix a loss weighted by ``weighting`` effectively trains under."""
    if weighting not in WEIGHTINGS:
        raise ValueError(f"weighting must be one of {WEIGHTINGS}, got {weighting!r}")
    if weighting == "balanced":
        mix = np.ones(3)
    elif weighting == "sqrt":
        mix = np.sqrt(prior)  # weights ∝ 1/sqrt(n): n/sqrt(n)
    else:
        mix = np.asarray(prior, dtype=float)
    return mix / mix.sum()


class _Shift:
    """A constant (3,) shift of the logits; subclasses say how it was chosen."""

    @property
    def shift(self) -> np.ndarray:  # pragma: no cover - every subclass defines it
        raise NotImplementedError

    def logits(self, logits: np.ndarray) -> np.ndarray:
        """(n, 3) logits → adjusted logits."""
        return np.asarray(logits, dtype=float) + self.shift

    def proba(self, proba: np.ndarray) -> np.ndarray:
        """(n, 3) probabilities → adjusted probabilities (rows of zeros stay zero)."""
        p = np.asarray(proba, dtype=float) * np.exp(self.shift)
        total = p.sum(axis=1, keepdims=True)
        return np.divide(p, total, out=np.zeros_like(p), where=total > 0)


@dataclass(frozen=True)
class PriorCorrection(_Shift):
    """The log-odds shift that turns a weighted model's logits into the store's."""

    prior: tuple[float, float, float]
    trained: tuple[float, float, float]
    strength: float = 1.0

    @classmethod
    def fit(
        cls, labels: Sequence[int], weighting: str | None, strength: float = 1.0
    ) -> PriorCorrection:
        """From the store's labels and the class weighting used in training."""
        if not 0.0 <= strength <= 2.0:
            raise ValueError(f"prior strength must be between 0 and 2, got {strength}")
        prior = label_distribution(labels)
        trained = trained_distribution(prior, weighting)
        return cls(_triple(prior), _triple(trained), float(strength))

    @property
    def shift(self) -> np.ndarray:
        """(3,) added to every row of logits."""
        return self.strength * (np.log(self.prior) - np.log(self.trained))

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": "prior",
            "prior": list(self.prior),
            "trained": list(self.trained),
            "strength": self.strength,
        }

    @classmethod
    def from_dict(cls, state: dict[str, Any] | None) -> PriorCorrection | None:
        if not state:
            return None
        return cls(_triple(state["prior"]), _triple(state["trained"]), float(state["strength"]))


@dataclass(frozen=True)
class TunedShift(_Shift):
    """A log-odds shift chosen on held-out reviews of the store, for macro-F1.

    Where a store has enough starred reviews, the trainable tiers keep a validation
    split out of training, score it, and pick the per-label shift (positive fixed at
    0) that maximises macro-F1 on it: the label mix of the predictions then follows
    the store's, neither flooding the rare labels as the weighted loss does nor wiping
    out ``neutral`` as the full prior correction can on a store where 90% of reviews
    are five-star.
    """

    shift_values: tuple[float, float, float]
    validation: int = 0
    f1_before: float = 0.0
    f1_after: float = 0.0

    @property
    def shift(self) -> np.ndarray:
        return np.asarray(self.shift_values, dtype=float)

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": "tuned",
            "shift": list(self.shift_values),
            "validation": self.validation,
            "f1_before": self.f1_before,
            "f1_after": self.f1_after,
        }


Correction = PriorCorrection | TunedShift

GRID = np.round(np.arange(-4.0, 4.0001, 0.1), 2)
MIN_VALIDATION_PER_LABEL = 20


def tune_shift(logits: np.ndarray, labels: Sequence[int], grid: np.ndarray = GRID) -> TunedShift:
    """The (negative, neutral) shift on ``grid`` with the best macro-F1 on held-out reviews.

    ``logits`` (n, 3) are the model's on a validation split, ``labels`` their stars'
    labels. Ties go to the smallest shift, so a model that needs none gets none.
    """
    z = np.asarray(logits, dtype=float)
    y = np.asarray(labels, dtype=int)
    present = np.unique(y)
    best = (_macro_f1(z.argmax(axis=1), y, present), 0.0, 0.0, 0.0)
    base = best[0]
    for b0 in grid:
        for b1 in grid:
            pred = (z + np.array([b0, b1, 0.0])).argmax(axis=1)
            f1 = _macro_f1(pred, y, present)
            size = abs(b0) + abs(b1)
            if f1 > best[0] + 1e-9 or (abs(f1 - best[0]) <= 1e-9 and size < best[3]):
                best = (f1, float(b0), float(b1), size)
    return TunedShift((best[1], best[2], 0.0), len(y), round(base, 4), round(best[0], 4))


def can_tune(labels: Sequence[int]) -> bool:
    """Whether a validation split is big enough to tune on: every label present in it
    at least ``MIN_VALIDATION_PER_LABEL`` times."""
    counts = np.bincount(np.asarray(labels, dtype=int), minlength=3)
    return bool(np.all(counts[counts > 0] >= MIN_VALIDATION_PER_LABEL) and (counts > 0).sum() >= 2)


VALIDATION_SHARE = 0.15
MAX_VALIDATION = 3000
MIN_FOR_VALIDATION = 1000


def validation_split(
    labels: Sequence[int],
    share: float = VALIDATION_SHARE,
    cap: int = MAX_VALIDATION,
    min_total: int = MIN_FOR_VALIDATION,
    seed: int = 0,
) -> tuple[list[int], list[int]]:
    """Positions to train on and positions held out to tune the shift on.

    Stratified by label (seeded). Nothing is held out from fewer than ``min_total``
    reviews, or when the split would have too few of a label (``can_tune``): such a
    store gets the prior correction instead.
    """
    y = np.asarray(labels, dtype=int)
    n = len(y)
    if n < min_total:
        return list(range(n)), []
    rng = np.random.default_rng(seed)
    size = min(cap, round(n * share))
    held: list[int] = []
    for k in np.unique(y):
        rows = np.flatnonzero(y == k)
        take = round(size * len(rows) / n)
        held.extend(rng.choice(rows, take, replace=False).tolist())
    if not can_tune(y[held]):
        return list(range(n)), []
    held_set = set(held)
    return [i for i in range(n) if i not in held_set], sorted(held)


def stratified_folds(labels: Sequence[int], k: int = 5, seed: int = 0) -> list[list[int]]:
    """``k`` folds of positions with each label spread evenly over them (seeded)."""
    y = np.asarray(labels, dtype=int)
    rng = np.random.default_rng(seed)
    folds: list[list[int]] = [[] for _ in range(k)]
    start = 0
    for label in np.unique(y):
        rows = rng.permutation(np.flatnonzero(y == label))
        for j, row in enumerate(rows):
            folds[(start + j) % k].append(int(row))
        start += len(rows)
    return [sorted(f) for f in folds]


def choose_correction(
    labels: Sequence[int],
    weighting: str | None,
    strength: float,
    held_out: tuple[np.ndarray, Sequence[int]] | None = None,
) -> Correction:
    """The shift a tier ships with: tuned on ``held_out`` (logits, labels of reviews the
    model did not train on) where it is big enough, else logit adjustment of
    ``strength`` to the store's ``labels``; strength 0 turns both off."""
    if strength > 0 and held_out is not None and can_tune(held_out[1]):
        return tune_shift(*held_out)
    return PriorCorrection.fit(labels, weighting, strength)


def correction_from_dict(state: dict[str, Any] | None) -> Correction | None:
    """Either kind of correction from its saved form (None when there is none)."""
    if not state:
        return None
    if state.get("kind") == "tuned":
        return TunedShift(
            _triple(state["shift"]),
            int(state.get("validation", 0)),
            float(state.get("f1_before", 0.0)),
            float(state.get("f1_after", 0.0)),
        )
    return PriorCorrection.from_dict(state)


def _macro_f1(pred: np.ndarray, y: np.ndarray, present: np.ndarray) -> float:
    scores = []
    for k in present:
        tp = np.sum((pred == k) & (y == k))
        denom = np.sum(pred == k) + np.sum(y == k)
        scores.append(2 * tp / denom if denom else 0.0)
    return float(np.mean(scores))


def _triple(values: Sequence[float]) -> tuple[float, float, float]:
    a, b, c = (float(v) for v in values)
    return a, b, c
