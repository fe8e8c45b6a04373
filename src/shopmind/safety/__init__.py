"""Untrusted text, in and out: the one module every importer and output uses for it.

- :mod:`shopmind.safety.chars`: the one definition of the code points that are never text
  (control characters, lone surrogates), for the cleaner that removes them, the keys that
  refuse them and the API that refuses or replaces them (``unstorable_problem``,
  ``has_lone_surrogate``, ``replace_lone_surrogates``).
- :mod:`shopmind.safety.text`: HTML, Markdown and plain text → plain text with no markup
  left (``html_to_text``, ``parse_html``, ``markdown_to_text``, ``one_line``), control
  characters out (``remove_controls``), link checks (``safe_url``) and the allow-list
  sanitiser for HTML that stays HTML (``sanitize_html``).
- :mod:`shopmind.safety.spreadsheet`: CSV writers that neutralise formula cells
  (``safe_writer``, ``SafeDictWriter``, ``neutralize_cell``).
"""

from __future__ import annotations

from shopmind.safety.chars import (
    has_lone_surrogate,
    is_unstorable,
    replace_lone_surrogates,
    unstorable_problem,
)
from shopmind.safety.spreadsheet import (
    SafeDictWriter,
    SafeWriter,
    is_formula,
    neutralize_cell,
    neutralize_row,
    safe_writer,
)
from shopmind.safety.text import (
    front_matter,
    html_to_text,
    markdown_to_text,
    one_line,
    parse_html,
    remove_controls,
    safe_url,
    sanitize_html,
    tidy,
    visible_text,
)

__all__ = [
    "SafeDictWriter",
    "SafeWriter",
    "front_matter",
    "has_lone_surrogate",
    "html_to_text",
    "is_formula",
    "is_unstorable",
    "markdown_to_text",
    "neutralize_cell",
    "neutralize_row",
    "one_line",
    "parse_html",
    "remove_controls",
    "replace_lone_surrogates",
    "safe_url",
    "safe_writer",
    "sanitize_html",
    "tidy",
    "unstorable_problem",
    "visible_text",
]
