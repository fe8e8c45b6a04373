"""The store's voice: its tone, banned words and keywords from the settings, and examples
of its own copy — the descriptions of the store's products most like the one at hand,
found by MiniLM sentence vectors (``shopmind.models.minilm``).

The examples are shown to the model for the long texts (descriptions, e-mail bodies,
feed descriptions, article sections) so it writes like the store; the fact guard still
refuses any fact an example carries that the product's own data does not.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from shopmind.content.prompts import DESCRIPTION_CHARS, Voice, asks
from shopmind.content.strip import segments
from shopmind.content.textcheck import banned_in  # noqa: F401 (re-exported)

BANK_LIMIT = 5000  # products whose copy is embedded for one run
MIN_CHARS = 80  # shorter descriptions are no example of a voice
MIN_SIMILARITY = 0.3


def split_words(text: str) -> tuple[str, ...]:
    """A comma- or line-separated list as words, blanks and repeats dropped."""
    return tuple(dict.fromkeys(w.strip() for w in re.split(r"[,\n;，、；]", text) if w.strip()))


def voice_from_settings(settings: Any) -> Voice:
    """The voice the settings give: ``content_tone``, ``content_banned_words`` and
    ``content_keywords`` (comma-separated)."""
    return Voice(
        tone=settings.content_tone or Voice.tone,
        banned_words=split_words(settings.content_banned_words),
        keywords=split_words(settings.content_keywords),
    )


def needs_examples(task: str) -> bool:
    """Whether ``task`` asks for a long text, where examples of the voice are shown."""
    return any(not a.single_line for a in asks(task))


def _query(product: Mapping[str, Any]) -> str:
    attributes = product.get("attributes") or {}
    values = " ".join(f"{k} {v}" for k, v in attributes.items() if isinstance(v, str | int | float))
    return f"{product.get('title', '')}. {product.get('category', '')}. {values}"[:1000]


def excerpt(text: str) -> str:
    """The description's first sentences, up to :data:`DESCRIPTION_CHARS` characters."""
    text = " ".join(text.split())
    out = ""
    for a, b in segments(text):
        if len(out) + (b - a) > DESCRIPTION_CHARS:
            break
        out += text[a:b]
    return out.strip() or text[:DESCRIPTION_CHARS]


@dataclass
class ExampleBank:
    """The store's own descriptions with their vectors: embedded once per run."""

    ids: list[str]
    texts: list[str]
    vectors: np.ndarray

    @classmethod
    def from_products(
        cls,
        products: Iterable[Mapping[str, Any]],
        embed: Callable[[Sequence[str]], np.ndarray] | None = None,
        limit: int = BANK_LIMIT,
    ) -> ExampleBank:
        """From products with a description of at least :data:`MIN_CHARS` characters
        (the first ``limit`` of them)."""
        if embed is None:
            from shopmind.models.minilm import embed
        ids, texts, keys = [], [], []
        for product in products:
            description = str(product.get("description") or "")
            if len(description.strip()) < MIN_CHARS:
                continue
            ids.append(str(product["id"]))
            texts.append(excerpt(description))
            keys.append(f"{product.get('title', '')}. {texts[-1]}")
            if len(ids) >= limit:
                break
        vectors = embed(keys) if keys else np.zeros((0, 384), dtype=np.float32)
        return cls(ids, texts, vectors)

    def examples(
        self,
        product: Mapping[str, Any],
        k: int = 2,
        embed: Callable[[Sequence[str]], np.ndarray] | None = None,
    ) -> list[str]:
        """Up to ``k`` descriptions of other products most like ``product``."""
        if k <= 0 or not self.ids:
            return []
        if embed is None:
            from shopmind.models.minilm import embed
        query = embed([_query(product)])[0]
        similarity = self.vectors @ query
        own = str(product.get("id"))
        out = []
        for i in np.argsort(-similarity):
            if similarity[i] < MIN_SIMILARITY or len(out) >= k:
                break
            if self.ids[i] != own and self.texts[i] not in out:
                out.append(self.texts[i])
        return out

    def voice_for(self, voice: Voice, product: Mapping[str, Any], k: int = 2) -> Voice:
        return replace(voice, examples=tuple(self.examples(product, k)))
