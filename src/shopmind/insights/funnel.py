"""The purchase funnel: how many sessions (or shoppers) reach each step, in order.

Steps are GA4 event names, by default ``view_item → add_to_cart → begin_checkout →
purchase``. A unit — a session, or a shopper with ``unit="user"`` — enters the funnel with
its first event of the first step when that falls inside the period (a shopper: its first
inside the period; a session begun before the period with one entered then), and reaches
step *k* with an event of step *k* at or after the moment it reached the last required
step before it, within the conversion window from entering (the whole session when no
window is given for sessions; seven days for shoppers). An optional step is counted when
it happens but a unit may skip it. Breakdowns put each unit in the group of its entering
event (its day or week, source, medium, campaign, device, product) or of its customer
(RFM segment).

>>> result = funnel(tables, Period(date(2026, 1, 1), date(2026, 1, 31)), by="source")
...                                                              # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import ibis
import ibis.expr.types as ir

from shopmind.insights.common import (
    Period,
    change,
    clean,
    flag,
    in_period,
    ratio,
    session_key,
    wilson,
)
from shopmind.insights.engine import InsightsError, Tables

DEFAULT_STEPS = ("view_item", "add_to_cart", "begin_checkout", "purchase")
BREAKDOWNS = (
    "day", "week", "source", "medium", "campaign", "source_medium", "device", "product",
    "segment",
)  # fmt: skip
UNITS = ("session", "user")
USER_WINDOW_MINUTES = 7 * 24 * 60
MAX_STEPS = 8


@dataclass(frozen=True)
class FunnelStep:
    name: str
    optional: bool = False


@dataclass
class FunnelResult:
    """Units reaching each step, overall, per group, and in the period before."""

    period: Period
    unit: str
    steps: list[FunnelStep]
    window_minutes: int | None
    totals: list[int]
    value: float | None
    by: str | None = None
    groups: list[dict[str, Any]] = field(default_factory=list)
    previous: list[int] | None = None
    previous_value: float | None = None

    @property
    def conversion(self) -> float | None:
        return ratio(self.totals[-1], self.totals[0])

    def to_dict(self) -> dict[str, Any]:
        steps = []
        for k, (s, n) in enumerate(zip(self.steps, self.totals, strict=True)):
            before = self._before(k)
            steps.append(
                {
                    "name": s.name,
                    "optional": s.optional,
                    "units": n,
                    "rate_from_start": ratio(n, self.totals[0]),
                    "rate_from_previous": ratio(n, before) if k else None,
                    "drop_off": (before - n) if k and before is not None else None,
                    "previous_units": self.previous[k] if self.previous else None,
                    "change": change(n, self.previous[k]) if self.previous else None,
                }
            )
        low, high = wilson(self.totals[-1], self.totals[0])
        prev_conv = ratio(self.previous[-1], self.previous[0]) if self.previous else None
        return {
            "period": self.period.to_dict(),
            "previous_period": self.period.previous().to_dict() if self.previous else None,
            "unit": self.unit,
            "window_minutes": self.window_minutes,
            "steps": steps,
            "conversion": self.conversion,
            "conversion_ci": [low, high],
            "previous_conversion": prev_conv,
            "conversion_change": change(self.conversion, prev_conv),
            "value": self.value,
            "previous_value": self.previous_value,
            "value_change": change(self.value, self.previous_value),
            "by": self.by,
            "groups": self.groups,
        }

    def _before(self, k: int) -> int | None:
        """Units at the last required step before step ``k``."""
        for j in range(k - 1, -1, -1):
            if not self.steps[j].optional:
                return self.totals[j]
        return None


def parse_steps(
    steps: Sequence[str] | str | None, optional: Sequence[str] = ()
) -> list[FunnelStep]:
    """Steps from names (``"view_item,add_to_cart?,purchase"``: a trailing ``?`` marks an
    optional step, as does naming it in ``optional``)."""
    if steps is None:
        steps = DEFAULT_STEPS
    if isinstance(steps, str):
        steps = [s for s in (p.strip() for p in steps.split(",")) if s]
    out = []
    for raw in steps:
        name = raw.rstrip("?").strip()
        if not name or len(name) > 64 or not all(c.isalnum() or c == "_" for c in name):
            raise InsightsError(f"funnel step {raw!r} is not an event name")
        out.append(FunnelStep(name, raw.endswith("?") or name in optional))
    if len(out) < 2:
        named = ", ".join(s.name for s in out) or "none"
        raise InsightsError(f"a funnel needs at least two steps, not only {named}")
    if len(out) > MAX_STEPS:
        raise InsightsError(f"a funnel has at most {MAX_STEPS} steps")
    for end in (out[0], out[-1]):
        if end.optional:
            raise InsightsError(
                f"the first and the last funnel steps cannot be optional: {end.name!r}"
            )
    names = [s.name for s in out]
    for name in names:
        if names.count(name) > 1:
            raise InsightsError(f"the funnel step {name!r} is named twice")
    return out


def funnel(
    tables: Tables,
    period: Period,
    steps: Sequence[str] | str | None = None,
    *,
    optional: Sequence[str] = (),
    unit: str = "session",
    window_minutes: int | None = None,
    by: str | None = None,
    compare: bool = True,
    segments: ir.Table | None = None,
    limit: int = 50,
) -> FunnelResult:
    """The funnel over ``period``; ``by`` one of :data:`BREAKDOWNS`. ``segments`` (customer
    ``external_id`` → ``segment``) is needed for ``by="segment"``; without it the segment
    breakdown computes RFM segments as of the period's end."""
    parsed = parse_steps(steps, optional)
    if unit not in UNITS:
        raise InsightsError(f"funnel unit must be one of {', '.join(UNITS)}, not {unit!r}")
    if by is not None and by not in BREAKDOWNS:
        raise InsightsError(f"unknown breakdown {by!r}; choose one of {', '.join(BREAKDOWNS)}")
    if window_minutes is not None and not 1 <= window_minutes <= 90 * 24 * 60:
        raise InsightsError("the conversion window must be 1 minute to 90 days")
    if window_minutes is None and unit == "user":
        window_minutes = USER_WINDOW_MINUTES
    if by == "segment" and segments is None:
        from shopmind.insights.segments import segment_table

        segments = segment_table(tables, period.end)
    reached = _reached(tables, period, parsed, unit, window_minutes)
    if by is not None:  # read twice: for the totals and for the groups
        reached = tables.cache(reached)
    try:
        totals, value = _totals(tables, reached, parsed)
        result = FunnelResult(period, unit, parsed, window_minutes, totals, value, by)
        if compare:
            before = _reached(tables, period.previous(), parsed, unit, window_minutes)
            result.previous, result.previous_value = _totals(tables, before, parsed)
        if by is not None:
            result.groups = _groups(tables, reached, parsed, by, segments, limit)
    finally:
        if by is not None:
            tables.release(reached)
    return result


def _reached(
    tables: Tables, period: Period, steps: list[FunnelStep], unit: str, window: int | None
) -> ir.Table:
    """One row per unit entering the funnel: when it reached each step (``t0``, ``t1`` …,
    NULL if never), the purchase value at the last step, and its entering attributes."""
    e = tables.events
    slack = ibis.interval(minutes=window) if window else ibis.interval(days=1)
    hi = ibis.literal(period.hi) + slack
    # a session that began before the period entered then (a day covers any session)
    lo = ibis.literal(period.lo) - ibis.interval(days=1) if unit == "session" else period.lo
    names = [s.name for s in steps]
    ev = e.filter(e.name.isin(names), e.ts >= lo, e.ts < hi)
    ev = ev.mutate(unit=session_key(ev) if unit == "session" else ev.user_id)
    first = ev.filter(ev.name == steps[0].name)
    cur = first.group_by("unit").agg(
        t0=first.ts.min(),
        source=first.source.argmin(first.ts),
        medium=first.medium.argmin(first.ts),
        campaign=first.campaign.argmin(first.ts),
        device=first.device.argmin(first.ts),
        item_id=first.item_id.argmin(first.ts),
        customer=first.customer_id.max(),
    )
    cur = cur.filter(in_period(cur.t0, period))
    prev = "t0"
    for k, step in enumerate(steps[1:], start=1):
        hits = ev.filter(ev.name == step.name)
        hits = hits.select(hit_unit=hits.unit, hit_ts=hits.ts, hit_value=hits.value)
        cond = [cur.unit == hits.hit_unit, hits.hit_ts >= cur[prev]]
        if window:
            cond.append(hits.hit_ts <= cur.t0 + ibis.interval(minutes=window))
        joined = cur.left_join(hits, cond)
        aggs: dict[str, Any] = {f"t{k}": joined.hit_ts.min()}
        if k == len(steps) - 1:
            aggs["value"] = joined.hit_value.sum()
        cur = joined.group_by(list(cur.columns)).agg(**aggs)
        if not step.optional:
            prev = f"t{k}"
    return cur


def _counts(reached: ir.Table, steps: list[FunnelStep]) -> dict[str, Any]:
    out: dict[str, Any] = {"n0": reached.count()}
    for k in range(1, len(steps)):
        out[f"n{k}"] = flag(reached[f"t{k}"].notnull()).sum()
    out["value"] = reached.value.sum()
    return out


def _totals(
    tables: Tables, reached: ir.Table, steps: list[FunnelStep]
) -> tuple[list[int], float | None]:
    row = tables.execute(reached.aggregate(**_counts(reached, steps))).iloc[0]
    totals = [int(clean(row[f"n{k}"]) or 0) for k in range(len(steps))]
    value = clean(row["value"]) if steps[-1].name == "purchase" else None
    return totals, (
        round(float(value), 2)
        if value is not None
        else (0.0 if steps[-1].name == "purchase" else None)
    )


def _groups(
    tables: Tables,
    reached: ir.Table,
    steps: list[FunnelStep],
    by: str,
    segments: ir.Table | None,
    limit: int,
) -> list[dict[str, Any]]:
    if by == "day":
        keyed = reached.mutate(key=reached.t0.date().cast("string"))
    elif by == "week":
        keyed = reached.mutate(key=reached.t0.truncate("W").date().cast("string"))
    elif by == "source_medium":
        keyed = reached.mutate(
            key=ibis.coalesce(reached.source, "(not set)").concat(
                " / ", ibis.coalesce(reached.medium, "(not set)")
            )
        )
    elif by == "product":
        keyed = reached.mutate(key=ibis.coalesce(reached.item_id, "(not set)"))
    elif by == "segment":
        assert segments is not None
        seg = segments.select(seg_customer=segments.external_id, seg_name=segments.segment)
        joined = reached.left_join(seg, reached.customer == seg.seg_customer)
        keyed = joined.mutate(
            key=ibis.coalesce(
                joined.seg_name,
                ibis.ifelse(joined.customer.isnull(), "(not signed in)", "(no orders)"),
            )
        )
    else:
        keyed = reached.mutate(key=ibis.coalesce(reached[by], "(not set)"))
    agg = keyed.group_by("key").agg(**_counts(keyed, steps))
    ordered = (
        agg.order_by([ibis.desc("n0"), "key"]) if by not in ("day", "week") else agg.order_by("key")
    )
    frame = tables.execute(ordered.limit(limit if by not in ("day", "week") else 4000))
    titles = _product_titles(tables, frame["key"].tolist()) if by == "product" else {}
    out = []
    for row in frame.to_dict("records"):
        units = [int(clean(row[f"n{k}"]) or 0) for k in range(len(steps))]
        low, high = wilson(units[-1], units[0])
        value = None
        if steps[-1].name == "purchase":  # nothing bought is 0.0, as in the totals
            value = round(float(clean(row["value"]) or 0.0), 2)
        group = {
            "key": str(row["key"]),
            "units": units,
            "conversion": ratio(units[-1], units[0]),
            "conversion_ci": [low, high],
            "value": value,
        }
        if by == "product":
            group["title"] = titles.get(str(row["key"]))
        out.append(group)
    return out


def _product_titles(tables: Tables, item_ids: list[str]) -> dict[str, str]:
    """Titles of products named by external id or by a variant's SKU."""
    ids = [i for i in item_ids if i and i != "(not set)"]
    if not ids:
        return {}
    p, v = tables["products"], tables["variants"]
    direct = tables.execute(p.filter(p.external_id.isin(ids)).select("external_id", "title"))
    out = dict(zip(direct.external_id, direct.title, strict=True))
    rest = [i for i in ids if i not in out]
    if rest:
        via = v.filter(v.sku.isin(rest)).join(p, v.product_id == p.id)
        frame = tables.execute(via.select(sku=via.sku, title=via.title))
        out.update(zip(frame.sku, frame.title, strict=True))
    return out
