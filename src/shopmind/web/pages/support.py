"""Support inbox: the conversations a person should read first, the requests queued for a
person, the questions nobody answered, and what the assistant answers from.

Every read calls the same functions as the REST routes (``api/routers/support.py``):
``store.support`` for conversations and requests, ``support.inbox`` for the grouped
questions and the knowledge index. Every change is a POST with the session's CSRF token
that only an admin may send (``AdminFormDep``); viewers read. A person's reply is
redacted (``support.guard.redact``) before it is stored, as the REST route does.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Form, HTTPException, Path, Query, Request, UploadFile
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from shopmind.api.deps import job_runner
from shopmind.api.throttle import work_slot
from shopmind.jobs import JobError, recent_jobs
from shopmind.store import jobs as jobstore
from shopmind.store import support as records
from shopmind.web.app import render
from shopmind.web.auth import AdminFormDep, ViewerDep, safe_next
from shopmind.web.pages.imports import display_name, save_upload

router = APIRouter()
TABS = ("conversations", "requests", "unanswered", "knowledge")
SECTIONS = ("handover", "open", "closed")  # needing a person first
SOURCES = ("page", "faq", "product")
PER_PAGE = 25
GROUPS_SHOWN = 20
SOURCES_SHOWN = 200
JOB_KINDS = ("support.index", "support.train")
ConvId = Annotated[int, Path(ge=1, le=2**31 - 1)]
Word = Annotated[str, Query(max_length=16)]


def _statuses(tab: str) -> tuple[str, ...]:
    return (*records.REQUEST_STATUSES, "all") if tab == "requests" else records.STATUSES


def _check_filters(tab: str, status: str, source: str) -> None:
    if tab not in TABS:
        raise HTTPException(422, detail=f"tab: one of {', '.join(TABS)}")
    if status and status not in _statuses(tab):
        raise HTTPException(422, detail=f"status: one of {', '.join(_statuses(tab))}")
    if source and source not in SOURCES:
        raise HTTPException(422, detail=f"source: one of {', '.join(SOURCES)}")


# -- what each tab shows ---------------------------------------------------------------


def _conversations(request: Request, status: str, page: int) -> dict[str, Any]:
    """One list per status (needing a person first), or one status a page at a time."""
    store = request.app.state.store
    if not status:
        rows = {s: records.list_conversations(store, s, PER_PAGE + 1) for s in SECTIONS}
        return {"sections": [(s, rows[s][:PER_PAGE], len(rows[s]) > PER_PAGE) for s in SECTIONS]}
    rows = records.list_conversations(store, status, PER_PAGE + 1, (page - 1) * PER_PAGE)
    return {"sections": [(status, rows[:PER_PAGE], False)], "more": len(rows) > PER_PAGE}


def _requests(request: Request, status: str, page: int) -> dict[str, Any]:
    found = records.list_requests(request.app.state.store, None if status == "all" else status)
    return {"requests": found}


def _unanswered(request: Request, status: str, page: int) -> dict[str, Any]:
    from shopmind.support.inbox import group_unanswered

    groups = group_unanswered(records.unanswered(request.app.state.store))
    return {"groups": groups[:GROUPS_SHOWN]}


def _knowledge(request: Request, source: str) -> dict[str, Any]:
    from shopmind.support.inbox import knowledge_summary

    settings = request.app.state.settings
    found = knowledge_summary(request.app.state.store, settings.models_dir)
    entries = [s for s in found["sources"] if not source or s["source"] == source]
    for entry in entries:
        entry["href"] = _source_link(entry)
    return {"knowledge": found, "entries": entries[:SOURCES_SHOWN], "entry_count": len(entries)}


def _source_link(entry: dict[str, Any]) -> str | None:
    """Where a passage's source can be read: its own address when it is a web one, a
    product in the dashboard's product list, else nowhere."""
    url = entry.get("url") or ""
    if url.startswith(("https://", "http://")):
        return url
    if entry.get("source") == "product":
        return "/products?q=" + quote(str(entry["ref"]), safe="")
    return None


def _jobs(request: Request) -> list[Any]:
    recent = recent_jobs(request.app.state.store, request.app.state.settings, 30)
    return [j for j in recent if j.kind in JOB_KINDS][:5]


def _upload_mb(request: Request) -> int:
    from shopmind.api.app import MAX_BODY_BYTES  # any page body but the Imports upload's

    return min(request.app.state.settings.upload_max_mb, MAX_BODY_BYTES // 2**20)


MODEL_TABS = ("unanswered", "knowledge")  # they embed text: one of the model slots each


def _load(request: Request, tab: str, status: str, source: str, page: int) -> dict[str, Any]:
    if tab == "conversations":
        return _conversations(request, status, page)
    if tab == "requests":
        return _requests(request, status, page)
    if tab == "unanswered":
        return _unanswered(request, status, page)
    return _knowledge(request, source) | {"jobs": _jobs(request), "upload_mb": _upload_mb(request)}


async def _tab(request: Request, tab: str, status: str = "", source: str = "", page: int = 1,
               context: dict[str, Any] | None = None, status_code: int = 200
               ) -> Response:  # fmt: skip
    """The inbox on one tab."""
    if tab in MODEL_TABS:
        async with work_slot(request):
            data = await run_in_threadpool(_load, request, tab, status, source, page)
    else:
        data = await run_in_threadpool(_load, request, tab, status, source, page)
    counts = await run_in_threadpool(records.counts, request.app.state.store)
    base = {"tab": tab, "tabs": TABS, "status": status, "statuses": _statuses(tab),
            "source": source, "sources": SOURCES, "page": page, "counts": counts,
            "error": "", "message": ""}  # fmt: skip
    return render(request, "support.html", base | data | (context or {}), status_code=status_code)


@router.get("/support")
async def support_page(
    request: Request,
    viewer: ViewerDep,
    tab: Word = "conversations",
    status: Word = "",
    source: Word = "",
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
) -> Response:
    _check_filters(tab, status, source)
    if tab == "requests" and not status:
        status = "queued"
    return await _tab(request, tab, status, source, page)


# -- one conversation -------------------------------------------------------------------


def _detail(request: Request, conversation_id: int) -> dict[str, Any]:
    try:
        found = records.conversation_detail(request.app.state.store, conversation_id)
    except records.SupportRecordError as exc:
        raise HTTPException(404, detail=str(exc)) from None
    for message in found["messages"]:
        message["citations"] = [c | {"href": _source_link(c)} for c in message["citations"]]
    return found


@router.get("/support/conversations/{conversation_id}")
def conversation_page(request: Request, viewer: ViewerDep, conversation_id: ConvId) -> Response:
    return render(request, "support_conversation.html", {"c": _detail(request, conversation_id)})


def _back(conversation_id: int) -> RedirectResponse:
    return RedirectResponse(f"/support/conversations/{conversation_id}#latest", status_code=303)


@router.post("/support/conversations/{conversation_id}/reply")
def reply(
    request: Request,
    viewer: AdminFormDep,
    conversation_id: ConvId,
    text: Annotated[str, Form(max_length=5000)] = "",
) -> Response:
    from shopmind.support.guard import redact

    if not text.strip():
        detail = _detail(request, conversation_id)
        return render(request, "support_conversation.html",
                      {"c": detail, "error": "text: write the answer first"}, 422)  # fmt: skip
    try:
        records.agent_reply(request.app.state.store, conversation_id, redact(text.strip()),
                            viewer.email)  # fmt: skip
    except records.SupportRecordError as exc:
        raise HTTPException(404, detail=str(exc)) from None
    return _back(conversation_id)


@router.post("/support/conversations/{conversation_id}/status")
def change_status(
    request: Request,
    viewer: AdminFormDep,
    conversation_id: ConvId,
    status: Annotated[str, Form(max_length=16)] = "",
) -> Response:
    try:
        records.set_status(request.app.state.store, conversation_id, status, viewer.email)
    except records.SupportRecordError as exc:
        missing = status in records.STATUSES
        raise HTTPException(404 if missing else 422, detail=str(exc)) from None
    return _back(conversation_id)


@router.post("/support/requests/{request_id}")
def decide(
    request: Request,
    viewer: AdminFormDep,
    request_id: Annotated[int, Path(ge=1, le=2**31 - 1)],
    status: Annotated[str, Form(max_length=16)] = "",
    note: Annotated[str, Form(max_length=5000)] = "",
    back: Annotated[str, Form(max_length=300)] = "",
) -> Response:
    if status not in ("done", "declined"):
        raise HTTPException(422, detail="status: done or declined")
    try:
        records.decide_request(request.app.state.store, request_id, status, viewer.email,
                               note.strip())  # fmt: skip
    except records.SupportRecordError as exc:
        raise HTTPException(404, detail=str(exc)) from None
    target = safe_next(back)
    if not target.startswith("/support"):
        target = "/support?tab=requests"
    return RedirectResponse(target, status_code=303)


# -- the knowledge: re-index, train ---------------------------------------------------------


async def _start(request: Request, viewer: Any, kind: str, params: dict[str, Any]) -> Response:
    try:
        job_id = job_runner(request).submit(kind, params, created_by=viewer.email)
    except (JobError, jobstore.JobConflict) as exc:
        return await _tab(request, "knowledge", context={"error": str(exc)}, status_code=409)
    return RedirectResponse(f"/jobs/{job_id}", status_code=303)


@router.post("/support/index")
async def reindex(request: Request, viewer: AdminFormDep) -> Response:
    return await _start(request, viewer, "support.index", {})


@router.post("/support/train")
async def train(request: Request, viewer: AdminFormDep, file: UploadFile) -> Response:
    path = await save_upload(request, file)
    return await _start(request, viewer, "support.train",
                        {"path": path.name, "file_name": display_name(path)})  # fmt: skip
