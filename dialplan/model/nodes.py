"""Typed, immutable nodes: one class per tag, each with its source location.

Values that hold ``${…}`` stay :class:`~dialplan.expr.Template` objects until a call renders
them; JavaScript stays text until the evaluator runs it. Nodes keep the raw attributes too, so
lint rules can report on exactly what was written.

Nodes are built once per file by :mod:`dialplan.model.build` and are read-only afterwards
(assignment raises :class:`dataclasses.FrozenInstanceError`, as with a frozen dataclass). They
are plain classes rather than dataclasses because a typical lint builds tens of thousands of
them: the builder hands each node its finished field dict in one step (a frozen dataclass sets
every field through ``object.__setattr__``), fields with a default are class attributes, and
source locations are computed on first use from the lxml element (most are never read). Plain
classes also import in microseconds, where 25 slotted dataclasses took ~100 ms of start-up.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import FrozenInstanceError
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from ..diagnostics import Location
from ..expr.template import Template
from .patterns import Pattern

if TYPE_CHECKING:
    from lxml import etree

    from ..parse import ParsedDocument

T = TypeVar("T")
_EMPTY: Mapping[str, Any] = {}


class _lazy(Generic[T]):  # used like @property
    """A read-only attribute computed on first read, then kept in the instance's ``__dict__``."""

    __slots__ = ("fn", "name")

    def __init__(self, fn: Callable[[Any], T]) -> None:
        self.fn = fn
        self.name = fn.__name__

    def __get__(self, obj: Any, owner: type | None = None) -> T:
        if obj is None:
            return self  # type: ignore[return-value]
        value = self.fn(obj)
        obj.__dict__[self.name] = value
        return value


class Node:
    """Any tag. ``tag`` is the canonical spelling, ``raw_tag`` what the file says."""

    tag: str
    raw_tag: str
    index: int
    name: str | None = None
    attrs: Mapping[str, str] = _EMPTY
    #: attribute spellings as written, keyed by canonical name
    raw_attrs: Mapping[str, str] = _EMPTY
    text: str = ""
    children: tuple[Node, ...] = ()
    parent: Node | None = None
    #: where the node came from (for its locations, computed on first use)
    _el: etree._Element
    _doc: ParsedDocument

    def __init__(self, fields: dict[str, Any], **more: Any) -> None:
        """Only the model builder creates nodes: ``fields`` (taken over, not copied) and ``more``."""
        if more:
            fields.update(more)
        object.__setattr__(self, "__dict__", fields)

    def __setattr__(self, name: str, value: object) -> None:
        raise FrozenInstanceError(f"cannot assign to field {name!r}")

    def __delattr__(self, name: str) -> None:
        raise FrozenInstanceError(f"cannot delete field {name!r}")

    def __repr__(self) -> str:
        return f"{type(self).__name__}(tag={self.tag!r}, index={self.index}, name={self.name!r})"

    @property
    def element(self) -> etree._Element:
        """The lxml element the node was built from (for rules that read the source)."""
        return self._el

    @_lazy
    def loc(self) -> Location:
        """Line and column of the ``<`` that opens the tag."""
        return self._doc.location(self._el)

    @_lazy
    def attr_locs(self) -> Mapping[str, Location]:
        """Where each attribute is written, keyed by canonical name."""
        from .tags import canonical_attr

        locs: dict[str, Location] = {}
        for key in self._el.attrib:
            raw_key = key.rpartition("}")[2]
            locs[canonical_attr(self.tag, raw_key)] = self._doc.attr_location(self._el, raw_key)
        return locs

    @_lazy
    def text_loc(self) -> Location | None:
        """Where the text value starts (just after the start tag)."""
        return self._doc.text_location(self._el)

    def walk(self) -> Iterator[Node]:
        """This node and every descendant, in document order."""
        stack: list[Node] = [self]
        while stack:
            node = stack.pop()
            yield node
            stack.extend(reversed(node.children))

    def ancestors(self) -> Iterator[Node]:
        node = self.parent
        while node is not None:
            yield node
            node = node.parent

    def attr_loc(self, attr: str) -> Location:
        return self.attr_locs.get(attr, self.loc)

    @property
    def label(self) -> str:
        """How messages name the node: ``<menu name="Live">`` or ``<menu>``."""
        return f'<{self.raw_tag} name="{self.name}">' if self.name else f"<{self.raw_tag}>"


class Dialplan(Node):
    pass


class Menu(Node):
    timeout_ms: int
    max_digits: int
    prompts: tuple[Node, ...] = ()
    keypresses: tuple[Keypress, ...] = ()


class Keypress(Node):
    pattern: Pattern


class Play(Node):
    kind: str  # tts | url | callfireid (lower-cased; "" when missing)
    value: Template
    voice: str | None = None
    cache: bool = True


class Goto(Node):
    target: str


class Hangup(Node):
    pass


class Transfer(Node):
    numbers: Template
    callerid: Template | None = None
    musiconhold: str = "ringing"
    continue_after: bool = False
    mode: str = "ringall"
    timeout_s: int = 30
    whisper_tts: Template | None = None
    screen: bool = False
    callerid_alpha: str | None = None


class Amd(Node):
    live: Live | None = None
    machine: Machine | None = None


class Live(Node):
    pass


class Machine(Node):
    pass


class Stash(Node):
    varname: Template
    value: Template


class Setvar(Node):
    varname: Template
    value: Template


class If(Node):
    expr: Template
    body: tuple[Node, ...] = ()
    orelse: Else | None = None


class Else(Node):
    pass


class Equal(Node):
    """``<equal>``; ``negate`` is set for ``<notEqual>``."""

    var: Template
    expr: Template
    negate: bool = False


class Record(Node):
    varname: str | None = None
    background: bool = False
    timeout_ms: int = 60_000


class Http(Node):
    """``<get>`` or ``<post>`` (``method`` is ``GET``/``POST``)."""

    method: str
    url: Template
    varname: str | None = None


class Fetch(Http):
    """``fetch@v2`` of the Callr YAML front-end: an HTTP request with headers and a body.

    ``headers`` and ``body`` are templates (``${…}`` filled from variables, never evaluated).
    """

    headers: tuple[tuple[str, Template], ...] = ()
    body: Template | None = None


class Script(Node):
    """``javascript@v1`` (and the ``if:`` conditions and ``${{ }}`` expressions compiled from
    Callr YAML): JavaScript that sees the call's variables as ``$name`` globals.

    ``code`` is the author's text, run as written; values reach it only as data. With
    ``varname`` the result is stored there (``String(result)``), without it only the ``$``
    variables the code changed are.
    """

    code: str
    varname: str | None = None


class RunVars(Node):
    """The variables a Callr scenario declares, with their defaults (``name`` → text).

    A run's own variables (the contact's fields) take precedence; the ones the scenario does
    not declare are accepted and visible too (with a note).
    """

    declared: tuple[tuple[str, str], ...] = ()


class LogLine(Node):
    """``log@v1`` of the Callr YAML front-end: a message for the call's log."""

    message: Template


class Sms(Node):
    """``<sms>`` (and its SDK alias ``<text>``)."""

    to: Template
    message: Template


class Dnc(Node):
    number: Template


class Catch(Node):
    type: str  # hangup | digit (lower-cased)
    goto: str
    value: str | None = None


class GotoXML(Node):
    url: Template


class Dtmf(Node):
    tones: Template


class Wait(Node):
    duration_ms: int = 1000


class Unknown(Node):
    """A tag the language does not have, or an SDK-only tag that does nothing at run time."""
