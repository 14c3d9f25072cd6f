"""Spreadsheet formula injection: neutralise CSV cells a spreadsheet would run as formulas.

OWASP's advice (CSV Injection): a cell starting with ``=``, ``+``, ``-``, ``@``, a tab or a
carriage return is prefixed with a single quote, so Excel, LibreOffice and Google Sheets show
it as text instead of evaluating it (``=HYPERLINK(…)``, ``+cmd|…``, ``@SUM(…)``). Cells that
are only a number (``-3.5``, ``1e-3``) or a phone number (``+12125550101``,
``+1 (212) 555-0101``) are left as they are: they cannot call a function, and quoting them
would spoil every export.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_PHONE = re.compile(r"\+\d[\d ().-]*")


def neutralise(cell: str) -> str:
    """``cell`` as text a spreadsheet will not evaluate (unchanged when already harmless)."""
    if not cell.startswith(TRIGGERS):
        return cell
    if _NUMBER.fullmatch(cell) or _PHONE.fullmatch(cell):
        return cell
    return "'" + cell


def neutralise_row(cells: Iterable[Any]) -> list[Any]:
    """A CSV row with every string cell neutralised (numbers are written as they are)."""
    return [neutralise(c) if isinstance(c, str) else c for c in cells]
