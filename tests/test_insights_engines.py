"""Every engine gives the same answers: the same analyses over the same simulated store, on
DuckDB reading the SQLite file, DuckDB and Spark reading its Parquet export, and — with a
PostgreSQL server — DuckDB reading the PostgreSQL store and PostgreSQL running them itself.

DuckDB over SQLite is the reference (:mod:`test_insights_analyses` proves it right). The
Spark checks are one test, so that under pytest-xdist one worker starts the one Spark
session; they are skipped without PySpark or Java unless ``SHOPMIND_REQUIRE_SPARK=1``.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from insights_data import (
    SMALL,
    SMALL_PERIOD,
    assert_same,
    hand_tables,
    need_spark,
    session,
    simulated_store,
    snapshot,
)
from shopmind.config import Settings
from shopmind.insights.engine import (
    InsightsError,
    InsightsMemoryError,
    export_parquet,
    from_parquet,
    open_tables,
)
from shopmind.insights.funnel import funnel
from shopmind.insights.service import Insights
from shopmind.store import Store


@pytest.fixture(scope="module")
def sqlite_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    store = simulated_store(f"sqlite:///{tmp_path_factory.mktemp('sim') / 'store.db'}", SMALL)
    yield store
    store.dispose()


@pytest.fixture(scope="module")
def reference(sqlite_store: Store) -> dict[str, Any]:
    """Every analysis on DuckDB reading the SQLite file."""
    tables = open_tables(sqlite_store)
    try:
        return snapshot(tables, SMALL_PERIOD)
    finally:
        tables.close()


@pytest.fixture(scope="module")
def parquet(sqlite_store: Store, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("lake")
    counts = export_parquet(sqlite_store, folder)
    assert counts["events"] == sqlite_store.stats()["events"] > 1000
    return folder


def test_reference_is_not_empty(reference: dict[str, Any]) -> None:
    """The comparisons below compare something: every analysis found data."""
    funnel_totals = [s["units"] for s in reference["funnel_by_device"]["steps"]]
    assert funnel_totals[-1] > 10 and len(reference["funnel_by_device"]["groups"]) == 3
    assert len(reference["acquisition"]["channels"]) == 9
    assert reference["segments"]["customers"] > 10
    january, february = reference["cohorts"]["cohorts"]
    assert len(january["active"]) == 2 and january["active"][1] > 0  # retention to compare
    assert february["customers"] > 0
    assert len(reference["segment_customers"]) == reference["segments"]["customers"]


def test_duckdb_over_parquet_agrees(parquet: Path, reference: dict[str, Any]) -> None:
    tables = from_parquet(parquet)
    try:
        assert_same(snapshot(tables, SMALL_PERIOD), reference)
    finally:
        tables.close()


def test_parquet_folder_must_hold_tables(tmp_path: Path) -> None:
    with pytest.raises(InsightsError, match="no such folder"):
        from_parquet(tmp_path / "missing")
    with pytest.raises(InsightsError, match="neither events nor orders"):
        from_parquet(tmp_path)


def _setting(tables: Any, name: str) -> str:
    return str(tables.con.con.execute(f"SELECT current_setting('{name}')").fetchone()[0])


def test_duckdb_memory_is_capped_and_spills_to_a_folder_of_its_own(
    sqlite_store: Store, parquet: Path
) -> None:
    """The cap comes from the setting (512 MiB unless told); the spill folder is private
    to the connection, under the system's temporary folder, and gone after close."""
    with Insights(sqlite_store, Settings(insights_memory_mb=96)).tables() as tables:
        assert _setting(tables, "memory_limit") == "96.0 MiB"
    tables = from_parquet(parquet)
    other = from_parquet(parquet)
    try:
        assert _setting(tables, "memory_limit") == "512.0 MiB"
        spill = Path(_setting(tables, "temp_directory"))
        assert spill.parent == Path(tempfile.gettempdir()) and spill.name.startswith("shopmind")
        assert spill != Path(_setting(other, "temp_directory"))
        spill.mkdir()  # as DuckDB makes it when it first spills
        (spill / "duckdb_temp_storage.tmp").write_bytes(b"x")
    finally:
        tables.close()
        other.close()
    assert not spill.exists()
    with pytest.raises(InsightsError, match="at least 64"):
        from_parquet(parquet, memory_mb=8)


def test_running_out_of_memory_says_which_setting_to_raise(parquet: Path) -> None:
    tables = from_parquet(parquet)
    try:
        tables.con.con.execute("SET memory_limit = '1MiB'")  # below what any query needs
        with pytest.raises(InsightsMemoryError, match="raise insights_memory_mb"):
            funnel(tables, SMALL_PERIOD, by="device")
        tables.con.con.execute("SET memory_limit = '512MiB'")
        assert funnel(tables, SMALL_PERIOD).totals[0] > 0  # the connection still works
    finally:
        tables.close()


# -- Spark ----------------------------------------------------------------------------------

JOURNEY = session("a", "a1", [("view_item", "2026-04-02 10:00"), ("purchase", "2026-04-02 10:05")])


def test_spark_over_parquet_agrees(
    parquet: Path, reference: dict[str, Any], sqlite_store: Store
) -> None:
    spark = need_spark()
    tables = from_parquet(parquet, "spark", session=spark)
    assert_same(snapshot(tables, SMALL_PERIOD), reference)
    # tables from frames in the same session keep views of their own: they do not
    # replace the lake's events, nor write tables under ./spark-warehouse
    warehouse = set(Path("spark-warehouse").glob("*"))
    frames = hand_tables("spark", spark, events=JOURNEY)
    assert frames.execute(frames.events.count()) == len(JOURNEY)
    assert tables.execute(tables.events.count()) == sqlite_store.stats()["events"]
    assert set(Path("spark-warehouse").glob("*")) == warehouse


# -- PostgreSQL -----------------------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_postgresql_engines_agree(database_url: str, reference: dict[str, Any]) -> None:
    """The same simulation written to PostgreSQL, read by DuckDB's PostgreSQL scanner and
    run inside PostgreSQL (the test's own schema, named by the URL's search_path)."""
    store = simulated_store(database_url, SMALL)
    try:
        for backend in ("duckdb", "postgres"):
            tables = open_tables(store, backend)
            try:
                assert_same(snapshot(tables, SMALL_PERIOD), reference, backend)
            finally:
                tables.close()
    finally:
        store.dispose()
