"""Review intelligence: sentiment tiers, aspects and per-product insights.

Names are imported on first use, so ``import shopmind.reviews`` stays cheap (the tiers
pull in scikit-learn, snownlp or torch). To export a name, add one line to ``_EXPORTS``.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_EXPORTS: dict[str, str] = {
    "LABELS": "shopmind.reviews.base",
    "Prediction": "shopmind.reviews.base",
    "SentimentModel": "shopmind.reviews.base",
    "stars_to_label": "shopmind.reviews.base",
    "clean_text": "shopmind.reviews.text",
    "detect_language": "shopmind.reviews.language",
    "prepare_texts": "shopmind.reviews.routing",
    "LexiconSentiment": "shopmind.reviews.lexicon",
    "LinearSentiment": "shopmind.reviews.linear",
    "TransformerSentiment": "shopmind.reviews.transformer",
    "AspectConfig": "shopmind.reviews.aspects",
    "AspectExtractor": "shopmind.reviews.aspects",
    "product_insights": "shopmind.reviews.insights",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(_EXPORTS[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])
