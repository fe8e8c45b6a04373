"""One shopping session walking the GA4 e-commerce funnel, with drop-offs.

(search → view_search_results) → view_item_list → select_item → view_item (repeated while
browsing) → add_to_cart → (remove_from_cart) → begin_checkout → add_payment_info → purchase.

Whether a session buys is decided first, from the channel's true rate, the shopper's
intent and the device; a buying session walks the whole funnel, the others stop at a
stage drawn from device-specific drop-off rates. Rows come out in the exact shape of
``shopmind.store.events.normalize_event``'s output. Site searches and the checkout incident
draw from a side stream (:mod:`shopmind.simulate.searches`), so switching them on or off
leaves the funnel's own draws alone.
"""

from __future__ import annotations

from bisect import bisect
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import accumulate
from random import Random
from typing import Any
from urllib.parse import quote_plus

import numpy as np

from shopmind.simulate.catalog import CATEGORIES, SimProduct
from shopmind.simulate.config import DEVICES, SimulationConfig
from shopmind.simulate.reviews import ReviewDraft, compose, experience, rating, review_chance
from shopmind.simulate.searches import SiteSearch, side_stream
from shopmind.simulate.shoppers import (
    OWN_CHANNEL,
    OWN_DEVICE,
    SENSITIVITY_BUCKETS,
    Shoppers,
    channel_mix,
    device_factors,
    device_mix,
)

SITE = "https://shop.example.com"
# Per device (mobile, desktop, tablet): chance to browse one more item, to leave after
# the first listing, to add to cart without buying, then to go on to checkout and payment.
MORE_BROWSING = (0.45, 0.6, 0.55)
BOUNCE = (0.4, 0.28, 0.33)
CART = (0.12, 0.09, 0.1)
CHECKOUT = (0.35, 0.5, 0.42)
PAYMENT = (0.45, 0.6, 0.5)
DWELL = (30.0, 45.0, 40.0)  # mean seconds on a product page
FREE_SHIPPING, SHIPPING_FEE = 75.0, 5.95


@dataclass
class Batch:
    """Rows generated since the last flush; ids of other tables are resolved on write."""

    day: int
    events: list[dict[str, Any]] = field(default_factory=list)
    customers: list[dict[str, Any]] = field(default_factory=list)
    orders: list[tuple[dict[str, Any], str, list[dict[str, Any]]]] = field(default_factory=list)
    reviews: list[ReviewDraft] = field(default_factory=list)
    day_done: bool = False


class Funnel:
    """Generates sessions, customers, orders and reviews; keeps the realised tallies."""

    def __init__(
        self,
        config: SimulationConfig,
        r: Random,
        catalog: list[SimProduct],
        shoppers: Shoppers,
    ) -> None:
        self.config, self.r, self.catalog, self.s = config, r, catalog, shoppers
        self.side = side_stream(config)  # searches and the incident: never shifts ``r``
        self.search = SiteSearch(config, catalog, self.side)
        self.t0 = datetime.combine(config.start, datetime.min.time())
        self.epoch0 = int((self.t0 - datetime(1970, 1, 1)).total_seconds())
        self.prefix = f"sim-{config.seed}-{config.fingerprint}-"
        self.channels = [(c.source, c.medium, c.campaign) for c in config.channels]
        self.rates = [c.conversion_rate for c in config.channels]
        self.dev_factor = device_factors(config).tolist()
        self.dev_cum = [list(accumulate(row)) for row in device_mix(config).tolist()]
        self.mix = {b: list(accumulate(channel_mix(config, b).tolist())) for b in (False, True)}
        self.emailish = [c.medium == "email" for c in config.channels]
        self._products(catalog)
        self._shopper_columns(shoppers)
        # the current session: user, session id, customer, source, medium, campaign, device
        self.ctx: tuple[Any, ...] = ()
        self.n_events = self.n_sessions = self.n_orders = self.n_customers = self.n_reviews = 0
        self.n_failed = 0  # buyers the incident stopped at payment
        self.customer_of: dict[int, str] = {}
        self.email_of: dict[str, str] = {}
        self.pending: dict[int, list[ReviewDraft]] = defaultdict(list)
        self.review_truth: dict[str, dict[str, Any]] = {}
        nc, nd, ns, npd = len(config.channels), len(DEVICES), len(shoppers), len(catalog)
        self.ch_sessions, self.ch_purchases, self.ch_revenue = [0] * nc, [0] * nc, [0.0] * nc
        self.dev_sessions, self.dev_purchases = [0] * nd, [0] * nd
        self.sh_sessions, self.sh_orders, self.sh_revenue = [0] * ns, [0] * ns, [0.0] * ns
        self.p_views, self.p_units = [0] * npd, [0] * npd
        self.by_name: dict[str, int] = defaultdict(int)
        self.revenue = 0.0

    # -- set-up ---------------------------------------------------------------------------

    def _products(self, catalog: list[SimProduct]) -> None:
        self.item = [
            {"item_id": p.external_id, "price": p.price, "item_name": p.title} for p in catalog
        ]
        self.page = [f"{SITE}/products/{p.handle}" for p in catalog]
        self.stock = [p.in_stock for p in catalog]
        self.buy_weight = [0.4 + p.quality for p in catalog]
        self.cat_page = [
            f"{SITE}/collections/{c.path.lower().replace(' > ', '-').replace(' ', '-')}"
            for c in CATEGORIES
        ]
        # per category and price-sensitivity bucket: product indices and cumulative weights
        self.lists: list[list[tuple[list[int], list[float]]]] = []
        for ci, cat in enumerate(CATEGORIES):
            members = [p for p in catalog if p.category == ci and p.in_stock]
            per_bucket = []
            for b in range(SENSITIVITY_BUCKETS):
                elasticity = 2.5 * (b + 0.5) / SENSITIVITY_BUCKETS
                w = [p.popularity * (p.price / cat.price) ** -elasticity for p in members]
                per_bucket.append(([p.index for p in members], list(accumulate(w))))
            self.lists.append(per_bucket)

    def _shopper_columns(self, s: Shoppers) -> None:
        self.intent = s.intent.tolist()
        self.own_channel = s.channel.tolist()
        self.own_device = s.device.tolist()
        self.subscribed = s.subscribed.tolist()
        self.anonymous = s.anonymous.tolist()
        self.early = s.early_register.tolist()
        self.bucket = np.minimum(
            (s.sensitivity * SENSITIVITY_BUCKETS).astype(int), SENSITIVITY_BUCKETS - 1
        ).tolist()

    # -- one session ----------------------------------------------------------------------

    def session(self, i: int, day: int, second: int, out: Batch) -> None:
        """Shopper ``i`` visits on ``day`` at ``second`` after midnight."""
        r = self.r
        if r.random() < OWN_CHANNEL:
            ch = self.own_channel[i]
        else:
            cum = self.mix[self.subscribed[i]]
            ch = min(bisect(cum, r.random() * cum[-1]), len(cum) - 1)
        if r.random() < OWN_DEVICE:
            dev = self.own_device[i]
        else:
            cum = self.dev_cum[ch]
            dev = min(bisect(cum, r.random() * cum[-1]), len(cum) - 1)
        buys = r.random() < self.rates[ch] * self.intent[i] * self.dev_factor[ch][dev]
        t = self.epoch0 + day * 86400 + second
        self.n_sessions += 1
        customer = self.customer_of.get(i)
        if customer is None and self.early[i]:
            customer = self._new_customer(i, self._ts(t), out)
        self.ctx = (
            self.s.pseudo_id[i],
            f"{t}-{self.n_sessions}",
            None if self.anonymous[i] else customer,
            *self.channels[ch],
            DEVICES[dev],
        )
        self.ch_sessions[ch] += 1
        self.dev_sessions[dev] += 1
        self.sh_sessions[i] += 1
        viewed, t = self._browse(i, dev, buys, t, out)
        if not viewed:
            return
        cart, t = self._cart(dev, buys, viewed, t, out)
        if not cart:
            return
        value = round(sum(self.item[j]["price"] * q for j, _, q in cart), 2)
        items = [self._line_item(j, q) for j, _, q in cart]
        for name, chance in (("begin_checkout", CHECKOUT), ("add_payment_info", PAYMENT)):
            if not buys and r.random() >= chance[dev]:
                return
            t += 15 + int(r.expovariate(1 / 60))
            self._emit(out, name, t, items, value, f"{SITE}/checkouts/{name}")
        if not buys:  # reached payment, then left
            return
        if day == self.config.incident_day and self.side.random() < self.config.incident_drop:
            self.n_failed += 1  # the checkout is broken today: a buyer leaves at payment
            return
        t += 5 + int(r.expovariate(1 / 20))
        self._purchase(i, ch, dev, day, t, cart, items, out)

    def _browse(self, i: int, dev: int, buys: bool, t: int, out: Batch) -> tuple[list[int], int]:
        r, viewed = self.r, []
        prefs = self.s.prefs[i]
        top = float(prefs[-1])
        while True:
            cat = int(prefs.searchsorted(r.random() * top, side="right"))
            cat = min(cat, len(prefs) - 1)
            if not viewed:
                self._search(i, cat, t, out)
            listed = self._listing(cat, self.bucket[i])
            items = [self.item[j] for j in listed]
            self._emit(out, "view_item_list", t, items, None, self.cat_page[cat])
            if not viewed and not buys and r.random() < BOUNCE[dev]:
                return viewed, t
            k = min(int(r.expovariate(1.2)), len(listed) - 1)  # earlier positions more likely
            j = listed[k]
            t += 4 + int(r.expovariate(1 / 20))
            self._emit(out, "select_item", t, [self.item[j]], None, self.cat_page[cat])
            t += 1 + int(r.expovariate(0.5))
            self._emit(out, "view_item", t, [self.item[j]], self.item[j]["price"], self.page[j])
            self.p_views[j] += 1
            viewed.append(j)
            t += 8 + int(r.expovariate(1 / DWELL[dev]))
            if len(viewed) >= 12 or r.random() >= MORE_BROWSING[dev]:
                return viewed, t

    def _search(self, i: int, cat: int, t: int, out: Batch) -> None:
        """Perhaps a site search just before the first listing (at ``t``), on the same day."""
        day = (t - self.epoch0) // 86400
        found = self.search.draw(day, cat, self.s.language[i] == "zh")
        if found is None:
            return
        term, typing, reading = found
        midnight = self.epoch0 + day * 86400
        results = max(midnight, t - reading)
        typed = max(midnight, results - typing)
        self._emit(out, "search", typed, None, None, f"{SITE}/", term=term)
        page = f"{SITE}/search?q={quote_plus(term)}"
        self._emit(out, "view_search_results", results, None, None, page, term=term)

    def _listing(self, cat: int, bucket: int) -> list[int]:
        """Up to ``list_size`` distinct products of a category, by popularity and price fit."""
        members, cum = self.lists[cat][bucket]
        want = min(self.config.list_size, len(members))
        top, r, picked = cum[-1], self.r, []
        for _ in range(4 * want):
            j = members[min(bisect(cum, r.random() * top), len(members) - 1)]
            if j not in picked:
                picked.append(j)
                if len(picked) == want:
                    break
        return picked

    def _cart(
        self, dev: int, buys: bool, viewed: list[int], t: int, out: Batch
    ) -> tuple[list[tuple[int, int, int]], int]:
        r = self.r
        distinct = list(dict.fromkeys(viewed))
        if buys:
            k = min(len(distinct), 1 + (r.random() < 0.35) + (r.random() < 0.12))
            keyed = sorted(distinct, key=lambda j: -(r.random() ** (1 / self.buy_weight[j])))
            chosen = keyed[:k]
        elif r.random() < CART[dev]:
            chosen = [distinct[r.randrange(len(distinct))]]
        else:
            return [], t
        cart = []
        for j in chosen:
            stock = self.stock[j]
            qty = 2 if r.random() < 0.08 else 1
            cart.append((j, stock[r.randrange(len(stock))], qty))
            t += 5 + int(r.expovariate(1 / 15))
            item = self._line_item(j, qty)
            self._emit(out, "add_to_cart", t, [item], round(item["price"] * qty, 2), self.page[j])
        drop = 0.2 if buys and len(cart) >= 2 else 0.15 if not buys else 0.0
        if r.random() < drop:
            j, _, qty = cart.pop(r.randrange(len(cart)))
            t += 10 + int(r.expovariate(1 / 30))
            item = self._line_item(j, qty)
            self._emit(
                out, "remove_from_cart", t, [item], round(item["price"] * qty, 2), f"{SITE}/cart"
            )
        return cart, t

    def _line_item(self, j: int, qty: int) -> dict[str, Any]:
        base = self.item[j]
        return {
            "item_id": base["item_id"],
            "price": base["price"],
            "quantity": qty,
            "item_name": base["item_name"],
        }

    def _ts(self, t: int) -> datetime:
        return self.t0 + timedelta(seconds=t - self.epoch0)

    def _emit(
        self,
        out: Batch,
        name: str,
        t: int,
        items: list[dict[str, Any]] | None,
        value: float | None,
        page: str,
        term: str | None = None,
        transaction: str | None = None,
    ) -> None:
        user, session, customer, source, medium, campaign, device = self.ctx
        self.by_name[name] += 1
        out.events.append(
            {
                "name": name,
                "ts": self.t0 + timedelta(seconds=t - self.epoch0),  # _ts, inlined: hot path
                "user_id": user,
                "session_id": session,
                "customer_id": customer,
                "items": items,
                "item_id": items[0]["item_id"] if items else None,
                "value": value,
                "currency": self.config.currency,
                "transaction_id": transaction,
                "source": source,
                "medium": medium,
                "campaign": campaign,
                "device": device,
                "page": page,
                "search_term": term,
                "event_id": f"{self.prefix}{self.n_events}",
            }
        )
        self.n_events += 1

    # -- customers, orders, reviews -------------------------------------------------------

    def _new_customer(self, i: int, ts: datetime, out: Batch) -> str:
        s = self.s
        self.n_customers += 1
        ext = f"SIM-C{self.n_customers:07d}"
        email = self.email_of[ext] = f"{s.email_name[i]}{self.n_customers}@example.com"
        out.customers.append(
            {
                "external_id": ext,
                "email": email,
                "first_name": s.first_name[i],
                "last_name": s.last_name[i],
                "country": s.country[i],
                "city": s.city[i],
                "accepts_marketing": bool(self.subscribed[i]),
                "attributes": {"language": s.language[i]},
                "created_at": ts,
            }
        )
        self.customer_of[i] = ext
        return ext

    def _purchase(
        self,
        i: int,
        ch: int,
        dev: int,
        day: int,
        t: int,
        cart: list[tuple[int, int, int]],
        items: list[dict[str, Any]],
        out: Batch,
    ) -> None:
        r, ts = self.r, self._ts(t)
        customer = self.customer_of.get(i) or self._new_customer(i, ts, out)
        if not self.anonymous[i]:  # registered shoppers are logged in from checkout on
            self.ctx = (*self.ctx[:2], customer, *self.ctx[3:])
        self.n_orders += 1
        order_id = f"SIM-O{self.n_orders:07d}"
        code = 0.1 if r.random() < (0.3 if self.emailish[ch] else 0.06) else 0.0
        lines, subtotal, discount = [], 0.0, 0.0
        for n, (j, v, qty) in enumerate(cart, start=1):
            p = self.catalog[j]
            gross = round(p.price * qty, 2)
            cut = round(gross * code, 2)
            subtotal, discount = subtotal + gross, discount + cut
            variant = p.variants[v]
            lines.append(
                {"line_no": n, "product": j, "variant": v, "sku": variant["sku"],
                 "title": f"{p.title} - {variant['title']}", "quantity": qty,
                 "price": p.price, "discount": cut}
            )  # fmt: skip
            self.p_units[j] += qty
        subtotal, discount = round(subtotal, 2), round(discount, 2)
        shipping = 0.0 if subtotal >= FREE_SHIPPING else SHIPPING_FEE
        total = round(subtotal - discount + shipping, 2)
        source, medium, campaign = self.channels[ch]
        order = {
            "external_id": order_id,
            "email": self.email_of[customer],
            "created_at": ts,
            "currency": self.config.currency,
            "subtotal": subtotal,
            "discount": discount,
            "shipping": shipping,
            "tax": 0.0,
            "total": total,
            "financial_status": "paid",
            "fulfillment_status": "fulfilled" if day < self.config.days - 2 else "unfulfilled",
            "source": source,
            "medium": medium,
            "campaign": campaign,
            "session_id": self.ctx[1],
            "cancelled_at": None,
        }
        out.orders.append((order, customer, lines))
        thanks = f"{SITE}/checkouts/thank-you"
        self._emit(out, "purchase", t, items, total, thanks, transaction=order_id)
        self.ch_purchases[ch] += 1
        self.ch_revenue[ch] += total
        self.dev_purchases[dev] += 1
        self.sh_orders[i] += 1
        self.sh_revenue[i] += total
        self.revenue += total
        for j in dict.fromkeys(j for j, _, _ in cart):
            self._maybe_review(i, j, customer, ts)

    def _maybe_review(self, i: int, j: int, customer: str, bought: datetime) -> None:
        r, product = self.r, self.catalog[j]
        felt = experience(r, product)
        if r.random() >= review_chance(self.config.review_rate, felt):
            return
        written = bought + timedelta(days=2 + int(r.expovariate(1 / 6)), seconds=r.randrange(86400))
        day = (written - self.t0).days
        stars = rating(r, felt)
        language = self.s.language[i]
        title, body, aspects = compose(r, product, language, felt, stars)
        if day >= self.config.days:  # not written yet when the simulation ends
            return
        self.n_reviews += 1
        first, last = self.s.first_name[i], self.s.last_name[i]
        author = f"{last}{first}" if language == "zh" else f"{first} {last[0]}."
        draft = ReviewDraft(
            f"SIM-R{self.n_reviews:07d}", j, customer, author, stars, title, body, language,
            written, aspects,
        )  # fmt: skip
        self.pending[day].append(draft)
        self.review_truth[draft.external_id] = {
            "product": product.external_id,
            "rating": stars,
            "language": language,
            "aspects": aspects,
            "experienced": {a: round(v, 3) for a, v in felt.items()},
        }
