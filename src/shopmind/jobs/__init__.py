"""Background jobs: long work (imports, training, scoring) recorded in the store with its
progress, run outside the request that asked for it. See ``runner`` and ``kinds``."""

from shopmind.jobs.kinds import KINDS, JobError, JobKind, check_params, register
from shopmind.jobs.runner import (
    JobContext,
    JobRunner,
    job_view,
    recent_jobs,
    run_inline,
    run_job,
)

__all__ = [
    "KINDS",
    "JobContext",
    "JobError",
    "JobKind",
    "JobRunner",
    "check_params",
    "job_view",
    "recent_jobs",
    "register",
    "run_inline",
    "run_job",
]
