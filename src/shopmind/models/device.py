"""Where model work runs: the torch thread count and the device.

On a small CPU box more threads than cores only adds contention, so every entry point
sets the count explicitly (``Settings.threads``, 2 by default).
"""

from __future__ import annotations

import torch

from shopmind.config import Settings


def set_threads(threads: int | Settings | None = None) -> int:
    """Set torch's intra-op thread count (from a number or ``Settings.threads``); return it.

    ``None`` leaves the current count alone and just reports it.
    """
    if isinstance(threads, Settings):
        threads = threads.threads
    if threads is not None:
        if int(threads) < 1:
            raise ValueError(f"threads must be at least 1, got {threads}")
        if torch.get_num_threads() != int(threads):
            torch.set_num_threads(int(threads))
    return torch.get_num_threads()


def pick_device(device: str | torch.device | None = None) -> torch.device:
    """``"auto"``/``None``: CUDA when available, else CPU; otherwise the device named."""
    if device is None or str(device) == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(device)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError("device 'cuda' was asked for but no CUDA device is available")
    return device
