"""The one interface of every language-model backend, its results and its errors.

A backend takes OpenAI-style chat messages (``[{"role": "system" | "user" | "assistant",
"content": str}]``) and returns ``n`` candidates in one call. Stop strings are cut from
the text (the text ends before the first one) and reported as ``finish_reason == "stop"``,
like the end-of-sequence token; running out of ``max_tokens`` is ``"length"``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

ROLES = ("system", "user", "assistant")
Message = Mapping[str, str]


@dataclass(frozen=True)
class Candidate:
    """One generated variant. ``completion_tokens`` is ``None`` where the server reports
    only a total for several choices."""

    text: str
    finish_reason: str  # "stop" (end of sequence or a stop string) | "length" | server's own
    prompt_tokens: int | None = None
    completion_tokens: int | None = None


@dataclass(frozen=True)
class StreamChunk:
    """A piece of streamed text; the last chunk carries ``finish_reason`` (its text may be
    empty) and the token counts where the backend knows them."""

    text: str
    finish_reason: str | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None


@runtime_checkable
class LanguageModel(Protocol):
    """What the content studio and the support assistant call."""

    name: str  # the backend: "local" or "openai"
    model_id: str  # the model it runs or asks for

    def generate(
        self,
        messages: Sequence[Message],
        n: int = 1,
        max_tokens: int = 256,
        temperature: float = 0.7,
        stop: Sequence[str] | None = None,
        seed: int | None = None,
    ) -> list[Candidate]:
        """``n`` variants of the assistant's next message."""
        ...

    def stream(
        self,
        messages: Sequence[Message],
        max_tokens: int = 256,
        temperature: float = 0.7,
        stop: Sequence[str] | None = None,
        seed: int | None = None,
    ) -> Iterator[StreamChunk]:
        """One variant as it is generated; closing the iterator stops the generation."""
        ...


class LLMError(RuntimeError):
    """A language model could not answer; the message says why and what to check."""


class LLMConnectionError(LLMError):
    """The server cannot be reached (refused, unknown host, timed out)."""


class LLMNotFoundError(LLMError):
    """No chat-completions endpoint at the configured URL."""


class LLMAuthError(LLMError):
    """The server refused the API key (401 or 403)."""


class LLMModelNotFoundError(LLMError):
    """The server does not serve the model asked for (or the local one is not installed)."""


class LLMUnavailableError(LLMError):
    """The server stayed busy or failing (429 / 5xx) for every attempt."""


class LLMRequestError(LLMError):
    """The request itself is wrong: bad messages, a prompt longer than the context."""


def check_request(
    messages: Sequence[Message], n: int, max_tokens: int, temperature: float
) -> list[dict[str, str]]:
    """The messages as plain dicts, or ``LLMRequestError`` naming what is wrong."""
    if n < 1:
        raise LLMRequestError(f"n must be at least 1, got {n}")
    if max_tokens < 1:
        raise LLMRequestError(f"max_tokens must be at least 1, got {max_tokens}")
    if not 0 <= temperature <= 2:
        raise LLMRequestError(f"temperature must be between 0 and 2, got {temperature}")
    if not messages:
        raise LLMRequestError("no messages")
    checked = []
    for i, message in enumerate(messages):
        role, content = message.get("role"), message.get("content")
        if role not in ROLES:
            raise LLMRequestError(f"messages[{i}].role must be one of {ROLES}, got {role!r}")
        if not isinstance(content, str):
            raise LLMRequestError(f"messages[{i}].content must be text")
        checked.append({"role": role, "content": content})
    return checked


def cut_at_stop(text: str, stop: Sequence[str] | None) -> tuple[str, bool]:
    """``text`` up to the first stop string, and whether one was found."""
    ends = [i for s in stop or () if s and (i := text.find(s)) >= 0]
    return (text[: min(ends)], True) if ends else (text, False)


class StopScanner:
    """Cuts a stream of text pieces at the first stop string: ``feed`` returns what is safe
    to show now, holding back a tail that could be the start of a stop string."""

    def __init__(self, stop: Sequence[str] | None) -> None:
        self.stop = [s for s in stop or () if s]
        self.stopped = False
        self._held = ""

    def feed(self, piece: str) -> str:
        if self.stopped:
            return ""
        text, self.stopped = cut_at_stop(self._held + piece, self.stop)
        if self.stopped:
            self._held = ""
            return text
        keep = self._partial(text)
        self._held = text[len(text) - keep :] if keep else ""
        return text[: len(text) - keep]

    def flush(self) -> str:
        """What is held back, once the stream has ended without a stop string."""
        held, self._held = self._held, ""
        return "" if self.stopped else held

    def _partial(self, text: str) -> int:
        """Length of the longest tail of ``text`` that begins some stop string."""
        longest = 0
        for s in self.stop:
            for k in range(min(len(s) - 1, len(text)), longest, -1):
                if text.endswith(s[:k]):
                    longest = k
                    break
        return longest
