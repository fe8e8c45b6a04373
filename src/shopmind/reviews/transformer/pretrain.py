"""Domain pretraining: the original BERT recipe on a store's own unlabelled text.

Two objectives, trained together (``BertForPreTraining`` heads, see ``PretrainNet``):

- masked language model: 15% of the tokens are chosen; of those 80% become ``[MASK]``,
  10% a random token and 10% stay as they are; the model predicts the originals.
  Masks are drawn afresh for every batch (dynamic masking).
- next-sentence prediction: each example is a pair (A, B) cut from one review or
  product description at a sentence boundary (or, for one-sentence texts, at a word
  boundary); half the time B is replaced by text from another document, and the model
  says which.

``pretrain(texts, out)`` continues the shipped English MiniLM on the non-Chinese texts
(saved in ``out``) and, given enough Chinese text, trains a character-level Chinese BERT
from scratch (saved in ``out/zh``). ``TransformerSentiment(init_from=out)`` starts from
both. Each folder holds ``model.safetensors``, ``config.json``, the tokenizer files and
``pretrain.json`` (what was trained, on how much, and the loss history).
"""

from __future__ import annotations

import json
import random
import re
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from transformers import BertForPreTraining, BertTokenizer

from shopmind.models.device import set_threads
from shopmind.models.trainer import Trainer, TrainerConfig
from shopmind.models.weights import MINILM, resolve
from shopmind.reviews.routing import prepare_texts
from shopmind.reviews.transformer.model import (
    ZH_CHAR,
    EncoderConfig,
    PretrainNet,
    load_pretrainer,
    new_pretrainer,
    quiet,
)
from shopmind.reviews.transformer.tokenize import (
    build_char_vocab,
    char_tokenizer,
    load_tokenizer,
    nfkc,
)

_SENTENCE = re.compile(r"(?<=[.!?。！？；;…])\s*|\n+")
ZH_MIN_TEXTS = 200
"""Fewer Chinese texts than this are not enough to train a Chinese model from scratch."""

Progress = Callable[[int, float], Any] | None


def split_sentences(text: str) -> list[str]:
    """Sentences of a text (split after . ! ? 。！？ ; … and at line breaks), empties dropped."""
    return [s.strip() for s in _SENTENCE.split(text) if s and s.strip()]


@dataclass
class Pair:
    a: list[int]  # token ids of sentence A
    b: list[int]  # token ids of sentence B
    is_random: int  # 0: B follows A in the same text; 1: B comes from another text


def make_pairs(
    docs: Sequence[Sequence[list[int]]],
    max_tokens: int,
    rng: random.Random,
    starts_word: Sequence[bool],
    nsp: bool = True,
) -> list[Pair]:
    """(A, B) pairs from documents given as lists of tokenised sentences.

    A long document is first cut into chunks of whole sentences up to ``max_tokens``;
    each chunk gives one pair. ``starts_word[id]`` says whether a token can begin a word
    (WordPiece ``##`` pieces cannot), so a split never lands inside a word.
    """
    chunks = [(d, c) for d, doc in enumerate(docs) for c in _chunks(doc, max_tokens)]
    if not nsp:  # masked LM only: each chunk is one segment
        return [Pair(_flat(c)[:max_tokens], [], 0) for _, c in chunks]
    pairs = []
    for doc_id, sentences in chunks:
        a, b = _split(sentences, rng, starts_word)
        if not a or not b:
            continue
        is_random = 0
        if len(docs) > 1 and rng.random() < 0.5:
            other = _other_chunk(chunks, doc_id, rng)
            if other is not None:
                b, is_random = other, 1
        a, b = _trim(a, b, max_tokens)
        pairs.append(Pair(a, b, is_random))
    return pairs


def _chunks(sentences: Sequence[list[int]], max_tokens: int) -> list[list[list[int]]]:
    out: list[list[list[int]]] = [[]]
    size = 0
    for s in sentences:
        if out[-1] and size + len(s) > max_tokens:
            out.append([])
            size = 0
        out[-1].append(s)
        size += len(s)
    return [c for c in out if c]


def _split(
    sentences: list[list[int]], rng: random.Random, starts_word: Sequence[bool]
) -> tuple[list[int], list[int]]:
    if len(sentences) >= 2:
        k = rng.randint(1, len(sentences) - 1)
        return _flat(sentences[:k]), _flat(sentences[k:])
    tokens = sentences[0]
    cuts = [i for i in range(1, len(tokens)) if starts_word[tokens[i]]]
    if not cuts:
        return tokens, []
    k = rng.choice(cuts)
    return tokens[:k], tokens[k:]


def _other_chunk(
    chunks: list[tuple[int, list[list[int]]]], doc_id: int, rng: random.Random
) -> list[int] | None:
    for _ in range(10):
        other_doc, sentences = chunks[rng.randrange(len(chunks))]
        if other_doc != doc_id:
            start = rng.randrange(len(sentences))
            return _flat(sentences[start:])
    return None


def _trim(a: list[int], b: list[int], max_tokens: int) -> tuple[list[int], list[int]]:
    """Shorten the longer side until the pair fits: A loses its start, B its end."""
    while len(a) + len(b) > max_tokens:
        if len(a) > len(b):
            a = a[1:]
        else:
            b = b[:-1]
    return a, b


def _flat(sentences: Sequence[list[int]]) -> list[int]:
    return [t for s in sentences for t in s]


def mask_tokens(
    input_ids: torch.Tensor,  # (batch, seq)
    maskable: torch.Tensor,  # (batch, seq) bool: real, non-special tokens
    mask_id: int,
    vocab_size: int,
    probability: float = 0.15,
) -> tuple[torch.Tensor, torch.Tensor]:
    """BERT masking: choose ``probability`` of the tokens; 80% → [MASK], 10% random, 10% kept.

    Returns (masked input_ids, labels) with labels -100 where nothing is predicted. At
    least one token per batch is chosen so the loss is always defined.
    """
    chosen = torch.bernoulli(torch.full(input_ids.shape, probability)).bool() & maskable
    if not chosen.any():
        candidates = maskable.nonzero()
        chosen[tuple(candidates[torch.randint(len(candidates), (1,))][0])] = True
    labels = torch.where(chosen, input_ids, torch.full_like(input_ids, -100))
    ids = input_ids.clone()
    to_mask = chosen & torch.bernoulli(torch.full(ids.shape, 0.8)).bool()
    ids[to_mask] = mask_id
    to_random = chosen & ~to_mask & torch.bernoulli(torch.full(ids.shape, 0.5)).bool()
    ids[to_random] = torch.randint(vocab_size, ids.shape)[to_random]
    return ids, labels


class PairCollate:
    """Pairs → a masked batch: [CLS] A [SEP] B [SEP], segment ids, labels, NSP labels."""

    def __init__(self, tokenizer: BertTokenizer, probability: float, nsp: bool):
        self.cls, self.sep = tokenizer.cls_token_id, tokenizer.sep_token_id
        self.pad, self.mask = tokenizer.pad_token_id, tokenizer.mask_token_id
        self.vocab_size = len(tokenizer)
        self.probability = probability
        self.nsp = nsp

    def __call__(self, pairs: list[Pair]) -> dict[str, torch.Tensor]:
        width = max(len(p.a) + len(p.b) + (3 if self.nsp else 2) for p in pairs)
        ids = torch.full((len(pairs), width), self.pad, dtype=torch.long)
        segments = torch.zeros_like(ids)
        maskable = torch.zeros_like(ids, dtype=torch.bool)
        for i, p in enumerate(pairs):
            row = [self.cls, *p.a, self.sep] + ([*p.b, self.sep] if self.nsp else [])
            ids[i, : len(row)] = torch.as_tensor(row)
            segments[i, len(p.a) + 2 : len(row)] = 1
            maskable[i, 1 : len(p.a) + 1] = True
            if self.nsp:
                maskable[i, len(p.a) + 2 : len(row) - 1] = True
        masked, labels = mask_tokens(ids, maskable, self.mask, self.vocab_size, self.probability)
        batch = {
            "input_ids": masked,
            "token_type_ids": segments,
            "attention_mask": (ids != self.pad).long(),
            "labels": labels,
        }
        if self.nsp:
            batch["next_sentence_label"] = torch.as_tensor([p.is_random for p in pairs])
        return batch


def tokenize_docs(
    tokenizer: BertTokenizer, texts: Sequence[str], max_tokens: int = 512
) -> list[list[list[int]]]:
    """Each text as a list of sentences, each sentence as token ids (no special tokens)."""
    per_doc = [split_sentences(nfkc(t)) for t in texts]
    flat = [s for doc in per_doc for s in doc]
    if not flat:
        return []
    ids = tokenizer(flat, add_special_tokens=False, truncation=True, max_length=max_tokens)
    ids = ids["input_ids"]
    out, i = [], 0
    for doc in per_doc:
        sentences = [s for s in ids[i : i + len(doc)] if s]
        i += len(doc)
        if sentences:
            out.append(sentences)
    return out


def run_pretraining(
    net: BertForPreTraining,
    tokenizer: BertTokenizer,
    texts: Sequence[str],
    config: TrainerConfig,
    *,
    max_length: int = 128,
    nsp: bool = True,
    mlm_probability: float = 0.15,
    progress: Progress = None,
) -> dict[str, Any]:
    """Train ``net`` in place on (already cleaned) ``texts``; return what was done."""
    vocab = tokenizer.convert_ids_to_tokens(list(range(len(tokenizer))))
    starts_word = [not str(t).startswith("##") for t in vocab]
    rng = random.Random(config.seed)
    budget = max_length - (3 if nsp else 2)
    pairs = make_pairs(tokenize_docs(tokenizer, texts, budget), budget, rng, starts_word, nsp)
    if not pairs:
        raise ValueError("no text long enough to pretrain on (every text is one token)")
    model = PretrainNet(net)
    collate = PairCollate(tokenizer, mlm_probability, nsp)
    lengths = [len(p.a) + len(p.b) for p in pairs]
    trainer = Trainer(config, model, pairs, collate, lengths=lengths)
    parts: list[dict[str, float]] = []
    trainer.add_callback("on_batch_end", lambda t: parts.append(dict(model.parts)))
    if progress is not None:
        trainer.add_callback("on_batch_end", lambda t: progress(t.step, t.loss))
    history = trainer.run()
    for step, part in zip(history["steps"], parts, strict=True):
        step.update(part)
    return {
        "texts": len(texts),
        "pairs": len(pairs),
        "random_pairs": sum(p.is_random for p in pairs),
        "nsp": nsp,
        "mlm_probability": mlm_probability,
        "max_length": max_length,
        "history": history,
    }


def pretrain_encoder(
    texts: Sequence[str],
    out: str | Path,
    *,
    start: str | Path | None = MINILM,
    config: EncoderConfig | None = None,
    vocab_size: int = 8000,
    max_length: int = 128,
    nsp: bool = True,
    mlm_probability: float = 0.15,
    epochs: int = 1,
    max_steps: int | None = None,
    batch_size: int = 32,
    lr: float | None = None,
    seed: int = 0,
    threads: int | None = 2,
    time_budget_s: float | None = None,
    progress: Progress = None,
) -> dict[str, Any]:
    """Pretrain one encoder on ``texts`` and save it in ``out``; returns the summary.

    ``start``: a model folder or ``"minilm"`` (continue its weights, keep its tokenizer),
    or None (a new character vocabulary from ``texts`` and random weights of ``config``,
    default ``ZH_CHAR``). With ``start`` and ``config`` both given, the tokenizer comes from
    ``start`` and the weights start random. ``lr`` defaults to 5e-5 when continuing
    pretrained weights and 5e-4 from scratch.
    """
    set_threads(threads)
    texts = [p.text for p in prepare_texts(texts) if not p.blank]
    if not texts:
        raise ValueError("no text to pretrain on (all texts blank)")
    torch.manual_seed(seed)  # fresh heads and scratch weights start the same every run
    tokenizer, net, scratch = _encoder(texts, start, config, vocab_size)
    trainer_config = TrainerConfig(
        epochs=epochs,
        max_steps=max_steps,
        batch_size=batch_size,
        lr=lr if lr is not None else (5e-4 if scratch else 5e-5),
        seed=seed,
        time_budget_s=time_budget_s,
        threads=threads,
    )
    summary = {
        "start": str(start) if start is not None else None,
        "scratch": scratch,
        "config": config.to_dict() if config else None,
        **run_pretraining(
            net,
            tokenizer,
            texts,
            trainer_config,
            max_length=max_length,
            nsp=nsp,
            mlm_probability=mlm_probability,
            progress=progress,
        ),
    }
    _save(out, net.cpu(), tokenizer, summary)
    return summary


def _encoder(
    texts: Sequence[str], start: str | Path | None, config: EncoderConfig | None, vocab_size: int
) -> tuple[BertTokenizer, Any, bool]:
    """(tokenizer, BertForPreTraining, trained from scratch?) for ``pretrain_encoder``."""
    if start is None:
        tokenizer = char_tokenizer(build_char_vocab(texts, max_size=vocab_size))
        return tokenizer, new_pretrainer(config or ZH_CHAR, len(tokenizer)), True
    folder = resolve(start)
    tokenizer = load_tokenizer(folder)
    if config is not None:
        return tokenizer, new_pretrainer(config, len(tokenizer)), True
    return tokenizer, load_pretrainer(folder), False


def _save(out: str | Path, net: Any, tokenizer: BertTokenizer, summary: dict[str, Any]) -> None:
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    with quiet():
        net.save_pretrained(folder)
        tokenizer.save_pretrained(folder)
    (folder / "pretrain.json").write_text(json.dumps(summary, indent=1), encoding="utf-8")


def pretrain(
    texts: Sequence[str],
    out: str | Path,
    *,
    language: str = "auto",
    init_from: str | Path | None = None,
    config: EncoderConfig | None = None,
    zh_config: EncoderConfig = ZH_CHAR,
    zh_min_texts: int = ZH_MIN_TEXTS,
    time_budget_s: float | None = 600.0,
    **params: Any,
) -> dict[str, Any]:
    """Domain-pretrain on a store's text; returns a summary per language route.

    ``language="auto"`` splits the texts by detected language: Chinese texts (at least
    ``zh_min_texts``) train a character-level BERT of ``zh_config`` size saved in
    ``out/zh``; all others continue ``init_from`` (default: the shipped MiniLM; with
    ``config``, random weights of that size) saved in ``out``. ``"en"`` or ``"zh"`` sends
    every text to that route and saves it in ``out`` itself. ``time_budget_s`` caps each
    route's training (seconds); other keywords go to ``pretrain_encoder`` (``max_steps``,
    ``epochs``, ``batch_size``, ``lr``, ``seed``, ``threads`` …).
    """
    if language not in ("auto", "en", "zh"):
        raise ValueError(f"language must be 'auto', 'en' or 'zh', got {language!r}")
    out = Path(out)
    en = {"start": init_from if init_from is not None else MINILM, "config": config}
    zh = {"start": None, "config": zh_config}
    params["time_budget_s"] = time_budget_s
    if language != "auto":
        route = en if language == "en" else zh
        return {language: pretrain_encoder(texts, out, **route, **params)}
    routed: dict[str, list[str]] = {"en": [], "zh": []}
    for p in prepare_texts(texts):
        if not p.blank:
            routed["zh" if p.language == "zh" else "en"].append(p.text)
    if (out / "zh" / "pretrain.json").is_file():
        shutil.rmtree(out / "zh")  # an earlier run's Chinese model must not outlive this one
    summary: dict[str, Any] = {}
    if routed["en"]:
        summary["en"] = pretrain_encoder(routed["en"], out, **en, **params)
    if len(routed["zh"]) >= zh_min_texts:
        summary["zh"] = pretrain_encoder(routed["zh"], out / "zh", **zh, **params)
    elif routed["zh"]:
        summary["zh_skipped"] = f"{len(routed['zh'])} Chinese texts (need {zh_min_texts})"
    if not set(summary) - {"zh_skipped"}:
        raise ValueError(f"nothing to pretrain on: {summary.get('zh_skipped', 'all texts blank')}")
    return summary


def masked_predictions(
    folder: str | Path, texts: Sequence[str], top_k: int = 1
) -> list[list[list[str]]]:
    """For each text, the ``top_k`` tokens a pretrained folder predicts at each ``[MASK]``."""
    tokenizer = load_tokenizer(folder)
    net = load_pretrainer(folder).eval()
    out = []
    with torch.inference_mode():
        for text in texts:
            enc = tokenizer(text, return_tensors="pt")
            logits = net(**enc).prediction_logits[0]  # (seq, vocab)
            where = (enc["input_ids"][0] == tokenizer.mask_token_id).nonzero().flatten()
            top = logits[where].topk(top_k, dim=-1).indices  # (n_masks, top_k)
            out.append([tokenizer.convert_ids_to_tokens(row.tolist()) for row in top])
    return out
