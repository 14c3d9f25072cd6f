"""Pictures of a dialplan's control flow: Graphviz DOT and Mermaid text from the flow graph.

The picture is a condensed view of :class:`~dialplan.model.flow.FlowGraph`: a menu is one box
(its spoken prompts summarised, its input phase folded in) with one labelled edge per key;
branch wrappers (`keypress`, `live`, `machine`, `else`) and `goto` tags become edges (gotos
dashed); `amd`/`if`/`equal` are diamonds; hangups and the other ways a call ends are terminal
shapes. A catch is drawn once, as a dotted edge from the catch to its handler. Tags that can
never run are drawn grey. Pure functions of the plan: no I/O here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ..model import (
    Amd,
    Catch,
    Dialplan,
    Else,
    Equal,
    Goto,
    Hangup,
    Http,
    If,
    Keypress,
    Live,
    Machine,
    Menu,
    Node,
    Play,
    Record,
    Setvar,
    Sms,
    Stash,
    Transfer,
)
from ..model.flow import NORMAL, EdgeKind, Ending, FlowGraph, build_flow, in_flow
from ..model.plan import Plan

#: How many words of a TTS prompt a picture shows.
PROMPT_WORDS = 7

_HIDDEN = (Keypress, Live, Machine, Else, Goto)

_TERMINALS: dict[Ending, tuple[str, str]] = {
    Ending.END_OF_PLAN: ("end_plan", "end of plan\n(implicit hangup)"),
    Ending.TRANSFERRED: ("end_bridged", "bridged:\ncall ends with the transfer"),
    Ending.GOTO_XML: ("end_gotoxml", "another dialplan\n(gotoXML)"),
    Ending.BROKEN_GOTO: ("end_broken", "unresolved goto"),
}


@dataclass(slots=True)
class Box:
    """One shape of the picture."""

    key: str
    label: str  # lines joined with "\n"
    shape: str  # start | menu | action | decision | transfer | hangup | terminal
    dead: bool = False


@dataclass(slots=True)
class Arrow:
    source: str
    target: str
    labels: list[str] = field(default_factory=list)
    style: str = "solid"  # solid | dashed (through a goto) | dotted (a catch)


@dataclass(slots=True)
class Picture:
    """The condensed flow: boxes in document order, arrows in discovery order."""

    title: str
    boxes: list[Box]
    arrows: list[Arrow]


def summarize(text: str, words: int = PROMPT_WORDS) -> str:
    """The first ``words`` words of ``text`` (whitespace collapsed), with … when cut."""
    parts = text.split()
    cut = " ".join(parts[:words])
    return cut + ("…" if len(parts) > words else "")


def picture(plan: Plan, graph: FlowGraph | None = None) -> Picture:
    """The condensed picture of ``plan``'s control flow."""
    return _Drawer(plan, graph or build_flow(plan)).draw()


class _Drawer:
    def __init__(self, plan: Plan, graph: FlowGraph) -> None:
        self.plan = plan
        self.graph = graph
        self.live = graph.reachable_from_start()
        #: vertex id → box key for every vertex that is drawn (or folded into a drawn box)
        self.owner: dict[int, str] = {}
        self.boxes: dict[str, Box] = {}
        self.arrows: dict[tuple[str, str, str], Arrow] = {}
        self.forced: set[int] = set()

    # -- which vertices become boxes -----------------------------------------------------------
    def draw(self) -> Picture:
        for vertex in self.graph.vertices:
            node = vertex.node
            if vertex.phase or not in_flow(node) or isinstance(node, _HIDDEN):
                continue
            if isinstance(node, Menu):
                self.menu_box(node)
            elif node.index not in self.owner:
                self.box_for(vertex.id)
        pending = sorted({self.graph.vertices[v].id for v in self.owner})
        done: set[int] = set()
        while pending:
            for vid in pending:
                self.arrows_from(vid)
                done.add(vid)
            pending = sorted(set(self.owner) - done)
        boxes = sorted(self.boxes.values(), key=_box_order)
        rank = {box.key: i for i, box in enumerate(boxes)}
        arrows = sorted(self.arrows.values(), key=lambda a: rank[a.source])  # stable
        title = self.plan.root.name or "dialplan"
        return Picture(title, boxes, arrows)

    def menu_box(self, menu: Menu) -> None:
        key = f"n{menu.index}"
        members = [menu.index]
        spoken = []
        folded_all = True
        for prompt in menu.prompts:
            if isinstance(prompt, Play):
                members.append(prompt.index)
                spoken.append(_play_text(prompt))
            else:
                folded_all = False
                break
        if folded_all:
            members.append(self.graph.input_phase(menu).id)
        title = f"menu {menu.name}" if menu.name else "menu"
        lines = [title, *(f"“{s}”" for s in spoken[:2])]
        if len(spoken) > 2:
            lines.append(f"(+{len(spoken) - 2} more prompts)")
        self.add_box(Box(key, "\n".join(lines), "menu", menu.index not in self.live), members)
        if not folded_all:
            phase = self.graph.input_phase(menu)
            label = f"{menu.name or 'menu'}: wait for keys"
            self.add_box(
                Box(f"i{menu.index}", label, "decision", phase.id not in self.live), [phase.id]
            )

    def add_box(self, box: Box, members: list[int]) -> None:
        self.boxes[box.key] = box
        for vid in members:
            self.owner[vid] = box.key

    def box_for(self, vid: int) -> str:
        """The box key of a vertex drawn on its own (made on first use)."""
        if vid in self.owner:
            return self.owner[vid]
        vertex = self.graph.vertices[vid]
        node = vertex.node
        label, shape = _describe(node)
        self.add_box(Box(f"n{node.index}", label, shape, vid not in self.live), [vid])
        return self.owner[vid]

    def terminal(self, ending: Ending) -> str:
        key, label = _TERMINALS[ending]
        if key not in self.boxes:
            self.boxes[key] = Box(key, label, "terminal")
        return key

    # -- arrows ----------------------------------------------------------------------------------
    def arrows_from(self, vid: int) -> None:
        source = self.owner[vid]
        node = self.graph.vertices[vid].node
        for edge in self.graph.successors(vid, NORMAL):
            if edge.target is None and edge.ending is Ending.HANGUP:
                continue  # the hangup box is itself terminal
            self.follow(source, edge.label, edge.kind, edge.target, edge.ending)
        if isinstance(node, Catch) and not self.graph.vertices[vid].phase:
            target = self.plan.goto_target(node)
            if target is not None:
                what = "hangup caught" if node.type == "hangup" else f"digit {node.value}"
                self.connect(source, self.box_for(target.index), what, "dotted")

    def follow(
        self,
        source: str,
        label: str,
        kind: EdgeKind,
        target: int | None,
        ending: Ending | None,
    ) -> None:
        style = "dashed" if kind is EdgeKind.GOTO else "solid"
        seen: set[int] = set()
        while target is not None and target not in self.owner and target not in self.forced:
            node = self.graph.vertices[target].node
            if target in seen or not isinstance(node, _HIDDEN):
                self.forced.add(target)
                break
            seen.add(target)
            edge = next(self.graph.successors(target, NORMAL), None)
            if edge is None:
                break
            if edge.kind is EdgeKind.GOTO:
                style = "dashed"
            label = label or (edge.label if edge.kind is not EdgeKind.GOTO else "")
            target, ending = edge.target, edge.ending
        if target is None:
            if ending is None or ending is Ending.HANGUP:
                return
            self.connect(source, self.terminal(ending), label, style)
            return
        destination = self.box_for(target)
        if destination == source and style == "solid" and not label:
            return  # sequence inside one box (a menu's prompts)
        self.connect(source, destination, label, style)

    def connect(self, source: str, target: str, label: str, style: str) -> None:
        arrow = self.arrows.setdefault((source, target, style), Arrow(source, target, style=style))
        if label and label not in arrow.labels:
            arrow.labels.append(label)


_TERMINAL_ORDER = [key for key, _ in _TERMINALS.values()]


def _box_order(box: Box) -> tuple[int, int]:
    m = re.fullmatch(r"[ni](\d+)", box.key)
    if m:
        return (0, int(m.group(1)) * 2 + (box.key[0] == "i"))
    return (1, _TERMINAL_ORDER.index(box.key))


def _play_text(play: Play) -> str:
    raw = str(play.value)
    if play.kind == "tts":
        return summarize(raw)
    tail = raw.rstrip("/").rsplit("/", 1)[-1]
    return f"{play.kind} {summarize(tail, 3)}"


def _describe(node: Node) -> tuple[str, str]:
    """Label lines and shape of a tag drawn on its own."""
    name = f" {node.name}" if node.name else ""
    if isinstance(node, Dialplan):
        return (f"start{name}", "start")
    if isinstance(node, Play):
        return (f"play{name}\n“{_play_text(node)}”", "action")
    if isinstance(node, Amd):
        return (f"AMD{name}\nlive or machine?", "decision")
    if isinstance(node, If):
        return (f"if{name}\n{summarize(str(node.expr), 6)}", "decision")
    if isinstance(node, Equal):
        op = "≠" if node.negate else "="
        return (f"{node.raw_tag}{name}\n{node.var} {op} {summarize(str(node.expr), 4)}", "decision")
    if isinstance(node, Hangup):
        return (f"hangup{name}", "hangup")
    if isinstance(node, Transfer):
        how = " (then back)" if node.continue_after else ""
        return (f"transfer{name}\n{summarize(str(node.numbers), 3)}{how}", "transfer")
    if isinstance(node, (Stash, Setvar)):
        value = summarize(str(node.value), 4)
        return (f"{node.raw_tag}{name}\n{node.varname} = {value}", "action")
    if isinstance(node, Record):
        into = f" → ${{{node.varname}}}" if node.varname else ""
        return (f"record{name}{into}", "action")
    if isinstance(node, Http):
        return (f"{node.method}{name}\n{summarize(str(node.url), 2)}", "action")
    if isinstance(node, Sms):
        return (f"sms{name} to {node.to}", "action")
    if isinstance(node, Catch):
        what = "hangup" if node.type == "hangup" else f"digit {node.value}"
        return (f"catch {what}{name}", "action")
    text = f"\n{summarize(node.text, 3)}" if node.text else ""
    return (f"{node.raw_tag}{name}{text}", "action")


# -- Graphviz DOT ---------------------------------------------------------------------------------

DOT_SHAPES = {
    "start": 'shape=circle, style=filled, fillcolor="#d9ead3"',
    "menu": 'shape=box, style="rounded,filled", fillcolor="#cfe2f3", penwidth=1.5',
    "action": "shape=box",
    "decision": 'shape=diamond, style=filled, fillcolor="#fff2cc"',
    "transfer": 'shape=cds, style=filled, fillcolor="#ead1dc"',
    "hangup": 'shape=octagon, style=filled, fillcolor="#f4cccc"',
    "terminal": 'shape=doubleoctagon, style=filled, fillcolor="#efefef"',
}


def _dot_quote(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'


def to_dot(pic: Picture) -> str:
    """Graphviz DOT text of a picture (render with ``dot -Tsvg``)."""
    lines = [
        f"digraph {_dot_quote(pic.title)} {{",
        '  graph [rankdir=TB, fontname="Helvetica", nodesep=0.4, ranksep=0.45];',
        '  node [fontname="Helvetica", fontsize=10];',
        '  edge [fontname="Helvetica", fontsize=9];',
    ]
    for box in pic.boxes:
        extra = ', color="#999999", fontcolor="#999999", style=dashed' if box.dead else ""
        lines.append(
            f"  {box.key} [label={_dot_quote(box.label)}, {DOT_SHAPES[box.shape]}{extra}];"
        )
    for arrow in pic.arrows:
        attrs = []
        if arrow.labels:
            attrs.append(f"label={_dot_quote(' / '.join(arrow.labels))}")
        if arrow.style != "solid":
            attrs.append(f"style={arrow.style}")
        suffix = f" [{', '.join(attrs)}]" if attrs else ""
        lines.append(f"  {arrow.source} -> {arrow.target}{suffix};")
    lines.append("}")
    return "\n".join(lines) + "\n"


# -- Mermaid --------------------------------------------------------------------------------------

_MERMAID_SHAPES = {
    "start": ("((", "))"),
    "menu": ("(", ")"),
    "action": ("[", "]"),
    "decision": ("{", "}"),
    "transfer": (">", "]"),
    "hangup": ("{{", "}}"),
    "terminal": ("([", "])"),
}


def _mermaid_text(text: str) -> str:
    escaped = (
        text.replace("#", "#35;")
        .replace("&", "#amp;")
        .replace('"', "#quot;")
        .replace("<", "#lt;")
        .replace(">", "#gt;")
        .replace("\n", "<br/>")
    )
    return f'"{escaped}"'


def to_mermaid(pic: Picture) -> str:
    """Mermaid ``flowchart`` text of a picture."""
    lines = ["flowchart TD"]
    for box in pic.boxes:
        left, right = _MERMAID_SHAPES[box.shape]
        lines.append(f"  {box.key}{left}{_mermaid_text(box.label)}{right}")
    for arrow in pic.arrows:
        link = "-->" if arrow.style == "solid" else "-.->"
        label = f"|{_mermaid_text(' / '.join(arrow.labels))}|" if arrow.labels else ""
        lines.append(f"  {arrow.source} {link}{label} {arrow.target}")
    dead = [b.key for b in pic.boxes if b.dead]
    if dead:
        lines.append("  classDef dead stroke-dasharray: 5 5,color:#999999")
        lines.append(f"  class {','.join(dead)} dead")
    return "\n".join(lines) + "\n"
