"""Exact source positions inside text and attribute values, for rules that point at a character.

The model keeps values decoded (entities resolved, text trimmed); these helpers walk the raw
source from the value's start to find where the n-th decoded character was written. When the
source does not allow a faithful mapping (markup inside the value) they fall back to the value's
start, which is always a correct, if coarser, location.
"""

from __future__ import annotations

from ..diagnostics import Location
from ..model import Node
from ..parse import ParsedDocument

_SPACE = " \t\r\n"


def _offset(doc: ParsedDocument, loc: Location) -> int:
    return doc._line_starts[loc.line - 1] + loc.column - 1


def _walk(doc: ParsedDocument, start: int, count: int, stop: str) -> int | None:
    """Source offset after ``count`` decoded characters from ``start`` (None if ``stop`` is hit)."""
    text = doc.text
    i = start
    n = len(text)
    for _ in range(count):
        if i >= n:
            return None
        ch = text[i]
        if ch in stop:
            return None
        if ch == "&":
            end = text.find(";", i)
            i = end + 1 if end != -1 else i + 1
        elif ch == "\r" and text.startswith("\r\n", i):
            i += 2
        else:
            i += 1
    return i


def text_position(doc: ParsedDocument, node: Node, offset: int) -> Location:
    """Where character ``offset`` of ``node.text`` (the trimmed text value) is in the source."""
    base = node.text_loc or node.loc
    if offset <= 0 and node.text_loc is None:
        return base
    text = doc.text
    i = _offset(doc, base)
    n = len(text)
    while i < n and text[i] in _SPACE:
        i += 1
    found = _walk(doc, i, offset, "<")
    return doc._loc(found) if found is not None else base


def attr_position(doc: ParsedDocument, node: Node, attr: str, offset: int = 0) -> Location:
    """Where character ``offset`` of the raw value of attribute ``attr`` is in the source."""
    base = node.attr_loc(attr)
    if attr not in node.attr_locs:
        return base
    text = doc.text
    i = text.find("=", _offset(doc, base))
    if i == -1:
        return base
    i += 1
    n = len(text)
    while i < n and text[i] in _SPACE:
        i += 1
    if i >= n or text[i] not in "\"'":
        return base
    found = _walk(doc, i + 1, offset, text[i])
    return doc._loc(found) if found is not None else base
