"""Review phrase banks: several phrasings per aspect × polarity × language.

Polarity keys: ``1`` positive, ``0`` neutral or mixed, ``-1`` negative. English phrases
may name the product (``{noun}``); Chinese ones stay generic. All text written for
this simulator.
"""

from __future__ import annotations

Bank = dict[str, dict[int, tuple[str, ...]]]

EN: Bank = {
    "quality": {
        1: (
            "The {noun} feels really well made and has held up beautifully.",
            "Excellent quality — the stitching is neat and everything feels substantial.",
            "You can tell it is built to last.",
            "Great craftsmanship, nothing loose or uneven anywhere.",
            "Quality is better than I expected for a {noun}.",
        ),
        0: (
            "Quality is okay, nothing special.",
            "Decent enough build, though not exceptional.",
            "The {noun} is fine quality-wise, about what you would expect.",
            "Average quality — it does the job.",
        ),
        -1: (
            "The {noun} started falling apart after a couple of weeks.",
            "Poor quality: loose threads and a seam already came undone.",
            "It feels cheap and thin, nothing like the photos.",
            "Quality is disappointing for a {noun} — it already looks worn.",
            "Honestly flimsy. I expected something much sturdier.",
        ),
    },
    "value": {
        1: (
            "Great value for the price.",
            "Worth every penny.",
            "Honestly a bargain for what you get.",
            "Feels far more expensive than it was.",
        ),
        0: (
            "The price is fair, nothing more.",
            "Reasonably priced, though not a steal.",
            "Price is about right for what it is.",
        ),
        -1: (
            "Way overpriced for what it is.",
            "Not worth the money in my opinion.",
            "At this price I expected a lot more.",
            "Too expensive — you can find better for less.",
        ),
    },
    "shipping": {
        1: (
            "Arrived two days early and well packed.",
            "Shipping was fast and the parcel was in perfect condition.",
            "Delivery was quick and the tracking was accurate.",
            "Got here in no time, nicely wrapped.",
        ),
        0: (
            "Delivery took about a week, as stated.",
            "Shipping was standard, no complaints.",
            "Arrived within the estimated window.",
        ),
        -1: (
            "Delivery took almost three weeks.",
            "The parcel arrived late and the box was crushed.",
            "Shipping was painfully slow and tracking never updated.",
            "It arrived damaged and a week after the promised date.",
        ),
    },
    "size_fit": {
        1: (
            "Fits true to size, I took my usual size.",
            "The fit is perfect — just the right length.",
            "Sizing is spot on and the cut is flattering.",
            "Fits like it was made for me.",
        ),
        0: (
            "Fit is a little loose but fine.",
            "Sizing is roughly standard, maybe slightly big.",
            "The fit is okay once you pick the right size.",
        ),
        -1: (
            "Runs very small, I had to size up twice.",
            "The sizing is way off; it is huge on me.",
            "The fit is terrible — tight across the shoulders and too short.",
            "Order a size up, the {noun} runs tiny.",
        ),
    },
    "service": {
        1: (
            "Customer service answered within an hour and were lovely.",
            "I had a question about my order and support sorted it quickly.",
            "Very helpful team — an exchange was painless.",
            "Great service, they kept me updated throughout.",
        ),
        0: (
            "Had to contact support once; they answered in a couple of days.",
            "Service was fine, nothing memorable.",
            "Support was polite if a bit slow.",
        ),
        -1: (
            "Customer service never replied to my emails.",
            "Support was unhelpful when I asked about a return.",
            "Took ages to get a response from the shop.",
            "The return process was a nightmare and nobody helped.",
        ),
    },
}

ZH: Bank = {
    "quality": {
        1: (
            "做工很好，质量没得说。",
            "用料扎实，细节处理得很用心。",
            "质量超出预期，用了一段时间还跟新的一样。",
            "品质不错，线头都处理得很干净。",
        ),
        0: ("质量一般，中规中矩。", "做工还行，没有特别惊艳。", "品质马马虎虎，能用。"),
        -1: (
            "质量太差了，没用几次就开线了。",
            "做工粗糙，到处都是线头。",
            "材质很薄，和图片差别很大。",
            "用了没多久就坏了，很失望。",
        ),
    },
    "value": {
        1: (
            "性价比很高，这个价格很值。",
            "物超所值，买到就是赚到。",
            "价格实惠，质量也对得起这个价。",
        ),
        0: ("价格还算合理。", "价钱中等，不算便宜也不算贵。", "一分钱一分货吧。"),
        -1: ("太贵了，不值这个价。", "价格偏高，性价比很低。", "这个价钱能买到更好的。"),
    },
    "shipping": {
        1: ("物流很快，两天就到了。", "发货迅速，包装也很仔细。", "快递给力，第二天就收到了。"),
        0: ("物流速度一般，一周左右到的。", "快递正常，没什么问题。", "送货时间和预计的差不多。"),
        -1: (
            "物流太慢了，等了快三个星期。",
            "快递很慢，盒子还压坏了。",
            "发货拖了一周多，物流信息也不更新。",
        ),
    },
    "size_fit": {
        1: ("尺码很标准，按平时的码数买刚好。", "版型很好，穿上很显身材。", "尺寸正好，非常合身。"),
        0: ("尺码稍微偏大一点，还能接受。", "版型一般，选对尺码就还行。", "尺码基本标准，略宽松。"),
        -1: (
            "尺码偏小很多，建议买大两码。",
            "尺码严重偏大，穿着像麻袋。",
            "版型不好，肩膀太紧，长度也不够。",
        ),
    },
    "service": {
        1: (
            "客服回复很及时，态度特别好。",
            "有问题联系客服，很快就解决了。",
            "换货很顺利，客服非常耐心。",
        ),
        0: (
            "客服回复有点慢，但问题解决了。",
            "服务一般，没什么特别的。",
            "客服态度还可以，就是效率不高。",
        ),
        -1: ("客服一直不回消息。", "客服态度很差，退货很麻烦。", "找客服好几天才有回应。"),
    },
}

# Openers, closers and titles by star rating.
EN_OPEN = {
    5: ("Love it!", "Absolutely delighted.", "Could not be happier with this purchase."),
    4: ("Really pleased overall.", "Very good, with one small quibble.", "Happy with this."),
    3: ("Mixed feelings.", "It is okay.", "Not bad, not great."),
    2: ("Rather disappointed.", "Not what I hoped for.", "I expected better."),
    1: ("Very disappointed.", "Avoid.", "Terrible experience."),
}
EN_CLOSE = {
    5: ("Would recommend.", "Already planning to order another.", "Highly recommended."),
    4: ("Would buy again.", "Recommended.", "Good buy overall."),
    3: ("Might keep it.", "It will do.", "Not sure I would buy again."),
    2: ("Probably returning it.", "Would not buy again.", "Cannot recommend."),
    1: ("Sending it back.", "Would not recommend.", "Save your money."),
}
EN_TITLE = {
    5: ("Perfect", "Love this {noun}", "Exceeded expectations", "Just what I wanted"),
    4: ("Very good", "Nice {noun}", "Happy customer", "Solid buy"),
    3: ("Okay", "Average", "Does the job", "Mixed bag"),
    2: ("Disappointing", "Not great", "Expected more", "Meh"),
    1: ("Awful", "Do not buy", "Very poor", "Waste of money"),
}
ZH_OPEN = {
    5: ("非常满意！", "太喜欢了！", "超级棒！"),
    4: ("整体挺满意的。", "还不错。", "挺好的，小问题不影响。"),
    3: ("一般般吧。", "有好有坏。", "感觉还行。"),
    2: ("有点失望。", "不太满意。", "和期待的不一样。"),
    1: ("非常失望！", "差评！", "千万别买。"),
}
ZH_CLOSE = {
    5: ("会回购的。", "强烈推荐。", "下次还来。"),
    4: ("推荐购买。", "还会再买。", "总体不错。"),
    3: ("凑合用吧。", "再观望一下。", "不一定会回购。"),
    2: ("不太推荐。", "考虑退货。", "不会再买了。"),
    1: ("不推荐。", "已申请退货。", "别浪费钱。"),
}
ZH_TITLE = {
    5: ("完美", "非常喜欢", "超出预期"),
    4: ("不错", "挺好的", "满意"),
    3: ("一般", "还行", "中规中矩"),
    2: ("失望", "不太好", "有点后悔"),
    1: ("很差", "别买", "浪费钱"),
}

LANGUAGES = {
    "en": (EN, EN_OPEN, EN_CLOSE, EN_TITLE, " "),
    "zh": (ZH, ZH_OPEN, ZH_CLOSE, ZH_TITLE, ""),
}
