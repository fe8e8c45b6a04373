"""Behaviour events: batch ingestion, idempotent by event id."""

from __future__ import annotations

from fastapi import APIRouter

from shopmind.api.deps import SettingsDep, StoreDep
from shopmind.api.ingest import ingest_events
from shopmind.api.schemas import (
    BatchRejected,
    ErrorResponse,
    EventBatch,
    IngestResponse,
    InvalidRequest,
)

router = APIRouter(tags=["events"])


@router.post(
    "/events",
    response_model=IngestResponse,
    summary="Ingest a batch of GA4-style events",
    responses={
        413: {"model": ErrorResponse, "description": "Request body too large"},
        422: {
            "model": BatchRejected | InvalidRequest,
            "description": "Invalid events (BatchRejected) or body (InvalidRequest): none stored",
        },
    },
)
def post_events(batch: EventBatch, store: StoreDep, settings: SettingsDep) -> IngestResponse:
    """Store the batch's new events in one transaction; all or nothing.

    If any event is invalid the whole batch is refused with 422 and every invalid
    event's index, field and error. Events already stored (same ``event_id``) are
    counted as duplicates, so retrying a batch is safe.
    """
    result = ingest_events(store, batch.events, currency=settings.currency)
    return IngestResponse(accepted=result.accepted, duplicates=result.duplicates)
