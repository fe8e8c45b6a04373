"""Code points that are never text: the one definition, for every layer that meets them.

Two kinds of code point never belong in stored, logged or echoed text:

- **control characters** (Unicode category ``Cc``: NUL, escape, bell, C1 controls …):
  invisible, acted on by terminals, and NUL is refused by PostgreSQL in text columns;
- **lone surrogates** (``Cs``): half of a UTF-16 pair. JSON's ``\\ud800`` escapes deliver
  them on their own; they cannot be encoded as UTF-8, so they cannot be stored or sent back.

Each layer decides what to do when it meets one, and says so:

- the text cleaner (:func:`shopmind.safety.text.remove_controls`) removes them (tab and
  line breaks stay), together with invisible format characters;
- keys (:mod:`shopmind.store.keys`, the ids of events) refuse them, naming the character
  and its position (:func:`unstorable_problem`);
- the API (:mod:`shopmind.api.validation`) refuses a JSON body holding a lone surrogate
  with 422, and replaces lone surrogates when it echoes input back.
"""

from __future__ import annotations

import re
import unicodedata

CONTROL = "Cc"
SURROGATE = "Cs"
FORMAT = "Cf"
UNSTORABLE = {CONTROL: "a control character", SURROGATE: "a lone surrogate (not valid Unicode)"}
"""The Unicode categories that are never text, with what each is called in messages."""

LONE_SURROGATE = re.compile("[\ud800-\udfff]")
"""Every code point of category ``Cs``. A ``str`` holds a surrogate only unpaired: JSON's
escaped pairs (``\\ud83d\\ude00``) decode to the one code point they stand for."""


def is_unstorable(char: str) -> bool:
    """Whether the one-character string ``char`` is a control character or a lone surrogate."""
    return unicodedata.category(char) in UNSTORABLE


def unstorable_problem(text: str) -> str | None:
    """What is wrong with ``text`` in words when it holds a control character or a lone
    surrogate (the first one: ``contains a control character, U+0007 at position 1``);
    ``None`` when it holds neither."""
    if text.isprintable():  # fast path: no Cc, Cs (or other non-printing character) at all
        return None
    for position, char in enumerate(text):
        what = UNSTORABLE.get(unicodedata.category(char))
        if what is not None:
            return f"contains {what}, U+{ord(char):04X} at position {position}"
    return None


def has_lone_surrogate(text: str) -> bool:
    """Whether ``text`` holds a lone surrogate."""
    return LONE_SURROGATE.search(text) is not None


def replace_lone_surrogates(text: str, replacement: str = "\ufffd") -> str:
    """``text`` with each lone surrogate replaced (by U+FFFD unless told otherwise)."""
    return LONE_SURROGATE.sub(replacement, text)
