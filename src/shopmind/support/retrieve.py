"""Finding the passages that answer a question: BM25 and embeddings, fused by rank.

``search`` ranks the index twice: BM25 over ``text.search_tokens`` (exact words: an order
number, "PayPal", "退货") and the cosine similarity of sentence vectors (paraphrases:
"give back a sweater" finds the returns policy). English queries use the MiniLM vectors;
Chinese ones (``text.is_chinese``) the multilingual e5 vectors with e5's ``query:``
prefix, which also finds English passages for a Chinese question. The two top
``candidates`` lists are fused by reciprocal rank (``1 / (60 + rank)`` summed over the
lists a passage is in, Cormack et al. 2009): ranks, not raw scores, so neither scale
has to be calibrated against the other. Every hit carries the query's cosine
similarity with the passage, BM25-only hits included, for callers that need an absolute
relevance bar (fused scores only order).

``rewrite`` makes a follow-up question stand alone, without a language model (rules
on its docstring).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from shopmind.models import e5, minilm
from shopmind.support.knowledge import KnowledgeIndex, Passage
from shopmind.support.text import (
    STOP_WORDS,
    ZH_STOP_WORDS,
    is_chinese,
    search_tokens,
    word_set,
    words,
)

RRF_K = 60
Mode = Literal["hybrid", "bm25", "embed"]
MAX_CONTEXT_WORDS = 8  # words a follow-up borrows from the message before it
HISTORY_TURNS = 5  # earlier messages that can chain into a follow-up


@dataclass
class Hit:
    """A retrieved passage: fused score, cosine similarity and its rank in each list."""

    passage: Passage
    score: float  # reciprocal-rank fusion, higher first
    similarity: float  # cosine of query and passage vectors (the query's encoder)
    bm25_rank: int | None  # 1-based; None when not among BM25's candidates
    embed_rank: int | None  # 1-based; None when not among the embedding candidates


def search(
    index: KnowledgeIndex,
    query: str,
    k: int = 5,
    mode: Mode = "hybrid",
    sources: set[str] | None = None,
    candidates: int = 50,
) -> list[Hit]:
    """The ``k`` best passages for ``query`` (from ``sources`` only, when given)."""
    if mode not in ("hybrid", "bm25", "embed"):
        raise ValueError(f"mode must be hybrid, bm25 or embed, not {mode!r}")
    allowed = np.array([sources is None or p.source in sources for p in index.passages])
    if not query.strip() or not allowed.any():
        return []
    similarity = query_similarities(index, query)
    bm25_ranks: dict[int, int] = {}
    embed_ranks: dict[int, int] = {}
    if mode != "embed":
        bm25_ranks = _ranks(_bm25_ranking(index, query, allowed, candidates))
    if mode != "bm25":
        embed_ranks = _ranks(_top(np.where(allowed, similarity, -np.inf), candidates))
    hits = [
        Hit(
            index.passages[row],
            sum(1.0 / (RRF_K + r) for r in (bm25_ranks.get(row), embed_ranks.get(row)) if r),
            float(similarity[row]),
            bm25_ranks.get(row),
            embed_ranks.get(row),
        )
        for row in bm25_ranks.keys() | embed_ranks.keys()
    ]
    hits.sort(key=lambda h: (-h.score, -h.similarity, h.passage.id))
    return hits[:k]


def _ranks(rows: list[int]) -> dict[int, int]:
    """Row → 1-based rank."""
    return {row: rank for rank, row in enumerate(rows, 1)}


def query_encoder(query: str) -> Literal["minilm", "e5"]:
    """The encoder ``search`` reads ``query`` with: e5 for Chinese, else MiniLM.

    Their cosines are on different scales: MiniLM's spread from about 0 (unrelated) to
    0.8, e5's bunch between about 0.75 and 0.9 (e5 was trained with a low temperature),
    so a relevance bar on ``Hit.similarity`` has to be one per encoder.
    """
    return "e5" if is_chinese(query) else "minilm"


def query_similarities(index: KnowledgeIndex, query: str) -> np.ndarray:
    """(passages,) cosine of ``query`` with every passage, by ``query_encoder``."""
    if len(index) == 0:
        return np.zeros(0, dtype=np.float32)
    if query_encoder(query) == "e5":
        return index.e5 @ e5.embed([query])[0]  # e5's "query: " prefix (passage=False)
    return index.minilm @ minilm.embed([query])[0]


def _bm25_ranking(
    index: KnowledgeIndex, query: str, allowed: np.ndarray, candidates: int
) -> list[int]:
    tokens = search_tokens(query)
    if index.bm25 is None or not tokens:
        return []
    scores = np.asarray(index.bm25.get_scores(tokens), dtype=np.float32)
    return _top(np.where(allowed & (scores > 0), scores, -np.inf), candidates)


def _top(scores: np.ndarray, n: int) -> list[int]:
    """Rows of the ``n`` highest finite scores, best first (ties: lower row first)."""
    order = np.argsort(-scores, kind="stable")[:n]
    return [int(i) for i in order if np.isfinite(scores[i])]


# -- follow-up questions -----------------------------------------------------------------

# Question words that carry no topic: a message made of these (and stop words) asks about
# whatever was asked before ("how long does it take?", "how much?", "多久？").
GENERIC_WORDS = word_set(
    """
    how much many long take takes took need needs get gets cost costs else more tell know
    want like one ok okay please thanks thank yes no not sure again usually normally
    hello hi hey bye goodbye
    """
)
ZH_GENERIC_WORDS = word_set(
    "要 多久 多少 多少钱 怎么 怎么样 怎样 什么 什么时候 时候 几天 "
    "可以 能 能不能 会 需要 还 呢 吗 好 谢谢 你好 再见"
)
QUESTION_WORDS = word_set(
    "how what when where why which who much many long 多久 多少 多少钱 怎么 怎么样 什么 "
    "什么时候 哪 哪里 哪儿 几天 吗 呢"
)
# Words that point back at something said before.
PRONOUNS = word_set("it its that this they them those these there one 它 它们 这 那")
LEADS = word_set("and also then but so or plus")
LEAD_PAIRS = frozenset({("what", "about"), ("how", "about"), ("what", "if"), ("same", "for")})
ZH_LEADS = ("那", "那么", "那个", "这个", "它", "还有", "另外", "如果是")
MAX_FOLLOW_UP_WORDS = 3
_NOT_TOPIC = STOP_WORDS | GENERIC_WORDS | ZH_STOP_WORDS | ZH_GENERIC_WORDS | PRONOUNS | LEADS


def rewrite(query: str, history: Sequence[str]) -> str:
    """``query`` made to stand alone, given the shopper's earlier messages (oldest first).

    Rules, applied in order to each of the last ``HISTORY_TURNS`` messages and then to
    ``query``, so a follow-up of a follow-up keeps the first topic:

    1. Topic words are a message's words that are not stop words, pronouns, linking
       words or generic question words (``how``, ``long``, ``much``, ``多久``, ``多少钱`` …).
    2. A message is a follow-up when it has no topic words and asks something (a
       question mark or a question word: "how much is it", "多久？"; "thanks" is not),
       or when it has at most ``MAX_FOLLOW_UP_WORDS`` topic words and starts with a
       linking word ("and", "also", "what about", "那", "还有") or uses a pronoun ("it",
       "that", "they", "它").
    3. A follow-up gets, in front, the topic words of the latest earlier message that has
       any (as rewritten by these rules; at most ``MAX_CONTEXT_WORDS``, none it already
       has). Any other message is returned unchanged.
    """
    context = ""
    for message in list(history)[-HISTORY_TURNS:]:
        resolved = _resolve(message, context)
        if topic_words(resolved):
            context = resolved
    return _resolve(query, context)


def _resolve(message: str, context: str) -> str:
    if not context or not is_follow_up(message):
        return message
    have = set(topic_words(message))
    borrowed = [w for w in topic_words(context) if w not in have][:MAX_CONTEXT_WORDS]
    if not borrowed:
        return message
    return f"{' '.join(borrowed)} {message.strip()}"


def is_follow_up(message: str) -> bool:
    """Whether ``message`` leans on an earlier one (rule 2 of ``rewrite``)."""
    said = words(message)
    topic = topic_words(message)
    if not topic:
        return "?" in message or "？" in message or any(w in QUESTION_WORDS for w in said)
    if len(topic) > MAX_FOLLOW_UP_WORDS:
        return False
    led = bool(said) and (said[0] in LEADS or tuple(said[:2]) in LEAD_PAIRS)
    led = led or message.lstrip().startswith(ZH_LEADS)
    return led or any(w in PRONOUNS for w in said)


def topic_words(text: str) -> list[str]:
    """The words of ``text`` that name a topic, in order, each once (casefolded)."""
    return list(dict.fromkeys(w for w in words(text) if w not in _NOT_TOPIC))
