"""Safe YAML reading for Callr scenarios: limits first, then plain values with positions.

PyYAML's event stream is read once under hard limits (size, depth, nodes, aliases) before
anything is composed, so alias bombs and absurd nesting are refused with bounded memory and
time. Values are built here from the composed nodes (never by a PyYAML constructor): only the
core YAML types exist; any other tag (``!!python/object`` …) is refused, never constructed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import yaml

from ..diagnostics import Location

#: Refuse deeper nesting of mappings and sequences (a scenario nests fewer than 15).
MAX_DEPTH = 64
#: Refuse documents with more nodes, aliases expanded (a scenario has a few hundred).
MAX_NODES = 50_000
#: Refuse more aliases (``*name``) than this; scenarios rarely use any.
MAX_ALIASES = 100
#: Refuse integers longer than this (Python refuses ``int()`` past 4,300 digits).
MAX_DIGITS = 1000

_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_CORE = "tag:yaml.org,2002:"
_INT = re.compile(r"^[-+]?(0|[1-9][0-9_]*)$")
_FLOAT = re.compile(r"^[-+]?([0-9][0-9_]*)?\.[0-9_]*([eE][-+]?[0-9]+)?$")


class YamlFailure(Exception):
    """The document cannot be read: ``code`` (parser codes E001/E016/E017/E019) and where."""

    def __init__(self, code: str, message: str, loc: Location | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.loc = loc or Location(1, 1)


@dataclass(frozen=True, slots=True)
class YNode:
    """One YAML value where it is written: a scalar, ``list[YNode]`` or ``dict[str, YNode]``.

    ``key_locs`` holds where each key of a mapping is written.
    """

    value: Any
    loc: Location
    key_locs: dict[str, Location] = field(default_factory=dict)

    def get(self, key: str) -> YNode | None:
        return self.value.get(key) if isinstance(self.value, dict) else None

    def key_loc(self, key: str) -> Location:
        return self.key_locs.get(key, self.loc)

    def plain(self) -> Any:
        """The value without positions (for the JSON Schema)."""
        if isinstance(self.value, dict):
            return {k: v.plain() for k, v in self.value.items()}
        if isinstance(self.value, list):
            return [v.plain() for v in self.value]
        return self.value


def _loc(mark: Any) -> Location:
    return Location(mark.line + 1, mark.column + 1)


def _check_events(text: str) -> None:
    """Refuse what is too deep, too big or alias-heavy before composing anything.

    ``nodes`` counts aliases expanded: each anchor's size is known when its node ends, and an
    alias adds that size, so an alias bomb is refused after reading its few lines.
    """
    depth = nodes = aliases = 0
    #: for each open collection: nodes counted when it started, and its anchor
    open_: list[tuple[int, str | None]] = []
    sizes: dict[str, int] = {}
    try:
        for event in yaml.parse(text, Loader=_Loader):
            if isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
                depth += 1
                nodes += 1
                open_.append((nodes, event.anchor))
                if depth > MAX_DEPTH:
                    raise YamlFailure(
                        "E017", f"YAML nests deeper than {MAX_DEPTH} levels", _loc(event.start_mark)
                    )
            elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
                depth -= 1
                start, anchor = open_.pop()
                if anchor is not None:
                    sizes[anchor] = nodes - start + 1
            elif isinstance(event, yaml.ScalarEvent):
                nodes += 1
                if event.anchor is not None:
                    sizes[event.anchor] = 1
            elif isinstance(event, yaml.AliasEvent):
                aliases += 1
                nodes += sizes.get(event.anchor or "", 1)
                if aliases > MAX_ALIASES:
                    raise YamlFailure(
                        "E016",
                        f"document uses more than {MAX_ALIASES} aliases",
                        _loc(event.start_mark),
                    )
            elif isinstance(event, yaml.DocumentStartEvent) and nodes:
                raise YamlFailure(
                    "E001", "a scenario file holds one YAML document", _loc(event.start_mark)
                )
            if nodes > MAX_NODES:
                where = _loc(event.start_mark)
                raise YamlFailure(
                    "E016", f"document has more than {MAX_NODES} nodes (aliases expanded)", where
                )
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        at = _loc(mark) if mark is not None else None
        raise YamlFailure("E001", f"not valid YAML: {exc.problem or exc.context}", at) from None
    except yaml.reader.ReaderError as exc:
        line = text.count("\n", 0, exc.position) + 1
        column = exc.position - (text.rfind("\n", 0, exc.position) + 1) + 1
        raise YamlFailure(
            "E001",
            f"not valid YAML: {exc.reason} (character {exc.character!r})",
            Location(line, column),
        ) from None
    except yaml.YAMLError as exc:
        raise YamlFailure("E001", f"not valid YAML: {exc}") from None


class _Builder:
    """Composed nodes → :class:`YNode`, counting visits so aliases cannot multiply the work."""

    def __init__(self) -> None:
        self.visits = 0

    def build(self, node: Any, depth: int = 0) -> YNode:
        self.visits += 1
        if self.visits > MAX_NODES:
            raise YamlFailure("E016", f"document expands to more than {MAX_NODES} nodes")
        if depth > MAX_DEPTH:
            raise YamlFailure(
                "E017", f"YAML nests deeper than {MAX_DEPTH} levels", _loc(node.start_mark)
            )
        loc = _loc(node.start_mark)
        tag = node.tag or ""
        if isinstance(node, yaml.MappingNode):
            if tag != _CORE + "map":
                raise _bad_tag(tag, loc)
            out: dict[str, YNode] = {}
            key_locs: dict[str, Location] = {}
            for key_node, value_node in node.value:
                key = self.build(key_node, depth + 1)
                if not isinstance(key.value, str | int | float | bool) or key.value is None:
                    raise YamlFailure("E001", "mapping keys must be plain text", key.loc)
                name = str(key.value)
                if name in out:
                    raise YamlFailure("E001", f"duplicate key {name!r}", key.loc)
                out[name] = self.build(value_node, depth + 1)
                key_locs[name] = key.loc
            return YNode(out, loc, key_locs)
        if isinstance(node, yaml.SequenceNode):
            if tag != _CORE + "seq":
                raise _bad_tag(tag, loc)
            return YNode([self.build(item, depth + 1) for item in node.value], loc)
        return YNode(_scalar(tag, node.value, loc), loc)


def _bad_tag(tag: str, loc: Location) -> YamlFailure:
    return YamlFailure("E001", f"YAML tag {tag!r} is not allowed (plain values only)", loc)


def _scalar(tag: str, text: str, loc: Location) -> Any:
    kind = tag[len(_CORE) :] if tag.startswith(_CORE) else None
    if kind == "str":
        return text
    if kind == "null":
        return None
    if kind == "bool":
        return text.lower() in ("true", "yes", "on", "y")
    if kind == "int":
        digits = text.replace("_", "")
        if len(digits) > MAX_DIGITS:
            raise YamlFailure("E019", f"a number of more than {MAX_DIGITS} digits", loc)
        if _INT.match(text):
            return int(digits)
        return text  # octal, hex, sexagesimal: kept as written
    if kind == "float":
        if len(text) > MAX_DIGITS:
            raise YamlFailure("E019", f"a number of more than {MAX_DIGITS} digits", loc)
        return float(text.replace("_", "")) if _FLOAT.match(text) else text
    if kind in ("timestamp", "binary", "merge", "value", "yaml"):
        return text
    raise _bad_tag(tag, loc)


def load(text: str) -> YNode:
    """The document's values with positions; raise :class:`YamlFailure` if it is unusable."""
    _check_events(text)
    try:
        root = yaml.compose(text, Loader=_Loader)
    except yaml.YAMLError as exc:  # pragma: no cover - the event pass reports these first
        raise YamlFailure("E001", f"not valid YAML: {exc}") from None
    if root is None:
        raise YamlFailure("E001", "empty document")
    return _Builder().build(root)


__all__ = ["MAX_ALIASES", "MAX_DEPTH", "MAX_NODES", "YNode", "YamlFailure", "load"]
