"""The transformer sentiment tier: fine-tuned BERT, domain pretraining, fast scoring.

``TransformerSentiment`` is the tier; ``pretrain`` runs BERT's masked-LM and
next-sentence pretraining on a store's own text and writes a folder the tier can start
from (``TransformerSentiment(init_from=folder)``).
"""

from shopmind.reviews.transformer.classifier import TransformerSentiment
from shopmind.reviews.transformer.model import ZH_CHAR, EncoderConfig
from shopmind.reviews.transformer.pretrain import pretrain, pretrain_encoder

__all__ = ["ZH_CHAR", "EncoderConfig", "TransformerSentiment", "pretrain", "pretrain_encoder"]
