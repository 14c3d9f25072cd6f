"""Hardened XML parsing with lxml: encodings, limits, and a source position for every element.

Nothing here touches the network or loads a DTD; entity declarations are refused before lxml sees
the document. Every failure becomes a :class:`~dialplan.diagnostics.Diagnostic`, never a traceback.
"""

from __future__ import annotations

import bisect
import codecs
import os
import re
from dataclasses import dataclass, field
from itertools import accumulate
from pathlib import Path
from typing import ClassVar

from lxml import etree

from .diagnostics import Diagnostic, Location, make
from .limits import TEMPLATE_MAX_DEPTH

#: Refuse larger documents outright (real dialplans are a few kilobytes).
MAX_BYTES = 4 * 1024 * 1024
#: Refuse deeper element nesting (real dialplans nest fewer than 20 levels).
MAX_DEPTH = 128
#: Refuse documents with more elements (real dialplans have a few hundred at most); this bounds
#: the work of every later stage (model, rules, schema) on hostile input.
MAX_ELEMENTS = 20_000
#: Refuse an element with more attributes (the richest tag, transfer, has nine).
MAX_ATTRIBUTES = 100
#: Refuse ``${…}`` references nested deeper than the template parser reads.
MAX_TEMPLATE_DEPTH = TEMPLATE_MAX_DEPTH
#: Refuse an attribute holding a number longer than this (counts, timeouts, key ranges and
#: phone numbers have at most a few dozen digits); Python refuses ``int()`` past 4,300.
MAX_NUMBER_DIGITS = 1000

#: The codes the parser reports (code → rule name, explanation for ``dialplan rules``).
CODES: dict[str, tuple[str, str]] = {
    "E001": (
        "not-well-formed",
        "The file is not well-formed XML (or is empty, binary or unreadable).",
    ),
    "E015": (
        "dtd-forbidden",
        "DOCTYPE/ENTITY declarations are refused: they enable entity attacks.",
    ),
    "E016": ("document-too-large", "The file exceeds the size limit for a dialplan."),
    "E017": (
        "nesting-too-deep",
        "Elements nest deeper than the limit (128 levels), or ${…} references nest deeper "
        "than 32 levels (real dialplans nest two: ${choice${num}}).",
    ),
    "E019": (
        "value-too-large",
        "An attribute holds a number of more than 1000 digits (counts, timeouts, key ranges "
        "and phone numbers have a few dozen at most); the document is refused.",
    ),
}

_DECL_ENCODING = re.compile(rb"""^<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9._\-]+)["']""")
_DECL_ENCODING_TEXT = re.compile(r"""^(<\?xml[^>]*?encoding\s*=\s*["'])[A-Za-z0-9._\-]+(["'])""")
_MASK = re.compile(r"<!--.*?-->|<!\[CDATA\[.*?\]\]>|<\?.*?\?>", re.S)
_DTD = re.compile(r"<!DOCTYPE|<!ENTITY", re.I)
_START = re.compile(r"<[^/]")
#: ``<name`` of a start tag in masked text (end tags, comments, PIs and DTDs do not match)
_OPEN = re.compile(r"<[^\s/>!?]")
_too_deep: etree.XPath | None = None
#: From a start tag's ``<`` to its closing ``>`` (attribute values may contain ``>``).
_TAG_END = re.compile(r"""[^>"']*(?:(?:"[^"]*"|'[^']*')[^>"']*)*>""")
_ATTR = re.compile(r"""\s([^\s=/>]+)\s*=\s*(?:"[^"]*"|'[^']*')""")
_TEMPLATE_TOKEN = re.compile(r"\$\{|\}")
_LONG_NUMBER = re.compile(rf"[0-9]{{{MAX_NUMBER_DIGITS + 1},}}")


@dataclass(frozen=True, slots=True)
class Source:
    """Raw input: a display name and its bytes."""

    name: str
    data: bytes


@dataclass(slots=True)
class ParsedDocument:
    """A well-formed document: the lxml root plus positions of every element.

    Every source position of the project is computed here: :meth:`position` is the one place a
    0-based character offset becomes a 1-based line and column (and :meth:`offset` the way back).
    """

    #: the front-end that wrote the document ("yaml": :mod:`dialplan.callr`)
    frontend: ClassVar[str] = "xml"

    source: Source
    text: str
    root: etree._Element
    _offsets: dict[etree._Element, int] = field(default_factory=dict)
    _line_starts: list[int] = field(default_factory=list)
    #: offset just after the ``>`` that closes each element's start tag
    _tag_ends: dict[etree._Element, int] = field(default_factory=dict)
    _attr_offsets: dict[etree._Element, dict[str, int]] = field(default_factory=dict)
    #: ``text`` with comments, CDATA sections and processing instructions blanked (same offsets)
    masked: str = ""

    def position(self, offset: int) -> Location:
        """The 1-based line and column of the character at 0-based ``offset``."""
        return _position(self._line_starts, offset)

    def offset(self, loc: Location) -> int:
        """The 0-based character offset of a 1-based position (the inverse of :meth:`position`)."""
        line = min(max(loc.line, 1), len(self._line_starts))
        return self._line_starts[line - 1] + loc.column - 1

    def start_offset(self, el: etree._Element) -> int | None:
        """Offset of the ``<`` that opens ``el`` (None if unknown)."""
        return self._offsets.get(el)

    def location(self, el: etree._Element) -> Location:
        """Line and column of the ``<`` that opens ``el``."""
        off = self._offsets.get(el)
        if off is None:
            return Location(el.sourceline or 1, 1)
        return self.position(off)

    def start_tag_end(self, el: etree._Element) -> int:
        """Offset just after the ``>`` that closes ``el``'s start tag."""
        end = self._tag_ends.get(el)
        if end is None:
            off = self._offsets.get(el)
            if off is None:
                return 0
            m = _TAG_END.match(self.text, off)
            end = m.end() if m else self.text.find(">", off) + 1
            self._tag_ends[el] = end
        return end

    def attr_location(self, el: etree._Element, attr: str) -> Location:
        """Line and column of attribute ``attr`` in ``el``'s start tag (the element if absent)."""
        off = self._offsets.get(el)
        if off is None:
            return self.location(el)
        offsets = self._attr_offsets.get(el)
        if offsets is None:
            offsets = {}
            for m in _ATTR.finditer(self.text, off, self.start_tag_end(el)):
                name = m.group(1)
                offsets.setdefault(name, m.start(1))
                offsets.setdefault(name.rpartition(":")[2], m.start(1))
            self._attr_offsets[el] = offsets
        found = offsets.get(attr)
        return self.position(found if found is not None else off)

    def text_location(self, el: etree._Element) -> Location:
        """Where ``el``'s text value starts (just after its start tag)."""
        if el not in self._offsets:
            return self.location(el)
        return self.position(self.start_tag_end(el))


class ParseFailure(Exception):
    """Internal: carries the diagnostic of a document that could not be parsed."""

    def __init__(self, diagnostic: Diagnostic) -> None:
        super().__init__(diagnostic.message)
        self.diagnostic = diagnostic


def looks_like_xml(text: str) -> bool:
    return text.lstrip().startswith("<")


def read_source(src: str | bytes | os.PathLike[str], name: str | None = None) -> Source:
    """Turn a path, XML text or XML bytes into a :class:`Source` (size-checked before reading)."""
    if isinstance(src, bytes):
        return Source(name or "<bytes>", src)
    if isinstance(src, str) and (looks_like_xml(src) or src.lstrip().startswith("dialplan: yaml")):
        if len(src) > MAX_BYTES:  # at least as many bytes as characters: refuse before encoding
            raise ParseFailure(_too_large(len(src), name or "<string>", "characters"))
        return Source(name or "<string>", src.encode("utf-8"))
    path = Path(src)
    display = name or str(src)
    try:
        size = path.stat().st_size
        if size > MAX_BYTES:
            raise ParseFailure(_too_large(size, display))
        # Read at most one byte more than the limit: devices and pipes report no size.
        with path.open("rb") as fh:
            data = fh.read(MAX_BYTES + 1)
    except OSError as exc:
        raise ParseFailure(
            _diag("E001", f"cannot read file: {exc.strerror}", file=display)
        ) from None
    if len(data) > MAX_BYTES:
        raise ParseFailure(
            _diag(
                "E016",
                f"document is larger than the limit of {MAX_BYTES} bytes",
                file=display,
            )
        )
    return Source(display, data)


def _too_large(size: int, file: str, unit: str = "bytes") -> Diagnostic:
    return _diag(
        "E016",
        f"document is {size} {unit}; the limit is {MAX_BYTES} bytes",
        file=file,
    )


def detect_encoding(data: bytes) -> str:
    """The encoding by BOM, then the XML declaration, then UTF-8 (XML 1.0 appendix F)."""
    for bom, enc in (
        (codecs.BOM_UTF32_LE, "utf-32"),
        (codecs.BOM_UTF32_BE, "utf-32"),
        (codecs.BOM_UTF8, "utf-8-sig"),
        (codecs.BOM_UTF16_LE, "utf-16"),
        (codecs.BOM_UTF16_BE, "utf-16"),
    ):
        if data.startswith(bom):
            return enc
    if data.startswith(b"<\x00?\x00"):
        return "utf-16-le"
    if data.startswith(b"\x00<\x00?"):
        return "utf-16-be"
    m = _DECL_ENCODING.match(data[:200])
    if m:
        return m.group(1).decode("ascii").lower()
    return "utf-8"


def _diag(
    code: str, message: str, loc: Location | None = None, file: str = "<string>"
) -> Diagnostic:
    """A parser diagnostic, named from :data:`CODES`."""
    return make(code, CODES[code][0], message, loc, file)


def _fail(code: str, message: str, source: Source, loc: Location | None = None) -> None:
    raise ParseFailure(_diag(code, message, loc, file=source.name))


def _decode(source: Source) -> str:
    data = source.data
    enc = detect_encoding(data)
    try:
        codecs.lookup(enc)
    except LookupError:
        _fail("E001", f"unknown encoding {enc!r} in the XML declaration", source)
    try:
        return data.decode(enc)
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        _fail(
            "E001",
            f"bytes are not valid {enc} (is this a binary file?)",
            source,
            Location(line, 1),
        )
    raise AssertionError("unreachable")


def parse(source: Source) -> ParsedDocument:
    """Parse ``source`` safely; raise :class:`ParseFailure` with one diagnostic if it is unusable.

    The one dispatch point by file type: a Callr scenario (``.yaml``/``.yml`` or a
    ``dialplan: yaml`` marker) goes to the YAML front-end (:mod:`dialplan.callr`), which
    compiles it into a document the same model builder reads.
    """
    from .callr.detect import is_yaml

    if is_yaml(source):
        from .callr.document import parse_yaml

        return parse_yaml(source)
    data = source.data
    if len(data) > MAX_BYTES:
        raise ParseFailure(_too_large(len(data), source.name))
    if not data.strip():
        _fail("E001", "empty document", source)
    text = _decode(source)
    line_starts = _line_starts(text)
    if "\x00" in text:
        line = _position(line_starts, text.index("\x00")).line
        _fail(
            "E001",
            "NUL character: binary data, not XML",
            source,
            Location(line, 1),
        )
    masked = _MASK.sub(_blank, text) if ("<!" in text or "<?" in text) else text
    dtd = _DTD.search(masked)
    if dtd:
        _fail(
            "E015",
            "DOCTYPE and entity declarations are not allowed in a dialplan",
            source,
            _position(line_starts, dtd.start()),
        )
    _text_before_root(masked, line_starts, source)
    parser = etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_blank_text=False,
        collect_ids=False,
    )
    if detect_encoding(data) not in ("utf-8", "utf-8-sig"):
        # libxml2 knows fewer codec names than Python: hand it UTF-8 with a matching declaration.
        data = _DECL_ENCODING_TEXT.sub(r"\1UTF-8\2", text, count=1).encode("utf-8")
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        entries = [e for e in parser.error_log if e.level_name in ("ERROR", "FATAL")]
        first = entries[0] if entries else None
        msg = (first.message if first else str(exc)).strip()
        line = (first.line if first else exc.lineno) or 1
        col = (first.column if first else exc.offset) or 1
        if "depth" in msg.lower():
            _fail(
                "E017",
                f"elements nest deeper than {MAX_DEPTH} levels",
                source,
                Location(line, 1),
            )
        _fail("E001", msg, source, Location(line, max(col, 1)))
    except ValueError as exc:  # e.g. lxml refusing an unsupported encoding
        _fail("E001", str(exc), source)
    # after lxml, so that its own limits (depth) report first
    count = len(_START.findall(masked))
    if count > MAX_ELEMENTS:
        _fail(
            "E016",
            f"document has {count} elements; the limit is {MAX_ELEMENTS}",
            source,
        )
    doc = ParsedDocument(source, text, root, {}, line_starts, masked=masked)
    _index_positions(doc, masked)
    return doc


def _text_before_root(masked: str, line_starts: list[int], source: Source) -> None:
    """E001 quoting the text before the root element (libxml2 only says "'<' not found")."""
    stripped = masked.lstrip().lstrip("\ufeff")
    if not stripped or stripped[0] == "<":
        return
    start = len(masked) - len(stripped)
    end = masked.find("<", start)
    junk = " ".join(masked[start : end if end >= 0 else len(masked)].split())
    shown = junk if len(junk) <= 40 else junk[:39] + "…"
    _fail(
        "E001",
        f"text before the root element: {shown!r} (a dialplan starts with <dialplan> or <?xml …?>)",
        source,
        _position(line_starts, start),
    )


def _line_starts(text: str) -> list[int]:
    """The offset at which each line of ``text`` starts."""
    starts = list(accumulate((len(line) + 1 for line in text.split("\n")), initial=0))
    starts.pop()
    return starts


def _position(line_starts: list[int], offset: int) -> Location:
    """The one conversion of a 0-based offset to a 1-based line and column."""
    i = bisect.bisect_right(line_starts, offset) - 1
    return Location(i + 1, offset - line_starts[i] + 1)


def _blank(m: re.Match[str]) -> str:
    """A comment/CDATA/PI replaced by spaces, keeping its newlines (so offsets stay put)."""
    return "\n".join(" " * len(part) for part in m.group().split("\n"))


def _index_positions(doc: ParsedDocument, masked: str) -> None:
    """Record each element's ``<name`` offset; enforce the depth and attribute limits.

    In the masked text (comments, CDATA and PIs blanked) every ``<name`` is the start tag of the
    next element in document order, so one scan pairs tags with elements. The end of each start
    tag is found later, on demand (attribute values may contain ``>``).
    """
    elements = list(doc.root.iter(etree.Element))
    global _too_deep
    if _too_deep is None:  # the elements nested deeper than MAX_DEPTH (the root is at depth 1)
        _too_deep = etree.XPath("/*" + "/*" * MAX_DEPTH)
    deep = _too_deep(doc.root)
    offsets = [m.start() for m in _OPEN.finditer(masked)]
    if len(offsets) != len(elements):  # cannot happen for a well-formed document; stay safe
        offsets = []
    doc._offsets.update(zip(elements, offsets, strict=False))
    if isinstance(deep, list) and deep:
        raise ParseFailure(
            _diag(
                "E017",
                f"elements nest deeper than {MAX_DEPTH} levels",
                doc.location(deep[0]),
                file=doc.source.name,
            )
        )
    for el in elements:
        if len(el.attrib) > MAX_ATTRIBUTES:
            raise ParseFailure(
                _diag(
                    "E016",
                    f"<{etree.QName(el).localname}> has {len(el.attrib)} attributes; "
                    f"the limit is {MAX_ATTRIBUTES}",
                    doc.location(el),
                    file=doc.source.name,
                )
            )
        _check_values(doc, el)


def _check_values(doc: ParsedDocument, el: etree._Element) -> None:
    """Refuse values no later stage should have to handle: over-long numbers in attributes and
    ``${`` references nested deeper than :data:`MAX_TEMPLATE_DEPTH` (attributes and text)."""
    for name, value in el.attrib.items():
        if len(value) > MAX_NUMBER_DIGITS and _LONG_NUMBER.search(value):
            tag, attr = etree.QName(el).localname, etree.QName(name).localname
            raise ParseFailure(
                make(
                    "E019",
                    "value-too-large",
                    f'"{attr}" on <{tag}> holds a number of more than {MAX_NUMBER_DIGITS} digits',
                    doc.attr_location(el, attr),
                    file=doc.source.name,
                )
            )
        if _too_deep_template(value):
            tag, attr = etree.QName(el).localname, etree.QName(name).localname
            raise ParseFailure(
                _too_nested(f'"{attr}" on <{tag}>', doc.attr_location(el, attr), doc)
            )
    if _too_deep_template(el.text):
        tag = etree.QName(el).localname
        raise ParseFailure(_too_nested(f"the text of <{tag}>", doc.text_location(el), doc))
    if _too_deep_template(el.tail):
        tag = etree.QName(el).localname
        raise ParseFailure(_too_nested(f"the text after <{tag}>", doc.location(el), doc))


def _too_deep_template(text: str | None) -> bool:
    if not text or text.count("${") <= MAX_TEMPLATE_DEPTH:
        return False
    return template_depth(text) > MAX_TEMPLATE_DEPTH


def _too_nested(where: str, loc: Location, doc: ParsedDocument) -> Diagnostic:
    return make(
        "E017",
        "nesting-too-deep",
        f"${{…}} references in {where} nest deeper than {MAX_TEMPLATE_DEPTH} levels",
        loc,
        file=doc.source.name,
    )


def template_depth(text: str) -> int:
    """How deep ``${`` references nest in ``text`` (unterminated ones count as open)."""
    depth = deepest = 0
    for m in _TEMPLATE_TOKEN.finditer(text):
        if m.group() == "${":
            depth += 1
            deepest = max(deepest, depth)
        elif depth:
            depth -= 1
    return deepest


def parse_any(src: str | bytes | os.PathLike[str], name: str | None = None) -> ParsedDocument:
    """Read and parse in one step (raises :class:`ParseFailure`)."""
    return parse(read_source(src, name))
