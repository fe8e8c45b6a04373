"""The networks of the transformer tier, built on Hugging Face's BERT classes.

- ``SentimentNet``: ``BertForSequenceClassification`` (3 labels) with a class-weighted
  cross-entropy, so the usual pile of 5-star reviews does not drown the rare classes.
- ``BertForPreTraining`` (masked LM + next-sentence prediction) for domain pretraining;
  ``pretrain.py`` feeds it.

Both start either from a model folder (the shipped all-MiniLM-L6-v2, or one written by
``pretrain``) or from random weights of an ``EncoderConfig`` size (the Chinese
character-level model, tests). Weights load from safetensors only, never pickle.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from transformers import BertConfig, BertForPreTraining, BertForSequenceClassification
from transformers.modeling_outputs import SequenceClassifierOutput
from transformers.utils import logging as hf_logging

from shopmind.reviews.base import LABELS


@dataclass
class EncoderConfig:
    """Size of a BERT encoder trained from scratch (the vocabulary comes from its tokenizer)."""

    hidden_size: int = 256
    num_layers: int = 4
    num_heads: int = 4
    intermediate_size: int = 1024
    max_positions: int = 256
    dropout: float = 0.1

    def to_bert(self, vocab_size: int, pad_token_id: int = 0) -> BertConfig:
        return BertConfig(
            vocab_size=vocab_size,
            hidden_size=self.hidden_size,
            num_hidden_layers=self.num_layers,
            num_attention_heads=self.num_heads,
            intermediate_size=self.intermediate_size,
            max_position_embeddings=self.max_positions,
            hidden_dropout_prob=self.dropout,
            attention_probs_dropout_prob=self.dropout,
            type_vocab_size=2,
            pad_token_id=pad_token_id,
        )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# The Chinese character-level encoder: 4 layers, 256 wide (~3M parameters plus the
# character embeddings), small enough to pretrain and fine-tune on a 2-core CPU.
ZH_CHAR = EncoderConfig()


def label_maps() -> dict[str, Any]:
    return {
        "num_labels": len(LABELS),
        "id2label": dict(enumerate(LABELS)),
        "label2id": {name: i for i, name in enumerate(LABELS)},
    }


POOLING = ("mean", "cls")


class BertMeanPoolForSequenceClassification(BertForSequenceClassification):
    """``BertForSequenceClassification`` whose head reads the mean of the token states.

    all-MiniLM-L6-v2 was trained as a sentence encoder through mean pooling; its [CLS]
    pooler was not, so the mean is the better starting point (on Women's Clothing a
    linear probe on frozen mean-pooled states beats one on the pooler output by ~0.27
    macro-F1). Same weights and keys as the parent; only ``forward`` differs. Hugging
    Face's ``Auto`` classes do not know this class: pass the model object to a pipeline.
    """

    def forward(
        self,
        input_ids: torch.Tensor | None = None,  # (batch, seq)
        attention_mask: torch.Tensor | None = None,  # (batch, seq), 1 = real token
        token_type_ids: torch.Tensor | None = None,
        inputs_embeds: torch.Tensor | None = None,  # (batch, seq, hidden)
        labels: torch.Tensor | None = None,  # (batch,)
        **kwargs: Any,
    ) -> SequenceClassifierOutput:
        hidden = self.bert(
            input_ids=input_ids,
            attention_mask=attention_mask,
            token_type_ids=token_type_ids,
            inputs_embeds=inputs_embeds,
        ).last_hidden_state  # (batch, seq, hidden)
        if attention_mask is None:
            attention_mask = torch.ones(hidden.shape[:2], device=hidden.device)
        mask = attention_mask.unsqueeze(-1).to(hidden.dtype)  # (batch, seq, 1)
        pooled = (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1.0)  # (batch, hidden)
        logits = self.classifier(self.dropout(pooled))  # (batch, 3)
        loss = None if labels is None else F.cross_entropy(logits, labels)
        return SequenceClassifierOutput(loss=loss, logits=logits)


def _classifier_class(pooling: str) -> type[BertForSequenceClassification]:
    if pooling not in POOLING:
        raise ValueError(f"pooling must be 'mean' or 'cls', got {pooling!r}")
    return (
        BertMeanPoolForSequenceClassification
        if pooling == "mean"
        else BertForSequenceClassification
    )


def load_classifier(
    folder: str | Path, pooling: str | None = None
) -> BertForSequenceClassification:
    """A 3-label classifier from a model folder (a fresh head if the folder has none).

    ``pooling`` None keeps the folder's own (``classifier_pooling`` in its config.json,
    "cls" for folders written elsewhere).
    """
    config = BertConfig.from_pretrained(str(folder))
    pooling = pooling or getattr(config, "classifier_pooling", "cls")
    config.update({**label_maps(), "classifier_pooling": pooling})
    with quiet():
        return _classifier_class(pooling).from_pretrained(
            str(folder), config=config, use_safetensors=True
        )


def new_classifier(
    config: EncoderConfig, vocab_size: int, pooling: str = "mean"
) -> BertForSequenceClassification:
    """A 3-label classifier with random weights of ``config``'s size."""
    bert_config = config.to_bert(vocab_size)
    bert_config.update({**label_maps(), "classifier_pooling": pooling})
    return _classifier_class(pooling)(bert_config)


def load_pretrainer(folder: str | Path) -> BertForPreTraining:
    """Encoder plus MLM and NSP heads from a folder (heads start fresh if it has none)."""
    with quiet():
        return BertForPreTraining.from_pretrained(str(folder), use_safetensors=True)


def new_pretrainer(config: EncoderConfig, vocab_size: int) -> BertForPreTraining:
    return BertForPreTraining(config.to_bert(vocab_size))


class SentimentNet(nn.Module):
    """A sequence classifier whose loss weighs each class (``class_weights``, shape (3,))."""

    def __init__(self, bert: BertForSequenceClassification, class_weights: torch.Tensor | None):
        super().__init__()
        self.bert = bert
        self.register_buffer("class_weights", class_weights, persistent=False)

    def forward(
        self,
        input_ids: torch.Tensor,  # (batch, seq)
        attention_mask: torch.Tensor,  # (batch, seq), 1 = real token
        labels: torch.Tensor | None = None,  # (batch,)
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        logits = self.bert(input_ids=input_ids, attention_mask=attention_mask).logits  # (b, 3)
        loss = None
        if labels is not None:
            loss = F.cross_entropy(logits, labels, weight=self.class_weights)
        return logits, loss


class PretrainNet(nn.Module):
    """BERT's pre-training objective: masked-token loss plus next-sentence loss.

    The vocabulary projection runs only at masked positions (about 15% of tokens), not
    over every position as ``BertForPreTraining.forward`` does; the heads are the same.
    The last step's separate losses are kept in ``parts`` for logging.
    """

    def __init__(self, bert: BertForPreTraining):
        super().__init__()
        self.bert = bert
        self.parts: dict[str, float] = {}

    def forward(
        self,
        input_ids: torch.Tensor,  # (batch, seq), some ids replaced by [MASK] / random ids
        token_type_ids: torch.Tensor,  # (batch, seq), 0 = sentence A, 1 = sentence B
        attention_mask: torch.Tensor,  # (batch, seq)
        labels: torch.Tensor,  # (batch, seq), original id at masked positions, else -100
        next_sentence_label: torch.Tensor | None = None,  # (batch,), 0 = B follows A, 1 = random
    ) -> tuple[torch.Tensor, torch.Tensor]:
        out = self.bert.bert(
            input_ids=input_ids, token_type_ids=token_type_ids, attention_mask=attention_mask
        )
        hidden, pooled = out.last_hidden_state, out.pooler_output  # (b, seq, h), (b, h)
        masked = labels != -100  # (b, seq)
        logits = self.bert.cls.predictions(hidden[masked])  # (n_masked, vocab)
        loss = F.cross_entropy(logits, labels[masked])
        self.parts = {"mlm": float(loss.detach())}
        if next_sentence_label is not None:
            nsp_logits = self.bert.cls.seq_relationship(pooled)  # (b, 2)
            nsp = F.cross_entropy(nsp_logits, next_sentence_label)
            self.parts["nsp"] = float(nsp.detach())
            loss = loss + nsp
        return logits, loss


def class_weights(labels: list[int], mode: str | None, n_classes: int = 3) -> torch.Tensor | None:
    """Loss weights per class: ``balanced`` (n / (k · count)), ``sqrt`` (its square root), None.

    Classes absent from ``labels`` get weight 0 (they never appear in the loss anyway);
    present classes are rescaled so the weights average 1 over the examples.
    """
    if mode is None or mode == "none":
        return None
    if mode not in ("balanced", "sqrt"):
        raise ValueError(f"class_weight must be 'balanced', 'sqrt' or None, got {mode!r}")
    counts = torch.bincount(torch.as_tensor(labels), minlength=n_classes).double()
    present = counts > 0
    weights = torch.zeros(n_classes, dtype=torch.double)
    weights[present] = counts.sum() / (present.sum() * counts[present])
    if mode == "sqrt":
        weights = weights.sqrt()
    weights = weights / (weights * counts).sum() * counts.sum()  # mean weight per example: 1
    return weights.float()


class quiet:
    """Silence transformers' load report and progress bars (loading or saving a folder)."""

    def __enter__(self) -> None:
        self.level = hf_logging.get_verbosity()
        self.bars = hf_logging.is_progress_bar_enabled()
        hf_logging.set_verbosity_error()
        hf_logging.disable_progress_bar()

    def __exit__(self, *exc: object) -> None:
        hf_logging.set_verbosity(self.level)
        if self.bars:
            hf_logging.enable_progress_bar()
