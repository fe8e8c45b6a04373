"""Product questions ("is it waterproof?", "what is it made of?", "这件有大码吗") answered
from the catalog's own facts — and "not stated" when the catalog does not say.

The product is the one the shopper is looking at (the widget sends it) or the one the
question names (a product passage that the search ranks first with a strong similarity).
The property asked about is found by a small vocabulary of shop properties in English
and Chinese (material, colour, size, price, stock, care, waterproof …); the answer quotes
the attribute, variant option, tag or description sentence that states it. A yes/no
property nothing mentions is answered "not stated", never guessed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from shopmind.store.db import Store
from shopmind.store.models import Product
from shopmind.support.text import sentences

# property → words a question uses for it (English stems as search_tokens makes them, and
# Chinese words); "keys" are attribute or option names that hold it.
PROPERTIES: dict[str, dict[str, tuple[str, ...]]] = {
    "material": {"ask": ("material", "made of", "made from", "fabric", "cotton", "wool",
                         "leather", "材质",
                         "面料", "材料", "什么做"), "keys": ("material", "fabric", "composition")},
    "colour": {"ask": ("colour", "color", "colours", "colors", "颜色", "色"),
               "keys": ("color", "colour")},
    "size": {"ask": ("size", "sizes", "fit", "fits", "large", "small", "xl", "xxl", "尺码",
                     "大码", "尺寸", "码"), "keys": ("size", "sizes", "dimensions")},
    "price": {"ask": ("price", "cost", "much", "expensive", "cheap", "价格", "多少钱", "价钱"),
              "keys": ("price",)},
    "stock": {"ask": ("stock", "available", "availability", "sold", "有货", "库存", "缺货"),
              "keys": ("inventory", "stock")},
    "care": {"ask": ("wash", "washing", "care", "clean", "dry", "iron", "洗", "清洗", "保养"),
             "keys": ("care", "care instructions", "washing")},
    "weight": {"ask": ("weight", "weigh", "heavy", "light", "重量", "多重"), "keys": ("weight",)},
    "brand": {"ask": ("brand", "make", "maker", "manufacturer", "品牌"), "keys": ("brand",)},
    "warranty": {"ask": ("warranty", "guarantee", "保修", "质保"), "keys": ("warranty",)},
    "origin": {"ask": ("origin", "country", "made in", "where is it made", "产地", "哪里产"),
               "keys": ("origin", "country of origin", "made in")},
}  # fmt: skip
YES_NO = re.compile(
    r"\b(water ?proof|water[- ]resistant|wind ?proof|breathable|machine[- ]washable|"
    r"organic|vegan|recycled|hypoallergenic|dishwasher[- ]safe|adjustable|stretch\w*|"
    r"lined|padded|insulated|gluten[- ]free|bpa[- ]free|wireless|rechargeable|foldable)\b"
    r"|防水|防风|透气|机洗|有机|纯棉|可调节|加绒",
    re.IGNORECASE,
)


@dataclass
class ProductAnswer:
    product: str  # external id
    title: str
    property: str | None
    stated: bool
    facts: list[str] = field(default_factory=list)  # the catalog's words that answer it


def asked_property(question: str) -> str | None:
    """The property the question asks about, or None."""
    m = YES_NO.search(question)
    if m:
        return m.group().lower()
    low = question.lower()
    for name, spec in PROPERTIES.items():
        if any(_says(low, w) for w in spec["ask"]):
            return name
    return None


def _says(low: str, word: str) -> bool:
    if not word.isascii():
        return word in low
    return re.search(rf"\b{re.escape(word)}\b", low) is not None


def _facts(p: Product) -> dict[str, Any]:
    options: dict[str, list[str]] = {}
    in_stock = None
    for v in p.variants:
        for k, val in (v.options or {}).items():
            options.setdefault(str(k).lower(), [])
            if str(val) not in options[str(k).lower()]:
                options[str(k).lower()].append(str(val))
        if v.inventory is not None:
            in_stock = bool(in_stock) or v.inventory > 0
    if in_stock is None and p.inventory is not None:
        in_stock = p.inventory > 0
    attrs = {str(k).lower(): v for k, v in (p.attributes or {}).items()}
    return {"attrs": attrs, "options": options, "in_stock": in_stock}


def answer_product(store: Store, external_id: str, question: str) -> ProductAnswer | None:
    """What the catalog states about the property ``question`` asks of this product."""
    with store.session() as s:
        p = s.scalar(select(Product).where(Product.external_id == external_id))
        if p is None:
            return None
        prop = asked_property(question)
        out = ProductAnswer(p.external_id, p.title, prop, False)
        if prop is None:
            return out
        facts = _facts(p)
        out.facts = _stated(p, prop, facts)
        out.stated = bool(out.facts)
        return out


def _stated(p: Product, prop: str, facts: dict[str, Any]) -> list[str]:
    spec = PROPERTIES.get(prop)
    if spec is not None:
        found = _keyed(p, prop, spec["keys"], facts)
        if found:
            return found
        words = [w for w in spec["ask"] if len(w) > 2 or not w.isascii()]
    else:  # a yes/no property: its own words
        words = [prop, prop.replace(" ", ""), prop.replace(" ", "-")]
    return _mentions(p, words)


def _keyed(p: Product, prop: str, keys: tuple[str, ...], facts: dict[str, Any]) -> list[str]:
    if prop == "price" and p.price is not None:
        return [f"Price: {p.price:.2f} {p.currency}"]
    if prop == "stock" and facts["in_stock"] is not None:
        return ["In stock" if facts["in_stock"] else "Out of stock"]
    if prop == "brand" and p.brand:
        return [f"Brand: {p.brand}"]
    out = []
    for key in keys:
        if key in facts["attrs"] and str(facts["attrs"][key]).strip():
            out.append(f"{key.capitalize()}: {_value(facts['attrs'][key])}")
        if key in facts["options"]:
            out.append(f"{key.capitalize()}: {', '.join(facts['options'][key])}")
    return out


def _value(v: Any) -> str:
    return ", ".join(map(str, v)) if isinstance(v, list | tuple) else str(v)


def _mentions(p: Product, words: list[str]) -> list[str]:
    """Attribute values, tags and description sentences that use one of ``words``."""
    pattern = re.compile("|".join(re.escape(w) for w in words), re.IGNORECASE)
    out = [f"{str(k).capitalize()}: {_value(v)}" for k, v in (p.attributes or {}).items()
           if pattern.search(f"{k} {_value(v)}")]  # fmt: skip
    out += [f"Tag: {t}" for t in (p.tags or []) if pattern.search(str(t))]
    out += [s for s in sentences(p.description or "") if pattern.search(s)][:2]
    return out[:4]
