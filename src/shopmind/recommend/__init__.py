"""Recommendations: models behind one interface, serving rules, reasons, evaluation.

Models (``MODELS``; each ``fit(interactions) -> self``, ``recommend(user_or_sequence, n,
filters) -> (item_ids, scores, reasons)``, ``save`` / ``load`` without pickle):

- ``popular`` — time-decayed popularity (the fallback for shoppers nobody knows);
- ``itemknn`` — item-to-item co-occurrence ("viewed together", "bought together");
- ``als`` — implicit-feedback matrix factorisation (the ``implicit`` library);
- ``content`` — MiniLM vectors of the items' text (new items with no interactions);
- ``sasrec`` — the transformer over each shopper's item sequence.
"""

from __future__ import annotations

from shopmind.recommend.als import ALSRecommender
from shopmind.recommend.base import Recommendations, Recommender, RecommendError
from shopmind.recommend.content import ContentRecommender
from shopmind.recommend.data import Interactions, InteractionsError, read_sequences
from shopmind.recommend.itemknn import ItemKNNRecommender
from shopmind.recommend.popular import PopularRecommender
from shopmind.recommend.rules import Filters, ItemTable
from shopmind.recommend.sasrec import SASRecRecommender

_KINDS = (PopularRecommender, ItemKNNRecommender, ALSRecommender, ContentRecommender,
          SASRecRecommender)  # fmt: skip
MODELS: dict[str, type[Recommender]] = {m.name: m for m in _KINDS}

__all__ = [
    "MODELS", "ALSRecommender", "ContentRecommender", "Filters", "Interactions",
    "InteractionsError", "ItemKNNRecommender", "ItemTable", "PopularRecommender",
    "RecommendError", "Recommendations", "Recommender", "SASRecRecommender", "read_sequences",
]  # fmt: skip
