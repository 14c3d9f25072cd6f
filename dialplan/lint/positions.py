"""Exact source positions inside text values, for rules that point at a character.

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


#: Where the last walk stopped: (text, start, stop, decoded count, offset, inside CDATA). Rules
#: ask for the positions of many references in one value in increasing order; resuming from
#: here keeps that linear (walking from the start each time was quadratic: 5,000 references in
#: one prompt took 17 s).
_resume: tuple[str, int, str, int, int, bool] | None = None


def _walk(doc: ParsedDocument, start: int, count: int, stop: str) -> int | None:
    """Source offset after ``count`` decoded characters from ``start`` (None if ``stop`` is hit).

    Entity and character references count as one character, CRLF as one, and CDATA sections
    contribute their content verbatim; any other markup (``stop``) ends the walk.
    """
    global _resume
    text = doc.text
    i = start
    n = len(text)
    cdata = False
    done = 0
    last = _resume
    if (
        last is not None
        and last[0] is text
        and (last[1], last[2]) == (start, stop)
        and last[3] <= count
    ):
        done, i, cdata = last[3], last[4], last[5]
    while done < count:
        if i >= n:
            return None
        if cdata:
            if text.startswith("]]>", i):
                cdata = False
                i += 3
                continue
        elif text.startswith("<![CDATA[", i):
            cdata = True
            i += 9
            continue
        elif text[i] in stop:
            return None
        elif text[i] == "&":
            end = text.find(";", i)
            i = end + 1 if end != -1 else i + 1
            done += 1
            continue
        i += 2 if text.startswith("\r\n", i) else 1
        done += 1
    _resume = (text, start, stop, done, i, cdata)
    if not cdata and text.startswith("<![CDATA[", i):
        i += 9
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
