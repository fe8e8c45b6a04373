"""The ``openai`` backend: any OpenAI-compatible chat-completions server.

vLLM, Ollama, llama.cpp's ``llama-server``, a hosted API — or another shopmind
(``POST /v1/chat/completions``). ``base_url`` is the API's base, usually ending in ``/v1``;
requests go to ``{base_url}/chat/completions`` with ``Authorization: Bearer {api_key}``.

- **Retries**: a refused or dropped connection, a timeout, ``429`` and ``5xx`` are tried
  again, at most ``max_retries`` more times, after an exponential back-off with jitter
  (``backoff`` · 2^attempt, the second half drawn at random), or after the server's
  ``Retry-After`` when it sends one (up to ``max_wait`` seconds; a longer one gives up).
- **Errors** name the problem and the setting to check: ``LLMConnectionError`` (nothing
  answers at the URL), ``LLMNotFoundError`` (no such endpoint: a wrong path),
  ``LLMAuthError`` (401/403: the key), ``LLMModelNotFoundError`` (the server does not
  serve the model), ``LLMUnavailableError`` (still 429/5xx after the retries),
  ``LLMRequestError`` (other 4xx, with the server's message).
- **n variants**: ``n`` is sent; a server that returns fewer choices (Ollama ignores
  ``n``) is asked again for the rest, with ``seed + 1``, ``seed + 2`` … when seeded.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Iterator, Sequence
from contextlib import closing
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from shopmind.models.llm.base import (
    Candidate,
    LLMAuthError,
    LLMConnectionError,
    LLMError,
    LLMModelNotFoundError,
    LLMNotFoundError,
    LLMRequestError,
    LLMUnavailableError,
    Message,
    StopScanner,
    StreamChunk,
    check_request,
    cut_at_stop,
)

RETRIED = frozenset({408, 425, 429})  # and every 5xx
MODEL_MISSING = ("not found", "does not exist", "unknown", "no such")


class OpenAICompatible:
    """A client of one model on one OpenAI-compatible server."""

    name = "openai"

    def __init__(
        self,
        base_url: str,
        model: str,
        api_key: str = "",
        timeout: float = 60.0,
        max_retries: int = 3,
        backoff: float = 0.5,
        max_wait: float = 60.0,
    ) -> None:
        if not base_url:
            raise LLMConnectionError(
                "llm_base_url is empty: set it to the server's API base, e.g. "
                "http://127.0.0.1:8000/v1 (SHOPMIND_LLM_BASE_URL)"
            )
        if not model:
            raise LLMModelNotFoundError(
                "llm_model is empty: name the model the server serves (SHOPMIND_LLM_MODEL)"
            )
        self.base_url = base_url.rstrip("/")
        self.url = f"{self.base_url}/chat/completions"
        self.model_id = model
        self.has_key = bool(api_key)
        self.max_retries, self.backoff, self.max_wait = max_retries, backoff, max_wait
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._client = httpx.Client(
            headers=headers, timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0))
        )
        self._timeout = timeout

    def close(self) -> None:
        self._client.close()

    def generate(
        self,
        messages: Sequence[Message],
        n: int = 1,
        max_tokens: int = 256,
        temperature: float = 0.7,
        stop: Sequence[str] | None = None,
        seed: int | None = None,
    ) -> list[Candidate]:
        checked = check_request(messages, n, max_tokens, temperature)
        candidates: list[Candidate] = []
        for attempt in range(n):  # each request returns at least one choice, or raises
            body = self._body(checked, n - len(candidates), max_tokens, temperature, stop)
            if seed is not None:
                body["seed"] = seed + attempt
            candidates += self._candidates(self._post(body), stop)
            if len(candidates) >= n:
                break
        return candidates[:n]

    def stream(
        self,
        messages: Sequence[Message],
        max_tokens: int = 256,
        temperature: float = 0.7,
        stop: Sequence[str] | None = None,
        seed: int | None = None,
    ) -> Iterator[StreamChunk]:
        """One variant over server-sent events (``"stream": true``)."""
        checked = check_request(messages, 1, max_tokens, temperature)
        body = {**self._body(checked, 1, max_tokens, temperature, stop), "stream": True}
        if seed is not None:
            body["seed"] = seed
        scanner, reason = StopScanner(stop), None
        with closing(self._send(body, stream=True)) as response:
            for data in self._events(response):
                choice = (data.get("choices") or [{}])[0]
                shown = scanner.feed((choice.get("delta") or {}).get("content") or "")
                if shown:
                    yield StreamChunk(shown)
                reason = choice.get("finish_reason") or reason
                if scanner.stopped:
                    break
        rest = scanner.flush()
        if rest:
            yield StreamChunk(rest)
        yield StreamChunk("", "stop" if scanner.stopped else reason or "stop")

    def _events(self, response: httpx.Response) -> Iterator[dict[str, Any]]:
        """The JSON ``data:`` events of a stream, up to ``[DONE]``."""
        try:
            for line in response.iter_lines():
                if not line.startswith("data:"):
                    continue
                data = line[5:].strip()
                if data == "[DONE]":
                    return
                event = _json(data)
                if "error" in event:
                    raise LLMError(
                        f"the language-model server at {self.base_url} failed "
                        f"while streaming: {_error_text(event)}"
                    )
                yield event
        except httpx.HTTPError as exc:
            raise LLMConnectionError(
                f"the stream from {self.base_url} broke off ({type(exc).__name__}: {exc})"
            ) from exc

    # -- one request ----------------------------------------------------------------------

    def _body(
        self,
        messages: list[dict[str, str]],
        n: int,
        max_tokens: int,
        temperature: float,
        stop: Sequence[str] | None,
    ) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": self.model_id,
            "messages": messages,
            "n": n,
            "max_tokens": max_tokens,
            "temperature": temperature,
        }
        if stop:
            body["stop"] = list(stop)
        return body

    def _post(self, body: dict[str, Any]) -> dict[str, Any]:
        response = self._send(body)
        try:
            data = response.json()
        except ValueError:
            data = None
        if not isinstance(data, dict) or not isinstance(data.get("choices"), list):
            raise LLMError(
                f"{self.url} did not answer in the OpenAI chat-completions shape "
                f"({response.text[:200]!r}): is llm_base_url the API's base (often ending in /v1)?"
            )
        return data

    def _send(self, body: dict[str, Any], stream: bool = False) -> httpx.Response:
        """The response to ``body`` after retries; with ``stream``, its body not read yet
        (close it)."""
        for attempt in range(self.max_retries + 1):
            wait: float | None = None
            try:
                response = self._client.send(
                    self._client.build_request("POST", self.url, json=body), stream=stream
                )
                if response.status_code >= 400:
                    response.read()  # the error's words (a streamed response is not read yet)
                    response.close()
            except httpx.TimeoutException:
                error: LLMError = LLMConnectionError(
                    f"the language-model server at {self.base_url} did not answer within "
                    f"{self._timeout:g} s (llm_timeout_seconds)"
                )
            except httpx.HTTPError as exc:
                error = LLMConnectionError(
                    f"cannot reach the language-model server at {self.base_url} "
                    f"({type(exc).__name__}: {exc}): is it running, and is llm_base_url right?"
                )
            else:
                status = response.status_code
                if status < 400:
                    return response
                if status not in RETRIED and status < 500:
                    raise self._refused(response)
                error = LLMUnavailableError(
                    f"the language-model server at {self.base_url} answered {status} "
                    f"({_message(response)}) to {self.max_retries + 1} attempts"
                )
                wait = _retry_after(response)
            if attempt == self.max_retries:
                raise error
            if wait is not None and wait > self.max_wait:
                raise LLMUnavailableError(f"{error}; it asks to retry in {wait:g} s") from None
            time.sleep(wait if wait is not None else self._delay(attempt))
        raise AssertionError("unreachable")

    def _delay(self, attempt: int) -> float:
        """Exponential back-off with jitter: half fixed, half drawn at random."""
        delay = min(self.max_wait, self.backoff * 2**attempt)
        return delay / 2 + random.uniform(0, delay / 2)

    def _refused(self, response: httpx.Response) -> LLMError:
        status, message = response.status_code, _message(response)
        if status in (401, 403):
            key = "check llm_api_key" if self.has_key else "llm_api_key is empty: set it"
            return LLMAuthError(
                f"the language-model server at {self.base_url} refused the API key "
                f"({status}: {message}): {key} (SHOPMIND_LLM_API_KEY)"
            )
        lower = message.lower()
        about_model = "model" in lower
        if status in (404, 405) and not about_model:
            return LLMNotFoundError(
                f"no chat-completions endpoint at {self.url} ({status}: {message}): check "
                "llm_base_url, the API's base, which usually ends in /v1"
            )
        if about_model and (status == 404 or any(w in lower for w in MODEL_MISSING)):
            return LLMModelNotFoundError(
                f"the language-model server at {self.base_url} does not serve the model "
                f"{self.model_id!r} ({status}: {message}): check llm_model"
            )
        return LLMRequestError(
            f"the language-model server at {self.base_url} refused the request "
            f"({status}: {message})"
        )

    def _candidates(self, data: dict[str, Any], stop: Sequence[str] | None) -> list[Candidate]:
        choices = sorted(data["choices"], key=lambda c: c.get("index", 0))
        if not choices:
            raise LLMError(f"{self.url} returned no choices")
        usage = data.get("usage") or {}
        prompt = usage.get("prompt_tokens")
        completion = usage.get("completion_tokens") if len(choices) == 1 else None
        out = []
        for choice in choices:
            content = (choice.get("message") or {}).get("content") or ""
            text, stopped = cut_at_stop(content, stop)
            reason = "stop" if stopped else choice.get("finish_reason") or "stop"
            out.append(Candidate(text, reason, prompt, completion))
        return out


def _json(text: str) -> dict[str, Any]:
    try:
        data = json.loads(text)
    except ValueError:
        raise LLMError(f"not JSON in the event stream: {text[:200]!r}") from None
    return data if isinstance(data, dict) else {}


def _message(response: httpx.Response) -> str:
    """The server's own words for an error: OpenAI's ``error.message``, FastAPI's
    ``detail``, Ollama's ``error``, or the start of the body."""
    try:
        data = response.json()
    except ValueError:
        text = " ".join(response.text.split())
        if text[:200].lower().startswith(("<!doctype html", "<html")):
            return f"an HTML page, {response.reason_phrase}"
        return text[:300] or response.reason_phrase
    return _error_text(data)


def _error_text(data: Any) -> str:
    if isinstance(data, dict):
        error, detail = data.get("error"), data.get("detail")
        if isinstance(error, dict) and error.get("message"):
            return str(error["message"])[:500]
        if isinstance(error, str):
            return error[:500]
        if isinstance(detail, str):
            return detail[:500]
        if isinstance(detail, list):
            return "; ".join(
                str(d.get("msg", d)) if isinstance(d, dict) else str(d) for d in detail
            )[:500]
    return str(data)[:300]


def _retry_after(response: httpx.Response) -> float | None:
    """``Retry-After`` in seconds (a number or an HTTP date), or ``None``."""
    value = response.headers.get("Retry-After")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return None
