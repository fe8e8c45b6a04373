"""Answers that are not copy at all: a model talking about the task instead of doing it.

Small models often answer with text that passes every channel rule and states nothing
false, yet is no use on a shop's page: "Here is your response as requested:", the
product facts copied back, "Dear [Account Name],", or a phrase with no word about the
product. :func:`off_task` names what is wrong with such an answer, so it is refused with
that reason instead of being offered as a variant.
"""

from __future__ import annotations

import re
from dataclasses import replace

from shopmind.content.facts import ProductFacts
from shopmind.content.scoring import repetition
from shopmind.content.textnorm import fold, singular, tokens

# Talk about the task, the prompt or the writer (English; the patterns are whole words).
_META = re.compile(
    r"\b(?:product facts?|here (?:is|are)|here's|as requested|your (?:response|request)|"
    r"the user|i am|i'm|i made|i have|as an ai|language model|characters?|"
    r"meta description|search engines?|web ?page|headline|this task|instructions?)\b"
)
_PLACEHOLDER = re.compile(r"\[[^\]]{0,40}\]|\{[^}]{0,40}\}|<[^<>]{0,40}>|\bXX+\b|\.\.\.$")
_FACT_LINE = re.compile(r"^\s*(?:title|brand|category|price|description|material|colou?r)\s*:",
                        re.I | re.M)  # fmt: skip
MAX_REPETITION = 0.25  # share of repeated word trigrams
_STOP = frozenset((
    "a", "an", "and", "are", "as", "at", "be", "by", "for", "from", "has", "have", "in", "is",
    "it", "its", "of", "on", "or", "our", "the", "this", "to", "with", "you", "your",
))  # fmt: skip


def content_words(text: str) -> set[str]:
    """The text's words that carry meaning (no stop words, no single letters)."""
    return {singular(t) for t in tokens(text) if (len(t) > 2 or not t.isascii()) and t not in _STOP}


def off_task(text: str, facts: ProductFacts, *, single_line: bool) -> str | None:
    """Why ``text`` is not copy for the product, or ``None``."""
    folded = fold(text)
    if not folded.strip():
        return "the answer is empty"
    if _META.search(folded):
        return "the answer talks about the task instead of the product"
    if _PLACEHOLDER.search(text):
        return "the answer holds a placeholder"
    if text.rstrip().endswith((":", "：")):
        return "the answer is a label without text"
    if len(_FACT_LINE.findall(text)) >= 2:
        return "the answer copies the product facts"
    if repetition(text) > MAX_REPETITION:
        return "the answer repeats itself"
    known = content_words(replace(facts, description="").text())
    if known and single_line and not content_words(text) & known:
        return "the answer names nothing about the product"
    return None
