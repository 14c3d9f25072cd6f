"""A plan compiled for execution: continuation, entry, path and catch tables, built once per plan.

Everything here is derived from the model (``Plan.after`` and the tree); the session only does
dictionary lookups while a call runs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..model import (
    Catch,
    Dialplan,
    Else,
    Equal,
    If,
    InputPhase,
    Keypress,
    Live,
    Machine,
    Menu,
    Node,
    PatternKind,
    Plan,
    Play,
    Setvar,
    Stash,
)
from ..model.tags import LINE_TAG_NAMES
from . import effects as fx
from .handlers import ENTER

Next = Node | InputPhase | None
Step = tuple[Callable[[Any, Any], None] | None, Next, bool]


@dataclass(frozen=True, slots=True)
class MenuTable:
    """One menu's branch selection table (spec §3.3 precedence)."""

    literals: dict[str, Keypress]
    ranges: tuple[Keypress, ...]
    default: Keypress | None
    timeout: Keypress | None
    phase: InputPhase
    #: decision label of each keypress (its pattern key)
    labels: dict[Keypress, str]
    #: the menu's ``CollectDigits`` effects by collect id, shared by every call of the plan
    #: (ids below ``fx.SHARED_PLAY_IDS`` only)
    collects: dict[int, fx.CollectDigits] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class PlaySpec:
    """What a ``<play>`` needs at run time, worked out once per plan."""

    #: the enclosing menu when the play is one of its prompts (barge-in allowed), else None
    menu: Menu | None
    #: the text to play when it has no ``${…}`` (already stripped), else None: render per call
    text: str | None
    #: ``call.path`` of the play tag
    path: str
    #: the ``Play`` effects of a constant text by play id, shared by every call of the plan
    #: (effects are immutable; ids below ``fx.SHARED_PLAY_IDS`` only)
    effects: dict[int, fx.Play] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, eq=False)
class Program:
    plan: Plan
    #: what runs after a node finished normally (spec §2.1)
    after: dict[Node, Next]
    #: what runs when a container is entered: its first child (or what follows it when empty)
    enter: dict[Node, Next]
    #: ``call.path`` of each node
    path: dict[Node, str]
    #: enclosing catches of each node, innermost first (only nodes inside a catch)
    catches: dict[Node, tuple[Catch, ...]]
    menus: dict[Node, MenuTable]
    plays: dict[Node, PlaySpec]
    #: plain blocks (dialplan, keypress, live, machine, else, catch) → their first child; the
    #: run loop enters them without a handler call (empty blocks are left to the handler)
    blocks: dict[Node, Node | InputPhase]
    #: the run loop's view of each node, one lookup per step: ``(enter, next, needs_line)`` —
    #: the handler's ``enter`` (None for a plain block: ``next`` is then its first child), the
    #: normal continuation, and whether the tag is skipped once the caller hung up (spec §2.5)
    steps: dict[Node, Step]
    #: the variable name of each ``<setvar>``/``<stash>`` whose varname has no ``${…}``
    #: (stripped); the others are rendered per call
    names: dict[Node, str]


_PLAIN_BLOCKS = (Dialplan, Keypress, Live, Machine, Else, Catch)
_BLOCKS = (*_PLAIN_BLOCKS, Equal)


def compile_plan(plan: Plan) -> Program:
    after: dict[Node, Next] = {}
    enter: dict[Node, Next] = {}
    path: dict[Node, str] = {}
    catches: dict[Node, tuple[Catch, ...]] = {}
    menus: dict[Node, MenuTable] = {}
    plays: dict[Node, PlaySpec] = {}
    for node in plan.nodes:
        after[node] = plan.after(node)
    for node in plan.nodes:
        if isinstance(node, Menu):
            phase = InputPhase(node)
            enter[node] = node.prompts[0] if node.prompts else phase
            literals: dict[str, Keypress] = {}
            ranges: list[Keypress] = []
            default = timeout = None
            for kp in node.keypresses:
                kind = kp.pattern.kind
                if kind is PatternKind.LITERAL:
                    literals.setdefault(kp.pattern.text, kp)
                elif kind is PatternKind.RANGE:
                    ranges.append(kp)
                elif kind is PatternKind.DEFAULT:
                    default = default or kp
                elif kind is PatternKind.TIMEOUT:
                    timeout = timeout or kp
            labels = {kp: kp.pattern.key for kp in node.keypresses}
            menus[node] = MenuTable(literals, tuple(ranges), default, timeout, phase, labels)
        elif isinstance(node, If):
            enter[node] = node.body[0] if node.body else after[node]
        elif isinstance(node, _BLOCKS):
            enter[node] = node.children[0] if node.children else after[node]
        path[node] = _path(node)
        if isinstance(node, Play):
            menu = node.parent if isinstance(node.parent, Menu) else None
            text = node.value.placeholder().strip() if node.value.is_constant else None
            plays[node] = PlaySpec(menu, text, path[node])
        scope = tuple(a for a in node.ancestors() if isinstance(a, Catch))
        if scope:
            catches[node] = scope
    blocks: dict[Node, Node | InputPhase] = {
        node: first
        for node, first in enter.items()
        if isinstance(node, _PLAIN_BLOCKS) and first is not None
    }
    steps: dict[Node, Step] = {}
    for node in plan.nodes:
        first = blocks.get(node)
        if first is not None:
            steps[node] = (None, first, False)
        else:
            steps[node] = (ENTER[type(node)], after[node], node.tag in LINE_TAG_NAMES)
    names: dict[Node, str] = {
        node: node.varname.placeholder().strip()
        for node in plan.nodes
        if isinstance(node, Setvar | Stash) and node.varname.is_constant
    }
    return Program(plan, after, enter, path, catches, menus, plays, blocks, steps, names)


def _step(node: Node) -> str:
    if node.name:
        return node.name
    parent = node.parent
    if parent is None:
        return node.raw_tag
    same = [c for c in parent.children if c.tag == node.tag]
    return f"{node.raw_tag}[{same.index(node) + 1}]"


def _path(node: Node) -> str:
    steps = [_step(node)]
    steps.extend(_step(a) for a in node.ancestors())
    return "/".join(reversed(steps))


_cache: dict[int, Program] = {}
_CACHE_SIZE = 64


def program_for(plan: Plan) -> Program:
    """The compiled form of ``plan`` (cached: a campaign runs one plan many times)."""
    program = _cache.get(id(plan))
    if program is not None and program.plan is plan:
        return program
    program = compile_plan(plan)
    if len(_cache) >= _CACHE_SIZE:
        _cache.pop(next(iter(_cache)))
    _cache[id(plan)] = program
    return program
