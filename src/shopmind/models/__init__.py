"""Shared model plumbing: device and threads, shipped weights, one reusable trainer."""

from shopmind.models.device import pick_device, set_threads
from shopmind.models.trainer import Trainer, TrainerConfig
from shopmind.models.weights import WeightsMissing, minilm_path

__all__ = [
    "Trainer",
    "TrainerConfig",
    "WeightsMissing",
    "minilm_path",
    "pick_device",
    "set_threads",
]
