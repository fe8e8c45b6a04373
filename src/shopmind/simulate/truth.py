"""The ground truth of a simulation: what was designed, and what actually happened.

Analytics and models built on the simulated store are checked against this file: each
channel's true conversion rate, each product's true quality and aspect scores, each
shopper's segment and expected purchase rate, each review's intended aspects, the help
centre's policy and the support questions it answers (or not), the site-search terms (sold
or not, trending up or down) and the checkout incident, if any — and the realised counts
(sessions and purchases per channel, orders per shopper, searches per term …).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from shopmind.simulate.catalog import ASPECTS, CATEGORIES
from shopmind.simulate.config import DEVICES
from shopmind.simulate.shoppers import DEVICE_FACTOR, SEGMENTS, purchase_rate_30d

if TYPE_CHECKING:
    from shopmind.simulate.run import Simulation

TRUTH_VERSION = 2  # 2: ``searches`` and ``incident``


def write_truth(path: Path, truth: dict[str, Any]) -> None:
    """Write the truth JSON atomically (a temporary file renamed into place).

    ``truth["customers"]`` may be a dict or an iterator of ``(pseudo_id, record)`` pairs;
    it is streamed one shopper a line, so memory does not grow with the number of shoppers.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    customers = truth["customers"]
    pairs = customers.items() if isinstance(customers, dict) else customers
    head = json.dumps(
        {k: v for k, v in truth.items() if k != "customers"}, ensure_ascii=False, indent=1
    )
    with tmp.open("w", encoding="utf-8") as fh:
        fh.write(head.removesuffix("}").rstrip() + ',\n "customers": {')
        for n, (key, record) in enumerate(pairs):
            fh.write(",\n  " if n else "\n  ")
            fh.write(f"{json.dumps(key)}: {json.dumps(record, ensure_ascii=False)}")
        fh.write("\n }\n}\n")
    os.replace(tmp, path)


def build_truth(sim: Simulation, lazy: bool = False) -> dict[str, Any]:
    """The truth as data; with ``lazy`` the per-shopper part is an iterator (for streaming)."""
    config, f = sim.config, sim.funnel
    shares = sum(c.share for c in config.channels)
    channels = {}
    for k, c in enumerate(config.channels):
        n, bought = f.ch_sessions[k], f.ch_purchases[k]
        channels[c.key] = {
            "source": c.source,
            "medium": c.medium,
            "campaign": c.campaign,
            "conversion_rate": c.conversion_rate,
            "traffic_share": round(c.share / shares, 4),
            "realised": {
                "sessions": n,
                "purchases": bought,
                "conversion_rate": round(bought / n, 5) if n else None,
                "revenue": round(f.ch_revenue[k], 2),
            },
        }
    return {
        "version": TRUTH_VERSION,
        "seed": config.seed,
        "fingerprint": config.fingerprint,
        "config": config.to_dict(),
        "definitions": DEFINITIONS,
        "channels": channels,
        "devices": {
            name: {
                "relative_conversion": DEVICE_FACTOR[d],
                "realised": {"sessions": f.dev_sessions[d], "purchases": f.dev_purchases[d]},
            }
            for d, name in enumerate(DEVICES)
        },
        "products": _product_truth(sim),
        "customers": _customer_truth(sim) if lazy else dict(_customer_truth(sim)),
        "reviews": f.review_truth,
        "support": sim.help_centre.truth(),
        "searches": f.search.truth(),
        "incident": _incident_truth(sim),
        "segments": {
            name: {"share": share, "sessions_per_day": v, "intent": i, "daily_churn": ch}
            for name, share, v, i, ch in SEGMENTS
        },
        "realised": {
            "sessions": f.n_sessions,
            "purchases": f.n_orders,
            "customers": f.n_customers,
            "reviews": len(f.review_truth),
            "events": f.n_events,
            "events_by_name": dict(sorted(f.by_name.items())),
            "revenue": round(f.revenue, 2),
            "repeat_buyers": sum(1 for n in f.sh_orders if n >= 2),
            "buyers": sum(1 for n in f.sh_orders if n >= 1),
            "shoppers_active": int(np.count_nonzero(np.array(f.sh_sessions))),
        },
    }


DEFINITIONS = {
    "conversion_rate": "a channel's chance that one of its sessions ends in a purchase",
    "purchase_rate_30d": "a shopper's expected purchases per 30 active days (average season)",
    "aspects": "true product scores in [0, 1] for " + ", ".join(ASPECTS) + " (null: n/a)",
    "review aspects": "aspects a review's text mentions: 1 positive, 0 mixed, -1 negative",
    "leave_day": "first day the shopper is no longer active (churned); null: still active",
    "searches": "terms searched (one search and one view_search_results event each); "
    "rising/falling: chance ×trend[0] on the first day to ×trend[1] on the last, linearly",
    "incident": "on day, a buying session fails at payment with chance drop (checkout outage)",
}


def _incident_truth(sim: Simulation) -> dict[str, Any] | None:
    config = sim.config
    if config.incident_day is None:
        return None
    return {
        "day": (config.start + timedelta(days=config.incident_day)).isoformat(),
        "day_index": config.incident_day,
        "drop": config.incident_drop,
        "failed_checkouts": sim.funnel.n_failed,
    }


def _product_truth(sim: Simulation) -> dict[str, Any]:
    f = sim.funnel
    return {
        p.external_id: {
            "category": CATEGORIES[p.category].path,
            "brand": p.brand,
            "price": p.price,
            "quality": round(p.quality, 4),
            "aspects": p.aspects,
            "popularity": round(p.popularity, 4),
            "in_stock": bool(p.in_stock),
            "realised": {"views": f.p_views[p.index], "units": f.p_units[p.index]},
        }
        for p in sim.catalog
    }


def _customer_truth(sim: Simulation) -> Iterator[tuple[str, dict[str, Any]]]:
    config, f, s = sim.config, sim.funnel, sim.shoppers
    rate = purchase_rate_30d(config, s).tolist()
    visit, intent, sens = s.visit_rate.tolist(), s.intent.tolist(), s.sensitivity.tolist()
    for i, pseudo in enumerate(s.pseudo_id):
        leave = int(s.leave[i])
        yield (
            pseudo,
            {
                "customer_id": f.customer_of.get(i),
                "segment": SEGMENTS[int(s.segment[i])][0],
                "purchase_rate_30d": round(rate[i], 4),
                "sessions_per_day": round(visit[i], 4),
                "intent": round(intent[i], 4),
                "price_sensitivity": round(sens[i], 4),
                "daily_churn": float(s.churn[i]),
                "arrival_day": int(s.arrival[i]),
                "leave_day": leave if leave < config.days else None,
                "acquisition": config.channels[int(s.channel[i])].key,
                "anonymous": bool(s.anonymous[i]),
                "language": s.language[i],
                "realised": {
                    "sessions": f.sh_sessions[i],
                    "orders": f.sh_orders[i],
                    "revenue": round(f.sh_revenue[i], 2),
                },
            },
        )
