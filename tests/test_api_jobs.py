"""Jobs over REST: start, follow to the end, conflicts, bad parameters, unknown ids."""

from __future__ import annotations

import time

from shopmind.simulate import SimulationConfig, simulate
from shopmind.store import Store


def _wait(client, headers, job_id: int, timeout: float = 120.0) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = client.get(f"/v1/jobs/{job_id}", headers=headers).json()
        if job["status"] not in ("queued", "running"):
            return job
        time.sleep(0.2)
    raise AssertionError(f"job {job_id} did not finish")


def test_a_scoring_job_is_started_followed_and_listed(api_workspace):
    client, headers, _ws = api_workspace
    store: Store = client.app.state.store
    simulate(store, SimulationConfig(customers=200, days=20, products=20, seed=4, review_rate=1.0))
    started = client.post(
        "/v1/jobs", json={"kind": "reviews.analyze", "params": {"tier": "lexicon"}}, headers=headers
    )
    assert started.status_code == 202, started.text
    job = started.json()
    assert job["kind"] == "reviews.analyze" and job["created_by"].startswith("api:")
    again = client.post("/v1/jobs", json={"kind": "reviews.analyze"}, headers=headers)
    assert again.status_code == 409 and f"job {job['id']}" in again.json()["detail"]
    done = _wait(client, headers, job["id"])
    assert done["status"] == "done", done
    assert done["summary"]["reviews"] == store.stats()["reviews"] and done["fraction"] == 1.0
    listed = client.get("/v1/jobs", params={"kind": "reviews.analyze"}, headers=headers).json()
    assert [j["id"] for j in listed["jobs"]] == [job["id"]]
    kinds = {k["name"] for k in client.get("/v1/jobs/kinds", headers=headers).json()}
    assert {"import", "reviews.train", "reviews.analyze"} <= kinds


def test_bad_jobs_are_refused_with_the_field_named(api_workspace):
    client, headers, _ws = api_workspace
    bad = client.post("/v1/jobs", json={"kind": "reviews.train", "params": {"tier": "x"}},
                      headers=headers)  # fmt: skip
    assert bad.status_code == 422 and bad.json()["detail"].startswith("tier:")
    outside = client.post(
        "/v1/jobs",
        json={"kind": "import", "params": {"kind": "orders", "path": "/etc/passwd"}},
        headers=headers,
    )
    assert outside.status_code == 422 and outside.json()["detail"].startswith("path:")
    assert client.get("/v1/jobs/999", headers=headers).status_code == 404
    assert client.get("/v1/jobs/0", headers=headers).status_code == 422
    assert client.get("/v1/jobs").status_code == 401
    assert client.get("/v1/jobs", headers=headers).json() == {"jobs": []}
