"""How each channel counts characters.

- ``code_points`` — one per Unicode code point after NFC (so "é" typed as e + accent is
  one). Used where a channel says "characters" and we know no finer rule: SEO fields,
  Merchant Center, Amazon, Meta, e-mail, articles. An emoji made of several code points
  (a flag, a family) counts as several: stricter than a person would count.
- ``double_width`` — Google Ads: East Asian wide and full-width characters (Chinese,
  Japanese, Korean; Unicode East_Asian_Width W or F) count 2, everything else 1.
  Google's AdMob text-ad limits for double-width languages are half the others (25 → 12,
  35 → 17) and Microsoft Advertising counts each double-width character as two.
- ``x_weighted`` — X (Twitter) posts, by twitter-text's v3 configuration: code points in
  U+0000–U+10FF, U+2000–U+200D, U+2010–U+201F and U+2032–U+2037 count 1, all others 2
  (so Chinese counts 2); a URL counts 23. twitter-text counts an emoji sequence as 2 in
  all; this counts each of its code points, so such posts come out longer, never shorter.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable

URL_WEIGHT = 23
_LIGHT = ((0x0000, 0x10FF), (0x2000, 0x200D), (0x2010, 0x201F), (0x2032, 0x2037))
_URL = re.compile(r"https?://\S+", re.IGNORECASE)


def code_points(text: str) -> int:
    return len(unicodedata.normalize("NFC", text))


def char_width(char: str) -> int:
    """2 for an East Asian wide or full-width character, else 1."""
    return 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1


def double_width(text: str) -> int:
    return sum(char_width(c) for c in unicodedata.normalize("NFC", text))


def _x_char(char: str) -> int:
    point = ord(char)
    return 1 if any(low <= point <= high for low, high in _LIGHT) else 2


def x_weighted(text: str) -> int:
    text = unicodedata.normalize("NFC", text)
    total, position = 0, 0
    for match in _URL.finditer(text):
        total += sum(_x_char(c) for c in text[position : match.start()]) + URL_WEIGHT
        position = match.end()
    return total + sum(_x_char(c) for c in text[position:])


COUNTERS: dict[str, Callable[[str], int]] = {
    "code_points": code_points,
    "double_width": double_width,
    "x_weighted": x_weighted,
}
