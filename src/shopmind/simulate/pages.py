"""The simulated store's help centre: policy pages, FAQ pairs and a support benchmark.

Store policy (free-delivery threshold, return window, payment methods …) is drawn per seed
from sensible ranges and written into every page that mentions it, in plain English and,
for shipping and returns, in Chinese. Each page is assembled from templates with
alternatives, so another seed gives other numbers *and* other wording.

The ground truth is a list of shopper questions that paraphrase the help content, each
naming the page (or FAQ) that answers it and the key value the answer must contain, plus
questions the help centre does not answer (an assistant should decline those honestly).

>>> centre = help_centre(SimulationConfig(seed=3))
>>> len(centre.pages), len(centre.questions)  # doctest: +SKIP
(42, 81)
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from random import Random
from typing import Any

from shopmind.simulate.catalog import CATEGORIES, SIZE_SYSTEMS, Category
from shopmind.simulate.config import SimulationConfig
from shopmind.simulate.sessions import FREE_SHIPPING, SHIPPING_FEE

BASE_URL = "https://shop.example"
ENGLISH_QUESTIONS = 70  # phrasings asked in English; ~11 Chinese ones come on top
Text = str | tuple[str, ...]  # a template, or alternatives of which the seed picks one

STORES = (
    ("Hearth & Loom", "hearthandloom"), ("Fernway", "fernway"), ("Kindred Goods", "kindred"),
    ("Tidewater Supply", "tidewater"), ("Marlow & Vine", "marlowvine"), ("Northfold", "northfold"),
)  # fmt: skip
COUNTRIES = (
    ("the United States", "美国"), ("Canada", "加拿大"), ("the United Kingdom", "英国"),
    ("Ireland", "爱尔兰"), ("Germany", "德国"), ("France", "法国"), ("the Netherlands", "荷兰"),
    ("Belgium", "比利时"), ("Spain", "西班牙"), ("Italy", "意大利"), ("Sweden", "瑞典"),
    ("Denmark", "丹麦"), ("Australia", "澳大利亚"), ("New Zealand", "新西兰"),
    ("Japan", "日本"), ("Singapore", "新加坡"),
)  # fmt: skip
METHODS = ("American Express", "PayPal", "Apple Pay", "Google Pay", "Klarna", "Alipay")
CUTOFFS = {"noon": "中午12点", "1 pm": "下午1点", "2 pm": "下午2点", "3 pm": "下午3点"}
SUPPORT_HOURS = ("8 am to 6 pm", "9 am to 5 pm", "9 am to 6 pm", "10 am to 7 pm")
SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£", "AUD": "A$", "CAD": "C$"}
TIME_ZONES = {"USD": "Eastern Time", "GBP": "UK time", "CAD": "Eastern Time", "AUD": "Sydney time"}


@dataclass(frozen=True)
class HelpCentre:
    """A store's help pages (rows for the ``pages`` table) and the support ground truth.

    ``questions``: ``question``, ``page`` (the external id that answers it), ``also`` (other
    pages that answer it too), ``fact`` (what the answer must contain, or None), ``topic``
    and ``language``. ``unanswerable``: ``question`` and ``language``.
    """

    policy: dict[str, Any]
    pages: list[dict[str, Any]]
    questions: list[dict[str, Any]]
    unanswerable: list[dict[str, Any]]

    def truth(self) -> dict[str, Any]:
        """The JSON-ready support truth (the ``support`` key of the truth file)."""
        return {
            "policy": self.policy,
            "pages": [p["external_id"] for p in self.pages],
            "questions": self.questions,
            "unanswerable": self.unanswerable,
        }


def help_centre(config: SimulationConfig, rng: Random | int | None = None) -> HelpCentre:
    """The help centre of the store ``config`` simulates; the same seed, the same pages.

    ``rng`` is a ``Random`` to draw from, or a seed (default ``config.seed``); the draws
    are independent of the catalog's, so adding pages changed no other simulated data.
    """
    r = (
        rng
        if isinstance(rng, Random)
        else Random(f"help-centre:{config.seed if rng is None else rng}")
    )
    policy = draw_policy(config, r)
    values = _values(policy)
    present = CATEGORIES[: min(config.products, len(CATEGORIES))]  # see build_catalog
    stamp = datetime.combine(config.start, datetime.min.time())
    pages = [_page(r, slug, kind, title, body, values, stamp) for slug, kind, title, body in (
        *DOCS, ("size-guide", "page", SIZE_TITLE, _size_guide(present)),
        ("care", "page", CARE_TITLE, _care(present)),
    )]  # fmt: skip
    pages += [
        _page(r, slug, kind, title, body, values, stamp, "zh")
        for slug, kind, title, body in ZH_DOCS
    ]
    faqs = [f for f in FAQS if f[0] != "shoe-size" or _has(present, "shoe")]
    pages += [_faq(r, slug, q, a, values, stamp) for slug, q, a in faqs]
    pages += [_faq(r, slug, q, a, values, stamp, "zh") for slug, q, a in ZH_FAQS]
    return HelpCentre(
        policy=policy,
        pages=pages,
        questions=_questions(r, policy, values, present, {p["external_id"] for p in pages}),
        unanswerable=[{"question": q, "language": "en"} for q in r.sample(UNANSWERABLE, 13)]
        + [{"question": q, "language": "zh"} for q in r.sample(ZH_UNANSWERABLE, 2)],
    )


def support_truth(config: SimulationConfig) -> dict[str, Any]:
    """The support benchmark's truth for ``config`` without running the simulation."""
    return help_centre(config).truth()


# -- policy -----------------------------------------------------------------------------


def draw_policy(config: SimulationConfig, r: Random) -> dict[str, Any]:
    """The store's rules, drawn from sensible ranges; JSON-ready."""
    name, domain = r.choice(STORES)
    lo = r.randint(3, 5)
    fast = r.randint(1, min(2, lo - 2))  # express is always quicker than standard
    countries = sorted(r.sample(range(len(COUNTRIES)), k=r.randint(6, 10)))
    extra = sorted(r.sample(range(len(METHODS)), k=r.randint(2, 4)))
    return {
        "store": name,
        "email": f"support@{domain}.example",
        "privacy_email": f"privacy@{domain}.example",
        "currency": config.currency,
        # the rates the simulated checkout charges (sessions.py): the pages tell the truth
        "free_shipping": FREE_SHIPPING,
        "standard_days": [lo, lo + r.randint(2, 3)],
        "standard_price": SHIPPING_FEE,
        "express_days": [fast, fast + 1],
        "express_price": r.choice((12.95, 14.95, 15.0, 18.5, 19.95)),
        "cutoff": r.choice(list(CUTOFFS)),
        "countries": [COUNTRIES[i][0] for i in countries],
        "countries_zh": [COUNTRIES[i][1] for i in countries],
        "return_days": r.choice((14, 21, 30, 45, 60)),
        "return_fee": r.choice((None, None, 3.95, 4.95, 5.95)),
        "refund_days": r.randint(3, 10),
        "payment_methods": ["Visa", "Mastercard"] + [METHODS[i] for i in extra],
        "charged": r.choice(("when you place the order", "when we dispatch the order")),
        "cancel_hours": r.choice((1, 2, 6, 12, 24)),
        "support_days": r.choice(("Monday to Friday", "Monday to Saturday")),
        "support_hours": r.choice(SUPPORT_HOURS),
        "reply_hours": r.choice((24, 48)),
        "warranty_months": r.choice((6, 12, 18, 24)),
        "reset_minutes": r.choice((30, 60, 90)),
        "tracking_hours": r.choice((12, 24, 48)),
        "lost_days": r.choice((5, 7, 10)),
        "damage_days": r.choice((2, 3, 7)),
        "retention_years": r.choice((3, 5, 7)),
        "min_age": r.choice((16, 18)),
    }


def _money(amount: float, currency: str) -> str:
    number = f"{amount:.0f}" if amount == int(amount) else f"{amount:.2f}"
    symbol = SYMBOLS.get(currency)
    return f"{symbol}{number}" if symbol else f"{number} {currency}"


def _count(n: int, unit: str) -> str:
    return f"{n} {unit}" if n == 1 else f"{n} {unit}s"


def _and(items: list[str], word: str = "and") -> str:
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} {word} {items[-1]}"


def _values(p: dict[str, Any]) -> dict[str, str]:
    """Every template placeholder, as the text that fills it."""
    cur = p["currency"]
    lo, hi = p["standard_days"]
    fast, slow = p["express_days"]
    fee = p["return_fee"]
    v = {
        "store": p["store"],
        "email": p["email"],
        "privacy_email": p["privacy_email"],
        "currency": cur,
        "free": _money(p["free_shipping"], cur),
        "std_days": f"{lo} to {hi}",
        "std_zh": f"{lo}至{hi}",
        "std_price": _money(p["standard_price"], cur),
        "exp_days": f"{fast} to {slow}",
        "exp_zh": f"{fast}至{slow}",
        "exp_price": _money(p["express_price"], cur),
        "cutoff": p["cutoff"],
        "cutoff_zh": CUTOFFS[p["cutoff"]],
        "countries": _and(p["countries"]),
        "countries_zh": "、".join(p["countries_zh"]),
        "return_days": _count(p["return_days"], "day"),
        "return_n": str(p["return_days"]),
        "return_fee": "free of charge" if fee is None else _money(fee, cur),
        "refund_days": _count(p["refund_days"], "business day"),
        "refund_n": str(p["refund_days"]),
        "methods": _and(p["payment_methods"]),
        "charged": p["charged"],
        "cancel": _count(p["cancel_hours"], "hour"),
        "cancel_n": str(p["cancel_hours"]),
        "support_days": p["support_days"],
        "support_hours": p["support_hours"],
        "tz": TIME_ZONES.get(cur, "Central European Time"),
        "reply": _count(p["reply_hours"], "hour"),
        "warranty": _count(p["warranty_months"], "month"),
        "warranty_n": str(p["warranty_months"]),
        "reset": _count(p["reset_minutes"], "minute"),
        "tracking": _count(p["tracking_hours"], "hour"),
        "lost": _count(p["lost_days"], "business day"),
        "damage": _count(p["damage_days"], "day"),
        "retention": _count(p["retention_years"], "year"),
        "min_age": str(p["min_age"]),
        "tax": "at checkout" if cur in ("USD", "CAD") else "include VAT",
    }
    v["return_cost"] = (
        "Returns are free of charge from every country we deliver to: the return label is on us."
        if fee is None
        else f"A prepaid return label costs {v['return_fee']}, which we take off your refund. "
        "You may also send the parcel with a carrier of your choice at your own cost; "
        "please use a tracked service."
    )
    v["return_cost_zh"] = (
        "所有配送国家均可免费退货，退货标签由我们承担。"
        if fee is None
        else f"预付退货标签的费用为{v['return_fee']}，将从退款中扣除。"
    )
    v["return_fee_zh"] = "免费" if fee is None else v["return_fee"]
    v["tax_terms"] = (
        "Prices are shown without sales tax. Sales tax is calculated at checkout from your "
        "delivery address and shown before you pay."
        if v["tax"] == "at checkout"
        else f"Prices are shown in {cur} and include VAT at the rate of your delivery "
        "country, so the price you see is the price you pay for the goods."
    )
    return v


# -- rows -------------------------------------------------------------------------------


def _pick(r: Random, text: Text) -> str:
    return text if isinstance(text, str) else r.choice(text)


def _page(
    r: Random,
    slug: str,
    kind: str,
    title: Text,
    paragraphs: tuple[Text, ...],
    values: dict[str, str],
    stamp: datetime,
    language: str = "en",
) -> dict[str, Any]:
    folder = "help/zh" if language == "zh" else "help"
    return {
        "external_id": f"{folder}/{slug}.md",
        "kind": kind,
        "title": _pick(r, title).format(**values),
        "body": "\n\n".join(_pick(r, p).format(**values) for p in paragraphs),
        "question": None,
        "url": f"{BASE_URL}/{'zh/' if language == 'zh' else ''}help/{slug}",
        "language": language,
        "updated_at": stamp - timedelta(days=r.randint(7, 300)),
    }


def _faq(
    r: Random,
    slug: str,
    question: Text,
    answer: Text,
    values: dict[str, str],
    stamp: datetime,
    language: str = "en",
) -> dict[str, Any]:
    asked = _pick(r, question).format(**values)
    return {
        "external_id": f"faq:{slug}",
        "kind": "faq",
        "title": asked,
        "body": _pick(r, answer).format(**values),
        "question": asked,
        "url": f"{BASE_URL}/{'zh/' if language == 'zh' else ''}help/faq#{slug}",
        "language": language,
        "updated_at": stamp - timedelta(days=r.randint(7, 300)),
    }


# -- pages ------------------------------------------------------------------------------

DOCS: tuple[tuple[str, str, Text, tuple[Text, ...]], ...] = (
    ("shipping", "policy", ("Shipping and delivery", "Delivery information"), (
        ("{store} ships every order from its own warehouse with a tracked courier. We currently "
         "deliver to {countries}. If your country is not on this list, we are sorry: we cannot "
         "send orders there yet, and checkout will not accept the address.",
         "Every {store} order leaves our warehouse with a tracked courier. The countries we "
         "deliver to are {countries}. Addresses in other countries cannot be chosen at checkout "
         "for now, but we add new destinations from time to time."),
        ("Standard delivery takes {std_days} business days and costs {std_price}. Orders of "
         "{free} or more ship free with standard delivery, wherever you are on our list of "
         "countries. Express delivery arrives in {exp_days} business days for a flat "
         "{exp_price}; the free-delivery threshold does not apply to express.",
         "You choose standard or express delivery at checkout. Standard delivery costs "
         "{std_price} and takes {std_days} business days; it is free once your order reaches "
         "{free}. Express delivery costs a flat {exp_price}, whatever the order value, and "
         "takes {exp_days} business days."),
        "Orders placed before {cutoff} on a business day leave the warehouse the same day. "
        "Orders placed later, at weekends or on public holidays leave on the next business day. "
        "Delivery times are counted from dispatch, not from the moment you order, and can run a "
        "little longer during the December peak.",
        ("Parcels crossing a border may be charged import duties and local taxes by the carrier "
         "on arrival. These charges are set by customs and are paid by the recipient; we cannot "
         "predict or refund them. A parcel refused because of duties comes back to us and is "
         "refunded minus the delivery cost.",
         "Import duties and local taxes on cross-border parcels are set by customs and are paid "
         "by the recipient when the carrier delivers. We cannot predict or refund them. If you "
         "refuse a parcel because of duties, it returns to us and we refund it minus the "
         "delivery cost."),
        "Questions about a delivery? Write to {email} with your order number and we will look "
        "into it.",
    )),
    ("returns", "policy", ("Returns and exchanges", "Returning an item"), (
        ("Changed your mind? You can return items within {return_days} of delivery for a "
         "refund. Items must be unworn, unwashed and in their original condition, with all tags "
         "still attached.",
         "We accept returns within {return_days} of the delivery date. To be accepted, an item "
         "must come back unworn and unwashed, in its original packaging where possible and with "
         "its tags attached."),
        "To start a return, sign in, open Orders, choose the order and select Return items. "
        "Without an account, enter your order number and e-mail address on the returns form at "
        "https://shop.example/returns. Print the label we send you, pack the items securely "
        "and hand the parcel to the courier named on the label.",
        "{return_cost}",
        ("Need a different size or colour? We do not swap items directly: return the item for "
         "a refund and place a new order for the size or colour you want, so the new piece is "
         "reserved for you straight away.",
         "We do not exchange items directly. If something does not fit, send it back for a "
         "refund and place a new order for the size you need; that way you are not waiting for "
         "the return to arrive before your new piece ships."),
        "Items bought on sale can be returned within the same {return_days} as any other item. "
        "For hygiene reasons, skincare and fragrance can only be returned unopened, with the "
        "seal intact. Once your parcel reaches us we check it within two business days and "
        "then issue your refund; our Refunds page explains how long the money takes to arrive.",
    )),
    ("refunds", "policy", ("Refunds", "How refunds work"), (
        ("Refunds always go back to the original payment method. When your return has been "
         "checked at our warehouse we issue the refund and send you an e-mail to confirm it. "
         "Refunds are processed within {refund_days} of your return arriving with us.",
         "We process refunds within {refund_days} of receiving your return. The money goes back "
         "to the original payment method, and we e-mail you as soon as the refund has been "
         "issued."),
        "Your bank or card provider may take a few more days to show the money in your "
        "account; that part is outside our control. Refunds to digital wallets usually appear "
        "sooner than refunds to cards, and a pending refund can show as a reversed payment.",
        "Delivery charges are refunded when the whole order is returned within the return "
        "window, and always when an item arrived faulty or was not what you ordered. A return "
        "label fee, where one applies, is not refunded. If you return only part of an order, "
        "we refund the items you sent back.",
        "Refund still not arrived after that? Check the confirmation e-mail we sent when the "
        "refund was issued, then contact us at {email} with your order number and we will trace "
        "the payment with our payment provider.",
    )),
    ("payments", "page", ("Payment methods", "Paying for your order"), (
        ("We accept {methods}. All prices are shown and charged in {currency}. If your card is "
         "issued in another currency, your bank converts the amount and may add its own fee.",
         "You can pay with {methods}. Prices on the site are in {currency}, and that is the "
         "currency we charge in; a bank that issues your card in another currency converts the "
         "amount and may charge a fee for doing so."),
        "Your payment is taken {charged}. If an item turns out to be unavailable, you are "
        "never charged for it, and an order that we cancel is refunded in full to the card or "
        "account you paid with.",
        "If a payment is declined, check that the billing address matches the one your bank "
        "holds, that the card has not expired and that any confirmation step in your banking "
        "app was completed. After three failed attempts, wait a few minutes before trying "
        "again, or choose another method. A declined payment never creates an order, so "
        "nothing is reserved until a payment goes through.",
        ("Card details are entered on our payment provider's secure page and are never stored "
         "by {store}. We will never ask for your full card number or security code by e-mail.",
         "{store} never sees or stores your full card details: they are entered on our payment "
         "provider's secure page. No one from our team will ever ask you for a card number or "
         "security code by e-mail."),
    )),
    ("orders", "page", ("Changing or cancelling an order", "Cancelling an order"), (
        ("You can cancel an order yourself within {cancel} of placing it: sign in, open Orders, "
         "choose the order and select Cancel order. The full amount is refunded to your "
         "original payment method.",
         "Made a mistake? For {cancel} after you place an order, you can still cancel it from "
         "your account: open Orders, choose the order and select Cancel order. We refund the "
         "full amount to the way you paid."),
        "Within the same {cancel} we can also change the delivery address, swap a size or "
        "remove an item: write to {email} with your order number and the change you need. "
        "After that we cannot change an order, because it is already being picked and packed.",
        "Once the cancellation window has passed, the simplest route is to let the parcel "
        "arrive and send it back under our returns policy. You can also refuse the delivery; "
        "the parcel then comes back to us and we refund it once it arrives.",
        "Order confirmation e-mails can take up to 15 minutes to arrive. If yours has not come, "
        "check your spam folder and the Orders section of your account before ordering again, "
        "so you are not charged twice for the same things. Two orders placed minutes apart "
        "are not combined into one parcel, and each pays its own delivery charge.",
    )),
    ("tracking", "page", ("Tracking your order", "Where is my order?"), (
        "As soon as your parcel leaves our warehouse we e-mail you a shipping confirmation with "
        "a tracking number and a link to the courier's tracking page. Tracking information can "
        "take up to {tracking} to appear after that e-mail, so do not worry if the link shows "
        "nothing at first.",
        ("To follow a parcel: first, open the shipping confirmation e-mail; second, select "
         "Track my parcel, or copy the tracking number into the courier's website; third, if "
         "you have an account, sign in and open Orders, where each order shows its latest "
         "status.",
         "Three ways to see where a parcel is: select Track my parcel in the shipping "
         "confirmation e-mail, paste the tracking number into the courier's website, or sign "
         "in and open Orders, where every order shows its current status."),
        "If the tracking has not moved for {lost}, or it says delivered but you cannot find the "
        "parcel, check with neighbours and any safe place you named, then contact us at "
        "{email}. We open an investigation with the courier and, if the parcel is lost, we send "
        "a replacement or a full refund.",
        "If a parcel arrives damaged, take a photo of the box and of the items and send it to "
        "us within {damage} of delivery, together with your order number. We will replace the "
        "damaged items or refund them, whichever you prefer.",
    )),
    ("contact", "page", ("Contact us", "Get in touch"), (
        ("Our customer care team is here {support_days}, from {support_hours} ({tz}). Write to "
         "us at {email} and we reply within {reply}, usually much sooner. Messages sent outside "
         "those hours are answered first thing on the next working day.",
         "You can reach customer care at {email}. The team works {support_days}, {support_hours} "
         "({tz}), and replies within {reply}; messages that arrive outside those hours are "
         "answered on the next working day."),
        "To help us help you quickly, include your order number, which you can find in your "
        "order confirmation e-mail and in the Orders section of your account. If something "
        "arrived damaged or faulty, attach a photo or two. Please send one message per order "
        "and reply in the same thread, so the whole story stays together.",
        "For questions about your personal data, such as a copy of what we hold or a request "
        "to erase it, write to {privacy_email} instead. Those requests are handled by the "
        "person responsible for data protection.",
        "Many questions about delivery, returns, refunds and payments are answered on these "
        "help pages, which are open at any time, day or night. If you are writing about a "
        "return, please wait until the courier has scanned your parcel, so that we can already "
        "see it on its way back to us.",
    )),
    ("warranty", "policy", ("Warranty and faulty items", "Our warranty"), (
        ("Every {store} product is covered by a {warranty} warranty against manufacturing "
         "defects, counted from the date of delivery. That covers faults such as a seam coming "
         "apart under normal use, a broken zip, a sole separating from a shoe or a clasp that "
         "fails.",
         "We guarantee every {store} product against manufacturing defects for {warranty} from "
         "the day it is delivered: a seam that splits under normal use, a zip that breaks, a "
         "sole that comes away or a clasp that fails."),
        "The warranty does not cover normal wear and tear, damage caused by accidents or "
        "misuse, or problems that come from not following the care label, such as shrinkage "
        "after a hot wash.",
        "To make a claim, e-mail {email} with your order number, a short description of the "
        "fault and a photo that shows it. If the fault is covered, we repair or replace the "
        "item, or refund it if it is no longer available. We pay for sending faulty items "
        "back to us.",
        "Keep your order confirmation e-mail: it is the simplest proof of when your warranty "
        "started. A repaired or replacement item is covered for the rest of the original "
        "warranty period. The warranty comes on top of your legal rights as a consumer and does "
        "not limit them.",
    )),
    ("privacy", "policy", ("Privacy policy (summary)", "Your privacy"), (
        "This is a plain-language summary of how {store} handles your personal data. We "
        "collect what we need to take and deliver your orders: your name, addresses, e-mail "
        "address, order history and, if you have an account, your password in hashed form. "
        "Payment card details go straight to our payment provider.",
        ("We use your data to process orders, provide customer care, prevent fraud and, only "
         "if you agreed, send newsletters. We never sell your personal data. We share it only "
         "with the companies that help us run the shop, such as couriers and our payment "
         "provider, and only as much as they need.",
         "Your data is used to process and deliver orders, to answer your questions, to "
         "prevent fraud and, if you opted in, to send newsletters. We never sell your personal "
         "data; couriers and our payment provider receive only what they need to do their "
         "part."),
        "We keep order records for {retention} after your last order, as tax law requires, and "
        "delete account data sooner if you close your account. Non-essential cookies are used "
        "only if you accept them in the cookie banner, and you can change your choice at any "
        "time under Cookie settings at the bottom of every page.",
        "You may ask for a copy of your data, have it corrected or erased, or object to its "
        "use. Write to {privacy_email}; we answer within 30 days.",
    )),
    ("terms", "policy", ("Terms of sale (summary)", "Terms and conditions"), (
        "These terms apply to every order placed with {store}. You must be at least {min_age} "
        "years old to place an order. A contract is formed when we dispatch your order, not "
        "when you place it; until then we may decline an order, for example when an item has "
        "sold out.",
        "{tax_terms}",
        "If a price on our site is wrong because of an obvious error, we tell you before "
        "dispatch, and you may confirm the order at the correct price or cancel it for a full "
        "refund. Colours can look slightly different on screen than in daylight.",
        "Your right to return items, our warranty and the way we handle your data are set out "
        "on the Returns, Warranty and Privacy pages, which form part of these terms. Where "
        "these terms and your statutory rights differ, your statutory rights apply.",
    )),
    ("account", "page", ("Your account and password", "Account help"), (
        ("You do not need an account to shop: guest checkout is open to everyone, and you can "
         "track a guest order from the link in your shipping e-mail. An account lets you see "
         "past orders, start returns in a few clicks and save addresses.",
         "An account is optional: guest checkout works for every order, and the shipping "
         "e-mail carries a tracking link either way. With an account you can see past orders, "
         "start a return in a few clicks and keep your addresses saved."),
        "Forgotten your password? Select Sign in, then Forgot password, and enter the e-mail "
        "address you registered with. We send a reset link that works for {reset}; if it has "
        "expired, simply ask for a new one. If no e-mail arrives, check your spam folder and "
        "make sure you used the address on your account.",
        "To change your e-mail address, password or saved addresses, sign in and open Account "
        "settings. A new e-mail address gets a confirmation link, and the change takes effect "
        "once you open it.",
        "To close your account and have your personal data erased, write to {privacy_email} "
        "from the address on the account. To stop newsletters, use the unsubscribe link at the "
        "bottom of any newsletter or untick the newsletter box in Account settings.",
    )),
)  # fmt: skip

SIZE_TITLE: Text = ("Size guide", "Finding your size")
CARE_TITLE: Text = ("Caring for your pieces", "Care guide")
BEDDING = "Single duvet covers measure 135 x 200 cm, Double 200 x 200 cm and King 230 x 220 cm"


def _has(present: tuple[Category, ...], system: str) -> bool:
    return any(c.sizes == system for c in present)


def _leaf(c: Category) -> str:
    leaf = c.path.split(" > ")[1]
    return leaf.replace("T-Shirts", "T-shirts") if leaf.startswith("T-") else leaf.lower()


def _size_guide(present: tuple[Category, ...]) -> tuple[Text, ...]:
    """The size guide covers the sized categories the catalog holds."""
    alpha = SIZE_SYSTEMS["alpha"]
    out: list[Text] = [
        ("Our sizes are the same across every {store} brand and category unless a product page "
         "says otherwise. Measure yourself over light clothing with a soft tape measure and "
         "compare with the notes below.",
         "{store} uses one size scale across all its brands, unless a product page says "
         "otherwise. Take your measurements over light clothing with a soft tape and compare "
         "them with the notes below."),
        "How to measure: for the chest, measure around the fullest part, keeping the tape "
        "level under your arms. For the waist, measure around your natural waistline, the "
        "narrowest part of your body. For the hips, stand with your feet together and measure "
        "around the widest part.",
        f"Clothing ({_and([_leaf(c) for c in present if c.sizes == 'alpha'])}) comes in sizes "
        f"{alpha[0]} to {alpha[-1]}. If you are between two sizes, choose the larger size for "
        "fitted and slim styles and the smaller size for relaxed and oversized styles. "
        "Knitwear relaxes a little with wear.",
    ]  # fmt: skip
    if _has(present, "waist"):
        waist = SIZE_SYSTEMS["waist"]
        out.append(
            f"Jeans and trousers are sized by waist in inches, from {waist[0]} to {waist[-1]}. "
            "Measure around your natural waist and choose that number. Rigid denim gives a "
            "little over the first weeks, so if in doubt take the snugger size."
        )
    if _has(present, "shoe"):
        shoe = SIZE_SYSTEMS["shoe"]
        out.append(
            f"Shoes come in whole EU sizes from {shoe[0]} to {shoe[-1]}. If you usually take a "
            "half size, go up to the next whole size. Styles marked wide suit broader feet; "
            "narrow styles run slim, so consider one size up."
        )
    if _has(present, "bed"):
        out.append(
            f"Bedding comes in Single, Double and King. {BEDDING}; fitted sheets fit mattresses "
            "up to 35 cm deep."
        )
    out.append("Still unsure? Send your measurements to {email} and we will suggest a size.")
    return tuple(out)


def _care(present: tuple[Category, ...]) -> tuple[Text, ...]:
    """Care advice for each category the catalog holds, grouped by department."""
    out: list[Text] = [
        ("Looking after your things makes them last longer. Always check the care label first: "
         "it has the final word for each item. Here is how we recommend caring for each kind "
         "of product we sell.",
         "Good care keeps your pieces looking new for longer. The care label inside each item "
         "has the final word; below is our advice for each kind of product in the shop."),
    ]  # fmt: skip
    departments: dict[str, list[str]] = {}
    for c in present:
        care = (
            c.care[0]
            if len(c.care) == 1
            else f"depending on the fabric, {_and(list(c.care), 'or')}"
        )
        departments.setdefault(c.department, []).append(f"{_leaf(c).capitalize()}: {care}.")
    out += [" ".join(lines) for lines in departments.values()]
    out.append(
        "General tips: wash dark colours separately the first few times, close zips and "
        "buttons before washing, and dry knitwear flat so it keeps its shape. Never tumble dry "
        "wool or silk, and iron linen while it is still slightly damp."
    )
    return tuple(out)


ZH_DOCS: tuple[tuple[str, str, Text, tuple[Text, ...]], ...] = (
    ("shipping", "policy", ("配送说明", "运费与配送"), (
        ("{store}从自有仓库发货，所有包裹均由可追踪的快递公司配送。目前我们配送至：{countries_zh}。"
         "如果您所在的国家不在列表中，暂时无法下单。",
         "{store}的每一个包裹都由可追踪的快递公司从我们的仓库寄出。我们目前配送的国家有：{countries_zh}。"
         "其他国家的地址暂时无法在结账时选择。"),
        "标准配送需{std_zh}个工作日，运费{std_price}；订单满{free}即可享受免费标准配送。"
        "加急配送需{exp_zh}个工作日，运费统一为{exp_price}，不适用免运费门槛。",
        "工作日{cutoff_zh}前下的订单当天发货；之后下的订单以及周末和节假日的订单将在下一个工作日发货。"
        "配送时间从发货之日起计算，十二月购物高峰期间可能稍有延长。",
        "跨境包裹可能需要缴纳进口关税和当地税费，由收件人在收货时支付，我们无法预估或退还。"
        "如有任何配送问题，请发送邮件至{email}并注明订单号。",
    )),
    ("returns", "policy", ("退换货政策", "退货说明"), (
        ("自收到商品之日起{return_n}天内，您可以退回未穿着、未洗涤且吊牌完好的商品。",
         "我们接受收货后{return_n}天内的退货。退回的商品须未穿着、未洗涤，并保留全部吊牌。"),
        "如需退货，请登录账户，在「订单」中选择相应订单并点击「退货」；没有账户的顾客可以在退货页面输入订单号和邮箱地址。"
        "打印我们发送给您的退货标签，将商品包装好后交给标签上注明的快递公司即可。",
        "{return_cost_zh}出于卫生原因，护肤品和香水须未开封方可退货。",
        "我们收到退货并检查后，将在{refund_n}个工作日内退款至您的原支付方式。"
        "我们不直接换货：如需更换尺码或颜色，请先退货，再重新下单。",
    )),
)  # fmt: skip

FAQS: tuple[tuple[str, Text, Text], ...] = (
    ("free-shipping", ("Do you offer free shipping?", "Is delivery free?"),
     "Yes: standard delivery is free on orders of {free} or more. Below that it costs "
     "{std_price}. Express delivery is always {exp_price}."),
    ("delivery-time", ("How long does delivery take?", "When will my order arrive?"),
     "Standard delivery takes {std_days} business days from dispatch, and express delivery "
     "{exp_days} business days. Orders placed before {cutoff} on a business day leave the "
     "same day."),
    ("express", "Do you have express delivery?",
     "Yes. Express delivery costs {exp_price} and arrives in {exp_days} business days. "
     "Choose it at checkout."),
    ("countries", ("Which countries do you ship to?", "Where do you deliver?"),
     "We deliver to {countries}."),
    ("return-window", ("What is your return policy?", "How long do I have to return an item?"),
     "You can return unworn, unwashed items with their tags attached within {return_days} of "
     "delivery. Start the return from Orders in your account or from the returns form."),
    ("return-cost", "Do I have to pay for returns?", "{return_cost}"),
    ("exchange", ("Can I exchange an item?", "Do you do exchanges?"),
     "We do not swap items directly. Return the item for a refund and place a new order for "
     "the size or colour you want."),
    ("sale-items", "Can I return sale items?",
     "Yes. Sale items follow the same {return_days} return window as everything else."),
    ("refund-time", ("How long do refunds take?", "When will I get my refund?"),
     "We process refunds within {refund_days} of receiving your return, to your original "
     "payment method. Your bank may need a few more days to show it."),
    ("payment-methods", ("Which payment methods do you accept?", "How can I pay?"),
     "We accept {methods}. Prices are charged in {currency}."),
    ("cancel-order", ("Can I cancel my order?", "How do I cancel an order?"),
     "Yes, within {cancel} of placing it: open Orders in your account and select Cancel "
     "order. After that, the order is being packed and you can return it once it arrives."),
    ("change-address", "Can I change my delivery address after ordering?",
     "Within {cancel} of ordering, yes: e-mail {email} with your order number and the new "
     "address. After that we can no longer change the order."),
    ("track-order", ("How do I track my order?", "Where is my order?"),
     "Your shipping confirmation e-mail has a tracking number and a Track my parcel link. "
     "With an account you can also see the status under Orders."),
    ("lost-parcel", "My parcel has not arrived. What should I do?",
     "If the tracking has not moved for {lost}, or it says delivered but you cannot find the "
     "parcel, contact {email}. We investigate with the courier and send a replacement or a "
     "refund if it is lost."),
    ("damaged-item", "My order arrived damaged. What now?",
     "Send a photo of the box and the items to {email} within {damage} of delivery, with "
     "your order number, and we will replace or refund them."),
    ("contact", ("How can I contact you?", "How do I reach customer service?"),
     "E-mail {email}. We reply within {reply}."),
    ("support-hours", "When is customer service open?",
     "Our team works {support_days}, {support_hours} ({tz})."),
    ("warranty", ("Do your products have a warranty?", "Is there a guarantee?"),
     "Yes, every product has a {warranty} warranty against manufacturing defects, counted "
     "from delivery. Normal wear and tear is not covered."),
    ("sizing", ("Which size should I choose?", "How do your sizes fit?"),
     "If you are between two sizes, choose the larger size for fitted styles and the smaller "
     "one for relaxed styles. Our size guide has measuring tips for every category."),
    ("shoe-size", "Do shoes come in half sizes?",
     "No, our shoes come in whole EU sizes. If you usually take a half size, go up to the "
     "next whole size."),
    ("wool-care", "Can I tumble dry knitwear?",
     "Please don't. Never tumble dry wool or silk: dry knitwear flat so it keeps its shape."),
    ("guest-checkout", "Do I need an account to order?",
     "No. You can use guest checkout for any order; an account just makes returns and "
     "reordering quicker."),
    ("password-reset", ("I forgot my password.", "How do I reset my password?"),
     "Select Sign in, then Forgot password. The reset link we e-mail you works for {reset}."),
    ("newsletter", "How do I unsubscribe from the newsletter?",
     "Use the unsubscribe link at the bottom of any newsletter, or untick the newsletter box "
     "in Account settings."),
    ("taxes", ("Are taxes included in your prices?", "Do prices include tax?"),
     "{tax_terms}"),
)  # fmt: skip

ZH_FAQS: tuple[tuple[str, Text, Text], ...] = (
    ("zh-free-shipping", ("订单满多少可以免运费？", "有免运费吗？"),
     "订单金额满{free}即可享受免费标准配送，标准配送需{std_zh}个工作日。加急配送运费为{exp_price}。"),
    ("zh-return-window", ("退货期限是多久？", "买了以后多久内可以退货？"),
     "自收到商品之日起{return_n}天内可以申请退货，商品须未穿着、未洗涤且吊牌完好。"
     "退款将在{refund_n}个工作日内退回原支付方式。"),
)  # fmt: skip

# -- questions --------------------------------------------------------------------------

SHIP, RET, REF, PAY = "help/shipping.md", "help/returns.md", "help/refunds.md", "help/payments.md"
ORD, TRK, CON, WAR = "help/orders.md", "help/tracking.md", "help/contact.md", "help/warranty.md"
SIZE, CARE, ACC = "help/size-guide.md", "help/care.md", "help/account.md"
PRIV, TERMS = "help/privacy.md", "help/terms.md"
ZH_SHIP, ZH_RET = "help/zh/shipping.md", "help/zh/returns.md"

Ask = tuple[str, str | None, tuple[str, ...], tuple[str, ...]]  # topic, fact, pages, phrasings
ASKS: tuple[Ask, ...] = (
    ("free_shipping", "{free}", (SHIP, "faq:free-shipping", ZH_SHIP, "faq:zh-free-shipping"), (
        "How much do I need to spend to avoid paying for postage?",
        "Is there a minimum basket value for delivery at no cost?",
        "At what order total does shipping stop costing me anything?")),
    ("standard_days", "{std_days}", (SHIP, "faq:delivery-time"), (
        "How long will a normal parcel take to reach me?",
        "If I don't pay extra, how many days until my package turns up?",
        "What's the usual wait for the regular delivery option?")),
    ("standard_price", "{std_price}", (SHIP, "faq:free-shipping"), (
        "What does regular postage cost on a small order?",
        "How much is the cheapest delivery option?")),
    ("express_price", "{exp_price}", (SHIP, "faq:express"), (
        "How much extra is the quicker delivery service?",
        "What do you charge for rush shipping?")),
    ("express_days", "{exp_days}", (SHIP, "faq:express", "faq:delivery-time"), (
        "If I pay for the fast option, when will my parcel turn up?",
        "How quick is your speedy shipping?")),
    ("countries", "{country}", (SHIP, "faq:countries"), (
        "Do you send orders to {country}?",
        "I live in {country}. Can I buy from you?")),
    ("cutoff", "{cutoff}", (SHIP, "faq:delivery-time"), (
        "What time do I have to order by for it to go out today?",
        "Is there a daily deadline for same-day dispatch?")),
    ("duties", "paid by the recipient", (SHIP,), (
        "Will I have to pay customs fees when my parcel arrives?",
        "Who covers import charges on international orders?")),
    ("return_window", "{return_days}", (RET, "faq:return-window", "faq:sale-items"), (
        "How long do I have to send something back?",
        "Is there a deadline for sending back a purchase I don't want?",
        "I bought a coat a while ago. Until when can I still give it back?")),
    ("return_cost", "{return_fee}", (RET, "faq:return-cost"), (
        "Do I have to pay the postage when I send an item back?",
        "Does sending a parcel back cost me anything?")),
    ("return_condition", "tags", (RET, "faq:return-window"), (
        "Can I send back a shirt I've already put through the wash?",
        "Do the labels need to still be on for you to take it back?")),
    ("return_how", "Return items", (RET,), (
        "What are the steps to send back an order?",
        "Where do I get a label to post my parcel back?")),
    ("exchange", "new order", (RET, "faq:exchange"), (
        "Can I swap my jeans for a bigger size?",
        "Something doesn't fit. Can you trade it for another size?")),
    ("sale_returns", "{return_days}", (RET, "faq:sale-items"), (
        "Can reduced items be sent back too?",
        "Are things I bought at a markdown final, or can I return them?")),
    ("hygiene", "unopened", (RET,), (
        "Can I send back a face cream I've already tried?",
        "Is it possible to return a perfume after opening it?")),
    ("refund_days", "{refund_days}", (REF, "faq:refund-time"), (
        "When will I get my money back after returning something?",
        "How long does it take for you to pay me back once you have my parcel?")),
    ("refund_method", "original payment method", (REF, "faq:refund-time"), (
        "Will the money go back onto the card I used?",
        "Where does the money go when you reimburse me?")),
    ("delivery_refund", "whole order", (REF,), (
        "Do you give back the shipping fee when I return things?",
        "Is the postage I paid reimbursed too?")),
    ("payment_method", "{method}", (PAY, "faq:payment-methods"), (
        "Can I check out using {method}?",
        "Do you take {method}?")),
    ("currency", "{currency}", (PAY, "faq:payment-methods"), (
        "What currency will my card be billed in?",
        "In which money are the prices on your site?")),
    ("charged_when", "{charged}", (PAY,), (
        "At what point is the money taken from my account?",
        "When does my card actually get debited?")),
    ("declined", "billing address", (PAY,), (
        "My card keeps getting rejected at checkout. What should I check?",
        "Why was my payment refused?")),
    ("cancel", "{cancel}", (ORD, "faq:cancel-order", "faq:change-address"), (
        "I ordered by mistake. How long do I have to call it off?",
        "Is it too late to stop an order I placed this morning?",
        "How soon after buying must I cancel?")),
    ("change_order", "{cancel}", (ORD, "faq:change-address"), (
        "I typed the wrong street name. Can you fix it?",
        "Can I still switch the size on an order I just placed?")),
    ("confirmation", "15 minutes", (ORD,), (
        "I never got an e-mail after ordering. Did it go through?",
        "No confirmation has arrived for my purchase. Should I buy again?")),
    ("tracking", "tracking number", (TRK, "faq:track-order"), (
        "How can I see where my package is right now?",
        "How do I follow my delivery?")),
    ("tracking_delay", "{tracking}", (TRK,), (
        "The courier's site can't find my parcel code yet. Is that normal?",
        "I got the dispatch e-mail but the link shows no information. Why?")),
    ("lost", "{lost}", (TRK, "faq:lost-parcel"), (
        "My package hasn't moved for ages. What now?",
        "The courier says it was delivered but I have nothing. Help?")),
    ("damaged", "{damage}", (TRK, "faq:damaged-item"), (
        "My box arrived crushed and the item is broken. What should I do?",
        "How soon must I tell you about a delivery that came broken?")),
    ("email", "{email}", (CON, "faq:contact"), (
        "What's your customer service address?",
        "How can I reach a real person on your team?",
        "Who do I write to with a question about my order?")),
    ("hours", "{support_hours}", (CON, "faq:support-hours"), (
        "When is your help team around?",
        "At what times can I get hold of someone from customer care?")),
    ("reply", "{reply}", (CON, "faq:contact"), (
        "How quickly will someone answer my message?",
        "How long until I hear back from your team?")),
    ("warranty", "{warranty}", (WAR, "faq:warranty"), (
        "How long is the guarantee on what you sell?",
        "My zip broke after a few months. Am I still covered, and for how long?")),
    ("warranty_exclusions", "wear and tear", (WAR, "faq:warranty"), (
        "Does the guarantee cover things simply wearing out?",
        "What isn't included in the warranty?")),
    ("warranty_claim", "photo", (WAR,), (
        "How do I report a faulty item?",
        "What do you need from me to make a guarantee claim?")),
    ("between_sizes", "larger size", (SIZE, "faq:sizing"), (
        "I'm in between two sizes. Which should I pick?",
        "Should I go up or down if I fall between sizes?")),
    ("size_range", "XXS to XXL", (SIZE,), (
        "What's the smallest and largest clothing size you stock?",
        "Do your clothes come in very small and very big sizes?")),
    ("tumble_dry", "tumble dry", (CARE, "faq:wool-care"), (
        "Can I put a wool jumper in the dryer?",
        "Is it OK to machine-dry silk?")),
    ("guest", "guest checkout", (ACC, "faq:guest-checkout"), (
        "Do I have to register to buy something?",
        "Can I order without signing up?")),
    ("password", "{reset}", (ACC, "faq:password-reset"), (
        "I can't remember my login. How long does the link you send me stay valid?",
        "How long can I use the link to set a new password?")),
    ("change_email", "Account settings", (ACC,), (
        "How do I update the e-mail address on my profile?",
        "Where can I edit my saved delivery addresses?")),
    ("delete_account", "{privacy_email}", (ACC, PRIV), (
        "How can I close my account and remove my details?",
        "I want you to erase everything you hold about me. Who do I contact?")),
    ("unsubscribe", "unsubscribe", (ACC, "faq:newsletter"), (
        "How do I stop the marketing e-mails?",
        "Can I opt out of your mailing list?")),
    ("sell_data", "never sell", (PRIV,), (
        "Do you pass my information on to advertisers?",
        "Will my details be sold to other companies?")),
    ("retention", "{retention}", (PRIV,), (
        "How long do you hold on to my purchase history?",
        "For how long is my order data stored?")),
    ("cookies", "Cookie settings", (PRIV,), (
        "How do I turn off tracking cookies?",
        "Can I refuse the optional cookies on your site?")),
    ("min_age", "{min_age}", (TERMS,), (
        "Is there an age limit for buying from you?",
        "Can a 15-year-old place an order?")),
    ("tax", "{tax}", (TERMS, "faq:taxes"), (
        "Is tax already in the price I see?",
        "Will tax be added on top when I pay?")),
    ("price_error", "correct price", (TERMS,), (
        "What happens if the price on the website was a mistake?",)),
)  # fmt: skip

ZH_ASKS: tuple[Ask, ...] = (
    ("free_shipping", "{free}", (ZH_SHIP, "faq:zh-free-shipping", SHIP, "faq:free-shipping"), (
        "买多少钱可以包邮？", "什么情况下不用付运费？")),
    ("standard_days", "{std_zh}个工作日", (ZH_SHIP, "faq:zh-free-shipping"), (
        "普通快递一般几天能收到？", "不加钱的话，多久能送到？")),
    ("express_price", "{exp_price}", (ZH_SHIP, SHIP, "faq:express", "faq:zh-free-shipping"), (
        "加急快递要多少钱？", "想快点收到，要加多少运费？")),
    ("countries", "{country_zh}", (ZH_SHIP,), (
        "你们能寄到{country_zh}吗？", "我在{country_zh}，可以下单吗？")),
    ("return_window", "{return_n}天", (ZH_RET, "faq:zh-return-window"), (
        "东西不合适，多久之内可以寄回？", "收到货以后还有几天可以退？")),
    ("refund_days", "{refund_n}个工作日", (ZH_RET, "faq:zh-return-window"), (
        "退款多久能到账？", "寄回去以后几天能拿回钱？")),
    ("return_cost", "{return_fee_zh}", (ZH_RET,), (
        "退货要自己付运费吗？", "寄回商品需要花钱吗？")),
    ("payment_method", "{method}", (PAY, "faq:payment-methods"), (
        "可以用{method}付款吗？", "支持{method}支付吗？")),
    ("email", "{email}", (CON, "faq:contact"), ("客服邮箱是什么？", "怎么联系你们的客服？")),
    ("warranty", "{warranty_n}", (WAR, "faq:warranty"), ("产品保修多久？", "质保期有多长？")),
    ("cancel", "{cancel_n}", (ORD, "faq:cancel-order"), (
        "下单后多长时间内可以取消？", "订单下错了，还能撤销吗？")),
)  # fmt: skip

UNANSWERABLE = (
    "Do you have a physical shop in Paris I could visit?",
    "Can you gift-wrap my order and add a handwritten note?",
    "Will you match a lower price I found on another website?",
    "Is there a student discount?",
    "Do you run a loyalty scheme where I collect points?",
    "Are you hiring? Where can I see job openings?",
    "Can I buy in bulk at wholesale prices for my boutique?",
    "How do I join your affiliate or influencer programme?",
    "Can I book a one-to-one styling appointment?",
    "Do you offer engraving or monogramming on bags?",
    "Can you shorten the legs of trousers before sending them?",
    "Can I rent a dress for a wedding instead of buying it?",
    "Do you buy back worn clothes through a resale scheme?",
    "Do you sell dog collars or other pet accessories?",
    "What year was the company founded, and who owns it?",
    "When will sold-out styles be back in stock?",
    "Do you have an app I can download for my phone?",
    "Do you sponsor charity events or school fundraisers?",
)
ZH_UNANSWERABLE = ("你们在上海有实体店吗？", "可以提供礼品包装吗？", "学生购物有优惠吗？")


def _catalog_asks(r: Random, present: tuple[Category, ...]) -> list[Ask]:
    """Questions on the size guide and care advice of the categories the catalog holds."""
    asks: list[Ask] = []
    if _has(present, "waist"):
        asks.append(("waist_sizes", "inches", (SIZE,), (
            "How are the numbers on your jeans measured?",
            "What do the sizes on trousers mean?")))  # fmt: skip
    if _has(present, "shoe"):
        asks.append(("half_sizes", "next whole size", (SIZE, "faq:shoe-size"), (
            "I'm a half size in shoes. What should I order?",
            "Do your shoes come in sizes like 38.5?")))  # fmt: skip
    if _has(present, "bed"):
        asks.append(("bedding_size", "200 x 200 cm", (SIZE,), (
            "How big is a double duvet cover?",
            "What are the dimensions of your double bedding?")))  # fmt: skip
    for c in r.sample(present, k=min(3, len(present))):
        noun = r.choice(c.nouns).lower()
        verb = "store" if c.department == "Beauty" else "clean"
        asks.append((f"care:{c.path}", c.care[0], (CARE,), (
            f"How should I {verb} my {noun}?",
            f"What's the right way to look after a {noun}?")))  # fmt: skip
    return asks


def _questions(
    r: Random, policy: dict[str, Any], values: dict[str, str], present: tuple[Category, ...],
    ids: set[str],
) -> list[dict[str, Any]]:  # fmt: skip
    k = r.randrange(len(policy["countries"]))
    v = {
        **values,
        "country": policy["countries"][k].removeprefix("the "),
        "country_zh": policy["countries_zh"][k],
        "method": r.choice(policy["payment_methods"]),
    }
    asks = [*ASKS, *_catalog_asks(r, present)]
    chosen, spare = [], []
    for n, ask in enumerate(asks):
        phrasings = r.sample(ask[3], k=len(ask[3]))
        chosen.append((n, phrasings[0]))
        spare += [(n, p) for p in phrasings[1:]]
    chosen += r.sample(spare, k=min(len(spare), max(0, ENGLISH_QUESTIONS - len(chosen))))
    out = [_question(asks[n], phrasing, v, ids, "en") for n, phrasing in sorted(chosen)]
    return out + [_question(ask, r.choice(ask[3]), v, ids, "zh") for ask in ZH_ASKS]


def _question(
    ask: Ask, phrasing: str, values: dict[str, str], ids: set[str], language: str
) -> dict[str, Any]:
    topic, fact, pages, _ = ask
    return {
        "question": phrasing.format(**values),
        "page": pages[0],
        "also": [p for p in pages[1:] if p in ids],
        "fact": None if fact is None else fact.format(**values),
        "topic": topic,
        "language": language,
    }
