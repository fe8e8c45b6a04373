"""Background jobs: recorded states, conflicts, stale heartbeats, real worker processes."""

from __future__ import annotations

import json
import time
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import update

from shopmind.config import init_workspace, load_settings
from shopmind.jobs import JobError, JobRunner, check_params, run_inline
from shopmind.simulate import SimulationConfig, simulate
from shopmind.store import Store
from shopmind.store import jobs as jobstore
from shopmind.store.models import Job


def test_a_job_goes_queued_running_done_with_its_progress(store):
    job_id = jobstore.create_job(store, "import", {"path": "x"}, "import", "ann@example.com")
    job = jobstore.get_job(store, job_id)
    assert job.status == "queued" and job.created_by == "ann@example.com" and not job.finished
    jobstore.start_job(store, job_id)
    jobstore.report_progress(store, job_id, done=3, total=12, stage="reading")
    job = jobstore.get_job(store, job_id)
    assert (job.status, job.progress_done, job.progress_total, job.stage) == (
        "running",
        3,
        12,
        "reading",
    )
    assert job.fraction == 0.25
    jobstore.finish_job(store, job_id, summary={"rows": 12})
    job = jobstore.get_job(store, job_id)
    assert job.status == "done" and job.summary == {"rows": 12} and job.finished_at
    assert job.to_dict()["created_at"].endswith("Z")
    with pytest.raises(RuntimeError, match="not queued"):
        jobstore.start_job(store, job_id)
    with pytest.raises(jobstore.JobNotFound):
        jobstore.get_job(store, job_id + 1)


def test_the_database_refuses_a_second_conflicting_job(store):
    first = jobstore.create_job(store, "reviews.train", {"tier": "linear"}, "train:reviews/linear")
    with pytest.raises(jobstore.JobConflict, match=f"job {first}"):
        jobstore.create_job(store, "reviews.train", {"tier": "linear"}, "train:reviews/linear")
    other = jobstore.create_job(store, "reviews.train", {}, "train:reviews/transformer")
    jobstore.start_job(store, first)
    jobstore.finish_job(store, first, error="boom")
    assert jobstore.get_job(store, first).status == "failed"
    again = jobstore.create_job(store, "reviews.train", {}, "train:reviews/linear")
    assert len({first, other, again}) == 3


def test_a_job_whose_heartbeat_stopped_becomes_interrupted(store):
    """A server killed mid-job leaves a running row: the next reader marks it interrupted
    and frees its conflict key; a job that still beats is left alone."""
    dead = jobstore.create_job(store, "import", {}, "import")
    alive = jobstore.create_job(store, "reviews.analyze", {}, "reviews.analyze")
    jobstore.start_job(store, dead)
    with store.connect() as conn:
        old = jobstore.now() - timedelta(seconds=jobstore.STALE_S + 5)
        conn.execute(update(Job).where(Job.id == dead).values(heartbeat_at=old))
    assert jobstore.interrupt_stale(store) == [dead]
    job = jobstore.get_job(store, dead)
    assert job.status == "interrupted" and "stopped" in job.error
    assert jobstore.get_job(store, alive).status == "queued"
    jobstore.create_job(store, "import", {}, "import")  # the key is free again


@pytest.mark.parametrize(
    ("kind", "params", "field"),
    [
        ("nope", {}, "kind"),
        ("reviews.train", {"tier": "huge"}, "tier"),
        ("reviews.train", {"tier": "transformer", "epochs": 0}, "epochs"),
        ("reviews.train", {"tier": "transformer", "epochs": 1.5}, "epochs"),
        ("reviews.train", {"tier": "linear", "epochs": 2}, "epochs"),
        ("reviews.train", {"tier": "linear", "rm": "-rf"}, "rm"),
        ("import", {"kind": "products"}, "kind"),
        ("import", {"kind": "orders"}, "path"),
        ("import", {"kind": "orders", "path": "a.csv", "skip_bad_rows": "yes"}, "skip_bad_rows"),
        ("import", {"kind": "orders", "path": "a.csv", "mapping": {"a": 1}}, "mapping"),
    ],
)
def test_bad_parameters_are_refused_naming_the_field(kind, params, field):
    with pytest.raises(JobError, match=f"^{field}:"):
        check_params(kind, params)


@pytest.fixture
def small_shop(tmp_path: Path):
    ws = tmp_path / "ws"
    init_workspace(ws)
    settings = load_settings(ws, database_url=f"sqlite:///{tmp_path / 'shop.db'}")
    store = Store(settings.resolved_database_url)
    store.upgrade()
    simulate(store, SimulationConfig(customers=300, days=30, products=25, seed=3, review_rate=1.0))
    yield store, settings
    store.dispose()


def test_cli_style_inline_job_trains_and_is_recorded(small_shop):
    store, settings = small_shop
    job = run_inline(store, settings, "reviews.train", {"tier": "linear"})
    assert job.status == "done", job.error
    assert job.summary["tier"] == "linear" and job.summary["version"] == "v0001"
    assert 0 < job.summary["examples"] <= store.stats()["reviews"]
    assert (settings.models_dir / "reviews" / "linear" / "current").exists()
    failed = run_inline(store, settings, "reviews.analyze", {"tier": "transformer"})
    assert failed.status == "failed" and "transformer" in failed.error


def _wait(store: Store, job_id: int, timeout: float = 120.0) -> jobstore.JobView:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = jobstore.get_job(store, job_id)
        if job.finished:
            return job
        time.sleep(0.2)
    raise AssertionError(f"job {job_id} still {jobstore.get_job(store, job_id).status}")


def test_server_runner_scores_the_store_in_a_worker_process(small_shop):
    store, settings = small_shop
    runner = JobRunner(store, settings)
    try:
        job_id = runner.submit("reviews.analyze", {"tier": "lexicon"}, "ann@example.com")
        with pytest.raises(jobstore.JobConflict):
            runner.submit("reviews.analyze", {}, "bob@example.com")
        job = _wait(store, job_id)
    finally:
        runner.shutdown()
    reviews = store.stats()["reviews"]
    assert job.status == "done", job.error
    assert job.summary["reviews"] == reviews and job.progress_total == reviews
    assert job.progress_done == reviews and job.fraction == 1.0


def test_a_worker_that_dies_fails_its_job_and_shutdown_interrupts(small_shop, tmp_path):
    store, settings = small_shop
    runner = JobRunner(store, settings)
    try:
        with pytest.raises(JobError, match=r"^path: must name a file uploaded"):
            runner.submit("import", {"kind": "orders", "path": str(tmp_path / "shop.db")})
        missing = runner.submit("import", {"kind": "orders", "path": "no.csv"})
        job = _wait(store, missing)
        assert job.status == "failed" and "no such file" in job.error
        assert job.params["path"] == str((settings.workspace / "uploads" / "no.csv").resolve())
        slow = runner.submit("reviews.train", {"tier": "transformer", "time_budget_s": 600})
        deadline = time.monotonic() + 60
        while jobstore.get_job(store, slow).status != "running" and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        runner.shutdown()
    job = jobstore.get_job(store, slow)
    assert job.status == "interrupted" and job.finished_at is not None


def test_cli_lists_and_shows_jobs(workspace):
    from typer.testing import CliRunner

    from shopmind.cli import app

    cli = CliRunner()
    assert cli.invoke(app, ["--workspace", str(workspace), "init"]).exit_code == 0
    store = Store(load_settings(workspace).resolved_database_url)
    job_id = jobstore.create_job(store, "reviews.train", {"tier": "linear"}, None, "ann@x.org")
    store.dispose()
    listed = cli.invoke(app, ["--workspace", str(workspace), "jobs", "list", "--json"])
    assert listed.exit_code == 0, listed.output
    (row,) = json.loads(listed.stdout)
    assert (row["id"], row["kind"], row["status"]) == (job_id, "reviews.train", "queued")
    table = cli.invoke(app, ["--workspace", str(workspace), "jobs", "list"]).stdout
    assert "reviews.train" in table and "ann@x.org" in table
    shown = cli.invoke(app, ["--workspace", str(workspace), "jobs", "show", str(job_id)])
    assert '"tier": "linear"' in shown.stdout
    missing = cli.invoke(app, ["--workspace", str(workspace), "jobs", "show", "99"])
    assert missing.exit_code != 0 and "no job 99" in missing.output
