"""Content studio over HTTP: generate copy for stored or given products; review drafts.

``POST /v1/content/generate`` answers what ``shopmind content generate --json`` prints:
``{"results": [{"product_id", "task", "language", "variants", "dropped", …}]}``. It takes
at most ``MAX_PRODUCTS`` products a request (the whole catalogue is a CLI run or, later,
a job), runs in a model slot and pays rate-limit tokens by the tokens it may generate.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from shopmind.api.deps import SettingsDep, StoreDep
from shopmind.api.schemas import ErrorResponse, InvalidRequest
from shopmind.api.throttle import charge_units, rate_cost, work_slot
from shopmind.config import Settings
from shopmind.content import TASKS
from shopmind.content import source as sources
from shopmind.content.generate import MAX_VARIANTS, Options, token_budget
from shopmind.content.run import (
    edit_problems,
    example_bank,
    load_writer,
    write_copy,
    write_store_article,
)
from shopmind.content.voice import voice_from_settings
from shopmind.models.llm import LLMError, LLMRequestError
from shopmind.store import content as drafts
from shopmind.store.db import Store

router = APIRouter(tags=["content"])
MAX_PRODUCTS = 10
TOKENS_PER_RATE_TOKEN = 100
Text = Annotated[str, Field(max_length=20_000)]


class GivenProduct(BaseModel):
    """A product that need not be in the store (the fields a products file line has)."""

    model_config = ConfigDict(extra="forbid")
    id: Annotated[str, Field(min_length=1, max_length=255)]
    title: Annotated[str, Field(min_length=1, max_length=1000)]
    description: Text = ""
    brand: Annotated[str, Field(max_length=255)] = ""
    category: Annotated[str, Field(max_length=512)] = ""
    attributes: Annotated[dict[str, Any], Field(max_length=100)] = {}
    options: Annotated[dict[str, list[str]], Field(max_length=20)] = {}
    price: float | None = None


class GenerateRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    task: Annotated[str, Field(max_length=32)]
    product_ids: Annotated[
        list[Annotated[str, Field(max_length=255)]], Field(max_length=MAX_PRODUCTS)
    ] = []
    products: Annotated[list[GivenProduct], Field(max_length=MAX_PRODUCTS)] = []
    n: Annotated[int, Field(ge=1, le=MAX_VARIANTS)] = 3
    language: Literal["auto", "en", "zh"] = "auto"
    seed: Annotated[int | None, Field(ge=0)] = None
    save: bool = True
    writer: Literal["model", "rules"] = "model"


class GenerateResponse(BaseModel):
    """``{"results": [{"product_id", "task", "language", "model", "variants", "dropped",
    "distinct_2"}]}`` (docs/content.md)."""

    results: list[dict[str, Any]]


Plain = Annotated[str | None, Query(max_length=255, pattern=r"^[^\x00-\x1f\x7f]*$")]


class DraftPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    status: Literal["draft", "approved", "rejected"] | None = None
    fields: dict[str, Any] | None = None


def _invalid(field: str, message: str) -> RequestValidationError:
    """A 422 in the API's validation shape, naming the body field."""
    return RequestValidationError([{"type": "value_error", "loc": ("body", field), "msg": message}])


def _products(store: Store, body: GenerateRequest) -> list[dict[str, Any]]:
    if body.task not in TASKS:
        raise _invalid("task", f"unknown task {body.task!r}; tasks: {', '.join(TASKS)}")
    if len(body.product_ids) + len(body.products) == 0:
        raise _invalid("product_ids", "give product_ids (stored products) or products")
    if len(body.product_ids) + len(body.products) > MAX_PRODUCTS:
        raise _invalid("product_ids", f"at most {MAX_PRODUCTS} products a request")
    found = []
    for ref in body.product_ids:
        try:
            found.append(sources.store_product(store, ref))
        except LookupError as exc:
            raise HTTPException(404, str(exc)) from None
    found += [p.model_dump() for p in body.products]
    return found


def _run(
    settings: Settings, store: Store, body: GenerateRequest, items: list[dict[str, Any]]
) -> dict[str, Any]:
    options = Options(n=body.n, language=body.language, seed=body.seed, writer=body.writer,
                      voice=voice_from_settings(settings))  # fmt: skip
    lm = load_writer(settings) if body.writer == "model" else None
    bank = example_bank(store, settings, body.task, lm)
    return {"results": [write_copy(store, lm, body.task, item, options, save=body.save,
                                   bank=bank, examples=settings.content_examples)
                        for item in items]}  # fmt: skip


@router.post(
    "/content/generate",
    summary="Copy for up to 10 products: only variants that pass the channel and fact guards",
    responses={
        404: {"model": ErrorResponse, "description": "A product id not in the store"},
        422: {"model": InvalidRequest, "description": "Over a limit, or no products"},
        502: {"model": ErrorResponse, "description": "The language model failed"},
        503: {"model": ErrorResponse, "description": "Every model slot busy (Retry-After)"},
    },
    openapi_extra=rate_cost(1, per_units=TOKENS_PER_RATE_TOKEN),
)
async def generate(
    body: GenerateRequest, request: Request, store: StoreDep, settings: SettingsDep
) -> GenerateResponse:
    items = _products(store, body)
    charge_units(
        request,
        len(items) * token_budget(body.task, body.n) if body.writer == "model" else len(items),
    )
    async with work_slot(request):
        try:
            return GenerateResponse(**await run_in_threadpool(_run, settings, store, body, items))
        except LLMRequestError as exc:  # the products and the answer do not fit the model
            raise _invalid("products", str(exc)) from None
        except LLMError as exc:
            raise HTTPException(502, f"language model: {exc}") from None


class ArticleRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    topic: Annotated[str, Field(min_length=1, max_length=200, pattern=r"^[^\x00-\x1f\x7f]*$")]
    k: Annotated[int, Field(ge=1, le=8)] = 4
    language: Literal["auto", "en", "zh"] = "auto"
    seed: Annotated[int | None, Field(ge=0)] = None
    writer: Literal["model", "rules"] = "model"
    save: bool = True


class ArticleResponse(BaseModel):
    """``{"topic", "task", "language", "model", "products", "variants", "faq_jsonld",
    "dropped", "checks"}`` (docs/content.md)."""

    topic: str
    task: str
    language: str
    model: str | None
    products: list[dict[str, Any]]
    variants: list[dict[str, Any]]
    faq_jsonld: dict[str, Any] | None
    dropped: list[dict[str, Any]]
    checks: dict[str, int]


@router.post(
    "/content/article",
    summary="An article on a topic from the store's products and FAQ pages",
    responses={
        422: {"model": InvalidRequest, "description": "No product fits the topic, or a bad field"},
        502: {"model": ErrorResponse, "description": "The language model failed"},
        503: {"model": ErrorResponse, "description": "Every model slot busy (Retry-After)"},
    },
    openapi_extra=rate_cost(1, per_units=TOKENS_PER_RATE_TOKEN),
)
async def content_article(
    body: ArticleRequest, request: Request, store: StoreDep, settings: SettingsDep
) -> ArticleResponse:
    charge_units(request, body.k * 400 if body.writer == "model" else 1)
    options = Options(n=1, language=body.language, seed=body.seed, writer=body.writer,
                      voice=voice_from_settings(settings))  # fmt: skip

    def run() -> dict[str, Any]:
        lm = load_writer(settings) if body.writer == "model" else None
        return write_store_article(store, lm, body.topic, options, k=body.k, save=body.save)

    async with work_slot(request):
        try:
            return ArticleResponse(**await run_in_threadpool(run))
        except (ValueError, LLMRequestError) as exc:  # no product fits; too long for the model
            raise _invalid("topic", str(exc)) from None
        except LLMError as exc:
            raise HTTPException(502, f"language model: {exc}") from None


@router.get("/content/drafts", summary="Content drafts, newest first")
def list_content_drafts(
    store: StoreDep,
    status: Annotated[Literal["draft", "approved", "rejected"] | None, Query()] = None,
    task: Plain = None,
    product_id: Plain = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=1_000_000_000)] = 0,
) -> list[drafts.DraftView]:
    found = drafts.list_drafts(store, status=status, task=task, product_key=product_id,
                               limit=limit, offset=offset)  # fmt: skip
    return found


@router.patch(
    "/content/drafts/{draft_id}",
    summary="Approve, reject or edit a draft (edited fields must pass the channel spec)",
    responses={404: {"model": ErrorResponse}, 422: {"model": InvalidRequest}},
)
def patch_content_draft(
    draft_id: Annotated[int, Path(ge=1, le=2**31 - 1)], body: DraftPatch, store: StoreDep
) -> drafts.DraftView:
    try:
        draft = drafts.get_draft(store, draft_id)
        if body.fields is not None:
            problems = edit_problems(draft.task, body.fields)
            if problems:
                raise _invalid("fields", "; ".join(problems))
            draft = drafts.edit(store, draft_id, body.fields, by="api")
        if body.status is not None:
            draft = drafts.decide(store, draft_id, body.status, by="api")
    except drafts.DraftNotFound as exc:
        raise HTTPException(404, str(exc)) from None
    return draft
