"""Review intelligence: score texts, read a product's review insights."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Request, status
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from shopmind.api.deps import SettingsDep, StoreDep
from shopmind.api.schemas import ErrorResponse
from shopmind.api.throttle import charge_units, rate_cost, work_slot
from shopmind.api.validation import ProductKeyPath
from shopmind.models.cache import ArtifactCache
from shopmind.reviews.cost import refusal, scoring_cost
from shopmind.reviews.service import (
    LoadedModel,
    ReviewsError,
    aspect_config,
    insights,
    model_cache,
    score_texts,
)

router = APIRouter(tags=["reviews"])

MAX_TEXTS = 256
MAX_CHARS = 20_000  # per text in the body; the tiers read the first 5,000 (routing.MAX_CHARS)
UNITS_PER_TOKEN = 1000  # rate limit: 1 token per request, 1 more per this many cost units


class ScoreRequest(BaseModel):
    texts: list[Annotated[str, Field(max_length=MAX_CHARS)]] = Field(
        min_length=1,
        max_length=MAX_TEXTS,
        description="Review texts (any language). Each is read up to its first 5,000 "
        "characters (a longer one is marked truncated); all together may cost at most "
        "score_max_cost units.",
    )
    model: Literal["lexicon", "linear", "transformer"] | None = Field(
        default=None, description="Tier to use; default: the best one trained."
    )
    aspects: bool = Field(default=True, description="Also find aspects per sentence.")


class AspectOut(BaseModel):
    aspect: str
    polarity: str
    sentence: str


class ScoreOut(BaseModel):
    label: Literal["negative", "neutral", "positive"]
    score: float = Field(description="Probability of the label.")
    probs: dict[str, float]
    language: str
    truncated: bool
    notes: list[str]
    aspects: list[AspectOut]


class ScoreResponse(BaseModel):
    model: str
    version: str | None = Field(
        description="Registry version of the model that scored (v0003); 'legacy' for a model "
        "in the old layout; null for the lexicon when it was never trained."
    )
    results: list[ScoreOut]


class InsightsResponse(BaseModel):
    product_id: int
    external_id: str
    model: str = Field(description="Tier that scored the reviews.")
    reviews: int
    negative_share: float
    counts: dict[str, int]
    shares: dict[str, float]
    average_rating: float | None
    trend: list[dict[str, Any]] = Field(description="Per month: reviews, counts, shares.")
    aspects: dict[str, dict[str, Any]] = Field(
        description="Per aspect: mentions, polarity counts, net score, pros and cons quotes."
    )
    alert: dict[str, Any] = Field(
        description="active, status, reason (when active), note, recent, history, normal_range."
    )
    computed_at: Any


def _model(request: Request, settings: SettingsDep, tier: str | None) -> LoadedModel:
    """Models are loaded once per process and tier, and reloaded when a training publishes
    a new version (a stat of the version pointers per request; the old model serves
    until the new one has loaded, and keeps serving if that load fails)."""
    state = request.app.state.__dict__
    caches: dict[str | None, ArtifactCache[LoadedModel]] = state.setdefault("review_models", {})
    if tier not in caches:
        caches.setdefault(tier, model_cache(settings.models_dir, tier))
    return caches[tier].get()


@router.post(
    "/reviews/score",
    response_model=ScoreResponse,
    summary="Sentiment and aspects of texts",
    responses={
        409: {
            "model": ErrorResponse,
            "description": "The model asked for is not trained, or its version does not load",
        },
        413: {"model": ErrorResponse, "description": "Costs more than score_max_cost units"},
        503: {"model": ErrorResponse, "description": "Every model slot busy (Retry-After)"},
    },
    openapi_extra=rate_cost(1, per_units=UNITS_PER_TOKEN),
)
async def score(body: ScoreRequest, request: Request, settings: SettingsDep) -> ScoreResponse:
    """Cost first (the rate limit's tokens for it, then 413 over ``score_max_cost``), then
    a model slot, waited for in the event loop; the model runs in the thread pool only
    once it holds one. A request over the budget pays the budget's tokens: counting its
    cost took work, and a refusal must not be free to repeat."""
    aspects = await run_in_threadpool(_aspects, request, settings)
    budget = settings.score_max_cost
    counted = aspects if body.aspects else None
    cost = await run_in_threadpool(scoring_cost, body.texts, counted, budget)
    charge_units(request, min(cost.units, budget))
    if cost.units > budget:
        detail = refusal(cost, budget, "score_max_cost")
        raise HTTPException(status.HTTP_413_CONTENT_TOO_LARGE, detail=detail)
    async with work_slot(request):
        return await run_in_threadpool(_score, request, settings, body, aspects)


def _score(
    request: Request, settings: SettingsDep, body: ScoreRequest, aspects: Any
) -> ScoreResponse:
    """The model work of ``score`` (in the thread pool, holding a model slot)."""
    try:
        served = _model(request, settings, body.model)
    except ReviewsError as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, detail=str(exc)) from exc
    results = score_texts(served.model, body.texts, with_aspects=body.aspects, aspects=aspects)
    return ScoreResponse(
        model=served.model.name, version=served.version, results=[ScoreOut(**r) for r in results]
    )


def _aspects(request: Request, settings: SettingsDep) -> Any:
    """The workspace's aspect list, read once per process (409 when aspects.toml is wrong)."""
    if "review_aspects" not in request.app.state.__dict__:
        try:
            request.app.state.review_aspects = aspect_config(settings.workspace)
        except ReviewsError as exc:
            raise HTTPException(status.HTTP_409_CONFLICT, detail=str(exc)) from exc
    return request.app.state.review_aspects


@router.get(
    "/products/{product}/review-insights",
    response_model=InsightsResponse,
    summary="A product's review insights (by id or external id)",
    responses={404: {"model": ErrorResponse, "description": "No such product, or not analysed"}},
)
def review_insights(product: ProductKeyPath, store: StoreDep) -> InsightsResponse:
    try:
        data = insights(store, product)
    except ReviewsError as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=str(exc)) from exc
    return InsightsResponse(**data)
