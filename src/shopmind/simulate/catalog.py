"""The simulated catalog: categories, brands, products with attributes, variants and truth.

Every product carries its true quality and true aspect scores (0 = awful, 1 = superb):
``quality``, ``value`` (price for what you get), ``shipping``, ``size_fit`` (sized goods
only) and ``service``. Reviews are later drawn from these, so review models can be
checked against them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from random import Random
from typing import Any

from shopmind.simulate.config import SimulationConfig
from shopmind.simulate.text import BRANDS, COLORS, LINE_NAMES, ORIGINS, describe, seo_description

ASPECTS = ("quality", "value", "shipping", "size_fit", "service")

SIZE_SYSTEMS: dict[str, tuple[str, ...]] = {
    "alpha": ("XXS", "XS", "S", "M", "L", "XL", "XXL"),
    "waist": ("26", "28", "30", "32", "34", "36", "38"),
    "shoe": ("EU 36", "EU 37", "EU 38", "EU 39", "EU 40", "EU 41", "EU 42", "EU 43", "EU 44"),
    "one": ("One Size",),
    "volume": ("30 ml", "50 ml", "100 ml"),
    "bed": ("Single", "Double", "King"),
}


@dataclass(frozen=True)
class Category:
    path: str
    nouns: tuple[str, ...]
    materials: tuple[str, ...]
    sizes: str
    fits: tuple[str, ...]
    price: float  # median price
    features: tuple[str, ...]
    care: tuple[str, ...]
    grams: int
    weight: float = 1.0  # share of the catalog
    coloured: bool = True

    @property
    def department(self) -> str:
        return self.path.split(" > ")[0]


_WASH = ("machine wash cold and line dry", "wash at 30°C inside out", "hand wash only")
_DRY = ("dry clean only", "spot clean with a damp cloth")
CATEGORIES: tuple[Category, ...] = (
    Category("Women > Dresses", ("Wrap Dress", "Midi Dress", "Shirt Dress", "Slip Dress"),
             ("linen", "organic cotton", "viscose", "silk blend"), "alpha",
             ("relaxed", "regular", "fitted"), 89, ("a hidden side zip", "deep side pockets",
             "an adjustable tie waist", "covered buttons", "a lined bodice"), _WASH + _DRY[:1],
             420, 1.4),
    Category("Women > Tops", ("Blouse", "Camisole", "Tank", "Tunic"),
             ("organic cotton", "linen", "modal", "silk"), "alpha", ("relaxed", "regular"), 49,
             ("a rounded hem", "mother-of-pearl buttons", "a keyhole back", "French seams"),
             _WASH, 220, 1.3),
    Category("Women > Jeans", ("Straight Jean", "Wide-Leg Jean", "Skinny Jean"),
             ("rigid denim", "stretch denim", "organic denim"), "waist",
             ("high-rise", "mid-rise", "relaxed"), 95, ("a five-pocket design", "a button fly",
             "a raw hem", "reinforced rivets"), _WASH[:2], 650, 1.0),
    Category("Women > Knitwear", ("Cardigan", "Crew Sweater", "Turtleneck"),
             ("merino wool", "cashmere blend", "cotton knit", "alpaca blend"), "alpha",
             ("oversized", "regular", "cropped"), 110, ("ribbed cuffs", "a dropped shoulder",
             "a chunky cable knit", "horn buttons"), _WASH[2:] + _DRY[:1], 480, 1.0),
    Category("Men > Shirts", ("Oxford Shirt", "Overshirt", "Linen Shirt", "Flannel Shirt"),
             ("brushed cotton", "linen", "organic cotton", "flannel"), "alpha",
             ("slim", "regular", "relaxed"), 69, ("a button-down collar", "a chest pocket",
             "a curved hem", "a box pleat at the back"), _WASH, 330, 1.2),
    Category("Men > T-Shirts", ("Crew Tee", "Pocket Tee", "Henley"),
             ("heavyweight cotton", "organic cotton", "slub jersey"), "alpha",
             ("regular", "boxy", "slim"), 32, ("a ribbed collar", "a patch pocket",
             "twin-needle stitching", "a side-seam label"), _WASH[:2], 200, 1.3),
    Category("Men > Trousers", ("Chino", "Pleated Trouser", "Cargo Pant"),
             ("cotton twill", "wool blend", "ripstop cotton"), "waist",
             ("tapered", "straight", "relaxed"), 85, ("an extended tab closure",
             "hidden coin pocket", "a gusseted crotch", "pressed creases"), _WASH, 560, 1.0),
    Category("Men > Outerwear", ("Chore Jacket", "Parka", "Quilted Jacket", "Overcoat"),
             ("waxed cotton", "recycled nylon", "wool melton", "canvas"), "alpha",
             ("regular", "relaxed"), 190, ("a detachable hood", "storm cuffs",
             "a two-way zip", "an inner media pocket"), _DRY, 1100, 0.8),
    Category("Shoes > Sneakers", ("Court Sneaker", "Runner", "Canvas Low-Top"),
             ("full-grain leather", "recycled knit", "suede", "canvas"), "shoe",
             ("true to size", "narrow", "wide"), 105, ("a cushioned insole",
             "a natural rubber sole", "waxed cotton laces", "a padded collar"), _DRY[1:],
             900, 1.0),
    Category("Shoes > Boots", ("Chelsea Boot", "Lace-Up Boot", "Ankle Boot"),
             ("waxed leather", "suede", "nubuck"), "shoe", ("true to size", "wide"), 175,
             ("a Goodyear-welted sole", "elastic side panels", "a pull tab",
             "a lug sole for grip"), ("wipe clean and condition regularly",), 1400, 0.7),
    Category("Accessories > Bags", ("Tote Bag", "Crossbody Bag", "Backpack", "Weekender"),
             ("vegetable-tanned leather", "recycled canvas", "waxed canvas"), "one", (), 120,
             ("an inner zip pocket", "an adjustable strap", "a magnetic closure",
             "a padded laptop sleeve"), ("wipe clean with a soft cloth",), 700, 0.9),
    Category("Accessories > Scarves", ("Scarf", "Wrap", "Bandana"),
             ("lambswool", "cashmere blend", "silk twill", "cotton voile"), "one", (), 45,
             ("fringed edges", "a hand-rolled hem", "a reversible pattern"), _WASH[2:] + _DRY[:1],
             150, 0.6),
    Category("Home > Bedding", ("Duvet Cover", "Sheet Set", "Pillowcase Pair"),
             ("stonewashed linen", "cotton percale", "cotton sateen"), "bed", (), 140,
             ("hidden button closures", "corner ties", "deep-pocket fitted sheets",
             "an envelope closure"), _WASH[:1], 1200, 0.8),
    Category("Home > Throws", ("Throw Blanket", "Cushion Cover", "Quilt"),
             ("chunky wool", "cotton waffle", "recycled fleece"), "one", (), 75,
             ("tasselled ends", "a hidden zip", "a herringbone weave"), _WASH[2:], 800, 0.6),
    Category("Beauty > Skincare", ("Face Serum", "Day Cream", "Cleansing Balm", "Face Oil"),
             ("a lightweight gel base", "a rich cream base", "cold-pressed oils"), "volume", (),
             38, ("hyaluronic acid", "niacinamide", "squalane", "a fragrance-free formula"),
             ("store below 25°C and use within 12 months of opening",), 180, 0.9, False),
    Category("Beauty > Fragrance", ("Eau de Parfum", "Body Mist", "Solid Perfume"),
             ("an alcohol-free base", "natural essential oils", "a classic perfume base"),
             "volume", (), 65, ("notes of bergamot", "a cedarwood base", "hints of fig",
             "a refillable bottle"), ("keep away from direct sunlight",), 250, 0.6, False),
)  # fmt: skip


@dataclass
class SimProduct:
    """One product: what the store shows plus what only the simulator knows."""

    index: int
    external_id: str
    handle: str
    title: str
    brand: str
    category: int
    price: float
    compare_at_price: float | None
    facts: dict[str, Any]
    variants: list[dict[str, Any]]
    quality: float
    aspects: dict[str, float | None]
    popularity: float
    created_at: datetime
    description: str = ""
    description_html: str = ""
    tags: list[str] = field(default_factory=list)

    @property
    def in_stock(self) -> list[int]:
        return [i for i, v in enumerate(self.variants) if v["inventory"] > 0]

    @property
    def inventory(self) -> int:
        return sum(v["inventory"] for v in self.variants)


def _clip(x: float, lo: float = 0.02, hi: float = 0.98) -> float:
    return min(hi, max(lo, x))


def charm(price: float) -> float:
    """29.99-style price."""
    return max(0.99, round(max(1.0, round(price)) - 0.01, 2))


def build_catalog(config: SimulationConfig, r: Random) -> list[SimProduct]:
    """``config.products`` products; every category holds one before any holds two."""
    weights = [c.weight for c in CATEGORIES]
    products = []
    for i in range(config.products):
        cat = i if i < len(CATEGORIES) else r.choices(range(len(CATEGORIES)), weights)[0]
        products.append(_product(config, r, i, cat))
    if config.products >= 20:  # a few sell out
        for p in r.sample(products[1:], k=config.products // 30):
            for v in p.variants:
                v["inventory"] = 0
    if not products[0].in_stock:  # something must be buyable
        products[0].variants[0]["inventory"] = 10
    return products


def _brand(r: Random, category: Category) -> tuple[str, float, float, float, tuple[str, ...]]:
    options = [b for b in BRANDS if category.department in b[4]]
    return r.choice(options)


def _product(config: SimulationConfig, r: Random, i: int, cat_index: int) -> SimProduct:
    cat = CATEGORIES[cat_index]
    brand, tier, mean_q, fit_consistency, _ = _brand(r, cat)
    noun = r.choice(cat.nouns)
    material = r.choice(cat.materials)
    line = LINE_NAMES[(i * 7 + r.randrange(len(LINE_NAMES))) % len(LINE_NAMES)]
    title = f"{line} {noun}"
    price = charm(cat.price * tier * math.exp(r.gauss(0, 0.25)))
    compare_at = charm(price * r.uniform(1.15, 1.5)) if r.random() < 0.2 else None
    sizes = _sizes(r, cat.sizes)
    colors = r.sample(COLORS, k=r.choice((1, 2, 2, 3, 4))) if cat.coloured else []
    facts: dict[str, Any] = {
        "title": title,
        "brand": brand,
        "noun": noun,
        "material": material,
        "colors": colors,
        "sizes": sizes,
        "size_range": f"{sizes[0]}–{sizes[-1]}" if len(sizes) > 1 else sizes[0],
        "fit": r.choice(cat.fits) if cat.fits else None,
        "feature1": "",
        "feature2": "",
        "care": r.choice(cat.care),
        "origin": r.choice(ORIGINS),
    }
    facts["feature1"], facts["feature2"] = r.sample(cat.features, k=2)
    quality = _clip(r.betavariate(8 * mean_q, 8 * (1 - mean_q)))
    ext = f"SIM-P{i + 1:05d}"
    product = SimProduct(
        index=i,
        external_id=ext,
        handle=f"{title.lower().replace(' ', '-')}-{i + 1}",
        title=title,
        brand=brand,
        category=cat_index,
        price=price,
        compare_at_price=compare_at,
        facts=facts,
        variants=_variants(r, ext, price, compare_at, sizes, colors, cat.grams),
        quality=quality,
        aspects=_aspects(r, quality, price, cat, fit_consistency),
        popularity=math.exp(r.gauss(0, 0.8)) * (0.4 + quality),
        created_at=datetime.combine(config.start, datetime.min.time())
        - timedelta(days=r.randint(1, 400), seconds=r.randrange(86400)),
    )
    product.description, product.description_html = describe(r, facts)
    product.tags = _tags(product, cat)
    return product


def _sizes(r: Random, system: str) -> list[str]:
    scale = SIZE_SYSTEMS[system]
    if len(scale) <= 3:
        return list(scale)
    lo = r.randint(0, 2)
    hi = r.randint(max(lo + 3, len(scale) - 3), len(scale))
    return list(scale[lo:hi])


def _variants(
    r: Random,
    ext: str,
    price: float,
    compare_at: float | None,
    sizes: list[str],
    colors: list[str],
    grams: int,
) -> list[dict[str, Any]]:
    out = []
    for color in colors or [None]:
        for size in sizes:
            n = len(out) + 1
            options = {}
            if color and (len(colors) > 1 or len(sizes) == 1):
                options["Colour"] = color.title()
            if len(sizes) > 1:
                options["Size"] = size
            code = [ext.removeprefix("SIM-")]
            if color:
                code.append("".join(w[:3] for w in color.upper().split()))
            code.append(size.upper().replace(" ", ""))
            out.append(
                {
                    "external_id": f"{ext}-V{n:02d}",
                    "position": n,
                    "sku": "-".join(code),
                    "title": " / ".join(options.values()) or "Default Title",
                    "options": options,
                    "price": price,
                    "compare_at_price": compare_at,
                    "inventory": 0 if r.random() < 0.06 else 1 + int(r.expovariate(1 / 30)),
                    "weight_grams": float(grams),
                }
            )
    return out


def _aspects(
    r: Random, quality: float, price: float, cat: Category, fit_consistency: float
) -> dict[str, float | None]:
    value = 0.5 + 0.8 * (quality - 0.5) - 0.35 * math.log(price / cat.price) + r.gauss(0, 0.08)
    heavy = 0.08 if cat.grams >= 1000 else 0.0
    return {
        "quality": round(quality, 4),
        "value": round(_clip(value), 4),
        "shipping": round(_clip(0.74 - heavy + r.gauss(0, 0.1)), 4),
        "size_fit": round(_clip(fit_consistency + r.gauss(0, 0.12)), 4) if cat.fits else None,
        "service": round(_clip(0.72 + r.gauss(0, 0.07)), 4),
    }


def _tags(p: SimProduct, cat: Category) -> list[str]:
    dept, leaf = cat.path.split(" > ")
    material = p.facts["material"].removeprefix("a ").removeprefix("an ")
    tags = [dept.lower(), leaf.lower(), material]
    tags += p.facts["colors"]
    if p.facts["fit"]:
        tags.append(p.facts["fit"])
    if p.compare_at_price:
        tags.append("sale")
    return tags


def product_row(p: SimProduct, config: SimulationConfig) -> dict[str, Any]:
    """The ``products`` table row of a simulated product."""
    cat = CATEGORIES[p.category]
    attributes = {
        k: p.facts[k]
        for k in ("material", "colors", "sizes", "size_range", "fit", "care", "origin")
        if p.facts[k]
    }
    attributes["features"] = [p.facts["feature1"], p.facts["feature2"]]
    return {
        "external_id": p.external_id,
        "title": p.title,
        "description": p.description,
        "description_html": p.description_html,
        "brand": p.brand,
        "category": cat.path,
        "product_type": p.facts["noun"],
        "price": p.price,
        "compare_at_price": p.compare_at_price,
        "currency": config.currency,
        "inventory": p.inventory,
        "attributes": attributes,
        "tags": p.tags,
        "seo_title": f"{p.title} – {p.brand}"[:70],
        "seo_description": seo_description(p.description),
        "image_url": f"https://shop.example.com/images/{p.handle}.jpg",
        "status": "active",
        "source": "simulate",
        "created_at": p.created_at,
        "updated_at": p.created_at,
    }


def variant_rows(p: SimProduct, product_id: int) -> list[dict[str, Any]]:
    """The ``variants`` table rows of a simulated product stored as ``product_id``."""
    return [{**v, "product_id": product_id} for v in p.variants]
