"""OpenAI-compatible chat completions: shopmind serves its language model to other machines.

``POST /v1/chat/completions`` takes and answers OpenAI's shapes (``stream: true`` answers
server-sent ``chat.completion.chunk`` events ending ``data: [DONE]``), so any OpenAI
client — another shopmind's ``openai`` backend among them — can use it. It serves the
model the settings name (``load_language_model``). Requests are bounded (``n``,
``max_tokens``, messages and their characters), pay rate-limit tokens by the tokens they
ask for, and run in a model slot (``503`` when none frees up).
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack, contextmanager, suppress
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Request, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field, model_validator
from starlette.concurrency import run_in_threadpool

from shopmind.api.deps import SettingsDep
from shopmind.api.schemas import ErrorResponse, InvalidRequest
from shopmind.api.throttle import charge_units, rate_cost, work_slot
from shopmind.config import Settings
from shopmind.models.llm import (
    Candidate,
    LanguageModel,
    LLMError,
    LLMRequestError,
    StreamChunk,
    load_language_model,
)

router = APIRouter(tags=["language model"])

MAX_N = 8
MAX_TOKENS = 1024
MAX_MESSAGES = 64
MAX_CHARS = 32_000  # all messages' content together
MAX_STOPS = 4
TOKENS_PER_RATE_TOKEN = 100  # rate limit: 1 token a request, 1 more per 100 asked (n × max_tokens)


StopText = Annotated[str, Field(min_length=1, max_length=64)]
StopList = Annotated[list[StopText], Field(max_length=MAX_STOPS)]


class ChatMessage(BaseModel):
    role: Literal["system", "user", "assistant"]
    content: str = Field(max_length=MAX_CHARS)


class ChatRequest(BaseModel):
    """OpenAI's request; fields it has and this server does not use are ignored."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "model": "SmolLM2-135M-Instruct",
                    "messages": [
                        {"role": "system", "content": "You write short product copy."},
                        {"role": "user", "content": "One line about a linen tee."},
                    ],
                    "n": 2,
                    "max_tokens": 40,
                    "temperature": 0.8,
                    "seed": 7,
                }
            ]
        }
    )

    model: str | None = Field(
        default=None, max_length=300, description="The served model's id; omitted: that model."
    )
    messages: list[ChatMessage] = Field(min_length=1, max_length=MAX_MESSAGES)
    n: int = Field(default=1, ge=1, le=MAX_N, description="Variants, sampled in one batch.")
    max_tokens: int = Field(default=256, ge=1, le=MAX_TOKENS, description="Per variant.")
    temperature: float = Field(default=1.0, ge=0, le=2, description="0: greedy.")
    stop: StopText | StopList | None = Field(
        default=None, description="Up to 4 strings; the text ends before the first one."
    )
    seed: int | None = Field(default=None, ge=0, le=2**63 - 1, description="Reproducible sampling.")
    stream: bool = Field(default=False, description="Server-sent chat.completion.chunk events.")

    @model_validator(mode="after")
    def _bounded(self) -> ChatRequest:
        total = sum(len(m.content) for m in self.messages)
        if total > MAX_CHARS:
            raise ValueError(f"messages hold {total:,} characters; at most {MAX_CHARS:,}")
        return self

    @property
    def stops(self) -> list[str] | None:
        return [self.stop] if isinstance(self.stop, str) else self.stop or None


class AssistantMessage(BaseModel):
    role: Literal["assistant"] = "assistant"
    content: str


class Choice(BaseModel):
    index: int
    message: AssistantMessage
    finish_reason: str = Field(description="stop (end of text or a stop string) or length.")


class Usage(BaseModel):
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int


class ChatCompletion(BaseModel):
    id: str
    object: Literal["chat.completion"] = "chat.completion"
    created: int = Field(description="Unix time, seconds.")
    model: str
    choices: list[Choice]
    usage: Usage


def _model(settings: Settings, asked: str | None) -> LanguageModel:
    """The served model (loaded once per process); 404 when ``asked`` names another."""
    try:
        lm = load_language_model(settings)
    except LLMError as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, detail=str(exc)) from exc
    if asked is not None and asked.casefold() != lm.model_id.casefold():
        raise HTTPException(
            status.HTTP_404_NOT_FOUND,
            detail=f"unknown model {asked!r}: this server serves the model {lm.model_id!r}",
        )
    return lm


def _generate(settings: Settings, body: ChatRequest) -> tuple[str, list[Candidate]]:
    lm = _model(settings, body.model)
    messages = [m.model_dump() for m in body.messages]
    with _errors():
        out = lm.generate(
            messages, body.n, body.max_tokens, body.temperature, body.stops, body.seed
        )
    return lm.model_id, out


def _stream(settings: Settings, body: ChatRequest) -> tuple[str, Iterator[StreamChunk]]:
    lm = _model(settings, body.model)
    messages = [m.model_dump() for m in body.messages]
    with _errors():
        return lm.model_id, lm.stream(
            messages, body.max_tokens, body.temperature, body.stops, body.seed
        )


@contextmanager
def _errors() -> Iterator[None]:
    """A prompt too long for the model → 422 at max_tokens; a failing upstream → 502."""
    try:
        yield
    except LLMRequestError as exc:
        error = {"type": "value_error", "loc": ("body", "max_tokens"), "msg": str(exc)}
        raise RequestValidationError([error]) from exc
    except LLMError as exc:
        raise HTTPException(status.HTTP_502_BAD_GATEWAY, detail=str(exc)) from exc


@router.post(
    "/chat/completions",
    response_model=ChatCompletion,
    summary="Chat completions from the served language model (OpenAI's shapes)",
    responses={
        200: {"content": {"text/event-stream": {}}, "description": "JSON, or events (stream)"},
        404: {"model": ErrorResponse, "description": "Another model than the one served"},
        409: {"model": ErrorResponse, "description": "The configured model does not load"},
        422: {"model": InvalidRequest, "description": "Over a limit, or a prompt too long"},
        502: {"model": ErrorResponse, "description": "The upstream server (openai backend) failed"},
        503: {"model": ErrorResponse, "description": "Every model slot busy (Retry-After)"},
    },
    openapi_extra=rate_cost(1, per_units=TOKENS_PER_RATE_TOKEN),
)
async def chat_completions(
    body: ChatRequest, request: Request, settings: SettingsDep
) -> ChatCompletion | StreamingResponse:
    """``n`` variants of the assistant's next message, in one batch."""
    charge_units(request, body.n * body.max_tokens)
    ident, created = f"chatcmpl-{uuid.uuid4().hex}", int(time.time())

    def head(model_id: str) -> dict[str, Any]:
        return {
            "id": ident,
            "object": "chat.completion.chunk",
            "created": created,
            "model": model_id,
        }

    if body.stream and body.n == 1:
        slot = AsyncExitStack()
        await slot.enter_async_context(work_slot(request))
        try:
            model_id, pieces = await run_in_threadpool(_stream, settings, body)
        except BaseException:
            await slot.aclose()
            raise
        return _sse(_live_events(head(model_id), pieces, slot))
    async with work_slot(request):
        model_id, candidates = await run_in_threadpool(_generate, settings, body)
    if body.stream:
        return _sse(_done_events(head(model_id), candidates))
    completion = sum(c.completion_tokens or 0 for c in candidates)
    prompt = candidates[0].prompt_tokens or 0
    return ChatCompletion(
        id=ident,
        created=created,
        model=model_id,
        choices=[
            Choice(index=i, message=AssistantMessage(content=c.text), finish_reason=c.finish_reason)
            for i, c in enumerate(candidates)
        ],
        usage=Usage(
            prompt_tokens=prompt, completion_tokens=completion, total_tokens=prompt + completion
        ),
    )


def _sse(events: AsyncIterator[str]) -> StreamingResponse:
    headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    return StreamingResponse(events, media_type="text/event-stream", headers=headers)


def _event(head: dict[str, Any], index: int, delta: dict[str, str], reason: str | None) -> str:
    chunk = {**head, "choices": [{"index": index, "delta": delta, "finish_reason": reason}]}
    return f"data: {json.dumps(chunk, ensure_ascii=False)}\n\n"


async def _live_events(
    head: dict[str, Any], pieces: Iterator[StreamChunk], slot: AsyncExitStack
) -> AsyncIterator[str]:
    """One variant's pieces as they come, holding the model slot until the end (or until
    the client goes away, which stops the generation)."""
    try:
        yield _event(head, 0, {"role": "assistant"}, None)
        while True:
            chunk = await run_in_threadpool(next, pieces, None)
            if chunk is None:
                break
            if chunk.text:
                yield _event(head, 0, {"content": chunk.text}, None)
            if chunk.finish_reason:
                yield _event(head, 0, {}, chunk.finish_reason)
        yield "data: [DONE]\n\n"
    except LLMError as exc:
        yield f"data: {json.dumps({'error': {'message': str(exc)}}, ensure_ascii=False)}\n\n"
    finally:
        close = getattr(pieces, "close", None)
        if close is not None:
            with suppress(ValueError):  # a generator still running in the thread pool
                close()
        await slot.aclose()


async def _done_events(head: dict[str, Any], candidates: list[Candidate]) -> AsyncIterator[str]:
    """Several variants, generated together, sent as events one after another."""
    for i, c in enumerate(candidates):
        yield _event(head, i, {"role": "assistant"}, None)
        if c.text:
            yield _event(head, i, {"content": c.text}, None)
        yield _event(head, i, {}, c.finish_reason)
    yield "data: [DONE]\n\n"
