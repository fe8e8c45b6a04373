"""A/B test analysis (``shopmind.insights.experiments``): numbers against hand computations
and SciPy, interval coverage in simulation, the peeking problem and its always-valid fix,
CUPED on data with a known correlation, uplift on data with a known answer, input errors,
and the published Hillstrom e-mail experiment."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from shopmind.insights.experiments import (
    ExperimentInputError,
    aa_peeking_simulation,
    analyze,
    analyze_file,
    choose_control,
    compare,
    cuped,
    detect_kind,
    holm,
    msprt_path,
    prob_beat_binary,
    read_experiment_csv,
    sequential_test,
    srm_check,
    uplift_by_segment,
)

SHARED_DATA = Path(
    os.environ.get("SHOPMIND_SHARED_DATA")
    or Path(__file__).resolve().parents[1].parent / "shared" / "data"
)
HILLSTROM = SHARED_DATA / "analytics" / "hillstrom" / "hillstrom.csv"


def two_arms(rng: np.random.Generator, n1: int, n0: int, m1: float, m0: float,
             s1: float = 1.0, s0: float = 1.0) -> pd.DataFrame:  # fmt: skip
    y = np.concatenate([rng.normal(m1, s1, n1), rng.normal(m0, s0, n0)])
    return pd.DataFrame({"arm": ["B"] * n1 + ["A"] * n0, "y": y})


# ---------------------------------------------------------------- fixed-horizon statistics


def test_welch_matches_scipy() -> None:
    rng = np.random.default_rng(1)
    df = two_arms(rng, 80, 140, 10.4, 10.0, s1=3.0, s0=1.5)
    result = analyze(df, "arm", "y")
    assert result.kind == "continuous" and result.control == "A"
    c = result.comparisons[0]
    b, a = df.y[df.arm == "B"].to_numpy(), df.y[df.arm == "A"].to_numpy()
    ref = stats.ttest_ind(b, a, equal_var=False)
    assert c.p_value == pytest.approx(ref.pvalue, rel=1e-9)
    low, high = ref.confidence_interval(0.95)
    assert (c.ci_low, c.ci_high) == pytest.approx((low, high), rel=1e-9)
    # by hand: Welch–Satterthwaite degrees of freedom
    va, vb = a.var(ddof=1) / len(a), b.var(ddof=1) / len(b)
    dof = (va + vb) ** 2 / (va**2 / (len(a) - 1) + vb**2 / (len(b) - 1))
    half = stats.t.ppf(0.975, dof) * math.sqrt(va + vb)
    assert c.ci_high - c.diff == pytest.approx(half, rel=1e-9)
    assert c.relative_lift == pytest.approx((b.mean() - a.mean()) / a.mean())
    assert c.prob_beat_control == pytest.approx(stats.norm.cdf(c.diff / math.sqrt(va + vb)))
    arms = {s.arm: s for s in result.arms}
    assert arms["B"].n == 80 and arms["B"].std == pytest.approx(b.std(ddof=1))


def test_two_proportions_by_hand() -> None:
    y1 = np.r_[np.ones(130), np.zeros(870)]  # 13.0% of 1000
    y0 = np.r_[np.ones(100), np.zeros(1100)]  # 8.33% of 1200
    r = compare(y1, y0, alpha=0.1)
    p1, p0, pooled = 0.13, 100 / 1200, 230 / 2200
    z = (p1 - p0) / math.sqrt(pooled * (1 - pooled) * (1 / 1000 + 1 / 1200))
    assert r["p_value"] == pytest.approx(2 * stats.norm.sf(z), rel=1e-9)
    half = stats.norm.ppf(0.95) * math.sqrt(p1 * (1 - p1) / 1000 + p0 * (1 - p0) / 1200)
    assert (r["ci_low"], r["ci_high"]) == pytest.approx((p1 - p0 - half, p1 - p0 + half))


def test_prob_beat_binary_matches_monte_carlo() -> None:
    rng = np.random.default_rng(7)
    for s1, n1, s0, n0 in [(48, 400, 40, 400), (3, 50, 0, 60), (1300, 21000, 1250, 21000)]:
        draws = rng.beta(1 + s1, 1 + n1 - s1, 400_000) > rng.beta(1 + s0, 1 + n0 - s0, 400_000)
        assert prob_beat_binary(s1, n1, s0, n0) == pytest.approx(draws.mean(), abs=0.003)
    assert prob_beat_binary(10, 100, 10, 100) == pytest.approx(0.5, abs=1e-6)


def test_holm_by_hand() -> None:
    assert holm([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])
    assert holm([0.5]) == pytest.approx([0.5])


def test_confidence_intervals_cover_95_percent() -> None:
    """400 simulated experiments per kind: the 95% intervals hold the true difference in
    about 95% of them (binomial SD 1.1 points; tolerance 2.5)."""
    rng = np.random.default_rng(2024)
    covered = {"continuous": 0, "binary": 0}
    for _ in range(400):
        y1, y0 = rng.lognormal(0.1, 0.8, 300), rng.lognormal(0.0, 0.8, 500)
        truth = math.exp(0.1 + 0.32) - math.exp(0.32)
        r = compare(y1, y0, "continuous")
        covered["continuous"] += r["ci_low"] <= truth <= r["ci_high"]
        b1, b0 = (rng.random(600) < 0.25).astype(float), (rng.random(600) < 0.2).astype(float)
        r = compare(b1, b0, "binary")
        covered["binary"] += r["ci_low"] <= 0.05 <= r["ci_high"]
    for kind, hits in covered.items():
        assert abs(hits / 400 - 0.95) <= 0.025, (kind, hits / 400)


def test_several_arms_get_holm_and_a_winner() -> None:
    rng = np.random.default_rng(3)
    df = pd.concat([two_arms(rng, 0, 2000, 0, 10.0), two_arms(rng, 2000, 0, 10.3, 0)])
    df = pd.concat([df, pd.DataFrame({"arm": "C", "y": rng.normal(10.02, 1, 2000)})])
    result = analyze(df, "arm", "y")
    by = {c.arm: c for c in result.comparisons}
    raw = [by["B"].p_value, by["C"].p_value]
    assert [by["B"].p_value_holm, by["C"].p_value_holm] == pytest.approx(list(holm(raw)))
    assert by["B"].significant and not by["C"].significant
    assert result.summary.startswith("B is the best arm on y")


def test_no_winner_is_said_plainly() -> None:
    rng = np.random.default_rng(4)
    result = analyze(two_arms(rng, 200, 200, 0, 0), "arm", "y")
    assert not result.comparisons[0].significant
    assert result.summary.startswith("No arm beats A significantly on y")


def test_kind_and_control_rules() -> None:
    assert detect_kind([0, 1, 1.0, 0]) == "binary"
    assert detect_kind([0, 1, 2]) == "continuous"
    assert choose_control(["Mens E-Mail", "No E-Mail", "Womens E-Mail"]) == "No E-Mail"
    assert choose_control(["treatment", "Control"]) == "Control"
    assert choose_control(["B", "A"]) == "A"
    assert choose_control(["v2", "Baseline", "v1"]) == "Baseline"
    assert choose_control(["old checkout control", "new"]) == "old checkout control"
    assert choose_control(["zeta", "beta"]) == "beta"
    with pytest.raises(ExperimentInputError, match="arms are beta, zeta"):
        choose_control(["zeta", "beta"], "gamma")


def test_to_dict_is_json_ready() -> None:
    rng = np.random.default_rng(5)
    df = two_arms(rng, 100, 100, 0.2, 0.0)
    df["pre"] = df.y + rng.normal(size=200)
    df["t"] = np.arange(200)
    d = analyze(df, "arm", "y", covariate="pre", order_column="t").to_dict()
    json.dumps(d, allow_nan=False)
    assert {"metric", "kind", "control", "arms", "comparisons", "srm", "cuped", "sequential",
            "summary"} <= set(d)  # fmt: skip
    assert set(d["arms"][0]) == {"arm", "n", "mean", "std"}
    fields = {"arm", "control", "diff", "ci_low", "ci_high", "p_value", "p_value_holm",
              "relative_lift", "prob_beat_control", "significant"}  # fmt: skip
    assert fields <= set(d["comparisons"][0])
    assert {"p_value", "mismatch", "expected", "observed"} <= set(d["srm"])
    assert analyze(df, "arm", "y").to_dict()["cuped"] is None


# ---------------------------------------------------------------- sample-ratio mismatch


def test_srm_flags_a_broken_split() -> None:
    rng = np.random.default_rng(6)
    df = two_arms(rng, 5000, 5600, 0, 0)
    result = analyze(df, "arm", "y")
    ref = stats.chisquare([5600, 5000], [5300, 5300])
    assert result.srm.p_value == pytest.approx(ref.pvalue)
    assert result.srm.mismatch and "Sample ratio mismatch" in result.summary
    assert result.srm.expected == {"A": 5300.0, "B": 5300.0}


def test_srm_accepts_a_planned_uneven_split() -> None:
    check = srm_check({"A": 3010, "B": 6990}, {"A": 0.3, "B": 0.7})
    assert not check.mismatch and check.warning is None
    assert check.expected == pytest.approx({"A": 3000.0, "B": 7000.0})
    assert srm_check({"A": 3010, "B": 6990}).mismatch
    with pytest.raises(ExperimentInputError, match="no weight for B"):
        srm_check({"A": 1, "B": 2}, {"A": 1.0})


# ---------------------------------------------------------------- sequential testing


def test_peeking_inflates_the_t_test_but_not_the_msprt() -> None:
    """Guards the reason the sequential test exists: 200 A/A runs peeked at 100 times."""
    for rate in (None, 0.1):
        sim = aa_peeking_simulation(runs=200, n=2000, looks=100, alpha=0.05, seed=11, rate=rate)
        assert sim["naive_false_positive_rate"] >= 0.2, sim
        assert sim["msprt_false_positive_rate"] <= 0.05, sim
        assert sim["single_final_test_false_positive_rate"] <= 0.08, sim


def test_msprt_matches_the_paper_formula() -> None:
    """Equal arms of n each: Λ = √(V/(V+nτ²)) exp(n²τ²d²/(2V(V+nτ²))) (Johari et al.)."""
    rng = np.random.default_rng(14)
    g = np.tile([True, False], 300)
    y = rng.normal(size=600) + 0.25 * g
    tau, n = 0.2, 300
    path = msprt_path(y, g, tau, min_n=10)
    d = y[g].mean() - y[~g].mean()
    v = y[g].var(ddof=1) + y[~g].var(ddof=1)
    lam = math.sqrt(v / (v + n * tau**2)) * math.exp(
        n**2 * tau**2 * d**2 / (2 * v * (v + n * tau**2))
    )
    assert path["p"][-1] == pytest.approx(min(1.0, 1 / lam), rel=1e-9)
    assert np.all(path["p"][: 2 * 10 - 2] == 1.0)  # before min_n per arm: no evidence
    # the always-valid p-value is the running minimum: a difference that fades stays found
    faded = np.where(np.arange(600) < 200, y, y - 0.25 * g)
    c = sequential_test(faded, np.where(g, "B", "A"), "A", tau=tau, min_n=10).comparisons[0]
    assert c["p_value"] == pytest.approx(msprt_path(faded, g, tau, min_n=10)["p"].min())
    assert c["p_value"] < msprt_path(faded, g, tau, min_n=10)["p"][-1]


def test_confidence_sequence_covers_the_truth_at_every_look() -> None:
    rng = np.random.default_rng(12)
    missed = 0
    for _ in range(200):
        g = rng.random(1500) < 0.5
        y = rng.normal(size=1500) + 0.2 * g
        arms = np.where(g, "B", "A")
        c = sequential_test(y, arms, "A", alpha=0.05).comparisons[0]
        missed += not (c["ci_low"] <= 0.2 <= c["ci_high"])
    assert missed / 200 <= 0.05


def test_runs_of_zero_spend_do_not_collapse_the_confidence_sequence() -> None:
    """Regression: a stretch of equal values (no buyer yet) once left a rounding-error
    variance that shrank the interval to a point, so the sequence ended up empty."""
    rng = np.random.default_rng(15)
    misses = 0
    for _ in range(100):
        y = np.where(rng.random(3000) < 0.03, rng.lognormal(4, 1, 3000), 0.0)
        arms = np.where(rng.random(3000) < 0.5, "B", "A")
        c = sequential_test(y, arms, "A").comparisons[0]
        assert c["ci_low"] <= c["ci_high"]
        misses += not (c["ci_low"] <= 0 <= c["ci_high"])
    assert misses <= 5
    g = np.tile([True, False], 250)
    for k in np.linspace(1, 10, 19):  # a run of zeros, then spend: no interval from the zeros
        y = np.r_[np.zeros(100), rng.normal(size=400) + k]
        assert np.all(msprt_path(y, g, tau=0.1)["low"][:100] == -np.inf)


def test_sequential_follows_the_order_column_and_stops_early() -> None:
    rng = np.random.default_rng(13)
    n = 4000
    g = rng.random(n) < 0.5
    df = pd.DataFrame({"arm": np.where(g, "B", "A"), "y": rng.normal(size=n) + 0.3 * g,
                       "t": pd.date_range("2024-01-01", periods=n, freq="min")})  # fmt: skip
    shuffled = df.sample(frac=1, random_state=0)
    ordered = analyze(df, "arm", "y", order_column="t").sequential
    assert ordered is not None
    assert analyze(shuffled, "arm", "y", order_column="t").sequential == ordered
    c = ordered.comparisons[0]
    stop = c["stopped_at"]
    assert c["significant"] and stop is not None and stop["look"] < n / 2
    assert stop["order"] == df.t.iloc[stop["look"] - 1].isoformat()
    assert c["ci_low"] <= 0.3 <= c["ci_high"]
    # the always-valid interval is wider than the fixed-horizon one it replaces
    fixed = analyze(df, "arm", "y").comparisons[0]
    assert c["ci_high"] - c["ci_low"] > fixed.ci_high - fixed.ci_low
    assert analyze(df, "arm", "y").sequential is None


# ---------------------------------------------------------------- CUPED


def cuped_data(rng: np.random.Generator, n: int, rho: float, effect: float) -> pd.DataFrame:
    x = rng.normal(size=n)
    g = rng.random(n) < 0.5
    y = 5 + rho * x + math.sqrt(1 - rho**2) * rng.normal(size=n) + effect * g
    return pd.DataFrame({"arm": np.where(g, "treatment", "control"), "y": y, "x": 3 * x + 1})


def test_cuped_reduces_variance_by_rho_squared() -> None:
    rng = np.random.default_rng(21)
    df = cuped_data(rng, 20_000, 0.6, 0.05)
    result = analyze(df, "arm", "y", covariate="x")
    assert result.cuped is not None
    assert result.cuped.variance_reduction == pytest.approx(0.36, abs=0.02)
    assert result.cuped.theta == pytest.approx(0.2, abs=0.01)
    adj, raw = result.cuped.comparisons[0], result.comparisons[0]
    assert adj["ci_low"] <= 0.05 <= adj["ci_high"]
    ratio = (adj["ci_high"] - adj["ci_low"]) / (raw.ci_high - raw.ci_low)
    assert ratio == pytest.approx(math.sqrt(1 - 0.36), abs=0.02)


def test_cuped_stays_unbiased_and_covers() -> None:
    rng = np.random.default_rng(22)
    diffs, covered = [], 0
    for _ in range(300):
        df = cuped_data(rng, 800, 0.7, 0.1)
        c = cuped(df.y, df.x, df.arm, "control").comparisons[0]
        diffs.append(c["diff"])
        covered += c["ci_low"] <= 0.1 <= c["ci_high"]
    assert np.mean(diffs) == pytest.approx(0.1, abs=0.01)
    assert abs(covered / 300 - 0.95) <= 0.03


# ---------------------------------------------------------------- uplift


def test_uplift_ranks_the_responsive_segment_first() -> None:
    """Segment A converts 5 points more when treated, segment B not at all."""
    rng = np.random.default_rng(31)
    n = 40_000
    seg = rng.choice(["A", "B"], n)
    g = rng.random(n) < 0.5
    noise = rng.normal(size=n)
    p = 0.10 + 0.02 * (noise > 0) + 0.05 * ((seg == "A") & g)
    df = pd.DataFrame({"group": np.where(g, "mail", "none"), "segment": seg, "noise": noise,
                       "bought": (rng.random(n) < p).astype(int)})  # fmt: skip
    r = uplift_by_segment(df, "group", "bought", "mail", "none", ["segment", "noise"],
                          ["segment"], seed=0)  # fmt: skip
    a, b = r.segments
    assert (a["value"], b["value"]) == ("A", "B")
    assert a["predicted_uplift"] == pytest.approx(0.05, abs=0.015)
    assert b["predicted_uplift"] == pytest.approx(0.0, abs=0.015)
    assert a["ci_low"] <= 0.05 <= a["ci_high"] and b["ci_low"] <= 0 <= b["ci_high"]
    top = {t["share"]: t for t in r.uplift_at_top}
    assert top[0.5]["observed_uplift"] > r.observed_uplift  # the top half is mostly segment A
    assert r.qini > 0
    json.dumps(r.to_dict(), allow_nan=False)


# ---------------------------------------------------------------- input errors


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "exp.csv"
    path.write_text(text, encoding="utf-8")
    return path


def test_bad_metric_names_file_line_and_field(tmp_path: Path) -> None:
    path = write(tmp_path, "arm,spend\nA,1.5\nB,12.5\nB,oops\n")
    with pytest.raises(ExperimentInputError) as e:
        read_experiment_csv(path, "arm", "spend")
    assert str(path) in str(e.value) and "line 4" in str(e.value)
    assert "'spend'" in str(e.value) and "oops" in str(e.value)
    path = write(tmp_path, "arm,spend\nA,1.5\nB,\n")
    with pytest.raises(ExperimentInputError, match=r"line 3: field 'spend' is empty"):
        read_experiment_csv(path, "arm", "spend")


def test_a_decimal_comma_is_not_read_as_a_smaller_number(tmp_path: Path) -> None:
    path = write(tmp_path, "arm,spend\nA,1.5\nB,12,5\n")
    with pytest.raises(ExperimentInputError, match=r"line 3: 3 fields where the header has 2"):
        read_experiment_csv(path, "arm", "spend")


def test_empty_arm_names_the_line(tmp_path: Path) -> None:
    path = write(tmp_path, "arm,spend\nA,1\n  ,2\nB,3\n")
    with pytest.raises(ExperimentInputError, match=r"exp.csv: line 3: field 'arm' is empty"):
        read_experiment_csv(path, "arm", "spend")


def test_missing_column_names_it_and_the_header(tmp_path: Path) -> None:
    path = write(tmp_path, "variant,spend\nA,1\nB,2\n")
    with pytest.raises(
        ExperimentInputError, match=r"no column 'arm'; the header has variant, spend"
    ):
        read_experiment_csv(path, "arm", "spend")
    with pytest.raises(ExperimentInputError, match=r"no column 'pre'"):
        analyze_file(path, "variant", "spend", covariate="pre")


def test_one_arm_and_unknown_control(tmp_path: Path) -> None:
    path = write(tmp_path, "arm,spend\nA,1\nA,2\n")
    with pytest.raises(ExperimentInputError, match=r"exp.csv: need at least 2 arms.*found 1: A"):
        read_experiment_csv(path, "arm", "spend")
    path = write(tmp_path, "arm,spend\nA,1\nA,2\nB,3\nB,5\n")
    with pytest.raises(
        ExperimentInputError, match=r"exp.csv: control arm 'C' not found; the arms are A, B"
    ):
        analyze_file(path, "arm", "spend", control="C")
    with pytest.raises(ExperimentInputError, match=r"row 2: field 'y' is not a number"):
        analyze({"arm": ["A", "B", "B"], "y": [1, 2, "x"]}, "arm", "y")


def test_file_round_trip(tmp_path: Path) -> None:
    rows = "\n".join(f"{'AB'[i % 2]},{i % 3},{i}" for i in range(60))
    path = write(tmp_path, "arm,visits,when\n" + rows + "\n")
    result = analyze_file(path, "arm", "visits", order_column="when")
    assert result.kind == "continuous" and result.sequential is not None
    assert [a.n for a in result.arms] == [30, 30]


# ---------------------------------------------------------------- Hillstrom


@pytest.fixture(scope="module")
def hillstrom() -> pd.DataFrame:
    if not HILLSTROM.exists():
        pytest.skip(f"Hillstrom data not found at {HILLSTROM} (set SHOPMIND_SHARED_DATA)")
    return read_experiment_csv(HILLSTROM, "segment", "visit")


@pytest.mark.parametrize(
    ("metric", "published"),
    [("visit", (0.183, 0.151, 0.106)), ("conversion", (0.0125, 0.0088, 0.0057)),
     ("spend", (1.42, 1.08, 0.65))],
)  # fmt: skip
def test_hillstrom_known_results(hillstrom: pd.DataFrame, metric: str,
                                 published: tuple[float, float, float]) -> None:  # fmt: skip
    result = analyze(hillstrom, "segment", metric)
    assert result.control == "No E-Mail"
    assert result.kind == ("continuous" if metric == "spend" else "binary")
    means = {a.arm: a.mean for a in result.arms}
    by_hand = hillstrom.groupby("segment")[metric].mean()
    assert means == pytest.approx(by_hand.to_dict(), rel=1e-12)
    for arm, value in zip(["Mens E-Mail", "Womens E-Mail", "No E-Mail"], published, strict=True):
        assert means[arm] == pytest.approx(value, abs=0.006 if metric == "spend" else 0.0006)
    assert {a.arm: a.n for a in result.arms} == hillstrom.segment.value_counts().to_dict()
    assert not result.srm.mismatch
    by = {c.arm: c for c in result.comparisons}
    assert by["Mens E-Mail"].significant and by["Womens E-Mail"].significant
    if metric == "visit":
        assert by["Mens E-Mail"].p_value < 1e-10 and by["Womens E-Mail"].p_value < 1e-10
        assert result.summary.startswith("Mens E-Mail is the best arm on visit")


def test_hillstrom_file_api(hillstrom: pd.DataFrame) -> None:
    result = analyze_file(HILLSTROM, "segment", "visit", covariate="history", sequential=True)
    assert result.cuped is not None and result.sequential is not None
    assert all(c["significant"] for c in result.sequential.comparisons)
