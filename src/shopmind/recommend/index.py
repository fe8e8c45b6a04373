"""The inner-product index over a model's item vectors (faiss, exact).

Models that score ``query · item`` (``als``, ``content``, ``sasrec``) answer through it:
the ``k`` best items come from ``faiss.IndexFlatIP`` (exact search; BLAS over the item
matrix and a heap), and the rules then look at those candidates only. When the rules
leave fewer than ``n`` of them, the search widens (``k`` × 4) until it has looked at
every item. faiss runs on ``threads`` OpenMP threads.
"""

from __future__ import annotations

import numpy as np


class VectorIndex:
    def __init__(self, vectors: np.ndarray, threads: int = 1) -> None:
        import faiss

        faiss.omp_set_num_threads(max(1, threads))
        self.vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        self.index = faiss.IndexFlatIP(self.vectors.shape[1])
        self.index.add(self.vectors)

    def __len__(self) -> int:
        return int(self.index.ntotal)

    def search(self, query: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """(codes, scores) of the ``k`` best items for one query vector, best first."""
        k = max(1, min(k, len(self)))
        scores, codes = self.index.search(np.ascontiguousarray(query[None, :], np.float32), k)
        keep = codes[0] >= 0
        return codes[0][keep].astype(np.int64), scores[0][keep]
