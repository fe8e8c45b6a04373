"""``shopmind insights …`` and ``shopmind report``: the growth analyses from the command line."""

from __future__ import annotations

import csv
import json
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from shopmind.cli import app, console, err, fail, get_settings, open_store
from shopmind.safety.spreadsheet import neutralize_cell

insights_app = typer.Typer(
    help="Growth insights: funnel, acquisition, cohorts, segments, lifetime value, "
    "experiments, anomalies, demand and what to do next.",
    no_args_is_help=True,
)
app.add_typer(insights_app, name="insights")

AsJson = Annotated[bool, typer.Option("--json", help="Print JSON.")]
Start = Annotated[
    str | None, typer.Option("--start", help="First day (YYYY-MM-DD); default: --days back.")
]
End = Annotated[
    str | None, typer.Option("--end", help="Last day (YYYY-MM-DD); default: the latest data.")
]
Days = Annotated[int, typer.Option("--days", min=1, max=3660, help="Days in the period.")]
AsOf = Annotated[
    str | None, typer.Option("--as-of", help="Day to look from (YYYY-MM-DD); default: latest.")
]


def _day(value: str | None, option: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise fail(f"{option}: not a date (YYYY-MM-DD): {value!r}") from None


def _service() -> Any:
    from shopmind.insights.service import Insights

    return Insights(open_store(), get_settings())


def _run(make: Any) -> Any:
    from shopmind.insights.engine import InsightsError

    try:
        return make()
    except InsightsError as exc:
        raise fail(str(exc)) from exc


def _period(ins: Any, start: str | None, end: str | None, days: int) -> Any:
    return _run(lambda: ins.period(_day(start, "--start"), _day(end, "--end"), days))


def _as_of(ins: Any, value: str | None) -> date:
    day = _day(value, "--as-of")
    return day or _run(lambda: ins.period(days=1)).end


def _print_json(data: Any) -> None:
    print(json.dumps(data, ensure_ascii=False, indent=1, default=str))


def _pct(x: float | None) -> str:
    return "—" if x is None else f"{100 * x:.2f}%"


def _table(title: str, columns: list[str], rows: list[list[Any]]) -> None:
    t = Table(title=title)
    for c in columns:
        t.add_column(c, overflow="fold")
    for r in rows:
        t.add_row(*("—" if v is None else str(v) for v in r))
    console.print(t)


@insights_app.command("funnel")
def funnel_cmd(
    steps: Annotated[
        str | None,
        typer.Option(
            "--steps",
            help="Event names in order, comma-separated; a trailing ? marks an optional "
            "step (default: view_item,add_to_cart,begin_checkout,purchase).",
        ),
    ] = None,
    by: Annotated[
        str | None,
        typer.Option(
            "--by",
            help="Break down by day, week, source, medium, campaign, source_medium, device, "
            "product or segment.",
        ),
    ] = None,
    unit: Annotated[str, typer.Option("--unit", help="Count sessions or users.")] = "session",
    window: Annotated[
        int | None,
        typer.Option("--window", min=1, help="Conversion window in minutes from the first step."),
    ] = None,
    start: Start = None,
    end: End = None,
    days: Days = 30,
    as_json: AsJson = False,
) -> None:
    """Sessions (or users) reaching each step, against the period before."""
    ins = _service()
    period = _period(ins, start, end, days)
    out = _run(lambda: ins.funnel(period, steps=steps, by=by, unit=unit, window_minutes=window))
    if as_json:
        return _print_json(out)
    rows = [
        [s["name"] + (" (optional)" if s["optional"] else ""), f"{s['units']:,}",
         _pct(s["rate_from_start"]), _pct(s["rate_from_previous"]), _pct(s["change"])]
        for s in out["steps"]
    ]  # fmt: skip
    p = out["period"]
    _table(f"Funnel {p['start']} – {p['end']} ({unit}s)",
           ["step", unit + "s", "of first", "of previous", "vs before"], rows)  # fmt: skip
    if out["groups"]:
        _table(f"by {by}", ["group", "entered", "converted", "conversion", "value"],
               [[g["key"] if not g.get("title") else f"{g['title']} ({g['key']})",
                 f"{g['units'][0]:,}", f"{g['units'][-1]:,}", _pct(g["conversion"]), g["value"]]
                for g in out["groups"]])  # fmt: skip


@insights_app.command("acquisition")
def acquisition_cmd(
    level: Annotated[
        str, typer.Option("--level", help="source_medium, source, medium or campaign.")
    ] = "source_medium",
    model: Annotated[
        str,
        typer.Option(
            "--model",
            help="Attribution for CPA and ROAS: first_touch, last_touch, linear or position_based.",
        ),
    ] = "last_touch",
    lookback: Annotated[
        int, typer.Option("--lookback", min=1, max=90, help="Attribution look-back in days.")
    ] = 30,
    start: Start = None,
    end: End = None,
    days: Days = 30,
    as_json: AsJson = False,
) -> None:
    """Sessions, conversion, revenue, attribution and ad-spend returns per channel."""
    ins = _service()
    period = _period(ins, start, end, days)
    out = _run(lambda: ins.acquisition(period, level=level, model=model, lookback_days=lookback))
    if as_json:
        return _print_json(out)
    rows = [
        [c["channel"], f"{c['sessions']:,}", f"{c['conversions']:,}", _pct(c["conversion_rate"]),
         f"{c['revenue']:,.2f}", f"{c['attributed'][model]['conversions']:.1f}", c["spend"],
         None if c["cpa"] is None else f"{c['cpa']:.2f}",
         None if c["roas"] is None else f"{c['roas']:.2f}"]
        for c in out["channels"]
    ]  # fmt: skip
    _table(f"Acquisition {out['period']['start']} – {out['period']['end']}",
           ["channel", "sessions", "conversions", "rate", "revenue", model, "spend", "CPA", "ROAS"],
           rows)  # fmt: skip


@insights_app.command("cohorts")
def cohorts_cmd(
    months: Annotated[int, typer.Option("--months", min=1, max=60, help="Months of cohorts.")] = 12,
    as_of: AsOf = None,
    as_json: AsJson = False,
) -> None:
    """Retention by first-order month."""
    ins = _service()
    out = _run(lambda: ins.cohorts(_as_of(ins, as_of), months))
    if as_json:
        return _print_json(out)
    width = max((len(c["retention"]) for c in out["cohorts"]), default=1)
    rows = [[c["cohort"], f"{c['customers']:,}", *(_pct(r) for r in c["retention"]),
             *([""] * (width - len(c["retention"])))] for c in out["cohorts"]]  # fmt: skip
    _table("Retention by first-order month", ["cohort", "customers", *map(str, range(width))], rows)


@insights_app.command("segments")
def segments_cmd(
    segment: Annotated[
        str | None, typer.Option("--segment", help="List this segment's customers.")
    ] = None,
    output: Annotated[
        Path | None, typer.Option("--output", help="Write the customer list to this CSV file.")
    ] = None,
    as_of: AsOf = None,
    as_json: AsJson = False,
) -> None:
    """RFM segments; with --segment or --output, the customers themselves."""
    ins = _service()
    day = _as_of(ins, as_of)
    if segment is not None or output is not None:
        rows = _run(lambda: ins.segment_customers(day, segment))
        if output is not None:
            from shopmind.insights.segments import EXPORT_COLUMNS

            _write_csv(output, EXPORT_COLUMNS, rows)
            err.print(f"{len(rows):,} customers written to {output}", markup=False)
            return None
        if as_json:
            return _print_json(rows)
        _table(f"{segment} customers", ["customer", "email", "orders", "monetary", "recency days"],
               [[r["external_id"], r["email"], r["orders"], r["monetary"], r["recency_days"]]
                for r in rows])  # fmt: skip
        return None
    out = _run(lambda: ins.segments(day))
    if as_json:
        return _print_json(out)
    _table(f"RFM segments as of {out['as_of']}",
           ["segment", "customers", "share", "revenue", "avg orders", "accept e-mail"],
           [[s["segment"], f"{s['customers']:,}", _pct(s["share"]), f"{s['revenue']:,.2f}",
             None if s["avg_orders"] is None else f"{s['avg_orders']:.2f}", s["marketable"]]
            for s in out["segments"]])  # fmt: skip


def _write_csv(path: Path, columns: Any, rows: list[dict[str, Any]]) -> None:
    """A CSV a spreadsheet opens safely: cells that would run as formulas get a ``'``."""
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(columns)
        for r in rows:
            w.writerow([_safe_cell(r.get(c)) for c in columns])
    tmp.replace(path)


def _safe_cell(value: Any) -> Any:
    """A cell a spreadsheet will not run as a formula (:mod:`shopmind.safety.spreadsheet`)."""
    return "" if value is None else neutralize_cell(value)


@insights_app.command("clv")
def clv_cmd(
    orders: Annotated[
        Path | None,
        typer.Option(
            "--orders",
            help="Fit a CSV of transactions (customer_id, date, amount) instead of the store.",
        ),
    ] = None,
    calibration_end: Annotated[
        str | None,
        typer.Option("--calibration-end", help="Last day the models learn from (YYYY-MM-DD)."),
    ] = None,
    observation_end: Annotated[
        str | None,
        typer.Option(
            "--observation-end",
            help="With --orders: check predictions on the days after the calibration up to here.",
        ),
    ] = None,
    months: Annotated[int, typer.Option("--months", min=1, max=120, help="Value horizon.")] = 12,
    as_of: AsOf = None,
    as_json: AsJson = False,
) -> None:
    """Customer lifetime value: BG/NBD purchases, Gamma-Gamma spend, CLV per customer."""
    if orders is not None:
        from shopmind.insights.clv import CLVInputError, fit_file

        if calibration_end is None:
            raise fail("--orders needs --calibration-end")
        try:
            out = fit_file(orders, _day(calibration_end, "--calibration-end"),
                           _day(observation_end, "--observation-end"))  # fmt: skip
        except (CLVInputError, ValueError) as exc:
            raise fail(str(exc)) from exc
    else:
        ins = _service()
        day = _as_of(ins, as_of)
        out = _run(lambda: ins.clv(day, months, _day(calibration_end, "--calibration-end")))
    if as_json:
        return _print_json(out)
    bg, gg = out["bgnbd"], out["gamma_gamma"]
    console.print(f"BG/NBD r={bg['r']:.4f} alpha={bg['alpha']:.4f} a={bg['a']:.4f} "
                  f"b={bg['b']:.4f} LL={bg['log_likelihood']:.1f}", markup=False)  # fmt: skip
    console.print(f"Gamma-Gamma p={gg['p']:.4f} q={gg['q']:.4f} gamma={gg['gamma']:.4f} "
                  f"LL={gg['log_likelihood']:.1f}", markup=False)  # fmt: skip
    if "top" in out:
        console.print(f"{out['customers']:,} customers, expected value {out['expected_value']:,.2f}"
                      f" over {out['months']} months", markup=False)  # fmt: skip
        _table("Most valuable customers", ["customer", "orders after first", "P(alive)", "CLV"],
               [[c["customer"], c["frequency"], f"{c['prob_alive']:.2f}", f"{c['clv']:,.2f}"]
                for c in out["top"][:15]])  # fmt: skip
    return None


@insights_app.command("experiment")
def experiment_cmd(
    input_: Annotated[Path, typer.Option("--input", help="CSV, one row per subject.")],
    arm_column: Annotated[str, typer.Option("--arm-column", help="Column naming the arm.")],
    metric: Annotated[str, typer.Option("--metric", help="Column of the outcome (0/1 or amount).")],
    control: Annotated[str | None, typer.Option("--control", help="The control arm.")] = None,
    covariate: Annotated[
        str | None,
        typer.Option("--covariate", help="Pre-period column for CUPED variance reduction."),
    ] = None,
    order_column: Annotated[
        str | None,
        typer.Option("--order-column", help="Arrival order or time, for sequential testing."),
    ] = None,
    uplift_features: Annotated[
        str | None,
        typer.Option(
            "--uplift-features",
            help="Comma-separated feature columns: two-model uplift per segment of --uplift-by.",
        ),
    ] = None,
    uplift_by: Annotated[
        str | None, typer.Option("--uplift-by", help="Segment column for the uplift report.")
    ] = None,
    alpha: Annotated[float, typer.Option("--alpha", min=0.0001, max=0.5)] = 0.05,
    as_json: AsJson = False,
) -> None:
    """A/B (or multi-arm) test: differences with intervals, p-values, probability to beat
    control, sample-ratio check, CUPED, sequential and uplift."""
    from shopmind.insights.experiments import ExperimentInputError, analyze_file

    try:
        result = analyze_file(input_, arm_column, metric, control, covariate,
                              alpha=alpha, order_column=order_column)  # fmt: skip
        out = result.to_dict()
        if uplift_features or uplift_by:
            arms = [a["arm"] for a in out["arms"] if a["arm"] != out["control"]]
            out["uplift"] = _uplift(input_, arm_column, metric, out["control"], arms,
                                    uplift_features, uplift_by)  # fmt: skip
    except ExperimentInputError as exc:
        raise fail(str(exc)) from exc
    if as_json:
        return _print_json(out)
    _table(f"{metric} by {arm_column}", ["arm", "n", "mean"],
           [[a["arm"], f"{a['n']:,}", f"{a['mean']:.5g}"] for a in out["arms"]])  # fmt: skip
    _table(f"against {out['control']}", ["arm", "diff", "95% CI", "p", "P(beats control)"],
           [[c["arm"], f"{c['diff']:+.5g}", f"[{c['ci_low']:+.4g}, {c['ci_high']:+.4g}]",
             f"{c['p_value']:.3g}", f"{c['prob_beat_control']:.3f}"]
            for c in out["comparisons"]])  # fmt: skip
    console.print(out.get("summary", ""), markup=False)
    return None


def _uplift(path: Path, arm: str, metric: str, control: str, treated: list[str],
            features: str | None, by: str | None) -> list[dict[str, Any]]:  # fmt: skip
    """Two-model uplift of each treated arm against the control, per value of ``by``."""
    from shopmind.insights import experiments

    if not features or not by:
        raise experiments.ExperimentInputError("uplift needs --uplift-features and --uplift-by")
    cols = [c.strip() for c in features.split(",") if c.strip()]
    frame = experiments.read_experiment_csv(path, arm, metric)
    return [
        {"arm": t, **experiments.uplift_by_segment(
            frame, arm, metric, treatment=t, control=control, features=cols, segments=[by]
        ).to_dict()}
        for t in treated
    ]  # fmt: skip


@insights_app.command("anomalies")
def anomalies_cmd(
    weeks: Annotated[int, typer.Option("--weeks", min=2, max=26, help="Baseline weeks.")] = 4,
    threshold: Annotated[
        float, typer.Option("--threshold", min=1.0, max=10.0, help="Alert beyond this spread.")
    ] = 3.5,
    start: Start = None,
    end: End = None,
    days: Days = 30,
    as_json: AsJson = False,
) -> None:
    """Daily sessions, conversion, revenue and order value against their weekday baseline."""
    ins = _service()
    period = _period(ins, start, end, days)
    out = _run(lambda: ins.anomalies(period, weeks=weeks, threshold=threshold))
    if as_json:
        return _print_json(out)
    if not out["alerts"]:
        console.print("No day left its expected range.", markup=False)
        return None
    _table("Alerts", ["day", "kpi", "value", "expected", "range", "severity"],
           [[a["day"], a["kpi"], f"{a['value']:.4g}", f"{a['expected']:.4g}",
             f"{a['low']:.4g} – {a['high']:.4g}", a["severity"]]
            for a in out["alerts"]])  # fmt: skip
    return None


@insights_app.command("demand")
def demand_cmd(
    start: Start = None, end: End = None, days: Days = 30, as_json: AsJson = False
) -> None:
    """Search terms and products rising or falling; searches that find no product."""
    ins = _service()
    period = _period(ins, start, end, days)
    out = _run(lambda: ins.demand(period))
    if as_json:
        return _print_json(out)
    for key, title in (("rising_terms", "Rising searches"), ("falling_terms", "Falling searches")):
        _table(title, ["term", "earlier", "later", "growth"],
               [[t["term"], t["earlier"], t["later"], _pct(t["growth"])]
                for t in out[key]])  # fmt: skip
    _table("Searches that find no product", ["term", "searches"],
           [[t["term"], t["searches"]] for t in out["not_found"]])  # fmt: skip
    return None


@insights_app.command("products")
def products_cmd(
    min_views: Annotated[
        int, typer.Option("--min-views", min=1, help="Fewest view sessions.")
    ] = 50,
    start: Start = None,
    end: End = None,
    days: Days = 30,
    as_json: AsJson = False,
) -> None:
    """Product conversion against its category; underperformers first."""
    ins = _service()
    period = _period(ins, start, end, days)
    rows = _run(lambda: ins.products(period, min_views))
    if as_json:
        return _print_json(rows)
    _table("Product conversion", ["product", "view sessions", "orders", "conversion", "category",
                                  "underperforms"],
           [[r["title"], r["view_sessions"], r["orders"], _pct(r["conversion"]),
             _pct(r["category_conversion"]), "yes" if r["underperforms"] else ""]
            for r in rows[:30]])  # fmt: skip
    return None


@insights_app.command("recommendations")
def recommendations_cmd(
    lang: Annotated[str, typer.Option("--lang", help="en or zh.")] = "en",
    start: Start = None,
    end: End = None,
    days: Days = 30,
    as_json: AsJson = False,
) -> None:
    """What to do next, with the evidence and expected value of each recommendation."""
    if lang not in ("en", "zh"):
        raise fail("--lang must be en or zh")
    ins = _service()
    period = _period(ins, start, end, days)
    recs = _run(lambda: ins.recommendations(period, lang))
    if as_json:
        return _print_json(recs)
    if not recs:
        console.print("Nothing stands out in this period.", markup=False)
    for n, r in enumerate(recs, start=1):
        console.print(f"{n}. {r['text']}", markup=False, highlight=False)
    return None


@insights_app.command("export")
def export_cmd(
    folder: Annotated[Path, typer.Argument(help="Folder to write <table>.parquet files into.")],
) -> None:
    """Write the store's tables as Parquet, for the spark engine (insights_spark_path)."""
    from shopmind.insights.engine import export_parquet

    counts = _run(lambda: export_parquet(open_store(), folder))
    for name, n in counts.items():
        console.print(f"{name}: {n:,} rows", markup=False)


@app.command("report")
def report_cmd(
    output: Annotated[
        Path, typer.Option("--output", help="The HTML file (a .json twin is written beside it).")
    ] = Path("growth-report.html"),
    lang: Annotated[str, typer.Option("--lang", help="en or zh.")] = "en",
    start: Start = None,
    end: End = None,
    days: Days = 30,
) -> None:
    """Write the growth report: one self-contained HTML file (works offline) and its JSON."""
    from shopmind.insights.report import write_report

    if lang not in ("en", "zh"):
        raise fail("--lang must be en or zh")
    ins = _service()
    period = _period(ins, start, end, days)
    html_path, json_path = _run(lambda: write_report(ins, period, output, lang))
    console.print(f"report: {html_path}\ndata:   {json_path}", markup=False)
