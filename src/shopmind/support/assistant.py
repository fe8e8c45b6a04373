"""One turn of a support conversation: understand, decide, answer, store.

``Assistant(store, settings).chat(message, session=...)`` runs, in this order:

1. **Guard** — a message that tries to steer the assistant (``guard.injection``) gets a
   refusal and goes no further.
2. **Verify** — an order number and an e-mail address in the message are checked
   together (``store.support.verify_order``); a match scopes this session to that one
   order, a mismatch says only that nothing matched. After ``MAX_VERIFY_FAILURES``
   mismatches a person takes over.
3. **Intent** — the classifier's intent and confidence (below ``support_min_confidence``
   the intent is ``unknown``).
4. **Hand-over** — ``handover.handover_reason``; the conversation waits for a person.
5. **Order tools** — order status for the verified order; cancel, address change, order
   change and refund become requests queued for a person. Unverified: the assistant asks
   for the order number and e-mail and remembers what was asked.
6. **Product questions** — from the catalog's facts (``products``), "not stated" when
   they are silent.
7. **Help pages** — the question (rewritten with the conversation's earlier messages when
   it is a follow-up) is searched; with no passage similar enough the assistant says it
   does not know and offers a person, and ``support_max_failures`` such turns in a row
   hand over. Otherwise ``answer`` words the reply from the passages, with citations.

Every turn is stored redacted (``guard.redact``) with its intent, outcome and citations.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shopmind.config import Settings
from shopmind.store import support as records
from shopmind.store.db import Store
from shopmind.support import answer as answering
from shopmind.support.guard import EMAIL, injection, redact
from shopmind.support.handover import handover_reason
from shopmind.support.replies import say
from shopmind.support.text import is_chinese

MAX_VERIFY_FAILURES = 5
FRESH_S = 30.0  # a changed page reaches the answers within this (reading every page is not free)
MAX_MESSAGE_CHARS = 2000
# e5 packs cosines high: at 0.80 no unanswerable Chinese question was declined, at 0.85
# two in three, 0.91 of the answerable still answered (bench/support.py's floor sweep)
E5_MIN_RELEVANCE = 0.85
PRODUCT_MIN_RELEVANCE = 0.45
ORDER_NUMBER = re.compile(
    r"(?<![\w@.-])#?(?=[A-Za-z-]*\d)[A-Za-z]{0,6}-?[A-Za-z]{0,2}\d{3,20}(?![\w@])"
)
STATUS_INTENTS = {"track_order", "track_refund"}
REQUEST_INTENTS = {"cancel_order": "cancel_order", "change_shipping_address": "change_address",
                   "change_order": "change_order", "get_refund": "refund"}  # fmt: skip
_QUESTION = re.compile(
    r"\?|？|^\s*(?:how|what|when|which|is|are|do|does|can|could|may|until|within)\b|"
    r"多久|多长|怎么|如何|可以吗|能不能|是否",
    re.IGNORECASE,
)
_HELLO = re.compile(r"^\s*(?:hi|hello|hey|good (?:morning|afternoon|evening)|你好|您好|嗨)\W*$",
                    re.IGNORECASE)  # fmt: skip
_THANKS = re.compile(r"^\s*(?:thanks?(?: you)?|thx|cheers|great|ok(?:ay)?|谢谢|多谢|好的)\W*$",
                     re.IGNORECASE)  # fmt: skip


_indexes: dict[tuple[str, str], tuple[float, Any]] = {}


class SupportError(ValueError):
    """A message the assistant cannot take (empty, too long)."""


@dataclass
class Reply:
    session: str
    answer: str
    outcome: str
    language: str
    intent: str | None = None
    confidence: float | None = None
    citations: list[dict[str, Any]] = field(default_factory=list)
    handover: bool = False
    handover_reason: str | None = None
    request: dict[str, Any] | None = None
    writer: str | None = None
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return {"session": self.session, "answer": self.answer, "citations": self.citations,
                "intent": self.intent, "confidence": self.confidence,
                "handover": self.handover, "handover_reason": self.handover_reason,
                "outcome": self.outcome, "language": self.language,
                "request": self.request, "writer": self.writer}  # fmt: skip


def order_number(text: str) -> str | None:
    without_emails = EMAIL.sub(" ", text)
    m = ORDER_NUMBER.search(without_emails)
    return m.group() if m else None


def citation(n: int, passage: Any) -> dict[str, Any]:
    return {"n": n, "title": passage.title, "url": passage.url, "source": passage.source,
            "ref": passage.ref, "passage": passage.id}  # fmt: skip


class Assistant:
    """The support assistant of one store (see the module)."""

    def __init__(self, store: Store, settings: Settings, models_dir: str | Path | None = None,
                 model: Any = None) -> None:  # fmt: skip
        self.store = store
        self.settings = settings
        self.models_dir = Path(models_dir) if models_dir else settings.models_dir
        self._model = model

    # -- what it reads ------------------------------------------------------------------

    def index(self) -> Any:
        """The published index, checked against the store at most every ``FRESH_S``."""
        from shopmind.support.knowledge import ensure_index

        key = (self.store.engine.url.render_as_string(), str(self.models_dir.resolve()))
        checked = _indexes.get(key)
        if checked is None or time.monotonic() - checked[0] > FRESH_S:
            checked = (time.monotonic(), ensure_index(self.store, self.models_dir))
            _indexes[key] = checked
        return checked[1]

    def classifier(self) -> Any:
        from shopmind.support.intents import load_intents

        return load_intents(self.models_dir)

    def writer(self) -> str:
        w = self.settings.support_writer
        if w == "auto":
            return "model" if self.settings.llm_backend == "openai" else "extractive"
        return w

    def model(self) -> Any:
        if self._model is None:
            from shopmind.models.llm import load_language_model

            self._model = load_language_model(self.settings)
        return self._model

    # -- one turn -------------------------------------------------------------------------

    def chat(self, message: str, session: str | None = None, channel: str = "api",
             product: str | None = None) -> Reply:  # fmt: skip
        started = time.perf_counter()
        text = " ".join(message.split())
        if not text:
            raise SupportError("the message is empty")
        if len(text) > MAX_MESSAGE_CHARS:
            raise SupportError(f"the message is longer than {MAX_MESSAGE_CHARS} characters")
        language = "zh" if is_chinese(text) else "en"
        conv = records.open_conversation(self.store, session, channel, language)
        conv.language = language
        if conv.status == "closed":
            conv.status, conv.failures, conv.handover_reason = "open", 0, None
        turn = _Turn(self, conv, text, product)
        reply = turn.run()
        reply.seconds = time.perf_counter() - started
        turn.save(reply)
        return reply

    def stream(self, message: str, session: str | None = None, channel: str = "api",
               product: str | None = None) -> Iterator[dict[str, Any]]:  # fmt: skip
        """The reply as events: ``{"type": "sentence", "text"}`` for each checked sentence,
        then ``{"type": "done", **reply}``."""
        reply = self.chat(message, session, channel, product)
        parts = re.findall(r"[^.!?。！？]+(?:[.!?。！？]+(?:\s*\[\d+\])?|$)\s*", reply.answer)
        for part in parts or [reply.answer]:
            if part.strip():
                yield {"type": "sentence", "text": part}
        yield {"type": "done", **reply.as_dict()}


class _Turn:
    def __init__(self, assistant: Assistant, conv: records.Conversation, text: str,
                 product: str | None) -> None:  # fmt: skip
        self.a, self.conv, self.text, self.product = assistant, conv, text, product
        self.lang = conv.language
        self.intent: str | None = None
        self.confidence: float | None = None
        self.requests: list[dict[str, Any]] = []

    def reply(self, outcome: str, answer: str, **kw: Any) -> Reply:
        return Reply(self.conv.session_key, answer, outcome, self.lang, self.intent,
                     self.confidence, **kw)  # fmt: skip

    def run(self) -> Reply:
        conv = self.conv
        if injection(self.text):
            return self.reply("refused", say(self.lang, "refused"))
        urgent = handover_reason(self.text)  # a threat or a takeover outranks a look-up
        if urgent in ("legal", "account_security") and conv.status != "handover":
            return self.hand_over(urgent)
        verified = self.verify()
        if verified is not None:
            return verified
        self.classify()
        if conv.status == "handover":
            return self.reply("waiting", say(self.lang, "waiting"), handover=True,
                              handover_reason=conv.handover_reason)  # fmt: skip
        if _HELLO.match(self.text):
            return self.reply("smalltalk", say(self.lang, "hello"))
        if _THANKS.match(self.text):
            return self.reply("smalltalk", say(self.lang, "thanks"))
        reason = handover_reason(self.text, self.intent, confidence=self.confidence or 0.0)
        if reason:
            return self.hand_over(reason)
        if self.policy_first():  # "how long does a refund take?": the policy first
            general = self.from_pages(decline=False)
            if general is not None:
                self.conv.state["pending"] = self.intent
                offer = "verify_offer" if self.intent in STATUS_INTENTS else "request_offer"
                general.answer += " " + say(self.lang, offer)
                return general
        if self.intent in STATUS_INTENTS or self.intent in REQUEST_INTENTS:
            return self.order_tool(self.intent)
        found = self.product_answer()
        if found is not None:
            return found
        return self.from_pages()  # type: ignore[return-value]

    # -- steps ----------------------------------------------------------------------------

    def policy_first(self) -> bool:
        """An order intent asked as a general question, before any order is known: tracking
        and refund status always; a request (cancel, change, refund) when asked as a
        question ("how soon must I cancel?"), not as an order ("cancel my order")."""
        if self.conv.order_id is not None or order_number(self.text):
            return False
        if self.intent in STATUS_INTENTS:
            return True
        return self.intent in REQUEST_INTENTS and bool(_QUESTION.search(self.text))

    def classify(self) -> None:
        pred = self.a.classifier().predict([self.text])[0]
        floor = self.a.settings.support_min_confidence
        self.intent = pred.best if pred.confidence >= floor else "unknown"
        self.confidence = round(float(pred.confidence), 4)

    def hand_over(self, reason: str) -> Reply:
        self.conv.status, self.conv.handover_reason = "handover", reason
        return self.reply(reason if reason == "repeated_failure" else "handover",
                          say(self.lang, "handover", reason=reason), handover=True,
                          handover_reason=reason)  # fmt: skip

    def verify(self) -> Reply | None:
        """Check an order number + e-mail in the message; None when it holds neither."""
        state = self.conv.state
        number = order_number(self.text)
        emails = EMAIL.findall(self.text)
        if number and not emails:
            state["order_number"] = number  # asked for the e-mail next
            return (
                None
                if state.get("pending") is None
                else self.reply("verify", say(self.lang, "verify"))
            )
        if not emails:
            return None
        number = number or state.get("order_number")
        if not number:
            return None
        if state.get("verify_failures", 0) >= MAX_VERIFY_FAILURES:
            return self.hand_over("verification_failed")
        order_id = records.verify_order(self.a.store, number, emails[0])
        state.pop("order_number", None)
        if order_id is None:
            state["verify_failures"] = state.get("verify_failures", 0) + 1
            if state["verify_failures"] >= MAX_VERIFY_FAILURES:
                return self.hand_over("verification_failed")
            return self.reply("verify_failed", say(self.lang, "verify_failed"))
        self.conv.order_id = order_id
        pending = state.pop("pending", None) or "track_order"
        self.intent = pending
        return self.order_tool(pending, just_verified=True)

    def order_tool(self, intent: str, just_verified: bool = False) -> Reply:
        if self.conv.order_id is None:
            self.conv.state["pending"] = intent
            return self.reply("verify", say(self.lang, "verify"))
        status = records.order_status(self.a.store, self.conv.order_id)
        kind = REQUEST_INTENTS.get(intent)
        if kind is None:
            return self.reply("order_status", self.status_text(status, just_verified))
        self.requests.append({"kind": kind, "order_id": self.conv.order_id,
                              "details": redact(self.text)[:2000]})  # fmt: skip
        answer = say(self.lang, "queued", kind=kind, number=status["number"])
        return self.reply("queued", answer, request={"kind": kind, "order": status["number"],
                                                     "status": "queued"})  # fmt: skip

    def status_text(self, st: dict[str, Any], just_verified: bool) -> str:
        items = ", ".join(f"{i['title']} × {i['quantity']}" for i in st["items"]) or "-"
        cancelled = (
            (" (cancelled)" if self.lang == "en" else "（已取消）") if st["cancelled"] else ""
        )
        text = say(self.lang, "status", number=st["number"], date=st["created_at"][:10],
                   payment=st["financial_status"] or "-",
                   fulfilment=st["fulfillment_status"] or "-", cancelled=cancelled,
                   items=items)  # fmt: skip
        if just_verified:
            text = say(self.lang, "verified", number=st["number"]) + " " + text
        return text

    def product_answer(self) -> Reply | None:
        from shopmind.support.products import answer_product, asked_property

        prop = asked_property(self.text)
        if prop is None or (self.intent not in ("product_question", "unknown")
                            and not self.product):  # fmt: skip
            return None
        ref = self.product or self.named_product()
        if ref is None:
            return None
        found = answer_product(self.a.store, ref, self.text)
        if found is None or found.property is None:
            return None
        cite = [{"n": 1, "title": found.title, "url": None, "source": "product",
                 "ref": found.product, "passage": f"product:{found.product}"}]  # fmt: skip
        if found.stated:
            facts = "; ".join(found.facts)
            return self.reply("answered", say(self.lang, "stated", title=found.title,
                                              facts=facts) + " [1]", citations=cite)  # fmt: skip
        return self.reply("not_stated", say(self.lang, "not_stated", title=found.title,
                                            prop=found.property), citations=cite)  # fmt: skip

    def named_product(self) -> str | None:
        from shopmind.support.retrieve import search

        hits = search(self.a.index(), self.text, k=1, sources={"product"})
        if hits and hits[0].similarity >= PRODUCT_MIN_RELEVANCE and hits[0].bm25_rank is not None:
            return hits[0].passage.ref
        return None

    def from_pages(self, decline: bool = True) -> Reply | None:
        """An answer from the help pages; without a relevant passage the assistant declines
        (or, with ``decline=False``, returns None)."""
        from shopmind.support.retrieve import rewrite, search

        history = records.shopper_history(self.a.store, self.conv.id)
        query = rewrite(self.text, history)
        hits = search(self.a.index(), query, k=5, sources={"page", "faq"})
        floor = E5_MIN_RELEVANCE if is_chinese(query) else self.a.settings.support_min_relevance
        relevant = [h for h in hits if h.similarity >= floor]
        if not relevant:
            return self.decline() if decline else None
        self.conv.failures = 0
        passages = [h.passage for h in relevant[:3]]
        ans = self.words(query, passages)
        cites = [citation(i + 1, p) for i, p in enumerate(ans.citations)]
        return self.reply("answered", ans.text, citations=cites, writer=ans.writer)

    def words(self, query: str, passages: list[Any]) -> answering.Answer:
        if self.a.writer() != "model":
            return answering.extractive(query, passages)
        remote = self.a.settings.llm_backend == "openai"
        asked = (
            query if (not remote or self.a.settings.support_send_personal_data) else redact(query)
        )
        try:
            return answering.with_model(self.a.model(), asked, passages)
        except Exception as exc:  # a model that fails must not leave the shopper unanswered
            out = answering.extractive(query, passages)
            out.notes.append(f"language model failed: {type(exc).__name__}")
            return out

    def decline(self) -> Reply:
        self.conv.failures += 1
        if self.conv.failures >= self.a.settings.support_max_failures:
            return self.hand_over("repeated_failure")
        return self.reply("declined", say(self.lang, "not_found"))

    # -- storing ---------------------------------------------------------------------------

    def save(self, reply: Reply) -> None:
        self.conv.turns += 1
        shopper = {"role": "shopper", "text": redact(self.text), "intent": self.intent,
                   "confidence": self.confidence, "outcome": reply.outcome}  # fmt: skip
        bot = {"role": "assistant", "text": redact(reply.answer), "outcome": reply.outcome,
               "citations": reply.citations}  # fmt: skip
        ids = records.save_turn(self.a.store, self.conv, [shopper, bot], self.requests)
        if reply.request is not None and ids:
            reply.request["id"] = ids[0]
