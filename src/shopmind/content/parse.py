"""Reading a model's answer back into a task's fields (the format of
:func:`shopmind.content.prompts.answer_format`).

Small models keep the labels but not always the rest: labels are matched without case,
with or without markdown bold, bullets or numbering (``**Headline 1:**``, ``- Path:``);
a line without a label continues the field before it when that field may take several
lines; text before the first label of a one-field task is that field. Whatever cannot be
placed is reported, never guessed into a field. The product description's HTML is made
here from its plain text (paragraphs and ``-`` lists), never asked of the model.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html import escape
from typing import Any

from shopmind.content.channels import SPECS
from shopmind.content.prompts import DERIVED, asked_fields, label
from shopmind.content.spec import Field

_LINE = re.compile(
    r"^\s*(?:[-*•]\s+|\d+[.)]\s+)?(?:\*\*|__)?(?P<label>[A-Za-z][A-Za-z ]{1,40}?)"
    r"(?:\s+\d+)?\s*(?:\*\*|__)?\s*[:：]\s*(?:\*\*|__)?\s*(?P<value>.*)$"
)
_BULLET = re.compile(r"^\s*[-*•]\s+")


@dataclass
class Parsed:
    """The fields read from an answer; ``leftover``: lines that fit no field."""

    fields: dict[str, Any]
    leftover: list[str] = field(default_factory=list)


def _labels(fields: list[Field]) -> dict[str, tuple[Field, Field | None]]:
    """Lower-cased label → (field, record sub-field or None)."""
    out: dict[str, tuple[Field, Field | None]] = {}
    for f in fields:
        if f.kind == "records":
            for sub in f.record:
                out[label(sub.name).lower()] = (f, sub)
        else:
            out[label(f.name).lower()] = (f, None)
            singular = label(f.name).lower().rstrip("s")
            out.setdefault(singular, (f, None))  # "Headline: …" for headlines
    return out


def parse_answer(task: str, answer: str) -> Parsed:
    """``answer`` as ``task``'s fields (only what it holds: validation comes after)."""
    spec = SPECS[task]
    asked = asked_fields(spec)
    labels = _labels(asked)
    fields: dict[str, Any] = {}
    leftover: list[str] = []
    current: tuple[Field, Field | None] | None = None
    for raw in answer.replace("\r\n", "\n").split("\n"):
        line = raw.strip()
        match = _LINE.match(line) if line else None
        found = labels.get(match.group("label").strip().lower()) if match else None
        if found is not None and match is not None:
            current = found
            _put(fields, found, match.group("value").strip(), new=True)
            continue
        if not line:
            if current is not None and not _single_line(current):
                _put(fields, current, "", new=False)  # a paragraph break
            continue
        if current is None and len(asked) == 1 and asked[0].kind == "text":
            current = (asked[0], None)
            _put(fields, current, line, new=True)
        elif current is not None and not _single_line(current):
            _put(fields, current, line, new=False)
        elif current is not None and current[0].kind == "texts" and _BULLET.match(raw):
            _put(fields, current, _BULLET.sub("", raw).strip(), new=True)
        else:
            leftover.append(line)
    for f in asked:
        value = fields.get(f.name)
        if isinstance(value, str):
            fields[f.name] = re.sub(r"\n{3,}", "\n\n", value).strip()
    _derive(task, fields)
    return Parsed(fields, leftover)


def _single_line(where: tuple[Field, Field | None]) -> bool:
    f, sub = where
    return (sub or f).single_line if (sub or f).kind != "texts" else True


def _put(fields: dict[str, Any], where: tuple[Field, Field | None], value: str, new: bool) -> None:
    f, sub = where
    if f.kind == "texts":
        if value:
            fields.setdefault(f.name, []).append(value)
        return
    if f.kind == "records" and sub is not None:
        records = fields.setdefault(f.name, [])
        if new and (not records or sub.name in records[-1]):
            records.append({})  # a field seen again starts the next record
        record = records[-1]
        record[sub.name] = value if new else _join(record.get(sub.name, ""), value)
        return
    if new and f.name in fields and fields[f.name]:
        fields[f.name] = _join(fields[f.name], value)
        return
    fields[f.name] = value if new else _join(fields.get(f.name, ""), value)


def _join(before: str, more: str) -> str:
    if not more:
        return before + "\n\n" if before and not before.endswith("\n\n") else before
    if not before or before.endswith("\n\n"):
        return before + more
    return before + "\n" + more


def _derive(task: str, fields: dict[str, Any]) -> None:
    if (task, "html") in DERIVED and isinstance(fields.get("description"), str):
        fields["html"] = to_html(fields["description"])


def to_html(text: str) -> str:
    """Plain text as simple HTML: blank-line paragraphs as ``<p>``, runs of ``-`` lines
    as ``<ul>``; everything escaped."""
    out = []
    for block in re.split(r"\n\s*\n", text.strip()):
        lines = [ln.strip() for ln in block.split("\n") if ln.strip()]
        if not lines:
            continue
        if all(_BULLET.match(ln) for ln in lines):
            items = "".join(f"<li>{escape(_BULLET.sub('', ln))}</li>" for ln in lines)
            out.append(f"<ul>{items}</ul>")
        else:
            out.append("<p>" + "<br>".join(escape(ln) for ln in lines) + "</p>")
    return "".join(out)
