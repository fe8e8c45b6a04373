"""Content: write copy for chosen products or the whole catalogue (a job), review the
drafts with their checks, edit, approve or reject them, download the exports."""

from __future__ import annotations

import io
import json
from typing import Annotated, Any

from fastapi import APIRouter, Form, HTTPException, Path, Query, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select

from shopmind.api.deps import job_runner
from shopmind.content import SPECS, TASKS
from shopmind.content.generate import MAX_VARIANTS, WRITERS
from shopmind.content.html import sanitize
from shopmind.content.run import edit_problems
from shopmind.content.tune import registry as tuned_registry
from shopmind.jobs import JobError, recent_jobs
from shopmind.models.registry import RegistryError
from shopmind.store import content as drafts
from shopmind.store import jobs as jobstore
from shopmind.store.catalog import search_products
from shopmind.store.models import Product
from shopmind.web.app import render
from shopmind.web.auth import AdminFormDep, ViewerDep

router = APIRouter()
PER_PAGE = 30
PICK = 50  # products offered in the picker
Short = Annotated[str, Query(max_length=255, pattern=r"^[^\x00-\x1f\x7f]*$")]


def _shown(task: str, fields: dict[str, Any]) -> list[dict[str, Any]]:
    """A draft's fields as the page shows them, in the spec's order (HTML sanitised
    again, whoever stored it)."""
    out = []
    for f in SPECS[task].fields if task in SPECS else ():
        value = fields.get(f.name)
        if value in (None, "", []):
            continue
        item: dict[str, Any] = {"name": f.name, "kind": f.kind, "value": value}
        if f.kind == "html" and isinstance(value, str):
            item["html"] = sanitize(value)
        out.append(item)
    return out


def _form_value(task: str, name: str, value: Any) -> str:
    f = SPECS[task].field(name)
    if f.kind == "texts":
        return "\n".join(str(v) for v in value or [])
    if f.kind == "records":
        return json.dumps(value or [], ensure_ascii=False, indent=1)
    return str(value or "")


def _titles(store: Any, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    with store.session() as s:
        return dict(s.execute(select(Product.id, Product.title).where(Product.id.in_(ids))).all())


def _page(
    request: Request,
    *,
    status: str = "",
    task: str = "",
    product: str = "",
    q: str = "",
    job: int | None = None,
    page: int = 1,
    message: str = "",
    error: str = "",
    status_code: int = 200,
) -> Response:
    store = request.app.state.store
    settings = request.app.state.settings
    found = drafts.list_drafts(
        store, status=status or None, task=task or None, product_key=product or None,
        job_id=job, limit=PER_PAGE + 1, offset=(page - 1) * PER_PAGE,
    )  # fmt: skip
    more = len(found) > PER_PAGE
    titles = _titles(store, {d.product_id for d in found if d.product_id})
    rows = [{"draft": d, "fields": _shown(d.task, d.fields), "title": titles.get(d.product_id)}
            for d in found[:PER_PAGE]]  # fmt: skip
    picker = search_products(store, q, per_page=PICK)
    jobs = [j for j in recent_jobs(store, settings, 20) if j.kind.startswith("content.")][:5]
    try:
        tuned = tuned_registry(settings.models_dir).current()
    except RegistryError:
        tuned = None
    return render(
        request,
        "content.html",
        {
            "rows": rows,
            "more": more,
            "page": page,
            "filters": {"status": status, "task": task, "product": product, "job": job},
            "tasks": TASKS,
            "statuses": drafts.STATUSES,
            "writers": WRITERS,
            "max_variants": MAX_VARIANTS,
            "picker": picker,
            "q": q,
            "jobs": jobs,
            "message": message,
            "error": error,
            "backend": settings.llm_backend,
            "tuned": tuned,
            "use_tuned": settings.content_tuned,
        },
        status_code=status_code,
    )


@router.get("/content")
def content_page(
    request: Request,
    viewer: ViewerDep,
    status: Short = "",
    task: Short = "",
    product: Short = "",
    q: Annotated[str, Query(max_length=200)] = "",
    job: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> Response:
    status = status if status in drafts.STATUSES else ""
    task = task if task in TASKS else ""
    return _page(request, status=status, task=task, product=product, q=q, job=job, page=page)


@router.post("/content/generate")
def start_generate(
    request: Request,
    viewer: AdminFormDep,
    task: Annotated[str, Form(max_length=32)],
    scope: Annotated[str, Form(max_length=16)] = "chosen",
    product_ids: Annotated[list[str] | None, Form(max_length=PICK)] = None,
    language: Annotated[str, Form(max_length=4)] = "auto",
    n: Annotated[int, Form(ge=1, le=MAX_VARIANTS)] = 3,
    writer: Annotated[str, Form(max_length=8)] = "model",
    redo: Annotated[bool, Form()] = False,
) -> Response:
    params: dict[str, Any] = {"task": task, "language": language, "n": n, "writer": writer,
                              "redo": redo}  # fmt: skip
    if scope != "all":
        if not product_ids:
            return _page(request, error="product_ids: choose at least one product, or all",
                         status_code=422)  # fmt: skip
        params["product_ids"] = list(dict.fromkeys(product_ids))
    try:
        job_id = job_runner(request).submit("content.generate", params, created_by=viewer.email)
    except (JobError, jobstore.JobConflict) as exc:
        return _page(request, error=str(exc), status_code=409)
    return RedirectResponse(f"/jobs/{job_id}", status_code=303)


@router.post("/content/tune")
def start_tune(request: Request, viewer: AdminFormDep) -> Response:
    try:
        job_id = job_runner(request).submit("content.tune", {}, created_by=viewer.email)
    except (JobError, jobstore.JobConflict) as exc:
        return _page(request, error=str(exc), status_code=409)
    return RedirectResponse(f"/jobs/{job_id}", status_code=303)


@router.post("/content/article")
def start_article(
    request: Request,
    viewer: AdminFormDep,
    topic: Annotated[str, Form(max_length=200)],
    k: Annotated[int, Form(ge=1, le=8)] = 4,
    language: Annotated[str, Form(max_length=4)] = "auto",
    writer: Annotated[str, Form(max_length=8)] = "model",
) -> Response:
    params = {"topic": topic, "k": k, "language": language, "writer": writer}
    try:
        job_id = job_runner(request).submit("content.article", params, created_by=viewer.email)
    except (JobError, jobstore.JobConflict) as exc:
        return _page(request, error=str(exc), status_code=409)
    return RedirectResponse(f"/jobs/{job_id}", status_code=303)


EXPORTS = {  # format → (file name, media type)
    "shopify-csv": ("shopify-products.csv", "text/csv; charset=utf-8"),
    "gmc-tsv": ("google-merchant.tsv", "text/tab-separated-values; charset=utf-8"),
    "gmc-xml": ("google-merchant.xml", "application/xml"),
}


@router.get("/content/export")
def download_export(
    request: Request,
    viewer: ViewerDep,
    format: Annotated[str, Query(max_length=16)] = "shopify-csv",
    language: Annotated[str, Query(max_length=4)] = "en",
    shop_url: Annotated[str, Query(max_length=2000)] = "",
) -> Response:
    """An export of the approved copy as a download (``shopmind content export``)."""
    from shopmind.content import export

    if format not in EXPORTS:
        return _page(request, error=f"format: must be one of {', '.join(EXPORTS)}",
                     status_code=422)  # fmt: skip
    if format != "shopify-csv" and not shop_url:
        return _page(request, error="shop_url: the feed needs the shop's address for its links",
                     status_code=422)  # fmt: skip
    store = request.app.state.store
    try:
        if format == "gmc-xml":
            body, _ = export.google_merchant_xml_bytes(store, language, shop_url=shop_url)
        else:
            text = io.StringIO(newline="")
            export.write(store, format, text, language, shop_url=shop_url)
            body = text.getvalue().encode("utf-8")
    except ValueError as exc:
        return _page(request, error=str(exc), status_code=422)
    name, media = EXPORTS[format]
    headers = {"Content-Disposition": f'attachment; filename="{name}"'}
    return Response(body, media_type=media, headers=headers)


def _draft(request: Request, draft_id: int) -> drafts.DraftView:
    try:
        return drafts.get_draft(request.app.state.store, draft_id)
    except drafts.DraftNotFound:
        raise HTTPException(404, detail=f"no content draft {draft_id}") from None


DraftId = Annotated[int, Path(ge=1, le=2**31 - 1)]


@router.post("/content/drafts/{draft_id}/decide")
def decide_draft(
    request: Request,
    viewer: AdminFormDep,
    draft_id: DraftId,
    status: Annotated[str, Form(max_length=16)],
    back: Annotated[str, Form(max_length=2000)] = "/content",
) -> Response:
    _draft(request, draft_id)
    if status not in drafts.STATUSES:
        raise HTTPException(422, detail=f"status: must be one of {', '.join(drafts.STATUSES)}")
    drafts.decide(request.app.state.store, draft_id, status, by=viewer.email)
    target = back if back.startswith("/content") and "//" not in back else "/content"
    return RedirectResponse(target, status_code=303)


def _edit_page(
    request: Request, draft: drafts.DraftView, values: dict[str, str], error: str = "",
    status_code: int = 200,
) -> Response:  # fmt: skip
    fields = [
        {"name": f.name, "kind": f.kind, "value": values.get(f.name, ""), "doc": f.doc,
         "max_chars": f.max_chars, "single_line": f.single_line and f.kind == "text"}
        for f in SPECS[draft.task].fields
    ]  # fmt: skip
    context = {"draft": draft, "fields": fields, "error": error}
    return render(request, "content_edit.html", context, status_code=status_code)


@router.get("/content/drafts/{draft_id}")
def edit_form(request: Request, viewer: ViewerDep, draft_id: DraftId) -> Response:
    draft = _draft(request, draft_id)
    values = {f.name: _form_value(draft.task, f.name, draft.fields.get(f.name))
              for f in SPECS[draft.task].fields}  # fmt: skip
    return _edit_page(request, draft, values)


@router.post("/content/drafts/{draft_id}")
async def save_edit(request: Request, viewer: AdminFormDep, draft_id: DraftId) -> Response:
    draft = _draft(request, draft_id)
    form = await request.form()
    values = {f.name: str(form.get(f"field_{f.name}", ""))[:20_000]
              for f in SPECS[draft.task].fields}  # fmt: skip
    fields: dict[str, Any] = {}
    for f in SPECS[draft.task].fields:
        raw = values[f.name].replace("\r\n", "\n")
        if f.kind == "texts":
            items = [line.strip() for line in raw.split("\n") if line.strip()]
            if items:
                fields[f.name] = items
        elif f.kind == "records":
            try:
                parsed = json.loads(raw) if raw.strip() else []
            except json.JSONDecodeError as exc:
                return _edit_page(request, draft, values, f"{f.name}: not JSON ({exc.msg})", 422)
            if parsed:
                fields[f.name] = parsed
        elif raw.strip():
            fields[f.name] = raw.strip()
    problems = edit_problems(draft.task, fields)
    if problems:
        return _edit_page(request, draft, values, "; ".join(problems), 422)
    drafts.edit(request.app.state.store, draft_id, fields, by=viewer.email)
    return RedirectResponse(f"/content?product={draft.product_key}", status_code=303)
