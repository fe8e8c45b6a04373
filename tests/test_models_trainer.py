"""The shared trainer, device/thread settings and shipped-weight lookup (shopmind.models)."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from shopmind.config import load_settings
from shopmind.models import Trainer, TrainerConfig, WeightsMissing, minilm_path, set_threads
from shopmind.models.device import pick_device
from shopmind.models.trainer import length_grouped_batches, lr_factor
from shopmind.models.weights import resolve


class TinyClassifier(nn.Module):
    """Two-feature logistic regression; forward returns (logits, loss) as STYLE.md asks."""

    def __init__(self) -> None:
        super().__init__()
        self.linear = nn.Linear(2, 2)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        logits = self.linear(x)  # (batch, 2)
        return logits, nn.functional.cross_entropy(logits, y)


def separable(n: int = 256, seed: int = 0) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """Points labelled by the sign of x0 + x1: a known answer a linear model can learn."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 2, generator=g)
    y = (x.sum(dim=1) > 0).long()
    return list(zip(x, y, strict=True))


def collate(rows):
    return torch.stack([r[0] for r in rows]), torch.stack([r[1] for r in rows])


def train(config: TrainerConfig, seed: int = 0, **kwargs):
    torch.manual_seed(seed)
    model = TinyClassifier()
    trainer = Trainer(config, model, separable(), collate, **kwargs)
    return model, trainer


def test_loss_decreases_and_the_task_is_learned():
    model, trainer = train(TrainerConfig(epochs=10, batch_size=16, lr=0.1, threads=1))
    history = trainer.run()
    losses = [s["loss"] for s in history["steps"]]
    assert len(losses) == 10 * 16
    assert sum(losses[-10:]) / 10 < 0.5 * sum(losses[:10]) / 10
    test = separable(200, seed=1)
    with torch.no_grad():
        logits, _ = model(*collate(test))
    accuracy = (logits.argmax(1) == collate(test)[1]).float().mean().item()
    assert accuracy >= 0.95
    assert history["stopped"] == "epochs"


def test_callbacks_fire_in_order():
    _, trainer = train(TrainerConfig(epochs=2, batch_size=64, threads=1, eval_every=2))
    trainer.eval_fn = lambda model: {"bias": float(model.linear.bias.sum())}
    seen = []
    trainer.add_callback("on_batch_end", lambda t: seen.append(("batch", t.step)))
    trainer.add_callback("on_epoch_end", lambda t: seen.append(("epoch", t.epoch)))
    trainer.add_callback("on_eval", lambda t: seen.append(("eval", t.last_eval["step"])))
    trainer.add_callback("on_train_end", lambda t: seen.append(("end", t.step)))
    history = trainer.run()
    assert seen == [
        *[("batch", 1), ("batch", 2), ("eval", 2), ("batch", 3), ("batch", 4), ("eval", 4)],
        ("epoch", 0),
        *[("batch", 5), ("batch", 6), ("eval", 6), ("batch", 7), ("batch", 8), ("eval", 8)],
        ("epoch", 1),
        ("end", 8),
    ]
    assert [e["step"] for e in history["evals"]] == [2, 4, 6, 8]
    assert all(isinstance(e["bias"], float) for e in history["evals"])


def test_unknown_event_and_empty_data_are_refused():
    _, trainer = train(TrainerConfig(threads=1))
    with pytest.raises(ValueError, match="unknown event 'on_step'"):
        trainer.add_callback("on_step", print)
    with pytest.raises(ValueError, match="empty dataset"):
        Trainer(TrainerConfig(), TinyClassifier(), [], collate)
    with pytest.raises(ValueError, match="sample_weights has 3 entries for 256"):
        Trainer(TrainerConfig(), TinyClassifier(), separable(), collate, sample_weights=[1] * 3)


def test_max_steps_and_callback_stop():
    _, trainer = train(TrainerConfig(epochs=100, max_steps=7, batch_size=8, threads=1))
    history = trainer.run()
    assert (len(history["steps"]), history["stopped"]) == (7, "max_steps")
    _, trainer = train(TrainerConfig(epochs=100, batch_size=8, threads=1))
    trainer.add_callback("on_batch_end", lambda t: setattr(t, "should_stop", t.step == 5))
    history = trainer.run()
    assert (len(history["steps"]), history["stopped"]) == (5, "callback")


def test_time_budget_stops_training():
    # 10,000 epochs would take minutes; the budget ends the run after about a quarter second
    _, trainer = train(TrainerConfig(epochs=10_000, batch_size=8, threads=1, time_budget_s=0.25))
    history = trainer.run()
    assert history["stopped"] == "time_budget"
    assert history["elapsed_s"] >= 0.25
    assert 0 < len(history["steps"]) < 10_000 * 32
    # the schedule followed the clock: the learning rate had decayed near zero by the end
    assert history["steps"][-1]["lr"] < 0.1 * max(s["lr"] for s in history["steps"])


def test_same_seed_same_run_other_seed_other_run():
    def run(seed: int) -> tuple[list[float], torch.Tensor]:
        # a time budget that does not bind leaves the run independent of the clock
        config = TrainerConfig(epochs=2, batch_size=16, threads=1, seed=seed, time_budget_s=600)
        model, trainer = train(config)
        history = trainer.run()
        return [s["loss"] for s in history["steps"]], model.linear.weight.detach().clone()

    losses_a, weights_a = run(3)
    losses_b, weights_b = run(3)
    losses_c, _ = run(4)
    assert losses_a == losses_b
    assert torch.equal(weights_a, weights_b)
    assert losses_a != losses_c  # the shuffle order follows the seed


def test_schedule_warms_up_then_decays_to_zero():
    assert lr_factor(0.0, 0.1) == 0.0
    assert lr_factor(0.05, 0.1) == pytest.approx(0.5)
    assert lr_factor(0.1, 0.1) == pytest.approx(1.0)
    assert lr_factor(0.55, 0.1) == pytest.approx(0.5)
    assert lr_factor(1.0, 0.1) == 0.0
    _, trainer = train(TrainerConfig(epochs=1, batch_size=8, lr=1.0, warmup=0.25, threads=1))
    lrs = [s["lr"] for s in trainer.run()["steps"]]
    peak = lrs.index(max(lrs))
    assert peak == 8  # 32 steps, a quarter of them warming up
    assert lrs[:peak] == sorted(lrs[:peak]) and lrs[peak:] == sorted(lrs[peak:], reverse=True)


def test_gradients_are_clipped_and_biases_do_not_decay():
    _, trainer = train(TrainerConfig(max_steps=1, grad_clip=1e-3, lr=0.0, threads=1))
    norms = []
    trainer.add_callback(
        "on_batch_end",
        lambda t: norms.append(
            math.sqrt(sum(float(p.grad.pow(2).sum()) for p in t.model.parameters()))
        ),
    )
    trainer.run()
    assert norms[0] == pytest.approx(1e-3, rel=1e-3)
    groups = trainer.optimizer.param_groups
    assert [(len(g["params"]), g["weight_decay"]) for g in groups] == [(1, 0.01), (1, 0.0)]


def test_length_grouped_batches_cover_every_example_once():
    lengths = [(i * 37) % 101 for i in range(1000)]
    batches = length_grouped_batches(lengths, 16, torch.Generator().manual_seed(0))
    flat = [i for b in batches for i in b]
    assert sorted(flat) == list(range(1000))
    spread = sum(max(lengths[i] for i in b) - min(lengths[i] for i in b) for b in batches)
    assert spread / len(batches) < 10  # random batches would span ~90 of 0..100


def test_balanced_sampling_draws_rare_examples_more_often():
    data = separable()
    weights = [10.0 if int(y) == 1 else 1.0 for _, y in data]
    drawn = []
    trainer = Trainer(
        TrainerConfig(epochs=1, batch_size=32, threads=1),
        TinyClassifier(),
        data,
        lambda rows: drawn.extend(int(r[1]) for r in rows) or collate(rows),
        sample_weights=weights,
    )
    trainer.run()
    assert len(drawn) == len(data)
    share = sum(drawn) / len(drawn)
    assert share > 0.8  # ~half the points are class 1; weighted 10:1 they make up ~90%


def test_threads_and_device():
    before = torch.get_num_threads()
    try:
        assert set_threads(1) == 1 == torch.get_num_threads()
        assert set_threads(load_settings(".", threads=2)) == 2
        assert set_threads(None) == 2
        with pytest.raises(ValueError, match="at least 1"):
            set_threads(0)
    finally:
        torch.set_num_threads(before)
    assert pick_device("cpu") == torch.device("cpu")
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert pick_device().type == pick_device("auto").type == expected


def test_shipped_minilm_weights_are_found(tmp_path):
    folder = minilm_path()
    assert (folder / "model.safetensors").is_file() and (folder / "vocab.txt").is_file()
    assert resolve("minilm") == folder
    with pytest.raises(WeightsMissing, match=r"not a model folder \(missing config.json"):
        resolve(tmp_path)
