"""Plain text from HTML and Markdown: the importers' names for :mod:`shopmind.safety`.

Kept so existing imports keep working; new code imports from :mod:`shopmind.safety`,
the one module every importer and output uses for untrusted text.
"""

from __future__ import annotations

from shopmind.safety.text import (
    front_matter,
    html_to_text,
    parse_html,
    parse_markdown,
    tidy,
    visible_text,
)

__all__ = ["front_matter", "html_to_text", "parse_html", "parse_markdown", "tidy", "visible_text"]
