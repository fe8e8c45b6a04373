"""A/B (and A/B/n) test analysis: which arm won, with honest statistics.

``analyze(data, arm_column, metric)`` summarises every arm, compares each with the control
(difference of means, confidence interval, p-value, relative lift, Bayesian probability to
beat the control, Holm-adjusted p-values), checks the split for a sample-ratio mismatch, and
on request reduces variance with a pre-period covariate (CUPED) and gives always-valid
sequential results (mSPRT) for experiments that were watched while they ran.
``uplift_by_segment`` fits a two-model uplift estimator and reports which segments respond.

A metric whose values are all 0 or 1 is *binary* (conversion): two-proportion z-test with a
pooled statistic and an unpooled interval, Beta(1, 1)-Binomial posteriors. Anything else is
*continuous* (spend): Welch's t-test with Welch–Satterthwaite degrees of freedom, a normal
posterior for the difference. "Beat" always means a higher mean.

The control is the ``control`` argument, else the arm whose name is control, ctrl, no e-mail,
none, a or baseline (case, spaces and punctuation ignored), else one whose name contains
"control", else the first arm in sorted order.
"""

from __future__ import annotations

import contextlib
import csv
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy import integrate, special, stats

Kind = Literal["binary", "continuous"]
CONTROL_NAMES = ("control", "ctrl", "noemail", "none", "a", "baseline")
SRM_THRESHOLD = 0.001


class ExperimentInputError(ValueError):
    """Experiment data that cannot be analysed as asked; the message names the file, line
    and field (or the column, or the arms found)."""


# ---------------------------------------------------------------- results


@dataclass(frozen=True)
class ArmSummary:
    arm: str
    n: int
    mean: float
    std: float


@dataclass(frozen=True)
class Comparison:
    """One arm against the control. ``diff`` is arm mean − control mean."""

    arm: str
    control: str
    diff: float
    ci_low: float
    ci_high: float
    p_value: float
    p_value_holm: float
    relative_lift: float | None
    prob_beat_control: float
    significant: bool


@dataclass(frozen=True)
class SrmCheck:
    observed: dict[str, int]
    expected: dict[str, float]
    chi2: float
    p_value: float
    mismatch: bool
    warning: str | None


@dataclass(frozen=True)
class CupedResult:
    covariate: str
    theta: float
    variance_reduction: float
    comparisons: list[dict[str, Any]]


@dataclass(frozen=True)
class SequentialResult:
    """Always-valid results (mSPRT) after the last observation, per arm against the control."""

    tau: float
    min_n: int
    order_column: str | None
    comparisons: list[dict[str, Any]]


@dataclass(frozen=True)
class ExperimentResult:
    metric: str
    kind: Kind
    control: str
    alpha: float
    arms: list[ArmSummary]
    comparisons: list[Comparison]
    srm: SrmCheck
    cuped: CupedResult | None = None
    sequential: SequentialResult | None = None
    summary: str = ""

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: plain floats, ``None`` for what is not a finite number."""
        return _plain(asdict(self))


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        return float(value) if math.isfinite(value) else None
    return value


# ---------------------------------------------------------------- input


def read_experiment_csv(
    path: str | Path,
    arm_column: str,
    metric: str,
    covariate: str | None = None,
    order_column: str | None = None,
    delimiter: str = ",",
) -> pd.DataFrame:
    """Every column of the file; ``metric`` and ``covariate`` as floats, ``arm_column`` as
    text. Bad values raise :class:`ExperimentInputError` naming the file, line and field."""
    path = Path(path)
    try:
        with path.open(encoding="utf-8-sig", newline="") as f:
            reader = csv.reader(f, delimiter=delimiter)
            header = next(reader, None)
            if not header:
                raise ExperimentInputError(f"{path}: the file is empty")
            header = [h.strip() for h in header]
            wanted = [c for c in (arm_column, metric, covariate, order_column) if c]
            for name in wanted:
                if name not in header:
                    raise ExperimentInputError(
                        f"{path}: no column {name!r}; the header has {', '.join(header)}"
                    )
            rows, lines = [], []
            for row in reader:
                if not any(cell.strip() for cell in row):
                    continue
                if len(row) > len(header):
                    raise ExperimentInputError(
                        f"{path}: line {reader.line_num}: {len(row)} fields where the header "
                        f"has {len(header)} (a decimal comma, or a value with an unquoted comma?)"
                    )
                rows.append(row + [""] * (len(header) - len(row)))
                lines.append(reader.line_num)
    except OSError as e:
        raise ExperimentInputError(f"{path}: cannot read the file ({e.strerror})") from e
    frame = pd.DataFrame(rows, columns=header, dtype=object)
    if frame.empty:
        raise ExperimentInputError(f"{path}: no data rows under the header")
    for col in frame.columns:
        if col in (arm_column, metric, covariate):
            continue
        with contextlib.suppress(ValueError, TypeError):
            frame[col] = pd.to_numeric(frame[col])
    places = [f"{path}: line {n}" for n in lines]
    _validate(frame, arm_column, metric, covariate, order_column, places, str(path))
    return frame


def _validate(
    frame: pd.DataFrame,
    arm_column: str,
    metric: str,
    covariate: str | None,
    order_column: str | None,
    places: Sequence[str],
    source: str | None = None,
) -> None:
    """Arms as non-empty text, metric and covariate as finite floats, in place."""
    arms = frame[arm_column].astype("string").str.strip()
    empty = arms.isna() | (arms == "")
    if empty.any():
        i = int(np.argmax(empty.to_numpy()))
        raise ExperimentInputError(f"{places[i]}: field {arm_column!r} is empty")
    frame[arm_column] = arms.astype(object)
    for col in (metric, covariate):
        if col:
            frame[col] = _floats(frame[col], col, places)
    if order_column:
        frame[order_column] = _order_values(frame[order_column], order_column, places)
    found = sorted(frame[arm_column].unique())
    if len(found) < 2:
        prefix = f"{source}: " if source else ""
        raise ExperimentInputError(
            f"{prefix}need at least 2 arms in {arm_column!r}, found {len(found)}: "
            + ", ".join(found)
        )


def _floats(column: pd.Series, name: str, places: Sequence[str]) -> pd.Series:
    if pd.api.types.is_bool_dtype(column):
        return column.astype(float)
    values = pd.to_numeric(column, errors="coerce").astype(float)
    bad = ~np.isfinite(values.to_numpy())
    if bad.any():
        i = int(np.argmax(bad))
        raw = column.iloc[i]
        what = "is empty" if raw is None or str(raw).strip() in ("", "nan", "<NA>") else (
            f"is not a number: {str(raw)[:40]!r}"
        )  # fmt: skip
        raise ExperimentInputError(f"{places[i]}: field {name!r} {what}")
    return values


def _order_values(column: pd.Series, name: str, places: Sequence[str]) -> pd.Series:
    """Numbers, else dates and times: what arrival order is sorted by."""
    if pd.api.types.is_datetime64_any_dtype(column):
        return column
    numbers = pd.to_numeric(column, errors="coerce")
    if not numbers.isna().any():
        return numbers
    times = pd.to_datetime(column, errors="coerce", format="mixed")
    bad = times.isna().to_numpy()
    if bad.any():
        i = int(np.argmax(bad))
        raise ExperimentInputError(
            f"{places[i]}: field {name!r} is neither a number nor a date: "
            f"{str(column.iloc[i])[:40]!r}"
        )
    return times


def choose_control(arms: Sequence[str], control: str | None = None) -> str:
    """The named control, else one named like a control, else the first in sorted order."""
    found = sorted(arms)
    if control is not None:
        if control not in found:
            raise ExperimentInputError(
                f"control arm {control!r} not found; the arms are {', '.join(found)}"
            )
        return control
    keys = {arm: re.sub(r"[^a-z0-9]", "", arm.casefold()) for arm in found}
    for name in CONTROL_NAMES:
        for arm in found:
            if keys[arm] == name:
                return arm
    return next((arm for arm in found if "control" in keys[arm]), found[0])


# ---------------------------------------------------------------- statistics


def detect_kind(values: Any) -> Kind:
    """``"binary"`` when every value is 0 or 1, else ``"continuous"``."""
    v = np.asarray(values, dtype=float)
    return "binary" if np.isin(v, (0.0, 1.0)).all() else "continuous"


def holm(p_values: Sequence[float]) -> np.ndarray:
    """Holm's step-down adjusted p-values (family-wise error at most alpha)."""
    p = np.asarray(p_values, dtype=float)
    m = len(p)
    order = np.argsort(p, kind="stable")
    adjusted = np.minimum(1.0, np.maximum.accumulate((m - np.arange(m)) * p[order]))
    out = np.empty(m)
    out[order] = adjusted
    return out


def welch(m1: Any, v1: Any, n1: Any, m0: Any, v0: Any, n0: Any, alpha: float = 0.05
          ) -> dict[str, Any]:  # fmt: skip
    """Welch's t-test of mean m1 − m0 from means, sample variances and counts (arrays work):
    ``diff, se, df, p_value, half_width`` (the interval is diff ± half_width)."""
    a, b = np.asarray(v1, float) / n1, np.asarray(v0, float) / n0
    se2 = a + b
    with np.errstate(divide="ignore", invalid="ignore"):
        df = se2**2 / (a**2 / (np.asarray(n1) - 1) + b**2 / (np.asarray(n0) - 1))
        df = np.where(se2 > 0, df, np.inf)
        se = np.sqrt(se2)
        diff = np.asarray(m1, float) - m0
        t = np.where(se > 0, diff / np.where(se > 0, se, 1.0), np.where(diff == 0, 0.0, np.inf))
    p = 2 * stats.t.sf(np.abs(t), df)
    half = stats.t.ppf(1 - alpha / 2, df) * se
    return {"diff": diff, "se": se, "df": df, "p_value": p, "half_width": half}


def two_proportions(s1: int, n1: int, s0: int, n0: int, alpha: float = 0.05) -> dict[str, float]:
    """Two-proportion z-test: pooled statistic for the p-value, unpooled interval."""
    p1, p0 = s1 / n1, s0 / n0
    pooled = (s1 + s0) / (n1 + n0)
    se_pooled = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n0))
    diff = p1 - p0
    p = float(2 * stats.norm.sf(abs(diff) / se_pooled)) if se_pooled > 0 else 1.0
    se = math.sqrt(p1 * (1 - p1) / n1 + p0 * (1 - p0) / n0)
    half = float(stats.norm.ppf(1 - alpha / 2)) * se
    return {"diff": diff, "se": se, "p_value": p, "half_width": half}


def prob_beat_binary(s1: int, n1: int, s0: int, n0: int) -> float:
    """P(rate 1 > rate 0) under independent Beta(1 + s, 1 + n − s) posteriors, exactly:
    the finite sum over i < a1 of B(a0 + i, b0 + b1) / ((b1 + i) B(1 + i, b1) B(a0, b0)),
    taken over the arm with fewer successes (the other side by complement)."""
    a1, b1, a0, b0 = 1 + s1, 1 + n1 - s1, 1 + s0, 1 + n0 - s0
    if a1 > a0:
        return 1.0 - prob_beat_binary(s0, n0, s1, n1)
    i = np.arange(a1)
    log_terms = (
        special.betaln(a0 + i, b0 + b1)
        - np.log(b1 + i)
        - special.betaln(1 + i, b1)
        - special.betaln(a0, b0)
    )
    return float(min(1.0, max(0.0, np.exp(special.logsumexp(log_terms)))))


def prob_beat_normal(diff: float, se: float) -> float:
    """P(true difference > 0) under a flat prior: the normal posterior N(diff, se²)."""
    if se > 0:
        return float(stats.norm.cdf(diff / se))
    return 0.5 if diff == 0 else float(diff > 0)


def compare(treated: Any, control: Any, kind: Kind | None = None, alpha: float = 0.05
            ) -> dict[str, float]:  # fmt: skip
    """One arm's values against the control's: diff, interval, p-value, lift, P(beat)."""
    y1, y0 = np.asarray(treated, float), np.asarray(control, float)
    kind = kind or detect_kind(np.concatenate([y1, y0]))
    n1, n0 = len(y1), len(y0)
    if kind == "binary":
        s1, s0 = int(y1.sum()), int(y0.sum())
        r = two_proportions(s1, n1, s0, n0, alpha)
        prob = prob_beat_binary(s1, n1, s0, n0)
    else:
        w = welch(y1.mean(), y1.var(ddof=1), n1, y0.mean(), y0.var(ddof=1), n0, alpha)
        r = {k: float(v) for k, v in w.items()}
        prob = prob_beat_normal(r["diff"], r["se"])
    m0 = float(y0.mean())
    return {
        "diff": r["diff"],
        "ci_low": r["diff"] - r["half_width"],
        "ci_high": r["diff"] + r["half_width"],
        "p_value": r["p_value"],
        "relative_lift": r["diff"] / m0 if m0 != 0 else None,
        "prob_beat_control": prob,
    }


def srm_check(observed: Mapping[str, int], expected_split: Mapping[str, float] | None = None,
              threshold: float = SRM_THRESHOLD) -> SrmCheck:  # fmt: skip
    """Chi-square goodness of fit of arm counts to the planned split (equal by default);
    a mismatch (p < threshold) means assignment or tracking is broken."""
    arms = list(observed)
    if expected_split is None:
        weights = np.ones(len(arms))
    else:
        missing = [a for a in arms if a not in expected_split]
        if missing:
            raise ExperimentInputError(
                f"expected_split has no weight for {', '.join(missing)}; "
                f"it names {', '.join(map(str, expected_split))}"
            )
        weights = np.array([float(expected_split[a]) for a in arms])
        if (weights <= 0).any():
            raise ExperimentInputError("expected_split weights must be positive")
    counts = np.array([observed[a] for a in arms], dtype=float)
    exp = weights / weights.sum() * counts.sum()
    chi2, p = stats.chisquare(counts, exp)
    mismatch = bool(p < threshold)
    warning = None
    if mismatch:
        got = ", ".join(f"{a} {int(c):,}" for a, c in zip(arms, counts, strict=True))
        want = ", ".join(f"{a} {e:,.0f}" for a, e in zip(arms, exp, strict=True))
        warning = (
            f"Sample ratio mismatch: the arms got {got} where the planned split expects "
            f"{want} (p = {p:.1g}). Assignment or tracking is broken somewhere; do not trust "
            "the comparisons until it is found."
        )
    return SrmCheck(
        observed={a: int(c) for a, c in zip(arms, counts, strict=True)},
        expected={a: float(e) for a, e in zip(arms, exp, strict=True)},
        chi2=float(chi2),
        p_value=float(p),
        mismatch=mismatch,
        warning=warning,
    )


# ---------------------------------------------------------------- CUPED


def cuped(y: Any, x: Any, arms: Any, control: str, alpha: float = 0.05,
          covariate: str = "covariate") -> CupedResult:  # fmt: skip
    """CUPED: theta = cov(Y, X) / var(X) pooled within arms, Y − theta (X − mean X), then
    Welch per arm against the control. ``variance_reduction`` = 1 − var(adjusted)/var(Y)."""
    y, x, arms = np.asarray(y, float), np.asarray(x, float), np.asarray(arms, dtype=object)
    names = [control, *sorted(set(arms) - {control})]
    masks = {a: arms == a for a in names}
    yc = np.concatenate([y[m] - y[m].mean() for m in masks.values()])
    xc = np.concatenate([x[m] - x[m].mean() for m in masks.values()])
    if not np.any(xc):
        raise ExperimentInputError(f"covariate {covariate!r} does not vary within the arms")
    theta = float(xc @ yc / (xc @ xc))
    adjusted = y - theta * (x - x.mean())
    reduction = 1 - float(np.sum((yc - theta * xc) ** 2) / np.sum(yc**2)) if np.any(yc) else 0.0
    rows = []
    a0 = adjusted[masks[control]]
    for arm in names[1:]:
        a1 = adjusted[masks[arm]]
        w = welch(a1.mean(), a1.var(ddof=1), len(a1), a0.mean(), a0.var(ddof=1), len(a0), alpha)
        d, h = float(w["diff"]), float(w["half_width"])
        rows.append({"arm": arm, "control": control, "diff": d, "ci_low": d - h,
                     "ci_high": d + h, "p_value": float(w["p_value"])})  # fmt: skip
    for row, p in zip(rows, holm([r["p_value"] for r in rows]), strict=True):
        row["p_value_holm"] = float(p)
        row["significant"] = bool(p < alpha)
    return CupedResult(covariate, theta, reduction, rows)


# ---------------------------------------------------------------- sequential (mSPRT)


def msprt_path(y: Any, treated: Any, tau: float, alpha: float = 0.05, min_n: int = 30,
               binary: bool = False) -> dict[str, np.ndarray]:  # fmt: skip
    """The mixture SPRT (Johari et al. 2017) after every observation, in arrival order.

    With d the difference of running means and s² its estimated variance, the normal mixture
    θ ~ N(0, τ²) over the effect gives the likelihood ratio against "no difference"
    Λ = √(s²/(s²+τ²)) · exp(τ² d² / (2 s² (s²+τ²))) — for equal arms of n each, s² = V/n and
    this is the paper's √(V/(V+nτ²)) exp(n²τ²d²/(2V(V+nτ²))). Returns per observation the raw
    ``p`` = min(1, 1/Λ) and the interval ``low``/``high`` {θ: Λ(θ) < 1/α}; the always-valid
    p-value is the running minimum of ``p`` and the confidence sequence the running
    intersection of the intervals (see :func:`sequential_test`). Before both arms have
    ``min_n`` observations, p = 1 and the interval is unbounded. ``binary`` uses the pooled
    rate's variance for the p-value (the null's) and the unpooled one for the interval.
    """
    y, g = np.asarray(y, float), np.asarray(treated, bool)
    if not binary:
        y = y - y.mean()  # a shift changes no difference; it keeps the running sums exact
    n1, n0 = np.cumsum(g), np.cumsum(~g)
    s1, s0 = np.cumsum(np.where(g, y, 0.0)), np.cumsum(np.where(g, 0.0, y))
    q1, q0 = np.cumsum(np.where(g, y * y, 0.0)), np.cumsum(np.where(g, 0.0, y * y))
    ready = (n1 >= max(2, min_n)) & (n0 >= max(2, min_n))
    tau2 = tau**2
    with np.errstate(divide="ignore", invalid="ignore"):
        m1, m0 = s1 / n1, s0 / n0
        v1, v0 = _running_var(q1, m1, n1), _running_var(q0, m0, n0)
        d = m1 - m0
        s2_ci = v1 / n1 + v0 / n0
        s2 = s2_ci
        if binary:
            rate = (s1 + s0) / (n1 + n0)
            s2 = rate * (1 - rate) * (1 / n1 + 1 / n0)
        log_lr = 0.5 * np.log(s2 / (s2 + tau2)) + tau2 * d**2 / (2 * s2 * (s2 + tau2))
        p = np.where(ready & (s2 > 0), np.minimum(1.0, np.exp(-log_lr)), 1.0)
        half = np.sqrt(
            2 * s2_ci * (s2_ci + tau2) / tau2
            * (math.log(1 / alpha) + 0.5 * np.log((s2_ci + tau2) / s2_ci))
        )  # fmt: skip
        ok = ready & (s2_ci > 0)
        low, high = np.where(ok, d - half, -np.inf), np.where(ok, d + half, np.inf)
    return {"n1": n1, "n0": n0, "v1": v1, "v0": v0, "diff": np.where(ready, d, np.nan),
            "p": p, "low": low, "high": high}  # fmt: skip


def _running_var(sq: np.ndarray, mean: np.ndarray, n: np.ndarray) -> np.ndarray:
    """Sample variance from running sums; what is within rounding of zero is zero (a run of
    equal values must not look like a perfectly precise estimate)."""
    spread = sq - n * mean**2
    return np.where(spread > 1e-9 * sq, spread, 0.0) / (n - 1)


def default_tau(y: Any, tau_scale: float = 0.1) -> float:
    """The mixture's standard deviation: ``tau_scale`` standard deviations of the metric
    (effects of about a tenth of a standard deviation are what the test is tuned to find)."""
    sd = float(np.std(np.asarray(y, float), ddof=1))
    return tau_scale * sd if sd > 0 else tau_scale


def sequential_test(
    y: Any,
    arms: Any,
    control: str,
    alpha: float = 0.05,
    tau: float | None = None,
    min_n: int = 30,
    order: Any = None,
    order_column: str | None = None,
    kind: Kind | None = None,
) -> SequentialResult:
    """Always-valid p-value and confidence sequence per arm against the control after the
    last observation (``y`` and ``arms`` in arrival order), and the first look — counted in
    observations of the two arms — at which the always-valid p-value reached ``alpha``."""
    y, arms = np.asarray(y, float), np.asarray(arms, dtype=object)
    binary = (kind or detect_kind(y)) == "binary"
    tau = default_tau(y) if tau is None else float(tau)
    rows = []
    for arm in sorted(set(arms) - {control}):
        mask = (arms == arm) | (arms == control)
        path = msprt_path(y[mask], arms[mask] == arm, tau, alpha, min_n, binary)
        p = np.minimum.accumulate(path["p"])
        low, high = np.maximum.accumulate(path["low"]), np.minimum.accumulate(path["high"])
        hits = np.flatnonzero(p <= alpha)
        stopped = None
        if hits.size:
            i = int(hits[0])
            where = int(np.flatnonzero(mask)[i])
            stopped = {
                "look": i + 1,
                "n_arm": int(path["n1"][i]),
                "n_control": int(path["n0"][i]),
                "order": None if order is None else _plain_order(np.asarray(order)[where]),
                "diff": float(path["diff"][i]),
                "p_value": float(p[i]),
            }
        rows.append({"arm": arm, "control": control, "n": int(mask.sum()),
                     "diff": float(path["diff"][-1]), "p_value": float(p[-1]),
                     "ci_low": float(low[-1]), "ci_high": float(high[-1]),
                     "stopped_at": stopped})  # fmt: skip
    for row, ph in zip(rows, holm([r["p_value"] for r in rows]), strict=True):
        row["p_value_holm"] = float(ph)
        row["significant"] = bool(ph <= alpha)
    return SequentialResult(tau=tau, min_n=min_n, order_column=order_column, comparisons=rows)


def _plain_order(value: Any) -> Any:
    if isinstance(value, np.datetime64 | pd.Timestamp):
        return pd.Timestamp(value).isoformat()
    return value.item() if isinstance(value, np.generic) else value


def aa_peeking_simulation(
    runs: int = 200,
    n: int = 2000,
    looks: int = 100,
    alpha: float = 0.05,
    seed: int = 0,
    rate: float | None = None,
    min_n: int = 30,
) -> dict[str, Any]:
    """A/A experiments (no true difference) watched at ``looks`` evenly spaced peeks: the
    share of runs in which a naive Welch t-test, stopped at the first p < alpha, declares a
    winner, against the mSPRT's always-valid p-value and a single test at the end.
    Normal data, or Bernoulli(``rate``) when a rate is given."""
    rng = np.random.default_rng(seed)
    peeks = np.unique(np.linspace(2 * min_n, n, looks).round().astype(int)) - 1
    naive = msprt = final = 0
    for _ in range(runs):
        y = rng.normal(size=n) if rate is None else (rng.random(n) < rate).astype(float)
        g = rng.random(n) < 0.5
        path = msprt_path(y, g, default_tau(y), alpha, min_n, binary=rate is not None)
        at = peeks[(path["n1"][peeks] >= min_n) & (path["n0"][peeks] >= min_n)]
        w = welch(path["diff"][at], path["v1"][at], path["n1"][at], 0.0, path["v0"][at],
                  path["n0"][at], alpha)  # fmt: skip
        p_naive = np.nan_to_num(w["p_value"], nan=1.0)
        naive += bool((p_naive < alpha).any())
        final += bool(p_naive[-1] < alpha)
        msprt += bool((path["p"][at] <= alpha).any())
    return {
        "runs": runs,
        "n": n,
        "looks": len(peeks),
        "alpha": alpha,
        "naive_false_positive_rate": naive / runs,
        "msprt_false_positive_rate": msprt / runs,
        "single_final_test_false_positive_rate": final / runs,
    }


# ---------------------------------------------------------------- analysis


def analyze(
    data: pd.DataFrame | Mapping[str, Sequence[Any]],
    arm_column: str,
    metric: str,
    control: str | None = None,
    covariate: str | None = None,
    alpha: float = 0.05,
    expected_split: Mapping[str, float] | None = None,
    order_column: str | None = None,
    sequential: bool | None = None,
    tau: float | None = None,
    min_n: int = 30,
) -> ExperimentResult:
    """Summaries, comparisons against the control, SRM check; CUPED when ``covariate`` is
    given; always-valid sequential results when ``sequential`` is true or, by default, when
    ``order_column`` is given (rows are taken in that column's order, else as they come)."""
    frame = data.copy() if isinstance(data, pd.DataFrame) else pd.DataFrame(data)
    wanted = [c for c in (arm_column, metric, covariate, order_column) if c]
    for name in wanted:
        if name not in frame.columns:
            raise ExperimentInputError(
                f"no column {name!r}; the columns are {', '.join(map(str, frame.columns))}"
            )
    frame = frame[list(dict.fromkeys(wanted))]
    _validate(frame, arm_column, metric, covariate, order_column, [f"row {i}" for i in frame.index])
    if order_column:
        frame = frame.sort_values(order_column, kind="stable")
    arms = frame[arm_column].to_numpy(dtype=object)
    y = frame[metric].to_numpy(dtype=float)
    control = choose_control(list(set(arms)), control)
    names = [control, *sorted(set(arms) - {control})]
    small = [a for a in names if (arms == a).sum() < 2]
    if small:
        raise ExperimentInputError(f"arm(s) {', '.join(small)} have fewer than 2 observations")
    kind = detect_kind(y)
    values = {a: y[arms == a] for a in names}
    summaries = [ArmSummary(a, len(v), float(v.mean()), float(v.std(ddof=1)))
                 for a, v in values.items()]  # fmt: skip
    raw = [compare(values[a], values[control], kind, alpha) for a in names[1:]]
    adjusted = holm([r["p_value"] for r in raw])
    comparisons = [
        Comparison(a, control, p_value_holm=float(ph), significant=bool(ph < alpha), **r)
        for a, r, ph in zip(names[1:], raw, adjusted, strict=True)
    ]
    srm = srm_check({a: len(v) for a, v in values.items()}, expected_split)
    cup = None
    if covariate:
        x = frame[covariate].to_numpy(dtype=float)
        cup = cuped(y, x, arms, control, alpha, covariate)
    seq = None
    if sequential or (sequential is None and order_column):
        order = frame[order_column].to_numpy() if order_column else None
        seq = sequential_test(y, arms, control, alpha, tau, min_n, order, order_column, kind)
    result = ExperimentResult(metric, kind, control, alpha, summaries, comparisons, srm, cup,
                              seq)  # fmt: skip
    return replace(result, summary=summarize(result))


def analyze_file(
    path: str | Path,
    arm_column: str,
    metric: str,
    control: str | None = None,
    covariate: str | None = None,
    **options: Any,
) -> ExperimentResult:
    """:func:`read_experiment_csv` then :func:`analyze` (``options`` go to ``analyze``);
    errors name the file."""
    frame = read_experiment_csv(path, arm_column, metric, covariate,
                                options.get("order_column"))  # fmt: skip
    try:
        return analyze(frame, arm_column, metric, control, covariate, **options)
    except ExperimentInputError as e:
        raise ExperimentInputError(f"{path}: {e}") from e


def _fmt(value: float, kind: Kind, signed: bool = False, unit: bool = True) -> str:
    if kind == "binary":
        if not signed:
            return f"{value * 100:.2f}%"
        return f"{value * 100:+.2f}" + (" points" if unit else "")
    return f"{value:+,.3g}" if signed else f"{value:,.3g}"


def _fmt_prob(p: float) -> str:
    return ">99.9%" if p > 0.999 else "<0.1%" if p < 0.001 else f"{p:.1%}"


def _fmt_p(p: float) -> str:
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}"


def summarize(result: ExperimentResult) -> str:
    """One or two plain sentences: the winner (or that there is none), and any warning."""
    k, control, level = result.kind, result.control, f"{1 - result.alpha:.0%}"
    means = {a.arm: a.mean for a in result.arms}
    best = max(result.comparisons, key=lambda c: c.diff)
    detail = (
        f"{_fmt(means[best.arm], k)} vs {_fmt(means[control], k)}, "
        f"{_fmt(best.diff, k, True)}, {level} CI {_fmt(best.ci_low, k, True, False)} to "
        f"{_fmt(best.ci_high, k, True)}, {_fmt_p(best.p_value_holm)}, "
        f"{_fmt_prob(best.prob_beat_control)} chance to beat {control}"
    )
    if best.significant and best.diff > 0:
        others = [c.arm for c in result.comparisons
                  if c.significant and c.diff > 0 and c is not best]  # fmt: skip
        text = f"{best.arm} is the best arm on {result.metric} ({detail})."
        if others:
            text += f" {', '.join(others)} also beat {control} significantly."
    else:
        text = (f"No arm beats {control} significantly on {result.metric}; the best is "
                f"{best.arm} ({detail}).")  # fmt: skip
        worse = [c.arm for c in result.comparisons if c.significant and c.diff < 0]
        if worse:
            text += f" {', '.join(worse)} did significantly worse than {control}."
    if result.cuped:
        adj = next(c for c in result.cuped.comparisons if c["arm"] == best.arm)
        text += (
            f" Adjusted for {result.cuped.covariate} (CUPED, variance cut by "
            f"{result.cuped.variance_reduction:.1%}): {_fmt(adj['diff'], k, True)}, {level} CI "
            f"{_fmt(adj['ci_low'], k, True, False)} to {_fmt(adj['ci_high'], k, True)}."
        )
    if result.srm.warning:
        text += " " + result.srm.warning
    return text


# ---------------------------------------------------------------- uplift


class TwoModelUplift:
    """Two-model ("T-learner") uplift: one model of the outcome fitted on treated customers,
    one on the control; the uplift of a customer is the difference of the two predictions.
    ``model`` is ``"logistic"`` (logistic or ridge regression on one-hot text and scaled
    numbers) or ``"boosting"`` (histogram gradient boosting)."""

    def __init__(self, model: Literal["logistic", "boosting"] = "logistic", seed: int = 0):
        self.model = model
        self.seed = seed

    def _estimator(self, features: pd.DataFrame, y: np.ndarray) -> Any:
        from sklearn.compose import ColumnTransformer
        from sklearn.dummy import DummyRegressor
        from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
        from sklearn.linear_model import LogisticRegression, Ridge
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import OneHotEncoder, StandardScaler

        if len(np.unique(y)) < 2:
            return DummyRegressor(strategy="mean")
        text = [c for c in features.columns if not pd.api.types.is_numeric_dtype(features[c])]
        numbers = [c for c in features.columns if c not in text]
        encode = ColumnTransformer(
            [("text", OneHotEncoder(handle_unknown="ignore"), text),
             ("numbers", StandardScaler(), numbers)]
        )  # fmt: skip
        if self.model == "boosting":
            est = (HistGradientBoostingClassifier if self.binary_ else
                   HistGradientBoostingRegressor)(max_iter=150, random_state=self.seed)  # fmt: skip
        elif self.model == "logistic":
            est = LogisticRegression(max_iter=2000) if self.binary_ else Ridge(alpha=1.0)
        else:
            raise ValueError(f"unknown uplift model {self.model!r}; use logistic or boosting")
        return make_pipeline(encode, est)

    def fit(self, features: pd.DataFrame, treated: Any, y: Any) -> TwoModelUplift:
        treated, y = np.asarray(treated, bool), np.asarray(y, float)
        self.binary_ = detect_kind(y) == "binary"
        self.features_ = list(features.columns)
        self.models_ = {}
        for arm in (True, False):
            x_arm, y_arm = features[treated == arm], y[treated == arm]
            self.models_[arm] = self._estimator(x_arm, y_arm).fit(x_arm, y_arm)
        return self

    def _predict(self, arm: bool, features: pd.DataFrame) -> np.ndarray:
        est = self.models_[arm]
        if hasattr(est, "predict_proba"):
            return est.predict_proba(features[self.features_])[:, 1]
        return np.asarray(est.predict(features[self.features_]), float)

    def predict(self, features: pd.DataFrame) -> np.ndarray:
        """Predicted uplift per row: treated outcome − control outcome."""
        return self._predict(True, features) - self._predict(False, features)


def qini_curve(uplift: Any, treated: Any, y: Any) -> tuple[np.ndarray, np.ndarray]:
    """Customers ranked by predicted uplift: (share targeted, incremental outcome per
    treated customer had the top share been treated) — Radcliffe's Qini, from 0 to 1."""
    order = np.argsort(-np.asarray(uplift, float), kind="stable")
    g, y = np.asarray(treated, bool)[order], np.asarray(y, float)[order]
    n1, n0 = np.cumsum(g), np.cumsum(~g)
    y1, y0 = np.cumsum(np.where(g, y, 0.0)), np.cumsum(np.where(g, 0.0, y))
    with np.errstate(divide="ignore", invalid="ignore"):
        q = np.where(n0 > 0, y1 - y0 * n1 / n0, y1)
    share = np.arange(len(y) + 1) / len(y)
    return share, np.concatenate([[0.0], q]) / max(1, int(g.sum()))


def qini_coefficient(uplift: Any, treated: Any, y: Any) -> float:
    """Area between the Qini curve and random targeting's straight line: > 0 when the
    ranking finds the responsive customers better than chance."""
    share, q = qini_curve(uplift, treated, y)
    return float(integrate.trapezoid(q - share * q[-1], share))


def uplift_at_top(uplift: Any, treated: Any, y: Any, share: float) -> dict[str, Any]:
    """Observed uplift (treated mean − control mean) among the top ``share`` by prediction."""
    u = np.asarray(uplift, float)
    top = np.argsort(-u, kind="stable")[: max(1, round(share * len(u)))]
    g, yy = np.asarray(treated, bool)[top], np.asarray(y, float)[top]
    observed = yy[g].mean() - yy[~g].mean() if g.any() and (~g).any() else math.nan
    return {"share": share, "n": len(top), "observed_uplift": float(observed),
            "predicted_uplift": float(u[top].mean())}  # fmt: skip


@dataclass(frozen=True)
class UpliftResult:
    outcome: str
    treatment: str
    control: str
    model: str
    n_train: int
    n_test: int
    observed_uplift: float
    qini: float
    uplift_at_top: list[dict[str, Any]]
    segments: list[dict[str, Any]]

    def to_dict(self) -> dict[str, Any]:
        return _plain(asdict(self))


def uplift_by_segment(
    data: pd.DataFrame,
    arm_column: str,
    outcome: str,
    treatment: str,
    control: str,
    features: Sequence[str],
    segments: Sequence[str],
    model: Literal["logistic", "boosting"] = "logistic",
    test_share: float = 0.3,
    seed: int = 0,
    alpha: float = 0.05,
    top: Sequence[float] = (0.1, 0.2, 0.3, 0.5),
) -> UpliftResult:
    """Fit :class:`TwoModelUplift` on a stratified training part, then on the held-out part:
    the Qini coefficient, uplift among the top shares, and per value of every ``segments``
    column the mean predicted uplift. Beside it the segment's observed difference (all its
    rows) with its confidence interval and p-value. Segments come per column, highest
    predicted uplift first."""
    from sklearn.model_selection import train_test_split

    frame = data
    needed = [arm_column, outcome, *features, *segments]
    missing = [c for c in dict.fromkeys(needed) if c not in frame.columns]
    if missing:
        raise ExperimentInputError(
            f"no column {', '.join(map(repr, missing))}; the columns are "
            f"{', '.join(map(str, frame.columns))}"
        )
    arms = frame[arm_column].astype(str).str.strip()
    for arm in (treatment, control):
        if arm not in set(arms):
            raise ExperimentInputError(
                f"arm {arm!r} not found; the arms are {', '.join(sorted(set(arms)))}"
            )
    keep = arms.isin([treatment, control]).to_numpy()
    frame = frame.loc[keep]
    y = _floats(frame[outcome], outcome, [f"row {i}" for i in frame.index]).to_numpy()
    frame = frame.reset_index(drop=True)
    treated = (arms[keep] == treatment).to_numpy()
    kind = detect_kind(y)
    train, test = train_test_split(np.arange(len(frame)), test_size=test_share,
                                   random_state=seed, stratify=treated)  # fmt: skip
    x = frame[list(features)]
    est = TwoModelUplift(model, seed).fit(x.iloc[train], treated[train], y[train])
    u = est.predict(x.iloc[test])
    g, yt = treated[test], y[test]
    rows = []
    for column in segments:
        found = []
        for value, idx in frame.groupby(column, sort=True).indices.items():
            held = np.isin(test, idx)
            seg_g = treated[idx]
            r = {"diff": math.nan, "ci_low": math.nan, "ci_high": math.nan, "p_value": math.nan}
            if seg_g.sum() >= 2 and (~seg_g).sum() >= 2:
                r = compare(y[idx][seg_g], y[idx][~seg_g], kind, alpha)
            found.append({"column": column, "value": _plain_order(value), "n": len(idx),
                          "predicted_uplift": float(u[held].mean()) if held.any() else math.nan,
                          "observed_diff": r["diff"], "ci_low": r["ci_low"],
                          "ci_high": r["ci_high"], "p_value": r["p_value"]})  # fmt: skip
        found.sort(key=lambda s: -np.nan_to_num(s["predicted_uplift"], nan=-np.inf))
        rows += found
    return UpliftResult(
        outcome=outcome,
        treatment=treatment,
        control=control,
        model=model,
        n_train=len(train),
        n_test=len(test),
        observed_uplift=float(yt[g].mean() - yt[~g].mean()),
        qini=qini_coefficient(u, g, yt),
        uplift_at_top=[uplift_at_top(u, g, yt, s) for s in top],
        segments=rows,
    )
