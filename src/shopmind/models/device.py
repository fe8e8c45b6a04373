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


def native_bfloat16(device: str | torch.device = "cpu") -> bool:
    """Whether ``device`` runs bfloat16 matrix products in hardware (not emulated).

    CPUs with AVX512-BF16 or AMX (oneDNN reports them) and CUDA GPUs from Ampere on do;
    elsewhere bfloat16 autocast is slower than float32, so callers stay in float32.
    """
    device = torch.device(device)
    if device.type == "cuda":
        return torch.cuda.is_available() and torch.cuda.is_bf16_supported()
    if device.type != "cpu" or not torch.backends.mkldnn.is_available():
        return False
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False
