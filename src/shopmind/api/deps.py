"""Dependencies of the routes, as ``Annotated`` aliases: the store, settings, API-key check."""

from __future__ import annotations

import threading
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from shopmind.api.throttle import check_rate
from shopmind.config import Settings
from shopmind.jobs import JobRunner
from shopmind.store.apikeys import key_prefix, verify_api_key
from shopmind.store.db import Store

bearer_scheme = HTTPBearer(
    auto_error=False,
    description="`Authorization: Bearer <key>` (create one: shopmind apikey create)",
)
header_scheme = APIKeyHeader(
    name="X-API-Key", auto_error=False, description="`X-API-Key: <key>`, the same key"
)


_runner_lock = threading.Lock()


def job_runner(request: Request) -> JobRunner:
    """The app's job runner, started on first use (and shut down with the app)."""
    state = request.app.state
    with _runner_lock:
        if state.jobs is None:
            state.jobs = JobRunner(state.store, state.settings, workers=state.settings.job_workers)
        return state.jobs


def get_store(request: Request) -> Store:
    return request.app.state.store


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


StoreDep = Annotated[Store, Depends(get_store)]
SettingsDep = Annotated[Settings, Depends(get_settings)]


def require_api_key(
    request: Request,
    store: StoreDep,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)],
    header_key: Annotated[str | None, Depends(header_scheme)],
) -> str:
    """The caller's key, checked against the store; 401 when missing, unknown or revoked.

    A valid key then pays the route's cost from its rate-limit bucket (429 when empty,
    see ``shopmind.api.throttle``).
    """
    key = bearer.credentials if bearer is not None else header_key
    if not key:
        raise _unauthorized(
            "missing API key: send 'Authorization: Bearer <key>' or 'X-API-Key: <key>'"
        )
    if not verify_api_key(store, key):
        raise _unauthorized("invalid or revoked API key")
    check_rate(request, key_prefix(key) or key)
    return key


def _unauthorized(message: str) -> HTTPException:
    return HTTPException(
        status.HTTP_401_UNAUTHORIZED, detail=message, headers={"WWW-Authenticate": "Bearer"}
    )


ApiKeyDep = Annotated[str, Depends(require_api_key)]


_insights_lock = threading.Lock()


def insights_service(request: Request) -> Any:
    """The app's growth-insights service (one per app: its cache is shared by the API and
    the dashboard)."""
    from shopmind.insights.service import Insights

    state = request.app.state
    with _insights_lock:
        if getattr(state, "insights", None) is None:
            state.insights = Insights(state.store, state.settings)
        return state.insights


InsightsDep = Annotated[Any, Depends(insights_service)]
