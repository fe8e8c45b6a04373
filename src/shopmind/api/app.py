"""Build the FastAPI app: one store per process, one router per capability."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from shopmind import __version__
from shopmind.api import public as public_routes
from shopmind.api import public_support as public_support_routes
from shopmind.api.deps import require_api_key
from shopmind.api.ingest import BatchError
from shopmind.api.limits import BodySizeLimit
from shopmind.api.routers import chat as chat_routes
from shopmind.api.routers import content as content_routes
from shopmind.api.routers import events as events_routes
from shopmind.api.routers import feeds as feeds_routes
from shopmind.api.routers import health as health_routes
from shopmind.api.routers import insights as insights_routes
from shopmind.api.routers import jobs as jobs_routes
from shopmind.api.routers import models as models_routes
from shopmind.api.routers import recommendations as recommendations_routes
from shopmind.api.routers import reviews as reviews_routes
from shopmind.api.routers import settings as settings_routes
from shopmind.api.routers import store as store_routes
from shopmind.api.routers import support as support_routes
from shopmind.api.schemas import BatchRejected, ErrorResponse, Rejection
from shopmind.api.throttle import install_limits
from shopmind.api.validation import refuse_lone_surrogates, validation_error_handler
from shopmind.config import Settings, load_settings
from shopmind.store.db import Store
from shopmind.web.app import UPLOAD_PATH, mount_dashboard

MAX_BODY_BYTES = 8 * 1024 * 1024

DESCRIPTION = """\
The shopmind REST API. Every route except `GET /health` needs an API key, sent as
`Authorization: Bearer <key>` or `X-API-Key: <key>`; create one with
`shopmind apikey create`.
"""


def create_app(
    settings: Settings, store: Store | None = None, max_body_bytes: int = MAX_BODY_BYTES
) -> FastAPI:
    """The API over ``store`` (default: the one ``settings`` names, owned by the app)."""
    owned = store is None
    app_store = Store.from_settings(settings) if store is None else store

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        try:
            yield
        finally:
            runner = _app.state.jobs
            if runner is not None:
                runner.shutdown()
            insights = getattr(_app.state, "insights", None)
            if insights is not None:
                insights.close()
            if owned:
                app_store.dispose()

    app = FastAPI(
        title="shopmind",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.live_settings = True  # changed settings apply at once (api.live)
    app.state.store = app_store
    app.state.jobs = None  # the JobRunner, started by the first job (api.deps.job_runner)
    install_limits(app, settings)
    upload_limit = lambda: app.state.settings.upload_max_mb * 2**20  # noqa: E731
    # the paths that take files: imports, and experiments (dashboard and API)
    uploads = {
        path: upload_limit
        for path in (UPLOAD_PATH, "/insights/experiments", "/v1/insights/experiments")
    }
    app.add_middleware(BodySizeLimit, max_bytes=max_body_bytes, larger=uploads)
    app.add_exception_handler(BatchError, _batch_rejected)
    app.add_exception_handler(RequestValidationError, validation_error_handler)
    app.include_router(health_routes.router)
    app.include_router(public_routes.router)  # the storefront's, with a publishable key
    app.include_router(public_support_routes.router)  # the storefront's chat, the same way
    secured = {
        "prefix": "/v1",
        # The key first (401 before any look at the body), then the text policy of every body.
        "dependencies": [Depends(require_api_key), Depends(refuse_lone_surrogates)],
        "responses": {
            400: {"model": ErrorResponse, "description": "Body bytes that are not UTF-8 JSON"},
            401: {"model": ErrorResponse, "description": "Missing or bad API key"},
            429: {"model": ErrorResponse, "description": "Rate limit of the key (Retry-After)"},
        },
    }
    app.include_router(store_routes.router, **secured)
    app.include_router(events_routes.router, **secured)
    app.include_router(reviews_routes.router, **secured)
    app.include_router(models_routes.router, **secured)
    app.include_router(jobs_routes.router, **secured)
    app.include_router(settings_routes.router, **secured)
    app.include_router(chat_routes.router, **secured)
    app.include_router(content_routes.router, **secured)
    app.include_router(feeds_routes.router, **secured)
    app.include_router(recommendations_routes.router, **secured)
    app.include_router(support_routes.router, **secured)
    app.include_router(insights_routes.router, **secured)
    mount_dashboard(app)
    return app


async def _batch_rejected(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, BatchError)
    body = BatchRejected(
        detail=str(exc),
        rejected=[Rejection(index=r.index, field=r.field, error=r.error) for r in exc.rejected],
    )
    return JSONResponse(body.model_dump(), status_code=422)


def app_from_env() -> FastAPI:
    """App factory for ``uvicorn --factory`` and worker processes: settings from the environment.

    The workspace is ``$SHOPMIND_WORKSPACE`` (default: the current folder); every other
    setting comes from its ``shopmind.toml`` under ``SHOPMIND_*`` variables. One of
    several processes cannot tell the others of a changed setting, so such an app applies
    changes at its next start only (``shopmind.api.live``).
    """
    app = create_app(load_settings(os.environ.get("SHOPMIND_WORKSPACE", ".")))
    app.state.live_settings = False
    return app
