"""Rule-based repair of a variant's fields: it removes, trims and drops; it never writes.

What :func:`repair` does, field by field:

- removes control characters, HTML tags from plain-text fields (keeping their text),
  line breaks from one-line fields and forbidden characters (Amazon's ``! $ ? _ { } ^ ¬
  ¦``); sanitises HTML fields to the allow-list; joins a path's words with ``-``;
- trims a text over its hard limit to the last word boundary that fits (after a Chinese
  character, or at a space), preferring a sentence end, and drops a dangling "and" /
  "的" or separator left at the end;
- in lists: drops empty items, repeated items and, while the minimum count still holds,
  items over the limit (trimming them only where it does not); keeps the first
  ``max_items``;
- drops fields the task does not have.

The result says whether it now passes (:attr:`Repair.ok`); where it cannot — a required
field missing or empty, too few list items, HTML whose text is too long — the remaining
problems say why. Soft limits are left alone: they only lower the score.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from shopmind.content.channels import SOCIAL_MAX, social_post
from shopmind.content.counting import COUNTERS, x_weighted
from shopmind.content.html import sanitize
from shopmind.content.spec import Field, Problem, Spec, identity, validate_text
from shopmind.content.textnorm import is_han
from shopmind.safety import html_to_text, remove_controls

_MARKUP = re.compile(r"<\s*/?\s*[A-Za-z][^<>]*>")
_SENTENCE_END = re.compile(r"[.!?。！？]$")
_CLAUSE_END = re.compile(r"[，、；：,;:]$")
_TRAILING = re.compile(r"[\s,;:\-–—/&(+·、，；：]+$")
_DANGLING = frozenset(
    {"and", "or", "with", "the", "a", "an", "of", "for", "to", "in", "on", "at", "by", "from",
     "plus", "our", "your", "its", "&", "和", "与", "及", "或", "的", "并"}
)  # fmt: skip
_WIDE_PUNCT = re.compile(r"[\u3000-\u303f\uff00-\uffef]")


@dataclass(frozen=True)
class Repair:
    """The repaired ``fields``, what was changed, and the problems left (errors mean it
    could not be repaired; warnings are soft limits)."""

    fields: dict[str, Any]
    changes: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not any(p.severity == "error" for p in self.problems)


def repair(spec: Spec, fields: Mapping[str, Any]) -> Repair:
    """``fields`` repaired by rule for ``spec``; see the module's docstring."""
    if not isinstance(fields, Mapping):
        return Repair({}, [], spec.validate(fields))
    changes = [f"dropped unknown field {name!r}" for name in fields if _unknown(spec, name)]
    out: dict[str, Any] = {}
    for spec_field in spec.fields:
        if spec_field.name in fields:
            out[spec_field.name] = _repair_value(spec_field, fields[spec_field.name], changes)
    if spec.task in TASK_REPAIRS:
        out = TASK_REPAIRS[spec.task](out, changes)
    return Repair(out, changes, spec.validate(out))


def _unknown(spec: Spec, name: str) -> bool:
    return all(f.name != name for f in spec.fields)


def _repair_value(spec: Field, value: Any, changes: list[str]) -> Any:
    if spec.kind in ("text", "html"):
        return repair_text(spec, value, spec.name, changes)
    if not isinstance(value, list):
        return value
    if spec.kind == "records":
        items = [
            _repair_record(spec, item, f"{spec.name}[{i}]", changes) for i, item in enumerate(value)
        ]
    else:
        items = [
            repair_text(spec, item, f"{spec.name}[{i}]", changes, trim=False)
            for i, item in enumerate(value)
        ]
    return _repair_list(spec, items, changes)


def repair_text(spec: Field, value: Any, where: str, changes: list[str], trim: bool = True) -> Any:
    """One text repaired by the field's rules; non-text is returned as it is."""
    if not isinstance(value, str):
        return value
    text = remove_controls(value)
    if spec.kind == "html":
        text = sanitize(text)
    elif _MARKUP.search(text):
        text = html_to_text(text)
    text = " ".join(text.split()) if spec.single_line else _tidy_lines(text)
    if spec.forbidden:
        text = re.sub(r" {2,}", " ", "".join(c for c in text if c not in spec.forbidden)).strip()
    if spec.no_spaces:
        text = re.sub(r"\s+", "-", text.strip())
    if text != value:
        changes.append(f"{where}: cleaned")
    if trim and spec.max_chars is not None and spec.kind != "html":
        trimmed = trim_to(text, spec.max_chars, COUNTERS[spec.counter])
        if trimmed != text:
            changes.append(f"{where}: trimmed to {spec.max_chars}")
        text = trimmed
    return text


def _repair_record(spec: Field, item: Any, where: str, changes: list[str]) -> Any:
    if not isinstance(item, Mapping):
        return item
    names = {sub.name for sub in spec.record}
    out = {k: v for k, v in item.items() if k in names}
    if len(out) != len(item):
        changes.append(f"{where}: dropped unknown keys")
    for sub in spec.record:
        if sub.name in out:
            out[sub.name] = repair_text(sub, out[sub.name], f"{where}.{sub.name}", changes)
    return out


def _repair_list(spec: Field, items: list[Any], changes: list[str]) -> list[Any]:
    def broken(item: Any) -> bool:
        if spec.kind == "records":
            return not isinstance(item, Mapping) or any(
                p.severity == "error"
                for sub in spec.record
                for p in validate_text(sub, item.get(sub.name), 0, spec.name)
                if item.get(sub.name) is not None or sub.required
            )
        return not isinstance(item, str) or not item.strip() or _bad_item(spec, item)

    kept = _dedupe(spec, items, changes)
    for item in [i for i in kept if broken(i)]:
        if len(kept) > spec.min_items:
            kept.remove(item)
            changes.append(f"{spec.name}: dropped an item that breaks its rules")
    if spec.kind == "texts" and spec.max_chars is not None:
        counter = COUNTERS[spec.counter]
        trimmed = [trim_to(i, spec.max_chars, counter) if isinstance(i, str) else i for i in kept]
        if trimmed != kept:
            changes.append(f"{spec.name}: trimmed items over {spec.max_chars}")
            kept = _dedupe(spec, [i for i in trimmed if i != ""], changes)
    if spec.max_items is not None and len(kept) > spec.max_items:
        changes.append(f"{spec.name}: kept the first {spec.max_items} of {len(kept)}")
        kept = kept[: spec.max_items]
    return kept


def _dedupe(spec: Field, items: list[Any], changes: list[str]) -> list[Any]:
    if not spec.unique:
        return list(items)
    kept, seen = [], set()
    for index, item in enumerate(items):
        label = identity(spec, item)
        if label and label in seen:
            changes.append(f"{spec.name}[{index}]: dropped, a repeat")
            continue
        seen.add(label)
        kept.append(item)
    return kept


def _bad_item(spec: Field, item: str) -> bool:
    return any(p.severity == "error" for p in validate_text(spec, item, 0))


def trim_to(text: str, limit: int, counter: Callable[[str], int]) -> str:
    """The longest start of ``text`` that fits ``limit`` and ends at a word boundary —
    a sentence end where one is not much shorter — without a dangling last word.
    Empty when not even one word fits."""
    if counter(text) <= limit:
        return text
    cuts = _cuts(text)
    fitting = [c for c in cuts if counter(_clean_end(text[:c])) <= limit]
    if not fitting:
        return ""
    best = max(fitting)
    sentences = [c for c in fitting if _SENTENCE_END.search(text[:c].rstrip())]
    clauses = [c for c in fitting if _CLAUSE_END.search(text[:c].rstrip())]
    # Chinese has no spaces, so a cut after any character may split a word: a clause end
    # is worth more there
    clause_share = 0.6 if is_han(text[best - 1]) else 0.8
    for preferred, share in ((sentences, 0.6), (clauses, clause_share)):
        if preferred and max(preferred) >= share * best:
            best = max(preferred)
            break
    return _clean_end(text[:best])


def _cuts(text: str) -> list[int]:
    """Positions where ``text`` may be cut: before a space, after a CJK character."""
    cuts = []
    for i, char in enumerate(text):
        if char.isspace():
            cuts.append(i)
        elif is_han(char) or _WIDE_PUNCT.match(char):
            cuts.append(i + 1)
    return cuts


def _clean_end(text: str) -> str:
    """No trailing separator, dangling small word or unclosed parenthesis."""
    while True:
        before = text
        text = _TRAILING.sub("", text)
        if text.count("(") > text.count(")"):
            text = text[: text.rfind("(")]
        words = text.rsplit(None, 1)
        if len(words) == 2 and words[1].casefold() in _DANGLING:
            text = words[0]
        elif text and is_han(text[-1]) and text[-1] in _DANGLING:  # "…和", "…的"
            text = text[:-1]
        if text == before:
            return text


def _tidy_lines(text: str) -> str:
    lines = [" ".join(line.split()) for line in text.split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def _repair_social(fields: dict[str, Any], changes: list[str]) -> dict[str, Any]:
    """Fit post + hashtags into X's limit: trim the post to leave room for the hashtags;
    only where no word of it would fit, drop hashtags from the end (keeping one)."""
    fields = dict(fields)
    tags = list(fields.get("hashtags") or [])
    post = fields.get("post")
    if not isinstance(post, str) or not all(isinstance(t, str) for t in tags):
        return fields
    while x_weighted(social_post({"post": post, "hashtags": tags})) > SOCIAL_MAX:
        room = SOCIAL_MAX - x_weighted(social_post({"post": "", "hashtags": tags}))
        trimmed = trim_to(post, room, x_weighted) if room > 0 else ""
        if trimmed or len(tags) <= 1:
            changes.append("post: trimmed to fit with its hashtags")
            post = trimmed
            break
        changes.append(f"hashtags: dropped {tags.pop()!r} to fit {SOCIAL_MAX}")
    fields["post"] = post
    if "hashtags" in fields:
        fields["hashtags"] = tags
    return fields


TASK_REPAIRS: dict[str, Callable[[dict[str, Any], list[str]], dict[str, Any]]] = {
    "social": _repair_social,
}
