"""The support records on SQLite and PostgreSQL: the order look-up needs number and e-mail
together, turns are stored in one transaction, the inbox reads them back."""

from __future__ import annotations

import pytest

from shopmind.store import support as records
from shopmind.store.db import Store
from support_store import fill


@pytest.fixture
def shop(store: Store) -> Store:
    fill(store)
    return store


def test_verify_order_needs_the_number_and_its_email(shop: Store) -> None:
    found = records.verify_order(shop, "#1001", "ANA@example.com ")
    assert found is not None
    assert records.verify_order(shop, "1001", "ana@example.com") == found
    assert records.verify_order(shop, "#1001", "bo@example.com") is None
    assert records.verify_order(shop, "#1003", "ana@example.com") is None
    assert records.verify_order(shop, "#1001", "") is None
    assert records.verify_order(shop, "%", "ana@example.com") is None
    status = records.order_status(shop, found)
    assert status["number"] == "#1001" and status["items"] == [
        {"title": "alpine-shell", "quantity": 1}
    ]


def test_turns_requests_and_the_inbox(shop: Store) -> None:
    conv = records.open_conversation(shop, None, "widget", "en")
    assert conv.session_key.startswith("cs_")
    again = records.open_conversation(shop, conv.session_key)
    assert again.id == conv.id
    conv.status, conv.handover_reason, conv.turns = "handover", "legal", 1
    ids = records.save_turn(
        shop, conv,
        [{"role": "shopper", "text": "my lawyer", "intent": "complaint", "outcome": "handover"},
         {"role": "assistant", "text": "passing you on", "outcome": "handover"}],
        [{"kind": "refund", "order_id": None, "details": "refund please"}],
    )  # fmt: skip
    assert len(ids) == 1
    listed = records.list_conversations(shop, status="handover")
    assert [c["id"] for c in listed] == [conv.id]
    assert listed[0]["last_message"] == "my lawyer" and listed[0]["queued_requests"] == 1
    records.agent_reply(shop, conv.id, "Hello, I'm Sam from the team.", "sam@shop.example")
    detail = records.conversation_detail(shop, conv.id)
    assert [m["role"] for m in detail["messages"]] == ["shopper", "assistant", "agent"]
    assert records.messages_since(shop, conv.id, detail["messages"][1]["id"])[0]["role"] == "agent"
    records.set_status(shop, conv.id, "closed", "sam@shop.example")
    assert records.counts(shop)["closed"] == 1
    with pytest.raises(records.SupportRecordError):
        records.decide_request(shop, ids[0], "executed", "sam")
    assert records.decide_request(shop, ids[0], "declined", "sam")["status"] == "declined"
    with pytest.raises(records.SupportRecordError):
        records.conversation_detail(shop, 999_999)
