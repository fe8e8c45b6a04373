"""Writing copy and keeping it as drafts: what the CLI, the REST API and the background
job share.

:func:`write_copy` writes one product's copy and stores its variants as drafts (each
variant's ``draft_id`` added to the result); :func:`pending` leaves out the products a
bulk run already did with the same settings, which is how an interrupted run resumes;
:func:`model_label` is the ``backend:model`` a run is recorded under (``rules`` for the
facts writer alone); :func:`edit_problems` checks a person's edit.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from typing import Any

from shopmind.content.channels import SPECS
from shopmind.content.generate import Options, generate_copy, product_language
from shopmind.content.prompts import Voice
from shopmind.content.voice import ExampleBank
from shopmind.models.llm.base import LanguageModel
from shopmind.store import content as drafts
from shopmind.store.db import Store


def model_label(lm: LanguageModel | None) -> str:
    return f"{lm.name}:{lm.model_id}" if lm is not None else drafts.RULES


def write_copy(
    store: Store | None,
    lm: LanguageModel | None,
    task: str,
    product: Mapping[str, Any],
    options: Options,
    *,
    save: bool = True,
    job_id: int | None = None,
    bank: ExampleBank | None = None,
    examples: int = 2,
) -> dict[str, Any]:
    """One product's copy (:func:`~shopmind.content.generate.generate_copy`), stored as
    drafts when ``save`` and any variant passed. With ``bank``, the voice carries up to
    ``examples`` descriptions of the store's most similar products. A language of
    ``auto`` is the product's own (:func:`~shopmind.content.generate.product_language`)."""
    options = resolved(options, product)
    if bank is not None and examples > 0 and lm is not None:
        voice = bank.voice_for(options.voice or Voice(), product, examples)
        options = replace(options, voice=voice)
    result = generate_copy(lm, task, product, options)
    if save and store is not None and result["variants"]:
        saved = drafts.save_run(
            store,
            product_key=str(product["id"]),
            product_id=product.get("product_id"),
            task=task,
            language=options.language,
            variants=[(v["fields"], v["scores"], v["writer"]) for v in result["variants"]],
            model=model_label(lm),
            settings=options.settings(),
            job_id=job_id,
        )
        for variant, draft in zip(result["variants"], saved, strict=True):
            variant["draft_id"] = draft.id
    return result


def pending(
    store: Store,
    lm: LanguageModel | None,
    task: str,
    options: Options,
    products: Iterable[Mapping[str, Any]],
) -> list[Mapping[str, Any]]:
    """``products`` less those with drafts of ``task`` written the same way."""
    done: dict[str, set[str]] = {}
    out = []
    for product in products:
        opts = resolved(options, product)
        if opts.language not in done:
            key = drafts.settings_key(task, opts.language, model_label(lm), opts.settings())
            done[opts.language] = drafts.done_keys(store, task, opts.language, key)
        if str(product["id"]) not in done[opts.language]:
            out.append(product)
    return out


def resolved(options: Options, product: Mapping[str, Any]) -> Options:
    """``options`` with a language of ``auto`` made the product's own."""
    if options.language != "auto":
        return options
    return replace(options, language=product_language(product))


def write_all(
    store: Store,
    lm: LanguageModel | None,
    task: str,
    products: list[Mapping[str, Any]],
    options: Options,
    *,
    job_id: int | None = None,
    progress: Callable[[int], None] | None = None,
    bank: ExampleBank | None = None,
    examples: int = 2,
) -> dict[str, int]:
    """:func:`write_copy` for each product, storing drafts; counts for a summary."""
    counts = {"products": len(products), "written": 0, "empty": 0, "variants": 0}
    for i, product in enumerate(products, start=1):
        result = write_copy(store, lm, task, product, options, job_id=job_id, bank=bank,
                            examples=examples)  # fmt: skip
        counts["variants"] += len(result["variants"])
        counts["written" if result["variants"] else "empty"] += 1
        if progress is not None:
            progress(i)
    return counts


def edit_problems(task: str, fields: Mapping[str, Any]) -> list[str]:
    """Why a person's edited ``fields`` cannot be stored for ``task``: the channel's hard
    limits (a person's own words are not fact-checked: they are the merchant's)."""
    return [p.message for p in SPECS[task].validate(fields) if p.severity == "error"]


def store_faq(store: Store) -> list[dict[str, str]]:
    """The store's FAQ pairs (imported pages of kind ``faq``)."""
    from sqlalchemy import select

    from shopmind.store.models import Page

    with store.session() as s:
        rows = s.execute(select(Page.question, Page.body).where(Page.kind == "faq")).all()
    return [{"question": q, "answer": a} for q, a in rows if q and a]


def article_key(topic: str) -> str:
    """The drafts' product key of an article: ``article:`` and the topic as a slug."""
    slug = "-".join(re.findall(r"[^\W_]+", topic.casefold()))[:200]
    return f"article:{slug or 'untitled'}"


def write_store_article(
    store: Store,
    lm: LanguageModel | None,
    topic: str,
    options: Options,
    *,
    k: int = 4,
    save: bool = True,
    job_id: int | None = None,
) -> dict[str, Any]:
    """An article on ``topic`` from the store's products and FAQ pages, stored as a draft
    (product key :func:`article_key`)."""
    from shopmind.content import source
    from shopmind.content.article import rank_faq, rank_products, write_article

    options = resolved(options, {"title": topic})
    products = list(source.store_products(store))
    ranked = rank_products(topic, products, k=k)
    faq = rank_faq(topic, store_faq(store))
    result = write_article(lm, topic, [p for p, _ in ranked], faq, options)
    scores = [round(similarity, 3) for _, similarity in ranked]
    result["products"] = [
        {**p, "similarity": s} for p, s in zip(result["products"], scores, strict=False)
    ]
    if save and result["variants"]:
        saved = drafts.save_run(
            store, product_key=article_key(result["topic"]), product_id=None, task="article",
            language=options.language,
            variants=[(v["fields"], v["scores"], v["writer"]) for v in result["variants"]],
            model=model_label(lm), settings={**options.settings(), "topic": result["topic"]},
            job_id=job_id,
        )  # fmt: skip
        for variant, draft in zip(result["variants"], saved, strict=True):
            variant["draft_id"] = draft.id
    return result


def example_bank(
    store: Store, settings: Any, task: str, lm: LanguageModel | None, limit: int = 1000
) -> ExampleBank | None:
    """The store's copy to show the model for ``task`` (``None`` where no example is shown:
    no model, a task of one-line texts, or ``content_examples = 0``)."""
    from shopmind.content import source
    from shopmind.content.voice import needs_examples

    if lm is None or settings.content_examples <= 0 or not needs_examples(task):
        return None
    return ExampleBank.from_products(source.store_products(store), limit=limit)


_tuned: dict[tuple[str, str, str], LanguageModel] = {}


def load_writer(settings: Any) -> LanguageModel:
    """The language model the writers use: the configured one, with the store's tuned
    LoRA adapter (``content/lora``, :mod:`shopmind.content.tune`) on it where there is
    one for that base model and ``content_tuned`` is on. Kept per process and version."""
    from shopmind.models.llm import load_language_model

    lm = load_language_model(settings)
    if settings.llm_backend != "local" or not settings.content_tuned:
        return lm
    from shopmind.content.tune import load_tuned, registry

    try:
        version = registry(settings.models_dir).current_id()
    except Exception:
        return lm
    if version is None:
        return lm
    key = (str(settings.models_dir), settings.llm_model, settings.llm_precision, version)
    if key not in _tuned:
        tuned = load_tuned(settings.models_dir, settings.llm_model, settings.llm_precision)
        if tuned is None:
            return lm
        _tuned.clear()  # one tuned model at a time
        _tuned[key] = tuned
    return _tuned[key]
