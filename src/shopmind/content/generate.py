"""Copy for one product and one task: ask the model field by field, guard every answer,
retry what was refused with the reasons, assemble the variants, guard them whole, make
up the ``n`` variants with the facts writer's (:mod:`shopmind.content.rules`) where too
few passed, rank.

Each field (each list item, each record part) is asked on its own
(:mod:`shopmind.content.prompts`), with the ``n`` answers sampled in one call. An answer
is repaired by the channel's rules and cut of unsupported claims, or refused with its
reason; refused answers are asked again once with what was wrong. The answers that pass
are put together into variants, which pass :func:`~shopmind.content.guard.guard_variant`
as a whole (the rules that span fields, such as a social post's length with its hashtags)
before they are ranked. Nothing the guards refuse is returned. The result::

    {"product_id", "task", "language", "model",
     "variants": [{"fields": {...}, "scores": {...}, "writer": "model" | "rules"}],  # best first
     "dropped": [{"reason", "field", "attempt", "text", "details"}],
     "distinct_2", "checks": {"answers", "unsupported", "spec", "off_task", "tokens"},
     "ignored_instructions": ["title", ...]}

``checks`` counts the model's raw answers, those with an unsupported claim before the
guard cut it, and those breaking a channel rule the repair could not fix.
``ignored_instructions`` names the product fields that held sentences addressed to the
writer ("ignore previous instructions …"): they were removed before anything read them
(:mod:`shopmind.content.instructions`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from shopmind.content.channels import SPECS
from shopmind.content.facts import Claim, FactGuard, ProductFacts
from shopmind.content.guard import Guarded, guard_variant
from shopmind.content.instructions import clean_product
from shopmind.content.prompts import (
    DERIVED,
    Ask,
    Voice,
    asks,
    clean_answer,
    messages,
    to_html,
)
from shopmind.content.quality import off_task
from shopmind.content.repair import repair_text
from shopmind.content.rules import rules_variants
from shopmind.content.scoring import score_variants
from shopmind.content.spec import Problem, identity, validate_text
from shopmind.content.strip import strip_unsupported
from shopmind.content.textcheck import banned_in
from shopmind.content.textnorm import has_han
from shopmind.models.llm.base import LanguageModel

# Token budgets for the answers that take several lines; one-line answers get a budget
# from their character limit (:func:`max_tokens`).
LONG_TOKENS = {
    "product-description.description": 320,
    "email.body": 300,
    "merchant-feed.description": 260,
    "meta-ad.primary_text": 90,
    "social.post": 90,
    "article.sections.body": 260,
    "article.faq.answer": 90,
}
DEFAULT_LONG_TOKENS = 260
MAX_VARIANTS = 8
OVERSAMPLE = 1.5  # list items asked for beyond those needed: some are always refused
MAX_BATCH = 16
WRITERS = ("model", "rules")
CHECKS = ("answers", "unsupported", "spec", "off_task", "tokens")


LANGUAGE_CHOICES = ("auto", "en", "zh")


def product_language(product: Mapping[str, Any]) -> str:
    """``zh`` for a product whose title or description is written in Chinese, else ``en``."""
    text = f"{product.get('title') or ''} {str(product.get('description') or '')[:300]}"
    return "zh" if has_han(text) else "en"


@dataclass(frozen=True)
class Options:
    n: int = 3
    language: str = "en"  # "auto": the product's own language (product_language)
    temperature: float = 0.5
    seed: int | None = None
    retries: int = 1  # rounds of asking again for the answers the guards refused
    max_tokens: int | None = None  # a cap on every answer's budget
    voice: Voice | None = None
    writer: str = "model"  # "model", or "rules" for the facts writer alone (no model)
    fill: bool = True  # make up the n variants with the facts writer's

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
            "writer": self.writer,
            "fill": self.fill,
        }


def max_tokens(ask: Ask, cap: int | None = None) -> int:
    """The answer budget for ``ask``: from the character limit for one-line answers
    (about 2.5 characters a token, plus room for a label the model may add)."""
    if ask.single_line:
        chars = ask.target.soft_max_chars or ask.target.max_chars or 150
        budget = min(math.ceil(chars / 2.5) + 12, 120)
    else:
        budget = LONG_TOKENS.get(f"{ask.task}.{ask.key}", DEFAULT_LONG_TOKENS)
    return min(budget, cap) if cap else budget


def token_budget(task: str, n: int) -> int:
    """The most tokens one product's copy of ``task`` can ask for (first round)."""
    total = 0
    for ask in asks(task):
        total += n * ask.items * max_tokens(ask)
    return total


def facts_of(product: Mapping[str, Any]) -> ProductFacts:
    return ProductFacts.from_mapping(product)


@dataclass
class Answer:
    """One answer after the guard: its ``value`` where it passed."""

    value: str | None
    problems: list[Problem] = field(default_factory=list)
    unsupported: list[Claim] = field(default_factory=list)  # left after cutting
    removed: list[Claim] = field(default_factory=list)  # cut out


def guard_answer(ask: Ask, text: str, guard: FactGuard, banned: Sequence[str] = ()) -> Answer:
    """One answer repaired by its field's rules and cut of unsupported claims. A list
    item, a heading or a question with an unsupported claim is refused whole; a longer
    text loses the sentence or clause. An answer that is not copy at all
    (:func:`~shopmind.content.quality.off_task`) is refused with the reason."""
    target, changes = ask.target, []
    why = off_task(text, guard.facts, single_line=ask.single_line)
    used = banned_in(text, banned)
    if why is None and used:
        message = f"the answer uses a banned word: {', '.join(used)}"
        key = ask.sub.name if ask.sub else None
        return Answer(None, [Problem(ask.field.name, None, "banned-word", message, key=key)])
    if why is not None:
        return Answer(None, [Problem(ask.field.name, None, "off-task", why,
                                     key=ask.sub.name if ask.sub else None)])  # fmt: skip
    whole = target.kind == "texts" or (ask.sub is not None and ask.sub is ask.field.record[0])
    value = repair_text(target, text, ask.key, changes, trim=not whole)
    bad = guard.unsupported(value) if isinstance(value, str) else []
    removed: list[Claim] = []
    if bad and not whole:
        removed = bad
        value = repair_text(target, strip_unsupported(value, bad), ask.key, changes)
        bad = guard.unsupported(value)
    problems = validate_text(target, value, None)
    errors = [p for p in problems if p.severity == "error"]
    if errors or bad:
        return Answer(None, problems, bad, removed)
    return Answer(value, problems, [], removed)


@dataclass
class _Run:
    model: LanguageModel | None
    task: str
    product: Mapping[str, Any]
    opts: Options
    guard: FactGuard
    dropped: list[dict[str, Any]] = field(default_factory=list)
    checks: dict[str, int] = field(default_factory=lambda: dict.fromkeys(CHECKS, 0))
    calls: int = 0

    def sample(self, ask: Ask, need: int, item: str | None = None) -> list[str]:
        """Up to ``need`` distinct answers to ``ask`` that pass the guard."""
        passed: list[str] = []
        seen: set[str] = set()
        feedback: list[str] = []
        for attempt in range(self.opts.retries + 1):
            missing = need - len(passed)
            if missing <= 0:
                break
            if ask.field.kind in ("texts", "records") and ask.single_line:
                missing = math.ceil(missing * OVERSAMPLE)
            asked = messages(ask, self.product, language=self.opts.language,
                             voice=self.opts.voice, item=item, feedback=feedback)  # fmt: skip
            seed = None if self.opts.seed is None else self.opts.seed + self.calls
            self.calls += 1
            candidates = []
            for start in range(0, missing, MAX_BATCH):
                size = min(MAX_BATCH, missing - start)
                assert self.model is not None
                candidates += self.model.generate(
                    asked, n=size, max_tokens=max_tokens(ask, self.opts.max_tokens),
                    temperature=self.opts.temperature, seed=None if seed is None else seed + start,
                    stop=["\n"] if ask.single_line else None,
                )  # fmt: skip
            feedback = []
            for candidate in candidates:
                self.checks["answers"] += 1
                self.checks["tokens"] += candidate.completion_tokens or 0
                text = clean_answer(ask, candidate.text, candidate.finish_reason != "length")
                voice = self.opts.voice or Voice()
                answer = guard_answer(ask, text, self.guard, voice.banned_words)
                if answer.unsupported or answer.removed:
                    self.checks["unsupported"] += 1
                if answer.value is None:
                    if any(p.rule in ("off-task", "banned-word") for p in answer.problems):
                        self.checks["off_task"] += 1
                    elif not answer.unsupported and not answer.removed:
                        self.checks["spec"] += 1
                    self._drop(ask, attempt, text, answer)
                    feedback = feedback or _feedback(answer)
                    continue
                key = identity(ask.target, answer.value)
                if key in seen:
                    continue  # the same item again: not a variant of its own
                seen.add(key)
                passed.append(answer.value)
        return passed[:need]

    def _drop(self, ask: Ask, attempt: int, text: str, answer: Answer) -> None:
        claims = [c.to_dict() for c in (*answer.unsupported, *answer.removed)]
        errors = [p.to_dict() for p in answer.problems if p.severity == "error"]
        self.dropped.append({
            "reason": _reason(answer),
            "field": ask.key,
            "attempt": attempt,
            "text": text[:300],
            "details": claims + errors,
        })  # fmt: skip


def refused_variant(guarded: Guarded) -> dict[str, Any]:
    """A whole variant the guards refused, as an entry of ``dropped``."""
    errors = [p.to_dict() for p in guarded.problems if p.severity == "error"]
    claims = [c.to_dict() for c in guarded.unsupported]
    return {"reason": "unsupported-claims" if claims else "spec", "field": None,
            "attempt": None, "text": "", "details": claims + errors}  # fmt: skip


def _reason(answer: Answer) -> str:
    if answer.unsupported or answer.removed:  # left, or cut leaving too little
        return "unsupported-claims"
    for rule in ("off-task", "banned-word"):
        if any(p.rule == rule for p in answer.problems):
            return rule
    return "spec"


def _feedback(answer: Answer) -> list[str]:
    claims = [*answer.unsupported, *answer.removed]
    notes = [f"'{c.text}' is not in the product facts" for c in claims]
    for p in answer.problems:
        if p.severity != "error" or (claims and p.rule == "empty"):
            continue
        if p.rule in ("off-task", "banned-word"):
            notes.append(p.message.replace("the answer", "an answer", 1))
        elif p.rule == "empty":
            notes.append("the answer was empty")
        elif p.rule == "max-chars":
            notes.append("the answer was too long")
        else:
            notes.append(p.message.split(": ", 1)[-1])
    return list(dict.fromkeys(notes))[:4]


def _fields(run: _Run) -> list[dict[str, Any]]:
    """Every field's answers, put together into up to ``n`` variants."""
    n = run.opts.n
    columns: dict[str, list[Any]] = {}
    for ask in asks(run.task):
        f = ask.field
        if ask.sub is not None:
            if ask.sub is not f.record[0]:
                continue  # asked per item with the record's first part, below
            columns[f.name] = _records(run, ask, n * ask.items)
        elif f.kind == "texts":
            columns[f.name] = run.sample(ask, n * ask.items)
        else:
            columns[f.name] = run.sample(ask, n)
    variants = []
    for i in range(n):
        fields: dict[str, Any] = {}
        for ask in asks(run.task):
            f, column = ask.field, columns[ask.field.name]
            if f.kind in ("texts", "records"):
                k = ask.items
                chunk = column[i * k : (i + 1) * k]
                if len(chunk) >= max(f.min_items, 1) or (not f.required and not f.min_items):
                    fields[f.name] = chunk
            elif i < len(column):
                fields[f.name] = column[i]
        needed = [f.name for f in SPECS[run.task].fields
                  if f.required and (run.task, f.name) not in DERIVED]  # fmt: skip
        if all(name in fields for name in needed):
            variants.append(fields)
        elif fields:
            missing = [f.name for f in SPECS[run.task].fields if f.name not in fields]
            run.dropped.append({"reason": "incomplete", "field": ", ".join(missing),
                                "attempt": None, "text": "", "details": []})  # fmt: skip
    for fields in variants:
        if (run.task, "html") in DERIVED and "description" in fields:
            fields["html"] = to_html(fields["description"])
    return variants


def _records(run: _Run, first: Ask, need: int) -> list[dict[str, Any]]:
    """Records asked outline first: the first part as items, each other part per item."""
    records = []
    for head in run.sample(first, need):
        record = {first.sub.name: head}  # type: ignore[union-attr]
        for sub in (sub for sub in first.field.record[1:] if sub.copy):
            answer = run.sample(Ask(run.task, first.field, sub), 1, item=head)
            if not answer:
                break
            record[sub.name] = answer[0]
        else:
            records.append(record)
    return records


def generate_copy(
    model: LanguageModel | None,
    task: str,
    product: Mapping[str, Any],
    options: Options | None = None,
) -> dict[str, Any]:
    """Variants of ``task``'s copy for ``product`` (a dict: ``id``, ``title``,
    ``description``, ``attributes``, ``brand``, ``category``, ``options``, ``price``)."""
    if task not in SPECS:
        raise ValueError(f"unknown task {task!r}; tasks: {', '.join(SPECS)}")
    opts = options or Options()
    if opts.language == "auto":
        opts = replace(opts, language=product_language(product))
    if not 1 <= opts.n <= MAX_VARIANTS:
        raise ValueError(f"n must be 1 to {MAX_VARIANTS}, got {opts.n}")
    if opts.writer not in WRITERS:
        raise ValueError(f"writer must be one of {', '.join(WRITERS)}, got {opts.writer!r}")
    if opts.writer == "model" and model is None:
        raise ValueError("the model writer needs a language model")
    given = product
    product, instructed = clean_product(product)
    run = _Run(model, task, product, opts, FactGuard(facts_of(product)))
    passed: list[tuple[str, dict[str, Any]]] = []
    written = _fields(run) if opts.writer == "model" else []
    for fields in written:
        guarded = guard_variant(task, fields, run.guard)
        if guarded.ok:
            passed.append(("model", guarded.fields))
        else:
            run.dropped.append(refused_variant(guarded))
    if opts.writer == "rules" or (opts.fill and len(passed) < opts.n):
        banned = (opts.voice or Voice()).banned_words
        for fields in rules_variants(task, product, opts.language):
            if len(passed) >= opts.n:
                break
            if banned_in(SPECS[task].text(fields), banned):
                continue
            guarded = guard_variant(task, fields, run.guard)
            if not guarded.ok:
                run.dropped.append({**refused_variant(guarded), "writer": "rules"})
            elif guarded.fields not in [f for _, f in passed]:
                passed.append(("rules", guarded.fields))
    ranking = score_variants(task, [f for _, f in passed], run.guard)
    run.dropped += [
        {**d.to_dict(), "field": None, "attempt": None, "text": ""} for d in ranking.dropped
    ]
    return {
        "product_id": given.get("id"),
        "task": task,
        "language": opts.language,
        "model": f"{model.name}:{model.model_id}" if model is not None else None,
        "variants": [
            {"fields": dict(r.fields), "scores": r.scores.to_dict(), "writer": passed[r.index][0]}
            for r in ranking.variants
        ],
        "dropped": run.dropped,
        "distinct_2": ranking.distinct_2,
        "checks": run.checks,
        "ignored_instructions": instructed,
    }


def generate_many(
    model: LanguageModel,
    task: str,
    products: Sequence[Mapping[str, Any]],
    options: Options | None = None,
) -> dict[str, Any]:
    """:func:`generate_copy` for each product: ``{"results": [...]}``."""
    return {"results": [generate_copy(model, task, p, options) for p in products]}
