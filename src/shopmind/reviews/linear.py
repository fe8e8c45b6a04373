"""The ``linear`` tier: TF-IDF n-grams + logistic regression, trained in seconds.

One model reads every language; its two analyzers look at each text's script:

- ``word``: word 1–2-grams (lower-cased; emoji count as words) for non-Chinese text,
  nothing for Chinese (it has no spaces between words);
- ``char``: for non-Chinese text, character 2–5-grams inside word boundaries (catches
  misspellings and word forms); for Chinese, character 1–3-grams within each clause
  (single characters such as 好 / 差 carry much of the sentiment).

Both use sublinear tf and their own L2 normalisation, then one multinomial logistic
regression (``newton-cg``; ``class_weight="balanced"`` as reviews skew to 5 stars) reads the
stacked features. Chinese and English features never overlap, so a store with reviews in
both languages trains one model that serves both.

With ``embedder="e5"`` a third block joins them: the multilingual-e5-small sentence vector
of the text's first 512 tokens (``models.e5``; a longer text is marked ``truncated``).
The transformer tier's Chinese route is this model trained on Chinese text. Explanations
read the n-gram blocks only.

Predictions for a language the training data did not contain (``languages_``) carry a
note saying the score is unreliable.

``save`` writes the vocabulary as JSON and idf / coefficients as ``.npz`` (no pickle);
``load`` rebuilds the vectorizers from them, so a loaded model gives the same
probabilities bit for bit.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Sequence
from functools import partial
from pathlib import Path
from typing import Any, ClassVar, Self
from weakref import WeakKeyDictionary

import numpy as np
import scipy.sparse as sp
from sklearn.exceptions import NotFittedError
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

from shopmind.reviews.base import Prediction
from shopmind.reviews.language import detect_language
from shopmind.reviews.prior import (
    Correction,
    PriorCorrection,
    can_tune,
    choose_correction,
    correction_from_dict,
    stratified_folds,
    validation_split,
)
from shopmind.reviews.routing import (
    MAX_CHARS,
    MIN_LANGUAGE_EXAMPLES,
    PreparedText,
    fill_blank,
    lexicon_fallback,
    prepare_text,
    prepare_texts,
    thin_languages,
    to_predictions,
)

FORMAT = 1
_TERMS: WeakKeyDictionary[TfidfVectorizer, np.ndarray] = WeakKeyDictionary()  # column → term
_TOKEN = re.compile(r"[^\W_]+(?:['’][^\W_]+)*|[\u2600-\u27bf\U0001f000-\U0001faff]")


# -- analyzers --------------------------------------------------------------------------


def tokens(text: str) -> list[str]:
    """Lower-cased words (with inner apostrophes) and emoji, in order."""
    return _TOKEN.findall(text.lower())


def word_ngrams(text: str, ngram_range: tuple[int, int] = (1, 2)) -> list[str]:
    """Word n-grams of non-Chinese text; none for Chinese."""
    if detect_language(text) == "zh":
        return []
    toks = tokens(text)
    lo, hi = ngram_range
    return [" ".join(toks[i : i + n]) for n in range(lo, hi + 1) for i in range(len(toks) - n + 1)]


def zh_segments(text: str) -> list[str]:
    """Runs of text between spaces and punctuation (clauses, for Chinese)."""
    segs, run = [], []
    for ch in text.lower():
        if ch.isspace() or unicodedata.category(ch)[0] == "P":
            if run:
                segs.append("".join(run))
                run = []
        else:
            run.append(ch)
    if run:
        segs.append("".join(run))
    return segs


def char_ngrams(
    text: str, ngram_range: tuple[int, int] = (2, 5), zh_range: tuple[int, int] = (1, 3)
) -> list[str]:
    """Character n-grams: within space-padded words, or within Chinese clauses."""
    if detect_language(text) == "zh":
        units, (lo, hi) = zh_segments(text), zh_range
    else:
        units, (lo, hi) = [f" {w} " for w in text.lower().split()], ngram_range
    return [u[i : i + n] for u in units for n in range(lo, hi + 1) for i in range(len(u) - n + 1)]


# -- the model --------------------------------------------------------------------------


class LinearSentiment:
    """TF-IDF (word 1–2-grams + char n-grams) and balanced logistic regression."""

    name: ClassVar[str] = "linear"
    trainable: ClassVar[bool] = True

    def __init__(
        self,
        C: float = 4.0,
        word_ngram_range: tuple[int, int] = (1, 2),
        char_ngram_range: tuple[int, int] = (2, 5),
        zh_char_ngram_range: tuple[int, int] = (1, 3),
        min_df: int = 2,
        max_features: int | None = 200_000,
        max_iter: int = 1000,
        max_chars: int = MAX_CHARS,
        embedder: str | None = None,
        prior_strength: float = 1.0,
        min_language_examples: int = MIN_LANGUAGE_EXAMPLES,
    ) -> None:
        """``embedder="e5"`` adds multilingual-e5-small sentence vectors (``models.e5``)
        to the n-gram features: the model then knows words its training text never had,
        at the cost of running the encoder (tens of texts a second on two cores).
        The balanced training loss is corrected back to the store's label mix at
        prediction time (``reviews.prior``): the shift is tuned for macro-F1 on reviews
        a model did not train on (a stratified 15% from 1,000 reviews on, 5-fold
        cross-validation below that), then applied to the model fitted on all of them;
        a store with under 20 reviews of a label gets logit adjustment of
        ``prior_strength`` instead (0 turns every correction off). A language with fewer
        than ``min_language_examples`` training reviews is scored by the lexicon
        (``routing.thin_languages``)."""
        if embedder not in (None, "e5"):
            raise ValueError(f"embedder must be None or 'e5', got {embedder!r}")
        self.embedder = embedder
        self.C = C
        self.word_ngram_range = word_ngram_range
        self.char_ngram_range = char_ngram_range
        self.zh_char_ngram_range = zh_char_ngram_range
        self.min_df = min_df
        self.max_features = max_features
        self.max_iter = max_iter
        self.max_chars = max_chars
        self.prior_strength = prior_strength
        self.min_language_examples = min_language_examples

    def get_params(self) -> dict[str, Any]:
        return {
            "C": self.C,
            "word_ngram_range": list(self.word_ngram_range),
            "char_ngram_range": list(self.char_ngram_range),
            "zh_char_ngram_range": list(self.zh_char_ngram_range),
            "min_df": self.min_df,
            "max_features": self.max_features,
            "max_iter": self.max_iter,
            "max_chars": self.max_chars,
            "embedder": self.embedder,
            "prior_strength": self.prior_strength,
            "min_language_examples": self.min_language_examples,
        }

    def _vectorizer(self, kind: str, vocabulary: dict[str, int] | None = None) -> TfidfVectorizer:
        if kind == "word":
            analyzer = partial(word_ngrams, ngram_range=tuple(self.word_ngram_range))
        else:
            analyzer = partial(
                char_ngrams,
                ngram_range=tuple(self.char_ngram_range),
                zh_range=tuple(self.zh_char_ngram_range),
            )
        return TfidfVectorizer(
            analyzer=analyzer,
            sublinear_tf=True,
            min_df=1 if vocabulary else self.min_df,
            max_features=None if vocabulary else self.max_features,
            vocabulary=vocabulary,
            dtype=np.float64,
        )

    # -- training ------------------------------------------------------------------------

    def fit(self, texts: Sequence[str], labels: Sequence[int]) -> Self:
        """Learn vocabularies, idf and coefficients from texts and 0/1/2 labels."""
        prepared = prepare_texts(texts, self.max_chars)
        docs = [p.text for p in prepared]
        y = np.asarray(labels, dtype=int)
        if len(y) != len(docs):
            raise ValueError(f"{len(docs)} texts but {len(y)} labels")
        if not set(np.unique(y)) <= {0, 1, 2}:
            raise ValueError("labels must be 0 (negative), 1 (neutral) or 2 (positive)")
        keep = [i for i, d in enumerate(docs) if d]
        if len(np.unique(y[keep])) < 2:
            raise ValueError("need non-blank training texts of at least two labels")
        docs, y = [docs[i] for i in keep], y[keep]
        languages = [prepared[i].language for i in keep]
        self.fallback_ = thin_languages(languages, y, self.min_language_examples)
        self.languages_ = sorted((set(languages) | {"und"}) - set(self.fallback_))
        held_out = self._held_out_logits(docs, y) if self.prior_strength > 0 else None
        self._fit_model(docs, y)
        self.prior_: Correction = choose_correction(y, "balanced", self.prior_strength, held_out)
        return self

    def _held_out_logits(self, docs: list[str], y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Logits of reviews scored by a model that did not train on them, and their labels.

        From 1,000 reviews on, one stratified split (15%, at most 3,000); below that,
        5-fold cross-validation, as the split alone would be too small to tune on. The
        shift tuned on these is then applied to the model fitted on every review.
        """
        fit_at, held = validation_split(y)
        groups = [(fit_at, held)] if held else []
        if not held and can_tune(y):
            folds = stratified_folds(y)
            groups = [(sorted(set(range(len(y))) - set(f)), f) for f in folds]
        rows: list[int] = []
        blocks: list[np.ndarray] = []
        for train_at, test_at in groups:
            part = type(self)(**{**self.get_params(), "prior_strength": 0.0})
            part._fit_model([docs[i] for i in train_at], y[train_at])
            z = np.full((len(test_at), 3), -1e9)
            X = part._features([docs[i] for i in test_at])
            z[:, part.classes_] = X @ part.coef_.T + part.intercept_
            rows.extend(test_at)
            blocks.append(z)
        if not rows:
            return np.zeros((0, 3)), np.zeros(0, dtype=int)
        return np.vstack(blocks), y[rows]

    def _fit_model(self, docs: list[str], y: np.ndarray) -> None:
        """Vocabularies, idf and the logistic regression on ``docs``."""
        self.word_, X_word = self._fit_vectorizer("word", docs)
        self.char_, X_char = self._fit_vectorizer("char", docs)
        clf = LogisticRegression(
            C=self.C, class_weight="balanced", solver="newton-cg", max_iter=self.max_iter
        )
        clf.fit(sp.hstack([X_word, X_char, *self._dense(docs)]).tocsr(), y)
        self.classes_ = clf.classes_.astype(int)
        self.coef_, self.intercept_ = _softmax_form(clf.coef_, clf.intercept_)

    def _fit_vectorizer(self, kind: str, docs: list[str]) -> tuple[TfidfVectorizer, sp.spmatrix]:
        vec = self._vectorizer(kind)
        try:
            return vec, vec.fit_transform(docs)
        except ValueError:  # no term survives min_df (tiny data, or no text of this kind)
            vec = self._vectorizer(kind).set_params(min_df=1)
            try:
                return vec, vec.fit_transform(docs)
            except ValueError:  # e.g. only Chinese text: the word analyzer yields nothing
                # one column that never fires: NUL cannot survive clean_text
                vec = self._vectorizer(kind, vocabulary={"\x00": 0})
                return vec, vec.fit_transform(docs)

    def _features(self, docs: Sequence[str]) -> sp.csr_matrix:
        blocks = [self.word_.transform(docs), self.char_.transform(docs), *self._dense(docs)]
        return sp.hstack(blocks).tocsr()

    def _dense(self, docs: Sequence[str]) -> list[sp.csr_matrix]:
        """The sentence-vector block (L2-normalised, like each n-gram block), if any."""
        if self.embedder is None:
            return []
        from shopmind.models.e5 import embed

        return [sp.csr_matrix(embed(docs).astype(np.float64))]

    # -- prediction ----------------------------------------------------------------------

    def _check_fitted(self) -> None:
        if not hasattr(self, "coef_"):
            raise NotFittedError("this LinearSentiment is not trained yet: call fit() or load()")

    def _proba(self, prepared: Sequence[PreparedText]) -> np.ndarray:
        """Probabilities after the prior correction; thin languages from the lexicon."""
        self._check_fitted()
        proba = np.zeros((len(prepared), 3))
        rows, lexicon_rows = [], []
        for i, p in enumerate(prepared):
            if not p.blank:
                (lexicon_rows if p.language in self.fallback_ else rows).append(i)
        if rows:
            X = self._features([prepared[i].text for i in rows])
            proba[np.ix_(rows, self.classes_)] = _softmax(X @ self.coef_.T + self.intercept_)
            proba[rows] = self.prior_.proba(proba[rows])
        if lexicon_rows:
            proba[lexicon_rows] = lexicon_fallback().predict_proba(
                [prepared[i].text for i in lexicon_rows]
            )
        return fill_blank(proba, prepared)

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        return self._proba(prepare_texts(texts, self.max_chars))

    def predict(self, texts: Sequence[str]) -> list[Prediction]:
        self._check_fitted()
        prepared = prepare_texts(texts, self.max_chars)
        served = [*self.languages_, *self.fallback_]
        predictions = to_predictions(self._proba(prepared), prepared, served=served)
        for pred in predictions:
            if pred.language in self.fallback_:
                pred.notes.append(f"scored by the lexicon tier: {self.fallback_[pred.language]}")
        if self.embedder == "e5":
            self._note_windows(prepared, predictions)
        return predictions

    def _note_windows(self, prepared: Sequence[PreparedText], out: list[Prediction]) -> None:
        """Mark the texts whose e5 vector read only the first window (``models.e5``)."""
        from shopmind.models.e5 import MAX_TOKENS, first_windows

        rows = [i for i, p in enumerate(prepared) if not p.blank]
        rows = [i for i in rows if prepared[i].language not in self.fallback_]
        _, cut = first_windows([prepared[i].text for i in rows])
        for i, was_cut in zip(rows, cut, strict=True):
            if was_cut:
                out[i].truncated = True
                out[i].notes.append(
                    f"e5 read the first {MAX_TOKENS} tokens (the n-grams read all of it)"
                )

    # -- explanation ---------------------------------------------------------------------

    def explain(self, text: str, top_k: int = 8) -> list[tuple[str, float]]:
        """Words and phrases that pushed toward the predicted label, strongest first.

        Each feature's contribution is its tf-idf value times its coefficient for the
        predicted label (centred over the labels, as softmax only sees differences).
        Character n-grams are folded back into the words (or Chinese phrases) they came
        from, so the result reads as words and word pairs, never as fragments.
        """
        if not isinstance(text, str):
            raise TypeError(f"text is {type(text).__name__}, expected str")
        self._check_fitted()
        p = prepare_text(text, self.max_chars)
        if p.blank:
            return []
        if p.language in self.fallback_:
            return lexicon_fallback().explain(p.text, top_k)
        row = int(self._proba([p])[0][self.classes_].argmax())
        weights = self.coef_[row] - self.coef_.mean(axis=0)
        n_word, n_char = len(self.word_.vocabulary_), len(self.char_.vocabulary_)
        word_terms = _contributions(self.word_, p.text, weights[:n_word])
        char_terms = _contributions(self.char_, p.text, weights[n_word : n_word + n_char])
        if p.language == "zh":
            merged = _zh_phrases(p.text, char_terms)
        else:
            merged = _fold_into_words(p.text, word_terms, char_terms)
        ranked = sorted(merged.items(), key=lambda kv: (-abs(kv[1]), kv[0]))
        return [(w, round(float(v), 4)) for w, v in ranked[:top_k] if v]

    # -- persistence ---------------------------------------------------------------------

    def save(self, path: str | Path) -> None:
        """``config.json``, ``vocabulary.json`` and ``weights.npz`` in folder ``path``."""
        self._check_fitted()
        folder = Path(path)
        folder.mkdir(parents=True, exist_ok=True)
        config = {
            "tier": self.name,
            "format": FORMAT,
            "params": self.get_params(),
            "languages": self.languages_,
            "fallback": self.fallback_,
            "prior": self.prior_.to_dict(),
        }
        (folder / "config.json").write_text(json.dumps(config, indent=2), encoding="utf-8")
        vocab = {"word": _terms(self.word_), "char": _terms(self.char_)}
        (folder / "vocabulary.json").write_text(json.dumps(vocab, ensure_ascii=False), "utf-8")
        np.savez_compressed(
            folder / "weights.npz",
            word_idf=self.word_.idf_,
            char_idf=self.char_.idf_,
            coef=self.coef_,
            intercept=self.intercept_,
            classes=self.classes_,
        )

    @classmethod
    def load(cls, path: str | Path) -> Self:
        folder = Path(path)
        config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
        if config.get("tier") != cls.name:
            raise ValueError(f"{folder} holds a {config.get('tier')!r} model, not {cls.name!r}")
        params = config["params"]
        for key in ("word_ngram_range", "char_ngram_range", "zh_char_ngram_range"):
            params[key] = tuple(params[key])
        model = cls(**params)
        model.languages_ = list(config["languages"])
        model.fallback_ = dict(config.get("fallback", {}))
        # models saved before the correction existed scored without it
        model.prior_ = correction_from_dict(config.get("prior")) or PriorCorrection(
            (1 / 3,) * 3, (1 / 3,) * 3, 0.0
        )
        vocab = json.loads((folder / "vocabulary.json").read_text(encoding="utf-8"))
        with np.load(folder / "weights.npz", allow_pickle=False) as w:
            model.word_ = _rebuild(model, "word", vocab["word"], w["word_idf"])
            model.char_ = _rebuild(model, "char", vocab["char"], w["char_idf"])
            model.coef_ = w["coef"]
            model.intercept_ = w["intercept"]
            model.classes_ = w["classes"].astype(int)
        return model


# -- helpers ----------------------------------------------------------------------------


def _softmax_form(coef: np.ndarray, intercept: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """One row per class; a binary model's single row w becomes (-w/2, +w/2) (same odds)."""
    if coef.shape[0] == 1:
        return np.vstack([-coef / 2, coef / 2]), np.concatenate([-intercept / 2, intercept / 2])
    return np.asarray(coef, dtype=np.float64), np.asarray(intercept, dtype=np.float64)


def _softmax(z: np.ndarray) -> np.ndarray:
    z = np.asarray(z, dtype=np.float64)
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def _terms(vec: TfidfVectorizer) -> list[str]:
    return [t for t, _ in sorted(vec.vocabulary_.items(), key=lambda kv: kv[1])]


def _rebuild(
    model: LinearSentiment, kind: str, terms: list[str], idf: np.ndarray
) -> TfidfVectorizer:
    if len(terms) != len(idf):
        raise ValueError(f"{kind} vocabulary has {len(terms)} terms but {len(idf)} idf values")
    vec = model._vectorizer(kind, vocabulary={t: i for i, t in enumerate(terms)})
    vec.idf_ = idf
    return vec


def _contributions(vec: TfidfVectorizer, text: str, weights: np.ndarray) -> dict[str, float]:
    """Feature → tf-idf value × weight, for the features present in ``text``."""
    x = vec.transform([text]).tocsr()
    terms = _TERMS.get(vec)
    if terms is None:
        terms = _TERMS[vec] = vec.get_feature_names_out()
    return {str(terms[j]): float(v * weights[j]) for j, v in zip(x.indices, x.data, strict=True)}


def _fold_into_words(
    text: str, word_terms: dict[str, float], char_terms: dict[str, float]
) -> dict[str, float]:
    """Unigram weight plus each word's share of the char n-grams found inside it."""
    words = text.lower().split()
    toks = tokens(text)
    merged: dict[str, float] = {}
    for term, value in word_terms.items():
        merged[term] = merged.get(term, 0.0) + value
    for gram, value in char_terms.items():
        hits = [(w, f" {w} ".count(gram)) for w in dict.fromkeys(words)]
        total = sum(n for _, n in hits)
        for w, n in hits:
            if n:
                key = _word_key(w, toks)
                merged[key] = merged.get(key, 0.0) + value * n / total
    return merged


def _word_key(chunk: str, toks: list[str]) -> str:
    """A whitespace chunk ("great!!") named by its token ("great") when it has one."""
    inner = tokens(chunk)
    if len(inner) == 1 and inner[0] in toks:
        return inner[0]
    return chunk


def _zh_phrases(text: str, char_terms: dict[str, float]) -> dict[str, float]:
    """Spread each n-gram's weight over its characters, then read off same-sign runs."""
    spread = []
    for seg in zh_segments(text):
        per_char = np.zeros(len(seg))
        for gram, value in char_terms.items():
            starts = [m.start() for m in re.finditer(re.escape(gram), seg)]
            for s in starts:
                per_char[s : s + len(gram)] += value / len(gram) / len(starts)
        spread.append((seg, per_char))
    peak = max((float(np.abs(w).max()) for _, w in spread if len(w)), default=0.0)
    merged: dict[str, float] = {}
    for seg, per_char in spread:
        for phrase, weight in _runs(seg, per_char, floor=0.2 * peak):
            merged[phrase] = merged.get(phrase, 0.0) + weight
    return merged


def _runs(seg: str, per_char: np.ndarray, floor: float) -> list[tuple[str, float]]:
    """Maximal runs of characters whose weights share a sign and reach ``floor``."""
    runs, start = [], None
    for i in range(len(seg) + 1):
        strong = i < len(seg) and abs(per_char[i]) >= floor > 0
        same = start is not None and strong and np.sign(per_char[i]) == np.sign(per_char[start])
        if start is not None and not same:
            runs.append((seg[start:i], float(per_char[start:i].sum())))
            start = None
        if strong and start is None:
            start = i
    return runs
