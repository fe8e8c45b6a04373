"""Which words drove a transformer's score: integrated gradients, or occlusion.

``integrated_gradients`` (the default) attributes the predicted label's log-odds to word
pieces along a path from an empty baseline and sums the pieces back into words; it
shares credit between words that each suffice on their own, which occlusion cannot.

``occlusion``: each word (a run of letters or digits; each Han character; each emoji) is dropped in
turn and the text scored again, all variants in one length-bucketed batch. A word's
weight is how much its removal lowers the log-odds of the label predicted for the full
text: positive weights supported the label, negative ones pulled against it. Log-odds
rather than probability, because a probability already near 1 barely moves when one of
two strong words is dropped, while its log-odds still does.
Unlike gradients over word pieces this needs no merging back to words and reads the
same for English and Chinese.
"""

from __future__ import annotations

import bisect
import re
import unicodedata
from collections.abc import Callable, Sequence

import numpy as np
import torch
from transformers import BertForSequenceClassification, BertTokenizer

from shopmind.reviews.transformer.tokenize import nfkc

_UNIT = re.compile(
    r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]"  # one Han character
    r"|[^\W_]+(?:['’][^\W_]+)*"  # a word: letters / digits, inner apostrophes kept
    r"|[^\w\s]"  # any other single character (emoji and symbols are kept below)
)
MAX_UNITS = 128
"""Words beyond this many are not tried (they are mostly past the model's token limit)."""


def units(text: str) -> list[tuple[int, int]]:
    """(start, end) spans of the words, Han characters and emoji/symbols of ``text``."""
    spans = []
    for m in _UNIT.finditer(text):
        piece = m.group()
        if len(piece) == 1 and unicodedata.category(piece)[0] in "PZC":
            continue  # punctuation, spaces and controls are not words
        spans.append(m.span())
    return spans


def drop(text: str, start: int, end: int) -> str:
    """``text`` without ``text[start:end]``, with the gap's spaces collapsed."""
    left, right = text[:start], text[end:]
    if left.endswith(" ") and right.startswith(" "):
        right = right[1:]
    return left + right


def occlusion(
    score: Callable[[Sequence[str]], np.ndarray], text: str, top_k: int = 8
) -> list[tuple[str, float]]:
    """(word, weight) for the ``top_k`` words with the largest effect, strongest first.

    ``score`` maps texts to (n, 3) logits. A word that occurs more than once keeps its
    strongest occurrence.
    """
    spans = units(text)[:MAX_UNITS]
    if not spans or top_k < 1:
        return []
    logits = score([text, *(drop(text, a, b) for a, b in spans)])  # (1 + words, 3)
    label = int(logits[0].argmax())
    odds = log_odds(logits, label)  # (1 + words,)
    effect = odds[0] - odds[1:]  # (words,)
    return _rank([(text[a:b], float(w)) for (a, b), w in zip(spans, effect, strict=True)], top_k)


def log_odds(logits: np.ndarray, label: int) -> np.ndarray:
    """log p(label) - log p(not label) per row of (n, classes) logits."""
    others = np.delete(logits, label, axis=1)  # (n, classes - 1)
    top = others.max(axis=1, keepdims=True)
    rest = top[:, 0] + np.log(np.exp(others - top).sum(axis=1))  # logsumexp
    return logits[:, label] - rest


def integrated_gradients(
    bert: BertForSequenceClassification,
    tokenizer: BertTokenizer,
    text: str,
    max_length: int = 128,
    top_k: int = 8,
    steps: int = 16,
) -> list[tuple[str, float]]:
    """(word, weight) by integrated gradients of the predicted label's log-odds.

    The path runs from a baseline where every word piece's embedding is zero (special
    tokens and positions kept) to the real text in ``steps`` midpoint steps; each piece
    gets (embedding − baseline) · mean gradient, and pieces are summed back into the
    words of ``text`` (``units``). The weights add up to roughly the log-odds gap between
    the text and the empty baseline, so two words that each suffice share the credit.
    """
    text = nfkc(text)
    enc = tokenizer(
        text,
        truncation=True,
        max_length=max_length,
        return_offsets_mapping=True,
        return_tensors="pt",
    )
    ids, offsets = enc["input_ids"], enc["offset_mapping"][0].tolist()  # (1, seq), seq pairs
    bert.eval()
    device = next(bert.parameters()).device
    ids = ids.to(device)
    with torch.no_grad():
        label = int(bert(input_ids=ids).logits[0].argmax())
        x = bert.get_input_embeddings()(ids)  # (1, seq, hidden)
    words = [i for i, (a, b) in enumerate(offsets) if b > a]  # word pieces, not specials
    base = x.clone()
    base[0, words] = 0.0
    alphas = (torch.arange(steps, device=device, dtype=x.dtype) + 0.5) / steps  # (steps,)
    path = (base + alphas[:, None, None] * (x - base)).requires_grad_(True)  # (steps, seq, h)
    with torch.enable_grad():
        logits = bert(inputs_embeds=path).logits  # (steps, 3)
        others = torch.cat([logits[:, :label], logits[:, label + 1 :]], dim=1)
        odds = logits[:, label] - torch.logsumexp(others, dim=1)  # (steps,)
        (grad,) = torch.autograd.grad(odds.sum(), path)  # (steps, seq, h)
    piece = ((x - base)[0] * grad.mean(dim=0)).sum(dim=-1).tolist()  # (seq,)
    spans = units(text)
    per_unit = [0.0] * len(spans)
    touched = [False] * len(spans)
    for i in words:
        u = _unit_of(spans, offsets[i][0])
        if u is not None:
            per_unit[u] += piece[i]
            touched[u] = True
    pairs = [(text[a:b], w) for (a, b), w, t in zip(spans, per_unit, touched, strict=True) if t]
    return _rank(pairs, top_k)


def _unit_of(spans: list[tuple[int, int]], start: int) -> int | None:
    k = bisect.bisect_right(spans, (start, float("inf"))) - 1
    if k >= 0 and spans[k][0] <= start < spans[k][1]:
        return k
    return None


def _rank(pairs: Sequence[tuple[str, float]], top_k: int) -> list[tuple[str, float]]:
    """Strongest occurrence per (lower-cased) word; by |weight|, then alphabetically."""
    best: dict[str, float] = {}
    for word, w in pairs:
        key = word.lower()
        if w != 0 and abs(w) > abs(best.get(key, 0.0)):
            best[key] = float(w)
    ranked = sorted(best.items(), key=lambda kv: (-abs(kv[1]), kv[0]))
    return [(word, round(w, 4)) for word, w in ranked[:top_k]]
