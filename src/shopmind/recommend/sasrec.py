"""``sasrec``: the transformer recommender (the network is in ``sasrec_model.py``).

Training reads every user's time-ordered sequence: at each position the model predicts
the next item, with full cross-entropy over the catalog (``negatives=0``) or a sampled
softmax. Batches hold sequences of similar length padded only to the longest of their
batch and are sized by a token budget (``batch_tokens``), so short sequences cost
little. The shared :class:`~shopmind.models.trainer.Trainer` runs it (AdamW, warm-up
then linear decay, a wall-clock budget); after every epoch the model is scored on the
validation targets (full ranking, NDCG@10) and the best epoch's weights are kept —
chosen by validation only. Without validation targets from the caller, each user's last
item (of those with 3 or more) is held out for that.
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar

import numpy as np
import torch

from shopmind.recommend.base import Recommender
from shopmind.recommend.data import Interactions
from shopmind.recommend.evaluate import metrics_from_ranks, rank_of_targets
from shopmind.recommend.sasrec_model import SASRec, SASRecConfig

Validation = tuple[Sequence[np.ndarray], np.ndarray]  # (histories, targets), item codes


class SASRecRecommender(Recommender):
    name: ClassVar[str] = "sasrec"
    params: ClassVar[tuple[str, ...]] = (
        "max_len", "hidden", "layers", "heads", "dropout", "ffn", "lr", "weight_decay",
        "batch_tokens", "epochs", "patience", "time_budget_s", "negatives", "precision",
        "positions", "seed", "threads",
    )  # fmt: skip

    def __init__(
        self,
        max_len: int = 50,
        hidden: int = 64,
        layers: int = 2,
        heads: int = 1,
        dropout: float = 0.5,
        ffn: int = 4,
        lr: float = 1e-3,
        weight_decay: float = 0.0,
        batch_tokens: int = 1024,
        epochs: int = 200,
        patience: int = 10,
        time_budget_s: float | None = None,
        negatives: int = 0,
        precision: str = "auto",
        positions: str = "end",
        seed: int = 0,
        threads: int = 2,
    ) -> None:
        self.max_len = max_len
        self.hidden = hidden
        self.layers = layers
        self.heads = heads
        self.dropout = dropout
        self.ffn = ffn
        self.lr = lr
        self.weight_decay = weight_decay
        self.batch_tokens = batch_tokens
        self.epochs = epochs
        self.patience = patience
        self.time_budget_s = time_budget_s
        self.negatives = negatives
        self.precision = precision
        self.positions = positions
        self.seed = seed
        self.threads = threads

    # -- training -------------------------------------------------------------------------
    def fit(
        self,
        interactions: Interactions,
        item_texts: Mapping[str, str] | None = None,
        validation: Validation | None = None,
        progress: Callable[[dict[str, Any]], Any] | None = None,
    ) -> SASRecRecommender:
        """Learn from ``interactions``; ``validation`` (histories, targets) picks the best
        epoch (without it each user's last item is held out for that); ``progress`` gets
        ``{"epoch", "loss", "ndcg@10", "hr@10", "seconds"}`` after every epoch."""
        self._validation, self._progress = validation, progress
        super().fit(interactions, item_texts)
        return self

    def _fit(self, interactions: Interactions, item_texts: Mapping[str, str] | None) -> None:
        from shopmind.models.trainer import Trainer, TrainerConfig

        torch.manual_seed(self.seed)
        sequences = [np.asarray(s, dtype=np.int64) for s in self.histories_]
        validation = self._validation
        if validation is None:
            validation, sequences = _hold_out_last(sequences)
        examples = [_example(s, self.max_len) for s in sequences if len(s) >= 2]
        if not examples:
            raise ValueError("sasrec needs at least one user with 2 or more interactions")
        config = SASRecConfig(n_items=len(self.items_), max_len=self.max_len,
                              hidden=self.hidden, layers=self.layers, heads=self.heads,
                              dropout=self.dropout, ffn=self.ffn, bf16=self._bf16(),
                              positions=self.positions)  # fmt: skip
        net = SASRec(config)
        lengths = [len(x) for x, _ in examples]
        batch_size = max(1, self.batch_tokens // max(1, int(np.mean(lengths))))
        per_epoch = math.ceil(len(examples) / batch_size)
        trainer = Trainer(
            TrainerConfig(epochs=self.epochs, batch_size=batch_size, lr=self.lr,
                          weight_decay=self.weight_decay, warmup=0.01, grad_clip=5.0,
                          seed=self.seed, time_budget_s=self.time_budget_s,
                          eval_every=per_epoch, device="cpu", threads=self.threads),
            net, examples, _collate(self.negatives), lengths=lengths,
            eval_fn=(lambda m: self._validate(m, validation)) if len(validation[1]) else None,
        )  # fmt: skip
        best: dict[str, Any] = {"ndcg@10": -1.0, "state": None, "epoch": 0}
        history: list[dict[str, Any]] = []
        started = time.perf_counter()
        since_best = [0]
        losses: list[float] = []

        def on_batch(t: Trainer) -> None:
            losses.append(t.loss)

        def on_eval(t: Trainer) -> None:
            epoch = t.step // per_epoch
            row = {"epoch": epoch, "loss": float(np.mean(losses)) if losses else math.nan,
                   **{k: v for k, v in t.last_eval.items() if k != "step"},
                   "seconds": round(time.perf_counter() - started, 1)}  # fmt: skip
            losses.clear()
            history.append(row)
            if row["ndcg@10"] > best["ndcg@10"]:
                best.update({"ndcg@10": row["ndcg@10"], "epoch": epoch,
                             "state": copy.deepcopy(t.model.state_dict())})  # fmt: skip
                since_best[0] = 0
            else:
                since_best[0] += 1
                if self.patience and since_best[0] >= self.patience:
                    t.should_stop = True
            if self._progress is not None:
                self._progress(row)

        trainer.add_callback("on_batch_end", on_batch)
        trainer.add_callback("on_eval", on_eval)
        run = trainer.run()
        if best["state"] is not None:
            net.load_state_dict(best["state"])
        net.eval()
        self.net_ = net
        self.item_vectors_ = net.items.weight[1:].detach().numpy().copy()
        self.history_ = history
        self.best_epoch_ = int(best["epoch"])
        self.train_seconds_ = round(run["elapsed_s"], 1)
        self._validation = self._progress = None

    def _bf16(self) -> bool:
        """``precision``: ``"float32"``, ``"bfloat16"`` (training's matrix products under
        autocast; scoring stays float32) or ``"auto"`` (bfloat16 where the CPU does it in
        hardware)."""
        from shopmind.models.device import native_bfloat16

        if self.precision not in ("auto", "float32", "bfloat16"):
            raise ValueError(f"precision must be auto, float32 or bfloat16, got {self.precision!r}")
        return self.precision == "bfloat16" or (self.precision == "auto" and native_bfloat16())

    def _validate(self, net: SASRec, validation: Validation) -> dict[str, float]:
        histories, targets = validation
        ranks = rank_of_targets(lambda h: self._scores_with(net, h), list(histories), targets)
        return metrics_from_ranks(ranks, (10,))

    # -- scoring --------------------------------------------------------------------------
    def _query(self, histories: list[np.ndarray]) -> np.ndarray:
        return self._encode(self.net_, histories)

    def _encode(self, net: SASRec, histories: Sequence[np.ndarray]) -> np.ndarray:
        """(batch, hidden): the state after each history's last item (empty: zeros)."""
        out = np.zeros((len(histories), net.config.hidden), dtype=np.float32)
        rows = [i for i, h in enumerate(histories) if len(h)]
        if not rows:
            return out
        seqs = [np.asarray(histories[i][-self.max_len :], dtype=np.int64) + 1 for i in rows]
        width = max(len(s) for s in seqs)
        items = torch.zeros((len(seqs), width), dtype=torch.long)
        for r, s in enumerate(seqs):
            items[r, : len(s)] = torch.from_numpy(s)
        lengths = torch.tensor([len(s) for s in seqs])
        was_training = net.training
        net.eval()
        with torch.inference_mode():
            out[rows] = net.last_hidden(items, lengths).numpy()
        net.train(was_training)
        return out

    def _scores_with(self, net: SASRec, histories: Sequence[np.ndarray]) -> np.ndarray:
        table = net.items.weight[1:].detach().numpy()
        return self._encode(net, histories) @ table.T

    def _score(self, histories: list[np.ndarray]) -> np.ndarray:
        return self._scores_with(self.net_, histories)

    # -- saving ---------------------------------------------------------------------------
    def _state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        weights = {f"net.{k}": v.detach().numpy() for k, v in self.net_.state_dict().items()}
        extra = {"history": self.history_, "best_epoch": self.best_epoch_,
                 "train_seconds": self.train_seconds_}  # fmt: skip
        return extra, weights

    def _set_state(self, extra: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        config = SASRecConfig(n_items=len(self.items_), max_len=self.max_len,
                              hidden=self.hidden, layers=self.layers, heads=self.heads,
                              dropout=self.dropout, ffn=self.ffn,
                              positions=self.positions)  # fmt: skip
        net = SASRec(config)
        state = {k.removeprefix("net."): torch.from_numpy(v.copy()) for k, v in arrays.items()}
        net.load_state_dict(state)
        self.net_ = net.eval()
        self.item_vectors_ = net.items.weight[1:].detach().numpy().copy()
        self.history_ = extra.get("history", [])
        self.best_epoch_ = extra.get("best_epoch", 0)
        self.train_seconds_ = extra.get("train_seconds")


def _example(sequence: np.ndarray, max_len: int) -> tuple[np.ndarray, np.ndarray]:
    """(input ids, target ids), 1-based, of the sequence's last ``max_len + 1`` items."""
    s = sequence[-(max_len + 1) :] + 1
    return s[:-1], s[1:]


def _collate(negatives: int) -> Callable[[list[tuple[np.ndarray, np.ndarray]]], Any]:
    def collate(batch: list[tuple[np.ndarray, np.ndarray]]) -> dict[str, Any]:
        width = max(len(x) for x, _ in batch)
        items = torch.zeros((len(batch), width), dtype=torch.long)
        targets = torch.zeros((len(batch), width), dtype=torch.long)
        for r, (x, y) in enumerate(batch):
            items[r, : len(x)] = torch.from_numpy(x)
            targets[r, : len(y)] = torch.from_numpy(y)
        return {"items": items, "targets": targets, "negatives": negatives}

    return collate


def _hold_out_last(sequences: list[np.ndarray]) -> tuple[Validation, list[np.ndarray]]:
    """Each sequence of 3+ items gives its last item as a validation target; the
    sequences without it train."""
    histories, targets, train = [], [], []
    for s in sequences:
        if len(s) >= 3:
            histories.append(s[:-1])
            targets.append(int(s[-1]))
            train.append(s[:-1])
        else:
            train.append(s)
    return (histories, np.asarray(targets, dtype=np.int64)), train
