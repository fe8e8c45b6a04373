"""The fact guard's vocabularies: data, not code, extensible by a workspace.

Every claim the guard looks for comes from here: units and their conversions, materials,
certifications, warranty and service terms, compatibility phrases and superlatives, in
English and Chinese. :func:`load_vocabulary` adds a workspace's own TOML file on top (same
keys, see docs/content.md); nothing in a product's fields ever changes what is matched.

Matching rules, applied by :mod:`shopmind.content.facts`:

- text is compared after NFKC normalisation (full-width ``５００ｍｌ`` reads as ``500ml``)
  and case folding, except that a term written all in capitals (``CE``, ``UL``, ``FDA``)
  matches only in capitals, so the French word "ce" is not the CE mark;
- a Latin term matches whole words, with an optional plural ``s`` / ``es``; a Chinese term
  matches as a substring unless one of its :data:`EXCEPTIONS` covers the match
  (``有机`` is "organic", ``有机会`` is "have a chance");
- a concept (a key of :data:`MATERIALS`, :data:`CERTIFICATIONS`, :data:`WARRANTY`) is
  supported when any of its terms, in any language, is found in the product's facts;
- a superlative is supported only when the facts contain the same words.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

# unit alias → (dimension, factor to the dimension's base unit). Bases: m, g, l, s, m2,
# byte, w, wh, mah, v, hz, percent, count, times, money; temperatures are not converted.
UNITS: dict[str, tuple[str, float]] = {
    # length
    "mm": ("length", 0.001), "millimeter": ("length", 0.001), "millimetre": ("length", 0.001),
    "cm": ("length", 0.01), "centimeter": ("length", 0.01), "centimetre": ("length", 0.01),
    "m": ("length", 1.0), "meter": ("length", 1.0), "metre": ("length", 1.0),
    "km": ("length", 1000.0), "kilometer": ("length", 1000.0), "kilometre": ("length", 1000.0),
    "in": ("length", 0.0254), "inch": ("length", 0.0254), "inches": ("length", 0.0254),
    '"': ("length", 0.0254), "ft": ("length", 0.3048), "feet": ("length", 0.3048),
    "foot": ("length", 0.3048), "yd": ("length", 0.9144), "yard": ("length", 0.9144),
    "mile": ("length", 1609.344),
    "毫米": ("length", 0.001), "厘米": ("length", 0.01), "公分": ("length", 0.01),
    "米": ("length", 1.0), "公里": ("length", 1000.0), "千米": ("length", 1000.0),
    "英寸": ("length", 0.0254), "寸": ("length", 0.0254),
    # area (NFKC turns ㎡ and m² into m2)
    "mm2": ("area", 1e-6), "cm2": ("area", 1e-4), "m2": ("area", 1.0), "km2": ("area", 1e6),
    "sq ft": ("area", 0.09290304), "sqft": ("area", 0.09290304),
    "square feet": ("area", 0.09290304), "square meter": ("area", 1.0),
    "square metre": ("area", 1.0), "平方米": ("area", 1.0), "平米": ("area", 1.0),
    "平方厘米": ("area", 1e-4),
    # mass
    "mg": ("mass", 0.001), "milligram": ("mass", 0.001), "g": ("mass", 1.0),
    "gram": ("mass", 1.0), "gramme": ("mass", 1.0), "kg": ("mass", 1000.0),
    "kilogram": ("mass", 1000.0), "kilo": ("mass", 1000.0), "lb": ("mass", 453.59237),
    "lbs": ("mass", 453.59237), "pound": ("mass", 453.59237), "oz": ("mass", 28.349523125),
    "ounce": ("mass", 28.349523125), "t": ("mass", 1e6), "tonne": ("mass", 1e6),
    "毫克": ("mass", 0.001), "克": ("mass", 1.0), "千克": ("mass", 1000.0),
    "公斤": ("mass", 1000.0), "斤": ("mass", 500.0), "磅": ("mass", 453.59237),
    "盎司": ("mass", 28.349523125), "吨": ("mass", 1e6),
    # volume
    "ml": ("volume", 0.001), "milliliter": ("volume", 0.001), "millilitre": ("volume", 0.001),
    "cl": ("volume", 0.01), "dl": ("volume", 0.1), "l": ("volume", 1.0),
    "liter": ("volume", 1.0), "litre": ("volume", 1.0), "cc": ("volume", 0.001),
    "cm3": ("volume", 0.001), "m3": ("volume", 1000.0), "fl oz": ("volume", 0.0295735295625),
    "fl. oz": ("volume", 0.0295735295625), "gallon": ("volume", 3.785411784),
    "gal": ("volume", 3.785411784), "quart": ("volume", 0.946352946),
    "毫升": ("volume", 0.001), "升": ("volume", 1.0), "公升": ("volume", 1.0),
    # time
    "sec": ("time", 1.0), "second": ("time", 1.0), "min": ("time", 60.0),
    "minute": ("time", 60.0), "h": ("time", 3600.0), "hr": ("time", 3600.0),
    "hrs": ("time", 3600.0), "hour": ("time", 3600.0), "day": ("time", 86400.0),
    "week": ("time", 604800.0), "month": ("time", 2629746.0), "year": ("time", 31556952.0),
    "yr": ("time", 31556952.0), "yrs": ("time", 31556952.0),
    "秒": ("time", 1.0), "分钟": ("time", 60.0), "小时": ("time", 3600.0),
    "天": ("time", 86400.0), "周": ("time", 604800.0), "星期": ("time", 604800.0),
    "个月": ("time", 2629746.0), "年": ("time", 31556952.0),
    # data, power, energy, electricity, frequency
    "kb": ("data", 1e3), "mb": ("data", 1e6), "gb": ("data", 1e9), "tb": ("data", 1e12),
    "w": ("power", 1.0), "watt": ("power", 1.0), "kw": ("power", 1000.0),
    "瓦": ("power", 1.0), "千瓦": ("power", 1000.0), "wh": ("energy", 1.0),
    "kwh": ("energy", 1000.0), "mah": ("charge", 1.0), "毫安": ("charge", 1.0),
    "v": ("voltage", 1.0), "volt": ("voltage", 1.0), "伏": ("voltage", 1.0),
    "hz": ("frequency", 1.0), "khz": ("frequency", 1e3), "mhz": ("frequency", 1e6),
    "ghz": ("frequency", 1e9),
    # temperature (no conversion between scales)
    "°c": ("temperature-c", 1.0), "°f": ("temperature-f", 1.0), "度": ("temperature-c", 1.0),
    # percent, multiples
    "%": ("percent", 1.0), "percent": ("percent", 1.0), "per cent": ("percent", 1.0),
    "x": ("times", 1.0), "times": ("times", 1.0), "倍": ("times", 1.0),
    # counts
    "pack": ("count", 1.0), "pk": ("count", 1.0), "piece": ("count", 1.0),
    "pcs": ("count", 1.0), "pc": ("count", 1.0), "count": ("count", 1.0),
    "ct": ("count", 1.0), "pair": ("count", 1.0), "set": ("count", 1.0),
    "roll": ("count", 1.0), "sheet": ("count", 1.0), "capsule": ("count", 1.0),
    "tablet": ("count", 1.0), "serving": ("count", 1.0), "item": ("count", 1.0),
    "件": ("count", 1.0), "只": ("count", 1.0), "个": ("count", 1.0), "片": ("count", 1.0),
    "包": ("count", 1.0), "支": ("count", 1.0), "双": ("count", 1.0), "套": ("count", 1.0),
    "盒": ("count", 1.0), "瓶": ("count", 1.0), "袋": ("count", 1.0), "粒": ("count", 1.0),
    "层": ("count", 1.0), "档": ("count", 1.0), "款": ("count", 1.0), "种": ("count", 1.0),
    "色": ("count", 1.0), "人": ("count", 1.0),
    # money (suffixes; prefixes are CURRENCY_SIGNS)
    "usd": ("money", 1.0), "dollar": ("money", 1.0), "eur": ("money", 1.0),
    "euro": ("money", 1.0), "gbp": ("money", 1.0), "rmb": ("money", 1.0),
    "cny": ("money", 1.0), "元": ("money", 1.0), "块": ("money", 1.0), "美元": ("money", 1.0),
}  # fmt: skip

# Units read only when written straight after the number ("15in", "10x"), never after a
# space: "5 in stock" and "2 x 3" are not measurements.
ATTACHED_UNITS = frozenset({"in", "x", "t", '"', "h", "度"})
CURRENCY_SIGNS = "$€£¥"

# Chinese count words after 一 ("一个", "一款") are an article, not a claim of "one".
ARTICLE_COUNTS = frozenset({"个", "款", "件", "种", "只", "套", "片", "双", "色", "人"})

# Set phrases whose numeral + unit is no quantity ("一年四季": all year round).
NUMBER_IDIOMS: list[str] = ["一年四季", "一年到头", "一天到晚", "三天两头", "一天天", "一年年"]

NUMBER_WORDS: dict[str, int] = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13,
    "fourteen": 14, "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18,
    "nineteen": 19, "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60,
    "seventy": 70, "eighty": 80, "ninety": 90, "hundred": 100, "dozen": 12,
}  # fmt: skip

MATERIALS: dict[str, list[str]] = {
    "cotton": ["cotton", "棉", "棉质", "棉料"],
    "pure-cotton": ["pure cotton", "100% cotton", "纯棉", "全棉"],
    "organic-cotton": ["organic cotton", "有机棉"],
    "linen": ["linen", "flax", "亚麻"],
    "wool": ["wool", "羊毛"],
    "merino": ["merino", "美利奴"],
    "cashmere": ["cashmere", "羊绒", "山羊绒"],
    "silk": ["silk", "真丝", "丝绸", "桑蚕丝"],
    "leather": ["leather", "皮革", "真皮"],
    "genuine-leather": ["genuine leather", "real leather", "full-grain leather",
                        "full grain leather", "top-grain leather", "真皮", "头层牛皮"],
    "faux-leather": ["faux leather", "vegan leather", "pu leather", "人造革", "pu皮"],
    "cowhide": ["cowhide", "牛皮"],
    "suede": ["suede", "麂皮", "绒面革"],
    "polyester": ["polyester", "涤纶", "聚酯纤维"],
    "nylon": ["nylon", "polyamide", "尼龙", "锦纶"],
    "spandex": ["spandex", "elastane", "lycra", "氨纶", "莱卡"],
    "viscose": ["viscose", "rayon", "modal", "lyocell", "tencel", "粘胶", "莫代尔", "天丝"],
    "bamboo": ["bamboo", "竹", "竹纤维"],
    "hemp": ["hemp", "大麻纤维", "汉麻"],
    "denim": ["denim", "牛仔布"],
    "fleece": ["fleece", "抓绒", "摇粒绒"],
    "down": ["goose down", "duck down", "down-filled", "down filling", "羽绒", "鹅绒", "鸭绒"],
    "canvas": ["canvas", "帆布"],
    "stainless-steel": ["stainless steel", "不锈钢"],
    "steel": ["steel", "钢材", "钢制", "碳钢", "合金钢", "不锈钢"],
    "cast-iron": ["cast iron", "铸铁"],
    "iron": ["iron", "铁质", "铁制", "铸铁"],
    "aluminium": ["aluminium", "aluminum", "铝", "铝合金"],
    "titanium": ["titanium", "钛", "钛合金"],
    "copper": ["copper", "铜", "紫铜"],
    "brass": ["brass", "黄铜"],
    "gold": ["gold", "黄金", "金质", "14k", "18k", "24k"],
    "silver": ["silver", "白银", "银质", "925银"],
    "sterling-silver": ["sterling silver", "925 silver", "纯银", "925银"],
    "platinum": ["platinum", "铂金"],
    "ceramic": ["ceramic", "陶瓷"],
    "porcelain": ["porcelain", "瓷器", "骨瓷"],
    "glass": ["glass", "玻璃"],
    "tempered-glass": ["tempered glass", "钢化玻璃"],
    "borosilicate": ["borosilicate", "高硼硅"],
    "wood": ["wood", "wooden", "solid wood", "木质", "木制", "实木", "原木"],
    "oak": ["oak", "橡木"],
    "walnut": ["walnut", "胡桃木"],
    "plastic": ["plastic", "塑料", "塑胶"],
    "silicone": ["silicone", "硅胶"],
    "rubber": ["rubber", "橡胶"],
    "latex": ["latex", "乳胶"],
    "pvc": ["pvc"],
    "abs": ["abs plastic", "abs"],
    "polycarbonate": ["polycarbonate", "聚碳酸酯"],
    "acrylic": ["acrylic", "亚克力", "有机玻璃"],
    "carbon-fiber": ["carbon fiber", "carbon fibre", "碳纤维"],
    "marble": ["marble", "大理石"],
    "granite": ["granite", "花岗岩"],
    "memory-foam": ["memory foam", "记忆棉"],
    "foam": ["foam", "海绵", "泡沫"],
    "vinyl": ["vinyl", "乙烯基"],
    "cork": ["cork", "软木"],
    "rattan": ["rattan", "wicker", "藤编"],
    "jute": ["jute", "黄麻"],
}  # fmt: skip

CERTIFICATIONS: dict[str, list[str]] = {
    "ce": ["CE", "CE认证"],
    "fda": ["FDA"],
    "fcc": ["FCC"],
    "ul": ["UL", "UL listed", "UL certified"],
    "etl": ["ETL"],
    "rohs": ["rohs"],
    "ccc": ["3C认证", "CCC"],
    "iso": ["ISO"],
    "organic": ["organic", "usda organic", "certified organic", "有机", "有机认证"],
    "oeko-tex": ["oeko-tex", "oeko tex", "oekotex"],
    "gots": ["GOTS"],
    "fsc": ["FSC"],
    "bluesign": ["bluesign"],
    "fair-trade": ["fair trade", "fairtrade", "公平贸易"],
    "energy-star": ["energy star", "能源之星"],
    "bpa-free": ["bpa-free", "bpa free", "不含bpa", "无bpa"],
    "vegan": ["vegan", "纯素"],
    "cruelty-free": ["cruelty-free", "cruelty free", "零残忍"],
    "hypoallergenic": ["hypoallergenic", "低敏", "抗过敏"],
    "dermatologist": ["dermatologist tested", "dermatologist recommended",
                      "dermatologically tested", "皮肤科"],
    "clinically-proven": ["clinically proven", "clinically tested", "临床验证", "临床证明"],
    "certified": ["certified", "certification", "认证"],
    "approved": ["approved", "批准"],
    "patented": ["patented", "patent", "专利"],
}  # fmt: skip

WARRANTY: dict[str, list[str]] = {
    "warranty": ["warranty", "warranted", "保修", "质保", "保固"],
    "guarantee": ["guarantee", "guaranteed", "保证", "担保"],
    "lifetime": ["lifetime", "终身", "永久保修"],
    "money-back": ["money-back", "money back", "refund", "退款", "包退", "无理由退货"],
    "free-returns": ["free returns", "free return", "退换无忧", "包换"],
    "free-shipping": ["free shipping", "free delivery", "包邮", "免运费"],
}  # fmt: skip

SUPERLATIVES: list[str] = [
    "#1", "no. 1", "no.1", "number one", "best-selling", "bestselling", "best seller",
    "bestseller", "best-seller", "top-selling", "top selling", "top-rated", "top rated",
    "best-rated", "best rated", "award-winning", "award winning", "prize-winning", "award",
    "world's first", "world first", "first-ever", "first ever", "industry-first",
    "world's only", "the only", "world's best", "world-class", "world class",
    "market-leading", "industry-leading", "leading", "unbeatable", "unmatched",
    "unrivalled", "unrivaled", "unparalleled", "ultimate", "most popular", "most trusted",
    "best-in-class", "best in class",
    "第一", "首款", "首个", "首创", "唯一", "顶级", "顶尖", "冠军", "销量冠军",
    "爆款", "畅销", "热销", "领先", "独家", "国家级", "世界级", "全球首", "全网",
    "极致", "王牌", "获奖", "荣获",
]  # fmt: skip

# Superlatives written as patterns over folded text: "the best", "our softest",
# "the most comfortable", "world's lightest", "最轻". A match whose group 1 (or whole text)
# is in SUPERLATIVE_NOT is no superlative.
SUPERLATIVE_PATTERNS: list[str] = [
    r"\b(?:the|our|its|world's|america's|industry's)\s+(?:very\s+)?([a-z]+est)\b",
    r"\b(?:the|our)\s+most\s+[a-z]{3,}\b",
    r"\bbest\b",
    r"(最[\u4e00-\u9fff])",
]
SUPERLATIVE_NOT = frozenset({
    "interest", "honest", "forest", "modest", "harvest", "chest", "test", "rest", "guest",
    "west", "quest", "contest", "request", "digest", "nest", "pest", "vest", "protest",
    "invest", "suggest", "manifest", "arrest", "earnest", "conquest", "tempest", "inquest",
    "behest", "everest", "latest", "priest", "crest", "zest", "fest", "midwest", "unrest",
    "jest", "lest", "attest", "detest", "infest", "ingest", "molest", "retest",
    "最后", "最近", "最终", "最初", "最多", "最少",
})  # fmt: skip

# A match inside one of these phrases is not the claim ("有机会" is "a chance").
EXCEPTIONS: dict[str, list[str]] = {
    "有机": ["有机会", "有机玻璃", "有机物"],
    "最好": ["最好是"],
    "第一": ["第一次", "第一步", "第一天", "第一眼", "第一时间", "第一印象", "第一个"],
    "唯一": [],
    "领先": [],
    "leading": ["leading to", "leading up"],
    "approved": [],
    "award": [],
    "best": ["best regards", "best wishes", "at best", "best for", "best to", "best with",
             "best when", "best if", "works best", "looks best", "best suited"],
    "铜": ["铜色", "古铜色"],
    "棉": ["棉签", "棉花糖"],
    "竹": ["竹子"],
    "钛": [],
    "ultimate": [],
}  # fmt: skip

# "compatible with X": a claim always. "fits X", "designed for X": only when X names
# something specific (a capitalised name or a model number).
COMPAT_STRONG: list[str] = [
    "compatible with", "works with", "for use with", "compatible for", "兼容", "适配",
]  # fmt: skip
COMPAT_WEAK: list[str] = [
    "fits", "fit", "designed for", "made for", "suitable for", "for", "适用于", "专为",
]  # fmt: skip

STOPWORDS: frozenset[str] = frozenset({
    "a", "an", "the", "and", "or", "of", "for", "to", "in", "on", "at", "by", "with", "from",
    "as", "is", "are", "be", "your", "you", "our", "it", "its", "this", "that", "these",
    "those", "all", "any", "most", "many", "more", "some", "every", "each", "other", "others",
    "both", "such", "than", "then", "so", "very", "also", "just", "only", "not", "no", "into",
    "onto", "over", "under", "up", "down", "out", "about", "standard", "regular", "normal",
    "popular", "common", "various", "different", "similar", "new", "model", "device",
    "version", "type", "size",
})  # fmt: skip


@dataclass(frozen=True)
class Vocabulary:
    """All the guard's word lists. Build variants with :meth:`extended`."""

    units: Mapping[str, tuple[str, float]] = field(default_factory=lambda: dict(UNITS))
    attached_units: frozenset[str] = ATTACHED_UNITS
    materials: Mapping[str, list[str]] = field(default_factory=lambda: dict(MATERIALS))
    certifications: Mapping[str, list[str]] = field(default_factory=lambda: dict(CERTIFICATIONS))
    warranty: Mapping[str, list[str]] = field(default_factory=lambda: dict(WARRANTY))
    superlatives: tuple[str, ...] = tuple(SUPERLATIVES)
    superlative_patterns: tuple[str, ...] = tuple(SUPERLATIVE_PATTERNS)
    superlative_not: frozenset[str] = SUPERLATIVE_NOT
    exceptions: Mapping[str, list[str]] = field(default_factory=lambda: dict(EXCEPTIONS))
    compat_strong: tuple[str, ...] = tuple(COMPAT_STRONG)
    compat_weak: tuple[str, ...] = tuple(COMPAT_WEAK)
    stopwords: frozenset[str] = STOPWORDS
    number_idioms: tuple[str, ...] = tuple(NUMBER_IDIOMS)

    def extended(self, extra: Mapping[str, Any]) -> Vocabulary:
        """A copy with ``extra``'s entries added (same keys as the TOML file)."""
        changes: dict[str, Any] = {}
        for key in ("materials", "certifications", "warranty", "exceptions"):
            if key in extra:
                merged = {k: list(v) for k, v in getattr(self, key).items()}
                for concept, terms in dict(extra[key]).items():
                    merged.setdefault(str(concept), []).extend(str(t) for t in terms)
                changes[key] = merged
        for key in ("superlatives", "compat_strong", "compat_weak", "number_idioms"):
            if key in extra:
                changes[key] = (*getattr(self, key), *(str(t) for t in extra[key]))
        if "superlative_not" in extra:
            changes["superlative_not"] = self.superlative_not | set(extra["superlative_not"])
        if "stopwords" in extra:
            changes["stopwords"] = self.stopwords | {str(w) for w in extra["stopwords"]}
        if "units" in extra:
            units = dict(self.units)
            for alias, (dimension, factor) in dict(extra["units"]).items():
                units[str(alias).casefold()] = (str(dimension), float(factor))
            changes["units"] = units
        return replace(self, **changes)


DEFAULT = Vocabulary()


def load_vocabulary(path: str | Path | None = None) -> Vocabulary:
    """The default vocabulary plus a workspace's TOML additions, where ``path`` exists."""
    if path is None or not Path(path).is_file():
        return DEFAULT
    with open(path, "rb") as file:
        return DEFAULT.extended(tomllib.load(file))
