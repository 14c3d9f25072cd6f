"""Automatic repairs (``dialplan lint --fix``) for findings whose repair is certain.

A fixer is looked up by the finding's code and works from the finding's position in the parsed
document, so it needs nothing from the rule but the code and where: it re-reads the token there
and returns text edits only when the repair cannot change what a call does (the model already
reads the misspelt form as the fixed one). Safe fixes:

* ``W024`` an attribute spelled in another case (``maxdigits`` → ``maxDigits``);
* ``W004`` a lower-case camel-case tag (``<notequal>`` → ``<notEqual>``, start and end tag);
* ``I027`` a ``musiconhold`` alias (``Silent`` → ``silence``);
* ``I044`` a keypress spelling (``Default`` → ``default``).

Unsafe (``--unsafe-fixes``): ``W02B`` whitespace inside a URL is removed — the URL then fetched
differs from the broken one the call would have requested.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from lxml import etree

from ..diagnostics import Diagnostic, Location
from ..model.tags import CAMEL_TAGS, MUSIC_ON_HOLD_ALIASES, canonical_attr, canonical_tag
from ..parse import ParsedDocument
from .config import LintConfig


@dataclass(frozen=True, slots=True, order=True)
class Edit:
    """Replace ``text[start:end]`` of the document with ``new``."""

    start: int
    end: int
    new: str


_NAME = re.compile(r"[^\s=/>]+")
_ATTR_VALUE = re.compile(r"""([^\s=/>]+)\s*=\s*(["'])(.*?)\2""", re.S)
_WS = re.compile(r"\s+")


class _Index:
    """Elements of a document by the offset of their start tag."""

    def __init__(self, doc: ParsedDocument) -> None:
        self.doc = doc
        pairs = sorted(
            (off, el)
            for el in doc.root.iter()
            if isinstance(el.tag, str) and (off := doc.start_offset(el)) is not None
        )
        self.starts = [off for off, _ in pairs]
        self.elements = [el for _, el in pairs]

    def at(self, offset: int) -> etree._Element | None:
        """The element whose start tag holds ``offset``."""
        i = bisect.bisect_right(self.starts, offset) - 1
        if i < 0:
            return None
        el = self.elements[i]
        return el if offset < self.doc.start_tag_end(el) else None


Fixer = Callable[[_Index, int], list[Edit]]


def _attr_case(index: _Index, offset: int) -> list[Edit]:
    el = index.at(offset)
    m = _NAME.match(index.doc.text, offset)
    if el is None or m is None:
        return []
    raw = m.group()
    tag = canonical_tag(str(el.tag))
    canon = canonical_attr(tag, raw)
    if canon == raw or canon.lower() != raw.lower() or canon in el.attrib:
        return []
    return [Edit(m.start(), m.end(), canon)]


def _tag_case(index: _Index, offset: int) -> list[Edit]:
    el = index.at(offset)
    if el is None or index.starts[index.elements.index(el)] != offset:
        return []
    raw = str(el.tag)
    if raw not in CAMEL_TAGS:
        return []
    canon = CAMEL_TAGS[raw]
    edits = [Edit(offset + 1, offset + 1 + len(raw), canon)]
    text, masked = index.doc.text, index.doc.masked or index.doc.text
    end = index.doc.start_tag_end(el)
    if text[end - 2] == "/":
        return edits  # <notequal …/>
    close = _matching_close(masked, raw, end)
    if close is None:
        return []
    return [*edits, Edit(close + 2, close + 2 + len(raw), canon)]


def _matching_close(masked: str, raw: str, start: int) -> int | None:
    """Offset of the ``</raw`` closing the element whose start tag ends at ``start``."""
    depth = 1
    for m in re.finditer(rf"<(/?){re.escape(raw)}(?=[\s/>])", masked[start:]):
        pos = start + m.start()
        if m.group(1):
            depth -= 1
            if depth == 0:
                return pos
        else:
            gt = masked.find(">", pos)
            if gt > 0 and masked[gt - 1] != "/":
                depth += 1
    return None


def _value_fix(attr: str, fix: Callable[[str], str | None]) -> Fixer:
    def fixer(index: _Index, offset: int) -> list[Edit]:
        el = index.at(offset)
        m = _ATTR_VALUE.match(index.doc.text, offset)
        if el is None or m is None or m.group(1).lower() != attr:
            return []
        value = m.group(3)
        new = fix(value)
        if new is None or new == value:
            return []
        return [Edit(m.start(3), m.end(3), new)]

    return fixer


def _music(value: str) -> str | None:
    return MUSIC_ON_HOLD_ALIASES.get(value.lower()) if "&" not in value else None


def _pressed(value: str) -> str | None:
    lowered = value.strip().lower()
    return lowered if lowered in ("default", "timeout") and "&" not in value else None


def _url_whitespace(index: _Index, offset: int) -> list[Edit]:
    doc, text = index.doc, index.doc.text
    found = [
        el
        for el in index.elements
        if (end := doc.start_tag_end(el)) <= offset and not text[end:offset].strip()
    ]
    if len(found) != 1 or len(found[0]) or not found[0].text:
        return []
    start = doc.start_tag_end(found[0])
    value = found[0].text
    if text[start : start + len(value)] != value:
        return []  # entity or character references: the source text is not the value
    inner = value.strip()
    inner_start = start + value.index(inner)
    return [Edit(inner_start + m.start(), inner_start + m.end(), "") for m in _WS.finditer(inner)]


SAFE: dict[str, Fixer] = {
    "W024": _attr_case,
    "W004": _tag_case,
    "I027": _value_fix("musiconhold", _music),
    "I044": _value_fix("pressed", _pressed),
}
UNSAFE: dict[str, Fixer] = {"W02B": _url_whitespace}


def fixable(code: str, unsafe: bool = False) -> bool:
    return code in SAFE or (unsafe and code in UNSAFE)


def edits_for(
    doc: ParsedDocument, diags: Iterable[Diagnostic], unsafe: bool = False
) -> list[tuple[Diagnostic, list[Edit]]]:
    """The repairs of the fixable findings among ``diags`` (one list of edits per finding)."""
    index: _Index | None = None
    out: list[tuple[Diagnostic, list[Edit]]] = []
    for d in diags:
        fixer = SAFE.get(d.code) or (UNSAFE.get(d.code) if unsafe else None)
        if fixer is None:
            continue
        if index is None:
            index = _Index(doc)
        edits = fixer(index, doc.offset(Location(d.line, d.column)))
        if edits:
            out.append((d, edits))
    return out


def apply_edits(text: str, groups: Sequence[Sequence[Edit]]) -> tuple[str, int]:
    """``text`` with every group of edits applied (a group overlapping an earlier one is left for
    the next round); the number of groups applied."""
    taken: list[Edit] = []
    applied = 0
    for group in groups:
        if any(e.start < t.end and t.start < e.end for e in group for t in taken):
            continue
        taken.extend(group)
        applied += 1
    for e in sorted(taken, reverse=True):
        text = text[: e.start] + e.new + text[e.end :]
    return text, applied


@dataclass(frozen=True, slots=True)
class Fixed:
    """The outcome of fixing one file: its text before and after, the findings fixed and left."""

    before: str
    after: str
    fixed: int
    diagnostics: list[Diagnostic]
    encoding: str

    @property
    def changed(self) -> bool:
        return self.after != self.before

    def encoded(self) -> bytes:
        return self.after.encode(self.encoding)


#: Rounds of fixing before giving up (a fix can only reveal another one in rare cases).
MAX_ROUNDS = 10


def fix_source(
    data: bytes, name: str, config: LintConfig | None = None, unsafe: bool = False
) -> Fixed:
    """Apply every fix to ``data`` until none is left; the remaining findings of the result."""
    from ..parse import ParseFailure, detect_encoding, parse, read_source
    from .linter import lint_document

    config = config or LintConfig()
    encoding = detect_encoding(data)
    try:
        doc = parse(read_source(data, name))
    except ParseFailure as failure:
        diags = [failure.diagnostic] if config.enabled(failure.diagnostic.code) else []
        text = data.decode(encoding, errors="replace")
        return Fixed(text, text, 0, diags, encoding)
    before = doc.text
    fixed = 0
    diags = lint_document(doc, config)
    for _ in range(MAX_ROUNDS):
        groups = edits_for(doc, diags, unsafe)
        if not groups:
            break
        text, applied = apply_edits(doc.text, [edits for _, edits in groups])
        try:
            doc = parse(read_source(text.encode(encoding), name))
        except ParseFailure:  # a fix must never break the document: keep the last good text
            break
        fixed += applied
        diags = lint_document(doc, config)
    return Fixed(before, doc.text, fixed, diags, encoding)


def unified_diff(fixed: Fixed, name: str) -> str:
    import difflib

    return "".join(
        difflib.unified_diff(
            fixed.before.splitlines(keepends=True),
            fixed.after.splitlines(keepends=True),
            fromfile=f"a/{name}",
            tofile=f"b/{name}",
        )
    )
