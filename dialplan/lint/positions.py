"""Source positions the model does not keep, for rules that point at a character or a text run.

The model keeps values decoded (entities resolved, text trimmed); these helpers walk the raw
source from a value's start to find where the n-th decoded character was written, where a value
really starts, and where loose text stands in a container. Offsets and 1-based positions are
converted by the parsed document only (:meth:`~dialplan.parse.ParsedDocument.position`). When the
source does not allow a faithful mapping (markup inside a value) they fall back to the value's
start, which is always a correct, if coarser, location.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from lxml import etree

from ..diagnostics import Location
from ..model import Node
from ..parse import ParsedDocument
from .context import LintContext

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


def _skip_space(text: str, offset: int) -> int:
    while offset < len(text) and text[offset].isspace():  # as str.strip() trims values
        offset += 1
    return offset


def text_position(doc: ParsedDocument, node: Node, offset: int) -> Location:
    """Where character ``offset`` of ``node.text`` (the trimmed text value) is in the source."""
    base = node.text_loc or node.loc
    if offset <= 0 and node.text_loc is None:
        return base
    found = _walk(doc, _skip_space(doc.text, doc.offset(base)), offset, "<")
    return doc.position(found) if found is not None else base


def element_of(ctx: LintContext, node: Node) -> etree._Element:
    return node.element


def value_loc(ctx: LintContext, node: Node) -> Location:
    """Where ``node``'s text value really starts (its first non-blank character)."""
    if node.text_loc is None:
        return node.loc
    doc = ctx.doc
    return doc.position(_skip_space(doc.text, doc.offset(node.text_loc)))


def attr_loc(ctx: LintContext, node: Node, raw_attr: str) -> Location:
    """Where the attribute spelled ``raw_attr`` stands in ``node``'s start tag."""
    return ctx.doc.attr_location(node.element, raw_attr)


def _raw_name(el: etree._Element) -> str:
    local = etree.QName(el).localname
    return f"{el.prefix}:{local}" if el.prefix else local


def element_end(ctx: LintContext, el: etree._Element) -> int:
    """Offset just after ``el``'s end tag (or its ``/>``)."""
    ends: dict[etree._Element, int] = ctx.cached("positions.ends", dict)
    if el in ends:
        return ends[el]
    doc = ctx.doc
    after_start = doc.start_tag_end(el)
    if doc.text[after_start - 2 : after_start] == "/>":
        ends[el] = after_start
        return after_start
    kids = [c for c in el if isinstance(c.tag, str)]
    cursor = element_end(ctx, kids[-1]) if kids else after_start
    closing = re.compile(r"</" + re.escape(_raw_name(el)) + r"\s*>").search(doc.masked, cursor)
    ends[el] = closing.end() if closing else len(doc.text)
    return ends[el]


def loose_text(ctx: LintContext, node: Node) -> Iterator[tuple[str, Location]]:
    """Each non-blank run of text directly inside ``node`` (its text and every child's tail)."""
    el = node.element
    if not (el.text or "").strip() and not any((c.tail or "").strip() for c in el):
        return  # the common case: positions are only worked out when there is loose text
    doc = ctx.doc
    text = doc.text
    cursor = doc.start_tag_end(el)
    chunks: list[tuple[str | None, int]] = [(el.text, cursor)]
    for child in el:
        if isinstance(child.tag, str):
            cursor = element_end(ctx, child)
        else:
            opener, closer = ("<!--", "-->") if isinstance(child, etree._Comment) else ("<?", "?>")
            begin = text.find(opener, cursor)
            finish = text.find(closer, begin + len(opener)) if begin >= 0 else -1
            cursor = finish + len(closer) if finish >= 0 else cursor
        chunks.append((child.tail, cursor))
    for chunk, offset in chunks:
        if chunk and chunk.strip():
            yield chunk.strip(), doc.position(_skip_space(text, offset))
