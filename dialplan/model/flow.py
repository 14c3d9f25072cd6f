"""The control-flow graph of a dialplan (spec §2): which tag can run after which, and why.

Vertices are the tags plus one *input phase* per menu (the moment its prompts are done and it
waits for digits, :class:`~dialplan.model.InputPhase`). Edges follow the spec's rules: sequence
and container completion (:meth:`Plan.after`), entering container bodies, menu branches (with
the implicit "no match"/"no input" fall-through), AMD verdicts, if/equal outcomes, gotos, catch
jumps and the ways a call ends. An edge whose ``target`` is ``None`` ends the call.

The graph is plain data shared by the flow lint rules, ``dialplan graph``, ``dialplan paths`` and
test coverage. Nothing here does I/O.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import NamedTuple

from ..diagnostics import Location
from .nodes import (
    Amd,
    Catch,
    Dialplan,
    Else,
    Equal,
    Goto,
    GotoXML,
    Hangup,
    If,
    Keypress,
    Live,
    Machine,
    Menu,
    Node,
    Record,
    Transfer,
)
from .patterns import PatternKind
from .plan import InputPhase, Plan

#: Containers whose children run as a plain block when entered.
_BLOCKS = (Dialplan, Catch, Keypress, Live, Machine, Else)


class EdgeKind(enum.Enum):
    """Why control can pass along an edge."""

    NEXT = "next"  # sequence, container completion, entering a body
    BRANCH = "branch"  # a decision: menu input, AMD verdict, if/equal outcome
    OUTCOME = "outcome"  # how a transfer went (answered / no answer)
    GOTO = "goto"
    CATCH = "catch"  # a catch fires (digit pressed / caller hung up) anywhere in its scope
    END = "end"  # the call ends here (target is None)


class Ending(enum.Enum):
    """How a call ends (the ``ending`` of an END edge)."""

    HANGUP = "hangup"
    END_OF_PLAN = "end of plan"  # implicit hangup after the root's last tag (spec §2.1)
    TRANSFERRED = "transferred"  # bridged and the call ends with the bridge
    GOTO_XML = "gotoXML"  # another document takes over
    BROKEN_GOTO = "unresolved goto"


class Vertex(NamedTuple):
    """A tag, or (``phase=True``) the input phase of the menu ``node``.

    Vertices and edges are named tuples: immutable like frozen dataclasses, and several times
    cheaper to create (every lint builds the graph of its file)."""

    id: int
    node: Node
    phase: bool = False

    @property
    def point(self) -> Node | InputPhase:
        """What :meth:`Plan.after` speaks about: the node or the menu's input phase."""
        return InputPhase(self.node) if self.phase and isinstance(self.node, Menu) else self.node

    @property
    def loc(self) -> Location:
        return self.node.loc

    @property
    def waits(self) -> bool:
        """Whether the call waits for the caller or the outside world here (spec §6.7 E071)."""
        if self.phase:
            return True
        node = self.node
        return isinstance(node, Transfer) or (isinstance(node, Record) and not node.background)

    def __str__(self) -> str:
        return f"{self.node.label} input" if self.phase else self.node.label


class Edge(NamedTuple):
    """One way control can go.

    ``label`` is what a picture writes on the edge (``1``, ``default``, ``no match``, ``live``,
    ``true``, ``goto``, ``catch digit 5``, ``hangup caught``, ``no answer``; empty for plain
    sequence). END edges (``target`` None) say how the call ends in ``ending``. Decision edges (menu input, AMD, if/equal,
    a catch firing) also carry ``decision``: the index of the deciding node and the coverage
    label of this outcome (see :func:`branch_points`).
    """

    source: int
    target: int | None
    kind: EdgeKind
    label: str = ""
    decision: tuple[int, str] | None = None
    #: for END edges: how the call ends
    ending: Ending | None = None


@dataclass(frozen=True, slots=True)
class Branch:
    """One outcome of a decision point, for coverage: ``(node_index, label)`` names it."""

    node_index: int
    label: str
    loc: Location
    description: str


@dataclass(frozen=True, slots=True, eq=False)
class FlowGraph:
    """The control-flow graph of one plan; build it with :func:`build_flow`."""

    plan: Plan
    vertices: tuple[Vertex, ...]
    edges: tuple[Edge, ...]
    #: the vertex where every call starts (the root)
    start: int
    out: Mapping[int, tuple[Edge, ...]] = field(repr=False)
    into: Mapping[int, tuple[Edge, ...]] = field(repr=False)
    #: menu node index → id of its input-phase vertex
    phases: Mapping[int, int] = field(repr=False)

    def vertex(self, point: Node | InputPhase) -> Vertex:
        """The vertex of a node or of a menu's input phase."""
        if isinstance(point, InputPhase):
            return self.vertices[self.phases[point.menu.index]]
        return self.vertices[point.index]

    def input_phase(self, menu: Menu) -> Vertex:
        return self.vertices[self.phases[menu.index]]

    def successors(self, vid: int, kinds: Iterable[EdgeKind] | None = None) -> Iterator[Edge]:
        wanted = _kind_set(kinds)
        for edge in self.out.get(vid, ()):
            if wanted is None or edge.kind in wanted:
                yield edge

    def reachable(
        self, sources: Iterable[int], kinds: Iterable[EdgeKind] | None = None
    ) -> set[int]:
        """Vertex ids reachable from ``sources`` (included) along edges of ``kinds`` (all)."""
        wanted = _kind_set(kinds)
        seen: set[int] = set()
        stack = list(sources)
        while stack:
            vid = stack.pop()
            if vid in seen:
                continue
            seen.add(vid)
            for edge in self.out.get(vid, ()):
                if edge.target is not None and (wanted is None or edge.kind in wanted):
                    stack.append(edge.target)
        return seen

    def reachable_from_start(self) -> set[int]:
        return self.reachable([self.start])


#: Edge kinds a call follows on its own (no catch event needed).
NORMAL = frozenset(EdgeKind) - {EdgeKind.CATCH}


_NORMAL_KINDS = tuple(NORMAL)


def _kind_set(kinds: Iterable[EdgeKind] | None) -> tuple[EdgeKind, ...] | None:
    """``kinds`` as a tuple: membership in a short tuple is an identity test, while a set hashes
    each enum member through its Python-level ``__hash__``."""
    if kinds is None:
        return None
    return _NORMAL_KINDS if kinds is NORMAL else tuple(kinds)


def build_flow(plan: Plan) -> FlowGraph:
    """The control-flow graph of ``plan`` (spec §2)."""
    return _Builder(plan).build()


class _Builder:
    def __init__(self, plan: Plan) -> None:
        self.plan = plan
        self.vertices: list[Vertex] = [Vertex(node.index, node) for node in plan.nodes]
        self.phases: dict[int, int] = {}
        for node in plan.nodes:
            if isinstance(node, Menu):
                vid = len(self.vertices)
                self.vertices.append(Vertex(vid, node, phase=True))
                self.phases[node.index] = vid
        self.edges: list[Edge] = []
        #: indexes of the nodes in the flow (see :func:`in_flow`), parents before children
        self.flowing: set[int] = set()
        for node in plan.nodes:
            parent = node.parent
            if parent is None or (parent.index in self.flowing and _is_container(parent)):
                self.flowing.add(node.index)

    # -- helpers -------------------------------------------------------------------------------
    def vid(self, point: Node | InputPhase) -> int:
        if isinstance(point, InputPhase):
            return self.phases[point.menu.index]
        return point.index

    def add(
        self,
        source: int,
        point: Node | InputPhase | None,
        kind: EdgeKind,
        label: str = "",
        decision: tuple[int, str] | None = None,
    ) -> None:
        if point is None:  # falls off the root: implicit hangup (spec §2.1)
            self.edges.append(Edge(source, None, EdgeKind.END, label, decision, Ending.END_OF_PLAN))
            return
        self.edges.append(Edge(source, self.vid(point), kind, label, decision))

    def end(self, source: int, how: Ending) -> None:
        self.edges.append(Edge(source, None, EdgeKind.END, "", None, how))

    def first_or_after(self, container: Node, body: tuple[Node, ...]) -> Node | InputPhase | None:
        return body[0] if body else self.plan.after(container)

    # -- building ------------------------------------------------------------------------------
    def build(self) -> FlowGraph:
        flowing = self.flowing
        for node in self.plan.nodes:
            if node.index in flowing:
                self.tag(node)
        for node in self.plan.nodes:
            if isinstance(node, Menu) and node.index in flowing:
                self.input_phase(node)
        for node in self.plan.nodes:
            if isinstance(node, Catch) and node.index in flowing:
                self.catch_edges(node)
        out: dict[int, list[Edge]] = {}
        into: dict[int, list[Edge]] = {}
        for edge in self.edges:
            out.setdefault(edge.source, []).append(edge)
            if edge.target is not None:
                into.setdefault(edge.target, []).append(edge)
        return FlowGraph(
            self.plan,
            tuple(self.vertices),
            tuple(self.edges),
            self.plan.root.index,
            {k: tuple(v) for k, v in out.items()},
            {k: tuple(v) for k, v in into.items()},
            dict(self.phases),
        )

    def tag(self, node: Node) -> None:
        me = node.index
        after = self.plan.after
        if isinstance(node, Menu):
            target = node.prompts[0] if node.prompts else InputPhase(node)
            self.add(me, target, EdgeKind.NEXT)
        elif isinstance(node, Amd):
            for label, branch in (("live", node.live), ("machine", node.machine)):
                self.add(me, branch or after(node), EdgeKind.BRANCH, label, (me, label))
        elif isinstance(node, If):
            self.add(
                me, self.first_or_after(node, node.body), EdgeKind.BRANCH, "true", (me, "true")
            )
            self.add(me, node.orelse or after(node), EdgeKind.BRANCH, "false", (me, "false"))
        elif isinstance(node, Equal):
            self.add(
                me, self.first_or_after(node, node.children), EdgeKind.BRANCH, "true", (me, "true")
            )
            self.add(me, after(node), EdgeKind.BRANCH, "false", (me, "false"))
        elif isinstance(node, _BLOCKS):
            self.add(me, self.first_or_after(node, node.children), EdgeKind.NEXT)
        elif isinstance(node, Goto):
            jump = self.plan.goto_target(node)
            if jump is None:
                self.end(me, Ending.BROKEN_GOTO)
            else:
                self.add(me, jump, EdgeKind.GOTO, "goto")
        elif isinstance(node, Hangup):
            self.end(me, Ending.HANGUP)
        elif isinstance(node, GotoXML):
            self.end(me, Ending.GOTO_XML)
        elif isinstance(node, Transfer):
            self.add(me, after(node), EdgeKind.OUTCOME, "no answer")
            if node.continue_after:
                self.add(me, after(node), EdgeKind.OUTCOME, "answered")
            else:
                self.edges.append(
                    Edge(me, None, EdgeKind.END, "answered", None, Ending.TRANSFERRED)
                )
        else:
            self.add(me, after(node), EdgeKind.NEXT)

    def input_phase(self, menu: Menu) -> None:
        me = self.phases[menu.index]
        after = self.plan.after(menu)
        intercepted = intercepted_digits(menu)
        for keypress in selectable_keypresses(menu):
            pattern = keypress.pattern
            if entry_for(keypress, intercepted) is None:
                continue  # a digit catch takes every first key that could select it (§2.5)
            self.add(me, keypress, EdgeKind.BRANCH, pattern.key, (menu.index, pattern.key))
        kinds = {k.pattern.kind for k in menu.keypresses}
        if PatternKind.DEFAULT not in kinds:
            self.add(me, after, EdgeKind.BRANCH, "no match", (menu.index, "no match"))
        if PatternKind.TIMEOUT not in kinds:
            self.add(me, after, EdgeKind.BRANCH, "no input", (menu.index, "no input"))

    def catch_edges(self, catch: Catch) -> None:
        target = self.plan.goto_target(catch)
        if target is None:
            return
        label = "hangup caught" if catch.type == "hangup" else f"catch digit {catch.value}"
        decision = (catch.index, "fired")
        for node in catch.walk():
            if node is catch or node.index not in self.flowing or _shadowed(node, catch):
                continue
            self.add(node.index, target, EdgeKind.CATCH, label, decision)
            if isinstance(node, Menu):
                self.add(self.phases[node.index], target, EdgeKind.CATCH, label, decision)


def selectable_keypresses(menu: Menu) -> list[Keypress]:
    """The keypresses input can select: valid, first of duplicates, short enough (spec §3.3)."""
    seen: set[str] = set()
    chosen: list[Keypress] = []
    for keypress in menu.keypresses:
        pattern = keypress.pattern
        if pattern.kind is PatternKind.INVALID or pattern.key in seen:
            continue
        seen.add(pattern.key)
        if pattern.width > menu.max_digits:
            continue
        chosen.append(keypress)
    return chosen


def entry_for(
    keypress: Keypress, intercepted: set[str] | frozenset[str] = frozenset()
) -> str | None:
    """The shortest keys that select a literal/range ``keypress`` without their first key being
    taken by a digit catch (``intercepted``); None when there are none. ``default``/``timeout``
    give their own name."""
    pattern = keypress.pattern
    if pattern.kind is PatternKind.LITERAL:
        return None if pattern.text[0] in intercepted else pattern.text
    if pattern.kind is not PatternKind.RANGE:
        return str(pattern.kind.value)
    best: int | None = None
    for first in "0123456789":
        if first in intercepted:
            continue
        for width in range(1, len(str(pattern.hi)) + 1):
            if first == "0" and width > 1:
                break  # "0…" is not how the number is entered
            low = int(first) * 10 ** (width - 1)
            high = (int(first) + 1) * 10 ** (width - 1) - 1
            value = max(low, pattern.lo)
            if value <= min(high, pattern.hi):
                best = value if best is None else min(best, value)
                break
    return None if best is None else str(best)


def in_flow(node: Node) -> bool:
    """Whether ``node`` can ever run: every ancestor is a container tag (not text, not unknown)."""
    return all(_is_container(a) for a in node.ancestors())


_CONTAINERS = (Menu, Amd, If, Equal, *_BLOCKS)


def _is_container(node: Node) -> bool:
    return isinstance(node, _CONTAINERS)


def _shadowed(node: Node, catch: Catch) -> bool:
    """Whether an inner catch of the same kind takes the event first (innermost wins)."""
    for ancestor in node.ancestors():
        if ancestor is catch:
            return False
        if (
            isinstance(ancestor, Catch)
            and ancestor.type == catch.type
            and (catch.type != "digit" or ancestor.value == catch.value)
        ):
            return True
    return False


def intercepted_digits(menu: Menu) -> set[str]:
    """First keys a surrounding ``<catch type="digit">`` takes before ``menu`` sees them."""
    return {
        a.value for a in menu.ancestors() if isinstance(a, Catch) and a.type == "digit" and a.value
    }


def branch_points(plan: Plan, graph: FlowGraph | None = None) -> list[Branch]:
    """Every outcome of every decision in ``plan`` that a call can take, in document order.

    Labels (the second half of an engine ``decisions`` entry ``(node_index, label)``):

    * ``<menu>`` (node index of the menu): the selected keypress's pattern key — ``1``,
      ``1-3``, ``#``, ``default``, ``timeout`` (lower-case whatever the spelling) — or
      ``no match`` (input matched nothing and there is no ``default`` keypress) / ``no input``
      (timeout and there is no ``timeout`` keypress); both then continue after the menu.
      Keypresses that can never be selected (invalid, duplicate, longer than ``maxDigits``, first
      key taken by a digit catch) are not listed.
    * ``<amd>``: ``live`` / ``machine``.
    * ``<if>``, ``<equal>``, ``<notEqual>``: ``true`` (its children run) / ``false``.
    * ``<catch>``: ``fired`` (its event happened and it jumped to its target).
    """
    graph = graph or build_flow(plan)
    seen: dict[tuple[int, str], Branch] = {}
    for edge in graph.edges:
        if edge.decision is None or edge.decision in seen:
            continue
        index, label = edge.decision
        node = plan.nodes[index]
        seen[edge.decision] = Branch(index, label, node.loc, _describe(node, label))
    return sorted(
        seen.values(), key=lambda b: (b.node_index, _order(plan.nodes[b.node_index], b.label))
    )


def _order(node: Node, label: str) -> int:
    if isinstance(node, Menu):
        keys = [k.pattern.key for k in node.keypresses]
        return keys.index(label) if label in keys else len(keys) + (label == "no input")
    return {"true": 0, "live": 0, "false": 1, "machine": 1}.get(label, 0)


def _describe(node: Node, label: str) -> str:
    if isinstance(node, Menu):
        if label == "no match":
            return f"{node.label}: a key matching no branch (continues after the menu)"
        if label == "no input":
            return f"{node.label}: no key before the timeout (continues after the menu)"
        if label in ("default", "timeout"):
            return f"{node.label}: {label} branch"
        return f"{node.label}: key {label}"
    if isinstance(node, Amd):
        return f"{node.label}: answered by a {'person' if label == 'live' else 'machine'}"
    if isinstance(node, Catch):
        what = "caller hangs up" if node.type == "hangup" else f"caller presses {node.value}"
        return f"{node.label}: {what}"
    if isinstance(node, If):
        return f'{node.label} expr="{node.expr}" is {label}'
    if isinstance(node, Equal):
        return f"{node.label} ({node.var} vs {node.expr}) is {label}"
    return f"{node.label}: {label}"


def coverage(
    plan: Plan, taken: Iterable[tuple[int, str]], graph: FlowGraph | None = None
) -> list[Branch]:
    """The branch points of ``plan`` that none of the ``taken`` decisions covers.

    ``taken`` is the union of the ``decisions`` lists ``(node_index, label)`` of the simulated
    calls; labels are those of :func:`branch_points` (``default``/``timeout`` in any case).
    """
    covered = {
        (index, label.lower() if label.lower() in _CASELESS else label) for index, label in taken
    }
    return [b for b in branch_points(plan, graph) if (b.node_index, b.label) not in covered]


_CASELESS = frozenset(
    {"default", "timeout", "no match", "no input", "live", "machine", "true", "false", "fired"}
)
