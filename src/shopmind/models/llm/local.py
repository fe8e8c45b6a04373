"""The ``local`` backend: a causal language model in this process, through transformers.

A pipeline in three steps: ``preprocess`` (the chat template, to token ids) →
``_forward`` (``model.generate``, the only code that touches the device, under
``torch.inference_mode()``) → ``postprocess`` (text cut at stop strings, finish reason and
token counts). The ``n`` variants of a request are sampled in one batched ``generate``
call (``num_return_sequences``), which costs little more than one variant on a CPU.

One generation runs at a time per model (a lock): sampling draws from torch's random
generator, and a seeded request forks it (``torch.random.fork_rng``), so another request
running meanwhile would change the draw. Models are loaded once per process.
"""

from __future__ import annotations

import logging
import os
import threading
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import torch

from shopmind.models.device import pick_device
from shopmind.models.llm.base import (
    Candidate,
    LLMModelNotFoundError,
    LLMRequestError,
    Message,
    StopScanner,
    StreamChunk,
    check_request,
    cut_at_stop,
)
from shopmind.models.llm.weights import ModelSource, converted_folder, resolve

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # nothing is downloaded at run time
log = logging.getLogger(__name__)

PRECISIONS = ("auto", "float32", "bfloat16")
KEEP_LOADED = 2  # models kept in memory per process (a changed llm_model loads another)
_loaded: OrderedDict[tuple[str, str], LocalLanguageModel] = OrderedDict()
_load_lock = threading.Lock()


class LocalLanguageModel:
    """A Hugging Face causal LM and its tokenizer, generating from chat messages."""

    name = "local"

    def __init__(self, model: Any, tokenizer: Any, model_id: str) -> None:
        self.model = model
        self.tokenizer = tokenizer
        self.model_id = model_id
        self.device = next(model.parameters()).device
        self.context = int(getattr(model.config, "max_position_embeddings", 0) or 0)
        self._lock = threading.Lock()
        eos = model.generation_config.eos_token_id
        ends = set(eos if isinstance(eos, list) else [eos] if eos is not None else [])
        ends.add(tokenizer.eos_token_id)
        self.pad_id = tokenizer.pad_token_id
        if self.pad_id is None:
            self.pad_id = min(i for i in ends if i is not None)
        self.end_ids = {i for i in (*ends, self.pad_id) if i is not None}

    # -- the pipeline -------------------------------------------------------------------

    def generate(
        self,
        messages: Sequence[Message],
        n: int = 1,
        max_tokens: int = 256,
        temperature: float = 0.7,
        stop: Sequence[str] | None = None,
        seed: int | None = None,
    ) -> list[Candidate]:
        inputs = self.preprocess(check_request(messages, n, max_tokens, temperature), max_tokens)
        with self._lock:
            sequences = self._forward(inputs, n, max_tokens, temperature, stop, seed)
        prompt_len = inputs["input_ids"].shape[1]
        candidates = [self.postprocess(row, prompt_len, stop) for row in sequences.tolist()]
        return candidates * n if len(candidates) == 1 and n > 1 else candidates

    def preprocess(self, messages: list[dict[str, str]], max_tokens: int) -> dict[str, Any]:
        """The chat template applied to ``messages``, as token ids on the model's device."""
        if self.tokenizer.chat_template:
            inputs = self.tokenizer.apply_chat_template(
                messages, add_generation_prompt=True, return_tensors="pt", return_dict=True
            )
        else:  # a base model without a template: plain "Role: text" turns
            text = "".join(f"{m['role'].title()}: {m['content']}\n" for m in messages)
            inputs = self.tokenizer(f"{text}Assistant:", return_tensors="pt")
        prompt_len = inputs["input_ids"].shape[1]  # (1, prompt)
        if self.context and prompt_len + max_tokens > self.context:
            raise LLMRequestError(
                f"the prompt ({prompt_len} tokens) and max_tokens ({max_tokens}) exceed "
                f"{self.model_id}'s context of {self.context} tokens"
            )
        return {k: v.to(self.device) for k, v in inputs.items()}

    def _forward(
        self,
        inputs: dict[str, Any],
        n: int,
        max_tokens: int,
        temperature: float,
        stop: Sequence[str] | None,
        seed: int | None,
        **extra: Any,
    ) -> torch.Tensor:
        """``model.generate`` once: (n, prompt + new) token ids, or (1, …) when greedy."""
        sampling: dict[str, Any] = {"do_sample": False}
        if temperature > 0:
            sampling = {"do_sample": True, "temperature": temperature, "num_return_sequences": n}
        stops = [s for s in stop or () if s]
        if stops:
            sampling.update(stop_strings=stops, tokenizer=self.tokenizer)
        with torch.inference_mode(), self._seeded(seed):
            return self.model.generate(
                **inputs,
                max_new_tokens=max_tokens,
                pad_token_id=self.pad_id,
                **sampling,
                **extra,
            )

    def postprocess(self, row: list[int], prompt_len: int, stop: Sequence[str] | None) -> Candidate:
        """One returned sequence as a ``Candidate``: text up to the end token or the first
        stop string, ``"stop"`` or ``"length"``, and the tokens generated."""
        new = row[prompt_len:]
        end = next((i for i, t in enumerate(new) if t in self.end_ids), None)
        kept = new if end is None else new[:end]
        text, stopped = cut_at_stop(self.tokenizer.decode(kept, skip_special_tokens=True), stop)
        if stopped:  # a stop string ended the row; what follows is padding
            used, reason = len(kept), "stop"
        elif end is not None:  # the end-of-sequence token, counted as generated
            used, reason = end + 1, "stop"
        else:  # cut by max_tokens, maybe inside a character's bytes: drop the broken rest
            used, reason, text = len(new), "length", text.rstrip("\ufffd")
        return Candidate(text, reason, prompt_len, used)

    # -- streaming ----------------------------------------------------------------------

    def stream(
        self,
        messages: Sequence[Message],
        max_tokens: int = 256,
        temperature: float = 0.7,
        stop: Sequence[str] | None = None,
        seed: int | None = None,
    ) -> LocalStream:
        inputs = self.preprocess(check_request(messages, 1, max_tokens, temperature), max_tokens)
        return LocalStream(self, inputs, max_tokens, temperature, stop, seed)

    @contextmanager
    def _seeded(self, seed: int | None) -> Iterator[None]:
        """torch's generator seeded with ``seed`` inside, restored afterwards."""
        if seed is None:
            yield
            return
        devices = [self.device.index or 0] if self.device.type == "cuda" else []
        with torch.random.fork_rng(devices=devices):
            torch.manual_seed(seed)
            yield


class LocalStream:
    """Text pieces of one generation as it runs (``model.generate`` in a thread, read
    through a ``TextIteratorStreamer``). ``close()``, from any thread, stops it early."""

    def __init__(
        self,
        lm: LocalLanguageModel,
        inputs: dict[str, Any],
        max_tokens: int,
        temperature: float,
        stop: Sequence[str] | None,
        seed: int | None,
    ) -> None:
        from transformers import StoppingCriteria, StoppingCriteriaList, TextIteratorStreamer

        cancel = self._cancel = threading.Event()

        class _Cancelled(StoppingCriteria):
            def __call__(self, input_ids: torch.Tensor, scores: Any, **kwargs: Any) -> Any:
                return torch.full((input_ids.shape[0],), cancel.is_set(), dtype=torch.bool)

        self._lm, self._stop, self._prompt_len = lm, stop, inputs["input_ids"].shape[1]
        self._scanner = StopScanner(stop)
        self._streamer = TextIteratorStreamer(
            lm.tokenizer, skip_prompt=True, skip_special_tokens=True
        )
        self._result: list[Any] = []
        self._ended = self._done = False  # the streamer's end seen; the final chunk given

        def run() -> None:
            try:
                with lm._lock:
                    self._result.append(
                        lm._forward(
                            inputs,
                            1,
                            max_tokens,
                            temperature,
                            stop,
                            seed,
                            streamer=self._streamer,
                            stopping_criteria=StoppingCriteriaList([_Cancelled()]),
                        )
                    )
            except BaseException as exc:
                self._result.append(exc)
                self._streamer.end()

        self._thread = threading.Thread(target=run, name="llm-stream", daemon=True)
        self._thread.start()

    def __iter__(self) -> LocalStream:
        return self

    def __next__(self) -> StreamChunk:
        if self._done:
            raise StopIteration
        for piece in () if self._ended else self._streamer:
            shown = self._scanner.feed(piece)
            if self._scanner.stopped:
                self._cancel.set()
                return StreamChunk(shown) if shown else self._final()
            if shown:
                return StreamChunk(shown)
        self._ended = True
        rest = self._scanner.flush()
        return StreamChunk(rest) if rest else self._final()

    def _final(self) -> StreamChunk:
        self._thread.join()
        self._done = True
        result = self._result[0] if self._result else None
        if isinstance(result, BaseException):
            raise result
        assert result is not None
        final = self._lm.postprocess(result[0].tolist(), self._prompt_len, self._stop)
        reason = "stop" if self._scanner.stopped else final.finish_reason
        return StreamChunk("", reason, final.prompt_tokens, final.completion_tokens)

    def close(self) -> None:
        """Stop the generation (the thread ends at its next token)."""
        self._cancel.set()


def load_local(
    spec: str = "", device: str | None = None, precision: str = "auto"
) -> LocalLanguageModel:
    """The local model ``spec`` names (``shopmind.models.llm.weights.resolve``), loaded
    once per process, device and precision (:func:`weights_dtype`); thread-safe."""
    source = resolve(spec)
    where = torch.device(str(pick_device(device)))
    dtype = weights_dtype(precision, where)
    key = (f"{source.location}|{source.gguf_file or ''}", str(where), str(dtype))
    with _load_lock:
        if key in _loaded:
            _loaded.move_to_end(key)
            return _loaded[key]
        model = _load(source, where, dtype)
        _loaded[key] = model
        while len(_loaded) > KEEP_LOADED:
            _loaded.popitem(last=False)
        return model


def load_local_fresh(
    spec: str = "", device: str | None = None, precision: str = "auto"
) -> LocalLanguageModel:
    """Like :func:`load_local`, but a copy of its own, never shared: for training (a LoRA
    adapter changes the model it is put on)."""
    where = torch.device(str(pick_device(device)))
    return _load(resolve(spec), where, weights_dtype(precision, where))


def weights_dtype(precision: str, device: torch.device) -> torch.dtype:
    """The weights' dtype for ``precision``: ``"float32"``, ``"bfloat16"``, or ``"auto"``
    — bfloat16 where the device does bfloat16 matrix products in hardware (CUDA from
    Ampere on; CPUs with AVX512-BF16 or AMX), float32 elsewhere, where emulated bfloat16
    would be slower. On such a CPU bfloat16 is what makes sampling n variants in one
    batch pay: a decoding step of 3 rows costs about what one row does (float32 spends
    nearly twice as long on 3 rows as on 1); docs/benchmarks.md has the numbers."""
    from shopmind.models.device import native_bfloat16

    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, got {precision!r}")
    if precision == "bfloat16" or (precision == "auto" and native_bfloat16(device)):
        return torch.bfloat16
    return torch.float32


def _load(source: ModelSource, device: torch.device, dtype: torch.dtype) -> LocalLanguageModel:
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    folder, extra = source.location, {"local_files_only": True}
    if source.gguf_file:
        converted = converted_folder(source)
        if converted is None:
            extra["gguf_file"] = source.gguf_file
        else:
            folder = str(converted)
    try:
        tokenizer = AutoTokenizer.from_pretrained(folder, **extra)
        model = AutoModelForCausalLM.from_pretrained(folder, dtype=dtype, **extra)
    except OSError as exc:
        raise LLMModelNotFoundError(
            f"cannot load the language model {source.model_id!r}: not a model folder and "
            f"not in the local Hugging Face cache (nothing is downloaded): {exc}"
        ) from exc
    model.to(device).eval()
    return LocalLanguageModel(model, tokenizer, source.model_id)
