"""Run a simulation: day by day, streamed to the store in batches, truth written beside it."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from random import Random
from typing import Any

import numpy as np

from shopmind.simulate.catalog import build_catalog, product_row, variant_rows
from shopmind.simulate.config import SimulationConfig
from shopmind.simulate.pages import help_centre
from shopmind.simulate.sessions import Batch, Funnel
from shopmind.simulate.shoppers import build_shoppers
from shopmind.simulate.truth import build_truth, write_truth
from shopmind.store.daily import orders_changing, refresh_sales
from shopmind.store.db import Store
from shopmind.store.events import write_events
from shopmind.store.models import Customer, Event, Order, OrderLine, Page, Product, Review, Variant
from shopmind.store.writer import id_map, upsert

WEEKLY = (0.97, 0.94, 0.95, 0.97, 0.93, 1.08, 1.16)  # Monday first; mean 1
HOURS = np.array(
    [0.6, 0.4, 0.3, 0.25, 0.25, 0.35, 0.6, 1.0, 1.3, 1.4, 1.45, 1.5,
     1.6, 1.5, 1.45, 1.45, 1.5, 1.6, 1.8, 2.0, 2.1, 1.9, 1.5, 1.0]
)  # fmt: skip
HOURS = HOURS / HOURS.sum()


class SimulationError(ValueError):
    """The simulation cannot run as asked (e.g. the store holds other data)."""


def seasonality(config: SimulationConfig) -> list[float]:
    """Traffic multiplier per day: weekly rhythm times a yearly swell peaking mid-December."""
    out = []
    for d in range(config.days):
        day = config.start + timedelta(days=d)
        yearly = 1 + 0.2 * math.cos(2 * math.pi * (day.timetuple().tm_yday - 350) / 365.25)
        out.append(WEEKLY[day.weekday()] * yearly)
    return out


class Simulation:
    """A seeded store: catalog, help centre and shoppers up front, then sessions day by day.

    >>> sim = Simulation(SimulationConfig(customers=50, days=3, products=20))
    >>> events = [e for batch in sim.batches() for e in batch.events]
    """

    def __init__(self, config: SimulationConfig) -> None:
        self.config = config
        self.r = Random(config.seed)
        self.rng = np.random.default_rng(config.seed)
        self.catalog = build_catalog(config, self.r)
        self.help_centre = help_centre(config)  # its own draws: the catalog's are unchanged
        self.shoppers = build_shoppers(config, self.rng, self.catalog)
        self.funnel = Funnel(config, self.r, self.catalog, self.shoppers)
        self.season = seasonality(config)
        self._started = False

    @property
    def first_event_id(self) -> str:
        return f"{self.funnel.prefix}0"

    def batches(self) -> Iterator[Batch]:
        """Rows in batches of about ``batch_size`` events; the last of each day is marked."""
        if self._started:
            raise SimulationError("a Simulation runs once; make a new one to run again")
        self._started = True
        for day in range(self.config.days):
            out = Batch(day, reviews=self.funnel.pending.pop(day, []))
            for shopper, second in self._visits(day):
                self.funnel.session(shopper, day, second, out)
                if len(out.events) >= self.config.batch_size:
                    yield out
                    out = Batch(day)
            out.day_done = True
            yield out

    def _visits(self, day: int) -> Iterator[tuple[int, int]]:
        """(shopper, second after midnight) of each session that day, in time order."""
        s = self.shoppers
        active = (s.arrival <= day) & (day < s.leave)
        counts = self.rng.poisson(s.visit_rate * self.season[day] * active)
        nonzero = np.flatnonzero(counts)
        who = np.repeat(nonzero, counts[nonzero])
        hours = self.rng.choice(24, size=len(who), p=HOURS)
        seconds = hours * 3600 + self.rng.integers(0, 3600, size=len(who))
        order = np.lexsort((who, seconds))
        return zip(who[order].tolist(), seconds[order].tolist(), strict=True)

    def truth(self, lazy: bool = False) -> dict[str, Any]:
        """The ground truth: design parameters and the realised numbers, JSON-ready.

        With ``lazy``, ``truth["customers"]`` is an iterator (see ``write_truth``).
        """
        return build_truth(self, lazy=lazy)


def iter_events(config: SimulationConfig) -> Iterator[dict[str, Any]]:
    """Event rows, lazily, in the shape of ``normalize_event``'s output (no store needed)."""
    for batch in Simulation(config).batches():
        yield from batch.events


@dataclass
class SimulationResult:
    """What a run wrote: counts per table, time span, revenue and where the truth went."""

    config: SimulationConfig
    counts: dict[str, int]
    first_ts: datetime | None
    last_ts: datetime | None
    revenue: float
    truth_path: Path | None
    seconds: float
    channels: dict[str, dict[str, Any]] = field(default_factory=dict)

    def summary(self) -> str:
        c = self.counts
        span = (
            f"{self.first_ts:%Y-%m-%d} → {self.last_ts:%Y-%m-%d}"
            if self.first_ts and self.last_ts
            else "no events"
        )
        lines = [
            f"simulated {c['products']:,} products ({c['variants']:,} variants), "
            f"{c['customers']:,} customers, {c['orders']:,} orders "
            f"({c['order_lines']:,} lines), {c['events']:,} events, {c['reviews']:,} reviews, "
            f"{c['pages']:,} help pages",
            f"{span}; revenue {self.revenue:,.2f} {self.config.currency}; "
            f"seed {self.config.seed}; {self.seconds:.1f} s "
            f"({c['events'] / max(self.seconds, 1e-9):,.0f} events/s)",
        ]
        if self.truth_path:
            lines.append(f"ground truth: {self.truth_path}")
        return "\n".join(lines)


class _Writer:
    """Writes batches through the store's write path, resolving natural keys to row ids;
    the daily aggregates follow in each batch's transaction (:mod:`shopmind.store.daily`)."""

    def __init__(self, store: Store, sim: Simulation) -> None:
        self.store, self.sim = store, sim
        self.customer_ids: dict[str, int] = {}
        self.counts = dict.fromkeys(
            ("products", "variants", "customers", "orders", "order_lines", "events", "reviews"), 0
        )
        self.first_ts: datetime | None = None
        self.last_ts: datetime | None = None

    def catalog(self) -> None:
        config, catalog = self.sim.config, self.sim.catalog
        with self.store.connect() as conn:
            upsert(conn, Product, [product_row(p, config) for p in catalog])
            ids = id_map(conn, Product, [p.external_id for p in catalog])
            variants = [v for p in catalog for v in variant_rows(p, ids[p.external_id])]
            upsert(conn, Variant, variants)
            vids = id_map(conn, Variant, [v["external_id"] for v in variants])
            upsert(conn, Page, self.sim.help_centre.pages)
        self.product_ids = [ids[p.external_id] for p in catalog]
        self.variant_ids = [[vids[v["external_id"]] for v in p.variants] for p in catalog]
        self.counts["products"], self.counts["variants"] = len(catalog), len(variants)
        self.counts["pages"] = len(self.sim.help_centre.pages)

    def write(self, batch: Batch) -> None:
        with self.store.connect() as conn:
            if batch.customers:
                upsert(conn, Customer, batch.customers)
                keys = [c["external_id"] for c in batch.customers]
                self.customer_ids.update(id_map(conn, Customer, keys))
            if batch.orders:
                self._orders(conn, batch)
            if batch.reviews:
                upsert(conn, Review, [self._review(d) for d in batch.reviews])
            write_events(conn, batch.events)
        self._count(batch)

    def _orders(self, conn: Any, batch: Batch) -> None:
        rows = [{**o, "customer_id": self.customer_ids[c]} for o, c, _ in batch.orders]
        days = orders_changing(conn, [o["external_id"] for o in rows])
        upsert(conn, Order, rows)
        order_ids = id_map(conn, Order, [o["external_id"] for o in rows])
        lines = [
            {
                "order_id": order_ids[o["external_id"]],
                "line_no": ln["line_no"],
                "product_id": self.product_ids[ln["product"]],
                "variant_id": self.variant_ids[ln["product"]][ln["variant"]],
                "sku": ln["sku"],
                "title": ln["title"],
                "quantity": ln["quantity"],
                "price": ln["price"],
                "discount": ln["discount"],
            }
            for o, _, order_lines in batch.orders
            for ln in order_lines
        ]
        upsert(conn, OrderLine, lines, key=["order_id", "line_no"])
        refresh_sales(conn, days | {o["created_at"].date() for o in rows})
        self.counts["order_lines"] += len(lines)

    def _review(self, d: Any) -> dict[str, Any]:
        return {
            "external_id": d.external_id,
            "product_id": self.product_ids[d.product],
            "customer_id": self.customer_ids[d.customer],
            "author": d.author,
            "rating": d.rating,
            "title": d.title,
            "body": d.body,
            "language": d.language,
            "verified": True,
            "created_at": d.created_at,
        }

    def _count(self, batch: Batch) -> None:
        c = self.counts
        c["customers"] += len(batch.customers)
        c["orders"] += len(batch.orders)
        c["reviews"] += len(batch.reviews)
        c["events"] += len(batch.events)
        if batch.events:
            lo, hi = min(e["ts"] for e in batch.events), max(e["ts"] for e in batch.events)
            self.first_ts = lo if self.first_ts is None else min(self.first_ts, lo)
            self.last_ts = hi if self.last_ts is None else max(self.last_ts, hi)


def _check_store(store: Store, sim: Simulation) -> None:
    """Refuse to mix this simulation into a store holding other events or orders."""
    counts = store.stats()
    if not (counts["events"] or counts["orders"]):
        return
    with store.connect() as conn:
        ours = id_map(conn, Event, [sim.first_event_id], key="event_id")
    if not ours:
        raise SimulationError(
            f"the store already holds {counts['events']:,} events and {counts['orders']:,} "
            "orders from elsewhere (another simulation or real data); simulate into an empty "
            "store, or re-run the same configuration and seed"
        )


def simulate(
    store: Store,
    config: SimulationConfig | None = None,
    truth_path: str | Path | None = None,
    progress: Callable[[int], Any] | None = None,
) -> SimulationResult:
    """Simulate a store into ``store`` and write its ground truth to ``truth_path``.

    Re-running the same config and seed into the same store adds nothing: every row has
    a deterministic natural key. ``progress(day)`` is called after each simulated day.
    """
    config = config or SimulationConfig()
    started = time.perf_counter()
    sim = Simulation(config)
    _check_store(store, sim)
    writer = _Writer(store, sim)
    writer.catalog()
    for batch in sim.batches():
        writer.write(batch)
        if batch.day_done and progress is not None:
            progress(batch.day + 1)
    path = Path(truth_path) if truth_path is not None else None
    truth = sim.truth(lazy=True)
    if path is not None:
        write_truth(path, truth)
    return SimulationResult(
        config=config,
        counts=writer.counts,
        first_ts=writer.first_ts,
        last_ts=writer.last_ts,
        revenue=round(sim.funnel.revenue, 2),
        truth_path=path,
        seconds=time.perf_counter() - started,
        channels={
            k: v["realised"] | {"true_rate": v["conversion_rate"]}
            for k, v in truth["channels"].items()
        },
    )
