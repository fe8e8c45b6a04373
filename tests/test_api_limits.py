"""Issue 7, "Unbounded cost": a cost budget per scoring request (413), a cap on concurrent
model work (503 + Retry-After) and per-key rate limits (429 + Retry-After).

Before, ``POST /v1/reviews/score`` took 256 texts of 20,000 characters (about 17.5 s and
1 GB), any number of them ran at once and a key could send as many as it liked. The
first budget, 5,000 characters in all, let through ~16 Women's Clothing reviews and no
single review longer than 5,000 characters; it is now a budget of cost units weighted
per kind of text (``shopmind.reviews.cost``), and a longer text is read up to 5,000
characters and marked ``truncated``. Waiting for a model slot used to hold a server
thread; it now waits in the event loop.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from shopmind.api import create_app
from shopmind.api.throttle import ModelSlot, RateLimiter, install_limits
from shopmind.config import load_settings
from shopmind.models.work import ModelBusy, WorkLimiter
from shopmind.reviews.aspects import AspectConfig, AspectExtractor
from shopmind.reviews.cost import WEIGHTS, scoring_cost
from shopmind.store import Store
from shopmind.store.apikeys import create_api_key

Client = tuple[TestClient, str]
REVIEW = (
    "I love this dress, the fabric is soft and the color is lovely. It runs a bit small "
    "so size up, but the price was great and shipping was fast. "
)


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


def score(client: TestClient, key: str, texts: list[str], aspects: bool = True) -> Any:
    body = {"texts": texts, "model": "lexicon", "aspects": aspects}
    return client.post("/v1/reviews/score", json=body, headers=auth(key))


# -- the cost budget ---------------------------------------------------------------------


def test_over_budget_request_is_refused_naming_budget_and_cost(make_client) -> None:
    texts = ["Great fabric, runs small. " * 2, "质量很好，尺码偏小" * 3, "😍" * 3]
    units = scoring_cost(texts, AspectConfig()).units
    client, key = make_client(score_max_cost=units - 1)
    r = score(client, key, texts)
    assert r.status_code == 413
    detail = r.json()["detail"]
    assert f"this request costs {units:,} units (3 texts, " in detail
    assert f"at most {units - 1:,} per request (setting score_max_cost)" in detail
    assert "send fewer texts per request" in detail
    client, key = make_client(score_max_cost=units)
    assert score(client, key, texts).status_code == 200  # exactly the budget is allowed


def test_the_old_largest_request_is_refused_by_default(make_client) -> None:
    """256 texts of 20,000 characters used to hold a core for minutes."""
    client, key = make_client()
    r = score(client, key, ["x" * 20_000] * 256)
    assert r.status_code == 413
    each = WEIGHTS.call + 5_000 * WEIGHTS.latin  # read up to 5,000 characters each
    assert f"costs {256 * each:,} units (256 texts;" in r.json()["detail"]  # clauses not needed


def test_256_womens_clothing_reviews_fit_the_default_budget(make_client, shared_data) -> None:
    """The first budget (5,000 characters) let ~16 of them through; the schema allows 256."""
    import csv
    import io
    import random
    import zipfile

    path = shared_data / "reviews" / "womens-clothing" / "womens_clothing_reviews.csv.zip"
    if not path.exists():
        pytest.skip(f"{path} not found")
    with zipfile.ZipFile(path) as archive:
        name = next(n for n in archive.namelist() if n.endswith(".csv"))
        rows = csv.DictReader(io.TextIOWrapper(archive.open(name), encoding="utf-8"))
        reviews = [r["Review Text"] for r in rows if (r["Review Text"] or "").strip()]
    client, key = make_client()
    texts = random.Random(7).sample(reviews, 256)
    r = score(client, key, texts)
    assert r.status_code == 200, r.text[:300]
    assert len(r.json()["results"]) == 256


def test_a_review_longer_than_5000_characters_is_read_up_to_5000_not_refused(
    make_client,
) -> None:
    client, key = make_client()
    r = score(client, key, [(REVIEW * 150)[:20_000]], aspects=False)
    assert r.status_code == 200, r.text
    result = r.json()["results"][0]
    assert result["truncated"] and result["label"] == "positive"
    assert any(note.startswith("truncated from ") for note in result["notes"])


def test_a_refused_request_pays_for_the_budget(make_client) -> None:
    """Counting a request's cost takes work: a 413 is not free to repeat."""
    client, key = make_client(score_max_cost=5_000, rate_limit_per_minute=1, rate_limit_burst=9)
    too_big = ["x" * 6_000]
    assert score(client, key, too_big).status_code == 413  # 1 + 5 tokens: 3 left
    r = score(client, key, too_big)
    assert r.status_code == 429 and "this request costs 6;" in r.json()["detail"]


def test_one_text_over_budget_only_with_aspects_is_told_to_drop_them(make_client) -> None:
    text = REVIEW * 20
    without = scoring_cost([text]).units
    client, key = make_client(score_max_cost=without)
    r = score(client, key, [text])
    assert r.status_code == 413
    assert '"aspects": false' in r.json()["detail"]
    assert score(client, key, [text], aspects=False).status_code == 200


def test_aspect_clauses_count_toward_the_cost() -> None:
    """Each clause that names an aspect is one more model input, with its characters."""
    text = "质量很好，但是尺码偏小，物流很快，价格便宜，客服态度很差。" * 4
    plain, counted = scoring_cost([text]), scoring_cost([text], AspectConfig())
    clauses = [unit for unit, _ in AspectExtractor().units(text)]
    assert plain.clauses is None and counted.clauses == len(clauses) == 20
    assert counted.units - plain.units == sum(WEIGHTS.of(c, "zh") for c in clauses)
    assert counted.units - plain.units >= 20 * WEIGHTS.zh_call


def test_han_characters_and_emoji_cost_more_than_latin() -> None:
    assert WEIGHTS.of("abcd", "en") == WEIGHTS.call + 4
    assert WEIGHTS.of("ab好😍", "en") == WEIGHTS.call + 2 + WEIGHTS.wide + WEIGHTS.symbol
    assert WEIGHTS.of("好a", "zh") == WEIGHTS.zh_call + 2 * WEIGHTS.wide  # Chinese route
    assert WEIGHTS.wide > 1 and WEIGHTS.symbol > 1


# -- model slots -------------------------------------------------------------------------


def hold_slots(limiter: WorkLimiter, n: int) -> tuple[threading.Event, list[threading.Thread]]:
    """``n`` threads holding a slot each until the returned event is set."""
    taken, done = threading.Barrier(n + 1), threading.Event()

    def hold() -> None:
        with limiter.hold():
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
    assert limiter.in_use == 0 and limiter.waiting == 0
    assert score(client, key, ["Lovely."]).status_code == 200
    body = {"texts": ["x"], "model": "linear"}  # not trained: 409 from inside the slot
    r = client.post("/v1/reviews/score", json=body, headers=auth(key))
    assert r.status_code == 409 and limiter.in_use == 0  # a failed request gives its slot back


def test_slots_default_to_the_threads_setting(make_client) -> None:
    client, _ = make_client(threads=3)
    assert client.app.state.work_limiter.slots == 3


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.mark.anyio
async def test_waiting_for_a_model_slot_holds_no_server_thread(store, tmp_path) -> None:
    """A burst of scoring requests waits for the one slot while the thread pool has 2
    threads: other routes still answer at once. Before, each waiting request held a pool
    thread for up to model_wait_seconds, so /v1/stats queued behind them."""
    app = create_app(load_settings(tmp_path, model_slots=1, model_wait_seconds=5), store)
    key = create_api_key(store, "burst")
    anyio.to_thread.current_default_thread_limiter().total_tokens = 2
    limiter: WorkLimiter = app.state.work_limiter
    body = {"texts": ["Lovely fabric."], "model": "lexicon"}
    codes: list[int] = []
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:

        async def post() -> None:
            r = await client.post("/v1/reviews/score", json=body, headers=auth(key))
            codes.append(r.status_code)

        async with anyio.create_task_group() as tasks, limiter.slot():
            for _ in range(6):
                tasks.start_soon(post)
            while limiter.waiting < 6:
                await anyio.sleep(0.01)
            with anyio.fail_after(2):
                r = await client.get("/v1/stats", headers=auth(key))
            assert r.status_code == 200
        # the slot released, each waiting request got it in turn
    assert codes == [200] * 6
    assert limiter.in_use == 0 and limiter.waiting == 0


def test_a_waiting_caller_gets_a_slot_freed_within_the_wait() -> None:
    limiter = WorkLimiter(slots=1, wait_seconds=5)
    done, threads = hold_slots(limiter, 1)
    timer = threading.Timer(0.05, done.set)
    timer.start()
    with limiter.hold():  # waits for the holder, well within 5 s
        assert limiter.in_use == 1
    threads[0].join()
    timer.join()
    quick = WorkLimiter(slots=1, wait_seconds=0)
    with quick.hold(), pytest.raises(ModelBusy, match="retry in 1 s"), quick.hold():
        pass


@pytest.mark.anyio
async def test_async_waiters_are_served_in_order_and_time_out_cleanly() -> None:
    limiter = WorkLimiter(slots=1, wait_seconds=0.05)
    order: list[int] = []

    async def use(i: int) -> None:
        async with limiter.slot():
            order.append(i)
            await anyio.sleep(0.01)

    async with limiter.slot():
        with pytest.raises(ModelBusy, match="all 1 model slots are busy"):
            await use(0)  # nobody frees the slot within the wait
    assert limiter.in_use == 0 and limiter.waiting == 0
    limiter.wait_seconds = 5
    async with anyio.create_task_group() as tasks, limiter.slot():
        for i in range(1, 4):
            tasks.start_soon(use, i)
            while limiter.waiting < i:
                await anyio.sleep(0.001)
    assert order == [1, 2, 3]  # first come, first served
    with anyio.move_on_after(0.01):  # a waiter cancelled (client gone) leaves no trace
        async with limiter.slot():
            await use(9)
    assert limiter.in_use == 0 and limiter.waiting == 0 and 9 not in order


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


def test_scoring_costs_tokens_in_proportion_to_its_size(make_client) -> None:
    """1 token, plus 1 per 1,000 cost units (it was a flat 10 for any size)."""
    client, key = make_client(rate_limit_per_minute=1, rate_limit_burst=12)
    clock = client.app.state.rate_limiter.clock = Clock()
    big = [REVIEW * 10]
    units = scoring_cost(big, AspectConfig()).units
    tokens = 1 + units // 1000
    assert 3 <= tokens <= 11
    assert score(client, key, ["Lovely."]).status_code == 200  # 1 token
    assert score(client, key, big).status_code == 200
    for _ in range(11 - tokens):
        assert client.get("/v1/stats", headers=auth(key)).status_code == 200
    r = score(client, key, ["Lovely."])
    assert r.status_code == 429 and "this request costs 1;" in r.json()["detail"]
    clock.now += 60 * (tokens - 1)  # one token short of the big request
    r = score(client, key, big)
    assert r.status_code == 429 and f"this request costs {tokens};" in r.json()["detail"]
    assert score(client, key, ["Lovely."]).status_code == 200  # the 429 took only 1 token
    spec = client.get("/openapi.json").json()["paths"]["/v1/reviews/score"]["post"]
    assert spec["x-rate-limit-cost"] == 1 and spec["x-rate-limit-cost-per-units"] == 1000
    assert {"413", "429", "503"} <= set(spec["responses"])


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
