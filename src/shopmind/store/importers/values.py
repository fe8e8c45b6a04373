"""Parsing the values found in store exports: money, whole numbers, dates, flags, lists."""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

MAX_MONEY = 9_999_999_999.99  # NUMERIC(12, 2)
_CORE = re.compile(r"[-+]?\d[\d.,' \u00a0\u202f\u2009]*")
_GROUPED = re.compile(r"\d{1,3}(?:[,.' ]\d{3})+")
_SPACES = re.compile(r"[ \u00a0\u202f\u2009']")
_TRUE = {"true", "yes", "y", "1", "t", "on", "active", "published", "visible"}
_FALSE = {"false", "no", "n", "0", "f", "off", "-1", "draft", "hidden", "private", "archived"}
_DATE_FORMATS = (
    "%Y-%m-%d %H:%M:%S %z",
    "%Y-%m-%d %H:%M:%S %Z",
    "%Y/%m/%d %H:%M:%S",
    "%Y/%m/%d",
    "%m/%d/%Y %H:%M:%S",
    "%m/%d/%Y %H:%M",
    "%m/%d/%Y",
    "%d.%m.%Y %H:%M:%S",
    "%d.%m.%Y %H:%M",
    "%d.%m.%Y",
)


_ABBREVIATIONS = {"kr", "zł", "zl", "fr", "fr.", "rs", "rs.", "lei", "ft", "kč", "r", "din"}


def _is_currency_marker(text: str) -> bool:
    """'', '$', 'US$', 'EUR', 'R$', 'kr', 'Fr.': currency symbols, ISO codes, short names."""
    text = text.replace(" ", "").replace("\u00a0", "")
    letters = "".join(ch for ch in text if unicodedata.category(ch) != "Sc")
    if not letters:
        return True
    return (letters.isascii() and letters.isupper() and len(letters) <= 3) or (
        letters.lower() in _ABBREVIATIONS
    )


def _split_sign(text: str) -> tuple[bool, str]:
    text = text.strip()
    negative = text.count("-") == 1
    return negative, text.replace("-", "").replace("+", "").strip()


def parse_number(text: str) -> float:
    """'$1,299.00', '1.299,00 €', '€ 12', '12.5', '(3.00)', '1 299,50' → float.

    Raises ``ValueError`` with a short message. A single ``,`` followed by exactly
    three digits is a thousands separator (``1,299``); a single ``.`` is always a
    decimal point; where both appear, the last one is the decimal separator.
    """
    raw = text.strip()
    body = raw
    negative = False
    if body.startswith("(") and body.endswith(")"):
        negative, body = True, body[1:-1]
    match = _CORE.search(body)
    if match is None:
        raise ValueError(f"not a number: {raw[:40]!r}")
    prefix, core, suffix = body[: match.start()], match.group(), body[match.end() :]
    sign_prefix, prefix = _split_sign(prefix)
    sign_suffix, suffix = _split_sign(suffix)
    if not (_is_currency_marker(prefix) and _is_currency_marker(suffix)):
        raise ValueError(f"not a number: {raw[:40]!r}")
    negative = negative or sign_prefix or sign_suffix or core.startswith("-")
    core = core.lstrip("+-").strip()
    value = float(_normalise_digits(core, raw))
    return -value if negative else value


def _normalise_digits(core: str, raw: str) -> str:
    bad = ValueError(f"not a number: {raw[:40]!r}")
    if _SPACES.search(core):
        if not _GROUPED.fullmatch(_SPACES.sub(" ", core).split(",")[0].split(".")[0]):
            raise bad
        core = _SPACES.sub("", core)
    dot, comma = core.rfind("."), core.rfind(",")
    if dot >= 0 and comma >= 0:
        decimal, thousands = (".", ",") if dot > comma else (",", ".")
        whole, _, frac = core.rpartition(decimal)
        if thousands in frac or not _GROUPED.fullmatch(whole):
            raise bad
        core = whole.replace(thousands, "") + "." + frac
    elif comma >= 0:
        whole, _, frac = core.rpartition(",")
        grouped = core.count(",") > 1 or (len(frac) == 3 and whole.strip("0") != "")
        if grouped:
            if not _GROUPED.fullmatch(core):
                raise bad
            core = core.replace(",", "")
        else:
            core = whole + "." + frac
    elif core.count(".") > 1:
        if not _GROUPED.fullmatch(core):
            raise bad
        core = core.replace(".", "")
    if not re.fullmatch(r"\d+(\.\d*)?", core):
        raise bad
    return core


def parse_money(text: str, negative: bool = False) -> float:
    """A price or amount, rounded to cents; negative amounts only where ``negative``."""
    value = parse_number(text)
    if value < 0 and not negative:
        raise ValueError(f"is negative: {text.strip()[:40]!r}")
    if abs(value) > MAX_MONEY:
        raise ValueError(f"out of range: {text.strip()[:40]!r}")
    return round(value, 2)


def parse_int(text: str) -> int:
    """A whole number ('12', '1,200', '3.0')."""
    try:
        value = parse_number(text)
    except ValueError:
        raise ValueError(f"not a whole number: {text.strip()[:40]!r}") from None
    if value != int(value) or abs(value) > 2**31 - 1:
        raise ValueError(f"not a whole number: {text.strip()[:40]!r}")
    return int(value)


def parse_bool(text: str) -> bool:
    value = text.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ValueError(f"not yes/no: {text.strip()[:40]!r}")


def _to_utc(value: datetime) -> datetime:
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    if not 1970 <= value.year < 2100:
        raise ValueError(f"out of range: {value.isoformat()}")
    return value


def parse_datetime(text: str) -> datetime:
    """ISO 8601, Shopify's ``2024-03-01 10:15:00 -0500``, RFC 2822, US ``3/1/2024``,
    European ``1.3.2024`` or epoch seconds/milliseconds → naive UTC."""
    value = text.strip()
    if re.fullmatch(r"\d{9,19}(\.\d+)?", value):
        number = float(value)
        while number > 1e11:  # milli-, micro-, nanoseconds
            number /= 1000
        return _to_utc(datetime.fromtimestamp(number, UTC))
    try:
        return _to_utc(datetime.fromisoformat(value.replace("Z", "+00:00")))
    except ValueError:
        pass
    for fmt in _DATE_FORMATS:
        try:
            return _to_utc(datetime.strptime(value, fmt))
        except ValueError:
            continue
    try:
        return _to_utc(parsedate_to_datetime(value))
    except (TypeError, ValueError, IndexError):
        raise ValueError(f"not a date: {value[:40]!r}") from None


def split_list(text: str, sep: str = ",") -> list[str]:
    """Split on ``sep`` (a backslash escapes it), strip, drop empties, keep order, dedupe."""
    parts = re.split(r"(?<!\\)" + re.escape(sep), text)
    cleaned = (p.replace("\\" + sep, sep).strip() for p in parts)
    return list(dict.fromkeys(p for p in cleaned if p))


_LATIN_WORD = re.compile(r"[A-Za-z\u00c0-\u024f]+")


def detect_language(text: str) -> str:
    """A cheap guess from the script: kana → ja, hangul → ko, Han → zh, else en.

    Han characters win over Latin words when there are at least as many of them
    (``iPhone很好用`` is Chinese; ``I love 包`` is English).
    """
    sample = text[:2000]
    han = kana = hangul = 0
    for ch in sample:
        code = ord(ch)
        if 0x3040 <= code <= 0x30FF:
            kana += 1
        elif 0xAC00 <= code <= 0xD7AF:
            hangul += 1
        elif 0x4E00 <= code <= 0x9FFF or 0x3400 <= code <= 0x4DBF:
            han += 1
    words = len(_LATIN_WORD.findall(sample))
    if kana and kana + han >= words:
        return "ja"
    if hangul and hangul >= words:
        return "ko"
    if han and han >= words:
        return "zh"
    return "en"
