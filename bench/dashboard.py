"""Dashboard benchmark: page times on big stores, and what the daily aggregates cost writers.

Two parts, each side by side with its baseline in one run:

- ``pages``: on simulated stores of each ``--sizes`` (events) on SQLite and PostgreSQL, the
  server time of the overview page (its default 28 days, and a 365-day period) and of
  product pages, p50 and p95 over ``--requests`` requests each; then the overview's figures
  computed the way a dashboard without aggregates would, by scanning the period's events
  and orders (``scan_figures``), timed the same way and checked against the aggregates.
  Server time is measured by an ASGI wrapper around the app: from the request reaching the
  app to the last byte of the response (the in-process client is not counted).
- ``write``: ``import events`` (a CSV) and ``POST /v1/events`` (100-event batches over HTTP
  to a uvicorn server, one client with keep-alive) with the aggregates on and off, in fresh
  child processes and fresh databases, interleaved, ``--repeat`` times; medians and their
  ratio. "Off" replaces the write path's calls into ``shopmind.store.daily`` with no-ops,
  so the difference is exactly what keeping the aggregates costs.

    python bench/dashboard.py --quick                       # smoke run, a few minutes
    python bench/dashboard.py --part pages --sizes 1000000,10000000 --reuse
    python bench/dashboard.py --part write
    python bench/dashboard.py --markdown bench/results/dashboard.json

Stores are built once per size and backend by ``simulate`` (365 days, customers calibrated
to the event count) in ``--data-dir``; ``--reuse`` keeps and reuses them between runs.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from ingest import Backends, calibrate, conninfo, machine, snapshot_source, write_csv

ROOT = Path(__file__).resolve().parents[1]
ADMIN = ("bench@example.com", "a long benchmark password")
DAYS = 365
PRODUCTS = 2000
API_BATCH = 100


# --- aggregates off: the write path without its calls into shopmind.store.daily --------------


def aggregates_off() -> None:
    """Make the write path skip the daily aggregates (the "off" side of the write part)."""
    import shopmind.store.events as events_module
    import shopmind.store.importers.events as importer

    def nothing(*_args: Any, **_kwargs: Any) -> int:
        return 0

    events_module.add_events = nothing  # type: ignore[assignment]
    importer.add_stored_events = nothing  # type: ignore[assignment]


# --- server time ----------------------------------------------------------------------------


class Timed:
    """ASGI wrapper: the seconds each HTTP request spent in the app, last one in ``seconds``."""

    def __init__(self, app: Any) -> None:
        self.app, self.seconds = app, 0.0

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        try:
            await self.app(scope, receive, send)
        finally:
            self.seconds = time.perf_counter() - started


def quantiles(values: Sequence[float]) -> dict[str, float]:
    """p50 and p95 in milliseconds (nearest-rank p95)."""
    ordered = sorted(values)
    p95 = ordered[max(0, -(-95 * len(ordered) // 100) - 1)]
    return {
        "p50_ms": round(statistics.median(ordered) * 1000, 1),
        "p95_ms": round(p95 * 1000, 1),
        "n": len(ordered),
    }


# --- the figures by scanning events and orders --------------------------------------------


def scan_figures(conn: Any, start: date, end: date) -> dict[str, Any]:
    """The overview's figures for ``start``..``end`` and the as many days before, computed
    from events and orders at request time: what the page would cost without aggregates.

    Sessions are read from the events of both periods: each session's earliest event there
    (by time, then event id) gives its day, source and medium; it converted when it holds a
    purchase. A session that began before the window is counted from its first event inside
    it (the only difference from the aggregates, which see all of history).
    """
    from sqlalchemy import case, func, select

    from shopmind.store.models import Event, Order, OrderLine, Product

    days = (end - start).days + 1
    lo = datetime.combine(start - timedelta(days=days), datetime.min.time())
    mid = datetime.combine(start, datetime.min.time())
    hi = datetime.combine(end + timedelta(days=1), datetime.min.time())
    own = case((Event.session_id.is_(None), func.date(Event.ts)))
    part = (Event.user_id, Event.session_id, own)
    ranked = (
        select(
            Event.ts,
            func.coalesce(Event.source, "").label("source"),
            func.coalesce(Event.medium, "").label("medium"),
            func.row_number()
            .over(partition_by=part, order_by=(Event.ts, Event.event_id))
            .label("n"),
            func.max(case((Event.name == "purchase", 1), else_=0))
            .over(partition_by=part)
            .label("bought"),
        )
        .where(Event.ts >= lo, Event.ts < hi)
        .subquery()
    )
    day = func.date(ranked.c.ts)
    sessions = conn.execute(
        select(day, ranked.c.source, ranked.c.medium, func.count(), func.sum(ranked.c.bought))
        .where(ranked.c.n == 1)
        .group_by(day, ranked.c.source, ranked.c.medium)
    ).all()
    order_day = func.date(Order.created_at)
    sales = conn.execute(
        select(order_day, Order.source, Order.medium, func.count(), func.sum(Order.total))
        .where(Order.cancelled_at.is_(None), Order.created_at >= lo, Order.created_at < hi)
        .group_by(order_day, Order.source, Order.medium)
    ).all()
    revenue = func.sum(OrderLine.price * OrderLine.quantity - OrderLine.discount)
    top = conn.execute(
        select(OrderLine.product_id, Product.title, func.sum(OrderLine.quantity), revenue)
        .join(Order, Order.id == OrderLine.order_id)
        .join(Product, Product.id == OrderLine.product_id)
        .where(Order.cancelled_at.is_(None), Order.created_at >= mid, Order.created_at < hi)
        .group_by(OrderLine.product_id, Product.title)
        .order_by(revenue.desc(), func.sum(OrderLine.quantity).desc(), OrderLine.product_id)
        .limit(10)
    ).all()
    ids = [row[0] for row in top]
    looked = conn.execute(
        select(
            Product.id,
            func.sum(case((Event.name == "view_item", 1), else_=0)),
            func.sum(case((Event.name == "add_to_cart", 1), else_=0)),
        )
        .join(Product, Product.external_id == Event.item_id)
        .where(Event.ts >= mid, Event.ts < hi, Product.id.in_(ids or [0]))
        .where(Event.name.in_(["view_item", "add_to_cart"]))
        .group_by(Product.id)
    ).all()
    views = {pid: (int(v), int(c)) for pid, v, c in looked}

    def as_day(value: Any) -> date:
        return value if isinstance(value, date) else date.fromisoformat(str(value))

    now: dict[str, float] = {"revenue": 0.0, "orders": 0, "sessions": 0, "converted": 0}
    then = dict(now)
    series: dict[date, list[float]] = {}
    sources: dict[tuple[str, str], list[float]] = {}
    for d, source, medium, n, bought in sessions:
        d = as_day(d)
        side = now if d >= start else then
        side["sessions"] += n
        side["converted"] += int(bought or 0)
        if d >= start:
            series.setdefault(d, [0.0, 0, 0])[2] += n
            row = sources.setdefault((source, medium), [0, 0, 0, 0.0])
            row[0] += n
            row[1] += int(bought or 0)
    for d, source, medium, n, total in sales:
        d = as_day(d)
        side = now if d >= start else then
        side["orders"] += n
        side["revenue"] += float(total or 0)
        if d >= start:
            per = series.setdefault(d, [0.0, 0, 0])
            per[0] += float(total or 0)
            per[1] += n
            row = sources.setdefault((source or "", medium or ""), [0, 0, 0, 0.0])
            row[2] += n
            row[3] += float(total or 0)
    return {
        "now": {k: round(v, 2) for k, v in now.items()},
        "then": {k: round(v, 2) for k, v in then.items()},
        "days": len(series),
        "sources": len(sources),
        "top": [
            (pid, int(units), round(float(rev), 2), *views.get(pid, (0, 0)))
            for pid, _t, units, rev in top
        ],
    }


def aggregate_figures(store: Any, start: date, end: date) -> dict[str, Any]:
    """The same figures as the overview page reads them."""
    from shopmind.store import daily

    figures = daily.overview(store, start, end)
    daily.daily_series(store, start, end)
    daily.by_source(store, start, end)
    top = daily.top_products(store, start, end, n=10)
    return {
        "now": {
            "revenue": figures.revenue.value,
            "orders": figures.orders.value,
            "sessions": figures.sessions.value,
        },
        "then": {
            "revenue": figures.revenue.previous,
            "orders": figures.orders.previous,
            "sessions": figures.sessions.previous,
        },
        "top": [(p.product_id, p.units, p.revenue, p.views, p.add_to_carts) for p in top],
    }


# --- part 1: pages --------------------------------------------------------------------------


@contextmanager
def bench_store(backend: str, size: int, opts: argparse.Namespace) -> Iterator[str]:
    """A simulated store of about ``size`` events: built here, or reused with ``--reuse``."""
    name = f"shopmind_dash_{size}_{opts.seed}"
    if backend == "sqlite":
        url = f"sqlite:///{Path(opts.data_dir) / (name + '.db')}"
    else:
        import psycopg
        from sqlalchemy.engine import make_url

        url = make_url(opts.postgres_url).set(database=name).render_as_string(False)
        with psycopg.connect(conninfo(opts.postgres_url), autocommit=True) as conn:
            exists = conn.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", (name,)
            ).fetchone()
            if exists and not opts.reuse:
                conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')  # name built here
                exists = None
            if not exists:
                conn.execute(f'CREATE DATABASE "{name}"')
    if backend == "sqlite" and not opts.reuse:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{url[len('sqlite:///') :]}{suffix}").unlink(missing_ok=True)
    try:
        yield url
    finally:
        if opts.reuse:
            pass
        elif backend == "sqlite":
            for suffix in ("", "-wal", "-shm"):
                Path(f"{url[len('sqlite:///') :]}{suffix}").unlink(missing_ok=True)
        else:
            import psycopg

            with psycopg.connect(conninfo(opts.postgres_url), autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def build(url: str, size: int, opts: argparse.Namespace) -> dict[str, Any]:
    """Simulate the store (unless a reused one is there) and score its reviews (lexicon)."""
    from shopmind.reviews.service import analyze, load_model
    from shopmind.simulate import SimulationConfig, simulate
    from shopmind.store import Store

    store = Store(url)
    store.upgrade()
    stored = store.stats()
    if stored["events"] >= 0.9 * size:
        store.dispose()
        return {"events": stored["events"], "built_s": None, "reused": True}
    customers = calibrate(size, DAYS, opts.seed)
    config = SimulationConfig(customers=customers, days=DAYS, products=PRODUCTS, seed=opts.seed)
    started = time.perf_counter()
    print(f"  simulating {customers:,} customers x {DAYS} days ...", flush=True)
    simulate(store, config, truth_path=Path(opts.data_dir) / f"truth-{os.getpid()}.json")
    built = time.perf_counter() - started
    models = Path(tempfile.mkdtemp(dir=opts.data_dir))
    report = analyze(store, load_model(models, "lexicon"))
    shutil.rmtree(models)
    events = store.stats()["events"]
    store.dispose()
    print(
        f"  built {events:,} events in {built:.0f} s; {report.reviews:,} reviews scored", flush=True
    )
    return {"events": events, "built_s": round(built, 1), "reused": False}


def pages_case(url: str, opts: argparse.Namespace) -> dict[str, Any]:
    """Time the pages and the scan on one store (in this process)."""
    from fastapi.testclient import TestClient
    from sqlalchemy import func, select

    from shopmind.api.app import create_app
    from shopmind.config import init_workspace, load_settings
    from shopmind.store import Store, daily, users
    from shopmind.store.models import Review
    from shopmind.web import charts
    from shopmind.web.pages.overview import period

    workspace = Path(tempfile.mkdtemp(dir=opts.data_dir))
    init_workspace(workspace)
    settings = load_settings(workspace, database_url=url)
    store = Store(url)
    if users.get_user(store, ADMIN[0]) is None:
        users.add_user(store, ADMIN[0], ADMIN[1], "admin")
    with store.engine.connect() as conn:
        reviewed = (
            conn.execute(
                select(Review.product_id)
                .where(Review.product_id.is_not(None))
                .group_by(Review.product_id)
                .order_by(func.count().desc(), Review.product_id)
                .limit(200)
            )
            .scalars()
            .all()
        )
    rng = random.Random(opts.seed)
    timed = Timed(create_app(settings, store=store))
    out: dict[str, Any] = {}
    with TestClient(timed, base_url="http://shop.test") as client:
        page = client.get("/login")
        token = page.text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
        client.post(
            "/login",
            data={"email": ADMIN[0], "password": ADMIN[1], "csrf_token": token, "next": "/"},
        )

        def server_times(paths: Callable[[int], str], cold: bool = True) -> list[float]:
            """Cold: every chart drawn anew (the first view after the data changed)."""
            for i in range(3):  # warm-up: templates compiled, charts' renderer started
                client.get(paths(i))
            seconds = []
            for i in range(opts.requests):
                if cold:
                    charts.clear_cache()
                answer = client.get(paths(i))
                if answer.status_code != 200:
                    raise RuntimeError(f"{paths(i)} answered {answer.status_code}")
                seconds.append(timed.seconds)
            return seconds

        out["overview (28 days)"] = quantiles(server_times(lambda i: "/"))
        out["overview (28 days), seen again"] = quantiles(server_times(lambda i: "/", cold=False))
        out["overview (365 days)"] = quantiles(server_times(lambda i: "/?days=365"))
        products = [rng.choice(reviewed) for _ in range(opts.requests + 3)]
        out["product page"] = quantiles(server_times(lambda i: f"/products/{products[i]}"))
        out["products list"] = quantiles(server_times(lambda i: f"/products?page={1 + i % 20}"))
    start, end = period(None, 28, daily.last_day(store))
    scan, agg = [], []
    for _ in range(opts.scan_repeat):
        started = time.perf_counter()
        with store.engine.connect() as conn:
            scanned = scan_figures(conn, start, end)
        scan.append(time.perf_counter() - started)
        started = time.perf_counter()
        read = aggregate_figures(store, start, end)
        agg.append(time.perf_counter() - started)
    out["figures by scanning events (28 days)"] = quantiles(scan)
    out["figures from aggregates (28 days)"] = quantiles(agg)
    out["agreement"] = {
        "revenue": [scanned["now"]["revenue"], read["now"]["revenue"]],
        "orders": [scanned["now"]["orders"], read["now"]["orders"]],
        "sessions": [scanned["now"]["sessions"], read["now"]["sessions"]],
        "previous sessions": [scanned["then"]["sessions"], read["then"]["sessions"]],
        "top products equal": [list(t) for t in scanned["top"]] == [list(t) for t in read["top"]],
    }
    store.dispose()
    shutil.rmtree(workspace, ignore_errors=True)
    return out


def pages(opts: argparse.Namespace, backends: Sequence[str]) -> list[dict[str, Any]]:
    results = []
    for size in opts.sizes:
        for backend in backends:
            print(f"pages: {size:,} events on {backend}", flush=True)
            with bench_store(backend, size, opts) as url:
                built = run_child("build", opts, url=url, size=size)
                timings = run_child("pages", opts, url=url, size=size)
            results.append({"backend": backend, "size": size, **built, "timings": timings})
            for what, q in timings.items():
                print(f"    {what}: {q}", flush=True)
    return results


# --- part 2: what the aggregates cost writers --------------------------------------------


def import_case(url: str, csv_path: str, aggregates: bool) -> dict[str, Any]:
    from shopmind.store import Store
    from shopmind.store.importers import import_file

    if not aggregates:
        aggregates_off()
    store = Store(url)
    store.upgrade()
    started = time.perf_counter()
    result = import_file(store, "events", Path(csv_path), currency="USD")
    seconds = time.perf_counter() - started
    events = store.stats()["events"]
    store.dispose()
    return {"events": events, "rows": result.rows, "seconds": seconds}


def serve_case(url: str, port: int, aggregates: bool, workspace: str) -> None:
    """A uvicorn server over ``url`` (runs until killed)."""
    import uvicorn

    from shopmind.api.app import create_app
    from shopmind.config import init_workspace, load_settings

    if not aggregates:
        aggregates_off()
    init_workspace(workspace)
    settings = load_settings(workspace, database_url=url, rate_limit_per_minute=0)
    uvicorn.run(
        create_app(settings), host="127.0.0.1", port=port, log_level="warning", access_log=False
    )


def api_events(opts: argparse.Namespace) -> list[dict[str, Any]]:
    """The API batches: GA4-style JSON events from the simulator, ``API_BATCH`` per request."""
    from shopmind.simulate import SimulationConfig, iter_events

    config = SimulationConfig(
        customers=calibrate(opts.api_events, 30, opts.seed),
        days=30,
        products=PRODUCTS,
        seed=opts.seed,
    )
    out = []
    for e in iter_events(config):
        out.append(
            {
                "event_id": e["event_id"],
                "event_name": e["name"],
                "event_timestamp": e["ts"].isoformat(),
                "user_pseudo_id": e["user_id"],
                "session_id": e["session_id"],
                "items": e["items"],
                "value": e["value"],
                "currency": e["currency"],
                "source": e["source"],
                "medium": e["medium"],
                "campaign": e["campaign"],
                "device_category": e["device"],
            }
        )
        if len(out) >= opts.api_events:
            break
    return out


def post_all(url: str, key: str, events: list[dict[str, Any]]) -> float:
    import httpx

    headers = {"Authorization": f"Bearer {key}"}
    started = time.perf_counter()
    with httpx.Client(base_url=url, headers=headers, timeout=60) as client:
        for i in range(0, len(events), API_BATCH):
            answer = client.post("/v1/events", json={"events": events[i : i + API_BATCH]})
            if answer.status_code != 200:
                raise RuntimeError(
                    f"POST /v1/events answered {answer.status_code}: {answer.text[:300]}"
                )
    return time.perf_counter() - started


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def api_case(
    url: str, events: list[dict[str, Any]], aggregates: bool, opts: argparse.Namespace
) -> dict[str, Any]:
    import httpx

    from shopmind.store import Store
    from shopmind.store.apikeys import create_api_key

    store = Store(url)
    store.upgrade()
    key = create_api_key(store, "bench")
    port = free_port()
    workspace = tempfile.mkdtemp(dir=opts.data_dir)
    cmd = [
        sys.executable,
        __file__,
        "--child",
        "serve",
        "--url",
        url,
        "--port",
        str(port),
        "--aggregates",
        "on" if aggregates else "off",
        "--data-dir",
        workspace,
    ]
    server = subprocess.Popen(cmd, env=dict(os.environ))  # PYTHONPATH: the snapshot
    try:
        for _ in range(300):
            try:
                httpx.get(f"http://127.0.0.1:{port}/v1/health", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        seconds = post_all(f"http://127.0.0.1:{port}", key, events)
    finally:
        server.terminate()
        server.wait(30)
        shutil.rmtree(workspace, ignore_errors=True)
    stored = store.stats()["events"]
    store.dispose()
    return {"events": stored, "seconds": seconds}


def write(opts: argparse.Namespace, backends: Sequence[str]) -> list[dict[str, Any]]:
    from shopmind.simulate import SimulationConfig

    db = Backends(opts.data_dir, opts.postgres_url)
    csv_path = Path(opts.data_dir) / "events.csv"
    config = SimulationConfig(
        customers=calibrate(opts.import_events, 30, opts.seed),
        days=30,
        products=PRODUCTS,
        seed=opts.seed,
    )
    rows = write_csv(config, csv_path)
    events_path = Path(opts.data_dir) / "api-events.json"
    events_path.write_text(json.dumps(api_events(opts)))
    n_api = len(json.loads(events_path.read_text()))
    print(
        f"write: import {rows:,} events, POST {n_api:,} events in batches of {API_BATCH}",
        flush=True,
    )
    results = []
    for kind, n in (("import events", rows), ("POST /v1/events", n_api)):
        for backend in backends:
            runs: list[dict[str, float]] = []
            for rep in range(opts.repeat):
                run = {}
                for aggregates in (True, False) if rep % 2 == 0 else (False, True):
                    with db.fresh(backend) as url:
                        child = "import" if kind == "import events" else "api"
                        out = run_child(
                            child,
                            opts,
                            url=url,
                            csv=str(csv_path),
                            events=str(events_path),
                            aggregates="on" if aggregates else "off",
                        )
                    if out["events"] != n:
                        raise RuntimeError(f"{kind} {backend} stored {out['events']} of {n}")
                    run["on" if aggregates else "off"] = out["seconds"]
                runs.append(run)
                seconds = f"on {run['on']:.2f} s, off {run['off']:.2f} s"
                print(f"  {kind} -> {backend} rep {rep + 1}: {seconds}", flush=True)
            on = statistics.median(r["on"] for r in runs)
            off = statistics.median(r["off"] for r in runs)
            paired = statistics.median(r["on"] / r["off"] for r in runs)
            results.append(
                {
                    "case": kind,
                    "backend": backend,
                    "events": n,
                    "on_events_per_s": round(n / on),
                    "off_events_per_s": round(n / off),
                    "cost": round(on / off - 1, 3),
                    "paired_cost": round(paired - 1, 3),
                    "runs": runs,
                }
            )
    csv_path.unlink()
    events_path.unlink()
    return results


# --- children ---------------------------------------------------------------------------------


def run_child(kind: str, opts: argparse.Namespace, **extra: Any) -> dict[str, Any]:
    cmd = [
        sys.executable,
        __file__,
        "--child",
        kind,
        "--data-dir",
        opts.data_dir,
        "--seed",
        str(opts.seed),
        "--requests",
        str(opts.requests),
        "--scan-repeat",
        str(opts.scan_repeat),
    ]
    if opts.reuse:
        cmd.append("--reuse")
    for name, value in extra.items():
        cmd += [f"--{name}", str(value)]
    env = {**os.environ, "PYTHONPATH": opts.source}
    done = subprocess.run(cmd, stdout=subprocess.PIPE, text=True, check=False, env=env)
    if done.returncode != 0:
        raise RuntimeError(f"child {kind} failed (exit {done.returncode})")
    return json.loads(done.stdout.strip().splitlines()[-1])


def child(args: argparse.Namespace) -> None:
    import torch

    torch.set_num_threads(1)
    on = args.aggregates != "off"
    if args.child == "build":
        out = build(args.url, args.size, args)
    elif args.child == "pages":
        out = pages_case(args.url, args)
    elif args.child == "import":
        out = import_case(args.url, args.csv, on)
    elif args.child == "api":
        out = api_case(args.url, json.loads(Path(args.events).read_text()), on, args)
    elif args.child == "serve":
        serve_case(args.url, args.port, on, args.data_dir)
        return
    else:
        raise SystemExit(f"unknown child {args.child}")
    print(json.dumps(out, default=str), flush=True)


# --- report -------------------------------------------------------------------------------


def tables(result: dict[str, Any]) -> list[tuple[str, list[str], list[list[str]]]]:
    out = []
    page_rows = []
    for case in result.get("pages", []):
        t = case["timings"]
        scan, agg = (
            t["figures by scanning events (28 days)"],
            t["figures from aggregates (28 days)"],
        )
        for what in (
            "overview (28 days)",
            "overview (28 days), seen again",
            "overview (365 days)",
            "product page",
            "products list",
        ):
            q = t[what]
            page_rows.append(
                [
                    what,
                    case["backend"],
                    f"{case['events']:,}",
                    f"{q['p50_ms']:.0f}",
                    f"{q['p95_ms']:.0f}",
                    "",
                    "",
                ]
            )
        page_rows.append(
            [
                "figures from aggregates (28 days)",
                case["backend"],
                f"{case['events']:,}",
                f"{agg['p50_ms']:.1f}",
                f"{agg['p95_ms']:.1f}",
                "",
                "",
            ]
        )
        page_rows.append(
            [
                "figures by scanning events (28 days)",
                case["backend"],
                f"{case['events']:,}",
                f"{scan['p50_ms']:,.0f}",
                f"{scan['p95_ms']:,.0f}",
                f"{scan['p50_ms'] / max(agg['p50_ms'], 0.01):,.0f}x",
                "yes" if _agrees(t["agreement"]) else "see JSON",
            ]
        )
    if page_rows:
        out.append(
            (
                "server time per request (ms)",
                ["what", "backend", "events", "p50", "p95", "scan / aggregates", "same figures"],
                page_rows,
            )
        )
    write_rows = [
        [
            r["case"],
            r["backend"],
            f"{r['events']:,}",
            f"{r['on_events_per_s']:,}",
            f"{r['off_events_per_s']:,}",
            f"{_lost(r['cost']):.1%}",
            f"{_lost(r['paired_cost']):.1%}",
        ]
        for r in result.get("write", [])
    ]
    if write_rows:
        out.append(
            (
                f"what the aggregates cost writers (median of {result['settings']['repeat']})",
                [
                    "case",
                    "backend",
                    "events",
                    "events/s with",
                    "events/s without",
                    "throughput lost",
                    "lost, paired runs",
                ],
                write_rows,
            )
        )
    return out


def _lost(cost: float) -> float:
    """Throughput lost to the aggregates from ``cost`` (time with them / time without - 1)."""
    return 1 - 1 / (1 + cost)


def _agrees(a: dict[str, Any]) -> bool:
    return (
        a["revenue"][0] == a["revenue"][1]
        and a["orders"][0] == a["orders"][1]
        and a["top products equal"]
        and abs(a["sessions"][0] - a["sessions"][1]) <= 0.001 * max(a["sessions"][1], 1)
    )


def show(result: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(width=130)
    for title, header, rows in tables(result):
        table = Table(title=title)
        for col in header:
            table.add_column(col, justify="left" if col in ("what", "case", "backend") else "right")
        for row in rows:
            table.add_row(*row)
        console.print(table)
    for note in result.get("notes", []):
        console.print(f"note: {note}")


def markdown(result: dict[str, Any]) -> str:
    out = []
    for title, header, rows in tables(result):
        out += [f"**{title}**", "", "| " + " | ".join(header) + " |"]
        out.append(
            "|"
            + "|".join("---" if h in ("what", "case", "backend") else "--:" for h in header)
            + "|"
        )
        out += ["| " + " | ".join(row) + " |" for row in rows]
        out.append("")
    return "\n".join(out)


def parse(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--part", choices=("all", "pages", "write"), default="all")
    p.add_argument("--sizes", default="1000000,10000000", help="events per simulated store")
    p.add_argument("--requests", type=int, default=50, help="requests per page")
    p.add_argument("--scan-repeat", type=int, default=5)
    p.add_argument("--import-events", type=int, default=200_000)
    p.add_argument("--api-events", type=int, default=20_000)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--backends", default="sqlite,postgresql")
    p.add_argument("--postgres-url", default=os.environ.get("SHOPMIND_BENCH_POSTGRES_URL"))
    p.add_argument("--data-dir", default=None, help="scratch space (10M events: about 10 GB)")
    p.add_argument("--reuse", action="store_true", help="keep the simulated stores and reuse them")
    p.add_argument("--quick", action="store_true", help="smoke run: 100k-event store, small writes")
    p.add_argument("--out", default=str(ROOT / "bench" / "results" / "dashboard.json"))
    p.add_argument("--markdown", metavar="JSON", help="print a result file's tables as Markdown")
    p.add_argument("--child", help=argparse.SUPPRESS)
    for name in ("url", "csv", "events", "aggregates"):
        p.add_argument(f"--{name}", help=argparse.SUPPRESS)
    p.add_argument("--size", type=int, help=argparse.SUPPRESS)
    p.add_argument("--port", type=int, help=argparse.SUPPRESS)
    opts = p.parse_args(argv)
    opts.sizes = [int(s) for s in str(opts.sizes).split(",") if s]
    if opts.quick:
        opts.sizes, opts.requests, opts.scan_repeat = [100_000], 20, 3
        opts.import_events, opts.api_events, opts.repeat = 20_000, 2_000, 1
    return opts


def main(argv: Sequence[str] | None = None) -> None:
    opts = parse(argv)
    if opts.markdown:
        print(markdown(json.loads(Path(opts.markdown).read_text())))
        return
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    if opts.child:
        child(opts)
        return
    own_dir = opts.data_dir is None
    opts.data_dir = opts.data_dir or tempfile.mkdtemp(prefix="shopmind-dash-")
    Path(opts.data_dir).mkdir(parents=True, exist_ok=True)
    scratch = tempfile.mkdtemp(prefix="src-", dir=opts.data_dir)
    opts.source, version = snapshot_source(scratch)
    backends = [b for b in opts.backends.split(",") if b]
    notes = []
    if "postgresql" in backends and not opts.postgres_url:
        backends.remove("postgresql")
        notes.append("no --postgres-url (or SHOPMIND_BENCH_POSTGRES_URL): PostgreSQL skipped")
    result: dict[str, Any] = {
        "benchmark": "dashboard",
        "when": datetime.now().isoformat(timespec="seconds"),
        "version": version,
        "machine": machine(opts.postgres_url if "postgresql" in backends else None),
        "settings": {
            k: getattr(opts, k)
            for k in (
                "sizes",
                "requests",
                "scan_repeat",
                "import_events",
                "api_events",
                "repeat",
                "seed",
            )
        },
        "notes": notes,
    }
    out = Path(opts.out)
    previous = json.loads(out.read_text()) if out.exists() else {}
    try:
        if opts.part in ("all", "pages"):
            result["pages"] = pages(opts, backends)
        elif "pages" in previous:
            result["pages"], result["pages_from"] = previous["pages"], previous.get("version")
        if opts.part in ("all", "write"):
            result["write"] = write(opts, backends)
        elif "write" in previous:
            result["write"], result["write_from"] = previous["write"], previous.get("version")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
        if own_dir and not opts.reuse:
            shutil.rmtree(opts.data_dir, ignore_errors=True)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2, default=str) + "\n")
    show(result)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
