"""Word checks on a text that the voice asks for: banned words."""

from __future__ import annotations

import re
from collections.abc import Sequence


def banned_in(text: str, words: Sequence[str]) -> list[str]:
    """The banned words ``text`` uses (whole words, any case; Chinese: anywhere)."""
    found = []
    for word in words:
        pattern = re.escape(word) if re.search(r"[^\x00-\x7f]", word) else rf"\b{re.escape(word)}\b"
        if re.search(pattern, text, re.I):
            found.append(word)
    return found
