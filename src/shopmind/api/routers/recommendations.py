"""Recommendations over HTTP: for a shopper, after a session, beside a product.

Every answer is ``{"model", "items": [{"item_id", "title", "score", "reason",
"reason_text"}], "fallback", "unknown"}`` — what ``shopmind recommend … --json`` prints.
The rules come as query parameters (or body fields for the session): ``n``,
``in_stock``, ``category`` (repeatable), ``min_price``, ``max_price``, ``per_category``.
"""

from __future__ import annotations

import threading
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from shopmind.api.deps import SettingsDep, StoreDep
from shopmind.api.schemas import ErrorResponse, InvalidRequest
from shopmind.config import Settings
from shopmind.recommend import Filters, RecommendError
from shopmind.recommend.service import NoModel, RecommendService, parse_boosts
from shopmind.store.db import Store

router = APIRouter(tags=["recommendations"])
_lock = threading.Lock()
Id = Annotated[str, Path(min_length=1, max_length=255, pattern=r"^[^\x00-\x1f\x7f]*$")]
MAX_N = 100


class Reason(BaseModel):
    """``kind``: viewed, bought, together, similar or popular; ``item`` (and its
    ``title``) the product it refers to; ``category`` for popular ones."""

    kind: str
    item: str | None = None
    title: str | None = None
    category: str | None = None


class Item(BaseModel):
    item_id: str
    title: str
    score: float
    reason: Reason
    reason_text: str


class RecommendationsResponse(BaseModel):
    """The items, best first, each with its reason; ``fallback`` says why the popular
    list was used (or is null); ``unknown`` lists ids of the request that were ignored."""

    model: str
    items: list[Item]
    fallback: str | None
    unknown: list[str]


class Rules(BaseModel):
    model_config = ConfigDict(extra="forbid")
    n: Annotated[int, Field(ge=1, le=MAX_N)] = 10
    in_stock: bool = False
    category: Annotated[list[Annotated[str, Field(max_length=512)]], Field(max_length=20)] = []
    min_price: Annotated[float | None, Field(ge=0)] = None
    max_price: Annotated[float | None, Field(ge=0)] = None
    per_category: Annotated[int | None, Field(ge=1, le=MAX_N)] = None
    pin: Annotated[list[Annotated[str, Field(max_length=255)]], Field(max_length=20)] = []
    boost: Annotated[list[Annotated[str, Field(max_length=300)]], Field(max_length=20)] = []

    def filters(self, where: str) -> Filters:
        try:
            boosts = parse_boosts(",".join(self.boost))
        except ValueError as exc:
            raise RequestValidationError(
                [{"type": "value_error", "loc": (where, "boost"), "msg": str(exc)}]
            ) from None
        try:
            return Filters(in_stock_only=self.in_stock, categories=tuple(self.category),
                           min_price=self.min_price, max_price=self.max_price,
                           max_per_category=self.per_category, pinned=tuple(self.pin),
                           boost=boosts)  # fmt: skip
        except ValueError as exc:
            raise RequestValidationError(
                [{"type": "value_error", "loc": (where, "min_price"), "msg": str(exc)}]
            ) from None


class SessionRequest(Rules):
    items: Annotated[
        list[Annotated[str, Field(min_length=1, max_length=255)]],
        Field(min_length=1, max_length=200),
    ]


RulesQuery = Annotated[Rules, Query()]
ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorResponse, "description": "An unknown product, or no trained model"},
    422: {"model": InvalidRequest, "description": "A bad parameter"},
}


def service(request: Request, settings: Settings, store: Store) -> RecommendService:
    """The app's service for the current settings (a changed setting makes a new one)."""
    key = (str(settings.models_dir), settings.recommend_model,
           settings.recommend_exclude_bought, settings.recommend_exclude_viewed,
           settings.recommend_pinned, settings.recommend_boosted)  # fmt: skip
    with _lock:
        found = getattr(request.app.state, "recommend", None)
        if found is None or found[0] != key:
            found = (key, RecommendService.from_settings(settings, store))
            request.app.state.recommend = found
        return found[1]


async def _call(call: Any) -> RecommendationsResponse:
    try:
        return RecommendationsResponse(**await run_in_threadpool(call))
    except NoModel as exc:
        raise HTTPException(404, str(exc)) from None
    except RecommendError as exc:
        raise HTTPException(404 if "unknown item" in str(exc) else 422, str(exc)) from None


@router.get(
    "/recommendations/users/{user_id}",
    summary="What a shopper is most likely to want next (their latest history)",
    responses=ERRORS,
)
async def for_user(
    user_id: Id, rules: RulesQuery, request: Request, store: StoreDep, settings: SettingsDep
) -> RecommendationsResponse:
    svc = service(request, settings, store)
    filters = rules.filters("query")
    return await _call(lambda: svc.for_user(user_id, rules.n, filters))


@router.post(
    "/recommendations/session",
    summary="What comes next after an anonymous session's items",
    responses=ERRORS,
)
async def for_session(
    body: SessionRequest, request: Request, store: StoreDep, settings: SettingsDep
) -> RecommendationsResponse:
    svc = service(request, settings, store)
    filters = body.filters("body")
    return await _call(lambda: svc.for_session(body.items, body.n, filters))


@router.get(
    "/products/{product_id}/similar",
    summary="Items like this product (the serving model's view of it)",
    responses=ERRORS,
)
async def similar(
    product_id: Id, rules: RulesQuery, request: Request, store: StoreDep, settings: SettingsDep
) -> RecommendationsResponse:
    svc = service(request, settings, store)
    filters = rules.filters("query")
    return await _call(lambda: svc.similar(product_id, rules.n, filters))


@router.get(
    "/products/{product_id}/bought-together",
    summary="Items bought in the same orders as this product",
    responses=ERRORS,
)
async def bought_together(
    product_id: Id, rules: RulesQuery, request: Request, store: StoreDep, settings: SettingsDep
) -> RecommendationsResponse:
    svc = service(request, settings, store)
    filters = rules.filters("query")
    return await _call(lambda: svc.bought_together(product_id, rules.n, filters))
