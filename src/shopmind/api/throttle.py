"""Request-cost limits of the API: a token bucket per API key (429) and model slots (503).

Rate: each key has a bucket of ``rate_limit_burst`` tokens that refills at
``rate_limit_per_minute``. A request takes its route's cost: 1 token, or what the route
declares with ``openapi_extra=rate_cost(n)``. A route whose cost grows with the request
declares ``rate_cost(1, per_units=1000)``: its 1 token is taken at the door, like any
route's, and ``units // 1000`` more with ``charge_units`` once it knows the request's
cost units (a request over its budget pays the budget's worth before its ``413``). A
request that finds too few tokens gets ``429`` with ``Retry-After`` (whole seconds until
enough tokens are back) and takes nothing more. Buckets live in process memory: a
server with several workers has a bucket per key in each worker.
``rate_limit_per_minute = 0`` turns it off.

Model work: an ``async def`` route holds one of the process's model slots
(``shopmind.models.work``) with ``async with work_slot(request):`` around the model call
it runs in the thread pool; a ``def`` route takes a ``ModelSlot`` parameter (a dependency
that waits in the event loop, so the route runs in the thread pool only once it holds a
slot). A request that gets no slot within ``model_wait_seconds`` gets ``503`` with
``Retry-After`` (the handler ``install_limits`` adds for ``ModelBusy``).
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, FastAPI, HTTPException, Request, status
from fastapi.responses import JSONResponse

from shopmind.config import Settings
from shopmind.models.work import ModelBusy, WorkLimiter

COST_KEY = "x-rate-limit-cost"
PER_UNITS_KEY = "x-rate-limit-cost-per-units"  # one more token per this many cost units
_PRUNE_AT = 10_000  # buckets kept before full (idle) ones are dropped


def rate_cost(tokens: int, per_units: int | None = None) -> dict[str, Any]:
    """``openapi_extra`` for a route that costs ``tokens`` (shown in the OpenAPI schema),
    plus one token per ``per_units`` cost units when given (charged by ``charge_units``)."""
    if tokens < 1:
        raise ValueError(f"a route costs at least 1 token, got {tokens}")
    if per_units is None:
        return {COST_KEY: tokens}
    if per_units < 1:
        raise ValueError(f"per_units must be at least 1, got {per_units}")
    return {COST_KEY: tokens, PER_UNITS_KEY: per_units}


@dataclass
class _Bucket:
    tokens: float
    updated: float


class RateLimiter:
    """Token buckets per key: ``burst`` tokens, refilled at ``per_minute`` a minute."""

    def __init__(
        self, per_minute: float, burst: int, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if per_minute < 0 or burst < 1:
            raise ValueError(f"need per_minute >= 0 and burst >= 1, got {per_minute}, {burst}")
        self.per_minute = per_minute
        self.burst = burst
        self.clock = clock
        self._buckets: dict[str, _Bucket] = {}
        self._lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        return self.per_minute > 0

    def configure(self, per_minute: float, burst: int) -> None:
        """New limits for every key from now on (a changed setting); a bucket holding more
        than the new ``burst`` is cut to it at its next use."""
        if per_minute < 0 or burst < 1:
            raise ValueError(f"need per_minute >= 0 and burst >= 1, got {per_minute}, {burst}")
        with self._lock:
            self.per_minute, self.burst = per_minute, burst

    def take(self, key: str, cost: float = 1) -> float:
        """Take ``cost`` tokens from ``key``'s bucket: 0.0 when taken, else the seconds
        until the bucket holds enough (nothing is taken then). A cost above ``burst``
        counts as ``burst``, so every request can pass once the bucket is full."""
        if not self.enabled:
            return 0.0
        cost = min(float(cost), float(self.burst))
        rate = self.per_minute / 60.0
        with self._lock:
            now = self.clock()
            bucket = self._buckets.get(key)
            if bucket is None:
                if len(self._buckets) >= _PRUNE_AT:
                    self._prune(now, rate)
                bucket = self._buckets[key] = _Bucket(float(self.burst), now)
            bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.updated) * rate)
            bucket.updated = now
            if bucket.tokens >= cost:
                bucket.tokens -= cost
                return 0.0
            return (cost - bucket.tokens) / rate

    def _prune(self, now: float, rate: float) -> None:
        """Forget buckets that have refilled (a full bucket is the same as none)."""
        for key, b in list(self._buckets.items()):
            if b.tokens + (now - b.updated) * rate >= self.burst:
                del self._buckets[key]


def install_limits(app: FastAPI, settings: Settings) -> None:
    """Give ``app`` its rate limiter and model-work limiter, from ``settings``, and the
    handler that answers ``ModelBusy`` with ``503`` and ``Retry-After``. A changed rate
    setting reaches the limiter at once (``RateLimiter.configure``); the model slots are
    set at the start only."""
    app.state.rate_limiter = RateLimiter(settings.rate_limit_per_minute, settings.rate_limit_burst)
    app.state.work_limiter = WorkLimiter(settings.resolved_model_slots, settings.model_wait_seconds)
    app.add_exception_handler(ModelBusy, _busy)


def _route_extra(request: Request) -> dict[str, Any]:
    route = request.scope.get("route")
    return getattr(route, "openapi_extra", None) or {}


def route_cost(request: Request) -> int:
    """Tokens the matched route costs (``rate_cost``), 1 by default."""
    return int(_route_extra(request).get(COST_KEY, 1))


def check_rate(request: Request, key_id: str) -> None:
    """Take the route's cost from the key's bucket, or raise ``429`` with ``Retry-After``.

    A route charged by size (``rate_cost(n, per_units=…)``) pays the rest in
    ``charge_units`` once its cost is known; the key is kept for that.
    """
    request.state.rate_key = key_id
    _take(request, route_cost(request))


def charge_units(request: Request, units: int) -> int:
    """Take ``units // per_units`` more tokens for a route charged by size (or ``429``);
    returns the request's cost in tokens, the door's included."""
    per = int(_route_extra(request).get(PER_UNITS_KEY, 0))
    if per < 1:
        raise RuntimeError("charge_units on a route without rate_cost(..., per_units=...)")
    base, extra = route_cost(request), max(0, units) // per
    if extra:
        _take(request, extra, base + extra)
    return base + extra


def _take(request: Request, tokens: int, cost: int | None = None) -> None:
    """Take ``tokens`` from the key's bucket (``cost``: what the message says the request
    costs in all, when part of it was paid before)."""
    limiter: RateLimiter = request.app.state.rate_limiter
    wait = limiter.take(request.state.rate_key, tokens)
    cost = tokens if cost is None else cost
    if wait > 0:
        retry = max(1, math.ceil(wait))
        raise HTTPException(
            status.HTTP_429_TOO_MANY_REQUESTS,
            detail=(
                f"rate limit exceeded for this API key: {limiter.per_minute:g} tokens a "
                f"minute, bursts of {limiter.burst}; this request costs {cost}; "
                f"retry in {retry} s"
            ),
            headers={"Retry-After": str(retry)},
        )


async def _busy(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ModelBusy)
    return JSONResponse(
        {"detail": f"server busy: {exc}"},
        status_code=status.HTTP_503_SERVICE_UNAVAILABLE,
        headers={"Retry-After": str(exc.retry_after)},
    )


def work_slot(request: Request) -> AbstractAsyncContextManager[None]:
    """One of the process's model slots, for ``async with`` (``503`` when none frees up)."""
    limiter: WorkLimiter = request.app.state.work_limiter
    return limiter.slot()


async def model_slot(request: Request) -> AsyncIterator[None]:
    """Dependency form of ``work_slot``: waits in the event loop, then holds the slot while
    the route function runs."""
    async with work_slot(request):
        yield


ModelSlot = Annotated[None, Depends(model_slot, scope="function")]
