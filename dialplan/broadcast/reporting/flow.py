"""The call flow figure of the report: the dialplan's flow picture and its legend as inline SVG.

Graphviz draws both (``pictures.flow.to_dot`` through ``pictures.svg.render_svg``, under its memory cap and timeout, and only for plans
small enough to read as a picture). Its SVG is re-serialised with lxml so that the page keeps
what it promises: no scripts, no links, no event handlers, ids unique in the page; the width and
height Graphviz writes become ``width="100%"`` so the picture scales to the window (the viewBox
keeps its proportions).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from lxml import etree

from ...errors import DialplanError
from ...pictures.flow import DOT_SHAPES, picture, to_dot
from ...pictures.svg import render_svg

#: larger plans are not drawn in the report (``dialplan graph`` draws them on their own)
MAX_BOXES = 300

SVG_NS = "http://www.w3.org/2000/svg"

#: what each shape of the picture stands for, in legend order (the shapes are pictures.flow's)
NODE_KINDS: tuple[tuple[str, str], ...] = (
    ("start", "start"),
    ("menu", "menu: a prompt\nand its keys"),
    ("action", "action: play, stash,\nsetvar, get/post …"),
    ("decision", "decision:\namd, if, equal"),
    ("transfer", "transfer"),
    ("hangup", "hangup"),
    ("terminal", "call ends\nanother way"),
)
EDGE_KINDS: tuple[tuple[str, str], ...] = (
    ("solid", "a key, branch or next step"),
    ("dashed", "through a goto"),
    ("dotted", "a catch to its handler"),
)
DEAD_LABEL = "never runs"


@dataclass(frozen=True, slots=True)
class FlowFigure:
    """The flow picture and its legend (inline SVG text), or why there is none."""

    svg: str | None = None
    legend_svg: str | None = None
    boxes: int = 0
    note: str | None = None


def flow_figure(dialplan: Path) -> FlowFigure:
    """The figure for the dialplan file ``dialplan`` (a note instead when it cannot be drawn)."""
    from ...model import build_plan
    from ...parse import ParseFailure, parse, read_source

    try:
        plan = build_plan(parse(read_source(str(dialplan))))
    except (OSError, ParseFailure, ValueError) as exc:
        return FlowFigure(note=f"The dialplan {dialplan} cannot be read any more ({exc}).")
    except Exception as exc:  # any other failure of the dialplan must not cost the report
        return FlowFigure(note=f"The dialplan {dialplan} cannot be drawn ({exc}).")
    pic = picture(plan)
    if len(pic.boxes) > MAX_BOXES:
        return FlowFigure(
            boxes=len(pic.boxes),
            note=f"The call flow has {len(pic.boxes):,} shapes, too many to read on this page;"
            f" draw it with: dialplan graph {dialplan} --format svg -o flow.svg",
        )
    try:
        svg = responsive(render(to_dot(pic)), "flow")
        legend = responsive(render(legend_dot()), "flow-legend")
    except GraphvizError as exc:
        return FlowFigure(boxes=len(pic.boxes), note=f"The call flow cannot be drawn: {exc}")
    return FlowFigure(svg, legend, len(pic.boxes))


def legend_dot() -> str:
    """DOT text of the legend: a row with one shape of each kind, a row with one arrow of each
    kind (drawn with the picture's own shape attributes)."""
    lines = [
        "digraph legend {",
        '  graph [rankdir=TB, fontname="Helvetica", nodesep=0.25, ranksep=0.25];',
        '  node [fontname="Helvetica", fontsize=10];',
        '  edge [fontname="Helvetica", fontsize=9];',
    ]
    kinds = [*NODE_KINDS, ("action", DEAD_LABEL)]
    for i, (shape, label) in enumerate(kinds):
        dead = ', color="#999999", fontcolor="#999999", style=dashed' if label == DEAD_LABEL else ""
        text = label.replace("\n", "\\n")
        lines.append(f'  k{i} [label="{text}", {DOT_SHAPES[shape]}{dead}];')
    arrows = []
    for i, (style, label) in enumerate(EDGE_KINDS):
        lines.append(f'  a{i} [shape=point, width=0.06]; b{i} [shape=plaintext, label="{label}"];')
        lines.append(f"  a{i} -> b{i} [style={style}, minlen=3];")
        arrows += [f"a{i}", f"b{i}"]
    # each row is one rank: arrows between nodes of one rank are drawn flat, left to right
    lines.append("  { rank=same; " + "; ".join(f"k{i}" for i in range(len(kinds))) + "; }")
    lines.append("  { rank=same; " + "; ".join(arrows) + "; }")
    lines.append("  k0 -> a0 [style=invis];")
    lines.append("}")
    return "\n".join(lines) + "\n"


class GraphvizError(Exception):
    pass


def render(dot_text: str) -> bytes:
    """SVG from Graphviz ``dot``, under the memory cap and timeout of ``render_svg``."""
    try:
        return render_svg(dot_text)
    except DialplanError as exc:
        raise GraphvizError(str(exc)) from None


def responsive(svg: bytes, prefix: str) -> str:
    """Graphviz SVG made fit for inlining: no XML prologue, comments, scripts, links or
    handlers; ids prefixed with ``prefix``; ``width="100%"`` with the viewBox kept."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True, remove_comments=True)
    root = etree.fromstring(svg, parser)
    if root.tag != f"{{{SVG_NS}}}svg" or not root.get("viewBox"):
        raise GraphvizError("Graphviz wrote no SVG with a viewBox")
    for el in list(root.iter()):
        if not isinstance(el.tag, str):
            continue
        if etree.QName(el).localname in ("script", "foreignObject", "a"):
            parent = el.getparent()
            if parent is not None:
                # keep what a link wraps, drop the link
                index = parent.index(el)
                for child in list(el) if etree.QName(el).localname == "a" else []:
                    parent.insert(index, child)
                    index += 1
                parent.remove(el)
            continue
        for name in list(el.attrib):
            local = etree.QName(name).localname
            if local.startswith("on") or local == "href":
                del el.attrib[name]
        if el.get("id"):
            el.set("id", f"{prefix}-{el.get('id')}")
    width, height = root.attrib.pop("width", None), root.attrib.pop("height", None)
    root.set("width", "100%")
    root.set("class", f"{prefix}-svg")
    root.set("role", "img")
    if width and height:
        # the size Graphviz meant, as the largest the picture is drawn (never blown up)
        root.set("style", f"max-width: {width}")
    etree.cleanup_namespaces(root)
    return etree.tostring(root, encoding="unicode")
