"""The content studio's guards: channel specs, the fact guard and variant scores.

Everything here is pure logic — no language model. Every generated variant passes
through it before it is returned (issue 9, item 4):

- :mod:`~shopmind.content.channels` — one :class:`Spec` per task (``SPECS``): fields,
  hard and soft limits, ``validate`` and rule-based ``repair``;
- :mod:`~shopmind.content.facts` — :class:`FactGuard`: numbers, materials,
  certifications, warranties, compatibility and superlatives checked against the
  product's facts, and ``strip_unsupported``;
- :mod:`~shopmind.content.scoring` — spec, coverage, fluency and diversity scores, the
  ranking and the reasons for drops;
- :mod:`~shopmind.content.guard` — ``guard_variant``: repair, cut, re-check in one call.

Documented in docs/content.md.
"""

from __future__ import annotations

from shopmind.content.channels import SPECS, TASKS, faq_jsonld, validate
from shopmind.content.facts import (
    Claim,
    FactGuard,
    ProductFacts,
    check_claims,
    strip_unsupported,
    unsupported_claims,
)
from shopmind.content.guard import Guarded, guard_variant
from shopmind.content.repair import Repair, repair
from shopmind.content.scoring import Ranking, Scores, score_variants
from shopmind.content.spec import Field, Problem, Spec
from shopmind.content.vocabulary import Vocabulary, load_vocabulary

__all__ = [
    "SPECS",
    "TASKS",
    "Claim",
    "FactGuard",
    "Field",
    "Guarded",
    "Problem",
    "ProductFacts",
    "Ranking",
    "Repair",
    "Scores",
    "Spec",
    "Vocabulary",
    "check_claims",
    "faq_jsonld",
    "guard_variant",
    "load_vocabulary",
    "repair",
    "score_variants",
    "strip_unsupported",
    "unsupported_claims",
    "validate",
]
