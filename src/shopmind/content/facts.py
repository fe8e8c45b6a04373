"""The fact guard: every claim in a generated text must be stated by the product's facts.

A claim is a number (with or without a unit, or a code like "4K"), a material, a
certification, a warranty or service promise, a compatibility claim or a superlative.
:class:`FactGuard` indexes one product's facts once and checks any number of texts::

    guard = FactGuard(ProductFacts(title="Linen tee", attributes={"material": "100% linen"}))
    guard.unsupported("Soft 100% linen, with a 10-year warranty.")
    # → [Claim(kind="number", text="10-year", ...), Claim(kind="warranty", text="warranty", ...)]

When a claim is supported:

- a number with a unit: the facts hold the same quantity in any unit of its dimension
  (0.5 l == 500 ml, 50cm == 0.5 m; a converted value may be rounded to the precision it is
  written with, within 2 %), or the same number with no unit at all;
- a bare number: the facts hold that number anywhere, with or without a unit; a count
  ("2-pack"), a multiple ("3x") or a price: the facts hold it as a number of the same
  kind or with no unit; a code ("4K", "H2O"): the facts hold the same code;
- a material, certification or warranty term: the facts hold any term of the same concept,
  in any language (``纯棉`` is supported by "100% cotton");
- a superlative: the facts hold the same words;
- a compatibility claim ("compatible with iPhone 15", "兼容…"): the facts hold every word
  of what it names.

Product fields are data: they are only ever searched, never compiled into patterns or
read as instructions. The vocabularies live in :mod:`shopmind.content.vocabulary`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from shopmind.content.numbers import Quantity, parse_number, quantities
from shopmind.content.strip import strip_unsupported
from shopmind.content.terms import Match, contains, find_terms, longest, term_pattern
from shopmind.content.textnorm import Normalised, normalise, singular, tokens
from shopmind.content.vocabulary import DEFAULT, Vocabulary

__all__ = [
    "Claim",
    "FactGuard",
    "ProductFacts",
    "check_claims",
    "strip_unsupported",
    "unsupported_claims",
]

KINDS = ("number", "material", "certification", "warranty", "compatibility", "superlative")
_UNCONVERTED = (None, "count", "times", "money")
_CLAUSE_END = re.compile(r"[,;:!?()\n，。；：！？、]|\.(?!\d)")
_OBJECT_TOKEN = re.compile(r"[A-Za-z0-9\u00c0-\u024f]+(?:[.\-'][A-Za-z0-9]+)*|&|/")
_HAN_RUN = re.compile("[\u4e00-\u9fff]+")
_CONNECT = frozenset(
    {"and", "or", "&", "/", "the", "most", "all", "any", "series", "pro", "max", "plus",
     "mini", "ultra", "air", "se"}
)  # fmt: skip
_BREAK = frozenset(
    {"to", "so", "that", "which", "while", "when", "for", "with", "in", "on", "at", "by",
     "from", "making", "because", "if", "as", "is", "are", "was", "were", "will", "can",
     "be"}
)  # fmt: skip
_GENERIC_CN = ("于", "各种", "所有", "大部分", "大多数", "多种", "主流", "市面上", "绝大多数")
_COMPACT = re.compile(r"[^0-9a-z\u00c0-\u024f\u4e00-\u9fff]+")


@dataclass(frozen=True)
class ProductFacts:
    """What a product's copy may state: its own title, description, attributes, brand,
    category, variant options and price. Descriptions are plain text (HTML converted by
    the caller, e.g. with :func:`shopmind.safety.html_to_text`)."""

    title: str = ""
    description: str = ""
    attributes: Mapping[str, Any] = field(default_factory=dict)
    brand: str = ""
    category: str | Sequence[str] = ""
    options: Mapping[str, Sequence[str]] = field(default_factory=dict)
    price: float | str | None = None

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> ProductFacts:
        """From a product dict (``{"title", "description", "attributes", "brand",
        "category", "options", "price"}``); other keys are ignored."""
        return cls(
            title=str(data.get("title") or ""),
            description=str(data.get("description") or ""),
            attributes=dict(data.get("attributes") or {}),
            brand=str(data.get("brand") or ""),
            category=data.get("category") or "",
            options=dict(data.get("options") or {}),
            price=data.get("price"),
        )

    def text(self) -> str:
        """All facts as text, one fact a line."""
        lines = [self.title, self.brand, self.description]
        category = self.category
        lines.append(category if isinstance(category, str) else " / ".join(map(str, category)))
        lines += [f"{key}: {_as_text(value)}" for key, value in self.attributes.items()]
        lines += [f"{name}: {_as_text(values)}" for name, values in self.options.items()]
        if self.price not in (None, ""):
            lines.append(f"price: {self.price}")
        return "\n".join(line for line in lines if line)

    def keyed_quantities(self, vocab: Vocabulary) -> list[Quantity]:
        """Attribute values that are a quantity on their own: a number whose unit is in
        the attribute's name (``{"weight (kg)": 1.2}``), or a value that is just a number
        and a unit — where even a unit read only when attached is clear (``"10 in"``)."""
        found = []
        for key, value in self.attributes.items():
            unit = _key_unit(str(key), vocab)
            for item in value if isinstance(value, list | tuple) else [value]:
                number, decimals, unit_here = _as_number(item), 0, unit
                if number is None:
                    number, decimals, unit_here = _number_and_unit(str(item), vocab)
                if unit_here and number is not None:
                    dimension, factor = vocab.units[unit_here]
                    found.append(Quantity(0, 0, str(item), number, unit_here, dimension,
                                          number * factor, decimals))  # fmt: skip
        return found


@dataclass(frozen=True)
class Claim:
    """A claim found in a text: its ``kind`` (one of :data:`KINDS`), the ``text`` as
    written at ``start:end`` of the checked text, the ``key`` it was checked by (a
    quantity such as ``"500 ml"``, a concept such as ``"cotton"``, the superlative's
    words) and whether the facts support it."""

    kind: str
    text: str
    start: int
    end: int
    key: str
    supported: bool

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class FactGuard:
    """One product's facts, indexed to check texts against. Cheap to call repeatedly."""

    def __init__(self, facts: ProductFacts, vocabulary: Vocabulary = DEFAULT) -> None:
        self.facts = facts
        self.vocabulary = vocabulary
        norm = normalise(facts.text())
        self._text, self._cased = norm.text, norm.cased
        keyed = facts.keyed_quantities(vocabulary)
        price = _as_number(facts.price)
        numbers = [q for q in quantities(norm.text, vocabulary) + keyed if q.dimension != "code"]
        self._values = {_key(q.value) for q in numbers} | ({_key(price)} if price else set())
        # numbers written with no unit at all (a unit in the attribute's name is a unit)
        self._bare = {_key(q.value) for q in numbers if q.dimension is None} - {
            _key(q.value) for q in keyed
        }
        self._counted: dict[str, set[float]] = {"money": {_key(price)} if price else set()}
        for q in numbers:
            self._counted.setdefault(q.dimension or "", set()).add(_key(q.value))
        self._measured = [q for q in numbers if q.dimension not in _UNCONVERTED]
        words = [w for w in _COMPACT.split(norm.text) if w]
        self._codes = {"".join(words[i : i + n]) for n in (1, 2, 3) for i in range(len(words))}
        self._words = {singular(w) for w in tokens(norm.text)}
        self._concepts: dict[tuple[str, str], bool] = {}

    def claims(self, text: str) -> list[Claim]:
        """Every claim in ``text``, supported or not, in reading order."""
        norm = normalise(text)
        vocab = self.vocabulary
        found = self._numbers(norm, text)
        for kind, concepts in (
            ("material", vocab.materials),
            ("certification", vocab.certifications),
            ("warranty", vocab.warranty),
        ):
            found += self._concept_claims(norm, text, kind, concepts)
        found += self._superlatives(norm, text)
        found += self._compatibility(norm, text)
        return sorted(found, key=lambda c: (c.start, c.end, c.kind))

    def unsupported(self, text: str) -> list[Claim]:
        """The claims in ``text`` the facts do not support."""
        return [c for c in self.claims(text) if not c.supported]

    def strip(self, text: str, max_rounds: int = 4) -> tuple[str, list[Claim]]:
        """``text`` without the sentences or clauses that carry unsupported claims, and the
        claims removed. Only removes text; never rewrites it."""
        removed: list[Claim] = []
        for _ in range(max_rounds):
            bad = self.unsupported(text)
            if not bad:
                break
            removed += bad
            text = strip_unsupported(text, bad)
        return text, removed

    # -- numbers ----------------------------------------------------------------------
    def _numbers(self, norm: Normalised, text: str) -> list[Claim]:
        claims = []
        for q in quantities(norm.text, self.vocabulary):
            start, end = norm.span(q.start, q.end)
            claims.append(
                Claim(
                    "number", text[start:end], start, end, _describe(q), self._number_supported(q)
                )
            )
        return claims

    def _number_supported(self, q: Quantity) -> bool:
        if q.dimension == "code":
            return _COMPACT.sub("", q.text) in self._codes
        value = _key(q.value)
        if q.dimension is None:  # a bare number: stated anywhere, with any unit
            return value in self._values
        if value in self._bare:  # the facts give the number without a unit
            return True
        if q.dimension in _UNCONVERTED:  # counts, multiples, prices: the same kind
            return value in self._counted.get(q.dimension, set())
        return any(_same_quantity(q, f, self.vocabulary) for f in self._measured)

    # -- vocabulary concepts ----------------------------------------------------------
    def _concept_claims(
        self, norm: Normalised, text: str, kind: str, concepts: Mapping[str, list[str]]
    ) -> list[Claim]:
        claims = []
        for m in find_terms(norm.text, norm.cased, concepts, self.vocabulary.exceptions):
            start, end = norm.span(m.start, m.end)
            supported = self._concept_supported(kind, m.concept, concepts[m.concept])
            claims.append(Claim(kind, text[start:end], start, end, m.concept, supported))
        return claims

    def _concept_supported(self, kind: str, concept: str, terms: list[str]) -> bool:
        if (kind, concept) not in self._concepts:
            self._concepts[kind, concept] = any(contains(self._text, self._cased, t) for t in terms)
        return self._concepts[kind, concept]

    def _superlatives(self, norm: Normalised, text: str) -> list[Claim]:
        vocab = self.vocabulary
        literal = {t: [t] for t in vocab.superlatives}
        matches = find_terms(norm.text, norm.cased, literal, vocab.exceptions)
        for pattern in vocab.superlative_patterns:
            for m in re.finditer(pattern, norm.text):
                word = m.group(1) if m.groups() else m.group()
                if word in vocab.superlative_not or m.group() in vocab.superlative_not:
                    continue
                if _excepted_phrase(norm.text, m, vocab.exceptions):
                    continue
                matches.append(Match(m.start(), m.end(), m.group(), m.group()))
        claims = []
        for m in longest(matches, by_concept=False):
            start, end = norm.span(m.start, m.end)
            words = norm.text[m.start : m.end]
            supported = bool(term_pattern(words).search(self._text))
            claims.append(Claim("superlative", text[start:end], start, end, words, supported))
        return claims

    # -- compatibility ----------------------------------------------------------------
    def _compatibility(self, norm: Normalised, text: str) -> list[Claim]:
        vocab = self.vocabulary
        triggers = {t: [t] for t in (*vocab.compat_strong, *vocab.compat_weak)}
        claims = []
        for m in find_terms(norm.text, norm.cased, triggers, {}):
            strong = m.term in vocab.compat_strong
            found = self._compat_object(norm, m.end, strong, han=not m.term.isascii())
            if found is None:
                continue
            end, supported = found
            if supported is None:  # names nothing checkable: "works with all devices"
                supported = contains(self._text, self._cased, m.term)
            start, stop = norm.span(m.start, end)
            key = norm.text[m.start : end]
            claims.append(Claim("compatibility", text[start:stop], start, stop, key, supported))
        return claims

    def _compat_object(
        self, norm: Normalised, pos: int, strong: bool, han: bool
    ) -> tuple[int, bool | None] | None:
        """What the trigger at ``pos`` names: (end of the claim, supported), None when it
        names nothing specific enough to be a claim; supported is None when a strong
        trigger names nothing checkable."""
        clause = _CLAUSE_END.search(norm.cased, pos)
        stop = min(clause.start() if clause else len(norm.cased), pos + 80)
        region = norm.cased[pos:stop]
        picked = _pick_object(region, strong and not han, han)
        if picked:
            content = [
                t
                for t, _ in picked
                if t.casefold() not in self.vocabulary.stopwords and t.casefold() not in _CONNECT
            ]
            specific = any(_specific(t) for t, _ in picked)
            if not content or (not strong and not specific):
                return None if not strong else (pos + picked[-1][1], None)
            ok = all(self._has_word(t) for t in content)
            return pos + picked[-1][1], ok
        if han and strong:
            run = _HAN_RUN.match(region.lstrip())
            if not run:
                return None
            name = run.group()
            for prefix in _GENERIC_CN:
                name = name.removeprefix(prefix)
            name = name[:6]
            if len(name) < 2:
                return None
            end = pos + len(region) - len(region.lstrip()) + run.start() + len(run.group())
            ok = all(name[i : i + 2] in self._text for i in range(len(name) - 1))
            return end, ok
        return None

    def _has_word(self, token: str) -> bool:
        folded = token.casefold()
        return singular(folded) in self._words or _COMPACT.sub("", folded) in self._codes


def check_claims(text: str, facts: ProductFacts, vocabulary: Vocabulary = DEFAULT) -> list[Claim]:
    """Every claim in ``text`` with whether ``facts`` support it."""
    return FactGuard(facts, vocabulary).claims(text)


def unsupported_claims(
    text: str, facts: ProductFacts, vocabulary: Vocabulary = DEFAULT
) -> list[Claim]:
    """The claims in ``text`` that ``facts`` do not support (their ``kind`` and span)."""
    return FactGuard(facts, vocabulary).unsupported(text)


def _pick_object(region: str, strong: bool, han: bool) -> list[tuple[str, int]]:
    """Tokens naming what a compatibility trigger points at, with their end offsets."""
    picked: list[tuple[str, int]] = []
    for m in _OBJECT_TOKEN.finditer(region):
        if m.start() > 0 and not han and _HAN_RUN.search(region, 0, m.start()):
            break
        token = m.group()
        lower = token.casefold()
        if strong and not han:
            if lower in _BREAK or len(picked) >= 6:
                break
        elif not (_named(token) or lower in _CONNECT) or len(picked) >= 6:
            break
        picked.append((token, m.end()))
    while picked and picked[-1][0].casefold() in _CONNECT:
        picked.pop()
    return picked


def _specific(token: str) -> bool:
    """A model name or number: a digit, a capital after a small letter (iPhone, MacBook)
    or all capitals (USB)."""
    letters = [c for c in token if c.isalpha()]
    return (
        any(c.isdigit() for c in token)
        or bool(re.search(r"[a-z][A-Z]", token))
        or (len(letters) >= 2 and all(c.isupper() for c in letters))
    )


def _named(token: str) -> bool:
    return _specific(token) or token[:1].isupper()


def _excepted_phrase(text: str, m: re.Match[str], exceptions: Mapping[str, list[str]]) -> bool:
    for phrase in exceptions.get(m.group(), ()):
        offset = phrase.find(m.group())
        if offset >= 0 and m.start() >= offset and text.startswith(phrase, m.start() - offset):
            return True
    return False


def _same_quantity(q: Quantity, f: Quantity, vocab: Vocabulary) -> bool:
    """Whether fact quantity ``f`` states text quantity ``q``, allowing a converted value
    to be rounded to the precision either is written with (and within 2 %)."""
    if f.dimension != q.dimension:
        return False
    if math.isclose(f.base, q.base, rel_tol=1e-9, abs_tol=1e-12):
        return True
    if q.unit == f.unit or q.unit is None or f.unit is None:
        return False
    step_q = 0.5 * 10.0**-q.decimals * vocab.units[q.unit][1]
    step_f = 0.5 * 10.0**-f.decimals * vocab.units[f.unit][1]
    diff = abs(f.base - q.base)
    return diff <= max(step_q, step_f) and diff <= 0.02 * max(abs(f.base), abs(q.base))


def _key(value: float | None) -> float:
    return round(float(value or 0.0), 9)


def _describe(q: Quantity) -> str:
    if q.dimension == "code":
        return q.text
    value = f"{q.value:g}"
    if q.dimension == "money":
        return f"{q.unit}{value}"
    return f"{value} {q.unit}" if q.unit else value


def _as_text(value: Any) -> str:
    if isinstance(value, list | tuple | set):
        return ", ".join(_as_text(v) for v in value)
    if isinstance(value, Mapping):
        return "; ".join(f"{k}: {_as_text(v)}" for k, v in value.items())
    return str(value)


def _as_number(value: Any) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        return float(value)
    match = re.fullmatch(r"\s*[$€£¥]?\s*(\d+(?:\.\d+)?)\s*", str(value))
    return float(match.group(1)) if match else None


def _number_and_unit(value: str, vocab: Vocabulary) -> tuple[float | None, int, str | None]:
    """``"10 in"`` → (10.0, 0, "in"): number, decimals, unit; else (None, 0, None)."""
    match = re.fullmatch(r"\s*(\d[\d.,]*)\s*([^\d\s].*?)\.?\s*", normalise(value).text)
    if not match:
        return None, 0, None
    unit = match.group(2)
    for alias in (unit, singular(unit)):
        if alias in vocab.units:
            return (*parse_number(match.group(1)), alias)
    return None, 0, None


def _key_unit(key: str, vocab: Vocabulary) -> str | None:
    """The unit named in an attribute's name: "weight (kg)", "capacity_ml", "容量(毫升)"."""
    folded = normalise(key).text
    candidates = re.findall(r"[(\[]([^)\]]+)[)\]]", folded)
    parts = [p for p in re.split(r"[\s_\-()\[\]]+", folded) if p]
    candidates += parts[-1:]
    for candidate in candidates:
        for unit in (candidate.strip(), singular(candidate.strip())):
            if unit in vocab.units:
                return unit
    return None
