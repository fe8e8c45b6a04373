"""Experiments benchmark: Hillstrom's e-mail test, peeking under A/A, CUPED.

1. **Hillstrom** — ``analytics/hillstrom/hillstrom.csv`` under ``--data`` (or
   ``SHOPMIND_SHARED_DATA``, default ``../shared/data``): 64,000 customers randomised to
   Mens E-Mail, Womens E-Mail and No E-Mail. ``shopmind.insights.experiments.analyze`` on
   visit, conversion and spend (No E-Mail the control): per arm n and mean, each e-mail
   against the control with its interval, p-value and probability to beat it; the
   sample-ratio check; CUPED with last year's spend (``history``); two-model uplift of the
   Womens e-mail on visits by ``history_segment`` and ``womens`` (held-out Qini).
2. **peeking** — ``aa_peeking_simulation``: A/A experiments watched at 100 evenly spaced
   looks; the share of runs in which a naive t-test stopped at the first p < 0.05 declares
   a winner, against the always-valid mSPRT and one test at the end (normal data and 10 %
   conversions).
3. **cuped** — synthetic experiments whose covariate correlates ρ with the metric: the
   variance left after CUPED (expected 1 − ρ²) and the interval's coverage of the true
   effect.

Prints a table per part and writes ``--out`` (bench/results/experiments.json).

    .venv/bin/python bench/experiments.py [--runs 1000]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from shopmind.insights import experiments as ex

ROOT = Path(__file__).resolve().parents[1]


def hillstrom(path: Path) -> dict[str, Any]:
    frame = pd.read_csv(path)
    out: dict[str, Any] = {"rows": len(frame)}
    for metric in ("visit", "conversion", "spend"):
        started = time.perf_counter()
        result = ex.analyze(frame, "segment", metric, control="No E-Mail", covariate="history")
        seconds = time.perf_counter() - started
        d = result.to_dict()
        out[metric] = {
            "seconds": round(seconds, 3),
            "arms": d["arms"],
            "comparisons": d["comparisons"],
            "srm_p_value": d["srm"]["p_value"],
            "cuped_variance_reduction": (d.get("cuped") or {}).get("variance_reduction"),
        }
        print(f"\n{metric} ({d['kind']}), control No E-Mail — {seconds:.2f} s")
        for a in d["arms"]:
            print(f"  {a['arm']:<14} n={a['n']:>6,}  mean={a['mean']:.5f}")
        for c in d["comparisons"]:
            print(f"  {c['arm']:<14} diff={c['diff']:+.5f}  CI [{c['ci_low']:+.5f}, "
                  f"{c['ci_high']:+.5f}]  p={c['p_value']:.3g}  "
                  f"P(beat)={c['prob_beat_control']:.4f}")  # fmt: skip
        print(f"  sample ratio p={d['srm']['p_value']:.3f}; CUPED variance reduction "
              f"{out[metric]['cuped_variance_reduction']}")  # fmt: skip
    started = time.perf_counter()
    up = ex.uplift_by_segment(
        frame, "segment", "visit", treatment="Womens E-Mail", control="No E-Mail",
        features=["recency", "history", "mens", "womens", "newbie", "zip_code", "channel"],
        segments=["womens", "history_segment"],
    ).to_dict()  # fmt: skip
    up["seconds"] = round(time.perf_counter() - started, 2)
    out["uplift"] = up
    print(f"\nuplift, Womens E-Mail vs No E-Mail on visit: Qini {up['qini']:.4f}, "
          f"{up['seconds']} s")  # fmt: skip
    for s in up["segments"]:
        print(f"  {s['column']}={s['value']:<22} n={s['n']:>6,} predicted "
              f"{s['predicted_uplift']:+.4f} observed {s['observed_diff']:+.4f}")  # fmt: skip
    return out


def peeking(runs: int) -> dict[str, Any]:
    out = {}
    print(f"\nA/A peeking, {runs} runs, 100 looks, 2,000 subjects, alpha 0.05")
    for name, rate in (("normal", None), ("binary_10pct", 0.10)):
        started = time.perf_counter()
        r = ex.aa_peeking_simulation(runs=runs, rate=rate, seed=1)
        r["seconds"] = round(time.perf_counter() - started, 1)
        out[name] = r
        print(f"  {name:<13} {_rates(r)}  ({r['seconds']} s)")
    return out


def _rates(r: dict[str, Any]) -> str:
    return (f"naive t-test {r['naive_false_positive_rate']:.3f}  mSPRT "
            f"{r['msprt_false_positive_rate']:.3f}  one final test "
            f"{r['single_final_test_false_positive_rate']:.3f}")  # fmt: skip


def cuped(runs: int, n: int = 4000, effect: float = 0.1) -> dict[str, Any]:
    rng = np.random.default_rng(2)
    out = {}
    print(f"\nCUPED, {runs} synthetic experiments of {n:,}, true effect {effect}")
    for rho in (0.3, 0.6, 0.9):
        kept, covered = [], 0
        for _ in range(runs):
            x = rng.normal(size=n)
            arm = rng.random(n) < 0.5
            y = rho * x + np.sqrt(1 - rho**2) * rng.normal(size=n) + effect * arm
            frame = pd.DataFrame({"arm": np.where(arm, "B", "A"), "y": y, "x": x})
            d = ex.analyze(frame, "arm", "y", control="A", covariate="x").to_dict()
            c = d["cuped"]
            kept.append(1 - c["variance_reduction"])
            adj = c["comparisons"][0]
            covered += adj["ci_low"] <= effect <= adj["ci_high"]
        out[f"rho_{rho}"] = {
            "variance_left": float(np.mean(kept)),
            "expected": 1 - rho**2,
            "coverage": covered / runs,
        }
        print(f"  rho={rho}: variance left {np.mean(kept):.3f} (1 - rho² = {1 - rho**2:.3f}), "
              f"95% interval covered the effect in {covered / runs:.1%}")  # fmt: skip
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=Path(
        os.environ.get("SHOPMIND_SHARED_DATA", ROOT.parent / "shared" / "data")))  # fmt: skip
    parser.add_argument("--runs", type=int, default=1000, help="A/A runs per kind")
    parser.add_argument("--cuped-runs", type=int, default=200)
    parser.add_argument("--out", type=Path, default=ROOT / "bench/results/experiments.json")
    args = parser.parse_args()
    results: dict[str, Any] = {
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count()},
    }
    path = args.data / "analytics/hillstrom/hillstrom.csv"
    if path.exists():
        results["hillstrom"] = hillstrom(path)
    else:
        print(f"skipping Hillstrom: {path} not found")
    results["peeking"] = peeking(args.runs)
    results["cuped"] = cuped(args.cuped_runs)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=1, default=str) + "\n", encoding="utf-8")
    print(f"\nwritten: {args.out}")


if __name__ == "__main__":
    main()
