"""Issue 7, "Unbounded cost": a character budget per scoring request (413), a cap on
concurrent model work (503 + Retry-After) and per-key rate limits (429 + Retry-After).

Before, ``POST /v1/reviews/score`` took 256 texts of 20,000 characters (about 17.5 s and
1 GB), any number of them ran at once and a key could send as many as it liked.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from shopmind.api import create_app
from shopmind.api.throttle import ModelSlot, RateLimiter, install_limits
from shopmind.config import load_settings
from shopmind.models.work import ModelBusy, WorkLimiter
from shopmind.store import Store
from shopmind.store.apikeys import create_api_key

Client = tuple[TestClient, str]


@pytest.fixture
def make_client(store: Store, tmp_path: Path) -> Iterator[Callable[..., Client]]:
    """A client on an app built with the given settings, and a valid key."""
    clients: list[TestClient] = []

    def make(**settings: Any) -> Client:
        client = TestClient(create_app(load_settings(tmp_path, **settings), store))
        clients.append(client.__enter__())
        return client, create_api_key(store, f"k{len(clients)}")

    yield make
    for client in clients:
        client.__exit__(None, None, None)


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def score(client: TestClient, key: str, texts: list[str]) -> Any:
    body = {"texts": texts, "model": "lexicon"}
    return client.post("/v1/reviews/score", json=body, headers=auth(key))


# -- the character budget --------------------------------------------------------------


def test_over_budget_request_is_refused_naming_budget_and_size(make_client) -> None:
    client, key = make_client(score_max_chars=100)
    r = score(client, key, ["Great fabric, runs small. " * 2, "质量很好" * 10, "x" * 9])
    assert r.status_code == 413
    detail = r.json()["detail"]
    assert "100 characters" not in detail  # the size is the texts', not the budget
    assert "hold 100" not in detail and "hold 101" in detail
    assert "at most 100 per request" in detail and "score_max_chars" in detail
    ok = score(client, key, ["Great fabric, runs small. " * 2, "质量很好" * 10, "x" * 8])
    assert ok.status_code == 200, ok.text  # exactly the budget is allowed


def test_the_old_largest_request_is_refused_by_default(make_client) -> None:
    """256 texts of 20,000 characters used to hold a core for minutes."""
    client, key = make_client()
    r = score(client, key, ["x" * 20_000] * 256)
    assert r.status_code == 413
    assert "5,120,000 characters" in r.json()["detail"]


# -- model slots -------------------------------------------------------------------------


def hold_slots(limiter: WorkLimiter, n: int) -> tuple[threading.Event, list[threading.Thread]]:
    """``n`` threads holding a slot each until the returned event is set."""
    taken, done = threading.Barrier(n + 1), threading.Event()

    def hold() -> None:
        with limiter.slot():
            taken.wait()
            done.wait(10)

    threads = [threading.Thread(target=hold) for _ in range(n)]
    for t in threads:
        t.start()
    taken.wait()
    return done, threads


def test_full_model_slots_give_503_with_retry_after(make_client) -> None:
    client, key = make_client(model_slots=2, model_wait_seconds=0.05)
    limiter: WorkLimiter = client.app.state.work_limiter
    done, threads = hold_slots(limiter, 2)
    try:
        r = score(client, key, ["Lovely."])
        assert r.status_code == 503
        assert int(r.headers["Retry-After"]) >= 1
        assert "all 2 model slots are busy" in r.json()["detail"]
        assert client.get("/v1/stats", headers=auth(key)).status_code == 200  # no model work
    finally:
        done.set()
        for t in threads:
            t.join()
    assert limiter.in_use == 0
    assert score(client, key, ["Lovely."]).status_code == 200
    body = {"texts": ["x"], "model": "linear"}  # not trained: 409 from inside the slot
    r = client.post("/v1/reviews/score", json=body, headers=auth(key))
    assert r.status_code == 409 and limiter.in_use == 0  # a failed request gives its slot back


def test_slots_default_to_the_threads_setting(make_client) -> None:
    client, _ = make_client(threads=3)
    assert client.app.state.work_limiter.slots == 3


def test_a_waiting_caller_gets_a_slot_freed_within_the_wait() -> None:
    limiter = WorkLimiter(slots=1, wait_seconds=5)
    done, threads = hold_slots(limiter, 1)
    timer = threading.Timer(0.05, done.set)
    timer.start()
    with limiter.slot():  # waits for the holder, well within 5 s
        assert limiter.in_use == 1
    threads[0].join()
    timer.join()
    quick = WorkLimiter(slots=1, wait_seconds=0)
    with quick.slot(), pytest.raises(ModelBusy, match="retry in 1 s"):
        quick.acquire()


def test_model_slot_is_a_dependency_any_route_can_use(tmp_path: Path) -> None:
    app = FastAPI()
    install_limits(app, load_settings(tmp_path, model_slots=1, model_wait_seconds=0.05))

    @app.get("/work")
    def work(_: ModelSlot) -> dict[str, int]:
        return {"in_use": app.state.work_limiter.in_use}

    with TestClient(app) as client:
        assert client.get("/work").json() == {"in_use": 1}
        done, threads = hold_slots(app.state.work_limiter, 1)
        r = client.get("/work")
        done.set()
        threads[0].join()
        assert r.status_code == 503 and r.headers["Retry-After"].isdigit()
        assert client.get("/work").status_code == 200


# -- rate limits -------------------------------------------------------------------------


class Clock:
    """Time that moves only when told (the limiter's clock)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_the_request_past_the_burst_gets_429_and_other_keys_do_not(make_client, store) -> None:
    client, key = make_client(rate_limit_per_minute=1, rate_limit_burst=3)
    for _ in range(3):
        assert client.get("/v1/stats", headers=auth(key)).status_code == 200
    r = client.get("/v1/stats", headers=auth(key))
    assert r.status_code == 429
    assert 55 <= int(r.headers["Retry-After"]) <= 60  # one token at one a minute
    assert r.json()["detail"].startswith("rate limit exceeded for this API key")
    other = create_api_key(store, "other")
    assert client.get("/v1/stats", headers=auth(other)).status_code == 200
    assert client.get("/health").status_code == 200  # open routes are not limited
    assert client.get("/v1/stats", headers=auth("sm_000000000000_nope")).status_code == 401


def test_tokens_refill_with_time(make_client) -> None:
    client, key = make_client(rate_limit_per_minute=60, rate_limit_burst=2)
    clock = client.app.state.rate_limiter.clock = Clock()
    assert [client.get("/v1/stats", headers=auth(key)).status_code for _ in range(3)] == [
        200,
        200,
        429,
    ]
    clock.now += 1.0  # one token a second
    assert client.get("/v1/stats", headers=auth(key)).status_code == 200
    assert client.get("/v1/stats", headers=auth(key)).status_code == 429
    clock.now += 3600  # refilled, but never past the burst
    codes = [client.get("/v1/stats", headers=auth(key)).status_code for _ in range(3)]
    assert codes == [200, 200, 429]


def test_scoring_costs_more_tokens(make_client) -> None:
    client, key = make_client(rate_limit_per_minute=1, rate_limit_burst=12)
    assert score(client, key, ["Lovely."]).status_code == 200  # 10 tokens
    assert client.get("/v1/stats", headers=auth(key)).status_code == 200
    assert client.get("/v1/stats", headers=auth(key)).status_code == 200
    r = client.get("/v1/stats", headers=auth(key))
    assert r.status_code == 429 and "this request costs 1" in r.json()["detail"]
    spec = client.get("/openapi.json").json()["paths"]["/v1/reviews/score"]["post"]
    assert spec["x-rate-limit-cost"] == 10 and {"413", "429", "503"} <= set(spec["responses"])


def test_defaults_do_not_throttle_a_busy_store(make_client) -> None:
    """A store's server sending a few hundred requests in a row is not refused."""
    client, key = make_client()
    codes = {client.get("/v1/stats", headers=auth(key)).status_code for _ in range(250)}
    assert codes == {200}


def test_rate_limiter_buckets() -> None:
    clock = Clock()
    limiter = RateLimiter(per_minute=120, burst=4, clock=clock)
    assert [limiter.take("a") for _ in range(4)] == [0.0] * 4
    assert limiter.take("a") == pytest.approx(0.5)  # two tokens a second
    assert limiter.take("a", cost=3) == pytest.approx(1.5)  # a refused request takes nothing
    assert limiter.take("b") == 0.0
    clock.now += 0.5
    assert limiter.take("a") == 0.0
    assert limiter.take("a", cost=100) == pytest.approx(2.0)  # capped at the burst (4)
    assert RateLimiter(per_minute=0, burst=1).take("a", 50) == 0.0  # 0 turns it off


def test_limit_settings_survive_the_handoff_to_workers(tmp_path: Path, monkeypatch) -> None:
    """``run_server`` hands settings to worker processes as SHOPMIND_* variables."""
    settings = load_settings(tmp_path, rate_limit_per_minute=30, model_wait_seconds=0.5)
    for name, value in settings.model_dump(mode="json", exclude={"workspace"}).items():
        monkeypatch.setenv(f"SHOPMIND_{name.upper()}", str(value))
    again = load_settings(tmp_path)
    assert again.resolved_model_slots == settings.threads
    assert (again.rate_limit_per_minute, again.model_wait_seconds) == (30, 0.5)
