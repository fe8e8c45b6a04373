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
# the entering event's columns each breakdown reads
ATTRIBUTES: dict[str | None, tuple[str, ...]] = {
    "source": ("source",),
    "medium": ("medium",),
    "campaign": ("campaign",),
    "source_medium": ("source", "medium"),
    "device": ("device",),
    "product": ("item_id",),
    "segment": ("customer",),
}


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
    reached = _reached(tables, period, parsed, unit, window_minutes, ATTRIBUTES.get(by, ()))
    if by is None:
        totals, value = _totals(tables, reached, parsed)
        result = FunnelResult(period, unit, parsed, window_minutes, totals, value, by)
    else:  # every group in one pass; the totals are their sums
        frame = _grouped(tables, reached, parsed, by, segments)
        totals, value = _frame_totals(frame, parsed)
        result = FunnelResult(period, unit, parsed, window_minutes, totals, value, by)
        result.groups = _groups(tables, frame, parsed, by, limit)
    if compare:
        before = _reached(tables, period.previous(), parsed, unit, window_minutes)
        result.previous, result.previous_value = _totals(tables, before, parsed)
    return result


def _reached(
    tables: Tables,
    period: Period,
    steps: list[FunnelStep],
    unit: str,
    window: int | None,
    attributes: tuple[str, ...] = (),
) -> ir.Table:
    """One row per unit entering the funnel: when it reached each step (``t0``, ``t1`` …,
    NULL if never), the purchase value at the last step, and the ``attributes`` of its
    entering event (``customer``: its signed-in customer)."""
    e = tables.events
    slack = ibis.interval(minutes=window) if window else ibis.interval(days=1)
    hi = ibis.literal(period.hi) + slack
    # a session that began before the period entered then (a day covers any session)
    lo = ibis.literal(period.lo) - ibis.interval(days=1) if unit == "session" else period.lo
    names = [s.name for s in steps]
    ev = e.filter(e.name.isin(names), e.ts >= lo, e.ts < hi)
    ev = ev.mutate(unit=session_key(ev) if unit == "session" else ev.user_id)
    first = ev.filter(ev.name == steps[0].name)
    # only the attributes asked for: each is a column per unit, and units are many
    entering = {
        a: first.customer_id.max() if a == "customer" else first[a].argmin(first.ts)
        for a in attributes
    }
    cur = first.group_by("unit").agg(t0=first.ts.min(), **entering)
    cur = cur.filter(in_period(cur.t0, period))
    # The later steps' events of the entering units, joined once: step k's time is a
    # window over the unit (its first hit at or after the last required step before it),
    # the last step's time and the purchase value an aggregate. The wide ``cur`` is read
    # once more only to join the small answer back.
    later = ev.filter(ev.name.isin(names[1:]))
    later = later.select(h_unit=later.unit, h_name=later.name, h_ts=later.ts, h_value=later.value)
    start = cur.select(p_unit=cur.unit, p_t0=cur.t0)
    cond = [start.p_unit == later.h_unit, later.h_ts >= start.p_t0]
    if window:
        cond.append(later.h_ts <= start.p_t0 + ibis.interval(minutes=window))
    pairs = start.join(later, cond)
    over = ibis.window(group_by="p_unit")
    last = len(steps) - 1
    prev = "p_t0"
    for k, step in enumerate(steps[1:last], start=1):
        hit = (pairs.h_name == step.name) & (pairs.h_ts >= pairs[prev])
        at = ibis.ifelse(hit, pairs.h_ts, ibis.null("timestamp")).min().over(over)
        pairs = pairs.mutate(**{f"p_t{k}": at})
        if not step.optional:
            prev = f"p_t{k}"
    done = (pairs.h_name == steps[last].name) & (pairs.h_ts >= pairs[prev])
    aggs: dict[str, Any] = {f"t{k}": pairs[f"p_t{k}"].min() for k in range(1, last)}
    aggs[f"t{last}"] = pairs.h_ts.min(where=done)
    aggs["value"] = pairs.h_value.sum(where=done)
    got = pairs.group_by(g_unit=pairs.p_unit).agg(**aggs)
    return cur.left_join(got, cur.unit == got.g_unit).drop("g_unit")


def _counts(reached: ir.Table, steps: list[FunnelStep]) -> dict[str, Any]:
    out: dict[str, Any] = {"n0": reached.count()}
    for k in range(1, len(steps)):
        out[f"n{k}"] = flag(reached[f"t{k}"].notnull()).sum()
    out["value"] = reached.value.sum()
    return out


def _totals(
    tables: Tables, reached: ir.Table, steps: list[FunnelStep]
) -> tuple[list[int], float | None]:
    return _frame_totals(tables.execute(reached.aggregate(**_counts(reached, steps))), steps)


def _frame_totals(frame: Any, steps: list[FunnelStep]) -> tuple[list[int], float | None]:
    """Units per step and the purchase value (``None`` unless the funnel ends in a
    purchase), summed over the rows of ``frame``."""
    totals = [int(sum(clean(v) or 0 for v in frame[f"n{k}"])) for k in range(len(steps))]
    if steps[-1].name != "purchase":
        return totals, None
    return totals, round(float(sum(clean(v) or 0.0 for v in frame["value"])), 2)


def _grouped(
    tables: Tables,
    reached: ir.Table,
    steps: list[FunnelStep],
    by: str,
    segments: ir.Table | None,
) -> Any:
    """Counts per group (every group), as a frame."""
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
    return tables.execute(keyed.group_by("key").agg(**_counts(keyed, steps)))


def _groups(
    tables: Tables, frame: Any, steps: list[FunnelStep], by: str, limit: int
) -> list[dict[str, Any]]:
    """The largest ``limit`` groups (days and weeks: all, in order)."""
    frame = frame.assign(key=frame["key"].astype(str))
    if by in ("day", "week"):
        frame = frame.sort_values("key").head(4000)
    else:
        frame = frame.sort_values(["n0", "key"], ascending=[False, True]).head(limit)
    titles = _product_titles(tables, frame["key"].tolist()) if by == "product" else {}
    out = []
    for row in frame.to_dict("records"):
        units = [int(clean(row[f"n{k}"]) or 0) for k in range(len(steps))]
        low, high = wilson(units[-1], units[0])
        value = None
        if steps[-1].name == "purchase":  # nothing bought is 0.0, as in the totals
            value = round(float(clean(row["value"]) or 0.0), 2)
        group = {
            "key": row["key"],
            "units": units,
            "conversion": ratio(units[-1], units[0]),
            "conversion_ci": [low, high],
            "value": value,
        }
        if by == "product":
            group["title"] = titles.get(row["key"])
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
