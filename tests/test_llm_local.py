"""The ``local`` backend on the real packaged SmolLM2-135M-Instruct (few tokens, one thread).

The first load in a machine converts the GGUF file once (about 45 s on two busy cores);
later loads read the converted folder from the user's cache.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import torch

from shopmind.models.llm import Candidate, LanguageModel, LLMRequestError
from shopmind.models.llm.base import StopScanner, cut_at_stop
from shopmind.models.llm.local import LocalLanguageModel, load_local

ASK = [{"role": "user", "content": "Write one sentence about a linen shirt."}]


@pytest.fixture(scope="module")
def lm() -> LocalLanguageModel:
    torch.set_num_threads(1)
    return load_local("")


@pytest.fixture
def calls(lm: LocalLanguageModel, monkeypatch: pytest.MonkeyPatch) -> Iterator[list[dict]]:
    """Every ``model.generate`` call's keyword arguments (the real call runs)."""
    seen: list[dict[str, Any]] = []
    real = lm.model.generate

    def counted(**kwargs: Any) -> Any:
        seen.append(kwargs)
        return real(**kwargs)

    monkeypatch.setattr(lm.model, "generate", counted)
    yield seen


def test_the_packaged_model_loads_once_per_process(lm: LocalLanguageModel) -> None:
    assert isinstance(lm, LanguageModel)
    assert lm.model_id == "SmolLM2-135M-Instruct" and lm.name == "local"
    assert load_local("") is lm


def test_n_variants_are_sampled_in_one_generate_call(lm: LocalLanguageModel, calls: list) -> None:
    out = lm.generate(ASK, n=3, max_tokens=6, temperature=1.0, seed=11)
    assert len(calls) == 1 and calls[0]["num_return_sequences"] == 3
    assert calls[0]["input_ids"].shape[0] == 1  # one prompt, three samples of it
    assert len(out) == 3 and all(isinstance(c, Candidate) for c in out)
    assert len({c.text for c in out}) > 1  # sampled, not copies
    assert all(c.prompt_tokens == out[0].prompt_tokens and c.completion_tokens for c in out)


def test_seeded_sampling_is_reproducible(lm: LocalLanguageModel) -> None:
    first = lm.generate(ASK, n=2, max_tokens=6, temperature=1.0, seed=5)
    assert lm.generate(ASK, n=2, max_tokens=6, temperature=1.0, seed=5) == first
    assert lm.generate(ASK, n=2, max_tokens=6, temperature=1.0, seed=6) != first


def test_a_seeded_call_leaves_torchs_generator_as_it_was(lm: LocalLanguageModel) -> None:
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    lm.generate(ASK, max_tokens=2, temperature=1.0, seed=9)
    assert torch.equal(torch.rand(3), expected)


def test_max_tokens_ends_with_length(lm: LocalLanguageModel) -> None:
    [c] = lm.generate(ASK, max_tokens=3, temperature=0)
    assert c.finish_reason == "length" and c.completion_tokens == 3 and c.text


def test_stop_strings_end_the_text_before_them(lm: LocalLanguageModel) -> None:
    [full] = lm.generate(ASK, max_tokens=16, temperature=0)
    word = full.text.split()[3]  # a word in the middle of the greedy answer
    [c] = lm.generate(ASK, max_tokens=16, temperature=0, stop=["zzz", word])
    assert c.text == full.text[: full.text.index(word)]
    assert c.finish_reason == "stop" and c.completion_tokens < 16


def test_greedy_n_is_one_call_copied(lm: LocalLanguageModel, calls: list) -> None:
    out = lm.generate(ASK, n=3, max_tokens=4, temperature=0)
    assert len(calls) == 1 and len(out) == 3 and len({c.text for c in out}) == 1


def test_the_chat_template_is_applied(lm: LocalLanguageModel, calls: list) -> None:
    messages = [{"role": "system", "content": "You sell shirts."}, *ASK]
    lm.generate(messages, max_tokens=1, temperature=0)
    prompt = lm.tokenizer.decode(calls[0]["input_ids"][0])
    assert prompt == (
        "<|im_start|>system\nYou sell shirts.<|im_end|>\n"
        "<|im_start|>user\nWrite one sentence about a linen shirt.<|im_end|>\n"
        "<|im_start|>assistant\n"
    )


def test_the_end_of_turn_token_ends_with_stop(lm: LocalLanguageModel) -> None:
    ask = [{"role": "user", "content": "Say hello."}]
    [c] = lm.generate(ask, max_tokens=64, temperature=0)
    assert c.finish_reason == "stop" and c.completion_tokens < 64
    assert "<|im_end|>" not in c.text


def test_a_cut_inside_a_character_leaves_no_broken_rest(
    lm: LocalLanguageModel, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Regression: max_tokens can end between the byte tokens of one Chinese character,
    which decoded to a trailing U+FFFD."""
    made: list[torch.Tensor] = []
    real = lm.model.generate
    monkeypatch.setattr(lm.model, "generate", lambda **kw: made.append(real(**kw)) or made[-1])
    ask = [
        {"role": "system", "content": "你是一家网店的文案，用中文写作。"},
        {
            "role": "user",
            "content": "请用中文写一句话介绍一件亚麻衬衫：100%亚麻，宽松版型，可机洗。",
        },
    ]
    [c] = lm.generate(ask, max_tokens=48, temperature=0)
    prompt = made[0].shape[1] - 48
    raw = lm.tokenizer.decode(made[0][0, prompt:], skip_special_tokens=True)
    assert raw.endswith("\ufffd")  # the case guarded: the cut fell inside a character
    assert c.finish_reason == "length" and c.text == raw.rstrip("\ufffd")


def test_stream_gives_the_same_text_as_generate(lm: LocalLanguageModel) -> None:
    [whole] = lm.generate(ASK, max_tokens=12, temperature=0)
    chunks = list(lm.stream(ASK, max_tokens=12, temperature=0))
    assert len(chunks) > 2 and "".join(c.text for c in chunks) == whole.text
    last = chunks[-1]
    assert (last.finish_reason, last.completion_tokens) == ("length", 12)
    assert all(c.finish_reason is None for c in chunks[:-1])


def test_stream_stops_at_a_stop_string(lm: LocalLanguageModel) -> None:
    [whole] = lm.generate(ASK, max_tokens=16, temperature=0)
    word = whole.text.split()[3]
    chunks = list(lm.stream(ASK, max_tokens=16, temperature=0, stop=[word]))
    assert "".join(c.text for c in chunks) == whole.text[: whole.text.index(word)]
    assert chunks[-1].finish_reason == "stop"


def test_a_closed_stream_stops_generating(lm: LocalLanguageModel) -> None:
    stream = lm.stream(ASK, max_tokens=500, temperature=0)
    next(stream)
    stream.close()
    stream._thread.join(timeout=30)
    assert not stream._thread.is_alive()


@pytest.mark.parametrize(
    ("messages", "kwargs", "says"),
    [
        ([{"role": "robot", "content": "hi"}], {}, "role"),
        ([], {}, "no messages"),
        (ASK, {"n": 0}, "n must be"),
        (ASK, {"temperature": 3.0}, "temperature"),
        (ASK, {"max_tokens": 9000}, "context of 8192 tokens"),
    ],
)
def test_bad_requests_are_refused_naming_the_problem(
    lm: LocalLanguageModel, messages: list, kwargs: dict, says: str
) -> None:
    with pytest.raises(LLMRequestError, match=says):
        lm.generate(messages, **kwargs)


# -- stop strings over a stream of pieces (no model) -------------------------------------------


def test_cut_at_stop_takes_the_earliest_stop() -> None:
    assert cut_at_stop("a. b\n c", ["\n", "."]) == ("a", True)
    assert cut_at_stop("abc", ["x"]) == ("abc", False)
    assert cut_at_stop("abc", None) == ("abc", False)


def test_stop_scanner_holds_back_a_possible_stop_across_pieces() -> None:
    scanner = StopScanner(["END"])
    shown = [scanner.feed(p) for p in ["Hello E", "N", "D world"]]
    assert shown == ["Hello ", "", ""] and scanner.stopped and scanner.flush() == ""


def test_stop_scanner_releases_text_that_was_not_a_stop() -> None:
    scanner = StopScanner(["END"])
    shown = [scanner.feed(p) for p in ["Hello E", "Nx", " E"]]
    assert "".join(shown) + scanner.flush() == "Hello ENx E" and not scanner.stopped


# -- the command line --------------------------------------------------------------------------


def test_cli_generates_with_the_configured_backend(
    lm: LocalLanguageModel, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from shopmind.cli import app as cli

    monkeypatch.setenv("SHOPMIND_THREADS", "1")
    options = ["-n", "2", "--max-tokens", "3", "--temperature", "0.9", "--seed", "3", "--json"]
    args = ["-w", str(tmp_path), "llm", "generate", "Say hello.", "--system", "Be brief."]
    done = CliRunner().invoke(cli, [*args, *options])
    assert done.exit_code == 0, done.output
    out = json.loads(done.stdout)
    assert (out["backend"], out["model"]) == ("local", "SmolLM2-135M-Instruct")
    messages = [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Say hello."},
    ]
    expected = lm.generate(messages, n=2, max_tokens=3, temperature=0.9, seed=3)
    assert [c["text"] for c in out["candidates"]] == [c.text for c in expected]
    assert all(c["completion_tokens"] <= 3 for c in out["candidates"])


def test_precision_picks_the_weights_dtype(lm: LocalLanguageModel) -> None:
    from shopmind.models.device import native_bfloat16
    from shopmind.models.llm.local import weights_dtype

    cpu = torch.device("cpu")
    assert weights_dtype("float32", cpu) == torch.float32
    assert weights_dtype("bfloat16", cpu) == torch.bfloat16
    expected = torch.bfloat16 if native_bfloat16(cpu) else torch.float32
    assert weights_dtype("auto", cpu) == expected and lm.model.dtype == expected
    with pytest.raises(ValueError, match="precision must be one of auto, float32, bfloat16"):
        weights_dtype("fp8", cpu)


def test_each_precision_is_its_own_model_and_both_write(lm: LocalLanguageModel) -> None:
    other = "float32" if lm.model.dtype == torch.bfloat16 else "bfloat16"
    second = load_local("", precision=other)
    assert second is not lm and second.model.dtype == getattr(torch, other)
    assert load_local("", precision=other) is second  # kept, like the first
    greedy = [m.generate(ASK, n=1, max_tokens=8, temperature=0)[0].text for m in (lm, second)]
    assert all(text.strip() for text in greedy)


def test_the_factory_passes_llm_precision(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from shopmind.config import load_settings
    from shopmind.models.llm import load_language_model

    monkeypatch.setenv("SHOPMIND_LLM_PRECISION", "float32")
    settings = load_settings(tmp_path)
    assert settings.llm_precision == "float32"
    assert load_language_model(settings).model.dtype == torch.float32
    monkeypatch.setenv("SHOPMIND_LLM_PRECISION", "half")
    with pytest.raises(Exception, match="llm_precision"):
        load_settings(tmp_path)
