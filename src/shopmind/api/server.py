"""Serve the API with uvicorn."""

from __future__ import annotations

import os

import uvicorn

from shopmind.api.app import create_app
from shopmind.config import Settings, env_variable, load_settings


def export_settings(settings: Settings) -> None:
    """Hand ``settings`` to worker processes: the workspace in ``SHOPMIND_WORKSPACE``, and
    in ``SHOPMIND_*`` variables only the values its files and environment would not give
    them (so the dashboard still tells which settings the operator's environment sets)."""
    os.environ["SHOPMIND_WORKSPACE"] = str(settings.workspace.resolve())
    own = load_settings(settings.workspace).model_dump(mode="json", exclude={"workspace"})
    for name, value in settings.model_dump(mode="json", exclude={"workspace"}).items():
        if value != own[name]:
            os.environ[env_variable(name)] = str(value)


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
