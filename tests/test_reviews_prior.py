"""Correcting the class-weighted loss back to the store's label mix (issue 7)."""

from __future__ import annotations

import numpy as np
import pytest

from shopmind.reviews.prior import (
    PriorCorrection,
    TunedShift,
    can_tune,
    correction_from_dict,
    label_distribution,
    trained_distribution,
    tune_shift,
    validation_split,
)


def _noisy_logits(labels: np.ndarray, bias: np.ndarray, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return 2.0 * np.eye(3)[labels] + rng.normal(0, 1.0, (len(labels), 3)) + bias


def test_tuned_shift_undoes_a_known_bias_toward_neutral():
    """Known answer: the same logits pushed +1.5 toward neutral get a shift exactly 1.5
    further off neutral than the unpushed ones, and it raises macro-F1 on fresh data
    drawn the same way."""
    rng = np.random.default_rng(1)
    labels = rng.choice(3, size=3000, p=[0.1, 0.1, 0.8])
    bias = np.array([0.0, 1.5, 0.0])
    tuned = tune_shift(_noisy_logits(labels, bias), labels)
    plain = tune_shift(_noisy_logits(labels, np.zeros(3)), labels)
    np.testing.assert_allclose(tuned.shift, plain.shift - bias, atol=1e-9)
    fresh = rng.choice(3, size=3000, p=[0.1, 0.1, 0.8])
    z = _noisy_logits(fresh, bias, seed=2)
    before = np.mean(z.argmax(1)[fresh != 1] == 1)
    after = np.mean(tuned.logits(z).argmax(1)[fresh != 1] == 1)
    assert after < before / 2  # far fewer starred reviews called neutral
    assert tuned.f1_after > tuned.f1_before


def test_tuned_shift_leaves_an_unbiased_model_almost_alone():
    labels = np.random.default_rng(3).choice(3, size=3000)
    tuned = tune_shift(_noisy_logits(labels, np.zeros(3)), labels)
    assert np.abs(tuned.shift).max() <= 0.3


def test_prior_correction_is_the_log_ratio_of_store_and_trained_mix():
    labels = [0] * 99 + [1] * 99 + [2] * 798
    corr = PriorCorrection.fit(labels, "balanced")
    assert corr.trained == pytest.approx((1 / 3,) * 3)
    np.testing.assert_allclose(corr.shift, np.log(np.array(corr.prior) * 3))
    assert PriorCorrection.fit(labels, None).shift == pytest.approx(np.zeros(3))
    sqrt = trained_distribution(label_distribution(labels), "sqrt")
    assert sqrt[2] / sqrt[0] == pytest.approx((799 / 100) ** 0.5)
    with pytest.raises(ValueError, match="strength"):
        PriorCorrection.fit(labels, "balanced", strength=5)


def test_proba_keeps_absent_labels_at_zero_and_rows_normalised():
    corr = PriorCorrection.fit([0, 2, 2, 2], "balanced")
    p = corr.proba(np.array([[0.5, 0.0, 0.5], [0.0, 0.0, 0.0]]))
    assert p[0, 1] == 0 and p[0].sum() == pytest.approx(1) and p[0, 2] > p[0, 0]
    assert np.all(p[1] == 0)


def test_validation_split_is_stratified_and_skipped_for_small_stores():
    labels = [0] * 200 + [1] * 150 + [2] * 1650
    fit_at, held = validation_split(labels)
    assert len(held) == 300 and not set(fit_at) & set(held)
    assert sorted(fit_at + held) == list(range(2000))
    counts = np.bincount(np.asarray(labels)[held], minlength=3)
    assert counts.tolist() == [30, 22, 248] or abs(counts[1] - 22) <= 1
    assert validation_split(labels[:900] + [2] * 50) == (list(range(950)), [])  # < 1,000
    rare = [1] * 20 + [2] * 1980  # 3 neutral reviews in the split: too few to tune on
    assert validation_split(rare)[1] == []
    assert not can_tune([1] * 5 + [2] * 100) and can_tune([1] * 20 + [2] * 100)


def test_corrections_round_trip_through_json():
    tuned = TunedShift((-0.3, -1.2, 0.0), 300, 0.5, 0.6)
    prior = PriorCorrection.fit([0, 1, 2, 2], "balanced", 0.5)
    assert correction_from_dict(tuned.to_dict()) == tuned
    assert correction_from_dict(prior.to_dict()) == prior
    assert correction_from_dict(None) is None
