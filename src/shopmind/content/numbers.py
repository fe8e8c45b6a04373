"""Numbers in text, with their units: "500 ml", "2-pack", "30%", "$19.99", "三年", "五百毫升".

:func:`quantities` reads a normalised (NFKC, case-folded) text and returns every number
it holds, each with the unit written after it where there is one, converted to the
dimension's base unit (``0.5 l`` and ``500 ml`` are both ``volume`` 0.5). A number written
straight against letters is a code ("4k", "5g", "h2o", "xr-500"), kept whole.

- Arabic digits, with ``,`` as a thousands separator ("1,000") or a decimal comma ("0,5");
  a currency sign before ("$19.99") makes it money.
- Chinese numerals (一 … 九, 两, 十, 百, 千, 万, 亿) count only before a unit ("三年",
  "五百毫升") or in "百分之三十"; "一个" / "一款" are articles, not claims.
- English number words count only before a unit: "two-pack", "ten-year".
- In a range or a dimension ("5-10 kg", "30 x 20 x 10 cm") a bare number takes the unit of
  the number after it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

from shopmind.content.vocabulary import (
    ARTICLE_COUNTS,
    CURRENCY_SIGNS,
    NUMBER_WORDS,
    Vocabulary,
)

CN_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5,
             "六": 6, "七": 7, "八": 8, "九": 9}  # fmt: skip
CN_UNITS = {"十": 10, "百": 100, "千": 1000, "万": 10_000, "亿": 100_000_000}
_CN_RUN = re.compile("[零〇一二两三四五六七八九十百千万亿]+")
_LATIN = "0-9a-z\u00c0-\u024f"
_NUMBER = re.compile(
    rf"(?<![{_LATIN}.,#])(?P<cur>[{re.escape(CURRENCY_SIGNS)}]\s?)?"
    r"(?P<num>\d{1,3}(?:,\d{3})+(?:\.\d+)?(?!\d)|\d+(?:[.,]\d+)?)(?P<cn>万|亿)?"
)
_CODE = re.compile(rf"(?<![{_LATIN}])[{_LATIN}]*\d[{_LATIN}]*(?:-[{_LATIN}]+)*")
_ORDINAL = re.compile(r"(?:st|nd|rd|th)(?![a-z])")
_CONNECTOR = re.compile(r"\s*(?:-|–|—|~|～|to|x|×|\*|by|至|到)\s*")
_PERCENT_CN = re.compile("百分之([零〇一二两三四五六七八九十百千万亿]+|\\d+(?:\\.\\d+)?)")
_ORDINAL_CN = re.compile("第([零〇一二两三四五六七八九十百千万亿]+|\\d+)")


@dataclass(frozen=True)
class Quantity:
    """A number found at ``start:end`` of the normalised text.

    ``value`` is as written (in ``unit``); ``base`` is in the dimension's base unit.
    ``dimension`` is None for a bare number and ``"code"`` for a code like "4k"."""

    start: int
    end: int
    text: str
    value: float
    unit: str | None
    dimension: str | None
    base: float
    decimals: int  # digits after the decimal point as written: the precision claimed


def parse_number(raw: str) -> tuple[float, int]:
    """``"1,000"`` → (1000, 0); ``"0,5"`` → (0.5, 1); ``"19.99"`` → (19.99, 2)."""
    if re.fullmatch(r"\d{1,3}(?:,\d{3})+(?:\.\d+)?", raw):
        raw = raw.replace(",", "")
    raw = raw.replace(",", ".")
    decimals = len(raw.split(".", 1)[1]) if "." in raw else 0
    return float(raw), decimals


def chinese_number(text: str) -> int | None:
    """``"三百五十"`` → 350, ``"十二"`` → 12, ``"两千五"`` → 2500; None if not a number."""
    if not text or any(c not in CN_DIGITS and c not in CN_UNITS for c in text):
        return None
    total, section, digit, last_unit = 0, 0, None, 1
    for char in text:
        if char in CN_DIGITS:
            if digit is not None:  # "一二" is not a number
                return None
            digit = CN_DIGITS[char]
            continue
        unit = CN_UNITS[char]
        if unit >= 10_000:
            section = (section + (digit or 0)) * unit
            total, section = total + section, 0
        else:
            section += (1 if digit is None else digit) * unit
        digit, last_unit = None, unit
    if digit is not None:  # "两千五": a trailing digit is a tenth of the last unit
        section += digit * (last_unit // 10 if last_unit >= 100 else 1)
    return total + section


@cache
def _unit_pattern(units: tuple[str, ...]) -> re.Pattern[str]:
    """Any unit alias; Latin ones take a plural and end at a word boundary."""
    parts = []
    for alias in sorted(units, key=len, reverse=True):
        if re.search(r"[a-z]$", alias):
            parts.append(rf"{re.escape(alias)}(?:es|s)?(?![{_LATIN}])")
        else:
            parts.append(re.escape(alias))
    return re.compile("|".join(parts))


def _unit_at(text: str, pos: int, vocab: Vocabulary) -> tuple[str, int] | None:
    """The unit written at ``pos`` (after an optional space or hyphen): (alias, end)."""
    pattern = _unit_pattern(tuple(vocab.units))
    for gap in ("", " ", "-", " - "):
        if gap and not text.startswith(gap, pos):
            continue
        match = pattern.match(text, pos + len(gap))
        if not match:
            continue
        alias = _alias(match.group(), vocab)
        if gap and alias in vocab.attached_units:
            continue
        return alias, match.end()
    return None


def _alias(written: str, vocab: Vocabulary) -> str:
    if written in vocab.units:
        return written
    for suffix in ("es", "s"):
        if written.endswith(suffix) and written[: -len(suffix)] in vocab.units:
            return written[: -len(suffix)]
    return written


def _make(
    text: str,
    start: int,
    end: int,
    value: float,
    decimals: int,
    unit: str | None,
    vocab: Vocabulary,
) -> Quantity:
    dimension, factor = vocab.units[unit] if unit else (None, 1.0)
    return Quantity(start, end, text[start:end], value, unit, dimension, value * factor, decimals)


def _arabic(text: str, vocab: Vocabulary) -> list[Quantity]:
    found = []
    for match in _NUMBER.finditer(text):
        value, decimals = parse_number(match.group("num"))
        if match.group("cn"):
            value *= CN_UNITS[match.group("cn")]
        end = match.end()
        if match.group("cur"):
            found.append(
                Quantity(
                    match.start(),
                    end,
                    match.group(),
                    value,
                    match.group("cur").strip(),
                    "money",
                    value,
                    decimals,
                )
            )
            continue
        unit = _unit_at(text, end, vocab)
        if unit:
            found.append(_make(text, match.start(), unit[1], value, decimals, unit[0], vocab))
            continue
        if end < len(text) and re.match(f"[{_LATIN}]", text[end]):
            ordinal = _ORDINAL.match(text, end)
            if ordinal:
                found.append(_make(text, match.start(), ordinal.end(), value, 0, None, vocab))
            continue  # a code: found by _codes
        found.append(_make(text, match.start(), end, value, decimals, None, vocab))
    return found


def _codes(text: str) -> list[Quantity]:
    """Letters and digits written together: "4k", "h2o", "wh-1000xm4"."""
    found = []
    for match in _CODE.finditer(text):
        word = match.group()
        if re.fullmatch(r"[\d.,]+", word) or not re.search("[a-z]", word):
            continue
        found.append(Quantity(match.start(), match.end(), word, 0.0, None, "code", 0.0, 0))
    return found


def _chinese(text: str, vocab: Vocabulary) -> list[Quantity]:
    found = []
    for match in _CN_RUN.finditer(text):
        value = chinese_number(match.group())
        if value is None or any(text.startswith(i, match.start()) for i in vocab.number_idioms):
            continue
        unit = _unit_at(text, match.end(), vocab)
        if unit is None or not re.match(r"[^\x00-\x7f]", unit[0]):
            continue  # numerals count only before a Chinese unit
        if value == 1 and unit[0] in ARTICLE_COUNTS:
            continue  # 一个, 一款: an article
        found.append(_make(text, match.start(), unit[1], value, 0, unit[0], vocab))
    for match in _PERCENT_CN.finditer(text):
        raw = match.group(1)
        value = chinese_number(raw) if not raw[0].isdigit() else parse_number(raw)[0]
        if value is not None:
            found.append(_make(text, match.start(), match.end(), value, 0, "%", vocab))
    for match in _ORDINAL_CN.finditer(text):
        raw = match.group(1)
        value = chinese_number(raw) if not raw.isdigit() else int(raw)
        if value is not None and value != 1:  # 第一 is a superlative, found elsewhere
            found.append(_make(text, match.start(), match.end(), value, 0, None, vocab))
    return found


@cache
def _word_pattern() -> re.Pattern[str]:
    tens = "twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety"
    ones = "one|two|three|four|five|six|seven|eight|nine"
    words = "|".join(sorted(NUMBER_WORDS, key=len, reverse=True))
    return re.compile(rf"\b(?:(?:{tens})-(?:{ones})|{words})\b")


def _words(text: str, vocab: Vocabulary) -> list[Quantity]:
    found = []
    for match in _word_pattern().finditer(text):
        unit = _unit_at(text, match.end(), vocab)
        if unit is None:
            continue
        value = sum(NUMBER_WORDS[w] for w in match.group().split("-"))
        found.append(_make(text, match.start(), unit[1], value, 0, unit[0], vocab))
    return found


def _propagate(found: list[Quantity], text: str, vocab: Vocabulary) -> list[Quantity]:
    """A bare number joined to a measured one ("5-10 kg", "30 x 20 cm") takes its unit."""
    ordered = sorted(found, key=lambda q: q.start)
    for i in range(len(ordered) - 2, -1, -1):
        here, after = ordered[i], ordered[i + 1]
        if here.dimension is not None or after.dimension in (None, "code", "money"):
            continue
        gap = _CONNECTOR.fullmatch(text, here.end, after.start)
        if gap and after.unit:
            ordered[i] = _make(
                text, here.start, here.end, here.value, here.decimals, after.unit, vocab
            )
    return ordered


def _overlaps(a: Quantity, b: Quantity) -> bool:
    return a.start < b.end and b.start < a.end


def quantities(text: str, vocab: Vocabulary) -> list[Quantity]:
    """Every number in ``text`` (normalised: NFKC, case-folded), in reading order."""
    found = _arabic(text, vocab)
    for extra in (_chinese(text, vocab), _words(text, vocab), _codes(text)):
        found.extend(q for q in extra if not any(_overlaps(q, f) for f in found))
    return _propagate(found, text, vocab)
