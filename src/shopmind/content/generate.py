"""Copy for one product and one task: ask the model for ``n`` variants, read them back,
guard them, retry the failures once with what was wrong, rank what passed.

Nothing the guards refuse is returned: a variant either passes the channel spec and the
fact guard (after rule-based repair: trimming, cutting unsupported claims) or it is
dropped with its reason. The result has the shape of the issue's output::

    {"product_id", "task", "language", "model",
     "variants": [{"fields": {...}, "scores": {...}}],      # best first
     "dropped": [{"reason", "attempt", "details"}]}
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from shopmind.content.channels import SPECS
from shopmind.content.facts import FactGuard, ProductFacts
from shopmind.content.guard import Guarded, guard_variant
from shopmind.content.parse import parse_answer
from shopmind.content.prompts import Voice, messages
from shopmind.content.scoring import score_variants
from shopmind.models.llm.base import LanguageModel

# Answer budgets per task (tokens): a long description or an article needs more room.
MAX_TOKENS = {"product-description": 400, "email": 400, "article": 900, "google-ads": 320}
DEFAULT_MAX_TOKENS = 200
MAX_VARIANTS = 8


@dataclass(frozen=True)
class Options:
    n: int = 3
    language: str = "en"
    temperature: float = 0.8
    seed: int | None = None
    retries: int = 1  # rounds of regeneration for the variants the guards refused
    max_tokens: int | None = None
    voice: Voice | None = None

    def settings(self) -> dict[str, Any]:
        """What changes the output (for the drafts' settings fingerprint)."""
        voice = self.voice or Voice()
        return {
            "n": self.n,
            "temperature": self.temperature,
            "seed": self.seed,
            "retries": self.retries,
            "max_tokens": self.max_tokens,
            "tone": voice.tone,
            "banned_words": list(voice.banned_words),
            "keywords": list(voice.keywords),
        }


def facts_of(product: Mapping[str, Any]) -> ProductFacts:
    return ProductFacts.from_mapping(product)


def _feedback(guarded: Guarded) -> list[str]:
    claims = [*guarded.unsupported, *guarded.removed]
    notes = [f"'{c.text}' is not in the product data" for c in claims]
    notes += [f"{p.field}: {p.message}" for p in guarded.problems if p.severity == "error"]
    return list(dict.fromkeys(notes))[:6]


def _dropped(guarded: Guarded, attempt: int) -> dict[str, Any]:
    """Why a variant was refused: its claims (those left, and those whose cutting left too
    little), else the channel rules it breaks."""
    errors = [p.to_dict() for p in guarded.problems if p.severity == "error"]
    claims = [c.to_dict() for c in (*guarded.unsupported, *guarded.removed)]
    reason = "unsupported-claims" if claims else "spec"
    return {"reason": reason, "attempt": attempt, "details": claims + errors}


def generate_copy(
    model: LanguageModel, task: str, product: Mapping[str, Any], options: Options | None = None
) -> dict[str, Any]:
    """Variants of ``task``'s copy for ``product`` (a dict: ``id``, ``title``,
    ``description``, ``attributes``, ``brand``, ``category``, ``options``, ``price``)."""
    if task not in SPECS:
        raise ValueError(f"unknown task {task!r}; tasks: {', '.join(SPECS)}")
    opts = options or Options()
    if not 1 <= opts.n <= MAX_VARIANTS:
        raise ValueError(f"n must be 1 to {MAX_VARIANTS}, got {opts.n}")
    guard = FactGuard(facts_of(product))
    budget = opts.max_tokens or MAX_TOKENS.get(task, DEFAULT_MAX_TOKENS)
    passed: list[dict[str, Any]] = []
    dropped: list[dict[str, Any]] = []
    feedback: list[str] = []
    wanted, attempt = opts.n, 0
    while wanted > 0 and attempt <= opts.retries:
        asked = messages(task, product, language=opts.language, voice=opts.voice,
                         feedback=feedback)  # fmt: skip
        seed = None if opts.seed is None else opts.seed + attempt
        candidates = model.generate(asked, n=wanted, max_tokens=budget,
                                    temperature=opts.temperature, seed=seed)  # fmt: skip
        feedback = []
        for candidate in candidates:
            guarded = guard_variant(task, parse_answer(task, candidate.text).fields, guard)
            if guarded.ok:
                passed.append(guarded.fields)
            else:
                dropped.append(_dropped(guarded, attempt))
                feedback = feedback or _feedback(guarded)
        wanted = opts.n - len(passed)
        attempt += 1
    ranking = score_variants(task, passed, guard)
    dropped += [{**d.to_dict(), "attempt": None} for d in ranking.dropped]
    return {
        "product_id": product.get("id"),
        "task": task,
        "language": opts.language,
        "model": f"{model.name}:{model.model_id}",
        "variants": [
            {"fields": dict(r.fields), "scores": r.scores.to_dict()} for r in ranking.variants
        ],
        "dropped": dropped,
        "distinct_2": ranking.distinct_2,
    }


def generate_many(
    model: LanguageModel,
    task: str,
    products: Sequence[Mapping[str, Any]],
    options: Options | None = None,
) -> dict[str, Any]:
    """:func:`generate_copy` for each product: ``{"results": [...]}``."""
    return {"results": [generate_copy(model, task, p, options) for p in products]}
