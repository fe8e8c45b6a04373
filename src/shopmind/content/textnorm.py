"""Text as the guards compare it: NFKC, case-folded, with a map back to the original.

``normalise`` works one character at a time, so every character of the result knows the
original character it came from and a span found in the normalised text is a span of the
original (full-width ``５００ｍｌ`` reads as ``500ml``, ``㎖`` as ``ml``, ``Ⅲ`` as ``iii``).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

HAN = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_HAN_CHAR = re.compile(f"[{HAN}]")
# Tokens: runs of Latin letters / digits (with inner ' . -), or single Han characters.
_TOKEN = re.compile(rf"[^\W_{HAN}]+(?:['’][^\W_{HAN}]+)*|[{HAN}]")
_LATIN_WORD = re.compile(rf"[^\W\d_{HAN}]+")


@dataclass(frozen=True)
class Normalised:
    """``text`` normalised and case-folded; ``cased`` the same without case folding (same
    length, same positions); ``origin[i]`` is the index in the original of ``text[i]``."""

    text: str
    cased: str
    origin: tuple[int, ...]  # len(text) + 1 entries; the last is len(original)

    def span(self, start: int, end: int) -> tuple[int, int]:
        """The original span of ``text[start:end]``."""
        if end <= start:
            return self.origin[start], self.origin[start]
        return self.origin[start], self.origin[end - 1] + 1


# Marks that NFKC would turn into letters or digits glued to a word ("RTX™" → "rtxtm",
# "Charges¹" → "charges1"): dropped. ² and ³ stay after "m" (m², cm³).
_DROPPED = frozenset("™℠®©⁰¹⁴⁵⁶⁷⁸⁹")
_POWERS = frozenset("²³")


def _piece(text: str, index: int) -> str:
    char = text[index]
    if char in _DROPPED or (char in _POWERS and not text[:index].lower().endswith("m")):
        return ""
    return unicodedata.normalize("NFKC", char)


def normalise(text: str) -> Normalised:
    """NFKC per character, case-folded, with the unfolded twin and the origin map."""
    out: list[str] = []
    cased: list[str] = []
    origin: list[int] = []
    for index in range(len(text)):
        piece = _piece(text, index)
        folded = piece.casefold()
        out.append(folded)
        cased.append(piece if len(piece) == len(folded) else folded)  # "ß" → "ss" in both
        origin.extend([index] * len(folded))
    origin.append(len(text))
    return Normalised("".join(out), "".join(cased), tuple(origin))


def fold(text: str) -> str:
    """NFKC and case folding, as :func:`normalise` does, without the map."""
    return normalise(text).text


def tokens(text: str) -> list[str]:
    """Folded tokens: Latin / digit words, and each Han character on its own."""
    return _TOKEN.findall(fold(text))


def latin_words(text: str) -> list[str]:
    """Folded words of letters only (no digits, no Han)."""
    return _LATIN_WORD.findall(fold(text))


def is_han(char: str) -> bool:
    return bool(_HAN_CHAR.fullmatch(char))


def has_han(text: str) -> bool:
    return bool(_HAN_CHAR.search(text))


def singular(word: str) -> str:
    """A plural English word's singular, by rule ("boxes" → "box", "batteries" →
    "battery"); other words unchanged. Good enough to compare, not to write."""
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 4 and word.endswith(("ches", "shes", "sses", "xes", "zes")):
        return word[:-2]
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word
