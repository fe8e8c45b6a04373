"""``POST /v1/chat/completions``: OpenAI's shapes, the API key, the limits, streaming, the
model slots — on the packaged SmolLM2 (few tokens, one thread)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from shopmind.api import create_app
from shopmind.config import init_workspace, load_settings
from shopmind.models.llm.local import load_local
from shopmind.store import Store
from shopmind.store.apikeys import create_api_key

MODEL = "SmolLM2-135M-Instruct"
ASK = [{"role": "user", "content": "Name a colour."}]
ROUTE = "/v1/chat/completions"


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, dict[str, str]]]:
    """An app on its own workspace and SQLite store, one torch thread (``threads``: the
    route sets torch's count from it; two threads on two cores shared with other work run
    many times slower), and auth headers."""
    root = tmp_path_factory.mktemp("chat")
    init_workspace(root / "ws")
    settings = load_settings(root / "ws", database_url=f"sqlite:///{root / 'a.db'}", threads=1)
    store = Store(settings.resolved_database_url)
    store.upgrade()
    headers = {"Authorization": f"Bearer {create_api_key(store, 't')}"}
    with TestClient(create_app(settings, store=store)) as client:
        yield client, headers
    store.dispose()


def post(api: tuple[TestClient, dict[str, str]], **body: Any) -> Any:
    client, headers = api
    return client.post(ROUTE, json={"model": MODEL, "messages": ASK, **body}, headers=headers)


def test_answers_in_openais_shape(api: Any) -> None:
    r = post(api, n=2, max_tokens=4, temperature=1.0, seed=1)
    assert r.status_code == 200, r.text
    data = r.json()
    assert data["object"] == "chat.completion" and data["id"].startswith("chatcmpl-")
    assert data["model"] == MODEL and isinstance(data["created"], int)
    assert [c["index"] for c in data["choices"]] == [0, 1]
    for choice in data["choices"]:
        assert choice["message"]["role"] == "assistant" and choice["message"]["content"]
        assert choice["finish_reason"] in ("stop", "length")
    usage = data["usage"]
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]
    assert 2 <= usage["completion_tokens"] <= 8 and usage["prompt_tokens"] > 5
    local = load_local("").generate(ASK, n=2, max_tokens=4, temperature=1.0, seed=1)
    assert [c["message"]["content"] for c in data["choices"]] == [c.text for c in local]


def test_model_may_be_left_out_and_stop_may_be_one_string(api: Any) -> None:
    client, headers = api
    body = {"messages": ASK, "max_tokens": 12, "temperature": 0, "stop": "e"}
    data = client.post(ROUTE, json=body, headers=headers).json()
    assert "e" not in data["choices"][0]["message"]["content"]
    assert data["choices"][0]["finish_reason"] == "stop" and data["model"] == MODEL


def test_needs_an_api_key(api: Any) -> None:
    client, _ = api
    r = client.post(ROUTE, json={"model": MODEL, "messages": ASK})
    assert r.status_code == 401 and "missing API key" in r.json()["detail"]
    r = client.post(ROUTE, json={"messages": ASK}, headers={"X-API-Key": "sm_0_wrong"})
    assert r.status_code == 401


def test_an_unknown_model_is_404_naming_the_served_one(api: Any) -> None:
    r = post(api, model="gpt-4o", max_tokens=1)
    assert r.status_code == 404
    assert r.json()["detail"] == f"unknown model 'gpt-4o': this server serves the model '{MODEL}'"


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        ({"n": 9}, ["body", "n"]),
        ({"n": 0}, ["body", "n"]),
        ({"max_tokens": 1025}, ["body", "max_tokens"]),
        ({"temperature": 2.5}, ["body", "temperature"]),
        ({"stop": ["a", "b", "c", "d", "e"]}, ["body", "stop", "list[constrained-str]"]),
        ({"messages": []}, ["body", "messages"]),
        ({"messages": [{"role": "tool", "content": "x"}]}, ["body", "messages", 0, "role"]),
        (
            {"messages": [{"role": "user", "content": "x" * 32_001}]},
            ["body", "messages", 0, "content"],
        ),
        ({"messages": [{"role": "user", "content": "x" * 16_001}] * 2}, ["body"]),
        ({"messages": [{"role": "user", "content": "x"}] * 65}, ["body", "messages"]),
    ],
)
def test_limits_are_422_in_the_apis_shape(api: Any, body: dict, loc: list) -> None:
    r = post(api, **body)
    assert r.status_code == 422, r.text
    assert any(e["loc"] == loc for e in r.json()["detail"]), r.json()


def test_a_prompt_longer_than_the_context_is_422(api: Any) -> None:
    long = [{"role": "user", "content": "性价比很高" * 6000}]  # 30,000 characters, > 8,192 tokens
    r = post(api, messages=long, max_tokens=1024)
    assert r.status_code == 422
    [error] = r.json()["detail"]
    assert error["loc"] == ["body", "max_tokens"] and "context of 8192 tokens" in error["msg"]


def events(text: str) -> list[Any]:
    """The ``data:`` payloads of a server-sent event stream, [DONE] as a string."""
    out = []
    for block in text.split("\n\n"):
        if block.startswith("data: "):
            payload = block[len("data: ") :]
            out.append(payload if payload == "[DONE]" else json.loads(payload))
    return out


def test_streams_chunks_ending_with_done(api: Any) -> None:
    whole = post(api, max_tokens=8, temperature=0).json()["choices"][0]
    r = post(api, max_tokens=8, temperature=0, stream=True)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
    chunks = events(r.text)
    assert chunks[-1] == "[DONE]" and len(chunks) > 4
    assert all(c["object"] == "chat.completion.chunk" for c in chunks[:-1])
    assert len({c["id"] for c in chunks[:-1]}) == 1
    deltas = [c["choices"][0]["delta"] for c in chunks[:-1]]
    assert deltas[0] == {"role": "assistant"}
    assert "".join(d.get("content", "") for d in deltas) == whole["message"]["content"]
    assert chunks[-2]["choices"][0]["finish_reason"] == whole["finish_reason"]


def test_streams_several_variants_by_index(api: Any) -> None:
    r = post(api, n=2, max_tokens=3, temperature=1.0, seed=2, stream=True)
    chunks = events(r.text)[:-1]
    assert {c["choices"][0]["index"] for c in chunks} == {0, 1}
    assert sum(1 for c in chunks if c["choices"][0]["finish_reason"]) == 2


def test_waits_for_a_model_slot_and_answers_503_when_none_frees(tmp_path: Path) -> None:
    init_workspace(tmp_path / "ws")
    url = f"sqlite:///{tmp_path / 'a.db'}"
    settings = load_settings(
        tmp_path / "ws", database_url=url, model_slots=1, model_wait_seconds=0.2
    )
    store = Store(settings.resolved_database_url)
    store.upgrade()
    headers = {"Authorization": f"Bearer {create_api_key(store, 't')}"}
    app = create_app(settings, store=store)
    with TestClient(app) as client, app.state.work_limiter.hold():
        r = client.post(ROUTE, json={"messages": ASK, "max_tokens": 1}, headers=headers)
    assert r.status_code == 503 and int(r.headers["Retry-After"]) >= 1
    store.dispose()
