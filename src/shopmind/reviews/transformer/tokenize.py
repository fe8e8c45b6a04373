"""Tokenizers and batching for the transformer tier.

- The English route uses the WordPiece tokenizer that ships with its model folder.
- Chinese gets a character-level vocabulary built from the store's own text
  (``build_char_vocab``): every Han character is a token, as in Google's Chinese BERT,
  and other letters and digits are spelled one character at a time (``x`` then ``##x``)
  so "iPhone" or "5G" survive instead of becoming ``[UNK]``. It is wrapped in Hugging
  Face's ``BertTokenizer``, whose pre-tokenizer already splits Han characters apart, so
  it saves and loads like any other tokenizer folder.
- ``encode`` truncates to ``max_length`` tokens and says which texts were cut;
  ``length_batches`` groups texts of similar length so little compute goes to padding.
"""

from __future__ import annotations

import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path

import torch
from transformers import BertTokenizer

SPECIALS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")


def load_tokenizer(folder: str | Path) -> BertTokenizer:
    return BertTokenizer.from_pretrained(str(folder))


def _is_han(ch: str) -> bool:
    cp = ord(ch)
    return (
        0x4E00 <= cp <= 0x9FFF
        or 0x3400 <= cp <= 0x4DBF
        or 0xF900 <= cp <= 0xFAFF
        or 0x20000 <= cp <= 0x3134F
    )


def build_char_vocab(texts: Iterable[str], max_size: int = 8000, min_count: int = 2) -> list[str]:
    """Special tokens, then characters by frequency (ties by code point) up to ``max_size``.

    Characters are counted after the tokenizer's own normalisation (lower case, accents
    stripped). Letters and digits outside the Han block also get a ``##`` continuation
    entry, so a word such as "iphone" is spelled out rather than lost.
    """
    normalizer = char_tokenizer(list(SPECIALS)).backend_tokenizer.normalizer
    counts: Counter[str] = Counter()
    for text in texts:
        counts.update(ch for ch in normalizer.normalize_str(nfkc(text)) if not ch.isspace())
    chars = [c for c, n in counts.items() if n >= min_count]
    chars.sort(key=lambda c: (-counts[c], ord(c)))
    vocab = list(SPECIALS)
    for ch in chars:
        if len(vocab) >= max_size:
            break
        vocab.append(ch)
        if ch.isalnum() and not _is_han(ch) and len(vocab) < max_size:
            vocab.append("##" + ch)
    return vocab


def char_tokenizer(vocab: Sequence[str]) -> BertTokenizer:
    """A ``BertTokenizer`` over a character vocabulary from ``build_char_vocab``."""
    return BertTokenizer(
        vocab={token: i for i, token in enumerate(vocab)},
        do_lower_case=True,
        tokenize_chinese_chars=True,
        model_max_length=512,
    )


def encode(
    tokenizer: BertTokenizer, texts: Sequence[str], max_length: int
) -> tuple[list[list[int]], list[bool]]:
    """Token ids (with [CLS] … [SEP]) of each text, cut to ``max_length``; and which were cut."""
    room = max_length - 2
    texts = [nfkc(t) for t in texts]
    # one token more than fits tells a cut text from one that fits exactly
    ids = tokenizer(texts, add_special_tokens=False, truncation=True, max_length=room + 1)
    cls, sep = tokenizer.cls_token_id, tokenizer.sep_token_id
    rows = ids["input_ids"]
    return [[cls, *row[:room], sep] for row in rows], [len(row) > room for row in rows]


def length_batches(lengths: Sequence[int], batch_size: int) -> list[list[int]]:
    """Row indices sorted by length, in batches; scoring order is restored by the caller."""
    order = sorted(range(len(lengths)), key=lambda i: lengths[i])
    return [order[i : i + batch_size] for i in range(0, len(order), batch_size)]


def pad(rows: Sequence[Sequence[int]], pad_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(input_ids, attention_mask), both (batch, longest row)."""
    width = max(len(r) for r in rows)
    ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for i, row in enumerate(rows):
        ids[i, : len(row)] = torch.as_tensor(row, dtype=torch.long)
        mask[i, : len(row)] = 1
    return ids, mask


def nfkc(text: str) -> str:
    """Full-width letters and digits (common in Chinese reviews) to their plain forms."""
    return unicodedata.normalize("NFKC", text)
