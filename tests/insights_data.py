"""Shared pieces of the insights tests: hand-made tables, simulated stores, a snapshot of
every analysis (to compare engines) and the Spark switch.

Spark tests need PySpark (``pip install 'shopmind[spark]'``) and Java 17; without them they
are skipped, unless ``SHOPMIND_REQUIRE_SPARK=1`` (CI), which turns the skip into a failure.
"""

from __future__ import annotations

import importlib.util
import math
import os
import shutil
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from shopmind.insights.acquisition import acquisition
from shopmind.insights.cohorts import cohorts
from shopmind.insights.common import Period
from shopmind.insights.engine import COLUMNS, Tables, from_frames
from shopmind.insights.funnel import funnel
from shopmind.insights.segments import segment_customers, segments
from shopmind.simulate import SimulationConfig, simulate
from shopmind.store import Store

REQUIRE_SPARK = os.environ.get("SHOPMIND_REQUIRE_SPARK") == "1"

# The small simulated store the oracle and the engine tests read (about 3 s to build), and
# a period from mid-stream to a month's end (so that January's cohort has a month after it).
SMALL = SimulationConfig(customers=300, days=60, products=30, seed=5)
SMALL_PERIOD = Period(date(2026, 1, 21), date(2026, 2, 28))


# -- hand-made tables -----------------------------------------------------------------------


def at(text: str) -> datetime:
    """``"2026-03-02 10:00"`` as a naive UTC moment."""
    return datetime.fromisoformat(text)


def event(
    name: str,
    ts: str,
    user: str,
    session: str | None,
    *,
    source: str | None = None,
    medium: str | None = None,
    campaign: str | None = None,
    device: str | None = None,
    item: str | None = None,
    value: float | None = None,
    txn: str | None = None,
    customer: str | None = None,
) -> dict[str, Any]:
    return {
        "name": name, "ts": at(ts), "user_id": user, "session_id": session,
        "customer_id": customer, "item_id": item, "value": value, "transaction_id": txn,
        "source": source, "medium": medium, "campaign": campaign, "device": device,
    }  # fmt: skip


def session(
    user: str, sid: str, steps: Sequence[tuple[str, str]], **attrs: Any
) -> list[dict[str, Any]]:
    """One session's events, ``steps`` as (name, moment); ``attrs`` on every event (a
    purchase's ``value`` and ``txn`` only on the purchase)."""
    buy = {k: attrs.pop(k) for k in ("value", "txn") if k in attrs}
    return [
        event(name, ts, user, sid, **attrs, **(buy if name == "purchase" else {}))
        for name, ts in steps
    ]


def frame(table: str, rows: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """Rows as a frame with every column the analyses read (ids numbered from 1)."""
    out = pd.DataFrame([dict(r) for r in rows], columns=list(COLUMNS[table]))
    if table == "events":
        out["id"] = range(1, len(out) + 1)
        out["event_id"] = [f"e{n}" for n in out["id"]]
    return out


def hand_tables(backend: str = "duckdb", spark: Any = None, **rows: Sequence[Any]) -> Tables:
    """Tables from hand-made rows per table name (missing tables are empty)."""
    frames = {name: frame(name, r) for name, r in rows.items()}
    return from_frames(frames, backend, session=spark)  # type: ignore[arg-type]


# -- simulated stores -----------------------------------------------------------------------


def simulated_store(url: str, config: SimulationConfig, truth: Path | None = None) -> Store:
    store = Store(url)
    store.upgrade()
    simulate(store, config, truth_path=truth)
    return store


# -- every analysis at once, for comparing engines --------------------------------------------


def snapshot(tables: Tables, period: Period) -> dict[str, Any]:
    """The analyses the engines must agree on, as JSON-ready data (without the period
    before: the same expressions over other dates, and each Spark query takes seconds)."""
    return {
        "funnel_by_device": funnel(tables, period, by="device", compare=False).to_dict(),
        "acquisition": acquisition(tables, period, model="position_based", compare=False).to_dict(),
        "segments": segments(tables, period.end).to_dict(),
        "cohorts": cohorts(tables, period.end, months=3).to_dict(),
        "segment_customers": segment_customers(tables, period.end),
    }


# Money is shown rounded to cents (attributed conversions to 1/1000): sums added up in
# another order may round to the next cent, so those differ by at most one unit.
ROUNDED = {"revenue": 0.01, "value": 0.01, "previous_value": 0.01, "spend": 0.01,
           "revenue_per_customer": 0.01, "conversions": 0.001}  # fmt: skip


def assert_same(got: Any, want: Any, where: str = "") -> None:
    """``got`` equals ``want``, floats within 1e-9 relative (plus the rounding above)."""
    if isinstance(want, dict):
        assert isinstance(got, dict) and got.keys() == want.keys(), where
        for k in want:
            assert_same(got[k], want[k], f"{where}.{k}")
    elif isinstance(want, list):
        assert isinstance(got, list) and len(got) == len(want), f"{where}: {got} != {want}"
        for n, (g, w) in enumerate(zip(got, want, strict=True)):
            assert_same(g, w, f"{where}[{n}]")
    elif isinstance(want, float) and not math.isnan(want):
        leaf = where.rsplit(".", 1)[-1].split("[")[0]
        tolerance = ROUNDED.get(leaf, 0.0) * 1.0001
        assert got == pytest.approx(want, rel=1e-9, abs=tolerance), where
    else:
        assert got == want, f"{where}: {got!r} != {want!r}"


# -- Spark ----------------------------------------------------------------------------------


def need_spark() -> Any:
    """The process's Spark session; skips without PySpark or Java (fails instead under
    ``SHOPMIND_REQUIRE_SPARK=1``)."""
    reason = None
    if importlib.util.find_spec("pyspark") is None:
        reason = "PySpark is not installed (pip install 'shopmind[spark]')"
    elif shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        reason = "no Java runtime for Spark (apt-get install openjdk-17-jre-headless)"
    if reason:
        if REQUIRE_SPARK:
            pytest.fail(f"SHOPMIND_REQUIRE_SPARK=1 but {reason}")
        pytest.skip(reason)
    from shopmind.insights.engine import spark_session

    spark = spark_session()
    # tiny tables: few shuffle tasks, and no generated code, whose compiling takes longer
    # than running these queries (a whole snapshot: about 20 s instead of 40 here)
    spark.conf.set("spark.sql.shuffle.partitions", "2")
    spark.conf.set("spark.sql.codegen.wholeStage", "false")
    spark.conf.set("spark.sql.codegen.factoryMode", "NO_CODEGEN")
    return spark
