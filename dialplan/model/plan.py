"""A whole dialplan: the node tree plus its name index and document-order node list."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .build import build_nodes
from .nodes import Amd, Catch, Else, Goto, If, Keypress, Live, Machine, Menu, Node

if TYPE_CHECKING:  # the model reads a parsed document; it never parses
    from ..parse import ParsedDocument


@dataclass(frozen=True, slots=True)
class InputPhase:
    """Not a tag: the moment a menu's prompts are done and it waits for digits (spec §2.3)."""

    menu: Menu


#: branch wrapper → the container it belongs to (a misplaced one, E005, is a plain block)
_BRANCHES: dict[type[Node], type[Node]] = {Keypress: Menu, Live: Amd, Machine: Amd, Else: If}


@dataclass(frozen=True, slots=True, eq=False)
class Plan:
    """The model of one dialplan file. ``names`` maps each name to its first node."""

    source: str
    root: Node
    nodes: tuple[Node, ...]
    names: Mapping[str, Node]
    #: node index → the next node of its block (filled per block on first use; keeps after() linear)
    _next: dict[int, Node | None] = field(default_factory=dict, repr=False)

    def resolve(self, target: str) -> Node | None:
        """The node a goto/catch target names (exact, case-sensitive, spec §2.2)."""
        return self.names.get(target.strip())

    def goto_target(self, node: Goto | Catch) -> Node | None:
        return self.resolve(node.target if isinstance(node, Goto) else node.goto)

    def next_sibling(self, node: Node) -> Node | None:
        """The node after ``node`` in its parent's children (None at the end)."""
        parent = node.parent
        if parent is None:
            return None
        siblings = parent.children
        i = next(i for i, c in enumerate(siblings) if c is node)
        return siblings[i + 1] if i + 1 < len(siblings) else None

    def after(self, node: Node) -> Node | InputPhase | None:
        """What runs when ``node`` has finished normally (spec §2.1 completion rules).

        A node, a menu's :class:`InputPhase`, or None when the call falls off the root (implicit
        hangup). Jumps use the same rule (spec §2.2 continuation rule): the target's real ancestors
        decide what follows it.
        """
        current = node
        while current.parent is not None:
            parent = current.parent
            if isinstance(parent, _BRANCHES.get(type(current), ())):
                # a finished branch body continues after its menu / amd / if
                current = parent
                continue
            if isinstance(parent, Menu):
                siblings: tuple[Node, ...] = parent.prompts
            elif isinstance(parent, If):
                siblings = parent.body
            else:
                siblings = parent.children
            if current.index not in self._next:
                for i, sibling in enumerate(siblings):
                    self._next[sibling.index] = siblings[i + 1] if i + 1 < len(siblings) else None
            following = self._next.get(current.index)
            if following is not None:
                return following
            if isinstance(parent, Menu):
                return InputPhase(parent)
            current = parent
        return None


def build_plan(doc: ParsedDocument) -> Plan:
    root = build_nodes(doc)
    nodes = tuple(root.walk())
    names: dict[str, Node] = {}
    for node in nodes:
        if node.name is not None:
            names.setdefault(node.name, node)
    return Plan(doc.source.name, root, nodes, names)
