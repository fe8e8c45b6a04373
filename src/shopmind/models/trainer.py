"""One reusable training loop with callbacks (after minGPT's ``Trainer``).

A model is any ``nn.Module`` whose forward takes a batch (a dict of tensors as keyword
arguments, or a tuple as positional ones) and returns either ``(logits, loss)`` or a
Hugging Face output with ``.loss``. The trainer owns the optimiser (AdamW, no decay on
biases and norms), the schedule (linear warm-up then linear decay), gradient clipping,
seeding, stopping (epochs, ``max_steps`` or a wall-clock budget) and an eval hook::

    trainer = Trainer(TrainerConfig(max_steps=200), model, dataset, collate)
    trainer.add_callback("on_batch_end", lambda t: print(t.step, t.loss))
    history = trainer.run()

Events: ``on_batch_end``, ``on_epoch_end``, ``on_eval`` and ``on_train_end``; each
callback gets the trainer. A callback may set ``trainer.should_stop = True``.
"""

from __future__ import annotations

import math
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset, WeightedRandomSampler

from shopmind.models.device import pick_device, set_threads

EVENTS = ("on_batch_end", "on_epoch_end", "on_eval", "on_train_end")


@dataclass
class TrainerConfig:
    epochs: int = 1
    max_steps: int | None = None  # stop after this many optimiser steps (caps epochs)
    batch_size: int = 32
    lr: float = 5e-5
    weight_decay: float = 0.01
    warmup: float = 0.1  # share of the run spent warming the learning rate up from 0
    grad_clip: float | None = 1.0
    seed: int = 0
    time_budget_s: float | None = None  # stop after this many seconds (checked per step)
    eval_every: int = 0  # run the eval hook every N steps (0: only at the end)
    device: str = "auto"
    threads: int | None = None


class Trainer:
    """Train ``model`` on ``train_dataset`` (batched by ``collate``); ``run()`` → history."""

    def __init__(
        self,
        config: TrainerConfig,
        model: nn.Module,
        train_dataset: Dataset | Sequence[Any],
        collate: Callable[[list[Any]], Any] | None = None,
        *,
        sample_weights: Sequence[float] | None = None,
        lengths: Sequence[int] | None = None,
        eval_fn: Callable[[nn.Module], dict[str, float]] | None = None,
    ) -> None:
        if len(train_dataset) == 0:
            raise ValueError("cannot train on an empty dataset")
        if sample_weights is not None and len(sample_weights) != len(train_dataset):
            raise ValueError(
                f"sample_weights has {len(sample_weights)} entries "
                f"for {len(train_dataset)} examples"
            )
        if lengths is not None and len(lengths) != len(train_dataset):
            raise ValueError(
                f"lengths has {len(lengths)} entries for {len(train_dataset)} examples"
            )
        self.config = config
        self.model = model
        self.train_dataset = train_dataset
        self.collate = collate
        self.sample_weights = sample_weights
        self.lengths = lengths
        self.eval_fn = eval_fn
        self.callbacks: dict[str, list[Callable[[Trainer], None]]] = defaultdict(list)
        self.device = pick_device(config.device)
        self.step = 0
        self.epoch = 0
        self.loss = math.nan
        self.lr = 0.0
        self.elapsed = 0.0
        self.should_stop = False
        self.last_eval: dict[str, float] = {}
        self.optimizer: torch.optim.Optimizer | None = None

    def add_callback(self, event: str, fn: Callable[[Trainer], None]) -> None:
        if event not in EVENTS:
            raise ValueError(f"unknown event {event!r}; events: {', '.join(EVENTS)}")
        self.callbacks[event].append(fn)

    def set_callback(self, event: str, fn: Callable[[Trainer], None]) -> None:
        self.callbacks[event] = []
        self.add_callback(event, fn)

    def trigger(self, event: str) -> None:
        for fn in self.callbacks.get(event, []):
            fn(self)

    @property
    def total_steps(self) -> int:
        per_epoch = math.ceil(len(self.train_dataset) / self.config.batch_size)
        total = per_epoch * max(1, self.config.epochs)
        return min(total, self.config.max_steps) if self.config.max_steps else total

    def run(self) -> dict[str, Any]:
        """Train until epochs, ``max_steps`` or the time budget run out; return the history."""
        cfg = self.config
        set_threads(cfg.threads)
        torch.manual_seed(cfg.seed)  # dropout and masking draws
        model = self.model.to(self.device)
        model.train()
        self.optimizer = make_optimizer(model, cfg.lr, cfg.weight_decay)
        steps: list[dict[str, float]] = []
        evals: list[dict[str, float]] = []
        start = time.perf_counter()
        stopped = "epochs"
        for self.epoch in range(max(1, cfg.epochs)):
            for batch in self._loader(self.epoch):
                self.lr = cfg.lr * lr_factor(self._progress(start), cfg.warmup)
                for group in self.optimizer.param_groups:
                    group["lr"] = self.lr
                self.loss = self._train_step(batch)
                self.step += 1
                self.elapsed = time.perf_counter() - start
                steps.append({"step": self.step, "loss": self.loss, "lr": self.lr})
                self.trigger("on_batch_end")
                if cfg.eval_every and self.step % cfg.eval_every == 0:
                    evals.append(self._evaluate())
                stopped = self._stop_reason()
                if stopped:
                    break
            if stopped:
                break
            self.trigger("on_epoch_end")
            stopped = "callback" if self.should_stop else "epochs"
            if self.should_stop:
                break
        if self.eval_fn is not None and (not evals or evals[-1]["step"] != self.step):
            evals.append(self._evaluate())
        model.eval()
        self.trigger("on_train_end")
        return {
            "steps": steps,
            "evals": evals,
            "stopped": stopped,
            "elapsed_s": round(self.elapsed, 3),
            "config": asdict(cfg),
        }

    def _loader(self, epoch: int) -> DataLoader:
        generator = torch.Generator().manual_seed(self.config.seed + epoch)
        if self.lengths is not None and self.sample_weights is None:
            batches = length_grouped_batches(self.lengths, self.config.batch_size, generator)
            return DataLoader(
                self.train_dataset,  # type: ignore[arg-type]
                batch_sampler=batches,
                collate_fn=self.collate,
            )
        sampler = None
        if self.sample_weights is not None:
            weights = torch.as_tensor(self.sample_weights, dtype=torch.double)
            sampler = WeightedRandomSampler(weights, len(weights), True, generator=generator)
        return DataLoader(
            self.train_dataset,  # type: ignore[arg-type]
            batch_size=self.config.batch_size,
            shuffle=sampler is None,
            sampler=sampler,
            generator=generator if sampler is None else None,
            collate_fn=self.collate,
        )

    def _train_step(self, batch: Any) -> float:
        assert self.optimizer is not None
        args, kwargs = _call_args(to_device(batch, self.device))
        loss = batch_loss(self.model(*args, **kwargs))
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if self.config.grad_clip:
            torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.config.grad_clip)
        self.optimizer.step()
        return float(loss.detach())

    def _progress(self, start: float) -> float:
        """How far through the run we are (0–1), in steps of the planned total.

        The plan is ``total_steps``. With a time budget that, at the pace so far, ends the
        run first, the plan shrinks to the steps the remaining time allows, so the
        learning rate still decays to zero by the deadline. A budget that does not bind
        leaves the schedule (and so the run) independent of the clock.
        """
        planned = self.total_steps
        budget = self.config.time_budget_s
        if budget and self.step:
            elapsed = time.perf_counter() - start
            left = max(0.0, budget - elapsed) / (elapsed / self.step)
            planned = min(planned, self.step + int(left))
        return min(1.0, self.step / max(1, planned))

    def _stop_reason(self) -> str:
        cfg = self.config
        if self.should_stop:
            return "callback"
        if cfg.max_steps and self.step >= cfg.max_steps:
            return "max_steps"
        if cfg.time_budget_s is not None and self.elapsed >= cfg.time_budget_s:
            return "time_budget"
        return ""

    def _evaluate(self) -> dict[str, float]:
        if self.eval_fn is None:
            return {"step": self.step}
        self.model.eval()
        with torch.inference_mode():
            result = dict(self.eval_fn(self.model))
        self.model.train()
        self.last_eval = {"step": self.step, **result}
        self.trigger("on_eval")
        return self.last_eval


def length_grouped_batches(
    lengths: Sequence[int], batch_size: int, generator: torch.Generator, window: int = 50
) -> list[list[int]]:
    """Shuffled batches of similar-length examples (less padding, still random order).

    Examples are shuffled, cut into windows of ``window`` batches, sorted by length inside
    each window and batched; then the batches are shuffled.
    """
    order = torch.randperm(len(lengths), generator=generator).tolist()
    size = window * batch_size
    batches = []
    for start in range(0, len(order), size):
        chunk = sorted(order[start : start + size], key=lambda i: lengths[i])
        batches += [chunk[i : i + batch_size] for i in range(0, len(chunk), batch_size)]
    return [batches[i] for i in torch.randperm(len(batches), generator=generator).tolist()]


def lr_factor(progress: float, warmup: float) -> float:
    """Linear warm-up over the first ``warmup`` share of the run, then linear decay to 0."""
    if warmup > 0 and progress < warmup:
        return progress / warmup
    return max(0.0, (1.0 - progress) / max(1e-8, 1.0 - warmup))


def make_optimizer(model: nn.Module, lr: float, weight_decay: float) -> torch.optim.AdamW:
    """AdamW; matrices decay, biases and norm weights (1-d parameters) do not."""
    params = [p for p in model.parameters() if p.requires_grad]
    decay = [p for p in params if p.dim() >= 2]
    no_decay = [p for p in params if p.dim() < 2]
    groups = [
        {"params": decay, "weight_decay": weight_decay},
        {"params": no_decay, "weight_decay": 0.0},
    ]
    return torch.optim.AdamW(groups, lr=lr)


def batch_loss(output: Any) -> torch.Tensor:
    """The loss from ``(logits, loss)`` or from an output object with ``.loss``."""
    loss = output[1] if isinstance(output, tuple) else getattr(output, "loss", None)
    if loss is None:
        raise ValueError("the model returned no loss: give it labels or targets in the batch")
    return loss


def to_device(batch: Any, device: torch.device) -> Any:
    if isinstance(batch, torch.Tensor):
        return batch.to(device)
    if isinstance(batch, dict):
        return {k: to_device(v, device) for k, v in batch.items()}
    if isinstance(batch, list | tuple):
        return type(batch)(to_device(v, device) for v in batch)
    return batch


def _call_args(batch: Any) -> tuple[tuple[Any, ...], dict[str, Any]]:
    if isinstance(batch, dict):
        return (), batch
    if isinstance(batch, list | tuple):
        return tuple(batch), {}
    return (batch,), {}
