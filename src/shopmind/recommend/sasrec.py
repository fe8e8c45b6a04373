"""``sasrec``: the transformer recommender (the network is in ``sasrec_model.py``).

Training reads every user's time-ordered sequence: at each position the model predicts
the next item, with full cross-entropy over the catalog (``negatives=0``) or a sampled
softmax. Batches are shuffled users, padded only to the longest of their batch, so
short sequences cost little; the optimiser is Adam at a constant learning
rate, as in the original. After every epoch the model is scored on the validation targets
(full ranking, NDCG@10), and training stops ``patience`` epochs after the best one —
chosen by validation only. With ``refit`` (the default) a fresh network then trains for
that many epochs on the data including the items held out for the choice, so what serves
has learnt the latest items as well.
"""

from __future__ import annotations

import copy
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
        "positions", "init_std", "refit", "seed", "threads",
    )  # fmt: skip

    def __init__(
        self,
        max_len: int = 50,
        hidden: int = 64,
        layers: int = 2,
        heads: int = 1,
        dropout: float = 0.5,
        ffn: int = 1,
        lr: float = 1e-3,
        weight_decay: float = 0.0,
        batch_tokens: int = 1024,
        epochs: int = 200,
        patience: int = 10,
        time_budget_s: float | None = None,
        negatives: int = 0,
        precision: str = "auto",
        positions: str = "end",
        init_std: float = 0.0,
        refit: bool = True,
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
        self.init_std = init_std
        self.refit = refit
        self.seed = seed
        self.threads = threads

    # -- training -------------------------------------------------------------------------
    def fit(
        self,
        interactions: Interactions,
        item_texts: Mapping[str, str] | None = None,
        validation: Validation | None = None,
        progress: Callable[[dict[str, Any]], Any] | None = None,
        select_on: Interactions | None = None,
    ) -> SASRecRecommender:
        """Learn from ``interactions``.

        The number of epochs is chosen by validation: a first run trains on ``select_on``
        (the same users, without their latest items) and is scored after every epoch on
        ``validation`` (histories, targets); the best epoch wins. With ``refit`` a fresh
        network then trains on all of ``interactions`` for that many epochs, so the
        served model has learnt the latest items too; without it (or when
        ``time_budget_s`` would cut the refit short) the first run's best epoch serves.
        Without ``validation``, each user's last item (of those with 3 or more) is held
        out for the choice. ``progress`` gets ``{"epoch", "loss", "ndcg@10", "hr@10",
        "seconds"}`` after every epoch of the first run and ``{"epoch", "loss",
        "seconds", "refit": True, "of"}`` during the second."""
        self._validation, self._progress, self._select_on = validation, progress, select_on
        super().fit(interactions, item_texts)
        return self

    def _fit(self, interactions: Interactions, item_texts: Mapping[str, str] | None) -> None:
        validation, select_on = self._validation, self._select_on
        sequences = [np.asarray(s, dtype=np.int64) for s in self.histories_]
        if validation is None:
            validation, first = _hold_out_last(sequences)
        elif select_on is not None:
            first = [np.asarray(s, dtype=np.int64) for s in select_on.sequences()]
        else:
            first, sequences = sequences, []  # validated on the caller's targets: no refit
        started = time.perf_counter()
        budget = self.time_budget_s
        refit = self.refit and len(sequences) > 0 and len(validation[1]) > 0
        reserve = (
            _positions(sequences, self.max_len) / _positions(first, self.max_len) if refit else 0
        )
        net, history, best_epoch = self._train(first, self.epochs, validation, budget, reserve)
        self.best_epoch_, self.history_ = best_epoch, history
        chosen = [r for r in history if r["epoch"] == best_epoch]
        self.selected_ = {k: chosen[0][k] for k in ("hr@10", "ndcg@10")} if chosen else {}
        self.refitted_ = False
        if refit and best_epoch > 0:
            left = budget - (time.perf_counter() - started) if budget else None
            again, _, reached = self._train(sequences, best_epoch, None, left)
            if reached == best_epoch:  # else the budget cut it short: the first run serves
                net, self.refitted_ = again, True
        net.eval()
        self.net_ = net
        self.item_vectors_ = net.items.weight[1:].detach().numpy().copy()
        self.train_seconds_ = round(time.perf_counter() - started, 1)
        self._validation = self._progress = self._select_on = None

    def _train(
        self,
        sequences: Sequence[np.ndarray],
        epochs: int,
        validation: Validation | None,
        budget_s: float | None,
        reserve: float = 0.0,
    ) -> tuple[SASRec, list[dict[str, Any]], int]:
        """Train a fresh network for up to ``epochs`` (Adam, constant learning rate,
        shuffled batches); with ``validation``, score it after every epoch, stop after
        ``patience`` epochs without a better NDCG@10 and return the best epoch's weights.
        Within ``budget_s``, time is kept for a refit after it: as many epochs as this run
        has had, each ``reserve`` times as long as one of this run's (without scoring).
        Returns (network, per-epoch rows, the epoch returned)."""
        from shopmind.models.device import set_threads

        set_threads(self.threads)
        torch.manual_seed(self.seed)
        rng = np.random.default_rng(self.seed)
        examples = [_example(s, self.max_len) for s in sequences if len(s) >= 2]
        if not examples:
            raise ValueError("sasrec needs at least one user with 2 or more interactions")
        net = SASRec(self._config(bf16=self._bf16()))
        optimizer = torch.optim.Adam(net.parameters(), lr=self.lr, betas=(0.9, 0.98),
                                     weight_decay=self.weight_decay)  # fmt: skip
        mean_length = float(np.mean([len(x) for x, _ in examples]))
        batch_size = max(1, int(self.batch_tokens // max(1.0, mean_length)))
        collate = _collate(self.negatives)
        validate = validation is not None and len(validation[1]) > 0
        history: list[dict[str, Any]] = []
        best = {"ndcg@10": -1.0, "epoch": 0, "state": None}
        started = time.perf_counter()
        training_s = 0.0  # the epochs' training time, without scoring
        for epoch in range(1, max(1, epochs) + 1):
            epoch_started = time.perf_counter()
            net.train()
            losses = []
            order = rng.permutation(len(examples))
            for start in range(0, len(order), batch_size):
                batch = collate([examples[i] for i in order[start : start + batch_size]])
                _, loss = net(**batch)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                losses.append(loss.item())
            row = {"epoch": epoch, "loss": float(np.mean(losses))}
            training_s += time.perf_counter() - epoch_started
            if validate:
                assert validation is not None
                row |= self._validate(net, validation)
                row["seconds"] = round(time.perf_counter() - started, 1)
                history.append(row)
                if row["ndcg@10"] > best["ndcg@10"]:
                    best = {"ndcg@10": row["ndcg@10"], "epoch": epoch,
                            "state": copy.deepcopy(net.state_dict())}  # fmt: skip
                if self._progress is not None:
                    self._progress(row)
                if self.patience and epoch - int(best["epoch"]) >= self.patience:
                    break
            elif self._progress is not None:
                seconds = round(time.perf_counter() - started, 1)
                self._progress({"epoch": epoch, "loss": row["loss"], "seconds": seconds,
                                "refit": True, "of": epochs})  # fmt: skip
            if budget_s is not None:
                now = time.perf_counter()
                spent = now - started
                if reserve:  # another epoch like the last, then a refit one epoch longer
                    # (a refit's epochs ran up to a fifth slower than estimated on Sports)
                    spent += now - epoch_started + 1.25 * reserve * training_s / epoch * (epoch + 1)
                if spent >= budget_s:
                    break
        if best["state"] is not None:
            net.load_state_dict(best["state"])
        else:
            best["epoch"] = epoch
        return net, history, int(best["epoch"])

    def _config(self, bf16: bool = False) -> SASRecConfig:
        return SASRecConfig(n_items=len(self.items_), max_len=self.max_len,
                            hidden=self.hidden, layers=self.layers, heads=self.heads,
                            dropout=self.dropout, ffn=self.ffn, bf16=bf16,
                            positions=self.positions, init_std=self.init_std)  # fmt: skip

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
        items = _pad(seqs)
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
                 "selected": self.selected_, "refitted": self.refitted_,
                 "train_seconds": self.train_seconds_}  # fmt: skip
        return extra, weights

    def _set_state(self, extra: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        config = self._config()
        net = SASRec(config)
        state = {k.removeprefix("net."): torch.from_numpy(v.copy()) for k, v in arrays.items()}
        net.load_state_dict(state)
        self.net_ = net.eval()
        self.item_vectors_ = net.items.weight[1:].detach().numpy().copy()
        self.history_ = extra.get("history", [])
        self.best_epoch_ = extra.get("best_epoch", 0)
        self.selected_ = extra.get("selected", {})
        self.refitted_ = extra.get("refitted", False)
        self.train_seconds_ = extra.get("train_seconds")


def _example(sequence: np.ndarray, max_len: int) -> tuple[np.ndarray, np.ndarray]:
    """(input ids, target ids), 1-based, of the sequence's last ``max_len + 1`` items."""
    s = sequence[-(max_len + 1) :] + 1
    return s[:-1], s[1:]


def _pad(rows: Sequence[np.ndarray]) -> torch.Tensor:
    """(len(rows), longest) ids, padded with 0 on the right."""
    out = torch.zeros((len(rows), max(len(r) for r in rows)), dtype=torch.long)
    for i, r in enumerate(rows):
        out[i, : len(r)] = torch.from_numpy(r)
    return out


Example = tuple[np.ndarray, np.ndarray]  # (input ids, target ids)


def _collate(negatives: int) -> Callable[[list[Example]], Any]:
    def collate(batch: list[Example]) -> dict[str, Any]:
        items, targets = _pad([x for x, _ in batch]), _pad([y for _, y in batch])
        return {"items": items, "targets": targets, "negatives": negatives}

    return collate


def _positions(sequences: Sequence[np.ndarray], max_len: int) -> int:
    """The predicted positions an epoch over ``sequences`` trains on (the loss's cost)."""
    return max(1, sum(min(len(s) - 1, max_len) for s in sequences if len(s) >= 2))


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
