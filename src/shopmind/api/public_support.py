"""The storefront's support chat: the chat widget's script and the two routes it calls.

- ``GET /chat-widget.js`` — the script a merchant pastes into the shop's theme;
- ``POST /public/v1/support/chat?key=pk_…`` — one shopper message,
  ``{"message", "session"?, "product"?, "stream"?}``, sent as ``text/plain`` or
  ``application/json`` (a plain-text body needs no CORS preflight), at most
  ``MAX_BODY_BYTES``. The assistant answers on the ``widget`` channel; with
  ``"stream": true`` the answer comes as server-sent events, ``{"type": "sentence",
  "text"}`` then ``{"type": "done", …}``;
- ``GET /public/v1/support/messages?key=pk_…&session=…&after=ID`` — the messages of that
  one conversation after message ``ID``: how the widget shows a person's reply after a
  hand-over (``404`` for a session nobody made).

The publishable key is checked as for the recommendation widget (``api.public._key``:
origins, ``401`` / ``403`` / ``429``). The session key (``cs_…``, made by the server,
unguessable) is what scopes a conversation: a widget reads the conversation whose key it
holds, and only that.

What the widget gets is a subset of what the secret-key route ``POST /v1/support/chat``
gives the same shopper: the answer, its citations (number, title, and the address only
when it is ``http(s)``), whether and why a person takes over, the outcome, the language,
and a queued request's kind, order and status. The intent, its confidence, the writer,
the request's id, stored passages' ids and an agent's name are left out. Errors are JSON
``{"detail"}`` naming no server path; once the key and origin check out they carry the
CORS header, so the widget can say why.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request, Response
from fastapi.responses import FileResponse, JSONResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.concurrency import run_in_threadpool

from shopmind.api.public import _cors, _key, _lookup
from shopmind.api.routers.support import Key, Message, Ref, assistant, sse
from shopmind.api.throttle import work_slot
from shopmind.api.validation import find_lone_surrogate
from shopmind.models.work import ModelBusy
from shopmind.store import support as records
from shopmind.store.db import Store
from shopmind.store.publishable import KeyInfo

router = APIRouter(tags=["storefront"])
SCRIPT = Path(__file__).resolve().parents[1] / "web" / "static" / "chat-widget.js"
MAX_BODY_BYTES = 10_000
MAX_MESSAGES = 200  # messages one poll returns (the widget asks again after the last)
SessionKey = Annotated[str, Query(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]
PublicKey = Annotated[str, Query(min_length=1, max_length=100)]
ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "Unknown or revoked publishable key"},
    403: {"description": "Origin not allowed for this key"},
    429: {"description": "Too many requests from this client (Retry-After)"},
}
log = logging.getLogger(__name__)


class WidgetChat(BaseModel):
    model_config = ConfigDict(extra="forbid")
    message: Message
    session: Key = None
    product: Ref = None
    stream: bool = False


class WidgetCitation(BaseModel):
    n: int
    title: str
    url: str | None = Field(description="The page's address, only when it is http(s).")


class WidgetRequest(BaseModel):
    kind: str
    order: str | None
    status: str


class WidgetReply(BaseModel):
    session: str
    answer: str
    citations: list[WidgetCitation]
    handover: bool
    handover_reason: str | None
    outcome: str
    language: str
    request: WidgetRequest | None


class WidgetMessage(BaseModel):
    id: int
    role: str = Field(description="shopper, assistant or agent (a person of the shop).")
    text: str
    citations: list[WidgetCitation]
    created_at: str


class WidgetMessages(BaseModel):
    status: str = Field(description="open, handover (a person has it) or closed.")
    messages: list[WidgetMessage]


@router.get("/chat-widget.js", include_in_schema=False)
def chat_widget_script() -> Response:
    return FileResponse(SCRIPT, media_type="text/javascript; charset=utf-8",
                        headers={"Cache-Control": "public, max-age=300"})  # fmt: skip


def _citations(found: list[dict[str, Any]]) -> list[dict[str, Any]]:
    def url(value: Any) -> str | None:
        ok = isinstance(value, str) and value.lower().startswith(("https://", "http://"))
        return value if ok else None

    return [{"n": c.get("n", i + 1), "title": str(c.get("title") or ""), "url": url(c.get("url"))}
            for i, c in enumerate(found)]  # fmt: skip


def public_reply(reply: dict[str, Any]) -> dict[str, Any]:
    """The shopper's share of ``Reply.as_dict()`` (see the module)."""
    asked = reply.get("request")
    request = None if asked is None else {"kind": asked["kind"], "order": asked.get("order"),
                                          "status": asked.get("status", "queued")}  # fmt: skip
    shown = WidgetReply(session=reply["session"], answer=reply["answer"],
                        citations=_citations(reply["citations"]), handover=reply["handover"],
                        handover_reason=reply["handover_reason"], outcome=reply["outcome"],
                        language=reply["language"], request=request)  # fmt: skip
    return shown.model_dump()


def public_event(event: dict[str, Any]) -> dict[str, Any]:
    if event["type"] == "sentence":
        return {"type": "sentence", "text": event["text"]}
    return {"type": "done", **public_reply(event)}


class Refused(Exception):
    """An error answer, returned as it is: JSON, with its headers (the dashboard's error
    pages, which take every path outside ``/v1``, would make it HTML and drop them)."""

    def __init__(self, response: JSONResponse) -> None:
        super().__init__(response.status_code)
        self.response = response


def _error(request: Request, key: str, status: int, detail: str,
           headers: dict[str, str] | None = None) -> Refused:  # fmt: skip
    """An error the widget can read: with the CORS header when key and origin are good."""
    response = JSONResponse({"detail": detail}, status_code=status, headers=headers)
    return Refused(_cors(response, request, _lookup(request, key)))  # type: ignore[arg-type]


def _checked(request: Request, key: str) -> KeyInfo:
    try:
        return _key(request, key)
    except HTTPException as exc:
        raise _error(request, key, exc.status_code, exc.detail, exc.headers) from None


async def _body(request: Request, key: str) -> WidgetChat:
    declared = request.headers.get("content-length", "")
    too_large = f"the message is too large (at most {MAX_BODY_BYTES} bytes)"
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise _error(request, key, 413, too_large)
    raw = bytearray()
    async for chunk in request.stream():
        raw += chunk
        if len(raw) > MAX_BODY_BYTES:
            raise _error(request, key, 413, too_large)
    try:
        data = json.loads(bytes(raw) or b"null")
    except (ValueError, RecursionError):
        raise _error(request, key, 422, "the body is not JSON") from None
    if find_lone_surrogate(data) is not None:
        raise _error(request, key, 422, "the body holds text that is not Unicode")
    try:
        return WidgetChat.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'body'}: {e['msg']}"
                             for e in exc.errors()[:5])  # fmt: skip
        raise _error(request, key, 422, f"not a chat message: {problems}") from None


@router.post(
    "/public/v1/support/chat",
    summary="Storefront: one shopper message to the support assistant (publishable key)",
    response_model=WidgetReply,
    responses={**ERRORS, 200: {"content": {"text/event-stream": {}}},
               413: {"description": "Body too large"}, 422: {"description": "Not a message"},
               503: {"description": "Busy (Retry-After)"}},
)  # fmt: skip
async def public_support_chat(request: Request, key: PublicKey) -> Response:
    """The body is JSON, sent as ``text/plain`` or ``application/json``:
    ``{"message", "session", "product", "stream"}``."""
    try:
        info = _checked(request, key)
        body = await _body(request, key)
        return _cors(await _answer(request, key, body), request, info)
    except Refused as refused:
        return refused.response


async def _answer(request: Request, key: str, body: WidgetChat) -> Response:
    from shopmind.support.assistant import SupportError

    state = request.app.state
    bot = assistant(state.store, state.settings)
    args = (body.message, body.session, "widget", body.product)
    try:
        async with work_slot(request):
            if body.stream:  # the turn runs (and is stored) before the first event is sent
                events = await run_in_threadpool(
                    lambda: [public_event(e) for e in bot.stream(*args)]
                )
                return sse(iter(events))
            reply = await run_in_threadpool(bot.chat, *args)
    except SupportError as exc:
        raise _error(request, key, 422, str(exc)) from None
    except ModelBusy as exc:
        raise _error(request, key, 503, f"busy, please retry in {exc.retry_after} s",
                     {"Retry-After": str(exc.retry_after)}) from None  # fmt: skip
    except Exception:  # the shopper gets a sentence, the log the trace
        log.exception("the support widget's chat failed")
        raise _error(request, key, 500, "the assistant could not answer just now") from None
    return JSONResponse(public_reply(reply.as_dict()), headers={"Cache-Control": "no-store"})


def _messages(store: Store, session: str, after: int) -> dict[str, Any] | None:
    conv = records.find_conversation(store, session)
    if conv is None:
        return None
    rows = records.messages_since(store, conv.id, after)[:MAX_MESSAGES]
    shown = [{"id": m["id"], "role": m["role"], "text": m["text"],
              "citations": _citations(m["citations"]), "created_at": m["created_at"]}
             for m in rows]  # fmt: skip
    return WidgetMessages(status=conv.status, messages=shown).model_dump()


@router.get(
    "/public/v1/support/messages",
    summary="Storefront: a conversation's messages after one (publishable key + session)",
    response_model=WidgetMessages,
    responses={**ERRORS, 404: {"description": "Unknown session"}},
)
async def public_support_messages(
    request: Request,
    key: PublicKey,
    session: SessionKey,
    after: Annotated[int, Query(ge=0, le=2**62)] = 0,
) -> Response:
    """The messages of the conversation ``session`` names with an id above ``after``,
    oldest first (at most ``MAX_MESSAGES``): its role, text, citations and time."""
    try:
        info = _checked(request, key)
    except Refused as refused:
        return refused.response
    found = await run_in_threadpool(_messages, request.app.state.store, session, after)
    if found is None:
        return _error(request, key, 404, "unknown session").response
    response = JSONResponse(found, headers={"Cache-Control": "no-store"})
    return _cors(response, request, info)
