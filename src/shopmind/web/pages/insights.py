"""Insights: the store's growth analyses, one page each — what to do next, the funnel,
acquisition, cohorts, segments, lifetime value, anomalies and demand, experiments.

Every page is the twin of a REST route (``api/routers/insights.py``) and asks the same
service (:class:`shopmind.insights.service.Insights`, one per app: the API and the pages
share its cache). Every page reads its period and options from the query — ``start`` and
``end``, or the last ``days`` days up to the store's latest data — so its address can be
shared; what the analyses refuse (:class:`InsightsError`: a bad period, step or option) is
shown on the page with 400. An uploaded experiment is analysed within the request and its
file deleted at once. The report is a job (``insights.report``) writing into the
workspace's ``reports/`` folder, from where it is downloaded.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, HTTPException, Query, Request, UploadFile
from fastapi.responses import FileResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from shopmind.api.deps import insights_service, job_runner
from shopmind.insights import acquisition as acq
from shopmind.insights import funnel as fun
from shopmind.insights.common import Period
from shopmind.insights.engine import InsightsError
from shopmind.insights.segments import EXPORT_COLUMNS
from shopmind.jobs import JobError, recent_jobs
from shopmind.jobs.runner import reports_dir
from shopmind.safety.spreadsheet import is_formula
from shopmind.store import jobs as jobstore
from shopmind.web import i18n
from shopmind.web import insights_charts as ic
from shopmind.web.app import render, request_locale
from shopmind.web.auth import AdminDep, AdminFormDep, FormDep, ViewerDep
from shopmind.web.pages.imports import display_name, save_upload

router = APIRouter()
N_ = i18n.N_
TABS = (
    ("/insights", N_("What to do next")),
    ("/insights/funnel", N_("Funnel")),
    ("/insights/acquisition", N_("Acquisition")),
    ("/insights/cohorts", N_("Cohorts")),
    ("/insights/segments", N_("Segments")),
    ("/insights/clv", N_("Lifetime value")),
    ("/insights/anomalies", N_("Trends and demand")),
    ("/insights/experiments", N_("Experiments")),
)
PERIODS = (7, 14, 30, 90, 180, 365)
BREAKDOWNS = ("day", "week", "source_medium", "source", "medium", "campaign", "device",
              "product", "segment")  # fmt: skip
Text = Annotated[str, Query(max_length=600)]
Word = Annotated[str, Query(max_length=32)]
LANGUAGES = {"en": "English", "zh": "简体中文"}  # a report's language
REPORT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,199}\.(html|json)$")
Make = Callable[[Any, Period, str], dict[str, Any]]


# -- the period and options, as asked in the query -------------------------------------------


def _day(value: str, name: str) -> date | None:
    if not value.strip():
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise InsightsError(f"{name}: not a date (YYYY-MM-DD): {value[:20]!r}") from None


def _int(value: str, name: str, low: int, high: int, default: int | None) -> int | None:
    if not value.strip():
        return default
    if not value.strip().isdigit() or not low <= int(value) <= high:
        raise InsightsError(f"{name}: a whole number from {low} to {high}, not {value[:20]!r}")
    return int(value)


def _lang(locale: str) -> str:
    return "zh" if locale.startswith("zh") else "en"


def _page(request: Request, template: str, asked: dict[str, Any], make: Make,
          as_of: bool = False) -> Response:  # fmt: skip
    """A page of the analyses of the period ``asked`` (``start``, ``end``, ``days`` and the
    page's own options, echoed back in its form); ``make`` gathers what the page shows."""
    ins = insights_service(request)
    locale = request_locale(request, request.state.viewer)
    context = _base(locale) | {"asked": asked, "as_of": as_of, "period": None}
    try:
        days = _int(str(asked.get("days", "")), "days", 1, 3660, 30)
        start = None if as_of else _day(asked.get("start", ""), "start")
        period = ins.period(start, _day(asked.get("end", ""), "end"), 1 if as_of else days)
        context |= {"period": period} | make(ins, period, locale)
    except InsightsError as exc:
        context["error"] = str(exc)
    return render(request, template, context, status_code=400 if context["error"] else 200)


def _base(locale: str) -> dict[str, Any]:
    """What every Insights page's template uses: the tabs, the choices of the forms, and
    the formatters of intervals and changes."""
    return {"tabs": TABS, "periods": PERIODS, "breakdowns": BREAKDOWNS, "units": fun.UNITS,
            "levels": acq.LEVELS, "models": acq.MODELS, "error": "",
            "interval": lambda bounds: ic.interval(bounds, locale),
            "fmt_p": lambda p: ic.p_value(p, locale),
            "signed_percent": lambda v: _signed_percent(v, locale)}  # fmt: skip


def _signed_percent(value: float | None, locale: str) -> str:
    if value is None:
        return "—"
    return ("+" if value >= 0 else "−") + i18n.format_percent(abs(value), locale, 1)


def _asked(start: str, end: str, days: str, **options: Any) -> dict[str, Any]:
    return {"start": start, "end": end, "days": days or "30", **options}


# -- what to do next -----------------------------------------------------------------------------


def _overview(ins: Any, period: Period, locale: str) -> dict[str, Any]:
    currency = ins.currency
    recs = ins.recommendations(period, _lang(locale))
    anomalies = ins.anomalies(period)
    totals = ins.acquisition(period)
    return {
        "recs": [_rec_view(r, locale, currency) for r in recs],
        "totals": totals["totals"],
        "changes": totals["changes"] or {},
        "bands": [ic.kpi_band(anomalies, k, locale, currency) for k in ic.KPI_TITLES],
        "alerts": [_alert_view(a, locale, currency) for a in anomalies["alerts"][:10]],
        "lang": _lang(locale),
    }


def _rec_view(rec: dict[str, Any], locale: str, currency: str) -> dict[str, Any]:
    return {**rec, "kind_label": ic.rec_kind(rec, locale),
            "basis": (rec["value_basis"] or "") if rec.get("expected_value") is not None else "",
            "evidence_items": ic.evidence_items(rec, locale, currency)}  # fmt: skip


def _alert_view(alert: dict[str, Any], locale: str, currency: str) -> dict[str, Any]:
    fmt = lambda v: ic.kpi_value(alert["kpi"], v, locale, currency)  # noqa: E731
    return {**alert, "label": i18n.gettext(ic.KPI_TITLES[alert["kpi"]][0], locale),
            "day_date": date.fromisoformat(alert["day"]),
            "value_text": fmt(alert["value"]), "expected_text": fmt(alert["expected"]),
            "range_text": f"{fmt(alert['low'])} – {fmt(alert['high'])}"}  # fmt: skip


def _reports(request: Request) -> list[dict[str, Any]]:
    """The latest report jobs, with their files once written."""
    state = request.app.state
    out = []
    for job in recent_jobs(state.store, state.settings, 5, kind="insights.report"):
        done = job.status == "done" and bool(job.summary.get("html"))
        period = job.summary.get("period") or {}
        out.append({"job": job, "html": job.summary.get("html") if done else None,
                    "json": job.summary.get("json"),
                    "start": date.fromisoformat(period["start"]) if done else None,
                    "end": date.fromisoformat(period["end"]) if done else None,
                    "language": LANGUAGES.get(job.summary.get("lang"), "")})  # fmt: skip
    return out


@router.get("/insights")
def overview_page(request: Request, viewer: ViewerDep, start: Word = "", end: Word = "",
                  days: Word = "") -> Response:  # fmt: skip
    def make(ins: Any, period: Period, locale: str) -> dict[str, Any]:
        return _overview(ins, period, locale) | {"reports": _reports(request)}

    return _page(request, "insights_overview.html", _asked(start, end, days), make)


@router.post("/insights/report")
def start_report(
    request: Request,
    viewer: FormDep,
    start: Annotated[str, Form(max_length=10)] = "",
    end: Annotated[str, Form(max_length=10)] = "",
    lang: Annotated[str, Form(max_length=8)] = "en",
) -> Response:
    """The growth report of a period as a job, followed on the page that asked for it (its
    row shows the job's stage, and the download links once it is done)."""
    params = {"start": start, "end": end, "lang": lang}
    try:
        job_runner(request).submit("insights.report", params, created_by=viewer.email)
    except (JobError, jobstore.JobConflict) as exc:
        status = 409 if isinstance(exc, jobstore.JobConflict) else 422
        raise HTTPException(status, detail=str(exc)) from None
    back = urlencode({k: v for k, v in (("start", start), ("end", end)) if v})
    return RedirectResponse(f"/insights?{back}#report", status_code=303)


@router.get("/insights/reports/{name}")
def download_report(request: Request, viewer: ViewerDep, name: str) -> Response:
    """A report the job wrote (only files of the workspace's ``reports/`` folder)."""
    folder = reports_dir(request.app.state.settings).resolve()
    path = (folder / name).resolve()
    if not REPORT_NAME.match(name) or path.parent != folder or not path.is_file():
        raise HTTPException(404, detail="no such report")
    media = "text/html" if name.endswith(".html") else "application/json"
    return FileResponse(path, media_type=media, filename=name)


# -- the funnel and acquisition ------------------------------------------------------------------


@router.get("/insights/funnel")
def funnel_page(request: Request, viewer: ViewerDep, start: Word = "", end: Word = "",
                days: Word = "", steps: Text = "", by: Word = "", unit: Word = "session",
                window: Word = "") -> Response:  # fmt: skip
    asked = _asked(start, end, days, steps=steps, by=by, unit=unit, window=window)

    def make(ins: Any, period: Period, locale: str) -> dict[str, Any]:
        minutes = _int(window, "window", 1, 90 * 24 * 60, None)
        found = ins.funnel(period, steps=steps.strip() or None, by=by or None, unit=unit,
                           window_minutes=minutes)  # fmt: skip
        groups = [g | {"label": ic.group_label(found, g, locale)} for g in found["groups"]]
        return {
            "funnel": found,
            "groups": groups,
            "chart": ic.funnel_steps(found, locale),
            "by_chart": ic.funnel_groups(found, locale) if groups else None,
            "step_labels": [ic.step_label(s["name"], locale) for s in found["steps"]],
        }

    return _page(request, "insights_funnel.html", asked, make)


@router.get("/insights/acquisition")
def acquisition_page(request: Request, viewer: ViewerDep, start: Word = "", end: Word = "",
                     days: Word = "", level: Word = "source_medium", model: Word = "last_touch",
                     lookback: Word = "") -> Response:  # fmt: skip
    asked = _asked(start, end, days, level=level, model=model, lookback=lookback)

    def make(ins: Any, period: Period, locale: str) -> dict[str, Any]:
        back = _int(lookback, "lookback", 1, 90, acq.LOOKBACK_DAYS)
        found = ins.acquisition(period, level=level, model=model, lookback_days=back)
        return {
            "acq": found,
            "lookback_days": back,
            "changes": found["changes"] or {},
            "conversion_chart": ic.channel_conversion(found, locale, width=360),
            "revenue_chart": ic.channel_revenue(found, locale, ins.currency, width=360),
        }

    return _page(request, "insights_acquisition.html", asked, make)


# -- customers: cohorts, segments, lifetime value -------------------------------------------------


@router.get("/insights/cohorts")
def cohorts_page(request: Request, viewer: ViewerDep, end: Word = "",
                 months: Word = "") -> Response:  # fmt: skip
    def make(ins: Any, period: Period, locale: str) -> dict[str, Any]:
        found = ins.cohorts(period.end, _int(months, "months", 1, 60, 12))
        return {"cohorts": found, "rows": ic.retention_rows(found, locale),
                "chart": ic.average_retention(found, locale)}  # fmt: skip

    return _page(request, "insights_cohorts.html", _asked("", end, "", months=months), make,
                 as_of=True)  # fmt: skip


@router.get("/insights/segments")
def segments_page(request: Request, viewer: ViewerDep, end: Word = "") -> Response:
    def make(ins: Any, period: Period, locale: str) -> dict[str, Any]:
        found = ins.segments(period.end)
        rows = [s | {"label": i18n.gettext(ic.segment_label(s["segment"]), locale),
                     "about": ic.segment_description(s["segment"], locale)}
                for s in found["segments"]]  # fmt: skip
        return {"segments": found, "rows": rows, "chart": ic.segment_sizes(found, locale)}

    return _page(request, "insights_segments.html", _asked("", end, ""), make, as_of=True)


@router.get("/insights/segments/customers.csv")
def segment_csv(request: Request, viewer: AdminDep, segment: Word = "",
                end: Word = "") -> Response:  # fmt: skip
    """A segment's customers with their contacts, for the merchant's own campaigns: admins
    only. Cells a spreadsheet would run as a formula are written as text."""
    ins = insights_service(request)
    try:
        as_of = ins.period(None, _day(end, "end"), 1).end
        rows = ins.segment_customers(as_of, segment or None)
    except InsightsError as exc:
        raise HTTPException(400, detail=str(exc)) from None
    out = io.StringIO()
    out.write("\ufeff")  # a byte-order mark: spreadsheets then read the text as UTF-8
    writer = csv.writer(out)
    writer.writerow(EXPORT_COLUMNS)
    for row in rows:
        writer.writerow([safe_cell(row.get(c)) for c in EXPORT_COLUMNS])
    name = f"customers-{segment or 'all'}-{as_of.isoformat()}.csv"
    return Response(out.getvalue(), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})  # fmt: skip


def safe_cell(value: Any) -> Any:
    """A CSV cell no spreadsheet runs as a formula: what :func:`is_formula` flags gets a
    leading apostrophe, and here any text starting with a sign too (a contact list holds no
    signed numbers as text); None is empty."""
    if value is None:
        return ""
    if isinstance(value, str) and (is_formula(value) or value[:1] in ("+", "-")):
        return "'" + value
    return value


@router.get("/insights/clv")
def clv_page(request: Request, viewer: ViewerDep, end: Word = "", months: Word = "") -> Response:
    def make(ins: Any, period: Period, locale: str) -> dict[str, Any]:
        horizon = _int(months, "months", 1, 120, 12)
        try:
            found = ins.clv(period.end, horizon)
        except InsightsError as exc:  # too little history: said on the page, not an error
            return {"clv": None, "unavailable": str(exc)}
        return {"clv": found, "chart": ic.prob_alive(found, locale, width=480)}

    return _page(request, "insights_clv.html", _asked("", end, "", months=months), make,
                 as_of=True)  # fmt: skip


# -- trends and demand ----------------------------------------------------------------------------


@router.get("/insights/anomalies")
def anomalies_page(request: Request, viewer: ViewerDep, start: Word = "", end: Word = "",
                   days: Word = "") -> Response:  # fmt: skip
    def make(ins: Any, period: Period, locale: str) -> dict[str, Any]:
        found, demand = ins.anomalies(period), ins.demand(period)
        currency = ins.currency
        searches = ic.top_searches(demand, locale, width=480) if demand["top_terms"] else None
        return {
            "anomalies": found,
            "demand": demand,
            "bands": [ic.kpi_band(found, k, locale, currency) for k in ic.KPI_TITLES],
            "alerts": [_alert_view(a, locale, currency) for a in found["alerts"]],
            "searches": searches,
        }

    return _page(request, "insights_anomalies.html", _asked(start, end, days), make)


# -- experiments ----------------------------------------------------------------------------------


def _upload_mb(request: Request) -> int:
    """The largest experiment file: the app lets this path take ``upload_max_mb``."""
    return request.app.state.settings.upload_max_mb


def _experiments(request: Request, form: dict[str, Any], result: Any = None, error: str = "",
                 status_code: int = 200) -> Response:  # fmt: skip
    locale = request_locale(request, request.state.viewer)
    view = experiment_view(result, locale) if result is not None else None
    context = _base(locale) | {"form": form, "result": view, "error": error,
                               "max_mb": _upload_mb(request)}  # fmt: skip
    return render(request, "insights_experiments.html", context, status_code=status_code)


@router.get("/insights/experiments")
def experiments_page(request: Request, viewer: ViewerDep) -> Response:
    return _experiments(request, {"alpha": "0.05"})


@router.post("/insights/experiments")
async def analyze_experiment(
    request: Request,
    viewer: AdminFormDep,
    file: UploadFile,
    arm_column: Annotated[str, Form(max_length=200)] = "",
    metric: Annotated[str, Form(max_length=200)] = "",
    control: Annotated[str, Form(max_length=200)] = "",
    covariate: Annotated[str, Form(max_length=200)] = "",
    order_column: Annotated[str, Form(max_length=200)] = "",
    alpha: Annotated[str, Form(max_length=8)] = "0.05",
) -> Response:
    """Analyse an uploaded experiment (one row per subject); the file is deleted after."""
    from shopmind.insights.experiments import ExperimentInputError, analyze_file

    form = {"arm_column": arm_column, "metric": metric, "control": control,
            "covariate": covariate, "order_column": order_column, "alpha": alpha}  # fmt: skip
    if not arm_column.strip() or not metric.strip():
        error = "name the arm column and the metric"
        return _experiments(request, form, error=error, status_code=400)
    if alpha not in ("0.01", "0.05", "0.1"):
        return _experiments(request, form, error="alpha: 0.01, 0.05 or 0.1", status_code=400)
    path = await save_upload(request, file)
    try:
        result = await run_in_threadpool(
            analyze_file, path, arm_column.strip(), metric.strip(), control.strip() or None,
            covariate.strip() or None, alpha=float(alpha),
            order_column=order_column.strip() or None,
        )  # fmt: skip
    except ExperimentInputError as exc:
        message = str(exc).replace(str(path), display_name(path))
        return _experiments(request, form, error=message, status_code=400)
    finally:
        path.unlink(missing_ok=True)
    form["file_name"] = display_name(path)
    return _experiments(request, form, result=result.to_dict())


def experiment_view(result: dict[str, Any], locale: str) -> dict[str, Any]:
    """An experiment's result with every number as the page shows it."""
    fmt = _ExperimentFormat(result["kind"] == "binary", locale)
    srm = result["srm"]
    arms = [
        a | {"mean_text": fmt.level(a["mean"]), "std_text": fmt.number(a["std"]),
             "expected_n": srm["expected"].get(a["arm"])}
        for a in result["arms"]
    ]  # fmt: skip
    out = {**result, "arms": arms, "binary": fmt.binary,
           "comparisons": [fmt.compared(c) for c in result["comparisons"]],
           "srm_p": ic.p_value(srm["p_value"], locale)}  # fmt: skip
    for part in ("cuped", "sequential"):
        if result.get(part):
            found = result[part]
            out[part] = found | {"comparisons": [fmt.compared(c) for c in found["comparisons"]]}
    return out


@dataclass(frozen=True)
class _ExperimentFormat:
    """Numbers of an experiment: rates in percent and differences in points for a
    conversion metric, plain numbers for an amount."""

    binary: bool
    locale: str

    def number(self, v: float | None, digits: int = 3) -> str:
        return "—" if v is None else i18n.format_number(v, self.locale, digits)

    def level(self, v: float | None) -> str:
        if v is None or not self.binary:
            return self.number(v)
        return i18n.format_percent(v, self.locale, 2)

    def signed(self, v: float | None) -> str:
        """A difference with its sign: in percentage points for a conversion."""
        if v is None:
            return "—"
        size = abs(v) * 100 if self.binary else abs(v)
        return ("+" if v >= 0 else "−") + i18n.format_number(
            size, self.locale, 2 if self.binary else 3
        )

    def points(self, text: str) -> str:
        if not self.binary:
            return text
        return i18n.gettext("%(value)s points", self.locale) % {"value": text}

    def diff(self, v: float | None) -> str:
        return "—" if v is None else self.points(self.signed(v))

    def compared(self, c: dict[str, Any]) -> dict[str, Any]:
        lift, beat = c.get("relative_lift"), c.get("prob_beat_control")
        return {
            **c,
            "diff_text": self.diff(c["diff"]),
            "ci_text": self.points(
                f"{self.signed(c.get('ci_low'))} … {self.signed(c.get('ci_high'))}"
            ),
            "p_text": ic.p_value(c.get("p_value"), self.locale),
            "p_holm_text": ic.p_value(c.get("p_value_holm"), self.locale),
            "lift_text": _signed_percent(lift, self.locale),
            "beat_text": "—" if beat is None else _chance(beat, self.locale),
        }


def _chance(p: float, locale: str) -> str:
    """A probability, never written as a certainty."""
    if p > 0.999:
        return "> " + i18n.format_percent(0.999, locale, 1)
    if p < 0.001:
        return "< " + i18n.format_percent(0.001, locale, 1)
    return i18n.format_percent(p, locale, 1)
