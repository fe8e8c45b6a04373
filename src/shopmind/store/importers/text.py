"""Plain text from HTML and Markdown, without running or rendering anything."""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser

_SKIP = {
    "script", "style", "noscript", "template", "head", "title", "svg", "iframe", "object",
    "math",
}  # fmt: skip
_BLOCK = {
    "address", "article", "aside", "blockquote", "br", "dd", "div", "dl", "dt", "fieldset",
    "figcaption", "figure", "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6", "header",
    "hr", "li", "main", "nav", "ol", "p", "pre", "section", "table", "td", "th", "tr", "ul",
}  # fmt: skip
_SPACE = re.compile(r"[ \t\r\f\v\u00a0]+")
# A real tag (``<p>``, ``</div>``, ``<br/>``, ``<!-- ``): "I <3 this" or "2 < 3" is not one.
_LOOKS_LIKE_HTML = re.compile(r"<(?:/?[a-zA-Z][a-zA-Z0-9-]*(?:\s[^<>]*)?/?>|!--)")


class _TextParser(HTMLParser):
    """Collects visible text; remembers ``<title>`` and the first ``<h1>``.

    ``keep_newlines``: a line break inside text stays one (plain text pasted into HTML,
    as in reviews) instead of being HTML white space.
    """

    def __init__(self, keep_newlines: bool = False) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skip = 0
        self.title = ""
        self.h1 = ""
        self._in: str | None = None
        self._keep_newlines = keep_newlines

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self._in is None and tag in ("title", "h1") and not getattr(self, tag):
            self._in = tag
        if tag in _SKIP:
            self.skip += 1
        elif tag in _BLOCK:
            self.parts.append("\n")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _BLOCK:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag == self._in:
            self._in = None
        if tag in _SKIP:
            self.skip = max(0, self.skip - 1)
        elif tag in _BLOCK:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if self._in == "title":
            self.title += data
        elif self._in == "h1":
            self.h1 += data
        if not self.skip:
            self.parts.append(data if self._keep_newlines else data.replace("\n", " "))


def visible_text(markup: str, keep_newlines: bool = False) -> str:
    """The visible text of HTML, entities decoded, white space not yet tidied.

    Text without a real tag only has its entities decoded. Nothing is run or fetched:
    the standard library's tolerant parser reads the markup, and if it ever raises, the
    tags are cut out with a pattern instead.
    """
    if not _LOOKS_LIKE_HTML.search(markup):
        return html.unescape(markup)
    parser = _TextParser(keep_newlines)
    try:
        parser.feed(markup)
        parser.close()
    except Exception:  # the parser is tolerant; this is a last line of defence
        return html.unescape(re.sub(r"<[^<>]*>", " ", markup))
    return "".join(parser.parts)


def tidy(text: str) -> str:
    """Collapse runs of spaces, strip lines, keep at most one blank line in a row."""
    lines = [_SPACE.sub(" ", line).strip() for line in text.split("\n")]
    out: list[str] = []
    for line in lines:
        if line or (out and out[-1]):
            out.append(line)
    return "\n".join(out).strip()


def parse_html(markup: str) -> tuple[str, str]:
    """HTML → (title, plain text); scripts, styles and the head are dropped, entities decoded.

    The title is ``<title>``, else the first ``<h1>``, else empty.
    """
    parser = _TextParser()
    parser.feed(markup)
    parser.close()
    title = " ".join((parser.title or parser.h1).split())
    return title, tidy("".join(parser.parts))


def html_to_text(markup: str) -> str:
    """Visible plain text of an HTML fragment (a product description, say), tidied."""
    return tidy(visible_text(markup))


_FRONT = re.compile(r"\A---[ \t]*\n(.*?)\n---[ \t]*(\n|\Z)", re.S)
_ATX = re.compile(r"^ {0,3}#{1,6}[ \t]+(.*?)[ \t#]*$")
_SETEXT = re.compile(r"^ {0,3}(=+|-+)[ \t]*$")
_INLINE = (
    (re.compile(r"<(script|style)\b.*?</\1\s*>", re.S | re.I), ""),
    (re.compile(r"!\[([^\]]*)\]\([^)]*\)"), r"\1"),  # images → alt text
    (re.compile(r"\[([^\]]+)\]\([^)]*\)"), r"\1"),  # links → their text
    (re.compile(r"\[([^\]]+)\]\[[^\]]*\]"), r"\1"),  # reference links
    (re.compile(r"^ {0,3}\[[^\]]+\]:\s*\S+.*$", re.M), ""),  # link definitions
    (re.compile(r"(\*\*|__)(?=\S)(.+?)(?<=\S)\1"), r"\2"),  # bold
    (re.compile(r"(?<![\w*])\*(?=\S)(.+?)(?<=\S)\*(?![\w*])"), r"\1"),  # italic
    (re.compile(r"(?<!\w)_(?=\S)(.+?)(?<=\S)_(?!\w)"), r"\1"),
    (re.compile(r"`+([^`]*)`+"), r"\1"),  # inline code
    (re.compile(r"</?[A-Za-z][^>]*>"), ""),  # raw HTML tags
)


def front_matter(text: str) -> tuple[dict[str, str], str]:
    """``---`` ``key: value`` lines at the top of a Markdown file, and the rest."""
    match = _FRONT.match(text)
    if not match:
        return {}, text
    meta = {}
    for line in match.group(1).splitlines():
        key, sep, value = line.partition(":")
        if sep and key.strip():
            meta[key.strip().lower()] = value.strip().strip("\"'")
    return meta, text[match.end() :]


def parse_markdown(text: str) -> tuple[str, str]:
    """Markdown → (first heading, plain text)."""
    lines = text.split("\n")
    title = ""
    out: list[str] = []
    for line in lines:
        atx = _ATX.match(line)
        if atx:
            title = title or atx.group(1)
            out.append(atx.group(1))
        elif _SETEXT.match(line) and out and out[-1].strip():
            title = title or out[-1].strip()
        elif re.match(r"^ {0,3}(```|~~~)", line) or re.fullmatch(r" {0,3}([-*_] *){3,}", line):
            continue
        else:
            out.append(re.sub(r"^ {0,3}> ?", "", line))
    body = "\n".join(out)
    for pattern, repl in _INLINE:
        body = pattern.sub(repl, body)
    title = _INLINE[-1][0].sub("", title)
    return html.unescape(title).strip(), tidy(html.unescape(body))
