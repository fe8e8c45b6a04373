"""``load_language_model(settings)``: the backend the settings name, ready to call."""

from __future__ import annotations

import threading

from shopmind.config import Settings
from shopmind.models.llm.base import LanguageModel

_clients: dict[tuple[object, ...], LanguageModel] = {}
_lock = threading.Lock()
MAX_CLIENTS = 8  # openai clients kept (each holds a connection pool)


def load_language_model(settings: Settings) -> LanguageModel:
    """``llm_backend = "local"``: the model ``llm_model`` names (empty: the packaged
    SmolLM2-135M-Instruct), loaded once per process in ``llm_precision``, torch threads
    from ``threads``.
    ``"openai"``: a client of ``llm_model`` at ``llm_base_url`` with ``llm_api_key``,
    kept per process and per setting values."""
    if settings.llm_backend == "local":
        from shopmind.models.device import set_threads
        from shopmind.models.llm.local import load_local

        set_threads(settings)
        return load_local(settings.llm_model, precision=settings.llm_precision)
    from shopmind.models.llm.openai import OpenAICompatible

    key = (
        settings.llm_base_url,
        settings.llm_model,
        settings.llm_api_key,
        settings.llm_timeout_seconds,
        settings.llm_max_retries,
    )
    with _lock:
        if key not in _clients:
            if len(_clients) >= MAX_CLIENTS:
                _clients.pop(next(iter(_clients)))
            _clients[key] = OpenAICompatible(
                settings.llm_base_url,
                settings.llm_model,
                api_key=settings.llm_api_key,
                timeout=settings.llm_timeout_seconds,
                max_retries=settings.llm_max_retries,
            )
        return _clients[key]
