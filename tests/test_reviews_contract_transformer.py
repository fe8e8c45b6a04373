"""The transformer tier passes the sentiment contract (a tiny BERT, trained in seconds)."""

from __future__ import annotations

from reviews_contract import SentimentContract
from shopmind.reviews.transformer import EncoderConfig, TransformerSentiment

TINY = EncoderConfig(
    hidden_size=32, num_layers=2, num_heads=2, intermediate_size=64, max_positions=128, dropout=0.0
)


def tiny_model(**params) -> TransformerSentiment:
    """MiniLM's tokenizer with random tiny weights: 2 layers, 32 wide, 1 thread."""
    defaults = dict(config=TINY, epochs=10, lr=1e-3, batch_size=32, seed=0, threads=1)
    return TransformerSentiment(**{**defaults, **params})


class TestTransformerContract(SentimentContract):
    n_train = 600
    min_accuracy = 0.9
    # Batched rows are padded to the longest in their batch; float32 attention over the
    # padding differs from an unpadded run in the last bits.
    batch_atol = 1e-5

    def make_model(self) -> TransformerSentiment:
        return tiny_model()
