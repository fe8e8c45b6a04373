"""Shared model plumbing: device and threads, shipped weights, one reusable trainer, and
the model registry (``shopmind.models.registry``).

The names below are imported on first use, so a light module of this package (the
registry, which every command and the API server load) never pulls in torch.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

_EXPORTS = {
    "Trainer": "shopmind.models.trainer",
    "TrainerConfig": "shopmind.models.trainer",
    "WeightsMissing": "shopmind.models.weights",
    "minilm_path": "shopmind.models.weights",
    "pick_device": "shopmind.models.device",
    "set_threads": "shopmind.models.device",
}

__all__ = [
    "Trainer",
    "TrainerConfig",
    "WeightsMissing",
    "minilm_path",
    "pick_device",
    "set_threads",
]


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


if TYPE_CHECKING:
    from shopmind.models.device import pick_device, set_threads
    from shopmind.models.trainer import Trainer, TrainerConfig
    from shopmind.models.weights import WeightsMissing, minilm_path
