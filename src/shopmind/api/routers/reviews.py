"""Review intelligence: score texts, read a product's review insights."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Request, status
from pydantic import BaseModel, Field

from shopmind.api.deps import SettingsDep, StoreDep
from shopmind.api.schemas import ErrorResponse
from shopmind.api.throttle import check_text_budget, model_work, rate_cost
from shopmind.api.validation import ProductKeyPath
from shopmind.models.registry import ArtifactCache
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
MAX_CHARS = 20_000  # per text; all texts together: Settings.score_max_chars
SCORE_COST = 10  # rate-limit tokens per scoring request (other routes cost 1)


class ScoreRequest(BaseModel):
    texts: list[Annotated[str, Field(max_length=MAX_CHARS)]] = Field(
        min_length=1, max_length=MAX_TEXTS, description="Review texts (any language)."
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
        413: {"model": ErrorResponse, "description": "More characters than score_max_chars"},
        503: {"model": ErrorResponse, "description": "Every model slot busy (Retry-After)"},
    },
    openapi_extra=rate_cost(SCORE_COST),
)
def score(body: ScoreRequest, request: Request, settings: SettingsDep) -> ScoreResponse:
    check_text_budget(body.texts, settings.score_max_chars, "score_max_chars")
    with model_work(request):
        try:
            served = _model(request, settings, body.model)
        except ReviewsError as exc:
            raise HTTPException(status.HTTP_409_CONFLICT, detail=str(exc)) from exc
        if "review_aspects" not in request.app.state.__dict__:
            try:
                request.app.state.review_aspects = aspect_config(settings.workspace)
            except ReviewsError as exc:
                raise HTTPException(status.HTTP_409_CONFLICT, detail=str(exc)) from exc
        aspects = request.app.state.review_aspects
        results = score_texts(served.model, body.texts, with_aspects=body.aspects, aspects=aspects)
    return ScoreResponse(
        model=served.model.name, version=served.version, results=[ScoreOut(**r) for r in results]
    )


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
