"""The ``openai`` backend against real servers: shopmind's own ``POST /v1/chat/completions``
(uvicorn on a free port, serving the packaged SmolLM2, with a real API key) and, for
retries and servers that return fewer choices, a tiny scripted ``http.server``."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

from llm_server import Script, closed_port, completion, scripted_server, shopmind_server
from shopmind.config import load_settings
from shopmind.models.llm import (
    LLMAuthError,
    LLMConnectionError,
    LLMModelNotFoundError,
    LLMNotFoundError,
    LLMRequestError,
    LLMUnavailableError,
    load_language_model,
)
from shopmind.models.llm.local import load_local
from shopmind.models.llm.openai import OpenAICompatible

MODEL = "SmolLM2-135M-Instruct"
ASK = [{"role": "user", "content": "Name a colour."}]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    torch.set_num_threads(1)
    with shopmind_server(tmp_path_factory.mktemp("llm-server")) as running:
        yield running


def client(url: str, key: str = "", model: str = MODEL, retries: int = 0) -> OpenAICompatible:
    return OpenAICompatible(url, model, api_key=key, timeout=120, max_retries=retries, backoff=0.01)


def test_n_variants_from_shopminds_own_server(server: tuple[str, str]) -> None:
    url, key = server
    out = client(url, key).generate(ASK, n=2, max_tokens=5, temperature=1.0, seed=4)
    assert len(out) == 2 and all(c.text and c.prompt_tokens for c in out)
    assert all(c.finish_reason in ("stop", "length") for c in out)
    # The server runs the same local model: the same seeded batch, over HTTP.
    local = load_local("").generate(ASK, n=2, max_tokens=5, temperature=1.0, seed=4)
    assert [c.text for c in out] == [c.text for c in local]


def test_stop_and_length_come_back_from_the_server(server: tuple[str, str]) -> None:
    url, key = server
    [c] = client(url, key).generate(ASK, max_tokens=2, temperature=0)
    assert c.finish_reason == "length" and c.completion_tokens == 2


def test_streaming_from_the_server(server: tuple[str, str]) -> None:
    url, key = server
    [whole] = client(url, key).generate(ASK, max_tokens=8, temperature=0)
    chunks = list(client(url, key).stream(ASK, max_tokens=8, temperature=0))
    assert "".join(c.text for c in chunks) == whole.text
    assert chunks[-1].finish_reason == whole.finish_reason


def test_a_wrong_key_is_a_clear_error(server: tuple[str, str]) -> None:
    url, _key = server
    with pytest.raises(LLMAuthError, match=r"refused the API key \(401.*check llm_api_key"):
        client(url, "sm_000000000000_wrong").generate(ASK, max_tokens=1)
    with pytest.raises(LLMAuthError, match="llm_api_key is empty"):
        client(url).generate(ASK, max_tokens=1)


def test_an_unknown_model_is_a_clear_error(server: tuple[str, str]) -> None:
    url, key = server
    with pytest.raises(LLMModelNotFoundError, match=r"'gpt-9'.*serves the model.*SmolLM2"):
        client(url, key, model="gpt-9").generate(ASK, max_tokens=1)


def test_a_wrong_path_is_a_clear_error(server: tuple[str, str]) -> None:
    url, key = server
    with pytest.raises(LLMNotFoundError, match=r"no chat-completions endpoint.*ends in /v1"):
        client(url.removesuffix("/v1"), key).generate(ASK, max_tokens=1)


def test_nothing_listening_is_a_clear_error_after_the_retries() -> None:
    url = f"http://127.0.0.1:{closed_port()}/v1"
    with pytest.raises(LLMConnectionError, match=f"cannot reach .*{url}.*is it running"):
        client(url, retries=2).generate(ASK, max_tokens=1)


def test_an_invalid_request_names_the_servers_reason(server: tuple[str, str]) -> None:
    url, key = server
    with pytest.raises(LLMRequestError, match=r"422.*less than or equal to 1024"):
        client(url, key).generate(ASK, max_tokens=5000)


# -- retries and short answers, on a scripted real HTTP server --------------------------------


def test_503_then_200_is_retried() -> None:
    script = Script([(503, {}, {"error": "warming up"}), (200, {}, completion("blue"))])
    with scripted_server(script) as url:
        [c] = client(url, retries=2).generate(ASK)
    assert c.text == "blue" and len(script.received) == 2


def test_429_waits_as_long_as_retry_after_says() -> None:
    script = Script(
        [(429, {"Retry-After": "1"}, {"error": "slow down"}), (200, {}, completion("x"))]
    )
    with scripted_server(script) as url:
        started = time.monotonic()
        client(url, retries=1).generate(ASK)
    assert time.monotonic() - started >= 1.0 and len(script.received) == 2


def test_gives_up_after_the_last_retry() -> None:
    script = Script([(500, {}, {"error": {"message": "boom"}})])
    with scripted_server(script) as url, pytest.raises(LLMUnavailableError, match=r"500.*boom"):
        client(url, retries=2).generate(ASK)
    assert len(script.received) == 3


def test_a_retry_after_too_long_gives_up_at_once() -> None:
    script = Script([(503, {"Retry-After": "3600"}, {"error": "maintenance"})])
    with scripted_server(script) as url, pytest.raises(LLMUnavailableError, match="3600 s"):
        client(url, retries=3).generate(ASK)
    assert len(script.received) == 1


def test_fewer_choices_are_made_up_with_more_requests() -> None:
    script = Script([(200, {}, completion("one"))])  # a server that ignores n, as Ollama does
    with scripted_server(script) as url:
        out = client(url).generate(ASK, n=3, seed=10, stop=["e"])
    assert [c.text for c in out] == ["on"] * 3 and all(c.finish_reason == "stop" for c in out)
    assert [(b["n"], b["seed"]) for b in script.received] == [(3, 10), (2, 11), (1, 12)]


def test_an_answer_in_another_shape_says_so() -> None:
    script = Script([(200, {}, b"<html>hello</html>")])
    with scripted_server(script) as url, pytest.raises(Exception, match="OpenAI chat-completions"):
        client(url).generate(ASK)


# -- the factory ---------------------------------------------------------------------------


def test_settings_choose_the_backend(tmp_path: Path) -> None:
    settings = load_settings(
        tmp_path,
        llm_backend="openai",
        llm_base_url="http://127.0.0.1:9/v1",
        llm_model="qwen2.5:7b",
        llm_api_key="k" * 24,
        llm_timeout_seconds=5,
        llm_max_retries=1,
    )
    lm = load_language_model(settings)
    assert isinstance(lm, OpenAICompatible) and lm.name == "openai"
    assert lm.url == "http://127.0.0.1:9/v1/chat/completions"
    assert (lm.model_id, lm.max_retries) == ("qwen2.5:7b", 1)
    assert load_language_model(settings) is lm
    with pytest.raises(LLMConnectionError, match="llm_base_url is empty"):
        load_language_model(settings.model_copy(update={"llm_base_url": ""}))


def test_cli_names_the_problem_and_exits_1(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from shopmind.cli import app as cli

    monkeypatch.setenv("SHOPMIND_LLM_BACKEND", "openai")
    monkeypatch.setenv("SHOPMIND_LLM_BASE_URL", f"http://127.0.0.1:{closed_port()}/v1")
    monkeypatch.setenv("SHOPMIND_LLM_MODEL", "m")
    monkeypatch.setenv("SHOPMIND_LLM_MAX_RETRIES", "0")
    done = CliRunner().invoke(cli, ["-w", str(tmp_path), "llm", "generate", "hi"])
    assert done.exit_code == 1
    assert "cannot reach the language-model server" in " ".join(done.output.split())
