"""Serving rules: what may be recommended, in what order, with how much of one category.

Rules work on a model's scores over the whole catalog (one float per item code) and on
:class:`ItemTable`, the catalog facts the rules need (category, price, stock, title),
aligned to the same codes. :func:`pick` applies them in this order:

1. excluded items (already bought, the items being looked at, ids the caller excludes)
   and items the rules filter out (out of stock, other categories, outside a price range)
   are removed;
2. boosted items have their score's distance above a floor multiplied (``boost``; the
   floor lies one score-range below the lowest score, so the lowest item rises too),
   pinned items go first in the order given (when they pass the filters);
3. the best remaining items are taken in score order, at most ``max_per_category`` from
   one category (diversity).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class Filters:
    """The rules of one request. Item ids are the store's (strings)."""

    exclude_history: bool = True  # leave out what the shopper already has (bought/viewed)
    in_stock_only: bool = False
    categories: tuple[str, ...] = ()  # only items in these categories or under them
    min_price: float | None = None
    max_price: float | None = None
    max_per_category: int | None = None  # at most k items of one category
    exclude: tuple[str, ...] = ()
    pinned: tuple[str, ...] = ()  # first, in this order, when they pass the filters
    boost: Mapping[str, float] = field(default_factory=dict)  # score × factor

    def __post_init__(self) -> None:
        if self.max_per_category is not None and self.max_per_category < 1:
            raise ValueError("max_per_category must be at least 1")
        if (
            self.min_price is not None
            and self.max_price is not None
            and self.min_price > self.max_price
        ):
            raise ValueError(f"min_price {self.min_price} is above max_price {self.max_price}")
        if any(not (0 < f < float("inf")) for f in self.boost.values()):
            raise ValueError("boost factors must be positive and finite")


@dataclass
class ItemTable:
    """Catalog facts per item code: ``ids`` (store ids), titles, categories ("" when
    unknown), prices (NaN when unknown) and stock (True when unknown or untracked)."""

    ids: list[str]
    titles: list[str]
    categories: list[str]
    prices: np.ndarray  # (items,) float64
    in_stock: np.ndarray  # (items,) bool

    @classmethod
    def bare(cls, ids: Sequence[str]) -> ItemTable:
        """No facts: ids as titles, no categories, prices unknown, everything in stock."""
        n = len(ids)
        return cls(list(ids), list(ids), [""] * n, np.full(n, np.nan), np.ones(n, dtype=bool))

    def __len__(self) -> int:
        return len(self.ids)

    def top_category(self, code: int) -> str:
        return self.categories[code].split(">")[0].strip()

    def in_categories(self, wanted: Sequence[str]) -> np.ndarray:
        """(items,) bool: items in one of the ``wanted`` categories or under it. The
        distinct categories are matched once per table and set of categories (a catalog
        of 100k items has a few hundred), not once per item per request."""
        key = tuple(sorted(wanted))
        cache = self.__dict__.setdefault("_masks", {})
        if key not in cache:
            if "_unique" not in self.__dict__:
                unique, inverse = np.unique(np.asarray(self.categories, dtype=object),
                                            return_inverse=True)  # fmt: skip
                self.__dict__["_unique"] = ([_path(str(u)) for u in unique], inverse)
            paths, inverse = self.__dict__["_unique"]
            wanted_paths = [_path(c) for c in key]
            hits = np.fromiter(
                (any(p[: len(w)] == w for w in wanted_paths) for p in paths), bool, len(paths)
            )
            if len(cache) > 64:
                cache.clear()
            cache[key] = hits[inverse] if len(inverse) else np.zeros(0, dtype=bool)
        return cache[key]


def _path(category: str) -> list[str]:
    """``"Women > Tops"`` → ``["women", "tops"]``."""
    return [part.strip().casefold() for part in category.split(">") if part.strip()]


def allowed(table: ItemTable, filters: Filters) -> np.ndarray:
    """(items,) bool: the items the filters let through (exclusions aside)."""
    ok = np.ones(len(table), dtype=bool)
    if filters.in_stock_only:
        ok &= table.in_stock
    wanted = [c for c in filters.categories if c.strip()]
    if wanted:  # a category and everything under it: "Shoes" is not "Shoelaces"
        ok &= table.in_categories(wanted)
    with np.errstate(invalid="ignore"):
        if filters.min_price is not None:
            ok &= table.prices >= filters.min_price  # unknown prices (NaN) fail a price rule
        if filters.max_price is not None:
            ok &= table.prices <= filters.max_price
    return ok


def pick(
    scores: np.ndarray,
    n: int,
    table: ItemTable,
    filters: Filters,
    excluded: Sequence[int] = (),
    codes: Mapping[str, int] | None = None,
) -> list[int]:
    """The item codes to show, best first (at most ``n``), from ``scores`` (items,) under
    ``filters``; ``excluded`` codes (history, the items on the page) never come back."""
    if n < 1:
        raise ValueError("n must be at least 1")
    codes = codes if codes is not None else {item: i for i, item in enumerate(table.ids)}
    ok = allowed(table, filters)
    ok[np.asarray(list(excluded), dtype=np.int64)] = False
    for item in filters.exclude:
        if item in codes:
            ok[codes[item]] = False
    scores = np.where(ok, scores, -np.inf).astype(np.float64)
    boosted = [(codes[i], f) for i, f in filters.boost.items() if i in codes]
    boosted = [(c, f) for c, f in boosted if np.isfinite(scores[c])]
    if boosted:
        # a factor on the score's distance above a floor one score-range below the lowest
        # score, so every item (negative scores, the lowest one) rises with its factor
        finite = scores[np.isfinite(scores)]
        low, high = float(finite.min()), float(finite.max())
        floor = low - max(high - low, 1e-9)
        for code, factor in boosted:
            scores[code] = floor + (scores[code] - floor) * factor
    pinned: list[int] = []
    for item in filters.pinned:
        code = codes.get(item)
        if code is not None and ok[code] and code not in pinned:
            pinned.append(code)
    finite = int(np.isfinite(scores).sum())
    # candidates in score order; a category cap may need more than n of them
    want = min(finite, n * 4 if filters.max_per_category else n + len(pinned))
    while True:
        chosen = _capped(pinned, scores, want, n, table, filters.max_per_category)
        if len(chosen) >= n or want >= finite:
            return chosen
        want = min(finite, want * 4)


def _capped(
    pinned: list[int], scores: np.ndarray, want: int, n: int, table: ItemTable, cap: int | None
) -> list[int]:
    """Pinned codes, then the ``want`` best-scoring ones, at most ``cap`` per top
    category, ``n`` in all."""
    chosen: list[int] = []
    per_category: dict[str, int] = {}
    order: list[int] = list(pinned)
    if want > 0:
        top = np.argpartition(-scores, min(want, len(scores)) - 1)[:want]
        order += [int(c) for c in top[np.argsort(-scores[top], kind="stable")]]
    for code in order:
        if len(chosen) >= n:
            break
        if code in chosen or not (code in pinned or np.isfinite(scores[code])):
            continue
        if cap is not None:
            category = table.top_category(code)
            if per_category.get(category, 0) >= cap:
                continue
            per_category[category] = per_category.get(category, 0) + 1
        chosen.append(code)
    return chosen
