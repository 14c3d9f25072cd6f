"""Properties of the flow graph, pictures and routes over random dialplans (hypothesis)."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dialplan.lint.linter import lint_source
from dialplan.model import build_plan
from dialplan.model.flow import EdgeKind, branch_points, build_flow, in_flow
from dialplan.model.paths import enumerate_routes
from dialplan.parse import parse_any
from dialplan.pictures import picture, to_dot, to_mermaid

NAMES = ["a", "b", "c", "d"]


def leaf(draw: st.DrawFn, name: str) -> str:
    kind = draw(st.sampled_from(["play", "goto", "hangup", "stash", "transfer", "record"]))
    attr = f' name="{name}"' if name else ""
    if kind == "play":
        return f'<play type="tts"{attr}>hello</play>'
    if kind == "goto":
        return f"<goto{attr}>{draw(st.sampled_from([*NAMES, 'root', 'zz']))}</goto>"
    if kind == "hangup":
        return f"<hangup{attr}/>"
    if kind == "stash":
        return f'<stash varname="v"{attr}>1</stash>'
    if kind == "record":
        return f"<record{attr}/>"
    after = draw(st.sampled_from(["true", "false"]))
    return f'<transfer continue-after="{after}"{attr}>2135551212</transfer>'


@st.composite
def block(draw: st.DrawFn, depth: int = 0) -> str:
    items = []
    for _ in range(draw(st.integers(0, 3))):
        name = draw(st.sampled_from(["", "", *NAMES]))
        attr = f' name="{name}"' if name else ""
        kind = draw(
            st.sampled_from(
                ["leaf", "leaf", "menu", "if", "amd", "catch"] if depth < 2 else ["leaf"]
            )
        )
        if kind == "leaf":
            items.append(leaf(draw, name))
        elif kind == "menu":
            keys = draw(
                st.lists(st.sampled_from(["1", "2", "12", "1-3", "default", "timeout"]), max_size=3)
            )
            body = "".join(
                f'<keypress pressed="{k}">{draw(block(depth + 1))}</keypress>' for k in keys
            )
            items.append(f'<menu{attr}><play type="tts">p</play>{body}</menu>')
        elif kind == "if":
            orelse = f"<else>{draw(block(depth + 1))}</else>" if draw(st.booleans()) else ""
            items.append(f'<if expr="1"{attr}>{draw(block(depth + 1))}{orelse}</if>')
        elif kind == "amd":
            items.append(
                f"<amd{attr}><live>{draw(block(depth + 1))}</live><machine>{draw(block(depth + 1))}</machine></amd>"
            )
        else:
            how = draw(st.sampled_from(['type="hangup"', 'type="digit" value="1"']))
            target = draw(st.sampled_from(NAMES))
            items.append(f'<catch {how} goto="{target}"{attr}>{draw(block(depth + 1))}</catch>')
    return "".join(items)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(block())
def test_graph_invariants(body: str) -> None:
    xml = f'<dialplan name="root">{body}</dialplan>'
    plan = build_plan(parse_any(xml))
    graph = build_flow(plan)
    ids = {v.id for v in graph.vertices}
    for edge in graph.edges:
        assert edge.source in ids and (edge.target is None or edge.target in ids)
        assert (edge.target is None) == (edge.kind is EdgeKind.END)
    # every tag that can run has somewhere to go: routes end only by an END edge
    for vid in graph.reachable_from_start():
        vertex = graph.vertices[vid]
        if vertex.phase or in_flow(vertex.node):
            assert any(True for _ in graph.successors(vid)), str(vertex)
    points = {(b.node_index, b.label) for b in branch_points(plan, graph)}
    assert points == {e.decision for e in graph.edges if e.decision is not None}
    found = enumerate_routes(plan, graph, limit=200)
    assert found.routes
    for route in found.routes:
        for step in route.steps:
            if step.kind in ("amd", "input"):
                assert (step.node_index, step.label) in points
    lint_source(xml)
    pic = picture(plan, graph)
    keys = {b.key for b in pic.boxes}
    assert all(a.source in keys and a.target in keys for a in pic.arrows)
    assert to_dot(pic).startswith("digraph") and to_mermaid(pic).startswith("flowchart")
