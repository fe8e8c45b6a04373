"""Request-cost limits of the API: a token bucket per API key (429) and model slots (503).

Rate: each key has a bucket of ``rate_limit_burst`` tokens that refills at
``rate_limit_per_minute``. A request takes its route's cost (1 token, or what the route
declares with ``openapi_extra=rate_cost(n)``: heavier routes cost more); a request that
finds too few tokens gets ``429`` with ``Retry-After`` (whole seconds until enough tokens
are back) and takes nothing. Buckets live in process memory: a server with several
workers has a bucket per key in each worker. ``rate_limit_per_minute = 0`` turns it off.

Model work: ``model_work`` (a context manager) and ``ModelSlot`` (a dependency) hold one
of the process's model slots (``shopmind.models.work``) around a route's model calls; a
request that gets no slot within ``model_wait_seconds`` gets ``503`` with ``Retry-After``.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, FastAPI, HTTPException, Request, status

from shopmind.config import Settings
from shopmind.models.work import ModelBusy, WorkLimiter

COST_KEY = "x-rate-limit-cost"
_PRUNE_AT = 10_000  # buckets kept before full (idle) ones are dropped


def rate_cost(tokens: int) -> dict[str, Any]:
    """``openapi_extra`` for a route that costs ``tokens`` (shown in the OpenAPI schema)."""
    if tokens < 1:
        raise ValueError(f"a route costs at least 1 token, got {tokens}")
    return {COST_KEY: tokens}


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
    """Give ``app`` its rate limiter and model-work limiter, from ``settings``."""
    app.state.rate_limiter = RateLimiter(settings.rate_limit_per_minute, settings.rate_limit_burst)
    app.state.work_limiter = WorkLimiter(settings.resolved_model_slots, settings.model_wait_seconds)


def route_cost(request: Request) -> int:
    """Tokens the matched route costs (``rate_cost``), 1 by default."""
    route = request.scope.get("route")
    extra = getattr(route, "openapi_extra", None) or {}
    return int(extra.get(COST_KEY, 1))


def check_rate(request: Request, key_id: str) -> None:
    """Take the route's cost from the key's bucket, or raise ``429`` with ``Retry-After``."""
    limiter: RateLimiter = request.app.state.rate_limiter
    cost = route_cost(request)
    wait = limiter.take(key_id, cost)
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


def _busy(exc: ModelBusy) -> HTTPException:
    return HTTPException(
        status.HTTP_503_SERVICE_UNAVAILABLE,
        detail=f"server busy: {exc}",
        headers={"Retry-After": str(exc.retry_after)},
    )


@contextmanager
def model_work(request: Request) -> Iterator[None]:
    """Hold a model slot for the block; ``503`` with ``Retry-After`` when none frees up."""
    limiter: WorkLimiter = request.app.state.work_limiter
    try:
        limiter.acquire()
    except ModelBusy as exc:
        raise _busy(exc) from exc
    started = time.perf_counter()
    try:
        yield
    finally:
        limiter.release(time.perf_counter() - started)


def model_slot(request: Request) -> Iterator[None]:
    """Dependency form of ``model_work``: the slot is held while the route function runs."""
    with model_work(request):
        yield


ModelSlot = Annotated[None, Depends(model_slot, scope="function")]


def check_text_budget(texts: Sequence[str], limit: int, setting: str) -> int:
    """The total length of ``texts``; ``413`` naming the budget and the size when over it.

    Text models cost about linearly in characters (long texts are scored in segments),
    so a budget on the characters of one request bounds its time and memory.
    """
    total = sum(len(t) for t in texts)
    if total > limit:
        raise HTTPException(
            status.HTTP_413_CONTENT_TOO_LARGE,
            detail=(
                f"the texts hold {total:,} characters in all; this server takes at most "
                f"{limit:,} per request (setting {setting}): send them in several requests"
            ),
        )
    return total
