"""Aspects: which sentences of a review speak of quality, price, shipping, fit … and how.

A review is cut into sentences and each sentence into clauses at contrast words ("great
fabric | but runs small", "质量很好，| 但是尺码偏小"). A clause names an aspect when it holds
one of the aspect's keywords: whole words for space-separated languages (with regular
inflections: "fit" also matches "fits", "fitted", "fitting"), substrings for Chinese and
Japanese. A clause that names no aspect is attached to the clause before it in the same
sentence ("the fit is a little loose | but fine"), as is one that names the same aspects
without a contrast word; what is left are *units*, each scored by the sentiment model as
one text. Negation is the sentiment model's business, not the keyword matcher's.

Splitting reads each character a bounded number of times, and a "sentence" is at most
``SENTENCE_CHARS`` long (text without punctuation is cut into pieces), so the cost of a
review grows linearly with its length.
"""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from shopmind.models.segments import segment_spans
from shopmind.reviews.base import LABELS, SentimentModel
from shopmind.reviews.insights import QUOTE_CHARS, shorten
from shopmind.reviews.routing import MAX_CHARS, prepare_text

SUBSTRING_LANGUAGES = ("zh", "ja")
_NAME = re.compile(r"^[a-z][a-z0-9_]{0,31}$")


def _words(spec: str) -> list[str]:
    return [w.strip() for w in spec.split("|") if w.strip()]


# Keywords per aspect and language ("|" separates phrases). English words are matched
# whole with their regular inflections, so list base forms ("run small", not "runs small").
DEFAULT_KEYWORDS: dict[str, dict[str, str]] = {
    "quality": {
        "en": "quality|well made|badly made|poorly made|cheaply made|craftsmanship|workmanship|"
        "stitching|stitch|seam|thread|material|fabric|build|construction|sturdy|flimsy|"
        "feel cheap|look cheap|defect|defective|shoddy|sloppy|uneven|texture|finish",
        "zh": "质量|品质|做工|用料|材质|材料|面料|布料|质感|手感|线头|开线|走线|粗糙|精致|"
        "工艺|瑕疵|劣质|次品|假货|正品",
    },
    "value": {
        "en": "price|pricey|overpriced|expensive|inexpensive|affordable|cheaper|bargain|"
        "value|worth every penny|worth the money|worth the price|worth the cost|not worth|"
        "for the money|money's worth|cost|good deal|great deal|bad deal|a steal|discount",
        "zh": "价格|价钱|价位|性价比|便宜|贵|实惠|划算|物超所值|超值|值这个价|不值|很值|"
        "优惠|折扣|一分钱一分货",
    },
    "shipping": {
        "en": "shipping|ship|shipment|delivery|deliver|courier|postage|dispatch|arrive|"
        "arrival|tracking|transit|parcel|carrier|mail|got here|came quickly|came fast",
        "zh": "物流|快递|发货|送货|配送|到货|运输|派送|邮寄|运费|包邮|顺丰|送达|收到货",
    },
    "size_fit": {
        "en": "size|sizing|fit|true to size|run small|run large|run big|run tiny|run short|"
        "run long|too tight|too loose|too big|too small|too short|too long|tight|loose|"
        "snug|baggy|roomy|length|waist|inseam|the cut|petite|oversized|big on me|"
        "small on me|huge on me|short on me|long on me",
        "zh": "尺码|尺寸|码数|大小|偏大|偏小|合身|版型|宽松|紧身|太紧|有点紧|太大|太小|"
        "大一码|小一码|大两码|小两码|长度|腰围|肩宽|显瘦|显身材",
    },
    "packaging": {
        "en": "packaging|packaged|packed|packing|wrapped|wrapping|box|bubble wrap|padding|seal",
        "zh": "包装|外包装|盒子|纸箱|箱子|压坏|破损|泡沫|封口",
    },
    "service": {
        "en": "customer service|service|customer support|support|customer care|seller|"
        "vendor|merchant|the shop|the store|refund|exchange|the return|a return|"
        "return process|return policy|returns|reply|respond|response|contact|email|"
        "communication|staff|team|representative",
        "zh": "客服|服务|售后|退货|换货|退款|退换|态度|回复|商家|卖家|店家|掌柜|老板",
    },
    "durability": {
        "en": "durable|durability|built to last|lasted|last long|long lasting|hold up|held up|"
        "fall apart|fell apart|break|broke|broken|wear out|wore out|worn out|look worn|"
        "wear and tear|rip|tore|torn|fade|pilling|pilled|crack|peel|shrink|shrank|shrunk",
        "zh": "耐用|结实|牢固|耐穿|不耐|坏了|开裂|裂开|掉色|褪色|起球|变形|寿命|断了|脱胶|掉漆",
    },
}

# Phrases that contain a keyword but speak of something else ("arch support" is the shoe).
DEFAULT_EXCLUDE: dict[str, dict[str, str]] = {
    "service": {"en": "arch support|back support|lumbar support|neck support|ankle support"},
    "size_fit": {
        "en": "fit and finish|loose thread|loose stitch|loose screw|loose button|come loose|"
        "came loose"
    },
    "packaging": {"en": "out of the box"},
    "value": {"zh": "贵店|宝贵|贵州"},
}


def default_aspects() -> dict[str, dict[str, list[str]]]:
    return {a: {lang: _words(s) for lang, s in kw.items()} for a, kw in DEFAULT_KEYWORDS.items()}


def default_exclude() -> dict[str, dict[str, list[str]]]:
    return {a: {lang: _words(s) for lang, s in kw.items()} for a, kw in DEFAULT_EXCLUDE.items()}


# -- keyword matching ----------------------------------------------------------------------

_FILLER = (
    r"(?:[\s\-]+(?:very|really|a\s+bit|a\s+little|a\s+lot|way|too|so|quite|slightly|super|"
    r"extremely|pretty|kind\s+of|somewhat|much|rather|fairly))?"
)


def inflections(word: str) -> set[str]:
    """Regular English forms of ``word``: plural / 3rd person, -ed, -ing, -er, -est."""
    w = word.lower()
    if len(w) < 3 or not w.isalpha():
        return {w}
    forms = {w, w + "s", w + "es", w + "ed", w + "ing", w + "er", w + "est"}
    if w.endswith("e"):
        forms |= {w + "d", w[:-1] + "ing", w + "r", w + "st"}
    if w.endswith("y") and w[-2] not in "aeiou":
        forms |= {w[:-1] + s for s in ("ies", "ied", "ier", "iest")}
    vowels = "aeiou"
    if w[-1] not in vowels + "wxy" and w[-2] in vowels and w[-3] not in vowels:
        forms |= {w + w[-1] + s for s in ("ed", "ing", "er")}  # ship → shipped
    return forms


def _phrase_pattern(phrase: str) -> str:
    words = [w for w in re.split(r"[\s\-]+", phrase.strip().lower()) if w]
    parts = []
    for w in words:
        forms = sorted(inflections(w), key=lambda f: (-len(f), f))
        parts.append("(?:" + "|".join(re.escape(f) for f in forms) + r")(?:['’]s)?")
    return (_FILLER + r"[\s\-]+").join(parts)


def _compile(phrases: Iterable[str], substring: bool) -> re.Pattern[str] | None:
    phrases = sorted({p.strip() for p in phrases if p.strip()}, key=lambda p: (-len(p), p))
    if not phrases:
        return None
    if substring:
        return re.compile("|".join(re.escape(p) for p in phrases), re.IGNORECASE)
    body = "|".join(_phrase_pattern(p) for p in phrases)
    return re.compile(rf"(?<!\w)(?:{body})(?!\w)", re.IGNORECASE)


# -- configuration -------------------------------------------------------------------------


def _check_lists(value: Any, where: str) -> dict[str, list[str]]:
    if not isinstance(value, Mapping):
        raise ValueError(f"{where}: expected a table of language → list of phrases")
    out = {}
    for lang, phrases in value.items():
        if not isinstance(lang, str) or not re.fullmatch(r"[a-z]{2,3}(-[A-Za-z0-9]+)?", lang):
            raise ValueError(f"{where}: {lang!r} is not a language code such as 'en' or 'zh'")
        if isinstance(phrases, str) or not isinstance(phrases, Sequence):
            raise ValueError(f"{where}.{lang}: expected a list of phrases")
        for i, p in enumerate(phrases):
            if not isinstance(p, str) or not p.strip():
                raise ValueError(f"{where}.{lang}[{i}]: expected a non-empty string, got {p!r}")
        out[lang] = [p.strip() for p in phrases]
    return out


@dataclass
class AspectConfig:
    """The aspects to find: name → language → keyword phrases (and phrases to ignore).

    >>> config = AspectConfig().extend({"battery": {"en": ["battery", "charge"]}})
    >>> config = config.without("durability")
    """

    aspects: dict[str, dict[str, list[str]]] = field(default_factory=default_aspects)
    exclude: dict[str, dict[str, list[str]]] = field(default_factory=default_exclude)
    substring_languages: tuple[str, ...] = SUBSTRING_LANGUAGES
    quote_chars: int = QUOTE_CHARS

    def __post_init__(self) -> None:
        if not isinstance(self.aspects, Mapping) or not self.aspects:
            raise ValueError("aspects: name at least one aspect")
        for name, lists in self.aspects.items():
            if not isinstance(name, str) or not _NAME.match(name):
                raise ValueError(
                    f"aspects: {name!r} is not a valid aspect name "
                    "(lower-case letters, digits and _, at most 32)"
                )
            self.aspects[name] = _check_lists(lists, f"aspects.{name}")
        for name, lists in self.exclude.items():
            self.exclude[name] = _check_lists(lists, f"exclude.{name}")
        if not isinstance(self.quote_chars, int) or self.quote_chars < 20:
            raise ValueError(f"quote_chars must be an integer >= 20: {self.quote_chars!r}")

    @property
    def names(self) -> list[str]:
        return list(self.aspects)

    def extend(
        self,
        aspects: Mapping[str, Mapping[str, Sequence[str]]],
        exclude: Mapping[str, Mapping[str, Sequence[str]]] | None = None,
    ) -> AspectConfig:
        """A copy with more aspects, or more keywords for existing ones (merged, not replaced)."""
        merged = _merge(self.aspects, aspects, "aspects")
        return AspectConfig(
            merged,
            _merge(self.exclude, exclude or {}, "exclude"),
            self.substring_languages,
            self.quote_chars,
        )

    def without(self, *names: str) -> AspectConfig:
        """A copy without the named aspects."""
        unknown = [n for n in names if n not in self.aspects]
        if unknown:
            raise ValueError(f"no aspect {unknown[0]!r}; aspects are: {', '.join(self.names)}")
        kept = {a: v for a, v in self.aspects.items() if a not in names}
        ex = {a: v for a, v in self.exclude.items() if a not in names}
        return AspectConfig(kept, ex, self.substring_languages, self.quote_chars)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], source: str = "aspect config") -> AspectConfig:
        """Build from data such as a ``[reviews.aspects]`` table or a JSON file.

        Keys: ``aspects`` (name → language → phrases; merged into the defaults unless
        ``replace`` is true), ``exclude`` (same shape), ``remove`` (aspect names to drop),
        ``quote_chars``. Errors name ``source`` and the offending key.
        """
        try:
            if not isinstance(data, Mapping):
                raise ValueError("expected a table")
            unknown = set(data) - {"aspects", "exclude", "remove", "replace", "quote_chars"}
            if unknown:
                raise ValueError(f"unknown key {sorted(unknown)[0]!r}")
            remove = data.get("remove") or []
            if isinstance(remove, str) or not isinstance(remove, Sequence):
                raise ValueError("remove: expected a list of aspect names")
            base = cls()
            aspects, exclude = ({}, {}) if data.get("replace") else (base.aspects, base.exclude)
            config = cls(
                _merge(aspects, data.get("aspects") or {}, "aspects"),
                _merge(exclude, data.get("exclude") or {}, "exclude"),
                quote_chars=data.get("quote_chars", QUOTE_CHARS),
            )
            if remove:
                config = config.without(*remove)
            return config
        except ValueError as exc:
            raise ValueError(f"{source}: {exc}") from None

    @classmethod
    def load(cls, path: str | Path) -> AspectConfig:
        """From a JSON or TOML file (a TOML file may hold it under ``[reviews.aspects]``)."""
        path = Path(path)
        try:
            raw = path.read_text(encoding="utf-8")
            data = tomllib.loads(raw) if path.suffix == ".toml" else json.loads(raw)
        except (OSError, ValueError) as exc:
            raise ValueError(f"{path}: cannot read aspect config: {exc}") from None
        if path.suffix == ".toml" and "reviews" in data:
            data = data["reviews"].get("aspects", {})
        return cls.from_dict(data, source=str(path))

    def to_dict(self) -> dict[str, Any]:
        """Data that ``from_dict`` turns back into this config (it replaces the defaults)."""
        return {
            "replace": True,
            "aspects": {a: {k: list(v) for k, v in d.items()} for a, d in self.aspects.items()},
            "exclude": {a: {k: list(v) for k, v in d.items()} for a, d in self.exclude.items()},
            "quote_chars": self.quote_chars,
        }

    @cached_property
    def _patterns(self) -> list[tuple[str, list[re.Pattern[str]], list[re.Pattern[str]]]]:
        out = []
        for name, lists in self.aspects.items():
            found = [self._pattern(lang, ps) for lang, ps in lists.items()]
            drop = [self._pattern(lang, ps) for lang, ps in self.exclude.get(name, {}).items()]
            out.append((name, [p for p in found if p], [p for p in drop if p]))
        return out

    def _pattern(self, language: str, phrases: Sequence[str]) -> re.Pattern[str] | None:
        return _compile(phrases, substring=language.split("-")[0] in self.substring_languages)

    def detect(self, text: str) -> list[str]:
        """The aspects ``text`` names, in configuration order (every language's keywords
        are tried, so mixed-language text works)."""
        found = []
        for name, patterns, drop in self._patterns:
            clause = text
            for d in drop:
                clause = d.sub(" ", clause)
            if any(p.search(clause) for p in patterns):
                found.append(name)
        return found


def _merge(
    base: Mapping[str, Mapping[str, Sequence[str]]],
    more: Mapping[str, Mapping[str, Sequence[str]]],
    where: str,
) -> dict[str, dict[str, list[str]]]:
    if not isinstance(more, Mapping):
        raise ValueError(f"{where}: expected a table of aspect name → languages")
    out = {a: {lang: list(ps) for lang, ps in d.items()} for a, d in base.items()}
    for name, lists in more.items():
        checked = _check_lists(lists, f"{where}.{name}")
        target = out.setdefault(name, {})
        for lang, phrases in checked.items():
            known = target.setdefault(lang, [])
            known.extend(p for p in phrases if p not in known)
    return out


# -- sentences and clauses -----------------------------------------------------------------

Span = tuple[int, int, bool]  # start, end, begins with a contrast word
SENTENCE_CHARS = 500
"""Longest sentence; longer ones (text without punctuation) are cut into pieces this long."""

_EN_END = re.compile(
    r"[.!?;…]+[\"')\]”’]*(?=\s|$)|(?<=[a-z])[.!?]+(?=[A-Z][a-z])|(?:\.{2,}|…)(?=\w)|[。！？；]+|\n"
)
_CJK_END = re.compile(r"[。！？；!?;…]+[\"')\]」』”’]*|(?<!\d)\.|\.(?!\d)|\n")
_EN_CONTRAST = re.compile(r"(?<!\w)(?:but|however|although|though|whereas)(?!\w)", re.I)
_EN_NOT_CONTRAST = re.compile(r"(?:nothing|anything|all|everything|as)$", re.I)
_HAN = "\u3400-\u4dbf\u4e00-\u9fff"
_CJK_COMMA = re.compile(rf"[，,：:]|(?<=[{_HAN}])\s+(?=[{_HAN}])")  # a space between Han too
_CJK_CONTRAST = re.compile(r"但是|可是|然而|不过|只是|就是|但(?![是愿])")
_CJK_NOT_CONTRAST = re.compile(
    r"(?<=[再只最好比])不过|不过(?=[了是])|(?<=[不非])但|就是(?=[说了这那])"
)


def _cut(text: str, start: int, end: int, pattern: re.Pattern[str]) -> list[tuple[int, int]]:
    """``text[start:end]`` cut after each match of ``pattern`` (empty pieces dropped)."""
    spans, at = [], start
    for m in pattern.finditer(text, start, end):
        spans.append((at, m.end()))
        at = m.end()
    spans.append((at, end))
    return [(a, b) for a, b in spans if text[a:b].strip()]


def _idiom_before(text: str, start: int, at: int) -> bool:
    """Whether ``text[start:at]`` ends in "nothing", "all", "as" … and then spaces.

    Only the few characters before ``at`` are read, so checking every "but" of a long
    unpunctuated sentence stays linear in its length.
    """
    word_end = at
    while word_end > start and text[word_end - 1].isspace():
        word_end -= 1
    if word_end == at:
        return False
    return _EN_NOT_CONTRAST.search(text, max(start, word_end - 10), word_end) is not None


def _en_contrasts(text: str, start: int, end: int) -> list[int]:
    cuts = []
    for m in _EN_CONTRAST.finditer(text, start, end):
        word, at = m.group().lower(), m.start()
        after = text[m.end() : m.end() + 8].lower()
        if word == "but" and (_idiom_before(text, start, at) or after.startswith(" also")):
            continue
        if word == "though" and _idiom_before(text, start, at):
            continue
        if word == "though" and text[max(start, at - 5) : at].lower() == "even ":
            at -= len("even ")
        cuts.append(at)
    return cuts


def _cjk_contrasts(text: str, start: int, end: int) -> list[int]:
    bad = {m.start() for m in _CJK_NOT_CONTRAST.finditer(text, start, end)}
    return [m.start() for m in _CJK_CONTRAST.finditer(text, start, end) if m.start() not in bad]


def _clauses_of(text: str, start: int, end: int, cjk: bool) -> list[Span]:
    """Clauses of one sentence, each marked when it opens with a contrast word."""
    pieces = _cut(text, start, end, _CJK_COMMA) if cjk else [(start, end)]
    out: list[Span] = []
    for a, b in pieces:
        cuts = _cjk_contrasts(text, a, b) if cjk else _en_contrasts(text, a, b)
        bounds = [a, *[c for c in cuts if c > a], b]
        for i in range(len(bounds) - 1):
            lo, hi = bounds[i], bounds[i + 1]
            if text[lo:hi].strip():
                out.append((lo, hi, i > 0 or (a in cuts)))
    return out


def sentence_spans(text: str, language: str) -> list[list[Span]]:
    """Sentences of ``text`` as lists of clause spans (see ``split_sentences``).

    A sentence longer than ``SENTENCE_CHARS`` (text without punctuation) is cut into
    pieces of at most that many characters (``segment_spans``), each a sentence of its
    own, so no unit handed to the sentiment model is longer.
    """
    cjk = language.split("-")[0] in SUBSTRING_LANGUAGES
    spans = []
    for a, b in _cut(text, 0, len(text), _CJK_END if cjk else _EN_END):
        for lo, hi in segment_spans(text, SENTENCE_CHARS, a, b):
            clauses = _clauses_of(text, lo, hi, cjk)
            if clauses:
                spans.append(clauses)
    return spans


def split_sentences(text: str, language: str = "en") -> list[str]:
    """Sentences and contrast clauses of ``text``, in order, stripped.

    English splits at ``. ! ? ; …`` followed by a space (or a capitalised word, as in
    "great.Runs small"), after an ellipsis, at ``。！？；`` and line breaks, and before "but",
    "however", "although", "though", "whereas" ("great fabric", "but runs small").
    Chinese and Japanese split at ``。！？；!?;``, at a full stop that is not a decimal point,
    at commas, colons and spaces between Han characters, at line breaks, and before 但是,
    可是, 然而, 不过, 只是, 就是, 但. Idioms that only look like contrast stay whole
    ("nothing but", "but also", "as though", 再好不过, 不但).
    """
    return [
        text[a:b].strip() for sentence in sentence_spans(text, language) for a, b, _ in sentence
    ]


# -- extraction ----------------------------------------------------------------------------


@dataclass(frozen=True)
class AspectMention:
    """One aspect named in one unit (clause or sentence) of a review.

    ``sentence_no`` counts units from 0 in reading order; ``polarity`` is a label of
    ``LABELS`` and ``score`` its probability under the sentiment model; ``sentence`` is the
    unit as a short quote.
    """

    sentence_no: int
    aspect: str
    polarity: str
    score: float
    sentence: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "sentence_no": self.sentence_no,
            "aspect": self.aspect,
            "polarity": self.polarity,
            "score": round(self.score, 4),
            "sentence": self.sentence,
        }


class AspectExtractor:
    """Aspect mentions with polarity, from any ``SentimentModel`` (the lexicon by default).

    >>> from shopmind.reviews.lexicon import LexiconSentiment
    >>> extractor = AspectExtractor(AspectConfig(), LexiconSentiment())
    >>> [(m.aspect, m.polarity) for m in extractor.extract("Lovely fabric but awful sizing.")]
    [('quality', 'positive'), ('size_fit', 'negative')]
    """

    def __init__(
        self,
        config: AspectConfig | None = None,
        model: SentimentModel | None = None,
        batch_size: int = 512,
    ) -> None:
        self.config = config if config is not None else AspectConfig()
        if model is None:
            from shopmind.reviews.lexicon import LexiconSentiment

            model = LexiconSentiment()
        self.model = model
        self.batch_size = batch_size

    def units(self, text: str) -> list[tuple[str, list[str]]]:
        """(unit text, aspects) for every unit of ``text`` that names an aspect.

        Only what the sentiment model reads is split: the cleaned text cut to the
        model's ``max_chars`` (``routing.MAX_CHARS``, 5,000, by default), so the units
        of a text never cost the model more than the text itself.
        """
        prepared = prepare_text(text, getattr(self.model, "max_chars", MAX_CHARS))
        text = prepared.text
        out = []
        for sentence in sentence_spans(text, prepared.language):
            units: list[list[Any]] = []  # [start, end, aspects]
            for a, b, contrast in sentence:
                found = self.config.detect(text[a:b])
                if units and (not found or (found == units[-1][2] and not contrast)):
                    units[-1][1] = b
                elif found:
                    units.append([a, b, found])
            out.extend((text[a:b].strip().rstrip(",，、:：;；"), found) for a, b, found in units)
        return out

    def extract(self, text: str) -> list[AspectMention]:
        """Aspect mentions of one text (see ``extract_many``)."""
        return self.extract_many([text])[0]

    def extract_many(self, texts: Sequence[str]) -> list[list[AspectMention]]:
        """Aspect mentions per text; every unit of every text is scored in one batched pass
        (identical units once). Empty or aspect-free texts give empty lists."""
        if isinstance(texts, str):
            raise TypeError("expected a sequence of texts, got a single string")
        per_text, distinct = [], {}
        for i, t in enumerate(texts):
            if t is not None and not isinstance(t, str):
                raise TypeError(f"text at index {i} is {type(t).__name__}, expected str")
            units = self.units(t) if t else []
            per_text.append(units)
            for unit, _ in units:
                distinct.setdefault(unit, len(distinct))
        proba = self._proba(list(distinct))
        out = []
        for units in per_text:
            mentions = []
            for no, (unit, aspects) in enumerate(units):
                row = proba[distinct[unit]]
                k = int(np.argmax(row))
                quote = shorten(unit, self.config.quote_chars)
                mentions += [AspectMention(no, a, LABELS[k], float(row[k]), quote) for a in aspects]
            out.append(mentions)
        return out

    def _proba(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, 3))
        parts = [
            np.asarray(self.model.predict_proba(texts[i : i + self.batch_size]), dtype=float)
            for i in range(0, len(texts), self.batch_size)
        ]
        return np.concatenate(parts)
