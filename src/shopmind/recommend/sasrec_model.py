"""SASRec: causal self-attention over a shopper's item sequence (Kang & McAuley 2018).

Item ids are 1 … n_items (0 pads). Sequences are padded on the right, so the causal
mask alone keeps padding out of every real position's view and no key-padding mask is
needed. Positions count back from each sequence's latest item (``positions="end"``, what
the original's left padding amounts to: the item a prediction is made from is always at
position 0 when scoring) or forward from its first (``"start"``). The output layer is the item
embedding itself (tied): the score of item ``i`` after position ``t`` is ``h_t · e_i``.

The loss is computed at real positions only: full cross-entropy over the whole catalog
(``negatives=0``), or a sampled softmax over the target and ``negatives`` items drawn
uniformly for the batch (for very large catalogs).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F


@dataclass
class SASRecConfig:
    n_items: int  # real items; embedding rows are n_items + 1 (0 pads)
    max_len: int = 50
    hidden: int = 64
    layers: int = 2
    heads: int = 1
    dropout: float = 0.5
    ffn: int = 1  # the feed-forward's width in multiples of hidden
    init_std: float = 0.0  # normal(0, init_std) weights; 0: Glorot normal, as the original
    bf16: bool = False  # training: matrix products in bfloat16 (autocast), the loss in float32
    positions: str = "end"  # "end": counted back from the latest item (0); "start": from the first


class Block(nn.Module):
    """The block of the original SASRec: the normalised input is the attention's query
    and its residual, keys and values are the un-normalised input; then a ReLU
    feed-forward with dropout inside, added to its normalised input."""

    def __init__(self, config: SASRecConfig) -> None:
        super().__init__()
        h, w = config.hidden, config.hidden * config.ffn
        self.heads = config.heads
        self.norm1 = nn.LayerNorm(h, eps=1e-8)
        self.q = nn.Linear(h, h)
        self.kv = nn.Linear(h, 2 * h)
        self.proj = nn.Linear(h, h)
        self.norm2 = nn.LayerNorm(h, eps=1e-8)
        self.ff = nn.Sequential(
            nn.Linear(h, w), nn.Dropout(config.dropout), nn.ReLU(), nn.Linear(w, h),
            nn.Dropout(config.dropout),
        )  # fmt: skip
        self.p_attn = config.dropout

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (batch, seq, hidden)
        b, t, h = x.shape
        y = self.norm1(x)
        q = self.q(y)
        k, v = self.kv(x).split(h, dim=2)
        q, k, v = (z.view(b, t, self.heads, h // self.heads).transpose(1, 2) for z in (q, k, v))
        a = F.scaled_dot_product_attention(
            q, k, v, is_causal=True, dropout_p=self.p_attn if self.training else 0.0
        )  # (batch, heads, seq, hidden / heads)
        y = self.norm2(y + self.proj(a.transpose(1, 2).reshape(b, t, h)))
        return y + self.ff(y)


class SASRec(nn.Module):
    def __init__(self, config: SASRecConfig) -> None:
        super().__init__()
        self.config = config
        self.items = nn.Embedding(config.n_items + 1, config.hidden, padding_idx=0)
        self.positions = nn.Embedding(config.max_len, config.hidden)
        self.dropout = nn.Dropout(config.dropout)
        self.blocks = nn.ModuleList(Block(config) for _ in range(config.layers))
        self.norm = nn.LayerNorm(config.hidden, eps=1e-8)
        self.apply(self._init)

    def _init(self, module: nn.Module) -> None:
        std = self.config.init_std
        if isinstance(module, nn.Linear | nn.Embedding):
            if std > 0:
                nn.init.normal_(module.weight, std=std)
            else:  # Glorot normal, as the original
                nn.init.xavier_normal_(module.weight)
            if isinstance(module, nn.Linear):
                nn.init.zeros_(module.bias)
        if isinstance(module, nn.Embedding) and module.padding_idx is not None:
            module.weight.data[module.padding_idx].zero_()

    def hidden(self, items: torch.Tensor) -> torch.Tensor:
        """(batch, seq) item ids → (batch, seq, hidden) states."""
        t = items.shape[1]
        pos = torch.arange(t, device=items.device).expand_as(items)  # (batch, seq)
        if self.config.positions == "end":  # the latest item is 0, the one before 1, …
            lengths = (items > 0).sum(1, keepdim=True)  # (batch, 1); right-padded
            pos = (lengths - 1 - pos).clamp(min=0)
        x = self.items(items) * self.config.hidden**0.5 + self.positions(pos)
        x = self.dropout(x)
        for block in self.blocks:
            x = block(x)
        return self.norm(x)

    def forward(
        self,
        items: torch.Tensor,
        targets: torch.Tensor | None = None,
        negatives: int = 0,
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """``items`` (batch, seq), right-padded with 0; ``targets`` (batch, seq) the next
        item at each position (0: none). Returns (logits at the real positions
        (positions, n_items) or at every position when no targets, loss)."""
        bf16 = self.config.bf16 and self.training
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            h = self.hidden(items)  # (batch, seq, hidden)
            table = self.items.weight[1:]  # (n_items, hidden)
            if targets is None:
                return (h @ table.T).float(), None
            real = targets > 0
            h = h[real]  # (positions, hidden)
            gold = targets[real] - 1  # (positions,) 0-based item index
            if negatives <= 0:
                logits = (h @ table.T).float()  # (positions, n_items)
                return logits, F.cross_entropy(logits, gold)
        h, table = h.float(), table.float()
        sampled = torch.randint(0, table.shape[0], (negatives,), device=h.device)
        positive = (h * table[gold]).sum(-1, keepdim=True)  # (positions, 1)
        negative = h @ table[sampled].T  # (positions, negatives)
        negative = negative.masked_fill(sampled[None, :] == gold[:, None], float("-inf"))
        logits = torch.cat([positive, negative], dim=1)
        return logits, F.cross_entropy(logits, torch.zeros_like(gold))

    @torch.inference_mode()
    def last_hidden(self, items: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """(batch, hidden): the state after each right-padded sequence's last item."""
        h = self.hidden(items)
        return h[torch.arange(items.shape[0], device=items.device), lengths - 1]
