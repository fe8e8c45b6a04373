"""Site searches: what shoppers type into the store's search box, with trends built in.

A share of sessions (``SimulationConfig.search_share``) begins with GA4's ``search`` and
``view_search_results`` events carrying a ``search_term``, a few seconds before the first
listing. The term is drawn as follows:

- a **trend** term, each with a chance that changes linearly over the simulated days:
  ``RISING`` terms from ×1 on the first day to ×3 on the last, ``FALLING`` ones to ×1/3;
- else, now and then, a term for something the store does **not** sell (``NOT_SOLD``: none
  of their words is in any product title, category, brand, tag or description);
- else a term for what it sells: the product type or brand of a product in the category the
  shopper is about to browse, or, for some Chinese-speaking shoppers, that category's name
  in Chinese.

Every draw comes from the side stream (:func:`side_stream`), never the funnel's, so a seed's
sessions, orders and reviews are the same with searches on or off.
"""

from __future__ import annotations

from collections import Counter
from random import Random
from typing import Any

from shopmind.simulate.catalog import CATEGORIES, SimProduct
from shopmind.simulate.config import SimulationConfig

NOT_SOLD = ("swimsuit", "sunglasses", "umbrella", "yoga mat", "phone case")
NOT_SOLD_ZH = ("泳衣", "太阳镜", "雨伞")
# Category path → what a Chinese-speaking shopper types for it.
CATEGORY_ZH = {
    "Women > Dresses": "连衣裙",
    "Women > Tops": "女士上衣",
    "Women > Jeans": "牛仔裤",
    "Women > Knitwear": "针织衫",
    "Men > Shirts": "男士衬衫",
    "Men > T-Shirts": "T恤",
    "Men > Trousers": "男裤",
    "Men > Outerwear": "外套",
    "Shoes > Sneakers": "运动鞋",
    "Shoes > Boots": "靴子",
    "Accessories > Bags": "包",
    "Accessories > Scarves": "围巾",
    "Home > Bedding": "床上用品",
    "Home > Throws": "毯子",
    "Beauty > Skincare": "护肤品",
    "Beauty > Fragrance": "香水",
}
# Trend terms: a category the store sells (its name, as its products' tags spell it; another
# category when the catalog has none of it) and a thing it does not sell.
RISING = ("Shoes > Sneakers", "swimsuit")
FALLING = ("Women > Knitwear", "umbrella")
RISE, FALL = 3.0, 1 / 3  # a trend term's chance on the last day, relative to the first
TREND_CHANCE = 0.04  # a search's chance to be one given trend term, on the first day
NOT_SOLD_CHANCE = 0.08
ZH_CHANCE = 0.6  # a Chinese-speaking shopper's chance to type in Chinese
BRAND_CHANCE = 0.2  # a search for a sold product names its brand, else its product type


def side_stream(config: SimulationConfig) -> Random:
    """The random stream for what may be switched on or off (searches, the incident): its
    draws never shift the funnel's."""
    return Random(f"sessions-side:{config.seed}")


def _leaf(path: str) -> str:
    return path.split(" > ")[-1].lower()


class SiteSearch:
    """Draws a session's search term (or none), and tallies the terms searched."""

    def __init__(self, config: SimulationConfig, catalog: list[SimProduct], r: Random) -> None:
        self.share, self.days, self.r = config.search_share, config.days, r
        self.by_category: list[list[SimProduct]] = [[] for _ in CATEGORIES]
        for p in catalog:
            self.by_category[p.category].append(p)
        self.catalog = catalog
        present = [c for c, members in enumerate(self.by_category) if members]
        self.zh = {c: CATEGORY_ZH[CATEGORIES[c].path] for c in present}
        self.rising = [self._trend_term(RISING[0], present, 0), RISING[1]]
        falling = self._trend_term(FALLING[0], present, -1)
        self.falling = [t for t in (falling, FALLING[1]) if t not in self.rising]
        # (term, rising?) in a fixed order: the draw walks them
        self.trends = [(t, True) for t in self.rising] + [(t, False) for t in self.falling]
        self.realised: Counter[str] = Counter()
        self.sessions = 0

    @staticmethod
    def _trend_term(path: str, present: list[int], fallback: int) -> str:
        index = next(c for c, cat in enumerate(CATEGORIES) if cat.path == path)
        return _leaf(CATEGORIES[index if index in present else present[fallback]].path)

    def draw(self, day: int, category: int, chinese: bool) -> tuple[str, int, int] | None:
        """A session's search before its first listing (of ``category``), or ``None``:
        ``(term, seconds typing, seconds reading the results)``."""
        r = self.r
        if not self.share or r.random() >= self.share:
            return None
        term = self._term(day, category, chinese)
        self.realised[term] += 1
        self.sessions += 1
        return term, 1 + int(r.expovariate(1 / 4)), 2 + int(r.expovariate(1 / 8))

    def trend_factor(self, day: int, rising: bool) -> float:
        """A trend term's chance on ``day`` relative to the first day (linear in time)."""
        progress = day / (self.days - 1) if self.days > 1 else 0.0
        return 1 + ((RISE if rising else FALL) - 1) * progress

    def _term(self, day: int, category: int, chinese: bool) -> str:
        r = self.r
        u = r.random()
        for term, rising in self.trends:
            u -= TREND_CHANCE * self.trend_factor(day, rising)
            if u < 0:
                return term
        if r.random() < NOT_SOLD_CHANCE:
            return r.choice(NOT_SOLD_ZH if chinese and r.random() < ZH_CHANCE else NOT_SOLD)
        if chinese and category in self.zh and r.random() < ZH_CHANCE:
            return self.zh[category]
        product = r.choice(self.by_category[category] or self.catalog)
        return product.brand.lower() if r.random() < BRAND_CHANCE else product.facts["noun"].lower()

    @property
    def terms_sold(self) -> list[str]:
        """Every term for something the store sells that a search may draw."""
        terms = {t for p in self.catalog for t in (p.brand.lower(), p.facts["noun"].lower())}
        terms |= set(self.zh.values()) | {t for t, _ in self.trends if t not in NOT_SOLD}
        return sorted(terms)

    def truth(self) -> dict[str, Any]:
        """The ``searches`` part of the ground truth."""
        return {
            "share": self.share,
            "terms_sold": self.terms_sold,
            "terms_not_sold": [*NOT_SOLD, *NOT_SOLD_ZH],
            "rising": list(self.rising),
            "falling": list(self.falling),
            "trend": {"rising": [1.0, RISE], "falling": [1.0, round(FALL, 4)]},
            "sessions": self.sessions,
            "realised": dict(sorted(self.realised.items())),
        }
