"""The ``lexicon`` tier: VADER for English (and emoji), snownlp for Chinese. No training needed.

Each route gives a polarity ``s`` in [-1, 1]: VADER's compound score, or ``2p - 1`` for
snownlp's probability ``p`` of positive. Probabilities come from a softmax over the signed
distances to a neutral band ``[lo, hi]``::

    logits = ((lo - s) / T, 0, (s - hi) / T)      # negative, neutral, positive

so the label flips exactly at the band's edges (VADER's customary ±0.05 by default), the
probabilities move smoothly with ``s``, and ``T`` (``temperature``) sets how fast they
saturate. ``fit`` is optional: given labelled reviews it picks each language's band by
grid search on macro-F1; the tier works unfitted with the default bands.

VADER costs more than linearly in the length of one text (it rescans its word list for
every sentiment word), so a text longer than ``segment_chars`` is scored in segments
(``shopmind.models.segments``) and ``s`` is their length-weighted mean; shorter texts
score exactly as before. Chinese words come from ``zhseg``: snownlp's own segmentation,
the same words several times faster (snownlp's segmenter is nearly linear as measured;
``zhseg`` gains a constant factor).
"""

from __future__ import annotations

import json
import math
import random
import string
import unicodedata
from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import Any, ClassVar, Self

import numpy as np
from vaderSentiment.vaderSentiment import NEGATE, SentimentIntensityAnalyzer

from shopmind.models.segments import SEGMENT_CHARS, score_segments
from shopmind.reviews.base import LABELS, NEGATIVE, POSITIVE, Prediction
from shopmind.reviews.routing import (
    MAX_CHARS,
    PreparedText,
    by_language,
    fill_blank,
    prepare_text,
    prepare_texts,
    to_predictions,
)
from shopmind.reviews.zhseg import sentiment_words

FORMAT = 1
_GRID = np.round(np.arange(-0.95, 0.951, 0.05), 2)
_MIN_CALIBRATION = 30
# A band has two numbers; a few thousand reviews fix them. More only costs time (snownlp
# scores about 50-150 texts/s here), so larger sets are sampled down to this many.
MAX_CALIBRATION = 3000
_EMOJI_TAIL = frozenset({"\u200d", "\ufe0f", "\ufe0e"})


class _Vader(SentimentIntensityAnalyzer):
    """VADER that also reports the valence it gave each word (for ``explain``)."""

    def score_valence(self, sentiments: list[float], text: str) -> dict[str, Any]:
        scores = super().score_valence(sentiments, text)
        scores["valences"] = list(sentiments)
        return scores


@cache
def _vader() -> _Vader:
    return _Vader()


@cache
def _snownlp() -> Any:
    """snownlp's sentiment classifier (imported on first Chinese text: loading takes seconds)."""
    from snownlp import sentiment

    return sentiment.classifier


def _emoji_pieces(text: str, emojis: dict[str, str]) -> list[tuple[str, str]]:
    """(piece of text for VADER, what the reader saw) with each emoji spelled out in words."""
    pieces: list[tuple[str, str]] = []
    for token in text.split():
        run = ""
        for ch in token:
            if ch in emojis:
                if run:
                    pieces.append((run, run))
                    run = ""
                pieces.append((emojis[ch], ch))
            elif ch in _EMOJI_TAIL or (pieces and not run and _is_modifier(ch)):
                continue
            else:
                run += ch
        if run:
            pieces.append((run, run))
    return pieces


def _is_modifier(ch: str) -> bool:
    return unicodedata.category(ch) == "Sk" and "\U0001f3fb" <= ch <= "\U0001f3ff"


def vader_analyse(text: str) -> tuple[float, list[tuple[str, float]]]:
    """VADER's compound score and (word as written, valence) for every word VADER weighed."""
    analyzer = _vader()
    pieces = _emoji_pieces(text, analyzer.emojis)
    sources = [src for piece, src in pieces for _ in piece.split()]
    scores = analyzer.polarity_scores(" ".join(piece for piece, _ in pieces))
    valences = scores.get("valences", [])
    return float(scores["compound"]), list(zip(sources, valences, strict=False))


def snownlp_analyse(text: str) -> tuple[float, list[tuple[str, float]]]:
    """snownlp's ``2p - 1`` and each segmented word's log-odds contribution.

    The words are snownlp's own (``Sentiment.handle``), found by ``zhseg`` in linear
    time and once (``Sentiment.classify`` would segment the text again; segmenting is
    most of snownlp's cost); the result is the same as ``classify``.
    """
    clf = _snownlp()
    words = sentiment_words(text)
    label, prob = clf.classifier.classify(words)
    p = prob if label == "pos" else 1 - prob
    bayes = clf.classifier.d
    if "pos" not in bayes or "neg" not in bayes:
        return 2 * p - 1, []
    contrib = [(w, math.log(bayes["pos"].freq(w)) - math.log(bayes["neg"].freq(w))) for w in words]
    return 2 * p - 1, contrib


def band_proba(scores: np.ndarray, lo: float, hi: float, temperature: float) -> np.ndarray:
    """(n, 3) probabilities from polarities in [-1, 1] and a neutral band (see module doc)."""
    s = np.asarray(scores, dtype=float)
    logits = np.stack([(lo - s) / temperature, np.zeros_like(s), (s - hi) / temperature], axis=1)
    logits -= logits.max(axis=1, keepdims=True)
    e = np.exp(logits)
    return e / e.sum(axis=1, keepdims=True)


def macro_f1(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Macro-F1 over the labels present in ``y_true``."""
    f1s = []
    for k in np.unique(y_true):
        tp = np.sum((y_pred == k) & (y_true == k))
        denom = np.sum(y_pred == k) + np.sum(y_true == k)
        f1s.append(2 * tp / denom if denom else 0.0)
    return float(np.mean(f1s)) if f1s else 0.0


def calibrate_band(scores: np.ndarray, labels: np.ndarray) -> tuple[float, float]:
    """The neutral band on a 0.05 grid that maximises macro-F1 of the three-way split."""
    best, band = -1.0, (0.0, 0.0)
    for i, lo in enumerate(_GRID):
        for hi in _GRID[i:]:
            pred = np.where(scores < lo, NEGATIVE, np.where(scores > hi, POSITIVE, 1))
            f1 = macro_f1(labels, pred)
            if f1 > best:
                best, band = f1, (float(lo), float(hi))
    return band


class LexiconSentiment:
    """VADER (English, emoji, anything not Chinese) and snownlp (Chinese) as a sentiment tier."""

    name: ClassVar[str] = "lexicon"
    trainable: ClassVar[bool] = False

    def __init__(
        self,
        en_band: tuple[float, float] = (-0.05, 0.05),
        zh_band: tuple[float, float] = (-0.3, 0.3),
        temperature: float = 0.2,
        max_chars: int = MAX_CHARS,
        segment_chars: int = SEGMENT_CHARS,
    ) -> None:
        self.en_band = en_band
        self.zh_band = zh_band
        self.temperature = temperature
        self.max_chars = max_chars
        self.segment_chars = segment_chars

    # -- scoring -------------------------------------------------------------------------

    @staticmethod
    def _route(language: str) -> str:
        return "zh" if language == "zh" else "en"

    def band(self, route: str) -> tuple[float, float]:
        """The neutral band in use for ``route`` ("en" or "zh"): calibrated, else the default."""
        learned = getattr(self, "bands_", {})
        if route in learned:
            return learned[route]
        return tuple(self.zh_band if route == "zh" else self.en_band)  # type: ignore[return-value]

    def _polarities(self, texts: Sequence[str], route: str) -> np.ndarray:
        """Polarity per text; a text longer than ``segment_chars`` is scored in segments
        (length-weighted mean), so no lexicon call grows with the length of a text."""
        analyse = snownlp_analyse if route == "zh" else vader_analyse

        def score(pieces: list[str]) -> np.ndarray:
            return np.array([analyse(t)[0] for t in pieces], dtype=float)

        return score_segments(texts, score, self.segment_chars)

    def _groups(self, prepared: Sequence[PreparedText]) -> dict[str, list[int]]:
        groups: dict[str, list[int]] = {}
        for lang, rows in by_language(prepared).items():
            groups.setdefault(self._route(lang), []).extend(rows)
        return groups

    def polarity(self, texts: Sequence[str]) -> np.ndarray:
        """Raw polarity in [-1, 1] per text (0 for blank text), before the neutral band."""
        prepared = prepare_texts(texts, self.max_chars)
        out = np.zeros(len(prepared))
        for route, rows in self._groups(prepared).items():
            out[rows] = self._polarities([prepared[i].text for i in rows], route)
        return out

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        return self._proba(prepare_texts(texts, self.max_chars))

    def _proba(self, prepared: Sequence[PreparedText]) -> np.ndarray:
        proba = np.zeros((len(prepared), 3))
        for route, rows in self._groups(prepared).items():
            s = self._polarities([prepared[i].text for i in rows], route)
            lo, hi = self.band(route)
            proba[rows] = band_proba(s, lo, hi, self.temperature)
        return fill_blank(proba, prepared)

    def predict(self, texts: Sequence[str]) -> list[Prediction]:
        prepared = prepare_texts(texts, self.max_chars)
        return to_predictions(self._proba(prepared), prepared)

    # -- calibration ---------------------------------------------------------------------

    def fit(self, texts: Sequence[str], labels: Sequence[int]) -> Self:
        """Calibrate each language's neutral band on labelled reviews (optional).

        A language needs at least 30 non-blank reviews and two distinct labels; otherwise
        it keeps its default band. Beyond ``MAX_CALIBRATION`` reviews a language is
        calibrated on a fixed-seed sample of that many.
        """
        prepared = prepare_texts(texts, self.max_chars)
        y = np.asarray(labels, dtype=int)
        if len(y) != len(prepared):
            raise ValueError(f"{len(prepared)} texts but {len(y)} labels")
        self.bands_: dict[str, tuple[float, float]] = {}
        for route, rows in self._groups(prepared).items():
            if len(rows) > MAX_CALIBRATION:
                rows = sorted(random.Random(0).sample(rows, MAX_CALIBRATION))
            if len(rows) >= _MIN_CALIBRATION and len(np.unique(y[rows])) >= 2:
                s = self._polarities([prepared[i].text for i in rows], route)
                self.bands_[route] = calibrate_band(s, y[rows])
        return self

    # -- explanation ---------------------------------------------------------------------

    def explain(self, text: str, top_k: int = 8) -> list[tuple[str, float]]:
        """Words (or "not good"-style phrases, or emoji) that moved the score, strongest first.

        Weights are signed toward the predicted label: for a positive prediction a word's
        valence, for a negative one minus its valence, for a neutral one minus its size
        (every scored word pulled away from neutral).
        """
        if not isinstance(text, str):
            raise TypeError(f"text is {type(text).__name__}, expected str")
        p = prepare_text(text, self.max_chars)
        if p.blank:
            return []
        route = self._route(p.language)
        score, words = self._analyse(p.text, route)
        if route != "zh":
            words = _negation_phrases(words)
        lo, hi = self.band(route)
        label = int(band_proba(np.array([score]), lo, hi, self.temperature)[0].argmax())
        return _rank(words, label, top_k)

    def _analyse(self, text: str, route: str) -> tuple[float, list[tuple[str, float]]]:
        """Polarity and weighed words of one text, segment by segment (as ``_polarities``)."""
        analyse = snownlp_analyse if route == "zh" else vader_analyse
        words: list[tuple[str, float]] = []

        def score(pieces: list[str]) -> list[float]:
            out = []
            for piece in pieces:
                polarity, weighed = analyse(piece)
                words.extend(weighed)
                out.append(polarity)
            return out

        return float(score_segments([text], score, self.segment_chars)[0]), words

    # -- persistence ---------------------------------------------------------------------

    def get_params(self) -> dict[str, Any]:
        return {
            "en_band": list(self.en_band),
            "zh_band": list(self.zh_band),
            "temperature": self.temperature,
            "max_chars": self.max_chars,
            "segment_chars": self.segment_chars,
        }

    def save(self, path: str | Path) -> None:
        folder = Path(path)
        folder.mkdir(parents=True, exist_ok=True)
        state = {"tier": self.name, "format": FORMAT, "params": self.get_params()}
        if hasattr(self, "bands_"):
            state["bands"] = {k: list(v) for k, v in self.bands_.items()}
        (folder / "config.json").write_text(json.dumps(state, indent=2), encoding="utf-8")

    @classmethod
    def load(cls, path: str | Path) -> Self:
        state = json.loads((Path(path) / "config.json").read_text(encoding="utf-8"))
        if state.get("tier") != cls.name:
            raise ValueError(f"{path} holds a {state.get('tier')!r} model, not {cls.name!r}")
        params = state["params"]
        model = cls(
            en_band=tuple(params["en_band"]),
            zh_band=tuple(params["zh_band"]),
            temperature=float(params["temperature"]),
            max_chars=int(params["max_chars"]),
            segment_chars=int(params.get("segment_chars", SEGMENT_CHARS)),
        )
        if "bands" in state:
            model.bands_ = {k: (float(v[0]), float(v[1])) for k, v in state["bands"].items()}
        return model


def _negation_phrases(words: list[tuple[str, float]]) -> list[tuple[str, float]]:
    """Turn a lexicon word whose valence VADER flipped into "not <word>"-style phrases."""
    lexicon = _vader().lexicon
    out = []
    for i, (word, valence) in enumerate(words):
        base = lexicon.get(word.lower().strip(".,!?;:"), 0.0)
        phrase = word
        if valence and base and (valence > 0) != (base > 0):
            for j in range(max(0, i - 3), i):
                w = words[j][0].lower()
                if w in NEGATE or w.endswith("n't"):
                    phrase = " ".join(x for x, _ in words[j : i + 1])
                    break
        out.append((phrase, valence))
    return out


def _readable(word: str) -> str:
    stripped = word.strip(string.punctuation + "…“”‘’")
    return (stripped or word).lower()


def _rank(words: list[tuple[str, float]], label: int, top_k: int) -> list[tuple[str, float]]:
    totals: dict[str, float] = {}
    for word, value in words:
        if value:
            key = _readable(word)
            totals[key] = totals.get(key, 0.0) + float(value)
    if LABELS[label] == "positive":
        signed = totals
    elif LABELS[label] == "negative":
        signed = {w: -v for w, v in totals.items()}
    else:
        signed = {w: -abs(v) for w, v in totals.items()}
    ranked = sorted(signed.items(), key=lambda kv: (-abs(kv[1]), kv[0]))
    return [(w, round(v, 4)) for w, v in ranked[:top_k]]
