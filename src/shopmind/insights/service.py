"""The growth insights of one store, as the CLI, the REST API, the dashboard and the report
ask for them: each analysis over a period, JSON-ready, on the configured engine.

Periods: ``start``/``end`` (days, both included) or the last ``days`` days up to the
store's latest event or order. Results are cached for a minute per question, so a
dashboard page and its JSON twin do not run the same queries twice.
"""

from __future__ import annotations

import threading
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from typing import Any

from shopmind.insights import acquisition as acq
from shopmind.insights import advice, cohorts, funnel, products, segments, trends
from shopmind.insights.common import Period, first_day, last_days, latest_day
from shopmind.insights.engine import InsightsError, Tables, memory_mb, open_tables

CACHE_SECONDS = 60.0
REOPEN_SECONDS = 300.0  # a kept connection is re-opened after this (new columns, tables)
MIN_CLV_CUSTOMERS, MIN_CLV_REPEAT = 30, 10  # below, no fit; above, the fit is checked
PRIOR_SD = 2.0  # log-normal prior on BG/NBD's a and b when the plain fit runs to an edge
DEFAULT_DAYS = 30


class Insights:
    """Analyses of ``store`` with ``settings`` (engine, currency, language model)."""

    def __init__(self, store: Any, settings: Any = None) -> None:
        self.store, self.settings = store, settings
        self._cache: dict[tuple[Any, ...], tuple[float, Any]] = {}
        self._lock = threading.Lock()
        self._lend = threading.Lock()
        self._kept: tuple[tuple[str, str, int], Tables, float] | None = None

    @property
    def currency(self) -> str:
        return getattr(self.settings, "currency", "USD") or "USD"

    @contextmanager
    def tables(self) -> Iterator[Tables]:
        """The tables on the configured engine. One connection is kept open (re-opened
        after :data:`REOPEN_SECONDS`, on a settings change or after an error) and lent to
        one caller at a time; a caller finding it lent out gets a connection of its own."""
        backend = getattr(self.settings, "insights_engine", "duckdb") or "duckdb"
        path = getattr(self.settings, "insights_spark_path", "") or ""
        memory = memory_mb(self.settings)
        key = (backend, path, memory)
        if not self._lend.acquire(blocking=False):
            t = open_tables(self.store, backend, path=path, memory_mb=memory)
            try:
                yield t
            finally:
                t.close()
            return
        try:
            kept = self._kept
            if kept is None or kept[0] != key or time.monotonic() - kept[2] > REOPEN_SECONDS:
                if kept is not None:
                    kept[1].close()
                self._kept = kept = (
                    key, open_tables(self.store, backend, path=path, memory_mb=memory),
                    time.monotonic(),
                )  # fmt: skip
            try:
                yield kept[1]
            except InsightsError:  # a question asked wrong: the connection is fine
                raise
            except BaseException:
                self._kept = None
                kept[1].close()
                raise
        finally:
            self._lend.release()

    def close(self) -> None:
        """Close the kept connection."""
        with self._lend:
            if self._kept is not None:
                self._kept[1].close()
                self._kept = None

    def _cached(self, key: tuple[Any, ...], make: Callable[[Tables], Any]) -> Any:
        now = time.monotonic()
        with self._lock:
            hit = self._cache.get(key)
            if hit and now - hit[0] < CACHE_SECONDS:
                return hit[1]
        with self.tables() as t:
            value = make(t)
        with self._lock:
            self._cache[key] = (now, value)
            if len(self._cache) > 256:
                self._cache.pop(next(iter(self._cache)))
        return value

    def clear_cache(self) -> None:
        with self._lock:
            self._cache.clear()

    def period(
        self, start: date | None = None, end: date | None = None, days: int = DEFAULT_DAYS
    ) -> Period:
        """The period asked for; ``end`` defaults to the store's latest day."""
        if not 1 <= days <= 3660:
            raise InsightsError("days must be 1 to 3660")
        if start is not None and end is not None:
            return Period(start, end)
        with self.tables() as t:
            if end is None:
                end = latest_day(t) or date.today()
            if start is None:
                return last_days(t, days, end)
        return Period(start, end)

    def span(self) -> dict[str, str | None]:
        """The first and last day with data."""
        with self.tables() as t:
            lo, hi = first_day(t), latest_day(t, complete=False)
        return {"first": lo.isoformat() if lo else None, "last": hi.isoformat() if hi else None}

    # -- the analyses ----------------------------------------------------------------------

    def funnel(self, period: Period, **options: Any) -> dict[str, Any]:
        key = ("funnel", period, tuple(sorted((k, _hashable(v)) for k, v in options.items())))
        return self._cached(key, lambda t: funnel.funnel(t, period, **options).to_dict())

    def acquisition(self, period: Period, **options: Any) -> dict[str, Any]:
        key = ("acquisition", period, tuple(sorted(options.items())))

        def make(t: Tables) -> dict[str, Any]:
            out = acq.acquisition(t, period, **options).to_dict()
            out["placements"] = self._placements(period)
            return out

        return self._cached(key, make)

    def _placements(self, period: Period) -> list[dict[str, Any]]:
        """The recommendation widget's placements (issue 7), where their events exist."""
        from shopmind.store.placements import has_placements, placement_stats

        if not has_placements(self.store):
            return []
        return placement_stats(self.store, since=period.lo)

    def cohorts(self, as_of: date, months: int = 12) -> dict[str, Any]:
        return self._cached(
            ("cohorts", as_of, months), lambda t: cohorts.cohorts(t, as_of, months).to_dict()
        )

    def segments(self, as_of: date) -> dict[str, Any]:
        return self._cached(("segments", as_of), lambda t: segments.segments(t, as_of).to_dict())

    def segment_customers(
        self, as_of: date, segment: str | None = None, limit: int | None = None
    ) -> list[dict[str, Any]]:
        with self.tables() as t:
            return segments.segment_customers(t, as_of, segment, limit)

    def anomalies(self, period: Period, **options: Any) -> dict[str, Any]:
        key = ("anomalies", period, tuple(sorted(options.items())))
        return self._cached(key, lambda t: trends.anomalies(t, period, **options).to_dict())

    def demand(self, period: Period, **options: Any) -> dict[str, Any]:
        key = ("demand", period, tuple(sorted(options.items())))
        return self._cached(key, lambda t: trends.demand(t, period, **options).to_dict())

    def products(self, period: Period, min_views: int = 50) -> list[dict[str, Any]]:
        return self._cached(
            ("products", period, min_views),
            lambda t: products.product_conversion(t, period, min_views=min_views),
        )

    def clv(
        self, as_of: date, months: int = 12, calibration_end: date | None = None, top: int = 50
    ) -> dict[str, Any]:
        """BG/NBD + Gamma-Gamma fitted on the store's orders up to ``as_of``; with an
        earlier ``calibration_end``, also checked on the orders after it."""
        key = ("clv", as_of, months, calibration_end, top)
        return self._cached(key, lambda t: store_clv(t, as_of, months, calibration_end, top))

    def complaints(self, product_ids: list[int]) -> dict[int, dict[str, Any]]:
        """Per product: its most complained-about review aspect (from the review
        analysis, where it has run), with negative and total mentions."""
        from shopmind.store.reviews import aspect_results

        out = {}
        for pid in product_ids:
            counts: dict[str, list[int]] = {}
            for row in aspect_results(self.store, pid):
                c = counts.setdefault(row["aspect"], [0, 0])
                c[0] += row["polarity"] == "negative"
                c[1] += 1
            worst = [(neg, n, a) for a, (neg, n) in counts.items() if neg >= 2 and neg / n >= 0.4]
            if worst:
                neg, n, aspect = max(worst)
                out[pid] = {"aspect": aspect, "negative": neg, "mentions": n}
        return out

    def findings(self, period: Period) -> dict[str, Any]:
        """Everything the recommendations read."""
        prods = self.products(period)
        under = [p["product_id"] for p in prods if p["underperforms"]][:10]
        by_device = self.funnel(period, by="device")
        out = {
            "period": period.to_dict(),
            # the overall funnel is the by-device one without its groups: one pass, not two
            "funnel": {**by_device, "by": None, "groups": []},
            "funnel_device": by_device,
            "acquisition": self.acquisition(period),
            "segments": self.segments(period.end),
            "demand": self.demand(period),
            "anomalies": self.anomalies(period),
            "products": prods,
            "complaints": self.complaints(under),
        }
        try:
            out["clv"] = self.clv(period.end)
        except InsightsError as exc:
            out["clv"] = {"error": str(exc)}
        return out

    def recommendations(self, period: Period, lang: str = "en") -> list[dict[str, Any]]:
        recs = advice.recommend(self.findings(period), self.currency, lang)
        model = self._writer() if lang == "en" else None
        return advice.phrase(recs, model) if model is not None else recs

    def _writer(self) -> Any:
        """The language model that rewords recommendations: ``insights_writer`` = model,
        or auto with a model server (a local small model is too slow for it)."""
        writer = getattr(self.settings, "insights_writer", "template")
        backend = getattr(self.settings, "llm_backend", "local")
        if writer == "template" or (writer == "auto" and backend != "openai"):
            return None
        from shopmind.models.llm import LLMError, load_language_model

        try:
            return load_language_model(self.settings)
        except LLMError:
            return None


def _hashable(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value


def store_clv(
    t: Tables, as_of: date, months: int = 12, calibration_end: date | None = None, top: int = 50
) -> dict[str, Any]:
    """Lifetime value of the store's customers (see :mod:`shopmind.insights.clv`)."""
    from shopmind.insights import clv

    o = segments.paid_orders(t, as_of)
    frame = t.execute(o.select(customer_id=o.who, date=o.day, amount=o.total))
    if frame.empty:
        raise InsightsError("no orders yet: lifetime value needs the store's order history")
    cal = calibration_end or as_of
    if cal > as_of:
        raise InsightsError("the calibration end is after the last day analysed")
    summary = clv.summarize(
        frame, calibration_end=cal, observation_end=as_of if cal < as_of else None
    )
    repeat = int((summary["frequency"] > 0).sum())
    if len(summary) < MIN_CLV_CUSTOMERS or repeat < MIN_CLV_REPEAT:
        raise InsightsError(
            f"lifetime value needs more history: {len(summary)} customers, {repeat} with a "
            f"repeat purchase (need {MIN_CLV_CUSTOMERS} and {MIN_CLV_REPEAT})"
        )
    rfm = [summary[c].to_numpy(dtype=float) for c in ("frequency", "recency", "T")]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        bg = clv.BetaGeo().fit(*rfm)
        regularised = not _stable(bg)
        if regularised:  # ran to the edge: a weak prior on the drop-out keeps it off
            bg = clv.BetaGeo(prior_sd=PRIOR_SD).fit(*rfm)
        gg = clv.GammaGamma().fit(rfm[0], summary["monetary"])
    # Gamma-Gamma may run to q, γ → ∞: every customer's mean spend alike, a limit whose
    # expected spend (p·γ / (q − 1)) stays finite; only a failed fit stops it.
    if not (_stable(bg) or (regularised and _inside(bg))) or not gg.converged_:
        raise InsightsError(
            "lifetime value: the models found no stable fit in this history (too few or too "
            "alike customers); try again with more orders"
        )
    table = clv.value_table(summary, bg, gg, months=months)
    table = table.sort_values("clv", ascending=False)
    total = float(table["clv"].sum())
    n_top = max(1, len(table) // 10)
    out: dict[str, Any] = {
        "as_of": as_of.isoformat(),
        "calibration_end": cal.isoformat(),
        "months": months,
        "customers": len(table),
        "repeat_customers": int((summary["frequency"] > 0).sum()),
        "bgnbd": clv._params_dict(bg),
        "regularised": regularised,
        "gamma_gamma": {**clv._params_dict(gg), "frequency_monetary_correlation": gg.correlation_},
        "expected_value": round(total, 2),
        "top_decile_share": float(table["clv"].head(n_top).sum() / total) if total else None,
        "prob_alive_histogram": _histogram(table["prob_alive"].to_numpy()),
        "top": _top_customers(t, table.head(top)),
    }
    if cal < as_of:
        duration = float(summary["duration_holdout"].iloc[0])
        predicted = bg.expected_purchases(duration, *rfm)
        out["holdout"] = {
            "weeks": duration,
            "predicted_purchases": float(predicted.sum()),
            "actual_purchases": int(summary["purchases_holdout"].sum()),
        }
    return out


def _values(model: Any) -> list[float]:
    return [float(getattr(model, name + "_")) for name in model._params]


def _inside(bg: Any) -> bool:
    """A BG/NBD fit away from the edges of its parameter space."""
    return all(1e-4 < v < 1e4 for v in _values(bg))


def _stable(bg: Any) -> bool:
    """A plain BG/NBD fit that converged, inside (with the prior, a line search that stops
    a hair short of its tolerance is no sign of trouble: being inside is what counts)."""
    return bool(bg.converged_) and _inside(bg)


def _histogram(values: Any, bins: int = 10) -> list[dict[str, Any]]:
    import numpy as np

    counts, edges = np.histogram(values, bins=bins, range=(0.0, 1.0))
    return [
        {
            "low": round(float(edges[i]), 2),
            "high": round(float(edges[i + 1]), 2),
            "customers": int(c),
        }
        for i, c in enumerate(counts)
    ]


def _top_customers(t: Tables, table: Any) -> list[dict[str, Any]]:
    c = t["customers"]
    ids = [int(w) for w in table["customer_id"] if str(w).isdigit()]
    names = {}
    if ids:
        frame = t.execute(
            c.filter(c.id.isin(ids)).select("id", "external_id", "email", "first_name", "last_name")
        )
        names = {str(r["id"]): r for r in frame.to_dict("records")}
    out = []
    for row in table.to_dict("records"):
        key = str(row["customer_id"])
        who = names.get(key, {})
        email = key.removeprefix("email:") if key.startswith("email:") else who.get("email")
        name = " ".join(x for x in (who.get("first_name"), who.get("last_name")) if x)
        out.append(
            {
                "customer": who.get("external_id") or email,
                "email": email,
                "name": name or None,
                "frequency": int(row["frequency"]),
                "recency_weeks": round(float(row["recency"]), 1),
                "age_weeks": round(float(row["T"]), 1),
                "monetary": round(float(row["monetary"]), 2),
                "expected_purchases": round(float(row["expected_purchases"]), 3),
                "prob_alive": round(float(row["prob_alive"]), 3),
                "clv": round(float(row["clv"]), 2),
            }
        )
    return out
