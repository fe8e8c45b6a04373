"""Imports: upload a file, preview it with the detected columns, check it without writing,
import it as a job, download the rejected rows; the history of past imports.

An upload is streamed into the workspace's ``uploads/`` folder under a random name (the
name the merchant gave is kept only for display), up to ``upload_max_mb``. Import jobs
read only from that folder. Everything here is for admins; viewers see the history.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterable
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Request, UploadFile
from fastapi.responses import FileResponse, RedirectResponse, Response

from shopmind.api.deps import job_runner
from shopmind.jobs import JobError, recent_jobs
from shopmind.jobs.runner import uploads_dir
from shopmind.store import jobs as jobstore
from shopmind.store.importers import IMPORTERS, ImportFileError, preview_file
from shopmind.store.importers.history import list_imports
from shopmind.web.app import UPLOAD_PATH, render
from shopmind.web.auth import AdminDep, AdminFormDep, ViewerDep

router = APIRouter()
_UPLOAD_ID = re.compile(r"^[0-9a-f]{24}$")
CHUNK = 1 << 20


def _safe_name(name: str) -> str:
    base = Path(name.replace("\\", "/")).name
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "_", base).strip("._") or "upload"
    return cleaned[-100:]


def _upload(request: Request, upload_id: str) -> Path:
    """The uploaded file ``upload_id`` names; 404 for anything else."""
    if not _UPLOAD_ID.match(upload_id):
        raise HTTPException(404, detail="no such upload")
    folder = uploads_dir(request.app.state.settings)
    found = sorted(folder.glob(f"{upload_id}-*"))
    if not found or not found[0].is_file():
        raise HTTPException(404, detail="no such upload")
    return found[0]


def display_name(path: Path) -> str:
    """The name the merchant gave an uploaded file."""
    return path.name.split("-", 1)[1] if "-" in path.name else path.name


@router.get("/imports")
def imports_page(request: Request, viewer: ViewerDep, error: str = "") -> Response:
    store = request.app.state.store
    recent = recent_jobs(store, request.app.state.settings, 30)
    jobs = [j for j in recent if j.kind.startswith("import")]
    return render(
        request,
        "imports.html",
        {"kinds": list(IMPORTERS), "history": list_imports(store), "jobs": jobs[:10],
         "error": error, "max_mb": request.app.state.settings.upload_max_mb},
    )  # fmt: skip


@router.post(UPLOAD_PATH)
async def upload(
    request: Request,
    viewer: AdminFormDep,
    file: UploadFile,
    kind: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    if kind not in IMPORTERS:
        raise HTTPException(422, detail=f"kind: choose one of {', '.join(IMPORTERS)}")
    upload_id = (await save_upload(request, file)).name.split("-", 1)[0]
    return RedirectResponse(f"/imports/{upload_id}?kind={kind}", status_code=303)


async def save_upload(request: Request, file: UploadFile) -> Path:
    """Stream ``file`` into the uploads folder under a random name (up to
    ``upload_max_mb``; 413 past it, 422 for an empty file); the path written. Jobs are
    given its name relative to that folder."""
    folder = uploads_dir(request.app.state.settings)
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{secrets.token_hex(12)}-{_safe_name(file.filename or 'upload')}"
    limit = request.app.state.settings.upload_max_mb * 2**20
    written = 0
    with target.open("wb") as out:
        while chunk := await file.read(CHUNK):
            written += len(chunk)
            if written > limit:
                out.close()
                target.unlink(missing_ok=True)
                raise HTTPException(413, detail=f"file larger than {limit} bytes")
            out.write(chunk)
    if written == 0:
        target.unlink(missing_ok=True)
        raise HTTPException(422, detail="file: the uploaded file is empty")
    return target


def _mapping(form_items: Iterable[tuple[str, str]]) -> dict[str, str]:
    """``map:FIELD=COLUMN`` pairs of a form or query (an empty column: the importer's own
    choice)."""
    return {k[4:]: v for k, v in form_items if k.startswith("map:") and v}


@router.get("/imports/{upload_id}")
def upload_page(request: Request, viewer: AdminDep, upload_id: str, kind: str = "") -> Response:
    path = _upload(request, upload_id)
    if kind not in IMPORTERS:
        raise HTTPException(422, detail=f"kind: choose one of {', '.join(IMPORTERS)}")
    mapping = _mapping(request.query_params.multi_items())
    try:
        preview = preview_file(kind, path, rows=10, mapping=mapping)
        problem = ""
    except ImportFileError as exc:
        preview, problem = None, str(exc)
    return render(
        request,
        "import_preview.html",
        {"upload_id": upload_id, "kind": kind, "name": display_name(path), "preview": preview,
         "problem": problem, "mapping": mapping},
    )  # fmt: skip


async def _submit(request: Request, viewer: AdminFormDep, upload_id: str, job: str) -> Response:
    path = _upload(request, upload_id)
    form = await request.form()
    kind = str(form.get("kind", ""))
    params = {
        "kind": kind,
        "path": path.name,
        "file_name": display_name(path),
        "mapping": _mapping([(k, str(v)) for k, v in form.multi_items()]),
    }
    if job == "import":
        params["skip_bad_rows"] = form.get("skip_bad_rows") == "on"
    try:
        job_id = job_runner(request).submit(job, params, created_by=viewer.email)
    except (JobError, jobstore.JobConflict) as exc:
        raise HTTPException(409 if isinstance(exc, jobstore.JobConflict) else 422,
                            detail=str(exc)) from None  # fmt: skip
    return RedirectResponse(f"/jobs/{job_id}", status_code=303)


@router.post("/imports/{upload_id}/validate")
async def validate(request: Request, viewer: AdminFormDep, upload_id: str) -> Response:
    return await _submit(request, viewer, upload_id, "import.validate")


@router.post("/imports/{upload_id}/import")
async def run_import(request: Request, viewer: AdminFormDep, upload_id: str) -> Response:
    return await _submit(request, viewer, upload_id, "import")


@router.get("/imports/rejects/{job_id}")
def rejects(request: Request, viewer: AdminDep, job_id: int) -> Response:
    """The reject file an import job wrote (only files inside the uploads folder)."""
    try:
        job = jobstore.get_job(request.app.state.store, job_id)
    except jobstore.JobNotFound:
        raise HTTPException(404, detail=f"no job {job_id}") from None
    reject = job.summary.get("reject_file") if job.kind == "import" else None
    if not reject:
        raise HTTPException(404, detail="this job wrote no reject file")
    path = Path(reject).resolve()
    folder = uploads_dir(request.app.state.settings).resolve()
    if not path.is_relative_to(folder) or not path.is_file():
        raise HTTPException(404, detail="the reject file is gone")
    return FileResponse(path, media_type="text/csv", filename=display_name(path))
