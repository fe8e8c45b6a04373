"""Customer lifetime value (shopmind.insights.clv): known answers, not just shapes.

Published: the CDNOW sample (2,357 customers, 39 calibration weeks) gives the BG/NBD and
Gamma-Gamma parameters of Fader, Hardie & Lee (2005) and Fader & Hardie (2013). Synthetic:
customers simulated from the models with known parameters are recovered, and the model's
predictions (prob_alive, conditional and unconditional expected purchases, expected spend)
match what the simulated customers actually did.
"""

from __future__ import annotations

import json
import os
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.optimize import check_grad
from scipy.special import hyp2f1

from shopmind.insights.clv import (
    BetaGeo,
    CLVConvergenceWarning,
    CLVCorrelationWarning,
    CLVInputError,
    GammaGamma,
    _bgnbd_ll_grad,
    _gg_ll_grad,
    customer_value,
    fit_file,
    read_transactions_csv,
    summarize,
    value_table,
)

TRUE_BGNBD = (0.25, 4.0, 0.8, 2.5)  # r, alpha, a, b: CDNOW-like
TRUE_GG = (6.0, 4.0, 15.0)  # p, q, gamma


def _shared_data() -> Path:
    env = os.environ.get("SHOPMIND_SHARED_DATA")
    return Path(env) if env else Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.fixture(scope="module")
def cdnow() -> pd.DataFrame:
    path = _shared_data() / "analytics" / "cdnow" / "CDNOW_sample.txt"
    if not path.is_file():
        pytest.skip(f"CDNOW sample not found at {path} (set SHOPMIND_SHARED_DATA)")
    raw = pd.read_csv(
        path,
        sep=r"\s+",
        header=None,
        names=["customer_id", "sample_id", "date", "cds", "amount"],
        dtype={"customer_id": str, "date": str},
    )
    raw["date"] = pd.to_datetime(raw["date"], format="%Y%m%d")
    return raw[["customer_id", "date", "amount"]]


@pytest.fixture(scope="module")
def cdnow_summary(cdnow: pd.DataFrame) -> pd.DataFrame:
    return summarize(cdnow, calibration_end="1997-09-30", observation_end="1998-06-30")


def simulate_bgnbd(
    rng: np.random.Generator, T: np.ndarray, params: tuple = TRUE_BGNBD, future: float = 0.0
) -> dict[str, np.ndarray]:
    """BG/NBD customers observed for T periods, then ``future`` more periods."""
    r, alpha, a, b = params
    n = T.size
    rate = rng.gamma(r, 1 / alpha, n)
    lifetime = rng.geometric(rng.beta(a, b, n))  # drops out right after this repeat purchase
    made = rng.poisson(rate * T)
    x = np.minimum(made, lifetime)
    # The x-th of `made` uniform purchase times in (0, T] is T × Beta(x, made - x + 1).
    t_x = np.where(x > 0, T * rng.beta(np.maximum(x, 1), made - x + 1), 0.0)
    alive = lifetime > made
    later = np.where(alive, np.minimum(rng.poisson(rate * future), lifetime - made), 0)
    return {"x": x, "t_x": t_x, "T": T, "alive": alive, "future": later}


def simulate_gg(rng: np.random.Generator, n: int, params: tuple = TRUE_GG) -> dict:
    """Repeat-purchase counts, their mean value, and each customer's true mean value p/ν."""
    p, q, gamma = params
    nu = rng.gamma(q, 1 / gamma, n)
    x = 1 + rng.poisson(3.0, n)
    m = rng.gamma(p * x, 1 / (nu * x))  # the mean of x Gamma(p, ν) values
    return {"x": x, "m": m, "true_mean": p / nu}


@pytest.fixture(scope="module")
def simulated() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(20240607)
    return simulate_bgnbd(rng, rng.integers(39, 79, 20_000).astype(float), future=39.0)


@pytest.fixture(scope="module")
def bgnbd_true() -> BetaGeo:
    r, alpha, a, b = TRUE_BGNBD
    return BetaGeo.from_dict(
        {"model": "BetaGeo", "params": {"r": r, "alpha": alpha, "a": a, "b": b}}
    )


# --------------------------------------------------------------------------- published answer


def test_cdnow_summary_matches_published_rows(cdnow_summary: pd.DataFrame) -> None:
    """T runs to 1997-09-30 (272 days for a 1 Jan customer), as in Fader-Hardie's cdnowSummary."""
    assert len(cdnow_summary) == 2357
    assert (cdnow_summary["frequency"] > 0).sum() == 946
    first = cdnow_summary.set_index("customer_id").loc["00004"]
    assert first["frequency"] == 2
    assert first["recency"] == pytest.approx(30.43, abs=0.005)
    assert first["T"] == pytest.approx(38.86, abs=0.005)
    assert first["duration_holdout"] == pytest.approx(39.0)


def test_cdnow_bgnbd_reproduces_fader_hardie_lee_2005(cdnow_summary: pd.DataFrame) -> None:
    s = cdnow_summary
    model = BetaGeo().fit(s["frequency"], s["recency"], s["T"])
    assert model.converged_
    got = (model.r_, model.alpha_, model.a_, model.b_)
    np.testing.assert_allclose(got, (0.243, 4.414, 0.793, 2.426), atol=0.005)
    assert model.log_likelihood_ == pytest.approx(-9582.4, abs=0.5)


def test_cdnow_gamma_gamma_reproduces_fader_hardie_2013(cdnow_summary: pd.DataFrame) -> None:
    s = cdnow_summary
    model = GammaGamma().fit(s["frequency"], s["monetary"])
    assert model.n_customers_ == 946
    np.testing.assert_allclose((model.p_, model.q_, model.gamma_), (6.25, 3.74, 15.44), atol=0.02)
    assert model.log_likelihood_ == pytest.approx(-4055.9, abs=0.5)
    assert model.correlation_ == pytest.approx(0.11, abs=0.01)
    assert not model.correlated_


def test_fit_file_on_cdnow_csv(cdnow: pd.DataFrame, tmp_path: Path) -> None:
    """The CSV path (YYYYMMDD dates, other column names) gives the published parameters too."""
    path = tmp_path / "orders.csv"
    out = cdnow.rename(columns={"customer_id": "cust", "amount": "total"})
    out.assign(date=out["date"].dt.strftime("%Y%m%d")).to_csv(path, index=False)
    report = fit_file(
        path,
        "1997-09-30",
        observation_end="1998-06-30",
        customer_column="cust",
        amount_column="total",
    )
    json.dumps(report)
    assert report["customers"] == 2357
    assert report["gamma_gamma"]["customers"] == 946
    assert report["bgnbd"]["r"] == pytest.approx(0.243, abs=0.005)
    assert report["bgnbd"]["b"] == pytest.approx(2.426, abs=0.005)
    assert report["gamma_gamma"]["gamma"] == pytest.approx(15.44, abs=0.02)
    assert report["calibration_end"] == "1997-09-30"
    assert report["freq"] == "W"
    holdout = report["holdout"]
    assert holdout["periods"] == pytest.approx(39.0)
    assert holdout["actual_purchases"] > 0
    assert holdout["predicted_purchases"] == pytest.approx(holdout["actual_purchases"], rel=0.2)


# --------------------------------------------------------------------------- BG/NBD, synthetic


def test_bgnbd_recovers_simulated_parameters(simulated: dict) -> None:
    s = simulated
    model = BetaGeo().fit(s["x"], s["t_x"], s["T"])
    r, alpha, a, b = TRUE_BGNBD
    # Tolerances are about 4 standard deviations of the estimates over seeds (20,000 customers).
    assert model.r_ == pytest.approx(r, rel=0.06)
    assert model.alpha_ == pytest.approx(alpha, rel=0.06)
    assert model.a_ == pytest.approx(a, rel=0.2)
    assert model.b_ == pytest.approx(b, rel=0.2)
    assert model.r_ / model.alpha_ == pytest.approx(r / alpha, rel=0.03)  # mean purchase rate
    assert model.a_ / (model.a_ + model.b_) == pytest.approx(a / (a + b), rel=0.06)  # mean dropout
    at_truth = BetaGeo.from_dict(
        {"model": "BetaGeo", "params": dict(zip(("r", "alpha", "a", "b"), TRUE_BGNBD, strict=True))}
    )
    assert model.log_likelihood_ >= at_truth.log_likelihood(s["x"], s["t_x"], s["T"]).sum()


def assert_mean_matches(predicted: np.ndarray, observed: np.ndarray) -> None:
    """The mean prediction lies within 4 standard errors of the observed mean."""
    se = observed.std(ddof=1) / np.sqrt(observed.size)
    assert abs(predicted.mean() - observed.mean()) < 4 * se + 1e-12, (predicted.mean(), se)


def test_prob_alive_matches_simulated_survivors(simulated: dict, bgnbd_true: BetaGeo) -> None:
    s = simulated
    alive = bgnbd_true.prob_alive(s["x"], s["t_x"], s["T"])
    for group in (s["x"] >= 0, s["x"] == 1, (s["x"] >= 2) & (s["x"] <= 4), s["x"] > 4):
        assert_mean_matches(alive[group], s["alive"][group].astype(float))


def test_conditional_expectation_matches_simulated_future(
    simulated: dict, bgnbd_true: BetaGeo
) -> None:
    """E[future purchases | history], averaged within history groups, equals what they did."""
    s = simulated
    expected = bgnbd_true.expected_purchases(39.0, s["x"], s["t_x"], s["T"])
    for group in (s["x"] >= 0, s["x"] == 0, s["x"] == 1, (s["x"] >= 2) & (s["x"] <= 5), s["x"] > 5):
        assert_mean_matches(expected[group], s["future"][group])
    # A model that ignored the history would miss by far more than the noise:
    assert expected[s["x"] > 5].mean() > 5 * expected[s["x"] == 0].mean()


def test_unconditional_expectation_matches_simulation(bgnbd_true: BetaGeo) -> None:
    rng = np.random.default_rng(7)
    for t in (10.0, 52.0):
        sim = simulate_bgnbd(rng, np.full(40_000, t))
        assert_mean_matches(bgnbd_true.expected_purchases_new(np.full(1, t)), sim["x"])
    # A customer just acquired (no history, T = 0) is a new customer.
    new = bgnbd_true.expected_purchases_new([5.0, 40.0])
    np.testing.assert_allclose(bgnbd_true.expected_purchases([5.0, 40.0], 0, 0, 0), new)


def test_expected_purchases_matches_the_direct_hypergeometric_form(bgnbd_true: BetaGeo) -> None:
    """Guards the Euler transformation used for numerical stability."""
    r, alpha, a, b = TRUE_BGNBD
    x, t_x, T, t = np.array([3.0, 10.0]), np.array([20.0, 35.0]), 40.0, 26.0
    z = t / (alpha + T + t)
    direct = 1 - ((alpha + T) / (alpha + T + t)) ** (r + x) * hyp2f1(r + x, b + x, a + b + x - 1, z)
    direct *= (a + b + x - 1) / (a - 1)
    direct /= 1 + a / (b + x - 1) * ((alpha + T) / (alpha + t_x)) ** (r + x)
    np.testing.assert_allclose(bgnbd_true.expected_purchases(t, x, t_x, T), direct, rtol=1e-9)
    big = bgnbd_true.expected_purchases(52.0, 400, 39.9, 40.0)  # heavy buyer: finite, not NaN
    assert np.isfinite(big) and big > 100


def test_prob_alive_properties(bgnbd_true: BetaGeo) -> None:
    assert bgnbd_true.prob_alive(0, 0, 30.0) == 1.0
    gap = bgnbd_true.prob_alive(4, [39.0, 30.0, 20.0, 5.0], 39.0)  # longer since last purchase
    assert np.all(np.diff(gap) < 0) and np.all((gap > 0) & (gap <= 1))
    older = bgnbd_true.prob_alive(4, 20.0, [20.0, 30.0, 60.0])
    assert np.all(np.diff(older) < 0)


def test_gradients_match_finite_differences() -> None:
    rng = np.random.default_rng(3)
    s = simulate_bgnbd(rng, rng.uniform(10, 50, 300))
    bg = lambda p: _bgnbd_ll_grad(p, s["x"], s["t_x"], s["T"])  # noqa: E731
    for point in ([0.25, 4.0, 0.8, 2.5], [1.3, 0.7, 2.0, 0.9]):
        err = check_grad(lambda p: bg(p)[0].sum(), lambda p: bg(p)[1].sum(axis=1), point)
        assert err < 1e-4 * np.abs(bg(np.array(point))[1].sum(axis=1)).max() + 1e-4
    g = simulate_gg(rng, 300)
    gg = lambda p: _gg_ll_grad(p, g["x"], g["m"])  # noqa: E731
    err = check_grad(lambda p: gg(p)[0].sum(), lambda p: gg(p)[1].sum(axis=1), [6.0, 4.0, 15.0])
    assert err < 1e-3


def test_bgnbd_round_trips_through_json(tmp_path: Path, simulated: dict) -> None:
    rfm = (simulated["x"][:2000], simulated["t_x"][:2000], simulated["T"][:2000])
    model = BetaGeo(penalizer=0.001).fit(*rfm)
    path = tmp_path / "bgnbd.json"
    model.save(path)
    loaded = BetaGeo.load(path)
    assert loaded.penalizer == 0.001 and loaded.log_likelihood_ == model.log_likelihood_
    np.testing.assert_array_equal(
        loaded.expected_purchases(10, [0, 3], [0, 20], 50),
        model.expected_purchases(10, [0, 3], [0, 20], 50),
    )
    with pytest.raises(CLVInputError, match="not a GammaGamma"):
        GammaGamma.from_dict(model.to_dict())
    with pytest.raises(RuntimeError, match="not fitted"):
        BetaGeo().prob_alive(1, 1, 2)


def test_bgnbd_rejects_impossible_summaries() -> None:
    with pytest.raises(CLVInputError, match=r"recency must lie in \[0, T\]"):
        BetaGeo().fit([1, 2], [5.0, 12.0], [10.0, 10.0])
    with pytest.raises(CLVInputError, match="whole number"):
        BetaGeo().fit([1.5], [1.0], [2.0])
    with pytest.raises(CLVInputError, match="no customers"):
        BetaGeo().fit([], [], [])


# --------------------------------------------------------------------------- Gamma-Gamma


def test_gamma_gamma_recovers_simulated_parameters() -> None:
    g = simulate_gg(np.random.default_rng(11), 20_000)
    model = GammaGamma().fit(g["x"], g["m"])
    p, q, gamma = TRUE_GG
    # p and gamma trade off along a ridge (about 10% spread over seeds); q and the mean
    # spend p·gamma/(q-1) are sharp.
    assert model.p_ == pytest.approx(p, rel=0.35)
    assert model.gamma_ == pytest.approx(gamma, rel=0.4)
    assert model.q_ == pytest.approx(q, rel=0.06)
    mean_spend = model.p_ * model.gamma_ / (model.q_ - 1)
    assert mean_spend == pytest.approx(p * gamma / (q - 1), rel=0.02)
    assert abs(model.correlation_) < 0.05 and not model.correlated_
    # Posterior mean spend tracks each customer's true mean better than their sample mean.
    spend = model.expected_spend(g["x"], g["m"])
    assert spend.mean() == pytest.approx(g["true_mean"].mean(), rel=0.02)
    assert np.mean((spend - g["true_mean"]) ** 2) < np.mean((g["m"] - g["true_mean"]) ** 2)


def test_gamma_gamma_flags_correlated_frequency_and_spend() -> None:
    rng = np.random.default_rng(5)
    x = rng.integers(1, 20, 500)
    m = 5.0 * x * rng.gamma(20.0, 1 / 20.0, 500)  # bigger buyers spend more per order
    with (
        pytest.warns(CLVCorrelationWarning, match="Pearson r"),
        pytest.warns(CLVConvergenceWarning, match="reached its bound"),  # gamma runs off
    ):
        model = GammaGamma().fit(x, m)
    assert model.correlated_ and model.correlation_ > 0.8
    loaded = GammaGamma.from_dict(json.loads(json.dumps(model.to_dict())))
    assert loaded.correlation_ == model.correlation_ and loaded.correlated_


def test_gamma_gamma_skips_one_time_buyers_and_predicts_population_mean() -> None:
    g = simulate_gg(np.random.default_rng(2), 3000)
    x = np.concatenate([g["x"], np.zeros(500)])
    m = np.concatenate([g["m"], np.zeros(500)])
    model = GammaGamma().fit(x, m)
    assert model.n_customers_ == 3000
    population = model.p_ * model.gamma_ / (model.q_ - 1)
    assert model.expected_spend(0, 0) == pytest.approx(population)
    with pytest.raises(CLVInputError, match="at least 2"):
        GammaGamma().fit([0, 0, 1], [0, 0, 10.0])


# --------------------------------------------------------------------------- lifetime value


def test_customer_value_grows_with_horizon_and_shrinks_with_discount(
    bgnbd_true: BetaGeo,
) -> None:
    gg = GammaGamma.from_dict(
        {"model": "GammaGamma", "params": dict(zip(("p", "q", "gamma"), TRUE_GG, strict=True))}
    )
    rfm = ([0, 1, 5, 5], [0, 10, 38, 5], [39, 39, 39, 39], [0, 20, 35, 35])
    values = {m: customer_value(bgnbd_true, gg, *rfm, months=m) for m in (0, 6, 12, 24)}
    assert np.all(values[0] == 0)
    assert np.all(values[6] > 0) and np.all(values[12] > values[6])
    assert np.all(values[24] > values[12])
    assert np.all(customer_value(bgnbd_true, gg, *rfm, discount_rate_monthly=0.05) < values[12])
    undiscounted = customer_value(bgnbd_true, gg, *rfm, discount_rate_monthly=0.0)
    horizon = 12 * 365.25 / 12 / 7  # weeks
    purchases = bgnbd_true.expected_purchases(horizon, *rfm[:3])
    np.testing.assert_allclose(undiscounted, purchases * gg.expected_spend(rfm[0], rfm[3]))
    assert values[12][2] > values[12][3]  # same history, but still buying recently
    month = 365.25 / 12 / 7  # weeks
    first_month = customer_value(bgnbd_true, gg, *rfm, months=1, discount_rate_monthly=0.05)
    spend = gg.expected_spend(rfm[0], rfm[3])
    np.testing.assert_allclose(
        first_month, bgnbd_true.expected_purchases(month, *rfm[:3]) * spend / 1.05
    )  # a month's purchases are discounted from the month's end


def test_value_table_columns(cdnow_summary: pd.DataFrame) -> None:
    s = cdnow_summary
    bg = BetaGeo().fit(s["frequency"], s["recency"], s["T"])
    gg = GammaGamma().fit(s["frequency"], s["monetary"])
    table = value_table(s, bg, gg, months=12)
    assert list(table.columns) == [
        "customer_id", "frequency", "recency", "T", "monetary",
        "expected_purchases", "prob_alive", "expected_spend", "clv",
    ]  # fmt: skip
    assert len(table) == len(s) and (table["clv"] >= 0).all()
    assert table["prob_alive"].between(0, 1).all()


# --------------------------------------------------------------------------- summaries


def test_summarize_merges_days_and_splits_calibration_and_holdout() -> None:
    tx = pd.DataFrame(
        {
            "customer_id": ["a", "a", "a", "a", "a", "b", "c", "c"],
            "date": [
                "2024-01-01", "2024-01-01", "2024-01-15", "2024-01-29 18:30", "2024-02-20",
                "2024-01-08", "2024-02-01", "2024-02-03",
            ],
            "amount": [10.0, 5.0, 20.0, 40.0, 7.0, 9.0, 1.0, 2.0],
        }
    )  # fmt: skip
    s = summarize(tx, calibration_end="2024-01-29", observation_end="2024-02-26").set_index(
        "customer_id"
    )
    assert list(s.index) == ["a", "b"]  # c's first purchase is after calibration_end
    a = s.loc["a"]
    assert a["frequency"] == 2  # 1 Jan (two orders, one day), 15 Jan, 29 Jan
    assert a["recency"] == pytest.approx(4.0) and a["T"] == pytest.approx(4.0)
    assert a["monetary"] == pytest.approx(30.0)  # mean of 20 and 40; first day not counted
    assert a["purchases_holdout"] == 1 and a["spend_holdout"] == pytest.approx(7.0)
    assert a["duration_holdout"] == pytest.approx(4.0)
    b = s.loc["b"]
    assert (b["frequency"], b["recency"], b["monetary"], b["purchases_holdout"]) == (0, 0, 0, 0)
    assert b["T"] == pytest.approx(3.0)
    days = summarize(
        tx["customer_id"], tx["date"], tx["amount"], calibration_end="2024-01-29", freq="D"
    )
    assert days["T"].tolist() == [28.0, 21.0]
    assert "purchases_holdout" not in days


def test_summarize_rejects_bad_arguments() -> None:
    tx = pd.DataFrame({"customer_id": ["a"], "date": ["2024-03-01"], "amount": [1.0]})
    with pytest.raises(CLVInputError, match="no purchase on or before"):
        summarize(tx, calibration_end="2024-01-01")
    with pytest.raises(CLVInputError, match="freq"):
        summarize(tx, calibration_end="2024-06-01", freq="M")
    with pytest.raises(CLVInputError, match="before calibration_end"):
        summarize(tx, calibration_end="2024-06-01", observation_end="2024-05-01")
    with pytest.raises(CLVInputError, match="missing columns"):
        summarize(tx.drop(columns="amount"), calibration_end="2024-06-01")


# --------------------------------------------------------------------------- CSV reader


def _write(tmp_path: Path, text: str, name: str = "orders.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_read_transactions_csv_accepts_both_date_forms(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "customer_id,date,amount,note\n"
        "a,2024-01-02,10.5,x\n"
        "b,20240103,0,free\n"
        "a,2024-01-04T09:15:00,3,\n",
    )
    tx = read_transactions_csv(path)
    assert tx["customer_id"].tolist() == ["a", "b", "a"]
    assert tx["date"].dt.strftime("%Y-%m-%d").tolist() == ["2024-01-02", "2024-01-03", "2024-01-04"]
    assert tx["amount"].tolist() == [10.5, 0.0, 3.0]


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ("c,2024-01-05,abc", r"orders\.csv line 4, field \"amount\": not a number: 'abc'"),
        ("c,2024-01-05,-4.5", r"orders\.csv line 4, field \"amount\": negative amount '-4.5'"),
        ("c,2024-01-05,nan", r"orders\.csv line 4, field \"amount\": not a finite number"),
        ("c,05/01/2024,3", r"orders\.csv line 4, field \"date\": not a date .*'05/01/2024'"),
        ("c,2024-02-30,3", r"orders\.csv line 4, field \"date\": not a date"),
        (",2024-01-05,3", r"orders\.csv line 4, field \"customer_id\": empty customer id"),
    ],
)
def test_read_transactions_csv_names_file_line_and_field(
    tmp_path: Path, row: str, message: str
) -> None:
    path = _write(tmp_path, f"customer_id,date,amount\na,2024-01-01,1\nb,2024-01-02,2\n{row}\n")
    with pytest.raises(CLVInputError, match=message):
        read_transactions_csv(path)


def test_read_transactions_csv_structural_errors(tmp_path: Path) -> None:
    with pytest.raises(CLVInputError, match='missing column "amount"; header found: id, date'):
        read_transactions_csv(_write(tmp_path, "id,date\n1,2024-01-01\n"), customer_column="id")
    with pytest.raises(CLVInputError, match="empty file"):
        read_transactions_csv(_write(tmp_path, ""))
    with pytest.raises(CLVInputError, match="no transactions after the header"):
        read_transactions_csv(_write(tmp_path, "customer_id,date,amount\n"))
    assert issubclass(CLVInputError, ValueError)


def test_the_prior_is_weak_on_a_long_history(cdnow_summary: pd.DataFrame) -> None:
    # On CDNOW's 2,357 customers the log-normal prior on a and b moves them little.
    s = cdnow_summary
    plain = BetaGeo().fit(s["frequency"], s["recency"], s["T"])
    prior = BetaGeo(prior_sd=2.0).fit(s["frequency"], s["recency"], s["T"])
    np.testing.assert_allclose((prior.a_, prior.b_), (plain.a_, plain.b_), rtol=0.05)


def test_the_prior_keeps_a_short_history_off_the_edge() -> None:
    # Forty customers seen for six weeks: too little to tell how they drop out. The plain
    # fit often runs a and b to the edge; the prior keeps them inside, and the expected
    # purchases stay within reach of what the customers showed.
    rng = np.random.default_rng(11)
    edge = 0
    for _ in range(20):
        sim = simulate_bgnbd(rng, rng.integers(4, 7, 40).astype(float))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            plain = BetaGeo().fit(sim["x"], sim["t_x"], sim["T"])
            prior = BetaGeo(prior_sd=2.0).fit(sim["x"], sim["t_x"], sim["T"])
        edge += min(plain.a_, plain.b_) < 1e-4 or max(plain.a_, plain.b_) > 1e4
        assert 1e-3 < prior.a_ < 1e3 and 1e-3 < prior.b_ < 1e3
        year = prior.expected_purchases(52.0, sim["x"], sim["t_x"], sim["T"])
        shown = (sim["x"] + 1) / sim["T"] * 52.0  # purchases a year the history shows
        assert np.all(year <= 3 * shown.max())
    assert edge >= 1  # the case the prior is for does happen
