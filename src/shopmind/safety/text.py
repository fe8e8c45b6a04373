"""Untrusted text in: HTML, Markdown and plain text → plain text with no markup left.

Every importer stores each free-text field (titles, names, tags, option values, review
text, campaign fields …) as the output of this module: :func:`one_line` for short fields,
:func:`html_to_text` for text that keeps its line breaks. Keys (handles, SKUs, ids) are stored
as written; product ``description_html`` alone stays HTML and passes :func:`sanitize_html`
before any page shows it. Review scoring cleans its input here again (stored rows from older
imports, API texts). So there is one answer to "can stored text carry live markup?": no.
Field by field: docs/importers.md, "How text is cleaned".

- HTML is read by a maintained HTML5 parser (lexbor, through ``selectolax``), the way a
  browser reads it, so what a browser would not show is dropped: the contents of
  ``script``, ``style``, ``template``, ``noscript``, ``svg``, ``math``, ``iframe`` and the
  like never reach text or titles (a ``<script>`` inside an ``<h1>`` included).
- Entities are decoded *before* the text counts as plain: decoded text that holds markup
  again (``&lt;script&gt;`` → ``<script>``) is parsed again, at most :data:`MAX_ROUNDS`
  times; text still changing after that loses its ``<`` and ``&`` characters. So the
  result is a fixed point: cleaning it again changes nothing.
- A ``<`` that does not start a complete tag is text: "I <3 this", "2 < 3 and 5 > 4" and
  "a<b" survive.
- Control characters and lone surrogates (the rule of :mod:`shopmind.safety.chars`) and
  invisible format characters (zero-width spaces, bidi overrides, stray tag characters) are
  removed — before parsing as well as after, so none can hide a tag from the parser and
  reveal it once removed.
- Markdown goes through ``markdown-it-py`` (CommonMark): links keep only their text
  (``javascript:`` and ``data:`` URLs leave nothing behind), images become their alt
  text, raw HTML inside Markdown takes the HTML path above.
- Front matter is read with YAML's safe loader (no object construction), with a
  ``key: value`` line reader as the fallback for front matter that is not valid YAML.
- HTML that must stay HTML (generated product descriptions) goes through
  :func:`sanitize_html`, an ``nh3`` allow-list.

Nothing here runs, fetches or renders anything.
"""

from __future__ import annotations

import html
import re
import unicodedata
from typing import Any

import nh3
import yaml
from markdown_it import MarkdownIt
from selectolax.lexbor import LexborHTMLParser, LexborNode

from shopmind.safety.chars import FORMAT, UNSTORABLE

MAX_ROUNDS = 4
"""How many times text is parsed as HTML (the input, then text decoded from it)."""
MAX_UNESCAPES = 16
"""How many times entities are decoded in text without tags (``&amp;amp;#39;`` → ``'``)."""

# Elements whose contents a reader never sees as text.
_HIDDEN = [
    "script", "style", "noscript", "template", "head", "title", "svg", "math", "iframe",
    "object", "embed", "noembed", "noframes",
]  # fmt: skip
_BLOCK = frozenset(
    {
        "address", "article", "aside", "blockquote", "br", "caption", "dd", "details", "div",
        "dl", "dt", "fieldset", "figcaption", "figure", "footer", "form", "h1", "h2", "h3",
        "h4", "h5", "h6", "header", "hr", "li", "main", "nav", "ol", "p", "pre", "section",
        "summary", "table", "td", "th", "tr", "ul",
    }
)  # fmt: skip
# A ``<`` that may open a tag, comment or declaration, or a character reference.
_MARKUP = re.compile(r"<[A-Za-z/!?]|&[A-Za-z#]")
_TAG_START = re.compile(r"<[A-Za-z/!?]")
_SPACE = re.compile(r"[ \t\r\f\v\u00a0]+")
# Zero-width joiner and non-joiner shape emoji and scripts (Persian, Indic): kept.
_KEEP_FORMAT = frozenset({"\u200c", "\u200d"})
# Tag characters are kept only inside an emoji flag sequence (🏴 + tags + cancel tag);
# anywhere else they are invisible text ("ASCII smuggling").
_FLAG = re.compile("\U0001f3f4[\U000e0020-\U000e007e]+\U000e007f")


# --- characters ----------------------------------------------------------------------------


def remove_controls(text: str) -> str:
    """``text`` without control characters (tab and newline stay; CR becomes a newline),
    lone surrogates (both as :mod:`shopmind.safety.chars` defines them), or invisible
    format characters other than the zero-width joiners."""
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    if text.replace("\n", " ").replace("\t", " ").isprintable():  # fast path: all clean
        return text
    if "\U0001f3f4" not in text:
        return "".join(filter(_keep, text))
    parts, at = [], 0
    for flag in _FLAG.finditer(text):  # an emoji flag keeps its tag characters
        parts += ["".join(filter(_keep, text[at : flag.start()])), flag.group()]
        at = flag.end()
    parts.append("".join(filter(_keep, text[at:])))
    return "".join(parts)


def _keep(ch: str) -> bool:
    category = unicodedata.category(ch)
    if category in UNSTORABLE:  # control characters and lone surrogates (safety.chars)
        return ch in "\n\t"
    if category == FORMAT:
        return ch in _KEEP_FORMAT
    return True


def tidy(text: str) -> str:
    """Runs of spaces collapsed, lines stripped, at most one blank line in a row."""
    lines = [_SPACE.sub(" ", line).strip() for line in text.split("\n")]
    out: list[str] = []
    for line in lines:
        if line or (out and out[-1]):
            out.append(line)
    return "\n".join(out).strip()


def one_line(text: str) -> str:
    """Untrusted text (markup allowed) as one line of plain text: for titles, questions."""
    if _is_one_plain_line(text):
        return text  # most names and titles: nothing to do
    return " ".join(visible_text(text).split())


def _is_one_plain_line(text: str) -> bool:
    """Whether ``text`` is one line of plain text already: printable (no control, format or
    separator character but the ASCII space), nothing that may start markup, single spaces
    between words only."""
    return (
        text.isprintable()
        and "<" not in text
        and "&" not in text
        and "  " not in text
        and text[:1] != " "
        and text[-1:] != " "
    )


# --- HTML ----------------------------------------------------------------------------------
#
# A round parses text as HTML and keeps its visible text nodes. Round 0 reads the input as
# given, as a browser would. A text node that still holds markup or entities after its
# round was written with entities (``&lt;script&gt;``): it goes round again on its own, so
# it cannot pair up with markup decoded elsewhere in the document, and there an element
# that hides its contents but is never closed loses only its tag ("add the &lt;script&gt;
# tag to your theme" keeps its words). The joined text then goes round again too, which
# catches markup formed across text nodes. Text without tags only has its entities decoded,
# again until nothing changes. Past MAX_ROUNDS parses (or MAX_UNESCAPES decodes), text
# that would still change loses its ``<`` and ``&``. The result is a fixed point: cleaning
# it again changes nothing.


def visible_text(markup: str, keep_newlines: bool = False) -> str:
    """The visible text of HTML, entities decoded, no markup left; white space untidied.

    ``keep_newlines``: a line break inside text stays one (plain text pasted into HTML, as
    in reviews) instead of being HTML white space.
    """
    text = remove_controls(markup)
    if "<" not in text and "&" not in text:
        return text
    return _defuse_tail(_settle(text, keep_newlines, 0))


# Elements that run, load, hide or take input: an unfinished start tag of one of these at
# the end of text ("see <script") loses its "<", so it cannot become live when text after
# it is joined on. Other partial tags are prose ("a<b", "I <3 this").
_ACTIVE = (
    "applet|audio|base|body|button|embed|form|frame|head|html|iframe|image|img|input|link|"
    "math|meta|noembed|noframes|noscript|object|plaintext|script|select|style|svg|template|"
    "textarea|title|video|xmp"
)
_ACTIVE_START = re.compile(rf"<+(?=/?(?:{_ACTIVE}))", re.I)


def _defuse_tail(text: str) -> str:
    end = text.rfind(">") + 1
    if "<" not in text[end:]:
        return text
    return text[:end] + _ACTIVE_START.sub("", text[end:])


def html_to_text(markup: str, keep_newlines: bool = False) -> str:
    """Visible plain text of HTML (a product description, a FAQ answer), tidied."""
    return tidy(visible_text(markup, keep_newlines))


def parse_html(markup: str) -> tuple[str, str]:
    """HTML document → (title, plain text); the title is ``<title>``, else the first
    ``<h1>``, else empty — as plain text on one line, like the body."""
    markup = remove_controls(markup)
    tree = _parse(markup)
    head = tree.head
    title = head.css_first("title") if head is not None else None
    title_text = title.text() if title is not None else ""  # raw text: settled below
    _strip_hidden(tree, markup)
    body = tree.body
    if not title_text.strip() and body is not None:
        h1 = body.css_first("h1")
        title_text = _walk(h1, False, 1) if h1 is not None else ""
    text = _walk(body, False, 1) if body is not None else ""
    title_text = " ".join(_defuse_tail(_settle(title_text, False, 1)).split())
    return title_text, tidy(_defuse_tail(_settle(text, True, 1)))


def _strip_hidden(tree: LexborHTMLParser, markup: str) -> None:
    """Remove hidden elements with their contents (only the kinds ``markup`` names: the
    parser creates none of them on its own, and each kind looked for costs a search)."""
    lower = markup.lower()
    present = [name for name in _HIDDEN if f"<{name}" in lower]
    if present:
        tree.strip_tags(present, recursive=True)


def _parse(markup: str) -> LexborHTMLParser:
    # A partial tag at the very end ("a<b") is text, not a tag the parser would swallow.
    end = markup.rfind(">") + 1
    if "<" in markup[end:]:
        markup = markup[:end] + markup[end:].replace("<", "&lt;")
    # Scripting on, as in a browser: <noscript> content is one hidden text node.
    return LexborHTMLParser(markup, scripting=True)


def _settle(text: str, keep_newlines: bool, depth: int) -> str:
    """Rounds from parse round ``depth`` on until nothing changes: at most MAX_ROUNDS
    parses (text with tags) and MAX_UNESCAPES entity decodes (text without)."""
    unescapes = 0
    while depth < MAX_ROUNDS and unescapes < MAX_UNESCAPES:
        if not _MARKUP.search(text):
            return text
        if _has_tag(text):
            once = _parse_round(text, keep_newlines, depth, decoded=depth > 0 or unescapes > 0)
            depth += 1
        else:
            once = remove_controls(html.unescape(text))
            unescapes += 1
        if once == text:
            return text
        text, keep_newlines = once, True  # line breaks are structure now
    if _MARKUP.search(text) and _decode(text) != text:
        return text.replace("<", "").replace("&", "")  # nested past any honest use
    return text


def _has_tag(text: str) -> bool:
    """Whether ``text`` holds a ``<`` that starts markup with a ``>`` somewhere after it."""
    end = text.rfind(">")
    return end > 0 and _TAG_START.search(text, 0, end) is not None


def _decode(text: str) -> str:
    """One more round, without going deeper: does the text still change?"""
    if _has_tag(text):
        return _parse_round(text, True, MAX_ROUNDS, decoded=True)
    return remove_controls(html.unescape(text))


def _parse_round(text: str, keep_newlines: bool, depth: int, decoded: bool) -> str:
    """Parse ``text`` as HTML and keep its visible text (see the notes above)."""
    markup = _drop_unclosed(text) if decoded else text
    tree = _parse(markup)
    _strip_hidden(tree, markup)
    body = tree.body
    # The parser drops white space before the first element; a text node going round
    # again keeps it ("and <i>x</i>" after a link is " and x", not "and x").
    lead = text[: len(text) - len(text.lstrip(" \t\n\f"))] if text[:1].isspace() else ""
    if body is None:
        return lead
    return lead + remove_controls(_walk(body, keep_newlines, depth + 1))


_HIDING_START = re.compile(
    r"<(" + "|".join(name for name in _HIDDEN if name not in ("head", "embed")) + r")(?=[\s/>])",
    re.I,
)


def _drop_unclosed(text: str) -> str:
    """``text`` without the start tags of hiding elements never closed after them, and
    without comment openers never closed after them."""
    lower = text.lower()
    last_close: dict[str, int] = {}
    cuts: list[tuple[int, int]] = []
    for match in _HIDING_START.finditer(text):
        name = match.group(1).lower()
        if name not in last_close:
            last_close[name] = lower.rfind(f"</{name}")
        if last_close[name] < match.end():
            stop = text.find(">", match.end())
            cuts.append((match.start(), len(text) if stop < 0 else stop + 1))
    opener = lower.find("<!--", lower.rfind("-->") + 1)
    while opener >= 0:
        cuts.append((opener, opener + 4))
        opener = lower.find("<!--", opener + 4)
    if not cuts:
        return text
    parts, at = [], 0
    for start, stop in sorted(cuts):
        if start >= at:
            parts.append(text[at:start])
            at = stop
    parts.append(text[at:])
    return "".join(parts)


def _walk(root: LexborNode, keep_newlines: bool, depth: int) -> str:
    """Text under ``root`` in order, a line break where a block starts or ends; a text node
    still holding markup goes round again on its own (rounds ``depth`` on)."""
    parts: list[str] = []
    block: int | None = None  # the block element holding the last text node
    pending = False  # a block element (or <br>) started since the last text node
    for node in root.traverse(include_text=True):
        tag = node.tag
        if tag != "-text":
            pending = pending or tag in _BLOCK
            continue
        here = _block_of(node, root)
        if pending or here != block:
            parts.append("\n")
            pending = False
        block = here
        data = node.text_content or ""
        if not keep_newlines:
            data = data.replace("\n", " ")
        if depth < MAX_ROUNDS and _MARKUP.search(data):
            data = _settle(data, keep_newlines, depth)
        parts.append(data)
    if block is not None:
        parts.append("\n")
    return "".join(parts)


def _block_of(node: LexborNode, root: LexborNode) -> int | None:
    """The identity of the nearest block element above ``node`` (below ``root``)."""
    parent = node.parent
    stop = root.mem_id
    while parent is not None and parent.mem_id != stop:
        if parent.tag in _BLOCK:
            return parent.mem_id
        parent = parent.parent
    return None


# --- Markdown ------------------------------------------------------------------------------

_FRONT = re.compile(r"\A\ufeff?---[ \t]*\r?\n(.*?)\r?\n---[ \t]*(\r?\n|\Z)", re.S)


def _markdown() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": True})
    # Every link is a link, whatever its URL: only its text is kept, so a refused
    # ``javascript:`` link would otherwise stay behind as "[click](javascript:…)" debris.
    md.validateLink = lambda url: True
    md.add_render_rule("image", _image_as_alt_text)
    return md


def _image_as_alt_text(self: Any, tokens: list[Any], idx: int, options: Any, env: Any) -> str:
    alt = self.renderInlineAsText(tokens[idx].children or [], options, env)
    return html.escape(alt, quote=False)


_MD = _markdown()


def front_matter(text: str) -> tuple[dict[str, str], str]:
    """The ``---`` block at the top of a Markdown file as {lower-case key: text}, and the rest.

    Read with YAML's safe loader; front matter that is not valid YAML (``title: A: B``) is
    read as ``key: value`` lines. Only single values are kept (lists and maps dropped).
    """
    match = _FRONT.match(text)
    if not match:
        return {}, text
    block = match.group(1)
    try:
        loaded = yaml.safe_load(block)
    except yaml.YAMLError:
        loaded = None
    meta = _scalars(loaded) if isinstance(loaded, dict) else _key_values(block)
    return meta, text[match.end() :]


def _scalars(loaded: dict[Any, Any]) -> dict[str, str]:
    meta = {}
    for key, value in loaded.items():
        if isinstance(value, str | int | float) and not isinstance(value, bool):
            meta[str(key).strip().lower()] = remove_controls(str(value)).strip()
    return meta


def _key_values(block: str) -> dict[str, str]:
    meta = {}
    for line in block.splitlines():
        key, sep, value = line.partition(":")
        if sep and key.strip():
            meta[key.strip().lower()] = remove_controls(value.strip().strip("\"'"))
    return meta


def markdown_to_text(text: str) -> tuple[str, str]:
    """Markdown → (first heading as one line of plain text, plain text)."""
    env: dict[str, Any] = {}
    tokens = _MD.parse(remove_controls(text), env)
    title = ""
    for i, token in enumerate(tokens[:-1]):
        if token.type == "heading_open" and tokens[i + 1].type == "inline":
            inline = tokens[i + 1].children or []
            title = one_line(_MD.renderer.renderInline(inline, _MD.options, env))
            if title:
                break
    rendered = _MD.renderer.render(tokens, _MD.options, env)
    return title, html_to_text(rendered)


# --- links and HTML that stays HTML --------------------------------------------------------

URL_SCHEMES = frozenset({"http", "https", "mailto"})
_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.\-]*):")


def safe_url(url: str) -> str | None:
    """``url`` when it is safe to put in a link — http(s), mailto or relative — else None.

    Tabs and line breaks are removed first, as browsers do, so ``java\\tscript:`` is seen
    for what it is.
    """
    cleaned = remove_controls(re.sub(r"[\t\n\r]", "", url)).strip()
    if not cleaned:
        return None
    scheme = _SCHEME.match(cleaned)
    if scheme and scheme.group(1).lower() not in URL_SCHEMES:
        return None
    return cleaned


# The allow-list for HTML we keep as HTML (generated product descriptions): text structure
# and links, nothing that runs, loads, styles or positions anything.
ALLOWED_TAGS = frozenset(
    {
        "p", "br", "hr", "strong", "b", "em", "i", "u", "s", "sub", "sup", "small", "ul", "ol",
        "li", "dl", "dt", "dd", "h2", "h3", "h4", "blockquote", "a", "table", "caption",
        "thead", "tbody", "tr", "th", "td",
    }
)  # fmt: skip
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "th": {"colspan", "rowspan", "scope"},
    "td": {"colspan", "rowspan"},
}
LINK_REL = "noopener noreferrer nofollow"
# Dropped with everything inside them (the rest of a disallowed tag's text is kept).
_DROP_WITH_CONTENT = frozenset(
    {"script", "style", "template", "noscript", "title", "svg", "math", "iframe", "object"}
)


def sanitize_html(markup: str) -> str:
    """HTML limited to :data:`ALLOWED_TAGS` / :data:`ALLOWED_ATTRIBUTES`, through ``nh3``.

    Links may point to http(s), mailto or relative URLs only (``javascript:`` and
    ``data:`` hrefs are removed) and get ``rel="noopener noreferrer nofollow"``; comments
    go; ``script``, ``style`` and the like go with their contents.
    """
    return nh3.clean(
        remove_controls(markup),
        tags=set(ALLOWED_TAGS),
        clean_content_tags=set(_DROP_WITH_CONTENT),
        attributes={tag: set(names) for tag, names in ALLOWED_ATTRIBUTES.items()},
        url_schemes=set(URL_SCHEMES),
        link_rel=LINK_REL,
        strip_comments=True,
    )
