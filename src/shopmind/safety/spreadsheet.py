"""Spreadsheet-bound files: cells a spreadsheet would run as a formula are neutralised.

A CSV cell that begins with ``=``, ``+``, ``-`` or ``@`` (or with a tab or carriage
return) is read by Excel, LibreOffice and Google Sheets as a formula — and a formula can
fetch URLs, leak other cells or, through DDE, start programs. Reject files echo rows as
the merchant's export had them, and scored CSVs echo reviews written by anyone, so both
carry text an attacker chose. Following OWASP's CSV-injection rule, such a cell gets a
single quote in front (``'=HYPERLINK(…)``): spreadsheets then show it as text, and the
quote is visible, so nothing is silently changed.

Decisions beyond the letter of the OWASP rule:

- The trigger characters also count after leading white space (``" =1+1"``), since some
  spreadsheets trim it before deciding, and in their full-width forms (``＝`` ``＋``
  ``－`` ``＠``), which some East Asian spreadsheet locales accept as formula starts.
- A cell that is exactly a plain decimal number (``-5``, ``+1.5``, ``-2.5e3``) is left as
  it is, although OWASP prefixes those too: a spreadsheet reads such a cell as a number,
  never as a formula, so nothing can run, while a quote would turn negative prices,
  quantities and scores into text (sums break, and a fixed reject file would no longer
  import). ``-1+2`` or ``-5 `` (anything beyond the number) is prefixed.

``raw=True`` on the writers turns all of this off, for files that go to programs rather
than spreadsheets (``--raw`` on the command line).
"""

from __future__ import annotations

import csv
import re
from collections.abc import Collection, Iterable
from typing import Any

FORMULA_START = frozenset("=+-@\t\r＝＋－＠")
_AFTER_SPACE = frozenset("=+-@＝＋－＠")
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")


def is_formula(cell: str) -> bool:
    """Whether a spreadsheet could read ``cell`` as a formula (see the module notes)."""
    if not cell:
        return False
    if cell[0] not in FORMULA_START:
        stripped = cell.lstrip()
        return stripped != cell and stripped[:1] in _AFTER_SPACE
    return _NUMBER.fullmatch(cell) is None


def neutralize_cell(value: Any) -> Any:
    """``value`` with a ``'`` in front when it is a string a spreadsheet would run."""
    if isinstance(value, str) and is_formula(value):
        return "'" + value
    return value


def neutralize_row(row: Iterable[Any]) -> list[Any]:
    """:func:`neutralize_cell` over one row."""
    return [neutralize_cell(value) for value in row]


class SafeWriter:
    """``csv.writer`` whose rows are neutralised first (unless ``raw``)."""

    def __init__(self, fh: Any, *, raw: bool = False, **fmtparams: Any) -> None:
        self._writer = csv.writer(fh, **fmtparams)
        self.raw = raw

    @property
    def dialect(self) -> Any:
        return self._writer.dialect

    def writerow(self, row: Iterable[Any]) -> Any:
        return self._writer.writerow(row if self.raw else neutralize_row(row))

    def writerows(self, rows: Iterable[Iterable[Any]]) -> None:
        for row in rows:
            self.writerow(row)


def safe_writer(fh: Any, *, raw: bool = False, **fmtparams: Any) -> SafeWriter:
    """The writer for every spreadsheet-bound CSV: ``csv.writer`` plus formula neutralising.

    ``fmtparams`` are ``csv.writer``'s (``delimiter=";"``, ...); ``raw=True`` writes cells
    as they are.
    """
    return SafeWriter(fh, raw=raw, **fmtparams)


class SafeDictWriter(csv.DictWriter):
    """``csv.DictWriter`` whose rows (header included) are neutralised (unless ``raw``)."""

    def __init__(
        self,
        fh: Any,
        fieldnames: Collection[str],
        *,
        raw: bool = False,
        restval: Any = "",
        extrasaction: str = "raise",
        **fmtparams: Any,
    ) -> None:
        super().__init__(fh, fieldnames, restval=restval, extrasaction=extrasaction, **fmtparams)
        self.writer = SafeWriter(fh, raw=raw, **fmtparams)  # DictWriter writes through this
