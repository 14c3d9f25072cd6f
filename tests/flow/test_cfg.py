"""The control-flow graph (spec §2): each edge kind, derived by hand from the spec's rules."""

from __future__ import annotations

from dialplan.model import Plan, build_plan
from dialplan.model.flow import (
    EdgeKind,
    Ending,
    FlowGraph,
    branch_points,
    build_flow,
    coverage,
)
from dialplan.parse import parse_any
from tests.conftest import corpus_file


def flow(xml: str) -> tuple[Plan, FlowGraph]:
    plan = build_plan(parse_any(xml))
    return plan, build_flow(plan)


def name_of(graph: FlowGraph, vid: int | None) -> str:
    """A short name for a vertex: its name attribute, tag, or ``name:input`` for input phases."""
    if vid is None:
        return "END"
    v = graph.vertices[vid]
    base = v.node.name or v.node.tag
    return f"{base}:input" if v.phase else base


def out(graph: FlowGraph, plan: Plan, name: str, phase: bool = False) -> set[tuple[str, str]]:
    node = plan.names[name]
    vid = graph.phases[node.index] if phase else node.index
    result = set()
    for e in graph.successors(vid):
        target = e.ending.value if e.ending else name_of(graph, e.target)
        result.add((e.label, target))
    return result


def test_sequence_and_root_end() -> None:
    plan, g = flow(
        '<dialplan name="r"><play name="a" type="tts">x</play><stash name="b" varname="v">1</stash></dialplan>'
    )
    assert out(g, plan, "r") == {("", "a")}
    assert out(g, plan, "a") == {("", "b")}
    assert out(g, plan, "b") == {("", "end of plan")}
    assert g.start == plan.root.index


def test_menu_prompts_then_input_then_branches_and_fall_through() -> None:
    plan, g = flow(
        """<dialplan>
  <menu name="m"><play name="p1" type="tts">a</play><play name="p2" type="tts">b</play>
    <keypress name="k1" pressed="1"><stash name="s" varname="v">1</stash></keypress>
    <keypress name="k2" pressed="4-6"/>
  </menu>
  <hangup name="h"/>
</dialplan>"""
    )
    assert out(g, plan, "m") == {("", "p1")}
    assert out(g, plan, "p1") == {("", "p2")}
    assert out(g, plan, "p2") == {("", "m:input")}
    # no default / timeout keypress: no match and no input continue after the menu (§2.3)
    assert out(g, plan, "m", phase=True) == {
        ("1", "k1"),
        ("4-6", "k2"),
        ("no match", "h"),
        ("no input", "h"),
    }
    assert out(g, plan, "k1") == {("", "s")}
    assert out(g, plan, "s") == {("", "h")}  # a branch body continues after the menu
    assert out(g, plan, "k2") == {("", "h")}  # an empty branch too
    assert out(g, plan, "h") == {("", "hangup")}


def test_default_and_timeout_replace_the_implicit_edges() -> None:
    plan, g = flow(
        """<dialplan><menu name="m"><play type="tts">a</play>
    <keypress name="d" pressed="Default"/><keypress name="t" pressed="timeout"/>
    <keypress name="d2" pressed="default"/><keypress name="bad" pressed="1,2"/>
    <keypress name="long" pressed="12"/></menu></dialplan>"""
    )
    # maxDigits defaults to the longest pattern, so "12" is selectable; the duplicate default
    # and the invalid pattern are not (only the first of duplicates can run, §3.3)
    assert out(g, plan, "m", phase=True) == {("default", "d"), ("timeout", "t"), ("12", "long")}


def test_pattern_longer_than_max_digits_never_selected() -> None:
    plan, g = flow(
        """<dialplan><menu name="m" maxDigits="1"><play type="tts">a</play>
    <keypress name="k" pressed="12"/></menu></dialplan>"""
    )
    assert out(g, plan, "m", phase=True) == {
        ("no match", "end of plan"),
        ("no input", "end of plan"),
    }


def test_amd_if_else_equal() -> None:
    plan, g = flow(
        """<dialplan>
  <amd name="a"><live name="l"><play name="lp" type="tts">hi</play></live><machine name="mc"/></amd>
  <if name="i" expr="1"><play name="ip" type="tts">t</play><else name="e"><play name="ep" type="tts">f</play></else></if>
  <if name="i2" expr="0"><play name="i2p" type="tts">t</play></if>
  <equal name="q" var="1" expr="1"><play name="qp" type="tts">eq</play></equal>
  <notEqual name="n" var="1" expr="2"/>
  <hangup name="h"/>
</dialplan>"""
    )
    assert out(g, plan, "a") == {("live", "l"), ("machine", "mc")}
    assert out(g, plan, "lp") == {("", "i")}  # after the amd
    assert out(g, plan, "mc") == {("", "i")}  # empty machine branch: straight after the amd
    assert out(g, plan, "i") == {("true", "ip"), ("false", "e")}
    assert out(g, plan, "ip") == {("", "i2")}  # true branch ends: after the if, not into else
    assert out(g, plan, "ep") == {("", "i2")}
    assert out(g, plan, "i2") == {("true", "i2p"), ("false", "q")}  # no else: after the if
    assert out(g, plan, "q") == {("true", "qp"), ("false", "n")}
    assert out(g, plan, "qp") == {("", "n")}
    assert out(g, plan, "n") == {("true", "h"), ("false", "h")}


def test_goto_continuation_into_menu_prompt_and_keypress_body() -> None:
    plan, g = flow(
        """<dialplan name="root">
  <menu name="m"><play name="p1" type="tts">a</play><play name="p2" type="tts">b</play>
    <keypress pressed="1"><play name="deep" type="tts">in body</play><goto name="g1">p2</goto></keypress>
    <keypress pressed="2"><goto name="g2">root</goto></keypress>
    <keypress pressed="3"><goto name="g3">missing</goto></keypress></menu>
  <goto name="g4">deep</goto>
</dialplan>"""
    )
    assert out(g, plan, "g1") == {("goto", "p2")}
    assert out(g, plan, "p2") == {("", "m:input")}  # re-enters the menu at that prompt (§2.2)
    assert out(g, plan, "g2") == {("goto", "root")}
    assert out(g, plan, "root") == {("", "m")}  # restarting from the first child
    assert out(g, plan, "g3") == {("", "unresolved goto")}
    assert out(g, plan, "g4") == {("goto", "deep")}
    assert out(g, plan, "deep") == {("", "g1")}


def test_transfer_outcomes() -> None:
    plan, g = flow(
        """<dialplan>
  <transfer name="t1">2135551212</transfer>
  <transfer name="t2" continue-after="true">2135551212</transfer>
  <hangup name="h"/>
</dialplan>"""
    )
    assert out(g, plan, "t1") == {("no answer", "t2"), ("answered", "transferred")}
    assert out(g, plan, "t2") == {("no answer", "h"), ("answered", "h")}
    assert {e.kind for e in g.successors(plan.names["t1"].index)} == {
        EdgeKind.OUTCOME,
        EdgeKind.END,
    }


def test_catch_edges_from_every_node_in_scope_innermost_wins() -> None:
    plan, g = flow(
        """<dialplan>
  <catch name="outer" type="hangup" goto="save">
    <play name="p" type="tts">x</play>
    <catch name="inner" type="hangup" goto="save2">
      <menu name="m"><play name="mp" type="tts">y</play><keypress name="k" pressed="1"/></menu>
    </catch>
    <catch name="dig" type="digit" value="5" goto="op">
      <play name="q" type="tts">z</play>
    </catch>
  </catch>
  <hangup/>
  <stash name="save" varname="a">1</stash>
  <stash name="save2" varname="b">1</stash>
  <transfer name="op">2135551212</transfer>
</dialplan>"""
    )

    def catches(name: str, phase: bool = False) -> set[tuple[str, str]]:
        node = plan.names[name]
        vid = g.phases[node.index] if phase else node.index
        return {(e.label, name_of(g, e.target)) for e in g.successors(vid, [EdgeKind.CATCH])}

    assert catches("p") == {("hangup caught", "save")}
    assert catches("inner") == {("hangup caught", "save")}  # the catch tag itself is outer's scope
    assert catches("mp") == {("hangup caught", "save2")}  # inner hangup catch shadows outer
    assert catches("m", phase=True) == {("hangup caught", "save2")}
    assert catches("q") == {("hangup caught", "save"), ("catch digit 5", "op")}
    assert catches("save") == set()  # outside every catch
    catch_edges = [e for e in g.edges if e.kind is EdgeKind.CATCH]
    assert {e.decision for e in catch_edges} == {
        (plan.names["outer"].index, "fired"),
        (plan.names["inner"].index, "fired"),
        (plan.names["dig"].index, "fired"),
    }


def test_digit_catch_takes_the_first_key_from_the_menu() -> None:
    plan, g = flow(
        """<dialplan><catch type="digit" value="0" goto="op">
  <menu name="m"><play type="tts">a</play>
    <keypress name="k0" pressed="0"/><keypress name="k01" pressed="01"/><keypress name="k1" pressed="1"/>
  </menu></catch><transfer name="op">2135551212</transfer></dialplan>"""
    )
    labels = {lbl for lbl, _ in out(g, plan, "m", phase=True)}
    assert labels == {"1", "no match", "no input", "catch digit 0"}


def test_reachability_and_waiting_vertices() -> None:
    plan, g = flow(
        """<dialplan><hangup/><play name="dead" type="tts">x</play>
  <menu name="m"><play type="tts">y</play></menu><record name="r"/><record name="bg" background="true"/></dialplan>"""
    )
    live = g.reachable_from_start()
    assert plan.names["dead"].index not in live
    assert g.input_phase(plan.names["m"]).waits
    assert not g.vertices[plan.names["m"].index].waits
    assert g.vertices[plan.names["r"].index].waits
    assert not g.vertices[plan.names["bg"].index].waits


def test_branch_points_and_coverage() -> None:
    plan, g = flow(
        """<dialplan>
  <amd name="a"><live/><machine><hangup/></machine></amd>
  <menu name="m"><play type="tts">x</play>
    <keypress pressed="1"/><keypress pressed="TIMEOUT"/></menu>
  <if name="i" expr="1"><hangup/></if>
  <catch name="c" type="digit" value="9" goto="a"><play type="tts">y</play></catch>
</dialplan>"""
    )
    a, m, i, c = (plan.names[n].index for n in "amic")
    points = [(b.node_index, b.label) for b in branch_points(plan, g)]
    assert points == [
        (a, "live"),
        (a, "machine"),
        (m, "1"),
        (m, "timeout"),
        (m, "no match"),
        (i, "true"),
        (i, "false"),
        (c, "fired"),
    ]
    assert all(b.loc.line >= 2 and b.description for b in branch_points(plan, g))
    missing = coverage(plan, [(a, "live"), (m, "Timeout"), (i, "true")], g)
    assert [(b.node_index, b.label) for b in missing] == [
        (a, "machine"),
        (m, "1"),
        (m, "no match"),
        (i, "false"),
        (c, "fired"),
    ]


def test_charity_seed_graph() -> None:
    plan = build_plan(parse_any(corpus_file("seeds/nonprofit-charity-ivr.xml").read_bytes()))
    g = build_flow(plan)
    # Live has 1, 2 and default; silence falls through to the next menu (the transfer menu)
    assert out(g, plan, "Live", phase=True) == {
        ("1", "kp_order_tickets"),
        ("2", "kp_become_volonteer"),
        ("default", "incorrect_Selection"),
        ("no input", "order_tickets"),
    }
    assert out(g, plan, "order_tickets", phase=True) == {
        ("no match", "Goodbye"),
        ("no input", "Goodbye"),
    }
    endings = {e.ending for e in g.edges if e.kind is EdgeKind.END}
    assert endings == {Ending.HANGUP, Ending.TRANSFERRED}


def test_misplaced_branch_wrapper_runs_as_a_plain_block() -> None:
    # a <keypress> outside a menu (E005) does not jump "after its menu": the next tag follows
    plan, g = flow(
        '<dialplan><keypress name="k" pressed="1"><play name="p" type="tts">x</play>'
        '</keypress><hangup name="h"/></dialplan>'
    )
    assert out(g, plan, "p") == {("", "h")}
    assert plan.after(plan.names["k"]) is plan.names["h"]


def corpus_flow(rel: str) -> tuple[Plan, FlowGraph]:
    plan = build_plan(parse_any(corpus_file(f"callfire-ivr-samples/{rel}").read_bytes()))
    return plan, build_flow(plan)


def test_corpus_goto_into_menu_prompt_waits_for_that_menu() -> None:
    # SplitJoin: "any other key" jumps to the prompt of the outer menu, which then takes input
    plan, g = corpus_flow("Utilities/SplitJoin.xml")
    assert out(g, plan, "goto_menu_id") == {("goto", "getNumber")}
    assert out(g, plan, "getNumber") == {("", "Main:input")}
    # NestedVariables: same shape, the "options" prompt of a menu
    plan, g = corpus_flow("Utilities/NestedVariables.xml")
    gotos = [n for n in plan.nodes if n.tag == "goto" and n.text == "options"]
    assert [name_of(g, e.target) for e in g.successors(gotos[0].index)] == ["options"]


def test_corpus_dnc_module_goto_into_keypress_body_and_catch_handler() -> None:
    plan, g = corpus_flow("Inbound-only Campaigns/DNCModule.xml")
    # goto into another menu's keypress body runs the rest of that body (then hangs up)
    assert out(g, plan, "goto_goodbye") == {("goto", "goodbye"), ("hangup caught", "getCallerID")}
    goodbye = plan.names["goodbye"]
    normal = [e for e in g.successors(goodbye.index) if e.kind is not EdgeKind.CATCH]
    assert [g.vertices[e.target].node.tag for e in normal if e.target is not None] == ["hangup"]
    # the hangup handler inside the catch is reachable only through the catch
    save = plan.names["getCallerID"].index
    assert {e.kind for e in g.into[save]} == {EdgeKind.CATCH}
    assert save in g.reachable_from_start()


def test_corpus_duplicate_default_only_first_selectable() -> None:
    plan, g = corpus_flow("Utilities/SimpleTransfer2.xml")
    menu = next(n for n in plan.nodes if n.tag == "menu")
    defaults = [k for k in menu.keypresses if k.pattern.key == "default"]
    assert len(defaults) == 2
    targets = {e.target for e in g.successors(g.input_phase(menu).id)}
    assert defaults[0].index in targets and defaults[1].index not in targets


def test_digit_catch_and_ranges() -> None:
    plan, g = flow(
        """<dialplan><catch type="digit" value="3" goto="op">
  <menu name="m" maxDigits="3"><play type="tts">a</play>
    <keypress name="all3" pressed="300-315"/><keypress name="some" pressed="25-40"/>
  </menu></catch><transfer name="op">2135551212</transfer></dialplan>"""
    )
    labels = {lbl for lbl, _ in out(g, plan, "m", phase=True)}
    # every number in 300-315 starts with the caught 3; 25-40 can still be entered as 25 or 40
    assert "300-315" not in labels and "25-40" in labels
    some = plan.names["some"]
    from dialplan.model.flow import entry_for

    assert entry_for(some, {"3", "2"}) == "40"
    assert entry_for(some, set()) == "25"
    assert entry_for(some, {"2", "3", "4"}) is None
