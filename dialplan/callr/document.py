"""A parsed Callr scenario: the compiled XML document whose every position is in the YAML."""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field, fields
from typing import ClassVar

from lxml import etree

from ..diagnostics import Location
from ..parse import MAX_BYTES, ParsedDocument, ParseFailure, Source, _diag, parse
from .compile import Compiled, Finding, compile_scenario
from .detect import is_yaml
from .source import YamlFailure, YNode, load


@dataclass(slots=True)
class YamlDocument(ParsedDocument):
    """The compiled scenario as a :class:`ParsedDocument`; :meth:`position` maps every offset
    of the generated XML to the YAML position it was compiled from."""

    frontend: ClassVar[str] = "yaml"
    scenario: YNode | None = None
    findings: list[Finding] = field(default_factory=list)
    language: str = ""
    _map_offsets: list[int] = field(default_factory=list)
    _map_locs: list[Location] = field(default_factory=list)
    _first_offsets: dict[Location, int] = field(default_factory=dict)

    def position(self, offset: int) -> Location:
        i = bisect.bisect_right(self._map_offsets, offset) - 1
        return self._map_locs[i] if i >= 0 else Location(1, 1)

    def offset(self, loc: Location) -> int:
        """The generated XML's offset of the first element compiled from ``loc``."""
        if not self._first_offsets:
            for off, mapped in zip(self._map_offsets, self._map_locs, strict=True):
                self._first_offsets.setdefault(mapped, off)
        return self._first_offsets.get(loc, 0)


def parse_yaml(source: Source) -> YamlDocument:
    """Read, check and compile a Callr scenario; raise :class:`ParseFailure` if unusable."""
    if len(source.data) > MAX_BYTES:
        raise ParseFailure(
            _diag(
                "E016", f"document is larger than the limit of {MAX_BYTES} bytes", file=source.name
            )
        )
    try:
        text = source.data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = source.data[: exc.start].count(b"\n") + 1
        raise ParseFailure(
            _diag(
                "E001",
                "bytes are not valid UTF-8 (is this a binary file?)",
                Location(line, 1),
                source.name,
            )
        ) from None
    try:
        scenario = load(text)
    except YamlFailure as exc:
        raise ParseFailure(_diag(exc.code, exc.message, exc.loc, source.name)) from None
    compiled = compile_scenario(scenario)
    xml = etree.tostring(compiled.root, encoding="unicode", pretty_print=True)
    base = parse(Source(source.name + "#xml", xml.encode()))
    # the generated document's tables, with the YAML source and the position map on top
    shared = {f.name: getattr(base, f.name) for f in fields(ParsedDocument)}
    doc = YamlDocument(
        **{**shared, "source": source},
        scenario=scenario,
        findings=compiled.findings,
        language=compiled.language,
    )
    _map(doc, base, compiled)
    return doc


def _map(doc: YamlDocument, base: ParsedDocument, compiled: Compiled) -> None:
    """Offsets of each generated element (and attribute) → the YAML position it came from."""
    points: list[tuple[int, Location]] = []
    made = list(compiled.root.iter())
    for made_el, el in zip(made, doc.root.iter(), strict=True):
        start = base.start_offset(el)
        loc = compiled.locs.get(made_el)
        if start is None or loc is None:
            continue
        points.append((start, loc))
        for attr, attr_loc in compiled.attr_locs.get(made_el, {}).items():
            where = base.attr_location(el, attr)
            points.append((base.offset(where), attr_loc))
    points.sort(key=lambda p: p[0])
    doc._map_offsets = [p[0] for p in points]
    doc._map_locs = [p[1] for p in points]


__all__ = ["YamlDocument", "is_yaml", "parse_yaml"]
