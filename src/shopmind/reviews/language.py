"""Cheap language detection by script: enough to route a review to the right model.

No model: characters are counted by Unicode block. One Han character carries about a
word, so Chinese wins at a lower share of letters than a Latin script would need
(``HAN_SHARE``): "这个iPhone很好用" is Chinese, "Love it 很好" is English.
"""

from __future__ import annotations

import re

HAN_SHARE = 0.3
KANA_SHARE = 0.1
HANGUL_SHARE = 0.3
LATIN_SHARE = 0.5

_HAN = re.compile("[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f]")
_KANA = re.compile("[\u3040-\u30ff\u31f0-\u31ff\uff66-\uff9f]")
_HANGUL = re.compile("[\u1100-\u11ff\u3130-\u318f\uac00-\ud7af]")
_LATIN = re.compile("[A-Za-z\u00c0-\u024f\u1e00-\u1eff]")
_LETTER = re.compile(r"[^\W\d_]")

SUPPORTED = ("en", "zh", "ja", "ko", "und")


def script_counts(text: str) -> dict[str, int]:
    """Letters per script: ``han``, ``kana``, ``hangul``, ``latin`` and ``letters`` in all."""
    return {
        "han": len(_HAN.findall(text)),
        "kana": len(_KANA.findall(text)),
        "hangul": len(_HANGUL.findall(text)),
        "latin": len(_LATIN.findall(text)),
        "letters": len(_LETTER.findall(text)),
    }


def detect_language(text: str) -> str:
    """``zh``, ``ja``, ``ko``, ``en`` or ``und`` from the share of each script among letters.

    Kana marks Japanese even beside many Han characters; Han at ``HAN_SHARE`` or more of
    the letters is Chinese; Hangul is Korean; text mostly in Latin letters is English.
    ``und`` means no letters at all (emoji only, numbers, punctuation) or only letters of a
    script no model here reads (Cyrillic, Arabic, ...).
    """
    letters = len(_LETTER.findall(text))
    if not letters:
        return "und"
    if len(_KANA.findall(text)) >= KANA_SHARE * letters:
        return "ja"
    if len(_HAN.findall(text)) >= HAN_SHARE * letters:
        return "zh"
    if len(_HANGUL.findall(text)) >= HANGUL_SHARE * letters:
        return "ko"
    if len(_LATIN.findall(text)) >= LATIN_SHARE * letters:
        return "en"
    return "und"
