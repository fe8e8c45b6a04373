"""Background jobs over REST: start one, follow its progress, list the recent ones.

The dashboard's pages and these routes show the same rows (``shopmind.store.jobs``).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Query, Request, status
from pydantic import BaseModel, Field

from shopmind.api.deps import ApiKeyDep, SettingsDep, StoreDep, job_runner
from shopmind.jobs import KINDS, JobError, job_view, recent_jobs
from shopmind.store import jobs as jobstore
from shopmind.store.apikeys import key_prefix

router = APIRouter(tags=["jobs"])


class JobOut(BaseModel):
    id: int
    kind: str = Field(description="import, reviews.train, reviews.analyze, …")
    params: dict[str, Any]
    status: str = Field(description="queued | running | done | failed | interrupted")
    progress_done: int = Field(description="Work done so far (rows, steps, reviews).")
    progress_total: int | None = Field(description="Work in all, where known.")
    fraction: float | None = Field(description="progress_done / progress_total (0–1).")
    stage: str = Field(description="The step it is at.")
    summary: dict[str, Any] = Field(description="What it did, once done.")
    error: str | None = Field(description="Why it failed or was interrupted.")
    created_by: str
    created_at: str
    started_at: str | None
    finished_at: str | None


class JobsResponse(BaseModel):
    jobs: list[JobOut]


class JobRequest(BaseModel):
    kind: str = Field(description="One of the job kinds (GET /v1/jobs/kinds).")
    params: dict[str, Any] = Field(default_factory=dict)


class JobKindOut(BaseModel):
    name: str
    title: str


def _out(job: jobstore.JobView) -> JobOut:
    return JobOut(**job.to_dict())


@router.get("/jobs", response_model=JobsResponse, summary="Recent jobs, newest first")
def list_jobs(
    store: StoreDep,
    settings: SettingsDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    kind: Annotated[str | None, Query(max_length=64)] = None,
    job_status: Annotated[str | None, Query(alias="status", max_length=16)] = None,
) -> JobsResponse:
    jobs = recent_jobs(store, settings, limit=limit, kind=kind, status=job_status)
    return JobsResponse(jobs=[_out(j) for j in jobs])


@router.get("/jobs/kinds", response_model=list[JobKindOut], summary="The kinds of job")
def job_kinds() -> list[JobKindOut]:
    return [JobKindOut(name=k.name, title=k.title) for k in KINDS.values()]


@router.get(
    "/jobs/{job_id}",
    response_model=JobOut,
    summary="One job with its progress",
    responses={404: {"description": "No such job"}},
)
def get_job(
    job_id: Annotated[int, Path(ge=1, le=2**31 - 1)], store: StoreDep, settings: SettingsDep
) -> JobOut:
    try:
        return _out(job_view(store, settings, job_id))
    except jobstore.JobNotFound as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=str(exc)) from None


@router.post(
    "/jobs",
    response_model=JobOut,
    status_code=status.HTTP_202_ACCEPTED,
    summary="Start a job",
    responses={
        409: {"description": "A conflicting job is queued or running"},
        422: {"description": "Unknown kind or bad parameters (the message names the field)"},
    },
)
def start_job(body: JobRequest, request: Request, store: StoreDep, key: ApiKeyDep) -> JobOut:
    runner = job_runner(request)
    try:
        job_id = runner.submit(body.kind, body.params, created_by=f"api:{key_prefix(key)}")
    except JobError as exc:
        raise HTTPException(422, detail=str(exc)) from None
    except jobstore.JobConflict as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, detail=str(exc)) from None
    return _out(jobstore.get_job(store, job_id))
