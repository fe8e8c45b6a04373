"""Jobs in the store: long work recorded with its status and progress.

A job is created ``queued``, claimed ``running`` by the process that runs it, and ends
``done`` (with a summary), ``failed`` (with the error) or ``interrupted`` (its process
died: the heartbeat stopped). Every write is one short transaction, so a page or an API
client polling ``get_job`` always sees a consistent row.

Live progress: on SQLite an import holds the store's only write lock for the whole file
(it imports whole or not at all), so a running job cannot count on writing its progress
and heartbeat to the store. The process running a job therefore also keeps a small live
file, ``<live>/<id>.json`` (the workspace's ``jobs/`` folder), replaced atomically; its
database writes are attempted without waiting for the lock. Readers overlay the live
file on an active job's row, and a job whose live file is fresh is never taken for dead.

Conflicts: a job may carry a conflict key (``train:reviews/linear``). While it is queued
or running the key sits in the unique column ``active_key``, so the database itself
refuses a second job with the same key — across threads, processes and servers sharing
the store — and ``create_job`` raises ``JobConflict`` naming the job already running.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError, OperationalError

from shopmind.store.db import Store
from shopmind.store.models import Job

QUEUED, RUNNING, DONE, FAILED, INTERRUPTED = "queued", "running", "done", "failed", "interrupted"
STATUSES = (QUEUED, RUNNING, DONE, FAILED, INTERRUPTED)
ACTIVE = (QUEUED, RUNNING)
HEARTBEAT_S = 5.0
"""How often a running job's process writes its heartbeat."""
STALE_S = 60.0
"""A queued or running job whose heartbeat is older than this has lost its process."""
MAX_ERROR_CHARS = 4000


class JobConflict(RuntimeError):
    """A job with the same conflict key is already queued or running."""

    def __init__(self, key: str, running: int | None) -> None:
        where = f" (job {running})" if running is not None else ""
        super().__init__(f"a {key!r} job is already queued or running{where}")
        self.key = key
        self.running = running


class JobNotFound(LookupError):
    def __init__(self, job_id: int) -> None:
        super().__init__(f"no job {job_id}")
        self.job_id = job_id


@dataclass(frozen=True)
class JobView:
    """A job as the API, the CLI and the pages show it."""

    id: int
    kind: str
    params: dict[str, Any]
    status: str
    progress_done: int
    progress_total: int | None
    stage: str
    summary: dict[str, Any]
    error: str | None
    created_by: str
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None

    @property
    def finished(self) -> bool:
        return self.status not in ACTIVE

    @property
    def fraction(self) -> float | None:
        """Share done, 0–1, where the job knows its total."""
        if not self.progress_total:
            return 1.0 if self.status == DONE else None
        return min(1.0, self.progress_done / self.progress_total)

    def to_dict(self) -> dict[str, Any]:
        out = {k: getattr(self, k) for k in self.__dataclass_fields__}
        for key in ("created_at", "started_at", "finished_at"):
            value = out[key]
            out[key] = None if value is None else value.isoformat() + "Z"
        out["fraction"] = self.fraction
        return out


def now() -> datetime:
    """Naive UTC, as the store keeps times."""
    return datetime.now(UTC).replace(tzinfo=None)


def _view(job: Job) -> JobView:
    return JobView(
        job.id,
        job.kind,
        dict(job.params or {}),
        job.status,
        int(job.progress_done or 0),
        job.progress_total,
        job.stage or "",
        dict(job.summary or {}),
        job.error,
        job.created_by or "",
        job.created_at,
        job.started_at,
        job.finished_at,
    )


def create_job(
    store: Store,
    kind: str,
    params: dict[str, Any] | None = None,
    conflict_key: str | None = None,
    created_by: str = "",
    live: Path | None = None,
) -> int:
    """Record a queued job; ``JobConflict`` when ``conflict_key`` is already active."""
    if conflict_key is not None:
        interrupt_stale(store, live=live)  # a dead process's job must not block the key
    stamp = now()
    job = Job(
        kind=kind,
        params=params or {},
        status=QUEUED,
        active_key=conflict_key,
        progress_done=0,
        stage="",
        summary={},
        created_by=created_by,
        created_at=stamp,
        heartbeat_at=stamp,
    )
    try:
        with store.session() as s:
            s.add(job)
            s.flush()
            return job.id
    except IntegrityError:
        with store.session() as s:
            running = s.scalar(select(Job.id).where(Job.active_key == conflict_key))
        raise JobConflict(str(conflict_key), running) from None


def start_job(store: Store, job_id: int) -> None:
    """Mark a queued job running (its process has picked it up)."""
    stamp = now()
    with store.connect() as conn:
        done = conn.execute(
            update(Job)
            .where(Job.id == job_id, Job.status == QUEUED)
            .values(status=RUNNING, started_at=stamp, heartbeat_at=stamp)
        ).rowcount
    if not done:
        raise RuntimeError(f"job {job_id} is not queued: it cannot start")


_KEEP: Any = object()


def _write(store: Store, statement: Any, wait: bool) -> bool:
    """Run one UPDATE; with ``wait`` False give up at once where the database is locked
    (SQLite while an import holds the write lock). Whether it was written."""
    if wait or store.dialect != "sqlite":
        with store.connect() as conn:
            conn.execute(statement)
        return True
    with store.engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA busy_timeout=0")
        try:
            conn.execute(statement)
            conn.commit()
        except OperationalError:
            conn.rollback()
            return False
        finally:
            conn.exec_driver_sql("PRAGMA busy_timeout=30000")
            conn.commit()
    return True


def report_progress(
    store: Store,
    job_id: int,
    done: int | None = None,
    total: int | None = _KEEP,
    stage: str | None = None,
    wait: bool = True,
) -> bool:
    """Progress of a running job (also its heartbeat); ``total`` None: not known.
    ``wait`` False: skip the write rather than wait for a locked database."""
    values: dict[str, Any] = {"heartbeat_at": now()}
    if done is not None:
        values["progress_done"] = int(done)
    if total is not _KEEP:
        values["progress_total"] = None if total is None else int(total)
    if stage is not None:
        values["stage"] = stage[:255]
    statement = update(Job).where(Job.id == job_id, Job.status == RUNNING).values(**values)
    return _write(store, statement, wait)


def heartbeat(store: Store, job_id: int, wait: bool = True) -> bool:
    """The job's process is alive (queued or running)."""
    statement = (
        update(Job).where(Job.id == job_id, Job.status.in_(ACTIVE)).values(heartbeat_at=now())
    )
    return _write(store, statement, wait)


# -- live files --------------------------------------------------------------------------


def live_path(live: Path, job_id: int) -> Path:
    return live / f"{int(job_id)}.json"


def write_live(live: Path, job_id: int, done: int, total: int | None, stage: str) -> None:
    """Replace the job's live file (progress and, by its time, the heartbeat)."""
    live.mkdir(parents=True, exist_ok=True)
    target = live_path(live, job_id)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps({"done": done, "total": total, "stage": stage[:255]}))
    os.replace(tmp, target)


def read_live(live: Path | None, job_id: int) -> tuple[dict[str, Any], float] | None:
    """The live file's progress and its age in seconds, or None."""
    if live is None:
        return None
    path = live_path(live, job_id)
    try:
        age = time.time() - path.stat().st_mtime
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return (data, age) if isinstance(data, dict) else None


def remove_live(live: Path | None, job_id: int) -> None:
    if live is not None:
        live_path(live, job_id).unlink(missing_ok=True)


def _overlay(view: JobView, live: Path | None) -> JobView:
    if view.finished:
        return view
    found = read_live(live, view.id)
    if found is None:
        return view
    data, _age = found
    done, total, stage = data.get("done"), data.get("total"), data.get("stage")
    return replace(
        view,
        progress_done=int(done) if isinstance(done, int) else view.progress_done,
        progress_total=int(total) if isinstance(total, int) else view.progress_total,
        stage=str(stage) if isinstance(stage, str) and stage else view.stage,
    )


def finish_job(
    store: Store,
    job_id: int,
    summary: dict[str, Any] | None = None,
    error: str | None = None,
    status: str | None = None,
) -> None:
    """End a job: ``done`` with its summary, or ``failed`` with the error."""
    final = status or (FAILED if error is not None else DONE)
    if final not in (DONE, FAILED, INTERRUPTED):
        raise ValueError(f"a job ends done, failed or interrupted, not {final!r}")
    values: dict[str, Any] = {
        "status": final,
        "active_key": None,
        "finished_at": now(),
        "heartbeat_at": now(),
    }
    if summary is not None:
        values["summary"] = summary
    if error is not None:
        values["error"] = error[:MAX_ERROR_CHARS]
    with store.connect() as conn:
        conn.execute(update(Job).where(Job.id == job_id, Job.status.in_(ACTIVE)).values(**values))


def interrupt_stale(store: Store, stale_s: float = STALE_S, live: Path | None = None) -> list[int]:
    """Mark every queued or running job whose heartbeat — in the store and in its live
    file under ``live`` — is older than ``stale_s`` ``interrupted`` (its process is gone);
    the ids it marked."""
    cutoff = now() - timedelta(seconds=stale_s)
    with store.connect() as conn:
        ids = list(
            conn.scalars(select(Job.id).where(Job.status.in_(ACTIVE), Job.heartbeat_at < cutoff))
        )
        ids = [i for i in ids if (found := read_live(live, i)) is None or found[1] > stale_s]
        if ids:
            conn.execute(
                update(Job)
                .where(Job.id.in_(ids), Job.status.in_(ACTIVE))
                .values(
                    status=INTERRUPTED,
                    active_key=None,
                    finished_at=now(),
                    error="interrupted: the process running it stopped (server restart or crash)",
                )
            )
    return ids


def interrupt_all(store: Store, ids: Sequence[int]) -> None:
    """Mark ``ids`` interrupted now (the jobs of a process that is shutting down)."""
    if not ids:
        return
    with store.connect() as conn:
        conn.execute(
            update(Job)
            .where(Job.id.in_(list(ids)), Job.status.in_(ACTIVE))
            .values(
                status=INTERRUPTED,
                active_key=None,
                finished_at=now(),
                error="interrupted: the server stopped while it ran",
            )
        )


def get_job(store: Store, job_id: int, live: Path | None = None) -> JobView:
    with store.session() as s:
        job = s.get(Job, job_id)
        if job is None:
            raise JobNotFound(job_id)
        return _overlay(_view(job), live)


def list_jobs(
    store: Store,
    limit: int = 50,
    kind: str | None = None,
    status: str | None = None,
    live: Path | None = None,
) -> list[JobView]:
    """The newest jobs first."""
    query = select(Job).order_by(Job.id.desc()).limit(limit)
    if kind is not None:
        query = query.where(Job.kind == kind)
    if status is not None:
        query = query.where(Job.status == status)
    with store.session() as s:
        return [_overlay(_view(j), live) for j in s.scalars(query)]
