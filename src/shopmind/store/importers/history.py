"""The history of imports the dashboard shows: one row per import job, with its counts."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from shopmind.store.db import Store
from shopmind.store.models import ImportRun


def record_import(
    store: Store,
    kind: str,
    file_name: str,
    status: str,
    counts: dict[str, Any],
    rejects_path: str | None = None,
    job_id: int | None = None,
    created_by: str = "",
) -> int:
    """Add one import to the history; its id."""
    run = ImportRun(
        kind=kind,
        file_name=file_name[:512],
        status=status,
        counts=counts,
        rejects_path=rejects_path,
        job_id=job_id,
        created_by=created_by[:320],
        created_at=datetime.now(UTC).replace(tzinfo=None),
    )
    with store.session() as s:
        s.add(run)
        s.flush()
        return run.id


def list_imports(store: Store, limit: int = 50) -> list[dict[str, Any]]:
    """The newest imports first."""
    query = select(ImportRun).order_by(ImportRun.id.desc()).limit(limit)
    with store.session() as s:
        return [
            {
                "id": r.id,
                "kind": r.kind,
                "file_name": r.file_name,
                "status": r.status,
                "counts": dict(r.counts or {}),
                "rejects_path": r.rejects_path,
                "job_id": r.job_id,
                "created_by": r.created_by,
                "created_at": r.created_at,
            }
            for r in s.scalars(query)
        ]
