"""What the merchant's team reads beside the conversations: the questions nobody answered,
grouped so the next help page to write stands out, and what the assistant answers from.

Grouping: each question's sentence vector (e5, which reads English and Chinese alike);
questions join the first group whose first question is at least ``SAME_TOPIC`` similar,
in order of arrival — one pass, no number of groups to choose. Groups are ordered by
size, then by how recently they were asked.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

SAME_TOPIC = 0.88  # e5 cosine: "do you ship to Iceland?" and "delivery to Iceland?" ≈ 0.9
SHOWN = 5


def group_unanswered(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """``rows`` (newest first: ``text``, ``created_at``) → groups, biggest first."""
    if not rows:
        return []
    from shopmind.models import e5

    vecs = e5.embed([r["text"] for r in rows])
    heads: list[int] = []
    members: list[list[int]] = []
    for i in range(len(rows)):
        if heads:
            sims = vecs[heads] @ vecs[i]
            j = int(np.argmax(sims))
            if sims[j] >= SAME_TOPIC:
                members[j].append(i)
                continue
        heads.append(i)
        members.append([i])
    groups = [_group(rows, vecs, m) for m in members]
    groups.sort(key=lambda g: g["last_asked"], reverse=True)
    groups.sort(key=lambda g: -g["count"])  # stable: the newest first within a size
    return groups


def _group(rows: Sequence[dict[str, Any]], vecs: np.ndarray, idx: list[int]) -> dict[str, Any]:
    centre = vecs[idx].mean(axis=0)
    typical = idx[int(np.argmax(vecs[idx] @ centre))]
    seen: list[str] = []
    for i in idx:
        text = rows[i]["text"]
        if text not in seen:
            seen.append(text)
    return {"example": rows[typical]["text"], "count": len(idx), "questions": seen[:SHOWN],
            "last_asked": max(rows[i]["created_at"] for i in idx)}  # fmt: skip


def knowledge_summary(store: Any, models_dir: Path) -> dict[str, Any]:
    """The index as the assistant sees it: passages per page, FAQ and product."""
    from shopmind.support.knowledge import ensure_index, source_counts

    idx = ensure_index(store, models_dir)
    by_ref: dict[tuple[str, str], dict[str, Any]] = {}
    for p in idx.passages:
        entry = by_ref.setdefault((p.source, p.ref), {
            "ref": p.ref, "source": p.source, "title": p.title, "url": p.url, "passages": 0,
            "language": p.language})  # fmt: skip
        entry["passages"] += 1
    sources = sorted(by_ref.values(), key=lambda e: (e["source"] == "product", e["ref"]))
    return {"passages": len(idx.passages), "by_source": source_counts(idx.passages),
            "sources": sources}  # fmt: skip
