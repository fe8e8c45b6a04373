"""Search tokens and sentences for English and Chinese support text.

BM25 needs words, and the two languages a shop's help centre is written in need
different cuts:

- Latin-script text is casefolded and cut into words and numbers (``4.99`` stays one
  token). Stop words (a short list of function words, contraction tails included) are
  dropped, and a light suffix stemmer of our own folds plurals and ``-ing`` / ``-ed``
  forms onto one stem (``shipping``, ``shipped``, ``ships`` → ``ship``). It is meant to
  be conservative: it only strips endings (``-ies``/``-ied`` become ``-y``, a doubled
  final consonant is undoubled, a final ``-e`` goes), only when a stem of three letters
  with a vowel is left, and leaves words of three letters alone, so it rarely merges
  words of different meanings; ``cancelled`` and ``cancel`` stay apart. Query and
  passages go through the same function, so an odd stem (``size`` → ``siz``) still
  matches.
- Runs of Han characters go to ``jieba.cut_for_search``, which gives the words and, for
  long words, their parts too (``信用卡`` → ``信用``, ``信用卡``), so a query word
  matches a longer passage word. jieba loads its dictionary (about a second) on
  first use, under a lock, with its log messages quieted.

``is_chinese`` decides which encoder reads a query: Han characters are at least a
quarter of its letters. A Chinese word is about two characters, an English one about
five letters, so that is roughly "one word in three is Chinese".

``sentences`` cuts at ``.`` ``!`` ``?`` followed by a space or the end, at ``。！？``
and at line ends; a period after a known abbreviation (``e.g.``, ``Mr.``) or inside a
number (``4.99``) is not an end.
"""

from __future__ import annotations

import logging
import re
import threading
from typing import Any

HAN = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_HAN_RUN = re.compile(f"([{HAN}]+)")
_HAN_CHAR = re.compile(f"[{HAN}]")
# a number (decimal point or thousands separators kept) or a run of letters
_WORD = re.compile(r"\d+(?:[.,]\d+)*|[^\W\d_]+")
_LATIN_ABBREVIATION = re.compile(r"\b(?:e\.g|i\.e)\.", re.IGNORECASE)  # not words "e", "g"
_CHINESE_SHARE = 0.25


def word_set(text: str) -> frozenset[str]:
    """The space-separated words of ``text`` as a set: how word lists are written here."""
    return frozenset(text.split())


STOP_WORDS = word_set(
    """
    a an the and or but if then than so as of to in on at by for with from into onto
    about over under up down out off is are was were be been being am do does did done
    have has had having it its this that these those there here i me my mine we us
    our you your yours he him his she her they them their what which who whom whose
    when where why how can could would should will shall may might must just also too
    very any some such only own same other each all both s t d ll re ve m o y
    """
)
ZH_STOP_WORDS = word_set(
    "的 了 吗 呢 吧 啊 呀 么 嘛 是 我 我的 你 您 你们 他 她 它 我们 "
    "这 那 这个 那个 和 与 及 或 也 都 就 把 被 请问 一下 "
    # question words: like "can", "what", "how long" in English, they name no topic
    "可以 能 能否 能不能 会 要 什么 怎么 怎样 如何 多少 几 几天 多久 哪 哪里 哪个 有没有 是否"
)
_UNDOUBLE_KEEP = frozenset("lsz")  # "fall"+"ing" keeps its ll; "ship"+"ping" loses a p
_VOWELS = frozenset("aeiouy")

_SENTENCE_END = re.compile(
    r"[.!?…]+[\"')\]”’」』]*(?=\s|$)|[。！？]+[\"')\]”’」』]*|\n+",
)
_ABBREVIATIONS = word_set("e.g i.e vs mr mrs ms dr approx incl fig")
_LAST_WORD = re.compile(r"(\S+)$")

_jieba_lock = threading.Lock()
_jieba: list[Any] = []


def is_chinese(text: str) -> bool:
    """Whether Han characters are at least a quarter of the letters in ``text``."""
    letters = sum(1 for ch in text if ch.isalpha())
    if not letters:
        return False
    return len(_HAN_CHAR.findall(text)) / letters >= _CHINESE_SHARE


def search_tokens(text: str) -> list[str]:
    """BM25 tokens of ``text``: stemmed English words, jieba words, numbers."""
    tokens: list[str] = []
    for i, run in enumerate(_HAN_RUN.split(text)):
        if i % 2:  # the odd pieces of a split with a capturing group are the Han runs
            tokens += [w for w in _jieba_words(run) if w not in ZH_STOP_WORDS]
        else:
            tokens += latin_tokens(run)
    return tokens


def latin_tokens(text: str) -> list[str]:
    """Casefolded words and numbers of non-Han text, stop words dropped, words stemmed."""
    return [stem(w) for w in _latin_words(text) if w not in STOP_WORDS]


def words(text: str) -> list[str]:
    """The words of ``text`` in order, unstemmed: casefolded Latin words and numbers, and
    jieba's plain cut of Han runs (no overlapping sub-words); stop words kept."""
    out: list[str] = []
    for i, run in enumerate(_HAN_RUN.split(text)):
        out += _jieba_words(run, search=False) if i % 2 else _latin_words(run)
    return out


def _latin_words(text: str) -> list[str]:
    return _WORD.findall(_LATIN_ABBREVIATION.sub(" ", text.casefold()))


def stem(word: str) -> str:
    """A light English stem: plural ``-s``/``-es``/``-ies``, then ``-ing``/``-ed``, then a
    final ``-e`` dropped, so ``sizes``, ``sizing``, ``sized`` and ``size`` meet."""
    if len(word) <= 3 or not word.isalpha():
        return word
    word = _strip_plural(word)
    word = _strip_verb_ending(word)
    if len(word) >= 4 and word.endswith("e") and not word.endswith("ee"):
        word = word[:-1]
    return word


def _strip_plural(word: str) -> str:
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"  # policies → policy
    if word.endswith("sses"):
        return word[:-2]  # addresses → address
    if word.endswith(("xes", "zes", "ches", "shes")):
        return word[:-2]  # boxes → box, watches → watch
    if word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]  # returns → return, shoes → shoe (status, this stay)
    return word


def _strip_verb_ending(word: str) -> str:
    if word.endswith("ied") and len(word) > 4:
        return word[:-3] + "y"  # applied → apply
    for ending in ("ing", "ed"):
        base = word[: -len(ending)]
        if word.endswith(ending) and not word.endswith("eed") and _stem_ok(base):
            return _undouble(base)
    return word


def _stem_ok(base: str) -> bool:
    """A base long enough to be a word and with a vowel (``thing``, ``string`` stay)."""
    return len(base) >= 3 and any(ch in _VOWELS for ch in base)


def _undouble(base: str) -> str:
    """``shipp`` → ``ship``, ``stopp`` → ``stop``; ``fall``, ``miss`` keep theirs."""
    last = base[-1]
    if base[-2] == last and last not in _VOWELS and last not in _UNDOUBLE_KEEP:
        return base[:-1]
    return base


def _jieba_words(run: str, search: bool = True) -> list[str]:
    jieba = _segmenter()
    cut = jieba.cut_for_search(run) if search else jieba.cut(run)
    return [w for w in cut if w.strip()]


def _segmenter() -> Any:
    """jieba, its dictionary loaded once per process and its log messages quieted."""
    with _jieba_lock:
        if not _jieba:
            import jieba

            jieba.setLogLevel(logging.WARNING)
            jieba.initialize()
            _jieba.append(jieba)
        return _jieba[0]


def sentences(text: str) -> list[str]:
    """The sentences of ``text``, stripped, in order; empty pieces left out."""
    return [text[start:end] for start, end in sentence_spans(text)]


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of each sentence of ``text``, surrounding whitespace left out."""
    ends = [m.end() for m in _SENTENCE_END.finditer(text) if not _is_abbreviation(text, m)]
    spans, start = [], 0
    for end in [*ends, len(text)]:
        piece = text[start:end]
        if piece.strip():
            lead = len(piece) - len(piece.lstrip())
            spans.append((start + lead, start + len(piece.rstrip())))
        start = end
    return spans


def _is_abbreviation(text: str, match: re.Match[str]) -> bool:
    """A lone period that ends a known abbreviation (``e.g.``, ``Dr.``)."""
    if match.group() != ".":
        return False
    last = _LAST_WORD.search(text, 0, match.start())
    if last is None:
        return False
    word = last.group(1).casefold().lstrip("(\"'“‘")
    return word in _ABBREVIATIONS
