"""Request and response bodies of the REST API (pydantic models, shown in OpenAPI)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

MAX_EVENTS = 1000

EVENT_EXAMPLE: dict[str, Any] = {
    "event_id": "web-7f3a9c-0001",
    "event_name": "add_to_cart",
    "event_timestamp": 1718000000123456,
    "user_pseudo_id": "1843021745.1718000000",
    "user_id": "customer-1042",
    "session_id": "1718000000",
    "items": [{"item_id": "SKU-TEE-M", "item_name": "Linen tee", "price": 29.0, "quantity": 1}],
    "value": 29.0,
    "currency": "EUR",
    "source": "google",
    "medium": "cpc",
    "campaign": "summer",
    "device_category": "mobile",
    "page_location": "https://shop.example/products/linen-tee",
}


class ErrorResponse(BaseModel):
    detail: str = Field(description="What went wrong, in words.")


class FieldError(BaseModel):
    """One invalid part of a request (FastAPI's shape; echoed text is cut and made safe)."""

    type: str = Field(description="Kind of error, e.g. missing, string_too_long, value_error.")
    loc: list[str | int] = Field(description='Where: ["body", "texts", 0], ["path", "product"].')
    msg: str
    input: Any = Field(default=None, description="The offending value, cut to 100 characters.")
    ctx: dict[str, Any] | None = None


class InvalidRequest(BaseModel):
    """422: the request does not fit the route's schema (or is not JSON, or not text)."""

    detail: list[FieldError]


class Health(BaseModel):
    status: Literal["ok"] = "ok"
    version: str
    database: str = Field(description="Store backend: sqlite or postgresql.")


class Stats(BaseModel):
    """Row counts of the store's main tables."""

    products: int
    variants: int
    customers: int
    orders: int
    events: int
    reviews: int
    pages: int


class EventBatch(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"events": [EVENT_EXAMPLE]}]}
    )

    events: list[Any] = Field(
        max_length=MAX_EVENTS,
        description=(
            f"Up to {MAX_EVENTS} GA4-style events (flat or BigQuery-export shape). "
            "Each is validated; an event without event_id gets one from its content."
        ),
    )


class Rejection(BaseModel):
    index: int = Field(description="Position of the event in the batch (from 0).")
    field: str = Field(description="The offending field, e.g. event_timestamp or items[2].price.")
    error: str


class IngestResponse(BaseModel):
    accepted: int = Field(description="Events stored by this request.")
    duplicates: int = Field(description="Events whose event_id was already stored.")
    rejected: list[Rejection] = Field(default_factory=list, description="Always empty on 200.")


class BatchRejected(BaseModel):
    """422: the batch held invalid events; none of its events were stored."""

    detail: str
    accepted: Literal[0] = 0
    duplicates: Literal[0] = 0
    rejected: list[Rejection]
