"""Running jobs: one job in this process (``run_job``), or many behind a server (``JobRunner``).

``run_job`` executes a recorded job in the calling thread: it marks it running, keeps
its heartbeat going from a daemon thread (a training step can take longer than the
stale limit), hands the job's function a ``JobContext`` for progress, and records the
summary or the error. The CLI runs its long commands this way, so the dashboard sees
them too.

``JobRunner`` is what the server holds: ``submit`` records the job (refusing a
conflicting one) and a worker thread runs it in a fresh Python process
(``python -m shopmind.jobs.worker``), so a crash or a memory-hungry training never takes
the server down, and the server's request threads are not slowed by model code holding
the interpreter. A job whose process exits without recording an end is marked failed
with the exit code. The runner heart-beats its queued jobs; on shutdown it stops its
processes and marks their jobs ``interrupted``. Jobs of a server that was killed stop
heart-beating and are marked ``interrupted`` by the next reader (``interrupt_stale``).
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from shopmind.config import Settings
from shopmind.jobs.kinds import KINDS, JobError, check_params
from shopmind.store import jobs as jobstore
from shopmind.store.db import Store

log = logging.getLogger(__name__)
PROGRESS_EVERY_S = 0.5
SETTINGS_ENV = "SHOPMIND_JOB_SETTINGS"


class JobContext:
    """What a job's function gets: the store, settings, parameters and progress calls.

    Progress goes to the job's live file at once (at most every half second) and to its
    row in the store where that does not wait for a lock (``store.jobs``)."""

    def __init__(
        self,
        store: Store,
        settings: Settings,
        job_id: int,
        params: dict[str, Any],
        created_by: str = "",
    ) -> None:
        self.store = store
        self.settings = settings
        self.job_id = job_id
        self.params = params
        self.created_by = created_by
        self.live = live_dir(settings)
        self._last = 0.0
        self._done = 0
        self._total: int | None = None
        self._stage = ""
        self._lock = threading.Lock()

    def progress(self, done: int) -> None:
        """Work done so far (a count)."""
        self._done = int(done)
        stamp = time.monotonic()
        if stamp - self._last >= PROGRESS_EVERY_S:
            self._last = stamp
            self.publish()

    def total(self, total: int | None) -> None:
        """How much work there is (the progress bar's end); None: not known."""
        self._total = None if total is None else int(total)
        self.publish()

    def stage(self, text: str, total: int | None = None) -> None:
        """A named step ("reading the file", "training"); progress counts start again."""
        self._done, self._total, self._stage = 0, total, text[:255]
        self.publish()

    def publish(self, beat_only: bool = False) -> None:
        """Write the live file, then the row if the database is free (the heartbeat too)."""
        with self._lock:
            jobstore.write_live(self.live, self.job_id, self._done, self._total, self._stage)
            if beat_only:
                jobstore.heartbeat(self.store, self.job_id, wait=False)
            else:
                jobstore.report_progress(
                    self.store, self.job_id, self._done, self._total, self._stage, wait=False
                )

    def flush(self) -> None:
        self.publish()


class _Heartbeat:
    """Calls ``beat()`` every ``HEARTBEAT_S`` until stopped."""

    def __init__(self, beat: Any) -> None:
        self.beat = beat
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="shopmind-heartbeat", daemon=True)

    def __enter__(self) -> _Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _loop(self) -> None:
        while not self._stop.wait(jobstore.HEARTBEAT_S):
            try:
                self.beat()
            except Exception:  # a busy database or disk must not kill the heartbeat
                log.warning("job heartbeat failed", exc_info=True)


def run_job(store: Store, settings: Settings, job_id: int) -> jobstore.JobView:
    """Run the recorded job ``job_id`` here and now; its final state."""
    job = jobstore.get_job(store, job_id)
    kind = KINDS.get(job.kind)
    jobstore.start_job(store, job_id)
    if kind is None:
        jobstore.finish_job(store, job_id, error=f"unknown job kind {job.kind!r}")
        return jobstore.get_job(store, job_id)
    ctx = JobContext(store, settings, job_id, job.params, job.created_by)
    ctx.publish()
    with _Heartbeat(lambda: ctx.publish(beat_only=True)):
        try:
            summary = kind.run(ctx)
        except JobError as exc:
            jobstore.finish_job(store, job_id, error=str(exc))
        except Exception as exc:
            log.exception("job %s (%s) failed", job_id, job.kind)
            jobstore.finish_job(store, job_id, error=f"{type(exc).__name__}: {exc}")
        else:
            ctx.flush()  # the last count, which the half-second throttle may have held back
            jobstore.finish_job(store, job_id, summary=summary or {})
    jobstore.remove_live(ctx.live, job_id)
    return jobstore.get_job(store, job_id)


def run_inline(
    store: Store,
    settings: Settings,
    kind: str,
    params: dict[str, Any],
    created_by: str = "cli",
) -> jobstore.JobView:
    """Record and run a job in this process (the CLI's way): visible to the dashboard."""
    params = check_params(kind, params)
    key = KINDS[kind].conflict_key(params)
    job_id = jobstore.create_job(store, kind, params, key, created_by, live_dir(settings))
    return run_job(store, settings, job_id)


class JobRunner:
    """The server's jobs: recorded in the store, each run in its own process."""

    def __init__(
        self, store: Store, settings: Settings, workers: int = 1, in_process: bool = False
    ) -> None:
        self.store = store
        self.settings = settings
        self.in_process = in_process
        self._pool = ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="job")
        self._lock = threading.Lock()
        self._mine: set[int] = set()
        self._procs: dict[int, subprocess.Popen[bytes]] = {}
        self._closed = False
        self._heartbeat = _Heartbeat(self._beat_queued)
        self._heartbeat.__enter__()
        jobstore.interrupt_stale(store, live=live_dir(settings))

    def submit(self, kind: str, params: dict[str, Any], created_by: str = "") -> int:
        """Record a job and queue it; ``JobError`` for bad parameters, ``JobConflict``
        when a conflicting job is queued or running."""
        if self._closed:
            raise JobError("the server is shutting down")
        params = check_params(kind, params, uploads_dir(self.settings))
        key = KINDS[kind].conflict_key(params)
        job_id = jobstore.create_job(
            self.store, kind, params, key, created_by, live_dir(self.settings)
        )
        with self._lock:
            self._mine.add(job_id)
        self._pool.submit(self._run, job_id)
        return job_id

    def _beat_queued(self) -> None:
        """Jobs waiting for a worker are alive too: their heartbeat is the runner's."""
        with self._lock:
            queued = [j for j in self._mine if j not in self._procs]
        for job_id in queued:
            jobstore.heartbeat(self.store, job_id, wait=False)

    def _run(self, job_id: int) -> None:
        try:
            if self.in_process:
                run_job(self.store, self.settings, job_id)
            else:
                self._run_process(job_id)
        except Exception:
            log.exception("job %s could not be run", job_id)
            jobstore.finish_job(self.store, job_id, error="the job could not be started")
        finally:
            with self._lock:
                self._mine.discard(job_id)
                self._procs.pop(job_id, None)

    def _run_process(self, job_id: int) -> None:
        env = dict(os.environ)
        env[SETTINGS_ENV] = json.dumps(settings_state(self.settings))
        with self._lock:
            if self._closed:
                return
            proc = subprocess.Popen(
                [sys.executable, "-m", "shopmind.jobs.worker", str(job_id)],
                env=env,
                stdin=subprocess.DEVNULL,
            )
            self._procs[job_id] = proc
        code = proc.wait()
        jobstore.remove_live(live_dir(self.settings), job_id)
        job = jobstore.get_job(self.store, job_id)
        if not job.finished:  # the process died before it could record an end
            status = jobstore.INTERRUPTED if self._closed else jobstore.FAILED
            jobstore.finish_job(
                self.store,
                job_id,
                error=f"the job's process exited with code {code} before it finished",
                status=status,
            )

    def shutdown(self) -> None:
        """Stop taking jobs, stop the running ones, mark everything unfinished interrupted."""
        with self._lock:
            self._closed = True
            mine = list(self._mine)
            procs = list(self._procs.values())
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
        jobstore.interrupt_all(self.store, mine)
        self._pool.shutdown(wait=False, cancel_futures=True)
        self._heartbeat.__exit__(None, None, None)


def live_dir(settings: Settings) -> Path:
    """Where running jobs keep their live files (``store.jobs``)."""
    return settings.workspace / "jobs"


def uploads_dir(settings: Settings) -> Path:
    """Where the server keeps uploaded files; the only files its jobs may read."""
    return settings.workspace / "uploads"


def reports_dir(settings: Settings) -> Path:
    """Where report jobs write their files; the only files the dashboard serves as reports."""
    return settings.workspace / "reports"


def settings_state(settings: Settings) -> dict[str, Any]:
    """Settings as JSON for a job's process (the database URL resolved)."""
    data = settings.model_dump(mode="json")
    data["database_url"] = settings.resolved_database_url
    data["workspace"] = str(settings.workspace)
    return data


def job_view(store: Store, settings: Settings, job_id: int) -> jobstore.JobView:
    """One job as readers show it: stale ones marked interrupted, live progress overlaid."""
    live = live_dir(settings)
    jobstore.interrupt_stale(store, live=live)
    return jobstore.get_job(store, job_id, live=live)


def recent_jobs(
    store: Store,
    settings: Settings,
    limit: int = 50,
    kind: str | None = None,
    status: str | None = None,
) -> list[jobstore.JobView]:
    """The newest jobs as readers show them (see ``job_view``)."""
    live = live_dir(settings)
    jobstore.interrupt_stale(store, live=live)
    return jobstore.list_jobs(store, limit=limit, kind=kind, status=status, live=live)
