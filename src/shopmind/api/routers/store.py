"""The store itself: row counts."""

from __future__ import annotations

from fastapi import APIRouter

from shopmind.api.deps import StoreDep
from shopmind.api.schemas import Stats

router = APIRouter(tags=["store"])


@router.get("/stats", response_model=Stats, summary="Row counts of the store's main tables")
def stats(store: StoreDep) -> Stats:
    return Stats(**store.stats())
