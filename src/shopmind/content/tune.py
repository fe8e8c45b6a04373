"""Tuning the local language model to the store's voice: LoRA on the store's own
attribute → description pairs, measured on held-out products of the store.

Each product with a description of at least :data:`MIN_CHARS` characters gives one pair:
the content studio's own description prompt for the product *without* its description
(:func:`shopmind.content.prompts.messages`), and the description's first sentences as the
answer. A share of the products (at least one, :data:`HELD_OUT` at most) is held out.
Training (``peft`` LoRA adapters on every linear layer of the attention and the MLP, the
base weights frozen) minimises the cross-entropy of the answer's tokens only, the prompt
masked, for ``epochs`` passes or until ``time_budget_s``.

The effect is measured on the held-out products, before and after, two ways:

- ``held_out_loss``: the mean cross-entropy per answer token of their real descriptions
  (teacher-forced; lower is closer to the store's own words);
- ``held_out_rouge_l``: the ROUGE-L F1 of the greedy description the model writes against
  the real one (word longest common subsequence; ``None`` when ``generate=False``).

The adapter is published in the model registry as ``content/lora`` (``adapter_model.
safetensors`` + ``adapter_config.json`` + the report; never pickle), with the base model
it was trained on; :func:`load_tuned` puts it on that base model again for the writers.
"""

from __future__ import annotations

import math
import random
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from shopmind.content.prompts import asks, messages
from shopmind.content.voice import excerpt
from shopmind.models.registry import DEFAULT_KEEP, Registry, RegistryError

NAME = "content/lora"
MIN_CHARS = 80
HELD_OUT = 8
MAX_TOKENS = 768  # prompt + answer, per example


class TuneError(ValueError):
    """Tuning that cannot run: too few products with descriptions, a remote backend."""


@dataclass
class TuneReport:
    version: str
    base_model: str
    pairs: int
    train: int
    held_out: int
    epochs: float
    steps: int
    seconds: float
    held_out_loss_before: float
    held_out_loss_after: float
    held_out_rouge_l_before: float | None
    held_out_rouge_l_after: float | None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def summary(self) -> str:
        rouge = ""
        if self.held_out_rouge_l_before is not None:
            rouge = (f", ROUGE-L {self.held_out_rouge_l_before:.3f} → "
                     f"{self.held_out_rouge_l_after:.3f}")  # fmt: skip
        return (
            f"{NAME} {self.version}: {self.train} products, {self.steps} steps in "
            f"{self.seconds:.0f} s; on {self.held_out} held-out products loss "
            f"{self.held_out_loss_before:.3f} → {self.held_out_loss_after:.3f}{rouge}"
        )


def registry(models_dir: Path, keep: int = DEFAULT_KEEP) -> Registry:
    return Registry(models_dir, NAME, keep=keep)


def pairs(products: Sequence[Mapping[str, Any]]) -> list[tuple[list[dict[str, str]], str]]:
    """(prompt messages without the description, the description's first sentences)."""
    ask = next(a for a in asks("product-description") if a.key == "description")
    out = []
    for product in products:
        description = str(product.get("description") or "")
        if len(description.strip()) < MIN_CHARS:
            continue
        bare = {k: v for k, v in product.items() if k != "description"}
        out.append((messages(ask, bare), excerpt(description)))
    return out


def rouge_l(candidate: str, reference: str) -> float:
    """ROUGE-L F1 over lower-cased words (``\\w+``; longest common subsequence)."""
    a, b = re.findall(r"\w+", candidate.casefold()), re.findall(r"\w+", reference.casefold())
    if not a or not b:
        return 0.0
    row = [0] * (len(b) + 1)
    for x in a:
        diagonal = 0
        for j, y in enumerate(b, start=1):
            keep = row[j]
            row[j] = diagonal + 1 if x == y else max(row[j], row[j - 1])
            diagonal = keep
    lcs = row[-1]
    if lcs == 0:
        return 0.0
    precision, recall = lcs / len(a), lcs / len(b)
    return 2 * precision * recall / (precision + recall)


def _encode(tokenizer: Any, prompt: list[dict[str, str]], answer: str) -> tuple[list[int], int]:
    """Token ids of the prompt and answer (with the end token) and where the answer starts."""
    head = tokenizer.apply_chat_template(prompt, add_generation_prompt=True, tokenize=True)
    if isinstance(head, Mapping):
        head = head["input_ids"]
    tail = tokenizer(answer, add_special_tokens=False)["input_ids"] + [tokenizer.eos_token_id]
    ids = (list(head) + tail)[:MAX_TOKENS]
    return ids, min(len(head), len(ids))


def _batch(examples: Sequence[tuple[list[int], int]], pad: int) -> dict[str, Any]:
    import torch

    width = max(len(ids) for ids, _ in examples)
    input_ids = torch.full((len(examples), width), pad, dtype=torch.long)
    labels = torch.full((len(examples), width), -100, dtype=torch.long)
    mask = torch.zeros((len(examples), width), dtype=torch.long)
    for row, (ids, start) in enumerate(examples):
        input_ids[row, : len(ids)] = torch.tensor(ids)
        labels[row, start : len(ids)] = torch.tensor(ids[start:])
        mask[row, : len(ids)] = 1
    return {"input_ids": input_ids, "attention_mask": mask, "labels": labels}


def answer_loss(model: Any, examples: Sequence[tuple[list[int], int]], pad: int) -> float:
    """Mean cross-entropy per answer token (teacher-forced)."""
    import torch

    total, tokens = 0.0, 0
    model.eval()
    with torch.inference_mode():
        for start in range(0, len(examples), 4):
            batch = _batch(examples[start : start + 4], pad)
            logits = model(input_ids=batch["input_ids"],
                           attention_mask=batch["attention_mask"]).logits  # fmt: skip
            shifted = logits[:, :-1].reshape(-1, logits.shape[-1])
            labels = batch["labels"][:, 1:].reshape(-1)
            loss = torch.nn.functional.cross_entropy(shifted, labels, ignore_index=-100,
                                                     reduction="sum")  # fmt: skip
            total += float(loss)
            tokens += int((labels != -100).sum())
    return total / max(tokens, 1)


def _rouge(lm: Any, held: Sequence[tuple[list[dict[str, str]], str]], max_tokens: int) -> float:
    scores = []
    for prompt, reference in held:
        (candidate,) = lm.generate(prompt, n=1, max_tokens=max_tokens, temperature=0.0)
        scores.append(rouge_l(candidate.text, reference))
    return sum(scores) / len(scores)


def tune(
    products: Sequence[Mapping[str, Any]],
    models_dir: Path,
    *,
    model: str = "",
    epochs: float = 2.0,
    time_budget_s: float | None = None,
    rank: int = 8,
    learning_rate: float = 5e-4,
    batch_size: int = 4,
    held_out: int = HELD_OUT,
    generate: bool = True,
    generate_tokens: int = 120,
    seed: int = 0,
    keep: int = DEFAULT_KEEP,
    threads: int | None = None,
    progress: Callable[[int], Any] | None = None,
) -> TuneReport:
    """Fit a LoRA adapter of the local model ``model`` (empty: the packaged one) on
    ``products`` (dicts with ``title``, ``attributes``, ``description`` …), measure it on
    held-out products and publish it as a new version of ``content/lora``."""
    import torch
    from peft import LoraConfig, get_peft_model

    from shopmind.models.llm.local import LocalLanguageModel, load_local_fresh

    if threads:
        torch.set_num_threads(threads)
    found = pairs(products)
    if len(found) < 4:
        raise TuneError(
            f"tuning needs at least 4 products with a description of {MIN_CHARS}+ "
            f"characters; the store has {len(found)}"
        )
    random.Random(seed).shuffle(found)
    n_held = max(1, min(held_out, len(found) // 5))
    held, train = found[:n_held], found[n_held:]
    base = load_local_fresh(model, precision="float32")  # gradients in float32
    tokenizer, pad = base.tokenizer, base.pad_id
    encoded_train = [_encode(tokenizer, p, a) for p, a in train]
    encoded_held = [_encode(tokenizer, p, a) for p, a in held]
    loss_before = answer_loss(base.model, encoded_held, pad)
    rouge_before = _rouge(base, held, generate_tokens) if generate else None

    torch.manual_seed(seed)
    config = LoraConfig(r=rank, lora_alpha=2 * rank, lora_dropout=0.05, task_type="CAUSAL_LM",
                        target_modules=["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj",
                                        "up_proj", "down_proj"])  # fmt: skip
    peft_model = get_peft_model(base.model, config)
    optimizer = torch.optim.AdamW(
        [p for p in peft_model.parameters() if p.requires_grad], lr=learning_rate
    )
    total_steps = max(1, math.ceil(epochs * len(encoded_train) / batch_size))
    started, steps, order = time.monotonic(), 0, list(range(len(encoded_train)))
    rng = random.Random(seed)
    peft_model.train()
    while steps < total_steps:
        rng.shuffle(order)
        for start in range(0, len(order), batch_size):
            batch = _batch([encoded_train[i] for i in order[start : start + batch_size]], pad)
            loss = peft_model(**batch).loss
            loss.backward()
            optimizer.step()
            optimizer.zero_grad()
            steps += 1
            if progress is not None:
                progress(steps)
            budget_spent = time_budget_s is not None and time.monotonic() - started > time_budget_s
            if steps >= total_steps or budget_spent:
                break
        if time_budget_s is not None and time.monotonic() - started > time_budget_s:
            break
    seconds = time.monotonic() - started
    peft_model.eval()
    loss_after = answer_loss(peft_model, encoded_held, pad)
    tuned = LocalLanguageModel(peft_model, tokenizer, base.model_id)
    rouge_after = _rouge(tuned, held, generate_tokens) if generate else None
    report = TuneReport("", base.model_id, len(found), len(train), len(held),
                        round(steps * batch_size / max(len(train), 1), 2), steps,
                        round(seconds, 1), round(loss_before, 4), round(loss_after, 4),
                        None if rouge_before is None else round(rouge_before, 4),
                        None if rouge_after is None else round(rouge_after, 4))  # fmt: skip
    metrics = {k: v for k, v in report.to_dict().items() if k != "version"}
    version = registry(models_dir, keep).publish(
        peft_model.save_pretrained, metrics, {"base_model": base.model_id}
    )
    report.version = version.id
    return report


def load_tuned(models_dir: Path, model: str = "", precision: str = "auto") -> Any | None:
    """The local model ``model`` (in ``precision``) with the current ``content/lora``
    adapter on it, or ``None`` when there is none, or it was trained on another base
    model."""
    from peft import PeftModel

    from shopmind.models.llm.local import LocalLanguageModel, load_local_fresh

    try:
        version = registry(models_dir).current()
    except RegistryError:
        return None
    if version is None:
        return None
    base = load_local_fresh(model, precision=precision)
    if version.metrics.get("base_model") != base.model_id:
        return None
    tuned = PeftModel.from_pretrained(base.model, str(version.path)).eval()
    return LocalLanguageModel(tuned, base.tokenizer, f"{base.model_id}+{NAME}@{version.id}")
