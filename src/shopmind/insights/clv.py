"""Customer lifetime value: BG/NBD purchase counts × Gamma-Gamma spend, by maximum likelihood.

Pipeline: transactions → :func:`summarize` (one RFM row per customer) → :class:`BetaGeo`
(how often, and for how long, a customer keeps buying: Fader, Hardie & Lee 2005) and
:class:`GammaGamma` (how much a repeat purchase is worth: Fader & Hardie 2013) →
:func:`customer_value` (discounted value over a horizon). :func:`fit_file` runs it all on a CSV.

Time is measured in periods of ``freq`` (``"D"`` days or ``"W"`` weeks of 7 days); money in
the currency of the amounts. Both models are fitted with L-BFGS-B on log-parameters using the
analytic gradient of the log-likelihood; nothing here needs more than NumPy and SciPy.
"""

from __future__ import annotations

import csv
import json
import re
import warnings
from datetime import date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray
from scipy.optimize import minimize
from scipy.special import betaln, digamma, gammaln, hyp2f1

FREQ_DAYS = {"D": 1.0, "W": 7.0}
DAYS_PER_MONTH = 365.25 / 12
_LOG_BOUND = 15.0  # log-parameters are kept in [-15, 15]: parameters in [3e-7, 3.3e6]

FloatArray = NDArray[np.float64]


class CLVInputError(ValueError):
    """Transactions that cannot be summarized or fitted; the message says where and why."""


class CLVConvergenceWarning(UserWarning):
    """The fit did not converge from any start, or a parameter ran to its bound."""


class CLVCorrelationWarning(UserWarning):
    """Purchase frequency and spend are correlated, against the Gamma-Gamma assumption."""


# --------------------------------------------------------------------------- transactions


def summarize(
    customer_ids: ArrayLike | pd.DataFrame,
    dates: ArrayLike | None = None,
    amounts: ArrayLike | None = None,
    *,
    calibration_end: str | date | datetime,
    observation_end: str | date | datetime | None = None,
    freq: str = "W",
) -> pd.DataFrame:
    """One RFM row per customer whose first purchase is on or before ``calibration_end``.

    Takes three array-likes, or one DataFrame with columns ``customer_id``, ``date`` and
    ``amount``. Purchases on the same calendar day are merged into one (amounts summed).
    Columns, times in ``freq`` periods (``"D"`` or ``"W"``):

    - ``frequency``: repeat purchase days up to ``calibration_end`` (the first is not counted);
    - ``recency``: first to last purchase day; ``T``: first purchase day to ``calibration_end``;
    - ``monetary``: mean amount of the repeat purchase days (0 when ``frequency`` is 0);
    - with ``observation_end``: ``purchases_holdout`` (purchase days after ``calibration_end``
      up to and including ``observation_end``), ``spend_holdout`` and ``duration_holdout``.
    """
    tx = _transactions_frame(customer_ids, dates, amounts)
    unit = _freq_days(freq)
    cal_end = _as_day(calibration_end, "calibration_end")
    days = tx.groupby(["customer_id", "date"], as_index=False, sort=True)["amount"].sum()
    cal = days[days["date"] <= cal_end]
    if cal.empty:
        raise CLVInputError(f"no purchase on or before calibration_end {cal_end.date()}")
    grouped = cal.groupby("customer_id", sort=True)
    first, last = grouped["date"].min(), grouped["date"].max()
    first_amount = grouped["amount"].first()
    frequency = grouped.size() - 1
    repeat_total = grouped["amount"].sum() - first_amount
    out = pd.DataFrame(
        {
            "frequency": frequency.astype(np.int64),
            "recency": (last - first).dt.days / unit,
            "T": (cal_end - first).dt.days / unit,
            "monetary": (repeat_total / frequency.where(frequency > 0)).fillna(0.0),
        }
    )
    if observation_end is not None:
        obs_end = _as_day(observation_end, "observation_end")
        if obs_end < cal_end:
            raise CLVInputError(f"observation_end {obs_end.date()} is before calibration_end")
        hold = days[(days["date"] > cal_end) & (days["date"] <= obs_end)]
        hold = hold.groupby("customer_id")["amount"].agg(["size", "sum"])
        hold = hold.reindex(out.index, fill_value=0)
        out["purchases_holdout"] = hold["size"].astype(np.int64)
        out["spend_holdout"] = hold["sum"].astype(float)
        out["duration_holdout"] = (obs_end - cal_end).days / unit
    return out.rename_axis("customer_id").reset_index()


def read_transactions_csv(
    path: str | Path,
    customer_column: str = "customer_id",
    date_column: str = "date",
    amount_column: str = "amount",
) -> pd.DataFrame:
    """Read a transactions CSV into columns ``customer_id`` (str), ``date`` (day), ``amount``.

    Dates are ``YYYY-MM-DD`` or ``YYYYMMDD``, optionally followed by an ISO time (dropped).
    Amounts are numbers ≥ 0: refunds (negative amounts) are rejected, net them into the order
    they refund first. Any bad cell raises :class:`CLVInputError` naming file, line and field.
    """
    path = Path(path)
    with path.open(newline="", encoding="utf-8-sig") as fh:
        reader = csv.DictReader(fh)
        header = reader.fieldnames
        if not header:
            raise CLVInputError(f"{path.name}: empty file, expected a header row")
        for column in (customer_column, date_column, amount_column):
            if column not in header:
                raise CLVInputError(
                    f'{path.name}: missing column "{column}"; header found: {", ".join(header)}'
                )
        ids: list[str] = []
        days: list[date] = []
        amounts: list[float] = []
        for row in reader:
            where = f"{path.name} line {reader.line_num}"
            ids.append(_parse_customer(row.get(customer_column), where, customer_column))
            days.append(_parse_date(row.get(date_column), where, date_column))
            amounts.append(_parse_amount(row.get(amount_column), where, amount_column))
    if not ids:
        raise CLVInputError(f"{path.name}: no transactions after the header")
    return pd.DataFrame(
        {
            "customer_id": pd.Series(ids, dtype=object),
            "date": pd.to_datetime(pd.Series(days)),
            "amount": np.asarray(amounts, dtype=float),
        }
    )


_DAY = re.compile(r"(\d{4})-(\d{2})-(\d{2})|(\d{4})(\d{2})(\d{2})")


def _parse_customer(raw: str | None, where: str, field: str) -> str:
    value = (raw or "").strip()
    if not value:
        raise CLVInputError(f'{where}, field "{field}": empty customer id')
    return value


def _parse_date(raw: str | None, where: str, field: str) -> date:
    text = (raw or "").strip()
    try:
        if match := _DAY.fullmatch(text):
            year, month, day = (int(g) for g in match.groups() if g is not None)
            return date(year, month, day)
        if _DAY.fullmatch(text[:10]) and text[10:11] in ("T", " "):
            return datetime.fromisoformat(text).date()  # an ISO timestamp: keep the day
    except ValueError:
        pass
    raise CLVInputError(f'{where}, field "{field}": not a date (YYYY-MM-DD): {text!r}')


def _parse_amount(raw: str | None, where: str, field: str) -> float:
    text = (raw or "").strip()
    try:
        value = float(text)
    except ValueError:
        raise CLVInputError(f'{where}, field "{field}": not a number: {text!r}') from None
    if not np.isfinite(value):
        raise CLVInputError(f'{where}, field "{field}": not a finite number: {text!r}')
    if value < 0:
        raise CLVInputError(
            f'{where}, field "{field}": negative amount {text!r} (refunds are not supported: '
            "net them into the order they refund)"
        )
    return value


def _transactions_frame(
    customer_ids: ArrayLike | pd.DataFrame, dates: ArrayLike | None, amounts: ArrayLike | None
) -> pd.DataFrame:
    if isinstance(customer_ids, pd.DataFrame):
        frame = customer_ids
        missing = [c for c in ("customer_id", "date", "amount") if c not in frame.columns]
        if missing:
            raise CLVInputError(f"missing columns {missing}; columns found: {list(frame.columns)}")
        customer_ids, dates, amounts = frame["customer_id"], frame["date"], frame["amount"]
    if dates is None or amounts is None:
        raise CLVInputError("summarize needs customer ids, dates and amounts")
    try:
        days = pd.to_datetime(pd.Series(np.asarray(dates)), format="ISO8601")
    except (ValueError, TypeError) as exc:
        raise CLVInputError(f"dates must be ISO dates or datetimes: {exc}") from None
    if days.dt.tz is not None:
        days = days.dt.tz_localize(None)  # the shop's wall-clock day
    tx = pd.DataFrame(
        {
            "customer_id": np.asarray(customer_ids),
            "date": days.dt.normalize().to_numpy(),
            "amount": np.asarray(amounts, dtype=float),
        }
    )
    if tx.empty:
        raise CLVInputError("no transactions")
    if tx["date"].isna().any() or not np.isfinite(tx["amount"]).all():
        raise CLVInputError("missing dates or non-finite amounts")
    if (tx["amount"] < 0).any():
        raise CLVInputError("negative amounts (refunds) are not supported")
    return tx


def _as_day(value: str | date | datetime, name: str) -> pd.Timestamp:
    try:
        return pd.Timestamp(value).normalize()
    except (ValueError, TypeError):
        raise CLVInputError(f"{name}: not a date: {value!r}") from None


def _freq_days(freq: str) -> float:
    if freq not in FREQ_DAYS:
        raise CLVInputError(f"freq must be one of {sorted(FREQ_DAYS)}, got {freq!r}")
    return FREQ_DAYS[freq]


# --------------------------------------------------------------------------- fitting helpers


def _as_float(*arrays: ArrayLike) -> tuple[FloatArray, ...]:
    out = np.broadcast_arrays(*(np.asarray(a, dtype=float) for a in arrays))
    return tuple(np.array(a, dtype=float) for a in out)


def _unique_rows(*columns: FloatArray) -> tuple[tuple[FloatArray, ...], FloatArray]:
    """Distinct rows of the stacked columns and how often each occurs (the fit's weights)."""
    rows, counts = np.unique(np.column_stack(columns), axis=0, return_counts=True)
    return tuple(rows[:, i] for i in range(rows.shape[1])), counts.astype(float)


def _fit_log_params(
    neg_ll_and_grad: Any, starts: list[FloatArray], n_params: int
) -> tuple[FloatArray, bool]:
    """Minimise over log-parameters from several starts; returns the best point and success.

    Stops early once two starts converge to the same optimum.
    """
    results: list[Any] = []
    bounds = [(-_LOG_BOUND, _LOG_BOUND)] * n_params
    for start in starts:
        res = minimize(
            neg_ll_and_grad,
            start,
            jac=True,
            method="L-BFGS-B",
            bounds=bounds,
            options={"maxiter": 2000, "ftol": 1e-13, "gtol": 1e-9},
        )
        if np.isfinite(res.fun):
            results.append(res)
        if len(_converged_to_best(results)) >= 2:
            break
    if not results:
        raise CLVInputError("the likelihood is not finite at any starting point")
    best = min(results, key=lambda res: res.fun)
    if not _converged_to_best(results):
        warnings.warn("maximum-likelihood fit did not converge", CLVConvergenceWarning, 3)
    if np.any(np.abs(best.x) >= _LOG_BOUND - 1e-6):
        warnings.warn(
            "a parameter reached its bound (1e±15 in log space): the model fits this data badly",
            CLVConvergenceWarning,
            3,
        )
    return np.exp(best.x), bool(_converged_to_best(results))


def _converged_to_best(results: list[Any]) -> list[Any]:
    """The converged runs whose value is the best one (a line search that stalls a few ulps
    lower at the same optimum is not a failure)."""
    if not results:
        return []
    best = min(res.fun for res in results)
    tolerance = 1e-9 * max(1.0, abs(best))
    return [res for res in results if res.success and res.fun <= best + tolerance]


class _Fitted:
    """Shared JSON save/load for the fitted models (no pickle)."""

    _params: tuple[str, ...] = ()
    penalizer: float

    def to_dict(self) -> dict[str, Any]:
        """Hyperparameters and fitted parameters as a JSON-ready dict."""
        fitted = {name: float(getattr(self, name + "_")) for name in self._params}
        return {
            "model": type(self).__name__,
            "hyperparameters": {"penalizer": self.penalizer},
            "params": fitted,
            "log_likelihood": float(getattr(self, "log_likelihood_", np.nan)),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Any:
        """Rebuild a fitted model from :meth:`to_dict` output."""
        if data.get("model") != cls.__name__:
            raise CLVInputError(f"not a {cls.__name__} dict: model={data.get('model')!r}")
        model = cls(**data.get("hyperparameters", {}))
        for name in cls._params:
            setattr(model, name + "_", float(data["params"][name]))
        model.log_likelihood_ = float(data.get("log_likelihood", np.nan))
        return model

    def save(self, path: str | Path) -> None:
        """Write :meth:`to_dict` as JSON."""
        Path(path).write_text(json.dumps(self.to_dict(), indent=2) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path: str | Path) -> Any:
        """Read a model written by :meth:`save`."""
        return cls.from_dict(json.loads(Path(path).read_text(encoding="utf-8")))


# --------------------------------------------------------------------------- BG/NBD


class BetaGeo(_Fitted):
    """BG/NBD model (Fader, Hardie & Lee 2005) of repeat purchases in continuous time.

    While alive a customer buys as a Poisson process with rate λ ~ Gamma(shape ``r_``,
    rate ``alpha_``) per period; after each repeat purchase they drop out with probability
    p ~ Beta(``a_``, ``b_``). ``penalizer`` adds ``penalizer * sum(params**2)`` to the mean
    negative log-likelihood (0: plain maximum likelihood). ``prior_sd`` puts a weak
    log-normal prior, centred on 1 with that spread in log space, on every parameter: on a
    short or small history the plain fit can run to an edge — a, b → 0 (every customer
    either drops at once or never), r, α → ∞ (every customer buys at the same rate) — and
    the prior keeps it inside (None: no prior). Meant for periods of weeks.
    """

    _params = ("r", "alpha", "a", "b")

    def __init__(self, penalizer: float = 0.0, prior_sd: float | None = None) -> None:
        self.penalizer = penalizer
        self.prior_sd = prior_sd

    def fit(self, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike) -> BetaGeo:
        """Fit on per-customer repeat purchases, recency and age (periods). Returns self."""
        x, t_x, age = _as_float(frequency, recency, T)
        _check_rfm(x, t_x, age)
        (x, t_x, age), weights = _unique_rows(x, t_x, age)
        n = weights.sum()

        prior = 0.0 if self.prior_sd is None else 1.0 / (self.prior_sd**2 * n)
        on_ab = np.ones(4)

        def objective(log_params: FloatArray) -> tuple[float, FloatArray]:
            params = np.exp(log_params)
            ll, grad = _bgnbd_ll_grad(params, x, t_x, age)
            value = -(weights @ ll) / n + self.penalizer * np.sum(params**2)
            value += 0.5 * prior * np.sum(on_ab * log_params**2)
            d_params = -(grad @ weights) / n + 2 * self.penalizer * params
            # chain rule to log-parameters, plus the prior's own gradient there
            return float(value), d_params * params + prior * on_ab * log_params

        scale = max(float(np.mean(age)), 1e-3)
        starts = [
            np.zeros(4),
            np.log([0.5, scale / 4, 1.0, 3.0]),
            np.log([1.0, scale, 0.5, 5.0]),
        ]
        params, self.converged_ = _fit_log_params(objective, starts, 4)
        self.r_, self.alpha_, self.a_, self.b_ = (float(v) for v in params)
        self.log_likelihood_ = float(weights @ _bgnbd_ll_grad(params, x, t_x, age)[0])
        self.n_customers_ = int(n)
        return self

    def log_likelihood(self, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike) -> FloatArray:
        """Per-customer log-likelihood at the fitted parameters."""
        x, t_x, age = _as_float(frequency, recency, T)
        return _bgnbd_ll_grad(self._values(), x, t_x, age)[0]

    def prob_alive(self, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike) -> FloatArray:
        """P(still alive at ``T``); 1 for customers with no repeat purchase."""
        r, alpha, a, b = self._values()
        x, t_x, age = _as_float(frequency, recency, T)
        return 1.0 / (1.0 + _odds_dead(r, alpha, a, b, x, t_x, age))

    def expected_purchases(
        self, t: ArrayLike, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike
    ) -> FloatArray:
        """E[purchases in (T, T + t]] given the customer's history; ``t`` in periods."""
        r, alpha, a, b = self._values()
        t, x, t_x, age = _as_float(t, frequency, recency, T)
        z = t / (alpha + age + t)
        # Euler's transformation keeps 2F1 bounded: (1-z)^(r+x) 2F1(r+x, b+x; a+b+x-1; z)
        # equals (1-z)^(a-1) 2F1(a+b-1-r, a-1; a+b+x-1; z).
        tail = np.exp((a - 1) * np.log1p(-z)) * hyp2f1(a + b - 1 - r, a - 1, a + b + x - 1, z)
        numerator = (a + b + x - 1) / (a - 1) * (1.0 - tail)
        return numerator / (1.0 + _odds_dead(r, alpha, a, b, x, t_x, age))

    def expected_purchases_new(self, t: ArrayLike) -> FloatArray:
        """E[X(t)]: repeat purchases of a new customer in their first ``t`` periods."""
        r, alpha, a, b = self._values()
        (t,) = _as_float(t)
        z = t / (alpha + t)
        tail = np.exp((a - 1) * np.log1p(-z)) * hyp2f1(a + b - 1 - r, a - 1, a + b - 1, z)
        return (a + b - 1) / (a - 1) * (1.0 - tail)

    def _values(self) -> tuple[float, float, float, float]:
        if not hasattr(self, "r_"):
            raise RuntimeError("BetaGeo is not fitted: call fit() or from_dict() first")
        return self.r_, self.alpha_, self.a_, self.b_


def _odds_dead(
    r: float, alpha: float, a: float, b: float, x: FloatArray, t_x: FloatArray, age: FloatArray
) -> FloatArray:
    """P(dead) / P(alive) given the history; 0 when x = 0."""
    repeat = x > 0
    xs = np.where(repeat, x, 1.0)
    log_odds = (
        np.log(a) - np.log(b + xs - 1) + (r + xs) * (np.log(alpha + age) - np.log(alpha + t_x))
    )
    return np.where(repeat, np.exp(log_odds), 0.0)


def _bgnbd_ll_grad(
    params: FloatArray, x: FloatArray, t_x: FloatArray, age: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """Per-row log-likelihood (n,) and its gradient in (r, alpha, a, b), shape (4, n)."""
    r, alpha, a, b = params
    repeat = x > 0
    xs = np.where(repeat, x, 1.0)  # keeps the x = 0 rows' unused second term finite
    a1 = gammaln(r + x) - gammaln(r) + r * np.log(alpha)
    a2 = betaln(a, b + x) - betaln(a, b) - (r + x) * np.log(alpha + age)
    a3 = betaln(a + 1, b + xs - 1) - betaln(a, b) - (r + xs) * np.log(alpha + t_x)
    a3 = np.where(repeat, a3, -np.inf)
    mix = np.logaddexp(a2, a3)
    w2, w3 = np.exp(a2 - mix), np.exp(a3 - mix)  # posterior weights of "alive" and "dead"

    d_ab = digamma(a + b)
    grad = np.empty((4, x.size))
    grad[0] = (
        digamma(r + x) - digamma(r) + np.log(alpha) - w2 * np.log(alpha + age)
        - w3 * np.log(alpha + t_x)
    )  # fmt: skip
    grad[1] = r / alpha - (r + x) * (w2 / (alpha + age) + w3 / (alpha + t_x))
    shared = d_ab - digamma(a + b + x)  # w2 + w3 = 1 folds the two terms' shared parts
    grad[2] = shared + w3 / a
    grad[3] = shared + digamma(b + x) - digamma(b) - w3 / (b + xs - 1)
    return a1 + mix, grad


def _check_rfm(x: FloatArray, t_x: FloatArray, age: FloatArray) -> None:
    if x.size == 0:
        raise CLVInputError("no customers to fit")
    if not (np.isfinite(x).all() and np.isfinite(t_x).all() and np.isfinite(age).all()):
        raise CLVInputError("frequency, recency and T must be finite")
    if (x < 0).any() or (x != np.round(x)).any():
        raise CLVInputError("frequency must be a whole number ≥ 0")
    if (t_x < 0).any() or (t_x > age + 1e-9).any():
        raise CLVInputError("recency must lie in [0, T]")
    if ((x == 0) & (t_x != 0)).any():
        raise CLVInputError("recency must be 0 when frequency is 0")


# --------------------------------------------------------------------------- Gamma-Gamma


class GammaGamma(_Fitted):
    """Gamma-Gamma model of spend per repeat purchase (Fader & Hardie 2013, Colombo & Jiang).

    A purchase is worth z ~ Gamma(shape ``p_``, rate ν) with ν ~ Gamma(shape ``q_``, rate
    ``gamma_``) per customer, independent of how often the customer buys. ``fit`` computes
    the Pearson correlation of frequency and mean spend (``correlation_``) and warns
    (:class:`CLVCorrelationWarning`, ``correlated_`` True) when its size exceeds
    ``max_correlation``.
    """

    _params = ("p", "q", "gamma")

    def __init__(self, penalizer: float = 0.0, max_correlation: float = 0.3) -> None:
        self.penalizer = penalizer
        self.max_correlation = max_correlation

    def to_dict(self) -> dict[str, Any]:
        """Hyperparameters, fitted parameters and the independence check as a JSON-ready dict."""
        out = super().to_dict()
        out["hyperparameters"]["max_correlation"] = self.max_correlation
        if hasattr(self, "correlation_"):
            out["correlation"] = self.correlation_
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> GammaGamma:
        """Rebuild a fitted model from :meth:`to_dict` output."""
        model = super().from_dict(data)
        if "correlation" in data:
            model.correlation_ = float(data["correlation"])
            model.correlated_ = abs(model.correlation_) > model.max_correlation
        return model

    def fit(self, frequency: ArrayLike, monetary: ArrayLike) -> GammaGamma:
        """Fit on repeat purchases and their mean value; customers with frequency 0 are skipped."""
        x, m = _as_float(frequency, monetary)
        keep = x > 0
        x, m = x[keep], m[keep]
        if x.size < 2:
            raise CLVInputError("Gamma-Gamma needs at least 2 customers with a repeat purchase")
        if (m <= 0).any() or not np.isfinite(m).all():
            raise CLVInputError("monetary must be > 0 for customers with frequency > 0")
        self.correlation_ = float(np.corrcoef(x, m)[0, 1]) if np.ptp(x) > 0 else 0.0
        self.correlated_ = abs(self.correlation_) > self.max_correlation
        if self.correlated_:
            warnings.warn(
                f"frequency and monetary value correlate (Pearson r = {self.correlation_:.2f}); "
                "the Gamma-Gamma model assumes they are independent",
                CLVCorrelationWarning,
                2,
            )
        (x, m), weights = _unique_rows(x, m)
        n = weights.sum()

        def objective(log_params: FloatArray) -> tuple[float, FloatArray]:
            params = np.exp(log_params)
            ll, grad = _gg_ll_grad(params, x, m)
            value = -(weights @ ll) / n + self.penalizer * np.sum(params**2)
            d_params = -(grad @ weights) / n + 2 * self.penalizer * params
            return float(value), d_params * params

        mean = float(np.average(m, weights=weights))
        starts = [np.zeros(3), np.log([2.0, 3.0, mean]), np.log([5.0, 5.0, 2 * mean])]
        params, self.converged_ = _fit_log_params(objective, starts, 3)
        self.p_, self.q_, self.gamma_ = (float(v) for v in params)
        self.log_likelihood_ = float(weights @ _gg_ll_grad(params, x, m)[0])
        self.n_customers_ = int(n)
        return self

    def expected_spend(self, frequency: ArrayLike, monetary: ArrayLike) -> FloatArray:
        """E[value of a purchase] given the customer's repeat purchases and their mean value.

        Customers with frequency 0 get the population mean ``p γ / (q - 1)`` (infinite when
        q ≤ 1).
        """
        if not hasattr(self, "p_"):
            raise RuntimeError("GammaGamma is not fitted: call fit() or from_dict() first")
        p, q, gamma = self.p_, self.q_, self.gamma_
        x, m = _as_float(frequency, monetary)
        m = np.where(x > 0, m, 0.0)
        denominator = p * x + q - 1
        safe = np.where(denominator > 0, denominator, 1.0)
        return np.where(denominator > 0, p * (gamma + x * m) / safe, np.inf)


def _gg_ll_grad(params: FloatArray, x: FloatArray, m: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Per-row log density of the mean spend (n,) and its gradient in (p, q, gamma), (3, n)."""
    p, q, gamma = params
    px = p * x
    log_total = np.log(gamma + x * m)
    ll = (
        gammaln(px + q) - gammaln(px) - gammaln(q) + q * np.log(gamma)
        + (px - 1) * np.log(m) + px * np.log(x) - (px + q) * log_total
    )  # fmt: skip
    d_pq = digamma(px + q)
    grad = np.empty((3, x.size))
    grad[0] = x * (d_pq - digamma(px) + np.log(m) + np.log(x) - log_total)
    grad[1] = d_pq - digamma(q) + np.log(gamma) - log_total
    grad[2] = q / gamma - (px + q) / (gamma + x * m)
    return ll, grad


# --------------------------------------------------------------------------- lifetime value


def customer_value(
    bgnbd: BetaGeo,
    gg: GammaGamma,
    frequency: ArrayLike,
    recency: ArrayLike,
    T: ArrayLike,
    monetary: ArrayLike,
    months: int = 12,
    discount_rate_monthly: float = 0.01,
    period_days: float = 7.0,
) -> FloatArray:
    """Discounted expected value of each customer's purchases over the next ``months``.

    Sum over months i = 1..months of (expected purchases in month i) × (expected spend) /
    (1 + ``discount_rate_monthly``)^i; a month is 365.25 / 12 days, ``period_days`` the length
    in days of the periods that recency and T are measured in (7 for weeks).
    """
    x, t_x, age, m = _as_float(frequency, recency, T, monetary)
    ends = np.arange(months + 1) * DAYS_PER_MONTH / period_days  # (months + 1,) periods
    cumulative = np.zeros((months + 1, x.size))
    if months > 0:
        cumulative[1:] = bgnbd.expected_purchases(ends[1:, None], x, t_x, age)
    per_month = np.diff(cumulative, axis=0)  # (months, customers)
    discount = (1.0 + discount_rate_monthly) ** -np.arange(1, months + 1)
    return (discount @ per_month) * gg.expected_spend(x, m)


def value_table(
    summary: pd.DataFrame,
    bgnbd: BetaGeo,
    gg: GammaGamma,
    months: int = 12,
    discount_rate_monthly: float = 0.01,
    freq: str = "W",
) -> pd.DataFrame:
    """Per-customer table from a :func:`summarize` frame: expected purchases over the horizon,
    prob_alive, expected_spend and clv (see :func:`customer_value`)."""
    period_days = _freq_days(freq)
    cols = [summary[c].to_numpy(dtype=float) for c in ("frequency", "recency", "T")]
    monetary = summary["monetary"].to_numpy(dtype=float)
    horizon = months * DAYS_PER_MONTH / period_days
    out = summary[["customer_id", "frequency", "recency", "T", "monetary"]].copy()
    out["expected_purchases"] = bgnbd.expected_purchases(horizon, *cols)
    out["prob_alive"] = bgnbd.prob_alive(*cols)
    out["expected_spend"] = gg.expected_spend(cols[0], monetary)
    out["clv"] = customer_value(
        bgnbd, gg, *cols, monetary, months, discount_rate_monthly, period_days
    )
    return out


def fit_file(
    path: str | Path,
    calibration_end: str | date | datetime,
    observation_end: str | date | datetime | None = None,
    freq: str = "W",
    **columns: str,
) -> dict[str, Any]:
    """Read a transactions CSV, fit BG/NBD and Gamma-Gamma, and report as a JSON-ready dict.

    ``columns`` passes ``customer_column`` / ``date_column`` / ``amount_column`` to
    :func:`read_transactions_csv`. With ``observation_end`` the report has a ``holdout``
    section: predicted vs actual repeat purchases of the calibration customers after
    ``calibration_end``.
    """
    tx = read_transactions_csv(path, **columns)
    summary = summarize(
        tx, calibration_end=calibration_end, observation_end=observation_end, freq=freq
    )
    rfm = [summary[c].to_numpy(dtype=float) for c in ("frequency", "recency", "T")]
    bgnbd = BetaGeo().fit(*rfm)
    with warnings.catch_warnings(record=True):
        warnings.simplefilter("always", CLVCorrelationWarning)
        gg = GammaGamma().fit(rfm[0], summary["monetary"])
    report: dict[str, Any] = {
        "bgnbd": _params_dict(bgnbd),
        "gamma_gamma": {
            **_params_dict(gg),
            "customers": gg.n_customers_,
            "frequency_monetary_correlation": gg.correlation_,
            "correlated": gg.correlated_,
        },
        "customers": len(summary),
        "calibration_end": _as_day(calibration_end, "calibration_end").date().isoformat(),
        "observation_end": None,
        "freq": freq,
    }
    if observation_end is not None:
        duration = float(summary["duration_holdout"].iloc[0])
        predicted = bgnbd.expected_purchases(duration, *rfm)
        report["observation_end"] = _as_day(observation_end, "observation_end").date().isoformat()
        report["holdout"] = {
            "periods": duration,
            "predicted_purchases": float(predicted.sum()),
            "actual_purchases": int(summary["purchases_holdout"].sum()),
            "mean_absolute_error": float(
                np.mean(np.abs(predicted - summary["purchases_holdout"].to_numpy()))
            ),
        }
    return report


def _params_dict(model: BetaGeo | GammaGamma) -> dict[str, float]:
    out = {name: float(getattr(model, name + "_")) for name in model._params}
    out["log_likelihood"] = model.log_likelihood_
    return out
