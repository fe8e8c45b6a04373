"""Overview: the store's figures for a period against the one before, from the daily
aggregates the write path keeps (never a scan of the events)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import RedirectResponse, Response

from shopmind.api.deps import job_runner
from shopmind.jobs import JobError
from shopmind.store import daily
from shopmind.store import jobs as jobstore
from shopmind.web import charts, i18n
from shopmind.web.app import render, request_locale
from shopmind.web.auth import AdminFormDep, ViewerDep

router = APIRouter()
PERIODS = (7, 28, 90, 365)


def period(end: date | None, days: int, last: date | None) -> tuple[date, date]:
    """The ``days`` days ending ``end`` — by default the last day the store has data for
    (an imported store's figures stop at its last export, not at today)."""
    finish = end or last or date.today()
    return finish - timedelta(days=days - 1), finish


@router.get("/")
def overview_page(
    request: Request,
    viewer: ViewerDep,
    days: Annotated[int, Query(ge=1, le=3660)] = 28,
    end: Annotated[date | None, Query()] = None,
) -> Response:
    store = request.app.state.store
    settings = request.app.state.settings
    locale = request_locale(request, viewer)
    start, finish = period(end, days, daily.last_day(store))
    figures = daily.overview(store, start, finish)
    series = daily.daily_series(store, start, finish)
    sources = daily.by_source(store, start, finish)[:12]
    products = daily.top_products(store, start, finish, n=10)
    currency = settings.currency
    _ = i18n.translations(locale).gettext
    trend = charts.daily_chart(
        [d.day for d in series],
        charts.Series(_("Revenue"), [d.revenue for d in series], "currency", currency),
        charts.Series(_("Sessions"), [d.sessions for d in series], "count"),
        title=_("Revenue and sessions per day"),
        locale=locale,
    )
    conversion = charts.bar_chart(
        [f"{s.source or '(direct)'} / {s.medium or '(none)'}" for s in sources],
        charts.Series(_("Conversion rate"), [s.conversion_rate for s in sources], "percent"),
        title=_("Conversion by traffic source / medium"),
        category_title=_("Source / medium"),
        locale=locale,
        width=360,
    )
    return render(
        request,
        "overview.html",
        {
            "figures": figures,
            "trend": trend,
            "conversion": conversion,
            "sources": sources,
            "products": products,
            "days": days,
            "periods": PERIODS,
            "end": finish,
            "currency": currency,
            "needs_rebuild": daily.needs_rebuild(store),
        },
    )


@router.post("/overview/rebuild")
def rebuild(request: Request, viewer: AdminFormDep) -> Response:
    """Recount the daily figures of a store filled before they were kept (a job)."""
    try:
        job_id = job_runner(request).submit("store.rebuild-aggregates", {}, viewer.email)
    except (JobError, jobstore.JobConflict) as exc:
        raise HTTPException(409, detail=str(exc)) from None
    return RedirectResponse(f"/jobs/{job_id}", status_code=303)
