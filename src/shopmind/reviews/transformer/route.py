"""One language's classifier: a tokenizer and a ``BertForSequenceClassification``.

``TransformerSentiment`` holds one of these per language route (English WordPiece
MiniLM, Chinese character BERT). Scoring follows the pipeline shape: ``preprocess``
(clean text → token ids, cut to ``max_length``) → ``_forward`` (the only code touching
the network and the device, under ``torch.inference_mode()``, batches of similar length)
→ ``postprocess`` (probabilities back in input order).
"""

from __future__ import annotations

import copy
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from transformers import BertForSequenceClassification, BertTokenizer

from shopmind.models.device import native_bfloat16, pick_device
from shopmind.models.trainer import Trainer, TrainerConfig
from shopmind.reviews.transformer.model import (
    SentimentNet,
    class_weights,
    load_classifier,
    quiet,
)
from shopmind.reviews.transformer.tokenize import encode, length_batches, load_tokenizer, pad

Progress = Callable[[int], Any] | None
PRECISIONS = ("auto", "float32", "bfloat16", "int8")


@dataclass
class Encoded:
    ids: list[list[int]]  # token ids per text, [CLS] … [SEP], at most max_length
    truncated: list[bool]  # whether the text had more tokens than fit


@dataclass
class RouteModel:
    tokenizer: BertTokenizer
    bert: BertForSequenceClassification
    max_length: int = 128
    _int8: nn.Module | None = field(default=None, repr=False)

    # -- training ------------------------------------------------------------------------

    def finetune(
        self,
        texts: Sequence[str],
        labels: Sequence[int],
        config: TrainerConfig,
        class_weight: str | None = "balanced",
        progress: Progress = None,
        probe: bool = True,
        head_data: tuple[Sequence[str], Sequence[int]] | None = None,
        head_time_s: float | None = None,
    ) -> dict[str, Any]:
        """Fine-tune on cleaned texts and labels (0/1/2); returns the trainer's history.

        With ``probe`` the classification head is first fitted alone on the frozen
        encoder's features (a linear probe), then everything is fine-tuned: a random head
        would otherwise send large, noisy gradients into good pretrained features during
        the first steps (Kumar et al., 2022, "Fine-tuning can distort pretrained features").
        ``head_data`` — more labelled texts than fine-tuning can afford, typically all of
        the store's reviews — is what the probe reads instead of the training sample
        (as many of them as one pass can encode in ``head_time_s``).
        """
        enc = self.preprocess(texts)
        data = list(zip(enc.ids, labels, strict=True))
        weights = class_weights(list(labels), class_weight)
        probe_loss = None
        if probe and head_data is not None:
            probe_loss = self.fit_head(*head_data, class_weight, head_time_s)
        elif probe:
            probe_loss = self.probe(enc, labels, weights)
        net = SentimentNet(self.bert, weights)
        trainer = Trainer(config, net, data, self._collate, lengths=[len(r) for r in enc.ids])
        if progress is not None:
            trainer.add_callback("on_batch_end", lambda t: progress(t.step))
        history = trainer.run()
        self.bert.eval()
        self._int8 = None
        history["class_weights"] = None if weights is None else [float(w) for w in weights]
        history["probe_loss"] = probe_loss
        return history

    def probe(
        self, enc: Encoded, labels: Sequence[int], weights: torch.Tensor | None, steps: int = 100
    ) -> float:
        """Fit the head alone (L-BFGS, weighted cross-entropy, light L2) on frozen features."""
        head = self.bert.classifier
        features = self._head_inputs(enc.ids)  # (n, hidden)
        device = head.weight.device
        x, y = features.to(device), torch.as_tensor(list(labels), device=device)
        w = None if weights is None else weights.to(device)
        l2 = 0.5 / len(y)  # scikit-learn's default C=1 on a mean (not summed) loss
        optimizer = torch.optim.LBFGS(
            head.parameters(), lr=1.0, max_iter=steps, line_search_fn="strong_wolfe"
        )

        def closure() -> torch.Tensor:
            optimizer.zero_grad()
            loss = torch.nn.functional.cross_entropy(head(x), y, weight=w)
            loss = loss + l2 * head.weight.pow(2).sum()
            loss.backward()
            return loss

        with torch.enable_grad():
            optimizer.step(closure)
            return float(closure().detach())

    def fit_head(
        self,
        texts: Sequence[str],
        labels: Sequence[int],
        class_weight: str | None = "balanced",
        time_budget_s: float | None = None,
    ) -> float:
        """Fit the head alone on the current encoder's features of ``texts`` (cleaned).

        One forward pass over the texts, then L-BFGS on the head: a fine-tuned encoder's
        head re-fitted on all of a store's reviews, not just the sample it was tuned on.
        With ``time_budget_s`` the pass reads only as many texts (a seeded random subset)
        as the measured speed of the first batches allows in that time.
        """
        texts, labels = list(texts), [int(v) for v in labels]
        enc = self.preprocess(texts)
        keep = self._affordable(enc.ids, time_budget_s)
        if len(keep) < len(texts):
            enc = Encoded([enc.ids[i] for i in keep], [enc.truncated[i] for i in keep])
            labels = [labels[i] for i in keep]
        self._int8 = None  # a quantised copy would keep the old head
        return self.probe(enc, labels, class_weights(labels, class_weight))

    def _affordable(self, ids: list[list[int]], time_budget_s: float | None) -> list[int]:
        """Positions of the texts one feature pass can encode within ``time_budget_s``."""
        n = len(ids)
        if time_budget_s is None or n <= 512:
            return list(range(n))
        order = np.random.default_rng(0).permutation(n)
        trial = [ids[i] for i in order[:256]]
        started = time.perf_counter()
        self._head_inputs(trial)
        per_token = (time.perf_counter() - started) / max(1, sum(len(r) for r in trial))
        budget_tokens = time_budget_s / max(per_token, 1e-9)
        total = np.cumsum([len(ids[i]) for i in order])
        fits = int(np.searchsorted(total, budget_tokens, side="right"))
        return sorted(order[: max(512, fits)].tolist())

    def _head_inputs(self, ids: list[list[int]], batch_size: int = 64) -> torch.Tensor:
        """What the classification head reads for each text, in input order (eval mode)."""
        captured: list[torch.Tensor] = []
        hook = self.bert.classifier.register_forward_pre_hook(
            lambda module, args: captured.append(args[0].detach())
        )
        out = torch.zeros(len(ids), self.bert.config.hidden_size)
        self.bert.eval()
        try:
            for rows in length_batches([len(r) for r in ids], batch_size):
                captured.clear()
                self._forward(self.bert, [ids[i] for i in rows])
                out[rows] = captured[0].float().cpu()
        finally:
            hook.remove()
        return out

    def _collate(self, rows: list[tuple[list[int], int]]) -> dict[str, torch.Tensor]:
        ids, mask = pad([r[0] for r in rows], self.tokenizer.pad_token_id)
        labels = torch.as_tensor([r[1] for r in rows], dtype=torch.long)
        return {"input_ids": ids, "attention_mask": mask, "labels": labels}

    # -- scoring -------------------------------------------------------------------------

    def preprocess(self, texts: Sequence[str]) -> Encoded:
        return Encoded(*encode(self.tokenizer, texts, self.max_length))

    def logits(
        self,
        texts: Sequence[str],
        batch_size: int = 64,
        precision: str = "float32",
        progress: Progress = None,
    ) -> tuple[np.ndarray, list[bool]]:
        """(n, 3) logits and per-text truncation flags, in input order.

        ``precision``: ``"float32"``; ``"bfloat16"`` (autocast: matrix products in
        bfloat16, softmax and layer norms in float32); ``"int8"`` (a dynamically
        quantised copy, CPU); ``"auto"`` is bfloat16 where the device does it in
        hardware (``native_bfloat16``), else float32.
        """
        precision = self.resolve_precision(precision)
        enc = self.preprocess(texts)
        out = np.zeros((len(texts), 3))
        net = self.int8() if precision == "int8" else self.bert
        done = 0
        for rows in length_batches([len(r) for r in enc.ids], batch_size):
            out[rows] = self._forward(net, [enc.ids[i] for i in rows], precision == "bfloat16")
            done += len(rows)
            if progress is not None:
                progress(done)
        return out, enc.truncated

    def resolve_precision(self, precision: str) -> str:
        if precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {PRECISIONS}, got {precision!r}")
        if precision != "auto":
            return precision
        device = next(self.bert.parameters()).device
        return "bfloat16" if native_bfloat16(device) else "float32"

    def _forward(self, net: nn.Module, rows: list[list[int]], bf16: bool = False) -> np.ndarray:
        ids, mask = pad(rows, self.tokenizer.pad_token_id)  # (batch, longest)
        device = next(net.parameters(), torch.empty(0)).device
        with (
            torch.inference_mode(),
            torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16),
        ):
            logits = net(input_ids=ids.to(device), attention_mask=mask.to(device)).logits
            return logits.float().cpu().double().numpy()  # (batch, 3)

    def int8(self) -> nn.Module:
        """A dynamically int8-quantised copy (Linear layers) for CPU scoring, made once."""
        if self._int8 is None:
            from torch.ao.quantization import quantize_dynamic

            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # torch flags its quantised dtypes as deprecated
                model = copy.deepcopy(self.bert).cpu().eval()
                self._int8 = quantize_dynamic(model, {nn.Linear}, dtype=torch.qint8)
        return self._int8

    # -- persistence ---------------------------------------------------------------------

    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        with quiet():
            self.bert.save_pretrained(folder)
            self.tokenizer.save_pretrained(folder)

    @classmethod
    def load(cls, folder: Path, max_length: int, device: str = "auto") -> RouteModel:
        bert = load_classifier(folder).to(pick_device(device)).eval()
        return cls(load_tokenizer(folder), bert, max_length)
