"""Reviews written by buyers: stars and text follow the product's true aspects.

A buyer *experiences* each aspect as the product's true score plus personal noise; the
star rating is a weighted blend of those experiences; the text names the aspects the
buyer felt most strongly, each with the polarity of that experience.
"""

from __future__ import annotations

from bisect import bisect
from dataclasses import dataclass
from datetime import datetime
from random import Random

from shopmind.simulate.catalog import ASPECTS, SimProduct
from shopmind.simulate.phrases import LANGUAGES

WEIGHTS = {"quality": 0.45, "value": 0.2, "shipping": 0.1, "size_fit": 0.15, "service": 0.1}
POSITIVE, NEGATIVE = 0.6, 0.4  # experience thresholds for a positive / negative phrase
STARS = (0.44, 0.5, 0.56, 0.65)  # weighted experience needed for 2, 3, 4, 5 stars


@dataclass
class ReviewDraft:
    """A review waiting for its day; ids are resolved when it is written."""

    external_id: str
    product: int  # catalog index
    customer: str  # customer external_id
    author: str
    rating: int
    title: str
    body: str
    language: str
    created_at: datetime
    aspects: dict[str, int]  # aspect -> polarity (1, 0, -1) the text expresses


def experience(r: Random, product: SimProduct) -> dict[str, float]:
    """One buyer's experience of each aspect that applies to the product."""
    return {
        a: min(1.0, max(0.0, score + r.gauss(0, 0.12)))
        for a, score in product.aspects.items()
        if score is not None
    }


def rating(r: Random, felt: dict[str, float]) -> int:
    """1–5 stars: the weighted experience, blurred a little, cut at ``STARS``."""
    total = sum(WEIGHTS[a] for a in felt)
    overall = sum(WEIGHTS[a] * v for a, v in felt.items()) / total
    return 1 + bisect(STARS, overall + r.gauss(0, 0.05))


def review_chance(base: float, felt: dict[str, float]) -> float:
    """Strong experiences, good or bad, are reviewed more often."""
    extremity = sum(abs(v - 0.55) for v in felt.values()) / len(felt)
    return min(1.0, base * (0.6 + 2.5 * extremity))


def polarity(value: float) -> int:
    return 1 if value >= POSITIVE else -1 if value <= NEGATIVE else 0


def compose(
    r: Random, product: SimProduct, language: str, felt: dict[str, float], stars: int
) -> tuple[str, str, dict[str, int]]:
    """(title, body, mentioned aspects with polarity) in ``language`` ("en" or "zh").

    Aspects that pushed the rating its way are named first, the weightiest first; a
    three-star review names whichever aspects were felt most strongly.
    """
    bank, opens, closes, titles, joiner = LANGUAGES[language]
    mood = 1 if stars >= 4 else -1 if stars <= 2 else 0

    def salience(a: str) -> tuple[bool, float, int]:
        agrees = mood != 0 and (felt[a] - 0.5) * mood > 0
        return (not agrees, -WEIGHTS[a] * abs(felt[a] - 0.5), ASPECTS.index(a))

    ranked = sorted(felt, key=salience)
    n = 1 + (r.random() < 0.6) + (r.random() < 0.25)
    mentioned = {a: polarity(felt[a]) for a in ranked[:n]}
    noun = product.facts["noun"].lower()
    parts = [r.choice(opens[stars])]
    parts += [r.choice(bank[a][p]) for a, p in mentioned.items()]
    if r.random() < 0.6:
        parts.append(r.choice(closes[stars]))
    body = joiner.join(parts).replace("{noun}", noun)
    title = r.choice(titles[stars]).replace("{noun}", noun)
    return title, body, mentioned
