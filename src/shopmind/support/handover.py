"""When a person takes over, and the reason recorded with it.

In order of precedence:

- ``legal``: a threat of legal action (lawyer, lawsuit, court, small claims, a complaint
  to a consumer authority; 律师, 起诉, 法院, 投诉到 …).
- ``account_security``: a hacked or taken-over account, a login the shopper did not make,
  a stolen card or an unauthorised charge — nothing a bot should walk through.
- ``payment``: the message's intent is a payment problem (``payment_issue``): money is
  involved and the store's payment records are not the assistant's to read.
- ``asked_for_person``: the shopper asks for a human: words such as "real person",
  "agent", 人工, or the ``contact_human_agent`` intent at ``PERSON_SURE`` confidence (below
  it the classifier also says so of "are you hiring engineers?").
- ``frustration``: anger or exasperation — VADER's compound score at or below
  ``ANGER`` with a sign of heat (an exclamation, capitals, a swear word, "again",
  "still"), or a strong Chinese complaint word.
- ``repeated_failure``: the assistant could not help ``max_failures`` turns in a row.
- ``verification_failed`` (decided by the assistant, not here): too many order numbers
  and e-mails that did not match — a person checks who is asking.

Each rule is a small, readable test on the message, so a merchant can see why a
conversation reached the inbox; the labelled set in ``bench/support.py`` measures their
precision and recall.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any

ANGER = -0.45
PERSON_SURE = 0.8  # the contact_human_agent intent alone hands over only this sure
REASONS = (
    "legal",
    "account_security",
    "payment",
    "asked_for_person",
    "frustration",
    "repeated_failure",
    "verification_failed",
)

_LEGAL = re.compile(
    r"\b(?:lawyers?|attorneys?|solicitors?|lawsuit|sue|suing|legal action|take (?:you|this) to "
    r"court|court|small claims|trading standards|consumer protection|ombudsman|bbb)\b"
    r"|律师|起诉|法院|诉讼|消协|消费者协会|投诉到|12315",
    re.IGNORECASE,
)
_SECURITY = re.compile(
    r"\b(?:hack(?:ed|er)?|compromised|someone (?:else )?(?:logged|signed) in|"
    r"(?:didn'?t|did not|never) (?:make|authori[sz]e|place|order)|unauthori[sz]ed|fraud(?:ulent)?|"
    r"stolen (?:card|account|identity)|identity theft|phishing|"
    r"charged (?:twice|two times|double))\b"
    r"|被盗|盗号|盗刷|被黑|账号被|不是我(?:下|买)的|重复扣款|扣了两次",
    re.IGNORECASE,
)
_PERSON = re.compile(
    r"\b(?:human|real person|live (?:agent|person|chat)|(?:an?|the|your) agent|"
    r"representative|someone (?:real|from your team)|speak (?:to|with) (?:a |someone|somebody)|"
    r"talk (?:to|with) (?:a |someone|somebody)|call me|manager|supervisor)\b"
    r"|人工|真人|转人工|客服人员|找人",
    re.IGNORECASE,
)
_HEAT = re.compile(
    r"!|\b(?:again|still|ridiculous|unacceptable|useless|worst|scam|"
    r"fed up|sick of|wtf|damn|hell|crap|shit|fuck\w*|pathetic|joke)\b",
    re.IGNORECASE,
)
_ZH_ANGER = re.compile(r"气死|垃圾|太差|骗子|无语|坑人|滚|什么破|差评|恶心|忍无可忍|太过分")


@cache
def _vader() -> Any:
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    return SentimentIntensityAnalyzer()


def frustrated(text: str) -> bool:
    if _ZH_ANGER.search(text):
        return True
    shouting = sum(w.isupper() and len(w) > 2 for w in text.split()) >= 2
    heat = bool(_HEAT.search(text)) or shouting
    return heat and _vader().polarity_scores(text)["compound"] <= ANGER


def handover_reason(
    text: str,
    intent: str | None = None,
    failures: int = 0,
    max_failures: int = 2,
    confidence: float = 1.0,
) -> str | None:
    """Why this message goes to a person (one of ``REASONS``), or None."""
    if _LEGAL.search(text):
        return "legal"
    if _SECURITY.search(text):
        return "account_security"
    if intent == "payment_issue":
        return "payment"
    if _PERSON.search(text) or (intent == "contact_human_agent" and confidence >= PERSON_SURE):
        return "asked_for_person"
    if frustrated(text):
        return "frustration"
    if failures >= max_failures:
        return "repeated_failure"
    return None
