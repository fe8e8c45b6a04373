"""Articles on a topic ("linen shirts for hot days"), built from the store's own products
and help pages: what earns search traffic and sends it to product pages.

1. **Products for the topic**: the store's products ranked by MiniLM similarity between
   the topic and each product's title, category, attributes and description; the best
   ``k`` above :data:`MIN_SIMILARITY` and within :data:`RELATIVE` of the best one are the
   article's subjects.
2. **Outline first**: an introduction, then one section per chosen product (its heading
   is the product's title, its ``link`` the product's page), then the FAQ.
3. **Each section from its own product's facts**: the model writes a section's body with
   that product's facts only, and the fact guard checks it against that product alone;
   the introduction, title and meta description are checked against all chosen products
   and the FAQ pairs.
   A body the guard refuses gives way to the product's own description (the facts writer).
4. **FAQ from the store's help pages**: the FAQ pairs most like the topic, in the store's
   own words; where there are none, questions answered from the products' attributes.
   ``faq_jsonld`` is the schema.org ``FAQPage`` for the page.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import Any

import numpy as np

from shopmind.content.channels import SPECS, faq_jsonld
from shopmind.content.facts import FactGuard, ProductFacts
from shopmind.content.generate import Options, _Run, guard_variant, refused_variant
from shopmind.content.instructions import clean_product, strip_instructions
from shopmind.content.prompts import Ask
from shopmind.content.rules import Facts, fit, rules_variants
from shopmind.content.scoring import score_variants
from shopmind.models.llm.base import LanguageModel

MIN_SIMILARITY = 0.2
RELATIVE = 0.75  # a product also needs three quarters of the best one's similarity
MAX_PRODUCTS = 8
MAX_TOPIC_CHARS = 200
PRODUCT_PATH = "/products/{handle}"

Embed = Callable[[Sequence[str]], np.ndarray]


def _embed(embed: Embed | None) -> Embed:
    if embed is None:
        from shopmind.models.minilm import embed as minilm

        return minilm
    return embed


def product_text(product: Mapping[str, Any]) -> str:
    attributes = product.get("attributes") or {}
    values = " ".join(f"{k} {v}" for k, v in attributes.items() if isinstance(v, str | int | float))
    description = str(product.get("description") or "")[:400]
    return f"{product.get('title', '')}. {product.get('category', '')}. {values}. {description}"


def rank_products(
    topic: str, products: Sequence[Mapping[str, Any]], k: int = 4, embed: Embed | None = None
) -> list[tuple[Mapping[str, Any], float]]:
    """The ``k`` products most like ``topic`` (cosine of MiniLM vectors), best first,
    those under :data:`MIN_SIMILARITY` left out."""
    if not products:
        return []
    vectors = _embed(embed)([topic, *(product_text(p) for p in products)])
    similarity = vectors[1:] @ vectors[0]
    order = np.argsort(-similarity)[:k]
    floor = max(MIN_SIMILARITY, float(similarity[order[0]]) * RELATIVE)
    return [(products[i], float(similarity[i])) for i in order if similarity[i] >= floor]


def rank_faq(
    topic: str, pages: Sequence[Mapping[str, Any]], k: int = 4, embed: Embed | None = None
) -> list[dict[str, str]]:
    """The store's FAQ pairs (``{"question", "answer"}``) most like ``topic``."""
    pairs = [p for p in pages if p.get("question") and p.get("answer")]
    if not pairs:
        return []
    vectors = _embed(embed)([topic, *(f"{p['question']} {p['answer']}" for p in pairs)])
    similarity = vectors[1:] @ vectors[0]
    order = [i for i in np.argsort(-similarity)[:k] if similarity[i] >= MIN_SIMILARITY]
    return [
        {"question": _line(pairs[i]["question"], 200), "answer": _line(pairs[i]["answer"], 1000)}
        for i in order
    ]


def _line(value: Any, limit: int) -> str:
    return " ".join(str(value).split())[:limit]


def _topic_facts(
    topic: str, products: Sequence[Mapping[str, Any]], faq: Sequence[Mapping[str, str]]
) -> ProductFacts:
    """What the whole article may state: every chosen product's facts, the store's FAQ
    answers (its own words) and the topic."""
    text = "\n".join(ProductFacts.from_mapping(p).text() for p in products)
    text += "\n" + "\n".join(f"{q.get('question', '')} {q.get('answer', '')}" for q in faq)
    return ProductFacts(title=topic, description=text)


def _intro_product(topic: str, products: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """A pseudo-product for the article-wide asks: the topic as its title, the chosen
    products as its description."""
    lines = [f"{p.get('title', '')}: {str(p.get('description') or '')[:300]}" for p in products]
    return {"id": "topic", "title": topic, "description": " ".join(lines)}


def write_article(
    model: LanguageModel | None,
    topic: str,
    products: Sequence[Mapping[str, Any]],
    faq: Sequence[Mapping[str, str]] = (),
    options: Options | None = None,
    link: str = PRODUCT_PATH,
) -> dict[str, Any]:
    """One article on ``topic`` about ``products`` (already chosen, best first)."""
    opts = replace(options or Options(), n=1)
    topic = " ".join(strip_instructions(topic).split())[:MAX_TOPIC_CHARS]
    if not topic:
        raise ValueError("topic is empty")
    if not products:
        raise ValueError(f"no product of the store fits the topic {topic!r}")
    if opts.writer == "model" and model is None:
        raise ValueError("the model writer needs a language model")
    chosen = [clean_product(p)[0] for p in products[:MAX_PRODUCTS]]
    spec = SPECS["article"]
    article_guard = FactGuard(_topic_facts(topic, chosen, faq))
    intro = _intro_product(topic, chosen)
    run = _Run(model, "article", intro, opts, article_guard)
    writer = "model" if opts.writer == "model" else "rules"
    fields: dict[str, Any] = {}
    lead = Facts(intro, opts.language)
    if writer == "model":
        for name in ("title", "meta_description"):
            got = run.sample(Ask("article", spec.field(name)), 1)
            if got:
                fields[name] = got[0]
    fields.setdefault("title", fit(topic[:1].upper() + topic[1:], 150))
    fields.setdefault("meta_description", fit(
        lead.words["list"].join(str(p.get("title", "")) for p in chosen), 160))  # fmt: skip
    sections_field = spec.field("sections")
    body_ask = Ask("article", sections_field, sections_field.record[1])
    sections = []
    for product in chosen:
        heading = fit(str(product.get("title") or ""), 120)
        body = None
        if writer == "model":
            own = _Run(
                model, "article", product, opts, FactGuard(ProductFacts.from_mapping(product))
            )
            got = own.sample(body_ask, 1, item=heading)
            run.dropped += [{**d, "product_id": product.get("id")} for d in own.dropped]
            for key, value in own.checks.items():
                run.checks[key] += value
            body = got[0] if got else None
        if body is None:
            facts = rules_variants("product-description", product, opts.language)
            body = facts[-1]["description"] if facts else None
        if not heading or not body:
            continue
        section = {"heading": heading, "body": body}
        handle = product.get("handle") or product.get("id")
        if handle:
            section["link"] = link.format(handle=handle)
        sections.append(section)
    fields["sections"] = sections
    answers = [dict(q) for q in faq][:10]
    if not answers:
        for product in chosen:
            for variant in rules_variants("article", product, opts.language)[:1]:
                answers += variant.get("faq", [])[:2]
    if answers:
        fields["faq"] = answers[:10]
    guarded = guard_variant("article", fields, article_guard)
    variants = []
    if guarded.ok:
        ranking = score_variants("article", [guarded.fields], article_guard)
        variants = [{"fields": dict(r.fields), "scores": r.scores.to_dict(), "writer": writer}
                    for r in ranking.variants]  # fmt: skip
    else:
        run.dropped.append(refused_variant(guarded))
    return {
        "topic": topic,
        "task": "article",
        "language": opts.language,
        "model": f"{model.name}:{model.model_id}" if model is not None and writer == "model"
        else None,
        "products": [{"id": p.get("id"), "title": p.get("title")} for p in chosen],
        "variants": variants,
        "faq_jsonld": faq_jsonld(variants[0]["fields"]) if variants else None,
        "dropped": run.dropped,
        "checks": run.checks,
    }  # fmt: skip
