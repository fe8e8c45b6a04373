"""Guardrails (OWASP Top 10 for LLM applications): what the assistant masks, recognises
and refuses.

The first defence is structural, not here: the assistant never takes instructions from
text. A shopper's message is classified, searched for and answered from the store's
passages; a language model, when one words the answer, sees the passages and the question
as quoted data under a fixed system prompt, and each sentence it writes must be supported
by a passage before the shopper sees it (``shopmind.support.answer``). Its tools read one
verified order and queue requests; none acts.

This module adds what structure cannot:

- ``redact``: e-mail addresses, phone numbers and payment-card numbers (13–19 digits
  passing the Luhn check) become ``[email]``, ``[phone]``, ``[card]`` — in every stored
  transcript, and in what is sent to a remote model unless the merchant allows it.
- ``injection``: a message that tries to steer the assistant (override its instructions,
  reveal its prompt, change its role, speak as the system). It is answered with a refusal
  and never reaches a model.
- ``leaks``: an answer that repeats a run of the system prompt is withheld.
"""

from __future__ import annotations

import re

# ASCII classes on purpose: in Python's regexes \w also matches Han characters, so
# "手机13800138000" would not have been a number standing on its own.
EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")
_CARD = re.compile(r"(?<!\d)(?:\d[ -]?){12,18}\d(?!\d)")
_PHONE = re.compile(r"(?<![A-Za-z0-9_#])\+?\(?\d[\d ().-]{6,}\d(?![A-Za-z0-9_])")
_ORDER_WORD = re.compile(r"(?:order|#|no\.?|number|订单|单号)\s*$", re.IGNORECASE)

_INJECTION = [
    r"\b(?:ignore|disregard|forget|override|bypass|skip)\b.{0,40}\b(?:instruction|instructions|"
    r"rules|prompt|guidelines|directions|system)\b",
    r"\b(?:system|initial|hidden|original|developer|secret)\s+(?:prompt|message|instructions?)\b",
    r"\b(?:reveal|print|show|repeat|output|display|tell me|give me|leak|dump)\b.{0,40}"
    r"\b(?:your|the)\s+(?:instructions|prompt|rules|configuration|guidelines)\b",
    r"\byou are now\b|\bfrom now on you\b|\bact as\b|\bpretend (?:to be|you)\b|\broleplay\b",
    r"\b(?:jailbreak|DAN mode|developer mode|god mode)\b",
    r"(?:^|\n)\s*(?:system|assistant)\s*:|<\|im_start\|>|<\|system\|>|\[/?INST\]|###\s*instruction",
    r"\b(?:other|another|all|every)\s+(?:customers?|users?|people|shoppers?)'?s?\b.{0,30}"
    r"\b(?:orders?|e-?mails?|addresses|data|details|information)\b",
    r"\b(?:list|export|dump|show)\b.{0,20}\b(?:all|every)\b.{0,20}\b(?:orders|customers|emails)\b",
    r"忽略.{0,10}(?:指令|指示|规则|提示|要求)|系统提示|提示词|你现在是|扮演|越狱|"
    r"(?:其他|别的|所有)(?:客户|用户|顾客).{0,6}(?:订单|邮箱|地址|信息|资料)",
]
INJECTION = re.compile("|".join(f"(?:{p})" for p in _INJECTION), re.IGNORECASE | re.DOTALL)


def luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def _card(match: re.Match[str]) -> str:
    digits = re.sub(r"\D", "", match.group())
    return "[card]" if 13 <= len(digits) <= 19 and luhn_ok(digits) else match.group()


def _phone(text: str) -> str:
    out, last = [], 0
    for m in _PHONE.finditer(text):
        digits = re.sub(r"\D", "", m.group())
        if not 9 <= len(digits) <= 15 or _ORDER_WORD.search(
            text[max(0, m.start() - 12) : m.start()]
        ):
            continue
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", m.group().strip()):  # a date
            continue
        out.append(text[last : m.start()] + "[phone]")
        last = m.end()
    return "".join(out) + text[last:]


def redact(text: str) -> str:
    """``text`` with e-mail addresses, card numbers and phone numbers masked."""
    text = EMAIL.sub("[email]", text)
    text = _CARD.sub(_card, text)
    return _phone(text)


def injection(text: str) -> str | None:
    """The part of ``text`` that tries to steer the assistant, or None."""
    m = INJECTION.search(text)
    return m.group().strip()[:200] if m else None


def leaks(answer: str, secret: str, run: int = 8) -> bool:
    """Whether ``answer`` repeats ``run`` consecutive words of ``secret``."""
    words = re.findall(r"\w+", secret.casefold())
    said = " " + " ".join(re.findall(r"\w+", answer.casefold())) + " "
    return any(
        f" {' '.join(words[i : i + run])} " in said for i in range(max(0, len(words) - run + 1))
    )
