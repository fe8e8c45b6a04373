"""Traffic acquisition: sessions, conversion and revenue per channel, with attribution and
the cost of each channel where ad spend was imported.

A session belongs to the source / medium / campaign of its first event. It converts when
it holds a ``purchase`` event; its revenue is the value of those events (a transaction
sent twice counts once).

Attribution shares each purchase among the shopper's sessions that started within the
look-back window before it (30 days by default), in time order:

- ``first_touch``: all to the first session; ``last_touch``: all to the last (the one that
  bought); ``linear``: equal shares; ``position_based``: 40 % first, 40 % last, the other
  20 % split among the sessions between (one session gets all, two get half each).

With ad spend (``shopmind import ad-spend``): cost per acquisition (spend ÷ conversions
attributed by the chosen model) and ROAS (attributed revenue ÷ spend) per channel.
"""

from __future__ import annotations

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
    session_part,
    wilson,
)
from shopmind.insights.engine import InsightsError, Tables

MODELS = ("first_touch", "last_touch", "linear", "position_based")
LEVELS = ("source_medium", "source", "medium", "campaign")
LOOKBACK_DAYS = 30


@dataclass
class AcquisitionResult:
    period: Period
    level: str
    model: str
    lookback_days: int
    channels: list[dict[str, Any]]
    totals: dict[str, Any]
    previous_totals: dict[str, Any] | None = None
    placements: list[dict[str, Any]] = field(default_factory=list)
    has_spend: bool = False

    def to_dict(self) -> dict[str, Any]:
        prev = self.previous_totals
        return {
            "period": self.period.to_dict(),
            "level": self.level,
            "attribution_model": self.model,
            "lookback_days": self.lookback_days,
            "has_spend": self.has_spend,
            "totals": self.totals,
            "previous_totals": prev,
            "changes": {
                k: change(self.totals.get(k), prev.get(k))
                for k in ("sessions", "conversions", "revenue", "conversion_rate")
            }
            if prev
            else None,
            "channels": self.channels,
            "placements": self.placements,
        }


def sessions_table(tables: Tables, period: Period, level: str = "source_medium") -> ir.Table:
    """One row per session starting in ``period``: the shopper, its start, its channel at
    ``level`` (:data:`LEVELS`), its purchases and their value (a transaction sent twice
    counts once, in the session of its first event). Only these five columns are kept:
    a store's sessions are many."""
    e = tables.events
    day = ibis.interval(days=1)  # a session's events lie within a day of its start
    ev = e.filter(e.ts >= ibis.literal(period.lo) - day, e.ts < ibis.literal(period.hi) + day)
    ev = ev.mutate(sess=session_part(ev))
    firsts: dict[str, Any] = {"start": ev.ts.min()}
    for part in ("source", "medium") if level == "source_medium" else (level,):
        firsts[part] = ev[part].argmin(ev.ts)
    s = ev.group_by(["user_id", "sess"]).agg(**firsts)
    s = s.filter(in_period(s.start, period))
    p = purchases(ev)
    bought = p.group_by(b_user=p.buyer, b_sess=p.sess).agg(
        n=p.count(), paid=ibis.coalesce(p.amount, 0.0).sum()
    )
    j = s.left_join(bought, [s.user_id == bought.b_user, s.sess == bought.b_sess])
    unset = {"source": "(direct)", "medium": "(none)", "campaign": "(not set)"}
    named = j.mutate(**{c: ibis.coalesce(j[c], unset[c]) for c in firsts if c != "start"})
    return named.select(
        "user_id",
        "start",
        channel=_channel(named, level),
        purchases=ibis.coalesce(named.n, 0),
        revenue=ibis.coalesce(named.paid, 0.0),
    )


def purchases(ev: ir.Table) -> ir.Table:
    """One row per purchase among events ``ev`` (with their session ``sess``, see
    :func:`session_part`): a transaction sent twice is one purchase, of the shopper
    (``buyer``), session and moment (``at``) of its first event."""
    buys = ev.filter(ev.name == "purchase")
    buys = buys.mutate(conv=ibis.coalesce(buys.transaction_id, buys.event_id))
    return buys.group_by("conv").agg(
        buyer=buys.user_id.argmin(buys.ts),
        sess=buys.sess.argmin(buys.ts),
        at=buys.ts.min(),
        amount=buys.value.max(),
    )


def _channel(t: ir.Table, level: str) -> ir.StringValue:
    if level == "source_medium":
        return t.source.concat(" / ", t.medium)
    return t[level]


def acquisition(
    tables: Tables,
    period: Period,
    *,
    level: str = "source_medium",
    model: str = "last_touch",
    lookback_days: int = LOOKBACK_DAYS,
    compare: bool = True,
    limit: int = 100,
) -> AcquisitionResult:
    """Channels of ``period`` at ``level`` (:data:`LEVELS`), attribution by every model in
    :data:`MODELS` (CPA and ROAS by ``model``)."""
    if level not in LEVELS:
        raise InsightsError(f"unknown level {level!r}; choose one of {', '.join(LEVELS)}")
    if model not in MODELS:
        raise InsightsError(
            f"unknown attribution model {model!r}; choose one of {', '.join(MODELS)}"
        )
    if not 1 <= lookback_days <= 90:
        raise InsightsError("the attribution look-back must be 1 to 90 days")
    # One pass over the events for every session the answer needs — the period, the
    # look-back before it and the period before — kept while the parts are computed.
    previous = period.previous()
    first = min(period.start - _days(lookback_days), previous.start if compare else period.start)
    wide = tables.cache(sessions_table(tables, Period(first, period.end), level))
    try:
        return _acquisition(tables, wide, period, level, model, lookback_days, compare, limit)
    finally:
        tables.release(wide)


def _acquisition(
    tables: Tables,
    wide: ir.Table,
    period: Period,
    level: str,
    model: str,
    lookback_days: int,
    compare: bool,
    limit: int,
) -> AcquisitionResult:
    s = wide.filter(in_period(wide.start, period))
    per = s.group_by("channel").agg(
        sessions=s.count(),
        conversions=flag(s.purchases > 0).sum(),
        revenue=s.revenue.sum(),
        users=s.user_id.nunique(),
    )
    frame = tables.execute(per.order_by([ibis.desc("sessions"), "channel"]))
    credit = _attribution(tables, period, level, lookback_days, wide)
    spend = _spend(tables, period, level)
    rows = {str(r["channel"]): r for r in frame.to_dict("records")}
    # channels credited for a purchase from a session before the period, or paid for
    # without a session, follow the channels with sessions
    keys = list(rows) + sorted((set(credit) | set(spend)) - set(rows))
    channels = [_channel_row(k, rows.get(k), credit, spend, model) for k in keys[:limit]]
    result = AcquisitionResult(
        period,
        level,
        model,
        lookback_days,
        channels,
        _totals(tables, s, spend),
        has_spend=bool(spend),
    )
    if compare:
        previous = period.previous()
        before = wide.filter(in_period(wide.start, previous))
        result.previous_totals = _totals(tables, before, _spend(tables, previous, level))
    return result


def _channel_row(
    key: str,
    row: dict[str, Any] | None,
    credit: dict[str, dict[str, dict[str, float]]],
    spend: dict[str, float],
    model: str,
) -> dict[str, Any]:
    n = int(row["sessions"]) if row else 0
    k = int(row["conversions"]) if row else 0
    low, high = wilson(k, n)
    none = {"conversions": 0.0, "revenue": 0.0}
    raw = {m: credit.get(key, {}).get(m, none) for m in MODELS}
    attributed = {
        m: {"conversions": round(v["conversions"], 3), "revenue": round(v["revenue"], 2)}
        for m, v in raw.items()
    }
    cost = spend.get(key)
    chosen = raw[model]
    return {
        "channel": key,
        "sessions": n,
        "users": int(row["users"]) if row else 0,
        "conversions": k,
        "conversion_rate": ratio(k, n),
        "conversion_ci": [low, high],
        "revenue": round(float(clean(row["revenue"]) or 0.0), 2) if row else 0.0,
        "attributed": attributed,
        "spend": cost,
        "cpa": ratio(cost, chosen["conversions"]) if cost is not None else None,
        "roas": ratio(chosen["revenue"], cost) if cost else None,
    }


def _totals(tables: Tables, s: ir.Table, spend: dict[str, float]) -> dict[str, Any]:
    row = tables.execute(
        s.aggregate(
            sessions=s.count(),
            conversions=flag(s.purchases > 0).sum(),
            revenue=s.revenue.sum(),
            users=s.user_id.nunique(),
        )
    ).iloc[0]
    n, k = int(clean(row["sessions"]) or 0), int(clean(row["conversions"]) or 0)
    revenue = round(float(clean(row["revenue"]) or 0.0), 2)
    total_spend = round(sum(spend.values()), 2) if spend else None
    return {
        "sessions": n,
        "users": int(clean(row["users"]) or 0),
        "conversions": k,
        "conversion_rate": ratio(k, n),
        "revenue": revenue,
        "spend": total_spend,
        "roas": ratio(revenue, total_spend) if total_spend else None,
    }


def _attribution(
    tables: Tables, period: Period, level: str, lookback_days: int, sessions: ir.Table
) -> dict[str, dict[str, dict[str, float]]]:
    """Per channel and model: attributed conversions (fractions) and revenue, unrounded
    (CPA and ROAS divide these; the result shows them rounded)."""
    e = tables.events
    ev = e.filter(e.name == "purchase", in_period(e.ts, period))
    buys = purchases(ev.mutate(sess=session_part(ev))).select("conv", "buyer", "at", "amount")
    wide = Period(period.start - _days(lookback_days), period.end)
    s = sessions.filter(in_period(sessions.start, wide)).select("user_id", "start", "channel")
    j = buys.join(
        s,
        [
            buys.buyer == s.user_id,
            s.start <= buys.at,
            s.start >= buys.at - ibis.interval(days=lookback_days),
        ],
    )
    # in time order; sessions starting at the same moment in the same channel get the
    # same credit whichever comes first, so the answer is the same on every engine
    w = ibis.window(group_by=j.conv, order_by=[j.start, j.channel])
    whole = ibis.window(group_by=j.conv)
    j = j.mutate(pos=ibis.row_number().over(w), n=j.start.count().over(whole))
    first, last = j.pos == 0, j.pos == j.n - 1
    middle_share = 0.2 / (j.n - 2).cast("float64")
    j = j.mutate(
        first_touch=ibis.ifelse(first, 1.0, 0.0),
        last_touch=ibis.ifelse(last, 1.0, 0.0),
        linear=1.0 / j.n.cast("float64"),
        position_based=ibis.cases(
            (j.n == 1, 1.0),
            (j.n == 2, 0.5),
            (first | last, 0.4),
            else_=middle_share,
        ),
        amount=ibis.coalesce(j.amount, 0.0),
    )
    aggs = {}
    for m in MODELS:
        aggs[f"{m}_c"] = j[m].sum()
        aggs[f"{m}_r"] = (j[m] * j.amount).sum()
    frame = tables.execute(j.group_by("channel").agg(**aggs))
    out: dict[str, dict[str, dict[str, float]]] = {}
    for row in frame.to_dict("records"):
        out[str(row["channel"])] = {
            m: {
                "conversions": float(clean(row[f"{m}_c"]) or 0.0),
                "revenue": float(clean(row[f"{m}_r"]) or 0.0),
            }
            for m in MODELS
        }
    return out


def _days(n: int) -> Any:
    from datetime import timedelta

    return timedelta(days=n)


def _spend(tables: Tables, period: Period, level: str) -> dict[str, float]:
    a = tables["ad_spend"]
    rows = a.filter(a.day >= period.start, a.day <= period.end)
    rows = rows.mutate(
        campaign=ibis.ifelse(ibis.coalesce(rows.campaign, "") == "", "(not set)", rows.campaign)
    )
    frame = tables.execute(rows.group_by(channel=_channel(rows, level)).agg(spend=rows.spend.sum()))
    return {str(k): round(float(v), 2) for k, v in zip(frame.channel, frame.spend, strict=True)}
