"""What scoring some texts costs, in units weighted by what each kind of text costs a model.

Every tier's time grows with what its model reads: characters, and one model input per
text and per aspect clause (``AspectExtractor`` scores each clause that names an aspect
as a text of its own). A character's weight depends on its kind: a Han character is
about one token of a transformer and one step of snownlp's segmenter, where a Latin
letter is a fraction of a word. ``WEIGHTS`` holds, for each kind, a round number at or
above the largest ratio measured on any tier (lexicon, linear, transformer with its e5
Chinese route) between the time of a character (or input) of that kind and the time of
a Latin character on the same tier (``bench/cost.py``, ``bench/results/cost.json``;
``tests/test_reviews_cost.py`` holds them to it): a Latin character costs 1 unit. So
each tier's slowest allowed request is bounded by the budget times its own cost of a
Latin character.

A text counts only up to what the tiers read of it: cleaned (markup out), then cut to
``routing.MAX_CHARS`` (5,000) characters, as every tier cuts it before scoring.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from shopmind.reviews.aspects import AspectConfig, AspectExtractor
from shopmind.reviews.language import detect_language
from shopmind.reviews.routing import MAX_CHARS, prepare_text

# Han, kana and Hangul: scripts a tokenizer reads at about one token per character.
_WIDE = re.compile(
    "[\u1100-\u11ff\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff"
    "\U00020000-\U0003134f]"
)
# Emoji and pictographs: VADER spells each out in words ("smiling face with …").
_SYMBOL = re.compile("[\u2190-\u21ff\u2300-\u27bf\u2b00-\u2bff\U0001f000-\U0001faff]")


@dataclass(frozen=True)
class CostWeights:
    """Cost units per character of each kind, and per model input (text or clause)."""

    latin: int = 1
    wide: int = 60
    symbol: int = 60
    call: int = 40
    zh_call: int = 100

    def of(self, text: str, language: str) -> int:
        """Units of one model input: the input itself, and its characters.

        A text routed to Chinese (``language == "zh"``) counts every character as a Han
        character: the Chinese route reads a Latin letter there as about one token too.
        """
        if language == "zh":
            return self.zh_call + self.wide * len(text)
        wide = len(_WIDE.findall(text))
        symbol = len(_SYMBOL.findall(text))
        latin = len(text) - wide - symbol
        return self.call + self.latin * latin + self.wide * wide + self.symbol * symbol

    def to_dict(self) -> dict[str, int]:
        return {
            "latin": self.latin,
            "wide": self.wide,
            "symbol": self.symbol,
            "call": self.call,
            "zh_call": self.zh_call,
        }


WEIGHTS = CostWeights()
"""Measured by ``bench/cost.py`` (see ``docs/benchmarks.md``, "Request cost")."""


@dataclass(frozen=True)
class RequestCost:
    """The units of a scoring request: its texts, and its aspect clauses when counted.

    ``clauses`` is None when they were not counted (aspects off, or the texts alone
    were already over the limit given to ``scoring_cost``).
    """

    texts: int
    text_units: int
    truncated: int = 0
    clauses: int | None = None
    clause_units: int = 0

    @property
    def units(self) -> int:
        return self.text_units + self.clause_units

    def describe(self, weights: CostWeights = WEIGHTS) -> str:
        """What was counted, for a message: texts, clauses, and the weights."""
        parts = [f"{self.texts:,} texts"]
        if self.clauses is not None:
            parts.append(f"{self.clauses:,} aspect clauses")
        return (
            f"{', '.join(parts)}; a Latin character costs {weights.latin} unit, a Chinese, "
            f"Japanese or Korean character (any character of a Chinese text) "
            f"{weights.wide}, an emoji {weights.symbol}, each text or clause "
            f"{weights.call} ({weights.zh_call} when Chinese)"
        )


def refusal(cost: RequestCost, limit: int, setting: str, weights: CostWeights = WEIGHTS) -> str:
    """Why a request over ``limit`` is refused, and what the caller can do instead."""
    if cost.texts > 1:
        advice = "send fewer texts per request"
    elif cost.clauses and cost.text_units <= limit:
        advice = 'score this text without aspects ("aspects": false)'
    else:
        advice = "send a shorter text"
    return (
        f"this request costs {cost.units:,} units ({cost.describe(weights)}); this server "
        f"takes at most {limit:,} per request (setting {setting}): {advice}, or score "
        "offline with shopmind reviews score, which has no such budget"
    )


def scoring_cost(
    texts: Sequence[str],
    aspects: AspectConfig | None = None,
    stop_above: int | None = None,
    weights: CostWeights = WEIGHTS,
    max_chars: int = MAX_CHARS,
) -> RequestCost:
    """The cost units of scoring ``texts`` (with the clauses of ``aspects``, an
    ``AspectConfig``, when given). Linear in the texts' length: no model runs.

    Clauses are found only when the texts alone cost at most ``stop_above`` (a request
    already over its budget needs no more counting).
    """
    prepared = [prepare_text(t, max_chars) for t in texts]
    text_units = sum(weights.of(p.text, p.language) for p in prepared)
    truncated = sum(p.truncated for p in prepared)
    cost = RequestCost(len(prepared), text_units, truncated)
    if aspects is None or (stop_above is not None and text_units > stop_above):
        return cost
    extractor = AspectExtractor(aspects)  # splits only: its model (the lexicon) never runs
    units = [unit for p in prepared if not p.blank for unit, _ in extractor.units(p.text)]
    clause_units = sum(weights.of(u, detect_language(u)) for u in units)
    return RequestCost(len(prepared), text_units, truncated, len(units), clause_units)
