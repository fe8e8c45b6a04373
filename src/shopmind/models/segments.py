"""Long text cut into bounded pieces: one cutting rule for segments and truncation.

A cost that grows with the length of one input (VADER rescans its word list for every
sentiment word, attention is quadratic in tokens, and any per-call cost adds up) is
bounded by cutting a text into segments of at most ``max_chars`` characters: the total
then grows with the number of segments, that is linearly. The same rule cuts a text to
its first ``max_chars`` characters (``reviews.text.truncate``) and to the first window
of an encoder (``models.e5``): ``segment_end`` is the only implementation.

``segment_end`` cuts at a sentence end when one lies in the last fifth of a window,
else at a clause mark (comma, colon), else at a space, else (Chinese or Japanese without
punctuation, one long token) after exactly ``max_chars`` characters, never between a
character and the combining mark or joiner that belongs to it. Finding a cut reads
only the window, so splitting is linear too.

``score_segments`` scores every segment of every text in one call and combines each
text's segment scores, weighted by segment length. A text no longer than ``max_chars``
is one segment, so its score is exactly what the scorer gives for the whole text.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Sequence

import numpy as np

SEGMENT_CHARS = 1000
"""Default segment bound: a long review paragraph, well below where superlinear costs bite."""

# A Latin mark ends a sentence only before a space or the end ("3.5", "e.g" stay whole).
_SENTENCE_END = re.compile(r"(?:[.!?;…]+[\"')\]」』”’]*(?=\s|$)|[。！？；\n]+[\"')\]」』”’]*)\s*")
_CLAUSE_END = re.compile(r"[,:，、：]\s*")
_SPACE = re.compile(r"\s+")
_JOINERS = frozenset({"\u200d", "\ufe0e", "\ufe0f"})


def _belongs_to_previous(ch: str) -> bool:
    """A character that must stay with the one before it (combining mark, ZWJ, selector)."""
    return ch in _JOINERS or unicodedata.category(ch) in ("Mn", "Mc", "Me", "Sk")


def segment_end(text: str, start: int, stop: int, max_chars: int) -> int:
    """Where the segment of ``text[start:stop]`` that begins at ``start`` ends (exclusive).

    ``stop`` when the rest fits in ``max_chars``; else the last sentence end, clause
    mark or space (in that order of preference) ending in the window's last fifth; else
    a hard cut after ``max_chars`` characters, moved back before any combining mark.
    """
    if max_chars < 1:
        raise ValueError(f"max_chars must be positive, got {max_chars}")
    end = start + max_chars
    if end >= stop:
        return stop
    floor = end - max(1, max_chars // 5)
    for pattern in (_SENTENCE_END, _CLAUSE_END, _SPACE):
        cuts = [m.end() for m in pattern.finditer(text, start, end) if m.end() >= floor]
        if cuts:
            return cuts[-1]
    cut = end
    while cut > floor and _belongs_to_previous(text[cut]):
        cut -= 1
    return cut if cut > start else end


def segment_spans(
    text: str, max_chars: int = SEGMENT_CHARS, start: int = 0, stop: int | None = None
) -> list[tuple[int, int]]:
    """``(start, end)`` of consecutive pieces of ``text[start:stop]``, each at most
    ``max_chars`` long, covering it without gaps (pieces may begin or end in spaces)."""
    if max_chars < 1:
        raise ValueError(f"max_chars must be positive, got {max_chars}")
    stop = len(text) if stop is None else stop
    spans = []
    while start < stop:
        end = segment_end(text, start, stop, max_chars)
        spans.append((start, end))
        start = end
    return spans


def split_segments(text: str, max_chars: int = SEGMENT_CHARS) -> list[str]:
    """``text`` as stripped, non-empty pieces of at most ``max_chars`` characters, in order.

    A text of at most ``max_chars`` characters comes back whole (stripped).
    """
    pieces = (text[a:b].strip() for a, b in segment_spans(text, max_chars))
    return [p for p in pieces if p]


def score_segments(
    texts: Sequence[str],
    score: Callable[[list[str]], np.ndarray | Sequence[float]],
    max_chars: int = SEGMENT_CHARS,
) -> np.ndarray:
    """Per text, the length-weighted mean of ``score`` over its segments.

    ``score`` takes a list of segments (every segment of every text, in one call, so a
    batched model batches them) and returns one value or one row per segment. A text with
    no segment (blank) gets zeros. Texts of one segment get their segment's value exactly.
    """
    pieces: list[str] = []
    owners: list[int] = []
    for i, text in enumerate(texts):
        for piece in split_segments(text, max_chars):
            pieces.append(piece)
            owners.append(i)
    values = np.asarray(score(pieces) if pieces else np.zeros(0), dtype=float)
    if len(values) != len(pieces):
        raise ValueError(f"scorer returned {len(values)} values for {len(pieces)} segments")
    weights = np.array([len(p) for p in pieces], dtype=float)
    owner = np.array(owners, dtype=int)
    totals = np.bincount(owner, weights=weights, minlength=len(texts))
    share = weights / totals[owner] if len(pieces) else weights  # 1.0 exactly for one piece
    out = np.zeros((len(texts), *values.shape[1:]))
    np.add.at(out, owner, values * share.reshape(-1, *([1] * (values.ndim - 1))))
    return out
