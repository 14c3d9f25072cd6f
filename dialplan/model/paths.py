"""The distinct routes through a dialplan, with the caller inputs that drive each one.

A route starts at the root and follows the control-flow graph (:mod:`dialplan.model.flow`)
until the call ends (hangup, transfer bridged, end of plan, gotoXML) or a loop is cut. At each
decision the route records what makes it go that way: the AMD verdict, the keys to press at a
menu (or ``timeout``), and — for conditions that depend on data — an assumption (an ``if`` is
true, a transfer was not answered). Loops are bounded: each back-edge (an edge to a tag already on
the route) may be taken at most ``max_loops`` times per route.

Like ``dialplan simulate``, a route has one AMD verdict and one transfer outcome (``answered`` or
``no answer``) for the whole call. Catches are taken where a menu waits for input: a digit catch
by pressing its digit, a hangup catch by the caller hanging up (``--input hangup``); after that
the line is gone, so menus, prompts, recordings and transfers are skipped (spec §2.5).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from itertools import product

from ..diagnostics import Location
from .flow import (
    NORMAL,
    Edge,
    EdgeKind,
    Ending,
    FlowGraph,
    Vertex,
    build_flow,
    entry_for,
    intercepted_digits,
)
from .nodes import Amd, Catch, Equal, If, Menu, Transfer
from .plan import Plan

LOOP_CUT = "loop cut"
LENGTH_CUT = "length cut"
CALLER_HANGUP = "caller hangup"
#: Default bound on the decisions listed over all routes (and on one route's length): a plan of
#: thousands of chained menus has routes thousands of steps long, and listing a thousand of
#: them would print millions of lines.
MAX_STEPS = 20_000


@dataclass(frozen=True, slots=True)
class Step:
    """One decision on a route.

    ``kind``: ``amd`` (``value`` live/machine), ``input`` (``value`` the keys, or ``timeout``),
    ``catch`` (``value`` the digit a digit catch takes, or ``hangup``), ``transfer`` (``value``
    answered / no answer), ``assume`` (``value`` true/false of an if/equal condition).
    """

    kind: str
    node_index: int
    label: str  # the decision's coverage label (see flow.branch_points), or the outcome
    value: str
    loc: Location
    what: str  # how the node is named to people: <menu name="main">, <if expr="…">


@dataclass(frozen=True, slots=True)
class Route:
    steps: tuple[Step, ...]
    ending: str  # an Ending value, "caller hangup" (a hangup catch ran) or "loop cut"
    end_loc: Location
    end_what: str

    @property
    def amd(self) -> str | None:
        return next((s.value for s in self.steps if s.kind == "amd"), None)

    @property
    def inputs(self) -> tuple[str, ...]:
        """One entry per menu the route waits at: keys to press, or ``timeout``."""
        return tuple(s.value for s in self.steps if s.kind in ("input", "catch"))

    @property
    def assumptions(self) -> tuple[str, ...]:
        return tuple(
            f"{s.what} (line {s.loc.line}) is {s.value}" for s in self.steps if s.kind == "assume"
        )

    @property
    def transfer(self) -> str | None:
        return next((s.value for s in self.steps if s.kind == "transfer"), None)

    def simulate_args(self) -> list[str]:
        """The ``dialplan simulate`` options that replay this route (if/equal outcomes aside)."""
        args: list[str] = []
        if self.amd:
            args += ["--amd", self.amd]
        if self.transfer:
            args += ["--transfer", self.transfer.replace(" ", "_")]
        for value in self.inputs:
            args += ["--input", value]
        return args


@dataclass(frozen=True, slots=True)
class Routes:
    routes: tuple[Route, ...]
    #: True when enumeration stopped at the route limit or at the step budget
    truncated: bool = False
    max_loops: int = 1
    #: True when it stopped (or cut a route) because of the step budget ``max_steps``
    size_limited: bool = False


@dataclass(slots=True)
class _Frame:
    vid: int
    choices: list[Edge]
    i: int = 0
    step: bool = False
    back: tuple[int, int | None, str] | None = None
    #: state this frame set (and must clear when it is left)
    sets: tuple[str, ...] = ()


def enumerate_routes(
    plan: Plan,
    graph: FlowGraph | None = None,
    max_loops: int = 1,
    limit: int = 1000,
    max_steps: int = MAX_STEPS,
) -> Routes:
    """Every distinct route from the start, loops bounded by ``max_loops`` (at most ``limit``).

    Enumeration also stops once the routes found hold ``max_steps`` steps in all, and a route
    that reaches ``max_steps`` steps on its own ends there (``LENGTH_CUT``).
    """
    graph = graph or build_flow(plan)
    return _Walker(plan, graph, max(0, max_loops), max(1, limit), max(1, max_steps)).run()


class _Walker:
    def __init__(
        self, plan: Plan, graph: FlowGraph, max_loops: int, limit: int, max_steps: int
    ) -> None:
        self.plan = plan
        self.graph = graph
        self.max_loops = max_loops
        self.limit = limit
        self.max_steps = max_steps
        self.listed = 0
        self.size_limited = False
        self.found: list[Route] = []
        self.steps: list[Step] = []
        self.on_path: Counter[int] = Counter()
        self.back: Counter[tuple[int, int | None, str]] = Counter()
        #: one AMD verdict and one transfer outcome per call; whether the caller has hung up
        self.state: dict[str, str] = {}

    def run(self) -> Routes:
        start = self.graph.start
        stack = [_Frame(start, self.choices(self.graph.vertices[start]))]
        self.on_path[start] += 1
        truncated = False
        while stack:
            if len(self.found) >= self.limit or self.listed >= self.max_steps:
                truncated = True
                self.size_limited = self.listed >= self.max_steps
                break
            frame = stack[-1]
            if frame.i >= len(frame.choices):
                stack.pop()
                self.leave(frame)
                continue
            edge = frame.choices[frame.i]
            frame.i += 1
            step = self.step_for(edge)
            if edge.target is None:
                self.emit(step, edge.ending.value if edge.ending else "end", edge.source)
                continue
            key = (edge.source, edge.target, edge.label)
            is_back = self.on_path[edge.target] > 0
            if is_back and self.back[key] >= self.max_loops:
                self.emit(step, LOOP_CUT, edge.target)
                continue
            if step is not None and len(self.steps) + 1 >= self.max_steps:
                self.size_limited = True
                self.emit(step, LENGTH_CUT, edge.target)
                continue
            target = self.graph.vertices[edge.target]
            new = _Frame(edge.target, [])
            if step is not None:
                self.steps.append(step)
                new.step = True
                key_of = {"amd": "amd", "transfer": "transfer"}.get(step.kind)
                if step.kind == "catch" and step.value == "hangup":
                    key_of = "hangup"
                if key_of and key_of not in self.state:
                    self.state[key_of] = step.value
                    new.sets = (key_of,)
            if is_back:
                self.back[key] += 1
                new.back = key
            self.on_path[edge.target] += 1
            new.choices = self.choices(target)
            stack.append(new)
        return Routes(tuple(self.found), truncated, self.max_loops, self.size_limited)

    def leave(self, frame: _Frame) -> None:
        self.on_path[frame.vid] -= 1
        if frame.step:
            self.steps.pop()
        if frame.back is not None:
            self.back[frame.back] -= 1
        for key in frame.sets:
            del self.state[key]

    def emit(self, step: Step | None, ending: str, at: int) -> None:
        if "hangup" in self.state and ending not in (LOOP_CUT, LENGTH_CUT):
            ending = CALLER_HANGUP  # the handler ran to its end; the call was already gone
        steps = (*self.steps, step) if step is not None else tuple(self.steps)
        self.listed += len(steps)
        vertex = self.graph.vertices[at]
        self.found.append(Route(steps, ending, vertex.loc, str(vertex)))

    def choices(self, vertex: Vertex) -> list[Edge]:
        node = vertex.node
        if "hangup" in self.state:
            return self.line_down(vertex)
        edges = list(self.graph.successors(vertex.id, NORMAL))
        if vertex.phase:
            edges += [e for e in self.graph.successors(vertex.id, [EdgeKind.CATCH])]
        elif isinstance(node, Amd) and "amd" in self.state:
            edges = [e for e in edges if e.label == self.state["amd"]]
        elif isinstance(node, Transfer) and "transfer" in self.state:
            edges = [e for e in edges if e.label == self.state["transfer"]]
        return edges

    def line_down(self, vertex: Vertex) -> list[Edge]:
        """After the caller hung up: tags that need the line are skipped (spec §2.5)."""
        node = vertex.node
        if vertex.phase or isinstance(node, Menu):
            after = self.plan.after(node)
            if after is None:
                return [Edge(vertex.id, None, EdgeKind.END, "", None, Ending.END_OF_PLAN)]
            return [Edge(vertex.id, self.graph.vertex(after).id, EdgeKind.NEXT)]
        edges = list(self.graph.successors(vertex.id, NORMAL))
        if isinstance(node, Transfer):
            edges = [e for e in edges if e.label == "no answer"]
        return edges

    def step_for(self, edge: Edge) -> Step | None:
        vertex = self.graph.vertices[edge.source]
        node = vertex.node
        if vertex.phase and isinstance(node, Menu):
            if edge.kind is EdgeKind.CATCH:
                catch = self.plan.nodes[edge.decision[0]]  # type: ignore[index]
                assert isinstance(catch, Catch)
                value = "hangup" if catch.type == "hangup" else catch.value or ""
                return Step("catch", catch.index, "fired", value, node.loc, str(vertex))
            assert edge.decision is not None
            label = edge.decision[1]
            return Step("input", node.index, label, _keys_for(node, label), node.loc, node.label)
        if isinstance(node, Amd):
            return Step("amd", node.index, edge.label, edge.label, node.loc, node.label)
        if isinstance(node, (If, Equal)):
            what = (
                f'<{node.raw_tag} expr="{node.expr}">'
                if isinstance(node, If)
                else f'<{node.raw_tag} var="{node.var}" expr="{node.expr}">'
            )
            return Step("assume", node.index, edge.label, edge.label, node.loc, what)
        if isinstance(node, Transfer) and "hangup" not in self.state:
            return Step("transfer", node.index, edge.label, edge.label, node.loc, node.label)
        return None


_KEYS = "0123456789*"


def _keys_for(menu: Menu, label: str) -> str:
    """Keys that make ``menu`` take the branch ``label`` (spec §2.3, §3.3)."""
    if label in ("timeout", "no input"):
        return "timeout"
    if label in ("default", "no match"):
        return _unmatched(menu)
    keypress = next(k for k in menu.keypresses if k.pattern.key == label)
    keys = entry_for(keypress, intercepted_digits(menu)) or keypress.pattern.text
    # a shorter entry than maxDigits is ended with # (not part of the input)
    return keys + "#" if len(keys) < menu.max_digits and keys != "#" else keys


def _unmatched(menu: Menu) -> str:
    """A key string that no literal/range of ``menu`` matches and no digit catch takes."""
    caught = intercepted_digits(menu)
    patterns = [k.pattern for k in menu.keypresses]
    for width in range(1, max(menu.max_digits, 1) + 1):
        for combo in product(_KEYS, repeat=width):
            keys = "".join(combo)
            if keys[0] in caught or any(p.matches(keys) for p in patterns):
                continue
            return keys + "#" if width < menu.max_digits else keys
        if width >= 3:
            break
    return "#"
