"""Source positions the model does not keep: lxml elements per node, value starts, text tails.

Shared by the structure/attribute/name rules. Everything is computed from the parsed document
(no I/O) and cached once per file on the :class:`~dialplan.lint.context.LintContext`.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterator

from lxml import etree

from ...diagnostics import Location
from ...model import Node
from ..context import LintContext

_MASK = re.compile(r"<!--.*?-->|<!\[CDATA\[.*?\]\]>|<\?.*?\?>", re.S)
_START_TAG = re.compile(r"""<[^\s/>]+(?:\s+[^\s=/>]+\s*=\s*(?:"[^"]*"|'[^']*'))*\s*(/?)>""")


def elements(ctx: LintContext) -> list[etree._Element]:
    """The document's elements in document order: ``elements(ctx)[node.index]`` is ``node``'s."""
    return ctx.cached(
        "source.elements", lambda: [e for e in ctx.doc.root.iter() if isinstance(e.tag, str)]
    )


def element_of(ctx: LintContext, node: Node) -> etree._Element:
    return node.element


def _line_starts(ctx: LintContext) -> list[int]:
    text = ctx.doc.text
    return ctx.cached(
        "source.line_starts", lambda: [0] + [m.end() for m in re.finditer("\n", text)]
    )


def _masked(ctx: LintContext) -> str:
    text = ctx.doc.text
    return ctx.cached(
        "source.masked", lambda: _MASK.sub(lambda m: re.sub(r"[^\n]", " ", m.group()), text)
    )


def offset_of(ctx: LintContext, loc: Location) -> int:
    starts = _line_starts(ctx)
    line = min(max(loc.line, 1), len(starts))
    return starts[line - 1] + loc.column - 1


def location_at(ctx: LintContext, offset: int) -> Location:
    starts = _line_starts(ctx)
    i = bisect.bisect_right(starts, offset) - 1
    return Location(i + 1, offset - starts[i] + 1)


def skip_space(ctx: LintContext, offset: int) -> int:
    text = ctx.doc.text
    while offset < len(text) and text[offset].isspace():
        offset += 1
    return offset


def value_loc(ctx: LintContext, node: Node) -> Location:
    """Where ``node``'s text value really starts (its first non-blank character)."""
    if node.text_loc is None:
        return node.loc
    return location_at(ctx, skip_space(ctx, offset_of(ctx, node.text_loc)))


def attr_loc(ctx: LintContext, node: Node, raw_attr: str) -> Location:
    """Where the attribute spelled ``raw_attr`` stands in ``node``'s start tag."""
    return ctx.doc.attr_location(element_of(ctx, node), raw_attr)


def _start_tag_end(ctx: LintContext, start: int) -> tuple[int, bool]:
    m = _START_TAG.match(_masked(ctx), start)
    if m is None:
        end = ctx.doc.text.find(">", start)
        return (end + 1 if end >= 0 else len(ctx.doc.text)), ctx.doc.text[end - 1 : end] == "/"
    return m.end(), m.group(1) == "/"


def _raw_name(el: etree._Element) -> str:
    local = etree.QName(el).localname
    return f"{el.prefix}:{local}" if el.prefix else local


def element_end(ctx: LintContext, el: etree._Element) -> int:
    """Offset just after ``el``'s end tag (or its ``/>``)."""
    ends: dict[etree._Element, int] = ctx.cached("source.ends", dict)
    if el in ends:
        return ends[el]
    start = offset_of(ctx, ctx.doc.location(el))
    after_start, empty = _start_tag_end(ctx, start)
    if empty:
        ends[el] = after_start
        return after_start
    kids = [c for c in el if isinstance(c.tag, str)]
    cursor = element_end(ctx, kids[-1]) if kids else after_start
    closing = re.compile(r"</" + re.escape(_raw_name(el)) + r"\s*>").search(_masked(ctx), cursor)
    ends[el] = closing.end() if closing else len(ctx.doc.text)
    return ends[el]


def loose_text(ctx: LintContext, node: Node) -> Iterator[tuple[str, Location]]:
    """Each non-blank run of text directly inside ``node`` (its text and every child's tail)."""
    el = element_of(ctx, node)
    if not (el.text or "").strip() and not any((c.tail or "").strip() for c in el):
        return  # the common case: positions are only worked out when there is loose text
    text = ctx.doc.text
    cursor, _ = _start_tag_end(ctx, offset_of(ctx, node.loc))
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
            yield chunk.strip(), location_at(ctx, skip_space(ctx, offset))
