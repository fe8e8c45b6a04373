"""Ingest benchmark: events/s of ``simulate`` and ``import events`` next to raw-SQL bulk inserts.

Every timed run is a fresh child process (this script with ``--child``), so no run inherits
another's heap, and each reports its own peak RSS. Throughput cases run ours and the raw
baseline interleaved, ``--repeat`` times, and quote medians:

- simulate → SQLite / PostgreSQL: ``simulate()`` wall time (catalog, customers, orders,
  reviews and truth included) against the same event rows, materialised as insert-ready
  tuples before the timer, written with ``sqlite3.executemany`` / psycopg ``COPY`` in
  batches of the same size, one commit per batch.
- import events → SQLite / PostgreSQL: ``import_file(store, "events", csv)`` against
  ``csv.reader`` + the conversions the row needs + ``executemany`` / ``COPY``, one transaction.

Peak memory: ``simulate`` and ``import events`` into SQLite at each ``--memory-sizes``.

    python bench/ingest.py                # 1M events, memory at 1M and 10M
    python bench/ingest.py --quick        # smoke run
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import os
import platform
import resource
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

COLUMNS = (
    "event_id", "name", "ts", "user_id", "session_id", "customer_id", "item_id", "items",
    "value", "currency", "transaction_id", "source", "medium", "campaign", "device", "page",
)  # fmt: skip
CSV_HEADER = (
    "event_id", "event_name", "event_timestamp", "user_pseudo_id", "user_id", "session_id",
    "items", "value", "currency", "transaction_id", "source", "medium", "campaign",
    "device_category", "page_location",
)  # fmt: skip
EPOCH = datetime(1970, 1, 1)
BATCH = 5000  # the simulator's and the importer's default batch size
ROOT = Path(__file__).resolve().parents[1]


# --- rows -------------------------------------------------------------------------------


def db_row(event: dict[str, Any]) -> tuple[Any, ...]:
    """A simulator event as insert parameters (JSON text, timestamp as SQLAlchemy writes it)."""
    row = dict(event)
    row["ts"] = event["ts"].isoformat(" ", "microseconds")
    row["items"] = json.dumps(event["items"]) if event["items"] is not None else None
    return tuple(row[c] for c in COLUMNS)


def csv_row(event: dict[str, Any]) -> list[Any]:
    """A simulator event as a GA4-style flat CSV row (timestamp in microseconds)."""
    micros = (event["ts"] - EPOCH) // timedelta(microseconds=1)
    items = json.dumps(event["items"]) if event["items"] is not None else ""
    return [
        event["event_id"], event["name"], micros, event["user_id"], event["customer_id"],
        event["session_id"], items, event["value"], event["currency"], event["transaction_id"],
        event["source"], event["medium"], event["campaign"], event["device"], event["page"],
    ]  # fmt: skip


def raw_csv_rows(path: Path) -> Iterator[tuple[Any, ...]]:
    """The baseline's reading: csv.reader and only what the row needs to be inserted."""
    with path.open(encoding="utf-8", newline="") as fh:
        reader = csv.reader(fh)
        at = {name: i for i, name in enumerate(next(reader))}
        pick = [at[c] for c in CSV_HEADER]
        for values in reader:
            (eid, name, micros, user, customer, session, items, value, currency, txn,
             source, medium, campaign, device, page) = [values[i] for i in pick]  # fmt: skip
            ts = EPOCH + timedelta(microseconds=int(micros))
            item_id = json.loads(items)[0]["item_id"] if items else None
            yield (
                eid, name, ts.isoformat(" ", "microseconds"), user, session or None,
                customer or None, item_id, items or None, float(value) if value else None,
                currency or None, txn or None, source or None, medium or None,
                campaign or None, device or None, page or None,
            )  # fmt: skip


def write_csv(config: Any, path: Path) -> int:
    """Stream the simulator's events to a CSV file; returns the number of rows."""
    from shopmind.simulate import iter_events

    n = 0
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(CSV_HEADER)
        for event in iter_events(config):
            writer.writerow(csv_row(event))
            n += 1
    return n


def batches(rows: Iterable[tuple[Any, ...]], size: int = BATCH) -> Iterator[list[Any]]:
    batch: list[Any] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


# --- the raw baselines ------------------------------------------------------------------

INSERT = f"INSERT INTO events ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})"
COPY = f"COPY events ({', '.join(COLUMNS)}) FROM STDIN"


def sqlite_path(url: str) -> str:
    return url.removeprefix("sqlite:///")


def raw_sqlite(url: str, groups: Iterable[list[Any]], commit_each: bool) -> None:
    conn = sqlite3.connect(sqlite_path(url), isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("BEGIN")
    for group in groups:
        conn.executemany(INSERT, group)
        if commit_each:
            conn.execute("COMMIT")
            conn.execute("BEGIN")
    conn.execute("COMMIT")
    conn.close()


def raw_postgres(url: str, groups: Iterable[list[Any]], commit_each: bool) -> None:
    import psycopg

    with psycopg.connect(conninfo(url)) as conn:
        for group in groups:
            with conn.cursor() as cur, cur.copy(COPY) as copy:
                for row in group:
                    copy.write_row(row)
            if commit_each:
                conn.commit()
        conn.commit()


def conninfo(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


# --- one measurement, in a child process ------------------------------------------------


def child(args: argparse.Namespace) -> dict[str, Any]:
    """Run one timed case; the store is migrated and any rows materialised before the timer."""
    from shopmind.simulate import SimulationConfig, iter_events, simulate
    from shopmind.store import Store
    from shopmind.store.importers import import_file

    store = Store(args.url)
    store.upgrade()
    config = SimulationConfig(
        customers=args.customers, days=args.days, seed=args.seed, traffic=args.traffic
    )
    raw = raw_sqlite if args.url.startswith("sqlite") else raw_postgres
    rows = [db_row(e) for e in iter_events(config)] if args.child == "simulate-raw" else []
    started = time.perf_counter()
    if args.child == "simulate":
        truth = Path(args.data_dir) / f"truth-{os.getpid()}.json"
        simulate(store, config, truth_path=truth)
        truth.unlink()
    elif args.child == "simulate-raw":
        raw(args.url, batches(rows), commit_each=True)
    elif args.child == "import":
        import_file(store, "events", Path(args.csv), currency="USD", batch_size=BATCH)
    else:
        raw(args.url, batches(raw_csv_rows(Path(args.csv))), commit_each=False)
    seconds = time.perf_counter() - started
    stored = store.stats()["events"]
    store.dispose()
    return {"events": stored, "seconds": seconds, "peak_mb": peak_mb()}


def peak_mb() -> float:
    """This process's peak RSS since it started its program.

    Linux's ``VmHWM`` belongs to the running program; ``ru_maxrss`` also carries the peak of
    the process image before ``exec`` (with vfork, the parent's), so it is only a fallback.
    """
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def run_child(kind: str, url: str, opts: argparse.Namespace, **extra: Any) -> dict[str, Any]:
    cmd = [sys.executable, __file__, "--child", kind, "--url", url, "--data-dir", opts.work]
    for name, value in {"customers": 1, "days": opts.days, "seed": opts.seed, **extra}.items():
        cmd += [f"--{name}", str(value)]
    env = {**os.environ, "PYTHONPATH": opts.source}
    done = subprocess.run(cmd, capture_output=True, text=True, check=False, env=env)
    if done.returncode != 0:
        raise RuntimeError(f"{kind} failed:\n{done.stderr[-4000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


# --- databases --------------------------------------------------------------------------


class Backends:
    """Fresh, empty databases per run: a SQLite file, or a PostgreSQL database dropped after."""

    def __init__(self, work: str, postgres_url: str | None) -> None:
        self.work, self.postgres_url, self.n = Path(work), postgres_url, 0

    @contextmanager
    def fresh(self, backend: str) -> Iterator[str]:
        self.n += 1
        if backend == "sqlite":
            path = self.work / f"bench-{self.n}.db"
            try:
                yield f"sqlite:///{path}"
            finally:
                for suffix in ("", "-wal", "-shm"):
                    Path(f"{path}{suffix}").unlink(missing_ok=True)
            return
        import psycopg
        from sqlalchemy.engine import make_url

        name = f"shopmind_bench_{os.getpid()}_{self.n}"
        admin = conninfo(self.postgres_url or "")
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')  # name built here, not from input
        try:
            yield make_url(self.postgres_url or "").set(database=name).render_as_string(False)
        finally:
            with psycopg.connect(admin, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# --- the cases --------------------------------------------------------------------------


def calibrate(target: int, days: int, seed: int) -> int:
    """Customers that yield about ``target`` events in ``days`` days (from a small run)."""
    from shopmind.simulate import SimulationConfig, iter_events

    probe = 2000
    n = sum(1 for _ in iter_events(SimulationConfig(customers=probe, days=days, seed=seed)))
    return max(1, round(target * probe / n))


def throughput(opts: argparse.Namespace, db: Backends, backends: Sequence[str]) -> list[dict]:
    from shopmind.simulate import SimulationConfig

    customers = calibrate(opts.events, opts.days, opts.seed)
    csv_path = Path(opts.work) / "events.csv"
    config = SimulationConfig(customers=customers, days=opts.days, seed=opts.seed)
    rows = write_csv(config, csv_path)
    print(f"throughput: {customers:,} customers x {opts.days} days -> {rows:,} events", flush=True)
    cases = [(k, b) for k in ("simulate", "import") for b in backends]
    runs: dict[tuple[str, str], list[dict]] = {c: [] for c in cases}
    for rep in range(opts.repeat):
        for kind, backend in cases:
            pair = [kind, f"{kind}-raw"]
            run: dict[str, Any] = {}
            for which in pair if rep % 2 == 0 else pair[::-1]:  # alternate who goes first
                with db.fresh(backend) as url:
                    out = run_child(which, url, opts, customers=customers, csv=csv_path)
                if out["events"] != rows:
                    raise RuntimeError(f"{which} {backend} stored {out['events']} of {rows}")
                run["ours" if which == kind else "baseline"] = out
            runs[(kind, backend)].append(run)
            print(
                f"  {kind} -> {backend} rep {rep + 1}: ours {run['ours']['seconds']:.1f} s, "
                f"baseline {run['baseline']['seconds']:.1f} s",
                flush=True,
            )
    csv_path.unlink()
    return [summarise(kind, backend, rows, runs[(kind, backend)]) for kind, backend in cases]


def summarise(kind: str, backend: str, events: int, runs: list[dict]) -> dict[str, Any]:
    ours = statistics.median(r["ours"]["seconds"] for r in runs)
    base = statistics.median(r["baseline"]["seconds"] for r in runs)
    return {
        "case": f"{kind} -> {backend}",
        "events": events,
        "repeats": len(runs),
        "seconds": round(ours, 2),
        "events_per_s": round(events / ours),
        "baseline_seconds": round(base, 2),
        "baseline_events_per_s": round(events / base),
        "ratio": round(base / ours, 3),
        "ratio_per_repeat": [
            round(r["baseline"]["seconds"] / r["ours"]["seconds"], 3) for r in runs
        ],
        "peak_mb": max(r["ours"]["peak_mb"] for r in runs),
        "baseline_peak_mb": max(r["baseline"]["peak_mb"] for r in runs),
        "runs": runs,
    }


def memory(opts: argparse.Namespace, db: Backends) -> list[dict]:
    """Peak RSS of simulate and import into SQLite at each size; then, to tell growth per
    event from growth per shopper, simulate the smallest size's shoppers at the largest
    size's event count (their visit rate multiplied)."""
    sizes = opts.memory_sizes
    plan = [("simulate", size, 1.0) for size in sizes] + [("import", size, 1.0) for size in sizes]
    if len(sizes) > 1:
        plan.append(("simulate", min(sizes), max(sizes) / min(sizes)))
    out = [memory_case(opts, db, kind, size, traffic) for kind, size, traffic in plan]
    for res in out:
        first = next(r for r in out if r["case"].split(",")[0] == res["case"].split(",")[0])
        res["peak_vs_smallest"] = round(res["peak_mb"] / first["peak_mb"], 2)
    return out


def memory_case(
    opts: argparse.Namespace, db: Backends, kind: str, size: int, traffic: float
) -> dict[str, Any]:
    from shopmind.simulate import SimulationConfig

    customers = calibrate(size, opts.days, opts.seed)
    csv_path = Path(opts.work) / f"events-{size}.csv"
    if kind == "import":
        write_csv(SimulationConfig(customers=customers, days=opts.days, seed=opts.seed), csv_path)
    with db.fresh("sqlite") as url:
        res = run_child(kind, url, opts, customers=customers, csv=csv_path, traffic=traffic)
    csv_path.unlink(missing_ok=True)
    case = f"{kind} -> sqlite"
    if traffic != 1.0:
        case += f", {customers:,} customers, traffic x{traffic:g}"
    res.update(case=case, target=size, customers=customers, traffic=traffic)
    res["events_per_s"] = round(res["events"] / res["seconds"])
    res["seconds"] = round(res["seconds"], 2)
    print(
        f"  memory {case}: {res['events']:,} events, {res['peak_mb']:,.0f} MB, "
        f"{res['seconds']:.0f} s",
        flush=True,
    )
    return res


def snapshot_source(scratch: str) -> tuple[str, dict[str, Any]]:
    """Copy ``src/shopmind`` aside so that every run of this benchmark measures one version."""
    dest = Path(scratch) / "src"
    shutil.copytree(
        ROOT / "src" / "shopmind", dest / "shopmind", ignore=shutil.ignore_patterns("__pycache__")
    )
    digest = hashlib.sha256()
    for path in sorted((dest / "shopmind").rglob("*.py")):
        digest.update(path.relative_to(dest).as_posix().encode() + b"\0" + path.read_bytes())
    head = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=False
    ).stdout.strip()
    return str(dest), {"git_head": head or None, "src_sha256": digest.hexdigest()[:16]}


# --- report -----------------------------------------------------------------------------


def machine(postgres_url: str | None) -> dict[str, Any]:
    cpu = next(
        (
            ln.split(":", 1)[1].strip()
            for ln in Path("/proc/cpuinfo").read_text().splitlines()
            if ln.startswith("model name")
        ),
        platform.processor(),
    )
    info = {
        "cpus": os.cpu_count(),
        "cpu": cpu,
        "memory_gb": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "platform": platform.platform(),
    }
    if postgres_url:
        import psycopg

        with psycopg.connect(conninfo(postgres_url)) as conn:
            info["postgresql"] = conn.execute("SHOW server_version").fetchone()[0]
            info["postgresql_fsync"] = conn.execute("SHOW fsync").fetchone()[0]
    return info


def tables(result: dict[str, Any]) -> list[tuple[str, list[str], list[list[str]]]]:
    """The printed tables: (title, header, rows), from a result (or its JSON file)."""
    speed = [
        [
            r["case"],
            f"{r['events']:,}",
            f"{r['seconds']:.1f}",
            f"{r['events_per_s']:,}",
            f"{r['baseline_events_per_s']:,}",
            f"{r['ratio']:.2f}",
            f"{r['peak_mb']:,.0f}",
        ]
        for r in result["throughput"]
    ]
    mem = [
        [
            r["case"],
            f"{r['events']:,}",
            f"{r['seconds']:.1f}",
            f"{r['events_per_s']:,}",
            f"{r['peak_mb']:,.0f}",
            f"{r['peak_vs_smallest']:.2f}",
        ]
        for r in result["memory"]
    ]
    return [
        (
            f"ingest throughput (median of {result['settings']['repeat']})",
            ["case", "events", "s", "events/s", "baseline events/s", "ratio", "peak MB"],
            speed,
        ),
        (
            "peak memory (peak RSS, VmHWM, of a fresh process per case)",
            ["case", "events", "s", "events/s", "peak MB", "x smallest"],
            mem,
        ),
    ]


def show(result: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(width=110)
    for title, header, rows in tables(result):
        table = Table(title=title)
        for col in header:
            table.add_column(col, justify="left" if col == "case" else "right")
        for row in rows:
            table.add_row(*row)
        console.print(table)
    for note in result["notes"]:
        console.print(f"note: {note}")


def markdown(result: dict[str, Any]) -> str:
    """The same tables as Markdown, for docs/benchmarks.md."""
    out = []
    for title, header, rows in tables(result):
        out += [f"**{title}**", "", "| " + " | ".join(header) + " |"]
        out.append("|" + "|".join("---" if h == "case" else "--:" for h in header) + "|")
        out += ["| " + " | ".join(row) + " |" for row in rows]
        out.append("")
    return "\n".join(out)


def parse(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--events", type=int, default=1_000_000, help="size of the throughput cases")
    p.add_argument("--memory-sizes", default="1000000,10000000", help="comma-separated sizes")
    p.add_argument("--repeat", type=int, default=3, help="repetitions of each throughput case")
    p.add_argument("--days", type=int, default=365, help="simulated days (customers scale)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--quick", action="store_true", help="50k events, memory at 50k and 200k")
    p.add_argument("--postgres-url", default=os.environ.get("SHOPMIND_BENCH_POSTGRES_URL"))
    p.add_argument("--out", default=str(ROOT / "bench" / "results" / "ingest.json"))
    p.add_argument("--data-dir", default=None, help="scratch folder (default: a temp folder)")
    p.add_argument("--markdown", metavar="JSON", help="print a result file's tables as Markdown")
    for hidden in ("--child", "--url", "--csv"):
        p.add_argument(hidden, help=argparse.SUPPRESS)
    p.add_argument("--customers", type=int, help=argparse.SUPPRESS)
    p.add_argument("--traffic", type=float, default=1.0, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.quick:
        args.events, args.memory_sizes = 50_000, "50000,200000"
    args.memory_sizes = [int(s) for s in str(args.memory_sizes).split(",") if s.strip()]
    return args


def main(argv: Sequence[str] | None = None) -> None:
    opts = parse(argv)
    if opts.child:
        print(json.dumps(child(opts)))
        return
    if opts.markdown:
        print(markdown(json.loads(Path(opts.markdown).read_text(encoding="utf-8"))))
        return
    backends = ["sqlite"] + (["postgresql"] if opts.postgres_url else [])
    notes = [
        "simulate wall time includes generating and writing products, customers, orders, "
        "order lines and reviews, and the ground-truth file; the baseline writes events only",
        "ratio = ours events/s / baseline events/s (median seconds over repeats)",
    ]
    if not opts.postgres_url:
        notes.append("PostgreSQL skipped: no --postgres-url or SHOPMIND_BENCH_POSTGRES_URL")
        print(f"note: {notes[-1]}")
    scratch = tempfile.mkdtemp(prefix="shopmind-bench-", dir=opts.data_dir)
    opts.work = scratch
    started = datetime.now(UTC)
    try:
        opts.source, source = snapshot_source(scratch)
        sys.path.insert(0, opts.source)
        db = Backends(scratch, opts.postgres_url)
        result = {
            "benchmark": "ingest",
            "date": started.strftime("%Y-%m-%d %H:%M UTC"),
            "command": "python bench/ingest.py " + " ".join(sys.argv[1:]),
            "source": source,
            "machine": machine(opts.postgres_url),
            "settings": {
                "events": opts.events,
                "days": opts.days,
                "seed": opts.seed,
                "repeat": opts.repeat,
                "batch_size": BATCH,
            },
            "throughput": throughput(opts, db, backends),
            "memory": memory(opts, db),
            "notes": notes,
        }
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    result["minutes"] = round((datetime.now(UTC) - started).total_seconds() / 60, 1)
    out = Path(opts.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    show(result)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
