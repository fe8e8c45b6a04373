"""Word banks and prose templates for the simulated catalog and its shoppers.

Everything here was written for this simulator. Descriptions are assembled from the
product's attributes, sentence by sentence, each sentence from one of several templates,
so copy-writing models downstream get varied prose that only states catalog facts.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from random import Random
from typing import Any

BRANDS: tuple[tuple[str, float, float, float, tuple[str, ...]], ...] = (
    # name, price tier, mean quality, fit consistency, departments
    ("Northwind Atelier", 1.6, 0.80, 0.82, ("Women", "Men", "Accessories")),
    ("Maple & Finch", 1.0, 0.66, 0.70, ("Women", "Men", "Shoes", "Accessories", "Home")),
    ("Kestrel", 0.75, 0.50, 0.55, ("Women", "Men", "Shoes")),
    ("Lumen Studio", 1.3, 0.72, 0.75, ("Women", "Accessories", "Beauty")),
    ("Harbor Lane", 0.9, 0.60, 0.66, ("Men", "Shoes", "Home")),
    ("Oakhurst", 1.15, 0.70, 0.72, ("Home", "Accessories")),
    ("Seabright", 0.6, 0.40, 0.48, ("Women", "Men", "Shoes", "Beauty")),
    ("Juniper Row", 1.2, 0.74, 0.78, ("Women", "Home", "Beauty")),
    ("Fable & Thread", 1.0, 0.58, 0.62, ("Women", "Men", "Accessories")),
    ("Ironbark", 1.45, 0.82, 0.80, ("Men", "Shoes")),
    ("Quill Supply", 0.8, 0.52, 0.60, ("Men", "Accessories", "Home")),
    ("Solace Botanics", 1.1, 0.70, 0.75, ("Beauty",)),
)

LINE_NAMES = (
    "Alder", "Brook", "Cove", "Dune", "Elm", "Fern", "Glen", "Haven", "Isle", "Juno",
    "Kite", "Linden", "Marlow", "Nova", "Orchard", "Pike", "Quarry", "Rowan", "Sable",
    "Tamsin", "Umber", "Vale", "Willow", "Yarrow", "Zephyr", "Astor", "Bramble", "Cedar",
    "Delta", "Ember", "Fable", "Harlow", "Indigo", "Jasper", "Laurel", "Moss", "Nash",
    "Otto", "Pembroke", "Reed", "Sorrel", "Thorne", "Wren",
)  # fmt: skip

COLORS = (
    "black", "white", "navy", "ivory", "oat", "olive", "rust", "sage", "charcoal", "camel",
    "dusty rose", "cobalt", "forest green", "sand", "burgundy", "slate blue", "mustard",
    "chocolate", "stone", "terracotta",
)  # fmt: skip

ORIGINS = ("Portugal", "Italy", "Turkey", "India", "Vietnam", "China", "Peru", "Spain", "Lithuania")

ADJECTIVES = (
    "relaxed", "polished", "easy", "timeless", "modern", "understated", "versatile",
    "clean-lined", "soft", "refined",
)  # fmt: skip

OCCASIONS = (
    "everyday wear", "long weekends", "the office", "warm evenings", "travel days",
    "slow Sundays", "layering through the seasons", "dinner with friends",
)  # fmt: skip

INTRO = (
    "Meet the {title}: a {adjective} {noun_l} made from {material}.",
    "The {noun_l} you will reach for again and again — {brand} makes it in {material}.",
    "{brand} pairs {material} with {feature1} in this {adjective} {noun_l}.",
    "Designed for {occasion}, the {title} is made from {material} and finished with {feature1}.",
    "A {adjective} take on the classic {noun_l}: {material}, {feature1} and {feature2}.",
    "Made for {occasion}, this {adjective} {noun_l} from {brand} is cut from {material}.",
)
FIT = (
    "It has a {fit} fit and comes in sizes {size_range}.",
    "Cut for a {fit} fit; available in sizes {size_range}.",
    "The {fit} fit works across sizes {size_range} — check the size guide if you are "
    "between sizes.",
    "Sizes run {size_range} in a {fit} fit.",
)
SIZES = (
    "Available in {size_list}.",
    "Choose {size_list}.",
    "Offered in {size_list}.",
)
COLOR_MANY = ("Choose from {colors}.", "Available in {colors}.", "It comes in {colors}.")
COLOR_ONE = ("Shown in {color}.", "Available in {color}.", "It comes in {color}.")
FEATURES = (
    "Details include {feature1} and {feature2}.",
    "Look closer for {feature1} and {feature2}.",
    "Thoughtful touches: {feature1} and {feature2}.",
)
CARE = ("Care: {care}.", "To keep it looking its best, {care}.", "{care_cap}.")
ORIGIN = ("Made in {origin}.", "Responsibly made in {origin}.", "Produced in {origin}.")

EN_FIRST = (
    "Olivia", "Liam", "Emma", "Noah", "Ava", "Oliver", "Sophia", "Elijah", "Isabella",
    "James", "Mia", "Lucas", "Amelia", "Mason", "Harper", "Ethan", "Evelyn", "Logan",
    "Abigail", "Jacob", "Ella", "Henry", "Chloe", "Samuel", "Grace", "Daniel", "Nora",
    "Leo", "Zoe", "Arjun", "Priya", "Mateo", "Sofia", "Hannah", "Felix", "Ines",
)  # fmt: skip
EN_LAST = (
    "Smith", "Johnson", "Brown", "Taylor", "Miller", "Wilson", "Moore", "Clark", "Lewis",
    "Walker", "Hall", "Young", "King", "Wright", "Scott", "Green", "Baker", "Adams",
    "Nelson", "Carter", "Mitchell", "Roberts", "Turner", "Phillips", "Evans", "Patel",
    "Garcia", "Martin", "Schmidt", "Dubois", "Rossi", "Novak", "Jensen", "Murphy",
)  # fmt: skip
ZH_SURNAMES = (
    ("王", "wang"), ("李", "li"), ("张", "zhang"), ("刘", "liu"), ("陈", "chen"),
    ("杨", "yang"), ("黄", "huang"), ("赵", "zhao"), ("吴", "wu"), ("周", "zhou"),
    ("徐", "xu"), ("孙", "sun"), ("马", "ma"), ("朱", "zhu"), ("胡", "hu"), ("林", "lin"),
)  # fmt: skip
ZH_GIVEN = (
    ("伟", "wei"), ("芳", "fang"), ("娜", "na"), ("敏", "min"), ("静", "jing"),
    ("磊", "lei"), ("洋", "yang"), ("艳", "yan"), ("勇", "yong"), ("杰", "jie"),
    ("婷", "ting"), ("欣怡", "xinyi"), ("子轩", "zixuan"), ("雨涵", "yuhan"),
    ("浩然", "haoran"), ("思琪", "siqi"),
)  # fmt: skip

COUNTRIES_EN: tuple[tuple[str, float, tuple[str, ...]], ...] = (
    ("US", 0.40, ("New York", "Austin", "Seattle", "Chicago", "Denver", "Atlanta")),
    ("GB", 0.14, ("London", "Manchester", "Bristol", "Leeds", "Glasgow")),
    ("CA", 0.09, ("Toronto", "Vancouver", "Montreal", "Calgary")),
    ("AU", 0.07, ("Sydney", "Melbourne", "Brisbane", "Perth")),
    ("DE", 0.08, ("Berlin", "Hamburg", "Munich", "Cologne")),
    ("FR", 0.06, ("Paris", "Lyon", "Marseille", "Bordeaux")),
    ("NL", 0.04, ("Amsterdam", "Utrecht", "Rotterdam")),
    ("IE", 0.03, ("Dublin", "Cork", "Galway")),
    ("SE", 0.03, ("Stockholm", "Gothenburg", "Malmo")),
    ("JP", 0.03, ("Tokyo", "Osaka", "Fukuoka")),
    ("NZ", 0.03, ("Auckland", "Wellington", "Christchurch")),
)
COUNTRIES_ZH: tuple[tuple[str, float, tuple[str, ...]], ...] = (
    ("CN", 0.62, ("Shanghai", "Beijing", "Shenzhen", "Hangzhou", "Chengdu", "Guangzhou")),
    ("TW", 0.18, ("Taipei", "Kaohsiung", "Taichung")),
    ("HK", 0.10, ("Hong Kong",)),
    ("SG", 0.10, ("Singapore",)),
)


def list_words(words: Sequence[str]) -> str:
    """'a', 'a and b', 'a, b and c'."""
    if len(words) <= 1:
        return "".join(words)
    return ", ".join(words[:-1]) + " and " + words[-1]


def describe(r: Random, facts: Mapping[str, Any]) -> tuple[str, str]:
    """Plain-text and HTML descriptions built only from the product's ``facts``."""
    words = dict(facts)
    words["noun_l"] = words["noun"].lower()
    words["care_cap"] = words["care"][0].upper() + words["care"][1:]
    words["adjective"] = r.choice(ADJECTIVES)
    words["occasion"] = r.choice(OCCASIONS)
    colors = words["colors"]
    words["color"] = colors[0] if colors else ""
    words["colors"] = list_words(colors)
    words["size_list"] = list_words(words["sizes"])
    sentences = [r.choice(INTRO)]
    if words.get("fit"):
        sentences.append(r.choice(FIT))
    elif len(words["sizes"]) > 1:
        sentences.append(r.choice(SIZES))
    if colors:
        sentences.append(r.choice(COLOR_MANY if len(colors) > 1 else COLOR_ONE))
    if "{feature2}" not in sentences[0]:
        sentences.append(r.choice(FEATURES))
    sentences.append(r.choice(CARE))
    if r.random() < 0.7:
        sentences.append(r.choice(ORIGIN))
    text = " ".join(s.format(**words) for s in sentences)
    return text, _html(text, facts)


def _html(text: str, facts: Mapping[str, Any]) -> str:
    rows = [("Material", facts["material"])]
    if facts["colors"]:
        rows.append(("Colours", ", ".join(facts["colors"])))
    if facts.get("fit"):
        rows.append(("Fit", facts["fit"]))
    rows.append(("Sizes", ", ".join(facts["sizes"])))
    rows.append(("Care", facts["care"]))
    items = "".join(f"<li>{html.escape(k)}: {html.escape(v)}</li>" for k, v in rows)
    return f"<p>{html.escape(text)}</p><ul>{items}</ul>"


def seo_description(text: str, limit: int = 155) -> str:
    """The first sentence, shortened on a word boundary to ``limit`` characters."""
    first = text.split(". ")[0].rstrip(".") + "."
    if len(first) <= limit:
        return first
    return first[: limit - 1].rsplit(" ", 1)[0].rstrip(",;:—- ") + "…"
