"""Language-model backends behind one interface (``LanguageModel.generate``), shared by
the content studio and the support assistant.

- ``local``: a causal LM in this process through transformers (default: the packaged
  SmolLM2-135M-Instruct); ``shopmind.models.llm.local``.
- ``openai``: any OpenAI-compatible chat-completions server; ``shopmind.models.llm.openai``.

``load_language_model(settings)`` returns the one the settings name. Importing this
package loads neither torch nor httpx: the backends are imported on first use.
"""

from __future__ import annotations

from shopmind.models.llm.base import (
    Candidate,
    LanguageModel,
    LLMAuthError,
    LLMConnectionError,
    LLMError,
    LLMModelNotFoundError,
    LLMNotFoundError,
    LLMRequestError,
    LLMUnavailableError,
    Message,
    StreamChunk,
)
from shopmind.models.llm.factory import load_language_model

__all__ = [
    "Candidate",
    "LLMAuthError",
    "LLMConnectionError",
    "LLMError",
    "LLMModelNotFoundError",
    "LLMNotFoundError",
    "LLMRequestError",
    "LLMUnavailableError",
    "LanguageModel",
    "Message",
    "StreamChunk",
    "load_language_model",
]
