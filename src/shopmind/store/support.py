"""The support assistant's records: conversations, their messages, queued requests, and
the one order look-up it may make.

Text reaching these functions is already redacted (``shopmind.support.guard``). An order
is found only by its number *and* the e-mail on it (``verify_order``); after that a
conversation holds that order's id, and ``order_status`` reads that one order and
nothing else: no function here lists orders or reads one by customer.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, or_, select, update

from shopmind.store.db import Store
from shopmind.store.models import (
    Customer,
    Order,
    SupportConversation,
    SupportMessage,
    SupportRequest,
)

STATUSES = ("open", "handover", "closed")
REQUEST_KINDS = ("cancel_order", "change_address", "change_order", "refund")
REQUEST_STATUSES = ("queued", "done", "declined")


class SupportRecordError(ValueError):
    """A conversation or request that does not exist, or a change it cannot take."""


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def new_session_key() -> str:
    return "cs_" + secrets.token_urlsafe(24)


@dataclass
class Conversation:
    """The state one turn needs; written back with ``save_turn``."""

    id: int
    session_key: str
    channel: str
    language: str
    status: str
    handover_reason: str | None
    order_id: int | None
    failures: int
    turns: int
    state: dict[str, Any]


def _conversation(row: SupportConversation) -> Conversation:
    return Conversation(row.id, row.session_key, row.channel, row.language, row.status,
                        row.handover_reason, row.order_id, row.failures, row.turns,
                        dict(row.state or {}))  # fmt: skip


def open_conversation(
    store: Store, session_key: str | None, channel: str = "api", language: str = "en"
) -> Conversation:
    """The conversation ``session_key`` names, or a new one (with a new key when none is
    given or the key is unknown: a client cannot pick another session's key)."""
    now = _now()
    with store.session() as s:
        if session_key:
            row = s.scalar(
                select(SupportConversation).where(SupportConversation.session_key == session_key)
            )
            if row is not None:
                return _conversation(row)
        row = SupportConversation(session_key=new_session_key(), channel=channel,
                                  language=language, status="open", failures=0, turns=0,
                                  state={}, created_at=now, updated_at=now)  # fmt: skip
        s.add(row)
        s.flush()
        return _conversation(row)


def find_conversation(store: Store, session_key: str) -> Conversation | None:
    with store.session() as s:
        row = s.scalar(
            select(SupportConversation).where(SupportConversation.session_key == session_key)
        )
        return None if row is None else _conversation(row)


def save_turn(store: Store, conv: Conversation, messages: Sequence[dict[str, Any]],
              requests: Sequence[dict[str, Any]] = ()) -> list[int]:  # fmt: skip
    """Write one turn in one transaction: its messages, any queued requests and the
    conversation's new state. Returns the new requests' ids."""
    now = _now()
    with store.session() as s:
        for m in messages:
            s.add(SupportMessage(conversation_id=conv.id, created_at=now,
                                 **{"citations": [], "author": "", **m}))  # fmt: skip
        rows = [SupportRequest(conversation_id=conv.id, status="queued", created_at=now,
                               decided_by="", note="", **r) for r in requests]  # fmt: skip
        s.add_all(rows)
        s.execute(
            update(SupportConversation).where(SupportConversation.id == conv.id).values(
                language=conv.language, status=conv.status,
                handover_reason=conv.handover_reason, order_id=conv.order_id,
                failures=conv.failures, turns=conv.turns, state=conv.state, updated_at=now)
        )  # fmt: skip
        s.flush()
        return [r.id for r in rows]


# -- the one order look-up ---------------------------------------------------------------


def _number_forms(number: str) -> list[str]:
    bare = number.strip().lstrip("#").strip()
    if not bare:
        return []
    forms = {bare, f"#{bare}", bare.upper(), f"#{bare.upper()}"}
    return sorted(forms)


def verify_order(store: Store, number: str, email: str) -> int | None:
    """The id of the order numbered ``number`` whose e-mail (or its customer's) is
    ``email``, else None — the same None whichever of the two did not match."""
    forms, wanted = _number_forms(number), email.strip().casefold()
    if not forms or "@" not in wanted:
        return None
    with store.session() as s:
        rows = s.execute(
            select(Order.id, Order.email, Customer.email)
            .outerjoin(Customer, Customer.id == Order.customer_id)
            .where(Order.external_id.in_(forms))
        ).all()
    for order_id, order_email, customer_email in rows:
        known = {(e or "").strip().casefold() for e in (order_email, customer_email)}
        if wanted in known - {""}:
            return int(order_id)
    return None


def order_status(store: Store, order_id: int) -> dict[str, Any]:
    """What a shopper may know of their verified order: number, date, state, items."""
    with store.session() as s:
        order = s.get(Order, order_id)
        if order is None:
            raise SupportRecordError(f"order {order_id} no longer exists")
        return {
            "number": order.external_id,
            "created_at": order.created_at.isoformat(timespec="minutes"),
            "financial_status": order.financial_status,
            "fulfillment_status": order.fulfillment_status,
            "cancelled": order.cancelled_at is not None,
            "total": order.total,
            "currency": order.currency,
            "items": [{"title": ln.title, "quantity": ln.quantity} for ln in order.lines],
        }


# -- the inbox -----------------------------------------------------------------------------


def list_conversations(
    store: Store, status: str | None = None, limit: int = 50, offset: int = 0
) -> list[dict[str, Any]]:
    """Newest first, with each one's last shopper message and its open requests."""
    with store.session() as s:
        q = select(SupportConversation).order_by(SupportConversation.updated_at.desc(),
                                                 SupportConversation.id.desc())  # fmt: skip
        if status:
            q = q.where(SupportConversation.status == status)
        rows = s.scalars(q.limit(limit).offset(offset)).all()
        ids = [r.id for r in rows]
        last = _last_shopper_messages(s, ids)
        pending = dict(s.execute(
            select(SupportRequest.conversation_id, func.count())
            .where(SupportRequest.conversation_id.in_(ids), SupportRequest.status == "queued")
            .group_by(SupportRequest.conversation_id)).all())  # fmt: skip
        return [_summary(r, last.get(r.id, ""), int(pending.get(r.id, 0))) for r in rows]


def _last_shopper_messages(s: Any, ids: Sequence[int]) -> dict[int, str]:
    if not ids:
        return {}
    newest = (select(func.max(SupportMessage.id))
              .where(SupportMessage.conversation_id.in_(ids), SupportMessage.role == "shopper")
              .group_by(SupportMessage.conversation_id))  # fmt: skip
    rows = s.execute(select(SupportMessage.conversation_id, SupportMessage.text)
                     .where(SupportMessage.id.in_(newest))).all()  # fmt: skip
    return {cid: text for cid, text in rows}


def _summary(row: SupportConversation, last: str, pending: int) -> dict[str, Any]:
    return {"id": row.id, "channel": row.channel, "language": row.language,
            "status": row.status, "handover_reason": row.handover_reason,
            "turns": row.turns, "verified_order": row.order_id is not None,
            "last_message": last, "queued_requests": pending,
            "created_at": row.created_at.isoformat(timespec="seconds"),
            "updated_at": row.updated_at.isoformat(timespec="seconds")}  # fmt: skip


def conversation_detail(store: Store, conversation_id: int) -> dict[str, Any]:
    with store.session() as s:
        row = s.get(SupportConversation, conversation_id)
        if row is None:
            raise SupportRecordError(f"no conversation {conversation_id}")
        messages = s.scalars(
            select(SupportMessage)
            .where(SupportMessage.conversation_id == conversation_id)
            .order_by(SupportMessage.id)
        ).all()
        requests = s.scalars(
            select(SupportRequest)
            .where(SupportRequest.conversation_id == conversation_id)
            .order_by(SupportRequest.id)
        ).all()
        order = s.get(Order, row.order_id) if row.order_id else None
        return {
            **_summary(row, "", sum(r.status == "queued" for r in requests)),
            "order": order.external_id if order else None,
            "messages": [_message(m) for m in messages],
            "requests": [_request(r, order.external_id if order else None) for r in requests],
        }  # fmt: skip


def _message(m: SupportMessage) -> dict[str, Any]:
    return {"id": m.id, "role": m.role, "text": m.text, "intent": m.intent,
            "confidence": m.confidence, "outcome": m.outcome, "citations": m.citations or [],
            "author": m.author,
            "created_at": m.created_at.isoformat(timespec="seconds")}  # fmt: skip


def _request(r: SupportRequest, order: str | None) -> dict[str, Any]:
    return {"id": r.id, "conversation_id": r.conversation_id, "kind": r.kind,
            "order": order, "details": r.details, "status": r.status,
            "created_at": r.created_at.isoformat(timespec="seconds"),
            "decided_at": r.decided_at.isoformat(timespec="seconds") if r.decided_at else None,
            "decided_by": r.decided_by, "note": r.note}  # fmt: skip


def list_requests(store: Store, status: str | None = "queued", limit: int = 100
                  ) -> list[dict[str, Any]]:  # fmt: skip
    with store.session() as s:
        q = (select(SupportRequest, Order.external_id)
             .outerjoin(Order, Order.id == SupportRequest.order_id)
             .order_by(SupportRequest.id.desc()).limit(limit))  # fmt: skip
        if status:
            q = q.where(SupportRequest.status == status)
        return [_request(r, number) for r, number in s.execute(q).all()]


def decide_request(store: Store, request_id: int, status: str, by: str, note: str = ""
                   ) -> dict[str, Any]:  # fmt: skip
    """A person marks a queued request done or declined (the action itself is theirs)."""
    if status not in ("done", "declined"):
        raise SupportRecordError(f"status must be done or declined, got {status!r}")
    with store.session() as s:
        row = s.get(SupportRequest, request_id)
        if row is None:
            raise SupportRecordError(f"no request {request_id}")
        row.status, row.decided_by, row.note, row.decided_at = status, by, note[:5000], _now()
        s.flush()
        number = s.scalar(select(Order.external_id).where(Order.id == row.order_id))
        return _request(row, number)


def agent_reply(store: Store, conversation_id: int, text: str, author: str) -> None:
    """A person answers in the conversation; the shopper sees it on their next poll."""
    with store.session() as s:
        row = s.get(SupportConversation, conversation_id)
        if row is None:
            raise SupportRecordError(f"no conversation {conversation_id}")
        s.add(SupportMessage(conversation_id=row.id, role="agent", text=text, author=author,
                             outcome="agent", citations=[], created_at=_now()))  # fmt: skip
        row.updated_at = _now()
        s.flush()


def set_status(store: Store, conversation_id: int, status: str, by: str = "") -> None:
    if status not in STATUSES:
        raise SupportRecordError(f"status must be one of {', '.join(STATUSES)}")
    with store.session() as s:
        row = s.get(SupportConversation, conversation_id)
        if row is None:
            raise SupportRecordError(f"no conversation {conversation_id}")
        row.status, row.updated_at = status, _now()
        if status == "closed":
            row.closed_by = by
        if status == "open":
            row.failures, row.handover_reason = 0, None
        s.flush()


def messages_since(store: Store, conversation_id: int, after_id: int = 0
                   ) -> list[dict[str, Any]]:  # fmt: skip
    with store.session() as s:
        rows = s.scalars(select(SupportMessage).where(
            SupportMessage.conversation_id == conversation_id,
            SupportMessage.id > after_id).order_by(SupportMessage.id)).all()  # fmt: skip
        return [_message(m) for m in rows]


def shopper_history(store: Store, conversation_id: int, limit: int = 6) -> list[str]:
    """The shopper's earlier messages, oldest first (redacted as stored)."""
    with store.session() as s:
        rows = s.scalars(select(SupportMessage.text).where(
            SupportMessage.conversation_id == conversation_id, SupportMessage.role == "shopper")
            .order_by(SupportMessage.id.desc()).limit(limit)).all()  # fmt: skip
    return list(reversed(rows))


def unanswered(store: Store, limit: int = 500) -> list[dict[str, Any]]:
    """Shopper messages the assistant could not answer (declined, or handed over because
    it could not), newest first — grouped by ``shopmind.support.inbox``."""
    with store.session() as s:
        rows = s.execute(select(SupportMessage.text, SupportMessage.created_at,
                                SupportMessage.conversation_id)
                         .where(SupportMessage.role == "shopper",
                                or_(SupportMessage.outcome == "declined",
                                    SupportMessage.outcome == "repeated_failure"))
                         .order_by(SupportMessage.id.desc()).limit(limit)).all()  # fmt: skip
    return [{"text": t, "created_at": c.isoformat(timespec="seconds"), "conversation_id": i}
            for t, c, i in rows]  # fmt: skip


def counts(store: Store) -> dict[str, int]:
    with store.session() as s:
        by_status = dict(s.execute(select(SupportConversation.status, func.count())
                                   .group_by(SupportConversation.status)).all())  # fmt: skip
        queued = s.scalar(select(func.count()).select_from(SupportRequest)
                          .where(SupportRequest.status == "queued"))  # fmt: skip
    return {**{k: int(by_status.get(k, 0)) for k in STATUSES}, "queued_requests": int(queued or 0)}
