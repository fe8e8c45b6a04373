"""Rule-based repair for unsupported claims: cut the sentence or clause that carries one.

Nothing is rewritten and nothing is added: a claim in a sentence's first clause takes the
whole sentence with it ("With a 10-year warranty, it lasts." goes); a claim in a later
clause takes only that clause and the separator before it ("It is soft, and comes with a
10-year warranty." → "It is soft."). Sentences end at ``. ! ? …`` before a space, at
``。！？；;`` and at line breaks (each bullet line is a sentence); clauses are separated
by ``,`` (not inside a number such as "1,000"), ``，`` and ``、``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Protocol

_SENTENCE_END = re.compile(r"[.!?…]+[\"'’”)\]]*(?=\s|$)|[。！？；;]+[”’」』)]*|\n+")
_TERMINAL = re.compile(r"[\s.!?…。！？；;\"'’”」』)\]]*$")
_SEPARATOR = re.compile(r",(?!\d)|，|、")


class Span(Protocol):
    start: int
    end: int


def segments(text: str) -> list[tuple[int, int]]:
    """Sentence spans covering ``text`` (each with its end punctuation)."""
    spans, start = [], 0
    for match in _SENTENCE_END.finditer(text):
        spans.append((start, match.end()))
        start = match.end()
    if start < len(text):
        spans.append((start, len(text)))
    return spans


def _clauses(text: str, start: int, end: int) -> list[tuple[int, int, int]]:
    """(cut from, clause start, clause end) for each clause of the sentence's body."""
    body_start = start + len(text[start:end]) - len(text[start:end].lstrip())
    body_end = body_start + _TERMINAL.search(text, body_start, end).start() - body_start
    clauses, cut, clause_start = [], body_start, body_start
    for match in _SEPARATOR.finditer(text, body_start, body_end):
        clauses.append((cut, clause_start, match.start()))
        cut, clause_start = match.start(), match.end()
    clauses.append((cut, clause_start, body_end))
    return clauses


def strip_unsupported(text: str, claims: Iterable[Span]) -> str:
    """``text`` without each sentence or clause that holds one of ``claims`` (spans of
    ``text``, as :class:`shopmind.content.facts.Claim` gives them)."""
    spans = [(c.start, c.end) for c in claims]
    if not spans:
        return text
    cuts: list[tuple[int, int]] = []
    for seg_start, seg_end in segments(text):
        hits = [(s, e) for s, e in spans if s < seg_end and e > seg_start]
        if not hits:
            continue
        clauses = _clauses(text, seg_start, seg_end)
        bad = {i for i, (_, a, b) in enumerate(clauses) for s, e in hits if s < b and e > a}
        spills = any(s < seg_start or e > seg_end for s, e in hits)
        if not bad or 0 in bad or spills:
            cuts.append((seg_start, seg_end))
        else:
            cuts += [(clauses[i][0], clauses[i][2]) for i in sorted(bad)]
    return tidy(_cut(text, cuts))


def _cut(text: str, cuts: list[tuple[int, int]]) -> str:
    kept, position = [], 0
    for start, end in sorted(cuts):
        if start > position:
            kept.append(text[position:start])
        position = max(position, end)
    kept.append(text[position:])
    return "".join(kept)


def tidy(text: str) -> str:
    """Spacing left by removals: doubled spaces, spaces before punctuation, empty lines."""
    text = re.sub(r"[ \t]{2,}", " ", text)
    text = re.sub(r"[ \t]+([,.;:!?，。；：！？、])", r"\1", text)
    text = "\n".join(line.rstrip() for line in text.split("\n"))
    text = re.sub(r"\n{3,}", "\n\n", text)
    return text.strip()
