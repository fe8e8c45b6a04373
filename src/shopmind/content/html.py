"""The HTML a generated product description may carry: text structure, nothing else.

:data:`ALLOWED_TAGS` with no attributes at all — no links, styles, classes, event
handlers or URLs. :func:`html_problems` names what breaks that rule (a validator refuses
such HTML); :func:`sanitize` keeps the allowed tags and the text, drops every attribute
and comment, and drops ``script`` / ``style`` and the like with their contents (``nh3``,
the maintained Rust ``ammonia`` sanitiser).
"""

from __future__ import annotations

from html.parser import HTMLParser

import nh3

from shopmind.safety import html_to_text, remove_controls

ALLOWED_TAGS = frozenset({"p", "ul", "ol", "li", "strong", "em", "br", "h3", "h4"})
# HTML's void elements: they have no end tag, allowed or not.
VOID_TAGS = frozenset(
    {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
     "track", "wbr"}
)  # fmt: skip
DROP_WITH_CONTENT = frozenset(
    {"script", "style", "template", "noscript", "title", "svg", "math", "iframe", "object",
     "textarea", "select"}
)  # fmt: skip


def sanitize(markup: str) -> str:
    """``markup`` limited to :data:`ALLOWED_TAGS`, without attributes or comments."""
    return nh3.clean(
        remove_controls(markup),
        tags=set(ALLOWED_TAGS),
        clean_content_tags=set(DROP_WITH_CONTENT),
        attributes={},
        url_schemes=set(),
        link_rel=None,
        strip_comments=True,
    )


class _Checker(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []
        self.open: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in ALLOWED_TAGS:
            self.problems.append(f"tag <{tag}> is not allowed")
        for name, _ in attrs:
            self.problems.append(f"attribute {name!r} on <{tag}> is not allowed")
        if tag not in VOID_TAGS:
            self.open.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in VOID_TAGS:
            self.problems.append(f"<{tag}/> is not a void element")
        self.handle_starttag(tag, attrs)
        if tag not in VOID_TAGS and self.open:
            self.open.pop()

    def handle_endtag(self, tag: str) -> None:
        if tag in VOID_TAGS:
            return
        if not self.open or self.open[-1] != tag:
            self.problems.append(f"</{tag}> does not close the open element")
            if tag in self.open:
                del self.open[len(self.open) - 1 - self.open[::-1].index(tag) :]
            return
        self.open.pop()

    def handle_comment(self, data: str) -> None:
        self.problems.append("comments are not allowed")

    def handle_decl(self, decl: str) -> None:
        self.problems.append("declarations are not allowed")

    def handle_pi(self, data: str) -> None:
        self.problems.append("processing instructions are not allowed")

    def unknown_decl(self, data: str) -> None:
        self.problems.append("CDATA and other declarations are not allowed")


def html_problems(markup: str) -> list[str]:
    """What in ``markup`` is outside the allow-list; empty when it is all allowed."""
    checker = _Checker()
    checker.feed(markup)
    checker.close()
    problems = checker.problems
    if checker.open:
        problems.append(f"unclosed elements: {', '.join(f'<{t}>' for t in checker.open)}")
    if remove_controls(markup) != markup:
        problems.append("control characters are not allowed")
    return list(dict.fromkeys(problems))


def html_text(markup: str) -> str:
    """The text a reader sees, for counting and for the fact guard."""
    return html_to_text(markup)
