"""The storefront's support chat routes: the chat widget's script, one message with a
publishable key (JSON or server-sent events), a conversation's messages by its session
key — origins, rate limits, body limits, and that the widget learns no more than the
secret-key route would tell the same shopper."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from shopmind.api.app import create_app
from shopmind.api.public_support import public_reply
from shopmind.config import Settings, init_workspace, load_settings
from shopmind.store import support as records
from shopmind.store.apikeys import create_api_key
from shopmind.store.db import Store
from shopmind.store.publishable import create_publishable_key
from support_store import fill

SHOP = "https://shop.test"
CHAT = "/public/v1/support/chat"
MESSAGES = "/public/v1/support/messages"
RETURNS = "How long do I have to send something back?"
PUBLIC_REPLY = {"session", "answer", "citations", "handover", "handover_reason", "outcome",
                "language", "request"}  # fmt: skip


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Store, Path, str]]:
    root = tmp_path_factory.mktemp("support-public")
    ws = root / "ws"
    init_workspace(ws)
    store = Store(f"sqlite:///{root / 'store.db'}")
    store.upgrade()
    fill(store)
    key = create_publishable_key(store, "theme", [SHOP]).key
    yield store, ws, key
    store.dispose()


def settings_of(shop: tuple[Store, Path, str], **changes: Any) -> Settings:
    store, ws, _ = shop
    return load_settings(ws, database_url=store.engine.url.render_as_string(), **changes)


@pytest.fixture
def client(shop: tuple[Store, Path, str]) -> Iterator[TestClient]:
    with TestClient(create_app(settings_of(shop), store=shop[0])) as c:
        yield c


def chat(client: TestClient, key: str, origin: str | None = SHOP, **body: Any) -> Any:
    headers = {"Content-Type": "text/plain"} | ({"Origin": origin} if origin else {})
    return client.post(f"{CHAT}?key={key}", content=json.dumps(body), headers=headers)


def sse_events(text: str) -> list[dict[str, Any]]:
    return [json.loads(line[len("data: "):]) for line in text.splitlines()
            if line.startswith("data: ")]  # fmt: skip


def test_the_chat_script_is_served_without_a_key(client: TestClient) -> None:
    r = client.get("/chat-widget.js")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/javascript")
    assert CHAT in r.text and MESSAGES in r.text and "attachShadow" in r.text
    assert "textContent" in r.text and "innerHTML" not in r.text  # no answer parsed as HTML


def test_a_message_with_a_live_key_is_answered_with_citations(
    client: TestClient, shop: tuple[Store, Path, str]
) -> None:
    store, _, key = shop
    r = chat(client, key, message=RETURNS)
    assert r.status_code == 200, r.text
    assert r.headers["access-control-allow-origin"] == SHOP
    body = r.json()
    assert set(body) == PUBLIC_REPLY
    assert body["outcome"] == "answered" and "30 days" in body["answer"]
    assert body["citations"][0] == {"n": 1, "title": "Returns",
                                    "url": "https://shop.example/help/returns"}  # fmt: skip
    conv = records.find_conversation(store, body["session"])
    assert conv is not None and conv.channel == "widget"
    follow = chat(client, key, message="and is the return label free?", session=body["session"])
    assert follow.status_code == 200 and follow.json()["session"] == body["session"]


def test_the_key_and_the_origin_are_checked(client: TestClient, shop: tuple[Store, Path, str]
                                            ) -> None:  # fmt: skip
    _, _, key = shop
    wrong = chat(client, key, origin="https://evil.test", message=RETURNS)
    assert wrong.status_code == 403 and "access-control-allow-origin" not in wrong.headers
    assert "not allowed" in wrong.json()["detail"]
    unknown = chat(client, "pk_" + "x" * 30, message=RETURNS)
    assert unknown.status_code == 401 and "publishable key" in unknown.json()["detail"]
    assert client.get(MESSAGES, params={"key": key, "session": "cs_x"},
                      headers={"Origin": "https://evil.test"}).status_code == 403  # fmt: skip
    preflight = client.options(f"{CHAT}?key={key}", headers={
        "Origin": SHOP, "Access-Control-Request-Method": "POST"})  # fmt: skip
    assert preflight.status_code == 204


def test_each_client_is_rate_limited(shop: tuple[Store, Path, str]) -> None:
    store, _, key = shop
    settings = settings_of(shop, widget_rate_limit_burst=2, widget_rate_limit_per_minute=0.01)
    with TestClient(create_app(settings, store=store)) as limited:
        first = limited.get(MESSAGES, params={"key": key, "session": "cs_nobody"})
        assert first.status_code == 404
        assert chat(limited, key, message="hello").status_code == 200
        refused = chat(limited, key, message=RETURNS)
    assert refused.status_code == 429 and int(refused.headers["retry-after"]) >= 1
    assert refused.headers["access-control-allow-origin"] == SHOP  # the widget can say why
    assert "too many" in refused.json()["detail"]


def test_a_streamed_answer_is_sentences_then_done(
    client: TestClient, shop: tuple[Store, Path, str]
) -> None:
    _, _, key = shop
    r = chat(client, key, message=RETURNS, stream=True)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/event-stream")
    assert r.headers["access-control-allow-origin"] == SHOP
    events = sse_events(r.text)
    *sentences, done = events
    assert sentences and all(e == {"type": "sentence", "text": e["text"]} for e in sentences)
    assert done["type"] == "done" and set(done) == PUBLIC_REPLY | {"type"}
    assert "".join(e["text"] for e in sentences).strip() == done["answer"].strip()
    assert "30 days" in done["answer"] and done["citations"][0]["title"] == "Returns"


def test_a_persons_reply_reaches_the_widget_after_a_hand_over(
    client: TestClient, shop: tuple[Store, Path, str]
) -> None:
    store, _, key = shop
    asked = chat(client, key, message="I want to talk to a person please").json()
    assert asked["handover"] is True and asked["outcome"] == "handover"
    session = asked["session"]
    conv = records.find_conversation(store, session)
    assert conv is not None
    r = client.get(MESSAGES, params={"key": key, "session": session, "after": 0},
                   headers={"Origin": SHOP})  # fmt: skip
    assert r.status_code == 200 and r.headers["access-control-allow-origin"] == SHOP
    page = r.json()
    assert page["status"] == "handover"
    assert [m["role"] for m in page["messages"]] == ["shopper", "assistant"]
    seen = page["messages"][-1]["id"]
    records.agent_reply(store, conv.id, "Hi, this is Mia from the shop. How can I help?",
                        "mia@shop.example")  # fmt: skip
    r = client.get(MESSAGES, params={"key": key, "session": session, "after": seen})
    (reply,) = r.json()["messages"]
    assert set(reply) == {"id", "role", "text", "citations", "created_at"}
    assert reply["role"] == "agent" and reply["text"].startswith("Hi, this is Mia")
    assert "mia@shop.example" not in r.text  # the person's account is not the shopper's business
    assert client.get(MESSAGES, params={"key": key, "session": session,
                                        "after": reply["id"]}).json()["messages"] == []  # fmt: skip
    missing = client.get(MESSAGES, params={"key": key, "session": "cs_" + "a" * 32})
    assert missing.status_code == 404 and missing.json() == {"detail": "unknown session"}


def test_a_session_reads_its_own_conversation_only(
    client: TestClient, shop: tuple[Store, Path, str]
) -> None:
    _, _, key = shop
    mine = chat(client, key, message="Do you offer gift wrapping?").json()["session"]
    theirs = chat(client, key, message="Do you deliver to Canada?").json()["session"]
    assert mine != theirs

    def texts(session: str) -> str:
        r = client.get(MESSAGES, params={"key": key, "session": session})
        assert r.status_code == 200
        return " ".join(m["text"] for m in r.json()["messages"])

    assert "gift" in texts(mine) and "Canada" not in texts(mine)
    assert "Canada" in texts(theirs) and "gift" not in texts(theirs)
    # a made-up key opens nothing and a client cannot pick the key of a new session
    assert client.get(MESSAGES, params={"key": key, "session": "cs_made_up"}).status_code == 404
    forged = chat(client, key, message="hello", session="cs_made_up").json()
    assert forged["session"] != "cs_made_up"
    bad = client.get(MESSAGES, params={"key": key, "session": "../etc/passwd"})
    assert bad.status_code == 422


def test_the_publishable_key_does_not_open_the_secret_routes(
    client: TestClient, shop: tuple[Store, Path, str]
) -> None:
    _, _, key = shop
    for headers in ({"Authorization": f"Bearer {key}"}, {"X-API-Key": key}):
        assert client.get("/v1/support/conversations", headers=headers).status_code == 401
        assert client.get("/v1/support/requests", headers=headers).status_code == 401
        r = client.post("/v1/support/chat", json={"message": RETURNS}, headers=headers)
        assert r.status_code == 401


def test_the_widget_learns_no_more_than_the_secret_route_tells(
    client: TestClient, shop: tuple[Store, Path, str]
) -> None:
    store, _, key = shop
    secret = {"Authorization": f"Bearer {create_api_key(store, 'server')}"}
    full = client.post("/v1/support/chat", json={"message": RETURNS}, headers=secret).json()
    mine = chat(client, key, message=RETURNS).json()
    assert set(mine) < set(full)
    assert mine["answer"] == full["answer"]
    assert mine["citations"] == [{k: c[k] for k in ("n", "title", "url")}
                                 for c in full["citations"]]  # fmt: skip
    asked = chat(client, key, message="Please cancel my order").json()
    assert asked["outcome"] == "verify" and asked["request"] is None
    queued = chat(client, key, message="#1002 bo@example.com", session=asked["session"]).json()
    assert queued["outcome"] == "queued"
    assert queued["request"] == {"kind": "cancel_order", "order": "#1002", "status": "queued"}


def test_only_web_addresses_are_given_as_links() -> None:
    reply = {"session": "cs_1", "answer": "a", "handover": False, "handover_reason": None,
             "outcome": "answered", "language": "en", "request": None, "intent": "x",
             "confidence": 0.9, "writer": "extractive",
             "citations": [{"n": 1, "title": "t", "url": "javascript:alert(1)", "ref": "r",
                            "source": "page", "passage": "r#0"},
                           {"n": 2, "title": "u", "url": "HTTPS://shop.example/a", "ref": "s",
                            "source": "page", "passage": "s#0"}]}  # fmt: skip
    shown = public_reply(reply)
    assert [c["url"] for c in shown["citations"]] == [None, "HTTPS://shop.example/a"]
    assert set(shown) == PUBLIC_REPLY


@pytest.mark.parametrize(
    ("body", "status", "says"),
    [
        (b"x" * 10_001, 413, "too large"),
        (b"not json", 422, "not JSON"),
        (json.dumps({"message": "a" * 2001}).encode(), 422, "message"),
        (json.dumps({"message": ""}).encode(), 422, "message"),
        (json.dumps({"message": "hi", "admin": True}).encode(), 422, "admin"),
        (json.dumps({"message": "hi", "session": "no spaces"}).encode(), 422, "session"),
        (b'{"message": "\\ud800"}', 422, "not Unicode"),
        (b"[]", 422, "not a chat message"),
    ],
)
def test_a_bad_body_gets_a_clear_error(
    client: TestClient, shop: tuple[Store, Path, str], body: bytes, status: int, says: str
) -> None:
    _, _, key = shop
    r = client.post(f"{CHAT}?key={key}", content=body,
                    headers={"Content-Type": "text/plain", "Origin": SHOP})  # fmt: skip
    assert r.status_code == status, r.text
    detail = r.json()["detail"]
    assert says in detail and "/" not in detail.replace("text/plain", "")  # no server path
    assert r.headers["access-control-allow-origin"] == SHOP
