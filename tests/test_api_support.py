"""The support routes with the secret API key: one message (JSON or streamed), the inbox a
person works from (conversations, replies, status, requests), unanswered questions
grouped, the knowledge, intents."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from shopmind.api.app import create_app
from shopmind.config import init_workspace, load_settings
from shopmind.store.apikeys import create_api_key
from shopmind.store.db import Store
from support_store import fill


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, dict[str, str]]]:
    root = tmp_path_factory.mktemp("support-api")
    ws = root / "ws"
    init_workspace(ws)
    store = Store(f"sqlite:///{root / 'store.db'}")
    store.upgrade()
    fill(store)
    key = create_api_key(store, "t")
    settings = load_settings(ws, database_url=store.engine.url.render_as_string())
    with TestClient(create_app(settings, store=store)) as client:
        yield client, {"Authorization": f"Bearer {key}"}
    store.dispose()


def chat(api: tuple[TestClient, dict[str, str]], **body: Any) -> dict[str, Any]:
    client, auth = api
    answer = client.post("/v1/support/chat", json=body, headers=auth)
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_chat_needs_the_key_and_a_message(api: tuple[TestClient, dict[str, str]]) -> None:
    client, auth = api
    assert client.post("/v1/support/chat", json={"message": "hi"}).status_code == 401
    for bad in ({}, {"message": ""}, {"message": "x" * 2001}, {"message": "hi", "other": 1},
                {"message": "hi", "session": "../../etc"}):  # fmt: skip
        assert client.post("/v1/support/chat", json=bad, headers=auth).status_code == 422, bad


def test_a_conversation_through_the_api(api: tuple[TestClient, dict[str, str]]) -> None:
    first = chat(api, message="How long do I have to send something back?")
    assert first["outcome"] == "answered" and "30 days" in first["answer"]
    assert first["citations"][0]["url"] == "https://shop.example/help/returns"
    assert 0 <= first["confidence"] <= 1 and first["intent"]
    asked = chat(api, message="I want to cancel my order", session=first["session"])
    assert asked["outcome"] == "verify"
    queued = chat(api, message="#1001 ana@example.com", session=first["session"])
    assert queued["outcome"] == "queued" and queued["request"]["kind"] == "cancel_order"
    person = chat(api, message="let me talk to a human", session=first["session"])
    assert person["handover"] and person["handover_reason"] == "asked_for_person"

    client, auth = api
    waiting = client.get("/v1/support/conversations", params={"status": "handover"},
                         headers=auth).json()  # fmt: skip
    conv = next(c for c in waiting if c["last_message"] == "let me talk to a human")
    assert conv["verified_order"] and conv["queued_requests"] == 1
    detail = client.get(f"/v1/support/conversations/{conv['id']}", headers=auth).json()
    assert "[email]" in " ".join(m["text"] for m in detail["messages"])
    assert "ana@example.com" not in json.dumps(detail)
    assert detail["order"] == "#1001" and detail["requests"][0]["status"] == "queued"

    reply = client.post(
        f"/v1/support/conversations/{conv['id']}/reply",
        headers=auth,
        json={"text": "Done - call me on +1 415 555 0132", "author": "sam"},
    )
    assert reply.status_code == 200
    assert reply.json()["messages"][-1]["text"] == "Done - call me on [phone]"  # fmt: skip
    request_id = detail["requests"][0]["id"]
    decided = client.post(f"/v1/support/requests/{request_id}", headers=auth,
                          json={"status": "done", "note": "cancelled in Shopify"})  # fmt: skip
    assert decided.json()["status"] == "done" and decided.json()["order"] == "#1001"
    assert not client.get("/v1/support/requests", headers=auth).json()
    closed = client.post(f"/v1/support/conversations/{conv['id']}/status", headers=auth,
                         json={"status": "closed", "by": "sam"})  # fmt: skip
    assert closed.json()["status"] == "closed"
    for path in ("/v1/support/conversations/999999", "/v1/support/requests/999999"):
        got = (client.get(path, headers=auth) if "conversations" in path
               else client.post(path, headers=auth, json={"status": "done"}))  # fmt: skip
        assert got.status_code == 404


def test_streamed_answer(api: tuple[TestClient, dict[str, str]]) -> None:
    client, auth = api
    with client.stream(
        "POST",
        "/v1/support/chat",
        headers=auth,
        json={"message": "Do you deliver to Canada?", "stream": True},
    ) as r:
        assert r.headers["content-type"].startswith("text/event-stream")
        events = [json.loads(line[6:]) for line in r.iter_lines() if line.startswith("data: ")]
    assert events[-1]["type"] == "done" and events[-1]["outcome"] == "answered"
    sentences = [e["text"] for e in events if e["type"] == "sentence"]
    assert sentences and "".join(sentences).strip() == events[-1]["answer"]


def test_unanswered_questions_are_grouped(api: tuple[TestClient, dict[str, str]]) -> None:
    for q in ("Do you have a shop in Paris?", "Is there a physical store in Paris?",
              "Are you hiring software engineers?"):  # fmt: skip
        assert chat(api, message=q)["outcome"] == "declined"
    client, auth = api
    groups = client.get("/v1/support/unanswered", headers=auth).json()
    assert groups[0]["count"] == 2 and "Paris" in groups[0]["example"]
    assert any(g["count"] == 1 and "hiring" in g["example"] for g in groups[1:])


def test_knowledge_and_intents(api: tuple[TestClient, dict[str, str]]) -> None:
    client, auth = api
    known = client.get("/v1/support/knowledge", headers=auth).json()
    assert known["by_source"]["product"] == 2 and known["by_source"]["faq"] == 2
    returns = next(s for s in known["sources"] if s["ref"] == "help/returns.md")
    assert returns["passages"] >= 1 and returns["url"].endswith("/help/returns")
    got = client.post("/v1/support/intents", headers=auth,
                      json={"texts": ["where is my parcel", "asdf qwer zxcv"]}).json()  # fmt: skip
    assert got[0]["intent"] == "track_order" and got[0]["group"] == "order_status"
    assert got[1]["intent"] == "unknown" and got[1]["group"] == "unknown"
