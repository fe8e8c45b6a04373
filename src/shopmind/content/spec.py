"""What a content task returns and the rules it must meet: :class:`Field`, :class:`Spec`,
:class:`Problem` and the validation every spec shares.

Field kinds: ``text`` (a plain string), ``html`` (a string of allowed HTML, see
:mod:`shopmind.content.html`), ``texts`` (a list of strings) and ``records`` (a list of
objects with text fields, such as an FAQ's ``{"question", "answer"}``). Limits count
characters with the field's counter (:mod:`shopmind.content.counting`); for lists they
apply to each item. Hard limits give ``error`` problems, which refuse a variant; soft
limits give ``warning`` problems, which lower its score. The tasks themselves are in
:mod:`shopmind.content.channels`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

from shopmind.content.counting import COUNTERS
from shopmind.content.html import html_problems, html_text
from shopmind.safety import remove_controls

_MARKUP = re.compile(r"<\s*/?\s*[A-Za-z][^<>]*>")
KINDS = ("text", "html", "texts", "records")


@dataclass(frozen=True)
class Problem:
    """One broken rule: the ``field``, the list ``index`` and record ``key`` where there
    are ones, the ``rule`` (see docs/content.md) and a sentence saying what is wrong."""

    field: str
    index: int | None
    rule: str
    message: str
    severity: str = "error"  # "error" refuses the variant, "warning" lowers its score
    key: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Field:
    """A field of a task's output and its rules. For lists, the character limits apply
    to each item; ``min_items`` / ``max_items`` to the list."""

    name: str
    kind: str
    doc: str
    required: bool = True
    max_chars: int | None = None
    soft_max_chars: int | None = None
    min_items: int = 0
    max_items: int | None = None
    soft_max_items: int | None = None
    unique: bool = False  # list items must differ (case and spacing ignored)
    forbidden: str = ""  # characters never allowed
    single_line: bool = True
    no_spaces: bool = False
    pattern: str | None = None  # each value must match this regex in full
    counter: str = "code_points"
    record: tuple[Field, ...] = ()  # the fields of each record, for kind "records"
    source: str = ""  # where the limits come from
    copy: bool = True  # read by the fact guard and the scores (False: a link, an id)

    def count(self, text: str) -> int:
        return COUNTERS[self.counter](text)


Check = Callable[[Mapping[str, Any]], list["Problem"]]


@dataclass(frozen=True)
class Spec:
    """A task's output: its fields, and checks across fields."""

    task: str
    doc: str
    fields: tuple[Field, ...]
    checks: tuple[Check, ...] = ()

    def field(self, name: str) -> Field:
        return next(f for f in self.fields if f.name == name)

    def validate(self, fields: Mapping[str, Any]) -> list[Problem]:
        """Every broken rule, hard (``error``) and soft (``warning``)."""
        if not isinstance(fields, Mapping):
            return [Problem("", None, "type", "fields must be an object")]
        known = {f.name for f in self.fields}
        problems = [
            Problem(name, None, "unknown-field", f"{self.task} has no field {name!r}")
            for name in fields
            if name not in known
        ]
        for spec_field in self.fields:
            problems += validate_field(spec_field, fields.get(spec_field.name))
        if not any(p.severity == "error" for p in problems):
            for check in self.checks:
                problems += check(fields)
        return problems

    def errors(self, fields: Mapping[str, Any]) -> list[Problem]:
        return [p for p in self.validate(fields) if p.severity == "error"]

    def passes(self, fields: Mapping[str, Any]) -> bool:
        return not self.errors(fields)

    def repair(self, fields: Mapping[str, Any]) -> Any:
        """Rule-based repair (:func:`shopmind.content.repair.repair`)."""
        from shopmind.content.repair import repair

        return repair(self, fields)

    def texts(self, fields: Mapping[str, Any]) -> list[tuple[str, int | None, str | None, str]]:
        """Every text in ``fields`` as ``(field, index, key, text)``; HTML as its text."""
        found: list[tuple[str, int | None, str | None, str]] = []
        for spec_field in self.fields:
            value = fields.get(spec_field.name)
            if spec_field.kind in ("text", "html") and isinstance(value, str):
                text = html_text(value) if spec_field.kind == "html" else value
                found.append((spec_field.name, None, None, text))
            elif spec_field.kind == "texts" and isinstance(value, list):
                found += [
                    (spec_field.name, i, None, v) for i, v in enumerate(value) if isinstance(v, str)
                ]
            elif spec_field.kind == "records" and isinstance(value, list):
                for i, record in enumerate(value):
                    if isinstance(record, Mapping):
                        found += [
                            (spec_field.name, i, sub.name, record[sub.name])
                            for sub in spec_field.record
                            if sub.copy and isinstance(record.get(sub.name), str)
                        ]
        return found

    def text(self, fields: Mapping[str, Any]) -> str:
        """All the variant's text, one piece a line: what the guard and scores read."""
        return "\n".join(text for *_, text in self.texts(fields))


def validate_field(spec: Field, value: Any) -> list[Problem]:
    """The problems of one field's value."""
    if value is None or (isinstance(value, str | list) and not value):
        if spec.required or (spec.kind in ("texts", "records") and spec.min_items):
            return [Problem(spec.name, None, "required", f"{spec.name} is required")]
        return []
    if spec.kind in ("text", "html"):
        return validate_text(spec, value, None)
    if not isinstance(value, list):
        return [Problem(spec.name, None, "type", f"{spec.name} must be a list")]
    problems = _count_problems(spec, len(value))
    seen: dict[str, int] = {}
    for index, item in enumerate(value):
        if spec.kind == "texts":
            problems += validate_text(spec, item, index)
        else:
            problems += _validate_record(spec, item, index)
        label = identity(spec, item)
        if spec.unique and label:
            if label in seen:
                problems.append(
                    Problem(
                        spec.name,
                        index,
                        "duplicate",
                        f"{spec.name}[{index}] repeats item {seen[label]}",
                    )
                )
            seen.setdefault(label, index)
    return problems


def validate_text(
    spec: Field, value: Any, index: int | None, parent: str | None = None
) -> list[Problem]:
    """The problems of one text: a field, a list item, or (``parent`` given) the field
    ``spec`` of record ``index`` of list field ``parent``."""
    name, key = (parent, spec.name) if parent else (spec.name, None)
    where = f"{name}[{index}]" if index is not None else name
    where = f"{where}.{key}" if key else where

    def problem(rule: str, message: str, severity: str = "error") -> Problem:
        return Problem(name, index, rule, f"{where}: {message}", severity, key)

    if value is None:
        return [problem("required", "is required")]
    if not isinstance(value, str):
        return [problem("type", "must be text")]
    if not value.strip():
        return [problem("empty", "is empty")]
    found = []
    if remove_controls(value) != value:
        found.append(problem("control-chars", "holds control characters"))
    if spec.kind == "html":
        found += [problem("html", message) for message in html_problems(value)]
        value = html_text(value)
    elif _MARKUP.search(value):
        found.append(problem("markup", "holds HTML tags; it is plain text"))
    if spec.single_line and "\n" in value:
        found.append(problem("line-break", "must be one line"))
    bad = sorted({c for c in value if c in spec.forbidden})
    if bad:
        found.append(problem("forbidden-chars", f"must not contain {' '.join(bad)}"))
    if spec.no_spaces and re.search(r"\s", value):
        found.append(problem("spaces", "must not contain spaces"))
    if spec.pattern and not re.fullmatch(spec.pattern, value):
        found.append(problem("pattern", f"must match {spec.pattern}"))
    length = spec.count(value)
    if spec.max_chars is not None and length > spec.max_chars:
        found.append(problem("max-chars", f"{length} characters, at most {spec.max_chars}"))
    elif spec.soft_max_chars is not None and length > spec.soft_max_chars:
        found.append(
            problem(
                "soft-max-chars",
                f"{length} characters, {spec.soft_max_chars} recommended",
                "warning",
            )
        )
    return found


def _count_problems(spec: Field, count: int) -> list[Problem]:
    if count < spec.min_items:
        return [
            Problem(
                spec.name,
                None,
                "min-items",
                f"{spec.name}: {count} items, at least {spec.min_items}",
            )
        ]
    if spec.max_items is not None and count > spec.max_items:
        return [
            Problem(
                spec.name,
                None,
                "max-items",
                f"{spec.name}: {count} items, at most {spec.max_items}",
            )
        ]
    if spec.soft_max_items is not None and count > spec.soft_max_items:
        return [
            Problem(
                spec.name,
                None,
                "soft-max-items",
                f"{spec.name}: {count} items, {spec.soft_max_items} recommended",
                "warning",
            )
        ]
    return []


def _validate_record(spec: Field, item: Any, index: int) -> list[Problem]:
    if not isinstance(item, Mapping):
        return [Problem(spec.name, index, "type", f"{spec.name}[{index}] must be an object")]
    names = {sub.name for sub in spec.record}
    problems = [
        Problem(
            spec.name,
            index,
            "unknown-field",
            f"{spec.name}[{index}] has no field {key!r}",
            key=str(key),
        )
        for key in item
        if key not in names
    ]
    for sub in spec.record:
        value = item.get(sub.name)
        if value is None and not sub.required:
            continue
        problems += validate_text(sub, value, index, spec.name)
    return problems


def identity(spec: Field, item: Any) -> str:
    """What makes two list items the same: their text, case and spacing ignored."""
    if spec.kind == "records" and isinstance(item, Mapping):
        item = item.get(spec.record[0].name) if spec.record else None
    return " ".join(item.casefold().split()) if isinstance(item, str) else ""
