"""Content drafts in the store: generated copy waiting for a person to approve or reject it.

A generation run for one product, task and language stores its variants that passed
every guard, best first (``rank`` 0), as drafts. A new run for the same product, task
and language replaces the drafts nobody has touched yet; approved, rejected and edited
ones stay. At most one draft per product, task and language is approved: approving
another returns the previous one to ``draft``.

``settings_key`` fingerprints what wrote a draft (task, language, model, settings), so a
bulk run over the catalogue skips the products already done the same way
(:func:`done_keys`) and resumes where it stopped.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, select

from shopmind.store.db import Store
from shopmind.store.models import ContentDraft
from shopmind.store.writer import dumps_json

DRAFT, APPROVED, REJECTED = "draft", "approved", "rejected"
RULES = "rules"  # the model column of a facts-writer variant
STATUSES = (DRAFT, APPROVED, REJECTED)


class DraftNotFound(LookupError):
    def __init__(self, draft_id: int) -> None:
        super().__init__(f"no content draft {draft_id}")
        self.draft_id = draft_id


@dataclass(frozen=True)
class DraftView:
    id: int
    product_id: int | None
    product_key: str
    task: str
    language: str
    rank: int
    fields: dict[str, Any]
    scores: dict[str, Any]
    status: str
    model: str
    settings: dict[str, Any]
    settings_key: str
    edited: bool
    job_id: int | None
    created_at: datetime
    updated_at: datetime
    decided_by: str

    def as_dict(self) -> dict[str, Any]:
        out = dict(self.__dict__)
        out["created_at"] = self.created_at.isoformat()
        out["updated_at"] = self.updated_at.isoformat()
        return out


def utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def settings_key(task: str, language: str, model: str, settings: Mapping[str, Any]) -> str:
    """A fingerprint of what writes a draft: the same key means "done the same way"."""
    basis = dumps_json({"task": task, "language": language, "model": model, **settings})
    return hashlib.sha256(basis.encode()).hexdigest()[:32]


def _view(row: ContentDraft) -> DraftView:
    return DraftView(
        row.id,
        row.product_id,
        row.product_key,
        row.task,
        row.language,
        row.rank,
        dict(row.fields or {}),
        dict(row.scores or {}),
        row.status,
        row.model,
        dict(row.settings or {}),
        row.settings_key,
        bool(row.edited),
        row.job_id,
        row.created_at,
        row.updated_at,
        row.decided_by,
    )


def save_run(
    store: Store,
    *,
    product_key: str,
    product_id: int | None,
    task: str,
    language: str,
    variants: Sequence[tuple[Mapping[str, Any], ...]],
    model: str,
    settings: Mapping[str, Any],
    job_id: int | None = None,
) -> list[DraftView]:
    """Store one run's variants (``(fields, scores)`` or ``(fields, scores, writer)``,
    best first) as drafts, replacing the untouched drafts of an earlier run for the same
    product, task and language; in one transaction. A variant of the facts writer
    (``writer == "rules"``) is stored with ``model`` ``"rules"``. Returns the new drafts."""
    if not product_key:
        raise ValueError("product_key is empty")
    key = settings_key(task, language, model, settings)
    now = utcnow()
    with store.session() as s:
        s.execute(
            delete(ContentDraft).where(
                ContentDraft.product_key == product_key,
                ContentDraft.task == task,
                ContentDraft.language == language,
                ContentDraft.status == DRAFT,
                ContentDraft.edited.is_(False),
            )
        )
        rows = [
            ContentDraft(
                product_id=product_id,
                product_key=product_key,
                task=task,
                language=language,
                rank=rank,
                fields=dict(variant[0]),
                scores=dict(variant[1]),
                status=DRAFT,
                model=RULES if variant[2:] == ("rules",) else model,
                settings=dict(settings),
                settings_key=key,
                edited=False,
                job_id=job_id,
                created_at=now,
                updated_at=now,
                decided_by="",
            )
            for rank, variant in enumerate(variants)
        ]
        s.add_all(rows)
        s.flush()
        return [_view(row) for row in rows]


def list_drafts(
    store: Store,
    *,
    status: str | None = None,
    task: str | None = None,
    product_key: str | None = None,
    job_id: int | None = None,
    limit: int = 100,
    offset: int = 0,
) -> list[DraftView]:
    """Drafts, newest first (then by rank), filtered by status, task, product and the
    job that wrote them."""
    if status is not None and status not in STATUSES:
        raise ValueError(f"status {status!r} is not one of {', '.join(STATUSES)}")
    query = select(ContentDraft)
    if status is not None:
        query = query.where(ContentDraft.status == status)
    if task is not None:
        query = query.where(ContentDraft.task == task)
    if product_key is not None:
        query = query.where(ContentDraft.product_key == product_key)
    if job_id is not None:
        query = query.where(ContentDraft.job_id == job_id)
    query = query.order_by(
        ContentDraft.created_at.desc(), ContentDraft.product_key, ContentDraft.rank
    )
    with store.session() as s:
        rows = s.scalars(query.limit(max(1, min(limit, 1000))).offset(max(0, offset)))
        return [_view(row) for row in rows]


def get_draft(store: Store, draft_id: int) -> DraftView:
    with store.session() as s:
        row = s.get(ContentDraft, draft_id)
        if row is None:
            raise DraftNotFound(draft_id)
        return _view(row)


def decide(store: Store, draft_id: int, status: str, by: str = "") -> DraftView:
    """Approve or reject a draft (or return it to ``draft``). Approving it returns the
    product's previously approved draft for the same task and language to ``draft``."""
    if status not in STATUSES:
        raise ValueError(f"status {status!r} is not one of {', '.join(STATUSES)}")
    with store.session() as s:
        row = s.get(ContentDraft, draft_id, with_for_update=True)
        if row is None:
            raise DraftNotFound(draft_id)
        now = utcnow()
        if status == APPROVED:
            others = select(ContentDraft).where(
                ContentDraft.product_key == row.product_key,
                ContentDraft.task == row.task,
                ContentDraft.language == row.language,
                ContentDraft.status == APPROVED,
                ContentDraft.id != row.id,
            )
            for other in s.scalars(others.with_for_update()):
                other.status, other.updated_at = DRAFT, now
        row.status, row.updated_at, row.decided_by = status, now, by
        s.flush()
        return _view(row)


def edit(store: Store, draft_id: int, fields: Mapping[str, Any], by: str = "") -> DraftView:
    """Replace a draft's fields with a person's text (checked by the caller against the
    task's channel spec); the draft is marked edited and kept by later runs."""
    with store.session() as s:
        row = s.get(ContentDraft, draft_id, with_for_update=True)
        if row is None:
            raise DraftNotFound(draft_id)
        row.fields = dict(fields)
        row.edited = True
        row.updated_at = utcnow()
        row.decided_by = by or row.decided_by
        s.flush()
        return _view(row)


def done_keys(store: Store, task: str, language: str, key: str) -> set[str]:
    """The products that already have drafts of ``task`` in ``language`` written with
    settings fingerprint ``key``: what a resumed bulk run skips."""
    query = (
        select(ContentDraft.product_key)
        .where(
            ContentDraft.task == task,
            ContentDraft.language == language,
            ContentDraft.settings_key == key,
        )
        .distinct()
    )
    with store.session() as s:
        return set(s.scalars(query))


def approved_for(
    store: Store, task: str, product_keys: Iterable[str] | None = None
) -> list[DraftView]:
    """The approved drafts of ``task`` (for exports), by product."""
    query = select(ContentDraft).where(ContentDraft.task == task, ContentDraft.status == APPROVED)
    if product_keys is not None:
        query = query.where(ContentDraft.product_key.in_(list(product_keys)))
    with store.session() as s:
        order = (ContentDraft.product_key, ContentDraft.language, ContentDraft.rank)
        return [_view(row) for row in s.scalars(query.order_by(*order))]
