"""Both guards on one variant, with rule-based repair: what every returned text passes.

:func:`guard_variant` repairs the fields by the channel's rules, removes unsupported
claims (a text field loses the sentence or clause, a list loses the item, an article
loses the FAQ entry or section whose heading or question carries one), repairs again,
and reports whether the variant may be returned. HTML is not cut: an HTML field with an
unsupported claim leaves the variant failing (to be regenerated or dropped).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from shopmind.content.channels import SPECS
from shopmind.content.facts import Claim, FactGuard
from shopmind.content.spec import Problem
from shopmind.content.strip import strip_unsupported


@dataclass(frozen=True)
class Guarded:
    """The variant after both guards. ``ok``: it may be returned as ``fields``."""

    fields: dict[str, Any]
    ok: bool
    problems: list[Problem] = field(default_factory=list)  # errors left, and warnings
    unsupported: list[Claim] = field(default_factory=list)  # claims left
    removed: list[Claim] = field(default_factory=list)  # claims cut out
    changes: list[str] = field(default_factory=list)


def guard_variant(task: str, fields: Mapping[str, Any], guard: FactGuard) -> Guarded:
    """Repair ``fields`` for ``task`` and cut unsupported claims; never adds text."""
    spec = SPECS[task]
    first = spec.repair(fields)
    changes = list(first.changes)
    out, removed = _cut_claims(spec.task, first.fields, guard, changes)
    second = spec.repair(out)
    changes += second.changes
    left = guard.unsupported(spec.text(second.fields))
    return Guarded(second.fields, second.ok and not left, second.problems, left, removed, changes)


def _cut_claims(
    task: str, fields: dict[str, Any], guard: FactGuard, changes: list[str]
) -> tuple[dict[str, Any], list[Claim]]:
    spec = SPECS[task]
    out = {k: list(v) if isinstance(v, list) else v for k, v in fields.items()}
    removed: list[Claim] = []
    drop: dict[str, set[int]] = {}
    for name, index, key, text in spec.texts(fields):
        bad = guard.unsupported(text)
        if not bad:
            continue
        spec_field = spec.field(name)
        sub = next((s for s in spec_field.record if s.name == key), None)
        if spec_field.kind == "html":
            continue
        removed += bad
        if index is None:
            out[name] = strip_unsupported(text, bad)
            changes.append(f"{name}: cut unsupported claims")
        elif sub is not None and not sub.single_line:
            record = dict(out[name][index])
            record[key] = strip_unsupported(text, bad)
            out[name][index] = record
            changes.append(f"{name}[{index}].{key}: cut unsupported claims")
        else:
            drop.setdefault(name, set()).add(index)
            changes.append(f"{name}[{index}]: dropped, it holds unsupported claims")
    for name, indexes in drop.items():
        out[name] = [item for i, item in enumerate(out[name]) if i not in indexes]
    return out, removed
