"""Reviews: sentiment over time, products with alerts, model versions, train and score."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import RedirectResponse, Response

from shopmind.api.deps import job_runner
from shopmind.jobs import JobError, recent_jobs
from shopmind.models.listing import list_models
from shopmind.models.registry import RegistryError
from shopmind.reviews.service import open_registry
from shopmind.store import jobs as jobstore
from shopmind.store.catalog import product_detail
from shopmind.store.reviews import (
    most_negative_products,
    product_insights,
    sentiment_by_month,
)
from shopmind.web import charts
from shopmind.web.app import render, request_locale
from shopmind.web.auth import AdminFormDep, ViewerDep

router = APIRouter()
TIERS = ("linear", "transformer")


def _page(request: Request, message: str = "", error: str = "", status_code: int = 200) -> Response:
    store = request.app.state.store
    settings = request.app.state.settings
    viewer = request.state.viewer
    locale = request_locale(request, viewer)
    months = sentiment_by_month(store)
    flagged = []
    for product_id in most_negative_products(store, limit=10):
        ins = product_insights(store, product_id)
        info = product_detail(store, product_id)
        alert = (ins or {}).get("alert") or {}
        worrying = ins and (ins.get("negative_share", 0) > 0 or alert.get("active"))
        if worrying and info:
            flagged.append({"id": product_id, "title": info["title"], "insights": ins})
    models = [m for m in list_models(settings.models_dir) if m.name.startswith("reviews/")]
    recent = recent_jobs(store, settings, 20)
    active = [j for j in recent if j.kind.startswith("reviews.")]
    return render(
        request,
        "reviews.html",
        {
            "trend": charts.sentiment_share_by_month(months, locale=locale) if months else None,
            "flagged": flagged,
            "models": models,
            "jobs": active[:5],
            "tiers": TIERS,
            "message": message,
            "error": error,
        },
        status_code=status_code,
    )


@router.get("/reviews")
def reviews_page(request: Request, viewer: ViewerDep) -> Response:
    return _page(request)


def _start(request: Request, viewer: AdminFormDep, kind: str, params: dict) -> Response:
    try:
        job_id = job_runner(request).submit(kind, params, created_by=viewer.email)
    except (JobError, jobstore.JobConflict) as exc:
        return _page(request, error=str(exc), status_code=409)
    return RedirectResponse(f"/jobs/{job_id}", status_code=303)


@router.post("/reviews/train")
def train(
    request: Request, viewer: AdminFormDep, tier: Annotated[str, Form(max_length=16)] = "linear"
) -> Response:
    return _start(request, viewer, "reviews.train", {"tier": tier})


@router.post("/reviews/analyze")
def analyze(request: Request, viewer: AdminFormDep) -> Response:
    return _start(request, viewer, "reviews.analyze", {})


@router.post("/reviews/rollback")
def rollback(
    request: Request,
    viewer: AdminFormDep,
    name: Annotated[str, Form(max_length=64)] = "",
    to: Annotated[str, Form(max_length=32)] = "",
) -> Response:
    if name not in {f"reviews/{t}" for t in TIERS}:
        raise HTTPException(422, detail=f"name: not a review model: {name!r}")
    try:
        version = open_registry(request.app.state.settings.models_dir, name).rollback(to or None)
    except RegistryError as exc:
        return _page(request, error=str(exc), status_code=409)
    return _page(request, message=f"{name} → {version.id}")
