"""Growth analyses benchmark: DuckDB vs pandas vs PySpark on simulated stores, and CDNOW.

Data — a store of ``--simulate`` events (1M; 100k with ``--quick``) is simulated
(``shopmind.simulate``, 90 days, 500 products, customers calibrated to the event count)
into SQLite and exported once with ``export_parquet``; every size at least that large is
that store tiled: copy *k* of every row gets ``~k`` appended to its user, session, event,
transaction, customer and order ids (integer ids are offset), times unchanged, so
per-session and per-customer rates, the channel mix and the cohorts' shapes stay exactly
the same while every count grows by the factor (the run checks that funnel steps,
sessions per channel and cohort sizes scale exactly). Smaller sizes are simulated on
their own. The Parquet folders are kept under ``--data`` (or ``SHOPMIND_BENCH_DATA``,
default ``/tmp/shopmind-bench``) and reused by later runs.

Queries — the same four on the same Parquet files, over the whole simulated period:
``funnel(by="source_medium", compare=False)``, ``acquisition(compare=False)`` (channels,
the four attribution models and the totals), ``cohorts`` and ``segments`` as of the last
day. Engines: ``duckdb`` and ``spark`` (local[2]) run the Ibis expressions of
``shopmind.insights`` through ``from_parquet``; ``pandas`` is a plain pandas version
written here (read the columns a query needs with ``pd.read_parquet``, then filter,
``groupby`` and ``merge``) following the same rules. Every answer is reduced to its
counts (funnel steps per group, sessions, conversions and attributed credit per
channel, cohort sizes and active customers, customers per segment) and the engines are
checked against each other before any time is shown.

Measure — each engine × query × size runs in a fresh child process: open the tables
(Spark's session start timed apart), one warm-up run, then ``--repeats`` timed runs
(median shown). Peak memory: the sum of each process's ``VmHWM`` in the child's process
tree (Python, and for Spark the JVM), read at the end of the child; the parent also
samples the tree's RSS every 50 ms (kept in the JSON). Engines take turns for each query,
the order flipped every other query, so that load from elsewhere hits them alike; the
1-minute load average at each child's start and end is kept. pandas times include
reading Parquet (its seconds are shown apart too); DuckDB and Spark read the files in
every run. DuckDB runs as the product does, under its default memory cap
(``insights_memory_mb``, 512 MB), spilling past it. Sizes: 1M, 10M and 50M events by
default; Spark runs up to ``--spark-up-to`` (10M: at 50M its four queries would take most
of an hour on 2 cores), and pandas is skipped where its peak at the size below, grown
with the events, would pass three quarters of the machine's memory.

Goal — per query, DuckDB at least 3× faster than pandas at 10M, and DuckDB's peak memory
flat: growing at most 1.25× over the last step of sizes (10M to 50M: 5× the events).

CDNOW — ``read_transactions_csv`` / ``summarize`` / ``BetaGeo`` / ``GammaGamma`` on
``analytics/cdnow/CDNOW_sample.txt`` under ``--shared`` (or ``SHOPMIND_SHARED_DATA``,
default ``../shared/data``), calibration to 1997-09-30 in weeks, beside the published
parameters.

    .venv/bin/python bench/insights.py --quick --out /tmp/insights-quick.json   # smoke run
    .venv/bin/python bench/insights.py             # 1M, 10M, 50M: bench/results/insights.json
    .venv/bin/python bench/insights.py --markdown bench/results/insights.json  # for the docs
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
QUERIES = ("funnel", "acquisition", "cohorts", "segments")
ENGINES = ("duckdb", "pandas", "spark")
STEPS = ("view_item", "add_to_cart", "begin_checkout", "purchase")
MODELS = ("first_touch", "last_touch", "linear", "position_based")
SEGMENT_NAMES = (
    "champions", "new", "loyal", "potential_loyalists", "cant_lose", "at_risk",
    "hibernating", "lost",
)  # fmt: skip
DAYS, PRODUCTS, LOOKBACK_DAYS, COHORT_MONTHS = 90, 500, 30, 12
GOAL_SPEEDUP, GOAL_SIZE, FLAT_GROWTH = 3.0, "10M", 1.25
EVENT_QUERIES = ("funnel", "acquisition")  # read the events; cohorts and RFM read the orders
PANDAS_MEMORY_SHARE = 0.75  # pandas is skipped where it would need more of the machine
PUBLISHED = {
    "bgnbd": {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426, "log_likelihood": -9582.4},
    "gamma_gamma": {"p": 6.25, "q": 3.74, "gamma": 15.44, "log_likelihood": -4055.9},
}


def _progress(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# -- data ------------------------------------------------------------------------------------


def parse_size(text: str) -> int:
    """``1M``, ``10M``, ``100k`` or a plain number of events."""
    text = text.strip().lower().replace("_", "")
    scale = {"k": 1_000, "m": 1_000_000}.get(text[-1:], 1)
    return int(float(text.rstrip("km")) * scale)


def size_label(events: int) -> str:
    if events >= 1_000_000 and events % 1_000_000 == 0:
        return f"{events // 1_000_000}M"
    if events >= 1_000 and events % 1_000 == 0:
        return f"{events // 1_000}k"
    return str(events)


def calibrate(events: int, seed: int) -> int:
    """Customers that give about ``events`` events over :data:`DAYS` days (a small run)."""
    from shopmind.simulate import SimulationConfig, iter_events

    probe = 2000
    config = SimulationConfig(customers=probe, days=DAYS, products=PRODUCTS, seed=seed)
    return max(1, round(events * probe / sum(1 for _ in iter_events(config))))


def simulated(root: Path, events: int, seed: int) -> dict[str, Any]:
    """A simulated store of about ``events`` events as Parquet (built once, then reused)."""
    folder = root / f"sim-{size_label(events)}-{DAYS}d-s{seed}"
    meta = folder / "meta.json"
    if meta.is_file():
        return json.loads(meta.read_text())
    from shopmind.insights.engine import export_parquet
    from shopmind.simulate import SimulationConfig, simulate
    from shopmind.store import Store

    folder.mkdir(parents=True, exist_ok=True)
    customers = calibrate(events, seed)
    db = folder / "store.db"
    db.unlink(missing_ok=True)
    store = Store(f"sqlite:///{db}")
    store.upgrade()
    config = SimulationConfig(customers=customers, days=DAYS, products=PRODUCTS, seed=seed)
    _progress(f"simulating {customers:,} customers x {DAYS} days (~{events:,} events)")
    started = time.perf_counter()
    simulate(store, config, truth_path=folder / "truth.json")
    built = time.perf_counter() - started
    counts = export_parquet(store, folder / "parquet")
    store.dispose()
    db.unlink()
    info = {
        "path": str(folder / "parquet"),
        "how": "simulated",
        "customers_simulated": customers,
        "days": DAYS,
        "products": PRODUCTS,
        "seed": seed,
        "simulate_s": round(built, 1),
        "rows": counts,
    }
    meta.write_text(json.dumps(info, indent=1))
    _progress(f"simulated {counts['events']:,} events in {built:.0f} s")
    return info


def tiled(root: Path, base: dict[str, Any], factor: int) -> dict[str, Any]:
    """``base`` copied ``factor`` times with suffixed ids (built once, then reused)."""
    folder = root / f"tile-{factor}x-{Path(base['path']).parent.name}"
    meta = folder / "meta.json"
    if meta.is_file():
        return json.loads(meta.read_text())
    import duckdb

    src, out = Path(base["path"]), folder / "parquet"
    out.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect()
    con.execute("SET enable_progress_bar = false")

    def offset(table: str, column: str = "id") -> int:
        top = con.execute(f"SELECT max({column}) FROM '{src / table}.parquet'").fetchone()[0]
        return 10 ** len(str(top or 0))

    sfx = "(CASE WHEN k = 0 THEN '' ELSE '~' || k END)"
    o_off, c_off, e_off = offset("orders"), offset("customers"), offset("events")
    tables = {
        "events": f"""id + k * {e_off} AS id, event_id || {sfx} AS event_id, name, ts,
            user_id || {sfx} AS user_id, session_id || {sfx} AS session_id,
            customer_id || {sfx} AS customer_id, item_id, value, currency,
            transaction_id || {sfx} AS transaction_id, source, medium, campaign, device,
            search_term""",
        "orders": f"""id + k * {o_off} AS id, external_id || {sfx} AS external_id,
            customer_id + k * {c_off} AS customer_id, email || {sfx} AS email, created_at,
            currency, subtotal, discount, total, financial_status, source, medium, campaign,
            session_id || {sfx} AS session_id, cancelled_at""",
        "order_lines": f"order_id + k * {o_off} AS order_id, * EXCLUDE (order_id)",
        "customers": f"""id + k * {c_off} AS id, external_id || {sfx} AS external_id,
            email || {sfx} AS email, * EXCLUDE (id, external_id, email)""",
        "ad_spend": "*",
    }
    order = {"events": "ts, k, id", "orders": "created_at, k, id"}
    started = time.perf_counter()
    counts = {}
    for name in (
        "events",
        "orders",
        "order_lines",
        "customers",
        "products",
        "variants",
        "reviews",
        "ad_spend",
    ):
        source = f"'{src / name}.parquet'"
        if name in tables:
            sql = f"SELECT {tables[name]} FROM {source}, range({factor}) AS copies(k)"
            if name in order:
                sql += f" ORDER BY {order[name]}"
        else:  # the catalog and the reviews (which no query here reads) are shared
            sql = f"SELECT * FROM {source}"
        con.execute(f"COPY ({sql}) TO '{out / name}.parquet' (FORMAT parquet)")
        counts[name] = con.execute(f"SELECT count(*) FROM '{out / name}.parquet'").fetchone()[0]
    con.close()
    info = base | {
        "path": str(out),
        "how": f"tiled x{factor} from {Path(base['path']).parent.name}",
        "tile_factor": factor,
        "tile_s": round(time.perf_counter() - started, 1),
        "rows": counts,
    }
    meta.write_text(json.dumps(info, indent=1))
    _progress(f"tiled x{factor}: {counts['events']:,} events")
    return info


def datasets(sizes: Sequence[int], base_events: int, root: Path, seed: int) -> dict[str, Any]:
    """A Parquet store per size: sizes below ``base_events`` simulated on their own, the
    others tiled from the simulated ``base_events`` store."""
    out: dict[str, Any] = {}
    base = None
    for size in sizes:
        if size < base_events:
            out[size_label(size)] = simulated(root, size, seed)
            continue
        base = base or simulated(root, base_events, seed)
        factor = max(1, round(size / base["rows"]["events"]))
        out[size_label(size)] = tiled(root, base, factor) if factor > 1 else base
    return out


def span(path: str) -> tuple[date, date]:
    """The simulated days: from the first event's day, :data:`DAYS` days (the last
    sessions run a few minutes past the last midnight)."""
    import duckdb

    con = duckdb.connect()
    first = con.execute(f"SELECT min(ts) FROM '{path}/events.parquet'").fetchone()[0]
    con.close()
    return first.date(), first.date() + timedelta(days=DAYS - 1)


# -- pandas: the same four analyses, written the way an analyst would --------------------------


def _read(folder: str, table: str, columns: Sequence[str], clock: dict[str, float]) -> Any:
    import pandas as pd

    started = time.perf_counter()
    frame = pd.read_parquet(f"{folder}/{table}.parquet", columns=list(columns))
    clock["read_s"] = clock.get("read_s", 0.0) + time.perf_counter() - started
    return frame


def _session_key(ev: Any) -> Any:
    """user|session, or user|day|YYYY-MM-DD for events without a session (funnel.py's rule)."""
    key = ev["user_id"] + "|" + ev["session_id"]
    missing = key.isna() & ev["user_id"].notna()
    if missing.any():
        day = ev.loc[missing, "ts"].dt.strftime("%Y-%m-%d")
        key = key.mask(missing, ev.loc[missing, "user_id"] + "|day|" + day)
    return key


def _first_rows(frame: Any, by: str, order: str = "ts") -> Any:
    """Each ``by`` group's row with the smallest ``order`` (as ``argmin``)."""
    return frame.sort_values(order, kind="stable").drop_duplicates(by)


def pandas_funnel(folder: str, start: date, end: date, clock: dict[str, float]) -> dict:
    lo, hi = _bounds(start, end)
    day = timedelta(days=1)
    cols = ["name", "ts", "user_id", "session_id", "source", "medium", "value"]
    ev = _read(folder, "events", cols, clock)
    ev = ev[ev["name"].isin(STEPS) & (ev["ts"] >= lo - day) & (ev["ts"] < hi + day)]
    ev = ev.assign(unit=_session_key(ev))
    first = _first_rows(ev[ev["name"] == STEPS[0]], "unit")
    cur = first[(first["ts"] >= lo) & (first["ts"] < hi)]
    cur = cur[["unit", "ts", "source", "medium"]].rename(columns={"ts": "t0"})
    for k, step in enumerate(STEPS[1:], start=1):
        hits = ev.loc[(ev["name"] == step) & ev["unit"].notna(), ["unit", "ts", "value"]]
        pairs = cur[["unit", f"t{k - 1}"]].merge(hits, on="unit")
        pairs = pairs[pairs["ts"] >= pairs[f"t{k - 1}"]]
        aggs = {f"t{k}": ("ts", "min")}
        if k == len(STEPS) - 1:
            aggs["value"] = ("value", "sum")
        cur = cur.merge(pairs.groupby("unit", as_index=False).agg(**aggs), on="unit", how="left")
    counts = {"n0": ("t0", "size"), **{f"n{k}": (f"t{k}", "count") for k in range(1, 4)}}
    cur["key"] = cur["source"].fillna("(not set)") + " / " + cur["medium"].fillna("(not set)")
    groups = cur.groupby("key", as_index=False).agg(**counts, value=("value", "sum"))
    groups = groups.sort_values(["n0", "key"], ascending=[False, True]).head(50)
    return {
        "steps": [len(cur), *(int(cur[f"t{k}"].notna().sum()) for k in range(1, 4))],
        "value": round(float(cur["value"].sum()), 2),
        "groups": {
            row.key: [int(row.n0), int(row.n1), int(row.n2), int(row.n3)]
            for row in groups.itertuples()
        },
    }


def _bounds(start: date, end: date) -> tuple[datetime, datetime]:
    return datetime.combine(start, datetime.min.time()), datetime.combine(
        end + timedelta(days=1), datetime.min.time()
    )


def _purchases(ev: Any) -> Any:
    """One row per purchase (a transaction sent twice counts once, at its first event)."""
    buys = ev[ev["name"] == "purchase"]
    buys = buys.assign(conv=buys["transaction_id"].fillna(buys["event_id"]))
    first = _first_rows(buys, "conv")[["conv", "user_id", "unit", "ts"]]
    first = first.rename(columns={"user_id": "buyer", "ts": "at"})
    amount = buys.groupby("conv", as_index=False).agg(amount=("value", "max"))
    return first.merge(amount, on="conv")


def pandas_acquisition(folder: str, start: date, end: date, clock: dict[str, float]) -> dict:
    import numpy as np

    lo, hi = _bounds(start, end)
    day, back = timedelta(days=1), timedelta(days=LOOKBACK_DAYS)
    cols = [
        "name",
        "ts",
        "user_id",
        "session_id",
        "source",
        "medium",
        "value",
        "transaction_id",
        "event_id",
    ]
    ev = _read(folder, "events", cols, clock)
    ev = ev[(ev["ts"] >= lo - back - day) & (ev["ts"] < hi + day)]
    ev = ev.assign(unit=_session_key(ev))
    # sessions: channel of the first event; those starting in the look-back window too
    wide = _first_rows(ev, "unit")[["unit", "user_id", "ts", "source", "medium"]]
    wide = wide[(wide["ts"] >= lo - back) & (wide["ts"] < hi)].rename(columns={"ts": "start"})
    wide["channel"] = wide["source"].fillna("(direct)") + " / " + wide["medium"].fillna("(none)")
    s = wide[wide["start"] >= lo]
    bought = (
        _purchases(ev)
        .groupby("unit", as_index=False)
        .agg(n=("conv", "size"), paid=("amount", "sum"))
    )
    s = s.merge(bought, on="unit", how="left")
    s["converted"] = s["n"].fillna(0) > 0
    s["revenue"] = s["paid"].fillna(0.0)
    per = s.groupby("channel").agg(
        sessions=("unit", "size"),
        users=("user_id", "nunique"),
        conversions=("converted", "sum"),
        revenue=("revenue", "sum"),
    )
    # attribution: each purchase of the period shared among the buyer's sessions that
    # started within the look-back window before it
    in_period = ev[(ev["ts"] >= lo) & (ev["ts"] < hi)]
    buys = _purchases(in_period[in_period["name"] == "purchase"])
    j = buys.merge(
        wide[["unit", "user_id", "start", "channel"]],
        left_on="buyer",
        right_on="user_id",
        suffixes=("_buy", ""),
    )
    j = j[(j["start"] <= j["at"]) & (j["start"] >= j["at"] - back)]
    j = j.sort_values(["conv", "start", "unit"], kind="stable")
    pos = j.groupby("conv").cumcount().to_numpy()
    n = j.groupby("conv")["start"].transform("size").to_numpy().astype(float)
    first, last = pos == 0, pos == n - 1
    with np.errstate(divide="ignore", invalid="ignore"):
        middle = 0.2 / (n - 2)
    credit = {
        "first_touch": first.astype(float),
        "last_touch": last.astype(float),
        "linear": 1.0 / n,
        "position_based": np.select(
            [n == 1, n == 2, first | last], [1.0, 0.5, 0.4], default=middle
        ),
    }
    amount = j["amount"].fillna(0.0).to_numpy()
    shares = j[["channel"]].assign(
        **{f"{m}_c": c for m, c in credit.items()},
        **{f"{m}_r": c * amount for m, c in credit.items()},
    )
    attributed = shares.groupby("channel").sum()
    totals = {
        "sessions": len(s),
        "users": int(s["user_id"].nunique()),
        "conversions": int(s["converted"].sum()),
        "revenue": round(float(s["revenue"].sum()), 2),
    }
    channels = {}
    for key in list(per.index) + sorted(set(attributed.index) - set(per.index)):
        row = per.loc[key] if key in per.index else None
        channels[key] = _channel_counts(row)
        credited = attributed.loc[key] if key in attributed.index else None
        channels[key]["attributed"] = {
            m: [round(float(credited[f"{m}_c"]), 3), round(float(credited[f"{m}_r"]), 2)]
            if credited is not None
            else [0.0, 0.0]
            for m in MODELS
        }
    return {"totals": totals, "channels": channels}


def _channel_counts(row: Any) -> dict[str, Any]:
    if row is None:
        return {"sessions": 0, "users": 0, "conversions": 0, "revenue": 0.0}
    return {
        "sessions": int(row["sessions"]),
        "users": int(row["users"]),
        "conversions": int(row["conversions"]),
        "revenue": round(float(row["revenue"]), 2),
    }


def _paid_orders(folder: str, as_of: date, clock: dict[str, float]) -> Any:
    """Orders not cancelled up to ``as_of``, keyed by customer id or ``email:`` address."""
    cols = ["customer_id", "email", "created_at", "total", "cancelled_at"]
    o = _read(folder, "orders", cols, clock)
    o = o[o["cancelled_at"].isna() & (o["created_at"] < _bounds(as_of, as_of)[1])]
    who = o["customer_id"].astype("Int64").astype("string")
    who = who.fillna("email:" + o["email"].str.lower())
    o = o.assign(who=who, day=o["created_at"].dt.normalize(), total=o["total"].fillna(0.0))
    return o[o["who"].notna()]


def pandas_cohorts(folder: str, as_of: date, clock: dict[str, float]) -> dict:
    o = _paid_orders(folder, as_of, clock)
    o = o.assign(m=o["day"].dt.year * 12 + o["day"].dt.month - 1)
    o["m0"] = o.groupby("who")["m"].transform("min")
    o["offset"] = o["m"] - o["m0"]
    per = o.groupby(["m0", "offset"]).agg(active=("who", "nunique"), revenue=("total", "sum"))
    sizes = o.drop_duplicates("who")["m0"].value_counts()
    last = as_of.year * 12 + as_of.month - 1
    ended = last if (as_of + timedelta(days=1)).day == 1 else last - 1
    out = {}
    for m0, customers in sorted(sizes.items()):
        if m0 < last - COHORT_MONTHS:
            continue
        reach = min(max(ended - m0, 0), COHORT_MONTHS) + 1
        active = [int(per["active"].get((m0, k), 0)) for k in range(reach)]
        revenue = [round(float(per["revenue"].get((m0, k), 0.0)), 2) for k in range(reach)]
        out[f"{m0 // 12:04d}-{m0 % 12 + 1:02d}"] = {
            "customers": int(customers),
            "active": active,
            "revenue": revenue,
        }
    return {"cohorts": out}


def _scores(values: Any, descending: bool = False) -> Any:
    """1–5 by percent rank (ties share the lowest rank), as SQL's ``percent_rank``."""
    import numpy as np

    rank = values.rank(method="min", ascending=not descending).to_numpy()
    n = len(values)
    percent = (rank - 1) / (n - 1) if n > 1 else np.zeros(n)
    return np.minimum(np.floor(percent * 5).astype("int64") + 1, 5)


def pandas_segments(folder: str, as_of: date, clock: dict[str, float]) -> dict:
    import numpy as np

    o = _paid_orders(folder, as_of, clock)
    per = o.groupby("who").agg(
        customer_id=("customer_id", "max"),
        orders=("who", "size"),
        monetary=("total", "sum"),
        last_order=("day", "max"),
    )
    per["recency_days"] = (datetime.combine(as_of, datetime.min.time()) - per["last_order"]).dt.days
    r, f = _scores(per["recency_days"], descending=True), _scores(per["orders"])
    m = _scores(per["monetary"])
    one = per["orders"].to_numpy() == 1
    per["segment"] = np.select(
        [
            (r >= 4) & (f >= 4),
            (r >= 4) & one,
            (r >= 3) & (f >= 3),
            r >= 3,
            f >= 4,
            (f >= 2) | ((r == 2) & (m >= 4)),
            r == 2,
        ],
        list(SEGMENT_NAMES[:-1]),
        default="lost",
    )
    people = _read(folder, "customers", ["id", "accepts_marketing"], clock)
    per = per.merge(people, left_on="customer_id", right_on="id", how="left")
    per["marketable"] = per["accepts_marketing"].fillna(False).astype(bool)
    agg = per.groupby("segment").agg(
        customers=("segment", "size"), revenue=("monetary", "sum"), marketable=("marketable", "sum")
    )
    return {
        name: _segment_counts(agg.loc[name] if name in agg.index else None)
        for name in SEGMENT_NAMES
    }


def _segment_counts(row: Any) -> list[Any]:
    if row is None:
        return [0, 0, 0.0]
    return [int(row["customers"]), int(row["marketable"]), round(float(row["revenue"]), 2)]


# -- the Ibis analyses, reduced to the same counts ------------------------------------------------


def ibis_query(tables: Any, query: str, start: date, end: date) -> dict:
    from shopmind.insights.acquisition import acquisition
    from shopmind.insights.cohorts import cohorts
    from shopmind.insights.common import Period
    from shopmind.insights.funnel import funnel
    from shopmind.insights.segments import segments

    period = Period(start, end)
    if query == "funnel":
        d = funnel(tables, period, by="source_medium", compare=False).to_dict()
        return {
            "steps": [s["units"] for s in d["steps"]],
            "value": d["value"],
            "groups": {g["key"]: g["units"] for g in d["groups"]},
        }
    if query == "acquisition":
        d = acquisition(tables, period, compare=False).to_dict()
        keep = ("sessions", "users", "conversions", "revenue")
        channels = {}
        for c in d["channels"]:
            channels[c["channel"]] = {k: c[k] for k in keep}
            channels[c["channel"]]["attributed"] = {
                m: [v["conversions"], v["revenue"]] for m, v in c["attributed"].items()
            }
        return {"totals": {k: d["totals"][k] for k in keep}, "channels": channels}
    if query == "cohorts":
        d = cohorts(tables, end, months=COHORT_MONTHS).to_dict()
        return {
            "cohorts": {
                c["cohort"]: {k: c[k] for k in ("customers", "active", "revenue")}
                for c in d["cohorts"]
            }
        }
    d = segments(tables, end).to_dict()
    return {s["segment"]: [s["customers"], s["marketable"], s["revenue"]] for s in d["segments"]}


# -- one engine × query × size in a child process ------------------------------------------


def _hwm_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def _tree(pid: int) -> list[Any]:
    import psutil

    try:
        top = psutil.Process(pid)
        return [top, *top.children(recursive=True)]
    except psutil.Error:
        return []


def _tree_rss_mb(pid: int) -> float:
    import psutil

    total = 0
    for p in _tree(pid):
        with contextlib.suppress(psutil.Error):
            total += p.memory_info().rss
    return total / 2**20


def child(spec: dict[str, Any]) -> dict[str, Any]:
    """Run one engine × query: open, warm up, time ``repeats`` runs; memory of the tree."""
    sys.path.insert(0, str(ROOT / "src"))
    engine, query, folder = spec["engine"], spec["query"], spec["path"]
    start, end = date.fromisoformat(spec["start"]), date.fromisoformat(spec["end"])
    out: dict[str, Any] = {}
    clock: dict[str, float] = {}
    if engine == "pandas":
        run: Callable[[], dict] = {
            "funnel": lambda: pandas_funnel(folder, start, end, clock),
            "acquisition": lambda: pandas_acquisition(folder, start, end, clock),
            "cohorts": lambda: pandas_cohorts(folder, end, clock),
            "segments": lambda: pandas_segments(folder, end, clock),
        }[query]
    else:
        from shopmind.insights.engine import from_parquet, spark_session

        session = None
        if engine == "spark":
            started = time.perf_counter()
            session = spark_session()
            out["session_start_s"] = round(time.perf_counter() - started, 3)
        started = time.perf_counter()
        tables = from_parquet(folder, engine, session=session)
        out["open_s"] = round(time.perf_counter() - started, 3)

        def run() -> dict:
            return ibis_query(tables, query, start, end)

    out["baseline_mb"] = round(_tree_rss_mb(os.getpid()), 1)
    out["load_average_start"] = round(os.getloadavg()[0], 2)
    seconds, reads = [], []
    for _ in range(1 + spec["repeats"]):
        clock.clear()
        started = time.perf_counter()
        answer = run()
        seconds.append(round(time.perf_counter() - started, 4))
        reads.append(round(clock.get("read_s", 0.0), 4))
    out["warmup_s"], out["runs_s"] = seconds[0], seconds[1:]
    if engine == "pandas":
        out["read_s"] = reads[1:]
    out["median_s"] = round(statistics.median(seconds[1:]), 4)
    out["min_s"] = min(seconds[1:])
    out["load_average_end"] = round(os.getloadavg()[0], 2)
    per_process = {p.pid: _hwm_kb(p.pid) for p in _tree(os.getpid())}
    out["peak_mb"] = round(sum(per_process.values()) / 1024, 1)
    out["python_peak_mb"] = round(per_process.get(os.getpid(), 0) / 1024, 1)
    out["processes"] = len(per_process)
    out["answer"] = answer
    if engine == "spark":
        from shopmind.insights.engine import spark_session

        spark_session().stop()
    return out


def skipped(
    engine: str, query: str, size: str, data: dict, result: dict, spark_up_to: int
) -> str | None:
    """Why ``engine`` does not run ``query`` at ``size`` (``None``: it runs): Spark above
    ``spark_up_to``; pandas where its peak at the size below, grown with the events,
    would pass :data:`PANDAS_MEMORY_SHARE` of the machine's memory."""
    events = data["rows"]["events"]
    if engine == "spark" and events > spark_up_to * 1.1:
        return f"Spark runs up to {size_label(spark_up_to)} events"
    if engine != "pandas":
        return None
    smaller = [
        (result["data"][k]["rows"]["events"], c[query]["pandas"])
        for k, c in result["cases"].items()
        if k != size and "peak_mb" in c.get(query, {}).get("pandas", {})
    ]
    if not smaller:
        return None
    rows, case = max(smaller, key=lambda x: x[0])
    need = case["peak_mb"] * events / rows / 1024
    have = result["machine"]["memory_gb"]
    if need > PANDAS_MEMORY_SHARE * have:
        return f"would need about {need:.0f} GB of the machine's {have:.0f} GB"
    return None


def run_child(spec: dict[str, Any], timeout: float) -> dict[str, Any]:
    """``child(spec)`` in a fresh process; the parent samples its tree's RSS meanwhile."""
    with tempfile.NamedTemporaryFile("w+", suffix=".json") as fh:
        cmd = [sys.executable, __file__, "--child", json.dumps(spec), "--child-out", fh.name]
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        peak = [0.0]
        done = threading.Event()

        def sample() -> None:
            while not done.is_set():
                peak[0] = max(peak[0], _tree_rss_mb(proc.pid))
                done.wait(0.05)

        watcher = threading.Thread(target=sample, daemon=True)
        watcher.start()
        try:
            _, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            for p in reversed(_tree(proc.pid)):
                p.kill()
            proc.communicate()
            return {"error": f"timed out after {timeout:.0f} s"}
        finally:
            done.set()
            watcher.join()
        text = Path(fh.name).read_text()
    if proc.returncode != 0 or not text:
        return {"error": f"exit {proc.returncode}: {err.strip().splitlines()[-5:]}"}
    out = json.loads(text)
    out["sampled_peak_mb"] = round(peak[0], 1)
    return out


# -- checks ------------------------------------------------------------------------------------


def differences(a: Any, b: Any, where: str = "") -> list[str]:
    """Where two answers differ (counts exactly; money to a cent; credit to 0.001)."""
    if isinstance(a, dict) and isinstance(b, dict):
        out = []
        for key in sorted(set(a) | set(b)):
            if key not in a or key not in b:
                out.append(f"{where}/{key}: only in {'the first' if key in a else 'the second'}")
            else:
                out += differences(a[key], b[key], f"{where}/{key}")
        return out
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return [f"{where}: {a} != {b}"]
        return [
            d
            for k, (x, y) in enumerate(zip(a, b, strict=True))
            for d in differences(x, y, f"{where}[{k}]")
        ]
    if isinstance(a, float) or isinstance(b, float):
        same = abs(float(a) - float(b)) <= 0.0105 + 1e-9 * abs(float(a))
        return [] if same else [f"{where}: {a} != {b}"]
    return [] if a == b else [f"{where}: {a!r} != {b!r}"]


def headline(query: str, answer: dict) -> str:
    """The counts the agreement line shows."""
    if query == "funnel":
        return "steps " + " → ".join(f"{n:,}" for n in answer["steps"])
    if query == "acquisition":
        t = answer["totals"]
        channels = len(answer["channels"])
        return f"{t['sessions']:,} sessions, {t['conversions']:,} conversions, {channels} channels"
    if query == "cohorts":
        sizes = [c["customers"] for c in answer["cohorts"].values()]
        return f"{len(sizes)} cohorts of " + ", ".join(f"{n:,}" for n in sizes) + " customers"
    return ", ".join(f"{k} {v[0]:,}" for k, v in answer.items())


def scale_check(small: dict, big: dict, factor: int) -> dict[str, bool]:
    """Tiling keeps rates: the big store's counts are ``factor`` × the small store's."""
    out = {}
    if "funnel" in small and "funnel" in big:
        out["funnel steps"] = big["funnel"]["steps"] == [
            factor * n for n in small["funnel"]["steps"]
        ]
    if "acquisition" in small and "acquisition" in big:
        per = {k: v["sessions"] for k, v in small["acquisition"]["channels"].items()}
        out["sessions per channel"] = {
            k: v["sessions"] for k, v in big["acquisition"]["channels"].items()
        } == {k: factor * v for k, v in per.items()}
    if "cohorts" in small and "cohorts" in big:
        out["cohort sizes"] = {k: v["customers"] for k, v in big["cohorts"]["cohorts"].items()} == {
            k: factor * v["customers"] for k, v in small["cohorts"]["cohorts"].items()
        }
    return out


# -- CDNOW -----------------------------------------------------------------------------------


def cdnow(shared: Path, repeats: int) -> dict[str, Any]:
    path = shared / "analytics" / "cdnow" / "CDNOW_sample.txt"
    if not path.is_file():
        return {"skipped": f"{path} not found (set --shared or SHOPMIND_SHARED_DATA)"}
    from shopmind.insights.clv import BetaGeo, GammaGamma, read_transactions_csv, summarize

    lines = ["customer_id,date,amount"]
    for raw in path.read_text().splitlines():
        if raw.strip():
            customer, _sample, day, _cds, amount = raw.split()
            lines.append(f"{customer},{day},{amount}")
    times: dict[str, list[float]] = {"read_and_summarize": [], "bgnbd": [], "gamma_gamma": []}
    with tempfile.TemporaryDirectory() as tmp:
        csv_path = Path(tmp) / "cdnow.csv"
        csv_path.write_text("\n".join(lines) + "\n")
        for _ in range(repeats):
            started = time.perf_counter()
            tx = read_transactions_csv(csv_path)
            s = summarize(tx, calibration_end="1997-09-30", freq="W")
            times["read_and_summarize"].append(time.perf_counter() - started)
            started = time.perf_counter()
            bg = BetaGeo().fit(s["frequency"], s["recency"], s["T"])
            times["bgnbd"].append(time.perf_counter() - started)
            started = time.perf_counter()
            gg = GammaGamma().fit(s["frequency"], s["monetary"])
            times["gamma_gamma"].append(time.perf_counter() - started)
    return {
        "file": str(path),
        "transactions": len(tx),
        "customers": len(s),
        "repeat_customers": int((s["frequency"] > 0).sum()),
        "calibration_end": "1997-09-30",
        "freq": "W",
        "published": PUBLISHED,
        "ours": {
            "bgnbd": {n: getattr(bg, f"{n}_") for n in (*PUBLISHED["bgnbd"], "converged")},
            "gamma_gamma": {
                n: getattr(gg, f"{n}_") for n in (*PUBLISHED["gamma_gamma"], "converged")
            },
        },
        "seconds": {k: round(statistics.median(v), 4) for k, v in times.items()},
    }


# -- tables ------------------------------------------------------------------------------------


def _cell(case: dict[str, Any] | None, key: str, fmt: str = "{:.2f}") -> str:
    if not case:
        return "–"
    if "error" in case:
        return "failed"
    if "skipped" in case:
        return "skipped"
    return fmt.format(case[key])


def _ratio(a: dict | None, b: dict | None, key: str) -> float | None:
    if not a or not b or key not in a or key not in b or not b[key]:
        return None
    return a[key] / b[key]


def _engines(result: dict[str, Any]) -> list[str]:
    return result["settings"]["engines"]


def _speed_tables(result: dict[str, Any]) -> list[tuple[str, list[str], list[list[str]]]]:
    out = []
    engines = _engines(result)
    others = [e for e in engines if e != "pandas"] if "pandas" in engines else []
    header = ["query", *(f"{e} s" for e in engines)]
    header += [f"{e} ×faster than pandas" for e in others]
    header += [f"{e} peak MB" for e in engines]
    for size, per_query in result["cases"].items():
        rows = []
        for query, c in per_query.items():
            row = [query, *(_cell(c.get(e), "median_s") for e in engines)]
            for e in others:
                r = _ratio(c.get("pandas"), c.get(e), "median_s")
                row.append(f"{r:.1f}×" if r is not None else "–")
            rows.append(row + [_cell(c.get(e), "peak_mb", "{:,.0f}") for e in engines])
        data = result["data"][size]["rows"]
        title = (
            f"{size}: {data['events']:,} events, {data['orders']:,} orders "
            f"({result['data'][size]['how']}); median of {result['settings']['repeats']} "
            "runs after a warm-up; peak RSS of the process tree"
        )
        out.append((title, header, rows))
    return out


def _side_table(result: dict[str, Any]) -> list[tuple[str, list[str], list[list[str]]]]:
    rows = []
    for size, per_query in result["cases"].items():
        spark = [c["spark"] for c in per_query.values() if "session_start_s" in c.get("spark", {})]
        if spark:
            start = statistics.median(c["session_start_s"] for c in spark)
            rows.append([size, "Spark session start (median over its processes)", f"{start:.1f} s"])
        loads = [
            x
            for c in per_query.values()
            for e in c.values()
            if "median_s" in e
            for x in (e["load_average_start"], e["load_average_end"])
        ]
        if loads:
            rows.append(
                [
                    size,
                    "machine load (1-min average) during the runs",
                    f"{min(loads):.1f}–{max(loads):.1f}",
                ]
            )
        for query, c in per_query.items():
            p = c.get("pandas")
            if p and "read_s" in p:
                read = statistics.median(p["read_s"])
                rows.append([size, f"pandas {query}: reading Parquet", f"{read:.2f} s"])
            for engine, case in c.items():
                if "skipped" in case:
                    rows.append([size, f"{engine} {query} skipped", case["skipped"]])
    return [("Apart from the query times", ["size", "what", "value"], rows)] if rows else []


def _growth_table(result: dict[str, Any]) -> list[tuple[str, list[str], list[list[str]]]]:
    sizes = list(result["cases"])
    out = []
    for lo, hi in itertools.pairwise(sizes):
        factor = result["data"][hi]["rows"]["events"] / result["data"][lo]["rows"]["events"]
        rows = []
        for query in result["cases"][hi]:
            for e in _engines(result):
                a = result["cases"][lo].get(query, {}).get(e)
                b = result["cases"][hi].get(query, {}).get(e)
                t, m = _ratio(b, a, "median_s"), _ratio(b, a, "peak_mb")
                if t is not None and m is not None:
                    peaks = f"{a['peak_mb']:,.0f} → {b['peak_mb']:,.0f}"
                    rows.append([query, e, f"{t:.1f}×", peaks, f"{m:.2f}×"])
        header = ["query", "engine", "time ×", "peak MB", "peak memory ×"]
        out.append((f"Growth from {lo} to {hi} ({factor:.1f}× the events)", header, rows))
    return out


def _goal_table(result: dict[str, Any]) -> list[tuple[str, list[str], list[list[str]]]]:
    g = result.get("goal")
    if not g:
        return []
    rows = []
    for q, v in g["speedup"].items():
        growth = g["memory_growth"].get(q)
        rows.append(
            [
                q,
                f"{v:.1f}×" if v is not None else "–",
                f"{growth:.2f}×" if growth is not None else "–",
                "yes" if g["met_by"][q] else "no",
            ]
        )
    title = (
        f"Goal: DuckDB ≥ {GOAL_SPEEDUP:.0f}× faster than pandas at {g['size']} with flat "
        f"memory (DuckDB's peak grows ≤ {FLAT_GROWTH}× from {g['flat_from']} to "
        f"{g['flat_to']}); met for: {', '.join(q for q, ok in g['met_by'].items() if ok) or 'none'}"
    )
    header = ["query", "DuckDB ×faster than pandas", "DuckDB peak memory ×", "met"]
    return [(title, header, rows)]


def _cdnow_table(result: dict[str, Any]) -> list[tuple[str, list[str], list[list[str]]]]:
    clv = result.get("cdnow")
    if not clv or "skipped" in clv:
        return []
    rows = []
    for model, published in clv["published"].items():
        for name, value in published.items():
            rows.append([model, name, f"{value:g}", f"{clv['ours'][model][name]:.3f}"])
        rows.append([model, "fit s", "", f"{clv['seconds'][model]:.3f}"])
    title = (
        f"CDNOW sample: {clv['customers']:,} customers ({clv['repeat_customers']} with a "
        f"repeat purchase), calibration to {clv['calibration_end']}, weeks; read + summarize "
        f"{clv['seconds']['read_and_summarize']:.3f} s"
    )
    return [(title, ["model", "parameter", "published", "ours"], rows)]


def tables(result: dict[str, Any]) -> list[tuple[str, list[str], list[list[str]]]]:
    """(title, header, rows) for every table of a result."""
    return [
        *_speed_tables(result),
        *_side_table(result),
        *_growth_table(result),
        *_goal_table(result),
        *_cdnow_table(result),
    ]


def show(result: dict[str, Any]) -> None:
    for title, header, rows in tables(result):
        widths = [max(len(str(x)) for x in col) for col in zip(header, *rows, strict=True)]
        print(f"\n{title}")
        print("  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)))
        for row in rows:
            print("  ".join(str(x).ljust(w) for x, w in zip(row, widths, strict=True)))


def markdown(result: dict[str, Any]) -> str:
    m = result["machine"]
    out = [
        f"{result['date']}, {m['cpus']} CPUs ({m['cpu']}), {m['memory_gb']} GB; DuckDB "
        f"{m['duckdb']} ({m['duckdb_threads']} threads), pandas {m['pandas']}, PySpark "
        f"{m['pyspark']} ({m['spark_master']}), Ibis {m['ibis']}.",
        "",
    ]
    for title, header, rows in tables(result):
        text = [sum(c[:1].isalpha() for c in col) * 2 > len(col) for col in zip(*rows, strict=True)]
        rule = "|".join("---" if k == 0 or t else "--:" for k, t in enumerate(text))
        out += [f"**{title}**", "", "| " + " | ".join(header) + " |", f"|{rule}|"]
        out += ["| " + " | ".join(row) + " |" for row in rows]
        out.append("")
    return "\n".join(out)


def goal(result: dict[str, Any]) -> dict[str, Any] | None:
    """Per query: DuckDB ≥ :data:`GOAL_SPEEDUP` × pandas at :data:`GOAL_SIZE` (else the
    largest size pandas ran at), and DuckDB's peak growing ≤ :data:`FLAT_GROWTH` × over the
    last step of sizes (memory that stops growing: DuckDB spills past its cap)."""
    cases, sizes = result["cases"], list(result["cases"])
    if not {"duckdb", "pandas"} <= set(_engines(result)) or len(sizes) < 2:
        return None
    with_pandas = [
        k for k in sizes if any("median_s" in c.get("pandas", {}) for c in cases[k].values())
    ]
    if not with_pandas:
        return None
    at = GOAL_SIZE if GOAL_SIZE in with_pandas else with_pandas[-1]
    lo, hi = sizes[-2], sizes[-1]
    speedup, growth, met = {}, {}, {}
    for query, c in cases[at].items():
        speedup[query] = _ratio(c.get("pandas"), c.get("duckdb"), "median_s")
        big, small = cases[hi].get(query, {}), cases[lo].get(query, {})
        growth[query] = _ratio(big.get("duckdb"), small.get("duckdb"), "peak_mb")
        met[query] = (
            speedup[query] is not None
            and speedup[query] >= GOAL_SPEEDUP
            and growth[query] is not None
            and growth[query] <= FLAT_GROWTH
        )
    return {
        "size": at,
        "flat_from": lo,
        "flat_to": hi,
        "speedup": speedup,
        "memory_growth": growth,
        "met_by": met,
        "met": all(met.values()),
        "met_for_event_queries": all(met.get(q, False) for q in EVENT_QUERIES if q in met),
    }


# -- main --------------------------------------------------------------------------------------


def machine() -> dict[str, Any]:
    import duckdb
    import ibis
    import pandas
    import pyarrow

    lines = Path("/proc/cpuinfo").read_text().splitlines()
    models = [ln.split(":", 1)[1].strip() for ln in lines if ln.startswith("model name")]
    info = {
        "cpus": os.cpu_count(),
        "cpu": models[0] if models else platform.processor(),
        "memory_gb": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "duckdb": duckdb.__version__,
        "ibis": ibis.__version__,
        "pandas": pandas.__version__,
        "pyarrow": pyarrow.__version__,
        "duckdb_threads": os.environ.get("SHOPMIND_THREADS") or min(4, os.cpu_count() or 1),
        "spark_master": os.environ.get("SHOPMIND_SPARK_MASTER", "local[2]"),
    }
    try:
        import pyspark

        info["pyspark"] = pyspark.__version__
        java = subprocess.run(["java", "-version"], capture_output=True, text=True)
        info["java"] = (java.stderr or java.stdout).splitlines()[0]
    except (ImportError, OSError, IndexError):
        info["pyspark"] = None
    try:
        head = ["git", "rev-parse", "HEAD"]
        info["commit"] = subprocess.run(
            head, cwd=ROOT, text=True, capture_output=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        info["commit"] = None
    return info


def parse(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--sizes", default="1M,10M,50M", help="events per store: 1M,10M,50M")
    p.add_argument(
        "--spark-up-to",
        default="10M",
        help="largest size Spark runs at (its 50M runs would take most of an hour here)",
    )
    p.add_argument("--engines", default=",".join(ENGINES))
    p.add_argument("--queries", default=",".join(QUERIES))
    p.add_argument("--repeats", type=int, default=3, help="timed runs after one warm-up")
    p.add_argument("--quick", action="store_true", help="smoke run: 100k events, one run")
    p.add_argument(
        "--simulate", default="1M", help="events simulated; larger sizes are this store tiled"
    )
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--data",
        default=os.environ.get("SHOPMIND_BENCH_DATA", "/tmp/shopmind-bench"),
        help="where the simulated stores' Parquet folders are kept",
    )
    p.add_argument(
        "--shared",
        default=os.environ.get("SHOPMIND_SHARED_DATA", str(ROOT.parent / "shared" / "data")),
    )
    p.add_argument("--timeout", type=float, default=1800, help="seconds per engine × query")
    p.add_argument("--out", default=str(ROOT / "bench" / "results" / "insights.json"))
    p.add_argument("--markdown", metavar="JSON", help="print a result file's tables as Markdown")
    p.add_argument("--child", help=argparse.SUPPRESS)
    p.add_argument("--child-out", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.quick:
        args.sizes, args.simulate, args.repeats = "100k", "100k", 1
    args.sizes = sorted(parse_size(s) for s in args.sizes.split(",") if s.strip())
    args.spark_up_to = parse_size(args.spark_up_to) if not args.quick else args.sizes[-1]
    args.engines = [e for e in args.engines.split(",") if e]
    args.queries = [q for q in args.queries.split(",") if q]
    for e in args.engines:
        if e not in ENGINES:
            p.error(f"unknown engine {e!r}")
    for q in args.queries:
        if q not in QUERIES:
            p.error(f"unknown query {q!r}")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse(argv)
    if args.child:
        answer = child(json.loads(args.child))
        Path(args.child_out).write_text(json.dumps(answer))
        return 0
    if args.markdown:
        print(markdown(json.loads(Path(args.markdown).read_text(encoding="utf-8"))), end="")
        return 0
    sys.path.insert(0, str(ROOT / "src"))
    started = time.perf_counter()
    result: dict[str, Any] = {
        "benchmark": "insights",
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "settings": {
            "sizes": [size_label(s) for s in args.sizes],
            "engines": args.engines,
            "queries": args.queries,
            "repeats": args.repeats,
            "spark_up_to": size_label(args.spark_up_to),
            "seed": args.seed,
            "quick": args.quick,
        },
        "machine": machine(),
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)

    def save() -> None:
        out.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")

    root = Path(args.data)
    result["data"] = datasets(args.sizes, parse_size(args.simulate), root, args.seed)
    first = next(iter(result["data"].values()))
    start, end = span(first["path"])
    result["period"] = {"start": start.isoformat(), "end": end.isoformat()}
    result["cases"] = {}
    result["agreement"] = {}
    for size, data in result["data"].items():
        per_query: dict[str, Any] = {}
        result["cases"][size] = per_query
        for turn, query in enumerate(args.queries):
            per_query[query] = {}
            # engines take turns, the order flipped every other query: a burst of load from
            # elsewhere on the machine does not always land on the same engine
            for engine in args.engines if turn % 2 == 0 else args.engines[::-1]:
                skip = skipped(engine, query, size, data, result, args.spark_up_to)
                if skip:
                    per_query[query][engine] = {"skipped": skip}
                    _progress(f"{size} {query}: {engine} skipped: {skip}")
                    continue
                _progress(f"{size} {query}: {engine}")
                spec = {
                    "engine": engine,
                    "query": query,
                    "path": data["path"],
                    "start": start.isoformat(),
                    "end": end.isoformat(),
                    "repeats": args.repeats,
                }
                case = run_child(spec, args.timeout)
                per_query[query][engine] = case
                _progress(
                    f"  {case['error']}"
                    if "error" in case
                    else f"  median {case['median_s']:.2f} s, peak {case['peak_mb']:,.0f} MB"
                )
                save()
            answers = {e: c["answer"] for e, c in per_query[query].items() if "answer" in c}
            if answers:
                ref_engine, ref = next(iter(answers.items()))
                diffs = {e: differences(ref, a)[:5] for e, a in answers.items() if e != ref_engine}
                agree = not any(diffs.values())
                result["agreement"].setdefault(size, {})[query] = {
                    "engines": list(answers),
                    "agree": agree,
                    "counts": headline(query, ref),
                    "differences": {e: d for e, d in diffs.items() if d},
                    "answer": ref,
                }
                for c in per_query[query].values():
                    c.pop("answer", None)
                line = "agree" if agree else f"DISAGREE {diffs}"
                print(
                    f"{size} {query}: {', '.join(answers)} {line}: {headline(query, ref)}",
                    flush=True,
                )
            save()
    sizes = list(result["data"])

    def answers_at(size: str) -> dict[str, Any]:
        return {q: a["answer"] for q, a in result["agreement"].get(size, {}).items()}

    if len(sizes) > 1:
        result["scale_check"] = {}
        lo = sizes[0]
        for hi in sizes[1:]:
            factor = result["data"][hi].get("tile_factor")
            if not factor:
                continue

            check = scale_check(answers_at(lo), answers_at(hi), factor)
            result["scale_check"][hi] = check
            print(
                f"{hi} = {factor} × {lo}: "
                + ", ".join(f"{k} {'yes' if v else 'NO'}" for k, v in check.items())
            )
    result["goal"] = goal(result)
    _progress("CDNOW")
    result["cdnow"] = cdnow(Path(args.shared), max(1, args.repeats))
    if "skipped" in result["cdnow"]:
        print(f"CDNOW skipped: {result['cdnow']['skipped']}")
    result["seconds"] = round(time.perf_counter() - started, 1)
    save()
    show(result)
    print(f"\n(JSON: {out})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
