"""Review text hygiene: HTML to visible text, control characters out, safe truncation.

Nothing here raises on any ``str``: review text is untrusted and arrives as plain text,
HTML fragments, entity-encoded exports or mis-decoded bytes. Markup goes through
:mod:`shopmind.safety` (an HTML5 parser; entities decoded and parsed again until no
markup is left; nothing is ever run), the one module every importer and output uses for
untrusted text, so an aspect sentence can never carry a ``<script>``.
"""

from __future__ import annotations

import unicodedata

from shopmind.models.segments import segment_end
from shopmind.safety import visible_text


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
    """At most ``max_chars`` characters, cut where ``models.segments`` cuts a segment.

    That is at a sentence end, else a clause mark, else a space when one lies within the
    last fifth of the window (so a cut never throws away more than 20% of the allowed
    length), else after exactly ``max_chars`` characters. Returns the text and whether
    it was cut.
    """
    end = segment_end(text, 0, len(text), max_chars)
    if end == len(text):
        return text, False
    return text[:end].rstrip(), True
