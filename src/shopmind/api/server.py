"""Serve the API with uvicorn."""

from __future__ import annotations

import os

import uvicorn

from shopmind.api.app import create_app
from shopmind.config import Settings


def export_settings(settings: Settings) -> None:
    """Put ``settings`` in ``SHOPMIND_*`` variables, so worker processes rebuild them exactly."""
    os.environ["SHOPMIND_WORKSPACE"] = str(settings.workspace.resolve())
    for name, value in settings.model_dump(mode="json", exclude={"workspace"}).items():
        os.environ[f"SHOPMIND_{name.upper()}"] = str(value)


def warm_charts() -> None:
    """Start the chart renderer in the background: its first chart costs about a second."""
    import threading

    from shopmind.web import charts

    threading.Thread(target=charts.warm_up, name="charts-warm-up", daemon=True).start()


def run_server(settings: Settings, host: str, port: int, workers: int = 1) -> None:
    """Serve the API until interrupted (blocking).

    With ``workers > 1`` uvicorn starts that many processes, each building its own app
    (and store connection pool) from the settings, handed over in the environment.
    """
    if workers <= 1:
        warm_charts()
        uvicorn.run(create_app(settings), host=host, port=port, log_level="info")
        return
    export_settings(settings)
    uvicorn.run(
        "shopmind.api.app:app_from_env",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="info",
    )
