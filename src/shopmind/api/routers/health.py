"""Liveness: the only route that needs no API key."""

from __future__ import annotations

from fastapi import APIRouter

from shopmind import __version__
from shopmind.api.deps import StoreDep
from shopmind.api.schemas import Health

router = APIRouter(tags=["health"])


@router.get("/health", response_model=Health, summary="Service status (no key needed)")
def health(store: StoreDep) -> Health:
    return Health(version=__version__, database=store.dialect)
