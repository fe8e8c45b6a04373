"""Interactions: who touched which item when, as integer-coded arrays.

Every recommender trains on one :class:`Interactions`: parallel arrays of user codes,
item codes, times and weights, with the string ids behind the codes. Users' time-ordered
item sequences (what ``sasrec`` reads) and the user × item matrix (what ``als`` and
``itemknn`` read) are views of the same rows.

Sources:

- :func:`read_sequences` — a text file with one line per user, ``user item1 item2 …`` in
  time order (the S3Rec / ICLRec format of ``recs/amazon-s3rec/``); a malformed line is
  refused naming its number;
- :func:`shopmind.recommend.store.interactions_from_store` — a store's behaviour events
  and order lines, weighted by kind.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import scipy.sparse as sp


class InteractionsError(ValueError):
    """Interaction data that cannot be used, with where it went wrong."""


@dataclass
class Interactions:
    """Rows of (user, item, time, weight); ``users[u]`` / ``items[i]`` are the string ids
    behind code ``u`` / ``i``. Codes are dense: ``0 … len(users) - 1``."""

    user_codes: np.ndarray  # (rows,) int32
    item_codes: np.ndarray  # (rows,) int32
    times: np.ndarray  # (rows,) float64, any monotone clock (seconds, or positions)
    weights: np.ndarray  # (rows,) float32
    users: list[str]
    items: list[str]
    _item_index: dict[str, int] = field(default_factory=dict, repr=False)
    _user_index: dict[str, int] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        n = len(self.user_codes)
        if not (len(self.item_codes) == len(self.times) == len(self.weights) == n):
            raise InteractionsError("user_codes, item_codes, times and weights differ in length")
        self._item_index = {item: i for i, item in enumerate(self.items)}
        self._user_index = {user: u for u, user in enumerate(self.users)}

    # -- building -------------------------------------------------------------------------
    @classmethod
    def from_rows(
        cls,
        rows: Iterable[tuple[str, str, float] | tuple[str, str, float, float]],
        items: Sequence[str] | None = None,
    ) -> Interactions:
        """From ``(user, item, time[, weight])`` rows (weight 1 when left out). ``items``
        fixes the item codes (e.g. the whole catalog, with items nobody touched yet)."""
        user_index: dict[str, int] = {}
        item_index: dict[str, int] = {str(i): k for k, i in enumerate(items or ())}
        known_only = items is not None
        u_codes, i_codes, times, weights = [], [], [], []
        for row in rows:
            user, item, when = str(row[0]), str(row[1]), float(row[2])
            weight = float(row[3]) if len(row) > 3 else 1.0  # type: ignore[misc]
            if item not in item_index:
                if known_only:
                    continue
                item_index[item] = len(item_index)
            u_codes.append(user_index.setdefault(user, len(user_index)))
            i_codes.append(item_index[item])
            times.append(when)
            weights.append(weight)
        return cls(
            np.asarray(u_codes, dtype=np.int32),
            np.asarray(i_codes, dtype=np.int32),
            np.asarray(times, dtype=np.float64),
            np.asarray(weights, dtype=np.float32),
            list(user_index),
            list(item_index),
        )

    @classmethod
    def from_sequences(
        cls, sequences: Sequence[tuple[str, Sequence[str]]], items: Sequence[str] | None = None
    ) -> Interactions:
        """From ``(user, [item, …])`` pairs in time order (the position is the time)."""
        rows = ((user, item, float(t)) for user, seq in sequences for t, item in enumerate(seq))
        return cls.from_rows(rows, items)

    # -- views ----------------------------------------------------------------------------
    @property
    def n_users(self) -> int:
        return len(self.users)

    @property
    def n_items(self) -> int:
        return len(self.items)

    def __len__(self) -> int:
        return len(self.user_codes)

    def item_code(self, item: str) -> int | None:
        return self._item_index.get(str(item))

    def user_code(self, user: str) -> int | None:
        return self._user_index.get(str(user))

    def sequences(self) -> list[np.ndarray]:
        """Per user code, the item codes in time order (ties keep row order)."""
        order = np.lexsort((np.arange(len(self)), self.times, self.user_codes))
        users, items = self.user_codes[order], self.item_codes[order]
        bounds = np.searchsorted(users, np.arange(self.n_users + 1))
        return [items[bounds[u] : bounds[u + 1]] for u in range(self.n_users)]

    def without_last(self, k: int = 2, min_length: int = 3) -> Interactions:
        """The rows without each user's last ``k`` (users with fewer than ``min_length``
        rows keep all): the training part of leave-one-out, weights kept, codes the same."""
        order = np.lexsort((np.arange(len(self)), self.times, self.user_codes))
        counts = np.bincount(self.user_codes, minlength=self.n_users)
        users = self.user_codes[order]
        starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
        position = np.arange(len(order)) - starts[users]  # 0-based, in time order
        from_end = counts[users] - 1 - position
        keep = order[(counts[users] < min_length) | (from_end >= k)]
        keep.sort()
        return Interactions(self.user_codes[keep], self.item_codes[keep], self.times[keep],
                            self.weights[keep], list(self.users), list(self.items))  # fmt: skip

    def matrix(self) -> sp.csr_matrix:
        """(users, items) sum of weights, CSR float32."""
        m = sp.csr_matrix(
            (self.weights, (self.user_codes, self.item_codes)),
            shape=(self.n_users, self.n_items),
            dtype=np.float32,
        )
        m.sum_duplicates()
        return m


def read_sequences(path: str | Path) -> list[tuple[str, list[str]]]:
    """``user item1 item2 …`` per line (whitespace separated, time order). Blank lines are
    skipped; a line with a user but no item, or a user id seen twice, is refused with its
    line number."""
    path = Path(path)
    out: list[tuple[str, list[str]]] = []
    seen: dict[str, int] = {}
    try:
        handle = path.open("rb")
    except OSError as exc:
        raise InteractionsError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    with handle:
        for number, raw in enumerate(handle, start=1):
            try:
                parts = raw.decode("utf-8").split()
            except UnicodeDecodeError as exc:
                raise InteractionsError(f"{path}, line {number}: not UTF-8 text") from exc
            if not parts:
                continue
            if len(parts) < 2:
                raise InteractionsError(
                    f"{path}, line {number}: user {parts[0]!r} has no items "
                    "(expected 'user item1 item2 …')"
                )
            if parts[0] in seen:
                raise InteractionsError(
                    f"{path}, line {number}: user {parts[0]!r} already on line {seen[parts[0]]}"
                )
            seen[parts[0]] = number
            out.append((parts[0], parts[1:]))
    if not out:
        raise InteractionsError(f"{path}: no sequences (expected lines 'user item1 item2 …')")
    return out
