"""Review text hygiene: HTML to visible text, control characters out, safe truncation.

Nothing here raises on any ``str``: review text is untrusted and arrives as plain text,
HTML fragments, entity-encoded exports or mis-decoded bytes. Markup goes through
:mod:`shopmind.safety` (an HTML5 parser; entities decoded and parsed again until no
markup is left; nothing is ever run), the one module every importer and output uses for
untrusted text, so an aspect sentence can never carry a ``<script>``.
"""

from __future__ import annotations

import re
import unicodedata

from shopmind.safety import visible_text

_SENTENCE_END = re.compile(r"[.!?。！？…]+[\"')\]」』”’]*(?=\s|$)|[。！？]")


def clean_text(raw: str) -> str:
    """HTML → visible text, entities decoded, control characters dropped, whitespace collapsed.

    Runs of spaces and tabs become one space; line breaks (including those implied by
    block elements such as ``<p>`` or ``<br>``) collapse to a single ``\\n`` so sentence
    splitting downstream still sees them. Emoji (and their joiners) are kept. Text with
    no ``<`` or ``&`` (most reviews) never reaches the HTML parser.
    """
    text = raw if raw.isascii() else unicodedata.normalize("NFC", raw)
    lines = (" ".join(line.split()) for line in visible_text(text, keep_newlines=True).split("\n"))
    return "\n".join(line for line in lines if line)


def has_content(cleaned: str) -> bool:
    """Whether already-cleaned text holds a letter, a digit or a symbol such as an emoji."""
    return any(_scorable(unicodedata.category(ch)) for ch in cleaned)


def _scorable(category: str) -> bool:
    return category[0] in "LN" or category == "So"


def is_blank(text: str) -> bool:
    """True when nothing scorable is left after cleaning (empty, whitespace, punctuation, tags)."""
    return not has_content(clean_text(text))


def truncate(text: str, max_chars: int) -> tuple[str, bool]:
    """At most ``max_chars`` characters, cut at a sentence end (else a space) when one is near.

    "Near" means within the last fifth of the window, so a cut never throws away more
    than 20% of the allowed length. Returns the text and whether it was cut.
    """
    if max_chars < 1:
        raise ValueError(f"max_chars must be positive, got {max_chars}")
    if len(text) <= max_chars:
        return text, False
    window = text[:max_chars]
    floor = max_chars - max(1, max_chars // 5)
    ends = [m.end() for m in _SENTENCE_END.finditer(window) if m.end() >= floor]
    if ends:
        return window[: ends[-1]].rstrip(), True
    space = window.rfind(" ", floor)
    if space > 0:
        return window[:space].rstrip(), True
    return window, True
