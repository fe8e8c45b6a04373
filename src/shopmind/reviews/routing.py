"""What every sentiment tier does before and after its model: check, clean, route, annotate.

``prepare_texts`` validates a whole batch first (a non-``str`` item raises ``TypeError``
naming its index before any work is done, so nothing computed is ever lost), then cleans,
truncates and detects the language of each text. ``by_language`` groups rows for the
tier's per-language models, ``fill_blank`` pins blank rows to neutral and
``to_predictions`` turns probabilities into ``Prediction`` objects with notes.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from shopmind.reviews.base import NEUTRAL, Prediction, predictions_from_proba
from shopmind.reviews.language import detect_language
from shopmind.reviews.text import clean_text, has_content, truncate

MAX_CHARS = 5000
"""Texts longer than this (after cleaning) are cut at a sentence or word boundary."""

BLANK_PROBA = np.eye(3)[NEUTRAL]


@dataclass(frozen=True)
class PreparedText:
    """One review ready for a model: cleaned, truncated, with its language."""

    text: str
    language: str
    truncated: bool = False
    blank: bool = False
    original_chars: int = 0


def check_texts(texts: Sequence[str]) -> list[str]:
    """The batch as a list, or ``TypeError`` naming the first item that is not a ``str``."""
    if isinstance(texts, str | bytes):
        raise TypeError("expected a sequence of texts, got a single string")
    items = list(texts)
    for i, item in enumerate(items):
        if not isinstance(item, str):
            raise TypeError(f"text at index {i} is {type(item).__name__}, expected str")
    return items


def prepare_text(raw: str, max_chars: int = MAX_CHARS) -> PreparedText:
    """Clean one text, cut it to ``max_chars`` and detect its language."""
    cleaned = clean_text(raw)
    if not has_content(cleaned):
        return PreparedText(text="", language="und", blank=True)
    cut, truncated = truncate(cleaned, max_chars)
    return PreparedText(cut, detect_language(cut), truncated, original_chars=len(cleaned))


def prepare_texts(texts: Sequence[str], max_chars: int = MAX_CHARS) -> list[PreparedText]:
    """``prepare_text`` over a batch, after checking every item is a ``str``."""
    return [prepare_text(t, max_chars) for t in check_texts(texts)]


def by_language(
    prepared: Sequence[PreparedText], route: dict[str, str] | None = None
) -> dict[str, list[int]]:
    """Row indices of non-blank texts per language (after ``route``, e.g. ``{"und": "en"}``)."""
    route = route or {}
    groups: dict[str, list[int]] = {}
    for i, p in enumerate(prepared):
        if not p.blank:
            groups.setdefault(route.get(p.language, p.language), []).append(i)
    return groups


MIN_LANGUAGE_EXAMPLES = 100
"""A language with fewer training reviews than this goes to the lexicon (see ``thin_languages``)."""
LEXICON_LANGUAGES = ("en", "zh")


def thin_languages(
    languages: Sequence[str],
    labels: Sequence[int],
    min_examples: int = MIN_LANGUAGE_EXAMPLES,
    candidates: Sequence[str] = LEXICON_LANGUAGES,
) -> dict[str, str]:
    """Languages a trained tier saw too little of, each with the reason, for the lexicon.

    ``languages`` and ``labels`` are the training reviews' detected languages and labels.
    A language among ``candidates`` (those the lexicon reads) is thin when it had fewer
    than ``min_examples`` reviews or only one label, unless it is the language most of
    the training data was in: then the tier is all there is. A store trained on 600
    English reviews and 12 Chinese ones thus scores Chinese with snownlp, not with
    n-gram weights learned from 12 examples.
    """
    per_language: dict[str, list[int]] = {}
    for language, label in zip(languages, labels, strict=True):
        per_language.setdefault(language, []).append(int(label))
    if not per_language:
        return {}
    main = max(per_language, key=lambda k: len(per_language[k]))
    thin = {}
    for language in candidates:
        seen = per_language.get(language, [])
        if language == main:
            continue
        if len(seen) < min_examples:
            name = _NAMES[language]
            thin[language] = f"{len(seen)} {name} training reviews (need {min_examples})"
        elif len(set(seen)) < 2:
            thin[language] = f"{_NAMES[language]} training reviews have only one label"
    return thin


_NAMES = {"en": "English", "zh": "Chinese"}


@functools.cache
def lexicon_fallback() -> Any:
    """The lexicon tier with its default bands, shared by every tier that falls back to it."""
    from shopmind.reviews.lexicon import LexiconSentiment  # the lexicon imports this module

    return LexiconSentiment()


def fill_blank(proba: np.ndarray, prepared: Sequence[PreparedText]) -> np.ndarray:
    """Blank rows become exactly neutral."""
    for i, p in enumerate(prepared):
        if p.blank:
            proba[i] = BLANK_PROBA
    return proba


def notes_for(p: PreparedText, served: Iterable[str] = ("en", "zh", "und")) -> list[str]:
    """Human-readable notes: blank text, truncation, a language no model here reads."""
    notes = []
    if p.blank:
        notes.append("blank text (nothing to score after cleaning): neutral")
    if p.truncated:
        notes.append(f"truncated from {p.original_chars} to {len(p.text)} characters")
    if not p.blank and p.language not in served:
        notes.append(f"no {p.language!r} model in this tier: the score is unreliable")
    return notes


def to_predictions(
    proba: np.ndarray,
    prepared: Sequence[PreparedText],
    served: Iterable[str] = ("en", "zh", "und"),
) -> list[Prediction]:
    """``predictions_from_proba`` plus each text's language, truncation flag and notes."""
    served = tuple(served)
    out = predictions_from_proba(
        proba, [p.language for p in prepared], [p.truncated for p in prepared]
    )
    for pred, p in zip(out, prepared, strict=True):
        pred.notes.extend(notes_for(p, served))
    return out
