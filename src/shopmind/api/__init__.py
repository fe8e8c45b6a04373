"""The REST API (FastAPI): ``create_app(settings)`` builds it, ``run_server`` serves it."""

from shopmind.api.app import create_app

__all__ = ["create_app"]
