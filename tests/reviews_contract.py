"""The contract every sentiment tier passes (after implicit's ``RecommenderBaseTestMixin``).

Subclass ``SentimentContract`` in a ``Test*`` class and implement ``make_model``; tune the
class attributes (synthetic data size, accuracy bar, vocabulary, tolerances) for the tier::

    class TestTinyTransformer(SentimentContract):
        n_train = 400
        min_accuracy = 0.85

        def make_model(self):
            return TransformerSentiment(config=tiny_config, epochs=3, seed=0)

Learning is proved on synthetic reviews with a known answer: each label has its own
marker words, mixed into shared filler. The default markers are invented tokens no
lexicon or pretrained model knows (``INVENTED``), so only learning explains success;
tiers that do not train (``trainable = False``) skip the learning test and use a
vocabulary they already know (``LEXICON_WORDS``) for the other checks.

The checks are also plain functions (``check_learns`` ...) so a deliberately broken model
can be shown to fail them (see ``test_reviews_contract.py``). Helpers for the real data
sets used by several tiers' tests (Women's Clothing by product, waimai) live here too.
"""

from __future__ import annotations

import csv
import io
import random
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pytest

from shopmind.reviews.base import LABELS, NEGATIVE, NEUTRAL, POSITIVE, stars_to_label

# -- synthetic reviews with a known answer ----------------------------------------------


@dataclass(frozen=True)
class Vocab:
    """Marker words per label, and filler shared by all labels."""

    negative: tuple[str, ...]
    neutral: tuple[str, ...]
    positive: tuple[str, ...]
    filler: tuple[str, ...]

    def markers(self, label: int) -> tuple[str, ...]:
        return (self.negative, self.neutral, self.positive)[label]


_FILLER = (
    *("the", "item", "arrived", "color", "box", "with", "and", "was", "this", "order"),
    *("on", "tuesday", "size", "we", "got", "it", "my", "fabric", "sleeve", "pocket"),
    *("shipped", "package", "blue", "jacket"),
)
INVENTED = Vocab(
    negative=("gribnak", "trovex", "plonth", "skaddle"),
    neutral=("medrin", "sabule", "tenkow", "wopple"),
    positive=("zorbly", "quandix", "flumsy", "brellic"),
    filler=_FILLER,
)
LEXICON_WORDS = Vocab(
    negative=("terrible", "awful", "horrible", "disappointing"),
    neutral=(),  # no sentiment word at all is what "neutral" means to a lexicon
    positive=("excellent", "wonderful", "amazing", "perfect"),
    filler=_FILLER,
)
# Chinese markers made of rare characters that never occur in the filler.
ZH_INVENTED = Vocab(
    negative=("鼋鼍", "夔魍", "魑魅"),
    neutral=("饕餮", "貔貅", "麒麟"),
    positive=("鸾凤", "鸳鸯", "凤凰"),
    filler=("这个", "衣服", "今天", "收到", "包裹", "颜色", "尺码", "我们", "快递", "买了"),
)
SKEW = (0.2, 0.15, 0.65)  # like real reviews: mostly positive


def synthetic_reviews(
    n: int, vocab: Vocab = INVENTED, seed: int = 0, skew: Sequence[float] = SKEW
) -> tuple[list[str], list[int]]:
    """``n`` reviews of 4–10 words: filler plus one or two markers of the review's label."""
    rng = random.Random(seed)
    texts, labels = [], []
    for _ in range(n):
        label = rng.choices((NEGATIVE, NEUTRAL, POSITIVE), weights=skew)[0]
        texts.append(_review(rng, vocab, label, rng.randint(1, 2)))
        labels.append(label)
    return texts, labels


def _review(rng: random.Random, vocab: Vocab, label: int, n_markers: int) -> str:
    markers = vocab.markers(label)
    words = rng.sample(vocab.filler, rng.randint(3, 8))
    words += rng.sample(markers, min(n_markers, len(markers)))
    rng.shuffle(words)
    return " ".join(words).capitalize() + "."


def planted_review(vocab: Vocab, label: int, seed: int = 99) -> tuple[str, list[str]]:
    """One review with two markers of ``label``, and those markers."""
    rng = random.Random(seed)
    markers = rng.sample(vocab.markers(label), 2)
    words = rng.sample(vocab.filler, 5) + markers
    rng.shuffle(words)
    return " ".join(words) + ".", markers


def accuracy(model: Any, texts: Sequence[str], labels: Sequence[int]) -> float:
    return float(np.mean(model.predict_proba(texts).argmax(axis=1) == np.asarray(labels)))


# -- the checks, as functions -----------------------------------------------------------


def check_learns(model: Any, vocab: Vocab, n_train: int, n_test: int, min_accuracy: float) -> float:
    """Fit on synthetic reviews; held-out accuracy (other seed) must reach ``min_accuracy``."""
    texts, labels = synthetic_reviews(n_train, vocab, seed=1)
    assert model.fit(texts, labels) is model, "fit must return self"
    test_texts, test_labels = synthetic_reviews(n_test, vocab, seed=2)
    acc = accuracy(model, test_texts, test_labels)
    assert acc >= min_accuracy, f"held-out accuracy {acc:.3f} < {min_accuracy}"
    return acc


def check_probabilities(model: Any, texts: Sequence[str]) -> None:
    """(n, 3) probabilities summing to 1; ``predict`` agrees with them row by row."""
    proba = model.predict_proba(texts)
    assert proba.shape == (len(texts), 3)
    assert np.all(np.isfinite(proba)) and np.all(proba >= 0)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-6)
    preds = model.predict(texts)
    assert len(preds) == len(texts)
    for pred, row in zip(preds, proba, strict=True):
        assert pred.label == LABELS[int(row.argmax())]
        assert pred.score == pytest.approx(float(row.max()), abs=1e-6)
        assert list(pred.probs) == list(LABELS)
        np.testing.assert_allclose(list(pred.probs.values()), row, atol=1e-6)
        assert isinstance(pred.language, str) and pred.language


def check_explains(model: Any, text: str, markers: Sequence[str], top_k: int) -> None:
    """Every planted marker is named with a positive weight; the strongest item is one."""
    got = model.explain(text, top_k=top_k)
    assert 0 < len(got) <= top_k, got
    assert all(isinstance(p, str) and isinstance(w, float) for p, w in got), got
    named = {m: w for p, w in got for m in markers if m in p.lower().split()}
    assert set(named) == set(markers), f"markers {markers} not all in {got}"
    assert all(w > 0 for w in named.values()), got
    assert any(m in got[0][0].lower().split() for m in markers), got


# -- the mixin --------------------------------------------------------------------------


class SentimentContract:
    """Tests every sentiment tier must pass; subclasses implement ``make_model``."""

    vocab: ClassVar[Vocab] = INVENTED
    n_train: ClassVar[int] = 600
    n_test: ClassVar[int] = 200
    min_accuracy: ClassVar[float] = 0.9
    explain_top_k: ClassVar[int] = 8
    emoji_label: ClassVar[str | None] = None  # the label "😍😍" must get, where known
    load_atol: ClassVar[float] = 0.0  # 0: save → load must give identical probabilities
    batch_atol: ClassVar[float] = 1e-9  # one-by-one vs batched probabilities
    long_chars: ClassVar[int] = 12_000

    def make_model(self) -> Any:
        raise NotImplementedError

    @pytest.fixture(scope="class")
    @classmethod
    def model(cls) -> Any:
        """The tier, fitted once per class on synthetic reviews when it trains."""
        model = cls().make_model()
        if getattr(model, "trainable", True):
            fitted = model.fit(*synthetic_reviews(cls.n_train, cls.vocab, seed=1))
            assert fitted is model, "fit must return self"
        return model

    @pytest.fixture(scope="class")
    @classmethod
    def held_out(cls) -> tuple[list[str], list[int]]:
        return synthetic_reviews(cls.n_test, cls.vocab, seed=2)

    def _planted(self, label: int) -> tuple[str, list[str]]:
        return planted_review(self.vocab, label)

    # (a) learning ------------------------------------------------------------------------

    def test_learns_planted_words(self, model: Any, held_out: Any) -> None:
        if not getattr(model, "trainable", True):
            pytest.skip(f"{model.name} does not train")
        acc = accuracy(model, *held_out)
        assert acc >= self.min_accuracy, f"held-out accuracy {acc:.3f} < {self.min_accuracy}"

    def test_init_stores_hyperparameters_only(self, model: Any) -> None:
        fresh = self.make_model()
        assert not [k for k in vars(fresh) if k.endswith("_")]
        assert isinstance(type(model).name, str) and type(model).name

    # (b) shapes and probabilities ------------------------------------------------------

    def test_probabilities(self, model: Any, held_out: tuple[list[str], list[int]]) -> None:
        check_probabilities(model, held_out[0][:50])

    def test_empty_batch(self, model: Any) -> None:
        assert model.predict_proba([]).shape == (0, 3)
        assert model.predict([]) == []

    # (c) persistence -------------------------------------------------------------------

    def test_save_load_identical(
        self, model: Any, held_out: tuple[list[str], list[int]], tmp_path: Path
    ) -> None:
        texts = [*held_out[0][:50], *self._bad_but_valid()]
        model.save(tmp_path / "model")
        assert not list((tmp_path / "model").rglob("*.pkl"))
        loaded = type(model).load(tmp_path / "model")
        before, after = model.predict_proba(texts), loaded.predict_proba(texts)
        if self.load_atol:
            np.testing.assert_allclose(after, before, atol=self.load_atol)
        else:
            np.testing.assert_array_equal(after, before)
        text, _ = self._planted(POSITIVE)
        assert loaded.explain(text) == model.explain(text)

    # (d) bad input ---------------------------------------------------------------------

    def _bad_but_valid(self) -> list[str]:
        text, _ = self._planted(POSITIVE)
        return [
            "",
            "   \n\t ",
            "?!... ---",
            f"<p>{text}</p>",
            "😍😍",
            (text + " ") * (self.long_chars // len(text) + 1),
            "这个质量很好 " + text,
            "\x00\x07" + text + "\u200b",
        ]

    def test_blank_is_neutral_with_note(self, model: Any) -> None:
        for pred in model.predict(["", "   \n\t ", "?!... ---", "<p> </p><br/>"]):
            assert pred.label == "neutral"
            assert any("blank" in n for n in pred.notes), pred.notes

    def test_html_is_cleaned(self, model: Any) -> None:
        text, _ = self._planted(POSITIVE)
        negative = " ".join(self.vocab.negative * 3)
        html = f"<div><p>{text}</p><script>var x = '{negative}';</script><style>{negative}</style>"
        proba = model.predict_proba([html, text])
        np.testing.assert_allclose(proba[0], proba[1], atol=self.batch_atol)
        assert LABELS[int(proba[0].argmax())] == "positive"

    def test_emoji_only_is_scored(self, model: Any) -> None:
        (pred,) = model.predict(["😍😍"])
        assert not any("blank" in n for n in pred.notes)
        assert pred.language == "und"
        if self.emoji_label:
            assert pred.label == self.emoji_label

    def test_long_text_is_truncated_and_says_so(self, model: Any) -> None:
        text, _ = self._planted(POSITIVE)
        long = (text + " ") * (self.long_chars // len(text) + 1)
        (pred,) = model.predict([long])
        assert pred.truncated
        assert any("truncated" in n for n in pred.notes), pred.notes
        assert pred.label == "positive"

    def test_mixed_languages_route_by_majority_script(self, model: Any) -> None:
        text, _ = self._planted(POSITIVE)
        preds = model.predict([text + " 很好", "这个质量很好，物流也很快 " + text.split()[0]])
        assert [p.language for p in preds] == ["en", "zh"]

    def test_non_str_raises_type_error_naming_index(self, model: Any) -> None:
        for method in (model.predict, model.predict_proba):
            with pytest.raises(TypeError, match="index 2"):
                method(["fine", "ok", None, "good"])
            with pytest.raises(TypeError, match="index 0"):
                method([b"bytes"])
            with pytest.raises(TypeError):
                method("a single string, not a list")
        with pytest.raises(TypeError):
            model.explain(None)

    def test_batch_equals_one_by_one(self, model: Any, held_out: Any) -> None:
        texts = [*self._bad_but_valid(), *held_out[0][:10]]
        batch = model.predict_proba(texts)
        single = np.vstack([model.predict_proba([t]) for t in texts])
        np.testing.assert_allclose(batch, single, atol=self.batch_atol)

    def test_hostile_text_never_crashes(self, model: Any) -> None:
        texts = hostile_texts()
        check_probabilities(model, texts)
        for t in texts[:10]:
            assert isinstance(model.explain(t), list)

    # (e) explanations ------------------------------------------------------------------

    def test_explain_names_planted_words(self, model: Any) -> None:
        for label in (POSITIVE, NEGATIVE):
            text, markers = self._planted(label)
            assert model.predict([text])[0].label == LABELS[label]
            check_explains(model, text, markers, self.explain_top_k)

    def test_explain_blank_is_empty(self, model: Any) -> None:
        assert model.explain("   ") == []


def hostile_texts(n: int = 40, seed: int = 7) -> list[str]:
    """Fixed odd inputs plus random strings over control, format, CJK, emoji and markup."""
    fixed = [
        "\x00",
        "\ud800 lone surrogate",
        "<p",
        "<!-- never closed",
        "&#xdeadbeef; &bogus; &amp;&amp;",
        "<scr<script>ipt>alert(1)</script>",
        "\u202eevil right-to-left\u202c",
        "a" * 9000,
        "🏳️‍🌈👩🏽‍💻",
        "e\u0301\u0301\u0301\u0301",
    ]
    alphabet = [
        *"abc xyz.!?<>/&;#\n\t",
        "\x01",
        "\u200b",
        "\ufeff",
        "很",
        "好",
        "差",
        "😍",
        "😡",
        "ア",
        "한",
        "п",
        "\u0301",
        "\ufffd",
    ]
    rng = random.Random(seed)
    return fixed + ["".join(rng.choices(alphabet, k=rng.randint(0, 60))) for _ in range(n)]


# -- real data --------------------------------------------------------------------------


@dataclass(frozen=True)
class Split:
    """Train and test reviews with nothing of one group (product, category) in both."""

    train_texts: list[str]
    train_labels: list[int]
    test_texts: list[str]
    test_labels: list[int]
    train_groups: frozenset[str]
    test_groups: frozenset[str]


def womens_clothing(shared_data: Path) -> list[tuple[str, str, int]]:
    """(Clothing ID, title + text, label) for every Women's Clothing review with text."""
    path = shared_data / "reviews" / "womens-clothing" / "womens_clothing_reviews.csv.zip"
    if not path.exists():
        pytest.skip(f"{path} not found")
    with zipfile.ZipFile(path) as z:
        name = next(n for n in z.namelist() if n.endswith(".csv"))
        with z.open(name) as raw:
            rows = list(csv.DictReader(io.TextIOWrapper(raw, encoding="utf-8")))
    out = []
    for r in rows:
        body, title = (r.get("Review Text") or "").strip(), (r.get("Title") or "").strip()
        if body and r.get("Rating"):
            text = f"{title}. {body}" if title else body
            out.append((r["Clothing ID"], text, stars_to_label(int(r["Rating"]))))
    return out


def split_by_group(
    rows: Sequence[tuple[str, str, int]],
    n_train: int,
    n_test: int,
    test_share: float = 0.2,
    seed: int = 0,
) -> Split:
    """Hold out ``test_share`` of the groups; sample ``n_train`` / ``n_test`` reviews."""
    groups = sorted({g for g, _, _ in rows})
    rng = random.Random(seed)
    rng.shuffle(groups)
    test_groups = set(groups[: max(1, int(len(groups) * test_share))])
    train = [r for r in rows if r[0] not in test_groups]
    test = [r for r in rows if r[0] in test_groups]
    train = rng.sample(train, min(n_train, len(train)))
    test = rng.sample(test, min(n_test, len(test)))
    return Split(
        [t for _, t, _ in train],
        [y for _, _, y in train],
        [t for _, t, _ in test],
        [y for _, _, y in test],
        frozenset(g for g, _, _ in train),
        frozenset(g for g, _, _ in test),
    )


def macro_f1(labels: Sequence[int], proba: np.ndarray) -> float:
    from sklearn.metrics import f1_score

    return float(f1_score(labels, proba.argmax(axis=1), average="macro"))


def binary_accuracy(labels: Sequence[int], proba: np.ndarray) -> float:
    """Positive vs negative (neutral reviews left out): is P(positive) > P(negative)?"""
    y = np.asarray(labels)
    keep = y != NEUTRAL
    guess = np.where(proba[keep, POSITIVE] > proba[keep, NEGATIVE], POSITIVE, NEGATIVE)
    return float(np.mean(guess == y[keep]))
