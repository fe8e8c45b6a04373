"""The support assistant over HTTP, and the inbox a person works from.

``POST /v1/support/chat`` answers one shopper message — ``{"message", "session",
"product", "stream"}`` → ``{"session", "answer", "citations", "intent", "confidence",
"handover", "handover_reason", "outcome", …}``, what ``shopmind support ask --json``
prints. With ``"stream": true`` the answer comes as server-sent events: one
``{"type": "sentence", "text"}`` per checked sentence, then ``{"type": "done", …}``.
The inbox routes list conversations, hand-overs and queued requests, let a person reply,
close, reopen and decide, and group the questions nobody answered.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Path, Query, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import iterate_in_threadpool, run_in_threadpool

from shopmind.api.deps import SettingsDep, StoreDep
from shopmind.api.schemas import ErrorResponse, InvalidRequest
from shopmind.api.throttle import work_slot
from shopmind.config import Settings
from shopmind.store import support as records
from shopmind.store.db import Store

router = APIRouter(tags=["support"])
Message = Annotated[str, Field(min_length=1, max_length=2000)]
Key = Annotated[str | None, Field(max_length=64, pattern=r"^[A-Za-z0-9_-]*$")]
Ref = Annotated[str | None, Field(max_length=255, pattern=r"^[^\x00-\x1f\x7f]*$")]
MAX_ID = 2**31 - 1  # the tables' integer ids
ConvId = Annotated[int, Path(ge=1, le=MAX_ID)]


class ChatRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    message: Message
    session: Key = None
    product: Ref = None
    stream: bool = False


class Citation(BaseModel):
    n: int
    title: str
    url: str | None
    source: str
    ref: str
    passage: str


class ChatReply(BaseModel):
    """``outcome``: answered, not_stated, declined, handover, waiting, verify,
    verify_failed, order_status, queued, refused, smalltalk or repeated_failure."""

    session: str
    answer: str
    citations: list[Citation]
    intent: str | None
    confidence: float | None
    handover: bool
    handover_reason: str | None
    outcome: str
    language: str
    request: dict[str, Any] | None
    writer: str | None


def assistant(store: Store, settings: Settings) -> Any:
    from shopmind.support.assistant import Assistant

    return Assistant(store, settings)


def sse(events: Iterator[dict[str, Any]]) -> StreamingResponse:
    def lines() -> Iterator[str]:
        for event in events:
            yield f"data: {json.dumps(event, ensure_ascii=False)}\n\n"

    headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    return StreamingResponse(iterate_in_threadpool(lines()), media_type="text/event-stream",
                             headers=headers)  # fmt: skip


async def answer(request: Request, store: Store, settings: Settings, body: ChatRequest,
                 channel: str) -> ChatReply | StreamingResponse:  # fmt: skip
    from shopmind.support.assistant import SupportError

    bot = assistant(store, settings)
    try:
        async with work_slot(request):
            if body.stream:  # the turn runs (and is stored) before the first event is sent
                events = await run_in_threadpool(
                    lambda: list(bot.stream(body.message, body.session, channel, body.product))
                )
                return sse(iter(events))
            reply = await run_in_threadpool(bot.chat, body.message, body.session, channel,
                                            body.product)  # fmt: skip
    except SupportError as exc:
        raise HTTPException(422, str(exc)) from None
    return ChatReply(**reply.as_dict())


@router.post(
    "/support/chat",
    summary="One shopper message to the support assistant",
    responses={200: {"content": {"text/event-stream": {}}}, 422: {"model": InvalidRequest}},
)
async def support_chat(body: ChatRequest, request: Request, store: StoreDep,
                       settings: SettingsDep) -> ChatReply:  # fmt: skip
    return await answer(request, store, settings, body, "api")  # type: ignore[return-value]


class ConversationSummary(BaseModel):
    id: int
    channel: str
    language: str
    status: str
    handover_reason: str | None
    turns: int
    verified_order: bool
    last_message: str
    queued_requests: int
    created_at: str
    updated_at: str


class SupportMessage(BaseModel):
    id: int
    role: str
    text: str
    intent: str | None
    confidence: float | None
    outcome: str | None
    citations: list[dict[str, Any]]
    author: str
    created_at: str


class SupportRequestOut(BaseModel):
    id: int
    conversation_id: int
    kind: str
    order: str | None
    details: str
    status: str
    created_at: str
    decided_at: str | None
    decided_by: str
    note: str


class ConversationDetail(ConversationSummary):
    order: str | None
    messages: list[SupportMessage]
    requests: list[SupportRequestOut]


@router.get("/support/conversations", summary="Conversations, newest first")
def conversations(
    store: StoreDep,
    status: Annotated[Literal["open", "handover", "closed"] | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_ID)] = 0,
) -> list[ConversationSummary]:
    rows = records.list_conversations(store, status, limit, offset)
    return [ConversationSummary(**r) for r in rows]


def _missing(exc: records.SupportRecordError) -> HTTPException:
    return HTTPException(404, str(exc))


@router.get("/support/conversations/{conversation_id}", summary="One conversation in full",
            responses={404: {"model": ErrorResponse}})  # fmt: skip
def conversation(conversation_id: ConvId, store: StoreDep) -> ConversationDetail:
    try:
        return ConversationDetail(**records.conversation_detail(store, conversation_id))
    except records.SupportRecordError as exc:
        raise _missing(exc) from None


class AgentReply(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: Annotated[str, Field(min_length=1, max_length=5000)]
    author: Annotated[str, Field(min_length=1, max_length=320)] = "api"


@router.post("/support/conversations/{conversation_id}/reply",
             summary="A person answers in a conversation",
             responses={404: {"model": ErrorResponse}})  # fmt: skip
def reply(conversation_id: ConvId, body: AgentReply, store: StoreDep) -> ConversationDetail:
    from shopmind.support.guard import redact

    try:
        records.agent_reply(store, conversation_id, redact(body.text), body.author)
        return ConversationDetail(**records.conversation_detail(store, conversation_id))
    except records.SupportRecordError as exc:
        raise _missing(exc) from None


class StatusChange(BaseModel):
    model_config = ConfigDict(extra="forbid")
    status: Literal["open", "handover", "closed"]
    by: Annotated[str, Field(max_length=320)] = "api"


@router.post("/support/conversations/{conversation_id}/status",
             summary="Close, reopen or hand over a conversation",
             responses={404: {"model": ErrorResponse}})  # fmt: skip
def set_status(conversation_id: ConvId, body: StatusChange, store: StoreDep
               ) -> ConversationDetail:  # fmt: skip
    try:
        records.set_status(store, conversation_id, body.status, body.by)
        return ConversationDetail(**records.conversation_detail(store, conversation_id))
    except records.SupportRecordError as exc:
        raise _missing(exc) from None


@router.get("/support/requests", summary="Requests queued for a person")
def requests(
    store: StoreDep,
    status: Annotated[Literal["queued", "done", "declined"] | None, Query()] = "queued",
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[SupportRequestOut]:
    return [SupportRequestOut(**r) for r in records.list_requests(store, status, limit)]


class Decision(BaseModel):
    model_config = ConfigDict(extra="forbid")
    status: Literal["done", "declined"]
    note: Annotated[str, Field(max_length=5000)] = ""
    by: Annotated[str, Field(max_length=320)] = "api"


@router.post("/support/requests/{request_id}", summary="Mark a queued request done or declined",
             responses={404: {"model": ErrorResponse}})  # fmt: skip
def decide(request_id: Annotated[int, Path(ge=1, le=MAX_ID)], body: Decision, store: StoreDep
           ) -> SupportRequestOut:  # fmt: skip
    try:
        return SupportRequestOut(**records.decide_request(store, request_id, body.status,
                                                          body.by, body.note))  # fmt: skip
    except records.SupportRecordError as exc:
        raise _missing(exc) from None


class UnansweredGroup(BaseModel):
    """Questions the assistant could not answer, grouped by meaning: ``example`` is the
    most typical one, ``count`` how many were asked, ``questions`` a few of them."""

    example: str
    count: int
    questions: list[str]
    last_asked: str


@router.get("/support/unanswered", summary="Unanswered questions, grouped")
def unanswered(store: StoreDep, limit: Annotated[int, Query(ge=1, le=100)] = 20
               ) -> list[UnansweredGroup]:  # fmt: skip
    from shopmind.support.inbox import group_unanswered

    return [UnansweredGroup(**g) for g in group_unanswered(records.unanswered(store))[:limit]]


class KnowledgeSource(BaseModel):
    ref: str
    source: str
    title: str
    url: str | None
    passages: int
    language: str


class Knowledge(BaseModel):
    passages: int
    by_source: dict[str, int]
    sources: list[KnowledgeSource]


@router.get("/support/knowledge", summary="What the assistant answers from")
async def knowledge(request: Request, store: StoreDep, settings: SettingsDep) -> Knowledge:
    from shopmind.support.inbox import knowledge_summary

    async with work_slot(request):
        found = await run_in_threadpool(knowledge_summary, store, settings.models_dir)
    return Knowledge(**found)


class IntentsRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    texts: Annotated[list[Message], Field(min_length=1, max_length=256)]


class IntentOut(BaseModel):
    text: str
    intent: str
    best: str
    confidence: float
    group: str


@router.post("/support/intents", summary="The intent of each message")
async def intents(body: IntentsRequest, request: Request, settings: SettingsDep
                  ) -> list[IntentOut]:  # fmt: skip
    from shopmind.support.intent_examples import GROUPS
    from shopmind.support.intents import load_intents

    def run() -> list[IntentOut]:
        clf = load_intents(settings.models_dir)
        floor = settings.support_min_confidence
        out = []
        for text, p in zip(body.texts, clf.predict(body.texts), strict=True):
            sure = p.confidence >= floor
            out.append(
                IntentOut(
                    text=text,
                    intent=p.best if sure else "unknown",
                    best=p.best,
                    confidence=round(float(p.confidence), 4),
                    group=GROUPS.get(p.best, "unknown") if sure else "unknown",
                )
            )
        return out  # fmt: skip

    async with work_slot(request):
        return await run_in_threadpool(run)
