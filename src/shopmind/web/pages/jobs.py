"""Jobs: the recent ones, one job's live progress, and its state as JSON for polling."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Request
from fastapi.responses import JSONResponse, Response

from shopmind.jobs import job_view, recent_jobs
from shopmind.store import jobs as jobstore
from shopmind.web.app import render
from shopmind.web.auth import ViewerDep

router = APIRouter()
JobId = Annotated[int, Path(ge=1, le=2**31 - 1)]


@router.get("/jobs")
def jobs_page(request: Request, viewer: ViewerDep) -> Response:
    state = request.app.state
    return render(request, "jobs.html", {"jobs": recent_jobs(state.store, state.settings, 100)})


def _job(request: Request, job_id: int) -> jobstore.JobView:
    state = request.app.state
    try:
        return job_view(state.store, state.settings, job_id)
    except jobstore.JobNotFound as exc:
        raise HTTPException(404, detail=str(exc)) from None


@router.get("/jobs/{job_id}.json")
def job_json(request: Request, viewer: ViewerDep, job_id: JobId) -> Response:
    """What the page's script polls while the job runs (declared before the page route)."""
    return JSONResponse(_job(request, job_id).to_dict(), headers={"Cache-Control": "no-store"})


@router.get("/jobs/{job_id}")
def job_page(request: Request, viewer: ViewerDep, job_id: JobId) -> Response:
    return render(request, "job.html", {"job": _job(request, job_id)})
