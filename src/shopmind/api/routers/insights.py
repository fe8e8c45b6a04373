"""Growth insights: funnel, acquisition, cohorts, segments, lifetime value, experiments,
anomalies, demand, product conversion, recommendations and the report, as JSON.

Every analysis reads a period: ``start`` and ``end`` (days, both included), or the last
``days`` days up to the store's latest data. A bad period or parameter is a 400 naming it.
"""

from __future__ import annotations

import csv
import io
import os
import tempfile
from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, File, Form, HTTPException, Query, UploadFile, status
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from shopmind.api.deps import InsightsDep, SettingsDep
from shopmind.api.schemas import ErrorResponse
from shopmind.insights.engine import InsightsError, InsightsMemoryError
from shopmind.safety.spreadsheet import neutralize_cell

router = APIRouter(prefix="/insights", tags=["insights"])
BAD = {400: {"model": ErrorResponse, "description": "A bad period or parameter"}}

Start = Annotated[date | None, Query(description="First day (YYYY-MM-DD).")]
End = Annotated[date | None, Query(description="Last day; default: the latest data.")]
Days = Annotated[int, Query(ge=1, le=3660, description="Days in the period (without start).")]
AsOf = Annotated[date | None, Query(description="Day to look from; default: the latest data.")]


class Open(BaseModel):
    """A result whose nested parts are documented in docs/insights.md."""

    model_config = ConfigDict(extra="allow")


class PeriodOut(BaseModel):
    start: date
    end: date


class FunnelStepOut(BaseModel):
    name: str
    optional: bool
    units: int
    rate_from_start: float | None
    rate_from_previous: float | None
    drop_off: int | None
    previous_units: int | None
    change: float | None


class FunnelOut(Open):
    period: PeriodOut
    unit: Literal["session", "user"]
    window_minutes: int | None
    steps: list[FunnelStepOut]
    conversion: float | None
    conversion_ci: list[float | None]
    value: float | None
    by: str | None
    groups: list[dict[str, Any]] = Field(
        description="Per group: key, units per step, conversion, conversion_ci, value."
    )


class AcquisitionOut(Open):
    period: PeriodOut
    level: str
    attribution_model: str
    lookback_days: int
    has_spend: bool
    totals: dict[str, Any]
    channels: list[dict[str, Any]] = Field(
        description="Per channel: sessions, users, conversions, conversion_rate, "
        "conversion_ci, revenue, attributed (per model: conversions, revenue), spend, cpa, roas."
    )
    placements: list[dict[str, Any]]


class CohortsOut(Open):
    as_of: date
    months: int
    cohorts: list[dict[str, Any]] = Field(
        description="Per first-order month: customers, active, retention, revenue per month."
    )
    average_retention: list[float | None]


class SegmentOut(BaseModel):
    segment: str
    description: str
    customers: int
    share: float | None
    revenue: float
    avg_orders: float | None
    avg_monetary: float | None
    avg_recency_days: float | None
    marketable: int


class SegmentsOut(BaseModel):
    as_of: date
    customers: int
    segments: list[SegmentOut]


class ClvParams(Open):
    log_likelihood: float


class ClvOut(Open):
    as_of: date
    calibration_end: date
    months: int
    customers: int
    repeat_customers: int
    bgnbd: ClvParams
    gamma_gamma: ClvParams
    expected_value: float
    top_decile_share: float | None
    top: list[dict[str, Any]]


class AnomaliesOut(Open):
    period: PeriodOut
    baseline_weeks: int
    days: list[dict[str, Any]]
    alerts: list[dict[str, Any]] = Field(
        description="day, kpi, value, expected, low, high, direction, severity, z, change."
    )


class DemandOut(Open):
    period: PeriodOut
    searches: int
    top_terms: list[dict[str, Any]]
    rising_terms: list[dict[str, Any]]
    falling_terms: list[dict[str, Any]]
    not_found: list[dict[str, Any]]
    rising_products: list[dict[str, Any]]
    falling_products: list[dict[str, Any]]
    rising_categories: list[dict[str, Any]]
    falling_categories: list[dict[str, Any]]


class RecommendationOut(BaseModel):
    id: str
    kind: str
    text: str
    evidence: dict[str, Any]
    expected_value: float | None
    value_basis: str | None
    urgent: bool
    phrased_by: Literal["template", "model"]


class ReportOut(Open):
    generated_at: str
    lang: Literal["en", "zh"]
    currency: str
    period: PeriodOut
    recommendations: list[RecommendationOut]
    funnel: FunnelOut
    funnel_by_device: FunnelOut
    acquisition: AcquisitionOut
    cohorts: CohortsOut
    segments: SegmentsOut
    clv: dict[str, Any] = Field(description="As /v1/insights/clv, or {error} without history.")
    anomalies: AnomaliesOut
    demand: DemandOut
    products: list[dict[str, Any]]


class ExperimentOut(Open):
    metric: str
    kind: Literal["binary", "continuous"]
    control: str
    arms: list[dict[str, Any]] = Field(description="arm, n, mean, std.")
    comparisons: list[dict[str, Any]] = Field(
        description="arm, control, diff, ci_low, ci_high, p_value, p_value_holm, "
        "relative_lift, prob_beat_control, significant."
    )
    srm: dict[str, Any]
    summary: str


async def _call(fn: Any, *args: Any, **kwargs: Any) -> Any:
    try:
        return await run_in_threadpool(fn, *args, **kwargs)
    except InsightsMemoryError as exc:  # the server's limit, not the question's fault
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, detail=str(exc)) from exc
    except InsightsError as exc:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, detail=str(exc)) from exc


async def _period(ins: Any, start: date | None, end: date | None, days: int) -> Any:
    return await _call(ins.period, start, end, days)


async def _as_of(ins: Any, as_of: date | None) -> date:
    return as_of or (await _period(ins, None, None, 1)).end


@router.get("/funnel", response_model=FunnelOut, responses=BAD)
async def get_funnel(
    ins: InsightsDep,
    start: Start = None,
    end: End = None,
    days: Days = 30,
    steps: Annotated[
        str | None,
        Query(max_length=600, description="Event names, comma-separated; name? is optional."),
    ] = None,
    by: Annotated[str | None, Query(max_length=32, description="Breakdown.")] = None,
    unit: Annotated[Literal["session", "user"], Query()] = "session",
    window: Annotated[int | None, Query(ge=1, le=129600, description="Minutes.")] = None,
) -> Any:
    """Units reaching each step, by group, against the period before."""
    period = await _period(ins, start, end, days)
    return await _call(ins.funnel, period, steps=steps, by=by, unit=unit, window_minutes=window)


@router.get("/acquisition", response_model=AcquisitionOut, responses=BAD)
async def get_acquisition(
    ins: InsightsDep,
    start: Start = None,
    end: End = None,
    days: Days = 30,
    level: Annotated[Literal["source_medium", "source", "medium", "campaign"], Query()] = (
        "source_medium"
    ),
    model: Annotated[
        Literal["first_touch", "last_touch", "linear", "position_based"],
        Query(description="Attribution model for CPA and ROAS."),
    ] = "last_touch",
    lookback: Annotated[int, Query(ge=1, le=90, description="Look-back days.")] = 30,
) -> Any:
    """Channels: sessions, conversion with its 95 % interval, revenue, attribution, spend."""
    period = await _period(ins, start, end, days)
    return await _call(ins.acquisition, period, level=level, model=model, lookback_days=lookback)


@router.get("/cohorts", response_model=CohortsOut, responses=BAD)
async def get_cohorts(
    ins: InsightsDep, as_of: AsOf = None, months: Annotated[int, Query(ge=1, le=60)] = 12
) -> Any:
    """Retention by first-order month."""
    return await _call(ins.cohorts, await _as_of(ins, as_of), months)


@router.get("/segments", response_model=SegmentsOut, responses=BAD)
async def get_segments(ins: InsightsDep, as_of: AsOf = None) -> Any:
    """RFM segments: customers, revenue and averages per segment."""
    return await _call(ins.segments, await _as_of(ins, as_of))


@router.get(
    "/segments/customers",
    response_model=list[dict[str, Any]],
    responses={**BAD, 200: {"content": {"text/csv": {}}}},
)
async def get_segment_customers(
    ins: InsightsDep,
    as_of: AsOf = None,
    segment: Annotated[str | None, Query(max_length=32)] = None,
    limit: Annotated[int | None, Query(ge=1, le=1_000_000)] = None,
    format: Annotated[Literal["json", "csv"], Query()] = "json",
) -> Any:
    """A segment's customers (contacts included: for the merchant's own campaigns)."""
    from shopmind.insights.segments import EXPORT_COLUMNS

    rows = await _call(ins.segment_customers, await _as_of(ins, as_of), segment, limit)
    if format == "json":
        return rows
    buffer = io.StringIO()
    w = csv.writer(buffer)
    w.writerow(EXPORT_COLUMNS)
    for r in rows:
        w.writerow([_safe_cell(r.get(c)) for c in EXPORT_COLUMNS])
    name = f"customers-{segment or 'all'}.csv"
    return Response(
        buffer.getvalue(),
        media_type="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


def _safe_cell(value: Any) -> Any:
    """A cell a spreadsheet will not run as a formula (:mod:`shopmind.safety.spreadsheet`)."""
    return "" if value is None else neutralize_cell(value)


@router.get("/clv", response_model=ClvOut, responses=BAD)
async def get_clv(
    ins: InsightsDep,
    as_of: AsOf = None,
    months: Annotated[int, Query(ge=1, le=120)] = 12,
    calibration_end: Annotated[
        date | None, Query(description="Fit up to here; check on the days after.")
    ] = None,
    top: Annotated[int, Query(ge=1, le=1000)] = 50,
) -> Any:
    """BG/NBD + Gamma-Gamma lifetime value of the store's customers."""
    return await _call(ins.clv, await _as_of(ins, as_of), months, calibration_end, top)


@router.get("/anomalies", response_model=AnomaliesOut, responses=BAD)
async def get_anomalies(
    ins: InsightsDep,
    start: Start = None,
    end: End = None,
    days: Days = 30,
    weeks: Annotated[int, Query(ge=2, le=26)] = 4,
    threshold: Annotated[float, Query(ge=1.0, le=10.0)] = 3.5,
) -> Any:
    """Daily KPIs against their weekday baseline, and the days outside it."""
    period = await _period(ins, start, end, days)
    return await _call(ins.anomalies, period, weeks=weeks, threshold=threshold)


@router.get("/demand", response_model=DemandOut, responses=BAD)
async def get_demand(
    ins: InsightsDep, start: Start = None, end: End = None, days: Days = 30
) -> Any:
    """Searches and views rising or falling; searches that find no product."""
    return await _call(ins.demand, await _period(ins, start, end, days))


@router.get("/products", response_model=list[dict[str, Any]], responses=BAD)
async def get_products(
    ins: InsightsDep,
    start: Start = None,
    end: End = None,
    days: Days = 30,
    min_views: Annotated[int, Query(ge=1, le=1_000_000)] = 50,
) -> Any:
    """Product conversion against its category; underperformers first."""
    return await _call(ins.products, await _period(ins, start, end, days), min_views)


@router.get("/recommendations", response_model=list[RecommendationOut], responses=BAD)
async def get_recommendations(
    ins: InsightsDep,
    start: Start = None,
    end: End = None,
    days: Days = 30,
    lang: Annotated[Literal["en", "zh"], Query()] = "en",
) -> Any:
    """What to do next, each with its evidence and expected value."""
    return await _call(ins.recommendations, await _period(ins, start, end, days), lang)


@router.get(
    "/report",
    response_model=ReportOut,
    responses={**BAD, 200: {"content": {"text/html": {}}}},
)
async def get_report(
    ins: InsightsDep,
    start: Start = None,
    end: End = None,
    days: Days = 30,
    lang: Annotated[Literal["en", "zh"], Query()] = "en",
    format: Annotated[Literal["json", "html"], Query()] = "json",
) -> Any:
    """The growth report: its JSON, or with ``format=html`` the self-contained page."""
    from shopmind.insights.report import build_report, render_html

    period = await _period(ins, start, end, days)
    data = await _call(build_report, ins, period, lang)
    if format == "json":
        return data
    return HTMLResponse(await run_in_threadpool(render_html, data))


@router.post(
    "/experiments",
    response_model=ExperimentOut,
    responses={**BAD, 413: {"model": ErrorResponse}},
)
async def post_experiment(
    settings: SettingsDep,
    file: Annotated[UploadFile, File(description="CSV, one row per subject.")],
    arm_column: Annotated[str, Form(max_length=200)],
    metric: Annotated[str, Form(max_length=200)],
    control: Annotated[str | None, Form(max_length=200)] = None,
    covariate: Annotated[str | None, Form(max_length=200)] = None,
    order_column: Annotated[str | None, Form(max_length=200)] = None,
    alpha: Annotated[float, Form(ge=0.0001, le=0.5)] = 0.05,
) -> Any:
    """Analyse an uploaded experiment: arms, comparisons, SRM, CUPED, sequential."""
    from shopmind.insights.experiments import ExperimentInputError, analyze_file

    limit = settings.upload_max_mb * 1024 * 1024
    fd, path = tempfile.mkstemp(suffix=".csv")
    try:
        size = 0
        with os.fdopen(fd, "wb") as out:
            while chunk := await file.read(1 << 20):
                size += len(chunk)
                if size > limit:
                    detail = f"the file is larger than {settings.upload_max_mb} MiB"
                    raise HTTPException(413, detail=detail)
                out.write(chunk)
        try:
            result = await run_in_threadpool(
                analyze_file, path, arm_column, metric, control or None, covariate or None,
                alpha=alpha, order_column=order_column or None,
            )  # fmt: skip
        except ExperimentInputError as exc:
            name = os.path.basename(file.filename or "upload.csv")
            message = str(exc).replace(path, name).replace(os.path.basename(path), name)
            raise HTTPException(status.HTTP_400_BAD_REQUEST, detail=message) from exc
        return result.to_dict()
    finally:
        os.unlink(path)
