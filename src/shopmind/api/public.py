"""The storefront's routes: the widget script and what it calls, with a publishable key.

- ``GET /widget.js`` — the script a merchant pastes into the shop's theme (no key needed
  to fetch it);
- ``GET /public/v1/recommendations`` — items for a placement (``for_you``, ``similar``,
  ``together``) with their reasons, titles, images and prices;
- ``POST /public/v1/events`` — the widget's impressions (``view_item_list``) and clicks
  (``select_item``), each with its placement as ``item_list_id``.

Each call carries a publishable key (``?key=pk_…``), never the secret API key. A key
opens these routes only, only for the origins listed with it: a browser's ``Origin``
must be one of them (``403`` otherwise; a request with no ``Origin``, such as a server's,
is let through — the key is public anyway), and the answer's
``Access-Control-Allow-Origin`` names that origin alone. Every client (key and IP
address) has its own token bucket (``widget_rate_limit_per_minute``; ``429`` with
``Retry-After`` when empty).

Nothing private leaves: the ``user`` of a ``for_you`` request is taken as a browser id —
only events recorded under that very id count — unless the shop's server signed it with
the key's signing secret (``user_signature``, see ``shopmind.store.publishable``); an
e-mail address is never taken; and the reasons never name an item of the shopper's
history ("Picked for you"). The event route takes only those two event names, at most
50 items of the catalog, and stores them with ids starting ``widget:``: they count for
the placement figures, never for training or for anyone's recommendations.
"""

from __future__ import annotations

import json
import math
import threading
import time
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Query, Request, Response
from fastapi.responses import FileResponse, JSONResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.concurrency import run_in_threadpool

from shopmind.api.throttle import RateLimiter
from shopmind.recommend import Filters, RecommendError
from shopmind.recommend.service import NoModel
from shopmind.store.events import EventError, normalize_event, store_events
from shopmind.store.interactions import WIDGET_PREFIX
from shopmind.store.publishable import KeyInfo, find_publishable_key

router = APIRouter(include_in_schema=True, tags=["storefront"])
WIDGET = Path(__file__).resolve().parents[1] / "web" / "static" / "widget.js"
PLACEMENTS = ("for_you", "similar", "together")
KEY_TTL_S = 30.0  # a revoked key or changed origins reach the widget routes within this
Id = Annotated[str, Query(min_length=1, max_length=255, pattern=r"^[^\x00-\x1f\x7f]*$")]
_keys: dict[str, tuple[float, KeyInfo | None]] = {}
_keys_lock = threading.Lock()


def _limiter(request: Request) -> RateLimiter:
    state = request.app.state
    settings = state.settings
    limiter = getattr(state, "widget_limiter", None)
    if limiter is None:
        limiter = state.widget_limiter = RateLimiter(
            settings.widget_rate_limit_per_minute, max(1, settings.widget_rate_limit_burst)
        )
    else:
        limiter.configure(settings.widget_rate_limit_per_minute,
                          max(1, settings.widget_rate_limit_burst))  # fmt: skip
    return limiter


def _lookup(request: Request, key: str) -> KeyInfo | None:
    """The live key (cached for ``KEY_TTL_S``), or None."""
    now = time.monotonic()
    with _keys_lock:
        cached = _keys.get(key)
    if cached is None or now - cached[0] > KEY_TTL_S:
        cached = (now, find_publishable_key(request.app.state.store, key))
        with _keys_lock:
            if len(_keys) > 1000:
                _keys.clear()
            _keys[key] = cached
    return cached[1]


def _key(request: Request, key: str) -> KeyInfo:
    """The live key for this request's origin and client, or 401 / 403 / 429."""
    info = _lookup(request, key)
    if info is None:
        raise HTTPException(401, "unknown or revoked publishable key")
    origin = request.headers.get("origin")
    if origin is not None and origin not in info.allowed_origins:
        raise HTTPException(403, f"origin {origin!r} is not allowed for this key")
    client = request.client.host if request.client else "?"
    wait = _limiter(request).take(f"{info.id}|{client}")
    if wait > 0:
        raise HTTPException(429, "too many requests from this client",
                            headers={"Retry-After": str(max(1, math.ceil(wait)))})  # fmt: skip
    return info


def _cors(response: Response, request: Request, info: KeyInfo | None) -> Response:
    origin = request.headers.get("origin")
    if origin and info is not None and origin in info.allowed_origins:
        response.headers["Access-Control-Allow-Origin"] = origin
        response.headers["Vary"] = "Origin"
    return response


@router.get("/widget.js", include_in_schema=False)
def widget_script() -> Response:
    return FileResponse(WIDGET, media_type="text/javascript; charset=utf-8",
                        headers={"Cache-Control": "public, max-age=300"})  # fmt: skip


@router.options("/public/v1/{path:path}", include_in_schema=False)
def preflight(request: Request, path: str, key: str = "") -> Response:
    """CORS preflight: allowed when the key is live and the origin is one of its own."""
    info = _lookup(request, key)
    origin = request.headers.get("origin")
    if info is None or origin not in info.allowed_origins:
        return Response(status_code=403)
    response = Response(status_code=204)
    response.headers.update({"Access-Control-Allow-Methods": "GET, POST",
                             "Access-Control-Allow-Headers": "Content-Type",
                             "Access-Control-Max-Age": "600"})  # fmt: skip
    return _cors(response, request, info)


class WidgetItem(BaseModel):
    item_id: str
    title: str
    image_url: str | None
    price: float | None
    currency: str | None
    reason: str


class WidgetAnswer(BaseModel):
    placement: str
    items: list[WidgetItem]
    fallback: bool


@router.get(
    "/public/v1/recommendations",
    summary="Storefront: items for a placement (publishable key)",
    responses={401: {"description": "Unknown key"}, 403: {"description": "Origin not allowed"},
               404: {"description": "Unknown product"}, 429: {"description": "Too many requests"}},
)  # fmt: skip
async def public_recommendations(
    request: Request,
    key: Annotated[str, Query(min_length=1, max_length=100)],
    placement: Literal["for_you", "similar", "together"] = "for_you",
    user: Annotated[str | None, Query(max_length=255, pattern=r"^[^\x00-\x1f\x7f]*$")] = None,
    user_signature: Annotated[str | None, Query(max_length=128)] = None,
    item: Annotated[str | None, Query(max_length=255, pattern=r"^[^\x00-\x1f\x7f]*$")] = None,
    n: Annotated[int, Query(ge=1, le=24)] = 4,
) -> WidgetAnswer:
    from shopmind.api.routers.recommendations import service

    info = _key(request, key)
    svc = service(request, request.app.state.settings, request.app.state.store)
    rules = Filters(in_stock_only=True)

    signed = bool(user) and info.verify(str(user), user_signature)
    anonymous = not user or (not signed and ("@" in user or user.startswith("email:")))

    def call() -> dict[str, Any]:
        if placement == "for_you":
            if user and not anonymous:
                return svc.for_user(user, n, rules, scope="all" if signed else "browser",
                                    private=False)  # fmt: skip
            if item:
                return svc.for_session([item], n, rules)
            return svc.for_session([], n, rules, allow_empty=True)
        if not item:
            raise RecommendError(f"placement {placement!r} needs the page's item")
        if placement == "together":
            return svc.bought_together(item, n, rules)
        return svc.similar(item, n, rules)

    try:
        found = await run_in_threadpool(call)
    except NoModel:  # the message names server paths: not for the public
        raise HTTPException(404, "no recommendations yet: no model has been trained") from None
    except RecommendError as exc:
        raise HTTPException(404 if "unknown item" in str(exc) else 422, str(exc)) from None
    facts = await run_in_threadpool(_facts, request, [i["item_id"] for i in found["items"]])
    items = [WidgetItem(item_id=i["item_id"], title=i["title"], reason=i["reason_text"],
                        **facts.get(i["item_id"], {"image_url": None, "price": None,
                                                   "currency": None}))
             for i in found["items"]]  # fmt: skip
    answer = WidgetAnswer(placement=placement, items=items, fallback=bool(found["fallback"]))
    response = JSONResponse(answer.model_dump(), headers={"Cache-Control": "no-store"})
    return _cors(response, request, info)  # type: ignore[return-value]


def _facts(request: Request, ids: list[str]) -> dict[str, dict[str, Any]]:
    from sqlalchemy import select

    from shopmind.store.models import Product

    if not ids:
        return {}
    with request.app.state.store.session() as s:
        rows = s.execute(select(Product.external_id, Product.image_url, Product.price,
                                Product.currency).where(Product.external_id.in_(ids)))  # fmt: skip
        return {r[0]: {"image_url": r[1] if (r[1] or "").startswith(("https://", "http://"))
                       else None, "price": r[2], "currency": r[3]} for r in rows}  # fmt: skip


def _unknown_items(request: Request, ids: list[str]) -> list[str]:
    from sqlalchemy import select

    from shopmind.store.models import Product

    with request.app.state.store.session() as s:
        known = set(s.scalars(select(Product.external_id).where(Product.external_id.in_(ids))))
    return [i for i in ids if i not in known]


class WidgetEvent(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Literal["view_item_list", "select_item"]
    user_id: Annotated[str, Field(min_length=1, max_length=255)]
    placement: Literal["for_you", "similar", "together"]
    items: Annotated[list[Annotated[str, Field(min_length=1, max_length=255)]],
                     Field(min_length=1, max_length=50)]  # fmt: skip
    page: Annotated[str | None, Field(max_length=2048)] = None


@router.post(
    "/public/v1/events",
    summary="Storefront: the widget's impressions and clicks (publishable key)",
    status_code=202,
    responses={401: {"description": "Unknown key"}, 403: {"description": "Origin not allowed"},
               422: {"description": "Not a widget event"}, 429: {"description": "Too many"}},
)  # fmt: skip
async def public_events(
    request: Request, key: Annotated[str, Query(min_length=1, max_length=100)]
) -> Response:
    """The body is JSON, sent as ``text/plain`` or ``application/json`` (a plain-text
    body needs no CORS preflight): ``{"name", "user_id", "placement", "items", "page"}``."""
    info = _key(request, key)
    raw = await request.body()
    if len(raw) > 20_000:
        raise HTTPException(413, "event too large")
    try:
        event = WidgetEvent.model_validate(json.loads(raw or b"null"))
    except (ValueError, ValidationError) as exc:
        raise HTTPException(422, f"not a widget event: {str(exc)[:300]}") from None
    row = {
        "event_name": event.name, "event_timestamp": time.time(),
        "user_pseudo_id": event.user_id, "item_list_id": event.placement,
        "page_location": event.page,
        "items": [{"item_id": i, "index": k} for k, i in enumerate(event.items)],
    }  # fmt: skip
    try:
        normalized = normalize_event(row, request.app.state.settings.currency)
    except EventError as exc:
        raise HTTPException(422, str(exc)) from None
    unknown = await run_in_threadpool(_unknown_items, request, event.items)
    if unknown:
        raise HTTPException(422, f"not products of this shop: {', '.join(unknown[:5])}")
    normalized["event_id"] = WIDGET_PREFIX + normalized["event_id"][: 64 - len(WIDGET_PREFIX)]
    await run_in_threadpool(store_events, request.app.state.store, [normalized], False)
    return _cors(Response(status_code=202), request, info)
