"""Typed, frozen nodes: one dataclass per tag, each with its source location.

Values that hold ``${…}`` stay :class:`~dialplan.expr.Template` objects until a call renders
them; JavaScript stays text until the evaluator runs it. Nodes keep the raw attributes too, so
lint rules can report on exactly what was written.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

from ..diagnostics import Location
from ..expr.template import Template
from .patterns import Pattern


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class Node:
    """Any tag. ``tag`` is the canonical spelling, ``raw_tag`` what the file says."""

    tag: str
    raw_tag: str
    loc: Location
    index: int
    name: str | None = None
    attrs: Mapping[str, str] = field(default_factory=dict, repr=False)
    #: attribute spellings as written, keyed by canonical name
    raw_attrs: Mapping[str, str] = field(default_factory=dict, repr=False)
    attr_locs: Mapping[str, Location] = field(default_factory=dict, repr=False)
    text: str = ""
    text_loc: Location | None = field(default=None, repr=False)
    children: tuple[Node, ...] = field(default=(), repr=False)
    parent: Node | None = field(default=None, repr=False)

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


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class Dialplan(Node):
    pass


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class Menu(Node):
    timeout_ms: int
    max_digits: int
    prompts: tuple[Node, ...] = field(default=(), repr=False)
    keypresses: tuple[Keypress, ...] = field(default=(), repr=False)


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class Keypress(Node):
    pattern: Pattern


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class Play(Node):
    kind: str  # tts | url | callfireid (lower-cased; "" when missing)
    value: Template
    voice: str | None = None
    cache: bool = True


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class Goto(Node):
    target: str


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class Hangup(Node):
    pass


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
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


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class Amd(Node):
    live: Live | None = field(default=None, repr=False)
    machine: Machine | None = field(default=None, repr=False)


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class Live(Node):
    pass


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class Machine(Node):
    pass


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class Stash(Node):
    varname: Template
    value: Template


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class Setvar(Node):
    varname: Template
    value: Template


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class If(Node):
    expr: Template
    body: tuple[Node, ...] = field(default=(), repr=False)
    orelse: Else | None = field(default=None, repr=False)


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class Else(Node):
    pass


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class Equal(Node):
    """``<equal>``; ``negate`` is set for ``<notEqual>``."""

    var: Template
    expr: Template
    negate: bool = False


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class Record(Node):
    varname: str | None = None
    background: bool = False
    timeout_ms: int = 60_000


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class Http(Node):
    """``<get>`` or ``<post>`` (``method`` is ``GET``/``POST``)."""

    method: str
    url: Template
    varname: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class Sms(Node):
    """``<sms>`` (and its SDK alias ``<text>``)."""

    to: Template
    message: Template


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class Dnc(Node):
    number: Template


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class Catch(Node):
    type: str  # hangup | digit (lower-cased)
    goto: str
    value: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class GotoXML(Node):
    url: Template


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class Dtmf(Node):
    tones: Template


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class Wait(Node):
    duration_ms: int = 1000


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class Unknown(Node):
    """A tag the language does not have, or an SDK-only tag that does nothing at run time."""
