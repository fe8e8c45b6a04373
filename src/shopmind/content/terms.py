"""Finding vocabulary terms in normalised text, by the rules in
:mod:`shopmind.content.vocabulary`: whole Latin words with an optional plural, Chinese
substrings minus their exceptions, all-capital terms in capitals only."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache

_LATIN = "0-9a-z\u00c0-\u024f"
_LATIN_CHAR = re.compile(f"[{_LATIN}]", re.IGNORECASE)


@dataclass(frozen=True)
class Match:
    """``term`` of ``concept`` at ``start:end`` of the normalised text."""

    start: int
    end: int
    concept: str
    term: str


def is_cased_term(term: str) -> bool:
    """An all-capital Latin term ("CE", "UL", "3C认证"): matched in capitals only."""
    letters = re.findall("[A-Za-z]", term)
    return bool(letters) and all(c.isupper() for c in letters)


@lru_cache(maxsize=8192)
def term_pattern(term: str) -> re.Pattern[str]:
    """The regex for one term: separators match a space or hyphen, Latin ends are word
    boundaries, a final letter may take a plural."""
    folded = term if is_cased_term(term) else term.casefold()
    body = "[\\s-]+".join(re.escape(part) for part in re.split(r"[\s-]+", folded))
    if _LATIN_CHAR.match(folded[0]):
        body = f"(?<![{_LATIN}])" + body
    if re.search("[a-z]$", folded):
        body += "(?:es|s)?"
    if _LATIN_CHAR.match(folded[-1]):
        body += f"(?![{_LATIN}])"
    return re.compile(body)


def _excepted(text: str, start: int, term: str, exceptions: Mapping[str, list[str]]) -> bool:
    """Whether the match of ``term`` at ``start`` lies inside one of its exception phrases."""
    for phrase in exceptions.get(term.casefold(), ()):
        phrase = phrase.casefold()
        offset = phrase.find(term.casefold())
        if offset >= 0 and text.startswith(phrase, start - offset) and start >= offset:
            return True
    return False


def find_terms(
    folded: str,
    cased: str,
    concepts: Mapping[str, Iterable[str]],
    exceptions: Mapping[str, list[str]],
) -> list[Match]:
    """Every term of every concept. ``folded`` is the case-folded text, ``cased`` the same
    text unfolded (same length and positions); capital terms are searched there."""
    found = []
    for concept, terms in concepts.items():
        for term in terms:
            text = cased if is_cased_term(term) else folded
            for m in term_pattern(term).finditer(text):
                if not _excepted(folded, m.start(), term, exceptions):
                    found.append(Match(m.start(), m.end(), concept, term))
    return longest(found)


def longest(matches: list[Match], by_concept: bool = True) -> list[Match]:
    """Drop matches that overlap a longer one; of matches with the same span keep one per
    concept (``by_concept``) or only one."""
    kept: list[Match] = []
    for match in sorted(matches, key=lambda m: (m.start - m.end, m.start)):
        same = [k for k in kept if (k.start, k.end) == (match.start, match.end)]
        if same and (not by_concept or any(k.concept == match.concept for k in same)):
            continue
        if any(k.start < match.end and match.start < k.end for k in kept if k not in same):
            continue
        kept.append(match)
    return sorted(kept, key=lambda m: (m.start, m.end))


def contains(text: str, cased: str, term: str) -> bool:
    """Whether ``term`` occurs in the text by the same rules as :func:`find_terms`."""
    return bool(term_pattern(term).search(cased if is_cased_term(term) else text))
