"""Scores for the variants of one request, their ranking and why any were dropped.

Pure functions of the variants' fields and the product's facts; no model runs.

- **spec** — 1 when the channel spec passes with no soft-limit warning, less
  :data:`SOFT_PENALTY` per warning, 0 with any error (such a variant is dropped).
- **coverage** — the share of the product's salient attributes (:func:`salient_attributes`)
  the text mentions; ``None`` for a product with none.
- **fluency** — a proxy, no model: the share of Latin words that are English words
  (:func:`known_word_share`) × (1 − the share of repeated word trigrams, or of character
  4-grams in Chinese: the loops small models fall into) × (1 − the share of characters
  that are never text: unassigned, private-use, U+FFFD).
- **diversity** — distinct-2 over all kept variants of the request (Li et al., 2016:
  distinct bigrams / all bigrams), and each variant's highest similarity to another
  (Jaccard similarity of word-bigram sets); ``novelty`` is 1 − that.

The total is the mean of spec, coverage (where known), fluency and novelty (where there
is another variant). A variant that fails its spec, carries an unsupported claim or
repeats an earlier one is dropped with its reason.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from functools import cache
from typing import Any

from shopmind.content.channels import SPECS
from shopmind.content.facts import FactGuard, ProductFacts
from shopmind.content.numbers import quantities
from shopmind.content.spec import Problem, Spec
from shopmind.content.textnorm import fold, has_han, is_han, singular, tokens
from shopmind.content.vocabulary import DEFAULT, STOPWORDS

SOFT_PENALTY = 0.25
_SKIP_KEY = re.compile(
    r"(?:^|[\W_])(?:id|sku|url|link|image|img|gtin|ean|upc|isbn|asin|mpn|barcode|handle|"
    r"slug|price|cost|qty|quantity|stock|inventory|created|updated|date)(?:$|[\W_])",
    re.IGNORECASE,
)
_EMPTY_VALUES = frozenset({"", "yes", "no", "true", "false", "n/a", "na", "none", "null", "-"})
_LETTERS = re.compile(r"[^\W\d_]+")


@dataclass(frozen=True)
class Scores:
    spec_pass: bool
    spec: float
    coverage: float | None
    fluency: float
    max_similarity: float
    total: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Ranked:
    index: int  # the variant's place in the request's list
    fields: Mapping[str, Any]
    scores: Scores


@dataclass(frozen=True)
class Dropped:
    index: int
    reason: str  # "spec" | "unsupported-claims" | "duplicate"
    details: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"index": self.index, "reason": self.reason, "details": self.details}


@dataclass(frozen=True)
class Ranking:
    variants: list[Ranked]  # best first
    dropped: list[Dropped]
    distinct_2: float  # over the kept variants


# -- diversity --------------------------------------------------------------------------
def ngrams(items: Sequence[str], n: int) -> list[tuple[str, ...]]:
    return [tuple(items[i : i + n]) for i in range(len(items) - n + 1)]


def distinct_n(texts: Iterable[str], n: int = 2) -> float:
    """Distinct n-grams / all n-grams over all ``texts`` (0 where there are none)."""
    grams = [g for text in texts for g in ngrams(tokens(text), n)]
    return len(set(grams)) / len(grams) if grams else 0.0


def similarity(a: str, b: str) -> float:
    """Jaccard similarity of the texts' word-bigram sets (unigrams for one-word texts)."""
    ta, tb = tokens(a), tokens(b)
    n = 2 if min(len(ta), len(tb)) >= 2 else 1
    ga, gb = set(ngrams(ta, n)), set(ngrams(tb, n))
    return len(ga & gb) / len(ga | gb) if ga | gb else 0.0


def max_similarities(texts: Sequence[str]) -> list[float]:
    """Each text's highest similarity to another text (0 for a single text)."""
    return [
        max((similarity(t, u) for j, u in enumerate(texts) if j != i), default=0.0)
        for i, t in enumerate(texts)
    ]


# -- fluency ----------------------------------------------------------------------------
@cache
def english_words() -> frozenset[str]:
    """The whole words and word pieces of the 30,522-entry WordPiece vocabulary shipped
    with all-MiniLM-L6-v2 (bert-base-uncased's); empty where it is not installed."""
    try:
        from shopmind.models.weights import minilm_path

        path = minilm_path() / "vocab.txt"
        return frozenset(path.read_text(encoding="utf-8").split("\n"))
    except Exception:  # weights not installed: fluency falls back to repetition alone
        return frozenset()


def is_known_word(
    word: str, vocabulary: frozenset[str], extra: frozenset[str] = frozenset()
) -> bool:
    """Whether ``word`` (folded letters) is a word: in the vocabulary or ``extra`` as it is
    or as a singular, or a vocabulary word of 3+ letters plus one suffix piece
    ("breath" + "##able")."""
    if word in vocabulary or word in extra or singular(word) in vocabulary | extra:
        return True
    return any(
        word[:i] in vocabulary and "##" + word[i:] in vocabulary
        for i in range(len(word) - 1, 2, -1)
    )


def known_word_share(text: str, extra: Iterable[str] = ()) -> float:
    """The share of the text's Latin words that are words (1 where it has none, or where
    the vocabulary is not installed). ``extra``: words that count too (the product's)."""
    vocabulary = english_words()
    words = _LETTERS.findall(fold(text))
    words = [w for w in words if not has_han(w)]
    if not words or not vocabulary:
        return 1.0
    known = frozenset(fold(w) for w in extra)
    return sum(is_known_word(w, vocabulary, known) for w in words) / len(words)


def repetition(text: str) -> float:
    """The share of repeated n-grams: word trigrams, or character 4-grams where most
    tokens are Chinese characters."""
    items = tokens(text)
    n = 4 if items and sum(is_han(t) for t in items) * 2 > len(items) else 3
    grams = ngrams(items, n)
    return 1 - len(set(grams)) / len(grams) if grams else 0.0


def garbage_share(text: str) -> float:
    """The share of characters that are never text: unassigned, private use, surrogates,
    controls other than line breaks and tabs, and U+FFFD."""
    if not text:
        return 0.0
    bad = sum(
        c == "\ufffd" or (unicodedata.category(c) in ("Cn", "Co", "Cs", "Cc") and c not in "\n\t")
        for c in text
    )
    return bad / len(text)


def fluency(text: str, extra: Iterable[str] = ()) -> float:
    """known-word share × (1 − repetition) × (1 − garbage share), in 0..1."""
    return known_word_share(text, extra) * (1 - repetition(text)) * (1 - garbage_share(text))


# -- coverage ---------------------------------------------------------------------------
def salient_attributes(facts: ProductFacts) -> list[tuple[str, Any]]:
    """The attributes copy should mention: not ids, links, prices or stock; not empty,
    yes/no or longer than 80 characters; plus the brand."""
    found = [("brand", facts.brand)] if facts.brand.strip() else []
    for key, value in facts.attributes.items():
        values = value if isinstance(value, list | tuple) else [value]
        values = [v for v in values if _salient_value(v)]
        if values and not _SKIP_KEY.search(str(key)):
            found.append((str(key), values if isinstance(value, list | tuple) else values[0]))
    return found


def _salient_value(value: Any) -> bool:
    if isinstance(value, bool) or value is None:
        return False
    text = str(value).strip()
    return text.casefold() not in _EMPTY_VALUES and len(text) <= 80


def mentions(text: str, value: Any) -> bool:
    """Whether ``text`` mentions an attribute value: all its words (Chinese: as a
    substring), or for a number / quantity the same quantity in any unit."""
    if isinstance(value, list | tuple):
        return any(mentions(text, v) for v in value)
    folded, wanted = fold(text), fold(str(value)).strip()
    asked = [q for q in quantities(wanted, DEFAULT) if q.dimension != "code"]
    said = quantities(folded, DEFAULT)
    if asked and all(
        any(q.dimension == s.dimension and math.isclose(q.base, s.base, rel_tol=1e-6) for s in said)
        for q in asked
    ):
        return True
    words = {singular(t) for t in tokens(folded)}
    content = [singular(t) for t in tokens(wanted) if not is_han(t) and t not in STOPWORDS]
    han = "".join(c for c in wanted if is_han(c))
    if han and han not in folded:
        return False
    return bool(content or han) and all(w in words for w in content)


def coverage(text: str, facts: ProductFacts) -> float | None:
    """The share of :func:`salient_attributes` that ``text`` mentions."""
    salient = salient_attributes(facts)
    if not salient:
        return None
    return sum(mentions(text, value) for _, value in salient) / len(salient)


# -- the whole request ------------------------------------------------------------------
def spec_score(problems: Sequence[Problem]) -> float:
    if any(p.severity == "error" for p in problems):
        return 0.0
    return max(0.0, 1.0 - SOFT_PENALTY * len(problems))


def score_variants(
    task: str | Spec,
    variants: Sequence[Mapping[str, Any]],
    facts: ProductFacts | FactGuard,
) -> Ranking:
    """Check, score and rank one request's variants; drop those that fail."""
    spec = SPECS[task] if isinstance(task, str) else task
    guard = facts if isinstance(facts, FactGuard) else FactGuard(facts)
    kept: list[tuple[int, Mapping[str, Any], list[Problem], str]] = []
    dropped: list[Dropped] = []
    seen: dict[str, int] = {}
    for index, fields in enumerate(variants):
        problems = spec.validate(fields)
        if any(p.severity == "error" for p in problems):
            dropped.append(
                Dropped(index, "spec", [p.to_dict() for p in problems if p.severity == "error"])
            )
            continue
        text = spec.text(fields)
        bad = guard.unsupported(text)
        if bad:
            dropped.append(Dropped(index, "unsupported-claims", [c.to_dict() for c in bad]))
            continue
        label = " ".join(fold(text).split())
        if label in seen:
            dropped.append(Dropped(index, "duplicate", [{"of": seen[label]}]))
            continue
        seen[label] = index
        kept.append((index, fields, problems, text))
    texts = [text for *_, text in kept]
    similar = max_similarities(texts)
    extra = tokens(guard.facts.text())
    ranked = []
    for (index, fields, problems, text), sim in zip(kept, similar, strict=True):
        parts = [spec_score(problems), fluency(text, extra)]
        cover = coverage(text, guard.facts)
        parts += [cover] if cover is not None else []
        parts += [1 - sim] if len(kept) > 1 else []
        scores = Scores(True, parts[0], cover, parts[1], sim, sum(parts) / len(parts))
        ranked.append(Ranked(index, fields, scores))
    ranked.sort(key=lambda r: (-r.scores.total, r.index))
    return Ranking(ranked, dropped, distinct_n(texts))
