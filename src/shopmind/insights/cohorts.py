"""Cohorts and retention: customers grouped by the month of their first order, and the
share of each cohort that ordered again in each later month.

Only orders that are not cancelled count; a customer is keyed as in
:func:`shopmind.insights.segments.paid_orders`. Month 0 is the first-order month (100 %
by definition); a cohort's later months that have not ended by ``as_of`` are left out.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from shopmind.insights.common import clean
from shopmind.insights.engine import InsightsError, Tables
from shopmind.insights.segments import paid_orders


@dataclass
class CohortsResult:
    as_of: date
    months: int
    cohorts: list[dict[str, Any]]

    def average_retention(self) -> list[float | None]:
        """Per month offset: retention averaged over the cohorts that reached it, weighted
        by cohort size."""
        out: list[float | None] = []
        for k in range(self.months + 1):
            num = den = 0
            for c in self.cohorts:
                if k < len(c["active"]):
                    num += c["active"][k]
                    den += c["customers"]
            out.append(num / den if den else None)
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "as_of": self.as_of.isoformat(),
            "months": self.months,
            "cohorts": self.cohorts,
            "average_retention": self.average_retention(),
        }


def _month_index(d: Any) -> Any:
    return d.year() * 12 + d.month() - 1


def cohorts(
    tables: Tables, as_of: date, months: int = 12, first: date | None = None
) -> CohortsResult:
    """Cohorts of first-order months up to ``as_of`` (the last ``months`` + 1 of them, or
    from ``first``), each with customers, active customers and revenue per month offset."""
    if not 1 <= months <= 60:
        raise InsightsError("cohorts cover 1 to 60 months")
    o = paid_orders(tables, as_of)
    o = o.mutate(m=_month_index(o.day))
    starts = o.group_by("who").agg(m0=o.m.min())
    j = o.join(starts, "who")
    j = j.mutate(offset=j.m - j.m0)
    per = j.group_by(["m0", "offset"]).agg(active=j.who.nunique(), revenue=j.total.sum())
    size = starts.group_by("m0").agg(customers=starts.count())
    frame = tables.execute(per)
    sizes = tables.execute(size)
    last = as_of.year * 12 + as_of.month - 1
    ended = last if (as_of + timedelta(days=1)).day == 1 else last - 1  # the last whole month
    lo = last - months if first is None else first.year * 12 + first.month - 1
    table: dict[int, dict[str, Any]] = {}
    for row in sizes.to_dict("records"):
        m0 = int(row["m0"])
        if m0 < lo:
            continue
        reach = max(ended - m0, 0)  # month offsets that have ended by as_of (and month 0)
        table[m0] = {
            "cohort": f"{m0 // 12:04d}-{m0 % 12 + 1:02d}",
            "customers": int(row["customers"]),
            "active": [0] * (min(reach, months) + 1),
            "revenue": [0.0] * (min(reach, months) + 1),
        }
    for row in frame.to_dict("records"):
        c = table.get(int(row["m0"]))
        k = int(row["offset"])
        if c is None or k >= len(c["active"]):
            continue
        c["active"][k] = int(row["active"])
        c["revenue"][k] = round(float(clean(row["revenue"]) or 0.0), 2)
    out = []
    for m0 in sorted(table):
        c = table[m0]
        n = c["customers"]
        c["retention"] = [a / n for a in c["active"]]
        c["revenue_per_customer"] = [round(r / n, 2) for r in c["revenue"]]
        out.append(c)
    return CohortsResult(as_of, months, out)
