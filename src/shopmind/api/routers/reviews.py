"""Review intelligence: score texts, read a product's review insights."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Request, status
from pydantic import BaseModel, Field

from shopmind.api.deps import SettingsDep, StoreDep
from shopmind.reviews.base import SentimentModel
from shopmind.reviews.service import (
    ReviewsError,
    aspect_config,
    best_model,
    insights,
    load_model,
    score_texts,
)

router = APIRouter(tags=["reviews"])

MAX_TEXTS = 256
MAX_CHARS = 20_000


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


def _model(request: Request, settings: SettingsDep, tier: str | None) -> SentimentModel:
    """Models are loaded once per process and tier, then reused."""
    cache: dict[str | None, SentimentModel] = request.app.state.__dict__.setdefault(
        "review_models", {}
    )
    if tier not in cache:
        models = settings.models_dir
        cache[tier] = best_model(models) if tier is None else load_model(models, tier)
    return cache[tier]


@router.post(
    "/reviews/score", response_model=ScoreResponse, summary="Sentiment and aspects of texts"
)
def score(body: ScoreRequest, request: Request, settings: SettingsDep) -> ScoreResponse:
    try:
        model = _model(request, settings, body.model)
    except ReviewsError as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, detail=str(exc)) from exc
    if "review_aspects" not in request.app.state.__dict__:
        try:
            request.app.state.review_aspects = aspect_config(settings.workspace)
        except ReviewsError as exc:
            raise HTTPException(status.HTTP_409_CONFLICT, detail=str(exc)) from exc
    aspects = request.app.state.review_aspects
    results = score_texts(model, body.texts, with_aspects=body.aspects, aspects=aspects)
    return ScoreResponse(model=model.name, results=[ScoreOut(**r) for r in results])


@router.get(
    "/products/{product}/review-insights",
    response_model=InsightsResponse,
    summary="A product's review insights (by id or external id)",
)
def review_insights(product: str, store: StoreDep) -> InsightsResponse:
    try:
        data = insights(store, product)
    except ReviewsError as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=str(exc)) from exc
    return InsightsResponse(**data)
