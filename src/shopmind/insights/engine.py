"""Where the analyses run: one set of Ibis tables over the store, on DuckDB, PostgreSQL or Spark.

Every analysis takes a :class:`Tables` and builds Ibis expressions from its tables —
``events``, ``orders``, ``order_lines``, ``customers``, ``products``, ``variants``,
``reviews`` and ``ad_spend`` — with the same columns whatever the backend:

- ``duckdb`` (the default): an in-process DuckDB attaches the store read-only — a SQLite
  file through DuckDB's SQLite scanner, a PostgreSQL store through its PostgreSQL scanner
  (both ship as wheels pinned to DuckDB's version; nothing is downloaded). Column and
  date filters are pushed down to the store, so a period's funnel reads that period only.
- ``postgres``: the expressions compile to SQL that runs inside the PostgreSQL store.
- ``spark``: PySpark (local mode, or any cluster the session points to) reads the store's
  tables from a folder of Parquet files, one folder per table (:func:`export_parquet`
  writes them; a data lake holding the same tables works as well).

Times are naive UTC, as stored. Nothing here writes to the store.
"""

from __future__ import annotations

import os
import pathlib
import shutil
import tempfile
import threading
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import ibis
import ibis.expr.types as ir
from ibis.backends.sql.compilers.duckdb import DuckDBCompiler
from sqlalchemy import inspect
from sqlalchemy.engine import make_url

from shopmind.config import INSIGHTS_MEMORY_MB

if TYPE_CHECKING:
    from shopmind.store.db import Store

Backend = Literal["duckdb", "postgres", "spark"]
BACKENDS: tuple[Backend, ...] = ("duckdb", "postgres", "spark")

# The columns each analysis may use, per table; a store table lacking an optional column
# (an older store, a lake written by another tool) gets it as NULL of the given type.
COLUMNS: dict[str, dict[str, str]] = {
    "events": {
        "id": "int64", "event_id": "string", "name": "string", "ts": "timestamp",
        "user_id": "string", "session_id": "string", "customer_id": "string",
        "item_id": "string", "value": "float64", "currency": "string",
        "transaction_id": "string", "source": "string", "medium": "string",
        "campaign": "string", "device": "string", "search_term": "string",
    },
    "orders": {
        "id": "int64", "external_id": "string", "customer_id": "int64", "email": "string",
        "created_at": "timestamp", "currency": "string", "subtotal": "float64",
        "discount": "float64", "total": "float64", "financial_status": "string",
        "source": "string", "medium": "string", "campaign": "string",
        "session_id": "string", "cancelled_at": "timestamp",
    },
    "order_lines": {
        "order_id": "int64", "product_id": "int64", "variant_id": "int64", "sku": "string",
        "quantity": "int64", "price": "float64", "discount": "float64",
    },
    "customers": {
        "id": "int64", "external_id": "string", "email": "string", "first_name": "string",
        "last_name": "string", "country": "string", "accepts_marketing": "boolean",
        "created_at": "timestamp",
    },
    "products": {
        "id": "int64", "external_id": "string", "title": "string", "category": "string",
        "brand": "string", "price": "float64", "inventory": "int64", "status": "string",
    },
    "variants": {"id": "int64", "external_id": "string", "product_id": "int64", "sku": "string"},
    "reviews": {"id": "int64", "product_id": "int64", "rating": "int64", "created_at": "timestamp"},
    "ad_spend": {
        "day": "date", "source": "string", "medium": "string", "campaign": "string",
        "spend": "float64", "currency": "string",
    },
}  # fmt: skip
TABLES = tuple(COLUMNS)


class _DuckDB(DuckDBCompiler):
    """Ibis's DuckDB SQL with one change: ``x.argmin(key)`` is DuckDB's ``arg_min_null``
    rather than ``FIRST(x ORDER BY key)``, an ordered aggregate that sorts every group.
    The answer is the same (a NULL ``x`` at the first row included; keys here are never
    NULL); the sessions of 10M events are grouped about a fifth faster."""

    def visit_ArgMin(self, op: Any, *, arg: Any, key: Any, where: Any) -> Any:
        return self.agg.arg_min_null(arg, key, where=where)

    def visit_ArgMax(self, op: Any, *, arg: Any, key: Any, where: Any) -> Any:
        return self.agg.arg_max_null(arg, key, where=where)


_DUCKDB_COMPILER = _DuckDB()


# DuckDB's memory cap unless told otherwise (settings: insights_memory_mb). Past it DuckDB
# spills its hash tables and sorts to disk, so a growing store costs time, not memory
# (bench/insights.py measures both); left alone DuckDB would take 80 % of the machine.
DEFAULT_MEMORY_MB = INSIGHTS_MEMORY_MB


def _duckdb_connect(memory_mb: int | None = DEFAULT_MEMORY_MB) -> tuple[Any, str]:
    """An Ibis DuckDB connection with our compiler, ``memory_mb`` (``None``: DuckDB's own
    limit) and a spill folder of its own under the system's temporary folder (DuckDB would
    otherwise write ``.tmp`` in the working directory); returns the folder to remove."""
    if memory_mb is not None and memory_mb < 64:
        raise InsightsError(f"insights_memory_mb must be at least 64, not {memory_mb}")
    con = ibis.duckdb.connect(threads=_threads())
    con.compiler = _DUCKDB_COMPILER  # this connection's queries only
    spill = os.path.join(tempfile.gettempdir(), f"shopmind-duckdb-{uuid.uuid4().hex}")
    con.con.execute(f"SET temp_directory = {_quote(spill)}")  # made only when it spills
    if memory_mb is not None:
        con.con.execute(f"SET memory_limit = '{int(memory_mb)}MiB'")
    return con, spill


class InsightsError(ValueError):
    """An analysis cannot run as asked (bad period, unknown step or dimension, no backend)."""


class InsightsMemoryError(InsightsError):
    """DuckDB ran out of the memory it may use (``insights_memory_mb``)."""


@dataclass
class Tables:
    """The store's tables as Ibis expressions on one backend."""

    backend: Backend
    con: Any  # the Ibis backend
    tables: dict[str, ir.Table]
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    spill: str | None = None  # DuckDB's spill folder, removed on close

    def __getitem__(self, name: str) -> ir.Table:
        return self.tables[name]

    @property
    def events(self) -> ir.Table:
        return self.tables["events"]

    @property
    def orders(self) -> ir.Table:
        return self.tables["orders"]

    def execute(self, expr: ir.Expr) -> Any:
        """Run an expression (a pandas DataFrame for a table); one query at a time per
        connection, as DuckDB and the Spark session want."""
        with self.lock, self._memory():
            return self.con.execute(expr)

    def cache(self, expr: ir.Table) -> ir.Table:
        """``expr`` computed once and kept (a temporary table, Spark's cache) until
        :meth:`release`: for a part that several queries read."""
        with self.lock, self._memory():
            return expr.cache()

    @contextmanager
    def _memory(self) -> Iterator[None]:
        """DuckDB running out of its memory cap (what it cannot spill) as an error that
        says which setting to raise."""
        if self.backend != "duckdb":
            yield
            return
        import duckdb

        try:
            yield
        except duckdb.OutOfMemoryException as exc:
            limit = self.con.con.execute("SELECT current_setting('memory_limit')").fetchone()[0]
            raise InsightsMemoryError(
                f"the analysis needs more memory than DuckDB may use here ({limit}); "
                "raise insights_memory_mb (SHOPMIND_INSIGHTS_MEMORY_MB)"
            ) from exc

    def release(self, cached: ir.Table) -> None:
        with self.lock:
            cached.release()

    def close(self) -> None:
        if self.backend != "spark":  # the Spark session belongs to whoever made it
            self.con.disconnect()
        if self.spill:
            shutil.rmtree(self.spill, ignore_errors=True)


# -- opening ---------------------------------------------------------------------------------


def open_tables(store: Store, backend: Backend = "duckdb", **options: Any) -> Tables:
    """The store's tables on ``backend``; ``spark`` needs ``path`` (a Parquet folder, see
    :func:`export_parquet`) and takes an optional ``session``; ``duckdb`` takes
    ``memory_mb`` (:data:`DEFAULT_MEMORY_MB`; ``None``: DuckDB's own limit)."""
    if backend == "duckdb":
        return _duckdb_over_store(store, options.get("memory_mb", DEFAULT_MEMORY_MB))
    if backend == "postgres":
        if store.dialect != "postgresql":
            raise InsightsError(
                "insights_engine = postgres runs the analyses inside a PostgreSQL store; "
                f"this store is {store.dialect} (use duckdb)"
            )
        url = make_url(store.url)
        # the URL's parameters (a search_path in ``options``, sslmode …) hold here too
        con = ibis.postgres.connect(
            host=url.host, port=url.port, user=url.username, password=url.password,
            database=url.database, **_query(url),
        )  # fmt: skip
        found = set(con.list_tables()) & set(TABLES)
        return Tables("postgres", con, _typed(con, {n: con.table(n) for n in found}))
    if backend == "spark":
        path = options.get("path")
        if not path:
            raise InsightsError("the spark engine reads a Parquet folder: set insights_spark_path")
        return from_parquet(path, "spark", session=options.get("session"))
    raise InsightsError(f"unknown insights engine {backend!r}; choose one of {', '.join(BACKENDS)}")


def _extension(name: str) -> str:
    module = __import__(f"duckdb_extension_{name}")
    import duckdb

    folder = pathlib.Path(module.__file__).parent / "extensions" / f"v{duckdb.__version__}"
    path = folder / f"{name}.duckdb_extension"
    if not path.exists():
        raise InsightsError(
            f"the DuckDB {name} extension for DuckDB {duckdb.__version__} is not installed "
            f"(pip install duckdb-extension-{name.replace('_', '-')}=={duckdb.__version__})"
        )
    return str(path)


def _duckdb_over_store(store: Store, memory_mb: int | None) -> Tables:
    con, spill = _duckdb_connect(memory_mb)
    raw = con.con  # the duckdb connection under Ibis
    url = make_url(store.url)
    names = set(inspect(store.engine).get_table_names())
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
        raw.execute(f"LOAD '{_extension('sqlite_scanner')}'")
        raw.execute(f"ATTACH {_quote(url.database)} AS store (TYPE sqlite, READ_ONLY)")
    elif url.get_backend_name() == "postgresql":
        raw.execute(f"LOAD '{_extension('postgres_scanner')}'")
        schema = inspect(store.engine).default_schema_name  # the URL's search_path, if set
        raw.execute(
            f"ATTACH {_quote(_libpq(url))} AS store "
            f"(TYPE postgres, READ_ONLY, SCHEMA {_quote(schema or 'public')})"
        )
    else:  # an in-memory SQLite store (tests): copy its tables over
        raw.execute("CREATE SCHEMA store")
        for name in names & set(TABLES):
            frame = _read_frame(store, name)
            raw.register(f"_copy_{name}", frame)
            raw.execute(f"CREATE TABLE store.{name} AS SELECT * FROM _copy_{name}")
            raw.unregister(f"_copy_{name}")
    for name in TABLES:
        raw.execute(f"CREATE VIEW main.{name} AS {_select(name, _present(store, name, names))}")
    return Tables("duckdb", con, {n: con.table(n) for n in TABLES}, spill=spill)


def _threads() -> int:
    """DuckDB's threads: the workspace's ``threads`` setting (``SHOPMIND_THREADS``) or up
    to 4."""
    value = os.environ.get("SHOPMIND_THREADS", "")
    return int(value) if value.isdigit() and int(value) > 0 else min(4, os.cpu_count() or 1)


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _libpq(url: Any) -> str:
    parts = {
        "host": url.host, "port": url.port, "dbname": url.database, "user": url.username,
        "password": url.password,
    }  # fmt: skip
    parts.update(_query(url))
    return " ".join(f"{k}={_libpq_value(str(v))}" for k, v in parts.items() if v is not None)


def _query(url: Any) -> dict[str, str]:
    """The URL's connection parameters (``?options=-csearch_path%3Dx&sslmode=require``)."""
    return {k: v if isinstance(v, str) else v[-1] for k, v in url.query.items()}


def _libpq_value(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _present(store: Store, table: str, names: set[str]) -> set[str]:
    if table not in names:
        return set()
    return {c["name"] for c in inspect(store.engine).get_columns(table)}


_SQL_TYPES = {
    "int64": "BIGINT", "float64": "DOUBLE", "string": "VARCHAR", "timestamp": "TIMESTAMP",
    "date": "DATE", "boolean": "BOOLEAN",
}  # fmt: skip


def _select(table: str, present: set[str]) -> str:
    """A view with every expected column, typed, NULL where the store lacks it."""
    cols = []
    for name, kind in COLUMNS[table].items():
        sql_type = _SQL_TYPES[kind]
        source = f'CAST("{name}" AS {sql_type})' if name in present else f"CAST(NULL AS {sql_type})"
        cols.append(f'{source} AS "{name}"')
    source = f'store."{table}"' if present else "(SELECT 1) AS nothing WHERE false"
    return f"SELECT {', '.join(cols)} FROM {source}"


def _read_frame(store: Store, table: str) -> Any:
    import pandas as pd

    with store.engine.connect() as conn:
        return pd.read_sql_table(table, conn)


def _typed(con: Any, present: Mapping[str, ir.Table]) -> dict[str, ir.Table]:
    """Ibis tables with every expected column, for a backend that holds the tables itself
    (``present``: the tables found, by name); a missing table is an empty one."""
    out = {}
    for name, cols in COLUMNS.items():
        if name in present:
            t = present[name]
            have = set(t.columns)
            out[name] = t.select(
                **{c: (t[c].cast(k) if c in have else ibis.null(k)) for c, k in cols.items()}
            )
        else:  # typed through Arrow: empty pandas columns are float64 and would not cast
            out[name] = ibis.memtable(ibis.schema(cols).to_pyarrow().empty_table())
    return out


# -- files -----------------------------------------------------------------------------------


def from_frames(
    frames: Mapping[str, Any],
    backend: Backend = "duckdb",
    session: Any = None,
    memory_mb: int | None = DEFAULT_MEMORY_MB,
) -> Tables:
    """Tables from in-memory frames (pandas or Arrow), keyed by table name; for the tests,
    the benchmark and files outside the store. Missing tables are empty."""
    for name in frames:
        if name not in COLUMNS:
            raise InsightsError(f"unknown table {name!r}; expected one of {', '.join(TABLES)}")
    spill = None
    if backend == "duckdb":
        con, spill = _duckdb_connect(memory_mb)
        raw = con.con
        # registered and copied in SQL, not con.create_table: Ibis 12's create_table builds
        # its DROP in a way sqlglot 30 renders without the table's name
        for name, frame in frames.items():
            raw.register(f"_copy_{name}", _conformed(name, frame))
            raw.execute(f'CREATE TABLE "{name}" AS SELECT * FROM "_copy_{name}"')
            raw.unregister(f"_copy_{name}")
        found = {name: con.table(name) for name in frames}
    elif backend == "spark":
        spark = session or spark_session()
        con = ibis.pyspark.connect(spark)
        found = {}
        for name, frame in frames.items():
            view = _view_name(name)
            spark.createDataFrame(_conformed(name, frame)).createOrReplaceTempView(view)
            found[name] = con.table(view)
    else:
        raise InsightsError(f"frames can be read by duckdb or spark, not {backend}")
    return Tables(backend, con, _typed(con, found), spill=spill)


def _view_name(table: str) -> str:
    """A Spark temporary view name of its own: views are shared by the whole session, so two
    sets of tables in one session must not replace each other's ``events``. (Temporary
    views, not ``create_table``, which would write managed tables under
    ``./spark-warehouse``.)"""
    return f"shopmind_{table}_{uuid.uuid4().hex[:12]}"


def _conformed(table: str, frame: Any) -> Any:
    import pandas as pd
    import pyarrow as pa

    if isinstance(frame, pa.Table):
        frame = frame.to_pandas()
    frame = pd.DataFrame(frame)
    keep = [c for c in COLUMNS[table] if c in frame.columns]
    out = frame[keep].copy()
    for c in keep:
        if COLUMNS[table][c] == "timestamp":
            out[c] = pd.to_datetime(out[c]).astype("datetime64[us]")
        elif COLUMNS[table][c] == "date":
            out[c] = pd.to_datetime(out[c]).dt.date
    return out


def from_parquet(
    path: str | os.PathLike[str],
    backend: Backend = "duckdb",
    session: Any = None,
    memory_mb: int | None = DEFAULT_MEMORY_MB,
) -> Tables:
    """Tables from a folder holding one Parquet file or folder per table (``events/`` …);
    ``memory_mb`` caps DuckDB as in :func:`open_tables`."""
    root = pathlib.Path(path)
    if not root.is_dir():
        raise InsightsError(f"{root}: no such folder of Parquet tables")
    found = {n: _parquet_source(root, n) for n in TABLES}
    found = {n: p for n, p in found.items() if p is not None}
    if "events" not in found and "orders" not in found:
        raise InsightsError(
            f"{root}: neither events nor orders found (expected events/ or events.parquet)"
        )
    spill = None
    if backend == "duckdb":
        con, spill = _duckdb_connect(memory_mb)
    elif backend == "spark":
        con = ibis.pyspark.connect(session or spark_session())
    else:
        raise InsightsError(f"Parquet folders are read by duckdb or spark, not {backend}")
    tables = {
        name: con.read_parquet(source, table_name=_view_name(name) if backend == "spark" else name)
        for name, source in found.items()
    }
    return Tables(backend, con, _typed(con, tables), spill=spill)


def _parquet_source(root: pathlib.Path, name: str) -> str | None:
    if (root / name).is_dir():
        return str(root / name)
    if (root / f"{name}.parquet").is_file():
        return str(root / f"{name}.parquet")
    return None


def export_parquet(store: Store, path: str | os.PathLike[str]) -> dict[str, int]:
    """Write the store's tables (the columns the analyses use) to ``path/<table>.parquet``,
    through DuckDB; returns the rows written per table. Files are written under a temporary
    name and renamed, so a reader never sees half a table."""
    root = pathlib.Path(path)
    root.mkdir(parents=True, exist_ok=True)
    t = open_tables(store, "duckdb")
    counts = {}
    try:
        raw = t.con.con
        for name in TABLES:
            tmp = root / f".{name}.parquet.tmp"
            raw.execute(f"COPY (SELECT * FROM main.{name}) TO {_quote(str(tmp))} (FORMAT parquet)")
            os.replace(tmp, root / f"{name}.parquet")
            counts[name] = raw.execute(f"SELECT count(*) FROM main.{name}").fetchone()[0]
    finally:
        t.close()
    return counts


_SPARK: Any = None


def spark_session() -> Any:
    """A local Spark session (one per process): UTC, few shuffle partitions, no web UI."""
    global _SPARK
    if _SPARK is None:
        try:
            from pyspark.sql import SparkSession
        except ImportError as exc:
            raise InsightsError(
                "the spark engine needs PySpark: pip install 'shopmind[spark]' (and Java 17)"
            ) from exc
        _SPARK = (
            SparkSession.builder.master(os.environ.get("SHOPMIND_SPARK_MASTER", "local[2]"))
            .appName("shopmind-insights")
            .config("spark.ui.enabled", "false")
            .config("spark.ui.showConsoleProgress", "false")
            .config("spark.sql.session.timeZone", "UTC")
            .config("spark.sql.shuffle.partitions", "8")
            .config("spark.sql.execution.arrow.pyspark.enabled", "true")
            .getOrCreate()
        )
        _SPARK.sparkContext.setLogLevel("ERROR")
    return _SPARK


def memory_mb(settings: Any) -> int:
    """DuckDB's memory cap from ``settings`` (``insights_memory_mb``)."""
    return int(getattr(settings, "insights_memory_mb", DEFAULT_MEMORY_MB) or DEFAULT_MEMORY_MB)


@contextmanager
def tables_for(store: Store, settings: Any = None) -> Iterator[Tables]:
    """The tables on the configured engine (``insights_engine``), closed afterwards."""
    backend = getattr(settings, "insights_engine", "duckdb") if settings is not None else "duckdb"
    path = getattr(settings, "insights_spark_path", "") if settings is not None else ""
    t = open_tables(store, backend, path=path, memory_mb=memory_mb(settings))
    try:
        yield t
    finally:
        t.close()
