"""Writing copy and keeping it as drafts: what the CLI, the REST API and the background
job share.

:func:`write_copy` writes one product's copy and stores its variants as drafts (each
variant's ``draft_id`` added to the result); :func:`pending` leaves out the products a
bulk run already did with the same settings, which is how an interrupted run resumes;
:func:`model_label` is the ``backend:model`` a run is recorded under (``rules`` for the
facts writer alone); :func:`edit_problems` checks a person's edit.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from typing import Any

from shopmind.content.channels import SPECS
from shopmind.content.generate import Options, generate_copy
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
    ``examples`` descriptions of the store's most similar products."""
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
    key = drafts.settings_key(task, options.language, model_label(lm), options.settings())
    done = drafts.done_keys(store, task, options.language, key)
    return [p for p in products if str(p["id"]) not in done]


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
