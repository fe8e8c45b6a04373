"""Offline evaluation: metrics as plain functions, and the leave-one-out protocol.

Protocol (the S3Rec / ICLRec family's, so numbers compare with the published ones):

- **leave-one-out**: of each user's time-ordered sequence the last item is the test
  target, the second-last the validation target; the model trains on the rest;
- **full ranking**: the target is ranked against *every* item of the catalog, never
  against a sample of negatives;
- the user's **earlier items are excluded** from the ranking (for validation the training
  items, for test those plus the validation item), as the published code does by
  zeroing their scores — so a target the user already had earlier counts as a miss.

Users with fewer than 3 items have no validation and test target and are left out of the
evaluation (they still train).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np


def hit_rate_at_k(ranked: Sequence[Any], relevant: Iterable[Any], k: int) -> float:
    """1.0 when any relevant item is among the first ``k`` of ``ranked``, else 0.0."""
    wanted = set(relevant)
    return float(any(item in wanted for item in list(ranked)[:k]))


def ndcg_at_k(ranked: Sequence[Any], relevant: Iterable[Any], k: int) -> float:
    """Binary-relevance NDCG@k: the DCG of ``ranked[:k]`` (gain ``1 / log2(rank + 1)``,
    ranks from 1) over the DCG of the ideal order. 0.0 when nothing is relevant."""
    wanted = set(relevant)
    if not wanted or k <= 0:
        return 0.0
    dcg = sum(1.0 / math.log2(r + 2) for r, item in enumerate(list(ranked)[:k]) if item in wanted)
    ideal = sum(1.0 / math.log2(r + 2) for r in range(min(len(wanted), k)))
    return dcg / ideal


def coverage(recommended: Iterable[Iterable[Any]], n_items: int) -> float:
    """The share of the catalog's ``n_items`` that appear in at least one list."""
    if n_items <= 0:
        raise ValueError("n_items must be positive")
    return len({item for items in recommended for item in items}) / n_items


@dataclass
class Split:
    """Leave-one-out targets per evaluated user: ``train[u]`` (what the model learns from
    for validation), ``valid[u]``, ``test[u]`` (item codes); ``users`` are the codes of the
    users with a target."""

    train: list[np.ndarray]
    users: np.ndarray
    valid: np.ndarray
    test: np.ndarray


def leave_one_out(sequences: Sequence[np.ndarray]) -> Split:
    """Split every sequence: the last item is the test target, the second-last the
    validation target, the rest trains. Sequences shorter than 3 train whole."""
    train, users, valid, test = [], [], [], []
    for u, seq in enumerate(sequences):
        if len(seq) >= 3:
            train.append(seq[:-2])
            users.append(u)
            valid.append(seq[-2])
            test.append(seq[-1])
        else:
            train.append(seq)
    as_int = {"dtype": np.int64}
    return Split(train, np.asarray(users, **as_int), np.asarray(valid, **as_int),
                 np.asarray(test, **as_int))  # fmt: skip


# A scorer takes the histories of a batch of users (item codes, time order) and returns
# their scores over all items: (batch, n_items).
Scorer = Callable[[Sequence[np.ndarray]], np.ndarray]


def rank_of_targets(
    scorer: Scorer,
    histories: Sequence[np.ndarray],
    targets: np.ndarray,
    batch_size: int = 512,
) -> np.ndarray:
    """For each history, the 0-based rank of its target among all items, the history's
    own items excluded (their scores set to -inf, the target's too when it is among
    them — it then ranks last). Ties count against the target (pessimistic)."""
    ranks = np.empty(len(targets), dtype=np.int64)
    for start in range(0, len(targets), batch_size):
        chunk = histories[start : start + batch_size]
        scores = np.array(scorer(chunk), dtype=np.float32, copy=True)  # (batch, items)
        for row, seen in enumerate(chunk):
            scores[row, np.asarray(seen, dtype=np.int64)] = -np.inf
        target = targets[start : start + len(chunk)]
        mine = scores[np.arange(len(chunk)), target]
        ranks[start : start + len(chunk)] = (scores >= mine[:, None]).sum(axis=1) - 1
        # a target excluded as history (-inf) ranks after every item
        ranks[start : start + len(chunk)][np.isneginf(mine)] = scores.shape[1]
    return ranks


def metrics_from_ranks(ranks: np.ndarray, ks: Sequence[int] = (10,)) -> dict[str, float]:
    """HR@k and NDCG@k (one target per user) averaged over users, from 0-based ranks."""
    out: dict[str, float] = {}
    for k in ks:
        hit = ranks < k
        out[f"hr@{k}"] = float(hit.mean()) if len(ranks) else 0.0
        gains = np.where(hit, 1.0 / np.log2(ranks.clip(max=k) + 2.0), 0.0)
        out[f"ndcg@{k}"] = float(gains.mean()) if len(ranks) else 0.0
    return out


def evaluate(
    scorer: Scorer,
    split: Split,
    stage: str = "test",
    ks: Sequence[int] = (10,),
    batch_size: int = 512,
) -> dict[str, float]:
    """HR@k and NDCG@k of ``scorer`` on ``split``'s validation or test targets.

    ``stage="valid"``: the history is the training part; ``"test"``: the training part
    plus the validation item. ``scorer`` is called on those histories."""
    if stage not in ("valid", "test"):
        raise ValueError(f"stage must be 'valid' or 'test', got {stage!r}")
    if stage == "valid":
        histories = [split.train[u] for u in split.users]
        targets = split.valid
    else:
        pairs = zip(split.users, split.valid, strict=True)
        histories = [np.append(split.train[u], v) for u, v in pairs]
        targets = split.test
    ranks = rank_of_targets(scorer, histories, targets, batch_size)
    return metrics_from_ranks(ranks, ks) | {"users": float(len(targets))}
