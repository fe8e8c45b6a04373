"""The facts writer: copy for every task put together from the product's own facts, by
rule, with no language model.

It writes what a careful merchant would by hand when short of time — the title with the
brand, the description's first sentences, the attributes as a list, the category as a
display path — so every product gets honest copy inside its channel's limits even when
the model's answers are all refused (a small local model's often are). Its variants go
through the same guards as the model's, are marked ``"writer": "rules"``, and are ranked
with them; :func:`shopmind.content.generate.generate_copy` adds them only to make up the
``n`` variants asked for.

Every word comes from the facts, except a few connecting phrases per language
(:data:`PHRASES`): "Shop …", "What is it made of?".
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from shopmind.content.channels import SPECS
from shopmind.content.counting import COUNTERS
from shopmind.content.facts import ProductFacts
from shopmind.content.prompts import label, to_html
from shopmind.content.repair import trim_to
from shopmind.content.scoring import salient_attributes
from shopmind.content.strip import segments

PHRASES: dict[str, dict[str, str]] = {
    "en": {
        "by": "{title} by {brand}",
        "shop": "Shop {thing}",
        "details": "Details",
        "about": "About the {title}",
        "hello": "Hello,",
        "see": "See the {title} in our shop.",
        "made_of": "What is the {title} made of?",
        "made_of_answer": "{material}.",
        "which": "Which {name} is the {title}?",
        "which_answer": "{value}.",
        "guide": "{title}: what to know",
        "list": ", ",
    },
    "zh": {
        "by": "{brand}{title}",
        "shop": "选购{thing}",
        "details": "商品详情",
        "about": "关于{title}",
        "hello": "您好，",
        "see": "欢迎到店选购{title}。",
        "made_of": "{title}是什么材质？",
        "made_of_answer": "{material}。",
        "which": "{title}的{name}是什么？",
        "which_answer": "{value}。",
        "guide": "{title}选购须知",
        "list": "，",
    },
}
_DIGIT = re.compile(r"\d")  # a number in a hashtag reads as a claim without its unit
_MATERIAL = re.compile(r"material|fabric|材质|面料", re.I)


class Facts:
    """The pieces the rules compose: title, brand, category, attributes, sentences."""

    def __init__(self, product: Mapping[str, Any], language: str) -> None:
        facts = ProductFacts.from_mapping(product)
        self.words = PHRASES.get(language, PHRASES["en"])
        self.title = " ".join(facts.title.split())
        self.brand = " ".join(facts.brand.split())
        category = facts.category
        if not isinstance(category, str):
            category = category[-1] if category else ""
        self.category = re.split(r"\s*[>/|›]\s*", str(category).strip())[-1] if category else ""
        self.attributes = [
            (name, _as_text(value, self.words["list"]))
            for name, value in salient_attributes(facts)
            if name != "brand"
        ]
        text = " ".join(facts.description.split("\n\n")[0].split()) if facts.description else ""
        self.paragraphs = [" ".join(p.split()) for p in facts.description.split("\n\n")
                           if p.strip()]  # fmt: skip
        self.sentences = [text[a:b].strip() for a, b in segments(text) if text[a:b].strip()]

    def phrase(self, key: str, **values: str) -> str:
        return self.words[key].format(**values)

    @property
    def named(self) -> str:
        """The title with the brand in front, unless the title already names it."""
        if self.brand and self.brand.casefold() not in self.title.casefold():
            return f"{self.brand} {self.title}".strip()
        return self.title

    def attribute_values(self, limit: int = 3) -> list[str]:
        """Short attribute values not already in the title."""
        seen = self.title.casefold()
        return [v for _, v in self.attributes if v.casefold() not in seen][:limit]


def _as_text(value: Any, sep: str) -> str:
    if isinstance(value, (list, tuple)):
        return sep.join(str(v) for v in value)
    return str(value)


def fit(text: str, limit: int, counter: str = "code_points") -> str:
    """``text`` cut at a word boundary to ``limit`` characters (empty if nothing fits)."""
    return trim_to(" ".join(text.split()), limit, COUNTERS[counter])


def joined(parts: Iterable[str], limit: int, sep: str = " ", counter: str = "code_points") -> str:
    """As many of ``parts`` (in order, skipping empty ones) as fit in ``limit``."""
    out = ""
    for part in parts:
        if not part:
            continue
        longer = f"{out}{sep}{part}" if out else part
        if COUNTERS[counter](longer) <= limit:
            out = longer
    return out


def _lead(f: Facts, limit: int) -> str:
    """The description's first sentences that fit ``limit``, or the title and its facts."""
    lead = joined(f.sentences, limit)
    if lead:
        return lead
    facts = f.words["list"].join(f.attribute_values())
    base = f.phrase("by", title=f.title, brand=f.brand) if f.brand else f.title
    return fit(f"{base}: {facts}." if facts else f"{base}.", limit)


def _slug(text: str, limit: int = 15) -> str:
    """Words of ``text`` joined by ``-`` (no numbers: "23-8" would read as a claim)."""
    words = [w for w in re.findall(r"[^\W_]+", text) if not _DIGIT.search(w)]
    return joined(words, limit, "-", "double_width")


def _hashtag(text: str) -> str:
    return "".join(w[:1].upper() + w[1:] for w in re.findall(r"[^\W_]+", text))


def _product_description(f: Facts) -> list[dict[str, Any]]:
    bullets = "\n".join(f"- {label(name)}: {value}" for name, value in f.attributes)
    body = "\n\n".join(f.paragraphs) or _lead(f, 300)
    out = []
    for text in (f"{body}\n\n{bullets}" if bullets else body, body):
        text = fit(text, 5000) if len(text) > 5000 else text
        out.append({"description": text, "html": to_html(text)})
    return out


def _titles(f: Facts, limit: int, counter: str = "code_points") -> list[str]:
    values = f.attribute_values()
    return [
        joined([f.named, *values], limit, f.words["list"], counter),
        fit(f.named, limit, counter),
        joined([f.title, f.category], limit, " | ", counter),
        fit(f.title, limit, counter),
    ]


def _tasks(f: Facts) -> dict[str, Callable[[], list[dict[str, Any]]]]:
    def seo() -> list[dict[str, Any]]:
        titles = [joined([f.title, f.brand], 60, " | "), joined([f.title, f.category], 60, " | "),
                  fit(f.named, 60)]  # fmt: skip
        return [{"title": t, "meta_description": _lead(f, 160)} for t in titles]

    def google_ads() -> list[dict[str, Any]]:
        heads = [fit(f.title, 30, "double_width"), fit(f.named, 30, "double_width"),
                 fit(f.brand, 30, "double_width"),
                 fit(f.phrase("shop", thing=f.category), 30, "double_width") if f.category else "",
                 *(fit(v, 30, "double_width") for v in f.attribute_values(5)),
                 fit(f.category, 30, "double_width")]  # fmt: skip
        heads = _distinct(heads)
        lines = _distinct([fit(s, 90, "double_width") for s in f.sentences]
                          + [fit(_lead(f, 90), 90, "double_width"),
                             joined(f.attribute_values(4), 90, f.words["list"], "double_width"),
                             fit(f.named, 90, "double_width")])  # fmt: skip
        paths = _distinct([_slug(f.category), _slug(f.title), _slug(f.brand)])
        if len(heads) < 3 or len(lines) < 2 or len(paths) < 2:
            return []
        return [
            {"headlines": heads[:15], "descriptions": lines[:4], "paths": paths[:2]},
            {"headlines": heads[:5], "descriptions": lines[:2], "paths": paths[-2:]},
        ]

    def meta_ad() -> list[dict[str, Any]]:
        return [{"primary_text": _lead(f, 125), "headline": t} for t in _titles(f, 40)]

    def email() -> list[dict[str, Any]]:
        details = "\n".join(f"- {label(name)}: {value}" for name, value in f.attributes)
        body = "\n\n".join(p for p in (f.phrase("hello"), " ".join(f.sentences) or _lead(f, 300),
                                       details, f.phrase("see", title=f.title)) if p)  # fmt: skip
        return [{"subject": t, "preview_text": _lead(f, 90), "body": body}
                for t in (fit(f.named, 50), fit(f.title, 50))]  # fmt: skip

    def social() -> list[dict[str, Any]]:
        words = [v for v in (f.brand, f.category, *f.attribute_values(3)) if not _DIGIT.search(v)]
        tags = _distinct([_hashtag(t) for t in words])
        post = _lead(f, 200)
        return [{"post": post, "hashtags": tags[:5] or [_hashtag(f.title)[:30]]}]

    def merchant_feed() -> list[dict[str, Any]]:
        description = "\n\n".join(f.paragraphs) or _lead(f, 1000)
        return [{"title": t, "description": fit(description, 5000)} for t in _titles(f, 150)]

    def amazon_title() -> list[dict[str, Any]]:
        strip = str.maketrans("", "", "!$?_{}^¬¦")
        return [{"title": " ".join(t.translate(strip).split())} for t in _titles(f, 200)]

    def article() -> list[dict[str, Any]]:
        sections = []
        if f.paragraphs or f.sentences:
            sections.append(
                {
                    "heading": f.phrase("about", title=f.title),
                    "body": "\n\n".join(f.paragraphs) or " ".join(f.sentences),
                }
            )
        if f.attributes:
            sections.append({"heading": f.words["details"], "body": "\n".join(
                f"- {label(name)}: {value}" for name, value in f.attributes)})  # fmt: skip
        faq = []
        for name, value in f.attributes[:4]:
            if _MATERIAL.search(name):
                faq.append(
                    {
                        "question": f.phrase("made_of", title=f.title),
                        "answer": f.phrase("made_of_answer", material=value),
                    }
                )
            else:
                faq.append({"question": f.phrase("which", name=label(name).lower(),
                                                 title=f.title),
                            "answer": f.phrase("which_answer", value=value)})  # fmt: skip
        if not sections:
            return []
        return [
            {
                "title": fit(f.phrase("guide", title=f.title), 150),
                "meta_description": _lead(f, 160),
                "sections": sections,
                "faq": faq,
            }
        ]

    return {
        "product-description": lambda: _product_description(f),
        "product-title": lambda: [{"title": t} for t in _titles(f, 80)],
        "seo": seo,
        "google-ads": google_ads,
        "meta-ad": meta_ad,
        "email": email,
        "social": social,
        "merchant-feed": merchant_feed,
        "amazon-title": amazon_title,
        "article": article,
    }


def _distinct(items: Iterable[str]) -> list[str]:
    seen: set[str] = set()
    out = []
    for item in items:
        key = " ".join(item.casefold().split())
        if item and key not in seen:
            seen.add(key)
            out.append(item)
    return out


def rules_variants(task: str, product: Mapping[str, Any], language: str = "en") -> list[dict]:
    """The facts writer's variants of ``task`` for ``product`` that pass the channel
    spec, distinct, best first (the fuller ones first)."""
    if task not in SPECS:
        raise ValueError(f"unknown task {task!r}")
    f = Facts(product, language)
    if not f.title:
        return []
    spec = SPECS[task]
    out, seen = [], set()
    for fields in _tasks(f)[task]():
        key = " ".join(str(sorted(fields.items())).casefold().split())
        if key in seen or not spec.passes(fields):
            continue
        seen.add(key)
        out.append(fields)
    return out
