"""What the assistant says in its own words (not from a passage), in English and Chinese."""

from __future__ import annotations

from typing import Any

REPLIES: dict[str, dict[str, str]] = {
    "en": {
        "not_found": "I couldn't find that in our help pages, and I'd rather not guess. "
        "Would you like me to pass your question to a person from our team?",
        "handover": "I'm passing this to a person from our team ({reason}). They will reply "
        "here in this conversation.",
        "waiting": "A person from our team has this conversation and will reply here. "
        "I've added your message for them.",
        "refused": "I can't do that. I can help with orders, delivery, returns, payments "
        "and our products.",
        "verify": "I can help with that once I know the order is yours. Please send the "
        "order number and the e-mail address used for the order.",
        "verify_failed": "I couldn't find an order with that number and e-mail address. "
        "Please check both and try again.",
        "verified": "Thanks, I found order {number}.",
        "verify_offer": "To check your own order, send me its number and the e-mail address "
        "used for it.",
        "request_offer": "To ask for this on your order, send me its number and the e-mail "
        "address used for it; a person from our team will then take it up.",
        "status": "Order {number} (placed {date}): payment {payment}, delivery {fulfilment}"
        "{cancelled}. Items: {items}.",
        "queued": "I've passed your request ({kind}) for order {number} to our team. "
        "Nothing has been changed yet: a person will check it and confirm here.",
        "not_stated": "The product page for {title} doesn't say ({prop}), so I can't "
        "confirm it. Would you like me to ask a person from our team?",
        "stated": "From the product page for {title}: {facts}.",
        "hello": "Hello! Ask me about orders, delivery, returns, payments or our products.",
        "thanks": "You're welcome. Anything else I can help with?",
    },
    "zh": {
        "not_found": "我在帮助页面里没有找到相关内容，不想随便猜测。"
        "需要我把问题转给我们的工作人员吗？",
        "handover": "我会把这个问题转给我们的工作人员（{reason}），他们会在这个对话里回复您。",
        "waiting": "我们的工作人员正在处理这个对话，会在这里回复您。您的消息已经转给他们。",
        "refused": "这个我做不到。我可以帮您处理订单、配送、退货、付款和商品相关的问题。",
        "verify": "确认订单属于您之后我就能帮您处理。请发送订单号和下单时使用的邮箱地址。",
        "verify_failed": "没有找到与这个订单号和邮箱都匹配的订单，请核对后再试一次。",
        "verified": "谢谢，已找到订单 {number}。",
        "verify_offer": "如需查询您自己的订单，请发送订单号和下单时使用的邮箱地址。",
        "request_offer": "如需为您的订单办理，请发送订单号和下单时使用的邮箱地址，"
        "我们的工作人员会跟进处理。",
        "status": "订单 {number}（下单时间 {date}）：付款 {payment}，配送 {fulfilment}{cancelled}。"
        "商品：{items}。",
        "queued": "您对订单 {number} 的请求（{kind}）已转给我们的团队。目前还没有做任何更改，"
        "工作人员核实后会在这里确认。",
        "not_stated": "{title} 的商品页面没有说明（{prop}），所以我无法确认。"
        "需要我请工作人员帮您问一下吗？",
        "stated": "根据 {title} 的商品页面：{facts}。",
        "hello": "您好！我可以回答订单、配送、退货、付款和商品方面的问题。",
        "thanks": "不客气，还有什么可以帮您？",
    },
}
REASONS = {
    "en": {"legal": "a legal matter", "account_security": "account security",
           "payment": "a payment problem", "asked_for_person": "you asked for a person",
           "frustration": "I'm not helping well enough",
           "repeated_failure": "I haven't been able to help",
           "verification_failed": "the order details didn't match"},
    "zh": {"legal": "法律相关事项", "account_security": "账户安全", "payment": "付款问题",
           "asked_for_person": "您要求人工服务", "frustration": "我没能很好地帮到您",
           "repeated_failure": "我没能解决您的问题", "verification_failed": "订单信息不匹配"},
}  # fmt: skip
KINDS = {
    "en": {"cancel_order": "cancel the order", "change_address": "change the delivery address",
           "change_order": "change the order", "refund": "a refund"},
    "zh": {"cancel_order": "取消订单", "change_address": "修改收货地址", "change_order": "修改订单",
           "refund": "退款"},
}  # fmt: skip


def say(language: str, key: str, **values: Any) -> str:
    lang = "zh" if language == "zh" else "en"
    if "reason" in values:
        values["reason"] = REASONS[lang].get(values["reason"], values["reason"])
    if "kind" in values:
        values["kind"] = KINDS[lang].get(values["kind"], values["kind"])
    return REPLIES[lang][key].format(**values)
