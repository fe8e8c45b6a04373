"""Channel specs: one :class:`~shopmind.content.spec.Spec` per content task, in :data:`SPECS`.

::

    spec = SPECS["google-ads"]
    problems = spec.validate({"headlines": [...], "descriptions": [...], "paths": [...]})
    spec.passes(fields)          # no hard-limit problem
    spec.repair(fields)          # rule-based: trims, removes, drops; never adds text

docs/content.md lists every task's fields with their limits and where each limit comes
from (the ``source`` of each field below).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from shopmind.content.counting import x_weighted
from shopmind.content.spec import Field, Problem, Spec

__all__ = ["SOCIAL_MAX", "SPECS", "TASKS", "faq_jsonld", "social_post", "validate"]

SOCIAL_MAX = 280


def social_post(fields: Mapping[str, Any]) -> str:
    """The post as published: the text, a blank line, then the hashtags."""
    tags = " ".join("#" + tag.lstrip("#") for tag in fields.get("hashtags") or [])
    return f"{fields.get('post', '')}\n\n{tags}" if tags else str(fields.get("post", ""))


def _social_length(fields: Mapping[str, Any]) -> list[Problem]:
    length = x_weighted(social_post(fields))
    if length <= SOCIAL_MAX:
        return []
    return [
        Problem(
            "post",
            None,
            "max-chars",
            f"post with hashtags: {length} characters (X-weighted), at most {SOCIAL_MAX}",
        )
    ]


_SEO = "a search-result convention (results are cut by pixel width); no published limit"
_GMC = "Google Merchant Center product data specification"
_AMAZON = "Amazon Seller Central, product title requirements"
_GADS = "Google Ads RSA limits as published guides quote them (Google's page not checked)"
_META = "third-party Meta ad guides (Meta's own page not checked)"
_OWN = "shopmind's choice"
AMAZON_FORBIDDEN = "!$?_{}^¬¦"

SPECS: dict[str, Spec] = {spec.task: spec for spec in (
    Spec("product-description", "A product description as plain text and as HTML.", (
        Field("description", "text", "the description as plain text; paragraphs split by "
              "blank lines", max_chars=5000, single_line=False, source=_GMC),
        Field("html", "html", "the same description as HTML: p, ul, ol, li, strong, em, br, "
              "h3, h4, no attributes; the limit counts its visible text", max_chars=5000,
              single_line=False, source=_GMC),
    )),
    Spec("product-title", "A product title for the store's own pages.", (
        Field("title", "text", "the title", max_chars=150, soft_max_chars=80,
              source=f"{_GMC} (150); {_AMAZON} (fewer than 80 recommended)"),
    )),
    Spec("seo", "The page title and meta description search engines show.", (
        Field("title", "text", "the SEO title", max_chars=60, source=_SEO),
        Field("meta_description", "text", "the meta description", max_chars=160, source=_SEO),
    )),
    Spec("google-ads", "A Google Ads responsive search ad.", (
        Field("headlines", "texts", "3–15 headlines, each ≤ 30, all different", min_items=3,
              max_items=15, max_chars=30, unique=True, counter="double_width", source=_GADS),
        Field("descriptions", "texts", "2–4 descriptions, each ≤ 90, all different",
              min_items=2, max_items=4, max_chars=90, unique=True, counter="double_width",
              source=_GADS),
        Field("paths", "texts", "exactly two display-URL paths, each ≤ 15, without spaces or "
              "'/'", min_items=2, max_items=2, max_chars=15, no_spaces=True, forbidden="/",
              counter="double_width", source=f"{_GADS} (15 each); {_OWN} (two, no spaces)"),
    )),
    Spec("meta-ad", "A Meta (Facebook / Instagram) feed ad.", (
        Field("primary_text", "text", "the text above the image; about 125 characters show "
              "before 'See more'", max_chars=2200, soft_max_chars=125, single_line=False,
              source=_META),
        Field("headline", "text", "the headline", max_chars=40, source=_META),
    )),
    Spec("email", "A marketing e-mail.", (
        Field("subject", "text", "the subject line", max_chars=150, soft_max_chars=50,
              source=f"{_OWN} (150; 50 a common recommendation)"),
        Field("preview_text", "text", "the preview (preheader) text", max_chars=250,
              soft_max_chars=90, source=_OWN),
        Field("body", "text", "the body as plain text", max_chars=10000, single_line=False,
              source=_OWN),
    )),
    Spec("social", "A short social post with hashtags, sized for X (the strictest).", (
        Field("post", "text", "the post's text without its hashtags", max_chars=SOCIAL_MAX,
              single_line=False, counter="x_weighted",
              source="X: 280 weighted characters, hashtags included"),
        Field("hashtags", "texts", "1–10 hashtags, one word each, '#' optional",
              min_items=1, max_items=10, soft_max_items=5, max_chars=100, unique=True,
              pattern=r"#?[^\W_]\w*", source=_OWN),
    ), checks=(_social_length,)),
    Spec("merchant-feed", "Google Merchant Center title and description.", (
        Field("title", "text", "the feed title", max_chars=150, source=_GMC),
        Field("description", "text", "the feed description as plain text", max_chars=5000,
              single_line=False, source=_GMC),
    )),
    Spec("amazon-title", "An Amazon product title.", (
        Field("title", "text", "the title", max_chars=200, soft_max_chars=80,
              forbidden=AMAZON_FORBIDDEN, source=_AMAZON),
    )),
    Spec("article", "A blog post or buying guide with SEO fields and an FAQ.", (
        Field("title", "text", "the article's title (its H1)", max_chars=150,
              soft_max_chars=70, source=_OWN),
        Field("meta_description", "text", "the meta description", max_chars=160, source=_SEO),
        Field("sections", "records", "1–20 sections, each {heading, body}", min_items=1,
              max_items=20, unique=True, source=_OWN, record=(
                  Field("heading", "text", "the section heading", max_chars=120),
                  Field("body", "text", "the section text", max_chars=5000, single_line=False),
                  Field("link", "text", "the store page the section is about (a path or URL; "
                        "not copy)", required=False, max_chars=2048, pattern=r"(/|https?://)\S*",
                        copy=False),
              )),
        Field("faq", "records", "0–10 questions, each {question, answer}", required=False,
              max_items=10, unique=True, source=_OWN, record=(
                  Field("question", "text", "the question", max_chars=200),
                  Field("answer", "text", "the answer", max_chars=1000, single_line=False),
              )),
    )),
)}  # fmt: skip
TASKS = tuple(SPECS)


def faq_jsonld(fields: Mapping[str, Any]) -> dict[str, Any]:
    """An article's FAQ as schema.org ``FAQPage`` JSON-LD."""
    return {
        "@context": "https://schema.org",
        "@type": "FAQPage",
        "mainEntity": [
            {
                "@type": "Question",
                "name": item["question"],
                "acceptedAnswer": {"@type": "Answer", "text": item["answer"]},
            }
            for item in fields.get("faq") or []
        ],
    }


def validate(task: str, fields: Mapping[str, Any]) -> list[Problem]:
    """``SPECS[task].validate(fields)``; an unknown task is a ``KeyError``."""
    return SPECS[task].validate(fields)


def markdown_table() -> str:
    """Every task's fields and limits as the Markdown table in docs/content.md."""
    rows = [
        "| task | field | kind | items | max | recommended | counted as | also | limit from |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for spec in SPECS.values():
        for f in spec.fields:
            rows.append(_row(spec.task, f"`{f.name}`", f))
            rows += [_row(spec.task, f"`{f.name}[].{sub.name}`", sub) for sub in f.record]
    return "\n".join(rows)


def _row(task: str, name: str, f: Field) -> str:
    items = ""
    if f.kind in ("texts", "records"):
        items = f"{f.min_items}–{f.max_items}" if f.max_items else f"{f.min_items}+"
        items += f" (≤ {f.soft_max_items} recommended)" if f.soft_max_items else ""
    also = [
        "one line" if f.single_line and f.kind != "records" else "",
        "all different" if f.unique else "",
        "no spaces" if f.no_spaces else "",
        "none of " + " ".join(f"`{c}`" for c in f.forbidden) if f.forbidden else "",
        f"matches `{f.pattern}`" if f.pattern else "",
    ]
    limits = f"{f.max_chars or ''} | {f.soft_max_chars or ''}"
    return (
        f"| `{task}` | {name} | {f.kind} | {items} | {limits} | {f.counter} "
        f"| {', '.join(a for a in also if a)} | {f.source} |"
    )
