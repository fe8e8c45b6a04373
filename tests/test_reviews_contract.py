"""The sentiment contract itself: its data has the known answer it claims, and it can fail."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

import numpy as np
import pytest

from reviews_contract import (
    INVENTED,
    LEXICON_WORDS,
    accuracy,
    check_explains,
    check_learns,
    check_probabilities,
    planted_review,
    synthetic_reviews,
)
from shopmind.reviews.base import NEGATIVE, NEUTRAL, POSITIVE, Prediction, predictions_from_proba
from shopmind.reviews.lexicon import LexiconSentiment


def test_synthetic_reviews_are_reproducible_and_seeded():
    assert synthetic_reviews(50, seed=3) == synthetic_reviews(50, seed=3)
    assert synthetic_reviews(50, seed=3)[0] != synthetic_reviews(50, seed=4)[0]


@pytest.mark.parametrize("vocab", [INVENTED, LEXICON_WORDS], ids=["invented", "lexicon"])
def test_label_is_determined_by_markers(vocab):
    texts, labels = synthetic_reviews(300, vocab, seed=5)
    assert set(labels) == {NEGATIVE, NEUTRAL, POSITIVE}
    for text, label in zip(texts, labels, strict=True):
        words = set(text.lower().rstrip(".").split())
        for other in (NEGATIVE, NEUTRAL, POSITIVE):
            has = bool(words & set(vocab.markers(other)))
            assert has == (other == label and bool(vocab.markers(other))), (text, label)


def test_invented_markers_are_unknown_to_the_lexicon():
    """Only learning can explain success on INVENTED: VADER calls it all neutral."""
    texts, labels = synthetic_reviews(200, INVENTED, seed=2)
    assert accuracy(LexiconSentiment(), texts, labels) == pytest.approx(labels.count(NEUTRAL) / 200)


class _Constant:
    """A broken tier: ignores its input and always says positive."""

    name: ClassVar[str] = "constant"
    trainable: ClassVar[bool] = True

    def fit(self, texts: Sequence[str], labels: Sequence[int]) -> _Constant:
        return self

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        return np.tile([0.1, 0.1, 0.8], (len(texts), 1))

    def predict(self, texts: Sequence[str]) -> list[Prediction]:
        return predictions_from_proba(self.predict_proba(texts), ["en"] * len(texts))

    def explain(self, text: str, top_k: int = 8) -> list[tuple[str, float]]:
        return [(text[i : i + 3], 0.1) for i in range(0, 3 * top_k, 3)]  # fragments


class _Unnormalised(_Constant):
    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        return np.tile([0.5, 0.5, 0.8], (len(texts), 1))


def test_contract_fails_a_model_that_does_not_learn():
    with pytest.raises(AssertionError, match="held-out accuracy"):
        check_learns(_Constant(), INVENTED, n_train=100, n_test=100, min_accuracy=0.9)


def test_contract_fails_probabilities_that_do_not_sum_to_one():
    with pytest.raises(AssertionError):
        check_probabilities(_Unnormalised(), ["a", "b"])
    check_probabilities(_Constant(), ["a", "b"])


def test_contract_fails_an_explanation_that_misses_the_planted_words():
    text, markers = planted_review(INVENTED, POSITIVE)
    with pytest.raises(AssertionError):
        check_explains(_Constant(), text, markers, top_k=8)
