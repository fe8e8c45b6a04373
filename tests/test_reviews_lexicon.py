"""The lexicon tier: VADER and snownlp behind the sentiment contract, on known answers."""

from __future__ import annotations

import csv
import random

import numpy as np
import pytest

from reviews_contract import (
    LEXICON_WORDS,
    SentimentContract,
    accuracy,
    binary_accuracy,
    macro_f1,
    split_by_group,
    synthetic_reviews,
    womens_clothing,
)
from shopmind.reviews.base import NEGATIVE, NEUTRAL, POSITIVE
from shopmind.reviews.lexicon import LexiconSentiment, band_proba, calibrate_band


class TestLexiconContract(SentimentContract):
    vocab = LEXICON_WORDS
    emoji_label = "positive"

    def make_model(self) -> LexiconSentiment:
        return LexiconSentiment()


def test_knows_sentiment_words_without_training():
    texts, labels = synthetic_reviews(300, LEXICON_WORDS, seed=4)
    assert accuracy(LexiconSentiment(), texts, labels) >= 0.95


def test_band_mapping_flips_exactly_at_the_band_edges():
    s = np.array([-0.31, -0.29, 0.0, 0.19, 0.21, 1.0, -1.0])
    proba = band_proba(s, lo=-0.3, hi=0.2, temperature=0.2)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert list(proba.argmax(axis=1)) == [0, 1, 1, 1, 2, 2, 0]
    grid = band_proba(np.linspace(-1, 1, 41), -0.05, 0.05, 0.2)
    assert np.all(np.diff(grid[:, POSITIVE]) > 0) and np.all(np.diff(grid[:, NEGATIVE]) < 0)


def test_calibrate_band_recovers_known_thresholds():
    rng = np.random.default_rng(0)
    s = rng.uniform(-1, 1, 2000)
    y = np.where(s < -0.4, NEGATIVE, np.where(s > 0.3, POSITIVE, NEUTRAL))
    lo, hi = calibrate_band(s, y)
    assert lo == pytest.approx(-0.4, abs=0.05) and hi == pytest.approx(0.3, abs=0.05)


def test_fit_moves_the_neutral_band_to_the_stores_labels(tmp_path):
    """Here "okay" reviews are 3 stars; VADER's default band calls them positive."""
    rng = random.Random(0)
    filler = ["the dress", "this top", "the fabric", "my order"]
    texts, labels = [], []
    for _ in range(40):
        texts.append(f"{rng.choice(filler)} is okay")
        labels.append(NEUTRAL)
        texts.append(f"{rng.choice(filler)} is excellent and wonderful")
        labels.append(POSITIVE)
        texts.append(f"{rng.choice(filler)} is terrible")
        labels.append(NEGATIVE)
    default = LexiconSentiment()
    assert accuracy(default, texts, labels) == pytest.approx(2 / 3)
    fitted = LexiconSentiment().fit(texts, labels)
    assert fitted.band("en")[1] >= 0.25
    assert accuracy(fitted, texts, labels) == 1.0
    fitted.save(tmp_path / "lex")
    assert LexiconSentiment.load(tmp_path / "lex").band("en") == fitted.band("en")


def test_fit_calibrates_a_large_set_on_a_sample(monkeypatch):
    from shopmind.reviews import lexicon

    texts = [f"item {i} is okay" for i in range(90)] + [f"item {i} is superb" for i in range(90)]
    labels = [NEUTRAL] * 90 + [POSITIVE] * 90
    seen = []
    real = LexiconSentiment._polarities
    monkeypatch.setattr(lexicon, "MAX_CALIBRATION", 60)
    monkeypatch.setattr(
        LexiconSentiment, "_polarities", lambda self, t, r: seen.append(len(t)) or real(self, t, r)
    )
    fitted = LexiconSentiment().fit(texts, labels)
    assert seen == [60]
    assert fitted.band("en")[1] >= 0.25  # "okay" (VADER 0.23) is inside the neutral band


def test_fit_keeps_default_band_for_a_language_it_saw_too_little_of():
    model = LexiconSentiment().fit(["great", "awful", "很好"], [POSITIVE, NEGATIVE, POSITIVE])
    assert model.band("en") == (-0.05, 0.05) and model.band("zh") == (-0.3, 0.3)


def test_explain_english_shows_negation_and_emoji():
    model = LexiconSentiment()
    got = dict(model.explain("The fabric is not great and the zipper is awful 😠"))
    assert "not great" in got and "awful" in got and "😠" in got
    assert all(w > 0 for w in got.values())  # all pushed toward the negative label


def test_chinese_goes_to_snownlp_and_explains_by_word():
    model = LexiconSentiment()
    preds = model.predict(["质量太差了，不推荐，很失望", "很好吃，送餐很快，非常满意"])
    assert [p.language for p in preds] == ["zh", "zh"]
    assert [p.label for p in preds] == ["negative", "positive"]
    words = [w for w, _ in model.explain("质量太差了，不推荐，很失望", top_k=3)]
    assert any("差" in w for w in words), words


def test_save_rejects_another_tiers_folder(tmp_path):
    (tmp_path / "config.json").write_text('{"tier": "linear"}')
    with pytest.raises(ValueError, match="linear"):
        LexiconSentiment.load(tmp_path)


# -- real data (skipped without ../shared/data) -----------------------------------------


def test_womens_clothing_lexicon_well_above_chance(shared_data):
    split = split_by_group(womens_clothing(shared_data), n_train=0, n_test=1500)
    proba = LexiconSentiment().predict_proba(split.test_texts)
    # measured on this sample: binary accuracy 0.90, 3-class macro-F1 0.44
    assert binary_accuracy(split.test_labels, proba) >= 0.85
    assert macro_f1(split.test_labels, proba) >= 0.38


def test_waimai_snownlp_well_above_chance(shared_data):
    path = shared_data / "reviews" / "zh-waimai" / "waimai_10k.csv"
    if not path.exists():
        pytest.skip(f"{path} not found")
    with path.open(encoding="utf-8") as f:
        rows = [r for r in csv.DictReader(f) if r["review"].strip()]
    sample = random.Random(0).sample(rows, 400)
    labels = [POSITIVE if r["label"] == "1" else NEGATIVE for r in sample]
    proba = LexiconSentiment().predict_proba([r["review"] for r in sample])
    # measured on this sample: binary accuracy 0.76
    assert binary_accuracy(labels, proba) >= 0.72
