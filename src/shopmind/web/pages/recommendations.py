"""Recommendations: the trained models with their offline metrics, training jobs, the
serving rules, and a preview for any shopper, session or product with the reasons."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Form, HTTPException, Query, Request
from fastapi.responses import RedirectResponse, Response

from shopmind.api.deps import job_runner
from shopmind.api.routers.recommendations import service
from shopmind.jobs import JobError, recent_jobs
from shopmind.jobs.kinds import RECOMMENDERS
from shopmind.models.listing import list_models
from shopmind.models.registry import RegistryError
from shopmind.recommend import Filters, RecommendError
from shopmind.recommend.train import registry
from shopmind.store import jobs as jobstore
from shopmind.store.placements import placement_stats
from shopmind.store.publishable import (
    PublishableKeyError,
    create_publishable_key,
    list_publishable_keys,
    revoke_publishable_key,
)
from shopmind.web.app import render
from shopmind.web.auth import AdminFormDep, ViewerDep

router = APIRouter()
Short = Annotated[str, Query(max_length=255, pattern=r"^[^\x00-\x1f\x7f]*$")]
MODES = ("user", "session", "similar", "together")


def _preview(request: Request, mode: str, ref: str, n: int, in_stock: bool) -> dict[str, Any]:
    settings, store = request.app.state.settings, request.app.state.store
    svc = service(request, settings, store)
    rules = Filters(in_stock_only=in_stock)
    if mode == "user":
        return svc.for_user(ref, n, rules)
    if mode == "session":
        return svc.for_session([x for x in ref.replace(",", " ").split() if x], n, rules)
    if mode == "together":
        return svc.bought_together(ref, n, rules)
    return svc.similar(ref, n, rules)


def _page(request: Request, context: dict[str, Any], status_code: int = 200) -> Response:
    settings, store = request.app.state.settings, request.app.state.store
    models = [m for m in list_models(settings.models_dir) if m.name.startswith("recommend/")]
    jobs = [j for j in recent_jobs(store, settings, 20) if j.kind == "recommend.train"]
    serving = settings.recommend_model
    if serving == "auto":
        serving = f"auto → {service(request, settings, store).choose()}"
    since = datetime.now(UTC).replace(tzinfo=None) - timedelta(days=30)  # events are naive UTC
    base = {
        "models": models, "jobs": jobs[:5], "recommenders": RECOMMENDERS, "modes": MODES,
        "serving": serving, "exclude_bought": settings.recommend_exclude_bought,
        "exclude_viewed": settings.recommend_exclude_viewed, "message": "", "error": "",
        "mode": "user", "ref": "", "n": 10, "in_stock": False, "result": None,
        "keys": list_publishable_keys(store), "placements": placement_stats(store, since=since),
        "server": str(request.base_url).rstrip("/"), "new_key": None,
    }  # fmt: skip
    return render(request, "recommendations.html", base | context, status_code=status_code)


@router.get("/recommendations")
def recommendations_page(
    request: Request,
    viewer: ViewerDep,
    mode: Annotated[str, Query(max_length=16)] = "user",
    ref: Short = "",
    n: Annotated[int, Query(ge=1, le=50)] = 10,
    in_stock: bool = False,
) -> Response:
    if mode not in MODES:
        raise HTTPException(422, detail=f"mode: one of {', '.join(MODES)}")
    context: dict[str, Any] = {"mode": mode, "ref": ref, "n": n, "in_stock": in_stock}
    if ref.strip():
        try:
            context["result"] = _preview(request, mode, ref.strip(), n, in_stock)
        except RecommendError as exc:
            return _page(request, context | {"error": str(exc)}, status_code=404)
    return _page(request, context)


@router.post("/recommendations/train")
def train(
    request: Request,
    viewer: AdminFormDep,
    model: Annotated[str, Form(max_length=16)] = "sasrec",
    time_budget_s: Annotated[float | None, Form(ge=1, le=7 * 24 * 3600)] = None,
) -> Response:
    params: dict[str, Any] = {"model": model}
    if time_budget_s and model == "sasrec":
        params["time_budget_s"] = time_budget_s
    try:
        job_id = job_runner(request).submit("recommend.train", params, created_by=viewer.email)
    except (JobError, jobstore.JobConflict) as exc:
        return _page(request, {"error": str(exc)}, status_code=409)
    return RedirectResponse(f"/jobs/{job_id}", status_code=303)


@router.post("/recommendations/rollback")
def rollback(
    request: Request,
    viewer: AdminFormDep,
    name: Annotated[str, Form(max_length=64)] = "",
    to: Annotated[str, Form(max_length=32)] = "",
) -> Response:
    allowed = {f"recommend/{m}" for m in (*RECOMMENDERS, "bought-together")}
    if name not in allowed:
        raise HTTPException(422, detail=f"name: not a recommendation model: {name!r}")
    models_dir = request.app.state.settings.models_dir
    try:
        version = registry(models_dir, name.removeprefix("recommend/")).rollback(to or None)
    except RegistryError as exc:
        return _page(request, {"error": str(exc)}, status_code=409)
    return _page(request, {"message": f"{name} → {version.id}"})


@router.post("/recommendations/keys")
def create_key(
    request: Request,
    viewer: AdminFormDep,
    name: Annotated[str, Form(max_length=255)] = "",
    origins: Annotated[str, Form(max_length=4000)] = "",
) -> Response:
    try:
        info = create_publishable_key(request.app.state.store, name, origins.split())
    except PublishableKeyError as exc:
        return _page(request, {"error": str(exc)}, status_code=422)
    return _page(request, {"new_key": info})


@router.post("/recommendations/keys/{key_id}/revoke")
def revoke_key(request: Request, viewer: AdminFormDep, key_id: int) -> Response:
    if not revoke_publishable_key(request.app.state.store, key_id):
        return _page(request, {"error": f"no live publishable key with id {key_id}"}, 404)
    return RedirectResponse("/recommendations#widget", status_code=303)
